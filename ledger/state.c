/* The handler framework of ledger_internal.h: keys, state access, accounts,
 * balances, roles, events and the largest-remainder split. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/mp.h"
#include "ledger/ledger_impl.h"
#include "storage/keys.h"

__extension__ typedef unsigned __int128 u128;

/* ---- keys ---- */

void ledger_key_init(ledger_key *k, uint8_t family) {
    k->len = 1;
    k->bytes[0] = family;
}

void ledger_key_add(ledger_key *k, const void *p, size_t n) {
    assert(n <= LEDGER_KEY_MAX - k->len);
    if (n > 0) memcpy(k->bytes + k->len, p, n);
    k->len += n;
}

void ledger_key_add_str(ledger_key *k, const char *s) {
    size_t n = strlen(s);
    assert(n <= 255);
    ledger_key_add_u8(k, (uint8_t)n);
    ledger_key_add(k, s, n);
}

void ledger_key_add_u64(ledger_key *k, uint64_t v) {
    uint8_t b[8];
    gz_put_u64be(b, v);
    ledger_key_add(k, b, 8);
}

void ledger_key_add_u8(ledger_key *k, uint8_t v) { ledger_key_add(k, &v, 1); }

/* ---- raw state ---- */

int ledger_state_get(ledger_ctx *x, const ledger_key *k, gz_buf *val) {
    return ledger_ov_get(x->ov, k->bytes, k->len, val);
}

int ledger_state_put(ledger_ctx *x, const ledger_key *k, const void *val, size_t len) {
    if (len > LEDGER_VALUE_MAX) return GZ_EARG;
    return ledger_ov_put(x->ov, k->bytes, k->len, val, len);
}

int ledger_state_del(ledger_ctx *x, const ledger_key *k) {
    return ledger_ov_del(x->ov, k->bytes, k->len);
}

int ledger_state_scan(ledger_ctx *x, const uint8_t *prefix, size_t prefix_len,
                      const uint8_t *start, size_t start_len, ledger_scan_cb cb, void *data) {
    return ledger_ov_scan(x->ov, prefix, prefix_len, start, start_len, cb, data);
}

int ledger_committed_get(ledger *l, const ledger_key *k, gz_buf *val) {
    gz_buf_reset(val);
    return store_state_get(l->s, k->bytes, k->len, val);
}

int ledger_committed_scan(ledger *l, const uint8_t *prefix, size_t prefix_len,
                          const uint8_t *start, size_t start_len, ledger_scan_cb cb, void *data) {
    return store_state_scan(l->s, prefix, prefix_len, start, start_len, cb, data);
}

ledger_block *ledger_ctx_block(const ledger_ctx *x) { return x->b; }

/* ---- accounts ---- */

void ledger_account_key(ledger_key *k, const uint8_t id[32]) {
    ledger_key_init(k, LK_ACCOUNT);
    ledger_key_add(k, id, 32);
}

int ledger_account_encode(const ledger_account *a, gz_buf *out) {
    int err = mp_put_array(out, 6);
    if (err == GZ_OK) err = mp_put_uint(out, a->level);
    if (err == GZ_OK) err = mp_put_uint(out, a->classes);
    if (err == GZ_OK) err = mp_put_str(out, a->label, strlen(a->label));
    if (err == GZ_OK) err = mp_put_uint(out, a->nonce);
    if (err == GZ_OK) err = mp_put_uint(out, a->balance);
    if (err == GZ_OK) err = mp_put_uint(out, a->gov_tokens);
    return err;
}

int ledger_account_decode(ledger_account *a, const uint8_t id[32], const uint8_t *p, size_t len) {
    memset(a, 0, sizeof *a);
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    int err = mp_get_array_n(&rd, "account", 6);
    if (err == GZ_OK) err = mp_get_uint(&rd, "level", &a->level);
    if (err == GZ_OK) err = mp_get_uint(&rd, "classes", &a->classes);
    if (err == GZ_OK) err = mp_get_str(&rd, "label", a->label, GZ_LABEL_MAX);
    if (err == GZ_OK) err = mp_get_uint(&rd, "nonce", &a->nonce);
    if (err == GZ_OK) err = mp_get_uint(&rd, "balance", &a->balance);
    if (err == GZ_OK) err = mp_get_uint(&rd, "gov_tokens", &a->gov_tokens);
    if (err == GZ_OK) err = mp_rd_end(&rd);
    /* ledger_account_put asserts these bounds; a stored value past them is damage. */
    if (err == GZ_OK && a->balance > GZ_AMOUNT_MAX) err = GZ_ECORRUPT;
    if (err == GZ_OK && a->gov_tokens > GZ_AMOUNT_MAX) err = GZ_ECORRUPT;
    if (err != GZ_OK) {
        memset(a, 0, sizeof *a);
        return GZ_ECORRUPT;
    }
    memcpy(a->id, id, 32);
    return GZ_OK;
}

int ledger_account_get(ledger_ctx *x, const uint8_t id[32], ledger_account *a) {
    ledger_key k;
    ledger_account_key(&k, id);
    gz_buf v = {0};
    int err = ledger_state_get(x, &k, &v);
    if (err == GZ_OK) err = ledger_account_decode(a, id, v.data, v.len);
    else memset(a, 0, sizeof *a);
    gz_buf_free(&v);
    return err;
}

int ledger_account_committed_get(ledger *l, const uint8_t id[32], ledger_account *a) {
    ledger_key k;
    ledger_account_key(&k, id);
    gz_buf v = {0};
    int err = ledger_committed_get(l, &k, &v);
    if (err == GZ_OK) err = ledger_account_decode(a, id, v.data, v.len);
    else memset(a, 0, sizeof *a);
    gz_buf_free(&v);
    return err;
}

int ledger_account_put(ledger_ctx *x, const ledger_account *a) {
    assert(a->balance <= GZ_AMOUNT_MAX);
    assert(a->gov_tokens <= GZ_AMOUNT_MAX);
    ledger_key k;
    ledger_account_key(&k, a->id);
    gz_buf v = {0};
    int err = ledger_account_encode(a, &v);
    if (err == GZ_OK) err = ledger_state_put(x, &k, v.data, v.len);
    gz_buf_free(&v);
    return err;
}

json_t *ledger_account_json(const ledger_account *a) {
    return json_pack("{s:o, s:I, s:I, s:s, s:I, s:I, s:I}", "account", core_json_hex(a->id, 32),
                     "level", (json_int_t)a->level, "classes", (json_int_t)a->classes, "label",
                     a->label, "nonce", (json_int_t)a->nonce, "balance", (json_int_t)a->balance,
                     "gov_tokens", (json_int_t)a->gov_tokens);
}

int ledger_require_account(ledger_ctx *x, const uint8_t id[32], const char *field, gz_msg *msg) {
    ledger_account a;
    int err = ledger_account_get(x, id, &a);
    if (err == GZ_ENOTFOUND) return gz_fail(msg, err, "%s: account not registered", field);
    return err;
}

/* ---- balances ---- */

static int amount_event(ledger_ctx *x, const char *type, const char *field_name,
                        const ledger_account *a, int64_t delta, uint64_t value,
                        const char *reason) {
    return ledger_event_emit(x, type,
                             json_pack("{s:o, s:I, s:I, s:s}", "account",
                                       core_json_hex(a->id, 32), "delta", (json_int_t)delta,
                                       field_name, (json_int_t)value, "reason", reason));
}

int ledger_balance_credit(ledger_ctx *x, const uint8_t id[32], uint64_t amount,
                          const char *reason, const char *field, gz_msg *msg) {
    ledger_account a;
    int err = ledger_account_get(x, id, &a);
    if (err == GZ_ENOTFOUND) return gz_fail(msg, err, "%s: account not registered", field);
    if (err != GZ_OK) return err;
    if (amount > GZ_AMOUNT_MAX || a.balance > GZ_AMOUNT_MAX - amount) {
        return gz_fail(msg, GZ_ELIMIT, "%s: balance would exceed %llu", field,
                       (unsigned long long)GZ_AMOUNT_MAX);
    }
    a.balance += amount;
    err = ledger_account_put(x, &a);
    if (err != GZ_OK) return err;
    return amount_event(x, "balance", "balance", &a, (int64_t)amount, a.balance, reason);
}

int ledger_balance_debit(ledger_ctx *x, const uint8_t id[32], uint64_t amount, const char *reason,
                         const char *field, gz_msg *msg) {
    ledger_account a;
    int err = ledger_account_get(x, id, &a);
    if (err == GZ_ENOTFOUND) return gz_fail(msg, err, "%s: account not registered", field);
    if (err != GZ_OK) return err;
    if (amount > a.balance) {
        return gz_fail(msg, GZ_ESTATE, "%s: insufficient balance (have %llu, need %llu)", field,
                       (unsigned long long)a.balance, (unsigned long long)amount);
    }
    assert(amount <= GZ_AMOUNT_MAX);
    a.balance -= amount;
    err = ledger_account_put(x, &a);
    if (err != GZ_OK) return err;
    return amount_event(x, "balance", "balance", &a, -(int64_t)amount, a.balance, reason);
}

int ledger_gov_tokens_credit(ledger_ctx *x, const uint8_t id[32], uint64_t amount,
                             const char *reason, const char *field, gz_msg *msg) {
    ledger_account a;
    int err = ledger_account_get(x, id, &a);
    if (err == GZ_ENOTFOUND) return gz_fail(msg, err, "%s: account not registered", field);
    if (err != GZ_OK) return err;
    if (amount > GZ_AMOUNT_MAX || a.gov_tokens > GZ_AMOUNT_MAX - amount) {
        return gz_fail(msg, GZ_ELIMIT, "%s: gov_tokens would exceed %llu", field,
                       (unsigned long long)GZ_AMOUNT_MAX);
    }
    a.gov_tokens += amount;
    err = ledger_account_put(x, &a);
    if (err != GZ_OK) return err;
    return amount_event(x, "gov_tokens", "gov_tokens", &a, (int64_t)amount, a.gov_tokens, reason);
}

/* ---- roles ---- */

bool ledger_has_role(const ledger_ctx *x, int role, const uint8_t id[32]) {
    return ledger_genesis_has_role(x->g, role, id);
}

int ledger_require_role(const ledger_ctx *x, int role, gz_msg *msg) {
    assert(x->tx != NULL);
    if (ledger_has_role(x, role, x->tx->signer)) return GZ_OK;
    return gz_fail(msg, GZ_EROLE, "signer: not a %s", ledger_role_name(role));
}

/* ---- events ---- */

int ledger_event_emit(ledger_ctx *x, const char *type, json_t *attrs) {
    assert(x->events != NULL);
    if (attrs == NULL) return GZ_ENOMEM;
    json_t *ev = json_pack("{s:s, s:o}", "type", type, "attrs", attrs);
    if (ev == NULL) return GZ_ENOMEM;
    return json_array_append_new(x->events, ev) == 0 ? GZ_OK : GZ_ENOMEM;
}

/* ---- largest remainder ---- */

typedef struct frac_ent {
    u128 frac;
    size_t i;
} frac_ent;

static int frac_cmp(const void *a, const void *b) {
    const frac_ent *x = a;
    const frac_ent *y = b;
    if (x->frac != y->frac) return x->frac > y->frac ? -1 : 1;
    return (x->i > y->i) - (x->i < y->i);
}

int ledger_split_amount(uint64_t *out, uint64_t amount, const uint64_t *w, size_t n) {
    u128 total = 0;
    for (size_t i = 0; i < n; i++) total += w[i];
    if (n == 0 || total == 0) return GZ_EARG;
    frac_ent *f = malloc(n * sizeof *f);
    if (f == NULL) return GZ_ENOMEM;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        u128 q = (u128)amount * w[i];
        out[i] = (uint64_t)(q / total);
        f[i] = (frac_ent){.frac = q % total, .i = i};
        sum += out[i];
    }
    assert(sum <= amount);
    uint64_t rem = amount - sum;
    assert(rem < n);
    if (rem > 0) {
        qsort(f, n, sizeof *f, frac_cmp);
        for (uint64_t k = 0; k < rem; k++) out[f[k].i]++;
    }
    free(f);
    return GZ_OK;
}
