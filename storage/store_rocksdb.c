/* The durable backend: RocksDB through its C API. RocksDB's char *err is
 * turned into GZ_ESTORAGE here (GZ_ENOSPC when it says the disk is full),
 * its text kept for store_errmsg and freed.
 *
 * A failed write may leave RocksDB in its background-error state, where every
 * later write fails until DB::Resume, which the C API lacks. So the write
 * after a failed one first closes and reopens the database: opening replays
 * RocksDB's own log and starts a clean instance. While the disk is still full
 * that open fails too; the store then opens the database read-only, so that
 * reads go on being served, and tries again at the next write. */
#include "storage/store_internal.h"

#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Memory budget: a node must stay well under 256 MB of RSS. One 32 MiB block
 * cache plus at most two 16 MiB memtables bounds RocksDB's share. */
#define ROCKS_BLOCK_CACHE_BYTES (32u * 1024u * 1024u)
#define ROCKS_WRITE_BUFFER_BYTES (16u * 1024u * 1024u)
#define ROCKS_WRITE_BUFFERS_MAX 2
/* Table readers hold index blocks; bounding open files bounds them too. */
#define ROCKS_OPEN_FILES_MAX 256
#define ROCKS_BLOOM_BITS_PER_KEY 10.0
/* Filter and index partitions of about this size (bytes). */
#define ROCKS_METADATA_BLOCK_BYTES 4096
/* Share of the write buffer given to the memtable's own bloom filter. */
#define ROCKS_MEMTABLE_BLOOM_RATIO 0.1

typedef struct rocks_store {
    store base;
    char *path;
    bool reopen;    /* the last write failed: reopen before the next one */
    bool read_only; /* db is a read-only instance (a reopen failed) */
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *table;
    rocksdb_cache_t *cache;
    rocksdb_readoptions_t *ropts;
    rocksdb_writeoptions_t *wopts;
    rocksdb_writeoptions_t *wopts_sync;
} rocks_store;

/* RocksDB reports a full disk only in its status text (IOError, subcode
 * NoSpace: "... No space left on device"). */
static bool rocks_err_nospace(const char *err) {
    return err != NULL && (strstr(err, "No space left on device") != NULL || strstr(err, "NoSpace") != NULL);
}

/* Converts and frees RocksDB's error string. */
static int rocks_fail(gz_msg *msg, char *err, const char *what) {
    int rc = rocks_err_nospace(err) ? GZ_ENOSPC : GZ_ESTORAGE;
    gz_fail(msg, rc, "rocksdb %s: %s%s", what, rc == GZ_ENOSPC ? "disk full: " : "",
            err != NULL ? err : "unknown error");
    rocksdb_free(err);
    return rc;
}

static int rocks_get(store *s, const uint8_t *key, size_t key_len, gz_buf *val) {
    rocks_store *r = (rocks_store *)s;
    if (r->db == NULL) return gz_fail(&s->last_error, GZ_ESTORAGE, "rocksdb get: %s is not open", r->path);
    char *err = NULL;
    rocksdb_pinnableslice_t *v =
        rocksdb_get_pinned(r->db, r->ropts, (const char *)key, key_len, &err);
    if (err != NULL) return rocks_fail(&s->last_error, err, "get");
    if (v == NULL) return GZ_ENOTFOUND;
    size_t n = 0;
    const char *p = rocksdb_pinnableslice_value(v, &n);
    int rc = n > 0 ? gz_buf_append(val, p, n) : GZ_OK;
    rocksdb_pinnableslice_destroy(v);
    return rc;
}

/* Closes the instance and opens a writable one; when that fails, a
 * read-only one for the reads, and the next write tries again. */
static int rocks_reopen(rocks_store *r) {
    if (r->db != NULL) rocksdb_close(r->db);
    r->db = NULL;
    char *err = NULL;
    r->db = rocksdb_open(r->opts, r->path, &err);
    if (err == NULL && r->db != NULL) {
        r->reopen = r->read_only = false;
        return GZ_OK;
    }
    int rc = rocks_fail(&r->base.last_error, err, "reopen");
    r->db = NULL;
    err = NULL;
    r->db = rocksdb_open_for_read_only(r->opts, r->path, 0, &err);
    if (err != NULL) {
        rocksdb_free(err);
        r->db = NULL;
    }
    r->read_only = r->db != NULL;
    return rc;
}

static int rocks_write(store *s, const store_batch *b, bool sync) {
    rocks_store *r = (rocks_store *)s;
    if (r->reopen || r->db == NULL) {
        int rc = rocks_reopen(r);
        if (rc != GZ_OK) return rc;
    }
    rocksdb_writebatch_t *wb = rocksdb_writebatch_create();
    if (wb == NULL) return GZ_ENOMEM;
    store_op op;
    size_t pos = 0;
    while (store_batch_next(b, &pos, &op)) {
        if (op.op == STORE_OP_PUT)
            rocksdb_writebatch_put(wb, (const char *)op.key, op.key_len, (const char *)op.val,
                                   op.val_len);
        else
            rocksdb_writebatch_delete(wb, (const char *)op.key, op.key_len);
    }
    char *err = NULL;
    rocksdb_write(r->db, sync ? r->wopts_sync : r->wopts, wb, &err);
    rocksdb_writebatch_destroy(wb);
    if (err != NULL) {
        r->reopen = true;
        char what[512];
        snprintf(what, sizeof what, "write in %s", r->path);
        return rocks_fail(&s->last_error, err, what);
    }
    return GZ_OK;
}

static int rocks_scan(store *s, const uint8_t *prefix, size_t prefix_len, const uint8_t *start,
                      size_t start_len, store_iter_cb cb, void *data) {
    rocks_store *r = (rocks_store *)s;
    const uint8_t *first;
    size_t first_len;
    store_scan_first(prefix, prefix_len, start, start_len, &first, &first_len);
    if (r->db == NULL) return gz_fail(&s->last_error, GZ_ESTORAGE, "rocksdb scan: %s is not open", r->path);
    rocksdb_iterator_t *it = rocksdb_create_iterator(r->db, r->ropts);
    if (it == NULL) return GZ_ENOMEM;
    if (first_len == 0) rocksdb_iter_seek_to_first(it);
    else rocksdb_iter_seek(it, (const char *)first, first_len);
    for (; rocksdb_iter_valid(it); rocksdb_iter_next(it)) {
        size_t key_len = 0, val_len = 0;
        const uint8_t *key = (const uint8_t *)rocksdb_iter_key(it, &key_len);
        if (!store_has_prefix(key, key_len, prefix, prefix_len)) break;
        const uint8_t *val = (const uint8_t *)rocksdb_iter_value(it, &val_len);
        if (!cb(key, key_len, val, val_len, data)) break;
    }
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    rocksdb_iter_destroy(it);
    if (err != NULL) return rocks_fail(&s->last_error, err, "scan");
    return GZ_OK;
}

/* Releases whatever of r exists; safe on a half-opened store. */
static void rocks_release(rocks_store *r) {
    if (r->db != NULL) rocksdb_close(r->db);
    if (r->wopts_sync != NULL) rocksdb_writeoptions_destroy(r->wopts_sync);
    if (r->wopts != NULL) rocksdb_writeoptions_destroy(r->wopts);
    if (r->ropts != NULL) rocksdb_readoptions_destroy(r->ropts);
    if (r->opts != NULL) rocksdb_options_destroy(r->opts);
    if (r->table != NULL) rocksdb_block_based_options_destroy(r->table);
    if (r->cache != NULL) rocksdb_cache_destroy(r->cache);
    free(r->path);
    free(r);
}

static void rocks_close(store *s) { rocks_release((rocks_store *)s); }

static const store_ops rocks_ops = {rocks_get, rocks_write, rocks_scan, rocks_close};

static int rocks_configure(rocks_store *r) {
    r->opts = rocksdb_options_create();
    r->table = rocksdb_block_based_options_create();
    /* One shard: the store is used from one thread, and a sharded cache
     * refuses any block larger than a shard (32 MiB / 64 by default). */
    rocksdb_lru_cache_options_t *lru = rocksdb_lru_cache_options_create();
    if (lru != NULL) {
        rocksdb_lru_cache_options_set_capacity(lru, ROCKS_BLOCK_CACHE_BYTES);
        rocksdb_lru_cache_options_set_num_shard_bits(lru, 0);
        r->cache = rocksdb_cache_create_lru_opts(lru);
        rocksdb_lru_cache_options_destroy(lru);
    }
    r->ropts = rocksdb_readoptions_create();
    r->wopts = rocksdb_writeoptions_create();
    r->wopts_sync = rocksdb_writeoptions_create();
    if (r->opts == NULL || r->table == NULL || r->cache == NULL || r->ropts == NULL ||
        r->wopts == NULL || r->wopts_sync == NULL)
        return GZ_ENOMEM;
    rocksdb_block_based_options_set_block_cache(r->table, r->cache);
    /* Index and filter blocks live in the cache, so its bound covers them,
     * and both are partitioned into small blocks behind a pinned top level.
     * With whole-file filters, a table of about 500,000 keys has a filter
     * larger than a cache shard: it was read and parsed again on every lookup
     * of an absent key, about 120 µs each (docs/performance.md), and most of
     * the reads a tx causes are of keys that do not exist yet. */
    rocksdb_block_based_options_set_cache_index_and_filter_blocks(r->table, 1);
    rocksdb_block_based_options_set_filter_policy(
        r->table, rocksdb_filterpolicy_create_bloom_full(ROCKS_BLOOM_BITS_PER_KEY));
    rocksdb_block_based_options_set_index_type(r->table,
                                               rocksdb_block_based_table_index_type_two_level_index_search);
    rocksdb_block_based_options_set_partition_filters(r->table, 1);
    rocksdb_block_based_options_set_metadata_block_size(r->table, ROCKS_METADATA_BLOCK_BYTES);
    rocksdb_block_based_options_set_pin_top_level_index_and_filter(r->table, 1);
    /* Absent keys also skip the memtables' skip-list search. */
    rocksdb_options_set_memtable_prefix_bloom_size_ratio(r->opts, ROCKS_MEMTABLE_BLOOM_RATIO);
    rocksdb_options_set_memtable_whole_key_filtering(r->opts, 1);
    rocksdb_options_set_block_based_table_factory(r->opts, r->table);
    rocksdb_options_set_create_if_missing(r->opts, 1);
    rocksdb_options_set_write_buffer_size(r->opts, ROCKS_WRITE_BUFFER_BYTES);
    rocksdb_options_set_max_write_buffer_number(r->opts, ROCKS_WRITE_BUFFERS_MAX);
    rocksdb_options_set_max_open_files(r->opts, ROCKS_OPEN_FILES_MAX);
    rocksdb_options_set_max_background_jobs(r->opts, 2);
    rocksdb_options_set_keep_log_file_num(r->opts, 4);
    rocksdb_writeoptions_set_sync(r->wopts_sync, 1);
    return GZ_OK;
}

int store_open_rocksdb(store **out, const char *path, gz_msg *msg) {
    if (out == NULL) return GZ_EMISUSE;
    *out = NULL;
    if (path == NULL || path[0] == '\0') return gz_fail(msg, GZ_EARG, "store path: empty");
    rocks_store *r = calloc(1, sizeof *r);
    if (r == NULL) return gz_fail(msg, GZ_ENOMEM, "store: out of memory");
    r->base.ops = &rocks_ops;
    r->path = strdup(path);
    if (r->path == NULL || rocks_configure(r) != GZ_OK) {
        rocks_release(r);
        return gz_fail(msg, GZ_ENOMEM, "store: out of memory configuring rocksdb");
    }
    char *err = NULL;
    r->db = rocksdb_open(r->opts, path, &err);
    if (err != NULL || r->db == NULL) {
        int rc = rocks_fail(msg, err, "open");
        r->db = NULL;
        rocks_release(r);
        return rc;
    }
    *out = &r->base;
    return GZ_OK;
}
