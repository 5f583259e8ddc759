/* Vote sets per round, far-round records for round skipping, the height+1
 * buffer and equivocation evidence. All storage was allocated by cons_init. */
#include <assert.h>
#include <string.h>

#include "consensus/cons.h"
#include "consensus/cons_internal.h"

bool cons_same_value(bool has_a, const uint8_t a[32], bool has_b, const uint8_t b[32]) {
    if (has_a != has_b) return false;
    return !has_a || memcmp(a, b, 32) == 0;
}

uint64_t cons_weight(const cons *c, uint32_t i) {
    assert(i < c->n);
    uint64_t p = c->power[i];
    return (c->test_faults & CONS_FAULT_DOUBLE_COUNT) ? 2 * p : p;
}

bool cons_quorum(const cons *c, uint64_t power) { return power * 3 > c->total_power * 2; }

bool cons_third(const cons *c, uint64_t power) { return power * 3 > c->total_power; }

/* ---- round slots ---- */

cons_round_slot *cons_slot_find(const cons *c, uint64_t round) {
    /* The commit slot is private to cons_on_commit and never found here. */
    for (size_t i = 0; i < CONS_ROUND_SLOTS; i++) {
        if (c->slots[i].used && c->slots[i].round == round) return &c->slots[i];
    }
    return NULL;
}

void cons_slot_clear(cons *c, cons_round_slot *s) {
    memset(s->votes, 0, 4 * c->cap * sizeof *s->votes);
    memset(s->has, 0, 4 * c->cap * sizeof *s->has);
    s->used = false;
    s->round = 0;
    s->has_prop[0] = s->has_prop[1] = false;
    memset(s->prop, 0, sizeof s->prop);
    s->prop_valid[0] = s->prop_valid[1] = CONS_VALID_UNKNOWN;
    s->power_any[0] = s->power_any[1] = 0;
    s->fired_prevote_timeout = s->fired_lock = s->fired_precommit_timeout = false;
}

void cons_slots_reset(cons *c) {
    for (size_t i = 0; i < CONS_SLOTS_ALL; i++) {
        if (c->slots[i].used) cons_slot_clear(c, &c->slots[i]);
    }
}

/* Rounds whose votes the rules of the current round still read: the round
 * and the next, the locked and valid rounds, and the POL round named by the
 * current round's proposal (line 28). At most five. */
bool cons_round_pinned(const cons *c, uint64_t round) {
    if (round == c->round || round == c->round + 1) return true;
    if (c->locked_round >= 0 && round == (uint64_t)c->locked_round) return true;
    if (c->valid_round >= 0 && round == (uint64_t)c->valid_round) return true;
    const cons_round_slot *cur = cons_slot_find(c, c->round);
    if (cur == NULL || !cur->has_prop[0] || cur->prop[0].pol_round < 0) return false;
    return round == (uint64_t)cur->prop[0].pol_round;
}

static uint64_t distance(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

cons_round_slot *cons_slot_get(cons *c, uint64_t round, bool evict) {
    cons_round_slot *s = cons_slot_find(c, round);
    if (s != NULL) return s;
    cons_round_slot *victim = NULL;
    for (size_t i = 0; i < CONS_ROUND_SLOTS; i++) {
        if (!c->slots[i].used) {
            victim = &c->slots[i];
            break;
        }
    }
    if (victim == NULL) {
        if (!evict) return NULL;
        /* Evict the unpinned round farthest from the current one. */
        for (size_t i = 0; i < CONS_ROUND_SLOTS; i++) {
            cons_round_slot *t = &c->slots[i];
            if (cons_round_pinned(c, t->round)) continue;
            if (victim == NULL ||
                distance(t->round, c->round) > distance(victim->round, c->round))
                victim = t;
        }
        assert(victim != NULL); /* at most 5 rounds are pinned */
        cons_slot_clear(c, victim);
    }
    victim->used = true;
    victim->round = round;
    return victim;
}

/* ---- vote sets ----
 *
 * Algorithm 1 counts, for a value, the distinct validators that sent a vote
 * for it. A validator that equivocates has sent votes for two values and
 * counts once for each (as in the paper, and as CometBFT does once a peer
 * claims a majority for the second value); it never counts twice for one
 * value, and only its first vote counts in the "any value" tallies. This is
 * what keeps honest nodes live when a Byzantine vote completes a POL that
 * only some of them saw first: relaying it lets the others count it too.
 * Safety is unaffected: two quorums of more than 2/3 still overlap in more
 * than 1/3 of the power, more than the faulty validators hold. Memory stays
 * bounded by keeping at most one conflicting vote per validator, round and
 * type. */

static size_t vote_at(const cons *c, uint8_t type, uint32_t i, bool extra) {
    return ((extra ? 2u : 0u) + (size_t)(type - 1)) * c->cap + i;
}

const cons_vote *cons_slot_vote_for(const cons *c, const cons_round_slot *s, uint8_t type,
                                    uint32_t i, bool has, const uint8_t id[32]) {
    for (int extra = 0; extra < 2; extra++) {
        size_t at = vote_at(c, type, i, extra);
        const cons_vote *v = &s->votes[at];
        if (s->has[at] && cons_same_value(v->has_block_id, v->block_id, has, id)) return v;
    }
    return NULL;
}

uint64_t cons_power_for(const cons *c, const cons_round_slot *s, uint8_t type, bool has,
                        const uint8_t id[32]) {
    assert(type == CONS_PREVOTE || type == CONS_PRECOMMIT);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        if (cons_slot_vote_for(c, s, type, i, has, id) != NULL) sum += cons_weight(c, i);
    }
    return sum;
}

/* Whether a conflicting vote's value can matter to a rule: nil, or the block
 * of a proposal held for this height. */
static bool value_relevant(const cons *c, const cons_vote *v) {
    if (!v->has_block_id) return true;
    for (size_t i = 0; i < CONS_SLOTS_ALL; i++) {
        const cons_round_slot *t = &c->slots[i];
        if (!t->used) continue;
        for (int k = 0; k < 2; k++) {
            if (t->has_prop[k] && memcmp(t->prop[k].block_id, v->block_id, 32) == 0) return true;
        }
    }
    return false;
}

int cons_slot_add_vote(cons *c, cons_round_slot *s, const cons_vote *v) {
    assert(v->validator < c->n);
    assert(v->round == s->round);
    size_t at = vote_at(c, v->type, v->validator, false);
    if (!s->has[at]) {
        s->votes[at] = *v;
        s->has[at] = true;
        s->power_any[v->type - 1] += cons_weight(c, v->validator);
        return GZ_OK;
    }
    if (cons_slot_vote_for(c, s, v->type, v->validator, v->has_block_id, v->block_id) != NULL)
        return GZ_EDUP;
    cons_evidence_votes(c, &s->votes[at], v);
    size_t ex = vote_at(c, v->type, v->validator, true);
    /* One conflicting vote is kept; a later one replaces it only if it can
     * matter and the kept one cannot, so junk cannot crowd out a POL. */
    if (s->has[ex] && (value_relevant(c, &s->votes[ex]) || !value_relevant(c, v)))
        return GZ_ELIMIT;
    s->votes[ex] = *v;
    s->has[ex] = true;
    return GZ_ECONFLICT;
}

const cons_vote *cons_slot_own_vote(const cons *c, const cons_round_slot *s, uint8_t type) {
    if (c->me < 0) return NULL;
    size_t at = (size_t)(type - 1) * c->cap + (size_t)c->me;
    return s->has[at] ? &s->votes[at] : NULL;
}

static bool same_proposal(const cons_proposal *a, const cons_proposal *b) {
    return a->pol_round == b->pol_round && memcmp(a->block_id, b->block_id, 32) == 0;
}

static bool has_quorum_for(const cons *c, const cons_round_slot *s, const uint8_t id[32]) {
    return cons_quorum(c, cons_power_for(c, s, CONS_PREVOTE, true, id)) ||
           cons_quorum(c, cons_power_for(c, s, CONS_PRECOMMIT, true, id));
}

int cons_slot_add_proposal(cons *c, cons_round_slot *s, const cons_proposal *p) {
    assert(p->round == s->round);
    for (int k = 0; k < 2; k++) {
        if (s->has_prop[k] && same_proposal(&s->prop[k], p)) return GZ_EDUP;
    }
    if (!s->has_prop[0]) {
        s->prop[0] = *p;
        s->has_prop[0] = true;
        s->prop_valid[0] = CONS_VALID_UNKNOWN;
        return GZ_OK;
    }
    cons_evidence_proposals(c, &s->prop[0], p);
    /* A second proposal matters only if the round's votes single it out. */
    if (!has_quorum_for(c, s, p->block_id)) return GZ_ELIMIT;
    if (s->has_prop[1] && has_quorum_for(c, s, s->prop[1].block_id)) return GZ_ELIMIT;
    s->prop[1] = *p;
    s->has_prop[1] = true;
    s->prop_valid[1] = CONS_VALID_UNKNOWN;
    return GZ_ECONFLICT;
}

/* ---- far rounds (f+1 round skip) ---- */

void cons_far_note(cons *c, uint32_t i, uint64_t round) {
    assert(i < c->n);
    assert(round > c->round);
    uint64_t *e = &c->far[(size_t)i * CONS_FAR_ROUNDS];
    size_t low = 0;
    uint64_t low_round = UINT64_MAX;
    for (size_t k = 0; k < CONS_FAR_ROUNDS; k++) {
        if (e[k] == round) return;
        /* Entries at or below the current round are stale: reuse them first. */
        uint64_t rk = e[k] <= c->round ? 0 : e[k];
        if (rk < low_round) {
            low = k;
            low_round = rk;
        }
    }
    if (round > low_round) e[low] = round;
}

void cons_far_reset(cons *c) { memset(c->far, 0, c->cap * CONS_FAR_ROUNDS * sizeof *c->far); }

static uint64_t far_power(const cons *c, uint64_t round) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        for (size_t k = 0; k < CONS_FAR_ROUNDS; k++) {
            if (c->far[(size_t)i * CONS_FAR_ROUNDS + k] == round) {
                sum += cons_weight(c, i);
                break;
            }
        }
    }
    return sum;
}

uint64_t cons_far_skip_round(const cons *c) {
    uint64_t best = 0;
    for (size_t j = 0; j < c->n * CONS_FAR_ROUNDS; j++) {
        uint64_t r = c->far[j];
        if (r <= c->round || r <= best) continue;
        if (cons_third(c, far_power(c, r))) best = r;
    }
    return best;
}

/* ---- height+1 buffer ---- */

void cons_future_clear(cons *c) {
    memset(c->fut_has, 0, CONS_FUTURE_ROUNDS * 2 * c->cap * sizeof *c->fut_has);
    memset(c->fut_has_prop, 0, CONS_FUTURE_ROUNDS * sizeof *c->fut_has_prop);
    c->fut_height = 0;
}

/* Points the buffer at height+1, dropping what it held for another height. */
static void future_target(cons *c) {
    if (c->fut_height != c->height + 1) {
        cons_future_clear(c);
        c->fut_height = c->height + 1;
    }
}

int cons_future_vote(cons *c, const cons_vote *v) {
    assert(v->height == c->height + 1);
    if (v->round >= CONS_FUTURE_ROUNDS || v->validator >= c->n) return GZ_ELIMIT;
    future_target(c);
    size_t at = ((size_t)v->round * 2 + (size_t)(v->type - 1)) * c->cap + v->validator;
    if (c->fut_has[at]) {
        const cons_vote *old = &c->fut_votes[at];
        if (cons_same_value(old->has_block_id, old->block_id, v->has_block_id, v->block_id))
            return GZ_EDUP;
        /* The buffer keeps first votes only; relays bring the rest later. */
        cons_evidence_votes(c, old, v);
        return GZ_ELIMIT;
    }
    c->fut_votes[at] = *v;
    c->fut_has[at] = true;
    return GZ_OK;
}

int cons_future_proposal(cons *c, const cons_proposal *p) {
    assert(p->height == c->height + 1);
    if (p->round >= CONS_FUTURE_ROUNDS) return GZ_ELIMIT;
    future_target(c);
    size_t r = (size_t)p->round;
    if (c->fut_has_prop[r]) {
        if (same_proposal(&c->fut_props[r], p)) return GZ_EDUP;
        cons_evidence_proposals(c, &c->fut_props[r], p);
        return GZ_ELIMIT;
    }
    c->fut_props[r] = *p;
    c->fut_has_prop[r] = true;
    return GZ_OK;
}

/* ---- evidence ---- */

static bool vote_eq(const cons_vote *a, const cons_vote *b) {
    return a->type == b->type && a->height == b->height && a->round == b->round &&
           a->validator == b->validator &&
           cons_same_value(a->has_block_id, a->block_id, b->has_block_id, b->block_id);
}

static bool prop_eq(const cons_proposal *a, const cons_proposal *b) {
    return a->height == b->height && a->round == b->round && a->proposer == b->proposer &&
           same_proposal(a, b);
}

static cons_evidence *evidence_next(cons *c) {
    cons_evidence *e = &c->evidence[c->evidence_total % CONS_EVIDENCE_MAX];
    c->evidence_total++;
    memset(e, 0, sizeof *e);
    return e;
}

/* True if the pair (in either order) is already among the kept evidence, so a
 * re-gossiped conflicting message is not counted again. */
static bool evidence_known_votes(const cons *c, const cons_vote *a, const cons_vote *b) {
    size_t kept = c->evidence_total < CONS_EVIDENCE_MAX ? (size_t)c->evidence_total
                                                        : CONS_EVIDENCE_MAX;
    for (size_t i = 0; i < kept; i++) {
        const cons_evidence *e = &c->evidence[i];
        if (e->kind != 1) continue;
        if ((vote_eq(&e->vote_a, a) && vote_eq(&e->vote_b, b)) ||
            (vote_eq(&e->vote_a, b) && vote_eq(&e->vote_b, a)))
            return true;
    }
    return false;
}

static bool evidence_known_props(const cons *c, const cons_proposal *a, const cons_proposal *b) {
    size_t kept = c->evidence_total < CONS_EVIDENCE_MAX ? (size_t)c->evidence_total
                                                        : CONS_EVIDENCE_MAX;
    for (size_t i = 0; i < kept; i++) {
        const cons_evidence *e = &c->evidence[i];
        if (e->kind != 2) continue;
        if ((prop_eq(&e->prop_a, a) && prop_eq(&e->prop_b, b)) ||
            (prop_eq(&e->prop_a, b) && prop_eq(&e->prop_b, a)))
            return true;
    }
    return false;
}

void cons_evidence_votes(cons *c, const cons_vote *a, const cons_vote *b) {
    if (evidence_known_votes(c, a, b)) return;
    cons_evidence *e = evidence_next(c);
    e->kind = 1;
    e->vote_a = *a;
    e->vote_b = *b;
}

void cons_evidence_proposals(cons *c, const cons_proposal *a, const cons_proposal *b) {
    if (evidence_known_props(c, a, b)) return;
    cons_evidence *e = evidence_next(c);
    e->kind = 2;
    e->prop_a = *a;
    e->prop_b = *b;
}
