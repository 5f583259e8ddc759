/* Compact JSON text of the ledger's event trees, byte for byte what jansson's
 * json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) writes, without its
 * per-character output callbacks: events are written for every tx, and their
 * text is part of the tx's result record, hence of state_root, so the bytes
 * must not change. tests/unit/test_ledger_base.c compares the two on random
 * trees and on every event the scenario tests produce. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ledger_internal.h"

/* Appends s escaped as jansson does without JSON_ENSURE_ASCII or
 * JSON_ESCAPE_SLASH: '"', '\\' and the controls \b \f \n \r \t by name, other
 * bytes below 0x20 as \u00XX; everything else (UTF-8 included) as is. */
static int put_string(gz_buf *out, const char *s, size_t n) {
    int err = gz_buf_append(out, "\"", 1);
    size_t run = 0; /* bytes copied as they are, pending */
    for (size_t i = 0; i < n && err == GZ_OK; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            if (c < 0x20) {
                snprintf(u, sizeof u, "\\u%04X", c);
                esc = u;
            }
        }
        if (esc == NULL) {
            run++;
            continue;
        }
        if (run > 0) err = gz_buf_append(out, s + i - run, run);
        run = 0;
        if (err == GZ_OK) err = gz_buf_append(out, esc, strlen(esc));
    }
    if (err == GZ_OK && run > 0) err = gz_buf_append(out, s + n - run, run);
    if (err == GZ_OK) err = gz_buf_append(out, "\"", 1);
    return err;
}

static int put_value(gz_buf *out, const json_t *v, int depth) {
    if (depth > LEDGER_JSON_DEPTH_MAX) return GZ_EARG;
    char num[32];
    int err = GZ_OK;
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        err = gz_buf_append(out, "{", 1);
        const char *key;
        json_t *val;
        bool first = true;
        /* jansson keeps an object's keys in insertion order, which is the
         * order JSON_PRESERVE_ORDER writes. */
        json_object_foreach((json_t *)v, key, val) {
            if (err == GZ_OK && !first) err = gz_buf_append(out, ",", 1);
            first = false;
            if (err == GZ_OK) err = put_string(out, key, strlen(key));
            if (err == GZ_OK) err = gz_buf_append(out, ":", 1);
            if (err == GZ_OK) err = put_value(out, val, depth + 1);
        }
        if (err == GZ_OK) err = gz_buf_append(out, "}", 1);
        return err;
    }
    case JSON_ARRAY:
        err = gz_buf_append(out, "[", 1);
        for (size_t i = 0; i < json_array_size(v) && err == GZ_OK; i++) {
            if (i > 0) err = gz_buf_append(out, ",", 1);
            if (err == GZ_OK) err = put_value(out, json_array_get(v, i), depth + 1);
        }
        if (err == GZ_OK) err = gz_buf_append(out, "]", 1);
        return err;
    case JSON_STRING:
        return put_string(out, json_string_value(v), json_string_length(v));
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return gz_buf_append(out, num, strlen(num));
    case JSON_TRUE: return gz_buf_append(out, "true", 4);
    case JSON_FALSE: return gz_buf_append(out, "false", 5);
    case JSON_NULL: return gz_buf_append(out, "null", 4);
    default: return GZ_EARG; /* reals: not in events; left to jansson */
    }
}

char *ledger_json_text(const json_t *v) {
    gz_buf out;
    gz_buf_init(&out);
    int err = put_value(&out, v, 0);
    if (err == GZ_OK) err = gz_buf_append(&out, "", 1); /* the NUL */
    if (err == GZ_EARG) {
        gz_buf_free(&out);
        return json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    if (err != GZ_OK) {
        gz_buf_free(&out);
        return NULL;
    }
    return (char *)out.data; /* the caller frees it, as json_dumps's text */
}
