/* `gongzhi bench` internals: a real network of validator processes on
 * loopback (bench_net.c) and the load that is pre-signed, submitted over
 * JSON-RPC and watched until committed (bench_load.c). bench.c runs the
 * measurements and prints the RESULT lines (docs/performance.md). */
#ifndef GZ_TOOLS_BENCH_H
#define GZ_TOOLS_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"
#include "core/limits.h"
#include "node/config.h"

/* The benchmark runs 4 or 1 validators. */
#define BENCH_NODES_MAX 4
/* Open GENERAL proposals that the votes go to, at most. */
#define BENCH_PROPOSALS_MAX 64

/* Deterministic keys: holders, validators and the four authorities. Holder i's
 * secret key is SHA256("gongzhi-bench" || i as 8 bytes big-endian). */
typedef struct bench_keys {
    uint64_t n_accounts;
    uint8_t (*sk)[32];
    uint8_t (*pk)[32];
    uint8_t val_sk[BENCH_NODES_MAX][32];
    uint8_t val_pk[BENCH_NODES_MAX][32];
    uint8_t auth_sk[4][32]; /* enum gz_role order */
    uint8_t auth_pk[4][32];
} bench_keys;

/* Makes n_accounts holder keys and the fixed ones. GZ_OK or GZ_ENOMEM. */
GZ_WUR int bench_keys_init(bench_keys *k, uint64_t n_accounts);
void bench_keys_free(bench_keys *k);

/* A running network: node i serves RPC on 127.0.0.1:rpc_base+i. */
typedef struct bench_net {
    char dir[NODE_PATH_MAX];
    int n;
    uint16_t rpc_base;
    pid_t pids[BENCH_NODES_MAX];
    char urls[BENCH_NODES_MAX][64];
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    uint64_t rss_max_kb[BENCH_NODES_MAX]; /* largest VmRSS sampled */
    uint64_t hwm_kb[BENCH_NODES_MAX];     /* VmHWM read before stopping */
    double cpu_s[BENCH_NODES_MAX];        /* user + system CPU, read before stopping */
} bench_net;

/* Creates genesis and homes for n validators under dir (which must not hold a
 * network yet) and starts each node as a child process that dies with the
 * bench. block_max_txs overrides the genesis default when non-zero. On failure
 * every started node is stopped again. */
GZ_WUR int bench_net_start(bench_net *net, const char *dir, int n, uint16_t rpc_base,
                                uint64_t block_max_txs, const bench_keys *k, gz_msg *msg);
/* Waits until every node answers `status` and sees its n-1 peers. */
GZ_WUR int bench_net_wait_ready(const bench_net *net, int timeout_ms, gz_msg *msg);
/* Samples each node's VmRSS into rss_max_kb. */
void bench_net_sample_rss(bench_net *net);
/* Reads each node's CPU time so far into cpu_s. */
void bench_net_sample_cpu(bench_net *net);
/* Reads VmHWM, stops every node (SIGTERM, then SIGKILL after a grace period)
 * and reaps it. Safe to call twice. */
void bench_net_stop(bench_net *net);
/* True if any node has exited; names it in msg. */
bool bench_net_died(bench_net *net, gz_msg *msg);

/* One measured run's load: the txs in submission order and their fate. */
typedef struct bench_tx {
    uint8_t txid[32];
    uint32_t batch;
    uint32_t seen;     /* times observed in a committed block */
    int32_t code;      /* admission code; -1 = no answer */
    double commit_ms;  /* first observed in a committed block */
} bench_tx;

typedef struct bench_batch {
    int node;
    uint32_t first, n; /* txs[first .. first+n) */
    char *body;        /* the JSON-RPC batch, built before the timed window */
    size_t len;
    double submit_ms;
} bench_batch;

typedef struct bench_load {
    bench_tx *txs;
    size_t n_txs;
    bench_batch *batches;
    size_t n_batches;
    uint32_t *index; /* open addressing: txid -> position in txs, UINT32_MAX empty */
    size_t index_cap;
    size_t n_votes, n_anchors;
    size_t vote_pairs; /* distinct (account, proposal) pairs among the votes */
} bench_load;

/* What the load is made of. */
typedef struct bench_spec {
    uint64_t n_txs;
    uint32_t batch_txs;  /* txs per POST */
    int n_nodes;         /* account i submits to node i % n_nodes */
    const char *chain_id;
    uint32_t n_props;    /* 0: anchors only */
    const uint8_t (*props)[32];
    uint32_t salt;       /* makes artifacts distinct per network */
} bench_spec;

/* Pre-signs the load: holder a's txs have nonces 0, 1, …, alternately VOTE
 * (a + nonce even, on an open proposal) and ANCHOR, and the JSON-RPC batches
 * are built. Uses all cores. GZ_OK, GZ_ENOMEM or GZ_EARG. */
GZ_WUR int bench_load_build(bench_load *l, const bench_keys *k, const bench_spec *s, gz_msg *msg);
void bench_load_free(bench_load *l);

/* How the load is offered: as fast as the nodes admit (rate_tps 0), or paced. */
typedef struct bench_drive {
    double rate_tps;
    int stall_ms;      /* give up when nothing commits for this long */
    double t0_ms;      /* the clock's zero (bench_now_ms) */
    bool verbose;      /* print a line per block */
} bench_drive;

/* Measured outcome of one run. */
typedef struct bench_outcome {
    size_t admitted, refused, committed, missing, duplicated, foreign;
    double first_submit_ms, last_submit_ms, last_commit_ms;
    double p50_ms, p99_ms, max_ms;
    uint64_t blocks, first_height, last_height, log_size_end;
    uint64_t rounds_extra, max_round; /* over our blocks: sum and largest decision round */
    double node_cpu_s[BENCH_NODES_MAX];   /* CPU each node used during the run */
    double client_cpu_s;                  /* CPU this process used during the run */
    double machine_cpu_s;                 /* CPU every process on the machine used */
    double wall_s;                        /* the run's wall time */
    char refusal[200]; /* the first refusal's message */
    size_t poll_errors;  /* status/block polls that failed (and were retried) */
    char poll_error[200];
    bool stalled, stopped;
} bench_outcome;

/* Submits l to net from one thread per node while the calling thread polls
 * node 0 for committed blocks, until every admitted tx is seen or nothing
 * commits for drive->stall_ms. */
GZ_WUR int bench_load_run(bench_load *l, bench_net *net, const bench_drive *d, bench_outcome *o,
                               gz_msg *msg);

/* The storage run (tools/bench_storage.c): writes `keys` ledger-shaped keys
 * into a RocksDB store in dir, then prints the average time of a read of an
 * absent and of a present key as a RESULT_STORAGE line. Returns GZ_OK, or an
 * error with msg (a failed write, or reads that found the wrong keys). */
GZ_WUR int bench_storage(const char *dir, uint64_t keys, gz_msg *msg);

/* `gongzhi bench flood` (tools/bench_flood.c): hostile txs for a running
 * node's JSON-RPC; argv[0] is "flood". Returns a CLI exit code. */
int bench_flood(int argc, char **argv);

/* Monotonic milliseconds. */
double bench_now_ms(void);
/* Sleeps for ms (to the microsecond), or less if a signal arrives. */
void bench_sleep_ms(double ms);
/* Set by SIGINT/SIGTERM: every loop gives up. */
extern volatile int bench_stop;

#endif
