/* The mempool (node/mempool.h): order and index, its bounds and the
 * per-signer and per-peer caps, the ready counts the empty-block wait reads,
 * the recheck after a commit and the TTL. Then admission through a real
 * engine (node/admit.c): a registered signer and a nonce in the window. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "node/mempool.h"
#include "node/node.h"
#include "tests/unit/testutil.h"

static void id_of(uint8_t id[32], uint32_t i) {
    memset(id, 0, 32);
    /* Spread the index over the first bytes, which the index hashes. */
    for (int b = 0; b < 8; b++) id[b] = (uint8_t)((i * 2654435761u) >> (b % 4 * 8));
    memcpy(id + 8, &i, sizeof i);
}

static bool collect(const mempool_entry *e, void *data) {
    uint32_t *out = data;
    uint32_t i;
    memcpy(&i, e->txid + 8, sizeof i);
    out[++out[0]] = i;
    return true;
}

/* Adds tx i of signer `who` (a signer key made from the number) with nonce
 * and the signer's committed next nonce, from peer, at now_ms. */
static int add_full(mempool *m, uint32_t i, uint32_t who, uint64_t nonce, uint64_t next, int peer, uint64_t now_ms,
                    size_t len) {
    static uint8_t data[4096];
    mempool_tx t = {.nonce = nonce, .next = next, .peer = peer, .now_ms = now_ms};
    id_of(t.txid, i);
    id_of(t.signer, who ^ 0x5a5a5a5au);
    gz_msg msg = {{0}};
    cr_assert_leq(len, sizeof data);
    return mempool_add(m, &t, data, len, &msg);
}

static int add(mempool *m, uint32_t i, uint32_t who, uint64_t nonce, size_t len) {
    return add_full(m, i, who, nonce, 0, MEMPOOL_LOCAL, 0, len);
}

static const mempool_signer *signer_of(const mempool *m, uint32_t who) {
    uint8_t s[32];
    id_of(s, who ^ 0x5a5a5a5au);
    return mempool_signer_get(m, s);
}

Test(mempool, keeps_arrival_order_and_finds_by_txid) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 100, 1 << 20), GZ_OK);
    uint8_t id[32];
    for (uint32_t i = 0; i < 50; i++) cr_assert_eq(add(&m, i, 1, i, 32), GZ_OK);
    cr_assert_eq(mempool_count(&m), 50);
    cr_assert_eq(mempool_bytes(&m), 50 * 32);
    id_of(id, 17);
    cr_assert(mempool_has(&m, id));
    cr_assert(mempool_remove(&m, id));
    cr_assert_not(mempool_has(&m, id));
    cr_assert_not(mempool_remove(&m, id));
    uint32_t seen[64] = {0};
    mempool_each(&m, collect, seen);
    cr_assert_eq(seen[0], 49);
    for (uint32_t k = 1; k <= 49; k++) cr_assert_eq(seen[k], k - 1 < 17 ? k - 1 : k);
    mempool_free(&m);
}

Test(mempool, refuses_duplicates_and_respects_both_bounds) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 3, 100), GZ_OK);
    cr_assert_eq(add(&m, 1, 1, 0, 10), GZ_OK);
    cr_assert_eq(add(&m, 1, 1, 0, 10), GZ_EDUP);
    cr_assert_eq(add(&m, 2, 2, 0, 64), GZ_OK);
    cr_assert_eq(add(&m, 3, 3, 0, 30), GZ_EMEMPOOL, "bytes bound: 10 + 64 + 30 > 100");
    cr_assert_eq(add(&m, 3, 3, 0, 20), GZ_OK);
    cr_assert_eq(add(&m, 4, 4, 0, 1), GZ_EMEMPOOL, "count bound: 3");
    cr_assert_eq(m.stats.refused_full, 2);
    uint8_t id[32];
    id_of(id, 2);
    cr_assert(mempool_remove(&m, id));
    cr_assert_eq(add(&m, 4, 4, 0, 1), GZ_OK, "room again after a removal");
    mempool_free(&m);
}

/* Many adds and removes in a rolling window: the index, the order array and
 * the signer table compact themselves, every live entry stays findable, and
 * order holds. */
Test(mempool, churn_keeps_index_and_order_consistent) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 5000, 1 << 24), GZ_OK);
    uint8_t id[32];
    uint32_t next = 0, first = 0;
    for (int round = 0; round < 200; round++) {
        for (int k = 0; k < 300; k++, next++) cr_assert_eq(add(&m, next, next, 0, 32), GZ_OK);
        for (int k = 0; k < 280; k++, first++) {
            id_of(id, first);
            cr_assert(mempool_remove(&m, id), "entry %u", first);
        }
    }
    cr_assert_eq(mempool_count(&m), next - first);
    cr_assert_eq(m.n_signers, next - first, "one record per signer with txs");
    for (uint32_t i = 0; i < next; i++) {
        id_of(id, i);
        cr_assert_eq(mempool_has(&m, id), i >= first);
        cr_assert_eq(signer_of(&m, i) != NULL, i >= first, "signer %u", i);
    }
    static uint32_t seen[5000];
    memset(seen, 0, sizeof seen);
    mempool_each(&m, collect, seen);
    cr_assert_eq(seen[0], next - first);
    for (uint32_t k = 1; k <= seen[0]; k++) cr_assert_eq(seen[k], first + k - 1);
    cr_assert_eq(mempool_ready(&m), next - first, "each signer's one tx is at its next nonce");
    mempool_free(&m);
}

Test(mempool, has_bytes_needs_the_same_signature) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 10, 1 << 20), GZ_OK);
    uint8_t tx[40];
    memset(tx, 7, sizeof tx);
    mempool_tx t = {.nonce = 0, .peer = MEMPOOL_LOCAL};
    id_of(t.txid, 9);
    cr_assert_eq(mempool_add(&m, &t, tx, sizeof tx, NULL), GZ_OK);
    cr_assert(mempool_has_bytes(&m, t.txid, tx, sizeof tx));
    tx[39] ^= 1; /* same txid, another signature */
    cr_assert_not(mempool_has_bytes(&m, t.txid, tx, sizeof tx));
    cr_assert_not(mempool_has_bytes(&m, t.txid, tx, sizeof tx - 1));
    mempool_free(&m);
}

Test(mempool, one_signer_has_a_capped_share) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 10000, 1 << 24), GZ_OK);
    cr_assert_eq(m.signer_txs_max, GZ_MEMPOOL_SIGNER_TXS_MAX);
    for (uint32_t i = 0; i < GZ_MEMPOOL_SIGNER_TXS_MAX; i++) cr_assert_eq(add(&m, i, 1, i, 100), GZ_OK, "tx %u", i);
    mempool_tx t = {.nonce = 3, .peer = MEMPOOL_LOCAL};
    id_of(t.txid, 999);
    id_of(t.signer, 1 ^ 0x5a5a5a5au);
    gz_msg msg = {{0}};
    cr_assert_eq(mempool_add(&m, &t, (const uint8_t *)"x", 1, &msg), GZ_EMEMPOOL);
    cr_assert(strstr(msg.text, "body.signer") != NULL, "the message names the field: %s", msg.text);
    cr_assert_eq(m.stats.refused_signer, 1);
    cr_assert_eq(add(&m, 1000, 2, 0, 100), GZ_OK, "another signer still gets in");
    /* The bytes cap: signer 3 may pend at most signer_bytes_max bytes. */
    m.signer_bytes_max = 250;
    cr_assert_eq(add(&m, 2000, 3, 0, 200), GZ_OK);
    cr_assert_eq(add(&m, 2001, 3, 1, 100), GZ_EMEMPOOL, "200 + 100 bytes > 250");
    cr_assert_eq(add(&m, 2002, 3, 1, 50), GZ_OK);
    uint8_t id[32];
    id_of(id, 5);
    cr_assert(mempool_remove(&m, id));
    cr_assert_eq(add(&m, 999, 1, 3, 1), GZ_OK, "room for signer 1 after one of its txs left");
    mempool_free(&m);
}

Test(mempool, one_peer_has_a_capped_share) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 10000, 1 << 24), GZ_OK);
    m.peer_txs_max = 5;
    for (uint32_t i = 0; i < 5; i++) cr_assert_eq(add_full(&m, i, i, 0, 0, 7, 0, 10), GZ_OK);
    cr_assert_eq(add_full(&m, 5, 5, 0, 0, 7, 0, 10), GZ_EMEMPOOL, "peer 7 has 5 pending");
    cr_assert_eq(m.stats.refused_peer, 1);
    cr_assert_eq(add_full(&m, 6, 6, 0, 0, 8, 0, 10), GZ_OK, "peer 8 has its own share");
    for (uint32_t i = 7; i < 20; i++)
        cr_assert_eq(add_full(&m, i, i, 0, 0, MEMPOOL_LOCAL, 0, 10), GZ_OK, "local clients have no peer cap");
    uint8_t id[32];
    id_of(id, 2);
    cr_assert(mempool_remove(&m, id));
    cr_assert_eq(add_full(&m, 5, 5, 0, 0, 7, 0, 10), GZ_OK, "room for peer 7 after one of its txs left");
    m.peer_bytes_max = 15;
    cr_assert_eq(add_full(&m, 30, 30, 0, 0, 9, 0, 10), GZ_OK);
    cr_assert_eq(add_full(&m, 31, 31, 0, 0, 9, 0, 10), GZ_EMEMPOOL, "peer 9: 10 + 10 bytes > 15");
    mempool_free(&m);
}

/* Only a tx at its signer's committed next nonce makes the signer ready:
 * future nonces, however many, do not. */
Test(mempool, only_txs_at_the_next_nonce_are_ready) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 1000, 1 << 20), GZ_OK);
    for (uint32_t s = 0; s < 50; s++) cr_assert_eq(add_full(&m, s, s, 7, 5, MEMPOOL_LOCAL, 0, 10), GZ_OK);
    cr_assert_eq(mempool_count(&m), 50);
    cr_assert_eq(mempool_ready(&m), 0, "nonce 7 with next 5: nothing can go into a block");
    cr_assert_eq(add_full(&m, 100, 3, 5, 5, MEMPOOL_LOCAL, 0, 10), GZ_OK);
    cr_assert_eq(mempool_ready(&m), 1);
    cr_assert_eq(mempool_ready_txs(&m), 2, "signer 3's two txs");
    uint8_t id[32];
    id_of(id, 100);
    cr_assert(mempool_remove(&m, id));
    cr_assert_eq(mempool_ready(&m), 0);
    cr_assert_eq(mempool_ready_txs(&m), 0);
    mempool_free(&m);
}

typedef struct nonces {
    uint32_t who[4];
    uint64_t next[4];
    int rc[4];
    size_t n, asked;
} nonces;

static int nonce_of(void *ctx, const uint8_t signer[32], uint64_t *next) {
    nonces *x = ctx;
    x->asked++;
    for (size_t i = 0; i < x->n; i++) {
        uint8_t s[32];
        id_of(s, x->who[i] ^ 0x5a5a5a5au);
        if (memcmp(s, signer, 32) == 0) {
            *next = x->next[i];
            return x->rc[i];
        }
    }
    cr_assert_fail("asked about a signer not in the list");
    return GZ_EMISUSE;
}

static void signer_key(uint8_t out[32], uint32_t who) { id_of(out, who ^ 0x5a5a5a5au); }

/* After a commit moved signer 1 from nonce 0 to 2, its txs 0 and 1 can no
 * longer execute and leave; tx 2 becomes ready; signer 2, not in the block,
 * is not asked about and keeps its future tx. A signer the ledger no longer
 * knows loses all its txs. */
Test(mempool, recheck_after_a_commit_evicts_what_cannot_execute) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 1000, 1 << 20), GZ_OK);
    for (uint32_t k = 0; k < 4; k++) cr_assert_eq(add_full(&m, k, 1, k, 0, MEMPOOL_LOCAL, 0, 10), GZ_OK);
    cr_assert_eq(add_full(&m, 10, 2, 3, 0, MEMPOOL_LOCAL, 0, 10), GZ_OK);
    cr_assert_eq(add_full(&m, 20, 3, 0, 0, MEMPOOL_LOCAL, 0, 10), GZ_OK);
    cr_assert_eq(mempool_ready(&m), 2, "signers 1 and 3");
    uint8_t keys[2][32];
    signer_key(keys[0], 1);
    signer_key(keys[1], 1); /* a block may name a signer twice */
    nonces x = {.who = {1}, .next = {2}, .rc = {GZ_OK}, .n = 1};
    cr_assert_eq(mempool_recheck(&m, (const uint8_t (*)[32])keys, 2, nonce_of, &x), 2);
    cr_assert_eq(x.asked, 1, "each signer is asked about once");
    uint8_t id[32];
    for (uint32_t k = 0; k < 4; k++) {
        id_of(id, k);
        cr_assert_eq(mempool_has(&m, id), k >= 2, "tx of nonce %u", k);
    }
    cr_assert_eq(signer_of(&m, 1)->next, 2);
    cr_assert_eq(signer_of(&m, 1)->n_txs, 2);
    cr_assert_eq(mempool_ready(&m), 2, "signer 1 at nonce 2, signer 3 at 0");
    cr_assert_eq(mempool_ready_txs(&m), 3);
    cr_assert_eq(m.stats.evicted_stale, 2);
    /* Signer 3 gone: its tx leaves, and its record. */
    signer_key(keys[0], 3);
    nonces y = {.who = {3}, .rc = {GZ_ENOTFOUND}, .n = 1};
    cr_assert_eq(mempool_recheck(&m, (const uint8_t (*)[32])keys, 1, nonce_of, &y), 1);
    cr_assert_null(signer_of(&m, 3));
    cr_assert_eq(mempool_ready(&m), 1);
    cr_assert_eq(mempool_count(&m), 3);
    /* A read error evicts nothing. */
    signer_key(keys[0], 2);
    nonces z = {.who = {2}, .next = {9}, .rc = {GZ_ESTORAGE}, .n = 1};
    cr_assert_eq(mempool_recheck(&m, (const uint8_t (*)[32])keys, 1, nonce_of, &z), 0);
    id_of(id, 10);
    cr_assert(mempool_has(&m, id));
    mempool_free(&m);
}

/* Every tx leaves ttl after its admission, committed or not; the time comes
 * in as an argument. */
Test(mempool, txs_expire_after_the_ttl) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 1000, 1 << 20), GZ_OK);
    cr_assert_eq(add_full(&m, 1, 1, 5, 0, MEMPOOL_LOCAL, 1000, 10), GZ_OK);
    cr_assert_eq(add_full(&m, 2, 2, 0, 0, MEMPOOL_LOCAL, 2000, 10), GZ_OK);
    cr_assert_eq(add_full(&m, 3, 1, 6, 0, 4, 3000, 10), GZ_OK);
    cr_assert_eq(mempool_expire(&m, 1000 + GZ_MEMPOOL_TTL_MS - 1, GZ_MEMPOOL_TTL_MS), 0, "none is old enough");
    cr_assert_eq(mempool_expire(&m, 2000 + GZ_MEMPOOL_TTL_MS, GZ_MEMPOOL_TTL_MS), 2);
    uint8_t id[32];
    id_of(id, 3);
    cr_assert(mempool_has(&m, id), "the youngest stays");
    cr_assert_eq(mempool_count(&m), 1);
    cr_assert_eq(m.stats.evicted_expired, 2);
    cr_assert_eq(mempool_ready(&m), 0);
    cr_assert_null(signer_of(&m, 2));
    cr_assert_eq(mempool_expire(&m, 3000 + GZ_MEMPOOL_TTL_MS, GZ_MEMPOOL_TTL_MS), 1);
    cr_assert_eq(mempool_count(&m), 0);
    cr_assert_eq(m.n_signers, 0);
    cr_assert_eq(m.sources[1].used, false, "the peer's slot is free again");
    mempool_free(&m);
}

/* ---- admission through an engine ------------------------------------------ */

typedef struct engine {
    char dir[128];
    gz_genesis g;
    store *st;
    node *n;
    uint64_t now;
    uint8_t user_sk[32], user_pk[32], reg_sk[32], reg_pk[32];
    int last_rc;
    char last_msg[256];
    int verdicts;
} engine;

static uint64_t e_mono(void *ctx) { return ((engine *)ctx)->now; }
static uint64_t e_wall(void *ctx) { return ((engine *)ctx)->g.genesis_time + ((engine *)ctx)->now; }
static void e_timer_start(void *ctx, unsigned t, uint64_t d) { (void)ctx, (void)t, (void)d; }
static void e_timer_stop(void *ctx, unsigned t) { (void)ctx, (void)t; }
static void e_send(void *ctx, int p, uint8_t t, const uint8_t *d, size_t l) { (void)ctx, (void)p, (void)t, (void)d, (void)l; }
static void e_disconnect(void *ctx, int p, const char *w) { (void)ctx, (void)p, (void)w; }
static void e_log(void *ctx, const char *line) { (void)ctx, (void)line; }
static void e_admitted(void *ctx, void *tag, const node_admission *a) {
    engine *e = ctx;
    (void)tag;
    e->last_rc = a->rc;
    snprintf(e->last_msg, sizeof e->last_msg, "%s", a->rc == GZ_OK ? "" : a->msg->text);
    e->verdicts++;
}

static void key(uint8_t sk[32], uint8_t pk[32], uint8_t seed) {
    memset(sk, seed, 32);
    cr_assert_eq(core_key_pub(pk, sk), GZ_OK);
}

/* A single validator with one registered user; the engine is not started
 * (admission needs no consensus), so nothing commits behind the test's back. */
static void engine_open(engine *e) {
    memset(e, 0, sizeof *e);
    tu_tmpdir_make(e->dir, sizeof e->dir, "admit");
    ledger_genesis_default(&e->g);
    uint8_t vsk[32];
    key(vsk, e->g.validators[0].pub_key, 1);
    e->g.n_validators = 1;
    e->g.validators[0].power = 1;
    key(e->user_sk, e->user_pk, 2);
    gz_genesis_account a = {.level = 1};
    memcpy(a.account, e->user_pk, 32);
    cr_assert_eq(ledger_genesis_add_account(&e->g, &a), GZ_OK);
    key(e->reg_sk, e->reg_pk, 3);
    e->g.n_authorities[GZ_ROLE_REGISTRAR] = 1;
    memcpy(e->g.authorities[GZ_ROLE_REGISTRAR][0], e->reg_pk, 32);
    cr_assert_eq(store_open_memory(&e->st), GZ_OK);
    char wal[200], ss[200];
    snprintf(wal, sizeof wal, "%s/wal", e->dir);
    snprintf(ss, sizeof ss, "%s/signstate", e->dir);
    node_open_args args = {.genesis = &e->g, .st = e->st, .wal_path = wal, .signstate_path = ss};
    memcpy(args.seckey, vsk, 32);
    node_env env = {.ctx = e, .mono_ms = e_mono, .wall_ms = e_wall, .timer_start = e_timer_start,
                    .timer_stop = e_timer_stop, .send = e_send, .disconnect = e_disconnect, .log = e_log,
                    .admitted = e_admitted};
    gz_msg msg = {{0}};
    cr_assert_eq(node_open(&e->n, &args, &env, &msg), GZ_OK, "%s", msg.text);
}

static void engine_close(engine *e) {
    node_close(e->n);
    store_close(e->st);
    tu_tmpdir_remove(e->dir);
}

/* Submits an anchor (or, with reg, an ACCOUNT_SET) and admits it; returns rc. */
static int submit(engine *e, const uint8_t sk[32], const uint8_t pk[32], uint64_t nonce, int type) {
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    snprintf(tx.chain_id, sizeof tx.chain_id, "%s", e->g.chain_id);
    memcpy(tx.signer, pk, 32);
    tx.nonce = nonce;
    tx.type = (uint64_t)type;
    if (type == GZ_TX_ANCHOR) {
        memset(tx.p.anchor.artifact, (int)(nonce & 0xff), 32);
        tx.p.anchor.artifact[31] = (uint8_t)(nonce >> 8);
        tx.p.anchor.kind = 1;
        snprintf(tx.p.anchor.work_id, sizeof tx.p.anchor.work_id, "w");
    } else {
        memset(tx.p.account_set.account, 9, 32);
        tx.p.account_set.level = 1;
    }
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(core_tx_sign_encode(&tx, sk, &b), GZ_OK);
    int before = e->verdicts;
    cr_assert_eq(node_submit(e->n, &b, NULL), GZ_OK);
    gz_buf_free(&b);
    node_on_timer(e->n, NODE_TIMER_ADMIT);
    cr_assert_eq(e->verdicts, before + 1);
    return e->last_rc;
}

Test(node_admit, a_nonce_past_the_window_is_refused_naming_body_nonce) {
    engine e;
    engine_open(&e);
    cr_assert_eq(submit(&e, e.user_sk, e.user_pk, 0, GZ_TX_ANCHOR), GZ_OK);
    cr_assert_eq(submit(&e, e.user_sk, e.user_pk, GZ_MEMPOOL_NONCE_WINDOW - 1, GZ_TX_ANCHOR), GZ_OK,
                 "the last nonce of the window: %s", e.last_msg);
    cr_assert_eq(submit(&e, e.user_sk, e.user_pk, GZ_MEMPOOL_NONCE_WINDOW, GZ_TX_ANCHOR), GZ_ENONCE);
    cr_assert(strstr(e.last_msg, "body.nonce") && strstr(e.last_msg, "0..63"), "%s", e.last_msg);
    cr_assert_eq(submit(&e, e.user_sk, e.user_pk, 100000, GZ_TX_ANCHOR), GZ_ENONCE);
    node_status st;
    node_status_get(e.n, &st);
    cr_assert_eq(st.mempool_txs, 2);
    cr_assert_eq(st.mempool_ready, 1, "nonce 0 can go into a block, nonce 63 cannot yet");
    engine_close(&e);
}

/* Every type needs a registered signer, ACCOUNT_SET too: the ledger refuses
 * an unknown one (code 5) and the registrar that may sign ACCOUNT_SET is
 * registered at genesis. */
Test(node_admit, an_unregistered_signer_is_refused_naming_body_signer) {
    engine e;
    engine_open(&e);
    uint8_t sk[32], pk[32];
    key(sk, pk, 77);
    cr_assert_eq(submit(&e, sk, pk, 1, GZ_TX_ANCHOR), GZ_EROLE);
    cr_assert(strstr(e.last_msg, "body.signer") != NULL, "%s", e.last_msg);
    cr_assert_eq(submit(&e, sk, pk, 0, GZ_TX_ACCOUNT_SET), GZ_EROLE, "an account cannot register itself");
    cr_assert_eq(submit(&e, e.reg_sk, e.reg_pk, 0, GZ_TX_ACCOUNT_SET), GZ_OK,
                 "the registrar (registered at genesis) registers accounts: %s", e.last_msg);
    node_status st;
    node_status_get(e.n, &st);
    cr_assert_eq(st.mempool_txs, 1);
    engine_close(&e);
}
