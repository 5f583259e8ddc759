/* Double-sign protection (format and contract in signstate.h). */
#include "node/signstate.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/bytes.h"
#include "node/wal.h"

static const uint8_t magic[4] = {'G', 'Z', 'S', 'S'};
#define SIGNSTATE_VERSION 1
#define SIGNSTATE_BODY_BYTES (NODE_SIGNSTATE_FILE_BYTES - 4)

static void encode(uint8_t out[NODE_SIGNSTATE_FILE_BYTES], uint64_t height, uint64_t round,
                   uint8_t step, const uint8_t sighash[32]) {
    assert(step >= NODE_STEP_PROPOSAL);
    assert(step <= NODE_STEP_PRECOMMIT);
    memset(out, 0, NODE_SIGNSTATE_FILE_BYTES);
    memcpy(out, magic, 4);
    out[4] = SIGNSTATE_VERSION;
    out[5] = step;
    gz_put_u64be(out + 8, height);
    gz_put_u64be(out + 16, round);
    memcpy(out + 24, sighash, 32);
    gz_put_u32be(out + SIGNSTATE_BODY_BYTES, node_crc32c(0, out, SIGNSTATE_BODY_BYTES));
}

/* Checks every field of a record read from disk; fills s on success. */
static int decode(node_signstate *s, const uint8_t in[NODE_SIGNSTATE_FILE_BYTES], gz_msg *msg) {
    uint32_t crc = gz_get_u32be(in + SIGNSTATE_BODY_BYTES);
    if (node_crc32c(0, in, SIGNSTATE_BODY_BYTES) != crc)
        return gz_fail(msg, GZ_ECORRUPT, "signstate %s: checksum mismatch", s->path);
    if (memcmp(in, magic, 4) != 0)
        return gz_fail(msg, GZ_ECORRUPT, "signstate %s: bad magic", s->path);
    if (in[4] != SIGNSTATE_VERSION)
        return gz_fail(msg, GZ_ECORRUPT, "signstate %s: version %u unknown", s->path, in[4]);
    if (in[5] < NODE_STEP_PROPOSAL || in[5] > NODE_STEP_PRECOMMIT)
        return gz_fail(msg, GZ_ECORRUPT, "signstate %s: step %u invalid", s->path, in[5]);
    if (in[6] != 0 || in[7] != 0)
        return gz_fail(msg, GZ_ECORRUPT, "signstate %s: reserved bytes set", s->path);
    s->have = true;
    s->step = in[5];
    s->height = gz_get_u64be(in + 8);
    s->round = gz_get_u64be(in + 16);
    memcpy(s->sighash, in + 24, 32);
    return GZ_OK;
}

void node_signstate_free(node_signstate *s) {
    if (s == NULL) return;
    if (s->fd_open) close(s->fd);
    free(s->path);
    memset(s, 0, sizeof *s);
}

/* Reads the whole file; one byte more than a record is asked for so that an
 * over-long file is seen. Returns the byte count, or -1 with errno set. */
static ssize_t read_file(int fd, uint8_t *buf, size_t cap) {
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int load(node_signstate *s, gz_msg *msg) {
    int fd = open(s->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return GZ_OK; /* nothing signed yet */
    if (fd < 0)
        return gz_fail(msg, GZ_EIO, "signstate %s: open: %s", s->path, strerror(errno));
    uint8_t buf[NODE_SIGNSTATE_FILE_BYTES + 1];
    ssize_t n = read_file(fd, buf, sizeof buf);
    int e = errno;
    close(fd);
    if (n < 0) return gz_fail(msg, GZ_EIO, "signstate %s: read: %s", s->path, strerror(e));
    if (n != NODE_SIGNSTATE_FILE_BYTES)
        return gz_fail(msg, GZ_ECORRUPT, "signstate %s: %s, want %d bytes", s->path,
                       n > NODE_SIGNSTATE_FILE_BYTES ? "too long" : "too short",
                       NODE_SIGNSTATE_FILE_BYTES);
    return decode(s, buf, msg);
}

int node_signstate_open(node_signstate *s, const char *path, gz_msg *msg) {
    if (s == NULL) return GZ_EMISUSE;
    memset(s, 0, sizeof *s);
    if (path == NULL || path[0] == '\0') return gz_fail(msg, GZ_EARG, "signstate path: empty");
    s->path = strdup(path);
    if (s->path == NULL) return gz_fail(msg, GZ_ENOMEM, "signstate: out of memory");
    int err = load(s, msg);
    if (err != GZ_OK) node_signstate_free(s);
    return err;
}

/* Notes errno for the log and names a full disk as such. */
static int io_fail(node_signstate *s) {
    s->last_errno = errno;
    return errno == ENOSPC ? GZ_ENOSPC : GZ_EIO;
}

/* Writes the record over the file in place and fdatasyncs it: one device
 * flush per signature. The first write creates the file, and then its
 * directory is synced too, once. The 60-byte record sits at offset 0, inside
 * one disk sector, so a crash leaves the old or the new record; if a device
 * did tear it, the checksum fails and the node refuses to start rather than
 * sign from a guess. */
static int persist(node_signstate *s, const uint8_t rec[NODE_SIGNSTATE_FILE_BYTES]) {
    if (!s->fd_open) {
        int fd = open(s->path, O_WRONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            fd = open(s->path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
            s->dir_pending = true;
        }
        if (fd < 0) return io_fail(s);
        s->fd = fd;
        s->fd_open = true;
    }
    size_t done = 0;
    while (done < NODE_SIGNSTATE_FILE_BYTES) {
        ssize_t w = pwrite(s->fd, rec + done, NODE_SIGNSTATE_FILE_BYTES - done, (off_t)done);
        if (w < 0 && errno == EINTR) continue;
        if (w == 0) errno = EIO;
        if (w <= 0) return io_fail(s);
        done += (size_t)w;
    }
    if (fdatasync(s->fd) != 0) return io_fail(s);
    if (s->dir_pending) {
        if (node_fsync_parent_dir(s->path) != GZ_OK) return io_fail(s);
        s->dir_pending = false; /* retried by the next persist until it succeeds */
    }
    return GZ_OK;
}

/* Orders (height, round, step) lexicographically: <0, 0 or >0. */
static int hrs_cmp(const node_signstate *s, uint64_t height, uint64_t round, uint8_t step) {
    if (height != s->height) return height < s->height ? -1 : 1;
    if (round != s->round) return round < s->round ? -1 : 1;
    if (step != s->step) return step < s->step ? -1 : 1;
    return 0;
}

/* The record about to be written reads back as exactly the state it records:
 * a node that persisted a record it cannot load would refuse to start, and
 * one that loaded another state could sign twice. */
static void assert_reads_back(const node_signstate *s, const uint8_t rec[NODE_SIGNSTATE_FILE_BYTES],
                              uint64_t height, uint64_t round, uint8_t step, const uint8_t sighash[32]) {
    node_signstate back;
    memset(&back, 0, sizeof back);
    back.path = s->path;
    int rc = decode(&back, rec, NULL);
    assert(rc == GZ_OK);
    assert(back.have);
    assert(back.height == height);
    assert(back.round == round);
    assert(back.step == step);
    assert(memcmp(back.sighash, sighash, 32) == 0);
    (void)rc;
}

int node_signstate_check_and_persist(node_signstate *s, uint64_t height, uint64_t round,
                                     uint8_t step, const uint8_t sighash[32]) {
    if (s == NULL || s->path == NULL || sighash == NULL) return GZ_EMISUSE;
    if (step < NODE_STEP_PROPOSAL || step > NODE_STEP_PRECOMMIT) return GZ_EMISUSE;
    if (s->have) {
        int c = hrs_cmp(s, height, round, step);
        if (c < 0) return GZ_ECONFLICT;
        if (c == 0) return memcmp(s->sighash, sighash, 32) == 0 ? GZ_OK : GZ_ECONFLICT;
    }
    /* Only a strictly higher state is ever written over the last one. */
    if (s->have) assert(hrs_cmp(s, height, round, step) > 0);
    uint8_t rec[NODE_SIGNSTATE_FILE_BYTES];
    encode(rec, height, round, step, sighash);
    assert_reads_back(s, rec, height, round, step, sighash);
    int err = persist(s, rec);
    if (err != GZ_OK) return err;
    s->have = true;
    s->height = height;
    s->round = round;
    s->step = step;
    memcpy(s->sighash, sighash, 32);
    return GZ_OK;
}

int node_signstate_heal(node_signstate *s) {
    if (s == NULL || s->path == NULL) return GZ_EMISUSE;
    if (!s->have) return GZ_OK; /* nothing on disk to rewrite: the next signature tries */
    uint8_t rec[NODE_SIGNSTATE_FILE_BYTES];
    encode(rec, s->height, s->round, s->step, s->sighash);
    return persist(s, rec);
}
