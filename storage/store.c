/* The storage front end: argument checks, the batch encoding, and dispatch
 * to a backend through its ops table. */
#include "storage/store_internal.h"

#include <assert.h>
#include <string.h>

void store_close(store *s) {
    if (s == NULL) return;
    store_cache_free(s->cache);
    s->cache = NULL;
    s->ops->close(s);
}

const char *store_errmsg(const store *s) {
    if (s == NULL) return "";
    return s->last_error.text;
}

int store_get(store *s, const uint8_t *key, size_t key_len, gz_buf *val) {
    if (s == NULL || val == NULL) return GZ_EMISUSE;
    gz_buf_reset(val);
    if (key == NULL || key_len == 0) return GZ_EMISUSE;
    int err = s->cache != NULL ? store_cache_get(s, key, key_len, val)
                               : s->ops->get(s, key, key_len, val);
    if (err != GZ_OK) gz_buf_reset(val);
    return err;
}

void store_batch_init(store_batch *b) {
    gz_buf_init(&b->ops);
    b->count = 0;
}

void store_batch_free(store_batch *b) {
    gz_buf_free(&b->ops);
    b->count = 0;
}

void store_batch_clear(store_batch *b) {
    gz_buf_reset(&b->ops);
    b->count = 0;
}

/* Appends one op; on failure the batch is left exactly as it was. */
static int batch_append(store_batch *b, int op, const uint8_t *key, size_t key_len,
                        const uint8_t *val, size_t val_len) {
    if (b == NULL || key == NULL || key_len == 0) return GZ_EMISUSE;
    if (key_len > UINT32_MAX || val_len > UINT32_MAX) return GZ_EMISUSE;
    if (val == NULL && val_len != 0) return GZ_EMISUSE;
    size_t need = 1 + 4 + key_len + (op == STORE_OP_PUT ? 4 + val_len : 0);
    if (gz_buf_reserve(&b->ops, need) != GZ_OK) return GZ_ENOMEM;
    uint8_t head[5];
    head[0] = (uint8_t)op;
    gz_put_u32be(head + 1, (uint32_t)key_len);
    /* Reserved above, so these appends cannot fail. */
    int err = gz_buf_append(&b->ops, head, sizeof head);
    err |= gz_buf_append(&b->ops, key, key_len);
    if (op == STORE_OP_PUT) {
        gz_put_u32be(head, (uint32_t)val_len);
        err |= gz_buf_append(&b->ops, head, 4);
        if (val_len > 0) err |= gz_buf_append(&b->ops, val, val_len);
    }
    assert(err == GZ_OK);
    b->count++;
    return GZ_OK;
}

int store_batch_put(store_batch *b, const uint8_t *key, size_t key_len, const uint8_t *val,
                    size_t val_len) {
    return batch_append(b, STORE_OP_PUT, key, key_len, val, val_len);
}

int store_batch_del(store_batch *b, const uint8_t *key, size_t key_len) {
    return batch_append(b, STORE_OP_DEL, key, key_len, NULL, 0);
}

bool store_batch_next(const store_batch *b, size_t *pos, store_op *op) {
    const gz_buf *o = &b->ops;
    if (*pos >= o->len) return false;
    size_t p = *pos;
    assert(o->len - p >= 5);
    op->op = o->data[p];
    assert(op->op == STORE_OP_PUT || op->op == STORE_OP_DEL);
    op->key_len = gz_get_u32be(o->data + p + 1);
    p += 5;
    assert(o->len - p >= op->key_len);
    op->key = o->data + p;
    p += op->key_len;
    op->val = NULL;
    op->val_len = 0;
    if (op->op == STORE_OP_PUT) {
        assert(o->len - p >= 4);
        op->val_len = gz_get_u32be(o->data + p);
        p += 4;
        assert(o->len - p >= op->val_len);
        op->val = o->data + p;
        p += op->val_len;
    }
    *pos = p;
    return true;
}

int store_write(store *s, const store_batch *b, bool sync) {
    if (s == NULL || b == NULL) return GZ_EMISUSE;
    if (b->count == 0) return GZ_OK;
    int err = s->ops->write(s, b, sync);
    if (err == GZ_OK && s->cache != NULL) store_cache_written(s, b);
    return err;
}

int store_scan(store *s, const uint8_t *prefix, size_t prefix_len, const uint8_t *start,
               size_t start_len, store_iter_cb cb, void *data) {
    if (s == NULL || cb == NULL) return GZ_EMISUSE;
    if (prefix == NULL && prefix_len != 0) return GZ_EMISUSE;
    if (start == NULL && start_len != 0) return GZ_EMISUSE;
    return s->ops->scan(s, prefix, prefix_len, start, start_len, cb, data);
}

int store_key_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
    size_t n = a_len < b_len ? a_len : b_len;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0) return c;
    if (a_len == b_len) return 0;
    return a_len < b_len ? -1 : 1;
}

bool store_has_prefix(const uint8_t *key, size_t key_len, const uint8_t *prefix,
                      size_t prefix_len) {
    if (key_len < prefix_len) return false;
    return prefix_len == 0 || memcmp(key, prefix, prefix_len) == 0;
}

void store_scan_first(const uint8_t *prefix, size_t prefix_len, const uint8_t *start,
                      size_t start_len, const uint8_t **first, size_t *first_len) {
    if (start != NULL && store_key_cmp(start, start_len, prefix, prefix_len) > 0) {
        *first = start;
        *first_len = start_len;
    } else {
        *first = prefix;
        *first_len = prefix_len;
    }
}
