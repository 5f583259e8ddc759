/* Governance state shared by the governance handlers (tx_issuer.c,
 * tx_release.c, tx_proposal.c, tx_reward.c), the block-start hook and the
 * governance queries: key layout, records and their codecs, the credit models
 * and proposal outcomes. docs/ledger.md ("Governance") describes the rules.
 *
 * Keys (first byte = family; ids are length-prefixed, integers big-endian):
 *
 *   'B' ‖ str(controller) ‖ closes_at u64 ‖ proposal_id -> [mark]   board marks
 *   'C' ‖ str(controller)                 -> controller record
 *   'I' ‖ str(issuer)                     -> issuer record
 *   'J' ‖ str(controller) ‖ str(issuer)   -> [1]          issuers of a controller
 *   'K' ‖ proposal_id ‖ account           -> [1]          co-signers
 *   'P' ‖ proposal_id                     -> proposal record
 *   'Q' ‖ closes_at u64 ‖ proposal_id     -> [1]          open proposals by deadline
 *   'R' ‖ str(release)                    -> release record
 *   'T' ‖ status u8 ‖ proposal_id         -> [kind]       proposals by status
 *   'U' ‖ until u64 ‖ str(controller)     -> [1]          suspensions by end time
 *   'V' ‖ proposal_id ‖ voter             -> vote record (the latest vote)
 *   'W' ‖ str(pool)                       -> reward pool record
 *   'X' ‖ expires_at u64 ‖ proposal_id    -> [1]          cosigning proposals by deadline
 *   'Y' ‖ kind u8 ‖ proposal_id           -> [1]          proposals by kind
 *
 * The block-start hook reads 'Q', 'X' and 'U' from their first key up to the
 * block's time only, so its cost is what is due, never the number of
 * proposals or controllers. */
#ifndef GZ_LEDGER_GOV_H
#define GZ_LEDGER_GOV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/ledger_internal.h"

enum {
    GK_BOARD = 'B',
    GK_CONTROLLER = 'C',
    GK_ISSUER = 'I',
    GK_CTL_ISSUER = 'J',
    GK_COSIGNER = 'K',
    GK_PROPOSAL = 'P',
    GK_CLOSE = 'Q',
    GK_RELEASE = 'R',
    GK_STATUS = 'T',
    GK_LIFT = 'U',
    GK_VOTE = 'V',
    GK_POOL = 'W',
    GK_EXPIRE = 'X',
    GK_KIND = 'Y',
};

/* Credit reason 8, "community vote": used by passed DISTRUST/TRUST proposals,
 * which bypass the reason bounds; CREDIT_ADJUST may not use it. */
#define GOV_REASON_VOTE 8
/* The longest voting period a proposal may ask for (ten years): keeps every
 * deadline far below UINT64_MAX and proposals from staying open forever. */
#define GOV_VOTING_MS_MAX (3650ull * 86400000ull)
/* A `proposals` query visits at most this many index entries per page; when
 * it stops early the page's `next` cursor lets the caller go on. */
#define GOV_QUERY_VISIT_MAX 10000u
/* Proposals the block-start hook closes per pass over its index (it repeats
 * passes until nothing is due, so this bounds memory, not work). */
#define GOV_DUE_BATCH 64u

enum gov_kind {
    GOV_KIND_DISTRUST = 1,
    GOV_KIND_TRUST = 2,
    GOV_KIND_PRE_REVIEW = 3,
    GOV_KIND_BOARD = 4,
    GOV_KIND_DAO = 5,
    GOV_KIND_PFP = 6,
    GOV_KIND_GENERAL = 7,
    GOV_KIND_MAX = 7
};

enum gov_pstatus {
    GOV_P_COSIGNING = 1,
    GOV_P_EXPIRED = 2,
    GOV_P_OPEN = 3,
    GOV_P_PASSED = 4,
    GOV_P_REJECTED = 5,
    GOV_P_TIED = 6,
    GOV_P_MAX = 6
};

enum gov_cstatus {
    GOV_C_NORMAL = 1,
    GOV_C_WATCH = 2,
    GOV_C_SUSPENDED = 3,
    GOV_C_PIONEER = 4,
    GOV_C_WHITELIST = 5
};

enum gov_rstatus { GOV_R_PRE_REVIEW = 1, GOV_R_APPROVED = 2, GOV_R_DELAYED = 3 };

enum gov_mark { GOV_MARK_RECOMMENDED = 1, GOV_MARK_SPURRED = 2 };

enum gov_weighting { GOV_W_ACCOUNT = 1, GOV_W_TOKENS = 2 };

/* Names used in JSON and events; NULL for an unknown value. */
const char *gov_kind_name(uint64_t kind);
const char *gov_pstatus_name(uint64_t status);
const char *gov_cstatus_name(uint64_t status);
const char *gov_rstatus_name(uint64_t status);
const char *gov_mark_name(uint64_t mark);
/* The proposal status named s, or 0 if s names none. */
uint64_t gov_pstatus_from_name(const char *s);

/* ---- records ---- */

typedef struct gov_controller {
    char id[GZ_ID_MAX + 1];
    int64_t points;                            /* points model: the counter */
    uint64_t components[GZ_CREDIT_COMPONENTS]; /* composite model: 0..100 each */
    uint64_t status;                           /* enum gov_cstatus */
    uint64_t suspended_until;                  /* composite, while suspended; else 0 */
    uint64_t created_at;
} gov_controller;

typedef struct gov_issuer {
    char id[GZ_ID_MAX + 1];
    char controller_id[GZ_ID_MAX + 1];
    uint8_t owner[32];
    char name[GZ_NAME_MAX + 1];
    uint64_t created_at;
} gov_issuer;

typedef struct gov_release {
    char id[GZ_ID_MAX + 1];
    char issuer_id[GZ_ID_MAX + 1];
    char controller_id[GZ_ID_MAX + 1];
    char title[GZ_NAME_MAX + 1];
    uint64_t supply;
    uint64_t price;
    uint64_t release_time;
    bool has_final_anchor;
    uint8_t final_anchor[32];
    uint64_t status;         /* enum gov_rstatus */
    uint8_t proposal_id[32]; /* the pre-review (txid of the latest announcement) */
    uint64_t announced_at;
} gov_release;

typedef struct gov_proposal {
    uint8_t id[32];
    uint64_t kind;
    char subject[GZ_ID_MAX + 1];
    char title[GZ_TEXT_MAX + 1];
    uint32_t n_options;
    char options[GZ_OPTIONS_MAX][GZ_LABEL_MAX + 1];
    uint64_t min_level;   /* effective eligibility (policy values for DISTRUST, */
    uint64_t classes_any; /* TRUST and PRE_REVIEW)                              */
    uint64_t weighting;   /* enum gov_weighting */
    uint64_t voting_ms;
    uint8_t creator[32];
    uint64_t status; /* enum gov_pstatus */
    uint64_t created_at;
    uint64_t expires_at; /* cosigning deadline (DISTRUST/TRUST), else 0 */
    uint64_t opens_at;   /* meaningful once open */
    uint64_t closes_at;
    uint64_t cosigners; /* distinct co-signers, the creator included */
    uint64_t voters;    /* distinct voters */
    uint64_t turnout;   /* weight cast (each voter's weight once) */
    uint64_t tally[GZ_OPTIONS_MAX];
    bool has_winner;
    uint32_t winner;
} gov_proposal;

typedef struct gov_vote {
    uint64_t weight;
    uint32_t n_choices;
    uint64_t choices[GZ_CHOICES_MAX];
} gov_vote;

typedef struct gov_pool {
    char id[GZ_ID_MAX + 1];
    uint64_t amount;
    uint64_t recipients;
    uint64_t created_at;
} gov_pool;

/* Where records are read from: a block being executed (x) or, for queries,
 * the committed state (l). Exactly one of the two is set. */
typedef struct gov_src {
    ledger_ctx *x;
    ledger *l;
} gov_src;

gov_src gov_src_ctx(ledger_ctx *x);
gov_src gov_src_committed(ledger *l);
GZ_WUR int gov_src_get(const gov_src *s, const ledger_key *k, gz_buf *val);
GZ_WUR int gov_src_scan(const gov_src *s, const uint8_t *prefix, size_t prefix_len,
                        const uint8_t *start, size_t start_len, ledger_scan_cb cb, void *data);

/* Key builders. */
void gov_key_controller(ledger_key *k, const char *id);
void gov_key_issuer(ledger_key *k, const char *id);
void gov_key_ctl_issuer(ledger_key *k, const char *controller_id, const char *issuer_id);
void gov_key_release(ledger_key *k, const char *id);
void gov_key_proposal(ledger_key *k, const uint8_t id[32]);
void gov_key_vote(ledger_key *k, const uint8_t id[32], const uint8_t voter[32]);
void gov_key_cosigner(ledger_key *k, const uint8_t id[32], const uint8_t account[32]);
void gov_key_pool(ledger_key *k, const char *id);
/* family ‖ t u64 ‖ id (32 bytes): 'Q' and 'X'. */
void gov_key_due(ledger_key *k, uint8_t family, uint64_t t, const uint8_t id[32]);
void gov_key_lift(ledger_key *k, uint64_t until, const char *controller_id);
void gov_key_board(ledger_key *k, const char *controller_id, uint64_t closes_at,
                   const uint8_t id[32]);

/* Loads return GZ_OK, GZ_ENOTFOUND (record zeroed), GZ_ECORRUPT for a record
 * that does not decode, or an internal error. Stores write through x. */
GZ_WUR int gov_controller_load(const gov_src *s, const char *id, gov_controller *c);
GZ_WUR int gov_controller_store(ledger_ctx *x, const gov_controller *c);
GZ_WUR int gov_issuer_load(const gov_src *s, const char *id, gov_issuer *is);
GZ_WUR int gov_issuer_store(ledger_ctx *x, const gov_issuer *is);
GZ_WUR int gov_release_load(const gov_src *s, const char *id, gov_release *r);
GZ_WUR int gov_release_store(ledger_ctx *x, const gov_release *r);
GZ_WUR int gov_proposal_load(const gov_src *s, const uint8_t id[32], gov_proposal *p);
GZ_WUR int gov_vote_load(const gov_src *s, const uint8_t id[32], const uint8_t voter[32],
                         gov_vote *v);
GZ_WUR int gov_vote_store(ledger_ctx *x, const uint8_t id[32], const uint8_t voter[32],
                          const gov_vote *v);
GZ_WUR int gov_pool_load(const gov_src *s, const char *id, gov_pool *pool);
GZ_WUR int gov_pool_store(ledger_ctx *x, const gov_pool *pool);

/* Writes a new proposal: its record, its status and kind index entries and
 * its deadline ('X' while cosigning, 'Q' while open). */
GZ_WUR int gov_proposal_insert(ledger_ctx *x, const gov_proposal *p);
/* Rewrites p's record; when its status differs from old_status, moves its
 * status index entry and its deadline entry (old deadline removed, 'Q' added
 * when it became open). */
GZ_WUR int gov_proposal_update(ledger_ctx *x, const gov_proposal *p, uint64_t old_status);
/* Writes a small index entry: one byte, never a record. */
GZ_WUR int gov_index_put(ledger_ctx *x, const ledger_key *k, uint8_t v);
/* Emits event `type` about p: proposal_id, kind, subject, status and the
 * deadlines that apply to its status. */
GZ_WUR int gov_proposal_event(ledger_ctx *x, const char *type, const gov_proposal *p);

/* ---- credit (gov_credit.c) ---- */

/* The controller's score: the points counter, or floor(Σ weight·component / 1e6). */
int64_t gov_controller_score(const gz_credit_policy *p, const gov_controller *c);
/* Creates controller id with the policy's initial values (and the status they
 * give), stores it and emits "controller". */
GZ_WUR int gov_controller_create(ledger_ctx *x, const char *id, gov_controller *c);
/* Applies delta to component (0 in the points model; 1..3 in the composite
 * model, or 0 there meaning every component, so the score moves by delta) with
 * clamping, stores c, emits "credit" and, when the status changes,
 * "controller_status". evidence and proposal_id may be NULL. */
GZ_WUR int gov_credit_apply(ledger_ctx *x, gov_controller *c, uint64_t component, int64_t delta,
                            uint64_t reason, const uint8_t *evidence, const char *memo,
                            const uint8_t *proposal_id);
/* Block start: lifts the composite suspensions whose time has run out and
 * whose score is back at or above suspend_below. */
GZ_WUR int gov_credit_lift_due(ledger_ctx *x);

/* ---- proposals (gov_close.c) ---- */

/* Eligibility of SPEC §3 (a union): level ≥ min_level > 0, or a class in
 * classes_any; with both zero every registered account. */
bool gov_eligible(uint64_t min_level, uint64_t classes_any, uint64_t level, uint64_t classes);
/* Fills p->status, p->has_winner and p->winner from its tally (SPEC §3's
 * outcome rules; the policy gives the DISTRUST quorum and the PRE_REVIEW line). */
void gov_outcome(const gz_vote_policy *vp, gov_proposal *p);
/* Board marks of a closed BOARD proposal: marks[i] for option i (enum
 * gov_mark), or all 0 when nobody voted. */
void gov_board_marks(const gov_proposal *p, uint8_t marks[GZ_OPTIONS_MAX]);
/* Block start: closes every open proposal with closes_at <= x->time, in
 * (closes_at, proposal id) order, with its effects. */
GZ_WUR int gov_close_due(ledger_ctx *x);
/* Block start: expires every cosigning proposal with expires_at <= x->time. */
GZ_WUR int gov_expire_due(ledger_ctx *x);
/* Called when a PRE_REVIEW closes: sets its release approved or delayed. */
GZ_WUR int gov_release_reviewed(ledger_ctx *x, const gov_proposal *p);

#endif
