/* The gongzhi command line: one binary, one subcommand each (SPEC §9). Every
 * subcommand has --help, exits 0 on success, 1 on a failed check or rejected tx,
 * 2 on bad usage, and prints errors as one line on stderr naming the problem. */
#ifndef GZ_CLI_CLI_H
#define GZ_CLI_CLI_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/err.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

#define CLI_DEFAULT_RPC "http://127.0.0.1:26657"

int cli_keygen(int argc, char **argv);
int cli_tx(int argc, char **argv);
int cli_query(int argc, char **argv);
int cli_devnet(int argc, char **argv);
int cli_node(int argc, char **argv);
int cli_init(int argc, char **argv);
int cli_verify(int argc, char **argv);
int cli_verify_tx(int argc, char **argv);
int cli_verify_log(int argc, char **argv);
int cli_anchor_proof(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_bench(int argc, char **argv);
/* `gongzhi validator approve` (cli/cli_validator.c). */
int cli_validator(int argc, char **argv);
/* `gongzhi genesis new|add-validator|add-authority|add-account|check` (cli/cli_genesis.c). */
int cli_genesis(int argc, char **argv);
/* Developer tool: handshakes with a node's p2p port and sends one bad message
 * (tools/debug_peer.c). */
int cli_debug_peer(int argc, char **argv);

/* Prints "gongzhi: <text>" on stderr and returns code. */
int cli_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses a decimal u64 (no sign, no junk). */
GZ_WUR int cli_parse_u64(const char *s, uint64_t *out);
GZ_WUR int cli_parse_i64(const char *s, int64_t *out);

/* One JSON-RPC call; on success *result is a new reference. On a transport or
 * JSON-RPC error returns an error with msg set. params is borrowed. */
GZ_WUR int cli_rpc(const char *url, const char *method, json_t *params, json_t **result, gz_msg *msg);

/* Prints JSON to stdout, indented. */
void cli_print_json(const json_t *j);

/* ---- transactions (cli/cli_tx.c) ---- */

#include "core/codec.h"

/* The flags every `gongzhi tx TYPE` takes besides its payload's. */
typedef struct cli_tx_opts {
    const char *key_path;
    const char *rpc;
    const char *chain_id;
    bool have_nonce;
    uint64_t nonce;
    bool wait;
    bool print_only;
    uint64_t timeout_ms;
} cli_tx_opts;

/* Sets one common flag (name without "--") from val. Returns CLI_EXIT_OK, an
 * exit code after printing the error, or -1 when flag is not a common one. */
int cli_tx_common_set(cli_tx_opts *o, const char *flag, const char *val);
/* Prints the common flags' help lines. */
void cli_tx_common_help(void);
/* Signs tx (type and payload filled in) with the key of o->key_path, taking
 * chain id and nonce from o or the node, submits it (or prints it with
 * --print) and prints the node's answer. Returns the exit code: 0 when the
 * node answered code 0. */
int cli_tx_send(gz_tx *tx, const cli_tx_opts *o);
/* `gongzhi tx validator-update` (cli/cli_validator.c); argv[0] is the type. */
int cli_tx_validator_update(int argc, char **argv);

/* ---- local networks (devnet and bench, cli/devnet.c) ---- */

/* Node i of an n-node network in dir lives in dir/node<i>: RPC on 127.0.0.1
 * port base+i, p2p on base+100+i, peering with every other node, genesis
 * dir/genesis.json. Writes that home's config.json (creating the directory). */
GZ_WUR int cli_loopback_config(const char *dir, int i, int n, uint16_t base, gz_msg *msg);
/* The path of this executable, into out. Returns GZ_OK or GZ_EIO. */
GZ_WUR int cli_self_exe(char *out, size_t cap);
/* Starts `self node --home dir/node<i>` as a child process, its output
 * appended to dir/node<i>/node.log. The child receives death_signal when the
 * calling thread's process dies, however it dies, so no node outlives its
 * network. Returns the child's pid, or -1 with errno set. */
pid_t cli_spawn_node(const char *self, const char *dir, int i, int death_signal);

#endif
