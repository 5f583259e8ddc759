/* VALIDATOR_UPDATE and EVIDENCE (SPEC §3 rows 15 and 16, §4): the consortium
 * changes its validator set by approval, and equivocation jails. Both change
 * the block's copy of the next set (ledger/valset.c) as their very last step. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/json.h"
#include "core/keys.h"
#include "core/mp.h"
#include "ledger/ledger_impl.h"

static void jail_key(ledger_key *k, const uint8_t pub[32]) {
    ledger_key_init(k, LK_VALSET);
    ledger_key_add_u8(k, LEDGER_VK_JAIL);
    ledger_key_add(k, pub, 32);
}

static void evidence_key(ledger_key *k, const uint8_t pub[32], uint64_t height) {
    ledger_key_init(k, LK_VALSET);
    ledger_key_add_u8(k, LEDGER_VK_EVIDENCE);
    ledger_key_add(k, pub, 32);
    ledger_key_add_u64(k, height);
}

static uint64_t set_power(const ledger_valset *s) {
    uint64_t t = 0;
    for (uint32_t i = 0; i < s->n; i++) t += s->v[i].power;
    return t;
}

static void set_remove(ledger_valset *s, uint32_t i) {
    assert(i < s->n);
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof s->v[0]);
    s->n--;
    memset(&s->v[s->n], 0, sizeof s->v[0]);
}

/* ---- VALIDATOR_UPDATE ---- */

/* Checks the approvals against the set of this height (whose hash they
 * sign): distinct members, good signatures, more than 2/3 of its power. */
static int approvals_check(ledger_ctx *x, const gz_p_validator_update *p, uint64_t *approved, gz_msg *msg) {
    const ledger_valset *cur = ledger_validators_next(x->l);
    uint8_t vh[32], digest[32];
    ledger_validators_next_hash(x->l, vh);
    if (core_valset_approval_hash(digest, x->g->chain_id, vh, p->pub_key, p->power, p->name) != GZ_OK)
        return gz_fail(msg, GZ_EARG, "payload.name: longer than %d bytes", GZ_LABEL_MAX);
    bool seen[GZ_VALIDATORS_MAX] = {false};
    *approved = 0;
    for (uint32_t i = 0; i < p->n_approvals; i++) {
        gz_approval a;
        if (core_approvals_get(p, i, &a) != GZ_OK)
            return gz_fail(msg, GZ_EENCODING, "payload.approvals[%u]: cannot be read", i);
        if (a.validator_index >= cur->n)
            return gz_fail(msg, GZ_EARG, "payload.approvals[%u].validator_index: %llu is not in the set of %u validators",
                           i, (unsigned long long)a.validator_index, cur->n);
        if (seen[a.validator_index])
            return gz_fail(msg, GZ_EARG, "payload.approvals[%u].validator_index: validator %llu approves twice", i,
                           (unsigned long long)a.validator_index);
        seen[a.validator_index] = true;
        if (!core_verify(a.sig, digest, 32, cur->v[a.validator_index].pub_key))
            return gz_fail(msg, GZ_ESIG, "payload.approvals[%u].sig: not validator %llu's signature of this update for the current set",
                           i, (unsigned long long)a.validator_index);
        *approved += cur->v[a.validator_index].power;
    }
    uint64_t total = set_power(cur);
    if ((__uint128_t)*approved * 3 <= (__uint128_t)total * 2)
        return gz_fail(msg, GZ_ENOTELIGIBLE, "payload.approvals: %llu of %llu power approve, more than 2/3 is needed",
                       (unsigned long long)*approved, (unsigned long long)total);
    return GZ_OK;
}

/* The set after the update, into out (from the block's working copy). */
static int update_apply(const ledger_valset *next, const gz_p_validator_update *p, ledger_valset *out, gz_msg *msg) {
    *out = *next;
    int at = ledger_valset_index(out, p->pub_key);
    if (p->power == 0) {
        if (at < 0) return gz_fail(msg, GZ_ENOTFOUND, "payload.pub_key: not a validator");
        if (out->n == 1) return gz_fail(msg, GZ_ELIMIT, "payload.power: removing the last validator would empty the set");
        set_remove(out, (uint32_t)at);
        return GZ_OK;
    }
    if (at >= 0 && out->v[at].power == p->power)
        return gz_fail(msg, GZ_EDUP, "payload.power: the validator already has power %llu (a name alone is not a set change)",
                       (unsigned long long)p->power);
    if (at < 0) {
        if (out->n == GZ_VALIDATORS_MAX)
            return gz_fail(msg, GZ_ELIMIT, "payload.pub_key: the set already has %d validators", GZ_VALIDATORS_MAX);
        at = (int)out->n++;
        memcpy(out->v[at].pub_key, p->pub_key, 32);
    }
    snprintf(out->v[at].name, sizeof out->v[at].name, "%s", p->name);
    out->v[at].power = p->power;
    uint64_t total = 0;
    for (uint32_t i = 0; i < out->n; i++) {
        if (out->v[i].power > GZ_TOTAL_POWER_MAX - total)
            return gz_fail(msg, GZ_ELIMIT, "payload.power: the set's total power would pass %llu",
                           (unsigned long long)GZ_TOTAL_POWER_MAX);
        total += out->v[i].power;
    }
    return GZ_OK;
}

/* A key added (or back) with power: an account, and no longer jailed. */
static int update_records(ledger_ctx *x, const gz_p_validator_update *p) {
    if (p->power == 0) return GZ_OK;
    ledger_account a;
    int err = ledger_account_get(x, p->pub_key, &a);
    if (err == GZ_ENOTFOUND) {
        memset(&a, 0, sizeof a);
        memcpy(a.id, p->pub_key, 32);
        snprintf(a.label, sizeof a.label, "%s", p->name);
        err = ledger_account_put(x, &a);
    }
    ledger_key k;
    jail_key(&k, p->pub_key);
    if (err == GZ_OK) err = ledger_state_del(x, &k);
    return err;
}

int ledger_tx_validator_update(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_validator_update *p = &tx->p.validator_update;
    if (p->power > GZ_TOTAL_POWER_MAX)
        return gz_fail(msg, GZ_ELIMIT, "payload.power: more than %llu", (unsigned long long)GZ_TOTAL_POWER_MAX);
    uint64_t approved = 0;
    int err = approvals_check(x, p, &approved, msg);
    if (err != GZ_OK) return err;
    ledger_block *b = ledger_ctx_block(x);
    ledger_valset *after = malloc(sizeof *after);
    if (after == NULL) return GZ_ENOMEM;
    err = update_apply(&b->next, p, after, msg);
    if (err == GZ_OK) err = update_records(x, p);
    if (err == GZ_OK)
        err = ledger_event_emit(x, "validator_update",
                                json_pack("{s:o, s:I, s:s, s:I, s:I, s:I, s:I}", "pub_key", core_json_hex(p->pub_key, 32),
                                          "power", (json_int_t)p->power, "name", p->name, "from_height",
                                          (json_int_t)(x->height + 1), "approving_power", (json_int_t)approved,
                                          "validators", (json_int_t)after->n, "total_power",
                                          (json_int_t)set_power(after)));
    if (err == GZ_OK) b->next = *after; /* last: nothing can fail after this */
    free(after);
    return err;
}

/* ---- EVIDENCE ---- */

/* Decodes both votes and checks they are one validator's two different
 * votes for one (chain, type, height, round). */
static int votes_check(ledger_ctx *x, const gz_p_evidence *p, gz_vote *a, gz_vote *b, gz_msg *msg) {
    gz_msg why;
    if (core_vote_decode(a, p->vote_a, p->vote_a_len, &why) != GZ_OK)
        return gz_fail(msg, GZ_EENCODING, "payload.vote_a: %s", why.text);
    if (core_vote_decode(b, p->vote_b, p->vote_b_len, &why) != GZ_OK)
        return gz_fail(msg, GZ_EENCODING, "payload.vote_b: %s", why.text);
    if (strcmp(a->chain_id, x->g->chain_id) != 0)
        return gz_fail(msg, GZ_ECHAIN, "payload.vote_a: not a vote of chain %s", x->g->chain_id);
    if (strcmp(b->chain_id, x->g->chain_id) != 0)
        return gz_fail(msg, GZ_ECHAIN, "payload.vote_b: not a vote of chain %s", x->g->chain_id);
    if (a->type != b->type || a->height != b->height || a->round != b->round)
        return gz_fail(msg, GZ_EARG, "payload.vote_b: not for the same type, height and round as vote_a");
    if (a->has_block_id == b->has_block_id && (!a->has_block_id || memcmp(a->block_id, b->block_id, 32) == 0))
        return gz_fail(msg, GZ_EARG, "payload.vote_b: the same block_id as vote_a, no equivocation");
    if (a->height == 0 || a->height > x->height)
        return gz_fail(msg, GZ_EARG, "payload.vote_a.height: %llu is not a height of this chain yet",
                       (unsigned long long)a->height);
    if (x->height - a->height > x->g->consensus.evidence_max_age)
        return gz_fail(msg, GZ_ELIMIT, "payload.vote_a.height: %llu is more than %llu heights old",
                       (unsigned long long)a->height, (unsigned long long)x->g->consensus.evidence_max_age);
    return GZ_OK;
}

static int sigs_check(const gz_p_evidence *p, const gz_vote *a, const gz_vote *b, gz_msg *msg) {
    uint8_t h[32];
    if (core_vote_sighash(h, a) != GZ_OK || !core_verify(p->sig_a, h, 32, p->validator))
        return gz_fail(msg, GZ_ESIG, "payload.sig_a: not the validator's signature of vote_a");
    if (core_vote_sighash(h, b) != GZ_OK || !core_verify(p->sig_b, h, 32, p->validator))
        return gz_fail(msg, GZ_ESIG, "payload.sig_b: not the validator's signature of vote_b");
    return GZ_OK;
}

/* Who signed: a member of that height's set, evidence not yet recorded. */
static int signer_check(ledger_ctx *x, const gz_p_evidence *p, uint64_t height, gz_msg *msg) {
    ledger_valset *set = malloc(sizeof *set);
    if (set == NULL) return GZ_ENOMEM;
    int err = ledger_validators_at(x->l, height, set); /* x->height is the ledger's next height */
    if (err == GZ_ENOTFOUND) err = GZ_ECORRUPT;
    if (err == GZ_OK && ledger_valset_index(set, p->validator) < 0)
        err = gz_fail(msg, GZ_ENOTFOUND, "payload.validator: not a validator at height %llu", (unsigned long long)height);
    free(set);
    if (err != GZ_OK) return err;
    ledger_key k;
    evidence_key(&k, p->validator, height);
    gz_buf v = {0};
    err = ledger_state_get(x, &k, &v);
    gz_buf_free(&v);
    if (err == GZ_OK) return gz_fail(msg, GZ_EDUP, "payload.validator: evidence for height %llu already recorded",
                                     (unsigned long long)height);
    return err == GZ_ENOTFOUND ? GZ_OK : err;
}

static int put_block_id(gz_buf *b, const gz_vote *v) {
    return v->has_block_id ? mp_put_bin(b, v->block_id, 32) : mp_put_nil(b);
}

/* Evidence record: [round, type, block_id_a or nil, block_id_b or nil, recorded_at, txid, jailed]. */
static int evidence_put(ledger_ctx *x, const gz_p_evidence *p, const gz_vote *a, const gz_vote *b, bool jailed) {
    gz_buf v = {0};
    int err = mp_put_array(&v, 7);
    if (err == GZ_OK) err = mp_put_uint(&v, a->round);
    if (err == GZ_OK) err = mp_put_uint(&v, a->type);
    if (err == GZ_OK) err = put_block_id(&v, a);
    if (err == GZ_OK) err = put_block_id(&v, b);
    if (err == GZ_OK) err = mp_put_uint(&v, x->height);
    if (err == GZ_OK) err = mp_put_bin(&v, x->tx->txid, 32);
    if (err == GZ_OK) err = mp_put_bool(&v, jailed);
    ledger_key k;
    evidence_key(&k, p->validator, a->height);
    if (err == GZ_OK) err = ledger_state_put(x, &k, v.data, v.len);
    gz_buf_free(&v);
    return err;
}

static int jail_put(ledger_ctx *x, const uint8_t pub[32], uint64_t evidence_height) {
    uint8_t v[16];
    gz_put_u64be(v, x->height + 1);
    gz_put_u64be(v + 8, evidence_height);
    ledger_key k;
    jail_key(&k, pub);
    return ledger_state_put(x, &k, v, sizeof v);
}

int ledger_tx_evidence(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_evidence *p = &tx->p.evidence;
    gz_vote a, b;
    int err = votes_check(x, p, &a, &b, msg);
    if (err == GZ_OK) err = sigs_check(p, &a, &b, msg);
    if (err == GZ_OK) err = signer_check(x, p, a.height, msg);
    if (err != GZ_OK) return err;
    ledger_block *blk = ledger_ctx_block(x);
    int at = ledger_valset_index(&blk->next, p->validator);
    /* Jailing the last validator would stop the chain: then it is only recorded. */
    bool jail = at >= 0 && blk->next.n > 1;
    const char *why = at < 0 ? "not in the next set" : jail ? "jailed" : "the last validator: recorded only";
    err = evidence_put(x, p, &a, &b, jail);
    if (err == GZ_OK && jail) err = jail_put(x, p->validator, a.height);
    if (err == GZ_OK)
        err = ledger_event_emit(x, "evidence",
                                json_pack("{s:o, s:I, s:I, s:I, s:b, s:s, s:I}", "validator",
                                          core_json_hex(p->validator, 32), "height", (json_int_t)a.height, "round",
                                          (json_int_t)a.round, "type", (json_int_t)a.type, "jailed", jail,
                                          "outcome", why, "from_height", (json_int_t)(x->height + 1)));
    if (err == GZ_OK && jail) set_remove(&blk->next, (uint32_t)at); /* last: nothing can fail after this */
    return err;
}
