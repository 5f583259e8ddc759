/* The benchmark's load: pre-signed txs in ready-made JSON-RPC batches,
 * submitted from one thread per node while the calling thread watches node 0
 * commit them. Every time is taken on one monotonic clock. */
#include <assert.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/bytes.h"
#include "core/codec.h"
#include "core/hash.h"
#include "tools/bench.h"
#include "rpc/rpc.h"

/* Signing threads at most (the machine's cores are used up to this). */
#define BENCH_SIGN_THREADS_MAX 8
/* A submit batch waits this long for its answer. */
#define BENCH_POST_TIMEOUT_MS 60000
/* A status or block poll waits this long for its answer. */
#define BENCH_POLL_TIMEOUT_MS 10000
/* One line of a batch body without the tx hex. */
#define BENCH_CALL_OVERHEAD 96

volatile int bench_stop;

double bench_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void bench_sleep_ms(double ms) {
    if (!(ms > 0)) return;
    uint64_t us = (uint64_t)(ms * 1000.0);
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000), .tv_nsec = (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* ---- building ------------------------------------------------------------ */

/* Holder a's tx with this nonce: a VOTE when a + nonce is even and proposals
 * are open (so votes and anchors alternate per holder and also within each
 * nonce), spread so that each holder's votes go to distinct proposals; else
 * an ANCHOR of an artifact no other tx uses. */
static void tx_fill(gz_tx *tx, const bench_keys *k, const bench_spec *s, uint64_t a, uint64_t nonce) {
    memset(tx, 0, sizeof *tx);
    snprintf(tx->chain_id, sizeof tx->chain_id, "%s", s->chain_id);
    memcpy(tx->signer, k->pk[a], 32);
    tx->nonce = nonce;
    if (s->n_props > 0 && (a + nonce) % 2 == 0) {
        tx->type = GZ_TX_VOTE;
        memcpy(tx->p.vote.proposal_id, s->props[(a + nonce / 2) % s->n_props], 32);
        tx->p.vote.n_choices = 1;
        tx->p.vote.choices[0] = a % 2;
        return;
    }
    tx->type = GZ_TX_ANCHOR;
    static const char tag[] = "gongzhi-bench-artifact";
    uint8_t in[sizeof tag - 1 + 4 + 8 + 8];
    size_t n = sizeof tag - 1;
    memcpy(in, tag, n);
    gz_put_u32be(in + n, s->salt);
    gz_put_u64be(in + n + 4, a);
    gz_put_u64be(in + n + 12, nonce);
    core_sha256(tx->p.anchor.artifact, in, sizeof in);
    tx->p.anchor.kind = 1 + nonce % 7;
    snprintf(tx->p.anchor.work_id, sizeof tx->p.anchor.work_id, "bench-%llu", (unsigned long long)a);
    snprintf(tx->p.anchor.media_type, sizeof tx->p.anchor.media_type, "image/png");
}

/* The (holder, nonce) of each tx in submission order: grouped by the node the
 * holder submits to, then by nonce, then by holder, so that a node receives
 * each holder's nonces in sequence. Tx g = nonce * holders + a exists for g < n. */
typedef struct bench_slot {
    uint32_t account;
    uint32_t nonce;
} bench_slot;

static bench_slot *plan_slots(const bench_keys *k, const bench_spec *s, size_t *per_node) {
    uint64_t A = k->n_accounts, N = s->n_txs;
    bench_slot *slots = malloc((N ? N : 1) * sizeof *slots);
    if (slots == NULL) return NULL;
    size_t at = 0;
    for (int t = 0; t < s->n_nodes; t++) {
        size_t start = at;
        for (uint64_t nonce = 0; nonce * A < N; nonce++) {
            for (uint64_t a = (uint64_t)t; a < A && nonce * A + a < N; a += (uint64_t)s->n_nodes)
                slots[at++] = (bench_slot){(uint32_t)a, (uint32_t)nonce};
        }
        per_node[t] = at - start;
    }
    assert(at == N);
    return slots;
}

/* Cuts each node's run of txs into batches of at most batch_txs. */
static int plan_batches(bench_load *l, const bench_spec *s, const size_t *per_node) {
    size_t nb = 0;
    for (int t = 0; t < s->n_nodes; t++) nb += (per_node[t] + s->batch_txs - 1) / s->batch_txs;
    l->batches = calloc(nb ? nb : 1, sizeof *l->batches);
    if (l->batches == NULL) return GZ_ENOMEM;
    size_t first = 0;
    for (int t = 0; t < s->n_nodes; t++) {
        for (size_t done = 0; done < per_node[t]; done += s->batch_txs) {
            bench_batch *b = &l->batches[l->n_batches++];
            b->node = t;
            b->first = (uint32_t)(first + done);
            b->n = (uint32_t)(per_node[t] - done < s->batch_txs ? per_node[t] - done : s->batch_txs);
        }
        first += per_node[t];
    }
    assert(l->n_batches == nb);
    return GZ_OK;
}

typedef struct sign_job {
    bench_load *l;
    const bench_keys *k;
    const bench_spec *s;
    const bench_slot *slots;
    size_t next_batch_stride, first_batch;
    int rc;
} sign_job;

/* Signs one batch's txs and writes its JSON-RPC body. */
static int sign_batch(sign_job *j, bench_batch *b, gz_tx *tx, gz_buf *enc, char *hex) {
    gz_buf body;
    gz_buf_init(&body);
    int rc = gz_buf_append(&body, "[", 1);
    for (uint32_t i = 0; i < b->n && rc == GZ_OK; i++) {
        uint32_t pos = b->first + i;
        const bench_slot *sl = &j->slots[pos];
        tx_fill(tx, j->k, j->s, sl->account, sl->nonce);
        gz_buf_reset(enc);
        rc = core_tx_sign_encode(tx, j->k->sk[sl->account], enc);
        if (rc != GZ_OK) break;
        memcpy(j->l->txs[pos].txid, tx->txid, 32);
        j->l->txs[pos].batch = (uint32_t)(b - j->l->batches);
        j->l->txs[pos].code = -1;
        gz_hex_encode(hex, enc->data, enc->len);
        char head[BENCH_CALL_OVERHEAD];
        int n = snprintf(head, sizeof head, "%s{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"submit_tx\",\"params\":{\"tx\":\"",
                         i == 0 ? "" : ",", pos);
        rc = gz_buf_append(&body, head, (size_t)n);
        if (rc == GZ_OK) rc = gz_buf_append(&body, hex, 2 * enc->len);
        if (rc == GZ_OK) rc = gz_buf_append(&body, "\"}}", 3);
    }
    if (rc == GZ_OK) rc = gz_buf_append(&body, "]", 1);
    if (rc != GZ_OK) {
        gz_buf_free(&body);
        return rc;
    }
    b->body = (char *)body.data;
    b->len = body.len;
    return GZ_OK;
}

static void *sign_main(void *arg) {
    sign_job *j = arg;
    gz_tx *tx = malloc(sizeof *tx);
    char *hex = malloc(2 * GZ_TX_BYTES_MAX + 1);
    gz_buf enc;
    gz_buf_init(&enc);
    j->rc = tx == NULL || hex == NULL ? GZ_ENOMEM : GZ_OK;
    for (size_t b = j->first_batch; b < j->l->n_batches && j->rc == GZ_OK; b += j->next_batch_stride)
        j->rc = sign_batch(j, &j->l->batches[b], tx, &enc, hex);
    gz_buf_free(&enc);
    free(hex);
    free(tx);
    return NULL;
}

static int sign_all(bench_load *l, const bench_keys *k, const bench_spec *s, const bench_slot *slots) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t nt = cores < 1 ? 1 : cores > BENCH_SIGN_THREADS_MAX ? BENCH_SIGN_THREADS_MAX : (size_t)cores;
    sign_job jobs[BENCH_SIGN_THREADS_MAX];
    pthread_t th[BENCH_SIGN_THREADS_MAX];
    bool started[BENCH_SIGN_THREADS_MAX];
    for (size_t i = 0; i < nt; i++) {
        jobs[i] = (sign_job){.l = l, .k = k, .s = s, .slots = slots, .next_batch_stride = nt, .first_batch = i};
        started[i] = pthread_create(&th[i], NULL, sign_main, &jobs[i]) == 0;
        if (!started[i]) sign_main(&jobs[i]); /* no thread to be had: sign this share here */
    }
    int rc = GZ_OK;
    for (size_t i = 0; i < nt; i++) {
        if (started[i]) pthread_join(th[i], NULL);
        if (jobs[i].rc != GZ_OK) rc = jobs[i].rc;
    }
    return rc;
}

static uint64_t txid_key(const uint8_t txid[32]) {
    uint64_t h;
    memcpy(&h, txid, sizeof h);
    return h;
}

static int index_build(bench_load *l) {
    l->index_cap = 16;
    while (l->index_cap < 2 * l->n_txs) l->index_cap *= 2;
    l->index = malloc(l->index_cap * sizeof *l->index);
    if (l->index == NULL) return GZ_ENOMEM;
    memset(l->index, 0xff, l->index_cap * sizeof *l->index);
    for (size_t i = 0; i < l->n_txs; i++) {
        size_t at = (size_t)txid_key(l->txs[i].txid) & (l->index_cap - 1);
        while (l->index[at] != UINT32_MAX) {
            if (memcmp(l->txs[l->index[at]].txid, l->txs[i].txid, 32) == 0) return GZ_EDUP;
            at = (at + 1) & (l->index_cap - 1);
        }
        l->index[at] = (uint32_t)i;
    }
    return GZ_OK;
}

static bench_tx *index_find(const bench_load *l, const uint8_t txid[32]) {
    for (size_t at = (size_t)txid_key(txid) & (l->index_cap - 1); l->index[at] != UINT32_MAX;
         at = (at + 1) & (l->index_cap - 1)) {
        if (memcmp(l->txs[l->index[at]].txid, txid, 32) == 0) return &l->txs[l->index[at]];
    }
    return NULL;
}

/* Votes, anchors, and the distinct (holder, proposal) pairs the votes make:
 * holder a votes on min(its votes, proposals) distinct proposals. */
static void count_kinds(bench_load *l, const bench_keys *k, const bench_spec *s) {
    uint64_t A = k->n_accounts;
    for (uint64_t a = 0; a < A; a++) {
        uint64_t n = s->n_txs / A + (a < s->n_txs % A ? 1 : 0);
        uint64_t votes = s->n_props == 0 ? 0 : a % 2 == 0 ? (n + 1) / 2 : n / 2;
        l->n_votes += votes;
        l->n_anchors += n - votes;
        l->vote_pairs += votes < s->n_props ? votes : s->n_props;
    }
}

int bench_load_build(bench_load *l, const bench_keys *k, const bench_spec *s, gz_msg *msg) {
    memset(l, 0, sizeof *l);
    if (k->n_accounts == 0 || s->n_txs == 0 || s->batch_txs == 0 || s->n_nodes < 1 || s->n_nodes > BENCH_NODES_MAX)
        return gz_fail(msg, GZ_EARG, "bench: nothing to build");
    if (s->n_txs > UINT32_MAX / 2 || k->n_accounts > UINT32_MAX)
        return gz_fail(msg, GZ_ELIMIT, "bench: at most %u txs", UINT32_MAX / 2);
    size_t per_node[BENCH_NODES_MAX] = {0};
    bench_slot *slots = plan_slots(k, s, per_node);
    l->n_txs = s->n_txs;
    l->txs = calloc(l->n_txs, sizeof *l->txs);
    int rc = slots == NULL || l->txs == NULL ? GZ_ENOMEM : plan_batches(l, s, per_node);
    if (rc == GZ_OK) rc = sign_all(l, k, s, slots);
    if (rc == GZ_OK) rc = index_build(l);
    free(slots);
    if (rc != GZ_OK) {
        bench_load_free(l);
        return gz_fail(msg, rc, "bench: cannot build the load: %s", gz_strerror(rc));
    }
    count_kinds(l, k, s);
    return GZ_OK;
}

void bench_load_free(bench_load *l) {
    for (size_t i = 0; i < l->n_batches; i++) free(l->batches[i].body);
    free(l->batches);
    free(l->txs);
    free(l->index);
    memset(l, 0, sizeof *l);
}

/* ---- submitting ---------------------------------------------------------- */

typedef struct submit_shared {
    bench_load *l;
    const bench_net *net;
    const bench_drive *d;
    atomic_size_t admitted, refused;
    atomic_int done;
    atomic_int give_up;  /* the watcher failed: submitters stop */
    _Atomic double last_activity_ms;
    pthread_mutex_t mu; /* guards refusal */
    char refusal[200];
} submit_shared;

typedef struct submit_job {
    submit_shared *sh;
    int node;
    double rate_tps; /* this thread's share; 0 = unpaced */
} submit_job;

static void note_refusal(submit_shared *sh, const char *text) {
    pthread_mutex_lock(&sh->mu);
    if (sh->refusal[0] == '\0') snprintf(sh->refusal, sizeof sh->refusal, "%s", text);
    pthread_mutex_unlock(&sh->mu);
}

/* Records the admission answers of one batch. */
static void read_answers(submit_shared *sh, const bench_batch *b, const gz_buf *resp) {
    json_error_t jerr;
    json_t *arr = json_loadb((const char *)resp->data, resp->len, 0, &jerr);
    size_t ok = 0, bad = 0;
    if (!json_is_array(arr)) {
        char text[200];
        snprintf(text, sizeof text, "batch answer is not a JSON array: %.120s", (const char *)resp->data);
        note_refusal(sh, text);
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *one = json_array_get(arr, i);
        json_int_t id = json_integer_value(json_object_get(one, "id"));
        if (id < b->first || id >= (json_int_t)(b->first + b->n)) continue;
        bench_tx *t = &sh->l->txs[id];
        json_t *res = json_object_get(one, "result");
        uint8_t txid[32];
        const char *hex = json_string_value(json_object_get(res, "txid"));
        t->code = (int32_t)json_integer_value(json_object_get(res, "code"));
        if (res == NULL || hex == NULL || gz_hex_decode(txid, 32, hex) != GZ_OK || memcmp(txid, t->txid, 32) != 0) {
            if (t->code == 0) t->code = 12;
        }
        if (t->code == 0) ok++;
        else {
            bad++;
            const char *m = json_string_value(json_object_get(res != NULL ? res : json_object_get(one, "error"), "message"));
            char text[200];
            snprintf(text, sizeof text, "code %d: %s", (int)t->code, m != NULL ? m : "no message");
            note_refusal(sh, text);
        }
    }
    json_decref(arr);
    atomic_fetch_add(&sh->admitted, ok);
    atomic_fetch_add(&sh->refused, bad);
}

static void *submit_main(void *arg) {
    submit_job *j = arg;
    submit_shared *sh = j->sh;
    const char *url = sh->net->urls[j->node];
    gz_buf resp;
    gz_buf_init(&resp);
    double start = bench_now_ms();
    size_t sent = 0;
    for (size_t i = 0; i < sh->l->n_batches && !bench_stop && !atomic_load(&sh->give_up); i++) {
        bench_batch *b = &sh->l->batches[i];
        if (b->node != j->node) continue;
        /* A paced batch's latency counts from when it was due, not from when
         * the POST went out: a node that answers slowly delays the next POSTs,
         * and timing them from their late start would hide that wait. */
        double due = bench_now_ms();
        if (j->rate_tps > 0) {
            due = start + (double)sent * 1000.0 / j->rate_tps;
            double now = bench_now_ms();
            if (due > now) bench_sleep_ms(due - now);
        }
        b->submit_ms = due - sh->d->t0_ms;
        int status = 0;
        gz_msg err = {{0}};
        int rc = rpc_client_post_raw_timeout(url, b->body, b->len, BENCH_POST_TIMEOUT_MS, &status, &resp, &err);
        if (rc == GZ_OK && status == 200) read_answers(sh, b, &resp);
        else {
            char text[200];
            snprintf(text, sizeof text, "node%d: POST failed: %s (HTTP %d)", j->node, err.text, status);
            note_refusal(sh, text);
            atomic_fetch_add(&sh->refused, b->n);
        }
        sent += b->n;
        sh->last_activity_ms = bench_now_ms();
    }
    gz_buf_free(&resp);
    atomic_fetch_add(&sh->done, 1);
    return NULL;
}

/* ---- watching commits ---------------------------------------------------- */

typedef struct watch {
    bench_load *l;
    bench_outcome *o;
    const bench_drive *d;
    uint64_t height;           /* last block read */
    uint64_t prev_time_ms;     /* its header time */
    double last_commit_seen_ms;
} watch;

/* The committed height node url reports. */
static int status_height(const char *url, uint64_t *out, gz_msg *msg) {
    json_t *res = NULL;
    *out = 0;
    int rc = rpc_client_call_timeout(url, "status", NULL, BENCH_POLL_TIMEOUT_MS, &res, msg);
    if (rc != GZ_OK) return rc;
    json_t *v = json_object_get(res, "height");
    *out = json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
    json_decref(res);
    return GZ_OK;
}

/* The round a block was decided in, from its Commit bytes; 0 if unreadable. */
static uint64_t commit_round(const char *hex) {
    static gz_commit cm; /* large; only the watching thread decodes */
    gz_buf b;
    gz_buf_init(&b);
    uint64_t round = 0;
    if (hex != NULL && gz_hex_decode_buf(&b, hex, strlen(hex)) == GZ_OK &&
        core_commit_decode(&cm, b.data, b.len, NULL) == GZ_OK)
        round = cm.round;
    gz_buf_free(&b);
    return round;
}

/* Reads committed block h from node 0 and marks the txs in it. */
static int watch_block(watch *w, const char *url, uint64_t h, gz_msg *msg) {
    json_t *res = NULL;
    json_t *params = json_pack("{s:I}", "height", (json_int_t)h);
    int rc = rpc_client_call_timeout(url, "block", params, BENCH_POLL_TIMEOUT_MS, &res, msg);
    json_decref(params);
    if (rc != GZ_OK) return rc;
    double now = bench_now_ms() - w->d->t0_ms;
    json_t *ids = json_object_get(res, "txids");
    size_t mine = 0;
    for (size_t i = 0; i < json_array_size(ids); i++) {
        uint8_t txid[32];
        const char *hex = json_string_value(json_array_get(ids, i));
        bench_tx *t = hex != NULL && gz_hex_decode(txid, 32, hex) == GZ_OK ? index_find(w->l, txid) : NULL;
        if (t == NULL) { w->o->foreign++; continue; }
        if (t->seen++ == 0) {
            t->commit_ms = now;
            mine++;
        }
    }
    json_t *header = json_object_get(res, "header");
    json_t *log_size = json_object_get(header, "log_size");
    w->o->log_size_end = json_is_integer(log_size) ? (uint64_t)json_integer_value(log_size) : 0;
    uint64_t round = commit_round(json_string_value(json_object_get(res, "commit")));
    uint64_t time_ms = (uint64_t)json_integer_value(json_object_get(header, "time"));
    if (w->d->verbose)
        printf("bench:     block %llu: %zu txs (%zu ours), round %llu, block time +%llu ms, seen at %.0f ms\n",
               (unsigned long long)h, json_array_size(ids), mine, (unsigned long long)round,
               (unsigned long long)(w->prev_time_ms ? time_ms - w->prev_time_ms : 0), now);
    w->prev_time_ms = time_ms;
    json_decref(res);
    if (mine > 0) {
        w->o->rounds_extra += round;
        if (round > w->o->max_round) w->o->max_round = round;
        if (w->o->blocks++ == 0) w->o->first_height = h;
        w->o->last_height = h;
        w->o->committed += mine;
        w->last_commit_seen_ms = now;
    }
    w->height = h;
    return GZ_OK;
}

/* One poll of node 0: reads every block committed since the last poll.
 * Returns GZ_OK and *news when a block was read. */
static int watch_poll(watch *w, const bench_net *net, bool *news, gz_msg *msg) {
    uint64_t top = 0;
    *news = false;
    int rc = status_height(net->urls[0], &top, msg);
    while (rc == GZ_OK && w->height < top && !bench_stop) {
        rc = watch_block(w, net->urls[0], w->height + 1, msg);
        *news = true;
    }
    return rc;
}

static int watch_loop(watch *w, bench_net *net, submit_shared *sh, gz_msg *msg) {
    for (;;) {
        if (bench_stop) { w->o->stopped = true; return GZ_OK; }
        if (bench_net_died(net, msg)) return GZ_EIO;
        bool news = false;
        /* A node busy executing a large block can miss a poll's deadline: that
         * is a slow answer, not a failure, unless it lasts stall_ms. */
        gz_msg err = {{0}};
        if (watch_poll(w, net, &news, &err) != GZ_OK) {
            w->o->poll_errors++;
            snprintf(w->o->poll_error, sizeof w->o->poll_error, "%s", err.text);
        }
        bench_net_sample_rss(net);
        bool all_sent = atomic_load(&sh->done) == net->n;
        if (all_sent && w->o->committed >= atomic_load(&sh->admitted)) return GZ_OK;
        double now = bench_now_ms() - w->d->t0_ms;
        double active = sh->last_activity_ms - w->d->t0_ms;
        double last = w->last_commit_seen_ms > active ? w->last_commit_seen_ms : active;
        if (now - last > w->d->stall_ms) { w->o->stalled = true; return GZ_OK; }
        if (!news) bench_sleep_ms(5);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double percentile(const double *sorted, size_t n, double p) {
    if (n == 0) return 0;
    size_t rank = (size_t)ceil(p * (double)n);
    return sorted[rank == 0 ? 0 : rank - 1];
}

/* Fills the outcome's counts, times and latency percentiles from the txs. */
static int summarise(const bench_load *l, bench_outcome *o) {
    double *lat = malloc((l->n_txs ? l->n_txs : 1) * sizeof *lat);
    if (lat == NULL) return GZ_ENOMEM;
    size_t n = 0;
    o->committed = o->missing = o->duplicated = 0;
    o->first_submit_ms = INFINITY;
    for (size_t b = 0; b < l->n_batches; b++) {
        if (l->batches[b].submit_ms < o->first_submit_ms) o->first_submit_ms = l->batches[b].submit_ms;
        if (l->batches[b].submit_ms > o->last_submit_ms) o->last_submit_ms = l->batches[b].submit_ms;
    }
    for (size_t i = 0; i < l->n_txs; i++) {
        const bench_tx *t = &l->txs[i];
        if (t->seen > 1) o->duplicated++;
        if (t->seen == 0) {
            if (t->code == 0) o->missing++;
            continue;
        }
        o->committed++;
        if (t->commit_ms > o->last_commit_ms) o->last_commit_ms = t->commit_ms;
        lat[n++] = t->commit_ms - l->batches[t->batch].submit_ms;
    }
    qsort(lat, n, sizeof *lat, cmp_double);
    o->p50_ms = percentile(lat, n, 0.50);
    o->p99_ms = percentile(lat, n, 0.99);
    o->max_ms = n > 0 ? lat[n - 1] : 0;
    free(lat);
    return GZ_OK;
}

/* Starts one submitter per node; returns how many started. */
static int start_submitters(submit_shared *sh, submit_job *jobs, pthread_t *th, const bench_net *net,
                            const bench_drive *d) {
    int started = 0;
    for (int i = 0; i < net->n; i++) {
        jobs[i] = (submit_job){.sh = sh, .node = i, .rate_tps = d->rate_tps / net->n};
        if (pthread_create(&th[i], NULL, submit_main, &jobs[i]) != 0) break;
        started++;
    }
    return started;
}

static double self_cpu_s(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Busy CPU seconds of the whole machine since boot (/proc/stat), so that a
 * run can tell its own CPU from other processes'. */
static double machine_cpu_s(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (f == NULL) return 0;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
                   &v[6], &v[7]);
    fclose(f);
    if (n != 8) return 0;
    /* user nice system idle iowait irq softirq steal: all but idle and iowait. */
    return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU used by each node and by this process between two calls (start, then end). */
static void cpu_mark(bench_net *net, bench_outcome *o, bool end) {
    bench_net_sample_cpu(net);
    double sign = end ? 1 : -1;
    for (int i = 0; i < net->n; i++) o->node_cpu_s[i] += sign * net->cpu_s[i];
    o->client_cpu_s += sign * self_cpu_s();
    o->machine_cpu_s += sign * machine_cpu_s();
    o->wall_s += sign * bench_now_ms() / 1000.0;
}

int bench_load_run(bench_load *l, bench_net *net, const bench_drive *d, bench_outcome *o, gz_msg *msg) {
    memset(o, 0, sizeof *o);
    cpu_mark(net, o, false);
    static submit_shared sh; /* holds atomics and a mutex: one run at a time */
    memset(&sh, 0, sizeof sh);
    sh.l = l;
    sh.net = net;
    sh.d = d;
    pthread_mutex_init(&sh.mu, NULL);
    watch w = {.l = l, .o = o, .d = d};
    int rc = status_height(net->urls[0], &w.height, msg);
    /* cppcheck-suppress variableScope ; the submitter threads read their jobs until they are joined below */
    submit_job jobs[BENCH_NODES_MAX];
    pthread_t th[BENCH_NODES_MAX];
    int started = 0;
    if (rc == GZ_OK) {
        sh.last_activity_ms = bench_now_ms();
        started = start_submitters(&sh, jobs, th, net, d);
        if (started < net->n) rc = gz_fail(msg, GZ_ENOMEM, "bench: cannot start submitter threads");
    }
    if (rc == GZ_OK) rc = watch_loop(&w, net, &sh, msg);
    if (rc != GZ_OK || o->stalled) atomic_store(&sh.give_up, 1);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    cpu_mark(net, o, true);
    o->admitted = atomic_load(&sh.admitted);
    o->refused = atomic_load(&sh.refused);
    snprintf(o->refusal, sizeof o->refusal, "%s", sh.refusal);
    pthread_mutex_destroy(&sh.mu);
    if (rc == GZ_OK) rc = summarise(l, o);
    return rc;
}
