/* secret_config.json: name -> base64 of the secret's bytes. Values never appear in errors or logs. */
#include "initra/kms.h"
#include "kms/internal.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void kms_secrets_free(initra_kms_secrets *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->items[i].name);
        initra_free_secret(s->items[i].data, s->items[i].len);
    }
    free(s->items);
    memset(s, 0, sizeof *s);
}

int kms_secrets_load(const char *path, initra_kms_secrets *s, initra_err *err)
{
    memset(s, 0, sizeof *s);
    uint8_t *text;
    size_t n;
    if (initra_read_file(path, INITRA_MAX_COLLATERAL, &text, &n, err)) return -1;
    int rc = kms_secrets_parse((const char *)text, n, path, s, err);
    initra_free_secret(text, n);
    return rc;
}

int kms_secrets_parse(const char *text, size_t len, const char *path, initra_kms_secrets *s, initra_err *err)
{
    memset(s, 0, sizeof *s);
    json_t *j;
    /* Only the error's position and kind are reported: the text near it may be part of a secret. */
    if (initra_json_parse(text, len, path, INITRA_JSON_SECRET, "fix the file", &j, err)) return -1;
    int rc = 0;
    if (!json_is_object(j)) {
        rc = initra_fail(err, "%s: is not a JSON object of secret names to base64 values", path);
        goto done;
    }
    s->items = calloc(json_object_size(j) ? json_object_size(j) : 1, sizeof *s->items);
    const char *name;
    json_t *v;
    json_object_foreach(j, name, v) {
        if (initra_check_secret_name(name, path, "secret name", err)) {
            rc = -1;
            break;
        }
        if (!json_is_string(v)) {
            rc = initra_fail(err, "%s: %s: the value is not a string of base64", path, name);
            break;
        }
        initra_kms_secret *it = &s->items[s->n];
        initra_err e2;
        if (initra_b64_decode(json_string_value(v), &it->data, &it->len, &e2)) {
            /* e2 names the offending character: a character of the secret, which no message may carry. */
            rc = initra_fail(err, "%s: %s: the value is not base64 (standard alphabet, '=' padding; the value is not shown)",
                             path, name);
            break;
        }
        it->name = strdup(name);
        s->n++;
    }
    /* Wipe the base64 text jansson holds before releasing it. */
    json_object_foreach(j, name, v) {
        if (json_is_string(v)) initra_zero((void *)json_string_value(v), json_string_length(v));
    }
done:
    json_decref(j);
    if (rc) kms_secrets_free(s);
    return rc;
}

const initra_kms_secret *kms_secrets_find(const initra_kms_secrets *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (!strcmp(s->items[i].name, name)) return &s->items[i];
    return NULL;
}
