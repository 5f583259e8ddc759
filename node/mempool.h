/* The mempool: txs that passed admission (SPEC §2's stateless checks, and the
 * node's signer, nonce-window and cap checks in node/admit.c), waiting for a
 * block. Bounded in count and bytes (core/limits.h), and per signer and per
 * peer, so that no one signer or peer can fill it; kept in arrival order;
 * indexed by txid so a proposed block's txs that are already here need no
 * second signature check ("check each signature once per node").
 *
 * Each signer with pending txs has a record holding its committed next nonce
 * as last learnt (at admission, and from mempool_recheck after each commit).
 * A signer is "ready" when a pending tx of it carries exactly that nonce: only
 * such txs can go into the next block, so only they count as txs available
 * for the empty-block wait (mempool_ready). Txs that can no longer execute
 * (their nonce used) leave at the recheck; every tx leaves after a TTL. */
#ifndef GZ_NODE_MEMPOOL_H
#define GZ_NODE_MEMPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h"

/* The source of a tx submitted by a local client over JSON-RPC; peers are
 * named by their id (>= 0). */
#define MEMPOOL_LOCAL (-1)

typedef struct mempool_entry {
    uint8_t txid[32];
    uint8_t signer[32];
    uint64_t nonce;
    uint64_t admitted_ms; /* monotonic time of admission, for the TTL */
    uint8_t *bytes;
    uint32_t len;
    uint8_t source;       /* slot in mempool.sources; 0 is the local clients */
    uint64_t seq;         /* arrival order */
    bool live;            /* false once removed (slot kept until compaction) */
} mempool_entry;

typedef struct mempool_signer {
    uint8_t signer[32];
    uint64_t next;      /* the signer's committed next nonce, as last learnt */
    uint32_t n_txs;     /* pending txs */
    uint32_t n_at_next; /* of them, with nonce == next */
    size_t bytes;
    bool used;
    bool dirty;         /* next changed: counts are being redone */
    bool gone;          /* the ledger no longer knows the signer */
} mempool_signer;

typedef struct mempool_source {
    int peer;
    bool used;
    size_t txs, bytes;
} mempool_source;

/* What left the pool without being committed, and what was refused for a cap;
 * for the node's status (and metrics later). */
typedef struct mempool_stats {
    uint64_t evicted_stale;   /* nonce used, or signer gone (mempool_recheck) */
    uint64_t evicted_expired; /* older than the TTL (mempool_expire) */
    uint64_t refused_full;    /* the pool's count or bytes bound */
    uint64_t refused_signer;  /* the per-signer cap */
    uint64_t refused_peer;    /* the per-peer cap */
} mempool_stats;

typedef struct mempool {
    mempool_entry *order; /* arrival order; removed entries compacted lazily */
    size_t order_len, order_cap, order_head;
    uint32_t *index;      /* open-addressing txid -> position in order, UINT32_MAX empty */
    size_t index_cap;
    size_t count;
    size_t bytes;
    size_t txs_max;
    size_t bytes_max;
    /* Caps; mempool_init sets them from core/limits.h (bounded by the pool's). */
    size_t signer_txs_max, signer_bytes_max;
    size_t peer_txs_max, peer_bytes_max;
    mempool_signer *signers; /* open addressing by signer, linear probing */
    size_t signers_cap, n_signers;
    mempool_source sources[GZ_MEMPOOL_SOURCES_MAX];
    size_t ready_signers; /* signers with a tx at their next nonce */
    size_t ready_txs;     /* pending txs of those signers */
    mempool_stats stats;
    uint64_t next_seq;
} mempool;

/* What mempool_add needs to know of a tx besides its bytes. */
typedef struct mempool_tx {
    uint8_t txid[32];
    uint8_t signer[32];
    uint64_t nonce;
    uint64_t next;   /* the signer's committed next nonce (nonce >= next) */
    int peer;        /* MEMPOOL_LOCAL or the id of the peer that sent it */
    uint64_t now_ms; /* monotonic, never less than at the previous add */
} mempool_tx;

/* Initialises an empty pool bounded by txs_max and bytes_max. GZ_OK/GZ_ENOMEM. */
GZ_WUR int mempool_init(mempool *m, size_t txs_max, size_t bytes_max);
void mempool_free(mempool *m);

/* Adds a copy of bytes. Returns GZ_OK, GZ_EDUP if txid is present, GZ_EMEMPOOL
 * if the pool, the signer's share or the peer's share is full (msg says
 * which), GZ_ENOMEM. */
GZ_WUR int mempool_add(mempool *m, const mempool_tx *t, const uint8_t *bytes, size_t len, gz_msg *msg);
bool mempool_has(const mempool *m, const uint8_t txid[32]);
/* True if the pool holds exactly these Tx bytes (same txid and same
 * signature): only then may a block's copy skip its signature check. */
bool mempool_has_bytes(const mempool *m, const uint8_t txid[32], const uint8_t *bytes, size_t len);
/* Removes txid if present; returns true if it was. */
bool mempool_remove(mempool *m, const uint8_t txid[32]);
size_t mempool_count(const mempool *m);
size_t mempool_bytes(const mempool *m);
/* Signers with a tx that can go into the next block, and their pending txs
 * (an upper bound on how many the next block can take). */
size_t mempool_ready(const mempool *m);
size_t mempool_ready_txs(const mempool *m);
/* The record of a signer with pending txs, or NULL. */
const mempool_signer *mempool_signer_get(const mempool *m, const uint8_t signer[32]);

/* The signer's committed next nonce: GZ_OK, GZ_ENOTFOUND (not an account),
 * or another error (then nothing is evicted for that signer). */
typedef int (*mempool_nonce_fn)(void *ctx, const uint8_t signer[32], uint64_t *next);
/* After a commit: asks next_nonce about each of these signers (those of the
 * committed block's txs: only their nonces changed) that has txs here, and
 * evicts their txs that can no longer execute (a used nonce, a signer gone).
 * Costs one pass over the pool when a nonce changed. Returns the evictions. */
size_t mempool_recheck(mempool *m, const uint8_t (*signers)[32], size_t n, mempool_nonce_fn next_nonce,
                       void *ctx);
/* Evicts the txs admitted at or before now_ms - ttl_ms (oldest first, so it
 * costs only what it evicts). Returns the evictions. */
size_t mempool_expire(mempool *m, uint64_t now_ms, uint64_t ttl_ms);

/* Iterates live entries in arrival order; cb returns false to stop. */
typedef bool (*mempool_iter_cb)(const mempool_entry *e, void *data);
void mempool_each(const mempool *m, mempool_iter_cb cb, void *data);

#endif
