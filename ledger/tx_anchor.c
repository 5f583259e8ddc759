/* ANCHOR (SPEC §3, 上链存证): records that an artifact existed at this block,
 * first anchor wins; a parent chains the stages of one work; every anchor is
 * a leaf of the provenance log. */
#include <string.h>

#include "core/json.h"
#include "core/mp.h"
#include "ledger/ledger_impl.h"

void ledger_anchor_key(ledger_key *k, const uint8_t artifact[32]) {
    ledger_key_init(k, LK_ANCHOR);
    ledger_key_add(k, artifact, 32);
}

/* [kind, work_id, parent bin32 or nil, signer, txid, height, time, media_type,
 *  note, leaf_index]; the artifact is the key. */
int ledger_anchor_encode(const ledger_anchor *a, gz_buf *out) {
    const gz_anchor_leaf *l = &a->leaf;
    int err = mp_put_array(out, 10);
    if (err == GZ_OK) err = mp_put_uint(out, l->kind);
    if (err == GZ_OK) err = mp_put_str(out, l->work_id, strlen(l->work_id));
    if (err == GZ_OK) err = l->has_parent ? mp_put_bin(out, l->parent, 32) : mp_put_nil(out);
    if (err == GZ_OK) err = mp_put_bin(out, l->signer, 32);
    if (err == GZ_OK) err = mp_put_bin(out, l->txid, 32);
    if (err == GZ_OK) err = mp_put_uint(out, l->height);
    if (err == GZ_OK) err = mp_put_uint(out, l->time);
    if (err == GZ_OK) err = mp_put_str(out, a->media_type, strlen(a->media_type));
    if (err == GZ_OK) err = mp_put_str(out, a->note, strlen(a->note));
    if (err == GZ_OK) err = mp_put_uint(out, a->leaf_index);
    return err;
}

int ledger_anchor_decode(ledger_anchor *a, const uint8_t artifact[32], const uint8_t *p,
                         size_t len) {
    memset(a, 0, sizeof *a);
    gz_anchor_leaf *l = &a->leaf;
    mp_rd rd;
    mp_rd_init(&rd, p, len, NULL);
    int err = mp_get_array_n(&rd, "anchor", 10);
    if (err == GZ_OK) err = mp_get_uint(&rd, "kind", &l->kind);
    if (err == GZ_OK) err = mp_get_str(&rd, "work_id", l->work_id, GZ_ID_MAX);
    if (err == GZ_OK) err = mp_get_bin_or_nil(&rd, "parent", &l->has_parent, l->parent, 32);
    if (err == GZ_OK) err = mp_get_bin_fixed(&rd, "signer", l->signer, 32);
    if (err == GZ_OK) err = mp_get_bin_fixed(&rd, "txid", l->txid, 32);
    if (err == GZ_OK) err = mp_get_uint(&rd, "height", &l->height);
    if (err == GZ_OK) err = mp_get_uint(&rd, "time", &l->time);
    if (err == GZ_OK) err = mp_get_str(&rd, "media_type", a->media_type, GZ_LABEL_MAX);
    if (err == GZ_OK) err = mp_get_str(&rd, "note", a->note, GZ_TEXT_MAX);
    if (err == GZ_OK) err = mp_get_uint(&rd, "leaf_index", &a->leaf_index);
    if (err == GZ_OK) err = mp_rd_end(&rd);
    if (err != GZ_OK) {
        memset(a, 0, sizeof *a);
        return GZ_ECORRUPT;
    }
    memcpy(l->artifact, artifact, 32);
    return GZ_OK;
}

static int check_parent(ledger_ctx *x, const gz_p_anchor *p, gz_msg *msg) {
    ledger_key k;
    ledger_anchor_key(&k, p->parent);
    gz_buf v = {0};
    ledger_anchor parent;
    int err = ledger_state_get(x, &k, &v);
    if (err == GZ_OK) err = ledger_anchor_decode(&parent, p->parent, v.data, v.len);
    gz_buf_free(&v);
    if (err == GZ_ENOTFOUND) return gz_fail(msg, err, "payload.parent: artifact not anchored");
    if (err != GZ_OK) return err;
    if (strcmp(parent.leaf.work_id, p->work_id) != 0) {
        return gz_fail(msg, GZ_EARG, "payload.parent: anchored for work \"%s\", not \"%s\"",
                       parent.leaf.work_id, p->work_id);
    }
    return GZ_OK;
}

static int anchor_store(ledger_ctx *x, const ledger_anchor *a) {
    ledger_key k;
    ledger_anchor_key(&k, a->leaf.artifact);
    gz_buf v = {0};
    int err = ledger_anchor_encode(a, &v);
    if (err == GZ_OK) err = ledger_state_put(x, &k, v.data, v.len);
    gz_buf_free(&v);
    ledger_key w;
    ledger_key_init(&w, LK_WORK);
    ledger_key_add_str(&w, a->leaf.work_id);
    ledger_key_add_u64(&w, a->leaf_index);
    if (err == GZ_OK) err = ledger_state_put(x, &w, a->leaf.artifact, 32);
    return err;
}

int ledger_tx_anchor(ledger_ctx *x, const gz_tx *tx, gz_msg *msg) {
    const gz_p_anchor *p = &tx->p.anchor;
    if (p->kind < 1 || p->kind > 7) return gz_fail(msg, GZ_EARG, "payload.kind: must be in 1..7");
    if (p->work_id[0] == '\0') return gz_fail(msg, GZ_EARG, "payload.work_id: must not be empty");
    ledger_key k;
    ledger_anchor_key(&k, p->artifact);
    gz_buf v = {0};
    int err = ledger_state_get(x, &k, &v);
    gz_buf_free(&v);
    if (err == GZ_OK) return gz_fail(msg, GZ_EDUP, "payload.artifact: already anchored");
    if (err != GZ_ENOTFOUND) return err;
    if (p->has_parent) {
        err = check_parent(x, p, msg);
        if (err != GZ_OK) return err;
    }
    ledger_anchor a;
    memset(&a, 0, sizeof a);
    gz_anchor_leaf *l = &a.leaf;
    memcpy(l->artifact, p->artifact, 32);
    l->kind = p->kind;
    memcpy(l->work_id, p->work_id, sizeof l->work_id);
    l->has_parent = p->has_parent;
    if (p->has_parent) memcpy(l->parent, p->parent, 32);
    memcpy(l->signer, tx->signer, 32);
    memcpy(l->txid, tx->txid, 32);
    l->height = x->height;
    l->time = x->time;
    memcpy(a.media_type, p->media_type, sizeof a.media_type);
    memcpy(a.note, p->note, sizeof a.note);
    /* Appended last: nothing after this can reject the tx, and a leaf is not
     * undone by the tx's savepoint. */
    err = ledger_log_append(x, l, &a.leaf_index);
    if (err == GZ_OK) err = anchor_store(x, &a);
    if (err != GZ_OK) return err;
    return ledger_event_emit(x, "anchor",
                             json_pack("{s:o, s:I, s:s, s:o, s:I}", "artifact",
                                       core_json_hex(l->artifact, 32), "kind",
                                       (json_int_t)l->kind, "work_id", l->work_id, "parent",
                                       l->has_parent ? core_json_hex(l->parent, 32)
                                                     : json_null(),
                                       "leaf_index", (json_int_t)a.leaf_index));
}
