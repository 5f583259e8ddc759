/* `gongzhi tx TYPE …`: build one tx from named flags, sign it, submit it.
 *
 * Each tx type is a row of a table: its flags and where each value lands in the
 * decoded payload struct of core/codec.h. Building goes through the same codec
 * the node decodes with, so the CLI cannot produce bytes the node would not
 * read back identically. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/codec.h"
#include "core/hash.h"
#include "core/keys.h"
#include "cli/cli.h"

typedef enum {
    F_HEX32,       /* 64 hex chars */
    F_HEX32_OPT,   /* 64 hex chars, or absent (nil); aux = offset of has_ flag */
    F_U64,
    F_I64,
    F_STR,         /* aux = capacity without the NUL */
    F_BOOL,        /* true|false */
    F_U64_LIST,    /* repeated flag; aux = max, count_off = uint32_t count */
    F_STR_LIST,    /* repeated flag of label-sized strings */
    F_HEX32_LIST,  /* repeated flag */
    F_RECIPIENT,   /* repeated ACCOUNT:PPM */
    F_SHA256_FILE, /* a file whose SHA-256 fills the 32-byte field at off */
    F_HEX64,       /* 128 hex chars (a signature) */
    F_HEX_BYTES    /* hex of 1..aux bytes; count_off = uint32_t length */
} field_kind;

typedef struct field {
    const char *flag;
    field_kind kind;
    size_t off;       /* offset in gz_tx */
    size_t aux;
    size_t count_off; /* offset of the list count in gz_tx */
    bool required;
    const char *help;
} field;

typedef struct tx_form {
    const char *name;
    uint64_t type;
    const char *summary;
    field fields[10];
} tx_form;

static const tx_form FORMS[] = {
    {"account-set", GZ_TX_ACCOUNT_SET, "register or update an account (signer: registrar)", {
        {"account", F_HEX32, offsetof(gz_tx, p.account_set.account), 0, 0, true, "account id (64 hex)"},
        {"level", F_U64, offsetof(gz_tx, p.account_set.level), 0, 0, false, "platform level 0..10 (default 0)"},
        {"classes", F_U64, offsetof(gz_tx, p.account_set.classes), 0, 0, false, "class bits: 1 whale, 2 collector, 4 blue whale, 8 creator, 16 channel, 32 team, 64 PFP"},
        {"label", F_STR, offsetof(gz_tx, p.account_set.label), GZ_LABEL_MAX, 0, false, "label"},
    }},
    {"issuer-set", GZ_TX_ISSUER_SET, "register an issuer (IP) under an actual controller (signer: registrar)", {
        {"issuer", F_STR, offsetof(gz_tx, p.issuer_set.issuer_id), GZ_ID_MAX, 0, true, "issuer id"},
        {"controller", F_STR, offsetof(gz_tx, p.issuer_set.controller_id), GZ_ID_MAX, 0, true, "actual controller id (shares one credit record)"},
        {"owner", F_HEX32, offsetof(gz_tx, p.issuer_set.owner), 0, 0, true, "account that may announce releases"},
        {"name", F_STR, offsetof(gz_tx, p.issuer_set.name), GZ_NAME_MAX, 0, false, "display name"},
    }},
    {"credit-adjust", GZ_TX_CREDIT_ADJUST, "adjust a controller's credit (signer: credit_officer)", {
        {"controller", F_STR, offsetof(gz_tx, p.credit_adjust.controller_id), GZ_ID_MAX, 0, true, "controller id"},
        {"component", F_U64, offsetof(gz_tx, p.credit_adjust.component), 0, 0, false, "0 (points model) or 1 quality, 2 satisfaction, 3 compliance"},
        {"delta", F_I64, offsetof(gz_tx, p.credit_adjust.delta), 0, 0, true, "signed change, within the reason's policy bounds"},
        {"reason", F_U64, offsetof(gz_tx, p.credit_adjust.reason), 0, 0, true, "reason code (genesis policy.credit.reasons)"},
        {"evidence", F_HEX32_OPT, offsetof(gz_tx, p.credit_adjust.evidence), offsetof(gz_tx, p.credit_adjust.has_evidence), 0, false, "SHA-256 of the evidence (optional)"},
        {"memo", F_STR, offsetof(gz_tx, p.credit_adjust.memo), GZ_TEXT_MAX, 0, false, "memo"},
    }},
    {"release-announce", GZ_TX_RELEASE_ANNOUNCE, "announce a release; opens its pre-review vote (signer: the issuer's owner)", {
        {"release", F_STR, offsetof(gz_tx, p.release_announce.release_id), GZ_ID_MAX, 0, true, "release id"},
        {"issuer", F_STR, offsetof(gz_tx, p.release_announce.issuer_id), GZ_ID_MAX, 0, true, "issuer id"},
        {"title", F_STR, offsetof(gz_tx, p.release_announce.title), GZ_NAME_MAX, 0, false, "title"},
        {"supply", F_U64, offsetof(gz_tx, p.release_announce.supply), 0, 0, true, "number of items"},
        {"price", F_U64, offsetof(gz_tx, p.release_announce.price), 0, 0, true, "price in fen"},
        {"release-time", F_U64, offsetof(gz_tx, p.release_announce.release_time), 0, 0, true, "release time, ms since the epoch"},
        {"final-anchor", F_HEX32_OPT, offsetof(gz_tx, p.release_announce.final_anchor), offsetof(gz_tx, p.release_announce.has_final_anchor), 0, false, "artifact of the final work (optional)"},
    }},
    {"proposal-create", GZ_TX_PROPOSAL_CREATE, "create a proposal", {
        {"kind", F_U64, offsetof(gz_tx, p.proposal_create.kind), 0, 0, true, "1 distrust, 2 trust, 4 board, 5 dao, 6 pfp, 7 general"},
        {"subject", F_STR, offsetof(gz_tx, p.proposal_create.subject), GZ_ID_MAX, 0, true, "controller id, or <project>/<stage>, or a topic"},
        {"title", F_STR, offsetof(gz_tx, p.proposal_create.title), GZ_TEXT_MAX, 0, false, "title"},
        {"option", F_STR_LIST, offsetof(gz_tx, p.proposal_create.options), GZ_OPTIONS_MAX, offsetof(gz_tx, p.proposal_create.n_options), true, "an option (repeat 2..16 times)"},
        {"min-level", F_U64, offsetof(gz_tx, p.proposal_create.min_level), 0, 0, false, "eligible from this level (0 = no level rule)"},
        {"classes-any", F_U64, offsetof(gz_tx, p.proposal_create.classes_any), 0, 0, false, "eligible with any of these class bits"},
        {"weighting", F_U64, offsetof(gz_tx, p.proposal_create.weighting), 0, 0, false, "1 one account one vote (default), 2 by governance quota"},
        {"voting-ms", F_U64, offsetof(gz_tx, p.proposal_create.voting_ms), 0, 0, true, "voting period in ms"},
    }},
    {"proposal-cosign", GZ_TX_PROPOSAL_COSIGN, "co-sign a distrust/trust proposal", {
        {"proposal", F_HEX32, offsetof(gz_tx, p.proposal_cosign.proposal_id), 0, 0, true, "proposal id (txid of its creation)"},
    }},
    {"vote", GZ_TX_VOTE, "vote on an open proposal (again to change it)", {
        {"proposal", F_HEX32, offsetof(gz_tx, p.vote.proposal_id), 0, 0, true, "proposal id"},
        {"choice", F_U64_LIST, offsetof(gz_tx, p.vote.choices), GZ_CHOICES_MAX, offsetof(gz_tx, p.vote.n_choices), true, "option index from 0 (repeat for board approval votes)"},
    }},
    {"split-set", GZ_TX_SPLIT_SET, "define a revenue split (signer becomes owner)", {
        {"split", F_STR, offsetof(gz_tx, p.split_set.split_id), GZ_ID_MAX, 0, true, "split id"},
        {"recipient", F_RECIPIENT, offsetof(gz_tx, p.split_set.recipients), GZ_RECIPIENTS_MAX, offsetof(gz_tx, p.split_set.n_recipients), true, "ACCOUNT:SHARE_PPM (repeat; shares sum to 1000000)"},
        {"mutable", F_BOOL, offsetof(gz_tx, p.split_set.is_mutable), 0, 0, false, "true|false (default false)"},
    }},
    {"revenue", GZ_TX_REVENUE, "record a sale and split its amount (signer: treasurer)", {
        {"split", F_STR, offsetof(gz_tx, p.revenue.split_id), GZ_ID_MAX, 0, true, "split id"},
        {"amount", F_U64, offsetof(gz_tx, p.revenue.amount), 0, 0, true, "amount in fen"},
        {"sale-ref", F_STR, offsetof(gz_tx, p.revenue.sale_ref), GZ_NAME_MAX, 0, false, "sale reference"},
    }},
    {"reward-pool", GZ_TX_REWARD_POOL, "pay members who voted in every listed proposal (signer: treasurer)", {
        {"pool", F_STR, offsetof(gz_tx, p.reward_pool.pool_id), GZ_ID_MAX, 0, true, "pool id"},
        {"amount", F_U64, offsetof(gz_tx, p.reward_pool.amount), 0, 0, true, "amount in fen"},
        {"proposal", F_HEX32_LIST, offsetof(gz_tx, p.reward_pool.proposal_ids), GZ_POOL_PROPOSALS_MAX, offsetof(gz_tx, p.reward_pool.n_proposals), true, "proposal id (repeat 1..16)"},
    }},
    {"transfer", GZ_TX_TRANSFER, "transfer balance to another account", {
        {"to", F_HEX32, offsetof(gz_tx, p.transfer.to), 0, 0, true, "recipient account"},
        {"amount", F_U64, offsetof(gz_tx, p.transfer.amount), 0, 0, true, "amount in fen"},
        {"memo", F_STR, offsetof(gz_tx, p.transfer.memo), GZ_TEXT_MAX, 0, false, "memo"},
    }},
    {"withdraw", GZ_TX_WITHDRAW, "withdraw balance against an off-ledger payout", {
        {"amount", F_U64, offsetof(gz_tx, p.withdraw.amount), 0, 0, true, "amount in fen"},
        {"payout-ref", F_STR, offsetof(gz_tx, p.withdraw.payout_ref), GZ_NAME_MAX, 0, false, "payout reference"},
    }},
    {"anchor", GZ_TX_ANCHOR, "anchor the SHA-256 of a file (provenance)", {
        {"artifact", F_HEX32, offsetof(gz_tx, p.anchor.artifact), 0, 0, false, "SHA-256 of the artifact (or use --file)"},
        {"file", F_SHA256_FILE, offsetof(gz_tx, p.anchor.artifact), 0, 0, false, "file to hash into --artifact"},
        {"kind", F_U64, offsetof(gz_tx, p.anchor.kind), 0, 0, true, "1 sketch, 2 draft, 3 final, 4 license, 5 process, 6 batch-root, 7 other"},
        {"work", F_STR, offsetof(gz_tx, p.anchor.work_id), GZ_ID_MAX, 0, true, "work id"},
        {"parent", F_HEX32_OPT, offsetof(gz_tx, p.anchor.parent), offsetof(gz_tx, p.anchor.has_parent), 0, false, "artifact of the previous stage (optional)"},
        {"media-type", F_STR, offsetof(gz_tx, p.anchor.media_type), GZ_LABEL_MAX, 0, false, "media type, e.g. image/png"},
        {"note", F_STR, offsetof(gz_tx, p.anchor.note), GZ_TEXT_MAX, 0, false, "note"},
    }},
    {"evidence", GZ_TX_EVIDENCE, "prove a validator's equivocation (two signed votes, one height and round)", {
        {"validator", F_HEX32, offsetof(gz_tx, p.evidence.validator), 0, 0, true, "the equivocating validator's pub key"},
        {"vote-a", F_HEX_BYTES, offsetof(gz_tx, p.evidence.vote_a), GZ_VOTE_BYTES_MAX, offsetof(gz_tx, p.evidence.vote_a_len), true, "the first Vote's bytes (hex)"},
        {"sig-a", F_HEX64, offsetof(gz_tx, p.evidence.sig_a), 0, 0, true, "its signature (128 hex)"},
        {"vote-b", F_HEX_BYTES, offsetof(gz_tx, p.evidence.vote_b), GZ_VOTE_BYTES_MAX, offsetof(gz_tx, p.evidence.vote_b_len), true, "the second Vote's bytes (hex)"},
        {"sig-b", F_HEX64, offsetof(gz_tx, p.evidence.sig_b), 0, 0, true, "its signature (128 hex)"},
    }},
    {"gov-grant", GZ_TX_GOV_GRANT, "grant governance quota (signer: governor)", {
        {"account", F_HEX32, offsetof(gz_tx, p.gov_grant.account), 0, 0, true, "account"},
        {"amount", F_U64, offsetof(gz_tx, p.gov_grant.amount), 0, 0, true, "tokens"},
        {"category", F_U64, offsetof(gz_tx, p.gov_grant.category), 0, 0, true, "1..7 (genesis policy.dao.caps_ppm)"},
    }},
};

#define N_FORMS (sizeof FORMS / sizeof FORMS[0])

typedef cli_tx_opts tx_opts;

static const tx_form *form_find(const char *name) {
    for (size_t i = 0; i < N_FORMS; i++) {
        if (strcmp(FORMS[i].name, name) == 0) return &FORMS[i];
        /* Also accept the SPEC spelling: ACCOUNT_SET, account_set. */
        uint64_t t = core_tx_type_from_name(name);
        if (t != 0 && t == FORMS[i].type) return &FORMS[i];
    }
    return NULL;
}

static void form_help(const tx_form *f) {
    printf("usage: gongzhi tx %s [flags] --key FILE [--rpc URL] [--wait]\n\n%s\n\n", f->name,
           f->summary);
    for (const field *fl = f->fields; fl->flag != NULL; fl++) {
        printf("  --%-14s %s%s\n", fl->flag, fl->help, fl->required ? " (required)" : "");
    }
    cli_tx_common_help();
}

void cli_tx_common_help(void) {
    printf("\ncommon flags:\n"
           "  --key FILE       secret key file of the signer (required)\n"
           "  --rpc URL        node to submit to (default " CLI_DEFAULT_RPC ")\n"
           "  --nonce N        signer nonce (default: read from the node)\n"
           "  --chain-id ID    chain id (default: read from the node)\n"
           "  --wait           wait until the tx is committed and print its result\n"
           "  --timeout-ms N   how long --wait waits (default 10000)\n"
           "  --print          sign and print the tx hex and txid without submitting\n");
}

static void usage_all(void) {
    printf("usage: gongzhi tx TYPE [flags] --key FILE [--rpc URL] [--wait]\n\ntypes:\n");
    for (size_t i = 0; i < N_FORMS; i++) printf("  %-18s %s\n", FORMS[i].name, FORMS[i].summary);
    printf("  %-18s %s\n", "validator-update", "add, re-weigh or remove a validator with approvals of the current set");
    printf("\n`gongzhi tx TYPE --help` lists a type's flags.\n");
}


static int list_push(gz_tx *tx, const field *fl, uint32_t *count) {
    *count = *(uint32_t *)((uint8_t *)tx + fl->count_off);
    if (*count >= fl->aux) return cli_die(CLI_EXIT_USAGE, "--%s: at most %zu values", fl->flag, fl->aux);
    *(uint32_t *)((uint8_t *)tx + fl->count_off) = *count + 1;
    return CLI_EXIT_OK;
}

static int set_recipient(gz_tx *tx, const field *fl, const char *val, uint32_t i) {
    gz_split_recipient *r = (gz_split_recipient *)((uint8_t *)tx + fl->off) + i;
    const char *colon = strchr(val, ':');
    char hex[65];
    if (colon == NULL || colon - val != 64)
        return cli_die(CLI_EXIT_USAGE, "--%s: expected ACCOUNT:SHARE_PPM, got '%s'", fl->flag, val);
    memcpy(hex, val, 64);
    hex[64] = '\0';
    if (gz_hex_decode(r->account, 32, hex) != GZ_OK)
        return cli_die(CLI_EXIT_USAGE, "--%s: account is not 64 hex chars", fl->flag);
    if (cli_parse_u64(colon + 1, &r->share_ppm) != GZ_OK)
        return cli_die(CLI_EXIT_USAGE, "--%s: share is not an unsigned integer", fl->flag);
    return CLI_EXIT_OK;
}

static int set_hex_bytes(gz_tx *tx, const field *fl, const char *val) {
    size_t len = strlen(val);
    if (len == 0 || len % 2 != 0 || len / 2 > fl->aux)
        return cli_die(CLI_EXIT_USAGE, "--%s: expected hex of 1..%zu bytes", fl->flag, fl->aux);
    if (gz_hex_decode((uint8_t *)tx + fl->off, len / 2, val) != GZ_OK)
        return cli_die(CLI_EXIT_USAGE, "--%s: not hex", fl->flag);
    *(uint32_t *)((uint8_t *)tx + fl->count_off) = (uint32_t)(len / 2);
    return CLI_EXIT_OK;
}

/* Stores one flag value into the payload; returns an exit code. */
static int field_set(gz_tx *tx, const field *fl, const char *val) {
    uint8_t *at = (uint8_t *)tx + fl->off;
    uint32_t i;
    int rc;
    switch (fl->kind) {
    case F_HEX32_OPT:
        *((bool *)((uint8_t *)tx + fl->aux)) = true;
        /* fall through */
    case F_HEX32:
        if (gz_hex_decode(at, 32, val) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "--%s: expected 64 hex chars", fl->flag);
        return CLI_EXIT_OK;
    case F_U64:
        if (cli_parse_u64(val, (uint64_t *)at) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "--%s: expected an unsigned integer", fl->flag);
        return CLI_EXIT_OK;
    case F_I64:
        if (cli_parse_i64(val, (int64_t *)at) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "--%s: expected an integer", fl->flag);
        return CLI_EXIT_OK;
    case F_STR:
        if (strlen(val) > fl->aux)
            return cli_die(CLI_EXIT_USAGE, "--%s: longer than %zu bytes", fl->flag, fl->aux);
        strcpy((char *)at, val);
        return CLI_EXIT_OK;
    case F_BOOL:
        if (strcmp(val, "true") != 0 && strcmp(val, "false") != 0)
            return cli_die(CLI_EXIT_USAGE, "--%s: expected true or false", fl->flag);
        *(bool *)at = strcmp(val, "true") == 0;
        return CLI_EXIT_OK;
    case F_U64_LIST:
        if ((rc = list_push(tx, fl, &i)) != CLI_EXIT_OK) return rc;
        if (cli_parse_u64(val, (uint64_t *)at + i) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "--%s: expected an unsigned integer", fl->flag);
        return CLI_EXIT_OK;
    case F_STR_LIST:
        if ((rc = list_push(tx, fl, &i)) != CLI_EXIT_OK) return rc;
        if (strlen(val) > GZ_LABEL_MAX)
            return cli_die(CLI_EXIT_USAGE, "--%s: longer than %d bytes", fl->flag, GZ_LABEL_MAX);
        strcpy((char *)at + i * (GZ_LABEL_MAX + 1), val);
        return CLI_EXIT_OK;
    case F_HEX32_LIST:
        if ((rc = list_push(tx, fl, &i)) != CLI_EXIT_OK) return rc;
        if (gz_hex_decode(at + 32 * i, 32, val) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "--%s: expected 64 hex chars", fl->flag);
        return CLI_EXIT_OK;
    case F_RECIPIENT:
        if ((rc = list_push(tx, fl, &i)) != CLI_EXIT_OK) return rc;
        return set_recipient(tx, fl, val, i);
    case F_SHA256_FILE:
        if (core_sha256_file(at, val) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "--%s: cannot read '%s'", fl->flag, val);
        return CLI_EXIT_OK;
    case F_HEX64:
        if (gz_hex_decode(at, 64, val) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "--%s: expected 128 hex chars", fl->flag);
        return CLI_EXIT_OK;
    case F_HEX_BYTES:
        return set_hex_bytes(tx, fl, val);
    }
    return CLI_EXIT_USAGE;
}

int cli_tx_common_set(cli_tx_opts *o, const char *flag, const char *val) {
    if (strcmp(flag, "key") == 0) o->key_path = val;
    else if (strcmp(flag, "rpc") == 0) o->rpc = val;
    else if (strcmp(flag, "chain-id") == 0) o->chain_id = val;
    else if (strcmp(flag, "nonce") == 0) {
        if (cli_parse_u64(val, &o->nonce) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "--nonce: expected an unsigned integer");
        o->have_nonce = true;
    } else if (strcmp(flag, "timeout-ms") == 0) {
        if (cli_parse_u64(val, &o->timeout_ms) != GZ_OK)
            return cli_die(CLI_EXIT_USAGE, "--timeout-ms: expected an unsigned integer");
    } else {
        return -1;
    }
    return CLI_EXIT_OK;
}

/* Parses argv (after TYPE) into tx and o. Returns an exit code; -1 = help shown. */
static int parse_flags(const tx_form *f, int argc, char **argv, gz_tx *tx, tx_opts *o) {
    bool seen[10] = {false};
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { form_help(f); return -1; }
        if (strcmp(a, "--wait") == 0) { o->wait = true; continue; }
        if (strcmp(a, "--print") == 0) { o->print_only = true; continue; }
        if (strncmp(a, "--", 2) != 0) return cli_die(CLI_EXIT_USAGE, "unexpected argument '%s'", a);
        const char *flag = a + 2;
        char name[64];
        const char *val = strchr(flag, '=');
        if (val != NULL) {
            snprintf(name, sizeof name, "%.*s", (int)(val - flag), flag);
            val++;
        } else {
            snprintf(name, sizeof name, "%s", flag);
            if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "--%s: missing value", name);
            val = argv[++i];
        }
        int rc = cli_tx_common_set(o, name, val);
        if (rc >= 0) { if (rc != CLI_EXIT_OK) return rc; continue; }
        const field *fl = f->fields;
        while (fl->flag != NULL && strcmp(fl->flag, name) != 0) fl++;
        if (fl->flag == NULL) return cli_die(CLI_EXIT_USAGE, "tx %s: unknown flag --%s (see --help)", f->name, name);
        if ((rc = field_set(tx, fl, val)) != CLI_EXIT_OK) return rc;
        seen[fl - f->fields] = true;
    }
    for (const field *fl = f->fields; fl->flag != NULL; fl++) {
        /* --file stands in for --artifact. */
        bool alt = fl->kind == F_HEX32 && fl[1].flag != NULL && fl[1].kind == F_SHA256_FILE &&
                   seen[fl + 1 - f->fields];
        if (fl->required && !seen[fl - f->fields] && !alt)
            return cli_die(CLI_EXIT_USAGE, "tx %s: --%s is required", f->name, fl->flag);
    }
    if (o->key_path == NULL) return cli_die(CLI_EXIT_USAGE, "tx %s: --key is required", f->name);
    return CLI_EXIT_OK;
}

/* Fills chain id and nonce from the node unless given. */
static int fill_from_node(gz_tx *tx, const tx_opts *o) {
    gz_msg msg = {{0}};
    json_t *res = NULL;
    if (o->chain_id != NULL) {
        if (strlen(o->chain_id) > GZ_CHAIN_ID_MAX) return cli_die(CLI_EXIT_USAGE, "--chain-id: too long");
        strcpy(tx->chain_id, o->chain_id);
    } else {
        json_t *params = json_object();
        int rc = cli_rpc(o->rpc, "status", params, &res, &msg);
        json_decref(params);
        if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "status: %s", msg.text);
        const char *cid = json_string_value(json_object_get(res, "chain_id"));
        if (cid == NULL || strlen(cid) > GZ_CHAIN_ID_MAX) { json_decref(res); return cli_die(CLI_EXIT_FAIL, "status: no chain_id"); }
        strcpy(tx->chain_id, cid);
        json_decref(res);
    }
    if (o->have_nonce) { tx->nonce = o->nonce; return CLI_EXIT_OK; }
    char hex[65];
    gz_hex_encode(hex, tx->signer, 32);
    json_t *params = json_pack("{s:s}", "account", hex);
    int rc = cli_rpc(o->rpc, "account", params, &res, &msg);
    json_decref(params);
    if (rc != GZ_OK) {
        /* An unregistered signer starts at nonce 0 (SPEC §2). */
        tx->nonce = 0;
        return CLI_EXIT_OK;
    }
    json_t *n = json_object_get(res, "nonce");
    tx->nonce = json_is_integer(n) ? (uint64_t)json_integer_value(n) : 0;
    json_decref(res);
    return CLI_EXIT_OK;
}

static int submit(const gz_buf *bytes, const gz_tx *tx, const tx_opts *o) {
    char *hex = malloc(bytes->len * 2 + 1);
    if (hex == NULL) return cli_die(CLI_EXIT_FAIL, "out of memory");
    gz_hex_encode(hex, bytes->data, bytes->len);
    char txid[65];
    gz_hex_encode(txid, tx->txid, 32);
    if (o->print_only) {
        json_t *out = json_pack("{s:s,s:s}", "txid", txid, "tx", hex);
        cli_print_json(out);
        json_decref(out);
        free(hex);
        return CLI_EXIT_OK;
    }
    json_t *params = o->wait ? json_pack("{s:s,s:I}", "tx", hex, "timeout_ms", (json_int_t)o->timeout_ms)
                             : json_pack("{s:s}", "tx", hex);
    free(hex);
    json_t *res = NULL;
    gz_msg msg = {{0}};
    int rc = cli_rpc(o->rpc, o->wait ? "submit_tx_commit" : "submit_tx", params, &res, &msg);
    json_decref(params);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "submit: %s", msg.text);
    cli_print_json(res);
    json_t *code = json_object_get(res, "code");
    int exit_code = json_is_integer(code) && json_integer_value(code) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
    json_decref(res);
    return exit_code;
}

int cli_tx(int argc, char **argv) {
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage_all();
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    /* Its approvals come from files, not flags: it has its own parser. */
    if (core_tx_type_from_name(argv[1]) == GZ_TX_VALIDATOR_UPDATE) return cli_tx_validator_update(argc - 1, argv + 1);
    const tx_form *f = form_find(argv[1]);
    if (f == NULL) return cli_die(CLI_EXIT_USAGE, "tx: unknown type '%s' (see gongzhi tx --help)", argv[1]);
    static gz_tx tx; /* large (a few KiB): kept off the stack */
    memset(&tx, 0, sizeof tx);
    tx.type = f->type;
    if (f->type == GZ_TX_PROPOSAL_CREATE) tx.p.proposal_create.weighting = 1;
    tx_opts o = {.rpc = CLI_DEFAULT_RPC, .timeout_ms = 10000};
    int rc = parse_flags(f, argc - 2, argv + 2, &tx, &o);
    if (rc != CLI_EXIT_OK) return rc < 0 ? CLI_EXIT_OK : rc;
    return cli_tx_send(&tx, &o);
}

int cli_tx_send(gz_tx *tx, const cli_tx_opts *o) {
    uint8_t sk[32];
    gz_msg msg = {{0}};
    if (core_key_load(sk, o->key_path, &msg) != GZ_OK) return cli_die(CLI_EXIT_USAGE, "--key: %s", msg.text);
    if (core_key_pub(tx->signer, sk) != GZ_OK) return cli_die(CLI_EXIT_USAGE, "--key: not a valid secret key");
    if (o->print_only && (o->chain_id == NULL || !o->have_nonce))
        return cli_die(CLI_EXIT_USAGE, "--print needs --chain-id and --nonce (it does not contact a node)");
    int rc = fill_from_node(tx, o);
    if (rc != CLI_EXIT_OK) return rc;
    gz_buf bytes;
    gz_buf_init(&bytes);
    rc = core_tx_sign_encode(tx, sk, &bytes);
    memset(sk, 0, sizeof sk);
    if (rc != GZ_OK) {
        gz_buf_free(&bytes);
        return cli_die(CLI_EXIT_FAIL, "cannot encode the tx (%s)", gz_strerror(rc));
    }
    rc = submit(&bytes, tx, o);
    gz_buf_free(&bytes);
    return rc;
}
