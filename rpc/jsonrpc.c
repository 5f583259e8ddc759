/* JSON-RPC 2.0: parse one request body, validate and dispatch its calls, and
 * collect their replies (possibly late) into one response body.
 *
 * An exchange owns one rpc_call per entry of the request (one for a single
 * request). It counts the calls still to reply, plus one until every call is
 * dispatched, so a handler that replies at once never frees the exchange
 * under the dispatch loop. Once the count reaches zero the response is
 * joined, handed to the owner (unless detached) and the exchange frees itself.
 *
 * Bounds (docs/rpc.md): a request's calls are costed before any runs (over
 * the budget, nothing runs); each reply is serialized as it comes, so what is
 * held is bytes rather than jansson trees, and once the results reach their
 * bound the calls after are answered with an error instead of being run. With
 * d->turn_ns set, dispatch gives the loop back after that much time (never
 * after a call of cost 1) and the owner resumes it on a later turn. */
#include "rpc/rpc_internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rpc_call {
    rpc_exchange *x;
    json_t *id;          /* owned; NULL answers with id null */
    const char *method;  /* the table's name, or "" before lookup */
    size_t slot;
    bool notify;
    bool replied;
};

/* One call's answer, serialized. */
typedef struct rpc_text {
    char *data;  /* NULL = nothing to answer */
    size_t len;
} rpc_text;

struct rpc_exchange {
    rpc_exchange_done_fn done;  /* NULL once detached */
    void *owner;
    rpc_dispatch d;
    rpc_bounds b;
    json_t *root;               /* the parsed request until every call is dispatched */
    size_t pending;             /* calls yet to reply, +1 until all are dispatched */
    size_t next;                /* the next call to dispatch */
    size_t n;
    size_t bytes;               /* of the answers in resp */
    bool batch;
    bool oom;                   /* a response could not be built */
    bool in_dispatch;
    rpc_text *resp;             /* n slots */
    rpc_call *calls;            /* n calls */
};

/* Sent when even the error response cannot be built. */
static const char oom_body[] =
    "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32603,"
    "\"message\":\"internal error: out of memory\"}}";

bool rpc_json_too_deep(const char *s, size_t len, size_t depth_max) {
    size_t depth = 0;
    bool in_str = false;
    bool esc = false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (in_str) {
            if (esc) {
                esc = false;
            } else if (c == '\\') {
                esc = true;
            } else if (c == '"') {
                in_str = false;
            }
        } else if (c == '"') {
            in_str = true;
        } else if (c == '[' || c == '{') {
            if (++depth > depth_max) return true;
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return false;
}

/* Length of the valid UTF-8 sequence at s[0..len), or 0 if none. */
static size_t utf8_seq(const unsigned char *s, size_t len) {
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (len < n) return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
        return 0;
    }
    return n;
}

/* Makes a formatted message one line of valid UTF-8 (a cut may have split a
 * character; quoted input may hold anything). */
static void text_sanitize(char *text) {
    unsigned char *s = (unsigned char *)text;
    size_t len = strlen(text);
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq(s + i, len - i);
        if (n == 0) {
            s[i++] = '?';
        } else {
            if (n == 1 && (s[i] == '\n' || s[i] == '\r')) s[i] = ' ';
            i += n;
        }
    }
}

static json_t *error_object(int code, const char *text) {
    json_t *err = json_object();
    if (err == NULL) return NULL;
    if (json_object_set_new(err, "code", json_integer(code)) != 0 ||
        json_object_set_new(err, "message", json_string(text)) != 0) {
        json_decref(err);
        return NULL;
    }
    return err;
}

static json_t *response_object(const json_t *id, const char *key, json_t *val) {
    json_t *r = json_object();
    if (r == NULL || val == NULL) {
        json_decref(r);
        json_decref(val);
        return NULL;
    }
    if (json_object_set_new(r, "jsonrpc", json_string("2.0")) != 0 ||
        json_object_set_new(r, "id", id ? json_incref((json_t *)id) : json_null()) != 0 ||
        json_object_set_new(r, key, val) != 0) {
        json_decref(r);
        return NULL;
    }
    return r;
}

/* Joins the answers into one body (an array for a batch). */
static void response_send(rpc_exchange *x) {
    size_t need = x->batch ? 2 : 0, k = 0;
    for (size_t i = 0; i < x->n; i++) {
        if (x->resp[i].data == NULL) continue;
        need += x->resp[i].len + (k++ > 0);
    }
    if (k == 0) {
        x->done(x->owner, NULL, 0);
        return;
    }
    if (!x->batch) {
        x->done(x->owner, x->resp[0].data, x->resp[0].len);
        return;
    }
    char *buf = malloc(need);
    if (buf == NULL) {
        x->done(x->owner, oom_body, sizeof oom_body - 1);
        return;
    }
    size_t off = 0;
    buf[off++] = '[';
    /* Each answer is freed once copied, so the two copies never add up. */
    for (size_t i = 0, j = 0; i < x->n; i++) {
        if (x->resp[i].data == NULL) continue;
        if (j++ > 0) buf[off++] = ',';
        memcpy(buf + off, x->resp[i].data, x->resp[i].len);
        off += x->resp[i].len;
        free(x->resp[i].data);
        x->resp[i].data = NULL;
    }
    buf[off++] = ']';
    assert(off == need);
    x->done(x->owner, buf, need);
    free(buf);
}

static void exchange_finish(rpc_exchange *x) {
    if (x->done != NULL) {
        if (x->oom) {
            x->done(x->owner, oom_body, sizeof oom_body - 1);
        } else {
            response_send(x);
        }
    }
    for (size_t i = 0; i < x->n; i++) {
        free(x->resp[i].data);
        json_decref(x->calls[i].id);
    }
    if (x->b.held != NULL) {
        assert(*x->b.held >= x->bytes);
        *x->b.held -= x->bytes;
    }
    json_decref(x->root);
    free(x);
}

/* Drops one reference; returns true if that completed and freed x. */
static bool exchange_release(rpc_exchange *x) {
    assert(x->pending > 0);
    if (--x->pending > 0) return false;
    exchange_finish(x);
    return true;
}

/* Serializes one answer into its slot, counting its bytes. */
static bool answer_store(rpc_exchange *x, size_t slot, json_t *r) {
    size_t need = json_dumpb(r, NULL, 0, JSON_COMPACT);
    char *buf = need > 0 ? malloc(need) : NULL;
    if (buf == NULL || json_dumpb(r, buf, need, JSON_COMPACT) != need) {
        free(buf);
        return false;
    }
    x->resp[slot] = (rpc_text){buf, need};
    x->bytes += need;
    if (x->b.held != NULL) *x->b.held += need;
    return true;
}

static json_t *error_response(const json_t *id, int code, const char *text) {
    return response_object(id, "error", error_object(code, text));
}

/* Records call's answer (val stolen) under key "result" or "error". A result
 * that would take the results past their bound is dropped for an error. */
static void call_finish(rpc_call *c, const char *key, json_t *val) {
    assert(!c->replied);
    c->replied = true;
    rpc_exchange *x = c->x;
    if (c->notify || x->done == NULL) {
        json_decref(val);
    } else {
        assert(x->resp[c->slot].data == NULL);
        json_t *r = response_object(c->id, key, val);
        size_t len = r != NULL ? json_dumpb(r, NULL, 0, JSON_COMPACT) : 0;
        /* Errors are short and always kept: each call gets its answer. */
        if (r != NULL && strcmp(key, "result") == 0 && x->bytes + len > x->b.results_max) {
            char text[RPC_ERRMSG_MAX];
            snprintf(text, sizeof text,
                     "response: a result of %zu bytes would pass the bound of %zu bytes of one "
                     "request; ask for it alone or in a smaller batch",
                     len, x->b.results_max);
            json_decref(r);
            r = error_response(c->id, RPC_RESPONSE_FULL, text);
        }
        if (r == NULL || !answer_store(x, c->slot, r)) x->oom = true;
        json_decref(r);
    }
    exchange_release(x);
}

static void call_error_v(rpc_call *c, int code, const char *fmt, va_list ap) {
    char text[RPC_ERRMSG_MAX];
    vsnprintf(text, sizeof text, fmt, ap);
    text_sanitize(text);
    call_finish(c, "error", error_object(code, text));
}

static void call_error(rpc_call *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void call_error(rpc_call *c, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    call_error_v(c, code, fmt, ap);
    va_end(ap);
}

void rpc_reply_result(rpc_call *call, json_t *result) {
    assert(call != NULL);
    if (result == NULL) {
        call_error(call, RPC_INTERNAL_ERROR, "internal error: %s produced no result",
                   call->method);
        return;
    }
    call_finish(call, "result", result);
}

void rpc_reply_error(rpc_call *call, int code, const char *fmt, ...) {
    assert(call != NULL);
    va_list ap;
    va_start(ap, fmt);
    call_error_v(call, code, fmt, ap);
    va_end(ap);
}

const json_t *rpc_call_id(const rpc_call *call) {
    return call->notify ? NULL : call->id;
}

const char *rpc_call_method(const rpc_call *call) { return call->method; }

bool rpc_call_alive(const rpc_call *call) {
    return !call->notify && call->x->done != NULL;
}

static rpc_exchange *exchange_new(const rpc_dispatch *d, const rpc_bounds *b, size_t n,
                                  bool batch, rpc_exchange_done_fn done, void *owner) {
    assert(n >= 1);
    assert(n <= GZ_RPC_BATCH_MAX);
    size_t bytes = sizeof(rpc_exchange) + n * sizeof(rpc_text) + n * sizeof(rpc_call);
    rpc_exchange *x = calloc(1, bytes);
    if (x == NULL) return NULL;
    x->done = done;
    x->owner = owner;
    x->d = *d;
    x->b = *b;
    x->n = n;
    x->batch = batch;
    x->pending = n + 1;
    x->resp = (rpc_text *)(x + 1);
    x->calls = (rpc_call *)(x->resp + n);
    for (size_t i = 0; i < n; i++) {
        x->calls[i].x = x;
        x->calls[i].slot = i;
        x->calls[i].method = "";
    }
    return x;
}

static const rpc_method *method_find(const rpc_dispatch *d, const char *name) {
    for (size_t i = 0; i < d->methods_n; i++) {
        if (strcmp(d->methods[i].name, name) == 0) return &d->methods[i];
    }
    return NULL;
}

/* Finds the i-th space-separated name of names; false past the last. */
static bool names_nth(const char *names, size_t i, const char **start, size_t *len) {
    const char *p = names;
    for (;;) {
        while (*p == ' ') p++;
        if (*p == '\0') return false;
        const char *e = p;
        while (*e != '\0' && *e != ' ') e++;
        if (i == 0) {
            *start = p;
            *len = (size_t)(e - p);
            return true;
        }
        i--;
        p = e;
    }
}

static bool names_have(const char *names, const char *key) {
    size_t klen = strlen(key);
    const char *p;
    size_t len;
    for (size_t i = 0; names_nth(names, i, &p, &len); i++) {
        if (len == klen && memcmp(p, key, len) == 0) return true;
    }
    return false;
}

/* Builds {name_i: arr[i]} from a positional array in the table's order. */
static json_t *params_from_array(rpc_call *c, const rpc_method *m, const json_t *arr) {
    size_t k = json_array_size(arr);
    if (m->params == NULL && k > 0) {
        call_error(c, RPC_INVALID_PARAMS, "params: %s takes named params (an object)",
                   m->name);
        return NULL;
    }
    json_t *obj = json_object();
    if (obj == NULL) {
        call_error(c, RPC_INTERNAL_ERROR, "internal error: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < k; i++) {
        const char *name;
        size_t len;
        if (!names_nth(m->params, i, &name, &len)) {
            json_decref(obj);
            call_error(c, RPC_INVALID_PARAMS, "params: %s takes at most %zu positional params (%s)",
                       m->name, i, m->params);
            return NULL;
        }
        if (json_object_setn(obj, name, len, json_array_get(arr, i)) != 0) {
            json_decref(obj);
            call_error(c, RPC_INTERNAL_ERROR, "internal error: out of memory");
            return NULL;
        }
    }
    return obj;
}

/* Returns the params object for m's handler (a new reference), or NULL after
 * replying with the error. Absent and null params are an empty object. */
static json_t *params_prepare(rpc_call *c, const rpc_method *m, json_t *given) {
    if (given == NULL || json_is_null(given)) {
        json_t *obj = json_object();
        if (obj == NULL) call_error(c, RPC_INTERNAL_ERROR, "internal error: out of memory");
        return obj;
    }
    if (json_is_array(given)) return params_from_array(c, m, given);
    if (!json_is_object(given)) {
        call_error(c, RPC_INVALID_REQUEST, "params: expected an object or an array");
        return NULL;
    }
    if (m->params != NULL) {
        const char *key;
        json_t *val;
        json_object_foreach(given, key, val) {
            if (!names_have(m->params, key)) {
                call_error(c, RPC_INVALID_PARAMS, "params.%.64s: unknown parameter of %s",
                           key, m->name);
                return NULL;
            }
        }
    }
    return json_incref(given);
}

/* Checks the members of a request object; fills why on failure. */
static bool request_valid(json_t *req, char *why, size_t why_len) {
    const char *key;
    json_t *val;
    json_object_foreach(req, key, val) {
        if (strcmp(key, "jsonrpc") != 0 && strcmp(key, "id") != 0 &&
            strcmp(key, "method") != 0 && strcmp(key, "params") != 0) {
            snprintf(why, why_len, "%.64s: unknown member of a request", key);
            return false;
        }
    }
    val = json_object_get(req, "jsonrpc");
    if (!json_is_string(val) || strcmp(json_string_value(val), "2.0") != 0) {
        snprintf(why, why_len, "jsonrpc: expected \"2.0\"");
        return false;
    }
    if (!json_is_string(json_object_get(req, "method"))) {
        snprintf(why, why_len, "method: expected a string");
        return false;
    }
    return true;
}

static unsigned method_cost(const rpc_exchange *x, const rpc_method *m) {
    if (x->b.costs == NULL) return 1;
    unsigned c = x->b.costs[m - x->d.methods];
    return c > 0 ? c : 1;
}

/* Refuses a call the bounds leave no room for; true if it was answered. */
static bool call_over_bounds(rpc_exchange *x, rpc_call *c, const rpc_method *m) {
    if (x->bytes >= x->b.results_max) {
        call_error(c, RPC_RESPONSE_FULL,
                   "response: the results reached the bound of %zu bytes of one request; "
                   "%s was not run, ask for it in a later request",
                   x->b.results_max, m->name);
        return true;
    }
    if (method_cost(x, m) > 1 && x->b.held != NULL && *x->b.held >= x->b.held_max) {
        call_error(c, RPC_BUSY,
                   "busy: the server holds %zu bytes of responses (bound %zu); %s was not run, "
                   "retry later",
                   *x->b.held, x->b.held_max, m->name);
        return true;
    }
    return false;
}

/* Validates and runs one call; returns the cost of what ran (1 if nothing). */
static unsigned dispatch_one(rpc_exchange *x, rpc_call *c, json_t *req) {
    if (!json_is_object(req)) {
        call_error(c, RPC_INVALID_REQUEST, "request: expected an object");
        return 1;
    }
    json_t *id = json_object_get(req, "id");
    if (id == NULL) {
        c->notify = true;
    } else if (json_is_string(id) || json_is_integer(id) || json_is_null(id)) {
        c->id = json_incref(id);
    } else {
        call_error(c, RPC_INVALID_REQUEST, "id: expected a string, an integer or null");
        return 1;
    }
    char why[RPC_ERRMSG_MAX];
    if (!request_valid(req, why, sizeof why)) {
        /* An invalid request is answered even without an id, as JSON-RPC 2.0
         * answers "[1]" with an error whose id is null. */
        c->notify = false;
        call_error(c, RPC_INVALID_REQUEST, "%s", why);
        return 1;
    }
    const char *name = json_string_value(json_object_get(req, "method"));
    const rpc_method *m = method_find(&x->d, name);
    if (m == NULL) {
        call_error(c, RPC_METHOD_NOT_FOUND, "method: no such method \"%.64s\"", name);
        return 1;
    }
    c->method = m->name;
    if (call_over_bounds(x, c, m)) return 1;
    json_t *params = params_prepare(c, m, json_object_get(req, "params"));
    if (params == NULL) return 1;
    m->handler(x->d.ctx, params, c);
    json_decref(params);
    return method_cost(x, m);
}

/* The work a request asks for: the sum of its calls' costs (a call that
 * names no known method counts 1). */
static uint64_t request_cost(const rpc_dispatch *d, const rpc_bounds *b, const json_t *root) {
    size_t n = json_is_array(root) ? json_array_size(root) : 1;
    uint64_t cost = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *req = json_is_array(root) ? json_array_get(root, i) : root;
        const char *name = json_string_value(json_object_get(req, "method"));
        const rpc_method *m = name != NULL ? method_find(d, name) : NULL;
        unsigned c = m != NULL && b->costs != NULL ? b->costs[m - d->methods] : 1;
        cost += c > 0 ? c : 1;
    }
    return cost;
}

/* Parses body; returns 0 with *root, or a JSON-RPC error code with why. */
static int body_parse(const rpc_dispatch *d, const rpc_bounds *b, const char *body,
                      size_t len, json_t **root, char *why, size_t why_len) {
    *root = NULL;
    if (rpc_json_too_deep(body, len, GZ_RPC_JSON_DEPTH_MAX)) {
        snprintf(why, why_len, "parse error: nesting deeper than %d", GZ_RPC_JSON_DEPTH_MAX);
        return RPC_PARSE_ERROR;
    }
    json_error_t e;
    *root = json_loadb(body, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e);
    if (*root == NULL) {
        snprintf(why, why_len, "parse error: %s at byte %d", e.text, e.position);
        return RPC_PARSE_ERROR;
    }
    size_t k = json_is_array(*root) ? json_array_size(*root) : 1;
    if (k == 0) {
        snprintf(why, why_len, "request: empty batch");
        return RPC_INVALID_REQUEST;
    }
    if (k > GZ_RPC_BATCH_MAX) {
        snprintf(why, why_len, "request: batch of %zu calls exceeds %d", k, GZ_RPC_BATCH_MAX);
        return RPC_INVALID_REQUEST;
    }
    uint64_t cost = request_cost(d, b, *root);
    if (cost > b->cost_max) {
        snprintf(why, why_len, "%s: cost %llu over the budget %u; send fewer or cheaper calls "
                 "per request", json_is_array(*root) ? "batch" : "request",
                 (unsigned long long)cost, b->cost_max);
        return RPC_OVER_BUDGET;
    }
    return 0;
}

/* Dispatches calls until all are (then releases the dispatch's reference),
 * or the turn's time is up after a call that cost more than 1. Calls of a
 * detached exchange are not run. Returns true if x completed and is freed. */
static bool exchange_dispatch(rpc_exchange *x) {
    x->in_dispatch = true;
    uint64_t t0 = x->b.turn_ns > 0 ? uv_hrtime() : 0;
    while (x->next < x->n && x->done != NULL) {
        size_t i = x->next++;
        unsigned cost = dispatch_one(x, &x->calls[i], x->batch ? json_array_get(x->root, i) : x->root);
        if (cost > 1 && x->b.turn_ns > 0 && x->next < x->n && uv_hrtime() - t0 >= x->b.turn_ns) break;
    }
    x->in_dispatch = false;
    if (x->done == NULL && x->next < x->n) {
        /* Detached: the calls not run will never reply. */
        for (size_t i = x->next; i < x->n; i++) x->calls[i].replied = true;
        x->pending -= x->n - x->next;
        x->next = x->n;
    }
    if (x->next < x->n) return false;
    json_decref(x->root);
    x->root = NULL;
    return exchange_release(x);
}

bool rpc_exchange_more(const rpc_exchange *x) { return x->next < x->n; }

bool rpc_exchange_resume(rpc_exchange *x) {
    assert(!x->in_dispatch);
    if (x->next >= x->n) return false;
    return exchange_dispatch(x);
}

void rpc_exchange_detach(rpc_exchange *x) {
    assert(x != NULL);
    x->done = NULL;
    x->owner = NULL;
    /* Inside a dispatch the loop sees done gone and stops by itself. */
    if (!x->in_dispatch && x->next < x->n) (void)exchange_dispatch(x);
}

rpc_exchange *rpc_exchange_start_bounded(const rpc_dispatch *d, const rpc_bounds *bounds,
                                         const char *body, size_t len,
                                         rpc_exchange_done_fn done, void *owner) {
    assert(d != NULL);
    assert(done != NULL);
    rpc_bounds b = bounds != NULL ? *bounds : (rpc_bounds){0};
    if (b.held_max == 0) b.held_max = GZ_RPC_HELD_BYTES_MAX;
    if (b.results_max == 0) b.results_max = GZ_RPC_RESULTS_BYTES_MAX;
    if (b.cost_max == 0) b.cost_max = GZ_RPC_REQUEST_COST_MAX;
    char why[RPC_ERRMSG_MAX];
    json_t *root = NULL;
    int code = body_parse(d, &b, body, len, &root, why, sizeof why);
    bool batch = code == 0 && json_is_array(root);
    size_t n = batch ? json_array_size(root) : 1;
    rpc_exchange *x = exchange_new(d, &b, n, batch, done, owner);
    if (x == NULL) {
        json_decref(root);
        done(owner, oom_body, sizeof oom_body - 1);
        return NULL;
    }
    if (code != 0) {
        json_decref(root);
        x->next = 1;
        call_error(&x->calls[0], code, "%s", why);
        return exchange_release(x) ? NULL : x;
    }
    x->root = root;
    return exchange_dispatch(x) ? NULL : x;
}

rpc_exchange *rpc_exchange_start(const rpc_dispatch *d, const char *body, size_t len,
                                 rpc_exchange_done_fn done, void *owner) {
    return rpc_exchange_start_bounded(d, NULL, body, len, done, owner);
}
