/* Every bound of gongzhi in one place (like SQLite's sqliteLimit.h). Lengths
 * that arrive from outside are checked against these before anything is
 * allocated for them. */
#ifndef GZ_CORE_LIMITS_H
#define GZ_CORE_LIMITS_H

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
/* Validators in one set: bounds commits and vote sets; 3f+1 with f = 42. */
#define GZ_VALIDATORS_MAX 128
/* A block as SPEC genesis allows it at most (consensus.block_max_bytes caps it lower). */
#define GZ_BLOCK_BYTES_MAX (8u * 1024u * 1024u)
/* A block never holds more txs than fit in its byte limit at the smallest tx size. */
#define GZ_BLOCK_TXS_MAX 20000u
/* One peer-to-peer frame carries at most one block and its overhead. */
#define GZ_FRAME_BYTES_MAX (GZ_BLOCK_BYTES_MAX + 64u * 1024u)
/* A peer that has this much unsent data queued is too slow and is dropped. */
#define GZ_PEER_SENDQ_BYTES_MAX (64u * 1024u * 1024u)
/* Peers one node keeps at once. */
#define GZ_PEERS_MAX 64
/* HTTP: request head and body bounds; a JSON-RPC batch at most this many calls. */
#define GZ_RPC_HEAD_BYTES_MAX (16u * 1024u)
#define GZ_RPC_BODY_BYTES_MAX (8u * 1024u * 1024u)
#define GZ_RPC_BATCH_MAX 1000
#define GZ_RPC_JSON_DEPTH_MAX 16
#define GZ_RPC_CONNS_MAX 256
/* Mempool: bounded in count and bytes so a flood cannot exhaust memory. */
#define GZ_MEMPOOL_TXS_MAX 200000u
#define GZ_MEMPOOL_BYTES_MAX (256u * 1024u * 1024u)

/* The node's read cache in front of RocksDB (store_cache_enable): accounts,
 * proposals, tallies and the other state keys executing and admitting txs
 * read, so that most reads skip RocksDB's memtable search. */
#define GZ_STATE_CACHE_ENTRIES (1u << 18)
#define GZ_STATE_CACHE_BYTES (48u * 1024u * 1024u)
/* Query pages. */
#define GZ_PAGE_LIMIT_MAX 100
/* Genesis file size and its arrays. */
#define GZ_GENESIS_BYTES_MAX (64u * 1024u * 1024u)
#define GZ_GENESIS_ACCOUNTS_MAX 1000000u
#define GZ_AUTHORITIES_MAX 64
/* Credit reasons that policy may bound. */
#define GZ_CREDIT_REASONS_MAX 64

#endif
