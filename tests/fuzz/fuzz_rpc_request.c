/* libFuzzer target: arbitrary bytes as one client connection's input, through
 * the HTTP reader, JSON-RPC parsing and dispatch against a dummy method table,
 * with no sockets. The input is fed in pieces (the first byte picks their
 * size) and late calls are answered between pieces, after the session ends,
 * or never before it is freed, so detached exchanges are exercised too. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rpc/rpc_internal.h"

#define KEPT_MAX 64

static rpc_call *kept[KEPT_MAX];
static size_t kept_n;

static void m_echo(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    rpc_reply_result(call, json_incref(params));
}

static void m_add(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    uint64_t a, b;
    if (rpc_param_u64(params, "a", &a, call) != GZ_OK) return;
    if (rpc_param_u64_opt(params, "b", 0, &b, call) != GZ_OK) return;
    rpc_reply_result(call, json_integer((json_int_t)(a + b)));
}

static void m_hex(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    uint8_t id[32];
    bool present;
    if (rpc_param_hex32(params, "txid", id, call) != GZ_OK) return;
    if (rpc_param_hex32_opt(params, "after", id, &present, call) != GZ_OK) return;
    rpc_reply_result(call, json_boolean(present));
}

static void m_buf(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    gz_buf b;
    gz_buf_init(&b);
    const char *s;
    if (rpc_param_hex_buf(params, "tx", 64, &b, call) == GZ_OK &&
        rpc_param_str_opt(params, "memo", 16, "", &s, call) == GZ_OK) {
        rpc_reply_result(call, json_pack("{s:i,s:s}", "len", (json_int_t)b.len, "memo", s));
    }
    gz_buf_free(&b);
}

static void m_keep(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    (void)params;
    if (kept_n == KEPT_MAX) {
        rpc_reply_error(call, -32000, "busy");
        return;
    }
    kept[kept_n++] = call;
}

static void m_fail(void *ctx, json_t *params, rpc_call *call) {
    (void)ctx;
    (void)params;
    rpc_reply_error(call, -32000, "state: %s", rpc_call_method(call));
}

static const rpc_method methods[] = {
    {"echo", m_echo, NULL},
    {"add", m_add, "a b"},
    {"hex", m_hex, "txid after"},
    {"buf", m_buf, "tx memo"},
    {"keep", m_keep, NULL},
    {"fail", m_fail, ""},
};

static void on_wake(void *owner) { (void)owner; }

static void reply_oldest(void) {
    if (kept_n == 0) return;
    rpc_call *c = kept[0];
    memmove(kept, kept + 1, (kept_n - 1) * sizeof kept[0]);
    kept_n--;
    rpc_reply_result(c, json_string("late"));
}

/* The transport's part: take the output, which must be whole responses. */
static void drain(rpc_session *ss) {
    if (ss->out.len == 0) return;
    if (ss->out.len < 9 || memcmp(ss->out.data, "HTTP/1.1 ", 9) != 0) __builtin_trap();
    gz_buf_reset(&ss->out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const rpc_dispatch d = {methods, sizeof methods / sizeof methods[0], NULL};
    rpc_session ss;
    rpc_session_init(&ss, &d, on_wake, NULL);
    kept_n = 0;
    size_t step = size > 0 ? (size_t)(data[0] % 64) + 1 : 1;
    size_t piece = 0;
    for (size_t off = 0; off < size; off += step, piece++) {
        size_t n = size - off < step ? size - off : step;
        if (rpc_session_feed(&ss, data + off, n) != GZ_OK) break;
        rpc_session_run(&ss, 64 * 1024);
        drain(&ss);
        if (piece % 3 == 2) {
            reply_oldest();
            rpc_session_run(&ss, 64 * 1024);
            drain(&ss);
        }
    }
    /* Answer all but one late call while the session lives; the last one is
     * answered after it is gone. */
    while (kept_n > 1) {
        reply_oldest();
        rpc_session_run(&ss, SIZE_MAX);
        drain(&ss);
    }
    rpc_session_free(&ss);
    reply_oldest();
    return 0;
}
