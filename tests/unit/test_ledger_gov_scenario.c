/* The platform's story end to end, with really signed txs (signed, encoded,
 * decoded and checked as a node does) executed through the ledger's block API
 * on a memory store, checking the state through the queries after each step:
 *
 *   an issuer floods low-quality releases; 20 whale holders co-sign a distrust
 *   vote; eligible voters pass it; the controller's credit falls to zero and
 *   both of its IPs are refused new releases; another release draws more than
 *   30% reject in pre-review and is delayed; a board vote marks controllers
 *   recommended or spurred; a DAO vote fixes a price; a sale is split between
 *   creator, platform and community fund; a reward pool pays the members who
 *   voted. */
#include "tests/unit/test_ledger_gov_kit.h"

enum {
    WHALES = 25, /* W(0..24): class whale; W(0..14) at LV8, the rest LV3 */
    REVIEWERS = 10,
    U_FLOOD = WHALES + REVIEWERS, /* creator behind ip-flood (controller studio-x) */
    U_TWIN,                       /* creator behind ip-twin (also studio-x) */
    U_GOOD,                       /* creator behind ip-good (studio-g) */
    U_FINE,                       /* creator behind ip-fine (studio-f) */
    U_PLATFORM,
    U_FUND,
    U_FAN, /* LV3, no class: not eligible for community votes */
    N_USERS
};
#define W(i) T_U(i)
#define R(i) T_U(WHALES + (i))

static void run_all_ok(gt *t, gz_tx **txs, size_t n, const char *step) {
    int codes[GT_BLOCK_MAX];
    gt_block(t, 1000, txs, n, codes);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(codes[i], 0, "%s: tx %zu: code %d: %s", step, i, codes[i], t->msg[i]);
    }
}

static gt *world(void) {
    gt *t = gt_new(N_USERS);
    t->sign = true;
    for (int i = 0; i < WHALES; i++) gt_user(t, (size_t)i, i < 15 ? 8 : 3, 1);
    for (int i = 0; i < REVIEWERS; i++) gt_user(t, (size_t)WHALES + (size_t)i, 8, 0);
    for (int u = U_FLOOD; u <= U_FINE; u++) gt_user(t, (size_t)u, 4, 8);
    gt_user(t, U_FAN, 3, 0);
    gt_open(t);
    gz_tx *txs[] = {
        tx_issuer(t, T_REG, "ip-flood", "studio-x", T_U(U_FLOOD), "Flood Works"),
        tx_issuer(t, T_REG, "ip-twin", "studio-x", T_U(U_TWIN), "Twin Works"),
        tx_issuer(t, T_REG, "ip-good", "studio-g", T_U(U_GOOD), "Good Works"),
        tx_issuer(t, T_REG, "ip-fine", "studio-f", T_U(U_FINE), "Fine Works"),
    };
    run_all_ok(t, txs, 4, "issuers");
    json_t *c = gt_controller(t, "studio-x");
    cr_assert_eq(jint(c, "score"), 10);
    cr_assert_str_eq(jstr(c, "status"), "normal");
    cr_assert_eq(json_array_size(json_object_get(c, "issuers")), 2, "two IPs, one credit record");
    json_decref(c);
    return t;
}

/* Step 1: the flood, and the officer's quantified penalty for it. */
static void flood(gt *t) {
    gz_tx *txs[3];
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof id, "flood-%d", i + 1);
        txs[i] = tx_release(t, T_U(U_FLOOD), id, "ip-flood", t->time + 1000 + 7 * DAY_MS);
    }
    run_all_ok(t, txs, 3, "flood");
    json_t *r = gt_release(t, "flood-3");
    cr_assert_str_eq(jstr(r, "status"), "pre_review");
    json_decref(r);
    /* Reason 3 allows -10..-5: the officer cannot make it -4 or -11. */
    cr_assert_eq(gt_run(t, tx_credit(t, T_CREDIT, "studio-x", 0, -4, 3)), 9);
    GT_OK(t, tx_credit(t, T_CREDIT, "studio-x", 0, -5, 3));
    json_t *ev = gt_event(t->ev[0], "credit", 0);
    cr_assert_not_null(ev);
    cr_assert_eq(jint(ev, "score"), 5);
    cr_assert_eq(gt_score(t, "studio-x"), 5);
}

/* Steps 2-3: 20 whales co-sign; eligible voters pass the distrust vote. */
static void distrust(gt *t, uint8_t id[32]) {
    gz_tx *tx = tx_distrust(t, W(0), 1, "studio-x");
    gt_id(t, tx, id);
    GT_OK(t, tx);
    gz_tx *txs[GT_BLOCK_MAX];
    size_t n = 0;
    for (int i = 1; i < 19; i++) txs[n++] = tx_cosign(t, W(i), id);
    run_all_ok(t, txs, n, "cosign 2..19");
    json_t *p = gt_proposal(t, id);
    cr_assert_str_eq(jstr(p, "status"), "cosigning");
    cr_assert_eq(jint(p, "cosigners_count"), 19);
    json_decref(p);
    cr_assert_eq(gt_run(t, tx_cosign(t, T_U(U_FAN), id)), 6, "a fan cannot co-sign");
    GT_OK(t, tx_cosign(t, W(19), id));
    cr_assert_not_null(gt_event(t->ev[0], "proposal_opened", 0), "the 20th co-signer opens it");
    p = gt_proposal(t, id);
    cr_assert_str_eq(jstr(p, "status"), "open");
    cr_assert_eq(json_array_size(json_object_get(p, "cosigners")), 20);
    json_decref(p);
    n = 0;
    for (int i = 0; i < 22; i++) txs[n++] = tx_vote(t, W(i), id, 1, 0);
    txs[n++] = tx_vote(t, W(22), id, 1, 1);
    txs[n++] = tx_vote(t, W(23), id, 1, 1);
    txs[n++] = tx_vote(t, R(0), id, 1, 1); /* LV8: eligible by level */
    run_all_ok(t, txs, n, "distrust votes");
    cr_assert_eq(gt_run(t, tx_vote(t, T_U(U_FAN), id, 1, 1)), 6, "LV3 without a class");
    /* A whale changes its mind: only the latest vote counts. */
    GT_OK(t, tx_vote(t, W(23), id, 1, 0));
    p = gt_proposal(t, id);
    json_t *tally = json_object_get(p, "tally");
    cr_assert_eq(json_integer_value(json_array_get(tally, 0)), 23);
    cr_assert_eq(json_integer_value(json_array_get(tally, 1)), 2);
    cr_assert_eq(jint(p, "turnout"), 25);
    json_decref(p);
}

/* Step 4: closing drops the credit to zero; both IPs of studio-x are refused. */
static void distrust_closes(gt *t, const uint8_t id[32]) {
    gt_tick(t, 3 * DAY_MS);
    gt_expect_pstatus(t, id, "passed");
    json_t *ev = gt_event(t->begin, "credit", 0);
    cr_assert_not_null(ev, "the community vote's delta is applied at close");
    cr_assert_eq(jint(ev, "reason"), 8);
    json_t *st = gt_event(t->begin, "controller_status", 0);
    cr_assert_not_null(st);
    cr_assert_str_eq(jstr(st, "to"), "suspended");
    json_t *c = gt_controller(t, "studio-x");
    cr_assert_eq(jint(c, "score"), 0);
    cr_assert_str_eq(jstr(c, "status"), "suspended");
    json_decref(c);
    json_t *is = NULL;
    cr_assert_eq(ledger_query_issuer(t->l, "ip-twin", &is), GZ_OK);
    cr_assert_str_eq(jstr(json_object_get(is, "credit"), "status"), "suspended");
    json_decref(is);
    uint64_t rt = t->time + 1000 + 8 * DAY_MS;
    cr_assert_eq(gt_run(t, tx_release(t, T_U(U_FLOOD), "flood-4", "ip-flood", rt)), 10);
    cr_assert_eq(gt_run(t, tx_release(t, T_U(U_TWIN), "twin-1", "ip-twin", rt)), 10);
}

/* Step 5: 4 of 10 reviewers reject a release: it is delayed. */
static void pre_review(gt *t) {
    uint64_t rt = t->time + 1000 + 7 * DAY_MS;
    gz_tx *tx = tx_release(t, T_U(U_GOOD), "good-1", "ip-good", rt);
    uint8_t id[32];
    gt_id(t, tx, id);
    GT_OK(t, tx);
    gz_tx *txs[REVIEWERS];
    for (int i = 0; i < REVIEWERS; i++) txs[i] = tx_vote(t, R(i), id, 1, i < 4 ? 1u : 0u);
    run_all_ok(t, txs, REVIEWERS, "reviews");
    cr_assert_eq(gt_run(t, tx_vote(t, W(20), id, 1, 1)), 6, "reviewers need LV8");
    t->time = rt - 1;
    gt_tick(t, 1);
    gt_expect_pstatus(t, id, "rejected");
    json_t *r = gt_release(t, "good-1");
    cr_assert_str_eq(jstr(r, "status"), "delayed");
    json_decref(r);
}

/* Step 6: approval voting ranks the studios. */
static void board(gt *t) {
    static const char *const STUDIOS[] = {"studio-g", "studio-f", "studio-x", NULL};
    gz_tx *tx = tx_proposal(t, T_GOV, 4, "board-2026-01", STUDIOS, 8, 0, 1, 2 * DAY_MS);
    uint8_t id[32];
    gt_id(t, tx, id);
    GT_OK(t, tx);
    gz_tx *txs[6];
    for (int i = 0; i < 6; i++)
        txs[i] = i < 3 ? tx_vote(t, R(i), id, 2, 0, 1) : tx_vote(t, R(i), id, 1, 1);
    run_all_ok(t, txs, 6, "board votes");
    gt_tick(t, 2 * DAY_MS);
    static const char *const want[] = {"spurred", "recommended", "spurred"};
    for (int i = 0; i < 3; i++) {
        json_t *c = gt_controller(t, STUDIOS[i]);
        json_t *marks = json_object_get(c, "board");
        cr_assert_eq(json_array_size(marks), 1, "%s", STUDIOS[i]);
        cr_assert_str_eq(jstr(json_array_get(marks, 0), "mark"), want[i], "%s", STUDIOS[i]);
        json_decref(c);
    }
}

/* Step 7: quota holders fix the price of the next release by gov_tokens. */
static void dao_price(gt *t, uint8_t id[32]) {
    gz_tx *grants[5];
    for (int i = 0; i < 5; i++) grants[i] = tx_grant(t, W(i), 100 * (uint64_t)(i + 1), 1);
    run_all_ok(t, grants, 5, "grants");
    static const char *const PRICES[] = {"8800", "9900", "12800", NULL};
    gz_tx *tx = tx_proposal(t, T_GOV, 5, "price/good-2", PRICES, 0, 1, 2, DAY_MS);
    gt_id(t, tx, id);
    GT_OK(t, tx);
    static const unsigned choice[5] = {0, 1, 1, 2, 1};
    gz_tx *txs[5];
    for (int i = 0; i < 5; i++) txs[i] = tx_vote(t, W(i), id, 1, choice[i]);
    run_all_ok(t, txs, 5, "price votes");
    cr_assert_eq(gt_run(t, tx_vote(t, W(5), id, 1, 0)), 6, "a whale without quota weighs 0");
    gt_tick(t, DAY_MS);
    json_t *p = gt_proposal(t, id);
    cr_assert_str_eq(jstr(p, "status"), "passed");
    json_t *tally = json_object_get(p, "tally");
    cr_assert_eq(json_integer_value(json_array_get(tally, 0)), 100);
    cr_assert_eq(json_integer_value(json_array_get(tally, 1)), 1000);
    cr_assert_eq(json_integer_value(json_array_get(tally, 2)), 400);
    long long winner = jint(p, "winner");
    cr_assert_eq(winner, 1);
    uint64_t price = strtoull(
        json_string_value(json_array_get(json_object_get(p, "options"), (size_t)winner)), NULL, 10);
    json_decref(p);
    tx = tx_release(t, T_U(U_GOOD), "good-2", "ip-good", t->time + 1000 + 7 * DAY_MS);
    tx->p.release_announce.price = price;
    GT_OK(t, tx);
    json_t *r = gt_release(t, "good-2");
    cr_assert_eq(jint(r, "price"), 9900);
    json_decref(r);
}

/* Step 8: a sale of three pieces split 70/20/10. */
static void sale(gt *t) {
    gz_tx *tx = gt_tx(t, T_U(U_GOOD), GZ_TX_SPLIT_SET);
    gz_p_split_set *s = &tx->p.split_set;
    snprintf(s->split_id, sizeof s->split_id, "good-2-split");
    static const int who[3] = {U_GOOD, U_PLATFORM, U_FUND};
    static const uint64_t ppm[3] = {700000, 200000, 100000};
    for (int i = 0; i < 3; i++) {
        memcpy(s->recipients[i].account, t->pub[T_U(who[i])], 32);
        s->recipients[i].share_ppm = ppm[i];
    }
    s->n_recipients = 3;
    s->is_mutable = false;
    GT_OK(t, tx);
    tx = gt_tx(t, T_TREAS, GZ_TX_REVENUE);
    snprintf(tx->p.revenue.split_id, sizeof tx->p.revenue.split_id, "good-2-split");
    tx->p.revenue.amount = (uint64_t)3 * 9900;
    snprintf(tx->p.revenue.sale_ref, sizeof tx->p.revenue.sale_ref, "order-0001");
    GT_OK(t, tx);
    cr_assert_eq(gt_account_field(t, T_U(U_GOOD), "balance"), 20790);
    cr_assert_eq(gt_account_field(t, T_U(U_PLATFORM), "balance"), 5940);
    cr_assert_eq(gt_account_field(t, T_U(U_FUND), "balance"), 2970);
}

/* Step 9: the members who voted in both community votes share the pool by quota. */
static void reward(gt *t, const uint8_t distrust_id[32], const uint8_t dao_id[32]) {
    uint8_t ids[2][32];
    memcpy(ids[0], distrust_id, 32);
    memcpy(ids[1], dao_id, 32);
    long long before[WHALES];
    for (int i = 0; i < WHALES; i++) before[i] = gt_account_field(t, W(i), "balance");
    GT_OK(t, tx_pool(t, T_TREAS, "gov-2026-01", 100000, (const uint8_t(*)[32])ids, 2));
    /* 100000 by tokens 100..500 (of 1500): floors 6666, 13333, 20000, 26666,
     * 33333 and the two remaining fen to the largest remainders (W0 and W3). */
    static const long long want[5] = {6667, 13333, 20000, 26667, 33333};
    long long sum = 0;
    for (int i = 0; i < WHALES; i++) {
        long long got = gt_account_field(t, W(i), "balance") - before[i];
        cr_assert_eq(got, i < 5 ? want[i] : 0, "whale %d", i);
        sum += got;
    }
    cr_assert_eq(sum, 100000);
    cr_assert_eq(gt_run(t, tx_pool(t, T_TREAS, "gov-2026-01", 5, (const uint8_t(*)[32])ids, 2)), 8,
                 "a pool pays once");
}

Test(gov_scenario, platform_story, .timeout = 60) {
    gt *t = world();
    flood(t);
    uint8_t distrust_id[32];
    distrust(t, distrust_id);
    distrust_closes(t, distrust_id);
    pre_review(t);
    board(t);
    uint8_t dao_id[32];
    dao_price(t, dao_id);
    sale(t);
    reward(t, distrust_id, dao_id);
    /* The record of it all: every community vote is listed, none left open
     * except the pre-review of good-2. */
    json_t *page = NULL;
    gz_msg msg;
    cr_assert_eq(ledger_query_proposals(t->l, "open", 0, 100, NULL, &page, &msg), GZ_OK);
    json_t *open = json_object_get(page, "proposals");
    cr_assert_eq(json_array_size(open), 1);
    cr_assert_str_eq(jstr(json_array_get(open, 0), "subject"), "good-2");
    json_decref(page);
    cr_assert_eq(ledger_query_proposals(t->l, NULL, 1, 100, NULL, &page, &msg), GZ_OK);
    cr_assert_eq(json_array_size(json_object_get(page, "proposals")), 1);
    json_decref(page);
    gt_free(t);
}
