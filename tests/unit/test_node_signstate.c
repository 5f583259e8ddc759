/* Double-sign protection: the last signed (height, round, step) and hash. */
#include <criterion/criterion.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/testutil.h"
#include "node/signstate.h"

static char dir[64];
static char path[128];

static void setup(void) {
    tu_tmpdir_make(dir, sizeof dir, "test-signstate");
    snprintf(path, sizeof path, "%s/signstate", dir);
}

static void teardown(void) { tu_tmpdir_remove(dir); }

TestSuite(node_signstate, .init = setup, .fini = teardown);

static void hash_of(uint8_t out[32], uint8_t v) { memset(out, v, 32); }

static node_signstate open_ok(void) {
    node_signstate s;
    gz_msg msg = {{0}};
    cr_assert_eq(node_signstate_open(&s, path, &msg), GZ_OK, "%s", msg.text);
    return s;
}

static int sign(node_signstate *s, uint64_t h, uint64_t r, uint8_t step, uint8_t hv) {
    uint8_t hash[32];
    hash_of(hash, hv);
    return node_signstate_check_and_persist(s, h, r, step, hash);
}

Test(node_signstate, fresh_state_allows_anything) {
    node_signstate s = open_ok();
    cr_assert_not(s.have);
    cr_assert_eq(access(path, F_OK), -1, "open does not create the file");
    cr_assert_eq(sign(&s, 3, 2, NODE_STEP_PREVOTE, 0xaa), GZ_OK);
    cr_assert(s.have);
    cr_assert_eq(s.height, 3);
    cr_assert_eq(s.round, 2);
    cr_assert_eq(s.step, NODE_STEP_PREVOTE);
    node_signstate_free(&s);
}

Test(node_signstate, refuses_lower) {
    node_signstate s = open_ok();
    cr_assert_eq(sign(&s, 5, 1, NODE_STEP_PREVOTE, 1), GZ_OK);
    cr_assert_eq(sign(&s, 5, 1, NODE_STEP_PROPOSAL, 1), GZ_ECONFLICT, "lower step");
    cr_assert_eq(sign(&s, 5, 0, NODE_STEP_PRECOMMIT, 1), GZ_ECONFLICT, "lower round");
    cr_assert_eq(sign(&s, 4, 9, NODE_STEP_PRECOMMIT, 1), GZ_ECONFLICT, "lower height");
    cr_assert_eq(s.height, 5);
    cr_assert_eq(s.round, 1);
    cr_assert_eq(s.step, NODE_STEP_PREVOTE);
    node_signstate_free(&s);
}

Test(node_signstate, same_hrs_needs_same_hash) {
    node_signstate s = open_ok();
    cr_assert_eq(sign(&s, 5, 1, NODE_STEP_PRECOMMIT, 7), GZ_OK);
    cr_assert_eq(sign(&s, 5, 1, NODE_STEP_PRECOMMIT, 8), GZ_ECONFLICT);
    cr_assert_eq(sign(&s, 5, 1, NODE_STEP_PRECOMMIT, 7), GZ_OK, "re-sending the same vote");
    uint8_t h7[32];
    hash_of(h7, 7);
    cr_assert(memcmp(s.sighash, h7, 32) == 0);
    node_signstate_free(&s);
}

Test(node_signstate, allows_higher) {
    node_signstate s = open_ok();
    cr_assert_eq(sign(&s, 5, 0, NODE_STEP_PROPOSAL, 1), GZ_OK);
    cr_assert_eq(sign(&s, 5, 0, NODE_STEP_PREVOTE, 2), GZ_OK);
    cr_assert_eq(sign(&s, 5, 0, NODE_STEP_PRECOMMIT, 3), GZ_OK);
    cr_assert_eq(sign(&s, 5, 1, NODE_STEP_PROPOSAL, 4), GZ_OK);
    cr_assert_eq(sign(&s, 6, 0, NODE_STEP_PREVOTE, 5), GZ_OK);
    cr_assert_eq(sign(&s, UINT64_MAX, UINT64_MAX, NODE_STEP_PRECOMMIT, 6), GZ_OK);
    node_signstate_free(&s);
}

Test(node_signstate, bad_step_is_refused) {
    node_signstate s = open_ok();
    cr_assert_eq(sign(&s, 1, 0, 0, 1), GZ_EMISUSE);
    cr_assert_eq(sign(&s, 1, 0, 4, 1), GZ_EMISUSE);
    cr_assert_not(s.have);
    node_signstate_free(&s);
}

Test(node_signstate, survives_reopen) {
    node_signstate s = open_ok();
    cr_assert_eq(sign(&s, 0x0102030405060708ull, 9, NODE_STEP_PREVOTE, 0x33), GZ_OK);
    node_signstate_free(&s);

    /* The file is the documented record, integers big-endian. */
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    uint8_t rec[NODE_SIGNSTATE_FILE_BYTES + 1];
    cr_assert_eq(fread(rec, 1, sizeof rec, f), NODE_SIGNSTATE_FILE_BYTES);
    fclose(f);
    cr_assert(memcmp(rec, "GZSS", 4) == 0);
    cr_assert_eq(rec[5], NODE_STEP_PREVOTE);
    cr_assert_eq(rec[8], 0x01);
    cr_assert_eq(rec[15], 0x08);
    cr_assert_eq(rec[23], 9);

    s = open_ok();
    cr_assert(s.have);
    cr_assert_eq(s.height, 0x0102030405060708ull);
    cr_assert_eq(s.round, 9);
    cr_assert_eq(s.step, NODE_STEP_PREVOTE);
    cr_assert_eq(sign(&s, 0x0102030405060708ull, 9, NODE_STEP_PREVOTE, 0x34), GZ_ECONFLICT);
    cr_assert_eq(sign(&s, 0x0102030405060708ull, 8, NODE_STEP_PRECOMMIT, 0x33), GZ_ECONFLICT);
    cr_assert_eq(sign(&s, 0x0102030405060708ull, 9, NODE_STEP_PREVOTE, 0x33), GZ_OK);
    cr_assert_eq(sign(&s, 0x0102030405060708ull, 9, NODE_STEP_PRECOMMIT, 0x35), GZ_OK);
    node_signstate_free(&s);
    s = open_ok();
    cr_assert_eq(s.step, NODE_STEP_PRECOMMIT);
    node_signstate_free(&s);
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    cr_assert_eq(st.st_size, NODE_SIGNSTATE_FILE_BYTES, "one record, overwritten in place");
}

static void write_file(const uint8_t *p, size_t n) {
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(p, 1, n, f), n);
    cr_assert_eq(fclose(f), 0);
}

Test(node_signstate, corrupt_file_is_an_error) {
    node_signstate s = open_ok();
    cr_assert_eq(sign(&s, 10, 2, NODE_STEP_PRECOMMIT, 0x77), GZ_OK);
    node_signstate_free(&s);
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    uint8_t good[NODE_SIGNSTATE_FILE_BYTES];
    cr_assert_eq(fread(good, 1, sizeof good, f), sizeof good);
    fclose(f);

    /* Every single flipped byte is caught, and the file is left as it was. */
    for (size_t i = 0; i < sizeof good; i++) {
        uint8_t bad[NODE_SIGNSTATE_FILE_BYTES];
        memcpy(bad, good, sizeof bad);
        bad[i] ^= 0x01;
        write_file(bad, sizeof bad);
        gz_msg msg = {{0}};
        cr_assert_eq(node_signstate_open(&s, path, &msg), GZ_ECORRUPT, "byte %zu", i);
        cr_assert_null(s.path);
        cr_assert_not(s.have);
        cr_assert(strstr(msg.text, "signstate") != NULL, "%s", msg.text);
        uint8_t after[NODE_SIGNSTATE_FILE_BYTES];
        f = fopen(path, "rb");
        cr_assert_eq(fread(after, 1, sizeof after, f), sizeof after);
        fclose(f);
        cr_assert(memcmp(after, bad, sizeof bad) == 0, "never silently reset");
    }
    gz_msg msg = {{0}};
    write_file(good, sizeof good - 1);
    cr_assert_eq(node_signstate_open(&s, path, &msg), GZ_ECORRUPT, "truncated");
    write_file(good, 0);
    cr_assert_eq(node_signstate_open(&s, path, &msg), GZ_ECORRUPT, "empty");
    uint8_t longer[NODE_SIGNSTATE_FILE_BYTES + 1] = {0};
    memcpy(longer, good, sizeof good);
    write_file(longer, sizeof longer);
    cr_assert_eq(node_signstate_open(&s, path, &msg), GZ_ECORRUPT, "too long");
    write_file(good, sizeof good);
    s = open_ok();
    cr_assert_eq(s.height, 10);
    node_signstate_free(&s);
}

Test(node_signstate, failed_persist_does_not_allow_signing) {
    char bad[160];
    snprintf(bad, sizeof bad, "%s/missing-dir/signstate", dir);
    node_signstate s;
    cr_assert_eq(node_signstate_open(&s, bad, NULL), GZ_OK);
    cr_assert_eq(sign(&s, 1, 0, NODE_STEP_PREVOTE, 1), GZ_EIO);
    cr_assert_not(s.have, "nothing recorded that is not on disk");
    node_signstate_free(&s);
}
