/* gz_sim: runs consensus simulations and reports violations.
 *
 *   gz_sim --seeds N [--start S] [--validators 4|7|both] [--inject-bug BUG]
 *   gz_sim --seed X [--validators 4|7|both] [--verbose] [--inject-bug BUG]
 *
 * --store-faults makes every node's store fail writes until GST
 * (tests/sim/sim_faults.c).
 *
 * BUG is lock or double (consensus), admit-sig (node/admit.c), chain-dup
 * (node/chain.c) or old-powers (node/node.c: consensus keeps the genesis
 * powers after a set change): the honest nodes break that rule, and the runs
 * must find it.
 * Prints one line per failing run with the command that replays it, then
 * exactly one summary line. Exit 0 if every run passed, 1 if any failed, 2 on
 * bad usage. A run that dies (a node's own assertion or FATAL stop) first
 * prints the seed that replays it. */
#include <errno.h>
#include <signal.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/sim/sim.h"

typedef struct cli {
    bool multi;
    uint64_t seeds, start, seed;
    int validators;           /* 4, 7 or 0 = both */
    bool verbose;
    int bug;
    const char *bug_name;
    bool store_faults;
} cli;

static const struct {
    const char *name;
    int fault;
} BUGS[] = {{"lock", SIM_FAULT_LOCK}, {"double", SIM_FAULT_DOUBLE}, {"admit-sig", SIM_FAULT_ADMIT_SIG},
            {"chain-dup", SIM_FAULT_CHAIN_DUP}, {"old-powers", SIM_FAULT_OLD_POWERS}};

static int usage(const char *why) {
    fprintf(stderr, "gz_sim: %s\n", why);
    fprintf(stderr,
            "usage: gz_sim --seeds N [--start S] [--validators 4|7|both] [--inject-bug BUG] [--store-faults]\n"
            "       gz_sim --seed X [--validators 4|7|both] [--verbose] [--inject-bug BUG] [--store-faults]\n"
            "BUG: lock, double, admit-sig, chain-dup or old-powers\n");
    return 2;
}

static bool parse_u64(const char *s, uint64_t *out) {
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') return false;
    *out = v;
    return true;
}

static int parse(int argc, char **argv, cli *c) {
    memset(c, 0, sizeof *c);
    c->start = 1;
    bool have_seed = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--verbose") == 0) {
            c->verbose = true;
            continue;
        }
        if (strcmp(a, "--store-faults") == 0) {
            c->store_faults = true;
            continue;
        }
        if (v == NULL) return usage("missing value after an option");
        i++;
        if (strcmp(a, "--seeds") == 0) {
            if (!parse_u64(v, &c->seeds) || c->seeds == 0) return usage("--seeds: need N >= 1");
            c->multi = true;
        } else if (strcmp(a, "--start") == 0) {
            if (!parse_u64(v, &c->start)) return usage("--start: need an integer");
        } else if (strcmp(a, "--seed") == 0) {
            if (!parse_u64(v, &c->seed)) return usage("--seed: need an integer (0x… allowed)");
            have_seed = true;
        } else if (strcmp(a, "--validators") == 0) {
            if (strcmp(v, "4") == 0) {
                c->validators = 4;
            } else if (strcmp(v, "7") == 0) {
                c->validators = 7;
            } else if (strcmp(v, "both") != 0) {
                return usage("--validators: 4, 7 or both");
            }
        } else if (strcmp(a, "--inject-bug") == 0) {
            for (size_t k = 0; k < sizeof BUGS / sizeof BUGS[0]; k++)
                if (strcmp(v, BUGS[k].name) == 0) c->bug = BUGS[k].fault;
            if (c->bug == SIM_FAULT_NONE) return usage("--inject-bug: lock, double, admit-sig, chain-dup or old-powers");
            c->bug_name = v;
        } else {
            return usage("unknown option");
        }
    }
    if (c->multi == have_seed) return usage("give exactly one of --seeds and --seed");
    if (c->multi && c->start + c->seeds < c->start) return usage("--start: seed range overflows");
    return 0;
}

/* The run in progress, for a node that stops the process. */
static volatile uint64_t current_seed;
static volatile int current_validators;

static void on_abort(int sig) {
    char line[160];
    int n = snprintf(line, sizeof line, "gz_sim: died (signal %d); replay: gz_sim --seed 0x%016" PRIx64
                     " --validators %d --verbose\n", sig, (uint64_t)current_seed, current_validators);
    if (n > 0 && write(2, line, (size_t)n) < 0) _exit(3);
    signal(sig, SIG_DFL);
    raise(sig);
}

static void report(const cli *c, uint64_t s, int n, const sim_result *res) {
    if (!c->multi)
        printf("seed 0x%016" PRIx64 " validators %d%s%s: %" PRIu64 " heights, %" PRIu64 " events, %" PRIu64
               " txs committed (%" PRIu64 " of %" PRIu64 " submissions admitted), %" PRIu64
               " crashes, %" PRIu64 " set changes%s, %" PRIu64 " stale updates refused, recovered %.1fs after GST%s%s\n",
               s, n, res->byzantine ? " (one Byzantine)" : "", res->outsiders ? " (outsiders)" : "", res->heights, res->events, res->txs_committed,
               res->admitted, res->submitted, res->crashes, res->set_changes, res->jailed ? " (one jailing)" : "",
               res->stale_refused, res->recover_ms / 1000.0, res->first[0] ? "; " : "",
               res->first);
    if (c->multi && (res->safety > 0 || res->liveness > 0))
        printf("FAIL %s; replay: gz_sim --seed 0x%016" PRIx64 " --validators %d%s%s%s --verbose\n", res->first, s,
               n, c->bug_name ? " --inject-bug " : "", c->bug_name ? c->bug_name : "",
               c->store_faults ? " --store-faults" : "");
}

int main(int argc, char **argv) {
    cli c;
    int rc = parse(argc, argv, &c);
    if (rc != 0) return rc;
    signal(SIGABRT, on_abort);
    signal(SIGSEGV, on_abort);
    uint64_t first = c.multi ? c.start : c.seed;
    uint64_t count = c.multi ? c.seeds : 1;
    uint64_t safety = 0, liveness = 0;
    for (uint64_t s = first; s < first + count; s++) {
        for (int k = 0; k < 2; k++) {
            int n = k == 0 ? 4 : 7;
            if (c.validators != 0 && c.validators != n) continue;
            sim_options opt = {.seed = s, .validators = n, .verbose = c.verbose, .fault = c.bug,
                               .store_faults = c.store_faults};
            sim_result res;
            current_seed = s;
            current_validators = n;
            if (sim_run(&opt, &res) != 0) {
                fprintf(stderr, "gz_sim: cannot set up seed 0x%016" PRIx64 "\n", s);
                return 1;
            }
            safety += res.safety > 0;
            liveness += res.liveness > 0;
            report(&c, s, n, &res);
        }
    }
    printf("sim: %" PRIu64 " seeds, %" PRIu64 " safety violations, %" PRIu64 " liveness failures\n", count, safety,
           liveness);
    return safety + liveness > 0 ? 1 : 0;
}
