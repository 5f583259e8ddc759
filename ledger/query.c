/* Queries of the base ledger over committed state (SPEC §8). */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/mp.h"
#include "ledger/ledger_impl.h"
#include "storage/keys.h"

int ledger_query_account(ledger *l, const uint8_t id[32], json_t **out) {
    *out = NULL;
    ledger_account a;
    int err = ledger_account_committed_get(l, id, &a);
    if (err != GZ_OK) return err;
    *out = ledger_account_json(&a);
    return *out != NULL ? GZ_OK : GZ_ENOMEM;
}

static json_t *split_json(const ledger_split *sp) {
    json_t *rec = json_array();
    for (uint32_t i = 0; rec != NULL && i < sp->n_recipients; i++) {
        json_t *r = json_pack("{s:o, s:I}", "account",
                              core_json_hex(sp->recipients[i].account, 32), "share_ppm",
                              (json_int_t)sp->recipients[i].share_ppm);
        if (r == NULL || json_array_append_new(rec, r) != 0) {
            json_decref(rec);
            return NULL;
        }
    }
    if (rec == NULL) return NULL;
    return json_pack("{s:s, s:o, s:o, s:b, s:I}", "split_id", sp->split_id, "owner",
                     core_json_hex(sp->owner, 32), "recipients", rec, "mutable",
                     sp->is_mutable, "total_distributed", (json_int_t)sp->total_distributed);
}

int ledger_query_split(ledger *l, const char *split_id, json_t **out) {
    *out = NULL;
    if (strlen(split_id) > GZ_ID_MAX) return GZ_ENOTFOUND;
    ledger_key k;
    ledger_split_key(&k, split_id);
    gz_buf v = {0};
    ledger_split sp;
    int err = ledger_committed_get(l, &k, &v);
    if (err == GZ_OK) err = ledger_split_decode(&sp, split_id, v.data, v.len);
    gz_buf_free(&v);
    if (err != GZ_OK) return err;
    *out = split_json(&sp);
    return *out != NULL ? GZ_OK : GZ_ENOMEM;
}

static json_t *anchor_json(const ledger_anchor *a) {
    const gz_anchor_leaf *l = &a->leaf;
    return json_pack("{s:o, s:I, s:s, s:o, s:o, s:o, s:I, s:I, s:s, s:s, s:I}", "artifact",
                     core_json_hex(l->artifact, 32), "kind", (json_int_t)l->kind, "work_id",
                     l->work_id, "parent",
                     l->has_parent ? core_json_hex(l->parent, 32) : json_null(), "signer",
                     core_json_hex(l->signer, 32), "txid", core_json_hex(l->txid, 32),
                     "height", (json_int_t)l->height, "time", (json_int_t)l->time, "media_type",
                     a->media_type, "note", a->note, "leaf_index", (json_int_t)a->leaf_index);
}

static int anchor_load(ledger *l, const uint8_t artifact[32], ledger_anchor *a) {
    ledger_key k;
    ledger_anchor_key(&k, artifact);
    gz_buf v = {0};
    int err = ledger_committed_get(l, &k, &v);
    if (err == GZ_OK) err = ledger_anchor_decode(a, artifact, v.data, v.len);
    gz_buf_free(&v);
    return err;
}

int ledger_query_anchor(ledger *l, const uint8_t artifact[32], json_t **out) {
    *out = NULL;
    ledger_anchor a;
    int err = anchor_load(l, artifact, &a);
    if (err != GZ_OK) return err;
    *out = anchor_json(&a);
    return *out != NULL ? GZ_OK : GZ_ENOMEM;
}

typedef struct work_scan {
    uint8_t (*artifacts)[32];
    size_t n;
    size_t cap;
    int err;
} work_scan;

static bool work_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                    void *data) {
    (void)key;
    (void)key_len;
    work_scan *w = data;
    if (val_len != 32) {
        w->err = GZ_ECORRUPT;
        return false;
    }
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        uint8_t(*p)[32] = realloc(w->artifacts, cap * sizeof *p);
        if (p == NULL) {
            w->err = GZ_ENOMEM;
            return false;
        }
        w->artifacts = p;
        w->cap = cap;
    }
    memcpy(w->artifacts[w->n++], val, 32);
    return true;
}

static int work_collect(ledger *l, const char *work_id, json_t *arr, work_scan *w) {
    ledger_key k;
    ledger_key_init(&k, LK_WORK);
    ledger_key_add_str(&k, work_id);
    int err = ledger_committed_scan(l, k.bytes, k.len, NULL, 0, work_cb, w);
    if (err == GZ_OK) err = w->err;
    for (size_t i = 0; err == GZ_OK && i < w->n; i++) {
        ledger_anchor a;
        err = anchor_load(l, w->artifacts[i], &a);
        if (err == GZ_ENOTFOUND) err = GZ_ECORRUPT;
        json_t *j = err == GZ_OK ? anchor_json(&a) : NULL;
        if (err == GZ_OK && (j == NULL || json_array_append_new(arr, j) != 0)) err = GZ_ENOMEM;
    }
    if (err == GZ_OK && w->n == 0) err = GZ_ENOTFOUND;
    return err;
}

int ledger_query_work(ledger *l, const char *work_id, json_t **out) {
    *out = NULL;
    if (work_id[0] == '\0' || strlen(work_id) > GZ_ID_MAX) return GZ_ENOTFOUND;
    json_t *arr = json_array();
    if (arr == NULL) return GZ_ENOMEM;
    work_scan w = {0};
    int err = work_collect(l, work_id, arr, &w);
    free(w.artifacts);
    if (err == GZ_OK) {
        *out = json_pack("{s:s, s:o}", "work_id", work_id, "anchors", arr);
        return *out != NULL ? GZ_OK : GZ_ENOMEM;
    }
    json_decref(arr);
    return err;
}

static int result_json(const uint8_t txid[32], const uint8_t *p, size_t len, json_t **out) {
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    uint64_t height, index, type, code;
    const uint8_t *m, *e;
    size_t mlen, elen;
    int err = mp_get_array_n(&rd, "result", 6);
    if (err == GZ_OK) err = mp_get_uint(&rd, "height", &height);
    if (err == GZ_OK) err = mp_get_uint(&rd, "index", &index);
    if (err == GZ_OK) err = mp_get_uint(&rd, "type", &type);
    if (err == GZ_OK) err = mp_get_uint(&rd, "code", &code);
    if (err == GZ_OK) err = mp_get_bin(&rd, "message", &m, &mlen, sizeof(gz_msg));
    if (err == GZ_OK) err = mp_get_bin(&rd, "events", &e, &elen, LEDGER_VALUE_MAX);
    if (err == GZ_OK) err = mp_rd_end(&rd);
    if (err != GZ_OK) return GZ_ECORRUPT;
    json_t *events = json_loadb((const char *)e, elen, 0, NULL);
    if (events == NULL) return GZ_ECORRUPT;
    const char *tname = core_tx_type_name(type);
    *out = json_pack("{s:o, s:I, s:I, s:s, s:I, s:s%, s:o}", "txid", core_json_hex(txid, 32),
                     "height", (json_int_t)height, "index", (json_int_t)index, "type",
                     tname != NULL ? tname : "unknown", "code", (json_int_t)code, "message",
                     (const char *)m, mlen, "events", events);
    return *out != NULL ? GZ_OK : GZ_ENOMEM;
}

int ledger_tx_location(ledger *l, const uint8_t txid[32], uint64_t *height, uint32_t *index) {
    *height = 0;
    *index = 0;
    ledger_key k;
    ledger_key_init(&k, LK_RESULT);
    ledger_key_add(&k, txid, 32);
    gz_buf v = {0};
    int err = ledger_committed_get(l, &k, &v);
    mp_rd rd;
    uint64_t h = 0, i = 0;
    if (err == GZ_OK) {
        mp_rd_init(&rd, v.data, v.len, NULL);
        err = mp_get_array_n(&rd, "result", 6);
        if (err == GZ_OK) err = mp_get_uint(&rd, "height", &h);
        if (err == GZ_OK) err = mp_get_uint(&rd, "index", &i);
        if (err != GZ_OK || i > UINT32_MAX) err = GZ_ECORRUPT;
    }
    gz_buf_free(&v);
    if (err == GZ_OK) {
        *height = h;
        *index = (uint32_t)i;
    }
    return err;
}

int ledger_query_tx_result(ledger *l, const uint8_t txid[32], json_t **out) {
    *out = NULL;
    ledger_key k;
    ledger_key_init(&k, LK_RESULT);
    ledger_key_add(&k, txid, 32);
    gz_buf v = {0};
    int err = ledger_committed_get(l, &k, &v);
    if (err == GZ_OK) err = result_json(txid, v.data, v.len, out);
    gz_buf_free(&v);
    return err;
}

int ledger_log_leaf(ledger *l, uint64_t index, gz_buf *out) {
    if (index >= l->log.size) return GZ_ENOTFOUND;
    gz_buf v = {0};
    int err = store_log_get(l->s, index, &v);
    if (err == GZ_ENOTFOUND) err = GZ_ECORRUPT;
    if (err == GZ_OK) err = gz_buf_append(out, v.data, v.len);
    gz_buf_free(&v);
    return err;
}

int ledger_log_leaf_hashes(const ledger *l, uint64_t from, uint64_t to, uint8_t (*out)[32]) {
    if (from > to || to > l->log.size) return GZ_EMISUSE;
    if (to > from) memcpy(out, l->leaf_hashes + from, (size_t)(to - from) * 32);
    return GZ_OK;
}
