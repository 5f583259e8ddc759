/* Storage: every behaviour test runs against both backends, and against
 * RocksDB behind a deliberately tiny read cache, through one table (BOTH
 * below); plus RocksDB-only tests for what only a disk can show, and tests of
 * the cache against an uncached reference. */
#include <criterion/criterion.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "storage/keys.h"
#include "storage/store.h"

typedef struct fixture {
    store *s;
    bool rocks;
    bool cached;
    char dir[64];
} fixture;

/* Small enough that the behaviour tests evict: 16 entries, 2 KiB. */
#define TINY_CACHE_ENTRIES 16
#define TINY_CACHE_BYTES 2048

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fx_open(fixture *f) {
    gz_msg msg = {{0}};
    if (f->rocks) {
        cr_assert_eq(store_open_rocksdb(&f->s, f->dir, &msg), GZ_OK, "%s", msg.text);
    } else {
        cr_assert_eq(store_open_memory(&f->s), GZ_OK);
    }
    cr_assert_not_null(f->s);
    if (f->cached) cr_assert_eq(store_cache_enable(f->s, TINY_CACHE_ENTRIES, TINY_CACHE_BYTES), GZ_OK);
}

static void fx_init(fixture *f, bool rocks, bool cached) {
    memset(f, 0, sizeof *f);
    f->rocks = rocks;
    f->cached = cached;
    if (rocks) {
        strcpy(f->dir, "/tmp/gz_test_storage_XXXXXX");
        cr_assert_not_null(mkdtemp(f->dir));
    }
    fx_open(f);
}

static void fx_reopen(fixture *f) {
    cr_assert(f->rocks);
    store_close(f->s);
    f->s = NULL;
    fx_open(f);
}

static void fx_done(fixture *f) {
    store_close(f->s);
    f->s = NULL;
    if (f->rocks && f->dir[0] != '\0') nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    f->dir[0] = '\0';
}

/* Each test runs in its own process with this fixture; the suite's fini
 * removes the temporary directory even when an assertion failed. */
static fixture fx;

static void fx_cleanup(void) { fx_done(&fx); }

TestSuite(storage_memory, .fini = fx_cleanup);
TestSuite(storage_rocksdb, .fini = fx_cleanup);
TestSuite(storage_cached, .fini = fx_cleanup);

static const uint8_t *u8(const char *s) { return (const uint8_t *)s; }

static void put_str(store *s, const char *k, const char *v) {
    store_batch b;
    store_batch_init(&b);
    cr_assert_eq(store_batch_put(&b, u8(k), strlen(k), u8(v), strlen(v)), GZ_OK);
    cr_assert_eq(store_write(s, &b, false), GZ_OK);
    store_batch_free(&b);
}

static void expect_str(store *s, const char *k, const char *v) {
    gz_buf val;
    gz_buf_init(&val);
    int err = store_get(s, u8(k), strlen(k), &val);
    if (v == NULL) {
        cr_assert_eq(err, GZ_ENOTFOUND, "key %s: got %d", k, err);
        cr_assert_eq(val.len, 0);
    } else {
        cr_assert_eq(err, GZ_OK, "key %s: got %d", k, err);
        cr_assert_eq(val.len, strlen(v), "key %s", k);
        cr_assert(val.len == 0 || memcmp(val.data, v, val.len) == 0, "key %s", k);
    }
    gz_buf_free(&val);
}

/* Collects a scan's keys (as strings) into a fixed array. */
typedef struct collect {
    char keys[64][32];
    char vals[64][32];
    size_t n;
    size_t stop_after; /* 0 = never stop */
} collect;

static bool collect_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                       void *data) {
    collect *c = data;
    cr_assert_lt(c->n, 64);
    cr_assert_lt(key_len, 32);
    cr_assert_lt(val_len, 32);
    memcpy(c->keys[c->n], key, key_len);
    c->keys[c->n][key_len] = '\0';
    memcpy(c->vals[c->n], val, val_len);
    c->vals[c->n][val_len] = '\0';
    c->n++;
    return c->stop_after == 0 || c->n < c->stop_after;
}

static void t_put_get_del(fixture *f) {
    put_str(f->s, "alpha", "1");
    put_str(f->s, "beta", "2");
    expect_str(f->s, "alpha", "1");
    expect_str(f->s, "beta", "2");
    put_str(f->s, "alpha", "one"); /* overwrite */
    expect_str(f->s, "alpha", "one");
    put_str(f->s, "empty", "");
    expect_str(f->s, "empty", "");
    store_batch b;
    store_batch_init(&b);
    cr_assert_eq(store_batch_del(&b, u8("alpha"), 5), GZ_OK);
    cr_assert_eq(store_batch_del(&b, u8("never-there"), 11), GZ_OK);
    cr_assert_eq(b.count, 2);
    cr_assert_eq(store_write(f->s, &b, true), GZ_OK);
    store_batch_free(&b);
    expect_str(f->s, "alpha", NULL);
    expect_str(f->s, "beta", "2");
}

static void t_batch_order_and_visibility(fixture *f) {
    store_batch b;
    store_batch_init(&b);
    cr_assert_eq(store_batch_put(&b, u8("k"), 1, u8("first"), 5), GZ_OK);
    cr_assert_eq(store_batch_del(&b, u8("k"), 1), GZ_OK);
    cr_assert_eq(store_batch_put(&b, u8("k"), 1, u8("last"), 4), GZ_OK);
    cr_assert_eq(store_batch_put(&b, u8("gone"), 4, u8("x"), 1), GZ_OK);
    cr_assert_eq(store_batch_del(&b, u8("gone"), 4), GZ_OK);
    cr_assert_eq(store_batch_put(&b, u8("other"), 5, u8("o"), 1), GZ_OK);
    /* Nothing is visible before the write. */
    expect_str(f->s, "k", NULL);
    expect_str(f->s, "other", NULL);
    cr_assert_eq(store_write(f->s, &b, true), GZ_OK);
    expect_str(f->s, "k", "last");
    expect_str(f->s, "gone", NULL);
    expect_str(f->s, "other", "o");
    store_batch_clear(&b);
    cr_assert_eq(b.count, 0);
    cr_assert_eq(store_write(f->s, &b, true), GZ_OK); /* empty batch: no-op */
    expect_str(f->s, "k", "last");
    /* Bad arguments leave the batch unchanged. */
    cr_assert_eq(store_batch_put(&b, NULL, 0, u8("v"), 1), GZ_EMISUSE);
    cr_assert_eq(store_batch_put(&b, u8("k"), 1, NULL, 3), GZ_EMISUSE);
    cr_assert_eq(store_batch_del(&b, u8("k"), 0), GZ_EMISUSE);
    cr_assert_eq(b.count, 0);
    cr_assert_eq(b.ops.len, 0);
    store_batch_free(&b);
}

static void t_scan_prefix_start(fixture *f) {
    /* Inserted out of order; scans must come back sorted. */
    const char *keys[] = {"b3", "a1", "c1", "b1", "b", "b20", "b2", "a9", "bz", "c0"};
    store_batch b;
    store_batch_init(&b);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        cr_assert_eq(store_batch_put(&b, u8(keys[i]), strlen(keys[i]), u8(keys[i]), 1), GZ_OK);
    cr_assert_eq(store_write(f->s, &b, false), GZ_OK);
    store_batch_free(&b);

    collect c = {0};
    cr_assert_eq(store_scan(f->s, u8("b"), 1, NULL, 0, collect_cb, &c), GZ_OK);
    const char *want[] = {"b", "b1", "b2", "b20", "b3", "bz"};
    cr_assert_eq(c.n, 6);
    for (size_t i = 0; i < 6; i++) cr_assert_str_eq(c.keys[i], want[i]);
    cr_assert_str_eq(c.vals[0], "b");

    memset(&c, 0, sizeof c);
    cr_assert_eq(store_scan(f->s, u8("b"), 1, u8("b2"), 2, collect_cb, &c), GZ_OK);
    cr_assert_eq(c.n, 4);
    cr_assert_str_eq(c.keys[0], "b2");
    cr_assert_str_eq(c.keys[3], "bz");

    memset(&c, 0, sizeof c); /* start between keys */
    cr_assert_eq(store_scan(f->s, u8("b"), 1, u8("b21"), 3, collect_cb, &c), GZ_OK);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.keys[0], "b3");

    memset(&c, 0, sizeof c); /* start below the prefix begins at the prefix */
    cr_assert_eq(store_scan(f->s, u8("b"), 1, u8("a5"), 2, collect_cb, &c), GZ_OK);
    cr_assert_eq(c.n, 6);
    cr_assert_str_eq(c.keys[0], "b");

    memset(&c, 0, sizeof c); /* start past the prefix visits nothing */
    cr_assert_eq(store_scan(f->s, u8("b"), 1, u8("c"), 1, collect_cb, &c), GZ_OK);
    cr_assert_eq(c.n, 0);

    memset(&c, 0, sizeof c); /* no prefix: everything, in order */
    cr_assert_eq(store_scan(f->s, NULL, 0, NULL, 0, collect_cb, &c), GZ_OK);
    cr_assert_eq(c.n, 10);
    cr_assert_str_eq(c.keys[0], "a1");
    cr_assert_str_eq(c.keys[9], "c1");

    memset(&c, 0, sizeof c);
    cr_assert_eq(store_scan(f->s, u8("d"), 1, NULL, 0, collect_cb, &c), GZ_OK);
    cr_assert_eq(c.n, 0);
}

static void t_scan_stops_early(fixture *f) {
    for (char ch = 'a'; ch <= 'j'; ch++) {
        char k[3] = {'p', ch, 0};
        put_str(f->s, k, "v");
    }
    collect c = {0};
    c.stop_after = 3;
    cr_assert_eq(store_scan(f->s, u8("p"), 1, NULL, 0, collect_cb, &c), GZ_OK);
    cr_assert_eq(c.n, 3);
    cr_assert_str_eq(c.keys[2], "pc");
}

static void t_not_found(fixture *f) {
    gz_buf val;
    gz_buf_init(&val);
    cr_assert_eq(gz_buf_append(&val, "stale", 5), GZ_OK);
    cr_assert_eq(store_get(f->s, u8("missing"), 7, &val), GZ_ENOTFOUND);
    cr_assert_eq(val.len, 0); /* replaced, not appended to */
    cr_assert_eq(store_get(f->s, u8("x"), 0, &val), GZ_EMISUSE);
    cr_assert_eq(store_block_get(f->s, 7, &val), GZ_ENOTFOUND);
    cr_assert_eq(store_commit_get(f->s, 7, &val), GZ_ENOTFOUND);
    cr_assert_eq(store_log_get(f->s, 0, &val), GZ_ENOTFOUND);
    uint64_t h = 99;
    cr_assert_eq(store_meta_get_u64(f->s, STORE_META_HEIGHT, &h), GZ_ENOTFOUND);
    cr_assert_eq(h, 0);
    gz_buf_free(&val);
}

static void t_typed_round_trip(fixture *f) {
    uint8_t block[300], commit[100], leaf[50], id[32];
    memset(block, 0xbb, sizeof block);
    memset(commit, 0xcc, sizeof commit);
    memset(leaf, 0x11, sizeof leaf);
    memset(id, 0x42, sizeof id);
    store_batch b;
    store_batch_init(&b);
    cr_assert_eq(store_block_put(&b, 5, block, sizeof block), GZ_OK);
    cr_assert_eq(store_commit_put(&b, 5, commit, sizeof commit), GZ_OK);
    cr_assert_eq(store_meta_put_u64(&b, STORE_META_HEIGHT, 5), GZ_OK);
    cr_assert_eq(store_meta_put(&b, STORE_META_LAST_BLOCK_ID, id, sizeof id), GZ_OK);
    cr_assert_eq(store_log_put(&b, 3, leaf, sizeof leaf), GZ_OK);
    cr_assert_eq(store_state_put(&b, u8("acct/1"), 6, u8("A1"), 2), GZ_OK);
    cr_assert_eq(store_state_put(&b, u8("acct/2"), 6, u8("A2"), 2), GZ_OK);
    cr_assert_eq(store_state_put(&b, u8("role/x"), 6, u8("R"), 1), GZ_OK);
    cr_assert_eq(store_write(f->s, &b, true), GZ_OK);
    store_batch_clear(&b);

    gz_buf v;
    gz_buf_init(&v);
    cr_assert_eq(store_block_get(f->s, 5, &v), GZ_OK);
    cr_assert(v.len == sizeof block && memcmp(v.data, block, v.len) == 0);
    cr_assert_eq(store_block_get(f->s, 4, &v), GZ_ENOTFOUND);
    cr_assert_eq(store_commit_get(f->s, 5, &v), GZ_OK);
    cr_assert(v.len == sizeof commit && memcmp(v.data, commit, v.len) == 0);
    cr_assert_eq(store_log_get(f->s, 3, &v), GZ_OK);
    cr_assert(v.len == sizeof leaf && memcmp(v.data, leaf, v.len) == 0);
    cr_assert_eq(store_meta_get(f->s, STORE_META_LAST_BLOCK_ID, &v), GZ_OK);
    cr_assert(v.len == 32 && memcmp(v.data, id, 32) == 0);
    uint64_t h = 0;
    cr_assert_eq(store_meta_get_u64(f->s, STORE_META_HEIGHT, &h), GZ_OK);
    cr_assert_eq(h, 5);
    cr_assert_eq(store_state_get(f->s, u8("acct/2"), 6, &v), GZ_OK);
    cr_assert(v.len == 2 && memcmp(v.data, "A2", 2) == 0);

    /* State scans see the ledger's own keys, without the family byte. */
    collect c = {0};
    cr_assert_eq(store_state_scan(f->s, u8("acct/"), 5, NULL, 0, collect_cb, &c), GZ_OK);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.keys[0], "acct/1");
    cr_assert_str_eq(c.vals[1], "A2");
    memset(&c, 0, sizeof c);
    cr_assert_eq(store_state_scan(f->s, NULL, 0, u8("acct/2"), 6, collect_cb, &c), GZ_OK);
    cr_assert_eq(c.n, 2);
    cr_assert_str_eq(c.keys[1], "role/x");

    cr_assert_eq(store_state_del(&b, u8("acct/1"), 6), GZ_OK);
    cr_assert_eq(store_write(f->s, &b, true), GZ_OK);
    cr_assert_eq(store_state_get(f->s, u8("acct/1"), 6, &v), GZ_ENOTFOUND);
    gz_buf_free(&v);
    store_batch_free(&b);
}

static void t_typed_errors(fixture *f) {
    store_batch b;
    store_batch_init(&b);
    char long_name[STORE_META_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    cr_assert_eq(store_meta_put_u64(&b, long_name, 1), GZ_EMISUSE);
    cr_assert_eq(store_meta_put_u64(&b, "", 1), GZ_EMISUSE);
    cr_assert_eq(store_state_put(&b, u8("k"), 0, u8("v"), 1), GZ_EMISUSE);
    cr_assert_eq(store_state_put(&b, u8("k"), STORE_KEY_BYTES_MAX, u8("v"), 1), GZ_EMISUSE);
    cr_assert_eq(b.count, 0);

    /* A u64 meta value of the wrong size is corruption, not a result. */
    cr_assert_eq(store_meta_put(&b, STORE_META_HEIGHT, u8("abc"), 3), GZ_OK);
    cr_assert_eq(store_write(f->s, &b, false), GZ_OK);
    uint64_t h = 7;
    cr_assert_eq(store_meta_get_u64(f->s, STORE_META_HEIGHT, &h), GZ_ECORRUPT);
    cr_assert_eq(h, 0);
    store_batch_free(&b);
}

static bool heights_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                       void *data) {
    (void)val;
    (void)val_len;
    uint64_t *seen = data; /* seen[0] = count, then heights */
    uint64_t h = 0;
    cr_assert_eq(store_key_height(&h, STORE_PFX_BLOCK, key, key_len), GZ_OK);
    cr_assert_lt(seen[0], 16);
    seen[1 + seen[0]++] = h;
    return true;
}

static void t_height_order(fixture *f) {
    /* Inserted shuffled; includes values whose little-endian order differs. */
    const uint64_t hs[] = {65536, 1, UINT64_MAX, 256, 0, 255, 1ull << 32, (1ull << 40) + 1};
    const size_t n = sizeof hs / sizeof hs[0];
    store_batch b;
    store_batch_init(&b);
    for (size_t i = 0; i < n; i++) cr_assert_eq(store_block_put(&b, hs[i], u8("blk"), 3), GZ_OK);
    /* Neighbouring families must not leak into a block scan. */
    cr_assert_eq(store_commit_put(&b, 3, u8("c"), 1), GZ_OK);
    cr_assert_eq(store_log_put(&b, 3, u8("l"), 1), GZ_OK);
    cr_assert_eq(store_write(f->s, &b, false), GZ_OK);
    store_batch_free(&b);
    uint64_t seen[17] = {0};
    uint8_t pfx = STORE_PFX_BLOCK;
    cr_assert_eq(store_scan(f->s, &pfx, 1, NULL, 0, heights_cb, seen), GZ_OK);
    cr_assert_eq(seen[0], n);
    for (size_t i = 1; i < n; i++) cr_assert_lt(seen[i], seen[i + 1]);
    cr_assert_eq(seen[1], 0);
    cr_assert_eq(seen[n], UINT64_MAX);

    /* Starting from a height key resumes in numeric order. */
    memset(seen, 0, sizeof seen);
    store_key k;
    store_key_block(&k, 257);
    cr_assert_eq(store_scan(f->s, &pfx, 1, k.bytes, k.len, heights_cb, seen), GZ_OK);
    cr_assert_eq(seen[0], 4);
    cr_assert_eq(seen[1], 65536);
    uint64_t h = 1;
    cr_assert_eq(store_key_height(&h, STORE_PFX_COMMIT, k.bytes, k.len), GZ_ECORRUPT);
    cr_assert_eq(h, 0);
}

static bool count_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                     void *data) {
    (void)val;
    (void)val_len;
    uint64_t *st = data; /* st[0] = count, st[1] = last index + 1 */
    uint64_t h = 0;
    cr_assert_eq(store_key_height(&h, STORE_PFX_LOG, key, key_len), GZ_OK);
    cr_assert(st[0] == 0 || h + 1 > st[1], "out of order at %llu", (unsigned long long)h);
    st[0]++;
    st[1] = h + 1;
    return true;
}

/* Many keys in a scattered order: the simulator's load on the memory store. */
static void t_many_keys(fixture *f) {
    const uint64_t n = 20000;
    store_batch b;
    store_batch_init(&b);
    for (uint64_t i = 0; i < n; i++) {
        uint64_t x = (i * 7919u) % n; /* 7919 is prime and coprime to n */
        uint8_t v[8];
        memcpy(v, &x, sizeof v);
        cr_assert_eq(store_log_put(&b, x, v, sizeof v), GZ_OK);
        if (b.count == 1000) {
            cr_assert_eq(store_write(f->s, &b, false), GZ_OK);
            store_batch_clear(&b);
        }
    }
    cr_assert_eq(store_write(f->s, &b, false), GZ_OK);
    store_batch_clear(&b);
    for (uint64_t x = 0; x < n; x += 2) {
        store_key k;
        store_key_log(&k, x);
        cr_assert_eq(store_batch_del(&b, k.bytes, k.len), GZ_OK);
    }
    cr_assert_eq(store_write(f->s, &b, false), GZ_OK);
    store_batch_free(&b);
    uint64_t st[2] = {0, 0};
    uint8_t pfx = STORE_PFX_LOG;
    cr_assert_eq(store_scan(f->s, &pfx, 1, NULL, 0, count_cb, st), GZ_OK);
    cr_assert_eq(st[0], n / 2);
    cr_assert_eq(st[1], n); /* the last odd index is n - 1 */
    gz_buf v;
    gz_buf_init(&v);
    cr_assert_eq(store_log_get(f->s, 12345, &v), GZ_OK);
    uint64_t got;
    cr_assert_eq(v.len, 8);
    memcpy(&got, v.data, 8);
    cr_assert_eq(got, 12345);
    cr_assert_eq(store_log_get(f->s, 12344, &v), GZ_ENOTFOUND);
    gz_buf_free(&v);
}

typedef void (*store_test_fn)(fixture *f);

static void run_on(store_test_fn fn, bool rocks, bool cached) {
    fx_init(&fx, rocks, cached);
    fn(&fx);
}

/* The test table: each entry runs once per backend, and on RocksDB behind a
 * tiny cache. */
#define BOTH(name)                                                  \
    Test(storage_memory, name) { run_on(t_##name, false, false); }  \
    Test(storage_rocksdb, name) { run_on(t_##name, true, false); }  \
    Test(storage_cached, name) { run_on(t_##name, true, true); }

BOTH(put_get_del)
BOTH(batch_order_and_visibility)
BOTH(scan_prefix_start)
BOTH(scan_stops_early)
BOTH(not_found)
BOTH(typed_round_trip)
BOTH(typed_errors)
BOTH(height_order)
BOTH(many_keys)

Test(storage_rocksdb, reopen_keeps_data) {
    fixture *f = &fx;
    fx_init(f, true, false);
    store_batch b;
    store_batch_init(&b);
    cr_assert_eq(store_block_put(&b, 1, u8("block-one"), 9), GZ_OK);
    cr_assert_eq(store_meta_put_u64(&b, STORE_META_HEIGHT, 1), GZ_OK);
    cr_assert_eq(store_write(f->s, &b, true), GZ_OK);
    store_batch_free(&b);
    put_str(f->s, "unsynced", "still-here");
    fx_reopen(f);
    gz_buf v;
    gz_buf_init(&v);
    cr_assert_eq(store_block_get(f->s, 1, &v), GZ_OK);
    cr_assert(v.len == 9 && memcmp(v.data, "block-one", 9) == 0);
    uint64_t h = 0;
    cr_assert_eq(store_meta_get_u64(f->s, STORE_META_HEIGHT, &h), GZ_OK);
    cr_assert_eq(h, 1);
    expect_str(f->s, "unsynced", "still-here");
    gz_buf_free(&v);
}

Test(storage_rocksdb, open_error_is_reported) {
    char path[] = "/tmp/gz_test_storage_file_XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    store *s = (store *)1;
    gz_msg msg = {{0}};
    /* A regular file where the directory should be. */
    cr_assert_eq(store_open_rocksdb(&s, path, &msg), GZ_ESTORAGE);
    cr_assert_null(s);
    cr_assert_neq(msg.text[0], '\0');
    cr_assert_eq(store_open_rocksdb(&s, "", &msg), GZ_EARG);
    unlink(path);
}

/* A process killed in the middle of writing batches leaves each batch whole
 * or absent: every key of the family carries the same generation. */
#define ATOMIC_KEYS 50
static void atomic_writer(const char *dir, int ready_fd) {
    store *s = NULL;
    if (store_open_rocksdb(&s, dir, NULL) != GZ_OK) _exit(2);
    store_batch b;
    store_batch_init(&b);
    for (uint64_t gen = 1;; gen++) {
        store_batch_clear(&b);
        uint8_t v[8];
        memcpy(v, &gen, 8);
        for (uint64_t i = 0; i < ATOMIC_KEYS; i++)
            if (store_log_put(&b, i, v, sizeof v) != GZ_OK) _exit(3);
        if (store_write(s, &b, false) != GZ_OK) _exit(4);
        /* The parent kills only after at least one batch landed. */
        if (gen == 1 && (write(ready_fd, "r", 1) != 1 || close(ready_fd) != 0)) _exit(5);
    }
}

static bool same_gen_cb(const uint8_t *key, size_t key_len, const uint8_t *val, size_t val_len,
                        void *data) {
    (void)key;
    (void)key_len;
    uint64_t *st = data; /* st[0] = count, st[1] = generation */
    uint64_t gen;
    cr_assert_eq(val_len, 8);
    memcpy(&gen, val, 8);
    if (st[0] == 0) st[1] = gen;
    cr_assert_eq(gen, st[1], "torn batch: generation %llu next to %llu",
                 (unsigned long long)gen, (unsigned long long)st[1]);
    st[0]++;
    return true;
}

Test(storage_rocksdb, batch_atomic_across_kill) {
    fixture *f = &fx;
    fx_init(f, true, false);
    store_close(f->s);
    f->s = NULL;
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        atomic_writer(f->dir, fds[1]);
    }
    close(fds[1]);
    char r = 0;
    cr_assert_eq(read(fds[0], &r, 1), 1);
    close(fds[0]);
    /* Let it write for a while, so the kill lands in the middle of a batch. */
    struct timespec ts = {0, 100 * 1000 * 1000};
    nanosleep(&ts, NULL);
    cr_assert_eq(kill(pid, SIGKILL), 0);
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status), "writer exited early with %d", WEXITSTATUS(status));
    fx_open(f);
    uint64_t st[2] = {0, 0};
    uint8_t pfx = STORE_PFX_LOG;
    cr_assert_eq(store_scan(f->s, &pfx, 1, NULL, 0, same_gen_cb, st), GZ_OK);
    cr_assert_eq(st[0], ATOMIC_KEYS);
    cr_assert_gt(st[1], 0);
}

/* ---- the read cache against an uncached reference ------------------------ */

static uint64_t rng_next(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* The same random batches go to a cached RocksDB store and an uncached memory
 * store; after every batch, random reads (of written, deleted and never
 * written keys) must agree. Values up to 6 KiB cross the 4 KiB limit of what
 * the cache keeps, and the cache is small, so every path runs: hits, absent
 * hits, misses, updates, drops of large values, evictions, the byte sweep. */
static void cache_model_run(size_t entries, size_t bytes, uint64_t seed) {
    fixture *f = &fx;
    fx_init(f, true, false);
    cr_assert_eq(store_cache_enable(f->s, entries, bytes), GZ_OK);
    store *ref = NULL;
    cr_assert_eq(store_open_memory(&ref), GZ_OK);
    static uint8_t val[6144];
    gz_buf a, b;
    gz_buf_init(&a);
    gz_buf_init(&b);
    for (int round = 0; round < 300; round++) {
        store_batch batch;
        store_batch_init(&batch);
        int ops = 1 + (int)(rng_next(&seed) % 8);
        for (int i = 0; i < ops; i++) {
            char key[16];
            int kl = snprintf(key, sizeof key, "k%u", (unsigned)(rng_next(&seed) % 64));
            if (rng_next(&seed) % 4 == 0) {
                cr_assert_eq(store_batch_del(&batch, u8(key), (size_t)kl), GZ_OK);
            } else {
                size_t vl = rng_next(&seed) % 8 == 0 ? 4000 + rng_next(&seed) % 2000 : rng_next(&seed) % 64;
                memset(val, (int)(rng_next(&seed) & 0xff), vl);
                snprintf((char *)val, 12, "r%d", round);
                cr_assert_eq(store_batch_put(&batch, u8(key), (size_t)kl, val, vl), GZ_OK);
            }
        }
        cr_assert_eq(store_write(f->s, &batch, false), GZ_OK);
        cr_assert_eq(store_write(ref, &batch, false), GZ_OK);
        store_batch_free(&batch);
        for (int i = 0; i < 24; i++) {
            char key[16];
            int kl = snprintf(key, sizeof key, "k%u", (unsigned)(rng_next(&seed) % 80));
            int ea = store_get(f->s, u8(key), (size_t)kl, &a);
            int eb = store_get(ref, u8(key), (size_t)kl, &b);
            cr_assert_eq(ea, eb, "round %d key %s: cached %d, reference %d", round, key, ea, eb);
            cr_assert_eq(a.len, b.len, "round %d key %s", round, key);
            cr_assert(a.len == 0 || memcmp(a.data, b.data, a.len) == 0, "round %d key %s", round, key);
        }
        store_cache_stats st;
        cr_assert(store_cache_stats_get(f->s, &st));
        cr_assert_leq(st.bytes, bytes, "round %d: %zu bytes held", round, st.bytes);
    }
    store_cache_stats st;
    cr_assert(store_cache_stats_get(f->s, &st));
    cr_assert_gt(st.hits, 0);
    cr_assert_gt(st.misses, 0);
    gz_buf_free(&a);
    gz_buf_free(&b);
    store_close(ref);
}

Test(storage_cached, matches_reference_when_small) { cache_model_run(16, 1024, 0x1234567u); }
Test(storage_cached, matches_reference_when_large) { cache_model_run(4096, 1u << 20, 0x89abcdefu); }

Test(storage_cached, hits_after_first_read_and_after_write) {
    fixture *f = &fx;
    fx_init(f, true, false);
    cr_assert_eq(store_cache_enable(f->s, 64, 1u << 16), GZ_OK);
    put_str(f->s, "acct", "v1");
    expect_str(f->s, "acct", "v1");   /* miss: read from RocksDB */
    expect_str(f->s, "acct", "v1");   /* hit */
    expect_str(f->s, "absent", NULL); /* miss, remembered as absent */
    expect_str(f->s, "absent", NULL); /* hit */
    put_str(f->s, "acct", "v2");      /* a cached value is updated by the write */
    put_str(f->s, "absent", "now");   /* a key cached as absent is dropped when created */
    expect_str(f->s, "acct", "v2");   /* hit */
    expect_str(f->s, "absent", "now"); /* miss: read from RocksDB again */
    expect_str(f->s, "absent", "now"); /* hit */
    store_cache_stats st;
    cr_assert(store_cache_stats_get(f->s, &st));
    cr_assert_eq(st.misses, 3);
    cr_assert_eq(st.hits, 4);
}

Test(storage_cached, enable_errors) {
    fixture *f = &fx;
    fx_init(f, false, false);
    store_cache_stats st;
    cr_assert_not(store_cache_stats_get(f->s, &st), "no cache yet");
    cr_assert_eq(store_cache_enable(f->s, 7, 1024), GZ_EMISUSE, "fewer entries than one set");
    cr_assert_eq(store_cache_enable(f->s, 64, 0), GZ_EMISUSE, "no bytes");
    cr_assert_eq(store_cache_enable(NULL, 64, 1024), GZ_EMISUSE);
    cr_assert_eq(store_cache_enable(f->s, 64, 1024), GZ_OK);
    cr_assert_eq(store_cache_enable(f->s, 64, 1024), GZ_EMISUSE, "already enabled");
}
