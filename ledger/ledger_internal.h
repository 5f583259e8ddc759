/* The framework tx handlers are written against.
 *
 * One handler per tx type:
 *
 *     int ledger_tx_<type>(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
 *
 * Contract of a handler:
 *  - It runs after the framework has checked that tx->signer is a registered
 *    account with the right nonce and has already incremented that nonce. The
 *    handler checks everything else: roles (ledger_require_role), payload
 *    arguments, referenced records, limits, state.
 *  - It returns GZ_OK, or a SPEC §6 result as a negative code GZ_EROLE..GZ_EARG
 *    with msg naming the field and the reason: `return gz_fail(msg, GZ_EARG,
 *    "payload.amount: must be > 0");`. On such a failure the framework discards
 *    every state write and event the handler made (a savepoint per tx), keeps
 *    the nonce increment and records the code and message.
 *  - An internal error (GZ_ENOMEM, GZ_ESTORAGE, GZ_ECORRUPT: codes <= -100)
 *    aborts the whole block; ledger_exec_block returns it.
 *  - Determinism: no clock, no RNG, no hash-table iteration order, no floats.
 *    Time is x->time (the block's time), height is x->height.
 *  - Every change of a score, status or balance emits an event
 *    (ledger_event_emit); the balance helpers emit theirs themselves.
 *
 * State is a map of ledger keys (bytes, 1..LEDGER_KEY_MAX) to values (bytes),
 * stored under the store's 'S' prefix. Reads through x see the block's own
 * earlier writes (the overlay) over the committed state. The first byte of a
 * ledger key is its family:
 *
 *   lowercase: base ledger (ledger.c, state.c, …)  uppercase: governance files
 *   'a' account      'o' role membership           'A'..'Z' are reserved for the
 *   'e' block events 'g' DAO quota granted         governance tx types (ISSUER_SET,
 *   'm' metadata     'n' anchor by artifact        CREDIT_ADJUST, RELEASE_ANNOUNCE,
 *   's' split        't' tx result                 PROPOSAL_*, VOTE, REWARD_POOL);
 *   'w' anchors of a work (index)                  suggested in ledger/gov.h.
 *
 * A suggested index for closing proposals by deadline: 'Q' ‖ close_time u64 BE
 * ‖ proposal_id, scanned from the start by the begin-block hook up to the key
 * of x->time, deleting what it closed. Integers inside keys are big-endian so
 * that byte order is numeric order; variable-length ids inside keys are
 * length-prefixed (ledger_key_add_str) so one id is never a prefix of another.
 * Values are canonical MessagePack arrays (core/mp.h) by convention.
 *
 * Reading base records from governance code: accounts through
 * ledger_account_get; whether an artifact is anchored by ledger_state_get of
 * 'n' ‖ artifact (GZ_OK or GZ_ENOTFOUND). */
#ifndef GZ_LEDGER_LEDGER_INTERNAL_H
#define GZ_LEDGER_LEDGER_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/json.h"
#include "core/bytes.h"
#include "core/codec.h"
#include "core/err.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"

/* Ledger keys of the base ledger (first byte). */
enum {
    LK_ACCOUNT = 'a',      /* 'a' ‖ id[32] -> account record */
    LK_BLOCK_EVENTS = 'e', /* 'e' ‖ height u64 -> begin-block events JSON (when any) */
    LK_GRANTED = 'g',      /* 'g' ‖ category u8 -> tokens granted so far, u64 BE */
    LK_META = 'm',         /* 'm' ‖ name -> metadata ("genesis": SHA256 of genesis) */
    LK_ANCHOR = 'n',       /* 'n' ‖ artifact[32] -> anchor record */
    LK_ROLE = 'o',         /* 'o' ‖ role u8 ‖ id[32] -> empty */
    LK_SPLIT = 's',        /* 's' ‖ split_id str -> split record */
    LK_VALSET = 'v',       /* validator sets, jails, evidence (ledger/valset.c) */
    LK_RESULT = 't',       /* 't' ‖ txid[32] -> tx result record */
    LK_WORK = 'w',         /* 'w' ‖ work_id str ‖ leaf_index u64 -> artifact[32] */
};

/* The longest ledger key (ids are at most 64 bytes, so this is generous). */
#define LEDGER_KEY_MAX 256
/* The largest value one state write may hold. */
#define LEDGER_VALUE_MAX (1u << 20)

/* A ledger key being built; caller-owned, no allocation. Builders assert the
 * bound (keys are made by our code from bounded ids). */
typedef struct ledger_key {
    size_t len;
    uint8_t bytes[LEDGER_KEY_MAX];
} ledger_key;

void ledger_key_init(ledger_key *k, uint8_t family);
void ledger_key_add(ledger_key *k, const void *p, size_t n);
/* Appends one length byte and the string's bytes (s at most 255 bytes). */
void ledger_key_add_str(ledger_key *k, const char *s);
void ledger_key_add_u64(ledger_key *k, uint64_t v); /* big-endian */
void ledger_key_add_u8(ledger_key *k, uint8_t v);

/* Big-endian integers in keys and values: gz_put_u64be / gz_get_u64be (core/bytes.h). */

struct ledger_overlay; /* ledger/overlay.h */

/* Execution context of one block. Fields above the line are read-only for
 * handlers; the rest belongs to the framework. */
typedef struct ledger_ctx {
    const gz_genesis *g;   /* genesis: g->policy, g->authorities, … */
    uint64_t height;       /* this block's height */
    uint64_t time;         /* this block's time (ms) */
    uint64_t prev_time;    /* previous block's time (genesis_time before height 1) */
    uint8_t proposer[32];
    const gz_tx *tx;       /* the tx being executed; NULL in the begin-block hook */
    uint32_t tx_index;     /* its index in the block */
    /* ---- framework ---- */
    struct ledger *l;
    struct ledger_overlay *ov;
    struct ledger_block *b;
    json_t *events; /* events of the current tx or of the block's start */
} ledger_ctx;

/* ---- Raw state access (through the overlay) ---- */

/* Reads key into val (replacing its contents). Returns GZ_OK, GZ_ENOTFOUND
 * (val emptied), or an internal error. */
GZ_WUR int ledger_state_get(ledger_ctx *x, const ledger_key *k, gz_buf *val);
/* Writes (or, with _del, removes) key. Returns GZ_OK, GZ_ENOMEM, or GZ_EARG for
 * a value over LEDGER_VALUE_MAX. */
GZ_WUR int ledger_state_put(ledger_ctx *x, const ledger_key *k, const void *val, size_t len);
GZ_WUR int ledger_state_del(ledger_ctx *x, const ledger_key *k);

/* Ordered scan of the state (the block's writes merged over the committed
 * state, deleted keys hidden) over keys starting with prefix, from the first
 * key >= start (NULL: from the prefix's first key). cb returns true to go on;
 * it must not write state (collect, then write after the scan). Cost: the
 * committed keys visited plus the block's written keys of the same family
 * (first byte), sorted once per call; do not scan per tx over a family that
 * every tx writes. Returns GZ_OK (also when cb stopped) or an internal error. */
typedef bool (*ledger_scan_cb)(const uint8_t *key, size_t key_len, const uint8_t *val,
                               size_t val_len, void *data);
GZ_WUR int ledger_state_scan(ledger_ctx *x, const uint8_t *prefix, size_t prefix_len,
                             const uint8_t *start, size_t start_len, ledger_scan_cb cb, void *data);

/* The same over committed state only, for queries (no ledger_ctx there). */
GZ_WUR int ledger_committed_get(ledger *l, const ledger_key *k, gz_buf *val);
GZ_WUR int ledger_committed_scan(ledger *l, const uint8_t *prefix, size_t prefix_len,
                                 const uint8_t *start, size_t start_len, ledger_scan_cb cb,
                                 void *data);

/* ---- Accounts ---- */

typedef struct ledger_account {
    uint8_t id[32];
    uint64_t level;   /* 0..10 */
    uint64_t classes; /* SPEC §3 bit set */
    char label[GZ_LABEL_MAX + 1];
    uint64_t nonce;
    uint64_t balance;    /* fen, <= GZ_AMOUNT_MAX */
    uint64_t gov_tokens; /* <= GZ_AMOUNT_MAX */
} ledger_account;

/* Returns GZ_OK, GZ_ENOTFOUND (*a zeroed) or an internal error. */
GZ_WUR int ledger_account_get(ledger_ctx *x, const uint8_t id[32], ledger_account *a);
GZ_WUR int ledger_account_put(ledger_ctx *x, const ledger_account *a);
GZ_WUR int ledger_account_committed_get(ledger *l, const uint8_t id[32], ledger_account *a);
/* The account as the SPEC §8 `account` JSON object (NULL on ENOMEM). */
json_t *ledger_account_json(const ledger_account *a);

/* GZ_OK if id is a registered account, else GZ_ENOTFOUND with msg
 * "<field>: account not registered" (or an internal error). */
GZ_WUR int ledger_require_account(ledger_ctx *x, const uint8_t id[32], const char *field,
                                  gz_msg *msg);

/* Adds amount to id's balance (the account must exist: GZ_ENOTFOUND) and emits
 * a "balance" event with reason. A balance over GZ_AMOUNT_MAX is GZ_ELIMIT.
 * field names the payload field in messages. */
GZ_WUR int ledger_balance_credit(ledger_ctx *x, const uint8_t id[32], uint64_t amount,
                                 const char *reason, const char *field, gz_msg *msg);
/* Subtracts amount; GZ_ESTATE "<field>: insufficient balance (have N)" if short. */
GZ_WUR int ledger_balance_debit(ledger_ctx *x, const uint8_t id[32], uint64_t amount,
                                const char *reason, const char *field, gz_msg *msg);
/* Adds delta tokens to gov_tokens (GZ_ELIMIT past GZ_AMOUNT_MAX) and emits a
 * "gov_tokens" event. */
GZ_WUR int ledger_gov_tokens_credit(ledger_ctx *x, const uint8_t id[32], uint64_t amount,
                                    const char *reason, const char *field, gz_msg *msg);

/* ---- Roles ---- */

/* True if id holds role (enum gz_role) in genesis authorities. */
bool ledger_has_role(const ledger_ctx *x, int role, const uint8_t id[32]);
/* GZ_OK if the current tx's signer holds role, else GZ_EROLE with msg
 * "signer: not a <role>". */
GZ_WUR int ledger_require_role(const ledger_ctx *x, int role, gz_msg *msg);

/* ---- Events ---- */

/* Appends {"type": type, "attrs": attrs} to the current tx's events (or the
 * block's start events in the begin-block hook). Takes ownership of attrs
 * (a JSON object, e.g. from json_pack); attrs == NULL is GZ_ENOMEM. Events of
 * a failing tx are discarded with its writes. */
GZ_WUR int ledger_event_emit(ledger_ctx *x, const char *type, json_t *attrs);

/* Nesting the compact writer handles itself; deeper trees go to jansson. */
#define LEDGER_JSON_DEPTH_MAX 32
/* v as compact JSON text, exactly json_dumps(v, JSON_COMPACT |
 * JSON_PRESERVE_ORDER) (ledger/json_text.c); malloc'd, NULL on ENOMEM. */
char *ledger_json_text(const json_t *v);

/* ---- Arithmetic ---- */

/* The largest-remainder split of SPEC §3: out[i] = floor(amount·w[i]/W) with
 * W = Σw, then the remainder goes one unit at a time to the entries with the
 * largest fractional part, ties to the lower index. Σout == amount exactly and
 * each out[i] is within one unit of the exact share. Callers order the entries
 * (recipients in split order; reward pools by account id). Returns GZ_OK, or
 * GZ_EARG if n == 0 or W == 0 (out untouched), or GZ_ENOMEM. */
GZ_WUR int ledger_split_amount(uint64_t *out, uint64_t amount, const uint64_t *w, size_t n);

/* ---- Handlers (one per SPEC §3 type) ---- */

/* Base ledger (ledger/tx_*.c of the base). */
GZ_WUR int ledger_tx_account_set(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_split_set(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_revenue(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_transfer(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_withdraw(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_anchor(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_gov_grant(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_validator_update(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_evidence(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);

/* Governance (tx_issuer.c, tx_release.c, tx_proposal.c, tx_reward.c). */
GZ_WUR int ledger_tx_issuer_set(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_credit_adjust(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_release_announce(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_proposal_create(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_proposal_cosign(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_vote(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);
GZ_WUR int ledger_tx_reward_pool(ledger_ctx *x, const gz_tx *tx, gz_msg *msg);

/* Runs at the start of every block before its txs (x->tx == NULL): closes
 * proposals whose time has come, expires cosigning, lifts suspensions. Events
 * go to the block's start events. Returns GZ_OK or an internal error (a
 * result code here would be a bug: nothing can be rejected at block start). */
GZ_WUR int ledger_gov_begin_block(ledger_ctx *x);

#endif
