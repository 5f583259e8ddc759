/* The key layout of the store (docs/storage.md has the full table).
 *
 * Every key starts with a one-byte prefix naming its family; integers inside
 * keys are big-endian, so byte order equals numeric order and a prefix scan
 * visits heights and log indexes in increasing order.
 *
 *   'B' height u64            -> block bytes (canonical msgpack)
 *   'C' height u64            -> commit bytes of that block
 *   'M' name (ASCII)          -> node metadata (e.g. "height" as u64 BE)
 *   'S' ledger key            -> ledger state; the ledger owns these contents
 *   'L' index u64             -> provenance-log leaf (AnchorLeaf bytes)
 *   'I' index key             -> secondary indexes; their owner defines the rest
 *
 * Typed wrappers add to a batch (puts) or read from the store (gets); the
 * node commits a block's whole batch with one synced store_write. */
#ifndef GZ_STORAGE_KEYS_H
#define GZ_STORAGE_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/err.h"
#include "storage/store.h"

enum {
    STORE_PFX_BLOCK = 'B',
    STORE_PFX_COMMIT = 'C',
    STORE_PFX_META = 'M',
    STORE_PFX_STATE = 'S',
    STORE_PFX_LOG = 'L',
    STORE_PFX_INDEX = 'I',
};

/* The longest key a builder makes: prefix byte plus 511 bytes of body. Ledger
 * and index keys are built by our own code from bounded ids, far below this. */
#define STORE_KEY_BYTES_MAX 512
/* Metadata names are short ASCII words. */
#define STORE_META_NAME_MAX 64

/* Metadata names the node uses. */
#define STORE_META_HEIGHT "height"             /* u64: last committed height */
#define STORE_META_LAST_BLOCK_ID "last_block"  /* 32 bytes: block id at that height */
#define STORE_META_LOG_SIZE "log_size"         /* u64: provenance-log leaves stored */
#define STORE_META_GENESIS_HASH "genesis_hash" /* 32 bytes: SHA-256 of genesis.json */

/* A built key; caller-owned, no allocation. */
typedef struct store_key {
    size_t len;
    uint8_t bytes[STORE_KEY_BYTES_MAX];
} store_key;

void store_key_block(store_key *k, uint64_t height);
void store_key_commit(store_key *k, uint64_t height);
void store_key_log(store_key *k, uint64_t index);
/* Returns GZ_OK, or GZ_EMISUSE (k->len = 0) for a NULL, empty or over-long name. */
GZ_WUR int store_key_meta(store_key *k, const char *name);
/* Ledger state key lk (lk_len >= 1). Returns GZ_OK or GZ_EMISUSE (k->len = 0). */
GZ_WUR int store_key_state(store_key *k, const uint8_t *lk, size_t lk_len);
/* Secondary index key ik (ik_len >= 1). Returns GZ_OK or GZ_EMISUSE (k->len = 0). */
GZ_WUR int store_key_index(store_key *k, const uint8_t *ik, size_t ik_len);

/* The height or log index held in a 'B', 'C' or 'L' key, e.g. inside a scan.
 * Returns GZ_OK, or GZ_ECORRUPT (*out = 0) if key is not of that family. */
GZ_WUR int store_key_height(uint64_t *out, int prefix, const uint8_t *key, size_t key_len);

/* Blocks and commits by height. Gets return GZ_OK, GZ_ENOTFOUND, GZ_ENOMEM,
 * GZ_ESTORAGE, or GZ_ECORRUPT for a stored value over GZ_BLOCK_BYTES_MAX (out
 * emptied on failure). Puts return GZ_OK, GZ_EMISUSE (over GZ_BLOCK_BYTES_MAX) or
 * GZ_ENOMEM. */
GZ_WUR int store_block_put(store_batch *b, uint64_t height, const uint8_t *bytes, size_t len);
GZ_WUR int store_block_get(store *s, uint64_t height, gz_buf *out);
GZ_WUR int store_commit_put(store_batch *b, uint64_t height, const uint8_t *bytes, size_t len);
GZ_WUR int store_commit_get(store *s, uint64_t height, gz_buf *out);

/* Metadata as a u64 (8 bytes BE) or as raw bytes. */
GZ_WUR int store_meta_put_u64(store_batch *b, const char *name, uint64_t v);
/* Returns GZ_OK, GZ_ENOTFOUND, GZ_EMISUSE, GZ_ESTORAGE, GZ_ENOMEM or GZ_ECORRUPT
 * (not 8 bytes); *v zeroed on failure. */
GZ_WUR int store_meta_get_u64(store *s, const char *name, uint64_t *v);
GZ_WUR int store_meta_put(store_batch *b, const char *name, const uint8_t *val, size_t len);
GZ_WUR int store_meta_get(store *s, const char *name, gz_buf *out);

/* Provenance-log leaves by index (0-based, append order); a leaf is at most
 * GZ_TX_BYTES_MAX (a put of more is GZ_EMISUSE, a stored one GZ_ECORRUPT). */
GZ_WUR int store_log_put(store_batch *b, uint64_t index, const uint8_t *leaf, size_t len);
GZ_WUR int store_log_get(store *s, uint64_t index, gz_buf *out);

/* Ledger state under 'S'; lk is the ledger's key without the prefix. */
GZ_WUR int store_state_put(store_batch *b, const uint8_t *lk, size_t lk_len, const uint8_t *val,
                           size_t val_len);
GZ_WUR int store_state_del(store_batch *b, const uint8_t *lk, size_t lk_len);
GZ_WUR int store_state_get(store *s, const uint8_t *lk, size_t lk_len, gz_buf *out);
/* Scans ledger keys starting with sub (may be empty) from the first >= start
 * (NULL for the beginning); cb sees ledger keys without the 'S' prefix.
 * Returns as store_scan, or GZ_EMISUSE for a NULL cb or an over-long sub or start. */
GZ_WUR int store_state_scan(store *s, const uint8_t *sub, size_t sub_len, const uint8_t *start,
                            size_t start_len, store_iter_cb cb, void *data);

#endif
