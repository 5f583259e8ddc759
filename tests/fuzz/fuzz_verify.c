/* libFuzzer target: the offline verifier's proof files (verify/verify.h),
 * which come from anyone: the SPEC §5 anchor bundle, the tx proof and the
 * log proof. The first byte picks the reader (0, 1, 2 modulo 3), the rest is
 * the JSON text. What reads must write back as JSON that reads to the same
 * file, and is then verified against the fixed chain's genesis, which runs
 * the header, commit, leaf and tx decoders and the Merkle checks on it.
 *
 * Seeds: files for heights 1 and 2 of a 4-validator network on the same
 * chain (a tx proof that verifies, a log proof, an anchor bundle for the
 * anchor tx's artifact). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/merkle.h"
#include "node/chain.h"
#include "tests/fuzz/fixture.h"
#include "verify/verify.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { KIND_ANCHOR = 0, KIND_TX = 1, KIND_LOG = 2 };

static gz_genesis G;
static verify_anchor_bundle AB, AB2;
static verify_tx_proof TP, TP2;
static verify_log_proof LP, LP2;

/* Reads j as kind into the first struct, writes it back into *out. */
static int read_kind(int kind, const json_t *j, bool second, json_t **out, gz_msg *msg) {
    int rc;
    if (kind == KIND_ANCHOR) {
        verify_anchor_bundle *b = second ? &AB2 : &AB;
        verify_anchor_bundle_init(b);
        rc = verify_anchor_bundle_from_json(b, j, msg);
        if (rc == GZ_OK && verify_anchor_bundle_to_json(b, out) != GZ_OK) abort();
    } else if (kind == KIND_TX) {
        verify_tx_proof *t = second ? &TP2 : &TP;
        verify_tx_proof_init(t);
        rc = verify_tx_proof_from_json(t, j, msg);
        if (rc == GZ_OK && verify_tx_proof_to_json(t, out) != GZ_OK) abort();
    } else {
        verify_log_proof *l = second ? &LP2 : &LP;
        verify_log_proof_init(l);
        rc = verify_log_proof_from_json(l, j, msg);
        if (rc == GZ_OK && verify_log_proof_to_json(l, out) != GZ_OK) abort();
    }
    return rc;
}

static void free_all(void) {
    verify_anchor_bundle_free(&AB);
    verify_anchor_bundle_free(&AB2);
    verify_tx_proof_free(&TP);
    verify_tx_proof_free(&TP2);
    verify_log_proof_free(&LP);
    verify_log_proof_free(&LP2);
}

static void verify_kind(int kind) {
    verify_report r;
    verify_report_init(&r);
    static const uint8_t sha[32];
    if (kind == KIND_ANCHOR) verify_anchor(&r, &G, &AB, sha);
    else if (kind == KIND_TX) verify_tx(&r, &G, &TP);
    else verify_log(&r, &G, &LP);
    verify_report_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int kind = data[0] % 3;
    json_t *j = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, NULL);
    if (j == NULL) return 0;
    gz_msg msg;
    json_t *out = NULL, *out2 = NULL;
    if (read_kind(kind, j, false, &out, &msg) == GZ_OK) {
        if (read_kind(kind, out, true, &out2, &msg) != GZ_OK) {
            fprintf(stderr, "a written proof file does not read back: %s\n", msg.text);
            __builtin_trap();
        }
        if (!json_equal(out, out2)) __builtin_trap();
        verify_kind(kind);
    }
    json_decref(out);
    json_decref(out2);
    json_decref(j);
    free_all();
    return 0;
}

/* ---- seeds ---------------------------------------------------------------- */

static void signed_header(chain *c, uint64_t h, verify_signed_header *out, chain_stored *s) {
    out->height = h;
    if (chain_stored_load(c, h, s) != GZ_OK || gz_buf_append(&out->header, s->hdr, s->hdr_len) != GZ_OK ||
        chain_commit_bytes(c, h, &out->commit) != GZ_OK)
        exit(1);
}

static void write_json(const char *dir, const char *name, int kind, json_t *j) {
    char *text = json_dumps(j, JSON_INDENT(1));
    gz_buf b;
    gz_buf_init(&b);
    uint8_t k = (uint8_t)kind;
    if (text == NULL || gz_buf_append(&b, &k, 1) != GZ_OK || gz_buf_append(&b, text, strlen(text)) != GZ_OK ||
        fz_seed(dir, name, b.data, b.len) != 0)
        exit(1);
    free(text);
    gz_buf_free(&b);
    json_decref(j);
}

static void seed_tx(const char *dir, chain *c, chain_stored *s1) {
    json_t *j = NULL;
    verify_tx_proof_init(&TP);
    signed_header(c, 1, &TP.block, s1);
    uint8_t (*leaves)[32] = calloc(s1->n_txs ? s1->n_txs : 1, 32);
    for (size_t i = 0; i < s1->n_txs; i++) core_merkle_leaf_hash(leaves[i], s1->txids[i], 32);
    memcpy(TP.txid, s1->txids[0], 32);
    if (s1->n_txs == 0 || gz_buf_append(&TP.tx, s1->tx[0], s1->tx_len[0]) != GZ_OK ||
        core_merkle_inclusion_proof(TP.proof.path, &TP.proof.path_len, (const uint8_t (*)[32])leaves, s1->n_txs,
                                    0) != GZ_OK)
        exit(1);
    TP.proof.tree_size = s1->n_txs;
    TP.n_validators = G.n_validators;
    memcpy(TP.validators, G.validators, sizeof G.validators[0] * G.n_validators);
    free(leaves);
    if (verify_tx_proof_to_json(&TP, &j) != GZ_OK) exit(1);
    write_json(dir, "tx_proof_height_1", KIND_TX, j);
    verify_tx_proof_free(&TP);
}

static void seed_log_anchor(const char *dir, chain *c) {
    chain_stored s1 = {0}, s2 = {0};
    json_t *j = NULL;
    verify_log_proof_init(&LP);
    signed_header(c, 1, &LP.first, &s1);
    signed_header(c, 2, &LP.second, &s2);
    LP.n_validators = G.n_validators;
    memcpy(LP.validators, G.validators, sizeof G.validators[0] * G.n_validators);
    if (verify_log_proof_to_json(&LP, &j) != GZ_OK) exit(1);
    write_json(dir, "log_proof_heights_1_2", KIND_LOG, j);
    verify_log_proof_free(&LP);
    verify_anchor_bundle_init(&AB);
    chain_stored_free(&s1);
    signed_header(c, 1, &AB.block, &s1);
    memset(AB.artifact, 0x11, 32);
    gz_anchor_leaf leaf = {.kind = 1, .height = 1, .time = G.genesis_time + 1000};
    memcpy(leaf.artifact, AB.artifact, 32);
    snprintf(leaf.work_id, sizeof leaf.work_id, "work-0");
    if (core_anchor_leaf_encode(&leaf, &AB.leaf) != GZ_OK) exit(1);
    AB.proof.tree_size = 1;
    AB.n_validators = G.n_validators;
    memcpy(AB.validators, G.validators, sizeof G.validators[0] * G.n_validators);
    if (verify_anchor_bundle_to_json(&AB, &j) != GZ_OK) exit(1);
    write_json(dir, "anchor_bundle_height_1", KIND_ANCHOR, j);
    verify_anchor_bundle_free(&AB);
    chain_stored_free(&s1);
    chain_stored_free(&s2);
}

static void write_seeds(const char *dir) {
    static fz_net net;
    if (fz_net_run(&net, &G, 2) != 0) exit(1);
    chain *c = node_chain(net.nodes[0].eng);
    chain_stored s1 = {0};
    seed_tx(dir, c, &s1);
    chain_stored_free(&s1);
    seed_log_anchor(dir, c);
    fz_net_free(&net);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_genesis(&G);
    fz_seed_mode(write_seeds);
    return 0;
}
