/* The rules of Algorithm 1 (lines 11-65) and the inputs that drive them.
 *
 * Every input first records what it brings (a proposal, a vote, a fired
 * timeout) and then run() evaluates the "upon" rules of the paper as guards
 * over the recorded state, firing one at a time until none applies. Because
 * the guards read state rather than the message that just arrived, a rule
 * that becomes true later (say, once the step has moved on) still fires, as
 * the paper's "upon ... while ..." reads. */
#include <assert.h>
#include <string.h>

#include "consensus/cons.h"
#include "consensus/cons_internal.h"

/* Firings one input can cause before the rules must have settled: each firing
 * moves the round or step forward or sets a first-time guard. */
#define RUN_FIRINGS_MAX 64

static const uint8_t nil_id[32];

/* ---- callbacks: every call is bracketed so re-entry trips an assertion ---- */

static bool cb_propose(cons *c, uint8_t id[32]) {
    c->in_call++;
    bool ok = c->cb.propose(c->cb.ctx, c->height, c->round, id);
    c->in_call--;
    return ok;
}

static bool cb_valid(cons *c, uint64_t round, const uint8_t id[32]) {
    c->in_call++;
    bool ok = c->cb.valid(c->cb.ctx, c->height, round, id);
    c->in_call--;
    return ok;
}

static bool cb_sign_vote(cons *c, cons_vote *v) {
    c->in_call++;
    bool ok = c->cb.sign_vote(c->cb.ctx, v);
    c->in_call--;
    return ok;
}

static bool cb_sign_proposal(cons *c, cons_proposal *p) {
    c->in_call++;
    bool ok = c->cb.sign_proposal(c->cb.ctx, p);
    c->in_call--;
    return ok;
}

static void cb_broadcast_vote(cons *c, const cons_vote *v) {
    c->in_call++;
    c->cb.broadcast_vote(c->cb.ctx, v);
    c->in_call--;
}

static void cb_broadcast_proposal(cons *c, const cons_proposal *p) {
    c->in_call++;
    c->cb.broadcast_proposal(c->cb.ctx, p);
    c->in_call--;
}

static void cb_timeout(cons *c, uint64_t round, uint8_t step) {
    c->in_call++;
    c->cb.schedule_timeout(c->cb.ctx, c->height, round, step, cons_timeout_ms(c, step, round));
    c->in_call--;
}

static void check_invariants(const cons *c) {
    assert(c->locked_round >= -1);
    assert(c->valid_round >= c->locked_round);
    assert(c->locked_round < 0 || (uint64_t)c->locked_round <= c->round);
    assert(c->valid_round < 0 || (uint64_t)c->valid_round <= c->round);
    assert(c->step <= CONS_STEP_COMMIT);
    assert(c->round <= CONS_ROUND_MAX);
    if (c->step >= CONS_STEP_PROPOSE && c->step <= CONS_STEP_PRECOMMIT) {
        assert(cons_slot_find(c, c->round) != NULL);
    }
}

static cons_round_slot *current_slot(cons *c) {
    cons_round_slot *s = cons_slot_find(c, c->round);
    assert(s != NULL); /* the current round is pinned */
    return s;
}

/* valid(v), asked once per proposal held. */
static bool prop_valid(cons *c, cons_round_slot *s, int k) {
    assert(s->has_prop[k]);
    if (s->prop_valid[k] == CONS_VALID_UNKNOWN) {
        bool ok = cb_valid(c, s->round, s->prop[k].block_id);
        s->prop_valid[k] = ok ? CONS_VALID_YES : CONS_VALID_NO;
    }
    return s->prop_valid[k] == CONS_VALID_YES;
}

/* broadcast ⟨type, h, round, id⟩. A full node only follows. If this node
 * already holds its own vote for the step (re-fed from its log after a
 * restart), that vote is sent again and no second one is signed. */
static void send_vote(cons *c, uint8_t type, bool has, const uint8_t id[32]) {
    if (c->me < 0) return;
    cons_round_slot *s = current_slot(c);
    const cons_vote *own = cons_slot_own_vote(c, s, type);
    if (own != NULL) {
        cons_vote again = *own;
        cb_broadcast_vote(c, &again);
        return;
    }
    cons_vote v;
    memset(&v, 0, sizeof v);
    v.type = type;
    v.height = c->height;
    v.round = c->round;
    v.has_block_id = has;
    if (has) memcpy(v.block_id, id, 32);
    v.validator = (uint32_t)c->me;
    cons_vote asked = v;
    if (!cb_sign_vote(c, &v)) return;
    /* The signer adds the time and the signature, nothing else. */
    assert(v.type == asked.type);
    assert(v.height == asked.height);
    assert(v.round == asked.round);
    assert(cons_same_value(v.has_block_id, v.block_id, asked.has_block_id, asked.block_id));
    assert(v.validator == asked.validator);
    int rc = cons_slot_add_vote(c, s, &v);
    assert(rc == GZ_OK);
    (void)rc;
    cb_broadcast_vote(c, &v);
}

/* Lines 14-19: the proposer offers validValue with validRound when it has
 * one, else a block the node builds. Returns false if nothing was sent. */
static bool propose(cons *c) {
    cons_round_slot *s = current_slot(c);
    if (s->has_prop[0]) {
        /* Only proposer(h, r) is accepted for the round, so this is ours,
         * re-fed from the log: send it again rather than sign another. */
        cons_proposal again = s->prop[0];
        cb_broadcast_proposal(c, &again);
        return true;
    }
    cons_proposal p;
    memset(&p, 0, sizeof p);
    p.height = c->height;
    p.round = c->round;
    p.proposer = (uint32_t)c->me;
    if (c->valid_round >= 0) {
        memcpy(p.block_id, c->valid_value, 32);
        p.pol_round = c->valid_round;
    } else {
        p.pol_round = -1;
        if (!cb_propose(c, p.block_id)) return false;
    }
    cons_proposal asked = p;
    if (!cb_sign_proposal(c, &p)) return false;
    assert(p.height == asked.height);
    assert(p.round == asked.round);
    assert(p.pol_round == asked.pol_round);
    assert(p.proposer == asked.proposer);
    assert(memcmp(p.block_id, asked.block_id, 32) == 0);
    int rc = cons_slot_add_proposal(c, s, &p);
    assert(rc == GZ_OK);
    (void)rc;
    cb_broadcast_proposal(c, &p);
    return true;
}

/* StartRound(r), lines 11-21. */
static void start_round(cons *c, uint64_t r, uint64_t now_ms) {
    assert(c->step == CONS_STEP_NEW_HEIGHT || r > c->round);
    assert(r <= CONS_ROUND_MAX);
    c->round = r;
    c->step = CONS_STEP_PROPOSE;
    c->round_start_ms = now_ms;
    (void)cons_slot_get(c, r, true);
    (void)cons_slot_get(c, r + 1, true);
    bool mine = c->me >= 0 && cons_proposer(c, c->height, r) == (uint32_t)c->me;
    /* A proposer that could not propose waits like everyone else. */
    if (mine && propose(c)) return;
    cb_timeout(c, r, CONS_STEP_PROPOSE);
}

static void decide(cons *c, cons_round_slot *s, int k) {
    cons_proposal p = s->prop[k];
    size_t n = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        const cons_vote *v = cons_slot_vote_for(c, s, CONS_PRECOMMIT, i, true, p.block_id);
        if (v != NULL) c->scratch[n++] = *v;
    }
    c->step = CONS_STEP_COMMIT;
    c->in_call++;
    c->cb.decide(c->cb.ctx, c->height, s->round, p.block_id, &p, c->scratch, n);
    c->in_call--;
}

/* Line 49: a proposal of any round with 2f+1 precommits for it decides. */
static bool rule_decide(cons *c) {
    for (size_t i = 0; i < CONS_SLOTS_ALL; i++) {
        cons_round_slot *s = &c->slots[i];
        if (!s->used || !cons_quorum(c, s->power_any[1])) continue;
        for (int k = 0; k < 2; k++) {
            if (!s->has_prop[k]) continue;
            uint64_t p = cons_power_for(c, s, CONS_PRECOMMIT, true, s->prop[k].block_id);
            if (!cons_quorum(c, p) || !prop_valid(c, s, k)) continue;
            decide(c, s, k);
            return true;
        }
    }
    return false;
}

/* Line 55: f+1 of the power sent messages for a higher round. */
static bool rule_skip(cons *c, uint64_t now_ms) {
    if (!c->far_dirty) return false;
    uint64_t r = cons_far_skip_round(c);
    if (r == 0) {
        c->far_dirty = false;
        return false;
    }
    assert(r > c->round);
    start_round(c, r, now_ms);
    return true;
}

/* Lines 22-33: the round's proposal while in the propose step. */
static bool rule_proposal(cons *c) {
    if (c->step != CONS_STEP_PROPOSE) return false;
    cons_round_slot *s = current_slot(c);
    if (!s->has_prop[0]) return false;
    uint8_t id[32];
    memcpy(id, s->prop[0].block_id, 32);
    int64_t vr = s->prop[0].pol_round;
    bool same_as_lock = c->locked_round >= 0 && memcmp(c->locked_value, id, 32) == 0;
    bool lock_ok;
    if (vr < 0) {
        lock_ok = c->locked_round == -1 || same_as_lock;
    } else {
        /* Line 28 also needs the POL: 2f+1 prevotes for v in round vr. */
        cons_round_slot *pol = cons_slot_find(c, (uint64_t)vr);
        if (pol == NULL) return false;
        if (!cons_quorum(c, cons_power_for(c, pol, CONS_PREVOTE, true, id))) return false;
        lock_ok = c->locked_round <= vr || same_as_lock;
    }
    if (c->test_faults & CONS_FAULT_IGNORE_LOCK) lock_ok = true;
    bool yes = prop_valid(c, s, 0) && lock_ok;
    send_vote(c, CONS_PREVOTE, yes, id);
    c->step = CONS_STEP_PREVOTE;
    return true;
}

/* Line 34: 2f+1 prevotes of any kind arm the prevote timeout, once. */
static bool rule_prevote_timeout(cons *c) {
    if (c->step != CONS_STEP_PREVOTE) return false;
    cons_round_slot *s = current_slot(c);
    if (s->fired_prevote_timeout || !cons_quorum(c, s->power_any[0])) return false;
    s->fired_prevote_timeout = true;
    cb_timeout(c, c->round, CONS_STEP_PREVOTE);
    return true;
}

/* Lines 36-43: a valid proposal with 2f+1 prevotes locks (in the prevote
 * step) and in any case becomes validValue, once per round. */
static bool rule_lock(cons *c) {
    if (c->step != CONS_STEP_PREVOTE && c->step != CONS_STEP_PRECOMMIT) return false;
    cons_round_slot *s = current_slot(c);
    if (s->fired_lock) return false;
    for (int k = 0; k < 2; k++) {
        if (!s->has_prop[k]) continue;
        uint8_t id[32];
        memcpy(id, s->prop[k].block_id, 32);
        if (!cons_quorum(c, cons_power_for(c, s, CONS_PREVOTE, true, id))) continue;
        if (!prop_valid(c, s, k)) continue;
        s->fired_lock = true;
        if (c->step == CONS_STEP_PREVOTE) {
            memcpy(c->locked_value, id, 32);
            c->locked_round = (int64_t)c->round;
            send_vote(c, CONS_PRECOMMIT, true, id);
            c->step = CONS_STEP_PRECOMMIT;
        }
        memcpy(c->valid_value, id, 32);
        c->valid_round = (int64_t)c->round;
        return true;
    }
    return false;
}

/* Line 44: 2f+1 prevotes for nil. */
static bool rule_prevote_nil(cons *c) {
    if (c->step != CONS_STEP_PREVOTE) return false;
    cons_round_slot *s = current_slot(c);
    if (!cons_quorum(c, cons_power_for(c, s, CONS_PREVOTE, false, nil_id))) return false;
    send_vote(c, CONS_PRECOMMIT, false, nil_id);
    c->step = CONS_STEP_PRECOMMIT;
    return true;
}

/* Line 47: 2f+1 precommits of any kind arm the precommit timeout, once. */
static bool rule_precommit_timeout(cons *c) {
    cons_round_slot *s = current_slot(c);
    if (s->fired_precommit_timeout || !cons_quorum(c, s->power_any[1])) return false;
    s->fired_precommit_timeout = true;
    cb_timeout(c, c->round, CONS_STEP_PRECOMMIT);
    return true;
}

static bool fire_one(cons *c, uint64_t now_ms) {
    if (c->step == CONS_STEP_NEW_HEIGHT || c->step == CONS_STEP_COMMIT) return false;
    return rule_decide(c) || rule_skip(c, now_ms) || rule_proposal(c) ||
           rule_prevote_timeout(c) || rule_lock(c) || rule_prevote_nil(c) ||
           rule_precommit_timeout(c);
}

static void run(cons *c, uint64_t now_ms) {
    for (int i = 0; i < RUN_FIRINGS_MAX; i++) {
        if (!fire_one(c, now_ms)) {
            check_invariants(c);
            return;
        }
    }
    assert(!"consensus rules did not settle");
}

/* ---- inputs ---- */

enum route { ROUTE_NOW, ROUTE_FUTURE, ROUTE_STALE, ROUTE_FAR };

static enum route route(const cons *c, uint64_t height) {
    if (height <= c->height) {
        return height == c->height && c->started && c->step != CONS_STEP_COMMIT ? ROUTE_NOW
                                                                                : ROUTE_STALE;
    }
    return height == c->height + 1 ? ROUTE_FUTURE : ROUTE_FAR;
}

static bool all_zero(const uint8_t b[32]) {
    for (size_t i = 0; i < 32; i++) {
        if (b[i] != 0) return false;
    }
    return true;
}

static int check_vote(const cons *c, const cons_vote *v) {
    if (v == NULL) return GZ_EMISUSE;
    if (v->type != CONS_PREVOTE && v->type != CONS_PRECOMMIT) return GZ_EARG;
    if (v->round > CONS_ROUND_MAX || v->validator >= c->n) return GZ_EARG;
    if (!v->has_block_id && !all_zero(v->block_id)) return GZ_EARG;
    return GZ_OK;
}

static int check_proposal(const cons *c, const cons_proposal *p) {
    if (p == NULL) return GZ_EMISUSE;
    if (p->round > CONS_ROUND_MAX || p->proposer >= c->n) return GZ_EARG;
    if (p->pol_round < -1 || p->pol_round >= (int64_t)p->round) return GZ_EARG;
    return GZ_OK;
}

/* Any valid message of this height ends the NewHeight wait. */
static void end_wait(cons *c, uint64_t now_ms) {
    if (c->step == CONS_STEP_NEW_HEIGHT) start_round(c, 0, now_ms);
}

static void note_far(cons *c, uint32_t validator, uint64_t round) {
    if (round <= c->round) return;
    cons_far_note(c, validator, round);
    c->far_dirty = true;
}

int cons_on_vote(cons *c, const cons_vote *v, uint64_t now_ms) {
    assert(c->in_call == 0);
    int rc = check_vote(c, v);
    if (rc != GZ_OK) return rc;
    switch (route(c, v->height)) {
    case ROUTE_STALE: return GZ_ESTATE;
    case ROUTE_FAR: return GZ_ELIMIT;
    case ROUTE_FUTURE: return cons_future_vote(c, v);
    case ROUTE_NOW: break;
    }
    end_wait(c, now_ms);
    note_far(c, v->validator, v->round);
    cons_round_slot *s = cons_slot_get(c, v->round, cons_round_pinned(c, v->round));
    rc = s == NULL ? GZ_ELIMIT : cons_slot_add_vote(c, s, v);
    run(c, now_ms);
    return rc;
}

int cons_on_proposal(cons *c, const cons_proposal *p, uint64_t now_ms) {
    assert(c->in_call == 0);
    int rc = check_proposal(c, p);
    if (rc != GZ_OK) return rc;
    switch (route(c, p->height)) {
    case ROUTE_STALE: return GZ_ESTATE;
    case ROUTE_FAR: return GZ_ELIMIT;
    case ROUTE_FUTURE: return cons_future_proposal(c, p);
    case ROUTE_NOW: break;
    }
    if (p->proposer != cons_proposer(c, p->height, p->round)) return GZ_EARG;
    end_wait(c, now_ms);
    note_far(c, p->proposer, p->round);
    cons_round_slot *s = cons_slot_get(c, p->round, false);
    rc = s == NULL ? GZ_ELIMIT : cons_slot_add_proposal(c, s, p);
    run(c, now_ms);
    return rc;
}

static int check_commit(const cons *c, const cons_proposal *p, const cons_vote *pcs, size_t n) {
    if (n == 0 || n > c->n) return GZ_EARG;
    if (pcs == NULL) return GZ_EMISUSE;
    if (p->proposer != cons_proposer(c, p->height, p->round)) return GZ_EARG;
    for (size_t i = 0; i < n; i++) {
        const cons_vote *v = &pcs[i];
        if (check_vote(c, v) != GZ_OK || v->type != CONS_PRECOMMIT) return GZ_EARG;
        if (v->height != p->height || v->round != p->round) return GZ_EARG;
        if (!v->has_block_id || memcmp(v->block_id, p->block_id, 32) != 0) return GZ_EARG;
    }
    return GZ_OK;
}

int cons_on_commit(cons *c, const cons_proposal *p, const cons_vote *precommits, size_t n,
                   uint64_t now_ms) {
    assert(c->in_call == 0);
    int rc = check_proposal(c, p);
    if (rc != GZ_OK) return rc;
    switch (route(c, p->height)) {
    case ROUTE_STALE: return GZ_ESTATE;
    case ROUTE_FAR:
    case ROUTE_FUTURE: return GZ_ELIMIT;
    case ROUTE_NOW: break;
    }
    rc = check_commit(c, p, precommits, n);
    if (rc != GZ_OK) return rc;
    end_wait(c, now_ms);
    /* The round's own slot when it is kept, else the reserved one, which only
     * the decision rule reads. */
    cons_round_slot *s = cons_slot_find(c, p->round);
    bool reserved = s == NULL;
    if (reserved) {
        s = &c->slots[CONS_SLOT_COMMIT];
        assert(!s->used);
        s->used = true;
        s->round = p->round;
    }
    /* Votes first: a second proposal of an equivocating proposer is kept
     * only once the votes single it out. */
    for (size_t i = 0; i < n; i++) {
        rc = cons_slot_add_vote(c, s, &precommits[i]);
        (void)rc; /* duplicates and conflicts are expected and harmless */
    }
    rc = cons_slot_add_proposal(c, s, p);
    (void)rc;
    run(c, now_ms);
    if (reserved) cons_slot_clear(c, s);
    return c->step == CONS_STEP_COMMIT ? GZ_OK : GZ_EVERIFY;
}

int cons_on_timeout(cons *c, uint64_t height, uint64_t round, uint8_t step, uint64_t now_ms) {
    assert(c->in_call == 0);
    if (!c->started || height != c->height || c->step == CONS_STEP_COMMIT) return GZ_ESTATE;
    bool same_round = round == c->round;
    switch (step) {
    case CONS_STEP_NEW_HEIGHT: /* the empty-block wait ran out */
        if (c->step != CONS_STEP_NEW_HEIGHT || round != 0) return GZ_ESTATE;
        start_round(c, 0, now_ms);
        break;
    case CONS_STEP_PROPOSE: /* line 57 */
        if (!same_round || c->step != CONS_STEP_PROPOSE) return GZ_ESTATE;
        send_vote(c, CONS_PREVOTE, false, nil_id);
        c->step = CONS_STEP_PREVOTE;
        break;
    case CONS_STEP_PREVOTE: /* line 61 */
        if (!same_round || c->step != CONS_STEP_PREVOTE) return GZ_ESTATE;
        send_vote(c, CONS_PRECOMMIT, false, nil_id);
        c->step = CONS_STEP_PRECOMMIT;
        break;
    case CONS_STEP_PRECOMMIT: /* line 65 */
        if (!same_round || c->step == CONS_STEP_NEW_HEIGHT) return GZ_ESTATE;
        if (c->round >= CONS_ROUND_MAX) return GZ_ELIMIT; /* after 2^31 rounds, stay */
        start_round(c, c->round + 1, now_ms);
        break;
    default:
        return GZ_EARG;
    }
    run(c, now_ms);
    return GZ_OK;
}

void cons_txs_available(cons *c, uint64_t now_ms) {
    assert(c->in_call == 0);
    if (!c->started || c->step != CONS_STEP_NEW_HEIGHT) return;
    start_round(c, 0, now_ms);
    run(c, now_ms);
}

/* Feeds the messages buffered for this height as if they arrived now. */
static void replay_future(cons *c, uint64_t now_ms) {
    if (c->fut_height != c->height) {
        cons_future_clear(c);
        return;
    }
    for (uint64_t r = 0; r < CONS_FUTURE_ROUNDS; r++) {
        if (!c->fut_has_prop[r]) continue;
        cons_proposal p = c->fut_props[r];
        int rc = cons_on_proposal(c, &p, now_ms);
        (void)rc; /* a proposal for a round no longer kept is simply dropped */
    }
    for (size_t j = 0; j < CONS_FUTURE_ROUNDS * 2 * c->cap; j++) {
        if (!c->fut_has[j]) continue;
        cons_vote v = c->fut_votes[j];
        int rc = cons_on_vote(c, &v, now_ms);
        (void)rc;
    }
    cons_future_clear(c);
}

int cons_start_height(cons *c, uint64_t height, uint64_t now_ms, bool txs_available) {
    assert(c->in_call == 0);
    if (height == 0 || (c->started && height <= c->height)) return GZ_EMISUSE;
    c->started = true;
    c->height = height;
    c->round = 0;
    c->step = CONS_STEP_NEW_HEIGHT;
    c->locked_round = -1;
    c->valid_round = -1;
    memset(c->locked_value, 0, 32);
    memset(c->valid_value, 0, 32);
    c->round_start_ms = now_ms;
    cons_slots_reset(c);
    cons_far_reset(c);
    c->far_dirty = false;
    if (txs_available) {
        start_round(c, 0, now_ms);
    } else {
        cb_timeout(c, 0, CONS_STEP_NEW_HEIGHT);
    }
    run(c, now_ms);
    replay_future(c, now_ms);
    check_invariants(c);
    return GZ_OK;
}
