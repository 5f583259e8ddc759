/* `gongzhi bench flood`: a developer tool that floods a node's JSON-RPC with
 * txs no honest client sends, the way the end-to-end attack tests need them
 * (tests/e2e/test_attack_mempool.sh): txs from fresh, unregistered keys, far
 * and gapped future nonces from one registered key, or many distinct txs of
 * one key meant to fill the mempool. It signs properly (the node checks every
 * signature), submits in JSON-RPC batches, and prints one JSON line counting
 * the admission codes the node answered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "core/bytes.h"
#include "core/codec.h"
#include "core/hash.h"
#include "core/keys.h"
#include "rpc/rpc.h"
#include "tools/bench.h"

/* A batch waits this long for its answer. */
#define FLOOD_POST_TIMEOUT_MS 60000
/* SPEC §6 codes 0..12. */
#define FLOOD_CODES 13

enum flood_kind { FLOOD_FRESH, FLOOD_FUTURE, FLOOD_FILL };

typedef struct flood {
    enum flood_kind kind;
    const char *url;
    const char *key_path;
    uint64_t count, batch, nonce, salt;
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    uint8_t sk[32], pk[32];
    uint64_t next; /* the key's committed nonce (future, fill) */
    uint64_t codes[FLOOD_CODES], other, posts_failed;
    char first_refusal[256];
} flood;

static int flood_usage(void) {
    printf("usage: gongzhi bench flood --kind fresh|future|fill --count N [--rpc URL] [--key FILE]\n"
           "                           [--nonce N] [--batch N] [--salt N]\n\n"
           "Developer tool: submits N hostile ANCHOR txs to one node over JSON-RPC, in batches of\n"
           "--batch (default 500), and prints one JSON line with the admission codes it answered:\n"
           "  fresh   each tx from a new key (SHA256 of salt and index) with nonce --nonce (default 1);\n"
           "  future  from --key, nonces next+1 .. next+N: none can execute while next is missing;\n"
           "  fill    from --key, N distinct txs with nonces next .. next+63 in turn.\n"
           "--rpc defaults to %s.\n", CLI_DEFAULT_RPC);
    return CLI_EXIT_OK;
}

static int parse(int argc, char **argv, flood *f) {
    *f = (flood){.url = CLI_DEFAULT_RPC, .batch = 500, .nonce = 1, .count = 0, .kind = FLOOD_FRESH};
    const char *kind = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return flood_usage(), -1;
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "bench flood: %s needs a value", a);
        const char *v = argv[++i];
        uint64_t n = 0;
        bool num = cli_parse_u64(v, &n) == GZ_OK;
        if (strcmp(a, "--kind") == 0) kind = v;
        else if (strcmp(a, "--rpc") == 0) f->url = v;
        else if (strcmp(a, "--key") == 0) f->key_path = v;
        else if (strcmp(a, "--count") == 0 && num && n >= 1 && n <= 10000000) f->count = n;
        else if (strcmp(a, "--batch") == 0 && num && n >= 1 && n <= GZ_RPC_BATCH_MAX) f->batch = n;
        else if (strcmp(a, "--nonce") == 0 && num) f->nonce = n;
        else if (strcmp(a, "--salt") == 0 && num) f->salt = n;
        else return cli_die(CLI_EXIT_USAGE, "bench flood: bad flag or value: %s %s (see --help)", a, v);
    }
    if (kind == NULL || f->count == 0) return cli_die(CLI_EXIT_USAGE, "bench flood: --kind and --count are needed");
    if (strcmp(kind, "fresh") == 0) f->kind = FLOOD_FRESH;
    else if (strcmp(kind, "future") == 0) f->kind = FLOOD_FUTURE;
    else if (strcmp(kind, "fill") == 0) f->kind = FLOOD_FILL;
    else return cli_die(CLI_EXIT_USAGE, "bench flood: --kind: '%s' is not fresh, future or fill", kind);
    if (f->kind != FLOOD_FRESH && f->key_path == NULL)
        return cli_die(CLI_EXIT_USAGE, "bench flood: --kind %s needs --key", kind);
    return CLI_EXIT_OK;
}

/* The chain id from status, and the key's committed nonce from account. */
static int learn(flood *f) {
    json_t *res = NULL;
    gz_msg msg = {{0}};
    if (rpc_client_call_timeout(f->url, "status", NULL, FLOOD_POST_TIMEOUT_MS, &res, &msg) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "bench flood: status: %s", msg.text);
    snprintf(f->chain_id, sizeof f->chain_id, "%s", json_string_value(json_object_get(res, "chain_id")) ?: "");
    json_decref(res);
    if (f->kind == FLOOD_FRESH) return CLI_EXIT_OK;
    if (core_key_load(f->sk, f->key_path, &msg) != GZ_OK || core_key_pub(f->pk, f->sk) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "bench flood: %s: %s", f->key_path, msg.text);
    char hex[65];
    gz_hex_encode(hex, f->pk, 32);
    json_t *params = json_pack("{s:s}", "account", hex);
    int rc = rpc_client_call_timeout(f->url, "account", params, FLOOD_POST_TIMEOUT_MS, &res, &msg);
    json_decref(params);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "bench flood: account: %s", msg.text);
    f->next = (uint64_t)json_integer_value(json_object_get(res, "nonce"));
    json_decref(res);
    return CLI_EXIT_OK;
}

/* Flood tx i: its key and nonce by kind, an artifact no other tx uses. */
static int make_tx(const flood *f, uint64_t i, gz_buf *out) {
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    uint8_t sk[32];
    if (f->kind == FLOOD_FRESH) {
        uint8_t seed[24] = "gongzhi-flood-key";
        gz_put_u64be(seed + 16, f->salt * 100000000u + i);
        core_sha256(sk, seed, sizeof seed);
        tx.nonce = f->nonce;
    } else {
        memcpy(sk, f->sk, 32);
        tx.nonce = f->kind == FLOOD_FUTURE ? f->next + 1 + i : f->next + i % GZ_MEMPOOL_NONCE_WINDOW;
    }
    int rc = core_key_pub(tx.signer, sk);
    snprintf(tx.chain_id, sizeof tx.chain_id, "%s", f->chain_id);
    tx.type = GZ_TX_ANCHOR;
    uint8_t in[32];
    memcpy(in, "gongzhi-flood-art", 17);
    gz_put_u64be(in + 17, i);
    gz_put_u32be(in + 25, (uint32_t)f->salt);
    in[29] = (uint8_t)f->kind;
    core_sha256(tx.p.anchor.artifact, in, 30);
    tx.p.anchor.kind = 1;
    snprintf(tx.p.anchor.work_id, sizeof tx.p.anchor.work_id, "flood");
    if (rc == GZ_OK) rc = core_tx_sign_encode(&tx, sk, out);
    return rc;
}

static void count_answers(flood *f, const gz_buf *resp) {
    json_error_t jerr;
    json_t *arr = json_loadb((const char *)resp->data, resp->len, 0, &jerr);
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *res = json_object_get(json_array_get(arr, i), "result");
        json_t *code = json_object_get(res, "code");
        json_int_t c = json_is_integer(code) ? json_integer_value(code) : -1;
        if (c >= 0 && c < FLOOD_CODES) f->codes[c]++;
        else f->other++;
        const char *m = json_string_value(json_object_get(res, "message"));
        if (c != 0 && f->first_refusal[0] == '\0' && m != NULL)
            snprintf(f->first_refusal, sizeof f->first_refusal, "code %d: %s", (int)c, m);
    }
    if (!json_is_array(arr)) f->posts_failed++;
    json_decref(arr);
}

/* Signs and posts txs first .. first+n-1 as one batch. */
static int post_batch(flood *f, uint64_t first, uint64_t n, gz_buf *body, gz_buf *resp, char *hex) {
    gz_buf enc;
    gz_buf_init(&enc);
    gz_buf_reset(body);
    int rc = gz_buf_append(body, "[", 1);
    for (uint64_t i = 0; i < n && rc == GZ_OK; i++) {
        gz_buf_reset(&enc);
        rc = make_tx(f, first + i, &enc);
        if (rc != GZ_OK) break;
        gz_hex_encode(hex, enc.data, enc.len);
        char head[96];
        int k = snprintf(head, sizeof head, "%s{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"submit_tx\",\"params\":{\"tx\":\"",
                         i == 0 ? "" : ",", (unsigned long long)(first + i));
        rc = gz_buf_append(body, head, (size_t)k);
        if (rc == GZ_OK) rc = gz_buf_append(body, hex, 2 * enc.len);
        if (rc == GZ_OK) rc = gz_buf_append(body, "\"}}", 3);
    }
    if (rc == GZ_OK) rc = gz_buf_append(body, "]", 1);
    gz_buf_free(&enc);
    if (rc != GZ_OK) return rc;
    int status = 0;
    gz_msg err = {{0}};
    if (rpc_client_post_raw_timeout(f->url, body->data, body->len, FLOOD_POST_TIMEOUT_MS, &status, resp, &err) ==
            GZ_OK && status == 200)
        count_answers(f, resp);
    else f->posts_failed++;
    return GZ_OK;
}

static void report(const flood *f, double ms) {
    static const char *const kinds[] = {"fresh", "future", "fill"};
    json_t *codes = json_object();
    for (int c = 0; c < FLOOD_CODES; c++) {
        if (f->codes[c] == 0) continue;
        char k[4];
        snprintf(k, sizeof k, "%d", c);
        json_object_set_new(codes, k, json_integer((json_int_t)f->codes[c]));
    }
    json_t *out = json_pack("{s:s, s:I, s:o, s:I, s:I, s:I, s:s}", "kind", kinds[f->kind], "sent",
                            (json_int_t)f->count, "codes", codes, "other", (json_int_t)f->other, "posts_failed",
                            (json_int_t)f->posts_failed, "ms", (json_int_t)ms, "first_refusal", f->first_refusal);
    char *text = json_dumps(out, JSON_COMPACT);
    if (text != NULL) printf("%s\n", text);
    free(text);
    json_decref(out);
}

int bench_flood(int argc, char **argv) {
    static flood f;
    int rc = parse(argc, argv, &f);
    if (rc != CLI_EXIT_OK) return rc < 0 ? CLI_EXIT_OK : rc;
    if ((rc = learn(&f)) != CLI_EXIT_OK) return rc;
    char *hex = malloc(2 * GZ_TX_BYTES_MAX + 1);
    gz_buf body, resp;
    gz_buf_init(&body);
    gz_buf_init(&resp);
    double t0 = bench_now_ms();
    int err = hex == NULL ? GZ_ENOMEM : GZ_OK;
    for (uint64_t first = 0; first < f.count && err == GZ_OK; first += f.batch)
        err = post_batch(&f, first, f.count - first < f.batch ? f.count - first : f.batch, &body, &resp, hex);
    double ms = bench_now_ms() - t0;
    gz_buf_free(&body);
    gz_buf_free(&resp);
    free(hex);
    if (err != GZ_OK) return cli_die(CLI_EXIT_FAIL, "bench flood: cannot sign: %s", gz_strerror(err));
    report(&f, ms);
    return CLI_EXIT_OK;
}
