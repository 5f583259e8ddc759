/* Offline verification (verify/verify.h): real bundles, tx proofs and log
 * proofs built in-process with real keys and signatures, then every field
 * tampered in turn; the RFC 9162 vectors through the verifier's Merkle
 * checks; and the proposal audit's replay against a node that tells the
 * truth or not. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/hash.h"
#include "core/keys.h"
#include "core/merkle.h"
#include "ledger/genesis.h"
#include "verify/verify.h"
#include "tests/unit/testutil.h"

#define NV 4
#define NLEAVES 7
#define HEIGHT 5
#define TIME 1767225700000ull

static gz_genesis g;
static uint8_t sk[NV][32];
static uint8_t leaf_hashes[NLEAVES][32];
static gz_buf leaf_bytes[NLEAVES];
static gz_anchor_leaf leaves[NLEAVES];

/* A deterministic secret key per label and number. */
static void seckey(uint8_t out[32], const char *label, int i) {
    char s[64];
    snprintf(s, sizeof s, "%s-%d", label, i);
    core_sha256(out, s, strlen(s));
    uint8_t pub[32];
    cr_assert_eq(core_key_pub(pub, out), GZ_OK);
}

static void setup_validators(void) {
    ledger_genesis_default(&g);
    g.n_validators = NV;
    for (int i = 0; i < NV; i++) {
        seckey(sk[i], "validator", i);
        cr_assert_eq(core_key_pub(g.validators[i].pub_key, sk[i]), GZ_OK);
        snprintf(g.validators[i].name, sizeof g.validators[i].name, "v%d", i);
        g.validators[i].power = 10;
    }
}

static void setup(void) {
    setup_validators();
    for (int i = 0; i < NLEAVES; i++) {
        gz_anchor_leaf *l = &leaves[i];
        memset(l, 0, sizeof *l);
        char file[32];
        snprintf(file, sizeof file, "file %d", i);
        core_sha256(l->artifact, file, strlen(file));
        l->kind = 1 + (uint64_t)i % 7;
        snprintf(l->work_id, sizeof l->work_id, "work-%d", i / 3);
        l->has_parent = i % 3 != 0;
        if (l->has_parent) memcpy(l->parent, leaves[i - 1].artifact, 32);
        memset(l->signer, 0x40 + i, 32);
        memset(l->txid, 0x60 + i, 32);
        l->height = HEIGHT;
        l->time = TIME + HEIGHT;
        gz_buf_init(&leaf_bytes[i]);
        cr_assert_eq(core_anchor_leaf_encode(l, &leaf_bytes[i]), GZ_OK);
        core_merkle_leaf_hash(leaf_hashes[i], leaf_bytes[i].data, leaf_bytes[i].len);
    }
}

static void teardown(void) {
    for (int i = 0; i < NLEAVES; i++) gz_buf_free(&leaf_bytes[i]);
    ledger_genesis_free(&g);
}

TestSuite(node_verify, .init = setup, .fini = teardown);

/* ---- building signed headers ------------------------------------------------------------ */

static void make_header(gz_header *h, uint64_t height, const uint8_t *vals_hash) {
    memset(h, 0, sizeof *h);
    snprintf(h->chain_id, sizeof h->chain_id, "%s", g.chain_id);
    h->height = height;
    h->time = TIME + height;
    memset(h->prev_block_id, 0x11, 32);
    memset(h->tx_root, 0x22, 32);
    memset(h->state_root, 0x33, 32);
    if (vals_hash != NULL) memcpy(h->validators_hash, vals_hash, 32);
    else cr_assert_eq(core_validators_hash(h->validators_hash, g.validators, NV), GZ_OK);
    memcpy(h->proposer, g.validators[0].pub_key, 32);
}

static void encode_header(const gz_header *h, gz_buf *out) {
    gz_buf_reset(out);
    cr_assert_eq(core_header_encode(h, out), GZ_OK);
}

/* A commit for the header bytes signed by the validators in mask (bit i =
 * validator i), with keys. */
static void sign_commit(gz_buf *out, const gz_buf *hdr, uint64_t height, uint64_t round, unsigned mask,
                        uint8_t (*keys)[32]) {
    static gz_commit c;
    memset(&c, 0, sizeof c);
    c.height = height;
    c.round = round;
    core_block_id(c.block_id, hdr->data, hdr->len);
    for (unsigned i = 0; i < NV; i++) {
        if (!(mask & (1u << i))) continue;
        gz_vote v = {.type = GZ_VOTE_PRECOMMIT, .height = height, .round = round, .has_block_id = true,
                     .time = TIME + height + 1 + i};
        snprintf(v.chain_id, sizeof v.chain_id, "%s", g.chain_id);
        memcpy(v.block_id, c.block_id, 32);
        uint8_t hash[32];
        cr_assert_eq(core_vote_sighash(hash, &v), GZ_OK);
        gz_commit_sig *s = &c.sigs[c.n_sigs++];
        s->validator_index = i;
        s->time = v.time;
        cr_assert_eq(core_sign32(s->sig, keys[i], hash, NULL), GZ_OK);
    }
    gz_buf_reset(out);
    cr_assert_eq(core_commit_encode(&c, out), GZ_OK);
}

static void copy_buf(gz_buf *dst, const gz_buf *src) {
    gz_buf_init(dst);
    cr_assert_eq(gz_buf_append(dst, src->data, src->len), GZ_OK);
}

/* ---- bundles ----------------------------------------------------------------------------- */

static void make_bundle(verify_anchor_bundle *b, size_t index) {
    verify_anchor_bundle_init(b);
    memcpy(b->artifact, leaves[index].artifact, 32);
    copy_buf(&b->leaf, &leaf_bytes[index]);
    b->proof.leaf_index = index;
    b->proof.tree_size = NLEAVES;
    cr_assert_eq(core_merkle_inclusion_proof(b->proof.path, &b->proof.path_len,
                                             (const uint8_t(*)[32])leaf_hashes, NLEAVES, index),
                 GZ_OK);
    gz_header h;
    make_header(&h, HEIGHT, NULL);
    cr_assert_eq(core_merkle_root(h.log_root, (const uint8_t(*)[32])leaf_hashes, NLEAVES), GZ_OK);
    h.log_size = NLEAVES;
    b->block.height = HEIGHT;
    encode_header(&h, &b->block.header);
    sign_commit(&b->block.commit, &b->block.header, HEIGHT, 0, 0x7, sk);
    b->n_validators = NV;
    memcpy(b->validators, g.validators, sizeof b->validators);
}

static void copy_bundle(verify_anchor_bundle *dst, const verify_anchor_bundle *src) {
    *dst = *src;
    cr_assert_eq(verify_valset_chain_copy(&dst->valset_chain, &src->valset_chain), GZ_OK);
    copy_buf(&dst->leaf, &src->leaf);
    copy_buf(&dst->block.header, &src->block.header);
    copy_buf(&dst->block.commit, &src->block.commit);
}

/* Verifies b the way the CLI does: through its JSON text and the reader. */
static void run_bundle(const verify_anchor_bundle *b, const uint8_t *sha, verify_report *r) {
    json_t *j = NULL;
    cr_assert_eq(verify_anchor_bundle_to_json(b, &j), GZ_OK);
    char *text = json_dumps(j, 0);
    json_decref(j);
    json_t *back = json_loads(text, 0, NULL);
    free(text);
    cr_assert_not_null(back);
    static verify_anchor_bundle parsed;
    verify_anchor_bundle_init(&parsed);
    gz_msg msg = {{0}};
    cr_assert_eq(verify_anchor_bundle_from_json(&parsed, back, &msg), GZ_OK, "%s", msg.text);
    json_decref(back);
    verify_report_init(r);
    verify_anchor(r, &g, &parsed, sha);
    verify_anchor_bundle_free(&parsed);
}

static void assert_first_failure(const verify_report *r, const char *name, const char *what) {
    cr_assert(!verify_report_passed(r), "%s: verified", what);
    const verify_check *f = verify_report_first_failure(r);
    cr_assert_not_null(f);
    cr_assert_str_eq(f->name, name, "%s: first failure %s (%s), expected %s", what, f->name, f->text, name);
}

static void expect_bundle_fail(const verify_anchor_bundle *b, const uint8_t *sha, const char *name, const char *what) {
    verify_report r;
    run_bundle(b, sha, &r);
    assert_first_failure(&r, name, what);
    verify_report_free(&r);
}

static bool bundle_passes(const verify_anchor_bundle *b) {
    verify_report r;
    run_bundle(b, NULL, &r);
    bool ok = verify_report_passed(&r);
    verify_report_free(&r);
    return ok;
}

Test(node_verify, a_valid_bundle_verifies_at_every_leaf) {
    static verify_anchor_bundle b;
    for (size_t i = 0; i < NLEAVES; i++) {
        make_bundle(&b, i);
        verify_report r;
        run_bundle(&b, leaves[i].artifact, &r);
        cr_assert(verify_report_passed(&r), "leaf %zu: %s", i,
                  verify_report_first_failure(&r) ? verify_report_first_failure(&r)->text : "lost");
        cr_assert_eq(r.n, 16, "leaf %zu: %zu checks", i, r.n);
        cr_assert_null(verify_report_find(&r, "valset link"), "no set change, no link");
        const verify_check *c = verify_report_find(&r, "commit signatures");
        cr_assert_not_null(c);
        cr_assert_str_eq(c->text, "commit signatures: 3 of 4 validators, power 30 of 40 > 2/3 (the genesis set)");
        c = verify_report_find(&r, "header set");
        cr_assert_not_null(c);
        cr_assert_str_eq(c->text, "header.validators_hash = the genesis set (4 validators)");
        c = verify_report_find(&r, "inclusion proof");
        cr_assert_not_null(c);
        cr_assert(strstr(c->text, "header.log_root") != NULL);
        verify_report_free(&r);
        verify_anchor_bundle_free(&b);
    }
}

Test(node_verify, report_prints_ok_and_fail_lines) {
    verify_report r;
    verify_report_init(&r);
    verify_report_ok(&r, "file sha256", "file sha256 = artifact");
    verify_report_fail(&r, "leaf artifact", "differs");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    verify_report_print(&r, f);
    fclose(f);
    cr_assert_str_eq(text, "ok   file sha256 = artifact\nFAIL leaf artifact: differs\n");
    cr_assert(!verify_report_passed(&r));
    free(text);
    verify_report_free(&r);
}

Test(node_verify, artifact_tampered) {
    static verify_anchor_bundle b;
    make_bundle(&b, 2);
    uint8_t file_sha[32];
    memcpy(file_sha, b.artifact, 32);
    b.artifact[0] ^= 1;
    expect_bundle_fail(&b, file_sha, "file sha256", "artifact vs file");
    expect_bundle_fail(&b, NULL, "leaf artifact", "artifact vs leaf");
    uint8_t other[32];
    core_sha256(other, "another file", 12);
    b.artifact[0] ^= 1;
    expect_bundle_fail(&b, other, "file sha256", "another file");
    verify_anchor_bundle_free(&b);
}

/* Re-encodes the leaf of b after edit changed one field. */
static void edit_leaf(verify_anchor_bundle *b, void (*edit)(gz_anchor_leaf *)) {
    gz_anchor_leaf l;
    cr_assert_eq(core_anchor_leaf_decode(&l, b->leaf.data, b->leaf.len, NULL), GZ_OK);
    edit(&l);
    gz_buf_reset(&b->leaf);
    cr_assert_eq(core_anchor_leaf_encode(&l, &b->leaf), GZ_OK);
}

static void leaf_artifact(gz_anchor_leaf *l) { l->artifact[31] ^= 1; }
static void leaf_kind(gz_anchor_leaf *l) { l->kind = l->kind % 7 + 1; }
static void leaf_work(gz_anchor_leaf *l) { l->work_id[0] = 'W'; }
static void leaf_parent(gz_anchor_leaf *l) { l->has_parent = !l->has_parent; }
static void leaf_signer(gz_anchor_leaf *l) { l->signer[3] ^= 1; }
static void leaf_txid(gz_anchor_leaf *l) { l->txid[3] ^= 1; }
static void leaf_height(gz_anchor_leaf *l) { l->height++; }
static void leaf_time(gz_anchor_leaf *l) { l->time++; }

Test(node_verify, each_leaf_field_tampered) {
    static const struct {
        void (*edit)(gz_anchor_leaf *);
        const char *name;
        const char *check;
    } cases[] = {
        {leaf_artifact, "artifact", "leaf artifact"}, {leaf_kind, "kind", "inclusion proof"},
        {leaf_work, "work_id", "inclusion proof"},    {leaf_parent, "parent", "inclusion proof"},
        {leaf_signer, "signer", "inclusion proof"},   {leaf_txid, "txid", "inclusion proof"},
        {leaf_height, "height", "height"},            {leaf_time, "time", "leaf time"},
    };
    static verify_anchor_bundle good, b;
    make_bundle(&good, 4);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        copy_bundle(&b, &good);
        edit_leaf(&b, cases[i].edit);
        expect_bundle_fail(&b, NULL, cases[i].check, cases[i].name);
        verify_anchor_bundle_free(&b);
    }
    verify_anchor_bundle_free(&good);
}

/* Flipping any bit pattern of any byte of buf (selected by which) breaks the bundle. */
static void flip_every_byte(const verify_anchor_bundle *good, gz_buf *(*which)(verify_anchor_bundle *), const char *what) {
    static verify_anchor_bundle b;
    copy_bundle(&b, good);
    size_t len = which(&b)->len;
    verify_anchor_bundle_free(&b);
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            copy_bundle(&b, good);
            which(&b)->data[i] ^= masks[m];
            cr_assert(!bundle_passes(&b), "%s byte %zu ^ 0x%02x still verifies", what, i, masks[m]);
            verify_anchor_bundle_free(&b);
        }
    }
}

static gz_buf *leaf_of(verify_anchor_bundle *b) { return &b->leaf; }
static gz_buf *header_of(verify_anchor_bundle *b) { return &b->block.header; }
static gz_buf *commit_of(verify_anchor_bundle *b) { return &b->block.commit; }

Test(node_verify, every_byte_of_leaf_header_and_commit_matters) {
    static verify_anchor_bundle good;
    make_bundle(&good, 3);
    cr_assert(bundle_passes(&good));
    flip_every_byte(&good, leaf_of, "leaf");
    flip_every_byte(&good, header_of, "header");
    flip_every_byte(&good, commit_of, "commit");
    verify_anchor_bundle_free(&good);
}

Test(node_verify, leaf_index_and_tree_size_tampered) {
    static verify_anchor_bundle good, b;
    make_bundle(&good, 3);
    copy_bundle(&b, &good);
    b.proof.leaf_index = 4;
    expect_bundle_fail(&b, NULL, "inclusion proof", "leaf_index + 1");
    b.proof.leaf_index = 2;
    expect_bundle_fail(&b, NULL, "inclusion proof", "leaf_index - 1");
    b.proof.leaf_index = NLEAVES;
    expect_bundle_fail(&b, NULL, "leaf index", "leaf_index = tree_size");
    verify_anchor_bundle_free(&b);
    copy_bundle(&b, &good);
    b.proof.tree_size = NLEAVES + 1;
    expect_bundle_fail(&b, NULL, "tree size", "tree_size + 1");
    b.proof.tree_size = NLEAVES - 1;
    expect_bundle_fail(&b, NULL, "tree size", "tree_size - 1");
    verify_anchor_bundle_free(&b);
    verify_anchor_bundle_free(&good);
}

Test(node_verify, audit_path_tampered) {
    static verify_anchor_bundle good, b;
    make_bundle(&good, 5);
    cr_assert_geq(good.proof.path_len, 2);
    for (size_t i = 0; i < good.proof.path_len; i++) {
        for (int bit = 0; bit < 256; bit += 37) {
            copy_bundle(&b, &good);
            b.proof.path[i][bit / 8] ^= (uint8_t)(1u << (bit % 8));
            expect_bundle_fail(&b, NULL, "inclusion proof", "path entry bit flipped");
            verify_anchor_bundle_free(&b);
        }
    }
    copy_bundle(&b, &good);
    b.proof.path_len--;
    expect_bundle_fail(&b, NULL, "inclusion proof", "path entry dropped");
    b.proof.path_len += 2;
    memset(b.proof.path[b.proof.path_len - 1], 0x5a, 32);
    expect_bundle_fail(&b, NULL, "inclusion proof", "path entry added");
    b.proof.path_len--;
    memcpy(b.proof.path[0], good.proof.path[1], 32);
    memcpy(b.proof.path[1], good.proof.path[0], 32);
    expect_bundle_fail(&b, NULL, "inclusion proof", "path entries swapped");
    verify_anchor_bundle_free(&b);
    verify_anchor_bundle_free(&good);
}

Test(node_verify, bundle_height_tampered) {
    static verify_anchor_bundle b;
    make_bundle(&b, 0);
    b.block.height++;
    expect_bundle_fail(&b, NULL, "height", "height + 1");
    b.block.height -= 2;
    expect_bundle_fail(&b, NULL, "height", "height - 1");
    verify_anchor_bundle_free(&b);
}

/* ---- header fields ---- */

typedef void (*header_edit)(gz_header *);
static void h_chain(gz_header *h) { snprintf(h->chain_id, sizeof h->chain_id, "other-chain"); }
static void h_height(gz_header *h) { h->height++; }
static void h_time(gz_header *h) { h->time++; }
static void h_prev(gz_header *h) { h->prev_block_id[0] ^= 1; }
static void h_tx_root(gz_header *h) { h->tx_root[0] ^= 1; }
static void h_tx_count(gz_header *h) { h->tx_count++; }
static void h_state_root(gz_header *h) { h->state_root[0] ^= 1; }
static void h_log_root(gz_header *h) { h->log_root[0] ^= 1; }
static void h_log_size(gz_header *h) { h->log_size++; }
static void h_vals_hash(gz_header *h) { h->validators_hash[0] ^= 1; }
static void h_proposer(gz_header *h) { h->proposer[0] ^= 1; }

Test(node_verify, each_header_field_tampered) {
    static const struct {
        header_edit edit;
        const char *name, *check;
    } cases[] = {
        {h_chain, "chain_id", "chain id"},          {h_height, "height", "height"},
        {h_time, "time", "leaf time"},              {h_prev, "prev_block_id", "commit block"},
        {h_tx_root, "tx_root", "commit block"},     {h_tx_count, "tx_count", "commit block"},
        {h_state_root, "state_root", "commit block"}, {h_log_root, "log_root", "inclusion proof"},
        {h_log_size, "log_size", "tree size"},      {h_vals_hash, "validators_hash", "validators hash"},
        {h_proposer, "proposer", "commit block"},
    };
    static verify_anchor_bundle good, b;
    make_bundle(&good, 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        copy_bundle(&b, &good);
        gz_header h;
        cr_assert_eq(core_header_decode(&h, b.block.header.data, b.block.header.len, NULL), GZ_OK);
        cases[i].edit(&h);
        encode_header(&h, &b.block.header);
        expect_bundle_fail(&b, NULL, cases[i].check, cases[i].name);
        verify_report r;
        run_bundle(&b, NULL, &r);
        /* The old commit never covers the changed header. */
        const verify_check *c = verify_report_find(&r, "commit block");
        cr_assert(c != NULL && !c->ok, "%s: commit block still holds", cases[i].name);
        verify_report_free(&r);
        verify_anchor_bundle_free(&b);
    }
    verify_anchor_bundle_free(&good);
}

/* ---- commits ---- */

static void edit_commit(verify_anchor_bundle *b, void (*edit)(gz_commit *)) {
    static gz_commit c;
    cr_assert_eq(core_commit_decode(&c, b->block.commit.data, b->block.commit.len, NULL), GZ_OK);
    edit(&c);
    gz_buf_reset(&b->block.commit);
    cr_assert_eq(core_commit_encode(&c, &b->block.commit), GZ_OK);
}

static void c_sig_byte(gz_commit *c) { c->sigs[1].sig[17] ^= 4; }
static void c_sig_time(gz_commit *c) { c->sigs[0].time++; }
static void c_index(gz_commit *c) { c->sigs[2].validator_index = 3; }
static void c_index_range(gz_commit *c) { c->sigs[2].validator_index = NV; }
static void c_swap(gz_commit *c) {
    gz_commit_sig t = c->sigs[0];
    c->sigs[0] = c->sigs[1];
    c->sigs[1] = t;
}
static void c_dup(gz_commit *c) { c->sigs[2] = c->sigs[1]; }
static void c_round(gz_commit *c) { c->round++; }
static void c_height(gz_commit *c) { c->height++; }
static void c_block_id(gz_commit *c) { c->block_id[5] ^= 1; }
static void c_drop(gz_commit *c) { c->n_sigs--; }

Test(node_verify, each_commit_field_tampered) {
    static const struct {
        void (*edit)(gz_commit *);
        const char *name, *check;
    } cases[] = {
        {c_sig_byte, "a signature byte", "commit signatures"}, {c_sig_time, "a signature's time", "commit signatures"},
        {c_index, "an index", "commit signatures"},            {c_index_range, "an index out of range", "commit signatures"},
        {c_swap, "two signatures swapped", "commit signatures"}, {c_dup, "a signature twice", "commit signatures"},
        {c_round, "the round", "commit signatures"},           {c_height, "the height", "commit block"},
        {c_block_id, "the block id", "commit block"},          {c_drop, "2 of 4 signatures", "commit signatures"},
    };
    static verify_anchor_bundle good, b;
    make_bundle(&good, 6);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        copy_bundle(&b, &good);
        edit_commit(&b, cases[i].edit);
        expect_bundle_fail(&b, NULL, cases[i].check, cases[i].name);
        verify_anchor_bundle_free(&b);
    }
    verify_anchor_bundle_free(&good);
}

Test(node_verify, commit_power_must_exceed_two_thirds) {
    static verify_anchor_bundle b;
    make_bundle(&b, 0);
    static const struct {
        unsigned mask;
        bool ok;
    } cases[] = {{0x3, false}, {0x9, false}, {0x1, false}, {0x0, false}, {0x7, true}, {0xe, true}, {0xf, true}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sign_commit(&b.block.commit, &b.block.header, HEIGHT, 3, cases[i].mask, sk);
        verify_report r;
        run_bundle(&b, NULL, &r);
        cr_assert_eq(verify_report_passed(&r), cases[i].ok, "mask 0x%x", cases[i].mask);
        if (!cases[i].ok) {
            assert_first_failure(&r, "commit signatures", "too little power");
            cr_assert(strstr(verify_report_first_failure(&r)->text, "not more than 2/3") != NULL ||
                      cases[i].mask == 0);
        }
        verify_report_free(&r);
    }
    verify_anchor_bundle_free(&b);
}

/* ---- validators ---- */

Test(node_verify, validators_tampered) {
    static verify_anchor_bundle good, b;
    make_bundle(&good, 2);
    copy_bundle(&b, &good);
    b.validators[1].power = 11;
    expect_bundle_fail(&b, NULL, "validators hash", "power");
    verify_anchor_bundle_free(&b);
    copy_bundle(&b, &good);
    b.validators[2].pub_key[0] ^= 1;
    expect_bundle_fail(&b, NULL, "validators hash", "pub_key");
    verify_anchor_bundle_free(&b);
    copy_bundle(&b, &good);
    snprintf(b.validators[3].name, sizeof b.validators[3].name, "mallory");
    expect_bundle_fail(&b, NULL, "trusted validators", "name");
    verify_anchor_bundle_free(&b);
    copy_bundle(&b, &good);
    b.validators[0] = good.validators[1];
    b.validators[1] = good.validators[0];
    expect_bundle_fail(&b, NULL, "validators hash", "order");
    verify_anchor_bundle_free(&b);
    copy_bundle(&b, &good);
    b.n_validators = NV - 1;
    expect_bundle_fail(&b, NULL, "validators hash", "one dropped");
    verify_anchor_bundle_free(&b);
    verify_anchor_bundle_free(&good);
}

/* A self-consistent bundle from another validator set: its header names its
 * own set and its own validators signed it. Only genesis can tell, and
 * without a valset_chain nothing leads from genesis to that set. */
Test(node_verify, a_foreign_validator_set_is_not_trusted) {
    static verify_anchor_bundle b;
    make_bundle(&b, 2);
    uint8_t evil[NV][32];
    for (int i = 0; i < NV; i++) {
        seckey(evil[i], "mallory", i);
        cr_assert_eq(core_key_pub(b.validators[i].pub_key, evil[i]), GZ_OK);
    }
    uint8_t vh[32];
    cr_assert_eq(core_validators_hash(vh, b.validators, NV), GZ_OK);
    gz_header h;
    cr_assert_eq(core_header_decode(&h, b.block.header.data, b.block.header.len, NULL), GZ_OK);
    memcpy(h.validators_hash, vh, 32);
    encode_header(&h, &b.block.header);
    sign_commit(&b.block.commit, &b.block.header, HEIGHT, 0, 0xf, evil);
    verify_report r;
    run_bundle(&b, NULL, &r);
    assert_first_failure(&r, "header set", "foreign set");
    cr_assert_str_eq(verify_report_first_failure(&r)->text,
                     "header.validators_hash is not the genesis set; the bundle has no valset_chain");
    cr_assert(!verify_report_find(&r, "trusted validators")->ok);
    cr_assert(verify_report_find(&r, "validators hash")->ok);
    cr_assert(verify_report_find(&r, "commit block")->ok);
    cr_assert(!verify_report_find(&r, "commit signatures")->ok);
    verify_report_free(&r);
    verify_anchor_bundle_free(&b);
}

/* ---- malformed files ---- */

static void expect_parse_error(json_t *j, const char *want) {
    static verify_anchor_bundle b;
    verify_anchor_bundle_init(&b);
    gz_msg msg = {{0}};
    cr_assert_neq(verify_anchor_bundle_from_json(&b, j, &msg), GZ_OK, "accepted (%s)", want);
    cr_assert(strstr(msg.text, want) != NULL, "message \"%s\" lacks \"%s\"", msg.text, want);
    verify_anchor_bundle_free(&b);
    json_decref(j);
}

static json_t *good_json(void) {
    static verify_anchor_bundle b;
    make_bundle(&b, 1);
    json_t *j = NULL;
    cr_assert_eq(verify_anchor_bundle_to_json(&b, &j), GZ_OK);
    verify_anchor_bundle_free(&b);
    return j;
}

Test(node_verify, malformed_bundle_names_the_field) {
    static const char *const fields[] = {"artifact", "leaf", "leaf_index", "tree_size", "audit_path",
                                         "height", "header", "commit", "validators"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        json_t *j = good_json();
        json_object_del(j, fields[i]);
        char want[64];
        snprintf(want, sizeof want, "%s: missing", fields[i]);
        expect_parse_error(j, want);
    }
    json_t *j = good_json();
    json_object_set_new(j, "extra", json_true());
    expect_parse_error(j, "extra: unknown key");
    j = good_json();
    json_object_set_new(j, "leaf_index", json_integer(-1));
    expect_parse_error(j, "leaf_index: expected a non-negative integer");
    j = good_json();
    json_array_set_new(json_object_get(j, "audit_path"), 1, json_string("zz"));
    expect_parse_error(j, "audit_path[1]: expected 64 hex chars");
    j = good_json();
    json_object_set_new(json_array_get(json_object_get(j, "validators"), 2), "power", json_string("10"));
    expect_parse_error(j, "validators[2].power");
    j = good_json();
    json_object_set_new(j, "artifact", json_string("abc"));
    expect_parse_error(j, "artifact: expected 64 hex chars");
    j = good_json();
    char *big = malloc(2 * GZ_HEADER_BYTES_MAX + 3);
    memset(big, 'a', 2 * GZ_HEADER_BYTES_MAX + 2);
    big[2 * GZ_HEADER_BYTES_MAX + 2] = '\0';
    json_object_set_new(j, "header", json_string(big));
    free(big);
    char header_want[64];
    snprintf(header_want, sizeof header_want, "header: expected 1..%u bytes", GZ_HEADER_BYTES_MAX);
    expect_parse_error(j, header_want);
    j = good_json();
    json_t *path = json_object_get(j, "audit_path");
    while (json_array_size(path) <= GZ_MERKLE_PROOF_MAX) json_array_append(path, json_array_get(path, 0));
    expect_parse_error(j, "audit_path: expected an array of at most 64 entries, found 65");
    j = good_json();
    json_object_set_new(j, "validators", json_array());
    expect_parse_error(j, "validators: expected an array of 1..128 entries, found 0");
    expect_parse_error(json_array(), "expected an object");
}

/* ---- RFC 9162 vectors through the verifier's Merkle checks ---------------------------------- */

/* The vectors are read by tests/unit/testutil.c (as core's tests read them);
 * here they go through the verifier's own checks, the path the CLI uses. */
static void inclusion_vector(const tu_merkle_vector *v) {
    static verify_merkle_proof p;
    memset(&p, 0, sizeof p);
    memcpy(p.path, v->proof, sizeof v->proof[0] * v->proof_len);
    p.path_len = v->proof_len;
    p.leaf_index = v->leaf_index;
    p.tree_size = v->tree_size;
    if (v->well_formed) {
        int rc = verify_merkle_inclusion_check(v->leaf_hash, &p, v->root, NULL);
        cr_assert_eq(rc != GZ_OK, v->want_err, "%s: rc %d", v->path, rc);
    } else {
        cr_assert(v->want_err, "%s: a value that is not a 32-byte hash must be an error case", v->path);
    }
}

static void consistency_vector(const tu_merkle_vector *v) {
    if (v->well_formed) {
        int rc = verify_merkle_consistency_check(v->size1, v->root1, v->size2, v->root2,
                                               (const uint8_t(*)[32])v->proof, v->proof_len, NULL);
        cr_assert_eq(rc != GZ_OK, v->want_err, "%s: rc %d", v->path, rc);
    } else {
        cr_assert(v->want_err, "%s: a value that is not a 32-byte hash must be an error case", v->path);
    }
}

Test(node_verify, rfc9162_inclusion_vectors) {
    int n = tu_merkle_vectors(GZ_VECTORS_DIR "/merkle/testdata/inclusion", false, inclusion_vector);
    cr_assert_eq(n, 98, "read %d files", n);
}

Test(node_verify, rfc9162_consistency_vectors) {
    int n = tu_merkle_vectors(GZ_VECTORS_DIR "/merkle/testdata/consistency", true, consistency_vector);
    cr_assert_eq(n, 98, "read %d files", n);
}

/* ---- consistency between every pair of sizes 1..64 ------------------------------------------ */

#define LOG_MAX 64
static uint8_t log_hashes[LOG_MAX][32];

static void make_log(void) {
    for (int i = 0; i < LOG_MAX; i++) {
        char s[16];
        snprintf(s, sizeof s, "leaf %d", i);
        core_merkle_leaf_hash(log_hashes[i], (const uint8_t *)s, strlen(s));
    }
}

static void log_root(uint8_t out[32], size_t n) {
    cr_assert_eq(core_merkle_root(out, (const uint8_t(*)[32])log_hashes, n), GZ_OK);
}

static bool consistent(uint64_t m, const uint8_t r1[32], uint64_t n, const uint8_t r2[32], uint8_t (*path)[32],
                       size_t len) {
    return verify_merkle_consistency_check(m, r1, n, r2, (const uint8_t(*)[32])path, len, NULL) == GZ_OK;
}

Test(node_verify, consistency_every_pair_up_to_64_and_tampering) {
    make_log();
    uint8_t roots[LOG_MAX + 1][32];
    for (size_t n = 1; n <= LOG_MAX; n++) log_root(roots[n], n);
    for (size_t n = 1; n <= LOG_MAX; n++) {
        for (size_t m = 1; m <= n; m++) {
            uint8_t path[GZ_MERKLE_PROOF_MAX + 1][32];
            size_t len = 0;
            cr_assert_eq(core_merkle_consistency_proof(path, &len, (const uint8_t(*)[32])log_hashes, n, m), GZ_OK);
            cr_assert(consistent(m, roots[m], n, roots[n], path, len), "%zu -> %zu", m, n);
            for (size_t i = 0; i < len; i++) {
                path[i][i % 32] ^= 0x10;
                cr_assert(!consistent(m, roots[m], n, roots[n], path, len), "%zu -> %zu: entry %zu flipped", m, n, i);
                path[i][i % 32] ^= 0x10;
            }
            uint8_t bad[32];
            memcpy(bad, roots[m], 32);
            bad[0] ^= 1;
            cr_assert(!consistent(m, bad, n, roots[n], path, len), "%zu -> %zu: root1", m, n);
            memcpy(bad, roots[n], 32);
            bad[31] ^= 1;
            cr_assert(!consistent(m, roots[m], n, bad, path, len), "%zu -> %zu: root2", m, n);
            if (len > 0) cr_assert(!consistent(m, roots[m], n, roots[n], path, len - 1), "%zu -> %zu: dropped", m, n);
            memset(path[len], 0x77, 32);
            cr_assert(!consistent(m, roots[m], n, roots[n], path, len + 1), "%zu -> %zu: added", m, n);
            if (m < n) cr_assert(!consistent(n, roots[n], m, roots[m], path, len), "%zu -> %zu: reversed", m, n);
        }
    }
}

/* ---- log proofs with signed headers ---------------------------------------------------------- */

/* A signed header at height whose provenance log holds the first size leaves. */
static void make_log_end(verify_signed_header *sh, uint64_t height, size_t size) {
    gz_header h;
    make_header(&h, height, NULL);
    log_root(h.log_root, size);
    h.log_size = size;
    sh->height = height;
    gz_buf_init(&sh->header);
    gz_buf_init(&sh->commit);
    encode_header(&h, &sh->header);
    sign_commit(&sh->commit, &sh->header, height, 0, 0xb, sk);
}

static void make_log_proof(verify_log_proof *l, size_t m, size_t n) {
    verify_log_proof_init(l);
    make_log_end(&l->first, 10, m);
    make_log_end(&l->second, 20, n);
    if (m > 0) {
        cr_assert_eq(core_merkle_consistency_proof(l->path, &l->path_len, (const uint8_t(*)[32])log_hashes, n, m),
                     GZ_OK);
    }
    l->n_validators = NV;
    memcpy(l->validators, g.validators, sizeof l->validators);
}

/* Verifies through the JSON text, as `verify-log --in` does. */
static void run_log(const verify_log_proof *l, verify_report *r) {
    json_t *j = NULL;
    cr_assert_eq(verify_log_proof_to_json(l, &j), GZ_OK);
    static verify_log_proof parsed;
    verify_log_proof_init(&parsed);
    gz_msg msg = {{0}};
    cr_assert_eq(verify_log_proof_from_json(&parsed, j, &msg), GZ_OK, "%s", msg.text);
    json_decref(j);
    verify_report_init(r);
    verify_log(r, &g, &parsed);
    verify_log_proof_free(&parsed);
}

Test(node_verify, log_proofs_between_signed_headers) {
    make_log();
    static const size_t pairs[][2] = {{1, 1}, {1, 7}, {3, 7}, {7, 7}, {5, 64}, {32, 33}, {0, 0}, {0, 9}};
    static verify_log_proof l;
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        size_t m = pairs[i][0], n = pairs[i][1];
        make_log_proof(&l, m, n);
        verify_report r;
        run_log(&l, &r);
        cr_assert(verify_report_passed(&r), "%zu -> %zu: %s", m, n, verify_report_first_failure(&r)->text);
        verify_report_free(&r);
        if (l.path_len > 0) {
            l.path[l.path_len - 1][3] ^= 1;
            run_log(&l, &r);
            assert_first_failure(&r, "consistency proof", "proof entry flipped");
            verify_report_free(&r);
        } else if (m > 0 && m < n) {
            cr_assert_fail("%zu -> %zu: expected a non-empty proof", m, n);
        }
        verify_log_proof_free(&l);
    }
}

Test(node_verify, log_proof_tampering) {
    make_log();
    static verify_log_proof l;
    verify_report r;
    /* The later log first: the sizes are out of order. */
    make_log_proof(&l, 3, 9);
    verify_signed_header t = l.first;
    l.first = l.second;
    l.second = t;
    run_log(&l, &r);
    assert_first_failure(&r, "log sizes", "swapped");
    verify_report_free(&r);
    verify_log_proof_free(&l);
    /* A header whose log root was rewritten is not the signed one. */
    make_log_proof(&l, 3, 9);
    gz_header h;
    cr_assert_eq(core_header_decode(&h, l.second.header.data, l.second.header.len, NULL), GZ_OK);
    h.log_root[0] ^= 1;
    encode_header(&h, &l.second.header);
    run_log(&l, &r);
    assert_first_failure(&r, "second commit block", "second header rewritten");
    cr_assert(!verify_report_find(&r, "consistency proof")->ok);
    verify_report_free(&r);
    verify_log_proof_free(&l);
    /* A rewritten log: the second header is honest about another history. */
    make_log_proof(&l, 3, 9);
    log_hashes[1][0] ^= 1;
    gz_buf_free(&l.second.header);
    gz_buf_free(&l.second.commit);
    make_log_end(&l.second, 20, 9);
    run_log(&l, &r);
    assert_first_failure(&r, "consistency proof", "history rewritten");
    verify_report_free(&r);
    verify_log_proof_free(&l);
    /* An empty first log with a root that is not the empty root. */
    make_log();
    make_log_proof(&l, 0, 5);
    cr_assert_eq(core_header_decode(&h, l.first.header.data, l.first.header.len, NULL), GZ_OK);
    h.log_root[0] ^= 1;
    encode_header(&h, &l.first.header);
    sign_commit(&l.first.commit, &l.first.header, 10, 0, 0x7, sk);
    run_log(&l, &r);
    assert_first_failure(&r, "consistency proof", "empty log, wrong root");
    verify_report_free(&r);
    verify_log_proof_free(&l);
    /* First commit too weak. */
    make_log_proof(&l, 2, 4);
    sign_commit(&l.first.commit, &l.first.header, 10, 0, 0x3, sk);
    run_log(&l, &r);
    assert_first_failure(&r, "first commit signatures", "weak first commit");
    verify_report_free(&r);
    verify_log_proof_free(&l);
}

/* ---- tx proofs --------------------------------------------------------------------------------- */

#define NTXS 5

static void new_tx(gz_tx *tx, const uint8_t key[32], uint64_t type, uint64_t nonce) {
    memset(tx, 0, sizeof *tx);
    snprintf(tx->chain_id, sizeof tx->chain_id, "%s", g.chain_id);
    tx->type = type;
    cr_assert_eq(core_key_pub(tx->signer, key), GZ_OK);
    tx->nonce = nonce;
}

static void sign_tx(gz_tx *tx, const uint8_t key[32], gz_buf *out) {
    gz_buf_reset(out);
    cr_assert_eq(core_tx_sign_encode(tx, key, out), GZ_OK);
}

static gz_buf tx_bytes[NTXS];
static uint8_t txids[NTXS][32];

/* A block of NTXS transfers at HEIGHT and the proof of tx index. */
static void make_tx_proof(verify_tx_proof *t, size_t index) {
    static gz_tx tx;
    uint8_t alice[32];
    seckey(alice, "alice", 0);
    uint8_t tx_leaves[NTXS][32];
    for (size_t i = 0; i < NTXS; i++) {
        new_tx(&tx, alice, GZ_TX_TRANSFER, i);
        memset(tx.p.transfer.to, 0x21, 32);
        tx.p.transfer.amount = 100 + i;
        gz_buf_init(&tx_bytes[i]);
        sign_tx(&tx, alice, &tx_bytes[i]);
        memcpy(txids[i], tx.txid, 32);
        core_merkle_leaf_hash(tx_leaves[i], tx.txid, 32);
    }
    verify_tx_proof_init(t);
    memcpy(t->txid, txids[index], 32);
    copy_buf(&t->tx, &tx_bytes[index]);
    t->proof.leaf_index = index;
    t->proof.tree_size = NTXS;
    cr_assert_eq(core_merkle_inclusion_proof(t->proof.path, &t->proof.path_len, (const uint8_t(*)[32])tx_leaves, NTXS,
                                             index),
                 GZ_OK);
    gz_header h;
    make_header(&h, HEIGHT, NULL);
    cr_assert_eq(core_merkle_root(h.tx_root, (const uint8_t(*)[32])tx_leaves, NTXS), GZ_OK);
    h.tx_count = NTXS;
    t->block.height = HEIGHT;
    encode_header(&h, &t->block.header);
    sign_commit(&t->block.commit, &t->block.header, HEIGHT, 1, 0xe, sk);
    t->n_validators = NV;
    memcpy(t->validators, g.validators, sizeof t->validators);
    for (size_t i = 0; i < NTXS; i++) gz_buf_free(&tx_bytes[i]);
}

static void run_tx(const verify_tx_proof *t, verify_report *r) {
    json_t *j = NULL;
    cr_assert_eq(verify_tx_proof_to_json(t, &j), GZ_OK);
    static verify_tx_proof parsed;
    verify_tx_proof_init(&parsed);
    gz_msg msg = {{0}};
    cr_assert_eq(verify_tx_proof_from_json(&parsed, j, &msg), GZ_OK, "%s", msg.text);
    json_decref(j);
    verify_report_init(r);
    verify_tx(r, &g, &parsed);
    verify_tx_proof_free(&parsed);
}

static void expect_tx_fail(const verify_tx_proof *t, const char *name, const char *what) {
    verify_report r;
    run_tx(t, &r);
    assert_first_failure(&r, name, what);
    verify_report_free(&r);
}

Test(node_verify, tx_proofs_verify_and_tampering_fails) {
    static verify_tx_proof t;
    for (size_t i = 0; i < NTXS; i++) {
        make_tx_proof(&t, i);
        verify_report r;
        run_tx(&t, &r);
        cr_assert(verify_report_passed(&r), "tx %zu: %s", i, verify_report_first_failure(&r)->text);
        cr_assert(strstr(verify_report_find(&r, "inclusion proof")->text, "header.tx_root") != NULL);
        verify_report_free(&r);
        verify_tx_proof_free(&t);
    }
    make_tx_proof(&t, 3);
    t.txid[0] ^= 1;
    expect_tx_fail(&t, "txid", "file txid");
    t.txid[0] ^= 1;
    t.proof.leaf_index = 2;
    expect_tx_fail(&t, "inclusion proof", "leaf_index");
    t.proof.leaf_index = 3;
    t.proof.tree_size = NTXS + 1;
    expect_tx_fail(&t, "tree size", "tree_size");
    t.proof.tree_size = NTXS;
    t.proof.path[0][0] ^= 1;
    expect_tx_fail(&t, "inclusion proof", "path");
    t.proof.path[0][0] ^= 1;
    t.block.height++;
    expect_tx_fail(&t, "height", "height");
    t.block.height--;
    for (size_t i = 0; i < t.tx.len; i++) {
        t.tx.data[i] ^= 0x02;
        verify_report r;
        run_tx(&t, &r);
        cr_assert(!verify_report_passed(&r), "tx byte %zu flipped still verifies", i);
        verify_report_free(&r);
        t.tx.data[i] ^= 0x02;
    }
    verify_tx_proof_free(&t);
}

/* The tx and log proof files name their nested fields, as the bundle does. */
static void expect_json_error(json_t *j, bool tx, const char *want) {
    gz_msg msg = {{0}};
    int rc;
    if (tx) {
        static verify_tx_proof t;
        verify_tx_proof_init(&t);
        rc = verify_tx_proof_from_json(&t, j, &msg);
        verify_tx_proof_free(&t);
    } else {
        static verify_log_proof l;
        verify_log_proof_init(&l);
        rc = verify_log_proof_from_json(&l, j, &msg);
        verify_log_proof_free(&l);
    }
    cr_assert_eq(rc, GZ_EARG, "accepted (%s)", want);
    cr_assert_str_eq(msg.text, want);
    json_decref(j);
}

Test(node_verify, malformed_tx_and_log_proofs_name_the_field) {
    static verify_tx_proof t;
    make_tx_proof(&t, 3);
    json_t *good = NULL;
    cr_assert_eq(verify_tx_proof_to_json(&t, &good), GZ_OK);
    verify_tx_proof_free(&t);
    json_t *j = json_deep_copy(good);
    json_object_del(j, "proof");
    expect_json_error(j, true, "proof: missing (expected an object)");
    j = json_deep_copy(good);
    json_object_set_new(json_object_get(j, "proof"), "extra", json_true());
    expect_json_error(j, true, "proof.extra: unknown key");
    j = json_deep_copy(good);
    json_object_set_new(json_object_get(j, "proof"), "tree_size", json_string("7"));
    expect_json_error(j, true, "proof.tree_size: expected a non-negative integer");
    j = json_deep_copy(good);
    json_object_set_new(j, "tx", json_string(""));
    expect_json_error(j, true, "tx: expected 1..16384 bytes (2..32768 hex chars)");
    json_decref(good);
    make_log();
    static verify_log_proof l;
    make_log_proof(&l, 3, 7);
    cr_assert_eq(verify_log_proof_to_json(&l, &good), GZ_OK);
    verify_log_proof_free(&l);
    j = json_deep_copy(good);
    json_object_del(json_object_get(j, "first"), "commit");
    expect_json_error(j, false, "first.commit: missing (expected a hex string)");
    j = json_deep_copy(good);
    json_object_set_new(j, "second", json_array());
    expect_json_error(j, false, "second: expected an object");
    j = json_deep_copy(good);
    json_array_set_new(json_object_get(j, "proof"), 0, json_integer(1));
    expect_json_error(j, false, "proof[0]: expected 64 hex chars");
    json_decref(good);
}

Test(node_verify, tx_signature_and_chain_are_checked) {
    static verify_tx_proof t;
    static gz_tx tx;
    make_tx_proof(&t, 0);
    cr_assert_eq(core_tx_decode(&tx, t.tx.data, t.tx.len, NULL), GZ_OK);
    tx.sig[9] ^= 1;
    gz_buf_reset(&t.tx);
    cr_assert_eq(core_tx_encode(&tx, &t.tx), GZ_OK);
    expect_tx_fail(&t, "tx signature", "signature");
    verify_tx_proof_free(&t);
    make_tx_proof(&t, 0);
    uint8_t alice[32];
    seckey(alice, "alice", 0);
    cr_assert_eq(core_tx_decode(&tx, t.tx.data, t.tx.len, NULL), GZ_OK);
    snprintf(tx.chain_id, sizeof tx.chain_id, "elsewhere");
    sign_tx(&tx, alice, &t.tx);
    memcpy(t.txid, tx.txid, 32);
    expect_tx_fail(&t, "tx chain id", "chain");
    verify_tx_proof_free(&t);
}

/* ---- blocks of a walk ------------------------------------------------------------------------ */

Test(node_verify, block_checks_txids_chain_and_commit) {
    static verify_tx_proof t;
    verify_valset gs;
    verify_valset_genesis(&gs, &g);
    make_tx_proof(&t, 0);
    gz_header h;
    uint8_t id[32], prev[32];
    gz_msg msg = {{0}};
    memset(prev, 0x11, 32);
    const uint8_t *hd = t.block.header.data, *cm = t.block.commit.data;
    size_t hl = t.block.header.len, cl = t.block.commit.len;
    const uint8_t(*ids)[32] = (const uint8_t(*)[32])txids;
    cr_assert_eq(verify_block(&g, &gs, HEIGHT, prev, hd, hl, cm, cl, ids, NTXS, &h, id, &msg), GZ_OK, "%s", msg.text);
    uint8_t want[32];
    core_block_id(want, hd, hl);
    cr_assert_arr_eq(id, want, 32);
    cr_assert_eq(verify_block(&g, &gs, HEIGHT, NULL, hd, hl, cm, cl, ids, NTXS, &h, id, &msg), GZ_OK);
    cr_assert_eq(verify_block(&g, &gs, HEIGHT + 1, NULL, hd, hl, cm, cl, ids, NTXS, &h, id, &msg), GZ_EVERIFY);
    cr_assert(strstr(msg.text, "header.height") != NULL, "%s", msg.text);
    prev[0] ^= 1;
    cr_assert_eq(verify_block(&g, &gs, HEIGHT, prev, hd, hl, cm, cl, ids, NTXS, &h, id, &msg), GZ_EVERIFY);
    cr_assert(strstr(msg.text, "prev_block_id") != NULL, "%s", msg.text);
    cr_assert_eq(verify_block(&g, &gs, HEIGHT, NULL, hd, hl, cm, cl, ids, NTXS - 1, &h, id, &msg), GZ_EVERIFY);
    cr_assert(strstr(msg.text, "tx_count") != NULL, "%s", msg.text);
    uint8_t swapped[NTXS][32];
    memcpy(swapped, txids, sizeof swapped);
    memcpy(swapped[0], txids[1], 32);
    memcpy(swapped[1], txids[0], 32);
    cr_assert_eq(verify_block(&g, &gs, HEIGHT, NULL, hd, hl, cm, cl, (const uint8_t(*)[32])swapped, NTXS, &h, id, &msg),
                 GZ_EVERIFY);
    cr_assert(strstr(msg.text, "tx_root") != NULL, "%s", msg.text);
    sign_commit(&t.block.commit, &t.block.header, HEIGHT, 0, 0x6, sk);
    cm = t.block.commit.data;
    cl = t.block.commit.len;
    cr_assert_eq(verify_block(&g, &gs, HEIGHT, NULL, hd, hl, cm, cl, ids, NTXS, &h, id, &msg), GZ_EVERIFY);
    cr_assert(strstr(msg.text, "2/3") != NULL, "%s", msg.text);
    cr_assert(gz_is_zero32(id));
    verify_tx_proof_free(&t);
}

/* ---- proposal audit ---------------------------------------------------------------------------- */

enum { ALICE, BOB, CAROL, DAVE, GOV, NKEYS };
static uint8_t keys[NKEYS][32];
static uint64_t nonces[NKEYS];

/* Genesis accounts: alice LV8 collector, bob LV3, carol LV0 whale; the
 * governor is an authority; dave is never registered. */
static void setup_accounts(void) {
    static const char *const names[NKEYS] = {"alice", "bob", "carol", "dave", "governor"};
    static const uint64_t levels[3] = {8, 3, 0}, classes[3] = {2, 0, 1};
    for (int i = 0; i < NKEYS; i++) {
        seckey(keys[i], names[i], 0);
        nonces[i] = 0;
    }
    for (int i = 0; i < 3; i++) {
        gz_genesis_account a = {.level = levels[i], .classes = classes[i]};
        cr_assert_eq(core_key_pub(a.account, keys[i]), GZ_OK);
        snprintf(a.label, sizeof a.label, "%s", names[i]);
        cr_assert_eq(ledger_genesis_add_account(&g, &a), GZ_OK);
    }
    g.n_authorities[GZ_ROLE_GOVERNOR] = 1;
    cr_assert_eq(core_key_pub(g.authorities[GZ_ROLE_GOVERNOR][0], keys[GOV]), GZ_OK);
}

typedef struct chain {
    verify_audit *a;
    verify_report r;
    uint64_t height, time;
    uint32_t index;
} chain;

static void chain_start(chain *c, const uint8_t id[32], bool replay) {
    memset(c, 0, sizeof *c);
    cr_assert_eq(verify_audit_new(&c->a, &g, id, replay), GZ_OK);
    verify_report_init(&c->r);
}

static void chain_end(chain *c) {
    verify_audit_free(c->a);
    verify_report_free(&c->r);
}

static void block(chain *c, uint64_t time) {
    c->height++;
    c->time = time;
    c->index = 0;
    verify_audit_block(c->a, c->height, time);
}

/* Signs tx as who with its next nonce (or nonce when given) and feeds it with
 * the node's code and events (stolen). */
static void feed(chain *c, gz_tx *tx, int who, int code, json_t *events) {
    static gz_buf b;
    sign_tx(tx, keys[who], &b);
    gz_buf_free(&b);
    json_t *ev = events != NULL ? events : json_array();
    cr_assert_eq(verify_audit_tx(c->a, &c->r, tx, c->index++, code, ev), GZ_OK);
    json_decref(ev);
}

static json_t *vote_events(int who, uint64_t weight, bool replaced) {
    uint8_t pub[32];
    char hex[65];
    cr_assert_eq(core_key_pub(pub, keys[who]), GZ_OK);
    gz_hex_encode(hex, pub, 32);
    return json_pack("[{s:s, s:{s:s, s:I, s:b}}]", "type", "vote", "attrs", "voter", hex, "weight", (json_int_t)weight,
                     "replaced", replaced);
}

static void vote(chain *c, const uint8_t id[32], int who, uint64_t choice, int code, json_t *events) {
    static gz_tx tx;
    new_tx(&tx, keys[who], GZ_TX_VOTE, nonces[who]++);
    memcpy(tx.p.vote.proposal_id, id, 32);
    tx.p.vote.n_choices = 1;
    tx.p.vote.choices[0] = choice;
    feed(c, &tx, who, code, events);
}

static void general_proposal(gz_tx *tx, uint64_t weighting, uint64_t min_level) {
    new_tx(tx, keys[GOV], GZ_TX_PROPOSAL_CREATE, nonces[GOV]++);
    gz_p_proposal_create *p = &tx->p.proposal_create;
    p->kind = 7;
    snprintf(p->subject, sizeof p->subject, "topic");
    p->n_options = 2;
    snprintf(p->options[0], sizeof p->options[0], "yes");
    snprintf(p->options[1], sizeof p->options[1], "no");
    p->min_level = min_level;
    p->weighting = weighting;
    p->voting_ms = 1000;
    gz_buf b = {0};
    sign_tx(tx, keys[GOV], &b);
    gz_buf_free(&b);
}

#define T0 (TIME + 100000)

static json_t *claim(uint64_t kind, const char *status, json_t *winner, uint64_t opens, uint64_t closes, uint64_t t0,
                     uint64_t t1, uint64_t turnout, uint64_t voters) {
    return json_pack("{s:I, s:[s,s], s:I, s:I, s:s, s:o, s:[I,I], s:I, s:I}", "kind", (json_int_t)kind, "options",
                     "yes", "no", "opens_at", (json_int_t)opens, "closes_at", (json_int_t)closes,
                     "status", status, "winner", winner, "tally", (json_int_t)t0, (json_int_t)t1, "turnout",
                     (json_int_t)turnout, "voters", (json_int_t)voters);
}

/* What the node may lie about in the general-proposal scenario. */
enum lie { TRUTH, BOB_COUNTED, WEIGHT, NONCE_CLAIMED, LATE_VOTE, TRANSFER_NONCE };

/* Blocks: create; alice yes, bob no (LV3, refused), carol no (refused),
 * dave yes (unregistered); alice changes to no; the closing block (a late
 * vote). The truth: passed, "no" wins 1:0. */
static void scenario_general(chain *c, enum lie lie, bool replay) {
    setup_accounts();
    static gz_tx create;
    general_proposal(&create, 1, 8);
    chain_start(c, create.txid, replay);
    block(c, T0);
    feed(c, &create, GOV, 0, NULL);
    block(c, T0 + 100);
    vote(c, create.txid, ALICE, 0, lie == NONCE_CLAIMED ? 4 : 0, vote_events(ALICE, lie == WEIGHT ? 3 : 1, false));
    vote(c, create.txid, BOB, 1, lie == BOB_COUNTED ? 0 : 6, lie == BOB_COUNTED ? vote_events(BOB, 1, false) : NULL);
    vote(c, create.txid, CAROL, 1, 6, NULL);
    vote(c, create.txid, DAVE, 0, 5, NULL);
    static gz_tx t;
    new_tx(&t, keys[ALICE], GZ_TX_TRANSFER, lie == TRANSFER_NONCE ? 7 : nonces[ALICE]++);
    memset(t.p.transfer.to, 0x21, 32);
    feed(c, &t, ALICE, lie == TRANSFER_NONCE ? 0 : 10, NULL);
    block(c, T0 + 200);
    vote(c, create.txid, ALICE, 1, 0, vote_events(ALICE, 1, lie != NONCE_CLAIMED));
    cr_assert(!verify_audit_done(c->a));
    block(c, T0 + 1000);
    cr_assert(verify_audit_done(c->a));
    vote(c, create.txid, CAROL, 0, lie == LATE_VOTE ? 0 : 10, lie == LATE_VOTE ? vote_events(CAROL, 1, false) : NULL);
}

static json_t *general_truth(void) { return claim(7, "passed", json_integer(1), T0, T0 + 1000, 0, 1, 1, 1); }

Test(node_verify, audit_confirms_a_true_tally) {
    chain c;
    scenario_general(&c, TRUTH, true);
    json_t *cl = general_truth();
    verify_audit_compare(c.a, &c.r, cl);
    json_decref(cl);
    cr_assert(verify_report_passed(&c.r), "%s: %s", verify_report_first_failure(&c.r)->name,
              verify_report_first_failure(&c.r)->text);
    size_t votes = 0;
    for (size_t i = 0; i < c.r.n; i++) votes += strcmp(c.r.checks[i].name, "vote") == 0;
    cr_assert_eq(votes, 6, "one line per vote, %zu", votes);
    cr_assert_str_eq(verify_report_find(&c.r, "tally")->text, "tally [0, 1] = the node's");
    cr_assert(strstr(verify_report_find(&c.r, "summary")->text, "6 votes: 2 accepted (1 replacing an earlier vote), 4 refused") != NULL,
              "%s", verify_report_find(&c.r, "summary")->text);
    chain_end(&c);
}

Test(node_verify, audit_names_each_wrong_claim) {
    static const struct {
        const char *key, *check;
    } cases[] = {{"tally", "tally"}, {"status", "status"},       {"winner", "winner"}, {"turnout", "turnout"},
                 {"voters", "voters"}, {"closes_at", "closes_at"}, {"opens_at", "opens_at"}, {"kind", "kind"},
                 {"options", "options"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chain c;
        scenario_general(&c, TRUTH, true);
        json_t *cl = general_truth();
        const char *k = cases[i].key;
        if (strcmp(k, "tally") == 0) json_array_set_new(json_object_get(cl, k), 0, json_integer(1));
        else if (strcmp(k, "status") == 0) json_object_set_new(cl, k, json_string("tied"));
        else if (strcmp(k, "winner") == 0) json_object_set_new(cl, k, json_integer(0));
        else if (strcmp(k, "options") == 0) json_array_set_new(json_object_get(cl, k), 1, json_string("nay"));
        else json_object_set_new(cl, k, json_integer(json_integer_value(json_object_get(cl, k)) + 1));
        verify_audit_compare(c.a, &c.r, cl);
        json_decref(cl);
        assert_first_failure(&c.r, cases[i].check, k);
        cr_assert_eq(c.r.n_failed, 1, "%s: %zu failures", k, c.r.n_failed);
        chain_end(&c);
    }
}

Test(node_verify, audit_catches_a_node_that_lies_about_votes) {
    static const struct {
        enum lie lie;
        const char *check;
    } cases[] = {{BOB_COUNTED, "vote"}, {WEIGHT, "vote"}, {NONCE_CLAIMED, "vote"}, {LATE_VOTE, "vote"},
                 {TRANSFER_NONCE, "replay"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        chain c;
        scenario_general(&c, cases[i].lie, true);
        assert_first_failure(&c.r, cases[i].check, "lie");
        chain_end(&c);
    }
}

/* Without the account replay, eligibility is the node's word: an ineligible
 * vote it counts goes unnoticed, which is why replaying is the default. The
 * bytes-derived rules (closing time, choices) still hold. */
Test(node_verify, audit_from_creation_trusts_eligibility_only) {
    chain c;
    scenario_general(&c, TRUTH, false);
    json_t *cl = general_truth();
    verify_audit_compare(c.a, &c.r, cl);
    json_decref(cl);
    cr_assert(verify_report_passed(&c.r), "%s", verify_report_first_failure(&c.r)->text);
    cr_assert(strstr(verify_report_find(&c.r, "summary")->text, "accounts not replayed") != NULL);
    chain_end(&c);
    scenario_general(&c, BOB_COUNTED, false);
    cl = claim(7, "passed", json_integer(1), T0, T0 + 1000, 0, 2, 2, 2);
    verify_audit_compare(c.a, &c.r, cl);
    json_decref(cl);
    cr_assert(verify_report_passed(&c.r), "trusting mode cannot see bob's ineligibility");
    chain_end(&c);
    scenario_general(&c, LATE_VOTE, false);
    assert_first_failure(&c.r, "vote", "a late vote is caught from bytes alone");
    chain_end(&c);
}

Test(node_verify, audit_weights_by_replayed_gov_tokens) {
    setup_accounts();
    static gz_tx grant, create;
    new_tx(&grant, keys[GOV], GZ_TX_GOV_GRANT, nonces[GOV]++);
    cr_assert_eq(core_key_pub(grant.p.gov_grant.account, keys[ALICE]), GZ_OK);
    grant.p.gov_grant.amount = 7;
    grant.p.gov_grant.category = 1;
    general_proposal(&create, 2, 0);
    for (int lie = 0; lie < 2; lie++) {
        nonces[ALICE] = nonces[BOB] = 0;
        chain c;
        chain_start(&c, create.txid, true);
        block(&c, T0 - 50);
        feed(&c, &grant, GOV, 0, NULL);
        block(&c, T0);
        feed(&c, &create, GOV, 0, NULL);
        block(&c, T0 + 10);
        vote(&c, create.txid, ALICE, 0, 0, vote_events(ALICE, lie ? 1 : 7, false));
        vote(&c, create.txid, BOB, 1, 6, NULL); /* no gov_tokens: weight 0 */
        block(&c, T0 + 5000);
        json_t *cl = claim(7, "passed", json_integer(0), T0, T0 + 1000, lie ? 1 : 7, 0, lie ? 1 : 7, 1);
        verify_audit_compare(c.a, &c.r, cl);
        json_decref(cl);
        if (lie) assert_first_failure(&c.r, "vote", "weight 1 for 7 tokens");
        else cr_assert(verify_report_passed(&c.r), "%s", verify_report_first_failure(&c.r)->text);
        chain_end(&c);
    }
}

Test(node_verify, audit_tie_has_no_winner) {
    setup_accounts();
    static gz_tx create;
    general_proposal(&create, 1, 0);
    chain c;
    chain_start(&c, create.txid, true);
    block(&c, T0);
    feed(&c, &create, GOV, 0, NULL);
    block(&c, T0 + 1);
    vote(&c, create.txid, ALICE, 0, 0, vote_events(ALICE, 1, false));
    vote(&c, create.txid, BOB, 1, 0, vote_events(BOB, 1, false));
    block(&c, T0 + 1000);
    json_t *cl = claim(7, "tied", json_null(), T0, T0 + 1000, 1, 1, 2, 2);
    verify_audit_compare(c.a, &c.r, cl);
    json_decref(cl);
    cr_assert(verify_report_passed(&c.r), "%s", verify_report_first_failure(&c.r)->text);
    chain_end(&c);
}

/* DISTRUST: opens once enough co-signers holding a co-signer class signed;
 * voters by the policy; passes on "yes" with the quorum. */
Test(node_verify, audit_distrust_with_cosigners) {
    setup_accounts();
    g.policy.votes.cosigners_required = 2;
    g.policy.votes.distrust_quorum = 2;
    static gz_tx create, cosign;
    new_tx(&create, keys[CAROL], GZ_TX_PROPOSAL_CREATE, nonces[CAROL]++);
    gz_p_proposal_create *p = &create.p.proposal_create;
    p->kind = 1;
    snprintf(p->subject, sizeof p->subject, "ctl");
    p->n_options = 2;
    snprintf(p->options[0], sizeof p->options[0], "yes");
    snprintf(p->options[1], sizeof p->options[1], "no");
    p->weighting = 1;
    p->voting_ms = 500;
    gz_buf b = {0};
    sign_tx(&create, keys[CAROL], &b);
    gz_buf_free(&b);
    for (int lie = 0; lie < 2; lie++) {
        nonces[ALICE] = nonces[BOB] = 0;
        nonces[CAROL] = 1;
        chain c;
        chain_start(&c, create.txid, true);
        block(&c, T0);
        feed(&c, &create, CAROL, 0, NULL);
        block(&c, T0 + 10);
        vote(&c, create.txid, ALICE, 0, 10, NULL); /* still cosigning */
        int who = lie ? BOB : ALICE;               /* bob holds no co-signer class */
        new_tx(&cosign, keys[who], GZ_TX_PROPOSAL_COSIGN, nonces[who]++);
        memcpy(cosign.p.proposal_cosign.proposal_id, create.txid, 32);
        feed(&c, &cosign, who, 0, NULL);
        block(&c, T0 + 20);
        vote(&c, create.txid, ALICE, 0, 0, vote_events(ALICE, 1, false));
        vote(&c, create.txid, CAROL, 0, 0, vote_events(CAROL, 1, false));
        vote(&c, create.txid, BOB, 0, 6, NULL);
        block(&c, T0 + 600);
        json_t *cl = claim(1, "passed", json_integer(0), T0 + 10, T0 + 510, 2, 0, 2, 2);
        verify_audit_compare(c.a, &c.r, cl);
        json_decref(cl);
        if (lie) assert_first_failure(&c.r, "replay", "co-signer without class");
        else cr_assert(verify_report_passed(&c.r), "%s: %s", verify_report_first_failure(&c.r)->name, verify_report_first_failure(&c.r)->text);
        chain_end(&c);
    }
}

Test(node_verify, audit_of_a_proposal_never_created) {
    setup_accounts();
    uint8_t id[32];
    memset(id, 0x42, 32);
    chain c;
    chain_start(&c, id, true);
    block(&c, T0);
    vote(&c, id, ALICE, 0, 7, NULL);
    json_t *cl = general_truth();
    verify_audit_compare(c.a, &c.r, cl);
    json_decref(cl);
    cr_assert(!verify_audit_created(c.a));
    assert_first_failure(&c.r, "proposal", "no creating tx");
    chain_end(&c);
}

/* Validator keys are registered accounts (SPEC §4): genesis' from height 0,
 * and a key added by a VALIDATOR_UPDATE from its block on. Both may vote
 * under a proposal open to every account. */
Test(node_verify, audit_registers_validator_keys) {
    setup_accounts();
    static gz_tx create, update, v0;
    general_proposal(&create, 1, 0);
    new_tx(&update, keys[GOV], GZ_TX_VALIDATOR_UPDATE, nonces[GOV]++);
    gz_p_validator_update *p = &update.p.validator_update;
    cr_assert_eq(core_key_pub(p->pub_key, keys[DAVE]), GZ_OK);
    p->power = 10;
    snprintf(p->name, sizeof p->name, "dave");
    gz_approval ap = {.validator_index = 0};
    gz_buf approvals = {0};
    cr_assert_eq(core_approvals_encode(&ap, 1, &approvals), GZ_OK);
    p->n_approvals = 1;
    p->approvals = approvals.data;
    p->approvals_len = approvals.len;
    chain c;
    chain_start(&c, create.txid, true);
    block(&c, T0);
    feed(&c, &create, GOV, 0, NULL);
    feed(&c, &update, GOV, 0, NULL);
    gz_buf_free(&approvals);
    block(&c, T0 + 100);
    vote(&c, create.txid, DAVE, 0, 0, vote_events(DAVE, 1, false));
    new_tx(&v0, sk[0], GZ_TX_VOTE, 0);
    memcpy(v0.p.vote.proposal_id, create.txid, 32);
    v0.p.vote.n_choices = 1;
    static gz_buf b;
    sign_tx(&v0, sk[0], &b);
    gz_buf_free(&b);
    char hex[65];
    gz_hex_encode(hex, g.validators[0].pub_key, 32);
    json_t *ev = json_pack("[{s:s, s:{s:s, s:I, s:b}}]", "type", "vote", "attrs", "voter", hex, "weight", 1, "replaced", 0);
    cr_assert_eq(verify_audit_tx(c.a, &c.r, &v0, c.index++, 0, ev), GZ_OK);
    json_decref(ev);
    block(&c, T0 + 1000);
    json_t *cl = claim(7, "passed", json_integer(0), T0, T0 + 1000, 2, 0, 2, 2);
    verify_audit_compare(c.a, &c.r, cl);
    json_decref(cl);
    cr_assert(verify_report_passed(&c.r), "%s", verify_report_first_failure(&c.r)->text);
    chain_end(&c);
}
