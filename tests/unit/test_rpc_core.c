/* The socket-free core of the RPC server: the HTTP reader's bounds and
 * framing, the JSON-RPC exchange's bookkeeping for late replies, and the
 * session's byte-in/byte-out behaviour, without libuv or sockets. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc_internal.h"

/* Calls a test keeps to answer later. */
static rpc_call *g_kept[8];
static int g_kept_n;

static void m_add(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    uint64_t a, b;
    if (rpc_param_u64(params, "a", &a, call) != GZ_OK) return;
    if (rpc_param_u64(params, "b", &b, call) != GZ_OK) return;
    rpc_reply_result(call, json_integer((json_int_t)(a + b)));
}

static void m_keep(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    (void)params;
    cr_assert_lt(g_kept_n, 8);
    g_kept[g_kept_n++] = call;
}

static void m_huge(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    (void)params;
    size_t n = GZ_RPC_RESPONSE_BYTES_MAX + 16;
    char *s = malloc(n);
    cr_assert_not_null(s);
    memset(s, 'x', n);
    rpc_reply_result(call, json_stringn(s, n));
    free(s);
}

static void m_null(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    (void)params;
    rpc_reply_result(call, NULL);
}

static int g_blob_runs;

/* A string of params.n bytes; cost 50 in the bounded tests. */
static void m_blob(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    uint64_t n;
    if (rpc_param_u64(params, "n", &n, call) != GZ_OK) return;
    g_blob_runs++;
    char *s = malloc(n + 1);
    cr_assert_not_null(s);
    memset(s, 'b', n);
    rpc_reply_result(call, json_stringn(s, n));
    free(s);
}

static const rpc_method methods[] = {
    {"add", m_add, "a b"},
    {"keep", m_keep, NULL},
    {"huge", m_huge, ""},
    {"null", m_null, ""},
    {"blob", m_blob, "n"},
};
static const unsigned costs[] = {1, 1, 1, 1, 50};
static const rpc_dispatch dispatch = {methods, sizeof methods / sizeof methods[0], NULL};

static void reset_kept(void) { g_kept_n = 0; }
TestSuite(rpc_core, .init = reset_kept);

/* ---- the session ------------------------------------------------------------- */

static int g_wakes;
static void on_wake(void *owner) {
    (void)owner;
    g_wakes++;
}

static char *request(const char *json) {
    char *s = NULL;
    cr_assert_gt(asprintf(&s, "POST /rpc HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n%s",
                          strlen(json), json), 0);
    return s;
}

/* Feeds data in pieces of step bytes (0: at once) and returns the output as a
 * NUL-terminated string. */
static char *session_answer(const char *data, size_t len, size_t step) {
    rpc_session ss;
    rpc_session_init(&ss, &dispatch, on_wake, NULL);
    if (step == 0) step = len;
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        cr_assert_eq(rpc_session_feed(&ss, data + off, n), GZ_OK);
        rpc_session_run(&ss, SIZE_MAX);
    }
    cr_assert_eq(gz_buf_append(&ss.out, "", 1), GZ_OK);
    char *out = (char *)ss.out.data;
    gz_buf_init(&ss.out);
    rpc_session_free(&ss);
    return out;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) n++;
    return n;
}

Test(rpc_core, byte_by_byte_equals_all_at_once) {
    char *a = request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":{\"a\":1,\"b\":2}}");
    char *b = request("[{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"add\",\"params\":[3,4]},5]");
    char *all = NULL;
    cr_assert_gt(asprintf(&all, "%sGET /health HTTP/1.1\r\n\r\n%s\r\n%s", a, b, a), 0);
    char *whole = session_answer(all, strlen(all), 0);
    cr_assert_eq(count(whole, "HTTP/1.1 200 OK"), 4, "%s", whole);
    cr_assert_not_null(strstr(whole, "\"result\":3"));
    cr_assert_not_null(strstr(whole, "\"result\":7"));
    for (size_t step = 1; step <= 7; step += 3) {
        char *split = session_answer(all, strlen(all), step);
        cr_assert_str_eq(split, whole, "pieces of %zu bytes", step);
        free(split);
    }
    free(whole);
    free(all);
    free(a);
    free(b);
}

static char *head_of(size_t total) {
    /* "GET /health HTTP/1.1\r\nX: aaa...\r\n\r\n" of exactly total bytes. */
    const char *pre = "GET /health HTTP/1.1\r\nX: ";
    size_t fixed = strlen(pre) + 4;
    cr_assert_gt(total, fixed);
    char *s = malloc(total + 1);
    strcpy(s, pre);
    memset(s + strlen(pre), 'a', total - fixed);
    strcpy(s + total - 4, "\r\n\r\n");
    cr_assert_eq(strlen(s), total);
    return s;
}

Test(rpc_core, head_bound_is_exact) {
    char *ok = head_of(GZ_RPC_HEAD_BYTES_MAX);
    char *out = session_answer(ok, strlen(ok), 0);
    cr_assert(strncmp(out, "HTTP/1.1 200 OK", 15) == 0, "%.40s", out);
    free(out);
    free(ok);
    char *over = head_of(GZ_RPC_HEAD_BYTES_MAX + 1);
    out = session_answer(over, strlen(over), 0);
    cr_assert(strncmp(out, "HTTP/1.1 431 ", 13) == 0, "%.40s", out);
    cr_assert_not_null(strstr(out, "Connection: close"));
    free(out);
    /* The same when the head arrives in small pieces. */
    out = session_answer(over, strlen(over), 1000);
    cr_assert(strncmp(out, "HTTP/1.1 431 ", 13) == 0, "%.40s", out);
    free(out);
    free(over);
}

Test(rpc_core, head_without_end_is_cut_off) {
    /* An endless head is refused once it passes the bound, not buffered. */
    rpc_session ss;
    rpc_session_init(&ss, &dispatch, on_wake, NULL);
    cr_assert_eq(rpc_session_feed(&ss, "GET / HTTP/1.1\r\n", 16), GZ_OK);
    char line[1024];
    memset(line, 'b', sizeof line);
    memcpy(line, "X-", 2);
    line[sizeof line - 3] = ':';
    line[sizeof line - 2] = '\r';
    line[sizeof line - 1] = '\n';
    for (size_t sent = 0; sent <= GZ_RPC_HEAD_BYTES_MAX && !ss.closing; sent += sizeof line) {
        cr_assert_eq(rpc_session_feed(&ss, line, sizeof line), GZ_OK);
        rpc_session_run(&ss, SIZE_MAX);
    }
    cr_assert(ss.closing);
    cr_assert(strncmp((char *)ss.out.data, "HTTP/1.1 431 ", 13) == 0);
    rpc_session_free(&ss);
}

Test(rpc_core, body_bound_checked_from_the_head) {
    char head[256];
    snprintf(head, sizeof head, "POST /rpc HTTP/1.1\r\nContent-Length: %u\r\n\r\n",
             GZ_RPC_BODY_BYTES_MAX);
    rpc_session ss;
    rpc_session_init(&ss, &dispatch, on_wake, NULL);
    cr_assert_eq(rpc_session_feed(&ss, head, strlen(head)), GZ_OK);
    rpc_session_run(&ss, SIZE_MAX);
    cr_assert_not(ss.closing, "exactly the bound is accepted");
    cr_assert_eq(ss.out.len, 0, "and waits for the body");
    rpc_session_free(&ss);
    snprintf(head, sizeof head, "POST /rpc HTTP/1.1\r\nContent-Length: %u\r\n\r\n",
             GZ_RPC_BODY_BYTES_MAX + 1);
    char *out = session_answer(head, strlen(head), 0);
    cr_assert(strncmp(out, "HTTP/1.1 413 ", 13) == 0, "%.40s", out);
    free(out);
    const char *huge = "POST /rpc HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n";
    out = session_answer(huge, strlen(huge), 0);
    cr_assert(strncmp(out, "HTTP/1.1 400 ", 13) == 0, "an unrepresentable length: %.40s", out);
    free(out);
}

Test(rpc_core, expect_upgrade_and_head_requests) {
    const char *cont = "POST /rpc HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}";
    char *out = session_answer(cont, strlen(cont), 0);
    cr_assert(strncmp(out, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK", 40) == 0, "%s", out);
    free(out);
    const char *odd = "POST /rpc HTTP/1.1\r\nExpect: something\r\nContent-Length: 2\r\n\r\n{}";
    out = session_answer(odd, strlen(odd), 0);
    cr_assert(strncmp(out, "HTTP/1.1 417 ", 13) == 0, "%s", out);
    free(out);
    const char *up = "GET /health HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                     "GET /health HTTP/1.1\r\n\r\n";
    out = session_answer(up, strlen(up), 0);
    cr_assert_eq(count(out, "HTTP/1.1 200 OK"), 1, "nothing is read after an upgrade: %s", out);
    cr_assert_not_null(strstr(out, "Connection: close"));
    free(out);
    const char *head = "HEAD /health HTTP/1.1\r\n\r\n";
    out = session_answer(head, strlen(head), 0);
    cr_assert_not_null(strstr(out, "Content-Length: 3\r\n"));
    size_t len = strlen(out);
    cr_assert(len > 4 && strcmp(out + len - 4, "\r\n\r\n") == 0, "no body after HEAD");
    free(out);
}

Test(rpc_core, output_bound_stops_between_requests) {
    char *a = request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[1,1]}");
    rpc_session ss;
    rpc_session_init(&ss, &dispatch, on_wake, NULL);
    for (int i = 0; i < 3; i++) cr_assert_eq(rpc_session_feed(&ss, a, strlen(a)), GZ_OK);
    free(a);
    rpc_session_run(&ss, 1);
    size_t first = ss.out.len;
    char *one = strndup((char *)ss.out.data, first);
    cr_assert_eq(count(one, "HTTP/1.1 200"), 1, "one response, then a stop");
    free(one);
    rpc_session_run(&ss, first + 1);
    cr_assert_eq(ss.out.len, 2 * first);
    rpc_session_run(&ss, SIZE_MAX);
    cr_assert_eq(ss.out.len, 3 * first);
    rpc_session_free(&ss);
}

Test(rpc_core, late_reply_wakes_and_keeps_order) {
    g_wakes = 0;
    char *k = request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"keep\"}");
    char *a = request("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"add\",\"params\":[2,2]}");
    rpc_session ss;
    rpc_session_init(&ss, &dispatch, on_wake, &ss);
    cr_assert_eq(rpc_session_feed(&ss, k, strlen(k)), GZ_OK);
    cr_assert_eq(rpc_session_feed(&ss, a, strlen(a)), GZ_OK);
    free(k);
    free(a);
    rpc_session_run(&ss, SIZE_MAX);
    cr_assert(rpc_session_busy(&ss));
    cr_assert_eq(ss.out.len, 0, "the second request waits for the first");
    cr_assert_eq(g_kept_n, 1);
    cr_assert(rpc_call_alive(g_kept[0]));
    cr_assert_eq(json_integer_value(rpc_call_id(g_kept[0])), 1);
    cr_assert_str_eq(rpc_call_method(g_kept[0]), "keep");
    rpc_reply_result(g_kept[0], json_string("late"));
    cr_assert_eq(g_wakes, 1);
    cr_assert_not(rpc_session_busy(&ss));
    rpc_session_run(&ss, SIZE_MAX);
    cr_assert_eq(gz_buf_append(&ss.out, "", 1), GZ_OK);
    char *late = strstr((char *)ss.out.data, "\"late\"");
    char *four = strstr((char *)ss.out.data, "\"result\":4");
    cr_assert(late != NULL && four != NULL && late < four);
    rpc_session_free(&ss);
}

/* ---- the exchange ---------------------------------------------------------------- */

static int g_done_calls;
static char g_done_body[64 * 1024];

static void on_done(void *owner, const char *json, size_t len) {
    (void)owner;
    g_done_calls++;
    cr_assert_lt(len, sizeof g_done_body);
    if (json) memcpy(g_done_body, json, len);
    g_done_body[json ? len : 0] = '\0';
}

static rpc_exchange *start(const char *body) {
    g_done_calls = 0;
    g_done_body[0] = '\0';
    return rpc_exchange_start(&dispatch, body, strlen(body), on_done, NULL);
}

Test(rpc_core, detached_exchange_drops_late_replies) {
    rpc_exchange *x = start("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"keep\"},"
                            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"keep\"},"
                            "{\"jsonrpc\":\"2.0\",\"method\":\"keep\"}]");
    cr_assert_not_null(x);
    cr_assert_eq(g_kept_n, 3);
    cr_assert_not(rpc_call_alive(g_kept[2]), "nobody reads a notification's reply");
    cr_assert_null(rpc_call_id(g_kept[2]));
    rpc_reply_result(g_kept[0], json_integer(1));
    rpc_exchange_detach(x);
    cr_assert_not(rpc_call_alive(g_kept[1]));
    rpc_reply_error(g_kept[1], -1, "late %s", "error");
    rpc_reply_result(g_kept[2], json_integer(3));
    cr_assert_eq(g_done_calls, 0, "a detached exchange answers nobody");
}

Test(rpc_core, exchange_answers_once_when_all_replied) {
    rpc_exchange *x = start("[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"keep\"},"
                            "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"add\",\"params\":[1,2]},"
                            "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"keep\"}]");
    cr_assert_not_null(x);
    rpc_reply_error(g_kept[1], -32000, "bad\nthing \xff");
    cr_assert_eq(g_done_calls, 0);
    rpc_reply_result(g_kept[0], json_true());
    cr_assert_eq(g_done_calls, 1);
    json_t *j = json_loads(g_done_body, 0, NULL);
    cr_assert(json_is_array(j));
    cr_assert_eq(json_array_size(j), 3);
    cr_assert(json_is_true(json_object_get(json_array_get(j, 0), "result")));
    cr_assert_eq(json_integer_value(json_object_get(json_array_get(j, 1), "result")), 3);
    const char *msg = json_string_value(
        json_object_get(json_object_get(json_array_get(j, 2), "error"), "message"));
    cr_assert_str_eq(msg, "bad thing ?", "one line of valid UTF-8");
    json_decref(j);
}

Test(rpc_core, response_bound_and_null_result) {
    cr_assert_null(start("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"huge\"}"));
    cr_assert_eq(g_done_calls, 1);
    cr_assert_not_null(strstr(g_done_body, "-32011"), "%s", g_done_body);
    cr_assert_not_null(strstr(g_done_body, "would pass the bound of 16777216 bytes"), "%s",
                       g_done_body);
    cr_assert_null(start("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"null\"}"));
    cr_assert_not_null(strstr(g_done_body, "null produced no result"), "%s", g_done_body);
}

Test(rpc_core, json_depth_scan) {
    cr_assert_not(rpc_json_too_deep("[[]]", 4, 2));
    cr_assert(rpc_json_too_deep("[[[]]]", 6, 2));
    cr_assert(rpc_json_too_deep("{\"a\":[{}]}", 10, 2));
    cr_assert_not(rpc_json_too_deep("[\"[[[[\"]", 8, 1), "brackets in strings do not count");
    cr_assert_not(rpc_json_too_deep("[\"\\\"[[[[\"]", 10, 1), "nor after an escaped quote");
    cr_assert(rpc_json_too_deep("[\"\\\\\",[[]]]", 11, 2), "an escaped backslash ends the escape");
    cr_assert_not(rpc_json_too_deep("]]]]][", 6, 1), "stray closers do not go below zero");
    cr_assert_not(rpc_json_too_deep("", 0, 0));
}

/* ---- bounds: budget, result bytes, held bytes, turns -------------------------------- */

static rpc_exchange *start_b(const rpc_bounds *b, const char *body) {
    g_done_calls = 0;
    g_done_body[0] = '\0';
    g_blob_runs = 0;
    return rpc_exchange_start_bounded(&dispatch, b, body, strlen(body), on_done, NULL);
}

/* A batch of k calls of method with params (a JSON object text). */
static char *batch_of(int k, const char *method, const char *params) {
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(gz_buf_append(&b, "[", 1), GZ_OK);
    for (int i = 0; i < k; i++) {
        char one[256];
        int n = snprintf(one, sizeof one, "%s{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\",\"params\":%s}",
                         i ? "," : "", i, method, params);
        cr_assert_eq(gz_buf_append(&b, one, (size_t)n), GZ_OK);
    }
    cr_assert_eq(gz_buf_append(&b, "]", 2), GZ_OK);
    return (char *)b.data;
}

Test(rpc_core, over_budget_refused_before_any_call_runs) {
    const rpc_bounds b = {.costs = costs};
    char *body = batch_of(81, "blob", "{\"n\":1}");
    cr_assert_null(start_b(&b, body));
    free(body);
    cr_assert_eq(g_done_calls, 1);
    cr_assert_eq(g_blob_runs, 0, "nothing ran");
    cr_assert_str_eq(g_done_body,
                     "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32010,\"message\":"
                     "\"batch: cost 4050 over the budget 4000; send fewer or cheaper calls per request\"}}");
    /* At the budget it runs; cheap calls and unknown methods count 1 each. */
    body = batch_of(80, "blob", "{\"n\":1}");
    cr_assert_null(start_b(&b, body));
    free(body);
    cr_assert_eq(g_blob_runs, 80);
    const rpc_bounds tight = {.costs = costs, .cost_max = 3};
    cr_assert_null(start_b(&tight, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[1,1]},"
                                   "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"nope\"},"
                                   "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"add\",\"params\":[1,1]},"
                                   "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"add\",\"params\":[1,1]}]"));
    cr_assert_not_null(strstr(g_done_body, "batch: cost 4 over the budget 3"), "%s", g_done_body);
}

Test(rpc_core, results_bound_answers_the_rest_with_errors_unrun) {
    /* Each blob answer is 290 bytes plus 36 of envelope: three fit in 1000. */
    const rpc_bounds b = {.costs = costs, .results_max = 1000};
    char *body = batch_of(6, "blob", "{\"n\":290}");
    cr_assert_null(start_b(&b, body));
    free(body);
    json_t *j = json_loads(g_done_body, 0, NULL);
    cr_assert(json_is_array(j), "%s", g_done_body);
    cr_assert_eq(json_array_size(j), 6);
    for (int i = 0; i < 3; i++) cr_assert(json_is_string(json_object_get(json_array_get(j, i), "result")));
    const json_t *e3 = json_object_get(json_array_get(j, 3), "error");
    cr_assert_eq(json_integer_value(json_object_get(e3, "code")), RPC_RESPONSE_FULL);
    cr_assert_not_null(strstr(json_string_value(json_object_get(e3, "message")), "would pass the bound of 1000"));
    for (int i = 4; i < 6; i++) {
        const json_t *e = json_object_get(json_array_get(j, i), "error");
        cr_assert_eq(json_integer_value(json_object_get(e, "code")), RPC_RESPONSE_FULL);
        cr_assert_not_null(strstr(json_string_value(json_object_get(e, "message")),
                                  "reached the bound of 1000 bytes of one request; blob was not run"),
                           "%s", json_string_value(json_object_get(e, "message")));
    }
    cr_assert_eq(g_blob_runs, 4, "the calls after the bound was reached did not run");
    json_decref(j);
}

Test(rpc_core, held_bytes_make_heavy_calls_busy) {
    size_t held = 64;
    const rpc_bounds b = {.costs = costs, .held = &held, .held_max = 64};
    cr_assert_null(start_b(&b, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"blob\",\"params\":{\"n\":5}},"
                               "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"add\",\"params\":[2,3]}]"));
    cr_assert_eq(g_blob_runs, 0);
    cr_assert_not_null(strstr(g_done_body, "\"code\":-32012"), "%s", g_done_body);
    cr_assert_not_null(strstr(g_done_body, "busy: the server holds 64 bytes of responses (bound 64)"));
    cr_assert_not_null(strstr(g_done_body, "\"result\":5"), "a cheap call still runs");
    cr_assert_eq(held, 64, "what the exchange counted it gave back");
    held = 0;
    rpc_exchange *x = start_b(&b, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"blob\",\"params\":{\"n\":5}},"
                                  "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"keep\"}]");
    cr_assert_not_null(x);
    cr_assert_gt(held, 0, "an answer waiting for its batch is counted");
    rpc_reply_result(g_kept[0], json_true());
    cr_assert_eq(held, 0);
}

Test(rpc_core, heavy_batch_gives_the_loop_back_cheap_one_does_not) {
    const rpc_bounds b = {.costs = costs, .turn_ns = 1};
    char *body = batch_of(3, "blob", "{\"n\":1}");
    rpc_exchange *x = start_b(&b, body);
    free(body);
    cr_assert_not_null(x);
    cr_assert_eq(g_blob_runs, 1, "one heavy call, then the turn is over");
    cr_assert(rpc_exchange_more(x));
    cr_assert_not(rpc_exchange_resume(x));
    cr_assert_eq(g_blob_runs, 2);
    cr_assert(rpc_exchange_resume(x), "the last call completes the exchange");
    cr_assert_eq(g_done_calls, 1);
    cr_assert_eq(g_blob_runs, 3);
    /* Calls of cost 1 (submit_tx) never end a turn: one batch, one go. */
    body = batch_of(500, "add", "[1,2]");
    cr_assert_null(start_b(&b, body));
    free(body);
    cr_assert_eq(g_done_calls, 1);
    /* Detached between turns, the calls not dispatched never run. */
    body = batch_of(3, "blob", "{\"n\":1}");
    x = start_b(&b, body);
    free(body);
    cr_assert_not_null(x);
    rpc_exchange_detach(x);
    cr_assert_eq(g_blob_runs, 1);
    cr_assert_eq(g_done_calls, 0);
}

Test(rpc_core, session_phases_and_pipeline_turns) {
    rpc_session ss;
    rpc_session_init(&ss, &dispatch, on_wake, &ss);
    const rpc_bounds b = {.costs = costs, .turn_ns = 1};
    rpc_session_set_bounds(&ss, &b);
    uint64_t len = 0;
    cr_assert_eq(rpc_session_phase(&ss, &len), RPC_PHASE_IDLE);
    const char *part = "POST /rpc HTTP/1.1\r\nHo";
    cr_assert_eq(rpc_session_feed(&ss, part, strlen(part)), GZ_OK);
    rpc_session_run(&ss, SIZE_MAX);
    cr_assert_eq(rpc_session_phase(&ss, &len), RPC_PHASE_HEAD);
    part = "st: t\r\nContent-Length: 40\r\n\r\n{";
    cr_assert_eq(rpc_session_feed(&ss, part, strlen(part)), GZ_OK);
    rpc_session_run(&ss, SIZE_MAX);
    cr_assert_eq(rpc_session_phase(&ss, &len), RPC_PHASE_BODY);
    cr_assert_eq(len, 40);
    rpc_session_free(&ss);
    /* Two pipelined requests: the first uses up the turn, the second waits. */
    rpc_session_init(&ss, &dispatch, on_wake, &ss);
    rpc_session_set_bounds(&ss, &b);
    char *r = request("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"add\",\"params\":[1,1]}");
    for (int i = 0; i < 2; i++) cr_assert_eq(rpc_session_feed(&ss, r, strlen(r)), GZ_OK);
    free(r);
    rpc_session_run(&ss, SIZE_MAX);
    cr_assert(rpc_session_wants_turn(&ss));
    cr_assert_eq(rpc_session_phase(&ss, &len), RPC_PHASE_WORK);
    size_t first = ss.out.len;
    rpc_session_turn(&ss);
    rpc_session_run(&ss, SIZE_MAX);
    cr_assert_gt(ss.out.len, first, "the second is answered on the next turn");
    cr_assert_not(rpc_session_wants_turn(&ss));
    cr_assert_eq(rpc_session_phase(&ss, &len), RPC_PHASE_IDLE);
    rpc_session_free(&ss);
}
