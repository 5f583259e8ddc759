/* The node engine against a hostile peer (node/node.h over a recording
 * environment): a block nobody signed never takes a candidate slot, a peer
 * that sends one is dropped and, outside the validator set, refused for a
 * while; a peer that lies about its height is asked once, then ignored, and
 * the node does not show itself catching up because of it. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/keys.h"
#include "core/mp.h"
#include "ledger/genesis.h"
#include "node/chain.h"
#include "node/node.h"
#include "node/wire.h"
#include "storage/store.h"
#include "tests/unit/testutil.h"

#define SENT_MAX 64

typedef struct harness {
    uint64_t now_ms;
    gz_genesis g;
    uint8_t val_sk[32], val_pk[32];     /* the one validator (not this node) */
    uint8_t peer_sk[32], peer_pk[32];   /* an outsider peer */
    store *st;
    node *n;
    char dir[256], wal[300], ss[300];
    int drops;                          /* disconnects asked for */
    int last_drop_peer;
    struct { int peer; uint8_t type; uint64_t height; } sent[SENT_MAX];
    size_t n_sent;
} harness;

static uint64_t h_mono(void *ctx) { return ((harness *)ctx)->now_ms; }
static uint64_t h_wall(void *ctx) { return ((harness *)ctx)->g.genesis_time + ((harness *)ctx)->now_ms; }
static void h_timer_start(void *ctx, unsigned t, uint64_t d) { (void)ctx, (void)t, (void)d; }
static void h_timer_stop(void *ctx, unsigned t) { (void)ctx, (void)t; }
static void h_log(void *ctx, const char *line) { (void)ctx, (void)line; }
static void h_admitted(void *ctx, void *tag, const node_admission *a) { (void)ctx, (void)tag, (void)a; }

static void h_send(void *ctx, int peer, uint8_t type, const uint8_t *p, size_t len) {
    harness *h = ctx;
    if (h->n_sent == SENT_MAX) return;
    uint64_t v = 0;
    if (type == NODE_MSG_BLOCK_REQ) {
        mp_rd rd;
        mp_rd_init(&rd, p, len, NULL);
        cr_assert_eq(mp_get_array_n(&rd, "req", 1), GZ_OK);
        cr_assert_eq(mp_get_uint(&rd, "req.height", &v), GZ_OK);
    }
    h->sent[h->n_sent].peer = peer;
    h->sent[h->n_sent].type = type;
    h->sent[h->n_sent++].height = v;
}

static void h_disconnect(void *ctx, int peer, const char *why) {
    harness *h = ctx;
    (void)why;
    h->drops++;
    h->last_drop_peer = peer;
}

static void harness_open(harness *h) {
    memset(h, 0, sizeof *h);
    h->now_ms = 1000;
    ledger_genesis_default(&h->g);
    uint8_t own_sk[32] = {3};
    h->val_sk[0] = 1;
    h->peer_sk[0] = 2;
    cr_assert_eq(core_key_pub(h->val_pk, h->val_sk), GZ_OK);
    cr_assert_eq(core_key_pub(h->peer_pk, h->peer_sk), GZ_OK);
    h->g.n_validators = 1;
    memcpy(h->g.validators[0].pub_key, h->val_pk, 32);
    h->g.validators[0].power = 1;
    tu_tmpdir_make(h->dir, sizeof h->dir, "engine");
    snprintf(h->wal, sizeof h->wal, "%s/wal", h->dir);
    snprintf(h->ss, sizeof h->ss, "%s/signstate", h->dir);
    cr_assert_eq(store_open_memory(&h->st), GZ_OK);
    node_open_args a = {.genesis = &h->g, .st = h->st, .wal_path = h->wal, .signstate_path = h->ss, .networked = true};
    memcpy(a.seckey, own_sk, 32);
    node_env env = {.ctx = h, .mono_ms = h_mono, .wall_ms = h_wall, .timer_start = h_timer_start,
                    .timer_stop = h_timer_stop, .send = h_send, .disconnect = h_disconnect, .log = h_log,
                    .admitted = h_admitted};
    gz_msg msg = {{0}};
    cr_assert_eq(node_open(&h->n, &a, &env, &msg), GZ_OK, "%s", msg.text);
    node_start(h->n);
}

static void harness_close(harness *h) {
    node_close(h->n);
    store_close(h->st);
    ledger_genesis_free(&h->g);
    tu_tmpdir_remove(h->dir);
}

/* Block = [header, []] for height 1 of this chain; its id out. */
static void empty_block(const harness *h, uint64_t salt, gz_buf *blk, uint8_t id[32]) {
    gz_header hd = {.height = 1, .time = h->g.genesis_time + 10 + salt};
    snprintf(hd.chain_id, sizeof hd.chain_id, "%s", h->g.chain_id);
    memcpy(hd.proposer, h->val_pk, 32);
    gz_buf hb;
    gz_buf_init(&hb);
    cr_assert_eq(core_header_encode(&hd, &hb), GZ_OK);
    core_block_id(id, hb.data, hb.len);
    cr_assert_eq(mp_put_array(blk, 2), GZ_OK);
    cr_assert_eq(mp_put_bin(blk, hb.data, hb.len), GZ_OK);
    cr_assert_eq(mp_put_array(blk, 0), GZ_OK);
    gz_buf_free(&hb);
}

Test(node_engine, a_block_whose_commit_does_not_verify_takes_no_candidate_slot) {
    harness h;
    harness_open(&h);
    node_on_peer_up(h.n, 7, h.peer_pk);
    gz_buf blk, cm, msg;
    gz_buf_init(&blk);
    gz_buf_init(&cm);
    gz_buf_init(&msg);
    gz_commit c = {.height = 1, .n_sigs = 1};
    empty_block(&h, 0, &blk, c.block_id);
    memset(c.sigs[0].sig, 0x5a, 64); /* not the validator's signature */
    cr_assert_eq(core_commit_encode(&c, &cm), GZ_OK);
    cr_assert_eq(mp_put_array(&msg, 3), GZ_OK);
    cr_assert_eq(mp_put_uint(&msg, 1), GZ_OK);
    cr_assert_eq(mp_put_bin(&msg, blk.data, blk.len), GZ_OK);
    cr_assert_eq(mp_put_bin(&msg, cm.data, cm.len), GZ_OK);
    node_on_message(h.n, 7, NODE_MSG_BLOCK, msg.data, msg.len);
    cr_expect_eq(node_chain(h.n)->n_cand, 0, "the junk block is not a candidate");
    cr_expect_eq(h.drops, 1, "the peer is dropped");
    cr_expect(node_peer_banned(h.n, h.peer_pk), "an outsider that sent it is refused for a while");
    cr_expect(!node_peer_banned(h.n, h.val_pk), "a validator never is");
    h.now_ms += 61000;
    cr_expect(!node_peer_banned(h.n, h.peer_pk), "the refusal ends");
    gz_buf_free(&blk);
    gz_buf_free(&cm);
    gz_buf_free(&msg);
    harness_close(&h);
}

Test(node_engine, a_signed_proposal_with_another_block_takes_no_candidate_slot) {
    harness h;
    harness_open(&h);
    node_on_peer_up(h.n, 7, h.peer_pk);
    gz_buf signed_blk, other, pb, msg;
    gz_buf_init(&signed_blk);
    gz_buf_init(&other);
    gz_buf_init(&pb);
    gz_buf_init(&msg);
    gz_proposal p = {.height = 1, .round = 0, .pol_round = -1};
    snprintf(p.chain_id, sizeof p.chain_id, "%s", h.g.chain_id);
    uint8_t other_id[32], sh[32], sig[64];
    empty_block(&h, 0, &signed_blk, p.block_id);
    empty_block(&h, 1, &other, other_id);
    cr_assert_eq(core_proposal_sighash(sh, &p), GZ_OK);
    cr_assert_eq(core_sign32(sig, h.val_sk, sh, NULL), GZ_OK);
    cr_assert_eq(core_proposal_encode(&p, &pb), GZ_OK);
    cr_assert_eq(mp_put_array(&msg, 3), GZ_OK);
    cr_assert_eq(mp_put_bin(&msg, pb.data, pb.len), GZ_OK);
    cr_assert_eq(mp_put_bin(&msg, sig, 64), GZ_OK);
    cr_assert_eq(mp_put_bin(&msg, other.data, other.len), GZ_OK);
    node_on_message(h.n, 7, NODE_MSG_PROPOSAL, msg.data, msg.len);
    cr_expect_eq(node_chain(h.n)->n_cand, 0, "a block that is not the signed one is not kept");
    cr_expect_eq(h.drops, 1, "the peer that attached it is dropped");
    gz_buf_free(&signed_blk);
    gz_buf_free(&other);
    gz_buf_free(&pb);
    gz_buf_free(&msg);
    harness_close(&h);
}

static void status_msg(harness *h, int peer, uint64_t height) {
    gz_buf m;
    gz_buf_init(&m);
    cr_assert_eq(mp_put_array(&m, 1), GZ_OK);
    cr_assert_eq(mp_put_uint(&m, height), GZ_OK);
    node_on_message(h->n, peer, NODE_MSG_STATUS, m.data, m.len);
    gz_buf_free(&m);
}

static int block_reqs_to(const harness *h, int peer) {
    int k = 0;
    for (size_t i = 0; i < h->n_sent; i++) k += h->sent[i].type == NODE_MSG_BLOCK_REQ && h->sent[i].peer == peer;
    return k;
}

/* The periodic tick, as the host's timer would run it. */
static void tick(harness *h, uint64_t ms) {
    for (uint64_t t = 0; t < ms; t += 100) {
        h->now_ms += 100;
        node_on_timer(h->n, NODE_TIMER_TICK);
    }
}

Test(node_engine, a_peer_lying_about_its_height_is_asked_then_ignored) {
    harness h;
    harness_open(&h);
    uint8_t liar2_pk[32], sk2[32] = {4};
    cr_assert_eq(core_key_pub(liar2_pk, sk2), GZ_OK);
    node_on_peer_up(h.n, 7, h.peer_pk);
    node_on_peer_up(h.n, 8, liar2_pk);
    for (int k = 0; k < 20; k++) { /* both keep claiming, as liars do, and never answer */
        status_msg(&h, 7, 1000);
        status_msg(&h, 8, 1000);
        tick(&h, 500);
    }
    cr_expect(block_reqs_to(&h, 7) >= 1 && block_reqs_to(&h, 8) >= 1, "both claims are tried (%d, %d)",
              block_reqs_to(&h, 7), block_reqs_to(&h, 8));
    cr_expect(block_reqs_to(&h, 7) + block_reqs_to(&h, 8) <= 8, "but not asked again and again (%d requests in 10 s)",
              block_reqs_to(&h, 7) + block_reqs_to(&h, 8));
    node_status st;
    node_status_get(h.n, &st);
    cr_expect(!st.catching_up, "the liars' claims do not show the node catching up");
    cr_expect_eq(st.sync_target, 0, "nor count as the sync target");
    harness_close(&h);
}
