/* The two credit models of SPEC §3 (gov.h): scores, statuses, deltas and the
 * automatic end of composite suspensions. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "ledger/gov.h"

__extension__ typedef __int128 i128;

int64_t gov_controller_score(const gz_credit_policy *p, const gov_controller *c) {
    if (p->model == GZ_CREDIT_POINTS) return c->points;
    assert(p->model == GZ_CREDIT_COMPOSITE);
    uint64_t sum = 0;
    for (int i = 0; i < GZ_CREDIT_COMPONENTS; i++) {
        assert(c->components[i] <= GZ_CREDIT_COMPONENT_MAX);
        assert(p->weights_ppm[i] <= GZ_PPM);
        sum += p->weights_ppm[i] * c->components[i];
    }
    return (int64_t)(sum / GZ_PPM);
}

/* The status a score gives outside a running suspension. */
static uint64_t classify(const gz_credit_policy *p, int64_t score) {
    if (p->model == GZ_CREDIT_POINTS) {
        return score <= p->suspend_at ? GOV_C_SUSPENDED : GOV_C_NORMAL;
    }
    assert(score >= 0);
    uint64_t s = (uint64_t)score;
    if (s < p->suspend_below) return GOV_C_SUSPENDED;
    if (s < p->watch_below) return GOV_C_WATCH;
    if (s >= p->whitelist_at) return GOV_C_WHITELIST;
    if (s >= p->pioneer_at) return GOV_C_PIONEER;
    return GOV_C_NORMAL;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static json_t *until_json(const gov_controller *c) {
    return c->suspended_until != 0 ? json_integer((json_int_t)c->suspended_until) : json_null();
}

/* Moves c to status `to`: a composite suspension gets its end time and its
 * entry in the lift index; leaving one removes the entry. Emits
 * "controller_status" when the status changes. */
static int move_status(ledger_ctx *x, gov_controller *c, uint64_t to) {
    const gz_credit_policy *p = &x->g->policy.credit;
    uint64_t from = c->status;
    if (from == to) return GZ_OK;
    ledger_key k;
    int err = GZ_OK;
    if (from == GOV_C_SUSPENDED && c->suspended_until != 0) {
        gov_key_lift(&k, c->suspended_until, c->id);
        err = ledger_state_del(x, &k);
        c->suspended_until = 0;
    }
    if (err == GZ_OK && to == GOV_C_SUSPENDED && p->model == GZ_CREDIT_COMPOSITE) {
        /* The end time is at least 1 so that 0 can mean "none". */
        c->suspended_until = add_sat(x->time, p->suspend_ms);
        if (c->suspended_until == 0) c->suspended_until = 1;
        gov_key_lift(&k, c->suspended_until, c->id);
        err = gov_index_put(x, &k, 1);
    }
    if (err != GZ_OK) return err;
    c->status = to;
    const char *from_name = gov_cstatus_name(from);
    return ledger_event_emit(x, "controller_status",
                             json_pack("{s:s, s:s?, s:s, s:I, s:o}", "controller_id", c->id, "from",
                                       from_name, "to", gov_cstatus_name(to), "score",
                                       (json_int_t)gov_controller_score(p, c), "suspended_until",
                                       until_json(c)));
}

/* Recomputes c's status after its score changed. A composite suspension runs
 * until its end time and ends only with the score back at the line. */
static int settle(ledger_ctx *x, gov_controller *c) {
    const gz_credit_policy *p = &x->g->policy.credit;
    int64_t score = gov_controller_score(p, c);
    if (p->model == GZ_CREDIT_COMPOSITE && c->status == GOV_C_SUSPENDED) {
        if (x->time < c->suspended_until || (uint64_t)score < p->suspend_below) return GZ_OK;
    }
    return move_status(x, c, classify(p, score));
}

int gov_controller_create(ledger_ctx *x, const char *id, gov_controller *c) {
    const gz_credit_policy *p = &x->g->policy.credit;
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", id);
    c->created_at = x->time;
    if (p->model == GZ_CREDIT_POINTS) {
        c->points = p->initial;
    } else {
        for (int i = 0; i < GZ_CREDIT_COMPONENTS; i++) c->components[i] = p->initial_components[i];
    }
    int err = move_status(x, c, classify(p, gov_controller_score(p, c)));
    if (err == GZ_OK) err = gov_controller_store(x, c);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "controller",
                             json_pack("{s:s, s:s, s:I, s:s}", "controller_id", c->id, "model",
                                       p->model == GZ_CREDIT_POINTS ? "points" : "composite",
                                       "score", (json_int_t)gov_controller_score(p, c), "status",
                                       gov_cstatus_name(c->status)));
}

static int64_t clamp_add(int64_t v, int64_t delta, int64_t lo, int64_t hi) {
    i128 r = (i128)v + delta;
    if (r < lo) return lo;
    if (r > hi) return hi;
    return (int64_t)r;
}

static void apply_delta(const gz_credit_policy *p, gov_controller *c, uint64_t component,
                        int64_t delta) {
    if (p->model == GZ_CREDIT_POINTS) {
        assert(component == 0);
        c->points = clamp_add(c->points, delta, 0, p->max);
        return;
    }
    assert(component <= GZ_CREDIT_COMPONENTS);
    for (uint64_t i = 1; i <= GZ_CREDIT_COMPONENTS; i++) {
        if (component != 0 && component != i) continue;
        c->components[i - 1] =
            (uint64_t)clamp_add((int64_t)c->components[i - 1], delta, 0, GZ_CREDIT_COMPONENT_MAX);
    }
}

static json_t *components_json(const gz_credit_policy *p, const gov_controller *c) {
    if (p->model == GZ_CREDIT_POINTS) return json_null();
    return json_pack("{s:I, s:I, s:I}", "quality", (json_int_t)c->components[0], "satisfaction",
                     (json_int_t)c->components[1], "compliance", (json_int_t)c->components[2]);
}

static json_t *hex_or_null(const uint8_t *p) {
    return p != NULL ? core_json_hex(p, 32) : json_null();
}

int gov_credit_apply(ledger_ctx *x, gov_controller *c, uint64_t component, int64_t delta,
                     uint64_t reason, const uint8_t *evidence, const char *memo,
                     const uint8_t *proposal_id) {
    const gz_credit_policy *p = &x->g->policy.credit;
    int64_t before = gov_controller_score(p, c);
    apply_delta(p, c, component, delta);
    int64_t after = gov_controller_score(p, c);
    int err = ledger_event_emit(
        x, "credit",
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o, s:s}", "controller_id", c->id,
                  "component", (json_int_t)component, "delta", (json_int_t)delta, "reason",
                  (json_int_t)reason, "score_before", (json_int_t)before, "score",
                  (json_int_t)after, "components", components_json(p, c), "evidence",
                  hex_or_null(evidence), "proposal_id", hex_or_null(proposal_id), "memo",
                  memo != NULL ? memo : ""));
    if (err == GZ_OK) err = settle(x, c);
    if (err == GZ_OK) err = gov_controller_store(x, c);
    return err;
}

/* ---- lifting at block start ---- */

typedef struct lift_due {
    uint64_t time;
    size_t n;
    uint64_t until[GOV_DUE_BATCH];
    char ids[GOV_DUE_BATCH][GZ_ID_MAX + 1];
    int err;
} lift_due;

static bool lift_collect(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                         void *data) {
    (void)val;
    (void)val_len;
    lift_due *d = data;
    if (key_len < 10 || (size_t)key[9] != key_len - 10 || key[9] > GZ_ID_MAX) {
        d->err = GZ_ECORRUPT;
        return false;
    }
    uint64_t until = gz_get_u64be(key + 1);
    if (until > d->time || d->n == GOV_DUE_BATCH) return false;
    d->until[d->n] = until;
    memcpy(d->ids[d->n], key + 10, key[9]);
    d->ids[d->n][key[9]] = '\0';
    d->n++;
    return true;
}

static int lift_one(ledger_ctx *x, uint64_t until, const char *id) {
    ledger_key k;
    gov_key_lift(&k, until, id);
    int err = ledger_state_del(x, &k);
    if (err != GZ_OK) return err;
    gov_src src = gov_src_ctx(x);
    gov_controller c;
    err = gov_controller_load(&src, id, &c);
    if (err == GZ_ENOTFOUND) return GZ_ECORRUPT;
    if (err != GZ_OK) return err;
    if (c.status != GOV_C_SUSPENDED || c.suspended_until != until) return GZ_OK;
    /* The entry is gone; a score still below the line is lifted later by the
     * credit adjustment that brings it back. */
    uint64_t before = c.status;
    err = settle(x, &c);
    if (err == GZ_OK && c.status != before) err = gov_controller_store(x, &c);
    return err;
}

int gov_credit_lift_due(ledger_ctx *x) {
    const uint8_t prefix = GK_LIFT;
    for (;;) {
        lift_due d = {.time = x->time};
        int err = ledger_state_scan(x, &prefix, 1, NULL, 0, lift_collect, &d);
        if (err == GZ_OK) err = d.err;
        if (err != GZ_OK) return err;
        if (d.n == 0) return GZ_OK;
        for (size_t i = 0; i < d.n; i++) {
            err = lift_one(x, d.until[i], d.ids[i]);
            if (err != GZ_OK) return err;
        }
    }
}
