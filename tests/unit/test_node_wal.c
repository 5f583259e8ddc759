/* The consensus WAL: append and replay, torn and corrupt tails, reset. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/limits.h"
#include "tests/unit/testutil.h"
#include "node/wal.h"

static char dir[64];
static char path[128];

static void setup(void) {
    tu_tmpdir_make(dir, sizeof dir, "test-wal");
    snprintf(path, sizeof path, "%s/wal", dir);
}

static void teardown(void) { tu_tmpdir_remove(dir); }

TestSuite(node_wal, .init = setup, .fini = teardown);

static off_t file_size(void) {
    struct stat st;
    cr_assert_eq(stat(path, &st), 0);
    return st.st_size;
}

static void truncate_to(off_t n) { cr_assert_eq(truncate(path, n), 0); }

static void append_raw(const void *p, size_t n) {
    int fd = open(path, O_WRONLY | O_APPEND);
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, p, n), (ssize_t)n);
    close(fd);
}

static void flip_byte(off_t at) {
    int fd = open(path, O_RDWR);
    cr_assert_geq(fd, 0);
    uint8_t b;
    cr_assert_eq(pread(fd, &b, 1, at), 1);
    b ^= 0x5a;
    cr_assert_eq(pwrite(fd, &b, 1, at), 1);
    close(fd);
}

/* Record i: type 1 + i % 7, payload of (i * 37) % 300 bytes derived from i. */
static size_t payload_of(int i, uint8_t *out) {
    size_t n = (size_t)(i * 37) % 300;
    for (size_t j = 0; j < n; j++) out[j] = (uint8_t)(i * 31 + (int)j);
    return n;
}

typedef struct seen {
    int n;
    int fail_at; /* stop with GZ_ESTATE at this record; -1 = never */
} seen;

static int check_cb(uint8_t type, const uint8_t *payload, size_t len, void *data) {
    seen *s = data;
    if (s->n == s->fail_at) return GZ_ESTATE;
    uint8_t want[300];
    size_t wlen = payload_of(s->n, want);
    cr_assert_eq(type, 1 + s->n % 7, "record %d", s->n);
    cr_assert_eq(len, wlen, "record %d", s->n);
    cr_assert_not_null(payload);
    cr_assert(len == 0 || memcmp(payload, want, len) == 0, "record %d", s->n);
    s->n++;
    return GZ_OK;
}

/* Writes records 0..n-1 into a fresh log and returns each record's end offset. */
static void write_records(int n, off_t *ends) {
    node_wal w;
    gz_msg msg = {{0}};
    cr_assert_eq(node_wal_open(&w, path, &msg), GZ_OK, "%s", msg.text);
    for (int i = 0; i < n; i++) {
        uint8_t p[300];
        size_t len = payload_of(i, p);
        cr_assert_eq(node_wal_append(&w, (uint8_t)(1 + i % 7), p, len, i == n - 1), GZ_OK);
        if (ends != NULL) ends[i] = (off_t)w.end;
    }
    node_wal_close(&w);
}

/* Opens the log and checks it holds exactly records 0..n-1. */
static node_wal reopen_expect(int n, uint64_t dropped) {
    node_wal w;
    gz_msg msg = {{0}};
    cr_assert_eq(node_wal_open(&w, path, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(w.records, (uint64_t)n);
    cr_assert_eq(w.dropped_bytes, dropped);
    seen s = {0, -1};
    cr_assert_eq(node_wal_replay(&w, check_cb, &s), GZ_OK);
    cr_assert_eq(s.n, n);
    cr_assert_eq(file_size(), (off_t)w.end, "the torn tail is cut from the file");
    return w;
}

Test(node_wal, crc32c_known_value) {
    cr_assert_eq(node_crc32c(0, "123456789", 9), 0xe3069283u);
    uint32_t c = node_crc32c(0, "1234", 4);
    cr_assert_eq(node_crc32c(c, "56789", 5), 0xe3069283u, "chaining");
    cr_assert_eq(node_crc32c(0, "", 0), 0);
}

Test(node_wal, append_and_replay) {
    off_t ends[20];
    write_records(20, ends);
    cr_assert_eq(file_size(), ends[19]);
    node_wal w = reopen_expect(20, 0);
    /* Appending after a reopen continues the same log. */
    uint8_t p[300];
    size_t len = payload_of(20, p);
    cr_assert_eq(node_wal_append(&w, 1 + 20 % 7, p, len, true), GZ_OK);
    seen s = {0, -1};
    cr_assert_eq(node_wal_replay(&w, check_cb, &s), GZ_OK);
    cr_assert_eq(s.n, 21);
    node_wal_close(&w);
    w = reopen_expect(21, 0);
    node_wal_close(&w);
}

Test(node_wal, large_record) {
    node_wal w;
    cr_assert_eq(node_wal_open(&w, path, NULL), GZ_OK);
    size_t n = 1u << 20;
    uint8_t *big = malloc(n);
    cr_assert_not_null(big);
    for (size_t i = 0; i < n; i++) big[i] = (uint8_t)(i * 7);
    cr_assert_eq(node_wal_append(&w, 9, big, n, true), GZ_OK);
    node_wal_close(&w);
    cr_assert_eq(node_wal_open(&w, path, NULL), GZ_OK);
    cr_assert_eq(w.records, 1);
    cr_assert_eq(w.end, NODE_WAL_HEADER_BYTES + n);
    node_wal_close(&w);
    free(big);
}

Test(node_wal, bad_appends_are_refused) {
    node_wal w;
    cr_assert_eq(node_wal_open(&w, path, NULL), GZ_OK);
    uint8_t p[4] = {1, 2, 3, 4};
    cr_assert_eq(node_wal_append(&w, 0, p, 4, false), GZ_EMISUSE);
    cr_assert_eq(node_wal_append(&w, 1, NULL, 4, false), GZ_EMISUSE);
    /* The bound is checked before the payload is touched. */
    cr_assert_eq(node_wal_append(&w, 1, p, GZ_FRAME_BYTES_MAX + 1u, false), GZ_ELIMIT);
    cr_assert_eq(w.records, 0);
    cr_assert_eq(file_size(), 0);
    node_wal_close(&w);
}

Test(node_wal, replay_stops_on_callback_error) {
    write_records(5, NULL);
    node_wal w;
    cr_assert_eq(node_wal_open(&w, path, NULL), GZ_OK);
    seen s = {0, 2};
    cr_assert_eq(node_wal_replay(&w, check_cb, &s), GZ_ESTATE);
    cr_assert_eq(s.n, 2);
    node_wal_close(&w);
}

Test(node_wal, torn_tail_keeps_complete_records) {
    off_t ends[6];
    write_records(6, ends);
    /* Cut the last record at every interesting place: inside its header,
     * right after it, inside its payload, one byte short. */
    off_t start = ends[4], stop = ends[5];
    off_t cuts[] = {start + 1, start + 8, start + NODE_WAL_HEADER_BYTES,
                    start + NODE_WAL_HEADER_BYTES + 3, stop - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        cr_assert_eq(unlink(path), 0);
        write_records(6, NULL);
        truncate_to(cuts[i]);
        node_wal w = reopen_expect(5, (uint64_t)(cuts[i] - start));
        node_wal_close(&w);
    }
}

Test(node_wal, garbage_tail_is_dropped) {
    off_t ends[4];
    write_records(4, ends);
    uint8_t junk[37];
    memset(junk, 0xab, sizeof junk);
    append_raw(junk, sizeof junk);
    node_wal w = reopen_expect(4, sizeof junk);
    node_wal_close(&w);

    /* An extended but unwritten tail reads as zeros. */
    uint8_t zeros[100] = {0};
    append_raw(zeros, sizeof zeros);
    w = reopen_expect(4, sizeof zeros);
    node_wal_close(&w);

    /* A header claiming four gigabytes is dropped, not allocated for. */
    uint8_t huge[NODE_WAL_HEADER_BYTES] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1};
    append_raw(huge, sizeof huge);
    append_raw(junk, sizeof junk);
    w = reopen_expect(4, sizeof huge + sizeof junk);
    /* New records after the cut replay normally. */
    uint8_t p[300];
    size_t len = payload_of(4, p);
    cr_assert_eq(node_wal_append(&w, 1 + 4 % 7, p, len, true), GZ_OK);
    node_wal_close(&w);
    w = reopen_expect(5, 0);
    node_wal_close(&w);
}

Test(node_wal, flipped_byte_in_last_record_drops_only_it) {
    off_t ends[5];
    write_records(5, ends);
    off_t start = ends[3];
    /* Length, checksum, type, first and last payload byte. */
    off_t spots[] = {start + 2, start + 5, start + 8, start + NODE_WAL_HEADER_BYTES,
                     ends[4] - 1};
    for (size_t i = 0; i < sizeof spots / sizeof spots[0]; i++) {
        cr_assert_eq(unlink(path), 0);
        write_records(5, NULL);
        flip_byte(spots[i]);
        node_wal w = reopen_expect(4, (uint64_t)(ends[4] - start));
        node_wal_close(&w);
    }
}

Test(node_wal, flipped_byte_in_middle_cuts_from_there) {
    off_t ends[5];
    write_records(5, ends);
    flip_byte(ends[1] + NODE_WAL_HEADER_BYTES + 1);
    /* Nothing after a bad record can be trusted to be in order. */
    node_wal w = reopen_expect(2, (uint64_t)(ends[4] - ends[1]));
    node_wal_close(&w);
}

Test(node_wal, reset_starts_empty) {
    write_records(5, NULL);
    node_wal w;
    gz_msg msg = {{0}};
    cr_assert_eq(node_wal_open(&w, path, &msg), GZ_OK);
    cr_assert_eq(w.records, 5);
    cr_assert_eq(node_wal_reset(&w, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(w.records, 0);
    cr_assert_eq(file_size(), 0);
    seen s = {0, -1};
    cr_assert_eq(node_wal_replay(&w, check_cb, &s), GZ_OK);
    cr_assert_eq(s.n, 0);
    uint8_t p[300];
    size_t len = payload_of(0, p);
    cr_assert_eq(node_wal_append(&w, 1, p, len, true), GZ_OK);
    node_wal_close(&w);
    w = reopen_expect(1, 0);
    node_wal_close(&w);
}

Test(node_wal, replay_sees_file_changed_underneath) {
    write_records(3, NULL);
    node_wal w;
    cr_assert_eq(node_wal_open(&w, path, NULL), GZ_OK);
    truncate_to(file_size() - 2);
    seen s = {0, -1};
    cr_assert_eq(node_wal_replay(&w, check_cb, &s), GZ_ECORRUPT);
    cr_assert_eq(s.n, 2);
    node_wal_close(&w);
}

Test(node_wal, open_errors) {
    node_wal w;
    gz_msg msg = {{0}};
    cr_assert_eq(node_wal_open(&w, "", &msg), GZ_EARG);
    cr_assert_eq(w.fd, -1);
    char bad[160];
    snprintf(bad, sizeof bad, "%s/missing-dir/wal", dir);
    cr_assert_eq(node_wal_open(&w, bad, &msg), GZ_EIO);
    cr_assert_eq(w.fd, -1);
    cr_assert_null(w.path);
    cr_assert(strstr(msg.text, "missing-dir") != NULL, "%s", msg.text);
}

/* A log broken by a failed sync (the flag node_wal_append sets when
 * fdatasync fails) stays broken across a reset: a new height must not make
 * a log whose contents on disk are unknown look healthy. */
Test(node_wal, reset_keeps_a_broken_log_broken) {
    write_records(4, NULL);
    node_wal w;
    gz_msg msg = {{0}};
    cr_assert_eq(node_wal_open(&w, path, &msg), GZ_OK);
    w.broken = true;
    w.last_errno = EIO;
    cr_assert_neq(node_wal_reset(&w, &msg), GZ_OK, "a broken log is not reset");
    cr_assert(strstr(msg.text, path) != NULL, "the message names the log: %s", msg.text);
    cr_assert(w.broken, "and it is still broken");
    uint8_t p[300];
    size_t len = payload_of(4, p);
    cr_assert_eq(node_wal_append(&w, 1 + 4 % 7, p, len, true), GZ_EIO, "appends stay refused");
    cr_assert_eq(node_wal_sync(&w), GZ_EIO);
    cr_assert_eq(node_wal_heal(&w, &msg), GZ_OK, "%s", msg.text);
    cr_assert(!w.broken, "a rewritten log is healthy");
    cr_assert_eq(w.records, 4, "with the records it held");
    cr_assert_eq(node_wal_append(&w, 1 + 4 % 7, p, len, true), GZ_OK);
    node_wal_close(&w);
    w = reopen_expect(5, 0);
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.new", path);
    cr_assert_neq(access(tmp, F_OK), 0, "no temporary file is left behind");
    node_wal_close(&w);
}

/* A write the file system refuses (here a file-size limit: EFBIG) fails the
 * append, leaves no partial record, and the log takes records again once
 * the limit is lifted. */
Test(node_wal, a_refused_write_leaves_no_partial_record) {
    write_records(3, NULL);
    node_wal w;
    gz_msg msg = {{0}};
    cr_assert_eq(node_wal_open(&w, path, &msg), GZ_OK);
    off_t before = file_size();
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    cr_assert_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = (rlim_t)before + 20;
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    uint8_t p[300];
    size_t len = payload_of(3, p);
    cr_assert_gt(len, 20);
    int rc = node_wal_append(&w, 1 + 3 % 7, p, len, true);
    cr_assert_eq(rc, GZ_EIO, "%s", gz_strerror(rc));
    cr_assert_eq(w.last_errno, EFBIG);
    cr_assert_eq(file_size(), before, "the partial record was cut off");
    cr_assert(!w.broken, "cutting it off worked, so the log is not broken");
    cr_assert_eq(node_wal_heal(&w, &msg), GZ_OK, "a rewrite of the same size fits: %s", msg.text);
    cr_assert_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
    cr_assert_eq(node_wal_append(&w, 1 + 3 % 7, p, len, true), GZ_OK);
    node_wal_close(&w);
    w = reopen_expect(4, 0);
    node_wal_close(&w);
}
