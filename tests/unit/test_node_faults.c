/* The engine under storage faults, driven by a small host with a virtual
 * clock: a store that fails its writes (a full disk) pauses committing and
 * signing without aborting and resumes when it heals; a WAL that refuses an
 * append keeps the own message from leaving and halts signing until it is
 * healthy; the WAL's duplicate detection does not depend on how many votes
 * the re-send set holds. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "core/bytes.h"
#include "core/codec.h"
#include "core/hash.h"
#include "core/keys.h"
#include "core/mp.h"
#include "ledger/genesis.h"
#include "node/node.h"
#include "node/signstate.h"
#include "node/wire.h"
#include "storage/store.h"
#include "tests/unit/testutil.h"

#define HOST_LOG_BYTES (256 * 1024)
#define HOST_SENT_MAX 4096

typedef struct host {
    node *eng;
    store *st;
    gz_genesis g;
    uint8_t sk[4][32];
    uint64_t now;
    bool armed[NODE_TIMERS_N];
    uint64_t deadline[NODE_TIMERS_N];
    uint8_t sent[HOST_SENT_MAX][32]; /* digests of distinct proposals and votes sent */
    size_t n_sent;
    char log[HOST_LOG_BYTES];
    size_t log_len;
    char dir[64], wal[128], ss[128];
} host;

static uint64_t h_mono(void *ctx) { return ((host *)ctx)->now; }
static uint64_t h_wall(void *ctx) {
    host *h = ctx;
    return h->g.genesis_time + 1000 + h->now;
}
static void h_timer_start(void *ctx, unsigned t, uint64_t delay) {
    host *h = ctx;
    h->armed[t] = true;
    h->deadline[t] = h->now + delay;
}
static void h_timer_stop(void *ctx, unsigned t) { ((host *)ctx)->armed[t] = false; }

static void h_send(void *ctx, int peer, uint8_t type, const uint8_t *p, size_t len) {
    host *h = ctx;
    (void)peer;
    if (type != NODE_MSG_PROPOSAL && type != NODE_MSG_VOTE) return;
    uint8_t d[32];
    core_sha256(d, p, len);
    for (size_t i = 0; i < h->n_sent; i++)
        if (memcmp(h->sent[i], d, 32) == 0) return;
    cr_assert_lt(h->n_sent, HOST_SENT_MAX);
    memcpy(h->sent[h->n_sent++], d, 32);
}

static void h_disconnect(void *ctx, int peer, const char *why) {
    (void)ctx;
    (void)peer;
    (void)why;
}

static void h_log(void *ctx, const char *line) {
    host *h = ctx;
    size_t n = strlen(line);
    if (h->log_len + n + 2 > sizeof h->log) h->log_len = 0; /* plenty for one test's window */
    memcpy(h->log + h->log_len, line, n);
    h->log_len += n;
    h->log[h->log_len++] = '\n';
    h->log[h->log_len] = '\0';
}

static void h_admitted(void *ctx, void *tag, const node_admission *a) {
    (void)ctx;
    (void)tag;
    (void)a;
}

/* A chain of n validators (keys 1..n); this host runs validator 0. */
static void host_open(host *h, uint32_t n, const store_fault_cfg *faults) {
    memset(h, 0, sizeof *h);
    tu_tmpdir_make(h->dir, sizeof h->dir, "test-faults");
    snprintf(h->wal, sizeof h->wal, "%s/consensus.wal", h->dir);
    snprintf(h->ss, sizeof h->ss, "%s/signstate", h->dir);
    ledger_genesis_default(&h->g);
    h->g.n_validators = n;
    for (uint32_t i = 0; i < n; i++) {
        memset(h->sk[i], 0, 32);
        h->sk[i][31] = (uint8_t)(i + 1);
        cr_assert_eq(core_key_pub(h->g.validators[i].pub_key, h->sk[i]), GZ_OK);
        h->g.validators[i].power = 1;
    }
    store *mem = NULL;
    cr_assert_eq(store_open_memory(&mem), GZ_OK);
    cr_assert_eq(store_open_faulty(&h->st, mem, faults), GZ_OK);
    node_open_args a = {.genesis = &h->g, .st = h->st, .wal_path = h->wal, .signstate_path = h->ss,
                        .networked = true};
    memcpy(a.seckey, h->sk[0], 32);
    node_env env = {.ctx = h, .mono_ms = h_mono, .wall_ms = h_wall, .timer_start = h_timer_start,
                    .timer_stop = h_timer_stop, .send = h_send, .disconnect = h_disconnect, .log = h_log,
                    .admitted = h_admitted};
    gz_msg msg = {{0}};
    cr_assert_eq(node_open(&h->eng, &a, &env, &msg), GZ_OK, "%s", msg.text);
    node_start(h->eng);
}

static void host_close(host *h) {
    node_close(h->eng);
    store_close(h->st);
    tu_tmpdir_remove(h->dir);
}

/* Fires the engine's timers in deadline order for ms of virtual time. */
static void host_run(host *h, uint64_t ms) {
    uint64_t end = h->now + ms;
    for (int steps = 0; steps < 1000000; steps++) {
        int next = -1;
        for (int t = 0; t < NODE_TIMERS_N; t++)
            if (h->armed[t] && h->deadline[t] <= end && (next < 0 || h->deadline[t] < h->deadline[next])) next = t;
        if (next < 0) break;
        if (h->deadline[next] > h->now) h->now = h->deadline[next];
        h->armed[next] = false;
        node_on_timer(h->eng, (unsigned)next);
    }
    h->now = end;
}

static node_status host_status(host *h) {
    node_status st;
    node_status_get(h->eng, &st);
    return st;
}

/* The height of the last signed message, from the sign-state file
 * (node/signstate.h: magic, version, step, reserved, then height). */
static uint64_t signed_height(host *h) {
    size_t len = 0;
    char *b = tu_read_file(h->ss, &len);
    if (b == NULL) return 0;
    cr_assert_eq(len, 60);
    uint64_t v = gz_get_u64be((const uint8_t *)b + 8);
    free(b);
    return v;
}

static void set_faults(host *h, bool disk_full) {
    store_fault_cfg c = {.disk_full = disk_full};
    cr_assert_eq(store_faults_set(h->st, &c), GZ_OK);
}

Test(node_faults, a_full_disk_pauses_commits_and_signing_then_resumes) {
    host *h = calloc(1, sizeof *h);
    store_fault_cfg none = {0};
    host_open(h, 1, &none);
    host_run(h, 5000);
    uint64_t h0 = host_status(h).height;
    cr_assert_geq(h0, 2, "a single validator commits on its own (height %llu)", (unsigned long long)h0);

    set_faults(h, true);
    host_run(h, 3000);
    node_status st = host_status(h);
    uint64_t h1 = st.height;
    cr_expect_leq(h1, h0 + 1, "no commit goes through a full disk");
    cr_expect(st.storage_halted, "the status says storage is halted");
    cr_expect(st.disk_full, "and that the disk is full");
    cr_expect(strstr(h->log, "disk full: store") != NULL, "the log names a full disk:\n%s", h->log);
    uint64_t signed1 = signed_height(h);
    size_t sent1 = h->n_sent;
    host_run(h, 5000);
    cr_expect_eq(host_status(h).height, h1, "still paused: the engine neither aborts nor moves on");
    cr_expect_leq(signed_height(h), h1 + 1, "nothing is signed for a height after the unwritten one");
    cr_expect_eq(signed_height(h), signed1, "and nothing new is signed at all");
    cr_expect_eq(h->n_sent, sent1, "no new proposal or vote leaves");
    store_fault_stats fs;
    cr_assert(store_faults_stats(h->st, &fs));
    cr_expect_geq(fs.write_faults, 5, "the commit is retried on a timer (%llu tries)",
                  (unsigned long long)fs.write_faults);

    set_faults(h, false);
    host_run(h, 3000);
    st = host_status(h);
    cr_expect_gt(st.height, h1 + 1, "committing resumes by itself (height %llu)", (unsigned long long)st.height);
    cr_expect(!st.storage_halted && !st.disk_full, "the status is healthy again");
    cr_expect(strstr(h->log, "signing resumes") != NULL, "the log says so:\n%s", h->log);
    cr_expect_gt(signed_height(h), h1, "signing resumes");
    host_close(h);
    free(h);
}

Test(node_faults, failed_store_writes_by_chance_never_fork_or_abort) {
    host *h = calloc(1, sizeof *h);
    store_fault_cfg some = {.seed = 42, .write_fail_ppm = 300000, .enospc_ppm = 200000};
    host_open(h, 1, &some);
    host_run(h, 20000);
    store_fault_stats fs;
    cr_assert(store_faults_stats(h->st, &fs));
    cr_expect_gt(fs.write_faults, 0, "faults were injected");
    uint64_t before = host_status(h).height;
    set_faults(h, false);
    host_run(h, 5000);
    cr_expect_gt(host_status(h).height, before + 2, "the chain moves on once writes work");
    cr_expect(!host_status(h).storage_halted);
    host_close(h);
    free(h);
}

Test(node_faults, a_refused_wal_append_keeps_the_message_and_halts_signing) {
    host *h = calloc(1, sizeof *h);
    store_fault_cfg none = {0};
    host_open(h, 1, &none);
    host_run(h, 5000);
    uint64_t h0 = host_status(h).height;
    cr_assert_geq(h0, 2);
    /* Files may not grow past 64 bytes: the WAL's next record fails
     * (EFBIG), the 60-byte sign state still fits. */
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    host_run(h, 3000);
    node_status st = host_status(h);
    uint64_t h1 = st.height;
    cr_expect(st.storage_halted, "a failed WAL append halts signing");
    char want[200];
    snprintf(want, sizeof want, "storage failure: wal %s", h->wal);
    cr_expect(strstr(h->log, want) != NULL, "the log names the WAL:\n%s", h->log);
    size_t sent1 = h->n_sent;
    uint64_t signed1 = signed_height(h);
    host_run(h, 5000);
    cr_expect_eq(host_status(h).height, h1, "no progress while the WAL refuses records");
    cr_expect_eq(h->n_sent, sent1, "nothing signed leaves without its record");
    cr_expect_eq(signed_height(h), signed1, "nothing new is signed");

    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    host_run(h, 3000);
    st = host_status(h);
    cr_expect(!st.storage_halted, "healthy again");
    cr_expect_gt(st.height, h1 + 1, "signing and committing resume (height %llu)", (unsigned long long)st.height);
    cr_expect_gt(h->n_sent, sent1, "the held-back message and new ones leave");
    cr_expect(strstr(h->log, "signing resumes") != NULL, "%s", h->log);
    host_close(h);
    free(h);
}

/* A vote message [Vote, validator, sig] of validator idx at height 1. */
static void vote_msg(host *h, uint32_t idx, uint8_t type, uint64_t round, uint8_t value, gz_buf *out) {
    gz_vote v;
    memset(&v, 0, sizeof v);
    snprintf(v.chain_id, sizeof v.chain_id, "%s", h->g.chain_id);
    v.type = type;
    v.height = 1;
    v.round = round;
    v.has_block_id = true;
    memset(v.block_id, value, 32);
    v.time = h->g.genesis_time + 1;
    uint8_t d[32], sig[64];
    cr_assert_eq(core_vote_sighash(d, &v), GZ_OK);
    cr_assert_eq(core_sign32(sig, h->sk[idx], d, NULL), GZ_OK);
    gz_buf vb;
    gz_buf_init(&vb);
    cr_assert_eq(core_vote_encode(&v, &vb), GZ_OK);
    gz_buf_reset(out);
    cr_assert_eq(mp_put_array(out, 3), GZ_OK);
    cr_assert_eq(mp_put_bin(out, vb.data, vb.len), GZ_OK);
    cr_assert_eq(mp_put_uint(out, idx), GZ_OK);
    cr_assert_eq(mp_put_bin(out, sig, 64), GZ_OK);
    gz_buf_free(&vb);
}

static uint64_t wal_written(host *h) {
    uint64_t synced, written;
    node_wal_extent(h->eng, &synced, &written);
    return written;
}

/* Every distinct vote validator 3 can sign for rounds [0, rounds): two
 * values of each type. */
static size_t flood(host *h, uint64_t rounds) {
    gz_buf b;
    gz_buf_init(&b);
    size_t n = 0;
    for (uint64_t r = 0; r < rounds; r++)
        for (uint8_t t = 1; t <= 2; t++)
            for (uint8_t val = 1; val <= 2; val++, n++) {
                vote_msg(h, 3, t, r, val, &b);
                node_on_message(h->eng, 7, NODE_MSG_VOTE, b.data, b.len);
            }
    gz_buf_free(&b);
    return n;
}

Test(node_faults, wal_dedup_holds_past_the_resend_capacity) {
    host *h = calloc(1, sizeof *h);
    store_fault_cfg none = {0};
    host_open(h, 4, &none);
    node_on_peer_up(h->eng, 7, h->g.validators[3].pub_key);
    uint64_t start = wal_written(h);
    size_t n = flood(h, 300); /* 1,200 distinct signed votes, more than GZ_HEIGHT_VOTES_MAX */
    cr_assert_gt(n, 1024);
    uint64_t once = wal_written(h);
    cr_expect_gt(once, start, "votes of the rounds in progress are logged");
    flood(h, 300);
    cr_expect_eq(wal_written(h), once, "a vote seen before is never logged again (%llu -> %llu bytes)",
                 (unsigned long long)once, (unsigned long long)wal_written(h));
    /* What is logged is bounded by what consensus counts, not by the flood. */
    gz_buf b;
    gz_buf_init(&b);
    vote_msg(h, 3, 1, 0, 1, &b);
    cr_expect_lt(once - start, (uint64_t)(b.len + 9) * 200, "%llu bytes logged for %zu votes",
                 (unsigned long long)(once - start), n);
    gz_buf_free(&b);
    host_close(h);
    free(h);
}

Test(node_faults, two_votes_per_key_are_logged_once_each) {
    host *h = calloc(1, sizeof *h);
    store_fault_cfg none = {0};
    host_open(h, 4, &none);
    node_on_peer_up(h->eng, 7, h->g.validators[2].pub_key);
    gz_buf a, b, c;
    gz_buf_init(&a);
    gz_buf_init(&b);
    gz_buf_init(&c);
    vote_msg(h, 2, 1, 0, 1, &a);
    vote_msg(h, 2, 1, 0, 2, &b);
    vote_msg(h, 2, 1, 0, 3, &c);
    uint64_t w0 = wal_written(h);
    node_on_message(h->eng, 7, NODE_MSG_VOTE, a.data, a.len);
    uint64_t w1 = wal_written(h);
    node_on_message(h->eng, 7, NODE_MSG_VOTE, a.data, a.len);
    cr_expect_gt(w1, w0, "the first vote is logged");
    cr_expect_eq(wal_written(h), w1, "its duplicate is not");
    node_on_message(h->eng, 7, NODE_MSG_VOTE, b.data, b.len);
    uint64_t w2 = wal_written(h);
    cr_expect_gt(w2, w1, "a conflicting second vote is logged (consensus counts it)");
    node_on_message(h->eng, 7, NODE_MSG_VOTE, c.data, c.len);
    node_on_message(h->eng, 7, NODE_MSG_VOTE, b.data, b.len);
    cr_expect_eq(wal_written(h), w2, "a third value and a repeat of the second are not");
    gz_buf_free(&a);
    gz_buf_free(&b);
    gz_buf_free(&c);
    host_close(h);
    free(h);
}

/* A sign-state write the file system refuses (a file-size limit below the
 * record's 60 bytes) fails without changing the state in memory;
 * node_signstate_heal fails while the cause lasts and rewrites the record
 * once writes work, and the file then reads back as the last state persisted. */
Test(node_faults, a_refused_signstate_write_is_healed) {
    char dir[64], path[128];
    tu_tmpdir_make(dir, sizeof dir, "test-ss-fault");
    snprintf(path, sizeof path, "%s/signstate", dir);
    node_signstate s;
    gz_msg msg = {{0}};
    cr_assert_eq(node_signstate_open(&s, path, &msg), GZ_OK, "%s", msg.text);
    uint8_t h1[32] = {1}, h2[32] = {2};
    cr_assert_eq(node_signstate_check_and_persist(&s, 5, 0, NODE_STEP_PREVOTE, h1), GZ_OK);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 30;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = node_signstate_check_and_persist(&s, 6, 0, NODE_STEP_PREVOTE, h2);
    cr_assert_eq(rc, GZ_EIO, "%s", gz_strerror(rc));
    cr_assert_eq(s.last_errno, EFBIG);
    cr_assert_eq(s.height, 5, "the state in memory is the last one persisted");
    cr_assert_neq(node_signstate_heal(&s), GZ_OK, "still refused while the limit holds");
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(node_signstate_heal(&s), GZ_OK);
    node_signstate_free(&s);
    cr_assert_eq(node_signstate_open(&s, path, &msg), GZ_OK, "the file reads back whole: %s", msg.text);
    cr_assert(s.have);
    cr_assert_eq(s.height, 5);
    cr_assert(memcmp(s.sighash, h1, 32) == 0);
    node_signstate_free(&s);
    tu_tmpdir_remove(dir);
}
