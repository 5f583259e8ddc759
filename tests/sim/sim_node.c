/* A simulated node: one consensus state machine plus what a real node does
 * around it — a block store, a write-ahead log with a last-signed guard, the
 * application, gossip of stalled heights and catch-up by Commit. The
 * Byzantine validator runs the same code with its guard off and equivocates
 * when it sends. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim_internal.h"

/* ---- small stores ---- */

static void wal_push(wal_log *l, const wal_entry *e) {
    if (l->len == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->e = realloc(l->e, l->cap * sizeof *l->e);
        if (l->e == NULL) abort();
    }
    l->e[l->len++] = *e;
}

static void wal_truncate(wal_log *l, size_t keep) {
    for (size_t i = keep; i < l->len; i++) free(l->e[i].pcs);
    if (keep < l->len) l->len = keep;
}

static void wal_free(wal_log *l) {
    wal_truncate(l, 0);
    free(l->e);
    memset(l, 0, sizeof *l);
}

static void node_has(sim_node *n, int32_t block) {
    assert(block >= 0);
    if ((size_t)block >= n->has_block_cap) {
        size_t cap = n->has_block_cap ? n->has_block_cap : 256;
        while (cap <= (size_t)block) cap *= 2;
        n->has_block = realloc(n->has_block, cap);
        if (n->has_block == NULL) abort();
        memset(n->has_block + n->has_block_cap, 0, cap - n->has_block_cap);
        n->has_block_cap = cap;
    }
    n->has_block[block] = 1;
}

static bool node_holds(const sim_node *n, int32_t block) {
    return block >= 0 && (size_t)block < n->has_block_cap && n->has_block[block];
}

static commit_rec *commit_slot(sim_node *n, uint64_t height) {
    if (height >= n->commits_cap) {
        size_t cap = n->commits_cap ? n->commits_cap : 64;
        while (cap <= height) cap *= 2;
        n->commits = realloc(n->commits, cap * sizeof *n->commits);
        if (n->commits == NULL) abort();
        n->commits_cap = cap;
    }
    return &n->commits[height];
}

static const char *value(bool has, const uint8_t id[32], char out[9]) {
    if (!has) return "nil";
    return sim_hex4(id, out);
}

/* ---- the last-signed guard (persisted with the log entry it allows) ---- */

static bool guard_allows(const sim_node *n, uint64_t h, uint64_t r, uint8_t step, bool has,
                         const uint8_t id[32]) {
    if (n->byz || !n->ls_any) return true;
    if (h != n->ls_h) return h > n->ls_h;
    if (r != n->ls_r) return r > n->ls_r;
    if (step != n->ls_step) return step > n->ls_step;
    /* The same step again is fine only for the same value. */
    return has == n->ls_has && (!has || memcmp(id, n->ls_id, 32) == 0);
}

static void guard_store(sim_node *n, uint64_t h, uint64_t r, uint8_t step, bool has,
                        const uint8_t id[32]) {
    n->ls_any = true;
    n->ls_h = h;
    n->ls_r = r;
    n->ls_step = step;
    n->ls_has = has;
    memcpy(n->ls_id, id, 32);
}

/* ---- callbacks ---- */

static bool cb_propose(void *ctx, uint64_t height, uint64_t round, uint8_t out[32]) {
    sim_node *n = ctx;
    sim_world *w = n->w;
    sim_block b;
    memset(&b, 0, sizeof b);
    b.height = height;
    b.time = w->now > n->last_time ? w->now : n->last_time + 1;
    b.proposer = (uint32_t)n->val;
    memcpy(b.prev_id, n->last_id, 32);
    b.len = w->app->build(n->app, height, b.payload);
    int32_t bi = sim_block_add(w, &b);
    node_has(n, bi);
    memcpy(out, w->blocks[bi].id, 32);
    char a[9];
    sim_trace(w, n->idx, "h%lu r%lu builds block %s (%zu payload bytes)", (unsigned long)height,
              (unsigned long)round, sim_hex4(out, a), b.len);
    return true;
}

static bool cb_valid(void *ctx, uint64_t height, uint64_t round, const uint8_t id[32]) {
    sim_node *n = ctx;
    sim_world *w = n->w;
    (void)round;
    int32_t bi = sim_block_find(w, id);
    if (!node_holds(n, bi)) {
        sim_violation(w, true, "n%d: valid() for a block the node never received", n->idx);
        return false;
    }
    const sim_block *b = &w->blocks[bi];
    return b->height == height && height == n->committed + 1 &&
           memcmp(b->prev_id, n->last_id, 32) == 0 && b->time > n->last_time &&
           w->app->check(n->app, height, b->payload, b->len);
}

static void log_own(sim_node *n, const wal_entry *e) {
    wal_push(&n->wal, e);
    /* Writing our own message is synced: everything before it is durable. */
    n->wal_synced = n->wal.len;
}

static bool cb_sign_vote(void *ctx, cons_vote *v) {
    sim_node *n = ctx;
    uint8_t step = (uint8_t)(v->type + 1);
    if (!guard_allows(n, v->height, v->round, step, v->has_block_id, v->block_id)) {
        sim_trace(n->w, n->idx, "guard refuses to sign %s h%lu r%lu",
                  v->type == CONS_PREVOTE ? "prevote" : "precommit", (unsigned long)v->height,
                  (unsigned long)v->round);
        return false;
    }
    guard_store(n, v->height, v->round, step, v->has_block_id, v->block_id);
    v->time = n->w->now;
    sim_sign_vote(n->w, v);
    wal_entry e = {.kind = W_OWN_VOTE, .vote = *v};
    if (n->wal_height == v->height) log_own(n, &e);
    return true;
}

static bool cb_sign_proposal(void *ctx, cons_proposal *p) {
    sim_node *n = ctx;
    if (!guard_allows(n, p->height, p->round, 1, true, p->block_id)) {
        sim_trace(n->w, n->idx, "guard refuses to sign proposal h%lu r%lu",
                  (unsigned long)p->height, (unsigned long)p->round);
        return false;
    }
    guard_store(n, p->height, p->round, 1, true, p->block_id);
    sim_sign_proposal(n->w, p);
    wal_entry e = {.kind = W_OWN_PROP, .prop = *p, .block = sim_block_find(n->w, p->block_id)};
    if (n->wal_height == p->height) log_own(n, &e);
    return true;
}

/* Byzantine: a second vote for the same step with another value. */
static void byz_conflict(sim_node *n, cons_vote *v) {
    sim_world *w = n->w;
    if (v->has_block_id && sim_rng_chance(&w->rng, 500000)) {
        v->has_block_id = false;
        memset(v->block_id, 0, 32);
    } else {
        uint8_t was[32];
        memcpy(was, v->block_id, 32);
        v->has_block_id = true;
        if (w->n_blocks > 0 && sim_rng_chance(&w->rng, 700000)) {
            memcpy(v->block_id, w->blocks[sim_rng_below(&w->rng, w->n_blocks)].id, 32);
        }
        if (memcmp(v->block_id, was, 32) == 0 || sim_rng_chance(&w->rng, 300000)) {
            for (int i = 0; i < 32; i++) v->block_id[i] = (uint8_t)sim_rng_next(&w->rng);
        }
    }
    sim_sign_vote(w, v);
}

static void byz_send_vote(sim_node *n, const sim_msg *m) {
    sim_world *w = n->w;
    if (sim_rng_chance(&w->rng, 50000)) {
        /* Noise from far rounds: it alone can never make f+1. */
        sim_msg far = *m;
        far.vote.round += sim_rng_range(&w->rng, 2, 40);
        sim_sign_vote(w, &far.vote);
        sim_send_all(w, n->idx, &far);
    }
    if (!sim_rng_chance(&w->rng, 400000)) {
        sim_send_all(w, n->idx, m);
        return;
    }
    sim_msg other = *m;
    byz_conflict(n, &other.vote);
    char a[9], b[9];
    sim_trace(w, n->idx, "BYZ equivocates %s r%lu: %s / %s",
              m->vote.type == CONS_PREVOTE ? "prevote" : "precommit",
              (unsigned long)m->vote.round, value(m->vote.has_block_id, m->vote.block_id, a),
              value(other.vote.has_block_id, other.vote.block_id, b));
    for (int i = 0; i < w->n_nodes; i++) {
        sim_send(w, n->idx, i, sim_rng_chance(&w->rng, 500000) ? m : &other);
    }
}

static void cb_broadcast_vote(void *ctx, const cons_vote *v) {
    sim_node *n = ctx;
    sim_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_VOTE;
    m.from = n->idx;
    m.vote = *v;
    char a[9];
    sim_trace(n->w, n->idx, "%s h%lu r%lu %s", v->type == CONS_PREVOTE ? "prevote" : "precommit",
              (unsigned long)v->height, (unsigned long)v->round,
              value(v->has_block_id, v->block_id, a));
    if (n->byz) {
        byz_send_vote(n, &m);
    } else {
        sim_send_all(n->w, n->idx, &m);
    }
}

/* Byzantine: a second proposal for the same round with another block, valid
 * or not, to part of the network. */
static void byz_send_proposal(sim_node *n, const sim_msg *m) {
    sim_world *w = n->w;
    sim_block b = w->blocks[m->block];
    if (sim_rng_chance(&w->rng, 500000)) {
        b.len = w->app->make_invalid(&w->rng, b.payload);
    } else {
        b.time += 1; /* same payload, another id */
    }
    sim_msg other = *m;
    other.block = sim_block_add(w, &b);
    w->blocks[other.block].proposed = true;
    node_has(n, other.block);
    memcpy(other.prop.block_id, w->blocks[other.block].id, 32);
    /* A fresh block without POL tempts validators locked on the old one. */
    other.prop.pol_round = -1;
    sim_sign_proposal(w, &other.prop);
    char a[9], c[9];
    sim_trace(w, n->idx, "BYZ equivocates proposal r%lu: %s / %s", (unsigned long)m->prop.round,
              sim_hex4(m->prop.block_id, a), sim_hex4(other.prop.block_id, c));
    for (int i = 0; i < w->n_nodes; i++) {
        sim_send(w, n->idx, i, sim_rng_chance(&w->rng, 500000) ? m : &other);
    }
}

static void cb_broadcast_proposal(void *ctx, const cons_proposal *p) {
    sim_node *n = ctx;
    sim_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_PROPOSAL;
    m.from = n->idx;
    m.prop = *p;
    m.block = sim_block_find(n->w, p->block_id);
    assert(m.block >= 0);
    n->w->blocks[m.block].proposed = true;
    char a[9];
    sim_trace(n->w, n->idx, "proposal h%lu r%lu %s pol %ld", (unsigned long)p->height,
              (unsigned long)p->round, sim_hex4(p->block_id, a), (long)p->pol_round);
    if (n->byz && sim_rng_chance(&n->w->rng, 500000)) {
        byz_send_proposal(n, &m);
    } else {
        sim_send_all(n->w, n->idx, &m);
    }
}

static void cb_schedule_timeout(void *ctx, uint64_t height, uint64_t round, uint8_t step,
                                uint64_t delay_ms) {
    sim_node *n = ctx;
    sim_event *ev = sim_push(n->w, delay_ms, EV_TIMEOUT, n->idx);
    ev->height = height;
    ev->round = round;
    ev->step = step;
}

static void cb_decide(void *ctx, uint64_t height, uint64_t round, const uint8_t id[32],
                      const cons_proposal *prop, const cons_vote *pcs, size_t n_pcs) {
    sim_node *n = ctx;
    sim_world *w = n->w;
    int32_t bi = sim_block_find(w, id);
    char a[9];
    if (!node_holds(n, bi)) {
        sim_violation(w, true, "validity: n%d decided block %s it never received", n->idx,
                      sim_hex4(id, a));
        return;
    }
    const sim_block *b = &w->blocks[bi];
    if (!b->proposed && !n->byz)
        sim_violation(w, true, "validity: n%d decided block %s that nobody proposed", n->idx,
                      sim_hex4(id, a));
    if (!w->app->check(n->app, height, b->payload, b->len) && !n->byz)
        sim_violation(w, true, "validity: n%d decided invalid block %s at height %lu", n->idx,
                      sim_hex4(id, a), (unsigned long)height);
    assert(n_pcs <= SIM_VALIDATORS_MAX);
    commit_rec *c = commit_slot(n, height);
    c->block = bi;
    c->prop = *prop;
    memcpy(c->pcs, pcs, n_pcs * sizeof *pcs);
    c->n_pcs = n_pcs;
    w->app->execute(n->app, height, b->payload, b->len, c->root);
    n->committed = height;
    memcpy(n->last_id, id, 32);
    n->last_time = b->time;
    sim_trace(w, n->idx, "DECIDE h%lu r%lu %s (%zu precommits)", (unsigned long)height,
              (unsigned long)round, sim_hex4(id, a), n_pcs);
    sim_check_commit(w, n, height, bi, round, pcs, n_pcs, c->root);
    /* The block and its Commit are stored: the height's log is no longer needed. */
    wal_truncate(&n->wal, 0);
    n->wal_synced = 0;
    n->wal_height = 0;
    sim_event *ev = sim_push(w, sim_rng_range(&w->rng, 1, 20), EV_START, n->idx);
    ev->height = height + 1;
}

static const cons_callbacks CALLBACKS = {
    cb_propose, cb_valid, cb_sign_vote, cb_sign_proposal, cb_broadcast_vote,
    cb_broadcast_proposal, cb_schedule_timeout, cb_decide, NULL,
};

static void send_status(sim_node *n, int to);

/* ---- life cycle ---- */

static int cons_setup(sim_node *n) {
    sim_world *w = n->w;
    cons_config cfg = w->cfg;
    cfg.my_index = n->val;
    if (!n->byz && w->opt.bug == SIM_BUG_LOCK) cfg.test_faults = CONS_FAULT_IGNORE_LOCK;
    if (!n->byz && w->opt.bug == SIM_BUG_DOUBLE) cfg.test_faults = CONS_FAULT_DOUBLE_COUNT;
    cons_callbacks cb = CALLBACKS;
    cb.ctx = n;
    if (cons_init(&n->c, &cfg, &cb) != GZ_OK) return -1;
    n->has_cons = true;
    return 0;
}

static void schedule_tick(sim_node *n) {
    (void)sim_push(n->w, sim_rng_range(&n->w->rng, 1, SIM_TICK_MS), EV_TICK, n->idx);
}

int sim_node_init(sim_world *w, sim_node *n, int idx, int32_t val, bool byz) {
    memset(n, 0, sizeof *n);
    n->w = w;
    n->idx = idx;
    n->val = val;
    n->byz = byz;
    n->up = true;
    n->catchup_peer = -1;
    n->app = w->app->create(w->opt.seed, idx);
    if (n->app == NULL || cons_setup(n) != 0) return -1;
    schedule_tick(n);
    return 0;
}

void sim_node_free(sim_node *n) {
    if (n->has_cons) cons_free(&n->c);
    if (n->app != NULL) n->w->app->destroy(n->app);
    wal_free(&n->wal);
    wal_free(&n->next);
    free(n->commits);
    free(n->has_block);
    memset(n, 0, sizeof *n);
}

/* The order in which cons_start_height replays its height+1 buffer:
 * proposals by round, then votes by round, type and validator. */
static int replay_order(const void *pa, const void *pb) {
    const wal_entry *a = pa, *b = pb;
    bool pa_prop = a->kind == W_PROP, pb_prop = b->kind == W_PROP;
    if (pa_prop != pb_prop) return pa_prop ? -1 : 1;
    if (pa_prop) return a->prop.round < b->prop.round ? -1 : a->prop.round > b->prop.round;
    if (a->vote.round != b->vote.round) return a->vote.round < b->vote.round ? -1 : 1;
    if (a->vote.type != b->vote.type) return a->vote.type < b->vote.type ? -1 : 1;
    return a->vote.validator < b->vote.validator ? -1 : a->vote.validator > b->vote.validator;
}

void sim_node_start(sim_node *n, uint64_t height) {
    assert(height == n->committed + 1);
    cons_state st;
    cons_state_get(&n->c, &st);
    if (st.started && st.height >= height) return;
    /* The new height's log begins with what consensus buffered for it, in
     * the order it will replay them, so a restart sees the same inputs. */
    wal_truncate(&n->wal, 0);
    for (size_t i = 0; i < n->next.len; i++) {
        uint64_t h = n->next.e[i].kind == W_PROP ? n->next.e[i].prop.height
                                                 : n->next.e[i].vote.height;
        if (h == height) wal_push(&n->wal, &n->next.e[i]);
    }
    n->next.len = 0;
    if (n->wal.len > 1) qsort(n->wal.e, n->wal.len, sizeof *n->wal.e, replay_order);
    n->wal_synced = 0;
    n->wal_height = height;
    n->wal_txs = n->w->app->has_txs(n->app);
    int rc = cons_start_height(&n->c, height, n->w->now, n->wal_txs);
    assert(rc == GZ_OK);
    (void)rc;
    if (n->catchup_peer >= 0) send_status(n, n->catchup_peer);
    n->catchup_peer = -1;
}

void sim_node_crash(sim_node *n) {
    sim_world *w = n->w;
    n->up = false;
    n->inc++;
    /* Received messages after the last own signature were not synced yet:
     * some suffix of them may be lost. */
    size_t tail = n->wal.len - n->wal_synced;
    wal_truncate(&n->wal, n->wal_synced + (size_t)sim_rng_below(&w->rng, tail + 1));
    wal_truncate(&n->next, 0);
    n->catchup_peer = -1;
    w->app->crash(n->app);
    cons_free(&n->c);
    n->has_cons = false;
}

static int replay_entry(sim_node *n, const wal_entry *e) {
    uint64_t now = n->w->now;
    switch (e->kind) {
    case W_PROP:
    case W_OWN_PROP: return cons_on_proposal(&n->c, &e->prop, now);
    case W_VOTE:
    case W_OWN_VOTE: return cons_on_vote(&n->c, &e->vote, now);
    case W_TIMEOUT: return cons_on_timeout(&n->c, e->height, e->round, e->step, now);
    case W_TXS: cons_txs_available(&n->c, now); return GZ_OK;
    case W_COMMIT: return cons_on_commit(&n->c, &e->prop, e->pcs, e->n_pcs, now);
    default: abort();
    }
}

void sim_node_restart(sim_node *n) {
    sim_world *w = n->w;
    n->up = true;
    n->inc++;
    if (cons_setup(n) != 0) abort();
    schedule_tick(n);
    uint64_t height = n->committed + 1;
    if (n->wal_height != height) {
        sim_trace(w, n->idx, "RESTART at height %lu, no log", (unsigned long)height);
        sim_node_start(n, height);
        return;
    }
    sim_trace(w, n->idx, "RESTART at height %lu, replaying %zu log entries",
              (unsigned long)height, n->wal.len);
    n->replaying = true;
    int rc = cons_start_height(&n->c, height, w->now, n->wal_txs);
    assert(rc == GZ_OK);
    size_t len = n->wal.len;
    for (size_t i = 0; i < len && n->wal_height == height; i++) {
        wal_entry e = n->wal.e[i];
        rc = replay_entry(n, &e);
        (void)rc; /* the original answers were already acted on */
    }
    n->replaying = false;
}

/* ---- inputs ---- */

/* Logs an input before consensus sees it (as a real node does), and takes
 * it back out when consensus kept nothing of it (duplicate, stale, malformed
 * or over a bound), so the log holds each kept message once. */
static size_t log_input(sim_node *n, const wal_entry *e) {
    wal_push(&n->wal, e);
    return n->wal.len - 1;
}

static void unlog_if_noop(sim_node *n, size_t at, int rc) {
    if (rc == GZ_OK || rc == GZ_ECONFLICT || rc == GZ_EVERIFY) return;
    if (n->wal.len == at + 1) wal_truncate(&n->wal, at);
}

/* Where a message of height h goes: 1 now, 2 height + 1, 0 nowhere. */
static int route(const sim_node *n, uint64_t h) {
    cons_state st;
    cons_state_get(&n->c, &st);
    if (h == st.height && st.step != CONS_STEP_COMMIT && n->wal_height == h) return 1;
    if (h == st.height + 1) return 2;
    return 0;
}

static void send_status(sim_node *n, int to) {
    sim_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_STATUS;
    m.from = n->idx;
    m.height = n->committed + 1;
    if (to < 0) {
        sim_send_all(n->w, n->idx, &m);
    } else {
        sim_send(n->w, n->idx, to, &m);
    }
}

/* A message from a height beyond the next: we are behind; ask that peer. */
static void behind(sim_node *n, int from, uint64_t h) {
    if (h > n->committed + 2) send_status(n, from);
}

static void feed_proposal(sim_node *n, const sim_msg *m) {
    int where = route(n, m->prop.height);
    if (where == 0) {
        behind(n, m->from, m->prop.height);
        return;
    }
    if (where == 2) {
        if (cons_on_proposal(&n->c, &m->prop, n->w->now) == GZ_OK) {
            wal_entry e = {.kind = W_PROP, .prop = m->prop, .block = m->block};
            wal_push(&n->next, &e);
        }
        return;
    }
    wal_entry e = {.kind = W_PROP, .prop = m->prop, .block = m->block};
    size_t at = log_input(n, &e);
    unlog_if_noop(n, at, cons_on_proposal(&n->c, &m->prop, n->w->now));
}

static void feed_vote(sim_node *n, const sim_msg *m) {
    int where = route(n, m->vote.height);
    if (where == 0) {
        behind(n, m->from, m->vote.height);
        return;
    }
    wal_entry e = {.kind = W_VOTE, .vote = m->vote};
    if (where == 2) {
        if (cons_on_vote(&n->c, &m->vote, n->w->now) == GZ_OK) wal_push(&n->next, &e);
        return;
    }
    size_t at = log_input(n, &e);
    unlog_if_noop(n, at, cons_on_vote(&n->c, &m->vote, n->w->now));
}

static void feed_commit(sim_node *n, const sim_msg *m) {
    if (route(n, m->prop.height) != 1) return;
    wal_entry e = {.kind = W_COMMIT, .prop = m->prop, .block = m->block, .n_pcs = m->n_pcs};
    e.pcs = malloc(m->n_pcs * sizeof *e.pcs);
    if (e.pcs == NULL) abort();
    memcpy(e.pcs, m->pcs, m->n_pcs * sizeof *e.pcs);
    size_t at = log_input(n, &e);
    uint64_t before = n->committed;
    int rc = cons_on_commit(&n->c, &m->prop, m->pcs, m->n_pcs, n->w->now);
    unlog_if_noop(n, at, rc);
    /* Caught up one height: ask the same peer for the next one as soon as
     * the next height has started. */
    if (n->committed > before) n->catchup_peer = m->from;
}

static void reply_commit(sim_node *n, int to, uint64_t height) {
    if (height == 0 || height > n->committed) return;
    const commit_rec *c = &n->commits[height];
    sim_msg m;
    memset(&m, 0, sizeof m);
    m.kind = MSG_COMMIT;
    m.from = n->idx;
    m.prop = c->prop;
    m.block = c->block;
    m.n_pcs = c->n_pcs;
    memcpy(m.pcs, c->pcs, c->n_pcs * sizeof *c->pcs);
    sim_send(n->w, n->idx, to, &m);
}

static bool commit_msg_ok(const sim_world *w, const sim_msg *m) {
    if (!sim_proposal_ok(w, &m->prop) || m->n_pcs > SIM_VALIDATORS_MAX) return false;
    for (size_t i = 0; i < m->n_pcs; i++) {
        if (!sim_vote_ok(w, &m->pcs[i])) return false;
    }
    return m->block >= 0 && memcmp(w->blocks[m->block].id, m->prop.block_id, 32) == 0;
}

void sim_node_deliver(sim_node *n, const sim_msg *m) {
    sim_world *w = n->w;
    switch (m->kind) {
    case MSG_PROPOSAL:
        /* The node verifies signatures before consensus sees anything. */
        if (!sim_proposal_ok(w, &m->prop)) return;
        assert(memcmp(w->blocks[m->block].id, m->prop.block_id, 32) == 0);
        node_has(n, m->block);
        feed_proposal(n, m);
        break;
    case MSG_VOTE:
        if (sim_vote_ok(w, &m->vote)) feed_vote(n, m);
        break;
    case MSG_STATUS:
        if (m->height <= n->committed) reply_commit(n, m->from, m->height);
        if (m->height > n->committed + 1) send_status(n, m->from);
        break;
    case MSG_COMMIT:
        if (!commit_msg_ok(w, m)) return;
        node_has(n, m->block);
        feed_commit(n, m);
        break;
    default: abort();
    }
}

void sim_node_timeout(sim_node *n, uint64_t height, uint64_t round, uint8_t step) {
    if (n->wal_height != height) return; /* a timer of a finished height */
    wal_entry e = {.kind = W_TIMEOUT, .height = height, .round = round, .step = step};
    size_t at = log_input(n, &e);
    int rc = cons_on_timeout(&n->c, height, round, step, n->w->now);
    if (rc == GZ_OK)
        sim_trace(n->w, n->idx, "timeout %s h%lu r%lu", cons_step_name(step),
                  (unsigned long)height, (unsigned long)round);
    unlog_if_noop(n, at, rc);
}

void sim_node_tx(sim_node *n, const uint8_t *tx, size_t len) {
    n->w->app->add_tx(n->app, tx, len);
    if (!n->w->app->has_txs(n->app)) return;
    cons_state st;
    cons_state_get(&n->c, &st);
    if (!st.started || st.step != CONS_STEP_NEW_HEIGHT || n->wal_height != st.height) return;
    wal_entry e = {.kind = W_TXS};
    (void)log_input(n, &e);
    cons_txs_available(&n->c, n->w->now);
}

/* Whether a received vote of round is worth re-sending: the current and
 * previous round, and any round a proposal or this node's locks name as a
 * POL, since a peer needs those prevotes to accept the proposal (line 28). */
static bool gossip_round(const sim_node *n, const cons_state *st, uint64_t round) {
    if (round + 1 >= st->round) return true;
    if ((int64_t)round == st->valid_round || (int64_t)round == st->locked_round) return true;
    for (size_t i = 0; i < n->wal.len; i++) {
        const wal_entry *e = &n->wal.e[i];
        bool prop = e->kind == W_PROP || e->kind == W_OWN_PROP;
        if (prop && e->prop.pol_round == (int64_t)round) return true;
    }
    return false;
}

/* Re-sends what this height's log holds: all proposals, own votes of every
 * round, and the received votes gossip_round picks. */
static void gossip(sim_node *n) {
    sim_world *w = n->w;
    cons_state st;
    cons_state_get(&n->c, &st);
    send_status(n, -1);
    for (size_t i = 0; i < n->wal.len; i++) {
        const wal_entry *e = &n->wal.e[i];
        sim_msg m;
        memset(&m, 0, sizeof m);
        m.from = n->idx;
        if (e->kind == W_PROP || e->kind == W_OWN_PROP) {
            m.kind = MSG_PROPOSAL;
            m.prop = e->prop;
            m.block = e->block;
        } else if (e->kind == W_OWN_VOTE ||
                   (e->kind == W_VOTE && gossip_round(n, &st, e->vote.round))) {
            m.kind = MSG_VOTE;
            m.vote = e->vote;
        } else {
            continue;
        }
        sim_send_all(w, n->idx, &m);
    }
}

void sim_node_tick(sim_node *n) {
    sim_world *w = n->w;
    (void)sim_push(w, SIM_TICK_MS, EV_TICK, n->idx);
    if (w->now - n->last_progress_ms < SIM_STALL_MS) return;
    if (w->now - n->last_gossip_ms < SIM_STALL_MS) return;
    n->last_gossip_ms = w->now;
    gossip(n);
}

void sim_node_progress(sim_node *n) {
    cons_state st;
    cons_state_get(&n->c, &st);
    if (st.height == n->prog_h && st.round == n->prog_r && st.step == n->prog_step) return;
    n->prog_h = st.height;
    n->prog_r = st.round;
    n->prog_step = st.step;
    n->last_progress_ms = n->w->now;
}
