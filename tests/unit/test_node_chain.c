/* The chain's bounded candidate set: a flood of blocks for the height in
 * progress evicts the oldest, but never a block chain_keep protects (the one
 * consensus is locked on, holds as valid, or votes on). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/keys.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "node/chain.h"
#include "node/mempool.h"
#include "storage/store.h"

typedef struct fixture {
    gz_genesis g;
    store *st;
    ledger *lg;
    chain ch;
    mempool mp;
    uint8_t proposer[32];
} fixture;

static void fixture_open(fixture *f) {
    memset(f, 0, sizeof *f);
    ledger_genesis_default(&f->g);
    uint8_t sk[32] = {1};
    cr_assert_eq(core_key_pub(f->proposer, sk), GZ_OK);
    f->g.n_validators = 1;
    memcpy(f->g.validators[0].pub_key, f->proposer, 32);
    f->g.validators[0].power = 1;
    gz_msg msg = {{0}};
    cr_assert_eq(store_open_memory(&f->st), GZ_OK);
    cr_assert_eq(ledger_open(&f->lg, f->st, &f->g, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(chain_open(&f->ch, f->st, f->lg, &f->g, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(mempool_init(&f->mp, 1, 1), GZ_OK);
}

static void fixture_close(fixture *f) {
    chain_close(&f->ch);
    mempool_free(&f->mp);
    ledger_close(f->lg);
    store_close(f->st);
}

/* A new empty block for height 1, its time (so its id) differing by t. */
static void build(fixture *f, uint64_t t, uint8_t id[32]) {
    chain_block *b = NULL;
    cr_assert_eq(chain_build(&f->ch, &f->mp, f->g.genesis_time + 1000 + t, f->proposer, &b), GZ_OK);
    memcpy(id, b->block_id, 32);
}

Test(node_chain, a_full_set_evicts_the_oldest_block_not_kept) {
    fixture f;
    fixture_open(&f);
    uint8_t first[32], second[32], id[32];
    build(&f, 0, first);
    build(&f, 1, second);
    chain_keep(&f.ch, (const uint8_t (*)[32])first, 1);
    for (uint64_t t = 2; t < 2 + 3 * GZ_BLOCK_CANDIDATES_MAX; t++) build(&f, t, id);
    cr_expect_eq(f.ch.n_cand, GZ_BLOCK_CANDIDATES_MAX, "the set stays bounded");
    cr_expect_not_null(chain_find(&f.ch, first), "the kept block survives the flood");
    cr_expect_null(chain_find(&f.ch, second), "an old block that is not kept is evicted");
    cr_expect_not_null(chain_find(&f.ch, id), "the newest block is held");
    fixture_close(&f);
}

Test(node_chain, every_kept_block_survives) {
    fixture f;
    fixture_open(&f);
    uint8_t kept[CHAIN_KEEP_MAX][32], id[32];
    for (uint64_t k = 0; k < CHAIN_KEEP_MAX; k++) build(&f, 10 * k, kept[k]);
    chain_keep(&f.ch, (const uint8_t (*)[32])kept, CHAIN_KEEP_MAX);
    for (uint64_t t = 1; t < 4 * GZ_BLOCK_CANDIDATES_MAX; t++) build(&f, 1000 + t, id);
    for (size_t k = 0; k < CHAIN_KEEP_MAX; k++) cr_expect_not_null(chain_find(&f.ch, kept[k]), "kept block %zu", k);
    chain_clear(&f.ch);
    cr_expect_eq(f.ch.n_keep, 0, "a new height keeps nothing of the old one");
    fixture_close(&f);
}

/* ---- building a block from a hostile mempool -------------------------------- */

static void add_tx(mempool *mp, const gz_tx *tx, const uint8_t *bytes, size_t len) {
    mempool_tx t = {.nonce = tx->nonce, .next = 0, .peer = MEMPOOL_LOCAL};
    memcpy(t.txid, tx->txid, 32);
    memcpy(t.signer, tx->signer, 32);
    gz_msg msg = {{0}};
    cr_assert_eq(mempool_add(mp, &t, bytes, len, &msg), GZ_OK, "%s", msg.text);
}

/* The fixture, with these holders registered at genesis and a pool of the
 * node's size. */
static void holders_fixture_open(fixture *f, const uint8_t (*holders)[32], size_t n) {
    memset(f, 0, sizeof *f);
    ledger_genesis_default(&f->g);
    uint8_t sk[32] = {1};
    cr_assert_eq(core_key_pub(f->proposer, sk), GZ_OK);
    f->g.n_validators = 1;
    memcpy(f->g.validators[0].pub_key, f->proposer, 32);
    f->g.validators[0].power = 1;
    for (size_t i = 0; i < n; i++) {
        gz_genesis_account a = {.level = 1};
        memcpy(a.account, holders[i], 32);
        cr_assert_eq(ledger_genesis_add_account(&f->g, &a), GZ_OK);
    }
    gz_msg msg = {{0}};
    cr_assert_eq(store_open_memory(&f->st), GZ_OK);
    cr_assert_eq(ledger_open(&f->lg, f->st, &f->g, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(chain_open(&f->ch, f->st, f->lg, &f->g, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(mempool_init(&f->mp, GZ_MEMPOOL_TXS_MAX, GZ_MEMPOOL_BYTES_MAX), GZ_OK);
}

/* An anchor by registered holder sk with this nonce, signed, into the pool. */
static void add_anchor(fixture *f, const uint8_t sk[32], uint64_t nonce, uint8_t (*txid)[32]) {
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    snprintf(tx.chain_id, sizeof tx.chain_id, "%s", f->g.chain_id);
    cr_assert_eq(core_key_pub(tx.signer, sk), GZ_OK);
    tx.nonce = nonce;
    tx.type = GZ_TX_ANCHOR;
    memcpy(tx.p.anchor.artifact, tx.signer, 32);
    tx.p.anchor.artifact[0] ^= (uint8_t)(nonce + 1);
    tx.p.anchor.kind = 1;
    snprintf(tx.p.anchor.work_id, sizeof tx.p.anchor.work_id, "w");
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(core_tx_sign_encode(&tx, sk, &b), GZ_OK);
    add_tx(&f->mp, &tx, b.data, b.len);
    if (txid != NULL) memcpy(*txid, tx.txid, 32);
    gz_buf_free(&b);
}

static bool block_has(const chain_block *b, const uint8_t txid[32]) {
    for (size_t i = 0; i < b->n_txs; i++)
        if (memcmp(b->txs[i].txid, txid, 32) == 0) return true;
    return false;
}

/* The attack of ~36,000 txs with nonce 1 from fresh keys, and more: a pool
 * full of txs no block can take (their signers are at nonce 0, or unknown).
 * The build used to probe a nonce table sized by the pool, one ledger read
 * per signer, and spun for ever once the signers outnumbered its slots. Now
 * it looks at each entry once without a read, ends, and takes the txs that
 * can execute, even behind all the junk. */
Test(node_chain, a_pool_full_of_unexecutable_txs_builds_quickly, .timeout = 60) {
    fixture f;
    uint8_t sk[3][32], pub[3][32];
    for (int i = 0; i < 3; i++) {
        memset(sk[i], 0x40 + i, 32);
        cr_assert_eq(core_key_pub(pub[i], sk[i]), GZ_OK);
    }
    holders_fixture_open(&f, (const uint8_t (*)[32])pub, 3);
    static const uint8_t junk[100] = {0x92};
    for (uint32_t i = 0; mempool_count(&f.mp) < GZ_MEMPOOL_TXS_MAX - 7; i++) {
        gz_tx t = {.nonce = 1};
        memset(t.txid, 0, 32);
        memcpy(t.txid, &i, sizeof i);
        t.txid[8] = 0xee;
        memcpy(t.signer, t.txid, 32); /* a fresh key per tx */
        t.signer[31] = 0x11;
        add_tx(&f.mp, &t, junk, sizeof junk);
    }
    uint8_t want[6][32], gap[32];
    for (uint64_t k = 0; k < 5; k++) add_anchor(&f, sk[0], k, &want[k]); /* a run from nonce 0 */
    add_anchor(&f, sk[1], 0, &want[5]);
    add_anchor(&f, sk[2], 2, &gap); /* a gap: nonces 0 and 1 missing */
    cr_assert_eq(mempool_count(&f.mp), GZ_MEMPOOL_TXS_MAX);
    cr_assert_eq(mempool_ready(&f.mp), 2, "only holders 0 and 1 can go into the next block");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    chain_block *b = NULL;
    cr_assert_eq(chain_build(&f.ch, &f.mp, f.g.genesis_time + 1000, f.proposer, &b), GZ_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1000.0 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    cr_expect_eq(b->n_txs, 6, "the run of holder 0 and holder 1's tx, nothing else");
    for (int k = 0; k < 6; k++) cr_expect(block_has(b, want[k]), "executable tx %d is in the block", k);
    cr_expect_not(block_has(b, gap), "a tx behind a nonce gap is not");
    for (size_t i = 0; i < b->n_txs; i++) cr_expect_eq(ledger_block_tx_code(b->exec, i), 0, "tx %zu executes", i);
    cr_expect_lt(ms, 2000.0, "a build over a full pool of junk takes %.0f ms", ms);
    fixture_close(&f);
}

/* ---- a VALIDATOR_UPDATE's approvals live in the block's own bytes ----------- */

/* The fixture's validator (secret key {1}) adds a new key with power 1: one
 * approval, all of the power. The tx goes into f's pool; its bytes into out. */
static void add_update(fixture *f, gz_buf *out) {
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    uint8_t sk[32] = {1}, vh[32], digest[32];
    snprintf(tx.chain_id, sizeof tx.chain_id, "%s", f->g.chain_id);
    memcpy(tx.signer, f->proposer, 32);
    tx.type = GZ_TX_VALIDATOR_UPDATE;
    gz_p_validator_update *p = &tx.p.validator_update;
    memset(p->pub_key, 0, 32);
    uint8_t other[32] = {2};
    cr_assert_eq(core_key_pub(p->pub_key, other), GZ_OK);
    p->power = 1;
    snprintf(p->name, sizeof p->name, "new");
    ledger_validators_next_hash(f->lg, vh);
    cr_assert_eq(core_valset_approval_hash(digest, f->g.chain_id, vh, p->pub_key, 1, "new"), GZ_OK);
    gz_approval a = {.validator_index = 0};
    cr_assert_eq(core_sign32(a.sig, sk, digest, NULL), GZ_OK);
    gz_buf approvals;
    gz_buf_init(&approvals);
    cr_assert_eq(core_approvals_encode(&a, 1, &approvals), GZ_OK);
    p->n_approvals = 1;
    p->approvals = approvals.data;
    p->approvals_len = approvals.len;
    cr_assert_eq(core_tx_sign_encode(&tx, sk, out), GZ_OK);
    gz_buf_free(&approvals);
    add_tx(&f->mp, &tx, out->data, out->len);
}

static void expect_own_approvals(const chain_block *b) {
    cr_assert_eq(b->n_txs, 1);
    const gz_p_validator_update *p = &b->txs[0].p.validator_update;
    cr_assert(p->approvals >= b->bytes.data && p->approvals + p->approvals_len <= b->bytes.data + b->bytes.len,
              "the approvals point into the block's own bytes");
    gz_approval a;
    cr_assert_eq(core_approvals_get(p, 0, &a), GZ_OK);
    cr_assert_eq(a.validator_index, 0);
    cr_assert(memcmp(b->header.validators_hash, b->header.next_validators_hash, 32) != 0, "the block changes the set");
}

/* A built block keeps its txs when they leave the pool, and a received one
 * when the message it came in is gone: a decoded VALIDATOR_UPDATE points at
 * its bytes (core/codec.h), so both must be the block's (the simulator found
 * a node reading a freed message here after a WAL replay). */
Test(node_chain, validator_update_approvals_stay_with_the_block) {
    fixture f, g;
    holders_fixture_open(&f, NULL, 0);
    holders_fixture_open(&g, NULL, 0);
    gz_buf tx;
    gz_buf_init(&tx);
    add_update(&f, &tx);
    chain_block *b = NULL;
    cr_assert_eq(chain_build(&f.ch, &f.mp, f.g.genesis_time + 1000, f.proposer, &b), GZ_OK);
    cr_assert(mempool_remove(&f.mp, b->txs[0].txid));
    expect_own_approvals(b);
    cr_assert_eq(ledger_block_tx_code(b->exec, 0), 0, "%s", ledger_block_tx_message(b->exec, 0));
    /* The same block received by another node, from a message freed at once. */
    gz_buf msg_bytes;
    gz_buf_init(&msg_bytes);
    cr_assert_eq(gz_buf_append(&msg_bytes, b->bytes.data, b->bytes.len), GZ_OK);
    chain_block *r = NULL;
    gz_msg msg = {{0}};
    cr_assert_eq(chain_add_block(&g.ch, &g.mp, msg_bytes.data, msg_bytes.len, b->block_id, &r, &msg), GZ_OK, "%s",
                 msg.text);
    memset(msg_bytes.data, 0, msg_bytes.len);
    gz_buf_free(&msg_bytes);
    expect_own_approvals(r);
    cr_assert(chain_validate(&g.ch, r, f.g.genesis_time + 1000), "%s", r->reason);
    cr_assert_eq(ledger_block_tx_code(r->exec, 0), 0, "%s", ledger_block_tx_message(r->exec, 0));
    gz_buf_free(&tx);
    fixture_close(&f);
    fixture_close(&g);
}
