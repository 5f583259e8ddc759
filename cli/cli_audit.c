/* `gongzhi audit proposal ID`: recomputes a proposal's tally from the chain's
 * blocks and compares it with what the node reports.
 *
 * The walk fetches every block from height 1 (or, with --from-creation, from
 * the proposal's creating block) to the block that closed the proposal (or
 * the chain's tip while it is open), checks each block whole against the
 * validator set trusted at its height (verify_block; the set is genesis',
 * changed only by the links of the valset_chain the node's `commit` at the
 * tip returns, each checked as it is reached), fetches every tx of it, checks the
 * tx bytes hash to the block's txids, checks the inclusion proof and commit of
 * each tx of the proposal as `verify-tx` does, and feeds every tx with the
 * node's result to the replay of verify/verify.h. Cost: one `block` call per
 * height and one `tx` call per tx, sent in JSON-RPC batches; docs/auditing.md
 * discusses it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hash.h"
#include "cli/cli.h"
#include "cli/cli_verify.h"
#include "rpc/rpc.h"

/* Calls per JSON-RPC batch: blocks (each up to a few MiB of txids at worst)
 * and txs (each up to 32 KiB of hex), keeping a response well under the
 * client's response limit. */
#define AUDIT_BLOCK_BATCH 16u
#define AUDIT_TX_BATCH 64u
/* Attempts at reading the proposal and the tip at one height. */
#define AUDIT_SNAPSHOT_TRIES 50

typedef struct audit_args {
    const char *id_hex, *genesis, *rpc, *claim_path;
    bool from_creation;
} audit_args;

/* What the walk needs besides the replay. */
typedef struct walk {
    const audit_args *args;
    const gz_genesis *g;
    verify_audit *audit;
    verify_report *r;
    bool have_prev;
    uint8_t prev_id[32];
    verify_valset_chain chain;  /* the set changes below the tip */
    verify_valset_walker sets;  /* the set trusted at the block being checked */
    uint64_t first, last;     /* heights walked */
    uint64_t txs, proofs;     /* txs fetched; proofs of the proposal's txs checked */
} walk;

/* ---- JSON-RPC batches -------------------------------------------------------------- */

/* Calls method once per params[i] (references stolen) in one batch; results[i]
 * receive new references. Returns GZ_OK, or an error with msg set. */
static int rpc_batch(const char *url, const char *method, json_t **params, size_t n, json_t **results, gz_msg *msg) {
    json_t *req = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(req, json_pack("{s:s, s:I, s:s, s:o}", "jsonrpc", "2.0", "id", (json_int_t)i, "method",
                                             method, "params", params[i]));
        results[i] = NULL;
    }
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    if (body == NULL) return gz_fail(msg, GZ_ENOMEM, "out of memory");
    gz_buf resp = {0};
    int status = 0;
    int rc = rpc_client_post_raw(url, body, strlen(body), &status, &resp, msg);
    free(body);
    json_t *arr = NULL;
    if (rc == GZ_OK && status != 200) rc = gz_fail(msg, GZ_EPROTO, "%s: HTTP status %d", method, status);
    if (rc == GZ_OK) arr = json_loadb((const char *)resp.data, resp.len, 0, NULL);
    gz_buf_free(&resp);
    if (rc == GZ_OK && !json_is_array(arr)) rc = gz_fail(msg, GZ_EPROTO, "%s: the batch reply is not an array", method);
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) {
        json_t *id = json_object_get(e, "id");
        size_t k = json_is_integer(id) ? (size_t)json_integer_value(id) : n;
        if (rc != GZ_OK || k >= n) continue;
        json_t *res = json_object_get(e, "result");
        if (res == NULL) {
            const char *m = json_string_value(json_object_get(json_object_get(e, "error"), "message"));
            rc = gz_fail(msg, GZ_EARG, "%s: %s", method, m ? m : "error without a message");
        } else {
            results[k] = json_incref(res);
        }
    }
    json_decref(arr);
    for (size_t k = 0; rc == GZ_OK && k < n; k++)
        if (results[k] == NULL) rc = gz_fail(msg, GZ_EPROTO, "%s: the batch reply misses call %zu", method, k);
    if (rc != GZ_OK) {
        for (size_t k = 0; k < n; k++) json_decref(results[k]);
        memset(results, 0, n * sizeof results[0]);
    }
    return rc;
}

/* ---- one tx ---------------------------------------------------------------------------- */

/* Checks a tx of the proposal as `verify-tx` would, from the node's `tx`
 * result and its block's header and commit. */
static void check_tx_proof(walk *w, const json_t *res, const json_t *block, const char *txid_hex) {
    json_t *j = json_pack("{s:s, s:O, s:O, s:O, s:O, s:O, s:[]}", "txid", txid_hex, "tx", json_object_get(res, "tx"),
                          "height", json_object_get(res, "height"), "proof", json_object_get(res, "proof"), "header",
                          json_object_get(json_object_get(block, "header"), "hex"), "commit",
                          json_object_get(block, "commit"), "validators");
    static verify_tx_proof t;
    verify_tx_proof_init(&t);
    gz_msg msg = {{0}};
    /* The set trusted at this height stands in for the file's validators:
     * the block's header was already checked against it. */
    const verify_valset *set = &w->sets.set;
    for (uint32_t i = 0; j != NULL && i < set->n; i++) {
        char pk[65];
        gz_hex_encode(pk, set->vals[i].pub_key, 32);
        json_array_append_new(json_object_get(j, "validators"),
                              json_pack("{s:s, s:s, s:I}", "name", set->vals[i].name, "pub_key", pk, "power",
                                        (json_int_t)set->vals[i].power));
    }
    if (j == NULL || verify_tx_proof_from_json(&t, j, &msg) != GZ_OK) {
        verify_report_fail(w->r, "tx proof", "tx %s: the node's proof is malformed: %s", txid_hex, msg.text);
    } else {
        verify_report side;
        verify_report_init(&side);
        verify_tx_with_set(&side, w->g, set, &t);
        for (size_t i = 0; i < side.n; i++)
            if (!side.checks[i].ok) verify_report_fail(w->r, "tx proof", "tx %s: %s: %s", txid_hex, side.checks[i].name, side.checks[i].text);
        if (!verify_report_passed(&side) && side.n_failed == 0) verify_report_fail(w->r, "tx proof", "tx %s: out of memory", txid_hex);
        w->proofs += verify_report_passed(&side);
        verify_report_free(&side);
    }
    verify_tx_proof_free(&t);
    json_decref(j);
}

/* Records a failed "block" check (the node served something its block does
 * not commit to) and returns GZ_EVERIFY. */
static int block_fail(walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int block_fail(walk *w, const char *fmt, ...) {
    char text[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    verify_report_fail(w->r, "block", "%s", text);
    return GZ_EVERIFY;
}

/* Decodes the tx bytes of the node's `tx` result and checks they hash to the
 * txid the verified block lists and pass the stateless checks. */
static int tx_bytes(walk *w, const json_t *res, const uint8_t txid[32], gz_tx *tx) {
    const char *hex = json_string_value(json_object_get(res, "tx"));
    gz_buf b = {0};
    gz_msg msg = {{0}};
    int rc = hex != NULL && strlen(hex) <= 2 * GZ_TX_BYTES_MAX ? gz_hex_decode_buf(&b, hex, strlen(hex)) : GZ_EARG;
    if (rc == GZ_OK) rc = core_tx_decode(tx, b.data, b.len, &msg);
    gz_buf_free(&b);
    char id[65];
    gz_hex_encode(id, txid, 32);
    if (rc != GZ_OK) return block_fail(w, "tx %s: the node's tx bytes do not decode: %s", id, msg.text);
    if (memcmp(tx->txid, txid, 32) != 0) return block_fail(w, "tx %s: the node's tx bytes hash to another txid", id);
    if (core_tx_check(tx, w->g->chain_id, &msg) != GZ_OK) return block_fail(w, "tx %s: %s", id, msg.text);
    return GZ_OK;
}

static int one_tx(walk *w, const json_t *res, const json_t *block, const uint8_t txid[32], uint32_t index) {
    static gz_tx tx;
    if (tx_bytes(w, res, txid, &tx) != GZ_OK) return GZ_EVERIFY;
    const json_t *code = json_object_get(res, "code");
    const json_t *events = json_object_get(res, "events");
    if (!json_is_integer(code) || !json_is_array(events)) {
        return block_fail(w, "tx at %llu#%u: the node's result has no code or events", (unsigned long long)w->last,
                          index);
    }
    if (verify_audit_concerns(w->audit, &tx)) {
        char id[65];
        gz_hex_encode(id, txid, 32);
        check_tx_proof(w, res, block, id);
    }
    w->txs++;
    return verify_audit_tx(w->audit, w->r, &tx, index, (int)json_integer_value(code), events);
}

/* ---- one block -------------------------------------------------------------------------- */

/* A walked block at the height of the chain's next link must be that link,
 * byte for byte: two headers signed at one height are two histories. A
 * change the chain leaves out is caught at the next block, whose set the
 * walk does not reach. */
static int check_change(const walk *w, const gz_header *h, const gz_buf *hdr, gz_msg *msg) {
    const verify_valset_chain *c = w->sets.c;
    size_t i = w->sets.next;
    gz_header lh;
    if (i >= c->n || core_header_decode(&lh, c->links[i].header.data, c->links[i].header.len, NULL) != GZ_OK ||
        lh.height != h->height)
        return GZ_OK;
    if (c->links[i].header.len != hdr->len || memcmp(c->links[i].header.data, hdr->data, hdr->len) != 0)
        return gz_fail(msg, GZ_EVERIFY, "the block is not the header of link %zu of the valset_chain at its height", i);
    return GZ_OK;
}

/* The block's txids, checked whole against its header and commit. */
static int check_block(walk *w, uint64_t height, const json_t *block, uint8_t (**txids)[32], size_t *n, gz_header *h) {
    const json_t *ids = json_object_get(block, "txids");
    const char *hdr_hex = json_string_value(json_object_get(json_object_get(block, "header"), "hex"));
    const char *commit_hex = json_string_value(json_object_get(block, "commit"));
    *n = json_is_array(ids) ? json_array_size(ids) : 0;
    *txids = malloc((*n ? *n : 1) * 32);
    gz_buf hdr = {0}, commit = {0};
    gz_msg msg = {{0}};
    int rc = *txids != NULL && hdr_hex != NULL && commit_hex != NULL && json_is_array(ids) && *n <= GZ_BLOCK_TXS_MAX &&
                     strlen(hdr_hex) <= 2 * GZ_HEADER_BYTES_MAX && strlen(commit_hex) <= 2 * GZ_COMMIT_BYTES_MAX
                 ? GZ_OK
                 : gz_fail(&msg, GZ_EARG, "the node's block is malformed");
    for (size_t i = 0; rc == GZ_OK && i < *n; i++) {
        const char *s = json_string_value(json_array_get(ids, i));
        if (s == NULL || gz_hex_decode((*txids)[i], 32, s) != GZ_OK) rc = gz_fail(&msg, GZ_EARG, "txids[%zu]: expected 64 hex chars", i);
    }
    if (rc == GZ_OK) rc = gz_hex_decode_buf(&hdr, hdr_hex, strlen(hdr_hex));
    if (rc == GZ_OK) rc = gz_hex_decode_buf(&commit, commit_hex, strlen(commit_hex));
    uint8_t id[32];
    /* The links below this height decide the set that must have signed it. */
    if (rc == GZ_OK && !verify_valset_walker_advance(&w->sets, w->r, height))
        rc = gz_fail(&msg, GZ_EVERIFY, "the valset_chain failed below this height");
    if (rc == GZ_OK) {
        rc = verify_block(w->g, &w->sets.set, height, w->have_prev ? w->prev_id : NULL, hdr.data, hdr.len,
                          commit.data, commit.len, (const uint8_t(*)[32])(*txids), *n, h, id, &msg);
    }
    if (rc == GZ_OK) rc = check_change(w, h, &hdr, &msg);
    gz_buf_free(&hdr);
    gz_buf_free(&commit);
    if (rc != GZ_OK) {
        block_fail(w, "block %llu: %s", (unsigned long long)height, msg.text[0] ? msg.text : gz_strerror(rc));
        free(*txids);
        *txids = NULL;
        return GZ_EVERIFY;
    }
    memcpy(w->prev_id, id, 32);
    w->have_prev = true;
    return GZ_OK;
}

static int one_block(walk *w, uint64_t height, const json_t *block) {
    uint8_t(*txids)[32] = NULL;
    size_t n = 0;
    gz_header h;
    if (check_block(w, height, block, &txids, &n, &h) != GZ_OK) return GZ_EVERIFY;
    if (w->first == 0) w->first = height;
    w->last = height;
    verify_audit_block(w->audit, height, h.time);
    int rc = GZ_OK;
    gz_msg msg = {{0}};
    json_t *params[AUDIT_TX_BATCH], *results[AUDIT_TX_BATCH];
    for (size_t at = 0; rc == GZ_OK && at < n; at += AUDIT_TX_BATCH) {
        size_t k = n - at;
        if (k > AUDIT_TX_BATCH) k = AUDIT_TX_BATCH;
        for (size_t i = 0; i < k; i++) {
            char hex[65];
            gz_hex_encode(hex, txids[at + i], 32);
            params[i] = json_pack("{s:s}", "txid", hex);
        }
        rc = rpc_batch(w->args->rpc, "tx", params, k, results, &msg);
        if (rc != GZ_OK) verify_report_fail(w->r, "rpc", "block %llu: %s", (unsigned long long)height, msg.text);
        for (size_t i = 0; rc == GZ_OK && i < k; i++) rc = one_tx(w, results[i], block, txids[at + i], (uint32_t)(at + i));
        for (size_t i = 0; i < k; i++) json_decref(results[i]);
    }
    free(txids);
    return rc;
}

/* Walks blocks from..to until the replay says the proposal is settled. */
static int walk_blocks(walk *w, uint64_t from, uint64_t to) {
    json_t *params[AUDIT_BLOCK_BATCH], *results[AUDIT_BLOCK_BATCH];
    gz_msg msg = {{0}};
    for (uint64_t h = from; h <= to && !verify_audit_done(w->audit); h += AUDIT_BLOCK_BATCH) {
        uint64_t left = to - h + 1;
        size_t k = left < AUDIT_BLOCK_BATCH ? (size_t)left : AUDIT_BLOCK_BATCH;
        for (size_t i = 0; i < k; i++) params[i] = json_pack("{s:I}", "height", (json_int_t)(h + i));
        if (rpc_batch(w->args->rpc, "block", params, k, results, &msg) != GZ_OK) {
            verify_report_fail(w->r, "rpc", "blocks from %llu: %s", (unsigned long long)h, msg.text);
            return GZ_EIO;
        }
        int rc = GZ_OK;
        for (size_t i = 0; i < k && rc == GZ_OK && !verify_audit_done(w->audit); i++) rc = one_block(w, h + i, results[i]);
        for (size_t i = 0; i < k; i++) json_decref(results[i]);
        if (rc != GZ_OK) return rc;
    }
    return GZ_OK;
}

/* ---- the node's claim ------------------------------------------------------------------- */

static int tip_height(const char *rpc, uint64_t *height) {
    json_t *res = NULL;
    gz_msg msg = {{0}};
    json_t *params = json_object();
    int rc = cli_rpc(rpc, "status", params, &res, &msg);
    json_decref(params);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "audit: status: %s", msg.text);
    json_t *h = json_object_get(res, "height");
    *height = json_is_integer(h) ? (uint64_t)json_integer_value(h) : 0;
    json_decref(res);
    return CLI_EXIT_OK;
}

/* The node's proposal and the height it describes: read until the tip did
 * not move in between, so the claim and the walk see the same chain. */
static int verify_claim(const audit_args *a, json_t **claim, uint64_t *height) {
    *claim = NULL;
    for (int attempt = 0; attempt < AUDIT_SNAPSHOT_TRIES; attempt++) {
        uint64_t before, after;
        int rc = tip_height(a->rpc, &before);
        if (rc != CLI_EXIT_OK) return rc;
        if (a->claim_path != NULL) {
            *height = before;
            return cli_verify_read_json("audit", a->claim_path, claim);
        }
        gz_msg msg = {{0}};
        json_t *params = json_pack("{s:s}", "proposal_id", a->id_hex);
        rc = cli_rpc(a->rpc, "proposal", params, claim, &msg);
        json_decref(params);
        if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "audit: proposal: %s", msg.text);
        if ((rc = tip_height(a->rpc, &after)) != CLI_EXIT_OK) return rc;
        if (before == after) {
            *height = after;
            return CLI_EXIT_OK;
        }
        json_decref(*claim);
        *claim = NULL;
        nanosleep(&(struct timespec){.tv_nsec = 20 * 1000 * 1000}, NULL);
    }
    return cli_die(CLI_EXIT_FAIL, "audit: the chain kept moving; could not read the proposal at one height");
}

/* The set changes below the tip: the valset_chain of RPC `commit` there. */
static int fetch_chain(const audit_args *a, uint64_t tip, verify_valset_chain *c, verify_report *r) {
    json_t *res = NULL;
    gz_msg msg = {{0}};
    json_t *params = json_pack("{s:I}", "height", (json_int_t)tip);
    int rc = cli_rpc(a->rpc, "commit", params, &res, &msg);
    json_decref(params);
    if (rc != GZ_OK) {
        verify_report_fail(r, "rpc", "commit %llu: %s", (unsigned long long)tip, msg.text);
        return GZ_EIO;
    }
    rc = verify_valset_chain_from_json(c, res, &msg);
    json_decref(res);
    if (rc == GZ_ENOMEM) return rc;
    if (rc != GZ_OK) {
        verify_report_fail(r, "valset link", "the node's commit at %llu: %s", (unsigned long long)tip, msg.text);
        return GZ_EVERIFY;
    }
    return GZ_OK;
}

/* The height of the proposal's creating tx, for --from-creation. */
static int creation_height(const audit_args *a, uint64_t *height) {
    json_t *res = NULL;
    gz_msg msg = {{0}};
    json_t *params = json_pack("{s:s}", "txid", a->id_hex);
    int rc = cli_rpc(a->rpc, "tx", params, &res, &msg);
    json_decref(params);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "audit: tx %s: %s", a->id_hex, msg.text);
    json_t *h = json_object_get(res, "height");
    *height = json_is_integer(h) && json_integer_value(h) > 0 ? (uint64_t)json_integer_value(h) : 1;
    json_decref(res);
    return CLI_EXIT_OK;
}

/* ---- the command -------------------------------------------------------------------------- */

static void audit_usage(void) {
    printf("usage: gongzhi audit proposal ID --genesis FILE [--rpc URL] [--from-creation]\n"
           "                                   [--proposal-json FILE]\n\n"
           "Recomputes a proposal's tally from the chain and compares it with the node's\n"
           "`proposal` answer (or the claim in --proposal-json FILE). Every block walked is\n"
           "checked against the genesis validators, every tx of the proposal against its\n"
           "block's tx_root. By default accounts are replayed from genesis (height 1 on), so\n"
           "each vote's eligibility, nonce and weight are recomputed; --from-creation starts\n"
           "at the proposal's block and takes those from the node's tx results instead.\n"
           "Exit 0 when everything matches, 1 on a mismatch. See docs/auditing.md.\n");
}

static int audit_parse(int argc, char **argv, audit_args *a) {
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) return audit_usage(), -1;
    if (argc < 3 || strcmp(argv[1], "proposal") != 0)
        return cli_die(CLI_EXIT_USAGE, "audit: usage: gongzhi audit proposal ID --genesis FILE (see --help)");
    a->id_hex = argv[2];
    a->rpc = CLI_DEFAULT_RPC;
    for (int i = 3; i < argc; i++) {
        const char *f = argv[i];
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) return audit_usage(), -1;
        if (strcmp(f, "--from-creation") == 0) {
            a->from_creation = true;
            continue;
        }
        const char **slot = strcmp(f, "--genesis") == 0         ? &a->genesis
                            : strcmp(f, "--rpc") == 0           ? &a->rpc
                            : strcmp(f, "--proposal-json") == 0 ? &a->claim_path
                                                                : NULL;
        if (slot == NULL) return cli_die(CLI_EXIT_USAGE, "audit: unexpected argument '%s' (see --help)", f);
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "audit: %s needs a value", f);
        *slot = argv[++i];
    }
    uint8_t id[32];
    if (gz_hex_decode(id, 32, a->id_hex) != GZ_OK) return cli_die(CLI_EXIT_USAGE, "audit: ID: expected 64 hex chars");
    if (a->genesis == NULL) return cli_die(CLI_EXIT_USAGE, "audit: --genesis is required");
    return CLI_EXIT_OK;
}

static int audit_run(const audit_args *a, const gz_genesis *g, verify_report *r) {
    json_t *claim = NULL;
    uint64_t tip = 0, from = 1;
    int rc = verify_claim(a, &claim, &tip);
    if (rc == CLI_EXIT_OK && a->from_creation) rc = creation_height(a, &from);
    uint8_t id[32];
    verify_audit *au = NULL;
    if (rc == CLI_EXIT_OK && (gz_hex_decode(id, 32, a->id_hex) != GZ_OK || verify_audit_new(&au, g, id, !a->from_creation) != GZ_OK))
        rc = cli_die(CLI_EXIT_FAIL, "audit: out of memory");
    if (rc != CLI_EXIT_OK) {
        json_decref(claim);
        return rc;
    }
    walk w = {.args = a, .g = g, .audit = au, .r = r};
    /* From height 1 the chain must start at genesis: its parent id is 32 zero
     * bytes (docs/README.md). */
    w.have_prev = from == 1;
    int wrc = tip >= 1 ? fetch_chain(a, tip, &w.chain, r) : GZ_OK;
    verify_valset_walker_init(&w.sets, g, &w.chain, tip);
    if (wrc == GZ_OK) wrc = walk_blocks(&w, from, tip);
    if (wrc == GZ_OK) {
        verify_report_ok(r, "blocks", "blocks %llu..%llu: each header on the chain of its parent, its txids in tx_root, "
                       "its commit by > 2/3 of the power of the set trusted at its height (%zu set changes)",
                       (unsigned long long)w.first, (unsigned long long)w.last, w.sets.next);
        verify_report_ok(r, "tx proofs", "%llu txs of the proposal: inclusion proof into tx_root and commit checked",
                       (unsigned long long)w.proofs);
        verify_audit_compare(au, r, claim);
    } else if (wrc == GZ_ENOMEM) {
        verify_report_fail(r, "audit", "out of memory");
    }
    verify_audit_free(au);
    verify_valset_chain_free(&w.chain);
    json_decref(claim);
    return CLI_EXIT_OK;
}

int cli_audit(int argc, char **argv) {
    audit_args a = {0};
    int rc = audit_parse(argc, argv, &a);
    if (rc != CLI_EXIT_OK) return rc < 0 ? CLI_EXIT_OK : rc;
    static gz_genesis g;
    if ((rc = cli_verify_load_genesis("audit", a.genesis, &g)) != CLI_EXIT_OK) return rc;
    verify_report r;
    verify_report_init(&r);
    rc = audit_run(&a, &g, &r);
    if (rc == CLI_EXIT_OK) rc = cli_verify_finish("audit", &r);
    verify_report_free(&r);
    ledger_genesis_free(&g);
    return rc;
}
