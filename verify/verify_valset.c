/* Validator set changes (SPEC §4 "Validator set changes", §5 valset_chain):
 * the walk from the genesis set along a chain of signed set changes, each
 * link accepted only if the set trusted before it signed it. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "verify/verify.h"

/* ---- chains ---------------------------------------------------------------------- */

void verify_valset_chain_free(verify_valset_chain *c) {
    for (size_t i = 0; i < c->n; i++) {
        gz_buf_free(&c->links[i].header);
        gz_buf_free(&c->links[i].commit);
        free(c->links[i].validators);
    }
    free(c->links);
    memset(c, 0, sizeof *c);
}

static int link_copy(verify_valset_link *dst, const verify_valset_link *src) {
    memset(dst, 0, sizeof *dst);
    gz_buf_init(&dst->header);
    gz_buf_init(&dst->commit);
    int rc = gz_buf_append(&dst->header, src->header.data, src->header.len);
    if (rc == GZ_OK) rc = gz_buf_append(&dst->commit, src->commit.data, src->commit.len);
    dst->validators = malloc((src->n_validators ? src->n_validators : 1) * sizeof *dst->validators);
    if (rc == GZ_OK && dst->validators == NULL) rc = GZ_ENOMEM;
    if (rc == GZ_OK) {
        memcpy(dst->validators, src->validators, src->n_validators * sizeof *dst->validators);
        dst->n_validators = src->n_validators;
    }
    return rc;
}

int verify_valset_chain_copy(verify_valset_chain *dst, const verify_valset_chain *src) {
    memset(dst, 0, sizeof *dst);
    if (src->n == 0) return GZ_OK;
    dst->links = calloc(src->n, sizeof *dst->links);
    if (dst->links == NULL) return GZ_ENOMEM;
    int rc = GZ_OK;
    for (size_t i = 0; rc == GZ_OK && i < src->n; i++) {
        rc = link_copy(&dst->links[i], &src->links[i]);
        dst->n = i + 1; /* a half-copied link is freed with the rest */
    }
    if (rc != GZ_OK) verify_valset_chain_free(dst);
    return rc;
}

/* ---- sets -------------------------------------------------------------------------- */

void verify_valset_genesis(verify_valset *s, const gz_genesis *g) {
    memset(s, 0, sizeof *s);
    s->vals = g->validators;
    s->n = g->n_validators;
    if (core_validators_hash(s->hash, g->validators, g->n_validators) != GZ_OK) memset(s->hash, 0, 32);
    s->from_height = 1;
}

int verify_valset_check(const gz_validator *vals, size_t n, gz_msg *msg) {
    if (n < 1 || n > GZ_VALIDATORS_MAX)
        return gz_fail(msg, GZ_EVERIFY, "validators: %zu entries, expected 1..%d", n, GZ_VALIDATORS_MAX);
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const gz_validator *v = &vals[i];
        if (strnlen(v->name, sizeof v->name) > GZ_LABEL_MAX)
            return gz_fail(msg, GZ_EVERIFY, "validators[%zu].name: longer than %d bytes", i, GZ_LABEL_MAX);
        if (v->power == 0) return gz_fail(msg, GZ_EVERIFY, "validators[%zu].power: must be at least 1", i);
        /* The bound genesis sets, so that 3 * total power fits in 64 bits. */
        if (v->power > UINT64_MAX / 3 - total) {
            return gz_fail(msg, GZ_EVERIFY, "validators[%zu].power: total power over %llu", i,
                           (unsigned long long)(UINT64_MAX / 3));
        }
        total += v->power;
        for (size_t j = 0; j < i; j++) {
            if (memcmp(vals[j].pub_key, v->pub_key, 32) == 0)
                return gz_fail(msg, GZ_EVERIFY, "validators[%zu].pub_key: duplicate validator", i);
        }
    }
    return GZ_OK;
}

static uint64_t set_power(const gz_validator *vals, size_t n) {
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += vals[i].power;
    return sum;
}

/* ---- one link ------------------------------------------------------------------------ */

/* What checking one link found: the part that failed (NULL: it held) and
 * why, or the figures of its ok line. */
typedef struct link_result {
    const char *part;
    gz_msg msg;
    uint32_t signers;
    uint64_t signed_power;
} link_result;

static bool link_failed(link_result *res, const char *part, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool link_failed(link_result *res, const char *part, const char *fmt, ...) {
    res->part = part;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->msg.text, sizeof res->msg.text, fmt, ap);
    va_end(ap);
    return false;
}

/* "header": it decodes (version 2) and is of genesis' chain. */
static bool link_header(const verify_valset_walker *w, const verify_valset_link *l, gz_header *h, link_result *res) {
    gz_msg msg = {{0}};
    if (core_header_decode(h, l->header.data, l->header.len, &msg) != GZ_OK)
        return link_failed(res, "header", "%s", msg.text);
    if (strcmp(h->chain_id, w->g->chain_id) != 0)
        return link_failed(res, "header", "header.chain_id is \"%s\", genesis says \"%s\"", h->chain_id, w->g->chain_id);
    return true;
}

/* "order": strictly above the previous link, strictly below the target. */
static bool link_order(const verify_valset_walker *w, const gz_header *h, link_result *res) {
    if (h->height < w->set.from_height) {
        if (w->set.links == 0) return link_failed(res, "order", "height 0 is not a block");
        return link_failed(res, "order", "not above link %zu at height %llu", w->set.links - 1,
                           (unsigned long long)(w->set.from_height - 1));
    }
    if (h->height >= w->target) {
        return link_failed(res, "order", "not below height %llu, the height of what is proved",
                           (unsigned long long)w->target);
    }
    /* A chain out of order is named where it first shows: a next link that
     * is not above this one (a swap, a duplicate). */
    size_t i = w->next + 1;
    gz_header next;
    if (i < w->c->n &&
        core_header_decode(&next, w->c->links[i].header.data, w->c->links[i].header.len, NULL) == GZ_OK &&
        next.height <= h->height) {
        return link_failed(res, "order", "link %zu is at height %llu, not above this one", i,
                           (unsigned long long)next.height);
    }
    return true;
}

/* "commit": for TH("gongzhi/block", header) at its height, by more than 2/3
 * of the power of the set trusted so far. */
static bool link_commit(const verify_valset_walker *w, const verify_valset_link *l, const gz_header *h,
                        link_result *res) {
    gz_commit *c = malloc(sizeof *c); /* GZ_VALIDATORS_MAX signatures: too many for the stack */
    if (c == NULL) return link_failed(res, "commit", "out of memory");
    uint8_t id[32];
    core_block_id(id, l->header.data, l->header.len);
    gz_msg msg = {{0}};
    bool ok = false;
    if (core_commit_decode(c, l->commit.data, l->commit.len, &msg) != GZ_OK) {
        link_failed(res, "commit", "%s", msg.text);
    } else if (memcmp(c->block_id, id, 32) != 0 || c->height != h->height) {
        link_failed(res, "commit", "the commit is not for this header at height %llu", (unsigned long long)h->height);
    } else if (core_commit_verify(c, w->g->chain_id, id, h->height, w->set.vals, w->set.n, &msg) != GZ_OK) {
        link_failed(res, "commit", "%s (checked against the set trusted so far, %u validators)", msg.text, w->set.n);
    } else {
        ok = true;
        res->signers = c->n_sigs;
        res->signed_power = 0;
        for (uint32_t i = 0; i < c->n_sigs; i++) res->signed_power += w->set.vals[c->sigs[i].validator_index].power;
    }
    free(c);
    return ok;
}

/* "next set hash": the header changes the set, to the link's validators. */
static bool link_next(const verify_valset_link *l, const gz_header *h, link_result *res) {
    if (memcmp(h->next_validators_hash, h->validators_hash, 32) == 0)
        return link_failed(res, "next set hash", "next_validators_hash = validators_hash: the block changed no set");
    gz_msg msg = {{0}};
    if (verify_valset_check(l->validators, l->n_validators, &msg) != GZ_OK)
        return link_failed(res, "next set hash", "%s", msg.text);
    uint8_t vh[32];
    if (core_validators_hash(vh, l->validators, l->n_validators) != GZ_OK || memcmp(vh, h->next_validators_hash, 32) != 0)
        return link_failed(res, "next set hash", "the link's validators do not hash to header.next_validators_hash");
    return true;
}

static bool link_check(const verify_valset_walker *w, const verify_valset_link *l, gz_header *h, bool *have_height,
                       link_result *res) {
    *have_height = false;
    if (!link_header(w, l, h, res)) return false;
    *have_height = true;
    if (!link_order(w, h, res)) return false;
    if (memcmp(h->validators_hash, w->set.hash, 32) != 0)
        return link_failed(res, "set hash", "header.validators_hash is not the set trusted so far");
    return link_commit(w, l, h, res) && link_next(l, h, res);
}

/* Checks link w->next, reports it and, when it held, trusts its set. */
static bool step(verify_valset_walker *w, verify_report *r) {
    size_t i = w->next;
    const verify_valset_link *l = &w->c->links[i];
    gz_header h;
    memset(&h, 0, sizeof h);
    bool have_height;
    link_result res = {0};
    if (!link_check(w, l, &h, &have_height, &res)) {
        char at[48];
        if (have_height) snprintf(at, sizeof at, "link %zu at height %llu", i, (unsigned long long)h.height);
        else snprintf(at, sizeof at, "link %zu", i);
        verify_report_fail(r, "valset link", "%s: %s: %s", at, res.part, res.msg.text);
        w->failed = true;
        return false;
    }
    char hex[9];
    gz_hex_encode(hex, h.next_validators_hash, 4);
    verify_report_ok(r, "valset link",
                     "link %zu at height %llu: commit by %u of %u validators holding %llu of %llu power; next set has "
                     "%u validators (hash %s…)",
                     i, (unsigned long long)h.height, res.signers, w->set.n, (unsigned long long)res.signed_power,
                     (unsigned long long)set_power(w->set.vals, w->set.n), l->n_validators, hex);
    w->set.vals = l->validators;
    w->set.n = l->n_validators;
    memcpy(w->set.hash, h.next_validators_hash, 32);
    w->set.from_height = h.height + 1;
    w->set.links = i + 1;
    w->next = i + 1;
    return true;
}

/* ---- the walk ------------------------------------------------------------------------- */

void verify_valset_walker_init(verify_valset_walker *w, const gz_genesis *g, const verify_valset_chain *c,
                               uint64_t target) {
    memset(w, 0, sizeof *w);
    w->g = g;
    w->c = c;
    w->target = target;
    verify_valset_genesis(&w->set, g);
}

bool verify_valset_walker_advance(verify_valset_walker *w, verify_report *r, uint64_t height) {
    while (!w->failed && w->next < w->c->n) {
        const verify_valset_link *l = &w->c->links[w->next];
        gz_header h;
        /* A link at or above height waits for a later call; one whose header
         * does not decode is checked now, so that the report names it. */
        if (core_header_decode(&h, l->header.data, l->header.len, NULL) == GZ_OK && h.height >= height) break;
        if (!step(w, r)) break;
    }
    return !w->failed;
}

bool verify_valset_walker_finish(verify_valset_walker *w, verify_report *r) {
    if (!verify_valset_walker_advance(w, r, w->target)) return false;
    if (w->next < w->c->n) {
        /* The next link decodes at or above the target: step names it so. */
        (void)step(w, r);
        return false;
    }
    return true;
}

bool verify_valset_walk(verify_report *r, const gz_genesis *g, const verify_valset_chain *c, uint64_t target,
                        verify_valset *s) {
    verify_valset_walker w;
    verify_valset_walker_init(&w, g, c, target);
    bool ok = verify_valset_walker_finish(&w, r);
    *s = w.set;
    return ok;
}
