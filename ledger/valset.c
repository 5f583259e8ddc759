/* Validator sets in the ledger (SPEC §4 "Validator set changes").
 *
 * The set is ledger state, so every node agrees on it and the state root
 * commits to it. Keys (family 'v'):
 *
 *   'v' 'c'                        the set of the next height (ledger height + 1)
 *   'v' 'h' ‖ from u64             the set that signs heights from `from` on
 *                                  (genesis's at 1; one entry per change)
 *   'v' 'j' ‖ pub_key              a jailed validator: [jailed_at u64, evidence height u64]
 *   'v' 'e' ‖ pub_key ‖ height u64 recorded evidence (EVIDENCE, one per validator and height)
 *
 * A set record is the msgpack array of [name str, pub_key bin32, power uint]
 * in index order. A block works on a copy of the set (ledger_block.next):
 * VALIDATOR_UPDATE and EVIDENCE change the copy as their last step, after
 * every check passed, so a refused tx never touches it; the end of the block
 * writes the copy if it differs. Approvals are always checked against the set
 * of the block's own height, whose hash they sign. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "core/keys.h"
#include "core/mp.h"
#include "ledger/ledger_impl.h"


static void vkey(ledger_key *k, uint8_t sub) {
    ledger_key_init(k, LK_VALSET);
    ledger_key_add_u8(k, sub);
}

/* ---- set records ---- */

static int valset_encode(const ledger_valset *s, gz_buf *out) {
    int err = mp_put_array(out, s->n);
    for (uint32_t i = 0; err == GZ_OK && i < s->n; i++) {
        const gz_validator *v = &s->v[i];
        err = mp_put_array(out, 3);
        if (err == GZ_OK) err = mp_put_str(out, v->name, strlen(v->name));
        if (err == GZ_OK) err = mp_put_bin(out, v->pub_key, 32);
        if (err == GZ_OK) err = mp_put_uint(out, v->power);
    }
    return err;
}

static int valset_decode(ledger_valset *s, const uint8_t *p, size_t len) {
    memset(s, 0, sizeof *s);
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    int err = mp_get_array(&rd, "set", &s->n, 1, GZ_VALIDATORS_MAX);
    for (uint32_t i = 0; err == GZ_OK && i < s->n; i++) {
        gz_validator *v = &s->v[i];
        err = mp_get_array_n(&rd, "validator", 3);
        if (err == GZ_OK) err = mp_get_str(&rd, "name", v->name, GZ_LABEL_MAX);
        if (err == GZ_OK) err = mp_get_bin_fixed(&rd, "pub_key", v->pub_key, 32);
        if (err == GZ_OK) err = mp_get_uint(&rd, "power", &v->power);
        if (err == GZ_OK && v->power == 0) err = GZ_ECORRUPT;
    }
    if (err == GZ_OK) err = mp_rd_end(&rd);
    if (err != GZ_OK) {
        memset(s, 0, sizeof *s);
        return GZ_ECORRUPT;
    }
    return GZ_OK;
}

static void valset_hash(const ledger_valset *s, uint8_t out[32]) {
    int err = core_validators_hash(out, s->v, s->n);
    assert(err == GZ_OK); /* sets here are bounded and well formed */
    (void)err;
}

int32_t ledger_valset_index(const ledger_valset *s, const uint8_t pub[32]) {
    for (uint32_t i = 0; i < s->n; i++)
        if (memcmp(s->v[i].pub_key, pub, 32) == 0) return (int32_t)i;
    return -1;
}

static int valset_put(ledger_ctx *x, const ledger_key *k, const ledger_valset *s) {
    gz_buf b = {0};
    int err = valset_encode(s, &b);
    if (err == GZ_OK) err = ledger_state_put(x, k, b.data, b.len);
    gz_buf_free(&b);
    return err;
}

/* Registers a validator key as an account (level 0, classes 0) unless it is one. */
static int register_key(ledger_ctx *x, const gz_validator *v) {
    ledger_account a;
    int err = ledger_account_get(x, v->pub_key, &a);
    if (err != GZ_ENOTFOUND) return err;
    memset(&a, 0, sizeof a);
    memcpy(a.id, v->pub_key, 32);
    snprintf(a.label, sizeof a.label, "%s", v->name);
    return ledger_account_put(x, &a);
}

/* ---- open, end of block, commit ---- */

int ledger_valset_reserve(ledger *l) {
    if (l->n_valset_from < l->cap_valset_from) return GZ_OK;
    size_t cap = l->cap_valset_from ? 2 * l->cap_valset_from : 16;
    uint64_t *p = realloc(l->valset_from, cap * sizeof *p);
    if (p == NULL) return GZ_ENOMEM;
    l->valset_from = p;
    l->cap_valset_from = cap;
    return GZ_OK;
}

static int from_note(ledger *l, uint64_t from) {
    int err = ledger_valset_reserve(l);
    if (err != GZ_OK) return err;
    assert(l->n_valset_from == 0 || l->valset_from[l->n_valset_from - 1] < from);
    l->valset_from[l->n_valset_from++] = from;
    return GZ_OK;
}

int ledger_valset_genesis(ledger_ctx *x) {
    ledger *l = x->l;
    memset(&l->valset, 0, sizeof l->valset);
    l->valset.n = x->g->n_validators;
    memcpy(l->valset.v, x->g->validators, x->g->n_validators * sizeof(gz_validator));
    valset_hash(&l->valset, l->valset_hash);
    int err = GZ_OK;
    for (uint32_t i = 0; err == GZ_OK && i < l->valset.n; i++) err = register_key(x, &l->valset.v[i]);
    ledger_key k;
    vkey(&k, LEDGER_VK_CURRENT);
    if (err == GZ_OK) err = valset_put(x, &k, &l->valset);
    vkey(&k, LEDGER_VK_FROM);
    ledger_key_add_u64(&k, 1);
    if (err == GZ_OK) err = valset_put(x, &k, &l->valset);
    l->n_valset_from = 0;
    if (err == GZ_OK) err = from_note(l, 1);
    return err;
}

typedef struct from_scan {
    ledger *l;
    int err;
} from_scan;

static bool from_scan_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len, void *data) {
    (void)val;
    (void)val_len;
    from_scan *c = data;
    if (key_len != 2 + 8) {
        c->err = GZ_ECORRUPT;
        return false;
    }
    c->err = from_note(c->l, gz_get_u64be(key + 2));
    return c->err == GZ_OK;
}

int ledger_valset_load(ledger *l, gz_msg *msg) {
    ledger_key k;
    vkey(&k, LEDGER_VK_CURRENT);
    gz_buf b = {0};
    int err = ledger_committed_get(l, &k, &b);
    if (err == GZ_OK) err = valset_decode(&l->valset, b.data, b.len);
    gz_buf_free(&b);
    if (err == GZ_ENOTFOUND) err = GZ_ECORRUPT;
    if (err != GZ_OK) return gz_fail(msg, err, "ledger: the validator set in the store cannot be read");
    valset_hash(&l->valset, l->valset_hash);
    uint8_t pfx[2] = {LK_VALSET, LEDGER_VK_FROM};
    from_scan c = {.l = l, .err = GZ_OK};
    l->n_valset_from = 0;
    err = ledger_committed_scan(l, pfx, 2, NULL, 0, from_scan_cb, &c);
    if (err == GZ_OK) err = c.err;
    if (err == GZ_OK && (l->n_valset_from == 0 || l->valset_from[0] != 1)) err = GZ_ECORRUPT;
    if (err != GZ_OK) return gz_fail(msg, err, "ledger: the validator set history cannot be read");
    return GZ_OK;
}

int ledger_valset_end_block(ledger_ctx *x) {
    ledger_block *b = x->b;
    valset_hash(&b->next, b->next_hash);
    b->valset_changed = memcmp(b->next_hash, x->l->valset_hash, 32) != 0;
    if (!b->valset_changed) return GZ_OK;
    ledger_key k;
    vkey(&k, LEDGER_VK_CURRENT);
    int err = valset_put(x, &k, &b->next);
    vkey(&k, LEDGER_VK_FROM);
    ledger_key_add_u64(&k, x->height + 1);
    if (err == GZ_OK) err = valset_put(x, &k, &b->next);
    return err;
}

void ledger_valset_committed(ledger *l, const ledger_block *b) {
    if (!b->valset_changed) return;
    l->valset = b->next;
    memcpy(l->valset_hash, b->next_hash, 32);
    int err = from_note(l, b->height + 1);
    assert(err == GZ_OK); /* ledger_valset_reserve made room */
    (void)err;
}

/* ---- reading ---- */

const ledger_valset *ledger_validators_next(const ledger *l) { return &l->valset; }
void ledger_validators_next_hash(const ledger *l, uint8_t out[32]) { memcpy(out, l->valset_hash, 32); }
const ledger_valset *ledger_block_next_validators(const ledger_block *b) { return &b->next; }
void ledger_block_next_validators_hash(const ledger_block *b, uint8_t out[32]) { memcpy(out, b->next_hash, 32); }

int ledger_validators_at(ledger *l, uint64_t height, ledger_valset *out) {
    memset(out, 0, sizeof *out);
    if (height == 0 || height > l->height + 1) return GZ_ENOTFOUND;
    if (height == l->height + 1) {
        *out = l->valset;
        return GZ_OK;
    }
    size_t lo = 0, hi = l->n_valset_from; /* the last `from` <= height */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->valset_from[mid] <= height) lo = mid;
        else hi = mid;
    }
    assert(l->n_valset_from > 0);
    assert(l->valset_from[lo] <= height);
    ledger_key k;
    vkey(&k, LEDGER_VK_FROM);
    ledger_key_add_u64(&k, l->valset_from[lo]);
    gz_buf b = {0};
    int err = ledger_committed_get(l, &k, &b);
    if (err == GZ_OK) err = valset_decode(out, b.data, b.len);
    gz_buf_free(&b);
    return err == GZ_ENOTFOUND ? GZ_ECORRUPT : err;
}

size_t ledger_valset_changes(const ledger *l, uint64_t below, uint64_t *out, size_t max) {
    size_t n = 0;
    for (size_t i = 1; i < l->n_valset_from; i++) { /* [0] is genesis's */
        uint64_t h = l->valset_from[i] - 1;
        if (h >= below) break;
        if (n < max) out[n] = h;
        n++;
    }
    return n;
}
