#include "p2p/p2p_wire.h"

#include <assert.h>
#include <msgpack.h>
#include <string.h>

#include "core/hash.h"
#include "core/mp.h"

uint32_t p2p_frame_len(const uint8_t in[P2P_LEN_BYTES]) { return gz_get_u32be(in); }

/* msgpack-c writes the body's head straight into the caller's array, not
 * through mp_put_bin into a gz_buf, so the payload is copied once, after it.
 * The head is at most P2P_FRAME_OVERHEAD_MAX bytes, so the sink never fills. */
typedef struct head_sink {
    uint8_t *p;
    size_t n;
} head_sink;

static int head_write(void *data, const char *buf, size_t len) {
    head_sink *s = data;
    assert(len <= P2P_FRAME_HEAD_MAX - s->n);
    memcpy(s->p + s->n, buf, len);
    s->n += len;
    return 0;
}

size_t p2p_frame_head(uint8_t out[P2P_FRAME_HEAD_MAX], uint8_t type, size_t payload_len) {
    assert(payload_len <= P2P_PAYLOAD_BYTES_MAX);
    head_sink sink = {out, P2P_LEN_BYTES};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sink, head_write);
    /* The shortest forms, as mp.h writes them: [type uint, payload bin]. */
    int rc = msgpack_pack_array(&pk, 2);
    if (rc == 0) rc = msgpack_pack_uint8(&pk, type);
    if (rc == 0) rc = msgpack_pack_bin(&pk, payload_len);
    assert(rc == 0);
    size_t body_len = sink.n - P2P_LEN_BYTES + payload_len;
    assert(body_len <= GZ_FRAME_BYTES_MAX);
    gz_put_u32be(out, (uint32_t)body_len);
    return sink.n;
}

int p2p_body_decode(const uint8_t *body, size_t len, uint8_t *type, const uint8_t **payload,
                    size_t *payload_len, gz_msg *msg) {
    mp_rd rd;
    uint64_t t = 0;
    mp_rd_init(&rd, body, len, msg);
    *type = 0;
    *payload = NULL;
    *payload_len = 0;
    int rc = mp_get_array_n(&rd, "frame", 2);
    if (rc == GZ_OK) rc = mp_get_uint(&rd, "frame.type", &t);
    if (rc == GZ_OK && t > 0xff) rc = gz_fail(msg, GZ_EENCODING, "frame.type: %llu is over 255",
                                              (unsigned long long)t);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "frame.payload", payload, payload_len, len);
    if (rc == GZ_OK) rc = mp_rd_end_field(&rd, "frame");
    if (rc != GZ_OK) {
        *payload = NULL;
        *payload_len = 0;
        return rc;
    }
    *type = (uint8_t)t;
    return GZ_OK;
}

int p2p_hello_encode(gz_buf *out, const p2p_hello *h) {
    size_t chain_len = strlen(h->chain_id);
    int rc = mp_put_array(out, 5);
    if (rc == GZ_OK) rc = mp_put_uint(out, h->version);
    if (rc == GZ_OK) rc = mp_put_str(out, h->chain_id, chain_len);
    if (rc == GZ_OK) rc = mp_put_bin(out, h->pubkey, 32);
    if (rc == GZ_OK) rc = mp_put_bin(out, h->challenge, 32);
    if (rc == GZ_OK) rc = mp_put_bin(out, h->eph, 32);
    return rc;
}

int p2p_hello_decode(p2p_hello *h, const uint8_t *p, size_t len, gz_msg *msg) {
    mp_rd rd;
    uint32_t n = 0;
    memset(h, 0, sizeof *h);
    mp_rd_init(&rd, p, len, msg);
    int rc = mp_get_array(&rd, "hello", &n, 1, 16);
    if (rc == GZ_OK) rc = mp_get_uint(&rd, "hello.version", &h->version);
    if (rc == GZ_OK && h->version != P2P_VERSION)
        rc = gz_fail(msg, GZ_EPROTO, "hello.version: %llu is not supported (this node speaks %d)",
                     (unsigned long long)h->version, P2P_VERSION);
    if (rc == GZ_OK && n != 5)
        rc = gz_fail(msg, GZ_EENCODING, "hello: array of %u elements, expected 5", (unsigned)n);
    if (rc == GZ_OK) rc = mp_get_str(&rd, "hello.chain_id", h->chain_id, GZ_CHAIN_ID_MAX);
    if (rc == GZ_OK) rc = mp_get_bin_fixed(&rd, "hello.pubkey", h->pubkey, 32);
    if (rc == GZ_OK) rc = mp_get_bin_fixed(&rd, "hello.challenge", h->challenge, 32);
    if (rc == GZ_OK) rc = mp_get_bin_fixed(&rd, "hello.eph", h->eph, 32);
    if (rc == GZ_OK) rc = mp_rd_end_field(&rd, "hello");
    if (rc != GZ_OK) memset(h, 0, sizeof *h);
    return rc;
}

int p2p_auth_encode(gz_buf *out, const uint8_t sig[64]) {
    int rc = mp_put_array(out, 1);
    if (rc == GZ_OK) rc = mp_put_bin(out, sig, 64);
    return rc;
}

int p2p_auth_decode(uint8_t sig[64], const uint8_t *p, size_t len, gz_msg *msg) {
    mp_rd rd;
    mp_rd_init(&rd, p, len, msg);
    int rc = mp_get_array_n(&rd, "auth", 1);
    if (rc == GZ_OK) rc = mp_get_bin_fixed(&rd, "auth.sig", sig, 64);
    if (rc == GZ_OK) rc = mp_rd_end_field(&rd, "auth");
    if (rc != GZ_OK) memset(sig, 0, 64);
    return rc;
}

void p2p_auth_digest(uint8_t out[32], const uint8_t their_challenge[32],
                     const uint8_t their_eph[32], const uint8_t own_eph[32], const char *chain_id,
                     size_t chain_id_len, const uint8_t own_pubkey[32]) {
    uint8_t m[3 * 32 + GZ_CHAIN_ID_MAX + 32];
    assert(chain_id_len <= GZ_CHAIN_ID_MAX);
    memcpy(m, their_challenge, 32);
    memcpy(m + 32, their_eph, 32);
    memcpy(m + 64, own_eph, 32);
    memcpy(m + 96, chain_id, chain_id_len);
    memcpy(m + 96 + chain_id_len, own_pubkey, 32);
    core_tagged_hash(out, P2P_AUTH_TAG, m, 128 + chain_id_len);
}
