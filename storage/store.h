/* Storage: an ordered key/value store behind a small interface, with two
 * backends: RocksDB (durable) and memory (tests and simulation). Everything the
 * node keeps goes through here; the key layout is in storage/keys.h.
 *
 * Writes happen only in batches: one synced batch per committed block, so a
 * crash leaves either the whole block or none of it. */
#ifndef GZ_STORAGE_STORE_H
#define GZ_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/err.h"

typedef struct store store;

/* Opens (creating if missing) a RocksDB store in directory path.
 * Returns GZ_OK, GZ_EARG (empty path), GZ_EMISUSE (out NULL), GZ_ENOMEM, or
 * GZ_ESTORAGE with msg holding RocksDB's reason; *out is NULL on failure.
 * A write that fails (GZ_ESTORAGE, or GZ_ENOSPC when RocksDB reports a full
 * disk) makes the next write reopen the database first, since RocksDB may
 * refuse every write after one failed; reads keep working meanwhile. */
GZ_WUR int store_open_rocksdb(store **out, const char *path, gz_msg *msg);
/* Opens an empty in-memory store. Returns GZ_OK, GZ_EMISUSE (out NULL) or GZ_ENOMEM. */
GZ_WUR int store_open_memory(store **out);
/* Fault injection for tests and the simulator (storage/store_fault.c): a
 * store that forwards every call to an inner one and fails some of them.
 * Chances are in parts per million per call, drawn from a generator seeded
 * with seed, so the same configuration fails the same calls. A write fails
 * with GZ_ENOSPC while disk_full is set, with sched_err (GZ_ENOSPC or else
 * GZ_ESTORAGE) for writes number [fail_writes_after, fail_writes_after +
 * fail_writes_count) counted from 0, else by chance: GZ_ENOSPC with
 * enospc_ppm, GZ_ESTORAGE with write_fail_ppm. A read (get or scan) fails
 * with GZ_ESTORAGE with read_fail_ppm. A failed call changes nothing. */
typedef struct store_fault_cfg {
    uint64_t seed;
    uint32_t write_fail_ppm;
    uint32_t enospc_ppm;
    uint32_t read_fail_ppm;
    uint64_t fail_writes_after;
    uint64_t fail_writes_count;
    int sched_err;
    bool disk_full;
} store_fault_cfg;

typedef struct store_fault_stats {
    uint64_t writes, reads;            /* calls seen (empty batches never reach a store) */
    uint64_t write_faults, read_faults; /* of them, failed on purpose */
} store_fault_stats;

/* Wraps inner (which the new store takes over and closes) in a faulty store.
 * Returns GZ_OK, GZ_EMISUSE (a NULL argument) or GZ_ENOMEM (inner is then
 * still the caller's). */
GZ_WUR int store_open_faulty(store **out, store *inner, const store_fault_cfg *cfg);
/* Replaces a faulty store's configuration (a new seed restarts the draws);
 * GZ_EMISUSE when s is not one. */
GZ_WUR int store_faults_set(store *s, const store_fault_cfg *cfg);
/* Copies a faulty store's counters; false when s is not one. */
bool store_faults_stats(const store *s, store_fault_stats *out);

/* Closes and frees s (NULL is fine). */
void store_close(store *s);
/* The engine's one-line reason for the most recent GZ_ESTORAGE on s, or "". */
const char *store_errmsg(const store *s);

/* Puts a read cache in front of s's backend: at most `entries` keys (rounded
 * down to a power of two, at least 8) and `bytes_max` bytes of keys, values and
 * per-entry bookkeeping, plus a fixed table of 32 bytes per entry. It remembers values up to 4 KiB and keys found absent, and is
 * kept equal to the backend by store_write, the only way to change a store.
 * Reads and writes stay single-threaded, as without it. Returns GZ_OK,
 * GZ_EMISUSE (already enabled, entries < 8, bytes_max 0) or GZ_ENOMEM. */
GZ_WUR int store_cache_enable(store *s, size_t entries, size_t bytes_max);

typedef struct store_cache_stats {
    uint64_t hits, misses;
    size_t bytes; /* held now */
} store_cache_stats;
/* Copies s's cache counters into *out; false when s has no cache. */
bool store_cache_stats_get(const store *s, store_cache_stats *out);

/* Reads key into val (replacing its contents; emptied on failure).
 * Returns GZ_OK, GZ_ENOTFOUND, GZ_EMISUSE (empty key), GZ_ENOMEM or GZ_ESTORAGE. */
GZ_WUR int store_get(store *s, const uint8_t *key, size_t key_len, gz_buf *val);

/* A write batch: caller-owned, applied atomically by store_write. Keys and
 * values are at most UINT32_MAX bytes each; keys are not empty. Puts and dels
 * return GZ_OK, GZ_EMISUSE (against those rules) or GZ_ENOMEM. */
typedef struct store_batch {
    gz_buf ops; /* internal encoding: op, key, value */
    size_t count;
} store_batch;

void store_batch_init(store_batch *b);
void store_batch_free(store_batch *b);
void store_batch_clear(store_batch *b);
GZ_WUR int store_batch_put(store_batch *b, const uint8_t *key, size_t key_len, const uint8_t *val,
                           size_t val_len);
GZ_WUR int store_batch_del(store_batch *b, const uint8_t *key, size_t key_len);
/* Applies every op of b atomically, in order; with sync, the batch is on disk
 * (the engine's log fsynced) before this returns. An empty batch is a no-op.
 * Returns GZ_OK, GZ_EMISUSE, GZ_ENOMEM, GZ_ENOSPC (the disk is full) or
 * GZ_ESTORAGE; on failure nothing was applied, and writing the same batch
 * again later is how a caller retries. */
GZ_WUR int store_write(store *s, const store_batch *b, bool sync);

/* Ordered iteration over keys starting with prefix, from the first key >= start
 * (start may be NULL for the beginning of the prefix). cb returns true to go on.
 * The key/value pointers are valid only during the callback, which must not
 * write to s. Returns GZ_OK (also when cb stopped early), GZ_ESTORAGE, or
 * GZ_EMISUSE (NULL cb, NULL prefix or start with a length). */
typedef bool (*store_iter_cb)(const uint8_t *key, size_t key_len, const uint8_t *val,
                              size_t val_len, void *data);
GZ_WUR int store_scan(store *s, const uint8_t *prefix, size_t prefix_len, const uint8_t *start,
                      size_t start_len, store_iter_cb cb, void *data);

#endif
