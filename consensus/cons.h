/* The Tendermint consensus algorithm (SPEC §4; Algorithm 1 of Buchman, Kwon,
 * Milosevic, "The latest gossip on BFT consensus", 2018) as a pure state machine.
 *
 * Purity: no clock, no RNG, no I/O, no allocation after cons_init. Time arrives
 * as now_ms; everything the algorithm does to the world goes through the
 * cons_callbacks table that the node fills in. Given the same inputs in the same
 * order and the same callback answers, it makes the same calls.
 *
 * Values are 32-byte block ids. The node owns blocks; consensus only sees ids and
 * asks the node to build (propose) and check (valid) them. Signatures are opaque:
 * the node verifies every incoming proposal and vote before passing it in, and
 * signs outgoing ones in sign_vote / sign_proposal. Consensus keeps the signed
 * votes so that decide() can hand the node the precommits for its Commit.
 *
 * Quorums are by voting power: "2f+1" means more than 2/3 of the total power,
 * "f+1" more than 1/3.
 *
 * Re-entrancy: callbacks must not call any cons_* function on the same cons
 * (asserted). In particular the node answers decide() by executing the block
 * and then, from its own loop, calling cons_start_height(height + 1).
 *
 * Restart: the node records every input it fed in (proposals, votes, fired
 * timeouts) and every proposal and vote it signed in its write-ahead log. After
 * a restart it calls cons_init, cons_start_height(h) for the first uncommitted
 * height and re-feeds the logged inputs in their original order, own signed
 * messages included. That reproduces the locks (lockedValue/lockedRound,
 * validValue/validRound). While replaying, consensus may ask to sign what it
 * signed before; the node's sign callbacks refuse anything at or before its
 * persisted last-signed (height, round, step) unless it is the same message,
 * and consensus re-sends its own vote when it already holds one for the step
 * instead of signing a second. */
#ifndef GZ_CONSENSUS_CONS_H
#define GZ_CONSENSUS_CONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h"

/* Rounds of one height for which full vote sets are kept: the current round,
 * the next, the locked and valid rounds, and recent or early-arriving ones. */
#define CONS_ROUND_SLOTS 8
/* Far-future rounds remembered per validator for the f+1 round-skip rule; per
 * validator, so a faulty one cannot push out the rounds of honest ones. */
#define CONS_FAR_ROUNDS 2
/* Messages for height+1 are buffered for rounds 0..CONS_FUTURE_ROUNDS-1 only. */
#define CONS_FUTURE_ROUNDS 2
/* Equivocation evidence kept (a ring; the counter keeps counting). */
#define CONS_EVIDENCE_MAX 16
/* Length of the proposer rotation: weights are scaled down to fit. */
#define CONS_PROPOSER_SEQ_MAX 4096
/* Rounds beyond this are malformed: keeps round arithmetic far from overflow. */
#define CONS_ROUND_MAX (1ull << 31)
/* Total voting power bound (core/limits.h says why). */
#define CONS_TOTAL_POWER_MAX GZ_TOTAL_POWER_MAX

enum cons_vote_type { CONS_PREVOTE = 1, CONS_PRECOMMIT = 2 };

/* Steps of a height. NEW_HEIGHT is the wait before round 0 (empty-block rule);
 * COMMIT means decided, waiting for the node's cons_start_height. The same
 * values name timeouts: NEW_HEIGHT is the empty-block timeout. */
enum cons_step {
    CONS_STEP_NEW_HEIGHT = 0,
    CONS_STEP_PROPOSE = 1,
    CONS_STEP_PREVOTE = 2,
    CONS_STEP_PRECOMMIT = 3,
    CONS_STEP_COMMIT = 4
};

typedef struct cons_vote {
    uint8_t type;          /* CONS_PREVOTE or CONS_PRECOMMIT */
    uint64_t height;
    uint64_t round;
    bool has_block_id;     /* false = a vote for nil */
    uint8_t block_id[32];  /* all zero when has_block_id is false */
    uint32_t validator;    /* index in the validator set of this height */
    uint64_t time;         /* filled by sign_vote */
    uint8_t sig[64];       /* filled by sign_vote; opaque here */
} cons_vote;

typedef struct cons_proposal {
    uint64_t height;
    uint64_t round;
    int64_t pol_round;     /* -1, or the round (< round) of the POL for block_id */
    uint8_t block_id[32];
    uint32_t proposer;     /* must be cons_proposer(height, round) */
    uint8_t sig[64];       /* filled by sign_proposal; opaque here */
} cons_proposal;

typedef struct cons_callbacks {
    /* Builds a block for (height, round) and writes its id. false = cannot;
     * then nothing is proposed and the round times out. */
    bool (*propose)(void *ctx, uint64_t height, uint64_t round, uint8_t out_block_id[32]);
    /* valid(v) of Algorithm 1: checks and executes the block. Only called for
     * ids the node built in propose or passed in with cons_on_proposal. */
    bool (*valid)(void *ctx, uint64_t height, uint64_t round, const uint8_t block_id[32]);
    /* Fills v->time and v->sig after persisting the last-signed state.
     * false = refused: the vote is neither sent nor counted. */
    bool (*sign_vote)(void *ctx, cons_vote *v);
    /* Fills p->sig likewise. false = refused: nothing is proposed. */
    bool (*sign_proposal)(void *ctx, cons_proposal *p);
    /* Sends to all peers. Consensus has already counted its own message. */
    void (*broadcast_vote)(void *ctx, const cons_vote *v);
    void (*broadcast_proposal)(void *ctx, const cons_proposal *p);
    /* Arms a timer; when it fires the node calls cons_on_timeout with the same
     * height, round and step. Timers are never cancelled: stale ones are ignored. */
    void (*schedule_timeout)(void *ctx, uint64_t height, uint64_t round, uint8_t step,
                             uint64_t delay_ms);
    /* The height is decided: block_id in round, with proposal the proposal
     * that carried it and precommits[0..n) the precommits for it (more than
     * 2/3 of the power, ascending validator order) for the Commit. Pointers
     * are valid only during the call. */
    void (*decide)(void *ctx, uint64_t height, uint64_t round, const uint8_t block_id[32],
                   const cons_proposal *proposal, const cons_vote *precommits, size_t n);
    void *ctx;
} cons_callbacks;

/* Deliberate rule violations, for proving that the simulator catches them.
 * Never set outside tests. */
enum cons_test_fault {
    CONS_FAULT_IGNORE_LOCK = 1u << 0,  /* prevote any valid proposal, locked or not */
    CONS_FAULT_DOUBLE_COUNT = 1u << 1  /* count every vote's power twice */
};

typedef struct cons_config {
    const uint64_t *powers;    /* voting power per validator (each >= 1), genesis order */
    size_t n_validators;       /* 1..GZ_VALIDATORS_MAX */
    size_t validators_cap;     /* largest set cons_set_validators may install; 0 = n */
    int32_t my_index;          /* this node's index, or -1 for a full node that never signs */
    uint64_t timeout_propose_ms;
    uint64_t timeout_vote_ms;  /* prevote and precommit timeouts */
    uint64_t timeout_delta_ms; /* added per round to all three */
    uint64_t empty_block_ms;   /* NEW_HEIGHT wait with no txs available */
    uint32_t test_faults;      /* enum cons_test_fault bits; 0 in production */
} cons_config;

typedef struct cons_round_slot cons_round_slot; /* internal */

typedef struct cons_evidence {
    uint8_t kind;              /* 1 = two votes, 2 = two proposals */
    cons_vote vote_a, vote_b;  /* kind 1: same (height, round, type, validator) */
    cons_proposal prop_a, prop_b; /* kind 2: same (height, round), different content */
} cons_evidence;

/* The state machine. Caller-owned; every field is private: use the functions. */
typedef struct cons {
    cons_callbacks cb;
    uint64_t timeout_propose_ms, timeout_vote_ms, timeout_delta_ms, empty_block_ms;
    uint32_t test_faults;
    /* validator set */
    size_t cap;
    size_t n;
    int32_t me;
    uint64_t *power;
    uint64_t total_power;
    uint16_t *seq;             /* proposer rotation, seq_len entries */
    size_t seq_len;
    /* Algorithm 1 state */
    bool started;
    uint64_t height;
    uint64_t round;
    uint8_t step;
    int64_t locked_round;
    uint8_t locked_value[32];
    int64_t valid_round;
    uint8_t valid_value[32];
    uint64_t round_start_ms;
    /* vote sets: CONS_ROUND_SLOTS regular slots plus one for cons_on_commit */
    cons_round_slot *slots;
    uint64_t *far;             /* n x CONS_FAR_ROUNDS rounds > current; 0 = empty */
    bool far_dirty;            /* far changed since the skip rule last looked */
    /* buffered messages for height + 1 */
    uint64_t fut_height;
    cons_vote *fut_votes;      /* [round][type][validator] */
    bool *fut_has;
    cons_proposal *fut_props;  /* [round] */
    bool *fut_has_prop;
    /* evidence of equivocation */
    uint64_t evidence_total;
    cons_evidence evidence[CONS_EVIDENCE_MAX];
    /* scratch for decide */
    cons_vote *scratch;
    int in_call;
} cons;

/* Observable state, for status output and logs. */
typedef struct cons_state {
    bool started;
    uint64_t height;
    uint64_t round;
    uint8_t step;              /* enum cons_step */
    int64_t locked_round;      /* -1 = not locked */
    int64_t valid_round;       /* -1 = none */
    bool has_locked_value;
    uint8_t locked_value[32];
    bool has_valid_value;
    uint8_t valid_value[32];
    uint64_t round_start_ms;   /* now_ms when the current round (or wait) began */
} cons_state;

/* Sets up c for cfg's validator set (copied) with callbacks cb (copied).
 * Returns GZ_OK; GZ_EARG if a power is 0, the total exceeds
 * CONS_TOTAL_POWER_MAX, n is 0 or above GZ_VALIDATORS_MAX, or my_index is out
 * of range; GZ_EMISUSE if cfg or a callback is NULL; GZ_ENOMEM. On failure c
 * needs no cons_free. */
GZ_WUR int cons_init(cons *c, const cons_config *cfg, const cons_callbacks *cb);
/* Releases what cons_init allocated (c may be all-zero). */
void cons_free(cons *c);

/* Installs another validator set for the next cons_start_height (index order
 * of that height). Between heights: before the first start, after a
 * decision, or when the node committed the height in progress from a peer's
 * commit, which ends it here (it takes no more input). Returns GZ_OK or
 * GZ_EARG (bad set, n above the init capacity); nothing changes on failure.
 * Buffered height+1 messages are dropped. */
GZ_WUR int cons_set_validators(cons *c, const uint64_t *powers, size_t n, int32_t my_index);

/* Enters NewHeight for height (> the current one, or any >= 1 at first).
 * With txs_available round 0 starts now; otherwise consensus waits until
 * cons_txs_available, the empty-block timeout (empty_block_ms), or the first
 * proposal or vote of this height, whichever is first. Buffered messages for
 * this height are then replayed. Returns GZ_OK, or GZ_EMISUSE for height 0 or
 * a height not above the current one. */
GZ_WUR int cons_start_height(cons *c, uint64_t height, uint64_t now_ms, bool txs_available);

/* The node has transactions: ends the NewHeight wait (no-op otherwise). */
void cons_txs_available(cons *c, uint64_t now_ms);

/* Results of cons_on_proposal / cons_on_vote, so the node knows what to relay
 * (relay GZ_OK and GZ_ECONFLICT) and what to keep in its log:
 * GZ_OK        accepted (counted, or buffered for height+1);
 * GZ_ECONFLICT equivocation: recorded as evidence and kept. A validator's
 *              conflicting vote counts for its own value only, never twice
 *              for one value and never in the "any value" tallies; a second
 *              proposal is kept once the round's votes single its block out;
 * GZ_EDUP      already held, nothing changed;
 * GZ_ESTATE    not useful now (older height, height decided);
 * GZ_ELIMIT    dropped by a bound (too far ahead, no room for its round, an
 *              equivocation beyond the one conflicting message kept; evidence
 *              is still recorded);
 * GZ_EARG      malformed (validator index, type, proposer, pol_round, round,
 *              a nil vote whose block_id is not all zero);
 * GZ_EMISUSE   a NULL message.
 *
 * Buffered height+1 messages are replayed by cons_start_height in this
 * order: proposals by round, then votes by round, type (prevotes first) and
 * validator. A node that logs inputs should log them in that order at the
 * start of the new height's log. */

/* A proposal whose signature the node checked and whose full block it holds. */
GZ_WUR int cons_on_proposal(cons *c, const cons_proposal *p, uint64_t now_ms);
/* A vote whose signature the node checked. */
GZ_WUR int cons_on_vote(cons *c, const cons_vote *v, uint64_t now_ms);
/* Catch-up: a proposal and more than 2/3 of precommits for its block in its
 * round, as in a peer's Commit. Applies them like separate messages, but uses
 * a reserved slot so a round that is no longer kept can still be decided.
 * Returns GZ_OK if the height got decided, GZ_ESTATE if it was already
 * decided or older, GZ_EARG for malformed input, GZ_EMISUSE for a NULL
 * proposal or precommit array, GZ_EVERIFY if the precommits do not make a
 * quorum for the proposal. */
GZ_WUR int cons_on_commit(cons *c, const cons_proposal *p, const cons_vote *precommits, size_t n,
                          uint64_t now_ms);
/* A timer armed by schedule_timeout fired. Returns GZ_OK if it acted, GZ_ESTATE
 * if it was stale, GZ_ELIMIT if the round would pass CONS_ROUND_MAX, GZ_EARG
 * for an unknown step (a timer read back from a log names one). */
int cons_on_timeout(cons *c, uint64_t height, uint64_t round, uint8_t step, uint64_t now_ms);

/* proposer(height, round): index of the proposer (weighted rotation). */
uint32_t cons_proposer(const cons *c, uint64_t height, uint64_t round);
/* Fills out with the current state. */
void cons_state_get(const cons *c, cons_state *out);
/* Timeout durations of Algorithm 1 for round (saturating). */
uint64_t cons_timeout_ms(const cons *c, uint8_t step, uint64_t round);

/* Equivocations seen since init. */
uint64_t cons_evidence_count(const cons *c);
/* The i-th most recent evidence (i < min(count, CONS_EVIDENCE_MAX)).
 * Returns GZ_OK, or GZ_ENOTFOUND (out zeroed). */
GZ_WUR int cons_evidence_get(const cons *c, size_t i, cons_evidence *out);

/* Name of a step ("propose", ...), for logs. */
const char *cons_step_name(uint8_t step);

#endif
