/* Admission of txs (SPEC §2) in batches.
 *
 * Txs come in groups: a JSON-RPC batch of submit_tx calls, a gossiped TXS
 * message. A batch is decoded, its duplicates found, its signatures checked
 * together on the sigpool's threads (the expensive part), and then each tx is
 * admitted in order (nonce, mempool). Submissions are queued and admitted on
 * the next turn, so all the calls of one HTTP request form one batch; each
 * gets its verdict through env->admitted when its batch is done. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "node/node_internal.h"

/* The checks before the signature: decoding, not already known. */
static void precheck(node *n, admit_item *it) {
    memset(it->txid, 0, 32);
    it->rc = core_tx_decode(&it->tx, it->bytes, it->len, &it->msg);
    if (it->rc != GZ_OK) return;
    memcpy(it->txid, it->tx.txid, 32);
    uint64_t height;
    uint32_t index;
    if (mempool_has(&n->mp, it->tx.txid))
        it->rc = gz_fail(&it->msg, GZ_EDUP, "tx: already in the mempool");
    else if (!(n->test_faults & NODE_FAULT_ADMIT_COMMITTED) &&
             ledger_tx_location(n->lg, it->tx.txid, &height, &index) == GZ_OK)
        it->rc = gz_fail(&it->msg, GZ_EDUP, "tx: already committed at height %llu", (unsigned long long)height);
}

/* The checks after the signature: nonce not used, room in the mempool. */
static void admit_one(node *n, admit_item *it, bool gossip) {
    uint64_t nonce = 0;
    const gz_tx *tx = &it->tx;
    bool nonce_checked = !(n->test_faults & NODE_FAULT_ADMIT_COMMITTED);
    if (nonce_checked && ledger_account_nonce(n->lg, tx->signer, &nonce) == GZ_OK && tx->nonce < nonce) {
        it->rc = gz_fail(&it->msg, GZ_ENONCE, "body.nonce: %llu is already used, the signer is at %llu",
                         (unsigned long long)tx->nonce, (unsigned long long)nonce);
        return;
    }
    it->rc = mempool_add(&n->mp, tx->txid, tx->signer, tx->nonce, it->bytes, it->len);
    if (it->rc == GZ_EDUP) gz_fail(&it->msg, it->rc, "tx: already in the mempool");
    else if (it->rc == GZ_EMEMPOOL) gz_fail(&it->msg, it->rc, "mempool: full (%zu txs)", mempool_count(&n->mp));
    else if (it->rc != GZ_OK) gz_fail(&it->msg, it->rc, "mempool: %s", gz_strerror(it->rc));
    else if (gossip) node_gossip_tx(n, it->bytes, it->len);
}

void node_on_txs_ready(node *n) {
    uint64_t now = node_mono_ms(n);
    if (mempool_count(&n->mp) > 0 && node_txs_ready_now(n, now)) cons_txs_available(&n->cs, now);
}

void node_on_propose_wait(node *n) {
    if (mempool_count(&n->mp) > 0) cons_txs_available(&n->cs, node_mono_ms(n));
}

bool node_txs_ready_now(node *n, uint64_t now_ms) {
    uint64_t wait = n->propose_wait_ms;
    if (wait == 0 || mempool_count(&n->mp) >= n->g.consensus.block_max_txs) return true;
    uint64_t due = n->last_progress_ms + wait;
    if (now_ms >= due) return true;
    if (!n->timer_armed[NODE_TIMER_PROPOSE_WAIT]) node_timer_start(n, NODE_TIMER_PROPOSE_WAIT, due - now_ms);
    return false;
}

/* The verdict of the signature check, in words naming the field. */
static void sig_verdict(node *n, admit_item *it, int rc, bool gossip) {
    if (rc == GZ_ECHAIN) it->rc = gz_fail(&it->msg, rc, "body.chain_id: '%s' is not this chain", it->tx.chain_id);
    else if (rc != GZ_OK && !(n->test_faults & NODE_FAULT_ADMIT_NO_SIG))
        it->rc = gz_fail(&it->msg, rc, "sig: not a valid signature by body.signer");
    else admit_one(n, it, gossip);
}

void node_admit_batch(node *n, admit_item *items, size_t k, bool gossip) {
    assert(k <= GZ_ADMIT_BATCH_MAX);
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        gz_msg_clear(&items[i].msg);
        precheck(n, &items[i]);
        if (items[i].rc == GZ_OK) {
            n->scratch_ptrs[m] = &items[i].tx;
            n->scratch_idx[m++] = i;
        }
    }
    sigpool_check(&n->pool, n->scratch_ptrs, m, n->g.chain_id, n->scratch_rcs);
    bool any = false;
    for (size_t j = 0; j < m; j++) {
        assert(n->scratch_idx[j] < k);
        admit_item *it = &items[n->scratch_idx[j]];
        sig_verdict(n, it, n->scratch_rcs[j], gossip);
        any |= it->rc == GZ_OK;
    }
    /* Tell consensus on the next turn, not now: a single validator would
     * otherwise commit a tx before its caller has registered to wait for it. */
    if (any && !n->timer_armed[NODE_TIMER_TXS_READY]) node_timer_start(n, NODE_TIMER_TXS_READY, 0);
}

/* ---- queued submissions --------------------------------------------------- */

int node_submit(node *n, gz_buf *bytes, void *tag) {
    if (n->n_queued == GZ_ADMIT_BATCH_MAX) node_admit_flush(n);
    admit_queued *q = &n->queued[n->n_queued++];
    q->bytes = *bytes; /* the queue owns the buffer now */
    gz_buf_init(bytes);
    q->tag = tag;
    if (!n->timer_armed[NODE_TIMER_ADMIT]) node_timer_start(n, NODE_TIMER_ADMIT, 0);
    return GZ_OK;
}

void node_admit_flush(node *n) {
    admit_item *items = n->scratch_items;
    size_t k = n->n_queued;
    for (size_t i = 0; i < k; i++) {
        items[i].bytes = n->queued[i].bytes.data;
        items[i].len = n->queued[i].bytes.len;
    }
    node_admit_batch(n, items, k, true);
    /* The queue is empty again before the verdicts go out. */
    n->n_queued = 0;
    for (size_t i = 0; i < k; i++) {
        admit_queued *q = &n->queued[i];
        node_admission a = {.rc = items[i].rc, .have_txid = !gz_is_zero32(items[i].txid), .msg = &items[i].msg};
        memcpy(a.txid, items[i].txid, 32);
        n->env.admitted(n->env.ctx, q->tag, &a);
        gz_buf_free(&q->bytes);
    }
}

void node_admit_free(node *n) {
    for (size_t i = 0; i < n->n_queued; i++) gz_buf_free(&n->queued[i].bytes);
    n->n_queued = 0;
}
