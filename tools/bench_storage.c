/* `gongzhi bench`'s storage run: how long RocksDB, configured as the node
 * configures it (storage/store_rocksdb.c), takes to answer a read of a key
 * that does not exist and of one that does, once it holds as many keys as a
 * ledger reaches after a few million txs. Admitting and executing a tx reads
 * absent keys (its result, its artifact or vote) that no cache can answer, so
 * this cost is paid on every tx by every validator. The store's own read
 * cache is not enabled here: these are the reads it misses. */
#include <stdio.h>
#include <string.h>

#include "tools/bench.h"
#include "storage/store.h"

#define STORAGE_BATCH_KEYS 10000
#define STORAGE_READS 200000
#define STORAGE_KEY_BYTES 34 /* 'S', a family byte, 32 bytes: a ledger key's shape */

static uint64_t next_rand(uint64_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Key i of the stream seeded by seed: 'S' ‖ one of the ledger's per-tx
 * families ‖ 32 pseudo-random bytes. */
static void make_key(uint8_t key[STORAGE_KEY_BYTES], uint64_t *rng, uint64_t i) {
    static const char families[] = "tnaV";
    key[0] = 'S';
    key[1] = (uint8_t)families[i % 4];
    for (int j = 2; j < STORAGE_KEY_BYTES; j += 8) {
        uint64_t v = next_rand(rng);
        int n = STORAGE_KEY_BYTES - j < 8 ? STORAGE_KEY_BYTES - j : 8;
        memcpy(key + j, &v, (size_t)n);
    }
}

static int fill(store *s, uint64_t keys, uint64_t seed, gz_msg *msg) {
    uint8_t key[STORAGE_KEY_BYTES], val[200];
    memset(val, 0x5a, sizeof val);
    uint64_t rng = seed;
    store_batch b;
    store_batch_init(&b);
    int rc = GZ_OK;
    for (uint64_t i = 0; i < keys && rc == GZ_OK && !bench_stop; i++) {
        make_key(key, &rng, i);
        rc = store_batch_put(&b, key, sizeof key, val, 64 + i % 137); /* 64..200 bytes, like results and records */
        if (rc == GZ_OK && (b.count == STORAGE_BATCH_KEYS || i + 1 == keys)) {
            rc = store_write(s, &b, false);
            store_batch_clear(&b);
        }
    }
    store_batch_free(&b);
    if (rc != GZ_OK) gz_fail(msg, rc, "bench storage: write failed: %s", store_errmsg(s));
    return rc;
}

/* Average µs per read of `reads` keys from the stream seeded by seed (every
 * `stride`-th key of it); *found counts the reads that found their key. */
static double time_reads(store *s, uint64_t seed, uint64_t stride, uint64_t *found) {
    uint8_t key[STORAGE_KEY_BYTES];
    uint64_t rng = seed;
    gz_buf val;
    gz_buf_init(&val);
    *found = 0;
    double t0 = bench_now_ms();
    for (uint64_t i = 0; i < STORAGE_READS * stride && !bench_stop; i++) {
        make_key(key, &rng, i);
        if (i % stride != 0) continue;
        if (store_get(s, key, sizeof key, &val) == GZ_OK) (*found)++;
    }
    double us = (bench_now_ms() - t0) * 1000.0 / STORAGE_READS;
    gz_buf_free(&val);
    return us;
}

int bench_storage(const char *dir, uint64_t keys, gz_msg *msg) {
    store *s = NULL;
    int rc = store_open_rocksdb(&s, dir, msg);
    if (rc != GZ_OK) return rc;
    const uint64_t written = 0x9e3779b97f4a7c15ull, other = 0x2545f4914f6cdd1dull;
    printf("bench: storage run: %llu keys of 34 bytes into RocksDB, then %d reads of absent and of present keys\n",
           (unsigned long long)keys, STORAGE_READS);
    fflush(stdout);
    double t = bench_now_ms();
    rc = fill(s, keys, written, msg);
    if (rc == GZ_OK && !bench_stop) {
        double fill_s = (bench_now_ms() - t) / 1000.0;
        uint64_t found_absent = 0, found_present = 0;
        double absent_us = time_reads(s, other, 1, &found_absent);
        uint64_t stride = keys / STORAGE_READS > 0 ? keys / STORAGE_READS : 1;
        double present_us = time_reads(s, written, stride, &found_present);
        printf("bench:   written in %.1f s; absent keys found %llu (want 0), present keys found %llu of %d\n", fill_s,
               (unsigned long long)found_absent, (unsigned long long)found_present, STORAGE_READS);
        printf("RESULT_STORAGE keys=%llu absent_get_us=%.2f present_get_us=%.2f\n", (unsigned long long)keys,
               absent_us, present_us);
        if (found_absent != 0 || found_present != (uint64_t)STORAGE_READS)
            rc = gz_fail(msg, GZ_ESTORAGE, "bench storage: reads found the wrong keys");
    }
    store_close(s);
    return rc;
}
