/* Validator-set approvals for the command line (cli/cli_valset.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_valset.h"
#include "core/bytes.h"
#include "core/json.h"
#include "core/keys.h"

static int valset_entry(gz_validator *v, bool *skip, const json_t *e, const char *path, gz_msg *msg) {
    memset(v, 0, sizeof *v);
    *skip = false;
    const json_t *jailed = json_object_get(e, "jailed");
    if (jailed != NULL && !json_is_boolean(jailed))
        return gz_fail(msg, GZ_EARG, "%s.jailed: expected true or false", path);
    int rc = core_json_u64(e, path, "power", 0, (uint64_t)INT64_MAX, &v->power, msg);
    if (rc == GZ_OK && (v->power == 0 || json_is_true(jailed))) {
        *skip = true;
        return GZ_OK;
    }
    if (rc == GZ_OK) rc = core_json_hex_fixed(e, path, "pub_key", v->pub_key, 32, msg);
    if (rc == GZ_OK) rc = core_json_str(e, path, "name", 0, GZ_LABEL_MAX, v->name, msg);
    return rc;
}

int cli_valset_parse(gz_validator set[GZ_VALIDATORS_MAX], size_t *n, const json_t *arr, gz_msg *msg) {
    *n = 0;
    if (!json_is_array(arr)) return gz_fail(msg, GZ_EARG, "validators: expected an array");
    size_t count = 0;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        char path[CORE_JSON_PATH_MAX];
        core_json_path_index(path, "validators", i);
        const json_t *e = json_array_get(arr, i);
        if (!json_is_object(e)) return gz_fail(msg, GZ_EARG, "%s: expected an object", path);
        gz_validator v;
        bool skip;
        int rc = valset_entry(&v, &skip, e, path, msg);
        if (rc != GZ_OK) return rc;
        if (skip) continue;
        if (count == GZ_VALIDATORS_MAX)
            return gz_fail(msg, GZ_ELIMIT, "validators: more than %d with power", GZ_VALIDATORS_MAX);
        set[count++] = v;
    }
    if (count == 0) return gz_fail(msg, GZ_EARG, "validators: no validator with power");
    *n = count;
    return GZ_OK;
}

int cli_valset_find(const gz_validator *set, size_t n, const uint8_t pub_key[32]) {
    for (size_t i = 0; i < n; i++) {
        if (memcmp(set[i].pub_key, pub_key, 32) == 0) return (int)i;
    }
    return -1;
}

int cli_approval_sign(cli_approval *a, const uint8_t seckey[32], const char *chain_id,
                      const gz_validator *set, size_t n, const uint8_t pub_key[32], uint64_t power,
                      const char *name, gz_msg *msg) {
    memset(a, 0, sizeof *a);
    if (strlen(chain_id) > GZ_CHAIN_ID_MAX) return gz_fail(msg, GZ_EARG, "chain_id: longer than %d bytes", GZ_CHAIN_ID_MAX);
    if (strlen(name) > GZ_LABEL_MAX) return gz_fail(msg, GZ_EARG, "name: longer than %d bytes", GZ_LABEL_MAX);
    if (power > (uint64_t)INT64_MAX) return gz_fail(msg, GZ_EARG, "power: above %lld", (long long)INT64_MAX);
    cli_approval t = {0};
    if (core_key_pub(t.validator, seckey) != GZ_OK) return gz_fail(msg, GZ_EARG, "key: not a valid secret key");
    int idx = cli_valset_find(set, n, t.validator);
    if (idx < 0) return gz_fail(msg, GZ_ENOTFOUND, "key: not a validator of the current set");
    snprintf(t.chain_id, sizeof t.chain_id, "%s", chain_id);
    snprintf(t.name, sizeof t.name, "%s", name);
    memcpy(t.pub_key, pub_key, 32);
    t.power = power;
    t.validator_index = (uint64_t)idx;
    uint8_t h[32];
    int rc = core_validators_hash(t.validators_hash, set, n);
    if (rc == GZ_OK) rc = core_valset_approval_hash(h, t.chain_id, t.validators_hash, t.pub_key, t.power, t.name);
    if (rc == GZ_OK) rc = core_sign32(t.sig, seckey, h, NULL);
    if (rc != GZ_OK) return gz_fail(msg, rc, "approval: cannot sign (%s)", gz_strerror(rc));
    *a = t;
    return GZ_OK;
}

json_t *cli_approval_json(const cli_approval *a) {
    return json_pack("{s:s, s:o, s:o, s:I, s:s, s:I, s:o, s:o}", "chain_id", a->chain_id, "validators_hash",
                     core_json_hex(a->validators_hash, 32), "pub_key", core_json_hex(a->pub_key, 32), "power",
                     (json_int_t)a->power, "name", a->name, "validator_index", (json_int_t)a->validator_index,
                     "validator", core_json_hex(a->validator, 32), "sig", core_json_hex(a->sig, 64));
}

int cli_approval_parse(cli_approval *a, const json_t *j, gz_msg *msg) {
    static const char *const keys[] = {"chain_id", "validators_hash", "pub_key", "power", "name",
                                       "validator_index", "validator", "sig", NULL};
    cli_approval t = {0};
    const json_t *o = NULL;
    memset(a, 0, sizeof *a);
    int rc = core_json_object(j, "approval", NULL, keys, &o, msg);
    if (rc == GZ_OK) rc = core_json_str(o, "", "chain_id", 1, GZ_CHAIN_ID_MAX, t.chain_id, msg);
    if (rc == GZ_OK) rc = core_json_hex_fixed(o, "", "validators_hash", t.validators_hash, 32, msg);
    if (rc == GZ_OK) rc = core_json_hex_fixed(o, "", "pub_key", t.pub_key, 32, msg);
    if (rc == GZ_OK) rc = core_json_u64(o, "", "power", 0, (uint64_t)INT64_MAX, &t.power, msg);
    if (rc == GZ_OK) rc = core_json_str(o, "", "name", 0, GZ_LABEL_MAX, t.name, msg);
    if (rc == GZ_OK)
        rc = core_json_u64(o, "", "validator_index", 0, GZ_VALIDATORS_MAX - 1, &t.validator_index, msg);
    if (rc == GZ_OK) rc = core_json_hex_fixed(o, "", "validator", t.validator, 32, msg);
    if (rc == GZ_OK) rc = core_json_hex_fixed(o, "", "sig", t.sig, 64, msg);
    if (rc == GZ_OK) *a = t;
    return rc;
}

int cli_approval_load(cli_approval *a, const char *path, gz_msg *msg) {
    memset(a, 0, sizeof *a);
    struct stat st;
    if (stat(path, &st) != 0) return gz_fail(msg, GZ_EIO, "cannot read the file");
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > CLI_APPROVAL_FILE_BYTES_MAX)
        return gz_fail(msg, GZ_EIO, "not an approval file (over %u bytes or not a file)", CLI_APPROVAL_FILE_BYTES_MAX);
    json_error_t jerr;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (j == NULL) return gz_fail(msg, GZ_EARG, "not JSON: %s (line %d)", jerr.text, jerr.line);
    int rc = cli_approval_parse(a, j, msg);
    json_decref(j);
    return rc;
}

bool cli_approval_valid(const cli_approval *a) {
    uint8_t h[32];
    if (core_valset_approval_hash(h, a->chain_id, a->validators_hash, a->pub_key, a->power, a->name) != GZ_OK)
        return false;
    return core_verify(a->sig, h, 32, a->validator);
}

/* The first field in which b differs from a, or NULL when they agree. */
static const char *approval_differs(const cli_approval *a, const cli_approval *b) {
    if (strcmp(a->chain_id, b->chain_id) != 0) return "chain_id";
    if (memcmp(a->validators_hash, b->validators_hash, 32) != 0) return "validators_hash";
    if (memcmp(a->pub_key, b->pub_key, 32) != 0) return "pub_key";
    if (a->power != b->power) return "power";
    if (strcmp(a->name, b->name) != 0) return "name";
    return NULL;
}

static int approval_cmp(const void *x, const void *y) {
    const gz_approval *a = x;
    const gz_approval *b = y;
    return (a->validator_index > b->validator_index) - (a->validator_index < b->validator_index);
}

/* The position among a[0..i) of an approval with a[i]'s validator_index, or -1. */
static int index_seen(const cli_approval *a, size_t i) {
    for (size_t k = 0; k < i; k++) {
        if (a[k].validator_index == a[i].validator_index) return (int)k;
    }
    return -1;
}

/* The position among a[0..i) of an approval by a[i]'s key at another index, or -1. */
static int key_elsewhere(const cli_approval *a, size_t i) {
    for (size_t k = 0; k < i; k++) {
        if (memcmp(a[k].validator, a[i].validator, 32) == 0 && a[k].validator_index != a[i].validator_index)
            return (int)k;
    }
    return -1;
}

int cli_approvals_gather(gz_approval out[GZ_VALIDATORS_MAX], size_t *n_out, size_t *dropped,
                         const cli_approval *a, const char *const *names, size_t n, gz_msg *msg) {
    *n_out = 0;
    *dropped = 0;
    if (n < 1 || n > GZ_VALIDATORS_MAX) return gz_fail(msg, GZ_EARG, "approvals: expected 1..%d", GZ_VALIDATORS_MAX);
    size_t count = 0, repeats = 0;
    for (size_t i = 0; i < n; i++) {
        const char *field = approval_differs(&a[0], &a[i]);
        if (field != NULL) return gz_fail(msg, GZ_EARG, "%s: %s differs from %s", names[i], field, names[0]);
        char who[65];
        gz_hex_encode(who, a[i].validator, 32);
        if (!cli_approval_valid(&a[i])) return gz_fail(msg, GZ_ESIG, "%s: bad signature by validator %s", names[i], who);
        int k = index_seen(a, i);
        if (k >= 0 && memcmp(a[k].validator, a[i].validator, 32) != 0)
            return gz_fail(msg, GZ_EARG, "%s: validator_index %llu is claimed by another key in %s", names[i],
                           (unsigned long long)a[i].validator_index, names[k]);
        int e = key_elsewhere(a, i);
        if (e >= 0)
            return gz_fail(msg, GZ_EARG, "%s: validator %s already approves at validator_index %llu in %s", names[i],
                           who, (unsigned long long)a[e].validator_index, names[e]);
        if (k >= 0) {
            repeats++;
            continue;
        }
        out[count].validator_index = a[i].validator_index;
        memcpy(out[count].sig, a[i].sig, 64);
        count++;
    }
    qsort(out, count, sizeof out[0], approval_cmp);
    *n_out = count;
    *dropped = repeats;
    return GZ_OK;
}
