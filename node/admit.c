/* Admission of txs (SPEC §2) in batches.
 *
 * Txs come in groups: a JSON-RPC batch of submit_tx calls, a gossiped TXS
 * message. A batch is decoded, its duplicates found, its signatures checked
 * together on the sigpool's threads (the expensive part), and then each tx is
 * admitted in order on the loop thread (nonce, mempool). RPC calls are queued
 * and admitted on the next loop turn, so all the calls of one HTTP request
 * form one batch; each call gets its answer when its batch is done. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/node_internal.h"
#include "storage/keys.h"

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
    else if (ledger_tx_location(n->lg, it->tx.txid, &height, &index) == GZ_OK)
        it->rc = gz_fail(&it->msg, GZ_EDUP, "tx: already committed at height %llu", (unsigned long long)height);
}

/* The checks after the signature: nonce not used, room in the mempool. */
static void admit_one(node *n, admit_item *it, bool gossip) {
    uint64_t nonce = 0;
    const gz_tx *tx = &it->tx;
    if (ledger_account_nonce(n->lg, tx->signer, &nonce) == GZ_OK && tx->nonce < nonce) {
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

static void txs_ready(uv_idle_t *h) {
    node *n = h->data;
    uv_idle_stop(h);
    uint64_t now = node_now_ms();
    if (!n->stopping && mempool_count(&n->mp) > 0 && node_txs_ready_now(n, now)) cons_txs_available(&n->cs, now);
}

static void on_propose_wait(uv_timer_t *h) {
    node *n = h->data;
    if (!n->stopping && mempool_count(&n->mp) > 0) cons_txs_available(&n->cs, node_now_ms());
}

bool node_txs_ready_now(node *n, uint64_t now_ms) {
    uint64_t wait = n->cfg.propose_wait_ms;
    if (wait == 0 || mempool_count(&n->mp) >= n->g.consensus.block_max_txs) return true;
    uint64_t due = n->last_progress_ms + wait;
    if (now_ms >= due) return true;
    if (!uv_is_active((uv_handle_t *)&n->propose_wait)) {
        n->propose_wait.data = n;
        uv_timer_start(&n->propose_wait, on_propose_wait, due - now_ms, 0);
    }
    return false;
}

void node_admit_batch(node *n, admit_item *items, size_t k, bool gossip) {
    static const gz_tx *ptrs[NODE_ADMIT_BATCH_MAX];
    static int rcs[NODE_ADMIT_BATCH_MAX];
    static size_t idx[NODE_ADMIT_BATCH_MAX];
    size_t m = 0;
    for (size_t i = 0; i < k; i++) {
        gz_msg_clear(&items[i].msg);
        precheck(n, &items[i]);
        if (items[i].rc == GZ_OK) {
            ptrs[m] = &items[i].tx;
            idx[m++] = i;
        }
    }
    sigpool_check(&n->pool, ptrs, m, n->g.chain_id, rcs);
    bool any = false;
    for (size_t j = 0; j < m; j++) {
        admit_item *it = &items[idx[j]];
        if (rcs[j] == GZ_ECHAIN) it->rc = gz_fail(&it->msg, rcs[j], "body.chain_id: '%s' is not this chain", it->tx.chain_id);
        else if (rcs[j] != GZ_OK) it->rc = gz_fail(&it->msg, rcs[j], "sig: not a valid signature by body.signer");
        else admit_one(n, it, gossip);
        any |= it->rc == GZ_OK;
    }
    /* Tell consensus on the next loop turn, not now: a single validator would
     * otherwise commit a tx before its caller has registered to wait for it. */
    if (any && !uv_is_active((uv_handle_t *)&n->txs_ready)) uv_idle_start(&n->txs_ready, txs_ready);
}

/* ---- queued RPC submissions ---------------------------------------------- */

static void flush(node *n);

static void on_flush(uv_idle_t *h) {
    node *n = h->data;
    uv_idle_stop(h);
    flush(n);
}

int node_admit_enqueue(node *n, gz_buf *bytes, rpc_call *call, bool wait, uint64_t timeout_ms) {
    if (n->n_queued == NODE_ADMIT_BATCH_MAX) flush(n);
    admit_queued *q = &n->queued[n->n_queued++];
    q->bytes = *bytes; /* the queue owns the buffer now */
    gz_buf_init(bytes);
    q->call = call;
    q->wait = wait;
    q->timeout_ms = timeout_ms;
    if (!uv_is_active((uv_handle_t *)&n->admit_idle)) uv_idle_start(&n->admit_idle, on_flush);
    return GZ_OK;
}

static void flush(node *n) {
    static admit_item items[NODE_ADMIT_BATCH_MAX];
    size_t k = n->n_queued;
    for (size_t i = 0; i < k; i++) {
        items[i].bytes = n->queued[i].bytes.data;
        items[i].len = n->queued[i].bytes.len;
    }
    node_admit_batch(n, items, k, true);
    /* Answers may register waiters and reply synchronously: take the queue
     * first so an answer cannot see a half-processed one. */
    n->n_queued = 0;
    for (size_t i = 0; i < k; i++) {
        admit_queued *q = &n->queued[i];
        node_admit_answer(n, q->call, &items[i], q->wait, q->timeout_ms);
        gz_buf_free(&q->bytes);
    }
}

void node_admit_free(node *n) {
    for (size_t i = 0; i < n->n_queued; i++) gz_buf_free(&n->queued[i].bytes);
    n->n_queued = 0;
}
