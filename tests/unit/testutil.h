/* Helpers shared by the unit tests. */
#ifndef GZ_TESTS_TESTUTIL_H
#define GZ_TESTS_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL on failure. */
char *tu_read_file(const char *path, size_t *len_out);

/* A fresh directory /tmp/gz-<name>-XXXXXX for one test (written to dir, of
 * size cap), and its removal with everything in it. Both assert on failure. */
void tu_tmpdir_make(char *dir, size_t cap, const char *name);
void tu_tmpdir_remove(const char *dir);

/* One RFC 9162 test vector of ../shared/vectors/merkle (transparency-dev
 * format: hashes in base64, sizes up to 2^64 - 1, `wantErr`). */
typedef struct tu_merkle_vector {
    const char *path;
    /* inclusion */
    uint8_t leaf_hash[32], root[32];
    uint64_t leaf_index, tree_size;
    /* consistency */
    uint8_t root1[32], root2[32];
    uint64_t size1, size2;
    uint8_t proof[64][32];
    size_t proof_len;
    /* false if a leaf hash or proof node is not 32 bytes: such a value cannot
     * even be passed to an API that takes 32-byte hashes. Roots of another
     * size are zero-padded: they match nothing but an identical root. */
    bool well_formed;
    bool want_err;
} tu_merkle_vector;

/* Reads every .json file under dir (recursively) as an inclusion or a
 * consistency vector and calls check on each. Returns the number of files, or
 * -1 if one could not be read or parsed. */
int tu_merkle_vectors(const char *dir, bool consistency, void (*check)(const tu_merkle_vector *v));

#endif
