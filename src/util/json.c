/* Strict JSON on jansson: parsing with file:line:column errors and duplicate keys refused, the
 * "where: path: value what" error form, key whitelists and integer ranges. Every JSON reader
 * (policies, Occlum.json, init and KMS configurations, the AECS store, KMS secrets) uses these, so a
 * newcomer finds one wording for each kind of mistake. Stateless and thread-safe. */
#include "initra/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

int initra_json_parse(const void *text, size_t len, const char *where, unsigned flags, const char *hint,
                      json_t **out, initra_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!j) {
        /* jansson's text quotes the bytes near the error: fine for a configuration (made printable, so
         * the error stays one line), not for secrets. */
        for (char *p = je.text; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f) *p = '?';
        const char *why = !(flags & INITRA_JSON_SECRET)                  ? je.text
                          : json_error_code(&je) == json_error_duplicate_key ? "a key appears twice"
                                                                             : "syntax error or bad string";
        return initra_fail(err, "%s:%d:%d: not valid JSON (%s)%s%s", where, je.line, je.column, why,
                           hint ? "; " : "", hint ? hint : "");
    }
    *out = j;
    return 0;
}

int initra_json_load(const char *path, size_t max, json_t **out, initra_err *err)
{
    uint8_t *buf;
    size_t n;
    if (initra_read_file(path, max, &buf, &n, err)) return -1;
    int rc = initra_json_parse(buf, n, path, 0, NULL, out, err);
    free(buf);
    return rc;
}

int initra_json_bad(initra_err *err, const char *where, const char *path, const json_t *v, const char *what)
{
    char *val = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
    if (val && strlen(val) > 100) strcpy(val + 96, "...");
    initra_fail(err, "%s: %s: %s %s", where, path, val ? val : "(missing)", what);
    free(val);
    return -1;
}

const char *initra_json_unknown_key(const json_t *o, const char *const *known)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)o, k, v) {
        const char *const *p = known;
        while (*p && strcmp(*p, k)) p++;
        if (!*p) return k;
    }
    return NULL;
}

char *initra_json_key_list(const char *const *known, char *buf, size_t n)
{
    size_t used = 0;
    buf[0] = 0;
    for (const char *const *p = known; *p && used < n; p++) {
        int w = snprintf(buf + used, n - used, "%s%s", p == known ? "" : ", ", *p);
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

int initra_json_uint(const json_t *v, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0) return -1;
    uint64_t x = (uint64_t)json_integer_value(v);
    if (x < min || x > max) return -1;
    *out = x;
    return 0;
}
