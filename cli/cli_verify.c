/* The auditor's commands that need no replay: `anchor-proof` (fetch a SPEC §5
 * bundle), `verify` (check a bundle offline), `verify-tx` and `verify-log`
 * (fetch, save and check a tx proof or a log consistency proof). Fetching and
 * checking are separate: a fetched proof goes through the same JSON reader
 * and verifier as a file given with --in, so what is checked online is what
 * an auditor can re-check offline later. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/hash.h"
#include "cli/cli.h"
#include "cli/cli_verify.h"

/* ---- shared helpers -------------------------------------------------------------- */

int cli_verify_load_genesis(const char *cmd, const char *path, gz_genesis *g) {
    gz_msg msg = {{0}};
    memset(g, 0, sizeof *g);
    if (ledger_genesis_load(g, path, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "%s: --genesis %s: %s", cmd, path, msg.text);
    return CLI_EXIT_OK;
}

int cli_verify_read_json(const char *cmd, const char *path, json_t **out) {
    *out = NULL;
    struct stat st;
    if (stat(path, &st) != 0) return cli_die(CLI_EXIT_FAIL, "%s: %s: %s", cmd, path, strerror(errno));
    if (st.st_size > (off_t)GZ_PROOF_FILE_BYTES_MAX)
        return cli_die(CLI_EXIT_FAIL, "%s: %s: larger than %u bytes", cmd, path, GZ_PROOF_FILE_BYTES_MAX);
    json_error_t jerr;
    *out = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (*out == NULL) return cli_die(CLI_EXIT_FAIL, "%s: %s: line %d: %s", cmd, path, jerr.line, jerr.text);
    return CLI_EXIT_OK;
}

int cli_verify_write_json(const char *cmd, const char *path, const json_t *j) {
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (text == NULL) return cli_die(CLI_EXIT_FAIL, "%s: out of memory", cmd);
    if (strcmp(path, "-") == 0) {
        puts(text);
        free(text);
        return CLI_EXIT_OK;
    }
    /* Written beside the target and renamed, so a reader never sees half a file. */
    size_t n = strlen(path) + 8;
    char *tmp = malloc(n);
    FILE *f = tmp != NULL ? (snprintf(tmp, n, "%s.tmp", path), fopen(tmp, "w")) : NULL;
    bool ok = f != NULL && fputs(text, f) >= 0 && fputc('\n', f) != EOF;
    if (f != NULL && fclose(f) != 0) ok = false;
    if (ok && rename(tmp, path) != 0) ok = false;
    int err = errno;
    if (!ok && tmp != NULL) unlink(tmp);
    free(tmp);
    free(text);
    if (!ok) return cli_die(CLI_EXIT_FAIL, "%s: cannot write %s: %s", cmd, path, strerror(err));
    return CLI_EXIT_OK;
}

int cli_verify_finish(const char *what, const verify_report *r) {
    verify_report_print(r, stdout);
    if (verify_report_passed(r)) {
        printf("%s: all %zu checks hold\n", what, r->n);
        return CLI_EXIT_OK;
    }
    printf("%s: NOT verified, %zu of %zu checks failed\n", what, r->n_failed, r->n);
    return CLI_EXIT_FAIL;
}

static bool is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

/* Takes the value of flag name at argv[*i] into *out. Returns false (after a
 * usage message) when the value is missing. */
static bool flag_value(int argc, char **argv, int *i, const char *cmd, const char **out) {
    if (*i + 1 >= argc) {
        cli_die(CLI_EXIT_USAGE, "%s: %s needs a value", cmd, argv[*i]);
        return false;
    }
    *out = argv[++*i];
    return true;
}


/* One RPC call; prints the failure. */
static int call(const char *cmd, const char *rpc, const char *method, json_t *params, json_t **res) {
    gz_msg msg = {{0}};
    int rc = cli_rpc(rpc, method, params, res, &msg);
    json_decref(params);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "%s: %s: %s", cmd, method, msg.text);
    return CLI_EXIT_OK;
}

/* ---- verify ------------------------------------------------------------------------ */

static void verify_usage(void) {
    printf("usage: gongzhi verify --genesis FILE --bundle FILE [--file PATH | --artifact HEX]\n\n"
           "Checks an anchor proof bundle (SPEC §5) offline against the validators of a\n"
           "trusted genesis.json (and the set changes of its valset_chain, each signed by\n"
           "the set before it), and with --file that the file hashes to the artifact.\n"
           "Prints each check on a line (\"ok   ...\" or \"FAIL <check>: <why>\"); exits 0\n"
           "when all hold, 1 when one fails or a file is malformed, 2 on bad usage.\n"
           "docs/auditing.md explains every check.\n");
}

typedef struct verify_args {
    const char *genesis, *bundle, *file, *artifact;
} verify_args;

static int verify_parse(int argc, char **argv, verify_args *a) {
    for (int i = 1; i < argc; i++) {
        const char **slot = strcmp(argv[i], "--genesis") == 0    ? &a->genesis
                            : strcmp(argv[i], "--bundle") == 0   ? &a->bundle
                            : strcmp(argv[i], "--file") == 0     ? &a->file
                            : strcmp(argv[i], "--artifact") == 0 ? &a->artifact
                                                                 : NULL;
        if (is_help(argv[i])) return verify_usage(), -1;
        if (slot == NULL) return cli_die(CLI_EXIT_USAGE, "verify: unexpected argument '%s' (see --help)", argv[i]);
        if (!flag_value(argc, argv, &i, "verify", slot)) return CLI_EXIT_USAGE;
    }
    if (a->genesis == NULL || a->bundle == NULL) return cli_die(CLI_EXIT_USAGE, "verify: --genesis and --bundle are required");
    if (a->file != NULL && a->artifact != NULL) return cli_die(CLI_EXIT_USAGE, "verify: give --file or --artifact, not both");
    return CLI_EXIT_OK;
}

int cli_verify(int argc, char **argv) {
    verify_args a = {0};
    int rc = verify_parse(argc, argv, &a);
    if (rc != CLI_EXIT_OK) return rc < 0 ? CLI_EXIT_OK : rc;
    uint8_t sha[32];
    if (a.artifact != NULL && gz_hex_decode(sha, 32, a.artifact) != GZ_OK)
        return cli_die(CLI_EXIT_USAGE, "verify: --artifact: expected 64 hex chars");
    if (a.file != NULL && core_sha256_file(sha, a.file) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "verify: --file %s: %s", a.file, strerror(errno));
    static gz_genesis g;
    static verify_anchor_bundle b;
    if ((rc = cli_verify_load_genesis("verify", a.genesis, &g)) != CLI_EXIT_OK) return rc;
    json_t *j = NULL;
    rc = cli_verify_read_json("verify", a.bundle, &j);
    gz_msg msg = {{0}};
    verify_anchor_bundle_init(&b);
    if (rc == CLI_EXIT_OK && verify_anchor_bundle_from_json(&b, j, &msg) != GZ_OK) {
        printf("FAIL bundle: %s\n", msg.text);
        rc = CLI_EXIT_FAIL;
    }
    json_decref(j);
    if (rc == CLI_EXIT_OK) {
        verify_report r;
        verify_report_init(&r);
        verify_anchor(&r, &g, &b, a.file != NULL || a.artifact != NULL ? sha : NULL);
        rc = cli_verify_finish("anchor proof", &r);
        verify_report_free(&r);
    }
    verify_anchor_bundle_free(&b);
    ledger_genesis_free(&g);
    return rc;
}

/* ---- anchor-proof -------------------------------------------------------------------- */

static void anchor_proof_usage(void) {
    printf("usage: gongzhi anchor-proof (ARTIFACT | --file PATH) [--rpc URL] [--out FILE]\n\n"
           "Fetches the anchor proof bundle (SPEC §5) of an artifact (the SHA-256 of a\n"
           "file, 64 hex chars, or --file to hash one) from a node and writes it to FILE\n"
           "(default: stdout). Check it offline with `gongzhi verify`.\n");
}

int cli_anchor_proof(int argc, char **argv) {
    const char *rpc = CLI_DEFAULT_RPC, *out = "-", *file = NULL, *artifact = NULL;
    for (int i = 1; i < argc; i++) {
        if (is_help(argv[i])) return anchor_proof_usage(), CLI_EXIT_OK;
        const char **slot = strcmp(argv[i], "--rpc") == 0 ? &rpc : strcmp(argv[i], "--out") == 0 ? &out
                            : strcmp(argv[i], "--file") == 0 ? &file : NULL;
        if (slot != NULL && !flag_value(argc, argv, &i, "anchor-proof", slot)) return CLI_EXIT_USAGE;
        if (slot != NULL) continue;
        if (argv[i][0] == '-' || artifact != NULL)
            return cli_die(CLI_EXIT_USAGE, "anchor-proof: unexpected argument '%s' (see --help)", argv[i]);
        artifact = argv[i];
    }
    if ((artifact == NULL) == (file == NULL)) return cli_die(CLI_EXIT_USAGE, "anchor-proof: give ARTIFACT or --file");
    uint8_t sha[32];
    if (artifact != NULL && gz_hex_decode(sha, 32, artifact) != GZ_OK)
        return cli_die(CLI_EXIT_USAGE, "anchor-proof: ARTIFACT: expected 64 hex chars");
    if (file != NULL && core_sha256_file(sha, file) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "anchor-proof: --file %s: %s", file, strerror(errno));
    char hex[65];
    gz_hex_encode(hex, sha, 32);
    json_t *res = NULL;
    int rc = call("anchor-proof", rpc, "anchor", json_pack("{s:s}", "artifact", hex), &res);
    if (rc != CLI_EXIT_OK) return rc;
    static verify_anchor_bundle b;
    verify_anchor_bundle_init(&b);
    gz_msg msg = {{0}};
    json_t *clean = NULL;
    /* Read back and rewritten: the file holds exactly the SPEC §5 keys, in order. */
    if (verify_anchor_bundle_from_json(&b, json_object_get(res, "bundle"), &msg) != GZ_OK) {
        rc = cli_die(CLI_EXIT_FAIL, "anchor-proof: the node's bundle is malformed: %s", msg.text);
    } else if (verify_anchor_bundle_to_json(&b, &clean) != GZ_OK) {
        rc = cli_die(CLI_EXIT_FAIL, "anchor-proof: out of memory");
    } else {
        rc = cli_verify_write_json("anchor-proof", out, clean);
    }
    if (rc == CLI_EXIT_OK && strcmp(out, "-") != 0)
        printf("wrote %s: artifact %s, height %llu, leaf %llu of %llu\n", out, hex, (unsigned long long)b.block.height,
               (unsigned long long)b.proof.leaf_index, (unsigned long long)b.proof.tree_size);
    json_decref(clean);
    json_decref(res);
    verify_anchor_bundle_free(&b);
    return rc;
}

/* ---- fetch-or-read, shared by verify-tx and verify-log ------------------------------ */

typedef struct proof_args {
    const char *genesis, *rpc, *in, *out;
    const char *txid;           /* verify-tx */
    const char *first, *second; /* verify-log */
    uint64_t first_height, second_height;
} proof_args;

/* Adds header, commit and (with_trust) validators and valset_chain of the
 * `commit` RPC at height to obj. The chain is left out when empty or absent
 * (a node from before set changes), as a bundle leaves it out. */
static int fetch_signed_header(const char *cmd, const char *rpc, uint64_t height, json_t *obj, bool with_trust) {
    json_t *res = NULL;
    int rc = call(cmd, rpc, "commit", json_pack("{s:I}", "height", (json_int_t)height), &res);
    if (rc != CLI_EXIT_OK) return rc;
    json_object_set_new(obj, "height", json_integer((json_int_t)height));
    json_object_set(obj, "header", json_object_get(res, "header"));
    json_object_set(obj, "commit", json_object_get(res, "commit"));
    if (with_trust) json_object_set(obj, "validators", json_object_get(res, "validators"));
    json_t *chain = json_object_get(res, "valset_chain");
    if (with_trust && chain != NULL && !(json_is_array(chain) && json_array_size(chain) == 0))
        json_object_set(obj, "valset_chain", chain);
    json_decref(res);
    return CLI_EXIT_OK;
}

/* Reads --in, or writes the fetched proof to --out; then j is what is checked. */
static int proof_source(const char *cmd, const proof_args *a, json_t **j, int (*fetch)(const proof_args *, json_t **)) {
    int rc = a->in != NULL ? cli_verify_read_json(cmd, a->in, j) : fetch(a, j);
    if (rc == CLI_EXIT_OK && a->in == NULL && a->out != NULL) rc = cli_verify_write_json(cmd, a->out, *j);
    return rc;
}

static int proof_parse(const char *cmd, int argc, char **argv, proof_args *a, int first_arg, void (*usage)(void)) {
    for (int i = first_arg; i < argc; i++) {
        if (is_help(argv[i])) return usage(), -1;
        const char *f = argv[i];
        const char **slot = strcmp(f, "--genesis") == 0 ? &a->genesis : strcmp(f, "--rpc") == 0 ? &a->rpc
                            : strcmp(f, "--in") == 0    ? &a->in      : strcmp(f, "--out") == 0 ? &a->out
                            : strcmp(f, "--first") == 0 ? &a->first   : strcmp(f, "--second") == 0 ? &a->second
                                                                                                   : NULL;
        if (slot == &a->first || slot == &a->second) slot = strcmp(cmd, "verify-log") == 0 ? slot : NULL;
        if (slot != NULL && !flag_value(argc, argv, &i, cmd, slot)) return CLI_EXIT_USAGE;
        if (slot != NULL) continue;
        if (f[0] == '-' || a->txid != NULL || strcmp(cmd, "verify-tx") != 0)
            return cli_die(CLI_EXIT_USAGE, "%s: unexpected argument '%s' (see --help)", cmd, f);
        a->txid = f;
    }
    if (a->genesis == NULL) return cli_die(CLI_EXIT_USAGE, "%s: --genesis is required", cmd);
    if (a->in != NULL && (a->out != NULL || a->txid != NULL || a->first != NULL || a->second != NULL))
        return cli_die(CLI_EXIT_USAGE, "%s: --in reads a saved proof; it takes no TXID, heights or --out", cmd);
    if (a->rpc == NULL) a->rpc = CLI_DEFAULT_RPC;
    return CLI_EXIT_OK;
}

/* ---- verify-tx ----------------------------------------------------------------------- */

static void verify_tx_usage(void) {
    printf("usage: gongzhi verify-tx --genesis FILE TXID [--rpc URL] [--out FILE]\n"
           "       gongzhi verify-tx --genesis FILE --in FILE\n\n"
           "Checks that a tx is in its block's tx_root and that the block was committed by\n"
           "more than 2/3 of the power of the validators at its height: genesis', or those\n"
           "reached from genesis by the proof's valset_chain. With TXID it fetches `tx` and\n"
           "`commit` (and saves the proof with --out); with --in it reads a saved proof\n"
           "(format in docs/auditing.md) and needs no node. Exit 0 valid, 1 not, 2 usage.\n");
}

static int fetch_tx_proof(const proof_args *a, json_t **out) {
    uint8_t id[32];
    *out = NULL;
    if (gz_hex_decode(id, 32, a->txid) != GZ_OK) return cli_die(CLI_EXIT_USAGE, "verify-tx: TXID: expected 64 hex chars");
    json_t *res = NULL;
    int rc = call("verify-tx", a->rpc, "tx", json_pack("{s:s}", "txid", a->txid), &res);
    if (rc != CLI_EXIT_OK) return rc;
    json_t *h = json_object_get(res, "height");
    if (!json_is_integer(h)) {
        json_decref(res);
        return cli_die(CLI_EXIT_FAIL, "verify-tx: the node's tx result has no height");
    }
    json_t *j = json_object();
    json_object_set_new(j, "txid", json_string(a->txid));
    json_object_set(j, "tx", json_object_get(res, "tx"));
    json_object_set(j, "proof", json_object_get(res, "proof"));
    rc = fetch_signed_header("verify-tx", a->rpc, (uint64_t)json_integer_value(h), j, true);
    json_decref(res);
    if (rc != CLI_EXIT_OK) json_decref(j);
    else *out = j;
    return rc;
}

int cli_verify_tx(int argc, char **argv) {
    proof_args a = {0};
    int rc = proof_parse("verify-tx", argc, argv, &a, 1, verify_tx_usage);
    if (rc != CLI_EXIT_OK) return rc < 0 ? CLI_EXIT_OK : rc;
    if (a.in == NULL && a.txid == NULL) return cli_die(CLI_EXIT_USAGE, "verify-tx: give TXID or --in FILE");
    static gz_genesis g;
    if ((rc = cli_verify_load_genesis("verify-tx", a.genesis, &g)) != CLI_EXIT_OK) return rc;
    json_t *j = NULL;
    rc = proof_source("verify-tx", &a, &j, fetch_tx_proof);
    static verify_tx_proof t;
    verify_tx_proof_init(&t);
    gz_msg msg = {{0}};
    if (rc == CLI_EXIT_OK && verify_tx_proof_from_json(&t, j, &msg) != GZ_OK) {
        printf("FAIL tx proof: %s\n", msg.text);
        rc = CLI_EXIT_FAIL;
    }
    json_decref(j);
    if (rc == CLI_EXIT_OK) {
        verify_report r;
        verify_report_init(&r);
        verify_tx(&r, &g, &t);
        rc = cli_verify_finish("tx proof", &r);
        verify_report_free(&r);
    }
    verify_tx_proof_free(&t);
    ledger_genesis_free(&g);
    return rc;
}

/* ---- verify-log ----------------------------------------------------------------------- */

static void verify_log_usage(void) {
    printf("usage: gongzhi verify-log --genesis FILE --first H1 --second H2 [--rpc URL] [--out FILE]\n"
           "       gongzhi verify-log --genesis FILE --in FILE\n\n"
           "Checks that the provenance log at height H2 extends the log at height H1\n"
           "(nothing anchored was rewritten or dropped): both headers' commits against the\n"
           "validators at their heights (genesis', changed only by the valset_chain), then\n"
           "the RFC 9162 consistency proof between their log roots. H1 <= H2.\n"
           "Exit 0 when the later log extends the earlier, 1 if not.\n");
}

/* The log sizes of both headers, to ask the node for the proof between them. */
static int log_sizes(const json_t *j, uint64_t *s1, uint64_t *s2) {
    const char *names[2] = {"first", "second"};
    uint64_t *out[2] = {s1, s2};
    for (int i = 0; i < 2; i++) {
        gz_buf b = {0};
        gz_header h;
        const char *hex = json_string_value(json_object_get(json_object_get(j, names[i]), "header"));
        int rc = hex != NULL ? gz_hex_decode_buf(&b, hex, strlen(hex)) : GZ_EARG;
        if (rc == GZ_OK) rc = core_header_decode(&h, b.data, b.len, NULL);
        gz_buf_free(&b);
        if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "verify-log: the node's %s header does not decode", names[i]);
        *out[i] = h.log_size;
    }
    return CLI_EXIT_OK;
}

static int fetch_log_proof(const proof_args *a, json_t **out) {
    uint64_t s1 = 0, s2 = 0;
    *out = NULL;
    json_t *j = json_pack("{s:{}, s:{}}", "first", "second");
    int rc = fetch_signed_header("verify-log", a->rpc, a->first_height, json_object_get(j, "first"), false);
    if (rc == CLI_EXIT_OK) rc = fetch_signed_header("verify-log", a->rpc, a->second_height, json_object_get(j, "second"), true);
    if (rc == CLI_EXIT_OK) {
        /* The second height's set and the changes below it serve both ends. */
        json_t *second = json_object_get(j, "second");
        json_object_set(j, "validators", json_object_get(second, "validators"));
        json_object_del(second, "validators");
        if (json_object_get(second, "valset_chain") != NULL) {
            json_object_set(j, "valset_chain", json_object_get(second, "valset_chain"));
            json_object_del(second, "valset_chain");
        }
        rc = log_sizes(j, &s1, &s2);
    }
    json_t *res = NULL;
    /* An empty first log is a prefix of every log: there is no proof to ask for. */
    if (rc == CLI_EXIT_OK && s1 >= 1 && s1 <= s2) {
        rc = call("verify-log", a->rpc, "log_consistency", json_pack("{s:I, s:I}", "first", (json_int_t)s1, "second", (json_int_t)s2), &res);
    }
    if (rc == CLI_EXIT_OK) {
        json_t *p = res != NULL ? json_object_get(res, "proof") : NULL;
        json_object_set_new(j, "proof", p != NULL ? json_incref(p) : json_array());
    }
    json_decref(res);
    if (rc != CLI_EXIT_OK) json_decref(j);
    else *out = j;
    return rc;
}

int cli_verify_log(int argc, char **argv) {
    proof_args a = {0};
    int rc = proof_parse("verify-log", argc, argv, &a, 1, verify_log_usage);
    if (rc != CLI_EXIT_OK) return rc < 0 ? CLI_EXIT_OK : rc;
    if (a.in == NULL) {
        if (cli_parse_u64(a.first, &a.first_height) != GZ_OK || cli_parse_u64(a.second, &a.second_height) != GZ_OK ||
            a.first_height == 0)
            return cli_die(CLI_EXIT_USAGE, "verify-log: --first and --second must be heights >= 1 (or give --in)");
        if (a.first_height > a.second_height)
            return cli_die(CLI_EXIT_USAGE, "verify-log: --first %llu is above --second %llu",
                           (unsigned long long)a.first_height, (unsigned long long)a.second_height);
    }
    static gz_genesis g;
    if ((rc = cli_verify_load_genesis("verify-log", a.genesis, &g)) != CLI_EXIT_OK) return rc;
    json_t *j = NULL;
    rc = proof_source("verify-log", &a, &j, fetch_log_proof);
    static verify_log_proof l;
    verify_log_proof_init(&l);
    gz_msg msg = {{0}};
    if (rc == CLI_EXIT_OK && verify_log_proof_from_json(&l, j, &msg) != GZ_OK) {
        printf("FAIL log proof: %s\n", msg.text);
        rc = CLI_EXIT_FAIL;
    }
    json_decref(j);
    if (rc == CLI_EXIT_OK) {
        verify_report r;
        verify_report_init(&r);
        verify_log(&r, &g, &l);
        rc = cli_verify_finish("log consistency", &r);
        verify_report_free(&r);
    }
    verify_log_proof_free(&l);
    ledger_genesis_free(&g);
    return rc;
}
