/* The JSON field reader: every type, range and shape failure names the full
 * path of the field, and outputs are zeroed when the read fails. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "core/json.h"

static json_t *parse(const char *text) {
    json_error_t e;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
    cr_assert_not_null(j, "test JSON: %s", e.text);
    return j;
}

static void expect_msg(int rc, int want_rc, const gz_msg *msg, const char *want) {
    cr_assert_eq(rc, want_rc, "rc %d, want %d (%s)", rc, want_rc, msg->text);
    cr_assert_str_eq(msg->text, want);
}

Test(core_json, paths_join_keys_and_indexes) {
    char p[CORE_JSON_PATH_MAX];
    core_json_path(p, "", "chain_id");
    cr_assert_str_eq(p, "chain_id");
    core_json_path(p, "policy.votes", "trust_delta");
    cr_assert_str_eq(p, "policy.votes.trust_delta");
    core_json_path_index(p, "validators", 3);
    cr_assert_str_eq(p, "validators[3]");
    char long_key[400];
    memset(long_key, 'k', sizeof long_key - 1);
    long_key[sizeof long_key - 1] = '\0';
    core_json_path(p, "a", long_key);
    cr_assert_eq(strlen(p), CORE_JSON_PATH_MAX - 1, "cut, not overrun");
}

Test(core_json, u64_type_range_and_missing) {
    json_t *j = parse("{\"ms\": 1000, \"neg\": -1, \"f\": 1.0, \"s\": \"5\", \"n\": null, \"big\": 9223372036854775807}");
    gz_msg msg;
    uint64_t v = 7;
    cr_assert_eq(core_json_u64(j, "consensus", "ms", 1, 60000, &v, &msg), GZ_OK);
    cr_assert_eq(v, 1000);
    cr_assert_eq(core_json_u64(j, "", "big", 0, UINT64_MAX, &v, &msg), GZ_OK);
    cr_assert_eq(v, (uint64_t)INT64_MAX);
    v = 7;
    expect_msg(core_json_u64(j, "consensus", "ms", 1, 999, &v, &msg), GZ_EARG, &msg,
               "consensus.ms: expected an integer in 1..999, found 1000");
    cr_assert_eq(v, 0, "zeroed on failure");
    expect_msg(core_json_u64(j, "", "neg", 0, UINT64_MAX, &v, &msg), GZ_EARG, &msg,
               "neg: expected a non-negative integer");
    expect_msg(core_json_u64(j, "", "f", 0, UINT64_MAX, &v, &msg), GZ_EARG, &msg,
               "f: expected a non-negative integer");
    expect_msg(core_json_u64(j, "", "s", 0, 10, &v, &msg), GZ_EARG, &msg,
               "s: expected an integer in 0..10");
    expect_msg(core_json_u64(j, "", "n", 0, UINT64_MAX, &v, &msg), GZ_EARG, &msg,
               "n: expected a non-negative integer");
    expect_msg(core_json_u64(j, "config", "gone", 0, 10, &v, &msg), GZ_EARG, &msg,
               "config.gone: missing (expected an integer in 0..10)");
    expect_msg(core_json_u64(NULL, "params.height", NULL, 0, UINT64_MAX, &v, &msg), GZ_EARG, &msg,
               "params.height: missing (expected a non-negative integer)");
    /* A NULL msg is allowed: the code alone. */
    cr_assert_eq(core_json_u64(j, "", "neg", 0, UINT64_MAX, &v, NULL), GZ_EARG);
    json_decref(j);
}

Test(core_json, i64_and_bool) {
    json_t *j = parse("{\"d\": -5, \"t\": true, \"z\": 0}");
    gz_msg msg;
    int64_t i = 3;
    cr_assert_eq(core_json_i64(j, "", "d", INT64_MIN, INT64_MAX, &i, &msg), GZ_OK);
    cr_assert_eq(i, -5);
    expect_msg(core_json_i64(j, "p", "d", -4, 4, &i, &msg), GZ_EARG, &msg,
               "p.d: expected an integer in -4..4, found -5");
    cr_assert_eq(i, 0);
    expect_msg(core_json_i64(j, "p", "t", INT64_MIN, INT64_MAX, &i, &msg), GZ_EARG, &msg,
               "p.t: expected an integer");
    bool b = false;
    cr_assert_eq(core_json_bool(j, "", "t", &b, &msg), GZ_OK);
    cr_assert(b);
    expect_msg(core_json_bool(j, "", "z", &b, &msg), GZ_EARG, &msg, "z: expected true or false");
    cr_assert(!b, "zeroed on failure");
    expect_msg(core_json_bool(j, "", "x", &b, &msg), GZ_EARG, &msg, "x: missing (expected true or false)");
    json_decref(j);
}

Test(core_json, strings_bounded_and_without_nul) {
    json_t *j = parse("{\"name\": \"abc\", \"empty\": \"\", \"num\": 5}");
    json_object_set_new(j, "nul", json_stringn("a\0b", 3));
    gz_msg msg;
    char out[4];
    cr_assert_eq(core_json_str(j, "", "name", 0, 3, out, &msg), GZ_OK);
    cr_assert_str_eq(out, "abc");
    expect_msg(core_json_str(j, "validators[0]", "name", 0, 2, out, &msg), GZ_EARG, &msg,
               "validators[0].name: expected a string of at most 2 bytes, found 3 bytes");
    cr_assert_str_eq(out, "", "emptied on failure");
    expect_msg(core_json_str(j, "", "num", 0, 3, out, &msg), GZ_EARG, &msg,
               "num: expected a string of at most 3 bytes");
    expect_msg(core_json_str(j, "", "nul", 0, 3, out, &msg), GZ_EARG, &msg, "nul: contains a NUL character");
    const char *s = "x";
    expect_msg(core_json_str_view(j, "config", "empty", 1, 9, &s, &msg), GZ_EARG, &msg,
               "config.empty: expected a string of 1..9 bytes, found 0 bytes");
    cr_assert_null(s);
    expect_msg(core_json_str_view(j, "", "num", 0, SIZE_MAX, &s, &msg), GZ_EARG, &msg, "num: expected a string");
    cr_assert_eq(core_json_str_view(j, "", "name", 3, 3, &s, &msg), GZ_OK);
    cr_assert_eq(s, json_string_value(json_object_get(j, "name")), "borrowed, not copied");
    expect_msg(core_json_str_view(j, "", "no", 3, 3, &s, &msg), GZ_EARG, &msg,
               "no: missing (expected a string of 3 bytes)");
    json_decref(j);
}

Test(core_json, hex_fixed_and_buf) {
    json_t *j = parse("{\"k\": \"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\","
                      " \"short\": \"abcd\", \"bad\": \"zz\", \"odd\": \"001\", \"n\": 1, \"e\": \"\"}");
    gz_msg msg;
    uint8_t k[32];
    cr_assert_eq(core_json_hex_fixed(j, "", "k", k, 32, &msg), GZ_OK);
    cr_assert_eq(k[10], 0xaa);
    cr_assert_eq(k[31], 0xff);
    expect_msg(core_json_hex_fixed(j, "validators[2]", "short", k, 32, &msg), GZ_EARG, &msg,
               "validators[2].short: expected 64 hex chars");
    cr_assert_eq(k[31], 0, "zeroed on failure");
    uint8_t one[1];
    expect_msg(core_json_hex_fixed(j, "", "bad", one, 1, &msg), GZ_EARG, &msg, "bad: expected 2 hex chars");
    expect_msg(core_json_hex_fixed(j, "", "gone", one, 1, &msg), GZ_EARG, &msg, "gone: missing (expected 2 hex chars)");
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(core_json_hex_buf(j, "", "short", 0, 2, &b, &msg), GZ_OK);
    cr_assert_eq(b.len, 2);
    cr_assert_eq(b.data[0], 0xab);
    cr_assert_eq(core_json_hex_buf(j, "", "short", 0, 2, &b, &msg), GZ_OK);
    cr_assert_eq(b.len, 2, "emptied first, not appended to");
    expect_msg(core_json_hex_buf(j, "params", "short", 0, 1, &b, &msg), GZ_EARG, &msg,
               "params.short: expected at most 1 bytes (2 hex chars)");
    cr_assert_eq(b.len, 0, "left empty on failure");
    expect_msg(core_json_hex_buf(j, "", "e", 1, 8, &b, &msg), GZ_EARG, &msg,
               "e: expected 1..8 bytes (2..16 hex chars)");
    expect_msg(core_json_hex_buf(j, "", "odd", 0, 8, &b, &msg), GZ_EARG, &msg,
               "odd: expected an even number of hex chars");
    expect_msg(core_json_hex_buf(j, "", "bad", 0, 8, &b, &msg), GZ_EARG, &msg, "bad: expected hex chars only");
    expect_msg(core_json_hex_buf(j, "", "n", 0, 8, &b, &msg), GZ_EARG, &msg, "n: expected a hex string");
    expect_msg(core_json_hex_buf(j, "", "x", 0, 8, &b, &msg), GZ_EARG, &msg, "x: missing (expected a hex string)");
    gz_buf_free(&b);
    json_decref(j);
}

Test(core_json, objects_reject_unknown_keys_naming_the_nested_path) {
    json_t *j = parse("{\"policy\": {\"votes\": {\"quorum\": 1, \"colour\": 2}}, \"list\": [1]}");
    static const char *const policy_keys[] = {"votes", NULL};
    static const char *const vote_keys[] = {"quorum", NULL};
    gz_msg msg;
    const json_t *policy = NULL, *votes = (const json_t *)1;
    cr_assert_eq(core_json_object(j, "", "policy", policy_keys, &policy, &msg), GZ_OK);
    expect_msg(core_json_object(policy, "policy", "votes", vote_keys, &votes, &msg), GZ_EARG, &msg,
               "policy.votes.colour: unknown key");
    cr_assert_null(votes, "NULL on failure");
    cr_assert_eq(core_json_object(policy, "policy", "votes", NULL, &votes, &msg), GZ_OK, "keys NULL: any");
    cr_assert_eq(json_integer_value(json_object_get(votes, "colour")), 2);
    expect_msg(core_json_object(j, "", "list", NULL, &votes, &msg), GZ_EARG, &msg, "list: expected an object");
    expect_msg(core_json_object(policy, "policy", "dao", NULL, &votes, &msg), GZ_EARG, &msg,
               "policy.dao: missing (expected an object)");
    static const char *const top_keys[] = {"list", NULL};
    expect_msg(core_json_object(j, "", NULL, top_keys, &votes, &msg), GZ_EARG, &msg, "policy: unknown key");
    expect_msg(core_json_object(j, "config", NULL, top_keys, &votes, &msg), GZ_EARG, &msg,
               "config.policy: unknown key");
    json_t *arr = json_array();
    expect_msg(core_json_object(arr, "", NULL, NULL, &votes, &msg), GZ_EARG, &msg,
               "top level: expected an object");
    json_decref(arr);
    json_decref(j);
}

Test(core_json, arrays_bounded_and_elements_named) {
    json_t *j = parse("{\"vals\": [{\"power\": 1}, {\"power\": \"2\"}], \"o\": {}}");
    gz_msg msg;
    const json_t *a = NULL;
    size_t n = 9;
    cr_assert_eq(core_json_array(j, "", "vals", 1, 128, &a, &n, &msg), GZ_OK);
    cr_assert_eq(n, 2);
    uint64_t power = 0;
    char p[CORE_JSON_PATH_MAX];
    core_json_path_index(p, "vals", 0);
    cr_assert_eq(core_json_u64(json_array_get(a, 0), p, "power", 1, UINT64_MAX, &power, &msg), GZ_OK);
    core_json_path_index(p, "vals", 1);
    expect_msg(core_json_u64(json_array_get(a, 1), p, "power", 0, UINT64_MAX, &power, &msg), GZ_EARG, &msg,
               "vals[1].power: expected a non-negative integer");
    expect_msg(core_json_array(j, "", "vals", 0, 1, &a, &n, &msg), GZ_EARG, &msg,
               "vals: expected an array of at most 1 entries, found 2");
    cr_assert_null(a);
    cr_assert_eq(n, 0);
    expect_msg(core_json_array(j, "", "vals", 3, 3, &a, &n, &msg), GZ_EARG, &msg,
               "vals: expected an array of 3 entries, found 2");
    expect_msg(core_json_array(j, "", "o", 1, 128, &a, &n, &msg), GZ_EARG, &msg,
               "o: expected an array of 1..128 entries");
    expect_msg(core_json_array(j, "", "o", 0, SIZE_MAX, &a, &n, &msg), GZ_EARG, &msg, "o: expected an array");
    expect_msg(core_json_array(j, "x", "y", 1, SIZE_MAX, &a, &n, &msg), GZ_EARG, &msg,
               "x.y: missing (expected an array of at least 1 entries)");
    json_decref(j);
}
