/* Helpers for the governance tests: a configurable genesis, deterministic
 * keys, tx builders (sealed by hashing the body, or really signed, encoded and
 * decoded back), a block cycle over a memory store with chosen block times,
 * and JSON accessors for the query results. Included by the
 * test_ledger_gov*.c files only (static functions, one copy per test). */
#ifndef GZ_TESTS_LEDGER_GOV_KIT_H
#define GZ_TESTS_LEDGER_GOV_KIT_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/hash.h"
#include "core/keys.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "storage/store.h"

/* Key indexes: the four roles, then genesis users T_U(0).. */
enum { T_REG = 0, T_CREDIT = 1, T_TREAS = 2, T_GOV = 3, T_USER0 = 4 };
#define T_U(i) (T_USER0 + (i))
#define GT_USERS_MAX 96
#define GT_KEYS (T_USER0 + GT_USERS_MAX + 4)
/* Key index of a key that genesis never registers. */
#define T_STRANGER (GT_KEYS - 1)
/* The validator: a registered account (SPEC §4), used for nothing else. */
#define T_VALIDATOR (GT_KEYS - 2)
#define GT_BLOCK_MAX 256
#define DAY_MS 86400000ull

typedef struct gt {
    gz_genesis g;
    store *s;
    ledger *l;
    size_t n_users;
    bool sign; /* really sign, encode and decode every tx (slower) */
    uint8_t sk[GT_KEYS][32];
    uint8_t pub[GT_KEYS][32];
    uint64_t nonce[GT_KEYS];
    uint64_t time;            /* the last block's time */
    json_t *begin;            /* begin events of the last block */
    json_t *ev[GT_BLOCK_MAX]; /* events of the last block's txs */
    char msg[GT_BLOCK_MAX][200];
    size_t n_ev;
} gt;

static inline void gt_key(gt *t, int i) {
    char seed[48];
    snprintf(seed, sizeof seed, "governance test key %d", i);
    core_sha256(t->sk[i], seed, strlen(seed));
    cr_assert_eq(core_key_pub(t->pub[i], t->sk[i]), GZ_OK);
}

/* A kit with the default genesis (points model), one validator, one account
 * per role and n_users users with level 0 and no classes. Adjust t->g (policy,
 * t->g.accounts[u] for user u) and then call gt_open. */
static inline gt *gt_new(size_t n_users) {
    cr_assert(n_users <= GT_USERS_MAX);
    gt *t = calloc(1, sizeof *t);
    cr_assert_not_null(t);
    t->n_users = n_users;
    for (int i = 0; i < GT_KEYS; i++) gt_key(t, i);
    ledger_genesis_default(&t->g);
    t->g.n_validators = 1;
    snprintf(t->g.validators[0].name, sizeof t->g.validators[0].name, "v0");
    memcpy(t->g.validators[0].pub_key, t->pub[T_VALIDATOR], 32);
    t->g.validators[0].power = 10;
    for (int r = 0; r < GZ_ROLE_COUNT; r++) {
        t->g.n_authorities[r] = 1;
        memcpy(t->g.authorities[r][0], t->pub[T_REG + r], 32);
    }
    for (size_t u = 0; u < n_users; u++) {
        gz_genesis_account a;
        memset(&a, 0, sizeof a);
        memcpy(a.account, t->pub[T_U(u)], 32);
        snprintf(a.label, sizeof a.label, "user%zu", u);
        cr_assert_eq(ledger_genesis_add_account(&t->g, &a), GZ_OK);
    }
    return t;
}

static inline void gt_user(gt *t, size_t u, uint64_t level, uint64_t classes) {
    cr_assert(u < t->n_users);
    t->g.accounts[u].level = level;
    t->g.accounts[u].classes = classes;
}

/* The composite model with SPEC's numbers (45/35/20, watch 70, suspend 50 for
 * 180 days, pioneer 85, whitelist 90), all components starting at 80. */
static inline void gt_composite(gt *t) {
    gz_credit_policy *c = &t->g.policy.credit;
    c->model = GZ_CREDIT_COMPOSITE;
    c->initial = 0;
    c->max = 0;
    c->suspend_at = 0;
    c->weights_ppm[0] = 450000;
    c->weights_ppm[1] = 350000;
    c->weights_ppm[2] = 200000;
    for (int i = 0; i < 3; i++) c->initial_components[i] = 80;
    c->watch_below = 70;
    c->suspend_below = 50;
    c->suspend_ms = 180 * DAY_MS;
    c->pioneer_at = 85;
    c->whitelist_at = 90;
}

static inline void gt_open(gt *t) {
    gz_msg msg;
    gz_msg_clear(&msg);
    cr_assert_eq(ledger_genesis_check(&t->g, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(store_open_memory(&t->s), GZ_OK);
    cr_assert_eq(ledger_open(&t->l, t->s, &t->g, &msg), GZ_OK, "%s", msg.text);
    t->time = ledger_time(t->l);
}

static inline void gt_clear_events(gt *t) {
    json_decref(t->begin);
    t->begin = NULL;
    for (size_t i = 0; i < t->n_ev; i++) json_decref(t->ev[i]);
    t->n_ev = 0;
}

static inline void gt_free(gt *t) {
    gt_clear_events(t);
    ledger_close(t->l);
    store_close(t->s);
    ledger_genesis_free(&t->g);
    free(t);
}

/* ---- txs ---- */

static inline gz_tx *gt_tx(gt *t, int signer, uint64_t type) {
    gz_tx *tx = calloc(1, sizeof *tx);
    cr_assert_not_null(tx);
    snprintf(tx->chain_id, sizeof tx->chain_id, "%s", t->g.chain_id);
    tx->type = type;
    memcpy(tx->signer, t->pub[signer], 32);
    tx->nonce = t->nonce[signer]++;
    return tx;
}

static inline int gt_signer_index(const gt *t, const gz_tx *tx) {
    for (int i = 0; i < GT_KEYS; i++) {
        if (memcmp(t->pub[i], tx->signer, 32) == 0) return i;
    }
    cr_assert_fail("unknown signer");
    return -1;
}

/* Fixes tx->txid. With t->sign, the tx is signed, encoded, decoded back and
 * checked as a node would before execution, and the decoded tx replaces it. */
static inline void gt_seal(gt *t, gz_tx *tx) {
    if (!t->sign) {
        cr_assert_eq(core_tx_set_txid(tx), GZ_OK);
        return;
    }
    gz_buf bytes = {0};
    cr_assert_eq(core_tx_sign_encode(tx, t->sk[gt_signer_index(t, tx)], &bytes), GZ_OK);
    gz_tx *dec = calloc(1, sizeof *dec);
    cr_assert_not_null(dec);
    gz_msg msg;
    gz_msg_clear(&msg);
    cr_assert_eq(core_tx_decode(dec, bytes.data, bytes.len, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(core_tx_check(dec, t->g.chain_id, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(memcmp(dec->txid, tx->txid, 32), 0);
    *tx = *dec;
    free(dec);
    gz_buf_free(&bytes);
}

/* Executes txs (sealed here, then freed) as the next block at time t->time +
 * dt_ms, commits it, keeps its events and messages, and writes the result
 * codes into codes (may be NULL). */
static inline void gt_block(gt *t, uint64_t dt_ms, gz_tx **txs, size_t n, int *codes) {
    cr_assert(n <= GT_BLOCK_MAX);
    cr_assert(dt_ms > 0);
    gt_clear_events(t);
    for (size_t i = 0; i < n; i++) gt_seal(t, txs[i]);
    ledger_block *b = NULL;
    t->time += dt_ms;
    cr_assert_eq(ledger_exec_block(t->l, ledger_height(t->l) + 1, t->time, t->pub[T_STRANGER],
                                   (const gz_tx *const *)txs, n, &b),
                 GZ_OK);
    store_batch batch;
    store_batch_init(&batch);
    cr_assert_eq(ledger_block_commit(t->l, b, &batch), GZ_OK);
    cr_assert_eq(store_write(t->s, &batch, true), GZ_OK);
    store_batch_free(&batch);
    ledger_block_committed(t->l, b);
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
    ledger_block_free(b);
}

/* One tx in its own block 1 s later; returns its code. */
static inline int gt_run(gt *t, gz_tx *tx) {
    int code = -1;
    gt_block(t, 1000, &tx, 1, &code);
    return code;
}

/* An empty block at time t->time + dt_ms. */
static inline void gt_tick(gt *t, uint64_t dt_ms) { gt_block(t, dt_ms, NULL, 0, NULL); }

/* Runs tx and asserts it succeeded. */
#define GT_OK(t, tx)                                                                               \
    do {                                                                                           \
        int gt_code_ = gt_run((t), (tx));                                                          \
        cr_assert_eq(gt_code_, 0, "%s:%d: code %d: %s", __FILE__, __LINE__, gt_code_,              \
                     (t)->msg[0]);                                                                 \
    } while (0)

static inline gz_tx *tx_account_set(gt *t, int who, uint64_t level, uint64_t classes) {
    gz_tx *tx = gt_tx(t, T_REG, GZ_TX_ACCOUNT_SET);
    memcpy(tx->p.account_set.account, t->pub[who], 32);
    tx->p.account_set.level = level;
    tx->p.account_set.classes = classes;
    snprintf(tx->p.account_set.label, sizeof tx->p.account_set.label, "acct%d", who);
    return tx;
}

static inline gz_tx *tx_issuer(gt *t, int signer, const char *issuer, const char *ctl, int owner,
                               const char *name) {
    gz_tx *tx = gt_tx(t, signer, GZ_TX_ISSUER_SET);
    snprintf(tx->p.issuer_set.issuer_id, sizeof tx->p.issuer_set.issuer_id, "%s", issuer);
    snprintf(tx->p.issuer_set.controller_id, sizeof tx->p.issuer_set.controller_id, "%s", ctl);
    memcpy(tx->p.issuer_set.owner, t->pub[owner], 32);
    snprintf(tx->p.issuer_set.name, sizeof tx->p.issuer_set.name, "%s", name);
    return tx;
}

static inline gz_tx *tx_credit(gt *t, int signer, const char *ctl, uint64_t component,
                               int64_t delta, uint64_t reason) {
    gz_tx *tx = gt_tx(t, signer, GZ_TX_CREDIT_ADJUST);
    gz_p_credit_adjust *p = &tx->p.credit_adjust;
    snprintf(p->controller_id, sizeof p->controller_id, "%s", ctl);
    p->component = component;
    p->delta = delta;
    p->reason = reason;
    snprintf(p->memo, sizeof p->memo, "case %llu", (unsigned long long)reason);
    return tx;
}

static inline gz_tx *tx_release(gt *t, int signer, const char *release, const char *issuer,
                                uint64_t release_time) {
    gz_tx *tx = gt_tx(t, signer, GZ_TX_RELEASE_ANNOUNCE);
    gz_p_release_announce *p = &tx->p.release_announce;
    snprintf(p->release_id, sizeof p->release_id, "%s", release);
    snprintf(p->issuer_id, sizeof p->issuer_id, "%s", issuer);
    snprintf(p->title, sizeof p->title, "title of %s", release);
    p->supply = 1000;
    p->price = 9900;
    p->release_time = release_time;
    return tx;
}

/* options: a NULL-terminated list. */
static inline gz_tx *tx_proposal(gt *t, int signer, uint64_t kind, const char *subject,
                                 const char *const *options, uint64_t min_level,
                                 uint64_t classes_any, uint64_t weighting, uint64_t voting_ms) {
    gz_tx *tx = gt_tx(t, signer, GZ_TX_PROPOSAL_CREATE);
    gz_p_proposal_create *p = &tx->p.proposal_create;
    p->kind = kind;
    snprintf(p->subject, sizeof p->subject, "%s", subject);
    snprintf(p->title, sizeof p->title, "about %s", subject);
    while (options[p->n_options] != NULL) {
        cr_assert(p->n_options < GZ_OPTIONS_MAX);
        snprintf(p->options[p->n_options], sizeof p->options[0], "%s", options[p->n_options]);
        p->n_options++;
    }
    p->min_level = min_level;
    p->classes_any = classes_any;
    p->weighting = weighting;
    p->voting_ms = voting_ms;
    return tx;
}

static const char *const YES_NO[] = {"yes", "no", NULL};

static inline gz_tx *tx_distrust(gt *t, int signer, uint64_t kind, const char *ctl) {
    return tx_proposal(t, signer, kind, ctl, YES_NO, 0, 0, 1, 3 * DAY_MS);
}

static inline gz_tx *tx_cosign(gt *t, int signer, const uint8_t id[32]) {
    gz_tx *tx = gt_tx(t, signer, GZ_TX_PROPOSAL_COSIGN);
    memcpy(tx->p.proposal_cosign.proposal_id, id, 32);
    return tx;
}

/* n choices from the variadic list. */
static inline gz_tx *tx_vote(gt *t, int signer, const uint8_t id[32], uint32_t n, ...) {
    gz_tx *tx = gt_tx(t, signer, GZ_TX_VOTE);
    memcpy(tx->p.vote.proposal_id, id, 32);
    va_list ap;
    va_start(ap, n);
    for (uint32_t i = 0; i < n; i++) tx->p.vote.choices[i] = va_arg(ap, unsigned);
    va_end(ap);
    tx->p.vote.n_choices = n;
    return tx;
}

static inline gz_tx *tx_grant(gt *t, int who, uint64_t amount, uint64_t category) {
    gz_tx *tx = gt_tx(t, T_GOV, GZ_TX_GOV_GRANT);
    memcpy(tx->p.gov_grant.account, t->pub[who], 32);
    tx->p.gov_grant.amount = amount;
    tx->p.gov_grant.category = category;
    return tx;
}

/* ids: n proposal ids. */
static inline gz_tx *tx_pool(gt *t, int signer, const char *pool, uint64_t amount,
                             const uint8_t (*ids)[32], uint32_t n) {
    gz_tx *tx = gt_tx(t, signer, GZ_TX_REWARD_POOL);
    gz_p_reward_pool *p = &tx->p.reward_pool;
    snprintf(p->pool_id, sizeof p->pool_id, "%s", pool);
    p->amount = amount;
    p->n_proposals = n;
    memcpy(p->proposal_ids, ids, (size_t)n * 32);
    return tx;
}

/* Seals tx now and copies its txid (a proposal id) out; tx is still to run. */
static inline void gt_id(gt *t, gz_tx *tx, uint8_t id[32]) {
    gt_seal(t, tx);
    memcpy(id, tx->txid, 32);
}

/* ---- queries and JSON ---- */

static inline long long jint(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_integer(v), "field %s is not an integer", key);
    return json_integer_value(v);
}

static inline const char *jstr(const json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    cr_assert(json_is_string(v), "field %s is not a string", key);
    return json_string_value(v);
}

static inline json_t *gt_proposal(gt *t, const uint8_t id[32]) {
    json_t *o = NULL;
    cr_assert_eq(ledger_query_proposal(t->l, id, &o), GZ_OK);
    return o;
}

static inline json_t *gt_controller(gt *t, const char *id) {
    json_t *o = NULL;
    cr_assert_eq(ledger_query_controller(t->l, id, &o), GZ_OK, "controller %s", id);
    return o;
}

static inline json_t *gt_release(gt *t, const char *id) {
    json_t *o = NULL;
    cr_assert_eq(ledger_query_release(t->l, id, &o), GZ_OK, "release %s", id);
    return o;
}

static inline long long gt_account_field(gt *t, int who, const char *field) {
    json_t *a = NULL;
    cr_assert_eq(ledger_query_account(t->l, t->pub[who], &a), GZ_OK);
    long long v = jint(a, field);
    json_decref(a);
    return v;
}

/* A proposal's status string (a copy in buf). */
static inline const char *gt_pstatus(gt *t, const uint8_t id[32], char buf[16]) {
    json_t *o = gt_proposal(t, id);
    snprintf(buf, 16, "%s", jstr(o, "status"));
    json_decref(o);
    return buf;
}

static inline void gt_expect_pstatus(gt *t, const uint8_t id[32], const char *want) {
    char buf[16];
    cr_assert_str_eq(gt_pstatus(t, id, buf), want);
}

static inline long long gt_score(gt *t, const char *ctl) {
    json_t *o = gt_controller(t, ctl);
    long long s = jint(o, "score");
    json_decref(o);
    return s;
}

static inline void gt_expect_cstatus(gt *t, const char *ctl, const char *want) {
    json_t *o = gt_controller(t, ctl);
    cr_assert_str_eq(jstr(o, "status"), want, "controller %s", ctl);
    json_decref(o);
}

/* The nth event of type in an events array (attrs), or NULL. */
static inline json_t *gt_event(const json_t *events, const char *type, int nth) {
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0 && nth-- == 0) {
            return json_object_get(e, "attrs");
        }
    }
    return NULL;
}

static inline void gt_hex(char out[65], const uint8_t id[32]) { gz_hex_encode(out, id, 32); }

#endif
