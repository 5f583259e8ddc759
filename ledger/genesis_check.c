/* genesis: defaults, the validation rules, and the writer. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/hash.h"
#include "ledger/genesis.h"

static const char *const role_names[GZ_ROLE_COUNT] = {"registrar", "credit_officer", "treasurer",
                                                      "governor"};

const char *ledger_role_name(int role) {
    if (role < 0 || role >= GZ_ROLE_COUNT) return NULL;
    return role_names[role];
}

void ledger_genesis_default(gz_genesis *g) {
    memset(g, 0, sizeof *g);
    snprintf(g->chain_id, sizeof g->chain_id, "%s", "gongzhi-devnet");
    g->genesis_time = 1767225600000ull;
    g->consensus = (gz_consensus_params){.block_max_txs = 10000, .block_max_bytes = 4194304,
                                         .timeout_propose_ms = 1000, .timeout_vote_ms = 500,
                                         .timeout_delta_ms = 500, .empty_block_ms = 1000,
                                         .max_clock_drift_ms = 5000,
                                         .evidence_max_age = GZ_EVIDENCE_MAX_AGE_DEFAULT};
    gz_credit_policy *c = &g->policy.credit;
    c->model = GZ_CREDIT_POINTS;
    c->initial = 10;
    c->max = 10;
    c->suspend_at = 0;
    c->n_reasons = 3;
    c->reasons[0] = (gz_credit_reason){1, -5, 5};
    c->reasons[1] = (gz_credit_reason){3, -10, -5};
    c->reasons[2] = (gz_credit_reason){4, -20, -20};
    g->policy.votes = (gz_vote_policy){
        .cosigners_required = 20, .cosigner_classes = 7, .cosign_window_ms = 604800000,
        .voter_min_level = 8, .voter_classes = 7, .reviewer_min_level = 8,
        .pre_review_ms = 604800000, .pre_review_close_ms = 0, .pre_review_reject_ppm = 300000,
        .distrust_quorum = 20, .distrust_delta = -5, .trust_delta = 2};
    static const uint64_t caps[GZ_DAO_CATEGORIES + 1] = {0,      450000, 100000, 50000,
                                                         150000, 50000,  100000, 100000};
    g->policy.dao.total = 10000;
    memcpy(g->policy.dao.caps_ppm, caps, sizeof caps);
}

void ledger_genesis_free(gz_genesis *g) {
    if (g == NULL) return;
    free(g->accounts);
    memset(g, 0, sizeof *g);
}

int ledger_genesis_add_account(gz_genesis *g, const gz_genesis_account *a) {
    if (g->n_accounts >= GZ_GENESIS_ACCOUNTS_MAX) return GZ_ELIMIT;
    if (g->n_accounts == g->cap_accounts) {
        size_t cap = g->cap_accounts ? g->cap_accounts * 2 : 16;
        gz_genesis_account *p = realloc(g->accounts, cap * sizeof *p);
        if (p == NULL) return GZ_ENOMEM;
        g->accounts = p;
        g->cap_accounts = cap;
    }
    g->accounts[g->n_accounts++] = *a;
    return GZ_OK;
}

bool ledger_genesis_has_role(const gz_genesis *g, int role, const uint8_t id[32]) {
    assert(role >= 0);
    assert(role < GZ_ROLE_COUNT);
    for (uint32_t i = 0; i < g->n_authorities[role]; i++) {
        if (memcmp(g->authorities[role][i], id, 32) == 0) return true;
    }
    return false;
}

/* ---- validation ---- */

#define I64MAX ((uint64_t)INT64_MAX)

static int range(gz_msg *msg, const char *path, uint64_t v, uint64_t lo, uint64_t hi) {
    if (v >= lo && v <= hi) return GZ_OK;
    return gz_fail(msg, GZ_EARG, "%s: must be in %llu..%llu", path, (unsigned long long)lo,
                   (unsigned long long)hi);
}

static int srange(gz_msg *msg, const char *path, int64_t v, int64_t lo, int64_t hi) {
    if (v >= lo && v <= hi) return GZ_OK;
    return gz_fail(msg, GZ_EARG, "%s: must be in %lld..%lld", path, (long long)lo,
                   (long long)hi);
}

static int check_chain(const gz_genesis *g, gz_msg *msg) {
    size_t n = strnlen(g->chain_id, sizeof g->chain_id);
    bool ok = n >= 1 && n <= GZ_CHAIN_ID_MAX;
    for (size_t i = 0; ok && i < n; i++) ok = g->chain_id[i] > 0x20 && g->chain_id[i] < 0x7f;
    if (!ok) return gz_fail(msg, GZ_EARG, "chain_id: must be 1..64 printable ASCII characters");
    return range(msg, "genesis_time", g->genesis_time, 0, I64MAX);
}

static int check_validators(const gz_genesis *g, gz_msg *msg) {
    if (g->n_validators < 1 || g->n_validators > GZ_VALIDATORS_MAX) {
        return gz_fail(msg, GZ_EARG, "validators: expected 1..%d validators", GZ_VALIDATORS_MAX);
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < g->n_validators; i++) {
        const gz_validator *v = &g->validators[i];
        if (strnlen(v->name, sizeof v->name) > GZ_LABEL_MAX) {
            return gz_fail(msg, GZ_EARG, "validators[%u].name: longer than 64 bytes", i);
        }
        if (v->power == 0 || v->power > I64MAX) {
            return gz_fail(msg, GZ_EARG, "validators[%u].power: must be in 1..%llu", i,
                           (unsigned long long)I64MAX);
        }
        if (v->power > GZ_TOTAL_POWER_MAX - total) {
            return gz_fail(msg, GZ_EARG, "validators[%u].power: total power must be at most %llu",
                           i, (unsigned long long)GZ_TOTAL_POWER_MAX);
        }
        total += v->power;
        for (uint32_t j = 0; j < i; j++) {
            if (memcmp(g->validators[j].pub_key, v->pub_key, 32) == 0) {
                return gz_fail(msg, GZ_EARG, "validators[%u].pub_key: duplicate validator", i);
            }
        }
    }
    return GZ_OK;
}

static int check_authorities(const gz_genesis *g, gz_msg *msg) {
    for (int r = 0; r < GZ_ROLE_COUNT; r++) {
        if (g->n_authorities[r] > GZ_AUTHORITIES_MAX) {
            return gz_fail(msg, GZ_EARG, "authorities.%s: more than %d entries", role_names[r],
                           GZ_AUTHORITIES_MAX);
        }
        for (uint32_t i = 0; i < g->n_authorities[r]; i++) {
            for (uint32_t j = 0; j < i; j++) {
                if (memcmp(g->authorities[r][i], g->authorities[r][j], 32) == 0) {
                    return gz_fail(msg, GZ_EARG, "authorities.%s[%u]: duplicate account",
                                   role_names[r], i);
                }
            }
        }
    }
    return GZ_OK;
}

typedef struct acct_ref {
    const uint8_t *id;
    size_t i;
} acct_ref;

static int acct_ref_cmp(const void *a, const void *b) {
    const acct_ref *x = a;
    const acct_ref *y = b;
    int c = memcmp(x->id, y->id, 32);
    if (c != 0) return c;
    return (x->i > y->i) - (x->i < y->i);
}

static int check_accounts(const gz_genesis *g, gz_msg *msg) {
    if (g->n_accounts > GZ_GENESIS_ACCOUNTS_MAX) {
        return gz_fail(msg, GZ_EARG, "accounts: more than %u entries", GZ_GENESIS_ACCOUNTS_MAX);
    }
    for (size_t i = 0; i < g->n_accounts; i++) {
        const gz_genesis_account *a = &g->accounts[i];
        if (a->level > GZ_LEVEL_MAX) {
            return gz_fail(msg, GZ_EARG, "accounts[%zu].level: must be in 0..10", i);
        }
        if (a->classes > I64MAX) {
            return gz_fail(msg, GZ_EARG, "accounts[%zu].classes: too large", i);
        }
        if (strnlen(a->label, sizeof a->label) > GZ_LABEL_MAX) {
            return gz_fail(msg, GZ_EARG, "accounts[%zu].label: longer than 64 bytes", i);
        }
    }
    if (g->n_accounts < 2) return GZ_OK;
    acct_ref *v = malloc(g->n_accounts * sizeof *v);
    if (v == NULL) return GZ_ENOMEM;
    for (size_t i = 0; i < g->n_accounts; i++) v[i] = (acct_ref){g->accounts[i].account, i};
    qsort(v, g->n_accounts, sizeof *v, acct_ref_cmp);
    int err = GZ_OK;
    for (size_t i = 1; i < g->n_accounts && err == GZ_OK; i++) {
        if (memcmp(v[i - 1].id, v[i].id, 32) == 0) {
            err = gz_fail(msg, GZ_EARG, "accounts[%zu]: duplicate account", v[i].i);
        }
    }
    free(v);
    return err;
}

static int check_consensus(const gz_consensus_params *c, gz_msg *msg) {
    int err = range(msg, "consensus.block_max_txs", c->block_max_txs, 1, GZ_BLOCK_TXS_MAX);
    if (err == GZ_OK) {
        err = range(msg, "consensus.block_max_bytes", c->block_max_bytes, GZ_TX_BYTES_MAX,
                    GZ_BLOCK_BYTES_MAX);
    }
    if (err == GZ_OK) {
        err = range(msg, "consensus.timeout_propose_ms", c->timeout_propose_ms, 1, I64MAX);
    }
    if (err == GZ_OK) err = range(msg, "consensus.timeout_vote_ms", c->timeout_vote_ms, 1, I64MAX);
    if (err == GZ_OK) {
        err = range(msg, "consensus.timeout_delta_ms", c->timeout_delta_ms, 0, I64MAX);
    }
    if (err == GZ_OK) err = range(msg, "consensus.empty_block_ms", c->empty_block_ms, 0, I64MAX);
    if (err == GZ_OK) {
        err = range(msg, "consensus.max_clock_drift_ms", c->max_clock_drift_ms, 1, I64MAX);
    }
    if (err == GZ_OK) err = range(msg, "consensus.evidence_max_age", c->evidence_max_age, 1, I64MAX);
    return err;
}

static int check_reasons(const gz_credit_policy *c, gz_msg *msg) {
    if (c->n_reasons > GZ_CREDIT_REASONS_MAX) {
        return gz_fail(msg, GZ_EARG, "policy.credit.reasons: more than %d reasons",
                       GZ_CREDIT_REASONS_MAX);
    }
    for (uint32_t i = 0; i < c->n_reasons; i++) {
        const gz_credit_reason *r = &c->reasons[i];
        char p[64];
        snprintf(p, sizeof p, "policy.credit.reasons.%llu", (unsigned long long)r->reason);
        int err = range(msg, p, r->reason, 1, GZ_CREDIT_REASON_MAX);
        if (err == GZ_OK) {
            err = srange(msg, p, r->min_delta, -GZ_CREDIT_DELTA_MAX, GZ_CREDIT_DELTA_MAX);
        }
        if (err == GZ_OK) err = srange(msg, p, r->max_delta, r->min_delta, GZ_CREDIT_DELTA_MAX);
        if (err == GZ_OK && i > 0 && c->reasons[i - 1].reason >= r->reason) {
            err = gz_fail(msg, GZ_EARG, "%s: reasons must be distinct and sorted", p);
        }
        if (err != GZ_OK) return err;
    }
    return GZ_OK;
}

static int check_points(const gz_credit_policy *c, gz_msg *msg) {
    int err = srange(msg, "policy.credit.max", c->max, 0, GZ_CREDIT_DELTA_MAX);
    if (err == GZ_OK) err = srange(msg, "policy.credit.initial", c->initial, 0, c->max);
    if (err == GZ_OK) err = srange(msg, "policy.credit.suspend_at", c->suspend_at, 0, c->max);
    return err;
}

static int check_composite(const gz_credit_policy *c, gz_msg *msg) {
    uint64_t sum = 0;
    for (int i = 0; i < GZ_CREDIT_COMPONENTS; i++) {
        char p[64];
        snprintf(p, sizeof p, "policy.credit.weights_ppm.%d", i + 1);
        int err = range(msg, p, c->weights_ppm[i], 0, GZ_PPM);
        snprintf(p, sizeof p, "policy.credit.initial_components.%d", i + 1);
        if (err == GZ_OK) err = range(msg, p, c->initial_components[i], 0, GZ_CREDIT_COMPONENT_MAX);
        if (err != GZ_OK) return err;
        sum += c->weights_ppm[i];
    }
    if (sum != GZ_PPM) {
        return gz_fail(msg, GZ_EARG, "policy.credit.weights_ppm: must sum to 1000000 (got %llu)",
                       (unsigned long long)sum);
    }
    int err = range(msg, "policy.credit.suspend_below", c->suspend_below, 0,
                    GZ_CREDIT_COMPONENT_MAX);
    if (err == GZ_OK) {
        err = range(msg, "policy.credit.watch_below", c->watch_below, c->suspend_below,
                    GZ_CREDIT_COMPONENT_MAX);
    }
    if (err == GZ_OK) {
        err = range(msg, "policy.credit.pioneer_at", c->pioneer_at, c->watch_below,
                    GZ_CREDIT_COMPONENT_MAX);
    }
    if (err == GZ_OK) {
        err = range(msg, "policy.credit.whitelist_at", c->whitelist_at, c->pioneer_at,
                    GZ_CREDIT_COMPONENT_MAX);
    }
    if (err == GZ_OK) err = range(msg, "policy.credit.suspend_ms", c->suspend_ms, 1, I64MAX);
    return err;
}

typedef struct u_rule {
    const char *name;
    uint64_t v;
    uint64_t lo;
    uint64_t hi;
} u_rule;

static int check_votes(const gz_vote_policy *v, gz_msg *msg) {
    const u_rule rules[] = {
        {"cosigners_required", v->cosigners_required, 1, I64MAX},
        {"cosigner_classes", v->cosigner_classes, 0, I64MAX},
        {"cosign_window_ms", v->cosign_window_ms, 1, I64MAX},
        {"voter_min_level", v->voter_min_level, 0, GZ_LEVEL_MAX},
        {"voter_classes", v->voter_classes, 0, I64MAX},
        {"reviewer_min_level", v->reviewer_min_level, 0, GZ_LEVEL_MAX},
        {"pre_review_ms", v->pre_review_ms, 0, I64MAX},
        {"pre_review_close_ms", v->pre_review_close_ms, 0, v->pre_review_ms},
        {"pre_review_reject_ppm", v->pre_review_reject_ppm, 0, GZ_PPM},
        {"distrust_quorum", v->distrust_quorum, 0, I64MAX},
    };
    char p[64];
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        snprintf(p, sizeof p, "policy.votes.%s", rules[i].name);
        int err = range(msg, p, rules[i].v, rules[i].lo, rules[i].hi);
        if (err != GZ_OK) return err;
    }
    int err = srange(msg, "policy.votes.distrust_delta", v->distrust_delta, -GZ_CREDIT_DELTA_MAX,
                     GZ_CREDIT_DELTA_MAX);
    if (err == GZ_OK) {
        err = srange(msg, "policy.votes.trust_delta", v->trust_delta, -GZ_CREDIT_DELTA_MAX,
                     GZ_CREDIT_DELTA_MAX);
    }
    return err;
}

static int check_dao(const gz_dao_policy *d, gz_msg *msg) {
    int err = range(msg, "policy.dao.total", d->total, 0, I64MAX);
    uint64_t sum = 0;
    for (int c = 1; err == GZ_OK && c <= GZ_DAO_CATEGORIES; c++) {
        char p[64];
        snprintf(p, sizeof p, "policy.dao.caps_ppm.%d", c);
        err = range(msg, p, d->caps_ppm[c], 0, GZ_PPM);
        sum += d->caps_ppm[c];
    }
    if (err == GZ_OK && sum > GZ_PPM) {
        err = gz_fail(msg, GZ_EARG, "policy.dao.caps_ppm: caps sum to %llu ppm, over 1000000",
                      (unsigned long long)sum);
    }
    return err;
}

int ledger_genesis_check(const gz_genesis *g, gz_msg *msg) {
    int err = check_chain(g, msg);
    if (err == GZ_OK) err = check_validators(g, msg);
    if (err == GZ_OK) err = check_authorities(g, msg);
    if (err == GZ_OK) err = check_accounts(g, msg);
    if (err == GZ_OK) err = check_consensus(&g->consensus, msg);
    const gz_credit_policy *c = &g->policy.credit;
    if (err == GZ_OK && c->model != GZ_CREDIT_POINTS && c->model != GZ_CREDIT_COMPOSITE) {
        err = gz_fail(msg, GZ_EARG, "policy.credit.model: expected \"points\" or \"composite\"");
    }
    if (err == GZ_OK) {
        err = c->model == GZ_CREDIT_POINTS ? check_points(c, msg) : check_composite(c, msg);
    }
    if (err == GZ_OK) err = check_reasons(c, msg);
    if (err == GZ_OK) err = check_votes(&g->policy.votes, msg);
    if (err == GZ_OK) err = check_dao(&g->policy.dao, msg);
    return err;
}
