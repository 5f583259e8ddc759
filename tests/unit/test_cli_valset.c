/* Validator-set approvals of the command line (cli/cli_valset.h): the set read
 * from a `validators` answer, signing, the approval file's JSON, and gathering
 * approvals into a VALIDATOR_UPDATE the codec reads back with signatures the
 * ledger can check against the set. */
#include <criterion/criterion.h>
#include <string.h>

#include "cli/cli_valset.h"
#include "core/bytes.h"
#include "core/keys.h"

#define N_VALS 4

typedef struct fixture {
    uint8_t sk[N_VALS + 1][32]; /* the last one is outside the set */
    gz_validator set[N_VALS];
    uint8_t newcomer[32];
} fixture;

static void fixture_make(fixture *f) {
    memset(f, 0, sizeof *f);
    for (int i = 0; i <= N_VALS; i++) {
        memset(f->sk[i], 0x11 * (i + 1), 32);
        uint8_t pk[32];
        cr_assert_eq(core_key_pub(pk, f->sk[i]), GZ_OK);
        if (i < N_VALS) {
            memcpy(f->set[i].pub_key, pk, 32);
            f->set[i].power = 10;
            snprintf(f->set[i].name, sizeof f->set[i].name, "v%d", i);
        } else {
            memcpy(f->newcomer, pk, 32);
        }
    }
}

static void approve(const fixture *f, cli_approval *a, int who, uint64_t power) {
    gz_msg msg = {{0}};
    cr_assert_eq(cli_approval_sign(a, f->sk[who], "chain-x", f->set, N_VALS, f->newcomer, power, "newcomer", &msg), GZ_OK,
                 "%s", msg.text);
}

Test(cli_valset, parse_skips_jailed_and_powerless_entries) {
    json_error_t e;
    json_t *arr = json_loads("[{\"name\":\"a\",\"pub_key\":\"" "0101010101010101010101010101010101010101010101010101010101010101"
                             "\",\"power\":5},"
                             "{\"name\":\"gone\",\"pub_key\":\"" "0202020202020202020202020202020202020202020202020202020202020202"
                             "\",\"power\":0,\"jailed\":true},"
                             "{\"name\":\"j\",\"pub_key\":\"" "0303030303030303030303030303030303030303030303030303030303030303"
                             "\",\"power\":7,\"jailed\":true},"
                             "{\"name\":\"b\",\"pub_key\":\"" "0404040404040404040404040404040404040404040404040404040404040404"
                             "\",\"power\":6,\"jailed\":false}]",
                             0, &e);
    cr_assert_not_null(arr);
    gz_validator set[GZ_VALIDATORS_MAX];
    size_t n = 99;
    gz_msg msg = {{0}};
    cr_assert_eq(cli_valset_parse(set, &n, arr, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(set[0].name, "a");
    cr_assert_str_eq(set[1].name, "b");
    cr_assert_eq(set[1].power, 6);
    json_decref(arr);

    arr = json_loads("[{\"name\":\"a\",\"pub_key\":\"zz\",\"power\":5}]", 0, &e);
    cr_assert_eq(cli_valset_parse(set, &n, arr, &msg), GZ_EARG);
    cr_assert_eq(n, 0);
    cr_assert(strstr(msg.text, "validators[0].pub_key") != NULL, "%s", msg.text);
    json_decref(arr);
}

Test(cli_valset, sign_finds_the_index_and_json_round_trips) {
    fixture f;
    fixture_make(&f);
    cli_approval a, b;
    approve(&f, &a, 2, 10);
    cr_assert_eq(a.validator_index, 2);
    cr_assert_arr_eq(a.validator, f.set[2].pub_key, 32);
    uint8_t vh[32];
    cr_assert_eq(core_validators_hash(vh, f.set, N_VALS), GZ_OK);
    cr_assert_arr_eq(a.validators_hash, vh, 32);
    cr_assert(cli_approval_valid(&a));

    json_t *j = cli_approval_json(&a);
    cr_assert_not_null(j);
    cr_assert_eq(json_object_size(j), 8);
    gz_msg msg = {{0}};
    cr_assert_eq(cli_approval_parse(&b, j, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(memcmp(&a, &b, sizeof a), 0);
    /* An unknown key and a wrong type are refused by name. */
    json_object_set_new(j, "extra", json_true());
    cr_assert_eq(cli_approval_parse(&b, j, &msg), GZ_EARG);
    cr_assert(strstr(msg.text, "extra") != NULL, "%s", msg.text);
    json_object_del(j, "extra");
    json_object_set_new(j, "power", json_string("10"));
    cr_assert_eq(cli_approval_parse(&b, j, &msg), GZ_EARG);
    cr_assert(strstr(msg.text, "power") != NULL, "%s", msg.text);
    json_decref(j);

    /* A changed field breaks the signature. */
    b = a;
    b.power = 11;
    cr_assert_not(cli_approval_valid(&b));
}

Test(cli_valset, a_key_outside_the_set_cannot_approve) {
    fixture f;
    fixture_make(&f);
    cli_approval a;
    gz_msg msg = {{0}};
    cr_assert_eq(cli_approval_sign(&a, f.sk[N_VALS], "chain-x", f.set, N_VALS, f.newcomer, 10, "n", &msg), GZ_ENOTFOUND);
    uint8_t zero[sizeof a] = {0};
    cr_assert_arr_eq(&a, zero, sizeof a);
}

Test(cli_valset, gather_sorts_drops_repeats_and_builds_what_the_codec_reads) {
    fixture f;
    fixture_make(&f);
    cli_approval a[4];
    approve(&f, &a[0], 3, 10);
    approve(&f, &a[1], 0, 10);
    approve(&f, &a[2], 3, 10);
    approve(&f, &a[3], 1, 10);
    const char *names[] = {"a.json", "b.json", "c.json", "d.json"};
    gz_approval out[GZ_VALIDATORS_MAX];
    size_t n = 0, dropped = 0;
    gz_msg msg = {{0}};
    cr_assert_eq(cli_approvals_gather(out, &n, &dropped, a, names, 4, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(n, 3);
    cr_assert_eq(dropped, 1);
    cr_assert_eq(out[0].validator_index, 0);
    cr_assert_eq(out[1].validator_index, 1);
    cr_assert_eq(out[2].validator_index, 3);

    /* The tx as `tx validator-update` builds it, decoded as a node decodes it. */
    static gz_tx tx, back;
    memset(&tx, 0, sizeof tx);
    gz_buf ap, bytes;
    gz_buf_init(&ap);
    gz_buf_init(&bytes);
    cr_assert_eq(core_approvals_encode(out, n, &ap), GZ_OK);
    tx.type = GZ_TX_VALIDATOR_UPDATE;
    snprintf(tx.chain_id, sizeof tx.chain_id, "chain-x");
    memcpy(tx.p.validator_update.pub_key, f.newcomer, 32);
    tx.p.validator_update.power = 10;
    snprintf(tx.p.validator_update.name, sizeof tx.p.validator_update.name, "newcomer");
    tx.p.validator_update.n_approvals = (uint32_t)n;
    tx.p.validator_update.approvals = ap.data;
    tx.p.validator_update.approvals_len = ap.len;
    cr_assert_eq(core_key_pub(tx.signer, f.sk[0]), GZ_OK);
    cr_assert_eq(core_tx_sign_encode(&tx, f.sk[0], &bytes), GZ_OK);
    cr_assert_eq(core_tx_decode(&back, bytes.data, bytes.len, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(back.p.validator_update.n_approvals, 3);
    uint8_t vh[32], h[32];
    cr_assert_eq(core_validators_hash(vh, f.set, N_VALS), GZ_OK);
    cr_assert_eq(core_valset_approval_hash(h, back.chain_id, vh, back.p.validator_update.pub_key,
                                           back.p.validator_update.power, back.p.validator_update.name), GZ_OK);
    for (uint32_t i = 0; i < 3; i++) {
        gz_approval g;
        cr_assert_eq(core_approvals_get(&back.p.validator_update, i, &g), GZ_OK);
        cr_assert(core_verify(g.sig, h, 32, f.set[g.validator_index].pub_key), "approval %u", i);
    }
    gz_buf_free(&ap);
    gz_buf_free(&bytes);
}

Test(cli_valset, gather_names_the_file_that_differs_or_is_forged) {
    fixture f;
    fixture_make(&f);
    cli_approval a[3];
    approve(&f, &a[0], 0, 10);
    approve(&f, &a[1], 1, 5);
    approve(&f, &a[2], 2, 10);
    const char *names[] = {"a.json", "b.json", "c.json"};
    gz_approval out[GZ_VALIDATORS_MAX];
    size_t n = 9, dropped = 9;
    gz_msg msg = {{0}};
    cr_assert_eq(cli_approvals_gather(out, &n, &dropped, a, names, 3, &msg), GZ_EARG);
    cr_assert_str_eq(msg.text, "b.json: power differs from a.json");
    cr_assert_eq(n, 0);

    approve(&f, &a[1], 1, 10);
    a[2].sig[5] ^= 1;
    cr_assert_eq(cli_approvals_gather(out, &n, &dropped, a, names, 3, &msg), GZ_ESIG);
    cr_assert(strncmp(msg.text, "c.json: bad signature", 21) == 0, "%s", msg.text);

    /* One index claimed by two keys, and one key at two indexes. */
    approve(&f, &a[2], 2, 10);
    a[2].validator_index = 1;
    cr_assert_eq(cli_approvals_gather(out, &n, &dropped, a, names, 3, &msg), GZ_EARG);
    cr_assert(strstr(msg.text, "c.json: validator_index 1 is claimed by another key in b.json") != NULL, "%s", msg.text);
    a[2] = a[1];
    a[2].validator_index = 3;
    cr_assert_eq(cli_approvals_gather(out, &n, &dropped, a, names, 3, &msg), GZ_EARG);
    cr_assert(strstr(msg.text, "already approves at validator_index 1 in b.json") != NULL, "%s", msg.text);
}
