/* Property tests of governance over thousands of seeded random cases: reward
 * pools pay exactly their amount with every share within one fen; quota caps
 * hold; tallies always equal the sum of the latest votes; credit follows its
 * model; the same txs always give the same state_root. Each failure message
 * names the seed. */
#include "ledger/gov.h"
#include "tests/unit/test_ledger_gov_kit.h"

__extension__ typedef unsigned __int128 u128;

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnd(rng *r) {
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t below(rng *r, uint64_t n) { return rnd(r) % n; }

static const char *const AB[] = {"a", "b", NULL};

/* ---- reward pools ---- */

enum { POOL_USERS = 40, POOL_PROPS = 6, POOL_CASES = 2000, POOL_BATCH = 200 };

typedef struct pool_world {
    gt *t;
    uint8_t ids[POOL_PROPS][32];
    uint64_t tokens[POOL_USERS];
    bool voted[POOL_PROPS][POOL_USERS];
} pool_world;

static void pool_setup(pool_world *w, rng *r) {
    gt *t = w->t = gt_new(POOL_USERS);
    gt_open(t);
    gz_tx *txs[GT_BLOCK_MAX];
    size_t n = 0;
    for (int u = 0; u < POOL_USERS; u++) {
        /* A quarter hold no tokens; the others 1..100. */
        w->tokens[u] = below(r, 4) == 0 ? 0 : 1 + below(r, 100);
        if (w->tokens[u] > 0) txs[n++] = tx_grant(t, T_U(u), w->tokens[u], 1);
    }
    for (int p = 0; p < POOL_PROPS; p++) {
        char subject[8];
        snprintf(subject, sizeof subject, "p%d", p);
        txs[n] = tx_proposal(t, T_GOV, 7, subject, AB, 0, 0, 1, DAY_MS);
        gt_id(t, txs[n++], w->ids[p]);
    }
    int codes[GT_BLOCK_MAX];
    gt_block(t, 1000, txs, n, codes);
    for (size_t i = 0; i < n; i++) cr_assert_eq(codes[i], 0, "%s", t->msg[i]);
    n = 0;
    for (int p = 0; p < POOL_PROPS; p++) {
        for (int u = 0; u < POOL_USERS; u++) {
            /* The last proposal drew few voters, so some pools find nobody. */
            w->voted[p][u] = p == POOL_PROPS - 1 ? below(r, 40) == 0 : below(r, 10) < 7;
            if (w->voted[p][u]) txs[n++] = tx_vote(t, T_U(u), w->ids[p], 1, (unsigned)below(r, 2));
        }
    }
    gt_block(t, 1000, txs, n, codes);
    for (size_t i = 0; i < n; i++) cr_assert_eq(codes[i], 0, "%s", t->msg[i]);
    gt_tick(t, DAY_MS);
}

/* Users in account id order. */
static void users_by_id(gt *t, int *order) {
    for (int i = 0; i < POOL_USERS; i++) order[i] = i;
    for (int i = 1; i < POOL_USERS; i++) {
        for (int j = i; j > 0 && memcmp(t->pub[T_U(order[j])], t->pub[T_U(order[j - 1])], 32) < 0;
             j--) {
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    }
}

/* The expected payout, computed independently: floor shares, then the
 * remainder one fen at a time by largest fractional part, ties to the lower
 * account id. Returns the number of recipients. */
static int pool_model(const pool_world *w, const int *order, const int *listed, int n_listed,
                      uint64_t amount, uint64_t *pay) {
    memset(pay, 0, POOL_USERS * sizeof *pay);
    int rec[POOL_USERS];
    int n = 0;
    u128 total = 0;
    for (int i = 0; i < POOL_USERS; i++) {
        int u = order[i];
        bool all = w->tokens[u] > 0;
        for (int k = 0; k < n_listed && all; k++) all = w->voted[listed[k]][u];
        if (!all) continue;
        rec[n++] = u;
        total += w->tokens[u];
    }
    if (n == 0) return 0;
    u128 frac[POOL_USERS];
    uint64_t sum = 0;
    for (int i = 0; i < n; i++) {
        u128 q = (u128)amount * w->tokens[rec[i]];
        pay[rec[i]] = (uint64_t)(q / total);
        frac[i] = q % total;
        sum += pay[rec[i]];
    }
    for (uint64_t left = amount - sum; left > 0; left--) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            if (frac[i] != (u128)-1 && (best < 0 || frac[i] > frac[best])) best = i;
        }
        cr_assert_geq(best, 0, "model: more remainder left than recipients");
        pay[rec[best]]++;
        frac[best] = (u128)-1;
    }
    return n;
}

static int user_of(gt *t, const char *hex) {
    uint8_t id[32];
    cr_assert_eq(gz_hex_decode(id, 32, hex), GZ_OK);
    for (int u = 0; u < POOL_USERS; u++) {
        if (memcmp(t->pub[T_U(u)], id, 32) == 0) return u;
    }
    cr_assert_fail("paid an unknown account");
    return -1;
}

/* Compares one pool tx's balance events with the model. */
static void pool_check(gt *t, size_t i, uint64_t seed, int code, int n_rec, const uint64_t *pay,
                       uint64_t amount) {
    cr_assert_eq(code, n_rec == 0 ? 10 : 0, "seed %llu tx %zu: %s", (unsigned long long)seed, i,
                 t->msg[i]);
    uint64_t got[POOL_USERS] = {0};
    uint64_t sum = 0;
    json_t *e;
    for (int k = 0; (e = gt_event(t->ev[i], "balance", k)) != NULL; k++) {
        int u = user_of(t, jstr(e, "account"));
        got[u] += (uint64_t)jint(e, "delta");
        sum += (uint64_t)jint(e, "delta");
    }
    if (code != 0) return;
    cr_assert_eq(sum, amount, "seed %llu: credited sum equals the amount",
                 (unsigned long long)seed);
    for (int u = 0; u < POOL_USERS; u++) {
        cr_assert_eq(got[u], pay[u], "seed %llu tx %zu user %d", (unsigned long long)seed, i, u);
    }
}

/* Every paid share is within one fen of the exact share amount·t/T. */
static void pool_bounds(const pool_world *w, const uint64_t *pay, uint64_t amount, uint64_t seed) {
    u128 total = 0;
    for (int u = 0; u < POOL_USERS; u++) total += pay[u] > 0 ? w->tokens[u] : 0;
    for (int u = 0; u < POOL_USERS; u++) {
        if (pay[u] == 0) continue;
        u128 paid = (u128)pay[u] * total;
        u128 exact = (u128)amount * w->tokens[u];
        u128 diff = paid > exact ? paid - exact : exact - paid;
        cr_assert_lt(diff, total, "seed %llu: user %d more than a fen off",
                     (unsigned long long)seed, u);
    }
}

Test(gov_prop, reward_pools_pay_exactly, .timeout = 60) {
    uint64_t seed = 0x5eed0001;
    rng r = {seed};
    pool_world w;
    memset(&w, 0, sizeof w);
    pool_setup(&w, &r);
    gt *t = w.t;
    int order[POOL_USERS];
    users_by_id(t, order);
    uint64_t paid_total = 0;
    int n_paid = 0;
    for (int c = 0; c < POOL_CASES; c += POOL_BATCH) {
        gz_tx *txs[POOL_BATCH];
        static uint64_t pay[POOL_BATCH][POOL_USERS];
        int n_rec[POOL_BATCH];
        uint64_t amounts[POOL_BATCH];
        for (int i = 0; i < POOL_BATCH; i++) {
            int listed[POOL_PROPS];
            int n_listed = 1 + (int)below(&r, 3);
            uint8_t ids[POOL_PROPS][32];
            for (int k = 0; k < n_listed; k++) {
                bool again = true;
                while (again) {
                    listed[k] = (int)below(&r, POOL_PROPS);
                    again = false;
                    for (int j = 0; j < k; j++) again |= listed[j] == listed[k];
                }
                memcpy(ids[k], w.ids[listed[k]], 32);
            }
            uint64_t amount = below(&r, 2) ? 1 + below(&r, 1000) : 1 + below(&r, 1000000000000ull);
            amounts[i] = amount;
            n_rec[i] = pool_model(&w, order, listed, n_listed, amount, pay[i]);
            char pool[16];
            snprintf(pool, sizeof pool, "pool-%d", c + i);
            txs[i] =
                tx_pool(t, T_TREAS, pool, amount, (const uint8_t(*)[32])ids, (uint32_t)n_listed);
        }
        int codes[POOL_BATCH];
        gt_block(t, 1000, txs, POOL_BATCH, codes);
        for (int i = 0; i < POOL_BATCH; i++) {
            pool_check(t, (size_t)i, seed, codes[i], n_rec[i], pay[i], amounts[i]);
            if (codes[i] == 0) {
                pool_bounds(&w, pay[i], amounts[i], seed);
                paid_total += amounts[i];
            }
            n_paid += codes[i] == 0;
        }
    }
    uint64_t balances = 0;
    for (int u = 0; u < POOL_USERS; u++)
        balances += (uint64_t)gt_account_field(t, T_U(u), "balance");
    cr_expect_eq(balances, paid_total, "seed %llu: every fen minted went to a voter",
                 (unsigned long long)seed);
    cr_expect_gt(n_paid, POOL_CASES / 2, "most random pools have recipients (%d paid)", n_paid);
    cr_expect_lt(n_paid, POOL_CASES, "some random pools have none");
    gt_free(t);
}

/* ---- quota caps ---- */

Test(gov_prop, quota_caps_never_exceeded) {
    uint64_t seed = 0x5eed0002;
    rng r = {seed};
    gt *t = gt_new(20);
    gt_open(t);
    uint64_t granted[GZ_DAO_CATEGORIES + 1] = {0};
    uint64_t caps[GZ_DAO_CATEGORIES + 1];
    for (int c = 1; c <= GZ_DAO_CATEGORIES; c++) {
        caps[c] = t->g.policy.dao.total * t->g.policy.dao.caps_ppm[c] / GZ_PPM;
    }
    uint64_t held[20] = {0};
    for (int b = 0; b < 30; b++) {
        gz_tx *txs[100];
        int who[100];
        uint64_t cat[100], amount[100];
        for (int i = 0; i < 100; i++) {
            who[i] = (int)below(&r, 20);
            cat[i] = 1 + below(&r, GZ_DAO_CATEGORIES);
            amount[i] = 1 + below(&r, below(&r, 4) == 0 ? 2000 : 60);
            txs[i] = tx_grant(t, T_U(who[i]), amount[i], cat[i]);
        }
        int codes[100];
        gt_block(t, 1000, txs, 100, codes);
        for (int i = 0; i < 100; i++) {
            bool fits = granted[cat[i]] + amount[i] <= caps[cat[i]];
            cr_assert_eq(codes[i], fits ? 0 : 9, "seed %llu block %d tx %d: %s",
                         (unsigned long long)seed, b, i, t->msg[i]);
            if (fits) {
                granted[cat[i]] += amount[i];
                held[who[i]] += amount[i];
            }
        }
    }
    uint64_t total = 0;
    for (int c = 1; c <= GZ_DAO_CATEGORIES; c++) {
        cr_expect_leq(granted[c], caps[c]);
        total += granted[c];
    }
    uint64_t sum = 0;
    for (int u = 0; u < 20; u++) {
        cr_expect_eq((uint64_t)gt_account_field(t, T_U(u), "gov_tokens"), held[u]);
        sum += held[u];
    }
    cr_expect_eq(sum, total);
    cr_expect_leq(total, t->g.policy.dao.total);
    gt_free(t);
}

/* ---- tallies ---- */

enum { TALLY_USERS = 30, TALLY_PROPS = 4, TALLY_BLOCKS = 40, TALLY_TXS = 60 };

typedef struct vote_model {
    bool has;
    uint64_t weight;
    uint32_t n;
    unsigned choices[4];
} vote_model;

static const char *const FOUR[] = {"c0", "c1", "c2", "c3", NULL};
/* 0: by account, 1: by tokens, 2: board by tokens, 3: level 6+ or class 1. */
static const uint64_t TALLY_KINDS[TALLY_PROPS] = {7, 5, 4, 6};
static const uint64_t TALLY_WEIGHTING[TALLY_PROPS] = {1, 2, 2, 1};

/* What the ledger should hold: each account's latest accepted vote on each
 * proposal, and the tokens granted so far. */
typedef struct tally_model {
    uint8_t ids[TALLY_PROPS][32];
    vote_model votes[TALLY_PROPS][TALLY_USERS];
    uint64_t tokens[TALLY_USERS];
    uint64_t granted;
    uint64_t levels[TALLY_USERS], classes[TALLY_USERS];
} tally_model;

/* Registers the issuers, opens the TALLY_PROPS proposals and notes each
 * account's level and classes. */
static void tally_open(gt *t, tally_model *m) {
    GT_OK(t, tx_issuer(t, T_REG, "i0", "c0", T_U(0), "x"));
    GT_OK(t, tx_issuer(t, T_REG, "i1", "c1", T_U(0), "x"));
    GT_OK(t, tx_issuer(t, T_REG, "i2", "c2", T_U(0), "x"));
    GT_OK(t, tx_issuer(t, T_REG, "i3", "c3", T_U(0), "x"));
    for (int p = 0; p < TALLY_PROPS; p++) {
        gz_tx *tx = tx_proposal(t, T_GOV, TALLY_KINDS[p], p == 3 ? "pfp/s1" : "s", FOUR, p == 3 ? 6 : 0,
                                p == 3 ? 1 : 0, TALLY_WEIGHTING[p], 100 * DAY_MS);
        gt_id(t, tx, m->ids[p]);
        GT_OK(t, tx);
    }
    for (int u = 0; u < TALLY_USERS; u++) {
        m->levels[u] = t->g.accounts[u].level;
        m->classes[u] = t->g.accounts[u].classes;
    }
}

/* A grant of 1..300 tokens to account u; those past the category's cap of
 * 4500 must be refused (code 9). */
static gz_tx *tally_grant(gt *t, tally_model *m, rng *r, int u, int *expect) {
    uint64_t a = 1 + below(r, 300);
    gz_tx *tx = tx_grant(t, T_U(u), a, 1);
    *expect = m->granted + a <= 4500 ? 0 : 9;
    if (*expect == 0) {
        m->tokens[u] += a;
        m->granted += a;
    }
    return tx;
}

/* A vote by account u on a random proposal: one to three choices on the
 * board election (2), mostly one elsewhere, some out of range or order. */
static gz_tx *tally_vote(gt *t, tally_model *m, rng *r, int u, int *expect) {
    int p = (int)below(r, TALLY_PROPS);
    uint32_t n = p == 2 ? 1 + (uint32_t)below(r, 3) : (below(r, 20) == 0 ? 2 : 1);
    unsigned ch[4];
    for (uint32_t k = 0; k < n; k++) ch[k] = (unsigned)below(r, 5); /* 4 is out of range */
    gz_tx *tx = tx_vote(t, T_U(u), m->ids[p], n, ch[0], n > 1 ? ch[1] : 0, n > 2 ? ch[2] : 0);
    bool ok = true;
    for (uint32_t k = 0; k < n; k++) ok &= ch[k] < 4 && (k == 0 || ch[k] > ch[k - 1]);
    if (n > 1 && p != 2) ok = false;
    uint64_t w = TALLY_WEIGHTING[p] == 2 ? m->tokens[u] : 1;
    bool eligible = p != 3 || m->levels[u] >= 6 || (m->classes[u] & 1);
    *expect = !ok ? 12 : !eligible || w == 0 ? 6 : 0;
    if (*expect == 0) {
        m->votes[p][u] = (vote_model){.has = true, .weight = w, .n = n};
        memcpy(m->votes[p][u].choices, ch, sizeof ch);
    }
    return tx;
}

/* Each proposal's tally, turnout and voters after block b are the model's. */
static void tally_check(gt *t, const tally_model *m, uint64_t seed, int b) {
    for (int p = 0; p < TALLY_PROPS; p++) {
        uint64_t tally[4] = {0}, turnout = 0, voters = 0;
        for (int u = 0; u < TALLY_USERS; u++) {
            const vote_model *v = &m->votes[p][u];
            if (!v->has) continue;
            voters++;
            turnout += v->weight;
            for (uint32_t k = 0; k < v->n; k++) tally[v->choices[k]] += v->weight;
        }
        json_t *o = gt_proposal(t, m->ids[p]);
        for (int k = 0; k < 4; k++) {
            cr_assert_eq((uint64_t)json_integer_value(json_array_get(json_object_get(o, "tally"), k)), tally[k],
                         "seed %llu block %d proposal %d option %d", (unsigned long long)seed, b, p, k);
        }
        cr_assert_eq((uint64_t)jint(o, "turnout"), turnout);
        cr_assert_eq((uint64_t)jint(o, "voters"), voters);
        json_decref(o);
    }
}

Test(gov_prop, tallies_equal_latest_votes, .timeout = 60) {
    uint64_t seed = 0x5eed0003;
    rng r = {seed};
    gt *t = gt_new(TALLY_USERS);
    for (int u = 0; u < TALLY_USERS; u++) gt_user(t, u, below(&r, 11), below(&r, 2));
    gt_open(t);
    static tally_model m;
    memset(&m, 0, sizeof m);
    tally_open(t, &m);
    for (int b = 0; b < TALLY_BLOCKS; b++) {
        gz_tx *txs[TALLY_TXS];
        int expect[TALLY_TXS];
        for (int i = 0; i < TALLY_TXS; i++) {
            int u = (int)below(&r, TALLY_USERS);
            if (below(&r, 8) == 0) txs[i] = tally_grant(t, &m, &r, u, &expect[i]);
            else txs[i] = tally_vote(t, &m, &r, u, &expect[i]);
        }
        int codes[TALLY_TXS];
        gt_block(t, 1000, txs, TALLY_TXS, codes);
        for (int i = 0; i < TALLY_TXS; i++) {
            cr_assert_eq(codes[i], expect[i], "seed %llu block %d tx %d: %s",
                         (unsigned long long)seed, b, i, t->msg[i]);
        }
        tally_check(t, &m, seed, b);
    }
    gt_free(t);
}

/* ---- credit ---- */

typedef struct credit_model {
    int64_t points;
    int64_t comp[3];
    bool suspended;
    uint64_t until;
} credit_model;

static int64_t model_score(const gz_credit_policy *p, const credit_model *m) {
    if (p->model == GZ_CREDIT_POINTS) return m->points;
    return (int64_t)((450000 * m->comp[0] + 350000 * m->comp[1] + 200000 * m->comp[2]) / 1000000);
}

static const char *model_status(const gz_credit_policy *p, const credit_model *m) {
    int64_t s = model_score(p, m);
    if (p->model == GZ_CREDIT_POINTS) return s <= p->suspend_at ? "suspended" : "normal";
    if (m->suspended) return "suspended";
    if (s < 70) return "watch";
    if (s >= 90) return "whitelist";
    if (s >= 85) return "pioneer";
    return "normal";
}

/* After a change at time now: a composite suspension starts below 50 and ends
 * once its time has run out with the score back at 50. */
static void model_settle(const gz_credit_policy *p, credit_model *m, uint64_t now) {
    if (p->model == GZ_CREDIT_POINTS) return;
    int64_t s = model_score(p, m);
    if (m->suspended) {
        if (now >= m->until && s >= 50) m->suspended = false;
    } else if (s < 50) {
        m->suspended = true;
        m->until = now + p->suspend_ms;
    }
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

static void credit_run(bool composite, uint64_t seed) {
    rng r = {seed};
    gt *t = gt_new(1);
    if (composite) gt_composite(t);
    t->g.policy.credit.suspend_ms = 20 * DAY_MS;
    t->g.policy.credit.n_reasons = 2;
    t->g.policy.credit.reasons[0] = (gz_credit_reason){1, -30, 30};
    t->g.policy.credit.reasons[1] = (gz_credit_reason){2, -3, 3};
    t->g.policy.credit.max = composite ? 0 : 40;
    t->g.policy.credit.initial = composite ? 0 : 20;
    gt_open(t);
    const gz_credit_policy *p = &t->g.policy.credit;
    GT_OK(t, tx_issuer(t, T_REG, "ip", "ctl", T_U(0), "x"));
    credit_model m = {.points = 20, .comp = {80, 80, 80}};
    int suspended_steps = 0, lifts = 0;
    bool in_suspension = false;
    for (int i = 0; i < 600; i++) {
        bool tick = below(&r, 6) == 0;
        uint64_t dt = !tick          ? 1000
                      : below(&r, 2) ? DAY_MS * (1 + below(&r, 30))
                                     : 1 + below(&r, 5000);
        /* The block start lifts a suspension that is due before any tx runs. */
        if (m.suspended && t->time + dt >= m.until) model_settle(p, &m, t->time + dt);
        if (tick) {
            gt_tick(t, dt);
        } else {
            uint64_t reason = 1 + below(&r, 2);
            int64_t bound = reason == 1 ? 30 : 3;
            int64_t delta = (int64_t)below(&r, (uint64_t)(2 * bound + 3)) - bound - 1;
            uint64_t comp = composite ? 1 + below(&r, 3) : 0;
            int code = gt_run(t, tx_credit(t, T_CREDIT, "ctl", comp, delta, reason));
            int want = delta == 0 ? 12 : (delta < -bound || delta > bound) ? 9 : 0;
            cr_assert_eq(code, want, "seed %llu step %d: %s", (unsigned long long)seed, i,
                         t->msg[0]);
            if (code == 0 && composite) {
                m.comp[comp - 1] = clamp64(m.comp[comp - 1] + delta, 0, 100);
            }
            if (code == 0 && !composite) m.points = clamp64(m.points + delta, 0, 40);
            if (code == 0) model_settle(p, &m, t->time);
        }
        json_t *c = gt_controller(t, "ctl");
        cr_assert_eq(jint(c, "score"), model_score(p, &m), "seed %llu step %d",
                     (unsigned long long)seed, i);
        cr_assert_str_eq(jstr(c, "status"), model_status(p, &m), "seed %llu step %d",
                         (unsigned long long)seed, i);
        if (composite && m.suspended) cr_assert_eq((uint64_t)jint(c, "suspended_until"), m.until);
        json_decref(c);
        bool now_suspended = strcmp(model_status(p, &m), "suspended") == 0;
        lifts += in_suspension && !now_suspended;
        in_suspension = now_suspended;
        suspended_steps += now_suspended;
    }
    /* The walk went through suspensions and out of them again. */
    cr_expect_gt(suspended_steps, 10, "seed %llu", (unsigned long long)seed);
    cr_expect_gt(lifts, 2, "seed %llu", (unsigned long long)seed);
    gt_free(t);
}

Test(gov_prop, credit_points_follows_model) { credit_run(false, 0x5eed0004); }
Test(gov_prop, credit_composite_follows_model) { credit_run(true, 0x5eed0005); }

/* ---- determinism ---- */

enum { DET_USERS = 24, DET_BLOCKS = 40, DET_TXS = 40 };

typedef struct det {
    gt *t;
    uint8_t props[256][32];
    int n_props;
} det;

static gz_tx *det_tx(det *d, rng *r) {
    gt *t = d->t;
    static const char *const CTL[] = {"c0", "c1", "c2", NULL};
    int u = (int)below(r, DET_USERS);
    char id[24];
    snprintf(id, sizeof id, "x%llu", (unsigned long long)below(r, 40));
    switch (below(r, 9)) {
    case 0:
        return tx_issuer(t, T_REG, id, CTL[below(r, 3)], T_U(u), "name");
    case 1:
        return tx_credit(t, T_CREDIT, CTL[below(r, 3)], 0, (int64_t)below(r, 11) - 5, 1);
    case 2:
        return tx_release(t, T_U(u), id, "i0", t->time + 1000 + DAY_MS * (6 + below(r, 3)));
    case 3:
        return tx_grant(t, T_U(u), 1 + below(r, 30), 1 + below(r, 7));
    case 4: {
        gz_tx *tx = below(r, 2) ? tx_distrust(t, T_U(u), 1 + below(r, 2), CTL[below(r, 3)])
                                : tx_proposal(t, T_GOV, 4 + below(r, 4), "a/b", CTL, 0, below(r, 3),
                                              1 + below(r, 2), 1000 * (1 + below(r, 200)));
        if (d->n_props < 256) gt_id(t, tx, d->props[d->n_props++]);
        return tx;
    }
    case 5:
    case 6:
        if (d->n_props > 0) {
            return tx_vote(t, T_U(u), d->props[below(r, (uint64_t)d->n_props)], 1,
                           (unsigned)below(r, 3));
        }
        return tx_grant(t, T_U(u), 1, 1);
    case 7:
        if (d->n_props > 0) return tx_cosign(t, T_U(u), d->props[below(r, (uint64_t)d->n_props)]);
        return tx_grant(t, T_U(u), 1, 2);
    default: {
        uint8_t ids[2][32];
        uint32_t n = d->n_props > 1 ? 2 : d->n_props;
        for (uint32_t k = 0; k < n; k++)
            memcpy(ids[k], d->props[below(r, (uint64_t)d->n_props)], 32);
        if (n == 0) return tx_grant(t, T_U(u), 1, 3);
        return tx_pool(t, T_TREAS, id, 1 + below(r, 100000), (const uint8_t(*)[32])ids, n);
    }
    }
}

/* Runs a seeded random history; roots[b] is the state root after block b. */
static void det_run(uint64_t seed, uint8_t roots[DET_BLOCKS][32], int *ok_count) {
    rng r = {seed};
    det d;
    memset(&d, 0, sizeof d);
    d.t = gt_new(DET_USERS);
    for (int u = 0; u < DET_USERS; u++) gt_user(d.t, u, u % 11, (uint64_t)u % 8);
    d.t->g.policy.votes.cosigners_required = 3;
    gt_open(d.t);
    GT_OK(d.t, tx_issuer(d.t, T_REG, "i0", "c0", T_U(0), "x"));
    GT_OK(d.t, tx_issuer(d.t, T_REG, "i1", "c1", T_U(0), "x"));
    GT_OK(d.t, tx_issuer(d.t, T_REG, "i2", "c2", T_U(0), "x"));
    *ok_count = 0;
    for (int b = 0; b < DET_BLOCKS; b++) {
        gz_tx *txs[DET_TXS];
        for (int i = 0; i < DET_TXS; i++) txs[i] = det_tx(&d, &r);
        int codes[DET_TXS];
        gt_block(d.t, 1000 + below(&r, 2) * DAY_MS, txs, DET_TXS, codes);
        for (int i = 0; i < DET_TXS; i++) *ok_count += codes[i] == 0;
        ledger_state_root(d.t->l, roots[b]);
    }
    gt_free(d.t);
}

Test(gov_prop, same_txs_same_state_root, .timeout = 60) {
    static uint8_t a[DET_BLOCKS][32], b[DET_BLOCKS][32], c[DET_BLOCKS][32];
    int ok_a = 0, ok_b = 0, ok_c = 0;
    det_run(0x5eed0006, a, &ok_a);
    det_run(0x5eed0006, b, &ok_b);
    det_run(0x5eed0007, c, &ok_c);
    for (int i = 0; i < DET_BLOCKS; i++) {
        cr_assert_eq(memcmp(a[i], b[i], 32), 0, "seed 0x5eed0006: roots differ at block %d", i);
    }
    cr_expect_eq(ok_a, ok_b);
    cr_expect_neq(memcmp(a[DET_BLOCKS - 1], c[DET_BLOCKS - 1], 32), 0,
                  "another history, another root");
    /* The random histories exercise success as well as rejection. */
    cr_expect_gt(ok_a, DET_BLOCKS * DET_TXS / 5);
    cr_expect_lt(ok_a, DET_BLOCKS * DET_TXS);
}
