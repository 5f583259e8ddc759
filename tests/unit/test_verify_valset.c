/* Verification across validator set changes (verify/verify.h, SPEC §4
 * "Validator set changes", §5 valset_chain): a synthetic chain, with real
 * keys and signatures, whose set changes three times (a validator added at
 * height 10, one removed at 20, one key rotated at 30) and an anchor at 40.
 * It verifies from genesis alone; each tampering fails with the check named. */
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

#define NKEYS 6     /* validator keys 0..3 at genesis, 4 added, 5 replaces 3 */
#define NLINKS 3
#define TARGET 40   /* the anchor's height */
#define TIME 1767225700000ull

static gz_genesis g;
static uint8_t sk[NKEYS][32];
static gz_validator val[NKEYS];

/* The sets, as key numbers in validator order: genesis, then after each
 * link. A rotation removes the old key and adds the new one at the end. */
typedef struct set_def {
    size_t n;
    int keys[5];
} set_def;
static const set_def SETS[NLINKS + 1] = {
    {4, {0, 1, 2, 3}},    /* genesis */
    {5, {0, 1, 2, 3, 4}}, /* height 10: key 4 added */
    {4, {0, 2, 3, 4}},    /* height 20: key 1 removed */
    {4, {0, 2, 4, 5}},    /* height 30: key 3 rotated to key 5 */
};
static const uint64_t LINK_HEIGHT[NLINKS] = {10, 20, 30};

static void set_vals(const set_def *s, gz_validator *out) {
    for (size_t i = 0; i < s->n; i++) out[i] = val[s->keys[i]];
}

static void set_hash(const set_def *s, uint8_t out[32]) {
    gz_validator v[5];
    set_vals(s, v);
    cr_assert_eq(core_validators_hash(out, v, s->n), GZ_OK);
}

static void setup(void) {
    ledger_genesis_default(&g);
    for (int i = 0; i < NKEYS; i++) {
        char label[32];
        snprintf(label, sizeof label, "validator-%d", i);
        core_sha256(sk[i], label, strlen(label));
        cr_assert_eq(core_key_pub(val[i].pub_key, sk[i]), GZ_OK);
        snprintf(val[i].name, sizeof val[i].name, "v%d", i);
        val[i].power = 10;
    }
    g.n_validators = (uint32_t)SETS[0].n;
    set_vals(&SETS[0], g.validators);
}

static void teardown(void) { ledger_genesis_free(&g); }

TestSuite(verify_valset, .init = setup, .fini = teardown);

/* ---- building the chain ------------------------------------------------------------ */

/* A header at height signed by set `signers` whose next set is `next`. */
static void make_header(gz_header *h, uint64_t height, const set_def *signers, const set_def *next) {
    memset(h, 0, sizeof *h);
    snprintf(h->chain_id, sizeof h->chain_id, "%s", g.chain_id);
    h->height = height;
    h->time = TIME + height;
    memset(h->prev_block_id, 0x11, 32);
    memset(h->tx_root, 0x22, 32);
    memset(h->state_root, 0x33, 32);
    core_sha256(h->log_root, "", 0);
    set_hash(signers, h->validators_hash);
    set_hash(next, h->next_validators_hash);
    memcpy(h->proposer, val[signers->keys[0]].pub_key, 32);
}

static void encode(const gz_header *h, gz_buf *out) {
    gz_buf_reset(out);
    cr_assert_eq(core_header_encode(h, out), GZ_OK);
}

/* A commit for hdr at height by the validators of set s at the indexes in
 * mask, each signing with key[i] (usually s's own key at index i). */
static void sign_with(gz_buf *out, const gz_buf *hdr, uint64_t height, unsigned mask, const int *key) {
    static gz_commit c;
    memset(&c, 0, sizeof c);
    c.height = height;
    core_block_id(c.block_id, hdr->data, hdr->len);
    for (unsigned i = 0; i < 5; i++) {
        if (!(mask & (1u << i))) continue;
        gz_vote v = {.type = GZ_VOTE_PRECOMMIT, .height = height, .has_block_id = true, .time = TIME + height + i};
        snprintf(v.chain_id, sizeof v.chain_id, "%s", g.chain_id);
        memcpy(v.block_id, c.block_id, 32);
        uint8_t hash[32];
        cr_assert_eq(core_vote_sighash(hash, &v), GZ_OK);
        gz_commit_sig *s = &c.sigs[c.n_sigs++];
        s->validator_index = i;
        s->time = v.time;
        cr_assert_eq(core_sign32(s->sig, sk[key[i]], hash, NULL), GZ_OK);
    }
    gz_buf_reset(out);
    cr_assert_eq(core_commit_encode(&c, out), GZ_OK);
}

static void sign(gz_buf *out, const gz_buf *hdr, uint64_t height, const set_def *s, unsigned mask) {
    sign_with(out, hdr, height, mask, s->keys);
}

/* Signers of each set holding more than 2/3 of its power. */
static const unsigned QUORUM[NLINKS + 1] = {0x7, 0x1d, 0xb, 0xb};

static void make_link(verify_valset_link *l, size_t i) {
    memset(l, 0, sizeof *l);
    gz_header h;
    make_header(&h, LINK_HEIGHT[i], &SETS[i], &SETS[i + 1]);
    gz_buf_init(&l->header);
    gz_buf_init(&l->commit);
    encode(&h, &l->header);
    sign(&l->commit, &l->header, LINK_HEIGHT[i], &SETS[i], QUORUM[i]);
    l->n_validators = (uint32_t)SETS[i + 1].n;
    l->validators = malloc(l->n_validators * sizeof *l->validators);
    cr_assert_not_null(l->validators);
    set_vals(&SETS[i + 1], l->validators);
}

static void make_chain(verify_valset_chain *c) {
    c->n = NLINKS;
    c->links = calloc(NLINKS, sizeof *c->links);
    cr_assert_not_null(c->links);
    for (size_t i = 0; i < NLINKS; i++) make_link(&c->links[i], i);
}

/* The anchor bundle at TARGET: one leaf, signed by the last set. */
static void make_bundle(verify_anchor_bundle *b) {
    verify_anchor_bundle_init(b);
    gz_anchor_leaf leaf = {.kind = 1, .height = TARGET, .time = TIME + TARGET};
    core_sha256(leaf.artifact, "sketch", 6);
    snprintf(leaf.work_id, sizeof leaf.work_id, "w1");
    memcpy(b->artifact, leaf.artifact, 32);
    gz_buf_init(&b->leaf);
    cr_assert_eq(core_anchor_leaf_encode(&leaf, &b->leaf), GZ_OK);
    b->proof.leaf_index = 0;
    b->proof.tree_size = 1;
    gz_header h;
    make_header(&h, TARGET, &SETS[NLINKS], &SETS[NLINKS]);
    core_merkle_leaf_hash(h.log_root, b->leaf.data, b->leaf.len);
    h.log_size = 1;
    b->block.height = TARGET;
    gz_buf_init(&b->block.header);
    gz_buf_init(&b->block.commit);
    encode(&h, &b->block.header);
    sign(&b->block.commit, &b->block.header, TARGET, &SETS[NLINKS], QUORUM[NLINKS]);
    b->n_validators = (uint32_t)SETS[NLINKS].n;
    set_vals(&SETS[NLINKS], b->validators);
    make_chain(&b->valset_chain);
}

/* Verifies b as the CLI does: through its JSON text and the reader. */
static void run_bundle(const verify_anchor_bundle *b, verify_report *r) {
    json_t *j = NULL;
    cr_assert_eq(verify_anchor_bundle_to_json(b, &j), GZ_OK);
    cr_assert_eq(json_object_get(j, "valset_chain") != NULL, b->valset_chain.n > 0);
    static verify_anchor_bundle parsed;
    verify_anchor_bundle_init(&parsed);
    gz_msg msg = {{0}};
    cr_assert_eq(verify_anchor_bundle_from_json(&parsed, j, &msg), GZ_OK, "%s", msg.text);
    json_decref(j);
    cr_assert_eq(parsed.valset_chain.n, b->valset_chain.n);
    verify_report_init(r);
    verify_anchor(r, &g, &parsed, b->artifact);
    verify_anchor_bundle_free(&parsed);
}

/* The first failed check is name, and its text holds each of the words. */
static void expect_fail(const verify_anchor_bundle *b, const char *name, const char *w1, const char *w2,
                        const char *what) {
    verify_report r;
    run_bundle(b, &r);
    cr_assert(!verify_report_passed(&r), "%s: verified", what);
    const verify_check *f = verify_report_first_failure(&r);
    cr_assert_str_eq(f->name, name, "%s: first failure %s (%s), expected %s", what, f->name, f->text, name);
    cr_assert(w1 == NULL || strstr(f->text, w1) != NULL, "%s: \"%s\" lacks \"%s\"", what, f->text, w1);
    cr_assert(w2 == NULL || strstr(f->text, w2) != NULL, "%s: \"%s\" lacks \"%s\"", what, f->text, w2);
    verify_report_free(&r);
}

static verify_valset_link *link_of(verify_anchor_bundle *b, size_t i) { return &b->valset_chain.links[i]; }

/* ---- the good chain ----------------------------------------------------------------- */

Test(verify_valset, three_changes_verify_from_genesis_alone) {
    static verify_anchor_bundle b;
    make_bundle(&b);
    verify_report r;
    run_bundle(&b, &r);
    cr_assert(verify_report_passed(&r), "%s", verify_report_first_failure(&r)->text);
    size_t links = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (strcmp(r.checks[i].name, "valset link") != 0) continue;
        char want[64];
        snprintf(want, sizeof want, "link %zu at height %llu: commit by ", links,
                 (unsigned long long)LINK_HEIGHT[links]);
        cr_assert(strncmp(r.checks[i].text, want, strlen(want)) == 0, "%s", r.checks[i].text);
        links++;
    }
    cr_assert_eq(links, NLINKS);
    const verify_check *c = verify_report_find(&r, "valset link");
    uint8_t h1[32];
    set_hash(&SETS[1], h1);
    char want[200], hex[9];
    gz_hex_encode(hex, h1, 4);
    snprintf(want, sizeof want,
             "link 0 at height 10: commit by 3 of 4 validators holding 30 of 40 power; next set has 5 validators "
             "(hash %s…)", hex);
    cr_assert_str_eq(c->text, want);
    cr_assert_str_eq(verify_report_find(&r, "header set")->text,
                     "header.validators_hash = the set of link 2 at height 30 (4 validators)");
    cr_assert(strstr(verify_report_find(&r, "commit signatures")->text, "the set of link 2") != NULL);
    verify_report_free(&r);
    verify_anchor_bundle_free(&b);
}

Test(verify_valset, the_walk_reaches_each_set_at_its_height) {
    static verify_valset_chain c;
    make_chain(&c);
    verify_report r;
    verify_report_init(&r);
    verify_valset_walker w;
    verify_valset_walker_init(&w, &g, &c, TARGET);
    uint8_t want[32];
    for (uint64_t height = 1; height <= TARGET; height++) {
        cr_assert(verify_valset_walker_advance(&w, &r, height));
        size_t k = height > 30 ? 3 : height > 20 ? 2 : height > 10 ? 1 : 0;
        set_hash(&SETS[k], want);
        cr_assert_arr_eq(w.set.hash, want, 32, "height %llu", (unsigned long long)height);
        cr_assert_eq(w.set.links, k);
        cr_assert_eq(w.set.n, SETS[k].n);
    }
    cr_assert(verify_valset_walker_finish(&w, &r));
    cr_assert_eq(r.n, NLINKS);
    cr_assert(verify_report_passed(&r));
    verify_report_free(&r);
    verify_valset_chain_free(&c);
}

/* ---- tampered links ------------------------------------------------------------------ */

Test(verify_valset, a_link_header_altered) {
    static verify_anchor_bundle b;
    make_bundle(&b);
    gz_header h;
    cr_assert_eq(core_header_decode(&h, link_of(&b, 1)->header.data, link_of(&b, 1)->header.len, NULL), GZ_OK);
    h.tx_root[0] ^= 1;
    encode(&h, &link_of(&b, 1)->header);
    expect_fail(&b, "valset link", "link 1 at height 20", "commit: the commit is not for this header", "header");
    verify_anchor_bundle_free(&b);
    /* The header's own set hash rewritten, and the commit re-signed by the
     * right set: the header no longer names the set trusted so far. */
    make_bundle(&b);
    cr_assert_eq(core_header_decode(&h, link_of(&b, 1)->header.data, link_of(&b, 1)->header.len, NULL), GZ_OK);
    set_hash(&SETS[0], h.validators_hash);
    encode(&h, &link_of(&b, 1)->header);
    sign(&link_of(&b, 1)->commit, &link_of(&b, 1)->header, 20, &SETS[1], QUORUM[1]);
    expect_fail(&b, "valset link", "link 1 at height 20", "set hash", "set hash");
    verify_anchor_bundle_free(&b);
    /* A "link" that changes nothing. */
    make_bundle(&b);
    cr_assert_eq(core_header_decode(&h, link_of(&b, 0)->header.data, link_of(&b, 0)->header.len, NULL), GZ_OK);
    memcpy(h.next_validators_hash, h.validators_hash, 32);
    encode(&h, &link_of(&b, 0)->header);
    sign(&link_of(&b, 0)->commit, &link_of(&b, 0)->header, 10, &SETS[0], QUORUM[0]);
    expect_fail(&b, "valset link", "link 0 at height 10", "next set hash: next_validators_hash = validators_hash",
                "no change");
    verify_anchor_bundle_free(&b);
    /* A header that does not decode. */
    make_bundle(&b);
    link_of(&b, 2)->header.data[0] ^= 0x01;
    expect_fail(&b, "valset link", "link 2: header", NULL, "undecodable");
    verify_anchor_bundle_free(&b);
}

Test(verify_valset, a_link_validators_altered) {
    static verify_anchor_bundle b;
    make_bundle(&b);
    link_of(&b, 1)->validators[2].power = 11;
    expect_fail(&b, "valset link", "link 1 at height 20", "next set hash", "power");
    verify_anchor_bundle_free(&b);
    make_bundle(&b);
    link_of(&b, 0)->validators[4].pub_key[0] ^= 1;
    expect_fail(&b, "valset link", "link 0 at height 10", "next set hash", "pub_key");
    verify_anchor_bundle_free(&b);
    make_bundle(&b);
    link_of(&b, 2)->n_validators--;
    expect_fail(&b, "valset link", "link 2 at height 30", "next set hash", "dropped");
    verify_anchor_bundle_free(&b);
}

Test(verify_valset, a_link_signed_by_a_validator_removed_earlier) {
    static verify_anchor_bundle b;
    make_bundle(&b);
    /* Link 2 is signed by the set after link 1 (keys 0, 2, 3, 4): key 1,
     * removed by link 1, signs in the place of key 3. */
    static const int keys[] = {0, 2, 1, 4};
    sign_with(&link_of(&b, 2)->commit, &link_of(&b, 2)->header, 30, 0x7, keys);
    expect_fail(&b, "valset link", "link 2 at height 30", "commit: commit.sigs[2]", "removed signer");
    verify_anchor_bundle_free(&b);
    /* Signed by the genesis set, as if link 0 and 1 had not happened: 3 of
     * the 4 genesis validators are not enough of the set after link 1. */
    make_bundle(&b);
    sign(&link_of(&b, 2)->commit, &link_of(&b, 2)->header, 30, &SETS[0], 0x7);
    expect_fail(&b, "valset link", "link 2 at height 30", "commit", "old set");
    verify_anchor_bundle_free(&b);
}

Test(verify_valset, links_out_of_order_duplicated_or_too_high) {
    static verify_anchor_bundle b;
    make_bundle(&b);
    verify_valset_link t = b.valset_chain.links[1];
    b.valset_chain.links[1] = b.valset_chain.links[2];
    b.valset_chain.links[2] = t;
    expect_fail(&b, "valset link", "link 1 at height 30", "order: link 2 is at height 20", "swapped");
    verify_anchor_bundle_free(&b);
    /* Link 1 twice. */
    make_bundle(&b);
    verify_valset_link *l = realloc(b.valset_chain.links, (NLINKS + 1) * sizeof *l);
    cr_assert_not_null(l);
    b.valset_chain.links = l;
    memmove(&l[2], &l[1], 2 * sizeof *l);
    b.valset_chain.n++;
    static verify_valset_chain copy;
    cr_assert_eq(verify_valset_chain_copy(&copy, &b.valset_chain), GZ_OK);
    b.valset_chain.n--;
    memmove(&l[1], &l[2], 2 * sizeof *l); /* back as made, so that it frees once */
    verify_valset_chain_free(&b.valset_chain);
    b.valset_chain = copy;
    expect_fail(&b, "valset link", "link 1 at height 20", "order: link 2 is at height 20", "duplicated");
    verify_anchor_bundle_free(&b);
    /* The last change made by the anchor's own block: it signs from 41 on,
     * so a bundle at 40 needs no link at 40. */
    make_bundle(&b);
    gz_header h;
    verify_valset_link *last = link_of(&b, 2);
    cr_assert_eq(core_header_decode(&h, last->header.data, last->header.len, NULL), GZ_OK);
    h.height = TARGET;
    encode(&h, &last->header);
    sign(&last->commit, &last->header, TARGET, &SETS[2], QUORUM[2]);
    expect_fail(&b, "valset link", "link 2 at height 40", "order: not below height 40", "at the target");
    verify_anchor_bundle_free(&b);
}

Test(verify_valset, a_missing_link) {
    static verify_anchor_bundle b;
    /* The last change left out: the header's set is never reached. */
    make_bundle(&b);
    b.valset_chain.n--;
    expect_fail(&b, "header set", "not the set of link 1 at height 20", "a set change is missing", "last missing");
    b.valset_chain.n++;
    verify_anchor_bundle_free(&b);
    /* One in the middle: the next link does not start from the set reached. */
    make_bundle(&b);
    verify_valset_link mid = b.valset_chain.links[1];
    b.valset_chain.links[1] = b.valset_chain.links[2];
    b.valset_chain.n--;
    expect_fail(&b, "valset link", "link 1 at height 30", "set hash", "middle missing");
    b.valset_chain.links[2] = b.valset_chain.links[1];
    b.valset_chain.links[1] = mid;
    b.valset_chain.n++;
    verify_anchor_bundle_free(&b);
    /* No chain at all. */
    make_bundle(&b);
    verify_valset_chain_free(&b.valset_chain);
    expect_fail(&b, "header set", "not the genesis set; the bundle has no valset_chain", NULL, "no chain");
    verify_anchor_bundle_free(&b);
}

/* ---- the bundle's own block ----------------------------------------------------------- */

Test(verify_valset, the_bundle_signed_by_the_old_set_after_the_change) {
    static verify_anchor_bundle b;
    /* The header names the new set, the commit is by the set before link 2. */
    make_bundle(&b);
    sign(&b.block.commit, &b.block.header, TARGET, &SETS[2], QUORUM[2]);
    expect_fail(&b, "commit signatures", "the set of link 2", NULL, "old signers");
    verify_anchor_bundle_free(&b);
    /* A whole block of the old set (header, commit and validators): the
     * chain says that set no longer signs at this height. */
    make_bundle(&b);
    gz_header h;
    cr_assert_eq(core_header_decode(&h, b.block.header.data, b.block.header.len, NULL), GZ_OK);
    set_hash(&SETS[2], h.validators_hash);
    encode(&h, &b.block.header);
    sign(&b.block.commit, &b.block.header, TARGET, &SETS[2], QUORUM[2]);
    set_vals(&SETS[2], b.validators);
    expect_fail(&b, "header set", "not the set of link 2 at height 30", NULL, "old block");
    verify_anchor_bundle_free(&b);
}

Test(verify_valset, the_bundle_validators_must_be_the_set_reached) {
    static verify_anchor_bundle b;
    make_bundle(&b);
    b.n_validators = (uint32_t)SETS[2].n;
    set_vals(&SETS[2], b.validators);
    expect_fail(&b, "validators hash", NULL, NULL, "old set listed");
    verify_anchor_bundle_free(&b);
    /* Names are not in the hash: only the comparison with the set reached
     * sees them. */
    make_bundle(&b);
    snprintf(b.validators[3].name, sizeof b.validators[3].name, "mallory");
    expect_fail(&b, "trusted validators", "validators[3].name differs from the set of link 2", NULL, "name");
    verify_anchor_bundle_free(&b);
}

/* ---- files ---------------------------------------------------------------------------- */

static void expect_parse_error(json_t *j, const char *want) {
    static verify_anchor_bundle b;
    verify_anchor_bundle_init(&b);
    gz_msg msg = {{0}};
    cr_assert_eq(verify_anchor_bundle_from_json(&b, j, &msg), GZ_EARG, "accepted (%s)", want);
    cr_assert_str_eq(msg.text, want);
    cr_assert_eq(b.valset_chain.n, 0);
    verify_anchor_bundle_free(&b);
    json_decref(j);
}

Test(verify_valset, a_link_set_is_read_strictly) {
    static verify_anchor_bundle b;
    make_bundle(&b);
    json_t *good = NULL;
    cr_assert_eq(verify_anchor_bundle_to_json(&b, &good), GZ_OK);
    verify_anchor_bundle_free(&b);
    json_t *j = json_deep_copy(good);
    json_t *v1 = json_array_get(json_object_get(json_array_get(json_object_get(j, "valset_chain"), 1), "validators"), 1);
    json_object_set_new(v1, "power", json_integer(0));
    expect_parse_error(j, "valset_chain[1].validators[1].power: expected an integer in 1..1125899906842624, found 0");
    j = json_deep_copy(good);
    json_t *vals = json_object_get(json_array_get(json_object_get(j, "valset_chain"), 0), "validators");
    json_object_set(json_array_get(vals, 3), "pub_key", json_object_get(json_array_get(vals, 1), "pub_key"));
    expect_parse_error(j, "valset_chain[0].validators[3].pub_key: duplicate validator");
    j = json_deep_copy(good);
    json_object_set_new(j, "valset_chain", json_object());
    expect_parse_error(j, "valset_chain: expected an array of at most 1024 entries");
    j = json_deep_copy(good);
    json_object_set_new(json_array_get(json_object_get(j, "valset_chain"), 2), "extra", json_true());
    expect_parse_error(j, "valset_chain[2].extra: unknown key");
    j = json_deep_copy(good);
    json_object_set_new(json_array_get(json_object_get(j, "valset_chain"), 2), "validators", json_array());
    expect_parse_error(j, "valset_chain[2].validators: expected an array of 1..128 entries, found 0");
    j = json_deep_copy(good);
    json_object_del(json_array_get(json_object_get(j, "valset_chain"), 0), "commit");
    expect_parse_error(j, "valset_chain[0].commit: missing (expected a hex string)");
    /* An empty chain reads as none and is not written back. */
    j = json_deep_copy(good);
    json_object_set_new(j, "valset_chain", json_array());
    verify_anchor_bundle_init(&b);
    gz_msg msg = {{0}};
    cr_assert_eq(verify_anchor_bundle_from_json(&b, j, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(b.valset_chain.n, 0);
    json_t *back = NULL;
    cr_assert_eq(verify_anchor_bundle_to_json(&b, &back), GZ_OK);
    cr_assert_null(json_object_get(back, "valset_chain"));
    json_decref(back);
    json_decref(j);
    verify_anchor_bundle_free(&b);
    json_decref(good);
}

Test(verify_valset, the_set_check_names_the_field) {
    gz_validator v[3] = {val[0], val[1], val[2]};
    gz_msg msg = {{0}};
    cr_assert_eq(verify_valset_check(v, 3, &msg), GZ_OK);
    cr_assert_eq(verify_valset_check(v, 0, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "validators: 0 entries, expected 1..128");
    v[1].power = 0;
    cr_assert_eq(verify_valset_check(v, 3, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "validators[1].power: must be at least 1");
    v[1].power = UINT64_MAX / 3;
    cr_assert_eq(verify_valset_check(v, 3, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "validators[1].power: total power over 6148914691236517205");
    v[1] = val[1];
    memcpy(v[2].pub_key, v[0].pub_key, 32);
    cr_assert_eq(verify_valset_check(v, 3, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "validators[2].pub_key: duplicate validator");
}

/* ---- a tx proof and a log proof across the changes ------------------------------------- */

/* A tx proof for the one tx of the block at TARGET. */
static void make_tx_proof(verify_tx_proof *t) {
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    snprintf(tx.chain_id, sizeof tx.chain_id, "%s", g.chain_id);
    tx.type = GZ_TX_TRANSFER;
    uint8_t alice[32];
    core_sha256(alice, "alice", 5);
    cr_assert_eq(core_key_pub(tx.signer, alice), GZ_OK);
    memset(tx.p.transfer.to, 0x21, 32);
    tx.p.transfer.amount = 100;
    verify_tx_proof_init(t);
    gz_buf_init(&t->tx);
    cr_assert_eq(core_tx_sign_encode(&tx, alice, &t->tx), GZ_OK);
    memcpy(t->txid, tx.txid, 32);
    t->proof.leaf_index = 0;
    t->proof.tree_size = 1;
    gz_header h;
    make_header(&h, TARGET, &SETS[NLINKS], &SETS[NLINKS]);
    core_merkle_leaf_hash(h.tx_root, tx.txid, 32);
    h.tx_count = 1;
    t->block.height = TARGET;
    gz_buf_init(&t->block.header);
    gz_buf_init(&t->block.commit);
    encode(&h, &t->block.header);
    sign(&t->block.commit, &t->block.header, TARGET, &SETS[NLINKS], QUORUM[NLINKS]);
    t->n_validators = (uint32_t)SETS[NLINKS].n;
    set_vals(&SETS[NLINKS], t->validators);
    make_chain(&t->valset_chain);
}

static void run_tx(const verify_tx_proof *t, verify_report *r) {
    json_t *j = NULL;
    cr_assert_eq(verify_tx_proof_to_json(t, &j), GZ_OK);
    static verify_tx_proof parsed;
    verify_tx_proof_init(&parsed);
    gz_msg msg = {{0}};
    cr_assert_eq(verify_tx_proof_from_json(&parsed, j, &msg), GZ_OK, "%s", msg.text);
    json_decref(j);
    cr_assert_eq(parsed.valset_chain.n, t->valset_chain.n);
    verify_report_init(r);
    verify_tx(r, &g, &parsed);
    verify_tx_proof_free(&parsed);
}

Test(verify_valset, a_tx_proof_across_the_changes) {
    static verify_tx_proof t;
    make_tx_proof(&t);
    verify_report r;
    run_tx(&t, &r);
    cr_assert(verify_report_passed(&r), "%s", verify_report_first_failure(&r)->text);
    cr_assert_str_eq(verify_report_find(&r, "header set")->text,
                     "header.validators_hash = the set of link 2 at height 30 (4 validators)");
    verify_report_free(&r);
    /* Without the chain the header's set is not genesis'. */
    verify_valset_chain_free(&t.valset_chain);
    run_tx(&t, &r);
    const verify_check *f = verify_report_first_failure(&r);
    cr_assert_str_eq(f->name, "header set");
    cr_assert_str_eq(f->text, "header.validators_hash is not the genesis set; the tx proof has no valset_chain");
    verify_report_free(&r);
    verify_tx_proof_free(&t);
    /* A tampered link fails the tx proof too. */
    make_tx_proof(&t);
    t.valset_chain.links[0].validators[0].power = 9;
    run_tx(&t, &r);
    f = verify_report_first_failure(&r);
    cr_assert_str_eq(f->name, "valset link");
    cr_assert(strstr(f->text, "link 0 at height 10: next set hash") != NULL, "%s", f->text);
    verify_report_free(&r);
    verify_tx_proof_free(&t);
}

/* A header at height, signed by set s, whose provenance log holds the n
 * leaves. */
static void make_log_end(verify_signed_header *sh, uint64_t height, const set_def *s, const uint8_t (*leaves)[32],
                         size_t n) {
    gz_header h;
    make_header(&h, height, s, s);
    cr_assert_eq(core_merkle_root(h.log_root, leaves, n), GZ_OK);
    h.log_size = n;
    sh->height = height;
    gz_buf_init(&sh->header);
    gz_buf_init(&sh->commit);
    encode(&h, &sh->header);
    size_t k = (size_t)(s - SETS);
    sign(&sh->commit, &sh->header, height, s, QUORUM[k]);
}

/* A log proof from one leaf at first_height (signed by first_set) to two at
 * TARGET, with the whole chain. */
static void make_log_proof(verify_log_proof *l, uint64_t first_height, const set_def *first_set) {
    uint8_t leaves[2][32];
    core_merkle_leaf_hash(leaves[0], (const uint8_t *)"one", 3);
    core_merkle_leaf_hash(leaves[1], (const uint8_t *)"two", 3);
    verify_log_proof_init(l);
    make_log_end(&l->first, first_height, first_set, (const uint8_t(*)[32])leaves, 1);
    make_log_end(&l->second, TARGET, &SETS[NLINKS], (const uint8_t(*)[32])leaves, 2);
    cr_assert_eq(core_merkle_consistency_proof(l->path, &l->path_len, (const uint8_t(*)[32])leaves, 2, 1), GZ_OK);
    l->n_validators = (uint32_t)SETS[NLINKS].n;
    set_vals(&SETS[NLINKS], l->validators);
    make_chain(&l->valset_chain);
}

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

Test(verify_valset, a_log_proof_across_the_changes) {
    static verify_log_proof l;
    /* The first end at 15, signed by the set of link 0; the second at 40. */
    make_log_proof(&l, 15, &SETS[1]);
    verify_report r;
    run_log(&l, &r);
    cr_assert(verify_report_passed(&r), "%s", verify_report_first_failure(&r)->text);
    cr_assert_str_eq(verify_report_find(&r, "first header set")->text,
                     "(first) header.validators_hash = the set of link 0 at height 10 (5 validators)");
    cr_assert_str_eq(verify_report_find(&r, "second header set")->text,
                     "(second) header.validators_hash = the set of link 2 at height 30 (4 validators)");
    cr_assert_null(verify_report_find(&r, "first trusted validators"), "the file's set is the second's");
    cr_assert(verify_report_find(&r, "second trusted validators")->ok);
    cr_assert(verify_report_find(&r, "consistency proof")->ok);
    verify_report_free(&r);
    verify_log_proof_free(&l);
    /* The first end signed by the genesis set after the first change. */
    make_log_proof(&l, 15, &SETS[0]);
    run_log(&l, &r);
    const verify_check *f = verify_report_first_failure(&r);
    cr_assert_str_eq(f->name, "first header set", "%s: %s", f->name, f->text);
    cr_assert(!verify_report_find(&r, "first commit signatures")->ok);
    cr_assert(verify_report_find(&r, "second commit signatures")->ok);
    verify_report_free(&r);
    verify_log_proof_free(&l);
    /* Both ends after every change: the file's set is checked for both. */
    make_log_proof(&l, 35, &SETS[NLINKS]);
    run_log(&l, &r);
    cr_assert(verify_report_passed(&r), "%s", verify_report_first_failure(&r)->text);
    cr_assert(verify_report_find(&r, "first trusted validators")->ok);
    verify_report_free(&r);
    verify_log_proof_free(&l);
}

/* ---- blocks of the audit's walk ------------------------------------------------------------ */

Test(verify_valset, a_block_is_checked_against_the_set_of_its_height) {
    static verify_valset_chain c;
    make_chain(&c);
    gz_header h;
    make_header(&h, TARGET, &SETS[NLINKS], &SETS[NLINKS]);
    core_sha256(h.tx_root, "", 0);
    gz_buf hdr = {0}, commit = {0};
    encode(&h, &hdr);
    sign(&commit, &hdr, TARGET, &SETS[NLINKS], QUORUM[NLINKS]);
    verify_valset gs;
    verify_valset_genesis(&gs, &g);
    gz_header out;
    uint8_t id[32];
    gz_msg msg = {{0}};
    cr_assert_eq(verify_block(&g, &gs, TARGET, NULL, hdr.data, hdr.len, commit.data, commit.len, NULL, 0, &out, id,
                              &msg),
                 GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "header.validators_hash: not the genesis set");
    verify_report r;
    verify_report_init(&r);
    verify_valset_walker w;
    verify_valset_walker_init(&w, &g, &c, TARGET + 1);
    cr_assert(verify_valset_walker_advance(&w, &r, TARGET));
    cr_assert_eq(verify_block(&g, &w.set, TARGET, NULL, hdr.data, hdr.len, commit.data, commit.len, NULL, 0, &out, id,
                              &msg),
                 GZ_OK, "%s", msg.text);
    /* The set before the last change no longer signs. */
    sign(&commit, &hdr, TARGET, &SETS[2], QUORUM[2]);
    cr_assert_eq(verify_block(&g, &w.set, TARGET, NULL, hdr.data, hdr.len, commit.data, commit.len, NULL, 0, &out, id,
                              &msg),
                 GZ_EVERIFY);
    cr_assert(strstr(msg.text, "commit.sigs") != NULL, "%s", msg.text);
    verify_report_free(&r);
    gz_buf_free(&hdr);
    gz_buf_free(&commit);
    verify_valset_chain_free(&c);
}
