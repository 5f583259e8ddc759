/* Canonical MessagePack (SPEC §1): a writer that always emits the shortest form
 * (msgpack-c's packer underneath) and a bounded reader cursor of our own that
 * rejects anything else. The reader never allocates: a declared length is
 * checked against the bytes that remain before it is used, and it has no
 * recursion. */
#ifndef GZ_CORE_MP_H
#define GZ_CORE_MP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/err.h"

/* Writer: append to a gz_buf. Each returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int mp_put_uint(gz_buf *b, uint64_t v);
GZ_WUR int mp_put_int(gz_buf *b, int64_t v); /* v >= 0 is written as uint */
GZ_WUR int mp_put_nil(gz_buf *b);
GZ_WUR int mp_put_bool(gz_buf *b, bool v);
GZ_WUR int mp_put_str(gz_buf *b, const char *s, size_t len);
GZ_WUR int mp_put_bin(gz_buf *b, const uint8_t *p, size_t len);
GZ_WUR int mp_put_array(gz_buf *b, uint32_t n);

/* True if p[0..len) is valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF) and holds no NUL byte: what every str must be. */
bool mp_str_valid(const uint8_t *p, size_t len);

/* Reader cursor over borrowed bytes. Each getter checks type and canonical form
 * and, on failure, returns GZ_EENCODING with *rd->msg = "<field>: <reason>" and
 * the cursor unmoved; out-params are zeroed on failure. A str, bin or array
 * length is checked against the bytes that remain before anything uses it. */
typedef struct mp_rd {
    const uint8_t *p;
    size_t len;
    size_t off;
    gz_msg *msg; /* may be NULL */
} mp_rd;

void mp_rd_init(mp_rd *rd, const uint8_t *p, size_t len, gz_msg *msg);
/* Bytes not yet consumed. */
size_t mp_rd_remaining(const mp_rd *rd);
/* Returns GZ_OK if every byte was consumed, else GZ_EENCODING ("N trailing bytes"). */
GZ_WUR int mp_rd_end(mp_rd *rd);
/* As mp_rd_end, with the message naming field ("tx: 3 trailing bytes"). */
GZ_WUR int mp_rd_end_field(mp_rd *rd, const char *field);
/* True if the next value is nil (does not consume). */
bool mp_rd_peek_nil(const mp_rd *rd);

/* A uint in its shortest form (positive fixint or uint8..uint64). */
GZ_WUR int mp_get_uint(mp_rd *rd, const char *field, uint64_t *v);
/* An int: values >= 0 only as uint (shortest), negative values only in the
 * shortest of negative fixint / int8..int64. */
GZ_WUR int mp_get_int(mp_rd *rd, const char *field, int64_t *v);
GZ_WUR int mp_get_nil(mp_rd *rd, const char *field);
GZ_WUR int mp_get_bool(mp_rd *rd, const char *field, bool *v);
/* A str of at most max bytes, valid UTF-8 without NUL; copied to out (size max+1)
 * and NUL-terminated. */
GZ_WUR int mp_get_str(mp_rd *rd, const char *field, char *out, size_t max);
/* As mp_get_str, but borrowed: *s points into rd's bytes (not NUL-terminated). */
GZ_WUR int mp_get_str_view(mp_rd *rd, const char *field, const char **s, size_t *len, size_t max);
/* A bin of exactly n bytes copied to out. */
GZ_WUR int mp_get_bin_fixed(mp_rd *rd, const char *field, uint8_t *out, size_t n);
/* A bin of at most max bytes, borrowed (points into rd's bytes). */
GZ_WUR int mp_get_bin(mp_rd *rd, const char *field, const uint8_t **p, size_t *len, size_t max);
/* An array header whose count is within [min, max]. */
GZ_WUR int mp_get_array(mp_rd *rd, const char *field, uint32_t *n, uint32_t min, uint32_t max);
/* An array header with exactly n elements. */
GZ_WUR int mp_get_array_n(mp_rd *rd, const char *field, uint32_t n);
/* Either nil (has = false) or a bin of exactly n bytes (has = true). */
GZ_WUR int mp_get_bin_or_nil(mp_rd *rd, const char *field, bool *has, uint8_t *out, size_t n);

/* Skips one value of any shape, checking that it is canonical: no maps, floats
 * or ext, shortest forms, valid strings, and arrays nested at most
 * GZ_MP_DEPTH_MAX deep. Iterative. */
GZ_WUR int mp_skip(mp_rd *rd, const char *field);
/* Checks that p[0..len) is exactly one canonical value (mp_skip, then no
 * trailing bytes). Returns GZ_OK or GZ_EENCODING with msg. */
GZ_WUR int mp_check_canonical(const uint8_t *p, size_t len, gz_msg *msg);

/* General (non-canonical) decoding of arbitrary MessagePack (any encoding, maps,
 * floats, ext), used to check the msgpack-test-suite and to show outside bytes,
 * never for signed data, is in core/mp_any.h. */

#endif
