/* REWARD_POOL (SPEC §3, 工作激励): the treasurer mints `amount` and pays it to
 * the accounts that voted in every listed proposal, in proportion to their
 * gov_tokens, with the largest-remainder rule in account id order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/gov.h"

static int check_args(const gz_p_reward_pool *in, gz_msg *msg) {
    if (in->pool_id[0] == '\0') return gz_fail(msg, GZ_EARG, "payload.pool_id: must not be empty");
    if (in->amount == 0) return gz_fail(msg, GZ_EARG, "payload.amount: must be > 0");
    if (in->amount > GZ_AMOUNT_MAX) {
        return gz_fail(msg, GZ_ELIMIT, "payload.amount: over %llu",
                       (unsigned long long)GZ_AMOUNT_MAX);
    }
    if (in->n_proposals == 0) {
        return gz_fail(msg, GZ_EARG, "payload.proposal_ids: must not be empty");
    }
    for (uint32_t i = 0; i < in->n_proposals; i++) {
        for (uint32_t j = 0; j < i; j++) {
            if (memcmp(in->proposal_ids[i], in->proposal_ids[j], 32) == 0) {
                return gz_fail(msg, GZ_EARG, "payload.proposal_ids[%u]: repeats proposal_ids[%u]",
                               i, j);
            }
        }
    }
    return GZ_OK;
}

/* Every listed proposal exists and has closed by vote; *base is the index of
 * the one with the fewest voters (every recipient is among its voters). */
static int check_proposals(ledger_ctx *x, const gz_p_reward_pool *in, uint32_t *base,
                           uint64_t *base_voters, gz_msg *msg) {
    gov_src src = gov_src_ctx(x);
    *base = 0;
    *base_voters = UINT64_MAX;
    for (uint32_t i = 0; i < in->n_proposals; i++) {
        gov_proposal p;
        int err = gov_proposal_load(&src, in->proposal_ids[i], &p);
        if (err == GZ_ENOTFOUND) {
            return gz_fail(msg, err, "payload.proposal_ids[%u]: no such proposal", i);
        }
        if (err != GZ_OK) return err;
        if (p.status != GOV_P_PASSED && p.status != GOV_P_REJECTED && p.status != GOV_P_TIED) {
            return gz_fail(msg, GZ_ESTATE, "payload.proposal_ids[%u]: proposal is %s, not closed",
                           i, gov_pstatus_name(p.status));
        }
        if (p.voters < *base_voters) {
            *base = i;
            *base_voters = p.voters;
        }
    }
    return GZ_OK;
}

typedef struct voter_list {
    uint8_t (*ids)[32];
    size_t n;
    size_t cap;
    int err;
} voter_list;

static bool voter_collect(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                          void *data) {
    (void)val;
    (void)val_len;
    voter_list *vl = data;
    if (key_len != 1 + 32 + 32 || vl->n == vl->cap) {
        vl->err = GZ_ECORRUPT;
        return false;
    }
    memcpy(vl->ids[vl->n++], key + 33, 32);
    return true;
}

/* Keeps the voters of base who voted in every other listed proposal and hold
 * gov_tokens; their tokens go to w (same order, account id order). */
static int filter_voters(ledger_ctx *x, const gz_p_reward_pool *in, uint32_t base, voter_list *vl,
                         uint64_t *w) {
    gov_src src = gov_src_ctx(x);
    size_t kept = 0;
    for (size_t v = 0; v < vl->n; v++) {
        bool all = true;
        for (uint32_t i = 0; i < in->n_proposals && all; i++) {
            if (i == base) continue;
            gov_vote vote;
            int err = gov_vote_load(&src, in->proposal_ids[i], vl->ids[v], &vote);
            if (err != GZ_OK && err != GZ_ENOTFOUND) return err;
            all = err == GZ_OK;
        }
        ledger_account a;
        int err = all ? ledger_account_get(x, vl->ids[v], &a) : GZ_OK;
        if (err != GZ_OK) return err == GZ_ENOTFOUND ? GZ_ECORRUPT : err;
        if (!all || a.gov_tokens == 0) continue;
        memmove(vl->ids[kept], vl->ids[v], 32);
        w[kept++] = a.gov_tokens;
    }
    vl->n = kept;
    return GZ_OK;
}

static int pay(ledger_ctx *x, const gz_p_reward_pool *in, const voter_list *vl, const uint64_t *w,
               uint64_t *out, gz_msg *msg) {
    int err = ledger_split_amount(out, in->amount, w, vl->n);
    if (err != GZ_OK) return err == GZ_EARG ? GZ_ECORRUPT : err;
    for (size_t i = 0; i < vl->n && err == GZ_OK; i++) {
        if (out[i] == 0) continue;
        err = ledger_balance_credit(x, vl->ids[i], out[i], "reward", "payload.amount", msg);
    }
    if (err != GZ_OK) return err;
    gov_pool pool = {.amount = in->amount, .recipients = vl->n, .created_at = x->time};
    snprintf(pool.id, sizeof pool.id, "%s", in->pool_id);
    err = gov_pool_store(x, &pool);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "reward_pool",
                             json_pack("{s:s, s:I, s:I}", "pool_id", pool.id, "amount",
                                       (json_int_t)pool.amount, "recipients",
                                       (json_int_t)pool.recipients));
}

static int distribute(ledger_ctx *x, const gz_p_reward_pool *in, uint32_t base, uint64_t n_voters,
                      gz_msg *msg) {
    if (n_voters == 0) return gz_fail(msg, GZ_ESTATE, "payload.proposal_ids: no eligible voter");
    if (n_voters > SIZE_MAX / 64) return GZ_ENOMEM;
    voter_list vl = {.ids = malloc((size_t)n_voters * 32), .cap = (size_t)n_voters};
    uint64_t *w = malloc((size_t)n_voters * sizeof *w);
    uint64_t *out = malloc((size_t)n_voters * sizeof *out);
    int err = vl.ids == NULL || w == NULL || out == NULL ? GZ_ENOMEM : GZ_OK;
    uint8_t prefix[33] = {GK_VOTE};
    memcpy(prefix + 1, in->proposal_ids[base], 32);
    if (err == GZ_OK) {
        err = ledger_state_scan(x, prefix, sizeof prefix, NULL, 0, voter_collect, &vl);
    }
    if (err == GZ_OK) err = vl.err;
    if (err == GZ_OK && vl.n != n_voters) err = GZ_ECORRUPT;
    if (err == GZ_OK) err = filter_voters(x, in, base, &vl, w);
    if (err == GZ_OK && vl.n == 0) {
        err = gz_fail(msg, GZ_ESTATE,
                      "payload.proposal_ids: no voter of every listed proposal holds gov_tokens");
    }
    if (err == GZ_OK) err = pay(x, in, &vl, w, out, msg);
    free(vl.ids);
    free(w);
    free(out);
    return err;
}

int ledger_tx_reward_pool(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_reward_pool *in = &tx->p.reward_pool;
    int err = ledger_require_role(x, GZ_ROLE_TREASURER, msg);
    if (err == GZ_OK) err = check_args(in, msg);
    if (err != GZ_OK) return err;
    gov_src src = gov_src_ctx(x);
    gov_pool old;
    err = gov_pool_load(&src, in->pool_id, &old);
    if (err == GZ_OK) return gz_fail(msg, GZ_EDUP, "payload.pool_id: %s already paid", in->pool_id);
    if (err != GZ_ENOTFOUND) return err;
    uint32_t base = 0;
    uint64_t n_voters = 0;
    err = check_proposals(x, in, &base, &n_voters, msg);
    if (err != GZ_OK) return err;
    return distribute(x, in, base, n_voters, msg);
}
