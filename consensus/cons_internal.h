/* Internals shared by the consensus files: per-round vote sets, the height+1
 * buffer, evidence, and the rule engine. Not part of the public contract. */
#ifndef GZ_CONSENSUS_CONS_INTERNAL_H
#define GZ_CONSENSUS_CONS_INTERNAL_H

#include "consensus/cons.h"

/* Index of the slot reserved for cons_on_commit. */
#define CONS_SLOT_COMMIT CONS_ROUND_SLOTS
#define CONS_SLOTS_ALL (CONS_ROUND_SLOTS + 1)

enum { CONS_VALID_UNKNOWN = 0, CONS_VALID_YES = 1, CONS_VALID_NO = 2 };

/* Everything consensus holds about one round of the current height. */
struct cons_round_slot {
    bool used;
    uint64_t round;
    /* prop[0] is the first proposal received for the round. prop[1] holds a
     * different one from the same (equivocating) proposer only when its block
     * has a quorum of prevotes or precommits in this round, since then the
     * lock and decision rules need it. */
    bool has_prop[2];
    cons_proposal prop[2];
    uint8_t prop_valid[2];
    /* votes[(type - 1) * cap + i] is validator i's first vote of the type;
     * votes[(2 + type - 1) * cap + i] a second, conflicting one it also sent
     * (see cons_slot_add_vote). has[] marks which are present. */
    cons_vote *votes;          /* 4 x cap */
    bool *has;
    uint64_t power_any[2];     /* weighted power of first votes per type */
    /* "for the first time" guards of Algorithm 1 lines 34, 36 and 47 */
    bool fired_prevote_timeout;
    bool fired_lock;
    bool fired_precommit_timeout;
};

/* ---- cons_votes.c ---- */

/* Regular slot holding round, or NULL. */
cons_round_slot *cons_slot_find(const cons *c, uint64_t round);
/* Whether the rules may still read round's votes (its slot is never evicted). */
bool cons_round_pinned(const cons *c, uint64_t round);
/* Slot for round: existing, else a free regular one; with evict, a regular
 * slot whose round is not pinned is reused when none is free. NULL if none. */
cons_round_slot *cons_slot_get(cons *c, uint64_t round, bool evict);
void cons_slot_clear(cons *c, cons_round_slot *s);
void cons_slots_reset(cons *c);

/* Power a vote of validator i counts with (doubled under a test fault). */
uint64_t cons_weight(const cons *c, uint32_t i);
/* More than 2/3 of the total power; more than 1/3. */
bool cons_quorum(const cons *c, uint64_t power);
bool cons_third(const cons *c, uint64_t power);
/* Weighted power in s of votes of type for the value (has, id). */
uint64_t cons_power_for(const cons *c, const cons_round_slot *s, uint8_t type, bool has,
                        const uint8_t id[32]);

/* Adds a vote to s. GZ_OK, GZ_EDUP, or for a conflicting vote (evidence
 * recorded) GZ_ECONFLICT if it was kept, GZ_ELIMIT if not. */
int cons_slot_add_vote(cons *c, cons_round_slot *s, const cons_vote *v);
/* Validator i's vote of type in s for the value (has, id), or NULL. */
const cons_vote *cons_slot_vote_for(const cons *c, const cons_round_slot *s, uint8_t type,
                                    uint32_t i, bool has, const uint8_t id[32]);
/* Adds a proposal to s. GZ_OK, GZ_EDUP, or for a second proposal (evidence
 * recorded) GZ_ECONFLICT if it was kept, GZ_ELIMIT if not. */
int cons_slot_add_proposal(cons *c, cons_round_slot *s, const cons_proposal *p);
/* Own vote of type in s, or NULL. */
const cons_vote *cons_slot_own_vote(const cons *c, const cons_round_slot *s, uint8_t type);

/* Remembers that validator i sent a message in round (> the current one). */
void cons_far_note(cons *c, uint32_t i, uint64_t round);
void cons_far_reset(cons *c);
/* Largest round > current with more than 1/3 of the power in far records, or 0. */
uint64_t cons_far_skip_round(const cons *c);

/* Height+1 buffer. */
int cons_future_vote(cons *c, const cons_vote *v);
int cons_future_proposal(cons *c, const cons_proposal *p);
void cons_future_clear(cons *c);

void cons_evidence_votes(cons *c, const cons_vote *a, const cons_vote *b);
void cons_evidence_proposals(cons *c, const cons_proposal *a, const cons_proposal *b);

bool cons_same_value(bool has_a, const uint8_t a[32], bool has_b, const uint8_t b[32]);

#endif
