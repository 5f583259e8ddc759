/* genesis.json parsing: JSON types and shapes here, ranges and cross-field
 * rules in ledger_genesis_check (genesis_check.c), so both the parser and a
 * struct filled in code (devnet) pass the same rules. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/json.h"
#include "ledger/genesis.h"

/* The parser reads every integer over its whole JSON range and leaves the
 * ranges to ledger_genesis_check, so that a genesis filled in code (devnet)
 * passes the same rules as a parsed one. */
static int get_u64(const json_t *obj, const char *path, const char *key, uint64_t *out,
                   gz_msg *msg) {
    return core_json_u64(obj, path, key, 0, UINT64_MAX, out, msg);
}

static int get_i64(const json_t *obj, const char *path, const char *key, int64_t *out,
                   gz_msg *msg) {
    return core_json_i64(obj, path, key, INT64_MIN, INT64_MAX, out, msg);
}

/* A decimal key of a numbered object ("1", "42"): no sign, no leading zero. */
static int number_key(const char *k, const char *p, uint64_t max, uint64_t *out, gz_msg *msg) {
    size_t n = strlen(k);
    bool ok = n >= 1 && n <= 10 && !(k[0] == '0' && n > 1);
    uint64_t v = 0;
    for (size_t i = 0; ok && i < n; i++) {
        ok = k[i] >= '0' && k[i] <= '9';
        v = v * 10 + (uint64_t)(k[i] - '0');
    }
    if (!ok || v < 1 || v > max) {
        return gz_fail(msg, GZ_EARG, "%s: expected a number 1..%llu as key", p,
                       (unsigned long long)max);
    }
    *out = v;
    return GZ_OK;
}

/* ---- sections ---- */

static int parse_validator(const json_t *v, const char *p, gz_validator *val, gz_msg *msg) {
    static const char *const keys[] = {"name", "pub_key", "power", NULL};
    int err = core_json_object(v, p, NULL, keys, &v, msg);
    if (err == GZ_OK) err = core_json_str(v, p, "name", 0, GZ_LABEL_MAX, val->name, msg);
    if (err == GZ_OK) err = core_json_hex_fixed(v, p, "pub_key", val->pub_key, 32, msg);
    if (err == GZ_OK) err = get_u64(v, p, "power", &val->power, msg);
    return err;
}

static int parse_validators(const json_t *root, gz_genesis *g, gz_msg *msg) {
    const json_t *arr;
    size_t n = 0;
    int err = core_json_array(root, "", "validators", 0, GZ_VALIDATORS_MAX, &arr, &n, msg);
    for (size_t i = 0; err == GZ_OK && i < n; i++) {
        char q[CORE_JSON_PATH_MAX];
        core_json_path_index(q, "validators", i);
        err = parse_validator(json_array_get(arr, i), q, &g->validators[i], msg);
    }
    if (err == GZ_OK) g->n_validators = (uint32_t)n;
    return err;
}

static int parse_authorities(const json_t *root, gz_genesis *g, gz_msg *msg) {
    static const char *const keys[] = {"registrar", "credit_officer", "treasurer", "governor",
                                       NULL};
    const json_t *obj;
    int err = core_json_object(root, "", "authorities", keys, &obj, msg);
    for (int r = 0; err == GZ_OK && r < GZ_ROLE_COUNT; r++) {
        char q[CORE_JSON_PATH_MAX];
        const json_t *arr;
        size_t n = 0;
        core_json_path(q, "authorities", ledger_role_name(r));
        err = core_json_array(obj, "authorities", ledger_role_name(r), 0, GZ_AUTHORITIES_MAX, &arr,
                              &n, msg);
        for (size_t i = 0; err == GZ_OK && i < n; i++) {
            char e[CORE_JSON_PATH_MAX];
            core_json_path_index(e, q, i);
            err = core_json_hex_fixed(json_array_get(arr, i), e, NULL, g->authorities[r][i], 32, msg);
        }
        if (err == GZ_OK) g->n_authorities[r] = (uint32_t)n;
    }
    return err;
}

static int parse_account(const json_t *v, const char *p, gz_genesis_account *a, gz_msg *msg) {
    static const char *const keys[] = {"account", "level", "classes", "label", NULL};
    int err = core_json_object(v, p, NULL, keys, &v, msg);
    if (err == GZ_OK) err = core_json_hex_fixed(v, p, "account", a->account, 32, msg);
    if (err == GZ_OK) err = get_u64(v, p, "level", &a->level, msg);
    if (err == GZ_OK) err = get_u64(v, p, "classes", &a->classes, msg);
    if (err == GZ_OK) err = core_json_str(v, p, "label", 0, GZ_LABEL_MAX, a->label, msg);
    return err;
}

static int parse_accounts(const json_t *root, gz_genesis *g, gz_msg *msg) {
    if (json_object_get(root, "accounts") == NULL) return GZ_OK; /* the one optional key */
    const json_t *arr;
    size_t n = 0;
    int err = core_json_array(root, "", "accounts", 0, GZ_GENESIS_ACCOUNTS_MAX, &arr, &n, msg);
    for (size_t i = 0; err == GZ_OK && i < n; i++) {
        char p[CORE_JSON_PATH_MAX];
        gz_genesis_account a;
        memset(&a, 0, sizeof a);
        core_json_path_index(p, "accounts", i);
        err = parse_account(json_array_get(arr, i), p, &a, msg);
        if (err == GZ_OK) err = ledger_genesis_add_account(g, &a);
    }
    return err;
}

static int parse_consensus(const json_t *root, gz_genesis *g, gz_msg *msg) {
    static const char *const keys[] = {"block_max_txs",    "block_max_bytes", "timeout_propose_ms",
                                       "timeout_vote_ms",  "timeout_delta_ms", "empty_block_ms",
                                       "max_clock_drift_ms", "evidence_max_age", NULL};
    const char *p = "consensus";
    const json_t *obj;
    gz_consensus_params *c = &g->consensus;
    int err = core_json_object(root, "", p, keys, &obj, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "block_max_txs", &c->block_max_txs, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "block_max_bytes", &c->block_max_bytes, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "timeout_propose_ms", &c->timeout_propose_ms, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "timeout_vote_ms", &c->timeout_vote_ms, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "timeout_delta_ms", &c->timeout_delta_ms, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "empty_block_ms", &c->empty_block_ms, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "max_clock_drift_ms", &c->max_clock_drift_ms, msg);
    c->evidence_max_age = GZ_EVIDENCE_MAX_AGE_DEFAULT; /* optional (SPEC §7) */
    if (err == GZ_OK && json_object_get(obj, "evidence_max_age") != NULL)
        err = get_u64(obj, p, "evidence_max_age", &c->evidence_max_age, msg);
    return err;
}

static int parse_reasons(const json_t *credit, const char *path, gz_credit_policy *c,
                         gz_msg *msg) {
    char p[CORE_JSON_PATH_MAX];
    const json_t *obj;
    core_json_path(p, path, "reasons");
    int err = core_json_object(credit, path, "reasons", NULL, &obj, msg);
    if (err != GZ_OK) return err;
    if (json_object_size(obj) > GZ_CREDIT_REASONS_MAX) {
        return gz_fail(msg, GZ_EARG, "%s: more than %d reasons", p, GZ_CREDIT_REASONS_MAX);
    }
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        char q[CORE_JSON_PATH_MAX], e[2][CORE_JSON_PATH_MAX];
        gz_credit_reason *r = &c->reasons[c->n_reasons];
        core_json_path(q, p, k);
        core_json_path_index(e[0], q, 0);
        core_json_path_index(e[1], q, 1);
        err = number_key(k, q, GZ_CREDIT_REASON_MAX, &r->reason, msg);
        if (err == GZ_OK && (!json_is_array(v) || json_array_size(v) != 2)) {
            err = gz_fail(msg, GZ_EARG, "%s: expected [min_delta, max_delta]", q);
        }
        if (err == GZ_OK) err = get_i64(json_array_get(v, 0), e[0], NULL, &r->min_delta, msg);
        if (err == GZ_OK) err = get_i64(json_array_get(v, 1), e[1], NULL, &r->max_delta, msg);
        if (err != GZ_OK) return err;
        c->n_reasons++;
    }
    return err;
}

static int parse_components(const json_t *credit, const char *path, const char *key,
                            uint64_t out[GZ_CREDIT_COMPONENTS], gz_msg *msg) {
    static const char *const keys[] = {"1", "2", "3", NULL};
    char p[CORE_JSON_PATH_MAX];
    const json_t *obj;
    core_json_path(p, path, key);
    int err = core_json_object(credit, path, key, keys, &obj, msg);
    for (int i = 0; err == GZ_OK && i < GZ_CREDIT_COMPONENTS; i++) {
        err = get_u64(obj, p, keys[i], &out[i], msg);
    }
    return err;
}

static int parse_composite(const json_t *obj, const char *p, gz_credit_policy *c, gz_msg *msg) {
    static const char *const keys[] = {"model",        "weights_ppm", "initial_components",
                                       "watch_below",  "suspend_below", "suspend_ms",
                                       "pioneer_at",   "whitelist_at", "reasons", NULL};
    int err = core_json_object(obj, p, NULL, keys, &obj, msg);
    if (err == GZ_OK) err = parse_components(obj, p, "weights_ppm", c->weights_ppm, msg);
    if (err == GZ_OK) {
        err = parse_components(obj, p, "initial_components", c->initial_components, msg);
    }
    if (err == GZ_OK) err = get_u64(obj, p, "watch_below", &c->watch_below, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "suspend_below", &c->suspend_below, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "suspend_ms", &c->suspend_ms, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "pioneer_at", &c->pioneer_at, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "whitelist_at", &c->whitelist_at, msg);
    if (err == GZ_OK) err = parse_reasons(obj, p, c, msg);
    return err;
}

static int parse_points(const json_t *obj, const char *p, gz_credit_policy *c, gz_msg *msg) {
    static const char *const keys[] = {"model", "initial", "max", "suspend_at", "reasons", NULL};
    int err = core_json_object(obj, p, NULL, keys, &obj, msg);
    if (err == GZ_OK) err = get_i64(obj, p, "initial", &c->initial, msg);
    if (err == GZ_OK) err = get_i64(obj, p, "max", &c->max, msg);
    if (err == GZ_OK) err = get_i64(obj, p, "suspend_at", &c->suspend_at, msg);
    if (err == GZ_OK) err = parse_reasons(obj, p, c, msg);
    return err;
}

static int reason_cmp(const void *a, const void *b) {
    const gz_credit_reason *x = a;
    const gz_credit_reason *y = b;
    return (x->reason > y->reason) - (x->reason < y->reason);
}

static int parse_credit(const json_t *policy, gz_credit_policy *c, gz_msg *msg) {
    const char *p = "policy.credit";
    char model[16];
    const json_t *obj;
    int err = core_json_object(policy, "policy", "credit", NULL, &obj, msg);
    if (err == GZ_OK) err = core_json_str(obj, p, "model", 0, sizeof model - 1, model, msg);
    if (err != GZ_OK) return err;
    if (strcmp(model, "points") == 0) {
        c->model = GZ_CREDIT_POINTS;
        err = parse_points(obj, p, c, msg);
    } else if (strcmp(model, "composite") == 0) {
        c->model = GZ_CREDIT_COMPOSITE;
        err = parse_composite(obj, p, c, msg);
    } else {
        return gz_fail(msg, GZ_EARG, "%s.model: expected \"points\" or \"composite\"", p);
    }
    if (err == GZ_OK) qsort(c->reasons, c->n_reasons, sizeof c->reasons[0], reason_cmp);
    return err;
}

static int parse_votes(const json_t *policy, gz_vote_policy *v, gz_msg *msg) {
    static const char *const keys[] = {
        "cosigners_required", "cosigner_classes", "cosign_window_ms",      "voter_min_level",
        "voter_classes",      "reviewer_min_level", "pre_review_ms",       "pre_review_close_ms",
        "pre_review_reject_ppm", "distrust_quorum", "distrust_delta",      "trust_delta", NULL};
    uint64_t *u[] = {&v->cosigners_required, &v->cosigner_classes, &v->cosign_window_ms,
                     &v->voter_min_level,    &v->voter_classes,    &v->reviewer_min_level,
                     &v->pre_review_ms,      &v->pre_review_close_ms, &v->pre_review_reject_ppm,
                     &v->distrust_quorum};
    const char *p = "policy.votes";
    const json_t *obj;
    int err = core_json_object(policy, "policy", "votes", keys, &obj, msg);
    for (size_t i = 0; err == GZ_OK && i < sizeof u / sizeof u[0]; i++) {
        err = get_u64(obj, p, keys[i], u[i], msg);
    }
    if (err == GZ_OK) err = get_i64(obj, p, "distrust_delta", &v->distrust_delta, msg);
    if (err == GZ_OK) err = get_i64(obj, p, "trust_delta", &v->trust_delta, msg);
    return err;
}

static int parse_dao(const json_t *policy, gz_dao_policy *d, gz_msg *msg) {
    static const char *const keys[] = {"total", "caps_ppm", NULL};
    const char *p = "policy.dao";
    const char *q = "policy.dao.caps_ppm";
    const json_t *obj;
    const json_t *caps;
    int err = core_json_object(policy, "policy", "dao", keys, &obj, msg);
    if (err == GZ_OK) err = get_u64(obj, p, "total", &d->total, msg);
    if (err == GZ_OK) err = core_json_object(obj, p, "caps_ppm", NULL, &caps, msg);
    if (err != GZ_OK) return err;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)caps, k, v) {
        char e[CORE_JSON_PATH_MAX];
        uint64_t cat;
        core_json_path(e, q, k);
        err = number_key(k, e, GZ_DAO_CATEGORIES, &cat, msg);
        if (err == GZ_OK) err = get_u64(v, e, NULL, &d->caps_ppm[cat], msg);
        if (err != GZ_OK) return err;
    }
    return err;
}

static int parse_policy(const json_t *root, gz_policy *pol, gz_msg *msg) {
    static const char *const keys[] = {"credit", "votes", "dao", NULL};
    const json_t *obj;
    int err = core_json_object(root, "", "policy", keys, &obj, msg);
    if (err == GZ_OK) err = parse_credit(obj, &pol->credit, msg);
    if (err == GZ_OK) err = parse_votes(obj, &pol->votes, msg);
    if (err == GZ_OK) err = parse_dao(obj, &pol->dao, msg);
    return err;
}

static int parse_root(const json_t *root, gz_genesis *g, gz_msg *msg) {
    static const char *const keys[] = {"chain_id",  "genesis_time", "validators", "authorities",
                                       "accounts",  "consensus",    "policy",     NULL};
    if (!json_is_object(root)) return gz_fail(msg, GZ_EARG, "genesis: expected an object");
    int err = core_json_object(root, "", NULL, keys, &root, msg);
    if (err == GZ_OK) err = core_json_str(root, "", "chain_id", 0, GZ_CHAIN_ID_MAX, g->chain_id, msg);
    if (err == GZ_OK) err = get_u64(root, "", "genesis_time", &g->genesis_time, msg);
    if (err == GZ_OK) err = parse_validators(root, g, msg);
    if (err == GZ_OK) err = parse_authorities(root, g, msg);
    if (err == GZ_OK) err = parse_accounts(root, g, msg);
    if (err == GZ_OK) err = parse_consensus(root, g, msg);
    if (err == GZ_OK) err = parse_policy(root, &g->policy, msg);
    return err;
}

int ledger_genesis_parse(gz_genesis *g, const char *json, size_t len, gz_msg *msg) {
    memset(g, 0, sizeof *g);
    if (len > GZ_GENESIS_BYTES_MAX) {
        return gz_fail(msg, GZ_EARG, "genesis: larger than %u bytes", GZ_GENESIS_BYTES_MAX);
    }
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return gz_fail(msg, GZ_EARG, "genesis: invalid JSON at line %d column %d: %s", jerr.line,
                       jerr.column, jerr.text);
    }
    int err = parse_root(root, g, msg);
    json_decref(root);
    if (err == GZ_OK) err = ledger_genesis_check(g, msg);
    if (err != GZ_OK) ledger_genesis_free(g);
    return err;
}

int ledger_genesis_load(gz_genesis *g, const char *path, gz_msg *msg) {
    memset(g, 0, sizeof *g);
    FILE *f = fopen(path, "rb");
    if (f == NULL) return gz_fail(msg, GZ_EIO, "genesis: cannot open %s", path);
    long size = -1;
    if (fseek(f, 0, SEEK_END) == 0) size = ftell(f);
    if (size < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return gz_fail(msg, GZ_EIO, "genesis: cannot read %s", path);
    }
    if ((unsigned long)size > GZ_GENESIS_BYTES_MAX) {
        fclose(f);
        return gz_fail(msg, GZ_EARG, "genesis: larger than %u bytes", GZ_GENESIS_BYTES_MAX);
    }
    char *buf = malloc((size_t)size + 1);
    if (buf == NULL) {
        fclose(f);
        return GZ_ENOMEM;
    }
    size_t n = fread(buf, 1, (size_t)size, f);
    bool failed = ferror(f) != 0 || n != (size_t)size;
    fclose(f);
    int err;
    if (failed) err = gz_fail(msg, GZ_EIO, "genesis: cannot read %s", path);
    else err = ledger_genesis_parse(g, buf, n, msg);
    free(buf);
    return err;
}
