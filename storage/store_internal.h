/* Internals shared by the storage front end (store.c) and its two backends.
 * Nothing outside storage/ includes this header. */
#ifndef GZ_STORAGE_STORE_INTERNAL_H
#define GZ_STORAGE_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "storage/store.h"

/* One backend: store.c checks arguments, then calls through this table. */
typedef struct store_ops {
    int (*get)(store *s, const uint8_t *key, size_t key_len, gz_buf *val);
    int (*write)(store *s, const store_batch *b, bool sync);
    int (*scan)(store *s, const uint8_t *prefix, size_t prefix_len, const uint8_t *start,
                size_t start_len, store_iter_cb cb, void *data);
    void (*close)(store *s);
} store_ops;

typedef struct store_cache store_cache;

/* Every backend embeds this as its first member (zeroed at open). */
struct store {
    const store_ops *ops;
    gz_msg last_error; /* the engine's reason for the most recent failure */
    store_cache *cache; /* NULL unless store_cache_enable was called */
};

/* The batch encoding in store_batch.ops is a sequence of
 *   op u8 (STORE_OP_PUT or STORE_OP_DEL), key_len u32 BE, key,
 *   and for a put: val_len u32 BE, val. */
enum { STORE_OP_PUT = 1, STORE_OP_DEL = 2 };

typedef struct store_op {
    int op;
    const uint8_t *key;
    size_t key_len;
    const uint8_t *val; /* NULL for a delete */
    size_t val_len;
} store_op;

/* Decodes the op at *pos and advances *pos. Returns true while there is one.
 * The encoding was written by store_batch_put/del, so a malformed one is a
 * broken invariant and asserts. */
bool store_batch_next(const store_batch *b, size_t *pos, store_op *op);

/* The first key a scan visits: the larger of prefix and start. */
void store_scan_first(const uint8_t *prefix, size_t prefix_len, const uint8_t *start,
                      size_t start_len, const uint8_t **first, size_t *first_len);

/* Whether key begins with prefix. */
bool store_has_prefix(const uint8_t *key, size_t key_len, const uint8_t *prefix,
                      size_t prefix_len);

/* The read cache (store_cache.c). store_cache_get serves a read from the
 * cache or the backend; store_cache_written updates the cache after the
 * backend applied b. */
int store_cache_get(store *s, const uint8_t *key, size_t key_len, gz_buf *val);
void store_cache_written(store *s, const store_batch *b);
void store_cache_free(store_cache *c);

/* Lexicographic byte order with shorter-is-smaller on a common prefix, the
 * order RocksDB's default comparator uses. */
int store_key_cmp(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

#endif
