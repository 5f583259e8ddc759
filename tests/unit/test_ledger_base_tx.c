/* Table-driven tests of the base tx types: ACCOUNT_SET, TRANSFER, WITHDRAW,
 * GOV_GRANT, SPLIT_SET, REVENUE. Each case runs on a fresh ledger after an
 * optional setup, and checks the code and the field its message names; the
 * success cases check the resulting state and events. */
#include "tests/unit/test_ledger_base_kit.h"

typedef struct tx_case {
    const char *name;
    int signer;
    uint64_t type;
    void (*setup)(kit *k);
    void (*fill)(kit *k, gz_tx *tx);
    int code;
    const char *msg; /* expected prefix of the message */
} tx_case;

static void run_cases(const tx_case *cases, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const tx_case *c = &cases[i];
        kit k;
        kit_open(&k);
        if (c->setup != NULL) c->setup(&k);
        gz_tx *tx = kit_tx(&k, c->type, c->signer);
        if (c->fill != NULL) c->fill(&k, tx);
        char msg[200];
        int code = kit_run(&k, tx, msg, sizeof msg, NULL);
        cr_expect_eq(code, c->code, "%s: code %d (%s), want %d", c->name, code, msg, c->code);
        cr_expect(strncmp(msg, c->msg, strlen(c->msg)) == 0, "%s: message \"%s\", want \"%s…\"",
                  c->name, msg, c->msg);
        kit_close(&k);
    }
}

/* Gives user i `amount` fen: a one-recipient split owned by i and a REVENUE. */
static void fund(kit *k, int user, uint64_t amount) {
    gz_tx *s = kit_tx(k, GZ_TX_SPLIT_SET, user);
    snprintf(s->p.split_set.split_id, sizeof s->p.split_set.split_id, "fund-%d", user);
    s->p.split_set.n_recipients = 1;
    memcpy(s->p.split_set.recipients[0].account, k->pub[user], 32);
    s->p.split_set.recipients[0].share_ppm = 1000000;
    cr_assert_eq(kit_run(k, s, NULL, 0, NULL), 0);
    gz_tx *r = kit_tx(k, GZ_TX_REVENUE, K_TREASURER);
    snprintf(r->p.revenue.split_id, sizeof r->p.revenue.split_id, "fund-%d", user);
    r->p.revenue.amount = amount;
    cr_assert_eq(kit_run(k, r, NULL, 0, NULL), 0);
}

/* ---- ACCOUNT_SET ---- */

static void acct_new(kit *k, gz_tx *tx) {
    memcpy(tx->p.account_set.account, k->pub[K_STRANGER], 32);
    tx->p.account_set.level = 3;
    tx->p.account_set.classes = 8;
    snprintf(tx->p.account_set.label, sizeof tx->p.account_set.label, "new");
}
static void acct_level11(kit *k, gz_tx *tx) {
    acct_new(k, tx);
    tx->p.account_set.level = 11;
}
static void bad_nonce(kit *k, gz_tx *tx) {
    acct_new(k, tx);
    tx->nonce = 5;
}

Test(ledger_tx, account_set_codes) {
    const tx_case cases[] = {
        {"not registrar", K_USER0, GZ_TX_ACCOUNT_SET, NULL, acct_new, 5, "signer: not a registrar"},
        {"unregistered signer", K_STRANGER + 1, GZ_TX_ACCOUNT_SET, NULL, acct_new, 5,
         "signer: account not registered"},
        {"level 11", K_REGISTRAR, GZ_TX_ACCOUNT_SET, NULL, acct_level11, 12, "payload.level"},
        {"bad nonce", K_REGISTRAR, GZ_TX_ACCOUNT_SET, NULL, bad_nonce, 4, "nonce: expected 0"},
        {"create", K_REGISTRAR, GZ_TX_ACCOUNT_SET, NULL, acct_new, 0, ""},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

Test(ledger_tx, account_set_creates_then_updates_only_profile) {
    kit k;
    kit_open(&k);
    cr_assert_null(kit_account(&k, K_STRANGER));
    gz_tx *tx = kit_tx(&k, GZ_TX_ACCOUNT_SET, K_REGISTRAR);
    acct_new(&k, tx);
    json_t *ev;
    cr_assert_eq(kit_run(&k, tx, NULL, 0, &ev), 0);
    json_t *a = kit_event(ev, "account", 0);
    cr_assert_not_null(a);
    cr_expect(json_is_true(json_object_get(a, "created")));
    cr_expect_eq(json_integer_value(json_object_get(a, "level")), 3);
    json_decref(ev);
    cr_expect_eq(kit_field(&k, K_STRANGER, "level"), 3);
    cr_expect_eq(kit_field(&k, K_STRANGER, "classes"), 8);
    cr_expect_eq(kit_field(&k, K_STRANGER, "nonce"), 0);

    /* The new account can now sign; give it a balance and a nonce. */
    fund(&k, K_STRANGER, 500);
    cr_expect_eq(kit_field(&k, K_STRANGER, "balance"), 500);
    cr_expect_eq(kit_field(&k, K_STRANGER, "nonce"), 1);

    tx = kit_tx(&k, GZ_TX_ACCOUNT_SET, K_REGISTRAR);
    memcpy(tx->p.account_set.account, k.pub[K_STRANGER], 32);
    tx->p.account_set.level = 10;
    tx->p.account_set.classes = 3;
    snprintf(tx->p.account_set.label, sizeof tx->p.account_set.label, "renamed");
    cr_assert_eq(kit_run(&k, tx, NULL, 0, &ev), 0);
    cr_expect(json_is_false(json_object_get(kit_event(ev, "account", 0), "created")));
    json_decref(ev);
    json_t *acc = kit_account(&k, K_STRANGER);
    cr_expect_eq(json_integer_value(json_object_get(acc, "level")), 10);
    cr_expect_eq(json_integer_value(json_object_get(acc, "classes")), 3);
    cr_expect_str_eq(json_string_value(json_object_get(acc, "label")), "renamed");
    cr_expect_eq(json_integer_value(json_object_get(acc, "balance")), 500);
    cr_expect_eq(json_integer_value(json_object_get(acc, "nonce")), 1);
    json_decref(acc);
    kit_close(&k);
}

/* ---- TRANSFER and WITHDRAW ---- */

static void fund_user0(kit *k) { fund(k, K_USER0, 1000); }
static void xfer(kit *k, gz_tx *tx, int to, uint64_t amount) {
    memcpy(tx->p.transfer.to, k->pub[to], 32);
    tx->p.transfer.amount = amount;
    snprintf(tx->p.transfer.memo, sizeof tx->p.transfer.memo, "thanks");
}
static void xfer_ok(kit *k, gz_tx *tx) { xfer(k, tx, K_USER0 + 1, 400); }
static void xfer_zero(kit *k, gz_tx *tx) { xfer(k, tx, K_USER0 + 1, 0); }
static void xfer_too_much(kit *k, gz_tx *tx) { xfer(k, tx, K_USER0 + 1, 1001); }
static void xfer_stranger(kit *k, gz_tx *tx) { xfer(k, tx, K_STRANGER, 1); }
static void xfer_self(kit *k, gz_tx *tx) { xfer(k, tx, K_USER0, 1); }
static void xfer_huge(kit *k, gz_tx *tx) { xfer(k, tx, K_USER0 + 1, (uint64_t)INT64_MAX + 1); }

Test(ledger_tx, transfer_codes) {
    const tx_case cases[] = {
        {"amount 0", K_USER0, GZ_TX_TRANSFER, fund_user0, xfer_zero, 12, "payload.amount"},
        {"over max", K_USER0, GZ_TX_TRANSFER, fund_user0, xfer_huge, 9, "payload.amount"},
        {"insufficient", K_USER0, GZ_TX_TRANSFER, fund_user0, xfer_too_much, 10,
         "payload.amount: insufficient balance"},
        {"to unregistered", K_USER0, GZ_TX_TRANSFER, fund_user0, xfer_stranger, 7,
         "payload.to: account not registered"},
        {"to self", K_USER0, GZ_TX_TRANSFER, fund_user0, xfer_self, 12, "payload.to"},
        {"unregistered signer", K_STRANGER, GZ_TX_TRANSFER, NULL, xfer_ok, 5, "signer"},
        {"ok", K_USER0, GZ_TX_TRANSFER, fund_user0, xfer_ok, 0, ""},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

Test(ledger_tx, transfer_moves_balance_with_events) {
    kit k;
    kit_open(&k);
    fund(&k, K_USER0, 1000);
    gz_tx *tx = kit_tx(&k, GZ_TX_TRANSFER, K_USER0);
    xfer_ok(&k, tx);
    json_t *ev;
    cr_assert_eq(kit_run(&k, tx, NULL, 0, &ev), 0);
    cr_expect_eq(kit_field(&k, K_USER0, "balance"), 600);
    cr_expect_eq(kit_field(&k, K_USER0 + 1, "balance"), 400);
    json_t *debit = kit_event(ev, "balance", 0);
    json_t *credit = kit_event(ev, "balance", 1);
    json_t *t = kit_event(ev, "transfer", 0);
    cr_assert(debit != NULL && credit != NULL && t != NULL);
    char from[65];
    char to[65];
    kit_hex(from, K_USER0);
    kit_hex(to, K_USER0 + 1);
    cr_expect_str_eq(json_string_value(json_object_get(debit, "account")), from);
    cr_expect_eq(json_integer_value(json_object_get(debit, "delta")), -400);
    cr_expect_eq(json_integer_value(json_object_get(debit, "balance")), 600);
    cr_expect_str_eq(json_string_value(json_object_get(debit, "reason")), "transfer");
    cr_expect_str_eq(json_string_value(json_object_get(credit, "account")), to);
    cr_expect_eq(json_integer_value(json_object_get(credit, "delta")), 400);
    cr_expect_str_eq(json_string_value(json_object_get(t, "memo")), "thanks");
    cr_expect_eq(json_integer_value(json_object_get(t, "amount")), 400);
    json_decref(ev);
    kit_close(&k);
}

static void wd(kit *k, gz_tx *tx, uint64_t amount) {
    (void)k;
    tx->p.withdraw.amount = amount;
    snprintf(tx->p.withdraw.payout_ref, sizeof tx->p.withdraw.payout_ref, "bank-42");
}
static void wd_ok(kit *k, gz_tx *tx) { wd(k, tx, 1000); }
static void wd_zero(kit *k, gz_tx *tx) { wd(k, tx, 0); }
static void wd_over(kit *k, gz_tx *tx) { wd(k, tx, 1001); }

Test(ledger_tx, withdraw_codes_and_effect) {
    const tx_case cases[] = {
        {"amount 0", K_USER0, GZ_TX_WITHDRAW, fund_user0, wd_zero, 12, "payload.amount"},
        {"insufficient", K_USER0, GZ_TX_WITHDRAW, fund_user0, wd_over, 10, "payload.amount"},
        {"unregistered", K_STRANGER, GZ_TX_WITHDRAW, NULL, wd_ok, 5, "signer"},
        {"ok", K_USER0, GZ_TX_WITHDRAW, fund_user0, wd_ok, 0, ""},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);

    kit k;
    kit_open(&k);
    fund(&k, K_USER0, 1000);
    gz_tx *tx = kit_tx(&k, GZ_TX_WITHDRAW, K_USER0);
    wd(&k, tx, 250);
    json_t *ev;
    cr_assert_eq(kit_run(&k, tx, NULL, 0, &ev), 0);
    cr_expect_eq(kit_field(&k, K_USER0, "balance"), 750);
    json_t *w = kit_event(ev, "withdraw", 0);
    cr_assert_not_null(w);
    cr_expect_str_eq(json_string_value(json_object_get(w, "payout_ref")), "bank-42");
    cr_expect_eq(json_integer_value(json_object_get(kit_event(ev, "balance", 0), "delta")), -250);
    json_decref(ev);
    kit_close(&k);
}

/* ---- GOV_GRANT ---- */

static void grant(kit *k, gz_tx *tx, int to, uint64_t amount, uint64_t category) {
    memcpy(tx->p.gov_grant.account, k->pub[to], 32);
    tx->p.gov_grant.amount = amount;
    tx->p.gov_grant.category = category;
}
static void grant_ok(kit *k, gz_tx *tx) { grant(k, tx, K_USER0, 100, 1); }
static void grant_cat0(kit *k, gz_tx *tx) { grant(k, tx, K_USER0, 100, 0); }
static void grant_cat8(kit *k, gz_tx *tx) { grant(k, tx, K_USER0, 100, 8); }
static void grant_zero(kit *k, gz_tx *tx) { grant(k, tx, K_USER0, 0, 1); }
static void grant_stranger(kit *k, gz_tx *tx) { grant(k, tx, K_STRANGER, 1, 1); }
/* Category 3 caps at 5% of 10000 = 500 tokens. */
static void grant_over_cap(kit *k, gz_tx *tx) { grant(k, tx, K_USER0, 501, 3); }

Test(ledger_tx, gov_grant_codes) {
    const tx_case cases[] = {
        {"not governor", K_TREASURER, GZ_TX_GOV_GRANT, NULL, grant_ok, 5, "signer: not a governor"},
        {"category 0", K_GOVERNOR, GZ_TX_GOV_GRANT, NULL, grant_cat0, 12, "payload.category"},
        {"category 8", K_GOVERNOR, GZ_TX_GOV_GRANT, NULL, grant_cat8, 12, "payload.category"},
        {"amount 0", K_GOVERNOR, GZ_TX_GOV_GRANT, NULL, grant_zero, 12, "payload.amount"},
        {"unregistered target", K_GOVERNOR, GZ_TX_GOV_GRANT, NULL, grant_stranger, 7,
         "payload.account: account not registered"},
        {"over cap", K_GOVERNOR, GZ_TX_GOV_GRANT, NULL, grant_over_cap, 9, "payload.amount"},
        {"ok", K_GOVERNOR, GZ_TX_GOV_GRANT, NULL, grant_ok, 0, ""},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

Test(ledger_tx, gov_grant_fills_cap_exactly) {
    kit k;
    kit_open(&k);
    gz_tx *tx = kit_tx(&k, GZ_TX_GOV_GRANT, K_GOVERNOR);
    grant(&k, tx, K_USER0, 300, 3);
    json_t *ev;
    cr_assert_eq(kit_run(&k, tx, NULL, 0, &ev), 0);
    json_t *g = kit_event(ev, "gov_tokens", 0);
    cr_assert_not_null(g);
    cr_expect_eq(json_integer_value(json_object_get(g, "gov_tokens")), 300);
    cr_expect_eq(json_integer_value(json_object_get(kit_event(ev, "gov_grant", 0), "cap")), 500);
    json_decref(ev);
    tx = kit_tx(&k, GZ_TX_GOV_GRANT, K_GOVERNOR);
    grant(&k, tx, K_USER0 + 1, 201, 3);
    cr_expect_eq(kit_run(&k, tx, NULL, 0, NULL), 9);
    tx = kit_tx(&k, GZ_TX_GOV_GRANT, K_GOVERNOR);
    grant(&k, tx, K_USER0 + 1, 200, 3);
    cr_expect_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    tx = kit_tx(&k, GZ_TX_GOV_GRANT, K_GOVERNOR);
    grant(&k, tx, K_USER0 + 1, 1, 3);
    cr_expect_eq(kit_run(&k, tx, NULL, 0, NULL), 9);
    /* Other categories have their own caps. */
    tx = kit_tx(&k, GZ_TX_GOV_GRANT, K_GOVERNOR);
    grant(&k, tx, K_USER0 + 1, 1, 4);
    cr_expect_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    cr_expect_eq(kit_field(&k, K_USER0, "gov_tokens"), 300);
    cr_expect_eq(kit_field(&k, K_USER0 + 1, "gov_tokens"), 201);
    kit_close(&k);
}

/* ---- SPLIT_SET ---- */

static void split3(kit *k, gz_tx *tx, const char *id, bool is_mutable) {
    gz_p_split_set *p = &tx->p.split_set;
    snprintf(p->split_id, sizeof p->split_id, "%s", id);
    p->n_recipients = 3;
    for (int i = 0; i < 3; i++) memcpy(p->recipients[i].account, k->pub[K_USER0 + i], 32);
    p->recipients[0].share_ppm = 333333;
    p->recipients[1].share_ppm = 333333;
    p->recipients[2].share_ppm = 333334;
    p->is_mutable = is_mutable;
}
static void split_ok(kit *k, gz_tx *tx) { split3(k, tx, "album-1", true); }
static void split_empty_id(kit *k, gz_tx *tx) { split3(k, tx, "", true); }
static void split_short(kit *k, gz_tx *tx) {
    split3(k, tx, "s", true);
    tx->p.split_set.recipients[2].share_ppm = 333333;
}
static void split_zero_share(kit *k, gz_tx *tx) {
    split3(k, tx, "s", true);
    tx->p.split_set.recipients[0].share_ppm = 0;
    tx->p.split_set.recipients[1].share_ppm = 666666;
}
static void split_dup(kit *k, gz_tx *tx) {
    split3(k, tx, "s", true);
    memcpy(tx->p.split_set.recipients[2].account, k->pub[K_USER0], 32);
}
static void split_stranger(kit *k, gz_tx *tx) {
    split3(k, tx, "s", true);
    memcpy(tx->p.split_set.recipients[1].account, k->pub[K_STRANGER], 32);
}
static void setup_mutable(kit *k) {
    gz_tx *tx = kit_tx(k, GZ_TX_SPLIT_SET, K_USER0);
    split3(k, tx, "album-1", true);
    cr_assert_eq(kit_run(k, tx, NULL, 0, NULL), 0);
}
static void setup_immutable(kit *k) {
    gz_tx *tx = kit_tx(k, GZ_TX_SPLIT_SET, K_USER0);
    split3(k, tx, "album-1", false);
    cr_assert_eq(kit_run(k, tx, NULL, 0, NULL), 0);
}

Test(ledger_tx, split_set_codes) {
    const tx_case cases[] = {
        {"empty id", K_USER0, GZ_TX_SPLIT_SET, NULL, split_empty_id, 12, "payload.split_id"},
        {"shares short", K_USER0, GZ_TX_SPLIT_SET, NULL, split_short, 12,
         "payload.recipients: shares sum to 999999"},
        {"zero share", K_USER0, GZ_TX_SPLIT_SET, NULL, split_zero_share, 12,
         "payload.recipients[0].share_ppm"},
        {"duplicate", K_USER0, GZ_TX_SPLIT_SET, NULL, split_dup, 12,
         "payload.recipients[2].account: duplicate"},
        {"unregistered recipient", K_USER0, GZ_TX_SPLIT_SET, NULL, split_stranger, 7,
         "payload.recipients[1].account: account not registered"},
        {"unregistered signer", K_STRANGER, GZ_TX_SPLIT_SET, NULL, split_ok, 5, "signer"},
        {"not owner", K_USER0 + 1, GZ_TX_SPLIT_SET, setup_mutable, split_ok, 5,
         "signer: not the split's owner"},
        {"immutable", K_USER0, GZ_TX_SPLIT_SET, setup_immutable, split_ok, 10,
         "payload.split_id: split is immutable"},
        {"owner updates", K_USER0, GZ_TX_SPLIT_SET, setup_mutable, split_ok, 0, ""},
        {"create", K_USER0 + 4, GZ_TX_SPLIT_SET, NULL, split_ok, 0, ""},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

Test(ledger_tx, split_set_records_owner_and_can_be_frozen) {
    kit k;
    kit_open(&k);
    gz_tx *tx = kit_tx(&k, GZ_TX_SPLIT_SET, K_USER0 + 5);
    split3(&k, tx, "album-1", true);
    json_t *ev;
    cr_assert_eq(kit_run(&k, tx, NULL, 0, &ev), 0);
    cr_expect(json_is_true(json_object_get(kit_event(ev, "split", 0), "created")));
    json_decref(ev);
    json_t *sp;
    cr_assert_eq(ledger_query_split(k.l, "album-1", &sp), GZ_OK);
    char owner[65];
    kit_hex(owner, K_USER0 + 5);
    cr_expect_str_eq(json_string_value(json_object_get(sp, "owner")), owner);
    cr_expect_eq(json_array_size(json_object_get(sp, "recipients")), 3);
    cr_expect(json_is_true(json_object_get(sp, "mutable")));
    json_decref(sp);
    /* The owner freezes it; afterwards even the owner cannot change it. */
    tx = kit_tx(&k, GZ_TX_SPLIT_SET, K_USER0 + 5);
    split3(&k, tx, "album-1", false);
    tx->p.split_set.n_recipients = 1;
    tx->p.split_set.recipients[0].share_ppm = 1000000;
    cr_assert_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    tx = kit_tx(&k, GZ_TX_SPLIT_SET, K_USER0 + 5);
    split3(&k, tx, "album-1", true);
    cr_expect_eq(kit_run(&k, tx, NULL, 0, NULL), 10);
    cr_assert_eq(ledger_query_split(k.l, "album-1", &sp), GZ_OK);
    cr_expect_eq(json_array_size(json_object_get(sp, "recipients")), 1);
    cr_expect(json_is_false(json_object_get(sp, "mutable")));
    json_decref(sp);
    cr_expect_eq(ledger_query_split(k.l, "no-such", &sp), GZ_ENOTFOUND);
    kit_close(&k);
}

/* ---- REVENUE ---- */

static void rev(kit *k, gz_tx *tx, const char *id, uint64_t amount) {
    (void)k;
    snprintf(tx->p.revenue.split_id, sizeof tx->p.revenue.split_id, "%s", id);
    tx->p.revenue.amount = amount;
    snprintf(tx->p.revenue.sale_ref, sizeof tx->p.revenue.sale_ref, "order-7");
}
static void rev_ok(kit *k, gz_tx *tx) { rev(k, tx, "album-1", 100); }
static void rev_zero(kit *k, gz_tx *tx) { rev(k, tx, "album-1", 0); }
static void rev_missing(kit *k, gz_tx *tx) { rev(k, tx, "album-2", 100); }

Test(ledger_tx, revenue_codes) {
    const tx_case cases[] = {
        {"not treasurer", K_GOVERNOR, GZ_TX_REVENUE, setup_mutable, rev_ok, 5,
         "signer: not a treasurer"},
        {"amount 0", K_TREASURER, GZ_TX_REVENUE, setup_mutable, rev_zero, 12, "payload.amount"},
        {"no split", K_TREASURER, GZ_TX_REVENUE, setup_mutable, rev_missing, 7,
         "payload.split_id: no such split"},
        {"ok", K_TREASURER, GZ_TX_REVENUE, setup_mutable, rev_ok, 0, ""},
    };
    run_cases(cases, sizeof cases / sizeof cases[0]);
}

Test(ledger_tx, revenue_uses_largest_remainder) {
    kit k;
    kit_open(&k);
    setup_mutable(&k);
    gz_tx *tx = kit_tx(&k, GZ_TX_REVENUE, K_TREASURER);
    rev(&k, tx, "album-1", 100);
    json_t *ev;
    cr_assert_eq(kit_run(&k, tx, NULL, 0, &ev), 0);
    /* 33.3333, 33.3333, 33.3334: the one fen left goes to the largest fraction. */
    cr_expect_eq(kit_field(&k, K_USER0, "balance"), 33);
    cr_expect_eq(kit_field(&k, K_USER0 + 1, "balance"), 33);
    cr_expect_eq(kit_field(&k, K_USER0 + 2, "balance"), 34);
    json_t *r = kit_event(ev, "revenue", 0);
    cr_assert_not_null(r);
    cr_expect_str_eq(json_string_value(json_object_get(r, "sale_ref")), "order-7");
    cr_expect_eq(json_integer_value(json_object_get(r, "total_distributed")), 100);
    cr_expect_str_eq(json_string_value(json_object_get(kit_event(ev, "balance", 2), "reason")),
                     "revenue");
    json_decref(ev);
    /* 2 fen over shares 333333/333333/333334: fractions .66666, .66666, .66668. */
    tx = kit_tx(&k, GZ_TX_REVENUE, K_TREASURER);
    rev(&k, tx, "album-1", 2);
    cr_assert_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    cr_expect_eq(kit_field(&k, K_USER0, "balance"), 34);
    cr_expect_eq(kit_field(&k, K_USER0 + 1, "balance"), 33);
    cr_expect_eq(kit_field(&k, K_USER0 + 2, "balance"), 35);
    json_t *sp;
    cr_assert_eq(ledger_query_split(k.l, "album-1", &sp), GZ_OK);
    cr_expect_eq(json_integer_value(json_object_get(sp, "total_distributed")), 102);
    json_decref(sp);
    kit_close(&k);
}

Test(ledger_tx, revenue_tie_goes_to_earlier_recipient) {
    kit k;
    kit_open(&k);
    gz_tx *tx = kit_tx(&k, GZ_TX_SPLIT_SET, K_USER0);
    split3(&k, tx, "halves", false);
    tx->p.split_set.n_recipients = 2;
    tx->p.split_set.recipients[0].share_ppm = 500000;
    tx->p.split_set.recipients[1].share_ppm = 500000;
    cr_assert_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    tx = kit_tx(&k, GZ_TX_REVENUE, K_TREASURER);
    rev(&k, tx, "halves", 3);
    cr_assert_eq(kit_run(&k, tx, NULL, 0, NULL), 0);
    cr_expect_eq(kit_field(&k, K_USER0, "balance"), 2);
    cr_expect_eq(kit_field(&k, K_USER0 + 1, "balance"), 1);
    kit_close(&k);
}
