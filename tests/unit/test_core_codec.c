/* The codec of SPEC §2–§5: round trips of every structure and payload, the
 * exact bytes of a known tx, rejections with the field named, tx signing and
 * checks, commits. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/bytes.h"
#include "core/codec.h"
#include "core/hash.h"
#include "core/keys.h"
#include "core/mp.h"
#include "tests/unit/testutil.h"

#define CHAIN "gongzhi-devnet"

static void key_for(uint8_t sk[32], int n) {
    char seed[32];
    int len = snprintf(seed, sizeof seed, "gongzhi test key %d", n);
    core_sha256(sk, seed, (size_t)len);
}

static void fill32(uint8_t out[32], uint8_t v) { memset(out, v, 32); }

/* Copies s into a fixed string field; the field must already be zeroed. */
#define SET_STR(dst, s) (strncpy((dst), (s), sizeof(dst) - 1))

/* A string of exactly n bytes made of a repeated 3-byte UTF-8 character and
 * ASCII filler, so bounds are hit with multi-byte text. */
static void utf8_text(char *out, size_t n) {
    size_t i = 0;
    while (i + 3 <= n) memcpy(out + i, "\xe5\x85\xb1", 3), i += 3;
    while (i < n) out[i++] = 'x';
    out[n] = '\0';
}

/* The payload fillers of fill_payload: variant v = 1 uses the nil forms and
 * bound-length strings and arrays, v = 0 the other forms and short values. */
static void fill_account_set(gz_p_account_set *p, int v) {
    fill32(p->account, 0x31);
    p->level = v ? 10 : 0;
    p->classes = v ? 127 : 1;
    if (v) utf8_text(p->label, GZ_LABEL_MAX);
    else SET_STR(p->label, "巨鲸");
}

static void fill_issuer_set(gz_p_issuer_set *p, int v) {
    if (v) utf8_text(p->issuer_id, GZ_ID_MAX);
    else SET_STR(p->issuer_id, "ip-1");
    SET_STR(p->controller_id, "ctl-1");
    fill32(p->owner, 0x32);
    if (v) utf8_text(p->name, GZ_NAME_MAX);
}

static void fill_credit_adjust(gz_p_credit_adjust *p, int v) {
    SET_STR(p->controller_id, "ctl-1");
    p->component = v ? 3 : 0;
    p->delta = v ? INT64_MIN : 7;
    p->reason = 4;
    p->has_evidence = !v;
    if (!v) fill32(p->evidence, 0x33);
    if (v) utf8_text(p->memo, GZ_TEXT_MAX);
}

static void fill_release_announce(gz_p_release_announce *p, int v) {
    SET_STR(p->release_id, "rel-1");
    SET_STR(p->issuer_id, "ip-1");
    SET_STR(p->title, "title");
    p->supply = 1000;
    p->price = v ? UINT64_MAX : 9900;
    p->release_time = 1767225600000ull;
    p->has_final_anchor = !v;
    if (!v) fill32(p->final_anchor, 0x34);
}

static void fill_proposal_create(gz_p_proposal_create *p, int v) {
    p->kind = 7;
    SET_STR(p->subject, "project/stage-1");
    SET_STR(p->title, "A question");
    p->n_options = v ? GZ_OPTIONS_MAX : GZ_OPTIONS_MIN;
    for (uint32_t i = 0; i < p->n_options; i++) {
        if (v) utf8_text(p->options[i], GZ_LABEL_MAX);
        else snprintf(p->options[i], sizeof p->options[i], "option %u", i);
    }
    p->min_level = 8;
    p->classes_any = 7;
    p->weighting = 2;
    p->voting_ms = 604800000;
}

static void fill_vote(gz_p_vote *p, int v) {
    fill32(p->proposal_id, 0x37);
    p->n_choices = v ? GZ_CHOICES_MAX : 1;
    for (uint32_t i = 0; i < p->n_choices; i++) p->choices[i] = i * 300;
}

static void fill_split_set(gz_p_split_set *p, int v) {
    SET_STR(p->split_id, "split-1");
    p->n_recipients = v ? GZ_RECIPIENTS_MAX : 2;
    for (uint32_t i = 0; i < p->n_recipients; i++) {
        fill32(p->recipients[i].account, (uint8_t)(0x40 + i));
        p->recipients[i].share_ppm = 1000000 / p->n_recipients;
    }
    p->is_mutable = v;
}

static void fill_revenue(gz_p_revenue *p, int v) {
    SET_STR(p->split_id, "split-1");
    p->amount = 12345;
    if (v) utf8_text(p->sale_ref, GZ_NAME_MAX);
}

static void fill_reward_pool(gz_p_reward_pool *p, int v) {
    SET_STR(p->pool_id, "pool-1");
    p->amount = 500;
    p->n_proposals = v ? GZ_POOL_PROPOSALS_MAX : 1;
    for (uint32_t i = 0; i < p->n_proposals; i++) fill32(p->proposal_ids[i], (uint8_t)(0x60 + i));
}

static void fill_transfer(gz_p_transfer *p, int v) {
    fill32(p->to, 0x22);
    p->amount = v ? 0 : 100;
    SET_STR(p->memo, "thanks");
}

static void fill_withdraw(gz_p_withdraw *p) {
    p->amount = 77;
    SET_STR(p->payout_ref, "bank-ref-1");
}

static void fill_anchor(gz_p_anchor *p, int v) {
    fill32(p->artifact, 0x38);
    p->kind = 3;
    SET_STR(p->work_id, "work-1");
    p->has_parent = !v;
    if (!v) fill32(p->parent, 0x39);
    SET_STR(p->media_type, "image/png");
    if (v) utf8_text(p->note, GZ_TEXT_MAX);
}

static void fill_gov_grant(gz_p_gov_grant *p) {
    fill32(p->account, 0x3a);
    p->amount = 450;
    p->category = 1;
}

/* Approvals of the VALIDATOR_UPDATE fillers: encoded once, kept for the process. */
static gz_buf vu_approvals[2];

static void fill_validator_update(gz_p_validator_update *p, int v) {
    fill32(p->pub_key, 0x3b);
    p->power = v ? UINT64_MAX : 10;
    if (v) utf8_text(p->name, GZ_LABEL_MAX);
    else SET_STR(p->name, "partner-5");
    static gz_approval a[GZ_VALIDATORS_MAX];
    uint32_t n = v ? GZ_VALIDATORS_MAX : 3;
    for (uint32_t i = 0; i < n; i++) {
        a[i].validator_index = v ? UINT64_MAX - i : i;
        memset(a[i].sig, (int)(0x50 + i), 64);
    }
    gz_buf *b = &vu_approvals[v];
    b->len = 0;
    cr_assert_eq(core_approvals_encode(a, n, b), GZ_OK);
    p->n_approvals = n;
    p->approvals = b->data;
    p->approvals_len = b->len;
}

static void fill_evidence(gz_p_evidence *p, int v) {
    fill32(p->validator, 0x3c);
    p->vote_a_len = v ? GZ_VOTE_BYTES_MAX : 1;
    memset(p->vote_a, 0x91, p->vote_a_len);
    memset(p->sig_a, 0x61, 64);
    p->vote_b_len = v ? 0 : 40;
    memset(p->vote_b, 0x92, p->vote_b_len);
    memset(p->sig_b, 0x62, 64);
}

/* Fills the payload of `type` in variant v (see the fillers above). */
static void fill_payload(gz_tx *tx, uint64_t type, int v) {
    tx->type = type;
    switch (type) {
    case GZ_TX_ACCOUNT_SET: fill_account_set(&tx->p.account_set, v); break;
    case GZ_TX_ISSUER_SET: fill_issuer_set(&tx->p.issuer_set, v); break;
    case GZ_TX_CREDIT_ADJUST: fill_credit_adjust(&tx->p.credit_adjust, v); break;
    case GZ_TX_RELEASE_ANNOUNCE: fill_release_announce(&tx->p.release_announce, v); break;
    case GZ_TX_PROPOSAL_CREATE: fill_proposal_create(&tx->p.proposal_create, v); break;
    case GZ_TX_PROPOSAL_COSIGN: fill32(tx->p.proposal_cosign.proposal_id, 0x36); break;
    case GZ_TX_VOTE: fill_vote(&tx->p.vote, v); break;
    case GZ_TX_SPLIT_SET: fill_split_set(&tx->p.split_set, v); break;
    case GZ_TX_REVENUE: fill_revenue(&tx->p.revenue, v); break;
    case GZ_TX_REWARD_POOL: fill_reward_pool(&tx->p.reward_pool, v); break;
    case GZ_TX_TRANSFER: fill_transfer(&tx->p.transfer, v); break;
    case GZ_TX_WITHDRAW: fill_withdraw(&tx->p.withdraw); break;
    case GZ_TX_ANCHOR: fill_anchor(&tx->p.anchor, v); break;
    case GZ_TX_GOV_GRANT: fill_gov_grant(&tx->p.gov_grant); break;
    case GZ_TX_VALIDATOR_UPDATE: fill_validator_update(&tx->p.validator_update, v); break;
    case GZ_TX_EVIDENCE: fill_evidence(&tx->p.evidence, v); break;
    default: cr_assert_fail("type %llu", (unsigned long long)type);
    }
}

/* A signed tx of `type` by test key `key`. */
static void make_tx(gz_tx *tx, uint64_t type, int variant, int key, uint8_t sk[32]) {
    memset(tx, 0, sizeof *tx);
    key_for(sk, key);
    SET_STR(tx->chain_id, CHAIN);
    cr_assert_eq(core_key_pub(tx->signer, sk), GZ_OK);
    tx->nonce = variant ? UINT64_MAX : 3;
    fill_payload(tx, type, variant);
}

Test(core_codec, every_payload_type_round_trips) {
    for (uint64_t type = 1; type <= GZ_TX_TYPE_MAX; type++) {
        for (int variant = 0; variant < 2; variant++) {
            gz_tx tx, back;
            uint8_t sk[32];
            make_tx(&tx, type, variant, (int)type, sk);
            gz_buf bytes, again;
            gz_buf_init(&bytes);
            gz_buf_init(&again);
            cr_assert_eq(core_tx_sign_encode(&tx, sk, &bytes), GZ_OK, "type %llu", (unsigned long long)type);
            gz_msg msg = {""};
            cr_assert_eq(core_tx_decode(&back, bytes.data, bytes.len, &msg), GZ_OK, "type %llu v%d: %s",
                         (unsigned long long)type, variant, msg.text);
            if (type == GZ_TX_VALIDATOR_UPDATE) {
                /* the approvals stay encoded, pointing into the decoded bytes */
                gz_p_validator_update *a = &tx.p.validator_update, *d = &back.p.validator_update;
                cr_assert(d->approvals >= bytes.data && d->approvals + d->approvals_len <= bytes.data + bytes.len);
                cr_assert_eq(d->approvals_len, a->approvals_len);
                cr_assert(memcmp(d->approvals, a->approvals, a->approvals_len) == 0);
                gz_approval first;
                cr_assert_eq(core_approvals_get(d, d->n_approvals - 1, &first), GZ_OK);
                cr_assert_eq(first.validator_index, variant ? UINT64_MAX - (d->n_approvals - 1) : d->n_approvals - 1);
                cr_assert_eq(core_approvals_get(d, d->n_approvals, &first), GZ_EARG);
                d->approvals = a->approvals;
            }
            cr_assert(memcmp(&tx, &back, sizeof tx) == 0, "type %llu v%d: decoded differs",
                      (unsigned long long)type, variant);
            cr_assert_eq(core_tx_check(&back, CHAIN, &msg), GZ_OK, "%s", msg.text);
            cr_assert_eq(core_tx_encode(&back, &again), GZ_OK);
            cr_assert_eq(again.len, bytes.len);
            cr_assert(memcmp(again.data, bytes.data, bytes.len) == 0, "re-encoding gives the same bytes");
            cr_assert_eq(mp_check_canonical(bytes.data, bytes.len, NULL), GZ_OK);
            gz_buf_free(&bytes);
            gz_buf_free(&again);
        }
    }
}

static void put_hex(gz_buf *b, const char *hex) {
    cr_assert_eq(gz_hex_decode_buf(b, hex, strlen(hex)), GZ_OK, "%s", hex);
}

static const char *const H11 = "1111111111111111111111111111111111111111111111111111111111111111";
static const char *const H22 = "2222222222222222222222222222222222222222222222222222222222222222";

Test(core_codec, transfer_body_has_the_exact_spec_bytes) {
    gz_tx tx;
    memset(&tx, 0, sizeof tx);
    SET_STR(tx.chain_id, "c");
    tx.type = GZ_TX_TRANSFER;
    fill32(tx.signer, 0x11);
    tx.nonce = 0;
    fill32(tx.p.transfer.to, 0x22);
    tx.p.transfer.amount = 5;
    SET_STR(tx.p.transfer.memo, "m");
    gz_buf got, want;
    gz_buf_init(&got);
    gz_buf_init(&want);
    cr_assert_eq(core_tx_body_encode(&tx, &got), GZ_OK);
    /* [1, "c", 11, bin32, 0, [bin32, 5, "m"]] */
    put_hex(&want, "9601a1630bc420");
    put_hex(&want, H11);
    put_hex(&want, "0093c420");
    put_hex(&want, H22);
    put_hex(&want, "05a16d");
    cr_assert_eq(got.len, want.len);
    cr_assert(memcmp(got.data, want.data, want.len) == 0);
    uint8_t txid[32], expect[32];
    cr_assert_eq(core_tx_encode(&tx, &got), GZ_OK); /* appends Tx after the body */
    core_tagged_hash(expect, GZ_TAG_TX, want.data, want.len);
    memcpy(txid, tx.txid, 32);
    cr_assert_arr_eq(txid, expect, 32, "txid = TH(\"gongzhi/tx\", body)");
    gz_buf_free(&got);
    gz_buf_free(&want);
}

/* Wraps body hex into Tx bytes with an all-zero signature. */
static void wrap_body(gz_buf *tx, const gz_buf *body) {
    gz_buf_reset(tx);
    uint8_t sig[64] = {0};
    cr_assert_eq(mp_put_array(tx, 2), GZ_OK);
    cr_assert_eq(mp_put_bin(tx, body->data, body->len), GZ_OK);
    cr_assert_eq(mp_put_bin(tx, sig, 64), GZ_OK);
}

/* Decodes a TRANSFER whose body is head ‖ signer ‖ nonce ‖ payload (all hex)
 * and expects err with a message containing want. */
static void expect_body_error(const char *head, const char *signer, const char *nonce,
                              const char *payload, int err, const char *want) {
    gz_buf body, tx;
    gz_buf_init(&body);
    gz_buf_init(&tx);
    put_hex(&body, head);
    put_hex(&body, signer);
    put_hex(&body, nonce);
    put_hex(&body, payload);
    wrap_body(&tx, &body);
    gz_tx out;
    gz_msg msg = {""};
    int rc = core_tx_decode(&out, tx.data, tx.len, &msg);
    cr_assert_eq(rc, err, "rc %d (%s), want %d \"%s\"", rc, msg.text, err, want);
    if (err != GZ_OK) {
        cr_assert_str_eq(msg.text, want);
        cr_assert_eq(out.type, 0, "zeroed on failure");
        cr_assert(gz_is_zero32(out.txid));
    }
    gz_buf_free(&body);
    gz_buf_free(&tx);
}

#define SIGNER "c4201111111111111111111111111111111111111111111111111111111111111111"
#define PAYLOAD "93c4202222222222222222222222222222222222222222222222222222222222222222" "05a16d"

Test(core_codec, body_rejections_name_the_field) {
    expect_body_error("9601a1630b", SIGNER, "00", PAYLOAD, GZ_OK, "");
    expect_body_error("9601a1630b", SIGNER, "cc05", PAYLOAD, GZ_EENCODING,
                      "body.nonce: integer not in its shortest form");
    expect_body_error("9601a1630b", SIGNER, "c0", PAYLOAD, GZ_EENCODING, "body.nonce: not a uint (found nil)");
    expect_body_error("9602a1630b", SIGNER, "00", PAYLOAD, GZ_EENCODING, "body.version: must be 1, found 2");
    expect_body_error("9601a16316", SIGNER, "00", PAYLOAD, GZ_EARG, "body.type: unknown tx type 22");
    expect_body_error("9601a16300", SIGNER, "00", PAYLOAD, GZ_EARG, "body.type: unknown tx type 0");
    expect_body_error("9501a1630b", SIGNER, "00", "", GZ_EENCODING, "body: array of 5 elements, expected 6");
    expect_body_error("9601c00b", SIGNER, "00", PAYLOAD, GZ_EENCODING, "body.chain_id: not a str (found nil)");
    expect_body_error("9601a1630b", "c41f11111111111111111111111111111111111111111111111111111111111111", "00",
                      PAYLOAD, GZ_EENCODING, "body.signer: bin of 31 bytes, expected 32");
    expect_body_error("9601a1630b", SIGNER, "00", PAYLOAD "00", GZ_EENCODING, "body: 1 trailing bytes");
    expect_body_error("9601a1630b", SIGNER, "00",
                      "92c4202222222222222222222222222222222222222222222222222222222222222222" "05",
                      GZ_EENCODING, "payload: array of 2 elements, expected 3");
    expect_body_error("9601a1630b", SIGNER, "00", "93c005a16d", GZ_EENCODING,
                      "payload.to: not a bin (found nil)");
    expect_body_error("9601a1630b", SIGNER, "00",
                      "93c4202222222222222222222222222222222222222222222222222222222222222222" "05a3610062",
                      GZ_EENCODING, "payload.memo: string contains a NUL byte");
    expect_body_error("9601a1630b", SIGNER, "00",
                      "93c4202222222222222222222222222222222222222222222222222222222222222222" "05a2c0af",
                      GZ_EENCODING, "payload.memo: string is not valid UTF-8");
    expect_body_error("9601a1630b", SIGNER, "00",
                      "93c4202222222222222222222222222222222222222222222222222222222222222222" "ff" "a16d",
                      GZ_EENCODING, "payload.amount: not a uint (found int)");
    expect_body_error("9601a1630b", SIGNER, "00",
                      "93c4202222222222222222222222222222222222222222222222222222222222222222" "05" "91a16d",
                      GZ_EENCODING, "payload.memo: not a str (found array)");
    /* A 65-byte chain id. */
    expect_body_error("9601d941"
                      "61616161616161616161616161616161616161616161616161616161616161616161616161616161"
                      "61616161616161616161616161" "0b",
                      SIGNER, "00", PAYLOAD, GZ_EENCODING, "body.chain_id: string longer than 64 bytes");
}

static int decode_hex(const char *hex, gz_msg *msg) {
    gz_buf b;
    gz_buf_init(&b);
    put_hex(&b, hex);
    gz_tx tx;
    int rc = core_tx_decode(&tx, b.data, b.len, msg);
    gz_buf_free(&b);
    return rc;
}

Test(core_codec, tx_envelope_rejections) {
    gz_msg msg;
    cr_assert_eq(decode_hex("ddffffffff", &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "tx: declared length 4294967295 exceeds the 0 bytes remaining");
    cr_assert_eq(decode_hex("92c6ffffffff", &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "tx.body: declared length 4294967295 exceeds the 0 bytes remaining");
    cr_assert_eq(decode_hex("", &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "tx: missing (no bytes left)");
    cr_assert_eq(decode_hex("93c400c400c400", &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "tx: array of 3 elements, expected 2");

    gz_tx tx;
    uint8_t sk[32];
    make_tx(&tx, GZ_TX_TRANSFER, 0, 1, sk);
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(core_tx_sign_encode(&tx, sk, &b), GZ_OK);
    put_hex(&b, "000000");
    cr_assert_eq(core_tx_decode(&tx, b.data, b.len, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "tx: 3 trailing bytes");
    b.len -= 3 + 1; /* drop the trailing bytes and the last signature byte */
    b.data[b.len - 64] = 0x3f; /* the sig's bin8 length now says 63 */
    cr_assert_eq(core_tx_decode(&tx, b.data, b.len, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "tx.sig: bin of 63 bytes, expected 64");
    gz_buf_free(&b);
}

Test(core_codec, tx_over_16_kib_is_over_a_limit) {
    uint8_t *big = calloc(GZ_TX_BYTES_MAX + 1, 1);
    gz_tx tx;
    gz_msg msg;
    cr_assert_eq(core_tx_decode(&tx, big, GZ_TX_BYTES_MAX + 1, &msg), GZ_ELIMIT);
    cr_assert_str_eq(msg.text, "tx: 16385 bytes, more than 16384");
    free(big);
}

/* A PROPOSAL_CREATE body with the given options array, written by hand so the
 * encoder's own checks do not stop it. */
static int decode_proposal_with_options(uint32_t n, size_t long_index, size_t long_len, gz_msg *msg) {
    gz_buf body, tx;
    gz_buf_init(&body);
    gz_buf_init(&tx);
    uint8_t signer[32];
    fill32(signer, 0x11);
    int ok = mp_put_array(&body, 6) | mp_put_uint(&body, 1) | mp_put_str(&body, CHAIN, strlen(CHAIN)) |
             mp_put_uint(&body, GZ_TX_PROPOSAL_CREATE) | mp_put_bin(&body, signer, 32) |
             mp_put_uint(&body, 0) | mp_put_array(&body, 8) | mp_put_uint(&body, 7) |
             mp_put_str(&body, "s", 1) | mp_put_str(&body, "t", 1) | mp_put_array(&body, n);
    char text[100];
    memset(text, 'o', sizeof text);
    for (uint32_t i = 0; i < n; i++) ok |= mp_put_str(&body, text, i == long_index ? long_len : 3);
    for (int i = 0; i < 4; i++) ok |= mp_put_uint(&body, 1);
    cr_assert_eq(ok, GZ_OK);
    wrap_body(&tx, &body);
    gz_tx out;
    int rc = core_tx_decode(&out, tx.data, tx.len, msg);
    if (rc == GZ_OK) cr_assert_eq(out.p.proposal_create.n_options, n);
    gz_buf_free(&body);
    gz_buf_free(&tx);
    return rc;
}

Test(core_codec, counted_arrays_and_string_bounds) {
    gz_msg msg;
    cr_assert_eq(decode_proposal_with_options(2, 0, 64, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(decode_proposal_with_options(16, 99, 0, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(decode_proposal_with_options(1, 99, 0, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "payload.options: array of 1 elements, expected 2..16");
    cr_assert_eq(decode_proposal_with_options(17, 99, 0, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "payload.options: array of 17 elements, expected 2..16");
    cr_assert_eq(decode_proposal_with_options(5, 3, 65, &msg), GZ_EENCODING);
    cr_assert_str_eq(msg.text, "payload.options[3]: string longer than 64 bytes");
}

Test(core_codec, other_payload_shapes) {
    /* VOTE with no choices, SPLIT_SET recipient with a bad share, a uint for a bool. */
    expect_body_error("9601ae676f6e677a68692d6465766e657407", SIGNER, "00",
                      "92c4202222222222222222222222222222222222222222222222222222222222222222" "90",
                      GZ_EENCODING, "payload.choices: array of 0 elements, expected 1..16");
    expect_body_error("9601ae676f6e677a68692d6465766e657408", SIGNER, "00", "93a173" "9192c420" "2222222222222222222222222222222222222222222222222222222222222222" "d0ff" "c3",
                      GZ_EENCODING, "payload.recipients[0].share_ppm: not a uint (found int)");
    expect_body_error("9601ae676f6e677a68692d6465766e657408", SIGNER, "00", "93a173" "9192c420" "2222222222222222222222222222222222222222222222222222222222222222" "01" "01",
                      GZ_EENCODING, "payload.mutable: not a bool (found uint)");
    expect_body_error("9601ae676f6e677a68692d6465766e657408", SIGNER, "00", "93a173" "9192c420" "2222222222222222222222222222222222222222222222222222222222222222" "01" "c2",
                      GZ_OK, "");
    /* CREDIT_ADJUST: delta -5 as a negative fixint, 5 as a uint, never as int8. */
    static const char *const head3 = "9601ae676f6e677a68692d6465766e657403";
    expect_body_error(head3, SIGNER, "00", "96a163" "00" "fb" "01" "c0" "a0", GZ_OK, "");
    expect_body_error(head3, SIGNER, "00", "96a163" "00" "05" "01" "c0" "a0", GZ_OK, "");
    expect_body_error(head3, SIGNER, "00", "96a163" "00" "d005" "01" "c0" "a0", GZ_EENCODING,
                      "payload.delta: integer not in its shortest form");
    expect_body_error(head3, SIGNER, "00", "96a163" "00" "d0fb" "01" "c0" "a0", GZ_EENCODING,
                      "payload.delta: integer not in its shortest form");
    expect_body_error(head3, SIGNER, "00", "96a163" "00" "05" "01" "c41f"
                      "22222222222222222222222222222222222222222222222222222222222222" "a0",
                      GZ_EENCODING, "payload.evidence: bin of 31 bytes, expected 32");
    /* Deep nesting where a uint belongs is refused by type, whatever its depth. */
    expect_body_error("9601ae676f6e677a68692d6465766e657407", SIGNER, "00",
                      "92c4202222222222222222222222222222222222222222222222222222222222222222"
                      "91919191919191919191919101",
                      GZ_EENCODING, "payload.choices[0]: not a uint (found array)");
}

Test(core_codec, encoders_refuse_what_decoders_would_refuse) {
    gz_tx tx;
    uint8_t sk[32];
    gz_buf b;
    gz_buf_init(&b);
    make_tx(&tx, GZ_TX_PROPOSAL_CREATE, 0, 2, sk);
    tx.p.proposal_create.n_options = 1;
    cr_assert_eq(core_tx_sign_encode(&tx, sk, &b), GZ_EARG);
    cr_assert_eq(b.len, 0, "buffer untouched on failure");
    make_tx(&tx, GZ_TX_PROPOSAL_CREATE, 0, 2, sk);
    memset(tx.p.proposal_create.options[1], 'a', GZ_LABEL_MAX + 1); /* no NUL within the bound */
    cr_assert_eq(core_payload_encode(&tx, &b), GZ_EARG);
    make_tx(&tx, GZ_TX_TRANSFER, 0, 2, sk);
    SET_STR(tx.p.transfer.memo, "\xc0\x80");
    cr_assert_eq(core_tx_body_encode(&tx, &b), GZ_EARG);
    make_tx(&tx, GZ_TX_TRANSFER, 0, 2, sk);
    tx.type = 99;
    cr_assert_eq(core_tx_body_encode(&tx, &b), GZ_EARG);
    make_tx(&tx, GZ_TX_TRANSFER, 0, 2, sk);
    uint8_t other[32];
    key_for(other, 3);
    cr_assert_eq(core_tx_sign_encode(&tx, other, &b), GZ_EARG, "signer is not the key's public key");
    cr_assert_eq(b.len, 0);
    gz_buf_free(&b);
}

Test(core_codec, tx_check_chain_and_signature) {
    gz_tx tx, back;
    uint8_t sk[32];
    make_tx(&tx, GZ_TX_VOTE, 0, 4, sk);
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(core_tx_sign_encode(&tx, sk, &b), GZ_OK);
    gz_msg msg;
    cr_assert_eq(core_tx_decode(&back, b.data, b.len, &msg), GZ_OK);
    cr_assert_eq(core_tx_check(&back, CHAIN, &msg), GZ_OK);
    cr_assert_eq(core_tx_check(&back, "other-chain", &msg), GZ_ECHAIN);
    cr_assert_str_eq(msg.text, "body.chain_id: \"gongzhi-devnet\" is not this chain (\"other-chain\")");
    for (size_t bit = 0; bit < 512; bit += 37) {
        b.data[b.len - 64 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_eq(core_tx_decode(&back, b.data, b.len, &msg), GZ_OK);
        cr_assert_eq(core_tx_check(&back, CHAIN, &msg), GZ_ESIG, "flipped signature bit %zu", bit);
        cr_assert_str_eq(msg.text, "tx.sig: not a valid signature by body.signer");
        b.data[b.len - 64 + bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
    /* A changed body changes the txid, so the old signature fails. */
    tx.nonce = 4;
    gz_buf body;
    gz_buf_init(&body);
    cr_assert_eq(core_tx_body_encode(&tx, &body), GZ_OK);
    gz_buf forged;
    gz_buf_init(&forged);
    wrap_body(&forged, &body);
    memcpy(forged.data + forged.len - 64, b.data + b.len - 64, 64);
    cr_assert_eq(core_tx_decode(&back, forged.data, forged.len, &msg), GZ_OK);
    cr_assert_eq(core_tx_check(&back, CHAIN, &msg), GZ_ESIG);
    gz_buf_free(&forged);
    gz_buf_free(&body);
    gz_buf_free(&b);
}

Test(core_codec, type_names) {
    static const char *const names[] = {NULL, "account_set", "issuer_set", "credit_adjust",
                                        "release_announce", "proposal_create", "proposal_cosign",
                                        "vote", "split_set", "revenue", "reward_pool", "transfer",
                                        "withdraw", "anchor", "gov_grant", "validator_update", "evidence"};
    for (uint64_t t = 1; t <= GZ_TX_TYPE_MAX; t++) {
        cr_assert_str_eq(core_tx_type_name(t), names[t]);
        cr_assert_eq(core_tx_type_from_name(names[t]), t);
    }
    cr_assert_null(core_tx_type_name(0));
    cr_assert_null(core_tx_type_name(GZ_TX_TYPE_MAX + 1));
    cr_assert_eq(core_tx_type_from_name("account-set"), GZ_TX_ACCOUNT_SET);
    cr_assert_eq(core_tx_type_from_name("GOV_GRANT"), GZ_TX_GOV_GRANT);
    cr_assert_eq(core_tx_type_from_name("nope"), 0);
    cr_assert_eq(core_tx_type_from_name(""), 0);
}

/* ---- the fuzz seed corpus ------------------------------------------------------------ */

/* The seeds in tests/fuzz/corpus/tx are valid signed txs of several types.
 * With GZ_WRITE_CORPUS=1 in the environment this test (re)writes them first;
 * either way it checks that every seed decodes and passes the stateless checks. */
static const uint64_t seed_types[] = {GZ_TX_ACCOUNT_SET, GZ_TX_CREDIT_ADJUST, GZ_TX_PROPOSAL_CREATE,
                                      GZ_TX_VOTE, GZ_TX_SPLIT_SET, GZ_TX_REWARD_POOL,
                                      GZ_TX_TRANSFER, GZ_TX_ANCHOR};

static void write_seeds(const char *dir) {
    for (size_t i = 0; i < sizeof seed_types / sizeof seed_types[0]; i++) {
        gz_tx tx;
        uint8_t sk[32];
        make_tx(&tx, seed_types[i], (int)(i % 2), (int)i, sk);
        gz_buf b;
        gz_buf_init(&b);
        cr_assert_eq(core_tx_sign_encode(&tx, sk, &b), GZ_OK);
        char path[512];
        snprintf(path, sizeof path, "%s/%s-%zu.tx", dir, core_tx_type_name(tx.type), i % 2);
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f, "%s", path);
        cr_assert_eq(fwrite(b.data, 1, b.len, f), b.len);
        fclose(f);
        gz_buf_free(&b);
    }
}

Test(core_codec, fuzz_seed_corpus_is_valid) {
    const char *dir = GZ_SOURCE_DIR "/tests/fuzz/corpus/tx";
    const char *w = getenv("GZ_WRITE_CORPUS");
    if (w != NULL && strcmp(w, "1") == 0) write_seeds(dir);
    DIR *d = opendir(dir);
    cr_assert_not_null(d, "%s", dir);
    struct dirent *e;
    int seeds = 0;
    /* cppcheck-suppress readdirCalled ; readdir_r is deprecated, and this stream is read by one thread */
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        size_t len = 0;
        char *bytes = tu_read_file(path, &len);
        cr_assert_not_null(bytes);
        gz_tx tx;
        gz_msg msg = {""};
        cr_assert_eq(core_tx_decode(&tx, (const uint8_t *)bytes, len, &msg), GZ_OK, "%s: %s", path, msg.text);
        cr_assert_eq(core_tx_check(&tx, CHAIN, &msg), GZ_OK, "%s: %s", path, msg.text);
        free(bytes);
        seeds++;
    }
    closedir(d);
    cr_assert_geq(seeds, 8, "found %d seeds", seeds);
}

Test(core_codec, txid_helpers_agree_with_sign_encode) {
    uint8_t sk[32];
    core_sha256(sk, "txid-helpers", 12);
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    strcpy(tx.chain_id, "c");
    tx.type = GZ_TX_WITHDRAW;
    tx.nonce = 3;
    tx.p.withdraw.amount = 5;
    cr_assert_eq(core_key_pub(tx.signer, sk), GZ_OK);
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(core_tx_sign_encode(&tx, sk, &b), GZ_OK);
    uint8_t signed_id[32], from_bytes[32];
    memcpy(signed_id, tx.txid, 32);
    memset(tx.txid, 0, 32);
    cr_assert_eq(core_tx_set_txid(&tx), GZ_OK);
    cr_assert_arr_eq(tx.txid, signed_id, 32);
    cr_assert_eq(core_tx_id_from_bytes(from_bytes, b.data, b.len), GZ_OK);
    cr_assert_arr_eq(from_bytes, signed_id, 32);
    cr_assert_eq(core_tx_id_from_bytes(from_bytes, b.data, 3), GZ_EENCODING);
    cr_assert(gz_is_zero32(from_bytes));
    gz_buf_free(&b);
}

/* SPEC §4: an approval signs TH("gongzhi/valset", chain_id ‖ validators_hash ‖
 * pub_key ‖ u64be(power) ‖ name), built here by hand. */
Test(core_codec, valset_approval_hash_is_the_spec_concatenation) {
    uint8_t vh[32], pk[32], got[32], want[32];
    memset(vh, 0xa1, 32);
    memset(pk, 0xb2, 32);
    cr_assert_eq(core_valset_approval_hash(got, "gongzhi-devnet", vh, pk, 0x0102030405060708ull, "partner"), GZ_OK);
    uint8_t m[14 + 32 + 32 + 8 + 7];
    memcpy(m, "gongzhi-devnet", 14);
    memcpy(m + 14, vh, 32);
    memcpy(m + 46, pk, 32);
    for (int i = 0; i < 8; i++) m[78 + i] = (uint8_t)(i + 1);
    memcpy(m + 86, "partner", 7);
    core_tagged_hash(want, "gongzhi/valset", m, sizeof m);
    cr_assert_arr_eq(got, want, 32);
    char longname[GZ_LABEL_MAX + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    cr_assert_eq(core_valset_approval_hash(got, "gongzhi-devnet", vh, pk, 1, longname), GZ_EARG);
}

/* An encoder never writes approvals a decoder refuses. */
Test(core_codec, validator_update_refuses_bad_approvals_when_encoding) {
    gz_tx tx;
    uint8_t sk[32];
    make_tx(&tx, GZ_TX_VALIDATOR_UPDATE, 0, 3, sk);
    gz_buf out;
    gz_buf_init(&out);
    tx.p.validator_update.n_approvals = 2; /* says 2, holds 3 */
    cr_assert_eq(core_tx_sign_encode(&tx, sk, &out), GZ_EARG);
    tx.p.validator_update.n_approvals = 3;
    tx.p.validator_update.approvals = NULL;
    cr_assert_eq(core_tx_sign_encode(&tx, sk, &out), GZ_EARG);
    cr_assert_eq(out.len, 0);
    gz_approval a = {0};
    cr_assert_eq(core_approvals_encode(&a, 0, &out), GZ_EARG);
    gz_buf_free(&out);
}
