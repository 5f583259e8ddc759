/* `gongzhi devnet` and `gongzhi init`: make homes, then run N validators as
 * separate processes (SPEC §9). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/prctl.h>

#include "core/bytes.h"
#include "core/keys.h"
#include "ledger/genesis.h"
#include "cli/cli.h"
#include "node/config.h"

#define DEVNET_VALIDATORS_MAX 32

static const char *const ROLE_FILES[GZ_ROLE_COUNT] = {"registrar", "credit_officer", "treasurer",
                                                      "governor"};

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* Creates a key file unless it exists; returns its public key. */
static int ensure_key(const char *path, uint8_t pub[32], gz_msg *msg) {
    uint8_t sk[32];
    int rc;
    if (!exists(path)) {
        if (core_key_generate(sk) != GZ_OK) return gz_fail(msg, GZ_EIO, "no randomness");
        rc = core_key_save(path, sk, msg);
        if (rc != GZ_OK) return rc;
    }
    rc = core_key_load(sk, path, msg);
    if (rc == GZ_OK) rc = core_key_pub(pub, sk);
    memset(sk, 0, sizeof sk);
    return rc;
}

/* The policy and consensus defaults: the top-level genesis.json when it is
 * readable from the working directory, else the built-in SPEC defaults. */
static int genesis_template(gz_genesis *g, const char *template_path, gz_msg *msg) {
    if (template_path != NULL && exists(template_path)) {
        int rc = ledger_genesis_load(g, template_path, msg);
        if (rc != GZ_OK) return rc;
        g->n_validators = 0;
        memset(g->n_authorities, 0, sizeof g->n_authorities);
        g->n_accounts = 0;
        return GZ_OK;
    }
    ledger_genesis_default(g);
    return GZ_OK;
}

static int make_genesis(const char *dir, int n, const char *template_path, gz_msg *msg) {
    gz_genesis g;
    int rc = genesis_template(&g, template_path, msg);
    if (rc != GZ_OK) return rc;
    snprintf(g.chain_id, sizeof g.chain_id, "gongzhi-devnet");
    g.genesis_time = (uint64_t)time(NULL) * 1000;
    char path[NODE_PATH_MAX], sub[64];
    for (int i = 0; i < n && rc == GZ_OK; i++) {
        snprintf(sub, sizeof sub, "node%d", i);
        node_path_join(path, sizeof path, dir, sub);
        if (node_mkdirs(path) != GZ_OK) rc = gz_fail(msg, GZ_EIO, "%s: cannot create", path);
        snprintf(sub, sizeof sub, "node%d/node.key", i);
        node_path_join(path, sizeof path, dir, sub);
        gz_validator *v = &g.validators[g.n_validators++];
        if (rc == GZ_OK) rc = ensure_key(path, v->pub_key, msg);
        snprintf(v->name, sizeof v->name, "node%d", i);
        v->power = 10;
    }
    node_path_join(path, sizeof path, dir, "keys");
    if (rc == GZ_OK && node_mkdirs(path) != GZ_OK) rc = gz_fail(msg, GZ_EIO, "%s: cannot create", path);
    for (int r = 0; r < GZ_ROLE_COUNT && rc == GZ_OK; r++) {
        snprintf(sub, sizeof sub, "keys/%s.key", ROLE_FILES[r]);
        node_path_join(path, sizeof path, dir, sub);
        rc = ensure_key(path, g.authorities[r][0], msg);
        g.n_authorities[r] = 1;
    }
    char *text = NULL;
    if (rc == GZ_OK) rc = ledger_genesis_check(&g, msg);
    if (rc == GZ_OK && ledger_genesis_write(&g, &text) != GZ_OK) rc = gz_fail(msg, GZ_ENOMEM, "genesis: cannot write");
    node_path_join(path, sizeof path, dir, "genesis.json");
    if (rc == GZ_OK && node_write_file(path, text, strlen(text), 0644) != GZ_OK)
        rc = gz_fail(msg, GZ_EIO, "%s: cannot write", path);
    free(text);
    ledger_genesis_free(&g);
    return rc;
}

int cli_loopback_config(const char *dir, int i, int n, uint16_t base, gz_msg *msg) {
    char home[NODE_PATH_MAX], sub[32];
    snprintf(sub, sizeof sub, "node%d", i);
    node_path_join(home, sizeof home, dir, sub);
    if (node_mkdirs(home) != GZ_OK) return gz_fail(msg, GZ_EIO, "%s: cannot create", home);
    node_config c;
    node_config_default(&c, home);
    c.rpc_port = (uint16_t)(base + i);
    c.p2p_port = (uint16_t)(base + 100 + i);
    for (int j = 0; j < n; j++) {
        if (j != i) snprintf(c.peers[c.n_peers++], sizeof c.peers[0], "127.0.0.1:%d", base + 100 + j);
    }
    snprintf(c.genesis_file, sizeof c.genesis_file, "%s", "../genesis.json");
    return node_config_save(&c, msg);
}

static int make_homes(const char *dir, int n, uint16_t base, gz_msg *msg) {
    int rc = GZ_OK;
    for (int i = 0; i < n && rc == GZ_OK; i++) rc = cli_loopback_config(dir, i, n, base, msg);
    return rc;
}

static volatile sig_atomic_t g_stop;
static void on_stop(int sig) { g_stop = sig; }

int cli_self_exe(char *out, size_t cap) {
    ssize_t len = readlink("/proc/self/exe", out, cap - 1);
    if (len <= 0) return GZ_EIO;
    out[len] = '\0';
    return GZ_OK;
}

pid_t cli_spawn_node(const char *self, const char *dir, int i, int death_signal) {
    char home[NODE_PATH_MAX], sub[32], log[NODE_PATH_MAX];
    snprintf(sub, sizeof sub, "node%d", i);
    node_path_join(home, sizeof home, dir, sub);
    node_path_join(log, sizeof log, home, "node.log");
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid != 0) return pid;
    /* The signal follows the forking thread; a parent that died before the
     * prctl took effect is caught by the getppid check. */
    prctl(PR_SET_PDEATHSIG, death_signal);
    if (getppid() != parent) _exit(127);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    execl(self, self, "node", "--home", home, (char *)NULL);
    _exit(127);
}

static void print_banner(const char *self, const char *dir, int n, uint16_t base) {
    printf("gongzhi devnet: %d validator%s, chain gongzhi-devnet, data in %s\n", n, n == 1 ? "" : "s", dir);
    for (int i = 0; i < n; i++)
        printf("  node%d  rpc http://127.0.0.1:%d  p2p 127.0.0.1:%d  log %s/node%d/node.log\n", i, base + i,
               base + 100 + i, dir, i);
    printf("\nAuthority keys: %s/keys/{registrar,credit_officer,treasurer,governor}.key\n"
           "Try, in another terminal (README.md walks through more):\n"
           "  export PATH=%.*s:$PATH\n"
           "  RPC=http://127.0.0.1:%d\n"
           "  gongzhi query status --rpc $RPC\n"
           "  ALICE=$(gongzhi keygen --out alice.key)\n"
           "  gongzhi tx account-set --account $ALICE --level 8 --classes 1 --label alice \\\n"
           "      --key %s/keys/registrar.key --rpc $RPC --wait\n"
           "  gongzhi tx anchor --file README.md --kind 1 --work w1 --key alice.key --rpc $RPC --wait\n"
           "  gongzhi query anchor artifact=$(sha256sum README.md | cut -c1-64) --rpc $RPC\n"
           "Stop with Ctrl-C.\n", dir, (int)(strrchr(self, '/') - self), self, base, dir);
    fflush(stdout);
}

/* Waits for a stop signal, reporting children that exit; then stops them all. */
static int supervise(pid_t *pids, int n) {
    int alive = n;
    while (!g_stop && alive > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0) break;
        for (int i = 0; i < n; i++) {
            if (pids[i] != pid) continue;
            fprintf(stderr, "gongzhi devnet: node%d exited (%s %d)\n", i,
                    WIFSIGNALED(status) ? "signal" : "status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
            pids[i] = 0;
            alive--;
        }
    }
    for (int i = 0; i < n; i++) if (pids[i] > 0) kill(pids[i], SIGTERM);
    for (int t = 0; t < 100; t++) {
        bool any = false;
        for (int i = 0; i < n; i++) {
            if (pids[i] > 0 && waitpid(pids[i], NULL, WNOHANG) == pids[i]) pids[i] = 0;
            any |= pids[i] > 0;
        }
        if (!any) return g_stop ? CLI_EXIT_OK : CLI_EXIT_FAIL;
        nanosleep(&(struct timespec){.tv_nsec = 50 * 1000 * 1000}, NULL);
    }
    for (int i = 0; i < n; i++) if (pids[i] > 0) { kill(pids[i], SIGKILL); waitpid(pids[i], NULL, 0); }
    return g_stop ? CLI_EXIT_OK : CLI_EXIT_FAIL;
}

static int devnet_usage(void) {
    printf("usage: gongzhi devnet [--dir DIR] [--validators N] [--base-port P] [--template FILE]\n\n"
           "Creates (first run) or restarts (later runs) a local network in DIR (default\n"
           "./devnet) and runs its N validators (default 4) as separate processes: node i\n"
           "serves RPC on 127.0.0.1:P+i and peer-to-peer on 127.0.0.1:P+100+i (P default\n"
           "26657). The policy and consensus defaults come from --template (default\n"
           "./genesis.json when present). Stops every node on Ctrl-C / SIGTERM.\n");
    return CLI_EXIT_OK;
}

int cli_devnet(int argc, char **argv) {
    const char *dir = "./devnet", *template_path = "genesis.json";
    uint64_t n = 4, base = 26657;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return devnet_usage();
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "devnet: %s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--dir") == 0) dir = v;
        else if (strcmp(a, "--template") == 0) template_path = v;
        else if (strcmp(a, "--validators") == 0) {
            if (cli_parse_u64(v, &n) != GZ_OK || n < 1 || n > DEVNET_VALIDATORS_MAX)
                return cli_die(CLI_EXIT_USAGE, "devnet: --validators must be 1..%d", DEVNET_VALIDATORS_MAX);
        } else if (strcmp(a, "--base-port") == 0) {
            if (cli_parse_u64(v, &base) != GZ_OK || base < 1024 || base > 65535 - 200)
                return cli_die(CLI_EXIT_USAGE, "devnet: --base-port must be 1024..65335");
        } else return cli_die(CLI_EXIT_USAGE, "devnet: unknown flag %s", a);
    }
    gz_msg msg = {{0}};
    char gpath[NODE_PATH_MAX];
    node_path_join(gpath, sizeof gpath, dir, "genesis.json");
    if (node_mkdirs(dir) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "devnet: cannot create %s", dir);
    if (!exists(gpath)) {
        if (make_genesis(dir, (int)n, template_path, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "devnet: %s", msg.text);
    } else {
        gz_genesis g;
        if (ledger_genesis_load(&g, gpath, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "devnet: %s: %s", gpath, msg.text);
        uint32_t have = g.n_validators;
        ledger_genesis_free(&g);
        if (have != n) return cli_die(CLI_EXIT_USAGE, "devnet: %s has %u validators, not %llu (use another --dir)",
                                      dir, have, (unsigned long long)n);
    }
    if (make_homes(dir, (int)n, (uint16_t)base, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "devnet: %s", msg.text);
    char self[NODE_PATH_MAX];
    if (cli_self_exe(self, sizeof self) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "devnet: cannot find own executable");
    /* No SA_RESTART: the supervisor's waitpid must return on a stop signal. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    pid_t pids[DEVNET_VALIDATORS_MAX];
    /* SIGTERM: a node outliving a killed devnet still stops cleanly. */
    for (int i = 0; i < (int)n; i++) pids[i] = cli_spawn_node(self, dir, i, SIGTERM);
    print_banner(self, dir, (int)n, (uint16_t)base);
    return supervise(pids, (int)n);
}
