/* Committing a block: the one consensus decided, or one fetched by sync with
 * its commit. Either way the block is validated, written in one synced batch
 * (chain_commit), its txs leave the mempool, the host hears of it, peers get
 * the new height, and the next height starts on the next turn. */
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

void node_keep_candidates(node *n) {
    uint8_t ids[CHAIN_KEEP_MAX][32];
    size_t k = 0;
    cons_state st;
    cons_state_get(&n->cs, &st);
    if (st.has_locked_value) memcpy(ids[k++], st.locked_value, 32);
    if (st.has_valid_value) memcpy(ids[k++], st.valid_value, 32);
    if (n->has_prop_id) memcpy(ids[k++], n->prop_id, 32);
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
    if (!chain_validate(&n->ch, b, CHAIN_CLOCK_ANY) || chain_commit(&n->ch, b, cm, &msg) != GZ_OK) {
        /* Consensus decided a block this node cannot store: continuing would
         * fork its state from the network's, so stop loudly. */
        node_log(n, "FATAL: cannot commit decided block %llu: %s %s", (unsigned long long)height, b->reason,
                 msg.text);
        abort();
    }
    assert(n->ch.height == height);
    after_commit(n, b);
}

int node_commit_synced(node *n, const uint8_t *block, size_t block_len, const uint8_t *commit,
                       size_t commit_len, gz_msg *msg) {
    gz_commit *cm = &n->scratch_commit;
    int rc = core_commit_decode(cm, commit, commit_len, msg);
    if (rc != GZ_OK) return rc;
    chain_block *b = NULL;
    node_keep_candidates(n);
    rc = chain_add_block(&n->ch, &n->mp, block, block_len, &b, msg);
    if (rc != GZ_OK) return rc;
    rc = core_commit_verify(cm, n->g.chain_id, b->block_id, b->header.height, n->g.validators,
                            n->g.n_validators, msg);
    if (rc != GZ_OK) return rc;
    if (!chain_validate(&n->ch, b, CHAIN_CLOCK_ANY)) {
        node_log(n, "FATAL: block %llu has a valid commit but this node computes otherwise: %s",
                 (unsigned long long)b->header.height, b->reason);
        abort();
    }
    rc = chain_commit(&n->ch, b, cm, msg);
    if (rc != GZ_OK) return rc;
    after_commit(n, b);
    return GZ_OK;
}
