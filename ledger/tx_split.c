/* SPLIT_SET and REVENUE (SPEC §3, 智能合约自动分账): a split names recipients
 * with shares summing to exactly 1,000,000 ppm; REVENUE records a sale and
 * credits the recipients by the largest-remainder rule. */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/json.h"
#include "core/mp.h"
#include "ledger/ledger_impl.h"

void ledger_split_key(ledger_key *k, const char *split_id) {
    ledger_key_init(k, LK_SPLIT);
    ledger_key_add_str(k, split_id);
}

/* [owner bin32, mutable bool, total_distributed uint, [[account, share], …]]. */
int ledger_split_encode(const ledger_split *sp, gz_buf *out) {
    /* ledger_split_decode reads back only 1..GZ_RECIPIENTS_MAX recipients. */
    assert(sp->n_recipients >= 1);
    assert(sp->n_recipients <= GZ_RECIPIENTS_MAX);
    assert(sp->total_distributed <= GZ_AMOUNT_MAX);
    int err = mp_put_array(out, 4);
    if (err == GZ_OK) err = mp_put_bin(out, sp->owner, 32);
    if (err == GZ_OK) err = mp_put_bool(out, sp->is_mutable);
    if (err == GZ_OK) err = mp_put_uint(out, sp->total_distributed);
    if (err == GZ_OK) err = mp_put_array(out, sp->n_recipients);
    for (uint32_t i = 0; err == GZ_OK && i < sp->n_recipients; i++) {
        err = mp_put_array(out, 2);
        if (err == GZ_OK) err = mp_put_bin(out, sp->recipients[i].account, 32);
        if (err == GZ_OK) err = mp_put_uint(out, sp->recipients[i].share_ppm);
    }
    return err;
}

int ledger_split_decode(ledger_split *sp, const char *split_id, const uint8_t *p, size_t len) {
    memset(sp, 0, sizeof *sp);
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    int err = mp_get_array_n(&rd, "split", 4);
    if (err == GZ_OK) err = mp_get_bin_fixed(&rd, "owner", sp->owner, 32);
    if (err == GZ_OK) err = mp_get_bool(&rd, "mutable", &sp->is_mutable);
    if (err == GZ_OK) err = mp_get_uint(&rd, "total", &sp->total_distributed);
    if (err == GZ_OK) {
        err = mp_get_array(&rd, "recipients", &sp->n_recipients, 1, GZ_RECIPIENTS_MAX);
    }
    for (uint32_t i = 0; err == GZ_OK && i < sp->n_recipients; i++) {
        err = mp_get_array_n(&rd, "recipient", 2);
        if (err == GZ_OK) err = mp_get_bin_fixed(&rd, "account", sp->recipients[i].account, 32);
        if (err == GZ_OK) err = mp_get_uint(&rd, "share", &sp->recipients[i].share_ppm);
    }
    if (err == GZ_OK) err = mp_rd_end(&rd);
    if (err != GZ_OK || strlen(split_id) > GZ_ID_MAX) {
        memset(sp, 0, sizeof *sp);
        return GZ_ECORRUPT;
    }
    memcpy(sp->split_id, split_id, strlen(split_id) + 1);
    return GZ_OK;
}

/* Loads a split into *sp: GZ_OK, GZ_ENOTFOUND or an internal error. */
static int split_get(ledger_ctx *x, const char *split_id, ledger_split *sp) {
    memset(sp, 0, sizeof *sp);
    ledger_key k;
    ledger_split_key(&k, split_id);
    gz_buf v = {0};
    int err = ledger_state_get(x, &k, &v);
    if (err == GZ_OK) err = ledger_split_decode(sp, split_id, v.data, v.len);
    gz_buf_free(&v);
    return err;
}

static int split_put(ledger_ctx *x, const ledger_split *sp) {
    ledger_key k;
    ledger_split_key(&k, sp->split_id);
    gz_buf v = {0};
    int err = ledger_split_encode(sp, &v);
    if (err == GZ_OK) err = ledger_state_put(x, &k, v.data, v.len);
    gz_buf_free(&v);
    return err;
}

/* Shares positive and summing to 1,000,000; recipients distinct and registered. */
static int check_recipients(ledger_ctx *x, const gz_p_split_set *p, gz_msg *msg) {
    uint64_t sum = 0;
    for (uint32_t i = 0; i < p->n_recipients; i++) {
        const gz_split_recipient *r = &p->recipients[i];
        if (r->share_ppm == 0 || r->share_ppm > GZ_PPM) {
            return gz_fail(msg, GZ_EARG, "payload.recipients[%u].share_ppm: must be in 1..1000000",
                           i);
        }
        sum += r->share_ppm;
        for (uint32_t j = 0; j < i; j++) {
            if (memcmp(p->recipients[j].account, r->account, 32) == 0) {
                return gz_fail(msg, GZ_EARG, "payload.recipients[%u].account: duplicate recipient",
                               i);
            }
        }
    }
    if (sum != GZ_PPM) {
        return gz_fail(msg, GZ_EARG, "payload.recipients: shares sum to %llu ppm, not 1000000",
                       (unsigned long long)sum);
    }
    for (uint32_t i = 0; i < p->n_recipients; i++) {
        char field[48];
        snprintf(field, sizeof field, "payload.recipients[%u].account", i);
        int err = ledger_require_account(x, p->recipients[i].account, field, msg);
        if (err != GZ_OK) return err;
    }
    return GZ_OK;
}

int ledger_tx_split_set(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_split_set *p = &tx->p.split_set;
    if (p->split_id[0] == '\0') return gz_fail(msg, GZ_EARG, "payload.split_id: must not be empty");
    if (p->n_recipients < 1 || p->n_recipients > GZ_RECIPIENTS_MAX) {
        return gz_fail(msg, GZ_EARG, "payload.recipients: expected 1..%d", GZ_RECIPIENTS_MAX);
    }
    ledger_split sp;
    int err = split_get(x, p->split_id, &sp);
    if (err != GZ_OK && err != GZ_ENOTFOUND) return err;
    bool created = err == GZ_ENOTFOUND;
    if (created) {
        memcpy(sp.split_id, p->split_id, sizeof sp.split_id);
        memcpy(sp.owner, tx->signer, 32);
    } else if (!sp.is_mutable) {
        return gz_fail(msg, GZ_ESTATE, "payload.split_id: split is immutable");
    } else if (memcmp(sp.owner, tx->signer, 32) != 0) {
        return gz_fail(msg, GZ_EROLE, "signer: not the split's owner");
    }
    err = check_recipients(x, p, msg);
    if (err != GZ_OK) return err;
    sp.is_mutable = p->is_mutable;
    sp.n_recipients = p->n_recipients;
    memcpy(sp.recipients, p->recipients, p->n_recipients * sizeof p->recipients[0]);
    err = split_put(x, &sp);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "split",
                             json_pack("{s:s, s:o, s:b, s:b, s:i}", "split_id", sp.split_id,
                                       "owner", core_json_hex(sp.owner, 32), "created", created,
                                       "mutable", sp.is_mutable, "recipients",
                                       (int)sp.n_recipients));
}

int ledger_tx_revenue(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_revenue *p = &tx->p.revenue;
    int err = ledger_require_role(x, GZ_ROLE_TREASURER, msg);
    if (err != GZ_OK) return err;
    if (p->amount == 0) return gz_fail(msg, GZ_EARG, "payload.amount: must be > 0");
    ledger_split sp;
    err = split_get(x, p->split_id, &sp);
    if (err == GZ_ENOTFOUND) return gz_fail(msg, err, "payload.split_id: no such split");
    if (err != GZ_OK) return err;
    if (p->amount > GZ_AMOUNT_MAX - sp.total_distributed) {
        return gz_fail(msg, GZ_ELIMIT, "payload.amount: split total would exceed %llu",
                       (unsigned long long)GZ_AMOUNT_MAX);
    }
    uint64_t w[GZ_RECIPIENTS_MAX];
    uint64_t out[GZ_RECIPIENTS_MAX];
    for (uint32_t i = 0; i < sp.n_recipients; i++) w[i] = sp.recipients[i].share_ppm;
    err = ledger_split_amount(out, p->amount, w, sp.n_recipients);
    for (uint32_t i = 0; err == GZ_OK && i < sp.n_recipients; i++) {
        if (out[i] == 0) continue;
        err = ledger_balance_credit(x, sp.recipients[i].account, out[i], "revenue",
                                    "payload.amount", msg);
    }
    if (err != GZ_OK) return err;
    sp.total_distributed += p->amount;
    err = split_put(x, &sp);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "revenue",
                             json_pack("{s:s, s:I, s:s, s:I}", "split_id", sp.split_id, "amount",
                                       (json_int_t)p->amount, "sale_ref", p->sale_ref,
                                       "total_distributed", (json_int_t)sp.total_distributed));
}
