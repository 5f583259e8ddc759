/* BIP-340 Schnorr keys and signatures over secp256k1 (libsecp256k1 schnorrsig).
 * One read-only context is created lazily and shared (thread-safe to use). */
#ifndef GZ_CORE_KEYS_H
#define GZ_CORE_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Derives the 32-byte x-only public key of seckey.
 * Returns GZ_OK, or GZ_EARG (pub zeroed) if seckey is not a valid secret key. */
GZ_WUR int core_key_pub(uint8_t pub[32], const uint8_t seckey[32]);

/* Creates a fresh secret key from the OS random source (getrandom).
 * Returns GZ_OK or GZ_EIO. */
GZ_WUR int core_key_generate(uint8_t seckey[32]);

/* Signs a 32-byte message (BIP-340). aux_rand may be NULL (then all-zero aux,
 * deterministic). Returns GZ_OK or GZ_EARG on an invalid secret key. */
GZ_WUR int core_sign32(uint8_t sig[64], const uint8_t seckey[32], const uint8_t msg[32],
                       const uint8_t aux_rand[32]);

/* Signs a message of any length (BIP-340 with variable-length messages).
 * Returns GZ_OK or GZ_EARG on an invalid secret key (sig zeroed). */
GZ_WUR int core_sign(uint8_t sig[64], const uint8_t seckey[32], const uint8_t *msg, size_t msg_len,
                     const uint8_t aux_rand[32]);

/* Verifies a BIP-340 signature over msg by the x-only key pub. False also when
 * pub is not the x coordinate of a curve point. */
bool core_verify(const uint8_t sig[64], const uint8_t *msg, size_t msg_len, const uint8_t pub[32]);

/* Reads a key file (64 hex chars, optional trailing newline) holding a valid
 * secret key; seckey is zeroed on failure.
 * Returns GZ_OK, GZ_EIO (cannot read) or GZ_EARG (bad content; msg says why). */
GZ_WUR int core_key_load(uint8_t seckey[32], const char *path, gz_msg *msg);
/* Writes a key file (64 lowercase hex chars and a newline) with mode 0600, and
 * fsyncs it. Refuses to overwrite an existing file (GZ_EDUP); GZ_EARG if seckey
 * is not a valid secret key; GZ_EIO on a write failure (no file is left). */
GZ_WUR int core_key_save(const char *path, const uint8_t seckey[32], gz_msg *msg);

#endif
