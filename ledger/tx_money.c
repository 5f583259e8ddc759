/* TRANSFER and WITHDRAW (SPEC §3): moving fen between registered accounts and
 * out of the ledger against an off-ledger payout reference. */
#include <string.h>

#include "core/json.h"
#include "ledger/ledger_impl.h"

static int check_amount(uint64_t amount, gz_msg *msg) {
    if (amount == 0) return gz_fail(msg, GZ_EARG, "payload.amount: must be > 0");
    if (amount > GZ_AMOUNT_MAX) {
        return gz_fail(msg, GZ_ELIMIT, "payload.amount: more than %llu",
                       (unsigned long long)GZ_AMOUNT_MAX);
    }
    return GZ_OK;
}

int ledger_tx_transfer(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_transfer *p = &tx->p.transfer;
    int err = check_amount(p->amount, msg);
    if (err != GZ_OK) return err;
    if (memcmp(p->to, tx->signer, 32) == 0) {
        return gz_fail(msg, GZ_EARG, "payload.to: cannot transfer to the signer");
    }
    err = ledger_require_account(x, p->to, "payload.to", msg);
    if (err == GZ_OK) err = ledger_balance_debit(x, tx->signer, p->amount, "transfer",
                                                 "payload.amount", msg);
    if (err == GZ_OK) err = ledger_balance_credit(x, p->to, p->amount, "transfer", "payload.to",
                                                  msg);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "transfer",
                             json_pack("{s:o, s:o, s:I, s:s}", "from",
                                       core_json_hex(tx->signer, 32), "to",
                                       core_json_hex(p->to, 32), "amount",
                                       (json_int_t)p->amount, "memo", p->memo));
}

int ledger_tx_withdraw(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_withdraw *p = &tx->p.withdraw;
    int err = check_amount(p->amount, msg);
    if (err == GZ_OK) err = ledger_balance_debit(x, tx->signer, p->amount, "withdraw",
                                                 "payload.amount", msg);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "withdraw",
                             json_pack("{s:o, s:I, s:s}", "account",
                                       core_json_hex(tx->signer, 32), "amount",
                                       (json_int_t)p->amount, "payout_ref", p->payout_ref));
}
