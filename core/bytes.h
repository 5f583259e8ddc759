/* Growable byte buffers and hex conversion. */
#ifndef GZ_CORE_BYTES_H
#define GZ_CORE_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* A caller-owned growable byte buffer. Zero-initialise or gz_buf_init() it;
 * release with gz_buf_free(). */
typedef struct gz_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} gz_buf;

void gz_buf_init(gz_buf *b);
void gz_buf_free(gz_buf *b);
/* Empties b, keeping its allocation. */
void gz_buf_reset(gz_buf *b);
/* Ensures room for extra more bytes. Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int gz_buf_reserve(gz_buf *b, size_t extra);
/* Appends n bytes. Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int gz_buf_append(gz_buf *b, const void *p, size_t n);

/* Writes 2*n lowercase hex chars and a NUL to out (size 2*n+1). */
void gz_hex_encode(char *out, const uint8_t *in, size_t n);
/* Decodes exactly n bytes from a hex string of exactly 2*n chars (either case).
 * Returns GZ_OK, or GZ_EARG (out zeroed) on a wrong length or non-hex char. */
GZ_WUR int gz_hex_decode(uint8_t *out, size_t n, const char *hex);
/* Decodes a hex string of any even length into b (appended). */
GZ_WUR int gz_hex_decode_buf(gz_buf *b, const char *hex, size_t hex_len);

/* Constant-size 32-byte value helpers. */
bool gz_is_zero32(const uint8_t a[32]);

/* Big-endian integers, the byte order of every fixed-width field we write. */
static inline void gz_put_u64be(uint8_t out[8], uint64_t v) {
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)(v >> (56 - 8 * i));
}
static inline uint64_t gz_get_u64be(const uint8_t in[8]) {
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | in[i];
    return v;
}

#endif
