/* The fault seam: a faulty store fails writes and reads on a schedule or by
 * seeded chance and changes nothing when it does; and RocksDB itself, after
 * a write the file system refused, keeps serving reads and takes writes
 * again once the cause is gone. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "storage/store.h"
#include "tests/unit/testutil.h"

static store *faulty(const store_fault_cfg *cfg) {
    store *mem = NULL, *s = NULL;
    cr_assert_eq(store_open_memory(&mem), GZ_OK);
    cr_assert_eq(store_open_faulty(&s, mem, cfg), GZ_OK);
    return s;
}

static int put(store *s, const char *key, const char *val) {
    store_batch b;
    store_batch_init(&b);
    cr_assert_eq(store_batch_put(&b, (const uint8_t *)key, strlen(key), (const uint8_t *)val, strlen(val)), GZ_OK);
    int rc = store_write(s, &b, true);
    store_batch_free(&b);
    return rc;
}

/* The value of key as a string, or "" when absent. */
static const char *get(store *s, const char *key, gz_buf *v) {
    int rc = store_get(s, (const uint8_t *)key, strlen(key), v);
    if (rc == GZ_ENOTFOUND) return "";
    cr_assert_eq(rc, GZ_OK, "%s", gz_strerror(rc));
    cr_assert_eq(gz_buf_append(v, "", 1), GZ_OK);
    return (const char *)v->data;
}

Test(storage_fault, scheduled_writes_fail_and_change_nothing) {
    store_fault_cfg cfg = {.fail_writes_after = 1, .fail_writes_count = 2, .sched_err = GZ_ENOSPC};
    store *s = faulty(&cfg);
    gz_buf v;
    gz_buf_init(&v);
    cr_assert_eq(put(s, "k", "one"), GZ_OK, "write 0 goes through");
    cr_assert_eq(put(s, "k", "two"), GZ_ENOSPC, "write 1 fails as a full disk");
    cr_assert(strstr(store_errmsg(s), "No space left on device") != NULL, "%s", store_errmsg(s));
    cr_assert_str_eq(get(s, "k", &v), "one", "a failed write changes nothing");
    cr_assert_eq(put(s, "k", "three"), GZ_ENOSPC, "write 2 fails too");
    cr_assert_eq(put(s, "k", "four"), GZ_OK, "write 3 goes through");
    cr_assert_str_eq(get(s, "k", &v), "four");
    store_fault_stats st;
    cr_assert(store_faults_stats(s, &st));
    cr_assert_eq(st.writes, 4);
    cr_assert_eq(st.write_faults, 2);
    gz_buf_free(&v);
    store_close(s);
}

/* The failure pattern of 1000 writes, as bits. */
static void pattern(uint64_t seed, uint8_t out[1000]) {
    store_fault_cfg cfg = {.seed = seed, .write_fail_ppm = 100000, .enospc_ppm = 100000};
    store *s = faulty(&cfg);
    for (int i = 0; i < 1000; i++) {
        int rc = put(s, "k", "v");
        cr_assert(rc == GZ_OK || rc == GZ_ENOSPC || rc == GZ_ESTORAGE, "%d", rc);
        out[i] = (uint8_t)(rc == GZ_OK ? 0 : rc == GZ_ENOSPC ? 1 : 2);
    }
    store_close(s);
}

Test(storage_fault, chance_faults_repeat_with_the_seed) {
    static uint8_t a[1000], b[1000], c[1000];
    pattern(7, a);
    pattern(7, b);
    pattern(8, c);
    cr_assert(memcmp(a, b, sizeof a) == 0, "one seed, one pattern");
    cr_assert(memcmp(a, c, sizeof a) != 0, "another seed, another pattern");
    int nospc = 0, other = 0;
    for (int i = 0; i < 1000; i++) {
        nospc += a[i] == 1;
        other += a[i] == 2;
    }
    /* 10% each (the second drawn only when the first did not fire). */
    cr_assert(nospc > 50 && nospc < 150, "%d full-disk faults", nospc);
    cr_assert(other > 40 && other < 140, "%d write faults", other);
}

Test(storage_fault, reads_fail_and_a_full_disk_clears) {
    store_fault_cfg cfg = {0};
    store *s = faulty(&cfg);
    cr_assert_eq(put(s, "a", "1"), GZ_OK);
    cfg.read_fail_ppm = 1000000;
    cfg.disk_full = true;
    cr_assert_eq(store_faults_set(s, &cfg), GZ_OK);
    gz_buf v;
    gz_buf_init(&v);
    cr_assert_eq(store_get(s, (const uint8_t *)"a", 1, &v), GZ_ESTORAGE);
    cr_assert_eq(v.len, 0, "a failed read returns nothing");
    cr_assert_eq(put(s, "b", "2"), GZ_ENOSPC);
    cfg = (store_fault_cfg){0};
    cr_assert_eq(store_faults_set(s, &cfg), GZ_OK);
    cr_assert_str_eq(get(s, "a", &v), "1");
    cr_assert_str_eq(get(s, "b", &v), "", "the write refused while full never landed");
    cr_assert_eq(put(s, "b", "2"), GZ_OK, "space is back");
    cr_assert_str_eq(get(s, "b", &v), "2");
    gz_buf_free(&v);
    store_close(s);
}

Test(storage_fault, only_a_faulty_store_takes_a_fault_config) {
    store *mem = NULL;
    cr_assert_eq(store_open_memory(&mem), GZ_OK);
    store_fault_cfg cfg = {0};
    cr_assert_eq(store_faults_set(mem, &cfg), GZ_EMISUSE);
    store_fault_stats st;
    cr_assert(!store_faults_stats(mem, &st));
    store *s = NULL;
    cr_assert_eq(store_open_faulty(&s, NULL, &cfg), GZ_EMISUSE);
    cr_assert_null(s);
    store_close(mem);
}

/* A file-size limit makes RocksDB's log write fail (EFBIG) the way a full
 * disk does; reads go on, and once the limit is lifted the next write
 * reopens the database and succeeds, and so does a later open. */
Test(storage_fault, rocksdb_recovers_after_a_refused_write) {
    char dir[64];
    tu_tmpdir_make(dir, sizeof dir, "test-rocks-fault");
    store *s = NULL;
    gz_msg msg = {{0}};
    cr_assert_eq(store_open_rocksdb(&s, dir, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(put(s, "before", "yes"), GZ_OK);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    size_t big = 256 * 1024;
    char *val = malloc(big + 1);
    memset(val, 'x', big);
    val[big] = '\0';
    int rc = put(s, "big", val);
    cr_assert_neq(rc, GZ_OK, "a write past the limit fails");
    cr_assert(rc == GZ_ESTORAGE || rc == GZ_ENOSPC, "%s", gz_strerror(rc));
    gz_buf v;
    gz_buf_init(&v);
    cr_assert_str_eq(get(s, "before", &v), "yes", "reads are still served");
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(put(s, "big", val), GZ_OK, "the write goes through once the cause is gone: %s", store_errmsg(s));
    cr_assert_eq(put(s, "after", "yes"), GZ_OK);
    store_close(s);
    cr_assert_eq(store_open_rocksdb(&s, dir, &msg), GZ_OK, "the database opens again: %s", msg.text);
    cr_assert_str_eq(get(s, "before", &v), "yes");
    cr_assert_str_eq(get(s, "after", &v), "yes");
    cr_assert_eq(store_get(s, (const uint8_t *)"big", 3, &v), GZ_OK);
    cr_assert_eq(v.len, big);
    gz_buf_free(&v);
    free(val);
    store_close(s);
    tu_tmpdir_remove(dir);
}
