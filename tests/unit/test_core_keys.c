/* BIP-340 signatures: every row of the official vectors, and key files. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/keys.h"
#include "tests/unit/testutil.h"

/* One CSV row: index,secret key,public key,aux_rand,message,signature,result,comment. */
static void check_bip340_row(char *line) {
    char *f[8];
    for (int i = 0; i < 8; i++) {
        f[i] = strsep(&line, ",");
        cr_assert_not_null(f[i], "row has fewer than 8 fields");
    }
    const char *idx = f[0];
    uint8_t pub[32], sig[64];
    cr_assert_eq(gz_hex_decode(pub, 32, f[2]), GZ_OK, "row %s: public key", idx);
    cr_assert_eq(gz_hex_decode(sig, 64, f[5]), GZ_OK, "row %s: signature", idx);
    gz_buf msg;
    gz_buf_init(&msg);
    cr_assert_eq(gz_hex_decode_buf(&msg, f[4], strlen(f[4])), GZ_OK, "row %s: message", idx);
    bool want = strcmp(f[6], "TRUE") == 0;
    cr_assert(want || strcmp(f[6], "FALSE") == 0, "row %s: result %s", idx, f[6]);

    if (f[1][0] != '\0') {
        uint8_t sk[32], aux[32], got_pub[32], got_sig[64];
        cr_assert_eq(gz_hex_decode(sk, 32, f[1]), GZ_OK, "row %s: secret key", idx);
        cr_assert_eq(gz_hex_decode(aux, 32, f[3]), GZ_OK, "row %s: aux_rand", idx);
        cr_assert_eq(core_key_pub(got_pub, sk), GZ_OK, "row %s", idx);
        cr_assert_arr_eq(got_pub, pub, 32, "row %s: public key differs", idx);
        cr_assert_eq(core_sign(got_sig, sk, msg.data, msg.len, aux), GZ_OK, "row %s", idx);
        cr_assert_arr_eq(got_sig, sig, 64, "row %s: signature differs", idx);
        if (msg.len == 32) {
            cr_assert_eq(core_sign32(got_sig, sk, msg.data, aux), GZ_OK, "row %s", idx);
            cr_assert_arr_eq(got_sig, sig, 64, "row %s: sign32 differs", idx);
        }
    }
    cr_assert_eq(core_verify(sig, msg.data, msg.len, pub), want, "row %s: verify", idx);
    gz_buf_free(&msg);
}

Test(core_keys, bip340_vectors_every_row) {
    char *csv = tu_read_file(GZ_VECTORS_DIR "/bip340-test-vectors.csv", NULL);
    cr_assert_not_null(csv);
    char *rest = csv;
    char *line = strsep(&rest, "\n"); /* header */
    cr_assert(strncmp(line, "index,secret key", 16) == 0);
    int rows = 0;
    while ((line = strsep(&rest, "\n")) != NULL) {
        size_t n = strlen(line);
        if (n > 0 && line[n - 1] == '\r') line[n - 1] = '\0';
        if (line[0] == '\0') continue;
        check_bip340_row(line);
        rows++;
    }
    cr_assert_eq(rows, 19, "expected the 19 rows of the BIP-340 vectors, read %d", rows);
    free(csv);
}

Test(core_keys, invalid_secret_keys_are_refused) {
    uint8_t zero[32] = {0}, pub[32], sig[64], msg[32] = {1};
    uint8_t order[32]; /* the group order n is not a valid key */
    cr_assert_eq(gz_hex_decode(order, 32, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
                 GZ_OK);
    memset(pub, 0xaa, 32);
    cr_assert_eq(core_key_pub(pub, zero), GZ_EARG);
    cr_assert(gz_is_zero32(pub), "pub zeroed on failure");
    cr_assert_eq(core_key_pub(pub, order), GZ_EARG);
    cr_assert_eq(core_sign32(sig, zero, msg, NULL), GZ_EARG);
    cr_assert_eq(core_sign(sig, order, msg, 32, NULL), GZ_EARG);
}

Test(core_keys, generate_sign_verify_and_tamper) {
    uint8_t a[32], b[32], pub[32], sig[64], sig0[64];
    cr_assert_eq(core_key_generate(a), GZ_OK);
    cr_assert_eq(core_key_generate(b), GZ_OK);
    cr_assert(memcmp(a, b, 32) != 0, "two fresh keys differ");
    cr_assert_eq(core_key_pub(pub, a), GZ_OK);
    const uint8_t msg[] = "a message that is not 32 bytes long";
    cr_assert_eq(core_sign(sig, a, msg, sizeof msg, NULL), GZ_OK);
    cr_assert(core_verify(sig, msg, sizeof msg, pub));
    cr_assert_not(core_verify(sig, msg, sizeof msg - 1, pub), "shorter message");
    sig[10] ^= 1;
    cr_assert_not(core_verify(sig, msg, sizeof msg, pub), "flipped signature bit");
    /* NULL aux is the all-zero aux of BIP-340: deterministic. */
    uint8_t zero_aux[32] = {0};
    cr_assert_eq(core_sign32(sig, a, msg, NULL), GZ_OK);
    cr_assert_eq(core_sign32(sig0, a, msg, zero_aux), GZ_OK);
    cr_assert_arr_eq(sig, sig0, 64);
    cr_assert_eq(core_key_pub(pub, b), GZ_OK);
    cr_assert_not(core_verify(sig, msg, 32, pub), "other key");
}

static void *sign_in_thread(void *arg) {
    const uint8_t *sk = arg;
    uint8_t pub[32], sig[64], msg[32] = {7};
    for (int i = 0; i < 20; i++) {
        msg[1] = (uint8_t)i;
        if (core_key_pub(pub, sk) != GZ_OK || core_sign32(sig, sk, msg, NULL) != GZ_OK) return NULL;
        if (!core_verify(sig, msg, 32, pub)) return NULL;
    }
    return arg;
}

Test(core_keys, shared_context_from_many_threads) {
    uint8_t sk[32] = {0};
    sk[31] = 9;
    pthread_t t[4];
    for (int i = 0; i < 4; i++) cr_assert_eq(pthread_create(&t[i], NULL, sign_in_thread, sk), 0);
    for (int i = 0; i < 4; i++) {
        void *res = NULL;
        cr_assert_eq(pthread_join(t[i], &res), 0);
        cr_assert_eq(res, (void *)sk, "thread %d failed to sign or verify", i);
    }
}

static char tmpdir[64];

static void make_tmpdir(void) {
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gz_keys_XXXXXX");
    cr_assert_not_null(mkdtemp(tmpdir));
}

static void remove_tmpdir(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

Test(core_keys, key_file_round_trip_mode_and_no_overwrite, .init = make_tmpdir, .fini = remove_tmpdir) {
    char path[128];
    snprintf(path, sizeof path, "%s/k.key", tmpdir);
    uint8_t sk[32], sk2[32], back[32];
    cr_assert_eq(core_key_generate(sk), GZ_OK);
    gz_msg msg;
    gz_msg_clear(&msg);
    cr_assert_eq(core_key_save(path, sk, &msg), GZ_OK, "%s", msg.text);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    size_t len = 0;
    char *text = tu_read_file(path, &len);
    cr_assert_eq(len, 65);
    char want[65];
    gz_hex_encode(want, sk, 32);
    cr_assert(memcmp(text, want, 64) == 0 && text[64] == '\n', "64 lowercase hex chars and a newline");
    free(text);
    cr_assert_eq(core_key_load(back, path, &msg), GZ_OK, "%s", msg.text);
    cr_assert_arr_eq(back, sk, 32);

    cr_assert_eq(core_key_generate(sk2), GZ_OK);
    cr_assert_eq(core_key_save(path, sk2, &msg), GZ_EDUP);
    cr_assert(strstr(msg.text, "already exists") != NULL, "%s", msg.text);
    cr_assert_eq(core_key_load(back, path, &msg), GZ_OK);
    cr_assert_arr_eq(back, sk, 32, "the first key survives");
}

Test(core_keys, key_file_bad_contents, .init = make_tmpdir, .fini = remove_tmpdir) {
    char path[128];
    snprintf(path, sizeof path, "%s/bad.key", tmpdir);
    static const char *const bad[] = {
        "",
        "00\n",
        "000000000000000000000000000000000000000000000000000000000000000\n",   /* 63 */
        "0000000000000000000000000000000000000000000000000000000000000001 \n", /* space */
        "zz00000000000000000000000000000000000000000000000000000000000001\n",
        "0000000000000000000000000000000000000000000000000000000000000000\n",  /* zero */
        "0000000000000000000000000000000000000000000000000000000000000001\n\n",
    };
    uint8_t sk[32];
    gz_msg msg;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unlink(path);
        write_text(path, bad[i]);
        memset(sk, 0x55, 32);
        cr_assert_eq(core_key_load(sk, path, &msg), GZ_EARG, "case %zu", i);
        cr_assert(gz_is_zero32(sk), "case %zu: key zeroed", i);
        cr_assert(strstr(msg.text, path) != NULL, "message names the file: %s", msg.text);
    }
    unlink(path);
    write_text(path, "0000000000000000000000000000000000000000000000000000000000000001");
    cr_assert_eq(core_key_load(sk, path, &msg), GZ_OK, "no newline is fine: %s", msg.text);
    cr_assert_eq(sk[31], 1);
    snprintf(path, sizeof path, "%s/missing.key", tmpdir);
    cr_assert_eq(core_key_load(sk, path, &msg), GZ_EIO);
}

/* core_verify keeps parsed keys: the answers must be the same on the first
 * use of a key and on later ones, for good and bad signatures alike, and a key
 * that does not parse is never remembered as good. */
Test(core_keys, verify_same_answer_when_key_is_cached) {
    uint8_t seckey[32], pub[32], sig[64], msg[32] = {7}, aux[32] = {0};
    memset(seckey, 0x42, sizeof seckey);
    cr_assert_eq(core_key_pub(pub, seckey), GZ_OK);
    cr_assert_eq(core_sign32(sig, seckey, msg, aux), GZ_OK);
    for (int round = 0; round < 3; round++) {
        cr_assert(core_verify(sig, msg, sizeof msg, pub), "round %d: good signature", round);
        sig[5] ^= 1;
        cr_assert_not(core_verify(sig, msg, sizeof msg, pub), "round %d: bad signature", round);
        sig[5] ^= 1;
    }
    /* x = 0xFF..FF is not a field element: never a valid key, first or later. */
    uint8_t bad[32];
    memset(bad, 0xff, sizeof bad);
    for (int round = 0; round < 3; round++)
        cr_assert_not(core_verify(sig, msg, sizeof msg, bad), "round %d: unparsable key", round);
    cr_assert(core_verify(sig, msg, sizeof msg, pub), "the good key still verifies");
}

/* Many signers, so that some share a cache slot: each signature verifies under
 * its own key and not under its neighbour's, on the first pass (filling the
 * cache) and on the second (reading it). */
Test(core_keys, verify_many_signers_sharing_cache_slots) {
    enum { N = 2000 };
    static uint8_t pubs[N][32], sigs[N][64];
    uint8_t msg[32] = {1, 2, 3};
    for (int i = 0; i < N; i++) {
        uint8_t seckey[32] = {0};
        seckey[0] = 1;
        seckey[30] = (uint8_t)(i >> 8);
        seckey[31] = (uint8_t)i;
        cr_assert_eq(core_key_pub(pubs[i], seckey), GZ_OK);
        cr_assert_eq(core_sign32(sigs[i], seckey, msg, NULL), GZ_OK);
    }
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < N; i++) {
            cr_assert(core_verify(sigs[i], msg, sizeof msg, pubs[i]), "pass %d signer %d", pass, i);
            cr_assert_not(core_verify(sigs[i], msg, sizeof msg, pubs[(i + 1) % N]), "pass %d signer %d under the next key", pass, i);
        }
    }
}
