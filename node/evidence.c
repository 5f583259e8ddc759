/* Equivocation to evidence (SPEC §4): when consensus reports two conflicting
 * votes of one validator, this node proves it on chain with an EVIDENCE tx
 * signed by its own key (every validator key is an account), admitted into
 * its own mempool and gossiped like any tx. The ledger checks it again and
 * jails the validator from the next height. */
#include <stdio.h>
#include <string.h>

#include "core/keys.h"
#include "node/node_internal.h"

/* The Vote bytes a cons_vote was signed over. */
static int vote_bytes(const node *n, const cons_vote *v, gz_buf *out) {
    gz_vote g = {.type = v->type, .height = v->height, .round = v->round, .has_block_id = v->has_block_id,
                 .time = v->time};
    snprintf(g.chain_id, sizeof g.chain_id, "%s", n->g.chain_id);
    memcpy(g.block_id, v->block_id, 32);
    return core_vote_encode(&g, out);
}

static bool already_sent(node *n, const uint8_t pub[32], uint64_t height) {
    for (size_t i = 0; i < NODE_EVIDENCE_SENT_MAX; i++) {
        const node_evidence_sent *s = &n->evidence_sent[i];
        if (s->height == height && memcmp(s->validator, pub, 32) == 0) return true;
    }
    node_evidence_sent *s = &n->evidence_sent[n->evidence_sent_next++ % NODE_EVIDENCE_SENT_MAX];
    s->height = height;
    memcpy(s->validator, pub, 32);
    return false;
}

/* The EVIDENCE tx for votes a and b of validator pub, signed by this node. */
static int evidence_tx(node *n, const cons_vote *a, const cons_vote *b, const uint8_t pub[32], uint64_t nonce,
                       gz_buf *out) {
    gz_tx tx;
    memset(&tx, 0, sizeof tx);
    snprintf(tx.chain_id, sizeof tx.chain_id, "%s", n->g.chain_id);
    tx.type = GZ_TX_EVIDENCE;
    memcpy(tx.signer, n->pk, 32);
    tx.nonce = nonce;
    gz_p_evidence *p = &tx.p.evidence;
    memcpy(p->validator, pub, 32);
    gz_buf va, vb;
    gz_buf_init(&va);
    gz_buf_init(&vb);
    int rc = vote_bytes(n, a, &va);
    if (rc == GZ_OK) rc = vote_bytes(n, b, &vb);
    if (rc == GZ_OK && (va.len > sizeof p->vote_a || vb.len > sizeof p->vote_b)) rc = GZ_ELIMIT;
    if (rc == GZ_OK) {
        memcpy(p->vote_a, va.data, va.len);
        p->vote_a_len = (uint32_t)va.len;
        memcpy(p->sig_a, a->sig, 64);
        memcpy(p->vote_b, vb.data, vb.len);
        p->vote_b_len = (uint32_t)vb.len;
        memcpy(p->sig_b, b->sig, 64);
        rc = core_tx_sign_encode(&tx, n->sk, out);
    }
    gz_buf_free(&va);
    gz_buf_free(&vb);
    return rc;
}

void node_evidence_submit(node *n) {
    cons_evidence ev;
    if (n->replaying || cons_evidence_get(&n->cs, 0, &ev) != GZ_OK || ev.kind != 1) return;
    const ledger_valset *vs = node_valset(n);
    if (ev.vote_a.validator >= vs->n || ev.vote_a.height != n->ch.height + 1) return;
    const uint8_t *pub = vs->v[ev.vote_a.validator].pub_key;
    uint64_t next = 0;
    if (ledger_account_nonce(n->lg, n->pk, &next) != GZ_OK) return; /* this key is no account: nothing to sign with */
    if (already_sent(n, pub, ev.vote_a.height)) return;
    const mempool_signer *mine = mempool_signer_get(&n->mp, n->pk);
    uint64_t nonce = next + (mine != NULL ? mine->n_txs : 0);
    gz_buf bytes;
    gz_buf_init(&bytes);
    int rc = evidence_tx(n, &ev.vote_a, &ev.vote_b, pub, nonce, &bytes);
    admit_item *it = &n->evidence_item;
    memset(it, 0, sizeof *it);
    it->bytes = bytes.data;
    it->len = bytes.len;
    if (rc == GZ_OK) node_admit_batch(n, it, 1, MEMPOOL_LOCAL);
    char who[17];
    gz_hex_encode(who, pub, 8);
    if (rc != GZ_OK || it->rc != GZ_OK)
        node_log(n, "evidence: cannot submit for validator %s… at height %llu: %s", who,
                 (unsigned long long)ev.vote_a.height, rc != GZ_OK ? gz_strerror(rc) : it->msg.text);
    else
        node_log(n, "evidence: submitted for validator %s… at height %llu round %llu", who,
                 (unsigned long long)ev.vote_a.height, (unsigned long long)ev.vote_a.round);
    gz_buf_free(&bytes);
}
