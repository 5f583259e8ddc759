#include "core/json.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *core_json_hex(const uint8_t *p, size_t n) {
    char *s = malloc(2 * n + 1);
    if (s == NULL) return NULL;
    gz_hex_encode(s, p, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}

/* ---- the field reader ------------------------------------------------------------ */

void core_json_path(char out[CORE_JSON_PATH_MAX], const char *path, const char *key) {
    if (path[0] == '\0') snprintf(out, CORE_JSON_PATH_MAX, "%s", key);
    else snprintf(out, CORE_JSON_PATH_MAX, "%s.%s", path, key);
}

void core_json_path_index(char out[CORE_JSON_PATH_MAX], const char *path, size_t i) {
    snprintf(out, CORE_JSON_PATH_MAX, "%s[%zu]", path, i);
}

/* The value to read and its full path in p. */
static const json_t *member(const json_t *obj, const char *path, const char *key,
                            char p[CORE_JSON_PATH_MAX]) {
    if (key == NULL) {
        snprintf(p, CORE_JSON_PATH_MAX, "%s", path);
        return obj;
    }
    core_json_path(p, path, key);
    return obj == NULL ? NULL : json_object_get(obj, key);
}

/* "<field>: <reason>" and GZ_EARG; the top level (an empty path) has no name
 * of its own. */
__attribute__((format(printf, 3, 4))) static int fail(gz_msg *msg, const char *p,
                                                      const char *fmt, ...) {
    if (msg == NULL) return GZ_EARG;
    char why[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    (void)gz_fail(msg, GZ_EARG, "%s: %s", p[0] != '\0' ? p : "top level", why);
    return GZ_EARG;
}

/* An absent field, with what it should have been. */
static int missing(gz_msg *msg, const char *p, const char *what) {
    return fail(msg, p, "missing (expected %s)", what);
}

int core_json_u64(const json_t *obj, const char *path, const char *key, uint64_t min,
                  uint64_t max, uint64_t *out, gz_msg *msg) {
    assert(min <= max);
    *out = 0;
    char p[CORE_JSON_PATH_MAX], what[64];
    const json_t *v = member(obj, path, key, p);
    if (min == 0 && max >= (uint64_t)INT64_MAX) snprintf(what, sizeof what, "a non-negative integer");
    else snprintf(what, sizeof what, "an integer in %llu..%llu", (unsigned long long)min,
                  (unsigned long long)max);
    if (v == NULL) return missing(msg, p, what);
    if (!json_is_integer(v) || json_integer_value(v) < 0) return fail(msg, p, "expected %s", what);
    uint64_t u = (uint64_t)json_integer_value(v);
    if (u < min || u > max)
        return fail(msg, p, "expected %s, found %llu", what, (unsigned long long)u);
    *out = u;
    return GZ_OK;
}

int core_json_i64(const json_t *obj, const char *path, const char *key, int64_t min, int64_t max,
                  int64_t *out, gz_msg *msg) {
    assert(min <= max);
    *out = 0;
    char p[CORE_JSON_PATH_MAX], what[64];
    const json_t *v = member(obj, path, key, p);
    if (min == INT64_MIN && max == INT64_MAX) snprintf(what, sizeof what, "an integer");
    else snprintf(what, sizeof what, "an integer in %lld..%lld", (long long)min, (long long)max);
    if (v == NULL) return missing(msg, p, what);
    if (!json_is_integer(v)) return fail(msg, p, "expected %s", what);
    int64_t i = (int64_t)json_integer_value(v);
    if (i < min || i > max) return fail(msg, p, "expected %s, found %lld", what, (long long)i);
    *out = i;
    return GZ_OK;
}

int core_json_bool(const json_t *obj, const char *path, const char *key, bool *out, gz_msg *msg) {
    *out = false;
    char p[CORE_JSON_PATH_MAX];
    const json_t *v = member(obj, path, key, p);
    if (v == NULL) return missing(msg, p, "true or false");
    if (!json_is_boolean(v)) return fail(msg, p, "expected true or false");
    *out = json_is_true(v);
    return GZ_OK;
}

/* What a string or an array of min..max bytes or entries is called in
 * messages ("a string of at most 64 bytes", "an array of 1..128 entries"). */
static void sized_what(char *what, size_t cap, const char *noun, const char *unit, size_t min,
                       size_t max) {
    if (min == 0 && max == SIZE_MAX) snprintf(what, cap, "%s", noun);
    else if (min == 0) snprintf(what, cap, "%s of at most %zu %s", noun, max, unit);
    else if (min == max) snprintf(what, cap, "%s of %zu %s", noun, min, unit);
    else if (max == SIZE_MAX) snprintf(what, cap, "%s of at least %zu %s", noun, min, unit);
    else snprintf(what, cap, "%s of %zu..%zu %s", noun, min, max, unit);
}

int core_json_str_view(const json_t *obj, const char *path, const char *key, size_t min,
                       size_t max, const char **out, gz_msg *msg) {
    assert(min <= max);
    *out = NULL;
    char p[CORE_JSON_PATH_MAX], what[80];
    const json_t *v = member(obj, path, key, p);
    sized_what(what, sizeof what, "a string", "bytes", min, max);
    if (v == NULL) return missing(msg, p, what);
    const char *s = json_string_value(v); /* NULL if v is not a string */
    if (s == NULL) return fail(msg, p, "expected %s", what);
    size_t n = json_string_length(v);
    if (n < min || n > max) return fail(msg, p, "expected %s, found %zu bytes", what, n);
    /* A JSON "\u0000" (or a string built in code) would end the C string early. */
    if (memchr(s, '\0', n) != NULL) return fail(msg, p, "contains a NUL character");
    *out = s;
    return GZ_OK;
}

int core_json_str(const json_t *obj, const char *path, const char *key, size_t min, size_t max,
                  char *out, gz_msg *msg) {
    assert(max < SIZE_MAX);
    const char *s = NULL;
    out[0] = '\0';
    int rc = core_json_str_view(obj, path, key, min, max, &s, msg);
    if (rc != GZ_OK) return rc;
    memcpy(out, s, strlen(s) + 1);
    return GZ_OK;
}

int core_json_hex_fixed(const json_t *obj, const char *path, const char *key, uint8_t *out,
                        size_t n, gz_msg *msg) {
    memset(out, 0, n);
    char p[CORE_JSON_PATH_MAX], what[48];
    const json_t *v = member(obj, path, key, p);
    snprintf(what, sizeof what, "%zu hex chars", 2 * n);
    if (v == NULL) return missing(msg, p, what);
    if (!json_is_string(v) || json_string_length(v) != 2 * n ||
        gz_hex_decode(out, n, json_string_value(v)) != GZ_OK)
        return fail(msg, p, "expected %s", what);
    return GZ_OK;
}

static bool hex_chars(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!ok) return false;
    }
    return true;
}

/* The length of hex text for min..max bytes, checked before decoding. */
static int hex_len_check(gz_msg *msg, const char *p, size_t len, size_t min, size_t max) {
    if (len / 2 <= max && len >= 2 * min) return GZ_OK;
    if (min == 0) return fail(msg, p, "expected at most %zu bytes (%zu hex chars)", max, 2 * max);
    return fail(msg, p, "expected %zu..%zu bytes (%zu..%zu hex chars)", min, max, 2 * min, 2 * max);
}

int core_json_hex_buf(const json_t *obj, const char *path, const char *key, size_t min,
                      size_t max, gz_buf *out, gz_msg *msg) {
    assert(min <= max && max <= SIZE_MAX / 2);
    gz_buf_reset(out);
    char p[CORE_JSON_PATH_MAX];
    const json_t *v = member(obj, path, key, p);
    if (v == NULL) return missing(msg, p, "a hex string");
    if (!json_is_string(v)) return fail(msg, p, "expected a hex string");
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    int rc = hex_len_check(msg, p, len, min, max);
    if (rc != GZ_OK) return rc;
    if (len % 2 != 0) return fail(msg, p, "expected an even number of hex chars");
    if (!hex_chars(s, len)) return fail(msg, p, "expected hex chars only");
    rc = gz_hex_decode_buf(out, s, len);
    if (rc == GZ_OK) return GZ_OK;
    gz_buf_reset(out);
    if (rc == GZ_ENOMEM) return gz_fail(msg, rc, "%s: out of memory", p);
    return fail(msg, p, "expected hex chars only");
}

int core_json_object(const json_t *obj, const char *path, const char *key,
                     const char *const *keys, const json_t **out, gz_msg *msg) {
    *out = NULL;
    char p[CORE_JSON_PATH_MAX];
    const json_t *v = member(obj, path, key, p);
    if (v == NULL) return missing(msg, p, "an object");
    if (!json_is_object(v)) return fail(msg, p, "expected an object");
    const char *k;
    json_t *item;
    json_object_foreach((json_t *)v, k, item) {
        bool known = keys == NULL;
        for (size_t i = 0; !known && keys[i] != NULL; i++) known = strcmp(keys[i], k) == 0;
        if (!known) {
            char q[CORE_JSON_PATH_MAX];
            core_json_path(q, p, k);
            return fail(msg, q, "unknown key");
        }
    }
    *out = v;
    return GZ_OK;
}

int core_json_array(const json_t *obj, const char *path, const char *key, size_t min, size_t max,
                    const json_t **out, size_t *n, gz_msg *msg) {
    assert(min <= max);
    *out = NULL;
    *n = 0;
    char p[CORE_JSON_PATH_MAX], what[80];
    const json_t *v = member(obj, path, key, p);
    sized_what(what, sizeof what, "an array", "entries", min, max);
    if (v == NULL) return missing(msg, p, what);
    if (!json_is_array(v)) return fail(msg, p, "expected %s", what);
    size_t size = json_array_size(v);
    if (size < min || size > max) return fail(msg, p, "expected %s, found %zu", what, size);
    *out = v;
    *n = size;
    return GZ_OK;
}
