/* Table-driven tests of the governance tx types: for each type, every result
 * code a payload or a signer can get, each row on a fresh ledger. */
#include "tests/unit/test_ledger_gov_kit.h"

/* Users of the fixture. */
enum { WHALE = 0, WHALE_LOW, COLLECTOR, NOBODY, OWNER, LV8, PFPER, N_USERS };

static gt *fx_base(bool composite) {
    gt *t = gt_new(N_USERS);
    gt_user(t, WHALE, 10, 1);
    gt_user(t, WHALE_LOW, 5, 1);
    gt_user(t, COLLECTOR, 3, 2);
    gt_user(t, NOBODY, 0, 0);
    gt_user(t, OWNER, 9, 8);
    gt_user(t, LV8, 8, 0);
    gt_user(t, PFPER, 2, 64);
    t->g.policy.votes.cosigners_required = 3;
    t->g.policy.votes.distrust_quorum = 2;
    if (composite) gt_composite(t);
    gt_open(t);
    gz_tx *txs[] = {
        tx_issuer(t, T_REG, "ip-a", "ctl-a", T_U(OWNER), "IP A"),
        tx_issuer(t, T_REG, "ip-b", "ctl-b", T_U(OWNER), "IP B"),
        tx_issuer(t, T_REG, "ip-s", "ctl-s", T_U(OWNER), "IP S"),
        tx_grant(t, T_U(WHALE), 100, 1),
        tx_grant(t, T_U(LV8), 50, 1),
    };
    int codes[5];
    gt_block(t, 1000, txs, 5, codes);
    for (int i = 0; i < 5; i++) cr_assert_eq(codes[i], 0, "fixture tx %d: %s", i, t->msg[i]);
    return t;
}

#define ROWS(a) (sizeof(a) / sizeof((a)[0]))

static void expect_code(gt *t, int code, int want, const char *name) {
    cr_expect_eq(code, want, "row %s: code %d, want %d (%s)", name, code, want, t->msg[0]);
    if (want != 0) cr_expect_neq(t->msg[0][0], '\0', "row %s: a rejection has a message", name);
}

/* ---- ISSUER_SET ---- */

static const struct {
    const char *name;
    int signer;
    const char *issuer;
    const char *ctl;
    int owner;
    const char *label;
    int code;
} ISSUER_ROWS[] = {
    {"new issuer, existing controller", T_REG, "ip-c", "ctl-a", T_U(OWNER), "C", 0},
    {"new issuer, new controller", T_REG, "ip-c", "ctl-new", T_U(WHALE), "C", 0},
    {"update name and owner", T_REG, "ip-a", "ctl-a", T_U(WHALE), "A renamed", 0},
    {"not the registrar", T_U(WHALE), "ip-c", "ctl-a", T_U(OWNER), "C", 5},
    {"governor is not registrar", T_GOV, "ip-c", "ctl-a", T_U(OWNER), "C", 5},
    {"owner not registered", T_REG, "ip-c", "ctl-a", T_STRANGER, "C", 7},
    {"move to another controller", T_REG, "ip-a", "ctl-b", T_U(OWNER), "A", 10},
    {"empty issuer id", T_REG, "", "ctl-a", T_U(OWNER), "C", 12},
    {"empty controller id", T_REG, "ip-c", "", T_U(OWNER), "C", 12},
    {"empty name", T_REG, "ip-c", "ctl-a", T_U(OWNER), "", 12},
};

Test(gov_tx, issuer_set) {
    for (size_t i = 0; i < ROWS(ISSUER_ROWS); i++) {
        gt *t = fx_base(false);
        int code =
            gt_run(t, tx_issuer(t, ISSUER_ROWS[i].signer, ISSUER_ROWS[i].issuer, ISSUER_ROWS[i].ctl,
                                ISSUER_ROWS[i].owner, ISSUER_ROWS[i].label));
        expect_code(t, code, ISSUER_ROWS[i].code, ISSUER_ROWS[i].name);
        gt_free(t);
    }
}

Test(gov_tx, issuer_set_effects) {
    gt *t = fx_base(false);
    GT_OK(t, tx_issuer(t, T_REG, "ip-a", "ctl-a", T_U(WHALE), "A renamed"));
    json_t *o = NULL;
    cr_assert_eq(ledger_query_issuer(t->l, "ip-a", &o), GZ_OK);
    cr_expect_str_eq(jstr(o, "name"), "A renamed");
    cr_expect_str_eq(jstr(o, "controller_id"), "ctl-a");
    char hex[65];
    gt_hex(hex, t->pub[T_U(WHALE)]);
    cr_expect_str_eq(jstr(o, "owner"), hex);
    cr_expect_eq(jint(json_object_get(o, "credit"), "score"), 10);
    json_decref(o);
    /* A new controller is created with the initial credit and lists its issuers. */
    GT_OK(t, tx_issuer(t, T_REG, "ip-x", "ctl-x", T_U(OWNER), "X"));
    cr_expect_not_null(gt_event(t->ev[0], "controller", 0));
    GT_OK(t, tx_issuer(t, T_REG, "ip-y", "ctl-x", T_U(OWNER), "Y"));
    cr_expect_null(gt_event(t->ev[0], "controller", 0), "the controller exists already");
    o = gt_controller(t, "ctl-x");
    cr_expect_eq(jint(o, "score"), 10);
    cr_expect_str_eq(jstr(o, "status"), "normal");
    json_t *iss = json_object_get(o, "issuers");
    cr_assert_eq(json_array_size(iss), 2);
    cr_expect_str_eq(json_string_value(json_array_get(iss, 0)), "ip-x");
    cr_expect_str_eq(json_string_value(json_array_get(iss, 1)), "ip-y");
    json_decref(o);
    cr_expect_eq(ledger_query_issuer(t->l, "ip-none", &o), GZ_ENOTFOUND);
    cr_expect_eq(ledger_query_controller(t->l, "ctl-none", &o), GZ_ENOTFOUND);
    gt_free(t);
}

/* ---- CREDIT_ADJUST (policy reasons 1: [-5, 5], 3: [-10, -5], 4: [-20, -20]) ---- */

static const struct {
    const char *name;
    int signer;
    const char *ctl;
    uint64_t component;
    int64_t delta;
    uint64_t reason;
    int code;
} CREDIT_POINTS_ROWS[] = {
    {"ok", T_CREDIT, "ctl-a", 0, -3, 1, 0},
    {"ok at the upper bound", T_CREDIT, "ctl-a", 0, 5, 1, 0},
    {"ok fixed penalty", T_CREDIT, "ctl-a", 0, -20, 4, 0},
    {"not the credit officer", T_REG, "ctl-a", 0, -3, 1, 5},
    {"a whale is no officer", T_U(WHALE), "ctl-a", 0, -3, 1, 5},
    {"unknown controller", T_CREDIT, "ctl-none", 0, -3, 1, 7},
    {"issuer id is not a controller id", T_CREDIT, "ip-a", 0, -3, 1, 7},
    {"over the reason's max", T_CREDIT, "ctl-a", 0, 6, 1, 9},
    {"under the reason's min", T_CREDIT, "ctl-a", 0, -11, 3, 9},
    {"between bounds of another reason", T_CREDIT, "ctl-a", 0, -4, 3, 9},
    {"fixed penalty other amount", T_CREDIT, "ctl-a", 0, -19, 4, 9},
    {"component in the points model", T_CREDIT, "ctl-a", 1, -3, 1, 12},
    {"zero delta", T_CREDIT, "ctl-a", 0, 0, 1, 12},
    {"reason without bounds", T_CREDIT, "ctl-a", 0, -3, 2, 12},
    {"reason 8 is for votes", T_CREDIT, "ctl-a", 0, -3, 8, 12},
};

static const struct {
    const char *name;
    uint64_t component;
    int64_t delta;
    uint64_t reason;
    int code;
} CREDIT_COMPOSITE_ROWS[] = {
    {"quality", 1, -5, 1, 0},      {"satisfaction", 2, 5, 1, 0},  {"compliance", 3, -10, 3, 0},
    {"component 0", 0, -5, 1, 12}, {"component 4", 4, -5, 1, 12}, {"out of bounds", 2, -6, 1, 9},
};

Test(gov_tx, credit_adjust_points) {
    for (size_t i = 0; i < ROWS(CREDIT_POINTS_ROWS); i++) {
        gt *t = fx_base(false);
        int code = gt_run(t, tx_credit(t, CREDIT_POINTS_ROWS[i].signer, CREDIT_POINTS_ROWS[i].ctl,
                                       CREDIT_POINTS_ROWS[i].component, CREDIT_POINTS_ROWS[i].delta,
                                       CREDIT_POINTS_ROWS[i].reason));
        expect_code(t, code, CREDIT_POINTS_ROWS[i].code, CREDIT_POINTS_ROWS[i].name);
        /* Clamped to [0, 10]; a failed adjustment changes nothing. */
        long long want = 10;
        if (code == 0) want += CREDIT_POINTS_ROWS[i].delta;
        want = want < 0 ? 0 : want > 10 ? 10 : want;
        cr_expect_eq(gt_score(t, "ctl-a"), want, "row %s", CREDIT_POINTS_ROWS[i].name);
        gt_free(t);
    }
}

Test(gov_tx, credit_adjust_composite) {
    for (size_t i = 0; i < ROWS(CREDIT_COMPOSITE_ROWS); i++) {
        gt *t = fx_base(true);
        int code =
            gt_run(t, tx_credit(t, T_CREDIT, "ctl-a", CREDIT_COMPOSITE_ROWS[i].component,
                                CREDIT_COMPOSITE_ROWS[i].delta, CREDIT_COMPOSITE_ROWS[i].reason));
        expect_code(t, code, CREDIT_COMPOSITE_ROWS[i].code, CREDIT_COMPOSITE_ROWS[i].name);
        json_t *o = gt_controller(t, "ctl-a");
        json_t *c = json_object_get(o, "components");
        static const char *const names[] = {"quality", "satisfaction", "compliance"};
        long long sum = 0;
        for (uint64_t k = 0; k < 3; k++) {
            long long want = 80;
            if (code == 0 && CREDIT_COMPOSITE_ROWS[i].component == k + 1) {
                want += CREDIT_COMPOSITE_ROWS[i].delta;
            }
            cr_expect_eq(jint(c, names[k]), want, "row %s %s", CREDIT_COMPOSITE_ROWS[i].name,
                         names[k]);
            sum += jint(c, names[k]) * (k == 0 ? 450000 : k == 1 ? 350000 : 200000);
        }
        cr_expect_eq(jint(o, "score"), sum / 1000000);
        json_decref(o);
        gt_free(t);
    }
}

/* ---- RELEASE_ANNOUNCE ---- */

enum { PRE_NONE, PRE_ANNOUNCED, PRE_SUSPENDED, PRE_ANCHORED };

static const struct {
    const char *name;
    int signer;
    const char *release;
    const char *issuer;
    uint64_t lead_ms; /* release_time - block time */
    uint64_t supply;
    int anchor; /* 0 none, 1 anchored artifact, 2 unknown artifact */
    int pre;
    int code;
} RELEASE_ROWS[] = {
    {"ok", T_U(OWNER), "r1", "ip-a", 8 * DAY_MS, 1000, 0, PRE_NONE, 0},
    {"ok exactly pre_review_ms ahead", T_U(OWNER), "r1", "ip-a", 7 * DAY_MS, 1000, 0, PRE_NONE, 0},
    {"ok with an anchored final work", T_U(OWNER), "r1", "ip-a", 8 * DAY_MS, 1000, 1, PRE_ANCHORED,
     0},
    {"not the issuer's owner", T_U(WHALE), "r1", "ip-a", 8 * DAY_MS, 1000, 0, PRE_NONE, 5},
    {"registrar is not the owner", T_REG, "r1", "ip-a", 8 * DAY_MS, 1000, 0, PRE_NONE, 5},
    {"unknown issuer", T_U(OWNER), "r1", "ip-none", 8 * DAY_MS, 1000, 0, PRE_NONE, 7},
    {"final work not anchored", T_U(OWNER), "r1", "ip-a", 8 * DAY_MS, 1000, 2, PRE_NONE, 7},
    {"release id taken", T_U(OWNER), "r0", "ip-b", 8 * DAY_MS, 1000, 0, PRE_ANNOUNCED, 8},
    {"announced twice", T_U(OWNER), "r0", "ip-a", 8 * DAY_MS, 1000, 0, PRE_ANNOUNCED, 8},
    {"supply over the amount bound", T_U(OWNER), "r1", "ip-a", 8 * DAY_MS, UINT64_MAX, 0, PRE_NONE,
     9},
    {"controller suspended", T_U(OWNER), "r1", "ip-s", 8 * DAY_MS, 1000, 0, PRE_SUSPENDED, 10},
    {"release time too early", T_U(OWNER), "r1", "ip-a", 7 * DAY_MS - 1, 1000, 0, PRE_NONE, 12},
    {"release time in the past", T_U(OWNER), "r1", "ip-a", 0, 1000, 0, PRE_NONE, 12},
    {"zero supply", T_U(OWNER), "r1", "ip-a", 8 * DAY_MS, 0, 0, PRE_NONE, 12},
    {"empty release id", T_U(OWNER), "", "ip-a", 8 * DAY_MS, 1000, 0, PRE_NONE, 12},
};

static void release_pre(gt *t, int pre, uint8_t artifact[32]) {
    core_sha256(artifact, "final work", 10);
    if (pre == PRE_ANNOUNCED) {
        GT_OK(t, tx_release(t, T_U(OWNER), "r0", "ip-a", t->time + 9 * DAY_MS));
    }
    if (pre == PRE_SUSPENDED) GT_OK(t, tx_credit(t, T_CREDIT, "ctl-s", 0, -20, 4));
    if (pre == PRE_ANCHORED) {
        gz_tx *tx = gt_tx(t, T_U(OWNER), GZ_TX_ANCHOR);
        memcpy(tx->p.anchor.artifact, artifact, 32);
        tx->p.anchor.kind = 3;
        snprintf(tx->p.anchor.work_id, sizeof tx->p.anchor.work_id, "work-1");
        GT_OK(t, tx);
    }
}

Test(gov_tx, release_announce) {
    for (size_t i = 0; i < ROWS(RELEASE_ROWS); i++) {
        gt *t = fx_base(false);
        uint8_t artifact[32];
        release_pre(t, RELEASE_ROWS[i].pre, artifact);
        uint64_t block_time = t->time + 1000;
        gz_tx *tx = tx_release(t, RELEASE_ROWS[i].signer, RELEASE_ROWS[i].release,
                               RELEASE_ROWS[i].issuer, block_time + RELEASE_ROWS[i].lead_ms);
        tx->p.release_announce.supply = RELEASE_ROWS[i].supply;
        if (RELEASE_ROWS[i].anchor != 0) {
            tx->p.release_announce.has_final_anchor = true;
            memcpy(tx->p.release_announce.final_anchor, artifact, 32);
            if (RELEASE_ROWS[i].anchor == 2) tx->p.release_announce.final_anchor[0] ^= 1;
        }
        uint8_t id[32];
        gt_id(t, tx, id);
        int code = gt_run(t, tx);
        expect_code(t, code, RELEASE_ROWS[i].code, RELEASE_ROWS[i].name);
        json_t *p = NULL;
        cr_expect_eq(ledger_query_proposal(t->l, id, &p), code == 0 ? GZ_OK : GZ_ENOTFOUND,
                     "row %s: a pre-review exists only for an accepted release",
                     RELEASE_ROWS[i].name);
        json_decref(p);
        gt_free(t);
    }
}

Test(gov_tx, release_opens_pre_review) {
    gt *t = fx_base(false);
    uint64_t rt = t->time + 1000 + 10 * DAY_MS;
    gz_tx *tx = tx_release(t, T_U(OWNER), "r1", "ip-a", rt);
    uint8_t id[32];
    gt_id(t, tx, id);
    GT_OK(t, tx);
    json_t *r = gt_release(t, "r1");
    char hex[65];
    gt_hex(hex, id);
    cr_expect_str_eq(jstr(r, "status"), "pre_review");
    cr_expect_str_eq(jstr(r, "proposal_id"), hex);
    cr_expect_str_eq(jstr(r, "controller_id"), "ctl-a");
    cr_expect_eq(jint(r, "supply"), 1000);
    cr_expect_eq(jint(r, "price"), 9900);
    cr_expect_eq(jint(r, "release_time"), (long long)rt);
    cr_expect(json_is_null(json_object_get(r, "final_anchor")));
    json_decref(r);
    json_t *p = gt_proposal(t, id);
    cr_expect_str_eq(jstr(p, "kind_name"), "pre_review");
    cr_expect_eq(jint(p, "kind"), 3);
    cr_expect_str_eq(jstr(p, "subject"), "r1");
    cr_expect_str_eq(jstr(p, "status"), "open");
    cr_expect_eq(jint(p, "min_level"), 8);
    cr_expect_eq(jint(p, "weighting"), 1);
    cr_expect_eq(jint(p, "opens_at"), (long long)t->time);
    cr_expect_eq(jint(p, "closes_at"), (long long)rt); /* pre_review_close_ms = 0 */
    json_t *opts = json_object_get(p, "options");
    cr_expect_str_eq(json_string_value(json_array_get(opts, 0)), "approve");
    cr_expect_str_eq(json_string_value(json_array_get(opts, 1)), "reject");
    json_decref(p);
    cr_expect_eq(ledger_query_release(t->l, "r-none", &r), GZ_ENOTFOUND);
    gt_free(t);
}

/* ---- the governance world for COSIGN, VOTE and REWARD_POOL ---- */

typedef struct world {
    gt *t;
    uint8_t d[32];       /* DISTRUST ctl-a, cosigning (1 of 3) */
    uint8_t d_open[32];  /* DISTRUST ctl-b, open */
    uint8_t d_exp[32];   /* DISTRUST ctl-a, expired */
    uint8_t g[32];       /* GENERAL, LV8 or collectors, by account, open */
    uint8_t tok[32];     /* GENERAL, everyone, by gov_tokens, open */
    uint8_t board[32];   /* BOARD over ctl-a, ctl-b, ctl-s, open */
    uint8_t c1[32];      /* closed: WHALE, LV8, COLLECTOR voted */
    uint8_t c2[32];      /* closed: WHALE, LV8 voted */
    uint8_t empty[32];   /* closed, no voter */
    uint8_t tokless[32]; /* closed, voted only by accounts without gov_tokens */
    uint8_t none[32];    /* no such proposal */
} world;

static const char *const OPT2[] = {"a", "b", NULL};

static void w_create(gt *t, gz_tx **txs, size_t *n, gz_tx *tx, uint8_t id[32]) {
    gt_id(t, tx, id);
    txs[(*n)++] = tx;
}

static void w_run(gt *t, gz_tx **txs, size_t n) {
    int codes[GT_BLOCK_MAX];
    gt_block(t, 1000, txs, n, codes);
    for (size_t i = 0; i < n; i++) cr_assert_eq(codes[i], 0, "world tx %zu: %s", i, t->msg[i]);
}

static void w_closed(world *w) {
    gt *t = w->t;
    gz_tx *txs[16];
    size_t n = 0;
    w_create(t, txs, &n, tx_distrust(t, T_U(WHALE), 1, "ctl-a"), w->d_exp);
    w_create(t, txs, &n, tx_proposal(t, T_GOV, 7, "c1", OPT2, 0, 0, 1, DAY_MS), w->c1);
    w_create(t, txs, &n, tx_proposal(t, T_GOV, 5, "c2", OPT2, 0, 0, 1, DAY_MS), w->c2);
    w_create(t, txs, &n, tx_proposal(t, T_GOV, 7, "empty", OPT2, 0, 0, 1, DAY_MS), w->empty);
    w_create(t, txs, &n, tx_proposal(t, T_GOV, 7, "tokless", OPT2, 0, 0, 1, DAY_MS), w->tokless);
    w_run(t, txs, n);
    n = 0;
    txs[n++] = tx_vote(t, T_U(WHALE), w->c1, 1, 0);
    txs[n++] = tx_vote(t, T_U(LV8), w->c1, 1, 1);
    txs[n++] = tx_vote(t, T_U(COLLECTOR), w->c1, 1, 0);
    txs[n++] = tx_vote(t, T_U(WHALE), w->c2, 1, 1);
    txs[n++] = tx_vote(t, T_U(LV8), w->c2, 1, 1);
    txs[n++] = tx_vote(t, T_U(NOBODY), w->tokless, 1, 0);
    txs[n++] = tx_vote(t, T_U(COLLECTOR), w->tokless, 1, 0);
    w_run(t, txs, n);
    gt_tick(t, 8 * DAY_MS);
}

static world w_open(void) {
    world w;
    memset(&w, 0, sizeof w);
    w.t = fx_base(false);
    gt *t = w.t;
    w_closed(&w);
    static const char *const CTLS[] = {"ctl-a", "ctl-b", "ctl-s", NULL};
    gz_tx *txs[16];
    size_t n = 0;
    w_create(t, txs, &n, tx_distrust(t, T_U(WHALE), 1, "ctl-a"), w.d);
    w_create(t, txs, &n, tx_distrust(t, T_U(WHALE), 1, "ctl-b"), w.d_open);
    w_create(t, txs, &n, tx_proposal(t, T_GOV, 7, "g", OPT2, 8, 2, 1, 30 * DAY_MS), w.g);
    w_create(t, txs, &n, tx_proposal(t, T_GOV, 5, "tok", OPT2, 0, 0, 2, 30 * DAY_MS), w.tok);
    w_create(t, txs, &n, tx_proposal(t, T_GOV, 4, "board", CTLS, 0, 0, 1, 30 * DAY_MS), w.board);
    w_run(t, txs, n);
    n = 0;
    txs[n++] = tx_cosign(t, T_U(WHALE_LOW), w.d_open);
    txs[n++] = tx_cosign(t, T_U(COLLECTOR), w.d_open);
    w_run(t, txs, n);
    memset(w.none, 0x5a, 32);
    gt_expect_pstatus(t, w.d, "cosigning");
    gt_expect_pstatus(t, w.d_open, "open");
    gt_expect_pstatus(t, w.d_exp, "expired");
    gt_expect_pstatus(t, w.c1, "passed");
    gt_expect_pstatus(t, w.empty, "tied");
    return w;
}

static const uint8_t *w_target(world *w, char c) {
    switch (c) {
    case 'd':
        return w->d;
    case 'o':
        return w->d_open;
    case 'x':
        return w->d_exp;
    case 'g':
        return w->g;
    case 't':
        return w->tok;
    case 'b':
        return w->board;
    case '1':
        return w->c1;
    case '2':
        return w->c2;
    case 'e':
        return w->empty;
    case 'z':
        return w->tokless;
    default:
        return w->none;
    }
}

/* ---- PROPOSAL_CREATE ---- */

static const char *const OPT_YES_MAYBE[] = {"yes", "maybe", NULL};
static const char *const OPT_NO_YES[] = {"no", "yes", NULL};
static const char *const OPT_DUP[] = {"a", "a", NULL};
static const char *const OPT_EMPTY[] = {"a", "", NULL};
static const char *const OPT_CTLS[] = {"ctl-a", "ctl-b", NULL};
static const char *const OPT_CTL_BAD[] = {"ctl-a", "ctl-none", NULL};

static const struct {
    const char *name;
    int signer;
    uint64_t kind;
    const char *subject;
    const char *const *options;
    uint64_t min_level;
    uint64_t classes_any;
    uint64_t weighting;
    uint64_t voting_ms;
    int code;
    const char *status; /* of the created proposal */
} CREATE_ROWS[] = {
    {"general", T_GOV, 7, "g", OPT2, 8, 7, 1, DAY_MS, 0, "open"},
    {"dao by tokens", T_GOV, 5, "price/r1", OPT2, 0, 0, 2, DAY_MS, 0, "open"},
    {"pfp stage", T_GOV, 6, "p102/stage-2", OPT2, 0, 64, 1, DAY_MS, 0, "open"},
    {"board", T_GOV, 4, "2026-01", OPT_CTLS, 0, 0, 1, DAY_MS, 0, "open"},
    {"distrust by a whale", T_U(WHALE), 1, "ctl-a", YES_NO, 0, 0, 1, DAY_MS, 0, "cosigning"},
    {"trust by a collector", T_U(COLLECTOR), 2, "ctl-a", YES_NO, 0, 0, 1, DAY_MS, 0, "cosigning"},
    {"general by a whale", T_U(WHALE), 7, "g", OPT2, 0, 0, 1, DAY_MS, 5, NULL},
    {"board by the registrar", T_REG, 4, "b", OPT_CTLS, 0, 0, 1, DAY_MS, 5, NULL},
    {"distrust without a class", T_U(NOBODY), 1, "ctl-a", YES_NO, 0, 0, 1, DAY_MS, 6, NULL},
    {"distrust by a creator", T_U(OWNER), 1, "ctl-a", YES_NO, 0, 0, 1, DAY_MS, 6, NULL},
    {"distrust by the governor", T_GOV, 1, "ctl-a", YES_NO, 0, 0, 1, DAY_MS, 6, NULL},
    {"distrust of no controller", T_U(WHALE), 1, "ctl-none", YES_NO, 0, 0, 1, DAY_MS, 7, NULL},
    {"board option no controller", T_GOV, 4, "b", OPT_CTL_BAD, 0, 0, 1, DAY_MS, 7, NULL},
    {"voting too long", T_GOV, 7, "g", OPT2, 0, 0, 1, 3651 * DAY_MS, 9, NULL},
    {"kind 0", T_GOV, 0, "g", OPT2, 0, 0, 1, DAY_MS, 12, NULL},
    {"kind 8", T_GOV, 8, "g", OPT2, 0, 0, 1, DAY_MS, 12, NULL},
    {"pre_review by hand", T_GOV, 3, "r1", OPT2, 0, 0, 1, DAY_MS, 12, NULL},
    {"distrust other options", T_U(WHALE), 1, "ctl-a", OPT_YES_MAYBE, 0, 0, 1, DAY_MS, 12, NULL},
    {"distrust options reversed", T_U(WHALE), 1, "ctl-a", OPT_NO_YES, 0, 0, 1, DAY_MS, 12, NULL},
    {"distrust min_level", T_U(WHALE), 1, "ctl-a", YES_NO, 1, 0, 1, DAY_MS, 12, NULL},
    {"distrust classes_any", T_U(WHALE), 1, "ctl-a", YES_NO, 0, 7, 1, DAY_MS, 12, NULL},
    {"distrust by tokens", T_U(WHALE), 1, "ctl-a", YES_NO, 0, 0, 2, DAY_MS, 12, NULL},
    {"repeated option", T_GOV, 7, "g", OPT_DUP, 0, 0, 1, DAY_MS, 12, NULL},
    {"empty option", T_GOV, 7, "g", OPT_EMPTY, 0, 0, 1, DAY_MS, 12, NULL},
    {"empty subject", T_GOV, 7, "", OPT2, 0, 0, 1, DAY_MS, 12, NULL},
    {"pfp subject without stage", T_GOV, 6, "p102", OPT2, 0, 0, 1, DAY_MS, 12, NULL},
    {"pfp subject empty stage", T_GOV, 6, "p102/", OPT2, 0, 0, 1, DAY_MS, 12, NULL},
    {"pfp subject two slashes", T_GOV, 6, "a/b/c", OPT2, 0, 0, 1, DAY_MS, 12, NULL},
    {"level over 10", T_GOV, 7, "g", OPT2, 11, 0, 1, DAY_MS, 12, NULL},
    {"weighting 0", T_GOV, 7, "g", OPT2, 0, 0, 0, DAY_MS, 12, NULL},
    {"weighting 3", T_GOV, 7, "g", OPT2, 0, 0, 3, DAY_MS, 12, NULL},
    {"zero voting time", T_GOV, 7, "g", OPT2, 0, 0, 1, 0, 12, NULL},
};

Test(gov_tx, proposal_create) {
    for (size_t i = 0; i < ROWS(CREATE_ROWS); i++) {
        gt *t = fx_base(false);
        gz_tx *tx = tx_proposal(t, CREATE_ROWS[i].signer, CREATE_ROWS[i].kind,
                                CREATE_ROWS[i].subject, CREATE_ROWS[i].options,
                                CREATE_ROWS[i].min_level, CREATE_ROWS[i].classes_any,
                                CREATE_ROWS[i].weighting, CREATE_ROWS[i].voting_ms);
        uint8_t id[32];
        gt_id(t, tx, id);
        int code = gt_run(t, tx);
        expect_code(t, code, CREATE_ROWS[i].code, CREATE_ROWS[i].name);
        json_t *p = NULL;
        int q = ledger_query_proposal(t->l, id, &p);
        if (CREATE_ROWS[i].status == NULL) {
            cr_expect_eq(q, GZ_ENOTFOUND, "row %s", CREATE_ROWS[i].name);
        } else if (q == GZ_OK) {
            cr_expect_str_eq(jstr(p, "status"), CREATE_ROWS[i].status, "row %s",
                             CREATE_ROWS[i].name);
            cr_expect_eq(jint(p, "kind"), (long long)CREATE_ROWS[i].kind);
            cr_expect_eq(jint(p, "created_at"), (long long)t->time);
        } else {
            cr_expect_fail("row %s: proposal not stored", CREATE_ROWS[i].name);
        }
        json_decref(p);
        gt_free(t);
    }
}

Test(gov_tx, distrust_takes_policy_eligibility) {
    gt *t = fx_base(false);
    gz_tx *tx = tx_distrust(t, T_U(WHALE), 1, "ctl-a");
    uint8_t id[32];
    gt_id(t, tx, id);
    GT_OK(t, tx);
    json_t *p = gt_proposal(t, id);
    cr_expect_eq(jint(p, "min_level"), 8);
    cr_expect_eq(jint(p, "classes_any"), 7);
    cr_expect_eq(jint(p, "cosigners_count"), 1);
    cr_expect_eq(jint(p, "expires_at"), (long long)(t->time + 7 * DAY_MS));
    cr_expect(json_is_null(json_object_get(p, "opens_at")));
    cr_expect(json_is_null(json_object_get(p, "closes_at")));
    cr_expect(json_is_null(json_object_get(p, "winner")));
    json_t *cos = json_object_get(p, "cosigners");
    char hex[65];
    gt_hex(hex, t->pub[T_U(WHALE)]);
    cr_assert_eq(json_array_size(cos), 1, "the creator is the first co-signer");
    cr_expect_str_eq(json_string_value(json_array_get(cos, 0)), hex);
    json_decref(p);
    gt_free(t);
}

/* ---- PROPOSAL_COSIGN ---- */

static const struct {
    const char *name;
    int signer;
    char target;
    int code;
} COSIGN_ROWS[] = {
    {"a whale", T_U(WHALE_LOW), 'd', 0},
    {"a collector", T_U(COLLECTOR), 'd', 0},
    {"no class", T_U(NOBODY), 'd', 6},
    {"creator class only (8)", T_U(OWNER), 'd', 6},
    {"pfp holder", T_U(PFPER), 'd', 6},
    {"no such proposal", T_U(COLLECTOR), 'n', 7},
    {"the creator again", T_U(WHALE), 'd', 8},
    {"already open", T_U(WHALE), 'o', 10},
    {"expired", T_U(COLLECTOR), 'x', 10},
    {"a general proposal", T_U(COLLECTOR), 'g', 10},
    {"a closed proposal", T_U(COLLECTOR), '1', 10},
};

Test(gov_tx, proposal_cosign) {
    for (size_t i = 0; i < ROWS(COSIGN_ROWS); i++) {
        world w = w_open();
        const uint8_t *id = w_target(&w, COSIGN_ROWS[i].target);
        int code = gt_run(w.t, tx_cosign(w.t, COSIGN_ROWS[i].signer, id));
        expect_code(w.t, code, COSIGN_ROWS[i].code, COSIGN_ROWS[i].name);
        if (COSIGN_ROWS[i].target == 'd') {
            json_t *p = gt_proposal(w.t, id);
            cr_expect_eq(jint(p, "cosigners_count"), code == 0 ? 2 : 1, "row %s",
                         COSIGN_ROWS[i].name);
            cr_expect_eq(json_array_size(json_object_get(p, "cosigners")), code == 0 ? 2u : 1u);
            json_decref(p);
        }
        gt_free(w.t);
    }
}

/* ---- VOTE ---- */

static const struct {
    const char *name;
    int signer;
    char target;
    uint32_t n;
    unsigned c0, c1;
    int code;
} VOTE_ROWS[] = {
    {"level 10", T_U(WHALE), 'g', 1, 0, 0, 0},
    {"level 8 exactly", T_U(LV8), 'g', 1, 1, 0, 0},
    {"a collector by class (union)", T_U(COLLECTOR), 'g', 1, 1, 0, 0},
    {"board approval of two", T_U(NOBODY), 'b', 2, 0, 2, 0},
    {"distrust voter at level 8", T_U(LV8), 'o', 1, 0, 0, 0},
    {"distrust voter by class", T_U(WHALE_LOW), 'o', 1, 1, 0, 0},
    {"tokens held", T_U(WHALE), 't', 1, 1, 0, 0},
    {"level 5 without a listed class", T_U(WHALE_LOW), 'g', 1, 0, 0, 6},
    {"nobody", T_U(NOBODY), 'g', 1, 0, 0, 6},
    {"distrust: a level 9 creator", T_U(OWNER), 'o', 1, 0, 0, 0},
    {"distrust: pfp holder", T_U(PFPER), 'o', 1, 0, 0, 6},
    {"weight 0 without tokens", T_U(COLLECTOR), 't', 1, 0, 0, 6},
    {"no such proposal", T_U(WHALE), 'n', 1, 0, 0, 7},
    {"cosigning", T_U(WHALE), 'd', 1, 0, 0, 10},
    {"expired", T_U(WHALE), 'x', 1, 0, 0, 10},
    {"closed", T_U(WHALE), '1', 1, 0, 0, 10},
    {"descending", T_U(NOBODY), 'b', 2, 1, 0, 12},
    {"repeated", T_U(NOBODY), 'b', 2, 1, 1, 12},
    {"out of range", T_U(WHALE), 'g', 1, 2, 0, 12},
    {"board out of range", T_U(NOBODY), 'b', 2, 1, 3, 12},
    {"two choices off the board", T_U(WHALE), 'g', 2, 0, 1, 12},
};

Test(gov_tx, vote) {
    for (size_t i = 0; i < ROWS(VOTE_ROWS); i++) {
        world w = w_open();
        const uint8_t *id = w_target(&w, VOTE_ROWS[i].target);
        int code = gt_run(w.t, tx_vote(w.t, VOTE_ROWS[i].signer, id, VOTE_ROWS[i].n,
                                       VOTE_ROWS[i].c0, VOTE_ROWS[i].c1));
        /* LV8's level 8 satisfies DISTRUST's voter_min_level; OWNER is level 9. */
        expect_code(w.t, code, VOTE_ROWS[i].code, VOTE_ROWS[i].name);
        json_t *p = NULL;
        if (ledger_query_proposal(w.t->l, id, &p) == GZ_OK && VOTE_ROWS[i].target != '1') {
            long long want = 0;
            if (code == 0) want = VOTE_ROWS[i].target == 't' ? 100 : 1;
            cr_expect_eq(jint(p, "turnout"), want, "row %s", VOTE_ROWS[i].name);
        }
        json_decref(p);
        gt_free(w.t);
    }
}

/* ---- REWARD_POOL ---- */

static const struct {
    const char *name;
    int signer;
    const char *pool;
    uint64_t amount;
    const char *targets; /* one char per listed proposal */
    bool paid_before;    /* pool "p0" paid first */
    int code;
} POOL_ROWS[] = {
    {"one proposal", T_TREAS, "p1", 1000, "1", false, 0},
    {"two proposals", T_TREAS, "p1", 1000, "12", false, 0},
    {"governor is no treasurer", T_GOV, "p1", 1000, "1", false, 5},
    {"a whale is no treasurer", T_U(WHALE), "p1", 1000, "1", false, 5},
    {"no such proposal", T_TREAS, "p1", 1000, "1n", false, 7},
    {"pool id paid", T_TREAS, "p0", 1000, "1", true, 8},
    {"amount over the bound", T_TREAS, "p1", UINT64_MAX, "1", false, 9},
    {"open proposal", T_TREAS, "p1", 1000, "1g", false, 10},
    {"cosigning proposal", T_TREAS, "p1", 1000, "d", false, 10},
    {"expired proposal", T_TREAS, "p1", 1000, "x", false, 10},
    {"no voter", T_TREAS, "p1", 1000, "e", false, 10},
    {"no common voter", T_TREAS, "p1", 1000, "1e", false, 10},
    {"voters without tokens", T_TREAS, "p1", 1000, "z", false, 10},
    {"zero amount", T_TREAS, "p1", 0, "1", false, 12},
    {"empty pool id", T_TREAS, "", 1000, "1", false, 12},
    {"repeated proposal", T_TREAS, "p1", 1000, "11", false, 12},
};

Test(gov_tx, reward_pool) {
    for (size_t i = 0; i < ROWS(POOL_ROWS); i++) {
        world w = w_open();
        gt *t = w.t;
        uint8_t ids[GZ_POOL_PROPOSALS_MAX][32];
        uint32_t n = (uint32_t)strlen(POOL_ROWS[i].targets);
        for (uint32_t j = 0; j < n; j++) memcpy(ids[j], w_target(&w, POOL_ROWS[i].targets[j]), 32);
        if (POOL_ROWS[i].paid_before) GT_OK(t, tx_pool(t, T_TREAS, "p0", 7, ids, 1));
        long long whale = gt_account_field(t, T_U(WHALE), "balance");
        long long lv8 = gt_account_field(t, T_U(LV8), "balance");
        int code = gt_run(
            t, tx_pool(t, POOL_ROWS[i].signer, POOL_ROWS[i].pool, POOL_ROWS[i].amount, ids, n));
        expect_code(t, code, POOL_ROWS[i].code, POOL_ROWS[i].name);
        /* Paid 100 : 50 by gov_tokens; COLLECTOR (no tokens) gets nothing. */
        long long dw = gt_account_field(t, T_U(WHALE), "balance") - whale;
        long long dl = gt_account_field(t, T_U(LV8), "balance") - lv8;
        cr_expect_eq(dw, code == 0 ? 667 : 0, "row %s", POOL_ROWS[i].name);
        cr_expect_eq(dl, code == 0 ? 333 : 0, "row %s", POOL_ROWS[i].name);
        cr_expect_eq(gt_account_field(t, T_U(COLLECTOR), "balance"), 0);
        gt_free(t);
    }
}
