/* The engine's state, shared by the files of the running node. Nothing
 * outside node/ includes this header.
 *
 * The files call each other one way only (docs/architecture.md):
 *
 *   node.c      the engine: open, consensus callbacks, timers, dispatch, WAL replay
 *     -> gossip.c   incoming proposals, votes and txs; next-height buffering
 *       -> evidence.c   an equivocation seen becomes an EVIDENCE tx
 *     -> sync.c     peers, committed heights, block requests and answers
 *       -> commit.c     committing a decided or synced block
 *       -> admit.c      admission batches, the propose wait
 *         -> outbox.c     what the node sends: encodings, tx batches, re-sends,
 *                         the WAL notes and the log
 *           -> chain.c, mempool.c, wal.c, signstate.c, sigpool.c
 *
 * host_uv.c and rpc_methods.c are the libuv host; they use node.h only. */
#ifndef GZ_NODE_NODE_INTERNAL_H
#define GZ_NODE_NODE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "consensus/cons.h"
#include "core/codec.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "node/chain.h"
#include "node/mempool.h"
#include "node/node.h"
#include "node/sigpool.h"
#include "node/signstate.h"
#include "node/wal.h"
#include "node/wire.h"
#include "storage/store.h"

/* How long a tx gossip batch may wait to fill. */
#define NODE_TX_BATCH_MS 5
/* The periodic tick: peer silence, sync, re-sends. */
#define NODE_TICK_MS 100
/* A syncing node logs its progress every this many heights. */
#define NODE_SYNC_LOG_EVERY 100
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
/* An unanswered block request is sent again, to another peer, after this long. */
#define NODE_SYNC_RETRY_MS 500
/* A peer that claims a height and leaves a request for it unanswered has its
 * claims ignored for this long, doubled for each further miss in a row up to
 * NODE_SYNC_IGNORE_MS_MAX (a liar about its height cannot keep a node
 * asking it). Until such a peer answers a request again, its claims count
 * neither for sync_target nor for catching_up. */
#define NODE_SYNC_IGNORE_MS 2000
#define NODE_SYNC_IGNORE_MS_MAX 30000
/* A peer not in the validator set dropped for a message that cannot be valid
 * is refused for this long when it comes back with the same key. */
#define NODE_BAN_MS 60000
/* Block requests a node answers per peer and second (a burst of as many):
 * an honest syncing peer asks one height after another, each after the last
 * answer; a peer asking faster only costs store reads, so the rest wait. */
#define NODE_BLOCK_REQS_PER_S 200
#define NODE_BANS_MAX 64
/* After a failed WAL, store or sign-state write, the node tries again this
 * often: soon enough to resume within a second of space coming back, rare
 * enough that a full disk costs nothing. */
#define NODE_STORAGE_RETRY_MS 500
/* Rounds of one height per validator whose votes the WAL index remembers
 * (node_vote_seen): consensus keeps full vote sets of CONS_ROUND_SLOTS
 * rounds and CONS_FAR_ROUNDS far ones per validator; twice that leaves room
 * for rounds consensus evicted and may see again. */
#define NODE_WAL_VOTE_ROUNDS (2 * (CONS_ROUND_SLOTS + CONS_FAR_ROUNDS))

/* One tx of an admission batch: its bytes (borrowed), decoded form, verdict. */
typedef struct admit_item {
    const uint8_t *bytes;
    size_t len;
    gz_tx tx;
    uint8_t txid[32]; /* zero until the bytes decoded */
    int rc;
    gz_msg msg;
} admit_item;

/* A submission waiting for the next batch. */
typedef struct admit_queued {
    gz_buf bytes;
    void *tag;
} admit_queued;

/* WAL record types (node/wal.h): what was fed to consensus in this height. */
enum node_wal_rec {
    NODE_WAL_PROPOSAL = 1, /* payload of a NODE_MSG_PROPOSAL */
    NODE_WAL_VOTE = 2,     /* payload of a NODE_MSG_VOTE */
    NODE_WAL_TIMEOUT = 3   /* [height u64be, round u64be, step u8] */
};

typedef struct node_cons_timer {
    uint64_t height, round;
    uint8_t step;
    bool busy;
} node_cons_timer;

/* Who cast a vote kept for re-sending. Consensus counts an equivocating
 * validator once for each of two values (its first vote and its first
 * conflicting one, consensus/cons_votes.c), so a node keeps, logs and
 * re-sends those two per (validator, round, type), which lets every honest
 * node count a POL some of them completed with the second; more are dropped. */
typedef struct node_vote_key {
    uint32_t validator;
    uint64_t round;
    uint8_t type;
} node_vote_key;

/* What node_vote_seen finds for a vote: none of its key (NEW), these very
 * bytes (KNOWN), one other vote of its key (SECOND: keep it too), two
 * (EXTRA: drop it). */
enum node_vote_seen { NODE_VOTE_NEW = 0, NODE_VOTE_KNOWN, NODE_VOTE_SECOND, NODE_VOTE_EXTRA };

/* What node_storage_failed halts on (bits of node.halted). */
enum node_halt { NODE_HALT_WAL = 1u << 0, NODE_HALT_STORE = 1u << 1, NODE_HALT_SIGNSTATE = 1u << 2 };

/* The WAL index of one validator's votes in one round: the digests of the
 * (at most two, node_vote_key) votes of each type logged this height. */
typedef struct node_wal_votes {
    bool used;
    uint64_t round;
    uint8_t n[2];             /* by type - 1 */
    uint8_t digest[2][2][32]; /* [type - 1][k]: SHA-256 of the vote message */
} node_wal_votes;

typedef struct node_peer {
    int id;
    uint8_t pubkey[32];
    uint64_t height;     /* its committed height as it claims (NODE_MSG_STATUS): a hint */
    uint64_t last_rx_ms; /* monotonic: when it last sent anything */
    uint64_t ignore_until_ms; /* its height claims count for nothing until then */
    uint32_t misses;     /* block requests it left unanswered in a row */
    uint32_t req_tokens; /* block requests it may still make (NODE_BLOCK_REQS_PER_S) */
    uint64_t req_refill_ms;
    bool req_limit_logged; /* said once that its requests are over the rate */
    bool up;
} node_peer;
/* Equivocations this node already submitted evidence for (a ring). */
#define NODE_EVIDENCE_SENT_MAX 16
typedef struct node_evidence_sent {
    uint8_t validator[32];
    uint64_t height;
} node_evidence_sent;

/* A key refused for a while (NODE_BAN_MS). */
typedef struct node_ban {
    uint8_t pubkey[32];
    uint64_t until_ms;
} node_ban;

struct node {
    node_env env;
    gz_genesis g;
    uint8_t sk[32];
    uint8_t pk[32];
    int32_t my_index; /* -1: not a validator of the current height */
    uint8_t valset_hash[32]; /* of the set consensus has */
    uint64_t propose_wait_ms;
    bool net_on;
    unsigned test_faults; /* enum node_fault */
    unsigned cons_test_faults;
    store *st;            /* the host's */
    ledger *lg;
    chain ch;
    mempool mp;
    cons cs;
    node_signstate ss;
    node_wal wal;
    sigpool pool;
    bool opened_ledger, opened_chain, opened_mp, opened_cons, opened_ss, opened_wal, opened_pool;
    bool replaying;           /* feeding the WAL back into consensus */
    bool timer_armed[NODE_TIMERS_N];
    node_peer peers[GZ_PEERS_MAX];
    node_cons_timer cons_timers[NODE_CONS_TIMERS];
    gz_buf tx_out;            /* txs waiting to be gossiped (encoded bins) */
    uint32_t tx_out_n;
    bool decided;             /* current height decided, start of next pending */
    admit_queued queued[GZ_ADMIT_BATCH_MAX]; /* submissions for the next batch */
    size_t n_queued;
    uint64_t sync_target;      /* highest height a peer reported */
    uint64_t last_progress_ms; /* monotonic: when the current height began */
    uint64_t last_resend_ms;   /* when the votes were last re-sent for lack of progress */
    /* The current height's consensus messages, encoded, to re-send to peers
     * that missed them (a new peer, or no progress for a while). */
    gz_buf height_votes[GZ_HEIGHT_VOTES_MAX];
    node_vote_key height_vote_keys[GZ_HEIGHT_VOTES_MAX];
    size_t n_height_votes;
    gz_buf height_prop;       /* the latest proposal payload of this height */
    bool has_prop_id;         /* the block of the latest proposal consensus took */
    uint8_t prop_id[32];
    uint64_t wal_props[NODE_WAL_PROPS_MAX]; /* rounds whose proposal is in the WAL */
    size_t n_wal_props;
    gz_buf future_prop;       /* a proposal for the next height that came early */
    gz_buf future_votes[NODE_FUTURE_VOTES_MAX]; /* votes for the next height */
    size_t n_future_votes;
    bool feeding_future;      /* node_feed_future is running */
    uint64_t sync_req_ms;     /* when the last block request went out */
    uint64_t sync_req_height;
    int sync_req_peer;        /* the peer asked, -1 when none */
    uint32_t sync_rr;         /* where the next choice of a peer to ask starts */
    node_ban bans[NODE_BANS_MAX];
    node_evidence_sent evidence_sent[NODE_EVIDENCE_SENT_MAX];
    uint32_t evidence_sent_next;
    admit_item evidence_item;
    bool syncing;             /* committing blocks fetched from peers, for the log */
    uint64_t sync_from;       /* committed height when this sync began */
    uint64_t sync_start_ms;
    /* Which votes of this height the WAL holds, per validator: it decides
     * what is logged and what is a duplicate, whatever the re-send set
     * above could keep. */
    node_wal_votes wal_votes[GZ_VALIDATORS_MAX][NODE_WAL_VOTE_ROUNDS];
    /* Storage failures: while halted is not 0 the node signs nothing, and a
     * decided block whose commit could not be written is kept and retried
     * on NODE_TIMER_STORAGE_RETRY before the next height starts. */
    unsigned halted;          /* enum node_halt */
    bool halt_disk_full;      /* one of the failures was a full disk */
    gz_buf own_pending;       /* an own message signed but not sent: its WAL append failed */
    uint8_t own_pending_type; /* NODE_WAL_VOTE or NODE_WAL_PROPOSAL */
    uint64_t own_pending_height;
    node_vote_key own_pending_key;
    bool commit_pending;
    uint8_t pending_id[32];
    gz_commit pending_commit;
    /* Scratch space of the engine's own (large, one use at a time). */
    gz_commit scratch_commit;
    admit_item scratch_items[GZ_ADMIT_BATCH_MAX];
    const gz_tx *scratch_ptrs[GZ_ADMIT_BATCH_MAX];
    int scratch_rcs[GZ_ADMIT_BATCH_MAX];
    size_t scratch_idx[GZ_ADMIT_BATCH_MAX];
};

/* The validator set of the height after the committed one: the current
 * height's, or the next one's between a commit and its start. */
static inline const ledger_valset *node_valset(const node *n) { return ledger_validators_next(n->lg); }

/* ---- outbox.c: what the node says, and its log ---- */
static inline uint64_t node_mono_ms(const node *n) { return n->env.mono_ms(n->env.ctx); }
static inline uint64_t node_wall_ms(const node *n) { return n->env.wall_ms(n->env.ctx); }
void node_log(node *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void node_timer_start(node *n, unsigned timer, uint64_t delay_ms);
void node_timer_stop(node *n, unsigned timer);
/* Sends to one peer, or all when peer < 0 (nothing while replaying). */
void node_send(node *n, int peer, uint8_t type, const uint8_t *data, size_t len);
void node_send_u64(node *n, int peer, uint8_t type, uint64_t v);
void node_drop_peer(node *n, int peer, const char *why);
/* Whether a proposal of this round is in the WAL already; notes it if not.
 * One per round: a second, different one is the proposer's equivocation. */
bool node_proposal_logged(node *n, uint64_t round);
/* Appends a record to the WAL (nothing while replaying). With sync the
 * record is durable before this returns. A failed append halts signing
 * (node_storage_failed): what consensus sees next may not be in the log.
 * Returns whether the record was appended (or replaying). */
bool node_wal_note(node *n, uint8_t type, const uint8_t *payload, size_t len, bool sync);
/* Logs an own vote or proposal with sync before it is sent. false: it must
 * not be sent; it is kept and sent once the WAL is healed. */
bool node_wal_note_own(node *n, uint8_t type, const gz_buf *payload, const node_vote_key *key);
/* Records a failed write (what: enum node_halt) of path with error rc:
 * halts signing, logs once (naming a full disk "disk full"), arms the retry. */
void node_storage_failed(node *n, unsigned what, int rc, const char *path, const char *detail);
/* Heals the WAL (node_wal_heal), logs the height's kept messages again and
 * sends the own message that was held back. Returns whether the WAL works. */
bool node_wal_recover(node *n);
/* Empties the WAL index of votes (a new height). */
void node_wal_votes_reset(node *n);
void node_gossip_tx(node *n, const uint8_t *bytes, size_t len);
void node_flush_txs(node *n);
/* Broadcasts an encoded own proposal / vote and keeps it for re-sends. */
void node_gossip_proposal(node *n, const gz_buf *payload);
void node_gossip_vote(node *n, const gz_buf *payload, const node_vote_key *key);
void node_gossip_status(node *n);
void node_gossip_resend(node *n, int peer);
/* How the votes the WAL holds of this height relate to this one (enum
 * node_vote_seen). A vote of a round the index has no room for (its
 * validator's NODE_WAL_VOTE_ROUNDS rounds are all nearer the current round or
 * pinned) counts as KNOWN: dropped unlogged, like a duplicate. */
int node_vote_seen(const node *n, const uint8_t *payload, size_t len, const node_vote_key *key);
/* Notes a NEW or SECOND vote in the WAL index and keeps it for re-sending.
 * A full re-send set gives up its lowest round for a higher one, so an
 * equivocator cannot crowd out the rounds in progress. */
void node_remember_vote(node *n, const uint8_t *payload, size_t len, const node_vote_key *key);
void node_remember_proposal(node *n, const uint8_t *payload, size_t len);
/* The signed forms (SPEC §4) of consensus' vote and proposal. */
void node_vote_from_cons(const node *n, const cons_vote *v, gz_vote *gv);
void node_proposal_from_cons(const node *n, const cons_proposal *p, gz_proposal *gp);
GZ_WUR int node_encode_vote(node *n, const cons_vote *v, gz_buf *out);
GZ_WUR int node_encode_proposal(node *n, const cons_proposal *p, gz_buf *out);

/* ---- admit.c ---- */
/* Admits a batch (SPEC §2 stateless checks, signatures in parallel, then
 * signer, nonce window and mempool in order); each item gets rc and msg.
 * peer is MEMPOOL_LOCAL for the host's clients, whose admitted txs are
 * gossiped, or the id of the peer that sent them (its share of the mempool
 * is capped). */
void node_admit_batch(node *n, admit_item *items, size_t k, int peer);
/* After a commit of b (its txs already removed): evicts the txs that can no
 * longer execute (a nonce b used) and those past the TTL. */
void node_mempool_recheck(node *n, const chain_block *b);
/* Admits the queued submissions and answers them (NODE_TIMER_ADMIT). */
void node_admit_flush(node *n);
void node_admit_free(node *n);
/* Whether consensus may be told now that txs are available: a full block is
 * waiting, or the height began at least propose_wait_ms ago. When not, arms
 * NODE_TIMER_PROPOSE_WAIT for that time. */
bool node_txs_ready_now(node *n, uint64_t now_ms);
/* NODE_TIMER_TXS_READY and NODE_TIMER_PROPOSE_WAIT. */
void node_on_txs_ready(node *n);
void node_on_propose_wait(node *n);

/* ---- commit.c ---- */
/* Commits the block consensus decided with these precommits. */
void node_commit_decided(node *n, uint64_t height, uint64_t round, const uint8_t id[32],
                         const cons_vote *pcs, size_t np);
/* Tells the chain which candidates a flood of others must not evict: the
 * locked, the valid and the last proposed block. Called before a candidate
 * is added. */
void node_keep_candidates(node *n);
/* NODE_TIMER_STORAGE_RETRY: writes the pending commit, heals the WAL and the
 * sign state; signing resumes when all of them work. Returns true when it
 * resumed within an undecided height, whose step the caller re-arms. */
bool node_storage_retry(node *n);
/* Commits a block learnt through sync after checking its commit. */
GZ_WUR int node_commit_synced(node *n, const uint8_t *block, size_t block_len, const uint8_t *commit,
                              size_t commit_len, gz_msg *msg);

/* ---- gossip.c ---- */
int node_handle_proposal(node *n, const uint8_t *payload, size_t len, gz_msg *msg);
int node_handle_vote(node *n, const uint8_t *payload, size_t len, gz_msg *msg);
void node_handle_txs(node *n, int peer, const uint8_t *payload, size_t len);
/* Feeds the proposal and votes kept for the height that just started. */
void node_feed_future(node *n);

/* ---- evidence.c ---- */
/* After consensus reported an equivocation of a vote: submits EVIDENCE of
 * the latest one, signed by this node's key, once per validator and height. */
void node_evidence_submit(node *n);

/* ---- sync.c ---- */
node_peer *node_peer_get(node *n, int peer_id);
void node_peer_add(node *n, int peer_id, const uint8_t pubkey[32]);
GZ_WUR int node_handle_status(node *n, node_peer *p, const uint8_t *payload, size_t len);
GZ_WUR int node_handle_block_req(node *n, node_peer *p, const uint8_t *payload, size_t len);
GZ_WUR int node_handle_block(node *n, node_peer *p, const uint8_t *payload, size_t len, gz_msg *msg);
/* Refuses the key of a peer outside the validator set for NODE_BAN_MS. */
void node_ban_key(node *n, const uint8_t pubkey[32]);
bool node_key_banned(const node *n, const uint8_t pubkey[32], uint64_t now_ms);
/* Drops silent peers and asks for the next block when behind. */
void node_sync_tick(node *n, uint64_t now_ms);

#endif
