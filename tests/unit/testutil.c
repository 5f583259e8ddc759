#include "tests/unit/testutil.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *tu_read_file(const char *path, size_t *len_out) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) { fclose(f); return NULL; }
    char *buf = malloc((size_t)n + 1);
    if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) { free(buf); buf = NULL; }
    fclose(f);
    if (buf == NULL) return NULL;
    buf[n] = '\0';
    if (len_out != NULL) *len_out = (size_t)n;
    return buf;
}

void tu_tmpdir_make(char *dir, size_t cap, const char *name) {
    int n = snprintf(dir, cap, "/tmp/gz-%s-XXXXXX", name);
    assert(n > 0 && (size_t)n < cap);
    char *made = mkdtemp(dir);
    assert(made != NULL);
    (void)made;
}

void tu_tmpdir_remove(const char *dir) {
    char cmd[512];
    int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert(n > 0 && (size_t)n < sizeof cmd);
    int rc = system(cmd);
    assert(rc == 0);
    (void)rc;
}
