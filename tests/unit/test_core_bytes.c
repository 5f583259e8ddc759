/* core/bytes.h: the big-endian helpers against fixed byte strings, so that a
 * swapped shift or a lost byte shows up here rather than in a stored key. */
#include <criterion/criterion.h>
#include <string.h>

#include "core/bytes.h"

static const uint8_t BYTES[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};

Test(core_bytes, put_be_writes_the_most_significant_byte_first) {
    uint8_t out[8];
    memset(out, 0xee, sizeof out);
    gz_put_u16be(out, 0x0123u);
    cr_assert_arr_eq(out, BYTES, 2);
    cr_assert_eq(out[2], 0xee, "u16 wrote past its 2 bytes");
    memset(out, 0xee, sizeof out);
    gz_put_u32be(out, 0x01234567u);
    cr_assert_arr_eq(out, BYTES, 4);
    cr_assert_eq(out[4], 0xee, "u32 wrote past its 4 bytes");
    gz_put_u64be(out, 0x0123456789abcdefull);
    cr_assert_arr_eq(out, BYTES, 8);
}

Test(core_bytes, get_be_reads_the_most_significant_byte_first) {
    cr_assert_eq(gz_get_u16be(BYTES), 0x0123u);
    cr_assert_eq(gz_get_u32be(BYTES), 0x01234567u);
    cr_assert_eq(gz_get_u64be(BYTES), 0x0123456789abcdefull);
    /* High bits set in every byte: no sign extension, no lost top byte. */
    static const uint8_t ff[8] = {0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8};
    cr_assert_eq(gz_get_u16be(ff), 0xfffeu);
    cr_assert_eq(gz_get_u32be(ff), 0xfffefdfcu);
    cr_assert_eq(gz_get_u64be(ff), 0xfffefdfcfbfaf9f8ull);
}

Test(core_bytes, be_round_trips_at_the_edges) {
    static const uint64_t values[] = {0, 1, 0xff, 0x100, 0xffffffffull, 0x100000000ull, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint8_t b[8];
        gz_put_u64be(b, values[i]);
        cr_assert_eq(gz_get_u64be(b), values[i], "u64 %zu", i);
        gz_put_u32be(b, (uint32_t)values[i]);
        cr_assert_eq(gz_get_u32be(b), (uint32_t)values[i], "u32 %zu", i);
        gz_put_u16be(b, (uint16_t)values[i]);
        cr_assert_eq(gz_get_u16be(b), (uint16_t)values[i], "u16 %zu", i);
    }
}
