/* The people around the nodes: the genesis and its keys, the clients that
 * submit txs as real ones do, and the Byzantine validator's extra messages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/keys.h"
#include "core/mp.h"
#include "node/wire.h"
#include "tests/sim/sim_internal.h"

/* ---- keys and genesis ----------------------------------------------------- */

void sim_key(uint8_t sk[32], uint8_t pk[32], const char *what, int i) {
    char seed[64];
    int n = snprintf(seed, sizeof seed, "gongzhi-sim-%s-%d", what, i);
    core_sha256(sk, seed, (size_t)n);
    if (core_key_pub(pk, sk) != GZ_OK) abort();
}

/* n validators with powers 1..10, one authority per role, SIM_HOLDERS
 * registered holders; small blocks, so that full blocks happen. */
void sim_genesis(sim_world *w) {
    gz_genesis *g = &w->g;
    uint8_t sk[32];
    ledger_genesis_default(g);
    snprintf(g->chain_id, sizeof g->chain_id, SIM_CHAIN_ID);
    g->consensus.block_max_txs = 16;
    g->n_validators = (uint32_t)w->n_val;
    for (int i = 0; i < w->n_val; i++) {
        gz_validator *v = &g->validators[i];
        snprintf(v->name, sizeof v->name, "v%d", i);
        sim_key(sk, v->pub_key, "validator", i);
        v->power = sim_rng_range(&w->rng, 1, 10);
    }
    for (int r = 0; r < GZ_ROLE_COUNT; r++) {
        g->n_authorities[r] = 1;
        sim_key(sk, g->authorities[r][0], "authority", r);
    }
    /* The operator signs the VALIDATOR_UPDATEs (any account may, SPEC §3). */
    gz_genesis_account op = {.level = 8, .classes = 1};
    sim_key(w->operator_sk, w->operator_pk, "operator", 0);
    memcpy(op.account, w->operator_pk, 32);
    snprintf(op.label, sizeof op.label, "operator");
    if (ledger_genesis_add_account(g, &op) != GZ_OK) abort();
    for (int i = 0; i < SIM_HOLDERS; i++) {
        gz_genesis_account a = {.level = 8, .classes = 1};
        sim_key(sk, a.account, "holder", i);
        snprintf(a.label, sizeof a.label, "holder%d", i);
        if (ledger_genesis_add_account(g, &a) != GZ_OK) abort();
    }
}

/* ---- clients -------------------------------------------------------------- */

int sim_pick_up_node(sim_world *w) {
    for (int tries = 0; tries < 16; tries++) {
        int i = (int)sim_rng_below(&w->rng, (uint64_t)w->n_nodes);
        if (w->nodes[i].up) return i;
    }
    return -1;
}

/* The nonce a client would use next: its own count, or now and then what a
 * node says (a client that lost track asks, as real ones do after a crash
 * lost their tx). */
static uint64_t next_nonce(sim_world *w, int holder, const uint8_t pk[32]) {
    int i = sim_pick_up_node(w);
    uint64_t nonce;
    if (i >= 0 && sim_rng_chance(&w->rng, 100000) &&
        ledger_account_nonce(node_ledger(w->nodes[i].eng), pk, &nonce) == GZ_OK)
        w->next_nonce[holder] = nonce;
    return w->next_nonce[holder];
}

static uint8_t make_tx(sim_world *w, gz_buf *out) {
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    uint8_t sk[32];
    uint64_t r = sim_rng_below(&w->rng, 100);
    uint8_t kind = r < 80 ? TX_VALID : r < 88 ? TX_FUTURE : r < 94 ? TX_OUTSIDER : TX_BADSIG;
    int who = (int)sim_rng_below(&w->rng, SIM_HOLDERS);
    if (kind == TX_OUTSIDER) sim_key(sk, tx.signer, "outsider", (int)sim_rng_below(&w->rng, SIM_OUTSIDERS));
    else sim_key(sk, tx.signer, "holder", who);
    snprintf(tx.chain_id, sizeof tx.chain_id, SIM_CHAIN_ID);
    if (kind == TX_VALID) {
        tx.nonce = next_nonce(w, who, tx.signer);
        w->next_nonce[who]++;
    } else if (kind == TX_FUTURE) tx.nonce = w->next_nonce[who] + sim_rng_range(&w->rng, 2, 6);
    else tx.nonce = sim_rng_below(&w->rng, 4);
    if (sim_rng_chance(&w->rng, 800000)) {
        tx.type = GZ_TX_ANCHOR;
        for (int i = 0; i < 32; i++) tx.p.anchor.artifact[i] = (uint8_t)sim_rng_next(&w->rng);
        tx.p.anchor.kind = 1 + sim_rng_below(&w->rng, 7);
        snprintf(tx.p.anchor.work_id, sizeof tx.p.anchor.work_id, "work-%d", who);
    } else {
        tx.type = GZ_TX_TRANSFER;
        uint8_t other[32];
        sim_key(other, tx.p.transfer.to, "holder", (who + 1) % SIM_HOLDERS);
        tx.p.transfer.amount = sim_rng_below(&w->rng, 3);
    }
    if (core_tx_sign_encode(&tx, sk, out) != GZ_OK) abort();
    if (kind == TX_BADSIG) out->data[out->len - 1] ^= 0x01; /* the signature's last byte */
    return kind;
}

void sim_client_flood_tx(sim_world *w, const uint8_t sk[32], uint64_t nonce, gz_buf *out) {
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    if (core_key_pub(tx.signer, sk) != GZ_OK) abort();
    snprintf(tx.chain_id, sizeof tx.chain_id, SIM_CHAIN_ID);
    tx.nonce = nonce;
    tx.type = GZ_TX_ANCHOR;
    for (int i = 0; i < 32; i++) tx.p.anchor.artifact[i] = (uint8_t)sim_rng_next(&w->orng);
    tx.p.anchor.kind = 1;
    snprintf(tx.p.anchor.work_id, sizeof tx.p.anchor.work_id, "flood");
    if (core_tx_sign_encode(&tx, sk, out) != GZ_OK) abort();
}

static void remember_sent(sim_world *w, const gz_buf *tx) {
    if (tx->len > sizeof w->sent[0].bytes) return;
    sim_sent *s = &w->sent[w->n_sent++ % SIM_SENT_MAX];
    memcpy(s->bytes, tx->data, tx->len);
    s->len = tx->len;
}

void sim_client_submit(sim_world *w, int node, gz_buf *tx, uint8_t kind) {
    sim_tag *t = &w->tags[w->tag_next++ % SIM_TAGS_MAX];
    t->kind = kind;
    t->node = node;
    t->used = true;
    w->res->submitted++;
    if (node_submit(w->nodes[node].eng, tx, t) != GZ_OK) t->used = false;
}

/* One client action: a new tx, or one sent before (a duplicate, or a tx
 * racing its own commit), to a node that is up; then the next action is
 * scheduled, in bursts with quiet gaps. */
void sim_client_step(sim_world *w) {
    int node = sim_pick_up_node(w);
    if (node >= 0) {
        gz_buf tx;
        gz_buf_init(&tx);
        uint8_t kind;
        if (w->n_sent > 0 && sim_rng_chance(&w->rng, 150000)) {
            const sim_sent *s = &w->sent[sim_rng_below(&w->rng, w->n_sent < SIM_SENT_MAX ? w->n_sent : SIM_SENT_MAX)];
            if (gz_buf_append(&tx, s->bytes, s->len) != GZ_OK) abort();
            kind = TX_DUP;
        } else {
            kind = make_tx(w, &tx);
            if (kind == TX_VALID) remember_sent(w, &tx);
        }
        sim_client_submit(w, node, &tx, kind);
        gz_buf_free(&tx);
    }
    uint64_t gap = sim_rng_chance(&w->rng, 50000) ? sim_rng_range(&w->rng, 1500, 4000)
                                                 : sim_rng_range(&w->rng, 5, 300);
    (void)sim_push(w, gap, EV_CLIENT, -1);
}

/* Admission's verdicts as a client sees them: a bad signature is never
 * admitted by an honest node. */
void sim_client_admitted(sim_world *w, sim_node *n, void *tag, const node_admission *a) {
    sim_tag *t = tag;
    if (!t->used) return;
    t->used = false;
    if (a->rc == GZ_OK) w->res->admitted++;
    if (t->kind == TX_BADSIG && a->rc == GZ_OK && !n->byz)
        sim_violation(w, true, "node %d admitted a tx with a bad signature", n->idx);
}

/* ---- the Byzantine validator ---------------------------------------------- */

void sim_byz_note(sim_node *n, uint8_t type, const uint8_t *payload, size_t len) {
    size_t k = n->byz_sent_n++ % SIM_BYZ_KEEP;
    gz_buf_reset(&n->byz_sent[k]);
    if (gz_buf_append(&n->byz_sent[k], payload, len) != GZ_OK) abort();
    n->byz_sent_type[k] = type;
}

static void send_all(sim_world *w, sim_node *b, uint8_t type, const uint8_t *p, size_t len) {
    for (int to = 0; to < w->n_nodes; to++)
        if (to != b->idx && sim_peer_node(w, b->idx, sim_peer_id(w, b->idx, to)) == to)
            sim_net_send(w, b->idx, to, type, p, len);
}

/* The vote message for v, signed with the Byzantine validator's key, under
 * its index in the set of v's height. */
static void vote_msg(const sim_node *b, int index, const gz_vote *v, gz_buf *msg) {
    uint8_t h[32], sig[64];
    gz_buf vb;
    gz_buf_init(&vb);
    int rc = core_vote_sighash(h, v);
    if (rc == GZ_OK) rc = core_sign32(sig, b->sk, h, NULL);
    if (rc == GZ_OK) rc = core_vote_encode(v, &vb);
    if (rc == GZ_OK) rc = mp_put_array(msg, 3);
    if (rc == GZ_OK) rc = mp_put_bin(msg, vb.data, vb.len);
    if (rc == GZ_OK) rc = mp_put_uint(msg, (uint64_t)index);
    if (rc == GZ_OK) rc = mp_put_bin(msg, sig, 64);
    if (rc != GZ_OK) abort();
    gz_buf_free(&vb);
}

/* A vote for the height in progress that contradicts what an honest
 * validator would send once: a random block id, or nil, properly signed. */
/* Whether it already sent a second value for (height, round, type); notes
 * it if not. Consensus counts an equivocator for two values per round and
 * type (consensus/cons_votes.c); past two, a Byzantine validator can keep
 * honest nodes from agreeing on which POL they saw, which is the
 * equivocation handling still to come (CometBFT's peer majority claims), not
 * what this simulator checks. */
static bool equivocated(sim_node *b, const gz_vote *v) {
    for (size_t i = 0; i < SIM_BYZ_KEEP; i++) {
        const sim_vote_key *k = &b->byz_equiv[i];
        if (k->height == v->height && k->round == v->round && k->type == v->type) return true;
    }
    b->byz_equiv[b->byz_equiv_n++ % SIM_BYZ_KEEP] = (sim_vote_key){v->height, v->round, (uint8_t)v->type};
    return false;
}

static void equivocate(sim_world *w, sim_node *b) {
    if (w->now < w->byz_votes_from) return;
    node_status st;
    node_status_get(b->eng, &st);
    gz_vote v = {.type = sim_rng_chance(&w->rng, 500000) ? 1 : 2, .height = st.height + 1, .round = st.round,
                 .has_block_id = sim_rng_chance(&w->rng, 700000), .time = w->g.genesis_time + w->now};
    int index = sim_set_index(sim_valset_at(w, v.height), b->pk);
    if (index < 0 || equivocated(b, &v)) return; /* jailed, or removed */
    snprintf(v.chain_id, sizeof v.chain_id, SIM_CHAIN_ID);
    for (int i = 0; i < 32; i++) v.block_id[i] = (uint8_t)sim_rng_next(&w->rng);
    gz_buf msg;
    gz_buf_init(&msg);
    vote_msg(b, index, &v, &msg);
    send_all(w, b, NODE_MSG_VOTE, msg.data, msg.len);
    gz_buf_free(&msg);
}

/* For a vote the engine sends, often a second one of the same step with
 * another value (nil, the second block it proposed, or the first), which
 * some peers get instead. Returns it in alt (empty when none). */
void sim_byz_vote(sim_world *w, sim_node *b, const uint8_t *payload, size_t len, gz_buf *alt) {
    gz_vote v;
    if (w->now < w->byz_votes_from || !sim_rng_chance(&w->rng, 400000) || !sim_vote_of(payload, len, &v)) return;
    int index = sim_set_index(sim_valset_at(w, v.height), b->pk);
    if (index < 0 || equivocated(b, &v)) return;
    uint8_t was[32];
    memcpy(was, v.block_id, 32);
    uint64_t r = sim_rng_below(&w->rng, 3);
    if (r == 0 && v.has_block_id) {
        v.has_block_id = false;
        memset(v.block_id, 0, 32);
    } else {
        v.has_block_id = true;
        if (r == 1 && b->byz_seen_n > 0) {
            size_t seen = b->byz_seen_n < SIM_BYZ_KEEP ? b->byz_seen_n : SIM_BYZ_KEEP;
            memcpy(v.block_id, b->byz_seen[sim_rng_below(&w->rng, seen)], 32);
        } else {
            memcpy(v.block_id, b->byz_alt_id, 32);
        }
        if (memcmp(v.block_id, was, 32) == 0)
            for (int i = 0; i < 32; i++) v.block_id[i] = (uint8_t)sim_rng_next(&w->rng);
    }
    vote_msg(b, index, &v, alt);
}

/* The blocks others propose, which its second votes may then back. */
void sim_byz_seen(sim_node *b, uint8_t type, const uint8_t *payload, size_t len) {
    sim_proposal_msg m;
    if (type == NODE_MSG_PROPOSAL && sim_proposal_of(payload, len, &m))
        memcpy(b->byz_seen[b->byz_seen_n++ % SIM_BYZ_KEEP], m.p.block_id, 32);
}

/* Bytes that decode as nothing, under a gossip message type. */
static void junk(sim_world *w, sim_node *b) {
    uint8_t p[64];
    size_t len = 1 + sim_rng_below(&w->rng, sizeof p);
    for (size_t i = 0; i < len; i++) p[i] = (uint8_t)sim_rng_next(&w->rng);
    int to = (int)sim_rng_below(&w->rng, (uint64_t)w->n_nodes);
    if (to != b->idx) sim_net_send(w, b->idx, to, (uint8_t)(NODE_MSG_TXS + sim_rng_below(&w->rng, 8)), p, len);
}

/* One of its own old messages again, to everyone. */
static void replay(sim_world *w, sim_node *b) {
    if (b->byz_sent_n == 0) return;
    size_t k = sim_rng_below(&w->rng, b->byz_sent_n < SIM_BYZ_KEEP ? b->byz_sent_n : SIM_BYZ_KEEP);
    send_all(w, b, b->byz_sent_type[k], b->byz_sent[k].data, b->byz_sent[k].len);
}

/* A tx a client sent before, straight into its own mempool: once it is
 * committed, the Byzantine proposer's blocks carry it again. */
static void feed(sim_world *w, sim_node *b) {
    if (w->n_sent == 0) return;
    const sim_sent *s = &w->sent[sim_rng_below(&w->rng, w->n_sent < SIM_SENT_MAX ? w->n_sent : SIM_SENT_MAX)];
    gz_buf tx;
    gz_buf_init(&tx);
    if (gz_buf_append(&tx, s->bytes, s->len) != GZ_OK) abort();
    sim_client_submit(w, b->idx, &tx, TX_DUP);
    gz_buf_free(&tx);
}

void sim_byz_step(sim_world *w) {
    sim_node *b = &w->nodes[w->byz];
    if (b->up) {
        uint64_t r = sim_rng_below(&w->rng, 100);
        if (r < 40) equivocate(w, b);
        else if (r < 55) junk(w, b);
        else if (r < 70) replay(w, b);
        else feed(w, b);
    }
    (void)sim_push(w, sim_rng_range(&w->rng, 50, 600), EV_BYZ, -1);
}

/* An equivocating proposer: for its proposal it also builds a second block
 * of the same height (empty, a little later: another id, still valid) and
 * signs a second proposal for it, which some peers get instead. Returns the
 * second proposal message in alt (empty when it made none). */
void sim_byz_proposal(sim_world *w, sim_node *b, const uint8_t *payload, size_t len, gz_buf *alt) {
    sim_proposal_msg m;
    chain_block *other = NULL;
    if (!sim_rng_chance(&w->rng, 500000) || !sim_proposal_of(payload, len, &m)) return;
    gz_proposal gp = m.p;
    uint8_t mine[32];
    if (core_proposal_sighash(mine, &gp) != GZ_OK || !core_verify(m.sig, mine, 32, b->pk))
        return; /* a re-send of another validator's proposal */
    uint64_t t = sim_node_wall_ms(b) + 500 + sim_rng_range(&w->rng, 1, 50); /* a little later */
    if (chain_build(node_chain(b->eng), &w->empty_pool, t, b->pk, &other) != GZ_OK) return;
    memcpy(gp.block_id, other->block_id, 32);
    memcpy(b->byz_alt_id, other->block_id, 32);
    gp.pol_round = -1; /* a fresh block without POL tempts validators locked on the first */
    uint8_t h[32], s2[64];
    gz_buf pe;
    gz_buf_init(&pe);
    int rc = core_proposal_sighash(h, &gp);
    if (rc == GZ_OK) rc = core_sign32(s2, b->sk, h, NULL);
    if (rc == GZ_OK) rc = core_proposal_encode(&gp, &pe);
    if (rc == GZ_OK) rc = mp_put_array(alt, 3);
    if (rc == GZ_OK) rc = mp_put_bin(alt, pe.data, pe.len);
    if (rc == GZ_OK) rc = mp_put_bin(alt, s2, 64);
    if (rc == GZ_OK) rc = mp_put_bin(alt, other->bytes.data, other->bytes.len);
    if (rc != GZ_OK) gz_buf_reset(alt);
    gz_buf_free(&pe);
}
