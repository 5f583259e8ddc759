/* Storage fault injection: a store that forwards to another and fails some of
 * its calls, on a schedule or by chance from a seeded generator, so that a
 * test or a simulation run sees the same faults each time it runs. */
#include "storage/store_internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct fault_store {
    store base;
    store *inner;
    store_fault_cfg cfg;
    uint64_t rng;
    store_fault_stats stats;
} fault_store;

/* splitmix64: small, fast, and every seed gives a full-period sequence. */
static uint64_t fault_next(fault_store *f) {
    uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Whether a call with this chance (parts per million) fails. A zero chance
 * draws nothing, so turning one kind of fault off leaves the others' draws. */
static bool fault_draw(fault_store *f, uint32_t ppm) {
    return ppm > 0 && fault_next(f) % 1000000u < ppm;
}

/* The injected error for the next write, or GZ_OK. */
static int write_fault(fault_store *f) {
    uint64_t k = f->stats.writes++;
    if (f->cfg.disk_full) return GZ_ENOSPC;
    if (f->cfg.fail_writes_count > 0 && k >= f->cfg.fail_writes_after &&
        k - f->cfg.fail_writes_after < f->cfg.fail_writes_count)
        return f->cfg.sched_err == GZ_ENOSPC ? GZ_ENOSPC : GZ_ESTORAGE;
    if (fault_draw(f, f->cfg.enospc_ppm)) return GZ_ENOSPC;
    if (fault_draw(f, f->cfg.write_fail_ppm)) return GZ_ESTORAGE;
    return GZ_OK;
}

static int fault_get(store *s, const uint8_t *key, size_t key_len, gz_buf *val) {
    fault_store *f = (fault_store *)s;
    f->stats.reads++;
    if (fault_draw(f, f->cfg.read_fail_ppm)) {
        f->stats.read_faults++;
        return gz_fail(&s->last_error, GZ_ESTORAGE, "injected read fault (read %llu)",
                       (unsigned long long)f->stats.reads);
    }
    int rc = store_get(f->inner, key, key_len, val);
    if (rc != GZ_OK && rc != GZ_ENOTFOUND) gz_fail(&s->last_error, rc, "%s", store_errmsg(f->inner));
    return rc;
}

static int fault_write(store *s, const store_batch *b, bool sync) {
    fault_store *f = (fault_store *)s;
    int rc = write_fault(f);
    if (rc != GZ_OK) {
        f->stats.write_faults++;
        return gz_fail(&s->last_error, rc, "injected %s (write %llu)",
                       rc == GZ_ENOSPC ? "disk full: No space left on device" : "write fault",
                       (unsigned long long)f->stats.writes);
    }
    rc = store_write(f->inner, b, sync);
    if (rc != GZ_OK) gz_fail(&s->last_error, rc, "%s", store_errmsg(f->inner));
    return rc;
}

static int fault_scan(store *s, const uint8_t *prefix, size_t prefix_len, const uint8_t *start,
                      size_t start_len, store_iter_cb cb, void *data) {
    fault_store *f = (fault_store *)s;
    f->stats.reads++;
    if (fault_draw(f, f->cfg.read_fail_ppm)) {
        f->stats.read_faults++;
        return gz_fail(&s->last_error, GZ_ESTORAGE, "injected scan fault (read %llu)",
                       (unsigned long long)f->stats.reads);
    }
    int rc = store_scan(f->inner, prefix, prefix_len, start, start_len, cb, data);
    if (rc != GZ_OK) gz_fail(&s->last_error, rc, "%s", store_errmsg(f->inner));
    return rc;
}

static void fault_close(store *s) {
    fault_store *f = (fault_store *)s;
    store_close(f->inner);
    free(f);
}

static const store_ops fault_ops = {fault_get, fault_write, fault_scan, fault_close};

int store_open_faulty(store **out, store *inner, const store_fault_cfg *cfg) {
    if (out == NULL) return GZ_EMISUSE;
    *out = NULL;
    if (inner == NULL || cfg == NULL) return GZ_EMISUSE;
    fault_store *f = calloc(1, sizeof *f);
    if (f == NULL) return GZ_ENOMEM;
    f->base.ops = &fault_ops;
    f->inner = inner;
    f->cfg = *cfg;
    f->rng = cfg->seed;
    *out = &f->base;
    return GZ_OK;
}

int store_faults_set(store *s, const store_fault_cfg *cfg) {
    if (s == NULL || cfg == NULL || s->ops != &fault_ops) return GZ_EMISUSE;
    fault_store *f = (fault_store *)s;
    if (cfg->seed != f->cfg.seed) f->rng = cfg->seed;
    f->cfg = *cfg;
    return GZ_OK;
}

bool store_faults_stats(const store *s, store_fault_stats *out) {
    if (s == NULL || out == NULL || s->ops != &fault_ops) return false;
    *out = ((const fault_store *)s)->stats;
    return true;
}
