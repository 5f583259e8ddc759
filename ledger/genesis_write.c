/* genesis: the writer (struct -> JSON text) and the genesis hash. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/hash.h"
#include "ledger/genesis.h"

static json_t *hex32(const uint8_t b[32]) {
    char h[65];
    gz_hex_encode(h, b, 32);
    return json_string(h);
}

static json_t *jint(uint64_t v) { return json_integer((json_int_t)v); }

/* Adds key -> value to obj, tracking allocation failure in *ok. */
static void put(json_t *obj, const char *key, json_t *value, bool *ok) {
    if (value == NULL || json_object_set_new(obj, key, value) != 0) *ok = false;
}

static void append(json_t *arr, json_t *value, bool *ok) {
    if (value == NULL || json_array_append_new(arr, value) != 0) *ok = false;
}

static json_t *validators_json(const gz_genesis *g, bool *ok) {
    json_t *arr = json_array();
    for (uint32_t i = 0; arr != NULL && i < g->n_validators; i++) {
        json_t *v = json_object();
        if (v != NULL) {
            put(v, "name", json_string(g->validators[i].name), ok);
            put(v, "pub_key", hex32(g->validators[i].pub_key), ok);
            put(v, "power", jint(g->validators[i].power), ok);
        }
        append(arr, v, ok);
    }
    return arr;
}

static json_t *authorities_json(const gz_genesis *g, bool *ok) {
    json_t *obj = json_object();
    for (int r = 0; obj != NULL && r < GZ_ROLE_COUNT; r++) {
        json_t *arr = json_array();
        for (uint32_t i = 0; arr != NULL && i < g->n_authorities[r]; i++) {
            append(arr, hex32(g->authorities[r][i]), ok);
        }
        put(obj, ledger_role_name(r), arr, ok);
    }
    return obj;
}

static json_t *accounts_json(const gz_genesis *g, bool *ok) {
    json_t *arr = json_array();
    for (size_t i = 0; arr != NULL && i < g->n_accounts; i++) {
        const gz_genesis_account *a = &g->accounts[i];
        json_t *v = json_object();
        if (v != NULL) {
            put(v, "account", hex32(a->account), ok);
            put(v, "level", jint(a->level), ok);
            put(v, "classes", jint(a->classes), ok);
            put(v, "label", json_string(a->label), ok);
        }
        append(arr, v, ok);
    }
    return arr;
}

static json_t *consensus_json(const gz_consensus_params *c, bool *ok) {
    json_t *o = json_object();
    if (o == NULL) return NULL;
    put(o, "block_max_txs", jint(c->block_max_txs), ok);
    put(o, "block_max_bytes", jint(c->block_max_bytes), ok);
    put(o, "timeout_propose_ms", jint(c->timeout_propose_ms), ok);
    put(o, "timeout_vote_ms", jint(c->timeout_vote_ms), ok);
    put(o, "timeout_delta_ms", jint(c->timeout_delta_ms), ok);
    put(o, "empty_block_ms", jint(c->empty_block_ms), ok);
    put(o, "max_clock_drift_ms", jint(c->max_clock_drift_ms), ok);
    if (c->evidence_max_age != GZ_EVIDENCE_MAX_AGE_DEFAULT) put(o, "evidence_max_age", jint(c->evidence_max_age), ok);
    return o;
}

static json_t *components_json(const uint64_t v[GZ_CREDIT_COMPONENTS], bool *ok) {
    json_t *o = json_object();
    for (int i = 0; o != NULL && i < GZ_CREDIT_COMPONENTS; i++) {
        char k[4];
        snprintf(k, sizeof k, "%d", i + 1);
        put(o, k, jint(v[i]), ok);
    }
    return o;
}

static json_t *credit_json(const gz_credit_policy *c, bool *ok) {
    json_t *o = json_object();
    if (o == NULL) return NULL;
    if (c->model == GZ_CREDIT_POINTS) {
        put(o, "model", json_string("points"), ok);
        put(o, "initial", json_integer(c->initial), ok);
        put(o, "max", json_integer(c->max), ok);
        put(o, "suspend_at", json_integer(c->suspend_at), ok);
    } else {
        put(o, "model", json_string("composite"), ok);
        put(o, "weights_ppm", components_json(c->weights_ppm, ok), ok);
        put(o, "initial_components", components_json(c->initial_components, ok), ok);
        put(o, "watch_below", jint(c->watch_below), ok);
        put(o, "suspend_below", jint(c->suspend_below), ok);
        put(o, "suspend_ms", jint(c->suspend_ms), ok);
        put(o, "pioneer_at", jint(c->pioneer_at), ok);
        put(o, "whitelist_at", jint(c->whitelist_at), ok);
    }
    json_t *r = json_object();
    for (uint32_t i = 0; r != NULL && i < c->n_reasons; i++) {
        char k[24];
        snprintf(k, sizeof k, "%llu", (unsigned long long)c->reasons[i].reason);
        put(r, k, json_pack("[I, I]", (json_int_t)c->reasons[i].min_delta,
                            (json_int_t)c->reasons[i].max_delta), ok);
    }
    put(o, "reasons", r, ok);
    return o;
}

static json_t *votes_json(const gz_vote_policy *v, bool *ok) {
    json_t *o = json_object();
    if (o == NULL) return NULL;
    put(o, "cosigners_required", jint(v->cosigners_required), ok);
    put(o, "cosigner_classes", jint(v->cosigner_classes), ok);
    put(o, "cosign_window_ms", jint(v->cosign_window_ms), ok);
    put(o, "voter_min_level", jint(v->voter_min_level), ok);
    put(o, "voter_classes", jint(v->voter_classes), ok);
    put(o, "reviewer_min_level", jint(v->reviewer_min_level), ok);
    put(o, "pre_review_ms", jint(v->pre_review_ms), ok);
    put(o, "pre_review_close_ms", jint(v->pre_review_close_ms), ok);
    put(o, "pre_review_reject_ppm", jint(v->pre_review_reject_ppm), ok);
    put(o, "distrust_quorum", jint(v->distrust_quorum), ok);
    put(o, "distrust_delta", json_integer(v->distrust_delta), ok);
    put(o, "trust_delta", json_integer(v->trust_delta), ok);
    return o;
}

static json_t *dao_json(const gz_dao_policy *d, bool *ok) {
    json_t *o = json_object();
    json_t *caps = json_object();
    for (int c = 1; caps != NULL && c <= GZ_DAO_CATEGORIES; c++) {
        char k[4];
        snprintf(k, sizeof k, "%d", c);
        put(caps, k, jint(d->caps_ppm[c]), ok);
    }
    if (o == NULL) {
        json_decref(caps);
        return NULL;
    }
    put(o, "total", jint(d->total), ok);
    put(o, "caps_ppm", caps, ok);
    return o;
}

static json_t *genesis_json(const gz_genesis *g) {
    bool ok = true;
    json_t *root = json_object();
    if (root == NULL) return NULL;
    put(root, "chain_id", json_string(g->chain_id), &ok);
    put(root, "genesis_time", jint(g->genesis_time), &ok);
    put(root, "validators", validators_json(g, &ok), &ok);
    put(root, "authorities", authorities_json(g, &ok), &ok);
    put(root, "accounts", accounts_json(g, &ok), &ok);
    put(root, "consensus", consensus_json(&g->consensus, &ok), &ok);
    json_t *policy = json_object();
    if (policy != NULL) {
        put(policy, "credit", credit_json(&g->policy.credit, &ok), &ok);
        put(policy, "votes", votes_json(&g->policy.votes, &ok), &ok);
        put(policy, "dao", dao_json(&g->policy.dao, &ok), &ok);
    }
    put(root, "policy", policy, &ok);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

int ledger_genesis_write(const gz_genesis *g, char **out) {
    *out = NULL;
    json_t *root = genesis_json(g);
    if (root == NULL) return GZ_ENOMEM;
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (text == NULL) return GZ_ENOMEM;
    size_t n = strlen(text);
    /* A final newline, as text files have. */
    char *withnl = realloc(text, n + 2);
    if (withnl == NULL) {
        free(text);
        return GZ_ENOMEM;
    }
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    *out = withnl;
    return GZ_OK;
}

int ledger_genesis_hash(const gz_genesis *g, uint8_t out[32]) {
    memset(out, 0, 32);
    json_t *root = genesis_json(g);
    if (root == NULL) return GZ_ENOMEM;
    char *text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(root);
    if (text == NULL) return GZ_ENOMEM;
    core_sha256(out, text, strlen(text));
    free(text);
    return GZ_OK;
}
