/* JSON forms of the proof files of verify/verify.h: the SPEC §5 anchor bundle,
 * the tx proof and the log proof (docs/auditing.md). Readers are strict:
 * every key is required, unknown keys are errors, and each error names the
 * field. Lengths are checked before anything is allocated. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "verify/verify.h"

/* ---- readers ------------------------------------------------------------------- */

/* Joins a parent path and a key into a field name for messages. */
static void field_name(char *out, size_t n, const char *parent, const char *key) {
    if (parent[0] == '\0') snprintf(out, n, "%s", key);
    else snprintf(out, n, "%s.%s", parent, key);
}

static int need_object(const json_t *j, const char *path, const char *const *keys, gz_msg *msg) {
    if (!json_is_object(j)) return gz_fail(msg, GZ_EARG, "%s: expected an object", path[0] ? path : "file");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)j, k, v) {
        bool known = false;
        for (size_t i = 0; keys[i] != NULL && !known; i++) known = strcmp(k, keys[i]) == 0;
        if (!known) {
            char f[96];
            field_name(f, sizeof f, path, k);
            return gz_fail(msg, GZ_EARG, "%s: unknown key", f);
        }
    }
    return GZ_OK;
}

static int get_member(const json_t *obj, const char *path, const char *key, json_t **v, char *f, size_t fn,
                      gz_msg *msg) {
    field_name(f, fn, path, key);
    *v = json_object_get(obj, key);
    if (*v == NULL) return gz_fail(msg, GZ_EARG, "%s: missing", f);
    return GZ_OK;
}

static int get_u64(const json_t *obj, const char *path, const char *key, uint64_t *out, gz_msg *msg) {
    char f[96];
    json_t *v;
    *out = 0;
    if (get_member(obj, path, key, &v, f, sizeof f, msg) != GZ_OK) return GZ_EARG;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return gz_fail(msg, GZ_EARG, "%s: expected a non-negative integer", f);
    *out = (uint64_t)json_integer_value(v);
    return GZ_OK;
}

static int hex32_value(const json_t *v, const char *f, uint8_t out[32], gz_msg *msg) {
    const char *s = json_string_value(v);
    if (s == NULL || gz_hex_decode(out, 32, s) != GZ_OK)
        return gz_fail(msg, GZ_EARG, "%s: expected 64 hex chars", f);
    return GZ_OK;
}

static int get_hex32(const json_t *obj, const char *path, const char *key, uint8_t out[32], gz_msg *msg) {
    char f[96];
    json_t *v;
    memset(out, 0, 32);
    if (get_member(obj, path, key, &v, f, sizeof f, msg) != GZ_OK) return GZ_EARG;
    return hex32_value(v, f, out, msg);
}

/* A hex string of at most max bytes, appended to an empty out. */
static int get_hex(const json_t *obj, const char *path, const char *key, size_t max, gz_buf *out, gz_msg *msg) {
    char f[96];
    json_t *v;
    if (get_member(obj, path, key, &v, f, sizeof f, msg) != GZ_OK) return GZ_EARG;
    const char *s = json_string_value(v);
    if (s == NULL) return gz_fail(msg, GZ_EARG, "%s: expected a hex string", f);
    size_t n = json_string_length(v);
    if (n == 0 || n % 2 != 0) return gz_fail(msg, GZ_EARG, "%s: expected a non-empty even number of hex chars", f);
    if (n / 2 > max) return gz_fail(msg, GZ_EARG, "%s: longer than %zu bytes", f, max);
    int rc = gz_hex_decode_buf(out, s, n);
    if (rc == GZ_ENOMEM) return gz_fail(msg, rc, "%s: out of memory", f);
    if (rc != GZ_OK) return gz_fail(msg, GZ_EARG, "%s: not hex", f);
    return GZ_OK;
}

static int get_path(const json_t *obj, const char *path, const char *key, uint8_t (*out)[32], size_t *n,
                    gz_msg *msg) {
    char f[96];
    json_t *v;
    *n = 0;
    if (get_member(obj, path, key, &v, f, sizeof f, msg) != GZ_OK) return GZ_EARG;
    if (!json_is_array(v)) return gz_fail(msg, GZ_EARG, "%s: expected an array of hex hashes", f);
    size_t len = json_array_size(v);
    if (len > GZ_MERKLE_PROOF_MAX) return gz_fail(msg, GZ_EARG, "%s: more than %d entries", f, GZ_MERKLE_PROOF_MAX);
    for (size_t i = 0; i < len; i++) {
        char fi[112];
        snprintf(fi, sizeof fi, "%s[%zu]", f, i);
        if (hex32_value(json_array_get(v, i), fi, out[i], msg) != GZ_OK) return GZ_EARG;
    }
    *n = len;
    return GZ_OK;
}

static int get_validator(const json_t *v, const char *f, gz_validator *out, gz_msg *msg) {
    static const char *const keys[] = {"name", "pub_key", "power", NULL};
    if (need_object(v, f, keys, msg) != GZ_OK) return GZ_EARG;
    json_t *name;
    char fn[128];
    if (get_member(v, f, "name", &name, fn, sizeof fn, msg) != GZ_OK) return GZ_EARG;
    const char *s = json_string_value(name);
    if (s == NULL || json_string_length(name) > GZ_LABEL_MAX || strlen(s) != json_string_length(name))
        return gz_fail(msg, GZ_EARG, "%s: expected a string of at most %d bytes", fn, GZ_LABEL_MAX);
    memcpy(out->name, s, strlen(s) + 1);
    if (get_hex32(v, f, "pub_key", out->pub_key, msg) != GZ_OK) return GZ_EARG;
    return get_u64(v, f, "power", &out->power, msg);
}

static int get_validators(const json_t *obj, gz_validator *vals, uint32_t *n, gz_msg *msg) {
    json_t *v;
    char f[96];
    *n = 0;
    if (get_member(obj, "", "validators", &v, f, sizeof f, msg) != GZ_OK) return GZ_EARG;
    if (!json_is_array(v) || json_array_size(v) == 0) return gz_fail(msg, GZ_EARG, "validators: expected a non-empty array");
    size_t len = json_array_size(v);
    if (len > GZ_VALIDATORS_MAX) return gz_fail(msg, GZ_EARG, "validators: more than %d", GZ_VALIDATORS_MAX);
    for (size_t i = 0; i < len; i++) {
        char fi[64];
        snprintf(fi, sizeof fi, "validators[%zu]", i);
        if (get_validator(json_array_get(v, i), fi, &vals[i], msg) != GZ_OK) return GZ_EARG;
    }
    *n = (uint32_t)len;
    return GZ_OK;
}

static int get_proof(const json_t *obj, const char *path, verify_merkle_proof *p, gz_msg *msg) {
    int rc = get_u64(obj, path, "leaf_index", &p->leaf_index, msg);
    if (rc == GZ_OK) rc = get_u64(obj, path, "tree_size", &p->tree_size, msg);
    if (rc == GZ_OK) rc = get_path(obj, path, "audit_path", p->path, &p->path_len, msg);
    return rc;
}

/* height, header and commit of obj (a file's top level or its "first"/"second"). */
static int get_signed_header(const json_t *obj, const char *path, verify_signed_header *sh, gz_msg *msg) {
    int rc = get_u64(obj, path, "height", &sh->height, msg);
    if (rc == GZ_OK) rc = get_hex(obj, path, "header", GZ_HEADER_BYTES_MAX, &sh->header, msg);
    if (rc == GZ_OK) rc = get_hex(obj, path, "commit", GZ_COMMIT_BYTES_MAX, &sh->commit, msg);
    return rc;
}

/* ---- init / free ----------------------------------------------------------------- */

static void signed_header_free(verify_signed_header *sh) {
    gz_buf_free(&sh->header);
    gz_buf_free(&sh->commit);
}

void verify_anchor_bundle_init(verify_anchor_bundle *b) { memset(b, 0, sizeof *b); }

void verify_anchor_bundle_free(verify_anchor_bundle *b) {
    gz_buf_free(&b->leaf);
    signed_header_free(&b->block);
    memset(b, 0, sizeof *b);
}

void verify_tx_proof_init(verify_tx_proof *t) { memset(t, 0, sizeof *t); }

void verify_tx_proof_free(verify_tx_proof *t) {
    gz_buf_free(&t->tx);
    signed_header_free(&t->block);
    memset(t, 0, sizeof *t);
}

void verify_log_proof_init(verify_log_proof *l) { memset(l, 0, sizeof *l); }

void verify_log_proof_free(verify_log_proof *l) {
    signed_header_free(&l->first);
    signed_header_free(&l->second);
    memset(l, 0, sizeof *l);
}

/* ---- from JSON ------------------------------------------------------------------- */

int verify_anchor_bundle_from_json(verify_anchor_bundle *b, const json_t *j, gz_msg *msg) {
    static const char *const keys[] = {"artifact", "leaf", "leaf_index", "tree_size", "audit_path",
                                       "height", "header", "commit", "validators", NULL};
    verify_anchor_bundle_free(b);
    int rc = need_object(j, "", keys, msg);
    if (rc == GZ_OK) rc = get_hex32(j, "", "artifact", b->artifact, msg);
    if (rc == GZ_OK) rc = get_hex(j, "", "leaf", GZ_ANCHOR_LEAF_BYTES_MAX, &b->leaf, msg);
    if (rc == GZ_OK) rc = get_proof(j, "", &b->proof, msg);
    if (rc == GZ_OK) rc = get_signed_header(j, "", &b->block, msg);
    if (rc == GZ_OK) rc = get_validators(j, b->validators, &b->n_validators, msg);
    if (rc != GZ_OK) verify_anchor_bundle_free(b);
    return rc;
}

int verify_tx_proof_from_json(verify_tx_proof *t, const json_t *j, gz_msg *msg) {
    static const char *const keys[] = {"txid", "tx", "height", "proof", "header", "commit", "validators", NULL};
    static const char *const proof_keys[] = {"leaf_index", "tree_size", "audit_path", NULL};
    verify_tx_proof_free(t);
    int rc = need_object(j, "", keys, msg);
    if (rc == GZ_OK) rc = get_hex32(j, "", "txid", t->txid, msg);
    if (rc == GZ_OK) rc = get_hex(j, "", "tx", GZ_TX_BYTES_MAX, &t->tx, msg);
    json_t *proof = json_object_get(j, "proof");
    if (rc == GZ_OK && proof == NULL) rc = gz_fail(msg, GZ_EARG, "proof: missing");
    if (rc == GZ_OK) rc = need_object(proof, "proof", proof_keys, msg);
    if (rc == GZ_OK) rc = get_proof(proof, "proof", &t->proof, msg);
    if (rc == GZ_OK) rc = get_signed_header(j, "", &t->block, msg);
    if (rc == GZ_OK) rc = get_validators(j, t->validators, &t->n_validators, msg);
    if (rc != GZ_OK) verify_tx_proof_free(t);
    return rc;
}

int verify_log_proof_from_json(verify_log_proof *l, const json_t *j, gz_msg *msg) {
    static const char *const keys[] = {"first", "second", "proof", "validators", NULL};
    static const char *const end_keys[] = {"height", "header", "commit", NULL};
    verify_log_proof_free(l);
    int rc = need_object(j, "", keys, msg);
    const char *names[2] = {"first", "second"};
    verify_signed_header *ends[2] = {&l->first, &l->second};
    for (int i = 0; i < 2 && rc == GZ_OK; i++) {
        json_t *e = json_object_get(j, names[i]);
        if (e == NULL) rc = gz_fail(msg, GZ_EARG, "%s: missing", names[i]);
        if (rc == GZ_OK) rc = need_object(e, names[i], end_keys, msg);
        if (rc == GZ_OK) rc = get_signed_header(e, names[i], ends[i], msg);
    }
    if (rc == GZ_OK) rc = get_path(j, "", "proof", l->path, &l->path_len, msg);
    if (rc == GZ_OK) rc = get_validators(j, l->validators, &l->n_validators, msg);
    if (rc != GZ_OK) verify_log_proof_free(l);
    return rc;
}

/* ---- to JSON --------------------------------------------------------------------- */

static json_t *path_json(const uint8_t (*path)[32], size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++) {
        if (json_array_append_new(a, core_json_hex(path[i], 32)) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static json_t *validators_json(const gz_validator *vals, uint32_t n) {
    json_t *a = json_array();
    for (uint32_t i = 0; a != NULL && i < n; i++) {
        json_t *v = json_pack("{s:s, s:o, s:I}", "name", vals[i].name, "pub_key", core_json_hex(vals[i].pub_key, 32),
                              "power", (json_int_t)vals[i].power);
        if (json_array_append_new(a, v) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static int done(json_t *j, json_t **out) {
    *out = j;
    return j != NULL ? GZ_OK : GZ_ENOMEM;
}

int verify_anchor_bundle_to_json(const verify_anchor_bundle *b, json_t **out) {
    return done(json_pack("{s:o, s:o, s:I, s:I, s:o, s:I, s:o, s:o, s:o}", "artifact", core_json_hex(b->artifact, 32),
                          "leaf", core_json_hex(b->leaf.data, b->leaf.len), "leaf_index",
                          (json_int_t)b->proof.leaf_index, "tree_size", (json_int_t)b->proof.tree_size,
                          "audit_path", path_json((const uint8_t(*)[32])b->proof.path, b->proof.path_len),
                          "height", (json_int_t)b->block.height, "header",
                          core_json_hex(b->block.header.data, b->block.header.len), "commit",
                          core_json_hex(b->block.commit.data, b->block.commit.len), "validators",
                          validators_json(b->validators, b->n_validators)),
                out);
}

int verify_tx_proof_to_json(const verify_tx_proof *t, json_t **out) {
    return done(json_pack("{s:o, s:o, s:I, s:{s:I, s:I, s:o}, s:o, s:o, s:o}", "txid", core_json_hex(t->txid, 32), "tx",
                          core_json_hex(t->tx.data, t->tx.len), "height", (json_int_t)t->block.height, "proof",
                          "leaf_index", (json_int_t)t->proof.leaf_index, "tree_size",
                          (json_int_t)t->proof.tree_size, "audit_path",
                          path_json((const uint8_t(*)[32])t->proof.path, t->proof.path_len), "header",
                          core_json_hex(t->block.header.data, t->block.header.len), "commit",
                          core_json_hex(t->block.commit.data, t->block.commit.len), "validators",
                          validators_json(t->validators, t->n_validators)),
                out);
}

static json_t *end_json(const verify_signed_header *sh) {
    return json_pack("{s:I, s:o, s:o}", "height", (json_int_t)sh->height, "header",
                     core_json_hex(sh->header.data, sh->header.len), "commit", core_json_hex(sh->commit.data, sh->commit.len));
}

int verify_log_proof_to_json(const verify_log_proof *l, json_t **out) {
    return done(json_pack("{s:o, s:o, s:o, s:o}", "first", end_json(&l->first), "second", end_json(&l->second),
                          "proof", path_json((const uint8_t(*)[32])l->path, l->path_len), "validators",
                          validators_json(l->validators, l->n_validators)),
                out);
}
