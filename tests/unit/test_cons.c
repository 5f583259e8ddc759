/* Consensus: Algorithm 1 driven by scripted messages through a recording
 * harness that plays the node (callbacks, a last-signed guard, timers). */
#include <criterion/criterion.h>
#include <string.h>

#include "consensus/cons.h"

#define H_MAX_SENT 512

typedef struct timer {
    uint64_t height, round, delay_ms;
    uint8_t step;
} timer;

typedef struct harness {
    cons c;
    size_t n;
    int32_t me;
    /* what consensus did */
    cons_vote votes[H_MAX_SENT];
    size_t n_votes;
    cons_proposal props[64];
    size_t n_props;
    timer timers[H_MAX_SENT];
    size_t n_timers;
    size_t n_decides;
    uint64_t dec_height, dec_round;
    uint8_t dec_id[32];
    cons_proposal dec_prop;
    cons_vote dec_votes[16];
    size_t dec_n;
    size_t sign_calls, sign_refusals, valid_calls;
    /* how the node answers */
    uint8_t invalid[4][32];
    size_t n_invalid;
    uint8_t next_block;        /* id byte of the block propose() builds; 0 = cannot */
    /* last-signed guard, as the node persists it */
    uint64_t ls_height, ls_round;
    uint8_t ls_step;
    bool ls_any;
} harness;

static void id_of(uint8_t out[32], uint8_t x) { memset(out, x, 32); }

static bool cb_propose(void *ctx, uint64_t height, uint64_t round, uint8_t out[32]) {
    harness *h = ctx;
    (void)height;
    (void)round;
    if (h->next_block == 0) return false;
    id_of(out, h->next_block);
    return true;
}

static bool cb_valid(void *ctx, uint64_t height, uint64_t round, const uint8_t id[32]) {
    harness *h = ctx;
    (void)height;
    (void)round;
    h->valid_calls++;
    for (size_t i = 0; i < h->n_invalid; i++) {
        if (memcmp(h->invalid[i], id, 32) == 0) return false;
    }
    return true;
}

/* The node's double-sign guard: only strictly after the last signed step. */
static bool guard(harness *h, uint64_t height, uint64_t round, uint8_t step) {
    h->sign_calls++;
    if (h->ls_any) {
        bool after = height > h->ls_height ||
                     (height == h->ls_height &&
                      (round > h->ls_round || (round == h->ls_round && step > h->ls_step)));
        if (!after) {
            h->sign_refusals++;
            return false;
        }
    }
    h->ls_any = true;
    h->ls_height = height;
    h->ls_round = round;
    h->ls_step = step;
    return true;
}

static bool cb_sign_vote(void *ctx, cons_vote *v) {
    harness *h = ctx;
    if (!guard(h, v->height, v->round, (uint8_t)(v->type + 1))) return false;
    v->time = 1000 + v->round;
    memset(v->sig, 0xAB, 64);
    return true;
}

static bool cb_sign_proposal(void *ctx, cons_proposal *p) {
    harness *h = ctx;
    if (!guard(h, p->height, p->round, 1)) return false;
    memset(p->sig, 0xCD, 64);
    return true;
}

static void cb_bvote(void *ctx, const cons_vote *v) {
    harness *h = ctx;
    cr_assert_lt(h->n_votes, H_MAX_SENT);
    h->votes[h->n_votes++] = *v;
}

static void cb_bprop(void *ctx, const cons_proposal *p) {
    harness *h = ctx;
    cr_assert_lt(h->n_props, 64);
    h->props[h->n_props++] = *p;
}

static void cb_timeout(void *ctx, uint64_t height, uint64_t round, uint8_t step, uint64_t d) {
    harness *h = ctx;
    cr_assert_lt(h->n_timers, H_MAX_SENT);
    h->timers[h->n_timers++] = (timer){height, round, d, step};
}

static void cb_decide(void *ctx, uint64_t height, uint64_t round, const uint8_t id[32],
                      const cons_proposal *p, const cons_vote *pcs, size_t n) {
    harness *h = ctx;
    h->n_decides++;
    h->dec_height = height;
    h->dec_round = round;
    memcpy(h->dec_id, id, 32);
    h->dec_prop = *p;
    cr_assert_leq(n, 16);
    memcpy(h->dec_votes, pcs, n * sizeof *pcs);
    h->dec_n = n;
}

static void h_init_powers(harness *h, const uint64_t *powers, size_t n, int32_t me) {
    memset(h, 0, sizeof *h);
    h->n = n;
    h->me = me;
    h->next_block = 0xB0;
    cons_config cfg = {.powers = powers, .n_validators = n, .my_index = me,
                       .timeout_propose_ms = 1000, .timeout_vote_ms = 500,
                       .timeout_delta_ms = 250, .empty_block_ms = 700};
    cons_callbacks cb = {cb_propose, cb_valid, cb_sign_vote, cb_sign_proposal, cb_bvote,
                         cb_bprop, cb_timeout, cb_decide, h};
    cr_assert_eq(cons_init(&h->c, &cfg, &cb), GZ_OK);
}

static const uint64_t four[4] = {1, 1, 1, 1};

/* Four equal validators; with them proposer(h, r) = (h + r) mod 4, so at
 * height 1 validator 0 proposes only in round 3. */
static void h_init4(harness *h, int32_t me) { h_init_powers(h, four, 4, me); }

static cons_vote mkvote(uint8_t type, uint64_t height, uint64_t round, uint32_t val,
                        uint8_t idb) {
    cons_vote v;
    memset(&v, 0, sizeof v);
    v.type = type;
    v.height = height;
    v.round = round;
    v.validator = val;
    v.has_block_id = idb != 0;
    if (idb != 0) id_of(v.block_id, idb);
    v.time = 5;
    memset(v.sig, val + 1, 64);
    return v;
}

static int vote(harness *h, uint8_t type, uint64_t height, uint64_t round, uint32_t val,
                uint8_t idb) {
    cons_vote v = mkvote(type, height, round, val, idb);
    return cons_on_vote(&h->c, &v, 0);
}

static cons_proposal mkprop(harness *h, uint64_t height, uint64_t round, int64_t pol, uint8_t idb) {
    cons_proposal p;
    memset(&p, 0, sizeof p);
    p.height = height;
    p.round = round;
    p.pol_round = pol;
    id_of(p.block_id, idb);
    p.proposer = cons_proposer(&h->c, height, round);
    return p;
}

static int propose(harness *h, uint64_t height, uint64_t round, int64_t pol, uint8_t idb) {
    cons_proposal p = mkprop(h, height, round, pol, idb);
    return cons_on_proposal(&h->c, &p, 0);
}

/* The last vote of type this node sent for (height, round), or NULL. */
static const cons_vote *sent(const harness *h, uint8_t type, uint64_t height, uint64_t round) {
    for (size_t i = h->n_votes; i-- > 0;) {
        const cons_vote *v = &h->votes[i];
        if (v->type == type && v->height == height && v->round == round) return v;
    }
    return NULL;
}

static bool sent_for(const harness *h, uint8_t type, uint64_t height, uint64_t round, uint8_t idb) {
    const cons_vote *v = sent(h, type, height, round);
    cr_assert_not_null(v, "no %s sent for %lu/%lu", type == 1 ? "prevote" : "precommit",
                       (unsigned long)height, (unsigned long)round);
    if (idb == 0) return !v->has_block_id;
    uint8_t id[32];
    id_of(id, idb);
    return v->has_block_id && memcmp(v->block_id, id, 32) == 0;
}

static bool armed(const harness *h, uint64_t height, uint64_t round, uint8_t step) {
    for (size_t i = 0; i < h->n_timers; i++) {
        const timer *t = &h->timers[i];
        if (t->height == height && t->round == round && t->step == step) return true;
    }
    return false;
}

static cons_state st(const harness *h) {
    cons_state s;
    cons_state_get(&h->c, &s);
    return s;
}

static void fire(harness *h, uint64_t height, uint64_t round, uint8_t step) {
    cr_assert(armed(h, height, round, step), "timeout %u of %lu/%lu was never armed", step,
              (unsigned long)height, (unsigned long)round);
    cr_assert_eq(cons_on_timeout(&h->c, height, round, step, 0), GZ_OK);
}

/* Locks validator 0 of four on block 0xA1 in round 0 of height 1. */
static void lock_on_a(harness *h) {
    h_init4(h, 0);
    cr_assert_eq(cons_start_height(&h->c, 1, 0, true), GZ_OK);
    cr_assert_eq(propose(h, 1, 0, -1, 0xA1), GZ_OK);
    cr_assert(sent_for(h, CONS_PREVOTE, 1, 0, 0xA1));
    cr_assert_eq(vote(h, CONS_PREVOTE, 1, 0, 1, 0xA1), GZ_OK);
    cr_assert_eq(vote(h, CONS_PREVOTE, 1, 0, 2, 0xA1), GZ_OK);
    cr_assert(sent_for(h, CONS_PRECOMMIT, 1, 0, 0xA1));
    cons_state s = st(h);
    cr_assert_eq(s.locked_round, 0);
    cr_assert_eq(s.valid_round, 0);
    cr_assert_eq(s.locked_value[0], 0xA1);
}

/* From lock_on_a: precommits for nil move everyone to round 1. */
static void to_round_1(harness *h) {
    cr_assert_eq(vote(h, CONS_PRECOMMIT, 1, 0, 1, 0), GZ_OK);
    cr_assert_eq(vote(h, CONS_PRECOMMIT, 1, 0, 2, 0), GZ_OK);
    fire(h, 1, 0, CONS_STEP_PRECOMMIT);
    cr_assert_eq(st(h).round, 1);
    cr_assert_eq(st(h).step, CONS_STEP_PROPOSE);
}

Test(cons, single_validator_decides_every_height_alone) {
    harness h;
    const uint64_t one[1] = {7};
    h_init_powers(&h, one, 1, 0);
    for (uint64_t height = 1; height <= 5; height++) {
        h.next_block = (uint8_t)(0x10 + height);
        cr_assert_eq(cons_start_height(&h.c, height, height * 100, true), GZ_OK);
        cr_assert_eq(h.n_decides, height, "height %lu not decided", (unsigned long)height);
        cr_assert_eq(h.dec_height, height);
        cr_assert_eq(h.dec_round, 0);
        cr_assert_eq(h.dec_id[0], 0x10 + height);
        cr_assert_eq(h.dec_n, 1);
        cr_assert_eq(h.dec_votes[0].type, CONS_PRECOMMIT);
        cr_assert_eq(h.dec_votes[0].sig[0], 0xAB, "the signed precommit is handed over");
        cr_assert_eq(st(&h).step, CONS_STEP_COMMIT);
    }
    cr_assert_eq(h.n_props, 5);
    cr_assert_eq(h.sign_refusals, 0);
    cons_free(&h.c);
}

Test(cons, empty_mempool_waits_then_proposes) {
    harness h;
    const uint64_t one[1] = {1};
    h_init_powers(&h, one, 1, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, false), GZ_OK);
    cr_assert_eq(st(&h).step, CONS_STEP_NEW_HEIGHT);
    cr_assert_eq(h.n_props, 0, "no proposal before the empty-block wait ends");
    cr_assert(armed(&h, 1, 0, CONS_STEP_NEW_HEIGHT));
    cr_assert_eq(h.timers[0].delay_ms, 700);
    /* A stale timer is ignored. */
    cr_assert_eq(cons_on_timeout(&h.c, 1, 0, CONS_STEP_PROPOSE, 0), GZ_ESTATE);
    cr_assert_eq(cons_on_timeout(&h.c, 1, 0, CONS_STEP_NEW_HEIGHT, 700), GZ_OK);
    cr_assert_eq(h.n_decides, 1);
    /* With txs arriving the wait ends at once. */
    cr_assert_eq(cons_start_height(&h.c, 2, 800, false), GZ_OK);
    cr_assert_eq(h.n_decides, 1);
    cons_txs_available(&h.c, 900);
    cr_assert_eq(h.n_decides, 2);
    cr_assert_eq(cons_on_timeout(&h.c, 2, 0, CONS_STEP_NEW_HEIGHT, 1500), GZ_ESTATE);
    cons_free(&h.c);
}

Test(cons, a_vote_ends_the_empty_block_wait) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, false), GZ_OK);
    cr_assert_eq(st(&h).step, CONS_STEP_NEW_HEIGHT);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 2, 0), GZ_OK);
    cr_assert_eq(st(&h).step, CONS_STEP_PROPOSE);
    cr_assert(armed(&h, 1, 0, CONS_STEP_PROPOSE));
    cons_free(&h.c);
}

Test(cons, four_validators_decide_with_three_of_four) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cr_assert(armed(&h, 1, 0, CONS_STEP_PROPOSE));
    cr_assert_eq(h.timers[0].delay_ms, 1000);
    cr_assert_eq(propose(&h, 1, 0, -1, 0xA1), GZ_OK);
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 0, 0xA1));
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xA1), GZ_OK);
    cr_assert_null(sent(&h, CONS_PRECOMMIT, 1, 0), "2 of 4 is no quorum");
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 3, 0xA1), GZ_OK);
    cr_assert(sent_for(&h, CONS_PRECOMMIT, 1, 0, 0xA1));
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 3, 0xA1), GZ_OK);
    cr_assert_eq(h.n_decides, 0);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 1, 0xA1), GZ_OK);
    cr_assert_eq(h.n_decides, 1);
    cr_assert_eq(h.dec_id[0], 0xA1);
    cr_assert_eq(h.dec_n, 3);
    cr_assert_eq(h.dec_votes[0].validator, 0);
    cr_assert_eq(h.dec_votes[1].validator, 1);
    cr_assert_eq(h.dec_votes[2].validator, 3);
    cr_assert_eq(h.dec_prop.proposer, 1);
    /* Late messages of a decided height are stale. */
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 2, 0xA1), GZ_ESTATE);
    cons_free(&h.c);
}

Test(cons, weighted_quorum_needs_more_than_two_thirds_of_power) {
    harness h;
    const uint64_t powers[4] = {1, 1, 1, 6}; /* total 9: quorum needs power >= 7 */
    h_init_powers(&h, powers, 4, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cons_proposal p = mkprop(&h, 1, 0, -1, 0xA1);
    cr_assert_eq(cons_on_proposal(&h.c, &p, 0), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xA1), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 2, 0xA1), GZ_OK);
    cr_assert_null(sent(&h, CONS_PRECOMMIT, 1, 0), "3 of 4 validators but 3/9 of the power");
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 3, 0xA1), GZ_OK);
    cr_assert(sent_for(&h, CONS_PRECOMMIT, 1, 0, 0xA1));
    cons_free(&h.c);
}

Test(cons, invalid_block_gets_a_nil_prevote) {
    harness h;
    h_init4(&h, 0);
    id_of(h.invalid[h.n_invalid++], 0xEE);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cr_assert_eq(propose(&h, 1, 0, -1, 0xEE), GZ_OK);
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 0, 0));
    cr_assert_eq(h.valid_calls, 1);
    /* Even a quorum of prevotes for it does not make it lock or decide. */
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xEE), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 2, 0xEE), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 3, 0xEE), GZ_OK);
    cr_assert_null(sent(&h, CONS_PRECOMMIT, 1, 0));
    cr_assert_eq(st(&h).locked_round, -1);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 1, 0xEE), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 2, 0xEE), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 3, 0xEE), GZ_OK);
    cr_assert_eq(h.n_decides, 0);
    cr_assert_eq(h.valid_calls, 1, "valid() is asked once per proposal");
    cons_free(&h.c);
}

Test(cons, nil_prevotes_lead_to_a_nil_precommit_and_timeouts_grow) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    fire(&h, 1, 0, CONS_STEP_PROPOSE);
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 0, 0));
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0), GZ_OK);
    cr_assert(!armed(&h, 1, 0, CONS_STEP_PREVOTE));
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 2, 0xA1), GZ_OK);
    cr_assert(armed(&h, 1, 0, CONS_STEP_PREVOTE), "2f+1 prevotes of any kind arm the timeout");
    cr_assert_null(sent(&h, CONS_PRECOMMIT, 1, 0));
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 3, 0), GZ_OK);
    cr_assert(sent_for(&h, CONS_PRECOMMIT, 1, 0, 0));
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 1, 0), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 2, 0), GZ_OK);
    fire(&h, 1, 0, CONS_STEP_PRECOMMIT);
    cr_assert_eq(st(&h).round, 1);
    cr_assert_eq(cons_timeout_ms(&h.c, CONS_STEP_PROPOSE, 3), 1000 + 3 * 250);
    cr_assert_eq(cons_timeout_ms(&h.c, CONS_STEP_PREVOTE, 2), 500 + 2 * 250);
    cr_assert_eq(cons_timeout_ms(&h.c, CONS_STEP_PRECOMMIT, 0), 500);
    cr_assert_eq(h.timers[h.n_timers - 1].delay_ms, 1250, "round 1 propose timeout");
    /* Stale: an old round's timers do nothing. */
    cr_assert_eq(cons_on_timeout(&h.c, 1, 0, CONS_STEP_PROPOSE, 0), GZ_ESTATE);
    cr_assert_eq(cons_on_timeout(&h.c, 1, 0, CONS_STEP_PRECOMMIT, 0), GZ_ESTATE);
    cr_assert_eq(cons_on_timeout(&h.c, 2, 1, CONS_STEP_PROPOSE, 0), GZ_ESTATE);
    cons_free(&h.c);
}

Test(cons, locked_validator_prevotes_nil_for_another_value) {
    harness h;
    lock_on_a(&h);
    to_round_1(&h);
    cr_assert_eq(propose(&h, 1, 1, -1, 0xB2), GZ_OK);
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 1, 0), "locked on A: no prevote for B");
    cr_assert_eq(st(&h).locked_round, 0);
    /* A proposal of A again is fine. */
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 1, 1, 0), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 1, 2, 0), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 1, 1, 0), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 1, 2, 0), GZ_OK);
    fire(&h, 1, 1, CONS_STEP_PRECOMMIT);
    cr_assert_eq(propose(&h, 1, 2, -1, 0xA1), GZ_OK);
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 2, 0xA1));
    cons_free(&h.c);
}

Test(cons, pol_round_without_the_pol_is_not_enough) {
    harness h;
    lock_on_a(&h);
    to_round_1(&h);
    /* B claims a POL in round 0, but round 0 prevoted A. */
    cr_assert_eq(propose(&h, 1, 1, 0, 0xB2), GZ_OK);
    cr_assert_null(sent(&h, CONS_PREVOTE, 1, 1), "waits for the POL, then times out");
    fire(&h, 1, 1, CONS_STEP_PROPOSE);
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 1, 0));
    cons_free(&h.c);
}

Test(cons, newer_pol_unlocks) {
    harness h;
    lock_on_a(&h);
    to_round_1(&h);
    /* Round 1: the others prevote C; we never saw its proposal there. */
    fire(&h, 1, 1, CONS_STEP_PROPOSE);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 1, 1, 0xC3), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 1, 2, 0xC3), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 1, 3, 0xC3), GZ_OK);
    fire(&h, 1, 1, CONS_STEP_PREVOTE);
    cr_assert(sent_for(&h, CONS_PRECOMMIT, 1, 1, 0));
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 1, 1, 0), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 1, 2, 0), GZ_OK);
    fire(&h, 1, 1, CONS_STEP_PRECOMMIT);
    /* Round 2: C with pol_round 1 > lockedRound 0 gets our prevote. */
    cr_assert_eq(propose(&h, 1, 2, 1, 0xC3), GZ_OK);
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 2, 0xC3));
    cr_assert_eq(st(&h).locked_round, 0, "still locked until a new lock forms");
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 2, 1, 0xC3), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 2, 2, 0xC3), GZ_OK);
    cr_assert(sent_for(&h, CONS_PRECOMMIT, 1, 2, 0xC3));
    cons_state s = st(&h);
    cr_assert_eq(s.locked_round, 2);
    cr_assert_eq(s.locked_value[0], 0xC3);
    cr_assert_eq(s.valid_round, 2);
    cons_free(&h.c);
}

Test(cons, relock_on_a_later_round_pol) {
    harness h;
    lock_on_a(&h);
    to_round_1(&h);
    cr_assert_eq(propose(&h, 1, 1, -1, 0xB2), GZ_OK);
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 1, 0));
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 1, 1, 0xB2), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 1, 2, 0xB2), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 1, 3, 0xB2), GZ_OK);
    cr_assert(sent_for(&h, CONS_PRECOMMIT, 1, 1, 0xB2), "line 36 relocks on B");
    cons_state s = st(&h);
    cr_assert_eq(s.locked_round, 1);
    cr_assert_eq(s.locked_value[0], 0xB2);
    cr_assert_eq(s.valid_value[0], 0xB2);
    cons_free(&h.c);
}

Test(cons, valid_value_set_after_precommit_nil_and_reproposed) {
    harness h;
    /* Validator 2 proposes at height 1 round 1 (proposer = (h + r) mod 4).
     * It precommits nil in round 0, then sees the proposal and its POL: that
     * makes the block validValue without locking it (line 36 in the
     * precommit step). */
    h_init4(&h, 2);
    h.next_block = 0x77;
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    fire(&h, 1, 0, CONS_STEP_PROPOSE);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 0, 0xA1), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xA1), GZ_OK);
    fire(&h, 1, 0, CONS_STEP_PREVOTE);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 3, 0xA1), GZ_OK);
    cr_assert_eq(propose(&h, 1, 0, -1, 0xA1), GZ_OK);
    cons_state s = st(&h);
    cr_assert_eq(s.valid_round, 0);
    cr_assert_eq(s.locked_round, -1);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 0, 0), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 1, 0), GZ_OK);
    fire(&h, 1, 0, CONS_STEP_PRECOMMIT);
    /* Round 1 is ours: we re-propose validValue with validRound. */
    cr_assert_eq(h.n_props, 1);
    cr_assert_eq(h.props[0].round, 1);
    cr_assert_eq(h.props[0].pol_round, 0);
    cr_assert_eq(h.props[0].block_id[0], 0xA1);
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 1, 0xA1), "not locked, the POL round is 0");
    cons_free(&h.c);
}

Test(cons, f_plus_one_in_a_higher_round_skips_to_it) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 5, 1, 0), GZ_OK);
    cr_assert_eq(st(&h).round, 0, "1 of 4 is not f+1");
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 5, 1, 0), GZ_OK);
    cr_assert_eq(st(&h).round, 0, "the same validator twice is still 1 of 4");
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 3, 2, 0), GZ_OK);
    cr_assert_eq(st(&h).round, 0, "one each in rounds 3 and 5 is not f+1 in one round");
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 5, 3, 0), GZ_OK);
    cr_assert_eq(st(&h).round, 5);
    cr_assert_eq(st(&h).step, CONS_STEP_PROPOSE);
    cr_assert(armed(&h, 1, 5, CONS_STEP_PROPOSE));
    cr_assert_eq(h.timers[h.n_timers - 1].delay_ms, 1000 + 5 * 250);
    cons_free(&h.c);
}

Test(cons, precommits_of_a_later_round_decide) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cr_assert_eq(propose(&h, 1, 2, -1, 0xD4), GZ_OK);
    cr_assert_eq(st(&h).round, 0);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 2, 1, 0xD4), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 2, 2, 0xD4), GZ_OK);
    cr_assert_eq(h.n_decides, 0);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 2, 3, 0xD4), GZ_OK);
    cr_assert_eq(h.n_decides, 1);
    cr_assert_eq(h.dec_round, 2);
    cr_assert_eq(h.dec_id[0], 0xD4);
    cr_assert_eq(h.dec_n, 3);
    cons_free(&h.c);
}

Test(cons, precommits_of_an_earlier_round_decide) {
    harness h;
    lock_on_a(&h);
    to_round_1(&h);
    /* Round 0's precommits for A were late; they still decide. */
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 3, 0xA1), GZ_OK);
    cr_assert_eq(h.n_decides, 0, "0, 3 and nils: A has 2 of 4");
    cons_free(&h.c);

    lock_on_a(&h);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 1, 0), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 2, 0xA1), GZ_OK);
    fire(&h, 1, 0, CONS_STEP_PRECOMMIT);
    cr_assert_eq(st(&h).round, 1);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 3, 0xA1), GZ_OK);
    cr_assert_eq(h.n_decides, 1);
    cr_assert_eq(h.dec_round, 0);
    cons_free(&h.c);
}

Test(cons, equivocating_votes_are_not_double_counted) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cr_assert_eq(propose(&h, 1, 0, -1, 0xB2), GZ_OK); /* we prevote B */
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xA1), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xA1), GZ_EDUP);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xB2), GZ_ECONFLICT);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xB2), GZ_EDUP, "the kept conflict is held");
    /* Any-value tally: validator 1 counts once, so 2 of 4 arm nothing. */
    cr_assert(!armed(&h, 1, 0, CONS_STEP_PREVOTE));
    /* B: validators 0 and 1 (its second vote): 2 of 4, no lock. */
    cr_assert_null(sent(&h, CONS_PRECOMMIT, 1, 0));
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xC3), GZ_ELIMIT, "a third value is dropped");
    cr_assert_eq(cons_evidence_count(&h.c), 2);
    cons_evidence e;
    cr_assert_eq(cons_evidence_get(&h.c, 1, &e), GZ_OK);
    cr_assert_eq(e.kind, 1);
    cr_assert_eq(e.vote_a.validator, 1);
    cr_assert_eq(e.vote_a.block_id[0], 0xA1);
    cr_assert_eq(e.vote_b.block_id[0], 0xB2);
    cr_assert_eq(cons_evidence_get(&h.c, 2, &e), GZ_ENOTFOUND);
    cr_assert_eq(e.kind, 0);
    /* Re-sending the same conflict adds no evidence. */
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xC3), GZ_ELIMIT);
    cr_assert_eq(cons_evidence_count(&h.c), 2);
    /* Validator 2 makes B 3 of 4 with 1's conflicting vote: the POL it
     * completes is one an honest relay can show everyone (Algorithm 1
     * counts senders of a vote for the value). */
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 2, 0xB2), GZ_OK);
    cr_assert(sent_for(&h, CONS_PRECOMMIT, 1, 0, 0xB2));
    /* Proposals: a second, different one from the proposer is evidence too. */
    cr_assert_eq(propose(&h, 1, 0, -1, 0xB2), GZ_EDUP);
    cr_assert_eq(propose(&h, 1, 0, -1, 0xC3), GZ_ELIMIT, "its block has no quorum");
    cr_assert_eq(cons_evidence_count(&h.c), 3);
    cr_assert_eq(cons_evidence_get(&h.c, 0, &e), GZ_OK);
    cr_assert_eq(e.kind, 2);
    cr_assert_eq(e.prop_b.block_id[0], 0xC3);
    cons_free(&h.c);
}

Test(cons, commit_takes_an_equivocators_precommit_for_the_block) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cr_assert_eq(propose(&h, 1, 0, -1, 0xA1), GZ_OK);
    for (uint32_t v = 1; v <= 2; v++) cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, v, 0xA1), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 3, 0), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 3, 0xA1), GZ_ECONFLICT);
    cr_assert_eq(h.n_decides, 0);
    cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, 2, 0xA1), GZ_OK);
    cr_assert_eq(h.n_decides, 1);
    cr_assert_eq(h.dec_n, 3);
    cr_assert_eq(h.dec_votes[2].validator, 3);
    cr_assert(h.dec_votes[2].has_block_id, "the precommit for the block, not the nil one");
    cons_free(&h.c);
}

Test(cons, double_count_fault_is_what_equivocation_handling_prevents) {
    harness h;
    const uint64_t powers[4] = {1, 1, 1, 1};
    memset(&h, 0, sizeof h);
    h.next_block = 0xB0;
    cons_config cfg = {.powers = powers, .n_validators = 4, .my_index = 0,
                       .timeout_propose_ms = 1000, .timeout_vote_ms = 500,
                       .test_faults = CONS_FAULT_DOUBLE_COUNT};
    cons_callbacks cb = {cb_propose, cb_valid, cb_sign_vote, cb_sign_proposal, cb_bvote,
                         cb_bprop, cb_timeout, cb_decide, &h};
    cr_assert_eq(cons_init(&h.c, &cfg, &cb), GZ_OK);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cr_assert_eq(propose(&h, 1, 0, -1, 0xB2), GZ_OK);
    cr_assert_null(sent(&h, CONS_PRECOMMIT, 1, 0));
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xB2), GZ_OK);
    cr_assert(sent_for(&h, CONS_PRECOMMIT, 1, 0, 0xB2), "the faulty build locks on 2 of 4");
    cons_free(&h.c);
}

Test(cons, proposer_rotation_follows_power) {
    harness h;
    const uint64_t powers[3] = {1, 2, 3};
    h_init_powers(&h, powers, 3, -1);
    size_t count[3] = {0};
    for (uint64_t r = 0; r < 6; r++) count[cons_proposer(&h.c, 1, r)]++;
    cr_assert_eq(count[0], 1);
    cr_assert_eq(count[1], 2);
    cr_assert_eq(count[2], 3);
    /* (h, r) and (h + 1, r - 1) share a turn; the cycle repeats. */
    cr_assert_eq(cons_proposer(&h.c, 2, 3), cons_proposer(&h.c, 3, 2));
    cr_assert_eq(cons_proposer(&h.c, 1, 0), cons_proposer(&h.c, 7, 0));
    /* Smooth: the heaviest never proposes three times in a row. */
    for (uint64_t r = 0; r < 6; r++) {
        bool run3 = cons_proposer(&h.c, 0, r) == 2 && cons_proposer(&h.c, 0, r + 1) == 2 &&
                    cons_proposer(&h.c, 0, r + 2) == 2;
        cr_assert(!run3);
    }
    harness g;
    h_init_powers(&g, powers, 3, 1);
    for (uint64_t k = 0; k < 50; k++) {
        cr_assert_eq(cons_proposer(&h.c, k, k / 3), cons_proposer(&g.c, k, k / 3));
    }
    cons_free(&h.c);
    cons_free(&g.c);
}

Test(cons, proposer_rotation_scales_large_powers) {
    harness h;
    const uint64_t powers[4] = {1, 1000000, 3000000, 5};
    h_init_powers(&h, powers, 4, -1);
    size_t count[4] = {0};
    for (uint64_t k = 0; k < CONS_PROPOSER_SEQ_MAX; k++) count[cons_proposer(&h.c, 0, k)]++;
    cr_assert_geq(count[0], 1, "every validator keeps a turn");
    cr_assert_geq(count[3], 1);
    cr_assert_gt(count[2], 2 * count[1]);
    cr_assert_lt(count[2], 4 * count[1]);
    cons_free(&h.c);
}

Test(cons, future_height_is_buffered_and_replayed) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cons_proposal p2 = mkprop(&h, 2, 0, -1, 0xE5);
    cr_assert_eq(cons_on_proposal(&h.c, &p2, 0), GZ_OK);
    cr_assert_eq(cons_on_proposal(&h.c, &p2, 0), GZ_EDUP);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 2, 0, 1, 0xE5), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 2, 0, 1, 0xE5), GZ_EDUP);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 2, 0, 3, 0xE5), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 2, CONS_FUTURE_ROUNDS, 3, 0xE5), GZ_ELIMIT);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 3, 0, 3, 0xE5), GZ_ELIMIT);
    cr_assert_null(sent(&h, CONS_PREVOTE, 2, 0), "nothing happens for height 2 yet");
    /* Decide height 1. */
    cr_assert_eq(propose(&h, 1, 0, -1, 0xA1), GZ_OK);
    for (uint32_t v = 1; v <= 2; v++) cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, v, 0xA1), GZ_OK);
    for (uint32_t v = 1; v <= 2; v++) cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, v, 0xA1), GZ_OK);
    cr_assert_eq(h.n_decides, 1);
    cr_assert_eq(cons_start_height(&h.c, 2, 0, false), GZ_OK);
    cr_assert_eq(st(&h).step, CONS_STEP_PRECOMMIT, "the replay ended the wait and locked");
    cr_assert(sent_for(&h, CONS_PREVOTE, 2, 0, 0xE5));
    cr_assert(sent_for(&h, CONS_PRECOMMIT, 2, 0, 0xE5));
    cr_assert_eq(st(&h).locked_round, 0);
    cr_assert_eq(cons_start_height(&h.c, 2, 0, true), GZ_EMISUSE, "heights only move forward");
    cons_free(&h.c);
}

Test(cons, malformed_messages_are_refused) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 4, 0xA1), GZ_EARG, "validator out of range");
    cr_assert_eq(vote(&h, 3, 1, 0, 1, 0xA1), GZ_EARG, "bad type");
    cons_vote v = mkvote(CONS_PREVOTE, 1, 0, 1, 0);
    v.block_id[3] = 1;
    cr_assert_eq(cons_on_vote(&h.c, &v, 0), GZ_EARG, "nil vote with a block id");
    cons_proposal p = mkprop(&h, 1, 0, -1, 0xA1);
    p.proposer = 2;
    cr_assert_eq(cons_on_proposal(&h.c, &p, 0), GZ_EARG, "not the proposer");
    p = mkprop(&h, 1, 1, 1, 0xA1);
    cr_assert_eq(cons_on_proposal(&h.c, &p, 0), GZ_EARG, "pol_round must be < round");
    p = mkprop(&h, 1, 1, -2, 0xA1);
    cr_assert_eq(cons_on_proposal(&h.c, &p, 0), GZ_EARG);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, CONS_ROUND_MAX + 1, 1, 0), GZ_EARG);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 0, 0, 1, 0), GZ_ESTATE, "older height");
    /* No message at all is the node's bug, not a peer's: it must not drop one. */
    cr_assert_eq(cons_on_vote(&h.c, NULL, 0), GZ_EMISUSE);
    cr_assert_eq(cons_on_proposal(&h.c, NULL, 0), GZ_EMISUSE);
    cr_assert_eq(st(&h).round, 0);
    cr_assert_eq(st(&h).step, CONS_STEP_PROPOSE);
    cons_free(&h.c);
}

Test(cons, validator_set_changes_between_heights) {
    harness h;
    const uint64_t powers[3] = {1, 1, 1};
    memset(&h, 0, sizeof h);
    cons_config cfg = {.powers = powers, .n_validators = 3, .validators_cap = 5, .my_index = 0,
                       .timeout_propose_ms = 1000, .timeout_vote_ms = 500};
    cons_callbacks cb = {cb_propose, cb_valid, cb_sign_vote, cb_sign_proposal, cb_bvote,
                         cb_bprop, cb_timeout, cb_decide, &h};
    cr_assert_eq(cons_init(&h.c, &cfg, &cb), GZ_OK);
    const uint64_t bigger[5] = {1, 1, 1, 1, 96};
    cr_assert_eq(cons_set_validators(&h.c, bigger, 5, 1), GZ_OK, "before the first height");
    size_t heavy = 0;
    for (uint64_t r = 0; r < 100; r++) heavy += cons_proposer(&h.c, 1, r) == 4;
    cr_assert_eq(heavy, 96);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    /* During a height (committed from a peer's commit): the height ends here. */
    cr_assert_eq(cons_set_validators(&h.c, powers, 3, 0), GZ_OK, "a height in progress is abandoned");
    cons_vote late = {.type = CONS_PREVOTE, .height = 1, .round = 0, .validator = 1};
    cr_assert_eq(cons_on_vote(&h.c, &late, 1), GZ_ESTATE, "the abandoned height takes no more votes");
    cr_assert_eq(cons_on_timeout(&h.c, 1, 0, CONS_STEP_PROPOSE, 1000), GZ_ESTATE);
    cr_assert_eq(cons_start_height(&h.c, 2, 2, true), GZ_OK, "the next height starts with the new set");
    heavy = 0;
    for (uint64_t r = 0; r < 99; r++) heavy += cons_proposer(&h.c, 2, r) == 0;
    cr_assert_eq(heavy, 33, "three equal validators share the rotation");
    const uint64_t six[6] = {1, 1, 1, 1, 1, 1};
    cons_free(&h.c);
    cr_assert_eq(cons_init(&h.c, &cfg, &cb), GZ_OK);
    cr_assert_eq(cons_set_validators(&h.c, six, 6, 0), GZ_EARG, "above the capacity");
    cr_assert_eq(cons_set_validators(&h.c, six, 5, 5), GZ_EARG, "my_index out of range");
    cons_free(&h.c);
}

Test(cons, init_rejects_bad_configs) {
    cons c;
    harness h;
    memset(&h, 0, sizeof h);
    cons_callbacks cb = {cb_propose, cb_valid, cb_sign_vote, cb_sign_proposal, cb_bvote,
                         cb_bprop, cb_timeout, cb_decide, &h};
    const uint64_t zero[2] = {1, 0};
    cons_config cfg = {.powers = zero, .n_validators = 2, .my_index = 0};
    cr_assert_eq(cons_init(&c, &cfg, &cb), GZ_EARG, "power 0");
    cfg.powers = four;
    cfg.n_validators = 4;
    cfg.my_index = 4;
    cr_assert_eq(cons_init(&c, &cfg, &cb), GZ_EARG, "my_index out of range");
    cfg.my_index = -1;
    cfg.n_validators = 0;
    cr_assert_eq(cons_init(&c, &cfg, &cb), GZ_EARG, "no validators");
    const uint64_t huge[2] = {CONS_TOTAL_POWER_MAX, 1};
    cfg.powers = huge;
    cfg.n_validators = 2;
    cr_assert_eq(cons_init(&c, &cfg, &cb), GZ_EARG, "total power bound");
    cfg.powers = four;
    cfg.n_validators = 4;
    cb.decide = NULL;
    cr_assert_eq(cons_init(&c, &cfg, &cb), GZ_EMISUSE, "missing callback");
}

Test(cons, full_node_follows_without_signing) {
    harness h;
    h_init4(&h, -1);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cr_assert_eq(propose(&h, 1, 0, -1, 0xA1), GZ_OK);
    for (uint32_t v = 0; v < 3; v++) cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, v, 0xA1), GZ_OK);
    for (uint32_t v = 1; v < 4; v++) cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, 0, v, 0xA1), GZ_OK);
    cr_assert_eq(h.n_decides, 1);
    cr_assert_eq(h.sign_calls, 0);
    cr_assert_eq(h.n_votes, 0);
    cons_free(&h.c);
}

Test(cons, commit_catch_up_decides_a_round_no_longer_kept) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    /* Walk through 12 rounds alone: every round times out. */
    for (uint64_t r = 0; r < 12; r++) {
        for (uint32_t v = 1; v <= 3; v++) cr_assert_eq(vote(&h, CONS_PRECOMMIT, 1, r, v, 0), GZ_OK);
        fire(&h, 1, r, CONS_STEP_PRECOMMIT);
    }
    cr_assert_eq(st(&h).round, 12);
    cons_proposal p = mkprop(&h, 1, 0, -1, 0xF6);
    cr_assert_eq(cons_on_proposal(&h.c, &p, 0), GZ_ELIMIT, "round 0 is no longer kept");
    cons_vote pcs[3];
    for (uint32_t v = 0; v < 2; v++) pcs[v] = mkvote(CONS_PRECOMMIT, 1, 0, v + 2, 0xF6);
    cr_assert_eq(cons_on_commit(&h.c, &p, pcs, 2, 0), GZ_EVERIFY, "2 of 4 is no commit");
    pcs[0].block_id[0] = 0x01;
    pcs[2] = mkvote(CONS_PRECOMMIT, 1, 0, 1, 0xF6);
    cr_assert_eq(cons_on_commit(&h.c, &p, pcs, 3, 0), GZ_EARG, "a precommit for another block");
    pcs[0] = mkvote(CONS_PRECOMMIT, 1, 0, 2, 0xF6);
    cr_assert_eq(h.n_decides, 0);
    cr_assert_eq(cons_on_commit(&h.c, &p, pcs, 3, 0), GZ_OK);
    cr_assert_eq(h.n_decides, 1);
    cr_assert_eq(h.dec_round, 0);
    cr_assert_eq(h.dec_id[0], 0xF6);
    cr_assert_eq(h.dec_n, 3);
    cr_assert_eq(cons_on_commit(&h.c, &p, pcs, 3, 0), GZ_ESTATE);
    cons_free(&h.c);
}

/* Restart: the inputs the node logged, re-fed after start_height, rebuild
 * the lock; the last-signed guard and the held own votes prevent a second
 * signature for any step. */
Test(cons, replaying_the_log_restores_the_lock) {
    harness h;
    lock_on_a(&h);
    cons_vote own_prevote = *sent(&h, CONS_PREVOTE, 1, 0);
    cons_vote own_precommit = *sent(&h, CONS_PRECOMMIT, 1, 0);
    uint64_t lh = h.ls_height, lr = h.ls_round;
    uint8_t ls = h.ls_step;
    cons_free(&h.c);

    /* The process restarts: fresh state, persisted guard. */
    h_init4(&h, 0);
    h.ls_any = true;
    h.ls_height = lh;
    h.ls_round = lr;
    h.ls_step = ls;
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    cr_assert_eq(propose(&h, 1, 0, -1, 0xA1), GZ_OK);
    cr_assert_eq(cons_on_vote(&h.c, &own_prevote, 0), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 1, 0xA1), GZ_OK);
    cr_assert_eq(vote(&h, CONS_PREVOTE, 1, 0, 2, 0xA1), GZ_OK);
    cr_assert_eq(cons_on_vote(&h.c, &own_precommit, 0), GZ_OK);
    cons_state s = st(&h);
    cr_assert_eq(s.locked_round, 0);
    cr_assert_eq(s.locked_value[0], 0xA1);
    cr_assert_eq(h.sign_refusals, 2, "both steps were asked again and refused");
    size_t before = h.n_votes;
    to_round_1(&h);
    cr_assert_eq(propose(&h, 1, 1, -1, 0xB2), GZ_OK);
    cr_assert_gt(h.n_votes, before);
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 1, 0), "the restored lock holds");
    cons_free(&h.c);
}

Test(cons, own_vote_held_from_the_log_is_resent_not_resigned) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    /* The log held our nil prevote from before the crash. */
    cons_vote mine = mkvote(CONS_PREVOTE, 1, 0, 0, 0);
    cr_assert_eq(cons_on_vote(&h.c, &mine, 0), GZ_OK);
    size_t calls = h.sign_calls;
    cr_assert_eq(propose(&h, 1, 0, -1, 0xA1), GZ_OK);
    cr_assert_eq(h.sign_calls, calls, "no second signature for the step");
    cr_assert(sent_for(&h, CONS_PREVOTE, 1, 0, 0), "the logged vote goes out again");
    cr_assert_eq(st(&h).step, CONS_STEP_PREVOTE);
    cons_free(&h.c);
}

Test(cons, far_rounds_are_bounded_per_validator) {
    harness h;
    h_init4(&h, 0);
    cr_assert_eq(cons_start_height(&h.c, 1, 0, true), GZ_OK);
    /* Validator 3 floods many rounds; it cannot reach f+1 alone, and its
     * flood does not hide validator 1's and 2's round 40. */
    for (uint64_t r = 2; r < 60; r++) {
        int rc = vote(&h, CONS_PREVOTE, 1, r, 3, 0);
        cr_assert(rc == GZ_OK || rc == GZ_ELIMIT);
    }
    cr_assert_eq(st(&h).round, 0);
    int rc = vote(&h, CONS_PREVOTE, 1, 40, 1, 0);
    cr_assert(rc == GZ_OK || rc == GZ_ELIMIT);
    cr_assert_eq(st(&h).round, 0);
    rc = vote(&h, CONS_PRECOMMIT, 1, 40, 2, 0);
    cr_assert(rc == GZ_OK || rc == GZ_ELIMIT);
    cr_assert_eq(st(&h).round, 40);
    cons_free(&h.c);
}
