/* Offline verification of what a node serves, from bytes and a trusted
 * validator set (genesis) alone: anchor proof bundles (SPEC §5), tx inclusion
 * proofs, provenance-log consistency between two heights, and the replay of a
 * proposal's votes for an audit of its tally.
 *
 * Pure functions: no network, no files, no clock. The command line
 * (cli_verify.c, cli_audit.c) fetches and reads; this module checks. Every
 * verifier appends named checks to a verify_report, one line each, "ok" or
 * failed with the reason; a verification holds only when its report has no
 * failed check. Check names are stable (docs/auditing.md lists them): tests
 * and scripts match on them.
 *
 * The trust assumption is the genesis validator set. A commit is accepted when
 * validators holding more than 2/3 of the power of the set trusted at its
 * height signed it, whatever set a file claims: the genesis set, or the set
 * reached from it by a valset_chain (SPEC §4 "Validator set changes", §5),
 * each link of which is signed by the set trusted before it. */
#ifndef GZ_VERIFY_VERIFY_H
#define GZ_VERIFY_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/bytes.h"
#include "core/codec.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/merkle.h"
#include "ledger/genesis.h"

/* Bundles are bounded by core/limits.h: GZ_HEADER_BYTES_MAX,
 * GZ_COMMIT_BYTES_MAX, GZ_ANCHOR_LEAF_BYTES_MAX, GZ_PROOF_FILE_BYTES_MAX. */

/* ---- reports ---------------------------------------------------------------- */

typedef struct verify_check {
    bool ok;
    char name[40];  /* stable name, e.g. "inclusion proof" */
    char text[256]; /* what was checked (ok) or why it failed */
} verify_check;

/* A growing list of checks; zero-initialise or verify_report_init(), release
 * with verify_report_free(). A check that cannot be recorded (out of memory)
 * still counts as a failure. */
typedef struct verify_report {
    verify_check *checks;
    size_t n;
    size_t cap;
    size_t n_failed;
    bool lost; /* a check was dropped for lack of memory */
} verify_report;

void verify_report_init(verify_report *r);
void verify_report_free(verify_report *r);
void verify_report_ok(verify_report *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void verify_report_fail(verify_report *r, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* True when every check held (and none was lost). */
bool verify_report_passed(const verify_report *r);
/* The first failed check, or NULL. */
const verify_check *verify_report_first_failure(const verify_report *r);
/* The first check named name (ok or not), or NULL. */
const verify_check *verify_report_find(const verify_report *r, const char *name);
/* Writes one line per check: "ok   <text>" or "FAIL <name>: <text>". */
void verify_report_print(const verify_report *r, FILE *f);

/* ---- Merkle proofs (RFC 9162), the one path every verifier uses ------------- */

typedef struct verify_merkle_proof {
    uint64_t leaf_index;
    uint64_t tree_size;
    size_t path_len;
    uint8_t path[GZ_MERKLE_PROOF_MAX][32];
} verify_merkle_proof;

/* Checks that leaf_hash sits at p->leaf_index of a tree of p->tree_size leaves
 * whose root is root (core_merkle_inclusion_verify, after the index check).
 * Returns GZ_OK or GZ_EVERIFY with msg saying why. */
GZ_WUR int verify_merkle_inclusion_check(const uint8_t leaf_hash[32], const verify_merkle_proof *p,
                                       const uint8_t root[32], gz_msg *msg);
/* Checks that the tree of size2 leaves with root2 extends the tree of size1
 * leaves with root1 (core_merkle_consistency_verify), exactly as RFC 9162:
 * size1 must be at least 1 (verify_log handles an empty first log).
 * Returns GZ_OK or GZ_EVERIFY with msg saying why. */
GZ_WUR int verify_merkle_consistency_check(uint64_t size1, const uint8_t root1[32], uint64_t size2,
                                         const uint8_t root2[32], const uint8_t (*path)[32],
                                         size_t path_len, gz_msg *msg);

/* ---- proof files ------------------------------------------------------------ */

/* A header and the commit that finalised it, as a file carries them. */
typedef struct verify_signed_header {
    uint64_t height; /* the height the file claims */
    gz_buf header;   /* Header bytes */
    gz_buf commit;   /* Commit bytes */
} verify_signed_header;

/* ---- validator set changes (SPEC §4, §5 valset_chain) ------------------------- */

/* A proof file's valset_chain holds at most this many links (core/limits.h). */
#define VERIFY_VALSET_LINKS_MAX GZ_VALSET_CHAIN_MAX

/* One link: the header of a block that changed the set (next_validators_hash
 * differs from validators_hash), its commit, and the new set. */
typedef struct verify_valset_link {
    gz_buf header;            /* Header bytes */
    gz_buf commit;            /* Commit bytes */
    uint32_t n_validators;    /* 1..GZ_VALIDATORS_MAX */
    gz_validator *validators; /* the new set, n_validators entries (malloc'd) */
} verify_valset_link;

/* The links of a proof file, in ascending height, all below the height of
 * what the file proves. Empty ({0, NULL}) when the set never changed. */
typedef struct verify_valset_chain {
    size_t n;
    verify_valset_link *links;
} verify_valset_chain;

void verify_valset_chain_free(verify_valset_chain *c);
/* Deep copy of src into *dst (emptied first). GZ_OK or GZ_ENOMEM (*dst empty). */
GZ_WUR int verify_valset_chain_copy(verify_valset_chain *dst, const verify_valset_chain *src);

/* A validator set the verifier trusts, from a height on: genesis' or the new
 * set of a link that held. vals points into the genesis or the chain it came
 * from, which must outlive it. */
typedef struct verify_valset {
    const gz_validator *vals;
    uint32_t n;
    uint8_t hash[32];     /* core_validators_hash(vals) */
    uint64_t from_height; /* first height it signs: 1 for genesis, else the link's height + 1 */
    size_t links;         /* links applied to reach it (0: genesis) */
} verify_valset;

/* The genesis set, trusted from height 1. */
void verify_valset_genesis(verify_valset *s, const gz_genesis *g);
/* Checks a set a file lists (a link's new set): 1..GZ_VALIDATORS_MAX
 * validators, power >= 1 each, total power at most UINT64_MAX / 3 (as
 * genesis), no key twice. Returns GZ_OK or GZ_EVERIFY with msg naming
 * "validators[i].<field>". */
GZ_WUR int verify_valset_check(const gz_validator *vals, size_t n, gz_msg *msg);

/* A walk along a valset_chain towards a target height, one link at a time,
 * so that a caller checking several heights (the log's two ends, the audit's
 * blocks) gets the set of each. Borrowed g and c outlive the walker. */
typedef struct verify_valset_walker {
    const gz_genesis *g;
    const verify_valset_chain *c;
    uint64_t target; /* every link must be strictly below it */
    size_t next;     /* the next link to check */
    bool failed;     /* a link failed: the walk stopped there */
    verify_valset set;
} verify_valset_walker;

void verify_valset_walker_init(verify_valset_walker *w, const gz_genesis *g, const verify_valset_chain *c,
                               uint64_t target);
/* Checks and applies, in order, every link whose header height is below
 * height (and a next link whose header does not decode, to name it). Each
 * link is one "valset link" check: what held (its commit's signers and
 * power, the new set's size and hash), or which part failed: "header",
 * "order" (not above the previous link, or not below the target), "set
 * hash" (its validators_hash is not the set trusted so far), "commit" (not
 * for the header, or not > 2/3 of the set trusted so far), "next set hash"
 * (no change, a bad set, or a set that does not hash to
 * next_validators_hash). The walk stops at the first failed link: w->set
 * stays the last set reached. Returns false once a link failed. */
bool verify_valset_walker_advance(verify_valset_walker *w, verify_report *r, uint64_t height);
/* Advances to the target and fails ("valset link", "order") every link left
 * (at or above the target). Returns true when every link held. */
bool verify_valset_walker_finish(verify_valset_walker *w, verify_report *r);
/* The whole walk from genesis to target; *s is the set reached. Returns true
 * when every link held. */
bool verify_valset_walk(verify_report *r, const gz_genesis *g, const verify_valset_chain *c, uint64_t target,
                        verify_valset *s);

/* SPEC §5 anchor proof bundle. */
typedef struct verify_anchor_bundle {
    uint8_t artifact[32];
    gz_buf leaf; /* AnchorLeaf bytes */
    verify_merkle_proof proof;
    verify_signed_header block;
    uint32_t n_validators;
    gz_validator validators[GZ_VALIDATORS_MAX];
    verify_valset_chain valset_chain; /* optional key, written when non-empty */
} verify_anchor_bundle;

/* A tx with its inclusion proof over its block's txids (docs/auditing.md):
 * {"txid", "tx", "height", "proof": {"leaf_index", "tree_size", "audit_path"},
 *  "header", "commit", "validators", "valset_chain"?}. */
typedef struct verify_tx_proof {
    uint8_t txid[32];
    gz_buf tx; /* Tx bytes */
    verify_merkle_proof proof;
    verify_signed_header block;
    uint32_t n_validators;
    gz_validator validators[GZ_VALIDATORS_MAX];
    verify_valset_chain valset_chain; /* optional key, written when non-empty */
} verify_tx_proof;

/* Two signed headers and the consistency proof between their provenance logs
 * (docs/auditing.md): {"first": {"height", "header", "commit"}, "second": {…},
 *  "proof": ["<hex32>", …], "validators": […], "valset_chain"?: […]}. The
 * validators are the set at the second height; the chain's links are below
 * it, and those below the first height give the set at the first. */
typedef struct verify_log_proof {
    verify_signed_header first;
    verify_signed_header second;
    size_t path_len;
    uint8_t path[GZ_MERKLE_PROOF_MAX][32];
    uint32_t n_validators;
    gz_validator validators[GZ_VALIDATORS_MAX];
    verify_valset_chain valset_chain; /* optional key, written when non-empty */
} verify_log_proof;

void verify_anchor_bundle_init(verify_anchor_bundle *b);
void verify_anchor_bundle_free(verify_anchor_bundle *b);
void verify_tx_proof_init(verify_tx_proof *t);
void verify_tx_proof_free(verify_tx_proof *t);
void verify_log_proof_init(verify_log_proof *l);
void verify_log_proof_free(verify_log_proof *l);

/* Reads the JSON form. Every key is required but valset_chain (absent: no
 * set change), unknown keys are errors, and lengths are checked before
 * anything is allocated; a link's validators are checked as
 * verify_valset_check does. Returns GZ_OK, or
 * GZ_EARG (GZ_ENOMEM) with msg naming the field, e.g. "audit_path[2]:
 * expected 64 hex chars"; the struct is then emptied (still to be freed). */
GZ_WUR int verify_anchor_bundle_from_json(verify_anchor_bundle *b, const json_t *j, gz_msg *msg);
GZ_WUR int verify_tx_proof_from_json(verify_tx_proof *t, const json_t *j, gz_msg *msg);
GZ_WUR int verify_log_proof_from_json(verify_log_proof *l, const json_t *j, gz_msg *msg);
/* Reads the optional "valset_chain" key of obj (a proof file, or the result
 * of RPC `commit`) into *c (zero-initialised or read before, emptied first); absent is an empty chain. Returns
 * GZ_OK, or GZ_EARG (GZ_ENOMEM) with msg naming the field, e.g.
 * "valset_chain[1].validators[0].power: ..."; *c is then empty. */
GZ_WUR int verify_valset_chain_from_json(verify_valset_chain *c, const json_t *obj, gz_msg *msg);
/* Writes the JSON form (keys in SPEC §5 order for the bundle). Returns GZ_OK
 * with *out a new reference, or GZ_ENOMEM (*out = NULL). */
GZ_WUR int verify_anchor_bundle_to_json(const verify_anchor_bundle *b, json_t **out);
GZ_WUR int verify_tx_proof_to_json(const verify_tx_proof *t, json_t **out);
GZ_WUR int verify_log_proof_to_json(const verify_log_proof *l, json_t **out);

/* ---- verifiers ---------------------------------------------------------------- */

/* SPEC §5 bundle against the trusted genesis. file_sha256 (may be NULL) is the
 * SHA-256 of the file the auditor holds. Checks, in order: file sha256, leaf
 * decodes, leaf artifact, header decodes, chain id, height, leaf time, tree
 * size, leaf index, inclusion proof, one "valset link" per link of the
 * bundle's valset_chain (below the header's height), validators hash (the
 * header names the file's validators), header set (the header's
 * validators_hash is the set reached), trusted validators (the file's
 * validators are that set), commit decodes, commit block, commit signatures
 * (more than 2/3 of the set reached). */
void verify_anchor(verify_report *r, const gz_genesis *g, const verify_anchor_bundle *b,
                        const uint8_t *file_sha256);
/* A tx proof: tx decodes, txid, tx chain id, tx signature, header decodes,
 * chain id, height, tree size, leaf index, inclusion proof (into tx_root),
 * the valset links, validators hash, header set, trusted validators, commit
 * decodes, commit block, commit signatures. */
void verify_tx(verify_report *r, const gz_genesis *g, const verify_tx_proof *t);
/* As verify_tx without a walk: against a set already trusted at the tx's
 * height (the audit's, which walked the chain once), ignoring t->valset_chain. */
void verify_tx_with_set(verify_report *r, const gz_genesis *g, const verify_valset *set, const verify_tx_proof *t);
/* The valset links (below the second header's height), then both signed
 * headers (checks prefixed "first " and "second "; the first against the set
 * reached below its height, and against the file's validators only when no
 * link lies between the two heights), then log sizes (the second log is not
 * shorter) and consistency proof. */
void verify_log(verify_report *r, const gz_genesis *g, const verify_log_proof *l);

/* One block of a chain walk, checked whole: the header decodes, is for
 * height on genesis' chain, follows prev_block_id (unless NULL), commits to
 * exactly txids (tx_root and tx_count) and to the set trusted at that height
 * (set->hash), and the commit is for it with more than 2/3 of that set's
 * power. Returns GZ_OK with *h and block_id filled, or GZ_EVERIFY (GZ_ENOMEM)
 * with msg saying why; *h and block_id are zeroed on failure. */
GZ_WUR int verify_block(const gz_genesis *g, const verify_valset *set, uint64_t height, const uint8_t *prev_block_id,
                        const uint8_t *hdr, size_t hdr_len, const uint8_t *commit, size_t commit_len,
                        const uint8_t (*txids)[32], size_t n_txids, gz_header *h, uint8_t block_id[32],
                        gz_msg *msg);

/* ---- proposal audit (SPEC §3 "Proposals") ------------------------------------ */

/* Replays the chain's txs, block by block in order, for one proposal and
 * recomputes its tally. What the node tells (each tx's result code and
 * events) is an input; the replay re-derives from the tx bytes whatever it
 * can and reports each disagreement.
 *
 * With replay_accounts, the walk must start at height 1: the audit keeps
 * every account's level, classes, gov_tokens and nonce (genesis accounts and
 * authorities, then ACCOUNT_SET and GOV_GRANT txs the node executed with code
 * 0), and re-derives each vote's result code (registration, nonce, choices,
 * proposal state, eligibility) and weight. Without it, the walk may start at
 * the proposal's creation: eligibility and nonce refusals and weights under
 * weighting 2 are taken from the node's results (checked for consistency). */
typedef struct verify_audit verify_audit;

/* Returns GZ_OK or GZ_ENOMEM (*out = NULL). g is borrowed and must outlive a. */
GZ_WUR int verify_audit_new(verify_audit **out, const gz_genesis *g, const uint8_t proposal_id[32],
                          bool replay_accounts);
void verify_audit_free(verify_audit *a);
/* Start of a block: closes or expires the proposal when its deadline is due. */
void verify_audit_block(verify_audit *a, uint64_t height, uint64_t time);
/* The next tx of the current block (already checked against its block), with
 * the node's result code and events (a JSON array, borrowed). Appends a
 * "vote" check for each VOTE of the proposal and a "replay" check for each
 * disagreement. Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int verify_audit_tx(verify_audit *a, verify_report *r, const gz_tx *tx, uint32_t index, int code,
                         const json_t *events);
/* True if tx creates, co-signs or votes on the audited proposal. */
bool verify_audit_concerns(const verify_audit *a, const gz_tx *tx);
/* True once the proposal closed or expired: later blocks cannot change it. */
bool verify_audit_done(const verify_audit *a);
/* True once the proposal's creating tx was seen (with code 0). */
bool verify_audit_created(const verify_audit *a);
/* Compares the replay with the node's claim (the `proposal` RPC result):
 * kind, options, opens_at, closes_at, status, winner, tally, turnout and
 * voters, one check each, after a "summary" line. */
void verify_audit_compare(const verify_audit *a, verify_report *r, const json_t *claim);

#endif
