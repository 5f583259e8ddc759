#include "ledger/overlay.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "storage/keys.h"

/* Entry states. UNKNOWN: touched but the committed value was never read
 * (a write undone by a rollback); PRESENT/ABSENT: a cached committed read;
 * PUT/DEL: written by this block. */
enum { OV_UNKNOWN = 0, OV_PRESENT, OV_ABSENT, OV_PUT, OV_DEL };

typedef struct ov_entry {
    uint8_t *key;
    uint8_t *val; /* PRESENT and PUT only */
    uint32_t key_len;
    uint32_t val_len;
    uint8_t st;
    bool in_family; /* listed in its family's index */
} ov_entry;

typedef struct ov_undo {
    uint32_t entry;
    uint8_t st;
    uint8_t *val;
    uint32_t val_len;
} ov_undo;

typedef struct ov_family {
    uint32_t *idx;
    size_t n;
    size_t cap;
} ov_family;

struct ledger_overlay {
    store *s;
    ov_entry *e;
    size_t n;
    size_t cap;
    uint32_t *table; /* entry index + 1; 0 = empty slot */
    size_t table_cap; /* power of two, at least twice n */
    ov_undo *undo;
    size_t n_undo;
    size_t cap_undo;
    bool in_sp;
    ov_family fam[256]; /* written entries by first key byte, for scans */
};

static uint64_t key_hash(const uint8_t *key, size_t len) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= key[i];
        h *= 1099511628211ull;
    }
    return h ^ (h >> 29);
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0) return c;
    return (alen > blen) - (alen < blen);
}

ledger_overlay *ledger_ov_new(store *s) {
    assert(s != NULL);
    ledger_overlay *ov = calloc(1, sizeof *ov);
    if (ov == NULL) return NULL;
    ov->s = s;
    ov->table_cap = 1024;
    ov->table = calloc(ov->table_cap, sizeof *ov->table);
    if (ov->table == NULL) {
        free(ov);
        return NULL;
    }
    return ov;
}

void ledger_ov_free(ledger_overlay *ov) {
    if (ov == NULL) return;
    for (size_t i = 0; i < ov->n; i++) {
        free(ov->e[i].key);
        free(ov->e[i].val);
    }
    for (size_t i = 0; i < ov->n_undo; i++) free(ov->undo[i].val);
    for (size_t i = 0; i < 256; i++) free(ov->fam[i].idx);
    free(ov->e);
    free(ov->table);
    free(ov->undo);
    free(ov);
}

static int table_grow(ledger_overlay *ov) {
    size_t cap = ov->table_cap * 2;
    uint32_t *t = calloc(cap, sizeof *t);
    if (t == NULL) return GZ_ENOMEM;
    for (size_t i = 0; i < ov->n; i++) {
        size_t slot = (size_t)key_hash(ov->e[i].key, ov->e[i].key_len) & (cap - 1);
        while (t[slot] != 0) slot = (slot + 1) & (cap - 1);
        t[slot] = (uint32_t)(i + 1);
    }
    free(ov->table);
    ov->table = t;
    ov->table_cap = cap;
    return GZ_OK;
}

/* Finds key's entry, creating an UNKNOWN one when absent. *idx receives it. */
static int entry_find(ledger_overlay *ov, const uint8_t *key, size_t key_len, uint32_t *idx) {
    assert(key_len >= 1);
    assert(key_len <= LEDGER_KEY_MAX);
    size_t mask = ov->table_cap - 1;
    size_t slot = (size_t)key_hash(key, key_len) & mask;
    while (ov->table[slot] != 0) {
        const ov_entry *e = &ov->e[ov->table[slot] - 1];
        if (e->key_len == key_len && memcmp(e->key, key, key_len) == 0) {
            *idx = ov->table[slot] - 1;
            return GZ_OK;
        }
        slot = (slot + 1) & mask;
    }
    if (ov->n >= UINT32_MAX - 1) return GZ_ENOMEM;
    if (ov->n == ov->cap) {
        size_t cap = ov->cap ? ov->cap * 2 : 256;
        ov_entry *e = realloc(ov->e, cap * sizeof *e);
        if (e == NULL) return GZ_ENOMEM;
        ov->e = e;
        ov->cap = cap;
    }
    uint8_t *k = malloc(key_len);
    if (k == NULL) return GZ_ENOMEM;
    memcpy(k, key, key_len);
    ov->e[ov->n] = (ov_entry){.key = k, .key_len = (uint32_t)key_len, .st = OV_UNKNOWN};
    ov->table[slot] = (uint32_t)(ov->n + 1);
    *idx = (uint32_t)ov->n;
    ov->n++;
    if (ov->n * 2 > ov->table_cap) return table_grow(ov);
    return GZ_OK;
}

int ledger_ov_get(ledger_overlay *ov, const uint8_t *key, size_t key_len, gz_buf *val) {
    uint32_t i;
    int err = entry_find(ov, key, key_len, &i);
    if (err != GZ_OK) return err;
    ov_entry *e = &ov->e[i];
    if (e->st == OV_UNKNOWN) {
        gz_buf tmp = {0};
        err = store_state_get(ov->s, key, key_len, &tmp);
        if (err == GZ_ENOTFOUND) {
            e->st = OV_ABSENT;
        } else if (err != GZ_OK) {
            gz_buf_free(&tmp);
            return err;
        } else if (tmp.len > LEDGER_VALUE_MAX) {
            gz_buf_free(&tmp);
            return GZ_ECORRUPT;
        } else {
            e->st = OV_PRESENT;
            e->val_len = (uint32_t)tmp.len;
            e->val = tmp.data; /* takes the allocation (NULL for an empty value) */
        }
    }
    gz_buf_reset(val);
    if (e->st == OV_ABSENT || e->st == OV_DEL) return GZ_ENOTFOUND;
    return gz_buf_append(val, e->val, e->val_len);
}

static int family_add(ledger_overlay *ov, uint32_t i) {
    ov_entry *e = &ov->e[i];
    if (e->in_family) return GZ_OK;
    ov_family *f = &ov->fam[e->key[0]];
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        uint32_t *p = realloc(f->idx, cap * sizeof *p);
        if (p == NULL) return GZ_ENOMEM;
        f->idx = p;
        f->cap = cap;
    }
    f->idx[f->n++] = i;
    e->in_family = true;
    return GZ_OK;
}

static int entry_write(ledger_overlay *ov, const uint8_t *key, size_t key_len, uint8_t st,
                       const void *val, size_t val_len) {
    assert(val_len <= LEDGER_VALUE_MAX);
    uint32_t i;
    int err = entry_find(ov, key, key_len, &i);
    if (err == GZ_OK) err = family_add(ov, i);
    if (err != GZ_OK) return err;
    uint8_t *copy = NULL;
    if (st == OV_PUT) {
        copy = malloc(val_len ? val_len : 1);
        if (copy == NULL) return GZ_ENOMEM;
        if (val_len > 0) memcpy(copy, val, val_len);
    }
    if (ov->in_sp && ov->n_undo == ov->cap_undo) {
        size_t cap = ov->cap_undo ? ov->cap_undo * 2 : 64;
        ov_undo *u = realloc(ov->undo, cap * sizeof *u);
        if (u == NULL) {
            free(copy);
            return GZ_ENOMEM;
        }
        ov->undo = u;
        ov->cap_undo = cap;
    }
    ov_entry *e = &ov->e[i];
    if (ov->in_sp) {
        ov->undo[ov->n_undo++] = (ov_undo){.entry = i, .st = e->st, .val = e->val,
                                           .val_len = e->val_len};
    } else {
        free(e->val);
    }
    e->st = st;
    e->val = copy;
    e->val_len = st == OV_PUT ? (uint32_t)val_len : 0;
    return GZ_OK;
}

int ledger_ov_put(ledger_overlay *ov, const uint8_t *key, size_t key_len, const void *val,
                  size_t val_len) {
    return entry_write(ov, key, key_len, OV_PUT, val, val_len);
}

int ledger_ov_del(ledger_overlay *ov, const uint8_t *key, size_t key_len) {
    return entry_write(ov, key, key_len, OV_DEL, NULL, 0);
}

void ledger_ov_savepoint_begin(ledger_overlay *ov) {
    assert(!ov->in_sp);
    assert(ov->n_undo == 0);
    ov->in_sp = true;
}

void ledger_ov_savepoint_release(ledger_overlay *ov) {
    assert(ov->in_sp);
    for (size_t i = 0; i < ov->n_undo; i++) free(ov->undo[i].val);
    ov->n_undo = 0;
    ov->in_sp = false;
}

void ledger_ov_savepoint_rollback(ledger_overlay *ov) {
    assert(ov->in_sp);
    while (ov->n_undo > 0) {
        const ov_undo *u = &ov->undo[--ov->n_undo];
        ov_entry *e = &ov->e[u->entry];
        free(e->val);
        e->st = u->st;
        e->val = u->val;
        e->val_len = u->val_len;
    }
    ov->in_sp = false;
}

static bool is_written(const ov_entry *e) { return e->st == OV_PUT || e->st == OV_DEL; }

static int entry_ptr_cmp(const void *a, const void *b) {
    const ov_entry *x = *(const ov_entry *const *)a;
    const ov_entry *y = *(const ov_entry *const *)b;
    return key_cmp(x->key, x->key_len, y->key, y->key_len);
}

size_t ledger_ov_write_count(const ledger_overlay *ov) {
    size_t n = 0;
    for (size_t i = 0; i < ov->n; i++) n += is_written(&ov->e[i]);
    return n;
}

/* The written entries sorted by key, in a new array *out of *n pointers. */
static int written_sorted(const ledger_overlay *ov, ov_entry ***out, size_t *n) {
    size_t count = ledger_ov_write_count(ov);
    *out = NULL;
    *n = 0;
    if (count == 0) return GZ_OK;
    ov_entry **v = malloc(count * sizeof *v);
    if (v == NULL) return GZ_ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < ov->n; i++) {
        if (is_written(&ov->e[i])) v[k++] = &ov->e[i];
    }
    assert(k == count);
    qsort(v, count, sizeof *v, entry_ptr_cmp);
    *out = v;
    *n = count;
    return GZ_OK;
}

int ledger_ov_write_set_hash(ledger_overlay *ov, uint8_t out[32]) {
    ov_entry **v;
    size_t n;
    int err = written_sorted(ov, &v, &n);
    if (err != GZ_OK) return err;
    core_sha256_ctx h;
    core_sha256_init(&h);
    for (size_t i = 0; i < n; i++) {
        uint8_t len[4];
        gz_put_u32be(len, v[i]->key_len);
        core_sha256_update(&h, len, 4);
        core_sha256_update(&h, v[i]->key, v[i]->key_len);
        uint32_t vl = v[i]->st == OV_DEL ? UINT32_MAX : v[i]->val_len;
        gz_put_u32be(len, vl);
        core_sha256_update(&h, len, 4);
        if (v[i]->st == OV_PUT && v[i]->val_len > 0) {
            core_sha256_update(&h, v[i]->val, v[i]->val_len);
        }
    }
    core_sha256_final(&h, out);
    free(v);
    return GZ_OK;
}

int ledger_ov_to_batch(ledger_overlay *ov, store_batch *batch) {
    ov_entry **v;
    size_t n;
    int err = written_sorted(ov, &v, &n);
    for (size_t i = 0; err == GZ_OK && i < n; i++) {
        if (v[i]->st == OV_PUT) {
            err = store_state_put(batch, v[i]->key, v[i]->key_len, v[i]->val, v[i]->val_len);
        } else {
            err = store_state_del(batch, v[i]->key, v[i]->key_len);
        }
    }
    free(v);
    return err;
}

/* ---- merged scan ---- */

typedef struct scan_ctx {
    ov_entry **v; /* the block's written keys in range, sorted */
    size_t n;
    size_t next;
    ledger_scan_cb cb;
    void *data;
    bool stopped;
} scan_ctx;

/* Emits block-written entries below (or, with upto == NULL, all remaining). */
static bool emit_overlay_below(scan_ctx *c, const uint8_t *upto, size_t upto_len) {
    while (c->next < c->n) {
        const ov_entry *e = c->v[c->next];
        if (upto != NULL && key_cmp(e->key, e->key_len, upto, upto_len) >= 0) break;
        c->next++;
        if (e->st == OV_PUT && !c->cb(e->key, e->key_len, e->val, e->val_len, c->data)) {
            c->stopped = true;
            return false;
        }
    }
    return true;
}

static bool merge_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                     void *data) {
    scan_ctx *c = data;
    if (!emit_overlay_below(c, key, key_len)) return false;
    if (c->next < c->n) {
        const ov_entry *e = c->v[c->next];
        if (key_cmp(e->key, e->key_len, key, key_len) == 0) {
            c->next++;
            if (e->st == OV_DEL) return true;
            bool go = c->cb(e->key, e->key_len, e->val, e->val_len, c->data);
            c->stopped = !go;
            return go;
        }
    }
    bool go = c->cb(key, key_len, val, val_len, c->data);
    c->stopped = !go;
    return go;
}

static bool in_range(const ov_entry *e, const uint8_t *prefix, size_t prefix_len,
                     const uint8_t *start, size_t start_len) {
    if (e->key_len < prefix_len || memcmp(e->key, prefix, prefix_len) != 0) return false;
    return start == NULL || key_cmp(e->key, e->key_len, start, start_len) >= 0;
}

/* Collects the written entries of the scanned range, sorted. */
static int scan_collect(const ledger_overlay *ov, const uint8_t *prefix, size_t prefix_len,
                        const uint8_t *start, size_t start_len, scan_ctx *c) {
    size_t total = 0;
    for (size_t f = 0; f < 256; f++) {
        if (prefix_len == 0 || f == prefix[0]) total += ov->fam[f].n;
    }
    if (total == 0) return GZ_OK;
    c->v = malloc(total * sizeof *c->v);
    if (c->v == NULL) return GZ_ENOMEM;
    for (size_t f = 0; f < 256; f++) {
        if (prefix_len != 0 && f != prefix[0]) continue;
        for (size_t j = 0; j < ov->fam[f].n; j++) {
            ov_entry *e = &ov->e[ov->fam[f].idx[j]];
            if (is_written(e) && in_range(e, prefix, prefix_len, start, start_len)) {
                c->v[c->n++] = e;
            }
        }
    }
    qsort(c->v, c->n, sizeof *c->v, entry_ptr_cmp);
    return GZ_OK;
}

int ledger_ov_scan(ledger_overlay *ov, const uint8_t *prefix, size_t prefix_len,
                   const uint8_t *start, size_t start_len, ledger_scan_cb cb, void *data) {
    assert(cb != NULL);
    scan_ctx c = {.cb = cb, .data = data};
    int err = scan_collect(ov, prefix, prefix_len, start, start_len, &c);
    if (err == GZ_OK) {
        err = store_state_scan(ov->s, prefix, prefix_len, start, start_len, merge_cb, &c);
    }
    if (err == GZ_OK && !c.stopped) (void)emit_overlay_below(&c, NULL, 0);
    free(c.v);
    return err;
}
