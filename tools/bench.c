/* `gongzhi bench`: throughput and latency of a real network on loopback.
 *
 * Three runs, each on a fresh network of validator processes whose genesis
 * holds the benchmark's holders: the whole load as fast as 4 validators admit
 * it, the same with 1 validator, and a latency run on 4 validators offered half
 * the rate the first run reached (plus one at 4,000 tx/s, the rate the p99
 * target is set at, when half is less). Each prints one line that scripts read:
 *   RESULT tps=… p50_ms=… p99_ms=… validators=N txs=N duration_s=…
 *   RESULT_LATENCY rate=… p50_ms=… p99_ms=…
 * docs/performance.md explains the numbers and what bounds them. */
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/bytes.h"
#include "core/codec.h"
#include "ledger/genesis.h"
#include "tools/bench.h"
#include "cli/cli.h"
#include "rpc/rpc.h"

/* Each run gets this long to reach a network that answers and is connected. */
#define BENCH_READY_MS 30000
/* The proposals must be open this long after they were submitted. */
#define BENCH_PROPOSALS_MS 30000
/* A run gives up when nothing commits for this long. */
#define BENCH_STALL_MS 30000
/* Committed results read back by `tx` to show their codes. */
#define BENCH_SAMPLE_TXS 32
/* Paced submitters send about this many POSTs per second each. */
#define BENCH_PACED_POSTS_PER_S 50
/* The offered rate issue 6 sets the p99 target at. */
#define BENCH_TARGET_LATENCY_RATE 4000.0
/* Keys the storage run writes: about what a ledger holds after a few
 * hundred thousand txs (about 4 keys each). */
#define BENCH_STORAGE_KEYS 2000000

typedef struct bench_opts {
    uint64_t txs, accounts, batch, latency_s, base_port, block_max_txs, rate, storage_keys;
    int only; /* 0 = every run; 4 or 1 = only that validator count */
    const char *dir;
    bool keep, verbose, latency_only, storage_only;
} bench_opts;

/* What one run measured, for the RESULT lines and the targets. */
typedef struct bench_result {
    bool ran, ok;
    double tps, p50_ms, p99_ms, duration_s, offered_tps;
    uint64_t txs;
    uint64_t rss_kb_max; /* largest VmHWM of any node */
} bench_result;

typedef struct bench {
    bench_opts o;
    bench_keys k;
    char root[NODE_PATH_MAX];
    int runs;
} bench;

static void on_stop(int sig) { bench_stop = sig; }

/* ---- small JSON-RPC helpers ------------------------------------------------ */

/* Calls method once per element of params_list (stolen) in one batch; *results
 * is an array of the results in call order, JSON null where a call failed. */
static int rpc_batch(const char *url, const char *method, json_t *params_list, json_t **results, gz_msg *msg) {
    *results = NULL;
    json_t *calls = json_array();
    for (size_t i = 0; i < json_array_size(params_list); i++)
        json_array_append_new(calls, json_pack("{s:s,s:I,s:s,s:O}", "jsonrpc", "2.0", "id", (json_int_t)i, "method",
                                               method, "params", json_array_get(params_list, i)));
    char *body = json_dumps(calls, JSON_COMPACT);
    json_decref(calls);
    size_t n = json_array_size(params_list);
    json_decref(params_list);
    if (body == NULL) return gz_fail(msg, GZ_ENOMEM, "rpc: cannot encode a batch");
    gz_buf resp;
    gz_buf_init(&resp);
    int status = 0;
    int rc = rpc_client_post_raw_timeout(url, body, strlen(body), 30000, &status, &resp, msg);
    free(body);
    json_error_t jerr;
    json_t *arr = rc == GZ_OK ? json_loadb((const char *)resp.data, resp.len, 0, &jerr) : NULL;
    gz_buf_free(&resp);
    if (rc != GZ_OK) return rc;
    if (!json_is_array(arr)) {
        json_decref(arr);
        return gz_fail(msg, GZ_EPROTO, "rpc: %s batch: HTTP %d, not a JSON array", method, status);
    }
    *results = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(*results, json_null());
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *one = json_array_get(arr, i);
        json_int_t id = json_integer_value(json_object_get(one, "id"));
        json_t *res = json_object_get(one, "result");
        if (id >= 0 && (size_t)id < n && res != NULL) json_array_set(*results, (size_t)id, res);
    }
    json_decref(arr);
    return GZ_OK;
}

/* ---- proposals --------------------------------------------------------------- */

/* Submits n GENERAL proposals signed by the governor; ids get their txids. */
static int proposals_submit(const bench_net *net, const bench_keys *k, uint32_t n, uint8_t (*ids)[32],
                            gz_msg *msg) {
    json_t *list = json_array();
    static gz_tx tx; /* a few KiB: not on the stack */
    gz_buf enc;
    gz_buf_init(&enc);
    int rc = GZ_OK;
    for (uint32_t i = 0; i < n && rc == GZ_OK; i++) {
        memset(&tx, 0, sizeof tx);
        snprintf(tx.chain_id, sizeof tx.chain_id, "%s", net->chain_id);
        tx.type = GZ_TX_PROPOSAL_CREATE;
        memcpy(tx.signer, k->auth_pk[GZ_ROLE_GOVERNOR], 32);
        tx.nonce = i;
        gz_p_proposal_create *p = &tx.p.proposal_create;
        p->kind = 7;
        snprintf(p->subject, sizeof p->subject, "bench-%u", i);
        snprintf(p->title, sizeof p->title, "benchmark topic %u", i);
        p->n_options = 2;
        snprintf(p->options[0], sizeof p->options[0], "a");
        snprintf(p->options[1], sizeof p->options[1], "b");
        p->weighting = 1;
        p->voting_ms = 3600000;
        gz_buf_reset(&enc);
        rc = core_tx_sign_encode(&tx, k->auth_sk[GZ_ROLE_GOVERNOR], &enc);
        memcpy(ids[i], tx.txid, 32);
        char *hex = malloc(2 * enc.len + 1);
        if (rc == GZ_OK && hex == NULL) rc = GZ_ENOMEM;
        if (rc == GZ_OK) {
            gz_hex_encode(hex, enc.data, enc.len);
            json_array_append_new(list, json_pack("{s:s}", "tx", hex));
        }
        free(hex);
    }
    gz_buf_free(&enc);
    if (rc != GZ_OK) {
        json_decref(list);
        return gz_fail(msg, rc, "proposals: cannot sign: %s", gz_strerror(rc));
    }
    json_t *res = NULL;
    rc = rpc_batch(net->urls[0], "submit_tx", list, &res, msg);
    for (size_t i = 0; rc == GZ_OK && i < json_array_size(res); i++) {
        json_t *r = json_array_get(res, i);
        if (json_integer_value(json_object_get(r, "code")) != 0 || json_is_null(r))
            rc = gz_fail(msg, GZ_EARG, "proposal %zu refused: %s", i,
                         json_is_null(r) ? "rpc error" : json_string_value(json_object_get(r, "message")));
    }
    json_decref(res);
    return rc;
}

static json_t *proposal_params(uint32_t n, const uint8_t (*ids)[32]) {
    json_t *list = json_array();
    for (uint32_t i = 0; i < n; i++) {
        char hex[65];
        gz_hex_encode(hex, ids[i], 32);
        json_array_append_new(list, json_pack("{s:s}", "proposal_id", hex));
    }
    return list;
}

/* Waits until every proposal is open on node 0. */
static int proposals_wait_open(const bench_net *net, uint32_t n, const uint8_t (*ids)[32], gz_msg *msg) {
    double deadline = bench_now_ms() + BENCH_PROPOSALS_MS;
    for (;;) {
        json_t *res = NULL;
        int rc = rpc_batch(net->urls[0], "proposal", proposal_params(n, ids), &res, msg);
        size_t open = 0;
        const char *last = "not found";
        for (size_t i = 0; rc == GZ_OK && i < json_array_size(res); i++) {
            const char *st = json_string_value(json_object_get(json_array_get(res, i), "status"));
            if (st != NULL && strcmp(st, "open") == 0) open++;
            else if (st != NULL) last = st;
        }
        json_decref(res);
        if (rc != GZ_OK) return rc;
        if (open == n) return GZ_OK;
        if (bench_stop) return gz_fail(msg, GZ_ETIMEOUT, "stopped by a signal");
        if (bench_now_ms() > deadline)
            return gz_fail(msg, GZ_ETIMEOUT, "proposals: %zu of %u open after %d ms (another is '%s')", open, n,
                           BENCH_PROPOSALS_MS, last);
        bench_sleep_ms(50);
    }
}

/* Sum of `voters` over the proposals: each successful vote of the load is one
 * distinct (holder, proposal) pair, so this counts the votes that executed. */
static int proposals_voters(const bench_net *net, uint32_t n, const uint8_t (*ids)[32], uint64_t *voters,
                            gz_msg *msg) {
    *voters = 0;
    if (n == 0) return GZ_OK;
    json_t *res = NULL;
    int rc = rpc_batch(net->urls[0], "proposal", proposal_params(n, ids), &res, msg);
    for (size_t i = 0; rc == GZ_OK && i < json_array_size(res); i++)
        *voters += (uint64_t)json_integer_value(json_object_get(json_array_get(res, i), "voters"));
    json_decref(res);
    return rc;
}

/* Reads back a spread sample of committed results; counts non-zero codes and
 * keeps the first one's message. */
static int sample_codes(const bench_net *net, const bench_load *l, size_t *sampled, size_t *nonzero, char *first,
                        size_t first_cap, gz_msg *msg) {
    json_t *list = json_array();
    for (size_t i = 0; i < BENCH_SAMPLE_TXS && i < l->n_txs; i++) {
        const bench_tx *t = &l->txs[i * l->n_txs / BENCH_SAMPLE_TXS];
        if (t->seen == 0) continue;
        char hex[65];
        gz_hex_encode(hex, t->txid, 32);
        json_array_append_new(list, json_pack("{s:s}", "txid", hex));
    }
    json_t *res = NULL;
    *sampled = *nonzero = 0;
    first[0] = '\0';
    int rc = rpc_batch(net->urls[0], "tx", list, &res, msg);
    for (size_t i = 0; rc == GZ_OK && i < json_array_size(res); i++) {
        json_t *r = json_array_get(res, i);
        if (json_is_null(r)) continue;
        (*sampled)++;
        if (json_integer_value(json_object_get(r, "code")) == 0) continue;
        if ((*nonzero)++ == 0)
            snprintf(first, first_cap, "code %d: %s", (int)json_integer_value(json_object_get(r, "code")),
                     json_string_value(json_object_get(r, "message")));
    }
    json_decref(res);
    return rc;
}

/* ---- one run ------------------------------------------------------------------ */

typedef struct run_plan {
    int validators;
    bool latency;    /* paced at rate_tps, else as fast as admitted */
    double rate_tps;
    uint64_t txs;
    uint32_t batch;
} run_plan;

typedef struct run_state {
    char dir[NODE_PATH_MAX];
    bench_net net;
    uint32_t n_props;
    uint8_t props[BENCH_PROPOSALS_MAX][32];
    bench_load load;
    bench_outcome out;
    double t_ready_s, t_props_s, t_sign_s;
    uint64_t voters;
    size_t sampled, sample_nonzero;
    char sample_first[200];
} run_state;

/* Holders vote on distinct proposals: at least one proposal per vote a holder makes. */
static uint32_t proposals_needed(const bench_opts *o, uint64_t txs) {
    uint64_t per_holder = (txs + o->accounts - 1) / o->accounts;
    uint64_t n = (per_holder + 1) / 2;
    if (n < 8) n = 8;
    return n > BENCH_PROPOSALS_MAX ? BENCH_PROPOSALS_MAX : (uint32_t)n;
}

/* Starts the network and opens the proposals; without them the load is anchors only. */
static int run_setup(bench *b, const run_plan *p, run_state *s, gz_msg *msg) {
    uint16_t port = (uint16_t)(b->o.base_port + 10u * (unsigned)b->runs);
    snprintf(s->dir, sizeof s->dir, "%s/run%d-%dv", b->root, b->runs, p->validators);
    b->runs++;
    double t = bench_now_ms();
    int rc = bench_net_start(&s->net, s->dir, p->validators, port, b->o.block_max_txs, &b->k, msg);
    if (rc == GZ_OK) rc = bench_net_wait_ready(&s->net, BENCH_READY_MS, msg);
    if (rc != GZ_OK) return rc;
    s->t_ready_s = (bench_now_ms() - t) / 1000.0;
    t = bench_now_ms();
    s->n_props = proposals_needed(&b->o, p->txs);
    rc = proposals_submit(&s->net, &b->k, s->n_props, s->props, msg);
    if (rc == GZ_OK) rc = proposals_wait_open(&s->net, s->n_props, (const uint8_t (*)[32])s->props, msg);
    if (rc != GZ_OK) {
        if (bench_stop) return rc;
        printf("bench: WARNING: proposals did not open (%s); the load is ANCHOR txs only\n", msg->text);
        s->n_props = 0;
    }
    s->t_props_s = (bench_now_ms() - t) / 1000.0;
    return GZ_OK;
}

static int run_measure(bench *b, const run_plan *p, run_state *s, gz_msg *msg) {
    bench_spec spec = {.n_txs = p->txs, .batch_txs = p->batch, .n_nodes = p->validators,
                       .chain_id = s->net.chain_id, .n_props = s->n_props,
                       .props = (const uint8_t (*)[32])s->props, .salt = (uint32_t)b->runs};
    double t = bench_now_ms();
    int rc = bench_load_build(&s->load, &b->k, &spec, msg);
    if (rc != GZ_OK) return rc;
    s->t_sign_s = (bench_now_ms() - t) / 1000.0;
    printf("bench:   %zu txs pre-signed in %.1f s: %zu votes on %u proposals, %zu anchors; %zu POSTs of <= %u\n",
           s->load.n_txs, s->t_sign_s, s->load.n_votes, s->n_props, s->load.n_anchors, s->load.n_batches, p->batch);
    fflush(stdout);
    bench_drive d = {.rate_tps = p->latency ? p->rate_tps : 0, .stall_ms = BENCH_STALL_MS,
                     .t0_ms = bench_now_ms(), .verbose = b->o.verbose};
    rc = bench_load_run(&s->load, &s->net, &d, &s->out, msg);
    if (rc != GZ_OK) return rc;
    rc = proposals_voters(&s->net, s->n_props, (const uint8_t (*)[32])s->props, &s->voters, msg);
    if (rc == GZ_OK)
        rc = sample_codes(&s->net, &s->load, &s->sampled, &s->sample_nonzero, s->sample_first,
                          sizeof s->sample_first, msg);
    return rc;
}

/* Prints what the run saw and checked; returns true if every check passed. */
static bool run_checks(const run_state *s) {
    const bench_outcome *o = &s->out;
    /* A fresh network: every provenance log entry is an anchor of this load,
     * and `voters` counts each (holder, proposal) pair once; with more votes per
     * holder than proposals, the repeated votes are assumed to have executed. */
    long long revotes = (long long)s->load.n_votes - (long long)s->load.vote_pairs;
    long long executed = (long long)s->voters + revotes + (long long)o->log_size_end;
    long long nonzero = (long long)o->committed - executed;
    printf("bench:   submitted %zu (refused %zu) in %.1f s; committed %zu in %llu blocks (heights %llu..%llu)"
           " by %.1f s; other txs in those blocks %zu; decided after round 0: %llu extra rounds (max round %llu)\n",
           s->load.n_txs, o->refused, (o->last_submit_ms - o->first_submit_ms) / 1000.0, o->committed,
           (unsigned long long)o->blocks, (unsigned long long)o->first_height, (unsigned long long)o->last_height,
           (o->last_commit_ms - o->first_submit_ms) / 1000.0, o->foreign, (unsigned long long)o->rounds_extra,
           (unsigned long long)o->max_round);
    if (o->refusal[0] != '\0') printf("bench:   first refusal: %s\n", o->refusal);
    printf("bench:   checks: committed exactly once %zu of %zu (missing %zu, duplicated %zu); non-zero execution"
           " codes %lld (votes counted %llu, anchors logged %llu; sampled %zu results, %zu non-zero%s%s)\n",
           o->committed - o->duplicated, s->load.n_txs, o->missing, o->duplicated, nonzero,
           (unsigned long long)s->voters, (unsigned long long)o->log_size_end, s->sampled, s->sample_nonzero,
           s->sample_first[0] ? ": " : "", s->sample_first);
    if (o->poll_errors > 0) printf("bench:   %zu polls of node0 failed and were retried; the last: %s\n", o->poll_errors,
                                   o->poll_error);
    if (o->stalled) printf("bench:   FAILED: nothing committed for %d s\n", BENCH_STALL_MS / 1000);
    return !o->stalled && !o->stopped && o->refused == 0 && o->missing == 0 && o->duplicated == 0 &&
           o->committed == s->load.n_txs && nonzero == 0 && s->sample_nonzero == 0;
}

/* Where the CPU went during the run: per node and for this client. */
static void print_cpu(const bench_net *net, const bench_outcome *o) {
    double total = o->client_cpu_s;
    for (int i = 0; i < net->n; i++) total += o->node_cpu_s[i];
    printf("bench:   cpu over %.1f s wall: client %.1f s;", o->wall_s, o->client_cpu_s);
    for (int i = 0; i < net->n; i++)
        printf(" node%d %.1f s (%.0f us/tx)%s", i, o->node_cpu_s[i],
               o->committed ? o->node_cpu_s[i] * 1e6 / (double)o->committed : 0.0, i + 1 < net->n ? ";" : "");
    double cap = o->wall_s * (double)sysconf(_SC_NPROCESSORS_ONLN);
    double others = o->machine_cpu_s > total ? o->machine_cpu_s - total : 0;
    printf("\nbench:   machine: %ld cores, busy %.0f%%: this benchmark %.0f%%, other processes %.0f%%\n",
           sysconf(_SC_NPROCESSORS_ONLN), cap > 0 ? 100 * o->machine_cpu_s / cap : 0, cap > 0 ? 100 * total / cap : 0,
           cap > 0 ? 100 * others / cap : 0);
}

static void print_rss(const bench_net *net, bench_result *r) {
    printf("bench:   rss:");
    for (int i = 0; i < net->n; i++) {
        uint64_t hwm = net->hwm_kb[i] > net->rss_max_kb[i] ? net->hwm_kb[i] : net->rss_max_kb[i];
        if (hwm > r->rss_kb_max) r->rss_kb_max = hwm;
        printf(" node%d max VmRSS %.1f MB, VmHWM %.1f MB%s", i, net->rss_max_kb[i] / 1024.0,
               net->hwm_kb[i] / 1024.0, i + 1 < net->n ? ";" : "\n");
    }
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    (void)remove(path); /* best effort: keep removing the rest */
    return 0;
}

static void remove_tree(const char *path) { (void)nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static void run_result(const run_plan *p, const run_state *s, bench_result *r) {
    const bench_outcome *o = &s->out;
    if (o->stopped || o->stalled) {
        printf("bench:   no RESULT line: the run did not finish\n");
        return;
    }
    r->txs = o->committed;
    r->duration_s = (o->last_commit_ms - o->first_submit_ms) / 1000.0;
    r->tps = r->duration_s > 0 ? (double)o->committed / r->duration_s : 0;
    r->p50_ms = o->p50_ms;
    r->p99_ms = o->p99_ms;
    if (!p->latency) {
        printf("RESULT tps=%.0f p50_ms=%.0f p99_ms=%.0f validators=%d txs=%zu duration_s=%.2f\n", r->tps, r->p50_ms,
               r->p99_ms, p->validators, o->committed, r->duration_s);
        return;
    }
    /* The rate actually offered: each submitter sends a batch per interval. */
    double interval_s = (double)p->batch * p->validators / p->rate_tps;
    double span_s = (o->last_submit_ms - o->first_submit_ms) / 1000.0 + interval_s;
    r->offered_tps = span_s > 0 ? (double)s->load.n_txs / span_s : 0;
    printf("RESULT_LATENCY rate=%.0f p50_ms=%.0f p99_ms=%.0f validators=%d txs=%zu max_ms=%.0f\n", r->offered_tps,
           r->p50_ms, r->p99_ms, p->validators, o->committed, o->max_ms);
}

static void run_one(bench *b, const run_plan *p, bench_result *r) {
    static run_state s; /* large: not on the stack */
    memset(&s, 0, sizeof s);
    memset(r, 0, sizeof *r);
    r->ran = true;
    gz_msg msg = {{0}};
    printf("bench: %s run: %d validator%s, %llu txs%s\n", p->latency ? "latency" : "throughput", p->validators,
           p->validators == 1 ? "" : "s", (unsigned long long)p->txs, p->latency ? "" : ", as fast as admitted");
    if (p->latency) printf("bench:   offered at %.0f tx/s in batches of %u\n", p->rate_tps, p->batch);
    fflush(stdout);
    int rc = run_setup(b, p, &s, &msg);
    if (rc == GZ_OK) {
        printf("bench:   network of %d ready in %.1f s (%llu holders in genesis); %u proposals open in %.1f s\n",
               p->validators, s.t_ready_s, (unsigned long long)b->o.accounts, s.n_props, s.t_props_s);
        rc = run_measure(b, p, &s, &msg);
    }
    bench_net_stop(&s.net);
    if (rc == GZ_OK) {
        r->ok = run_checks(&s);
        print_cpu(&s.net, &s.out);
        print_rss(&s.net, r);
        run_result(p, &s, r);
    } else {
        printf("bench:   FAILED: %s\n", msg.text);
    }
    fflush(stdout);
    bench_load_free(&s.load);
    if (!b->o.keep) remove_tree(s.dir);
}

/* ---- the command ---------------------------------------------------------------- */

static int bench_usage(void) {
    printf("usage: gongzhi bench [--txs N] [--accounts N] [--validators-only 4|1] [--batch N]\n"
           "                     [--latency-s S] [--rate R [--latency-only]] [--block-max-txs N]\n"
           "                     [--storage-keys N] [--storage-only]\n"
           "                     [--dir DIR] [--base-port P] [--keep] [--verbose]\n\n"
           "Starts validator networks on loopback with N holder accounts in their genesis\n"
           "(default 10000), pre-signs N txs (default 100000; votes on open proposals and\n"
           "anchors, alternating) and submits them over JSON-RPC in batches (default 500\n"
           "per POST) until all are committed. Runs: 4 validators, 1 validator, then a\n"
           "latency run on 4 validators at half the first run's rate for S seconds\n"
           "(default 15), plus one at 4000 tx/s (the p99 target's rate) when half is\n"
           "less, or only one at R tx/s with --rate (--latency-only: that run alone).\n"
           "Prints RESULT and RESULT_LATENCY lines (docs/performance.md).\n"
           "Networks live in a temporary directory (or DIR) removed afterwards unless\n"
           "--keep; node i of run r serves RPC on 127.0.0.1:P+10r+i (P default 27657).\n"
           "--verbose prints a line per committed block (txs, round, block time);\n"
           "--block-max-txs overrides genesis consensus.block_max_txs (default 10000).\n"
           "Last, a storage run writes --storage-keys N keys (default 2000000; 0: none)\n"
           "into RocksDB and times reads of absent and present keys (RESULT_STORAGE);\n"
           "--storage-only runs only that.\n"
           "Each holder submits its txs at once: at most 64 per holder (the mempool's nonce\n"
           "window, docs/rpc.md), so --txs may be at most 64 times --accounts.\n"
           "Exits 1 if any tx was refused, lost, committed twice or failed to execute.\n\n"
           "gongzhi bench flood ... (see gongzhi bench flood --help) submits hostile txs\n"
           "to a running node, for the attack tests.\n");
    return CLI_EXIT_OK;
}

static int parse_opts(int argc, char **argv, bench_opts *o) {
    *o = (bench_opts){.txs = 100000, .accounts = 10000, .batch = 500, .latency_s = 15, .base_port = 27657,
                      .storage_keys = BENCH_STORAGE_KEYS};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return bench_usage(), -1;
        if (strcmp(a, "--keep") == 0) { o->keep = true; continue; }
        if (strcmp(a, "--verbose") == 0) { o->verbose = true; continue; }
        if (strcmp(a, "--latency-only") == 0) { o->latency_only = true; continue; }
        if (strcmp(a, "--storage-only") == 0) { o->storage_only = true; continue; }
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "bench: %s needs a value", a);
        const char *v = argv[++i];
        uint64_t n = 0;
        bool num = cli_parse_u64(v, &n) == GZ_OK;
        if (strcmp(a, "--dir") == 0) o->dir = v;
        else if (strcmp(a, "--txs") == 0 && num && n >= 1 && n <= 10000000) o->txs = n;
        else if (strcmp(a, "--accounts") == 0 && num && n >= 1 && n <= GZ_GENESIS_ACCOUNTS_MAX) o->accounts = n;
        else if (strcmp(a, "--batch") == 0 && num && n >= 1 && n <= GZ_RPC_BATCH_MAX) o->batch = n;
        else if (strcmp(a, "--latency-s") == 0 && num && n >= 1 && n <= 600) o->latency_s = n;
        else if (strcmp(a, "--rate") == 0 && num && n >= 1 && n <= 1000000) o->rate = n;
        else if (strcmp(a, "--storage-keys") == 0 && num && n <= 100000000) o->storage_keys = n;
        else if (strcmp(a, "--block-max-txs") == 0 && num && n >= 1 && n <= GZ_BLOCK_TXS_MAX) o->block_max_txs = n;
        else if (strcmp(a, "--validators-only") == 0 && num && (n == 4 || n == 1)) o->only = (int)n;
        else if (strcmp(a, "--base-port") == 0 && num && n >= 1024 && n <= 65535 - 200) o->base_port = n;
        else return cli_die(CLI_EXIT_USAGE, "bench: bad flag or value: %s %s (see --help)", a, v);
    }
    if (o->latency_only && o->rate == 0) return cli_die(CLI_EXIT_USAGE, "bench: --latency-only needs --rate");
    /* Each holder's txs are submitted at once with consecutive nonces: the
     * mempool takes nonces at most GZ_MEMPOOL_NONCE_WINDOW above the committed
     * one, so a holder may not have more in flight. */
    uint64_t per_holder = (o->txs + o->accounts - 1) / o->accounts;
    if (per_holder > GZ_MEMPOOL_NONCE_WINDOW)
        return cli_die(CLI_EXIT_USAGE, "bench: --txs %llu over --accounts %llu is %llu txs per holder; the mempool "
                       "takes at most %u nonces ahead of a signer's committed one (use more --accounts)",
                       (unsigned long long)o->txs, (unsigned long long)o->accounts, (unsigned long long)per_holder,
                       GZ_MEMPOOL_NONCE_WINDOW);
    return CLI_EXIT_OK;
}

/* rl: the run the latency target is judged on; rh: the half-rate run (the
 * same run unless a 4,000 tx/s run was added), for the RSS bound. */
static void print_targets(const bench_result *r4, const bench_result *r1, const bench_result *rl,
                          const bench_result *rh) {
    if (r4->ran)
        printf("bench: target 4 validators >= 8000 tx/s: %s (%.0f)\n", r4->tps >= 8000 ? "met" : "MISSED", r4->tps);
    if (r1->ran)
        printf("bench: target 1 validator >= 30000 tx/s: %s (%.0f)\n", r1->tps >= 30000 ? "met" : "MISSED", r1->tps);
    if (rl->ran)
        printf("bench: target p99 <= 1500 ms at 4000 tx/s offered: %s (p99 %.0f ms at %.0f tx/s)\n",
               rl->p99_ms <= 1500 && rl->offered_tps >= 0.99 * BENCH_TARGET_LATENCY_RATE ? "met" : "MISSED",
               rl->p99_ms, rl->offered_tps);
    uint64_t rss = 0;
    const bench_result *all[4] = {r4, r1, rl, rh};
    bool any = false;
    for (int i = 0; i < 4; i++) {
        rss = all[i]->rss_kb_max > rss ? all[i]->rss_kb_max : rss;
        any |= all[i]->ran;
    }
    if (!any) return;
    printf("bench: target RSS < 256 MB per node: %s (largest %.1f MB)\n", rss < 256 * 1024 ? "met" : "MISSED",
           rss / 1024.0);
}

/* The root directory: DIR as given, or a new temporary one. */
static int make_root(bench *b) {
    if (b->o.dir != NULL) {
        snprintf(b->root, sizeof b->root, "%s", b->o.dir);
        return node_mkdirs(b->root) == GZ_OK ? CLI_EXIT_OK : cli_die(CLI_EXIT_FAIL, "bench: cannot create %s", b->root);
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(b->root, sizeof b->root, "%s/gongzhi-bench-XXXXXX", tmp != NULL && tmp[0] ? tmp : "/tmp");
    if (mkdtemp(b->root) == NULL) return cli_die(CLI_EXIT_FAIL, "bench: cannot create %s", b->root);
    return CLI_EXIT_OK;
}

/* One paced run on 4 validators at rate tx/s for --latency-s seconds. */
static void run_latency(bench *b, double rate, bench_result *r) {
    run_plan p = {.validators = 4, .latency = true, .rate_tps = rate};
    double txs = p.rate_tps * (double)b->o.latency_s;
    p.txs = txs < (double)b->o.txs ? (uint64_t)txs : b->o.txs;
    if (p.txs < 1) p.txs = 1;
    double per_post = p.rate_tps / 4 / BENCH_PACED_POSTS_PER_S;
    uint32_t batch = (uint32_t)b->o.batch;
    p.batch = per_post < 1 ? 1 : per_post > batch ? batch : (uint32_t)per_post;
    run_one(b, &p, r);
}

/* The runs: 4 validators, 1 validator, latency at half the first rate and,
 * when that is below the target's 4,000 tx/s, latency at 4,000 tx/s too, so
 * that the p99 target is measured where the issue sets it. */
static void run_all(bench *b, bench_result *r4, bench_result *r1, bench_result *rl, bench_result *rt) {
    uint32_t batch = (uint32_t)b->o.batch;
    if (b->o.storage_only) return;
    if (b->o.only != 1 && !bench_stop && !b->o.latency_only)
        run_one(b, &(run_plan){.validators = 4, .txs = b->o.txs, .batch = batch}, r4);
    if (b->o.only != 4 && !bench_stop && !b->o.latency_only)
        run_one(b, &(run_plan){.validators = 1, .txs = b->o.txs, .batch = batch}, r1);
    if (b->o.only == 1 || bench_stop) return;
    if (r4->tps <= 0 && b->o.rate == 0) {
        printf("bench: latency run skipped: the 4-validator run measured no rate\n");
        return;
    }
    run_latency(b, b->o.rate ? (double)b->o.rate : r4->tps / 2, rl);
    if (b->o.rate == 0 && r4->tps / 2 < BENCH_TARGET_LATENCY_RATE && !bench_stop)
        run_latency(b, BENCH_TARGET_LATENCY_RATE, rt);
}

int cli_bench(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "flood") == 0) return bench_flood(argc - 1, argv + 1);
    static bench b; /* large-ish and outlives every run */
    memset(&b, 0, sizeof b);
    int rc = parse_opts(argc, argv, &b.o);
    if (rc != CLI_EXIT_OK) return rc < 0 ? CLI_EXIT_OK : rc;
    /* No SA_RESTART: waits and sleeps return on a stop signal. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((rc = make_root(&b)) != CLI_EXIT_OK) return rc;
    double t = bench_now_ms();
    if (bench_keys_init(&b.k, b.o.accounts) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "bench: out of memory");
    printf("bench: %llu holder keys in %.1f s; data in %s\n", (unsigned long long)b.o.accounts,
           (bench_now_ms() - t) / 1000.0, b.root);
    fflush(stdout);
    bench_result r4 = {0}, r1 = {0}, rl = {0}, rt = {0};
    run_all(&b, &r4, &r1, &rl, &rt);
    bool storage_ok = true;
    if (b.o.storage_keys > 0 && !bench_stop && (b.o.storage_only || !b.o.latency_only)) {
        char dir[sizeof b.root + 16];
        snprintf(dir, sizeof dir, "%s/storage", b.root);
        gz_msg msg = {{0}};
        storage_ok = bench_storage(dir, b.o.storage_keys, &msg) == GZ_OK;
        if (!storage_ok) printf("bench: storage run FAILED: %s\n", msg.text);
    }
    print_targets(&r4, &r1, rt.ran ? &rt : &rl, &rl);
    bench_keys_free(&b.k);
    if (!b.o.keep && b.o.dir == NULL) remove_tree(b.root);
    bool ok = !bench_stop && (!r4.ran || r4.ok) && (!r1.ran || r1.ok) && (!rl.ran || rl.ok) &&
              (!rt.ran || rt.ok) && storage_ok;
    if (bench_stop) printf("bench: stopped by signal %d\n", (int)bench_stop);
    printf("bench: %s\n", ok ? "all checks passed" : "FAILED (see above)");
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}
