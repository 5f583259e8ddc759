/* libFuzzer target: every decoder of outside bytes in core, on the same input.
 * A decoder must return an error code for bad bytes, never crash, and never
 * touch memory past the input; what it accepts must re-encode to the same
 * bytes (the codec is canonical), which is checked here too. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/bytes.h"
#include "core/codec.h"
#include "core/mp.h"
#include "core/mp_any.h"

/* Asserts that an accepted structure re-encodes to exactly the input. */
static void same_bytes(int rc, const gz_buf *b, const uint8_t *data, size_t size) {
    assert(rc == GZ_OK);
    assert(b->len == size);
    assert(memcmp(b->data, data, size) == 0);
}

static void fuzz_tx(const uint8_t *data, size_t size, gz_buf *b) {
    static gz_tx tx;
    gz_msg msg;
    if (core_tx_decode(&tx, data, size, &msg) == GZ_OK) {
        gz_buf_reset(b);
        same_bytes(core_tx_encode(&tx, b), b, data, size);
        (void)core_tx_check(&tx, "gongzhi-devnet", &msg);
    }
}

static void fuzz_blocks(const uint8_t *data, size_t size, gz_buf *b) {
    static gz_header h;
    static gz_vote v;
    static gz_proposal p;
    static gz_commit c;
    static gz_anchor_leaf l;
    gz_msg msg;
    if (core_header_decode(&h, data, size, &msg) == GZ_OK) {
        gz_buf_reset(b);
        same_bytes(core_header_encode(&h, b), b, data, size);
    }
    if (core_vote_decode(&v, data, size, &msg) == GZ_OK) {
        gz_buf_reset(b);
        same_bytes(core_vote_encode(&v, b), b, data, size);
    }
    if (core_proposal_decode(&p, data, size, &msg) == GZ_OK) {
        gz_buf_reset(b);
        same_bytes(core_proposal_encode(&p, b), b, data, size);
    }
    if (core_commit_decode(&c, data, size, &msg) == GZ_OK) {
        gz_buf_reset(b);
        same_bytes(core_commit_encode(&c, b), b, data, size);
    }
    if (core_anchor_leaf_decode(&l, data, size, &msg) == GZ_OK) {
        gz_buf_reset(b);
        same_bytes(core_anchor_leaf_encode(&l, b), b, data, size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static mp_any nodes[4096];
    gz_buf b;
    gz_buf_init(&b);
    fuzz_tx(data, size, &b);
    fuzz_blocks(data, size, &b);
    gz_msg msg;
    (void)mp_check_canonical(data, size, &msg);
    size_t n = 0;
    (void)mp_any_decode(nodes, sizeof nodes / sizeof nodes[0], &n, data, size, &msg);
    gz_buf_free(&b);
    return 0;
}
