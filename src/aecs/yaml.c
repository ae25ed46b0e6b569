/* YAML (libyaml) to a JSON tree: mappings -> objects, sequences -> arrays, scalars -> strings. One
 * document; anchors, aliases and duplicate keys are refused (no expansion bombs, no silent overrides). */
#include "aecs/internal.h"
#include "initra/aecs.h"

#include <string.h>

#include <yaml.h>

#define MAX_DEPTH 64

typedef struct {
    json_t *node;
    json_t *key; /* pending key of a mapping (a string), or NULL */
} frame;

static int add(frame *st, int depth, json_t *v, const char *where, size_t line, initra_err *err)
{
    frame *f = &st[depth - 1];
    if (json_is_array(f->node)) {
        json_array_append_new(f->node, v);
        return 0;
    }
    if (!f->key) {
        if (!json_is_string(v)) {
            json_decref(v);
            return initra_fail(err, "%s: line %zu: a mapping key must be a plain scalar", where, line);
        }
        f->key = v;
        return 0;
    }
    const char *k = json_string_value(f->key);
    if (json_object_get(f->node, k)) {
        int rc = initra_fail(err, "%s: line %zu: duplicate key \"%.64s\"", where, line, k);
        json_decref(v);
        return rc;
    }
    json_object_set_new(f->node, k, v);
    json_decref(f->key);
    f->key = NULL;
    return 0;
}

json_t *aecs_yaml_to_json(const char *text, size_t len, const char *where, initra_err *err)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        initra_fail(err, "%s: YAML parser initialisation failed", where);
        return NULL;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    frame st[MAX_DEPTH + 1];
    int depth = 0, docs = 0, done = 0, failed = 0;
    json_t *root = NULL;
    while (!done && !failed) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            initra_fail(err, "%s: line %zu: YAML: %s", where, p.problem_mark.line + 1,
                        p.problem ? p.problem : "syntax error");
            failed = 1;
            break;
        }
        size_t line = ev.start_mark.line + 1;
        json_t *v = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1) failed = initra_fail(err, "%s: line %zu: more than one YAML document", where, line);
            break;
        case YAML_ALIAS_EVENT: failed = initra_fail(err, "%s: line %zu: YAML aliases are not supported", where, line); break;
        case YAML_SCALAR_EVENT:
            if (ev.data.scalar.anchor) {
                failed = initra_fail(err, "%s: line %zu: YAML anchors are not supported", where, line);
                break;
            }
            v = json_stringn((const char *)ev.data.scalar.value, ev.data.scalar.length);
            if (!v) {
                failed = initra_fail(err, "%s: line %zu: a scalar is not UTF-8 text or holds a NUL", where, line);
                break;
            }
            if (depth == 0) {
                root = v;
            } else if (add(st, depth, v, where, line, err)) {
                failed = 1;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            const yaml_char_t *anchor = ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
                                                                             : ev.data.mapping_start.anchor;
            if (anchor) {
                failed = initra_fail(err, "%s: line %zu: YAML anchors are not supported", where, line);
                break;
            }
            if (depth >= MAX_DEPTH) {
                failed = initra_fail(err, "%s: line %zu: nested deeper than %d levels", where, line, MAX_DEPTH);
                break;
            }
            v = ev.type == YAML_SEQUENCE_START_EVENT ? json_array() : json_object();
            if (depth == 0) {
                root = json_incref(v);
            } else if (add(st, depth, json_incref(v), where, line, err)) {
                json_decref(v);
                failed = 1;
                break;
            }
            st[depth].node = v;
            st[depth].key = NULL;
            depth++;
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            json_decref(st[depth].key);
            json_decref(st[depth].node);
            break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    while (depth > 0) {
        depth--;
        json_decref(st[depth].key);
        json_decref(st[depth].node);
    }
    yaml_parser_delete(&p);
    if (failed) {
        json_decref(root);
        return NULL;
    }
    if (!root) initra_fail(err, "%s: the YAML document is empty", where);
    return root;
}
