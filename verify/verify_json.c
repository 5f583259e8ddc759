/* JSON forms of the proof files of verify/verify.h: the SPEC §5 anchor bundle,
 * the tx proof and the log proof (docs/auditing.md). Readers are strict:
 * every key is required, unknown keys are errors, and each error names the
 * field. Lengths are checked before anything is allocated. */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "verify/verify.h"

/* ---- readers ------------------------------------------------------------------- */

/* A proof file's top level: an object with exactly the keys it may have. */
static int file_object(const json_t *j, const char *const *keys, gz_msg *msg) {
    if (!json_is_object(j)) return gz_fail(msg, GZ_EARG, "file: expected an object");
    return core_json_object(j, "", NULL, keys, &j, msg);
}

/* A Merkle audit path: at most GZ_MERKLE_PROOF_MAX hashes, each 64 hex chars. */
static int get_path(const json_t *obj, const char *path, const char *key, uint8_t (*out)[32], size_t *n,
                    gz_msg *msg) {
    char f[CORE_JSON_PATH_MAX];
    const json_t *v;
    size_t len = 0;
    *n = 0;
    core_json_path(f, path, key);
    int rc = core_json_array(obj, path, key, 0, GZ_MERKLE_PROOF_MAX, &v, &len, msg);
    for (size_t i = 0; rc == GZ_OK && i < len; i++) {
        char fi[CORE_JSON_PATH_MAX];
        core_json_path_index(fi, f, i);
        rc = core_json_hex_fixed(json_array_get(v, i), fi, NULL, out[i], 32, msg);
    }
    if (rc == GZ_OK) *n = len;
    return rc;
}

static int get_validator(const json_t *v, const char *f, uint64_t power_min, gz_validator *out, gz_msg *msg) {
    static const char *const keys[] = {"name", "pub_key", "power", NULL};
    int rc = core_json_object(v, f, NULL, keys, &v, msg);
    if (rc == GZ_OK) rc = core_json_str(v, f, "name", 0, GZ_LABEL_MAX, out->name, msg);
    if (rc == GZ_OK) rc = core_json_hex_fixed(v, f, "pub_key", out->pub_key, 32, msg);
    if (rc == GZ_OK) rc = core_json_u64(v, f, "power", power_min, GZ_TOTAL_POWER_MAX, &out->power, msg);
    return rc;
}

/* The validators of obj (at path): 1..GZ_VALIDATORS_MAX entries into vals. */
static int get_validators_at(const json_t *obj, const char *path, uint64_t power_min, gz_validator *vals, uint32_t *n,
                             gz_msg *msg) {
    const json_t *v;
    size_t len = 0;
    char f[CORE_JSON_PATH_MAX];
    *n = 0;
    core_json_path(f, path, "validators");
    int rc = core_json_array(obj, path, "validators", 1, GZ_VALIDATORS_MAX, &v, &len, msg);
    for (size_t i = 0; rc == GZ_OK && i < len; i++) {
        char fi[CORE_JSON_PATH_MAX];
        core_json_path_index(fi, f, i);
        rc = get_validator(json_array_get(v, i), fi, power_min, &vals[i], msg);
    }
    if (rc == GZ_OK) *n = (uint32_t)len;
    return rc;
}

static int get_validators(const json_t *obj, gz_validator *vals, uint32_t *n, gz_msg *msg) {
    return get_validators_at(obj, "", 0, vals, n, msg);
}

/* One link of a valset_chain at path: its new set is read strictly (power
 * >= 1, no key twice), since it becomes the set the verifier trusts. */
static int get_valset_link(const json_t *obj, const char *path, verify_valset_link *l, gz_msg *msg) {
    static const char *const keys[] = {"header", "commit", "validators", NULL};
    int rc = core_json_object(obj, path, NULL, keys, &obj, msg);
    if (rc == GZ_OK) rc = core_json_hex_buf(obj, path, "header", 1, GZ_HEADER_BYTES_MAX, &l->header, msg);
    if (rc == GZ_OK) rc = core_json_hex_buf(obj, path, "commit", 1, GZ_COMMIT_BYTES_MAX, &l->commit, msg);
    if (rc != GZ_OK) return rc;
    /* Room for what the array holds (its bound is checked as it is read). */
    size_t room = json_array_size(json_object_get(obj, "validators"));
    if (room < 1 || room > GZ_VALIDATORS_MAX) room = 1;
    l->validators = malloc(room * sizeof *l->validators);
    if (l->validators == NULL) return gz_fail(msg, GZ_ENOMEM, "%s: out of memory", path);
    rc = get_validators_at(obj, path, 1, l->validators, &l->n_validators, msg);
    gz_msg why = {{0}};
    if (rc == GZ_OK && verify_valset_check(l->validators, l->n_validators, &why) != GZ_OK)
        rc = gz_fail(msg, GZ_EARG, "%s.%s", path, why.text);
    return rc;
}

/* The optional valset_chain of a file: absent is an empty chain. */
static int get_valset_chain(const json_t *j, verify_valset_chain *c, gz_msg *msg) {
    memset(c, 0, sizeof *c);
    if (!json_is_object(j)) return gz_fail(msg, GZ_EARG, "expected an object");
    if (json_object_get(j, "valset_chain") == NULL) return GZ_OK;
    const json_t *arr;
    size_t len = 0;
    int rc = core_json_array(j, "", "valset_chain", 0, VERIFY_VALSET_LINKS_MAX, &arr, &len, msg);
    if (rc != GZ_OK || len == 0) return rc;
    c->links = calloc(len, sizeof *c->links);
    if (c->links == NULL) return gz_fail(msg, GZ_ENOMEM, "valset_chain: out of memory");
    c->n = len;
    for (size_t i = 0; rc == GZ_OK && i < len; i++) {
        char fi[CORE_JSON_PATH_MAX];
        core_json_path_index(fi, "valset_chain", i);
        rc = get_valset_link(json_array_get(arr, i), fi, &c->links[i], msg);
    }
    return rc;
}

static int get_proof(const json_t *obj, const char *path, verify_merkle_proof *p, gz_msg *msg) {
    int rc = core_json_u64(obj, path, "leaf_index", 0, UINT64_MAX, &p->leaf_index, msg);
    if (rc == GZ_OK) rc = core_json_u64(obj, path, "tree_size", 0, UINT64_MAX, &p->tree_size, msg);
    if (rc == GZ_OK) rc = get_path(obj, path, "audit_path", p->path, &p->path_len, msg);
    return rc;
}

/* height, header and commit of obj (a file's top level or its "first"/"second"). */
static int get_signed_header(const json_t *obj, const char *path, verify_signed_header *sh, gz_msg *msg) {
    int rc = core_json_u64(obj, path, "height", 0, UINT64_MAX, &sh->height, msg);
    if (rc == GZ_OK) rc = core_json_hex_buf(obj, path, "header", 1, GZ_HEADER_BYTES_MAX, &sh->header, msg);
    if (rc == GZ_OK) rc = core_json_hex_buf(obj, path, "commit", 1, GZ_COMMIT_BYTES_MAX, &sh->commit, msg);
    return rc;
}

int verify_valset_chain_from_json(verify_valset_chain *c, const json_t *obj, gz_msg *msg) {
    verify_valset_chain_free(c);
    int rc = get_valset_chain(obj, c, msg);
    if (rc != GZ_OK) verify_valset_chain_free(c);
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
    verify_valset_chain_free(&b->valset_chain);
    memset(b, 0, sizeof *b);
}

void verify_tx_proof_init(verify_tx_proof *t) { memset(t, 0, sizeof *t); }

void verify_tx_proof_free(verify_tx_proof *t) {
    gz_buf_free(&t->tx);
    signed_header_free(&t->block);
    verify_valset_chain_free(&t->valset_chain);
    memset(t, 0, sizeof *t);
}

void verify_log_proof_init(verify_log_proof *l) { memset(l, 0, sizeof *l); }

void verify_log_proof_free(verify_log_proof *l) {
    signed_header_free(&l->first);
    signed_header_free(&l->second);
    verify_valset_chain_free(&l->valset_chain);
    memset(l, 0, sizeof *l);
}

/* ---- from JSON ------------------------------------------------------------------- */

int verify_anchor_bundle_from_json(verify_anchor_bundle *b, const json_t *j, gz_msg *msg) {
    static const char *const keys[] = {"artifact", "leaf", "leaf_index", "tree_size", "audit_path",
                                       "height", "header", "commit", "validators", "valset_chain", NULL};
    verify_anchor_bundle_free(b);
    int rc = file_object(j, keys, msg);
    if (rc == GZ_OK) rc = core_json_hex_fixed(j, "", "artifact", b->artifact, 32, msg);
    if (rc == GZ_OK) rc = core_json_hex_buf(j, "", "leaf", 1, GZ_ANCHOR_LEAF_BYTES_MAX, &b->leaf, msg);
    if (rc == GZ_OK) rc = get_proof(j, "", &b->proof, msg);
    if (rc == GZ_OK) rc = get_signed_header(j, "", &b->block, msg);
    if (rc == GZ_OK) rc = get_validators(j, b->validators, &b->n_validators, msg);
    if (rc == GZ_OK) rc = get_valset_chain(j, &b->valset_chain, msg);
    if (rc != GZ_OK) verify_anchor_bundle_free(b);
    return rc;
}

int verify_tx_proof_from_json(verify_tx_proof *t, const json_t *j, gz_msg *msg) {
    static const char *const keys[] = {"txid", "tx", "height", "proof", "header", "commit", "validators", "valset_chain", NULL};
    static const char *const proof_keys[] = {"leaf_index", "tree_size", "audit_path", NULL};
    verify_tx_proof_free(t);
    const json_t *proof = NULL;
    int rc = file_object(j, keys, msg);
    if (rc == GZ_OK) rc = core_json_hex_fixed(j, "", "txid", t->txid, 32, msg);
    if (rc == GZ_OK) rc = core_json_hex_buf(j, "", "tx", 1, GZ_TX_BYTES_MAX, &t->tx, msg);
    if (rc == GZ_OK) rc = core_json_object(j, "", "proof", proof_keys, &proof, msg);
    if (rc == GZ_OK) rc = get_proof(proof, "proof", &t->proof, msg);
    if (rc == GZ_OK) rc = get_signed_header(j, "", &t->block, msg);
    if (rc == GZ_OK) rc = get_validators(j, t->validators, &t->n_validators, msg);
    if (rc == GZ_OK) rc = get_valset_chain(j, &t->valset_chain, msg);
    if (rc != GZ_OK) verify_tx_proof_free(t);
    return rc;
}

int verify_log_proof_from_json(verify_log_proof *l, const json_t *j, gz_msg *msg) {
    static const char *const keys[] = {"first", "second", "proof", "validators", "valset_chain", NULL};
    static const char *const end_keys[] = {"height", "header", "commit", NULL};
    verify_log_proof_free(l);
    int rc = file_object(j, keys, msg);
    const char *names[2] = {"first", "second"};
    verify_signed_header *ends[2] = {&l->first, &l->second};
    for (int i = 0; i < 2 && rc == GZ_OK; i++) {
        const json_t *e = NULL;
        rc = core_json_object(j, "", names[i], end_keys, &e, msg);
        if (rc == GZ_OK) rc = get_signed_header(e, names[i], ends[i], msg);
    }
    if (rc == GZ_OK) rc = get_path(j, "", "proof", l->path, &l->path_len, msg);
    if (rc == GZ_OK) rc = get_validators(j, l->validators, &l->n_validators, msg);
    if (rc == GZ_OK) rc = get_valset_chain(j, &l->valset_chain, msg);
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

static json_t *chain_json(const verify_valset_chain *c) {
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < c->n; i++) {
        const verify_valset_link *l = &c->links[i];
        json_t *v = json_pack("{s:o, s:o, s:o}", "header", core_json_hex(l->header.data, l->header.len), "commit",
                              core_json_hex(l->commit.data, l->commit.len), "validators",
                              validators_json(l->validators, l->n_validators));
        if (json_array_append_new(a, v) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

/* Adds the file's valset_chain after its other keys, only when it has links
 * (SPEC §5: a bundle has one only once the set changed). */
static int done(json_t *j, const verify_valset_chain *c, json_t **out) {
    if (j != NULL && c->n > 0 && json_object_set_new(j, "valset_chain", chain_json(c)) != 0) {
        json_decref(j);
        j = NULL;
    }
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
                &b->valset_chain, out);
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
                &t->valset_chain, out);
}

static json_t *end_json(const verify_signed_header *sh) {
    return json_pack("{s:I, s:o, s:o}", "height", (json_int_t)sh->height, "header",
                     core_json_hex(sh->header.data, sh->header.len), "commit", core_json_hex(sh->commit.data, sh->commit.len));
}

int verify_log_proof_to_json(const verify_log_proof *l, json_t **out) {
    return done(json_pack("{s:o, s:o, s:o, s:o}", "first", end_json(&l->first), "second", end_json(&l->second),
                          "proof", path_json((const uint8_t(*)[32])l->path, l->path_len), "validators",
                          validators_json(l->validators, l->n_validators)),
                &l->valset_chain, out);
}
