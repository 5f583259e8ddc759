/* One connection without its socket: requests come in as bytes, are routed
 * (POST /rpc to the JSON-RPC exchange, GET /health and GET / to short texts)
 * and answered one at a time, in order, as bytes in ss->out. */
#include "rpc/rpc_internal.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
static const char index_text[] = "gongzhi JSON-RPC 2.0: POST /rpc\n";

/* Appends one whole response; if memory runs out the connection is closed
 * with whatever complete responses came before. */
static void response_write(rpc_session *ss, int status, const char *ctype,
                           const char *body, size_t len, bool keep_alive,
                           const char *extra, bool head_only) {
    char head[256];
    const char *conn = !keep_alive ? "Connection: close\r\n"
                       : ss->pending_http10 ? "Connection: keep-alive\r\n"
                                            : "";
    int n;
    if (status == 204) {
        n = snprintf(head, sizeof head, "HTTP/1.1 204 No Content\r\n%s%s\r\n", conn, extra);
    } else {
        n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
                     status, http_status_str((enum http_status)status), ctype, len, conn,
                     extra);
    }
    assert(n > 0);
    assert((size_t)n < sizeof head);
    size_t before = ss->out.len;
    if (gz_buf_append(&ss->out, head, (size_t)n) != GZ_OK ||
        (!head_only && gz_buf_append(&ss->out, body, len) != GZ_OK)) {
        ss->out.len = before;
        ss->closing = true;
        return;
    }
    if (!keep_alive) ss->closing = true;
}

/* A short text/plain answer: reason and a newline. */
static void response_text(rpc_session *ss, int status, const char *reason, bool keep_alive,
                          const char *extra, bool head_only) {
    char body[128];
    int n = snprintf(body, sizeof body, "%s\n", reason);
    assert(n > 0);
    assert((size_t)n < sizeof body);
    response_write(ss, status, "text/plain; charset=utf-8", body, (size_t)n, keep_alive,
                   extra, head_only);
}

static void on_exchange_done(void *owner, const char *json, size_t len) {
    rpc_session *ss = owner;
    ss->pending = NULL;
    if (json == NULL) {
        response_write(ss, 204, "", "", 0, ss->pending_keep_alive, "", true);
    } else {
        response_write(ss, 200, "application/json", json, len, ss->pending_keep_alive, "",
                       false);
    }
    if (!ss->starting && ss->wake != NULL) ss->wake(ss->owner);
}

static void rpc_start(rpc_session *ss) {
    rpc_http *h = &ss->http;
    ss->starting = true;
    rpc_exchange *x = rpc_exchange_start_bounded(&ss->dispatch, &ss->bounds,
                                                 (const char *)h->body.data, h->body.len,
                                                 on_exchange_done, ss);
    ss->starting = false;
    if (x != NULL) ss->pending = x;
}

static bool path_is(const rpc_http *h, const char *want) {
    /* The query string, if any, plays no part in routing. */
    size_t len = strcspn(h->path, "?");
    return len == strlen(want) && memcmp(h->path, want, len) == 0;
}

static void route(rpc_session *ss) {
    rpc_http *h = &ss->http;
    bool ka = h->keep_alive;
    bool get = h->method == HTTP_GET;
    bool head = h->method == HTTP_HEAD;
    ss->pending_keep_alive = ka;
    ss->pending_http10 = h->http10;
    if (h->path_long) {
        response_text(ss, 414, "request path too long", ka, "", false);
    } else if (path_is(h, "/rpc")) {
        if (h->method == HTTP_POST) {
            rpc_start(ss);
        } else {
            response_text(ss, 405, "use POST /rpc", ka, "Allow: POST\r\n", head);
        }
    } else if (path_is(h, "/health") && (get || head)) {
        response_write(ss, 200, "text/plain; charset=utf-8", "ok\n", 3, ka, "", head);
    } else if (path_is(h, "/") && (get || head)) {
        response_write(ss, 200, "text/plain; charset=utf-8", index_text,
                       sizeof index_text - 1, ka, "", head);
    } else if (path_is(h, "/health") || path_is(h, "/")) {
        response_text(ss, 405, "use GET", ka, "Allow: GET, HEAD\r\n", false);
    } else {
        response_text(ss, 404, "not found", ka, "", head);
    }
}

void rpc_session_init(rpc_session *ss, const rpc_dispatch *d, rpc_session_wake_fn wake,
                      void *owner) {
    memset(ss, 0, sizeof *ss);
    rpc_http_init(&ss->http);
    ss->dispatch = *d;
    ss->wake = wake;
    ss->owner = owner;
    gz_buf_init(&ss->out);
}

void rpc_session_set_bounds(rpc_session *ss, const rpc_bounds *b) { ss->bounds = *b; }

void rpc_session_free(rpc_session *ss) {
    if (ss->pending != NULL) {
        rpc_exchange_detach(ss->pending);
        ss->pending = NULL;
    }
    rpc_http_free(&ss->http);
    gz_buf_free(&ss->out);
}

int rpc_session_feed(rpc_session *ss, const void *data, size_t len) {
    return rpc_http_feed(&ss->http, data, len);
}

bool rpc_session_busy(const rpc_session *ss) { return ss->pending != NULL; }

size_t rpc_session_buffered(const rpc_session *ss) {
    return ss->http.in.len - ss->http.in_off;
}

rpc_phase rpc_session_phase(const rpc_session *ss, uint64_t *body_len) {
    const rpc_http *h = &ss->http;
    *body_len = 0;
    if (ss->pending != NULL || ss->yielded) return RPC_PHASE_WORK;
    if (h->head_done && !h->msg_done && !h->failed) {
        *body_len = h->body_len;
        return RPC_PHASE_BODY;
    }
    if ((!h->msg_done && h->head_bytes > 0) || h->in_off < h->in.len) return RPC_PHASE_HEAD;
    return RPC_PHASE_IDLE;
}

bool rpc_session_wants_turn(const rpc_session *ss) {
    if (ss->closing) return false;
    return ss->pending != NULL ? rpc_exchange_more(ss->pending) : ss->yielded;
}

void rpc_session_turn(rpc_session *ss) {
    ss->yielded = false;
    if (ss->pending == NULL || !rpc_exchange_more(ss->pending)) return;
    /* A completion inside is written to out; the caller pumps after. */
    ss->starting = true;
    (void)rpc_exchange_resume(ss->pending);
    ss->starting = false;
}

/* With turns on, pipelined requests give the loop back once a turn's time
 * is spent, so a stream of single heavy requests cannot hold it either. */
static bool turn_spent(const rpc_session *ss, uint64_t t0) {
    return ss->bounds.turn_ns > 0 && uv_hrtime() - t0 >= ss->bounds.turn_ns;
}

void rpc_session_run(rpc_session *ss, size_t out_max) {
    uint64_t t0 = ss->bounds.turn_ns > 0 ? uv_hrtime() : 0;
    while (!ss->closing && ss->pending == NULL && !ss->yielded && ss->out.len < out_max) {
        switch (rpc_http_next(&ss->http)) {
        case RPC_HTTP_MORE:
            return;
        case RPC_HTTP_CONTINUE:
            if (gz_buf_append(&ss->out, continue_line, sizeof continue_line - 1) != GZ_OK) {
                ss->closing = true;
            }
            break;
        case RPC_HTTP_ERROR:
            ss->pending_http10 = false;
            response_text(ss, ss->http.err_status, ss->http.err_reason, false, "", false);
            ss->closing = true;
            return;
        case RPC_HTTP_REQUEST:
            route(ss);
            if (ss->pending == NULL && rpc_session_buffered(ss) > 0 && turn_spent(ss, t0)) {
                ss->yielded = true;
            }
            break;
        }
    }
}
