/* The ledger: the governance state machine of SPEC §3 over the store.
 *
 * The node drives it block by block:
 *
 *   ledger_exec_block()      speculative: runs a block's txs on an overlay over
 *                            the committed state; the store is not touched. The
 *                            proposer uses the roots to fill its header, a
 *                            validator to check a proposed header.
 *   ledger_block_commit()    adds the block's writes to the node's batch; the
 *                            node adds block, commit and indexes and writes it
 *                            once, synced.
 *   ledger_block_committed() after that write succeeded, advances the ledger's
 *                            committed view (height, roots, log).
 *
 * Queries read committed state only and return jansson objects (the caller
 * owns the reference). The ledger never reads the clock or the RNG and never
 * iterates a hash table in an unspecified order: the same blocks give the same
 * state_root on every node (docs/ledger.md defines it). Not thread-safe: one
 * thread drives a ledger. */
#ifndef GZ_LEDGER_LEDGER_H
#define GZ_LEDGER_LEDGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/codec.h"
#include "core/err.h"
#include "ledger/genesis.h"
#include "storage/store.h"

typedef struct ledger ledger;
typedef struct ledger_block ledger_block;

/* Opens the ledger over s (which it borrows; s must outlive it). g is copied.
 * On an empty store writes the genesis state (height 0) in one synced batch;
 * otherwise loads the committed height, state_root and provenance log and
 * checks that the store was made from the same genesis (GZ_ECORRUPT if not).
 * Returns GZ_OK, GZ_EARG (g fails ledger_genesis_check), GZ_ECORRUPT,
 * GZ_ESTORAGE or GZ_ENOMEM with msg saying why; *out = NULL on failure. */
GZ_WUR int ledger_open(ledger **out, store *s, const gz_genesis *g, gz_msg *msg);
/* Frees l (NULL is fine). Blocks from ledger_exec_block must be freed first. */
void ledger_close(ledger *l);

/* The committed view. */
uint64_t ledger_height(const ledger *l);
/* Time of the last committed block (genesis_time at height 0). */
uint64_t ledger_time(const ledger *l);
void ledger_state_root(const ledger *l, uint8_t out[32]);
void ledger_log_root(const ledger *l, uint8_t out[32]);
uint64_t ledger_log_size(const ledger *l);
const gz_genesis *ledger_genesis(const ledger *l);

/* A validator set in index order (SPEC §4): what signs one height. */
typedef struct ledger_valset {
    uint32_t n;
    gz_validator v[GZ_VALIDATORS_MAX];
} ledger_valset;

/* The index of pub in s, or -1. */
int32_t ledger_valset_index(const ledger_valset *s, const uint8_t pub[32]);

/* The set that signs the next height (ledger_height + 1), and its hash. */
const ledger_valset *ledger_validators_next(const ledger *l);
void ledger_validators_next_hash(const ledger *l, uint8_t out[32]);
/* The set that signed (or signs) height, for any height 1..ledger_height + 1:
 * genesis's, or the one a block below height put in place. Returns GZ_OK,
 * GZ_ENOTFOUND (height 0 or beyond the next one; *out emptied), or an
 * internal error. */
GZ_WUR int ledger_validators_at(ledger *l, uint64_t height, ledger_valset *out);
/* The heights below `below` whose block changed the set (its header's
 * next_validators_hash differs from its validators_hash), ascending: up to
 * max of them into out; returns how many there are in all. */
size_t ledger_valset_changes(const ledger *l, uint64_t below, uint64_t *out, size_t max);

/* The committed nonce of a registered account, for mempool admission.
 * Returns GZ_OK or GZ_ENOTFOUND (*nonce = 0) or a storage error. */
GZ_WUR int ledger_account_nonce(ledger *l, const uint8_t id[32], uint64_t *nonce);

/* Executes a block speculatively at height == ledger_height(l) + 1 and
 * time > ledger_time(l). txs must have passed core_tx_check (decoding,
 * chain id, signature); the ledger does not verify signatures again. Each tx
 * gets a result (SPEC §6 code, message, events); a failing tx does not fail
 * the block. Returns GZ_OK with *out a new block the caller frees with
 * ledger_block_free, GZ_EARG for a wrong height or time or n over
 * GZ_BLOCK_TXS_MAX, or an internal error (storage, memory): then *out = NULL. */
GZ_WUR int ledger_exec_block(ledger *l, uint64_t height, uint64_t time, const uint8_t proposer[32],
                             const gz_tx *const *txs, size_t n, ledger_block **out);

uint64_t ledger_block_height(const ledger_block *b);
/* The set that signs the height after b, as b's txs left it, and its hash
 * (the header's next_validators_hash). */
const ledger_valset *ledger_block_next_validators(const ledger_block *b);
void ledger_block_next_validators_hash(const ledger_block *b, uint8_t out[32]);
void ledger_block_state_root(const ledger_block *b, uint8_t out[32]);
void ledger_block_log_root(const ledger_block *b, uint8_t out[32]);
uint64_t ledger_block_log_size(const ledger_block *b);
size_t ledger_block_tx_count(const ledger_block *b);
/* Result of tx i (i < tx count): SPEC §6 code 0..12, one-line message ("" on
 * success), and events as compact JSON text of an array of
 * {"type": …, "attrs": {…}} (docs/ledger.md lists them). Strings are owned by b. */
int ledger_block_tx_code(const ledger_block *b, size_t i);
const char *ledger_block_tx_message(const ledger_block *b, size_t i);
const char *ledger_block_tx_events(const ledger_block *b, size_t i);
/* Events of the block's start (proposals closing, suspensions lifting), as the
 * same JSON array text. */
const char *ledger_block_begin_events(const ledger_block *b);

/* Adds b's writes (state, provenance-log leaves, ledger metadata) to batch.
 * b must have been executed on l's current committed view (GZ_ESTATE if l
 * moved on since). Returns GZ_OK, GZ_ESTATE or GZ_ENOMEM. */
GZ_WUR int ledger_block_commit(ledger *l, const ledger_block *b, store_batch *batch);
/* After the batch was written: advances l to b. */
void ledger_block_committed(ledger *l, const ledger_block *b);
void ledger_block_free(ledger_block *b);

/* Queries over committed state. Each returns GZ_OK with *out a new JSON
 * object, GZ_ENOTFOUND (*out = NULL), or an internal error. */
/* SPEC §8 `account`: account, level, classes, label, nonce, balance, gov_tokens. */
GZ_WUR int ledger_query_account(ledger *l, const uint8_t id[32], json_t **out);
/* SPEC §8 `split`: split_id, owner, recipients [{account, share_ppm}], mutable,
 * total_distributed. */
GZ_WUR int ledger_query_split(ledger *l, const char *split_id, json_t **out);
/* SPEC §8 `anchor` without `bundle`: artifact, kind, work_id, parent (or null),
 * signer, txid, height, time, media_type, note, leaf_index. */
GZ_WUR int ledger_query_anchor(ledger *l, const uint8_t artifact[32], json_t **out);
/* SPEC §8 `work`: {"work_id", "anchors": [anchor objects in log order]}; a
 * parent is always anchored before its children, so log order is chain order. */
GZ_WUR int ledger_query_work(ledger *l, const char *work_id, json_t **out);
/* Where a committed tx is: its block height and index, from its result
 * record (every committed tx has exactly one). Returns GZ_OK, GZ_ENOTFOUND
 * (outs zeroed), GZ_ECORRUPT or a storage error. */
GZ_WUR int ledger_tx_location(ledger *l, const uint8_t txid[32], uint64_t *height, uint32_t *index);
/* A tx's execution result: {txid, height, index, type, code, message, events}. */
GZ_WUR int ledger_query_tx_result(ledger *l, const uint8_t txid[32], json_t **out);

/* Governance queries (SPEC §8 `controller`, `issuer`, `release`, `proposal`,
 * `proposals`); implemented in ledger/query_gov.c. */
GZ_WUR int ledger_query_controller(ledger *l, const char *controller_id, json_t **out);
GZ_WUR int ledger_query_issuer(ledger *l, const char *issuer_id, json_t **out);
GZ_WUR int ledger_query_release(ledger *l, const char *release_id, json_t **out);
GZ_WUR int ledger_query_proposal(ledger *l, const uint8_t proposal_id[32], json_t **out);
/* A page of proposals filtered by status (NULL = any) and kind (0 = any), at
 * most limit (1..GZ_PAGE_LIMIT_MAX) entries after proposal `after` (NULL = from
 * the first). Returns GZ_OK, or GZ_EARG with msg naming a bad parameter. */
GZ_WUR int ledger_query_proposals(ledger *l, const char *status, uint64_t kind, uint32_t limit,
                                  const uint8_t *after, json_t **out, gz_msg *msg);

/* SPEC §8 `validators` of height (1..ledger_height + 1): the set's members
 * [{index, name, pub_key, power}] in order, then the validators jailed at or
 * before that height and still jailed (not back in the set since), as {name, pub_key, power: 0,
 * jailed: true, jailed_at, evidence_height}. GZ_ENOTFOUND for another height. */
GZ_WUR int ledger_query_validators(ledger *l, uint64_t height, json_t **out);
/* SPEC §8 `evidence`: {"evidence": [{validator, height, round, type,
 * block_id_a, block_id_b, recorded_at, txid, jailed}], "next"}: recorded
 * equivocations in (validator, height) order, of one validator or all, at
 * most limit (1..GZ_PAGE_LIMIT_MAX) after the cursor `after` (the `next` of
 * the previous page; NULL from the start). GZ_EARG with msg for a bad cursor. */
GZ_WUR int ledger_query_evidence(ledger *l, const uint8_t *validator, uint32_t limit, const char *after,
                                 json_t **out, gz_msg *msg);

/* Provenance log (SPEC §5). The AnchorLeaf bytes of leaf index (< log size):
 * GZ_OK (appended to out), GZ_ENOTFOUND, or an internal error. */
GZ_WUR int ledger_log_leaf(ledger *l, uint64_t index, gz_buf *out);
/* Copies the leaf hashes of leaves [from, to) into out (to - from entries),
 * for inclusion and consistency proofs. GZ_EMISUSE unless from <= to <= log size. */
GZ_WUR int ledger_log_leaf_hashes(const ledger *l, uint64_t from, uint64_t to, uint8_t (*out)[32]);

#endif
