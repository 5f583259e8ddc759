/* SPEC §8 `validators` of any height and `evidence`, over committed state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/mp.h"
#include "ledger/ledger_impl.h"

static json_t *member_json(const gz_validator *v, uint32_t index) {
    return json_pack("{s:I, s:s, s:o, s:I}", "index", (json_int_t)index, "name", v->name, "pub_key",
                     core_json_hex(v->pub_key, 32), "power", (json_int_t)v->power);
}

typedef struct jail_scan {
    ledger *l;
    const ledger_valset *set;
    uint64_t height;
    json_t *out;
    int err;
} jail_scan;

static bool jail_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len, void *data) {
    jail_scan *c = data;
    if (key_len != 2 + 32 || val_len != 16) {
        c->err = GZ_ECORRUPT;
        return false;
    }
    const uint8_t *pub = key + 2;
    uint64_t jailed_at = gz_get_u64be(val), evidence_height = gz_get_u64be(val + 8);
    if (jailed_at > c->height || ledger_valset_index(c->set, pub) >= 0) return true;
    ledger_account a;
    int err = ledger_account_committed_get(c->l, pub, &a);
    if (err != GZ_OK && err != GZ_ENOTFOUND) {
        c->err = err;
        return false;
    }
    json_t *e = json_pack("{s:s, s:o, s:I, s:b, s:I, s:I}", "name", err == GZ_OK ? a.label : "", "pub_key",
                          core_json_hex(pub, 32), "power", (json_int_t)0, "jailed", 1, "jailed_at",
                          (json_int_t)jailed_at, "evidence_height", (json_int_t)evidence_height);
    if (e == NULL || json_array_append_new(c->out, e) != 0) c->err = GZ_ENOMEM;
    return c->err == GZ_OK;
}

int ledger_query_validators(ledger *l, uint64_t height, json_t **out) {
    *out = NULL;
    ledger_valset *set = malloc(sizeof *set);
    if (set == NULL) return GZ_ENOMEM;
    int err = ledger_validators_at(l, height, set);
    json_t *arr = err == GZ_OK ? json_array() : NULL;
    if (err == GZ_OK && arr == NULL) err = GZ_ENOMEM;
    for (uint32_t i = 0; err == GZ_OK && i < set->n; i++) {
        json_t *m = member_json(&set->v[i], i);
        if (m == NULL || json_array_append_new(arr, m) != 0) err = GZ_ENOMEM;
    }
    jail_scan c = {.l = l, .set = set, .height = height, .out = arr, .err = GZ_OK};
    if (err == GZ_OK) {
        const uint8_t pfx[2] = {LK_VALSET, LEDGER_VK_JAIL};
        err = ledger_committed_scan(l, pfx, 2, NULL, 0, jail_cb, &c);
    }
    if (err == GZ_OK) err = c.err;
    free(set);
    if (err != GZ_OK) {
        json_decref(arr);
        return err;
    }
    *out = arr;
    return GZ_OK;
}

/* ---- evidence ---- */

typedef struct ev_scan {
    json_t *list;
    uint32_t limit;
    char next[80];
    int err;
} ev_scan;

static json_t *block_id_json(mp_rd *rd, int *err) {
    bool has = false;
    uint8_t id[32];
    if (*err == GZ_OK) *err = mp_get_bin_or_nil(rd, "block_id", &has, id, 32);
    if (*err != GZ_OK) return NULL;
    return has ? core_json_hex(id, 32) : json_null();
}

static json_t *evidence_json(const uint8_t *key, const uint8_t *val, size_t val_len) {
    mp_rd rd;
    mp_rd_init(&rd, val, val_len, NULL);
    uint64_t round = 0, type = 0, recorded_at = 0;
    uint8_t txid[32];
    bool jailed = false;
    int err = mp_get_array_n(&rd, "evidence", 7);
    if (err == GZ_OK) err = mp_get_uint(&rd, "round", &round);
    if (err == GZ_OK) err = mp_get_uint(&rd, "type", &type);
    json_t *a = block_id_json(&rd, &err);
    json_t *b = block_id_json(&rd, &err);
    if (err == GZ_OK) err = mp_get_uint(&rd, "recorded_at", &recorded_at);
    if (err == GZ_OK) err = mp_get_bin_fixed(&rd, "txid", txid, 32);
    if (err == GZ_OK) err = mp_get_bool(&rd, "jailed", &jailed);
    if (err != GZ_OK || a == NULL || b == NULL) {
        json_decref(a);
        json_decref(b);
        return NULL;
    }
    return json_pack("{s:o, s:I, s:I, s:I, s:o, s:o, s:I, s:o, s:b}", "validator", core_json_hex(key + 2, 32),
                     "height", (json_int_t)gz_get_u64be(key + 34), "round", (json_int_t)round, "type",
                     (json_int_t)type, "block_id_a", a, "block_id_b", b, "recorded_at", (json_int_t)recorded_at,
                     "txid", core_json_hex(txid, 32), "jailed", jailed);
}

static bool ev_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len, void *data) {
    ev_scan *c = data;
    if (key_len != 2 + 32 + 8) {
        c->err = GZ_ECORRUPT;
        return false;
    }
    if (json_array_size(c->list) == c->limit) {
        char hex[65];
        gz_hex_encode(hex, key + 2, 32);
        snprintf(c->next, sizeof c->next, "%s:%llu", hex, (unsigned long long)gz_get_u64be(key + 34));
        return false;
    }
    json_t *e = evidence_json(key, val, val_len);
    if (e == NULL) c->err = GZ_ECORRUPT;
    else if (json_array_append_new(c->list, e) != 0) c->err = GZ_ENOMEM;
    return c->err == GZ_OK;
}

/* "<validator hex>:<height>" of the first entry of the page. */
static int cursor_parse(const char *after, uint8_t key[42], gz_msg *msg) {
    key[0] = LK_VALSET;
    key[1] = LEDGER_VK_EVIDENCE;
    const char *colon = strchr(after, ':');
    char *end = NULL, hex[65];
    if (colon == NULL || colon - after != 64)
        return gz_fail(msg, GZ_EARG, "after: expected the `next` of a previous page");
    memcpy(hex, after, 64); /* gz_hex_decode takes exactly the 64 hex chars */
    hex[64] = '\0';
    if (gz_hex_decode(key + 2, 32, hex) != GZ_OK)
        return gz_fail(msg, GZ_EARG, "after: expected the `next` of a previous page");
    unsigned long long h = strtoull(colon + 1, &end, 10);
    if (end == colon + 1 || *end != '\0') return gz_fail(msg, GZ_EARG, "after: expected the `next` of a previous page");
    gz_put_u64be(key + 34, h);
    return GZ_OK;
}

int ledger_query_evidence(ledger *l, const uint8_t *validator, uint32_t limit, const char *after, json_t **out,
                          gz_msg *msg) {
    *out = NULL;
    if (limit < 1 || limit > GZ_PAGE_LIMIT_MAX)
        return gz_fail(msg, GZ_EARG, "limit: must be in 1..%d", GZ_PAGE_LIMIT_MAX);
    uint8_t pfx[34] = {LK_VALSET, LEDGER_VK_EVIDENCE}, start[42];
    size_t pfx_len = 2;
    if (validator != NULL) {
        memcpy(pfx + 2, validator, 32);
        pfx_len = 34;
    }
    if (after != NULL && cursor_parse(after, start, msg) != GZ_OK) return GZ_EARG;
    ev_scan c = {.list = json_array(), .limit = limit, .err = GZ_OK};
    if (c.list == NULL) return GZ_ENOMEM;
    int err = ledger_committed_scan(l, pfx, pfx_len, after ? start : NULL, after ? sizeof start : 0, ev_cb, &c);
    if (err == GZ_OK) err = c.err;
    json_t *o = err == GZ_OK ? json_pack("{s:o, s:o}", "evidence", c.list, "next", c.next[0] ? json_string(c.next) : json_null())
                             : NULL;
    if (o == NULL) {
        if (err == GZ_OK) err = GZ_ENOMEM;
        else json_decref(c.list);
        return err;
    }
    *out = o;
    return GZ_OK;
}
