/* The in-memory backend: a skip list in key order. It serves the unit tests
 * and the simulator, which keeps many thousands of keys per node, so inserts
 * and lookups are O(log n). Node levels come from a xorshift generator with a
 * fixed seed per store, so two runs build identical lists and every scan is in
 * key order regardless of insertion history. */
#include "storage/store_internal.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* With a 1/4 promotion chance, 16 levels keep searches logarithmic up to
 * about 4^16 keys, far beyond what a memory store holds. */
#define MEM_LEVELS_MAX 16
#define MEM_SEED 0x9e3779b97f4a7c15ull

typedef struct mem_node {
    uint8_t *val; /* NULL when val_len == 0 */
    size_t val_len;
    size_t key_len;
    int levels;
    uint8_t *key; /* points into this allocation, after next[] */
    struct mem_node *next[];
} mem_node;

typedef struct mem_store {
    store base;
    uint64_t rng;
    int levels; /* levels in use, 1..MEM_LEVELS_MAX */
    size_t count;
    mem_node *head[MEM_LEVELS_MAX];
} mem_store;

static int random_levels(mem_store *m) {
    int n = 1;
    while (n < MEM_LEVELS_MAX) {
        m->rng ^= m->rng << 13;
        m->rng ^= m->rng >> 7;
        m->rng ^= m->rng << 17;
        if ((m->rng & 3) != 0) break;
        n++;
    }
    return n;
}

static void node_free(mem_node *n) {
    if (n == NULL) return;
    free(n->val);
    free(n);
}

/* Allocates a node holding copies of key and val; NULL on exhaustion. */
static mem_node *node_new(mem_store *m, const store_op *op) {
    int levels = random_levels(m);
    size_t head = sizeof(mem_node) + (size_t)levels * sizeof(mem_node *);
    mem_node *n = malloc(head + op->key_len);
    if (n == NULL) return NULL;
    n->levels = levels;
    n->key = (uint8_t *)n + head;
    memcpy(n->key, op->key, op->key_len);
    n->key_len = op->key_len;
    n->val = NULL;
    n->val_len = op->val_len;
    if (op->val_len > 0) {
        n->val = malloc(op->val_len);
        if (n->val == NULL) {
            free(n);
            return NULL;
        }
        memcpy(n->val, op->val, op->val_len);
    }
    for (int i = 0; i < levels; i++) n->next[i] = NULL;
    return n;
}

/* Fills prev[i] with the last node (or NULL for the head) whose key is below
 * key at each level, and returns the first node at or after key. */
static mem_node *seek(mem_store *m, const uint8_t *key, size_t key_len,
                      mem_node *prev[MEM_LEVELS_MAX]) {
    mem_node *p = NULL;
    if (prev != NULL) {
        for (int i = m->levels; i < MEM_LEVELS_MAX; i++) prev[i] = NULL;
    }
    for (int i = m->levels - 1; i >= 0; i--) {
        mem_node *x = p == NULL ? m->head[i] : p->next[i];
        while (x != NULL && store_key_cmp(x->key, x->key_len, key, key_len) < 0) {
            p = x;
            x = x->next[i];
        }
        if (prev != NULL) prev[i] = p;
    }
    return p == NULL ? m->head[0] : p->next[0];
}

static mem_node **link_at(mem_store *m, mem_node *prev, int level) {
    return prev == NULL ? &m->head[level] : &prev->next[level];
}

static int mem_get(store *s, const uint8_t *key, size_t key_len, gz_buf *val) {
    mem_store *m = (mem_store *)s;
    mem_node *n = seek(m, key, key_len, NULL);
    if (n == NULL || store_key_cmp(n->key, n->key_len, key, key_len) != 0) return GZ_ENOTFOUND;
    if (n->val_len == 0) return GZ_OK;
    return gz_buf_append(val, n->val, n->val_len);
}

/* Applies one put with a node allocated beforehand; cannot fail. */
static void apply_put(mem_store *m, mem_node *fresh) {
    mem_node *prev[MEM_LEVELS_MAX];
    mem_node *n = seek(m, fresh->key, fresh->key_len, prev);
    if (n != NULL && store_key_cmp(n->key, n->key_len, fresh->key, fresh->key_len) == 0) {
        free(n->val);
        n->val = fresh->val;
        n->val_len = fresh->val_len;
        free(fresh);
        return;
    }
    for (int i = 0; i < fresh->levels; i++) {
        mem_node **link = link_at(m, prev[i], i);
        fresh->next[i] = *link;
        *link = fresh;
    }
    if (fresh->levels > m->levels) m->levels = fresh->levels;
    m->count++;
}

static void apply_del(mem_store *m, const uint8_t *key, size_t key_len) {
    mem_node *prev[MEM_LEVELS_MAX];
    mem_node *n = seek(m, key, key_len, prev);
    if (n == NULL || store_key_cmp(n->key, n->key_len, key, key_len) != 0) return;
    for (int i = 0; i < n->levels; i++) {
        mem_node **link = link_at(m, prev[i], i);
        assert(*link == n);
        *link = n->next[i];
    }
    assert(m->count > 0);
    m->count--;
    node_free(n);
}

/* All-or-nothing: every allocation happens before the first change, so an
 * exhausted allocator leaves the store untouched. */
static int mem_write(store *s, const store_batch *b, bool sync) {
    (void)sync; /* nothing here outlives the process */
    mem_store *m = (mem_store *)s;
    mem_node **fresh = calloc(b->count, sizeof *fresh);
    if (fresh == NULL) return GZ_ENOMEM;
    store_op op;
    size_t pos = 0, i = 0;
    int err = GZ_OK;
    while (err == GZ_OK && store_batch_next(b, &pos, &op)) {
        assert(i < b->count);
        if (op.op == STORE_OP_PUT && (fresh[i] = node_new(m, &op)) == NULL) err = GZ_ENOMEM;
        i++;
    }
    if (err == GZ_OK) {
        pos = 0;
        i = 0;
        while (store_batch_next(b, &pos, &op)) {
            if (op.op == STORE_OP_PUT) {
                assert(fresh[i] != NULL);
                apply_put(m, fresh[i]);
            } else {
                apply_del(m, op.key, op.key_len);
            }
            fresh[i++] = NULL;
        }
        assert(i == b->count);
    }
    for (i = 0; i < b->count; i++) node_free(fresh[i]);
    free(fresh);
    return err;
}

static int mem_scan(store *s, const uint8_t *prefix, size_t prefix_len, const uint8_t *start,
                    size_t start_len, store_iter_cb cb, void *data) {
    mem_store *m = (mem_store *)s;
    const uint8_t *first;
    size_t first_len;
    store_scan_first(prefix, prefix_len, start, start_len, &first, &first_len);
    mem_node *n = first_len == 0 ? m->head[0] : seek(m, first, first_len, NULL);
    /* Callers may memcpy an empty value, so it gets a valid pointer too. */
    static const uint8_t empty[1] = {0};
    for (; n != NULL; n = n->next[0]) {
        if (!store_has_prefix(n->key, n->key_len, prefix, prefix_len)) break;
        const uint8_t *val = n->val != NULL ? n->val : empty;
        if (!cb(n->key, n->key_len, val, n->val_len, data)) break;
    }
    return GZ_OK;
}

static void mem_close(store *s) {
    mem_store *m = (mem_store *)s;
    mem_node *n = m->head[0];
    while (n != NULL) {
        mem_node *next = n->next[0];
        node_free(n);
        n = next;
    }
    free(m);
}

static const store_ops mem_ops = {mem_get, mem_write, mem_scan, mem_close};

int store_open_memory(store **out) {
    if (out == NULL) return GZ_EMISUSE;
    *out = NULL;
    mem_store *m = calloc(1, sizeof *m);
    if (m == NULL) return GZ_ENOMEM;
    m->base.ops = &mem_ops;
    m->rng = MEM_SEED;
    m->levels = 1;
    *out = &m->base;
    return GZ_OK;
}
