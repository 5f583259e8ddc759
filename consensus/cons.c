/* Set-up, the validator set and proposer rotation, and the read-only queries. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cons.h"
#include "consensus/cons_internal.h"

/* Checks a validator set; returns its total power or 0 when it is unusable. */
static uint64_t valset_total(const uint64_t *powers, size_t n) {
    if (powers == NULL || n == 0 || n > GZ_VALIDATORS_MAX) return 0;
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (powers[i] == 0 || powers[i] > CONS_TOTAL_POWER_MAX) return 0;
        total += powers[i];
        if (total > CONS_TOTAL_POWER_MAX) return 0;
    }
    return total;
}

/* Smooth weighted round-robin over weights scaled so that their sum fits in
 * CONS_PROPOSER_SEQ_MAX while every validator keeps at least one turn. Each
 * validator appears exactly weight times, spread out rather than in runs, and
 * the result depends only on the powers. */
static void proposer_seq_build(cons *c) {
    uint64_t w[GZ_VALIDATORS_MAX];
    int64_t cur[GZ_VALIDATORS_MAX];
    uint64_t sum = 0;
    /* With n <= 128, floor(p * K / total) sums to at most K, and raising zeros
     * to one adds at most n, so the sum stays <= K + n = CONS_PROPOSER_SEQ_MAX. */
    uint64_t k = CONS_PROPOSER_SEQ_MAX - c->n;
    for (size_t i = 0; i < c->n; i++) {
        if (c->total_power <= CONS_PROPOSER_SEQ_MAX) {
            w[i] = c->power[i];
        } else {
            w[i] = c->power[i] * k / c->total_power;
            if (w[i] == 0) w[i] = 1;
        }
        sum += w[i];
        cur[i] = 0;
    }
    assert(sum >= 1);
    assert(sum <= CONS_PROPOSER_SEQ_MAX);
    for (uint64_t t = 0; t < sum; t++) {
        size_t best = 0;
        for (size_t i = 0; i < c->n; i++) {
            cur[i] += (int64_t)w[i];
            if (cur[i] > cur[best]) best = i;
        }
        cur[best] -= (int64_t)sum;
        c->seq[t] = (uint16_t)best;
    }
    c->seq_len = (size_t)sum;
}

static void valset_install(cons *c, const uint64_t *powers, size_t n, int32_t me, uint64_t total) {
    assert(n <= c->cap);
    c->n = n;
    c->me = me;
    memcpy(c->power, powers, n * sizeof *powers);
    c->total_power = total;
    proposer_seq_build(c);
}

static bool callbacks_complete(const cons_callbacks *cb) {
    return cb != NULL && cb->propose != NULL && cb->valid != NULL && cb->sign_vote != NULL &&
           cb->sign_proposal != NULL && cb->broadcast_vote != NULL &&
           cb->broadcast_proposal != NULL && cb->schedule_timeout != NULL && cb->decide != NULL;
}

/* All buffers are sized for cap validators here, once: the step functions
 * never allocate. */
static int alloc_buffers(cons *c) {
    size_t cap = c->cap;
    c->power = calloc(cap, sizeof *c->power);
    c->seq = calloc(CONS_PROPOSER_SEQ_MAX, sizeof *c->seq);
    c->slots = calloc(CONS_SLOTS_ALL, sizeof *c->slots);
    c->far = calloc(cap * CONS_FAR_ROUNDS, sizeof *c->far);
    c->fut_votes = calloc(CONS_FUTURE_ROUNDS * 2 * cap, sizeof *c->fut_votes);
    c->fut_has = calloc(CONS_FUTURE_ROUNDS * 2 * cap, sizeof *c->fut_has);
    c->fut_props = calloc(CONS_FUTURE_ROUNDS, sizeof *c->fut_props);
    c->fut_has_prop = calloc(CONS_FUTURE_ROUNDS, sizeof *c->fut_has_prop);
    c->scratch = calloc(cap, sizeof *c->scratch);
    if (c->power == NULL || c->seq == NULL || c->slots == NULL || c->far == NULL ||
        c->fut_votes == NULL || c->fut_has == NULL || c->fut_props == NULL ||
        c->fut_has_prop == NULL || c->scratch == NULL)
        return GZ_ENOMEM;
    for (size_t i = 0; i < CONS_SLOTS_ALL; i++) {
        c->slots[i].votes = calloc(4 * cap, sizeof *c->slots[i].votes);
        c->slots[i].has = calloc(4 * cap, sizeof *c->slots[i].has);
        if (c->slots[i].votes == NULL || c->slots[i].has == NULL) return GZ_ENOMEM;
    }
    return GZ_OK;
}

int cons_init(cons *c, const cons_config *cfg, const cons_callbacks *cb) {
    assert(c != NULL);
    memset(c, 0, sizeof *c);
    if (cfg == NULL || !callbacks_complete(cb)) return GZ_EMISUSE;
    uint64_t total = valset_total(cfg->powers, cfg->n_validators);
    if (total == 0) return GZ_EARG;
    if (cfg->my_index < -1 || cfg->my_index >= (int64_t)cfg->n_validators) return GZ_EARG;
    size_t cap = cfg->validators_cap == 0 ? cfg->n_validators : cfg->validators_cap;
    if (cap < cfg->n_validators || cap > GZ_VALIDATORS_MAX) return GZ_EARG;
    c->cb = *cb;
    c->cap = cap;
    c->timeout_propose_ms = cfg->timeout_propose_ms;
    c->timeout_vote_ms = cfg->timeout_vote_ms;
    c->timeout_delta_ms = cfg->timeout_delta_ms;
    c->empty_block_ms = cfg->empty_block_ms;
    c->test_faults = cfg->test_faults;
    if (alloc_buffers(c) != GZ_OK) {
        cons_free(c);
        return GZ_ENOMEM;
    }
    valset_install(c, cfg->powers, cfg->n_validators, cfg->my_index, total);
    c->locked_round = -1;
    c->valid_round = -1;
    c->step = CONS_STEP_NEW_HEIGHT;
    return GZ_OK;
}

void cons_free(cons *c) {
    if (c == NULL) return;
    if (c->slots != NULL) {
        for (size_t i = 0; i < CONS_SLOTS_ALL; i++) {
            free(c->slots[i].votes);
            free(c->slots[i].has);
        }
    }
    free(c->slots);
    free(c->power);
    free(c->seq);
    free(c->far);
    free(c->fut_votes);
    free(c->fut_has);
    free(c->fut_props);
    free(c->fut_has_prop);
    free(c->scratch);
    memset(c, 0, sizeof *c);
}

int cons_set_validators(cons *c, const uint64_t *powers, size_t n, int32_t my_index) {
    assert(c != NULL);
    assert(c->in_call == 0);
    uint64_t total = valset_total(powers, n);
    if (total == 0 || n > c->cap) return GZ_EARG;
    if (my_index < -1 || my_index >= (int64_t)n) return GZ_EARG;
    /* A height still in progress was committed from a peer's commit (block
     * sync): it is over for this machine too, and its vote sets refer to the
     * old indexes, so it takes no more input until cons_start_height. */
    if (c->started) c->step = CONS_STEP_COMMIT;
    valset_install(c, powers, n, my_index, total);
    /* Indexes in buffered messages referred to the old set. */
    cons_future_clear(c);
    return GZ_OK;
}

uint32_t cons_proposer(const cons *c, uint64_t height, uint64_t round) {
    assert(c->seq_len > 0);
    uint64_t t = c->seq_len;
    return c->seq[(height % t + round % t) % t];
}

static uint64_t sat_add(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

static uint64_t sat_mul(uint64_t a, uint64_t b) {
    if (a != 0 && b > UINT64_MAX / a) return UINT64_MAX;
    return a * b;
}

uint64_t cons_timeout_ms(const cons *c, uint8_t step, uint64_t round) {
    switch (step) {
    case CONS_STEP_NEW_HEIGHT:
        return c->empty_block_ms;
    case CONS_STEP_PROPOSE:
        return sat_add(c->timeout_propose_ms, sat_mul(round, c->timeout_delta_ms));
    default:
        return sat_add(c->timeout_vote_ms, sat_mul(round, c->timeout_delta_ms));
    }
}

void cons_state_get(const cons *c, cons_state *out) {
    memset(out, 0, sizeof *out);
    out->started = c->started;
    out->height = c->height;
    out->round = c->round;
    out->step = c->step;
    out->locked_round = c->locked_round;
    out->valid_round = c->valid_round;
    out->has_locked_value = c->locked_round >= 0;
    memcpy(out->locked_value, c->locked_value, 32);
    out->has_valid_value = c->valid_round >= 0;
    memcpy(out->valid_value, c->valid_value, 32);
    out->round_start_ms = c->round_start_ms;
}

uint64_t cons_evidence_count(const cons *c) { return c->evidence_total; }

int cons_evidence_get(const cons *c, size_t i, cons_evidence *out) {
    memset(out, 0, sizeof *out);
    if (i >= c->evidence_total || i >= CONS_EVIDENCE_MAX) return GZ_ENOTFOUND;
    size_t at = (size_t)((c->evidence_total - 1 - i) % CONS_EVIDENCE_MAX);
    *out = c->evidence[at];
    return GZ_OK;
}

const char *cons_step_name(uint8_t step) {
    switch (step) {
    case CONS_STEP_NEW_HEIGHT: return "new_height";
    case CONS_STEP_PROPOSE: return "propose";
    case CONS_STEP_PREVOTE: return "prevote";
    case CONS_STEP_PRECOMMIT: return "precommit";
    case CONS_STEP_COMMIT: return "commit";
    default: return "?";
    }
}
