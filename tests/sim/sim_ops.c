/* The operator: set changes by VALIDATOR_UPDATE, as the consortium makes
 * them (SPEC §4). The simulator holds every node's key, so it signs the
 * approvals itself: members of the current set (the one of the height after
 * the highest committed) holding more than 2/3 of its power, over that set's
 * hash. Each run changes the set four ways, in an order and at times drawn
 * from the seed, the last after GST:
 *
 * - add: the first full node's key joins (its engine must start signing);
 * - re-weight: an honest member gets another power;
 * - remove: an honest member leaves (its engine follows as a full node);
 * - rotate: an honest member's name and power go to the second full node's
 *   key, then the old key is removed (its engine becomes a full node).
 *
 * No change leaves fewer than 3 members or gives the Byzantine validator a
 * third of the power or more. Jailing happens besides, through the Byzantine
 * validator's equivocations. An attempt that did not take effect in
 * SIM_OP_RETRY_MS (lost in a crash, or its approvals went stale when the set
 * moved under it) is made again with fresh approvals. After a change, in
 * half the runs, a VALIDATOR_UPDATE approved for the set before it is
 * submitted: the ledger must refuse it (sim_valset.c checks the code). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "tests/sim/sim_internal.h"

/* An attempt not in effect after this long is made again. */
#define SIM_OP_RETRY_MS 3000u
/* A stale update is given up after this many attempts (each may be lost). */
#define SIM_STALE_TRIES 3u
/* Planned changes start within [SIM_OP_FIRST_MS, GST + SIM_OP_LAST_AFTER_GST_MS]. */
#define SIM_OP_FIRST_MS 1000u
#define SIM_OP_LAST_AFTER_GST_MS 15000u

static const char *op_name(uint8_t kind) {
    static const char *names[] = {"none", "add", "re-weight", "remove", "rotate (add)", "rotate (remove)", "stale"};
    return kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

static int node_of(const sim_world *w, const uint8_t pk[32]) {
    for (int i = 0; i < w->n_nodes; i++)
        if (memcmp(w->nodes[i].pk, pk, 32) == 0) return i;
    return -1;
}

/* Safe to run on: at least 3 members, the Byzantine one under a third. */
static bool safe_set(const sim_world *w, const sim_set *s) {
    if (s->n < 3) return false;
    int b = w->byz >= 0 ? sim_set_index(s, w->nodes[w->byz].pk) : -1;
    return b < 0 || (__uint128_t)s->v[b].power * 3 < (__uint128_t)sim_set_power(s);
}

/* A random member whose node is honest (and not `not`), or -1. */
static int honest_member(sim_world *w, const sim_set *s, int not) {
    for (int tries = 0; tries < 16; tries++) {
        uint32_t k = (uint32_t)sim_rng_below(&w->rng, s->n);
        int e = node_of(w, s->v[k].pub_key);
        if (e >= 0 && !w->nodes[e].byz && e != not) return (int)k;
    }
    return -1;
}

static bool pick_reweight(sim_world *w, const sim_set *s, sim_op *op) {
    for (int tries = 0; tries < 8; tries++) {
        int k = honest_member(w, s, -1);
        if (k < 0) return false;
        sim_set after = *s;
        do after.v[k].power = sim_rng_range(&w->rng, 1, 10);
        while (after.v[k].power == s->v[k].power);
        if (!safe_set(w, &after)) continue;
        op->node = node_of(w, s->v[k].pub_key);
        op->power = after.v[k].power;
        snprintf(op->name, sizeof op->name, "%s", s->v[k].name);
        return true;
    }
    return false;
}

static bool pick_remove(sim_world *w, const sim_set *s, sim_op *op, int not) {
    for (int tries = 0; tries < 8; tries++) {
        int k = honest_member(w, s, not);
        if (k < 0) return false;
        sim_set after = *s;
        memmove(&after.v[k], &after.v[k + 1], (after.n - (uint32_t)k - 1) * sizeof after.v[0]);
        after.n--;
        if (!safe_set(w, &after)) continue;
        op->node = node_of(w, s->v[k].pub_key);
        op->power = 0;
        snprintf(op->name, sizeof op->name, "%s", s->v[k].name);
        return true;
    }
    return false;
}

/* The key of a node outside the set takes an honest member's place: the
 * member's name and power now, its removal next (w->rotate_old). */
static bool pick_rotate(sim_world *w, const sim_set *s, sim_op *op, int to) {
    int k = honest_member(w, s, to);
    if (k < 0 || sim_set_index(s, w->nodes[to].pk) >= 0) return false;
    op->node = to;
    op->power = s->v[k].power;
    snprintf(op->name, sizeof op->name, "%s", s->v[k].name);
    w->rotate_old = node_of(w, s->v[k].pub_key);
    return true;
}

/* An update approved for the set before the last change: an honest member
 * of that set at its power there. */
static bool pick_stale(sim_world *w, sim_op *op) {
    const sim_set *s = &w->last_before;
    int k = honest_member(w, s, -1);
    if (k < 0) return false;
    op->node = node_of(w, s->v[k].pub_key);
    op->power = s->v[k].power;
    snprintf(op->name, sizeof op->name, "%s", s->v[k].name);
    return true;
}

static bool op_pick(sim_world *w, uint8_t kind, sim_op *op) {
    const sim_set *s = sim_valset_now(w);
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->started_at = w->now;
    op->before = *s;
    switch (kind) {
    case OP_ADD:
        op->node = w->n_val;
        op->power = sim_rng_range(&w->rng, 1, 10);
        snprintf(op->name, sizeof op->name, "full%d", op->node);
        return sim_set_index(s, w->nodes[op->node].pk) < 0;
    case OP_REWEIGHT: return pick_reweight(w, s, op);
    case OP_REMOVE: return pick_remove(w, s, op, -1);
    case OP_ROTATE_ADD: return pick_rotate(w, s, op, w->n_val + 1);
    case OP_ROTATE_REMOVE: {
        int k = sim_set_index(s, w->nodes[w->rotate_old].pk);
        op->node = w->rotate_old;
        if (k >= 0) snprintf(op->name, sizeof op->name, "%s", s->v[k].name);
        return k >= 0;
    }
    case OP_STALE: return w->have_last_before && pick_stale(w, op);
    default: return false;
    }
}

/* ---- one attempt ---- */

static int cmp_approval(const void *a, const void *b) {
    const gz_approval *x = a, *y = b;
    return x->validator_index < y->validator_index ? -1 : x->validator_index > y->validator_index;
}

/* Approvals of u by honest members of s in a random order until more than
 * 2/3 of its power, now and then the Byzantine member's too; ascending. */
static size_t approve(sim_world *w, const sim_set *s, const gz_p_validator_update *u, gz_approval *out) {
    uint8_t vh[32], digest[32];
    if (core_validators_hash(vh, s->v, s->n) != GZ_OK ||
        core_valset_approval_hash(digest, w->g.chain_id, vh, u->pub_key, u->power, u->name) != GZ_OK)
        abort();
    uint32_t order[SIM_SET_MAX];
    for (uint32_t i = 0; i < s->n; i++) order[i] = i;
    for (uint32_t i = s->n; i > 1; i--) {
        uint32_t j = (uint32_t)sim_rng_below(&w->rng, i), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    bool with_byz = sim_rng_chance(&w->rng, 200000);
    uint64_t approved = 0, total = sim_set_power(s);
    size_t n = 0;
    for (uint32_t i = 0; i < s->n; i++) {
        int e = node_of(w, s->v[order[i]].pub_key);
        if (e < 0 || (w->nodes[e].byz && !with_byz)) continue;
        if (!w->nodes[e].byz && approved * 3 > total * 2) continue;
        out[n].validator_index = order[i];
        if (core_sign32(out[n].sig, w->nodes[e].sk, digest, NULL) != GZ_OK) abort();
        n++;
        if (!w->nodes[e].byz) approved += s->v[order[i]].power;
    }
    qsort(out, n, sizeof *out, cmp_approval);
    return n;
}

/* The operator's next nonce, as the most advanced node that is up has it. */
static uint64_t operator_nonce(sim_world *w) {
    int best = -1;
    for (int i = 0; i < w->n_nodes; i++)
        if (w->nodes[i].up && (best < 0 || w->nodes[i].height > w->nodes[best].height)) best = i;
    uint64_t nonce = 0;
    if (best >= 0 && ledger_account_nonce(node_ledger(w->nodes[best].eng), w->operator_pk, &nonce) != GZ_OK) nonce = 0;
    return nonce;
}

static void attempt(sim_world *w, sim_op *op) {
    int to = sim_pick_up_node(w);
    if (to < 0) return;
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    snprintf(tx.chain_id, sizeof tx.chain_id, SIM_CHAIN_ID);
    tx.type = GZ_TX_VALIDATOR_UPDATE;
    memcpy(tx.signer, w->operator_pk, 32);
    tx.nonce = operator_nonce(w);
    gz_p_validator_update *u = &tx.p.validator_update;
    memcpy(u->pub_key, w->nodes[op->node].pk, 32);
    u->power = op->power;
    snprintf(u->name, sizeof u->name, "%s", op->name);
    gz_approval ap[SIM_SET_MAX];
    size_t n = approve(w, op->kind == OP_STALE ? &w->last_before : sim_valset_now(w), u, ap);
    gz_buf enc, bytes;
    gz_buf_init(&enc);
    gz_buf_init(&bytes);
    if (core_approvals_encode(ap, n, &enc) != GZ_OK) abort();
    u->n_approvals = (uint32_t)n;
    u->approvals = enc.data;
    u->approvals_len = enc.len;
    if (core_tx_sign_encode(&tx, w->operator_sk, &bytes) != GZ_OK) abort();
    memcpy(op->txid, tx.txid, 32);
    op->tried_at = w->now;
    op->tries++;
    sim_trace(w, to, "operator: %s %s (node %d) power %llu, attempt %u, nonce %llu", op_name(op->kind), op->name,
              op->node, (unsigned long long)op->power, op->tries, (unsigned long long)tx.nonce);
    sim_client_submit(w, to, &bytes, TX_OPERATOR);
    gz_buf_free(&enc);
    gz_buf_free(&bytes);
}

/* ---- the plan ---- */

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void sim_ops_init(sim_world *w) {
    static const uint8_t kinds[] = {OP_ADD, OP_REWEIGHT, OP_REMOVE, OP_ROTATE_ADD};
    w->plan_n = sizeof kinds;
    memcpy(w->plan, kinds, sizeof kinds);
    for (size_t i = w->plan_n; i > 1; i--) {
        size_t j = sim_rng_below(&w->rng, i);
        uint8_t t = w->plan[i - 1];
        w->plan[i - 1] = w->plan[j];
        w->plan[j] = t;
    }
    for (size_t i = 0; i < w->plan_n; i++)
        w->plan_at[i] = sim_rng_range(&w->rng, SIM_OP_FIRST_MS, SIM_GST_MS + SIM_OP_LAST_AFTER_GST_MS);
    qsort(w->plan_at, w->plan_n, sizeof w->plan_at[0], cmp_u64);
    if (w->plan_at[w->plan_n - 1] < SIM_GST_MS + 1000)
        w->plan_at[w->plan_n - 1] = SIM_GST_MS + sim_rng_range(&w->rng, 1000, 6000);
    (void)sim_push(w, SIM_OP_FIRST_MS, EV_VALSET, -1);
}

static bool op_reached(sim_world *w, const sim_op *op) {
    if (op->kind == OP_STALE) return sim_tx_committed(w, op->txid);
    const sim_set *s = sim_valset_now(w);
    int k = sim_set_index(s, w->nodes[op->node].pk);
    if (op->power == 0) return k < 0;
    return k >= 0 && s->v[k].power == op->power;
}

static void start(sim_world *w, uint8_t kind) {
    if (op_pick(w, kind, &w->op)) {
        attempt(w, &w->op);
        return;
    }
    sim_trace(w, -1, "operator: no %s that keeps the set safe; skipped", op_name(kind));
    w->op.kind = OP_NONE;
}

static void op_done(sim_world *w) {
    sim_op *op = &w->op;
    sim_trace(w, -1, "operator: %s %s took effect after %.1fs, %u attempts", op_name(op->kind), op->name,
              (double)(w->now - op->started_at) / 1000.0, op->tries);
    uint8_t kind = op->kind;
    op->kind = OP_NONE;
    if (kind == OP_STALE) return;
    w->last_before = op->before;
    w->have_last_before = true;
    if (kind == OP_ROTATE_ADD) start(w, OP_ROTATE_REMOVE);
    else if (sim_rng_chance(&w->rng, 500000)) start(w, OP_STALE);
}

void sim_ops_step(sim_world *w) {
    sim_op *op = &w->op;
    if (op->kind != OP_NONE) {
        if (op_reached(w, op)) {
            op_done(w);
        } else if (w->now - op->tried_at >= SIM_OP_RETRY_MS) {
            if (op->kind == OP_STALE && op->tries >= SIM_STALE_TRIES) op->kind = OP_NONE;
            else attempt(w, op);
        }
    } else if (w->plan_next < w->plan_n && w->now >= w->plan_at[w->plan_next]) {
        start(w, w->plan[w->plan_next++]);
    }
    (void)sim_push(w, sim_rng_range(&w->rng, 200, 700), EV_VALSET, -1);
}

bool sim_ops_done(const sim_world *w) { return w->plan_next == w->plan_n && w->op.kind == OP_NONE; }

void sim_ops_final(sim_world *w) {
    if (sim_ops_done(w)) return;
    if (w->op.kind == OP_NONE) {
        sim_violation(w, false, "the operator's planned set changes did not all start");
        return;
    }
    sim_violation(w, false, "set change %s of node %d (from %.1fs, %u attempts) never took effect",
                  op_name(w->op.kind), w->op.node, (double)w->op.started_at / 1000.0, w->op.tries);
}
