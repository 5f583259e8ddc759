#include "tests/fuzz/fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/keys.h"
#include "node/wire.h"
#include "storage/store.h"

void fz_key(uint8_t sk[32], uint8_t pk[32], const char *role, int i) {
    char seed[64];
    int n = snprintf(seed, sizeof seed, "gongzhi fuzz %s %d", role, i);
    core_sha256(sk, seed, (size_t)n);
    if (core_key_pub(pk, sk) != GZ_OK) abort();
}

void fz_genesis(gz_genesis *g) {
    uint8_t sk[32];
    ledger_genesis_default(g);
    g->n_validators = FZ_VALIDATORS;
    for (int i = 0; i < FZ_VALIDATORS; i++) {
        gz_validator *v = &g->validators[i];
        snprintf(v->name, sizeof v->name, "v%d", i);
        fz_key(sk, v->pub_key, "validator", i);
        v->power = 1;
    }
    for (int r = 0; r < GZ_ROLE_COUNT; r++) {
        g->n_authorities[r] = 1;
        fz_key(sk, g->authorities[r][0], "authority", r);
    }
    for (int i = 0; i < FZ_HOLDERS; i++) {
        gz_genesis_account a = {.level = 8, .classes = 1};
        fz_key(sk, a.account, "holder", i);
        snprintf(a.label, sizeof a.label, "holder%d", i);
        if (ledger_genesis_add_account(g, &a) != GZ_OK) abort();
    }
}

static char tmp_dir[256];

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The directory goes at exit (not after a crash: its files may help). */
static void remove_tmpdir(void) { (void)nftw(tmp_dir, remove_one, 16, FTW_DEPTH | FTW_PHYS); }

/* A memory-backed directory when there is one: the engines fdatasync their
 * WAL on every own vote. */
const char *fz_tmpdir(void) {
    char *dir = tmp_dir;
    if (dir[0] != '\0') return dir;
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
    snprintf(dir, sizeof tmp_dir, "%s/gz-fuzz-XXXXXX", base ? base : "/tmp");
    if (mkdtemp(dir) == NULL) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(remove_tmpdir);
    return dir;
}

/* ---- one engine ---------------------------------------------------------- */

static uint64_t env_mono_ms(void *ctx) { return ((fz_node *)ctx)->now; }

/* The wall clock is the genesis time plus a second plus the monotonic clock,
 * the same on every engine, so seed blocks are on time for the target. */
static uint64_t env_wall_ms(void *ctx) {
    fz_node *f = ctx;
    return node_genesis(f->eng)->genesis_time + 1000 + f->now;
}

static void env_timer_start(void *ctx, unsigned timer, uint64_t delay_ms) {
    fz_node *f = ctx;
    f->due[timer] = f->now + delay_ms;
}

static void env_timer_stop(void *ctx, unsigned timer) { ((fz_node *)ctx)->due[timer] = UINT64_MAX; }

static void env_send(void *ctx, int peer, uint8_t type, const uint8_t *payload, size_t len) {
    fz_node *f = ctx;
    if (!f->record || f->n_sent == FZ_SENT_MAX) return;
    fz_sent *s = &f->sent[f->n_sent++];
    s->from = f->index;
    s->peer = peer;
    s->type = type;
    gz_buf_init(&s->payload);
    if (gz_buf_append(&s->payload, payload, len) != GZ_OK) abort();
}

static void env_disconnect(void *ctx, int peer, const char *why) {
    (void)ctx;
    (void)peer;
    (void)why;
}

static void env_log(void *ctx, const char *line) {
    (void)ctx;
    if (getenv("GZ_FUZZ_VERBOSE")) fprintf(stderr, "node: %s\n", line);
}

static void env_admitted(void *ctx, void *tag, const node_admission *a) {
    (void)ctx;
    (void)tag;
    if (getenv("GZ_FUZZ_VERBOSE")) fprintf(stderr, "admitted: %s %s\n", gz_strerror(a->rc), a->msg ? a->msg->text : "");
}

static void env_committed(void *ctx, const chain_block *b) {
    (void)b;
    ((fz_node *)ctx)->n_committed++;
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

int fz_node_open(fz_node *f, const gz_genesis *g, int index, const char *tag, bool fresh) {
    bool record = f->record;
    uint64_t wait = f->propose_wait_ms;
    memset(f, 0, sizeof *f);
    f->record = record;
    f->propose_wait_ms = wait;
    f->index = index;
    for (unsigned t = 0; t < NODE_TIMERS_N; t++) f->due[t] = UINT64_MAX;
    snprintf(f->wal_path, sizeof f->wal_path, "%s/%s.wal", fz_tmpdir(), tag);
    snprintf(f->ss_path, sizeof f->ss_path, "%s/%s.signstate", fz_tmpdir(), tag);
    if (fresh) {
        (void)unlink(f->wal_path);
        (void)unlink(f->ss_path);
    }
    node_open_args a = {.genesis = g, .wal_path = f->wal_path, .signstate_path = f->ss_path,
                        .sig_workers = 0, .propose_wait_ms = wait, .networked = true};
    uint8_t pk[32];
    fz_key(a.seckey, pk, "validator", index);
    if (store_open_memory(&f->st) != GZ_OK) return -1;
    a.st = f->st;
    node_env env = ENV;
    env.ctx = f;
    gz_msg msg = {{0}};
    if (node_open(&f->eng, &a, &env, &msg) != GZ_OK) {
        fprintf(stderr, "fuzz: cannot open an engine: %s\n", msg.text);
        store_close(f->st);
        f->st = NULL;
        return -1;
    }
    node_start(f->eng);
    for (int i = 0; i < (int)g->n_validators; i++)
        if (i != index) node_on_peer_up(f->eng, i, g->validators[i].pub_key);
    uint8_t sk[32];
    fz_key(sk, pk, "outsider", 0);
    node_on_peer_up(f->eng, FZ_OUTSIDER, pk);
    return 0;
}

void fz_node_sent_clear(fz_node *f) {
    for (size_t i = 0; i < f->n_sent; i++) gz_buf_free(&f->sent[i].payload);
    f->n_sent = 0;
}

void fz_node_close(fz_node *f) {
    node_close(f->eng);
    f->eng = NULL;
    store_close(f->st);
    f->st = NULL;
    fz_node_sent_clear(f);
}

int fz_node_next_timer(const fz_node *f) {
    int best = -1;
    for (unsigned t = 0; t < NODE_TIMERS_N; t++)
        if (f->due[t] != UINT64_MAX && (best < 0 || f->due[t] < f->due[best])) best = (int)t;
    return best;
}

/* ---- a small network ----------------------------------------------------- */

int fz_tx(gz_buf *out, const gz_genesis *g, int holder, uint64_t type, uint64_t nonce) {
    static gz_tx tx;
    uint8_t sk[32];
    memset(&tx, 0, sizeof tx);
    snprintf(tx.chain_id, sizeof tx.chain_id, "%s", g->chain_id);
    tx.type = type;
    tx.nonce = nonce;
    fz_key(sk, tx.signer, "holder", holder);
    if (type == GZ_TX_ANCHOR) {
        core_sha256(tx.p.anchor.artifact, &nonce, sizeof nonce);
        tx.p.anchor.kind = 1;
        snprintf(tx.p.anchor.work_id, sizeof tx.p.anchor.work_id, "work-%d", holder);
        snprintf(tx.p.anchor.media_type, sizeof tx.p.anchor.media_type, "text/plain");
    } else {
        uint8_t sk2[32];
        fz_key(sk2, tx.p.transfer.to, "holder", (holder + 1) % FZ_HOLDERS);
        tx.p.transfer.amount = 1;
    }
    return core_tx_sign_encode(&tx, sk, out) == GZ_OK ? 0 : -1;
}

/* Hands every send of node i to its receivers, logging it. */
static void deliver(fz_net *net, int i) {
    fz_node *f = &net->nodes[i];
    for (size_t k = 0; k < f->n_sent; k++) {
        fz_sent *s = &f->sent[k];
        for (int j = 0; j < FZ_VALIDATORS; j++) {
            if (j == i || (s->peer >= 0 && s->peer != j)) continue;
            net->nodes[j].record = true;
            node_on_message(net->nodes[j].eng, i, s->type, s->payload.data, s->payload.len);
        }
        if (net->n_log < FZ_SENT_MAX) {
            fz_sent *l = &net->log[net->n_log++];
            *l = *s;
            l->from = i;
            gz_buf_init(&s->payload);
        }
    }
    fz_node_sent_clear(f);
}

static bool all_committed(const fz_net *net, uint64_t heights) {
    for (int i = 0; i < FZ_VALIDATORS; i++) {
        node_status st;
        node_status_get(net->nodes[i].eng, &st);
        if (st.height < heights) return false;
    }
    return true;
}

/* Fires the timer due first anywhere, moving every clock to it. */
static bool fire_next(fz_net *net) {
    int who = -1, timer = -1;
    uint64_t at = UINT64_MAX;
    for (int i = 0; i < FZ_VALIDATORS; i++) {
        int t = fz_node_next_timer(&net->nodes[i]);
        if (t >= 0 && net->nodes[i].due[t] < at) {
            who = i;
            timer = t;
            at = net->nodes[i].due[t];
        }
    }
    if (who < 0) return false;
    for (int i = 0; i < FZ_VALIDATORS; i++)
        if (net->nodes[i].now < at) net->nodes[i].now = at;
    net->nodes[who].due[timer] = UINT64_MAX;
    node_on_timer(net->nodes[who].eng, (unsigned)timer);
    return true;
}

static int submit(fz_net *net, const gz_genesis *g) {
    for (int h = 0; h < FZ_HOLDERS; h++) {
        gz_buf b;
        gz_buf_init(&b);
        if (fz_tx(&b, g, h, h == 0 ? GZ_TX_ANCHOR : GZ_TX_TRANSFER, 0) != 0) return -1;
        if (node_submit(net->nodes[0].eng, &b, NULL) != GZ_OK) return -1;
        gz_buf_free(&b);
    }
    return 0;
}

int fz_net_run(fz_net *net, const gz_genesis *g, uint64_t heights) {
    memset(net, 0, sizeof *net);
    for (int i = 0; i < FZ_VALIDATORS; i++) {
        char tag[32];
        snprintf(tag, sizeof tag, "net%d", i);
        net->nodes[i].record = true;
        net->nodes[i].propose_wait_ms = 50; /* the first block waits for the seed txs */
        if (fz_node_open(&net->nodes[i], g, i, tag, true) != 0) return -1;
    }
    if (submit(net, g) != 0) return -1;
    for (int steps = 0; steps < 200000; steps++) {
        for (int i = 0; i < FZ_VALIDATORS; i++) deliver(net, i);
        bool quiet = true;
        for (int i = 0; i < FZ_VALIDATORS; i++) quiet = quiet && net->nodes[i].n_sent == 0;
        if (!quiet) continue;
        if (all_committed(net, heights)) return 0;
        if (!fire_next(net)) break;
    }
    fprintf(stderr, "fuzz: the seed network did not reach height %llu\n", (unsigned long long)heights);
    return -1;
}

void fz_net_free(fz_net *net) {
    for (int i = 0; i < FZ_VALIDATORS; i++) fz_node_close(&net->nodes[i]);
    for (size_t k = 0; k < net->n_log; k++) gz_buf_free(&net->log[k].payload);
    net->n_log = 0;
}

uint64_t fz_net_tx_height(fz_net *net) {
    chain *c = node_chain(net->nodes[0].eng);
    for (uint64_t h = 1; h <= c->height; h++) {
        chain_stored s = {0};
        if (chain_stored_load(c, h, &s) != GZ_OK) return 0;
        size_t n = s.n_txs;
        chain_stored_free(&s);
        if (n > 0) return h;
    }
    return 0;
}

const fz_sent *fz_net_find(const fz_net *net, int from, uint8_t type, size_t skip) {
    for (size_t k = 0; k < net->n_log; k++) {
        const fz_sent *s = &net->log[k];
        if (s->type != type || (from >= 0 && s->from != from)) continue;
        if (skip-- == 0) return s;
    }
    return NULL;
}

/* ---- seeds --------------------------------------------------------------- */

const char *fz_seed_dir(void) {
    const char *d = getenv("GZ_FUZZ_WRITE_SEEDS");
    return d != NULL && d[0] != '\0' ? d : NULL;
}

void fz_seed_mode(void (*write_seeds)(const char *dir)) {
    const char *dir = fz_seed_dir();
    if (dir == NULL) return;
    write_seeds(dir);
    exit(0);
}

int fz_seed(const char *dir, const char *name, const uint8_t *p, size_t len) {
    char path[1024];
    (void)mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(p, 1, len, fp) != len) {
        fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
        if (fp) fclose(fp);
        return -1;
    }
    fclose(fp);
    fprintf(stderr, "seed %s (%zu bytes)\n", path, len);
    return 0;
}
