/* Storage faults in the simulator (gz_sim --store-faults): each node's store
 * is wrapped in a faulty one (storage/store.h) that, until GST, fails some
 * writes by chance (an I/O error or a full disk) and has one stretch of
 * consecutive writes fail as a full disk does. The draws come from the run's
 * seed, so a failing seed replays exactly. At GST the faults stop, and the
 * run's checkers (agreement, no lost commit, liveness after GST) apply as
 * usual: a node whose writes failed must have paused, not forked, and must
 * catch up. Reads are not faulted: a block whose state cannot be read is
 * judged invalid, which for a decided block stops the node by design. */
#include <stdint.h>

#include "tests/sim/sim_internal.h"

/* Chances per write, in parts per million, before GST. */
#define SIM_FAULT_WRITE_PPM 50000u
#define SIM_FAULT_ENOSPC_PPM 50000u
/* The full-disk stretch: it starts within the first writes of a run and
 * lasts this many writes at most (a node writes about one batch a block). */
#define SIM_FAULT_STRETCH_START_MAX 8u
#define SIM_FAULT_STRETCH_MAX 6u

int sim_faults_wrap(sim_world *w, sim_node *n) {
    if (!w->opt.store_faults) return 0;
    store_fault_cfg none = {0};
    store *faulty = NULL;
    if (store_open_faulty(&faulty, n->st, &none) != GZ_OK) return -1;
    n->st = faulty;
    return 0;
}

void sim_faults_start(sim_world *w, sim_node *n) {
    if (!w->opt.store_faults) return;
    store_fault_cfg c = {
        .seed = w->opt.seed * 0x9e3779b97f4a7c15ull + (uint64_t)n->idx + 1,
        .write_fail_ppm = SIM_FAULT_WRITE_PPM,
        .enospc_ppm = SIM_FAULT_ENOSPC_PPM,
        .fail_writes_after = sim_rng_below(&w->rng, SIM_FAULT_STRETCH_START_MAX),
        .fail_writes_count = 1 + sim_rng_below(&w->rng, SIM_FAULT_STRETCH_MAX),
        .sched_err = GZ_ENOSPC,
    };
    if (store_faults_set(n->st, &c) != GZ_OK) sim_violation(w, false, "node %d: cannot set its store faults", n->idx);
    sim_trace(w, n->idx, "store faults: writes %llu..%llu fail as a full disk, others by chance",
              (unsigned long long)c.fail_writes_after,
              (unsigned long long)(c.fail_writes_after + c.fail_writes_count - 1));
}

void sim_faults_stop(sim_world *w) {
    if (!w->opt.store_faults) return;
    store_fault_cfg none = {0};
    for (int i = 0; i < w->n_nodes; i++) {
        sim_node *n = &w->nodes[i];
        store_fault_stats st;
        if (!store_faults_stats(n->st, &st)) continue;
        sim_trace(w, i, "store faults stop: %llu of %llu writes failed", (unsigned long long)st.write_faults,
                  (unsigned long long)st.writes);
        if (store_faults_set(n->st, &none) != GZ_OK) sim_violation(w, false, "node %d: cannot stop its store faults", i);
    }
}
