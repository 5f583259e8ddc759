/* gz_sim: runs consensus simulations and reports violations.
 *
 *   gz_sim --seeds N [--start S] [--validators 4|7|both] [--inject-bug lock|double] [--app chain|ledger]
 *   gz_sim --seed X [--validators 4|7|both] [--verbose] [--inject-bug lock|double] [--app chain|ledger]
 *
 * Prints one line per failing run with the command that replays it, then
 * exactly one summary line. Exit 0 if every run passed, 1 if any failed, 2 on
 * bad usage. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/sim/sim.h"

typedef struct cli {
    bool multi;
    uint64_t seeds, start, seed;
    int validators;           /* 4, 7 or 0 = both */
    bool verbose;
    int bug;
    const char *bug_name;
    const sim_app_ops *app;
} cli;

/* Applications the simulator can run; the ledger joins this table once it
 * offers a sim_app_ops. */
static const sim_app_ops *const APPS[] = {&sim_app_chain, &sim_app_ledger};

static int usage(const char *why) {
    fprintf(stderr, "gz_sim: %s\n", why);
    fprintf(stderr,
            "usage: gz_sim --seeds N [--start S] [--validators 4|7|both] [--inject-bug lock|double]"
            " [--app chain|ledger]\n"
            "       gz_sim --seed X [--validators 4|7|both] [--verbose] [--inject-bug lock|double]"
            " [--app chain|ledger]\n");
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
    c->app = APPS[0];
    bool have_seed = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--verbose") == 0) {
            c->verbose = true;
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
            if (strcmp(v, "lock") == 0) {
                c->bug = SIM_BUG_LOCK;
            } else if (strcmp(v, "double") == 0) {
                c->bug = SIM_BUG_DOUBLE;
            } else {
                return usage("--inject-bug: lock or double");
            }
            c->bug_name = v;
        } else if (strcmp(a, "--app") == 0) {
            c->app = NULL;
            for (size_t k = 0; k < sizeof APPS / sizeof APPS[0]; k++) {
                if (strcmp(v, APPS[k]->name) == 0) c->app = APPS[k];
            }
            if (c->app == NULL) return usage("--app: unknown application");
        } else {
            return usage("unknown option");
        }
    }
    if (c->multi == have_seed) return usage("give exactly one of --seeds and --seed");
    if (c->multi && c->start + c->seeds < c->start) return usage("--start: seed range overflows");
    return 0;
}

int main(int argc, char **argv) {
    cli c;
    int rc = parse(argc, argv, &c);
    if (rc != 0) return rc;
    uint64_t first = c.multi ? c.start : c.seed;
    uint64_t count = c.multi ? c.seeds : 1;
    uint64_t safety = 0, liveness = 0;
    for (uint64_t s = first; s < first + count; s++) {
        for (int k = 0; k < 2; k++) {
            int n = k == 0 ? 4 : 7;
            if (c.validators != 0 && c.validators != n) continue;
            sim_options opt = {.seed = s, .validators = n, .verbose = c.verbose,
                               .bug = c.bug, .app = c.app};
            sim_result res;
            if (sim_run(&opt, &res) != 0) {
                fprintf(stderr, "gz_sim: cannot set up seed 0x%016" PRIx64 "\n", s);
                return 1;
            }
            safety += res.safety > 0;
            liveness += res.liveness > 0;
            if (!c.multi)
                printf("seed 0x%016" PRIx64 " validators %d: %" PRIu64 " heights, %" PRIu64
                       " events, %" PRIu64 " equivocations seen, recovered %.1fs after GST%s%s\n",
                       s, n, res.heights, res.events, res.evidence, res.recover_ms / 1000.0,
                       res.first[0] ? "; " : "", res.first);
            if (c.multi && (res.safety > 0 || res.liveness > 0))
                printf("FAIL %s; replay: gz_sim --seed 0x%016" PRIx64 " --validators %d%s%s "
                       "--app %s --verbose\n",
                       res.first, s, n, c.bug_name ? " --inject-bug " : "",
                       c.bug_name ? c.bug_name : "", c.app->name);
        }
    }
    printf("sim: %" PRIu64 " seeds, %" PRIu64 " safety violations, %" PRIu64
           " liveness failures\n",
           count, safety, liveness);
    return safety + liveness > 0 ? 1 : 0;
}
