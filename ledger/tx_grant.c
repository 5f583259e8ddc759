/* GOV_GRANT (SPEC §3): a governor grants governance quota (创世乾坤) from one
 * of the seven categories, never past the category's cap. */
#include <assert.h>
#include <string.h>

#include "core/json.h"
#include "ledger/ledger_impl.h"

__extension__ typedef unsigned __int128 u128;

int ledger_tx_gov_grant(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_gov_grant *p = &tx->p.gov_grant;
    int err = ledger_require_role(x, GZ_ROLE_GOVERNOR, msg);
    if (err != GZ_OK) return err;
    if (p->category < 1 || p->category > GZ_DAO_CATEGORIES) {
        return gz_fail(msg, GZ_EARG, "payload.category: must be in 1..%d", GZ_DAO_CATEGORIES);
    }
    if (p->amount == 0) return gz_fail(msg, GZ_EARG, "payload.amount: must be > 0");
    err = ledger_require_account(x, p->account, "payload.account", msg);
    if (err != GZ_OK) return err;
    const gz_dao_policy *d = &x->g->policy.dao;
    uint64_t cap = (uint64_t)((u128)d->total * d->caps_ppm[p->category] / GZ_PPM);
    ledger_key k;
    ledger_key_init(&k, LK_GRANTED);
    ledger_key_add_u8(&k, (uint8_t)p->category);
    gz_buf v = {0};
    uint64_t granted = 0;
    err = ledger_state_get(x, &k, &v);
    if (err == GZ_OK && v.len != 8) err = GZ_ECORRUPT;
    if (err == GZ_OK) granted = gz_get_u64be(v.data);
    gz_buf_free(&v);
    if (err != GZ_OK && err != GZ_ENOTFOUND) return err;
    assert(granted <= cap);
    if (p->amount > cap - granted) {
        return gz_fail(msg, GZ_ELIMIT,
                       "payload.amount: category %llu has %llu of %llu tokens left",
                       (unsigned long long)p->category, (unsigned long long)(cap - granted),
                       (unsigned long long)cap);
    }
    uint8_t b[8];
    gz_put_u64be(b, granted + p->amount);
    err = ledger_state_put(x, &k, b, 8);
    if (err == GZ_OK) err = ledger_gov_tokens_credit(x, p->account, p->amount, "grant",
                                                     "payload.account", msg);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "gov_grant",
                             json_pack("{s:o, s:I, s:I, s:I, s:I}", "account",
                                       core_json_hex(p->account, 32), "amount",
                                       (json_int_t)p->amount, "category",
                                       (json_int_t)p->category, "granted",
                                       (json_int_t)(granted + p->amount), "cap", (json_int_t)cap));
}
