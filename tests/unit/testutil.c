#include "tests/unit/testutil.h"

#include <assert.h>
#include <ftw.h>
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
    assert(n > 0);
    assert((size_t)n < cap);
    char *made = mkdtemp(dir);
    assert(made != NULL);
    (void)made;
}

void tu_tmpdir_remove(const char *dir) {
    char cmd[512];
    int n = snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert(n > 0);
    assert((size_t)n < sizeof cmd);
    int rc = system(cmd);
    assert(rc == 0);
    (void)rc;
}

/* ---- RFC 9162 vectors ------------------------------------------------------ */

/* The text after `"key":` and blanks, or NULL. The files are flat objects. */
static const char *json_value(const char *json, const char *key) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    const char *p = strstr(json, pat);
    if (p == NULL) return NULL;
    p += strlen(pat);
    while (*p == ' ' || *p == ':' || *p == '\n') p++;
    return p;
}

static int b64_digit(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decodes the quoted base64 string at *pp into out (zero-padded to 32 bytes);
 * returns its length, 33 for anything longer, or -1 if it is not base64. */
static int b64_hash(const char **pp, uint8_t out[32]) {
    const char *p = *pp;
    if (*p++ != '"') return -1;
    memset(out, 0, 32);
    uint32_t acc = 0;
    int bits = 0, n = 0;
    for (; *p != '"'; p++) {
        if (*p == '\0') return -1;
        if (*p == '=') continue;
        int d = b64_digit(*p);
        if (d < 0) return -1;
        acc = acc << 6 | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n < 32) out[n] = (uint8_t)(acc >> bits);
            n++;
        }
    }
    *pp = p + 1;
    return n > 32 ? 33 : n;
}

static bool read_hash(const char *json, const char *key, uint8_t out[32], bool exact, bool *well_formed) {
    const char *p = json_value(json, key);
    int n = p == NULL ? -1 : b64_hash(&p, out);
    if (n < 0 || n > 32) return false;
    if (exact && n != 32) *well_formed = false;
    return true;
}

static bool read_u64(const char *json, const char *key, uint64_t *out) {
    const char *p = json_value(json, key);
    if (p == NULL || *p < '0' || *p > '9') return false;
    *out = strtoull(p, NULL, 10);
    return true;
}

/* "proof": null or an array of base64 hashes. */
static bool read_proof(const char *json, tu_merkle_vector *v) {
    const char *p = json_value(json, "proof");
    v->proof_len = 0;
    if (p == NULL) return false;
    if (strncmp(p, "null", 4) == 0) return true;
    if (*p++ != '[') return false;
    for (;;) {
        while (*p == ' ' || *p == '\n' || *p == ',') p++;
        if (*p == ']') return true;
        if (v->proof_len == 64) return false;
        int n = b64_hash(&p, v->proof[v->proof_len++]);
        if (n < 0) return false;
        if (n != 32) v->well_formed = false;
    }
}

static bool vector_parse(const char *json, bool consistency, tu_merkle_vector *v) {
    v->well_formed = true;
    const char *w = json_value(json, "wantErr");
    if (w == NULL || !read_proof(json, v)) return false;
    v->want_err = strncmp(w, "true", 4) == 0;
    if (consistency)
        return read_hash(json, "root1", v->root1, false, &v->well_formed) &&
               read_hash(json, "root2", v->root2, false, &v->well_formed) &&
               read_u64(json, "size1", &v->size1) && read_u64(json, "size2", &v->size2);
    return read_hash(json, "root", v->root, false, &v->well_formed) &&
           read_hash(json, "leafHash", v->leaf_hash, true, &v->well_formed) &&
           read_u64(json, "leafIdx", &v->leaf_index) && read_u64(json, "treeSize", &v->tree_size);
}

/* ftw has no context pointer: the walk's state is the test's own. */
static struct {
    bool consistency;
    void (*check)(const tu_merkle_vector *v);
    int files;
} walk;

static int walk_file(const char *path, const struct stat *st, int type) {
    (void)st;
    if (type != FTW_F || strstr(path, ".json") == NULL) return 0;
    char *json = tu_read_file(path, NULL);
    static tu_merkle_vector v;
    memset(&v, 0, sizeof v);
    v.path = path;
    bool ok = json != NULL && vector_parse(json, walk.consistency, &v);
    free(json);
    if (!ok) return -1;
    walk.check(&v);
    walk.files++;
    return 0;
}

int tu_merkle_vectors(const char *dir, bool consistency, void (*check)(const tu_merkle_vector *v)) {
    walk.consistency = consistency;
    walk.check = check;
    walk.files = 0;
    return ftw(dir, walk_file, 16) == 0 ? walk.files : -1;
}
