/* The encrypted transport's test vector (docs/p2p.md §3, "Session keys"), computed with an
 * independent implementation of X25519, the tagged hash and
 * ChaCha20-Poly1305, and what a flipped bit, a replay or a cut does to a
 * sealed frame. */
#include <string.h>

#include <criterion/criterion.h>

#include "core/bytes.h"
#include "core/keys.h"
#include "p2p/p2p_crypto.h"
#include "p2p/p2p_wire.h"


static void eq_hex(const uint8_t *got, size_t n, const char *want) {
    char g[2 * 64 + 1];
    cr_assert_leq(n, 64);
    gz_hex_encode(g, got, n);
    cr_assert_str_eq(g, want);
}

typedef struct vec {
    p2p_side a, b;
    uint8_t ea_sk[32], eb_sk[32];
} vec;

/* Node A: secret key 00..01, challenge 00 01 .. 1f, ephemeral secret 20 21 .. 3f.
 * Node B: secret key 00..02, challenge ee x 32, ephemeral secret 40 41 .. 5f. */
static void vec_init(vec *v) {
    uint8_t ska[32] = {0}, skb[32] = {0};
    memset(v, 0, sizeof *v);
    ska[31] = 1;
    skb[31] = 2;
    cr_assert_eq(core_key_pub(v->a.pubkey, ska), GZ_OK);
    cr_assert_eq(core_key_pub(v->b.pubkey, skb), GZ_OK);
    for (int i = 0; i < 32; i++) {
        v->a.challenge[i] = (uint8_t)i;
        v->b.challenge[i] = 0xee;
        v->ea_sk[i] = (uint8_t)(0x20 + i);
        v->eb_sk[i] = (uint8_t)(0x40 + i);
    }
    cr_assert_eq(p2p_x25519_pub(v->a.eph, v->ea_sk), GZ_OK);
    cr_assert_eq(p2p_x25519_pub(v->b.eph, v->eb_sk), GZ_OK);
}

Test(p2p_crypto, handshake_vector_gives_the_documented_keys_and_frame) {
    vec v;
    vec_init(&v);
    eq_hex(v.a.eph, 32, "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254");
    eq_hex(v.b.eph, 32, "79a631eede1bf9c98f12032cdeadd0e7a079398fc786b88cc846ec89af85a51a");
    uint8_t sa[32], sb[32], kab[32], kba[32], k2[32], d[32];
    cr_assert_eq(p2p_x25519_shared(sa, v.ea_sk, v.b.eph), GZ_OK);
    cr_assert_eq(p2p_x25519_shared(sb, v.eb_sk, v.a.eph), GZ_OK);
    cr_assert_eq(memcmp(sa, sb, 32), 0, "both sides share one secret");
    eq_hex(sa, 32, "04c304fb1ca83cee75e206344231f33797e07d9929db670994b7c6fbeb1dc255");
    p2p_session_key(kab, sa, &v.a, &v.b);
    p2p_session_key(kba, sb, &v.b, &v.a);
    eq_hex(kab, 32, "1183d4f32b67300a4766412d4d8870a26a6688e309a439d3fb4e181c82cf1a72");
    eq_hex(kba, 32, "6e313f7d4d77662ca863142210764cba27d1af942602c1e90ce9c226829745e7");
    p2p_session_key(k2, sb, &v.a, &v.b);
    cr_assert_eq(memcmp(k2, kab, 32), 0, "B derives A's sending key as its receiving key");
    /* A's AUTH answers B's challenge and binds both ephemeral keys. */
    p2p_auth_digest(d, v.b.challenge, v.b.eph, v.a.eph, "gongzhi-devnet", 14, v.a.pubkey);
    eq_hex(d, 32, "24a1d5b6e1a32ef4ebf1266ea25c48a7fe3a6a259a37cfe7c7782b71f5cead43");
    /* STATUS [5] from A to B: frames 0 and 1. */
    static const uint8_t body[] = {0x92, 0x13, 0xc4, 0x02, 0x91, 0x05};
    uint8_t f[4 + sizeof body + 16];
    cr_assert_eq(p2p_seal(f, kab, 0, body, sizeof body), GZ_OK);
    eq_hex(f, sizeof f, "00000016054299fe698539304832ebd0c6fd29ead6b443077a3d");
    cr_assert_eq(p2p_seal(f, kab, 1, body, sizeof body), GZ_OK);
    eq_hex(f, sizeof f, "00000016e3f7aa91060bb14e433a978d45802170bfce8531e913");
    cr_assert_eq(p2p_open(f, sizeof f - 4, kab, 1), GZ_OK);
    cr_assert_eq(memcmp(f + 4, body, sizeof body), 0);
}

Test(p2p_crypto, flipped_bits_replays_and_wrong_keys_fail) {
    uint8_t key[32], frame[4 + 40 + 16], copy[sizeof frame], body[40];
    memset(key, 0x42, sizeof key);
    for (size_t i = 0; i < sizeof body; i++) body[i] = (uint8_t)i;
    cr_assert_eq(p2p_seal(frame, key, 7, body, sizeof body), GZ_OK);
    for (size_t bit = 0; bit < 8 * sizeof frame; bit += 13) {
        memcpy(copy, frame, sizeof frame);
        copy[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        cr_assert_eq(p2p_open(copy, sizeof copy - 4, key, 7), GZ_EVERIFY, "bit %zu", bit);
    }
    memcpy(copy, frame, sizeof frame);
    cr_assert_eq(p2p_open(copy, sizeof copy - 4, key, 8), GZ_EVERIFY, "a replay under the next counter");
    memcpy(copy, frame, sizeof frame);
    cr_assert_eq(p2p_open(copy, sizeof copy - 4 - 1, key, 7), GZ_EVERIFY, "a cut frame");
    memcpy(copy, frame, sizeof frame);
    key[0] ^= 1;
    cr_assert_eq(p2p_open(copy, sizeof copy - 4, key, 7), GZ_EVERIFY, "another key");
    key[0] ^= 1;
    memcpy(copy, frame, sizeof frame); /* a failed open leaves the buffer undefined */
    cr_assert_eq(p2p_open(copy, sizeof copy - 4, key, 7), GZ_OK);
    cr_assert_eq(memcmp(copy + 4, body, sizeof body), 0);
}

Test(p2p_crypto, low_order_ephemeral_key_is_refused) {
    uint8_t sk[32], zero[32] = {0}, one[32] = {1}, out[32];
    memset(sk, 0x33, sizeof sk);
    cr_assert_eq(p2p_x25519_shared(out, sk, zero), GZ_EPROTO);
    cr_assert_eq(p2p_x25519_shared(out, sk, one), GZ_EPROTO);
    cr_assert(gz_is_zero32(out));
}

/* The streamed sealer writes the same bytes as the one-shot one, however the
 * body is cut into pieces. */
Test(p2p_crypto, sealer_in_pieces_matches_one_shot) {
    uint8_t key[32], body[1000], whole[4 + sizeof body + 16], pieces[sizeof whole];
    memset(key, 9, sizeof key);
    for (size_t i = 0; i < sizeof body; i++) body[i] = (uint8_t)(i * 31);
    cr_assert_eq(p2p_seal(whole, key, 3, body, sizeof body), GZ_OK);
    p2p_sealer s;
    cr_assert_eq(p2p_sealer_init(&s), GZ_OK);
    cr_assert_eq(p2p_sealer_begin(&s, pieces, key, 3, sizeof body), GZ_OK);
    size_t at = 0;
    static const size_t cuts[] = {1, 63, 64, 500, 372};
    for (size_t i = 0; i < 5; i++) {
        cr_assert_eq(p2p_sealer_update(&s, pieces + 4 + at, body + at, cuts[i]), GZ_OK);
        at += cuts[i];
    }
    cr_assert_eq(at, sizeof body);
    cr_assert_eq(p2p_sealer_end(&s, pieces + 4 + at), GZ_OK);
    p2p_sealer_free(&s);
    cr_assert_eq(memcmp(whole, pieces, sizeof whole), 0);
}

/* docs/p2p.md §3's HELLO example: node A of the vector on gongzhi-devnet. */
Test(p2p_crypto, hello_frame_of_the_vector_is_the_documented_bytes) {
    vec v;
    vec_init(&v);
    p2p_hello h;
    memset(&h, 0, sizeof h);
    h.version = P2P_VERSION;
    strcpy(h.chain_id, "gongzhi-devnet");
    memcpy(h.pubkey, v.a.pubkey, 32);
    memcpy(h.challenge, v.a.challenge, 32);
    memcpy(h.eph, v.a.eph, 32);
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(p2p_hello_encode(&b, &h), GZ_OK);
    uint8_t head[P2P_FRAME_HEAD_MAX];
    size_t hl = p2p_frame_head(head, P2P_MSG_HELLO, b.len);
    char got[2 * 160 + 1];
    gz_hex_encode(got, head, hl);
    gz_hex_encode(got + 2 * hl, b.data, b.len);
    cr_assert_str_eq(got, "0000007b" "9201c477" "9502ae676f6e677a68692d6465766e6574"
                          "c42079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
                          "c420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
                          "c420358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254");
    gz_buf_free(&b);
}
