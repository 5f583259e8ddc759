/* A gongzhi node: one process running consensus, the ledger, peer-to-peer and
 * JSON-RPC on one libuv loop. */
#ifndef GZ_NODE_NODE_H
#define GZ_NODE_NODE_H

#include "core/err.h"
#include "node/config.h"

/* Opens the node from its home (config, genesis, key, data) and runs it until
 * SIGINT or SIGTERM. Returns GZ_OK after a clean stop, or an error with msg
 * saying what could not be opened. */
GZ_WUR int node_run(const node_config *cfg, gz_msg *msg);

#endif
