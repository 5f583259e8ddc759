/* The proposal audit of verify/verify.h: a replay of the chain's txs that
 * re-derives, from the tx bytes and genesis, a proposal's votes, their result
 * codes and weights, and its tally and outcome (SPEC §3 "Proposals").
 *
 * This is an independent implementation of the rules, written from SPEC §3,
 * not the ledger's code: an auditor should not have to trust the code it
 * audits. Facts it cannot re-derive are taken from the node's tx results and
 * counted, so the summary says how much of the outcome rests on the node. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "verify/verify.h"

__extension__ typedef unsigned __int128 u128;

/* ---- a map from 32-byte ids to fixed-size values ----------------------------- */

/* Open addressing with linear probing. A slot is an 8-byte used flag, the key,
 * then the value, so values are 8-byte aligned. Keys are account ids (public
 * keys) and only the registrar can add accounts, so their low bits are not
 * chosen by an adversary who could make probing slow. */
typedef struct id_map {
    size_t cap; /* a power of two, or 0 */
    size_t n;
    size_t val_size;
    size_t stride;
    uint8_t *slots;
} id_map;

static void map_init(id_map *m, size_t val_size) {
    memset(m, 0, sizeof *m);
    m->val_size = val_size;
    m->stride = 8 + 32 + ((val_size + 7) & ~(size_t)7);
}

static void map_free(id_map *m) {
    free(m->slots);
    m->slots = NULL;
    m->cap = m->n = 0;
}

static size_t map_hash(const uint8_t key[32]) {
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    return (size_t)((a ^ b) * 0x9E3779B97F4A7C15ull >> 7);
}

static uint8_t *map_slot(const id_map *m, const uint8_t key[32]) {
    assert(m->cap > 0);
    for (size_t i = map_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        uint8_t *s = m->slots + i * m->stride;
        if (s[0] == 0 || memcmp(s + 8, key, 32) == 0) return s;
    }
}

/* The value stored for key, or NULL. */
static void *map_get(const id_map *m, const uint8_t key[32]) {
    if (m->cap == 0) return NULL;
    uint8_t *s = map_slot(m, key);
    return s[0] ? s + 40 : NULL;
}

static int map_grow(id_map *m) {
    size_t cap = m->cap ? 2 * m->cap : 64;
    id_map bigger = *m;
    bigger.cap = cap;
    bigger.n = 0;
    bigger.slots = calloc(cap, m->stride);
    if (bigger.slots == NULL) return GZ_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
        uint8_t *s = m->slots + i * m->stride;
        if (s[0] == 0) continue;
        memcpy(map_slot(&bigger, s + 8), s, m->stride);
        bigger.n++;
    }
    free(m->slots);
    *m = bigger;
    return GZ_OK;
}

/* Inserts or overwrites key's value; returns the stored value or NULL (no memory). */
static void *map_put(id_map *m, const uint8_t key[32], const void *val) {
    if (4 * (m->n + 1) > 3 * m->cap && map_grow(m) != GZ_OK) return NULL;
    uint8_t *s = map_slot(m, key);
    if (s[0] == 0) {
        s[0] = 1;
        memcpy(s + 8, key, 32);
        m->n++;
    }
    memcpy(s + 40, val, m->val_size);
    return s + 40;
}

/* ---- the audit's state ------------------------------------------------------------ */

typedef struct acct {
    uint64_t level;
    uint64_t classes;
    uint64_t gov_tokens;
    uint64_t nonce;
} acct;

/* A voter's latest accepted vote. */
typedef struct ballot {
    uint64_t weight;
    uint32_t n_choices;
    uint64_t choices[GZ_CHOICES_MAX];
} ballot;

/* Proposal statuses, with the names of SPEC §8 (0: not created). */
enum { PS_NONE = 0, PS_COSIGNING, PS_EXPIRED, PS_OPEN, PS_PASSED, PS_REJECTED, PS_TIED };
static const char *const STATUS_NAMES[] = {"none", "cosigning", "expired", "open", "passed", "rejected", "tied"};

enum { KIND_DISTRUST = 1, KIND_TRUST = 2, KIND_PRE_REVIEW = 3, KIND_BOARD = 4 };

struct verify_audit {
    const gz_genesis *g;
    uint8_t id[32];
    bool replay;
    id_map accounts;  /* acct, when replaying */
    id_map ballots;   /* ballot */
    id_map cosigners; /* one byte */
    /* The proposal as its creating tx and the policy define it. */
    uint64_t kind;
    uint32_t n_options;
    char options[GZ_OPTIONS_MAX][GZ_LABEL_MAX + 1];
    uint64_t min_level, classes_any, weighting, voting_ms;
    uint64_t status;
    uint64_t expires_at, opens_at, closes_at;
    uint64_t n_cosigners;
    bool has_winner;
    uint32_t winner;
    uint64_t tally[GZ_OPTIONS_MAX];
    uint64_t turnout, voters;
    /* The walk. */
    uint64_t height, time;
    uint64_t first_height, created_height, n_blocks, n_txs;
    uint64_t n_votes, n_accepted, n_replaced, n_refused, n_taken;
};

static uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static void short_hex(char out[17], const uint8_t id[32]) { gz_hex_encode(out, id, 8); }

static int seed_accounts(verify_audit *a) {
    const gz_genesis *g = a->g;
    for (size_t i = 0; i < g->n_accounts; i++) {
        acct v = {.level = g->accounts[i].level, .classes = g->accounts[i].classes};
        if (map_put(&a->accounts, g->accounts[i].account, &v) == NULL) return GZ_ENOMEM;
    }
    /* Authorities are registered accounts at height 0 (level 0, no class)
     * unless genesis lists them as accounts too. */
    for (int r = 0; r < GZ_ROLE_COUNT; r++) {
        for (uint32_t i = 0; i < g->n_authorities[r]; i++) {
            acct v = {0};
            if (map_get(&a->accounts, g->authorities[r][i]) != NULL) continue;
            if (map_put(&a->accounts, g->authorities[r][i], &v) == NULL) return GZ_ENOMEM;
        }
    }
    /* So are validator keys (SPEC §4), so that a node can sign with its own. */
    for (uint32_t i = 0; i < g->n_validators; i++) {
        acct v = {0};
        if (map_get(&a->accounts, g->validators[i].pub_key) != NULL) continue;
        if (map_put(&a->accounts, g->validators[i].pub_key, &v) == NULL) return GZ_ENOMEM;
    }
    return GZ_OK;
}

int verify_audit_new(verify_audit **out, const gz_genesis *g, const uint8_t proposal_id[32], bool replay_accounts) {
    *out = NULL;
    verify_audit *a = calloc(1, sizeof *a);
    if (a == NULL) return GZ_ENOMEM;
    a->g = g;
    memcpy(a->id, proposal_id, 32);
    a->replay = replay_accounts;
    map_init(&a->accounts, sizeof(acct));
    map_init(&a->ballots, sizeof(ballot));
    map_init(&a->cosigners, 1);
    if (replay_accounts && seed_accounts(a) != GZ_OK) {
        verify_audit_free(a);
        return GZ_ENOMEM;
    }
    *out = a;
    return GZ_OK;
}

void verify_audit_free(verify_audit *a) {
    if (a == NULL) return;
    map_free(&a->accounts);
    map_free(&a->ballots);
    map_free(&a->cosigners);
    free(a);
}

bool verify_audit_done(const verify_audit *a) {
    return a->status != PS_NONE && a->status != PS_COSIGNING && a->status != PS_OPEN;
}

bool verify_audit_created(const verify_audit *a) { return a->status != PS_NONE; }

bool verify_audit_concerns(const verify_audit *a, const gz_tx *tx) {
    if (memcmp(tx->txid, a->id, 32) == 0) return true;
    if (tx->type == GZ_TX_VOTE) return memcmp(tx->p.vote.proposal_id, a->id, 32) == 0;
    if (tx->type == GZ_TX_PROPOSAL_COSIGN) return memcmp(tx->p.proposal_cosign.proposal_id, a->id, 32) == 0;
    return false;
}

/* ---- tally and outcome (SPEC §3) ------------------------------------------------- */

/* Sums the latest ballots into tally (one entry per option), turnout and voters. */
static void tally_compute(const verify_audit *a, uint64_t tally[GZ_OPTIONS_MAX], uint64_t *turnout, uint64_t *voters) {
    memset(tally, 0, GZ_OPTIONS_MAX * sizeof tally[0]);
    *turnout = *voters = 0;
    for (size_t i = 0; i < a->ballots.cap; i++) {
        const uint8_t *s = a->ballots.slots + i * a->ballots.stride;
        if (s[0] == 0) continue;
        const ballot *b = (const ballot *)(const void *)(s + 40);
        for (uint32_t c = 0; c < b->n_choices; c++) tally[b->choices[c]] += b->weight;
        *turnout += b->weight;
        (*voters)++;
    }
}

/* The winner is the option with the most weight; a shared top is a tie.
 * DISTRUST and TRUST pass only when "yes" (option 0) wins with the quorum;
 * PRE_REVIEW is rejected when "reject" (option 1) holds more than the
 * policy's share of the weight cast. */
static void outcome(verify_audit *a) {
    const gz_vote_policy *vp = &a->g->policy.votes;
    uint64_t top = 0;
    uint32_t top_i = 0, top_n = 0;
    for (uint32_t i = 0; i < a->n_options; i++) {
        if (top_n == 0 || a->tally[i] > top) {
            top = a->tally[i];
            top_i = i;
            top_n = 1;
        } else if (a->tally[i] == top) {
            top_n++;
        }
    }
    a->has_winner = top_n == 1;
    a->winner = a->has_winner ? top_i : 0;
    if (a->kind == KIND_DISTRUST || a->kind == KIND_TRUST) {
        bool yes = a->has_winner && a->winner == 0 && a->turnout >= vp->distrust_quorum;
        a->status = yes ? PS_PASSED : PS_REJECTED;
    } else if (a->kind == KIND_PRE_REVIEW) {
        bool reject = (u128)a->tally[1] * 1000000u > (u128)vp->pre_review_reject_ppm * a->turnout;
        a->status = reject ? PS_REJECTED : PS_PASSED;
    } else {
        a->status = a->has_winner ? PS_PASSED : PS_TIED;
    }
}

void verify_audit_block(verify_audit *a, uint64_t height, uint64_t time) {
    if (a->n_blocks == 0) a->first_height = height;
    a->n_blocks++;
    a->height = height;
    a->time = time;
    /* The ledger closes and expires at the start of the first block whose time
     * reached the deadline, before the block's txs. */
    if (a->status == PS_OPEN && time >= a->closes_at) {
        tally_compute(a, a->tally, &a->turnout, &a->voters);
        outcome(a);
    } else if (a->status == PS_COSIGNING && time >= a->expires_at) {
        a->status = PS_EXPIRED;
    }
}

static void open_now(verify_audit *a) {
    a->status = PS_OPEN;
    a->opens_at = a->time;
    a->closes_at = add_sat(a->time, a->voting_ms);
}

/* ---- the creating tx --------------------------------------------------------------- */

static void create_from_proposal(verify_audit *a, const gz_tx *tx) {
    const gz_p_proposal_create *p = &tx->p.proposal_create;
    const gz_vote_policy *vp = &a->g->policy.votes;
    bool cosigned = p->kind == KIND_DISTRUST || p->kind == KIND_TRUST;
    a->kind = p->kind;
    a->n_options = p->n_options;
    memcpy(a->options, p->options, sizeof a->options);
    a->min_level = cosigned ? vp->voter_min_level : p->min_level;
    a->classes_any = cosigned ? vp->voter_classes : p->classes_any;
    a->weighting = p->weighting;
    a->voting_ms = p->voting_ms;
    if (!cosigned) {
        open_now(a);
        return;
    }
    a->status = PS_COSIGNING;
    a->n_cosigners = 1;
    uint8_t one = 1;
    (void)map_put(&a->cosigners, tx->signer, &one); /* a lost entry only weakens the duplicate check */
    a->expires_at = add_sat(a->time, vp->cosign_window_ms);
    if (a->n_cosigners >= vp->cosigners_required) open_now(a);
}

/* A RELEASE_ANNOUNCE opens a pre-review that closes pre_review_close_ms before
 * the release time. */
static void create_from_release(verify_audit *a, const gz_tx *tx) {
    const gz_vote_policy *vp = &a->g->policy.votes;
    a->kind = KIND_PRE_REVIEW;
    a->n_options = 2;
    memset(a->options, 0, sizeof a->options);
    memcpy(a->options[0], "approve", 8);
    memcpy(a->options[1], "reject", 7);
    a->min_level = vp->reviewer_min_level;
    a->classes_any = 0;
    a->weighting = 1;
    a->status = PS_OPEN;
    a->opens_at = a->time;
    uint64_t rt = tx->p.release_announce.release_time;
    a->closes_at = rt > vp->pre_review_close_ms ? rt - vp->pre_review_close_ms : 0;
    a->voting_ms = a->closes_at > a->time ? a->closes_at - a->time : 0;
}

static void on_create(verify_audit *a, verify_report *r, const gz_tx *tx, int code) {
    if (code != 0) {
        verify_report_fail(r, "replay", "the proposal's creating tx at %llu is refused (code %d): no such proposal",
                         (unsigned long long)a->height, code);
        return;
    }
    a->created_height = a->height;
    a->n_taken++; /* that the creation was valid is the node's word */
    if (tx->type == GZ_TX_PROPOSAL_CREATE) create_from_proposal(a, tx);
    else if (tx->type == GZ_TX_RELEASE_ANNOUNCE) create_from_release(a, tx);
    else verify_report_fail(r, "replay", "the proposal id names a tx of type %llu, which opens no proposal",
                          (unsigned long long)tx->type);
}

/* ---- co-signatures ----------------------------------------------------------------- */

static void on_cosign(verify_audit *a, verify_report *r, const gz_tx *tx, int code) {
    char who[17];
    short_hex(who, tx->signer);
    if (code != 0) {
        a->n_taken++; /* refusals of co-signatures are the node's word */
        return;
    }
    const char *bad = NULL;
    if (a->status != PS_COSIGNING || a->time >= a->expires_at) bad = "the proposal was not cosigning";
    else if (map_get(&a->cosigners, tx->signer) != NULL) bad = "the signer had already co-signed";
    if (bad == NULL && a->replay) {
        const acct *s = map_get(&a->accounts, tx->signer);
        if (s == NULL || (s->classes & a->g->policy.votes.cosigner_classes) == 0) bad = "the signer holds no co-signer class";
    }
    if (bad != NULL) {
        verify_report_fail(r, "replay", "co-signature at %llu by %s… accepted by the node, but %s",
                         (unsigned long long)a->height, who, bad);
        return;
    }
    if (!a->replay) a->n_taken++; /* the co-signer's class is the node's word */
    uint8_t one = 1;
    if (map_put(&a->cosigners, tx->signer, &one) == NULL) r->lost = true;
    a->n_cosigners++;
    if (a->n_cosigners >= a->g->policy.votes.cosigners_required) open_now(a);
}

/* ---- votes ------------------------------------------------------------------------- */

static bool eligible(uint64_t min_level, uint64_t classes_any, uint64_t level, uint64_t classes) {
    if (min_level == 0 && classes_any == 0) return true;
    if (min_level > 0 && level >= min_level) return true;
    return (classes & classes_any) != 0;
}

/* The code the tx bytes and the proposal's state give a VOTE (0 when they
 * allow it), with why. Registration, nonce and eligibility are not looked at. */
static int vote_bytes_code(const verify_audit *a, const gz_p_vote *v, const char **why) {
    *why = "";
    for (uint32_t i = 1; i < v->n_choices; i++) {
        if (v->choices[i] <= v->choices[i - 1]) return *why = "choices not distinct and ascending", 12;
    }
    if (a->status == PS_NONE) return *why = "no such proposal yet", 7;
    if (v->n_choices > 1 && a->kind != KIND_BOARD) return *why = "several choices, not a board proposal", 12;
    if (v->choices[v->n_choices - 1] >= a->n_options) return *why = "choice out of range", 12;
    if (a->status == PS_COSIGNING) return *why = "proposal still cosigning", 10;
    if (a->status != PS_OPEN || a->time >= a->closes_at) return *why = "proposal closed", 10;
    return 0;
}

/* With the replayed accounts: eligibility and weight (code 6 when refused). */
static int vote_account_code(const verify_audit *a, const gz_tx *tx, uint64_t *weight, const char **why) {
    const acct *s = map_get(&a->accounts, tx->signer);
    assert(s != NULL); /* the pre-checks found the signer registered */
    *weight = 0;
    if (!eligible(a->min_level, a->classes_any, s->level, s->classes)) return *why = "not eligible", 6;
    uint64_t w = a->weighting == 2 ? s->gov_tokens : 1;
    if (w == 0) return *why = "weight would be 0", 6;
    *weight = w;
    return 0;
}

/* What the node's "vote" event says: weight and whether it replaced a vote. */
static bool vote_event(const json_t *events, const uint8_t voter[32], uint64_t *weight, bool *replaced) {
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
        if (!json_is_string(json_object_get(e, "type")) ||
            strcmp(json_string_value(json_object_get(e, "type")), "vote") != 0)
            continue;
        json_t *attrs = json_object_get(e, "attrs");
        json_t *w = json_object_get(attrs, "weight");
        uint8_t who[32];
        const char *hex = json_string_value(json_object_get(attrs, "voter"));
        if (!json_is_integer(w) || json_integer_value(w) < 0 || hex == NULL || gz_hex_decode(who, 32, hex) != GZ_OK)
            return false;
        *weight = (uint64_t)json_integer_value(w);
        *replaced = json_is_true(json_object_get(attrs, "replaced"));
        return memcmp(who, voter, 32) == 0;
    }
    return false;
}

typedef struct vote_ctx {
    char where[48]; /* "12#0 by 3b87…" */
    int code;       /* the node's */
    const json_t *events;
} vote_ctx;

static int vote_accept(verify_audit *a, verify_report *r, const gz_tx *tx, const vote_ctx *vc, uint64_t weight,
                       const char *source) {
    ballot b = {.weight = weight, .n_choices = tx->p.vote.n_choices};
    memcpy(b.choices, tx->p.vote.choices, sizeof b.choices);
    bool replaced = map_get(&a->ballots, tx->signer) != NULL;
    uint64_t ev_weight = 0;
    bool ev_replaced = false;
    if (vc->code != 0) {
        /* Already reported: the node refused a vote the replay accepts. */
    } else if (!vote_event(vc->events, tx->signer, &ev_weight, &ev_replaced)) {
        verify_report_fail(r, "vote", "%s: accepted, but the node's events hold no vote event for this voter", vc->where);
    } else if (ev_weight != weight || ev_replaced != replaced) {
        verify_report_fail(r, "vote", "%s: the node says weight %llu%s, the replay gives weight %llu%s", vc->where,
                         (unsigned long long)ev_weight, ev_replaced ? " (replacing)" : "",
                         (unsigned long long)weight, replaced ? " (replacing)" : "");
    } else {
        verify_report_ok(r, "vote", "vote %s: accepted as the node says, choice%s %llu%s, weight %llu (%s)%s", vc->where,
                       b.n_choices > 1 ? "s" : "", (unsigned long long)b.choices[0], b.n_choices > 1 ? ", …" : "",
                       (unsigned long long)weight, source, replaced ? ", replacing the voter's earlier vote" : "");
    }
    if (map_put(&a->ballots, tx->signer, &b) == NULL) return GZ_ENOMEM;
    a->n_accepted++;
    if (replaced) a->n_replaced++;
    return GZ_OK;
}

/* Replaying accounts: every code is derived and must be the node's. */
static int vote_replayed(verify_audit *a, verify_report *r, const gz_tx *tx, const vote_ctx *vc, int pre) {
    const char *why = pre == 3 ? "wrong chain" : pre == 5 ? "signer not registered" : "bad nonce";
    int want = pre;
    uint64_t weight = 0;
    if (want == 0) want = vote_bytes_code(a, &tx->p.vote, &why);
    if (want == 0) want = vote_account_code(a, tx, &weight, &why);
    if (want != vc->code) {
        verify_report_fail(r, "vote", "%s: the node gives code %d, the replay gives code %d%s%s", vc->where, vc->code,
                         want, want ? ": " : "", want ? why : "");
    }
    if (want == 0) return vote_accept(a, r, tx, vc, weight, "replayed");
    a->n_refused++;
    if (want == vc->code) verify_report_ok(r, "vote", "vote %s: refused with code %d (%s) as the node says", vc->where, want, why);
    return GZ_OK;
}

/* Not replaying accounts: registration, nonce and eligibility refusals and
 * gov_tokens weights are the node's word; the rest is checked. */
static int vote_trusted(verify_audit *a, verify_report *r, const gz_tx *tx, const vote_ctx *vc) {
    const char *why;
    int want = vote_bytes_code(a, &tx->p.vote, &why);
    bool earlier = vc->code == 3 || vc->code == 4 || vc->code == 5; /* refusals before the vote's own checks */
    if (want != 0) {
        if (vc->code != want && !earlier) {
            verify_report_fail(r, "vote", "%s: the node gives code %d, the tx and proposal give code %d: %s", vc->where,
                             vc->code, want, why);
        } else {
            verify_report_ok(r, "vote", "vote %s: refused with code %d as the node says", vc->where, vc->code);
        }
        a->n_refused++;
        return GZ_OK;
    }
    if (vc->code == 6 || earlier) {
        a->n_refused++;
        a->n_taken++;
        verify_report_ok(r, "vote", "vote %s: refused with code %d (taken from the node)", vc->where, vc->code);
        return GZ_OK;
    }
    if (vc->code != 0) {
        verify_report_fail(r, "vote", "%s: the node gives code %d to a vote the tx and proposal allow", vc->where, vc->code);
        a->n_refused++;
        return GZ_OK;
    }
    uint64_t ev_weight = 0;
    bool ev_replaced = false;
    bool have = vote_event(vc->events, tx->signer, &ev_weight, &ev_replaced);
    uint64_t weight = a->weighting == 2 ? ev_weight : 1;
    if (a->weighting == 2) a->n_taken++;
    if (have && weight == 0) {
        verify_report_fail(r, "vote", "%s: accepted with weight 0", vc->where);
        return GZ_OK;
    }
    return vote_accept(a, r, tx, vc, weight, a->weighting == 2 ? "gov_tokens, from the node" : "one account one vote");
}

/* ---- every tx ---------------------------------------------------------------------- */

/* The checks before any handler (chain, registration, nonce) and the nonce
 * increment that follows them. Returns the code they give (0: passed). */
static int pre_checks(verify_audit *a, const gz_tx *tx) {
    if (strcmp(tx->chain_id, a->g->chain_id) != 0) return 3;
    acct *s = map_get(&a->accounts, tx->signer);
    if (s == NULL) return 5;
    if (tx->nonce != s->nonce) return 4;
    s->nonce++;
    return 0;
}

/* Effects on accounts of a tx the node executed with code 0. */
static int account_effects(verify_audit *a, verify_report *r, const gz_tx *tx) {
    if (tx->type == GZ_TX_ACCOUNT_SET) {
        const gz_p_account_set *p = &tx->p.account_set;
        acct *s = map_get(&a->accounts, p->account);
        acct v = {.level = p->level, .classes = p->classes};
        if (s != NULL) {
            s->level = p->level;
            s->classes = p->classes;
        } else if (map_put(&a->accounts, p->account, &v) == NULL) {
            return GZ_ENOMEM;
        }
    } else if (tx->type == GZ_TX_VALIDATOR_UPDATE && tx->p.validator_update.power > 0) {
        /* A key added to the set is registered (level 0, no class) unless it
         * already was an account. */
        acct v = {0};
        const uint8_t *key = tx->p.validator_update.pub_key;
        if (map_get(&a->accounts, key) == NULL && map_put(&a->accounts, key, &v) == NULL) return GZ_ENOMEM;
    } else if (tx->type == GZ_TX_GOV_GRANT) {
        acct *s = map_get(&a->accounts, tx->p.gov_grant.account);
        if (s == NULL) {
            verify_report_fail(r, "replay", "GOV_GRANT at %llu to an unregistered account succeeded",
                             (unsigned long long)a->height);
        } else {
            s->gov_tokens = add_sat(s->gov_tokens, tx->p.gov_grant.amount);
        }
    }
    return GZ_OK;
}

static void check_pre(verify_audit *a, verify_report *r, const gz_tx *tx, uint32_t index, int pre, int code) {
    char who[17];
    short_hex(who, tx->signer);
    if (pre != 0 && code != pre) {
        verify_report_fail(r, "replay", "tx %llu#%u by %s…: the node gives code %d, the replayed chain id, "
                         "registration and nonce give code %d", (unsigned long long)a->height, index, who, code, pre);
    } else if (pre == 0 && (code == 3 || code == 4)) {
        verify_report_fail(r, "replay", "tx %llu#%u by %s…: the node gives code %d, but the replayed chain id and "
                         "nonce are right", (unsigned long long)a->height, index, who, code);
    }
}

int verify_audit_tx(verify_audit *a, verify_report *r, const gz_tx *tx, uint32_t index, int code, const json_t *events) {
    a->n_txs++;
    int pre = a->replay ? pre_checks(a, tx) : 0;
    bool ours = verify_audit_concerns(a, tx);
    if (ours && tx->type == GZ_TX_VOTE) {
        vote_ctx vc = {.code = code, .events = events};
        char who[17];
        short_hex(who, tx->signer);
        snprintf(vc.where, sizeof vc.where, "%llu#%u by %s…", (unsigned long long)a->height, index, who);
        a->n_votes++;
        return a->replay ? vote_replayed(a, r, tx, &vc, pre) : vote_trusted(a, r, tx, &vc);
    }
    if (a->replay) check_pre(a, r, tx, index, pre, code);
    if (a->replay && pre == 0 && code == 0) {
        int rc = account_effects(a, r, tx);
        if (rc != GZ_OK) return rc;
    }
    if (!ours) return GZ_OK;
    if (memcmp(tx->txid, a->id, 32) == 0) on_create(a, r, tx, code);
    else on_cosign(a, r, tx, code);
    return GZ_OK;
}

/* ---- comparison with the node's claim ------------------------------------------------ */

static void fmt_array(char *out, size_t n, const uint64_t *v, size_t count) {
    size_t used = (size_t)snprintf(out, n, "[");
    for (size_t i = 0; i < count && used < n; i++)
        used += (size_t)snprintf(out + used, n - used, "%s%llu", i ? ", " : "", (unsigned long long)v[i]);
    if (used < n) snprintf(out + used, n - used, "]");
}

/* Compares one optional integer of the claim: present (want_has) or null. */
static void compare_opt(verify_report *r, const json_t *claim, const char *key, bool want_has, uint64_t want) {
    json_t *v = json_object_get(claim, key);
    bool has = json_is_integer(v) && json_integer_value(v) >= 0;
    if (!has && !json_is_null(v)) {
        verify_report_fail(r, key, "the node's %s is missing or not an integer or null", key);
    } else if (has != want_has || (has && (uint64_t)json_integer_value(v) != want)) {
        char mine[24] = "null", theirs[24] = "null";
        if (want_has) snprintf(mine, sizeof mine, "%llu", (unsigned long long)want);
        if (has) snprintf(theirs, sizeof theirs, "%lld", (long long)json_integer_value(v));
        verify_report_fail(r, key, "recomputed %s, the node says %s", mine, theirs);
    } else if (want_has) {
        verify_report_ok(r, key, "%s %llu = the node's", key, (unsigned long long)want);
    } else {
        verify_report_ok(r, key, "%s null = the node's", key);
    }
}

static void compare_options(const verify_audit *a, verify_report *r, const json_t *claim) {
    const json_t *opts = json_object_get(claim, "options");
    bool same = json_is_array(opts) && json_array_size(opts) == a->n_options;
    for (uint32_t i = 0; same && i < a->n_options; i++) {
        const char *s = json_string_value(json_array_get(opts, i));
        same = s != NULL && strcmp(s, a->options[i]) == 0;
    }
    if (same) verify_report_ok(r, "options", "options (%u) = the node's, as the creating tx names them", a->n_options);
    else verify_report_fail(r, "options", "the node's options are not the %u of the creating tx", a->n_options);
}

static void compare_tally(const verify_audit *a, verify_report *r, const json_t *claim, const uint64_t *tally) {
    const json_t *t = json_object_get(claim, "tally");
    uint64_t theirs[GZ_OPTIONS_MAX] = {0};
    bool ok = json_is_array(t) && json_array_size(t) == a->n_options;
    for (uint32_t i = 0; ok && i < a->n_options; i++) {
        const json_t *v = json_array_get(t, i);
        ok = json_is_integer(v) && json_integer_value(v) >= 0;
        if (ok) theirs[i] = (uint64_t)json_integer_value(v);
    }
    char mine_s[200], theirs_s[200];
    fmt_array(mine_s, sizeof mine_s, tally, a->n_options);
    if (!ok) {
        verify_report_fail(r, "tally", "recomputed %s, the node's tally is not %u integers", mine_s, a->n_options);
        return;
    }
    fmt_array(theirs_s, sizeof theirs_s, theirs, a->n_options);
    if (memcmp(theirs, tally, a->n_options * sizeof theirs[0]) == 0) {
        verify_report_ok(r, "tally", "tally %s = the node's", mine_s);
    } else {
        verify_report_fail(r, "tally", "recomputed %s, the node says %s", mine_s, theirs_s);
    }
}

static void compare_status(const verify_audit *a, verify_report *r, const json_t *claim) {
    const char *theirs = json_string_value(json_object_get(claim, "status"));
    const char *mine = STATUS_NAMES[a->status];
    if (theirs != NULL && strcmp(theirs, mine) == 0) verify_report_ok(r, "status", "status %s = the node's", mine);
    else verify_report_fail(r, "status", "recomputed %s, the node says %s", mine, theirs ? theirs : "(none)");
}

static void summary(const verify_audit *a, verify_report *r) {
    verify_report_ok(r, "summary",
                   "replayed %llu blocks (%llu..%llu, %llu txs)%s; proposal created at height %llu; %llu votes: "
                   "%llu accepted (%llu replacing an earlier vote), %llu refused; results taken from the node: %llu",
                   (unsigned long long)a->n_blocks, (unsigned long long)a->first_height,
                   (unsigned long long)a->height, (unsigned long long)a->n_txs,
                   a->replay ? ", accounts replayed from genesis" : ", accounts not replayed",
                   (unsigned long long)a->created_height, (unsigned long long)a->n_votes,
                   (unsigned long long)a->n_accepted, (unsigned long long)a->n_replaced,
                   (unsigned long long)a->n_refused, (unsigned long long)a->n_taken);
}

void verify_audit_compare(const verify_audit *a, verify_report *r, const json_t *claim) {
    if (a->status == PS_NONE) {
        verify_report_fail(r, "proposal", "its creating tx was not found (with code 0) in blocks %llu..%llu",
                         (unsigned long long)a->first_height, (unsigned long long)a->height);
        return;
    }
    summary(a, r);
    /* A closed proposal's tally froze at its close; an open one's is as of now. */
    uint64_t tally[GZ_OPTIONS_MAX], turnout = a->turnout, voters = a->voters;
    memcpy(tally, a->tally, sizeof tally);
    if (a->status == PS_OPEN) tally_compute(a, tally, &turnout, &voters);
    const json_t *kind = json_object_get(claim, "kind");
    if (json_is_integer(kind) && (uint64_t)json_integer_value(kind) == a->kind) {
        verify_report_ok(r, "kind", "kind %llu = the node's", (unsigned long long)a->kind);
    } else {
        verify_report_fail(r, "kind", "the creating tx gives kind %llu, the node says otherwise", (unsigned long long)a->kind);
    }
    compare_options(a, r, claim);
    bool opened = a->status != PS_COSIGNING && a->status != PS_EXPIRED;
    compare_opt(r, claim, "opens_at", opened, a->opens_at);
    compare_opt(r, claim, "closes_at", opened, a->closes_at);
    compare_status(a, r, claim);
    bool closed = a->status == PS_PASSED || a->status == PS_REJECTED || a->status == PS_TIED;
    compare_opt(r, claim, "winner", closed && a->has_winner, a->winner);
    compare_tally(a, r, claim, tally);
    compare_opt(r, claim, "turnout", true, turnout);
    compare_opt(r, claim, "voters", true, voters);
}
