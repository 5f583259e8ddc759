/* Deterministic simulation of a gongzhi network running the real node.
 *
 * n validators and two full nodes are real node engines (node/node.h: the
 * same chain, gossip, admission, sync and commit code the binary runs) on
 * memory stores, with their real WAL and sign state in files of the run's
 * own directory, over a simulated network and clock. Clients submit signed
 * txs as real clients do (valid ones, duplicates, future nonces, unregistered
 * signers, bad signatures, txs racing their commit); one validator may be
 * Byzantine (junk bytes, equivocating votes, replays, committed txs in its
 * blocks). An operator changes the validator set by VALIDATOR_UPDATE and
 * the Byzantine validator gets jailed by EVIDENCE; every check uses the set
 * of its own height. One 64-bit seed drives everything, so a failing seed
 * replays exactly. */
#ifndef GZ_SIM_SIM_H
#define GZ_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the one PRNG (xoshiro256**, seeded through splitmix64) ---- */

typedef struct sim_rng {
    uint64_t s[4];
} sim_rng;

void sim_rng_seed(sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(sim_rng *r);
/* Uniform in [0, n) (n > 0). */
uint64_t sim_rng_below(sim_rng *r, uint64_t n);
/* Uniform in [lo, hi]. */
uint64_t sim_rng_range(sim_rng *r, uint64_t lo, uint64_t hi);
/* True with probability ppm / 1e6. */
bool sim_rng_chance(sim_rng *r, uint32_t ppm);

/* ---- the run ---- */

/* A rule the honest nodes break on purpose, to show the simulator catches it. */
enum sim_fault {
    SIM_FAULT_NONE = 0,
    SIM_FAULT_LOCK,       /* consensus: prevote ignoring the lock (CONS_FAULT_IGNORE_LOCK) */
    SIM_FAULT_DOUBLE,     /* consensus: count every vote twice (CONS_FAULT_DOUBLE_COUNT) */
    SIM_FAULT_ADMIT_SIG,  /* admit.c: a bad signature is admitted (NODE_FAULT_ADMIT_NO_SIG) */
    SIM_FAULT_CHAIN_DUP,  /* chain.c: a committed tx is let in again (NODE_FAULT_CHAIN_NO_DUP) */
    SIM_FAULT_OLD_POWERS  /* node.c: consensus keeps the genesis powers after a change (NODE_FAULT_OLD_POWERS) */
};

typedef struct sim_options {
    uint64_t seed;
    int validators;           /* 4 or 7 */
    bool verbose;
    int fault;                /* enum sim_fault */
    bool store_faults;        /* stores fail writes until GST (sim_faults.c) */
} sim_options;

typedef struct sim_result {
    uint64_t safety;          /* safety violations found */
    uint64_t liveness;        /* liveness failures found */
    uint64_t heights;         /* highest height committed by every honest node */
    uint64_t events;
    uint64_t recover_ms;      /* from GST until every honest node had gained the live heights */
    uint64_t txs_committed;   /* distinct txs in committed blocks */
    uint64_t submitted, admitted;
    uint64_t crashes;
    bool byzantine;           /* this run had a Byzantine validator */
    bool outsiders;           /* this run had hostile peers without a validator key */
    uint64_t outsider_msgs, outsider_drops;
    uint64_t set_changes;     /* heights whose block changed the set */
    uint64_t stale_refused;   /* VALIDATOR_UPDATEs with stale approvals, refused */
    bool jailed;              /* the Byzantine validator was jailed */
    char first[256];          /* what the first violation was */
} sim_result;

/* Runs one seed. Returns 0, or -1 if the simulation could not be set up. */
int sim_run(const sim_options *opt, sim_result *res);

#endif
