/* The read cache in front of a backend (store_cache_enable).
 *
 * Set-associative: a key hashes to one set of CACHE_WAYS entries, and a lookup
 * compares at most those. An entry remembers either a value or that the key is
 * absent, since many reads are of keys that do not exist yet (a tx's result
 * before it commits). Writes go to the backend first; only after the backend
 * applied a batch are its ops applied here, in order, to the keys the cache
 * holds, so it never holds something the backend does not. Keys a batch
 * creates enter the cache when next read, not when written: a block writes
 * tens of thousands of keys that are never read again. A cached value is
 * updated by a write; a key cached as absent is dropped when created. A value longer than CACHE_VAL_MAX (a block)
 * is not kept; writing one drops any entry for its key.
 *
 * Bytes are bounded as well as entries: when an insert takes the total over
 * the budget, a hand sweeping the sets in turn frees whole sets until it fits.
 * Within a set the victim is an empty way, else one not hit since the hand or
 * an insert last passed (a second-chance bit), else the first way. */
#include "storage/store_internal.h"

#include <stdlib.h>
#include <string.h>

#define CACHE_WAYS 8
#define CACHE_VAL_MAX 4096

enum { SLOT_EMPTY = 0, SLOT_VALUE, SLOT_ABSENT };

typedef struct cache_slot {
    uint64_t hash;
    uint8_t *mem; /* key then value, one allocation; NULL when empty */
    uint32_t key_len;
    uint32_t val_len;
    uint8_t state;
    uint8_t hit; /* second-chance bit */
} cache_slot;

struct store_cache {
    cache_slot *slots;
    size_t sets; /* a power of two */
    size_t bytes, bytes_max;
    size_t hand; /* the next set the budget sweep frees */
    store_cache_stats stats;
};

/* FNV-1a, then a final mix so that the low bits (the set index) depend on
 * every byte. */
static uint64_t key_hash(const uint8_t *key, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++) {
        h ^= key[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static size_t slot_cost(const cache_slot *e) { return sizeof *e + e->key_len + e->val_len; }

static void slot_clear(store_cache *c, cache_slot *e) {
    if (e->state == SLOT_EMPTY) return;
    c->bytes -= slot_cost(e);
    free(e->mem);
    memset(e, 0, sizeof *e);
}

static cache_slot *set_of(store_cache *c, uint64_t h) {
    return c->slots + (h & (c->sets - 1)) * CACHE_WAYS;
}

static cache_slot *find(store_cache *c, uint64_t h, const uint8_t *key, size_t key_len) {
    cache_slot *set = set_of(c, h);
    for (int i = 0; i < CACHE_WAYS; i++) {
        cache_slot *e = &set[i];
        if (e->state != SLOT_EMPTY && e->hash == h && e->key_len == key_len &&
            memcmp(e->mem, key, key_len) == 0)
            return e;
    }
    return NULL;
}

static cache_slot *victim(cache_slot *set) {
    for (int i = 0; i < CACHE_WAYS; i++)
        if (set[i].state == SLOT_EMPTY) return &set[i];
    for (int i = 0; i < CACHE_WAYS; i++) {
        if (!set[i].hit) return &set[i];
        set[i].hit = 0;
    }
    return &set[0];
}

/* Frees whole sets, from the hand on, until need more bytes fit. The set the
 * caller is filling is skipped so that its chosen way stays valid. */
static void make_room(store_cache *c, size_t need, const cache_slot *keep) {
    for (size_t swept = 0; c->bytes + need > c->bytes_max && swept < c->sets; swept++) {
        cache_slot *set = c->slots + c->hand * CACHE_WAYS;
        c->hand = (c->hand + 1) & (c->sets - 1);
        if (keep >= set && keep < set + CACHE_WAYS) continue;
        for (int i = 0; i < CACHE_WAYS; i++) slot_clear(c, &set[i]);
    }
}

/* Makes slot e (the key's own entry, or the victim way of its set) hold key
 * with val (state SLOT_VALUE) or as absent. A value too long to keep, or out
 * of memory, leaves e empty: the key is simply not cached. */
static void fill(store_cache *c, cache_slot *e, uint64_t h, const uint8_t *key, size_t key_len, int state,
                 const uint8_t *val, size_t val_len) {
    slot_clear(c, e);
    if (state == SLOT_VALUE && val_len > CACHE_VAL_MAX) return;
    size_t need = sizeof *e + key_len + val_len;
    if (need > c->bytes_max) return;
    make_room(c, need, e);
    if (c->bytes + need > c->bytes_max) return;
    uint8_t *mem = malloc(key_len + val_len);
    if (mem == NULL) return;
    memcpy(mem, key, key_len);
    if (val_len > 0) memcpy(mem + key_len, val, val_len);
    *e = (cache_slot){.hash = h,
                      .mem = mem,
                      .key_len = (uint32_t)key_len,
                      .val_len = (uint32_t)val_len,
                      .state = (uint8_t)state,
                      .hit = 0};
    c->bytes += need;
}

int store_cache_enable(store *s, size_t entries, size_t bytes_max) {
    if (s == NULL || entries < CACHE_WAYS || bytes_max == 0) return GZ_EMISUSE;
    if (s->cache != NULL) return GZ_EMISUSE;
    size_t sets = 1;
    while (sets * 2 * CACHE_WAYS <= entries) sets *= 2;
    store_cache *c = calloc(1, sizeof *c);
    if (c == NULL) return GZ_ENOMEM;
    c->slots = calloc(sets * CACHE_WAYS, sizeof *c->slots);
    if (c->slots == NULL) {
        free(c);
        return GZ_ENOMEM;
    }
    c->sets = sets;
    c->bytes_max = bytes_max;
    s->cache = c;
    return GZ_OK;
}

void store_cache_free(store_cache *c) {
    if (c == NULL) return;
    for (size_t i = 0; i < c->sets * CACHE_WAYS; i++) free(c->slots[i].mem);
    free(c->slots);
    free(c);
}

bool store_cache_stats_get(const store *s, store_cache_stats *out) {
    if (s == NULL || s->cache == NULL || out == NULL) return false;
    *out = s->cache->stats;
    out->bytes = s->cache->bytes;
    return true;
}

int store_cache_get(store *s, const uint8_t *key, size_t key_len, gz_buf *val) {
    store_cache *c = s->cache;
    uint64_t h = key_hash(key, key_len);
    cache_slot *e = find(c, h, key, key_len);
    if (e != NULL) {
        c->stats.hits++;
        e->hit = 1;
        if (e->state == SLOT_ABSENT) return GZ_ENOTFOUND;
        return gz_buf_append(val, e->mem + e->key_len, e->val_len);
    }
    c->stats.misses++;
    int err = s->ops->get(s, key, key_len, val);
    if (err == GZ_OK) fill(c, victim(set_of(c, h)), h, key, key_len, SLOT_VALUE, val->data, val->len);
    else if (err == GZ_ENOTFOUND) fill(c, victim(set_of(c, h)), h, key, key_len, SLOT_ABSENT, NULL, 0);
    return err;
}

void store_cache_written(store *s, const store_batch *b) {
    store_cache *c = s->cache;
    size_t pos = 0;
    store_op op;
    while (store_batch_next(b, &pos, &op)) {
        uint64_t h = key_hash(op.key, op.key_len);
        cache_slot *e = find(c, h, op.key, op.key_len);
        if (e == NULL) continue; /* not cached: nothing to update */
        if (op.op == STORE_OP_PUT && e->state == SLOT_ABSENT) {
            /* A key read as absent and now created (a tx's result, its
             * artifact, its vote) is rarely read again: drop it rather than
             * fill the cache with every new record. */
            slot_clear(c, e);
            continue;
        }
        if (op.op == STORE_OP_PUT) fill(c, e, h, op.key, op.key_len, SLOT_VALUE, op.val, op.val_len);
        else fill(c, e, h, op.key, op.key_len, SLOT_ABSENT, NULL, 0);
    }
}
