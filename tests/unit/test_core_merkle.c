/* RFC 9162 Merkle trees: the transparency-dev vectors, generated proofs for
 * every small tree, tampering, and the frontier. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/hash.h"
#include "core/merkle.h"
#include "tests/unit/testutil.h"

/* ---- RFC 9162 vectors (read by tests/unit/testutil.c) ---------------------- */

static void check_inclusion(const tu_merkle_vector *v) {
    int rc = core_merkle_inclusion_verify(v->leaf_hash, v->leaf_index, v->tree_size,
                                          (const uint8_t(*)[32])v->proof, v->proof_len, v->root);
    if (v->well_formed) cr_assert_eq(rc != GZ_OK, v->want_err, "%s: rc %d", v->path, rc);
    else cr_assert(v->want_err, "%s: a malformed hash must be an error case", v->path);
}

static void check_consistency(const tu_merkle_vector *v) {
    int rc = core_merkle_consistency_verify(v->size1, v->size2, v->root1, v->root2,
                                            (const uint8_t(*)[32])v->proof, v->proof_len);
    if (v->well_formed) cr_assert_eq(rc != GZ_OK, v->want_err, "%s: rc %d", v->path, rc);
    else cr_assert(v->want_err, "%s: a malformed hash must be an error case", v->path);
}

Test(core_merkle, vectors_inclusion_every_file) {
    int n = tu_merkle_vectors(GZ_VECTORS_DIR "/merkle/testdata/inclusion", false, check_inclusion);
    cr_assert_eq(n, 98, "read %d files", n);
}

Test(core_merkle, vectors_consistency_every_file) {
    int n = tu_merkle_vectors(GZ_VECTORS_DIR "/merkle/testdata/consistency", true, check_consistency);
    cr_assert_eq(n, 98, "read %d files", n);
}

/* ---- generated trees ----------------------------------------------------------- */

#define LEAVES_MAX 200
static uint8_t leaves[LEAVES_MAX][32];

static void make_leaves(void) {
    for (int i = 0; i < LEAVES_MAX; i++) {
        char data[32];
        int len = snprintf(data, sizeof data, "leaf %d", i);
        core_merkle_leaf_hash(leaves[i], (const uint8_t *)data, (size_t)len);
    }
}

/* RFC 9162's recursive definition, written out plainly as the reference. */
static void reference_root(uint8_t out[32], size_t lo, size_t n) {
    if (n == 0) {
        core_sha256(out, "", 0);
        return;
    }
    if (n == 1) {
        memcpy(out, leaves[lo], 32);
        return;
    }
    size_t k = 1;
    while (k * 2 < n) k *= 2;
    uint8_t l[32], r[32];
    reference_root(l, lo, k);
    reference_root(r, lo + k, n - k);
    core_merkle_node_hash(out, l, r);
}

static const uint8_t (*L)[32] = (const uint8_t(*)[32])leaves;

Test(core_merkle, known_roots_of_the_ct_test_leaves) {
    static const char *const data_hex[] = {"", "00", "10", "2021", "3031", "40414243",
                                           "5051525354555657", "606162636465666768696a6b6c6d6e6f"};
    static const char *const roots[] = {
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};
    uint8_t hashes[8][32], root[32];
    for (size_t i = 0; i < 8; i++) {
        gz_buf b;
        gz_buf_init(&b);
        cr_assert_eq(gz_hex_decode_buf(&b, data_hex[i], strlen(data_hex[i])), GZ_OK);
        core_merkle_leaf_hash(hashes[i], b.data, b.len);
        gz_buf_free(&b);
        cr_assert_eq(core_merkle_root(root, (const uint8_t(*)[32])hashes, i + 1), GZ_OK);
        char hex[65];
        gz_hex_encode(hex, root, 32);
        cr_assert_str_eq(hex, roots[i], "size %zu", i + 1);
    }
    cr_assert_eq(core_merkle_root(root, NULL, 0), GZ_OK);
    uint8_t empty[32];
    core_sha256(empty, "", 0);
    cr_assert_arr_eq(root, empty, 32);
}

Test(core_merkle, inclusion_proofs_for_every_index_of_sizes_1_to_64, .init = make_leaves) {
    uint8_t path[GZ_MERKLE_PROOF_MAX][32], root[32], want[32];
    for (size_t n = 1; n <= 64; n++) {
        cr_assert_eq(core_merkle_root(root, L, n), GZ_OK);
        reference_root(want, 0, n);
        cr_assert_arr_eq(root, want, 32, "root of %zu", n);
        for (size_t i = 0; i < n; i++) {
            size_t len = 99;
            cr_assert_eq(core_merkle_inclusion_proof(path, &len, L, n, i), GZ_OK);
            const uint8_t(*P)[32] = (const uint8_t(*)[32])path;
            cr_assert_eq(core_merkle_inclusion_verify(leaves[i], i, n, P, len, root), GZ_OK,
                         "n %zu i %zu", n, i);
            uint8_t other = (uint8_t)(i + 1 < n ? i + 1 : 0);
            if (other != i)
                cr_assert_neq(core_merkle_inclusion_verify(leaves[other], i, n, P, len, root), GZ_OK);
            for (size_t k = 0; k < len; k++) {
                path[k][k % 32] ^= 0x10;
                cr_assert_eq(core_merkle_inclusion_verify(leaves[i], i, n, P, len, root), GZ_EVERIFY,
                             "tampered n %zu i %zu k %zu", n, i, k);
                path[k][k % 32] ^= 0x10;
            }
            if (len > 0)
                cr_assert_neq(core_merkle_inclusion_verify(leaves[i], i, n, P, len - 1, root), GZ_OK);
            memcpy(path[len], root, 32);
            cr_assert_neq(core_merkle_inclusion_verify(leaves[i], i, n, P, len + 1, root), GZ_OK);
        }
        size_t len = 0;
        cr_assert_eq(core_merkle_inclusion_proof(path, &len, L, n, n), GZ_EMISUSE);
        cr_assert_eq(core_merkle_inclusion_verify(leaves[0], n, n, (const uint8_t(*)[32])path, 0, root),
                     GZ_EARG);
    }
}

Test(core_merkle, consistency_proofs_for_every_pair_up_to_64, .init = make_leaves) {
    uint8_t path[GZ_MERKLE_PROOF_MAX][32], root1[32], root2[32];
    const uint8_t(*P)[32] = (const uint8_t(*)[32])path;
    for (size_t n = 1; n <= 64; n++) {
        cr_assert_eq(core_merkle_root(root2, L, n), GZ_OK);
        for (size_t m = 1; m <= n; m++) {
            cr_assert_eq(core_merkle_root(root1, L, m), GZ_OK);
            size_t len = 99;
            cr_assert_eq(core_merkle_consistency_proof(path, &len, L, n, m), GZ_OK);
            cr_assert_eq(len == 0, m == n, "empty exactly when m == n");
            cr_assert_eq(core_merkle_consistency_verify(m, n, root1, root2, P, len), GZ_OK, "m %zu n %zu", m, n);
            if (m != n)
                cr_assert_neq(core_merkle_consistency_verify(m, n, root2, root1, P, len), GZ_OK,
                              "swapped roots");
            for (size_t k = 0; k < len; k++) {
                path[k][31 - k % 32] ^= 0x01;
                cr_assert_eq(core_merkle_consistency_verify(m, n, root1, root2, P, len), GZ_EVERIFY,
                             "tampered m %zu n %zu k %zu", m, n, k);
                path[k][31 - k % 32] ^= 0x01;
            }
            if (len > 0)
                cr_assert_neq(core_merkle_consistency_verify(m, n, root1, root2, P, len - 1), GZ_OK);
        }
        size_t len = 0;
        cr_assert_eq(core_merkle_consistency_proof(path, &len, L, n, 0), GZ_EMISUSE);
        cr_assert_eq(core_merkle_consistency_proof(path, &len, L, n, n + 1), GZ_EMISUSE);
    }
}

Test(core_merkle, frontier_root_equals_tree_root_for_sizes_0_to_200, .init = make_leaves) {
    core_merkle_frontier f;
    core_merkle_frontier_init(&f);
    uint8_t got[32], want[32];
    for (size_t n = 0; n <= LEAVES_MAX; n++) {
        core_merkle_frontier_root(&f, got);
        cr_assert_eq(core_merkle_root(want, L, n), GZ_OK);
        cr_assert_arr_eq(got, want, 32, "size %zu", n);
        cr_assert_eq(f.size, n);

        uint8_t enc[GZ_MERKLE_FRONTIER_BYTES_MAX];
        size_t len = core_merkle_frontier_encode(&f, enc);
        cr_assert_eq(len, 8 + 32 * (size_t)__builtin_popcountll(n));
        core_merkle_frontier back;
        cr_assert_eq(core_merkle_frontier_decode(&back, enc, len), GZ_OK);
        cr_assert(memcmp(&back, &f, sizeof f) == 0, "decode(encode(f)) == f at %zu", n);
        cr_assert_eq(core_merkle_frontier_decode(&back, enc, len + 32), GZ_ECORRUPT);
        cr_assert_eq(back.size, 0);
        if (n < LEAVES_MAX) core_merkle_frontier_append(&f, leaves[n]);
    }
    uint8_t short_enc[4] = {0};
    cr_assert_eq(core_merkle_frontier_decode(&f, short_enc, 4), GZ_ECORRUPT);
}
