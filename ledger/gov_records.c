/* Governance records: names, keys and canonical MessagePack codecs (gov.h). */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/mp.h"
#include "ledger/gov.h"

/* ---- names ---- */

static const char *const KIND_NAMES[] = {NULL,    "distrust", "trust", "pre_review",
                                         "board", "dao",      "pfp",   "general"};
static const char *const PSTATUS_NAMES[] = {NULL,     "cosigning", "expired", "open",
                                            "passed", "rejected",  "tied"};
static const char *const CSTATUS_NAMES[] = {NULL,        "normal",  "watch",
                                            "suspended", "pioneer", "whitelist"};
static const char *const RSTATUS_NAMES[] = {NULL, "pre_review", "approved", "delayed"};
static const char *const MARK_NAMES[] = {NULL, "recommended", "spurred"};

static const char *name_at(const char *const *table, size_t n, uint64_t i) {
    return i < n ? table[i] : NULL;
}

#define NAME_AT(table, i) name_at((table), sizeof(table) / sizeof((table)[0]), (i))

const char *gov_kind_name(uint64_t kind) { return NAME_AT(KIND_NAMES, kind); }
const char *gov_pstatus_name(uint64_t status) { return NAME_AT(PSTATUS_NAMES, status); }
const char *gov_cstatus_name(uint64_t status) { return NAME_AT(CSTATUS_NAMES, status); }
const char *gov_rstatus_name(uint64_t status) { return NAME_AT(RSTATUS_NAMES, status); }
const char *gov_mark_name(uint64_t mark) { return NAME_AT(MARK_NAMES, mark); }

uint64_t gov_pstatus_from_name(const char *s) {
    for (uint64_t i = 1; i <= GOV_P_MAX; i++) {
        if (strcmp(PSTATUS_NAMES[i], s) == 0) return i;
    }
    return 0;
}

/* ---- sources ---- */

gov_src gov_src_ctx(ledger_ctx *x) { return (gov_src){.x = x, .l = NULL}; }
gov_src gov_src_committed(ledger *l) { return (gov_src){.x = NULL, .l = l}; }

int gov_src_get(const gov_src *s, const ledger_key *k, gz_buf *val) {
    assert((s->x == NULL) != (s->l == NULL));
    if (s->x != NULL) return ledger_state_get(s->x, k, val);
    return ledger_committed_get(s->l, k, val);
}

int gov_src_scan(const gov_src *s, const uint8_t *prefix, size_t prefix_len, const uint8_t *start,
                 size_t start_len, ledger_scan_cb cb, void *data) {
    assert((s->x == NULL) != (s->l == NULL));
    if (s->x != NULL) {
        return ledger_state_scan(s->x, prefix, prefix_len, start, start_len, cb, data);
    }
    return ledger_committed_scan(s->l, prefix, prefix_len, start, start_len, cb, data);
}

/* ---- keys ---- */

void gov_key_controller(ledger_key *k, const char *id) {
    ledger_key_init(k, GK_CONTROLLER);
    ledger_key_add_str(k, id);
}

void gov_key_issuer(ledger_key *k, const char *id) {
    ledger_key_init(k, GK_ISSUER);
    ledger_key_add_str(k, id);
}

void gov_key_ctl_issuer(ledger_key *k, const char *controller_id, const char *issuer_id) {
    ledger_key_init(k, GK_CTL_ISSUER);
    ledger_key_add_str(k, controller_id);
    ledger_key_add_str(k, issuer_id);
}

void gov_key_release(ledger_key *k, const char *id) {
    ledger_key_init(k, GK_RELEASE);
    ledger_key_add_str(k, id);
}

void gov_key_proposal(ledger_key *k, const uint8_t id[32]) {
    ledger_key_init(k, GK_PROPOSAL);
    ledger_key_add(k, id, 32);
}

void gov_key_vote(ledger_key *k, const uint8_t id[32], const uint8_t voter[32]) {
    ledger_key_init(k, GK_VOTE);
    ledger_key_add(k, id, 32);
    ledger_key_add(k, voter, 32);
}

void gov_key_cosigner(ledger_key *k, const uint8_t id[32], const uint8_t account[32]) {
    ledger_key_init(k, GK_COSIGNER);
    ledger_key_add(k, id, 32);
    ledger_key_add(k, account, 32);
}

void gov_key_pool(ledger_key *k, const char *id) {
    ledger_key_init(k, GK_POOL);
    ledger_key_add_str(k, id);
}

void gov_key_due(ledger_key *k, uint8_t family, uint64_t t, const uint8_t id[32]) {
    assert(family == GK_CLOSE || family == GK_EXPIRE);
    ledger_key_init(k, family);
    ledger_key_add_u64(k, t);
    ledger_key_add(k, id, 32);
}

void gov_key_lift(ledger_key *k, uint64_t until, const char *controller_id) {
    ledger_key_init(k, GK_LIFT);
    ledger_key_add_u64(k, until);
    ledger_key_add_str(k, controller_id);
}

void gov_key_board(ledger_key *k, const char *controller_id, uint64_t closes_at,
                   const uint8_t id[32]) {
    ledger_key_init(k, GK_BOARD);
    ledger_key_add_str(k, controller_id);
    ledger_key_add_u64(k, closes_at);
    ledger_key_add(k, id, 32);
}

/* ---- shared plumbing ---- */

/* Reads key k and hands its bytes to decode; maps decode failures to corruption. */
typedef int (*decode_fn)(void *rec, const uint8_t *p, size_t len);

static int load_rec(const gov_src *s, const ledger_key *k, void *rec, size_t rec_size,
                    decode_fn decode) {
    gz_buf val;
    gz_buf_init(&val);
    memset(rec, 0, rec_size);
    int err = gov_src_get(s, k, &val);
    if (err == GZ_OK) err = decode(rec, val.data, val.len);
    gz_buf_free(&val);
    if (err != GZ_OK) memset(rec, 0, rec_size);
    return err;
}

typedef int (*encode_fn)(const void *rec, gz_buf *out);

static int store_rec(ledger_ctx *x, const ledger_key *k, const void *rec, encode_fn encode) {
    gz_buf val;
    gz_buf_init(&val);
    int err = encode(rec, &val);
    if (err == GZ_OK) err = ledger_state_put(x, k, val.data, val.len);
    gz_buf_free(&val);
    return err;
}

static int put_str(gz_buf *b, const char *s) { return mp_put_str(b, s, strlen(s)); }

static int corrupt_if(int err) { return err == GZ_OK ? GZ_OK : GZ_ECORRUPT; }

int gov_index_put(ledger_ctx *x, const ledger_key *k, uint8_t v) {
    return ledger_state_put(x, k, &v, 1);
}

/* ---- controller: [points int, [c1, c2, c3], status, suspended_until, created_at] ---- */

static int controller_encode(const void *rec, gz_buf *b) {
    const gov_controller *c = rec;
    int err = mp_put_array(b, 5);
    if (err == GZ_OK) err = mp_put_int(b, c->points);
    if (err == GZ_OK) err = mp_put_array(b, GZ_CREDIT_COMPONENTS);
    for (int i = 0; i < GZ_CREDIT_COMPONENTS && err == GZ_OK; i++) {
        err = mp_put_uint(b, c->components[i]);
    }
    if (err == GZ_OK) err = mp_put_uint(b, c->status);
    if (err == GZ_OK) err = mp_put_uint(b, c->suspended_until);
    if (err == GZ_OK) err = mp_put_uint(b, c->created_at);
    return err;
}

static int controller_decode(void *rec, const uint8_t *p, size_t len) {
    gov_controller *c = rec;
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    int err = mp_get_array_n(&rd, "controller", 5);
    if (err == GZ_OK) err = mp_get_int(&rd, "points", &c->points);
    if (err == GZ_OK) err = mp_get_array_n(&rd, "components", GZ_CREDIT_COMPONENTS);
    for (int i = 0; i < GZ_CREDIT_COMPONENTS && err == GZ_OK; i++) {
        err = mp_get_uint(&rd, "component", &c->components[i]);
    }
    if (err == GZ_OK) err = mp_get_uint(&rd, "status", &c->status);
    if (err == GZ_OK) err = mp_get_uint(&rd, "suspended_until", &c->suspended_until);
    if (err == GZ_OK) err = mp_get_uint(&rd, "created_at", &c->created_at);
    if (err == GZ_OK) err = mp_rd_end(&rd);
    if (err == GZ_OK && gov_cstatus_name(c->status) == NULL) err = GZ_ECORRUPT;
    return corrupt_if(err);
}

int gov_controller_load(const gov_src *s, const char *id, gov_controller *c) {
    ledger_key k;
    gov_key_controller(&k, id);
    int err = load_rec(s, &k, c, sizeof *c, controller_decode);
    if (err == GZ_OK) snprintf(c->id, sizeof c->id, "%s", id);
    return err;
}

int gov_controller_store(ledger_ctx *x, const gov_controller *c) {
    ledger_key k;
    gov_key_controller(&k, c->id);
    return store_rec(x, &k, c, controller_encode);
}

/* ---- issuer: [controller_id, owner, name, created_at] ---- */

static int issuer_encode(const void *rec, gz_buf *b) {
    const gov_issuer *is = rec;
    int err = mp_put_array(b, 4);
    if (err == GZ_OK) err = put_str(b, is->controller_id);
    if (err == GZ_OK) err = mp_put_bin(b, is->owner, 32);
    if (err == GZ_OK) err = put_str(b, is->name);
    if (err == GZ_OK) err = mp_put_uint(b, is->created_at);
    return err;
}

static int issuer_decode(void *rec, const uint8_t *p, size_t len) {
    gov_issuer *is = rec;
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    int err = mp_get_array_n(&rd, "issuer", 4);
    if (err == GZ_OK) err = mp_get_str(&rd, "controller_id", is->controller_id, GZ_ID_MAX);
    if (err == GZ_OK) err = mp_get_bin_fixed(&rd, "owner", is->owner, 32);
    if (err == GZ_OK) err = mp_get_str(&rd, "name", is->name, GZ_NAME_MAX);
    if (err == GZ_OK) err = mp_get_uint(&rd, "created_at", &is->created_at);
    if (err == GZ_OK) err = mp_rd_end(&rd);
    return corrupt_if(err);
}

int gov_issuer_load(const gov_src *s, const char *id, gov_issuer *is) {
    ledger_key k;
    gov_key_issuer(&k, id);
    int err = load_rec(s, &k, is, sizeof *is, issuer_decode);
    if (err == GZ_OK) snprintf(is->id, sizeof is->id, "%s", id);
    return err;
}

int gov_issuer_store(ledger_ctx *x, const gov_issuer *is) {
    ledger_key k;
    gov_key_issuer(&k, is->id);
    return store_rec(x, &k, is, issuer_encode);
}

/* ---- release: [issuer_id, controller_id, title, supply, price, release_time,
 *                final_anchor or nil, status, proposal_id, announced_at] ---- */

static int release_encode(const void *rec, gz_buf *b) {
    const gov_release *r = rec;
    int err = mp_put_array(b, 10);
    if (err == GZ_OK) err = put_str(b, r->issuer_id);
    if (err == GZ_OK) err = put_str(b, r->controller_id);
    if (err == GZ_OK) err = put_str(b, r->title);
    if (err == GZ_OK) err = mp_put_uint(b, r->supply);
    if (err == GZ_OK) err = mp_put_uint(b, r->price);
    if (err == GZ_OK) err = mp_put_uint(b, r->release_time);
    if (err == GZ_OK) {
        err = r->has_final_anchor ? mp_put_bin(b, r->final_anchor, 32) : mp_put_nil(b);
    }
    if (err == GZ_OK) err = mp_put_uint(b, r->status);
    if (err == GZ_OK) err = mp_put_bin(b, r->proposal_id, 32);
    if (err == GZ_OK) err = mp_put_uint(b, r->announced_at);
    return err;
}

static int release_decode(void *rec, const uint8_t *p, size_t len) {
    gov_release *r = rec;
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    int err = mp_get_array_n(&rd, "release", 10);
    if (err == GZ_OK) err = mp_get_str(&rd, "issuer_id", r->issuer_id, GZ_ID_MAX);
    if (err == GZ_OK) err = mp_get_str(&rd, "controller_id", r->controller_id, GZ_ID_MAX);
    if (err == GZ_OK) err = mp_get_str(&rd, "title", r->title, GZ_NAME_MAX);
    if (err == GZ_OK) err = mp_get_uint(&rd, "supply", &r->supply);
    if (err == GZ_OK) err = mp_get_uint(&rd, "price", &r->price);
    if (err == GZ_OK) err = mp_get_uint(&rd, "release_time", &r->release_time);
    if (err == GZ_OK) {
        err = mp_get_bin_or_nil(&rd, "final_anchor", &r->has_final_anchor, r->final_anchor, 32);
    }
    if (err == GZ_OK) err = mp_get_uint(&rd, "status", &r->status);
    if (err == GZ_OK) err = mp_get_bin_fixed(&rd, "proposal_id", r->proposal_id, 32);
    if (err == GZ_OK) err = mp_get_uint(&rd, "announced_at", &r->announced_at);
    if (err == GZ_OK) err = mp_rd_end(&rd);
    if (err == GZ_OK && gov_rstatus_name(r->status) == NULL) err = GZ_ECORRUPT;
    return corrupt_if(err);
}

int gov_release_load(const gov_src *s, const char *id, gov_release *r) {
    ledger_key k;
    gov_key_release(&k, id);
    int err = load_rec(s, &k, r, sizeof *r, release_decode);
    if (err == GZ_OK) snprintf(r->id, sizeof r->id, "%s", id);
    return err;
}

int gov_release_store(ledger_ctx *x, const gov_release *r) {
    ledger_key k;
    gov_key_release(&k, r->id);
    return store_rec(x, &k, r, release_encode);
}

/* ---- vote: [weight, [choices]] ---- */

static int vote_encode(const void *rec, gz_buf *b) {
    const gov_vote *v = rec;
    /* vote_decode reads back only what VOTE accepts. */
    assert(v->n_choices >= 1);
    assert(v->n_choices <= GZ_CHOICES_MAX);
    assert(v->weight >= 1);
    assert(v->weight <= GZ_AMOUNT_MAX);
    int err = mp_put_array(b, 2);
    if (err == GZ_OK) err = mp_put_uint(b, v->weight);
    if (err == GZ_OK) err = mp_put_array(b, v->n_choices);
    for (uint32_t i = 0; i < v->n_choices && err == GZ_OK; i++) {
        err = mp_put_uint(b, v->choices[i]);
    }
    return err;
}

static int vote_decode(void *rec, const uint8_t *p, size_t len) {
    gov_vote *v = rec;
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    int err = mp_get_array_n(&rd, "vote", 2);
    if (err == GZ_OK) err = mp_get_uint(&rd, "weight", &v->weight);
    if (err == GZ_OK) err = mp_get_array(&rd, "choices", &v->n_choices, 1, GZ_CHOICES_MAX);
    for (uint32_t i = 0; i < v->n_choices && err == GZ_OK; i++) {
        err = mp_get_uint(&rd, "choice", &v->choices[i]);
    }
    if (err == GZ_OK) err = mp_rd_end(&rd);
    return corrupt_if(err);
}

int gov_vote_load(const gov_src *s, const uint8_t id[32], const uint8_t voter[32], gov_vote *v) {
    ledger_key k;
    gov_key_vote(&k, id, voter);
    return load_rec(s, &k, v, sizeof *v, vote_decode);
}

int gov_vote_store(ledger_ctx *x, const uint8_t id[32], const uint8_t voter[32],
                   const gov_vote *v) {
    ledger_key k;
    gov_key_vote(&k, id, voter);
    return store_rec(x, &k, v, vote_encode);
}

/* ---- pool: [amount, recipients, created_at] ---- */

static int pool_encode(const void *rec, gz_buf *b) {
    const gov_pool *pool = rec;
    int err = mp_put_array(b, 3);
    if (err == GZ_OK) err = mp_put_uint(b, pool->amount);
    if (err == GZ_OK) err = mp_put_uint(b, pool->recipients);
    if (err == GZ_OK) err = mp_put_uint(b, pool->created_at);
    return err;
}

static int pool_decode(void *rec, const uint8_t *p, size_t len) {
    gov_pool *pool = rec;
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    int err = mp_get_array_n(&rd, "pool", 3);
    if (err == GZ_OK) err = mp_get_uint(&rd, "amount", &pool->amount);
    if (err == GZ_OK) err = mp_get_uint(&rd, "recipients", &pool->recipients);
    if (err == GZ_OK) err = mp_get_uint(&rd, "created_at", &pool->created_at);
    if (err == GZ_OK) err = mp_rd_end(&rd);
    return corrupt_if(err);
}

int gov_pool_load(const gov_src *s, const char *id, gov_pool *pool) {
    ledger_key k;
    gov_key_pool(&k, id);
    int err = load_rec(s, &k, pool, sizeof *pool, pool_decode);
    if (err == GZ_OK) snprintf(pool->id, sizeof pool->id, "%s", id);
    return err;
}

int gov_pool_store(ledger_ctx *x, const gov_pool *pool) {
    ledger_key k;
    gov_key_pool(&k, pool->id);
    return store_rec(x, &k, pool, pool_encode);
}
