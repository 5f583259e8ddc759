/* The benchmark's network: deterministic keys, a genesis with the holders,
 * one home per validator, and the validators as child processes. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "core/bytes.h"
#include "core/hash.h"
#include "core/keys.h"
#include "ledger/genesis.h"
#include "tools/bench.h"
#include "cli/cli.h"
#include "rpc/rpc.h"

/* A node gets this long to stop on SIGTERM before it is killed. */
#define BENCH_STOP_GRACE_MS 5000

/* seckey = SHA256(tag || i); fails only for the ~2^-128 chance of an invalid key. */
static int derive(uint8_t sk[32], uint8_t pk[32], const char *tag, uint64_t i) {
    uint8_t in[64];
    size_t n = strlen(tag);
    if (n > sizeof in - 8) return GZ_EMISUSE;
    memcpy(in, tag, n);
    gz_put_u64be(in + n, i);
    core_sha256(sk, in, n + 8);
    return core_key_pub(pk, sk);
}

int bench_keys_init(bench_keys *k, uint64_t n_accounts) {
    memset(k, 0, sizeof *k);
    k->sk = malloc((n_accounts ? n_accounts : 1) * 32);
    k->pk = malloc((n_accounts ? n_accounts : 1) * 32);
    if (k->sk == NULL || k->pk == NULL) {
        bench_keys_free(k);
        return GZ_ENOMEM;
    }
    k->n_accounts = n_accounts;
    int rc = GZ_OK;
    for (uint64_t i = 0; i < n_accounts && rc == GZ_OK; i++) rc = derive(k->sk[i], k->pk[i], "gongzhi-bench", i);
    for (int i = 0; i < BENCH_NODES_MAX && rc == GZ_OK; i++)
        rc = derive(k->val_sk[i], k->val_pk[i], "gongzhi-bench-validator", (uint64_t)i);
    for (int r = 0; r < GZ_ROLE_COUNT && rc == GZ_OK; r++)
        rc = derive(k->auth_sk[r], k->auth_pk[r], "gongzhi-bench-authority", (uint64_t)r);
    if (rc != GZ_OK) bench_keys_free(k);
    return rc;
}

void bench_keys_free(bench_keys *k) {
    free(k->sk);
    free(k->pk);
    memset(k, 0, sizeof *k);
}

/* The SPEC §7 defaults with the bench's validators, authorities and holders
 * (level 8, classes 1: eligible for every kind of vote). */
static int genesis_fill(gz_genesis *g, int n, uint64_t block_max_txs, const bench_keys *k, gz_msg *msg) {
    ledger_genesis_default(g);
    if (block_max_txs != 0) g->consensus.block_max_txs = block_max_txs;
    snprintf(g->chain_id, sizeof g->chain_id, "gongzhi-bench");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    g->genesis_time = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u - 1000u;
    for (int i = 0; i < n; i++) {
        gz_validator *v = &g->validators[g->n_validators++];
        snprintf(v->name, sizeof v->name, "bench%d", i);
        memcpy(v->pub_key, k->val_pk[i], 32);
        v->power = 10;
    }
    for (int r = 0; r < GZ_ROLE_COUNT; r++) {
        memcpy(g->authorities[r][0], k->auth_pk[r], 32);
        g->n_authorities[r] = 1;
    }
    for (uint64_t i = 0; i < k->n_accounts; i++) {
        gz_genesis_account a = {.level = 8, .classes = 1};
        memcpy(a.account, k->pk[i], 32);
        snprintf(a.label, sizeof a.label, "holder%llu", (unsigned long long)i);
        if (ledger_genesis_add_account(g, &a) != GZ_OK)
            return gz_fail(msg, GZ_ENOMEM, "genesis: cannot add account %llu", (unsigned long long)i);
    }
    return ledger_genesis_check(g, msg);
}

static int write_genesis(const char *dir, int n, uint64_t block_max_txs, const bench_keys *k, char *chain_id,
                         gz_msg *msg) {
    gz_genesis g;
    memset(&g, 0, sizeof g);
    int rc = genesis_fill(&g, n, block_max_txs, k, msg);
    char *text = NULL;
    if (rc == GZ_OK && ledger_genesis_write(&g, &text) != GZ_OK) rc = gz_fail(msg, GZ_ENOMEM, "genesis: cannot write");
    char path[NODE_PATH_MAX];
    node_path_join(path, sizeof path, dir, "genesis.json");
    if (rc == GZ_OK && node_write_file(path, text, strlen(text), 0644) != GZ_OK)
        rc = gz_fail(msg, GZ_EIO, "%s: cannot write", path);
    if (rc == GZ_OK) snprintf(chain_id, GZ_CHAIN_ID_MAX + 1, "%s", g.chain_id);
    free(text);
    ledger_genesis_free(&g);
    return rc;
}

/* HOME = dir/node<i>: a config.json peering with every other node, and its key. */
static int write_home(const char *dir, int i, int n, uint16_t rpc_base, const bench_keys *k, gz_msg *msg) {
    int rc = cli_loopback_config(dir, i, n, rpc_base, msg);
    char path[NODE_PATH_MAX], sub[32];
    snprintf(sub, sizeof sub, "node%d/node.key", i);
    node_path_join(path, sizeof path, dir, sub);
    if (rc == GZ_OK) rc = core_key_save(path, k->val_sk[i], msg);
    return rc;
}

int bench_net_start(bench_net *net, const char *dir, int n, uint16_t rpc_base, uint64_t block_max_txs,
                         const bench_keys *k, gz_msg *msg) {
    memset(net, 0, sizeof *net);
    if (n < 1 || n > BENCH_NODES_MAX) return gz_fail(msg, GZ_EARG, "validators: must be 1..%d", BENCH_NODES_MAX);
    snprintf(net->dir, sizeof net->dir, "%s", dir);
    net->n = n;
    net->rpc_base = rpc_base;
    if (node_mkdirs(dir) != GZ_OK) return gz_fail(msg, GZ_EIO, "%s: cannot create", dir);
    int rc = write_genesis(dir, n, block_max_txs, k, net->chain_id, msg);
    for (int i = 0; i < n && rc == GZ_OK; i++) rc = write_home(dir, i, n, rpc_base, k, msg);
    if (rc != GZ_OK) return rc;
    char self[NODE_PATH_MAX];
    if (cli_self_exe(self, sizeof self) != GZ_OK) return gz_fail(msg, GZ_EIO, "bench: cannot find own executable");
    for (int i = 0; i < n; i++) {
        snprintf(net->urls[i], sizeof net->urls[i], "http://127.0.0.1:%d", rpc_base + i);
        /* SIGKILL: no node outlives the bench, even a bench killed with SIGKILL. */
        net->pids[i] = cli_spawn_node(self, dir, i, SIGKILL);
        if (net->pids[i] < 0) {
            net->pids[i] = 0;
            bench_net_stop(net);
            return gz_fail(msg, GZ_EIO, "node%d: cannot start: %s", i, strerror(errno));
        }
    }
    return GZ_OK;
}

/* True once the node answers and sees every other validator. */
static bool node_ready(const char *url, int n) {
    json_t *res = NULL;
    gz_msg err = {{0}};
    if (rpc_client_call_timeout(url, "status", NULL, 1000, &res, &err) != GZ_OK) return false;
    json_int_t peers = json_integer_value(json_object_get(res, "peers"));
    json_decref(res);
    return peers >= n - 1;
}

int bench_net_wait_ready(const bench_net *net, int timeout_ms, gz_msg *msg) {
    double deadline = bench_now_ms() + timeout_ms;
    int ready = 0;
    while (ready < net->n) {
        if (bench_stop) return gz_fail(msg, GZ_ETIMEOUT, "stopped by a signal");
        if (bench_now_ms() > deadline)
            return gz_fail(msg, GZ_ETIMEOUT, "node%d not ready after %d ms (see %s/node%d/node.log)", ready,
                           timeout_ms, net->dir, ready);
        if (node_ready(net->urls[ready], net->n)) ready++;
        else bench_sleep_ms(50);
    }
    return GZ_OK;
}

/* Reads a "Name:   123 kB" line of /proc/<pid>/status; 0 if absent. */
static uint64_t proc_status_kb(pid_t pid, const char *name) {
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    size_t n = strlen(name);
    uint64_t kb = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, name, n) == 0 && line[n] == ':') {
            kb = strtoull(line + n + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

void bench_net_sample_rss(bench_net *net) {
    for (int i = 0; i < net->n; i++) {
        if (net->pids[i] <= 0) continue;
        uint64_t kb = proc_status_kb(net->pids[i], "VmRSS");
        if (kb > net->rss_max_kb[i]) net->rss_max_kb[i] = kb;
    }
}

/* utime + stime of /proc/<pid>/stat in seconds; 0 if unreadable. The command
 * name (field 2) may hold spaces, so fields are counted after its ')'. */
static double proc_cpu_s(pid_t pid) {
    char path[64], line[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL) return 0;
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    char *p = strrchr(line, ')');
    unsigned long long ut = 0, st = 0;
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

void bench_net_sample_cpu(bench_net *net) {
    for (int i = 0; i < net->n; i++)
        if (net->pids[i] > 0) net->cpu_s[i] = proc_cpu_s(net->pids[i]);
}

bool bench_net_died(bench_net *net, gz_msg *msg) {
    for (int i = 0; i < net->n; i++) {
        int status;
        if (net->pids[i] <= 0 || waitpid(net->pids[i], &status, WNOHANG) != net->pids[i]) continue;
        net->pids[i] = 0;
        gz_fail(msg, GZ_EIO, "node%d exited (%s %d), see %s/node%d/node.log", i,
                WIFSIGNALED(status) ? "signal" : "status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), net->dir, i);
        return true;
    }
    return false;
}

void bench_net_stop(bench_net *net) {
    for (int i = 0; i < net->n; i++) {
        if (net->pids[i] <= 0) continue;
        net->hwm_kb[i] = proc_status_kb(net->pids[i], "VmHWM");
        net->cpu_s[i] = proc_cpu_s(net->pids[i]);
        bench_net_sample_rss(net);
        kill(net->pids[i], SIGTERM);
    }
    double deadline = bench_now_ms() + BENCH_STOP_GRACE_MS;
    bool any = true;
    while (any && bench_now_ms() < deadline) {
        any = false;
        for (int i = 0; i < net->n; i++) {
            if (net->pids[i] > 0 && waitpid(net->pids[i], NULL, WNOHANG) == net->pids[i]) net->pids[i] = 0;
            any |= net->pids[i] > 0;
        }
        if (any) bench_sleep_ms(20);
    }
    for (int i = 0; i < net->n; i++) {
        if (net->pids[i] <= 0) continue;
        kill(net->pids[i], SIGKILL);
        waitpid(net->pids[i], NULL, 0);
        net->pids[i] = 0;
    }
}
