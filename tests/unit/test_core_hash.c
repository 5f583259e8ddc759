/* SHA-256 and tagged hashes against independently computed values. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/bytes.h"
#include <string.h>

#include "core/bytes.h"
#include "core/hash.h"

static void expect_hex(const uint8_t got[32], const char *want_hex) {
    char hex[65];
    gz_hex_encode(hex, got, 32);
    cr_assert_str_eq(hex, want_hex);
}

Test(core_hash, sha256_known_values) {
    uint8_t out[32];
    core_sha256(out, "", 0);
    expect_hex(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    core_sha256(out, "abc", 3);
    expect_hex(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    core_sha256(out, two_blocks, strlen(two_blocks));
    expect_hex(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

Test(core_hash, incremental_equals_one_shot_at_every_split) {
    uint8_t data[200];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7 + 3);
    uint8_t want[32];
    core_sha256(want, data, sizeof data);
    for (size_t split = 0; split <= sizeof data; split++) {
        core_sha256_ctx ctx;
        core_sha256_init(&ctx);
        core_sha256_update(&ctx, data, split);
        core_sha256_update(&ctx, data + split, sizeof data - split);
        uint8_t got[32];
        core_sha256_final(&ctx, got);
        cr_assert_arr_eq(got, want, 32, "split at %zu", split);
    }
}

Test(core_hash, tagged_hash_matches_definition) {
    uint8_t out[32];
    /* Values computed outside this code base: SHA256(SHA256(tag)||SHA256(tag)||m). */
    core_tagged_hash(out, GZ_TAG_TX, "abc", 3);
    expect_hex(out, "6e41622f9f229e6e329277da8935773dbf8f8fd990536c63d6a6b8d80d2ffa73");
    core_tagged_hash(out, GZ_TAG_VOTE, NULL, 0);
    expect_hex(out, "9b2b84dd898621f9944445b5bdf9be24bfc2508c0cd47f5e94a961e4a3fb0b93");
}

Test(core_hash, tags_separate_domains) {
    uint8_t a[32], b[32];
    core_tagged_hash(a, GZ_TAG_TX, "x", 1);
    core_tagged_hash(b, GZ_TAG_BLOCK, "x", 1);
    cr_assert(memcmp(a, b, 32) != 0);
    core_sha256(b, "x", 1);
    cr_assert(memcmp(a, b, 32) != 0);
}

Test(hash, file_hash_matches_memory_hash_and_reports_missing_files) {
    char path[] = "/tmp/gz-hash-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    static uint8_t data[200000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)(i * 7);
    cr_assert_eq(write(fd, data, sizeof data), (ssize_t)sizeof data);
    close(fd);
    uint8_t a[32], b[32];
    cr_assert_eq(core_sha256_file(a, path), GZ_OK);
    core_sha256(b, data, sizeof data);
    cr_assert_arr_eq(a, b, 32, "a file spanning several read chunks hashes like the same bytes");
    unlink(path);
    cr_assert_eq(core_sha256_file(a, path), GZ_EIO);
    cr_assert(gz_is_zero32(a));
}
