/* Helpers shared by the unit tests. */
#ifndef GZ_TESTS_TESTUTIL_H
#define GZ_TESTS_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file into a NUL-terminated malloc'd buffer; NULL on failure. */
char *tu_read_file(const char *path, size_t *len_out);

#endif
