/* Double-sign protection (SPEC §4): before any proposal or vote signature
 * leaves the process, the last signed (height, round, step) and the hash that
 * was signed are persisted with fsync; after a restart the node refuses to
 * sign anything that conflicts with them.
 *
 * The file is 60 bytes, integers big-endian:
 *   magic "GZSS" ‖ version u8 (1) ‖ step u8 ‖ reserved u16 (0) ‖ height u64 ‖
 *   round u64 ‖ sighash[32] ‖ crc32c u32 over the 56 bytes before it
 * and is overwritten in place and fdatasynced before each signature (one
 * device flush; the directory is synced once, when the file is created). The
 * record lies inside the first disk sector, so a crash leaves the old or the
 * new one. A missing file means nothing was signed yet; a file that fails any
 * check (a torn write included) is an error at open, never silently reset. */
#ifndef GZ_NODE_SIGNSTATE_H
#define GZ_NODE_SIGNSTATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"

#define NODE_SIGNSTATE_FILE_BYTES 60

/* Steps within a round, in the order a validator signs them. */
enum {
    NODE_STEP_PROPOSAL = 1,
    NODE_STEP_PREVOTE = 2,
    NODE_STEP_PRECOMMIT = 3,
};

typedef struct node_signstate {
    char *path;
    int fd;             /* open for writing once fd_open (after the first persist) */
    bool fd_open;
    bool dir_pending;   /* the file was created and its directory not yet synced */
    bool have;          /* false until something was signed */
    uint64_t height;    /* the last signed (height, round, step) when have */
    uint64_t round;
    uint8_t step;
    uint8_t sighash[32];
    int last_errno;     /* of the last failed write, for the log */
} node_signstate;

/* Loads the state at path (a missing file is an empty state). Returns GZ_OK,
 * GZ_EARG (empty path), GZ_EMISUSE (s NULL), GZ_ENOMEM, GZ_EIO, or
 * GZ_ECORRUPT for a file of the wrong size, magic, version, step or
 * checksum; msg names the path and the reason. s is zeroed on failure. */
GZ_WUR int node_signstate_open(node_signstate *s, const char *path, gz_msg *msg);
/* Frees s's memory (safe on a zeroed or failed s). */
void node_signstate_free(node_signstate *s);

/* Decides whether this process may sign sighash at (height, round, step) and,
 * if so, makes that durable before returning. Returns
 *   GZ_OK       signing is allowed: the state is higher than the last signed
 *               one (and is now on disk), or equal to it with the same sighash
 *               (a re-send of the very same message);
 *   GZ_ECONFLICT lower than the last signed state, or equal with a different
 *               sighash: signing would be equivocation;
 *   GZ_EMISUSE  step outside 1..3, s not open or sighash NULL;
 *   GZ_EIO      the state could not be persisted (the in-memory state is
 *               unchanged, so the caller must not sign; s->last_errno says
 *               why), GZ_ENOSPC when the disk is full. */
GZ_WUR int node_signstate_check_and_persist(node_signstate *s, uint64_t height, uint64_t round,
                                            uint8_t step, const uint8_t sighash[32]);
/* Writes the last signed state again and syncs it: after a failed persist,
 * this tells whether the file takes writes again. Returns GZ_OK (also when
 * nothing was signed yet), GZ_EIO, GZ_ENOSPC or GZ_EMISUSE. */
GZ_WUR int node_signstate_heal(node_signstate *s);

#endif
