/* The mempool: txs that passed the stateless checks (SPEC §2), waiting for a
 * block. Bounded in count and bytes (core/limits.h); kept in arrival order;
 * indexed by txid so a proposed block's txs that are already here need no
 * second signature check ("check each signature once per node"). */
#ifndef GZ_NODE_MEMPOOL_H
#define GZ_NODE_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct mempool_entry {
    uint8_t txid[32];
    uint8_t signer[32];
    uint64_t nonce;
    uint8_t *bytes;
    uint32_t len;
    uint64_t seq;   /* arrival order */
    bool live;      /* false once removed (slot kept until compaction) */
} mempool_entry;

typedef struct mempool {
    mempool_entry *order; /* arrival order; removed entries compacted lazily */
    size_t order_len, order_cap, order_head;
    uint32_t *index;      /* open-addressing txid -> position in order, UINT32_MAX empty */
    size_t index_cap;
    size_t count;
    size_t bytes;
    size_t txs_max;
    size_t bytes_max;
    uint64_t next_seq;
} mempool;

/* Initialises an empty pool bounded by txs_max and bytes_max. GZ_OK/GZ_ENOMEM. */
GZ_WUR int mempool_init(mempool *m, size_t txs_max, size_t bytes_max);
void mempool_free(mempool *m);

/* Adds a copy of bytes. Returns GZ_OK, GZ_EDUP if txid is present, GZ_EMEMPOOL
 * if full (in count or bytes), GZ_ENOMEM. */
GZ_WUR int mempool_add(mempool *m, const uint8_t txid[32], const uint8_t signer[32], uint64_t nonce,
                       const uint8_t *bytes, size_t len);
bool mempool_has(const mempool *m, const uint8_t txid[32]);
/* True if the pool holds exactly these Tx bytes (same txid and same
 * signature): only then may a block's copy skip its signature check. */
bool mempool_has_bytes(const mempool *m, const uint8_t txid[32], const uint8_t *bytes, size_t len);
/* Removes txid if present; returns true if it was. */
bool mempool_remove(mempool *m, const uint8_t txid[32]);
size_t mempool_count(const mempool *m);
size_t mempool_bytes(const mempool *m);

/* Iterates live entries in arrival order; cb returns false to stop. */
typedef bool (*mempool_iter_cb)(const mempool_entry *e, void *data);
void mempool_each(const mempool *m, mempool_iter_cb cb, void *data);

#endif
