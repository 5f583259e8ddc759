/* Helpers shared by the unit tests. */
#ifndef GZ_TESTS_TESTUTIL_H
#define GZ_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL on failure. */
char *tu_read_file(const char *path, size_t *len_out);

/* A fresh directory /tmp/gz-<name>-XXXXXX for one test (written to dir, of
 * size cap), and its removal with everything in it. Both assert on failure. */
void tu_tmpdir_make(char *dir, size_t cap, const char *name);
void tu_tmpdir_remove(const char *dir);

#endif
