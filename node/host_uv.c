/* The libuv host: opens a node from its home (config, genesis, key, RocksDB
 * store), fills the engine's node_env with the loop's timers, the p2p
 * transport and the clocks, serves JSON-RPC, and runs until SIGINT/SIGTERM. */
#include <errno.h>
#include <stdlib.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/keys.h"
#include "node/host.h"
#include "node/wal.h"

static uint64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the environment ------------------------------------------------------ */

static uint64_t env_mono_ms(void *ctx) {
    (void)ctx;
    return host_mono_ms();
}

static uint64_t env_wall_ms(void *ctx) {
    (void)ctx;
    return wall_ms();
}

static void on_timer(uv_timer_t *t) {
    host_timer *ht = t->data;
    if (!ht->host->stopping) node_on_timer(ht->host->eng, ht->id);
}

static void env_timer_start(void *ctx, unsigned timer, uint64_t delay_ms) {
    node_host *h = ctx;
    uv_timer_start(&h->timers[timer].h, on_timer, delay_ms, 0);
}

static void env_timer_stop(void *ctx, unsigned timer) {
    node_host *h = ctx;
    uv_timer_stop(&h->timers[timer].h);
}

static void env_send(void *ctx, int peer, uint8_t type, const uint8_t *payload, size_t len) {
    node_host *h = ctx;
    if (!h->net_on) return;
    int rc = peer < 0 ? p2p_broadcast(&h->net, type, payload, len, -1) : p2p_send(&h->net, peer, type, payload, len);
    /* A send fails when the peer is gone or too slow; the transport has then
     * dropped it already. */
    if (rc < 0 && rc != GZ_ENOTFOUND && rc != GZ_ELIMIT) fprintf(stderr, "p2p: send failed: %s\n", gz_strerror(rc));
}

static void env_disconnect(void *ctx, int peer, const char *why) {
    node_host *h = ctx;
    if (h->net_on && p2p_disconnect(&h->net, peer, why) != GZ_OK) return; /* already gone */
}

/* Log lines on stderr with the wall time: what an operator reads. */
static void env_log(void *ctx, const char *line) {
    (void)ctx;
    uint64_t now = wall_ms();
    time_t sec = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
    fprintf(stderr, "%02d:%02d:%02d.%03u %s\n", tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(now % 1000), line);
}

/* ---- p2p callbacks -------------------------------------------------------- */

static void on_peer_up(void *ctx, int peer, const uint8_t pubkey[32]) {
    node_host *h = ctx;
    node_on_peer_up(h->eng, peer, pubkey);
}

static void on_peer_down(void *ctx, int peer, const char *reason) {
    node_host *h = ctx;
    if (h->eng != NULL) node_on_peer_down(h->eng, peer, reason);
}

static void on_message(void *ctx, int peer, uint8_t type, const uint8_t *payload, size_t len) {
    node_host *h = ctx;
    node_on_message(h->eng, peer, type, payload, len);
}

/* Validators of the current set always; then the allow list when the
 * config has one (everyone else refused), or everyone as an outsider. */
static p2p_peer_class on_classify(void *ctx, const uint8_t pubkey[32]) {
    node_host *h = ctx;
    if (h->eng != NULL && node_is_validator(h->eng, pubkey)) return P2P_PEER_VALIDATOR;
    if (h->eng != NULL && node_peer_banned(h->eng, pubkey)) return P2P_PEER_REFUSED;
    if (!h->cfg.has_allow) return P2P_PEER_OUTSIDER;
    for (size_t i = 0; i < h->cfg.n_allow; i++)
        if (memcmp(h->cfg.allow[i], pubkey, 32) == 0) return P2P_PEER_ALLOWED;
    return P2P_PEER_REFUSED;
}

/* Transport lines go through the log, with the time. */
static void on_p2p_log(void *ctx, const char *line) {
    char l[600];
    snprintf(l, sizeof l, "p2p: %s", line);
    env_log(ctx, l);
}

/* ---- open ----------------------------------------------------------------- */

/* The signing state lives in the home, not in data/: an operator re-syncs a
 * node by wiping data/, and a validator that forgot what it signed in the
 * height in progress would sign a second, different vote there. A home made
 * before this rule keeps its data/signstate, which is moved here once. */
static int signstate_path(node_host *h, char *path, size_t cap, gz_msg *msg) {
    char old[NODE_PATH_MAX + 16];
    node_path_join(path, cap, h->cfg.home, "signstate");
    snprintf(old, sizeof old, "%s/signstate", h->cfg.data_dir);
    if (access(path, F_OK) != 0 && access(old, F_OK) == 0) {
        if (rename(old, path) != 0 || node_fsync_parent_dir(path) != GZ_OK)
            return gz_fail(msg, GZ_EIO, "%s: cannot move to %s: %s", old, path, strerror(errno));
        fprintf(stderr, "signstate: moved %s to %s\n", old, path);
    }
    return GZ_OK;
}

/* One signature worker per core beyond the loop's own (the loop thread works
 * on each batch too). */
static unsigned sig_workers(void) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned workers = cores > 1 ? (unsigned)(cores - 1) : 0;
    return workers > 4 ? 4 : workers;
}

/* A node with other validators or configured peers runs the p2p transport. */
static bool networked(const node_host *h) { return h->g.n_validators > 1 || h->cfg.n_peers > 0; }

static int open_engine(node_host *h, const uint8_t sk[32], gz_msg *msg) {
    char db[NODE_PATH_MAX + 16], wal[NODE_PATH_MAX + 32], ss[NODE_PATH_MAX + 16];
    node_open_args a = {.genesis = &h->g, .sig_workers = sig_workers(), .propose_wait_ms = h->cfg.propose_wait_ms,
                        .networked = networked(h)};
    if (node_mkdirs(h->cfg.data_dir) != GZ_OK) return gz_fail(msg, GZ_EIO, "%s: cannot create", h->cfg.data_dir);
    snprintf(db, sizeof db, "%s/db", h->cfg.data_dir);
    int rc = store_open_rocksdb(&h->st, db, msg);
    if (rc == GZ_OK && store_cache_enable(h->st, GZ_STATE_CACHE_ENTRIES, GZ_STATE_CACHE_BYTES) != GZ_OK)
        rc = gz_fail(msg, GZ_ENOMEM, "state cache: out of memory");
    if (rc == GZ_OK) rc = signstate_path(h, ss, sizeof ss, msg);
    snprintf(wal, sizeof wal, "%s/consensus.wal", h->cfg.data_dir);
    a.st = h->st;
    a.wal_path = wal;
    a.signstate_path = ss;
    node_env env = {.ctx = h, .mono_ms = env_mono_ms, .wall_ms = env_wall_ms, .timer_start = env_timer_start,
                    .timer_stop = env_timer_stop, .send = env_send, .disconnect = env_disconnect, .log = env_log,
                    .admitted = host_admitted, .committed = host_committed};
    memcpy(a.seckey, sk, 32);
    if (rc == GZ_OK) rc = node_open(&h->eng, &a, &env, msg);
    memset(a.seckey, 0, sizeof a.seckey);
    return rc;
}

static int start_p2p(node_host *h, const uint8_t sk[32], gz_msg *msg) {
    const char *peers[GZ_PEERS_MAX];
    for (size_t i = 0; i < h->cfg.n_peers; i++) peers[i] = h->cfg.peers[i];
    p2p_config pc = {
        .chain_id = h->g.chain_id,
        .listen_host = h->cfg.p2p_host,
        .listen_port = h->cfg.p2p_port,
        .peers = peers,
        .peers_n = h->cfg.n_peers,
    };
    memcpy(pc.seckey, sk, 32);
    p2p_callbacks cb = {.on_peer_up = on_peer_up, .on_peer_down = on_peer_down, .on_message = on_message,
                        .on_log = on_p2p_log, .classify = on_classify};
    int rc = p2p_init(&h->net, &h->loop, &pc, &cb, h, msg);
    memset(pc.seckey, 0, sizeof pc.seckey);
    if (rc != GZ_OK) return rc;
    h->net_on = true;
    return p2p_start(&h->net, msg);
}

static int start_services(node_host *h, const uint8_t sk[32], gz_msg *msg) {
    rpc_server_init(&h->rpc, &h->loop, host_rpc_methods, host_rpc_methods_n, h);
    rpc_server_set_costs(&h->rpc, host_rpc_costs);
    h->opened_rpc = true;
    int rc = rpc_server_listen(&h->rpc, h->cfg.rpc_host, h->cfg.rpc_port, msg);
    if (rc == GZ_OK && networked(h)) rc = start_p2p(h, sk, msg);
    return rc;
}

static void on_wait_tick(uv_timer_t *t) {
    node_host *h = t->data;
    host_waiters_expire(h, host_mono_ms());
}

static void on_signal(uv_signal_t *s, int sig) {
    node_host *h = s->data;
    fprintf(stderr, "signal %d: stopping\n", sig);
    h->stopping = true;
    uv_stop(&h->loop);
}

static void init_handles(node_host *h) {
    for (unsigned i = 0; i < NODE_TIMERS_N; i++) {
        uv_timer_init(&h->loop, &h->timers[i].h);
        h->timers[i].h.data = &h->timers[i];
        h->timers[i].host = h;
        h->timers[i].id = i;
    }
    uv_timer_init(&h->loop, &h->wait_tick);
    h->wait_tick.data = h;
    uv_timer_start(&h->wait_tick, on_wait_tick, 100, 100);
    uv_signal_init(&h->loop, &h->sigint);
    uv_signal_init(&h->loop, &h->sigterm);
    h->sigint.data = h->sigterm.data = h;
    uv_signal_start(&h->sigint, on_signal, SIGINT);
    uv_signal_start(&h->sigterm, on_signal, SIGTERM);
}

static void on_close_walk(uv_handle_t *handle, void *arg) {
    (void)arg;
    if (!uv_is_closing(handle)) uv_close(handle, NULL);
}

static void host_close(node_host *h) {
    h->stopping = true;
    /* Close every handle (rpc and p2p included) and let their callbacks run. */
    if (h->net_on) p2p_close(&h->net, NULL);
    if (h->opened_rpc) rpc_server_close(&h->rpc, NULL);
    uv_walk(&h->loop, on_close_walk, NULL);
    uv_run(&h->loop, UV_RUN_DEFAULT);
    (void)uv_loop_close(&h->loop);
    node *eng = h->eng;
    h->eng = NULL;
    node_close(eng);
    store_close(h->st);
    if (h->opened_g) ledger_genesis_free(&h->g);
}

static void log_cache(node_host *h) {
    store_cache_stats cs;
    if (store_cache_stats_get(h->st, &cs))
        fprintf(stderr, "state cache: %llu hits, %llu misses, %zu bytes held\n", (unsigned long long)cs.hits,
                (unsigned long long)cs.misses, cs.bytes);
}

int node_run(const node_config *cfg, gz_msg *msg) {
    node_host *h = calloc(1, sizeof *h); /* large (waiters, timers): not on the stack */
    if (h == NULL) return gz_fail(msg, GZ_ENOMEM, "node: out of memory");
    /* libuv writes to sockets with write(2): a peer or RPC client that reset
     * its connection would otherwise kill the node with SIGPIPE instead of
     * letting the write fail with EPIPE. */
    signal(SIGPIPE, SIG_IGN);
    h->cfg = *cfg;
    uv_loop_init(&h->loop);
    init_handles(h);
    uint8_t sk[32]; /* read once; the engine and the transport each keep a copy */
    int rc = ledger_genesis_load(&h->g, cfg->genesis_file, msg);
    h->opened_g = rc == GZ_OK;
    if (rc == GZ_OK) rc = core_key_load(sk, cfg->key_file, msg);
    if (rc == GZ_OK) rc = open_engine(h, sk, msg);
    if (rc == GZ_OK) rc = start_services(h, sk, msg);
    memset(sk, 0, sizeof sk);
    if (rc == GZ_OK) {
        fprintf(stderr, "rpc on %s:%u\n", cfg->rpc_host, cfg->rpc_port);
        node_start(h->eng);
        uv_run(&h->loop, UV_RUN_DEFAULT);
        log_cache(h);
        fprintf(stderr, "stopped\n");
    }
    host_close(h);
    free(h);
    return rc;
}
