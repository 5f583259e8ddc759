/* `gongzhi genesis …`: build a genesis.json for several institutions without
 * editing JSON by hand, and check it with the node's own checker.
 *
 * The add-* commands edit the file as JSON: they append one entry and keep
 * every other key and value as they were, so a draft may also carry what
 * this tool does not write. A draft without validators is fine while it is
 * being built; `genesis check` (and `gongzhi init`) need a complete one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli/cli.h"
#include "core/bytes.h"
#include "core/json.h"
#include "core/mp.h"
#include "ledger/genesis.h"
#include "node/config.h"

/* One subcommand's flags: name -> where its value goes. */
typedef struct flag_slot {
    const char *flag;
    const char **value;
} flag_slot;

/* Reads "--flag value" pairs into slots; -1 for --help, else an exit code. */
static int flags_read(const char *cmd, flag_slot *slots, size_t n, int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return -1;
        size_t k = 0;
        while (k < n && strcmp(slots[k].flag, a) != 0) k++;
        if (k == n) return cli_die(CLI_EXIT_USAGE, "genesis %s: unknown argument '%s' (see --help)", cmd, a);
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "genesis %s: %s needs a value", cmd, a);
        *slots[k].value = argv[++i];
    }
    for (size_t k = 0; k < n; k++) {
        /* An optional flag's slot holds its default, so an empty slot is a missing required flag. */
        if (*slots[k].value == NULL)
            return cli_die(CLI_EXIT_USAGE, "genesis %s: %s is required", cmd, slots[k].flag);
    }
    return CLI_EXIT_OK;
}

static bool text_ok(const char *s) {
    size_t len = strlen(s);
    return len <= GZ_LABEL_MAX && mp_str_valid((const uint8_t *)s, len);
}

/* 64 hex chars, returned lowercase in out. */
static int hex32_arg(const char *cmd, const char *flag, const char *v, char out[65]) {
    uint8_t b[32];
    if (gz_hex_decode(b, 32, v) != GZ_OK) return cli_die(CLI_EXIT_USAGE, "genesis %s: %s: expected 64 hex chars", cmd, flag);
    gz_hex_encode(out, b, 32);
    return CLI_EXIT_OK;
}

static int u64_arg(const char *cmd, const char *flag, const char *v, uint64_t lo, uint64_t hi, uint64_t *out) {
    if (cli_parse_u64(v, out) != GZ_OK || *out < lo || *out > hi)
        return cli_die(CLI_EXIT_USAGE, "genesis %s: %s: expected an integer in %llu..%llu", cmd, flag,
                       (unsigned long long)lo, (unsigned long long)hi);
    return CLI_EXIT_OK;
}

/* ---- the file ---- */

static json_t *draft_load(const char *cmd, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) {
        cli_die(CLI_EXIT_FAIL, "genesis %s: --genesis: cannot read %s", cmd, path);
        return NULL;
    }
    if ((uint64_t)st.st_size > GZ_GENESIS_BYTES_MAX) {
        cli_die(CLI_EXIT_FAIL, "genesis %s: %s: larger than %u bytes", cmd, path, GZ_GENESIS_BYTES_MAX);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        cli_die(CLI_EXIT_FAIL, "genesis %s: %s: invalid JSON at line %d column %d: %s", cmd, path, jerr.line,
                jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        cli_die(CLI_EXIT_FAIL, "genesis %s: %s: expected a JSON object", cmd, path);
        return NULL;
    }
    return root;
}

static int draft_save(const char *cmd, const char *path, const json_t *root) {
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL) return cli_die(CLI_EXIT_FAIL, "genesis %s: out of memory", cmd);
    size_t len = strlen(text);
    text[len] = '\n'; /* json_dumps' NUL becomes the file's final newline */
    int rc = node_write_file(path, text, len + 1, 0644);
    free(text);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "genesis %s: cannot write %s", cmd, path);
    return CLI_EXIT_OK;
}

/* The array member key of obj (created empty when absent); NULL if it is
 * something else, after saying so. */
static json_t *draft_array(const char *cmd, json_t *obj, const char *path, const char *key) {
    json_t *arr = json_object_get(obj, key);
    if (arr == NULL) {
        arr = json_array();
        if (arr == NULL || json_object_set_new(obj, key, arr) != 0) {
            cli_die(CLI_EXIT_FAIL, "genesis %s: out of memory", cmd);
            return NULL;
        }
    }
    if (!json_is_array(arr)) {
        char p[CORE_JSON_PATH_MAX];
        core_json_path(p, path, key);
        cli_die(CLI_EXIT_FAIL, "genesis %s: %s: expected an array", cmd, p);
        return NULL;
    }
    return arr;
}

/* The index of the entry of arr whose key member (or the entry itself when
 * member is NULL) spells hex, in either case; -1 when none. */
static long draft_find(const json_t *arr, const char *member, const char *hex) {
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *e = json_array_get(arr, i);
        const char *s = json_string_value(member != NULL ? json_object_get(e, member) : e);
        if (s != NULL && strcasecmp(s, hex) == 0) return (long)i;
    }
    return -1;
}

/* Appends entry (stolen) to arr and writes the file. */
static int draft_append(const char *cmd, const char *path, json_t *root, json_t *arr, json_t *entry) {
    if (entry == NULL || json_array_append_new(arr, entry) != 0) {
        return cli_die(CLI_EXIT_FAIL, "genesis %s: out of memory", cmd);
    }
    return draft_save(cmd, path, root);
}

/* ---- genesis new ---- */

static int new_usage(void) {
    printf("usage: gongzhi genesis new --out FILE [--chain-id ID] [--genesis-time MS]\n"
           "                           [--credit points|composite] [--force]\n\n"
           "Writes a draft genesis.json with the devnet's consensus and policy defaults,\n"
           "no validators and empty authority lists; fill it with `genesis add-validator`,\n"
           "`add-authority` and `add-account`, then `genesis check` it. Refuses to\n"
           "overwrite FILE unless --force.\n\n"
           "  --chain-id ID       1..64 printable ASCII characters (default gongzhi-devnet)\n"
           "  --genesis-time MS   ms since the epoch, before the first block (default: now)\n"
           "  --credit MODEL      credit model: points (default) or composite (docs/ledger.md)\n");
    return CLI_EXIT_OK;
}

/* The composite model with docs/ledger.md's example values. */
static void composite_defaults(gz_credit_policy *c) {
    c->model = GZ_CREDIT_COMPOSITE;
    c->initial = c->max = c->suspend_at = 0;
    c->weights_ppm[0] = 450000;
    c->weights_ppm[1] = 350000;
    c->weights_ppm[2] = 200000;
    for (int i = 0; i < GZ_CREDIT_COMPONENTS; i++) c->initial_components[i] = 80;
    c->watch_below = 70;
    c->suspend_below = 50;
    c->suspend_ms = 15552000000ull;
    c->pioneer_at = 85;
    c->whitelist_at = 90;
}

static int new_fill(gz_genesis *g, const char *chain_id, const char *time_ms, const char *credit) {
    ledger_genesis_default(g);
    size_t n = strlen(chain_id);
    bool ok = n >= 1 && n <= GZ_CHAIN_ID_MAX;
    for (size_t i = 0; ok && i < n; i++) ok = chain_id[i] > 0x20 && chain_id[i] < 0x7f;
    if (!ok) return cli_die(CLI_EXIT_USAGE, "genesis new: --chain-id: expected 1..64 printable ASCII characters");
    snprintf(g->chain_id, sizeof g->chain_id, "%s", chain_id);
    g->genesis_time = (uint64_t)time(NULL) * 1000u;
    if (time_ms != NULL) {
        int rc = u64_arg("new", "--genesis-time", time_ms, 0, (uint64_t)INT64_MAX, &g->genesis_time);
        if (rc != CLI_EXIT_OK) return rc;
    }
    if (strcmp(credit, "composite") == 0) composite_defaults(&g->policy.credit);
    else if (strcmp(credit, "points") != 0)
        return cli_die(CLI_EXIT_USAGE, "genesis new: --credit: expected points or composite");
    return CLI_EXIT_OK;
}

static int genesis_new(int argc, char **argv) {
    const char *out = NULL, *chain_id = "gongzhi-devnet", *time_ms = NULL, *credit = "points";
    bool force = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return new_usage();
        if (strcmp(a, "--force") == 0) { force = true; continue; }
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "genesis new: %s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--out") == 0) out = v;
        else if (strcmp(a, "--chain-id") == 0) chain_id = v;
        else if (strcmp(a, "--genesis-time") == 0) time_ms = v;
        else if (strcmp(a, "--credit") == 0) credit = v;
        else return cli_die(CLI_EXIT_USAGE, "genesis new: unknown flag %s (see --help)", a);
    }
    if (out == NULL) return cli_die(CLI_EXIT_USAGE, "genesis new: --out is required");
    struct stat st;
    if (!force && stat(out, &st) == 0)
        return cli_die(CLI_EXIT_FAIL, "genesis new: --out: %s exists (--force replaces it)", out);
    gz_genesis g;
    int rc = new_fill(&g, chain_id, time_ms, credit);
    char *text = NULL;
    if (rc == CLI_EXIT_OK && ledger_genesis_write(&g, &text) != GZ_OK) rc = cli_die(CLI_EXIT_FAIL, "genesis new: out of memory");
    ledger_genesis_free(&g);
    if (rc == CLI_EXIT_OK && node_write_file(out, text, strlen(text), 0644) != GZ_OK)
        rc = cli_die(CLI_EXIT_FAIL, "genesis new: cannot write %s", out);
    free(text);
    if (rc == CLI_EXIT_OK) printf("%s: draft genesis of chain %s (no validators yet)\n", out, chain_id);
    return rc;
}

/* ---- genesis add-validator ---- */

static int add_validator_usage(void) {
    printf("usage: gongzhi genesis add-validator --genesis FILE --pub-key HEX --power N --name S\n\n"
           "Appends a validator to FILE's validators (their order is the set's order).\n\n"
           "  --pub-key HEX   the validator's node key (printed by `gongzhi keygen` / `gongzhi init`)\n"
           "  --power N       its voting power, 1 or more\n"
           "  --name S        the institution's name, at most 64 bytes of UTF-8\n");
    return CLI_EXIT_OK;
}

static int genesis_add_validator(int argc, char **argv) {
    const char *path = NULL, *pk = NULL, *power_s = NULL, *name = NULL;
    flag_slot slots[] = {{"--genesis", &path}, {"--pub-key", &pk}, {"--power", &power_s}, {"--name", &name}};
    int rc = flags_read("add-validator", slots, 4, argc, argv);
    if (rc != CLI_EXIT_OK) return rc < 0 ? add_validator_usage() : rc;
    char hex[65];
    uint64_t power;
    if ((rc = hex32_arg("add-validator", "--pub-key", pk, hex)) != CLI_EXIT_OK) return rc;
    if ((rc = u64_arg("add-validator", "--power", power_s, 1, (uint64_t)INT64_MAX, &power)) != CLI_EXIT_OK) return rc;
    if (!text_ok(name)) return cli_die(CLI_EXIT_USAGE, "genesis add-validator: --name: expected at most 64 bytes of UTF-8");
    json_t *root = draft_load("add-validator", path);
    if (root == NULL) return CLI_EXIT_FAIL;
    json_t *arr = draft_array("add-validator", root, "", "validators");
    long at = arr != NULL ? draft_find(arr, "pub_key", hex) : -1;
    if (arr == NULL) rc = CLI_EXIT_FAIL;
    else if (at >= 0) rc = cli_die(CLI_EXIT_FAIL, "genesis add-validator: --pub-key: %s is already validators[%ld]", hex, at);
    else if (json_array_size(arr) >= GZ_VALIDATORS_MAX)
        rc = cli_die(CLI_EXIT_FAIL, "genesis add-validator: validators: already %d, the most a set holds", GZ_VALIDATORS_MAX);
    else
        rc = draft_append("add-validator", path, root, arr,
                          json_pack("{s:s, s:s, s:I}", "name", name, "pub_key", hex, "power", (json_int_t)power));
    if (rc == CLI_EXIT_OK) printf("%s: validator %s added (%zu in all)\n", path, name, json_array_size(arr));
    json_decref(root);
    return rc;
}

/* ---- genesis add-authority ---- */

static int add_authority_usage(void) {
    printf("usage: gongzhi genesis add-authority --genesis FILE --role ROLE --pub-key HEX\n\n"
           "Appends a key to one of FILE's authority lists. ROLE is registrar,\n"
           "credit_officer, treasurer or governor. One key may hold several roles.\n");
    return CLI_EXIT_OK;
}

static int role_of(const char *s) {
    for (int r = 0; r < GZ_ROLE_COUNT; r++) {
        if (strcmp(ledger_role_name(r), s) == 0) return r;
    }
    return -1;
}

static int genesis_add_authority(int argc, char **argv) {
    const char *path = NULL, *role = NULL, *pk = NULL;
    flag_slot slots[] = {{"--genesis", &path}, {"--role", &role}, {"--pub-key", &pk}};
    int rc = flags_read("add-authority", slots, 3, argc, argv);
    if (rc != CLI_EXIT_OK) return rc < 0 ? add_authority_usage() : rc;
    if (role_of(role) < 0)
        return cli_die(CLI_EXIT_USAGE, "genesis add-authority: --role: '%s' is not registrar, credit_officer, treasurer or governor", role);
    char hex[65];
    if ((rc = hex32_arg("add-authority", "--pub-key", pk, hex)) != CLI_EXIT_OK) return rc;
    json_t *root = draft_load("add-authority", path);
    if (root == NULL) return CLI_EXIT_FAIL;
    json_t *auth = json_object_get(root, "authorities");
    if (auth == NULL && json_object_set_new(root, "authorities", auth = json_object()) != 0) auth = NULL;
    json_t *arr = json_is_object(auth) ? draft_array("add-authority", auth, "authorities", role) : NULL;
    long at = arr != NULL ? draft_find(arr, NULL, hex) : -1;
    if (!json_is_object(auth)) rc = cli_die(CLI_EXIT_FAIL, "genesis add-authority: authorities: expected an object");
    else if (arr == NULL) rc = CLI_EXIT_FAIL;
    else if (at >= 0) rc = cli_die(CLI_EXIT_FAIL, "genesis add-authority: --pub-key: %s is already authorities.%s[%ld]", hex, role, at);
    else if (json_array_size(arr) >= GZ_AUTHORITIES_MAX)
        rc = cli_die(CLI_EXIT_FAIL, "genesis add-authority: authorities.%s: already %d keys, the most a role holds", role, GZ_AUTHORITIES_MAX);
    else rc = draft_append("add-authority", path, root, arr, json_string(hex));
    if (rc == CLI_EXIT_OK) printf("%s: %s %s added (%zu in all)\n", path, role, hex, json_array_size(arr));
    json_decref(root);
    return rc;
}

/* ---- genesis add-account ---- */

static int add_account_usage(void) {
    printf("usage: gongzhi genesis add-account --genesis FILE --account HEX --level N --classes N\n"
           "                                   [--label S]\n\n"
           "Appends a registered account to FILE's accounts.\n\n"
           "  --account HEX   the account id (its public key)\n"
           "  --level N       platform level 0..10\n"
           "  --classes N     class bits: 1 whale, 2 collector, 4 blue whale, 8 creator, 16 channel, 32 team, 64 PFP\n"
           "  --label S       a label, at most 64 bytes of UTF-8 (default empty)\n");
    return CLI_EXIT_OK;
}

static int genesis_add_account(int argc, char **argv) {
    const char *path = NULL, *acct = NULL, *level_s = NULL, *classes_s = NULL, *label = "";
    flag_slot slots[] = {{"--genesis", &path}, {"--account", &acct}, {"--level", &level_s},
                         {"--classes", &classes_s}, {"--label", &label}};
    int rc = flags_read("add-account", slots, 5, argc, argv);
    if (rc != CLI_EXIT_OK) return rc < 0 ? add_account_usage() : rc;
    char hex[65];
    uint64_t level, classes;
    if ((rc = hex32_arg("add-account", "--account", acct, hex)) != CLI_EXIT_OK) return rc;
    if ((rc = u64_arg("add-account", "--level", level_s, 0, GZ_LEVEL_MAX, &level)) != CLI_EXIT_OK) return rc;
    if ((rc = u64_arg("add-account", "--classes", classes_s, 0, (uint64_t)INT64_MAX, &classes)) != CLI_EXIT_OK) return rc;
    if (!text_ok(label)) return cli_die(CLI_EXIT_USAGE, "genesis add-account: --label: expected at most 64 bytes of UTF-8");
    json_t *root = draft_load("add-account", path);
    if (root == NULL) return CLI_EXIT_FAIL;
    json_t *arr = draft_array("add-account", root, "", "accounts");
    long at = arr != NULL ? draft_find(arr, "account", hex) : -1;
    if (arr == NULL) rc = CLI_EXIT_FAIL;
    else if (at >= 0) rc = cli_die(CLI_EXIT_FAIL, "genesis add-account: --account: %s is already accounts[%ld]", hex, at);
    else if (json_array_size(arr) >= GZ_GENESIS_ACCOUNTS_MAX)
        rc = cli_die(CLI_EXIT_FAIL, "genesis add-account: accounts: already %u, the most a genesis holds", GZ_GENESIS_ACCOUNTS_MAX);
    else
        rc = draft_append("add-account", path, root, arr,
                          json_pack("{s:s, s:I, s:I, s:s}", "account", hex, "level", (json_int_t)level, "classes",
                                    (json_int_t)classes, "label", label));
    if (rc == CLI_EXIT_OK) printf("%s: account %s added (%zu in all)\n", path, hex, json_array_size(arr));
    json_decref(root);
    return rc;
}

/* ---- genesis check ---- */

static int genesis_check(int argc, char **argv) {
    if (argc != 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: gongzhi genesis check FILE\n\n"
               "Runs the node's own genesis checks on FILE and prints its chain id, genesis\n"
               "time, validators (in order, with the validators_hash of the set) and the\n"
               "genesis hash a node started on it will use; or the error naming the field.\n");
        return argc == 2 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    gz_genesis g;
    gz_msg msg = {{0}};
    if (ledger_genesis_load(&g, argv[1], &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "genesis check: %s: %s", argv[1], msg.text);
    uint8_t gh[32], vh[32];
    int rc = ledger_genesis_hash(&g, gh);
    if (rc == GZ_OK) rc = core_validators_hash(vh, g.validators, g.n_validators);
    json_t *vals = json_array();
    uint64_t total = 0;
    for (uint32_t i = 0; i < g.n_validators; i++) {
        const gz_validator *v = &g.validators[i];
        json_array_append_new(vals, json_pack("{s:s, s:o, s:I}", "name", v->name, "pub_key", core_json_hex(v->pub_key, 32),
                                              "power", (json_int_t)v->power));
        total += v->power;
    }
    json_t *out = json_pack("{s:s, s:I, s:o, s:I, s:o, s:o}", "chain_id", g.chain_id, "genesis_time",
                            (json_int_t)g.genesis_time, "validators", vals, "total_power", (json_int_t)total,
                            "validators_hash", core_json_hex(vh, 32), "genesis_hash", core_json_hex(gh, 32));
    ledger_genesis_free(&g);
    if (rc != GZ_OK || out == NULL) {
        json_decref(out);
        return cli_die(CLI_EXIT_FAIL, "genesis check: out of memory");
    }
    cli_print_json(out);
    json_decref(out);
    return CLI_EXIT_OK;
}

int cli_genesis(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *help;
    } subs[] = {
        {"new", genesis_new, "write a draft with the default consensus and policy, no validators"},
        {"add-validator", genesis_add_validator, "append a validator (key, power, name)"},
        {"add-authority", genesis_add_authority, "append a key to registrar, credit_officer, treasurer or governor"},
        {"add-account", genesis_add_account, "append a registered account (level, classes, label)"},
        {"check", genesis_check, "run the node's genesis checks, print the chain id, validators and genesis hash"},
    };
    size_t n = sizeof subs / sizeof subs[0];
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: gongzhi genesis SUBCOMMAND [flags]   (gongzhi genesis SUBCOMMAND --help)\n\n");
        for (size_t i = 0; i < n; i++) printf("  %-14s %s\n", subs[i].name, subs[i].help);
        printf("\ndocs/operations.md, \"Building a genesis for several institutions\", walks through it.\n");
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(argv[1], subs[i].name) == 0) return subs[i].run(argc - 1, argv + 1);
    }
    return cli_die(CLI_EXIT_USAGE, "genesis: unknown subcommand '%s' (see gongzhi genesis --help)", argv[1]);
}
