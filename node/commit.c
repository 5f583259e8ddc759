/* Committing a block: the one consensus decided, or one fetched by sync with
 * its commit. Either way the block is validated, written in one synced batch
 * (chain_commit), its txs leave the mempool, the host hears of it, peers get
 * the new height, and the next height starts on the next turn.
 *
 * A write that fails (a full disk, an I/O error) is not fatal: the decided
 * block and its commit are kept, the node signs nothing, the next height does
 * not start, and NODE_TIMER_STORAGE_RETRY writes the batch again until it
 * goes through (node_storage_retry). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "node/node_internal.h"

static void after_commit(node *n, const chain_block *b) {
    n->decided = true; /* until the next height starts: messages of it are kept */
    for (size_t i = 0; i < b->n_txs; i++) (void)mempool_remove(&n->mp, b->txs[i].txid);
    node_mempool_recheck(n, b);
    if (n->env.committed != NULL) n->env.committed(n->env.ctx, b);
    n->last_progress_ms = node_mono_ms(n);
    if (b->n_txs > 0 || b->header.height % 100 == 0)
        node_log(n, "committed block %llu with %zu txs (mempool %zu)", (unsigned long long)b->header.height,
                 b->n_txs, mempool_count(&n->mp));
    if (n->syncing && n->ch.height >= n->sync_target) {
        n->syncing = false;
        node_log(n, "sync: caught up at height %llu (%llu blocks in %llu ms)", (unsigned long long)n->ch.height,
                 (unsigned long long)(n->ch.height - n->sync_from),
                 (unsigned long long)(n->last_progress_ms - n->sync_start_ms));
    }
    node_gossip_status(n);
    node_timer_start(n, NODE_TIMER_NEXT_HEIGHT, 0);
}

/* The store's own reason (it names its path), else the caller's. */
static const char *store_detail(const node *n, const char *why) {
    const char *e = store_errmsg(n->st);
    return e[0] != '\0' ? e : why;
}

/* While the WAL or the sign state fails, nothing is committed either: the
 * disk they are on is the store's in a normal setup, and a node that keeps
 * writing blocks into its last free bytes ends in a store error mid-flush.
 * A failed store alone does not block: a commit is what tells it healed. */
static bool commits_blocked(const node *n) { return (n->halted & ~(unsigned)NODE_HALT_STORE) != 0; }

/* A decided block not written yet: kept for node_storage_retry. The height
 * counts as decided, so its messages are no longer taken, and the next one
 * does not start until the commit is durable. */
static void commit_keep(node *n, const uint8_t id[32], const gz_commit *cm) {
    n->decided = true;
    n->commit_pending = true;
    memcpy(n->pending_id, id, 32);
    if (cm != &n->pending_commit) n->pending_commit = *cm;
    if (!n->timer_armed[NODE_TIMER_STORAGE_RETRY]) node_timer_start(n, NODE_TIMER_STORAGE_RETRY, NODE_STORAGE_RETRY_MS);
}

/* A commit went through: the store takes writes again. */
static void commit_resumed(node *n) {
    n->commit_pending = false;
    n->halted &= ~(unsigned)NODE_HALT_STORE;
}

void node_keep_candidates(node *n) {
    uint8_t ids[CHAIN_KEEP_MAX][32];
    size_t k = 0;
    cons_state st;
    cons_state_get(&n->cs, &st);
    /* A decided block waiting for its commit to be written comes first. */
    if (n->commit_pending) memcpy(ids[k++], n->pending_id, 32);
    if (st.has_locked_value) memcpy(ids[k++], st.locked_value, 32);
    if (st.has_valid_value && k < CHAIN_KEEP_MAX) memcpy(ids[k++], st.valid_value, 32);
    if (n->has_prop_id && k < CHAIN_KEEP_MAX) memcpy(ids[k++], n->prop_id, 32);
    chain_keep(&n->ch, (const uint8_t (*)[32])ids, k);
}

void node_commit_decided(node *n, uint64_t height, uint64_t round, const uint8_t id[32],
                         const cons_vote *pcs, size_t np) {
    if (height <= n->ch.height) return; /* block sync got there first */
    chain_block *b = chain_find(&n->ch, id);
    if (b == NULL) {
        /* A flood of other candidates (an equivocating proposer's blocks) can
         * push the decided one out of the bounded candidate set. The peers
         * that committed it serve it with its commit: block sync fetches it. */
        node_log(n, "decided block %llu is no longer held; fetching it from peers", (unsigned long long)height);
        return;
    }
    assert(b->header.height == height);
    assert(np <= GZ_VALIDATORS_MAX);
    gz_commit *cm = &n->scratch_commit;
    memset(cm, 0, sizeof *cm);
    cm->height = height;
    cm->round = round;
    memcpy(cm->block_id, id, 32);
    cm->n_sigs = (uint32_t)np;
    for (size_t i = 0; i < np; i++) {
        cm->sigs[i].validator_index = pcs[i].validator;
        cm->sigs[i].time = pcs[i].time;
        memcpy(cm->sigs[i].sig, pcs[i].sig, 64);
    }
    gz_msg msg = {{0}};
    if (!chain_validate(&n->ch, b, CHAIN_CLOCK_ANY)) {
        /* Consensus decided a block this node cannot execute: continuing would
         * fork its state from the network's, so stop loudly. */
        node_log(n, "FATAL: cannot commit decided block %llu: %s", (unsigned long long)height, b->reason);
        abort();
    }
    if (commits_blocked(n)) {
        commit_keep(n, id, cm);
        return;
    }
    int rc = chain_commit(&n->ch, b, cm, &msg);
    if (rc != GZ_OK) {
        commit_keep(n, id, cm);
        node_storage_failed(n, NODE_HALT_STORE, rc, NULL, store_detail(n, msg.text));
        return;
    }
    assert(n->ch.height == height);
    commit_resumed(n);
    after_commit(n, b);
}

int node_commit_synced(node *n, const uint8_t *block, size_t block_len, const uint8_t *commit,
                       size_t commit_len, gz_msg *msg) {
    gz_commit *cm = &n->scratch_commit;
    int rc = core_commit_decode(cm, commit, commit_len, msg);
    if (rc != GZ_OK) return rc;
    if (cm->height != n->ch.height + 1)
        return gz_fail(msg, GZ_EARG, "commit.height: %llu, expected %llu", (unsigned long long)cm->height,
                       (unsigned long long)(n->ch.height + 1));
    /* The commit's signatures first: a block enters the candidates only with
     * the id more than 2/3 of the power signed. */
    /* The set of this height (the one after the committed): a commit of a
     * height whose set a block changed is checked by that new set. */
    rc = core_commit_verify(cm, n->g.chain_id, cm->block_id, cm->height, node_valset(n)->v, node_valset(n)->n, msg);
    if (rc != GZ_OK) return rc;
    chain_block *b = NULL;
    node_keep_candidates(n);
    rc = chain_add_block(&n->ch, &n->mp, block, block_len, cm->block_id, &b, msg);
    if (rc != GZ_OK) return rc;
    if (!chain_validate(&n->ch, b, CHAIN_CLOCK_ANY)) {
        node_log(n, "FATAL: block %llu has a valid commit but this node computes otherwise: %s",
                 (unsigned long long)b->header.height, b->reason);
        abort();
    }
    if (commits_blocked(n)) return gz_fail(msg, GZ_ESTATE, "commit: paused while the WAL or sign state fails");
    rc = chain_commit(&n->ch, b, cm, msg);
    if (rc != GZ_OK) {
        node_storage_failed(n, NODE_HALT_STORE, rc, NULL, store_detail(n, msg->text));
        return rc;
    }
    commit_resumed(n);
    after_commit(n, b);
    return GZ_OK;
}

/* Writes the pending commit again. Without one (block sync got there, or the
 * block was pushed out of the candidates and sync fetches it), the store
 * stays marked failed until a synced commit goes through. */
static void retry_commit(node *n) {
    if (!n->commit_pending) return;
    if (n->pending_commit.height <= n->ch.height) {
        commit_resumed(n);
        return;
    }
    chain_block *b = chain_find(&n->ch, n->pending_id);
    if (b == NULL) {
        node_log(n, "decided block %llu is no longer held; fetching it from peers",
                 (unsigned long long)n->pending_commit.height);
        n->commit_pending = false;
        return;
    }
    gz_msg msg = {{0}};
    if (chain_commit(&n->ch, b, &n->pending_commit, &msg) != GZ_OK) return;
    commit_resumed(n);
    node_log(n, "storage: the commit of block %llu is written", (unsigned long long)b->header.height);
    after_commit(n, b);
}

bool node_storage_retry(node *n) {
    /* The WAL and the sign state first: while either fails, commits wait. */
    if ((n->halted & NODE_HALT_WAL) && node_wal_recover(n)) n->halted &= ~(unsigned)NODE_HALT_WAL;
    if ((n->halted & NODE_HALT_SIGNSTATE) && node_signstate_heal(&n->ss) == GZ_OK)
        n->halted &= ~(unsigned)NODE_HALT_SIGNSTATE;
    if (!commits_blocked(n)) retry_commit(n);
    if (n->halted != 0 || n->commit_pending) {
        node_timer_start(n, NODE_TIMER_STORAGE_RETRY, NODE_STORAGE_RETRY_MS);
        return false;
    }
    n->halt_disk_full = false;
    node_log(n, "storage: writes work again; signing resumes");
    return !n->decided;
}
