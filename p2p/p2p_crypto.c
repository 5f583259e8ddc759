#include "p2p/p2p_crypto.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/bytes.h"
#include "core/hash.h"

int p2p_x25519_pub(uint8_t pub[32], const uint8_t sk[32]) {
    EVP_PKEY *k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk, 32);
    size_t n = 32;
    int ok = k != NULL && EVP_PKEY_get_raw_public_key(k, pub, &n) == 1 && n == 32;
    EVP_PKEY_free(k);
    return ok ? GZ_OK : GZ_EMISUSE;
}

int p2p_x25519_shared(uint8_t shared[32], const uint8_t sk[32], const uint8_t their_pub[32]) {
    EVP_PKEY *mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, sk, 32);
    EVP_PKEY *theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, their_pub, 32);
    EVP_PKEY_CTX *ctx = mine != NULL ? EVP_PKEY_CTX_new(mine, NULL) : NULL;
    size_t n = 32;
    /* libcrypto itself refuses an all-zero result, so a low-order point fails
     * here; the explicit check below keeps that true whatever the version. */
    int ok = ctx != NULL && theirs != NULL && EVP_PKEY_derive_init(ctx) == 1 &&
             EVP_PKEY_derive_set_peer(ctx, theirs) == 1 && EVP_PKEY_derive(ctx, shared, &n) == 1 &&
             n == 32;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(theirs);
    EVP_PKEY_free(mine);
    if (ok && gz_is_zero32(shared)) ok = 0;
    if (!ok) memset(shared, 0, 32);
    return ok ? GZ_OK : GZ_EPROTO;
}

void p2p_session_key(uint8_t key[32], const uint8_t shared[32], const p2p_side *from,
                     const p2p_side *to) {
    uint8_t m[7 * 32];
    memcpy(m, shared, 32);
    memcpy(m + 32, from->eph, 32);
    memcpy(m + 64, to->eph, 32);
    memcpy(m + 96, from->challenge, 32);
    memcpy(m + 128, to->challenge, 32);
    memcpy(m + 160, from->pubkey, 32);
    memcpy(m + 192, to->pubkey, 32);
    core_tagged_hash(key, P2P_KEY_TAG, m, sizeof m);
    explicit_bzero(m, sizeof m);
}

void p2p_nonce(uint8_t nonce[12], uint64_t counter) {
    memset(nonce, 0, 4);
    for (int i = 0; i < 8; i++) nonce[4 + i] = (uint8_t)(counter >> (56 - 8 * i));
}

static void put_len(uint8_t out[4], size_t body_len) {
    gz_put_u32be(out, (uint32_t)(body_len + P2P_TAG_BYTES));
}

int p2p_sealer_init(p2p_sealer *s) {
    s->ctx = EVP_CIPHER_CTX_new();
    return s->ctx != NULL ? GZ_OK : GZ_ENOMEM;
}

void p2p_sealer_free(p2p_sealer *s) {
    EVP_CIPHER_CTX_free(s->ctx);
    s->ctx = NULL;
}

int p2p_sealer_begin(p2p_sealer *s, uint8_t head[4], const uint8_t key[32], uint64_t counter,
                     size_t body_len) {
    uint8_t nonce[12];
    int n = 0;
    assert(body_len <= UINT32_MAX - P2P_TAG_BYTES);
    p2p_nonce(nonce, counter);
    put_len(head, body_len);
    if (EVP_EncryptInit_ex(s->ctx, EVP_chacha20_poly1305(), NULL, key, nonce) != 1 ||
        EVP_EncryptUpdate(s->ctx, NULL, &n, head, 4) != 1)
        return GZ_ENOMEM;
    return GZ_OK;
}

int p2p_sealer_update(p2p_sealer *s, uint8_t *out, const uint8_t *in, size_t n) {
    int got = 0;
    assert(n <= INT_MAX);
    if (EVP_EncryptUpdate(s->ctx, out, &got, in, (int)n) != 1 || (size_t)got != n) return GZ_ENOMEM;
    return GZ_OK;
}

int p2p_sealer_end(p2p_sealer *s, uint8_t tag[P2P_TAG_BYTES]) {
    int n = 0;
    uint8_t none[16];
    if (EVP_EncryptFinal_ex(s->ctx, none, &n) != 1 ||
        EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, P2P_TAG_BYTES, tag) != 1)
        return GZ_ENOMEM;
    return GZ_OK;
}

int p2p_seal(uint8_t *out, const uint8_t key[32], uint64_t counter, const uint8_t *body,
             size_t body_len) {
    p2p_sealer s;
    int rc = p2p_sealer_init(&s);
    if (rc == GZ_OK) rc = p2p_sealer_begin(&s, out, key, counter, body_len);
    if (rc == GZ_OK) rc = p2p_sealer_update(&s, out + 4, body, body_len);
    if (rc == GZ_OK) rc = p2p_sealer_end(&s, out + 4 + body_len);
    p2p_sealer_free(&s);
    return rc;
}

int p2p_open(uint8_t *frame, size_t len, const uint8_t key[32], uint64_t counter) {
    uint8_t nonce[12];
    int n = 0;
    assert(len > P2P_TAG_BYTES && len - P2P_TAG_BYTES <= INT_MAX);
    size_t ct = len - P2P_TAG_BYTES;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL) return GZ_ENOMEM;
    p2p_nonce(nonce, counter);
    int ok = EVP_DecryptInit_ex(ctx, EVP_chacha20_poly1305(), NULL, key, nonce) == 1 &&
             EVP_DecryptUpdate(ctx, NULL, &n, frame, 4) == 1 &&
             EVP_DecryptUpdate(ctx, frame + 4, &n, frame + 4, (int)ct) == 1 &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, P2P_TAG_BYTES, frame + 4 + ct) == 1;
    if (ok) {
        uint8_t none[16];
        ok = EVP_DecryptFinal_ex(ctx, none, &n) == 1;
    }
    EVP_CIPHER_CTX_free(ctx);
    return ok ? GZ_OK : GZ_EVERIFY;
}
