/* HTTP + JSON-RPC 2.0 server on libuv, and a small blocking client.
 *
 * The server knows nothing of the node: the node hands it a table of methods
 * and a context pointer. A handler receives the call's params (always a JSON
 * object) and answers exactly once, now or later, with rpc_reply_result() or
 * rpc_reply_error(). Everything runs on the loop thread: handlers are called
 * there and must reply there.
 *
 * Transport (docs/rpc.md has the details): HTTP/1.1 `POST /rpc` with a
 * Content-Length body, keep-alive and pipelining, `GET /health` answers "ok".
 * Bounds come from core/limits.h (head, body, batch, JSON depth, connections
 * in all and per client address, head/body/idle deadlines, work per request,
 * result bytes, send queue, response). */
#ifndef GZ_RPC_RPC_H
#define GZ_RPC_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "core/json.h"
#include "core/bytes.h"
#include "core/err.h"
#include "core/limits.h"

#ifndef GZ_RPC_LINGER_MS
/* After a final response the server drains unread input this long before
 * closing, so the client reads the response instead of a reset. */
#define GZ_RPC_LINGER_MS 2000u
#endif

/* JSON-RPC 2.0 error codes. */
#define RPC_PARSE_ERROR (-32700)
#define RPC_INVALID_REQUEST (-32600)
#define RPC_METHOD_NOT_FOUND (-32601)
#define RPC_INVALID_PARAMS (-32602)
#define RPC_INTERNAL_ERROR (-32603)

/* Server-defined errors of the transport's bounds (docs/rpc.md, "Limits"). */
/* The request asks for more work than GZ_RPC_REQUEST_COST_MAX: nothing ran. */
#define RPC_OVER_BUDGET (-32010)
/* The results so far reached GZ_RPC_RESULTS_BYTES_MAX: this call did not run
 * (or its result was dropped); ask for it in a later request. */
#define RPC_RESPONSE_FULL (-32011)
/* The server holds GZ_RPC_HELD_BYTES_MAX of responses: this call did not run;
 * retry after a moment. */
#define RPC_BUSY (-32012)

/* Error messages are one line of at most this many bytes (longer ones are cut). */
#define RPC_ERRMSG_MAX 200

/* One JSON-RPC call waiting for its reply. Owned by the server; valid from the
 * handler's start until the reply (after which the pointer is dangling). */
typedef struct rpc_call rpc_call;

/* params is a JSON object (named params; positional ones already mapped),
 * borrowed and valid only during this call: json_incref() it to keep it. */
typedef void (*rpc_handler)(void *ctx, json_t *params, rpc_call *call);

typedef struct rpc_method {
    const char *name;
    rpc_handler handler;
    /* Space-separated parameter names in SPEC §8 order, e.g. "tx timeout_ms".
     * When set, other names are refused with -32602 before the handler runs
     * and a positional array is mapped onto these names. "" means the
     * method takes none; NULL disables both (params passed as given). */
    const char *params;
} rpc_method;

/* Replies to call with result (reference stolen; NULL answers -32603, so the
 * result of a failed json_pack() can be passed straight in). Exactly once per
 * call. If the connection closed meanwhile, or the call is a notification,
 * the reply is dropped. */
void rpc_reply_result(rpc_call *call, json_t *result);

/* Replies to call with a JSON-RPC error; the message is printf-formatted, cut
 * to one line of RPC_ERRMSG_MAX bytes and should name the field
 * ("params.height: expected a non-negative integer"). Exactly once per call. */
void rpc_reply_error(rpc_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The call's id (borrowed), or NULL for a notification. */
const json_t *rpc_call_id(const rpc_call *call);

/* The called method's name (the table's string). */
const char *rpc_call_method(const rpc_call *call);

/* False once nobody will read the reply (a notification, or the connection
 * closed): a slow handler may skip its work, but must still reply. */
bool rpc_call_alive(const rpc_call *call);

/* Parameter readers for handlers. Each returns GZ_OK and fills its output, or
 * zeroes its output, replies -32602 to call with a message naming
 * "params.<name>" and returns GZ_EARG: the handler then returns at once
 * without replying again. An absent member and JSON null both count as
 * missing; the _opt forms then give the default instead of an error. */


/* 32 bytes as 64 hex chars (either case). */
GZ_WUR int rpc_param_hex32(const json_t *params, const char *name, uint8_t out[32],
                           rpc_call *call);
/* *present tells whether the param was given; out is zero when it was not. */
GZ_WUR int rpc_param_hex32_opt(const json_t *params, const char *name, uint8_t out[32],
                               bool *present, rpc_call *call);
/* A JSON integer in 0..2^63-1 (JSON numbers beyond that fail to parse). */
GZ_WUR int rpc_param_u64(const json_t *params, const char *name, uint64_t *out,
                         rpc_call *call);
GZ_WUR int rpc_param_u64_opt(const json_t *params, const char *name, uint64_t def,
                             uint64_t *out, rpc_call *call);
/* A string of at most len_max bytes; *out is borrowed from params (valid as
 * long as params is). */
GZ_WUR int rpc_param_str(const json_t *params, const char *name, size_t len_max,
                         const char **out, rpc_call *call);
GZ_WUR int rpc_param_str_opt(const json_t *params, const char *name, size_t len_max,
                             const char *def, const char **out, rpc_call *call);
/* Hex of at most bytes_max bytes, decoded into out (emptied first; left empty
 * on failure). The length is checked before anything is allocated. */
GZ_WUR int rpc_param_hex_buf(const json_t *params, const char *name, size_t bytes_max,
                             gz_buf *out, rpc_call *call);

/* ---- server ---------------------------------------------------------------- */

typedef struct rpc_server rpc_server;
typedef void (*rpc_server_close_cb)(rpc_server *s);
struct rpc_conn;

/* Caller-owned; fields are private (use the functions below), except data. */
struct rpc_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    const rpc_method *methods;
    size_t methods_n;
    const unsigned *costs;
    void *ctx;
    struct rpc_conn *conns;   /* open connections, a doubly linked list */
    size_t conns_n;           /* including those closing */
    size_t conns_live;        /* not closing: what the caps count */
    size_t conns_max;
    size_t conns_per_ip;
    uint64_t idle_ms;
    uint64_t head_ms;
    uint64_t body_ms;
    size_t held;              /* response bytes being built or unsent */
    struct rpc_conn *turn_head; /* connections with work left for a later turn */
    struct rpc_conn *turn_tail;
    uv_idle_t turn_idle;
    bool turn_open;
    char *read_buf;           /* shared by every connection's reads */
    bool listener_open;
    bool closing;
    rpc_server_close_cb close_cb;
    void *data;               /* the caller's */
};

/* Prepares s on loop with a method table (borrowed: it and its strings must
 * outlive s) and the ctx handed to every handler. Names must be unique.
 * After init, rpc_server_close() must be called (also when listen fails) and
 * the loop run until its callback. */
void rpc_server_init(rpc_server *s, uv_loop_t *loop, const rpc_method *methods,
                     size_t methods_n, void *ctx);

/* Tuning for tests and special deployments; call before listen.
 * idle_ms: close connections without traffic this long (default GZ_RPC_IDLE_MS).
 * conns_max: at most GZ_RPC_CONNS_MAX (the default).
 * conns_per_ip: connections of one client address (default GZ_RPC_CONNS_PER_IP_MAX,
 * at most conns_max).
 * head_ms, body_ms: the head and body deadlines (defaults GZ_RPC_HEAD_MS and
 * GZ_RPC_BODY_MS; the body also gets its length at GZ_RPC_BODY_MIN_BYTES_PER_S). */
void rpc_server_set_idle_timeout(rpc_server *s, uint64_t idle_ms);
void rpc_server_set_conns_max(rpc_server *s, size_t conns_max);
void rpc_server_set_conns_per_ip(rpc_server *s, size_t conns_per_ip);
void rpc_server_set_deadlines(rpc_server *s, uint64_t head_ms, uint64_t body_ms);
/* costs[i] is the work units of one call of methods[i] (0 counts as 1;
 * borrowed, like the table): a request whose calls sum to more than
 * GZ_RPC_REQUEST_COST_MAX is refused before any runs. A call of cost 1 never
 * ends a turn, so a batch of cheap calls (submit_tx) is dispatched in one go.
 * Without costs every call costs 1. */
void rpc_server_set_costs(rpc_server *s, const unsigned *costs);

/* Binds host (a numeric IPv4/IPv6 address or "localhost") and port (0: any
 * free port, see rpc_server_port) and starts accepting. Call it once; after a
 * failure only rpc_server_close() remains.
 * Returns GZ_OK, GZ_EARG (bad host or port) or GZ_EIO (bind/listen failed,
 * e.g. the address is in use), with msg naming the address and reason. */
GZ_WUR int rpc_server_listen(rpc_server *s, const char *host, int port, gz_msg *msg);

/* The bound port, or -1 when not listening. */
int rpc_server_port(const rpc_server *s);

/* Open connections (for tests and status). */
size_t rpc_server_conns(const rpc_server *s);

/* Stops listening and closes every connection; calls still running in
 * handlers stay valid and their replies are dropped. cb (may be NULL) runs on
 * the loop once every handle is closed; s may then be freed. */
void rpc_server_close(rpc_server *s, rpc_server_close_cb cb);

/* ---- client ---------------------------------------------------------------- */

/* Default timeout of the blocking client. */
#define RPC_CLIENT_TIMEOUT_MS 30000

/* Calls method on the node at url ("http://host:port", "host:port", or with an
 * explicit path; no path means /rpc) with params (borrowed; NULL sends none)
 * over a blocking socket, waiting at most RPC_CLIENT_TIMEOUT_MS.
 * Returns GZ_OK with *result (a new reference); GZ_EARG if the server answered
 * with a JSON-RPC error (err: "rpc error <code>: <message>") or the url is
 * bad; GZ_EIO, GZ_ETIMEOUT or GZ_EPROTO for transport failures. *result is
 * NULL on failure. */
GZ_WUR int rpc_client_call(const char *url, const char *method, const json_t *params,
                           json_t **result, gz_msg *err);
/* The same with an explicit timeout in milliseconds (> 0). */
GZ_WUR int rpc_client_call_timeout(const char *url, const char *method,
                                   const json_t *params, int timeout_ms,
                                   json_t **result, gz_msg *err);

/* POSTs len bytes of body to url as they are and reads the response: its HTTP
 * status into *http_status and its body appended to resp (emptied first).
 * Returns GZ_OK for any complete HTTP response (also 4xx/5xx), else GZ_EARG,
 * GZ_EIO, GZ_ETIMEOUT or GZ_EPROTO with err set and *http_status 0. */
GZ_WUR int rpc_client_post_raw(const char *url, const void *body, size_t len,
                               int *http_status, gz_buf *resp, gz_msg *err);
GZ_WUR int rpc_client_post_raw_timeout(const char *url, const void *body, size_t len,
                                       int timeout_ms, int *http_status, gz_buf *resp,
                                       gz_msg *err);

#endif
