/* The signed and hashed structures of SPEC §2–§5 and their canonical MessagePack
 * codec. Decoders reject non-canonical bytes, trailing bytes, over-long strings
 * and arrays, and wrong types, with GZ_EENCODING and a message naming the field
 * (e.g. "payload.options[3]: string longer than 64 bytes"). Structures are plain
 * data with fixed-size fields: decoding never allocates, and out-structures are
 * zeroed on failure.
 *
 * Encoders append to a caller-owned gz_buf and return GZ_OK, GZ_ENOMEM, or
 * GZ_EARG when the structure could not be decoded back (a string over its bound
 * or not valid UTF-8 / containing NUL, an array count out of its SPEC range, an
 * unknown tx type, a vote type other than 1 or 2); on failure the buffer is left
 * as it was. Strings in SPEC §3 without an explicit bound (controller_id in
 * CREDIT_ADJUST, issuer_id in RELEASE_ANNOUNCE, split_id in REVENUE) are ids and
 * take the id bound, GZ_ID_MAX. */
#ifndef GZ_CORE_CODEC_H
#define GZ_CORE_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/err.h"
#include "core/limits.h"

enum gz_tx_type {
    GZ_TX_ACCOUNT_SET = 1,
    GZ_TX_ISSUER_SET = 2,
    GZ_TX_CREDIT_ADJUST = 3,
    GZ_TX_RELEASE_ANNOUNCE = 4,
    GZ_TX_PROPOSAL_CREATE = 5,
    GZ_TX_PROPOSAL_COSIGN = 6,
    GZ_TX_VOTE = 7,
    GZ_TX_SPLIT_SET = 8,
    GZ_TX_REVENUE = 9,
    GZ_TX_REWARD_POOL = 10,
    GZ_TX_TRANSFER = 11,
    GZ_TX_WITHDRAW = 12,
    GZ_TX_ANCHOR = 13,
    GZ_TX_GOV_GRANT = 14,
    GZ_TX_VALIDATOR_UPDATE = 15,
    GZ_TX_EVIDENCE = 16,
    GZ_TX_TYPE_MAX = 16
};

/* Lower-case SPEC name of a tx type ("account_set", …), or NULL if unknown. */
const char *core_tx_type_name(uint64_t type);
/* Inverse of core_tx_type_name (also accepts '-' for '_'); 0 if unknown. */
uint64_t core_tx_type_from_name(const char *name);

/* Payloads, one per type, fields in SPEC order. Strings are NUL-terminated
 * (a NUL inside a string is rejected as bad encoding). `has_x` marks "or nil". */
typedef struct gz_p_account_set {
    uint8_t account[32];
    uint64_t level;
    uint64_t classes;
    char label[GZ_LABEL_MAX + 1];
} gz_p_account_set;

typedef struct gz_p_issuer_set {
    char issuer_id[GZ_ID_MAX + 1];
    char controller_id[GZ_ID_MAX + 1];
    uint8_t owner[32];
    char name[GZ_NAME_MAX + 1];
} gz_p_issuer_set;

typedef struct gz_p_credit_adjust {
    char controller_id[GZ_ID_MAX + 1];
    uint64_t component;
    int64_t delta;
    uint64_t reason;
    bool has_evidence;
    uint8_t evidence[32];
    char memo[GZ_TEXT_MAX + 1];
} gz_p_credit_adjust;

typedef struct gz_p_release_announce {
    char release_id[GZ_ID_MAX + 1];
    char issuer_id[GZ_ID_MAX + 1];
    char title[GZ_NAME_MAX + 1];
    uint64_t supply;
    uint64_t price;
    uint64_t release_time;
    bool has_final_anchor;
    uint8_t final_anchor[32];
} gz_p_release_announce;

typedef struct gz_p_proposal_create {
    uint64_t kind;
    char subject[GZ_ID_MAX + 1];
    char title[GZ_TEXT_MAX + 1];
    uint32_t n_options; /* 2..16 */
    char options[GZ_OPTIONS_MAX][GZ_LABEL_MAX + 1];
    uint64_t min_level;
    uint64_t classes_any;
    uint64_t weighting;
    uint64_t voting_ms;
} gz_p_proposal_create;

typedef struct gz_p_proposal_cosign {
    uint8_t proposal_id[32];
} gz_p_proposal_cosign;

typedef struct gz_p_vote {
    uint8_t proposal_id[32];
    uint32_t n_choices; /* 1..16; distinct and ascending is a ledger check (code 12) */
    uint64_t choices[GZ_CHOICES_MAX];
} gz_p_vote;

typedef struct gz_split_recipient {
    uint8_t account[32];
    uint64_t share_ppm;
} gz_split_recipient;

typedef struct gz_p_split_set {
    char split_id[GZ_ID_MAX + 1];
    uint32_t n_recipients; /* 1..64 */
    gz_split_recipient recipients[GZ_RECIPIENTS_MAX];
    bool is_mutable;
} gz_p_split_set;

typedef struct gz_p_revenue {
    char split_id[GZ_ID_MAX + 1];
    uint64_t amount;
    char sale_ref[GZ_NAME_MAX + 1];
} gz_p_revenue;

typedef struct gz_p_reward_pool {
    char pool_id[GZ_ID_MAX + 1];
    uint64_t amount;
    uint32_t n_proposals; /* 1..16 */
    uint8_t proposal_ids[GZ_POOL_PROPOSALS_MAX][32];
} gz_p_reward_pool;

typedef struct gz_p_transfer {
    uint8_t to[32];
    uint64_t amount;
    char memo[GZ_TEXT_MAX + 1];
} gz_p_transfer;

typedef struct gz_p_withdraw {
    uint64_t amount;
    char payout_ref[GZ_NAME_MAX + 1];
} gz_p_withdraw;

typedef struct gz_p_anchor {
    uint8_t artifact[32];
    uint64_t kind;
    char work_id[GZ_ID_MAX + 1];
    bool has_parent;
    uint8_t parent[32];
    char media_type[GZ_LABEL_MAX + 1];
    char note[GZ_TEXT_MAX + 1];
} gz_p_anchor;

typedef struct gz_p_gov_grant {
    uint8_t account[32];
    uint64_t amount;
    uint64_t category;
} gz_p_gov_grant;

/* One approval of a VALIDATOR_UPDATE: [validator_index uint, sig bin64]. */
typedef struct gz_approval {
    uint64_t validator_index;
    uint8_t sig[64];
} gz_approval;

/* VALIDATOR_UPDATE (SPEC §4). Up to 128 approvals would make every decoded tx
 * 9 KB larger, so the approvals stay encoded: `approvals` points at the
 * canonical msgpack array [[index, sig], …] (n_approvals entries, 1..128)
 * inside the bytes given to core_tx_decode, and is valid only as long as they
 * are. Read them with core_approvals_get; build them with
 * core_approvals_encode and point `approvals` at the result before encoding. */
typedef struct gz_p_validator_update {
    uint8_t pub_key[32];
    uint64_t power;
    char name[GZ_LABEL_MAX + 1];
    uint32_t n_approvals;
    const uint8_t *approvals;
    size_t approvals_len;
} gz_p_validator_update;

/* EVIDENCE: two Vote byte strings of one validator and their signatures. */
typedef struct gz_p_evidence {
    uint8_t validator[32];
    uint32_t vote_a_len;
    uint8_t vote_a[GZ_VOTE_BYTES_MAX];
    uint8_t sig_a[64];
    uint32_t vote_b_len;
    uint8_t vote_b[GZ_VOTE_BYTES_MAX];
    uint8_t sig_b[64];
} gz_p_evidence;

/* A decoded transaction: Tx = [body bin, sig bin(64)],
 * Body = [1, chain_id, type, signer, nonce, payload]. */
typedef struct gz_tx {
    uint8_t txid[32]; /* TH("gongzhi/tx", body) */
    uint8_t sig[64];
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    uint64_t type;
    uint8_t signer[32];
    uint64_t nonce;
    union {
        gz_p_account_set account_set;
        gz_p_issuer_set issuer_set;
        gz_p_credit_adjust credit_adjust;
        gz_p_release_announce release_announce;
        gz_p_proposal_create proposal_create;
        gz_p_proposal_cosign proposal_cosign;
        gz_p_vote vote;
        gz_p_split_set split_set;
        gz_p_revenue revenue;
        gz_p_reward_pool reward_pool;
        gz_p_transfer transfer;
        gz_p_withdraw withdraw;
        gz_p_anchor anchor;
        gz_p_gov_grant gov_grant;
        gz_p_validator_update validator_update;
        gz_p_evidence evidence;
    } p;
} gz_tx;

/* Decodes Tx bytes (at most GZ_TX_BYTES_MAX, else GZ_ELIMIT) and computes txid.
 * Does not check the signature or the chain id. An unknown type is GZ_EARG; a
 * Body version other than 1 is GZ_EENCODING.
 * Returns GZ_OK or the error with msg naming the field; *tx zeroed on failure. */
GZ_WUR int core_tx_decode(gz_tx *tx, const uint8_t *bytes, size_t len, gz_msg *msg);

/* Appends the Body of tx ([1, chain_id, type, signer, nonce, payload]) to out. */
GZ_WUR int core_tx_body_encode(const gz_tx *tx, gz_buf *out);
/* Appends Tx = [body, tx->sig] to out and sets tx->txid from the body.
 * GZ_ELIMIT if the Tx would exceed GZ_TX_BYTES_MAX. */
GZ_WUR int core_tx_encode(gz_tx *tx, gz_buf *out);
/* Sets tx->txid = TH("gongzhi/tx", Body) from the struct, without signing.
 * Returns GZ_OK or an encoding error (tx->txid unchanged). */
GZ_WUR int core_tx_set_txid(gz_tx *tx);
/* The txid of Tx bytes (the tagged hash of its Body element) without decoding
 * the payload. Returns GZ_OK or GZ_EENCODING (out zeroed). */
GZ_WUR int core_tx_id_from_bytes(uint8_t out[32], const uint8_t *bytes, size_t len);

/* Computes tx->txid from the body, signs it with seckey (tx->signer must be its
 * public key, else GZ_EARG), sets tx->sig and appends the Tx bytes to out.
 * Signatures are deterministic (BIP-340 with all-zero aux_rand).
 * GZ_ELIMIT if the Tx would exceed GZ_TX_BYTES_MAX. */
GZ_WUR int core_tx_sign_encode(gz_tx *tx, const uint8_t seckey[32], gz_buf *out);

/* The stateless checks of SPEC §2 after decoding: chain id equals chain_id
 * (GZ_ECHAIN) and the signature is valid for txid and signer (GZ_ESIG). */
GZ_WUR int core_tx_check(const gz_tx *tx, const char *chain_id, gz_msg *msg);

/* Header (SPEC §4). The leading version 2 is implied: decoding any other is
 * GZ_EENCODING ("header.version: must be 2"). */
typedef struct gz_header {
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    uint64_t height;
    uint64_t time;
    uint8_t prev_block_id[32];
    uint8_t tx_root[32];
    uint64_t tx_count;
    uint8_t state_root[32];
    uint8_t log_root[32];
    uint64_t log_size;
    uint8_t validators_hash[32];      /* the set that signs this height */
    uint8_t proposer[32];
    uint8_t next_validators_hash[32]; /* the set after this block's txs */
} gz_header;

GZ_WUR int core_header_encode(const gz_header *h, gz_buf *out);
GZ_WUR int core_header_decode(gz_header *h, const uint8_t *bytes, size_t len, gz_msg *msg);
/* block_id = TH("gongzhi/block", header bytes). */
void core_block_id(uint8_t out[32], const uint8_t *header_bytes, size_t len);

enum { GZ_VOTE_PREVOTE = 1, GZ_VOTE_PRECOMMIT = 2 };

typedef struct gz_vote {
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    uint64_t type; /* 1 prevote, 2 precommit */
    uint64_t height;
    uint64_t round;
    bool has_block_id; /* false = nil vote */
    uint8_t block_id[32];
    uint64_t time;
} gz_vote;

GZ_WUR int core_vote_encode(const gz_vote *v, gz_buf *out);
/* Also rejects a type other than 1 or 2 (GZ_EENCODING). */
GZ_WUR int core_vote_decode(gz_vote *v, const uint8_t *bytes, size_t len, gz_msg *msg);
/* The 32 bytes a validator signs: TH("gongzhi/vote", Vote bytes). */
GZ_WUR int core_vote_sighash(uint8_t out[32], const gz_vote *v);

typedef struct gz_proposal {
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    uint64_t height;
    uint64_t round;
    int64_t pol_round; /* -1 = none */
    uint8_t block_id[32];
} gz_proposal;

GZ_WUR int core_proposal_encode(const gz_proposal *p, gz_buf *out);
/* pol_round: -1 is the int encoding 0xff; values >= 0 are uints; below -1 is
 * GZ_EENCODING. */
GZ_WUR int core_proposal_decode(gz_proposal *p, const uint8_t *bytes, size_t len, gz_msg *msg);
/* TH("gongzhi/proposal", Proposal bytes). */
GZ_WUR int core_proposal_sighash(uint8_t out[32], const gz_proposal *p);

typedef struct gz_commit_sig {
    uint64_t validator_index;
    uint64_t time;
    uint8_t sig[64];
} gz_commit_sig;

typedef struct gz_commit {
    uint64_t height;
    uint64_t round;
    uint8_t block_id[32];
    uint32_t n_sigs; /* at most GZ_VALIDATORS_MAX */
    gz_commit_sig sigs[GZ_VALIDATORS_MAX];
} gz_commit;

GZ_WUR int core_commit_encode(const gz_commit *c, gz_buf *out);
GZ_WUR int core_commit_decode(gz_commit *c, const uint8_t *bytes, size_t len, gz_msg *msg);

typedef struct gz_validator {
    char name[GZ_LABEL_MAX + 1];
    uint8_t pub_key[32];
    uint64_t power;
} gz_validator;

/* validators_hash = SHA256(canonical array of [pub_key bin32, power uint]). */
GZ_WUR int core_validators_hash(uint8_t out[32], const gz_validator *vals, size_t n);

/* Checks a commit (SPEC §4): c->height == height, c->block_id == block_id, sig
 * validator indexes in range and strictly ascending (hence distinct), every
 * signature valid over TH("gongzhi/vote", Vote(chain_id, 2, height, round,
 * block_id, time)), and signed power * 3 > total power * 2. GZ_OK or GZ_EVERIFY
 * (msg names the failing "commit.sigs[i]" or says the power is short); GZ_EARG
 * if chain_id is longer than GZ_CHAIN_ID_MAX. */
GZ_WUR int core_commit_verify(const gz_commit *c, const char *chain_id, const uint8_t block_id[32],
                              uint64_t height, const gz_validator *vals, size_t n, gz_msg *msg);

typedef struct gz_anchor_leaf {
    uint8_t artifact[32];
    uint64_t kind;
    char work_id[GZ_ID_MAX + 1];
    bool has_parent;
    uint8_t parent[32];
    uint8_t signer[32];
    uint8_t txid[32];
    uint64_t height;
    uint64_t time;
} gz_anchor_leaf;

GZ_WUR int core_anchor_leaf_encode(const gz_anchor_leaf *l, gz_buf *out);
GZ_WUR int core_anchor_leaf_decode(gz_anchor_leaf *l, const uint8_t *bytes, size_t len, gz_msg *msg);

/* Appends the canonical approvals array [[index, sig], …] of a[0..n) to out
 * (n 1..GZ_VALIDATORS_MAX, else GZ_EARG). */
GZ_WUR int core_approvals_encode(const gz_approval *a, size_t n, gz_buf *out);
/* Approval i (< p->n_approvals) of a decoded or built VALIDATOR_UPDATE.
 * GZ_OK, GZ_EARG for i out of range, GZ_EENCODING if p->approvals is not what
 * core_approvals_encode writes. */
GZ_WUR int core_approvals_get(const gz_p_validator_update *p, uint32_t i, gz_approval *out);
/* What an approval signs (SPEC §4): TH("gongzhi/valset", chain_id ‖
 * validators_hash ‖ pub_key ‖ u64be(power) ‖ name), chain_id and name raw
 * UTF-8. GZ_OK, or GZ_EARG for a chain_id or name over its bound. */
GZ_WUR int core_valset_approval_hash(uint8_t out[32], const char *chain_id, const uint8_t validators_hash[32],
                                     const uint8_t pub_key[32], uint64_t power, const char *name);

/* Encodes the payload alone (the union member selected by tx->type). */
GZ_WUR int core_payload_encode(const gz_tx *tx, gz_buf *out);

#endif
