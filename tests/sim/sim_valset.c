/* The validator set of every height, derived by the simulator itself, and
 * the checks that use it (SPEC §4 "Validator set changes").
 *
 * Height 1 is signed by genesis's set. When the first node commits height h,
 * the simulator takes the set of h and applies to it what the block's
 * committed txs do by the spec, independently of the ledger's code: a
 * VALIDATOR_UPDATE whose approvals it checked itself over the set of h sets a
 * power (0 removes, a new key goes last, an existing one keeps its place), an
 * EVIDENCE removes the validator unless it is the last. The result is the set
 * of h + 1; the header's next_validators_hash must be its hash, and the
 * ledger of every node must hold it too. Every stored commit is then checked
 * against the set of its own height, never genesis's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/keys.h"
#include "ledger/ledger.h"
#include "tests/sim/sim_internal.h"

static void ref_reserve(sim_world *w, uint64_t h) {
    if (h < w->ref_cap) return;
    size_t cap = w->ref_cap ? w->ref_cap : 256;
    while (cap <= h) cap *= 2;
    w->ref_set = realloc(w->ref_set, cap * sizeof *w->ref_set);
    w->ref_have = realloc(w->ref_have, cap);
    if (w->ref_set == NULL || w->ref_have == NULL) abort();
    memset(w->ref_have + w->ref_cap, 0, cap - w->ref_cap);
    w->ref_cap = cap;
}

static void ref_put(sim_world *w, uint64_t h, const sim_set *s) {
    ref_reserve(w, h);
    w->ref_set[h] = *s;
    w->ref_have[h] = 1;
    if (h > w->ref_top) w->ref_top = h;
}

void sim_valset_init(sim_world *w) {
    sim_set s;
    memset(&s, 0, sizeof s);
    s.n = w->g.n_validators;
    memcpy(s.v, w->g.validators, s.n * sizeof s.v[0]);
    ref_put(w, 1, &s);
}

void sim_valset_free(sim_world *w) {
    free(w->ref_set);
    free(w->ref_have);
}

const sim_set *sim_valset_at(const sim_world *w, uint64_t h) {
    return h < w->ref_cap && w->ref_have[h] ? &w->ref_set[h] : NULL;
}

const sim_set *sim_valset_now(const sim_world *w) { return &w->ref_set[w->ref_top]; }

int sim_set_index(const sim_set *s, const uint8_t pk[32]) {
    for (uint32_t i = 0; s != NULL && i < s->n; i++)
        if (memcmp(s->v[i].pub_key, pk, 32) == 0) return (int)i;
    return -1;
}

uint64_t sim_set_power(const sim_set *s) {
    uint64_t t = 0;
    for (uint32_t i = 0; i < s->n; i++) t += s->v[i].power;
    return t;
}

static void set_hash(const gz_validator *v, uint32_t n, uint8_t out[32]) {
    if (core_validators_hash(out, v, n) != GZ_OK) abort();
}

static bool same_set(const sim_set *s, const ledger_valset *l) {
    if (s->n != l->n) return false;
    for (uint32_t i = 0; i < s->n; i++)
        if (memcmp(s->v[i].pub_key, l->v[i].pub_key, 32) != 0 || s->v[i].power != l->v[i].power ||
            strcmp(s->v[i].name, l->v[i].name) != 0)
            return false;
    return true;
}

/* ---- what a block's txs do to the set ---- */

/* Whether the approvals of u hold more than 2/3 of s's power over s's hash;
 * *bad_index when one names no member or a member twice. */
static bool approvals_ok(const sim_world *w, const sim_set *s, const gz_p_validator_update *u, bool *bad_index) {
    uint8_t vh[32], digest[32];
    set_hash(s->v, s->n, vh);
    *bad_index = false;
    if (core_valset_approval_hash(digest, w->g.chain_id, vh, u->pub_key, u->power, u->name) != GZ_OK) return false;
    bool seen[SIM_SET_MAX] = {false};
    uint64_t approved = 0;
    bool sigs_ok = true;
    for (uint32_t i = 0; i < u->n_approvals; i++) {
        gz_approval a;
        if (core_approvals_get(u, i, &a) != GZ_OK) return false;
        if (a.validator_index >= s->n || seen[a.validator_index]) {
            *bad_index = true;
            return false;
        }
        seen[a.validator_index] = true;
        if (!core_verify(a.sig, digest, 32, s->v[a.validator_index].pub_key)) sigs_ok = false;
        else approved += s->v[a.validator_index].power;
    }
    return sigs_ok && (__uint128_t)approved * 3 > (__uint128_t)sim_set_power(s) * 2;
}

/* SPEC §4: power 0 removes; a new key goes last; an existing one keeps its place. */
static bool update_apply(sim_set *s, const gz_p_validator_update *u) {
    int at = sim_set_index(s, u->pub_key);
    if (u->power == 0) {
        if (at < 0 || s->n == 1) return false;
        memmove(&s->v[at], &s->v[at + 1], (s->n - (uint32_t)at - 1) * sizeof s->v[0]);
        memset(&s->v[--s->n], 0, sizeof s->v[0]);
        return true;
    }
    if (at < 0) {
        if (s->n == SIM_SET_MAX) return false;
        at = (int)s->n++;
        memcpy(s->v[at].pub_key, u->pub_key, 32);
    }
    snprintf(s->v[at].name, sizeof s->v[at].name, "%s", u->name);
    s->v[at].power = u->power;
    return true;
}

static void check_update(sim_world *w, const sim_set *cur, sim_set *next, const gz_tx *tx, int code, uint64_t h) {
    const gz_p_validator_update *u = &tx->p.validator_update;
    bool bad_index;
    bool ok = approvals_ok(w, cur, u, &bad_index);
    if (code == 0 && !ok)
        sim_violation(w, true, "block %llu: a VALIDATOR_UPDATE without >2/3 approval of its set took effect",
                      (unsigned long long)h);
    /* The nonce is checked first: a Byzantine proposer's block carries used ones. */
    if (!ok && code != 2 && code != 6 && code != 4 && !(bad_index && code == 12))
        sim_violation(w, true, "block %llu: a VALIDATOR_UPDATE with stale approvals was refused with code %d, not 6 or 2",
                      (unsigned long long)h, code);
    if (!ok && (code == 2 || code == 6)) w->res->stale_refused++;
    if (code == 0 && !update_apply(next, u))
        sim_violation(w, true, "block %llu: a VALIDATOR_UPDATE the spec refuses took effect", (unsigned long long)h);
}

/* An equivocation proven on chain: only the Byzantine validator equivocates. */
static void check_evidence(sim_world *w, sim_set *next, const gz_tx *tx, uint64_t h) {
    const uint8_t *who = tx->p.evidence.validator;
    if (w->byz < 0 || memcmp(who, w->nodes[w->byz].pk, 32) != 0)
        sim_violation(w, true, "block %llu: EVIDENCE against an honest validator took effect", (unsigned long long)h);
    int at = sim_set_index(next, who);
    if (at < 0 || next->n == 1) return;
    memmove(&next->v[at], &next->v[at + 1], (next->n - (uint32_t)at - 1) * sizeof next->v[0]);
    memset(&next->v[--next->n], 0, sizeof next->v[0]);
    w->res->jailed = true;
}

void sim_valset_first_commit(sim_world *w, sim_node *n, const chain_block *b) {
    uint64_t h = b->header.height;
    const sim_set *cur = sim_valset_at(w, h);
    if (cur == NULL || b->exec == NULL) {
        sim_violation(w, true, "node %d committed %llu with no set known for it", n->idx, (unsigned long long)h);
        return;
    }
    sim_set next = *cur;
    for (size_t i = 0; i < b->n_txs; i++) {
        int code = ledger_block_tx_code(b->exec, i);
        if (b->txs[i].type == GZ_TX_VALIDATOR_UPDATE || b->txs[i].type == GZ_TX_EVIDENCE)
            sim_trace(w, n->idx, "block %llu tx %zu: %s, code %d: %s", (unsigned long long)h, i,
                      core_tx_type_name(b->txs[i].type), code, ledger_block_tx_message(b->exec, i));
        if (b->txs[i].type == GZ_TX_VALIDATOR_UPDATE) check_update(w, cur, &next, &b->txs[i], code, h);
        else if (b->txs[i].type == GZ_TX_EVIDENCE && code == 0) check_evidence(w, &next, &b->txs[i], h);
    }
    uint8_t want[32];
    set_hash(next.v, next.n, want);
    if (memcmp(want, b->header.next_validators_hash, 32) != 0)
        sim_violation(w, true, "block %llu: next_validators_hash is not the set its txs leave", (unsigned long long)h);
    if (!same_set(&next, ledger_validators_next(node_ledger(n->eng))))
        sim_violation(w, true, "node %d: its ledger's set after %llu is not the one the txs leave", n->idx,
                      (unsigned long long)h);
    set_hash(cur->v, cur->n, want);
    if (memcmp(want, b->header.next_validators_hash, 32) != 0) {
        w->res->set_changes++;
        sim_trace(w, n->idx, "set of height %llu: %u validators, power %llu", (unsigned long long)(h + 1), next.n,
                  (unsigned long long)sim_set_power(&next));
    }
    ref_put(w, h + 1, &next);
}

/* ---- every node's commit ---- */

/* The commit the node stored must carry more than 2/3 of the power of the
 * set of its height. */
static void check_stored_commit(sim_world *w, sim_node *n, uint64_t h, const uint8_t id[32], const sim_set *s) {
    gz_buf cm;
    gz_buf_init(&cm);
    static gz_commit c;
    gz_msg msg = {{0}};
    int rc = chain_commit_bytes(node_chain(n->eng), h, &cm);
    if (rc == GZ_OK) rc = core_commit_decode(&c, cm.data, cm.len, &msg);
    if (rc == GZ_OK) rc = core_commit_verify(&c, w->g.chain_id, id, h, s->v, s->n, &msg);
    if (rc != GZ_OK)
        sim_violation(w, true, "node %d stored a commit for %llu that does not verify: %s", n->idx,
                      (unsigned long long)h, msg.text);
    gz_buf_free(&cm);
}

/* The node's ledger must say the same of heights h and h + 1. */
static void check_ledger_sets(sim_world *w, sim_node *n, const chain_block *b) {
    uint64_t h = b->header.height;
    static ledger_valset at;
    uint8_t got[32];
    ledger *lg = node_ledger(n->eng);
    if (ledger_validators_at(lg, h, &at) != GZ_OK) {
        sim_violation(w, true, "node %d: its ledger has no set for %llu", n->idx, (unsigned long long)h);
        return;
    }
    set_hash(at.v, at.n, got);
    if (memcmp(got, b->header.validators_hash, 32) != 0)
        sim_violation(w, true, "node %d: its ledger's set of %llu is not the header's", n->idx, (unsigned long long)h);
    ledger_validators_next_hash(lg, got);
    if (memcmp(got, b->header.next_validators_hash, 32) != 0)
        sim_violation(w, true, "node %d: its ledger's set of %llu is not the header's next", n->idx,
                      (unsigned long long)(h + 1));
}

void sim_valset_check_commit(sim_world *w, sim_node *n, const chain_block *b) {
    uint64_t h = b->header.height;
    const sim_set *s = sim_valset_at(w, h), *next = sim_valset_at(w, h + 1);
    if (s == NULL || next == NULL) return; /* reported by sim_valset_first_commit */
    uint8_t want[32];
    set_hash(s->v, s->n, want);
    if (memcmp(want, b->header.validators_hash, 32) != 0)
        sim_violation(w, true, "node %d: block %llu's validators_hash is not the set of its height", n->idx,
                      (unsigned long long)h);
    set_hash(next->v, next->n, want);
    if (memcmp(want, b->header.next_validators_hash, 32) != 0)
        sim_violation(w, true, "node %d: block %llu's next_validators_hash is not the set after it", n->idx,
                      (unsigned long long)h);
    check_ledger_sets(w, n, b);
    check_stored_commit(w, n, h, b->block_id, s);
}

/* A validator must sign: a full node that was added starts. The last 3
 * heights every honest node committed came in the steady state after GST
 * (the run goes on a while once all caught up), so a member of all three
 * took part in them; a member of earlier heights only may have synced past
 * them, and a removed or jailed one's node follows without signing. */
void sim_valset_final(sim_world *w) {
    uint64_t top = w->res->heights;
    if (top < w->gst_top + 3 || top + 1 >= w->ref_cap) return;
    for (int i = 0; i < w->n_nodes; i++) {
        const sim_node *n = &w->nodes[i];
        bool member = !n->byz;
        for (uint64_t h = top - 2; h <= top && member; h++) member = sim_set_index(sim_valset_at(w, h), n->pk) >= 0;
        if (member && n->signed_after_gst == 0)
            sim_violation(w, false, "node %d is a validator of heights %llu..%llu and signed no vote after GST", i,
                          (unsigned long long)(top - 2), (unsigned long long)top);
    }
}
