/* ISSUER_SET and CREDIT_ADJUST (SPEC §3 "Issuers and credit"). */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "ledger/gov.h"

static json_t *issuer_event(const gov_issuer *is, bool created) {
    return json_pack("{s:s, s:s, s:o, s:s, s:b}", "issuer_id", is->id, "controller_id",
                     is->controller_id, "owner", core_json_hex(is->owner, 32), "name", is->name,
                     "created", created);
}

/* A new issuer; its controller is created with the policy's initial credit
 * the first time an issuer names it. */
static int issuer_create(ledger_ctx *x, const gz_p_issuer_set *in) {
    gov_src src = gov_src_ctx(x);
    gov_controller c;
    int err = gov_controller_load(&src, in->controller_id, &c);
    if (err == GZ_ENOTFOUND) err = gov_controller_create(x, in->controller_id, &c);
    if (err != GZ_OK) return err;
    gov_issuer is;
    memset(&is, 0, sizeof is);
    snprintf(is.id, sizeof is.id, "%s", in->issuer_id);
    snprintf(is.controller_id, sizeof is.controller_id, "%s", in->controller_id);
    memcpy(is.owner, in->owner, 32);
    snprintf(is.name, sizeof is.name, "%s", in->name);
    is.created_at = x->time;
    err = gov_issuer_store(x, &is);
    ledger_key k;
    gov_key_ctl_issuer(&k, is.controller_id, is.id);
    if (err == GZ_OK) err = gov_index_put(x, &k, 1);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "issuer", issuer_event(&is, true));
}

int ledger_tx_issuer_set(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_issuer_set *in = &tx->p.issuer_set;
    int err = ledger_require_role(x, GZ_ROLE_REGISTRAR, msg);
    if (err != GZ_OK) return err;
    if (in->issuer_id[0] == '\0') {
        return gz_fail(msg, GZ_EARG, "payload.issuer_id: must not be empty");
    }
    if (in->controller_id[0] == '\0') {
        return gz_fail(msg, GZ_EARG, "payload.controller_id: must not be empty");
    }
    if (in->name[0] == '\0') return gz_fail(msg, GZ_EARG, "payload.name: must not be empty");
    err = ledger_require_account(x, in->owner, "payload.owner", msg);
    if (err != GZ_OK) return err;
    gov_src src = gov_src_ctx(x);
    gov_issuer is;
    err = gov_issuer_load(&src, in->issuer_id, &is);
    if (err == GZ_ENOTFOUND) return issuer_create(x, in);
    if (err != GZ_OK) return err;
    /* Credit follows the actual controller; letting an IP move would let it
     * leave a penalised record behind. */
    if (strcmp(is.controller_id, in->controller_id) != 0) {
        return gz_fail(msg, GZ_ESTATE,
                       "payload.controller_id: issuer %s belongs to controller %s and cannot move",
                       is.id, is.controller_id);
    }
    memcpy(is.owner, in->owner, 32);
    snprintf(is.name, sizeof is.name, "%s", in->name);
    err = gov_issuer_store(x, &is);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "issuer", issuer_event(&is, false));
}

/* ---- CREDIT_ADJUST ---- */

static const gz_credit_reason *reason_find(const gz_credit_policy *p, uint64_t reason) {
    for (uint32_t i = 0; i < p->n_reasons; i++) {
        if (p->reasons[i].reason == reason) return &p->reasons[i];
    }
    return NULL;
}

static int check_component(const gz_credit_policy *p, uint64_t component, gz_msg *msg) {
    if (p->model == GZ_CREDIT_POINTS && component != 0) {
        return gz_fail(msg, GZ_EARG, "payload.component: must be 0 in the points model");
    }
    if (p->model == GZ_CREDIT_COMPOSITE && (component < 1 || component > GZ_CREDIT_COMPONENTS)) {
        return gz_fail(
            msg, GZ_EARG,
            "payload.component: must be 1 (quality), 2 (satisfaction) or 3 (compliance)");
    }
    return GZ_OK;
}

static int check_delta(const gz_credit_policy *p, const gz_p_credit_adjust *in, gz_msg *msg) {
    if (in->delta == 0) return gz_fail(msg, GZ_EARG, "payload.delta: must not be 0");
    if (in->reason == GOV_REASON_VOTE) {
        return gz_fail(msg, GZ_EARG, "payload.reason: 8 is reserved for community votes");
    }
    const gz_credit_reason *r = reason_find(p, in->reason);
    if (r == NULL) {
        return gz_fail(msg, GZ_EARG, "payload.reason: %llu has no bounds in policy.credit.reasons",
                       (unsigned long long)in->reason);
    }
    if (in->delta < r->min_delta || in->delta > r->max_delta) {
        return gz_fail(msg, GZ_ELIMIT,
                       "payload.delta: %lld outside reason %llu's bounds [%lld, %lld]",
                       (long long)in->delta, (unsigned long long)in->reason,
                       (long long)r->min_delta, (long long)r->max_delta);
    }
    return GZ_OK;
}

int ledger_tx_credit_adjust(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_credit_adjust *in = &tx->p.credit_adjust;
    const gz_credit_policy *p = &x->g->policy.credit;
    int err = ledger_require_role(x, GZ_ROLE_CREDIT_OFFICER, msg);
    if (err == GZ_OK) err = check_component(p, in->component, msg);
    if (err == GZ_OK) err = check_delta(p, in, msg);
    if (err != GZ_OK) return err;
    gov_src src = gov_src_ctx(x);
    gov_controller c;
    err = gov_controller_load(&src, in->controller_id, &c);
    if (err == GZ_ENOTFOUND) {
        return gz_fail(msg, err, "payload.controller_id: no controller %s", in->controller_id);
    }
    if (err != GZ_OK) return err;
    return gov_credit_apply(x, &c, in->component, in->delta, in->reason,
                            in->has_evidence ? in->evidence : NULL, in->memo, NULL);
}
