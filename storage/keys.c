/* Key builders and typed wrappers over the store (layout in keys.h). */
#include "storage/keys.h"

#include <assert.h>
#include <string.h>

#include "core/limits.h"

static void key_u64(store_key *k, uint8_t prefix, uint64_t v) {
    k->bytes[0] = prefix;
    gz_put_u64be(k->bytes + 1, v);
    k->len = 9;
}

/* A prefix byte followed by a caller's body of 1..STORE_KEY_BYTES_MAX-1 bytes. */
static int key_body(store_key *k, uint8_t prefix, const uint8_t *body, size_t len) {
    k->len = 0;
    if (body == NULL || len == 0 || len > STORE_KEY_BYTES_MAX - 1) return GZ_EMISUSE;
    k->bytes[0] = prefix;
    memcpy(k->bytes + 1, body, len);
    k->len = 1 + len;
    return GZ_OK;
}

void store_key_block(store_key *k, uint64_t height) { key_u64(k, STORE_PFX_BLOCK, height); }
void store_key_commit(store_key *k, uint64_t height) { key_u64(k, STORE_PFX_COMMIT, height); }
void store_key_log(store_key *k, uint64_t index) { key_u64(k, STORE_PFX_LOG, index); }

int store_key_meta(store_key *k, const char *name) {
    k->len = 0;
    if (name == NULL) return GZ_EMISUSE;
    size_t n = strnlen(name, STORE_META_NAME_MAX + 1);
    if (n > STORE_META_NAME_MAX) return GZ_EMISUSE;
    return key_body(k, STORE_PFX_META, (const uint8_t *)name, n);
}

int store_key_state(store_key *k, const uint8_t *lk, size_t lk_len) {
    return key_body(k, STORE_PFX_STATE, lk, lk_len);
}

int store_key_index(store_key *k, const uint8_t *ik, size_t ik_len) {
    return key_body(k, STORE_PFX_INDEX, ik, ik_len);
}

int store_key_height(uint64_t *out, int prefix, const uint8_t *key, size_t key_len) {
    *out = 0;
    if (key == NULL || key_len != 9 || key[0] != prefix) return GZ_ECORRUPT;
    *out = gz_get_u64be(key + 1);
    return GZ_OK;
}

/* Reads key into out and checks the stored length against max_len. */
static int get_bounded(store *s, const store_key *k, gz_buf *out, size_t max_len) {
    int err = store_get(s, k->bytes, k->len, out);
    if (err != GZ_OK) return err;
    if (out->len > max_len) {
        gz_buf_reset(out);
        return GZ_ECORRUPT;
    }
    return GZ_OK;
}

int store_block_put(store_batch *b, uint64_t height, const uint8_t *bytes, size_t len) {
    if (len > GZ_BLOCK_BYTES_MAX) return GZ_EMISUSE;
    store_key k;
    store_key_block(&k, height);
    return store_batch_put(b, k.bytes, k.len, bytes, len);
}

int store_block_get(store *s, uint64_t height, gz_buf *out) {
    store_key k;
    store_key_block(&k, height);
    return get_bounded(s, &k, out, GZ_BLOCK_BYTES_MAX);
}

int store_commit_put(store_batch *b, uint64_t height, const uint8_t *bytes, size_t len) {
    if (len > GZ_BLOCK_BYTES_MAX) return GZ_EMISUSE;
    store_key k;
    store_key_commit(&k, height);
    return store_batch_put(b, k.bytes, k.len, bytes, len);
}

int store_commit_get(store *s, uint64_t height, gz_buf *out) {
    store_key k;
    store_key_commit(&k, height);
    return get_bounded(s, &k, out, GZ_BLOCK_BYTES_MAX);
}

int store_meta_put_u64(store_batch *b, const char *name, uint64_t v) {
    uint8_t be[8];
    gz_put_u64be(be, v);
    return store_meta_put(b, name, be, sizeof be);
}

int store_meta_get_u64(store *s, const char *name, uint64_t *v) {
    *v = 0;
    gz_buf buf;
    gz_buf_init(&buf);
    int err = store_meta_get(s, name, &buf);
    if (err == GZ_OK && buf.len != 8) err = GZ_ECORRUPT;
    if (err == GZ_OK) *v = gz_get_u64be(buf.data);
    gz_buf_free(&buf);
    return err;
}

int store_meta_put(store_batch *b, const char *name, const uint8_t *val, size_t len) {
    store_key k;
    int err = store_key_meta(&k, name);
    if (err != GZ_OK) return err;
    return store_batch_put(b, k.bytes, k.len, val, len);
}

int store_meta_get(store *s, const char *name, gz_buf *out) {
    if (out == NULL) return GZ_EMISUSE;
    gz_buf_reset(out);
    store_key k;
    int err = store_key_meta(&k, name);
    if (err != GZ_OK) return err;
    return store_get(s, k.bytes, k.len, out);
}

int store_log_put(store_batch *b, uint64_t index, const uint8_t *leaf, size_t len) {
    /* A leaf is built from one tx's fields, so it is never larger than a tx. */
    if (len > GZ_TX_BYTES_MAX) return GZ_EMISUSE;
    store_key k;
    store_key_log(&k, index);
    return store_batch_put(b, k.bytes, k.len, leaf, len);
}

int store_log_get(store *s, uint64_t index, gz_buf *out) {
    store_key k;
    store_key_log(&k, index);
    return get_bounded(s, &k, out, GZ_TX_BYTES_MAX);
}

int store_state_put(store_batch *b, const uint8_t *lk, size_t lk_len, const uint8_t *val,
                    size_t val_len) {
    store_key k;
    int err = store_key_state(&k, lk, lk_len);
    if (err != GZ_OK) return err;
    return store_batch_put(b, k.bytes, k.len, val, val_len);
}

int store_state_del(store_batch *b, const uint8_t *lk, size_t lk_len) {
    store_key k;
    int err = store_key_state(&k, lk, lk_len);
    if (err != GZ_OK) return err;
    return store_batch_del(b, k.bytes, k.len);
}

int store_state_get(store *s, const uint8_t *lk, size_t lk_len, gz_buf *out) {
    if (out == NULL) return GZ_EMISUSE;
    gz_buf_reset(out);
    store_key k;
    int err = store_key_state(&k, lk, lk_len);
    if (err != GZ_OK) return err;
    return store_get(s, k.bytes, k.len, out);
}

typedef struct strip_ctx {
    store_iter_cb cb;
    void *data;
} strip_ctx;

/* Hands the ledger its own keys, without the family prefix. */
static bool strip_prefix(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                         void *data) {
    strip_ctx *c = data;
    assert(key_len >= 1);
    assert(key[0] == STORE_PFX_STATE);
    return c->cb(key + 1, key_len - 1, val, val_len, c->data);
}

int store_state_scan(store *s, const uint8_t *sub, size_t sub_len, const uint8_t *start,
                     size_t start_len, store_iter_cb cb, void *data) {
    if (cb == NULL || (sub == NULL && sub_len != 0)) return GZ_EMISUSE;
    if (sub_len > STORE_KEY_BYTES_MAX - 1 || start_len > STORE_KEY_BYTES_MAX - 1) return GZ_EMISUSE;
    store_key pfx, first;
    pfx.bytes[0] = STORE_PFX_STATE;
    if (sub_len > 0) memcpy(pfx.bytes + 1, sub, sub_len);
    pfx.len = 1 + sub_len;
    const uint8_t *first_p = NULL;
    if (start != NULL) {
        first.bytes[0] = STORE_PFX_STATE;
        if (start_len > 0) memcpy(first.bytes + 1, start, start_len);
        first.len = 1 + start_len;
        first_p = first.bytes;
    } else {
        first.len = 0;
    }
    strip_ctx c = {cb, data};
    return store_scan(s, pfx.bytes, pfx.len, first_p, first.len, strip_prefix, &c);
}
