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
#include <stdlib.h>
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

/* The signer's account and nonce: every tx type needs a registered signer
 * (docs/ledger.md: the ledger refuses an unknown one with code 5 without
 * touching any nonce, ACCOUNT_SET included, whose registrars genesis
 * registers), and a nonce in the window above the committed one, so that
 * what enters the mempool can execute once the txs before it do. A Byzantine
 * test proposer (NODE_FAULT_ADMIT_COMMITTED) checks neither. */
static int signer_check(node *n, const gz_tx *tx, uint64_t *next, gz_msg *msg) {
    int rc = ledger_account_nonce(n->lg, tx->signer, next);
    if (n->test_faults & NODE_FAULT_ADMIT_COMMITTED) return GZ_OK;
    if (rc == GZ_ENOTFOUND)
        return gz_fail(msg, GZ_EROLE, "body.signer: not a registered account (the registrar registers accounts "
                       "with ACCOUNT_SET)");
    if (rc != GZ_OK) return gz_fail(msg, rc, "body.signer: cannot read the account: %s", gz_strerror(rc));
    if (tx->nonce < *next)
        return gz_fail(msg, GZ_ENONCE, "body.nonce: %llu is already used, the signer is at %llu",
                       (unsigned long long)tx->nonce, (unsigned long long)*next);
    if (tx->nonce - *next >= GZ_MEMPOOL_NONCE_WINDOW)
        return gz_fail(msg, GZ_ENONCE, "body.nonce: %llu is too far ahead: the signer is at %llu and the mempool "
                       "takes nonces %llu..%llu (a window of %u)", (unsigned long long)tx->nonce,
                       (unsigned long long)*next, (unsigned long long)*next,
                       (unsigned long long)(*next + GZ_MEMPOOL_NONCE_WINDOW - 1), GZ_MEMPOOL_NONCE_WINDOW);
    return GZ_OK;
}

/* The checks after the signature: the signer and its nonce, room in the
 * mempool (its bounds and the signer's and peer's shares). */
static void admit_one(node *n, admit_item *it, int peer) {
    const gz_tx *tx = &it->tx;
    mempool_tx t = {.nonce = tx->nonce, .peer = peer, .now_ms = node_mono_ms(n)};
    it->rc = signer_check(n, tx, &t.next, &it->msg);
    if (it->rc != GZ_OK) return;
    memcpy(t.txid, tx->txid, 32);
    memcpy(t.signer, tx->signer, 32);
    it->rc = mempool_add(&n->mp, &t, it->bytes, it->len, &it->msg);
    if (it->rc == GZ_OK && peer == MEMPOOL_LOCAL) node_gossip_tx(n, it->bytes, it->len);
}

/* The ledger's committed nonce, for mempool_recheck. */
static int committed_nonce(void *ctx, const uint8_t signer[32], uint64_t *next) {
    return ledger_account_nonce(ctx, signer, next);
}

void node_mempool_recheck(node *n, const chain_block *b) {
    mempool_expire(&n->mp, node_mono_ms(n), GZ_MEMPOOL_TTL_MS);
    /* The Byzantine test proposer keeps what it should not, to propose it. */
    if (n->test_faults & NODE_FAULT_ADMIT_COMMITTED) return;
    uint8_t (*signers)[32] = malloc((b->n_txs ? b->n_txs : 1) * 32);
    if (signers == NULL) {
        node_log(n, "mempool: out of memory for the recheck of height %llu", (unsigned long long)b->header.height);
        return;
    }
    for (size_t i = 0; i < b->n_txs; i++) memcpy(signers[i], b->txs[i].signer, 32);
    size_t evicted = mempool_recheck(&n->mp, (const uint8_t (*)[32])signers, b->n_txs, committed_nonce, n->lg);
    free(signers);
    if (evicted > 0)
        node_log(n, "mempool: %zu txs can no longer execute after height %llu and left", evicted,
                 (unsigned long long)b->header.height);
}

/* Only txs that can go into the next block count as txs available: a signer's
 * tx at its committed next nonce (and the run after it). Others, however many,
 * leave consensus to wait for empty_block_ms. */
void node_on_txs_ready(node *n) {
    uint64_t now = node_mono_ms(n);
    if (node_txs_ready_now(n, now)) cons_txs_available(&n->cs, now);
}

void node_on_propose_wait(node *n) {
    if (mempool_ready(&n->mp) > 0) cons_txs_available(&n->cs, node_mono_ms(n));
}

bool node_txs_ready_now(node *n, uint64_t now_ms) {
    if (mempool_ready(&n->mp) == 0) return false;
    uint64_t wait = n->propose_wait_ms;
    if (wait == 0 || mempool_ready_txs(&n->mp) >= n->g.consensus.block_max_txs) return true;
    uint64_t due = n->last_progress_ms + wait;
    if (now_ms >= due) return true;
    if (!n->timer_armed[NODE_TIMER_PROPOSE_WAIT]) node_timer_start(n, NODE_TIMER_PROPOSE_WAIT, due - now_ms);
    return false;
}

/* The verdict of the signature check, in words naming the field. */
static void sig_verdict(node *n, admit_item *it, int rc, int peer) {
    if (rc == GZ_ECHAIN) it->rc = gz_fail(&it->msg, rc, "body.chain_id: '%s' is not this chain", it->tx.chain_id);
    else if (rc != GZ_OK && !(n->test_faults & NODE_FAULT_ADMIT_NO_SIG))
        it->rc = gz_fail(&it->msg, rc, "sig: not a valid signature by body.signer");
    else admit_one(n, it, peer);
}

void node_admit_batch(node *n, admit_item *items, size_t k, int peer) {
    assert(k <= GZ_ADMIT_BATCH_MAX);
    /* Expired txs go first, so that they make room even while no block commits. */
    mempool_expire(&n->mp, node_mono_ms(n), GZ_MEMPOOL_TTL_MS);
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
        sig_verdict(n, it, n->scratch_rcs[j], peer);
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
    node_admit_batch(n, items, k, MEMPOOL_LOCAL);
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
