/* The chain: blocks as the node builds, checks, executes and commits them.
 *
 * Block wire bytes (internal, docs/p2p.md): canonical msgpack
 *   Block = [ header bin (Header bytes, SPEC §4), txs array of bin (Tx bytes) ]
 *
 * A chain_block is one candidate for the next height: decoded, its txs checked
 * statelessly, and (once validated) executed speculatively by the ledger. The
 * chain keeps a bounded set of candidates for the current height, indexed by
 * block id, which consensus refers to. Committing one writes block, commit, tx
 * locations and the ledger's writes in one synced batch. */
#ifndef GZ_NODE_CHAIN_H
#define GZ_NODE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/codec.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "node/mempool.h"
#include "node/sigpool.h"
#include "storage/store.h"


enum { CHAIN_UNCHECKED = 0, CHAIN_VALID = 1, CHAIN_INVALID = 2 };

/* Candidates that chain_keep can protect from eviction. A full set evicts
 * the oldest of the others, so there must always be another. */
#define CHAIN_KEEP_MAX 3
_Static_assert(CHAIN_KEEP_MAX < GZ_BLOCK_CANDIDATES_MAX, "a full candidate set has a block to evict");

typedef struct chain_block {
    uint8_t block_id[32];
    gz_header header;
    gz_buf bytes;          /* Block wire bytes */
    size_t header_off, header_len;
    size_t n_txs;
    gz_tx *txs;            /* decoded txs */
    const gz_tx **tx_ptrs; /* for ledger_exec_block */
    size_t *tx_off;        /* offset of each Tx in bytes */
    uint32_t *tx_len;
    uint8_t *tx_pooled;    /* 1: byte-identical to a mempool tx (admission checked it) */
    ledger_block *exec;    /* set once executed */
    int validity;
    char reason[200];      /* why it is invalid */
} chain_block;

typedef struct chain {
    store *st;
    ledger *lg;
    const gz_genesis *g;
    uint64_t height;          /* last committed height */
    uint64_t time;            /* its block time (genesis_time at 0) */
    uint8_t last_block_id[32];
    chain_block *cand[GZ_BLOCK_CANDIDATES_MAX];
    size_t n_cand;
    sigpool *pool;            /* signature checks of received blocks; NULL = inline */
    /* Candidates never evicted (chain_keep): the locked, the valid and the
     * last proposed block of consensus. */
    uint8_t keep[CHAIN_KEEP_MAX][32];
    size_t n_keep;
    unsigned test_faults;     /* CHAIN_TEST_*; 0 outside tests */
} chain;

/* Test toggles, set by the engine's NODE_FAULT_* (node/node.h). */
enum {
    CHAIN_TEST_ALLOW_COMMITTED = 1u << 0, /* received blocks may carry committed txs */
    CHAIN_TEST_BUILD_ANY_NONCE = 1u << 1  /* built blocks take txs whatever their nonce */
};

/* Opens the chain over a store and ledger already opened from genesis g. */
GZ_WUR int chain_open(chain *c, store *st, ledger *lg, const gz_genesis *g, gz_msg *msg);
void chain_close(chain *c);

/* Builds and executes a block for height+1 from the mempool (txs in arrival
 * order, each signer's nonces in sequence, up to the genesis limits), with
 * time max(now_ms, last time + 1). The block becomes a candidate. */
GZ_WUR int chain_build(chain *c, const mempool *mp, uint64_t now_ms, const uint8_t proposer[32],
                       chain_block **out);

/* Decodes Block bytes for height+1 and runs the stateless checks on header
 * and txs (a tx already in mp skips its signature check: it passed it there).
 * want_id is the block id a verified signature stands for (the proposal's,
 * or the commit's): bytes whose header hashes to another id are refused
 * before anything is kept. On success the block becomes a candidate (or the
 * existing candidate with the same id is returned). GZ_EENCODING/GZ_ESIG/...
 * with msg on a bad block. */
GZ_WUR int chain_add_block(chain *c, const mempool *mp, const uint8_t *bytes, size_t len, const uint8_t want_id[32],
                           chain_block **out, gz_msg *msg);

/* Sets the candidates a full set must not evict (at most CHAIN_KEEP_MAX):
 * those consensus is locked on, holds as valid, or votes on. Others that
 * flood in (an equivocating proposer's blocks) evict each other. */
void chain_keep(chain *c, const uint8_t (*ids)[32], size_t n);

/* The candidate with this id, or NULL. */
chain_block *chain_find(chain *c, const uint8_t block_id[32]);

/* Validates a candidate against the chain and the local clock (SPEC §4), executing
 * it; caches the verdict. Returns true if valid. */
/* The now_ms for a block that more than 2/3 of the power committed: it is
 * checked against its predecessor, never against this node's clock, which
 * may be off (a stepped system clock must not stop a node from committing). */
#define CHAIN_CLOCK_ANY (UINT64_MAX / 2)
bool chain_validate(chain *c, chain_block *b, uint64_t now_ms);

/* Commits candidate b with commit cm: one synced batch. The candidates stay
 * (b's txs are still needed) until chain_clear. */
GZ_WUR int chain_commit(chain *c, chain_block *b, const gz_commit *cm, gz_msg *msg);
/* Drops every candidate (after a commit, before the next height). */
void chain_clear(chain *c);

/* Reads a committed block's bytes / commit bytes. */
GZ_WUR int chain_block_bytes(chain *c, uint64_t height, gz_buf *out);
GZ_WUR int chain_commit_bytes(chain *c, uint64_t height, gz_buf *out);
/* A committed block read back from the store: its header and its txs'
 * bytes (pointing into bytes) and txids. */
typedef struct chain_stored {
    gz_buf bytes;
    gz_header header;
    const uint8_t *hdr;
    size_t hdr_len;
    size_t n_txs;
    const uint8_t **tx;
    size_t *tx_len;
    uint8_t (*txids)[32];
} chain_stored;

/* Loads block height. GZ_OK, GZ_ENOTFOUND, GZ_ECORRUPT, GZ_ENOMEM, GZ_ESTORAGE. */
GZ_WUR int chain_stored_load(chain *c, uint64_t height, chain_stored *out);
void chain_stored_free(chain_stored *s);

void chain_block_free(chain_block *b);

#endif
