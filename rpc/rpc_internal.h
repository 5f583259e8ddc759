/* The socket-free core of the RPC server, shared by server.c, the unit tests
 * and the fuzz target:
 *   rpc_http      reads HTTP/1.1 requests from bytes fed to it (http-parser),
 *   rpc_exchange  parses one JSON-RPC body, dispatches its calls and collects
 *                 their (possibly late) replies into one response body,
 *   rpc_session   joins them for one connection: bytes in, response bytes out. */
#ifndef GZ_RPC_INTERNAL_H
#define GZ_RPC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <http_parser.h>

#include "rpc/rpc.h"

/* ---- HTTP request reader ----------------------------------------------------- */

typedef enum rpc_http_event {
    RPC_HTTP_MORE = 0,  /* every buffered byte is parsed: feed more */
    RPC_HTTP_CONTINUE,  /* the request asked for 100-continue and its head is accepted */
    RPC_HTTP_REQUEST,   /* a whole request is ready (fields below) */
    RPC_HTTP_ERROR      /* answer err_status with err_reason and close */
} rpc_http_event;

/* Longer paths are kept cut and flagged; they match no route. */
#define RPC_HTTP_PATH_MAX 255
/* Only short header names and values matter (Expect: 100-continue). */
#define RPC_HTTP_TOKEN_MAX 31

typedef struct rpc_http {
    http_parser parser;
    gz_buf in;            /* received bytes; [in_off, in.len) not parsed yet */
    size_t in_off;
    size_t head_bytes;    /* bytes of the current request head parsed so far */
    int stage;            /* where the parser paused (http.c) */
    bool head_done;
    bool msg_done;
    bool failed;
    bool in_value;
    /* The request being read. */
    char path[RPC_HTTP_PATH_MAX + 1];
    size_t path_len;
    bool path_long;
    char field[RPC_HTTP_TOKEN_MAX + 1];
    size_t field_len;
    char value[RPC_HTTP_TOKEN_MAX + 1];
    size_t value_len;
    bool expect_continue;
    bool expect_unknown;
    gz_buf body;
    uint64_t body_len;    /* the accepted head's Content-Length (0 without) */
    int method;           /* enum http_method */
    bool keep_alive;
    bool http10;
    int err_status;
    const char *err_reason;
} rpc_http;

void rpc_http_init(rpc_http *h);
void rpc_http_free(rpc_http *h);
/* Appends received bytes. Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int rpc_http_feed(rpc_http *h, const void *data, size_t len);
/* Parses buffered input up to the next event. After RPC_HTTP_REQUEST the
 * request fields stay valid until the next call. RPC_HTTP_ERROR is final. */
rpc_http_event rpc_http_next(rpc_http *h);

/* ---- JSON-RPC exchange ------------------------------------------------------- */

typedef struct rpc_exchange rpc_exchange;

/* The method table and context handlers run with. */
typedef struct rpc_dispatch {
    const rpc_method *methods;
    size_t methods_n;
    void *ctx;
} rpc_dispatch;

/* The work and memory bounds of exchanges; a zero field takes its default. */
typedef struct rpc_bounds {
    const unsigned *costs; /* per method in the table's order; NULL: each call costs 1 */
    uint64_t turn_ns;      /* dispatch time before giving the loop back (0: never) */
    size_t *held;          /* the server's count of response bytes held, or NULL */
    size_t held_max;       /* GZ_RPC_HELD_BYTES_MAX */
    size_t results_max;    /* GZ_RPC_RESULTS_BYTES_MAX */
    unsigned cost_max;     /* GZ_RPC_REQUEST_COST_MAX */
} rpc_bounds;

/* Called once when every call of an exchange has replied: json is the
 * response body, or NULL (len 0) when nothing is to be answered (only
 * notifications). The bytes are valid during the call only. */
typedef void (*rpc_exchange_done_fn)(void *owner, const char *json, size_t len);

/* Parses and dispatches one JSON-RPC request body. Returns NULL when the
 * exchange completed during the call (done has run), else the pending
 * exchange, completed later by the handlers' replies. */
rpc_exchange *rpc_exchange_start(const rpc_dispatch *d, const char *body, size_t len,
                                 rpc_exchange_done_fn done, void *owner);
/* The same under bounds b (copied; NULL: the defaults, no turns). */
rpc_exchange *rpc_exchange_start_bounded(const rpc_dispatch *d, const rpc_bounds *b,
                                         const char *body, size_t len,
                                         rpc_exchange_done_fn done, void *owner);
/* True while calls of a pending exchange are still to be dispatched: it gave
 * the loop back after d->turn_ns and wants rpc_exchange_resume on a later turn. */
bool rpc_exchange_more(const rpc_exchange *x);
/* Dispatches the next calls (for up to d->turn_ns). Returns true if that
 * completed the exchange (done has run and x is freed). */
bool rpc_exchange_resume(rpc_exchange *x);
/* Forgets a pending exchange's owner: done never runs, calls not dispatched
 * yet never run; the exchange frees itself once its last call has replied. */
void rpc_exchange_detach(rpc_exchange *x);

/* True if the nesting of [ and { in s (outside strings) exceeds depth_max. */
bool rpc_json_too_deep(const char *s, size_t len, size_t depth_max);

/* ---- session: one connection without the socket ----------------------------- */

/* Called when a pending exchange completes later and out has grown. */
typedef void (*rpc_session_wake_fn)(void *owner);

typedef struct rpc_session {
    rpc_http http;
    rpc_dispatch dispatch;
    rpc_bounds bounds;
    rpc_exchange *pending;     /* the request being answered, or NULL */
    bool pending_keep_alive;
    bool pending_http10;
    bool starting;             /* inside rpc_exchange_start */
    bool closing;              /* the final response is in out */
    bool yielded;              /* requests are buffered but the turn's time is up */
    gz_buf out;                /* response bytes for the transport to send */
    rpc_session_wake_fn wake;
    void *owner;
} rpc_session;

void rpc_session_init(rpc_session *ss, const rpc_dispatch *d, rpc_session_wake_fn wake,
                      void *owner);
/* Sets the bounds of the session's exchanges (copied; the default: none of
 * turns and server-wide bytes, the limits.h bounds for the rest). */
void rpc_session_set_bounds(rpc_session *ss, const rpc_bounds *b);
/* Releases buffers and detaches a pending exchange (its reply is dropped). */
void rpc_session_free(rpc_session *ss);
/* Appends received bytes. Returns GZ_OK or GZ_ENOMEM. */
GZ_WUR int rpc_session_feed(rpc_session *ss, const void *data, size_t len);
/* Answers buffered requests one at a time, appending responses to out, until
 * it needs more input, a request waits for a late reply, the connection is
 * closing, or out holds out_max bytes or more. */
void rpc_session_run(rpc_session *ss, size_t out_max);
/* True while a request waits for a late reply. */
bool rpc_session_busy(const rpc_session *ss);
/* Received bytes not parsed yet. */
size_t rpc_session_buffered(const rpc_session *ss);

/* Where a connection stands, for its deadlines. */
typedef enum rpc_phase {
    RPC_PHASE_IDLE = 0,  /* nothing of a next request has arrived */
    RPC_PHASE_HEAD,      /* part of a request head has arrived */
    RPC_PHASE_BODY,      /* a head is accepted; its body is arriving */
    RPC_PHASE_WORK       /* a request is being answered (or waits for a turn) */
} rpc_phase;
/* The phase; for RPC_PHASE_BODY *body_len is the announced Content-Length. */
rpc_phase rpc_session_phase(const rpc_session *ss, uint64_t *body_len);
/* True when the session gave the loop back with work left (a batch's calls
 * or buffered pipelined requests): call rpc_session_turn on a later turn. */
bool rpc_session_wants_turn(const rpc_session *ss);
/* Goes on with that work (then rpc_session_run answers what follows). */
void rpc_session_turn(rpc_session *ss);

#endif
