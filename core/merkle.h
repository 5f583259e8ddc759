/* RFC 9162 §2.1 Merkle tree hashes, inclusion and consistency proofs.
 * Leaves are given by their leaf hashes SHA256(0x00 ‖ leaf). All functions are
 * iterative (no recursion) and allocate nothing. Proof generation hashes each
 * leaf O(log n) times at most: O(n) per proof. */
#ifndef GZ_CORE_MERKLE_H
#define GZ_CORE_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h" /* GZ_MERKLE_PROOF_MAX: the longest proof, for 2^64 leaves */

/* out = SHA256(0x00 ‖ leaf). */
void core_merkle_leaf_hash(uint8_t out[32], const uint8_t *leaf, size_t len);
/* out = SHA256(0x01 ‖ left ‖ right). */
void core_merkle_node_hash(uint8_t out[32], const uint8_t left[32], const uint8_t right[32]);

/* Root over n leaf hashes (n = 0 gives SHA256("")). Returns GZ_OK (it cannot fail;
 * the return value is kept for callers written against an allocating version). */
GZ_WUR int core_merkle_root(uint8_t out[32], const uint8_t (*leaf_hashes)[32], size_t n);

/* Inclusion proof of leaf `index` in a tree of n leaves. path must hold
 * GZ_MERKLE_PROOF_MAX entries; *path_len receives the count (bottom-up).
 * Returns GZ_OK or GZ_EMISUSE (index >= n: callers check indexes from outside). */
GZ_WUR int core_merkle_inclusion_proof(uint8_t (*path)[32], size_t *path_len,
                                       const uint8_t (*leaf_hashes)[32], size_t n, size_t index);

/* RFC 9162 §2.1.3.2. Returns GZ_OK if the proof binds leaf_hash at index to root,
 * else GZ_EVERIFY (also for path_len > GZ_MERKLE_PROOF_MAX), or GZ_EARG if
 * index >= size. */
GZ_WUR int core_merkle_inclusion_verify(const uint8_t leaf_hash[32], uint64_t index, uint64_t size,
                                        const uint8_t (*path)[32], size_t path_len,
                                        const uint8_t root[32]);

/* Consistency proof between the first m and all n leaves, RFC 9162 §2.1.4; empty
 * when m == n. path must hold GZ_MERKLE_PROOF_MAX entries.
 * Returns GZ_OK or GZ_EMISUSE (m == 0 or m > n: callers check sizes from outside). */
GZ_WUR int core_merkle_consistency_proof(uint8_t (*path)[32], size_t *path_len,
                                         const uint8_t (*leaf_hashes)[32], size_t n, size_t m);

/* RFC 9162 §2.1.4.2. Returns GZ_OK or GZ_EVERIFY. size1 == size2 verifies only
 * with an empty path and root1 == root2. GZ_EARG if size1 == 0 (an empty tree is
 * consistent with every tree, so such a proof proves nothing) or size1 > size2. */
GZ_WUR int core_merkle_consistency_verify(uint64_t size1, uint64_t size2, const uint8_t root1[32],
                                          const uint8_t root2[32], const uint8_t (*path)[32],
                                          size_t path_len);

/* The right edge of a growing tree: the roots of its perfect subtrees, enough to
 * append a leaf and compute the root in O(log n) without the leaves. Used for the
 * provenance log, whose root goes into every header. Plain data: safe to memcpy
 * and to store (core_merkle_frontier_encode/decode give a stable byte form). */
typedef struct core_merkle_frontier {
    uint64_t size;
    uint8_t nodes[64][32]; /* nodes[h] is set when bit h of size is 1 */
} core_merkle_frontier;

/* Bytes of the longest encoded frontier: the size and 64 nodes. */
#define GZ_MERKLE_FRONTIER_BYTES_MAX (8 + 64 * 32)

void core_merkle_frontier_init(core_merkle_frontier *f);
/* Appends one leaf; the nodes that merged are zeroed, so two frontiers of the
 * same leaves are byte-identical. f->size must be below UINT64_MAX. */
void core_merkle_frontier_append(core_merkle_frontier *f, const uint8_t leaf_hash[32]);
/* Root of the first f->size leaves (SHA256("") when empty). */
void core_merkle_frontier_root(const core_merkle_frontier *f, uint8_t out[32]);
/* Stable byte form: size as 8 bytes big-endian, then nodes[h] for each set bit
 * h of size, in ascending h. Returns the length written (8 + 32 * popcount). */
size_t core_merkle_frontier_encode(const core_merkle_frontier *f,
                                   uint8_t out[GZ_MERKLE_FRONTIER_BYTES_MAX]);
/* Inverse of encode. Returns GZ_OK or GZ_ECORRUPT (length does not match the
 * size; f is then empty). */
GZ_WUR int core_merkle_frontier_decode(core_merkle_frontier *f, const uint8_t *p, size_t len);

#endif
