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

static size_t min_size(size_t a, size_t b) { return a < b ? a : b; }

int mempool_init(mempool *m, size_t txs_max, size_t bytes_max) {
    memset(m, 0, sizeof *m);
    m->txs_max = txs_max;
    m->bytes_max = bytes_max;
    m->signer_txs_max = min_size(GZ_MEMPOOL_SIGNER_TXS_MAX, txs_max);
    m->signer_bytes_max = min_size(GZ_MEMPOOL_SIGNER_BYTES_MAX, bytes_max);
    m->peer_txs_max = min_size(GZ_MEMPOOL_PEER_TXS_MAX, txs_max);
    m->peer_bytes_max = min_size(GZ_MEMPOOL_PEER_BYTES_MAX, bytes_max);
    m->sources[0].used = true;
    m->sources[0].peer = MEMPOOL_LOCAL;
    m->signers_cap = 64;
    m->signers = calloc(m->signers_cap, sizeof *m->signers);
    if (m->signers == NULL) return GZ_ENOMEM;
    return index_alloc(m, 1024);
}

void mempool_free(mempool *m) {
    for (size_t i = m->order_head; i < m->order_len; i++) free(m->order[i].bytes);
    free(m->order);
    free(m->index);
    free(m->signers);
    memset(m, 0, sizeof *m);
}

/* ---- signer records --------------------------------------------------------- */

/* Signers are public keys, chosen by their owners: mix 16 bytes so that a
 * shared prefix alone does not make them collide. */
static size_t signer_home(const uint8_t signer[32], size_t cap) {
    uint64_t a, b;
    memcpy(&a, signer, sizeof a);
    memcpy(&b, signer + 8, sizeof b);
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return (size_t)(h >> 17) & (cap - 1);
}

static mempool_signer *signer_find(const mempool *m, const uint8_t signer[32]) {
    size_t mask = m->signers_cap - 1;
    for (size_t i = signer_home(signer, m->signers_cap);; i = (i + 1) & mask) {
        mempool_signer *s = &m->signers[i];
        if (!s->used) return NULL;
        if (memcmp(s->signer, signer, 32) == 0) return s;
    }
}

static mempool_signer *signer_slot(mempool_signer *t, size_t cap, const uint8_t signer[32]) {
    size_t i = signer_home(signer, cap);
    while (t[i].used) i = (i + 1) & (cap - 1);
    return &t[i];
}

/* Keeps the table at most half full, so probes stay short and always end. */
static int signers_room(mempool *m) {
    if (2 * (m->n_signers + 1) <= m->signers_cap) return GZ_OK;
    size_t cap = 2 * m->signers_cap;
    mempool_signer *t = calloc(cap, sizeof *t);
    if (t == NULL) return GZ_ENOMEM;
    for (size_t i = 0; i < m->signers_cap; i++)
        if (m->signers[i].used) *signer_slot(t, cap, m->signers[i].signer) = m->signers[i];
    free(m->signers);
    m->signers = t;
    m->signers_cap = cap;
    return GZ_OK;
}

/* Deletes a record with no txs left, shifting the later ones of its probe run
 * back (no tombstones). */
static void signer_delete(mempool *m, const mempool_signer *s) {
    size_t mask = m->signers_cap - 1;
    size_t hole = (size_t)(s - m->signers);
    m->signers[hole].used = false;
    m->n_signers--;
    for (size_t i = (hole + 1) & mask; m->signers[i].used; i = (i + 1) & mask) {
        size_t home = signer_home(m->signers[i].signer, m->signers_cap);
        /* The record at i may move to the hole if its home is not in (hole, i]. */
        bool stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
        if (stays) continue;
        m->signers[hole] = m->signers[i];
        m->signers[i].used = false;
        hole = i;
    }
}

/* The ready counts cover the records that are ready and not being redone:
 * every change to a record is bracketed by unready and reready. */
static void unready(mempool *m, const mempool_signer *s) {
    if (s->dirty || s->n_at_next == 0) return;
    m->ready_signers--;
    m->ready_txs -= s->n_txs;
}

static void reready(mempool *m, const mempool_signer *s) {
    if (s->dirty || s->n_at_next == 0) return;
    m->ready_signers++;
    m->ready_txs += s->n_txs;
}

/* ---- the txid index and the arrival order ---------------------------------------- */

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

/* ---- adding ------------------------------------------------------------------------ */

/* The source slot of a peer, a free one for a new peer, or -1 when all are
 * taken. */
static int source_of(mempool *m, int peer) {
    if (peer < 0) return 0;
    int free_slot = -1;
    for (int i = 1; i < (int)GZ_MEMPOOL_SOURCES_MAX; i++) {
        if (m->sources[i].used && m->sources[i].peer == peer) return i;
        if (!m->sources[i].used && free_slot < 0) free_slot = i;
    }
    return free_slot;
}

static size_t redo_dirty(mempool *m);

/* The caps of the signer's and the peer's shares; GZ_OK or GZ_EMEMPOOL. */
static int caps_check(mempool *m, const mempool_signer *s, int src, size_t len, gz_msg *msg) {
    if (s != NULL && (s->n_txs >= m->signer_txs_max || len > m->signer_bytes_max - s->bytes)) {
        m->stats.refused_signer++;
        return gz_fail(msg, GZ_EMEMPOOL, "mempool: body.signer has %u txs (%zu bytes) pending, at most %zu (%zu bytes) "
                       "per signer", s->n_txs, s->bytes, m->signer_txs_max, m->signer_bytes_max);
    }
    if (src < 0) {
        m->stats.refused_peer++;
        return gz_fail(msg, GZ_EMEMPOOL, "mempool: txs of %u peers pending already", GZ_MEMPOOL_SOURCES_MAX - 1);
    }
    const mempool_source *p = &m->sources[src];
    if (src > 0 && p->used && (p->txs >= m->peer_txs_max || len > m->peer_bytes_max - p->bytes)) {
        m->stats.refused_peer++;
        return gz_fail(msg, GZ_EMEMPOOL, "mempool: this peer's txs fill its share (%zu txs, %zu bytes)",
                       m->peer_txs_max, m->peer_bytes_max);
    }
    return GZ_OK;
}

/* The signer's record, made if new; brought to next if that moved on. */
static mempool_signer *signer_for(mempool *m, const mempool_tx *t) {
    mempool_signer *s = signer_find(m, t->signer);
    if (s == NULL) {
        if (signers_room(m) != GZ_OK) return NULL;
        s = signer_slot(m->signers, m->signers_cap, t->signer);
        memset(s, 0, sizeof *s);
        s->used = true;
        memcpy(s->signer, t->signer, 32);
        s->next = t->next;
        m->n_signers++;
    } else if (t->next > s->next) {
        /* A commit this pool was not told about: redo the record now. */
        unready(m, s);
        s->next = t->next;
        s->n_at_next = 0;
        s->dirty = true;
        (void)redo_dirty(m);
        s = signer_find(m, t->signer);
        return s != NULL ? s : signer_for(m, t);
    }
    return s;
}

static void entry_fill(mempool *m, mempool_entry *e, const mempool_tx *t, uint8_t *copy, size_t len, int src) {
    memcpy(e->txid, t->txid, 32);
    memcpy(e->signer, t->signer, 32);
    e->nonce = t->nonce;
    e->admitted_ms = t->now_ms;
    e->bytes = copy;
    e->len = (uint32_t)len;
    e->source = (uint8_t)src;
    e->seq = m->next_seq++;
    e->live = true;
}

int mempool_add(mempool *m, const mempool_tx *t, const uint8_t *bytes, size_t len, gz_msg *msg) {
    if (index_find(m, t->txid) != SIZE_MAX) return gz_fail(msg, GZ_EDUP, "tx: already in the mempool");
    if (m->count >= m->txs_max || len > m->bytes_max - m->bytes) {
        m->stats.refused_full++;
        return gz_fail(msg, GZ_EMEMPOOL, "mempool: full (%zu txs, %zu bytes)", m->count, m->bytes);
    }
    int src = source_of(m, t->peer);
    int rc = caps_check(m, signer_find(m, t->signer), src, len, msg);
    if (rc != GZ_OK) return rc;
    rc = order_room(m);
    uint8_t *copy = rc == GZ_OK ? malloc(len ? len : 1) : NULL;
    mempool_signer *s = copy != NULL ? signer_for(m, t) : NULL;
    if (s == NULL) {
        free(copy);
        return gz_fail(msg, GZ_ENOMEM, "mempool: out of memory");
    }
    memcpy(copy, bytes, len);
    mempool_entry *e = &m->order[m->order_len];
    entry_fill(m, e, t, copy, len, src);
    index_insert(m, t->txid, (uint32_t)m->order_len);
    m->order_len++;
    m->count++;
    m->bytes += len;
    mempool_source *p = &m->sources[src];
    if (!p->used) *p = (mempool_source){.peer = t->peer, .used = true};
    p->txs++;
    p->bytes += len;
    unready(m, s);
    s->n_txs++;
    s->bytes += len;
    if (t->nonce == s->next) s->n_at_next++;
    reready(m, s);
    return GZ_OK;
}

/* ---- removing ---------------------------------------------------------------------- */

bool mempool_has(const mempool *m, const uint8_t txid[32]) { return index_find(m, txid) != SIZE_MAX; }

bool mempool_has_bytes(const mempool *m, const uint8_t txid[32], const uint8_t *bytes, size_t len) {
    size_t s = index_find(m, txid);
    if (s == SIZE_MAX) return false;
    const mempool_entry *e = &m->order[m->index[s]];
    return e->len == len && memcmp(e->bytes, bytes, len) == 0;
}

/* Takes the entry at index slot s out of the pool and of its signer's and
 * source's counts. A record left without txs is deleted unless it is being
 * redone (redo_dirty deletes those). */
static void remove_slot(mempool *m, size_t s) {
    mempool_entry *e = &m->order[m->index[s]];
    assert(e->live);
    mempool_signer *sg = signer_find(m, e->signer);
    assert(sg != NULL);
    unready(m, sg);
    sg->n_txs--;
    sg->bytes -= e->len;
    if (e->nonce == sg->next && !sg->dirty) sg->n_at_next--;
    reready(m, sg);
    if (sg->n_txs == 0 && !sg->dirty) signer_delete(m, sg);
    mempool_source *p = &m->sources[e->source];
    p->txs--;
    p->bytes -= e->len;
    if (e->source > 0 && p->txs == 0) p->used = false;
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
}

bool mempool_remove(mempool *m, const uint8_t txid[32]) {
    size_t s = index_find(m, txid);
    if (s == SIZE_MAX) return false;
    remove_slot(m, s);
    return true;
}

size_t mempool_count(const mempool *m) { return m->count; }
size_t mempool_bytes(const mempool *m) { return m->bytes; }
size_t mempool_ready(const mempool *m) { return m->ready_signers; }
size_t mempool_ready_txs(const mempool *m) { return m->ready_txs; }

const mempool_signer *mempool_signer_get(const mempool *m, const uint8_t signer[32]) {
    return signer_find(m, signer);
}

/* ---- recheck and expiry ------------------------------------------------------------- */

/* One pass over the pool for the records marked dirty: evicts their txs that
 * can no longer execute, counts those at the new next nonce, then makes the
 * records count again (or deletes them if empty). */
static size_t redo_dirty(mempool *m) {
    size_t evicted = 0;
    for (size_t i = m->order_head; i < m->order_len; i++) {
        mempool_entry *e = &m->order[i];
        if (!e->live) continue;
        mempool_signer *s = signer_find(m, e->signer);
        if (!s->dirty) continue;
        if (s->gone || e->nonce < s->next) {
            remove_slot(m, index_find(m, e->txid));
            evicted++;
        } else if (e->nonce == s->next) s->n_at_next++;
    }
    for (size_t i = 0; i < m->signers_cap; i++) {
        mempool_signer *s = &m->signers[i];
        if (!s->used || !s->dirty) continue;
        s->dirty = false;
        if (s->n_txs == 0) {
            signer_delete(m, s);
            i--; /* a later record may have moved into slot i */
            continue;
        }
        reready(m, s);
    }
    m->stats.evicted_stale += evicted;
    return evicted;
}

size_t mempool_recheck(mempool *m, const uint8_t (*signers)[32], size_t n, mempool_nonce_fn next_nonce,
                       void *ctx) {
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        mempool_signer *s = signer_find(m, signers[i]);
        if (s == NULL || s->dirty) continue;
        uint64_t next = 0;
        int rc = next_nonce(ctx, signers[i], &next);
        bool gone = rc == GZ_ENOTFOUND;
        if ((rc != GZ_OK && !gone) || (!gone && next == s->next)) continue;
        unready(m, s);
        s->dirty = true;
        s->gone = gone;
        s->n_at_next = 0;
        if (!gone) s->next = next;
        any = true;
    }
    return any ? redo_dirty(m) : 0;
}

size_t mempool_expire(mempool *m, uint64_t now_ms, uint64_t ttl_ms) {
    if (now_ms < ttl_ms) return 0;
    uint64_t cut = now_ms - ttl_ms;
    size_t evicted = 0;
    while (m->count > 0) {
        const mempool_entry *e = &m->order[m->order_head]; /* live: the head skips removed ones */
        if (e->admitted_ms > cut) break;
        remove_slot(m, index_find(m, e->txid));
        evicted++;
    }
    m->stats.evicted_expired += evicted;
    return evicted;
}

void mempool_each(const mempool *m, mempool_iter_cb cb, void *data) {
    for (size_t i = m->order_head; i < m->order_len; i++) {
        if (m->order[i].live && !cb(&m->order[i], data)) return;
    }
}
