#include "node/config.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    char *end;
    errno = 0;
    long p = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || colon[1] == '\0' || p < 0 || p > 65535) return GZ_EARG;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    *port = (uint16_t)p;
    return GZ_OK;
}

static int get_addr(json_t *root, const char *key, char *host, uint16_t *port, gz_msg *msg) {
    json_t *v = json_object_get(root, key);
    if (v == NULL) return GZ_OK;
    if (!json_is_string(v) || node_parse_hostport(json_string_value(v), host, NODE_HOST_MAX, port) != GZ_OK)
        return gz_fail(msg, GZ_EARG, "config.%s: expected \"host:port\"", key);
    return GZ_OK;
}

static int get_path(json_t *root, const char *key, const char *home, char *out, gz_msg *msg) {
    json_t *v = json_object_get(root, key);
    if (v == NULL) return GZ_OK;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= NODE_PATH_MAX / 2)
        return gz_fail(msg, GZ_EARG, "config.%s: expected a path", key);
    node_path_join(out, NODE_PATH_MAX, home, json_string_value(v));
    return GZ_OK;
}

static int get_peers(json_t *root, node_config *c, gz_msg *msg) {
    json_t *v = json_object_get(root, "peers");
    if (v == NULL) return GZ_OK;
    if (!json_is_array(v) || json_array_size(v) > GZ_PEERS_MAX)
        return gz_fail(msg, GZ_EARG, "config.peers: expected an array of at most %d \"host:port\"", GZ_PEERS_MAX);
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *p = json_array_get(v, i);
        char host[NODE_HOST_MAX];
        uint16_t port;
        if (!json_is_string(p) || node_parse_hostport(json_string_value(p), host, sizeof host, &port) != GZ_OK)
            return gz_fail(msg, GZ_EARG, "config.peers[%zu]: expected \"host:port\"", i);
        snprintf(c->peers[c->n_peers++], sizeof c->peers[0], "%s", json_string_value(p));
    }
    return GZ_OK;
}

static int get_wait(json_t *root, node_config *c, gz_msg *msg) {
    json_t *v = json_object_get(root, "propose_wait_ms");
    if (v == NULL) return GZ_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > NODE_PROPOSE_WAIT_MS_MAX)
        return gz_fail(msg, GZ_EARG, "config.propose_wait_ms: expected an integer 0..%d", NODE_PROPOSE_WAIT_MS_MAX);
    c->propose_wait_ms = (uint32_t)json_integer_value(v);
    return GZ_OK;
}

static const char *const KEYS[] = {"rpc_listen", "p2p_listen", "peers", "data_dir", "key_file",
                                   "genesis_file", "propose_wait_ms", NULL};

static int config_from_json(node_config *c, json_t *root, const char *home, gz_msg *msg) {
    if (!json_is_object(root)) return gz_fail(msg, GZ_EARG, "config: expected a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        size_t i = 0;
        while (KEYS[i] != NULL && strcmp(KEYS[i], key) != 0) i++;
        if (KEYS[i] == NULL) return gz_fail(msg, GZ_EARG, "config.%s: unknown key", key);
    }
    int rc = get_addr(root, "rpc_listen", c->rpc_host, &c->rpc_port, msg);
    if (rc == GZ_OK) rc = get_addr(root, "p2p_listen", c->p2p_host, &c->p2p_port, msg);
    if (rc == GZ_OK) rc = get_peers(root, c, msg);
    if (rc == GZ_OK) rc = get_path(root, "data_dir", home, c->data_dir, msg);
    if (rc == GZ_OK) rc = get_path(root, "key_file", home, c->key_file, msg);
    if (rc == GZ_OK) rc = get_path(root, "genesis_file", home, c->genesis_file, msg);
    if (rc == GZ_OK) rc = get_wait(root, c, msg);
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
