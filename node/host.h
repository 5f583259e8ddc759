/* The libuv host of the node engine (node/host_uv.c) and its JSON-RPC
 * methods (node/rpc_methods.c): one engine on one loop, with the p2p
 * transport, the RPC server and the waits of submit_tx_commit. */
#ifndef GZ_NODE_HOST_H
#define GZ_NODE_HOST_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "ledger/genesis.h"
#include "node/config.h"
#include "node/node.h"
#include "p2p/p2p.h"
#include "rpc/rpc.h"
#include "storage/store.h"

/* Submissions awaiting their verdict: the engine queues at most
 * GZ_ADMIT_BATCH_MAX and, when one more comes, answers those before it takes
 * it, so that one more slot is all the host needs. */
#define HOST_SUBMITS_MAX (GZ_ADMIT_BATCH_MAX + 1)

typedef struct host_waiter {
    uint8_t txid[32];
    rpc_call *call;
    uint64_t deadline_ms; /* monotonic */
    bool used;
} host_waiter;

/* One queued submission, the engine's tag for it. */
typedef struct host_submit {
    rpc_call *call;
    bool wait;            /* submit_tx_commit: wait for the block */
    uint64_t timeout_ms;
    bool used;
} host_submit;

typedef struct node_host node_host;

typedef struct host_timer {
    uv_timer_t h;
    node_host *host;
    unsigned id;
} host_timer;

struct node_host {
    uv_loop_t loop;
    node_config cfg;
    gz_genesis g;
    bool opened_g;
    store *st;
    node *eng;
    rpc_server rpc;
    bool opened_rpc;
    p2p net;
    bool net_on;
    host_timer timers[NODE_TIMERS_N];
    uv_timer_t wait_tick;     /* expires submit_tx_commit waits */
    uv_signal_t sigint, sigterm;
    host_submit submits[HOST_SUBMITS_MAX];
    host_waiter waiters[GZ_COMMIT_WAITERS_MAX];
    size_t n_waiters;
    host_waiter *sorted[GZ_COMMIT_WAITERS_MAX];
    bool stopping;
};

/* Monotonic milliseconds (CLOCK_MONOTONIC): every deadline of the host. */
static inline uint64_t host_mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* rpc_methods.c */
extern const rpc_method host_rpc_methods[];
extern const size_t host_rpc_methods_n;
extern const unsigned host_rpc_costs[]; /* one per method, in the table's order */
/* env->admitted and env->committed of the libuv host. */
void host_admitted(void *ctx, void *tag, const node_admission *a);
void host_committed(void *ctx, const chain_block *b);
void host_waiters_expire(node_host *h, uint64_t now_ms);

#endif
