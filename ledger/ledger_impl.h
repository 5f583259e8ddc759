/* Internals of the base ledger shared by ledger.c, state.c, query.c and the
 * base tx files; governance code uses ledger_internal.h only. */
#ifndef GZ_LEDGER_LEDGER_IMPL_H
#define GZ_LEDGER_LEDGER_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/merkle.h"
#include "ledger/ledger_internal.h"
#include "ledger/overlay.h"
#include "storage/store.h"

/* Ledger metadata in the store (outside the state): height u64 ‖ time u64 ‖
 * state_root[32] ‖ log_size u64 ‖ log_root[32], all big-endian. */
#define LEDGER_META_NAME "ledger"
#define LEDGER_META_BYTES (8 + 8 + 32 + 8 + 32)
/* 'm' name of the genesis hash in the state. */
#define LEDGER_META_GENESIS "genesis"

struct ledger {
    store *s;
    gz_genesis g; /* a copy; owns its accounts array */
    uint64_t height;
    uint64_t time;
    uint8_t state_root[32];
    core_merkle_frontier log;
    /* The set of height ->height + 1 and its hash; the heights at which a
     * set took effect (1 for genesis's), ascending. */
    ledger_valset valset;
    uint8_t valset_hash[32];
    uint64_t *valset_from;
    size_t n_valset_from, cap_valset_from;
    /* Every leaf hash of the provenance log, for proofs. */
    uint8_t (*leaf_hashes)[32];
    size_t cap_leaf_hashes;
};

typedef struct ledger_result {
    int code; /* SPEC §6, 0..12 */
    char *message;
    char *events;
} ledger_result;

struct ledger_block {
    uint64_t height;
    uint64_t time;
    uint64_t prev_height;
    uint8_t prev_root[32];
    ledger_overlay *ov;
    uint8_t state_root[32];
    uint8_t log_root[32];
    core_merkle_frontier log; /* after this block */
    /* Leaves appended by this block: bytes concatenated, with offsets. */
    gz_buf leaves;
    size_t *leaf_off; /* n_leaves + 1 offsets into leaves */
    uint8_t (*leaf_hashes)[32];
    size_t n_leaves;
    size_t cap_leaves;
    ledger_result *results;
    size_t n_results;
    char *begin_events;
    /* The set of height + 1: a copy of the ledger's, changed by the block's
     * VALIDATOR_UPDATE and EVIDENCE txs (only once every check passed). */
    ledger_valset next;
    uint8_t next_hash[32];
    bool valset_changed;
};

/* ---- validator sets (ledger/valset.c) ---- */
/* The second byte of an LK_VALSET key (docs/ledger.md, "State layout"). */
enum { LEDGER_VK_CURRENT = 'c', LEDGER_VK_FROM = 'h', LEDGER_VK_JAIL = 'j', LEDGER_VK_EVIDENCE = 'e' };
/* Writes the genesis set (and registers its keys as accounts). */
GZ_WUR int ledger_valset_genesis(ledger_ctx *x);
/* Loads the committed set and the heights of its changes at open. */
GZ_WUR int ledger_valset_load(ledger *l, gz_msg *msg);
/* At the end of a block: writes the next set when the block changed it. */
GZ_WUR int ledger_valset_end_block(ledger_ctx *x);
/* Reserves room so that ledger_valset_committed cannot fail. */
GZ_WUR int ledger_valset_reserve(ledger *l);
/* After commit: the block's next set becomes the ledger's. */
void ledger_valset_committed(ledger *l, const ledger_block *b);

/* state_root = TH("gongzhi/state", prev ‖ SHA256(write set of ov)). */
GZ_WUR int ledger_state_root_next(uint8_t out[32], const uint8_t prev[32], ledger_overlay *ov);
/* Grows l's in-memory leaf hashes to hold n. Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int ledger_leaf_hashes_reserve(ledger *l, size_t n);

/* The block being executed by x (framework-private). */
ledger_block *ledger_ctx_block(const ledger_ctx *x);

/* Appends an AnchorLeaf to the block's provenance log; *index receives its
 * leaf index. Called last by ANCHOR, after every check passed (a leaf is not
 * undone by a savepoint). Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int ledger_log_append(ledger_ctx *x, const gz_anchor_leaf *leaf, uint64_t *index);

/* Record codecs (values are canonical MessagePack arrays). */
GZ_WUR int ledger_account_encode(const ledger_account *a, gz_buf *out);
GZ_WUR int ledger_account_decode(ledger_account *a, const uint8_t id[32], const uint8_t *p,
                                 size_t len);
void ledger_account_key(ledger_key *k, const uint8_t id[32]);

/* A split record ('s' ‖ split_id). */
typedef struct ledger_split {
    char split_id[GZ_ID_MAX + 1];
    uint8_t owner[32];
    bool is_mutable;
    uint64_t total_distributed;
    uint32_t n_recipients;
    gz_split_recipient recipients[GZ_RECIPIENTS_MAX];
} ledger_split;

void ledger_split_key(ledger_key *k, const char *split_id);
GZ_WUR int ledger_split_encode(const ledger_split *sp, gz_buf *out);
GZ_WUR int ledger_split_decode(ledger_split *sp, const char *split_id, const uint8_t *p,
                               size_t len);

/* An anchor record ('n' ‖ artifact): the leaf plus what the leaf omits. */
typedef struct ledger_anchor {
    gz_anchor_leaf leaf;
    char media_type[GZ_LABEL_MAX + 1];
    char note[GZ_TEXT_MAX + 1];
    uint64_t leaf_index;
} ledger_anchor;

void ledger_anchor_key(ledger_key *k, const uint8_t artifact[32]);
GZ_WUR int ledger_anchor_encode(const ledger_anchor *a, gz_buf *out);
GZ_WUR int ledger_anchor_decode(ledger_anchor *a, const uint8_t artifact[32], const uint8_t *p,
                                size_t len);

#endif
