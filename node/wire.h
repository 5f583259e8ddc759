/* The gossip wire format between nodes (docs/p2p.md, "Gossip"): the message
 * types the node sends over the p2p transport, above the transport's own
 * types 0..15. Tools that speak to a node's p2p port (tools/debug_peer.c)
 * use this header and nothing else of node/. */
#ifndef GZ_NODE_WIRE_H
#define GZ_NODE_WIRE_H

enum node_msg {
    NODE_MSG_TXS = 16,        /* [tx bin, ...] */
    NODE_MSG_PROPOSAL = 17,   /* [Proposal bin, sig bin64, Block bin] */
    NODE_MSG_VOTE = 18,       /* [Vote bin, validator uint, sig bin64] */
    NODE_MSG_STATUS = 19,     /* [height uint] committed height of the sender */
    NODE_MSG_BLOCK_REQ = 20,  /* [height uint] */
    NODE_MSG_BLOCK = 21       /* [height uint, Block bin, Commit bin] */
};

#endif
