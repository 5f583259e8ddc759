/* Governance queries over committed state (SPEC §8 `controller`, `issuer`,
 * `release`, `proposal`, `proposals`). */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "ledger/gov.h"

/* Builds a JSON value or fails with GZ_ENOMEM: jansson returns NULL only when
 * out of memory (or on a bug in a format string, which tests catch). */
static int json_done(json_t *obj, json_t **out) {
    *out = obj;
    return obj != NULL ? GZ_OK : GZ_ENOMEM;
}

static json_t *opt_time(uint64_t t, bool present) {
    return present ? json_integer((json_int_t)t) : json_null();
}

/* ---- scans that collect keys ---- */

typedef struct key_list {
    json_t *arr; /* receives one JSON value per key */
    size_t skip; /* bytes of key before the part that becomes the value */
    bool as_hex; /* 32-byte id as hex, else a length-prefixed string */
    int err;
} key_list;

static bool key_collect(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                        void *data) {
    key_list *kl = data;
    json_t *v = NULL;
    if (kl->as_hex && key_len == kl->skip + 32) {
        v = core_json_hex(key + kl->skip, 32);
    } else if (!kl->as_hex && key_len > kl->skip &&
               (size_t)key[kl->skip] == key_len - kl->skip - 1) {
        v = json_stringn((const char *)key + kl->skip + 1, key_len - kl->skip - 1);
    } else {
        kl->err = GZ_ECORRUPT;
        return false;
    }
    (void)val;
    (void)val_len;
    if (v == NULL || json_array_append_new(kl->arr, v) != 0) {
        kl->err = GZ_ENOMEM;
        return false;
    }
    return true;
}

/* ---- controller ---- */

typedef struct board_list {
    json_t *arr;
    size_t prefix_len;
    int err;
} board_list;

static bool board_collect(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                          void *data) {
    board_list *bl = data;
    if (key_len != bl->prefix_len + 8 + 32 || val_len != 1 || gov_mark_name(val[0]) == NULL) {
        bl->err = GZ_ECORRUPT;
        return false;
    }
    const uint8_t *p = key + bl->prefix_len;
    json_t *e = json_pack("{s:o, s:I, s:s}", "proposal_id", core_json_hex(p + 8, 32), "closed_at",
                          (json_int_t)gz_get_u64be(p), "mark", gov_mark_name(val[0]));
    if (e == NULL || json_array_append_new(bl->arr, e) != 0) {
        bl->err = GZ_ENOMEM;
        return false;
    }
    return true;
}

static int controller_lists(ledger *l, const char *id, json_t *board, json_t *issuers) {
    ledger_key k;
    ledger_key_init(&k, GK_BOARD);
    ledger_key_add_str(&k, id);
    board_list bl = {.arr = board, .prefix_len = k.len};
    int err = ledger_committed_scan(l, k.bytes, k.len, NULL, 0, board_collect, &bl);
    if (err == GZ_OK) err = bl.err;
    if (err != GZ_OK) return err;
    ledger_key_init(&k, GK_CTL_ISSUER);
    ledger_key_add_str(&k, id);
    key_list kl = {.arr = issuers, .skip = k.len, .as_hex = false};
    err = ledger_committed_scan(l, k.bytes, k.len, NULL, 0, key_collect, &kl);
    return err == GZ_OK ? kl.err : err;
}

static json_t *components_json(const gz_credit_policy *p, const gov_controller *c) {
    if (p->model == GZ_CREDIT_POINTS) return json_null();
    return json_pack("{s:I, s:I, s:I}", "quality", (json_int_t)c->components[0], "satisfaction",
                     (json_int_t)c->components[1], "compliance", (json_int_t)c->components[2]);
}

int ledger_query_controller(ledger *l, const char *controller_id, json_t **out) {
    *out = NULL;
    const gz_credit_policy *p = &ledger_genesis(l)->policy.credit;
    gov_src src = gov_src_committed(l);
    gov_controller c;
    int err = gov_controller_load(&src, controller_id, &c);
    if (err != GZ_OK) return err;
    json_t *board = json_array();
    json_t *issuers = json_array();
    err = board != NULL && issuers != NULL ? controller_lists(l, c.id, board, issuers) : GZ_ENOMEM;
    if (err != GZ_OK) {
        json_decref(board);
        json_decref(issuers);
        return err;
    }
    return json_done(json_pack("{s:s, s:s, s:I, s:o, s:s, s:o, s:o, s:o}", "controller_id", c.id,
                               "model", p->model == GZ_CREDIT_POINTS ? "points" : "composite",
                               "score", (json_int_t)gov_controller_score(p, &c), "components",
                               components_json(p, &c), "status", gov_cstatus_name(c.status),
                               "suspended_until",
                               opt_time(c.suspended_until, c.suspended_until != 0), "board", board,
                               "issuers", issuers),
                     out);
}

/* ---- issuer and release ---- */

int ledger_query_issuer(ledger *l, const char *issuer_id, json_t **out) {
    *out = NULL;
    const gz_credit_policy *p = &ledger_genesis(l)->policy.credit;
    gov_src src = gov_src_committed(l);
    gov_issuer is;
    int err = gov_issuer_load(&src, issuer_id, &is);
    if (err != GZ_OK) return err;
    gov_controller c;
    err = gov_controller_load(&src, is.controller_id, &c);
    if (err == GZ_ENOTFOUND) return GZ_ECORRUPT;
    if (err != GZ_OK) return err;
    return json_done(
        json_pack("{s:s, s:s, s:o, s:s, s:I, s:{s:I, s:s}}", "issuer_id", is.id, "controller_id",
                  is.controller_id, "owner", core_json_hex(is.owner, 32), "name", is.name,
                  "created_at", (json_int_t)is.created_at, "credit", "score",
                  (json_int_t)gov_controller_score(p, &c), "status", gov_cstatus_name(c.status)),
        out);
}

/* An approved release reads "released" once the chain's time reaches its
 * release time; the stored status does not change for that. */
static const char *release_status(const gov_release *r, uint64_t now) {
    if (r->status == GOV_R_APPROVED && now >= r->release_time) return "released";
    return gov_rstatus_name(r->status);
}

int ledger_query_release(ledger *l, const char *release_id, json_t **out) {
    *out = NULL;
    gov_src src = gov_src_committed(l);
    gov_release r;
    int err = gov_release_load(&src, release_id, &r);
    if (err != GZ_OK) return err;
    json_t *anchor = r.has_final_anchor ? core_json_hex(r.final_anchor, 32) : json_null();
    return json_done(
        json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:s, s:o, s:I}", "release_id", r.id,
                  "issuer_id", r.issuer_id, "controller_id", r.controller_id, "title", r.title,
                  "supply", (json_int_t)r.supply, "price", (json_int_t)r.price, "release_time",
                  (json_int_t)r.release_time, "final_anchor", anchor, "status",
                  release_status(&r, ledger_time(l)), "proposal_id",
                  core_json_hex(r.proposal_id, 32), "announced_at", (json_int_t)r.announced_at),
        out);
}

/* ---- proposal ---- */

static json_t *strings_json(const gov_proposal *p) {
    json_t *a = json_array();
    for (uint32_t i = 0; a != NULL && i < p->n_options; i++) {
        if (json_array_append_new(a, json_string(p->options[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *tally_json(const gov_proposal *p) {
    json_t *a = json_array();
    for (uint32_t i = 0; a != NULL && i < p->n_options; i++) {
        if (json_array_append_new(a, json_integer((json_int_t)p->tally[i])) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static int cosigners_json(ledger *l, const gov_proposal *p, json_t **out) {
    *out = json_array();
    if (*out == NULL) return GZ_ENOMEM;
    uint8_t prefix[33] = {GK_COSIGNER};
    memcpy(prefix + 1, p->id, 32);
    key_list kl = {.arr = *out, .skip = sizeof prefix, .as_hex = true};
    int err = ledger_committed_scan(l, prefix, sizeof prefix, NULL, 0, key_collect, &kl);
    if (err == GZ_OK) err = kl.err;
    if (err != GZ_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return err;
}

static int proposal_json(ledger *l, const gov_proposal *p, json_t **out) {
    *out = NULL;
    json_t *cosigners = NULL;
    int err = cosigners_json(l, p, &cosigners);
    if (err != GZ_OK) return err;
    bool cosigned = p->kind == GOV_KIND_DISTRUST || p->kind == GOV_KIND_TRUST;
    bool opened = p->status != GOV_P_COSIGNING && p->status != GOV_P_EXPIRED;
    json_t *winner =
        p->has_winner && opened && p->status != GOV_P_OPEN ? json_integer(p->winner) : json_null();
    return json_done(
        json_pack("{s:o, s:I, s:s, s:s, s:s, s:o, s:I, s:I, s:I, s:I, s:o, s:s, s:o, s:o, s:I, "
                  "s:I, s:o, s:o, s:o, s:o, s:I, s:I}",
                  "proposal_id", core_json_hex(p->id, 32), "kind", (json_int_t)p->kind,
                  "kind_name", gov_kind_name(p->kind), "subject", p->subject, "title", p->title,
                  "options", strings_json(p), "min_level", (json_int_t)p->min_level, "classes_any",
                  (json_int_t)p->classes_any, "weighting", (json_int_t)p->weighting, "voting_ms",
                  (json_int_t)p->voting_ms, "creator", core_json_hex(p->creator, 32), "status",
                  gov_pstatus_name(p->status), "winner", winner, "cosigners", cosigners,
                  "cosigners_count", (json_int_t)p->cosigners, "created_at",
                  (json_int_t)p->created_at, "expires_at", opt_time(p->expires_at, cosigned),
                  "opens_at", opt_time(p->opens_at, opened), "closes_at",
                  opt_time(p->closes_at, opened), "tally", tally_json(p), "turnout",
                  (json_int_t)p->turnout, "voters", (json_int_t)p->voters),
        out);
}

int ledger_query_proposal(ledger *l, const uint8_t proposal_id[32], json_t **out) {
    *out = NULL;
    gov_src src = gov_src_committed(l);
    gov_proposal p;
    int err = gov_proposal_load(&src, proposal_id, &p);
    if (err != GZ_OK) return err;
    return proposal_json(l, &p, out);
}

/* ---- proposals ---- */

typedef struct page_scan {
    size_t prefix_len; /* the id follows the prefix */
    bool records;      /* scanning proposal records, not a one-byte index */
    uint64_t kind;     /* filter on the index value (status index), 0 = none */
    uint32_t limit;
    uint32_t n;
    uint8_t ids[GZ_PAGE_LIMIT_MAX][32];
    uint32_t visited;
    bool more;        /* stopped with entries left to look at */
    uint8_t last[32]; /* last id visited */
    int err;
} page_scan;

static bool page_collect(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                         void *data) {
    page_scan *ps = data;
    if (ps->n == ps->limit || ps->visited == GOV_QUERY_VISIT_MAX) {
        ps->more = true;
        return false;
    }
    if (key_len != ps->prefix_len + 32 || (!ps->records && val_len != 1)) {
        ps->err = GZ_ECORRUPT;
        return false;
    }
    ps->visited++;
    memcpy(ps->last, key + ps->prefix_len, 32);
    if (ps->kind == 0 || val[0] == ps->kind) memcpy(ps->ids[ps->n++], ps->last, 32);
    return true;
}

static int page_args(const char *status, uint64_t kind, uint32_t limit, uint64_t *st, gz_msg *msg) {
    *st = 0;
    if (status != NULL) {
        *st = gov_pstatus_from_name(status);
        if (*st == 0) {
            return gz_fail(msg, GZ_EARG,
                           "params.status: must be cosigning, expired, open, passed, rejected or tied");
        }
    }
    if (kind > GOV_KIND_MAX) {
        return gz_fail(msg, GZ_EARG, "params.kind: must be 0 (any) or 1..%d", GOV_KIND_MAX);
    }
    if (limit < 1 || limit > GZ_PAGE_LIMIT_MAX) {
        return gz_fail(msg, GZ_EARG, "params.limit: must be 1..%d", GZ_PAGE_LIMIT_MAX);
    }
    return GZ_OK;
}

static int page_json(ledger *l, const page_scan *ps, json_t **out) {
    json_t *list = json_array();
    int err = list != NULL ? GZ_OK : GZ_ENOMEM;
    gov_src src = gov_src_committed(l);
    for (uint32_t i = 0; i < ps->n && err == GZ_OK; i++) {
        gov_proposal p;
        json_t *one = NULL;
        err = gov_proposal_load(&src, ps->ids[i], &p);
        if (err == GZ_ENOTFOUND) err = GZ_ECORRUPT;
        if (err == GZ_OK) err = proposal_json(l, &p, &one);
        if (err == GZ_OK && json_array_append_new(list, one) != 0) err = GZ_ENOMEM;
    }
    if (err != GZ_OK) {
        json_decref(list);
        return err;
    }
    json_t *next = ps->more ? core_json_hex(ps->last, 32) : json_null();
    return json_done(json_pack("{s:o, s:o}", "proposals", list, "next", next), out);
}

int ledger_query_proposals(ledger *l, const char *status, uint64_t kind, uint32_t limit,
                           const uint8_t *after, json_t **out, gz_msg *msg) {
    *out = NULL;
    uint64_t st = 0;
    int err = page_args(status, kind, limit, &st, msg);
    if (err != GZ_OK) return err;
    /* The narrowest index: by status (filtering kind from its value), by
     * kind, or every proposal. Each lists proposals in id order. */
    ledger_key k;
    page_scan *ps = calloc(1, sizeof *ps);
    if (ps == NULL) return GZ_ENOMEM;
    if (st != 0) {
        ledger_key_init(&k, GK_STATUS);
        ledger_key_add_u8(&k, (uint8_t)st);
        ps->kind = kind;
    } else if (kind != 0) {
        ledger_key_init(&k, GK_KIND);
        ledger_key_add_u8(&k, (uint8_t)kind);
    } else {
        ledger_key_init(&k, GK_PROPOSAL);
    }
    ps->prefix_len = k.len;
    ps->limit = limit;
    ledger_key start = k;
    if (after != NULL) {
        ledger_key_add(&start, after, 32);
        ledger_key_add_u8(&start, 0);
    }
    ps->records = st == 0 && kind == 0;
    err = ledger_committed_scan(l, k.bytes, k.len, start.bytes, start.len, page_collect, ps);
    if (err == GZ_OK) err = ps->err;
    if (err == GZ_OK) err = page_json(l, ps, out);
    free(ps);
    return err;
}
