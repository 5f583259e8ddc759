/* The simulator as a host of real node engines: each node's node_env is
 * served by the world (its clock, its event queue for timers, its network
 * for sends), a crash closes the engine and keeps its store, WAL and sign
 * state, and a restart opens the same engine code on them again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/wire.h"
#include "tests/sim/sim_internal.h"

static uint64_t env_mono_ms(void *ctx) {
    sim_node *n = ctx;
    return n->w->now;
}

/* Each node's wall clock is the genesis time plus the simulated time plus
 * its own small offset (well inside consensus.max_clock_drift_ms). */
uint64_t sim_node_wall_ms(const sim_node *n) {
    return (uint64_t)((int64_t)(n->w->g.genesis_time + 1000 + n->w->now) + n->skew_ms);
}

static uint64_t env_wall_ms(void *ctx) { return sim_node_wall_ms(ctx); }

static void env_timer_start(void *ctx, unsigned timer, uint64_t delay_ms) {
    sim_node *n = ctx;
    sim_event *ev = sim_push(n->w, delay_ms, EV_TIMER, n->idx);
    ev->timer = timer;
    ev->gen = ++n->timer_gen[timer];
}

static void env_timer_stop(void *ctx, unsigned timer) {
    sim_node *n = ctx;
    n->timer_gen[timer]++;
}

static void env_send(void *ctx, int peer, uint8_t type, const uint8_t *payload, size_t len) {
    sim_node *n = ctx;
    sim_world *w = n->w;
    gz_buf alt;
    gz_buf_init(&alt);
    if (n->byz) sim_byz_note(n, type, payload, len);
    if (n->byz && type == NODE_MSG_PROPOSAL) sim_byz_proposal(w, n, payload, len, &alt);
    if (n->byz && type == NODE_MSG_VOTE) sim_byz_vote(w, n, payload, len, &alt);
    if (peer < 0) sim_outsider_seen(w, type, payload, len);
    sim_lock_observe(w, n, type, payload, len);
    if (alt.len > 0) sim_lock_observe(w, n, type, alt.data, alt.len);
    if (peer >= 0) {
        int to = sim_peer_node(w, n->idx, peer);
        if (to >= 0) sim_net_send(w, n->idx, to, type, payload, len);
        gz_buf_free(&alt);
        return;
    }
    for (int to = 0; to < w->n_nodes; to++) {
        if (to == n->idx || sim_peer_node(w, n->idx, sim_peer_id(w, n->idx, to)) != to) continue;
        if (alt.len > 0 && sim_rng_chance(&w->rng, 500000)) sim_net_send(w, n->idx, to, type, alt.data, alt.len);
        else sim_net_send(w, n->idx, to, type, payload, len);
    }
    gz_buf_free(&alt);
}

/* The drop takes effect on the next turn: env functions never call back
 * into an engine. */
static void env_disconnect(void *ctx, int peer, const char *why) {
    sim_node *n = ctx;
    if (sim_outsider_peer(peer)) {
        sim_outsider_dropped(n->w, n->idx, peer, why);
        return;
    }
    int to = sim_peer_node(n->w, n->idx, peer);
    sim_trace(n->w, n->idx, "drops n%d: %s", to, why);
    if (to < 0) return;
    /* Honest nodes send nothing that cannot be valid: dropping one for a
     * message (not for silence) means a check refuses what it should take. */
    if (!n->byz && !n->w->nodes[to].byz && strncmp(why, "silent", 6) != 0)
        sim_violation(n->w, false, "node %d dropped honest node %d: %s", n->idx, to, why);
    sim_event *ev = sim_push(n->w, 0, EV_CONN_DOWN, n->idx);
    ev->peer = to;
    ev->gen = sim_conn_gen(n->w, n->idx, to);
}

static void env_log(void *ctx, const char *line) {
    sim_node *n = ctx;
    sim_trace(n->w, n->idx, "%s", line);
}

static void env_admitted(void *ctx, void *tag, const node_admission *a) {
    sim_node *n = ctx;
    sim_client_admitted(n->w, n, tag, a);
}

static void env_committed(void *ctx, const chain_block *b) {
    sim_node *n = ctx;
    sim_check_commit(n->w, n, b);
}

static const node_env ENV = {
    .mono_ms = env_mono_ms,
    .wall_ms = env_wall_ms,
    .timer_start = env_timer_start,
    .timer_stop = env_timer_stop,
    .send = env_send,
    .disconnect = env_disconnect,
    .log = env_log,
    .admitted = env_admitted,
    .committed = env_committed,
};

static unsigned faults_of(const sim_node *n, unsigned *cons_faults) {
    int f = n->w->opt.fault;
    *cons_faults = 0;
    if (n->byz) return NODE_FAULT_ADMIT_COMMITTED;
    if (f == SIM_FAULT_LOCK) *cons_faults = CONS_FAULT_IGNORE_LOCK;
    if (f == SIM_FAULT_DOUBLE) *cons_faults = CONS_FAULT_DOUBLE_COUNT;
    if (f == SIM_FAULT_ADMIT_SIG) return NODE_FAULT_ADMIT_NO_SIG;
    if (f == SIM_FAULT_CHAIN_DUP) return NODE_FAULT_CHAIN_NO_DUP;
    if (f == SIM_FAULT_OLD_POWERS) return NODE_FAULT_OLD_POWERS;
    return 0;
}

static int engine_open(sim_node *n) {
    node_open_args a = {.genesis = &n->w->g, .st = n->st, .wal_path = n->wal_path,
                        .signstate_path = n->ss_path, .sig_workers = 0, .propose_wait_ms = 0,
                        .networked = true};
    memcpy(a.seckey, n->sk, 32);
    a.test_faults = faults_of(n, &a.cons_test_faults);
    node_env env = ENV;
    env.ctx = n;
    gz_msg msg = {{0}};
    int rc = node_open(&n->eng, &a, &env, &msg);
    if (rc != GZ_OK) {
        fprintf(stderr, "sim: node %d cannot open: %s\n", n->idx, msg.text);
        return -1;
    }
    return 0;
}

int sim_node_open(sim_world *w, sim_node *n) {
    n->w = w;
    snprintf(n->wal_path, sizeof n->wal_path, "%s/node%d.wal", w->dir, n->idx);
    snprintf(n->ss_path, sizeof n->ss_path, "%s/node%d.signstate", w->dir, n->idx);
    if (store_open_memory(&n->st) != GZ_OK) return -1;
    if (sim_faults_wrap(w, n) != 0) return -1;
    if (engine_open(n) != 0) return -1;
    sim_faults_start(w, n);
    n->up = true;
    node_start(n->eng);
    return 0;
}

/* Every connection of n goes; the other side hears of it now. */
static void drop_all(sim_node *n) {
    sim_world *w = n->w;
    for (int j = 0; j < w->n_nodes; j++)
        if (j != n->idx) sim_conn_drop(w, n->idx, j);
}

/* What a crash leaves of the WAL: everything the last sync made durable,
 * and any part of what was written after it (a torn tail included). */
static void tear_wal(sim_node *n, uint64_t synced, uint64_t written) {
    uint64_t keep = synced + sim_rng_below(&n->w->rng, written - synced + 1);
    sim_trace(n->w, n->idx, "crash keeps %llu of the WAL's %llu bytes (%llu synced)", (unsigned long long)keep,
              (unsigned long long)written, (unsigned long long)synced);
    if (keep < written && truncate(n->wal_path, (off_t)keep) != 0) abort();
}

void sim_node_crash(sim_node *n) {
    sim_trace(n->w, n->idx, "crash at height %llu", (unsigned long long)n->height);
    drop_all(n);
    n->up = false;
    n->inc++;
    uint64_t synced, written;
    node_wal_extent(n->eng, &synced, &written);
    node *eng = n->eng;
    n->eng = NULL;
    node_close(eng);
    tear_wal(n, synced, written);
    n->w->res->crashes++;
}

void sim_node_restart(sim_node *n) {
    sim_world *w = n->w;
    n->inc++;
    if (engine_open(n) != 0) {
        sim_violation(w, true, "node %d cannot reopen its store, WAL and sign state", n->idx);
        return;
    }
    n->up = true;
    node_start(n->eng);
    node_status st;
    node_status_get(n->eng, &st);
    sim_trace(w, n->idx, "restart at height %llu", (unsigned long long)st.height);
    n->height = st.height;
    for (int j = 0; j < w->n_nodes; j++)
        if (j != n->idx) sim_conn_redial_later(w, n->idx, j, sim_rng_range(&w->rng, 10, 300));
}

void sim_node_free(sim_node *n) {
    node_close(n->eng);
    n->eng = NULL;
    store_close(n->st);
    n->st = NULL;
    for (size_t i = 0; i < SIM_BYZ_KEEP; i++) gz_buf_free(&n->byz_sent[i]);
}
