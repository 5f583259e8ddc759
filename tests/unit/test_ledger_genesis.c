/* genesis.json: the repository's example loads and matches the defaults; the
 * writer round-trips; every bad input is refused with a message naming its
 * JSON path. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/genesis.h"
#include "tests/unit/testutil.h"

#define EXAMPLE GZ_SOURCE_DIR "/genesis.json"

static json_t *example_json(void) {
    size_t len;
    char *text = tu_read_file(EXAMPLE, &len);
    cr_assert_not_null(text, "cannot read %s", EXAMPLE);
    json_t *j = json_loadb(text, len, 0, NULL);
    free(text);
    cr_assert_not_null(j);
    return j;
}

/* Walks a path like "policy.votes.x" or "validators[2].pub_key" to the parent
 * of its last element; *last receives the last key (or NULL for an index,
 * given in *index). */
static json_t *walk(json_t *root, const char *path, char *last, size_t *index) {
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    json_t *parent = NULL;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ".", &save); tok != NULL; tok = strtok_r(NULL, ".", &save)) {
        char *br = strchr(tok, '[');
        if (br != NULL) *br = '\0';
        parent = cur;
        snprintf(last, 64, "%s", tok);
        *index = SIZE_MAX;
        cur = json_object_get(cur, tok);
        while (br != NULL) {
            parent = cur;
            *index = strtoul(br + 1, NULL, 10);
            last[0] = '\0';
            cur = json_array_get(cur, *index);
            br = strchr(br + 1, '[');
        }
    }
    return parent;
}

/* Applies one edit to the example: value_json NULL deletes path. Returns the
 * parse result and the message. */
static int parse_edited(const char *path, const char *value_json, char *msg_out) {
    json_t *root = example_json();
    if (path != NULL) {
        char last[64];
        size_t index;
        json_t *parent = walk(root, path, last, &index);
        cr_assert_not_null(parent, "path %s", path);
        json_t *v = value_json ? json_loads(value_json, JSON_DECODE_ANY, NULL) : NULL;
        cr_assert(value_json == NULL || v != NULL, "value %s", value_json);
        if (last[0] != '\0') {
            if (v != NULL) json_object_set_new(parent, last, v);
            else json_object_del(parent, last);
        } else {
            cr_assert_not_null(v);
            json_array_set_new(parent, index, v);
        }
    }
    char *text = json_dumps(root, 0);
    json_decref(root);
    gz_genesis g;
    gz_msg msg;
    gz_msg_clear(&msg);
    int err = ledger_genesis_parse(&g, text, strlen(text), &msg);
    free(text);
    snprintf(msg_out, 200, "%s", msg.text);
    ledger_genesis_free(&g);
    return err;
}

Test(ledger_genesis, example_loads_and_matches_defaults) {
    gz_genesis g, d;
    gz_msg msg;
    cr_assert_eq(ledger_genesis_load(&g, EXAMPLE, &msg), GZ_OK, "%s", msg.text);
    ledger_genesis_default(&d);
    cr_expect_str_eq(g.chain_id, "gongzhi-devnet");
    cr_expect_eq(g.genesis_time, d.genesis_time);
    cr_expect_eq(g.n_validators, 4);
    cr_expect_eq(g.validators[0].power, 10);
    cr_expect_eq(g.n_accounts, 2);
    for (int r = 0; r < GZ_ROLE_COUNT; r++) cr_expect_eq(g.n_authorities[r], 1);
    cr_expect_eq(memcmp(&g.consensus, &d.consensus, sizeof d.consensus), 0);
    cr_expect_eq(memcmp(&g.policy, &d.policy, sizeof d.policy), 0,
                 "genesis.json policy equals ledger_genesis_default");
    cr_expect(ledger_genesis_has_role(&g, GZ_ROLE_TREASURER, g.authorities[GZ_ROLE_TREASURER][0]));
    cr_expect(!ledger_genesis_has_role(&g, GZ_ROLE_GOVERNOR, g.authorities[GZ_ROLE_TREASURER][0]));
    ledger_genesis_free(&g);
}

Test(ledger_genesis, writer_round_trips) {
    gz_genesis g, back;
    gz_msg msg;
    cr_assert_eq(ledger_genesis_load(&g, EXAMPLE, &msg), GZ_OK, "%s", msg.text);
    char *text;
    cr_assert_eq(ledger_genesis_write(&g, &text), GZ_OK);
    cr_assert_eq(ledger_genesis_parse(&back, text, strlen(text), &msg), GZ_OK, "%s", msg.text);
    uint8_t h1[32], h2[32];
    cr_assert_eq(ledger_genesis_hash(&g, h1), GZ_OK);
    cr_assert_eq(ledger_genesis_hash(&back, h2), GZ_OK);
    cr_expect_eq(memcmp(h1, h2, 32), 0);
    cr_expect_eq(memcmp(&back.policy, &g.policy, sizeof g.policy), 0);
    cr_expect_eq(memcmp(back.accounts, g.accounts, g.n_accounts * sizeof *g.accounts), 0);
    char *again;
    cr_assert_eq(ledger_genesis_write(&back, &again), GZ_OK);
    cr_expect_str_eq(text, again);
    /* The hash commits to the policy. */
    back.policy.votes.trust_delta++;
    cr_assert_eq(ledger_genesis_hash(&back, h2), GZ_OK);
    cr_expect_neq(memcmp(h1, h2, 32), 0);
    free(text);
    free(again);
    ledger_genesis_free(&g);
    ledger_genesis_free(&back);
}

Test(ledger_genesis, composite_model_round_trips) {
    gz_genesis g, back;
    gz_msg msg;
    cr_assert_eq(ledger_genesis_load(&g, EXAMPLE, &msg), GZ_OK, "%s", msg.text);
    gz_credit_policy *c = &g.policy.credit;
    c->model = GZ_CREDIT_COMPOSITE;
    c->initial = c->max = c->suspend_at = 0;
    const uint64_t w[3] = {450000, 350000, 200000};
    const uint64_t init[3] = {80, 80, 80};
    memcpy(c->weights_ppm, w, sizeof w);
    memcpy(c->initial_components, init, sizeof init);
    c->watch_below = 70;
    c->suspend_below = 50;
    c->suspend_ms = 180ull * 24 * 3600 * 1000;
    c->pioneer_at = 85;
    c->whitelist_at = 90;
    cr_assert_eq(ledger_genesis_check(&g, &msg), GZ_OK, "%s", msg.text);
    char *text;
    cr_assert_eq(ledger_genesis_write(&g, &text), GZ_OK);
    cr_expect(strstr(text, "\"initial_components\"") != NULL);
    cr_assert_eq(ledger_genesis_parse(&back, text, strlen(text), &msg), GZ_OK, "%s", msg.text);
    cr_expect_eq(memcmp(&back.policy.credit, c, sizeof *c), 0);
    free(text);
    /* The same keys under the composite model are checked as such. */
    c->weights_ppm[0] = 450001;
    cr_expect_eq(ledger_genesis_check(&g, &msg), GZ_EARG);
    cr_expect(strncmp(msg.text, "policy.credit.weights_ppm: must sum", 35) == 0, "%s", msg.text);
    c->weights_ppm[0] = 450000;
    c->watch_below = 40;
    cr_expect_eq(ledger_genesis_check(&g, &msg), GZ_EARG);
    cr_expect(strncmp(msg.text, "policy.credit.watch_below", 25) == 0, "%s", msg.text);
    ledger_genesis_free(&g);
    ledger_genesis_free(&back);
}

typedef struct bad_case {
    const char *path;  /* NULL: no edit */
    const char *value; /* JSON, or NULL to delete */
    const char *msg;   /* expected prefix */
} bad_case;

/* Each edit of the example genesis that must be refused, and the start of
 * the message that names the field. */
static const bad_case bad_cases[] = {
    {"extra", "1", "extra: unknown key"},
    {"policy.votes.foo", "1", "policy.votes.foo: unknown key"},
    {"validators[0].weight", "1", "validators[0].weight: unknown key"},
    {"accounts[1].nick", "\"x\"", "accounts[1].nick: unknown key"},
    {"consensus.block_max_gas", "1", "consensus.block_max_gas: unknown key"},
    {"policy.credit.weights_ppm", "{}", "policy.credit.weights_ppm: unknown key"},
    {"policy.credit.reasons.x", "[1, 2]", "policy.credit.reasons.x: expected a number"},
    {"policy.credit.reasons.01", "[1, 2]", "policy.credit.reasons.01: expected a number"},
    {"policy.credit.reasons.1", "[5, -5]", "policy.credit.reasons.1: must be in 5.."},
    {"policy.credit.reasons.2", "[1]", "policy.credit.reasons.2: expected [min_delta"},
    {"policy.credit.reasons.1", "[\"-5\", 5]", "policy.credit.reasons.1[0]: expected an integer"},
    {"policy.dao.caps_ppm.8", "1", "policy.dao.caps_ppm.8: expected a number 1..7"},
    {"policy.dao.caps_ppm.1", "900000", "policy.dao.caps_ppm: caps sum to 1450000"},
    {"policy.votes.cosigners_required", "\"x\"",
     "policy.votes.cosigners_required: expected a non-negative integer"},
    {"policy.votes.cosigners_required", "-1",
     "policy.votes.cosigners_required: expected a non-negative integer"},
    {"policy.votes.cosigners_required", "1.5",
     "policy.votes.cosigners_required: expected a non-negative integer"},
    {"policy.votes.cosigners_required", "0", "policy.votes.cosigners_required: must be in 1.."},
    {"policy.votes.pre_review_reject_ppm", "1000001",
     "policy.votes.pre_review_reject_ppm: must be in 0..1000000"},
    {"policy.votes.voter_min_level", "11", "policy.votes.voter_min_level: must be in 0..10"},
    {"policy.votes.distrust_delta", "\"-5\"",
     "policy.votes.distrust_delta: expected an integer"},
    {"policy.votes.trust_delta", NULL, "policy.votes.trust_delta: missing"},
    {"policy.credit.model", "\"stars\"", "policy.credit.model: expected \"points\""},
    {"policy.credit.initial", "11", "policy.credit.initial: must be in 0..10"},
    {"policy.credit", "[]", "policy.credit: expected an object"},
    {"policy", "1", "policy: expected an object"},
    {"policy.dao", NULL, "policy.dao: missing"},
    {"validators[2].pub_key", "\"abc\"", "validators[2].pub_key: expected 64 hex chars"},
    {"validators[1].pub_key",
     "\"zz0a4b8e4b72dceeacff938d6ec04a1c2754a17a74b848e4a4236a1705621405\"",
     "validators[1].pub_key: expected 64 hex chars"},
    {"validators[3].pub_key",
     "\"d00a4b8e4b72dceeacff938d6ec04a1c2754a17a74b848e4a4236a1705621405\"",
     "validators[3].pub_key: duplicate validator"},
    {"validators[0].power", "0", "validators[0].power: must be in 1.."},
    {"validators[0].name", "7", "validators[0].name: expected a string"},
    {"validators", "[]", "validators: expected 1..128 validators"},
    {"validators", "{}", "validators: expected an array"},
    {"authorities.registrar[0]", "\"00\"", "authorities.registrar[0]: expected 64 hex chars"},
    {"authorities.auditor", "[]", "authorities.auditor: unknown key"},
    {"authorities.governor", NULL, "authorities.governor: missing"},
    {"accounts[1].account",
     "\"37a1e703ba067e146d24d78651289618d4271c136bbe4a8b2634ff999bf12c94\"",
     "accounts[1]: duplicate account"},
    {"accounts[0].level", "11", "accounts[0].level: must be in 0..10"},
    {"accounts[0].label",
     "\"0123456789012345678901234567890123456789012345678901234567890123456789\"",
     "accounts[0].label: expected a string of at most 64 bytes, found 70"},
    {"accounts[1].classes", NULL, "accounts[1].classes: missing"},
    {"accounts[0]", "\"x\"", "accounts[0]: expected an object"},
    {"consensus.block_max_txs", "0", "consensus.block_max_txs: must be in 1..20000"},
    {"consensus.block_max_bytes", "100", "consensus.block_max_bytes: must be in 16384.."},
    {"chain_id", NULL, "chain_id: missing"},
    {"chain_id", "\"\"", "chain_id: must be 1..64"},
    {"chain_id", "\"has space\"", "chain_id: must be 1..64"},
    {"genesis_time", "\"soon\"", "genesis_time: expected a non-negative integer"},
};

Test(ledger_genesis, bad_inputs_name_their_field) {
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        char msg[200];
        int err = parse_edited(bad_cases[i].path, bad_cases[i].value, msg);
        cr_expect_eq(err, GZ_EARG, "%s: accepted", bad_cases[i].path);
        cr_expect(strncmp(msg, bad_cases[i].msg, strlen(bad_cases[i].msg)) == 0,
                  "%s: message \"%s\", want \"%s…\"", bad_cases[i].path, msg, bad_cases[i].msg);
    }
    char msg[200];
    cr_expect_eq(parse_edited(NULL, NULL, msg), GZ_OK, "%s", msg);
}

Test(ledger_genesis, total_power_is_bounded) {
    json_t *root = example_json();
    json_t *vals = json_object_get(root, "validators");
    for (size_t i = 0; i < json_array_size(vals); i++) {
        json_object_set_new(json_array_get(vals, i), "power", json_integer(INT64_MAX / 4));
    }
    char *text = json_dumps(root, 0);
    json_decref(root);
    gz_genesis g;
    gz_msg msg;
    cr_expect_eq(ledger_genesis_parse(&g, text, strlen(text), &msg), GZ_EARG);
    cr_expect(strstr(msg.text, "power: total power must be at most") != NULL, "%s", msg.text);
    free(text);
}

Test(ledger_genesis, bad_text_and_files) {
    gz_genesis g;
    gz_msg msg;
    const char *broken = "{\"chain_id\": ";
    cr_expect_eq(ledger_genesis_parse(&g, broken, strlen(broken), &msg), GZ_EARG);
    cr_expect(strncmp(msg.text, "genesis: invalid JSON at line 1", 31) == 0, "%s", msg.text);
    const char *dup = "{\"chain_id\": \"a\", \"chain_id\": \"b\"}";
    cr_expect_eq(ledger_genesis_parse(&g, dup, strlen(dup), &msg), GZ_EARG);
    cr_expect(strstr(msg.text, "duplicate") != NULL, "%s", msg.text);
    cr_expect_eq(ledger_genesis_parse(&g, "[]", 2, &msg), GZ_EARG);
    cr_expect_str_eq(msg.text, "genesis: expected an object");
    cr_expect_eq(ledger_genesis_load(&g, GZ_SOURCE_DIR "/no/such/genesis.json", &msg), GZ_EIO);
    cr_expect(strstr(msg.text, "cannot open") != NULL, "%s", msg.text);
    cr_expect_eq(g.accounts, NULL);
}

Test(ledger_genesis, many_accounts_and_late_duplicate) {
    gz_genesis g;
    gz_msg msg;
    cr_assert_eq(ledger_genesis_load(&g, EXAMPLE, &msg), GZ_OK, "%s", msg.text);
    for (int i = 0; i < 5000; i++) {
        gz_genesis_account a = {.level = (uint64_t)(i % 11), .classes = 1};
        a.account[0] = (uint8_t)(i >> 8);
        a.account[1] = (uint8_t)i;
        a.account[31] = 0x77;
        cr_assert_eq(ledger_genesis_add_account(&g, &a), GZ_OK);
    }
    cr_expect_eq(ledger_genesis_check(&g, &msg), GZ_OK, "%s", msg.text);
    gz_genesis_account again = g.accounts[1234];
    cr_assert_eq(ledger_genesis_add_account(&g, &again), GZ_OK);
    cr_expect_eq(ledger_genesis_check(&g, &msg), GZ_EARG);
    cr_expect_str_eq(msg.text, "accounts[5002]: duplicate account");
    ledger_genesis_free(&g);
}

Test(ledger_genesis, default_needs_validators_then_passes) {
    gz_genesis g;
    gz_msg msg;
    ledger_genesis_default(&g);
    cr_expect_eq(ledger_genesis_check(&g, &msg), GZ_EARG);
    cr_expect(strncmp(msg.text, "validators:", 11) == 0, "%s", msg.text);
    g.n_validators = 1;
    g.validators[0].power = 1;
    g.validators[0].pub_key[0] = 1;
    cr_expect_eq(ledger_genesis_check(&g, &msg), GZ_OK, "%s", msg.text);
    cr_expect_str_eq(ledger_role_name(GZ_ROLE_CREDIT_OFFICER), "credit_officer");
    cr_expect_null(ledger_role_name(GZ_ROLE_COUNT));
    ledger_genesis_free(&g);
}
