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

/* Fixed-width big-endian integers: the one copy every stored or sent number
 * goes through (keys, records, frames, files). out and in hold exactly 2, 4
 * or 8 bytes; no alignment is needed. */
static inline void gz_put_u16be(uint8_t out[2], uint16_t v) {
    out[0] = (uint8_t)(v >> 8);
    out[1] = (uint8_t)v;
}

static inline void gz_put_u32be(uint8_t out[4], uint32_t v) {
    out[0] = (uint8_t)(v >> 24);
    out[1] = (uint8_t)(v >> 16);
    out[2] = (uint8_t)(v >> 8);
    out[3] = (uint8_t)v;
}

static inline void gz_put_u64be(uint8_t out[8], uint64_t v) {
    gz_put_u32be(out, (uint32_t)(v >> 32));
    gz_put_u32be(out + 4, (uint32_t)v);
}

static inline uint16_t gz_get_u16be(const uint8_t in[2]) {
    return (uint16_t)((uint16_t)in[0] << 8 | in[1]);
}

static inline uint32_t gz_get_u32be(const uint8_t in[4]) {
    return (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
}

static inline uint64_t gz_get_u64be(const uint8_t in[8]) {
    return (uint64_t)gz_get_u32be(in) << 32 | gz_get_u32be(in + 4);
}

#endif
