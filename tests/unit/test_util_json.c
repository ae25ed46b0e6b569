/* util's strict JSON reader: file:line:column errors, duplicate keys refused, secrets never quoted,
 * one-line errors, key whitelists, integer ranges, and the "where: path: value what" form. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "check.h"
#include "initra/util.h"

static initra_err err;

static int parse(const char *text, unsigned flags, const char *hint, json_t **j)
{
    *j = NULL;
    memset(&err, 0, sizeof err);
    return initra_json_parse(text, strlen(text), "f.json", flags, hint, j, &err);
}

int main(void)
{
    json_t *j;
    CHECK(parse("{\"a\": 1}", 0, NULL, &j) == 0 && json_is_object(j), "an object parses");
    json_decref(j);
    CHECK(parse("{\"a\": 1,\n \"a\": 2}", 0, NULL, &j) == -1 && !j && !strncmp(err.msg, "f.json:2:", 9) &&
              strstr(err.msg, "not valid JSON (duplicate object key"),
          "a duplicate key is refused with file:line:column: %s", err.msg);
    CHECK(parse("{\"a\": \n\n  ,}", 0, "fix it", &j) == -1 && !strncmp(err.msg, "f.json:3:3: not valid JSON (", 27) &&
              strstr(err.msg, "; fix it"),
          "a syntax error names line and column, then the hint: %s", err.msg);
    CHECK(parse("{\"k\": \"s3cret\x01\"}", 0, NULL, &j) == -1 && !strchr(err.msg, '\x01') && !strchr(err.msg, '\n'),
          "a control character near the error is not echoed: %s", err.msg);
    CHECK(parse("{\"k\": \"hunter2\" \"x\"}", INITRA_JSON_SECRET, NULL, &j) == -1 && !strstr(err.msg, "hunter2") &&
              strstr(err.msg, "syntax error or bad string"),
          "secret mode names only the kind of error: %s", err.msg);
    CHECK(parse("{\"k\": \"hunter2\", \"k\": \"x\"}", INITRA_JSON_SECRET, NULL, &j) == -1 &&
              !strstr(err.msg, "hunter2") && strstr(err.msg, "a key appears twice"),
          "secret mode: a duplicate key: %s", err.msg);

    char dir[] = "/tmp/initra-json-XXXXXX", path[64];
    CHECK(mkdtemp(dir) != NULL, "temp directory");
    snprintf(path, sizeof path, "%s/c.json", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "write %s", path);
    if (f) {
        fputs("[1,\n2,,]", f);
        fclose(f);
    }
    CHECK(initra_json_load(path, 1024, &j, &err) == -1 && !strncmp(err.msg, path, strlen(path)) &&
              !strncmp(err.msg + strlen(path), ":2:", 3),
          "a file's error starts with its path, line and column: %s", err.msg);
    CHECK(initra_json_load(path, 4, &j, &err) == -1 && strstr(err.msg, path), "the size limit holds: %s", err.msg);
    unlink(path);
    CHECK(initra_json_load(path, 1024, &j, &err) == -1 && strstr(err.msg, "cannot open"), "a missing file: %s",
          err.msg);
    rmdir(dir);

    static const char *const known[] = {"alpha", "beta", NULL};
    CHECK(parse("{\"alpha\": 1, \"gamma\": 2}", 0, NULL, &j) == 0, "parsed");
    const char *u = initra_json_unknown_key(j, known);
    CHECK(u && !strcmp(u, "gamma"), "the unknown key is found: %s", u ? u : "(none)");
    json_object_del(j, "gamma");
    CHECK(initra_json_unknown_key(j, known) == NULL, "all keys known");
    char list[16];
    CHECK(!strcmp(initra_json_key_list(known, list, sizeof list), "alpha, beta"), "key list: %s", list);
    char tiny[8];
    CHECK(strlen(initra_json_key_list(known, tiny, sizeof tiny)) == 7, "key list is cut to its buffer: %s", tiny);

    uint64_t x = 99;
    CHECK(initra_json_uint(json_object_get(j, "alpha"), 1, 5, &x) == 0 && x == 1, "an integer in range");
    json_t *n = json_integer(-1), *big = json_integer(6), *s = json_string("1");
    CHECK(initra_json_uint(n, 0, 5, &x) == -1 && initra_json_uint(big, 0, 5, &x) == -1 &&
              initra_json_uint(s, 0, 5, &x) == -1 && initra_json_uint(NULL, 0, 5, &x) == -1,
          "negative, too large, a string and missing are refused");
    CHECK(initra_json_uint(big, 7, 9, &x) == -1, "below the minimum is refused");

    CHECK(initra_json_bad(&err, "f.json", "a.b", big, "is too big") == -1 && !strcmp(err.msg, "f.json: a.b: 6 is too big"),
          "error form with a value: %s", err.msg);
    CHECK(initra_json_bad(&err, "f.json", "a.c", NULL, "is required") == -1 &&
              !strcmp(err.msg, "f.json: a.c: (missing) is required"),
          "error form when missing: %s", err.msg);
    json_t *longv = json_string("0123456789012345678901234567890123456789012345678901234567890123456789"
                                "0123456789012345678901234567890123456789");
    initra_json_bad(&err, "f.json", "k", longv, "is wrong");
    CHECK(strstr(err.msg, "...") && strlen(err.msg) < 130, "a long value is cut: %s", err.msg);
    json_decref(longv);
    json_decref(n);
    json_decref(big);
    json_decref(s);
    json_decref(j);
    CHECK_DONE();
}
