/* The real ledger under simulation: each node runs ledger/ on a memory store,
 * blocks carry signed SPEC §2 txs (anchors and transfers by a few holders,
 * with nonces that are sometimes wrong), and the state root is the ledger's
 * state_root. Agreement on it at every height means every honest node
 * executed the same txs to the same state, as SPEC §4 requires.
 *
 * Payload: a sequence of [len u16 BE][Tx bytes]. */
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/hash.h"
#include "core/keys.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "storage/store.h"
#include "tests/sim/sim.h"

#define LEDGER_HOLDERS 6
#define LEDGER_MEMPOOL_MAX 64
#define LEDGER_GENESIS_TIME 1767225600000ull
#define LEDGER_BLOCK_MS 1000ull
#define LEDGER_CHAIN_ID "gongzhi-sim"

typedef struct ledger_app {
    store *st;
    ledger *lg;
    gz_genesis g;
    uint8_t pool[LEDGER_MEMPOOL_MAX][SIM_TX_MAX];
    size_t pool_len[LEDGER_MEMPOOL_MAX];
    size_t n_pool;
} ledger_app;

static void holder_key(uint8_t sk[32], int i) {
    char seed[32];
    int n = snprintf(seed, sizeof seed, "gongzhi-sim-holder-%d", i);
    core_sha256(sk, seed, (size_t)n);
}

static void holder_pub(uint8_t pk[32], int i) {
    uint8_t sk[32];
    holder_key(sk, i);
    if (core_key_pub(pk, sk) != GZ_OK) abort();
}

static void sim_genesis(gz_genesis *g) {
    ledger_genesis_default(g);
    snprintf(g->chain_id, sizeof g->chain_id, LEDGER_CHAIN_ID);
    g->genesis_time = LEDGER_GENESIS_TIME;
    g->n_validators = 1;
    snprintf(g->validators[0].name, sizeof g->validators[0].name, "sim");
    holder_pub(g->validators[0].pub_key, 99);
    g->validators[0].power = 1;
    for (int r = 0; r < GZ_ROLE_COUNT; r++) {
        g->n_authorities[r] = 1;
        holder_pub(g->authorities[r][0], 100 + r);
    }
    for (int i = 0; i < LEDGER_HOLDERS; i++) {
        gz_genesis_account a = {.level = 8, .classes = 1};
        holder_pub(a.account, i);
        snprintf(a.label, sizeof a.label, "holder%d", i);
        if (ledger_genesis_add_account(g, &a) != GZ_OK) abort();
    }
}

static void *ledger_create(uint64_t seed, int node) {
    (void)seed;
    (void)node;
    ledger_app *a = calloc(1, sizeof *a);
    if (a == NULL) return NULL;
    sim_genesis(&a->g);
    gz_msg msg;
    if (store_open_memory(&a->st) != GZ_OK || ledger_open(&a->lg, a->st, &a->g, &msg) != GZ_OK) abort();
    return a;
}

static void ledger_destroy(void *app) {
    ledger_app *a = app;
    if (a == NULL) return;
    ledger_close(a->lg);
    store_close(a->st);
    ledger_genesis_free(&a->g);
    free(a);
}

/* A signed anchor (most) or transfer by a random holder with a nonce that is
 * right often enough for real state changes and wrong often enough to test
 * the code-4 path. */
static size_t ledger_make_tx(sim_rng *rng, uint8_t *out) {
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    int who = (int)sim_rng_below(rng, LEDGER_HOLDERS);
    uint8_t sk[32];
    holder_key(sk, who);
    holder_pub(tx.signer, who);
    snprintf(tx.chain_id, sizeof tx.chain_id, LEDGER_CHAIN_ID);
    tx.nonce = sim_rng_below(rng, 8);
    if (sim_rng_chance(rng, 700000)) {
        tx.type = GZ_TX_ANCHOR;
        for (int i = 0; i < 32; i++) tx.p.anchor.artifact[i] = (uint8_t)sim_rng_next(rng);
        tx.p.anchor.kind = 1 + sim_rng_below(rng, 7);
        snprintf(tx.p.anchor.work_id, sizeof tx.p.anchor.work_id, "work-%d", who);
    } else {
        tx.type = GZ_TX_TRANSFER;
        holder_pub(tx.p.transfer.to, (who + 1) % LEDGER_HOLDERS);
        tx.p.transfer.amount = sim_rng_below(rng, 3);
    }
    gz_buf b;
    gz_buf_init(&b);
    if (core_tx_sign_encode(&tx, sk, &b) != GZ_OK || b.len > SIM_TX_MAX) abort();
    memcpy(out, b.data, b.len);
    size_t len = b.len;
    gz_buf_free(&b);
    return len;
}

static bool tx_ok(const uint8_t *p, size_t len, gz_tx *tx) {
    return core_tx_decode(tx, p, len, NULL) == GZ_OK && core_tx_check(tx, LEDGER_CHAIN_ID, NULL) == GZ_OK;
}

static void ledger_add_tx(void *app, const uint8_t *tx, size_t len) {
    ledger_app *a = app;
    static gz_tx t;
    if (a->n_pool == LEDGER_MEMPOOL_MAX || !tx_ok(tx, len, &t)) return;
    for (size_t i = 0; i < a->n_pool; i++)
        if (a->pool_len[i] == len && memcmp(a->pool[i], tx, len) == 0) return;
    memcpy(a->pool[a->n_pool], tx, len);
    a->pool_len[a->n_pool++] = len;
}

static bool ledger_has_txs(const void *app) { return ((const ledger_app *)app)->n_pool > 0; }

static void ledger_crash(void *app) { ((ledger_app *)app)->n_pool = 0; }

static size_t ledger_build(void *app, uint64_t height, uint8_t *out) {
    ledger_app *a = app;
    (void)height;
    size_t len = 0;
    for (size_t i = 0; i < a->n_pool && len + 2 + a->pool_len[i] <= SIM_PAYLOAD_MAX; i++) {
        out[len] = (uint8_t)(a->pool_len[i] >> 8);
        out[len + 1] = (uint8_t)a->pool_len[i];
        memcpy(out + len + 2, a->pool[i], a->pool_len[i]);
        len += 2 + a->pool_len[i];
    }
    return len;
}

/* Splits a payload into decoded txs; false if any is malformed or unsigned. */
static bool split(const uint8_t *p, size_t len, gz_tx *txs, size_t *n) {
    size_t off = 0;
    *n = 0;
    while (off < len) {
        if (len - off < 2) return false;
        size_t tl = (size_t)p[off] << 8 | p[off + 1];
        if (tl > len - off - 2 || *n == SIM_PAYLOAD_MAX / 64 || !tx_ok(p + off + 2, tl, &txs[*n])) return false;
        (*n)++;
        off += 2 + tl;
    }
    return true;
}

static bool ledger_check(const void *app, uint64_t height, const uint8_t *payload, size_t len) {
    const ledger_app *a = app;
    static gz_tx txs[SIM_PAYLOAD_MAX / 64];
    size_t n;
    return height == ledger_height(a->lg) + 1 && split(payload, len, txs, &n);
}

static void drop_from_pool(ledger_app *a, const gz_tx *txs, size_t n) {
    size_t w = 0;
    for (size_t i = 0; i < a->n_pool; i++) {
        static gz_tx t;
        bool done = false;
        if (core_tx_decode(&t, a->pool[i], a->pool_len[i], NULL) == GZ_OK)
            for (size_t k = 0; k < n && !done; k++) done = memcmp(t.txid, txs[k].txid, 32) == 0;
        if (done) continue;
        memmove(a->pool[w], a->pool[i], a->pool_len[i]);
        a->pool_len[w++] = a->pool_len[i];
    }
    a->n_pool = w;
}

static void ledger_execute(void *app, uint64_t height, const uint8_t *payload, size_t len, uint8_t root[32]) {
    ledger_app *a = app;
    static gz_tx txs[SIM_PAYLOAD_MAX / 64];
    const gz_tx *ptrs[SIM_PAYLOAD_MAX / 64];
    size_t n;
    if (!split(payload, len, txs, &n)) abort(); /* the caller checked it */
    for (size_t i = 0; i < n; i++) ptrs[i] = &txs[i];
    ledger_block *b = NULL;
    store_batch batch;
    store_batch_init(&batch);
    uint64_t time = LEDGER_GENESIS_TIME + height * LEDGER_BLOCK_MS;
    uint8_t proposer[32] = {0};
    if (ledger_exec_block(a->lg, height, time, proposer, ptrs, n, &b) != GZ_OK) abort();
    if (ledger_block_commit(a->lg, b, &batch) != GZ_OK || store_write(a->st, &batch, true) != GZ_OK) abort();
    ledger_block_committed(a->lg, b);
    ledger_block_free(b);
    store_batch_free(&batch);
    ledger_state_root(a->lg, root);
    drop_from_pool(a, txs, n);
}

static size_t ledger_make_invalid(sim_rng *rng, uint8_t *out) {
    uint8_t tx[SIM_TX_MAX];
    size_t len = ledger_make_tx(rng, tx);
    tx[len - 1] ^= 0x01; /* the signature's last byte */
    out[0] = (uint8_t)(len >> 8);
    out[1] = (uint8_t)len;
    memcpy(out + 2, tx, len);
    return len + 2;
}

const sim_app_ops sim_app_ledger = {
    .name = "ledger",
    .create = ledger_create,
    .destroy = ledger_destroy,
    .make_tx = ledger_make_tx,
    .add_tx = ledger_add_tx,
    .has_txs = ledger_has_txs,
    .crash = ledger_crash,
    .build = ledger_build,
    .check = ledger_check,
    .execute = ledger_execute,
    .make_invalid = ledger_make_invalid,
};
