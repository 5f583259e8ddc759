/* General MessagePack decoder (see mp_any.h). One loop with an explicit stack
 * of "values still to read" per depth replaces recursion; each node is decoded
 * by decode_one, which checks every length against the bytes that remain. */
#include "core/mp_any.h"

#include <assert.h>
#include <string.h>

#include "core/bytes.h"
#include "core/limits.h"

typedef struct cursor {
    const uint8_t *p;
    size_t len;
    size_t off;
    gz_msg *msg;
} cursor;

static size_t remaining(const cursor *c) { return c->len - c->off; }

static int truncated(cursor *c) {
    return gz_fail(c->msg, GZ_EENCODING, "msgpack: truncated at byte %zu", c->off);
}

/* Reads an n-byte big-endian number (n <= 8). */
static int read_be(cursor *c, size_t n, uint64_t *v) {
    *v = 0;
    if (remaining(c) < n) return truncated(c);
    for (size_t i = 0; i < n; i++) *v = *v << 8 | c->p[c->off + i];
    c->off += n;
    return GZ_OK;
}

/* Takes len data bytes as a borrowed view. */
static int read_data(cursor *c, uint64_t len, mp_any *node) {
    if (len > remaining(c))
        return gz_fail(c->msg, GZ_EENCODING, "msgpack: declared length %llu at byte %zu exceeds the %zu bytes remaining",
                       (unsigned long long)len, c->off, remaining(c));
    node->p = c->p + c->off;
    node->len = (uint32_t)len;
    c->off += (size_t)len;
    return GZ_OK;
}

/* Reads the n-byte length (n = 0: the given fix length) and then the data. */
static int read_sized(cursor *c, size_t n, uint64_t fix_len, mp_any *node) {
    uint64_t len = fix_len;
    int rc = n > 0 ? read_be(c, n, &len) : GZ_OK;
    return rc != GZ_OK ? rc : read_data(c, len, node);
}

/* The timestamp extension (type -1) becomes its own node when well-formed. */
static void ext_finish(mp_any *node) {
    if (node->ext_type != -1) return;
    const uint8_t *d = node->p;
    if (node->len == 4) {
        node->sec = (int64_t)gz_get_u32be(d);
        node->nsec = 0;
    } else if (node->len == 8) {
        uint64_t a = gz_get_u64be(d);
        node->nsec = (uint32_t)(a >> 34);
        node->sec = (int64_t)(a & 0x3ffffffffull);
    } else if (node->len == 12) {
        node->nsec = gz_get_u32be(d);
        node->sec = (int64_t)gz_get_u64be(d + 4);
    } else {
        return;
    }
    if (node->nsec < 1000000000u) node->type = MP_ANY_TIMESTAMP;
}

static int read_ext(cursor *c, size_t n, uint64_t fix_len, mp_any *node) {
    uint64_t len = fix_len, type = 0;
    int rc = n > 0 ? read_be(c, n, &len) : GZ_OK;
    if (rc == GZ_OK) rc = read_be(c, 1, &type);
    if (rc == GZ_OK) rc = read_data(c, len, node);
    if (rc != GZ_OK) return rc;
    node->type = MP_ANY_EXT;
    node->ext_type = (int8_t)(uint8_t)type;
    ext_finish(node);
    return GZ_OK;
}

static int read_float(cursor *c, size_t n, mp_any *node) {
    uint64_t bits = 0;
    int rc = read_be(c, n, &bits);
    if (rc != GZ_OK) return rc;
    node->type = MP_ANY_FLOAT;
    if (n == 4) {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof f);
        node->f = f;
    } else {
        memcpy(&node->f, &bits, sizeof node->f);
    }
    return GZ_OK;
}

static void set_int(mp_any *node, int64_t v) {
    if (v >= 0) {
        node->type = MP_ANY_UINT;
        node->u = (uint64_t)v;
    } else {
        node->type = MP_ANY_INT;
        node->i = v;
    }
}

static int read_signed(cursor *c, size_t n, mp_any *node) {
    uint64_t bits = 0;
    int rc = read_be(c, n, &bits);
    if (rc != GZ_OK) return rc;
    unsigned shift = 64u - 8u * (unsigned)n;
    set_int(node, (int64_t)(bits << shift) >> shift);
    return GZ_OK;
}

/* Reads a container head; *children is how many values follow (2 per map pair).
 * Each takes at least one byte, so a count the input cannot hold is refused. */
static int read_container(cursor *c, size_t n, uint64_t fix_count, bool map, mp_any *node,
                          uint64_t *children) {
    uint64_t count = fix_count;
    int rc = n > 0 ? read_be(c, n, &count) : GZ_OK;
    if (rc != GZ_OK) return rc;
    uint64_t values = map ? count * 2 : count;
    if (values > remaining(c))
        return gz_fail(c->msg, GZ_EENCODING, "msgpack: %s of %llu at byte %zu exceeds the %zu bytes remaining",
                       map ? "map" : "array", (unsigned long long)count, c->off, remaining(c));
    node->type = map ? MP_ANY_MAP : MP_ANY_ARRAY;
    node->count = (uint32_t)count;
    *children = values;
    return GZ_OK;
}

static int decode_one(cursor *c, mp_any *node, uint64_t *children) {
    memset(node, 0, sizeof *node);
    *children = 0;
    if (remaining(c) == 0) return truncated(c);
    uint8_t tag = c->p[c->off++];
    uint64_t v = 0;
    int rc = GZ_OK;
    if (tag <= 0x7f) set_int(node, tag);
    else if (tag >= 0xe0) set_int(node, (int8_t)tag);
    else if (tag <= 0x8f) return read_container(c, 0, tag & 0x0f, true, node, children);
    else if (tag <= 0x9f) return read_container(c, 0, tag & 0x0f, false, node, children);
    else if (tag <= 0xbf) node->type = MP_ANY_STR, rc = read_sized(c, 0, tag & 0x1f, node);
    else switch (tag) {
    case 0xc0: node->type = MP_ANY_NIL; break;
    case 0xc2: case 0xc3: node->type = MP_ANY_BOOL, node->b = tag == 0xc3; break;
    case 0xc4: case 0xc5: case 0xc6:
        node->type = MP_ANY_BIN, rc = read_sized(c, (size_t)1 << (tag - 0xc4), 0, node); break;
    case 0xc7: case 0xc8: case 0xc9: rc = read_ext(c, (size_t)1 << (tag - 0xc7), 0, node); break;
    case 0xca: rc = read_float(c, 4, node); break;
    case 0xcb: rc = read_float(c, 8, node); break;
    case 0xcc: case 0xcd: case 0xce: case 0xcf:
        rc = read_be(c, (size_t)1 << (tag - 0xcc), &v), node->type = MP_ANY_UINT, node->u = v; break;
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: rc = read_signed(c, (size_t)1 << (tag - 0xd0), node); break;
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
        rc = read_ext(c, 0, (uint64_t)1 << (tag - 0xd4), node); break;
    case 0xd9: case 0xda: case 0xdb:
        node->type = MP_ANY_STR, rc = read_sized(c, (size_t)1 << (tag - 0xd9), 0, node); break;
    case 0xdc: case 0xdd: return read_container(c, (size_t)2 << (tag - 0xdc), 0, false, node, children);
    case 0xde: case 0xdf: return read_container(c, (size_t)2 << (tag - 0xde), 0, true, node, children);
    default: /* 0xc1 is the only byte left: never used */
        return gz_fail(c->msg, GZ_EENCODING, "msgpack: reserved byte 0x%02x at byte %zu", tag, c->off - 1);
    }
    return rc;
}

int mp_any_decode(mp_any *nodes, size_t cap, size_t *n, const uint8_t *p, size_t len, gz_msg *msg) {
    assert(p != NULL || len == 0);
    *n = 0;
    cursor c = {p, len, 0, msg};
    uint64_t todo[GZ_MP_ANY_DEPTH_MAX + 1];
    unsigned depth = 0;
    size_t count = 0;
    todo[0] = 1;
    for (;;) {
        while (depth > 0 && todo[depth] == 0) depth--;
        if (todo[depth] == 0) break;
        todo[depth]--;
        if (count == cap) return gz_fail(msg, GZ_ELIMIT, "msgpack: more than %zu values", cap);
        uint64_t children = 0;
        int rc = decode_one(&c, &nodes[count], &children);
        if (rc != GZ_OK) return rc;
        count++;
        if (children == 0) continue;
        if (depth == GZ_MP_ANY_DEPTH_MAX)
            return gz_fail(msg, GZ_EENCODING, "msgpack: nested deeper than %d", GZ_MP_ANY_DEPTH_MAX);
        todo[++depth] = children;
    }
    if (remaining(&c) != 0)
        return gz_fail(msg, GZ_EENCODING, "msgpack: %zu trailing bytes", remaining(&c));
    *n = count;
    return GZ_OK;
}

const char *mp_any_type_name(mp_any_type t) {
    static const char *const names[] = {"nil", "bool", "uint", "int", "float", "str",
                                        "bin", "array", "map", "ext", "timestamp"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}
