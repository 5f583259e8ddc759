#include "core/bytes.h"

#include <stdlib.h>
#include <string.h>

void gz_buf_init(gz_buf *b) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void gz_buf_free(gz_buf *b) {
    free(b->data);
    gz_buf_init(b);
}

void gz_buf_reset(gz_buf *b) { b->len = 0; }

int gz_buf_reserve(gz_buf *b, size_t extra) {
    if (extra <= b->cap - b->len) return GZ_OK;
    if (extra > SIZE_MAX / 2 - b->len) return GZ_ENOMEM;
    size_t cap = b->cap ? b->cap : 64;
    while (cap - b->len < extra) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL) return GZ_ENOMEM;
    b->data = p;
    b->cap = cap;
    return GZ_OK;
}

int gz_buf_append(gz_buf *b, const void *p, size_t n) {
    if (n == 0) return GZ_OK;
    int rc = gz_buf_reserve(b, n);
    if (rc != GZ_OK) return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return GZ_OK;
}

void gz_hex_encode(char *out, const uint8_t *in, size_t n) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_nibble(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int hex_decode_n(uint8_t *out, const char *hex, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int hi = hex_nibble(hex[2 * i]);
        int lo = hi < 0 ? -1 : hex_nibble(hex[2 * i + 1]);
        if (lo < 0) return GZ_EARG;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return GZ_OK;
}

int gz_hex_decode(uint8_t *out, size_t n, const char *hex) {
    if (hex == NULL || strlen(hex) != 2 * n || hex_decode_n(out, hex, n) != GZ_OK) {
        memset(out, 0, n);
        return GZ_EARG;
    }
    return GZ_OK;
}

int gz_hex_decode_buf(gz_buf *b, const char *hex, size_t hex_len) {
    if (hex_len % 2 != 0) return GZ_EARG;
    size_t n = hex_len / 2;
    int rc = gz_buf_reserve(b, n);
    if (rc != GZ_OK) return rc;
    if (hex_decode_n(b->data + b->len, hex, n) != GZ_OK) return GZ_EARG;
    b->len += n;
    return GZ_OK;
}

bool gz_is_zero32(const uint8_t a[32]) {
    uint8_t acc = 0;
    for (int i = 0; i < 32; i++) acc |= a[i];
    return acc == 0;
}
