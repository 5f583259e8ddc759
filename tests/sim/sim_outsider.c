/* Outsiders: peers without a validator key that connect to the nodes and
 * attack them as a hostile node of the network would (issue: nobody outside
 * the validator set can stall the chain). Each holds a connection to one
 * node, under a key of its own, and sends:
 *
 * - junk BLOCK messages for the node's next height: a well-formed block on
 *   the node's last block with a commit no quorum signed;
 * - a real proposal it overheard with another block attached (the signature
 *   is good, the block is not the one signed);
 * - STATUS claiming a height far ahead, never answering the block requests
 *   that follow (a liar about its height);
 * - TXS floods: txs signed by fresh keys no genesis knows, with nonces ahead;
 * - bytes that decode as nothing.
 *
 * A node that drops an outsider sees it come back later under a fresh key.
 * The outsiders attack for the whole run, after GST too: heights must keep
 * advancing while they do. */
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/mp.h"
#include "node/wire.h"
#include "tests/sim/sim_internal.h"

bool sim_outsider_peer(int peer_id) { return peer_id >= SIM_OUTSIDER_PEER_BASE; }

static sim_outsider *outsider_of(sim_world *w, int node, int peer_id) {
    for (int i = 0; i < SIM_OUTSIDER_PEERS; i++) {
        sim_outsider *o = &w->outsiders[i];
        if (o->up && o->node == node && o->peer_id == peer_id) return o;
    }
    return NULL;
}

/* A fresh key and connection to a node that is up. */
static void outsider_connect(sim_world *w, sim_outsider *o) {
    int node = (int)sim_rng_below(&w->orng, (uint64_t)w->n_nodes);
    sim_node *n = &w->nodes[node];
    if (!n->up) return;
    sim_key(o->sk, o->pk, "outsider-peer", (int)w->outsider_keys++);
    o->node = node;
    o->inc = n->inc;
    o->peer_id = SIM_OUTSIDER_PEER_BASE + (int)w->outsider_keys;
    o->up = true;
    node_on_peer_up(n->eng, o->peer_id, o->pk);
}

void sim_outsider_dropped(sim_world *w, int node, int peer_id, const char *why) {
    sim_outsider *o = outsider_of(w, node, peer_id);
    if (o == NULL) return;
    sim_trace(w, node, "drops outsider %d: %s", peer_id, why);
    o->up = false;
    w->res->outsider_drops++;
    sim_event *ev = sim_push(w, 0, EV_OUTSIDER_DOWN, node);
    ev->peer = peer_id;
    ev->inc = w->nodes[node].inc;
}

void sim_outsider_down(sim_world *w, const sim_event *ev) {
    sim_node *n = &w->nodes[ev->node];
    if (n->up && n->inc == ev->inc) node_on_peer_down(n->eng, ev->peer, "dropped");
}

/* What the nodes broadcast reaches the outsiders too: they keep the latest
 * proposal to tamper with. */
void sim_outsider_seen(sim_world *w, uint8_t type, const uint8_t *payload, size_t len) {
    if (type != NODE_MSG_PROPOSAL) return;
    gz_buf_reset(&w->outsider_prop);
    if (gz_buf_append(&w->outsider_prop, payload, len) != GZ_OK) abort();
}

static void deliver(sim_world *w, const sim_outsider *o, uint8_t type, const gz_buf *msg) {
    sim_node *n = &w->nodes[o->node];
    w->res->outsider_msgs++;
    node_on_message(n->eng, o->peer_id, type, msg->data, msg->len);
}

/* A header for the node's next height on its last block, with random roots. */
static void junk_header(sim_world *w, const sim_outsider *o, gz_buf *hdr) {
    node_status st;
    node_status_get(w->nodes[o->node].eng, &st);
    gz_header h = {.height = st.height + 1, .time = st.time + 1 + sim_rng_below(&w->orng, 1000), .tx_count = 0};
    snprintf(h.chain_id, sizeof h.chain_id, SIM_CHAIN_ID);
    memcpy(h.prev_block_id, st.block_id, 32);
    for (int i = 0; i < 32; i++) {
        h.tx_root[i] = (uint8_t)sim_rng_next(&w->orng);
        h.state_root[i] = (uint8_t)sim_rng_next(&w->orng);
        h.log_root[i] = (uint8_t)sim_rng_next(&w->orng);
        h.validators_hash[i] = (uint8_t)sim_rng_next(&w->orng);
    }
    memcpy(h.proposer, w->g.validators[sim_rng_below(&w->orng, w->g.n_validators)].pub_key, 32);
    if (core_header_encode(&h, hdr) != GZ_OK) abort();
}

/* BLOCK = [height, block, commit]: a junk block and a commit of random
 * signatures, for the block's id or (sometimes) for another. */
static void junk_block(sim_world *w, const sim_outsider *o) {
    gz_buf hdr, blk, cm, msg;
    gz_buf_init(&hdr);
    gz_buf_init(&blk);
    gz_buf_init(&cm);
    gz_buf_init(&msg);
    junk_header(w, o, &hdr);
    gz_commit c = {.height = 0, .round = 0, .n_sigs = 0};
    core_block_id(c.block_id, hdr.data, hdr.len);
    if (sim_rng_chance(&w->orng, 300000)) c.block_id[0] ^= 1;
    node_status st;
    node_status_get(w->nodes[o->node].eng, &st);
    c.height = st.height + 1;
    for (uint32_t i = 0; i < w->g.n_validators; i++) {
        c.sigs[c.n_sigs].validator_index = i;
        c.sigs[c.n_sigs].time = st.time + 1;
        for (int k = 0; k < 64; k++) c.sigs[c.n_sigs].sig[k] = (uint8_t)sim_rng_next(&w->orng);
        c.n_sigs++;
    }
    int rc = mp_put_array(&blk, 2);
    if (rc == GZ_OK) rc = mp_put_bin(&blk, hdr.data, hdr.len);
    if (rc == GZ_OK) rc = mp_put_array(&blk, 0);
    if (rc == GZ_OK) rc = core_commit_encode(&c, &cm);
    if (rc == GZ_OK) rc = mp_put_array(&msg, 3);
    if (rc == GZ_OK) rc = mp_put_uint(&msg, c.height);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, blk.data, blk.len);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, cm.data, cm.len);
    if (rc != GZ_OK) abort();
    deliver(w, o, NODE_MSG_BLOCK, &msg);
    gz_buf_free(&hdr);
    gz_buf_free(&blk);
    gz_buf_free(&cm);
    gz_buf_free(&msg);
}

/* The last proposal overheard, with a junk block in place of its own. */
static void swapped_proposal(sim_world *w, const sim_outsider *o) {
    sim_proposal_msg m;
    if (w->outsider_prop.len == 0 || !sim_proposal_of(w->outsider_prop.data, w->outsider_prop.len, &m)) return;
    gz_buf pe, hdr, blk, msg;
    gz_buf_init(&pe);
    gz_buf_init(&hdr);
    gz_buf_init(&blk);
    gz_buf_init(&msg);
    junk_header(w, o, &hdr);
    int rc = core_proposal_encode(&m.p, &pe);
    if (rc == GZ_OK) rc = mp_put_array(&blk, 2);
    if (rc == GZ_OK) rc = mp_put_bin(&blk, hdr.data, hdr.len);
    if (rc == GZ_OK) rc = mp_put_array(&blk, 0);
    if (rc == GZ_OK) rc = mp_put_array(&msg, 3);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, pe.data, pe.len);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, m.sig, 64);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, blk.data, blk.len);
    if (rc != GZ_OK) abort();
    deliver(w, o, NODE_MSG_PROPOSAL, &msg);
    gz_buf_free(&pe);
    gz_buf_free(&hdr);
    gz_buf_free(&blk);
    gz_buf_free(&msg);
}

static void lie_height(sim_world *w, const sim_outsider *o) {
    node_status st;
    node_status_get(w->nodes[o->node].eng, &st);
    gz_buf msg;
    gz_buf_init(&msg);
    int rc = mp_put_array(&msg, 1);
    if (rc == GZ_OK) rc = mp_put_uint(&msg, st.height + 2 + sim_rng_below(&w->orng, 1000));
    if (rc != GZ_OK) abort();
    deliver(w, o, NODE_MSG_STATUS, &msg);
    gz_buf_free(&msg);
}

/* TXS of txs signed by fresh keys with nonces ahead: validly signed, never
 * executable. */
static void tx_flood(sim_world *w, const sim_outsider *o) {
    uint32_t count = 1 + (uint32_t)sim_rng_below(&w->orng, 32);
    gz_buf msg, tx;
    gz_buf_init(&msg);
    gz_buf_init(&tx);
    int rc = mp_put_array(&msg, count);
    for (uint32_t i = 0; i < count && rc == GZ_OK; i++) {
        uint8_t sk[32], pk[32];
        sim_key(sk, pk, "flood", (int)(w->outsider_txs++));
        gz_buf_reset(&tx);
        sim_client_flood_tx(w, sk, 1 + sim_rng_below(&w->orng, 1000), &tx);
        rc = mp_put_bin(&msg, tx.data, tx.len);
    }
    if (rc != GZ_OK) abort();
    deliver(w, o, NODE_MSG_TXS, &msg);
    gz_buf_free(&msg);
    gz_buf_free(&tx);
}

static void junk_bytes(sim_world *w, const sim_outsider *o) {
    gz_buf msg;
    gz_buf_init(&msg);
    size_t len = 1 + sim_rng_below(&w->orng, 64);
    for (size_t i = 0; i < len; i++) {
        uint8_t b = (uint8_t)sim_rng_next(&w->orng);
        if (gz_buf_append(&msg, &b, 1) != GZ_OK) abort();
    }
    deliver(w, o, (uint8_t)(NODE_MSG_TXS + sim_rng_below(&w->orng, 8)), &msg);
    gz_buf_free(&msg);
}

void sim_outsider_step(sim_world *w) {
    sim_outsider *o = &w->outsiders[sim_rng_below(&w->orng, SIM_OUTSIDER_PEERS)];
    if (o->up && (!w->nodes[o->node].up || w->nodes[o->node].inc != o->inc)) o->up = false; /* it crashed */
    if (!o->up) {
        outsider_connect(w, o);
    } else {
        uint64_t r = sim_rng_below(&w->orng, 100);
        if (r < 25) junk_block(w, o);
        else if (r < 45) swapped_proposal(w, o);
        else if (r < 75) lie_height(w, o);
        else if (r < 90) tx_flood(w, o);
        else junk_bytes(w, o);
    }
    (void)sim_push(w, sim_rng_range(&w->orng, 20, 400), EV_OUTSIDER, -1);
}

void sim_outsider_free(sim_world *w) { gz_buf_free(&w->outsider_prop); }
