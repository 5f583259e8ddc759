/* Helpers for the validator-set tests (SPEC §4 "Validator set changes"):
 * validator keys, approvals signed over a chosen set hash, conflicting votes
 * really signed by a validator key, and a block cycle that also reports the
 * block's next_validators_hash. Every tx is signed, encoded and decoded back
 * as a node would before execution; the bytes stay alive with the kit, since
 * a decoded VALIDATOR_UPDATE points into them. Built on the governance kit;
 * included by test_ledger_valset*.c only. */
#ifndef GZ_TESTS_LEDGER_VALSET_KIT_H
#define GZ_TESTS_LEDGER_VALSET_KIT_H

#include "tests/unit/test_ledger_gov_kit.h"

/* Validator keys: enough for a full set of 128 and a few to add. */
#define VX_KEYS 136
/* A key that genesis never makes a validator, for additions. */
#define VX_NEW (VX_KEYS - 1)
/* Tx bytes kept per kit (decoded approvals point into them). */
#define VX_KEEP 256
/* The account that sends every tx: both types accept any account. */
#define VX_SENDER T_U(0)

typedef struct vx {
    gt *t;
    uint8_t sk[VX_KEYS][32];
    uint8_t pub[VX_KEYS][32];
    gz_buf keep[VX_KEEP];
    size_t n_keep;
    uint8_t cur[32];  /* validators_hash of the last block's height */
    uint8_t next[32]; /* that block's next_validators_hash */
} vx;

/* A kit whose genesis set is validator keys 0..n-1 ("val<i>"), each with
 * power; one user (the sender). Adjust x->t->g, then call vx_open. */
static inline vx *vx_new(uint32_t n, uint64_t power) {
    cr_assert(n >= 1 && n <= GZ_VALIDATORS_MAX);
    vx *x = calloc(1, sizeof *x);
    cr_assert_not_null(x);
    x->t = gt_new(1);
    for (int i = 0; i < VX_KEYS; i++) {
        char seed[48];
        snprintf(seed, sizeof seed, "valset test validator key %d", i);
        core_sha256(x->sk[i], seed, strlen(seed));
        cr_assert_eq(core_key_pub(x->pub[i], x->sk[i]), GZ_OK);
    }
    gz_genesis *g = &x->t->g;
    memset(g->validators, 0, sizeof g->validators);
    g->n_validators = n;
    for (uint32_t i = 0; i < n; i++) {
        snprintf(g->validators[i].name, sizeof g->validators[i].name, "val%u", i);
        memcpy(g->validators[i].pub_key, x->pub[i], 32);
        g->validators[i].power = power;
    }
    return x;
}

static inline void vx_open(vx *x) { gt_open(x->t); }

static inline void vx_free(vx *x) {
    gt_free(x->t);
    for (size_t i = 0; i < x->n_keep; i++) gz_buf_free(&x->keep[i]);
    free(x);
}

/* The validator key index of pub, or -1. */
static inline int vx_key(const vx *x, const uint8_t pub[32]) {
    for (int i = 0; i < VX_KEYS; i++)
        if (memcmp(x->pub[i], pub, 32) == 0) return i;
    return -1;
}

static inline gz_buf *vx_keep(vx *x) {
    cr_assert(x->n_keep < VX_KEEP, "kit: raise VX_KEEP");
    return &x->keep[x->n_keep++];
}

/* ---- VALIDATOR_UPDATE ---- */

/* One approval by validator key `key` as set member `index` of the update
 * (pub_key of key `target`, power, name), signed over the set hash vh. */
static inline void vx_approve(vx *x, gz_approval *a, uint64_t index, int key, const uint8_t vh[32], int target,
                              uint64_t power, const char *name) {
    uint8_t digest[32];
    cr_assert_eq(core_valset_approval_hash(digest, x->t->g.chain_id, vh, x->pub[target], power, name), GZ_OK);
    a->validator_index = index;
    cr_assert_eq(core_sign32(a->sig, x->sk[key], digest, NULL), GZ_OK);
}

/* A VALIDATOR_UPDATE from the sender carrying approvals a[0..n). */
static inline gz_tx *vx_update_with(vx *x, int target, uint64_t power, const char *name, const gz_approval *a,
                                    size_t n) {
    gz_tx *tx = gt_tx(x->t, VX_SENDER, GZ_TX_VALIDATOR_UPDATE);
    gz_p_validator_update *p = &tx->p.validator_update;
    memcpy(p->pub_key, x->pub[target], 32);
    p->power = power;
    snprintf(p->name, sizeof p->name, "%s", name);
    gz_buf *b = vx_keep(x);
    cr_assert_eq(core_approvals_encode(a, n, b), GZ_OK);
    p->approvals = b->data;
    p->approvals_len = b->len;
    p->n_approvals = (uint32_t)n;
    return tx;
}

/* The same, approved by members idx[0..n) of the current set (the set of the
 * next height, whose hash they sign), each with its own key. */
static inline gz_tx *vx_update(vx *x, int target, uint64_t power, const char *name, const uint32_t *idx, size_t n) {
    const ledger_valset *cur = ledger_validators_next(x->t->l);
    uint8_t vh[32];
    ledger_validators_next_hash(x->t->l, vh);
    gz_approval a[GZ_VALIDATORS_MAX];
    cr_assert(n >= 1 && n <= GZ_VALIDATORS_MAX);
    for (size_t i = 0; i < n; i++) {
        cr_assert(idx[i] < cur->n);
        int key = vx_key(x, cur->v[idx[i]].pub_key);
        cr_assert(key >= 0);
        vx_approve(x, &a[i], idx[i], key, vh, target, power, name);
    }
    return vx_update_with(x, target, power, name, a, n);
}

/* Approved by every member of the current set. */
static inline gz_tx *vx_update_all(vx *x, int target, uint64_t power, const char *name) {
    uint32_t idx[GZ_VALIDATORS_MAX];
    uint32_t n = ledger_validators_next(x->t->l)->n;
    for (uint32_t i = 0; i < n; i++) idx[i] = i;
    return vx_update(x, target, power, name, idx, n);
}

/* ---- EVIDENCE ---- */

/* A vote of this chain; blk < 0 is a nil vote, else block_id = SHA256("block <blk>"). */
static inline gz_vote vx_vote(const vx *x, uint64_t type, uint64_t height, uint64_t round, int blk) {
    gz_vote v;
    memset(&v, 0, sizeof v);
    snprintf(v.chain_id, sizeof v.chain_id, "%s", x->t->g.chain_id);
    v.type = type;
    v.height = height;
    v.round = round;
    v.time = x->t->g.genesis_time + height * 1000 + round;
    if (blk >= 0) {
        char seed[32];
        snprintf(seed, sizeof seed, "block %d", blk);
        core_sha256(v.block_id, seed, strlen(seed));
        v.has_block_id = true;
    }
    return v;
}

/* v's bytes into out and key's signature of them into sig. */
static inline void vx_vote_sign(const vx *x, int key, const gz_vote *v, uint8_t *out, uint32_t *len, uint8_t sig[64]) {
    gz_buf b = {0};
    cr_assert_eq(core_vote_encode(v, &b), GZ_OK);
    cr_assert(b.len <= GZ_VOTE_BYTES_MAX);
    memcpy(out, b.data, b.len);
    *len = (uint32_t)b.len;
    gz_buf_free(&b);
    uint8_t h[32];
    cr_assert_eq(core_vote_sighash(h, v), GZ_OK);
    cr_assert_eq(core_sign32(sig, x->sk[key], h, NULL), GZ_OK);
}

/* EVIDENCE naming validator key `key`, with a and b signed by key `signer`. */
static inline gz_tx *vx_evidence_by(vx *x, int key, int signer, const gz_vote *a, const gz_vote *b) {
    gz_tx *tx = gt_tx(x->t, VX_SENDER, GZ_TX_EVIDENCE);
    gz_p_evidence *p = &tx->p.evidence;
    memcpy(p->validator, x->pub[key], 32);
    vx_vote_sign(x, signer, a, p->vote_a, &p->vote_a_len, p->sig_a);
    vx_vote_sign(x, signer, b, p->vote_b, &p->vote_b_len, p->sig_b);
    return tx;
}

/* key's two precommits at (height, round) for two different blocks. */
static inline gz_tx *vx_equivocation(vx *x, int key, uint64_t height, uint64_t round) {
    gz_vote a = vx_vote(x, GZ_VOTE_PRECOMMIT, height, round, 1);
    gz_vote b = vx_vote(x, GZ_VOTE_PRECOMMIT, height, round, 2);
    return vx_evidence_by(x, key, key, &a, &b);
}

/* ---- blocks ---- */

/* Signs, encodes and decodes tx back as a node would; the decoded tx replaces
 * it and its bytes stay with the kit. */
static inline void vx_wire(vx *x, gz_tx **txp) {
    gz_tx *tx = *txp;
    gz_buf *bytes = vx_keep(x);
    cr_assert_eq(core_tx_sign_encode(tx, x->t->sk[gt_signer_index(x->t, tx)], bytes), GZ_OK);
    gz_tx *dec = calloc(1, sizeof *dec);
    cr_assert_not_null(dec);
    gz_msg msg;
    gz_msg_clear(&msg);
    cr_assert_eq(core_tx_decode(dec, bytes->data, bytes->len, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(core_tx_check(dec, x->t->g.chain_id, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(memcmp(dec->txid, tx->txid, 32), 0);
    free(tx);
    *txp = dec;
}

/* Keeps b's results (codes may be NULL) in the governance kit's fields. */
static inline void vx_results(vx *x, const ledger_block *b, gz_tx **txs, size_t n, int *codes) {
    gt *t = x->t;
    t->begin = json_loads(ledger_block_begin_events(b), 0, NULL);
    cr_assert_not_null(t->begin);
    for (size_t i = 0; i < n; i++) {
        if (codes != NULL) codes[i] = ledger_block_tx_code(b, i);
        t->ev[i] = json_loads(ledger_block_tx_events(b, i), 0, NULL);
        cr_assert_not_null(t->ev[i]);
        snprintf(t->msg[i], sizeof t->msg[i], "%s", ledger_block_tx_message(b, i));
        free(txs[i]);
    }
    t->n_ev = n;
}

/* Executes txs (then freed) as the next block 1 s later and commits it;
 * x->cur and x->next get its validators_hash and next_validators_hash. */
static inline void vx_block(vx *x, gz_tx **txs, size_t n, int *codes) {
    gt *t = x->t;
    cr_assert(n <= GT_BLOCK_MAX);
    gt_clear_events(t);
    for (size_t i = 0; i < n; i++) vx_wire(x, &txs[i]);
    ledger_validators_next_hash(t->l, x->cur);
    ledger_block *b = NULL;
    t->time += 1000;
    cr_assert_eq(ledger_exec_block(t->l, ledger_height(t->l) + 1, t->time, t->pub[T_STRANGER],
                                   (const gz_tx *const *)txs, n, &b),
                 GZ_OK);
    ledger_block_next_validators_hash(b, x->next);
    store_batch batch;
    store_batch_init(&batch);
    cr_assert_eq(ledger_block_commit(t->l, b, &batch), GZ_OK);
    cr_assert_eq(store_write(t->s, &batch, true), GZ_OK);
    store_batch_free(&batch);
    ledger_block_committed(t->l, b);
    uint8_t after[32];
    ledger_validators_next_hash(t->l, after);
    cr_assert_eq(memcmp(after, x->next, 32), 0, "the committed next set is the block's");
    vx_results(x, b, txs, n, codes);
    ledger_block_free(b);
}

/* One tx in its own block; returns its code (message in x->t->msg[0]). */
static inline int vx_run(vx *x, gz_tx *tx) {
    int code = -1;
    vx_block(x, &tx, 1, &code);
    return code;
}

#define VX_OK(x, tx)                                                                                   \
    do {                                                                                               \
        int vx_code_ = vx_run((x), (tx));                                                              \
        cr_assert_eq(vx_code_, 0, "%s:%d: code %d: %s", __FILE__, __LINE__, vx_code_, (x)->t->msg[0]); \
    } while (0)

static inline void vx_tick(vx *x, int n) {
    for (int i = 0; i < n; i++) vx_block(x, NULL, 0, NULL);
}

/* ---- expectations ---- */

/* s is exactly keys[0..n) with powers[0..n), in that order. */
static inline void vx_expect_set(const vx *x, const ledger_valset *s, const int *keys, const uint64_t *powers,
                                 uint32_t n, const char *what) {
    cr_assert_eq(s->n, n, "%s: %u validators, want %u", what, s->n, n);
    for (uint32_t i = 0; i < n; i++) {
        cr_expect_eq(vx_key(x, s->v[i].pub_key), keys[i], "%s: validator %u is key %d, want %d", what, i,
                     vx_key(x, s->v[i].pub_key), keys[i]);
        cr_expect_eq(s->v[i].power, powers[i], "%s: validator %u power %llu, want %llu", what, i,
                     (unsigned long long)s->v[i].power, (unsigned long long)powers[i]);
    }
}

/* The hash SPEC §4 gives for keys/powers. */
static inline void vx_hash_of(const vx *x, uint8_t out[32], const int *keys, const uint64_t *powers, uint32_t n) {
    gz_validator v[GZ_VALIDATORS_MAX];
    memset(v, 0, sizeof v);
    for (uint32_t i = 0; i < n; i++) {
        memcpy(v[i].pub_key, x->pub[keys[i]], 32);
        v[i].power = powers[i];
    }
    cr_assert_eq(core_validators_hash(out, v, n), GZ_OK);
}

static inline json_t *vx_validators(vx *x, uint64_t height) {
    json_t *o = NULL;
    cr_assert_eq(ledger_query_validators(x->t->l, height, &o), GZ_OK, "validators at %llu", (unsigned long long)height);
    return o;
}

/* The entry of validators-query result arr for key, or NULL. */
static inline json_t *vx_entry(const vx *x, const json_t *arr, int key) {
    char hex[65];
    gz_hex_encode(hex, x->pub[key], 32);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "pub_key")), hex) == 0) return e;
    }
    return NULL;
}

static inline json_t *vx_evidence_page(vx *x, int key, uint32_t limit, const char *after) {
    json_t *o = NULL;
    gz_msg msg;
    gz_msg_clear(&msg);
    cr_assert_eq(ledger_query_evidence(x->t->l, key >= 0 ? x->pub[key] : NULL, limit, after, &o, &msg), GZ_OK, "%s",
                 msg.text);
    return o;
}

#endif
