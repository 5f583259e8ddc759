/* libFuzzer target: a write-ahead log as a restarted node finds it on disk
 * (node/wal.h). The input's first byte picks the form: even, the rest is the
 * file as it is (torn tails, bad checksums, zeros); odd, the rest is records
 * type u8 ‖ len u16 (big-endian) ‖ payload, written with their correct
 * checksums, so that the payloads reach the node's replay decoders. The file
 * is opened and replayed by the log itself, then a real engine (validator
 * FZ_ME of the fixed chain, fresh sign state) opens and starts on it, which
 * replays the proposals, votes and timeouts into consensus.
 *
 * Seeds: the proposal and votes of height 1 of a 4-validator network on the
 * same chain and a timeout, in both forms, and the file form with a torn
 * tail. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node/wal.h"
#include "node/wire.h"
#include "tests/fuzz/fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The node's record types (node/node_internal.h): proposal, vote, timeout. */
enum { REC_PROPOSAL = 1, REC_VOTE = 2, REC_TIMEOUT = 3 };

static gz_genesis G;
static fz_node F;

static void put_record(gz_buf *out, uint8_t type, const uint8_t *p, size_t len) {
    uint8_t head[NODE_WAL_HEADER_BYTES];
    gz_put_u32be(head, (uint32_t)len);
    head[8] = type;
    uint32_t c = node_crc32c(0, head, 4);
    c = node_crc32c(c, head + 8, 1);
    gz_put_u32be(head + 4, node_crc32c(c, p, len));
    if (gz_buf_append(out, head, sizeof head) != GZ_OK || gz_buf_append(out, p, len) != GZ_OK) abort();
}

/* The odd form: records to be written with their checksums. */
static void records(gz_buf *out, const uint8_t *p, size_t n) {
    size_t off = 0;
    while (n - off >= 3) {
        uint8_t type = p[off];
        size_t len = gz_get_u16be(p + off + 1);
        off += 3;
        if (len > n - off) len = n - off;
        put_record(out, type, p + off, len);
        off += len;
    }
}

static int count(uint8_t type, const uint8_t *payload, size_t len, void *data) {
    uint64_t *seen = data; /* records, and a sum that reads every byte */
    seen[0]++;
    seen[1] += type;
    for (size_t i = 0; i < len; i++) seen[1] += payload[i];
    return GZ_OK;
}

static void replay_log(const char *path, size_t file_len) {
    node_wal w;
    gz_msg msg;
    if (node_wal_open(&w, path, &msg) != GZ_OK) abort();
    if (w.end + w.dropped_bytes != file_len) __builtin_trap();
    uint64_t seen[2] = {0, 0};
    if (node_wal_replay(&w, count, seen) != GZ_OK || seen[0] != w.records) __builtin_trap();
    node_wal_close(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    gz_buf file;
    gz_buf_init(&file);
    if (data[0] & 1) records(&file, data + 1, size - 1);
    else if (gz_buf_append(&file, data + 1, size - 1) != GZ_OK) abort();
    char path[600];
    snprintf(path, sizeof path, "%s/wal.wal", fz_tmpdir());
    FILE *fp = fopen(path, "wb");
    if (fp == NULL || fwrite(file.data, 1, file.len, fp) != file.len || fclose(fp) != 0) abort();
    replay_log(path, file.len);
    gz_buf_free(&file);
    snprintf(path, sizeof path, "%s/wal.signstate", fz_tmpdir());
    (void)unlink(path);
    if (fz_node_open(&F, &G, FZ_ME, "wal", false) != 0) abort();
    fz_node_close(&F);
    return 0;
}

/* Height 1's consensus messages from the network, as WAL payloads. */
static void height_one(const fz_net *net, gz_buf *file, gz_buf *recs) {
    uint8_t timeout[17] = {0};
    gz_put_u64be(timeout, 1);
    timeout[16] = 1;
    for (size_t k = 0; k < net->n_log; k++) {
        const fz_sent *s = &net->log[k];
        if (s->type != NODE_MSG_PROPOSAL && s->type != NODE_MSG_VOTE) continue;
        uint8_t type = s->type == NODE_MSG_PROPOSAL ? REC_PROPOSAL : REC_VOTE;
        put_record(file, type, s->payload.data, s->payload.len);
        uint8_t head[3] = {type};
        gz_put_u16be(head + 1, (uint16_t)s->payload.len);
        if (gz_buf_append(recs, head, 3) != GZ_OK || gz_buf_append(recs, s->payload.data, s->payload.len) != GZ_OK)
            abort();
    }
    put_record(file, REC_TIMEOUT, timeout, sizeof timeout);
    uint8_t head[3] = {REC_TIMEOUT, 0, sizeof timeout};
    if (gz_buf_append(recs, head, 3) != GZ_OK || gz_buf_append(recs, timeout, sizeof timeout) != GZ_OK) abort();
}

static void write_seeds(const char *dir) {
    static fz_net net;
    if (fz_net_run(&net, &G, 1) != 0) exit(1);
    gz_buf file, recs;
    gz_buf_init(&file);
    gz_buf_init(&recs);
    if (gz_buf_append(&file, "\x00", 1) != GZ_OK || gz_buf_append(&recs, "\x01", 1) != GZ_OK) abort();
    height_one(&net, &file, &recs);
    if (fz_seed(dir, "file_height_1", file.data, file.len) != 0) exit(1);
    if (fz_seed(dir, "records_height_1", recs.data, recs.len) != 0) exit(1);
    if (fz_seed(dir, "file_torn_tail", file.data, file.len - 5) != 0) exit(1);
    gz_buf_free(&file);
    gz_buf_free(&recs);
    fz_net_free(&net);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_genesis(&G);
    fz_seed_mode(write_seeds);
    return 0;
}
