/* Shared pieces of the command line: errors, number parsing, RPC calls, keygen
 * and query. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/keys.h"
#include "cli/cli.h"
#include "rpc/rpc.h"

int cli_die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("gongzhi: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return code;
}

int cli_parse_u64(const char *s, uint64_t *out) {
    *out = 0;
    if (s == NULL || *s < '0' || *s > '9') return GZ_EARG;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') return GZ_EARG;
    *out = (uint64_t)v;
    return GZ_OK;
}

int cli_parse_i64(const char *s, int64_t *out) {
    *out = 0;
    if (s == NULL || *s == '\0') return GZ_EARG;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0') return GZ_EARG;
    *out = (int64_t)v;
    return GZ_OK;
}

int cli_rpc(const char *url, const char *method, json_t *params, json_t **result, gz_msg *msg) {
    return rpc_client_call(url, method, params, result, msg);
}

void cli_print_json(const json_t *j) {
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (s != NULL) {
        puts(s);
        free(s);
    }
}

int cli_keygen(int argc, char **argv) {
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("usage: gongzhi keygen [--out FILE]\n\n"
                   "Creates a new secret key. With --out, writes it to FILE (mode 0600, never\n"
                   "overwriting) and prints the public key; without, prints both as JSON.\n");
            return CLI_EXIT_OK;
        }
        if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out = argv[++i];
        else return cli_die(CLI_EXIT_USAGE, "keygen: unexpected argument '%s'", argv[i]);
    }
    uint8_t sk[32], pk[32];
    if (core_key_generate(sk) != GZ_OK || core_key_pub(pk, sk) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "keygen: no randomness available");
    char pkhex[65];
    gz_hex_encode(pkhex, pk, 32);
    if (out != NULL) {
        gz_msg msg = {{0}};
        if (core_key_save(out, sk, &msg) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "keygen: %s", msg.text);
        printf("%s\n", pkhex);
    } else {
        char skhex[65];
        gz_hex_encode(skhex, sk, 32);
        printf("{\"pub_key\": \"%s\", \"secret_key\": \"%s\"}\n", pkhex, skhex);
        memset(skhex, 0, sizeof skhex);
    }
    memset(sk, 0, sizeof sk);
    return CLI_EXIT_OK;
}

/* name=value: a value of digits only becomes a JSON integer, `name:=JSON` is
 * taken as JSON, anything else is a string (hex ids stay strings). */
static int query_param(json_t *params, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg) return cli_die(CLI_EXIT_USAGE, "query: expected name=value, got '%s'", arg);
    bool raw = eq[-1] == ':';
    size_t name_len = (size_t)(eq - arg) - (raw ? 1 : 0);
    char name[64];
    if (name_len >= sizeof name) return cli_die(CLI_EXIT_USAGE, "query: parameter name too long");
    memcpy(name, arg, name_len);
    name[name_len] = '\0';
    const char *val = eq + 1;
    json_t *v;
    uint64_t u;
    if (raw) {
        json_error_t jerr;
        v = json_loads(val, JSON_DECODE_ANY, &jerr);
        if (v == NULL) return cli_die(CLI_EXIT_USAGE, "query: %s: invalid JSON: %s", name, jerr.text);
    } else if (strlen(val) < 19 && cli_parse_u64(val, &u) == GZ_OK) {
        v = json_integer((json_int_t)u);
    } else {
        v = json_string(val);
    }
    json_object_set_new(params, name, v);
    return CLI_EXIT_OK;
}

int cli_query(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        printf("usage: gongzhi query METHOD [name=value ...] [name:=JSON ...] [--rpc URL]\n\n"
               "Calls one JSON-RPC method and prints the result as JSON. Methods: status,\n"
               "tx, block, commit, validators, account, controller, issuer, release, proposal,\n"
               "proposals, split, anchor, work, log_consistency.\n"
               "Example: gongzhi query account account=<hex> --rpc " CLI_DEFAULT_RPC "\n");
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *rpc = CLI_DEFAULT_RPC;
    json_t *params = json_object();
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--rpc") == 0 && i + 1 < argc) { rpc = argv[++i]; continue; }
        int rc = query_param(params, argv[i]);
        if (rc != CLI_EXIT_OK) { json_decref(params); return rc; }
    }
    json_t *res = NULL;
    gz_msg msg = {{0}};
    int rc = cli_rpc(rpc, argv[1], params, &res, &msg);
    json_decref(params);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "%s: %s", argv[1], msg.text);
    cli_print_json(res);
    json_decref(res);
    return CLI_EXIT_OK;
}
