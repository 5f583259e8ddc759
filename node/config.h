/* A node's home directory (docs/operations.md):
 *
 *   HOME/config.json    listen addresses, peers, data directory, key file
 *   HOME/genesis.json   the chain's genesis (SPEC §7)
 *   HOME/node.key       the node's secret key (64 hex chars, mode 0600)
 *   HOME/data/          RocksDB store, signing state, consensus WAL
 *
 * config.json is parsed strictly: unknown keys and bad values are errors that
 * name the field. Relative paths are relative to HOME. */
#ifndef GZ_NODE_CONFIG_H
#define GZ_NODE_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h"

#define NODE_PATH_MAX 1024
#define NODE_HOST_MAX 64

typedef struct node_config {
    char home[NODE_PATH_MAX];
    char rpc_host[NODE_HOST_MAX];
    uint16_t rpc_port;
    char p2p_host[NODE_HOST_MAX];
    uint16_t p2p_port;
    char peers[GZ_PEERS_MAX][NODE_HOST_MAX + 8];
    size_t n_peers;
    char data_dir[NODE_PATH_MAX];
    char key_file[NODE_PATH_MAX];
    char genesis_file[NODE_PATH_MAX];
    /* How long after a height starts a proposer waits for a full block before
     * proposing the txs it has (CometBFT's timeout_commit plays this part):
     * fewer, larger blocks under moderate load, each height's fixed cost
     * (votes, flushes) shared by more txs. 0 proposes at once. */
    uint32_t propose_wait_ms;
    /* Keys of full nodes allowed to connect, besides the current validators,
     * which always are. has_allow false (no "allow" key): the node is open,
     * and outsiders get the outsider slots (docs/p2p.md §5). */
    bool has_allow;
    uint8_t allow[GZ_PEERS_MAX][32];
    size_t n_allow;
} node_config;

#define NODE_PROPOSE_WAIT_MS_DEFAULT 50
#define NODE_PROPOSE_WAIT_MS_MAX 10000

/* Fills defaults for a home: RPC 127.0.0.1:26657, p2p 127.0.0.1:26757, no peers. */
void node_config_default(node_config *c, const char *home);
/* Reads HOME/config.json into c (paths resolved against home). */
GZ_WUR int node_config_load(node_config *c, const char *home, gz_msg *msg);
/* Parses config.json text of len bytes as node_config_load parses the file
 * (a fuzz target's entry point; errors say "config.json: ..."). */
GZ_WUR int node_config_parse(node_config *c, const char *home, const char *text, size_t len, gz_msg *msg);
/* Writes c as HOME/config.json (paths written as given at creation: relative). */
GZ_WUR int node_config_save(const node_config *c, gz_msg *msg);
/* Parses "host:port" into host and port. */
GZ_WUR int node_parse_hostport(const char *s, char *host, size_t host_cap, uint16_t *port);

/* Joins dir and name into out ("dir/name", or name when absolute). */
void node_path_join(char *out, size_t cap, const char *dir, const char *name);
/* mkdir -p with mode 0700. */
GZ_WUR int node_mkdirs(const char *path);
/* Writes data to path atomically (temp file, fsync, rename) with mode. */
GZ_WUR int node_write_file(const char *path, const void *data, size_t len, int mode);

#endif
