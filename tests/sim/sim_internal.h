/* The simulated world (clock, event queue, network, faults, checkers), the
 * host that runs real node engines in it, and the clients. */
#ifndef GZ_SIM_SIM_INTERNAL_H
#define GZ_SIM_SIM_INTERNAL_H

#include "core/codec.h"
#include "ledger/genesis.h"
#include "node/mempool.h"
#include "node/node.h"
#include "storage/store.h"
#include "tests/sim/sim.h"

#define SIM_VALIDATORS_MAX 7
/* Plus two full nodes: one a VALIDATOR_UPDATE adds, one whose key another
 * validator rotates to (sim_ops.c). */
#define SIM_NODES_MAX (SIM_VALIDATORS_MAX + 2)
/* Members a set of the simulation can have: every node's key at most. */
#define SIM_SET_MAX SIM_NODES_MAX
#define SIM_HOLDERS 8         /* registered accounts that send txs */
#define SIM_OUTSIDERS 3       /* keys no genesis knows */
#define SIM_CHAIN_ID "gongzhi-sim"

/* Timing of a run, in simulated milliseconds. */
#define SIM_GST_MS 30000u       /* faults stop here (global stabilization time) */
/* After GST every honest node must gain SIM_LIVE_HEIGHTS heights within
 * SIM_LIVE_MS (a node that was partitioned catches up by sync first). */
#define SIM_LIVE_MS 60000u
#define SIM_LIVE_HEIGHTS 3u
/* Once every honest node has gained them and a tx submitted after GST has
 * committed, the run goes on this long. */
#define SIM_TAIL_MS 5000u
#define SIM_EVENTS_MAX 20000000u
/* Txs the clients remember for re-submission. */
#define SIM_SENT_MAX 256
/* Verdicts awaited at once (tags of node_submit). */
#define SIM_TAGS_MAX 4096
/* Outsider connections at once (sim_outsider.c), and their peer ids: above
 * every id sim_peer_id gives. */
#define SIM_OUTSIDER_PEERS 4
#define SIM_OUTSIDER_PEER_BASE (1 << 28)
/* Messages of the Byzantine validator kept for replays. */
#define SIM_BYZ_KEEP 32

enum sim_ev_kind {
    EV_TIMER = 1, EV_DELIVER, EV_CONN_DOWN, EV_REDIAL, EV_CLIENT, EV_BYZ,
    EV_CRASH, EV_RESTART, EV_PARTITION, EV_HEAL, EV_GST, EV_END, EV_OUTSIDER, EV_OUTSIDER_DOWN,
    EV_VALSET
};

typedef struct sim_event {
    uint64_t at, seq;
    uint8_t kind;
    int node, peer;
    uint32_t inc;             /* incarnation of node: events of a previous life are ignored */
    uint64_t gen;             /* timer or connection generation */
    unsigned timer;
    uint8_t type;             /* EV_DELIVER: message type */
    uint8_t *data;            /* EV_DELIVER: payload, owned */
    size_t len;
} sim_event;

typedef struct sim_world sim_world;

typedef struct sim_vote_key {
    uint64_t height, round;
    uint8_t type;
} sim_vote_key;

typedef struct sim_node {
    sim_world *w;
    int idx;
    int32_t val;              /* its index in the genesis set, -1 for a full node */
    bool byz;
    bool up;
    uint32_t inc;
    uint8_t sk[32], pk[32];
    node *eng;
    store *st;                /* survives crashes */
    char wal_path[512], ss_path[512];
    uint64_t timer_gen[NODE_TIMERS_N];
    int64_t skew_ms;          /* its wall clock's offset */
    uint64_t height;          /* last committed */
    uint64_t gst_height;
    uint64_t signed_after_gst; /* own votes sent after GST (sim_lock.c) */
    gz_buf byz_sent[SIM_BYZ_KEEP]; /* Byzantine: own messages, for replays */
    uint8_t byz_sent_type[SIM_BYZ_KEEP];
    size_t byz_sent_n;
    uint8_t byz_alt_id[32];   /* Byzantine: the block of its last second proposal */
    uint8_t byz_seen[SIM_BYZ_KEEP][32]; /* Byzantine: blocks others proposed */
    size_t byz_seen_n;
    sim_vote_key byz_equiv[SIM_BYZ_KEEP]; /* Byzantine: where it sent a second value */
    size_t byz_equiv_n;
} sim_node;

/* What a client's tx is meant to meet. */
enum sim_tx_kind { TX_VALID = 1, TX_DUP, TX_FUTURE, TX_OUTSIDER, TX_BADSIG, TX_OPERATOR };

typedef struct sim_tag {
    uint8_t kind;
    int node;
    bool used;
} sim_tag;

typedef struct sim_sent {
    uint8_t bytes[GZ_TX_BYTES_MAX > 1024 ? 1024 : GZ_TX_BYTES_MAX];
    size_t len;
} sim_sent;

/* A proposal some node sent, and an honest validator's lock (sim_lock.c). */
#define SIM_PROPS_SEEN 4096
typedef struct sim_prop_seen {
    uint64_t height, round;
    int64_t pol_round;
    uint8_t block_id[32];
} sim_prop_seen;
typedef struct sim_lock {
    uint64_t height, round; /* its latest precommit for a block */
    uint8_t block_id[32];
} sim_lock;

/* A hostile peer without a validator key, connected to one node. */
typedef struct sim_outsider {
    bool up;
    int node;
    uint32_t inc;             /* the node's incarnation when it connected */
    int peer_id;
    uint8_t sk[32], pk[32];
} sim_outsider;

/* A validator set as the simulator derives it (sim_valset.c). */
typedef struct sim_set {
    uint32_t n;
    gz_validator v[SIM_SET_MAX];
} sim_set;

/* A set change the operator makes (sim_ops.c). */
enum sim_op_kind { OP_NONE = 0, OP_ADD, OP_REWEIGHT, OP_REMOVE, OP_ROTATE_ADD, OP_ROTATE_REMOVE, OP_STALE };

typedef struct sim_op {
    uint8_t kind;
    int node;                 /* whose key the update is for */
    uint64_t power;           /* 0 removes */
    char name[GZ_LABEL_MAX + 1];
    uint64_t started_at, tried_at;
    uint32_t tries;
    uint8_t txid[32];         /* the last attempt */
    sim_set before;           /* the set its approvals were first made for */
} sim_op;

/* A committed txid and its height, in an open-addressing set. */
typedef struct sim_txid {
    uint8_t id[32];
    uint64_t height;
    bool used;
} sim_txid;

struct sim_world {
    sim_options opt;
    sim_rng rng;
    uint64_t now;
    sim_event *heap;
    size_t heap_len, heap_cap;
    uint64_t seq;
    uint64_t events;
    int n_val, n_nodes, byz;  /* byz: index of the Byzantine validator, -1 none */
    /* When the Byzantine validator starts equivocating its votes: the first
     * EVIDENCE jails it, so before that its blocks and proposals are tried. */
    uint64_t byz_votes_from;
    gz_genesis g;
    sim_node nodes[SIM_NODES_MAX];
    char dir[256];
    /* connections between pairs (i < j) */
    bool conn_up[SIM_NODES_MAX][SIM_NODES_MAX];
    uint64_t conn_gen[SIM_NODES_MAX][SIM_NODES_MAX];
    bool redialling[SIM_NODES_MAX][SIM_NODES_MAX];
    /* network */
    uint32_t drop_ppm, dup_ppm, drop_precommit_ppm;
    uint64_t delay_max_ms;
    bool partitioned;
    uint8_t group[SIM_NODES_MAX];
    bool stable;              /* after GST */
    uint64_t live_at;         /* when every honest node had gained the live heights */
    bool stop;
    /* clients */
    uint64_t next_nonce[SIM_HOLDERS];
    sim_sent sent[SIM_SENT_MAX];
    size_t n_sent;
    sim_tag tags[SIM_TAGS_MAX];
    size_t tag_next;
    uint64_t txs_after_gst;   /* txs committed in blocks after GST */
    /* checkers */
    uint8_t (*dec_id)[32];    /* [height]: the committed block id */
    uint8_t *dec_have;
    size_t dec_cap;
    sim_txid *txids;
    size_t txids_cap, txids_n;
    /* the lock rule */
    sim_prop_seen props[SIM_PROPS_SEEN];
    size_t n_props;
    sim_lock locks[SIM_NODES_MAX];
    /* outsiders */
    bool outsiders_on;
    sim_rng orng;             /* the outsiders' own generator */
    sim_outsider outsiders[SIM_OUTSIDER_PEERS];
    /* the reference sets: ref_set[h] signs height h, known once h - 1 is committed */
    sim_set *ref_set;
    uint8_t *ref_have;
    size_t ref_cap;
    uint64_t ref_top;         /* highest height whose set is known */
    uint64_t gst_top;         /* the highest committed height at GST */
    /* the operator's set changes */
    uint8_t operator_sk[32], operator_pk[32];
    uint8_t plan[8];          /* enum sim_op_kind, in order */
    size_t plan_n, plan_next;
    uint64_t plan_at[8];      /* not started before */
    sim_op op;                /* in progress (kind OP_NONE: none) */
    int rotate_old;           /* the node whose key a rotation replaces */
    sim_set last_before;      /* the set before the last change the operator made */
    bool have_last_before;
    uint64_t outsider_keys, outsider_txs;
    gz_buf outsider_prop;     /* the latest proposal a node broadcast */
    mempool empty_pool;       /* what the equivocating proposer builds its second block from */
    sim_result *res;
};

/* ---- sim_world.c ---- */
void sim_trace(const sim_world *w, int node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void sim_violation(sim_world *w, bool safety, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
sim_event *sim_push(sim_world *w, uint64_t delay_ms, uint8_t kind, int node);
/* The generation of the connection of a and b. */
uint64_t sim_conn_gen(const sim_world *w, int a, int b);
/* The peer id node a uses for node b on their current connection. */
int sim_peer_id(const sim_world *w, int a, int b);
/* The node behind a's peer id, or -1 when that connection is gone. */
int sim_peer_node(const sim_world *w, int a, int peer_id);
/* A gossiped vote or proposal, decoded (false when it does not decode). */
typedef struct sim_proposal_msg {
    gz_proposal p;
    uint8_t sig[64];
    const uint8_t *block; /* into the payload */
    size_t block_len;
} sim_proposal_msg;
bool sim_vote_of(const uint8_t *payload, size_t len, gz_vote *v);
bool sim_proposal_of(const uint8_t *payload, size_t len, sim_proposal_msg *out);
void sim_net_send(sim_world *w, int from, int to, uint8_t type, const uint8_t *data, size_t len);
void sim_conn_drop(sim_world *w, int a, int b);
/* Dials a and b again after delay. */
void sim_conn_redial_later(sim_world *w, int a, int b, uint64_t delay);
/* Whether a tx with this id is in a committed block. */
bool sim_tx_committed(const sim_world *w, const uint8_t id[32]);
/* Checks a block one node committed (agreement, validity, its commit). */
void sim_check_commit(sim_world *w, sim_node *n, const chain_block *b);

/* ---- sim_valset.c: the reference validator sets and their checks ---- */
void sim_valset_init(sim_world *w);
void sim_valset_free(sim_world *w);
/* The set of height h (NULL while unknown). */
const sim_set *sim_valset_at(const sim_world *w, uint64_t h);
/* The latest known set: the one of the height after the highest committed. */
const sim_set *sim_valset_now(const sim_world *w);
/* pk's index in s, or -1. */
int sim_set_index(const sim_set *s, const uint8_t pk[32]);
uint64_t sim_set_power(const sim_set *s);
/* The first commit of block b at its height: derives the next set. */
void sim_valset_first_commit(sim_world *w, sim_node *n, const chain_block *b);
/* Every node's commit of b: its headers' sets, its ledger's, its stored commit. */
void sim_valset_check_commit(sim_world *w, sim_node *n, const chain_block *b);
/* At the end: every honest validator of the heights after GST signed. */
void sim_valset_final(sim_world *w);

/* ---- sim_ops.c: the operator's VALIDATOR_UPDATEs ---- */
void sim_ops_init(sim_world *w);
void sim_ops_step(sim_world *w);
/* Whether every planned change took effect. */
bool sim_ops_done(const sim_world *w);
void sim_ops_final(sim_world *w);

/* ---- sim_host.c: real engines in the world ---- */
int sim_node_open(sim_world *w, sim_node *n);
/* Its wall clock: genesis time, plus the simulated time, plus its offset. */
uint64_t sim_node_wall_ms(const sim_node *n);
void sim_node_crash(sim_node *n);
void sim_node_restart(sim_node *n);
void sim_node_free(sim_node *n);

/* ---- sim_faults.c: storage faults (--store-faults) ---- */
/* Wraps n's fresh store in a faulty one, with no faults yet (the genesis is
 * written at the first open); 0, or -1 when it cannot. */
int sim_faults_wrap(sim_world *w, sim_node *n);
/* Once n's engine is open: its store starts failing writes. */
void sim_faults_start(sim_world *w, sim_node *n);
/* At GST: every store takes writes again. */
void sim_faults_stop(sim_world *w);

/* ---- sim_client.c: keys, genesis, clients, the Byzantine validator ---- */
void sim_key(uint8_t sk[32], uint8_t pk[32], const char *what, int i);
void sim_genesis(sim_world *w);
void sim_client_step(sim_world *w);
/* A node that is up, at random (-1 when none was found). */
int sim_pick_up_node(sim_world *w);
/* Submits tx to node as a client does (node_submit), its verdict awaited as kind. */
void sim_client_submit(sim_world *w, int node, gz_buf *tx, uint8_t kind);
void sim_client_admitted(sim_world *w, sim_node *n, void *tag, const node_admission *a);
void sim_byz_step(sim_world *w);
void sim_byz_note(sim_node *n, uint8_t type, const uint8_t *payload, size_t len);
void sim_byz_proposal(sim_world *w, sim_node *b, const uint8_t *payload, size_t len, gz_buf *alt);
void sim_byz_seen(sim_node *b, uint8_t type, const uint8_t *payload, size_t len);
void sim_byz_vote(sim_world *w, sim_node *b, const uint8_t *payload, size_t len, gz_buf *alt);
/* A tx by the key sk with this nonce, signed (a flood's). */
void sim_client_flood_tx(sim_world *w, const uint8_t sk[32], uint64_t nonce, gz_buf *out);

/* ---- sim_lock.c: the lock rule on every vote an honest node sends ---- */
void sim_lock_observe(sim_world *w, const sim_node *n, uint8_t type, const uint8_t *payload, size_t len);

/* ---- sim_outsider.c: hostile peers without a validator key ---- */
bool sim_outsider_peer(int peer_id);
void sim_outsider_step(sim_world *w);
/* A node dropped an outsider (env_disconnect): it hears of it on the next turn. */
void sim_outsider_dropped(sim_world *w, int node, int peer_id, const char *why);
void sim_outsider_down(sim_world *w, const sim_event *ev);
void sim_outsider_seen(sim_world *w, uint8_t type, const uint8_t *payload, size_t len);
void sim_outsider_free(sim_world *w);

#endif
