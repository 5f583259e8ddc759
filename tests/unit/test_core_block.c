/* Headers, votes, proposals, commits and anchor leaves (SPEC §3–§4): round
 * trips, exact bytes, rejections, validator hashes and commit verification. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/bytes.h"
#include "core/codec.h"
#include "core/hash.h"
#include "core/keys.h"
#include "core/limits.h"
#include "core/mp.h"

#define CHAIN "gongzhi-devnet"

static void put_hex(gz_buf *b, const char *hex) {
    cr_assert_eq(gz_hex_decode_buf(b, hex, strlen(hex)), GZ_OK, "%s", hex);
}

static void key_for(uint8_t sk[32], int n) {
    char seed[32];
    int len = snprintf(seed, sizeof seed, "gongzhi validator %d", n);
    core_sha256(sk, seed, (size_t)len);
}

static void sample_header(gz_header *h) {
    memset(h, 0, sizeof *h);
    strcpy(h->chain_id, CHAIN);
    h->height = 42;
    h->time = 1767225600123ull;
    memset(h->prev_block_id, 1, 32);
    memset(h->tx_root, 2, 32);
    h->tx_count = 300;
    memset(h->state_root, 3, 32);
    memset(h->log_root, 4, 32);
    h->log_size = 70000;
    memset(h->validators_hash, 5, 32);
    memset(h->proposer, 6, 32);
    memset(h->next_validators_hash, 7, 32);
}

Test(core_block, header_round_trip_and_block_id) {
    gz_header h, back;
    sample_header(&h);
    gz_buf b, again;
    gz_buf_init(&b);
    gz_buf_init(&again);
    cr_assert_eq(core_header_encode(&h, &b), GZ_OK);
    cr_assert_eq(b.data[0], 0x9d, "an array of 13");
    cr_assert_eq(b.data[1], 0x02, "version 2 first");
    gz_msg msg = {""};
    cr_assert_eq(core_header_decode(&back, b.data, b.len, &msg), GZ_OK, "%s", msg.text);
    cr_assert(memcmp(&h, &back, sizeof h) == 0);
    cr_assert_eq(core_header_encode(&back, &again), GZ_OK);
    cr_assert(again.len == b.len && memcmp(again.data, b.data, b.len) == 0);
    uint8_t id[32], want[32];
    core_block_id(id, b.data, b.len);
    core_tagged_hash(want, GZ_TAG_BLOCK, b.data, b.len);
    cr_assert_arr_eq(id, want, 32);

    b.data[1] = 0x01;
    cr_assert_eq(core_header_decode(&back, b.data, b.len, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "header.version: must be 2, found 1");
    cr_assert(gz_is_zero32(back.proposer), "zeroed on failure");
    b.data[1] = 0x02;
    cr_assert_eq(core_header_decode(&back, b.data, b.len - 1, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "header.next_validators_hash: declared length 32 exceeds the 31 bytes remaining");
    /* a version 1 header (12 fields, no next_validators_hash) is refused */
    gz_buf v1;
    gz_buf_init(&v1);
    put_hex(&v1, "9c01");
    cr_assert_eq(gz_buf_append(&v1, b.data + 2, b.len - 2 - 34), GZ_OK);
    cr_assert_eq(core_header_decode(&back, v1.data, v1.len, &msg), GZ_EENCODING);
    gz_buf_free(&v1);
    put_hex(&b, "c0");
    cr_assert_eq(core_header_decode(&back, b.data, b.len, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "header: 1 trailing bytes");
    gz_buf_free(&b);
    gz_buf_free(&again);
}

Test(core_block, vote_exact_bytes_nil_and_type) {
    gz_vote v, back;
    memset(&v, 0, sizeof v);
    strcpy(v.chain_id, "c");
    v.type = GZ_VOTE_PREVOTE;
    v.height = 1;
    v.round = 0;
    v.has_block_id = false;
    v.time = 200;
    gz_buf b, want;
    gz_buf_init(&b);
    gz_buf_init(&want);
    cr_assert_eq(core_vote_encode(&v, &b), GZ_OK);
    put_hex(&want, "96a163010100c0ccc8"); /* ["c", 1, 1, 0, nil, 200] */
    cr_assert(b.len == want.len && memcmp(b.data, want.data, b.len) == 0);
    gz_msg msg = {""};
    cr_assert_eq(core_vote_decode(&back, b.data, b.len, &msg), GZ_OK, "%s", msg.text);
    cr_assert(memcmp(&v, &back, sizeof v) == 0);

    v.type = GZ_VOTE_PRECOMMIT;
    v.has_block_id = true;
    memset(v.block_id, 9, 32);
    gz_buf_reset(&b);
    cr_assert_eq(core_vote_encode(&v, &b), GZ_OK);
    cr_assert_eq(core_vote_decode(&back, b.data, b.len, &msg), GZ_OK, "%s", msg.text);
    cr_assert(memcmp(&v, &back, sizeof v) == 0);
    uint8_t h[32], want_h[32];
    cr_assert_eq(core_vote_sighash(h, &v), GZ_OK);
    core_tagged_hash(want_h, GZ_TAG_VOTE, b.data, b.len);
    cr_assert_arr_eq(h, want_h, 32);

    gz_buf_reset(&b);
    put_hex(&b, "96a163030100c0ccc8");
    cr_assert_eq(core_vote_decode(&back, b.data, b.len, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "vote.type: must be 1 (prevote) or 2 (precommit), found 3");
    cr_assert_eq(back.time, 0, "zeroed on failure");
    v.type = 3;
    cr_assert_eq(core_vote_encode(&v, &b), GZ_EARG);
    gz_buf_reset(&b);
    put_hex(&b, "96a163010100c41f" "00000000000000000000000000000000000000000000000000000000000000" "00");
    cr_assert_eq(core_vote_decode(&back, b.data, b.len, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "vote.block_id: bin of 31 bytes, expected 32");
    gz_buf_free(&b);
    gz_buf_free(&want);
}

Test(core_block, proposal_pol_round_encodings) {
    gz_proposal p, back;
    memset(&p, 0, sizeof p);
    strcpy(p.chain_id, "c");
    p.height = 7;
    p.round = 2;
    p.pol_round = -1;
    memset(p.block_id, 0xab, 32);
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(core_proposal_encode(&p, &b), GZ_OK);
    cr_assert_eq(b.data[5], 0xff, "pol_round -1 is a negative fixint");
    gz_msg msg = {""};
    cr_assert_eq(core_proposal_decode(&back, b.data, b.len, &msg), GZ_OK, "%s", msg.text);
    cr_assert(memcmp(&p, &back, sizeof p) == 0);
    uint8_t h[32], want[32];
    cr_assert_eq(core_proposal_sighash(h, &p), GZ_OK);
    core_tagged_hash(want, GZ_TAG_PROPOSAL, b.data, b.len);
    cr_assert_arr_eq(h, want, 32);

    b.data[5] = 0x03; /* pol_round 3 as a uint */
    cr_assert_eq(core_proposal_decode(&back, b.data, b.len, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(back.pol_round, 3);
    b.data[5] = 0xfe;
    cr_assert_eq(core_proposal_decode(&back, b.data, b.len, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "proposal.pol_round: must be >= -1, found -2");
    p.pol_round = -2;
    cr_assert_eq(core_proposal_encode(&p, &b), GZ_EARG);

    gz_buf_reset(&b);
    put_hex(&b, "95a1630702d0ffc420" "abababababababababababababababababababababababababababababababab");
    cr_assert_eq(core_proposal_decode(&back, b.data, b.len, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "proposal.pol_round: integer not in its shortest form");
    gz_buf_free(&b);
}

Test(core_block, anchor_leaf_round_trip_with_and_without_parent) {
    for (int has = 0; has < 2; has++) {
        gz_anchor_leaf l, back;
        memset(&l, 0, sizeof l);
        memset(l.artifact, 0x11, 32);
        l.kind = 6;
        strcpy(l.work_id, "作品-1");
        l.has_parent = has;
        if (has) memset(l.parent, 0x22, 32);
        memset(l.signer, 0x33, 32);
        memset(l.txid, 0x44, 32);
        l.height = 99;
        l.time = 1767225600000ull;
        gz_buf b;
        gz_buf_init(&b);
        cr_assert_eq(core_anchor_leaf_encode(&l, &b), GZ_OK);
        gz_msg msg = {""};
        cr_assert_eq(core_anchor_leaf_decode(&back, b.data, b.len, &msg), GZ_OK, "%s", msg.text);
        cr_assert(memcmp(&l, &back, sizeof l) == 0);
        cr_assert_eq(mp_check_canonical(b.data, b.len, NULL), GZ_OK);
        gz_buf_free(&b);
    }
}

/* The bounds of core/limits.h that readers apply to these structures hold for
 * the longest ones we encode: every string at its limit, every number 2^64-1. */
Test(core_block, longest_header_commit_leaf_vote_and_proposal_fit_their_limits) {
    gz_header h;
    memset(&h, 0xff, sizeof h);
    memset(h.chain_id, 'c', GZ_CHAIN_ID_MAX);
    h.chain_id[GZ_CHAIN_ID_MAX] = '\0';
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(core_header_encode(&h, &b), GZ_OK);
    cr_assert_eq(b.len, 342, "header of %zu bytes", b.len);
    cr_assert_leq(b.len, GZ_HEADER_BYTES_MAX);

    static gz_commit c;
    memset(&c, 0xff, sizeof c);
    c.n_sigs = GZ_VALIDATORS_MAX;
    gz_buf_reset(&b);
    cr_assert_eq(core_commit_encode(&c, &b), GZ_OK);
    cr_assert_leq(b.len, GZ_COMMIT_BYTES_MAX, "commit of %zu bytes", b.len);

    gz_anchor_leaf l;
    memset(&l, 0xff, sizeof l);
    l.has_parent = true;
    memset(l.work_id, 'w', GZ_ID_MAX);
    l.work_id[GZ_ID_MAX] = '\0';
    gz_buf_reset(&b);
    cr_assert_eq(core_anchor_leaf_encode(&l, &b), GZ_OK);
    cr_assert_leq(b.len, GZ_ANCHOR_LEAF_BYTES_MAX, "leaf of %zu bytes", b.len);

    gz_vote v;
    memset(&v, 0xff, sizeof v);
    memset(v.chain_id, 'c', GZ_CHAIN_ID_MAX);
    v.chain_id[GZ_CHAIN_ID_MAX] = '\0';
    v.type = GZ_VOTE_PRECOMMIT;
    v.has_block_id = true;
    gz_buf_reset(&b);
    cr_assert_eq(core_vote_encode(&v, &b), GZ_OK);
    cr_assert_eq(b.len, 129, "vote of %zu bytes", b.len);
    cr_assert_leq(b.len, GZ_VOTE_BYTES_MAX);

    gz_proposal p;
    memset(&p, 0xff, sizeof p);
    memset(p.chain_id, 'c', GZ_CHAIN_ID_MAX);
    p.chain_id[GZ_CHAIN_ID_MAX] = '\0';
    p.pol_round = INT64_MAX;
    gz_buf_reset(&b);
    cr_assert_eq(core_proposal_encode(&p, &b), GZ_OK);
    cr_assert_eq(b.len, 128, "proposal of %zu bytes", b.len);
    cr_assert_leq(b.len, GZ_PROPOSAL_BYTES_MAX);
    gz_buf_free(&b);
}

/* ---- validators and commits ------------------------------------------------------ */

#define NVAL 4
static gz_validator vals[NVAL];
static uint8_t secrets[NVAL][32];
static uint8_t block_id[32];

static void setup_validators(void) {
    memset(vals, 0, sizeof vals);
    for (int i = 0; i < NVAL; i++) {
        key_for(secrets[i], i);
        cr_assert_eq(core_key_pub(vals[i].pub_key, secrets[i]), GZ_OK);
        vals[i].power = 10;
        snprintf(vals[i].name, sizeof vals[i].name, "v%d", i);
    }
    memset(block_id, 0x5a, 32);
}

static void sign_precommit(gz_commit *c, uint32_t slot, uint64_t index, uint64_t time) {
    gz_vote v;
    memset(&v, 0, sizeof v);
    strcpy(v.chain_id, CHAIN);
    v.type = GZ_VOTE_PRECOMMIT;
    v.height = c->height;
    v.round = c->round;
    v.has_block_id = true;
    memcpy(v.block_id, c->block_id, 32);
    v.time = time;
    uint8_t h[32];
    cr_assert_eq(core_vote_sighash(h, &v), GZ_OK);
    c->sigs[slot].validator_index = index;
    c->sigs[slot].time = time;
    cr_assert_eq(core_sign32(c->sigs[slot].sig, secrets[index % NVAL], h, NULL), GZ_OK);
}

/* A commit for block_id at height 5 round 1 signed by the listed validators. */
static void make_commit(gz_commit *c, const uint64_t *signers, uint32_t n) {
    memset(c, 0, sizeof *c);
    c->height = 5;
    c->round = 1;
    memcpy(c->block_id, block_id, 32);
    c->n_sigs = n;
    for (uint32_t i = 0; i < n; i++) sign_precommit(c, i, signers[i], 1000 + i);
}

Test(core_block, validators_hash_is_sha256_of_the_pairs, .init = setup_validators) {
    uint8_t got[32], want[32];
    cr_assert_eq(core_validators_hash(got, vals, 2), GZ_OK);
    gz_buf b;
    gz_buf_init(&b);
    put_hex(&b, "92");
    for (int i = 0; i < 2; i++) {
        put_hex(&b, "92c420");
        cr_assert_eq(gz_buf_append(&b, vals[i].pub_key, 32), GZ_OK);
        put_hex(&b, "0a");
    }
    core_sha256(want, b.data, b.len);
    cr_assert_arr_eq(got, want, 32);
    vals[1].power = 11;
    cr_assert_eq(core_validators_hash(got, vals, 2), GZ_OK);
    cr_assert(memcmp(got, want, 32) != 0, "power is hashed");
    gz_buf_free(&b);
}

Test(core_block, commit_round_trip, .init = setup_validators) {
    const uint64_t signers[] = {0, 2, 3};
    gz_commit c, back;
    make_commit(&c, signers, 3);
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(core_commit_encode(&c, &b), GZ_OK);
    gz_msg msg = {""};
    cr_assert_eq(core_commit_decode(&back, b.data, b.len, &msg), GZ_OK, "%s", msg.text);
    cr_assert(memcmp(&c, &back, sizeof c) == 0);
    b.data[b.len - 65] = 0xc5; /* the last sig's bin8 length now claims 197 bytes */
    cr_assert_eq(core_commit_decode(&back, b.data, b.len, &msg), GZ_EENCODING);
    cr_assert(strstr(msg.text, "commit.sigs[2].sig: ") == msg.text, "%s", msg.text);
    gz_buf_free(&b);

    c.n_sigs = GZ_VALIDATORS_MAX + 1;
    gz_buf_init(&b);
    cr_assert_eq(core_commit_encode(&c, &b), GZ_EARG);
    /* A hand-written commit with one signature too many. */
    cr_assert_eq(mp_put_array(&b, 4) | mp_put_uint(&b, 5) | mp_put_uint(&b, 1) | mp_put_bin(&b, block_id, 32) |
                 mp_put_array(&b, GZ_VALIDATORS_MAX + 1), GZ_OK);
    for (uint32_t i = 0; i <= GZ_VALIDATORS_MAX; i++)
        cr_assert_eq(mp_put_array(&b, 3) | mp_put_uint(&b, i) | mp_put_uint(&b, 1) | mp_put_bin(&b, c.sigs[0].sig, 64),
                     GZ_OK);
    cr_assert_eq(core_commit_decode(&back, b.data, b.len, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "commit.sigs: array of 129 elements, expected 0..128");
    gz_buf_free(&b);
}

static int verify(const gz_commit *c, gz_msg *msg) {
    return core_commit_verify(c, CHAIN, block_id, 5, vals, NVAL, msg);
}

Test(core_block, commit_verify_thresholds, .init = setup_validators) {
    gz_commit c;
    gz_msg msg = {""};
    const uint64_t three[] = {0, 1, 3};
    make_commit(&c, three, 3);
    cr_assert_eq(verify(&c, &msg), GZ_OK, "3 of 4: %s", msg.text);
    const uint64_t two[] = {1, 2};
    make_commit(&c, two, 2);
    cr_assert_eq(verify(&c, &msg), GZ_EVERIFY, "2 of 4");
    cr_assert_str_eq(msg.text, "commit: signed power 20 of 40 is not more than 2/3");
    make_commit(&c, NULL, 0);
    cr_assert_eq(verify(&c, &msg), GZ_EVERIFY, "no signatures");
    /* Weighted: one validator with most of the power suffices. */
    vals[3].power = 97;
    vals[0].power = vals[1].power = vals[2].power = 1;
    const uint64_t big[] = {3};
    make_commit(&c, big, 1);
    cr_assert_eq(verify(&c, &msg), GZ_OK, "97 of 100: %s", msg.text);
    /* Exactly 2/3 is not more than 2/3. */
    vals[0].power = vals[1].power = vals[2].power = 1;
    const uint64_t pair[] = {0, 1};
    make_commit(&c, pair, 2);
    cr_assert_eq(core_commit_verify(&c, CHAIN, block_id, 5, vals, 3, &msg), GZ_EVERIFY, "2 of 3 equal");
    const uint64_t all3[] = {0, 1, 2};
    make_commit(&c, all3, 3);
    cr_assert_eq(core_commit_verify(&c, CHAIN, block_id, 5, vals, 3, &msg), GZ_OK, "%s", msg.text);
}

Test(core_block, commit_verify_rejects_bad_indexes_and_signatures, .init = setup_validators) {
    gz_commit c;
    gz_msg msg = {""};
    const uint64_t dup[] = {0, 0, 1};
    make_commit(&c, dup, 3);
    cr_assert_eq(verify(&c, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "commit.sigs[1]: validator index 0 not above the previous one");
    const uint64_t desc[] = {2, 1, 3};
    make_commit(&c, desc, 3);
    cr_assert_eq(verify(&c, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "commit.sigs[1]: validator index 1 not above the previous one");
    const uint64_t range[] = {0, 1, 4};
    make_commit(&c, range, 3);
    cr_assert_eq(verify(&c, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "commit.sigs[2]: validator index 4 out of range (4 validators)");

    const uint64_t ok[] = {0, 1, 2, 3};
    make_commit(&c, ok, 4);
    cr_assert_eq(verify(&c, &msg), GZ_OK, "%s", msg.text);
    c.sigs[1].sig[7] ^= 0x01;
    cr_assert_eq(verify(&c, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "commit.sigs[1]: bad signature by validator 1");
    c.sigs[1].sig[7] ^= 0x01;
    c.sigs[2].time++; /* the signed vote had another time */
    cr_assert_eq(verify(&c, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "commit.sigs[2]: bad signature by validator 2");
    c.sigs[2].time--;
    c.sigs[3].validator_index = 3;
    memcpy(c.sigs[3].sig, c.sigs[0].sig, 64); /* validator 0's signature under index 3 */
    cr_assert_eq(verify(&c, &msg), GZ_EVERIFY);
    make_commit(&c, ok, 4);
    cr_assert_eq(core_commit_verify(&c, "other-chain", block_id, 5, vals, NVAL, &msg), GZ_EVERIFY,
                 "signed for another chain");
    cr_assert_eq(core_commit_verify(&c, CHAIN, block_id, 6, vals, NVAL, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "commit.height: 5, expected 6");
    uint8_t other[32];
    memset(other, 0x5b, 32);
    cr_assert_eq(core_commit_verify(&c, CHAIN, other, 5, vals, NVAL, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "commit.block_id: not the id of the block");
    /* A commit whose round was changed after signing fails every signature. */
    c.round = 2;
    cr_assert_eq(verify(&c, &msg), GZ_EVERIFY);
    cr_assert_str_eq(msg.text, "commit.sigs[0]: bad signature by validator 0");
}
