/* Deterministic simulation of a gongzhi network: n validators and one full
 * node running the real consensus state machine over a simulated network and
 * clock. One 64-bit seed drives everything (delays, drops, duplicates,
 * partitions, crashes, the Byzantine validator, the transactions), so a
 * failing seed replays exactly. */
#ifndef GZ_SIM_SIM_H
#define GZ_SIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/cons.h"

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

/* ---- the application under consensus (pluggable) ----
 *
 * Blocks carry an application payload; the simulator wraps it with height,
 * time, proposer and the previous block id. An application keeps one instance
 * per node: its committed state (durable across a crash) and its mempool
 * (lost in a crash). The built-in "chain" app is below; the ledger can be
 * plugged in as another sim_app_ops. */

#define SIM_PAYLOAD_MAX 2048
#define SIM_TX_MAX 320

typedef struct sim_app_ops {
    const char *name;
    /* A new instance for one node, at genesis. NULL on failure. */
    void *(*create)(uint64_t seed, int node);
    void (*destroy)(void *app);
    /* Makes a new client transaction; returns its length (<= SIM_TX_MAX). */
    size_t (*make_tx)(sim_rng *rng, uint8_t *tx);
    /* Admits a transaction to the mempool (duplicates and bad ones refused). */
    void (*add_tx)(void *app, const uint8_t *tx, size_t len);
    bool (*has_txs)(const void *app);
    /* The node crashed: volatile state (the mempool) is gone. */
    void (*crash)(void *app);
    /* Builds the payload of a block at height from the mempool; returns its
     * length (<= SIM_PAYLOAD_MAX, 0 is an empty block). */
    size_t (*build)(void *app, uint64_t height, uint8_t *out);
    /* Whether a payload may be executed on top of the committed state. */
    bool (*check)(const void *app, uint64_t height, const uint8_t *payload, size_t len);
    /* Executes a checked payload as block height; writes the state root. */
    void (*execute)(void *app, uint64_t height, const uint8_t *payload, size_t len,
                    uint8_t state_root[32]);
    /* A payload that check() refuses (for the Byzantine proposer). */
    size_t (*make_invalid)(sim_rng *rng, uint8_t *out);
} sim_app_ops;

extern const sim_app_ops sim_app_chain;
/* The real ledger on a memory store, with signed txs (tests/sim/sim_app_ledger.c). */
extern const sim_app_ops sim_app_ledger;

/* ---- blocks: immutable, content-addressed, shared by all nodes ---- */

typedef struct sim_block {
    uint64_t height;
    uint64_t time;
    uint32_t proposer;
    uint8_t prev_id[32];
    uint8_t payload[SIM_PAYLOAD_MAX];
    size_t len;
    uint8_t id[32];
    bool proposed;            /* some validator sent a proposal for it (not hashed) */
} sim_block;

/* ---- the run ---- */

enum sim_bug { SIM_BUG_NONE = 0, SIM_BUG_LOCK = 1, SIM_BUG_DOUBLE = 2 };

typedef struct sim_options {
    uint64_t seed;
    int validators;           /* 4 or 7 */
    bool verbose;
    int bug;                  /* enum sim_bug: honest nodes break a rule */
    const sim_app_ops *app;
} sim_options;

typedef struct sim_result {
    uint64_t safety;          /* safety violations found */
    uint64_t liveness;        /* 1 if the post-GST progress bound was missed */
    uint64_t heights;         /* highest height committed by every honest node */
    uint64_t events;
    uint64_t recover_ms;      /* from GST until every honest node had gained 3 heights */
    uint64_t evidence;        /* equivocations the honest nodes recorded */
    char first[256];          /* what the first violation was */
} sim_result;

/* Runs one seed. Returns 0, or -1 if the simulation could not be set up. */
int sim_run(const sim_options *opt, sim_result *res);

#endif
