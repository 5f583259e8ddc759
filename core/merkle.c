/* RFC 9162 §2.1 Merkle trees. The recursive definitions of the RFC are
 * unrolled into loops that walk from the root down, collecting the sibling
 * hashes top-down and reversing them at the end (proofs list them bottom-up).
 * A subtree's hash is computed with a frontier, in O(log n) space. */
#include "core/merkle.h"

#include <assert.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hash.h"

void core_merkle_leaf_hash(uint8_t out[32], const uint8_t *leaf, size_t len) {
    static const uint8_t prefix = 0x00;
    core_sha256_ctx ctx;
    core_sha256_init(&ctx);
    core_sha256_update(&ctx, &prefix, 1);
    core_sha256_update(&ctx, leaf, len);
    core_sha256_final(&ctx, out);
}

void core_merkle_node_hash(uint8_t out[32], const uint8_t left[32], const uint8_t right[32]) {
    uint8_t buf[65];
    buf[0] = 0x01;
    memcpy(buf + 1, left, 32);
    memcpy(buf + 33, right, 32);
    core_sha256(out, buf, sizeof buf);
}

/* ---- frontier ------------------------------------------------------------------- */

void core_merkle_frontier_init(core_merkle_frontier *f) { memset(f, 0, sizeof *f); }

void core_merkle_frontier_append(core_merkle_frontier *f, const uint8_t leaf_hash[32]) {
    assert(f->size < UINT64_MAX);
    uint8_t carry[32];
    memcpy(carry, leaf_hash, 32);
    unsigned h = 0;
    /* Adding one to size carries through its low 1 bits: each carry merges a
     * perfect subtree with the new one of the same height. */
    while ((f->size >> h) & 1) {
        core_merkle_node_hash(carry, f->nodes[h], carry);
        memset(f->nodes[h], 0, 32);
        h++;
    }
    assert(h < 64);
    memcpy(f->nodes[h], carry, 32);
    f->size++;
}

void core_merkle_frontier_root(const core_merkle_frontier *f, uint8_t out[32]) {
    if (f->size == 0) {
        core_sha256(out, "", 0);
        return;
    }
    /* The tree is its perfect subtrees left to right, largest first; RFC 9162
     * splits at the largest power of two, so folding from the smallest (rightmost)
     * subtree leftwards gives exactly MTH. */
    bool have = false;
    for (unsigned h = 0; h < 64; h++) {
        if (!((f->size >> h) & 1)) continue;
        if (!have) memcpy(out, f->nodes[h], 32);
        else core_merkle_node_hash(out, f->nodes[h], out);
        have = true;
    }
}

size_t core_merkle_frontier_encode(const core_merkle_frontier *f,
                                   uint8_t out[GZ_MERKLE_FRONTIER_BYTES_MAX]) {
    gz_put_u64be(out, f->size);
    size_t len = 8;
    for (unsigned h = 0; h < 64; h++) {
        if (!((f->size >> h) & 1)) continue;
        memcpy(out + len, f->nodes[h], 32);
        len += 32;
    }
    return len;
}

int core_merkle_frontier_decode(core_merkle_frontier *f, const uint8_t *p, size_t len) {
    core_merkle_frontier_init(f);
    if (len < 8) return GZ_ECORRUPT;
    uint64_t size = gz_get_u64be(p);
    if (len != 8 + 32 * (size_t)__builtin_popcountll(size)) return GZ_ECORRUPT;
    size_t off = 8;
    for (unsigned h = 0; h < 64; h++) {
        if (!((size >> h) & 1)) continue;
        memcpy(f->nodes[h], p + off, 32);
        off += 32;
    }
    f->size = size;
    return GZ_OK;
}

/* ---- trees over leaf hashes in memory -------------------------------------------- */

/* MTH of leaves[lo .. lo + n). */
static void subtree_root(uint8_t out[32], const uint8_t (*leaves)[32], size_t lo, size_t n) {
    core_merkle_frontier f;
    core_merkle_frontier_init(&f);
    for (size_t i = 0; i < n; i++) core_merkle_frontier_append(&f, leaves[lo + i]);
    core_merkle_frontier_root(&f, out);
}

/* The largest power of two smaller than n (n >= 2): RFC 9162's split point k. */
static size_t split_point(size_t n) {
    assert(n >= 2);
    size_t k = 1;
    while (k < n - k) k <<= 1;
    return k;
}

static void reverse_path(uint8_t (*path)[32], size_t n) {
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t tmp[32];
        memcpy(tmp, path[i], 32);
        memcpy(path[i], path[n - 1 - i], 32);
        memcpy(path[n - 1 - i], tmp, 32);
    }
}

int core_merkle_root(uint8_t out[32], const uint8_t (*leaf_hashes)[32], size_t n) {
    assert(leaf_hashes != NULL || n == 0);
    subtree_root(out, leaf_hashes, 0, n);
    return GZ_OK;
}

int core_merkle_inclusion_proof(uint8_t (*path)[32], size_t *path_len,
                                const uint8_t (*leaf_hashes)[32], size_t n, size_t index) {
    *path_len = 0;
    if (index >= n) return GZ_EMISUSE;
    size_t lo = 0, size = n, m = index, cnt = 0;
    /* PATH(m, D[n]) = PATH(m, D[0:k]) : MTH(D[k:n]) or PATH(m - k, D[k:n]) : MTH(D[0:k]). */
    while (size > 1) {
        size_t k = split_point(size);
        assert(cnt < GZ_MERKLE_PROOF_MAX);
        if (m < k) {
            subtree_root(path[cnt++], leaf_hashes, lo + k, size - k);
            size = k;
        } else {
            subtree_root(path[cnt++], leaf_hashes, lo, k);
            lo += k;
            m -= k;
            size -= k;
        }
    }
    reverse_path(path, cnt);
    *path_len = cnt;
    return GZ_OK;
}

int core_merkle_consistency_proof(uint8_t (*path)[32], size_t *path_len,
                                  const uint8_t (*leaf_hashes)[32], size_t n, size_t m) {
    *path_len = 0;
    if (m == 0 || m > n) return GZ_EMISUSE;
    size_t lo = 0, size = n, cnt = 0;
    bool whole = true; /* RFC 9162's b: the subtree so far is the whole old tree */
    while (m != size) {
        size_t k = split_point(size);
        assert(cnt < GZ_MERKLE_PROOF_MAX);
        if (m <= k) {
            subtree_root(path[cnt++], leaf_hashes, lo + k, size - k);
            size = k;
        } else {
            subtree_root(path[cnt++], leaf_hashes, lo, k);
            lo += k;
            m -= k;
            size -= k;
            whole = false;
        }
    }
    if (!whole) {
        assert(cnt < GZ_MERKLE_PROOF_MAX);
        subtree_root(path[cnt++], leaf_hashes, lo, size);
    }
    reverse_path(path, cnt);
    *path_len = cnt;
    return GZ_OK;
}

/* ---- verification (RFC 9162 §2.1.3.2 and §2.1.4.2, step by step) ---------------- */

int core_merkle_inclusion_verify(const uint8_t leaf_hash[32], uint64_t index, uint64_t size,
                                 const uint8_t (*path)[32], size_t path_len,
                                 const uint8_t root[32]) {
    if (index >= size) return GZ_EARG;
    if (path_len > GZ_MERKLE_PROOF_MAX) return GZ_EVERIFY;
    uint64_t fn = index, sn = size - 1;
    uint8_t r[32];
    memcpy(r, leaf_hash, 32);
    for (size_t i = 0; i < path_len; i++) {
        if (sn == 0) return GZ_EVERIFY;
        if ((fn & 1) || fn == sn) {
            core_merkle_node_hash(r, path[i], r);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            core_merkle_node_hash(r, r, path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    return sn == 0 && memcmp(r, root, 32) == 0 ? GZ_OK : GZ_EVERIFY;
}

int core_merkle_consistency_verify(uint64_t size1, uint64_t size2, const uint8_t root1[32],
                                   const uint8_t root2[32], const uint8_t (*path)[32],
                                   size_t path_len) {
    /* An empty old tree is consistent with anything, so a proof for it proves
     * nothing and is refused, as is a shrinking tree. */
    if (size1 == 0 || size1 > size2) return GZ_EARG;
    if (size1 == size2)
        return path_len == 0 && memcmp(root1, root2, 32) == 0 ? GZ_OK : GZ_EVERIFY;
    if (path_len == 0 || path_len > GZ_MERKLE_PROOF_MAX) return GZ_EVERIFY;
    /* Step 2: for a power-of-two old size the old root is the first node. */
    bool prepend = (size1 & (size1 - 1)) == 0;
    uint64_t fn = size1 - 1, sn = size2 - 1;
    while (fn & 1) {
        fn >>= 1;
        sn >>= 1;
    }
    uint8_t fr[32], sr[32];
    memcpy(fr, prepend ? root1 : path[0], 32);
    memcpy(sr, fr, 32);
    for (size_t i = prepend ? 0 : 1; i < path_len; i++) {
        if (sn == 0) return GZ_EVERIFY;
        if ((fn & 1) || fn == sn) {
            core_merkle_node_hash(fr, path[i], fr);
            core_merkle_node_hash(sr, path[i], sr);
            while (!(fn & 1) && fn != 0) {
                fn >>= 1;
                sn >>= 1;
            }
        } else {
            core_merkle_node_hash(sr, sr, path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    bool ok = memcmp(fr, root1, 32) == 0 && memcmp(sr, root2, 32) == 0 && sn == 0;
    return ok ? GZ_OK : GZ_EVERIFY;
}
