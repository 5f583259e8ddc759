/* Speculative execution of one block and its commit. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/mp.h"
#include "ledger/ledger_impl.h"
#include "storage/keys.h"

typedef int (*tx_handler)(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);

static tx_handler handler_for(uint64_t type) {
    switch (type) {
    case GZ_TX_ACCOUNT_SET: return ledger_tx_account_set;
    case GZ_TX_ISSUER_SET: return ledger_tx_issuer_set;
    case GZ_TX_CREDIT_ADJUST: return ledger_tx_credit_adjust;
    case GZ_TX_RELEASE_ANNOUNCE: return ledger_tx_release_announce;
    case GZ_TX_PROPOSAL_CREATE: return ledger_tx_proposal_create;
    case GZ_TX_PROPOSAL_COSIGN: return ledger_tx_proposal_cosign;
    case GZ_TX_VOTE: return ledger_tx_vote;
    case GZ_TX_SPLIT_SET: return ledger_tx_split_set;
    case GZ_TX_REVENUE: return ledger_tx_revenue;
    case GZ_TX_REWARD_POOL: return ledger_tx_reward_pool;
    case GZ_TX_TRANSFER: return ledger_tx_transfer;
    case GZ_TX_WITHDRAW: return ledger_tx_withdraw;
    case GZ_TX_ANCHOR: return ledger_tx_anchor;
    case GZ_TX_GOV_GRANT: return ledger_tx_gov_grant;
    case GZ_TX_VALIDATOR_UPDATE: return ledger_tx_validator_update;
    case GZ_TX_EVIDENCE: return ledger_tx_evidence;
    default: return NULL;
    }
}

/* Result codes are -1..-12; anything below is an internal failure. */
static bool is_internal(int err) { return err < GZ_EARG; }

/* Cuts s back to whole UTF-8 sequences (a formatted message may have been
 * truncated inside one), so it can be a JSON string. */
static void utf8_trim(char *s) {
    size_t n = strlen(s);
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        bool ok = len > 0 && i + len <= n;
        for (size_t j = 1; ok && j < len; j++) ok = ((unsigned char)s[i + j] >> 6) == 2;
        if (!ok) break;
        i += len;
    }
    s[i] = '\0';
}

static int nonce_and_run(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    if (strcmp(tx->chain_id, x->g->chain_id) != 0) {
        return gz_fail(msg, GZ_ECHAIN, "chain_id: expected \"%s\"", x->g->chain_id);
    }
    tx_handler h = handler_for(tx->type);
    if (h == NULL) {
        return gz_fail(msg, GZ_EARG, "type: unknown tx type %llu", (unsigned long long)tx->type);
    }
    ledger_account a;
    int err = ledger_account_get(x, tx->signer, &a);
    if (err == GZ_ENOTFOUND) return gz_fail(msg, GZ_EROLE, "signer: account not registered");
    if (err != GZ_OK) return err;
    if (tx->nonce != a.nonce) {
        return gz_fail(msg, GZ_ENONCE, "nonce: expected %llu, got %llu",
                       (unsigned long long)a.nonce, (unsigned long long)tx->nonce);
    }
    a.nonce++;
    err = ledger_account_put(x, &a);
    if (err != GZ_OK) return err;
    ledger_ov_savepoint_begin(x->ov);
    err = h(x, tx, msg);
    if (err == GZ_OK) {
        ledger_ov_savepoint_release(x->ov);
        return GZ_OK;
    }
    ledger_ov_savepoint_rollback(x->ov);
    json_array_clear(x->events);
    assert(err < 0);
    if (!is_internal(err) && msg->text[0] == '\0') gz_fail(msg, err, "%s", gz_strerror(err));
    return err;
}

/* 't' ‖ txid -> [height, index, type, code, message bin, events bin]. */
static int result_put(ledger_ctx *x, const gz_tx *tx, const ledger_result *r) {
    ledger_key k;
    ledger_key_init(&k, LK_RESULT);
    ledger_key_add(&k, tx->txid, 32);
    gz_buf v = {0};
    int err = mp_put_array(&v, 6);
    if (err == GZ_OK) err = mp_put_uint(&v, x->height);
    if (err == GZ_OK) err = mp_put_uint(&v, x->tx_index);
    if (err == GZ_OK) err = mp_put_uint(&v, tx->type);
    if (err == GZ_OK) err = mp_put_uint(&v, (uint64_t)r->code);
    if (err == GZ_OK) err = mp_put_bin(&v, (const uint8_t *)r->message, strlen(r->message));
    if (err == GZ_OK) err = mp_put_bin(&v, (const uint8_t *)r->events, strlen(r->events));
    if (err == GZ_OK) err = ledger_state_put(x, &k, v.data, v.len);
    gz_buf_free(&v);
    return err;
}

static char *events_text(json_t *events) { return ledger_json_text(events); }

static int exec_tx(ledger_ctx *x, const gz_tx *tx, uint32_t index, ledger_result *r) {
    gz_msg msg;
    gz_msg_clear(&msg);
    x->tx = tx;
    x->tx_index = index;
    ledger_key k;
    ledger_key_init(&k, LK_RESULT);
    ledger_key_add(&k, tx->txid, 32);
    gz_buf tmp = {0};
    int err = ledger_state_get(x, &k, &tmp);
    gz_buf_free(&tmp);
    if (err != GZ_OK && err != GZ_ENOTFOUND) return err;
    /* A tx already executed keeps its first result; a replay changes nothing. */
    bool replay = err == GZ_OK;
    if (replay) err = gz_fail(&msg, GZ_ENONCE, "txid: tx already executed");
    else err = nonce_and_run(x, tx, &msg);
    if (is_internal(err)) return err;
    utf8_trim(msg.text);
    r->code = gz_err_code(err);
    r->message = strdup(msg.text);
    r->events = events_text(x->events);
    json_array_clear(x->events);
    if (r->message == NULL || r->events == NULL) return GZ_ENOMEM;
    return replay ? GZ_OK : result_put(x, tx, r);
}

static int begin_block(ledger_ctx *x, ledger_block *b) {
    int err = ledger_gov_begin_block(x);
    if (err != GZ_OK) {
        assert(is_internal(err));
        return err;
    }
    b->begin_events = events_text(x->events);
    if (b->begin_events == NULL) return GZ_ENOMEM;
    if (json_array_size(x->events) > 0) {
        ledger_key k;
        ledger_key_init(&k, LK_BLOCK_EVENTS);
        ledger_key_add_u64(&k, x->height);
        err = ledger_state_put(x, &k, b->begin_events, strlen(b->begin_events));
    }
    json_array_clear(x->events);
    return err;
}

static int block_new(ledger *l, uint64_t height, uint64_t time, size_t n, ledger_block **out) {
    ledger_block *b = calloc(1, sizeof *b);
    if (b == NULL) return GZ_ENOMEM;
    *out = b;
    b->height = height;
    b->time = time;
    b->prev_height = l->height;
    memcpy(b->prev_root, l->state_root, 32);
    b->log = l->log;
    b->next = l->valset;
    memcpy(b->next_hash, l->valset_hash, 32);
    b->ov = ledger_ov_new(l->s);
    b->results = calloc(n ? n : 1, sizeof *b->results);
    b->leaf_off = calloc(1, sizeof *b->leaf_off);
    if (b->ov == NULL || b->results == NULL || b->leaf_off == NULL) return GZ_ENOMEM;
    b->cap_leaves = 0;
    return GZ_OK;
}

static int exec_all(ledger *l, ledger_block *b, const uint8_t proposer[32],
                    const gz_tx *const *txs, size_t n) {
    ledger_ctx x = {.g = &l->g, .height = b->height, .time = b->time, .prev_time = l->time,
                    .l = l, .ov = b->ov, .b = b};
    memcpy(x.proposer, proposer, 32);
    x.events = json_array();
    if (x.events == NULL) return GZ_ENOMEM;
    int err = begin_block(&x, b);
    for (size_t i = 0; err == GZ_OK && i < n; i++) {
        err = exec_tx(&x, txs[i], (uint32_t)i, &b->results[i]);
        b->n_results = i + 1;
    }
    json_decref(x.events);
    if (err == GZ_OK) err = ledger_valset_end_block(&x);
    if (err != GZ_OK) return err;
    err = ledger_state_root_next(b->state_root, b->prev_root, b->ov);
    core_merkle_frontier_root(&b->log, b->log_root);
    return err;
}

int ledger_exec_block(ledger *l, uint64_t height, uint64_t time, const uint8_t proposer[32],
                      const gz_tx *const *txs, size_t n, ledger_block **out) {
    *out = NULL;
    if (height != l->height + 1 || time <= l->time || n > GZ_BLOCK_TXS_MAX) return GZ_EARG;
    assert(n == 0 || txs != NULL);
    ledger_block *b = NULL;
    int err = block_new(l, height, time, n, &b);
    if (err == GZ_OK) err = exec_all(l, b, proposer, txs, n);
    if (err != GZ_OK) {
        ledger_block_free(b);
        return err;
    }
    *out = b;
    return GZ_OK;
}

int ledger_log_append(ledger_ctx *x, const gz_anchor_leaf *leaf, uint64_t *index) {
    ledger_block *b = x->b;
    assert(b != NULL);
    if (b->n_leaves == b->cap_leaves) {
        size_t cap = b->cap_leaves ? b->cap_leaves * 2 : 16;
        size_t *off = realloc(b->leaf_off, (cap + 1) * sizeof *off);
        if (off == NULL) return GZ_ENOMEM;
        b->leaf_off = off;
        uint8_t(*h)[32] = realloc(b->leaf_hashes, cap * sizeof *h);
        if (h == NULL) return GZ_ENOMEM;
        b->leaf_hashes = h;
        b->cap_leaves = cap;
    }
    size_t start = b->leaves.len;
    int err = core_anchor_leaf_encode(leaf, &b->leaves);
    if (err != GZ_OK) {
        b->leaves.len = start;
        return err;
    }
    core_merkle_leaf_hash(b->leaf_hashes[b->n_leaves], b->leaves.data + start,
                          b->leaves.len - start);
    core_merkle_frontier_append(&b->log, b->leaf_hashes[b->n_leaves]);
    b->n_leaves++;
    b->leaf_off[b->n_leaves] = b->leaves.len;
    *index = b->log.size - 1;
    return GZ_OK;
}

/* ---- getters ---- */

uint64_t ledger_block_height(const ledger_block *b) { return b->height; }
void ledger_block_state_root(const ledger_block *b, uint8_t out[32]) {
    memcpy(out, b->state_root, 32);
}
void ledger_block_log_root(const ledger_block *b, uint8_t out[32]) {
    memcpy(out, b->log_root, 32);
}
uint64_t ledger_block_log_size(const ledger_block *b) { return b->log.size; }
size_t ledger_block_tx_count(const ledger_block *b) { return b->n_results; }

int ledger_block_tx_code(const ledger_block *b, size_t i) {
    assert(i < b->n_results);
    return b->results[i].code;
}

const char *ledger_block_tx_message(const ledger_block *b, size_t i) {
    assert(i < b->n_results);
    return b->results[i].message;
}

const char *ledger_block_tx_events(const ledger_block *b, size_t i) {
    assert(i < b->n_results);
    return b->results[i].events;
}

const char *ledger_block_begin_events(const ledger_block *b) { return b->begin_events; }

/* ---- commit ---- */

int ledger_block_commit(ledger *l, const ledger_block *b, store_batch *batch) {
    if (b->prev_height != l->height || memcmp(b->prev_root, l->state_root, 32) != 0) {
        return GZ_ESTATE;
    }
    assert(b->log.size == l->log.size + b->n_leaves);
    /* Reserve now so that ledger_block_committed cannot fail. */
    int err = ledger_leaf_hashes_reserve(l, (size_t)b->log.size);
    if (err == GZ_OK) err = ledger_valset_reserve(l);
    if (err == GZ_OK) err = ledger_ov_to_batch(b->ov, batch);
    for (size_t i = 0; err == GZ_OK && i < b->n_leaves; i++) {
        err = store_log_put(batch, l->log.size + i, b->leaves.data + b->leaf_off[i],
                            b->leaf_off[i + 1] - b->leaf_off[i]);
    }
    uint8_t meta[LEDGER_META_BYTES];
    gz_put_u64be(meta, b->height);
    gz_put_u64be(meta + 8, b->time);
    memcpy(meta + 16, b->state_root, 32);
    gz_put_u64be(meta + 48, b->log.size);
    memcpy(meta + 56, b->log_root, 32);
    if (err == GZ_OK) err = store_meta_put(batch, LEDGER_META_NAME, meta, sizeof meta);
    if (err == GZ_OK) err = store_meta_put_u64(batch, STORE_META_LOG_SIZE, b->log.size);
    return err;
}

void ledger_block_committed(ledger *l, const ledger_block *b) {
    assert(b->prev_height == l->height);
    assert(memcmp(b->prev_root, l->state_root, 32) == 0);
    assert(l->cap_leaf_hashes >= b->log.size);
    if (b->n_leaves > 0) {
        memcpy(l->leaf_hashes + l->log.size, b->leaf_hashes, b->n_leaves * sizeof *b->leaf_hashes);
    }
    l->height = b->height;
    l->time = b->time;
    memcpy(l->state_root, b->state_root, 32);
    l->log = b->log;
    ledger_valset_committed(l, b);
}

void ledger_block_free(ledger_block *b) {
    if (b == NULL) return;
    ledger_ov_free(b->ov);
    for (size_t i = 0; i < b->n_results; i++) {
        free(b->results[i].message);
        free(b->results[i].events);
    }
    free(b->results);
    free(b->begin_events);
    gz_buf_free(&b->leaves);
    free(b->leaf_off);
    free(b->leaf_hashes);
    free(b);
}
