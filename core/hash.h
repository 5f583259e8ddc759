/* SHA-256 and BIP-340-style tagged hashes (SPEC §1). */
#ifndef GZ_CORE_HASH_H
#define GZ_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define GZ_TAG_TX "gongzhi/tx"
#define GZ_TAG_BLOCK "gongzhi/block"
#define GZ_TAG_VOTE "gongzhi/vote"
#define GZ_TAG_PROPOSAL "gongzhi/proposal"
#define GZ_TAG_ANCHOR "gongzhi/anchor"
#define GZ_TAG_STATE "gongzhi/state"
#define GZ_TAG_VALSET "gongzhi/valset"

/* out = SHA256(data). */
void core_sha256(uint8_t out[32], const void *data, size_t len);

/* Incremental SHA-256. */
typedef struct core_sha256_ctx {
    uint64_t opaque[16]; /* enough for OpenSSL's SHA256_CTX (112 bytes) */
} core_sha256_ctx;
void core_sha256_init(core_sha256_ctx *ctx);
void core_sha256_update(core_sha256_ctx *ctx, const void *data, size_t len);
void core_sha256_final(core_sha256_ctx *ctx, uint8_t out[32]);

/* out = TH(tag, m) = SHA256(SHA256(tag) ‖ SHA256(tag) ‖ m); tag is NUL-terminated ASCII. */
void core_tagged_hash(uint8_t out[32], const char *tag, const void *m, size_t len);

/* out = SHA256 of the file at path, read in chunks. Returns GZ_OK, or GZ_EIO
 * (out zeroed) if it cannot be opened or read. */
int core_sha256_file(uint8_t out[32], const char *path);

#endif
