/* The simulated world: PRNG, clock and event queue, connections and the lossy
 * network between them, the fault schedule, the checkers, and the loop. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/hash.h"
#include "core/mp.h"
#include "node/wire.h"
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
    else w->res->liveness++;
    if (w->res->first[0] == '\0')
        snprintf(w->res->first, sizeof w->res->first, "%s at %.3fs: %s",
                 safety ? "safety" : "liveness", (double)w->now / 1000.0, text);
    if (w->opt.verbose) printf("%7.3fs !! VIOLATION: %s\n", (double)w->now / 1000.0, text);
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
    ev.peer = -1;
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

/* Connections are per pair (i < j) with a generation: a message or a drop of
 * an older connection finds the generation moved on and is ignored. Peer ids
 * carry the generation, so that an engine never sees one reused. */
static void pair(int a, int b, int *lo, int *hi) {
    *lo = a < b ? a : b;
    *hi = a < b ? b : a;
}

int sim_peer_id(const sim_world *w, int a, int b) {
    return 1 + b + SIM_NODES_MAX * (int)sim_conn_gen(w, a, b);
}

uint64_t sim_conn_gen(const sim_world *w, int a, int b) {
    int lo, hi;
    pair(a, b, &lo, &hi);
    return w->conn_gen[lo][hi];
}

int sim_peer_node(const sim_world *w, int a, int peer_id) {
    if (peer_id < 1 || sim_outsider_peer(peer_id)) return -1;
    int b = (peer_id - 1) % SIM_NODES_MAX;
    uint64_t gen = (uint64_t)((peer_id - 1) / SIM_NODES_MAX);
    if (b >= w->n_nodes || b == a) return -1;
    int lo, hi;
    pair(a, b, &lo, &hi);
    return w->conn_up[lo][hi] && w->conn_gen[lo][hi] == gen ? b : -1;
}

static bool reachable(const sim_world *w, int a, int b) {
    return !w->partitioned || w->group[a] == w->group[b];
}

static uint64_t net_delay(sim_world *w) {
    return sim_rng_range(&w->rng, 1, w->stable ? 50 : w->delay_max_ms);
}

static void deliver(sim_world *w, int from, int to, uint8_t type, const uint8_t *data, size_t len) {
    int lo, hi;
    pair(from, to, &lo, &hi);
    sim_event *ev = sim_push(w, net_delay(w), EV_DELIVER, to);
    ev->peer = from;
    ev->gen = w->conn_gen[lo][hi];
    ev->type = type;
    ev->len = len;
    ev->data = malloc(len ? len : 1);
    if (ev->data == NULL) abort();
    memcpy(ev->data, data, len);
}

bool sim_vote_of(const uint8_t *payload, size_t len, gz_vote *v) {
    mp_rd rd;
    const uint8_t *vb;
    size_t vlen;
    mp_rd_init(&rd, payload, len, NULL);
    return mp_get_array_n(&rd, "vote_msg", 3) == GZ_OK &&
           mp_get_bin(&rd, "vote_msg.vote", &vb, &vlen, GZ_VOTE_BYTES_MAX) == GZ_OK &&
           core_vote_decode(v, vb, vlen, NULL) == GZ_OK;
}

bool sim_proposal_of(const uint8_t *payload, size_t len, sim_proposal_msg *out) {
    mp_rd rd;
    const uint8_t *pb;
    size_t plen;
    mp_rd_init(&rd, payload, len, NULL);
    return mp_get_array_n(&rd, "proposal_msg", 3) == GZ_OK &&
           mp_get_bin(&rd, "proposal_msg.proposal", &pb, &plen, GZ_PROPOSAL_BYTES_MAX) == GZ_OK &&
           mp_get_bin_fixed(&rd, "proposal_msg.sig", out->sig, 64) == GZ_OK &&
           mp_get_bin(&rd, "proposal_msg.block", &out->block, &out->block_len, GZ_BLOCK_BYTES_MAX) == GZ_OK &&
           core_proposal_decode(&out->p, pb, plen, NULL) == GZ_OK;
}

/* Precommits get extra loss before GST: that splits who decides a round
 * from who moves on to the next, where a broken lock rule shows. */
static bool is_precommit(uint8_t type, const uint8_t *data, size_t len) {
    gz_vote v;
    return type == NODE_MSG_VOTE && sim_vote_of(data, len, &v) && v.type == 2;
}

void sim_net_send(sim_world *w, int from, int to, uint8_t type, const uint8_t *data, size_t len) {
    if (!reachable(w, from, to)) return;
    if (!w->stable && sim_rng_chance(&w->rng, w->drop_ppm)) return;
    if (!w->stable && sim_rng_chance(&w->rng, w->drop_precommit_ppm) && is_precommit(type, data, len)) return;
    deliver(w, from, to, type, data, len);
    if (!w->stable && sim_rng_chance(&w->rng, w->dup_ppm)) deliver(w, from, to, type, data, len);
}

void sim_conn_redial_later(sim_world *w, int a, int b, uint64_t delay) {
    int lo, hi;
    pair(a, b, &lo, &hi);
    w->redialling[lo][hi] = true;
    sim_event *ev = sim_push(w, delay, EV_REDIAL, lo);
    ev->peer = hi;
}

/* A dropped connection is redialled once: a redial already pending stands. */
static void redial_later(sim_world *w, int lo, int hi, uint64_t delay) {
    if (!w->redialling[lo][hi]) sim_conn_redial_later(w, lo, hi, delay);
}

/* Takes the connection of a and b down, telling each engine that is up. */
void sim_conn_drop(sim_world *w, int a, int b) {
    int lo, hi;
    pair(a, b, &lo, &hi);
    if (!w->conn_up[lo][hi]) return;
    int id_lo = sim_peer_id(w, hi, lo), id_hi = sim_peer_id(w, lo, hi);
    w->conn_up[lo][hi] = false;
    w->conn_gen[lo][hi]++;
    if (w->nodes[lo].up) node_on_peer_down(w->nodes[lo].eng, id_hi, "connection lost");
    if (w->nodes[hi].up) node_on_peer_down(w->nodes[hi].eng, id_lo, "connection lost");
    if (w->nodes[lo].up && w->nodes[hi].up) redial_later(w, lo, hi, sim_rng_range(&w->rng, 200, 2000));
}

static void conn_up(sim_world *w, int lo, int hi) {
    w->conn_gen[lo][hi]++;
    w->conn_up[lo][hi] = true;
    node_on_peer_up(w->nodes[lo].eng, sim_peer_id(w, lo, hi), w->nodes[hi].pk);
    if (w->conn_up[lo][hi]) node_on_peer_up(w->nodes[hi].eng, sim_peer_id(w, hi, lo), w->nodes[lo].pk);
}

static void redial(sim_world *w, int lo, int hi) {
    w->redialling[lo][hi] = false;
    if (!w->nodes[lo].up || !w->nodes[hi].up || w->conn_up[lo][hi]) return;
    if (!reachable(w, lo, hi)) {
        redial_later(w, lo, hi, 1000);
        return;
    }
    conn_up(w, lo, hi);
}

/* ---- checkers ------------------------------------------------------------- */

static void dec_reserve(sim_world *w, uint64_t height) {
    if (height < w->dec_cap) return;
    size_t cap = w->dec_cap ? w->dec_cap : 256;
    while (cap <= height) cap *= 2;
    w->dec_id = realloc(w->dec_id, cap * sizeof *w->dec_id);
    w->dec_have = realloc(w->dec_have, cap);
    if (w->dec_id == NULL || w->dec_have == NULL) abort();
    memset(w->dec_have + w->dec_cap, 0, cap - w->dec_cap);
    w->dec_cap = cap;
}

static sim_txid *txid_slot(sim_world *w, const uint8_t id[32]) {
    if (2 * (w->txids_n + 1) > w->txids_cap) {
        size_t cap = w->txids_cap ? 2 * w->txids_cap : 1024;
        sim_txid *old = w->txids;
        size_t old_cap = w->txids_cap;
        w->txids = calloc(cap, sizeof *w->txids);
        if (w->txids == NULL) abort();
        w->txids_cap = cap;
        for (size_t i = 0; i < old_cap; i++)
            if (old[i].used) *txid_slot(w, old[i].id) = old[i];
        free(old);
    }
    size_t i = (size_t)gz_get_u64be(id) & (w->txids_cap - 1);
    while (w->txids[i].used && memcmp(w->txids[i].id, id, 32) != 0) i = (i + 1) & (w->txids_cap - 1);
    return &w->txids[i];
}

/* What SPEC §2 and §4 say of every committed block, checked independently of
 * the chain code: every tx verifies, and no tx was committed before. */
static void check_block_txs(sim_world *w, const chain_block *b) {
    uint64_t h = b->header.height;
    for (size_t i = 0; i < b->n_txs; i++) {
        if (core_tx_check(&b->txs[i], w->g.chain_id, NULL) != GZ_OK)
            sim_violation(w, true, "block %llu tx %zu does not verify", (unsigned long long)h, i);
        sim_txid *s = txid_slot(w, b->txs[i].txid);
        if (s->used) {
            sim_violation(w, true, "a tx committed at height %llu is committed again at %llu",
                          (unsigned long long)s->height, (unsigned long long)h);
            continue;
        }
        s->used = true;
        memcpy(s->id, b->txs[i].txid, 32);
        s->height = h;
        w->txids_n++;
        w->res->txs_committed++;
        if (w->stable) w->txs_after_gst++;
    }
}

bool sim_tx_committed(const sim_world *w, const uint8_t id[32]) {
    if (w->txids_cap == 0) return false;
    size_t i = (size_t)gz_get_u64be(id) & (w->txids_cap - 1);
    while (w->txids[i].used) {
        if (memcmp(w->txids[i].id, id, 32) == 0) return true;
        i = (i + 1) & (w->txids_cap - 1);
    }
    return false;
}

void sim_check_commit(sim_world *w, sim_node *n, const chain_block *b) {
    uint64_t h = b->header.height;
    if (h != n->height + 1)
        sim_violation(w, true, "node %d committed %llu after %llu", n->idx, (unsigned long long)h,
                      (unsigned long long)n->height);
    n->height = h;
    dec_reserve(w, h);
    if (h > 1 && w->dec_have[h - 1] && memcmp(b->header.prev_block_id, w->dec_id[h - 1], 32) != 0)
        sim_violation(w, true, "node %d: block %llu does not follow the committed %llu", n->idx,
                      (unsigned long long)h, (unsigned long long)(h - 1));
    if (!w->dec_have[h]) {
        w->dec_have[h] = 1;
        memcpy(w->dec_id[h], b->block_id, 32);
        check_block_txs(w, b);
        sim_valset_first_commit(w, n, b);
    } else if (memcmp(w->dec_id[h], b->block_id, 32) != 0) {
        sim_violation(w, true, "node %d committed another block at height %llu", n->idx, (unsigned long long)h);
    }
    sim_valset_check_commit(w, n, b);
}

/* ---- faults before GST ---------------------------------------------------- */

static void fault_partition(sim_world *w) {
    /* Two non-empty sides. */
    uint32_t full = (1u << w->n_nodes) - 1, mask;
    do {
        mask = (uint32_t)sim_rng_below(&w->rng, full + 1);
    } while (mask == 0 || mask == full);
    for (int i = 0; i < w->n_nodes; i++) w->group[i] = (uint8_t)((mask >> i) & 1);
    w->partitioned = true;
    sim_trace(w, -1, "partition, mask 0x%x", mask);
    uint64_t dur = sim_rng_range(&w->rng, 500, 12000);
    if (w->now + dur > SIM_GST_MS) dur = SIM_GST_MS - w->now;
    (void)sim_push(w, dur, EV_HEAL, -1);
}

/* The crash budget f, by power, of the current set: whether n may go down
 * with the members already down keeping under a third of its power. A node
 * outside the set may always crash. */
static bool may_crash(const sim_world *w, const sim_node *n) {
    const sim_set *s = sim_valset_now(w);
    int k = sim_set_index(s, n->pk);
    if (k < 0) return true;
    uint64_t down = s->v[k].power;
    for (int i = 0; i < w->n_nodes; i++) {
        int j = w->nodes[i].up ? -1 : sim_set_index(s, w->nodes[i].pk);
        if (j >= 0) down += s->v[j].power;
    }
    return (__uint128_t)down * 3 < (__uint128_t)sim_set_power(s);
}

/* A validator (within the crash budget, never the Byzantine one) or a full
 * node crashes and comes back before GST. */
static void fault_crash(sim_world *w) {
    int pick = (int)sim_rng_below(&w->rng, (uint64_t)w->n_nodes);
    sim_node *n = &w->nodes[pick];
    if (n->byz || !n->up || !may_crash(w, n)) return;
    sim_node_crash(n);
    uint64_t dur = sim_rng_range(&w->rng, 300, 6000);
    if (w->now + dur > SIM_GST_MS) dur = SIM_GST_MS - w->now;
    (void)sim_push(w, dur, EV_RESTART, pick);
}

static void schedule_faults(sim_world *w) {
    for (uint64_t t = sim_rng_range(&w->rng, 500, 3000); t < SIM_GST_MS; t += sim_rng_range(&w->rng, 3000, 9000))
        (void)sim_push(w, t, EV_PARTITION, -1);
    for (uint64_t t = sim_rng_range(&w->rng, 500, 4000); t < SIM_GST_MS; t += sim_rng_range(&w->rng, 1000, 6000))
        (void)sim_push(w, t, EV_CRASH, -1);
    (void)sim_push(w, SIM_GST_MS, EV_GST, -1);
    (void)sim_push(w, SIM_GST_MS + SIM_LIVE_MS, EV_END, -1);
}

static bool honest(const sim_node *n) { return !n->byz; }

static void gst(sim_world *w) {
    sim_faults_stop(w);
    w->stable = true;
    w->partitioned = false;
    for (int i = 0; i < w->n_nodes; i++)
        if (!w->nodes[i].up) sim_node_restart(&w->nodes[i]);
    for (int i = 0; i < w->n_nodes; i++) w->nodes[i].gst_height = w->nodes[i].height;
    w->gst_top = w->ref_top - 1;
    sim_trace(w, -1, "GST: network stable, every node up");
}

/* After GST: once every honest node has gained the live heights and a tx
 * has committed, the run ends a little later. */
static void check_live(sim_world *w) {
    if (!w->stable || w->live_at != 0 || w->txs_after_gst == 0 || !sim_ops_done(w)) return;
    for (int i = 0; i < w->n_nodes; i++) {
        const sim_node *n = &w->nodes[i];
        if (honest(n) && n->height < n->gst_height + SIM_LIVE_HEIGHTS) return;
    }
    w->live_at = w->now;
    w->res->recover_ms = w->now - SIM_GST_MS;
    (void)sim_push(w, SIM_TAIL_MS, EV_END, -1);
}

/* ---- the loop ------------------------------------------------------------- */

static void on_deliver(sim_world *w, sim_node *n, const sim_event *ev) {
    int lo, hi;
    pair(ev->node, ev->peer, &lo, &hi);
    if (!w->conn_up[lo][hi] || w->conn_gen[lo][hi] != ev->gen) return; /* sent on a connection now gone */
    if (n->byz) sim_byz_seen(n, ev->type, ev->data, ev->len);
    node_on_message(n->eng, sim_peer_id(w, ev->node, ev->peer), ev->type, ev->data, ev->len);
}

static void on_conn_down(sim_world *w, const sim_event *ev) {
    int lo, hi;
    pair(ev->node, ev->peer, &lo, &hi);
    if (w->conn_gen[lo][hi] == ev->gen) sim_conn_drop(w, lo, hi);
}

static void dispatch_node(sim_world *w, sim_node *n, const sim_event *ev) {
    bool live = n->up && ev->inc == n->inc;
    switch (ev->kind) {
    case EV_TIMER:
        if (live && n->timer_gen[ev->timer] == ev->gen) node_on_timer(n->eng, ev->timer);
        break;
    case EV_DELIVER:
        if (live) on_deliver(w, n, ev);
        break;
    case EV_CONN_DOWN: on_conn_down(w, ev); break;
    case EV_REDIAL: redial(w, ev->node, ev->peer); break;
    case EV_OUTSIDER_DOWN: sim_outsider_down(w, ev); break;
    case EV_RESTART:
        if (!n->up && !w->stable) sim_node_restart(n);
        break;
    default: abort();
    }
}

static void dispatch(sim_world *w, const sim_event *ev) {
    if (ev->node >= 0 && ev->kind != EV_CRASH) {
        dispatch_node(w, &w->nodes[ev->node], ev);
        return;
    }
    switch (ev->kind) {
    case EV_CLIENT: sim_client_step(w); break;
    case EV_BYZ: sim_byz_step(w); break;
    case EV_OUTSIDER: sim_outsider_step(w); break;
    case EV_VALSET: sim_ops_step(w); break;
    case EV_CRASH: fault_crash(w); break;
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
}

/* Network quality, validator powers (the Byzantine validator, when there is
 * one, is the lightest: under a third of the power for n >= 4) and clocks. */
static void setup_params(sim_world *w) {
    w->drop_ppm = (uint32_t)sim_rng_range(&w->rng, 0, 100000);
    w->dup_ppm = (uint32_t)sim_rng_range(&w->rng, 0, 50000);
    w->drop_precommit_ppm = (uint32_t)sim_rng_range(&w->rng, 0, 400000);
    w->delay_max_ms = sim_rng_range(&w->rng, 10, 500);
    w->byz = sim_rng_chance(&w->rng, 750000) ? 0 : -1;
    /* Outsiders draw from a generator of their own, so that runs without
     * them (and the seeds that find injected bugs) keep their event order. */
    sim_rng_seed(&w->orng, w->opt.seed ^ 0x6f75747369646572ull);
    w->outsiders_on = w->opt.fault == SIM_FAULT_NONE && sim_rng_chance(&w->orng, 600000);
    sim_genesis(w);
    for (int i = 1; i < w->n_val && w->byz >= 0; i++)
        if (w->g.validators[i].power < w->g.validators[w->byz].power) w->byz = i;
}

static int world_init(sim_world *w, const sim_options *opt, sim_result *res) {
    w->opt = *opt;
    w->res = res;
    sim_rng_seed(&w->rng, opt->seed);
    w->n_val = opt->validators;
    w->n_nodes = w->n_val + 2;
    if (w->n_val < 4 || w->n_val > SIM_VALIDATORS_MAX) return -1;
    if (mempool_init(&w->empty_pool, 1, 1) != GZ_OK) return -1;
    setup_params(w);
    res->byzantine = w->byz >= 0;
    w->byz_votes_from = sim_rng_chance(&w->rng, 250000) ? 0 : sim_rng_range(&w->rng, 5000, SIM_GST_MS + 10000);
    const char *tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(w->dir, sizeof w->dir, "%s/gz_sim.XXXXXX", tmp);
    if (mkdtemp(w->dir) == NULL) return -1;
    sim_trace(w, -1, "seed 0x%016llx, %d validators + 2 full nodes, byzantine %d, drop %.1f%%, dup %.1f%%, "
              "delay <= %llu ms", (unsigned long long)opt->seed, w->n_val, w->byz, w->drop_ppm / 1e4,
              w->dup_ppm / 1e4, (unsigned long long)w->delay_max_ms);
    for (int i = 0; i < w->n_nodes; i++) {
        sim_node *n = &w->nodes[i];
        n->idx = i;
        n->val = i < w->n_val ? i : -1;
        n->byz = i == w->byz;
        n->skew_ms = (int64_t)sim_rng_below(&w->rng, 1001) - 500;
        sim_key(n->sk, n->pk, n->val >= 0 ? "validator" : "full", i);
        if (sim_node_open(w, n) != 0) return -1;
    }
    for (int lo = 0; lo < w->n_nodes; lo++)
        for (int hi = lo + 1; hi < w->n_nodes; hi++) conn_up(w, lo, hi);
    sim_valset_init(w);
    schedule_faults(w);
    sim_ops_init(w);
    (void)sim_push(w, 10, EV_CLIENT, -1);
    if (w->byz >= 0) (void)sim_push(w, 100, EV_BYZ, -1);
    if (w->outsiders_on) (void)sim_push(w, 50, EV_OUTSIDER, -1);
    res->outsiders = w->outsiders_on;
    return 0;
}

static void remove_dir(sim_world *w) {
    for (int i = 0; i < w->n_nodes; i++) {
        (void)unlink(w->nodes[i].wal_path);
        (void)unlink(w->nodes[i].ss_path);
    }
    if (w->dir[0] != '\0') (void)rmdir(w->dir);
}

static void world_free(sim_world *w) {
    for (int i = 0; i < w->n_nodes; i++) sim_node_free(&w->nodes[i]);
    for (size_t i = 0; i < w->heap_len; i++) free(w->heap[i].data);
    free(w->heap);
    free(w->dec_id);
    free(w->dec_have);
    free(w->txids);
    mempool_free(&w->empty_pool);
    sim_outsider_free(w);
    sim_valset_free(w);
    remove_dir(w);
    ledger_genesis_free(&w->g);
}

static void final_checks(sim_world *w) {
    sim_result *res = w->res;
    for (int i = 0; i < w->n_nodes; i++) {
        node_status st;
        if (!w->nodes[i].up) continue;
        node_status_get(w->nodes[i].eng, &st);
        sim_trace(w, i, "at the end: height %llu round %llu step %u, %zu peers, %zu txs in the mempool",
                  (unsigned long long)st.height, (unsigned long long)st.round, st.step, st.peers, st.mempool_txs);
    }
    res->heights = UINT64_MAX;
    for (int i = 0; i < w->n_nodes; i++) {
        const sim_node *n = &w->nodes[i];
        if (!honest(n)) continue;
        if (n->height < res->heights) res->heights = n->height;
        if (n->height < n->gst_height + SIM_LIVE_HEIGHTS) {
            sim_violation(w, false, "node %d is at height %llu, %llu was due after GST", i,
                          (unsigned long long)n->height, (unsigned long long)(n->gst_height + SIM_LIVE_HEIGHTS));
        }
    }
    if (w->txs_after_gst == 0) sim_violation(w, false, "no tx was committed after GST");
    sim_valset_final(w);
    sim_ops_final(w);
}

int sim_run(const sim_options *opt, sim_result *res) {
    memset(res, 0, sizeof *res);
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
        free(ev.data);
        check_live(w);
    }
    final_checks(w);
    res->events = w->events;
    world_free(w);
    free(w);
    return 0;
}
