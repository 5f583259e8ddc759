/* State shared by the node's files: node.c (loop, consensus wiring, commit),
 * gossip.c (peer messages, block sync) and rpc_methods.c (JSON-RPC). */
#ifndef GZ_NODE_NODE_INTERNAL_H
#define GZ_NODE_NODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "consensus/cons.h"
#include "core/codec.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "node/chain.h"
#include "node/config.h"
#include "node/mempool.h"
#include "p2p/p2p.h"
#include "node/sigpool.h"
#include "node/signstate.h"
#include "node/wal.h"
#include "node/wire.h"
#include "rpc/rpc.h"
#include "storage/store.h"

/* Consensus timers in flight at once: propose, prevote and precommit of the
 * current round plus stale ones still pending; more are refused loudly. */
#define NODE_TIMERS_MAX 32
/* submit_tx_commit calls waiting for their tx at once. */
#define NODE_WAITERS_MAX 4096
/* Txs gossiped in one message, and how long a batch may wait to fill. */
#define NODE_TX_BATCH_MAX 512
#define NODE_TX_BATCH_MS 5
/* A syncing node logs its progress every this many heights. */
#define NODE_SYNC_LOG_EVERY 100
/* Blocks a syncing node asks one peer for at once. */
#define NODE_SYNC_WINDOW 16
/* Votes of one height kept for re-sending: a few rounds of every validator. */
#define NODE_HEIGHT_VOTES_MAX 1024
/* Votes for the next height kept until it starts: its first
 * CONS_FUTURE_ROUNDS rounds of both vote types of every validator. */
#define NODE_FUTURE_VOTES_MAX (2 * CONS_FUTURE_ROUNDS * GZ_VALIDATORS_MAX)
/* Rounds of one height whose proposal the WAL notes as logged; past that a
 * proposal is logged again on every re-send (correct, only larger). */
#define NODE_WAL_PROPS_MAX 64
/* With no consensus progress for this long, a node re-sends its votes. */
#define NODE_REBROADCAST_MS 1000
/* A peer silent for this long is dropped (and redialled if it is in the
 * config). A live peer sends at least a STATUS every NODE_REBROADCAST_MS or so
 * (after each commit, else with its re-sends); a TCP connection that lost its
 * path (a partition, a host gone) may stay open for minutes and, once the path
 * is back, wait out the retransmission back-off, while a new one starts at once. */
#define NODE_PEER_SILENT_MS 8000
/* With no commit for this long while a peer reports a higher height, a node
 * fetches the block instead of waiting for consensus messages it missed. */
#define NODE_SYNC_BEHIND_MS 2000

/* Txs admitted together (an RPC request's calls, a gossip message). */
#define NODE_ADMIT_BATCH_MAX 512

/* One tx of an admission batch: its bytes (borrowed), decoded form, verdict. */
typedef struct admit_item {
    const uint8_t *bytes;
    size_t len;
    gz_tx tx;
    uint8_t txid[32]; /* zero until the bytes decoded */
    int rc;
    gz_msg msg;
} admit_item;

/* A submit_tx(_commit) call waiting for its batch. */
typedef struct admit_queued {
    gz_buf bytes;
    rpc_call *call;
    bool wait;            /* submit_tx_commit: wait for the block */
    uint64_t timeout_ms;
} admit_queued;

/* WAL record types (node/wal.h): what was fed to consensus in this height. */
enum node_wal_rec {
    NODE_WAL_PROPOSAL = 1, /* payload of a NODE_MSG_PROPOSAL */
    NODE_WAL_VOTE = 2,     /* payload of a NODE_MSG_VOTE */
    NODE_WAL_TIMEOUT = 3   /* [height, round, step] */
};

typedef struct node_timer {
    uv_timer_t h;
    struct node *n;
    uint64_t height, round;
    uint8_t step;
    bool busy;
} node_timer;

typedef struct node_waiter {
    uint8_t txid[32];
    rpc_call *call;
    uint64_t deadline_ms;
    bool used;
} node_waiter;

typedef struct node_peer {
    int id;
    uint8_t pubkey[32];
    uint64_t height;    /* its committed height, from NODE_MSG_STATUS */
    uint64_t last_rx_ms; /* when it last sent anything */
    bool up;
} node_peer;

typedef struct node {
    uv_loop_t *loop;
    node_config cfg;
    gz_genesis g;
    uint8_t sk[32];
    uint8_t pk[32];
    int32_t my_index; /* -1: not a validator */
    store *st;
    ledger *lg;
    chain ch;
    mempool mp;
    cons cs;
    node_signstate ss;
    node_wal wal;
    bool replaying;   /* feeding the WAL back into consensus */
    rpc_server rpc;
    p2p net;
    bool net_on;
    node_peer peers[GZ_PEERS_MAX];
    node_timer timers[NODE_TIMERS_MAX];
    node_waiter waiters[NODE_WAITERS_MAX];
    size_t n_waiters;
    uv_timer_t tick;          /* waiters' deadlines, rebroadcast, sync */
    uv_timer_t tx_flush;      /* batched tx gossip */
    gz_buf tx_out;            /* txs waiting to be gossiped (encoded bins) */
    uint32_t tx_out_n;
    uv_signal_t sigint, sigterm;
    bool decided;             /* current height decided, start of next pending */
    uv_idle_t next_height;    /* starts the next height outside consensus callbacks */
    uv_idle_t txs_ready;      /* tells consensus about new txs on the next loop turn */
    uv_timer_t propose_wait;  /* tells it once the height is propose_wait_ms old */
    sigpool pool;             /* signature checks on worker threads */
    bool opened_pool;
    admit_queued queued[NODE_ADMIT_BATCH_MAX]; /* RPC submissions for the next batch */
    size_t n_queued;
    uv_idle_t admit_idle;     /* admits the queued batch on the next loop turn */
    uint64_t sync_target;     /* highest height a peer reported */
    uint64_t last_progress_ms; /* when the last block was committed (or the node started): the current height began then */
    uint64_t last_resend_ms;   /* when the votes were last re-sent for lack of progress */
    uint64_t started_ms;
    bool stopping;
    /* The current height's consensus messages, encoded, to re-send to peers
     * that missed them (a new peer, or no progress for a while). */
    gz_buf height_votes[NODE_HEIGHT_VOTES_MAX];
    size_t n_height_votes;
    gz_buf height_prop;       /* the latest proposal payload of this height */
    uint64_t wal_props[NODE_WAL_PROPS_MAX]; /* rounds whose proposal is in the WAL */
    size_t n_wal_props;
    gz_buf future_prop;       /* a proposal for the next height that came early */
    gz_buf future_votes[NODE_FUTURE_VOTES_MAX]; /* votes for the next height */
    size_t n_future_votes;
    bool feeding_future;      /* node_feed_future is running */
    uint64_t sync_req_ms;     /* when the last block request went out */
    uint64_t sync_req_height;
    bool syncing;             /* committing blocks fetched from peers, for the log */
    uint64_t sync_from;       /* committed height when this sync began */
    uint64_t sync_start_ms;
    bool opened_rpc, opened_wal, opened_ss;
} node;

/* Wall clock in ms since the epoch. */
uint64_t node_now_ms(void);
/* Log one line to stderr with a timestamp. */
void node_log(node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* admit.c: admits a batch (SPEC §2 stateless checks, signatures in parallel,
 * then nonce and mempool in order); each item gets rc and msg. Gossips the
 * admitted txs when gossip is true. */
void node_admit_batch(node *n, admit_item *items, size_t k, bool gossip);
/* Whether consensus may be told now that txs are available: a full block is
 * waiting, or the height began (last_progress_ms) at least config
 * propose_wait_ms ago. When not, arms a timer that tells it when that time
 * comes (and txs remain). */
bool node_txs_ready_now(node *n, uint64_t now_ms);
/* Queues an RPC submission (takes over bytes) for the next batch. */
int node_admit_enqueue(node *n, gz_buf *bytes, rpc_call *call, bool wait, uint64_t timeout_ms);
void node_admit_free(node *n);
/* rpc_methods.c: answers a queued submission once its batch is admitted. */
void node_admit_answer(node *n, rpc_call *call, const admit_item *it, bool wait, uint64_t timeout_ms);

/* gossip.c */
void node_gossip_tx(node *n, const uint8_t *bytes, size_t len);
/* Broadcast an encoded own proposal / vote (and keep the vote for re-sends). */
void node_gossip_proposal(node *n, const gz_buf *payload);
void node_gossip_vote(node *n, const gz_buf *payload);
void node_gossip_status(node *n);
void node_gossip_resend(node *n, int peer_id);
void node_on_peer_up(void *ctx, int peer_id, const uint8_t pubkey[32]);
void node_on_peer_down(void *ctx, int peer_id, const char *reason);
void node_on_message(void *ctx, int peer_id, uint8_t type, const uint8_t *payload, size_t len);
void node_sync_tick(node *n);
/* Feeds the proposal and votes kept for the height that just started. */
void node_feed_future(node *n);
int node_handle_proposal(node *n, const uint8_t *payload, size_t len, gz_msg *msg);
int node_handle_vote(node *n, const uint8_t *payload, size_t len, gz_msg *msg);
GZ_WUR int node_encode_vote(node *n, const cons_vote *v, gz_buf *out);
GZ_WUR int node_encode_proposal(node *n, const cons_proposal *p, gz_buf *out);

/* node.c: after a block is committed (by consensus or by sync). */
void node_after_commit(node *n, const chain_block *b);
/* Commits a block learnt through sync after checking its commit. */
int node_apply_synced(node *n, const uint8_t *block, size_t block_len, const uint8_t *commit,
                      size_t commit_len, gz_msg *msg);

/* rpc_methods.c */
extern const rpc_method node_rpc_methods[];
extern const size_t node_rpc_methods_n;
/* Answers waiting submit_tx_commit calls for the txs of a committed block. */
void node_waiters_notify(node *n, const chain_block *b);
void node_waiters_expire(node *n, uint64_t now_ms);

#endif
