/* ACCOUNT_SET (SPEC §3): the registrar creates an account, or updates an
 * existing one's level, classes and label (never its nonce or balances). */
#include <string.h>

#include "core/json.h"
#include "ledger/ledger_impl.h"

int ledger_tx_account_set(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_account_set *p = &tx->p.account_set;
    int err = ledger_require_role(x, GZ_ROLE_REGISTRAR, msg);
    if (err != GZ_OK) return err;
    if (p->level > GZ_LEVEL_MAX) {
        return gz_fail(msg, GZ_EARG, "payload.level: must be in 0..%d (got %llu)", GZ_LEVEL_MAX,
                       (unsigned long long)p->level);
    }
    if (p->classes > GZ_AMOUNT_MAX) {
        return gz_fail(msg, GZ_EARG, "payload.classes: too large");
    }
    ledger_account a;
    err = ledger_account_get(x, p->account, &a);
    if (err != GZ_OK && err != GZ_ENOTFOUND) return err;
    bool created = err == GZ_ENOTFOUND;
    if (created) memcpy(a.id, p->account, 32);
    a.level = p->level;
    a.classes = p->classes;
    memcpy(a.label, p->label, sizeof a.label);
    err = ledger_account_put(x, &a);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "account",
                             json_pack("{s:o, s:b, s:I, s:I, s:s}", "account",
                                       core_json_hex(a.id, 32), "created", created, "level",
                                       (json_int_t)a.level, "classes", (json_int_t)a.classes,
                                       "label", a.label));
}
