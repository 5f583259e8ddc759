/* The built-in deterministic application: transactions are 16 random bytes
 * tagged 'T'; a block may hold up to 16 of them, none executed before and no
 * two alike; the state root is a hash chain over the executed payloads. */
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "tests/sim/sim.h"

#define CHAIN_TX_BYTES 16
#define CHAIN_TAG_OK 0x54
#define CHAIN_TAG_BAD 0xBD
#define CHAIN_MEMPOOL_MAX 64
#define CHAIN_BLOCK_TXS (SIM_PAYLOAD_MAX / CHAIN_TX_BYTES)

typedef struct chain_app {
    uint8_t root[32];
    uint64_t height;
    uint64_t *done;           /* executed tx ids, open addressing, 0 = empty */
    size_t done_cap, done_len;
    uint8_t pool[CHAIN_MEMPOOL_MAX][CHAIN_TX_BYTES];
    size_t pool_len;
} chain_app;

static uint64_t tx_id(const uint8_t *tx) {
    uint64_t id = 0;
    for (int i = 1; i < 9; i++) id = id << 8 | tx[i];
    return id == 0 ? 1 : id;
}

static bool done_has(const chain_app *a, uint64_t id) {
    for (size_t i = (size_t)(id % a->done_cap);; i = (i + 1) % a->done_cap) {
        if (a->done[i] == 0) return false;
        if (a->done[i] == id) return true;
    }
}

static void done_put(chain_app *a, uint64_t id);

static void done_grow(chain_app *a) {
    uint64_t *old = a->done;
    size_t old_cap = a->done_cap;
    a->done_cap *= 2;
    a->done = calloc(a->done_cap, sizeof *a->done);
    if (a->done == NULL) abort();
    a->done_len = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i] != 0) done_put(a, old[i]);
    }
    free(old);
}

static void done_put(chain_app *a, uint64_t id) {
    if (2 * (a->done_len + 1) > a->done_cap) done_grow(a);
    size_t i = (size_t)(id % a->done_cap);
    while (a->done[i] != 0 && a->done[i] != id) i = (i + 1) % a->done_cap;
    if (a->done[i] == 0) a->done_len++;
    a->done[i] = id;
}

static void *chain_create(uint64_t seed, int node) {
    (void)seed;
    (void)node;
    chain_app *a = calloc(1, sizeof *a);
    if (a == NULL) return NULL;
    a->done_cap = 256;
    a->done = calloc(a->done_cap, sizeof *a->done);
    if (a->done == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

static void chain_destroy(void *app) {
    chain_app *a = app;
    if (a == NULL) return;
    free(a->done);
    free(a);
}

static size_t chain_make_tx(sim_rng *rng, uint8_t *tx) {
    tx[0] = CHAIN_TAG_OK;
    for (int i = 1; i < CHAIN_TX_BYTES; i++) tx[i] = (uint8_t)sim_rng_next(rng);
    return CHAIN_TX_BYTES;
}

static void chain_add_tx(void *app, const uint8_t *tx, size_t len) {
    chain_app *a = app;
    if (len != CHAIN_TX_BYTES || tx[0] != CHAIN_TAG_OK) return;
    if (done_has(a, tx_id(tx)) || a->pool_len == CHAIN_MEMPOOL_MAX) return;
    for (size_t i = 0; i < a->pool_len; i++) {
        if (memcmp(a->pool[i], tx, CHAIN_TX_BYTES) == 0) return;
    }
    memcpy(a->pool[a->pool_len++], tx, CHAIN_TX_BYTES);
}

static bool chain_has_txs(const void *app) { return ((const chain_app *)app)->pool_len > 0; }

static void chain_crash(void *app) { ((chain_app *)app)->pool_len = 0; }

static size_t chain_build(void *app, uint64_t height, uint8_t *out) {
    chain_app *a = app;
    (void)height;
    size_t n = a->pool_len < CHAIN_BLOCK_TXS ? a->pool_len : CHAIN_BLOCK_TXS;
    memcpy(out, a->pool, n * CHAIN_TX_BYTES);
    return n * CHAIN_TX_BYTES;
}

static bool chain_check(const void *app, uint64_t height, const uint8_t *p, size_t len) {
    const chain_app *a = app;
    if (height != a->height + 1) return false;
    if (len % CHAIN_TX_BYTES != 0 || len > SIM_PAYLOAD_MAX) return false;
    for (size_t i = 0; i < len; i += CHAIN_TX_BYTES) {
        if (p[i] != CHAIN_TAG_OK || done_has(a, tx_id(p + i))) return false;
        for (size_t j = 0; j < i; j += CHAIN_TX_BYTES) {
            if (memcmp(p + i, p + j, CHAIN_TX_BYTES) == 0) return false;
        }
    }
    return true;
}

static void chain_execute(void *app, uint64_t height, const uint8_t *p, size_t len,
                          uint8_t root[32]) {
    chain_app *a = app;
    uint8_t buf[32 + 8 + SIM_PAYLOAD_MAX];
    memcpy(buf, a->root, 32);
    for (int i = 0; i < 8; i++) buf[32 + i] = (uint8_t)(height >> (56 - 8 * i));
    memcpy(buf + 40, p, len);
    core_sha256(a->root, buf, 40 + len);
    a->height = height;
    memcpy(root, a->root, 32);
    for (size_t i = 0; i < len; i += CHAIN_TX_BYTES) {
        done_put(a, tx_id(p + i));
        for (size_t k = 0; k < a->pool_len; k++) {
            if (memcmp(a->pool[k], p + i, CHAIN_TX_BYTES) != 0) continue;
            memmove(a->pool[k], a->pool[k + 1], (a->pool_len - k - 1) * CHAIN_TX_BYTES);
            a->pool_len--;
            break;
        }
    }
}

static size_t chain_make_invalid(sim_rng *rng, uint8_t *out) {
    size_t len = chain_make_tx(rng, out);
    out[0] = CHAIN_TAG_BAD;
    return len;
}

const sim_app_ops sim_app_chain = {
    .name = "chain",
    .create = chain_create,
    .destroy = chain_destroy,
    .make_tx = chain_make_tx,
    .add_tx = chain_add_tx,
    .has_txs = chain_has_txs,
    .crash = chain_crash,
    .build = chain_build,
    .check = chain_check,
    .execute = chain_execute,
    .make_invalid = chain_make_invalid,
};
