/* Governance driven by block times: proposals closing at the first block past
 * their deadline with their effects, co-signing windows expiring, suspensions
 * lifting; the outcome and board-mark rules; the proposals query. */
#include "ledger/gov.h"
#include "tests/unit/test_ledger_gov_kit.h"

static const char *const AB[] = {"a", "b", NULL};
static const char *const ABC[] = {"a", "b", "c", NULL};

/* n users at level 8 with the whale class, issuers ip-a (ctl-a) and ip-b (ctl-b)
 * owned by the last user. */
static gt *fx(size_t n, bool composite) {
    gt *t = gt_new(n);
    for (size_t u = 0; u < n; u++) gt_user(t, u, 8, 1);
    t->g.policy.votes.cosigners_required = 3;
    t->g.policy.votes.distrust_quorum = 3;
    if (composite) {
        gt_composite(t);
        t->g.policy.credit.reasons[0] = (gz_credit_reason){1, -100, 100};
    }
    gt_open(t);
    int owner = T_U((int)n - 1);
    gz_tx *txs[] = {tx_issuer(t, T_REG, "ip-a", "ctl-a", owner, "A"),
                    tx_issuer(t, T_REG, "ip-b", "ctl-b", owner, "B")};
    int codes[2];
    gt_block(t, 1000, txs, 2, codes);
    cr_assert_eq(codes[0] + codes[1], 0);
    return t;
}

static void create(gt *t, gz_tx *tx, uint8_t id[32]) {
    gt_id(t, tx, id);
    GT_OK(t, tx);
}

Test(gov_time, closes_at_first_block_past_deadline) {
    gt *t = fx(3, false);
    uint8_t id[32];
    create(t, tx_proposal(t, T_GOV, 7, "g", AB, 0, 0, 1, 10000), id);
    uint64_t opened = t->time;
    json_t *p = gt_proposal(t, id);
    cr_assert_eq(jint(p, "opens_at"), (long long)opened);
    cr_assert_eq(jint(p, "closes_at"), (long long)(opened + 10000));
    json_decref(p);
    GT_OK(t, tx_vote(t, T_U(0), id, 1, 1));
    /* The last block before the deadline still takes votes. */
    t->time = opened + 10000 - 1 - 1000;
    GT_OK(t, tx_vote(t, T_U(1), id, 1, 1));
    gt_expect_pstatus(t, id, "open");
    /* The block at the deadline closes it before its txs run. */
    int code = gt_run(t, tx_vote(t, T_U(2), id, 1, 0));
    cr_expect_eq(code, 10);
    json_t *ev = gt_event(t->begin, "proposal_closed", 0);
    cr_assert_not_null(ev);
    cr_expect_str_eq(jstr(ev, "status"), "passed");
    cr_expect_eq(jint(ev, "winner"), 1);
    p = gt_proposal(t, id);
    cr_expect_str_eq(jstr(p, "status"), "passed");
    cr_expect_eq(jint(p, "winner"), 1);
    cr_expect_eq(jint(p, "turnout"), 2);
    cr_expect_eq(json_integer_value(json_array_get(json_object_get(p, "tally"), 1)), 2);
    json_decref(p);
    /* Closed once: later blocks do nothing more. */
    gt_tick(t, 1000);
    cr_expect_null(gt_event(t->begin, "proposal_closed", 0));
    gt_free(t);
}

Test(gov_time, tie_and_empty_close_tied) {
    gt *t = fx(2, false);
    uint8_t tie[32], empty[32];
    create(t, tx_proposal(t, T_GOV, 5, "tie", AB, 0, 0, 1, 5000), tie);
    create(t, tx_proposal(t, T_GOV, 5, "empty", AB, 0, 0, 1, 5000), empty);
    GT_OK(t, tx_vote(t, T_U(0), tie, 1, 0));
    GT_OK(t, tx_vote(t, T_U(1), tie, 1, 1));
    gt_tick(t, 10000);
    gt_expect_pstatus(t, tie, "tied");
    gt_expect_pstatus(t, empty, "tied");
    json_t *p = gt_proposal(t, tie);
    cr_expect(json_is_null(json_object_get(p, "winner")));
    json_decref(p);
    gt_free(t);
}

Test(gov_time, revote_counts_only_the_latest) {
    gt *t = fx(2, false);
    GT_OK(t, tx_grant(t, T_U(0), 40, 1));
    uint8_t id[32];
    create(t, tx_proposal(t, T_GOV, 5, "price", ABC, 0, 0, 2, DAY_MS), id);
    GT_OK(t, tx_vote(t, T_U(0), id, 1, 0));
    cr_expect_eq(jint(gt_event(t->ev[0], "vote", 0), "weight"), 40);
    GT_OK(t, tx_vote(t, T_U(0), id, 1, 2));
    cr_expect(json_is_true(json_object_get(gt_event(t->ev[0], "vote", 0), "replaced")));
    /* More tokens: the new vote weighs what the voter holds now. */
    GT_OK(t, tx_grant(t, T_U(0), 60, 1));
    GT_OK(t, tx_vote(t, T_U(0), id, 1, 1));
    json_t *p = gt_proposal(t, id);
    json_t *tally = json_object_get(p, "tally");
    cr_expect_eq(json_integer_value(json_array_get(tally, 0)), 0);
    cr_expect_eq(json_integer_value(json_array_get(tally, 1)), 100);
    cr_expect_eq(json_integer_value(json_array_get(tally, 2)), 0);
    cr_expect_eq(jint(p, "turnout"), 100);
    cr_expect_eq(jint(p, "voters"), 1);
    json_decref(p);
    gt_tick(t, DAY_MS);
    p = gt_proposal(t, id);
    cr_expect_str_eq(jstr(p, "status"), "passed");
    cr_expect_eq(jint(p, "winner"), 1);
    json_decref(p);
    gt_free(t);
}

Test(gov_time, distrust_opens_passes_and_applies_delta) {
    gt *t = fx(5, false);
    uint8_t id[32];
    create(t, tx_distrust(t, T_U(0), 1, "ctl-a"), id);
    GT_OK(t, tx_cosign(t, T_U(1), id));
    gt_expect_pstatus(t, id, "cosigning");
    cr_expect_eq(gt_run(t, tx_vote(t, T_U(0), id, 1, 0)), 10, "voting on a cosigning proposal");
    GT_OK(t, tx_cosign(t, T_U(2), id));
    json_t *ev = gt_event(t->ev[0], "proposal_opened", 0);
    cr_assert_not_null(ev);
    uint64_t opens = t->time;
    cr_expect_eq(jint(ev, "closes_at"), (long long)(opens + 3 * DAY_MS));
    gt_expect_pstatus(t, id, "open");
    cr_expect_eq(gt_run(t, tx_cosign(t, T_U(3), id)), 10, "co-signing an open proposal");
    GT_OK(t, tx_vote(t, T_U(0), id, 1, 0));
    GT_OK(t, tx_vote(t, T_U(1), id, 1, 0));
    GT_OK(t, tx_vote(t, T_U(2), id, 1, 1));
    gt_tick(t, 3 * DAY_MS);
    gt_expect_pstatus(t, id, "passed");
    json_t *credit = gt_event(t->begin, "credit", 0);
    cr_assert_not_null(credit);
    cr_expect_eq(jint(credit, "reason"), 8);
    cr_expect_eq(jint(credit, "delta"), -5);
    cr_expect_str_eq(jstr(credit, "controller_id"), "ctl-a");
    cr_expect_eq(gt_score(t, "ctl-a"), 5);
    cr_expect_eq(gt_score(t, "ctl-b"), 10);
    gt_free(t);
}

Test(gov_time, distrust_without_quorum_is_rejected) {
    gt *t = fx(4, false);
    uint8_t id[32];
    create(t, tx_distrust(t, T_U(0), 1, "ctl-a"), id);
    GT_OK(t, tx_cosign(t, T_U(1), id));
    GT_OK(t, tx_cosign(t, T_U(2), id));
    GT_OK(t, tx_vote(t, T_U(0), id, 1, 0));
    GT_OK(t, tx_vote(t, T_U(1), id, 1, 0));
    gt_tick(t, 3 * DAY_MS);
    json_t *p = gt_proposal(t, id);
    cr_expect_str_eq(jstr(p, "status"), "rejected", "turnout 2 < quorum 3");
    cr_expect_eq(jint(p, "winner"), 0, "yes had the most weight");
    json_decref(p);
    cr_expect_null(gt_event(t->begin, "credit", 0));
    cr_expect_eq(gt_score(t, "ctl-a"), 10);
    gt_free(t);
}

Test(gov_time, cosigning_expires_at_window) {
    gt *t = fx(3, false);
    uint8_t id[32];
    create(t, tx_distrust(t, T_U(0), 1, "ctl-a"), id);
    uint64_t expires = t->time + 7 * DAY_MS;
    t->time = expires - 1 - 1000;
    GT_OK(t, tx_cosign(t, T_U(1), id));
    gt_expect_pstatus(t, id, "cosigning");
    cr_expect_eq(gt_run(t, tx_cosign(t, T_U(2), id)), 10);
    json_t *ev = gt_event(t->begin, "proposal_expired", 0);
    cr_assert_not_null(ev);
    cr_expect_eq(jint(ev, "cosigners"), 2);
    json_t *p = gt_proposal(t, id);
    cr_expect_str_eq(jstr(p, "status"), "expired");
    cr_expect(json_is_null(json_object_get(p, "opens_at")));
    json_decref(p);
    gt_free(t);
}

Test(gov_time, trust_raises_credit_up_to_max) {
    gt *t = fx(4, false);
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 0, -9, 3));
    cr_expect_eq(gt_score(t, "ctl-a"), 1);
    for (int round = 0; round < 2; round++) {
        uint8_t id[32];
        create(t, tx_distrust(t, T_U(0), 2, "ctl-a"), id);
        GT_OK(t, tx_cosign(t, T_U(1), id));
        GT_OK(t, tx_cosign(t, T_U(2), id));
        for (int u = 0; u < 3; u++) GT_OK(t, tx_vote(t, T_U(u), id, 1, 0));
        gt_tick(t, 3 * DAY_MS);
        gt_expect_pstatus(t, id, "passed");
    }
    cr_expect_eq(gt_score(t, "ctl-a"), 5);
    gt_free(t);
}

/* ---- pre-review ---- */

/* 10 reviewers (level 8) and one low-level owner. */
static gt *fx_review(void) {
    gt *t = gt_new(11);
    for (size_t u = 0; u < 10; u++) gt_user(t, u, 8, 0);
    gt_user(t, 10, 2, 8);
    gt_open(t);
    GT_OK(t, tx_issuer(t, T_REG, "ip-a", "ctl-a", T_U(10), "A"));
    return t;
}

static void review(gt *t, const char *release, int rejects, int approves, uint8_t id[32]) {
    uint64_t rt = t->time + 1000 + 7 * DAY_MS;
    create(t, tx_release(t, T_U(10), release, "ip-a", rt), id);
    gz_tx *txs[10];
    size_t n = 0;
    for (int u = 0; u < rejects + approves; u++) {
        txs[n++] = tx_vote(t, T_U(u), id, 1, u < rejects ? 1u : 0u);
    }
    int codes[10];
    gt_block(t, 1000, txs, n, codes);
    for (size_t i = 0; i < n; i++) cr_assert_eq(codes[i], 0, "%s", t->msg[i]);
    cr_expect_eq(gt_run(t, tx_vote(t, T_U(10), id, 1, 0)), 6, "level 2 cannot review");
    t->time = rt - 1000;
    gt_tick(t, 1000);
}

Test(gov_time, pre_review_over_30_percent_delays) {
    gt *t = fx_review();
    uint8_t id[32];
    review(t, "r1", 4, 6, id);
    gt_expect_pstatus(t, id, "rejected");
    json_t *ev = gt_event(t->begin, "release_status", 0);
    cr_assert_not_null(ev);
    cr_expect_str_eq(jstr(ev, "to"), "delayed");
    json_t *r = gt_release(t, "r1");
    cr_expect_str_eq(jstr(r, "status"), "delayed");
    json_decref(r);
    /* A delayed release must be announced again: that opens a new review. */
    uint8_t again[32];
    review(t, "r1", 0, 1, again);
    r = gt_release(t, "r1");
    char hex[65];
    gt_hex(hex, again);
    cr_expect_str_eq(jstr(r, "proposal_id"), hex);
    cr_expect_str_eq(jstr(r, "status"), "released", "approved and its time has come");
    json_decref(r);
    cr_expect_eq(gt_run(t, tx_release(t, T_U(10), "r1", "ip-a", t->time + 8 * DAY_MS)), 8);
    gt_free(t);
}

Test(gov_time, pre_review_at_30_percent_passes) {
    gt *t = fx_review();
    uint8_t id[32];
    review(t, "r1", 3, 7, id);
    gt_expect_pstatus(t, id, "passed");
    json_t *r = gt_release(t, "r1");
    cr_expect_str_eq(jstr(r, "status"), "released");
    json_decref(r);
    gt_free(t);
}

Test(gov_time, pre_review_approved_before_release_time) {
    gt *t = fx_review();
    uint64_t rt = t->time + 1000 + 8 * DAY_MS;
    uint8_t id[32];
    create(t, tx_release(t, T_U(10), "r2", "ip-a", rt), id);
    GT_OK(t, tx_vote(t, T_U(0), id, 1, 0));
    json_t *r = gt_release(t, "r2");
    cr_expect_str_eq(jstr(r, "status"), "pre_review");
    json_decref(r);
    gt_free(t);
}

/* ---- board ---- */

Test(gov_time, board_marks_recommended_and_spurred) {
    gt *t = fx(6, false);
    GT_OK(t, tx_issuer(t, T_REG, "ip-c", "ctl-c", T_U(5), "C"));
    GT_OK(t, tx_issuer(t, T_REG, "ip-d", "ctl-d", T_U(5), "D"));
    static const char *const CTLS[] = {"ctl-a", "ctl-b", "ctl-c", "ctl-d", NULL};
    uint8_t id[32];
    create(t, tx_proposal(t, T_GOV, 4, "2026-01", CTLS, 8, 0, 1, DAY_MS), id);
    gz_tx *txs[] = {tx_vote(t, T_U(0), id, 3, 0, 1, 2), tx_vote(t, T_U(1), id, 2, 0, 1),
                    tx_vote(t, T_U(2), id, 2, 0, 2), tx_vote(t, T_U(3), id, 1, 0),
                    tx_vote(t, T_U(4), id, 2, 0, 3)};
    int codes[5];
    gt_block(t, 1000, txs, 5, codes);
    for (int i = 0; i < 5; i++) cr_assert_eq(codes[i], 0, "%s", t->msg[i]);
    gt_tick(t, DAY_MS);
    json_t *p = gt_proposal(t, id);
    cr_expect_str_eq(jstr(p, "status"), "passed");
    cr_expect_eq(jint(p, "winner"), 0);
    cr_expect_eq(jint(p, "turnout"), 5, "turnout counts each voter once");
    json_decref(p);
    /* Approvals 5, 2, 2, 1: the top half is a and the tie at its edge (b, c). */
    static const char *const want[] = {"recommended", "recommended", "recommended", "spurred"};
    char hex[65];
    gt_hex(hex, id);
    for (int i = 0; i < 4; i++) {
        json_t *c = gt_controller(t, CTLS[i]);
        json_t *board = json_object_get(c, "board");
        cr_assert_eq(json_array_size(board), 1, "%s", CTLS[i]);
        json_t *m = json_array_get(board, 0);
        cr_expect_str_eq(jstr(m, "mark"), want[i], "%s", CTLS[i]);
        cr_expect_str_eq(jstr(m, "proposal_id"), hex);
        json_decref(c);
    }
    gt_free(t);
}

static void marks_of(const uint64_t *tally, uint32_t n, uint64_t turnout, uint8_t *marks) {
    gov_proposal p;
    memset(&p, 0, sizeof p);
    p.kind = GOV_KIND_BOARD;
    p.n_options = n;
    p.turnout = turnout;
    memcpy(p.tally, tally, n * sizeof *tally);
    gov_board_marks(&p, marks);
}

Test(gov_time, board_mark_rules) {
    static const struct {
        uint32_t n;
        uint64_t tally[6];
        uint64_t turnout;
        const char *want; /* R recommended, S spurred, - none */
    } rows[] = {
        {2, {3, 1}, 4, "RS"},
        {2, {1, 3}, 4, "SR"},
        {2, {2, 2}, 2, "RR"},     /* equal approval, equal mark */
        {3, {3, 2, 1}, 3, "RSS"}, /* half of 3 rounds down */
        {3, {1, 3, 3}, 4, "SRR"},
        {4, {4, 3, 2, 1}, 4, "RRSS"},
        {4, {0, 0, 1, 0}, 1, "SSRS"},     /* no approval, never recommended */
        {5, {0, 0, 0, 0, 0}, 0, "-----"}, /* nobody voted: no marks */
        {6, {9, 9, 9, 9, 9, 1}, 9, "RRRRRS"},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        uint8_t marks[GZ_OPTIONS_MAX];
        marks_of(rows[r].tally, rows[r].n, rows[r].turnout, marks);
        for (uint32_t i = 0; i < rows[r].n; i++) {
            int got = marks[i] == GOV_MARK_RECOMMENDED ? 'R'
                      : marks[i] == GOV_MARK_SPURRED   ? 'S'
                                                       : '-';
            cr_expect_eq(got, rows[r].want[i], "row %zu option %u", r, i);
        }
    }
}

Test(gov_time, outcome_rules) {
    gz_vote_policy vp = {.distrust_quorum = 3, .pre_review_reject_ppm = 300000};
    static const struct {
        uint64_t kind;
        uint64_t tally[3];
        uint32_t n;
        uint64_t turnout;
        const char *status;
        int winner; /* -1 none */
    } rows[] = {
        {1, {3, 0}, 2, 3, "passed", 0},    {1, {2, 0}, 2, 2, "rejected", 0}, /* below quorum */
        {1, {2, 2}, 2, 4, "rejected", -1},                                   /* tie is not a yes */
        {2, {1, 5}, 2, 6, "rejected", 1},  {3, {7, 3}, 2, 10, "passed", 0}, /* exactly 30% reject */
        {3, {6, 4}, 2, 10, "rejected", 0}, /* 40% reject, approve still ahead */
        {3, {0, 0}, 2, 0, "passed", -1},   /* nobody reviewed */
        {5, {1, 4, 4}, 3, 9, "tied", -1},  {5, {1, 4, 3}, 3, 8, "passed", 1},
        {7, {0, 0, 0}, 3, 0, "tied", -1},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        gov_proposal p;
        memset(&p, 0, sizeof p);
        p.kind = rows[r].kind;
        p.n_options = rows[r].n;
        p.turnout = rows[r].turnout;
        memcpy(p.tally, rows[r].tally, sizeof rows[r].tally);
        gov_outcome(&vp, &p);
        cr_expect_str_eq(gov_pstatus_name(p.status), rows[r].status, "row %zu", r);
        cr_expect_eq(p.has_winner ? (int)p.winner : -1, rows[r].winner, "row %zu", r);
    }
}

/* ---- credit statuses and suspensions ---- */

Test(gov_time, points_suspend_at_zero_and_lift_by_adjustment) {
    gt *t = fx(2, false);
    uint64_t rt = 30 * DAY_MS;
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 0, -20, 4));
    json_t *ev = gt_event(t->ev[0], "controller_status", 0);
    cr_assert_not_null(ev);
    cr_expect_str_eq(jstr(ev, "from"), "normal");
    cr_expect_str_eq(jstr(ev, "to"), "suspended");
    cr_expect_eq(gt_score(t, "ctl-a"), 0, "clamped at 0");
    json_t *c = gt_controller(t, "ctl-a");
    cr_expect(json_is_null(json_object_get(c, "suspended_until")), "points: no end time");
    json_decref(c);
    cr_expect_eq(gt_run(t, tx_release(t, T_U(1), "r1", "ip-a", t->time + rt)), 10);
    /* Time alone never lifts a points suspension. */
    gt_tick(t, 400 * DAY_MS);
    gt_expect_cstatus(t, "ctl-a", "suspended");
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 0, 1, 1));
    ev = gt_event(t->ev[0], "controller_status", 0);
    cr_assert_not_null(ev);
    cr_expect_str_eq(jstr(ev, "to"), "normal");
    GT_OK(t, tx_release(t, T_U(1), "r1", "ip-a", t->time + rt));
    gt_free(t);
}

Test(gov_time, composite_statuses) {
    gt *t = fx(2, true);
    gt_expect_cstatus(t, "ctl-a", "normal");             /* 80 */
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 1, 20, 1)); /* 45 + 28 + 16 = 89 */
    gt_expect_cstatus(t, "ctl-a", "pioneer");
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 3, 20, 1)); /* 45 + 28 + 20 = 93 */
    gt_expect_cstatus(t, "ctl-a", "whitelist");
    cr_expect_eq(gt_score(t, "ctl-a"), 93);
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 2, -70, 1)); /* 45 + 3.5 + 20 = 68 */
    cr_expect_eq(gt_score(t, "ctl-a"), 68);
    gt_expect_cstatus(t, "ctl-a", "watch");
    gt_free(t);
}

Test(gov_time, composite_suspension_lifts_when_time_runs_out) {
    gt *t = fx(2, true);
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 1, -80, 1)); /* 0 + 28 + 16 = 44 */
    uint64_t until = t->time + 180 * DAY_MS;
    json_t *c = gt_controller(t, "ctl-a");
    cr_expect_str_eq(jstr(c, "status"), "suspended");
    cr_expect_eq(jint(c, "suspended_until"), (long long)until);
    json_decref(c);
    cr_expect_eq(gt_run(t, tx_release(t, T_U(1), "r1", "ip-b", t->time + 8 * DAY_MS)), 0,
                 "another controller is unaffected");
    /* Back above the line early: still suspended until the time runs out. */
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 1, 60, 1)); /* 27 + 28 + 16 = 71 */
    gt_expect_cstatus(t, "ctl-a", "suspended");
    t->time = until - 1 - 1000;
    gt_tick(t, 1000);
    gt_expect_cstatus(t, "ctl-a", "suspended");
    gt_tick(t, 1);
    json_t *ev = gt_event(t->begin, "controller_status", 0);
    cr_assert_not_null(ev);
    cr_expect_str_eq(jstr(ev, "to"), "normal");
    c = gt_controller(t, "ctl-a");
    cr_expect(json_is_null(json_object_get(c, "suspended_until")));
    json_decref(c);
    GT_OK(t, tx_release(t, T_U(1), "r2", "ip-a", t->time + 8 * DAY_MS));
    gt_free(t);
}

Test(gov_time, composite_suspension_waits_for_the_score) {
    gt *t = fx(2, true);
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 1, -80, 1));
    gt_tick(t, 181 * DAY_MS);
    cr_expect_null(gt_event(t->begin, "controller_status", 0));
    gt_expect_cstatus(t, "ctl-a", "suspended");
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 1, 10, 1)); /* 4.5 + 44 = 48 */
    gt_expect_cstatus(t, "ctl-a", "suspended");
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 1, 20, 1)); /* 13.5 + 44 = 57 */
    json_t *ev = gt_event(t->ev[0], "controller_status", 0);
    cr_assert_not_null(ev);
    cr_expect_str_eq(jstr(ev, "to"), "watch");
    gt_free(t);
}

Test(gov_time, distrust_in_composite_moves_the_score) {
    gt *t = fx(4, true);
    uint8_t id[32];
    create(t, tx_distrust(t, T_U(0), 1, "ctl-a"), id);
    GT_OK(t, tx_cosign(t, T_U(1), id));
    GT_OK(t, tx_cosign(t, T_U(2), id));
    for (int u = 0; u < 3; u++) GT_OK(t, tx_vote(t, T_U(u), id, 1, 0));
    gt_tick(t, 3 * DAY_MS);
    cr_expect_eq(gt_score(t, "ctl-a"), 75, "every component moved by -5");
    gt_free(t);
}

/* ---- deterministic closing order and many at once ---- */

Test(gov_time, closing_order_is_time_then_id) {
    gt *t = fx(1, false);
    gz_tx *txs[6];
    uint8_t ids[6][32];
    for (int i = 0; i < 6; i++) {
        char subject[8];
        snprintf(subject, sizeof subject, "s%d", i);
        txs[i] = tx_proposal(t, T_GOV, 7, subject, AB, 0, 0, 1, i < 3 ? 5000 : 4000);
        gt_id(t, txs[i], ids[i]);
    }
    int codes[6];
    gt_block(t, 1000, txs, 6, codes);
    gt_tick(t, 10000);
    cr_assert_eq(json_array_size(t->begin), 6);
    /* Expected: the three closing at +4000 by id, then the three at +5000 by id. */
    const uint8_t *order[6];
    for (int g = 0; g < 2; g++) {
        const uint8_t *grp[3];
        for (int i = 0; i < 3; i++) grp[i] = ids[(g == 0 ? 3 : 0) + i];
        for (int a = 0; a < 3; a++) {
            for (int b = a + 1; b < 3; b++) {
                if (memcmp(grp[b], grp[a], 32) < 0) {
                    const uint8_t *tmp = grp[a];
                    grp[a] = grp[b];
                    grp[b] = tmp;
                }
            }
        }
        for (int i = 0; i < 3; i++) order[g * 3 + i] = grp[i];
    }
    for (int i = 0; i < 6; i++) {
        char hex[65];
        gt_hex(hex, order[i]);
        cr_expect_str_eq(jstr(gt_event(t->begin, "proposal_closed", i), "proposal_id"), hex,
                         "closing %d", i);
    }
    gt_free(t);
}

Test(gov_time, more_due_than_one_batch) {
    gt *t = fx(1, false);
    enum { N = GOV_DUE_BATCH * 2 + 3 };
    gz_tx *txs[N];
    for (int i = 0; i < N; i++) {
        char subject[8];
        snprintf(subject, sizeof subject, "s%d", i);
        txs[i] = tx_proposal(t, T_GOV, 7, subject, AB, 0, 0, 1, 1000 + (uint64_t)(i % 5));
    }
    int codes[N];
    gt_block(t, 1000, txs, N, codes);
    gt_tick(t, 5000);
    cr_expect_eq(json_array_size(t->begin), N);
    json_t *page = NULL;
    gz_msg msg;
    cr_assert_eq(ledger_query_proposals(t->l, "open", 0, 10, NULL, &page, &msg), GZ_OK);
    cr_expect_eq(json_array_size(json_object_get(page, "proposals")), 0);
    json_decref(page);
    gt_free(t);
}

/* ---- the proposals query ---- */

Test(gov_time, proposals_query_filters_and_pages) {
    gt *t = fx(3, false);
    enum { N = 9 };
    gz_tx *txs[N];
    uint8_t ids[N][32];
    for (int i = 0; i < N; i++) {
        char subject[8];
        snprintf(subject, sizeof subject, "s%d", i);
        txs[i] =
            tx_proposal(t, T_GOV, i % 2 ? 5 : 7, subject, AB, 0, 0, 1, i < 4 ? 2000 : 100 * DAY_MS);
        gt_id(t, txs[i], ids[i]);
    }
    int codes[N];
    gt_block(t, 1000, txs, N, codes);
    gt_tick(t, 5000); /* the first four close tied */
    gz_msg msg;
    json_t *page = NULL;
    /* Every proposal, three at a time, in id order, following `next`. */
    uint8_t after[32];
    bool has_after = false;
    char prev[65] = "";
    size_t seen = 0;
    for (int round = 0; round < 5; round++) {
        cr_assert_eq(
            ledger_query_proposals(t->l, NULL, 0, 3, has_after ? after : NULL, &page, &msg), GZ_OK,
            "%s", msg.text);
        json_t *list = json_object_get(page, "proposals");
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p) {
            cr_expect_gt(strcmp(jstr(p, "proposal_id"), prev), 0, "ascending ids");
            snprintf(prev, sizeof prev, "%s", jstr(p, "proposal_id"));
            seen++;
        }
        json_t *next = json_object_get(page, "next");
        has_after = json_is_string(next);
        if (has_after) cr_assert_eq(gz_hex_decode(after, 32, json_string_value(next)), GZ_OK);
        json_decref(page);
        if (!has_after) break;
    }
    cr_expect_eq(seen, N);
    cr_assert_eq(ledger_query_proposals(t->l, "tied", 0, 100, NULL, &page, &msg), GZ_OK);
    cr_expect_eq(json_array_size(json_object_get(page, "proposals")), 4);
    json_decref(page);
    cr_assert_eq(ledger_query_proposals(t->l, "open", 5, 100, NULL, &page, &msg), GZ_OK);
    size_t want = 0;
    for (int i = 4; i < N; i++) want += i % 2;
    cr_expect_eq(json_array_size(json_object_get(page, "proposals")), want);
    json_t *p;
    size_t i;
    json_array_foreach(json_object_get(page, "proposals"), i, p) {
        cr_expect_eq(jint(p, "kind"), 5);
        cr_expect_str_eq(jstr(p, "status"), "open");
    }
    json_decref(page);
    cr_assert_eq(ledger_query_proposals(t->l, NULL, 7, 100, NULL, &page, &msg), GZ_OK);
    cr_expect_eq(json_array_size(json_object_get(page, "proposals")), 5);
    cr_expect(json_is_null(json_object_get(page, "next")));
    json_decref(page);
    cr_expect_eq(ledger_query_proposals(t->l, "closed", 0, 10, NULL, &page, &msg), GZ_EARG);
    cr_expect_null(page);
    cr_expect_neq(strstr(msg.text, "status"), NULL);
    cr_expect_eq(ledger_query_proposals(t->l, NULL, 8, 10, NULL, &page, &msg), GZ_EARG);
    cr_expect_eq(ledger_query_proposals(t->l, NULL, 0, 0, NULL, &page, &msg), GZ_EARG);
    cr_expect_eq(ledger_query_proposals(t->l, NULL, 0, GZ_PAGE_LIMIT_MAX + 1, NULL, &page, &msg),
                 GZ_EARG);
    gt_free(t);
}

Test(gov_time, deadlines_survive_reopening_the_store) {
    gt *t = fx(2, true);
    uint8_t id[32];
    create(t, tx_proposal(t, T_GOV, 7, "g", AB, 0, 0, 1, 5000), id);
    GT_OK(t, tx_vote(t, T_U(0), id, 1, 1));
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 1, -80, 1));
    GT_OK(t, tx_credit(t, T_CREDIT, "ctl-a", 1, 60, 1));
    json_t *c = gt_controller(t, "ctl-a");
    uint64_t until = (uint64_t)jint(c, "suspended_until");
    json_decref(c);
    ledger_close(t->l);
    gz_msg msg;
    gz_msg_clear(&msg);
    cr_assert_eq(ledger_open(&t->l, t->s, &t->g, &msg), GZ_OK, "%s", msg.text);
    gt_tick(t, 5000);
    gt_expect_pstatus(t, id, "passed");
    t->time = until - 2;
    gt_tick(t, 1);
    gt_expect_cstatus(t, "ctl-a", "suspended");
    gt_tick(t, 1);
    gt_expect_cstatus(t, "ctl-a", "normal");
    gt_free(t);
}
