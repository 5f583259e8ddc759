/* Canonical MessagePack writer and bounded reader (SPEC §1). The writer is
 * msgpack-c's packer, which always picks the shortest form; the reader is our
 * own cursor, which accepts only that form, so decoding and re-encoding any
 * accepted value gives back the same bytes. msgpack-c's unpacker is not used
 * for outside bytes: it allocates for a declared length before reading what
 * the length claims. */
#include "core/mp.h"

#include <assert.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "core/limits.h"

/* ---- writer ---------------------------------------------------------------- */

/* msgpack-c's packer picks the shortest form of every value we write (SPEC
 * §1; tests/unit/test_core_mp.c checks each boundary byte for byte) and hands
 * the bytes to this callback, whose code msgpack_pack_* returns. */
static int buf_write(void *data, const char *p, size_t n) { return gz_buf_append(data, p, n); }

static msgpack_packer packer(gz_buf *b) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, b, buf_write);
    return pk;
}

int mp_put_uint(gz_buf *b, uint64_t v) {
    msgpack_packer pk = packer(b);
    return msgpack_pack_uint64(&pk, v);
}

/* msgpack_pack_int64 writes v >= 0 as a uint, as canonical form wants. */
int mp_put_int(gz_buf *b, int64_t v) {
    msgpack_packer pk = packer(b);
    return msgpack_pack_int64(&pk, v);
}

int mp_put_nil(gz_buf *b) {
    msgpack_packer pk = packer(b);
    return msgpack_pack_nil(&pk);
}

int mp_put_bool(gz_buf *b, bool v) {
    msgpack_packer pk = packer(b);
    return v ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
}

/* msgpack_pack_str writes str 8 for 32..255 bytes (the current format);
 * msgpack_pack_v4raw, the old format without str 8, is never used. */
int mp_put_str(gz_buf *b, const char *s, size_t len) {
    assert(len <= UINT32_MAX);
    assert(s != NULL || len == 0);
    msgpack_packer pk = packer(b);
    int rc = msgpack_pack_str(&pk, len);
    return rc != GZ_OK ? rc : msgpack_pack_str_body(&pk, s, len);
}

int mp_put_bin(gz_buf *b, const uint8_t *p, size_t len) {
    assert(len <= UINT32_MAX);
    assert(p != NULL || len == 0);
    msgpack_packer pk = packer(b);
    int rc = msgpack_pack_bin(&pk, len);
    return rc != GZ_OK ? rc : msgpack_pack_bin_body(&pk, p, len);
}

int mp_put_array(gz_buf *b, uint32_t n) {
    msgpack_packer pk = packer(b);
    return msgpack_pack_array(&pk, n);
}

bool mp_str_valid(const uint8_t *p, size_t len) {
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c == 0) return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) n = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0) n = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0) n = 4, cp = c & 0x07, min = 0x10000;
        else return false;
        if (len - i < n) return false;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        /* Overlong forms, UTF-16 surrogates and code points past U+10FFFF are
         * not UTF-8 (RFC 3629). */
        if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
        i += n;
    }
    return true;
}

/* ---- reader ---------------------------------------------------------------- */

void mp_rd_init(mp_rd *rd, const uint8_t *p, size_t len, gz_msg *msg) {
    assert(p != NULL || len == 0);
    rd->p = p;
    rd->len = len;
    rd->off = 0;
    rd->msg = msg;
}

size_t mp_rd_remaining(const mp_rd *rd) {
    assert(rd->off <= rd->len);
    return rd->len - rd->off;
}

__attribute__((format(printf, 3, 4))) static int rd_fail(mp_rd *rd, const char *field,
                                                         const char *fmt, ...) {
    if (rd->msg != NULL) {
        char why[160];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, sizeof why, fmt, ap);
        va_end(ap);
        return gz_fail(rd->msg, GZ_EENCODING, "%s: %s", field, why);
    }
    return GZ_EENCODING;
}

int mp_rd_end(mp_rd *rd) {
    size_t left = mp_rd_remaining(rd);
    if (left == 0) return GZ_OK;
    return gz_fail(rd->msg, GZ_EENCODING, "%zu trailing bytes", left);
}

int mp_rd_end_field(mp_rd *rd, const char *field) {
    size_t left = mp_rd_remaining(rd);
    if (left == 0) return GZ_OK;
    return rd_fail(rd, field, "%zu trailing bytes", left);
}

bool mp_rd_peek_nil(const mp_rd *rd) { return rd->off < rd->len && rd->p[rd->off] == 0xc0; }

static uint64_t be_load(const uint8_t *p, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v = v << 8 | p[i];
    return v;
}

static bool has_byte(const mp_rd *rd) { return rd->off < rd->len; }

/* The family of a MessagePack value by its first byte. */
typedef enum mp_kind {
    K_UINT, K_INT, K_NIL, K_BOOL, K_STR, K_BIN, K_ARRAY, K_MAP, K_FLOAT, K_EXT, K_RESERVED
} mp_kind;

static const char *const kind_names[] = {"uint", "int", "nil", "bool", "str", "bin",
                                         "array", "map", "float", "ext", "reserved byte 0xc1"};

/* How a value's head reads: its family, the size of the big-endian argument
 * after the tag byte, and the smallest argument that this tag may carry in
 * canonical form (anything smaller has a shorter encoding). */
typedef struct head_info {
    mp_kind kind;
    uint8_t arg_bytes;
    uint64_t floor;
} head_info;

static head_info head_of(uint8_t tag) {
    if (tag <= 0x7f) return (head_info){K_UINT, 0, 0};
    if (tag <= 0x8f) return (head_info){K_MAP, 0, 0};
    if (tag <= 0x9f) return (head_info){K_ARRAY, 0, 0};
    if (tag <= 0xbf) return (head_info){K_STR, 0, 0};
    if (tag >= 0xe0) return (head_info){K_INT, 0, 0};
    switch (tag) {
    case 0xc0: return (head_info){K_NIL, 0, 0};
    case 0xc1: return (head_info){K_RESERVED, 0, 0};
    case 0xc2: case 0xc3: return (head_info){K_BOOL, 0, 0};
    case 0xc4: return (head_info){K_BIN, 1, 0};
    case 0xc5: return (head_info){K_BIN, 2, 0x100};
    case 0xc6: return (head_info){K_BIN, 4, 0x10000};
    case 0xca: case 0xcb: return (head_info){K_FLOAT, 0, 0};
    case 0xcc: return (head_info){K_UINT, 1, 0x80};
    case 0xcd: return (head_info){K_UINT, 2, 0x100};
    case 0xce: return (head_info){K_UINT, 4, 0x10000};
    case 0xcf: return (head_info){K_UINT, 8, 0x100000000u};
    case 0xd0: return (head_info){K_INT, 1, 0};
    case 0xd1: return (head_info){K_INT, 2, 0};
    case 0xd2: return (head_info){K_INT, 4, 0};
    case 0xd3: return (head_info){K_INT, 8, 0};
    case 0xd9: return (head_info){K_STR, 1, 32};
    case 0xda: return (head_info){K_STR, 2, 0x100};
    case 0xdb: return (head_info){K_STR, 4, 0x10000};
    case 0xdc: return (head_info){K_ARRAY, 2, 16};
    case 0xdd: return (head_info){K_ARRAY, 4, 0x10000};
    case 0xde: case 0xdf: return (head_info){K_MAP, 0, 0};
    default: return (head_info){K_EXT, 0, 0};
    }
}

/* Reads the head of the next value, which must be of family `want`, without
 * consuming it: *tag, and *arg = the argument after the tag (for fix forms the
 * value packed into the tag). Fails if the head is cut short. */
static int peek_head(mp_rd *rd, const char *field, mp_kind want, uint8_t *tag, uint64_t *arg,
                     head_info *hi) {
    *arg = 0;
    if (!has_byte(rd)) return rd_fail(rd, field, "missing (no bytes left)");
    *tag = rd->p[rd->off];
    *hi = head_of(*tag);
    if (hi->kind != want) {
        const char *article = want == K_NIL ? "" : want == K_ARRAY || want == K_INT ? "an " : "a ";
        return rd_fail(rd, field, "not %s%s (found %s)", article, kind_names[want],
                       kind_names[hi->kind]);
    }
    if (mp_rd_remaining(rd) - 1 < hi->arg_bytes) return rd_fail(rd, field, "truncated");
    if (hi->arg_bytes > 0) *arg = be_load(rd->p + rd->off + 1, hi->arg_bytes);
    else if (want == K_STR) *arg = *tag & 0x1f;
    else if (want == K_ARRAY) *arg = *tag & 0x0f;
    else *arg = *tag;
    return GZ_OK;
}

int mp_get_uint(mp_rd *rd, const char *field, uint64_t *v) {
    *v = 0;
    uint8_t tag = 0;
    uint64_t arg = 0;
    head_info hi = {0};
    int rc = peek_head(rd, field, K_UINT, &tag, &arg, &hi);
    if (rc != GZ_OK) return rc;
    if (arg < hi.floor) return rd_fail(rd, field, "integer not in its shortest form");
    rd->off += 1u + hi.arg_bytes;
    *v = arg;
    return GZ_OK;
}

int mp_get_int(mp_rd *rd, const char *field, int64_t *v) {
    *v = 0;
    if (has_byte(rd) && head_of(rd->p[rd->off]).kind == K_UINT) {
        size_t start = rd->off;
        uint64_t u = 0;
        int rc = mp_get_uint(rd, field, &u);
        if (rc != GZ_OK) return rc;
        if (u > INT64_MAX) {
            rd->off = start;
            return rd_fail(rd, field, "integer out of range");
        }
        *v = (int64_t)u;
        return GZ_OK;
    }
    uint8_t tag = 0;
    uint64_t arg = 0;
    head_info hi = {0};
    int rc = peek_head(rd, field, K_INT, &tag, &arg, &hi);
    if (rc != GZ_OK) return rc;
    int64_t s;
    if (hi.arg_bytes == 0) {
        s = (int8_t)tag;
    } else {
        /* Sign-extend the n-byte two's complement value. */
        unsigned shift = 64u - 8u * hi.arg_bytes;
        s = (int64_t)(arg << shift) >> shift;
    }
    /* Signed types carry only negative values below the next narrower range;
     * values >= 0 are uints in canonical form. */
    static const int64_t ceiling_of[] = {-32, INT8_MIN, INT16_MIN, INT32_MIN};
    if (hi.arg_bytes > 0 && s >= ceiling_of[tag - 0xd0])
        return rd_fail(rd, field, "integer not in its shortest form");
    rd->off += 1u + hi.arg_bytes;
    *v = s;
    return GZ_OK;
}

int mp_get_nil(mp_rd *rd, const char *field) {
    uint8_t tag = 0;
    uint64_t arg = 0;
    head_info hi = {0};
    int rc = peek_head(rd, field, K_NIL, &tag, &arg, &hi);
    if (rc != GZ_OK) return rc;
    rd->off++;
    return GZ_OK;
}

int mp_get_bool(mp_rd *rd, const char *field, bool *v) {
    *v = false;
    uint8_t tag = 0;
    uint64_t arg = 0;
    head_info hi = {0};
    int rc = peek_head(rd, field, K_BOOL, &tag, &arg, &hi);
    if (rc != GZ_OK) return rc;
    rd->off++;
    *v = tag == 0xc3;
    return GZ_OK;
}

/* Decodes a str/bin/array head. On success *n is the declared count and rd is
 * past the head; the count is already checked against the bytes that remain
 * (an array element takes one byte at least), so no caller ever trusts a
 * length that the input cannot back. */
static int get_len_head(mp_rd *rd, const char *field, mp_kind want, uint64_t *n) {
    *n = 0;
    uint8_t tag = 0;
    uint64_t arg = 0;
    head_info hi = {0};
    int rc = peek_head(rd, field, want, &tag, &arg, &hi);
    if (rc != GZ_OK) return rc;
    if (arg < hi.floor) return rd_fail(rd, field, "length not in its shortest form");
    size_t left = mp_rd_remaining(rd) - 1u - hi.arg_bytes;
    if (arg > left)
        return rd_fail(rd, field, "declared length %llu exceeds the %zu bytes remaining",
                       (unsigned long long)arg, left);
    rd->off += 1u + hi.arg_bytes;
    *n = arg;
    return GZ_OK;
}

int mp_get_str_view(mp_rd *rd, const char *field, const char **s, size_t *len, size_t max) {
    *s = NULL;
    *len = 0;
    size_t start = rd->off;
    uint64_t n = 0;
    int rc = get_len_head(rd, field, K_STR, &n);
    if (rc != GZ_OK) return rc;
    const uint8_t *p = rd->p + rd->off;
    if (n > max) {
        rd->off = start;
        return rd_fail(rd, field, "string longer than %zu bytes", max);
    }
    if (memchr(p, 0, n) != NULL) {
        rd->off = start;
        return rd_fail(rd, field, "string contains a NUL byte");
    }
    if (!mp_str_valid(p, n)) {
        rd->off = start;
        return rd_fail(rd, field, "string is not valid UTF-8");
    }
    rd->off += n;
    *s = (const char *)p;
    *len = n;
    return GZ_OK;
}

int mp_get_str(mp_rd *rd, const char *field, char *out, size_t max) {
    const char *s = NULL;
    size_t n = 0;
    out[0] = '\0';
    int rc = mp_get_str_view(rd, field, &s, &n, max);
    if (rc != GZ_OK) return rc;
    if (n > 0) memcpy(out, s, n);
    out[n] = '\0';
    return GZ_OK;
}

int mp_get_bin(mp_rd *rd, const char *field, const uint8_t **p, size_t *len, size_t max) {
    *p = NULL;
    *len = 0;
    size_t start = rd->off;
    uint64_t n = 0;
    int rc = get_len_head(rd, field, K_BIN, &n);
    if (rc != GZ_OK) return rc;
    if (n > max) {
        rd->off = start;
        return rd_fail(rd, field, "bin longer than %zu bytes", max);
    }
    *p = rd->p + rd->off;
    *len = n;
    rd->off += n;
    return GZ_OK;
}

int mp_get_bin_fixed(mp_rd *rd, const char *field, uint8_t *out, size_t n) {
    memset(out, 0, n);
    size_t start = rd->off;
    const uint8_t *p = NULL;
    size_t len = 0;
    int rc = mp_get_bin(rd, field, &p, &len, SIZE_MAX);
    if (rc != GZ_OK) return rc;
    if (len != n) {
        rd->off = start;
        return rd_fail(rd, field, "bin of %zu bytes, expected %zu", len, n);
    }
    memcpy(out, p, n);
    return GZ_OK;
}

int mp_get_array(mp_rd *rd, const char *field, uint32_t *n, uint32_t min, uint32_t max) {
    *n = 0;
    size_t start = rd->off;
    uint64_t count = 0;
    int rc = get_len_head(rd, field, K_ARRAY, &count);
    if (rc != GZ_OK) return rc;
    if (count < min || count > max) {
        rd->off = start;
        if (min == max)
            return rd_fail(rd, field, "array of %llu elements, expected %u",
                           (unsigned long long)count, min);
        return rd_fail(rd, field, "array of %llu elements, expected %u..%u",
                       (unsigned long long)count, min, max);
    }
    *n = (uint32_t)count;
    return GZ_OK;
}

int mp_get_array_n(mp_rd *rd, const char *field, uint32_t n) {
    uint32_t got = 0;
    return mp_get_array(rd, field, &got, n, n);
}

int mp_get_bin_or_nil(mp_rd *rd, const char *field, bool *has, uint8_t *out, size_t n) {
    *has = false;
    if (mp_rd_peek_nil(rd)) {
        memset(out, 0, n);
        rd->off++;
        return GZ_OK;
    }
    int rc = mp_get_bin_fixed(rd, field, out, n);
    if (rc == GZ_OK) *has = true;
    return rc;
}

/* Skips one scalar in canonical form, whatever its type. */
static int skip_scalar(mp_rd *rd, const char *field) {
    uint64_t u;
    int64_t i;
    bool b;
    const char *s;
    const uint8_t *p;
    size_t n;
    mp_kind k = head_of(rd->p[rd->off]).kind;
    switch (k) {
    case K_UINT: return mp_get_uint(rd, field, &u);
    case K_INT: return mp_get_int(rd, field, &i);
    case K_NIL: return mp_get_nil(rd, field);
    case K_BOOL: return mp_get_bool(rd, field, &b);
    case K_STR: return mp_get_str_view(rd, field, &s, &n, SIZE_MAX);
    case K_BIN: return mp_get_bin(rd, field, &p, &n, SIZE_MAX);
    default: return rd_fail(rd, field, "%s not allowed in canonical encoding", kind_names[k]);
    }
}

int mp_skip(mp_rd *rd, const char *field) {
    /* todo[d] counts the values still to read at nesting depth d; an explicit
     * stack instead of recursion bounds the work by GZ_MP_DEPTH_MAX. */
    uint64_t todo[GZ_MP_DEPTH_MAX + 1];
    unsigned depth = 0;
    todo[0] = 1;
    for (;;) {
        while (depth > 0 && todo[depth] == 0) depth--;
        if (todo[depth] == 0) return GZ_OK;
        todo[depth]--;
        if (!has_byte(rd)) return rd_fail(rd, field, "missing (no bytes left)");
        if (head_of(rd->p[rd->off]).kind != K_ARRAY) {
            int rc = skip_scalar(rd, field);
            if (rc != GZ_OK) return rc;
            continue;
        }
        if (depth == GZ_MP_DEPTH_MAX)
            return rd_fail(rd, field, "nesting deeper than %d", GZ_MP_DEPTH_MAX);
        uint32_t n = 0;
        int rc = mp_get_array(rd, field, &n, 0, UINT32_MAX);
        if (rc != GZ_OK) return rc;
        todo[++depth] = n;
    }
}

int mp_check_canonical(const uint8_t *p, size_t len, gz_msg *msg) {
    mp_rd rd;
    mp_rd_init(&rd, p, len, msg);
    int rc = mp_skip(&rd, "value");
    return rc != GZ_OK ? rc : mp_rd_end_field(&rd, "value");
}
