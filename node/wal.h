/* The consensus write-ahead log: what this node saw and did in the current
 * height (proposals, votes, timeouts, the node's own signed messages), so that
 * a restarted node resumes the height it was in instead of starting blind.
 *
 * The file is a sequence of records, integers big-endian:
 *   len u32 (payload bytes) ‖ crc u32 ‖ type u8 ‖ payload[len]
 * where crc is CRC-32C over len ‖ type ‖ payload. Opening keeps the longest
 * clean prefix and truncates whatever follows (a torn or corrupt tail), and
 * reports how many bytes were dropped. A height's records are needed only
 * until its block is committed, so the node calls node_wal_reset when a new
 * height starts. Record types are the node's; type 0 is never valid, so a
 * tail of zeros (an extended but unwritten file) is recognised as torn. */
#ifndef GZ_NODE_WAL_H
#define GZ_NODE_WAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Bytes before each payload. */
#define NODE_WAL_HEADER_BYTES 9
/* Disk space node_wal_heal reserves beyond the records (the file's size
 * unchanged, the space given back by the next reset): a height's votes over
 * many rounds fit, so a log healed on a disk with less free space than this
 * does not count as healed. */
#define NODE_WAL_RESERVE_BYTES (1024u * 1024u)

typedef struct node_wal {
    int fd;
    char *path;
    uint64_t end;        /* bytes of complete records */
    uint64_t records;    /* complete records in the log */
    uint64_t synced;     /* bytes made durable by the last sync: a crash may lose any after them */
    uint64_t dropped_bytes; /* cut from the tail by node_wal_open */
    bool broken;         /* a failed write could not be undone; appends refused */
    int last_errno;      /* of the last failed write, for the log */
} node_wal;

/* Called once per record in order; any result other than GZ_OK stops the
 * replay, which returns it. */
typedef int (*node_wal_cb)(uint8_t type, const uint8_t *payload, size_t len, void *data);

/* Opens (creating if missing) the log at path, truncating a torn or corrupt
 * tail (w->dropped_bytes says how much). Returns GZ_OK, GZ_EARG (empty path),
 * GZ_EMISUSE (w NULL), GZ_ENOMEM or GZ_EIO with msg naming the path and the
 * reason; w is zeroed (fd -1) on failure. */
GZ_WUR int node_wal_open(node_wal *w, const char *path, gz_msg *msg);
/* Closes the file and frees w's memory (safe on a zeroed or failed w). */
void node_wal_close(node_wal *w);

/* Appends one record; with sync, the record is on disk (fdatasync) before
 * this returns. Returns GZ_OK, GZ_EMISUSE (w not open, type 0, NULL payload
 * with len > 0), GZ_ELIMIT (len > GZ_FRAME_BYTES_MAX), GZ_ENOSPC (the disk
 * is full) or GZ_EIO, w->last_errno saying why. After a failed write the
 * partial record is cut off again; if that fails too, or a sync fails, w is
 * broken: every later append and sync fails until node_wal_heal succeeds. */
GZ_WUR int node_wal_append(node_wal *w, uint8_t type, const uint8_t *payload, size_t len,
                           bool sync);
/* Makes every appended record durable. Returns GZ_OK, GZ_EIO, GZ_ENOSPC or
 * GZ_EMISUSE (w not open). A failed sync breaks w. */
GZ_WUR int node_wal_sync(node_wal *w);

/* Calls cb for every complete record, oldest first. Returns GZ_OK, cb's first
 * non-OK result, GZ_ENOMEM, GZ_EIO, GZ_ECORRUPT if the file changed under
 * the log since it was opened, or GZ_EMISUSE (w not open, cb NULL). */
GZ_WUR int node_wal_replay(node_wal *w, node_wal_cb cb, void *data);

/* Empties the log (truncates the file) without syncing: a height's block is
 * committed (durably, in the store) before the next height resets the log, so
 * what a crash may leave is records of that committed height, which replay
 * ignores as late, or a torn tail, which open cuts off. The truncation is made
 * durable by the next synced append, since fdatasync also persists the size.
 * This keeps two device flushes (a new file's and its directory's) off every
 * height. Returns GZ_OK, GZ_EIO or GZ_ENOSPC (w unchanged) or GZ_EMISUSE
 * (w not open). A broken w stays broken and is not emptied: only
 * node_wal_heal makes it take appends again. */
GZ_WUR int node_wal_reset(node_wal *w, gz_msg *msg);

/* Rewrites the log as a new file (path ".new", synced, renamed over path,
 * its directory synced) holding the clean prefix of what w holds, and
 * appends go there from now on: after a failed write or sync the old file's
 * contents on disk are unknown, while a new file written and synced is
 * known; the new file reserves NODE_WAL_RESERVE_BYTES. Clears broken. Returns GZ_OK, or GZ_ENOSPC, GZ_EIO or GZ_ENOMEM with
 * msg naming the path (w unchanged, still broken if it was). */
GZ_WUR int node_wal_heal(node_wal *w, gz_msg *msg);

/* CRC-32C (Castagnoli), chainable: crc = node_crc32c(crc, more, n) starting
 * from 0. node_crc32c(0, "123456789", 9) == 0xe3069283. */
uint32_t node_crc32c(uint32_t crc, const void *data, size_t len);

/* fsyncs the directory holding path, so a created or renamed file survives a
 * crash. Returns GZ_OK or GZ_EIO. */
GZ_WUR int node_fsync_parent_dir(const char *path);

#endif
