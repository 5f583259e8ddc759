/* HTTP/1.1 request reader over http-parser 2.9.
 *
 * The parser is paused after each request head (to check its bounds before a
 * single body byte is buffered) and after each whole request (so pipelined
 * requests are answered one at a time, in order). Bytes of a head are counted
 * by feeding the parser at most one byte more than the head may still take. */
#include "rpc/rpc_internal.h"

#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Where the parser stopped: the callbacks set it before pausing. */
enum { STAGE_NONE = 0, STAGE_HEAD = 1, STAGE_MESSAGE = 2 };

/* A body buffer grown beyond this is released between requests, so an idle
 * keep-alive connection does not hold a large allocation. */
#define BODY_KEEP_BYTES (64u * 1024u)

static rpc_http *reader_of(http_parser *p) { return (rpc_http *)p->data; }

static void token_append(char *dst, size_t *dst_len, const char *at, size_t len) {
    size_t room = RPC_HTTP_TOKEN_MAX - *dst_len;
    /* A token longer than any we look for only needs to stay unequal to them:
     * keep its prefix and mark it with an impossible byte. */
    if (len > room) {
        memcpy(dst + *dst_len, at, room);
        *dst_len = RPC_HTTP_TOKEN_MAX;
        dst[RPC_HTTP_TOKEN_MAX - 1] = '\n';
    } else {
        memcpy(dst + *dst_len, at, len);
        *dst_len += len;
    }
    dst[*dst_len] = '\0';
}

static void header_finish(rpc_http *h) {
    if (strcasecmp(h->field, "expect") == 0) {
        if (strcasecmp(h->value, "100-continue") == 0) {
            h->expect_continue = true;
        } else {
            h->expect_unknown = true;
        }
    }
    h->field_len = 0;
    h->field[0] = '\0';
    h->value_len = 0;
    h->value[0] = '\0';
    h->in_value = false;
}

static int on_url(http_parser *p, const char *at, size_t len) {
    rpc_http *h = reader_of(p);
    size_t room = RPC_HTTP_PATH_MAX - h->path_len;
    if (len > room) {
        len = room;
        h->path_long = true;
    }
    memcpy(h->path + h->path_len, at, len);
    h->path_len += len;
    h->path[h->path_len] = '\0';
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len) {
    rpc_http *h = reader_of(p);
    if (h->in_value) header_finish(h);
    token_append(h->field, &h->field_len, at, len);
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len) {
    rpc_http *h = reader_of(p);
    h->in_value = true;
    token_append(h->value, &h->value_len, at, len);
    return 0;
}

static int on_headers_complete(http_parser *p) {
    rpc_http *h = reader_of(p);
    if (h->in_value) header_finish(h);
    h->stage = STAGE_HEAD;
    http_parser_pause(p, 1);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len) {
    rpc_http *h = reader_of(p);
    /* The parser never passes more than Content-Length bytes, and that was
     * checked against the bound when the head completed. */
    assert(h->body.len + len <= GZ_RPC_BODY_BYTES_MAX);
    if (gz_buf_append(&h->body, at, len) != GZ_OK) {
        h->err_status = 503;
        h->err_reason = "out of memory for the request body";
        return 1;
    }
    return 0;
}

static int on_message_complete(http_parser *p) {
    rpc_http *h = reader_of(p);
    h->stage = STAGE_MESSAGE;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings parser_settings = {
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void request_reset(rpc_http *h) {
    h->head_bytes = 0;
    h->stage = STAGE_NONE;
    h->head_done = false;
    h->msg_done = false;
    h->in_value = false;
    h->path_len = 0;
    h->path[0] = '\0';
    h->path_long = false;
    h->field_len = 0;
    h->field[0] = '\0';
    h->value_len = 0;
    h->value[0] = '\0';
    h->expect_continue = false;
    h->expect_unknown = false;
    if (h->body.cap > BODY_KEEP_BYTES) {
        gz_buf_free(&h->body);
    } else {
        gz_buf_reset(&h->body);
    }
    h->body_len = 0;
    h->method = 0;
    h->keep_alive = false;
    h->http10 = false;
}

void rpc_http_init(rpc_http *h) {
    memset(h, 0, sizeof *h);
    http_parser_init(&h->parser, HTTP_REQUEST);
    h->parser.data = h;
    gz_buf_init(&h->in);
    gz_buf_init(&h->body);
    request_reset(h);
}

void rpc_http_free(rpc_http *h) {
    gz_buf_free(&h->in);
    gz_buf_free(&h->body);
}

int rpc_http_feed(rpc_http *h, const void *data, size_t len) {
    /* Parsed bytes are dropped first so the buffer only holds unparsed input. */
    if (h->in_off > 0) {
        size_t rest = h->in.len - h->in_off;
        memmove(h->in.data, h->in.data + h->in_off, rest);
        h->in.len = rest;
        h->in_off = 0;
    }
    return gz_buf_append(&h->in, data, len);
}

static rpc_http_event fail(rpc_http *h, int status, const char *reason) {
    h->failed = true;
    h->err_status = status;
    h->err_reason = reason;
    return RPC_HTTP_ERROR;
}

/* Judges a complete head before any of its body is buffered. */
static rpc_http_event head_check(rpc_http *h) {
    const http_parser *p = &h->parser;
    h->head_done = true;
    h->method = (int)p->method;
    h->http10 = p->http_major == 1 && p->http_minor == 0;
    /* The parser paused on the head's last byte (its final LF), unconsumed. */
    if (h->head_bytes + 1 > GZ_RPC_HEAD_BYTES_MAX) {
        return fail(h, 431, "request head too large");
    }
    if (p->http_major != 1) return fail(h, 505, "only HTTP/1.x is spoken here");
    if (p->flags & F_CHUNKED) {
        return fail(h, 411, "chunked bodies are not accepted: send Content-Length");
    }
    bool has_length = (p->flags & F_CONTENTLENGTH) != 0;
    if (p->method == HTTP_POST && !has_length) {
        return fail(h, 411, "POST needs a Content-Length header");
    }
    if (has_length && p->content_length > GZ_RPC_BODY_BYTES_MAX) {
        return fail(h, 413, "request body too large");
    }
    h->body_len = has_length ? p->content_length : 0;
    if (h->expect_unknown && !h->http10) {
        return fail(h, 417, "only Expect: 100-continue is understood");
    }
    if (h->expect_continue && !h->http10 && has_length && p->content_length > 0) {
        return RPC_HTTP_CONTINUE;
    }
    return RPC_HTTP_MORE;
}

static rpc_http_event parser_error(rpc_http *h) {
    enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
    if (e == HPE_CB_body && h->err_status != 0) {
        return fail(h, h->err_status, h->err_reason);
    }
    if (e == HPE_HEADER_OVERFLOW) return fail(h, 431, "request head too large");
    return fail(h, 400, http_errno_description(e));
}

/* Runs the parser over buffered input once; sets *ev when an event is due. */
static bool parse_step(rpc_http *h, rpc_http_event *ev) {
    size_t avail = h->in.len - h->in_off;
    bool in_head = !h->head_done;
    if (in_head) {
        assert(h->head_bytes <= GZ_RPC_HEAD_BYTES_MAX);
        size_t room = GZ_RPC_HEAD_BYTES_MAX + 1 - h->head_bytes;
        if (avail > room) avail = room;
    }
    h->stage = STAGE_NONE;
    size_t n = http_parser_execute(&h->parser, &parser_settings,
                                   (const char *)h->in.data + h->in_off, avail);
    assert(n <= avail);
    h->in_off += n;
    if (in_head) h->head_bytes += n;
    enum http_errno e = HTTP_PARSER_ERRNO(&h->parser);
    if (e != HPE_OK && e != HPE_PAUSED) {
        *ev = parser_error(h);
        return true;
    }
    if (e == HPE_PAUSED) {
        http_parser_pause(&h->parser, 0);
        if (h->stage == STAGE_MESSAGE) {
            h->msg_done = true;
            /* After an upgrade the rest of the stream is another protocol. */
            h->keep_alive = http_should_keep_alive(&h->parser) && !h->parser.upgrade;
            *ev = RPC_HTTP_REQUEST;
            return true;
        }
        assert(h->stage == STAGE_HEAD);
        *ev = head_check(h);
        return *ev != RPC_HTTP_MORE;
    }
    if (in_head && h->head_bytes > GZ_RPC_HEAD_BYTES_MAX) {
        *ev = fail(h, 431, "request head too large");
        return true;
    }
    /* Without a pause or an error the parser takes every byte; anything else
     * would make the caller spin. */
    if (n < avail) {
        *ev = fail(h, 400, "unparsable request");
        return true;
    }
    return false;
}

rpc_http_event rpc_http_next(rpc_http *h) {
    if (h->failed) return RPC_HTTP_ERROR;
    if (h->msg_done) request_reset(h);
    while (h->in_off < h->in.len) {
        rpc_http_event ev = RPC_HTTP_MORE;
        if (parse_step(h, &ev)) return ev;
    }
    return RPC_HTTP_MORE;
}
