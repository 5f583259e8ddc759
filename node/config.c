#include "node/config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"
#include "core/json.h"

void node_path_join(char *out, size_t cap, const char *dir, const char *name) {
    if (name[0] == '/' || dir[0] == '\0') snprintf(out, cap, "%s", name);
    else snprintf(out, cap, "%s/%s", dir, name);
}

void node_config_default(node_config *c, const char *home) {
    memset(c, 0, sizeof *c);
    snprintf(c->home, sizeof c->home, "%s", home);
    snprintf(c->rpc_host, sizeof c->rpc_host, "127.0.0.1");
    c->rpc_port = 26657;
    snprintf(c->p2p_host, sizeof c->p2p_host, "127.0.0.1");
    c->p2p_port = 26757;
    node_path_join(c->data_dir, sizeof c->data_dir, home, "data");
    node_path_join(c->key_file, sizeof c->key_file, home, "node.key");
    node_path_join(c->genesis_file, sizeof c->genesis_file, home, "genesis.json");
    c->propose_wait_ms = NODE_PROPOSE_WAIT_MS_DEFAULT;
}

int node_parse_hostport(const char *s, char *host, size_t host_cap, uint16_t *port) {
    const char *colon = strrchr(s, ':');
    *port = 0;
    if (colon == NULL || colon == s || (size_t)(colon - s) >= host_cap) return GZ_EARG;
    /* Digits only, at most five: strtol alone would take leading blanks, a
     * sign and any number of leading zeros, and a peer written back would
     * no longer fit its slot. */
    size_t digits = strspn(colon + 1, "0123456789");
    if (digits == 0 || digits > 5 || colon[1 + digits] != '\0') return GZ_EARG;
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || p < 0 || p > 65535) return GZ_EARG;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (uint16_t)p;
    return GZ_OK;
}

/* Every key of config.json is optional: an absent one keeps its default. */
static int get_addr(const json_t *root, const char *key, char *host, uint16_t *port, gz_msg *msg) {
    if (json_object_get(root, key) == NULL) return GZ_OK;
    const char *s;
    int rc = core_json_str_view(root, "config", key, 0, SIZE_MAX, &s, msg);
    if (rc == GZ_OK && node_parse_hostport(s, host, NODE_HOST_MAX, port) != GZ_OK)
        rc = gz_fail(msg, GZ_EARG, "config.%s: expected \"host:port\"", key);
    return rc;
}

static int get_path(const json_t *root, const char *key, const char *home, char *out, gz_msg *msg) {
    if (json_object_get(root, key) == NULL) return GZ_OK;
    const char *s;
    int rc = core_json_str_view(root, "config", key, 1, NODE_PATH_MAX / 2 - 1, &s, msg);
    if (rc == GZ_OK) node_path_join(out, NODE_PATH_MAX, home, s);
    return rc;
}

static int get_peers(const json_t *root, node_config *c, gz_msg *msg) {
    if (json_object_get(root, "peers") == NULL) return GZ_OK;
    const json_t *v;
    size_t n = 0;
    int rc = core_json_array(root, "config", "peers", 0, GZ_PEERS_MAX, &v, &n, msg);
    for (size_t i = 0; rc == GZ_OK && i < n; i++) {
        char p[CORE_JSON_PATH_MAX], host[NODE_HOST_MAX];
        const char *s;
        uint16_t port;
        core_json_path_index(p, "config.peers", i);
        rc = core_json_str_view(json_array_get(v, i), p, NULL, 0, SIZE_MAX, &s, msg);
        if (rc == GZ_OK && node_parse_hostport(s, host, sizeof host, &port) != GZ_OK)
            rc = gz_fail(msg, GZ_EARG, "%s: expected \"host:port\"", p);
        if (rc == GZ_OK) snprintf(c->peers[c->n_peers++], sizeof c->peers[0], "%s", s);
    }
    return rc;
}

static int get_wait(const json_t *root, node_config *c, gz_msg *msg) {
    if (json_object_get(root, "propose_wait_ms") == NULL) return GZ_OK;
    uint64_t v = 0;
    int rc = core_json_u64(root, "config", "propose_wait_ms", 0, NODE_PROPOSE_WAIT_MS_MAX, &v, msg);
    if (rc == GZ_OK) c->propose_wait_ms = (uint32_t)v;
    return rc;
}

/* "allow": an array of 64-hex-digit public keys, each named by its index
 * when bad, none twice. An empty array allows only the validators. */
static int get_allow(const json_t *root, node_config *c, gz_msg *msg) {
    if (json_object_get(root, "allow") == NULL) return GZ_OK;
    const json_t *v;
    size_t n = 0;
    int rc = core_json_array(root, "config", "allow", 0, GZ_PEERS_MAX, &v, &n, msg);
    c->has_allow = rc == GZ_OK;
    for (size_t i = 0; rc == GZ_OK && i < n; i++) {
        char p[CORE_JSON_PATH_MAX];
        const char *s;
        core_json_path_index(p, "config.allow", i);
        rc = core_json_str_view(json_array_get(v, i), p, NULL, 0, SIZE_MAX, &s, msg);
        if (rc == GZ_OK && (strlen(s) != 64 || gz_hex_decode(c->allow[i], 32, s) != GZ_OK))
            rc = gz_fail(msg, GZ_EARG, "%s: expected a public key as 64 hex digits", p);
        for (size_t j = 0; rc == GZ_OK && j < i; j++)
            if (memcmp(c->allow[j], c->allow[i], 32) == 0)
                rc = gz_fail(msg, GZ_EARG, "%s: the same key as config.allow[%zu]", p, j);
        if (rc == GZ_OK) c->n_allow = i + 1;
    }
    return rc;
}

static const char *const KEYS[] = {"rpc_listen", "p2p_listen", "peers", "data_dir", "key_file",
                                   "genesis_file", "propose_wait_ms", "allow", NULL};

static int config_from_json(node_config *c, const json_t *root, const char *home, gz_msg *msg) {
    int rc = core_json_object(root, "config", NULL, KEYS, &root, msg);
    if (rc == GZ_OK) rc = get_addr(root, "rpc_listen", c->rpc_host, &c->rpc_port, msg);
    if (rc == GZ_OK) rc = get_addr(root, "p2p_listen", c->p2p_host, &c->p2p_port, msg);
    if (rc == GZ_OK) rc = get_peers(root, c, msg);
    if (rc == GZ_OK) rc = get_path(root, "data_dir", home, c->data_dir, msg);
    if (rc == GZ_OK) rc = get_path(root, "key_file", home, c->key_file, msg);
    if (rc == GZ_OK) rc = get_path(root, "genesis_file", home, c->genesis_file, msg);
    if (rc == GZ_OK) rc = get_wait(root, c, msg);
    if (rc == GZ_OK) rc = get_allow(root, c, msg);
    return rc;
}

int node_config_load(node_config *c, const char *home, gz_msg *msg) {
    node_config_default(c, home);
    char path[NODE_PATH_MAX];
    node_path_join(path, sizeof path, home, "config.json");
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) return gz_fail(msg, GZ_EARG, "%s: %s (line %d)", path, jerr.text, jerr.line);
    int rc = config_from_json(c, root, home, msg);
    json_decref(root);
    return rc;
}

int node_config_parse(node_config *c, const char *home, const char *text, size_t len, gz_msg *msg) {
    node_config_default(c, home);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) return gz_fail(msg, GZ_EARG, "config.json: %s (line %d)", jerr.text, jerr.line);
    int rc = config_from_json(c, root, home, msg);
    json_decref(root);
    return rc;
}

static const char *rel(const char *home, const char *path) {
    size_t n = strlen(home);
    return strncmp(path, home, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

int node_config_save(const node_config *c, gz_msg *msg) {
    char rpc[NODE_HOST_MAX + 8], p2p[NODE_HOST_MAX + 8];
    snprintf(rpc, sizeof rpc, "%s:%u", c->rpc_host, c->rpc_port);
    snprintf(p2p, sizeof p2p, "%s:%u", c->p2p_host, c->p2p_port);
    json_t *peers = json_array();
    for (size_t i = 0; i < c->n_peers; i++) json_array_append_new(peers, json_string(c->peers[i]));
    json_t *root = json_pack("{s:s,s:s,s:o,s:s,s:s,s:s,s:i}", "rpc_listen", rpc, "p2p_listen", p2p,
                             "peers", peers, "data_dir", rel(c->home, c->data_dir), "key_file",
                             rel(c->home, c->key_file), "genesis_file", rel(c->home, c->genesis_file),
                             "propose_wait_ms", (int)c->propose_wait_ms);
    if (root != NULL && c->has_allow) {
        json_t *allow = json_array();
        for (size_t i = 0; i < c->n_allow; i++) {
            char hex[65];
            gz_hex_encode(hex, c->allow[i], 32);
            json_array_append_new(allow, json_string(hex));
        }
        json_object_set_new(root, "allow", allow);
    }
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (text == NULL) return gz_fail(msg, GZ_ENOMEM, "config: cannot encode");
    char path[NODE_PATH_MAX];
    node_path_join(path, sizeof path, c->home, "config.json");
    size_t len = strlen(text);
    int rc = node_write_file(path, text, len, 0644);
    free(text);
    if (rc != GZ_OK) return gz_fail(msg, rc, "%s: cannot write", path);
    return GZ_OK;
}

int node_mkdirs(const char *path) {
    char tmp[NODE_PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return GZ_EIO;
        *p = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) return GZ_EIO;
    return GZ_OK;
}

int node_write_file(const char *path, const void *data, size_t len, int mode) {
    char tmp[NODE_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return GZ_EIO;
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) { close(fd); unlink(tmp); return GZ_EIO; }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) { unlink(tmp); return GZ_EIO; }
    return GZ_OK;
}
