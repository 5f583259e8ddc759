/* PROPOSAL_CREATE, PROPOSAL_COSIGN, VOTE and the block-start hook (SPEC §3
 * "Proposals"). */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "ledger/gov.h"

static bool cosigned_kind(uint64_t kind) {
    return kind == GOV_KIND_DISTRUST || kind == GOV_KIND_TRUST;
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

/* DISTRUST and TRUST are created and co-signed by holders of a co-signer
 * class; the other kinds by a governor. */
static int check_signer(ledger_ctx *x, uint64_t kind, const char *what, gz_msg *msg) {
    if (!cosigned_kind(kind)) return ledger_require_role(x, GZ_ROLE_GOVERNOR, msg);
    ledger_account a;
    int err = ledger_account_get(x, x->tx->signer, &a);
    if (err != GZ_OK) return err == GZ_ENOTFOUND ? GZ_ECORRUPT : err;
    if ((a.classes & x->g->policy.votes.cosigner_classes) == 0) {
        return gz_fail(msg, GZ_ENOTELIGIBLE,
                       "signer: holds no class of policy.votes.cosigner_classes (%llu) to %s",
                       (unsigned long long)x->g->policy.votes.cosigner_classes, what);
    }
    return GZ_OK;
}

static int check_options(const gz_p_proposal_create *in, gz_msg *msg) {
    for (uint32_t i = 0; i < in->n_options; i++) {
        if (in->options[i][0] == '\0') {
            return gz_fail(msg, GZ_EARG, "payload.options[%u]: must not be empty", i);
        }
        for (uint32_t j = 0; j < i; j++) {
            if (strcmp(in->options[i], in->options[j]) == 0) {
                return gz_fail(msg, GZ_EARG, "payload.options[%u]: repeats options[%u]", i, j);
            }
        }
    }
    if (cosigned_kind(in->kind) && (in->n_options != 2 || strcmp(in->options[0], "yes") != 0 ||
                                    strcmp(in->options[1], "no") != 0)) {
        return gz_fail(msg, GZ_EARG, "payload.options: must be [\"yes\", \"no\"] for %s",
                       gov_kind_name(in->kind));
    }
    return GZ_OK;
}

static int check_pfp_subject(const char *subject, gz_msg *msg) {
    const char *slash = strchr(subject, '/');
    if (slash == NULL || slash == subject || slash[1] == '\0' || strchr(slash + 1, '/') != NULL) {
        return gz_fail(msg, GZ_EARG, "payload.subject: must be \"<project>/<stage>\" for pfp");
    }
    return GZ_OK;
}

static int check_params(const gz_p_proposal_create *in, gz_msg *msg) {
    if (in->subject[0] == '\0') return gz_fail(msg, GZ_EARG, "payload.subject: must not be empty");
    if (in->kind == GOV_KIND_PFP && check_pfp_subject(in->subject, msg) != GZ_OK) return GZ_EARG;
    if (in->min_level > GZ_LEVEL_MAX) {
        return gz_fail(msg, GZ_EARG, "payload.min_level: must be 0..%d", GZ_LEVEL_MAX);
    }
    if (in->weighting != GOV_W_ACCOUNT && in->weighting != GOV_W_TOKENS) {
        return gz_fail(msg, GZ_EARG, "payload.weighting: must be 1 (account) or 2 (gov_tokens)");
    }
    if (cosigned_kind(in->kind) &&
        (in->min_level != 0 || in->classes_any != 0 || in->weighting != GOV_W_ACCOUNT)) {
        return gz_fail(
            msg, GZ_EARG,
            "payload: %s takes min_level 0, classes_any 0 and weighting 1 (policy decides)",
            gov_kind_name(in->kind));
    }
    if (in->voting_ms == 0) return gz_fail(msg, GZ_EARG, "payload.voting_ms: must be > 0");
    if (in->voting_ms > GOV_VOTING_MS_MAX) {
        return gz_fail(msg, GZ_ELIMIT, "payload.voting_ms: over %llu",
                       (unsigned long long)GOV_VOTING_MS_MAX);
    }
    return check_options(in, msg);
}

static int require_controller(ledger_ctx *x, const char *id, const char *field, gz_msg *msg) {
    gov_src src = gov_src_ctx(x);
    gov_controller c;
    int err = gov_controller_load(&src, id, &c);
    if (err == GZ_ENOTFOUND) return gz_fail(msg, err, "%s: no controller %s", field, id);
    return err;
}

/* DISTRUST and TRUST are about a controller; BOARD ranks controllers. */
static int check_refs(ledger_ctx *x, const gz_p_proposal_create *in, gz_msg *msg) {
    if (cosigned_kind(in->kind)) return require_controller(x, in->subject, "payload.subject", msg);
    if (in->kind != GOV_KIND_BOARD) return GZ_OK;
    for (uint32_t i = 0; i < in->n_options; i++) {
        char field[32];
        snprintf(field, sizeof field, "payload.options[%u]", i);
        int err = require_controller(x, in->options[i], field, msg);
        if (err != GZ_OK) return err;
    }
    return GZ_OK;
}

static void proposal_open(const ledger_ctx *x, gov_proposal *p) {
    p->status = GOV_P_OPEN;
    p->opens_at = x->time;
    p->closes_at = add_sat(x->time, p->voting_ms);
}

static void proposal_from(const ledger_ctx *x, const gz_tx *tx, gov_proposal *p) {
    const gz_p_proposal_create *in = &tx->p.proposal_create;
    const gz_vote_policy *vp = &x->g->policy.votes;
    memset(p, 0, sizeof *p);
    memcpy(p->id, tx->txid, 32);
    p->kind = in->kind;
    snprintf(p->subject, sizeof p->subject, "%s", in->subject);
    snprintf(p->title, sizeof p->title, "%s", in->title);
    p->n_options = in->n_options;
    memcpy(p->options, in->options, sizeof p->options);
    p->min_level = cosigned_kind(in->kind) ? vp->voter_min_level : in->min_level;
    p->classes_any = cosigned_kind(in->kind) ? vp->voter_classes : in->classes_any;
    p->weighting = in->weighting;
    p->voting_ms = in->voting_ms;
    memcpy(p->creator, tx->signer, 32);
    p->created_at = x->time;
    if (cosigned_kind(in->kind)) {
        p->status = GOV_P_COSIGNING;
        p->cosigners = 1;
        p->expires_at = add_sat(x->time, vp->cosign_window_ms);
        if (p->cosigners >= vp->cosigners_required) proposal_open(x, p);
    } else {
        proposal_open(x, p);
    }
}

int ledger_tx_proposal_create(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_proposal_create *in = &tx->p.proposal_create;
    if (in->kind < 1 || in->kind > GOV_KIND_MAX) {
        return gz_fail(msg, GZ_EARG, "payload.kind: must be 1..%d", GOV_KIND_MAX);
    }
    if (in->kind == GOV_KIND_PRE_REVIEW) {
        return gz_fail(msg, GZ_EARG, "payload.kind: pre_review opens only with RELEASE_ANNOUNCE");
    }
    int err = check_signer(x, in->kind, "create it", msg);
    if (err == GZ_OK) err = check_params(in, msg);
    if (err == GZ_OK) err = check_refs(x, in, msg);
    if (err != GZ_OK) return err;
    gov_src src = gov_src_ctx(x);
    gov_proposal p;
    err = gov_proposal_load(&src, tx->txid, &p);
    if (err == GZ_OK) return gz_fail(msg, GZ_EDUP, "txid: proposal already exists");
    if (err != GZ_ENOTFOUND) return err;
    proposal_from(x, tx, &p);
    err = gov_proposal_insert(x, &p);
    if (err == GZ_OK && cosigned_kind(p.kind)) {
        ledger_key k;
        gov_key_cosigner(&k, p.id, tx->signer);
        err = gov_index_put(x, &k, 1);
    }
    if (err != GZ_OK) return err;
    return gov_proposal_event(x, "proposal", &p);
}

/* Loads the proposal a tx names: GZ_ENOTFOUND with a message if none. */
static int load_named(ledger_ctx *x, const uint8_t id[32], gov_proposal *p, gz_msg *msg) {
    gov_src src = gov_src_ctx(x);
    int err = gov_proposal_load(&src, id, p);
    if (err == GZ_ENOTFOUND) return gz_fail(msg, err, "payload.proposal_id: no such proposal");
    return err;
}

int ledger_tx_proposal_cosign(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    gov_proposal p;
    int err = load_named(x, tx->p.proposal_cosign.proposal_id, &p, msg);
    if (err != GZ_OK) return err;
    if (!cosigned_kind(p.kind)) {
        return gz_fail(msg, GZ_ESTATE, "payload.proposal_id: a %s proposal takes no co-signers",
                       gov_kind_name(p.kind));
    }
    if (p.status != GOV_P_COSIGNING || x->time >= p.expires_at) {
        return gz_fail(msg, GZ_ESTATE, "payload.proposal_id: proposal is %s, not cosigning",
                       gov_pstatus_name(p.status));
    }
    err = check_signer(x, p.kind, "co-sign", msg);
    if (err != GZ_OK) return err;
    ledger_key k;
    gz_buf val;
    gz_buf_init(&val);
    gov_key_cosigner(&k, p.id, tx->signer);
    err = ledger_state_get(x, &k, &val);
    gz_buf_free(&val);
    if (err == GZ_OK) return gz_fail(msg, GZ_EDUP, "signer: already co-signed this proposal");
    if (err != GZ_ENOTFOUND) return err;
    err = gov_index_put(x, &k, 1);
    if (err != GZ_OK) return err;
    p.cosigners++;
    if (p.cosigners >= x->g->policy.votes.cosigners_required) proposal_open(x, &p);
    err = gov_proposal_update(x, &p, GOV_P_COSIGNING);
    if (err == GZ_OK) {
        err = ledger_event_emit(
            x, "cosign",
            json_pack("{s:o, s:o, s:I, s:I}", "proposal_id", core_json_hex(p.id, 32), "cosigner",
                      core_json_hex(tx->signer, 32), "cosigners", (json_int_t)p.cosigners,
                      "required", (json_int_t)x->g->policy.votes.cosigners_required));
    }
    if (err == GZ_OK && p.status == GOV_P_OPEN) err = gov_proposal_event(x, "proposal_opened", &p);
    return err;
}

/* ---- VOTE ---- */

static int check_choices(const gz_p_vote *in, gz_msg *msg) {
    if (in->n_choices == 0) return gz_fail(msg, GZ_EARG, "payload.choices: must not be empty");
    for (uint32_t i = 1; i < in->n_choices; i++) {
        if (in->choices[i] <= in->choices[i - 1]) {
            return gz_fail(msg, GZ_EARG,
                           "payload.choices[%u]: choices must be distinct and ascending", i);
        }
    }
    return GZ_OK;
}

static int check_votable(const ledger_ctx *x, const gov_proposal *p, const gz_p_vote *in,
                         gz_msg *msg) {
    if (in->n_choices > 1 && p->kind != GOV_KIND_BOARD) {
        return gz_fail(msg, GZ_EARG,
                       "payload.choices: only board proposals take more than one choice");
    }
    if (in->choices[in->n_choices - 1] >= p->n_options) {
        return gz_fail(msg, GZ_EARG, "payload.choices: option %llu out of range (%u options)",
                       (unsigned long long)in->choices[in->n_choices - 1], p->n_options);
    }
    if (p->status == GOV_P_COSIGNING) {
        return gz_fail(msg, GZ_ESTATE, "payload.proposal_id: proposal is cosigning, not open yet");
    }
    if (p->status != GOV_P_OPEN || x->time >= p->closes_at) {
        return gz_fail(msg, GZ_ESTATE, "payload.proposal_id: proposal is %s, not open",
                       gov_pstatus_name(p->status));
    }
    return GZ_OK;
}

/* The voter's weight now: 1, or their gov_tokens; 0 is not eligible. */
static int vote_weight(ledger_ctx *x, const gov_proposal *p, uint64_t *weight, gz_msg *msg) {
    *weight = 0;
    ledger_account a;
    int err = ledger_account_get(x, x->tx->signer, &a);
    if (err != GZ_OK) return err == GZ_ENOTFOUND ? GZ_ECORRUPT : err;
    if (!gov_eligible(p->min_level, p->classes_any, a.level, a.classes)) {
        return gz_fail(
            msg, GZ_ENOTELIGIBLE,
            "signer: not eligible (level %llu, classes %llu; needs level >= %llu or classes %llu)",
            (unsigned long long)a.level, (unsigned long long)a.classes,
            (unsigned long long)p->min_level, (unsigned long long)p->classes_any);
    }
    uint64_t w = p->weighting == GOV_W_TOKENS ? a.gov_tokens : 1;
    if (w == 0) {
        return gz_fail(msg, GZ_ENOTELIGIBLE, "signer: voting weight would be 0 (no gov_tokens)");
    }
    *weight = w;
    return GZ_OK;
}

/* Moves weight in or out of p's tally for vote v. */
static void tally_move(gov_proposal *p, const gov_vote *v, bool add) {
    assert(v->n_choices <= GZ_CHOICES_MAX);
    for (uint32_t i = 0; i < v->n_choices; i++) {
        assert(v->choices[i] < p->n_options);
        uint64_t *t = &p->tally[v->choices[i]];
        assert(add || *t >= v->weight);
        *t = add ? *t + v->weight : *t - v->weight;
        /* Weights are gov_tokens (only granted, never moved, at most
         * policy.dao.total in all) or 1 per account: no sum passes the bound. */
        assert(*t <= GZ_AMOUNT_MAX);
    }
    assert(add || p->turnout >= v->weight);
    p->turnout = add ? p->turnout + v->weight : p->turnout - v->weight;
    assert(p->turnout <= GZ_AMOUNT_MAX);
}

static json_t *choices_json(const gov_vote *v) {
    json_t *a = json_array();
    for (uint32_t i = 0; a != NULL && i < v->n_choices; i++) {
        if (json_array_append_new(a, json_integer((json_int_t)v->choices[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return a;
}

int ledger_tx_vote(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_vote *in = &tx->p.vote;
    gov_proposal p;
    int err = check_choices(in, msg);
    if (err == GZ_OK) err = load_named(x, in->proposal_id, &p, msg);
    if (err == GZ_OK) err = check_votable(x, &p, in, msg);
    gov_vote v = {.n_choices = in->n_choices};
    if (err == GZ_OK) err = vote_weight(x, &p, &v.weight, msg);
    if (err != GZ_OK) return err;
    memcpy(v.choices, in->choices, sizeof v.choices);
    gov_src src = gov_src_ctx(x);
    gov_vote old;
    err = gov_vote_load(&src, p.id, tx->signer, &old);
    bool replaced = err == GZ_OK;
    if (err != GZ_OK && err != GZ_ENOTFOUND) return err;
    if (replaced) tally_move(&p, &old, false);
    if (!replaced) p.voters++;
    tally_move(&p, &v, true);
    err = gov_vote_store(x, p.id, tx->signer, &v);
    if (err == GZ_OK) err = gov_proposal_update(x, &p, p.status);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "vote",
                             json_pack("{s:o, s:o, s:o, s:I, s:b}", "proposal_id",
                                       core_json_hex(p.id, 32), "voter",
                                       core_json_hex(tx->signer, 32), "choices", choices_json(&v),
                                       "weight", (json_int_t)v.weight, "replaced", replaced));
}

int ledger_gov_begin_block(ledger_ctx *x) {
    assert(x->tx == NULL);
    int err = gov_close_due(x);
    if (err == GZ_OK) err = gov_expire_due(x);
    if (err == GZ_OK) err = gov_credit_lift_due(x);
    return err;
}
