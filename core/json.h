/* JSON helpers shared by every module that reads or writes JSON (genesis,
 * node config, the verifier's bundles, JSON-RPC): one spelling of bytes as a
 * JSON string, and one field reader.
 *
 * The reader. Each core_json_<type> reads member `key` of the object `obj`
 * (or, when key is NULL, `obj` itself: an array element or a value already
 * in hand), checks its type and range, and on failure returns an error with
 * msg (when non-NULL) naming the field's full path and what it must be:
 *
 *   "consensus.timeout_vote_ms: expected a non-negative integer"
 *   "config.propose_wait_ms: expected an integer in 0..10000, found 10001"
 *   "validators[2].pub_key: expected 64 hex chars"
 *   "policy.votes.trust_delta: missing (expected an integer)"
 *   "policy.votes.foo: unknown key"
 *
 * `path` names obj ("" for the top level, "policy.votes", "params"); the
 * field is "<path>.<key>", or "<key>" when path is empty, or path itself
 * when key is NULL. An absent member (or a NULL obj) is "missing"; JSON null
 * is a value of the wrong type (callers for which null means absent, as
 * JSON-RPC params, test for it first). Returns GZ_OK, GZ_EARG for a bad
 * input, or GZ_ENOMEM (core_json_hex_buf only); outputs are zeroed (empty,
 * NULL) on failure. */
#ifndef GZ_CORE_JSON_H
#define GZ_CORE_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "core/err.h"

/* A new JSON string holding n bytes as lowercase hex, or NULL when out of
 * memory. */
json_t *core_json_hex(const uint8_t *p, size_t n);

/* Room for a field path: the deepest genesis path with room to spare, and
 * less than a gz_msg so the reason still fits after it. Longer paths are cut. */
#define CORE_JSON_PATH_MAX 160

/* out = "<path>.<key>", or key when path is empty. */
void core_json_path(char out[CORE_JSON_PATH_MAX], const char *path, const char *key);
/* out = "<path>[<i>]". */
void core_json_path_index(char out[CORE_JSON_PATH_MAX], const char *path, size_t i);

/* An integer in min..max (min <= max). With the whole range (0..UINT64_MAX;
 * JSON integers stop at INT64_MAX) the message is "expected a non-negative
 * integer", else "expected an integer in min..max". */
GZ_WUR int core_json_u64(const json_t *obj, const char *path, const char *key, uint64_t min,
                         uint64_t max, uint64_t *out, gz_msg *msg);
/* An integer in min..max; with INT64_MIN..INT64_MAX "expected an integer". */
GZ_WUR int core_json_i64(const json_t *obj, const char *path, const char *key, int64_t min,
                         int64_t max, int64_t *out, gz_msg *msg);
GZ_WUR int core_json_bool(const json_t *obj, const char *path, const char *key, bool *out,
                          gz_msg *msg);

/* A string of min..max bytes without NUL characters (jansson has already
 * checked UTF-8), borrowed from obj: *out is valid as long as obj is, and
 * strlen(*out) is its length. max = SIZE_MAX means no bound. */
GZ_WUR int core_json_str_view(const json_t *obj, const char *path, const char *key, size_t min,
                              size_t max, const char **out, gz_msg *msg);
/* As core_json_str_view, copied to out (max + 1 bytes) and NUL-terminated. */
GZ_WUR int core_json_str(const json_t *obj, const char *path, const char *key, size_t min,
                         size_t max, char *out, gz_msg *msg);

/* Exactly n bytes as 2n hex chars (either case), into out. */
GZ_WUR int core_json_hex_fixed(const json_t *obj, const char *path, const char *key, uint8_t *out,
                               size_t n, gz_msg *msg);
/* Hex of min..max bytes, decoded into out (emptied first, left empty on
 * failure). The length is checked before anything is allocated. */
GZ_WUR int core_json_hex_buf(const json_t *obj, const char *path, const char *key, size_t min,
                             size_t max, gz_buf *out, gz_msg *msg);

/* An object whose keys are all among keys (NULL-terminated; keys == NULL
 * allows any); *out borrows it. The first other key is "<field>.<k>:
 * unknown key". */
GZ_WUR int core_json_object(const json_t *obj, const char *path, const char *key,
                            const char *const *keys, const json_t **out, gz_msg *msg);
/* An array of min..max elements; *out borrows it, *n is its size. Name its
 * elements with core_json_path_index. */
GZ_WUR int core_json_array(const json_t *obj, const char *path, const char *key, size_t min,
                           size_t max, const json_t **out, size_t *n, gz_msg *msg);

#endif
