/* Offline verifiers: reports, the Merkle checks, and the anchor, tx, log and
 * block verifications of verify/verify.h. */
#include "verify/verify.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"

/* ---- reports ----------------------------------------------------------------- */

void verify_report_init(verify_report *r) { memset(r, 0, sizeof *r); }

void verify_report_free(verify_report *r) {
    free(r->checks);
    memset(r, 0, sizeof *r);
}

static void report_add(verify_report *r, bool ok, const char *name, const char *fmt, va_list ap) {
    if (!ok) r->n_failed++;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 16;
        verify_check *c = realloc(r->checks, cap * sizeof *c);
        if (c == NULL) {
            r->lost = true;
            return;
        }
        r->checks = c;
        r->cap = cap;
    }
    verify_check *c = &r->checks[r->n++];
    c->ok = ok;
    snprintf(c->name, sizeof c->name, "%s", name);
    vsnprintf(c->text, sizeof c->text, fmt, ap);
}

void verify_report_ok(verify_report *r, const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report_add(r, true, name, fmt, ap);
    va_end(ap);
}

void verify_report_fail(verify_report *r, const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report_add(r, false, name, fmt, ap);
    va_end(ap);
}

bool verify_report_passed(const verify_report *r) { return r->n_failed == 0 && !r->lost; }

const verify_check *verify_report_first_failure(const verify_report *r) {
    for (size_t i = 0; i < r->n; i++)
        if (!r->checks[i].ok) return &r->checks[i];
    return NULL;
}

const verify_check *verify_report_find(const verify_report *r, const char *name) {
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->checks[i].name, name) == 0) return &r->checks[i];
    return NULL;
}

void verify_report_print(const verify_report *r, FILE *f) {
    for (size_t i = 0; i < r->n; i++) {
        const verify_check *c = &r->checks[i];
        if (c->ok) fprintf(f, "ok   %s\n", c->text);
        else fprintf(f, "FAIL %s: %s\n", c->name, c->text);
    }
    if (r->lost) fprintf(f, "FAIL report: out of memory, some checks were not recorded\n");
}

static void report_addf(verify_report *r, bool ok, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void report_addf(verify_report *r, bool ok, const char *name, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    report_add(r, ok, name, fmt, ap);
    va_end(ap);
}

/* Adds a check named prefix+name: the log verifier checks two headers. */
static void check(verify_report *r, bool ok, const char *prefix, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void check(verify_report *r, bool ok, const char *prefix, const char *name, const char *fmt, ...) {
    char full[40];
    snprintf(full, sizeof full, "%s%s", prefix, name);
    /* A prefixed check says which header it is about on its line, too. */
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (prefix[0] != '\0') report_addf(r, ok, full, "(%.*s) %s", (int)strlen(prefix) - 1, prefix, text);
    else report_addf(r, ok, full, "%s", text);
}

static void short_hex(char out[17], const uint8_t id[32]) { gz_hex_encode(out, id, 8); }

/* ---- Merkle ------------------------------------------------------------------ */

int verify_merkle_inclusion_check(const uint8_t leaf_hash[32], const verify_merkle_proof *p,
                                const uint8_t root[32], gz_msg *msg) {
    if (p->leaf_index >= p->tree_size) {
        return gz_fail(msg, GZ_EVERIFY, "leaf_index %llu is not below tree_size %llu",
                       (unsigned long long)p->leaf_index, (unsigned long long)p->tree_size);
    }
    if (p->path_len > GZ_MERKLE_PROOF_MAX) {
        return gz_fail(msg, GZ_EVERIFY, "audit_path: %zu entries, more than %d", p->path_len,
                       GZ_MERKLE_PROOF_MAX);
    }
    int rc = core_merkle_inclusion_verify(leaf_hash, p->leaf_index, p->tree_size,
                                          (const uint8_t(*)[32])p->path, p->path_len, root);
    if (rc != GZ_OK) {
        return gz_fail(msg, GZ_EVERIFY,
                       "the audit path (%zu entries) from leaf %llu of %llu does not reach the root",
                       p->path_len, (unsigned long long)p->leaf_index, (unsigned long long)p->tree_size);
    }
    return GZ_OK;
}

int verify_merkle_consistency_check(uint64_t size1, const uint8_t root1[32], uint64_t size2,
                                  const uint8_t root2[32], const uint8_t (*path)[32], size_t path_len,
                                  gz_msg *msg) {
    if (size1 == 0) return gz_fail(msg, GZ_EVERIFY, "RFC 9162 has no consistency proof from an empty tree");
    if (size1 > size2) {
        return gz_fail(msg, GZ_EVERIFY, "the first tree (%llu leaves) is larger than the second (%llu)",
                       (unsigned long long)size1, (unsigned long long)size2);
    }
    if (path_len > GZ_MERKLE_PROOF_MAX)
        return gz_fail(msg, GZ_EVERIFY, "proof: %zu entries, more than %d", path_len, GZ_MERKLE_PROOF_MAX);
    if (core_merkle_consistency_verify(size1, size2, root1, root2, path, path_len) != GZ_OK) {
        return gz_fail(msg, GZ_EVERIFY, "the proof (%zu entries) does not link the root of %llu leaves to the root of %llu",
                       path_len, (unsigned long long)size1, (unsigned long long)size2);
    }
    return GZ_OK;
}

/* ---- signed headers ------------------------------------------------------------- */

/* Names the set reached, for check lines: "the genesis set" or "the set of
 * link 2 at height 31". */
static void set_name(char *out, size_t n, const verify_valset *set) {
    if (set->links == 0) snprintf(out, n, "the genesis set");
    else snprintf(out, n, "the set of link %zu at height %llu", set->links - 1, (unsigned long long)(set->from_height - 1));
}

/* Validator sets are equal when names, keys and powers match in order. */
static bool validators_equal(const gz_validator *a, size_t na, const verify_valset *set, char *why, size_t why_len) {
    char sn[64];
    set_name(sn, sizeof sn, set);
    if (na != set->n) {
        snprintf(why, why_len, "%zu validators, %s has %u", na, sn, set->n);
        return false;
    }
    for (size_t i = 0; i < na; i++) {
        const gz_validator *b = &set->vals[i];
        const char *field = memcmp(a[i].pub_key, b->pub_key, 32) != 0 ? "pub_key"
                            : a[i].power != b->power                 ? "power"
                            : strcmp(a[i].name, b->name) != 0        ? "name"
                                                                     : NULL;
        if (field != NULL) {
            snprintf(why, why_len, "validators[%zu].%s differs from %s", i, field, sn);
            return false;
        }
    }
    return true;
}

/* Power of the commit's signers in the trusted set (indexes already checked). */
static uint64_t signed_power(const gz_commit *c, const verify_valset *set) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < c->n_sigs; i++) sum += set->vals[c->sigs[i].validator_index].power;
    return sum;
}

static uint64_t total_power(const verify_valset *set) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < set->n; i++) sum += set->vals[i].power;
    return sum;
}

/* The commit part shared by every file: commit decodes, commit block, commit
 * signatures. The signatures are checked over the commit's own height and
 * block id, so a valid commit of another block fails "commit block" alone.
 * c is scratch space for the decoded commit. */
static void check_commit_into(verify_report *r, const char *pre, const gz_genesis *g, const verify_valset *set,
                              const gz_buf *cbytes, const gz_header *h, bool have_header, const uint8_t block_id[32],
                              gz_commit *c) {
    gz_msg msg = {{0}};
    if (core_commit_decode(c, cbytes->data, cbytes->len, &msg) != GZ_OK) {
        check(r, false, pre, "commit decodes", "%s", msg.text);
        return;
    }
    check(r, true, pre, "commit decodes", "commit decodes (height %llu, round %llu, %u signatures)",
          (unsigned long long)c->height, (unsigned long long)c->round, c->n_sigs);
    if (have_header) {
        char id[17];
        short_hex(id, block_id);
        if (memcmp(c->block_id, block_id, 32) != 0) {
            check(r, false, pre, "commit block", "commit.block_id is not this header's id (block id %s…)", id);
        } else if (c->height != h->height) {
            check(r, false, pre, "commit block", "commit.height %llu, header height %llu differ",
                  (unsigned long long)c->height, (unsigned long long)h->height);
        } else {
            check(r, true, pre, "commit block", "commit is for this header (block id %s…) at height %llu", id,
                  (unsigned long long)h->height);
        }
    }
    char sn[64];
    set_name(sn, sizeof sn, set);
    if (core_commit_verify(c, g->chain_id, c->block_id, c->height, set->vals, set->n, &msg) != GZ_OK) {
        check(r, false, pre, "commit signatures", "%s (checked against %s)", msg.text, sn);
        return;
    }
    check(r, true, pre, "commit signatures", "commit signatures: %u of %u validators, power %llu of %llu > 2/3 (%s)",
          c->n_sigs, set->n, (unsigned long long)signed_power(c, set), (unsigned long long)total_power(set), sn);
}

static void check_commit(verify_report *r, const char *pre, const gz_genesis *g, const verify_valset *set,
                         const gz_buf *cbytes, const gz_header *h, bool have_header, const uint8_t block_id[32]) {
    /* GZ_VALIDATORS_MAX signatures are too many for the stack; no static
     * buffer either, so the verifiers stay reentrant. */
    gz_commit *c = malloc(sizeof *c);
    if (c == NULL) {
        check(r, false, pre, "commit decodes", "out of memory");
        return;
    }
    check_commit_into(r, pre, g, set, cbytes, h, have_header, block_id, c);
    free(c);
}

/* Decodes the header of sh: "header decodes", then "chain id". Returns
 * whether *h is usable. */
static bool check_header(verify_report *r, const char *pre, const gz_genesis *g, const verify_signed_header *sh,
                         gz_header *h) {
    gz_msg msg = {{0}};
    if (core_header_decode(h, sh->header.data, sh->header.len, &msg) != GZ_OK) {
        check(r, false, pre, "header decodes", "%s", msg.text);
        return false;
    }
    check(r, true, pre, "header decodes", "header decodes (height %llu, log_size %llu, tx_count %llu)",
          (unsigned long long)h->height, (unsigned long long)h->log_size, (unsigned long long)h->tx_count);
    if (strcmp(h->chain_id, g->chain_id) == 0) {
        check(r, true, pre, "chain id", "header.chain_id = genesis chain_id (%s)", g->chain_id);
    } else {
        check(r, false, pre, "chain id", "header.chain_id is \"%s\", genesis says \"%s\"", h->chain_id, g->chain_id);
    }
    return true;
}

/* What a trust check compares a header with: the set reached by the walk,
 * whether the walk held, the file's chain (for the message when the header's
 * set is not reached) and the file's validators (NULL: not compared). */
typedef struct trust_in {
    const verify_valset *set;
    bool walk_ok;
    size_t chain_len;
    const char *file; /* "bundle", "tx proof", "log proof" */
    const gz_validator *vals;
    size_t n_vals;
} trust_in;

/* "header set": the header's validators_hash is the set reached. */
static void check_header_set(verify_report *r, const char *pre, const trust_in *t, const gz_header *h) {
    char sn[64];
    set_name(sn, sizeof sn, t->set);
    if (memcmp(h->validators_hash, t->set->hash, 32) == 0) {
        check(r, true, pre, "header set", "header.validators_hash = %s (%u validators)", sn, t->set->n);
    } else if (t->chain_len == 0) {
        check(r, false, pre, "header set", "header.validators_hash is not the genesis set; the %s has no valset_chain",
              t->file);
    } else if (!t->walk_ok) {
        check(r, false, pre, "header set", "header.validators_hash is not %s, where the valset_chain stopped", sn);
    } else {
        check(r, false, pre, "header set",
              "header.validators_hash is not %s, the last the valset_chain reaches: a set change is missing", sn);
    }
}

/* What makes a header trusted: its validators hash names the file's set,
 * that set is the one the walk from genesis reached, and the commit for it
 * holds more than 2/3 of that set's power. */
static void check_trust(verify_report *r, const char *pre, const gz_genesis *g, const verify_signed_header *sh,
                        const trust_in *t, const gz_header *h, bool have_header) {
    uint8_t block_id[32] = {0};
    if (have_header) core_block_id(block_id, sh->header.data, sh->header.len);
    if (have_header && t->vals != NULL) {
        uint8_t vh[32];
        if (core_validators_hash(vh, t->vals, t->n_vals) != GZ_OK) memset(vh, 0, sizeof vh);
        if (memcmp(vh, h->validators_hash, 32) == 0) {
            check(r, true, pre, "validators hash", "header.validators_hash matches the file's validators");
        } else {
            check(r, false, pre, "validators hash", "header.validators_hash does not match the file's validators");
        }
    }
    if (have_header) check_header_set(r, pre, t, h);
    char why[128];
    if (t->vals != NULL && validators_equal(t->vals, t->n_vals, t->set, why, sizeof why)) {
        char sn[64];
        set_name(sn, sizeof sn, t->set);
        check(r, true, pre, "trusted validators", "the file's validators = %s (%zu)", sn, t->n_vals);
    } else if (t->vals != NULL) {
        check(r, false, pre, "trusted validators", "%s", why);
    }
    check_commit(r, pre, g, t->set, &sh->commit, h, have_header, block_id);
}

/* ---- anchor bundles ------------------------------------------------------------- */

static void check_leaf(verify_report *r, const verify_anchor_bundle *b, gz_anchor_leaf *leaf, bool *have) {
    gz_msg msg = {{0}};
    *have = core_anchor_leaf_decode(leaf, b->leaf.data, b->leaf.len, &msg) == GZ_OK;
    if (!*have) {
        verify_report_fail(r, "leaf decodes", "%s", msg.text);
        return;
    }
    verify_report_ok(r, "leaf decodes", "leaf decodes (AnchorLeaf: kind %llu, work %s, height %llu)",
                   (unsigned long long)leaf->kind, leaf->work_id, (unsigned long long)leaf->height);
    if (memcmp(leaf->artifact, b->artifact, 32) == 0) verify_report_ok(r, "leaf artifact", "leaf artifact = bundle artifact");
    else verify_report_fail(r, "leaf artifact", "the leaf's artifact is not the bundle's artifact");
}

static void check_leaf_vs_header(verify_report *r, const verify_anchor_bundle *b, const gz_anchor_leaf *leaf,
                                 bool have_leaf, const gz_header *h, bool have_header) {
    uint64_t want = b->block.height;
    uint64_t lh = have_leaf ? leaf->height : want;
    uint64_t hh = have_header ? h->height : want;
    if (lh == want && hh == want) {
        verify_report_ok(r, "height", "leaf height = bundle height = header height (%llu)", (unsigned long long)want);
    } else {
        verify_report_fail(r, "height", "leaf height %llu, bundle height %llu, header height %llu differ",
                         (unsigned long long)lh, (unsigned long long)want, (unsigned long long)hh);
    }
    if (!have_leaf || !have_header) return;
    if (leaf->time == h->time) {
        verify_report_ok(r, "leaf time", "leaf time = header time (%llu)", (unsigned long long)h->time);
    } else {
        verify_report_fail(r, "leaf time", "leaf time %llu, header time %llu differ", (unsigned long long)leaf->time,
                         (unsigned long long)h->time);
    }
}

/* tree size, leaf index and inclusion proof into the header's tx or log tree. */
static void check_tree(verify_report *r, bool log_tree, const verify_merkle_proof *p, const uint8_t leaf_hash[32],
                       const gz_header *h, bool have_header) {
    const char *root_name = log_tree ? "log_root" : "tx_root";
    const char *size_name = log_tree ? "log_size" : "tx_count";
    uint64_t size = log_tree ? h->log_size : h->tx_count;
    if (have_header && p->tree_size == size) {
        verify_report_ok(r, "tree size", "tree_size = header.%s (%llu)", size_name, (unsigned long long)size);
    } else if (have_header) {
        verify_report_fail(r, "tree size", "tree_size %llu, header.%s %llu differ", (unsigned long long)p->tree_size,
                         size_name, (unsigned long long)size);
    }
    if (p->leaf_index < p->tree_size) {
        verify_report_ok(r, "leaf index", "leaf_index %llu < tree_size %llu", (unsigned long long)p->leaf_index,
                       (unsigned long long)p->tree_size);
    } else {
        verify_report_fail(r, "leaf index", "leaf_index %llu is not below tree_size %llu",
                         (unsigned long long)p->leaf_index, (unsigned long long)p->tree_size);
    }
    if (!have_header) return;
    gz_msg msg = {{0}};
    if (verify_merkle_inclusion_check(leaf_hash, p, log_tree ? h->log_root : h->tx_root, &msg) == GZ_OK) {
        verify_report_ok(r, "inclusion proof", "inclusion proof reaches header.%s (leaf %llu of %llu)", root_name,
                       (unsigned long long)p->leaf_index, (unsigned long long)p->tree_size);
    } else {
        verify_report_fail(r, "inclusion proof", "%s (header.%s)", msg.text, root_name);
    }
}

void verify_anchor(verify_report *r, const gz_genesis *g, const verify_anchor_bundle *b,
                        const uint8_t *file_sha256) {
    if (file_sha256 != NULL && memcmp(file_sha256, b->artifact, 32) == 0) {
        verify_report_ok(r, "file sha256", "file sha256 = artifact");
    } else if (file_sha256 != NULL) {
        verify_report_fail(r, "file sha256", "the file's SHA-256 is not the bundle's artifact");
    }
    gz_anchor_leaf leaf;
    bool have_leaf;
    check_leaf(r, b, &leaf, &have_leaf);
    gz_header h;
    memset(&h, 0, sizeof h);
    bool have_header = check_header(r, "", g, &b->block, &h);
    check_leaf_vs_header(r, b, &leaf, have_leaf, &h, have_header);
    uint8_t leaf_hash[32];
    core_merkle_leaf_hash(leaf_hash, b->leaf.data, b->leaf.len);
    check_tree(r, true, &b->proof, leaf_hash, &h, have_header);
    verify_valset set;
    bool walk_ok = verify_valset_walk(r, g, &b->valset_chain, have_header ? h.height : b->block.height, &set);
    trust_in t = {&set, walk_ok, b->valset_chain.n, "bundle", b->validators, b->n_validators};
    check_trust(r, "", g, &b->block, &t, &h, have_header);
}

/* ---- tx proofs ------------------------------------------------------------------ */

/* tx decodes, txid, tx chain id, tx signature. Returns whether *tx is usable. */
static bool check_tx_bytes(verify_report *r, const gz_genesis *g, const verify_tx_proof *t, gz_tx *tx) {
    gz_msg msg = {{0}};
    if (core_tx_decode(tx, t->tx.data, t->tx.len, &msg) != GZ_OK) {
        verify_report_fail(r, "tx decodes", "%s", msg.text);
        return false;
    }
    char signer[17];
    short_hex(signer, tx->signer);
    const char *type = core_tx_type_name(tx->type);
    verify_report_ok(r, "tx decodes", "tx decodes (%s by %s…, nonce %llu)", type ? type : "?", signer,
                   (unsigned long long)tx->nonce);
    if (memcmp(tx->txid, t->txid, 32) == 0) verify_report_ok(r, "txid", "txid = TH(\"gongzhi/tx\", body)");
    else verify_report_fail(r, "txid", "the file's txid is not TH(\"gongzhi/tx\", body)");
    if (strcmp(tx->chain_id, g->chain_id) == 0) {
        verify_report_ok(r, "tx chain id", "tx chain_id = genesis chain_id");
    } else {
        verify_report_fail(r, "tx chain id", "tx chain_id \"%s\" is not genesis' \"%s\"", tx->chain_id, g->chain_id);
    }
    if (core_tx_check(tx, tx->chain_id, &msg) == GZ_OK) verify_report_ok(r, "tx signature", "tx signature is valid for its signer");
    else verify_report_fail(r, "tx signature", "%s", msg.text);
    return true;
}

/* Everything of a tx proof but the trust: returns whether the header
 * decoded, into *h. */
static bool check_tx_inclusion(verify_report *r, const gz_genesis *g, const verify_tx_proof *t, gz_header *h) {
    gz_tx *tx = malloc(sizeof *tx); /* several KiB */
    if (tx == NULL) {
        verify_report_fail(r, "tx decodes", "out of memory");
        return false;
    }
    bool have_tx = check_tx_bytes(r, g, t, tx);
    memset(h, 0, sizeof *h);
    bool have_header = check_header(r, "", g, &t->block, h);
    if (have_header && h->height == t->block.height) {
        verify_report_ok(r, "height", "file height = header height (%llu)", (unsigned long long)h->height);
    } else if (have_header) {
        verify_report_fail(r, "height", "file height %llu, header height %llu differ",
                         (unsigned long long)t->block.height, (unsigned long long)h->height);
    }
    /* The leaf is the txid the tx bytes hash to; the file's own txid only when
     * the bytes do not decode (the proof is then checked for what it names). */
    uint8_t leaf_hash[32];
    core_merkle_leaf_hash(leaf_hash, have_tx ? tx->txid : t->txid, 32);
    free(tx);
    check_tree(r, false, &t->proof, leaf_hash, h, have_header);
    return have_header;
}

void verify_tx(verify_report *r, const gz_genesis *g, const verify_tx_proof *t) {
    gz_header h;
    bool have_header = check_tx_inclusion(r, g, t, &h);
    verify_valset set;
    bool walk_ok = verify_valset_walk(r, g, &t->valset_chain, have_header ? h.height : t->block.height, &set);
    trust_in in = {&set, walk_ok, t->valset_chain.n, "tx proof", t->validators, t->n_validators};
    check_trust(r, "", g, &t->block, &in, &h, have_header);
}

void verify_tx_with_set(verify_report *r, const gz_genesis *g, const verify_valset *set, const verify_tx_proof *t) {
    gz_header h;
    bool have_header = check_tx_inclusion(r, g, t, &h);
    trust_in in = {set, true, set->links, "tx proof", t->validators, t->n_validators};
    check_trust(r, "", g, &t->block, &in, &h, have_header);
}

/* ---- log consistency ------------------------------------------------------------ */

static bool check_log_end(verify_report *r, const char *pre, const gz_genesis *g, const verify_signed_header *sh,
                          const trust_in *t, gz_header *h) {
    bool have = check_header(r, pre, g, sh, h);
    if (have && h->height == sh->height) {
        check(r, true, pre, "height", "file height = header height (%llu)", (unsigned long long)h->height);
    } else if (have) {
        check(r, false, pre, "height", "file height %llu, header height %llu differ", (unsigned long long)sh->height,
              (unsigned long long)h->height);
    }
    check_trust(r, pre, g, sh, t, h, have);
    return have;
}

/* The height a signed header of the file is at: its header's when that
 * decodes, else the one the file claims. */
static uint64_t end_height(const verify_signed_header *sh) {
    gz_header h;
    if (core_header_decode(&h, sh->header.data, sh->header.len, NULL) == GZ_OK) return h.height;
    return sh->height;
}

/* Both ends, each against the set trusted at its height: one walk to the
 * second, noting the set it had reached below the first. */
static void check_log_ends(verify_report *r, const gz_genesis *g, const verify_log_proof *l, gz_header *h1,
                           gz_header *h2, bool *have1, bool *have2) {
    verify_valset_walker w;
    verify_valset_walker_init(&w, g, &l->valset_chain, end_height(&l->second));
    bool ok1 = verify_valset_walker_advance(&w, r, end_height(&l->first));
    verify_valset set1 = w.set;
    bool ok2 = verify_valset_walker_finish(&w, r);
    /* The file's validators are the set at the second height; the first end
     * is compared with them only when no link lies between the two. */
    bool same = ok1 && ok2 && set1.links == w.set.links;
    trust_in t1 = {&set1, ok1, l->valset_chain.n, "log proof", same ? l->validators : NULL, l->n_validators};
    trust_in t2 = {&w.set, ok2, l->valset_chain.n, "log proof", l->validators, l->n_validators};
    memset(h1, 0, sizeof *h1);
    memset(h2, 0, sizeof *h2);
    *have1 = check_log_end(r, "first ", g, &l->first, &t1, h1);
    *have2 = check_log_end(r, "second ", g, &l->second, &t2, h2);
}

/* An empty log is a prefix of every log; RFC 9162 has no proof for it, so
 * only its root (SHA256 of nothing) and the empty proof are checked. */
static void check_empty_log(verify_report *r, const gz_header *h1, size_t path_len) {
    uint8_t empty[32];
    core_sha256(empty, "", 0);
    if (memcmp(h1->log_root, empty, 32) != 0) {
        verify_report_fail(r, "consistency proof", "the first log is empty but its root is not SHA256(\"\")");
    } else if (path_len != 0) {
        verify_report_fail(r, "consistency proof", "the proof must be empty when the first log is empty");
    } else {
        verify_report_ok(r, "consistency proof", "consistency: the log at height %llu is empty, a prefix of every log",
                       (unsigned long long)h1->height);
    }
}

void verify_log(verify_report *r, const gz_genesis *g, const verify_log_proof *l) {
    gz_header h1, h2;
    bool have1, have2;
    check_log_ends(r, g, l, &h1, &h2, &have1, &have2);
    if (!have1 || !have2) return;
    if (h1.height <= h2.height && h1.log_size <= h2.log_size) {
        verify_report_ok(r, "log sizes", "log sizes: %llu leaves at height %llu, %llu at height %llu",
                       (unsigned long long)h1.log_size, (unsigned long long)h1.height,
                       (unsigned long long)h2.log_size, (unsigned long long)h2.height);
    } else {
        verify_report_fail(r, "log sizes", "%llu leaves at height %llu, %llu at height %llu: the later log must not be shorter",
                         (unsigned long long)h1.log_size, (unsigned long long)h1.height,
                         (unsigned long long)h2.log_size, (unsigned long long)h2.height);
    }
    gz_msg msg = {{0}};
    if (h1.log_size == 0) {
        check_empty_log(r, &h1, l->path_len);
        return;
    }
    if (verify_merkle_consistency_check(h1.log_size, h1.log_root, h2.log_size, h2.log_root,
                                      (const uint8_t(*)[32])l->path, l->path_len, &msg) == GZ_OK) {
        verify_report_ok(r, "consistency proof",
                       "consistency proof: the log at height %llu (%llu leaves) extends the log at height %llu (%llu leaves)",
                       (unsigned long long)h2.height, (unsigned long long)h2.log_size, (unsigned long long)h1.height,
                       (unsigned long long)h1.log_size);
    } else {
        verify_report_fail(r, "consistency proof", "%s", msg.text);
    }
}

/* ---- blocks of a chain walk ----------------------------------------------------- */

static int block_txs_check(const gz_header *h, const uint8_t (*txids)[32], size_t n, gz_msg *msg) {
    if (h->tx_count != n) {
        return gz_fail(msg, GZ_EVERIFY, "header.tx_count %llu, the node listed %zu txids",
                       (unsigned long long)h->tx_count, n);
    }
    uint8_t(*leaves)[32] = malloc((n ? n : 1) * 32);
    if (leaves == NULL) return gz_fail(msg, GZ_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) core_merkle_leaf_hash(leaves[i], txids[i], 32);
    uint8_t root[32];
    int rc = core_merkle_root(root, (const uint8_t(*)[32])leaves, n);
    free(leaves);
    if (rc != GZ_OK) return gz_fail(msg, rc, "cannot compute the tx root");
    if (memcmp(root, h->tx_root, 32) != 0)
        return gz_fail(msg, GZ_EVERIFY, "header.tx_root is not the root of the listed txids");
    return GZ_OK;
}

/* Everything but the commit; then the commit, decoded into c. */
static int block_check_into(const gz_genesis *g, const verify_valset *set, uint64_t height,
                            const uint8_t *prev_block_id, const uint8_t *hdr, size_t hdr_len, const uint8_t *commit,
                            size_t commit_len, const uint8_t (*txids)[32], size_t n_txids, gz_header *h,
                            uint8_t block_id[32], gz_commit *c, gz_msg *msg) {
    if (core_header_decode(h, hdr, hdr_len, msg) != GZ_OK) return GZ_EVERIFY;
    if (strcmp(h->chain_id, g->chain_id) != 0)
        return gz_fail(msg, GZ_EVERIFY, "header.chain_id: \"%s\", genesis says \"%s\"", h->chain_id, g->chain_id);
    if (h->height != height) {
        return gz_fail(msg, GZ_EVERIFY, "header.height: %llu, expected %llu", (unsigned long long)h->height,
                       (unsigned long long)height);
    }
    if (prev_block_id != NULL && memcmp(h->prev_block_id, prev_block_id, 32) != 0) {
        return gz_fail(msg, GZ_EVERIFY, "header.prev_block_id: not the id of block %llu",
                       (unsigned long long)height - 1);
    }
    if (memcmp(set->hash, h->validators_hash, 32) != 0) {
        char sn[64];
        set_name(sn, sizeof sn, set);
        return gz_fail(msg, GZ_EVERIFY, "header.validators_hash: not %s", sn);
    }
    int rc = block_txs_check(h, txids, n_txids, msg);
    if (rc != GZ_OK) return rc;
    if (core_commit_decode(c, commit, commit_len, msg) != GZ_OK) return GZ_EVERIFY;
    core_block_id(block_id, hdr, hdr_len);
    if (core_commit_verify(c, g->chain_id, block_id, height, set->vals, set->n, msg) != GZ_OK)
        return GZ_EVERIFY;
    return GZ_OK;
}

int verify_block(const gz_genesis *g, const verify_valset *set, uint64_t height, const uint8_t *prev_block_id,
                 const uint8_t *hdr, size_t hdr_len, const uint8_t *commit, size_t commit_len,
                 const uint8_t (*txids)[32], size_t n_txids, gz_header *h, uint8_t block_id[32], gz_msg *msg) {
    memset(block_id, 0, 32);
    gz_commit *c = malloc(sizeof *c);
    int rc = c != NULL ? block_check_into(g, set, height, prev_block_id, hdr, hdr_len, commit, commit_len, txids,
                                          n_txids, h, block_id, c, msg)
                       : gz_fail(msg, GZ_ENOMEM, "out of memory");
    free(c);
    if (rc != GZ_OK) {
        memset(h, 0, sizeof *h);
        memset(block_id, 0, 32);
    }
    return rc;
}
