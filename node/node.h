/* The node engine: consensus, the chain, admission, gossip and block sync of
 * one gongzhi node, driven by a host.
 *
 * The engine does no I/O of its own apart from its store, its write-ahead log
 * and its sign state. Everything else it needs from the world comes through a
 * node_env table that the host fills in, in the spirit of cons_callbacks:
 * time (monotonic for every deadline and timer, wall only for block and vote
 * times), timers, sending to peers, logging, and the answers to submissions
 * and commits. The host calls back into the engine when a timer fires, a peer
 * comes or goes, a message arrives, or a client submits a tx.
 *
 * Two hosts exist: node/host_uv.c runs one engine on a libuv loop with the
 * p2p transport and the JSON-RPC server (node_run), and tests/sim runs many
 * engines in one process over a simulated network, clock and storage.
 *
 * Re-entrancy: every engine call may call env functions synchronously; env
 * functions must not call back into the engine (hosts defer to the next turn
 * with a timer of delay 0). One engine is used by one thread. */
#ifndef GZ_NODE_NODE_H
#define GZ_NODE_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/cons.h"
#include "core/codec.h"
#include "core/err.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "node/chain.h"
#include "node/config.h"
#include "storage/store.h"

/* Consensus timers in flight at once: propose, prevote and precommit of the
 * current round plus stale ones still pending; the oldest is reused. */
#define NODE_CONS_TIMERS 32

/* The engine's timers, by number. A host keeps one one-shot timer per number:
 * timer_start re-arms it, timer_stop cancels it, and when it fires the host
 * calls node_on_timer with the number. Delay 0 means "on the next turn". */
enum node_timer_id {
    NODE_TIMER_CONS = 0,                          /* .. + NODE_CONS_TIMERS - 1 */
    NODE_TIMER_TICK = NODE_CONS_TIMERS,           /* periodic work, every 100 ms */
    NODE_TIMER_TX_FLUSH,                          /* batched tx gossip */
    NODE_TIMER_PROPOSE_WAIT,                      /* the height is propose_wait_ms old */
    NODE_TIMER_NEXT_HEIGHT,                       /* start the next height */
    NODE_TIMER_TXS_READY,                         /* tell consensus about new txs */
    NODE_TIMER_ADMIT,                             /* admit the queued submissions */
    NODE_TIMER_STORAGE_RETRY,                     /* retry a failed WAL, store or sign-state write */
    NODE_TIMERS_N
};

/* One submission's verdict (SPEC §6 admission): rc and msg, and the txid once
 * the bytes decoded. */
typedef struct node_admission {
    int rc;
    bool have_txid;
    uint8_t txid[32];
    const gz_msg *msg;
} node_admission;

/* Test toggles: an engine with one of these set breaks one rule on purpose,
 * so that the simulator can show it catches the break (like CONS_FAULT_*).
 * Never set outside tests. */
enum node_fault {
    NODE_FAULT_ADMIT_NO_SIG = 1u << 0,    /* admission lets a bad signature in */
    NODE_FAULT_CHAIN_NO_DUP = 1u << 1,    /* block checks let an already committed tx in */
    /* A Byzantine proposer's: admission takes committed txs and used nonces,
     * and its blocks take txs whatever their nonce, so they carry them. */
    NODE_FAULT_ADMIT_COMMITTED = 1u << 2,
    /* Consensus keeps weighing votes by the genesis set's powers after the
     * set changed (the indices genesis had keep their genesis power). */
    NODE_FAULT_OLD_POWERS = 1u << 3
};

typedef struct node_env {
    void *ctx;
    /* Milliseconds from an arbitrary origin that never goes back: deadlines,
     * timers, peer silence, re-sends. */
    uint64_t (*mono_ms)(void *ctx);
    /* Milliseconds since the epoch: block and vote times only. */
    uint64_t (*wall_ms)(void *ctx);
    void (*timer_start)(void *ctx, unsigned timer, uint64_t delay_ms);
    void (*timer_stop)(void *ctx, unsigned timer);
    /* Sends one message (type >= 16, docs/p2p.md) to peer, or to every peer
     * when peer < 0. A failed send means the peer is gone or too slow. */
    void (*send)(void *ctx, int peer, uint8_t type, const uint8_t *payload, size_t len);
    /* Drops a peer that broke the protocol. */
    void (*disconnect)(void *ctx, int peer, const char *why);
    /* One log line, without newline or time. */
    void (*log)(void *ctx, const char *line);
    /* A submission queued with node_submit has its verdict (tag as given). */
    void (*admitted)(void *ctx, void *tag, const node_admission *a);
    /* A block was committed (by consensus or by sync); b and its execution
     * results are valid during the call. May be NULL. */
    void (*committed)(void *ctx, const chain_block *b);
} node_env;

/* What the engine is opened with. The host opened the store; it outlives the
 * engine (a simulated crash closes the engine and keeps the store). */
typedef struct node_open_args {
    const gz_genesis *genesis;  /* borrowed: outlives the engine */
    uint8_t seckey[32];
    store *st;
    const char *wal_path;       /* consensus write-ahead log */
    const char *signstate_path; /* double-sign protection (node/signstate.h) */
    unsigned sig_workers;       /* signature-check threads (0: inline) */
    uint64_t propose_wait_ms;   /* node config propose_wait_ms */
    bool networked;             /* has peers: gossip, re-sends and sync run */
    unsigned test_faults;       /* enum node_fault; 0 outside tests */
    unsigned cons_test_faults;  /* CONS_FAULT_*; 0 outside tests */
} node_open_args;

typedef struct node node;

/* Opens an engine: the ledger and chain over args->st, the sign state, the
 * WAL. Nothing runs until node_start. Returns GZ_OK or an error with msg. */
GZ_WUR int node_open(node **out, const node_open_args *args, const node_env *env, gz_msg *msg);
/* Enters the first uncommitted height, replays what the WAL holds of it and
 * arms the periodic tick. */
void node_start(node *n);
/* Frees everything the engine holds (not the store). Pending submissions
 * get no answer: the host drops its calls. */
void node_close(node *n);

/* ---- events from the host ---- */
void node_on_timer(node *n, unsigned timer);
void node_on_peer_up(node *n, int peer, const uint8_t pubkey[32]);
void node_on_peer_down(node *n, int peer, const char *reason);
/* Whether a key was dropped for a message that could not be valid within
 * the last NODE_BAN_MS (60 s); never a validator's. The host refuses such a
 * key at the handshake. */
bool node_peer_banned(const node *n, const uint8_t pubkey[32]);
void node_on_message(node *n, int peer, uint8_t type, const uint8_t *payload, size_t len);
/* Queues a submission (takes over bytes) for the next admission batch; its
 * verdict comes through env->admitted with tag. */
GZ_WUR int node_submit(node *n, gz_buf *bytes, void *tag);

/* ---- what the host may read ---- */
typedef struct node_status {
    uint64_t height;            /* last committed */
    uint8_t block_id[32];
    uint64_t time;              /* its block time */
    int32_t validator_index;    /* -1: a full node */
    uint8_t pub_key[32];
    size_t peers;
    size_t mempool_txs;
    size_t mempool_ready;       /* signers with a tx the next block can take */
    mempool_stats mempool_stats; /* evictions and refusals by the caps */
    uint64_t round;
    uint8_t step;               /* cons step */
    uint64_t sync_target;       /* highest height a peer reported */
    bool catching_up;
    /* A write to the WAL, the store or the sign state failed: the node
     * signs and commits nothing until it succeeds again (docs/operations.md). */
    bool storage_halted;
    bool disk_full;             /* ... and the failure was a full disk */
} node_status;

void node_status_get(const node *n, node_status *out);
const gz_genesis *node_genesis(const node *n);
/* Whether pk is a validator of the current set. Asked on every connection,
 * since the set may change: callers keep no copy of it. */
bool node_is_validator(const node *n, const uint8_t pk[32]);
/* The WAL's length and how much of it the last sync made durable: a host
 * that simulates a crash may cut the file anywhere between the two. */
void node_wal_extent(const node *n, uint64_t *synced, uint64_t *written);
ledger *node_ledger(node *n);
chain *node_chain(node *n);

/* Opens a node from its home (config, genesis, key, data) and runs it on a
 * libuv loop until SIGINT or SIGTERM (node/host_uv.c). Returns GZ_OK after a
 * clean stop, or an error with msg saying what could not be opened. */
GZ_WUR int node_run(const node_config *cfg, gz_msg *msg);

#endif
