/* The simulated world (clock, event queue, network, faults, checkers) and the
 * simulated node that wraps one consensus state machine. */
#ifndef GZ_SIM_SIM_INTERNAL_H
#define GZ_SIM_SIM_INTERNAL_H

#include "tests/sim/sim.h"

#define SIM_VALIDATORS_MAX 7
#define SIM_NODES_MAX (SIM_VALIDATORS_MAX + 1) /* plus one full node */

/* Timing of a run, in simulated milliseconds. */
#define SIM_GST_MS 30000u       /* faults stop here (global stabilization time) */
/* After GST every honest node must gain SIM_LIVE_HEIGHTS heights within
 * SIM_LIVE_MS. Usually that takes a few seconds; the slow case is a light
 * validator locked before GST whose POL nobody else holds: Algorithm 1 moves
 * on only when it (or the holder of a newer POL) gets a proposer turn, with
 * timeouts growing every round. 46,000 runs needed at most 40 s. */
#define SIM_LIVE_MS 60000u
#define SIM_LIVE_HEIGHTS 3u
#define SIM_TICK_MS 250u        /* gossip timer period */
#define SIM_STALL_MS 1000u      /* a node without progress this long re-gossips */
#define SIM_EVENTS_MAX 20000000u

/* ---- messages on the wire ---- */

enum sim_msg_kind { MSG_PROPOSAL = 1, MSG_VOTE, MSG_STATUS, MSG_COMMIT };

typedef struct sim_msg {
    uint8_t kind;
    int from;
    cons_proposal prop;       /* PROPOSAL, COMMIT */
    int32_t block;            /* PROPOSAL, COMMIT: registry index of the block */
    cons_vote vote;           /* VOTE */
    uint64_t height;          /* STATUS: the sender's current height */
    size_t n_pcs;             /* COMMIT */
    cons_vote pcs[SIM_VALIDATORS_MAX];
} sim_msg;

/* ---- the node's write-ahead log of one height ---- */

enum wal_kind { W_PROP = 1, W_VOTE, W_TIMEOUT, W_TXS, W_COMMIT, W_OWN_PROP, W_OWN_VOTE };

typedef struct wal_entry {
    uint8_t kind;
    cons_proposal prop;
    int32_t block;
    cons_vote vote;
    uint64_t height, round;
    uint8_t step;
    cons_vote *pcs;           /* W_COMMIT, malloc'd */
    size_t n_pcs;
} wal_entry;

typedef struct wal_log {
    wal_entry *e;
    size_t len, cap;
} wal_log;

typedef struct commit_rec {
    int32_t block;
    cons_proposal prop;
    cons_vote pcs[SIM_VALIDATORS_MAX];
    size_t n_pcs;
    uint8_t root[32];
} commit_rec;

typedef struct sim_world sim_world;

typedef struct sim_node {
    sim_world *w;
    int idx;
    int32_t val;              /* validator index, -1 for the full node */
    bool byz;
    bool up;
    uint32_t inc;             /* incarnation: events of a previous life are ignored */
    cons c;
    bool has_cons;
    void *app;
    /* durable */
    uint64_t committed;
    uint8_t last_id[32];
    uint64_t last_time;
    commit_rec *commits;      /* [height], 1..committed */
    size_t commits_cap;
    bool ls_any;              /* last signed (height, round, step) and what */
    uint64_t ls_h, ls_r;
    uint8_t ls_step;
    bool ls_has;
    uint8_t ls_id[32];
    wal_log wal;              /* inputs and own messages of height wal_height */
    size_t wal_synced;        /* entries made durable by the last own signature */
    uint64_t wal_height;      /* 0: no log yet for the next height */
    bool wal_txs;             /* txs_available at that height's start */
    uint8_t *has_block;       /* [registry index]: block received (durable) */
    size_t has_block_cap;
    /* volatile */
    wal_log next;             /* accepted messages for height + 1 */
    uint64_t prog_h, prog_r, last_progress_ms, last_gossip_ms;
    uint8_t prog_step;
    bool replaying;
    int catchup_peer;         /* peer whose Commit just decided a height, or -1 */
} sim_node;

enum sim_ev_kind {
    EV_DELIVER = 1, EV_TIMEOUT, EV_START, EV_TX, EV_TICK,
    EV_CRASH, EV_RESTART, EV_PARTITION, EV_HEAL, EV_GST, EV_END
};

typedef struct sim_event {
    uint64_t at, seq;
    uint8_t kind;
    uint8_t step;
    int node;
    uint32_t inc;
    uint64_t height, round;
    sim_msg *msg;
    uint32_t tx;              /* EV_TX: index into the tx pool */
} sim_event;

struct sim_world {
    sim_options opt;
    const sim_app_ops *app;
    sim_rng rng;
    uint64_t now;
    sim_event *heap;
    size_t heap_len, heap_cap;
    uint64_t seq;
    uint64_t events;
    int n_val, n_nodes;
    uint64_t powers[SIM_VALIDATORS_MAX];
    uint64_t total_power;
    uint64_t keys[SIM_VALIDATORS_MAX];
    int byz;
    int f;
    sim_node nodes[SIM_NODES_MAX];
    cons_config cfg;
    /* network */
    uint32_t drop_ppm, dup_ppm;
    uint32_t drop_precommit_ppm;  /* extra loss for precommits: splits who decides */
    uint64_t delay_max_ms;
    bool partitioned;
    uint8_t group[SIM_NODES_MAX];
    bool stable;              /* after GST */
    uint64_t gst_height;
    bool stop;
    /* blocks and transactions */
    sim_block *blocks;
    size_t n_blocks, blocks_cap;
    int32_t *index;           /* open addressing over blocks by id */
    size_t index_cap;
    uint8_t (*txs)[SIM_TX_MAX];
    size_t *tx_len;
    size_t n_txs, txs_cap;
    /* checkers */
    uint8_t (*dec_id)[32];
    uint8_t (*dec_root)[32];
    uint8_t *dec_have;
    size_t dec_cap;
    sim_result *res;
};

/* ---- sim_world.c ---- */
void sim_trace(const sim_world *w, int node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sim_violation(sim_world *w, bool safety, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
sim_event *sim_push(sim_world *w, uint64_t delay_ms, uint8_t kind, int node);
void sim_send(sim_world *w, int from, int to, const sim_msg *m);
void sim_send_all(sim_world *w, int from, const sim_msg *m);
int32_t sim_block_add(sim_world *w, const sim_block *b);
int32_t sim_block_find(const sim_world *w, const uint8_t id[32]);
void sim_check_commit(sim_world *w, const sim_node *n, uint64_t height, int32_t block,
                      uint64_t round, const cons_vote *pcs, size_t n_pcs,
                      const uint8_t root[32]);
uint64_t sim_mac(const sim_world *w, uint32_t validator, const void *data, size_t len);
void sim_sign_vote(const sim_world *w, cons_vote *v);
void sim_sign_proposal(const sim_world *w, cons_proposal *p);
bool sim_vote_ok(const sim_world *w, const cons_vote *v);
bool sim_proposal_ok(const sim_world *w, const cons_proposal *p);
const char *sim_hex4(const uint8_t id[32], char out[9]);

/* ---- sim_node.c ---- */
int sim_node_init(sim_world *w, sim_node *n, int idx, int32_t val, bool byz);
void sim_node_free(sim_node *n);
void sim_node_start(sim_node *n, uint64_t height);
void sim_node_deliver(sim_node *n, const sim_msg *m);
void sim_node_timeout(sim_node *n, uint64_t height, uint64_t round, uint8_t step);
void sim_node_tx(sim_node *n, const uint8_t *tx, size_t len);
void sim_node_tick(sim_node *n);
void sim_node_crash(sim_node *n);
void sim_node_restart(sim_node *n);
void sim_node_progress(sim_node *n);

#endif
