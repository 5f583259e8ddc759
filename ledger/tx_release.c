/* RELEASE_ANNOUNCE and its automatic pre-review (SPEC §3 "Releases and
 * pre-review"). */
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "ledger/gov.h"

static int check_args(const ledger_ctx *x, const gz_p_release_announce *in, gz_msg *msg) {
    const gz_vote_policy *vp = &x->g->policy.votes;
    if (in->release_id[0] == '\0') {
        return gz_fail(msg, GZ_EARG, "payload.release_id: must not be empty");
    }
    if (in->title[0] == '\0') return gz_fail(msg, GZ_EARG, "payload.title: must not be empty");
    if (in->supply == 0) return gz_fail(msg, GZ_EARG, "payload.supply: must be > 0");
    if (in->supply > GZ_AMOUNT_MAX) {
        return gz_fail(msg, GZ_ELIMIT, "payload.supply: over %llu",
                       (unsigned long long)GZ_AMOUNT_MAX);
    }
    if (in->price > GZ_AMOUNT_MAX) {
        return gz_fail(msg, GZ_ELIMIT, "payload.price: over %llu",
                       (unsigned long long)GZ_AMOUNT_MAX);
    }
    uint64_t earliest =
        x->time > UINT64_MAX - vp->pre_review_ms ? UINT64_MAX : x->time + vp->pre_review_ms;
    if (in->release_time < earliest) {
        return gz_fail(msg, GZ_EARG,
                       "payload.release_time: must be >= %llu (block time + pre_review_ms)",
                       (unsigned long long)earliest);
    }
    return GZ_OK;
}

/* The issuer exists, the signer owns it, and its controller is not suspended. */
static int check_issuer(ledger_ctx *x, const gz_tx *tx, gov_issuer *is, gz_msg *msg) {
    const gz_p_release_announce *in = &tx->p.release_announce;
    gov_src src = gov_src_ctx(x);
    int err = gov_issuer_load(&src, in->issuer_id, is);
    if (err == GZ_ENOTFOUND) {
        return gz_fail(msg, err, "payload.issuer_id: no issuer %s", in->issuer_id);
    }
    if (err != GZ_OK) return err;
    if (memcmp(is->owner, tx->signer, 32) != 0) {
        return gz_fail(msg, GZ_EROLE, "signer: not the owner of issuer %s", is->id);
    }
    gov_controller c;
    err = gov_controller_load(&src, is->controller_id, &c);
    if (err == GZ_ENOTFOUND) return GZ_ECORRUPT;
    if (err != GZ_OK) return err;
    if (c.status == GOV_C_SUSPENDED) {
        return gz_fail(msg, GZ_ESTATE, "payload.issuer_id: controller %s is suspended", c.id);
    }
    return GZ_OK;
}

/* A release id is announced once; a delayed release may be announced again
 * by its own issuer. */
static int check_existing(ledger_ctx *x, const gz_p_release_announce *in, gz_msg *msg) {
    gov_src src = gov_src_ctx(x);
    gov_release old;
    int err = gov_release_load(&src, in->release_id, &old);
    if (err == GZ_ENOTFOUND) return GZ_OK;
    if (err != GZ_OK) return err;
    if (strcmp(old.issuer_id, in->issuer_id) != 0) {
        return gz_fail(msg, GZ_EDUP, "payload.release_id: %s belongs to issuer %s", old.id,
                       old.issuer_id);
    }
    if (old.status != GOV_R_DELAYED) {
        return gz_fail(msg, GZ_EDUP, "payload.release_id: %s already announced (%s)", old.id,
                       gov_rstatus_name(old.status));
    }
    return GZ_OK;
}

static int open_pre_review(ledger_ctx *x, const gz_tx *tx) {
    const gz_p_release_announce *in = &tx->p.release_announce;
    const gz_vote_policy *vp = &x->g->policy.votes;
    gov_proposal p;
    memset(&p, 0, sizeof p);
    memcpy(p.id, tx->txid, 32);
    p.kind = GOV_KIND_PRE_REVIEW;
    snprintf(p.subject, sizeof p.subject, "%s", in->release_id);
    snprintf(p.title, sizeof p.title, "%s", in->title);
    p.n_options = 2;
    snprintf(p.options[0], sizeof p.options[0], "approve");
    snprintf(p.options[1], sizeof p.options[1], "reject");
    p.min_level = vp->reviewer_min_level;
    p.classes_any = 0;
    p.weighting = GOV_W_ACCOUNT;
    memcpy(p.creator, tx->signer, 32);
    p.status = GOV_P_OPEN;
    p.created_at = x->time;
    p.opens_at = x->time;
    p.closes_at = in->release_time - vp->pre_review_close_ms;
    p.voting_ms = p.closes_at - x->time;
    int err = gov_proposal_insert(x, &p);
    if (err != GZ_OK) return err;
    return gov_proposal_event(x, "proposal", &p);
}

int ledger_tx_release_announce(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_release_announce *in = &tx->p.release_announce;
    gov_issuer is;
    int err = check_args(x, in, msg);
    if (err == GZ_OK) err = check_issuer(x, tx, &is, msg);
    if (err == GZ_OK && in->has_final_anchor) {
        ledger_key k;
        gz_buf val;
        gz_buf_init(&val);
        ledger_key_init(&k, LK_ANCHOR);
        ledger_key_add(&k, in->final_anchor, 32);
        err = ledger_state_get(x, &k, &val);
        gz_buf_free(&val);
        if (err == GZ_ENOTFOUND) {
            return gz_fail(msg, err, "payload.final_anchor: artifact not anchored");
        }
    }
    if (err == GZ_OK) err = check_existing(x, in, msg);
    if (err != GZ_OK) return err;
    gov_release r;
    memset(&r, 0, sizeof r);
    snprintf(r.id, sizeof r.id, "%s", in->release_id);
    snprintf(r.issuer_id, sizeof r.issuer_id, "%s", is.id);
    snprintf(r.controller_id, sizeof r.controller_id, "%s", is.controller_id);
    snprintf(r.title, sizeof r.title, "%s", in->title);
    r.supply = in->supply;
    r.price = in->price;
    r.release_time = in->release_time;
    r.has_final_anchor = in->has_final_anchor;
    memcpy(r.final_anchor, in->final_anchor, 32);
    r.status = GOV_R_PRE_REVIEW;
    memcpy(r.proposal_id, tx->txid, 32);
    r.announced_at = x->time;
    err = gov_release_store(x, &r);
    if (err == GZ_OK) err = open_pre_review(x, tx);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "release",
                             json_pack("{s:s, s:s, s:s, s:s, s:o, s:I}", "release_id", r.id,
                                       "issuer_id", r.issuer_id, "controller_id", r.controller_id,
                                       "status", gov_rstatus_name(r.status), "proposal_id",
                                       core_json_hex(r.proposal_id, 32), "release_time",
                                       (json_int_t)r.release_time));
}

int gov_release_reviewed(ledger_ctx *x, const gov_proposal *p) {
    gov_src src = gov_src_ctx(x);
    gov_release r;
    int err = gov_release_load(&src, p->subject, &r);
    if (err == GZ_ENOTFOUND) return GZ_ECORRUPT;
    if (err != GZ_OK) return err;
    /* Only the latest announcement's pre-review decides (a release is announced
     * again only after its previous review closed, so this always holds). */
    if (memcmp(r.proposal_id, p->id, 32) != 0 || r.status != GOV_R_PRE_REVIEW) return GZ_ECORRUPT;
    r.status = p->status == GOV_P_REJECTED ? GOV_R_DELAYED : GOV_R_APPROVED;
    err = gov_release_store(x, &r);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "release_status",
                             json_pack("{s:s, s:s, s:s, s:o}", "release_id", r.id, "from",
                                       gov_rstatus_name(GOV_R_PRE_REVIEW), "to",
                                       gov_rstatus_name(r.status), "proposal_id",
                                       core_json_hex(p->id, 32)));
}
