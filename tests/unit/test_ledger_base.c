/* The base ledger's framework: genesis state, nonces and savepoints, replays,
 * the block cycle, determinism of state_root, the overlay, the split helper,
 * and throughput. */
#include <time.h>

#include "ledger/ledger_impl.h"
#include "ledger/overlay.h"
#include "storage/keys.h"
#include "tests/unit/test_ledger_base_kit.h"

/* A seeded PRNG (splitmix64): every random test prints its seed. */
static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rng_below(uint64_t *s, uint64_t n) { return rng_next(s) % n; }

/* The seed of a random test: GZ_TEST_SEED replays a printed one. */
static uint64_t test_seed(uint64_t salt) {
    const char *env = getenv("GZ_TEST_SEED");
    if (env != NULL) return strtoull(env, NULL, 10);
    return (uint64_t)time(NULL) ^ salt;
}

static void split_to(kit *k, gz_tx *tx, const char *id, int n, const int *users,
                     const uint64_t *shares) {
    gz_p_split_set *p = &tx->p.split_set;
    snprintf(p->split_id, sizeof p->split_id, "%s", id);
    p->n_recipients = (uint32_t)n;
    for (int i = 0; i < n; i++) {
        memcpy(p->recipients[i].account, k->pub[users[i]], 32);
        p->recipients[i].share_ppm = shares[i];
    }
    p->is_mutable = true;
}

/* ---- genesis state ---- */

Test(ledger_base, genesis_registers_authorities_and_accounts) {
    kit k;
    kit_open(&k);
    cr_expect_eq(ledger_height(k.l), 0);
    cr_expect_eq(ledger_time(k.l), k.g.genesis_time);
    json_t *a = kit_account(&k, K_TREASURER);
    cr_assert_not_null(a);
    cr_expect_str_eq(json_string_value(json_object_get(a, "label")), "treasurer");
    cr_expect_eq(json_integer_value(json_object_get(a, "level")), 0);
    json_decref(a);
    cr_expect_eq(kit_field(&k, K_USER0 + 9 % KIT_USERS, "level"), 9 % KIT_USERS % 11);
    cr_expect_null(kit_account(&k, K_STRANGER));
    uint64_t nonce = 7;
    cr_expect_eq(ledger_account_nonce(k.l, k.pub[K_STRANGER], &nonce), GZ_ENOTFOUND);
    cr_expect_eq(nonce, 0);
    kit_close(&k);
}

Test(ledger_base, genesis_account_entry_overrides_authority_default) {
    gz_genesis g;
    kit_genesis(&g);
    gz_genesis_account a = {.level = 9, .classes = 32};
    kit_pub(a.account, K_GOVERNOR);
    snprintf(a.label, sizeof a.label, "dao office");
    cr_assert_eq(ledger_genesis_add_account(&g, &a), GZ_OK);
    store *s;
    ledger *l;
    gz_msg msg;
    cr_assert_eq(store_open_memory(&s), GZ_OK);
    cr_assert_eq(ledger_open(&l, s, &g, &msg), GZ_OK, "%s", msg.text);
    json_t *j;
    cr_assert_eq(ledger_query_account(l, a.account, &j), GZ_OK);
    cr_expect_str_eq(json_string_value(json_object_get(j, "label")), "dao office");
    cr_expect_eq(json_integer_value(json_object_get(j, "level")), 9);
    json_decref(j);
    ledger_close(l);
    store_close(s);
    ledger_genesis_free(&g);
}

/* The genesis root follows docs/ledger.md: TH(state, 0^32 ‖ SHA256(write set)),
 * computed here independently from the stored state. */
typedef struct ws_ctx {
    core_sha256_ctx h;
    size_t n;
} ws_ctx;

static bool ws_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                  void *data) {
    ws_ctx *c = data;
    uint8_t len[4] = {(uint8_t)(key_len >> 24), (uint8_t)(key_len >> 16), (uint8_t)(key_len >> 8),
                      (uint8_t)key_len};
    core_sha256_update(&c->h, len, 4);
    core_sha256_update(&c->h, key, key_len);
    uint8_t vl[4] = {(uint8_t)(val_len >> 24), (uint8_t)(val_len >> 16), (uint8_t)(val_len >> 8),
                     (uint8_t)val_len};
    core_sha256_update(&c->h, vl, 4);
    core_sha256_update(&c->h, val, val_len);
    c->n++;
    return true;
}

Test(ledger_base, genesis_state_root_definition) {
    kit k;
    kit_open(&k);
    ws_ctx c = {.n = 0};
    core_sha256_init(&c.h);
    cr_assert_eq(store_state_scan(k.s, NULL, 0, NULL, 0, ws_cb, &c), GZ_OK);
    /* 8 accounts + 4 authorities + the validator's, 4 role entries, the genesis
     * hash, the validator set (current and from height 1). */
    cr_expect_eq(c.n, KIT_USERS + 4 + 1 + 4 + 1 + 2);
    uint8_t m[64] = {0};
    core_sha256_final(&c.h, m + 32);
    uint8_t want[32], got[32];
    core_tagged_hash(want, GZ_TAG_STATE, m, sizeof m);
    ledger_state_root(k.l, got);
    cr_expect_eq(memcmp(want, got, 32), 0);
    kit_close(&k);
}

Test(ledger_base, reopen_checks_genesis) {
    kit k;
    kit_open(&k);
    cr_assert_eq(kit_run(&k, kit_tx(&k, GZ_TX_WITHDRAW, K_USER0), NULL, 0, NULL), 12);
    uint8_t r1[32], r2[32];
    ledger_state_root(k.l, r1);
    ledger_close(k.l);
    gz_msg msg;
    cr_assert_eq(ledger_open(&k.l, k.s, &k.g, &msg), GZ_OK, "%s", msg.text);
    ledger_state_root(k.l, r2);
    cr_expect_eq(memcmp(r1, r2, 32), 0);
    cr_expect_eq(ledger_height(k.l), 1);
    cr_expect_eq(ledger_time(k.l), k.time);
    ledger_close(k.l);
    k.g.policy.votes.trust_delta = 3;
    ledger *other = NULL;
    cr_expect_eq(ledger_open(&other, k.s, &k.g, &msg), GZ_ECORRUPT);
    cr_expect_null(other);
    cr_expect(strstr(msg.text, "genesis") != NULL, "%s", msg.text);
    k.l = NULL;
    kit_close(&k);
}

Test(ledger_base, different_genesis_gives_different_root) {
    kit a, b;
    kit_open(&a);
    memset(&b, 0, sizeof b);
    kit_genesis(&b.g);
    b.g.policy.dao.total = 10001;
    cr_assert_eq(store_open_memory(&b.s), GZ_OK);
    gz_msg msg;
    cr_assert_eq(ledger_open(&b.l, b.s, &b.g, &msg), GZ_OK);
    uint8_t ra[32], rb[32];
    ledger_state_root(a.l, ra);
    ledger_state_root(b.l, rb);
    cr_expect_neq(memcmp(ra, rb, 32), 0);
    kit_close(&a);
    kit_close(&b);
}

/* ---- nonces and savepoints ---- */

Test(ledger_base, wrong_nonce_does_nothing) {
    kit k;
    kit_open(&k);
    gz_tx *tx = kit_tx(&k, GZ_TX_GOV_GRANT, K_GOVERNOR);
    tx->nonce = 1;
    memcpy(tx->p.gov_grant.account, k.pub[K_USER0], 32);
    tx->p.gov_grant.amount = 5;
    tx->p.gov_grant.category = 1;
    char msg[200];
    json_t *ev;
    cr_expect_eq(kit_run(&k, tx, msg, sizeof msg, &ev), 4);
    cr_expect_str_eq(msg, "nonce: expected 0, got 1");
    cr_expect_eq(json_array_size(ev), 0);
    json_decref(ev);
    cr_expect_eq(kit_field(&k, K_GOVERNOR, "nonce"), 0);
    cr_expect_eq(kit_field(&k, K_USER0, "gov_tokens"), 0);
    kit_close(&k);
}

Test(ledger_base, failing_tx_keeps_nonce_and_discards_writes) {
    kit k;
    kit_open(&k);
    /* User1 holds nearly the maximum balance; a revenue split half to user0
     * and half to user1 credits user0 first, then overflows user1: the
     * savepoint must take back user0's credit. */
    const int u1[1] = {K_USER0 + 1};
    const uint64_t all[1] = {1000000};
    gz_tx *tx = kit_tx(&k, GZ_TX_SPLIT_SET, K_USER0 + 1);
    split_to(&k, tx, "big", 1, u1, all);
    cr_assert_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    tx = kit_tx(&k, GZ_TX_REVENUE, K_TREASURER);
    snprintf(tx->p.revenue.split_id, sizeof tx->p.revenue.split_id, "big");
    tx->p.revenue.amount = (uint64_t)INT64_MAX - 10;
    cr_assert_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    const int both[2] = {K_USER0, K_USER0 + 1};
    const uint64_t halves[2] = {500000, 500000};
    tx = kit_tx(&k, GZ_TX_SPLIT_SET, K_USER0);
    split_to(&k, tx, "pair", 2, both, halves);
    cr_assert_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    tx = kit_tx(&k, GZ_TX_REVENUE, K_TREASURER);
    snprintf(tx->p.revenue.split_id, sizeof tx->p.revenue.split_id, "pair");
    tx->p.revenue.amount = 100;
    char msg[200];
    json_t *ev;
    cr_expect_eq(kit_run(&k, tx, msg, sizeof msg, &ev), 9);
    cr_expect(strstr(msg, "balance would exceed") != NULL, "%s", msg);
    cr_expect_eq(json_array_size(ev), 0, "a failed tx has no events");
    json_decref(ev);
    cr_expect_eq(kit_field(&k, K_USER0, "balance"), 0);
    cr_expect_eq(kit_field(&k, K_TREASURER, "nonce"), 2, "the nonce still advanced");
    json_t *sp;
    cr_assert_eq(ledger_query_split(k.l, "pair", &sp), GZ_OK);
    cr_expect_eq(json_integer_value(json_object_get(sp, "total_distributed")), 0);
    json_decref(sp);
    kit_close(&k);
}

Test(ledger_base, nonces_in_one_block_follow_each_other) {
    kit k;
    kit_open(&k);
    gz_tx *txs[4];
    for (int i = 0; i < 4; i++) {
        txs[i] = kit_tx(&k, GZ_TX_GOV_GRANT, K_GOVERNOR);
        memcpy(txs[i]->p.gov_grant.account, k.pub[K_USER0], 32);
        txs[i]->p.gov_grant.amount = 1;
        txs[i]->p.gov_grant.category = 1;
    }
    txs[2]->p.gov_grant.category = 9; /* fails, but takes nonce 2 */
    txs[3]->nonce = 2;                /* so nonce 2 again is wrong */
    ledger_block *b = kit_block(&k, txs, 4);
    cr_expect_eq(ledger_block_tx_code(b, 0), 0);
    cr_expect_eq(ledger_block_tx_code(b, 1), 0);
    cr_expect_eq(ledger_block_tx_code(b, 2), 12);
    cr_expect_eq(ledger_block_tx_code(b, 3), 4);
    cr_expect_eq(kit_field(&k, K_GOVERNOR, "nonce"), 3);
    cr_expect_eq(kit_field(&k, K_USER0, "gov_tokens"), 2);
    ledger_block_free(b);
    for (int i = 0; i < 4; i++) free(txs[i]);
    kit_close(&k);
}

Test(ledger_base, replayed_tx_keeps_its_first_result) {
    kit k;
    kit_open(&k);
    gz_tx *tx = kit_tx(&k, GZ_TX_GOV_GRANT, K_GOVERNOR);
    memcpy(tx->p.gov_grant.account, k.pub[K_USER0], 32);
    tx->p.gov_grant.amount = 7;
    tx->p.gov_grant.category = 1;
    gz_tx copy = *tx;
    gz_tx *twice[2] = {tx, &copy};
    ledger_block *b = kit_block(&k, twice, 2);
    cr_expect_eq(ledger_block_tx_code(b, 0), 0);
    cr_expect_eq(ledger_block_tx_code(b, 1), 4);
    cr_expect_str_eq(ledger_block_tx_message(b, 1), "txid: tx already executed");
    ledger_block_free(b);
    gz_tx *again = &copy;
    b = kit_block(&k, &again, 1);
    cr_expect_eq(ledger_block_tx_code(b, 0), 4);
    ledger_block_free(b);
    json_t *r;
    cr_assert_eq(ledger_query_tx_result(k.l, tx->txid, &r), GZ_OK);
    cr_expect_eq(json_integer_value(json_object_get(r, "height")), 1);
    cr_expect_eq(json_integer_value(json_object_get(r, "index")), 0);
    cr_expect_eq(json_integer_value(json_object_get(r, "code")), 0);
    cr_expect_str_eq(json_string_value(json_object_get(r, "type")), "gov_grant");
    cr_expect_str_eq(json_string_value(json_object_get(r, "message")), "");
    cr_expect_eq(json_array_size(json_object_get(r, "events")), 2);
    json_decref(r);
    /* The location comes from the first execution, whatever replays followed. */
    uint64_t height = 99;
    uint32_t index = 99;
    cr_expect_eq(ledger_tx_location(k.l, tx->txid, &height, &index), GZ_OK);
    cr_expect_eq(height, 1);
    cr_expect_eq(index, 0);
    cr_expect_eq(ledger_tx_location(k.l, k.pub[0], &height, &index), GZ_ENOTFOUND);
    cr_expect_eq(height, 0);
    cr_expect_eq(kit_field(&k, K_USER0, "gov_tokens"), 7);
    free(tx);
    kit_close(&k);
}

Test(ledger_base, wrong_chain_and_unknown_type_are_results) {
    kit k;
    kit_open(&k);
    gz_tx *tx = kit_tx(&k, GZ_TX_WITHDRAW, K_USER0);
    snprintf(tx->chain_id, sizeof tx->chain_id, "other-chain");
    char msg[200];
    cr_expect_eq(kit_run(&k, tx, msg, sizeof msg, NULL), 3);
    cr_expect(strncmp(msg, "chain_id", 8) == 0, "%s", msg);
    cr_expect_eq(kit_field(&k, K_USER0, "nonce"), 0);
    /* A type the codec would refuse; the ledger still answers deterministically. */
    gz_tx *odd = kit_tx(&k, GZ_TX_WITHDRAW, K_USER0);
    kit_seal(odd);
    odd->type = 99;
    ledger_block *b = NULL;
    uint8_t proposer[32] = {0};
    cr_assert_eq(ledger_exec_block(k.l, ledger_height(k.l) + 1, k.time + 1, proposer,
                                   (const gz_tx *const *)&odd, 1, &b),
                 GZ_OK);
    cr_expect_eq(ledger_block_tx_code(b, 0), 12);
    ledger_block_free(b);
    free(odd);
    json_t *r;
    cr_expect_eq(ledger_query_tx_result(k.l, k.pub[0], &r), GZ_ENOTFOUND);
    kit_close(&k);
}

/* ---- block cycle ---- */

Test(ledger_base, exec_checks_height_time_and_commit_staleness) {
    kit k;
    kit_open(&k);
    uint8_t p[32] = {0};
    ledger_block *b = NULL;
    cr_expect_eq(ledger_exec_block(k.l, 2, k.time + 1, p, NULL, 0, &b), GZ_EARG);
    cr_expect_eq(ledger_exec_block(k.l, 1, k.time, p, NULL, 0, &b), GZ_EARG);
    cr_expect_null(b);
    ledger_block *x = NULL;
    ledger_block *y = NULL;
    cr_assert_eq(ledger_exec_block(k.l, 1, k.time + 5, p, NULL, 0, &x), GZ_OK);
    cr_assert_eq(ledger_exec_block(k.l, 1, k.time + 6, p, NULL, 0, &y), GZ_OK);
    cr_expect_str_eq(ledger_block_begin_events(x), "[]");
    store_batch batch;
    store_batch_init(&batch);
    cr_assert_eq(ledger_block_commit(k.l, x, &batch), GZ_OK);
    cr_assert_eq(store_write(k.s, &batch, true), GZ_OK);
    ledger_block_committed(k.l, x);
    store_batch_clear(&batch);
    cr_expect_eq(ledger_block_commit(k.l, y, &batch), GZ_ESTATE, "y was built on height 0");
    cr_expect_eq(ledger_height(k.l), 1);
    cr_expect_eq(ledger_time(k.l), k.time + 5);
    uint8_t r1[32], r2[32];
    ledger_block_state_root(x, r1);
    ledger_state_root(k.l, r2);
    cr_expect_eq(memcmp(r1, r2, 32), 0);
    store_batch_free(&batch);
    ledger_block_free(x);
    ledger_block_free(y);
    kit_close(&k);
}

/* A random but valid-looking tx (some fail on purpose) from a seeded PRNG. */
static gz_tx *random_tx(kit *k, uint64_t *seed, int salt) {
    int user = K_USER0 + (int)rng_below(seed, KIT_USERS);
    int other = K_USER0 + (int)rng_below(seed, KIT_USERS);
    gz_tx *tx;
    switch (rng_below(seed, 6)) {
    case 0:
        tx = kit_tx(k, GZ_TX_TRANSFER, user);
        memcpy(tx->p.transfer.to, k->pub[other], 32);
        tx->p.transfer.amount = 1 + rng_below(seed, 300);
        break;
    case 1:
        tx = kit_tx(k, GZ_TX_WITHDRAW, user);
        tx->p.withdraw.amount = 1 + rng_below(seed, 200);
        break;
    case 2:
        tx = kit_tx(k, GZ_TX_REVENUE, K_TREASURER);
        snprintf(tx->p.revenue.split_id, sizeof tx->p.revenue.split_id, "s%d",
                 (int)rng_below(seed, 3));
        tx->p.revenue.amount = 1 + rng_below(seed, 1000);
        break;
    case 3:
        tx = kit_tx(k, GZ_TX_ANCHOR, user);
        tx->p.anchor.artifact[0] = (uint8_t)salt;
        tx->p.anchor.artifact[1] = (uint8_t)(salt >> 8);
        tx->p.anchor.artifact[2] = (uint8_t)rng_below(seed, 2);
        tx->p.anchor.kind = 1 + rng_below(seed, 7);
        snprintf(tx->p.anchor.work_id, sizeof tx->p.anchor.work_id, "w%d", salt % 4);
        break;
    case 4:
        tx = kit_tx(k, GZ_TX_GOV_GRANT, K_GOVERNOR);
        memcpy(tx->p.gov_grant.account, k->pub[other], 32);
        tx->p.gov_grant.amount = 1 + rng_below(seed, 100);
        tx->p.gov_grant.category = 1 + rng_below(seed, 7);
        break;
    default: {
        tx = kit_tx(k, GZ_TX_SPLIT_SET, user);
        const int users[2] = {user, other == user ? K_USER0 + (user - K_USER0 + 1) % KIT_USERS
                                                  : other};
        uint64_t a = 1 + rng_below(seed, 999999);
        const uint64_t shares[2] = {a, 1000000 - a};
        char id[8];
        snprintf(id, sizeof id, "s%d", (int)rng_below(seed, 3));
        split_to(k, tx, id, 2, users, shares);
    }
    }
    return tx;
}

/* Runs `blocks` random blocks on k, recording each state root. */
static void run_random(kit *k, uint64_t seed, int blocks, uint8_t (*roots)[32], int flip) {
    int salt = 0;
    for (int h = 0; h < blocks; h++) {
        gz_tx *txs[40];
        size_t n = 1 + (size_t)rng_below(&seed, 39);
        for (size_t i = 0; i < n; i++) txs[i] = random_tx(k, &seed, salt++);
        if (h == flip) txs[0]->nonce += 1000;
        ledger_block *b = kit_block(k, txs, n);
        ledger_block_state_root(b, roots[h]);
        ledger_block_free(b);
        for (size_t i = 0; i < n; i++) free(txs[i]);
    }
}

Test(ledger_base, same_txs_same_roots_on_two_ledgers) {
    uint64_t seed = test_seed(0);
    enum { H = 30 };
    uint8_t ra[H][32], rb[H][32], rc[H][32];
    kit a, b, c;
    kit_open(&a);
    kit_open(&b);
    kit_open(&c);
    run_random(&a, seed, H, ra, -1);
    run_random(&b, seed, H, rb, -1);
    run_random(&c, seed, H, rc, H / 2);
    for (int h = 0; h < H; h++) {
        cr_assert_eq(memcmp(ra[h], rb[h], 32), 0, "seed %llu: roots differ at height %d",
                     (unsigned long long)seed, h + 1);
    }
    /* A changed tx changes the root of its block and of every later one. */
    bool differs = false;
    for (int h = H / 2; h < H; h++) differs = differs || memcmp(ra[h], rc[h], 32) != 0;
    cr_expect(differs, "seed %llu", (unsigned long long)seed);
    cr_expect_neq(memcmp(ra[H - 1], rc[H - 1], 32), 0, "seed %llu", (unsigned long long)seed);
    kit_close(&a);
    kit_close(&b);
    kit_close(&c);
}

Test(ledger_base, speculative_runs_agree_and_leave_store_alone) {
    kit k;
    kit_open(&k);
    uint64_t seed = 42;
    gz_tx *txs[50];
    for (int i = 0; i < 50; i++) {
        txs[i] = random_tx(&k, &seed, i);
        kit_seal(txs[i]);
    }
    uint8_t p[32] = {0};
    uint8_t r1[32], r2[32], before[32], after[32];
    ledger_state_root(k.l, before);
    ledger_block *b1 = NULL;
    ledger_block *b2 = NULL;
    cr_assert_eq(ledger_exec_block(k.l, 1, k.time + 1, p, (const gz_tx *const *)txs, 50, &b1), 0);
    cr_assert_eq(ledger_exec_block(k.l, 1, k.time + 1, p, (const gz_tx *const *)txs, 50, &b2), 0);
    ledger_block_state_root(b1, r1);
    ledger_block_state_root(b2, r2);
    cr_expect_eq(memcmp(r1, r2, 32), 0);
    for (size_t i = 0; i < 50; i++) {
        cr_expect_eq(ledger_block_tx_code(b1, i), ledger_block_tx_code(b2, i));
        cr_expect_str_eq(ledger_block_tx_events(b1, i), ledger_block_tx_events(b2, i));
    }
    ledger_state_root(k.l, after);
    cr_expect_eq(memcmp(before, after, 32), 0);
    cr_expect_eq(ledger_height(k.l), 0);
    store_batch batch;
    store_batch_init(&batch);
    cr_assert_eq(ledger_block_commit(k.l, b2, &batch), GZ_OK);
    cr_assert_eq(store_write(k.s, &batch, true), GZ_OK);
    ledger_block_committed(k.l, b2);
    ledger_state_root(k.l, after);
    cr_expect_eq(memcmp(r1, after, 32), 0);
    store_batch_free(&batch);
    ledger_block_free(b1);
    ledger_block_free(b2);
    for (int i = 0; i < 50; i++) free(txs[i]);
    kit_close(&k);
}

/* ---- balances never go negative (a model ledger checks every block) ---- */

Test(ledger_base, balances_match_a_model_and_never_go_negative) {
    uint64_t seed = test_seed(0x5eedu);
    kit k;
    kit_open(&k);
    const int users[2] = {K_USER0, K_USER0 + 1};
    const uint64_t shares[2] = {500000, 500000};
    gz_tx *tx = kit_tx(&k, GZ_TX_SPLIT_SET, K_USER0);
    split_to(&k, tx, "s0", 2, users, shares);
    cr_assert_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    int64_t model[KIT_USERS] = {0};
    for (int h = 0; h < 40; h++) {
        gz_tx *txs[30];
        for (int i = 0; i < 30; i++) {
            int u = (int)rng_below(&seed, KIT_USERS);
            int v = (int)((u + 1 + rng_below(&seed, KIT_USERS - 1)) % KIT_USERS);
            if (rng_below(&seed, 4) == 0) {
                txs[i] = kit_tx(&k, GZ_TX_REVENUE, K_TREASURER);
                snprintf(txs[i]->p.revenue.split_id, 8, "s0");
                txs[i]->p.revenue.amount = 2 * (1 + rng_below(&seed, 200));
            } else if (rng_below(&seed, 3) == 0) {
                txs[i] = kit_tx(&k, GZ_TX_WITHDRAW, K_USER0 + u);
                txs[i]->p.withdraw.amount = 1 + rng_below(&seed, 150);
            } else {
                txs[i] = kit_tx(&k, GZ_TX_TRANSFER, K_USER0 + u);
                memcpy(txs[i]->p.transfer.to, k.pub[K_USER0 + v], 32);
                txs[i]->p.transfer.amount = 1 + rng_below(&seed, 150);
            }
        }
        ledger_block *b = kit_block(&k, txs, 30);
        for (int i = 0; i < 30; i++) {
            gz_tx *t = txs[i];
            int code = ledger_block_tx_code(b, (size_t)i);
            int u = -1;
            for (int j = 0; j < KIT_USERS; j++) {
                if (memcmp(t->signer, k.pub[K_USER0 + j], 32) == 0) u = j;
            }
            if (t->type == GZ_TX_REVENUE) {
                cr_assert_eq(code, 0);
                model[0] += (int64_t)t->p.revenue.amount / 2;
                model[1] += (int64_t)t->p.revenue.amount / 2;
                continue;
            }
            cr_assert_geq(u, 0);
            uint64_t amount = t->type == GZ_TX_WITHDRAW ? t->p.withdraw.amount
                                                        : t->p.transfer.amount;
            bool enough = model[u] >= (int64_t)amount;
            cr_assert_eq(code, enough ? 0 : 10, "seed %llu", (unsigned long long)seed);
            if (!enough) continue;
            model[u] -= (int64_t)amount;
            if (t->type == GZ_TX_TRANSFER) {
                for (int j = 0; j < KIT_USERS; j++) {
                    if (memcmp(t->p.transfer.to, k.pub[K_USER0 + j], 32) == 0) {
                        model[j] += (int64_t)amount;
                    }
                }
            }
        }
        ledger_block_free(b);
        for (int i = 0; i < 30; i++) free(txs[i]);
        for (int j = 0; j < KIT_USERS; j++) {
            cr_assert_geq(model[j], 0);
            cr_assert_eq(kit_field(&k, K_USER0 + j, "balance"), model[j], "seed %llu",
                         (unsigned long long)seed);
        }
    }
    kit_close(&k);
}

/* ---- the largest-remainder split ---- */

/* Reference: the SPEC rule spelled out slowly, one fen at a time. */
static void split_reference(uint64_t *out, uint64_t amount, const uint64_t *w, size_t n) {
    __extension__ typedef unsigned __int128 u128;
    u128 total = 0;
    for (size_t i = 0; i < n; i++) total += w[i];
    uint64_t sum = 0;
    bool given[64] = {false};
    for (size_t i = 0; i < n; i++) {
        out[i] = (uint64_t)((u128)amount * w[i] / total);
        sum += out[i];
    }
    for (uint64_t r = 0; r < amount - sum; r++) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            if (given[i]) continue;
            u128 f = (u128)amount * w[i] % total;
            if (best == n || f > (u128)amount * w[best] % total) best = i;
        }
        given[best] = true;
        out[best]++;
    }
}

Test(ledger_base, split_amount_property) {
    uint64_t seed = test_seed(0xabcdu);
    __extension__ typedef unsigned __int128 u128;
    for (int t = 0; t < 5000; t++) {
        size_t n = 1 + (size_t)rng_below(&seed, 64);
        uint64_t w[64], out[64], ref[64];
        bool ppm = rng_below(&seed, 2) == 0;
        uint64_t left = 1000000;
        for (size_t i = 0; i < n; i++) {
            if (ppm) {
                w[i] = i + 1 == n ? left : rng_below(&seed, left + 1);
                left -= w[i];
            } else {
                w[i] = rng_below(&seed, 4) == 0 ? 0 : rng_next(&seed) >> rng_below(&seed, 64);
            }
        }
        w[rng_below(&seed, n)] |= 1; /* never all zero */
        uint64_t amount = rng_below(&seed, 3) == 0 ? rng_next(&seed) >> 1 : rng_below(&seed, 10000);
        cr_assert_eq(ledger_split_amount(out, amount, w, n), GZ_OK);
        split_reference(ref, amount, w, n);
        u128 total = 0, sum = 0;
        for (size_t i = 0; i < n; i++) total += w[i];
        for (size_t i = 0; i < n; i++) {
            sum += out[i];
            /* Within one fen of the exact share amount·w/W. */
            u128 exact = (u128)amount * w[i];
            u128 got = (u128)out[i] * total;
            u128 diff = got > exact ? got - exact : exact - got;
            cr_assert(diff < total, "seed %llu case %d entry %zu", (unsigned long long)seed, t, i);
            cr_assert_eq(out[i], ref[i], "seed %llu case %d entry %zu", (unsigned long long)seed,
                         t, i);
        }
        cr_assert(sum == amount, "seed %llu case %d: sum differs", (unsigned long long)seed, t);
    }
    uint64_t out[2];
    const uint64_t zero[2] = {0, 0};
    cr_expect_eq(ledger_split_amount(out, 5, zero, 2), GZ_EARG);
    cr_expect_eq(ledger_split_amount(out, 5, zero, 0), GZ_EARG);
}

/* An account record is written only within GZ_AMOUNT_MAX (ledger_account_put
 * asserts it); one that reads back past it is damage, not a balance. */
Test(ledger_base, stored_account_past_the_amount_bound_is_corrupt) {
    for (int field = 0; field < 3; field++) {
        ledger_account a, back;
        memset(&a, 0, sizeof a);
        memset(a.id, 0x42, 32);
        strcpy(a.label, "acct");
        a.balance = field == 1 ? GZ_AMOUNT_MAX + 1 : GZ_AMOUNT_MAX;
        a.gov_tokens = field == 2 ? GZ_AMOUNT_MAX + 1 : GZ_AMOUNT_MAX;
        gz_buf b = {0};
        cr_assert_eq(ledger_account_encode(&a, &b), GZ_OK);
        int want = field == 0 ? GZ_OK : GZ_ECORRUPT;
        cr_assert_eq(ledger_account_decode(&back, a.id, b.data, b.len), want, "field %d", field);
        if (want == GZ_OK) cr_assert_eq(back.balance, GZ_AMOUNT_MAX);
        else cr_assert_eq(back.balance, 0, "zeroed on failure");
        gz_buf_free(&b);
    }
}

/* ---- the overlay ---- */

typedef struct collect {
    char keys[16][8];
    char vals[16][8];
    int n;
    int stop_after;
} collect;

static bool collect_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                       void *data) {
    collect *c = data;
    snprintf(c->keys[c->n], 8, "%.*s", (int)key_len, (const char *)key);
    snprintf(c->vals[c->n], 8, "%.*s", (int)val_len, (const char *)val);
    c->n++;
    return c->n != c->stop_after;
}

static void put_committed(store *s, const char *k, const char *v) {
    store_batch b;
    store_batch_init(&b);
    cr_assert_eq(store_state_put(&b, (const uint8_t *)k, strlen(k), (const uint8_t *)v, strlen(v)),
                 GZ_OK);
    cr_assert_eq(store_write(s, &b, false), GZ_OK);
    store_batch_free(&b);
}

Test(ledger_base, overlay_scan_merges_and_savepoints_undo) {
    store *s;
    cr_assert_eq(store_open_memory(&s), GZ_OK);
    put_committed(s, "Xa", "1");
    put_committed(s, "Xc", "3");
    put_committed(s, "Xe", "5");
    put_committed(s, "Y", "y");
    ledger_overlay *ov = ledger_ov_new(s);
    cr_assert_not_null(ov);
    cr_assert_eq(ledger_ov_put(ov, (const uint8_t *)"Xb", 2, "2", 1), GZ_OK);
    cr_assert_eq(ledger_ov_put(ov, (const uint8_t *)"Xc", 2, "C", 1), GZ_OK);
    cr_assert_eq(ledger_ov_del(ov, (const uint8_t *)"Xe", 2), GZ_OK);
    cr_assert_eq(ledger_ov_put(ov, (const uint8_t *)"Xf", 2, "6", 1), GZ_OK);
    ledger_ov_savepoint_begin(ov);
    cr_assert_eq(ledger_ov_put(ov, (const uint8_t *)"Xd", 2, "4", 1), GZ_OK);
    cr_assert_eq(ledger_ov_put(ov, (const uint8_t *)"Xb", 2, "B", 1), GZ_OK);
    cr_assert_eq(ledger_ov_del(ov, (const uint8_t *)"Xa", 2), GZ_OK);
    ledger_ov_savepoint_rollback(ov);
    collect c = {.n = 0};
    cr_assert_eq(ledger_ov_scan(ov, (const uint8_t *)"X", 1, NULL, 0, collect_cb, &c), GZ_OK);
    const char *want_k[] = {"Xa", "Xb", "Xc", "Xf"};
    const char *want_v[] = {"1", "2", "C", "6"};
    cr_assert_eq(c.n, 4);
    for (int i = 0; i < 4; i++) {
        cr_expect_str_eq(c.keys[i], want_k[i]);
        cr_expect_str_eq(c.vals[i], want_v[i]);
    }
    collect d = {.n = 0, .stop_after = 2};
    cr_assert_eq(ledger_ov_scan(ov, (const uint8_t *)"X", 1, (const uint8_t *)"Xb", 2, collect_cb,
                                &d),
                 GZ_OK);
    cr_expect_eq(d.n, 2);
    cr_expect_str_eq(d.keys[0], "Xb");
    cr_expect_str_eq(d.keys[1], "Xc");
    gz_buf v = {0};
    cr_expect_eq(ledger_ov_get(ov, (const uint8_t *)"Xe", 2, &v), GZ_ENOTFOUND);
    cr_expect_eq(ledger_ov_get(ov, (const uint8_t *)"Xd", 2, &v), GZ_ENOTFOUND);
    cr_expect_eq(ledger_ov_get(ov, (const uint8_t *)"Y", 1, &v), GZ_OK);
    cr_expect_eq(v.len, 1);
    gz_buf_free(&v);
    cr_expect_eq(ledger_ov_write_count(ov), 4);
    ledger_ov_free(ov);
    store_close(s);
}

Test(ledger_base, write_set_hash_ignores_write_order) {
    store *s;
    cr_assert_eq(store_open_memory(&s), GZ_OK);
    ledger_overlay *a = ledger_ov_new(s);
    ledger_overlay *b = ledger_ov_new(s);
    char key[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        cr_assert_eq(ledger_ov_put(a, (const uint8_t *)key, strlen(key), key, 2), GZ_OK);
        snprintf(key, sizeof key, "k%d", 2999 - i);
        cr_assert_eq(ledger_ov_put(b, (const uint8_t *)key, strlen(key), key, 2), GZ_OK);
    }
    cr_assert_eq(ledger_ov_del(a, (const uint8_t *)"gone", 4), GZ_OK);
    cr_assert_eq(ledger_ov_del(b, (const uint8_t *)"gone", 4), GZ_OK);
    uint8_t ha[32], hb[32];
    cr_assert_eq(ledger_ov_write_set_hash(a, ha), GZ_OK);
    cr_assert_eq(ledger_ov_write_set_hash(b, hb), GZ_OK);
    cr_expect_eq(memcmp(ha, hb, 32), 0);
    /* A delete is not the same as an empty value. */
    cr_assert_eq(ledger_ov_put(b, (const uint8_t *)"gone", 4, NULL, 0), GZ_OK);
    cr_assert_eq(ledger_ov_write_set_hash(b, hb), GZ_OK);
    cr_expect_neq(memcmp(ha, hb, 32), 0);
    ledger_ov_free(a);
    ledger_ov_free(b);
    store_close(s);
}

/* ---- throughput ---- */

Test(ledger_base, ten_thousand_transfers_in_one_block) {
    kit k;
    kit_open(&k);
    for (int u = 0; u < KIT_USERS; u++) {
        gz_tx *tx = kit_tx(&k, GZ_TX_SPLIT_SET, K_USER0 + u);
        const int me[1] = {K_USER0 + u};
        const uint64_t all[1] = {1000000};
        char id[8];
        snprintf(id, sizeof id, "f%d", u);
        split_to(&k, tx, id, 1, me, all);
        cr_assert_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
        tx = kit_tx(&k, GZ_TX_REVENUE, K_TREASURER);
        snprintf(tx->p.revenue.split_id, sizeof tx->p.revenue.split_id, "%s", id);
        tx->p.revenue.amount = 1000000;
        cr_assert_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    }
    enum { N = 10000 };
    gz_tx **txs = calloc(N, sizeof *txs);
    for (int i = 0; i < N; i++) {
        txs[i] = kit_tx(&k, GZ_TX_TRANSFER, K_USER0 + i % KIT_USERS);
        memcpy(txs[i]->p.transfer.to, k.pub[K_USER0 + (i + 1) % KIT_USERS], 32);
        txs[i]->p.transfer.amount = 1;
        kit_seal(txs[i]);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ledger_block *b = NULL;
    uint8_t p[32] = {0};
    cr_assert_eq(ledger_exec_block(k.l, ledger_height(k.l) + 1, k.time + 1, p,
                                   (const gz_tx *const *)txs, N, &b),
                 GZ_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    for (int i = 0; i < N; i++) cr_assert_eq(ledger_block_tx_code(b, (size_t)i), 0);
    cr_log_info("10000 transfers executed in %.3f s (%.0f tx/s)", secs, N / secs);
    /* Generous for sanitizer builds; an unsanitized build runs far faster. */
    cr_expect_lt(secs, 10.0);
    ledger_block_free(b);
    for (int i = 0; i < N; i++) free(txs[i]);
    free(txs);
    kit_close(&k);
}

/* ---- events text: the compact writer against jansson ------------------------ */

static uint64_t jt_rand(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* A random valid UTF-8 string: controls, quotes, backslash, slash, DEL and
 * 2-, 3- and 4-byte sequences among plain ASCII. */
static json_t *jt_string(uint64_t *r) {
    char s[64];
    size_t n = 0, want = jt_rand(r) % 12;
    for (size_t i = 0; i < want; i++) {
        switch (jt_rand(r) % 8) {
        case 0: s[n++] = (char)(1 + jt_rand(r) % 31); break; /* a control */
        case 1: s[n++] = "\"\\/\x7f"[jt_rand(r) % 4]; break;
        case 2: memcpy(s + n, "\xc3\xa9", 2); n += 2; break;          /* é */
        case 3: memcpy(s + n, "\xe5\x85\xb1", 3); n += 3; break;      /* 共 */
        case 4: memcpy(s + n, "\xf0\x9f\x98\x80", 4); n += 4; break;  /* U+1F600 */
        case 5: memcpy(s + n, "\xe2\x80\xa8", 3); n += 3; break;      /* U+2028 */
        default: s[n++] = (char)('a' + jt_rand(r) % 26); break;
        }
    }
    return json_stringn(s, n);
}

static json_t *jt_value(uint64_t *r, int depth) {
    switch (jt_rand(r) % (depth < 4 ? 8 : 6)) {
    case 0: return json_integer((json_int_t)jt_rand(r));
    case 1: return json_integer((json_int_t)(jt_rand(r) % 2000) - 1000);
    case 2: return jt_string(r);
    case 3: return json_boolean(jt_rand(r) % 2);
    case 4: return json_null();
    case 5: return json_integer(jt_rand(r) % 2 ? INT64_MIN : INT64_MAX);
    case 6: {
        json_t *a = json_array();
        for (uint64_t i = jt_rand(r) % 4; i > 0; i--) json_array_append_new(a, jt_value(r, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint64_t i = jt_rand(r) % 5; i > 0; i--) {
            json_t *k = jt_string(r);
            json_object_set_new(o, json_string_value(k), jt_value(r, depth + 1));
            json_decref(k);
        }
        return o;
    }
    }
}

Test(ledger_base, events_text_is_byte_for_byte_jansson) {
    uint64_t r = 0x243f6a8885a308d3ull;
    for (int i = 0; i < 3000; i++) {
        json_t *v = json_array(); /* events are an array; jansson dumps only containers */
        json_array_append_new(v, jt_value(&r, 0));
        char *ours = ledger_json_text(v);
        char *theirs = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
        cr_assert_not_null(ours);
        cr_assert_not_null(theirs);
        cr_assert_str_eq(ours, theirs, "tree %d", i);
        free(ours);
        free(theirs);
        json_decref(v);
    }
    /* Keys inserted out of order keep their insertion order, and an event as the
     * ledger writes it comes out as expected. */
    json_t *ev = json_pack("[{s:s, s:{s:s, s:I, s:b, s:n}}]", "type", "vote", "attrs", "zeta", "a\"b\n",
                           "alpha", (json_int_t)-7, "mid", 1, "null");
    char *t = ledger_json_text(ev);
    cr_assert_str_eq(t, "[{\"type\":\"vote\",\"attrs\":{\"zeta\":\"a\\\"b\\n\",\"alpha\":-7,\"mid\":true,\"null\":null}}]");
    free(t);
    json_decref(ev);
}
