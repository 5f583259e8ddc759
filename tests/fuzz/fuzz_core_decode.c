/* libFuzzer target: the core decoders of signed consensus bytes
 * (core/codec.h), one per input: the first byte picks Header, Vote,
 * Proposal, Commit or AnchorLeaf (modulo 5), the rest is the bytes. What
 * decodes must re-encode to exactly the input (the codec is canonical); a
 * decoded commit is also verified against the fixed chain's validators.
 * (fuzz_tx_decode runs every decoder on each input too; this target gives
 * each its own seeds.)
 *
 * Seeds: the header and commit of height 1 and a vote and a proposal of a
 * 4-validator network on the same chain, and an anchor leaf. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/mp.h"
#include "node/chain.h"
#include "node/wire.h"
#include "tests/fuzz/fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { K_HEADER, K_VOTE, K_PROPOSAL, K_COMMIT, K_LEAF, K_N };

static gz_genesis G;

static void same(int rc, const gz_buf *b, const uint8_t *p, size_t len) {
    if (rc != GZ_OK || b->len != len || memcmp(b->data, p, len) != 0) __builtin_trap();
}

static void decode(int kind, const uint8_t *p, size_t len, gz_buf *b) {
    static gz_header h;
    static gz_vote v;
    static gz_proposal pr;
    static gz_commit c;
    static gz_anchor_leaf l;
    gz_msg msg;
    if (kind == K_HEADER && core_header_decode(&h, p, len, &msg) == GZ_OK) same(core_header_encode(&h, b), b, p, len);
    if (kind == K_VOTE && core_vote_decode(&v, p, len, &msg) == GZ_OK) same(core_vote_encode(&v, b), b, p, len);
    if (kind == K_PROPOSAL && core_proposal_decode(&pr, p, len, &msg) == GZ_OK)
        same(core_proposal_encode(&pr, b), b, p, len);
    if (kind == K_LEAF && core_anchor_leaf_decode(&l, p, len, &msg) == GZ_OK)
        same(core_anchor_leaf_encode(&l, b), b, p, len);
    if (kind == K_COMMIT && core_commit_decode(&c, p, len, &msg) == GZ_OK) {
        same(core_commit_encode(&c, b), b, p, len);
        (void)core_commit_verify(&c, G.chain_id, c.block_id, c.height, G.validators, G.n_validators, &msg);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    gz_buf b;
    gz_buf_init(&b);
    decode(data[0] % K_N, data + 1, size - 1, &b);
    gz_buf_free(&b);
    return 0;
}

static void seed(const char *dir, const char *name, int kind, const uint8_t *p, size_t len) {
    gz_buf b;
    gz_buf_init(&b);
    uint8_t k = (uint8_t)kind;
    if (gz_buf_append(&b, &k, 1) != GZ_OK || gz_buf_append(&b, p, len) != GZ_OK || fz_seed(dir, name, b.data, b.len))
        exit(1);
    gz_buf_free(&b);
}

/* The first element of a gossip message [X bin, ...]. */
static void seed_first(const char *dir, const char *name, int kind, const fz_sent *s) {
    mp_rd rd;
    gz_msg msg;
    uint32_t n;
    const uint8_t *p;
    size_t len;
    if (s == NULL) exit(1);
    mp_rd_init(&rd, s->payload.data, s->payload.len, &msg);
    if (mp_get_array(&rd, "msg", &n, 1, 8) != GZ_OK || mp_get_bin(&rd, "msg.0", &p, &len, s->payload.len) != GZ_OK)
        exit(1);
    seed(dir, name, kind, p, len);
}

static void write_seeds(const char *dir) {
    static fz_net net;
    if (fz_net_run(&net, &G, 1) != 0) exit(1);
    chain *c = node_chain(net.nodes[0].eng);
    chain_stored s = {0};
    gz_buf cm;
    gz_buf_init(&cm);
    if (chain_stored_load(c, 1, &s) != GZ_OK || chain_commit_bytes(c, 1, &cm) != GZ_OK) exit(1);
    seed(dir, "header_1", K_HEADER, s.hdr, s.hdr_len);
    seed(dir, "commit_1", K_COMMIT, cm.data, cm.len);
    seed_first(dir, "vote", K_VOTE, fz_net_find(&net, 1, NODE_MSG_VOTE, 0));
    seed_first(dir, "proposal", K_PROPOSAL, fz_net_find(&net, -1, NODE_MSG_PROPOSAL, 0));
    gz_anchor_leaf l = {.kind = 1, .has_parent = true, .height = 1, .time = G.genesis_time + 1000};
    memset(l.artifact, 0x11, 32);
    memset(l.parent, 0x22, 32);
    snprintf(l.work_id, sizeof l.work_id, "work-0");
    gz_buf_reset(&cm);
    if (core_anchor_leaf_encode(&l, &cm) != GZ_OK) exit(1);
    seed(dir, "anchor_leaf", K_LEAF, cm.data, cm.len);
    gz_buf_free(&cm);
    chain_stored_free(&s);
    fz_net_free(&net);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_genesis(&G);
    fz_seed_mode(write_seeds);
    return 0;
}
