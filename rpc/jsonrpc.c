/* JSON-RPC 2.0: parse one request body, validate and dispatch its calls, and
 * collect their replies (possibly late) into one response body.
 *
 * An exchange owns one rpc_call per entry of the request (one for a single
 * request). It counts the calls still to reply, plus one while dispatching, so
 * a handler that replies at once never frees the exchange under the dispatch
 * loop. Once the count reaches zero the response is serialized, handed to the
 * owner (unless detached) and the exchange frees itself. */
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

struct rpc_exchange {
    rpc_exchange_done_fn done;  /* NULL once detached */
    void *owner;
    size_t pending;             /* calls yet to reply, +1 while dispatching */
    size_t n;
    bool batch;
    bool oom;                   /* a response could not be built */
    json_t **resp;              /* n slots; NULL = nothing to answer */
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

static json_t *response_collect(rpc_exchange *x) {
    if (!x->batch) return x->resp[0] ? json_incref(x->resp[0]) : NULL;
    json_t *arr = NULL;
    for (size_t i = 0; i < x->n; i++) {
        if (x->resp[i] == NULL) continue;
        if (arr == NULL && (arr = json_array()) == NULL) {
            x->oom = true;
            return NULL;
        }
        if (json_array_append(arr, x->resp[i]) != 0) x->oom = true;
    }
    return arr;
}

/* Serializes root into done's hands, bounded by GZ_RPC_RESPONSE_BYTES_MAX. */
static void response_send(rpc_exchange *x, json_t *root) {
    size_t need = json_dumpb(root, NULL, 0, JSON_COMPACT);
    if (need > GZ_RPC_RESPONSE_BYTES_MAX) {
        char text[RPC_ERRMSG_MAX];
        snprintf(text, sizeof text, "internal error: response of %zu bytes exceeds %u",
                 need, (unsigned)GZ_RPC_RESPONSE_BYTES_MAX);
        json_t *r = response_object(NULL, "error", error_object(RPC_INTERNAL_ERROR, text));
        if (r == NULL) {
            x->done(x->owner, oom_body, sizeof oom_body - 1);
        } else {
            response_send(x, r);
            json_decref(r);
        }
        return;
    }
    char *buf = need > 0 ? malloc(need) : NULL;
    if (buf == NULL || json_dumpb(root, buf, need, JSON_COMPACT) != need) {
        x->done(x->owner, oom_body, sizeof oom_body - 1);
    } else {
        x->done(x->owner, buf, need);
    }
    free(buf);
}

static void exchange_finish(rpc_exchange *x) {
    if (x->done != NULL) {
        json_t *root = response_collect(x);
        if (x->oom) {
            x->done(x->owner, oom_body, sizeof oom_body - 1);
        } else if (root == NULL) {
            x->done(x->owner, NULL, 0);
        } else {
            response_send(x, root);
        }
        json_decref(root);
    }
    for (size_t i = 0; i < x->n; i++) {
        json_decref(x->resp[i]);
        json_decref(x->calls[i].id);
    }
    free(x);
}

/* Drops one reference; returns true if that completed and freed x. */
static bool exchange_release(rpc_exchange *x) {
    assert(x->pending > 0);
    if (--x->pending > 0) return false;
    exchange_finish(x);
    return true;
}

/* Records call's answer (val stolen) under key "result" or "error". */
static void call_finish(rpc_call *c, const char *key, json_t *val) {
    assert(!c->replied);
    c->replied = true;
    rpc_exchange *x = c->x;
    if (c->notify || x->done == NULL) {
        json_decref(val);
    } else {
        assert(x->resp[c->slot] == NULL);
        x->resp[c->slot] = response_object(c->id, key, val);
        if (x->resp[c->slot] == NULL) x->oom = true;
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

void rpc_exchange_detach(rpc_exchange *x) {
    assert(x != NULL);
    x->done = NULL;
    x->owner = NULL;
}

static rpc_exchange *exchange_new(size_t n, bool batch, rpc_exchange_done_fn done,
                                  void *owner) {
    assert(n >= 1);
    assert(n <= GZ_RPC_BATCH_MAX);
    size_t bytes = sizeof(rpc_exchange) + n * sizeof(json_t *) + n * sizeof(rpc_call);
    rpc_exchange *x = calloc(1, bytes);
    if (x == NULL) return NULL;
    x->done = done;
    x->owner = owner;
    x->n = n;
    x->batch = batch;
    x->pending = n + 1;
    x->resp = (json_t **)(x + 1);
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

static void dispatch_one(const rpc_dispatch *d, rpc_call *c, json_t *req) {
    if (!json_is_object(req)) {
        call_error(c, RPC_INVALID_REQUEST, "request: expected an object");
        return;
    }
    json_t *id = json_object_get(req, "id");
    if (id == NULL) {
        c->notify = true;
    } else if (json_is_string(id) || json_is_integer(id) || json_is_null(id)) {
        c->id = json_incref(id);
    } else {
        call_error(c, RPC_INVALID_REQUEST, "id: expected a string, an integer or null");
        return;
    }
    char why[RPC_ERRMSG_MAX];
    if (!request_valid(req, why, sizeof why)) {
        /* An invalid request is answered even without an id, as JSON-RPC 2.0
         * answers "[1]" with an error whose id is null. */
        c->notify = false;
        call_error(c, RPC_INVALID_REQUEST, "%s", why);
        return;
    }
    const char *name = json_string_value(json_object_get(req, "method"));
    const rpc_method *m = method_find(d, name);
    if (m == NULL) {
        call_error(c, RPC_METHOD_NOT_FOUND, "method: no such method \"%.64s\"", name);
        return;
    }
    c->method = m->name;
    json_t *params = params_prepare(c, m, json_object_get(req, "params"));
    if (params == NULL) return;
    m->handler(d->ctx, params, c);
    json_decref(params);
}

/* Parses body; returns 0 with *root, or a JSON-RPC error code with why. */
static int body_parse(const char *body, size_t len, json_t **root, char *why,
                      size_t why_len) {
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
    if (!json_is_array(*root)) return 0;
    size_t k = json_array_size(*root);
    if (k == 0) {
        snprintf(why, why_len, "request: empty batch");
        return RPC_INVALID_REQUEST;
    }
    if (k > GZ_RPC_BATCH_MAX) {
        snprintf(why, why_len, "request: batch of %zu calls exceeds %d", k, GZ_RPC_BATCH_MAX);
        return RPC_INVALID_REQUEST;
    }
    return 0;
}

rpc_exchange *rpc_exchange_start(const rpc_dispatch *d, const char *body, size_t len,
                                 rpc_exchange_done_fn done, void *owner) {
    assert(d != NULL);
    assert(done != NULL);
    char why[RPC_ERRMSG_MAX];
    json_t *root = NULL;
    int code = body_parse(body, len, &root, why, sizeof why);
    bool batch = code == 0 && json_is_array(root);
    size_t n = batch ? json_array_size(root) : 1;
    rpc_exchange *x = exchange_new(n, batch, done, owner);
    if (x == NULL) {
        json_decref(root);
        done(owner, oom_body, sizeof oom_body - 1);
        return NULL;
    }
    if (code != 0) {
        call_error(&x->calls[0], code, "%s", why);
    } else {
        for (size_t i = 0; i < n; i++) {
            dispatch_one(d, &x->calls[i], batch ? json_array_get(root, i) : root);
        }
    }
    json_decref(root);
    return exchange_release(x) ? NULL : x;
}
