/* The ledger's block cycle: open (genesis or reload), speculative execution of
 * a block on an overlay, commit into the node's batch. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/mp.h"
#include "ledger/ledger_impl.h"
#include "storage/keys.h"

/* state_root = TH("gongzhi/state", prev_root ‖ SHA256(write set)). */
int ledger_state_root_next(uint8_t out[32], const uint8_t prev[32], ledger_overlay *ov) {
    uint8_t m[64];
    memcpy(m, prev, 32);
    int err = ledger_ov_write_set_hash(ov, m + 32);
    if (err == GZ_OK) core_tagged_hash(out, GZ_TAG_STATE, m, sizeof m);
    return err;
}

static void meta_encode(uint8_t out[LEDGER_META_BYTES], uint64_t height, uint64_t time,
                        const uint8_t root[32], const core_merkle_frontier *log) {
    gz_put_u64be(out, height);
    gz_put_u64be(out + 8, time);
    memcpy(out + 16, root, 32);
    gz_put_u64be(out + 48, log->size);
    core_merkle_frontier_root(log, out + 56);
}

/* ---- genesis ---- */

static int genesis_account(ledger_ctx *x, const uint8_t id[32], uint64_t level, uint64_t classes,
                           const char *label) {
    ledger_account a;
    memset(&a, 0, sizeof a);
    memcpy(a.id, id, 32);
    a.level = level;
    a.classes = classes;
    snprintf(a.label, sizeof a.label, "%s", label);
    return ledger_account_put(x, &a);
}

/* The genesis write set: accounts, role memberships, the genesis hash. */
static int genesis_state(ledger_ctx *x) {
    const gz_genesis *g = x->g;
    int err = GZ_OK;
    for (size_t i = 0; err == GZ_OK && i < g->n_accounts; i++) {
        const gz_genesis_account *a = &g->accounts[i];
        err = genesis_account(x, a->account, a->level, a->classes, a->label);
    }
    for (int r = 0; err == GZ_OK && r < GZ_ROLE_COUNT; r++) {
        for (uint32_t i = 0; err == GZ_OK && i < g->n_authorities[r]; i++) {
            ledger_account a;
            err = ledger_account_get(x, g->authorities[r][i], &a);
            if (err == GZ_ENOTFOUND) {
                err = genesis_account(x, g->authorities[r][i], 0, 0, ledger_role_name(r));
            }
            ledger_key k;
            ledger_key_init(&k, LK_ROLE);
            ledger_key_add_u8(&k, (uint8_t)r);
            ledger_key_add(&k, g->authorities[r][i], 32);
            if (err == GZ_OK) err = ledger_state_put(x, &k, NULL, 0);
        }
    }
    if (err == GZ_OK) err = ledger_valset_genesis(x);
    uint8_t h[32];
    if (err == GZ_OK) err = ledger_genesis_hash(g, h);
    ledger_key k;
    ledger_key_init(&k, LK_META);
    ledger_key_add(&k, LEDGER_META_GENESIS, strlen(LEDGER_META_GENESIS));
    if (err == GZ_OK) err = ledger_state_put(x, &k, h, 32);
    return err;
}

static int open_genesis(ledger *l, gz_msg *msg) {
    ledger_overlay *ov = ledger_ov_new(l->s);
    if (ov == NULL) return GZ_ENOMEM;
    ledger_ctx x = {.g = &l->g, .height = 0, .time = l->g.genesis_time,
                    .prev_time = l->g.genesis_time, .l = l, .ov = ov};
    static const uint8_t zero[32];
    store_batch batch;
    store_batch_init(&batch);
    int err = genesis_state(&x);
    if (err == GZ_OK) err = ledger_state_root_next(l->state_root, zero, ov);
    if (err == GZ_OK) err = ledger_ov_to_batch(ov, &batch);
    uint8_t meta[LEDGER_META_BYTES];
    meta_encode(meta, 0, l->g.genesis_time, l->state_root, &l->log);
    if (err == GZ_OK) err = store_meta_put(&batch, LEDGER_META_NAME, meta, sizeof meta);
    if (err == GZ_OK) err = store_write(l->s, &batch, true);
    if (err == GZ_ESTORAGE) gz_fail(msg, err, "genesis: cannot write: %s", store_errmsg(l->s));
    store_batch_free(&batch);
    ledger_ov_free(ov);
    l->height = 0;
    l->time = l->g.genesis_time;
    return err;
}

/* ---- reload ---- */

int ledger_leaf_hashes_reserve(ledger *l, size_t n) {
    if (n <= l->cap_leaf_hashes) return GZ_OK;
    size_t cap = l->cap_leaf_hashes ? l->cap_leaf_hashes : 1024;
    while (cap < n) cap *= 2;
    uint8_t(*p)[32] = realloc(l->leaf_hashes, cap * sizeof *p);
    if (p == NULL) return GZ_ENOMEM;
    l->leaf_hashes = p;
    l->cap_leaf_hashes = cap;
    return GZ_OK;
}

typedef struct log_load {
    ledger *l;
    uint64_t want;
    int err;
} log_load;

static bool log_load_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                        void *data) {
    log_load *c = data;
    uint64_t index;
    if (store_key_height(&index, STORE_PFX_LOG, key, key_len) != GZ_OK ||
        index != c->l->log.size) {
        c->err = GZ_ECORRUPT;
        return false;
    }
    if (index >= c->want) return false;
    c->err = ledger_leaf_hashes_reserve(c->l, c->l->log.size + 1);
    if (c->err != GZ_OK) return false;
    core_merkle_leaf_hash(c->l->leaf_hashes[index], val, val_len);
    core_merkle_frontier_append(&c->l->log, c->l->leaf_hashes[index]);
    return true;
}

static int open_existing(ledger *l, const gz_buf *meta, gz_msg *msg) {
    if (meta->len != LEDGER_META_BYTES) {
        return gz_fail(msg, GZ_ECORRUPT, "ledger: metadata has %zu bytes", meta->len);
    }
    l->height = gz_get_u64be(meta->data);
    l->time = gz_get_u64be(meta->data + 8);
    memcpy(l->state_root, meta->data + 16, 32);
    uint64_t log_size = gz_get_u64be(meta->data + 48);
    ledger_key k;
    ledger_key_init(&k, LK_META);
    ledger_key_add(&k, LEDGER_META_GENESIS, strlen(LEDGER_META_GENESIS));
    gz_buf stored = {0};
    uint8_t h[32];
    int err = ledger_committed_get(l, &k, &stored);
    if (err == GZ_OK) err = ledger_genesis_hash(&l->g, h);
    if (err == GZ_OK && (stored.len != 32 || memcmp(stored.data, h, 32) != 0)) {
        err = gz_fail(msg, GZ_ECORRUPT, "genesis: does not match the chain in the store");
    }
    gz_buf_free(&stored);
    if (err != GZ_OK) return err == GZ_ENOTFOUND ? GZ_ECORRUPT : err;
    log_load c = {.l = l, .want = log_size, .err = GZ_OK};
    const uint8_t pfx = STORE_PFX_LOG;
    err = store_scan(l->s, &pfx, 1, NULL, 0, log_load_cb, &c);
    if (err == GZ_OK) err = c.err;
    uint8_t root[32];
    core_merkle_frontier_root(&l->log, root);
    if (err == GZ_OK && (l->log.size != log_size || memcmp(root, meta->data + 56, 32) != 0)) {
        err = gz_fail(msg, GZ_ECORRUPT, "ledger: provenance log does not match its root");
    }
    if (err == GZ_OK) err = ledger_valset_load(l, msg);
    return err;
}

static int genesis_copy(gz_genesis *dst, const gz_genesis *src) {
    *dst = *src;
    dst->accounts = NULL;
    dst->cap_accounts = 0;
    dst->n_accounts = 0;
    for (size_t i = 0; i < src->n_accounts; i++) {
        int err = ledger_genesis_add_account(dst, &src->accounts[i]);
        if (err != GZ_OK) return err;
    }
    return GZ_OK;
}

int ledger_open(ledger **out, store *s, const gz_genesis *g, gz_msg *msg) {
    *out = NULL;
    int err = ledger_genesis_check(g, msg);
    if (err != GZ_OK) return err;
    ledger *l = calloc(1, sizeof *l);
    if (l == NULL) return GZ_ENOMEM;
    l->s = s;
    core_merkle_frontier_init(&l->log);
    err = genesis_copy(&l->g, g);
    gz_buf meta = {0};
    if (err == GZ_OK) err = store_meta_get(s, LEDGER_META_NAME, &meta);
    if (err == GZ_ENOTFOUND) err = open_genesis(l, msg);
    else if (err == GZ_OK) err = open_existing(l, &meta, msg);
    gz_buf_free(&meta);
    if (err != GZ_OK) {
        ledger_close(l);
        return err;
    }
    *out = l;
    return GZ_OK;
}

void ledger_close(ledger *l) {
    if (l == NULL) return;
    ledger_genesis_free(&l->g);
    free(l->leaf_hashes);
    free(l->valset_from);
    free(l);
}

uint64_t ledger_height(const ledger *l) { return l->height; }
uint64_t ledger_time(const ledger *l) { return l->time; }
void ledger_state_root(const ledger *l, uint8_t out[32]) { memcpy(out, l->state_root, 32); }
void ledger_log_root(const ledger *l, uint8_t out[32]) { core_merkle_frontier_root(&l->log, out); }
uint64_t ledger_log_size(const ledger *l) { return l->log.size; }
const gz_genesis *ledger_genesis(const ledger *l) { return &l->g; }

int ledger_account_nonce(ledger *l, const uint8_t id[32], uint64_t *nonce) {
    ledger_account a;
    int err = ledger_account_committed_get(l, id, &a);
    *nonce = err == GZ_OK ? a.nonce : 0;
    return err;
}
