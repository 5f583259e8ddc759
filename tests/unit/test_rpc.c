/* The RPC server over real sockets: a server runs on 127.0.0.1 (port 0) in a
 * libuv loop on its own thread; the tests talk to it with the blocking client
 * and raw sockets. */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/json.h"
#include "rpc/rpc.h"

/* ---- test methods, run on the server's loop thread ---------------------------- */

static atomic_int g_bumps;
static atomic_int g_slow_started;
static atomic_int g_slow_replied;
static atomic_int g_slow_dead;
static atomic_int g_big_calls;

typedef struct slow_reply {
    uv_timer_t timer;
    rpc_call *call;
} slow_reply;

static void m_echo(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    rpc_reply_result(call, json_incref(params));
}

static void m_add(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    uint64_t a, b;
    if (rpc_param_u64(params, "a", &a, call) != GZ_OK) return;
    if (rpc_param_u64(params, "b", &b, call) != GZ_OK) return;
    rpc_reply_result(call, json_integer((json_int_t)(a + b)));
}

static void m_hex(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    uint8_t txid[32];
    if (rpc_param_hex32(params, "txid", txid, call) != GZ_OK) return;
    char hex[65];
    gz_hex_encode(hex, txid, 32);
    rpc_reply_result(call, json_string(hex));
}

static void m_str(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    const char *name;
    const char *tag;
    if (rpc_param_str(params, "name", 8, &name, call) != GZ_OK) return;
    if (rpc_param_str_opt(params, "tag", 4, "none", &tag, call) != GZ_OK) return;
    rpc_reply_result(call, json_pack("{s:s,s:s}", "name", name, "tag", tag));
}

static void m_buf(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    gz_buf b;
    gz_buf_init(&b);
    if (rpc_param_hex_buf(params, "tx", 4, &b, call) != GZ_OK) {
        gz_buf_free(&b);
        return;
    }
    rpc_reply_result(call, json_integer((json_int_t)b.len));
    gz_buf_free(&b);
}

static void m_fail(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    (void)params;
    rpc_reply_error(call, -32000, "state.thing: always fails");
}

static void m_bump(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    (void)params;
    atomic_fetch_add(&g_bumps, 1);
    rpc_reply_result(call, json_null());
}

static void m_bumps(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    (void)params;
    rpc_reply_result(call, json_integer(atomic_load(&g_bumps)));
}

static void slow_closed(uv_handle_t *h) { free(h->data); }

static void slow_fire(uv_timer_t *t) {
    slow_reply *r = t->data;
    if (!rpc_call_alive(r->call)) atomic_fetch_add(&g_slow_dead, 1);
    rpc_reply_result(r->call, json_string("done"));
    atomic_fetch_add(&g_slow_replied, 1);
    uv_close((uv_handle_t *)&r->timer, slow_closed);
}

/* Replies after params.ms milliseconds, as submit_tx_commit waits for a block. */
static void m_slow(void *ctx, json_t *params, rpc_call *call) {
    uint64_t ms;
    if (rpc_param_u64_opt(params, "ms", 100, &ms, call) != GZ_OK) return;
    slow_reply *r = malloc(sizeof *r);
    cr_assert_not_null(r);
    r->call = call;
    uv_timer_init(ctx, &r->timer);
    r->timer.data = r;
    uv_timer_start(&r->timer, slow_fire, ms, 0);
    atomic_fetch_add(&g_slow_started, 1);
}

static void m_big(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    uint64_t n;
    if (rpc_param_u64(params, "n", &n, call) != GZ_OK) return;
    char *s = malloc(n);
    cr_assert_not_null(s);
    memset(s, 'x', n);
    atomic_fetch_add(&g_big_calls, 1);
    rpc_reply_result(call, json_stringn(s, n));
    free(s);
}

static atomic_int g_spins;

/* Holds the loop for params.ms milliseconds, as a heavy query does. */
static void m_spin(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    uint64_t ms;
    if (rpc_param_u64(params, "ms", &ms, call) != GZ_OK) return;
    atomic_fetch_add(&g_spins, 1);
    uint64_t end = uv_hrtime() + ms * 1000000u;
    while (uv_hrtime() < end) {
    }
    rpc_reply_result(call, json_true());
}

static const rpc_method methods[] = {
    {"echo", m_echo, NULL},
    {"add", m_add, "a b"},
    {"hex", m_hex, "txid"},
    {"str", m_str, "name tag"},
    {"buf", m_buf, "tx"},
    {"fail", m_fail, ""},
    {"bump", m_bump, ""},
    {"bumps", m_bumps, ""},
    {"slow", m_slow, "ms"},
    {"big", m_big, "n"},
    {"spin", m_spin, "ms"},
};
/* big and spin cost 10 and 5 work units; the rest 1. */
static const unsigned costs[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 10, 5};
_Static_assert(sizeof costs / sizeof costs[0] == sizeof methods / sizeof methods[0], "one cost per method");

/* ---- the server thread --------------------------------------------------------- */

static struct {
    uv_loop_t loop;
    rpc_server srv;
    uv_async_t stop;
    uv_thread_t thread;
    char url[64];
    int port;
    atomic_bool closed;
} H;

static void on_server_closed(rpc_server *s) {
    (void)s;
    atomic_store(&H.closed, true);
}

static void on_stop(uv_async_t *a) {
    rpc_server_close(&H.srv, on_server_closed);
    uv_close((uv_handle_t *)a, NULL);
}

static void server_thread(void *arg) {
    (void)arg;
    uv_run(&H.loop, UV_RUN_DEFAULT);
}

static void server_start_with(uint64_t idle_ms, size_t conns_max, size_t per_ip, uint64_t head_ms) {
    atomic_store(&g_bumps, 0);
    atomic_store(&g_slow_started, 0);
    atomic_store(&g_slow_replied, 0);
    atomic_store(&g_slow_dead, 0);
    atomic_store(&g_big_calls, 0);
    atomic_store(&g_spins, 0);
    atomic_store(&H.closed, false);
    cr_assert_eq(uv_loop_init(&H.loop), 0);
    rpc_server_init(&H.srv, &H.loop, methods, sizeof methods / sizeof methods[0], &H.loop);
    if (idle_ms) rpc_server_set_idle_timeout(&H.srv, idle_ms);
    if (conns_max) rpc_server_set_conns_max(&H.srv, conns_max);
    if (per_ip) rpc_server_set_conns_per_ip(&H.srv, per_ip);
    if (head_ms) rpc_server_set_deadlines(&H.srv, head_ms, head_ms);
    rpc_server_set_costs(&H.srv, costs);
    gz_msg m = {{0}};
    cr_assert_eq(rpc_server_listen(&H.srv, "127.0.0.1", 0, &m), GZ_OK, "%s", m.text);
    H.port = rpc_server_port(&H.srv);
    cr_assert_gt(H.port, 0);
    snprintf(H.url, sizeof H.url, "http://127.0.0.1:%d", H.port);
    cr_assert_eq(uv_async_init(&H.loop, &H.stop, on_stop), 0);
    cr_assert_eq(uv_thread_create(&H.thread, server_thread, NULL), 0);
}

static void server_stop(void) {
    uv_async_send(&H.stop);
    uv_thread_join(&H.thread);
    cr_assert(atomic_load(&H.closed), "the close callback ran");
    cr_assert_eq(uv_loop_close(&H.loop), 0, "every handle is closed");
}

static void server_start(uint64_t idle_ms, size_t conns_max) { server_start_with(idle_ms, conns_max, 0, 0); }

static void setup(void) { server_start(0, 0); }
static void setup_idle(void) { server_start(200, 0); }
static void setup_few(void) { server_start(0, 4); }
static void setup_per_ip(void) { server_start_with(0, 0, 3, 0); }
static void setup_deadline(void) { server_start_with(0, 0, 0, 300); }

TestSuite(rpc, .init = setup, .fini = server_stop, .timeout = 20);
TestSuite(rpc_idle, .init = setup_idle, .fini = server_stop, .timeout = 20);
TestSuite(rpc_conns, .init = setup_few, .fini = server_stop, .timeout = 20);
TestSuite(rpc_close, .init = setup, .timeout = 20);
TestSuite(rpc_per_ip, .init = setup_per_ip, .fini = server_stop, .timeout = 20);
TestSuite(rpc_deadline, .init = setup_deadline, .fini = server_stop, .timeout = 20);

/* ---- helpers ------------------------------------------------------------------ */

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* POSTs body to /rpc and returns the parsed JSON (NULL for an empty body). */
static json_t *post(const char *body, int *status) {
    gz_buf resp;
    gz_buf_init(&resp);
    gz_msg m = {{0}};
    int st = 0;
    cr_assert_eq(rpc_client_post_raw(H.url, body, strlen(body), &st, &resp, &m), GZ_OK, "%s",
                 m.text);
    if (status) *status = st;
    json_t *j = NULL;
    if (resp.len > 0) {
        j = json_loadb((const char *)resp.data, resp.len, 0, NULL);
        cr_assert_not_null(j, "response is JSON: %.*s", (int)resp.len, (char *)resp.data);
    }
    gz_buf_free(&resp);
    return j;
}

static void assert_error(const json_t *resp, int code, const char *needle) {
    cr_assert(json_is_object(resp));
    cr_assert_str_eq(json_string_value(json_object_get(resp, "jsonrpc")), "2.0");
    const json_t *e = json_object_get(resp, "error");
    cr_assert(json_is_object(e), "an error object");
    cr_assert_eq(json_integer_value(json_object_get(e, "code")), code, "code %lld, want %d",
                 (long long)json_integer_value(json_object_get(e, "code")), code);
    const char *msg = json_string_value(json_object_get(e, "message"));
    cr_assert_not_null(msg);
    cr_assert_null(strchr(msg, '\n'), "one line");
    cr_assert_not_null(strstr(msg, needle), "message \"%s\" names \"%s\"", msg, needle);
    cr_assert_null(json_object_get(resp, "result"));
}

static void assert_single_error(const char *body, int code, const char *needle) {
    int st = 0;
    json_t *j = post(body, &st);
    cr_assert_eq(st, 200);
    cr_assert_not_null(j, "an answer for %s", body);
    assert_error(j, code, needle);
    json_decref(j);
}

static json_t *call_ok(const char *method, json_t *params) {
    json_t *res = NULL;
    gz_msg m = {{0}};
    int rc = rpc_client_call(H.url, method, params, &res, &m);
    cr_assert_eq(rc, GZ_OK, "%s: %s", method, m.text);
    json_decref(params);
    return res;
}

static void assert_serving(void) {
    json_t *r = call_ok("add", json_pack("{s:i,s:i}", "a", 40, "b", 2));
    cr_assert_eq(json_integer_value(r), 42);
    json_decref(r);
}

/* A raw connection that reads responses one at a time (pipelining keeps the rest). */
typedef struct tconn {
    int fd;
    http_parser p;
    gz_buf in;
    size_t off;
    int status;
    bool done;
    bool close_hdr;
    bool in_conn_hdr;
    gz_buf body;
} tconn;

static void tconn_open(tconn *t) {
    memset(t, 0, sizeof *t);
    t->fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(t->fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)H.port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(t->fd, (struct sockaddr *)&a, sizeof a), 0, "%s", strerror(errno));
    struct timeval tv = {5, 0};
    setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    http_parser_init(&t->p, HTTP_RESPONSE);
    t->p.data = t;
}

static void tconn_close(tconn *t) {
    if (t->fd >= 0) close(t->fd);
    t->fd = -1;
    gz_buf_free(&t->in);
    gz_buf_free(&t->body);
}

static void tconn_send(tconn *t, const char *s, size_t len) {
    while (len > 0) {
        ssize_t n = send(t->fd, s, len, MSG_NOSIGNAL);
        cr_assert_gt(n, 0, "send: %s", strerror(errno));
        s += n;
        len -= (size_t)n;
    }
}

static void tconn_sends(tconn *t, const char *s) { tconn_send(t, s, strlen(s)); }

static int t_on_hfield(http_parser *p, const char *at, size_t len) {
    tconn *t = p->data;
    t->in_conn_hdr = len == 10 && strncasecmp(at, "connection", 10) == 0;
    return 0;
}

static int t_on_hvalue(http_parser *p, const char *at, size_t len) {
    tconn *t = p->data;
    if (t->in_conn_hdr && len == 5 && strncasecmp(at, "close", 5) == 0) t->close_hdr = true;
    return 0;
}

static int t_on_body(http_parser *p, const char *at, size_t len) {
    tconn *t = p->data;
    cr_assert_eq(gz_buf_append(&t->body, at, len), GZ_OK);
    return 0;
}

static int t_on_complete(http_parser *p) {
    tconn *t = p->data;
    t->status = (int)p->status_code;
    t->done = true;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings t_settings = {
    .on_header_field = t_on_hfield,
    .on_header_value = t_on_hvalue,
    .on_body = t_on_body,
    .on_message_complete = t_on_complete,
};

/* Reads the next whole response; returns its status, or -1 if the connection
 * closed (or timed out) first. The body is in t->body. */
static int tconn_read(tconn *t) {
    t->done = false;
    t->close_hdr = false;
    gz_buf_reset(&t->body);
    for (;;) {
        while (t->off < t->in.len && !t->done) {
            size_t n = http_parser_execute(&t->p, &t_settings, (char *)t->in.data + t->off,
                                           t->in.len - t->off);
            t->off += n;
            enum http_errno e = HTTP_PARSER_ERRNO(&t->p);
            if (e == HPE_PAUSED) {
                http_parser_pause(&t->p, 0);
            } else {
                cr_assert_eq(e, HPE_OK, "response parses: %s", http_errno_name(e));
            }
        }
        if (t->done) return t->status;
        char buf[65536];
        ssize_t n = recv(t->fd, buf, sizeof buf, 0);
        if (n <= 0) return -1;
        cr_assert_eq(gz_buf_append(&t->in, buf, (size_t)n), GZ_OK);
    }
}

/* True if the server closes the connection (EOF or reset) within the receive timeout. */
static bool tconn_closed_by_server(tconn *t) {
    char buf[4096];
    for (;;) {
        ssize_t n = recv(t->fd, buf, sizeof buf, 0);
        if (n == 0) return true;
        if (n < 0) return errno == ECONNRESET;
    }
}

static char *rpc_request(const char *json) {
    char *s = NULL;
    cr_assert_gt(asprintf(&s, "POST /rpc HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                              "Content-Length: %zu\r\n\r\n%s", strlen(json), json), 0);
    return s;
}

/* ---- JSON-RPC ------------------------------------------------------------------ */

Test(rpc, valid_call_named_and_positional) {
    json_t *r = call_ok("add", json_pack("{s:i,s:i}", "a", 2, "b", 3));
    cr_assert_eq(json_integer_value(r), 5);
    json_decref(r);
    r = call_ok("add", json_pack("[i,i]", 7, 8));
    cr_assert_eq(json_integer_value(r), 15, "positional params map onto the table's names");
    json_decref(r);
    r = call_ok("echo", json_pack("{s:s,s:[i,b]}", "text", "共治 \"quoted\"", "list", 1, 1));
    cr_assert_str_eq(json_string_value(json_object_get(r, "text")), "共治 \"quoted\"");
    cr_assert_eq(json_array_size(json_object_get(r, "list")), 2);
    json_decref(r);
}

Test(rpc, response_shape_and_id_echo) {
    int st = 0;
    json_t *j = post("{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":\"add\",\"params\":{\"a\":1,\"b\":1}}",
                     &st);
    cr_assert_eq(st, 200);
    cr_assert_str_eq(json_string_value(json_object_get(j, "jsonrpc")), "2.0");
    cr_assert_str_eq(json_string_value(json_object_get(j, "id")), "abc");
    cr_assert_eq(json_integer_value(json_object_get(j, "result")), 2);
    cr_assert_null(json_object_get(j, "error"));
    json_decref(j);
    j = post("{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"bumps\"}", &st);
    cr_assert(json_is_null(json_object_get(j, "id")), "an explicit null id is a call, not a notification");
    cr_assert_eq(json_integer_value(json_object_get(j, "result")), 0);
    json_decref(j);
}

Test(rpc, batch_mixed) {
    const char *body =
        "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":{\"a\":1,\"b\":2}},"
        "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"},"
        "1,"
        "{\"jsonrpc\":\"2.0\",\"method\":\"bump\"},"
        "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"add\",\"params\":{\"a\":-1,\"b\":0}},"
        "{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"add\"},"
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"slow\",\"params\":{\"ms\":30}},"
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"fail\"}]";
    int st = 0;
    json_t *j = post(body, &st);
    cr_assert_eq(st, 200);
    cr_assert(json_is_array(j));
    cr_assert_eq(json_array_size(j), 7, "the notification gets no entry");
    json_t *e = json_array_get(j, 0);
    cr_assert_eq(json_integer_value(json_object_get(e, "id")), 1);
    cr_assert_eq(json_integer_value(json_object_get(e, "result")), 3);
    e = json_array_get(j, 1);
    cr_assert_eq(json_integer_value(json_object_get(e, "id")), 2);
    assert_error(e, RPC_METHOD_NOT_FOUND, "nope");
    e = json_array_get(j, 2);
    cr_assert(json_is_null(json_object_get(e, "id")));
    assert_error(e, RPC_INVALID_REQUEST, "request");
    e = json_array_get(j, 3);
    cr_assert_str_eq(json_string_value(json_object_get(e, "id")), "x");
    assert_error(e, RPC_INVALID_PARAMS, "params.a: expected a non-negative integer");
    e = json_array_get(j, 4);
    cr_assert_eq(json_integer_value(json_object_get(e, "id")), 3);
    assert_error(e, RPC_INVALID_REQUEST, "jsonrpc");
    e = json_array_get(j, 5);
    cr_assert_eq(json_integer_value(json_object_get(e, "id")), 4, "a late reply keeps its place");
    cr_assert_str_eq(json_string_value(json_object_get(e, "result")), "done");
    e = json_array_get(j, 6);
    assert_error(e, -32000, "state.thing");
    json_decref(j);
    json_t *r = call_ok("bumps", NULL);
    cr_assert_eq(json_integer_value(r), 1, "the notification in the batch ran");
    json_decref(r);
}

Test(rpc, notifications_get_no_content) {
    gz_buf resp;
    gz_buf_init(&resp);
    gz_msg m;
    int st = 0;
    const char *one = "{\"jsonrpc\":\"2.0\",\"method\":\"bump\"}";
    cr_assert_eq(rpc_client_post_raw(H.url, one, strlen(one), &st, &resp, &m), GZ_OK, "%s", m.text);
    cr_assert_eq(st, 204);
    cr_assert_eq(resp.len, 0);
    const char *batch = "[{\"jsonrpc\":\"2.0\",\"method\":\"bump\"},"
                        "{\"jsonrpc\":\"2.0\",\"method\":\"nope\"},"
                        "{\"jsonrpc\":\"2.0\",\"method\":\"add\",\"params\":{\"a\":\"x\"}}]";
    cr_assert_eq(rpc_client_post_raw(H.url, batch, strlen(batch), &st, &resp, &m), GZ_OK);
    cr_assert_eq(st, 204, "errors of notifications are not answered either");
    cr_assert_eq(resp.len, 0);
    gz_buf_free(&resp);
    json_t *r = call_ok("bumps", NULL);
    cr_assert_eq(json_integer_value(r), 2);
    json_decref(r);
}

Test(rpc, parse_errors) {
    assert_single_error("{\"jsonrpc\":", RPC_PARSE_ERROR, "parse error");
    assert_single_error("", RPC_PARSE_ERROR, "parse error");
    assert_single_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"id\":2}", RPC_PARSE_ERROR,
                        "duplicate");
    assert_single_error("[1,2", RPC_PARSE_ERROR, "parse error");
    int st = 0;
    json_t *j = post("{bad json", &st);
    cr_assert(json_is_null(json_object_get(j, "id")));
    json_decref(j);
    assert_serving();
}

Test(rpc, invalid_requests) {
    assert_single_error("1", RPC_INVALID_REQUEST, "request: expected an object");
    assert_single_error("\"x\"", RPC_INVALID_REQUEST, "request");
    assert_single_error("{}", RPC_INVALID_REQUEST, "jsonrpc");
    assert_single_error("{\"jsonrpc\":2.0,\"id\":1,\"method\":\"add\"}", RPC_INVALID_REQUEST, "jsonrpc");
    assert_single_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}", RPC_INVALID_REQUEST,
                        "method: expected a string");
    assert_single_error("{\"jsonrpc\":\"2.0\",\"id\":1}", RPC_INVALID_REQUEST, "method");
    assert_single_error("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"add\"}", RPC_INVALID_REQUEST,
                        "id: expected");
    assert_single_error("{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"add\"}", RPC_INVALID_REQUEST,
                        "id: expected");
    assert_single_error("{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"add\"}", RPC_INVALID_REQUEST,
                        "id: expected");
    assert_single_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":5}",
                        RPC_INVALID_REQUEST, "params: expected an object or an array");
    assert_single_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"param\":{}}",
                        RPC_INVALID_REQUEST, "param: unknown member");
    assert_single_error("[]", RPC_INVALID_REQUEST, "empty batch");
    /* Invalid requests are answered even without an id. */
    assert_single_error("{\"jsonrpc\":\"2.0\",\"method\":7}", RPC_INVALID_REQUEST, "method");
    assert_serving();
}

Test(rpc, batch_bounds) {
    size_t n = GZ_RPC_BATCH_MAX + 1;
    const char *one = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"bumps\"},";
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(gz_buf_append(&b, "[", 1), GZ_OK);
    for (size_t i = 0; i < n; i++) cr_assert_eq(gz_buf_append(&b, one, strlen(one)), GZ_OK);
    b.data[b.len - 1] = ']';
    cr_assert_eq(gz_buf_append(&b, "", 1), GZ_OK);
    assert_single_error((char *)b.data, RPC_INVALID_REQUEST, "batch");
    /* Exactly the bound is answered in full. */
    b.len = 0;
    cr_assert_eq(gz_buf_append(&b, "[", 1), GZ_OK);
    for (size_t i = 0; i < n - 1; i++) cr_assert_eq(gz_buf_append(&b, one, strlen(one)), GZ_OK);
    b.data[b.len - 1] = ']';
    cr_assert_eq(gz_buf_append(&b, "", 1), GZ_OK);
    json_t *j = post((char *)b.data, NULL);
    cr_assert_eq(json_array_size(j), GZ_RPC_BATCH_MAX);
    json_decref(j);
    gz_buf_free(&b);
}

Test(rpc, unknown_method) {
    assert_single_error("{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"nope\"}", RPC_METHOD_NOT_FOUND,
                        "method: no such method \"nope\"");
    json_t *res = (json_t *)1;
    gz_msg m;
    cr_assert_eq(rpc_client_call(H.url, "nope", NULL, &res, &m), GZ_EARG);
    cr_assert_null(res);
    cr_assert_not_null(strstr(m.text, "-32601"), "%s", m.text);
}

Test(rpc, bad_params_name_the_field) {
    const char *pre = "{\"jsonrpc\":\"2.0\",\"id\":1,";
    char body[512];
#define BAD(rest, needle)                                                   \
    do {                                                                    \
        snprintf(body, sizeof body, "%s%s}", pre, rest);                    \
        assert_single_error(body, RPC_INVALID_PARAMS, needle);              \
    } while (0)
    BAD("\"method\":\"add\",\"params\":{\"a\":\"x\",\"b\":1}", "params.a: expected a non-negative integer");
    BAD("\"method\":\"add\",\"params\":{\"a\":1.0,\"b\":1}", "params.a: expected a non-negative integer");
    BAD("\"method\":\"add\",\"params\":{\"a\":1}", "params.b: missing (expected a non-negative integer)");
    BAD("\"method\":\"add\",\"params\":{\"a\":1,\"b\":null}", "params.b: missing");
    BAD("\"method\":\"add\",\"params\":{\"a\":1,\"b\":2,\"c\":3}", "params.c: unknown parameter");
    BAD("\"method\":\"add\",\"params\":[1,2,3]", "params: add takes at most 2 positional");
    BAD("\"method\":\"echo\",\"params\":[1]", "params: echo takes named params");
    BAD("\"method\":\"fail\",\"params\":{\"x\":1}", "params.x: unknown parameter");
    BAD("\"method\":\"hex\",\"params\":{\"txid\":\"abcd\"}", "params.txid: expected 64 hex chars");
    BAD("\"method\":\"hex\",\"params\":{\"txid\":\"zz00000000000000000000000000000000000000000000000000000000000000\"}",
        "params.txid: expected 64 hex chars");
    BAD("\"method\":\"str\",\"params\":{\"name\":\"123456789\"}", "params.name: expected a string of at most 8 bytes, found 9 bytes");
    BAD("\"method\":\"str\",\"params\":{\"name\":5}", "params.name: expected a string");
    BAD("\"method\":\"str\",\"params\":{\"name\":\"ok\",\"tag\":\"toolong\"}", "params.tag");
    BAD("\"method\":\"buf\",\"params\":{\"tx\":\"0011223344\"}", "params.tx: expected at most 4 bytes");
    BAD("\"method\":\"buf\",\"params\":{\"tx\":\"001\"}", "params.tx: expected an even number");
    BAD("\"method\":\"buf\",\"params\":{\"tx\":\"00gg\"}", "params.tx: expected hex");
#undef BAD
    json_t *r = call_ok("hex", json_pack("{s:s}", "txid",
                        "00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff"));
    cr_assert_str_eq(json_string_value(r),
                     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
    json_decref(r);
    r = call_ok("str", json_pack("{s:s}", "name", "12345678"));
    cr_assert_str_eq(json_string_value(json_object_get(r, "tag")), "none", "the default applies");
    json_decref(r);
    r = call_ok("buf", json_pack("{s:s}", "tx", "00ff10ab"));
    cr_assert_eq(json_integer_value(r), 4);
    json_decref(r);
}

static char *nested(int depth) {
    /* {"jsonrpc":"2.0","id":1,"method":"echo","params":{"v":[[...]]}}: the
     * request is depth 1, params 2, each array one more. */
    size_t arrays = (size_t)depth - 2;
    char *s = malloc(128 + 2 * arrays);
    cr_assert_not_null(s);
    int n = sprintf(s, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"v\":");
    memset(s + n, '[', arrays);
    memset(s + n + arrays, ']', arrays);
    strcpy(s + n + 2 * arrays, "}}");
    return s;
}

Test(rpc, deep_json_rejected_before_parsing) {
    char *ok = nested(GZ_RPC_JSON_DEPTH_MAX);
    json_t *j = post(ok, NULL);
    cr_assert(json_is_object(json_object_get(j, "result")), "depth %d is accepted",
              GZ_RPC_JSON_DEPTH_MAX);
    json_decref(j);
    free(ok);
    char *deep = nested(GZ_RPC_JSON_DEPTH_MAX + 1);
    assert_single_error(deep, RPC_PARSE_ERROR, "nesting deeper than");
    free(deep);
    /* Far deeper than jansson's recursion could take. */
    size_t n = 1000000;
    char *huge = malloc(n + 1);
    memset(huge, '[', n);
    huge[n] = '\0';
    assert_single_error(huge, RPC_PARSE_ERROR, "nesting");
    free(huge);
    /* Brackets inside strings do not count. */
    j = post("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"echo\",\"params\":{\"s\":\"[[[[[[[[[[[[[[[[[[[[\\\"[[\"}}",
             NULL);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "result"), "s")),
                     "[[[[[[[[[[[[[[[[[[[[\"[[");
    json_decref(j);
}

Test(rpc, async_reply) {
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    json_t *r = call_ok("slow", json_pack("{s:i}", "ms", 60));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cr_assert_str_eq(json_string_value(r), "done");
    json_decref(r);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    cr_assert_geq(ms, 55, "the reply came after the timer (%ld ms)", ms);
    cr_assert_eq(atomic_load(&g_slow_dead), 0);
}

Test(rpc, client_disconnect_before_async_reply) {
    for (int i = 0; i < 3; i++) {
        tconn t;
        tconn_open(&t);
        char *req = rpc_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"slow\",\"params\":{\"ms\":80}}");
        tconn_sends(&t, req);
        free(req);
        while (atomic_load(&g_slow_started) < i + 1) sleep_ms(2);
        tconn_close(&t);
    }
    /* A batch with a late call, abandoned too. */
    tconn t;
    tconn_open(&t);
    char *req = rpc_request("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"slow\",\"params\":{\"ms\":80}},"
                            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"bumps\"}]");
    tconn_sends(&t, req);
    free(req);
    while (atomic_load(&g_slow_started) < 4) sleep_ms(2);
    tconn_close(&t);
    for (int i = 0; i < 200 && atomic_load(&g_slow_replied) < 4; i++) sleep_ms(5);
    cr_assert_eq(atomic_load(&g_slow_replied), 4, "every late reply was made");
    cr_assert_eq(atomic_load(&g_slow_dead), 4, "and each saw its connection gone (%d)", atomic_load(&g_slow_dead));
    assert_serving();
}

Test(rpc_close, close_server_with_a_call_pending) {
    tconn t;
    tconn_open(&t);
    char *req = rpc_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"slow\",\"params\":{\"ms\":100}}");
    tconn_sends(&t, req);
    free(req);
    while (atomic_load(&g_slow_started) < 1) sleep_ms(2);
    /* The loop runs on until the timer fires; its reply is dropped, and ASan
     * checks that nothing freed is touched on the way. */
    server_stop();
    cr_assert(tconn_closed_by_server(&t), "the connection was closed");
    tconn_close(&t);
    cr_assert_eq(atomic_load(&g_slow_replied), 1);
    cr_assert_eq(atomic_load(&g_slow_dead), 1);
}

/* ---- HTTP ---------------------------------------------------------------------- */

Test(rpc, health_index_and_routes) {
    tconn t;
    tconn_open(&t);
    tconn_sends(&t, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(tconn_read(&t), 200);
    cr_assert_eq(t.body.len, 3);
    cr_assert(memcmp(t.body.data, "ok\n", 3) == 0);
    tconn_sends(&t, "GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(tconn_read(&t), 200);
    cr_assert_gt(t.body.len, 0);
    tconn_sends(&t, "GET /nope HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(tconn_read(&t), 404);
    tconn_sends(&t, "GET /rpc HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(tconn_read(&t), 405);
    tconn_sends(&t, "DELETE /health HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(tconn_read(&t), 405);
    /* The query string plays no part in routing. */
    const char *json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"bumps\"}";
    char req[256];
    snprintf(req, sizeof req, "POST /rpc?x=1 HTTP/1.1\r\nContent-Length: %zu\r\n\r\n%s",
             strlen(json), json);
    tconn_sends(&t, req);
    cr_assert_eq(tconn_read(&t), 200, "still one connection after the errors above");
    tconn_close(&t);
}

Test(rpc, keep_alive_two_requests) {
    tconn t;
    tconn_open(&t);
    for (int i = 0; i < 2; i++) {
        char *req = rpc_request("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"add\",\"params\":[20,22]}");
        tconn_sends(&t, req);
        free(req);
        cr_assert_eq(tconn_read(&t), 200, "request %d on the same connection", i);
        cr_assert_not(t.close_hdr);
        json_t *j = json_loadb((char *)t.body.data, t.body.len, 0, NULL);
        cr_assert_eq(json_integer_value(json_object_get(j, "result")), 42);
        json_decref(j);
    }
    tconn_close(&t);
}

Test(rpc, pipelined_requests_answered_in_order) {
    tconn t;
    tconn_open(&t);
    char *a = rpc_request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"slow\",\"params\":{\"ms\":40}}");
    char *b = rpc_request("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"add\",\"params\":[1,1]}");
    char *c = rpc_request("{\"jsonrpc\":\"2.0\",\"method\":\"bump\"}");
    char *d = rpc_request("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"bumps\"}");
    char *all = NULL;
    cr_assert_gt(asprintf(&all, "%s%s%s%s", a, b, c, d), 0);
    tconn_sends(&t, all);
    free(a), free(b), free(c), free(d), free(all);
    cr_assert_eq(tconn_read(&t), 200);
    json_t *j = json_loadb((char *)t.body.data, t.body.len, 0, NULL);
    cr_assert_eq(json_integer_value(json_object_get(j, "id")), 1, "the slow one first");
    cr_assert_str_eq(json_string_value(json_object_get(j, "result")), "done");
    json_decref(j);
    cr_assert_eq(tconn_read(&t), 200);
    j = json_loadb((char *)t.body.data, t.body.len, 0, NULL);
    cr_assert_eq(json_integer_value(json_object_get(j, "id")), 2);
    json_decref(j);
    cr_assert_eq(tconn_read(&t), 204, "the notification's answer keeps its place");
    cr_assert_eq(tconn_read(&t), 200);
    j = json_loadb((char *)t.body.data, t.body.len, 0, NULL);
    cr_assert_eq(json_integer_value(json_object_get(j, "result")), 1, "requests ran in order");
    json_decref(j);
    tconn_close(&t);
}

Test(rpc, oversized_body_413_without_reading_it) {
    tconn t;
    tconn_open(&t);
    char head[256];
    snprintf(head, sizeof head, "POST /rpc HTTP/1.1\r\nHost: t\r\nContent-Length: %u\r\n\r\n[[[[",
             GZ_RPC_BODY_BYTES_MAX + 1);
    tconn_sends(&t, head);
    /* Nothing more is sent: the answer must come from the head alone. */
    cr_assert_eq(tconn_read(&t), 413);
    cr_assert(t.close_hdr, "Connection: close");
    cr_assert(tconn_closed_by_server(&t));
    tconn_close(&t);
    assert_serving();
}

Test(rpc, oversized_head_431) {
    tconn t;
    tconn_open(&t);
    size_t n = GZ_RPC_HEAD_BYTES_MAX + 100;
    char *head = malloc(n + 64);
    int k = sprintf(head, "GET /health HTTP/1.1\r\nX-Pad: ");
    memset(head + k, 'a', n);
    strcpy(head + k + n, "\r\n\r\n");
    tconn_sends(&t, head);
    free(head);
    cr_assert_eq(tconn_read(&t), 431);
    cr_assert(tconn_closed_by_server(&t));
    tconn_close(&t);
    /* A head just under the bound is fine. */
    tconn_open(&t);
    n = GZ_RPC_HEAD_BYTES_MAX - 100;
    head = malloc(n + 64);
    k = sprintf(head, "GET /health HTTP/1.1\r\nX-Pad: ");
    memset(head + k, 'a', n);
    strcpy(head + k + n, "\r\n\r\n");
    tconn_sends(&t, head);
    free(head);
    cr_assert_eq(tconn_read(&t), 200);
    tconn_close(&t);
}

Test(rpc, malformed_http_400_and_close) {
    const char *bad[] = {
        "HELLO WORLD\r\n\r\n",
        "POST /rpc HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
        "POST /rpc HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        "GET /health HTTP/1.1\r\nNoColonHere\r\n\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tconn t;
        tconn_open(&t);
        tconn_sends(&t, bad[i]);
        cr_assert_eq(tconn_read(&t), 400, "case %zu", i);
        cr_assert(t.close_hdr);
        cr_assert(tconn_closed_by_server(&t), "case %zu closes", i);
        tconn_close(&t);
    }
    tconn t;
    tconn_open(&t);
    tconn_sends(&t, "GET /health HTTP/2.0\r\n\r\n");
    cr_assert_eq(tconn_read(&t), 505);
    cr_assert(tconn_closed_by_server(&t));
    tconn_close(&t);
    assert_serving();
}

Test(rpc, length_required_411) {
    const char *bad[] = {
        "POST /rpc HTTP/1.1\r\nHost: t\r\n\r\n",
        "POST /rpc HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    };
    for (size_t i = 0; i < 2; i++) {
        tconn t;
        tconn_open(&t);
        tconn_sends(&t, bad[i]);
        cr_assert_eq(tconn_read(&t), 411, "case %zu", i);
        cr_assert(tconn_closed_by_server(&t));
        tconn_close(&t);
    }
}

Test(rpc, expect_100_continue) {
    tconn t;
    tconn_open(&t);
    const char *json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"bumps\"}";
    char head[256];
    snprintf(head, sizeof head,
             "POST /rpc HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: %zu\r\n\r\n",
             strlen(json));
    tconn_sends(&t, head);
    cr_assert_eq(tconn_read(&t), 100, "the server asks for the body");
    tconn_sends(&t, json);
    cr_assert_eq(tconn_read(&t), 200);
    tconn_close(&t);
}

Test(rpc, http10_closes_unless_keep_alive) {
    tconn t;
    tconn_open(&t);
    tconn_sends(&t, "GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    cr_assert_eq(tconn_read(&t), 200);
    tconn_sends(&t, "GET /health HTTP/1.0\r\n\r\n");
    cr_assert_eq(tconn_read(&t), 200);
    cr_assert(t.close_hdr);
    cr_assert(tconn_closed_by_server(&t));
    tconn_close(&t);
}

Test(rpc, slow_reader_bounds_queued_output) {
    enum { CALLS = 32, BYTES = 1 << 20 };
    tconn t;
    tconn_open(&t);
    char json[128];
    snprintf(json, sizeof json, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"big\",\"params\":{\"n\":%d}}",
             BYTES);
    char *one = rpc_request(json);
    gz_buf all;
    gz_buf_init(&all);
    for (int i = 0; i < CALLS; i++) cr_assert_eq(gz_buf_append(&all, one, strlen(one)), GZ_OK);
    free(one);
    tconn_send(&t, (char *)all.data, all.len);
    gz_buf_free(&all);
    sleep_ms(300);
    int ran = atomic_load(&g_big_calls);
    cr_assert_gt(ran, 0);
    cr_assert_lt(ran, CALLS / 2, "a client that does not read stalls the server (%d of %d ran)",
                 ran, CALLS);
    for (int i = 0; i < CALLS; i++) {
        cr_assert_eq(tconn_read(&t), 200, "response %d", i);
        cr_assert_gt(t.body.len, (size_t)BYTES);
    }
    cr_assert_eq(atomic_load(&g_big_calls), CALLS);
    tconn_close(&t);
}

Test(rpc, client_errors) {
    json_t *res = (json_t *)1;
    gz_msg m;
    cr_assert_eq(rpc_client_call("ftp://127.0.0.1:1/", "add", NULL, &res, &m), GZ_EARG);
    cr_assert_null(res);
    cr_assert_not_null(strstr(m.text, "url"), "%s", m.text);
    cr_assert_eq(rpc_client_call("http://", "add", NULL, &res, &m), GZ_EARG);
    cr_assert_eq(rpc_client_call(H.url, "fail", NULL, &res, &m), GZ_EARG);
    cr_assert_not_null(strstr(m.text, "rpc error -32000: state.thing"), "%s", m.text);
    /* A port nothing listens on: bind one and close it without listening. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    char url[128];
    snprintf(url, sizeof url, "127.0.0.1:%d", ntohs(a.sin_port));
    cr_assert_eq(rpc_client_call(url, "add", NULL, &res, &m), GZ_EIO, "%s", m.text);
    close(fd);
    /* An explicit path reaches that path. */
    snprintf(url, sizeof url, "%s/health", H.url);
    cr_assert_eq(rpc_client_call(url, "add", NULL, &res, &m), GZ_EPROTO);
    cr_assert_not_null(strstr(m.text, "HTTP 405"), "%s", m.text);
    /* The scheme is optional and /rpc is the default path. */
    snprintf(url, sizeof url, "127.0.0.1:%d", H.port);
    res = call_ok("bumps", NULL);
    json_decref(res);
    cr_assert_eq(rpc_client_call(url, "bumps", NULL, &res, &m), GZ_OK, "%s", m.text);
    json_decref(res);
}

Test(rpc, listen_errors) {
    rpc_server s;
    uv_loop_t loop;
    cr_assert_eq(uv_loop_init(&loop), 0);
    gz_msg m;
    rpc_server_init(&s, &loop, methods, 1, NULL);
    cr_assert_eq(rpc_server_listen(&s, "127.0.0.1", H.port, &m), GZ_EIO, "the port is taken");
    cr_assert_not_null(strstr(m.text, "rpc.listen"), "%s", m.text);
    rpc_server_close(&s, NULL);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    rpc_server_init(&s, &loop, methods, 1, NULL);
    cr_assert_eq(rpc_server_listen(&s, "not-an-ip", 0, &m), GZ_EARG);
    cr_assert_not_null(strstr(m.text, "rpc.host"), "%s", m.text);
    rpc_server_close(&s, NULL);
    cr_assert_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
    cr_assert_eq(uv_loop_close(&loop), 0);
}

Test(rpc, keeps_serving_after_abuse) {
    const char *junk[] = {
        "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",  /* a TLS hello */
        "GET / HTTP/1.1\r\n",                             /* a head cut short */
        "POST /rpc HTTP/1.1\r\nContent-Length: 10\r\n\r\n{\"a\"",  /* a body cut short */
        "\r\n\r\n\r\n",
    };
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
            tconn t;
            tconn_open(&t);
            tconn_sends(&t, junk[i]);
            tconn_close(&t);
        }
    }
    assert_serving();
    assert_single_error("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope\"}", RPC_METHOD_NOT_FOUND, "nope");
    assert_serving();
}

/* ---- timeouts and connection bound --------------------------------------------- */

Test(rpc_idle, idle_connection_closed) {
    tconn t;
    tconn_open(&t);
    tconn_sends(&t, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(tconn_read(&t), 200);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert(tconn_closed_by_server(&t));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
    cr_assert_geq(ms, 150, "not before the idle timeout (%ld ms)", ms);
    cr_assert_lt(ms, 2000, "soon after it (%ld ms)", ms);
    tconn_close(&t);
    /* A silent connection and a half-sent head are idle too. */
    tconn_open(&t);
    tconn_sends(&t, "POST /rpc HTTP/1.1\r\nContent-Len");
    cr_assert(tconn_closed_by_server(&t));
    tconn_close(&t);
}

Test(rpc_idle, pending_call_outlives_idle_timeout) {
    json_t *r = call_ok("slow", json_pack("{s:i}", "ms", 400));
    cr_assert_str_eq(json_string_value(r), "done", "a waiting handler is not idle");
    json_decref(r);
}

static long ms_since(const struct timespec *t0) {
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* Keeps a call of `slow` waiting ms on t: a connection that is working. */
static void tconn_keep_busy(tconn *t, int ms) {
    char body[96];
    snprintf(body, sizeof body, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"slow\",\"params\":{\"ms\":%d}}", ms);
    char *req = rpc_request(body);
    tconn_open(t);
    tconn_sends(t, req);
    free(req);
}

static void wait_slow_started(int n) {
    for (int i = 0; i < 200 && atomic_load(&g_slow_started) < n; i++) sleep_ms(10);
    cr_assert_eq(atomic_load(&g_slow_started), n);
}

/* Past the cap a newcomer takes the slot of the connection idle longest. */
Test(rpc_conns, newcomer_takes_the_oldest_idle_slot) {
    tconn t[4];
    for (int i = 0; i < 4; i++) {
        tconn_open(&t[i]);
        tconn_sends(&t[i], "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
        cr_assert_eq(tconn_read(&t[i]), 200);
        sleep_ms(20);
    }
    assert_serving();
    cr_assert(tconn_closed_by_server(&t[0]), "the oldest idle connection gave its slot");
    tconn_sends(&t[3], "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(tconn_read(&t[3]), 200, "the newest idle one still serves");
    for (int i = 0; i < 4; i++) tconn_close(&t[i]);
}

Test(rpc_conns, newcomer_refused_when_every_connection_works) {
    tconn t[4];
    for (int i = 0; i < 4; i++) tconn_keep_busy(&t[i], 1500);
    wait_slow_started(4);
    tconn extra;
    tconn_open(&extra);
    tconn_sends(&extra, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert(tconn_closed_by_server(&extra), "no idle slot to take: the fifth is refused");
    tconn_close(&extra);
    for (int i = 0; i < 4; i++) {
        cr_assert_eq(tconn_read(&t[i]), 200, "the working ones were not touched");
        tconn_close(&t[i]);
    }
}

/* Three per address: with three calls waiting from 127.0.0.1 a fourth
 * connection from there is refused, although the server has room. */
Test(rpc_per_ip, cap_per_client_address) {
    tconn t[3];
    for (int i = 0; i < 3; i++) tconn_keep_busy(&t[i], 1500);
    wait_slow_started(3);
    tconn extra;
    tconn_open(&extra);
    tconn_sends(&extra, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert(tconn_closed_by_server(&extra), "a fourth from the same address is refused");
    tconn_close(&extra);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(tconn_read(&t[i]), 200);
        tconn_close(&t[i]);
    }
    /* Idle ones give their slot: three idle, and a fourth is served. */
    for (int i = 0; i < 3; i++) {
        tconn_open(&t[i]);
        tconn_sends(&t[i], "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
        cr_assert_eq(tconn_read(&t[i]), 200);
    }
    assert_serving();
    for (int i = 0; i < 3; i++) tconn_close(&t[i]);
}

/* A byte every 100 ms is traffic, but the head must be whole within 300 ms. */
Test(rpc_deadline, slowloris_closed_at_the_head_deadline) {
    tconn t;
    tconn_open(&t);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    const char *head = "POST /rpc HTTP/1.1\r\nHost: t\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    bool closed = false;
    for (size_t i = 0; head[i] != '\0' && !closed; i++) {
        if (send(t.fd, head + i, 1, MSG_NOSIGNAL) != 1) closed = true;
        sleep_ms(100);
    }
    cr_assert(closed || tconn_closed_by_server(&t));
    long ms = ms_since(&t0);
    cr_assert_geq(ms, 250, "not before the head deadline (%ld ms)", ms);
    cr_assert_lt(ms, 1500, "soon after it, not at the idle timeout (%ld ms)", ms);
    tconn_close(&t);
    /* A silent connection too, and a keep-alive one after its answer. */
    tconn_open(&t);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert(tconn_closed_by_server(&t));
    cr_assert_lt(ms_since(&t0), 1500);
    tconn_close(&t);
    tconn_open(&t);
    tconn_sends(&t, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
    cr_assert_eq(tconn_read(&t), 200);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    cr_assert(tconn_closed_by_server(&t));
    ms = ms_since(&t0);
    cr_assert(ms >= 250 && ms < 1500, "the clock restarts after the answer (%ld ms)", ms);
    tconn_close(&t);
}

Test(rpc_deadline, slow_body_closed_at_the_body_deadline) {
    tconn t;
    tconn_open(&t);
    tconn_sends(&t, "POST /rpc HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n");
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    bool closed = false;
    for (int i = 0; i < 30 && !closed; i++) {
        if (send(t.fd, " ", 1, MSG_NOSIGNAL) != 1) closed = true;
        sleep_ms(100);
    }
    cr_assert(closed || tconn_closed_by_server(&t));
    long ms = ms_since(&t0);
    cr_assert(ms >= 250 && ms < 1500, "closed at the body deadline (%ld ms)", ms);
    tconn_close(&t);
    assert_serving();
}

Test(rpc_deadline, a_call_kept_longer_than_the_deadlines_is_answered) {
    json_t *r = call_ok("slow", json_pack("{s:i}", "ms", 800));
    cr_assert_str_eq(json_string_value(r), "done");
    json_decref(r);
}

/* A batch over the work budget is refused whole, before any call runs. */
Test(rpc, over_budget_batch_refused_with_its_cost) {
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(gz_buf_append(&b, "[", 1), GZ_OK);
    for (int i = 0; i < 401; i++) {
        char one[96];
        int n = snprintf(one, sizeof one, "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"big\",\"params\":{\"n\":1}}",
                         i ? "," : "", i);
        cr_assert_eq(gz_buf_append(&b, one, (size_t)n), GZ_OK);
    }
    cr_assert_eq(gz_buf_append(&b, "]", 2), GZ_OK);
    int st = 0;
    json_t *j = post((const char *)b.data, &st);
    gz_buf_free(&b);
    cr_assert_eq(st, 200);
    assert_error(j, RPC_OVER_BUDGET, "batch: cost 4010 over the budget 4000");
    cr_assert(json_is_null(json_object_get(j, "id")));
    json_decref(j);
    cr_assert_eq(atomic_load(&g_big_calls), 0, "no call ran");
}

/* Results past 16 MiB are not built: the call that would pass gets an error. */
Test(rpc, results_bound_in_bytes) {
    char body[1024];
    size_t off = 0;
    for (int i = 0; i < 6; i++) {
        off += (size_t)snprintf(body + off, sizeof body - off,
                                "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"big\",\"params\":{\"n\":%d}}",
                                i ? "," : "[", i, 3 * 1024 * 1024);
    }
    snprintf(body + off, sizeof body - off, "]");
    json_t *j = post(body, NULL);
    cr_assert(json_is_array(j));
    cr_assert_eq(json_array_size(j), 6);
    for (int i = 0; i < 5; i++) cr_assert(json_is_string(json_object_get(json_array_get(j, i), "result")));
    assert_error(json_array_get(j, 5), RPC_RESPONSE_FULL, "would pass the bound of 16777216 bytes");
    json_decref(j);
}

typedef struct batch_job {
    const char *body;
    int status;
} batch_job;

static void post_thread(void *arg) {
    batch_job *b = arg;
    gz_buf resp;
    gz_buf_init(&resp);
    gz_msg m = {{0}};
    b->status = -1;
    if (rpc_client_post_raw(H.url, b->body, strlen(b->body), &b->status, &resp, &m) != GZ_OK) b->status = -1;
    gz_buf_free(&resp);
}

/* 200 calls of 5 ms each hold the loop 1 s in all, but another connection's
 * call is answered within tens of milliseconds meanwhile (the bound leaves
 * room for a loaded machine; without turns it waits for the whole batch). */
Test(rpc, long_batch_yields_to_other_connections) {
    gz_buf b;
    gz_buf_init(&b);
    for (int i = 0; i < 200; i++) {
        char one[96];
        int n = snprintf(one, sizeof one, "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"spin\",\"params\":{\"ms\":5}}",
                         i ? "," : "[", i);
        cr_assert_eq(gz_buf_append(&b, one, (size_t)n), GZ_OK);
    }
    cr_assert_eq(gz_buf_append(&b, "]", 2), GZ_OK);
    batch_job job = {(const char *)b.data, 0};
    uv_thread_t th;
    cr_assert_eq(uv_thread_create(&th, post_thread, &job), 0);
    for (int i = 0; i < 200 && atomic_load(&g_spins) == 0; i++) sleep_ms(5);
    long worst = 0;
    int during = 0;
    while (atomic_load(&g_spins) < 180) {
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_serving();
        long ms = ms_since(&t0);
        if (atomic_load(&g_spins) < 200) {
            during++;
            if (ms > worst) worst = ms;
        }
        sleep_ms(20);
    }
    uv_thread_join(&th);
    gz_buf_free(&b);
    cr_assert_eq(job.status, 200);
    cr_assert_eq(atomic_load(&g_spins), 200);
    cr_assert_geq(during, 5, "calls were made while the batch ran (%d)", during);
    cr_assert_lt(worst, 300, "the slowest call during the batch took %ld ms", worst);
}

Test(rpc, json_hex_is_lowercase_and_round_trips) {
    const uint8_t bytes[] = {0x00, 0xab, 0x7f, 0xff};
    json_t *j = core_json_hex(bytes, sizeof bytes);
    cr_assert_str_eq(json_string_value(j), "00ab7fff");
    uint8_t back[4];
    cr_assert_eq(gz_hex_decode(back, sizeof back, json_string_value(j)), GZ_OK);
    cr_assert_arr_eq(back, bytes, sizeof bytes);
    json_decref(j);
    j = core_json_hex(bytes, 0);
    cr_assert_str_eq(json_string_value(j), "");
    json_decref(j);
}
