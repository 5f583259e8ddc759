/* Every bound of gongzhi in one place (like SQLite's sqliteLimit.h). Lengths
 * that arrive from outside are checked against these before anything is
 * allocated for them. Each limit carries its reason; the relations the code
 * depends on between them are checked at the end of this file. */
#ifndef GZ_CORE_LIMITS_H
#define GZ_CORE_LIMITS_H

#include <stdint.h>

/* ---- transactions and blocks (SPEC §1-§4) ---- */

/* SPEC §2: a tx is at most 16 KiB encoded. */
#define GZ_TX_BYTES_MAX (16u * 1024u)
/* SPEC §1: chain ids are str(≤64). */
#define GZ_CHAIN_ID_MAX 64
/* SPEC §1: canonical MessagePack nests at most 8 deep. */
#define GZ_MP_DEPTH_MAX 8
/* The general (non-canonical) MessagePack decoder reads unsigned data only;
 * this bounds its explicit stack. */
#define GZ_MP_ANY_DEPTH_MAX 64
/* SPEC §3 string bounds. */
#define GZ_ID_MAX 64          /* issuer, controller, release, split, pool, work ids */
#define GZ_NAME_MAX 128       /* issuer name, release title, sale/payout refs */
#define GZ_TEXT_MAX 256       /* memo, proposal title, note */
#define GZ_LABEL_MAX 64       /* account label, media type, option text */
/* SPEC §3 counted arrays. */
#define GZ_OPTIONS_MIN 2
#define GZ_OPTIONS_MAX 16
#define GZ_CHOICES_MAX 16
#define GZ_RECIPIENTS_MAX 64
#define GZ_POOL_PROPOSALS_MAX 16
/* Validators in one set: bounds commits and vote sets (SPEC §4 refuses a
 * VALIDATOR_UPDATE that would make the set larger). */
#define GZ_VALIDATORS_MAX 128
/* Total voting power of a set: keeps 3 * power and the proposer rotation's
 * scaling in 64 bits (genesis, VALIDATOR_UPDATE and consensus all apply it). */
#define GZ_TOTAL_POWER_MAX (1ull << 50)
/* A block as SPEC genesis allows it at most (consensus.block_max_bytes caps it lower). */
#define GZ_BLOCK_BYTES_MAX (8u * 1024u * 1024u)
/* Txs in one block at most (consensus.block_max_txs caps it lower): bounds
 * the per-tx arrays a received block makes us allocate before executing it. */
#define GZ_BLOCK_TXS_MAX 20000u
/* An encoded Header is at most 342 bytes (13 fields, the longest the chain
 * id); a bin that claims to be a header is refused above this. */
#define GZ_HEADER_BYTES_MAX 1024u
/* A Commit: height, round and block id (under 64 bytes) and one
 * [index, time, sig bin64] entry (at most 85 bytes) per validator. */
#define GZ_COMMIT_BYTES_MAX (64u + GZ_VALIDATORS_MAX * 96u)
/* An encoded Vote is at most 129 bytes and a Proposal at most 128 (the chain
 * id, three numbers and a block id each); a bin that claims to be one is
 * refused above this. */
#define GZ_VOTE_BYTES_MAX 256u
#define GZ_PROPOSAL_BYTES_MAX 256u
/* An AnchorLeaf is 8 fields: three 32-byte ids, an id string and four numbers. */
#define GZ_ANCHOR_LEAF_BYTES_MAX 512u
/* A Merkle proof for a tree of at most 2^64 leaves has at most 64 nodes;
 * proof files and answers with more are refused before they are read. */
#define GZ_MERKLE_PROOF_MAX 64

/* ---- peer-to-peer ---- */

/* One peer-to-peer frame carries at most one block and its overhead (the
 * commit of a BLOCK message, the signed proposal of a PROPOSAL message). */
#define GZ_FRAME_BYTES_MAX (GZ_BLOCK_BYTES_MAX + 64u * 1024u)
/* A frame before the handshake completes holds only HELLO or AUTH (under 160
 * bytes), so an unauthenticated socket may not make us allocate more. */
#define GZ_HANDSHAKE_FRAME_BYTES_MAX 256u
/* A peer with this much unsent data queued is too slow and is dropped; a
 * frame is always accepted into an empty queue, so a largest block still goes
 * out. 4 MiB is seconds of votes and proposals at devnet rates, and 64 peers
 * that never read pin at most 256 MiB before the total budget acts. */
#define GZ_PEER_SENDQ_BYTES_MAX (4u * 1024u * 1024u)
/* All send queues together (frames shared by a broadcast counted once, plus
 * ciphertext handed to the socket): past it the peer holding the most is
 * dropped, so peers that never read cannot take the node's memory budget. */
#define GZ_P2P_SENDQ_TOTAL_BYTES_MAX (64u * 1024u * 1024u)
/* Up peers whose key is neither a validator's nor allowed; the other slots of
 * GZ_PEERS_MAX are never theirs, and a validator takes any non-validator slot. */
#define GZ_P2P_OUTSIDER_PEERS_MAX 16
/* Up outsider peers from one IP address: one host cannot take every outsider slot. */
#define GZ_P2P_OUTSIDERS_PER_IP_MAX 4
/* Inbound connections from one IP address still in the handshake (validator
 * keys not counted): honest peers need one each, so more is a flood. */
#define GZ_P2P_HANDSHAKES_PER_IP_MAX 8
/* Inbound connections in the handshake at once, from all addresses: each
 * holds a socket and at most one handshake frame. */
#define GZ_P2P_HANDSHAKES_MAX 128
/* Peers one node keeps at once. */
#define GZ_PEERS_MAX 64
/* Txs in one TXS gossip message: a peer's message with more is refused. */
#define GZ_TX_GOSSIP_BATCH_MAX 512u
/* Blocks kept as candidates for one height (one per round in practice), so a
 * Byzantine proposer cannot make a node keep more. */
#define GZ_BLOCK_CANDIDATES_MAX 8u
/* Votes of one height kept for re-sending: a few rounds of every validator. */
#define GZ_HEIGHT_VOTES_MAX 1024u

/* ---- JSON-RPC ---- */

/* HTTP: request head and body bounds; a JSON-RPC batch at most this many calls. */
#define GZ_RPC_HEAD_BYTES_MAX (16u * 1024u)
#define GZ_RPC_BODY_BYTES_MAX (8u * 1024u * 1024u)
#define GZ_RPC_BATCH_MAX 1000
/* jansson parses recursively: deeper nesting is refused before it sees the bytes. */
#define GZ_RPC_JSON_DEPTH_MAX 16
/* Open connections at once; past it a new one takes the slot of the oldest
 * idle one, or is accepted and closed when every connection is working. */
#define GZ_RPC_CONNS_MAX 256
/* Connections of one client address (an IPv4 address, an IPv6 /64, all of
 * loopback as one), so one client cannot take every slot. */
#define GZ_RPC_CONNS_PER_IP_MAX 32
/* A request head must be complete this long after the connection opened or
 * the server last had work for it, so silent and byte-a-second clients
 * (slowloris) give their slot back. */
#define GZ_RPC_HEAD_MS 10000u
/* A body must be complete within GZ_RPC_BODY_MS plus its length at
 * GZ_RPC_BODY_MIN_BYTES_PER_S after its head: a largest body has 138 s. */
#define GZ_RPC_BODY_MS 10000u
#define GZ_RPC_BODY_MIN_BYTES_PER_S (64u * 1024u)
/* Work units one request may ask for (the sum of its calls' method costs),
 * judged before any call runs, so that no request holds the node for long. */
#define GZ_RPC_REQUEST_COST_MAX 4000u
/* Results of one request are built up to this many bytes; the calls after
 * are answered with an error instead of being run. */
#define GZ_RPC_RESULTS_BYTES_MAX (16u * 1024u * 1024u)
/* Response bytes the whole server holds (being built or unsent); past it the
 * calls that cost more than 1 are answered "busy". */
#define GZ_RPC_HELD_BYTES_MAX (64u * 1024u * 1024u)
/* A batch (or a pipeline) gives the loop back after this much work, so that
 * other connections (status) wait tens of milliseconds, not seconds. */
#define GZ_RPC_TURN_MS 10u
/* A connection with this much unsent output reads no further requests. */
#define GZ_RPC_SENDQ_BYTES_MAX (4u * 1024u * 1024u)
/* One serialized response (a whole batch) is at most this big; also the
 * most the client accepts. */
#define GZ_RPC_RESPONSE_BYTES_MAX (64u * 1024u * 1024u)
/* A connection with no traffic for this long is closed (a client that does
 * not read its responses, a body that stalls), so it gives its slot back. */
#define GZ_RPC_IDLE_MS 20000u
/* submit_tx_commit calls waiting for their tx at once; more are refused. */
#define GZ_COMMIT_WAITERS_MAX 4096u
/* The longest timeout_ms a submit_tx_commit call may ask to hold its waiter. */
#define GZ_COMMIT_WAIT_MS_MAX 120000u
/* Txs admitted together: an RPC request's submissions or one gossip message. */
#define GZ_ADMIT_BATCH_MAX 512u
/* Query pages. */
#define GZ_PAGE_LIMIT_MAX 100

/* ---- node memory ---- */

/* Mempool: bounded in count and bytes so a flood cannot exhaust memory. */
#define GZ_MEMPOOL_TXS_MAX 200000u
#define GZ_MEMPOOL_BYTES_MAX (256u * 1024u * 1024u)
/* Admission takes a nonce at most this far above the signer's committed next
 * one (nonces next .. next + 63): a client may pipeline that many txs, and a
 * flood of far-future nonces, which could never execute, is refused. */
#define GZ_MEMPOOL_NONCE_WINDOW 64u
/* Pending txs and bytes of one signer: the window's worth (so a pipeline is
 * never cut short by the cap), and 32 largest txs. */
#define GZ_MEMPOOL_SIGNER_TXS_MAX GZ_MEMPOOL_NONCE_WINDOW
#define GZ_MEMPOOL_SIGNER_BYTES_MAX (32u * GZ_TX_BYTES_MAX)
/* Pending txs and bytes one peer gossiped: a quarter of the pool, so that one
 * peer (relaying its own clients' load) cannot fill it for the others. */
#define GZ_MEMPOOL_PEER_TXS_MAX (GZ_MEMPOOL_TXS_MAX / 4u)
#define GZ_MEMPOOL_PEER_BYTES_MAX (GZ_MEMPOOL_BYTES_MAX / 4u)
/* Peers with pending txs at once: every connected peer and as many that left
 * with txs still pending (slot 0 is the local clients). */
#define GZ_MEMPOOL_SOURCES_MAX (2u * GZ_PEERS_MAX + 1u)
/* A tx leaves the mempool this long after its admission (monotonic time),
 * committed or not: a tx whose nonce gap is never filled does not stay. */
#define GZ_MEMPOOL_TTL_MS (10u * 60u * 1000u)
/* Mempool entries a block build looks at, at most: each costs two hash
 * lookups, so the whole pool is looked at within milliseconds. */
#define GZ_BUILD_SCAN_MAX GZ_MEMPOOL_TXS_MAX
/* The node's read cache in front of RocksDB (store_cache_enable): accounts,
 * proposals, tallies and the other state keys executing and admitting txs
 * read, so that most reads skip RocksDB's memtable search. */
#define GZ_STATE_CACHE_ENTRIES (1u << 18)
#define GZ_STATE_CACHE_BYTES (48u * 1024u * 1024u)

/* ---- files ---- */

/* Genesis file size and its arrays. */
#define GZ_GENESIS_BYTES_MAX (64u * 1024u * 1024u)
#define GZ_GENESIS_ACCOUNTS_MAX 1000000u
#define GZ_AUTHORITIES_MAX 64
/* Credit reasons that policy may bound. */
#define GZ_CREDIT_REASONS_MAX 64
/* A node's config.json: a few addresses, paths and up to GZ_PEERS_MAX peers. */
#define GZ_CONFIG_BYTES_MAX (64u * 1024u)
/* A key file holds 64 hex characters and a newline; anything longer is not one. */
#define GZ_KEY_FILE_BYTES_MAX 128
/* Links of a valset_chain (SPEC §5): the set changes from genesis up to one
 * height, each a signed header, commit and set. A consortium changes its set
 * when an institution joins, leaves or is jailed: 1024 changes is decades of
 * that, and bounds what a node serves and a verifier reads. */
#define GZ_VALSET_CHAIN_MAX 1024u
/* A proof file (bundle, tx proof, log proof) holds one tx, two headers and
 * commits, an audit path, a validator set as hex, and a valset_chain: links of
 * small sets take about 1 KB each, of 128 validators about 40 KB. */
#define GZ_PROOF_FILE_BYTES_MAX (64u * 1024u * 1024u)

/* ---- relations the code relies on ---- */

_Static_assert(GZ_TX_BYTES_MAX <= GZ_BLOCK_BYTES_MAX,
               "a largest tx fits in a largest block (genesis accepts block_max_bytes from GZ_TX_BYTES_MAX)");
_Static_assert(GZ_COMMIT_BYTES_MAX <= GZ_BLOCK_BYTES_MAX,
               "a commit is stored and fetched under the block bound (storage/keys.c)");
_Static_assert(GZ_FRAME_BYTES_MAX - GZ_BLOCK_BYTES_MAX >= GZ_COMMIT_BYTES_MAX + 64u,
               "a BLOCK message (a largest block, its commit, a height and MessagePack heads) "
               "fits in one frame");
_Static_assert(GZ_FRAME_BYTES_MAX - GZ_BLOCK_BYTES_MAX >= GZ_PROPOSAL_BYTES_MAX + 64u + 64u,
               "a PROPOSAL message (a largest block, a proposal, its signature and MessagePack heads) "
               "fits in one frame");
_Static_assert(GZ_FRAME_BYTES_MAX <= UINT32_MAX,
               "frame and WAL record lengths travel as 4-byte big-endian numbers");
_Static_assert(GZ_TX_GOSSIP_BATCH_MAX * (GZ_TX_BYTES_MAX + 5u) + 5u + 16u <= GZ_FRAME_BYTES_MAX,
               "a full TXS gossip message of largest txs (each with its bin head) fits in one frame");
_Static_assert(GZ_TX_GOSSIP_BATCH_MAX <= GZ_ADMIT_BATCH_MAX,
               "the txs of one TXS gossip message are admitted as one batch");
_Static_assert(GZ_P2P_SENDQ_TOTAL_BYTES_MAX >= GZ_FRAME_BYTES_MAX + 4u + 16u + GZ_PEER_SENDQ_BYTES_MAX,
               "a largest encrypted frame fits the total send budget beside one full peer queue");
_Static_assert(GZ_P2P_SENDQ_TOTAL_BYTES_MAX >= 4u * GZ_PEER_SENDQ_BYTES_MAX,
               "a few peers with full queues do not trip the total budget");
_Static_assert(GZ_P2P_OUTSIDER_PEERS_MAX < GZ_PEERS_MAX,
               "outsiders never hold every slot");
_Static_assert(GZ_P2P_OUTSIDERS_PER_IP_MAX <= GZ_P2P_OUTSIDER_PEERS_MAX,
               "the per-address outsider cap is within the outsider slots");
_Static_assert(GZ_RPC_BODY_BYTES_MAX >= 2u * GZ_TX_BYTES_MAX + 1024u,
               "a submit_tx request (a largest tx as hex, twice its bytes, and the JSON-RPC envelope) "
               "fits in one HTTP body");
_Static_assert(GZ_RPC_RESULTS_BYTES_MAX + GZ_RPC_BODY_BYTES_MAX + GZ_RPC_BATCH_MAX * 512u <=
                   GZ_RPC_RESPONSE_BYTES_MAX,
               "a response (results to their bound, ids echoed from the body, an error per call) "
               "is one the client accepts");
_Static_assert(GZ_MEMPOOL_BYTES_MAX >= GZ_TX_BYTES_MAX, "an empty mempool takes a largest tx");
_Static_assert(GZ_MEMPOOL_TXS_MAX < UINT32_MAX / 4,
               "mempool positions are uint32_t with two reserved values (node/mempool.c)");
_Static_assert(GZ_PROOF_FILE_BYTES_MAX >=
                   2u * (GZ_TX_BYTES_MAX + 2u * (GZ_HEADER_BYTES_MAX + GZ_COMMIT_BYTES_MAX) +
                         GZ_ANCHOR_LEAF_BYTES_MAX + GZ_MERKLE_PROOF_MAX * 32u) +
                       GZ_VALIDATORS_MAX * 512u + 4096u,
               "the largest proof file a node answers with (its bytes as hex, a validator set as JSON) "
               "fits the verifier's file bound");

#endif
