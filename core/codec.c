/* Canonical codec of the signed structures (SPEC §2–§5). Every structure is
 * described once as a table of fields; one generic encoder and one generic
 * decoder walk the tables, so the two directions cannot drift apart and a
 * decoded value always re-encodes to the bytes it came from. */
#include "core/codec.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/hash.h"
#include "core/keys.h"
#include "core/mp.h"

typedef enum field_kind {
    F_VERSION,      /* a constant uint (min, 1 when 0), not stored */
    F_U64,          /* uint64_t */
    F_I64,          /* int64_t (SPEC "int") */
    F_BOOL,         /* bool */
    F_STR,          /* char[max + 1] */
    F_BIN32,        /* uint8_t[32] */
    F_BIN32_OR_NIL, /* uint8_t[32] with bool at aux */
    F_BIN64,        /* uint8_t[64] */
    F_BIN_VAR,      /* uint8_t[max] with uint32_t length at aux; kinds above are scalars */
    F_STR_ARRAY,    /* char[count][elem_max + 1], uint32_t count at aux */
    F_U64_ARRAY,    /* uint64_t[count], count at aux */
    F_BIN32_ARRAY,  /* uint8_t[count][32], count at aux */
    F_RECIPIENTS,   /* gz_split_recipient[count], count at aux */
    F_COMMIT_SIGS,  /* gz_commit_sig[count], count at aux */
    F_APPROVALS     /* gz_p_validator_update's encoded approvals (count at aux) */
} field_kind;

typedef struct field {
    const char *name;
    size_t off;        /* offset of the value in its struct */
    size_t aux;        /* offset of the has-flag or the element count */
    field_kind kind;
    uint32_t max;      /* str: max bytes; arrays: max elements */
    uint32_t min;      /* arrays: min elements */
    uint32_t elem_max; /* string arrays: max bytes per element */
} field;

typedef struct layout {
    const field *fields;
    uint32_t n;
} layout;

#define LAYOUT(arr) ((layout){(arr), (uint32_t)(sizeof(arr) / sizeof((arr)[0]))})
#define FV(nm) {.name = nm, .kind = F_VERSION, .min = 1}
#define FVN(nm, v) {.name = nm, .kind = F_VERSION, .min = (v)}
#define FH64(T, m) {.name = #m, .kind = F_BIN64, .off = offsetof(T, m)}
#define FBV(T, m, len, mx) {.name = #m, .kind = F_BIN_VAR, .off = offsetof(T, m), .aux = offsetof(T, len), .max = (mx)}
#define FU(T, m) {.name = #m, .kind = F_U64, .off = offsetof(T, m)}
#define FI(T, m) {.name = #m, .kind = F_I64, .off = offsetof(T, m)}
#define FB(T, m, nm) {.name = nm, .kind = F_BOOL, .off = offsetof(T, m)}
#define FS(T, m, mx) {.name = #m, .kind = F_STR, .off = offsetof(T, m), .max = (mx)}
#define FH(T, m) {.name = #m, .kind = F_BIN32, .off = offsetof(T, m)}
#define FHN(T, m, has) \
    {.name = #m, .kind = F_BIN32_OR_NIL, .off = offsetof(T, m), .aux = offsetof(T, has)}
#define FA(T, m, k, cnt, mn, mx, em)                                                     \
    {.name = #m, .kind = (k), .off = offsetof(T, m), .aux = offsetof(T, cnt), .max = (mx), \
     .min = (mn), .elem_max = (em)}

/* ---- payload layouts, in SPEC §3 order ---------------------------------------- */

static const field f_account_set[] = {
    FH(gz_p_account_set, account), FU(gz_p_account_set, level),
    FU(gz_p_account_set, classes), FS(gz_p_account_set, label, GZ_LABEL_MAX)};
static const field f_issuer_set[] = {
    FS(gz_p_issuer_set, issuer_id, GZ_ID_MAX), FS(gz_p_issuer_set, controller_id, GZ_ID_MAX),
    FH(gz_p_issuer_set, owner), FS(gz_p_issuer_set, name, GZ_NAME_MAX)};
static const field f_credit_adjust[] = {
    FS(gz_p_credit_adjust, controller_id, GZ_ID_MAX), FU(gz_p_credit_adjust, component),
    FI(gz_p_credit_adjust, delta), FU(gz_p_credit_adjust, reason),
    FHN(gz_p_credit_adjust, evidence, has_evidence), FS(gz_p_credit_adjust, memo, GZ_TEXT_MAX)};
static const field f_release_announce[] = {
    FS(gz_p_release_announce, release_id, GZ_ID_MAX),
    FS(gz_p_release_announce, issuer_id, GZ_ID_MAX),
    FS(gz_p_release_announce, title, GZ_NAME_MAX), FU(gz_p_release_announce, supply),
    FU(gz_p_release_announce, price), FU(gz_p_release_announce, release_time),
    FHN(gz_p_release_announce, final_anchor, has_final_anchor)};
static const field f_proposal_create[] = {
    FU(gz_p_proposal_create, kind), FS(gz_p_proposal_create, subject, GZ_ID_MAX),
    FS(gz_p_proposal_create, title, GZ_TEXT_MAX),
    FA(gz_p_proposal_create, options, F_STR_ARRAY, n_options, GZ_OPTIONS_MIN, GZ_OPTIONS_MAX,
       GZ_LABEL_MAX),
    FU(gz_p_proposal_create, min_level), FU(gz_p_proposal_create, classes_any),
    FU(gz_p_proposal_create, weighting), FU(gz_p_proposal_create, voting_ms)};
static const field f_proposal_cosign[] = {FH(gz_p_proposal_cosign, proposal_id)};
static const field f_vote[] = {
    FH(gz_p_vote, proposal_id),
    FA(gz_p_vote, choices, F_U64_ARRAY, n_choices, 1, GZ_CHOICES_MAX, 0)};
static const field f_split_set[] = {
    FS(gz_p_split_set, split_id, GZ_ID_MAX),
    FA(gz_p_split_set, recipients, F_RECIPIENTS, n_recipients, 1, GZ_RECIPIENTS_MAX, 0),
    FB(gz_p_split_set, is_mutable, "mutable")};
static const field f_revenue[] = {
    FS(gz_p_revenue, split_id, GZ_ID_MAX), FU(gz_p_revenue, amount),
    FS(gz_p_revenue, sale_ref, GZ_NAME_MAX)};
static const field f_reward_pool[] = {
    FS(gz_p_reward_pool, pool_id, GZ_ID_MAX), FU(gz_p_reward_pool, amount),
    FA(gz_p_reward_pool, proposal_ids, F_BIN32_ARRAY, n_proposals, 1, GZ_POOL_PROPOSALS_MAX, 0)};
static const field f_transfer[] = {
    FH(gz_p_transfer, to), FU(gz_p_transfer, amount), FS(gz_p_transfer, memo, GZ_TEXT_MAX)};
static const field f_withdraw[] = {
    FU(gz_p_withdraw, amount), FS(gz_p_withdraw, payout_ref, GZ_NAME_MAX)};
static const field f_anchor[] = {
    FH(gz_p_anchor, artifact), FU(gz_p_anchor, kind), FS(gz_p_anchor, work_id, GZ_ID_MAX),
    FHN(gz_p_anchor, parent, has_parent), FS(gz_p_anchor, media_type, GZ_LABEL_MAX),
    FS(gz_p_anchor, note, GZ_TEXT_MAX)};
static const field f_gov_grant[] = {
    FH(gz_p_gov_grant, account), FU(gz_p_gov_grant, amount), FU(gz_p_gov_grant, category)};
static const field f_validator_update[] = {
    FH(gz_p_validator_update, pub_key), FU(gz_p_validator_update, power),
    FS(gz_p_validator_update, name, GZ_LABEL_MAX),
    {.name = "approvals", .kind = F_APPROVALS, .off = offsetof(gz_p_validator_update, approvals),
     .aux = offsetof(gz_p_validator_update, n_approvals), .min = 1, .max = GZ_VALIDATORS_MAX}};
static const field f_evidence[] = {
    FH(gz_p_evidence, validator), FBV(gz_p_evidence, vote_a, vote_a_len, GZ_VOTE_BYTES_MAX),
    FH64(gz_p_evidence, sig_a), FBV(gz_p_evidence, vote_b, vote_b_len, GZ_VOTE_BYTES_MAX),
    FH64(gz_p_evidence, sig_b)};

typedef struct tx_type_info {
    const char *name;
    layout payload;
} tx_type_info;

static const tx_type_info tx_types[GZ_TX_TYPE_MAX + 1] = {
    [GZ_TX_ACCOUNT_SET] = {"account_set", LAYOUT(f_account_set)},
    [GZ_TX_ISSUER_SET] = {"issuer_set", LAYOUT(f_issuer_set)},
    [GZ_TX_CREDIT_ADJUST] = {"credit_adjust", LAYOUT(f_credit_adjust)},
    [GZ_TX_RELEASE_ANNOUNCE] = {"release_announce", LAYOUT(f_release_announce)},
    [GZ_TX_PROPOSAL_CREATE] = {"proposal_create", LAYOUT(f_proposal_create)},
    [GZ_TX_PROPOSAL_COSIGN] = {"proposal_cosign", LAYOUT(f_proposal_cosign)},
    [GZ_TX_VOTE] = {"vote", LAYOUT(f_vote)},
    [GZ_TX_SPLIT_SET] = {"split_set", LAYOUT(f_split_set)},
    [GZ_TX_REVENUE] = {"revenue", LAYOUT(f_revenue)},
    [GZ_TX_REWARD_POOL] = {"reward_pool", LAYOUT(f_reward_pool)},
    [GZ_TX_TRANSFER] = {"transfer", LAYOUT(f_transfer)},
    [GZ_TX_WITHDRAW] = {"withdraw", LAYOUT(f_withdraw)},
    [GZ_TX_ANCHOR] = {"anchor", LAYOUT(f_anchor)},
    [GZ_TX_GOV_GRANT] = {"gov_grant", LAYOUT(f_gov_grant)},
    [GZ_TX_VALIDATOR_UPDATE] = {"validator_update", LAYOUT(f_validator_update)},
    [GZ_TX_EVIDENCE] = {"evidence", LAYOUT(f_evidence)},
};

/* ---- the other structures (SPEC §3–§4) ------------------------------------------ */

static const field f_header[] = {
    FVN("version", 2), FS(gz_header, chain_id, GZ_CHAIN_ID_MAX), FU(gz_header, height),
    FU(gz_header, time), FH(gz_header, prev_block_id), FH(gz_header, tx_root),
    FU(gz_header, tx_count), FH(gz_header, state_root), FH(gz_header, log_root),
    FU(gz_header, log_size), FH(gz_header, validators_hash), FH(gz_header, proposer),
    FH(gz_header, next_validators_hash)};
static const field f_vote_msg[] = {
    FS(gz_vote, chain_id, GZ_CHAIN_ID_MAX), FU(gz_vote, type), FU(gz_vote, height),
    FU(gz_vote, round), FHN(gz_vote, block_id, has_block_id), FU(gz_vote, time)};
static const field f_proposal_msg[] = {
    FS(gz_proposal, chain_id, GZ_CHAIN_ID_MAX), FU(gz_proposal, height), FU(gz_proposal, round),
    FI(gz_proposal, pol_round), FH(gz_proposal, block_id)};
static const field f_commit[] = {
    FU(gz_commit, height), FU(gz_commit, round), FH(gz_commit, block_id),
    FA(gz_commit, sigs, F_COMMIT_SIGS, n_sigs, 0, GZ_VALIDATORS_MAX, 0)};
static const field f_anchor_leaf[] = {
    FH(gz_anchor_leaf, artifact), FU(gz_anchor_leaf, kind),
    FS(gz_anchor_leaf, work_id, GZ_ID_MAX), FHN(gz_anchor_leaf, parent, has_parent),
    FH(gz_anchor_leaf, signer), FH(gz_anchor_leaf, txid), FU(gz_anchor_leaf, height),
    FU(gz_anchor_leaf, time)};

/* ---- names --------------------------------------------------------------------- */

const char *core_tx_type_name(uint64_t type) {
    if (type == 0 || type > GZ_TX_TYPE_MAX) return NULL;
    return tx_types[type].name;
}

uint64_t core_tx_type_from_name(const char *name) {
    if (name == NULL) return 0;
    char norm[32];
    size_t len = strlen(name);
    if (len >= sizeof norm) return 0;
    for (size_t i = 0; i <= len; i++) norm[i] = name[i] == '-' ? '_' : name[i];
    for (uint64_t t = 1; t <= GZ_TX_TYPE_MAX; t++)
        if (strcasecmp(norm, tx_types[t].name) == 0) return t;
    return 0;
}

/* ---- generic encoder ------------------------------------------------------------ */

/* A string field must fit its bound and be valid UTF-8 without NUL, or the
 * decoder would refuse what the encoder wrote. */
static int put_checked_str(gz_buf *b, const char *s, uint32_t max) {
    size_t len = strnlen(s, (size_t)max + 1);
    if (len > max || !mp_str_valid((const uint8_t *)s, len)) return GZ_EARG;
    return mp_put_str(b, s, len);
}

static int put_scalar(gz_buf *b, const field *f, const uint8_t *base) {
    const uint8_t *v = base + f->off;
    switch (f->kind) {
    case F_VERSION: return mp_put_uint(b, f->min);
    case F_U64: return mp_put_uint(b, *(const uint64_t *)v);
    case F_I64: return mp_put_int(b, *(const int64_t *)v);
    case F_BOOL: return mp_put_bool(b, *(const bool *)v);
    case F_STR: return put_checked_str(b, (const char *)v, f->max);
    case F_BIN32: return mp_put_bin(b, v, 32);
    case F_BIN32_OR_NIL: return *(const bool *)(base + f->aux) ? mp_put_bin(b, v, 32) : mp_put_nil(b);
    case F_BIN64: return mp_put_bin(b, v, 64);
    case F_BIN_VAR: {
        uint32_t len = *(const uint32_t *)(base + f->aux);
        return len > f->max ? GZ_EARG : mp_put_bin(b, v, len);
    }
    default: assert(!"not a scalar field"); return GZ_EARG;
    }
}

static int put_element(gz_buf *b, const field *f, const uint8_t *v, uint32_t i) {
    int rc;
    switch (f->kind) {
    case F_STR_ARRAY: return put_checked_str(b, (const char *)v + (size_t)i * (f->elem_max + 1), f->elem_max);
    case F_U64_ARRAY: return mp_put_uint(b, ((const uint64_t *)v)[i]);
    case F_BIN32_ARRAY: return mp_put_bin(b, v + (size_t)i * 32, 32);
    case F_RECIPIENTS: {
        const gz_split_recipient *r = (const gz_split_recipient *)v + i;
        if ((rc = mp_put_array(b, 2)) != GZ_OK || (rc = mp_put_bin(b, r->account, 32)) != GZ_OK)
            return rc;
        return mp_put_uint(b, r->share_ppm);
    }
    case F_COMMIT_SIGS: {
        const gz_commit_sig *s = (const gz_commit_sig *)v + i;
        if ((rc = mp_put_array(b, 3)) != GZ_OK || (rc = mp_put_uint(b, s->validator_index)) != GZ_OK ||
            (rc = mp_put_uint(b, s->time)) != GZ_OK)
            return rc;
        return mp_put_bin(b, s->sig, 64);
    }
    default: assert(!"not an array field"); return GZ_EARG;
    }
}

/* The encoded approvals are checked to decode as core_approvals_get reads them,
 * so an encoder never writes what a decoder refuses. */
static int approvals_check(const uint8_t *p, size_t len, uint32_t n, gz_msg *msg, const char *name);

static int put_approvals(gz_buf *b, const field *f, const uint8_t *base) {
    const uint8_t *raw = *(const uint8_t *const *)(base + f->off);
    size_t len = *(const size_t *)(base + f->off + sizeof(const uint8_t *));
    uint32_t n = *(const uint32_t *)(base + f->aux);
    if (raw == NULL || n < f->min || n > f->max || approvals_check(raw, len, n, NULL, f->name) != GZ_OK)
        return GZ_EARG;
    return gz_buf_append(b, raw, len);
}

/* Appends the array described by l; on failure out is left as it was. */
static int put_struct(gz_buf *b, layout l, const void *base_v) {
    const uint8_t *base = base_v;
    size_t start = b->len;
    int rc = mp_put_array(b, l.n);
    for (uint32_t k = 0; k < l.n && rc == GZ_OK; k++) {
        const field *f = &l.fields[k];
        if (f->kind < F_STR_ARRAY) {
            rc = put_scalar(b, f, base);
            continue;
        }
        if (f->kind == F_APPROVALS) {
            rc = put_approvals(b, f, base);
            continue;
        }
        uint32_t count = *(const uint32_t *)(base + f->aux);
        rc = count < f->min || count > f->max ? GZ_EARG : mp_put_array(b, count);
        for (uint32_t i = 0; i < count && rc == GZ_OK; i++) rc = put_element(b, f, base + f->off, i);
    }
    if (rc != GZ_OK) b->len = start;
    return rc;
}

/* ---- generic decoder ------------------------------------------------------------ */

static int get_scalar(mp_rd *rd, const field *f, uint8_t *base, const char *name) {
    uint8_t *v = base + f->off;
    switch (f->kind) {
    case F_VERSION: {
        uint64_t version = 0;
        int rc = mp_get_uint(rd, name, &version);
        if (rc == GZ_OK && version != f->min)
            rc = gz_fail(rd->msg, GZ_EENCODING, "%s: must be %u, found %llu", name, f->min,
                         (unsigned long long)version);
        return rc;
    }
    case F_U64: return mp_get_uint(rd, name, (uint64_t *)v);
    case F_I64: return mp_get_int(rd, name, (int64_t *)v);
    case F_BOOL: return mp_get_bool(rd, name, (bool *)v);
    case F_STR: return mp_get_str(rd, name, (char *)v, f->max);
    case F_BIN32: return mp_get_bin_fixed(rd, name, v, 32);
    case F_BIN32_OR_NIL: return mp_get_bin_or_nil(rd, name, (bool *)(base + f->aux), v, 32);
    case F_BIN64: return mp_get_bin_fixed(rd, name, v, 64);
    case F_BIN_VAR: {
        const uint8_t *p = NULL;
        size_t len = 0;
        int rc = mp_get_bin(rd, name, &p, &len, f->max);
        if (rc == GZ_OK) {
            memcpy(v, p, len);
            *(uint32_t *)(base + f->aux) = (uint32_t)len;
        }
        return rc;
    }
    default: assert(!"not a scalar field"); return GZ_EMISUSE;
    }
}

static int get_element(mp_rd *rd, const field *f, uint8_t *v, uint32_t i, const char *name) {
    char sub[128];
    int rc;
    switch (f->kind) {
    case F_STR_ARRAY: return mp_get_str(rd, name, (char *)v + (size_t)i * (f->elem_max + 1), f->elem_max);
    case F_U64_ARRAY: return mp_get_uint(rd, name, (uint64_t *)v + i);
    case F_BIN32_ARRAY: return mp_get_bin_fixed(rd, name, v + (size_t)i * 32, 32);
    case F_RECIPIENTS: {
        gz_split_recipient *r = (gz_split_recipient *)v + i;
        if ((rc = mp_get_array_n(rd, name, 2)) != GZ_OK) return rc;
        snprintf(sub, sizeof sub, "%s.account", name);
        if ((rc = mp_get_bin_fixed(rd, sub, r->account, 32)) != GZ_OK) return rc;
        snprintf(sub, sizeof sub, "%s.share_ppm", name);
        return mp_get_uint(rd, sub, &r->share_ppm);
    }
    case F_COMMIT_SIGS: {
        gz_commit_sig *s = (gz_commit_sig *)v + i;
        if ((rc = mp_get_array_n(rd, name, 3)) != GZ_OK) return rc;
        snprintf(sub, sizeof sub, "%s.validator_index", name);
        if ((rc = mp_get_uint(rd, sub, &s->validator_index)) != GZ_OK) return rc;
        snprintf(sub, sizeof sub, "%s.time", name);
        if ((rc = mp_get_uint(rd, sub, &s->time)) != GZ_OK) return rc;
        snprintf(sub, sizeof sub, "%s.sig", name);
        return mp_get_bin_fixed(rd, sub, s->sig, 64);
    }
    default: assert(!"not an array field"); return GZ_EMISUSE;
    }
}

/* One approval [validator_index uint, sig bin64] at rd. */
static int get_approval(mp_rd *rd, const char *name, gz_approval *a) {
    char sub[128];
    int rc = mp_get_array_n(rd, name, 2);
    snprintf(sub, sizeof sub, "%s.validator_index", name);
    if (rc == GZ_OK) rc = mp_get_uint(rd, sub, &a->validator_index);
    snprintf(sub, sizeof sub, "%s.sig", name);
    if (rc == GZ_OK) rc = mp_get_bin_fixed(rd, sub, a->sig, 64);
    return rc;
}

static int approvals_check(const uint8_t *p, size_t len, uint32_t n, gz_msg *msg, const char *name) {
    mp_rd rd;
    mp_rd_init(&rd, p, len, msg);
    uint32_t count = 0;
    int rc = mp_get_array(&rd, name, &count, 1, GZ_VALIDATORS_MAX);
    if (rc == GZ_OK && count != n) rc = gz_fail(msg, GZ_EENCODING, "%s: %u entries, not %u", name, count, n);
    for (uint32_t i = 0; i < count && rc == GZ_OK; i++) {
        char elem[112];
        gz_approval a;
        snprintf(elem, sizeof elem, "%s[%u]", name, i);
        rc = get_approval(&rd, elem, &a);
    }
    if (rc == GZ_OK) rc = mp_rd_end_field(&rd, name);
    return rc;
}

/* Approvals stay encoded (gz_p_validator_update): check them, keep where they are. */
static int get_approvals(mp_rd *rd, const field *f, uint8_t *base, const char *name) {
    size_t start = rd->off;
    uint32_t *count = (uint32_t *)(base + f->aux);
    int rc = mp_get_array(rd, name, count, f->min, f->max);
    for (uint32_t i = 0; i < *count && rc == GZ_OK; i++) {
        char elem[112];
        gz_approval a;
        snprintf(elem, sizeof elem, "%s[%u]", name, i);
        rc = get_approval(rd, elem, &a);
    }
    if (rc != GZ_OK) return rc;
    *(const uint8_t **)(base + f->off) = rd->p + start;
    *(size_t *)(base + f->off + sizeof(const uint8_t *)) = rd->off - start;
    return GZ_OK;
}

/* Decodes the array described by l into base; names in messages start with prefix. */
static int get_struct(mp_rd *rd, layout l, void *base_v, const char *prefix) {
    uint8_t *base = base_v;
    char name[96];
    int rc = mp_get_array_n(rd, prefix, l.n);
    for (uint32_t k = 0; k < l.n && rc == GZ_OK; k++) {
        const field *f = &l.fields[k];
        snprintf(name, sizeof name, "%s.%s", prefix, f->name);
        if (f->kind < F_STR_ARRAY) {
            rc = get_scalar(rd, f, base, name);
            continue;
        }
        if (f->kind == F_APPROVALS) {
            rc = get_approvals(rd, f, base, name);
            continue;
        }
        uint32_t *count = (uint32_t *)(base + f->aux);
        rc = mp_get_array(rd, name, count, f->min, f->max);
        for (uint32_t i = 0; i < *count && rc == GZ_OK; i++) {
            char elem[112];
            snprintf(elem, sizeof elem, "%s[%u]", name, i);
            rc = get_element(rd, f, base + f->off, i, elem);
        }
    }
    return rc;
}

/* Decodes exactly one structure filling bytes[0..len); zeroes *base on failure. */
static int get_top(const uint8_t *bytes, size_t len, layout l, void *base, size_t size,
                   const char *prefix, gz_msg *msg) {
    memset(base, 0, size);
    mp_rd rd;
    mp_rd_init(&rd, bytes, len, msg);
    int rc = get_struct(&rd, l, base, prefix);
    if (rc == GZ_OK) rc = mp_rd_end_field(&rd, prefix);
    if (rc != GZ_OK) memset(base, 0, size);
    return rc;
}

/* ---- transactions ---------------------------------------------------------------- */

static int decode_body(gz_tx *tx, const uint8_t *body, size_t len, gz_msg *msg) {
    mp_rd rd;
    mp_rd_init(&rd, body, len, msg);
    static const field version = FV("version");
    int rc = mp_get_array_n(&rd, "body", 6);
    if (rc == GZ_OK) rc = get_scalar(&rd, &version, (uint8_t *)tx, "body.version");
    if (rc == GZ_OK) rc = mp_get_str(&rd, "body.chain_id", tx->chain_id, GZ_CHAIN_ID_MAX);
    if (rc == GZ_OK) rc = mp_get_uint(&rd, "body.type", &tx->type);
    if (rc == GZ_OK && core_tx_type_name(tx->type) == NULL)
        return gz_fail(msg, GZ_EARG, "body.type: unknown tx type %llu", (unsigned long long)tx->type);
    if (rc == GZ_OK) rc = mp_get_bin_fixed(&rd, "body.signer", tx->signer, 32);
    if (rc == GZ_OK) rc = mp_get_uint(&rd, "body.nonce", &tx->nonce);
    if (rc == GZ_OK) rc = get_struct(&rd, tx_types[tx->type].payload, &tx->p, "payload");
    if (rc == GZ_OK) rc = mp_rd_end_field(&rd, "body");
    return rc;
}

int core_tx_decode(gz_tx *tx, const uint8_t *bytes, size_t len, gz_msg *msg) {
    memset(tx, 0, sizeof *tx);
    if (len > GZ_TX_BYTES_MAX)
        return gz_fail(msg, GZ_ELIMIT, "tx: %zu bytes, more than %u", len, GZ_TX_BYTES_MAX);
    mp_rd rd;
    mp_rd_init(&rd, bytes, len, msg);
    const uint8_t *body = NULL;
    size_t body_len = 0;
    int rc = mp_get_array_n(&rd, "tx", 2);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "tx.body", &body, &body_len, GZ_TX_BYTES_MAX);
    if (rc == GZ_OK) rc = mp_get_bin_fixed(&rd, "tx.sig", tx->sig, 64);
    if (rc == GZ_OK) rc = mp_rd_end_field(&rd, "tx");
    if (rc == GZ_OK) rc = decode_body(tx, body, body_len, msg);
    if (rc != GZ_OK) {
        memset(tx, 0, sizeof *tx);
        return rc;
    }
    core_tagged_hash(tx->txid, GZ_TAG_TX, body, body_len);
    return GZ_OK;
}

int core_approvals_encode(const gz_approval *a, size_t n, gz_buf *out) {
    if (n < 1 || n > GZ_VALIDATORS_MAX) return GZ_EARG;
    size_t start = out->len;
    int rc = mp_put_array(out, (uint32_t)n);
    for (size_t i = 0; i < n && rc == GZ_OK; i++) {
        rc = mp_put_array(out, 2);
        if (rc == GZ_OK) rc = mp_put_uint(out, a[i].validator_index);
        if (rc == GZ_OK) rc = mp_put_bin(out, a[i].sig, 64);
    }
    if (rc != GZ_OK) out->len = start;
    return rc;
}

int core_approvals_get(const gz_p_validator_update *p, uint32_t i, gz_approval *out) {
    memset(out, 0, sizeof *out);
    if (p->approvals == NULL || i >= p->n_approvals) return GZ_EARG;
    mp_rd rd;
    mp_rd_init(&rd, p->approvals, p->approvals_len, NULL);
    uint32_t count = 0;
    int rc = mp_get_array(&rd, "approvals", &count, 1, GZ_VALIDATORS_MAX);
    if (rc == GZ_OK && count != p->n_approvals) rc = GZ_EENCODING;
    for (uint32_t k = 0; k <= i && rc == GZ_OK; k++) rc = get_approval(&rd, "approvals[]", out);
    if (rc != GZ_OK) memset(out, 0, sizeof *out);
    return rc;
}

int core_valset_approval_hash(uint8_t out[32], const char *chain_id, const uint8_t validators_hash[32],
                              const uint8_t pub_key[32], uint64_t power, const char *name) {
    size_t cl = strnlen(chain_id, GZ_CHAIN_ID_MAX + 1), nl = strnlen(name, GZ_LABEL_MAX + 1);
    if (cl > GZ_CHAIN_ID_MAX || nl > GZ_LABEL_MAX) return GZ_EARG;
    uint8_t m[GZ_CHAIN_ID_MAX + 32 + 32 + 8 + GZ_LABEL_MAX];
    size_t len = 0;
    memcpy(m, chain_id, cl);
    len += cl;
    memcpy(m + len, validators_hash, 32);
    len += 32;
    memcpy(m + len, pub_key, 32);
    len += 32;
    gz_put_u64be(m + len, power);
    len += 8;
    memcpy(m + len, name, nl);
    len += nl;
    core_tagged_hash(out, GZ_TAG_VALSET, m, len);
    return GZ_OK;
}

int core_payload_encode(const gz_tx *tx, gz_buf *out) {
    if (core_tx_type_name(tx->type) == NULL) return GZ_EARG;
    return put_struct(out, tx_types[tx->type].payload, &tx->p);
}

int core_tx_body_encode(const gz_tx *tx, gz_buf *out) {
    if (core_tx_type_name(tx->type) == NULL) return GZ_EARG;
    size_t start = out->len;
    int rc = mp_put_array(out, 6);
    if (rc == GZ_OK) rc = mp_put_uint(out, 1);
    if (rc == GZ_OK) rc = put_checked_str(out, tx->chain_id, GZ_CHAIN_ID_MAX);
    if (rc == GZ_OK) rc = mp_put_uint(out, tx->type);
    if (rc == GZ_OK) rc = mp_put_bin(out, tx->signer, 32);
    if (rc == GZ_OK) rc = mp_put_uint(out, tx->nonce);
    if (rc == GZ_OK) rc = core_payload_encode(tx, out);
    if (rc != GZ_OK) out->len = start;
    return rc;
}

/* Writes Tx = [body, sig] around an encoded body; fails if the result would be
 * larger than any node accepts. */
static int put_tx(gz_buf *out, const gz_buf *body, const uint8_t sig[64]) {
    size_t start = out->len;
    int rc = mp_put_array(out, 2);
    if (rc == GZ_OK) rc = mp_put_bin(out, body->data, body->len);
    if (rc == GZ_OK) rc = mp_put_bin(out, sig, 64);
    if (rc == GZ_OK && out->len - start > GZ_TX_BYTES_MAX) rc = GZ_ELIMIT;
    if (rc != GZ_OK) out->len = start;
    return rc;
}

int core_tx_set_txid(gz_tx *tx) {
    gz_buf body;
    gz_buf_init(&body);
    int rc = core_tx_body_encode(tx, &body);
    if (rc == GZ_OK) core_tagged_hash(tx->txid, GZ_TAG_TX, body.data, body.len);
    gz_buf_free(&body);
    return rc;
}

int core_tx_id_from_bytes(uint8_t out[32], const uint8_t *bytes, size_t len) {
    mp_rd rd;
    const uint8_t *body;
    size_t body_len;
    memset(out, 0, 32);
    mp_rd_init(&rd, bytes, len, NULL);
    int rc = mp_get_array_n(&rd, "tx", 2);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "tx.body", &body, &body_len, GZ_TX_BYTES_MAX);
    if (rc == GZ_OK) core_tagged_hash(out, GZ_TAG_TX, body, body_len);
    return rc;
}

int core_tx_encode(gz_tx *tx, gz_buf *out) {
    gz_buf body;
    gz_buf_init(&body);
    int rc = core_tx_body_encode(tx, &body);
    if (rc == GZ_OK) {
        core_tagged_hash(tx->txid, GZ_TAG_TX, body.data, body.len);
        rc = put_tx(out, &body, tx->sig);
    }
    gz_buf_free(&body);
    return rc;
}

int core_tx_sign_encode(gz_tx *tx, const uint8_t seckey[32], gz_buf *out) {
    uint8_t pub[32];
    if (core_key_pub(pub, seckey) != GZ_OK || memcmp(pub, tx->signer, 32) != 0) return GZ_EARG;
    gz_buf body;
    gz_buf_init(&body);
    int rc = core_tx_body_encode(tx, &body);
    if (rc == GZ_OK) {
        core_tagged_hash(tx->txid, GZ_TAG_TX, body.data, body.len);
        /* Deterministic BIP-340 (all-zero aux): the same tx always gets the same
         * bytes, which keeps simulations and replays reproducible. */
        rc = core_sign32(tx->sig, seckey, tx->txid, NULL);
    }
    if (rc == GZ_OK) rc = put_tx(out, &body, tx->sig);
    gz_buf_free(&body);
    return rc;
}

int core_tx_check(const gz_tx *tx, const char *chain_id, gz_msg *msg) {
    if (strcmp(tx->chain_id, chain_id) != 0)
        return gz_fail(msg, GZ_ECHAIN, "body.chain_id: \"%s\" is not this chain (\"%s\")",
                       tx->chain_id, chain_id);
    if (!core_verify(tx->sig, tx->txid, 32, tx->signer))
        return gz_fail(msg, GZ_ESIG, "tx.sig: not a valid signature by body.signer");
    return GZ_OK;
}

/* ---- header, vote, proposal, commit, anchor leaf ------------------------------- */

/* The three encoders below write what every reader bounds (core/limits.h);
 * longer bytes would be refused by other nodes and by the verifier. */
int core_header_encode(const gz_header *h, gz_buf *out) {
    size_t start = out->len;
    int rc = put_struct(out, LAYOUT(f_header), h);
    if (rc == GZ_OK) assert(out->len - start <= GZ_HEADER_BYTES_MAX);
    return rc;
}

int core_header_decode(gz_header *h, const uint8_t *bytes, size_t len, gz_msg *msg) {
    return get_top(bytes, len, LAYOUT(f_header), h, sizeof *h, "header", msg);
}

void core_block_id(uint8_t out[32], const uint8_t *header_bytes, size_t len) {
    core_tagged_hash(out, GZ_TAG_BLOCK, header_bytes, len);
}

int core_vote_encode(const gz_vote *v, gz_buf *out) {
    if (v->type != GZ_VOTE_PREVOTE && v->type != GZ_VOTE_PRECOMMIT) return GZ_EARG;
    return put_struct(out, LAYOUT(f_vote_msg), v);
}

int core_vote_decode(gz_vote *v, const uint8_t *bytes, size_t len, gz_msg *msg) {
    int rc = get_top(bytes, len, LAYOUT(f_vote_msg), v, sizeof *v, "vote", msg);
    if (rc == GZ_OK && v->type != GZ_VOTE_PREVOTE && v->type != GZ_VOTE_PRECOMMIT) {
        rc = gz_fail(msg, GZ_EENCODING, "vote.type: must be 1 (prevote) or 2 (precommit), found %llu",
                     (unsigned long long)v->type);
        memset(v, 0, sizeof *v);
    }
    return rc;
}

/* Encodes a structure into a scratch buffer and returns TH(tag, bytes). */
static int sighash(uint8_t out[32], const char *tag, int (*enc)(const void *, gz_buf *),
                   const void *s) {
    gz_buf b;
    gz_buf_init(&b);
    int rc = enc(s, &b);
    if (rc == GZ_OK) core_tagged_hash(out, tag, b.data, b.len);
    else memset(out, 0, 32);
    gz_buf_free(&b);
    return rc;
}

static int vote_enc(const void *s, gz_buf *b) { return core_vote_encode(s, b); }
static int proposal_enc(const void *s, gz_buf *b) { return core_proposal_encode(s, b); }

int core_vote_sighash(uint8_t out[32], const gz_vote *v) {
    return sighash(out, GZ_TAG_VOTE, vote_enc, v);
}

int core_proposal_encode(const gz_proposal *p, gz_buf *out) {
    if (p->pol_round < -1) return GZ_EARG;
    return put_struct(out, LAYOUT(f_proposal_msg), p);
}

int core_proposal_decode(gz_proposal *p, const uint8_t *bytes, size_t len, gz_msg *msg) {
    int rc = get_top(bytes, len, LAYOUT(f_proposal_msg), p, sizeof *p, "proposal", msg);
    if (rc == GZ_OK && p->pol_round < -1) {
        rc = gz_fail(msg, GZ_EENCODING, "proposal.pol_round: must be >= -1, found %lld",
                     (long long)p->pol_round);
        memset(p, 0, sizeof *p);
    }
    return rc;
}

int core_proposal_sighash(uint8_t out[32], const gz_proposal *p) {
    return sighash(out, GZ_TAG_PROPOSAL, proposal_enc, p);
}

int core_commit_encode(const gz_commit *c, gz_buf *out) {
    size_t start = out->len;
    int rc = put_struct(out, LAYOUT(f_commit), c);
    if (rc == GZ_OK) assert(out->len - start <= GZ_COMMIT_BYTES_MAX);
    return rc;
}

int core_commit_decode(gz_commit *c, const uint8_t *bytes, size_t len, gz_msg *msg) {
    return get_top(bytes, len, LAYOUT(f_commit), c, sizeof *c, "commit", msg);
}

int core_anchor_leaf_encode(const gz_anchor_leaf *l, gz_buf *out) {
    size_t start = out->len;
    int rc = put_struct(out, LAYOUT(f_anchor_leaf), l);
    if (rc == GZ_OK) assert(out->len - start <= GZ_ANCHOR_LEAF_BYTES_MAX);
    return rc;
}

int core_anchor_leaf_decode(gz_anchor_leaf *l, const uint8_t *bytes, size_t len, gz_msg *msg) {
    return get_top(bytes, len, LAYOUT(f_anchor_leaf), l, sizeof *l, "anchor_leaf", msg);
}

/* ---- validator sets and commits ---------------------------------------------------- */

int core_validators_hash(uint8_t out[32], const gz_validator *vals, size_t n) {
    memset(out, 0, 32);
    if (n > UINT32_MAX) return GZ_EARG;
    gz_buf b;
    gz_buf_init(&b);
    int rc = mp_put_array(&b, (uint32_t)n);
    for (size_t i = 0; i < n && rc == GZ_OK; i++) {
        rc = mp_put_array(&b, 2);
        if (rc == GZ_OK) rc = mp_put_bin(&b, vals[i].pub_key, 32);
        if (rc == GZ_OK) rc = mp_put_uint(&b, vals[i].power);
    }
    if (rc == GZ_OK) core_sha256(out, b.data, b.len);
    gz_buf_free(&b);
    return rc;
}

/* Checks one commit signature: the precommit it stands for is rebuilt from the
 * commit, so a signature over anything else cannot count. */
static int commit_sig_check(const gz_commit *c, uint32_t i, const char *chain_id,
                            const gz_validator *val, gz_msg *msg) {
    gz_vote v;
    memset(&v, 0, sizeof v);
    size_t cl = strnlen(chain_id, GZ_CHAIN_ID_MAX + 1);
    if (cl > GZ_CHAIN_ID_MAX) return gz_fail(msg, GZ_EARG, "chain_id: longer than %d bytes", GZ_CHAIN_ID_MAX);
    memcpy(v.chain_id, chain_id, cl);
    v.type = GZ_VOTE_PRECOMMIT;
    v.height = c->height;
    v.round = c->round;
    v.has_block_id = true;
    memcpy(v.block_id, c->block_id, 32);
    v.time = c->sigs[i].time;
    uint8_t h[32];
    if (core_vote_sighash(h, &v) != GZ_OK)
        return gz_fail(msg, GZ_EARG, "chain_id: not a valid chain id");
    if (!core_verify(c->sigs[i].sig, h, 32, val->pub_key))
        return gz_fail(msg, GZ_EVERIFY, "commit.sigs[%u]: bad signature by validator %llu", i,
                       (unsigned long long)c->sigs[i].validator_index);
    return GZ_OK;
}

int core_commit_verify(const gz_commit *c, const char *chain_id, const uint8_t block_id[32],
                       uint64_t height, const gz_validator *vals, size_t n, gz_msg *msg) {
    if (c->height != height)
        return gz_fail(msg, GZ_EVERIFY, "commit.height: %llu, expected %llu",
                       (unsigned long long)c->height, (unsigned long long)height);
    if (memcmp(c->block_id, block_id, 32) != 0)
        return gz_fail(msg, GZ_EVERIFY, "commit.block_id: not the id of the block");
    if (c->n_sigs > GZ_VALIDATORS_MAX)
        return gz_fail(msg, GZ_EVERIFY, "commit.sigs: %u signatures, more than %d", c->n_sigs,
                       GZ_VALIDATORS_MAX);
    /* 128-bit sums: n powers of up to 2^64 each, times 3, cannot overflow. */
    unsigned __int128 total = 0, signed_power = 0;
    for (size_t i = 0; i < n; i++) total += vals[i].power;
    if (total == 0) return gz_fail(msg, GZ_EVERIFY, "validators: total power is 0");
    for (uint32_t i = 0; i < c->n_sigs; i++) {
        uint64_t idx = c->sigs[i].validator_index;
        if (idx >= n)
            return gz_fail(msg, GZ_EVERIFY, "commit.sigs[%u]: validator index %llu out of range (%zu validators)",
                           i, (unsigned long long)idx, n);
        if (i > 0 && idx <= c->sigs[i - 1].validator_index)
            return gz_fail(msg, GZ_EVERIFY, "commit.sigs[%u]: validator index %llu not above the previous one",
                           i, (unsigned long long)idx);
        int rc = commit_sig_check(c, i, chain_id, &vals[idx], msg);
        if (rc != GZ_OK) return rc == GZ_EARG ? rc : GZ_EVERIFY;
        signed_power += vals[idx].power;
    }
    if (signed_power * 3 <= total * 2)
        return gz_fail(msg, GZ_EVERIFY, "commit: signed power %llu of %llu is not more than 2/3",
                       (unsigned long long)signed_power, (unsigned long long)total);
    return GZ_OK;
}

_Static_assert(offsetof(gz_p_validator_update, approvals_len) ==
                   offsetof(gz_p_validator_update, approvals) + sizeof(const uint8_t *),
               "put_approvals and get_approvals find the length right after the pointer");
