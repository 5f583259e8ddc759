/* The encrypted transport's cryptography (docs/p2p.md §3-§4), without I/O:
 * ephemeral X25519 keys, the session keys both sides derive from the shared
 * secret and the handshake, and ChaCha20-Poly1305 frames whose nonce is a
 * per-direction counter and whose length prefix is authenticated as AAD.
 * Internal to the p2p module, its tests and the debug-peer tool. */
#ifndef GZ_P2P_P2P_CRYPTO_H
#define GZ_P2P_P2P_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* The Poly1305 tag after every encrypted frame body. */
#define P2P_TAG_BYTES 16u
/* Tag of the tagged hash that derives a direction's session key. */
#define P2P_KEY_TAG "gongzhi/p2p-key"

/* What one side contributed to the handshake. */
typedef struct p2p_side {
    uint8_t pubkey[32];    /* BIP-340 x-only key from HELLO */
    uint8_t challenge[32]; /* HELLO challenge */
    uint8_t eph[32];       /* X25519 public key from HELLO */
} p2p_side;

/* pub = X25519(sk, 9): the public half of an ephemeral secret. GZ_OK or
 * GZ_EMISUSE when libcrypto refuses (it does not for any 32 bytes). */
GZ_WUR int p2p_x25519_pub(uint8_t pub[32], const uint8_t sk[32]);

/* shared = X25519(sk, their_pub). GZ_EPROTO when the result is all zero
 * (their_pub is a low-order point: no secret is shared). */
GZ_WUR int p2p_x25519_shared(uint8_t shared[32], const uint8_t sk[32], const uint8_t their_pub[32]);

/* The key of frames sent by `from` to `to`:
 * TH(P2P_KEY_TAG, shared ‖ from.eph ‖ to.eph ‖ from.challenge ‖ to.challenge
 *                 ‖ from.pubkey ‖ to.pubkey). */
void p2p_session_key(uint8_t key[32], const uint8_t shared[32], const p2p_side *from,
                     const p2p_side *to);

/* The 96-bit nonce of frame number counter: 4 zero bytes, then counter as a
 * big-endian u64. */
void p2p_nonce(uint8_t nonce[12], uint64_t counter);

/* Encrypts body (1..) into a whole wire frame at out, which has room for
 * 4 + body_len + P2P_TAG_BYTES bytes: length u32 = body_len + 16, ciphertext,
 * tag; the length prefix is the AAD. GZ_OK or GZ_ENOMEM. */
GZ_WUR int p2p_seal(uint8_t *out, const uint8_t key[32], uint64_t counter, const uint8_t *body,
                    size_t body_len);

/* Decrypts in place: frame is the 4-byte prefix followed by len bytes of
 * ciphertext and tag (len > P2P_TAG_BYTES). On GZ_OK the plaintext body is at
 * frame + 4, len - P2P_TAG_BYTES bytes. GZ_EVERIFY when the tag does not
 * verify (the buffer then holds garbage: the connection is dropped), GZ_ENOMEM. */
GZ_WUR int p2p_open(uint8_t *frame, size_t len, const uint8_t key[32], uint64_t counter);

/* A frame encrypted piece by piece as the socket drains, so a large frame
 * queued to many peers is never held as many ciphertexts at once. */
typedef struct p2p_sealer {
    void *ctx; /* EVP_CIPHER_CTX */
} p2p_sealer;

GZ_WUR int p2p_sealer_init(p2p_sealer *s);
void p2p_sealer_free(p2p_sealer *s);
/* Starts a frame of body_len bytes: writes its 4-byte length prefix to head
 * and authenticates it. */
GZ_WUR int p2p_sealer_begin(p2p_sealer *s, uint8_t head[4], const uint8_t key[32], uint64_t counter,
                            size_t body_len);
/* Encrypts the next n bytes of the body into out (n bytes). */
GZ_WUR int p2p_sealer_update(p2p_sealer *s, uint8_t *out, const uint8_t *in, size_t n);
/* Ends the frame: its tag. */
GZ_WUR int p2p_sealer_end(p2p_sealer *s, uint8_t tag[P2P_TAG_BYTES]);

#endif
