/* SHA-256 through OpenSSL's low-level interface. The EVP interface would need a
 * heap-allocated context per hash; the low-level SHA256_CTX fits in the
 * caller-owned core_sha256_ctx, so hashing never allocates and never fails. */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "core/hash.h"

#include "core/err.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

_Static_assert(sizeof(SHA256_CTX) <= sizeof(core_sha256_ctx), "core_sha256_ctx too small");
_Static_assert(_Alignof(SHA256_CTX) <= _Alignof(core_sha256_ctx), "core_sha256_ctx misaligned");

void core_sha256(uint8_t out[32], const void *data, size_t len) {
    assert(data != NULL || len == 0);
    SHA256(len ? data : (const void *)"", len, out);
}

void core_sha256_init(core_sha256_ctx *ctx) {
    int ok = SHA256_Init((SHA256_CTX *)ctx);
    assert(ok == 1);
    (void)ok;
}

void core_sha256_update(core_sha256_ctx *ctx, const void *data, size_t len) {
    assert(data != NULL || len == 0);
    if (len == 0) return;
    int ok = SHA256_Update((SHA256_CTX *)ctx, data, len);
    assert(ok == 1);
    (void)ok;
}

void core_sha256_final(core_sha256_ctx *ctx, uint8_t out[32]) {
    int ok = SHA256_Final(out, (SHA256_CTX *)ctx);
    assert(ok == 1);
    (void)ok;
    memset(ctx, 0, sizeof *ctx);
}

void core_tagged_hash(uint8_t out[32], const char *tag, const void *m, size_t len) {
    assert(tag != NULL);
    uint8_t tag_hash[32];
    core_sha256(tag_hash, tag, strlen(tag));
    core_sha256_ctx ctx;
    core_sha256_init(&ctx);
    core_sha256_update(&ctx, tag_hash, sizeof tag_hash);
    core_sha256_update(&ctx, tag_hash, sizeof tag_hash);
    core_sha256_update(&ctx, m, len);
    core_sha256_final(&ctx, out);
}

int core_sha256_file(uint8_t out[32], const char *path) {
    memset(out, 0, 32);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return GZ_EIO;
    core_sha256_ctx ctx;
    core_sha256_init(&ctx);
    uint8_t buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) core_sha256_update(&ctx, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) return GZ_EIO;
    core_sha256_final(&ctx, out);
    return GZ_OK;
}
