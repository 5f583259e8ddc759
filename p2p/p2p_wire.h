/* The bytes of the peer-to-peer protocol (docs/p2p.md), without any I/O:
 * frame headers, frame bodies, and the HELLO and AUTH handshake messages.
 * Internal to the p2p module and its tests. */
#ifndef GZ_P2P_P2P_WIRE_H
#define GZ_P2P_P2P_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/err.h"
#include "core/limits.h"
#include "p2p/p2p.h"

/* The length prefix in front of every frame body. */
#define P2P_LEN_BYTES 4u
/* Room for the length prefix and the body bytes in front of a payload. */
#define P2P_FRAME_HEAD_MAX (P2P_LEN_BYTES + P2P_FRAME_OVERHEAD_MAX)
/* The longest HELLO payload: array(1), version uint (<= 9), chain id as str
 * (head <= 2), pubkey, challenge and ephemeral key as bin32 (2 + 32 each). */
#define P2P_HELLO_BYTES_MAX (1u + 9u + 2u + GZ_CHAIN_ID_MAX + 3u * (2u + 32u))
/* The AUTH payload: array(1) and a bin64 signature (2 + 64). */
#define P2P_AUTH_BYTES_MAX (1u + 2u + 64u)

_Static_assert(P2P_FRAME_OVERHEAD_MAX + P2P_HELLO_BYTES_MAX <= GZ_HANDSHAKE_FRAME_BYTES_MAX,
               "a HELLO frame body fits the bound on frames before the handshake");
_Static_assert(P2P_FRAME_OVERHEAD_MAX + P2P_AUTH_BYTES_MAX <= GZ_HANDSHAKE_FRAME_BYTES_MAX,
               "an AUTH frame body fits the bound on frames before the handshake");

/* A decoded HELLO. */
typedef struct p2p_hello {
    uint64_t version;
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    uint8_t pubkey[32];
    uint8_t challenge[32];
    uint8_t eph[32]; /* X25519 public key for this connection */
} p2p_hello;

/* Writes the length prefix and the body up to the payload for a frame of
 * type carrying payload_len bytes (<= P2P_PAYLOAD_BYTES_MAX) into out and
 * returns how many bytes it wrote; the payload follows them on the wire. */
size_t p2p_frame_head(uint8_t out[P2P_FRAME_HEAD_MAX], uint8_t type, size_t payload_len);

/* Reads the big-endian length prefix. */
uint32_t p2p_frame_len(const uint8_t in[P2P_LEN_BYTES]);

/* Decodes a frame body [type uint, payload bin]: canonical, no trailing bytes,
 * type <= 255. *payload borrows from body. Returns GZ_OK or GZ_EENCODING with
 * msg; out-params zeroed on failure. */
GZ_WUR int p2p_body_decode(const uint8_t *body, size_t len, uint8_t *type,
                           const uint8_t **payload, size_t *payload_len, gz_msg *msg);

/* Appends the HELLO payload [version, chain_id, pubkey, challenge, eph] to out.
 * Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int p2p_hello_encode(gz_buf *out, const p2p_hello *h);

/* Decodes a HELLO payload. A version other than P2P_VERSION is reported as
 * GZ_EPROTO before the rest is read, so later versions may change the layout.
 * Returns GZ_OK, GZ_EENCODING or GZ_EPROTO with msg; *h zeroed on failure. */
GZ_WUR int p2p_hello_decode(p2p_hello *h, const uint8_t *p, size_t len, gz_msg *msg);

/* Appends the AUTH payload [sig] to out. Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int p2p_auth_encode(gz_buf *out, const uint8_t sig[64]);

/* Decodes an AUTH payload. Returns GZ_OK or GZ_EENCODING with msg (sig zeroed). */
GZ_WUR int p2p_auth_decode(uint8_t sig[64], const uint8_t *p, size_t len, gz_msg *msg);

/* out = TH(P2P_AUTH_TAG, their_challenge ‖ their_eph ‖ own_eph ‖ chain_id ‖
 * own_pubkey): what the owner of own_pubkey signs to answer the other side's
 * challenge, binding both ephemeral keys of the exchange to its key. */
void p2p_auth_digest(uint8_t out[32], const uint8_t their_challenge[32],
                     const uint8_t their_eph[32], const uint8_t own_eph[32], const char *chain_id,
                     size_t chain_id_len, const uint8_t own_pubkey[32]);

#endif
