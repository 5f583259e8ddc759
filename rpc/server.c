/* The RPC server on libuv: accepts TCP connections and moves bytes between
 * each socket and its rpc_session.
 *
 * Per connection, reading stops while more than GZ_RPC_SENDQ_BYTES_MAX of
 * output is unsent, while a request waits for a late reply and a head's worth
 * of further input is buffered, and after the final response; so neither a
 * pipelining client nor one that never reads can make the server buffer
 * without bound. After a final response (an HTTP error or Connection: close)
 * the write side is shut down and input is drained for GZ_RPC_LINGER_MS, so
 * the client reads the response rather than a reset.
 *
 * Deadlines: while the server waits for a client, a request head must be
 * complete head_ms after the connection opened or the server last had work
 * for it, a body within body_ms plus its length at the minimum rate, and any
 * connection without traffic for idle_ms is closed (not while a call is kept
 * or a batch waits for its turn).
 *
 * Slots: at most conns_per_ip connections of one client address and
 * conns_max in all. A newcomer past either takes the slot of the connection
 * that has waited longest for a request (idle or with a partial head), so
 * floods of idle or slow connections cannot lock out `status`; only when
 * every connection is working is it accepted and closed.
 *
 * Turns: a batch or a pipeline gives the loop back after GZ_RPC_TURN_MS; its
 * connection then waits in a queue served by an idle handle, a turn's time at
 * a time, round robin. */
#include "rpc/rpc_internal.h"

#include <assert.h>
#include <stdio.h>
#include <sys/socket.h>
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
    struct rpc_conn *turn_next;
    uint8_t ip[16];      /* the client's address key (ip_key) */
    uint64_t head_since; /* ms (uv_now) the head deadline counts from */
    uint64_t body_since; /* ms a body began, 0 when none is arriving */
    uint64_t last_io;    /* ms of the last read or completed write */
    size_t queued;       /* bytes handed to uv_write and not yet written */
    bool in_turnq;
    bool input_waits;    /* seen unread input in the socket (not idle) */
    bool graced;         /* the current deadline was extended once */
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
    if (!s->closing || s->listener_open || s->turn_open || s->conns_n > 0) return;
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

/* ---- turns ------------------------------------------------------------------ */

static void on_turn(uv_idle_t *t);

static void turn_push(rpc_conn *c) {
    rpc_server *s = c->srv;
    c->in_turnq = true;
    c->turn_next = NULL;
    if (s->turn_tail != NULL) {
        s->turn_tail->turn_next = c;
    } else {
        s->turn_head = c;
    }
    s->turn_tail = c;
    if (!uv_is_active((uv_handle_t *)&s->turn_idle)) uv_idle_start(&s->turn_idle, on_turn);
}

static rpc_conn *turn_pop(rpc_server *s) {
    rpc_conn *c = s->turn_head;
    if (c == NULL) return NULL;
    s->turn_head = c->turn_next;
    if (s->turn_head == NULL) s->turn_tail = NULL;
    c->in_turnq = false;
    c->turn_next = NULL;
    return c;
}

static void turn_remove(rpc_conn *c) {
    rpc_server *s = c->srv;
    rpc_conn *prev = NULL;
    for (rpc_conn *q = s->turn_head; q != NULL; prev = q, q = q->turn_next) {
        if (q != c) continue;
        if (prev != NULL) {
            prev->turn_next = c->turn_next;
        } else {
            s->turn_head = c->turn_next;
        }
        if (s->turn_tail == c) s->turn_tail = prev;
        break;
    }
    c->in_turnq = false;
    c->turn_next = NULL;
}

static void conn_close(rpc_conn *c) {
    if (c->closing) return;
    c->closing = true;
    assert(c->srv->conns_live > 0);
    c->srv->conns_live--;
    if (c->in_turnq) turn_remove(c);
    /* A request still waiting for its reply is detached: the reply is dropped. */
    rpc_session_free(&c->ss);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
}

/* True if the client's bytes wait in the socket, unread: a connection
 * accepted in the same burst as a flood has sent its request, not idled. */
static bool input_waiting(rpc_conn *c) {
    uv_os_fd_t fd;
    char b;
    if (c->shut || uv_fileno((const uv_handle_t *)&c->tcp, &fd) != 0) return false;
    if (recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) <= 0) return false;
    c->input_waits = true;
    return true;
}

/* Timers run before the loop reads sockets: after a stall of the loop (a
 * long commit) a deadline may come due while the client's request already
 * waits unread. Such a connection gets one grace period per deadline to be
 * read, rather than being closed for the server's own delay. */
#define DEADLINE_GRACE_MS 1000u

static void on_timer(uv_timer_t *t) {
    rpc_conn *c = t->data;
    if (!c->graced && !c->closing && input_waiting(c)) {
        c->graced = true;
        uv_timer_start(&c->timer, on_timer, DEADLINE_GRACE_MS, 0);
        return;
    }
    conn_close(c);
}

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
    c->last_io = uv_now(c->srv->loop);
    c->input_waits = false;
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
    assert(c->srv->held >= w->len);
    c->srv->held -= w->len;
    free(w->data);
    free(w);
    if (c->closing) return;
    c->last_io = uv_now(c->srv->loop);
    c->head_since = c->last_io;
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
    c->srv->held += w->len;
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

/* Milliseconds until the connection's deadline, or UINT64_MAX for none. */
static uint64_t conn_deadline(rpc_conn *c) {
    const rpc_server *s = c->srv;
    uint64_t now = uv_now(s->loop);
    uint64_t body_len;
    rpc_phase ph = rpc_session_phase(&c->ss, &body_len);
    if (ph == RPC_PHASE_WORK || c->queued > 0) {
        /* The server has work for the client: its clocks start afterwards. */
        c->head_since = now;
        c->body_since = 0;
        c->graced = false;
        /* A handler that keeps a call waits on its own terms (submit_tx_commit
         * has a timeout_ms), and a batch waiting for its turn makes progress. */
        if (c->queued == 0) return UINT64_MAX;
        return c->last_io + s->idle_ms > now ? c->last_io + s->idle_ms - now : 0;
    }
    uint64_t due = c->last_io + s->idle_ms;
    if (ph == RPC_PHASE_BODY) {
        if (c->body_since == 0) c->body_since = now;
        uint64_t body_due = c->body_since + s->body_ms +
                            body_len * 1000u / GZ_RPC_BODY_MIN_BYTES_PER_S;
        if (body_due < due) due = body_due;
    } else {
        c->body_since = 0;
        if (c->head_since + s->head_ms < due) due = c->head_since + s->head_ms;
    }
    return due > now ? due - now : 0;
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
    if (rpc_session_wants_turn(&c->ss) && !c->in_turnq) turn_push(c);
    uint64_t ms = conn_deadline(c);
    if (ms == UINT64_MAX) {
        uv_timer_stop(&c->timer);
    } else {
        uv_timer_start(&c->timer, on_timer, ms, 0);
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

/* Every connection's turn: one turn's time of work, round robin. An idle
 * handle runs once per loop iteration, after I/O has been polled (without
 * blocking while it is active), so other connections are read in between. */
static void on_turn(uv_idle_t *t) {
    rpc_server *s = t->data;
    uint64_t t0 = uv_hrtime();
    rpc_conn *c;
    while ((c = turn_pop(s)) != NULL) {
        rpc_session_turn(&c->ss);
        conn_pump(c);
        if (uv_hrtime() - t0 >= (uint64_t)GZ_RPC_TURN_MS * 1000000u) break;
    }
    if (s->turn_head == NULL) uv_idle_stop(&s->turn_idle);
}

/* ---- slots ------------------------------------------------------------------ */

/* The client's address as a key: IPv4 (also mapped into IPv6) by address,
 * IPv6 by its /64 (what one site is given), and all of loopback as one. */
static void ip_key(const struct sockaddr_storage *a, uint8_t key[16]) {
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memset(key, 0, 16);
    const uint8_t *v4 = NULL;
    if (a->ss_family == AF_INET) {
        v4 = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr;
    } else if (a->ss_family == AF_INET6) {
        const uint8_t *v6 = ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr;
        static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        if (memcmp(v6, mapped, 12) == 0) {
            v4 = v6 + 12;
        } else if (memcmp(v6, loop6, 16) == 0) {
            key[15] = 1;
            return;
        } else {
            memcpy(key, v6, 8);
            return;
        }
    } else {
        return;
    }
    if (v4[0] == 127) {
        key[15] = 1; /* loopback, the same key as ::1 */
        return;
    }
    memcpy(key, mapped, 12);
    memcpy(key + 12, v4, 4);
}

/* A connection the server may close for a newcomer: one waiting for a
 * request (idle or with a partial head) or lingering after its last answer. */
static bool conn_evictable(const rpc_conn *c) {
    if (c->closing) return false;
    if (c->shut) return true;
    uint64_t body_len;
    rpc_phase ph = rpc_session_phase(&c->ss, &body_len);
    return c->queued == 0 && (ph == RPC_PHASE_IDLE || ph == RPC_PHASE_HEAD);
}

/* The evictable connection (other than self, of ip when given) that has
 * waited longest, or NULL. */
static rpc_conn *oldest_idle(rpc_server *s, const rpc_conn *self, const uint8_t *ip) {
    for (;;) {
        rpc_conn *best = NULL;
        for (rpc_conn *c = s->conns; c != NULL; c = c->next) {
            if (c == self || c->input_waits || !conn_evictable(c)) continue;
            if (ip != NULL && memcmp(c->ip, ip, 16) != 0) continue;
            uint64_t since = c->shut ? 0 : c->head_since;
            if (best == NULL || since < (best->shut ? 0 : best->head_since)) best = c;
        }
        if (best == NULL || !input_waiting(best)) return best;
    }
}

/* Makes room for c under the per-address and global caps; false when no
 * connection can give its slot (c is then refused). */
static bool conn_admit(rpc_server *s, rpc_conn *c) {
    size_t same = 0;
    for (const rpc_conn *o = s->conns; o != NULL; o = o->next) {
        if (o != c && !o->closing && memcmp(o->ip, c->ip, 16) == 0) same++;
    }
    if (same >= s->conns_per_ip) {
        rpc_conn *victim = oldest_idle(s, c, c->ip);
        if (victim == NULL) return false;
        conn_close(victim);
    }
    if (s->conns_live - 1 >= s->conns_max) {
        rpc_conn *victim = oldest_idle(s, c, NULL);
        if (victim == NULL) return false;
        conn_close(victim);
    }
    return true;
}

static void conn_start(rpc_server *s, rpc_conn *c) {
    const rpc_dispatch d = {s->methods, s->methods_n, s->ctx};
    rpc_session_init(&c->ss, &d, conn_wake, c);
    const rpc_bounds b = {.costs = s->costs,
                          .turn_ns = (uint64_t)GZ_RPC_TURN_MS * 1000000u,
                          .held = &s->held};
    rpc_session_set_bounds(&c->ss, &b);
    struct sockaddr_storage addr;
    int len = (int)sizeof addr;
    memset(&addr, 0, sizeof addr);
    (void)uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&addr, &len);
    ip_key(&addr, c->ip);
    c->last_io = c->head_since = uv_now(s->loop);
    (void)uv_tcp_nodelay(&c->tcp, 1);
}

static void on_connection(uv_stream_t *listener, int status) {
    rpc_server *s = listener->data;
    if (status < 0 || s->closing) return;
    rpc_conn *c = calloc(1, sizeof *c);
    if (c == NULL) {
        /* Without memory the newcomer stays in the backlog until some is freed. */
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
    s->conns_live++;
    conn_start(s, c);
    if (!conn_admit(s, c)) {
        conn_close(c);
        return;
    }
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
    s->conns_per_ip = GZ_RPC_CONNS_PER_IP_MAX;
    s->idle_ms = GZ_RPC_IDLE_MS;
    s->head_ms = GZ_RPC_HEAD_MS;
    s->body_ms = GZ_RPC_BODY_MS;
    /* Initialising a TCP handle without a socket cannot fail; having it from
     * the start makes rpc_server_close() the same whatever listen did. */
    int rc = uv_tcp_init(loop, &s->listener);
    assert(rc == 0);
    (void)rc;
    s->listener.data = s;
    s->listener_open = true;
    rc = uv_idle_init(loop, &s->turn_idle);
    assert(rc == 0);
    s->turn_idle.data = s;
    s->turn_open = true;
}

void rpc_server_set_idle_timeout(rpc_server *s, uint64_t idle_ms) {
    assert(idle_ms > 0);
    s->idle_ms = idle_ms;
}

void rpc_server_set_conns_max(rpc_server *s, size_t conns_max) {
    assert(conns_max > 0);
    assert(conns_max <= GZ_RPC_CONNS_MAX);
    s->conns_max = conns_max;
    if (s->conns_per_ip > conns_max) s->conns_per_ip = conns_max;
}

void rpc_server_set_conns_per_ip(rpc_server *s, size_t conns_per_ip) {
    assert(conns_per_ip > 0);
    s->conns_per_ip = conns_per_ip < s->conns_max ? conns_per_ip : s->conns_max;
}

void rpc_server_set_deadlines(rpc_server *s, uint64_t head_ms, uint64_t body_ms) {
    assert(head_ms > 0 && body_ms > 0);
    s->head_ms = head_ms;
    s->body_ms = body_ms;
}

void rpc_server_set_costs(rpc_server *s, const unsigned *costs) { s->costs = costs; }

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

static void on_turn_closed(uv_handle_t *h) {
    rpc_server *s = h->data;
    s->turn_open = false;
    server_maybe_closed(s);
}

void rpc_server_close(rpc_server *s, rpc_server_close_cb cb) {
    assert(!s->closing);
    s->closing = true;
    s->close_cb = cb;
    uv_close((uv_handle_t *)&s->listener, on_listener_closed);
    uv_close((uv_handle_t *)&s->turn_idle, on_turn_closed);
    /* conn_close only unlinks in its close callback, so the walk is safe. */
    for (rpc_conn *c = s->conns; c != NULL; c = c->next) conn_close(c);
}
