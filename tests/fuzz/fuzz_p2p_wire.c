/* libFuzzer target: the bytes a peer sends before and after the handshake
 * (p2p/p2p_wire.h), read as the transport reads its stream: a length prefix,
 * a frame body [type, payload], and for HELLO and AUTH frames their payload
 * decoders. The first two frames are bounded as handshake frames are. What
 * decodes must re-encode to the same bytes (the wire form is canonical).
 *
 * Kept thin on purpose: the handshake is the part of p2p that changes, and
 * this target only calls the decoders of p2p_wire.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/p2p_wire.h"
#include "tests/fuzz/fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const gz_buf *b, const uint8_t *p, size_t len) {
    if (b->len != len || memcmp(b->data, p, len) != 0) __builtin_trap();
}

static void payload_check(uint8_t type, const uint8_t *p, size_t len) {
    gz_msg msg;
    gz_buf b;
    gz_buf_init(&b);
    if (type == P2P_MSG_HELLO) {
        p2p_hello h;
        if (p2p_hello_decode(&h, p, len, &msg) == GZ_OK) {
            if (p2p_hello_encode(&b, &h) != GZ_OK) abort();
            same(&b, p, len);
        }
    } else if (type == P2P_MSG_AUTH) {
        uint8_t sig[64];
        if (p2p_auth_decode(sig, p, len, &msg) == GZ_OK) {
            if (p2p_auth_encode(&b, sig) != GZ_OK) abort();
            same(&b, p, len);
        }
    }
    gz_buf_free(&b);
}

/* One frame body: it decodes to [type, payload] and its head re-encodes. */
static void body_check(const uint8_t *body, size_t len) {
    uint8_t type;
    const uint8_t *payload;
    size_t payload_len;
    gz_msg msg;
    if (p2p_body_decode(body, len, &type, &payload, &payload_len, &msg) != GZ_OK) return;
    if (payload < body || payload + payload_len != body + len) __builtin_trap();
    uint8_t head[P2P_FRAME_HEAD_MAX];
    size_t n = p2p_frame_head(head, type, payload_len);
    if (p2p_frame_len(head) != len || memcmp(head + P2P_LEN_BYTES, body, n - P2P_LEN_BYTES) != 0)
        __builtin_trap();
    payload_check(type, payload, payload_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t off = 0;
    for (unsigned frame = 0; size - off >= P2P_LEN_BYTES; frame++) {
        uint32_t len = p2p_frame_len(data + off);
        off += P2P_LEN_BYTES;
        uint32_t max = frame < 2 ? GZ_HANDSHAKE_FRAME_BYTES_MAX : GZ_FRAME_BYTES_MAX;
        if (len > max || len > size - off) break; /* the transport closes here */
        body_check(data + off, len);
        off += len;
    }
    return 0;
}

static void put_frame(gz_buf *out, uint8_t type, const gz_buf *payload) {
    uint8_t head[P2P_FRAME_HEAD_MAX];
    size_t n = p2p_frame_head(head, type, payload->len);
    if (gz_buf_append(out, head, n) != GZ_OK || gz_buf_append(out, payload->data, payload->len) != GZ_OK)
        abort();
}

/* HELLO, AUTH, then application frames, as one side of a connection. */
static void write_seeds(const char *dir) {
    static gz_genesis g;
    fz_genesis(&g);
    p2p_hello h = {.version = P2P_VERSION};
    snprintf(h.chain_id, sizeof h.chain_id, "%s", g.chain_id);
    memcpy(h.pubkey, g.validators[0].pub_key, 32);
    memset(h.challenge, 0x5a, 32);
    uint8_t sig[64];
    memset(sig, 0xa5, sizeof sig);
    gz_buf hello, auth, app, stream;
    gz_buf_init(&hello);
    gz_buf_init(&auth);
    gz_buf_init(&app);
    gz_buf_init(&stream);
    if (p2p_hello_encode(&hello, &h) != GZ_OK || p2p_auth_encode(&auth, sig) != GZ_OK) abort();
    if (gz_buf_append(&app, "\x91\x01", 2) != GZ_OK) abort();
    put_frame(&stream, P2P_MSG_HELLO, &hello);
    if (fz_seed(dir, "hello", stream.data, stream.len) != 0) exit(1);
    put_frame(&stream, P2P_MSG_AUTH, &auth);
    if (fz_seed(dir, "hello_auth", stream.data, stream.len) != 0) exit(1);
    put_frame(&stream, 19, &app);
    put_frame(&stream, 20, &app);
    if (fz_seed(dir, "hello_auth_app", stream.data, stream.len) != 0) exit(1);
    gz_buf_free(&hello);
    gz_buf_free(&auth);
    gz_buf_free(&app);
    gz_buf_free(&stream);
    ledger_genesis_free(&g);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_seed_mode(write_seeds);
    return 0;
}
