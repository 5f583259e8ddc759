/* MessagePack: the msgpack-test-suite through the general decoder (every
 * encoding) and the canonical reader (only the shortest), plus the rejections
 * SPEC §1 demands. */
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/limits.h"
#include "core/mp.h"
#include "core/mp_any.h"
#include "tests/unit/testutil.h"

/* ---- a small JSON reader for the suite file (trusted test data) --------------- */

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } jtype;

typedef struct jv {
    jtype t;
    bool b;
    char *text; /* J_NUM: the number as written; J_STR: the string (NUL-terminated) */
    size_t len;
    struct jv *items; /* J_ARR elements, J_OBJ values */
    char **keys;      /* J_OBJ keys */
    size_t n;
} jv;

static void skip_ws(const char **p) {
    while (**p == ' ' || **p == '\n' || **p == '\r' || **p == '\t') (*p)++;
}

static char *parse_string(const char **p, size_t *len) {
    cr_assert_eq(**p, '"');
    (*p)++;
    char *out = malloc(strlen(*p) + 1);
    size_t n = 0;
    while (**p != '"') {
        char c = *(*p)++;
        if (c == '\\') {
            c = *(*p)++;
            cr_assert(c == '"' || c == '\\' || c == '/', "escape \\%c not needed by the suite", c);
        }
        out[n++] = c;
    }
    (*p)++;
    out[n] = '\0';
    *len = n;
    return out;
}

static void parse_value(const char **p, jv *v);

static void parse_list(const char **p, jv *v, bool object) {
    char close = object ? '}' : ']';
    (*p)++;
    v->items = calloc(64, sizeof *v->items);
    v->keys = calloc(64, sizeof *v->keys);
    for (;;) {
        skip_ws(p);
        if (**p == close) break;
        cr_assert_lt(v->n, 64);
        if (object) {
            size_t klen;
            v->keys[v->n] = parse_string(p, &klen);
            skip_ws(p);
            cr_assert_eq(**p, ':');
            (*p)++;
        }
        parse_value(p, &v->items[v->n++]);
        skip_ws(p);
        if (**p == ',') (*p)++;
    }
    (*p)++;
}

static void parse_value(const char **p, jv *v) {
    memset(v, 0, sizeof *v);
    skip_ws(p);
    if (**p == '{') v->t = J_OBJ, parse_list(p, v, true);
    else if (**p == '[') v->t = J_ARR, parse_list(p, v, false);
    else if (**p == '"') v->t = J_STR, v->text = parse_string(p, &v->len);
    else if (strncmp(*p, "null", 4) == 0) v->t = J_NULL, *p += 4;
    else if (strncmp(*p, "true", 4) == 0) v->t = J_BOOL, v->b = true, *p += 4;
    else if (strncmp(*p, "false", 5) == 0) v->t = J_BOOL, *p += 5;
    else {
        const char *start = *p;
        while (strchr("+-0123456789.eE", **p) != NULL) (*p)++;
        cr_assert_gt(*p - start, 0, "unexpected JSON at %.20s", start);
        v->t = J_NUM;
        v->len = (size_t)(*p - start);
        v->text = strndup(start, v->len);
    }
}

static void free_value(jv *v) {
    free(v->text);
    for (size_t i = 0; i < v->n; i++) {
        free_value(&v->items[i]);
        if (v->keys != NULL) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
}

static const jv *obj_get(const jv *o, const char *key) {
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->keys[i], key) == 0) return &o->items[i];
    return NULL;
}

/* "c4-02-00-ff" to bytes. */
static void dashed_hex(gz_buf *b, const char *s) {
    gz_buf_reset(b);
    while (*s != '\0') {
        cr_assert_eq(gz_hex_decode_buf(b, s, 2), GZ_OK, "bad hex %s", s);
        s += 2;
        if (*s == '-') s++;
    }
}

/* ---- comparing decoded nodes with the expected JSON --------------------------- */

static bool is_integer_text(const char *t) { return strpbrk(t, ".eE") == NULL; }

static void expect_number(const mp_any *node, const char *text) {
    if (node->type == MP_ANY_FLOAT) {
        cr_assert_eq(node->f, strtod(text, NULL), "float %g vs %s", node->f, text);
        return;
    }
    cr_assert(is_integer_text(text), "integer node for %s", text);
    if (text[0] == '-') {
        cr_assert_eq(node->type, MP_ANY_INT, "negative %s", text);
        cr_assert_eq(node->i, strtoll(text, NULL, 10), "value %s", text);
    } else {
        cr_assert_eq(node->type, MP_ANY_UINT, "non-negative %s", text);
        cr_assert_eq(node->u, strtoull(text, NULL, 10), "value %s", text);
    }
}

static void expect_bytes(const mp_any *node, mp_any_type t, const uint8_t *p, size_t len) {
    cr_assert_eq(node->type, t, "type %s", mp_any_type_name(node->type));
    cr_assert_eq(node->len, len);
    cr_assert(len == 0 || memcmp(node->p, p, len) == 0);
}

/* Compares nodes[*pos..] with a plain JSON value (inside arrays and maps:
 * numbers, strings, arrays, objects) and advances *pos past it. */
static void expect_plain(const mp_any *nodes, size_t count, size_t *pos, const jv *v) {
    cr_assert_lt(*pos, count, "fewer nodes than expected");
    const mp_any *node = &nodes[(*pos)++];
    switch (v->t) {
    case J_NULL: cr_assert_eq(node->type, MP_ANY_NIL); break;
    case J_BOOL: cr_assert_eq(node->type, MP_ANY_BOOL); cr_assert_eq(node->b, v->b); break;
    case J_NUM: expect_number(node, v->text); break;
    case J_STR: expect_bytes(node, MP_ANY_STR, (const uint8_t *)v->text, v->len); break;
    case J_ARR:
        cr_assert_eq(node->type, MP_ANY_ARRAY);
        cr_assert_eq(node->count, v->n);
        for (size_t i = 0; i < v->n; i++) expect_plain(nodes, count, pos, &v->items[i]);
        break;
    case J_OBJ:
        cr_assert_eq(node->type, MP_ANY_MAP);
        cr_assert_eq(node->count, v->n);
        for (size_t i = 0; i < v->n; i++) {
            cr_assert_lt(*pos, count);
            const mp_any *key = &nodes[(*pos)++];
            expect_bytes(key, MP_ANY_STR, (const uint8_t *)v->keys[i], strlen(v->keys[i]));
            expect_plain(nodes, count, pos, &v->items[i]);
        }
        break;
    }
}

/* Compares one decoded value with the suite entry's typed expectation. */
static void expect_entry(const mp_any *nodes, size_t count, const char *kind, const jv *v) {
    size_t pos = 0;
    gz_buf b;
    gz_buf_init(&b);
    if (strcmp(kind, "binary") == 0) {
        dashed_hex(&b, v->text);
        expect_bytes(&nodes[pos++], MP_ANY_BIN, b.data, b.len);
    } else if (strcmp(kind, "bignum") == 0) {
        expect_number(&nodes[pos++], v->text);
    } else if (strcmp(kind, "timestamp") == 0) {
        cr_assert_eq(nodes[pos].type, MP_ANY_TIMESTAMP);
        cr_assert_eq(nodes[pos].sec, strtoll(v->items[0].text, NULL, 10));
        cr_assert_eq(nodes[pos].nsec, strtoul(v->items[1].text, NULL, 10));
        pos++;
    } else if (strcmp(kind, "ext") == 0) {
        cr_assert_eq(nodes[pos].ext_type, strtol(v->items[0].text, NULL, 10));
        dashed_hex(&b, v->items[1].text);
        expect_bytes(&nodes[pos++], MP_ANY_EXT, b.data, b.len);
    } else {
        /* nil, bool, number, string, array, map: the JSON value itself */
        expect_plain(nodes, count, &pos, v);
    }
    cr_assert_eq(pos, count, "more nodes than expected");
    gz_buf_free(&b);
}

/* The canonical encoding of a plain value by our writer, or false if the value
 * has none (floats, maps). */
static bool write_canonical(gz_buf *b, const char *kind, const jv *v) {
    if (strcmp(kind, "binary") == 0) {
        gz_buf raw;
        gz_buf_init(&raw);
        dashed_hex(&raw, v->text);
        cr_assert_eq(mp_put_bin(b, raw.data, raw.len), GZ_OK);
        gz_buf_free(&raw);
        return true;
    }
    if (strcmp(kind, "timestamp") == 0 || strcmp(kind, "ext") == 0) return false;
    switch (v->t) {
    case J_NULL: cr_assert_eq(mp_put_nil(b), GZ_OK); return true;
    case J_BOOL: cr_assert_eq(mp_put_bool(b, v->b), GZ_OK); return true;
    case J_STR:
        if (strcmp(kind, "bignum") != 0) {
            cr_assert_eq(mp_put_str(b, v->text, v->len), GZ_OK);
            return true;
        }
        /* a bignum is an integer written as a string */
        __attribute__((fallthrough));
    case J_NUM:
        if (!is_integer_text(v->text)) return false;
        if (v->text[0] == '-') cr_assert_eq(mp_put_int(b, strtoll(v->text, NULL, 10)), GZ_OK);
        else cr_assert_eq(mp_put_uint(b, strtoull(v->text, NULL, 10)), GZ_OK);
        return true;
    case J_ARR:
        cr_assert_eq(mp_put_array(b, (uint32_t)v->n), GZ_OK);
        for (size_t i = 0; i < v->n; i++)
            if (!write_canonical(b, "", &v->items[i])) return false;
        return true;
    case J_OBJ: return false;
    }
    return false;
}

static jv suite;

static int pack_to_buf(void *data, const char *p, size_t n) { return gz_buf_append(data, p, n); }

static void load_suite(void) {
    char *text = tu_read_file(GZ_VECTORS_DIR "/msgpack-test-suite.json", NULL);
    cr_assert_not_null(text);
    const char *p = text;
    parse_value(&p, &suite);
    cr_assert_eq(suite.t, J_OBJ);
    free(text);
}

static void free_suite(void) { free_value(&suite); }

/* The entry's kind: its key other than "msgpack", "bignum" winning over "number". */
static const char *entry_kind(const jv *e, const jv **value) {
    *value = obj_get(e, "bignum");
    if (*value != NULL) return "bignum";
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->keys[i], "msgpack") == 0) continue;
        *value = &e->items[i];
        return e->keys[i];
    }
    cr_assert_fail("entry without a value");
    return NULL;
}

Test(core_mp, suite_every_encoding_through_general_decoder, .init = load_suite, .fini = free_suite) {
    gz_buf enc;
    gz_buf_init(&enc);
    size_t total = 0;
    for (size_t g = 0; g < suite.n; g++) {
        const jv *group = &suite.items[g];
        for (size_t k = 0; k < group->n; k++) {
            const jv *e = &group->items[k], *value;
            const char *kind = entry_kind(e, &value);
            const jv *encs = obj_get(e, "msgpack");
            cr_assert_not_null(encs);
            for (size_t j = 0; j < encs->n; j++) {
                dashed_hex(&enc, encs->items[j].text);
                mp_any nodes[64];
                size_t count = 0;
                gz_msg msg = {""};
                int rc = mp_any_decode(nodes, 64, &count, enc.data, enc.len, &msg);
                cr_assert_eq(rc, GZ_OK, "%s %s: %s", suite.keys[g], encs->items[j].text, msg.text);
                expect_entry(nodes, count, kind, value);
                total++;
            }
        }
    }
    cr_assert_geq(total, 200, "only %zu encodings read", total);
    gz_buf_free(&enc);
}

Test(core_mp, suite_canonical_reader_accepts_only_the_shortest, .init = load_suite, .fini = free_suite) {
    gz_buf enc, canon;
    gz_buf_init(&enc);
    gz_buf_init(&canon);
    size_t accepted = 0, rejected = 0;
    for (size_t g = 0; g < suite.n; g++) {
        const jv *group = &suite.items[g];
        for (size_t k = 0; k < group->n; k++) {
            const jv *e = &group->items[k], *value;
            const char *kind = entry_kind(e, &value);
            const jv *encs = obj_get(e, "msgpack");
            gz_buf_reset(&canon);
            bool has_canon = write_canonical(&canon, kind, value);
            bool listed = false;
            for (size_t j = 0; j < encs->n; j++) {
                dashed_hex(&enc, encs->items[j].text);
                bool is_canon = has_canon && enc.len == canon.len && memcmp(enc.data, canon.data, enc.len) == 0;
                listed |= is_canon;
                gz_msg msg = {""};
                int rc = mp_check_canonical(enc.data, enc.len, &msg);
                cr_assert_eq(rc == GZ_OK, is_canon, "%s %s: rc %d %s", suite.keys[g],
                             encs->items[j].text, rc, msg.text);
                if (is_canon) accepted++;
                else rejected++;
            }
            cr_assert(!has_canon || listed, "%s: our shortest form is not among the suite's", suite.keys[g]);
        }
    }
    cr_assert_geq(accepted, 40);
    cr_assert_geq(rejected, 150);
    gz_buf_free(&enc);
    gz_buf_free(&canon);
}

/* Reads one value with the typed getter that fits the entry's kind; returns
 * GZ_OK only if it is canonical, the whole input, and equal to the expected
 * value. Kinds without a typed getter return 1. */
static int typed_read(const uint8_t *p, size_t len, const char *kind, const jv *v) {
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    int rc = 1;
    if (strcmp(kind, "string") == 0) {
        char out[256];
        rc = mp_get_str(&rd, "s", out, sizeof out - 1);
        if (rc == GZ_OK) cr_assert_str_eq(out, v->text);
    } else if (strcmp(kind, "binary") == 0) {
        const uint8_t *b = NULL;
        size_t n = 0;
        rc = mp_get_bin(&rd, "b", &b, &n, 1024);
        if (rc == GZ_OK) {
            gz_buf want;
            gz_buf_init(&want);
            dashed_hex(&want, v->text);
            cr_assert_eq(n, want.len);
            cr_assert(n == 0 || memcmp(b, want.data, n) == 0);
            gz_buf_free(&want);
        }
    } else if ((strcmp(kind, "number") == 0 || strcmp(kind, "bignum") == 0) && is_integer_text(v->text)) {
        if (v->text[0] == '-') {
            int64_t i = 0;
            rc = mp_get_int(&rd, "i", &i);
            if (rc == GZ_OK) cr_assert_eq(i, strtoll(v->text, NULL, 10));
        } else {
            uint64_t u = 0;
            rc = mp_get_uint(&rd, "u", &u);
            if (rc == GZ_OK) cr_assert_eq(u, strtoull(v->text, NULL, 10));
        }
    }
    if (rc == GZ_OK) rc = mp_rd_end(&rd);
    return rc;
}

Test(core_mp, suite_typed_getters_accept_only_the_shortest, .init = load_suite, .fini = free_suite) {
    gz_buf enc, canon;
    gz_buf_init(&enc);
    gz_buf_init(&canon);
    size_t checked = 0;
    for (size_t g = 0; g < suite.n; g++) {
        const jv *group = &suite.items[g];
        for (size_t k = 0; k < group->n; k++) {
            const jv *e = &group->items[k], *value;
            const char *kind = entry_kind(e, &value);
            const jv *encs = obj_get(e, "msgpack");
            gz_buf_reset(&canon);
            bool has_canon = write_canonical(&canon, kind, value);
            for (size_t j = 0; j < encs->n; j++) {
                dashed_hex(&enc, encs->items[j].text);
                int rc = typed_read(enc.data, enc.len, kind, value);
                if (rc == 1) continue;
                bool is_canon = has_canon && enc.len == canon.len && memcmp(enc.data, canon.data, enc.len) == 0;
                cr_assert_eq(rc == GZ_OK, is_canon, "%s %s", suite.keys[g], encs->items[j].text);
                checked++;
            }
        }
    }
    cr_assert_geq(checked, 100);
    gz_buf_free(&enc);
    gz_buf_free(&canon);
}

/* ---- writer ------------------------------------------------------------------- */

Test(core_mp, writer_uses_shortest_forms_at_every_boundary) {
    static const struct { uint64_t v; size_t len; } u[] = {
        {0, 1}, {127, 1}, {128, 2}, {255, 2}, {256, 3}, {65535, 3}, {65536, 5},
        {UINT32_MAX, 5}, {(uint64_t)UINT32_MAX + 1, 9}, {UINT64_MAX, 9}};
    static const struct { int64_t v; size_t len; } s[] = {
        {-1, 1}, {-32, 1}, {-33, 2}, {-128, 2}, {-129, 3}, {-32768, 3}, {-32769, 5},
        {INT32_MIN, 5}, {(int64_t)INT32_MIN - 1, 9}, {INT64_MIN, 9}, {5, 1}, {INT64_MAX, 9}};
    gz_buf b;
    gz_buf_init(&b);
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        gz_buf_reset(&b);
        cr_assert_eq(mp_put_uint(&b, u[i].v), GZ_OK);
        cr_assert_eq(b.len, u[i].len, "uint %llu", (unsigned long long)u[i].v);
        mp_rd rd;
        mp_rd_init(&rd, b.data, b.len, NULL);
        uint64_t back = 0;
        cr_assert_eq(mp_get_uint(&rd, "u", &back), GZ_OK);
        cr_assert_eq(back, u[i].v);
        cr_assert_eq(mp_rd_end(&rd), GZ_OK);
    }
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        gz_buf_reset(&b);
        cr_assert_eq(mp_put_int(&b, s[i].v), GZ_OK);
        cr_assert_eq(b.len, s[i].len, "int %lld", (long long)s[i].v);
        mp_rd rd;
        mp_rd_init(&rd, b.data, b.len, NULL);
        int64_t back = 0;
        cr_assert_eq(mp_get_int(&rd, "i", &back), GZ_OK);
        cr_assert_eq(back, s[i].v);
    }
    static const struct { uint32_t n; size_t head; } lens[] = {
        {0, 1}, {31, 1}, {32, 2}, {255, 2}, {256, 3}, {65535, 3}, {65536, 5}};
    char *text = malloc(65536);
    memset(text, 'x', 65536);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        gz_buf_reset(&b);
        cr_assert_eq(mp_put_str(&b, text, lens[i].n), GZ_OK);
        cr_assert_eq(b.len, lens[i].head + lens[i].n, "str %u", lens[i].n);
        mp_rd rd;
        mp_rd_init(&rd, b.data, b.len, NULL);
        const char *sv = NULL;
        size_t sl = 0;
        cr_assert_eq(mp_get_str_view(&rd, "s", &sv, &sl, 65536), GZ_OK);
        cr_assert_eq(sl, lens[i].n);
        gz_buf_reset(&b);
        cr_assert_eq(mp_put_bin(&b, (const uint8_t *)text, lens[i].n), GZ_OK);
        size_t bin_head = lens[i].n <= 255 ? 2 : lens[i].head;
        cr_assert_eq(b.len, bin_head + lens[i].n, "bin %u", lens[i].n);
        gz_buf_reset(&b);
        cr_assert_eq(mp_put_array(&b, lens[i].n), GZ_OK);
        size_t arr_head = lens[i].n <= 15 ? 1 : lens[i].n <= 65535 ? 3 : 5;
        cr_assert_eq(b.len, arr_head, "array %u", lens[i].n);
    }
    free(text);
    gz_buf_free(&b);
}

/* The writer's bytes at each boundary of each form, spelled out: together with
 * the lengths above this pins down that msgpack-c underneath picks the
 * shortest form, str 8 included. */
static void expect_written(const gz_buf *b, const char *hex, const char *what) {
    char got[64];
    size_t n = b->len < 24 ? b->len : 24;
    gz_hex_encode(got, b->data, n);
    cr_assert_str_eq(got, hex, "%s", what);
}

Test(core_mp, writer_bytes_at_every_boundary) {
    static const struct { uint64_t v; const char *hex; } u[] = {
        {0, "00"}, {127, "7f"}, {128, "cc80"}, {255, "ccff"}, {256, "cd0100"},
        {65535, "cdffff"}, {65536, "ce00010000"}, {UINT32_MAX, "ceffffffff"},
        {(uint64_t)UINT32_MAX + 1, "cf0000000100000000"}, {UINT64_MAX, "cfffffffffffffffff"}};
    static const struct { int64_t v; const char *hex; } s[] = {
        {0, "00"}, {127, "7f"}, {128, "cc80"}, {65536, "ce00010000"}, {INT64_MAX, "cf7fffffffffffffff"},
        {-1, "ff"}, {-32, "e0"}, {-33, "d0df"}, {-128, "d080"}, {-129, "d1ff7f"},
        {-32768, "d18000"}, {-32769, "d2ffff7fff"}, {INT32_MIN, "d280000000"},
        {(int64_t)INT32_MIN - 1, "d3ffffffff7fffffff"}, {INT64_MIN, "d38000000000000000"}};
    gz_buf b;
    gz_buf_init(&b);
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
        gz_buf_reset(&b);
        cr_assert_eq(mp_put_uint(&b, u[i].v), GZ_OK);
        expect_written(&b, u[i].hex, "uint");
    }
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        gz_buf_reset(&b);
        cr_assert_eq(mp_put_int(&b, s[i].v), GZ_OK);
        expect_written(&b, s[i].hex, "int");
    }
    gz_buf_reset(&b);
    cr_assert_eq(mp_put_nil(&b), GZ_OK);
    cr_assert_eq(mp_put_bool(&b, false), GZ_OK);
    cr_assert_eq(mp_put_bool(&b, true), GZ_OK);
    expect_written(&b, "c0c2c3", "nil, false, true");
    /* Heads of str, bin and array: the payload bytes after them are 'x'. */
    static const struct { uint32_t n; const char *str, *bin, *arr; } h[] = {
        {0, "a0", "c400", "90"},         {15, "af", "c40f", "9f"},
        {16, "b0", "c410", "dc0010"},    {31, "bf", "c41f", "dc001f"},
        {32, "d920", "c420", "dc0020"},  {255, "d9ff", "c4ff", "dc00ff"},
        {256, "da0100", "c50100", "dc0100"}, {65535, "daffff", "c5ffff", "dcffff"},
        {65536, "db00010000", "c600010000", "dd00010000"}};
    char *text = malloc(65536);
    memset(text, 'x', 65536);
    for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
        const struct { const char *hex; int kind; } forms[] = {{h[i].str, 0}, {h[i].bin, 1}, {h[i].arr, 2}};
        for (size_t f = 0; f < 3; f++) {
            gz_buf_reset(&b);
            int rc = forms[f].kind == 0 ? mp_put_str(&b, text, h[i].n)
                     : forms[f].kind == 1 ? mp_put_bin(&b, (const uint8_t *)text, h[i].n)
                                          : mp_put_array(&b, h[i].n);
            cr_assert_eq(rc, GZ_OK);
            size_t head = strlen(forms[f].hex) / 2;
            cr_assert_eq(b.len, head + (forms[f].kind == 2 ? 0 : h[i].n), "length of %u", h[i].n);
            char got[16];
            gz_hex_encode(got, b.data, head);
            cr_assert_str_eq(got, forms[f].hex, "head for %u (form %zu)", h[i].n, f);
        }
    }
    free(text);
    gz_buf_free(&b);
}

/* Writes the nodes of one decoded value back through the writer, in their
 * pre-order, which is the order of the bytes. Returns false if a node has no
 * canonical form (float, ext, timestamp); maps are written with msgpack-c's
 * map head, the one form our writer lacks, so the suite's maps round-trip too. */
static bool write_nodes(gz_buf *b, const mp_any *nodes, size_t count) {
    for (size_t i = 0; i < count; i++) {
        const mp_any *n = &nodes[i];
        int rc;
        switch (n->type) {
        case MP_ANY_NIL: rc = mp_put_nil(b); break;
        case MP_ANY_BOOL: rc = mp_put_bool(b, n->b); break;
        case MP_ANY_UINT: rc = mp_put_uint(b, n->u); break;
        case MP_ANY_INT: rc = mp_put_int(b, n->i); break;
        case MP_ANY_STR: rc = mp_put_str(b, (const char *)n->p, n->len); break;
        case MP_ANY_BIN: rc = mp_put_bin(b, n->p, n->len); break;
        case MP_ANY_ARRAY: rc = mp_put_array(b, n->count); break;
        case MP_ANY_MAP: {
            msgpack_packer pk;
            msgpack_packer_init(&pk, b, pack_to_buf);
            rc = msgpack_pack_map(&pk, n->count);
            break;
        }
        default: return false;
        }
        cr_assert_eq(rc, GZ_OK);
    }
    return true;
}

Test(core_mp, suite_every_decoded_value_encodes_back_to_its_shortest_form, .init = load_suite,
     .fini = free_suite) {
    gz_buf enc, shortest, back;
    gz_buf_init(&enc);
    gz_buf_init(&shortest);
    gz_buf_init(&back);
    size_t encoded = 0, canonical_inputs = 0, skipped = 0;
    for (size_t g = 0; g < suite.n; g++) {
        const jv *group = &suite.items[g];
        for (size_t k = 0; k < group->n; k++) {
            const jv *encs = obj_get(&group->items[k], "msgpack");
            /* The suite lists every valid encoding; canonical form allows the
             * shortest of those without floats (an integer such as 2^32 is
             * also listed as a float 32), and of a uint and an int of the same
             * length (2^63 - 1 is listed as int 64 first) the uint. */
            size_t best = encs->n, best_rank = SIZE_MAX;
            for (size_t j = 0; j < encs->n; j++) {
                dashed_hex(&enc, encs->items[j].text);
                uint8_t tag = enc.data[0];
                if (tag == 0xca || tag == 0xcb) continue;
                size_t rank = 2 * enc.len + (tag >= 0xd0 && tag <= 0xd3);
                if (rank < best_rank) best = j, best_rank = rank;
            }
            if (best == encs->n) {
                skipped += encs->n;
                continue;
            }
            dashed_hex(&shortest, encs->items[best].text);
            for (size_t j = 0; j < encs->n; j++) {
                dashed_hex(&enc, encs->items[j].text);
                mp_any nodes[64];
                size_t count = 0;
                cr_assert_eq(mp_any_decode(nodes, 64, &count, enc.data, enc.len, NULL), GZ_OK);
                gz_buf_reset(&back);
                if (!write_nodes(&back, nodes, count)) {
                    skipped++;
                    continue;
                }
                cr_assert(back.len == shortest.len && memcmp(back.data, shortest.data, back.len) == 0,
                          "%s %s: written back as %zu bytes, shortest is %s", suite.keys[g],
                          encs->items[j].text, back.len, encs->items[best].text);
                if (j == best) {
                    cr_assert(enc.len == back.len && memcmp(enc.data, back.data, enc.len) == 0);
                    canonical_inputs++;
                }
                encoded++;
            }
        }
    }
    cr_assert_geq(encoded, 180, "only %zu encodings written back", encoded);
    cr_assert_geq(canonical_inputs, 57, "only %zu entries", canonical_inputs);
    cr_assert_gt(skipped, 0, "floats, ext and timestamps have no canonical form");
    gz_buf_free(&enc);
    gz_buf_free(&shortest);
    gz_buf_free(&back);
}

/* ---- rejections ----------------------------------------------------------------- */

/* Runs mp_check_canonical on hex bytes; returns the code, msg in *msg. */
static int check_hex(const char *hex, gz_msg *msg) {
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(gz_hex_decode_buf(&b, hex, strlen(hex)), GZ_OK);
    gz_msg_clear(msg);
    int rc = mp_check_canonical(b.data, b.len, msg);
    gz_buf_free(&b);
    return rc;
}

static void expect_reject(const char *hex, const char *why) {
    gz_msg msg;
    cr_assert_eq(check_hex(hex, &msg), GZ_EENCODING, "%s accepted", hex);
    cr_assert(strstr(msg.text, why) != NULL, "%s: message \"%s\" lacks \"%s\"", hex, msg.text, why);
}

Test(core_mp, rejects_non_canonical_integers) {
    expect_reject("cc05", "not in its shortest form");
    expect_reject("cd00ff", "not in its shortest form");
    expect_reject("ce0000ffff", "not in its shortest form");
    expect_reject("cf00000000ffffffff", "not in its shortest form");
    expect_reject("d005", "not in its shortest form");     /* positive as int8 */
    expect_reject("d0e0", "not in its shortest form");     /* -32 fits a fixint */
    expect_reject("d1ff80", "not in its shortest form");   /* -128 fits int8 */
    expect_reject("d3ffffffff80000000", "not in its shortest form");
    gz_msg msg;
    cr_assert_eq(check_hex("d3ffffffff7fffffff", &msg), GZ_OK, "%s", msg.text); /* INT32_MIN - 1 */
    mp_rd rd;
    const uint8_t big[] = {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0};
    mp_rd_init(&rd, big, sizeof big, &msg);
    int64_t i = 5;
    cr_assert_eq(mp_get_int(&rd, "payload.delta", &i), GZ_EENCODING);
    cr_assert_eq(i, 0);
    cr_assert_eq(rd.off, 0, "cursor unmoved on failure");
    cr_assert_str_eq(msg.text, "payload.delta: integer out of range");
}

Test(core_mp, rejects_non_canonical_lengths_and_forbidden_types) {
    expect_reject("d90161", "length not in its shortest form");       /* str8 of 1 */
    expect_reject("da001f" "00000000000000000000000000000000000000000000000000000000000000", "length not");
    expect_reject("c50001ff", "length not in its shortest form");     /* bin16 of 1 */
    expect_reject("dc000101", "length not in its shortest form");     /* array16 of 1 */
    expect_reject("dd0000000101", "length not in its shortest form");
    expect_reject("80", "map not allowed");
    expect_reject("81a16101", "map not allowed");
    expect_reject("ca3f800000", "float not allowed");
    expect_reject("cb3ff0000000000000", "float not allowed");
    expect_reject("d40110", "ext not allowed");
    expect_reject("c1", "reserved byte 0xc1 not allowed");
    expect_reject("9180", "map not allowed");
}

Test(core_mp, rejects_trailing_bytes_and_truncation) {
    expect_reject("0102", "value: 1 trailing bytes");
    expect_reject("9101ff", "1 trailing bytes");
    expect_reject("", "missing (no bytes left)");
    expect_reject("92", "declared length 2 exceeds the 0 bytes remaining");
    expect_reject("92a161", "missing (no bytes left)");
    expect_reject("cd01", "truncated");
    expect_reject("cf0000000001", "truncated");
}

Test(core_mp, nesting_up_to_8_accepted_deeper_rejected) {
    gz_msg msg;
    cr_assert_eq(check_hex("9191919191919190", &msg), GZ_OK, "8 arrays: %s", msg.text);
    cr_assert_eq(check_hex("919191919191919101", &msg), GZ_OK, "8 arrays around a uint: %s", msg.text);
    cr_assert_eq(check_hex("919191919191919190", &msg), GZ_EENCODING, "9 arrays");
    cr_assert(strstr(msg.text, "nesting deeper than 8") != NULL, "%s", msg.text);
    cr_assert_eq(check_hex("91919191919191919101", &msg), GZ_EENCODING, "9 arrays around a uint");
    cr_assert_eq(check_hex("929191919191919001", &msg), GZ_OK, "siblings add no depth: %s", msg.text);
}

Test(core_mp, declared_lengths_beyond_the_input_fail_before_use) {
    static const char *const huge[] = {"ddffffffff", "dbffffffff", "c6ffffffff", "dcffff",
                                       "daffff", "c5ffff", "d9ff", "c4ff", "9f", "bf"};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++)
        expect_reject(huge[i], "exceeds the 0 bytes remaining");
    expect_reject("dd00010000" "01", "declared length 65536 exceeds the 1 bytes remaining");
    /* The typed getters share the check: the count never reaches the caller. */
    const uint8_t five[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    mp_rd rd;
    gz_msg msg;
    mp_rd_init(&rd, five, sizeof five, &msg);
    uint32_t n = 7;
    cr_assert_eq(mp_get_array(&rd, "payload.recipients", &n, 0, UINT32_MAX), GZ_EENCODING);
    cr_assert_eq(n, 0);
    cr_assert_str_eq(msg.text, "payload.recipients: declared length 4294967295 exceeds the 0 bytes remaining");
    /* The general decoder as well, for arrays, maps, strings and ext. */
    static const char *const any_huge[] = {"ddffffffff", "dfffffffff", "dbffffffff", "c9ffffffff01"};
    for (size_t i = 0; i < sizeof any_huge / sizeof any_huge[0]; i++) {
        gz_buf b;
        gz_buf_init(&b);
        cr_assert_eq(gz_hex_decode_buf(&b, any_huge[i], strlen(any_huge[i])), GZ_OK);
        mp_any nodes[8];
        size_t count = 9;
        cr_assert_eq(mp_any_decode(nodes, 8, &count, b.data, b.len, &msg), GZ_EENCODING, "%s", any_huge[i]);
        cr_assert_eq(count, 0);
        cr_assert(strstr(msg.text, "exceeds") != NULL, "%s", msg.text);
        gz_buf_free(&b);
    }
}

Test(core_mp, strings_must_be_utf8_without_nul) {
    static const char *const bad[] = {
        "a180",             /* lone continuation byte */
        "a2c080",           /* overlong NUL */
        "a2c1bf",           /* overlong */
        "a3e08080",         /* overlong 3-byte */
        "a4f0808080",       /* overlong 4-byte */
        "a3eda080",         /* surrogate U+D800 */
        "a3edbfbf",         /* surrogate U+DFFF */
        "a4f4908080",       /* U+110000 */
        "a4f5808080",       /* lead byte past U+10FFFF */
        "a1ff",
        "a2e282",           /* truncated sequence */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_reject(bad[i], "not valid UTF-8");
    expect_reject("a3610062", "contains a NUL byte");
    static const char *const good[] = {"a3ed9fbf", "a3ee8080", "a4f48fbfbf", "a4f09f8dba", "a2c280", "a0"};
    gz_msg msg;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        cr_assert_eq(check_hex(good[i], &msg), GZ_OK, "%s: %s", good[i], msg.text);
}

Test(core_mp, typed_getters_name_the_field) {
    const uint8_t bytes[] = {0xc0, 0x92, 0x01, 0x02, 0xa5, 'h', 'e', 'l', 'l', 'o', 0xc4, 0x01, 0xaa};
    mp_rd rd;
    gz_msg msg;
    mp_rd_init(&rd, bytes, sizeof bytes, &msg);
    uint64_t u = 1;
    cr_assert_eq(mp_get_uint(&rd, "body.nonce", &u), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "body.nonce: not a uint (found nil)");
    cr_assert_eq(u, 0);
    cr_assert(mp_rd_peek_nil(&rd));
    cr_assert_eq(mp_get_nil(&rd, "x"), GZ_OK);
    cr_assert_eq(mp_get_array_n(&rd, "payload", 3), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "payload: array of 2 elements, expected 3");
    uint32_t n = 0;
    cr_assert_eq(mp_get_array(&rd, "payload.options", &n, 3, 16), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "payload.options: array of 2 elements, expected 3..16");
    cr_assert_eq(mp_get_array_n(&rd, "payload", 2), GZ_OK);
    cr_assert_eq(mp_get_uint(&rd, "a", &u), GZ_OK);
    cr_assert_eq(u, 1);
    bool flag = true;
    cr_assert_eq(mp_get_bool(&rd, "payload.mutable", &flag), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "payload.mutable: not a bool (found uint)");
    cr_assert_eq(mp_get_uint(&rd, "b", &u), GZ_OK);
    char s[5];
    cr_assert_eq(mp_get_str(&rd, "payload.options[3]", s, 4), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "payload.options[3]: string longer than 4 bytes");
    char s6[6];
    cr_assert_eq(mp_get_str(&rd, "t", s6, 5), GZ_OK);
    cr_assert_str_eq(s6, "hello");
    uint8_t two[2];
    cr_assert_eq(mp_get_bin_fixed(&rd, "body.signer", two, 2), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "body.signer: bin of 1 bytes, expected 2");
    bool has = true;
    cr_assert_eq(mp_get_bin_or_nil(&rd, "payload.parent", &has, two, 1), GZ_OK);
    cr_assert(has);
    cr_assert_eq(two[0], 0xaa);
    cr_assert_eq(mp_rd_end(&rd), GZ_OK);
    cr_assert_eq(mp_get_uint(&rd, "payload.amount", &u), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "payload.amount: missing (no bytes left)");
}

Test(core_mp, general_decoder_limits) {
    gz_msg msg;
    mp_any nodes[80];
    size_t count = 0;
    uint8_t deep[GZ_MP_ANY_DEPTH_MAX + 1];
    memset(deep, 0x91, sizeof deep);
    deep[GZ_MP_ANY_DEPTH_MAX] = 0x90;
    cr_assert_eq(mp_any_decode(nodes, 80, &count, deep, GZ_MP_ANY_DEPTH_MAX + 1, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(count, GZ_MP_ANY_DEPTH_MAX + 1);
    deep[GZ_MP_ANY_DEPTH_MAX] = 0x91;
    uint8_t deeper[GZ_MP_ANY_DEPTH_MAX + 2];
    memcpy(deeper, deep, sizeof deep);
    deeper[GZ_MP_ANY_DEPTH_MAX + 1] = 0x01;
    cr_assert_eq(mp_any_decode(nodes, 80, &count, deeper, sizeof deeper, &msg), GZ_EENCODING);
    cr_assert(strstr(msg.text, "nested deeper") != NULL, "%s", msg.text);
    const uint8_t three[] = {0x93, 0x01, 0x02, 0x03};
    cr_assert_eq(mp_any_decode(nodes, 3, &count, three, sizeof three, &msg), GZ_ELIMIT);
    cr_assert_eq(mp_any_decode(nodes, 4, &count, three, sizeof three, &msg), GZ_OK);
    cr_assert_eq(mp_any_decode(nodes, 4, &count, three, 3, &msg), GZ_EENCODING, "truncated");
    const uint8_t trailing[] = {0x01, 0x02};
    cr_assert_eq(mp_any_decode(nodes, 4, &count, trailing, 2, &msg), GZ_EENCODING);
    cr_assert(strstr(msg.text, "1 trailing bytes") != NULL, "%s", msg.text);
    const uint8_t reserved[] = {0xc1};
    cr_assert_eq(mp_any_decode(nodes, 4, &count, reserved, 1, &msg), GZ_EENCODING);
    /* An ext -1 that is not a timestamp stays an ext. */
    const uint8_t odd_ts[] = {0xd5, 0xff, 0x00, 0x01};
    cr_assert_eq(mp_any_decode(nodes, 4, &count, odd_ts, sizeof odd_ts, &msg), GZ_OK);
    cr_assert_eq(nodes[0].type, MP_ANY_EXT);
    cr_assert_eq(nodes[0].ext_type, -1);
}
