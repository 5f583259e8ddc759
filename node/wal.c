/* The consensus write-ahead log (format in wal.h). */
#include "node/wal.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/limits.h"

/* CRC-32C, reflected polynomial 0x82f63b78, one table lookup per byte. */
static const uint32_t crc32c_table[256] = {
    0x00000000u, 0xf26b8303u, 0xe13b70f7u, 0x1350f3f4u, 0xc79a971fu, 0x35f1141cu,
    0x26a1e7e8u, 0xd4ca64ebu, 0x8ad958cfu, 0x78b2dbccu, 0x6be22838u, 0x9989ab3bu,
    0x4d43cfd0u, 0xbf284cd3u, 0xac78bf27u, 0x5e133c24u, 0x105ec76fu, 0xe235446cu,
    0xf165b798u, 0x030e349bu, 0xd7c45070u, 0x25afd373u, 0x36ff2087u, 0xc494a384u,
    0x9a879fa0u, 0x68ec1ca3u, 0x7bbcef57u, 0x89d76c54u, 0x5d1d08bfu, 0xaf768bbcu,
    0xbc267848u, 0x4e4dfb4bu, 0x20bd8edeu, 0xd2d60dddu, 0xc186fe29u, 0x33ed7d2au,
    0xe72719c1u, 0x154c9ac2u, 0x061c6936u, 0xf477ea35u, 0xaa64d611u, 0x580f5512u,
    0x4b5fa6e6u, 0xb93425e5u, 0x6dfe410eu, 0x9f95c20du, 0x8cc531f9u, 0x7eaeb2fau,
    0x30e349b1u, 0xc288cab2u, 0xd1d83946u, 0x23b3ba45u, 0xf779deaeu, 0x05125dadu,
    0x1642ae59u, 0xe4292d5au, 0xba3a117eu, 0x4851927du, 0x5b016189u, 0xa96ae28au,
    0x7da08661u, 0x8fcb0562u, 0x9c9bf696u, 0x6ef07595u, 0x417b1dbcu, 0xb3109ebfu,
    0xa0406d4bu, 0x522bee48u, 0x86e18aa3u, 0x748a09a0u, 0x67dafa54u, 0x95b17957u,
    0xcba24573u, 0x39c9c670u, 0x2a993584u, 0xd8f2b687u, 0x0c38d26cu, 0xfe53516fu,
    0xed03a29bu, 0x1f682198u, 0x5125dad3u, 0xa34e59d0u, 0xb01eaa24u, 0x42752927u,
    0x96bf4dccu, 0x64d4cecfu, 0x77843d3bu, 0x85efbe38u, 0xdbfc821cu, 0x2997011fu,
    0x3ac7f2ebu, 0xc8ac71e8u, 0x1c661503u, 0xee0d9600u, 0xfd5d65f4u, 0x0f36e6f7u,
    0x61c69362u, 0x93ad1061u, 0x80fde395u, 0x72966096u, 0xa65c047du, 0x5437877eu,
    0x4767748au, 0xb50cf789u, 0xeb1fcbadu, 0x197448aeu, 0x0a24bb5au, 0xf84f3859u,
    0x2c855cb2u, 0xdeeedfb1u, 0xcdbe2c45u, 0x3fd5af46u, 0x7198540du, 0x83f3d70eu,
    0x90a324fau, 0x62c8a7f9u, 0xb602c312u, 0x44694011u, 0x5739b3e5u, 0xa55230e6u,
    0xfb410cc2u, 0x092a8fc1u, 0x1a7a7c35u, 0xe811ff36u, 0x3cdb9bddu, 0xceb018deu,
    0xdde0eb2au, 0x2f8b6829u, 0x82f63b78u, 0x709db87bu, 0x63cd4b8fu, 0x91a6c88cu,
    0x456cac67u, 0xb7072f64u, 0xa457dc90u, 0x563c5f93u, 0x082f63b7u, 0xfa44e0b4u,
    0xe9141340u, 0x1b7f9043u, 0xcfb5f4a8u, 0x3dde77abu, 0x2e8e845fu, 0xdce5075cu,
    0x92a8fc17u, 0x60c37f14u, 0x73938ce0u, 0x81f80fe3u, 0x55326b08u, 0xa759e80bu,
    0xb4091bffu, 0x466298fcu, 0x1871a4d8u, 0xea1a27dbu, 0xf94ad42fu, 0x0b21572cu,
    0xdfeb33c7u, 0x2d80b0c4u, 0x3ed04330u, 0xccbbc033u, 0xa24bb5a6u, 0x502036a5u,
    0x4370c551u, 0xb11b4652u, 0x65d122b9u, 0x97baa1bau, 0x84ea524eu, 0x7681d14du,
    0x2892ed69u, 0xdaf96e6au, 0xc9a99d9eu, 0x3bc21e9du, 0xef087a76u, 0x1d63f975u,
    0x0e330a81u, 0xfc588982u, 0xb21572c9u, 0x407ef1cau, 0x532e023eu, 0xa145813du,
    0x758fe5d6u, 0x87e466d5u, 0x94b49521u, 0x66df1622u, 0x38cc2a06u, 0xcaa7a905u,
    0xd9f75af1u, 0x2b9cd9f2u, 0xff56bd19u, 0x0d3d3e1au, 0x1e6dcdeeu, 0xec064eedu,
    0xc38d26c4u, 0x31e6a5c7u, 0x22b65633u, 0xd0ddd530u, 0x0417b1dbu, 0xf67c32d8u,
    0xe52cc12cu, 0x1747422fu, 0x49547e0bu, 0xbb3ffd08u, 0xa86f0efcu, 0x5a048dffu,
    0x8ecee914u, 0x7ca56a17u, 0x6ff599e3u, 0x9d9e1ae0u, 0xd3d3e1abu, 0x21b862a8u,
    0x32e8915cu, 0xc083125fu, 0x144976b4u, 0xe622f5b7u, 0xf5720643u, 0x07198540u,
    0x590ab964u, 0xab613a67u, 0xb831c993u, 0x4a5a4a90u, 0x9e902e7bu, 0x6cfbad78u,
    0x7fab5e8cu, 0x8dc0dd8fu, 0xe330a81au, 0x115b2b19u, 0x020bd8edu, 0xf0605beeu,
    0x24aa3f05u, 0xd6c1bc06u, 0xc5914ff2u, 0x37faccf1u, 0x69e9f0d5u, 0x9b8273d6u,
    0x88d28022u, 0x7ab90321u, 0xae7367cau, 0x5c18e4c9u, 0x4f48173du, 0xbd23943eu,
    0xf36e6f75u, 0x0105ec76u, 0x12551f82u, 0xe03e9c81u, 0x34f4f86au, 0xc69f7b69u,
    0xd5cf889du, 0x27a40b9eu, 0x79b737bau, 0x8bdcb4b9u, 0x988c474du, 0x6ae7c44eu,
    0xbe2da0a5u, 0x4c4623a6u, 0x5f16d052u, 0xad7d5351u,
};

uint32_t node_crc32c(uint32_t crc, const void *data, size_t len) {
    const uint8_t *p = data;
    uint32_t c = ~crc;
    for (size_t i = 0; i < len; i++) c = crc32c_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return ~c;
}

int node_fsync_parent_dir(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir;
    if (slash == NULL) dir = strdup(".");
    else if (slash == path) dir = strdup("/");
    else dir = strndup(path, (size_t)(slash - path));
    if (dir == NULL) return GZ_EIO;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return GZ_EIO;
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? GZ_OK : GZ_EIO;
}

/* Reads exactly n bytes at off. Returns GZ_OK, GZ_EIO, or GZ_ECORRUPT when
 * the file ends first (it shrank under us). */
static int pread_full(int fd, uint8_t *buf, size_t n, uint64_t off) {
    while (n > 0) {
        ssize_t r = pread(fd, buf, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return GZ_EIO;
        if (r == 0) return GZ_ECORRUPT;
        buf += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return GZ_OK;
}

/* The error for a failed call with errno e: a full disk is named as such. */
static int io_err(int e) { return e == ENOSPC || e == EDQUOT ? GZ_ENOSPC : GZ_EIO; }

/* Writes every byte of iov[0..cnt) at off, resuming after short writes.
 * Returns GZ_OK, GZ_ENOSPC or GZ_EIO, errno telling why. */
static int pwritev_full(int fd, struct iovec *iov, int cnt, uint64_t off) {
    while (cnt > 0) {
        ssize_t r = pwritev(fd, iov, cnt, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return io_err(errno);
        off += (uint64_t)r;
        size_t done = (size_t)r;
        while (cnt > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            cnt--;
        }
        if (cnt > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return GZ_OK;
}

/* Callers get a valid pointer even for an empty payload. */
static const uint8_t empty_payload[1] = {0};

static uint32_t record_crc(const uint8_t head[NODE_WAL_HEADER_BYTES], const uint8_t *payload,
                           size_t len) {
    uint32_t c = node_crc32c(0, head, 4);  /* len */
    c = node_crc32c(c, head + 8, 1);       /* type */
    return node_crc32c(c, payload, len);
}

/* Reads and checks the record at off (which has at least a header's worth of
 * bytes before limit) into buf. Returns GZ_OK, GZ_ECORRUPT for a record that
 * is incomplete, corrupt or cut short by the file's end, GZ_ENOMEM or GZ_EIO.
 * The declared length is checked against the limit before allocating. */
static int read_record(int fd, uint64_t off, uint64_t limit, gz_buf *buf, uint8_t *type) {
    uint8_t head[NODE_WAL_HEADER_BYTES];
    int err = pread_full(fd, head, sizeof head, off);
    if (err != GZ_OK) return err;
    uint32_t len = gz_get_u32be(head);
    *type = head[8];
    if (*type == 0 || len > GZ_FRAME_BYTES_MAX) return GZ_ECORRUPT;
    if (len > limit - off - NODE_WAL_HEADER_BYTES) return GZ_ECORRUPT;
    gz_buf_reset(buf);
    if (gz_buf_reserve(buf, len) != GZ_OK) return GZ_ENOMEM;
    if (len > 0 && (err = pread_full(fd, buf->data, len, off + sizeof head)) != GZ_OK) return err;
    buf->len = len;
    const uint8_t *payload = len > 0 ? buf->data : empty_payload;
    if (record_crc(head, payload, len) != gz_get_u32be(head + 4)) return GZ_ECORRUPT;
    return GZ_OK;
}

/* Walks the records in [0, limit) in order, calling cb (if any) for each.
 * Stops quietly at the first incomplete or corrupt record: *end is where
 * the clean prefix ends and *records how many it holds. */
static int walk(int fd, uint64_t limit, node_wal_cb cb, void *data, uint64_t *end,
                uint64_t *records) {
    gz_buf buf;
    gz_buf_init(&buf);
    uint64_t off = 0, n = 0;
    int err = GZ_OK;
    while (limit - off >= NODE_WAL_HEADER_BYTES) {
        uint8_t type = 0;
        int rc = read_record(fd, off, limit, &buf, &type);
        if (rc == GZ_ECORRUPT) break; /* the clean prefix ends here */
        if (rc != GZ_OK) {
            err = rc;
            break;
        }
        const uint8_t *payload = buf.len > 0 ? buf.data : empty_payload;
        if (cb != NULL && (err = cb(type, payload, buf.len, data)) != GZ_OK) break;
        off += NODE_WAL_HEADER_BYTES + buf.len;
        n++;
    }
    gz_buf_free(&buf);
    *end = off;
    *records = n;
    return err;
}

/* Reserves NODE_WAL_RESERVE_BYTES past the records (the file's size is
 * unchanged): a healed log must have room for a height's records, or a disk
 * that is still full would look healed as soon as a reset freed the few
 * bytes of the last height. A file system that cannot reserve is not an
 * error. */
static int wal_reserve(int fd) {
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, NODE_WAL_RESERVE_BYTES) == 0) return GZ_OK;
    if (errno == EOPNOTSUPP || errno == ENOSYS) return GZ_OK;
    return io_err(errno);
}

static void wal_zero(node_wal *w) {
    memset(w, 0, sizeof *w);
    w->fd = -1;
}

void node_wal_close(node_wal *w) {
    if (w == NULL) return;
    if (w->fd >= 0) close(w->fd);
    free(w->path);
    wal_zero(w);
}

static int open_fail(node_wal *w, gz_msg *msg, int err, const char *what) {
    int e = errno;
    gz_fail(msg, err, "wal %s: %s: %s", w->path != NULL ? w->path : "", what, strerror(e));
    node_wal_close(w);
    return err;
}

/* Cuts the file back to the clean prefix found by walk and makes it stick. */
static int drop_tail(node_wal *w, uint64_t size) {
    if (w->end == size) return GZ_OK;
    assert(w->end < size);
    if (ftruncate(w->fd, (off_t)w->end) != 0 || fsync(w->fd) != 0) return GZ_EIO;
    w->dropped_bytes = size - w->end;
    return GZ_OK;
}

int node_wal_open(node_wal *w, const char *path, gz_msg *msg) {
    if (w == NULL) return GZ_EMISUSE;
    wal_zero(w);
    if (path == NULL || path[0] == '\0') return gz_fail(msg, GZ_EARG, "wal path: empty");
    w->path = strdup(path);
    if (w->path == NULL) {
        node_wal_close(w);
        return gz_fail(msg, GZ_ENOMEM, "wal: out of memory");
    }
    w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (w->fd < 0) return open_fail(w, msg, GZ_EIO, "open");
    struct stat st;
    if (fstat(w->fd, &st) != 0) return open_fail(w, msg, GZ_EIO, "stat");
    uint64_t size = (uint64_t)st.st_size;
    int err = walk(w->fd, size, NULL, NULL, &w->end, &w->records);
    if (err == GZ_ENOMEM) return open_fail(w, msg, err, "reading records");
    if (err != GZ_OK) return open_fail(w, msg, GZ_EIO, "read");
    if (drop_tail(w, size) != GZ_OK) return open_fail(w, msg, GZ_EIO, "truncating torn tail");
    w->synced = w->end; /* drop_tail synced what is left */
    /* A freshly created log must keep its directory entry across a crash. */
    if (node_fsync_parent_dir(path) != GZ_OK) return open_fail(w, msg, GZ_EIO, "fsync dir");
    return GZ_OK;
}

/* Notes a failed call's errno for the log and returns its error. */
static int wal_fail(node_wal *w, int e, bool broken) {
    w->last_errno = e;
    if (broken) w->broken = true;
    return io_err(e);
}

int node_wal_append(node_wal *w, uint8_t type, const uint8_t *payload, size_t len, bool sync) {
    if (w == NULL || w->fd < 0 || type == 0) return GZ_EMISUSE;
    if (payload == NULL && len > 0) return GZ_EMISUSE;
    if (len > GZ_FRAME_BYTES_MAX) return GZ_ELIMIT;
    if (w->broken) return io_err(w->last_errno);
    uint8_t head[NODE_WAL_HEADER_BYTES];
    gz_put_u32be(head, (uint32_t)len);
    head[8] = type;
    gz_put_u32be(head + 4, record_crc(head, payload, len));
    struct iovec iov[2] = {{head, sizeof head}, {(void *)payload, len}};
    if (pwritev_full(w->fd, iov, len > 0 ? 2 : 1, w->end) != GZ_OK) {
        int e = errno;
        /* Leave no partial record behind, or later records would follow garbage. */
        return wal_fail(w, e, ftruncate(w->fd, (off_t)w->end) != 0);
    }
    w->end += NODE_WAL_HEADER_BYTES + len;
    w->records++;
    /* After a failed fsync the kernel may have dropped the dirty pages;
     * nothing written since can be trusted, so stop appending until
     * node_wal_heal has rewritten the log. */
    if (sync && fdatasync(w->fd) != 0) return wal_fail(w, errno, true);
    if (sync) w->synced = w->end;
    return GZ_OK;
}

int node_wal_sync(node_wal *w) {
    if (w == NULL || w->fd < 0) return GZ_EMISUSE;
    if (w->broken) return io_err(w->last_errno);
    if (fdatasync(w->fd) != 0) return wal_fail(w, errno, true);
    w->synced = w->end;
    return GZ_OK;
}

int node_wal_replay(node_wal *w, node_wal_cb cb, void *data) {
    if (w == NULL || w->fd < 0 || cb == NULL) return GZ_EMISUSE;
    uint64_t end = 0, records = 0;
    int err = walk(w->fd, w->end, cb, data, &end, &records);
    if (err != GZ_OK) return err;
    if (end != w->end || records != w->records) return GZ_ECORRUPT;
    return GZ_OK;
}

int node_wal_reset(node_wal *w, gz_msg *msg) {
    if (w == NULL || w->fd < 0) return GZ_EMISUSE;
    if (w->broken)
        return gz_fail(msg, io_err(w->last_errno), "wal %s: broken by an earlier failed write (%s); not reset",
                       w->path, strerror(w->last_errno));
    if (ftruncate(w->fd, 0) != 0) {
        int e = errno;
        w->last_errno = e;
        return gz_fail(msg, io_err(e), "wal %s: truncate: %s", w->path, strerror(e));
    }
    w->end = 0;
    w->records = 0;
    w->synced = 0;
    return GZ_OK;
}

/* Copies [0, end) of the old file into fd. */
static int copy_prefix(int from, int to, uint64_t end) {
    uint8_t buf[64 * 1024];
    for (uint64_t off = 0; off < end;) {
        size_t n = end - off < sizeof buf ? (size_t)(end - off) : sizeof buf;
        int rc = pread_full(from, buf, n, off);
        if (rc != GZ_OK) return rc;
        struct iovec iov = {buf, n};
        if ((rc = pwritev_full(to, &iov, 1, off)) != GZ_OK) return rc;
        off += n;
    }
    return GZ_OK;
}

/* Writes the new file: the old one's records, re-checked, then synced. */
static int heal_write(node_wal *w, int fd, uint64_t *end, uint64_t *records) {
    int rc = w->fd >= 0 ? copy_prefix(w->fd, fd, w->end) : GZ_OK;
    if (rc != GZ_OK) return rc;
    /* What the old file's pages held may be less than what it was told to
     * hold: keep the clean prefix of what was copied. */
    rc = walk(fd, w->fd >= 0 ? w->end : 0, NULL, NULL, end, records);
    if (rc != GZ_OK) return rc;
    if (ftruncate(fd, (off_t)*end) != 0) return io_err(errno);
    if ((rc = wal_reserve(fd)) != GZ_OK) return rc;
    if (fdatasync(fd) != 0) return io_err(errno);
    return GZ_OK;
}

int node_wal_heal(node_wal *w, gz_msg *msg) {
    if (w == NULL || w->path == NULL) return GZ_EMISUSE;
    size_t plen = strlen(w->path);
    char *tmp = malloc(plen + 5);
    if (tmp == NULL) return gz_fail(msg, GZ_ENOMEM, "wal: out of memory");
    memcpy(tmp, w->path, plen);
    memcpy(tmp + plen, ".new", 5);
    uint64_t end = 0, records = 0;
    int fd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int rc = fd < 0 ? io_err(errno) : heal_write(w, fd, &end, &records);
    if (rc == GZ_OK && rename(tmp, w->path) != 0) rc = io_err(errno);
    if (rc == GZ_OK && node_fsync_parent_dir(w->path) != GZ_OK) rc = GZ_EIO;
    if (rc != GZ_OK) {
        int e = errno;
        if (fd >= 0) close(fd);
        (void)unlink(tmp);
        free(tmp);
        w->last_errno = e;
        return gz_fail(msg, rc, "wal %s: rewrite: %s", w->path, strerror(e));
    }
    free(tmp);
    if (w->fd >= 0) close(w->fd);
    w->fd = fd;
    w->end = w->synced = end;
    w->records = records;
    w->broken = false;
    return GZ_OK;
}
