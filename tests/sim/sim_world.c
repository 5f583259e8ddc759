/* The simulated world: PRNG, clock and event queue, the lossy network, the
 * fault schedule, the shared block registry, signatures, and the checkers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "tests/sim/sim_internal.h"

/* ---- PRNG: splitmix64 seeds xoshiro256** ---- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(sim_rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

uint64_t sim_rng_below(sim_rng *r, uint64_t n) { return sim_rng_next(r) % n; }

uint64_t sim_rng_range(sim_rng *r, uint64_t lo, uint64_t hi) {
    return lo + sim_rng_below(r, hi - lo + 1);
}

bool sim_rng_chance(sim_rng *r, uint32_t ppm) { return sim_rng_below(r, 1000000) < ppm; }

/* ---- trace and violations ---- */

void sim_trace(const sim_world *w, int node, const char *fmt, ...) {
    if (!w->opt.verbose) return;
    va_list ap;
    va_start(ap, fmt);
    if (node >= 0) {
        printf("%7.3fs n%d ", (double)w->now / 1000.0, node);
    } else {
        printf("%7.3fs -- ", (double)w->now / 1000.0);
    }
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

void sim_violation(sim_world *w, bool safety, const char *fmt, ...) {
    char text[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (safety) w->res->safety++;
    if (w->res->first[0] == '\0')
        snprintf(w->res->first, sizeof w->res->first, "%s at %.3fs: %s",
                 safety ? "safety" : "liveness", (double)w->now / 1000.0, text);
    if (w->opt.verbose) printf("%7.3fs !! VIOLATION: %s\n", (double)w->now / 1000.0, text);
}

const char *sim_hex4(const uint8_t id[32], char out[9]) {
    snprintf(out, 9, "%02x%02x%02x%02x", id[0], id[1], id[2], id[3]);
    return out;
}

/* ---- event queue: a binary heap on (time, sequence) ---- */

static bool ev_before(const sim_event *a, const sim_event *b) {
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

sim_event *sim_push(sim_world *w, uint64_t delay_ms, uint8_t kind, int node) {
    if (w->heap_len == w->heap_cap) {
        w->heap_cap = w->heap_cap ? 2 * w->heap_cap : 1024;
        w->heap = realloc(w->heap, w->heap_cap * sizeof *w->heap);
        if (w->heap == NULL) abort();
    }
    sim_event ev;
    memset(&ev, 0, sizeof ev);
    ev.at = w->now + delay_ms;
    ev.seq = w->seq++;
    ev.kind = kind;
    ev.node = node;
    if (node >= 0) ev.inc = w->nodes[node].inc;
    size_t i = w->heap_len++;
    while (i > 0 && ev_before(&ev, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = ev;
    /* The caller fills the rest in place: nothing moves until the next push or pop. */
    return &w->heap[i];
}

static sim_event heap_pop(sim_world *w) {
    sim_event top = w->heap[0];
    sim_event last = w->heap[--w->heap_len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const sim_event *best = &last;
        if (l < w->heap_len && ev_before(&w->heap[l], best)) {
            m = l;
            best = &w->heap[l];
        }
        if (r < w->heap_len && ev_before(&w->heap[r], best)) m = r;
        if (m == i) break;
        w->heap[i] = w->heap[m];
        i = m;
    }
    if (w->heap_len > 0) w->heap[i] = last;
    return top;
}

/* ---- network ---- */

static void deliver_copy(sim_world *w, int to, const sim_msg *m, uint64_t delay) {
    sim_msg *copy = malloc(sizeof *copy);
    if (copy == NULL) abort();
    *copy = *m;
    sim_event *ev = sim_push(w, delay, EV_DELIVER, to);
    ev->msg = copy;
}

static uint64_t net_delay(sim_world *w) {
    return w->stable ? sim_rng_range(&w->rng, 1, 50) : sim_rng_range(&w->rng, 1, w->delay_max_ms);
}

void sim_send(sim_world *w, int from, int to, const sim_msg *m) {
    if (from == to) return;
    if (!w->nodes[from].up) return;
    if (w->partitioned && w->group[from] != w->group[to]) return;
    if (!w->stable && sim_rng_chance(&w->rng, w->drop_ppm)) return;
    if (!w->stable && m->kind == MSG_VOTE && m->vote.type == CONS_PRECOMMIT &&
        sim_rng_chance(&w->rng, w->drop_precommit_ppm))
        return;
    deliver_copy(w, to, m, net_delay(w));
    if (sim_rng_chance(&w->rng, w->dup_ppm)) deliver_copy(w, to, m, net_delay(w));
}

void sim_send_all(sim_world *w, int from, const sim_msg *m) {
    for (int i = 0; i < w->n_nodes; i++) sim_send(w, from, i, m);
}

/* ---- block registry ---- */

static uint64_t id_key(const uint8_t id[32]) {
    uint64_t k;
    memcpy(&k, id, 8);
    return k;
}

static void index_put(sim_world *w, int32_t bi) {
    size_t i = (size_t)(id_key(w->blocks[bi].id) % w->index_cap);
    while (w->index[i] >= 0) i = (i + 1) % w->index_cap;
    w->index[i] = bi;
}

static void index_grow(sim_world *w) {
    free(w->index);
    w->index_cap = w->index_cap ? 2 * w->index_cap : 1024;
    w->index = malloc(w->index_cap * sizeof *w->index);
    if (w->index == NULL) abort();
    for (size_t i = 0; i < w->index_cap; i++) w->index[i] = -1;
    for (size_t b = 0; b < w->n_blocks; b++) index_put(w, (int32_t)b);
}

int32_t sim_block_find(const sim_world *w, const uint8_t id[32]) {
    if (w->index_cap == 0) return -1;
    for (size_t i = (size_t)(id_key(id) % w->index_cap);; i = (i + 1) % w->index_cap) {
        int32_t bi = w->index[i];
        if (bi < 0) return -1;
        if (memcmp(w->blocks[bi].id, id, 32) == 0) return bi;
    }
}

/* Registers b (its id computed here) and returns its index; the same content
 * twice is one block. */
int32_t sim_block_add(sim_world *w, const sim_block *b) {
    uint8_t buf[8 * 3 + 32 + SIM_PAYLOAD_MAX];
    size_t at = 0;
    const uint64_t fields[3] = {b->height, b->time, b->proposer};
    for (int f = 0; f < 3; f++) {
        for (int i = 0; i < 8; i++) buf[at++] = (uint8_t)(fields[f] >> (56 - 8 * i));
    }
    memcpy(buf + at, b->prev_id, 32);
    at += 32;
    memcpy(buf + at, b->payload, b->len);
    at += b->len;
    uint8_t id[32];
    core_sha256(id, buf, at);
    int32_t found = sim_block_find(w, id);
    if (found >= 0) return found;
    if (w->n_blocks == w->blocks_cap) {
        w->blocks_cap = w->blocks_cap ? 2 * w->blocks_cap : 256;
        w->blocks = realloc(w->blocks, w->blocks_cap * sizeof *w->blocks);
        if (w->blocks == NULL) abort();
    }
    sim_block *nb = &w->blocks[w->n_blocks];
    *nb = *b;
    memcpy(nb->id, id, 32);
    nb->proposed = false;
    w->n_blocks++;
    if (2 * w->n_blocks > w->index_cap) {
        index_grow(w);
    } else {
        index_put(w, (int32_t)(w->n_blocks - 1));
    }
    return (int32_t)(w->n_blocks - 1);
}

/* ---- signatures: a keyed 64-bit MAC stands in for BIP-340 ---- */

uint64_t sim_mac(const sim_world *w, uint32_t validator, const void *data, size_t len) {
    uint64_t h = 0xcbf29ce484222325ull ^ w->keys[validator];
    const uint8_t *p = data;
    for (size_t i = 0; i < len; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return splitmix64(&h);
}

static uint64_t vote_mac(const sim_world *w, const cons_vote *v) {
    uint8_t buf[4 * 8 + 1 + 32];
    size_t at = 0;
    uint64_t f[4] = {v->type, v->height, v->round, v->time};
    memcpy(buf, f, sizeof f);
    at += sizeof f;
    buf[at++] = v->has_block_id;
    memcpy(buf + at, v->block_id, 32);
    at += 32;
    return sim_mac(w, v->validator, buf, at);
}

static uint64_t proposal_mac(const sim_world *w, const cons_proposal *p) {
    uint8_t buf[64];
    uint64_t f[3] = {p->height, p->round, (uint64_t)p->pol_round};
    memcpy(buf, f, sizeof f);
    memcpy(buf + sizeof f, p->block_id, 32);
    return sim_mac(w, p->proposer, buf, sizeof f + 32);
}

void sim_sign_vote(const sim_world *w, cons_vote *v) {
    memset(v->sig, 0, 64);
    uint64_t m = vote_mac(w, v);
    memcpy(v->sig, &m, 8);
}

void sim_sign_proposal(const sim_world *w, cons_proposal *p) {
    memset(p->sig, 0, 64);
    uint64_t m = proposal_mac(w, p);
    memcpy(p->sig, &m, 8);
}

bool sim_vote_ok(const sim_world *w, const cons_vote *v) {
    if (v->validator >= (uint32_t)w->n_val) return false;
    uint64_t m = vote_mac(w, v);
    return memcmp(v->sig, &m, 8) == 0;
}

bool sim_proposal_ok(const sim_world *w, const cons_proposal *p) {
    if (p->proposer >= (uint32_t)w->n_val) return false;
    uint64_t m = proposal_mac(w, p);
    return memcmp(p->sig, &m, 8) == 0;
}

/* ---- checkers ---- */

static void dec_reserve(sim_world *w, uint64_t height) {
    if (height < w->dec_cap) return;
    size_t cap = w->dec_cap ? w->dec_cap : 64;
    while (cap <= height) cap *= 2;
    w->dec_id = realloc(w->dec_id, cap * sizeof *w->dec_id);
    w->dec_root = realloc(w->dec_root, cap * sizeof *w->dec_root);
    w->dec_have = realloc(w->dec_have, cap);
    if (w->dec_id == NULL || w->dec_root == NULL || w->dec_have == NULL) abort();
    memset(w->dec_have + w->dec_cap, 0, cap - w->dec_cap);
    w->dec_cap = cap;
}

/* Every Commit must carry precommits for its block from distinct validators
 * holding more than 2/3 of the real power, each correctly signed. */
static void check_quorum(sim_world *w, const sim_node *n, uint64_t height, const uint8_t id[32],
                         uint64_t round, const cons_vote *pcs, size_t n_pcs) {
    uint64_t power = 0;
    bool seen[SIM_VALIDATORS_MAX] = {false};
    for (size_t i = 0; i < n_pcs; i++) {
        const cons_vote *v = &pcs[i];
        bool ok = sim_vote_ok(w, v) && v->type == CONS_PRECOMMIT && v->height == height &&
                  v->round == round && v->has_block_id && memcmp(v->block_id, id, 32) == 0;
        if (!ok || seen[v->validator]) {
            sim_violation(w, true, "n%d commit of height %lu holds a bad precommit", n->idx,
                          (unsigned long)height);
            return;
        }
        seen[v->validator] = true;
        power += w->powers[v->validator];
    }
    if (power * 3 <= w->total_power * 2)
        sim_violation(w, true, "n%d decided height %lu with %lu of %lu power", n->idx,
                      (unsigned long)height, (unsigned long)power, (unsigned long)w->total_power);
}

static bool all_honest_at(const sim_world *w, uint64_t height) {
    for (int i = 0; i < w->n_nodes; i++) {
        if (!w->nodes[i].byz && w->nodes[i].committed < height) return false;
    }
    return true;
}

void sim_check_commit(sim_world *w, const sim_node *n, uint64_t height, int32_t block,
                      uint64_t round, const cons_vote *pcs, size_t n_pcs,
                      const uint8_t root[32]) {
    if (n->byz) return;
    const sim_block *b = &w->blocks[block];
    char a[9], c[9];
    check_quorum(w, n, height, b->id, round, pcs, n_pcs);
    dec_reserve(w, height);
    if (!w->dec_have[height]) {
        w->dec_have[height] = 1;
        memcpy(w->dec_id[height], b->id, 32);
        memcpy(w->dec_root[height], root, 32);
    } else if (memcmp(w->dec_id[height], b->id, 32) != 0) {
        sim_violation(w, true, "agreement: n%d committed %s at height %lu, another node %s",
                      n->idx, sim_hex4(b->id, a), (unsigned long)height,
                      sim_hex4(w->dec_id[height], c));
    } else if (memcmp(w->dec_root[height], root, 32) != 0) {
        sim_violation(w, true, "n%d state_root %s at height %lu differs from %s", n->idx,
                      sim_hex4(root, a), (unsigned long)height, sim_hex4(w->dec_root[height], c));
    }
    if (w->stable && all_honest_at(w, w->gst_height + SIM_LIVE_HEIGHTS)) {
        w->stop = true;
        w->res->recover_ms = w->now - SIM_GST_MS;
    }
}

/* ---- faults ---- */

static void fault_partition(sim_world *w) {
    /* Two non-empty sides. */
    uint32_t mask;
    uint32_t full = (1u << w->n_nodes) - 1;
    do {
        mask = (uint32_t)sim_rng_below(&w->rng, full + 1);
    } while (mask == 0 || mask == full);
    char side[2][64] = {"", ""};
    for (int i = 0; i < w->n_nodes; i++) {
        w->group[i] = (uint8_t)((mask >> i) & 1);
        char t[8];
        snprintf(t, sizeof t, " n%d", i);
        strcat(side[w->group[i]], t);
    }
    w->partitioned = true;
    sim_trace(w, -1, "partition {%s } | {%s }", side[0], side[1]);
    uint64_t dur = sim_rng_range(&w->rng, 500, 4000);
    if (w->now + dur > SIM_GST_MS) dur = SIM_GST_MS - w->now;
    (void)sim_push(w, dur, EV_HEAL, -1);
}

static int down_count(const sim_world *w) {
    int d = 0;
    for (int i = 0; i < w->n_nodes; i++) d += !w->nodes[i].up;
    return d;
}

static void fault_crash(sim_world *w) {
    if (down_count(w) >= w->f) return;
    int pick = (int)sim_rng_below(&w->rng, (uint64_t)w->n_val);
    sim_node *n = &w->nodes[pick];
    if (n->byz || !n->up) return;
    sim_trace(w, pick, "CRASH (committed %lu, log %zu entries, %zu synced)",
              (unsigned long)n->committed, n->wal.len, n->wal_synced);
    sim_node_crash(n);
    uint64_t dur = sim_rng_range(&w->rng, 300, 4000);
    if (w->now + dur > SIM_GST_MS) dur = SIM_GST_MS - w->now;
    (void)sim_push(w, dur, EV_RESTART, pick);
}

/* Lays out the fault events of the unstable period [0, GST). */
static void schedule_faults(sim_world *w) {
    for (uint64_t t = sim_rng_range(&w->rng, 500, 3000); t < SIM_GST_MS;
         t += sim_rng_range(&w->rng, 2000, 7000)) {
        sim_event *ev = sim_push(w, t, EV_PARTITION, -1);
        (void)ev;
    }
    for (uint64_t t = sim_rng_range(&w->rng, 500, 4000); t < SIM_GST_MS;
         t += sim_rng_range(&w->rng, 1000, 6000)) {
        (void)sim_push(w, t, EV_CRASH, -1);
    }
    (void)sim_push(w, SIM_GST_MS, EV_GST, -1);
    (void)sim_push(w, SIM_GST_MS + SIM_LIVE_MS, EV_END, -1);
}

static void gst(sim_world *w) {
    w->stable = true;
    w->partitioned = false;
    for (int i = 0; i < w->n_nodes; i++) {
        if (!w->nodes[i].up) sim_node_restart(&w->nodes[i]);
    }
    uint64_t h = 0;
    for (int i = 0; i < w->n_nodes; i++) {
        if (!w->nodes[i].byz && w->nodes[i].committed > h) h = w->nodes[i].committed;
    }
    w->gst_height = h;
    sim_trace(w, -1, "GST: network stable, all nodes up; max height %lu, need %lu by %.1fs",
              (unsigned long)h, (unsigned long)(h + SIM_LIVE_HEIGHTS),
              (double)(SIM_GST_MS + SIM_LIVE_MS) / 1000.0);
}

static void new_tx(sim_world *w) {
    if (w->n_txs == w->txs_cap) {
        w->txs_cap = w->txs_cap ? 2 * w->txs_cap : 256;
        w->txs = realloc(w->txs, w->txs_cap * sizeof *w->txs);
        w->tx_len = realloc(w->tx_len, w->txs_cap * sizeof *w->tx_len);
        if (w->txs == NULL || w->tx_len == NULL) abort();
    }
    uint32_t t = (uint32_t)w->n_txs++;
    w->tx_len[t] = w->app->make_tx(&w->rng, w->txs[t]);
    /* A client sends it to every node; each copy may be late or lost. */
    for (int i = 0; i < w->n_nodes; i++) {
        if (!w->stable && sim_rng_chance(&w->rng, w->drop_ppm)) continue;
        sim_event *ev = sim_push(w, net_delay(w), EV_TX, i);
        ev->tx = t;
    }
    /* Bursts with quiet gaps, so both full and empty blocks happen. */
    uint64_t gap = sim_rng_chance(&w->rng, 100000) ? sim_rng_range(&w->rng, 1500, 4000)
                                                  : sim_rng_range(&w->rng, 20, 600);
    (void)sim_push(w, gap, EV_TX, -1);
}

/* ---- the loop ---- */

static void dispatch(sim_world *w, sim_event *ev) {
    sim_node *n = ev->node >= 0 ? &w->nodes[ev->node] : NULL;
    bool live = n != NULL && n->up && ev->inc == n->inc;
    switch (ev->kind) {
    case EV_DELIVER:
        if (n->up) sim_node_deliver(n, ev->msg);
        break;
    case EV_TIMEOUT:
        if (live) sim_node_timeout(n, ev->height, ev->round, ev->step);
        break;
    case EV_START:
        if (live) sim_node_start(n, ev->height);
        break;
    case EV_TX:
        if (n == NULL) {
            new_tx(w);
        } else if (n->up) {
            sim_node_tx(n, w->txs[ev->tx], w->tx_len[ev->tx]);
        }
        break;
    case EV_TICK:
        if (live) sim_node_tick(n);
        break;
    case EV_CRASH: fault_crash(w); break;
    case EV_RESTART:
        if (!n->up && !w->stable) sim_node_restart(n);
        break;
    case EV_PARTITION:
        if (!w->partitioned) fault_partition(w);
        break;
    case EV_HEAL:
        if (w->partitioned) sim_trace(w, -1, "heal");
        w->partitioned = false;
        break;
    case EV_GST: gst(w); break;
    case EV_END: w->stop = true; break;
    default: abort();
    }
    if (n != NULL && n->up) sim_node_progress(n);
}

static void setup_params(sim_world *w) {
    w->drop_ppm = (uint32_t)sim_rng_range(&w->rng, 0, 200000);
    w->dup_ppm = (uint32_t)sim_rng_range(&w->rng, 0, 100000);
    w->drop_precommit_ppm = (uint32_t)sim_rng_range(&w->rng, 0, 400000);
    w->delay_max_ms = sim_rng_range(&w->rng, 10, 800);
    /* Powers 1..10; the Byzantine validator is the lightest, so it holds
     * less than a third of the power (n >= 4). */
    w->total_power = 0;
    w->byz = 0;
    for (int i = 0; i < w->n_val; i++) {
        w->powers[i] = sim_rng_range(&w->rng, 1, 10);
        w->keys[i] = sim_rng_next(&w->rng);
        w->total_power += w->powers[i];
        if (w->powers[i] < w->powers[w->byz]) w->byz = i;
    }
    w->f = (w->n_val - 1) / 3;
}

static int world_init(sim_world *w, const sim_options *opt, sim_result *res) {
    memset(w, 0, sizeof *w);
    memset(res, 0, sizeof *res);
    w->opt = *opt;
    w->app = opt->app != NULL ? opt->app : &sim_app_chain;
    w->res = res;
    sim_rng_seed(&w->rng, opt->seed);
    w->n_val = opt->validators;
    w->n_nodes = w->n_val + 1;
    if (w->n_val < 4 || w->n_val > SIM_VALIDATORS_MAX) return -1;
    setup_params(w);
    w->cfg = (cons_config){.powers = w->powers, .n_validators = (size_t)w->n_val,
                           .timeout_propose_ms = 1000, .timeout_vote_ms = 500,
                           .timeout_delta_ms = 500, .empty_block_ms = 1000};
    sim_trace(w, -1, "seed 0x%016llx, %d validators + 1 full node, app %s, byzantine n%d, "
              "drop %.1f%% (+%.1f%% precommits), dup %.1f%%, delay <= %llums",
              (unsigned long long)opt->seed, w->n_val, w->app->name, w->byz,
              w->drop_ppm / 1e4, w->drop_precommit_ppm / 1e4, w->dup_ppm / 1e4, (unsigned long long)w->delay_max_ms);
    for (int i = 0; i < w->n_nodes; i++) {
        int32_t val = i < w->n_val ? i : -1;
        if (sim_node_init(w, &w->nodes[i], i, val, i == w->byz) != 0) return -1;
    }
    schedule_faults(w);
    (void)sim_push(w, 0, EV_TX, -1);
    for (int i = 0; i < w->n_nodes; i++) sim_node_start(&w->nodes[i], 1);
    return 0;
}

static void world_free(sim_world *w) {
    for (int i = 0; i < w->n_nodes; i++) sim_node_free(&w->nodes[i]);
    for (size_t i = 0; i < w->heap_len; i++) free(w->heap[i].msg);
    free(w->heap);
    free(w->blocks);
    free(w->index);
    free(w->txs);
    free(w->tx_len);
    free(w->dec_id);
    free(w->dec_root);
    free(w->dec_have);
}

int sim_run(const sim_options *opt, sim_result *res) {
    sim_world *w = calloc(1, sizeof *w);
    if (w == NULL) return -1;
    if (world_init(w, opt, res) != 0) {
        world_free(w);
        free(w);
        return -1;
    }
    while (!w->stop && w->heap_len > 0 && w->events < SIM_EVENTS_MAX) {
        sim_event ev = heap_pop(w);
        w->now = ev.at;
        w->events++;
        dispatch(w, &ev);
        free(ev.msg);
    }
    uint64_t need = w->gst_height + SIM_LIVE_HEIGHTS;
    if (!w->stable || !all_honest_at(w, need)) {
        res->liveness = 1;
        uint64_t low = UINT64_MAX;
        for (int i = 0; i < w->n_nodes; i++) {
            if (!w->nodes[i].byz && w->nodes[i].committed < low) low = w->nodes[i].committed;
        }
        sim_violation(w, false, "an honest node is at height %lu; height %lu was due",
                      (unsigned long)low, (unsigned long)need);
    }
    res->heights = UINT64_MAX;
    for (int i = 0; i < w->n_nodes; i++) {
        if (w->nodes[i].byz) continue;
        if (w->nodes[i].committed < res->heights) res->heights = w->nodes[i].committed;
        res->evidence += cons_evidence_count(&w->nodes[i].c);
    }
    res->events = w->events;
    world_free(w);
    free(w);
    return 0;
}
