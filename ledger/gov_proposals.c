/* Proposal records and their indexes (gov.h):
 * [kind, subject, title, [options], min_level, classes_any, weighting, voting_ms,
 *  creator, status, created_at, expires_at, opens_at, closes_at, cosigners,
 *  voters, turnout, [tally], winner or nil]. */
#include <assert.h>
#include <string.h>

#include "core/json.h"
#include "core/mp.h"
#include "ledger/gov.h"

#define PROPOSAL_FIELDS 19

static int put_head(gz_buf *b, const gov_proposal *p) {
    int err = mp_put_array(b, PROPOSAL_FIELDS);
    if (err == GZ_OK) err = mp_put_uint(b, p->kind);
    if (err == GZ_OK) err = mp_put_str(b, p->subject, strlen(p->subject));
    if (err == GZ_OK) err = mp_put_str(b, p->title, strlen(p->title));
    if (err == GZ_OK) err = mp_put_array(b, p->n_options);
    for (uint32_t i = 0; i < p->n_options && err == GZ_OK; i++) {
        err = mp_put_str(b, p->options[i], strlen(p->options[i]));
    }
    if (err == GZ_OK) err = mp_put_uint(b, p->min_level);
    if (err == GZ_OK) err = mp_put_uint(b, p->classes_any);
    if (err == GZ_OK) err = mp_put_uint(b, p->weighting);
    if (err == GZ_OK) err = mp_put_uint(b, p->voting_ms);
    if (err == GZ_OK) err = mp_put_bin(b, p->creator, 32);
    return err;
}

static int proposal_encode(const gov_proposal *p, gz_buf *b) {
    assert(p->n_options >= GZ_OPTIONS_MIN);
    assert(p->n_options <= GZ_OPTIONS_MAX);
    int err = put_head(b, p);
    const uint64_t nums[] = {p->status,    p->created_at, p->expires_at, p->opens_at,
                             p->closes_at, p->cosigners,  p->voters,     p->turnout};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0] && err == GZ_OK; i++) {
        err = mp_put_uint(b, nums[i]);
    }
    if (err == GZ_OK) err = mp_put_array(b, p->n_options);
    for (uint32_t i = 0; i < p->n_options && err == GZ_OK; i++) err = mp_put_uint(b, p->tally[i]);
    if (err == GZ_OK) err = p->has_winner ? mp_put_uint(b, p->winner) : mp_put_nil(b);
    return err;
}

static int get_head(mp_rd *rd, gov_proposal *p) {
    int err = mp_get_array_n(rd, "proposal", PROPOSAL_FIELDS);
    if (err == GZ_OK) err = mp_get_uint(rd, "kind", &p->kind);
    if (err == GZ_OK) err = mp_get_str(rd, "subject", p->subject, GZ_ID_MAX);
    if (err == GZ_OK) err = mp_get_str(rd, "title", p->title, GZ_TEXT_MAX);
    if (err == GZ_OK) {
        err = mp_get_array(rd, "options", &p->n_options, GZ_OPTIONS_MIN, GZ_OPTIONS_MAX);
    }
    for (uint32_t i = 0; i < p->n_options && err == GZ_OK; i++) {
        err = mp_get_str(rd, "option", p->options[i], GZ_LABEL_MAX);
    }
    if (err == GZ_OK) err = mp_get_uint(rd, "min_level", &p->min_level);
    if (err == GZ_OK) err = mp_get_uint(rd, "classes_any", &p->classes_any);
    if (err == GZ_OK) err = mp_get_uint(rd, "weighting", &p->weighting);
    if (err == GZ_OK) err = mp_get_uint(rd, "voting_ms", &p->voting_ms);
    if (err == GZ_OK) err = mp_get_bin_fixed(rd, "creator", p->creator, 32);
    return err;
}

static int get_winner(mp_rd *rd, gov_proposal *p) {
    if (mp_rd_peek_nil(rd)) {
        p->has_winner = false;
        return mp_get_nil(rd, "winner");
    }
    uint64_t w = 0;
    int err = mp_get_uint(rd, "winner", &w);
    if (err == GZ_OK && w >= p->n_options) err = GZ_ECORRUPT;
    p->has_winner = true;
    p->winner = (uint32_t)w;
    return err;
}

static int proposal_decode(gov_proposal *p, const uint8_t *bytes, size_t len) {
    mp_rd rd;
    mp_rd_init(&rd, bytes, len, NULL);
    int err = get_head(&rd, p);
    uint64_t *nums[] = {&p->status,    &p->created_at, &p->expires_at, &p->opens_at,
                        &p->closes_at, &p->cosigners,  &p->voters,     &p->turnout};
    for (size_t i = 0; i < sizeof nums / sizeof nums[0] && err == GZ_OK; i++) {
        err = mp_get_uint(&rd, "number", nums[i]);
    }
    if (err == GZ_OK) err = mp_get_array_n(&rd, "tally", p->n_options);
    for (uint32_t i = 0; i < p->n_options && err == GZ_OK; i++) {
        err = mp_get_uint(&rd, "tally", &p->tally[i]);
    }
    if (err == GZ_OK) err = get_winner(&rd, p);
    if (err == GZ_OK) err = mp_rd_end(&rd);
    if (err == GZ_OK && (gov_kind_name(p->kind) == NULL || gov_pstatus_name(p->status) == NULL)) {
        err = GZ_ECORRUPT;
    }
    return err == GZ_OK ? GZ_OK : GZ_ECORRUPT;
}

int gov_proposal_load(const gov_src *s, const uint8_t id[32], gov_proposal *p) {
    ledger_key k;
    gov_key_proposal(&k, id);
    gz_buf val;
    gz_buf_init(&val);
    memset(p, 0, sizeof *p);
    int err = gov_src_get(s, &k, &val);
    if (err == GZ_OK) err = proposal_decode(p, val.data, val.len);
    gz_buf_free(&val);
    if (err != GZ_OK) {
        memset(p, 0, sizeof *p);
        return err;
    }
    memcpy(p->id, id, 32);
    return GZ_OK;
}

static int proposal_put(ledger_ctx *x, const gov_proposal *p) {
    ledger_key k;
    gov_key_proposal(&k, p->id);
    gz_buf val;
    gz_buf_init(&val);
    int err = proposal_encode(p, &val);
    if (err == GZ_OK) err = ledger_state_put(x, &k, val.data, val.len);
    gz_buf_free(&val);
    return err;
}

static void status_key(ledger_key *k, uint64_t status, const uint8_t id[32]) {
    ledger_key_init(k, GK_STATUS);
    ledger_key_add_u8(k, (uint8_t)status);
    ledger_key_add(k, id, 32);
}

/* The deadline entry a proposal in this status keeps, if any. */
static bool deadline_key(ledger_key *k, const gov_proposal *p, uint64_t status) {
    if (status == GOV_P_COSIGNING) {
        gov_key_due(k, GK_EXPIRE, p->expires_at, p->id);
        return true;
    }
    if (status == GOV_P_OPEN) {
        gov_key_due(k, GK_CLOSE, p->closes_at, p->id);
        return true;
    }
    return false;
}

int gov_proposal_insert(ledger_ctx *x, const gov_proposal *p) {
    assert(p->status == GOV_P_COSIGNING || p->status == GOV_P_OPEN);
    int err = proposal_put(x, p);
    ledger_key k;
    if (err == GZ_OK) {
        status_key(&k, p->status, p->id);
        err = gov_index_put(x, &k, (uint8_t)p->kind);
    }
    if (err == GZ_OK) {
        ledger_key_init(&k, GK_KIND);
        ledger_key_add_u8(&k, (uint8_t)p->kind);
        ledger_key_add(&k, p->id, 32);
        err = gov_index_put(x, &k, 1);
    }
    if (err == GZ_OK && deadline_key(&k, p, p->status)) err = gov_index_put(x, &k, 1);
    return err;
}

int gov_proposal_update(ledger_ctx *x, const gov_proposal *p, uint64_t old_status) {
    int err = proposal_put(x, p);
    if (err != GZ_OK || old_status == p->status) return err;
    ledger_key k;
    status_key(&k, old_status, p->id);
    err = ledger_state_del(x, &k);
    if (err == GZ_OK) {
        status_key(&k, p->status, p->id);
        err = gov_index_put(x, &k, (uint8_t)p->kind);
    }
    if (err == GZ_OK && deadline_key(&k, p, old_status)) err = ledger_state_del(x, &k);
    if (err == GZ_OK && deadline_key(&k, p, p->status)) err = gov_index_put(x, &k, 1);
    return err;
}

int gov_proposal_event(ledger_ctx *x, const char *type, const gov_proposal *p) {
    json_t *attrs =
        json_pack("{s:o, s:s, s:s, s:s, s:I}", "proposal_id", core_json_hex(p->id, 32), "kind",
                  gov_kind_name(p->kind), "subject", p->subject, "status",
                  gov_pstatus_name(p->status), "cosigners", (json_int_t)p->cosigners);
    if (attrs == NULL) return GZ_ENOMEM;
    int err = GZ_OK;
    if (p->status == GOV_P_COSIGNING) {
        err = json_object_set_new(attrs, "expires_at", json_integer((json_int_t)p->expires_at));
    } else if (p->status == GOV_P_OPEN) {
        err = json_object_set_new(attrs, "opens_at", json_integer((json_int_t)p->opens_at));
        if (err == 0) {
            err = json_object_set_new(attrs, "closes_at", json_integer((json_int_t)p->closes_at));
        }
    }
    if (err != 0) {
        json_decref(attrs);
        return GZ_ENOMEM;
    }
    return ledger_event_emit(x, type, attrs);
}
