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
    printf("usage: gongzhi init --home DIR --genesis FILE [--rpc HOST:PORT] [--p2p HOST:PORT]\n"
           "                    [--peer HOST:PORT ...]\n\n"
           "Makes a node home for a real deployment: copies the genesis, creates node.key\n"
           "(unless present) and writes config.json. Prints the node's public key, which\n"
           "the network's genesis must list among its validators for it to validate.\n");
    return CLI_EXIT_OK;
}

int cli_init(int argc, char **argv) {
    const char *home = NULL, *genesis = NULL;
    node_config c;
    node_config_default(&c, "");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return init_usage();
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "init: %s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--home") == 0) home = v;
        else if (strcmp(a, "--genesis") == 0) genesis = v;
        else if (strcmp(a, "--rpc") == 0) {
            if (node_parse_hostport(v, c.rpc_host, sizeof c.rpc_host, &c.rpc_port) != GZ_OK)
                return cli_die(CLI_EXIT_USAGE, "init: --rpc: expected HOST:PORT");
        } else if (strcmp(a, "--p2p") == 0) {
            if (node_parse_hostport(v, c.p2p_host, sizeof c.p2p_host, &c.p2p_port) != GZ_OK)
                return cli_die(CLI_EXIT_USAGE, "init: --p2p: expected HOST:PORT");
        } else if (strcmp(a, "--peer") == 0) {
            char host[NODE_HOST_MAX];
            uint16_t port;
            if (c.n_peers == GZ_PEERS_MAX || node_parse_hostport(v, host, sizeof host, &port) != GZ_OK)
                return cli_die(CLI_EXIT_USAGE, "init: --peer: expected HOST:PORT (at most %d)", GZ_PEERS_MAX);
            snprintf(c.peers[c.n_peers++], sizeof c.peers[0], "%s", v);
        } else return cli_die(CLI_EXIT_USAGE, "init: unknown flag %s", a);
    }
    if (home == NULL || genesis == NULL) return cli_die(CLI_EXIT_USAGE, "init: --home and --genesis are required");
    gz_genesis g;
    gz_msg msg = {{0}};
    if (ledger_genesis_load(&g, genesis, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "init: %s: %s", genesis, msg.text);
    char *text = NULL;
    int rc = ledger_genesis_write(&g, &text);
    ledger_genesis_free(&g);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "init: cannot write genesis");
    if (node_mkdirs(home) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "init: cannot create %s", home);
    snprintf(c.home, sizeof c.home, "%s", home);
    node_path_join(c.data_dir, sizeof c.data_dir, home, "data");
    node_path_join(c.key_file, sizeof c.key_file, home, "node.key");
    node_path_join(c.genesis_file, sizeof c.genesis_file, home, "genesis.json");
    rc = node_write_file(c.genesis_file, text, strlen(text), 0644);
    free(text);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "init: cannot write %s", c.genesis_file);
    struct stat st;
    uint8_t sk[32], pk[32];
    if (stat(c.key_file, &st) != 0) {
        if (core_key_generate(sk) != GZ_OK || core_key_save(c.key_file, sk, &msg) != GZ_OK)
            return cli_die(CLI_EXIT_FAIL, "init: %s: cannot create key %s", c.key_file, msg.text);
    }
    if (core_key_load(sk, c.key_file, &msg) != GZ_OK || core_key_pub(pk, sk) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "init: %s: %s", c.key_file, msg.text);
    if (node_config_save(&c, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "init: %s", msg.text);
    char hex[65];
    gz_hex_encode(hex, pk, 32);
    printf("%s\n", hex);
    return CLI_EXIT_OK;
}
