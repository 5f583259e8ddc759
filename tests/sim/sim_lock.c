/* The lock rule, checked on every vote an honest node sends (Tendermint,
 * arXiv:1807.04938, Algorithm 1 lines 22-33): once a validator precommitted
 * block A in round r of a height, it may prevote another block B in a later
 * round only for a proposal of B whose POL round is at least r. Breaking the
 * rule is unsafe, yet it shows as two blocks at one height only when many
 * things line up; checking the rule where it is applied catches it in most
 * runs with an equivocating proposer. The proposals are those any node sent
 * (the proposer's, re-sends, an equivocator's second one). */
#include <string.h>

#include "core/mp.h"

#include "node/wire.h"
#include "tests/sim/sim_internal.h"

static void note_proposal(sim_world *w, const uint8_t *payload, size_t len) {
    sim_proposal_msg m;
    if (!sim_proposal_of(payload, len, &m)) return;
    for (size_t i = 0; i < SIM_PROPS_SEEN && i < w->n_props; i++) {
        const sim_prop_seen *p = &w->props[i];
        if (p->height == m.p.height && p->round == m.p.round && p->pol_round == m.p.pol_round &&
            memcmp(p->block_id, m.p.block_id, 32) == 0)
            return;
    }
    sim_prop_seen *p = &w->props[w->n_props++ % SIM_PROPS_SEEN];
    p->height = m.p.height;
    p->round = m.p.round;
    p->pol_round = m.p.pol_round;
    memcpy(p->block_id, m.p.block_id, 32);
}

/* Whether some node sent a proposal of (height, round) for block id with a
 * POL round of at least lock_round. */
static bool unlocking_proposal(const sim_world *w, const gz_vote *v, uint64_t lock_round) {
    for (size_t i = 0; i < SIM_PROPS_SEEN && i < w->n_props; i++) {
        const sim_prop_seen *p = &w->props[i];
        if (p->height == v->height && p->round == v->round && p->pol_round >= (int64_t)lock_round &&
            memcmp(p->block_id, v->block_id, 32) == 0)
            return true;
    }
    return false;
}

/* The validator index of a vote message. */
static bool vote_validator(const uint8_t *payload, size_t len, uint64_t *idx) {
    mp_rd rd;
    const uint8_t *vb;
    size_t vlen;
    mp_rd_init(&rd, payload, len, NULL);
    return mp_get_array_n(&rd, "vote_msg", 3) == GZ_OK &&
           mp_get_bin(&rd, "vote_msg.vote", &vb, &vlen, GZ_VOTE_BYTES_MAX) == GZ_OK &&
           mp_get_uint(&rd, "vote_msg.validator", idx) == GZ_OK;
}

/* Its own votes only: a node also re-sends the votes of others it holds. */
static void check_vote(sim_world *w, const sim_node *n, const uint8_t *payload, size_t len) {
    gz_vote v;
    uint64_t idx;
    if (!vote_validator(payload, len, &idx) || !sim_vote_of(payload, len, &v)) return;
    int me = sim_set_index(sim_valset_at(w, v.height), n->pk); /* its index at that height */
    if (me < 0 || idx != (uint64_t)me) return;
    if (w->stable) w->nodes[n->idx].signed_after_gst++;
    if (!v.has_block_id) return;
    sim_lock *l = &w->locks[n->idx];
    if (v.type == GZ_VOTE_PRECOMMIT) {
        if (l->height != v.height || v.round >= l->round) {
            l->height = v.height;
            l->round = v.round;
            memcpy(l->block_id, v.block_id, 32);
        }
        return;
    }
    if (l->height != v.height || v.round <= l->round || memcmp(l->block_id, v.block_id, 32) == 0) return;
    if (!unlocking_proposal(w, &v, l->round))
        sim_violation(w, true, "node %d prevoted another block in round %llu of height %llu while locked in round %llu",
                      n->idx, (unsigned long long)v.round, (unsigned long long)v.height,
                      (unsigned long long)l->round);
}

void sim_lock_observe(sim_world *w, const sim_node *n, uint8_t type, const uint8_t *payload, size_t len) {
    if (type == NODE_MSG_PROPOSAL) note_proposal(w, payload, len);
    else if (type == NODE_MSG_VOTE && !n->byz) check_vote(w, n, payload, len);
}
