/* libFuzzer target: Block bytes as a peer sends them (node/chain.h): the
 * block decoder, the header and tx decoders under it, the stateless checks,
 * and for what passes them the validation that executes it against the
 * ledger. The chain (fixed genesis, memory store, height 0) is opened once:
 * nothing is committed, and the candidates are dropped after each input, so
 * every input meets the same chain.
 *
 * Seeds: the block of height 1 of a 4-validator network on the same chain
 * (with a transfer and an anchor), and an empty block the chain builds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/chain.h"
#include "core/mp.h"
#include "node/mempool.h"
#include "storage/store.h"
#include "tests/fuzz/fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gz_genesis G;
static store *ST;
static ledger *LG;
static chain CH;
static mempool MP;

/* A second after the network's first block: inside the allowed drift. */
static uint64_t now_ms(void) { return G.genesis_time + 2000; }

/* The id a signature would stand for: that of the header the bytes carry,
 * when they carry one (else any id: the block is refused either way). */
static void signed_id(const uint8_t *data, size_t size, uint8_t id[32]) {
    mp_rd rd;
    const uint8_t *hdr;
    size_t hdr_len;
    memset(id, 0, 32);
    mp_rd_init(&rd, data, size, NULL);
    if (mp_get_array_n(&rd, "block", 2) == GZ_OK && mp_get_bin(&rd, "block.header", &hdr, &hdr_len, GZ_HEADER_BYTES_MAX) == GZ_OK)
        core_block_id(id, hdr, hdr_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    chain_block *b = NULL;
    gz_msg msg = {{0}};
    uint8_t id[32];
    signed_id(data, size, id);
    if (chain_add_block(&CH, &MP, data, size, id, &b, &msg) == GZ_OK) {
        if (b == NULL || chain_find(&CH, b->block_id) != b) __builtin_trap();
        (void)chain_validate(&CH, b, now_ms());
        (void)chain_validate(&CH, b, CHAIN_CLOCK_ANY);
    }
    chain_clear(&CH);
    return 0;
}

static void write_seeds(const char *dir) {
    static fz_net net;
    if (fz_net_run(&net, &G, 1) != 0 || fz_net_tx_height(&net) != 1) exit(1);
    gz_buf b;
    gz_buf_init(&b);
    if (chain_block_bytes(node_chain(net.nodes[0].eng), 1, &b) != GZ_OK) exit(1);
    if (fz_seed(dir, "block_1_txs", b.data, b.len) != 0) exit(1);
    fz_net_free(&net);
    chain_block *e = NULL;
    if (chain_build(&CH, &MP, now_ms(), G.validators[0].pub_key, &e) != GZ_OK) exit(1);
    if (fz_seed(dir, "block_1_empty", e->bytes.data, e->bytes.len) != 0) exit(1);
    gz_buf_free(&b);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_genesis(&G);
    gz_msg msg = {{0}};
    if (store_open_memory(&ST) != GZ_OK || ledger_open(&LG, ST, &G, &msg) != GZ_OK ||
        chain_open(&CH, ST, LG, &G, &msg) != GZ_OK || mempool_init(&MP, 16, 1u << 20) != GZ_OK) {
        fprintf(stderr, "fuzz: cannot open the chain: %s\n", msg.text);
        exit(1);
    }
    fz_seed_mode(write_seeds);
    return 0;
}
