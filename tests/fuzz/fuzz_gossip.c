/* libFuzzer target: every gossip message (node/wire.h) into a real engine.
 *
 * Each input gets a fresh engine (validator FZ_ME of the fixed chain, memory
 * store, fixed clock, its other validators up as peers) so that a crash
 * replays from its input alone. The input is a sequence of records
 *   sel u8 ‖ len u32 (big-endian; a shorter tail takes the rest) ‖ payload
 * where sel's low 3 bits pick what happens (0..5: the message NODE_MSG_TXS +
 * n; 6: the next armed timer fires, the clock moving to it; 7: the peer goes
 * down and comes back) and the next 2 bits the peer (0..2: the other
 * validators, 3: a node outside the validator set).
 *
 * The seeds are real messages of a 4-validator network on the same chain:
 * the proposal and votes of height 1, txs, status, block requests and the
 * blocks with their commits, alone and in sequences that commit height 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mp.h"
#include "node/wire.h"
#include "tests/fuzz/fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { SEL_TIMER = 6, SEL_REPEER = 7 };

static gz_genesis G;
static fz_node F;

static void put_record(gz_buf *out, uint8_t sel, const uint8_t *p, size_t len) {
    uint8_t head[5] = {sel};
    gz_put_u32be(head + 1, (uint32_t)len);
    if (gz_buf_append(out, head, sizeof head) != GZ_OK || gz_buf_append(out, p, len) != GZ_OK) abort();
}

static uint8_t sel_of(uint8_t type, int peer) {
    return (uint8_t)((type - NODE_MSG_TXS) | ((peer == FZ_OUTSIDER ? 3 : peer % FZ_ME) << 3));
}

/* The peer id and key a record's sel names. */
static int peer_of(uint8_t sel, uint8_t pk[32]) {
    int bits = (sel >> 3) & 3;
    if (bits < FZ_ME) {
        memcpy(pk, G.validators[bits].pub_key, 32);
        return bits;
    }
    uint8_t sk[32];
    fz_key(sk, pk, "outsider", 0);
    return FZ_OUTSIDER;
}

static void seed_one_from(const char *dir, const char *name, const fz_sent *s, int from) {
    if (s == NULL) {
        fprintf(stderr, "fuzz: no %s message to seed\n", name);
        exit(1);
    }
    gz_buf b;
    gz_buf_init(&b);
    put_record(&b, sel_of(s->type, from), s->payload.data, s->payload.len);
    if (fz_seed(dir, name, b.data, b.len) != 0) exit(1);
    gz_buf_free(&b);
}

static void seed_one(const char *dir, const char *name, const fz_sent *s) {
    seed_one_from(dir, name, s, s != NULL ? s->from : 0);
}

/* [height] as STATUS and BLOCK_REQ carry it. */
static void height_msg(gz_buf *b, uint64_t h) {
    gz_buf_reset(b);
    if (mp_put_array(b, 1) != GZ_OK || mp_put_uint(b, h) != GZ_OK) abort();
}

/* A peer's answer to a block request, from the network's node 0. */
static void seed_block(const char *dir, fz_net *net, uint64_t h, const char *name) {
    gz_buf req;
    gz_buf_init(&req);
    height_msg(&req, h);
    fz_node *n0 = &net->nodes[0];
    fz_node_sent_clear(n0);
    node_on_message(n0->eng, 1, NODE_MSG_BLOCK_REQ, req.data, req.len);
    const fz_sent *s = NULL;
    for (size_t k = 0; k < n0->n_sent; k++)
        if (n0->sent[k].type == NODE_MSG_BLOCK) s = &n0->sent[k];
    seed_one(dir, name, s);
    char other[64];
    snprintf(other, sizeof other, "%s_from_outsider", name);
    seed_one_from(dir, other, s, FZ_OUTSIDER);
    gz_buf_free(&req);
}

/* Everything the others said about consensus, in order: enough for the
 * engine to decide and commit. */
static void seed_consensus(const char *dir, const fz_net *net) {
    gz_buf b;
    gz_buf_init(&b);
    for (size_t k = 0; k < net->n_log; k++) {
        const fz_sent *s = &net->log[k];
        if (s->from == FZ_ME || (s->type != NODE_MSG_PROPOSAL && s->type != NODE_MSG_VOTE)) continue;
        put_record(&b, sel_of(s->type, s->from), s->payload.data, s->payload.len);
        if (k % 7 == 0) put_record(&b, SEL_TIMER, NULL, 0);
    }
    if (fz_seed(dir, "consensus_sequence", b.data, b.len) != 0) exit(1);
    gz_buf_free(&b);
}

static void write_seeds(const char *dir) {
    static fz_net net;
    if (fz_net_run(&net, &G, 2) != 0) exit(1);
    seed_one(dir, "proposal", fz_net_find(&net, -1, NODE_MSG_PROPOSAL, 0));
    seed_one(dir, "vote_0", fz_net_find(&net, 0, NODE_MSG_VOTE, 0));
    seed_one(dir, "vote_1", fz_net_find(&net, 1, NODE_MSG_VOTE, 1));
    seed_one(dir, "vote_2", fz_net_find(&net, 2, NODE_MSG_VOTE, 2));
    seed_one(dir, "txs", fz_net_find(&net, -1, NODE_MSG_TXS, 0));
    seed_one(dir, "status", fz_net_find(&net, -1, NODE_MSG_STATUS, 0));
    seed_block(dir, &net, 1, "block_1");
    seed_block(dir, &net, 2, "block_2");
    gz_buf b, r;
    gz_buf_init(&b);
    gz_buf_init(&r);
    height_msg(&b, 1);
    put_record(&r, sel_of(NODE_MSG_BLOCK_REQ, 0), b.data, b.len);
    put_record(&r, SEL_TIMER, NULL, 0);
    put_record(&r, SEL_REPEER | (1 << 3), NULL, 0);
    if (fz_seed(dir, "block_req_timer_repeer", r.data, r.len) != 0) exit(1);
    gz_buf_free(&b);
    gz_buf_free(&r);
    seed_consensus(dir, &net);
    fz_net_free(&net);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_genesis(&G);
    fz_seed_mode(write_seeds);
    return 0;
}

static void fire_next_timer(fz_node *f) {
    int t = fz_node_next_timer(f);
    if (t < 0) return;
    if (f->due[t] > f->now) f->now = f->due[t];
    f->due[t] = UINT64_MAX;
    node_on_timer(f->eng, (unsigned)t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (fz_node_open(&F, &G, FZ_ME, "gossip", true) != 0) abort();
    size_t off = 0;
    while (off < size) {
        uint8_t sel = data[off++];
        size_t len = size - off;
        if (len >= 4) {
            uint32_t want = gz_get_u32be(data + off);
            off += 4;
            len = want < size - off ? want : size - off;
        } else {
            off = size;
            len = 0;
        }
        const uint8_t *p = data + off;
        off += len;
        uint8_t pk[32];
        int peer = peer_of(sel, pk);
        unsigned kind = sel & 7u;
        if (kind == SEL_TIMER) {
            fire_next_timer(&F);
        } else if (kind == SEL_REPEER) {
            node_on_peer_down(F.eng, peer, "fuzz");
            node_on_peer_up(F.eng, peer, pk);
        } else {
            F.now += 1;
            node_on_message(F.eng, peer, (uint8_t)(NODE_MSG_TXS + kind), p, len);
        }
    }
    fz_node_close(&F);
    return 0;
}
