/* Validator-set changes from the command line (SPEC §4, §9):
 * `gongzhi validator approve` signs one approval of a change for the current
 * set, `gongzhi tx validator-update` gathers approval files into the tx. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_valset.h"
#include "core/bytes.h"
#include "core/json.h"
#include "core/keys.h"
#include "core/mp.h"
#include "node/config.h"

/* The change being approved, as given on the command line. */
typedef struct change_args {
    const char *key_path;
    const char *rpc;
    const char *out;
    const char *name; /* NULL when --name was not given */
    uint8_t pub_key[32];
    bool have_pub_key;
    bool have_power;
    uint64_t power;
} change_args;

static int approve_usage(void) {
    printf("usage: gongzhi validator approve --key FILE --pub-key HEX --power N [--name S]\n"
           "                                 [--rpc URL] [--out FILE]\n\n"
           "Signs one approval of a validator-set change (SPEC §4) with a validator's key\n"
           "and prints it as JSON (or writes it to FILE, mode 0644). The current set and\n"
           "the chain id are read from the node. --power 0 removes --pub-key; a key not\n"
           "in the set is added at the end with --name; otherwise its power is set.\n"
           "An approval is valid only for the set it was made for: once the set changes,\n"
           "collect new ones.\n\n"
           "  --key FILE      the approving validator's secret key (its node.key)\n"
           "  --pub-key HEX   the validator key to add, re-weigh or remove (64 hex)\n"
           "  --power N       its new power (0 removes it)\n"
           "  --name S        its name, at most 64 bytes of UTF-8 (required to add a key)\n"
           "  --rpc URL       node to read the set from (default " CLI_DEFAULT_RPC ")\n"
           "  --out FILE      write the approval to FILE instead of stdout\n");
    return CLI_EXIT_OK;
}

/* A name as the codec takes it: at most 64 bytes of UTF-8 without NUL. */
static bool name_ok(const char *s) {
    size_t len = strlen(s);
    return len <= GZ_LABEL_MAX && mp_str_valid((const uint8_t *)s, len);
}

static int approve_flag(change_args *c, const char *a, const char *v) {
    if (strcmp(a, "--key") == 0) c->key_path = v;
    else if (strcmp(a, "--rpc") == 0) c->rpc = v;
    else if (strcmp(a, "--out") == 0) c->out = v;
    else if (strcmp(a, "--name") == 0) {
        if (!name_ok(v)) return cli_die(CLI_EXIT_USAGE, "validator approve: --name: expected at most %d bytes of UTF-8", GZ_LABEL_MAX);
        c->name = v;
    } else if (strcmp(a, "--pub-key") == 0) {
        if (gz_hex_decode(c->pub_key, 32, v) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "validator approve: --pub-key: expected 64 hex chars");
        c->have_pub_key = true;
    } else if (strcmp(a, "--power") == 0) {
        if (cli_parse_u64(v, &c->power) != GZ_OK || c->power > (uint64_t)INT64_MAX)
            return cli_die(CLI_EXIT_USAGE, "validator approve: --power: expected an integer in 0..%lld", (long long)INT64_MAX);
        c->have_power = true;
    } else {
        return cli_die(CLI_EXIT_USAGE, "validator approve: unknown flag %s (see --help)", a);
    }
    return CLI_EXIT_OK;
}

static int approve_parse(change_args *c, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return -1;
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "validator approve: %s needs a value", a);
        int rc = approve_flag(c, a, argv[++i]);
        if (rc != CLI_EXIT_OK) return rc;
    }
    if (c->key_path == NULL) return cli_die(CLI_EXIT_USAGE, "validator approve: --key is required");
    if (!c->have_pub_key) return cli_die(CLI_EXIT_USAGE, "validator approve: --pub-key is required");
    if (!c->have_power) return cli_die(CLI_EXIT_USAGE, "validator approve: --power is required");
    return CLI_EXIT_OK;
}

/* The node's chain id and current set (jailed and powerless entries left out). */
static int node_valset(const char *rpc, char chain_id[GZ_CHAIN_ID_MAX + 1], gz_validator *set, size_t *n,
                       bool *catching_up) {
    json_t *params = json_object(), *res = NULL;
    gz_msg msg = {{0}};
    int rc = cli_rpc(rpc, "status", params, &res, &msg);
    if (rc != GZ_OK) {
        json_decref(params);
        return cli_die(CLI_EXIT_FAIL, "status: %s", msg.text);
    }
    rc = core_json_str(res, "status", "chain_id", 1, GZ_CHAIN_ID_MAX, chain_id, &msg);
    *catching_up = json_is_true(json_object_get(res, "catching_up"));
    json_decref(res);
    res = NULL;
    if (rc == GZ_OK) rc = cli_rpc(rpc, "validators", params, &res, &msg);
    json_decref(params);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "validators: %s", msg.text);
    rc = cli_valset_parse(set, n, res, &msg);
    json_decref(res);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "the node's %s", msg.text);
    return CLI_EXIT_OK;
}

/* Refuses changes the ledger would refuse anyway, before anyone signs them. */
static int change_check(const change_args *c, const gz_validator *set, size_t n) {
    char hex[65];
    gz_hex_encode(hex, c->pub_key, 32);
    bool member = cli_valset_find(set, n, c->pub_key) >= 0;
    if (!member && c->power == 0)
        return cli_die(CLI_EXIT_FAIL, "validator approve: --pub-key %s is not in the current set: nothing to remove", hex);
    if (!member && (c->name == NULL || c->name[0] == '\0'))
        return cli_die(CLI_EXIT_USAGE, "validator approve: --name is required to add the new validator %s", hex);
    return CLI_EXIT_OK;
}

static int approval_emit(const cli_approval *a, const char *out) {
    json_t *j = cli_approval_json(a);
    char *text = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(j);
    if (text == NULL) return cli_die(CLI_EXIT_FAIL, "validator approve: out of memory");
    int rc = CLI_EXIT_OK;
    if (out == NULL) {
        puts(text);
    } else {
        size_t len = strlen(text);
        text[len] = '\n'; /* json_dumps' NUL becomes the file's final newline */
        if (node_write_file(out, text, len + 1, 0644) != GZ_OK)
            rc = cli_die(CLI_EXIT_FAIL, "validator approve: --out: cannot write %s", out);
    }
    free(text);
    return rc;
}

static int validator_approve(int argc, char **argv) {
    change_args c = {.rpc = CLI_DEFAULT_RPC};
    int rc = approve_parse(&c, argc, argv);
    if (rc != CLI_EXIT_OK) return rc < 0 ? approve_usage() : rc;
    uint8_t sk[32];
    gz_msg msg = {{0}};
    if (core_key_load(sk, c.key_path, &msg) != GZ_OK) return cli_die(CLI_EXIT_USAGE, "validator approve: --key: %s", msg.text);
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    static gz_validator set[GZ_VALIDATORS_MAX]; /* 13 KiB: kept off the stack */
    size_t n = 0;
    bool catching_up = false;
    rc = node_valset(c.rpc, chain_id, set, &n, &catching_up);
    if (rc == CLI_EXIT_OK) rc = change_check(&c, set, n);
    if (rc != CLI_EXIT_OK) {
        memset(sk, 0, sizeof sk);
        return rc;
    }
    if (catching_up)
        fprintf(stderr, "gongzhi: warning: the node is catching up; its set may not be the current one\n");
    cli_approval a;
    rc = cli_approval_sign(&a, sk, chain_id, set, n, c.pub_key, c.power, c.name != NULL ? c.name : "", &msg);
    uint8_t mine[32];
    bool have_mine = core_key_pub(mine, sk) == GZ_OK;
    memset(sk, 0, sizeof sk);
    if (rc == GZ_ENOTFOUND && have_mine) {
        char hex[65];
        gz_hex_encode(hex, mine, 32);
        return cli_die(CLI_EXIT_FAIL, "validator approve: --key %s (%s) is not a validator of the current set; only its validators approve",
                       c.key_path, hex);
    }
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "validator approve: %s", msg.text);
    return approval_emit(&a, c.out);
}

int cli_validator(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: gongzhi validator approve [flags]   (gongzhi validator approve --help)\n\n"
               "  approve   sign one approval of a validator-set change for the current set\n\n"
               "Approvals of validators holding more than 2/3 of the power go into one\n"
               "`gongzhi tx validator-update --approval FILE ...`.\n");
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (strcmp(argv[1], "approve") == 0) return validator_approve(argc - 1, argv + 1);
    return cli_die(CLI_EXIT_USAGE, "validator: unknown subcommand '%s' (see gongzhi validator --help)", argv[1]);
}

/* ---- gongzhi tx validator-update ------------------------------------------- */

typedef struct update_args {
    cli_tx_opts o;
    size_t n;
    const char *files[GZ_VALIDATORS_MAX];
} update_args;

static int update_usage(void) {
    printf("usage: gongzhi tx validator-update --approval FILE [--approval FILE ...] --key FILE\n"
           "                                   [--rpc URL] [--wait]\n\n"
           "Gathers approvals made with `gongzhi validator approve` into one VALIDATOR_UPDATE\n"
           "(SPEC §4), signs it with --key (any registered account, e.g. the submitting\n"
           "validator's node.key) and submits it. The approvals must agree on the change;\n"
           "each signature is checked here, repeats of one validator are dropped. The\n"
           "ledger needs approvals of validators holding more than 2/3 of the current\n"
           "set's power, made for that very set.\n\n"
           "  --approval FILE  one approval (repeat, at most %d)\n", GZ_VALIDATORS_MAX);
    cli_tx_common_help();
    return CLI_EXIT_OK;
}

static int update_parse(update_args *u, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return -1;
        if (strcmp(a, "--wait") == 0) { u->o.wait = true; continue; }
        if (strcmp(a, "--print") == 0) { u->o.print_only = true; continue; }
        if (strncmp(a, "--", 2) != 0 || i + 1 >= argc)
            return cli_die(CLI_EXIT_USAGE, "tx validator-update: unexpected argument '%s'", a);
        const char *v = argv[++i];
        if (strcmp(a, "--approval") == 0) {
            if (u->n == GZ_VALIDATORS_MAX)
                return cli_die(CLI_EXIT_USAGE, "tx validator-update: --approval: at most %d files", GZ_VALIDATORS_MAX);
            u->files[u->n++] = v;
            continue;
        }
        int rc = cli_tx_common_set(&u->o, a + 2, v);
        if (rc < 0) return cli_die(CLI_EXIT_USAGE, "tx validator-update: unknown flag %s (see --help)", a);
        if (rc != CLI_EXIT_OK) return rc;
    }
    if (u->n == 0) return cli_die(CLI_EXIT_USAGE, "tx validator-update: --approval is required");
    if (u->o.key_path == NULL) return cli_die(CLI_EXIT_USAGE, "tx validator-update: --key is required");
    return CLI_EXIT_OK;
}

/* Power added in one height stalls the chain if its node is not up and it
 * is half the old power or more: the old validators alone then hold 2/3 of
 * the new total or less (docs/consensus.md, "Validator set changes"). */
static void warn_liveness(const gz_validator *set, size_t n, const cli_approval *a) {
    uint64_t total = 0, old = 0;
    for (size_t i = 0; i < n; i++) {
        total += set[i].power;
        if (memcmp(set[i].pub_key, a->pub_key, 32) == 0) old = set[i].power;
    }
    if (a->power > old && (a->power - old) * 2 >= total)
        fprintf(stderr, "gongzhi: warning: this adds %llu power to a set of %llu: unless the new validator's node is "
                        "up and synced, the chain stops at the next height\n",
                (unsigned long long)(a->power - old), (unsigned long long)total);
}

/* Compares the approvals with the node's current set: a stale set is only
 * warned about (the ledger has the last word), a validator_index that names
 * another key in the very set the approvals are for is an error. */
static int update_against_node(const update_args *u, const cli_approval *a) {
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    static gz_validator set[GZ_VALIDATORS_MAX];
    size_t n = 0;
    bool catching_up = false;
    int rc = node_valset(u->o.rpc, chain_id, set, &n, &catching_up);
    if (rc != CLI_EXIT_OK) return rc;
    if (strcmp(chain_id, a[0].chain_id) != 0)
        return cli_die(CLI_EXIT_FAIL, "tx validator-update: %s: chain_id %s, but the node runs %s", u->files[0],
                       a[0].chain_id, chain_id);
    uint8_t vh[32];
    if (core_validators_hash(vh, set, n) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "tx validator-update: cannot hash the set");
    if (memcmp(vh, a[0].validators_hash, 32) != 0) {
        fprintf(stderr, "gongzhi: warning: the approvals were made for another validator set than the node's "
                        "current one; the ledger will refuse them (approvals expire with their set): collect new ones\n");
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < u->n; i++) {
        if (a[i].validator_index >= n || memcmp(set[a[i].validator_index].pub_key, a[i].validator, 32) != 0)
            return cli_die(CLI_EXIT_FAIL, "tx validator-update: %s: validator_index %llu is not its validator's place in the set",
                           u->files[i], (unsigned long long)a[i].validator_index);
    }
    warn_liveness(set, n, &a[0]);
    return CLI_EXIT_OK;
}

static int update_load(const update_args *u, cli_approval *a) {
    for (size_t i = 0; i < u->n; i++) {
        gz_msg msg = {{0}};
        if (cli_approval_load(&a[i], u->files[i], &msg) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "tx validator-update: --approval %s: %s", u->files[i], msg.text);
    }
    return CLI_EXIT_OK;
}

static int update_build(gz_tx *tx, gz_buf *approvals, const update_args *u, const cli_approval *a) {
    static gz_approval g[GZ_VALIDATORS_MAX];
    size_t n = 0, dropped = 0;
    gz_msg msg = {{0}};
    if (cli_approvals_gather(g, &n, &dropped, a, u->files, u->n, &msg) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "tx validator-update: %s", msg.text);
    if (dropped > 0) fprintf(stderr, "gongzhi: %zu repeated approval%s dropped\n", dropped, dropped == 1 ? "" : "s");
    if (core_approvals_encode(g, n, approvals) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "tx validator-update: out of memory");
    tx->type = GZ_TX_VALIDATOR_UPDATE;
    gz_p_validator_update *p = &tx->p.validator_update;
    memcpy(p->pub_key, a[0].pub_key, 32);
    p->power = a[0].power;
    snprintf(p->name, sizeof p->name, "%s", a[0].name);
    p->n_approvals = (uint32_t)n;
    p->approvals = approvals->data;
    p->approvals_len = approvals->len;
    return CLI_EXIT_OK;
}

int cli_tx_validator_update(int argc, char **argv) {
    static update_args u;
    memset(&u, 0, sizeof u);
    u.o = (cli_tx_opts){.rpc = CLI_DEFAULT_RPC, .timeout_ms = 10000};
    int rc = update_parse(&u, argc, argv);
    if (rc != CLI_EXIT_OK) return rc < 0 ? update_usage() : rc;
    static cli_approval a[GZ_VALIDATORS_MAX];
    static gz_tx tx;
    memset(&tx, 0, sizeof tx);
    if ((rc = update_load(&u, a)) != CLI_EXIT_OK) return rc;
    gz_buf approvals;
    gz_buf_init(&approvals);
    rc = update_build(&tx, &approvals, &u, a);
    if (rc == CLI_EXIT_OK && u.o.chain_id != NULL && strcmp(u.o.chain_id, a[0].chain_id) != 0)
        rc = cli_die(CLI_EXIT_USAGE, "tx validator-update: --chain-id %s, but the approvals are for %s", u.o.chain_id,
                     a[0].chain_id);
    if (rc == CLI_EXIT_OK && !u.o.print_only) rc = update_against_node(&u, a);
    /* The tx is for the approvals' chain; the node was just asked for it. */
    if (u.o.chain_id == NULL) u.o.chain_id = a[0].chain_id;
    if (rc == CLI_EXIT_OK) rc = cli_tx_send(&tx, &u.o);
    gz_buf_free(&approvals);
    return rc;
}
