/* General MessagePack decoding: any value in any valid encoding (every int and
 * length width, maps, floats, ext, timestamps), for reading outside data that
 * is not signed, for diagnostics, and for checking the decoder family against
 * the msgpack-test-suite. Never use it for signed structures: it accepts
 * non-canonical bytes by design (core/mp.h is the canonical reader).
 *
 * A value decodes into a flat array of nodes in pre-order: an array node is
 * followed by its `count` elements, a map node by its count key/value pairs
 * (key, value, key, value, …), each element with its own sub-nodes. Decoding is
 * iterative, never allocates (strings, bins and ext data point into the input),
 * and checks every declared length against the bytes that remain. */
#ifndef GZ_CORE_MP_ANY_H
#define GZ_CORE_MP_ANY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef enum mp_any_type {
    MP_ANY_NIL,
    MP_ANY_BOOL,
    MP_ANY_UINT,      /* every integer >= 0, whatever its encoding */
    MP_ANY_INT,       /* every integer < 0 */
    MP_ANY_FLOAT,     /* float 32 or 64, as a double */
    MP_ANY_STR,       /* bytes as sent; UTF-8 is not checked */
    MP_ANY_BIN,
    MP_ANY_ARRAY,
    MP_ANY_MAP,
    MP_ANY_EXT,       /* any ext type other than a well-formed timestamp */
    MP_ANY_TIMESTAMP  /* ext type -1 of 4, 8 or 12 bytes with nsec < 10^9 */
} mp_any_type;

typedef struct mp_any {
    mp_any_type type;
    int8_t ext_type;   /* MP_ANY_EXT */
    bool b;            /* MP_ANY_BOOL */
    uint64_t u;        /* MP_ANY_UINT */
    int64_t i;         /* MP_ANY_INT */
    double f;          /* MP_ANY_FLOAT */
    const uint8_t *p;  /* MP_ANY_STR, MP_ANY_BIN, MP_ANY_EXT: borrowed data */
    uint32_t len;      /* its length */
    uint32_t count;    /* MP_ANY_ARRAY: elements; MP_ANY_MAP: pairs */
    int64_t sec;       /* MP_ANY_TIMESTAMP */
    uint32_t nsec;
} mp_any;

/* Decodes exactly one value filling p[0..len) into nodes (capacity cap; len
 * nodes always suffice, as each takes one byte at least); *n receives the count.
 * Returns GZ_OK, GZ_EENCODING (malformed, truncated, trailing bytes, reserved
 * byte 0xc1, or nested deeper than GZ_MP_ANY_DEPTH_MAX; msg says where) or
 * GZ_ELIMIT (more than cap nodes). *n is 0 on failure. */
GZ_WUR int mp_any_decode(mp_any *nodes, size_t cap, size_t *n, const uint8_t *p, size_t len,
                         gz_msg *msg);

/* Name of a node type ("nil", "uint", …). */
const char *mp_any_type_name(mp_any_type t);

#endif
