/* Proposal outcomes and the block-start work on proposals (gov.h): closing
 * open proposals at their deadline with their effects, and expiring
 * proposals that did not gather their co-signers in time. */
#include <assert.h>
#include <string.h>

#include "core/json.h"
#include "ledger/gov.h"

__extension__ typedef unsigned __int128 u128;

bool gov_eligible(uint64_t min_level, uint64_t classes_any, uint64_t level, uint64_t classes) {
    if (min_level == 0 && classes_any == 0) return true;
    if (min_level > 0 && level >= min_level) return true;
    return (classes & classes_any) != 0;
}

void gov_outcome(const gz_vote_policy *vp, gov_proposal *p) {
    uint64_t top = 0;
    uint32_t top_i = 0;
    uint32_t top_n = 0;
    for (uint32_t i = 0; i < p->n_options; i++) {
        if (top_n == 0 || p->tally[i] > top) {
            top = p->tally[i];
            top_i = i;
            top_n = 1;
        } else if (p->tally[i] == top) {
            top_n++;
        }
    }
    p->has_winner = top_n == 1;
    p->winner = p->has_winner ? top_i : 0;
    switch (p->kind) {
    case GOV_KIND_DISTRUST:
    case GOV_KIND_TRUST: {
        /* Option 0 is "yes". */
        bool yes = p->has_winner && p->winner == 0 && p->turnout >= vp->distrust_quorum;
        p->status = yes ? GOV_P_PASSED : GOV_P_REJECTED;
        break;
    }
    case GOV_KIND_PRE_REVIEW: {
        /* Option 1 is "reject"; strictly more than the line of the weight cast. */
        u128 reject = (u128)p->tally[1] * GZ_PPM;
        u128 line = (u128)vp->pre_review_reject_ppm * p->turnout;
        p->status = reject > line ? GOV_P_REJECTED : GOV_P_PASSED;
        break;
    }
    default:
        p->status = p->has_winner ? GOV_P_PASSED : GOV_P_TIED;
        break;
    }
}

void gov_board_marks(const gov_proposal *p, uint8_t marks[GZ_OPTIONS_MAX]) {
    memset(marks, 0, GZ_OPTIONS_MAX);
    if (p->turnout == 0) return;
    /* Options by approval, most approved first, ties by option order. */
    uint32_t order[GZ_OPTIONS_MAX];
    for (uint32_t i = 0; i < p->n_options; i++) {
        uint32_t j = i;
        while (j > 0 && p->tally[order[j - 1]] < p->tally[i]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    /* The most-approved half (rounded down) is recommended; an option tied with
     * the last of that half is recommended too, so equal approval always gets
     * the same mark. An option nobody approved is never recommended. */
    uint32_t half = p->n_options / 2;
    assert(half >= 1);
    uint64_t line = p->tally[order[half - 1]];
    for (uint32_t i = 0; i < p->n_options; i++) {
        bool rec = p->tally[i] > 0 && p->tally[i] >= line;
        marks[i] = rec ? GOV_MARK_RECOMMENDED : GOV_MARK_SPURRED;
    }
}

/* ---- effects ---- */

static int vote_credit(ledger_ctx *x, const gov_proposal *p, int64_t delta) {
    if (delta == 0) return GZ_OK;
    gov_src src = gov_src_ctx(x);
    gov_controller c;
    int err = gov_controller_load(&src, p->subject, &c);
    /* Controllers are never removed, and the subject existed at creation. */
    if (err == GZ_ENOTFOUND) return GZ_ECORRUPT;
    if (err != GZ_OK) return err;
    return gov_credit_apply(x, &c, 0, delta, GOV_REASON_VOTE, NULL, "community vote", p->id);
}

static int board_apply(ledger_ctx *x, const gov_proposal *p) {
    uint8_t marks[GZ_OPTIONS_MAX];
    gov_board_marks(p, marks);
    for (uint32_t i = 0; i < p->n_options; i++) {
        if (marks[i] == 0) continue;
        ledger_key k;
        gov_key_board(&k, p->options[i], p->closes_at, p->id);
        int err = gov_index_put(x, &k, marks[i]);
        if (err == GZ_OK) {
            err = ledger_event_emit(
                x, "board_mark",
                json_pack("{s:s, s:o, s:s, s:I}", "controller_id", p->options[i], "proposal_id",
                          core_json_hex(p->id, 32), "mark", gov_mark_name(marks[i]), "approval",
                          (json_int_t)p->tally[i]));
        }
        if (err != GZ_OK) return err;
    }
    return GZ_OK;
}

static int effects(ledger_ctx *x, const gov_proposal *p) {
    const gz_vote_policy *vp = &x->g->policy.votes;
    switch (p->kind) {
    case GOV_KIND_DISTRUST:
        return p->status == GOV_P_PASSED ? vote_credit(x, p, vp->distrust_delta) : GZ_OK;
    case GOV_KIND_TRUST:
        return p->status == GOV_P_PASSED ? vote_credit(x, p, vp->trust_delta) : GZ_OK;
    case GOV_KIND_PRE_REVIEW:
        return gov_release_reviewed(x, p);
    case GOV_KIND_BOARD:
        return board_apply(x, p);
    default:
        return GZ_OK;
    }
}

static json_t *tally_json(const gov_proposal *p) {
    json_t *a = json_array();
    for (uint32_t i = 0; a != NULL && i < p->n_options; i++) {
        if (json_array_append_new(a, json_integer((json_int_t)p->tally[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

static int close_one(ledger_ctx *x, const uint8_t id[32]) {
    gov_src src = gov_src_ctx(x);
    gov_proposal p;
    int err = gov_proposal_load(&src, id, &p);
    if (err == GZ_ENOTFOUND) return GZ_ECORRUPT;
    if (err != GZ_OK) return err;
    if (p.status != GOV_P_OPEN) return GZ_ECORRUPT;
    gov_outcome(&x->g->policy.votes, &p);
    err = gov_proposal_update(x, &p, GOV_P_OPEN);
    if (err != GZ_OK) return err;
    json_t *winner = p.has_winner ? json_integer(p.winner) : json_null();
    err = ledger_event_emit(x, "proposal_closed",
                            json_pack("{s:o, s:s, s:s, s:o, s:o, s:I, s:I}", "proposal_id",
                                      core_json_hex(id, 32), "kind", gov_kind_name(p.kind),
                                      "status", gov_pstatus_name(p.status), "winner", winner,
                                      "tally", tally_json(&p), "turnout", (json_int_t)p.turnout,
                                      "voters", (json_int_t)p.voters));
    if (err != GZ_OK) return err;
    return effects(x, &p);
}

static int expire_one(ledger_ctx *x, const uint8_t id[32]) {
    gov_src src = gov_src_ctx(x);
    gov_proposal p;
    int err = gov_proposal_load(&src, id, &p);
    if (err == GZ_ENOTFOUND) return GZ_ECORRUPT;
    if (err != GZ_OK) return err;
    if (p.status != GOV_P_COSIGNING) return GZ_ECORRUPT;
    p.status = GOV_P_EXPIRED;
    err = gov_proposal_update(x, &p, GOV_P_COSIGNING);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "proposal_expired",
                             json_pack("{s:o, s:s, s:I, s:I}", "proposal_id",
                                       core_json_hex(id, 32), "kind", gov_kind_name(p.kind),
                                       "cosigners", (json_int_t)p.cosigners, "required",
                                       (json_int_t)x->g->policy.votes.cosigners_required));
}

/* ---- deadline indexes ('Q', 'X': family ‖ t u64 ‖ id) ---- */

typedef struct due {
    uint64_t time;
    size_t n;
    uint8_t ids[GOV_DUE_BATCH][32];
    int err;
} due;

static bool due_collect(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                        void *data) {
    (void)val;
    (void)val_len;
    due *d = data;
    if (key_len != 1 + 8 + 32) {
        d->err = GZ_ECORRUPT;
        return false;
    }
    if (gz_get_u64be(key + 1) > d->time || d->n == GOV_DUE_BATCH) return false;
    memcpy(d->ids[d->n++], key + 9, 32);
    return true;
}

/* Handles every entry of family with t <= x->time, in key order, one batch
 * at a time (each handler removes its entry, so the next pass starts after). */
static int run_due(ledger_ctx *x, uint8_t family, int (*fn)(ledger_ctx *, const uint8_t *)) {
    for (;;) {
        due d = {.time = x->time};
        int err = ledger_state_scan(x, &family, 1, NULL, 0, due_collect, &d);
        if (err == GZ_OK) err = d.err;
        if (err != GZ_OK) return err;
        if (d.n == 0) return GZ_OK;
        for (size_t i = 0; i < d.n; i++) {
            err = fn(x, d.ids[i]);
            if (err != GZ_OK) return err;
        }
    }
}

int gov_close_due(ledger_ctx *x) { return run_due(x, GK_CLOSE, close_one); }

int gov_expire_due(ledger_ctx *x) { return run_due(x, GK_EXPIRE, expire_one); }
