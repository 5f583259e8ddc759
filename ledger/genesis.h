/* genesis.json (SPEC §7): parsing, validation and writing.
 *
 * The parser is strict: every key shown in SPEC §7 is required (only `accounts`
 * may be absent, meaning none), unknown keys are errors, and every error message
 * names the JSON path of the offending field, e.g.
 * "policy.votes.cosigners_required: expected a non-negative integer" or
 * "validators[2].pub_key: expected 64 hex chars". docs/ledger.md lists the keys,
 * their ranges, and the JSON keys of the composite credit model. */
#ifndef GZ_LEDGER_GENESIS_H
#define GZ_LEDGER_GENESIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/codec.h"
#include "core/err.h"
#include "core/limits.h"

/* Roles of genesis `authorities`, in the order of the JSON keys. */
enum gz_role {
    GZ_ROLE_REGISTRAR = 0,
    GZ_ROLE_CREDIT_OFFICER = 1,
    GZ_ROLE_TREASURER = 2,
    GZ_ROLE_GOVERNOR = 3,
    GZ_ROLE_COUNT = 4
};

/* The JSON name of a role ("registrar", …), or NULL for an unknown role. */
const char *ledger_role_name(int role);

/* Platform levels are LV0..LV10 (SPEC §3). */
#define GZ_LEVEL_MAX 10
/* Amounts, balances and quotas stay at or below this so that every one of them
 * is a JSON integer (jansson's json_int_t is a signed 64-bit integer). */
#define GZ_AMOUNT_MAX ((uint64_t)INT64_MAX)
/* Credit deltas and policy deltas are bounded so sums of a few never overflow. */
#define GZ_CREDIT_DELTA_MAX 1000000
/* Credit reason numbers in policy.credit.reasons. */
#define GZ_CREDIT_REASON_MAX 65535
/* Composite components 1 quality, 2 satisfaction, 3 compliance, each 0..100. */
#define GZ_CREDIT_COMPONENTS 3
#define GZ_CREDIT_COMPONENT_MAX 100
/* DAO quota categories 1..7 (SPEC §3). */
#define GZ_DAO_CATEGORIES 7
#define GZ_PPM 1000000u

typedef struct gz_genesis_account {
    uint8_t account[32];
    uint64_t level;   /* 0..10 */
    uint64_t classes; /* bit set (SPEC §3) */
    char label[GZ_LABEL_MAX + 1];
} gz_genesis_account;

typedef struct gz_consensus_params {
    uint64_t block_max_txs;   /* 1..GZ_BLOCK_TXS_MAX */
    uint64_t block_max_bytes; /* GZ_TX_BYTES_MAX..GZ_BLOCK_BYTES_MAX */
    uint64_t timeout_propose_ms;
    uint64_t timeout_vote_ms;
    uint64_t timeout_delta_ms;
    uint64_t empty_block_ms;
    uint64_t max_clock_drift_ms;
    uint64_t evidence_max_age; /* optional, default GZ_EVIDENCE_MAX_AGE_DEFAULT; >= 1 */
} gz_consensus_params;

/* consensus.evidence_max_age when genesis leaves it out (SPEC §4). */
#define GZ_EVIDENCE_MAX_AGE_DEFAULT 100000u

enum gz_credit_model { GZ_CREDIT_POINTS = 1, GZ_CREDIT_COMPOSITE = 2 };

/* policy.credit.reasons: "<reason>": [min_delta, max_delta]. */
typedef struct gz_credit_reason {
    uint64_t reason; /* 1..GZ_CREDIT_REASON_MAX */
    int64_t min_delta;
    int64_t max_delta; /* min_delta <= max_delta */
} gz_credit_reason;

typedef struct gz_credit_policy {
    int model; /* enum gz_credit_model */
    /* Points model: one counter clamped to [0, max]; suspended at suspend_at or below. */
    int64_t initial;
    int64_t max;
    int64_t suspend_at;
    /* Composite model; index i is component i+1. weights sum to 1,000,000. */
    uint64_t weights_ppm[GZ_CREDIT_COMPONENTS];
    uint64_t initial_components[GZ_CREDIT_COMPONENTS];
    uint64_t watch_below;   /* suspend_below <= watch_below <= pioneer_at <= whitelist_at <= 100 */
    uint64_t suspend_below;
    uint64_t suspend_ms;
    uint64_t pioneer_at;
    uint64_t whitelist_at;
    /* Both models; sorted by reason, distinct. */
    uint32_t n_reasons;
    gz_credit_reason reasons[GZ_CREDIT_REASONS_MAX];
} gz_credit_policy;

typedef struct gz_vote_policy {
    uint64_t cosigners_required; /* >= 1 */
    uint64_t cosigner_classes;
    uint64_t cosign_window_ms;
    uint64_t voter_min_level;    /* 0..10 */
    uint64_t voter_classes;
    uint64_t reviewer_min_level; /* 0..10 */
    uint64_t pre_review_ms;
    uint64_t pre_review_close_ms; /* <= pre_review_ms */
    uint64_t pre_review_reject_ppm; /* 0..1,000,000 */
    uint64_t distrust_quorum;
    int64_t distrust_delta; /* |delta| <= GZ_CREDIT_DELTA_MAX */
    int64_t trust_delta;
} gz_vote_policy;

typedef struct gz_dao_policy {
    uint64_t total;                          /* <= GZ_AMOUNT_MAX */
    uint64_t caps_ppm[GZ_DAO_CATEGORIES + 1]; /* index = category 1..7; [0] unused, 0 */
} gz_dao_policy;

typedef struct gz_policy {
    gz_credit_policy credit;
    gz_vote_policy votes;
    gz_dao_policy dao;
} gz_policy;

/* A parsed genesis. Plain data except `accounts`, which the struct owns:
 * release with ledger_genesis_free(). */
typedef struct gz_genesis {
    char chain_id[GZ_CHAIN_ID_MAX + 1]; /* 1..64 bytes */
    uint64_t genesis_time;
    uint32_t n_validators; /* 1..GZ_VALIDATORS_MAX, distinct pub keys, power > 0 */
    gz_validator validators[GZ_VALIDATORS_MAX];
    uint32_t n_authorities[GZ_ROLE_COUNT];
    uint8_t authorities[GZ_ROLE_COUNT][GZ_AUTHORITIES_MAX][32];
    size_t n_accounts; /* distinct accounts */
    size_t cap_accounts;
    gz_genesis_account *accounts;
    gz_consensus_params consensus;
    gz_policy policy;
} gz_genesis;

/* Fills g with SPEC §7's chain id, genesis time, consensus parameters and
 * policy (the values of the repository's genesis.json), and no validators,
 * authorities or accounts. devnet fills those in and checks the result. */
void ledger_genesis_default(gz_genesis *g);

/* Frees what g owns and zeroes it (g itself is the caller's). */
void ledger_genesis_free(gz_genesis *g);

/* Appends an account (copied). Returns GZ_OK, GZ_ENOMEM, or GZ_ELIMIT past
 * GZ_GENESIS_ACCOUNTS_MAX. Duplicates are found by ledger_genesis_check. */
GZ_WUR int ledger_genesis_add_account(gz_genesis *g, const gz_genesis_account *a);

/* Parses and validates genesis JSON text of len bytes (at most
 * GZ_GENESIS_BYTES_MAX). Returns GZ_OK, GZ_EARG with msg naming the JSON path
 * and the reason, or GZ_ENOMEM; g is zeroed (owning nothing) on failure. */
GZ_WUR int ledger_genesis_parse(gz_genesis *g, const char *json, size_t len, gz_msg *msg);

/* Reads and parses the file at path. GZ_EIO if it cannot be read. */
GZ_WUR int ledger_genesis_load(gz_genesis *g, const char *path, gz_msg *msg);

/* Validates a filled struct with the parser's rules (ranges, duplicates, sums).
 * Returns GZ_OK or GZ_EARG with msg naming the JSON path. */
GZ_WUR int ledger_genesis_check(const gz_genesis *g, gz_msg *msg);

/* Writes g as JSON text (indented, keys in SPEC §7 order) into a malloc'd
 * NUL-terminated string *out that the caller frees. Parsing the text gives g
 * back. Returns GZ_OK or GZ_ENOMEM (*out = NULL). */
GZ_WUR int ledger_genesis_write(const gz_genesis *g, char **out);

/* out = SHA256 of g's canonical JSON (compact, keys sorted): what the genesis
 * state commits to. Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int ledger_genesis_hash(const gz_genesis *g, uint8_t out[32]);

/* True if id is listed in authorities[role]. */
bool ledger_genesis_has_role(const gz_genesis *g, int role, const uint8_t id[32]);

#endif
