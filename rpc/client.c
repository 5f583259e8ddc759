/* A small blocking JSON-RPC client for the command line, tests and the
 * benchmark: one connection per call, plain sockets polled against one
 * deadline, the response read with http-parser. */
#include "rpc/rpc.h"

#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct url_parts {
    char host[256];
    char port[8];
    char path[512];
    char hostport[272];  /* for the Host header */
} url_parts;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool url_field(const char *buf, const struct http_parser_url *pu, int f, char *out,
                      size_t out_size) {
    if (!(pu->field_set & (1u << f))) return false;
    size_t len = pu->field_data[f].len;
    if (len >= out_size) return false;
    memcpy(out, buf + pu->field_data[f].off, len);
    out[len] = '\0';
    return true;
}

static int url_parse(const char *url, url_parts *u, gz_msg *err) {
    char buf[1024];
    memset(u, 0, sizeof *u);
    if (url == NULL || strlen(url) > 900) return gz_fail(err, GZ_EARG, "url: missing or too long");
    int n = snprintf(buf, sizeof buf, "%s%s", strstr(url, "://") ? "" : "http://", url);
    struct http_parser_url pu;
    http_parser_url_init(&pu);
    if (n <= 0 || http_parser_parse_url(buf, (size_t)n, 0, &pu) != 0) {
        return gz_fail(err, GZ_EARG, "url: \"%.200s\" is not a URL", url);
    }
    char schema[8];
    if (!url_field(buf, &pu, UF_SCHEMA, schema, sizeof schema) || strcasecmp(schema, "http") != 0) {
        return gz_fail(err, GZ_EARG, "url: \"%.200s\": only http:// is supported", url);
    }
    if (!url_field(buf, &pu, UF_HOST, u->host, sizeof u->host) || u->host[0] == '\0') {
        return gz_fail(err, GZ_EARG, "url: \"%.200s\" names no host", url);
    }
    unsigned port = (pu.field_set & (1u << UF_PORT)) ? pu.port : 80;
    snprintf(u->port, sizeof u->port, "%u", port);
    bool v6 = strchr(u->host, ':') != NULL;
    snprintf(u->hostport, sizeof u->hostport, "%s%s%s:%u", v6 ? "[" : "", u->host,
             v6 ? "]" : "", port);
    /* The path with its query, or /rpc when the URL names none. */
    if ((pu.field_set & (1u << UF_PATH)) && pu.field_data[UF_PATH].len > 1) {
        size_t off = pu.field_data[UF_PATH].off;
        size_t end = off + pu.field_data[UF_PATH].len;
        if (pu.field_set & (1u << UF_QUERY)) {
            end = pu.field_data[UF_QUERY].off + pu.field_data[UF_QUERY].len;
        }
        if (end - off >= sizeof u->path) return gz_fail(err, GZ_EARG, "url: path too long");
        memcpy(u->path, buf + off, end - off);
        u->path[end - off] = '\0';
    } else {
        strcpy(u->path, "/rpc");
    }
    return GZ_OK;
}

/* Waits until fd is ready for events or the deadline passes. */
static int fd_wait(int fd, short events, int64_t deadline, gz_msg *err) {
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left <= 0) return gz_fail(err, GZ_ETIMEOUT, "rpc: timed out");
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (r > 0) return GZ_OK;
        if (r < 0 && errno != EINTR) return gz_fail(err, GZ_EIO, "rpc: poll: %s", strerror(errno));
    }
}

static int connect_one(const struct addrinfo *ai, int64_t deadline, int *fd_out, gz_msg *err) {
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
    if (fd < 0) return gz_fail(err, GZ_EIO, "rpc: socket: %s", strerror(errno));
    int rc = GZ_OK;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        if (errno != EINPROGRESS) {
            rc = gz_fail(err, GZ_EIO, "rpc: connect: %s", strerror(errno));
        } else if ((rc = fd_wait(fd, POLLOUT, deadline, err)) == GZ_OK) {
            int soerr = 0;
            socklen_t len = sizeof soerr;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0) soerr = errno;
            if (soerr != 0) rc = gz_fail(err, GZ_EIO, "rpc: connect: %s", strerror(soerr));
        }
    }
    if (rc != GZ_OK) {
        close(fd);
        return rc;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    *fd_out = fd;
    return GZ_OK;
}

static int sock_connect(const url_parts *u, int64_t deadline, int *fd_out, gz_msg *err) {
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    struct addrinfo *res = NULL;
    int g = getaddrinfo(u->host, u->port, &hints, &res);
    if (g != 0) {
        return gz_fail(err, GZ_EIO, "rpc: cannot resolve %s: %s", u->host, gai_strerror(g));
    }
    int rc = gz_fail(err, GZ_EIO, "rpc: %s has no address", u->host);
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        rc = connect_one(ai, deadline, fd_out, err);
        if (rc == GZ_OK || rc == GZ_ETIMEOUT) break;
    }
    freeaddrinfo(res);
    if (rc != GZ_OK && err != NULL) {
        char why[sizeof err->text];
        snprintf(why, sizeof why, "%s", err->text);
        gz_fail(err, rc, "%s (%s)", why, u->hostport);
    }
    return rc;
}

static int send_all(int fd, const uint8_t *p, size_t len, int64_t deadline, gz_msg *err) {
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            int rc = fd_wait(fd, POLLOUT, deadline, err);
            if (rc != GZ_OK) return rc;
        } else {
            return gz_fail(err, GZ_EIO, "rpc: send: %s", strerror(errno));
        }
    }
    return GZ_OK;
}

typedef struct resp_reader {
    gz_buf *body;
    int status;
    bool done;
    bool too_big;
    bool oom;
} resp_reader;

static int on_resp_headers(http_parser *p) {
    resp_reader *r = p->data;
    r->status = (int)p->status_code;
    if (p->content_length != ULLONG_MAX && p->content_length > GZ_RPC_RESPONSE_BYTES_MAX) {
        r->too_big = true;
        return -1;
    }
    return 0;
}

static int on_resp_body(http_parser *p, const char *at, size_t len) {
    resp_reader *r = p->data;
    if (len > GZ_RPC_RESPONSE_BYTES_MAX - r->body->len) {
        r->too_big = true;
        return -1;
    }
    if (gz_buf_append(r->body, at, len) != GZ_OK) {
        r->oom = true;
        return -1;
    }
    return 0;
}

static int on_resp_complete(http_parser *p) {
    resp_reader *r = p->data;
    /* An interim 1xx response precedes the real one. */
    if (r->status >= 200) {
        r->done = true;
        http_parser_pause(p, 1);
    }
    return 0;
}

static const http_parser_settings resp_settings = {
    .on_headers_complete = on_resp_headers,
    .on_body = on_resp_body,
    .on_message_complete = on_resp_complete,
};

static int resp_error(const http_parser *p, const resp_reader *r, gz_msg *err) {
    if (r->too_big) {
        return gz_fail(err, GZ_EPROTO, "rpc: response exceeds %u bytes",
                       (unsigned)GZ_RPC_RESPONSE_BYTES_MAX);
    }
    if (r->oom) return gz_fail(err, GZ_ENOMEM, "rpc: out of memory for the response");
    return gz_fail(err, GZ_EPROTO, "rpc: bad HTTP response: %s",
                   http_errno_description(HTTP_PARSER_ERRNO(p)));
}

static int recv_response(int fd, int64_t deadline, int *status, gz_buf *body, gz_msg *err) {
    resp_reader r = {.body = body};
    http_parser p;
    http_parser_init(&p, HTTP_RESPONSE);
    p.data = &r;
    char buf[16384];
    while (!r.done) {
        int rc = fd_wait(fd, POLLIN, deadline, err);
        if (rc != GZ_OK) return rc;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
            return gz_fail(err, GZ_EIO, "rpc: recv: %s", strerror(errno));
        }
        /* A zero-length execute tells the parser about the end of the stream. */
        http_parser_execute(&p, &resp_settings, buf, (size_t)n);
        enum http_errno e = HTTP_PARSER_ERRNO(&p);
        if (e != HPE_OK && e != HPE_PAUSED) return resp_error(&p, &r, err);
        if (n == 0 && !r.done) {
            return gz_fail(err, GZ_EPROTO, "rpc: connection closed before a whole response");
        }
    }
    *status = r.status;
    return GZ_OK;
}

static int post_request(const url_parts *u, const void *body, size_t len, gz_buf *req) {
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                     u->path, u->hostport, len);
    if (n <= 0 || (size_t)n >= sizeof head) return GZ_EARG;
    /* One buffer, one send: a head and body sent apart can wait on a delayed ACK. */
    int rc = gz_buf_append(req, head, (size_t)n);
    if (rc == GZ_OK) rc = gz_buf_append(req, body, len);
    return rc;
}

int rpc_client_post_raw_timeout(const char *url, const void *body, size_t len, int timeout_ms,
                                int *http_status, gz_buf *resp, gz_msg *err) {
    *http_status = 0;
    gz_buf_reset(resp);
    if (timeout_ms <= 0) return gz_fail(err, GZ_EARG, "rpc: timeout_ms must be > 0");
    url_parts u;
    int rc = url_parse(url, &u, err);
    if (rc != GZ_OK) return rc;
    int64_t deadline = now_ms() + timeout_ms;
    gz_buf req;
    gz_buf_init(&req);
    rc = post_request(&u, body, len, &req);
    if (rc != GZ_OK) {
        gz_buf_free(&req);
        return gz_fail(err, rc, "rpc: cannot build the request");
    }
    int fd = -1;
    rc = sock_connect(&u, deadline, &fd, err);
    if (rc == GZ_OK) rc = send_all(fd, req.data, req.len, deadline, err);
    if (rc == GZ_OK) rc = recv_response(fd, deadline, http_status, resp, err);
    if (fd >= 0) close(fd);
    gz_buf_free(&req);
    if (rc != GZ_OK) {
        *http_status = 0;
        gz_buf_reset(resp);
    }
    return rc;
}

int rpc_client_post_raw(const char *url, const void *body, size_t len, int *http_status,
                        gz_buf *resp, gz_msg *err) {
    return rpc_client_post_raw_timeout(url, body, len, RPC_CLIENT_TIMEOUT_MS, http_status,
                                       resp, err);
}

/* Reads a JSON-RPC response for id 1. */
static int response_read(const gz_buf *resp, json_t **result, gz_msg *err) {
    json_error_t je;
    json_t *root = json_loadb((const char *)resp->data, resp->len, 0, &je);
    if (root == NULL) return gz_fail(err, GZ_EPROTO, "rpc: bad JSON in response: %s", je.text);
    int rc = GZ_OK;
    json_t *e = json_object_get(root, "error");
    json_t *r = json_object_get(root, "result");
    if (!json_is_integer(json_object_get(root, "id")) ||
        json_integer_value(json_object_get(root, "id")) != 1) {
        rc = gz_fail(err, GZ_EPROTO, "rpc: response is not for this request");
    } else if (e != NULL) {
        const char *m = json_string_value(json_object_get(e, "message"));
        rc = gz_fail(err, GZ_EARG, "rpc error %lld: %s",
                     (long long)json_integer_value(json_object_get(e, "code")),
                     m ? m : "(no message)");
    } else if (r == NULL) {
        rc = gz_fail(err, GZ_EPROTO, "rpc: response holds neither result nor error");
    } else {
        *result = json_incref(r);
    }
    json_decref(root);
    return rc;
}

int rpc_client_call_timeout(const char *url, const char *method, const json_t *params,
                            int timeout_ms, json_t **result, gz_msg *err) {
    *result = NULL;
    json_t *req = json_pack("{s:s,s:i,s:s}", "jsonrpc", "2.0", "id", 1, "method",
                            method ? method : "");
    /* json_object_set only takes a reference; params itself is not changed. */
    if (req != NULL && params != NULL && json_object_set(req, "params", (json_t *)params) != 0) {
        json_decref(req);
        req = NULL;
    }
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (body == NULL) return gz_fail(err, GZ_EARG, "rpc: cannot encode the request for %s", method);
    int status = 0;
    gz_buf resp;
    gz_buf_init(&resp);
    int rc = rpc_client_post_raw_timeout(url, body, strlen(body), timeout_ms, &status, &resp,
                                         err);
    free(body);
    if (rc == GZ_OK && status != 200) {
        /* The server's text answers are one line; quote the start of it. */
        size_t line = 0;
        while (line < resp.len && line < 120 && resp.data[line] != '\n' &&
               resp.data[line] != '\r') {
            line++;
        }
        rc = gz_fail(err, GZ_EPROTO, "rpc: HTTP %d: %.*s", status, (int)line,
                     line ? (const char *)resp.data : "");
    } else if (rc == GZ_OK) {
        rc = response_read(&resp, result, err);
    }
    gz_buf_free(&resp);
    return rc;
}

int rpc_client_call(const char *url, const char *method, const json_t *params,
                    json_t **result, gz_msg *err) {
    return rpc_client_call_timeout(url, method, params, RPC_CLIENT_TIMEOUT_MS, result, err);
}
