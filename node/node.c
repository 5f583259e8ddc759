/* The node: opens everything from its home, wires consensus to the chain, the
 * network and the RPC server, and runs the libuv loop. */
#include "node/node.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/keys.h"
#include "node/node_internal.h"
#include "storage/keys.h"

uint64_t node_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void node_log(node *n, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    uint64_t now = node_now_ms();
    time_t sec = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    fprintf(stderr, "%02d:%02d:%02d.%03u node%d h=%llu %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
            (unsigned)(now % 1000), n->my_index, (unsigned long long)n->ch.height, line);
}

/* ---- consensus callbacks ------------------------------------------------- */

static bool cb_propose(void *ctx, uint64_t height, uint64_t round, uint8_t out[32]) {
    node *n = ctx;
    chain_block *b = NULL;
    int rc = chain_build(&n->ch, &n->mp, node_now_ms(), n->pk, &b);
    if (rc != GZ_OK) {
        node_log(n, "propose %llu/%llu: cannot build a block: %s", (unsigned long long)height,
                 (unsigned long long)round, gz_strerror(rc));
        return false;
    }
    memcpy(out, b->block_id, 32);
    return true;
}

static bool cb_valid(void *ctx, uint64_t height, uint64_t round, const uint8_t id[32]) {
    node *n = ctx;
    (void)round;
    chain_block *b = chain_find(&n->ch, id);
    if (b == NULL || b->header.height != height) return false;
    bool ok = chain_validate(&n->ch, b, node_now_ms());
    if (!ok) node_log(n, "block %llu invalid: %s", (unsigned long long)height, b->reason);
    return ok;
}

static bool cb_sign_vote(void *ctx, cons_vote *v) {
    node *n = ctx;
    gz_vote gv = {0};
    snprintf(gv.chain_id, sizeof gv.chain_id, "%s", n->g.chain_id);
    gv.type = v->type;
    gv.height = v->height;
    gv.round = v->round;
    gv.has_block_id = v->has_block_id;
    memcpy(gv.block_id, v->block_id, 32);
    gv.time = node_now_ms();
    uint8_t h[32];
    if (core_vote_sighash(h, &gv) != GZ_OK) return false;
    uint8_t step = v->type == CONS_PREVOTE ? 2 : 3;
    int rc = node_signstate_check_and_persist(&n->ss, v->height, v->round, step, h);
    if (rc != GZ_OK) {
        if (!n->replaying) node_log(n, "refusing to sign vote %llu/%llu/%u: %s", (unsigned long long)v->height,
                                    (unsigned long long)v->round, step, gz_strerror(rc));
        return false;
    }
    if (core_sign32(v->sig, n->sk, h, NULL) != GZ_OK) return false;
    v->time = gv.time;
    return true;
}

static bool cb_sign_proposal(void *ctx, cons_proposal *p) {
    node *n = ctx;
    gz_proposal gp = {0};
    snprintf(gp.chain_id, sizeof gp.chain_id, "%s", n->g.chain_id);
    gp.height = p->height;
    gp.round = p->round;
    gp.pol_round = p->pol_round;
    memcpy(gp.block_id, p->block_id, 32);
    uint8_t h[32];
    if (core_proposal_sighash(h, &gp) != GZ_OK) return false;
    if (node_signstate_check_and_persist(&n->ss, p->height, p->round, 1, h) != GZ_OK) return false;
    return core_sign32(p->sig, n->sk, h, NULL) == GZ_OK;
}

static void wal_record(node *n, uint8_t type, const gz_buf *payload, bool sync) {
    if (n->replaying) return;
    int rc = node_wal_append(&n->wal, type, payload->data, payload->len, sync);
    if (rc != GZ_OK) node_log(n, "wal: append failed: %s", gz_strerror(rc));
}

static void cb_broadcast_vote(void *ctx, const cons_vote *v) {
    node *n = ctx;
    gz_buf b;
    gz_buf_init(&b);
    if (node_encode_vote(n, v, &b) == GZ_OK) {
        wal_record(n, NODE_WAL_VOTE, &b, true);
        node_gossip_vote(n, &b);
    }
    gz_buf_free(&b);
}

static void cb_broadcast_proposal(void *ctx, const cons_proposal *p) {
    node *n = ctx;
    gz_buf b;
    gz_buf_init(&b);
    if (node_encode_proposal(n, p, &b) == GZ_OK) {
        wal_record(n, NODE_WAL_PROPOSAL, &b, true);
        if (n->n_wal_props < NODE_WAL_PROPS_MAX) n->wal_props[n->n_wal_props++] = p->round;
        node_gossip_proposal(n, &b);
    }
    gz_buf_free(&b);
}

static void on_timer(uv_timer_t *h) {
    node_timer *t = h->data;
    node *n = t->n;
    t->busy = false;
    if (n->stopping) return;
    uint8_t rec[24];
    gz_buf b = {rec, 0, sizeof rec};
    for (int i = 0; i < 8; i++) rec[i] = (uint8_t)(t->height >> (56 - 8 * i));
    for (int i = 0; i < 8; i++) rec[8 + i] = (uint8_t)(t->round >> (56 - 8 * i));
    rec[16] = t->step;
    b.len = 17;
    if (cons_on_timeout(&n->cs, t->height, t->round, t->step, node_now_ms()) == GZ_OK)
        wal_record(n, NODE_WAL_TIMEOUT, &b, false);
}

static void cb_schedule_timeout(void *ctx, uint64_t height, uint64_t round, uint8_t step, uint64_t delay) {
    node *n = ctx;
    if (n->replaying) return; /* replayed TIMEOUT records stand in for timers */
    /* A free timer, else the one of the oldest (height, round): it is stale. */
    node_timer *t = &n->timers[0];
    for (size_t i = 0; i < NODE_TIMERS_MAX; i++) {
        node_timer *c = &n->timers[i];
        if (!c->busy) { t = c; break; }
        if (c->height < t->height || (c->height == t->height && c->round < t->round)) t = c;
    }
    t->busy = true;
    t->height = height;
    t->round = round;
    t->step = step;
    uv_timer_start(&t->h, on_timer, delay, 0);
}

static void cb_decide(void *ctx, uint64_t height, uint64_t round, const uint8_t id[32],
                      const cons_proposal *prop, const cons_vote *pcs, size_t np) {
    node *n = ctx;
    (void)prop;
    if (height <= n->ch.height) return; /* block sync got there first */
    chain_block *b = chain_find(&n->ch, id);
    if (b == NULL) {
        /* A flood of other candidates (an equivocating proposer's blocks) can
         * push the decided one out of the bounded candidate set. The peers
         * that committed it serve it with its commit: block sync fetches it. */
        node_log(n, "decided block %llu is no longer held; fetching it from peers", (unsigned long long)height);
        return;
    }
    assert(b->header.height == height);
    static gz_commit cm; /* large; one decision at a time */
    memset(&cm, 0, sizeof cm);
    cm.height = height;
    cm.round = round;
    memcpy(cm.block_id, id, 32);
    cm.n_sigs = (uint32_t)np;
    for (size_t i = 0; i < np; i++) {
        cm.sigs[i].validator_index = pcs[i].validator;
        cm.sigs[i].time = pcs[i].time;
        memcpy(cm.sigs[i].sig, pcs[i].sig, 64);
    }
    gz_msg msg = {{0}};
    if (!chain_validate(&n->ch, b, node_now_ms()) || chain_commit(&n->ch, b, &cm, &msg) != GZ_OK) {
        /* Consensus decided a block this node cannot store: continuing would
         * fork its state from the network's, so stop loudly. */
        node_log(n, "FATAL: cannot commit decided block %llu: %s %s", (unsigned long long)height,
                 b->reason, msg.text);
        abort();
    }
    node_after_commit(n, b);
}

/* Starts consensus for the height after the committed one. */
static void start_next_height(node *n) {
    n->decided = false;
    for (size_t i = 0; i < n->n_height_votes; i++) gz_buf_reset(&n->height_votes[i]);
    n->n_height_votes = 0;
    gz_buf_reset(&n->height_prop);
    n->n_wal_props = 0;
    chain_clear(&n->ch);
    gz_msg msg = {{0}};
    if (node_wal_reset(&n->wal, &msg) != GZ_OK) node_log(n, "wal: reset failed: %s", msg.text);
    uint64_t now = node_now_ms();
    uv_timer_stop(&n->propose_wait);
    bool txs = mempool_count(&n->mp) > 0 && node_txs_ready_now(n, now);
    int rc = cons_start_height(&n->cs, n->ch.height + 1, now, txs);
    if (rc != GZ_OK) node_log(n, "consensus: cannot start height %llu: %s",
                              (unsigned long long)(n->ch.height + 1), gz_strerror(rc));
    else node_feed_future(n);
}

static void on_next_height(uv_idle_t *h) {
    node *n = h->data;
    uv_idle_stop(h);
    if (!n->stopping) start_next_height(n);
}

void node_after_commit(node *n, const chain_block *b) {
    n->decided = true; /* until start_next_height: messages of the next one are kept */
    for (size_t i = 0; i < b->n_txs; i++) (void)mempool_remove(&n->mp, b->txs[i].txid);
    node_waiters_notify(n, b);
    n->last_progress_ms = node_now_ms();
    if (b->n_txs > 0 || b->header.height % 100 == 0)
        node_log(n, "committed block %llu with %zu txs (mempool %zu)", (unsigned long long)b->header.height,
                 b->n_txs, mempool_count(&n->mp));
    if (n->syncing && n->ch.height >= n->sync_target) {
        n->syncing = false;
        node_log(n, "sync: caught up at height %llu (%llu blocks in %llu ms)", (unsigned long long)n->ch.height,
                 (unsigned long long)(n->ch.height - n->sync_from),
                 (unsigned long long)(n->last_progress_ms - n->sync_start_ms));
    }
    node_gossip_status(n);
    uv_idle_start(&n->next_height, on_next_height);
}

static const cons_callbacks CALLBACKS = {
    .propose = cb_propose,
    .valid = cb_valid,
    .sign_vote = cb_sign_vote,
    .sign_proposal = cb_sign_proposal,
    .broadcast_vote = cb_broadcast_vote,
    .broadcast_proposal = cb_broadcast_proposal,
    .schedule_timeout = cb_schedule_timeout,
    .decide = cb_decide,
};

/* ---- admission ------------------------------------------------------------ */



/* ---- periodic work and shutdown ------------------------------------------ */

static void on_tick(uv_timer_t *h) {
    node *n = h->data;
    uint64_t now = node_now_ms();
    node_waiters_expire(n, now);
    if (n->net_on) {
        node_sync_tick(n);
        /* A separate clock for re-sends: the time of the last commit is
         * what block sync looks at to tell a stalled height. */
        uint64_t since = n->last_resend_ms > n->last_progress_ms ? n->last_resend_ms : n->last_progress_ms;
        if (now - since > NODE_REBROADCAST_MS) {
            node_gossip_resend(n, -1);
            n->last_resend_ms = now;
        }
    }
}

static void on_close_walk(uv_handle_t *h, void *arg) {
    (void)arg;
    if (!uv_is_closing(h)) uv_close(h, NULL);
}

static void on_signal(uv_signal_t *h, int sig) {
    node *n = h->data;
    node_log(n, "signal %d: stopping", sig);
    n->stopping = true;
    uv_stop(n->loop);
}

/* ---- open ----------------------------------------------------------------- */

static int open_key(node *n, gz_msg *msg) {
    int rc = core_key_load(n->sk, n->cfg.key_file, msg);
    if (rc != GZ_OK) return rc;
    if (core_key_pub(n->pk, n->sk) != GZ_OK) return gz_fail(msg, GZ_EARG, "%s: not a valid key", n->cfg.key_file);
    n->my_index = -1;
    for (uint32_t i = 0; i < n->g.n_validators; i++) {
        if (memcmp(n->g.validators[i].pub_key, n->pk, 32) == 0) n->my_index = (int32_t)i;
    }
    return GZ_OK;
}

/* The signing state lives in the home, not in data/: an operator re-syncs a
 * node by wiping data/, and a validator that forgot what it signed in the
 * height in progress would sign a second, different vote there. A home made
 * before this rule keeps its data/signstate, which is moved here once. */
static int open_signstate(node *n, gz_msg *msg) {
    char path[NODE_PATH_MAX + 16], old[NODE_PATH_MAX + 16];
    node_path_join(path, sizeof path, n->cfg.home, "signstate");
    snprintf(old, sizeof old, "%s/signstate", n->cfg.data_dir);
    if (access(path, F_OK) != 0 && access(old, F_OK) == 0) {
        if (rename(old, path) != 0 || node_fsync_parent_dir(path) != GZ_OK)
            return gz_fail(msg, GZ_EIO, "%s: cannot move to %s: %s", old, path, strerror(errno));
        node_log(n, "signstate: moved %s to %s", old, path);
    }
    return node_signstate_open(&n->ss, path, msg);
}

/* One signature worker per core beyond the loop's own (the loop thread works
 * on each batch too). */
static int open_pool(node *n, gz_msg *msg) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned workers = cores > 1 ? (unsigned)(cores - 1) : 0;
    if (workers > 4) workers = 4;
    if (sigpool_init(&n->pool, workers) != GZ_OK) return gz_fail(msg, GZ_ENOMEM, "sigpool: cannot start threads");
    n->opened_pool = true;
    n->ch.pool = &n->pool;
    return GZ_OK;
}

static int open_state(node *n, gz_msg *msg) {
    char path[NODE_PATH_MAX + 16];
    if (node_mkdirs(n->cfg.data_dir) != GZ_OK) return gz_fail(msg, GZ_EIO, "%s: cannot create", n->cfg.data_dir);
    snprintf(path, sizeof path, "%s/db", n->cfg.data_dir);
    int rc = store_open_rocksdb(&n->st, path, msg);
    if (rc == GZ_OK && store_cache_enable(n->st, GZ_STATE_CACHE_ENTRIES, GZ_STATE_CACHE_BYTES) != GZ_OK)
        rc = gz_fail(msg, GZ_ENOMEM, "state cache: out of memory");
    if (rc == GZ_OK) rc = ledger_open(&n->lg, n->st, &n->g, msg);
    if (rc == GZ_OK) rc = chain_open(&n->ch, n->st, n->lg, &n->g, msg);
    if (rc == GZ_OK && mempool_init(&n->mp, GZ_MEMPOOL_TXS_MAX, GZ_MEMPOOL_BYTES_MAX) != GZ_OK)
        rc = gz_fail(msg, GZ_ENOMEM, "mempool: out of memory");
    if (rc == GZ_OK) rc = open_pool(n, msg);
    if (rc == GZ_OK) rc = open_signstate(n, msg);
    n->opened_ss = rc == GZ_OK;
    snprintf(path, sizeof path, "%s/consensus.wal", n->cfg.data_dir);
    if (rc == GZ_OK) rc = node_wal_open(&n->wal, path, msg);
    n->opened_wal = rc == GZ_OK;
    if (rc == GZ_OK && n->wal.dropped_bytes > 0)
        node_log(n, "wal: dropped a torn tail of %llu bytes", (unsigned long long)n->wal.dropped_bytes);
    return rc;
}

static int open_consensus(node *n, gz_msg *msg) {
    uint64_t powers[GZ_VALIDATORS_MAX];
    for (uint32_t i = 0; i < n->g.n_validators; i++) powers[i] = n->g.validators[i].power;
    cons_config cc = {
        .powers = powers,
        .n_validators = n->g.n_validators,
        .my_index = n->my_index,
        .timeout_propose_ms = n->g.consensus.timeout_propose_ms,
        .timeout_vote_ms = n->g.consensus.timeout_vote_ms,
        .timeout_delta_ms = n->g.consensus.timeout_delta_ms,
        .empty_block_ms = n->g.consensus.empty_block_ms,
    };
    cons_callbacks cb = CALLBACKS;
    cb.ctx = n;
    int rc = cons_init(&n->cs, &cc, &cb);
    if (rc != GZ_OK) return gz_fail(msg, rc, "consensus: cannot initialise: %s", gz_strerror(rc));
    return GZ_OK;
}

static int replay_record(uint8_t type, const uint8_t *p, size_t len, void *data) {
    node *n = data;
    gz_msg msg;
    if (type == NODE_WAL_PROPOSAL) (void)node_handle_proposal(n, p, len, &msg);
    else if (type == NODE_WAL_VOTE) (void)node_handle_vote(n, p, len, &msg);
    else if (type == NODE_WAL_TIMEOUT && len == 17) {
        uint64_t h = 0, r = 0;
        for (int i = 0; i < 8; i++) h = h << 8 | p[i];
        for (int i = 0; i < 8; i++) r = r << 8 | p[8 + i];
        (void)cons_on_timeout(&n->cs, h, r, p[16], node_now_ms());
    }
    return GZ_OK;
}

/* Enters the first uncommitted height and feeds back what the WAL holds of it. */
static void resume(node *n) {
    int rc = cons_start_height(&n->cs, n->ch.height + 1, node_now_ms(), mempool_count(&n->mp) > 0);
    assert(rc == GZ_OK);
    n->replaying = true;
    rc = node_wal_replay(&n->wal, replay_record, n);
    n->replaying = false;
    if (rc != GZ_OK) node_log(n, "wal: replay stopped: %s", gz_strerror(rc));
    else if (n->wal.records > 0)
        node_log(n, "wal: replayed %llu records of height %llu", (unsigned long long)n->wal.records,
                 (unsigned long long)(n->ch.height + 1));
    /* Timers armed before the crash are gone: re-arm the current step's. */
    cons_state st;
    cons_state_get(&n->cs, &st);
    if (n->wal.records > 0 && !n->decided) {
        uint8_t step = st.step == CONS_STEP_NEW_HEIGHT ? CONS_STEP_NEW_HEIGHT : st.step;
        cb_schedule_timeout(n, st.height, st.round, step, cons_timeout_ms(&n->cs, step, st.round));
    }
}

/* Transport lines go through the node's log, with its time and height. */
static void on_p2p_log(void *ctx, const char *line) { node_log(ctx, "p2p: %s", line); }

static int start_services(node *n, gz_msg *msg) {
    rpc_server_init(&n->rpc, n->loop, node_rpc_methods, node_rpc_methods_n, n);
    n->opened_rpc = true;
    int rc = rpc_server_listen(&n->rpc, n->cfg.rpc_host, n->cfg.rpc_port, msg);
    if (rc != GZ_OK) return rc;
    if (n->g.n_validators > 1 || n->cfg.n_peers > 0) {
        const char *peers[GZ_PEERS_MAX];
        for (size_t i = 0; i < n->cfg.n_peers; i++) peers[i] = n->cfg.peers[i];
        p2p_config pc = {
            .chain_id = n->g.chain_id,
            .listen_host = n->cfg.p2p_host,
            .listen_port = n->cfg.p2p_port,
            .peers = peers,
            .peers_n = n->cfg.n_peers,
        };
        memcpy(pc.seckey, n->sk, 32);
        p2p_callbacks cb = {.on_peer_up = node_on_peer_up, .on_peer_down = node_on_peer_down,
                            .on_message = node_on_message, .on_log = on_p2p_log};
        rc = p2p_init(&n->net, n->loop, &pc, &cb, n, msg);
        if (rc != GZ_OK) return rc;
        n->net_on = true;
        rc = p2p_start(&n->net, msg);
        if (rc != GZ_OK) return rc;
    }
    return GZ_OK;
}

static void init_handles(node *n) {
    for (size_t i = 0; i < NODE_TIMERS_MAX; i++) {
        uv_timer_init(n->loop, &n->timers[i].h);
        n->timers[i].h.data = &n->timers[i];
        n->timers[i].n = n;
    }
    uv_timer_init(n->loop, &n->propose_wait);
    n->propose_wait.data = n;
    uv_timer_init(n->loop, &n->tick);
    n->tick.data = n;
    uv_timer_start(&n->tick, on_tick, 100, 100);
    uv_timer_init(n->loop, &n->tx_flush);
    n->tx_flush.data = n;
    uv_idle_init(n->loop, &n->next_height);
    n->next_height.data = n;
    uv_idle_init(n->loop, &n->txs_ready);
    n->txs_ready.data = n;
    uv_idle_init(n->loop, &n->admit_idle);
    n->admit_idle.data = n;
    uv_signal_init(n->loop, &n->sigint);
    uv_signal_init(n->loop, &n->sigterm);
    n->sigint.data = n->sigterm.data = n;
    uv_signal_start(&n->sigint, on_signal, SIGINT);
    uv_signal_start(&n->sigterm, on_signal, SIGTERM);
}

static void node_close(node *n) {
    /* Close every handle (rpc and p2p included) and let their callbacks run. */
    if (n->net_on) p2p_close(&n->net, NULL);
    if (n->opened_rpc) rpc_server_close(&n->rpc, NULL);
    uv_walk(n->loop, on_close_walk, NULL);
    uv_run(n->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(n->loop);
    node_admit_free(n);
    cons_free(&n->cs);
    chain_close(&n->ch);
    mempool_free(&n->mp);
    ledger_close(n->lg);
    store_close(n->st);
    if (n->opened_wal) node_wal_close(&n->wal);
    if (n->opened_ss) node_signstate_free(&n->ss);
    if (n->opened_pool) sigpool_free(&n->pool);
    gz_buf_free(&n->tx_out);
    for (size_t i = 0; i < NODE_HEIGHT_VOTES_MAX; i++) gz_buf_free(&n->height_votes[i]);
    for (size_t i = 0; i < NODE_FUTURE_VOTES_MAX; i++) gz_buf_free(&n->future_votes[i]);
    gz_buf_free(&n->height_prop);
    gz_buf_free(&n->future_prop);
    ledger_genesis_free(&n->g);
    memset(n->sk, 0, sizeof n->sk);
}

int node_run(const node_config *cfg, gz_msg *msg) {
    static node nd; /* large (waiters, timers): not on the stack */
    node *n = &nd;
    /* libuv writes to sockets with write(2): a peer or RPC client that reset
     * its connection would otherwise kill the node with SIGPIPE instead of
     * letting the write fail with EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    memset(n, 0, sizeof *n);
    n->cfg = *cfg;
    n->my_index = -1;
    int rc = ledger_genesis_load(&n->g, cfg->genesis_file, msg);
    if (rc == GZ_OK) rc = open_key(n, msg);
    if (rc == GZ_OK) rc = open_state(n, msg);
    if (rc == GZ_OK) rc = open_consensus(n, msg);
    uv_loop_t loop;
    uv_loop_init(&loop);
    n->loop = &loop;
    init_handles(n);
    if (rc == GZ_OK) rc = start_services(n, msg);
    if (rc == GZ_OK) {
        n->started_ms = n->last_progress_ms = node_now_ms();
        node_log(n, "started: chain %s, %s %d of %u, rpc %s:%u, height %llu", n->g.chain_id,
                 n->my_index >= 0 ? "validator" : "full node", n->my_index, n->g.n_validators,
                 cfg->rpc_host, cfg->rpc_port, (unsigned long long)n->ch.height);
        resume(n);
        uv_run(n->loop, UV_RUN_DEFAULT);
        store_cache_stats cs;
        if (store_cache_stats_get(n->st, &cs))
            node_log(n, "state cache: %llu hits, %llu misses, %zu bytes held", (unsigned long long)cs.hits,
                     (unsigned long long)cs.misses, cs.bytes);
        node_log(n, "stopped");
    }
    node_close(n);
    return rc;
}

int node_apply_synced(node *n, const uint8_t *block, size_t block_len, const uint8_t *commit,
                      size_t commit_len, gz_msg *msg) {
    static gz_commit cm;
    int rc = core_commit_decode(&cm, commit, commit_len, msg);
    if (rc != GZ_OK) return rc;
    chain_block *b = NULL;
    rc = chain_add_block(&n->ch, &n->mp, block, block_len, &b, msg);
    if (rc != GZ_OK) return rc;
    rc = core_commit_verify(&cm, n->g.chain_id, b->block_id, b->header.height, n->g.validators,
                            n->g.n_validators, msg);
    if (rc != GZ_OK) return rc;
    /* A committed block is checked against its predecessor, not the local
     * clock: it was accepted by more than 2/3 of the power. */
    if (!chain_validate(&n->ch, b, UINT64_MAX / 2)) {
        node_log(n, "FATAL: block %llu has a valid commit but this node computes otherwise: %s",
                 (unsigned long long)b->header.height, b->reason);
        abort();
    }
    rc = chain_commit(&n->ch, b, &cm, msg);
    if (rc != GZ_OK) return rc;
    node_after_commit(n, b);
    return GZ_OK;
}
