/* `gongzhi node --home DIR` and `gongzhi init --home DIR`. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/keys.h"
#include "ledger/genesis.h"
#include "cli/cli.h"
#include "node/config.h"
#include "node/node.h"

int cli_node(int argc, char **argv) {
    const char *home = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: gongzhi node --home DIR\n\nRuns one node from its home directory "
                   "(config.json, genesis.json, node.key, data/;\nsee docs/operations.md). Stops on SIGINT/SIGTERM.\n");
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--home") == 0 && i + 1 < argc) home = argv[++i];
        else return cli_die(CLI_EXIT_USAGE, "node: unexpected argument '%s'", argv[i]);
    }
    if (home == NULL) return cli_die(CLI_EXIT_USAGE, "node: --home DIR is required");
    node_config cfg;
    gz_msg msg = {{0}};
    if (node_config_load(&cfg, home, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "node: %s", msg.text);
    if (node_run(&cfg, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "node: %s", msg.text);
    return CLI_EXIT_OK;
}

static int init_usage(void) {
    printf("usage: gongzhi init --home DIR --genesis FILE [--key FILE] [--rpc HOST:PORT]\n"
           "                    [--p2p HOST:PORT] [--peer HOST:PORT ...] [--force]\n\n"
           "Makes a node home for a real deployment: checks and copies the genesis, creates\n"
           "node.key (or copies the secret key of --key, e.g. one made with `gongzhi keygen`\n"
           "whose public key went into the genesis) and writes config.json. Prints the\n"
           "node's public key, which the network's genesis must list among its validators\n"
           "for it to validate.\n\n"
           "Refuses a home that already holds genesis.json, config.json or node.key;\n"
           "--force rewrites genesis.json and config.json but never replaces node.key.\n");
    return CLI_EXIT_OK;
}

typedef struct init_args {
    const char *home;
    const char *genesis;
    const char *key; /* a secret key file to use as node.key, or NULL */
    bool force;
    node_config c;
} init_args;

static int init_flag(init_args *a, const char *f, const char *v) {
    node_config *c = &a->c;
    if (strcmp(f, "--home") == 0) a->home = v;
    else if (strcmp(f, "--genesis") == 0) a->genesis = v;
    else if (strcmp(f, "--key") == 0) a->key = v;
    else if (strcmp(f, "--rpc") == 0) {
        if (node_parse_hostport(v, c->rpc_host, sizeof c->rpc_host, &c->rpc_port) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "init: --rpc: expected HOST:PORT");
    } else if (strcmp(f, "--p2p") == 0) {
        if (node_parse_hostport(v, c->p2p_host, sizeof c->p2p_host, &c->p2p_port) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "init: --p2p: expected HOST:PORT");
    } else if (strcmp(f, "--peer") == 0) {
        char host[NODE_HOST_MAX];
        uint16_t port;
        if (c->n_peers == GZ_PEERS_MAX || node_parse_hostport(v, host, sizeof host, &port) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "init: --peer: expected HOST:PORT (at most %d)", GZ_PEERS_MAX);
        snprintf(c->peers[c->n_peers++], sizeof c->peers[0], "%s", v);
    } else return cli_die(CLI_EXIT_USAGE, "init: unknown flag %s", f);
    return CLI_EXIT_OK;
}

static int init_parse(init_args *a, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *f = argv[i];
        if (strcmp(f, "--help") == 0 || strcmp(f, "-h") == 0) return -1;
        if (strcmp(f, "--force") == 0) { a->force = true; continue; }
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "init: %s needs a value", f);
        int rc = init_flag(a, f, argv[++i]);
        if (rc != CLI_EXIT_OK) return rc;
    }
    if (a->home == NULL || a->genesis == NULL) return cli_die(CLI_EXIT_USAGE, "init: --home and --genesis are required");
    return CLI_EXIT_OK;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* A home that is already set up is refused unless --force: a second init
 * must not silently change a running node's genesis or config. */
static int init_refuse_existing(const init_args *a) {
    static const char *const names[] = {"genesis.json", "config.json", "node.key"};
    char found[128] = "", path[NODE_PATH_MAX];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        node_path_join(path, sizeof path, a->home, names[i]);
        if (!exists(path)) continue;
        size_t len = strlen(found);
        snprintf(found + len, sizeof found - len, "%s%s", len > 0 ? ", " : "", names[i]);
    }
    if (found[0] == '\0' || a->force) return CLI_EXIT_OK;
    return cli_die(CLI_EXIT_FAIL, "init: %s already holds %s (--force rewrites genesis.json and config.json, never node.key)",
                   a->home, found);
}

/* node.key: kept when present (a --key that differs is an error), else a copy
 * of --key or a new key. pk is the node's public key. */
static int init_key(const init_args *a, const char *key_file, uint8_t pk[32]) {
    uint8_t sk[32], given[32];
    gz_msg msg = {{0}};
    bool have = exists(key_file);
    if (a->key != NULL && core_key_load(given, a->key, &msg) != GZ_OK)
        return cli_die(CLI_EXIT_USAGE, "init: --key: %s: %s", a->key, msg.text);
    int rc = GZ_OK;
    if (!have) {
        if (a->key != NULL) memcpy(sk, given, 32);
        else rc = core_key_generate(sk);
        if (rc == GZ_OK) rc = core_key_save(key_file, sk, &msg);
        if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "init: %s: cannot create key: %s", key_file, msg.text);
    }
    if (core_key_load(sk, key_file, &msg) != GZ_OK || core_key_pub(pk, sk) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "init: %s: %s", key_file, msg.text);
    bool differs = have && a->key != NULL && memcmp(sk, given, 32) != 0;
    memset(sk, 0, sizeof sk);
    memset(given, 0, sizeof given);
    if (differs) return cli_die(CLI_EXIT_FAIL, "init: %s exists and is not the key of --key; it is never replaced", key_file);
    return CLI_EXIT_OK;
}

int cli_init(int argc, char **argv) {
    static init_args a;
    memset(&a, 0, sizeof a);
    node_config_default(&a.c, "");
    int rc = init_parse(&a, argc, argv);
    if (rc != CLI_EXIT_OK) return rc < 0 ? init_usage() : rc;
    if ((rc = init_refuse_existing(&a)) != CLI_EXIT_OK) return rc;
    gz_genesis g;
    gz_msg msg = {{0}};
    if (ledger_genesis_load(&g, a.genesis, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "init: %s: %s", a.genesis, msg.text);
    char *text = NULL;
    rc = ledger_genesis_write(&g, &text);
    ledger_genesis_free(&g);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "init: cannot write genesis");
    node_config *c = &a.c;
    if (node_mkdirs(a.home) != GZ_OK) {
        free(text);
        return cli_die(CLI_EXIT_FAIL, "init: cannot create %s", a.home);
    }
    snprintf(c->home, sizeof c->home, "%s", a.home);
    node_path_join(c->data_dir, sizeof c->data_dir, a.home, "data");
    node_path_join(c->key_file, sizeof c->key_file, a.home, "node.key");
    node_path_join(c->genesis_file, sizeof c->genesis_file, a.home, "genesis.json");
    uint8_t pk[32];
    /* The key first: a --key that cannot be used leaves the home as it was. */
    rc = init_key(&a, c->key_file, pk);
    if (rc == CLI_EXIT_OK && node_write_file(c->genesis_file, text, strlen(text), 0644) != GZ_OK)
        rc = cli_die(CLI_EXIT_FAIL, "init: cannot write %s", c->genesis_file);
    free(text);
    if (rc != CLI_EXIT_OK) return rc;
    if (node_config_save(c, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "init: %s", msg.text);
    char hex[65];
    gz_hex_encode(hex, pk, 32);
    printf("%s\n", hex);
    return CLI_EXIT_OK;
}
