/* The peer-to-peer transport: connections, handshake, framing, dialers.
 *
 * Ownership: a p2p_conn owns two libuv handles (its socket and its handshake
 * timer) and is freed when both have closed, so a conn dropped inside a
 * callback stays valid until the loop runs its close callbacks. Every handle
 * and request still open is counted in p->pending; p2p_close completes when
 * the count reaches zero. */
#include "p2p/p2p.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "core/bytes.h"
#include "core/keys.h"
#include "core/mp.h"
#include "p2p/p2p_crypto.h"
#include "p2p/p2p_wire.h"

/* One read hands us at most this much; frames are assembled per connection. */
#define P2P_READ_CHUNK ((size_t)64 * 1024)
/* A frame buffer larger than this is released after its frame, so a peer that
 * once sent a block does not pin megabytes while idle. */
#define P2P_BODY_KEEP_BYTES ((size_t)64 * 1024)
/* Pending TCP connections the kernel may hold for us. */
#define P2P_LISTEN_BACKLOG 128
/* TCP keepalive probes start after this much silence, so a vanished host is
 * noticed even when we have nothing to send to it. */
#define P2P_KEEPALIVE_S 30u
/* The most keys an allow-list may hold: the validators and the full nodes. */
#define P2P_ALLOW_MAX (GZ_VALIDATORS_MAX + GZ_PEERS_MAX)
/* Plaintext encrypted per write handed to libuv, and writes in flight per
 * connection: a peer that does not read holds at most this much ciphertext,
 * however large the frames queued to it (shared with other peers) are. */
#define P2P_SEAL_CHUNK ((size_t)128 * 1024)
#define P2P_WRITES_IN_FLIGHT 2
/* The smallest send-queue bound accepted (a few handshake frames fit). */
#define P2P_SENDQ_BYTES_MIN 4096u
_Static_assert(P2P_SENDQ_BYTES_MIN >= 2u * (P2P_LEN_BYTES + GZ_HANDSHAKE_FRAME_BYTES_MAX),
               "our HELLO and AUTH frames fit in a send queue of the smallest bound");

typedef struct p2p_dialer p2p_dialer;

typedef struct p2p_conn {
    p2p *p;
    struct p2p_conn *next;
    struct p2p_conn *prev;
    p2p_dialer *dialer; /* the dialer this outbound attempt belongs to, or NULL */
    uv_tcp_t tcp;
    uv_timer_t timer; /* connect + handshake deadline */
    uv_connect_t connect_req;
    int handles_open;
    int id;         /* assigned when the peer comes up */
    bool inbound;   /* accepted, and counted in p->inbound_n */
    bool connected; /* TCP established and reading */
    bool hello_rx;
    bool authed; /* the peer's AUTH verified */
    bool up;
    bool closing;
    bool rx_keyed;      /* frames from the peer are encrypted (after its AUTH) */
    p2p_peer_class cls; /* set at HELLO */
    uint64_t seq;       /* when accepted or dialled, for "oldest" */
    uint8_t pubkey[32]; /* claimed in HELLO; proven once authed */
    uint8_t my_challenge[32];
    uint8_t their_challenge[32];
    uint8_t eph_sk[32]; /* this connection's X25519 secret, wiped once used */
    uint8_t eph_pk[32];
    uint8_t their_eph[32];
    uint8_t key_tx[32];
    uint8_t key_rx[32];
    uint64_t ctr_tx;
    uint64_t ctr_rx;
    p2p_sealer sealer;
    struct p2p_qent *q_head; /* frames queued and not yet fully encrypted */
    struct p2p_qent *q_tail;
    size_t q_off;       /* bytes of the head frame already encrypted */
    size_t sendq_bytes; /* queued plaintext left plus ciphertext in flight */
    int in_flight;
    char ip[64];
    char addr[P2P_ADDR_MAX + 1];
    char reason[200];
    uint8_t head[P2P_LEN_BYTES];
    size_t head_have;
    uint8_t *body;
    size_t body_cap;
    size_t body_len;
    size_t body_have;
} p2p_conn;

struct p2p_dialer {
    p2p *p;
    char host[P2P_HOST_MAX + 1];
    uint16_t port;
    char addr[P2P_ADDR_MAX + 1];
    uv_timer_t timer;
    uv_getaddrinfo_t gai;
    bool resolving;
    p2p_conn *conn; /* the current attempt or connection */
    uint32_t backoff_ms;
    unsigned failures; /* consecutive attempts that never authenticated */
    bool key_known;    /* pubkey is the key this address proved */
    bool disabled;     /* the address is this node itself */
    uint8_t pubkey[32];
};

/* One frame body in plaintext, shared by every peer a broadcast queues it
 * to; each connection encrypts it as the socket drains. */
typedef struct p2p_frame {
    p2p *p;
    size_t refs;
    size_t len;
    uint8_t data[];
} p2p_frame;

typedef struct p2p_qent {
    struct p2p_qent *next;
    p2p_frame *f;
} p2p_qent;

/* One write handed to libuv, owning its bytes. */
typedef struct p2p_wreq {
    uv_write_t req;
    p2p_conn *c;
    size_t len;
    bool counted; /* in c->sendq_bytes and p->held_bytes */
    uint8_t data[];
} p2p_wreq;

static void conn_drop(p2p_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dialer_after_drop(p2p_dialer *d, bool was_up);
static void dialer_note_failure(p2p_dialer *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- small helpers ---- */

static void plog(p2p *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plog(p2p *p, const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (p->cb.on_log != NULL)
        p->cb.on_log(p->ctx, line);
    else
        fprintf(stderr, "p2p: %s\n", line);
}

/* Copies a string a peer sent into out for a log line, replacing anything but
 * printable ASCII so a peer cannot forge extra log lines. */
static void printable(char *out, size_t out_size, const char *s) {
    size_t i = 0;
    assert(out_size > 0);
    for (; s[i] != '\0' && i + 1 < out_size; i++) {
        out[i] = s[i];
        if (s[i] < 0x20 || s[i] >= 0x7f) out[i] = '?';
    }
    out[i] = '\0';
}

static uint64_t rng_next(p2p *p) {
    uint64_t x = p->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    p->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static void addr_format(char out[P2P_ADDR_MAX + 1], const char *host, uint16_t port) {
    const char *fmt = strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u";
    snprintf(out, P2P_ADDR_MAX + 1, fmt, host, (unsigned)port);
}

/* Splits "host:port" or "[v6]:port" into host and a port in 1..65535. */
static bool addr_split(const char *s, char host[P2P_HOST_MAX + 1], uint16_t *port) {
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t hlen;
    if (colon == NULL) return false;
    if (s[0] == '[') {
        h = s + 1;
        if (colon == s || colon[-1] != ']') return false;
        hlen = (size_t)(colon - 1 - h);
    } else {
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen) != NULL) return false;
    }
    if (hlen == 0 || hlen > P2P_HOST_MAX) return false;
    const char *d = colon + 1;
    unsigned long v = 0;
    if (*d == '\0' || strlen(d) > 5) return false;
    for (; *d != '\0'; d++) {
        if (*d < '0' || *d > '9') return false;
        v = v * 10 + (unsigned long)(*d - '0');
    }
    if (v == 0 || v > 65535) return false;
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)v;
    return true;
}

static bool addr_parse_ip(const char *host, uint16_t port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) return true;
    return uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0;
}

static bool key_allowed(const p2p *p, const uint8_t key[32]) {
    if (p->allow_n == 0) return true;
    for (size_t i = 0; i < p->allow_n; i++)
        if (memcmp(p->allow[i], key, 32) == 0) return true;
    return false;
}

static p2p_conn *conn_up_by_id(const p2p *p, int id) {
    for (p2p_conn *c = p->conns; c != NULL; c = c->next)
        if (c->up && c->id == id) return c;
    return NULL;
}

static p2p_conn *conn_up_by_key(const p2p *p, const uint8_t key[32]) {
    for (p2p_conn *c = p->conns; c != NULL; c = c->next)
        if (c->up && memcmp(c->pubkey, key, 32) == 0) return c;
    return NULL;
}

/* ---- close accounting ---- */

static void p2p_finish(p2p *p) {
    for (size_t i = 0; i < p->dialers_n; i++) assert(p->dialers[i].conn == NULL);
    assert(p->conns == NULL);
    free(p->dialers);
    free(p->allow);
    free(p->rbuf);
    p->dialers = NULL;
    p->allow = NULL;
    p->rbuf = NULL;
    explicit_bzero(p->seckey, sizeof p->seckey);
    if (p->close_cb != NULL) p->close_cb(p);
}

static void pending_done(p2p *p) {
    assert(p->pending > 0);
    p->pending--;
    if (p->closing && p->pending == 0) p2p_finish(p);
}

static void own_handle_closed(uv_handle_t *h) { pending_done((p2p *)h->data); }

static void dialer_timer_closed(uv_handle_t *h) { pending_done(((p2p_dialer *)h->data)->p); }

/* ---- frames and writes ---- */

static p2p_frame *frame_new(p2p *p, uint8_t type, const uint8_t *payload, size_t len) {
    assert(len <= P2P_PAYLOAD_BYTES_MAX);
    uint8_t head[P2P_FRAME_HEAD_MAX];
    size_t head_len = p2p_frame_head(head, type, len) - P2P_LEN_BYTES;
    p2p_frame *f = malloc(sizeof *f + head_len + len);
    if (f == NULL) return NULL;
    f->p = p;
    f->refs = 1;
    f->len = head_len + len;
    memcpy(f->data, head + P2P_LEN_BYTES, head_len);
    if (len > 0) memcpy(f->data + head_len, payload, len);
    p->held_bytes += f->len;
    return f;
}

static void frame_unref(p2p_frame *f) {
    assert(f->refs > 0);
    if (--f->refs > 0) return;
    assert(f->p->held_bytes >= f->len);
    f->p->held_bytes -= f->len;
    free(f);
}

static void conn_pump(p2p_conn *c);

static void write_done(uv_write_t *req, int status) {
    p2p_wreq *w = req->data;
    p2p_conn *c = w->c;
    if (w->counted) {
        assert(c->sendq_bytes >= w->len && c->p->held_bytes >= w->len && c->in_flight > 0);
        c->sendq_bytes -= w->len;
        c->p->held_bytes -= w->len;
        c->in_flight--;
    }
    free(w);
    if (status < 0 && status != UV_ECANCELED)
        conn_drop(c, "write failed: %s", uv_strerror(status));
    else if (!c->closing)
        conn_pump(c);
}

static GZ_WUR int conn_uv_write(p2p_conn *c, p2p_wreq *w) {
    w->c = c;
    w->req.data = w;
    uv_buf_t buf = uv_buf_init((char *)w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &buf, 1, write_done);
    if (rc < 0) {
        if (w->counted) {
            c->sendq_bytes -= w->len;
            c->p->held_bytes -= w->len;
            c->in_flight--;
        }
        free(w);
        conn_drop(c, "write failed: %s", uv_strerror(rc));
        return GZ_EIO;
    }
    return GZ_OK;
}

/* A handshake frame (HELLO or AUTH), in plaintext, straight to libuv: it is
 * written before any encrypted frame, and libuv keeps the order. */
static GZ_WUR int conn_send_plain(p2p_conn *c, uint8_t type, const uint8_t *payload, size_t len) {
    uint8_t head[P2P_FRAME_HEAD_MAX];
    size_t hl = p2p_frame_head(head, type, len);
    p2p_wreq *w = malloc(sizeof *w + hl + len);
    if (w == NULL) return GZ_ENOMEM;
    memcpy(w->data, head, hl);
    memcpy(w->data + hl, payload, len);
    w->len = hl + len;
    w->counted = false;
    return conn_uv_write(c, w);
}

/* Encrypts the next piece of the head frame into one write: its length
 * prefix first, its tag last. */
static GZ_WUR int conn_seal_piece(p2p_conn *c) {
    p2p_frame *f = c->q_head->f;
    size_t n = f->len - c->q_off;
    if (n > P2P_SEAL_CHUNK) n = P2P_SEAL_CHUNK;
    bool first = c->q_off == 0, last = c->q_off + n == f->len;
    p2p_wreq *w = malloc(sizeof *w + P2P_LEN_BYTES + n + P2P_TAG_BYTES);
    if (w == NULL) return GZ_ENOMEM;
    size_t at = first ? P2P_LEN_BYTES : 0;
    int rc = first ? p2p_sealer_begin(&c->sealer, w->data, c->key_tx, c->ctr_tx, f->len) : GZ_OK;
    if (rc == GZ_OK) rc = p2p_sealer_update(&c->sealer, w->data + at, f->data + c->q_off, n);
    at += n;
    if (rc == GZ_OK && last) rc = p2p_sealer_end(&c->sealer, w->data + at);
    if (last) at += P2P_TAG_BYTES;
    if (rc != GZ_OK) {
        free(w);
        return rc;
    }
    w->len = at;
    w->counted = true;
    c->q_off += n;
    c->sendq_bytes = c->sendq_bytes - n + at;
    c->p->held_bytes += at;
    c->in_flight++;
    if (last) {
        p2p_qent *e = c->q_head;
        c->q_head = e->next;
        if (c->q_head == NULL) c->q_tail = NULL;
        c->q_off = 0;
        c->ctr_tx++;
        frame_unref(e->f);
        free(e);
    }
    return conn_uv_write(c, w);
}

/* Hands queued frames to libuv, a bounded piece at a time. */
static void conn_pump(p2p_conn *c) {
    while (!c->closing && c->q_head != NULL && c->in_flight < P2P_WRITES_IN_FLIGHT) {
        int rc = conn_seal_piece(c);
        if (rc == GZ_ENOMEM) conn_drop(c, "out of memory encrypting a frame");
        if (rc != GZ_OK) return;
    }
}

static void conn_queue_free(p2p_conn *c) {
    while (c->q_head != NULL) {
        p2p_qent *e = c->q_head;
        c->q_head = e->next;
        c->sendq_bytes -= e->f->len - c->q_off;
        c->q_off = 0;
        frame_unref(e->f);
        free(e);
    }
    c->q_tail = NULL;
}

/* Past the budget of all queues together, the peer holding the most is
 * dropped, until the node is back within it. */
static void total_budget_enforce(p2p *p) {
    while (p->held_bytes > p->sendq_total_bytes_max) {
        p2p_conn *worst = NULL;
        for (p2p_conn *c = p->conns; c != NULL; c = c->next)
            if (!c->closing && c->q_head != NULL && (worst == NULL || c->sendq_bytes > worst->sendq_bytes))
                worst = c;
        if (worst == NULL) return;
        conn_drop(worst, "send budget of all peers (%zu bytes) exhausted: peer holds the most (%zu bytes queued)",
                  p->sendq_total_bytes_max, worst->sendq_bytes);
    }
}

/* Queues f on c. A frame is always accepted into an empty queue (a largest
 * block goes out); past the per-peer bound the peer is too slow and dropped. */
static GZ_WUR int conn_write(p2p_conn *c, p2p_frame *f) {
    p2p *p = c->p;
    assert(!c->closing && c->up);
    if (c->sendq_bytes > 0 && (f->len > p->sendq_bytes_max || c->sendq_bytes > p->sendq_bytes_max - f->len)) {
        conn_drop(c, "send queue would hold %zu bytes (limit %zu): peer too slow", c->sendq_bytes + f->len,
                  p->sendq_bytes_max);
        return GZ_ELIMIT;
    }
    p2p_qent *e = malloc(sizeof *e);
    if (e == NULL) return GZ_ENOMEM;
    e->next = NULL;
    e->f = f;
    f->refs++;
    if (c->q_tail != NULL)
        c->q_tail->next = e;
    else
        c->q_head = e;
    c->q_tail = e;
    c->sendq_bytes += f->len;
    conn_pump(c);
    total_budget_enforce(p);
    if (c->closing) return GZ_ELIMIT;
    return GZ_OK;
}

static GZ_WUR int conn_send(p2p_conn *c, uint8_t type, const uint8_t *payload, size_t len) {
    p2p_frame *f = frame_new(c->p, type, payload, len);
    if (f == NULL) return GZ_ENOMEM;
    int rc = conn_write(c, f);
    frame_unref(f);
    return rc;
}

/* ---- connection lifecycle ---- */

static void conn_handle_closed(uv_handle_t *h) {
    p2p_conn *c = h->data;
    assert(c->handles_open > 0);
    if (--c->handles_open > 0) return;
    p2p *p = c->p;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        p->conns = c->next;
    if (c->next != NULL) c->next->prev = c->prev;
    free(c->body);
    p2p_sealer_free(&c->sealer);
    explicit_bzero(c, sizeof *c);
    free(c);
    pending_done(p);
}

static void conn_timeout(uv_timer_t *t) {
    p2p_conn *c = t->data;
    if (c->connected)
        conn_drop(c, "handshake timed out after %u ms", (unsigned)c->p->handshake_timeout_ms);
    else
        conn_drop(c, "connect timed out after %u ms", (unsigned)c->p->handshake_timeout_ms);
}

/* A new connection with both handles open and its deadline running. */
static p2p_conn *conn_new(p2p *p) {
    p2p_conn *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    if (p2p_sealer_init(&c->sealer) != GZ_OK) {
        free(c);
        return NULL;
    }
    if (uv_tcp_init(p->loop, &c->tcp) < 0) {
        p2p_sealer_free(&c->sealer);
        free(c);
        return NULL;
    }
    c->seq = ++p->seq;
    int rc = uv_timer_init(p->loop, &c->timer);
    assert(rc == 0); /* libuv documents that timer init cannot fail */
    (void)rc;
    c->p = p;
    c->tcp.data = c;
    c->timer.data = c;
    c->connect_req.data = c;
    c->handles_open = 2;
    c->next = p->conns;
    if (p->conns != NULL) p->conns->prev = c;
    p->conns = c;
    p->pending++;
    rc = uv_timer_start(&c->timer, conn_timeout, p->handshake_timeout_ms, 0);
    assert(rc == 0);
    return c;
}

/* Whether to log the drop of c: always, except repeated failures of one
 * dialer to reach a peer that is down, which would fill the log every few
 * seconds; the first failure of each outage is logged. */
static bool conn_drop_logged(p2p_conn *c, p2p_dialer *d) {
    if (c->p->closing) return false;
    if (d == NULL || c->authed) return true;
    d->failures++;
    return d->failures == 1;
}

/* Closes c, logs why, tells its dialer, and reports the peer down if it was up.
 * Safe to call more than once and from any callback. */
static void conn_drop(p2p_conn *c, const char *fmt, ...) {
    if (c->closing) return;
    p2p *p = c->p;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->reason, sizeof c->reason, fmt, ap);
    va_end(ap);
    c->closing = true;
    bool was_up = c->up;
    if (was_up) {
        assert(p->up_n > 0);
        p->up_n--;
        c->up = false;
    }
    if (c->inbound) {
        assert(p->inbound_n > 0);
        p->inbound_n--;
    }
    p2p_dialer *d = c->dialer;
    c->dialer = NULL;
    conn_queue_free(c);
    explicit_bzero(c->eph_sk, sizeof c->eph_sk);
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
    if (conn_drop_logged(c, d)) plog(p, "peer %s dropped: %s", c->addr, c->reason);
    if (d != NULL) {
        assert(d->conn == c);
        d->conn = NULL;
        dialer_after_drop(d, was_up);
    }
    if (was_up && !p->closing && p->cb.on_peer_down != NULL)
        p->cb.on_peer_down(p->ctx, c->id, c->reason);
}

/* ---- handshake ---- */

static void conn_send_hello(p2p_conn *c) {
    p2p *p = c->p;
    if (getrandom(c->my_challenge, sizeof c->my_challenge, 0) != (ssize_t)sizeof c->my_challenge ||
        getrandom(c->eph_sk, sizeof c->eph_sk, 0) != (ssize_t)sizeof c->eph_sk) {
        conn_drop(c, "getrandom failed: %s", strerror(errno));
        return;
    }
    if (p2p_x25519_pub(c->eph_pk, c->eph_sk) != GZ_OK) {
        conn_drop(c, "cannot make an ephemeral key");
        return;
    }
    p2p_hello h;
    memset(&h, 0, sizeof h);
    h.version = P2P_VERSION;
    memcpy(h.chain_id, p->chain_id, p->chain_id_len + 1);
    memcpy(h.pubkey, p->pubkey, 32);
    memcpy(h.challenge, c->my_challenge, 32);
    memcpy(h.eph, c->eph_pk, 32);
    gz_buf b;
    gz_buf_init(&b);
    int rc = p2p_hello_encode(&b, &h);
    if (rc == GZ_OK) rc = conn_send_plain(c, P2P_MSG_HELLO, b.data, b.len);
    gz_buf_free(&b);
    if (rc == GZ_ENOMEM) conn_drop(c, "out of memory sending hello");
}

static void conn_send_auth(p2p_conn *c) {
    p2p *p = c->p;
    uint8_t digest[32];
    uint8_t sig[64];
    p2p_auth_digest(digest, c->their_challenge, c->their_eph, c->eph_pk, p->chain_id, p->chain_id_len,
                    p->pubkey);
    int rc = core_sign32(sig, p->seckey, digest, NULL);
    assert(rc == GZ_OK); /* p2p_init checked the secret key */
    gz_buf b;
    gz_buf_init(&b);
    rc = p2p_auth_encode(&b, sig);
    if (rc == GZ_OK) rc = conn_send_plain(c, P2P_MSG_AUTH, b.data, b.len);
    gz_buf_free(&b);
    if (rc == GZ_ENOMEM) conn_drop(c, "out of memory sending auth");
}

/* Both directions' keys from the X25519 secret and the handshake; they are
 * used only once the peer's AUTH has bound its ephemeral key to its key. */
static GZ_WUR int conn_derive_keys(p2p_conn *c) {
    p2p *p = c->p;
    uint8_t shared[32];
    if (memcmp(c->their_eph, c->eph_pk, 32) == 0) return GZ_EPROTO; /* a reflected HELLO */
    int rc = p2p_x25519_shared(shared, c->eph_sk, c->their_eph);
    explicit_bzero(c->eph_sk, sizeof c->eph_sk);
    if (rc != GZ_OK) return rc;
    p2p_side me, them;
    memcpy(me.pubkey, p->pubkey, 32);
    memcpy(me.challenge, c->my_challenge, 32);
    memcpy(me.eph, c->eph_pk, 32);
    memcpy(them.pubkey, c->pubkey, 32);
    memcpy(them.challenge, c->their_challenge, 32);
    memcpy(them.eph, c->their_eph, 32);
    p2p_session_key(c->key_tx, shared, &me, &them);
    p2p_session_key(c->key_rx, shared, &them, &me);
    explicit_bzero(shared, sizeof shared);
    return GZ_OK;
}

/* What a key is to this node, asked anew for every connection. A peer this
 * node dialled from its own list is at least ALLOWED: dialling out is the
 * operator's choice and is not limited. */
static p2p_peer_class key_class(const p2p_conn *c, const uint8_t key[32]) {
    const p2p *p = c->p;
    p2p_peer_class k;
    if (p->cb.classify != NULL)
        k = p->cb.classify(p->ctx, key);
    else if (p->allow_n > 0)
        k = key_allowed(p, key) ? P2P_PEER_ALLOWED : P2P_PEER_REFUSED;
    else
        k = P2P_PEER_OUTSIDER;
    if (c->dialer != NULL && k < P2P_PEER_ALLOWED) k = P2P_PEER_ALLOWED;
    return k;
}

static size_t up_outsiders(const p2p *p, const char *ip) {
    size_t n = 0;
    for (const p2p_conn *c = p->conns; c != NULL; c = c->next)
        if (c->up && c->cls == P2P_PEER_OUTSIDER && (ip == NULL || strcmp(c->ip, ip) == 0)) n++;
    return n;
}

/* Drops c if it is an outsider and no outsider slot is free for it. */
static bool outsider_refused(p2p_conn *c) {
    p2p *p = c->p;
    if (c->cls != P2P_PEER_OUTSIDER) return false;
    if (c->inbound && up_outsiders(p, c->ip) >= p->outsiders_per_ip_max) {
        conn_drop(c, "too many outsider peers from %s (limit %zu)", c->ip, p->outsiders_per_ip_max);
        return true;
    }
    if (up_outsiders(p, NULL) >= p->outsiders_max) {
        conn_drop(c, "outsider slots full (limit %zu)", p->outsiders_max);
        return true;
    }
    return false;
}

static void conn_on_hello(p2p_conn *c, const uint8_t *pl, size_t len) {
    p2p *p = c->p;
    p2p_hello h;
    gz_msg m;
    if (p2p_hello_decode(&h, pl, len, &m) != GZ_OK) {
        conn_drop(c, "bad hello: %s", m.text);
        return;
    }
    if (strlen(h.chain_id) != p->chain_id_len || memcmp(h.chain_id, p->chain_id, p->chain_id_len) != 0) {
        char theirs[GZ_CHAIN_ID_MAX + 1];
        printable(theirs, sizeof theirs, h.chain_id);
        conn_drop(c, "wrong chain id \"%s\" (this node is on \"%s\")", theirs, p->chain_id);
        return;
    }
    if (memcmp(h.pubkey, p->pubkey, 32) == 0) {
        if (c->dialer != NULL) c->dialer->disabled = true;
        conn_drop(c, "self-connection: the peer claims this node's own key");
        return;
    }
    c->cls = key_class(c, h.pubkey);
    if (c->cls == P2P_PEER_REFUSED) {
        char shown[2 * 32 + 1];
        gz_hex_encode(shown, h.pubkey, 32);
        conn_drop(c, "key %s is not in the allow-list", shown);
        return;
    }
    c->hello_rx = true;
    if (outsider_refused(c)) return;
    memcpy(c->pubkey, h.pubkey, 32);
    memcpy(c->their_challenge, h.challenge, 32);
    memcpy(c->their_eph, h.eph, 32);
    if (conn_derive_keys(c) != GZ_OK) {
        conn_drop(c, "bad hello: hello.eph: not a usable X25519 key");
        return;
    }
    conn_send_auth(c);
}

/* Of two connections to one key, which survives. Both sides must pick the same
 * one without talking: keep the one dialled by the lower key. When the same
 * side dialled both, the other end sees two inbound connections and the older
 * one is likely half-open (the dialler restarted), so the newer one wins.
 * Returns the reason to drop the loser with; sets *keep_new. */
static const char *dup_resolve(const p2p *p, const p2p_conn *old, const p2p_conn *neu,
                               bool *keep_new) {
    const uint8_t *dialled_old = old->inbound ? old->pubkey : p->pubkey;
    const uint8_t *dialled_new = neu->inbound ? neu->pubkey : p->pubkey;
    int cmp = memcmp(dialled_old, dialled_new, 32);
    *keep_new = cmp >= 0;
    if (cmp == 0) return "duplicate connection (replaced by a newer one from the same side)";
    return "duplicate connection (kept the one dialled by the lower key)";
}

void p2p_reclassify(p2p *p) {
    p2p_conn *next;
    for (p2p_conn *c = p->conns; c != NULL; c = next) {
        next = c->next; /* conn_drop may unlink c */
        if (!c->hello_rx || c->closing) continue;
        c->cls = key_class(c, c->pubkey);
        if (c->cls == P2P_PEER_REFUSED) conn_drop(c, "no longer a validator and not in the allow-list");
    }
}

/* The newest up peer of class k, the one a validator displaces first. */
static p2p_conn *newest_up(const p2p *p, p2p_peer_class k) {
    p2p_conn *best = NULL;
    for (p2p_conn *c = p->conns; c != NULL; c = c->next)
        if (c->up && c->cls == k && (best == NULL || c->seq > best->seq)) best = c;
    return best;
}

/* Whether c may come up. A validator always finds a slot: when every slot
 * is taken it displaces the newest outsider, else the newest allowed peer. */
static bool slot_take(p2p_conn *c) {
    p2p *p = c->p;
    if (outsider_refused(c)) return false;
    if (p->up_n < p->peers_max) return true;
    if (c->cls == P2P_PEER_VALIDATOR) {
        p2p_conn *v = newest_up(p, P2P_PEER_OUTSIDER);
        if (v == NULL) v = newest_up(p, P2P_PEER_ALLOWED);
        if (v != NULL) {
            char shown[2 * 32 + 1];
            gz_hex_encode(shown, c->pubkey, 32);
            conn_drop(v, "slot given to validator %s (all %zu slots taken)", shown, p->peers_max);
            return true;
        }
    }
    conn_drop(c, "too many peers (limit %zu)", p->peers_max);
    return false;
}

static void conn_complete(p2p_conn *c) {
    p2p *p = c->p;
    c->authed = true;
    uv_timer_stop(&c->timer);
    if (c->dialer != NULL) {
        p2p_dialer *d = c->dialer;
        memcpy(d->pubkey, c->pubkey, 32);
        d->key_known = true;
        d->failures = 0;
        d->backoff_ms = p->backoff_min_ms;
    }
    p2p_conn *old = conn_up_by_key(p, c->pubkey);
    if (old != NULL) {
        bool keep_new;
        const char *why = dup_resolve(p, old, c, &keep_new);
        conn_drop(keep_new ? old : c, "%s", why);
        if (c->closing || p->closing) return;
    }
    if (!slot_take(c)) return;
    c->up = true;
    p->up_n++;
    c->id = p->next_id;
    p->next_id = p->next_id == INT_MAX ? 1 : p->next_id + 1;
    if (p->cb.on_peer_up != NULL) p->cb.on_peer_up(p->ctx, c->id, c->pubkey);
}

static void conn_on_auth(p2p_conn *c, const uint8_t *pl, size_t len) {
    p2p *p = c->p;
    uint8_t sig[64];
    uint8_t digest[32];
    gz_msg m;
    if (p2p_auth_decode(sig, pl, len, &m) != GZ_OK) {
        conn_drop(c, "bad auth: %s", m.text);
        return;
    }
    p2p_auth_digest(digest, c->my_challenge, c->eph_pk, c->their_eph, p->chain_id, p->chain_id_len,
                    c->pubkey);
    if (!core_verify(sig, digest, sizeof digest, c->pubkey)) {
        char shown[2 * 32 + 1];
        gz_hex_encode(shown, c->pubkey, 32);
        conn_drop(c, "auth signature does not verify for key %s", shown);
        return;
    }
    /* Every later frame from the peer is encrypted, also those that came in
     * the same read as its AUTH. */
    c->rx_keyed = true;
    conn_complete(c);
}

static void conn_on_handshake_msg(p2p_conn *c, uint8_t type, const uint8_t *pl, size_t len) {
    if (!c->hello_rx && type == P2P_MSG_HELLO)
        conn_on_hello(c, pl, len);
    else if (c->hello_rx && type == P2P_MSG_AUTH)
        conn_on_auth(c, pl, len);
    else
        conn_drop(c, "message of type %u before the handshake completed", (unsigned)type);
}

/* ---- reading ---- */

/* An encrypted frame's body: authenticated against the next counter, or the
 * connection ends (a flipped bit, a replayed, reordered, dropped or cut frame). */
static GZ_WUR int conn_open_frame(p2p_conn *c, const uint8_t **body, size_t *len) {
    int rc = p2p_open(c->body, c->body_len - P2P_LEN_BYTES, c->key_rx, c->ctr_rx);
    if (rc == GZ_ENOMEM) conn_drop(c, "out of memory decrypting a frame");
    if (rc != GZ_OK && rc != GZ_ENOMEM)
        conn_drop(c, "frame %llu does not authenticate (tampered, replayed, reordered or truncated)",
                  (unsigned long long)c->ctr_rx);
    if (rc != GZ_OK) return rc;
    c->ctr_rx++;
    *body = c->body + P2P_LEN_BYTES;
    *len = c->body_len - P2P_LEN_BYTES - P2P_TAG_BYTES;
    return GZ_OK;
}

static void conn_on_frame(p2p_conn *c) {
    p2p *p = c->p;
    uint8_t type;
    const uint8_t *pl;
    size_t len;
    gz_msg m;
    const uint8_t *body = c->body;
    size_t body_len = c->body_len;
    if (c->rx_keyed && conn_open_frame(c, &body, &body_len) != GZ_OK) return;
    if (p2p_body_decode(body, body_len, &type, &pl, &len, &m) != GZ_OK) {
        conn_drop(c, "undecodable frame: %s", m.text);
        return;
    }
    if (!c->up)
        conn_on_handshake_msg(c, type, pl, len);
    else if (type < P2P_MSG_APP_MIN)
        conn_drop(c, "transport message of type %u after the handshake", (unsigned)type);
    else if (p->cb.on_message != NULL)
        p->cb.on_message(p->ctx, c->id, type, pl, len);
}

/* The length prefix is complete: check it against the bound for this stage
 * of the connection before allocating anything for the body. */
static GZ_WUR int conn_frame_begin(p2p_conn *c) {
    uint32_t len = p2p_frame_len(c->head);
    uint32_t limit = c->rx_keyed ? GZ_FRAME_BYTES_MAX + P2P_TAG_BYTES : GZ_HANDSHAKE_FRAME_BYTES_MAX;
    /* An encrypted frame keeps its length prefix in front of it: the AAD. */
    size_t pre = c->rx_keyed ? P2P_LEN_BYTES : 0;
    if (len == 0 || (c->rx_keyed && len <= P2P_TAG_BYTES)) {
        conn_drop(c, "empty frame");
        return GZ_EPROTO;
    }
    if (len > limit) {
        conn_drop(c, "frame of %u bytes exceeds limit of %u%s", (unsigned)len, (unsigned)limit,
                  c->rx_keyed ? "" : " before the handshake");
        return GZ_ELIMIT;
    }
    if (c->body_cap < pre + len) {
        free(c->body);
        c->body_cap = 0;
        c->body = malloc(pre + len);
        if (c->body == NULL) {
            conn_drop(c, "out of memory for a frame of %u bytes", (unsigned)len);
            return GZ_ENOMEM;
        }
        c->body_cap = pre + len;
    }
    memcpy(c->body, c->head, pre);
    c->body_len = pre + len;
    c->body_have = pre;
    return GZ_OK;
}

static void conn_frame_end(p2p_conn *c) {
    c->head_have = 0;
    conn_on_frame(c);
    if (c->body_cap > P2P_BODY_KEEP_BYTES) {
        free(c->body);
        c->body = NULL;
        c->body_cap = 0;
    }
}

/* Feeds received bytes through the frame assembler. Stops as soon as the
 * connection is dropped, which any frame's handler may do. */
static void conn_feed(p2p_conn *c, const uint8_t *in, size_t n) {
    while (n > 0 && !c->closing) {
        size_t take;
        if (c->head_have < P2P_LEN_BYTES) {
            take = P2P_LEN_BYTES - c->head_have;
            if (take > n) take = n;
            memcpy(c->head + c->head_have, in, take);
            c->head_have += take;
            if (c->head_have == P2P_LEN_BYTES && conn_frame_begin(c) != GZ_OK) return;
        } else {
            assert(c->body != NULL); /* conn_frame_begin allocated it */
            take = c->body_len - c->body_have;
            if (take > n) take = n;
            memcpy(c->body + c->body_have, in, take);
            c->body_have += take;
            if (c->body_have == c->body_len) conn_frame_end(c);
        }
        in += take;
        n -= take;
    }
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    p2p_conn *c = h->data;
    *buf = uv_buf_init((char *)c->p->rbuf, P2P_READ_CHUNK);
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    p2p_conn *c = s->data;
    if (nread == UV_EOF)
        conn_drop(c, "connection closed by peer");
    else if (nread < 0)
        conn_drop(c, "read failed: %s", uv_strerror((int)nread));
    else if (nread > 0)
        conn_feed(c, (const uint8_t *)buf->base, (size_t)nread);
}

/* TCP is established: start reading and speak first. */
static void conn_ready(p2p_conn *c) {
    c->connected = true;
    (void)uv_tcp_nodelay(&c->tcp, 1);
    (void)uv_tcp_keepalive(&c->tcp, 1, P2P_KEEPALIVE_S);
    int rc = uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
    if (rc < 0) {
        conn_drop(c, "read failed: %s", uv_strerror(rc));
        return;
    }
    conn_send_hello(c);
}

/* ---- outbound dialers ---- */

static void dialer_fire(uv_timer_t *t);

static void dialer_schedule(p2p_dialer *d) {
    p2p *p = d->p;
    uint32_t b = d->backoff_ms;
    /* Equal jitter: somewhere in [b/2, b], so peers that lost each other at
     * the same moment do not redial in lockstep. */
    uint64_t delay = b / 2 + rng_next(p) % (b - b / 2 + 1);
    d->backoff_ms = b > p->backoff_max_ms / 2 ? p->backoff_max_ms : b * 2;
    int rc = uv_timer_start(&d->timer, dialer_fire, delay, 0);
    assert(rc == 0);
    (void)rc;
}

static void dialer_after_drop(p2p_dialer *d, bool was_up) {
    if (d->disabled || d->p->closing) return;
    if (was_up) d->backoff_ms = d->p->backoff_min_ms;
    dialer_schedule(d);
}

static void dialer_note_failure(p2p_dialer *d, const char *fmt, ...) {
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (++d->failures == 1) plog(d->p, "dial %s failed: %s", d->addr, why);
    dialer_schedule(d);
}

static void dialer_connected(uv_connect_t *req, int status) {
    p2p_conn *c = req->data;
    if (c->closing) return; /* cancelled by a drop or by p2p_close */
    if (status < 0)
        conn_drop(c, "connect failed: %s", uv_strerror(status));
    else
        conn_ready(c);
}

static void dialer_connect(p2p_dialer *d, const struct sockaddr *sa) {
    assert(d->conn == NULL);
    p2p_conn *c = conn_new(d->p);
    if (c == NULL) {
        dialer_note_failure(d, "out of memory");
        return;
    }
    c->dialer = d;
    d->conn = c;
    memcpy(c->addr, d->addr, sizeof c->addr);
    int rc = uv_tcp_connect(&c->connect_req, &c->tcp, sa, dialer_connected);
    if (rc < 0) conn_drop(c, "connect failed: %s", uv_strerror(rc));
}

static void dialer_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res) {
    p2p_dialer *d = req->data;
    p2p *p = d->p;
    d->resolving = false;
    if (!p->closing) {
        if (status < 0)
            dialer_note_failure(d, "cannot resolve %s: %s", d->host, uv_strerror(status));
        else
            dialer_connect(d, res->ai_addr);
    }
    uv_freeaddrinfo(res);
    pending_done(p);
}

/* An IP literal is dialled at once; a name is resolved on every attempt, so
 * a peer whose address changes is found again. */
static void dialer_dial(p2p_dialer *d) {
    p2p *p = d->p;
    struct sockaddr_storage ss;
    if (addr_parse_ip(d->host, d->port, &ss)) {
        dialer_connect(d, (const struct sockaddr *)&ss);
        return;
    }
    struct addrinfo hints;
    char port[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof port, "%u", (unsigned)d->port);
    d->gai.data = d;
    int rc = uv_getaddrinfo(p->loop, &d->gai, dialer_resolved, d->host, port, &hints);
    if (rc < 0) {
        dialer_note_failure(d, "cannot resolve %s: %s", d->host, uv_strerror(rc));
        return;
    }
    d->resolving = true;
    p->pending++;
}

/* A dialer whose peer is already up through the peer's own connection to us
 * stays idle, looking again at the longest backoff. */
static void dialer_fire(uv_timer_t *t) {
    p2p_dialer *d = t->data;
    p2p *p = d->p;
    if (p->closing || d->disabled || d->conn != NULL || d->resolving) return;
    if (d->key_known && conn_up_by_key(p, d->pubkey) != NULL) {
        int rc = uv_timer_start(&d->timer, dialer_fire, p->backoff_max_ms, 0);
        assert(rc == 0);
        (void)rc;
        return;
    }
    dialer_dial(d);
}

/* ---- listener ---- */

static void conn_set_remote_addr(p2p_conn *c) {
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    char ip[64];
    uint16_t port = 0;
    snprintf(c->addr, sizeof c->addr, "(unknown)");
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0) return;
    if (uv_ip_name((const struct sockaddr *)&ss, ip, sizeof ip) != 0) return;
    snprintf(c->ip, sizeof c->ip, "%s", ip);
    if (ss.ss_family == AF_INET)
        port = ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        port = ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    addr_format(c->addr, ip, port);
}

/* An inbound connection still in the handshake that counts against its
 * address's limit: a validator's key, once claimed in HELLO, does not. */
static bool hs_counts(const p2p_conn *c, const char *ip) {
    if (!c->inbound || c->up || c->closing) return false;
    if (ip == NULL) return true;
    return strcmp(c->ip, ip) == 0 && !(c->hello_rx && c->cls == P2P_PEER_VALIDATOR);
}

static size_t hs_count(const p2p *p, const char *ip) {
    size_t n = 0;
    for (const p2p_conn *c = p->conns; c != NULL; c = c->next)
        if (hs_counts(c, ip)) n++;
    return n;
}

/* Nothing received from c, and nothing waiting in its socket: an honest
 * peer sends HELLO as soon as TCP is up, so such a connection is the one to
 * give up when a flood fills the handshake limits. */
static bool conn_silent(const p2p_conn *c) {
    uv_os_fd_t fd;
    uint8_t b;
    if (c->hello_rx || c->head_have > 0) return false;
    if (uv_fileno((const uv_handle_t *)&c->tcp, &fd) != 0) return true;
    return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* The oldest silent handshaking connection (from ip, or from anywhere). */
static p2p_conn *hs_victim(const p2p *p, const char *ip) {
    p2p_conn *best = NULL;
    for (p2p_conn *c = p->conns; c != NULL; c = c->next)
        if (hs_counts(c, ip) && (best == NULL || c->seq < best->seq) && conn_silent(c)) best = c;
    return best;
}

/* Admits c under the handshake limits, per address and in all, closing the
 * oldest silent handshake to make room; with none to close, c is refused. */
static bool inbound_admit(p2p *p, p2p_conn *c) {
    if (hs_count(p, c->ip) >= p->handshakes_per_ip_max) {
        p2p_conn *v = hs_victim(p, c->ip);
        if (v == NULL) {
            conn_drop(c, "too many handshakes from %s (limit %zu)", c->ip, p->handshakes_per_ip_max);
            return false;
        }
        conn_drop(v, "silent handshake closed for a newer one from %s (limit %zu)", c->ip,
                  p->handshakes_per_ip_max);
    }
    if (hs_count(p, NULL) >= GZ_P2P_HANDSHAKES_MAX) {
        p2p_conn *v = hs_victim(p, NULL);
        if (v == NULL) {
            conn_drop(c, "too many handshakes (limit %u)", (unsigned)GZ_P2P_HANDSHAKES_MAX);
            return false;
        }
        conn_drop(v, "silent handshake closed for a newer one (limit %u)", (unsigned)GZ_P2P_HANDSHAKES_MAX);
    }
    return true;
}

static void listener_accept(uv_stream_t *server, int status) {
    p2p *p = server->data;
    if (p->closing) return;
    if (status < 0) {
        plog(p, "accept failed: %s", uv_strerror(status));
        return;
    }
    p2p_conn *c = conn_new(p);
    if (c == NULL) {
        plog(p, "accept failed: out of memory");
        return;
    }
    snprintf(c->addr, sizeof c->addr, "(inbound)");
    int rc = uv_accept(server, (uv_stream_t *)&c->tcp);
    if (rc < 0) {
        conn_drop(c, "accept failed: %s", uv_strerror(rc));
        return;
    }
    conn_set_remote_addr(c);
    if (!inbound_admit(p, c)) return;
    c->inbound = true;
    p->inbound_n++;
    conn_ready(c);
}

static GZ_WUR int listener_start(p2p *p, gz_msg *msg) {
    struct sockaddr_storage ss;
    char where[P2P_ADDR_MAX + 1];
    addr_format(where, p->listen_host, p->listen_port);
    bool ip = addr_parse_ip(p->listen_host, p->listen_port, &ss);
    assert(ip); /* p2p_init checked it */
    (void)ip;
    int rc = uv_tcp_init(p->loop, &p->listener);
    if (rc < 0) return gz_fail(msg, GZ_EIO, "p2p.listen: %s: %s", where, uv_strerror(rc));
    p->listener.data = p;
    p->listening = true;
    p->pending++;
    rc = uv_tcp_bind(&p->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&p->listener, P2P_LISTEN_BACKLOG, listener_accept);
    if (rc < 0) return gz_fail(msg, GZ_EIO, "p2p.listen: cannot listen on %s: %s", where,
                               uv_strerror(rc));
    return GZ_OK;
}

/* ---- public API ---- */

static GZ_WUR int config_check(const p2p_config *cfg, gz_msg *msg) {
    size_t chain_len = cfg->chain_id != NULL ? strlen(cfg->chain_id) : 0;
    uint8_t pub[32];
    struct sockaddr_storage ss;
    char host[P2P_HOST_MAX + 1];
    uint16_t port;
    if (chain_len == 0 || chain_len > GZ_CHAIN_ID_MAX ||
        !mp_str_valid((const uint8_t *)cfg->chain_id, chain_len))
        return gz_fail(msg, GZ_EARG, "p2p.chain_id: must be 1..%d bytes of UTF-8", GZ_CHAIN_ID_MAX);
    if (core_key_pub(pub, cfg->seckey) != GZ_OK)
        return gz_fail(msg, GZ_EARG, "p2p.seckey: not a valid secret key");
    if (cfg->listen_host != NULL && !addr_parse_ip(cfg->listen_host, cfg->listen_port, &ss))
        return gz_fail(msg, GZ_EARG, "p2p.listen_host: \"%.64s\" is not an IP address",
                       cfg->listen_host);
    if (cfg->peers_n > GZ_PEERS_MAX || (cfg->peers_n > 0 && cfg->peers == NULL))
        return gz_fail(msg, GZ_EARG, "p2p.peers: at most %d addresses", GZ_PEERS_MAX);
    for (size_t i = 0; i < cfg->peers_n; i++)
        if (cfg->peers[i] == NULL || !addr_split(cfg->peers[i], host, &port))
            return gz_fail(msg, GZ_EARG, "p2p.peers[%zu]: \"%.64s\" is not host:port", i,
                           cfg->peers[i] != NULL ? cfg->peers[i] : "(null)");
    if (cfg->allow_n > P2P_ALLOW_MAX || (cfg->allow_n > 0 && cfg->allow == NULL))
        return gz_fail(msg, GZ_EARG, "p2p.allow: at most %d keys", P2P_ALLOW_MAX);
    if (cfg->peers_max > GZ_PEERS_MAX)
        return gz_fail(msg, GZ_EARG, "p2p.peers_max: at most %d", GZ_PEERS_MAX);
    if (cfg->sendq_bytes_max != 0 && cfg->sendq_bytes_max < P2P_SENDQ_BYTES_MIN)
        return gz_fail(msg, GZ_EARG, "p2p.sendq_bytes_max: at least %u", P2P_SENDQ_BYTES_MIN);
    if (cfg->sendq_total_bytes_max != 0 && cfg->sendq_total_bytes_max < P2P_SENDQ_BYTES_MIN)
        return gz_fail(msg, GZ_EARG, "p2p.sendq_total_bytes_max: at least %u", P2P_SENDQ_BYTES_MIN);
    if (cfg->outsiders_max > GZ_PEERS_MAX)
        return gz_fail(msg, GZ_EARG, "p2p.outsiders_max: at most %d", GZ_PEERS_MAX);
    if (cfg->backoff_min_ms != 0 && cfg->backoff_max_ms != 0 &&
        cfg->backoff_min_ms > cfg->backoff_max_ms)
        return gz_fail(msg, GZ_EARG, "p2p.backoff_min_ms: above backoff_max_ms");
    return GZ_OK;
}

static void config_defaults(p2p *p, const p2p_config *cfg) {
    p->peers_max = cfg->peers_max != 0 ? cfg->peers_max : GZ_PEERS_MAX;
    p->sendq_bytes_max = cfg->sendq_bytes_max != 0 ? cfg->sendq_bytes_max
                                                : (size_t)GZ_PEER_SENDQ_BYTES_MAX;
    p->sendq_total_bytes_max = cfg->sendq_total_bytes_max != 0 ? cfg->sendq_total_bytes_max
                                                            : (size_t)GZ_P2P_SENDQ_TOTAL_BYTES_MAX;
    p->outsiders_max = cfg->outsiders_max != 0 ? cfg->outsiders_max : GZ_P2P_OUTSIDER_PEERS_MAX;
    if (p->outsiders_max >= p->peers_max) p->outsiders_max = p->peers_max > 1 ? p->peers_max - 1 : 1;
    p->outsiders_per_ip_max =
        cfg->outsiders_per_ip_max != 0 ? cfg->outsiders_per_ip_max : GZ_P2P_OUTSIDERS_PER_IP_MAX;
    p->handshakes_per_ip_max =
        cfg->handshakes_per_ip_max != 0 ? cfg->handshakes_per_ip_max : GZ_P2P_HANDSHAKES_PER_IP_MAX;
    p->handshake_timeout_ms =
        cfg->handshake_timeout_ms != 0 ? cfg->handshake_timeout_ms : P2P_HANDSHAKE_TIMEOUT_MS_DEFAULT;
    p->backoff_min_ms = cfg->backoff_min_ms != 0 ? cfg->backoff_min_ms : P2P_BACKOFF_MIN_MS_DEFAULT;
    p->backoff_max_ms = cfg->backoff_max_ms != 0 ? cfg->backoff_max_ms : P2P_BACKOFF_MAX_MS_DEFAULT;
    if (p->backoff_max_ms < p->backoff_min_ms) p->backoff_max_ms = p->backoff_min_ms;
    p->rng = cfg->seed;
    if (p->rng == 0 && getrandom(&p->rng, sizeof p->rng, 0) != (ssize_t)sizeof p->rng) p->rng = 0;
    /* xorshift never leaves zero, so zero becomes an arbitrary odd constant. */
    if (p->rng == 0) p->rng = 0x9E3779B97F4A7C15ULL;
}

static GZ_WUR int config_copy(p2p *p, const p2p_config *cfg) {
    p->dialers = cfg->peers_n > 0 ? calloc(cfg->peers_n, sizeof *p->dialers) : NULL;
    p->allow = cfg->allow_n > 0 ? malloc(cfg->allow_n * sizeof *p->allow) : NULL;
    p->rbuf = malloc(P2P_READ_CHUNK);
    if ((cfg->peers_n > 0 && p->dialers == NULL) || (cfg->allow_n > 0 && p->allow == NULL) ||
        p->rbuf == NULL)
        return GZ_ENOMEM;
    if (cfg->allow_n > 0) memcpy(p->allow, cfg->allow, cfg->allow_n * sizeof *p->allow);
    p->allow_n = cfg->allow_n;
    p->dialers_n = cfg->peers_n;
    for (size_t i = 0; i < cfg->peers_n; i++) {
        p2p_dialer *d = &p->dialers[i];
        bool ok = addr_split(cfg->peers[i], d->host, &d->port);
        assert(ok); /* config_check parsed it */
        (void)ok;
        d->p = p;
        addr_format(d->addr, d->host, d->port);
        d->backoff_ms = p->backoff_min_ms;
    }
    return GZ_OK;
}

int p2p_init(p2p *p, uv_loop_t *loop, const p2p_config *cfg, const p2p_callbacks *cb, void *ctx,
             gz_msg *msg) {
    if (p == NULL || loop == NULL || cfg == NULL)
        return gz_fail(msg, GZ_EMISUSE, "p2p: missing argument");
    memset(p, 0, sizeof *p);
    int rc = config_check(cfg, msg);
    if (rc != GZ_OK) return rc;
    p->loop = loop;
    if (cb != NULL) p->cb = *cb;
    p->ctx = ctx;
    p->chain_id_len = strlen(cfg->chain_id);
    memcpy(p->chain_id, cfg->chain_id, p->chain_id_len + 1);
    memcpy(p->seckey, cfg->seckey, 32);
    rc = core_key_pub(p->pubkey, p->seckey);
    assert(rc == GZ_OK);
    if (cfg->listen_host != NULL) snprintf(p->listen_host, sizeof p->listen_host, "%s", cfg->listen_host);
    p->listen_port = cfg->listen_port;
    p->next_id = 1;
    config_defaults(p, cfg);
    if (config_copy(p, cfg) != GZ_OK) {
        free(p->dialers);
        free(p->allow);
        free(p->rbuf);
        explicit_bzero(p->seckey, sizeof p->seckey);
        memset(p, 0, sizeof *p);
        return gz_fail(msg, GZ_ENOMEM, "p2p: out of memory");
    }
    rc = uv_timer_init(loop, &p->guard);
    assert(rc == 0);
    p->guard.data = p;
    p->pending = 1 + p->dialers_n;
    for (size_t i = 0; i < p->dialers_n; i++) {
        rc = uv_timer_init(loop, &p->dialers[i].timer);
        assert(rc == 0);
        p->dialers[i].timer.data = &p->dialers[i];
    }
    return GZ_OK;
}

int p2p_start(p2p *p, gz_msg *msg) {
    assert(p != NULL);
    if (p->started || p->closing) return gz_fail(msg, GZ_ESTATE, "p2p: already started or closing");
    p->started = true;
    if (p->listen_host[0] != '\0') {
        int rc = listener_start(p, msg);
        if (rc != GZ_OK) return rc;
    }
    for (size_t i = 0; i < p->dialers_n; i++) {
        int rc = uv_timer_start(&p->dialers[i].timer, dialer_fire, 0, 0);
        assert(rc == 0);
        (void)rc;
    }
    return GZ_OK;
}

uint16_t p2p_listen_port(const p2p *p) {
    struct sockaddr_storage ss;
    int len = (int)sizeof ss;
    if (!p->listening || p->closing) return 0;
    if (uv_tcp_getsockname(&p->listener, (struct sockaddr *)&ss, &len) != 0) return 0;
    if (ss.ss_family == AF_INET) return ntohs(((const struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((const struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

void p2p_close(p2p *p, p2p_close_cb cb) {
    assert(p != NULL);
    assert(!p->closing); /* p2p_close is called exactly once */
    p->closing = true;
    p->close_cb = cb;
    for (p2p_conn *c = p->conns; c != NULL; c = c->next) conn_drop(c, "node shutting down");
    for (size_t i = 0; i < p->dialers_n; i++) {
        p2p_dialer *d = &p->dialers[i];
        uv_timer_stop(&d->timer);
        uv_close((uv_handle_t *)&d->timer, dialer_timer_closed);
        /* A cancelled lookup still calls dialer_resolved, which releases it. */
        if (d->resolving) (void)uv_cancel((uv_req_t *)&d->gai);
    }
    if (p->listening) uv_close((uv_handle_t *)&p->listener, own_handle_closed);
    uv_close((uv_handle_t *)&p->guard, own_handle_closed);
}

static bool msg_args_ok(uint8_t msg_type, const uint8_t *payload, size_t len) {
    return msg_type >= P2P_MSG_APP_MIN && len <= P2P_PAYLOAD_BYTES_MAX &&
           (payload != NULL || len == 0);
}

int p2p_send(p2p *p, int peer_id, uint8_t msg_type, const uint8_t *payload, size_t len) {
    assert(p != NULL);
    if (!msg_args_ok(msg_type, payload, len)) return GZ_EMISUSE;
    p2p_conn *c = conn_up_by_id(p, peer_id);
    if (c == NULL) return GZ_ENOTFOUND;
    return conn_send(c, msg_type, payload, len);
}

int p2p_broadcast(p2p *p, uint8_t msg_type, const uint8_t *payload, size_t len,
                  int except_peer_id) {
    assert(p != NULL);
    if (!msg_args_ok(msg_type, payload, len)) return GZ_EMISUSE;
    if (p->up_n == 0) return 0;
    p2p_frame *f = frame_new(p, msg_type, payload, len);
    if (f == NULL) return GZ_ENOMEM;
    int sent = 0;
    /* A drop inside conn_write only marks the conn closing (it is freed from
     * the loop later), so walking the list stays safe. */
    for (p2p_conn *c = p->conns; c != NULL; c = c->next)
        if (c->up && c->id != except_peer_id && conn_write(c, f) == GZ_OK) sent++;
    frame_unref(f);
    return sent;
}

int p2p_disconnect(p2p *p, int peer_id, const char *reason) {
    assert(p != NULL);
    p2p_conn *c = conn_up_by_id(p, peer_id);
    if (c == NULL) return GZ_ENOTFOUND;
    conn_drop(c, "%s", reason != NULL ? reason : "disconnected by the node");
    return GZ_OK;
}

size_t p2p_peer_count(const p2p *p) { return p->up_n; }

size_t p2p_peer_ids(const p2p *p, int *ids, size_t max) {
    size_t n = 0;
    for (const p2p_conn *c = p->conns; c != NULL; c = c->next) {
        if (!c->up) continue;
        if (n < max) ids[n] = c->id;
        n++;
    }
    assert(n == p->up_n);
    return n;
}

int p2p_peer_info_get(const p2p *p, int peer_id, p2p_peer_info *out) {
    memset(out, 0, sizeof *out);
    const p2p_conn *c = conn_up_by_id(p, peer_id);
    if (c == NULL) return GZ_ENOTFOUND;
    memcpy(out->pubkey, c->pubkey, 32);
    memcpy(out->addr, c->addr, sizeof out->addr);
    out->inbound = c->inbound;
    out->cls = c->cls;
    out->sendq_bytes = c->sendq_bytes;
    return GZ_OK;
}
