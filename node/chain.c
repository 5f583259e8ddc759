#include "node/chain.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/merkle.h"
#include "core/mp.h"
#include "storage/keys.h"

void chain_block_free(chain_block *b) {
    if (b == NULL) return;
    gz_buf_free(&b->bytes);
    free(b->txs);
    free(b->tx_ptrs);
    free(b->tx_off);
    free(b->tx_len);
    free(b->tx_pooled);
    ledger_block_free(b->exec);
    free(b);
}

static void clear_candidates(chain *c) {
    for (size_t i = 0; i < c->n_cand; i++) chain_block_free(c->cand[i]);
    c->n_cand = 0;
}

int chain_open(chain *c, store *st, ledger *lg, const gz_genesis *g, gz_msg *msg) {
    memset(c, 0, sizeof *c);
    c->st = st;
    c->lg = lg;
    c->g = g;
    c->height = ledger_height(lg);
    c->time = ledger_time(lg);
    if (c->height == 0) return GZ_OK; /* prev_block_id of height 1 is 32 zero bytes */
    gz_buf id;
    gz_buf_init(&id);
    int rc = store_meta_get(st, STORE_META_LAST_BLOCK_ID, &id);
    if (rc == GZ_OK && id.len != 32) rc = GZ_ECORRUPT;
    if (rc == GZ_OK) memcpy(c->last_block_id, id.data, 32);
    gz_buf_free(&id);
    if (rc != GZ_OK) return gz_fail(msg, rc, "store: last block id at height %llu: %s",
                                    (unsigned long long)c->height, gz_strerror(rc));
    return GZ_OK;
}

void chain_close(chain *c) { clear_candidates(c); }

void chain_clear(chain *c) {
    clear_candidates(c);
    c->n_keep = 0;
}

chain_block *chain_find(chain *c, const uint8_t block_id[32]) {
    for (size_t i = 0; i < c->n_cand; i++) {
        if (memcmp(c->cand[i]->block_id, block_id, 32) == 0) return c->cand[i];
    }
    return NULL;
}

void chain_keep(chain *c, const uint8_t (*ids)[32], size_t n) {
    assert(n <= CHAIN_KEEP_MAX);
    memcpy(c->keep, ids, n * 32);
    c->n_keep = n;
}

static bool kept(const chain *c, const chain_block *b) {
    for (size_t i = 0; i < c->n_keep; i++)
        if (memcmp(c->keep[i], b->block_id, 32) == 0) return true;
    return false;
}

/* Keeps b as a candidate, evicting the oldest of those not kept when full. */
static void add_candidate(chain *c, chain_block *b) {
    if (c->n_cand == GZ_BLOCK_CANDIDATES_MAX) {
        size_t v = 0;
        while (v < c->n_cand && kept(c, c->cand[v])) v++;
        assert(v < c->n_cand);
        chain_block_free(c->cand[v]);
        memmove(c->cand + v, c->cand + v + 1, (c->n_cand - v - 1) * sizeof c->cand[0]);
        c->n_cand--;
    }
    c->cand[c->n_cand++] = b;
}

static chain_block *block_alloc(size_t n_txs) {
    chain_block *b = calloc(1, sizeof *b);
    if (b == NULL) return NULL;
    size_t n = n_txs ? n_txs : 1;
    b->txs = malloc(n * sizeof *b->txs);
    b->tx_ptrs = malloc(n * sizeof *b->tx_ptrs);
    b->tx_off = malloc(n * sizeof *b->tx_off);
    b->tx_len = malloc(n * sizeof *b->tx_len);
    b->tx_pooled = calloc(n, 1);
    if (b->txs == NULL || b->tx_ptrs == NULL || b->tx_off == NULL || b->tx_len == NULL || b->tx_pooled == NULL) {
        chain_block_free(b);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) b->tx_ptrs[i] = &b->txs[i];
    return b;
}

static int tx_root(const chain_block *b, uint8_t out[32]) {
    uint8_t (*leaves)[32] = malloc((b->n_txs ? b->n_txs : 1) * 32);
    if (leaves == NULL) return GZ_ENOMEM;
    for (size_t i = 0; i < b->n_txs; i++) core_merkle_leaf_hash(leaves[i], b->txs[i].txid, 32);
    int rc = core_merkle_root(out, (const uint8_t (*)[32])leaves, b->n_txs);
    free(leaves);
    return rc;
}

/* Reads Block = [header bin, txs array] up to the first tx: rd is left on it.
 * The one parser of Block bytes, for received and for stored blocks. */
static int block_open(mp_rd *rd, const uint8_t *bytes, size_t len, gz_header *h, const uint8_t **hdr,
                      size_t *hdr_len, size_t *n_txs, gz_msg *msg) {
    uint32_t n = 0;
    mp_rd_init(rd, bytes, len, msg);
    int rc = mp_get_array_n(rd, "block", 2);
    if (rc == GZ_OK) rc = mp_get_bin(rd, "block.header", hdr, hdr_len, GZ_HEADER_BYTES_MAX);
    if (rc == GZ_OK) rc = core_header_decode(h, *hdr, *hdr_len, msg);
    if (rc == GZ_OK) rc = mp_get_array(rd, "block.txs", &n, 0, GZ_BLOCK_TXS_MAX);
    *n_txs = n;
    return rc;
}

/* Signer -> its next nonce in the block being filled. Only signers that got a
 * tx into the block have a slot, so the table is sized by what the block can
 * hold (at most block_max_txs signers), never by what the mempool holds. */
typedef struct nonce_slot {
    uint8_t signer[32];
    uint64_t next;
    bool used;
} nonce_slot;

typedef struct build_ctx {
    chain *c;
    const mempool *mp;
    chain_block *b;
    gz_buf *txbytes;        /* the txs array being encoded */
    nonce_slot *slots;
    size_t cap;             /* a power of two, at least twice max_txs */
    size_t max_txs;
    size_t bytes_left;
    size_t scanned;         /* mempool entries looked at */
    int rc;
} build_ctx;

/* The slot of signer, or the empty one where it would go; NULL if the table
 * is full (it cannot be: it has twice as many slots as the block has txs),
 * so the probe ends whatever the table holds. */
static nonce_slot *nonce_slot_find(build_ctx *x, const uint8_t signer[32]) {
    uint64_t h;
    memcpy(&h, signer, sizeof h);
    h *= 0x9E3779B97F4A7C15ull;
    size_t mask = x->cap - 1;
    size_t i = (size_t)(h >> 20) & mask;
    for (size_t n = 0; n < x->cap; n++, i = (i + 1) & mask) {
        nonce_slot *s = &x->slots[i];
        if (!s->used || memcmp(s->signer, signer, 32) == 0) return s;
    }
    return NULL;
}

/* Whether e carries its signer's next nonce. A signer's first tx of the block
 * is looked for at the committed nonce the mempool has for it (no read), and
 * confirmed with the ledger, so a build reads the ledger at most once per tx
 * it takes, and an unexecutable tx costs only the two lookups. */
static bool build_nonce_ok(build_ctx *x, const nonce_slot *s, const mempool_entry *e) {
    if (x->c->test_faults & CHAIN_TEST_BUILD_ANY_NONCE) return true;
    if (s->used) return e->nonce == s->next;
    const mempool_signer *rec = mempool_signer_get(x->mp, e->signer);
    if (rec == NULL || rec->next != e->nonce) return false;
    uint64_t next = 0;
    return ledger_account_nonce(x->c->lg, e->signer, &next) == GZ_OK && next == e->nonce;
}

/* Takes a mempool tx if it is its signer's next nonce and it fits; stops when
 * the block is full or GZ_BUILD_SCAN_MAX entries were looked at. */
static bool build_take(const mempool_entry *e, void *data) {
    build_ctx *x = data;
    chain_block *b = x->b;
    if (b->n_txs == x->max_txs || ++x->scanned > GZ_BUILD_SCAN_MAX) return false;
    if (e->len + 8 > x->bytes_left) return true; /* a smaller one may still fit */
    nonce_slot *s = nonce_slot_find(x, e->signer);
    if (s == NULL) return false;
    if (!build_nonce_ok(x, s, e)) return true;
    gz_msg msg;
    if (core_tx_decode(&b->txs[b->n_txs], e->bytes, e->len, &msg) != GZ_OK) return true;
    size_t before = x->txbytes->len;
    x->rc = mp_put_bin(x->txbytes, e->bytes, e->len);
    if (x->rc != GZ_OK) return false;
    b->tx_off[b->n_txs] = x->txbytes->len - e->len; /* relative to the txs array */
    b->tx_len[b->n_txs] = e->len;
    b->tx_pooled[b->n_txs] = 1;
    b->n_txs++;
    if (!s->used) {
        s->used = true;
        memcpy(s->signer, e->signer, 32);
    }
    s->next = e->nonce + 1;
    x->bytes_left -= x->txbytes->len - before;
    return true;
}

/* Encodes Block = [header, txs] into b->bytes from the filled header and txs. */
static int block_encode(chain_block *b, const gz_buf *txs_enc) {
    gz_buf hdr;
    gz_buf_init(&hdr);
    int rc = core_header_encode(&b->header, &hdr);
    if (rc == GZ_OK) rc = mp_put_array(&b->bytes, 2);
    if (rc == GZ_OK) rc = mp_put_bin(&b->bytes, hdr.data, hdr.len);
    if (rc == GZ_OK) {
        b->header_len = hdr.len;
        b->header_off = b->bytes.len - hdr.len;
        rc = mp_put_array(&b->bytes, (uint32_t)b->n_txs);
    }
    size_t base = b->bytes.len;
    if (rc == GZ_OK) rc = gz_buf_append(&b->bytes, txs_enc->data, txs_enc->len);
    if (rc == GZ_OK) {
        core_block_id(b->block_id, hdr.data, hdr.len);
        for (size_t i = 0; i < b->n_txs; i++) b->tx_off[i] += base;
    }
    gz_buf_free(&hdr);
    return rc;
}

static int build_fill(chain *c, const mempool *mp, chain_block *b, gz_buf *txs_enc) {
    size_t n = mempool_count(mp);
    build_ctx x = {.c = c, .mp = mp, .b = b, .txbytes = txs_enc, .rc = GZ_OK};
    x.max_txs = c->g->consensus.block_max_txs;
    x.bytes_left = c->g->consensus.block_max_bytes - 512; /* room for header and framing */
    x.cap = 64;
    while (x.cap < 2 * (n < x.max_txs ? n : x.max_txs) + 2) x.cap *= 2;
    x.slots = calloc(x.cap, sizeof *x.slots);
    if (x.slots == NULL) return GZ_ENOMEM;
    mempool_each(mp, build_take, &x);
    free(x.slots);
    return x.rc;
}

int chain_build(chain *c, const mempool *mp, uint64_t now_ms, const uint8_t proposer[32],
                chain_block **out) {
    *out = NULL;
    size_t n = mempool_count(mp);
    size_t max = c->g->consensus.block_max_txs;
    chain_block *b = block_alloc(n < max ? n : max);
    if (b == NULL) return GZ_ENOMEM;
    gz_buf txs_enc;
    gz_buf_init(&txs_enc);
    int rc = build_fill(c, mp, b, &txs_enc);
    gz_header *h = &b->header;
    strcpy(h->chain_id, c->g->chain_id);
    h->height = c->height + 1;
    h->time = now_ms > c->time ? now_ms : c->time + 1;
    memcpy(h->prev_block_id, c->last_block_id, 32);
    h->tx_count = b->n_txs;
    ledger_validators_next_hash(c->lg, h->validators_hash);
    memcpy(h->proposer, proposer, 32);
    if (rc == GZ_OK) rc = tx_root(b, h->tx_root);
    if (rc == GZ_OK)
        rc = ledger_exec_block(c->lg, h->height, h->time, proposer, b->tx_ptrs, b->n_txs, &b->exec);
    if (rc == GZ_OK) {
        ledger_block_state_root(b->exec, h->state_root);
        ledger_block_log_root(b->exec, h->log_root);
        h->log_size = ledger_block_log_size(b->exec);
        ledger_block_next_validators_hash(b->exec, h->next_validators_hash);
        rc = block_encode(b, &txs_enc);
    }
    /* A VALIDATOR_UPDATE decoded from the mempool's bytes points into them,
     * and they go when the tx leaves the mempool: decode it again from the
     * block's own copy. */
    gz_msg why;
    for (size_t i = 0; rc == GZ_OK && i < b->n_txs; i++)
        if (b->txs[i].type == GZ_TX_VALIDATOR_UPDATE)
            rc = core_tx_decode(&b->txs[i], b->bytes.data + b->tx_off[i], b->tx_len[i], &why);
    gz_buf_free(&txs_enc);
    if (rc != GZ_OK) {
        chain_block_free(b);
        return rc;
    }
    b->validity = CHAIN_VALID;
    add_candidate(c, b);
    *out = b;
    return GZ_OK;
}

/* Decodes each Tx of a received block and runs its stateless checks. */
/* Checks the signatures of the txs the mempool has not seen (it checked the
 * others at admission), in parallel. */
static int check_unseen(chain *c, const mempool *mp, chain_block *b, gz_msg *msg) {
    const gz_tx **todo = malloc((b->n_txs ? b->n_txs : 1) * sizeof *todo);
    int *rcs = malloc((b->n_txs ? b->n_txs : 1) * sizeof *rcs);
    size_t *at = malloc((b->n_txs ? b->n_txs : 1) * sizeof *at);
    int rc = todo && rcs && at ? GZ_OK : GZ_ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < b->n_txs && rc == GZ_OK; i++) {
        /* The txid covers the body only: the mempool's copy must also carry
         * the same signature for its earlier check to count. */
        if (mempool_has_bytes(mp, b->txs[i].txid, b->bytes.data + b->tx_off[i], b->tx_len[i])) {
            b->tx_pooled[i] = 1;
            continue;
        }
        todo[m] = &b->txs[i];
        at[m++] = i;
    }
    if (rc == GZ_OK && c->pool != NULL) sigpool_check(c->pool, todo, m, c->g->chain_id, rcs);
    else for (size_t k = 0; k < m && rc == GZ_OK; k++) rcs[k] = core_tx_check(todo[k], c->g->chain_id, NULL);
    for (size_t k = 0; k < m && rc == GZ_OK; k++) {
        if (rcs[k] != GZ_OK)
            rc = gz_fail(msg, rcs[k], "block.txs[%zu]: %s", at[k],
                         rcs[k] == GZ_ECHAIN ? "wrong chain id" : "bad signature");
    }
    free(todo);
    free(rcs);
    free(at);
    return rc;
}

/* Decodes each Tx of a received block (rd reads base, of which b->bytes is a
 * copy) and runs its stateless checks. */
static int add_txs(chain *c, const mempool *mp, chain_block *b, const uint8_t *base, mp_rd *rd, gz_msg *msg) {
    for (size_t i = 0; i < b->n_txs; i++) {
        const uint8_t *p;
        size_t len;
        char field[32];
        snprintf(field, sizeof field, "block.txs[%zu]", i);
        int rc = mp_get_bin(rd, field, &p, &len, GZ_TX_BYTES_MAX);
        if (rc != GZ_OK) return rc;
        b->tx_off[i] = (size_t)(p - base);
        b->tx_len[i] = (uint32_t)len;
        gz_msg why;
        /* From the block's own copy: a decoded VALIDATOR_UPDATE points into
         * the bytes it was decoded from, and the caller's go after this call. */
        rc = core_tx_decode(&b->txs[i], b->bytes.data + b->tx_off[i], len, &why);
        if (rc != GZ_OK) return gz_fail(msg, rc, "%s: %s", field, why.text);
    }
    int rc = mp_rd_end(rd);
    return rc == GZ_OK ? check_unseen(c, mp, b, msg) : rc;
}

static int header_check(const chain *c, const chain_block *b, size_t len, gz_msg *msg) {
    const gz_header *h = &b->header;
    if (strcmp(h->chain_id, c->g->chain_id) != 0)
        return gz_fail(msg, GZ_ECHAIN, "header.chain_id: '%s' is not this chain", h->chain_id);
    if (h->height != c->height + 1)
        return gz_fail(msg, GZ_ESTATE, "header.height: %llu, expected %llu",
                       (unsigned long long)h->height, (unsigned long long)(c->height + 1));
    if (memcmp(h->prev_block_id, c->last_block_id, 32) != 0)
        return gz_fail(msg, GZ_EARG, "header.prev_block_id: does not match the last block");
    if (h->tx_count != b->n_txs)
        return gz_fail(msg, GZ_EARG, "header.tx_count: %llu, block has %zu txs",
                       (unsigned long long)h->tx_count, b->n_txs);
    if (b->n_txs > c->g->consensus.block_max_txs || len > c->g->consensus.block_max_bytes)
        return gz_fail(msg, GZ_ELIMIT, "block: over consensus.block_max_txs or block_max_bytes");
    return GZ_OK;
}

int chain_add_block(chain *c, const mempool *mp, const uint8_t *bytes, size_t len, const uint8_t want_id[32],
                    chain_block **out, gz_msg *msg) {
    *out = NULL;
    gz_header h;
    const uint8_t *hdr;
    size_t hdr_len, n_txs;
    mp_rd rd;
    int rc = block_open(&rd, bytes, len, &h, &hdr, &hdr_len, &n_txs, msg);
    if (rc != GZ_OK) return rc;
    uint8_t id[32];
    core_block_id(id, hdr, hdr_len);
    /* Only a block someone signed for (a proposal, a commit) may take a
     * candidate slot: anything else is refused before it costs memory or
     * evicts a block consensus is voting on. */
    if (memcmp(id, want_id, 32) != 0)
        return gz_fail(msg, GZ_EARG, "block.header: its id does not match the signed block id");
    chain_block *known = chain_find(c, id);
    if (known != NULL) {
        *out = known;
        return GZ_OK;
    }
    chain_block *b = block_alloc(n_txs);
    if (b == NULL) return GZ_ENOMEM;
    b->header = h;
    b->n_txs = n_txs;
    memcpy(b->block_id, id, 32);
    rc = gz_buf_append(&b->bytes, bytes, len);
    b->header_off = (size_t)(hdr - bytes);
    b->header_len = hdr_len;
    if (rc == GZ_OK) rc = header_check(c, b, len, msg);
    if (rc == GZ_OK) rc = add_txs(c, mp, b, bytes, &rd, msg);
    uint8_t root[32];
    if (rc == GZ_OK) rc = tx_root(b, root);
    if (rc == GZ_OK && memcmp(root, b->header.tx_root, 32) != 0)
        rc = gz_fail(msg, GZ_EARG, "header.tx_root: does not match the block's txs");
    if (rc != GZ_OK) {
        chain_block_free(b);
        return rc;
    }
    add_candidate(c, b);
    *out = b;
    return GZ_OK;
}

static int cmp32(const void *a, const void *b) { return memcmp(a, b, 32); }

/* A txid may appear once in a block and never again in a later block. */
static bool txs_unique(chain *c, chain_block *b) {
    uint8_t (*ids)[32] = malloc((b->n_txs ? b->n_txs : 1) * 32);
    if (ids == NULL) return false;
    for (size_t i = 0; i < b->n_txs; i++) memcpy(ids[i], b->txs[i].txid, 32);
    qsort(ids, b->n_txs, 32, cmp32);
    bool ok = true;
    for (size_t i = 1; i < b->n_txs && ok; i++) {
        if (memcmp(ids[i - 1], ids[i], 32) == 0) {
            snprintf(b->reason, sizeof b->reason, "block: a tx appears twice");
            ok = false;
        }
    }
    free(ids);
    for (size_t i = 0; i < b->n_txs && ok; i++) {
        uint64_t height;
        uint32_t index;
        /* The mempool never holds a committed tx: admission checked, and a
         * commit removes its txs. Only the others need the store. */
        if (b->tx_pooled[i] || (c->test_faults & CHAIN_TEST_ALLOW_COMMITTED)) continue;
        if (ledger_tx_location(c->lg, b->txs[i].txid, &height, &index) != GZ_ENOTFOUND) {
            snprintf(b->reason, sizeof b->reason, "block.txs[%zu]: already committed at height %llu",
                     i, (unsigned long long)height);
            ok = false;
        }
    }
    return ok;
}

static bool header_valid(chain *c, chain_block *b, uint64_t now_ms) {
    const gz_header *h = &b->header;
    const char *why = NULL;
    uint8_t vh[32];
    ledger_validators_next_hash(c->lg, vh);
    if (h->time <= c->time) why = "header.time: not after the previous block";
    else if (h->time > now_ms + c->g->consensus.max_clock_drift_ms)
        why = "header.time: too far ahead of this node's clock";
    else if (memcmp(h->validators_hash, vh, 32) != 0)
        why = "header.validators_hash: not the validator set of this height";
    else if (ledger_valset_index(ledger_validators_next(c->lg), h->proposer) < 0) why = "header.proposer: not a validator";
    if (why != NULL) snprintf(b->reason, sizeof b->reason, "%s", why);
    return why == NULL;
}

static bool exec_matches(chain *c, chain_block *b) {
    const gz_header *h = &b->header;
    int rc = ledger_exec_block(c->lg, h->height, h->time, h->proposer, b->tx_ptrs, b->n_txs, &b->exec);
    if (rc != GZ_OK) {
        snprintf(b->reason, sizeof b->reason, "block: execution failed: %s", gz_strerror(rc));
        return false;
    }
    uint8_t root[32];
    ledger_block_state_root(b->exec, root);
    const char *why = NULL;
    if (memcmp(root, h->state_root, 32) != 0) why = "header.state_root: differs from this node's execution";
    ledger_block_log_root(b->exec, root);
    if (why == NULL && memcmp(root, h->log_root, 32) != 0) why = "header.log_root: differs from this node's log";
    if (why == NULL && ledger_block_log_size(b->exec) != h->log_size) why = "header.log_size: differs";
    ledger_block_next_validators_hash(b->exec, root);
    if (why == NULL && memcmp(root, h->next_validators_hash, 32) != 0)
        why = "header.next_validators_hash: differs from the set this node's execution leaves";
    if (why != NULL) snprintf(b->reason, sizeof b->reason, "%s", why);
    return why == NULL;
}

bool chain_validate(chain *c, chain_block *b, uint64_t now_ms) {
    if (b->validity != CHAIN_UNCHECKED) return b->validity == CHAIN_VALID;
    /* The clock check is the only one that can change with time: do not cache
     * a verdict of "too far ahead". */
    if (!header_valid(c, b, now_ms)) {
        if (b->header.time <= now_ms + c->g->consensus.max_clock_drift_ms) b->validity = CHAIN_INVALID;
        return false;
    }
    bool ok = txs_unique(c, b) && exec_matches(c, b);
    b->validity = ok ? CHAIN_VALID : CHAIN_INVALID;
    return ok;
}

static int commit_batch(chain *c, chain_block *b, const gz_commit *cm, store_batch *batch) {
    gz_buf cb;
    gz_buf_init(&cb);
    int rc = core_commit_encode(cm, &cb);
    uint64_t h = b->header.height;
    if (rc == GZ_OK) rc = ledger_block_commit(c->lg, b->exec, batch);
    if (rc == GZ_OK) rc = store_block_put(batch, h, b->bytes.data, b->bytes.len);
    if (rc == GZ_OK) rc = store_commit_put(batch, h, cb.data, cb.len);
    if (rc == GZ_OK) rc = store_meta_put_u64(batch, STORE_META_HEIGHT, h);
    if (rc == GZ_OK) rc = store_meta_put(batch, STORE_META_LAST_BLOCK_ID, b->block_id, 32);
    gz_buf_free(&cb);
    return rc;
}

int chain_commit(chain *c, chain_block *b, const gz_commit *cm, gz_msg *msg) {
    assert(b->validity == CHAIN_VALID);
    assert(b->exec != NULL);
    assert(b->header.height == c->height + 1);
    assert(memcmp(cm->block_id, b->block_id, 32) == 0);
    store_batch batch;
    store_batch_init(&batch);
    int rc = commit_batch(c, b, cm, &batch);
    if (rc == GZ_OK) rc = store_write(c->st, &batch, true);
    store_batch_free(&batch);
    if (rc != GZ_OK) return gz_fail(msg, rc, "commit of height %llu: %s",
                                    (unsigned long long)b->header.height, gz_strerror(rc));
    ledger_block_committed(c->lg, b->exec);
    c->height = b->header.height;
    c->time = b->header.time;
    memcpy(c->last_block_id, b->block_id, 32);
    return GZ_OK;
}

int chain_block_bytes(chain *c, uint64_t height, gz_buf *out) { return store_block_get(c->st, height, out); }
int chain_commit_bytes(chain *c, uint64_t height, gz_buf *out) { return store_commit_get(c->st, height, out); }

void chain_stored_free(chain_stored *s) {
    gz_buf_free(&s->bytes);
    free(s->tx);
    free(s->tx_len);
    free(s->txids);
    memset(s, 0, sizeof *s);
}

static int stored_parse(chain_stored *s) {
    mp_rd rd;
    size_t n;
    int rc = block_open(&rd, s->bytes.data, s->bytes.len, &s->header, &s->hdr, &s->hdr_len, &n, NULL);
    if (rc != GZ_OK) return rc;
    s->n_txs = n;
    s->tx = malloc((n ? n : 1) * sizeof *s->tx);
    s->tx_len = malloc((n ? n : 1) * sizeof *s->tx_len);
    s->txids = malloc((n ? n : 1) * sizeof *s->txids);
    if (s->tx == NULL || s->tx_len == NULL || s->txids == NULL) return GZ_ENOMEM;
    for (size_t i = 0; i < n && rc == GZ_OK; i++) {
        rc = mp_get_bin(&rd, "block.txs[]", &s->tx[i], &s->tx_len[i], GZ_TX_BYTES_MAX);
        if (rc == GZ_OK) rc = core_tx_id_from_bytes(s->txids[i], s->tx[i], s->tx_len[i]);
    }
    return rc == GZ_OK ? mp_rd_end(&rd) : rc;
}

int chain_stored_load(chain *c, uint64_t height, chain_stored *s) {
    memset(s, 0, sizeof *s);
    int rc = store_block_get(c->st, height, &s->bytes);
    if (rc == GZ_OK) rc = stored_parse(s);
    if (rc != GZ_OK) {
        chain_stored_free(s);
        /* A stored block that does not parse means the store is damaged. */
        return rc == GZ_ENOTFOUND || rc == GZ_ENOMEM || rc == GZ_ESTORAGE ? rc : GZ_ECORRUPT;
    }
    return GZ_OK;
}
