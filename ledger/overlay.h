/* The block overlay: a block's state writes held in memory over the committed
 * state in the store, with per-tx savepoints.
 *
 * Lookups go through a hash table (committed reads are cached too, so a key
 * read by many txs costs one store read per block). The table is never
 * iterated: entries live in an array in first-touch order, and the write set
 * is that array's written entries sorted by key. A savepoint keeps an undo log
 * of the writes made since it began, so a failing tx is undone in time
 * proportional to its own writes. */
#ifndef GZ_LEDGER_OVERLAY_H
#define GZ_LEDGER_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/err.h"
#include "ledger/ledger_internal.h"
#include "storage/store.h"

typedef struct ledger_overlay ledger_overlay;

/* A new empty overlay over the committed state of s (borrowed), or NULL. */
ledger_overlay *ledger_ov_new(store *s);
void ledger_ov_free(ledger_overlay *ov);

/* Returns GZ_OK (value replaced into val), GZ_ENOTFOUND (val emptied), or an
 * internal error. */
GZ_WUR int ledger_ov_get(ledger_overlay *ov, const uint8_t *key, size_t key_len, gz_buf *val);
/* Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int ledger_ov_put(ledger_overlay *ov, const uint8_t *key, size_t key_len, const void *val,
                         size_t val_len);
GZ_WUR int ledger_ov_del(ledger_overlay *ov, const uint8_t *key, size_t key_len);

/* Savepoints do not nest: begin, then exactly one of release (keep the writes)
 * or rollback (undo them). Writes outside a savepoint are not undoable. */
void ledger_ov_savepoint_begin(ledger_overlay *ov);
void ledger_ov_savepoint_release(ledger_overlay *ov);
void ledger_ov_savepoint_rollback(ledger_overlay *ov);

/* Merged ordered scan (see ledger_state_scan in ledger_internal.h). */
GZ_WUR int ledger_ov_scan(ledger_overlay *ov, const uint8_t *prefix, size_t prefix_len,
                          const uint8_t *start, size_t start_len, ledger_scan_cb cb, void *data);

/* Number of written keys (puts and deletes). */
size_t ledger_ov_write_count(const ledger_overlay *ov);

/* out = SHA256 of the write set: for each written key in key order,
 * u32 BE key length ‖ key ‖ (u32 BE value length ‖ value, or 0xFFFFFFFF for a
 * delete). Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int ledger_ov_write_set_hash(ledger_overlay *ov, uint8_t out[32]);

/* Adds every written key to batch under the store's 'S' prefix, in key order.
 * Returns GZ_OK, GZ_EARG or GZ_ENOMEM. */
GZ_WUR int ledger_ov_to_batch(ledger_overlay *ov, store_batch *batch);

#endif
