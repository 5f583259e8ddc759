#include "node/mempool.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY UINT32_MAX
#define TOMB (UINT32_MAX - 1)

static size_t slot_of(const uint8_t txid[32], size_t cap) {
    uint64_t h;
    memcpy(&h, txid, sizeof h); /* txids are hashes: any 8 bytes are uniform */
    return (size_t)(h & (cap - 1));
}

static int index_alloc(mempool *m, size_t cap) {
    uint32_t *idx = malloc(cap * sizeof *idx);
    if (idx == NULL) return GZ_ENOMEM;
    for (size_t i = 0; i < cap; i++) idx[i] = EMPTY;
    free(m->index);
    m->index = idx;
    m->index_cap = cap;
    return GZ_OK;
}

int mempool_init(mempool *m, size_t txs_max, size_t bytes_max) {
    memset(m, 0, sizeof *m);
    m->txs_max = txs_max;
    m->bytes_max = bytes_max;
    return index_alloc(m, 1024);
}

void mempool_free(mempool *m) {
    for (size_t i = m->order_head; i < m->order_len; i++) free(m->order[i].bytes);
    free(m->order);
    free(m->index);
    memset(m, 0, sizeof *m);
}

/* Returns the index slot holding txid, or SIZE_MAX. */
static size_t index_find(const mempool *m, const uint8_t txid[32]) {
    size_t mask = m->index_cap - 1;
    for (size_t s = slot_of(txid, m->index_cap), n = 0; n < m->index_cap; s = (s + 1) & mask, n++) {
        uint32_t pos = m->index[s];
        if (pos == EMPTY) return SIZE_MAX;
        if (pos != TOMB && memcmp(m->order[pos].txid, txid, 32) == 0) return s;
    }
    return SIZE_MAX;
}

static void index_insert(mempool *m, const uint8_t txid[32], uint32_t pos) {
    size_t mask = m->index_cap - 1;
    size_t s = slot_of(txid, m->index_cap);
    while (m->index[s] != EMPTY && m->index[s] != TOMB) s = (s + 1) & mask;
    m->index[s] = pos;
}

/* Moves live entries to the front of order and rebuilds the index (also
 * growing it so it stays at most half full). */
static int compact(mempool *m) {
    size_t w = 0;
    for (size_t r = m->order_head; r < m->order_len; r++) {
        if (m->order[r].live) m->order[w++] = m->order[r];
    }
    m->order_len = w;
    m->order_head = 0;
    size_t cap = m->index_cap;
    while (cap < 4 * (w + 1)) cap *= 2;
    int rc = index_alloc(m, cap);
    if (rc != GZ_OK) return rc;
    for (size_t i = 0; i < w; i++) index_insert(m, m->order[i].txid, (uint32_t)i);
    return GZ_OK;
}

static int order_room(mempool *m) {
    /* Removed entries keep their slot (and an index tombstone) until compaction. */
    size_t dead = m->order_len - m->count;
    if (m->order_len == m->order_cap && dead > m->order_cap / 4) {
        int rc = compact(m);
        if (rc != GZ_OK) return rc;
    }
    if (m->order_len == m->order_cap) {
        size_t cap = m->order_cap ? m->order_cap * 2 : 1024;
        mempool_entry *p = realloc(m->order, cap * sizeof *p);
        if (p == NULL) return GZ_ENOMEM;
        m->order = p;
        m->order_cap = cap;
    }
    if (2 * (m->order_len + 1) > m->index_cap) return compact(m);
    return GZ_OK;
}

int mempool_add(mempool *m, const uint8_t txid[32], const uint8_t signer[32], uint64_t nonce,
                const uint8_t *bytes, size_t len) {
    if (index_find(m, txid) != SIZE_MAX) return GZ_EDUP;
    if (m->count >= m->txs_max || len > m->bytes_max - m->bytes) return GZ_EMEMPOOL;
    int rc = order_room(m);
    if (rc != GZ_OK) return rc;
    uint8_t *copy = malloc(len ? len : 1);
    if (copy == NULL) return GZ_ENOMEM;
    memcpy(copy, bytes, len);
    mempool_entry *e = &m->order[m->order_len];
    memcpy(e->txid, txid, 32);
    memcpy(e->signer, signer, 32);
    e->nonce = nonce;
    e->bytes = copy;
    e->len = (uint32_t)len;
    e->seq = m->next_seq++;
    e->live = true;
    index_insert(m, txid, (uint32_t)m->order_len);
    m->order_len++;
    m->count++;
    m->bytes += len;
    return GZ_OK;
}

bool mempool_has(const mempool *m, const uint8_t txid[32]) { return index_find(m, txid) != SIZE_MAX; }

bool mempool_has_bytes(const mempool *m, const uint8_t txid[32], const uint8_t *bytes, size_t len) {
    size_t s = index_find(m, txid);
    if (s == SIZE_MAX) return false;
    const mempool_entry *e = &m->order[m->index[s]];
    return e->len == len && memcmp(e->bytes, bytes, len) == 0;
}

bool mempool_remove(mempool *m, const uint8_t txid[32]) {
    size_t s = index_find(m, txid);
    if (s == SIZE_MAX) return false;
    mempool_entry *e = &m->order[m->index[s]];
    assert(e->live);
    e->live = false;
    free(e->bytes);
    e->bytes = NULL;
    m->count--;
    m->bytes -= e->len;
    m->index[s] = TOMB;
    /* Skip removed entries at the front so iteration starts at live ones. */
    while (m->order_head < m->order_len && !m->order[m->order_head].live) m->order_head++;
    if (m->count == 0) {
        m->order_len = 0;
        m->order_head = 0;
        for (size_t i = 0; i < m->index_cap; i++) m->index[i] = EMPTY;
    }
    return true;
}

size_t mempool_count(const mempool *m) { return m->count; }
size_t mempool_bytes(const mempool *m) { return m->bytes; }

void mempool_each(const mempool *m, mempool_iter_cb cb, void *data) {
    for (size_t i = m->order_head; i < m->order_len; i++) {
        if (m->order[i].live && !cb(&m->order[i], data)) return;
    }
}
