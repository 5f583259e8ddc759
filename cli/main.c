/* gongzhi: one binary, one subcommand each (SPEC §9). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command COMMANDS[] = {
    {"devnet", cli_devnet, "run a local network of validators (default 4)"},
    {"node", cli_node, "run one node from its home directory"},
    {"init", cli_init, "make a node home for a real deployment"},
    {"keygen", cli_keygen, "create a secret key file, print its public key"},
    {"genesis", cli_genesis, "build and check a genesis.json for several institutions"},
    {"tx", cli_tx, "build, sign and submit a transaction"},
    {"validator", cli_validator, "approve a validator-set change (join, leave, new key)"},
    {"query", cli_query, "call one JSON-RPC method, print JSON"},
    {"anchor-proof", cli_anchor_proof, "fetch an artifact's anchor proof bundle (SPEC §5)"},
    {"verify", cli_verify, "check an anchor proof bundle offline against genesis"},
    {"verify-tx", cli_verify_tx, "check a tx's inclusion and commit (online or saved)"},
    {"verify-log", cli_verify_log, "check that the provenance log only grew between two heights"},
    {"audit", cli_audit, "recompute a proposal's tally from the chain, compare with the node"},
    {"debug-peer", cli_debug_peer, "developer tool: act as a misbehaving peer of a node"},
    {"bench", cli_bench, "measure throughput and latency of a local network"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: gongzhi COMMAND [flags]   (gongzhi COMMAND --help for each)\n\n");
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++)
        fprintf(f, "  %-14s %s\n", COMMANDS[i].name, COMMANDS[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof COMMANDS / sizeof COMMANDS[0]; i++) {
        if (strcmp(argv[1], COMMANDS[i].name) == 0) return COMMANDS[i].run(argc - 1, argv + 1);
    }
    fprintf(stderr, "gongzhi: unknown command '%s' (see gongzhi --help)\n", argv[1]);
    return CLI_EXIT_USAGE;
}
