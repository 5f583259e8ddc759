/* The RPC server on libuv: accepts TCP connections and moves bytes between
 * each socket and its rpc_session.
 *
 * Per connection, reading stops while more than GZ_RPC_SENDQ_BYTES_MAX of
 * output is unsent, while a request waits for a late reply and a head's worth
 * of further input is buffered, and after the final response; so neither a
 * pipelining client nor one that never reads can make the server buffer
 * without bound. A connection with no progress for idle_ms is closed. After
 * a final response (an HTTP error or Connection: close) the write side is
 * shut down and input is drained for GZ_RPC_LINGER_MS, so the client reads
 * the response rather than a reset. */
#include "rpc/rpc_internal.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define READ_BUF_BYTES (64u * 1024u)
#define LISTEN_BACKLOG 128

typedef struct rpc_conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown_req;
    rpc_server *srv;
    rpc_session ss;
    struct rpc_conn *prev;
    struct rpc_conn *next;
    size_t queued;       /* bytes handed to uv_write and not yet written */
    int handles_open;
    bool reading;
    bool eof;            /* the client sent FIN */
    bool shut;           /* our FIN is sent; input is drained and dropped */
    bool closing;
    bool in_pump;
    bool repump;
} rpc_conn;

typedef struct conn_write {
    uv_write_t req;
    rpc_conn *c;
    uint8_t *data;
    size_t len;
} conn_write;

static void conn_pump(rpc_conn *c);

static void server_maybe_closed(rpc_server *s) {
    if (!s->closing || s->listener_open || s->conns_n > 0) return;
    free(s->read_buf);
    s->read_buf = NULL;
    if (s->close_cb != NULL) s->close_cb(s);
}

static void conn_handle_closed(uv_handle_t *h) {
    rpc_conn *c = h->data;
    assert(c->handles_open > 0);
    if (--c->handles_open > 0) return;
    rpc_server *s = c->srv;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        s->conns = c->next;
    }
    if (c->next != NULL) c->next->prev = c->prev;
    assert(s->conns_n > 0);
    s->conns_n--;
    free(c);
    server_maybe_closed(s);
}

static void conn_close(rpc_conn *c) {
    if (c->closing) return;
    c->closing = true;
    /* A request still waiting for its reply is detached: the reply is dropped. */
    rpc_session_free(&c->ss);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

static void on_timer(uv_timer_t *t) { conn_close(t->data); }

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    rpc_conn *c = h->data;
    /* Reads are handled to the end before the next one starts, so every
     * connection can share the server's buffer. */
    *buf = uv_buf_init(c->srv->read_buf, READ_BUF_BYTES);
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf) {
    rpc_conn *c = stream->data;
    if (c->closing) return;
    if (nread > 0) {
        if (c->shut) return;
        if (rpc_session_feed(&c->ss, buf->base, (size_t)nread) != GZ_OK) {
            conn_close(c);
            return;
        }
        conn_pump(c);
    } else if (nread == UV_EOF) {
        c->eof = true;
        if (c->shut) {
            conn_close(c);
            return;
        }
        conn_pump(c);
    } else if (nread < 0) {
        conn_close(c);
    }
}

static void on_write(uv_write_t *req, int status) {
    conn_write *w = (conn_write *)req;
    rpc_conn *c = w->c;
    assert(c->queued >= w->len);
    c->queued -= w->len;
    free(w->data);
    free(w);
    if (c->closing) return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    conn_pump(c);
}

/* Hands the session's output to libuv; the buffer's memory goes with it. */
static int conn_flush(rpc_conn *c) {
    gz_buf *out = &c->ss.out;
    if (out->len == 0) return GZ_OK;
    conn_write *w = malloc(sizeof *w);
    if (w == NULL) return GZ_ENOMEM;
    w->c = c;
    w->data = out->data;
    w->len = out->len;
    gz_buf_init(out);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
    if (rc != 0) {
        free(w->data);
        free(w);
        return GZ_EIO;
    }
    c->queued += w->len;
    return GZ_OK;
}

static void conn_set_reading(rpc_conn *c, bool want) {
    if (want == c->reading) return;
    if (want) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
            conn_close(c);
            return;
        }
    } else {
        uv_read_stop((uv_stream_t *)&c->tcp);
    }
    c->reading = want;
}

static void on_shutdown(uv_shutdown_t *req, int status) {
    rpc_conn *c = req->data;
    if (!c->closing && status < 0) conn_close(c);
}

/* The final response is written: send FIN, drop further input for a while. */
static void conn_linger(rpc_conn *c) {
    if (c->eof) {
        conn_close(c);
        return;
    }
    c->shut = true;
    c->shutdown_req.data = c;
    if (uv_shutdown(&c->shutdown_req, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    uint64_t linger_ms = c->srv->idle_ms < GZ_RPC_LINGER_MS ? c->srv->idle_ms : GZ_RPC_LINGER_MS;
    uv_timer_start(&c->timer, on_timer, linger_ms, 0);
    conn_set_reading(c, true);
}

/* Decides reading, timer and closing from the connection's state. */
static void conn_settle(rpc_conn *c) {
    if (c->closing || c->shut) return;
    bool busy = rpc_session_busy(&c->ss);
    if (c->ss.closing) {
        if (c->queued == 0) {
            conn_linger(c);
            return;
        }
        conn_set_reading(c, false);
    } else if (c->eof) {
        /* A client that stops sending while its call waits is taken as gone,
         * so a late reply sees rpc_call_alive() false. Answers already
         * produced are written first. */
        if (busy || c->queued == 0) {
            conn_close(c);
            return;
        }
        conn_set_reading(c, false);
    } else {
        /* While a call waits, reading goes on (a little input is buffered)
         * so that a client hanging up is noticed. */
        bool room = !busy || rpc_session_buffered(&c->ss) < GZ_RPC_HEAD_BYTES_MAX;
        conn_set_reading(c, room && c->queued < GZ_RPC_SENDQ_BYTES_MAX);
    }
    if (c->closing) return;
    /* A handler that keeps a call waits on its own terms (submit_tx_commit
     * has a timeout_ms); otherwise no progress for idle_ms closes. */
    if (busy && c->queued == 0) {
        uv_timer_stop(&c->timer);
    } else {
        uv_timer_start(&c->timer, on_timer, c->srv->idle_ms, 0);
    }
}

static void conn_pump(rpc_conn *c) {
    if (c->closing) return;
    if (c->in_pump) {
        c->repump = true;
        return;
    }
    c->in_pump = true;
    do {
        c->repump = false;
        while (c->queued < GZ_RPC_SENDQ_BYTES_MAX) {
            rpc_session_run(&c->ss, GZ_RPC_SENDQ_BYTES_MAX - c->queued);
            if (c->ss.out.len == 0) break;
            if (conn_flush(c) != GZ_OK) {
                c->in_pump = false;
                conn_close(c);
                return;
            }
        }
    } while (c->repump);
    c->in_pump = false;
    conn_settle(c);
}

static void conn_wake(void *owner) { conn_pump(owner); }

static void on_refused_closed(uv_handle_t *h) { free(h); }

/* Over the connection bound the newcomer is accepted and closed at once:
 * leaving it in the backlog would only delay the same answer. */
static void conn_refuse(rpc_server *s) {
    uv_tcp_t *t = malloc(sizeof *t);
    if (t == NULL || uv_tcp_init(s->loop, t) != 0) {
        free(t);
        return;
    }
    (void)uv_accept((uv_stream_t *)&s->listener, (uv_stream_t *)t);
    uv_close((uv_handle_t *)t, on_refused_closed);
}

static void on_connection(uv_stream_t *listener, int status) {
    rpc_server *s = listener->data;
    if (status < 0 || s->closing) return;
    if (s->conns_n >= s->conns_max) {
        conn_refuse(s);
        return;
    }
    rpc_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        conn_refuse(s);
        return;
    }
    c->srv = s;
    if (uv_tcp_init(s->loop, &c->tcp) != 0) {
        free(c);
        return;
    }
    c->tcp.data = c;
    c->handles_open = 1;
    int rc = uv_accept(listener, (uv_stream_t *)&c->tcp);
    if (rc == 0) rc = uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    c->next = s->conns;
    if (s->conns != NULL) s->conns->prev = c;
    s->conns = c;
    s->conns_n++;
    if (rc != 0) {
        c->closing = true;
        uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
        return;
    }
    c->handles_open = 2;
    const rpc_dispatch d = {s->methods, s->methods_n, s->ctx};
    rpc_session_init(&c->ss, &d, conn_wake, c);
    (void)uv_tcp_nodelay(&c->tcp, 1);
    conn_settle(c);
}

static void method_table_check(const rpc_method *methods, size_t n) {
    assert(methods != NULL || n == 0);
    for (size_t i = 0; i < n; i++) {
        assert(methods[i].name != NULL);
        assert(methods[i].handler != NULL);
        for (size_t j = 0; j < i; j++) assert(strcmp(methods[i].name, methods[j].name) != 0);
    }
}

void rpc_server_init(rpc_server *s, uv_loop_t *loop, const rpc_method *methods,
                     size_t methods_n, void *ctx) {
    assert(s != NULL);
    assert(loop != NULL);
    method_table_check(methods, methods_n);
    memset(s, 0, sizeof *s);
    s->loop = loop;
    s->methods = methods;
    s->methods_n = methods_n;
    s->ctx = ctx;
    s->conns_max = GZ_RPC_CONNS_MAX;
    s->idle_ms = GZ_RPC_IDLE_MS;
    /* Initialising a TCP handle without a socket cannot fail; having it from
     * the start makes rpc_server_close() the same whatever listen did. */
    int rc = uv_tcp_init(loop, &s->listener);
    assert(rc == 0);
    (void)rc;
    s->listener.data = s;
    s->listener_open = true;
}

void rpc_server_set_idle_timeout(rpc_server *s, uint64_t idle_ms) {
    assert(idle_ms > 0);
    s->idle_ms = idle_ms;
}

void rpc_server_set_conns_max(rpc_server *s, size_t conns_max) {
    assert(conns_max > 0);
    assert(conns_max <= GZ_RPC_CONNS_MAX);
    s->conns_max = conns_max;
}

static int addr_parse(const char *host, int port, struct sockaddr_storage *addr, gz_msg *msg) {
    if (port < 0 || port > 65535) {
        return gz_fail(msg, GZ_EARG, "rpc.port: %d is not in 0..65535", port);
    }
    if (host == NULL || strcmp(host, "localhost") == 0) host = "127.0.0.1";
    if (strchr(host, ':') != NULL) {
        if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)addr) == 0) return GZ_OK;
    } else if (uv_ip4_addr(host, port, (struct sockaddr_in *)addr) == 0) {
        return GZ_OK;
    }
    return gz_fail(msg, GZ_EARG, "rpc.host: \"%.64s\" is not a numeric IP address", host);
}

int rpc_server_listen(rpc_server *s, const char *host, int port, gz_msg *msg) {
    assert(!s->closing);
    assert(s->read_buf == NULL);
    struct sockaddr_storage addr;
    memset(&addr, 0, sizeof addr);
    int rc = addr_parse(host, port, &addr, msg);
    if (rc != GZ_OK) return rc;
    s->read_buf = malloc(READ_BUF_BYTES);
    if (s->read_buf == NULL) return gz_fail(msg, GZ_ENOMEM, "rpc: out of memory");
    rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&s->listener, LISTEN_BACKLOG, on_connection);
    if (rc != 0) {
        free(s->read_buf);
        s->read_buf = NULL;
        return gz_fail(msg, GZ_EIO, "rpc.listen: %.64s:%d: %s", host ? host : "127.0.0.1",
                       port, uv_strerror(rc));
    }
    return GZ_OK;
}

int rpc_server_port(const rpc_server *s) {
    struct sockaddr_storage addr;
    int len = (int)sizeof addr;
    if (!s->listener_open ||
        uv_tcp_getsockname(&s->listener, (struct sockaddr *)&addr, &len) != 0) {
        return -1;
    }
    if (addr.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&addr)->sin_port);
    if (addr.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
    return -1;
}

size_t rpc_server_conns(const rpc_server *s) { return s->conns_n; }

static void on_listener_closed(uv_handle_t *h) {
    rpc_server *s = h->data;
    s->listener_open = false;
    server_maybe_closed(s);
}

void rpc_server_close(rpc_server *s, rpc_server_close_cb cb) {
    assert(!s->closing);
    s->closing = true;
    s->close_cb = cb;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    /* conn_close only unlinks in its close callback, so the walk is safe. */
    for (rpc_conn *c = s->conns; c != NULL; c = c->next) conn_close(c);
}
