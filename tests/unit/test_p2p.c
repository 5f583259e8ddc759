/* The peer-to-peer transport over real loopback sockets. Every wait runs the
 * loop against a deadline, so a broken transport fails a test instead of
 * hanging it. The "raw" client below speaks the wire format from docs/p2p.md
 * with its own encoder, so the tests also pin the documented bytes. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <uv.h>

#include "core/hash.h"
#include "core/keys.h"
#include "core/mp.h"
#include "p2p/p2p.h"
#include "p2p/p2p_crypto.h"
#include "p2p/p2p_wire.h"

static uv_loop_t g_loop;
static uv_timer_t g_tick;

static void tick(uv_timer_t *t) { (void)t; }

static void setup(void) {
    cr_assert_eq(uv_loop_init(&g_loop), 0);
    cr_assert_eq(uv_timer_init(&g_loop, &g_tick), 0);
    /* A short periodic wake-up so every UV_RUN_ONCE returns and deadlines are seen. */
    cr_assert_eq(uv_timer_start(&g_tick, tick, 5, 5), 0);
}

static void teardown(void) {
    uv_close((uv_handle_t *)&g_tick, NULL);
    for (int i = 0; i < 100; i++) {
        if (uv_run(&g_loop, UV_RUN_NOWAIT) == 0) break;
    }
    /* UV_EBUSY here means a handle leaked past p2p_close. */
    cr_assert_eq(uv_loop_close(&g_loop), 0, "loop still has open handles");
}

TestSuite(node_p2p, .init = setup, .fini = teardown, .timeout = 20);

static bool run_step(uint64_t deadline) {
    if (uv_now(&g_loop) >= deadline) return false;
    uv_run(&g_loop, UV_RUN_ONCE);
    return true;
}

/* Runs the loop until cond holds or ms pass. */
#define RUN_UNTIL(cond, ms) \
    for (uint64_t dl_ = uv_now(&g_loop) + (ms); !(cond) && run_step(dl_);)

/* ---- a node under test and what its callbacks saw ---- */

typedef struct tnode {
    p2p p; /* first, so a p2p * is a tnode * */
    uint8_t sk[32];
    uint8_t pk[32];
    int ups;
    int downs;
    int last_up_id;
    uint8_t last_up_key[32];
    int last_down_id;
    char last_down_reason[256];
    int msgs;
    int last_from;
    uint8_t last_type;
    uint8_t *last_payload;
    size_t last_len;
    char log[8192];
    bool closed;
    uint8_t vals[4][32]; /* keys classify calls validators; every other key is an outsider */
    int n_vals;
    bool kick_on_msg;  /* p2p_disconnect the sender from inside on_message */
    bool close_on_msg; /* p2p_close from inside on_message */
} tnode;

static void closed_cb(p2p *p);

static void on_up(void *ctx, int id, const uint8_t key[32]) {
    tnode *n = ctx;
    n->ups++;
    n->last_up_id = id;
    memcpy(n->last_up_key, key, 32);
}

static void on_down(void *ctx, int id, const char *reason) {
    tnode *n = ctx;
    n->downs++;
    n->last_down_id = id;
    snprintf(n->last_down_reason, sizeof n->last_down_reason, "%s", reason);
}

static void on_msg(void *ctx, int id, uint8_t type, const uint8_t *pl, size_t len) {
    tnode *n = ctx;
    n->msgs++;
    n->last_from = id;
    n->last_type = type;
    free(n->last_payload);
    n->last_payload = malloc(len + 1);
    cr_assert_not_null(n->last_payload);
    if (len > 0) memcpy(n->last_payload, pl, len);
    n->last_len = len;
    if (n->kick_on_msg) {
        n->kick_on_msg = false;
        cr_assert_eq(p2p_disconnect(&n->p, id, "kicked from on_message"), GZ_OK);
    }
    if (n->close_on_msg) {
        n->close_on_msg = false;
        p2p_close(&n->p, closed_cb);
    }
}

static void on_log(void *ctx, const char *line) {
    tnode *n = ctx;
    size_t used = strlen(n->log);
    snprintf(n->log + used, sizeof n->log - used, "%s\n", line);
}

static const p2p_callbacks k_cb = {on_up, on_down, on_msg, on_log, NULL};

static p2p_peer_class classify(void *ctx, const uint8_t key[32]) {
    const tnode *n = ctx;
    for (int i = 0; i < n->n_vals; i++)
        if (memcmp(n->vals[i], key, 32) == 0) return P2P_PEER_VALIDATOR;
    return P2P_PEER_OUTSIDER;
}

static const p2p_callbacks k_cb_classify = {on_up, on_down, on_msg, on_log, classify};

static void node_keys(tnode *n, int key_index) {
    memset(n, 0, sizeof *n);
    n->sk[31] = (uint8_t)key_index;
    n->sk[0] = 0x11;
    cr_assert_eq(core_key_pub(n->pk, n->sk), GZ_OK);
}

/* A config with fast timings: tests wait for redials. */
static p2p_config node_config(const tnode *n, const char *chain) {
    p2p_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.chain_id = chain;
    memcpy(cfg.seckey, n->sk, 32);
    cfg.listen_host = "127.0.0.1";
    cfg.backoff_min_ms = 20;
    cfg.backoff_max_ms = 200;
    cfg.handshake_timeout_ms = 2000;
    cfg.seed = 42;
    return cfg;
}

static void node_start(tnode *n, const p2p_config *cfg) {
    gz_msg m;
    gz_msg_clear(&m);
    cr_assert_eq(p2p_init(&n->p, &g_loop, cfg, &k_cb, n, &m), GZ_OK, "%s", m.text);
    cr_assert_eq(p2p_start(&n->p, &m), GZ_OK, "%s", m.text);
}

static void closed_cb(p2p *p) { ((tnode *)p)->closed = true; }

static void node_close(tnode *n) {
    p2p_close(&n->p, closed_cb);
    RUN_UNTIL(n->closed, 3000);
    cr_assert(n->closed, "p2p_close did not complete");
    free(n->last_payload);
    n->last_payload = NULL;
}

static void addr_of(char out[32], uint16_t port) { snprintf(out, 32, "127.0.0.1:%u", port); }

/* A port nobody listens on right now, for configs that must name each other's
 * ports before either node starts. */
static uint16_t free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_geq(fd, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

/* ---- a raw client that speaks the documented wire format by hand ---- */

typedef struct raw {
    uv_tcp_t tcp;
    uv_connect_t creq;
    bool connected;
    bool eof;
    bool closed;
    uint8_t rx[4096];
    size_t rx_len;
    uint8_t challenge[32];
    /* The session once the handshake is done: frames both ways are sealed. */
    bool keyed;
    uint8_t key_tx[32], key_rx[32];
    uint64_t ctr_tx, ctr_rx;
} raw;

typedef struct raw_wreq {
    uv_write_t req;
    uint8_t data[];
} raw_wreq;

static void raw_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    raw *r = h->data;
    *buf = uv_buf_init((char *)r->rx + r->rx_len, (unsigned)(sizeof r->rx - r->rx_len));
}

static void raw_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
    (void)buf;
    raw *r = s->data;
    if (nread < 0) {
        r->eof = true;
        uv_read_stop(s);
    } else {
        r->rx_len += (size_t)nread;
        if (r->rx_len == sizeof r->rx) uv_read_stop(s);
    }
}

static void raw_connected(uv_connect_t *req, int status) {
    raw *r = req->data;
    cr_assert_eq(status, 0, "raw connect: %s", uv_strerror(status));
    r->connected = true;
    cr_assert_eq(uv_read_start((uv_stream_t *)&r->tcp, raw_alloc, raw_read), 0);
}

static void raw_connect(raw *r, uint16_t port) {
    struct sockaddr_in sa;
    memset(r, 0, sizeof *r);
    cr_assert_eq(uv_ip4_addr("127.0.0.1", port, &sa), 0);
    cr_assert_eq(uv_tcp_init(&g_loop, &r->tcp), 0);
    r->tcp.data = r;
    r->creq.data = r;
    cr_assert_eq(uv_tcp_connect(&r->creq, &r->tcp, (struct sockaddr *)&sa, raw_connected), 0);
    RUN_UNTIL(r->connected, 2000);
    cr_assert(r->connected);
}

static void raw_written(uv_write_t *req, int status) {
    (void)status;
    free(req);
}

static void raw_write(raw *r, const uint8_t *p, size_t len) {
    raw_wreq *w = malloc(sizeof *w + len);
    cr_assert_not_null(w);
    memcpy(w->data, p, len);
    uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)len);
    cr_assert_eq(uv_write(&w->req, (uv_stream_t *)&r->tcp, &b, 1, raw_written), 0);
}

static void raw_closed(uv_handle_t *h) { ((raw *)h->data)->closed = true; }

static void raw_close(raw *r) {
    uv_close((uv_handle_t *)&r->tcp, raw_closed);
    RUN_UNTIL(r->closed, 1000);
    cr_assert(r->closed);
}

/* Frames payload as docs/p2p.md says: u32 big-endian length, then the
 * canonical array [type, bin payload], encoded here with the generic writer. */
static void raw_send_frame(raw *r, uint8_t type, const uint8_t *pl, size_t len) {
    gz_buf body;
    gz_buf_init(&body);
    cr_assert_eq(mp_put_array(&body, 2), GZ_OK);
    cr_assert_eq(mp_put_uint(&body, type), GZ_OK);
    cr_assert_eq(mp_put_bin(&body, pl, len), GZ_OK);
    uint8_t *frame = malloc(4 + body.len + 16);
    cr_assert_not_null(frame);
    size_t n = 4 + body.len;
    if (r->keyed) {
        cr_assert_eq(p2p_seal(frame, r->key_tx, r->ctr_tx++, body.data, body.len), GZ_OK);
        n += 16;
    } else {
        frame[0] = (uint8_t)(body.len >> 24);
        frame[1] = (uint8_t)(body.len >> 16);
        frame[2] = (uint8_t)(body.len >> 8);
        frame[3] = (uint8_t)body.len;
        memcpy(frame + 4, body.data, body.len);
    }
    raw_write(r, frame, n);
    free(frame);
    gz_buf_free(&body);
}

/* Takes the first whole frame out of r->rx: its type and payload (copied). */
static bool raw_take_frame(raw *r, uint8_t *type, uint8_t *pl, size_t *len, size_t max) {
    if (r->rx_len < 4) return false;
    size_t n = (size_t)r->rx[0] << 24 | (size_t)r->rx[1] << 16 | (size_t)r->rx[2] << 8 | r->rx[3];
    if (r->rx_len < 4 + n) return false;
    mp_rd rd;
    uint64_t t;
    const uint8_t *p;
    size_t body_len = n;
    if (r->keyed) {
        cr_assert_eq(p2p_open(r->rx, n, r->key_rx, r->ctr_rx++), GZ_OK, "the node's frame authenticates");
        body_len -= 16;
    }
    mp_rd_init(&rd, r->rx + 4, body_len, NULL);
    cr_assert_eq(mp_get_array_n(&rd, "frame", 2), GZ_OK);
    cr_assert_eq(mp_get_uint(&rd, "type", &t), GZ_OK);
    cr_assert_eq(mp_get_bin(&rd, "payload", &p, len, max), GZ_OK);
    cr_assert_eq(mp_rd_end(&rd), GZ_OK);
    *type = (uint8_t)t;
    memcpy(pl, p, *len);
    memmove(r->rx, r->rx + 4 + n, r->rx_len - 4 - n);
    r->rx_len -= 4 + n;
    return true;
}

/* TH("gongzhi/p2p-auth", their_challenge ‖ their_eph ‖ own_eph ‖ chain ‖ own_pub), built by hand. */
static void raw_auth_digest(uint8_t out[32], const uint8_t challenge[32], const uint8_t their_eph[32],
                            const uint8_t own_eph[32], const char *chain, const uint8_t pub[32]) {
    uint8_t m[3 * 32 + 64 + 32];
    size_t cl = strlen(chain);
    memcpy(m, challenge, 32);
    memcpy(m + 32, their_eph, 32);
    memcpy(m + 64, own_eph, 32);
    memcpy(m + 96, chain, cl);
    memcpy(m + 96 + cl, pub, 32);
    core_tagged_hash(out, "gongzhi/p2p-auth", m, 128 + cl);
}

/* The session keys of docs/p2p.md, built by hand from the shared secret. */
static void raw_keys(raw *r, const uint8_t eph_sk[32], const uint8_t my_eph[32], const uint8_t their_eph[32],
                     const uint8_t their_challenge[32], const uint8_t my_pk[32], const uint8_t their_pk[32]) {
    uint8_t shared[32], m[7 * 32];
    cr_assert_eq(p2p_x25519_shared(shared, eph_sk, their_eph), GZ_OK);
    const uint8_t *dir[2][6] = {{my_eph, their_eph, r->challenge, their_challenge, my_pk, their_pk},
                                {their_eph, my_eph, their_challenge, r->challenge, their_pk, my_pk}};
    for (int d = 0; d < 2; d++) {
        memcpy(m, shared, 32);
        for (int i = 0; i < 6; i++) memcpy(m + 32 * (i + 1), dir[d][i], 32);
        core_tagged_hash(d == 0 ? r->key_tx : r->key_rx, "gongzhi/p2p-key", m, sizeof m);
    }
}

/* Completes the handshake with node n as the holder of key (sk, pk): reads the
 * node's HELLO, answers with HELLO and AUTH, and checks the node's AUTH. */
static void raw_handshake(raw *r, const tnode *n, const uint8_t sk[32], const uint8_t pk[32],
                          const char *chain) {
    uint8_t type = 0, pl[256], their_challenge[32], node_pk[32], sig[64], digest[32];
    uint8_t eph_sk[32], eph[32], their_eph[32];
    size_t len = 0;
    uint64_t version;
    char chain_rx[65];
    RUN_UNTIL(raw_take_frame(r, &type, pl, &len, sizeof pl), 2000);
    cr_assert_eq(type, 1, "the node speaks first, with HELLO");
    mp_rd rd;
    mp_rd_init(&rd, pl, len, NULL);
    cr_assert_eq(mp_get_array_n(&rd, "hello", 5), GZ_OK);
    cr_assert_eq(mp_get_uint(&rd, "version", &version), GZ_OK);
    cr_assert_eq(version, 2);
    cr_assert_eq(mp_get_str(&rd, "chain", chain_rx, 64), GZ_OK);
    cr_assert_str_eq(chain_rx, chain);
    cr_assert_eq(mp_get_bin_fixed(&rd, "pubkey", node_pk, 32), GZ_OK);
    cr_assert_eq(memcmp(node_pk, n->pk, 32), 0);
    cr_assert_eq(mp_get_bin_fixed(&rd, "challenge", their_challenge, 32), GZ_OK);
    cr_assert_eq(mp_get_bin_fixed(&rd, "eph", their_eph, 32), GZ_OK);
    cr_assert_eq(mp_rd_end(&rd), GZ_OK);

    gz_buf b;
    gz_buf_init(&b);
    for (int i = 0; i < 32; i++) r->challenge[i] = (uint8_t)(i * 7 + 3);
    for (int i = 0; i < 32; i++) eph_sk[i] = (uint8_t)(i * 5 + 1);
    cr_assert_eq(p2p_x25519_pub(eph, eph_sk), GZ_OK);
    cr_assert_eq(mp_put_array(&b, 5), GZ_OK);
    cr_assert_eq(mp_put_uint(&b, 2), GZ_OK);
    cr_assert_eq(mp_put_str(&b, chain, strlen(chain)), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, pk, 32), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, r->challenge, 32), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, eph, 32), GZ_OK);
    raw_send_frame(r, 1, b.data, b.len);
    gz_buf_reset(&b);
    raw_auth_digest(digest, their_challenge, their_eph, eph, chain, pk);
    cr_assert_eq(core_sign32(sig, sk, digest, NULL), GZ_OK);
    cr_assert_eq(mp_put_array(&b, 1), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, sig, 64), GZ_OK);
    raw_send_frame(r, 2, b.data, b.len);
    gz_buf_free(&b);

    RUN_UNTIL(raw_take_frame(r, &type, pl, &len, sizeof pl), 2000);
    cr_assert_eq(type, 2, "the node answers with AUTH");
    mp_rd_init(&rd, pl, len, NULL);
    cr_assert_eq(mp_get_array_n(&rd, "auth", 1), GZ_OK);
    cr_assert_eq(mp_get_bin_fixed(&rd, "sig", sig, 64), GZ_OK);
    raw_auth_digest(digest, r->challenge, eph, their_eph, chain, n->pk);
    cr_assert(core_verify(sig, digest, 32, n->pk), "the node's AUTH verifies as documented");
    raw_keys(r, eph_sk, eph, their_eph, their_challenge, pk, n->pk);
    r->keyed = true;
}

/* ---- pure wire format ---- */

Test(node_p2p, frame_head_is_canonical_msgpack) {
    static const size_t lens[] = {0, 1, 255, 256, 65535, 65536, 1000000};
    static const uint8_t types[] = {16, 127, 128, 255};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        for (size_t j = 0; j < sizeof types / sizeof types[0]; j++) {
            uint8_t head[P2P_FRAME_HEAD_MAX];
            size_t n = p2p_frame_head(head, types[j], lens[i]);
            gz_buf want;
            gz_buf_init(&want);
            uint8_t *payload = calloc(1, lens[i] + 1);
            cr_assert_eq(mp_put_array(&want, 2), GZ_OK);
            cr_assert_eq(mp_put_uint(&want, types[j]), GZ_OK);
            cr_assert_eq(mp_put_bin(&want, payload, lens[i]), GZ_OK);
            cr_assert_eq(p2p_frame_len(head), want.len, "length prefix counts the body");
            cr_assert_eq(memcmp(head + 4, want.data, n - 4), 0, "len %zu type %u", lens[i],
                         types[j]);
            uint8_t t;
            const uint8_t *pl;
            size_t pl_len;
            cr_assert_eq(p2p_body_decode(want.data, want.len, &t, &pl, &pl_len, NULL), GZ_OK);
            cr_assert_eq(t, types[j]);
            cr_assert_eq(pl_len, lens[i]);
            gz_buf_free(&want);
            free(payload);
        }
    }
}

Test(node_p2p, body_decode_rejects_bad_bodies) {
    static const struct {
        const char *name;
        uint8_t bytes[12];
        size_t len;
    } bad[] = {
        {"empty", {0}, 0},
        {"not an array", {0xc4, 0x00}, 2},
        {"three elements", {0x93, 0x10, 0xc4, 0x00, 0x00}, 5},
        {"type over 255", {0x92, 0xcd, 0x01, 0x00, 0xc4, 0x00}, 6},
        {"type not shortest", {0x92, 0xcc, 0x10, 0xc4, 0x00}, 5},
        {"payload not shortest", {0x92, 0x10, 0xc5, 0x00, 0x01, 0xaa}, 6},
        {"payload is a str", {0x92, 0x10, 0xa1, 0x41}, 4},
        {"payload longer than the body", {0x92, 0x10, 0xc4, 0x09, 0x00}, 5},
        {"trailing byte", {0x92, 0x10, 0xc4, 0x01, 0xaa, 0x00}, 6},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t t = 9;
        const uint8_t *pl = bad[i].bytes;
        size_t len = 9;
        gz_msg m;
        gz_msg_clear(&m);
        cr_assert_eq(p2p_body_decode(bad[i].bytes, bad[i].len, &t, &pl, &len, &m), GZ_EENCODING,
                     "%s", bad[i].name);
        cr_assert(pl == NULL && len == 0 && t == 0, "%s: outputs zeroed", bad[i].name);
        cr_assert_neq(m.text[0], '\0', "%s: message names the problem", bad[i].name);
    }
}

Test(node_p2p, hello_round_trip_and_version_check) {
    p2p_hello h, out;
    memset(&h, 0, sizeof h);
    h.version = P2P_VERSION;
    strcpy(h.chain_id, "gongzhi-devnet");
    memset(h.pubkey, 0xab, 32);
    memset(h.challenge, 0xcd, 32);
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(p2p_hello_encode(&b, &h), GZ_OK);
    cr_assert_eq(p2p_hello_decode(&out, b.data, b.len, NULL), GZ_OK);
    cr_assert_eq(memcmp(&h, &out, sizeof h), 0);
    cr_assert_eq(b.data[0], 0x95, "five elements");
    /* Version 1 (the plaintext transport) and later versions are refused as such. */
    b.data[1] = 1;
    gz_msg m1;
    cr_assert_eq(p2p_hello_decode(&out, b.data, b.len, &m1), GZ_EPROTO);
    cr_assert(strstr(m1.text, "hello.version: 1 is not supported") != NULL, "%s", m1.text);
    b.data[1] = 3;
    gz_msg m;
    cr_assert_eq(p2p_hello_decode(&out, b.data, b.len, &m), GZ_EPROTO);
    cr_assert(strstr(m.text, "hello.version") != NULL, "%s", m.text);
    cr_assert(gz_is_zero32(out.pubkey));
    /* A chain id one byte over the limit. */
    gz_buf_reset(&b);
    char long_chain[GZ_CHAIN_ID_MAX + 2];
    memset(long_chain, 'x', sizeof long_chain - 1);
    long_chain[sizeof long_chain - 1] = '\0';
    cr_assert_eq(mp_put_array(&b, 5), GZ_OK);
    cr_assert_eq(mp_put_uint(&b, 2), GZ_OK);
    cr_assert_eq(mp_put_str(&b, long_chain, strlen(long_chain)), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, h.pubkey, 32), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, h.challenge, 32), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, h.eph, 32), GZ_OK);
    cr_assert_eq(p2p_hello_decode(&out, b.data, b.len, &m), GZ_EENCODING);
    cr_assert(strstr(m.text, "hello.chain_id") != NULL, "%s", m.text);
    gz_buf_free(&b);
}

/* The bounds of p2p_wire.h hold for the longest handshake messages we send:
 * a frame body of either fits GZ_HANDSHAKE_FRAME_BYTES_MAX. */
Test(node_p2p, longest_hello_and_auth_fit_the_handshake_frame_bound) {
    p2p_hello h;
    memset(&h, 0xff, sizeof h);
    h.version = UINT64_MAX;
    memset(h.chain_id, 'c', GZ_CHAIN_ID_MAX);
    h.chain_id[GZ_CHAIN_ID_MAX] = '\0';
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(p2p_hello_encode(&b, &h), GZ_OK);
    cr_assert_eq(b.len, P2P_HELLO_BYTES_MAX, "hello of %zu bytes", b.len);
    uint8_t head[P2P_FRAME_HEAD_MAX];
    size_t body = p2p_frame_head(head, P2P_MSG_HELLO, b.len) - P2P_LEN_BYTES + b.len;
    cr_assert_eq(p2p_frame_len(head), body);
    cr_assert_leq(body, GZ_HANDSHAKE_FRAME_BYTES_MAX);
    gz_buf_reset(&b);
    uint8_t sig[64];
    memset(sig, 0xee, sizeof sig);
    cr_assert_eq(p2p_auth_encode(&b, sig), GZ_OK);
    cr_assert_eq(b.len, P2P_AUTH_BYTES_MAX, "auth of %zu bytes", b.len);
    body = p2p_frame_head(head, P2P_MSG_AUTH, b.len) - P2P_LEN_BYTES + b.len;
    cr_assert_leq(body, GZ_HANDSHAKE_FRAME_BYTES_MAX);
    gz_buf_free(&b);
}

Test(node_p2p, init_rejects_bad_config) {
    tnode n;
    node_keys(&n, 1);
    p2p p;
    gz_msg m;
    p2p_config cfg = node_config(&n, "c");
    cfg.chain_id = "";
    cr_assert_eq(p2p_init(&p, &g_loop, &cfg, &k_cb, &n, &m), GZ_EARG);
    cr_assert(strstr(m.text, "p2p.chain_id") != NULL, "%s", m.text);
    cfg = node_config(&n, "c");
    const char *peers[] = {"127.0.0.1:1", "no-port"};
    cfg.peers = peers;
    cfg.peers_n = 2;
    cr_assert_eq(p2p_init(&p, &g_loop, &cfg, &k_cb, &n, &m), GZ_EARG);
    cr_assert(strstr(m.text, "p2p.peers[1]") != NULL, "%s", m.text);
    cfg = node_config(&n, "c");
    memset(cfg.seckey, 0xff, 32); /* above the group order */
    cr_assert_eq(p2p_init(&p, &g_loop, &cfg, &k_cb, &n, &m), GZ_EARG);
    cr_assert(strstr(m.text, "p2p.seckey") != NULL, "%s", m.text);
    cfg = node_config(&n, "c");
    cfg.listen_host = "localhost";
    cr_assert_eq(p2p_init(&p, &g_loop, &cfg, &k_cb, &n, &m), GZ_EARG);
    cr_assert(strstr(m.text, "p2p.listen_host") != NULL, "%s", m.text);
}

/* ---- live connections ---- */

/* a listens; b dials a. Both end up with one peer, each knowing the other's key. */
static void pair_up(tnode *a, tnode *b, const char *chain) {
    p2p_config ca = node_config(a, chain);
    node_start(a, &ca);
    char addr[32];
    addr_of(addr, p2p_listen_port(&a->p));
    const char *peers[] = {addr};
    p2p_config cb = node_config(b, chain);
    cb.peers = peers;
    cb.peers_n = 1;
    node_start(b, &cb);
    RUN_UNTIL(a->ups == 1 && b->ups == 1, 3000);
    cr_assert_eq(a->ups, 1, "a log: %s", a->log);
    cr_assert_eq(b->ups, 1, "b log: %s", b->log);
}

Test(node_p2p, two_nodes_handshake_and_exchange_messages) {
    tnode a, b;
    node_keys(&a, 1);
    node_keys(&b, 2);
    pair_up(&a, &b, "gongzhi-test");
    cr_assert_eq(memcmp(a.last_up_key, b.pk, 32), 0);
    cr_assert_eq(memcmp(b.last_up_key, a.pk, 32), 0);
    cr_assert_gt(a.last_up_id, 0);
    p2p_peer_info info;
    cr_assert_eq(p2p_peer_info_get(&a.p, a.last_up_id, &info), GZ_OK);
    cr_assert(info.inbound);
    cr_assert_eq(memcmp(info.pubkey, b.pk, 32), 0);
    cr_assert_eq(p2p_peer_info_get(&b.p, b.last_up_id, &info), GZ_OK);
    cr_assert(!info.inbound);
    char want[32];
    addr_of(want, p2p_listen_port(&a.p));
    cr_assert_str_eq(info.addr, want);
    int ids[4];
    cr_assert_eq(p2p_peer_ids(&a.p, ids, 4), 1);
    cr_assert_eq(ids[0], a.last_up_id);

    cr_assert_eq(p2p_send(&a.p, a.last_up_id, 16, (const uint8_t *)"hello b", 7), GZ_OK);
    RUN_UNTIL(b.msgs == 1, 2000);
    cr_assert_eq(b.msgs, 1);
    cr_assert_eq(b.last_type, 16);
    cr_assert_eq(b.last_from, b.last_up_id);
    cr_assert_eq(b.last_len, 7);
    cr_assert_eq(memcmp(b.last_payload, "hello b", 7), 0);

    /* 3 MiB crosses many reads and a frame buffer that is released afterwards. */
    size_t big_len = 3u << 20;
    uint8_t *big = malloc(big_len);
    cr_assert_not_null(big);
    for (size_t i = 0; i < big_len; i++) big[i] = (uint8_t)(i * 31 + 7);
    cr_assert_eq(p2p_send(&b.p, b.last_up_id, 200, big, big_len), GZ_OK);
    cr_assert_eq(p2p_send(&b.p, b.last_up_id, 17, NULL, 0), GZ_OK);
    RUN_UNTIL(a.msgs == 2, 3000);
    cr_assert_eq(a.msgs, 2);
    cr_assert_eq(a.last_type, 17, "messages arrive in order");
    cr_assert_eq(a.last_len, 0);
    a.msgs = 0;
    cr_assert_eq(p2p_send(&b.p, b.last_up_id, 200, big, big_len), GZ_OK);
    RUN_UNTIL(a.msgs == 1, 3000);
    cr_assert_eq(a.last_type, 200);
    cr_assert_eq(a.last_len, big_len);
    cr_assert_eq(memcmp(a.last_payload, big, big_len), 0);
    free(big);

    cr_assert_eq(p2p_send(&a.p, a.last_up_id, 15, NULL, 0), GZ_EMISUSE, "transport types are ours");
    cr_assert_eq(p2p_send(&a.p, a.last_up_id + 100, 16, NULL, 0), GZ_ENOTFOUND);
    uint8_t one = 0;
    cr_assert_eq(p2p_send(&a.p, a.last_up_id, 16, &one, P2P_PAYLOAD_BYTES_MAX + 1), GZ_EMISUSE);
    cr_assert_eq(a.downs + b.downs, 0);
    node_close(&a);
    cr_assert_eq(a.downs, 0, "no callbacks after p2p_close");
    RUN_UNTIL(b.downs == 1, 2000);
    cr_assert_eq(b.downs, 1, "the other side sees the peer go");
    cr_assert_str_eq(b.last_down_reason, "connection closed by peer");
    node_close(&b);
}

Test(node_p2p, full_mesh_every_node_dials_every_other_and_broadcast_reaches_all) {
    tnode n[3];
    uint16_t port[3];
    char addr[3][32];
    for (int i = 0; i < 3; i++) {
        node_keys(&n[i], 10 + i);
        port[i] = free_port();
        addr_of(addr[i], port[i]);
    }
    for (int i = 0; i < 3; i++) {
        const char *peers[2];
        size_t k = 0;
        for (int j = 0; j < 3; j++)
            if (j != i) peers[k++] = addr[j];
        p2p_config cfg = node_config(&n[i], "mesh");
        cfg.listen_port = port[i];
        cfg.peers = peers;
        cfg.peers_n = 2;
        node_start(&n[i], &cfg);
    }
    RUN_UNTIL(p2p_peer_count(&n[0].p) == 2 && p2p_peer_count(&n[1].p) == 2 &&
                  p2p_peer_count(&n[2].p) == 2,
              3000);
    /* Let duplicate connections resolve and idle dialers look again. */
    RUN_UNTIL(false, 600);
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(p2p_peer_count(&n[i].p), 2, "node %d log: %s", i, n[i].log);
        cr_assert_eq(n[i].ups - n[i].downs, 2);
    }
    int r = p2p_broadcast(&n[0].p, 42, (const uint8_t *)"block", 5, -1);
    cr_assert_eq(r, 2);
    RUN_UNTIL(n[1].msgs == 1 && n[2].msgs == 1, 2000);
    for (int i = 1; i < 3; i++) {
        cr_assert_eq(n[i].msgs, 1);
        cr_assert_eq(n[i].last_type, 42);
        cr_assert_eq(memcmp(n[i].last_payload, "block", 5), 0);
    }
    /* Relaying: node 1 forwards to everyone but the sender. */
    int from = n[1].last_from;
    cr_assert_eq(p2p_broadcast(&n[1].p, 43, (const uint8_t *)"vote", 4, from), 1);
    RUN_UNTIL(n[2].msgs == 2, 2000);
    cr_assert_eq(n[2].msgs, 2);
    cr_assert_eq(n[2].last_type, 43);
    RUN_UNTIL(false, 100);
    cr_assert_eq(n[0].msgs, 0, "the excepted peer got nothing");
    for (int i = 0; i < 3; i++) node_close(&n[i]);
}

Test(node_p2p, duplicate_connections_keep_the_one_dialled_by_the_lower_key) {
    tnode a, b;
    node_keys(&a, 3);
    node_keys(&b, 4);
    uint16_t pa = free_port(), pb = free_port();
    char addr_a[32], addr_b[32];
    addr_of(addr_a, pa);
    addr_of(addr_b, pb);
    const char *peers_a[] = {addr_b};
    const char *peers_b[] = {addr_a};
    p2p_config ca = node_config(&a, "dup");
    ca.listen_port = pa;
    ca.peers = peers_a;
    ca.peers_n = 1;
    p2p_config cb = node_config(&b, "dup");
    cb.listen_port = pb;
    cb.peers = peers_b;
    cb.peers_n = 1;
    node_start(&a, &ca);
    node_start(&b, &cb);
    RUN_UNTIL(p2p_peer_count(&a.p) == 1 && p2p_peer_count(&b.p) == 1, 3000);
    RUN_UNTIL(false, 800);
    cr_assert_eq(p2p_peer_count(&a.p), 1, "a log: %s", a.log);
    cr_assert_eq(p2p_peer_count(&b.p), 1, "b log: %s", b.log);
    int ida, idb;
    cr_assert_eq(p2p_peer_ids(&a.p, &ida, 1), 1);
    cr_assert_eq(p2p_peer_ids(&b.p, &idb, 1), 1);
    p2p_peer_info ia, ib;
    cr_assert_eq(p2p_peer_info_get(&a.p, ida, &ia), GZ_OK);
    cr_assert_eq(p2p_peer_info_get(&b.p, idb, &ib), GZ_OK);
    bool a_lower = memcmp(a.pk, b.pk, 32) < 0;
    cr_assert_eq(ia.inbound, !a_lower, "a keeps the connection the lower key dialled");
    cr_assert_eq(ib.inbound, a_lower, "b agrees on the same connection");
    cr_assert_eq(a.ups - a.downs, 1);
    cr_assert_eq(b.ups - b.downs, 1);
    /* The surviving connection carries traffic both ways, and stays. */
    cr_assert_eq(p2p_send(&a.p, ida, 16, (const uint8_t *)"x", 1), GZ_OK);
    cr_assert_eq(p2p_send(&b.p, idb, 16, (const uint8_t *)"y", 1), GZ_OK);
    RUN_UNTIL(a.msgs == 1 && b.msgs == 1, 2000);
    cr_assert_eq(a.msgs + b.msgs, 2);
    int ups_a = a.ups, ups_b = b.ups;
    RUN_UNTIL(false, 500);
    cr_assert_eq(a.ups, ups_a, "no flapping once settled");
    cr_assert_eq(b.ups, ups_b);
    node_close(&a);
    node_close(&b);
}

Test(node_p2p, wrong_chain_id_is_rejected) {
    tnode a, b;
    node_keys(&a, 1);
    node_keys(&b, 2);
    p2p_config ca = node_config(&a, "chain-a");
    node_start(&a, &ca);
    char addr[32];
    addr_of(addr, p2p_listen_port(&a.p));
    const char *peers[] = {addr};
    p2p_config cb = node_config(&b, "chain-b");
    cb.peers = peers;
    cb.peers_n = 1;
    node_start(&b, &cb);
    RUN_UNTIL(strstr(a.log, "wrong chain id") != NULL, 2000);
    cr_assert(strstr(a.log, "wrong chain id \"chain-b\"") != NULL, "a log: %s", a.log);
    RUN_UNTIL(false, 200);
    cr_assert_eq(a.ups + b.ups, 0);
    node_close(&a);
    node_close(&b);
}

Test(node_p2p, key_outside_the_allow_list_is_rejected) {
    tnode a, b, c;
    node_keys(&a, 1);
    node_keys(&b, 2);
    node_keys(&c, 3);
    uint8_t allow[2][32];
    memcpy(allow[0], a.pk, 32);
    memcpy(allow[1], b.pk, 32);
    p2p_config ca = node_config(&a, "allow");
    ca.allow = (const uint8_t(*)[32])allow;
    ca.allow_n = 2;
    node_start(&a, &ca);
    char addr[32];
    addr_of(addr, p2p_listen_port(&a.p));
    const char *peers[] = {addr};
    p2p_config cb = node_config(&b, "allow");
    cb.peers = peers;
    cb.peers_n = 1;
    p2p_config cc = node_config(&c, "allow");
    cc.peers = peers;
    cc.peers_n = 1;
    node_start(&b, &cb);
    node_start(&c, &cc);
    char c_hex[65];
    gz_hex_encode(c_hex, c.pk, 32);
    RUN_UNTIL(a.ups == 1 && strstr(a.log, "not in the allow-list") != NULL, 3000);
    cr_assert_eq(a.ups, 1);
    cr_assert_eq(memcmp(a.last_up_key, b.pk, 32), 0);
    cr_assert(strstr(a.log, c_hex) != NULL, "the log names the refused key: %s", a.log);
    RUN_UNTIL(false, 300);
    cr_assert_eq(p2p_peer_count(&a.p), 1);
    cr_assert_eq(c.ups, 0);
    node_close(&a);
    node_close(&b);
    node_close(&c);
}

/* A good peer b stays served while raw sockets misbehave at a. */
Test(node_p2p, garbage_oversized_and_early_frames_are_dropped_while_serving_the_good_peer) {
    tnode a, b;
    node_keys(&a, 1);
    node_keys(&b, 2);
    pair_up(&a, &b, "robust");
    uint16_t port = p2p_listen_port(&a.p);
    static const struct {
        const char *bytes;
        size_t len;
        const char *reason;
    } cases[] = {
        {"\xff\xff\xff\xff", 4, "frame of 4294967295 bytes exceeds limit"},
        {"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27, "exceeds limit"},
        {"\x00\x00\x00\x03\x01\x02\x03", 7, "undecodable frame"},
        {"\x00\x00\x00\x00", 4, "empty frame"},
        {"\x00\x00\x00\x05\x92\x10\xc4\x01\x61", 9, "type 16 before the handshake"},
        {"\x00\x00\x00\x04\x92\x02\xc4\x00", 8, "type 2 before the handshake"},
        {"\x00\x00\x00\x05\x92\x01\xc4\x01\x00", 9, "bad hello"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        raw r;
        a.log[0] = '\0';
        raw_connect(&r, port);
        raw_write(&r, (const uint8_t *)cases[i].bytes, cases[i].len);
        RUN_UNTIL(r.eof, 2000);
        cr_assert(r.eof, "case %zu: the node hangs up", i);
        cr_assert(strstr(a.log, cases[i].reason) != NULL, "case %zu: log was: %s", i, a.log);
        cr_assert(strstr(a.log, "dropped: ") != NULL);
        raw_close(&r);
    }
    cr_assert_eq(p2p_peer_count(&a.p), 1);
    cr_assert_eq(p2p_send(&b.p, b.last_up_id, 16, (const uint8_t *)"still", 5), GZ_OK);
    cr_assert_eq(p2p_send(&a.p, a.last_up_id, 16, (const uint8_t *)"here", 4), GZ_OK);
    RUN_UNTIL(a.msgs == 1 && b.msgs == 1, 2000);
    cr_assert_eq(a.msgs, 1);
    cr_assert_eq(b.msgs, 1);
    cr_assert_eq(a.downs + b.downs, 0);
    node_close(&a);
    node_close(&b);
}

Test(node_p2p, hand_made_handshake_then_oversized_frame_drops_the_peer) {
    tnode a, x;
    node_keys(&a, 1);
    node_keys(&x, 7);
    p2p_config ca = node_config(&a, "wire");
    node_start(&a, &ca);
    raw r;
    raw_connect(&r, p2p_listen_port(&a.p));
    raw_handshake(&r, &a, x.sk, x.pk, "wire");
    RUN_UNTIL(a.ups == 1, 2000);
    cr_assert_eq(a.ups, 1);
    cr_assert_eq(memcmp(a.last_up_key, x.pk, 32), 0);
    raw_send_frame(&r, 99, (const uint8_t *)"app", 3);
    RUN_UNTIL(a.msgs == 1, 2000);
    cr_assert_eq(a.last_type, 99);
    cr_assert_eq(a.last_len, 3);
    /* A transport type after the handshake is a protocol error. */
    raw_send_frame(&r, 3, NULL, 0);
    RUN_UNTIL(a.downs == 1, 2000);
    cr_assert_eq(a.downs, 1);
    cr_assert(strstr(a.last_down_reason, "transport message of type 3") != NULL, "%s",
              a.last_down_reason);
    raw_close(&r);

    /* Authenticated frames may be large, but not over GZ_FRAME_BYTES_MAX. */
    raw_connect(&r, p2p_listen_port(&a.p));
    raw_handshake(&r, &a, x.sk, x.pk, "wire");
    RUN_UNTIL(a.ups == 2, 2000);
    cr_assert_eq(a.ups, 2);
    uint32_t over = GZ_FRAME_BYTES_MAX + 16 + 1;
    uint8_t head[4] = {(uint8_t)(over >> 24), (uint8_t)(over >> 16), (uint8_t)(over >> 8),
                       (uint8_t)over};
    raw_write(&r, head, 4);
    RUN_UNTIL(a.downs == 2, 2000);
    cr_assert_eq(a.downs, 2);
    char want[96];
    snprintf(want, sizeof want, "frame of %u bytes exceeds limit of %u", over,
             (unsigned)GZ_FRAME_BYTES_MAX + 16);
    cr_assert(strstr(a.last_down_reason, want) != NULL, "%s", a.last_down_reason);
    RUN_UNTIL(r.eof, 2000);
    cr_assert(r.eof);
    raw_close(&r);
    node_close(&a);
}

Test(node_p2p, handshake_timeout_drops_a_silent_connection) {
    tnode a;
    node_keys(&a, 1);
    p2p_config ca = node_config(&a, "slow");
    ca.handshake_timeout_ms = 150;
    node_start(&a, &ca);
    raw r;
    raw_connect(&r, p2p_listen_port(&a.p));
    RUN_UNTIL(r.eof, 2000);
    cr_assert(r.eof);
    cr_assert(strstr(a.log, "handshake timed out after 150 ms") != NULL, "%s", a.log);
    raw_close(&r);
    node_close(&a);
}

Test(node_p2p, bad_auth_signature_is_rejected) {
    tnode a, x, y;
    node_keys(&a, 1);
    node_keys(&x, 7);
    node_keys(&y, 8);
    p2p_config ca = node_config(&a, "auth");
    node_start(&a, &ca);
    raw r;
    raw_connect(&r, p2p_listen_port(&a.p));
    /* Claims x's key but can only sign with y's, so it cannot prove it. */
    uint8_t type, pl[256];
    size_t len;
    RUN_UNTIL(raw_take_frame(&r, &type, pl, &len, sizeof pl), 2000);
    gz_buf b;
    gz_buf_init(&b);
    uint8_t challenge[32] = {1}, digest[32], sig[64];
    uint8_t eph[32], eph_sk[32] = {7};
    cr_assert_eq(p2p_x25519_pub(eph, eph_sk), GZ_OK);
    cr_assert_eq(mp_put_array(&b, 5), GZ_OK);
    cr_assert_eq(mp_put_uint(&b, 2), GZ_OK);
    cr_assert_eq(mp_put_str(&b, "auth", 4), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, x.pk, 32), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, challenge, 32), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, eph, 32), GZ_OK);
    raw_send_frame(&r, 1, b.data, b.len);
    gz_buf_reset(&b);
    memset(digest, 0x5a, 32);
    cr_assert_eq(core_sign32(sig, y.sk, digest, NULL), GZ_OK);
    cr_assert_eq(mp_put_array(&b, 1), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, sig, 64), GZ_OK);
    raw_send_frame(&r, 2, b.data, b.len);
    gz_buf_free(&b);
    RUN_UNTIL(r.eof, 2000);
    cr_assert(r.eof);
    cr_assert(strstr(a.log, "auth signature does not verify") != NULL, "%s", a.log);
    cr_assert_eq(a.ups, 0);
    raw_close(&r);
    node_close(&a);
}

Test(node_p2p, dialer_reconnects_after_the_peer_restarts) {
    tnode a, b;
    node_keys(&a, 1);
    node_keys(&b, 2);
    pair_up(&a, &b, "restart");
    uint16_t port = p2p_listen_port(&a.p);
    node_close(&a);
    RUN_UNTIL(b.downs == 1, 2000);
    cr_assert_eq(b.downs, 1);
    cr_assert_eq(p2p_peer_count(&b.p), 0);
    /* b keeps dialling a port nobody listens on for a while. */
    RUN_UNTIL(false, 300);
    tnode a2;
    node_keys(&a2, 1);
    p2p_config ca = node_config(&a2, "restart");
    ca.listen_port = port;
    node_start(&a2, &ca);
    RUN_UNTIL(b.ups == 2 && a2.ups == 1, 3000);
    cr_assert_eq(b.ups, 2, "b log: %s", b.log);
    cr_assert_eq(a2.ups, 1);
    cr_assert_eq(memcmp(b.last_up_key, a.pk, 32), 0);
    cr_assert_eq(p2p_send(&b.p, b.last_up_id, 16, (const uint8_t *)"again", 5), GZ_OK);
    RUN_UNTIL(a2.msgs == 1, 2000);
    cr_assert_eq(a2.msgs, 1);
    node_close(&a2);
    node_close(&b);
}

Test(node_p2p, disconnect_reports_down_and_the_dialer_comes_back) {
    tnode a, b;
    node_keys(&a, 1);
    node_keys(&b, 2);
    pair_up(&a, &b, "kick");
    int id = a.last_up_id;
    cr_assert_eq(p2p_disconnect(&a.p, id, "vote signed by a key outside the validator set"), GZ_OK);
    cr_assert_eq(a.downs, 1, "on_peer_down fires before p2p_disconnect returns");
    cr_assert_eq(a.last_down_id, id);
    cr_assert_str_eq(a.last_down_reason, "vote signed by a key outside the validator set");
    cr_assert(strstr(a.log, "dropped: vote signed by a key outside") != NULL, "%s", a.log);
    cr_assert_eq(p2p_disconnect(&a.p, id, "again"), GZ_ENOTFOUND);
    cr_assert_eq(p2p_send(&a.p, id, 16, NULL, 0), GZ_ENOTFOUND);
    RUN_UNTIL(b.downs == 1 && a.ups == 2, 3000);
    cr_assert_eq(b.downs, 1);
    cr_assert_eq(a.ups, 2, "b redials");
    cr_assert_neq(a.last_up_id, id, "peer ids are not reused");
    node_close(&a);
    node_close(&b);
}

Test(node_p2p, slow_reader_is_dropped_when_its_send_queue_exceeds_the_bound) {
    tnode a, x;
    node_keys(&a, 1);
    node_keys(&x, 7);
    p2p_config ca = node_config(&a, "slowpoke");
    ca.sendq_bytes_max = 1u << 20;
    node_start(&a, &ca);
    raw r;
    raw_connect(&r, p2p_listen_port(&a.p));
    raw_handshake(&r, &a, x.sk, x.pk, "slowpoke");
    RUN_UNTIL(a.ups == 1, 2000);
    cr_assert_eq(a.ups, 1);
    cr_assert_eq(uv_read_stop((uv_stream_t *)&r.tcp), 0);
    int id = a.last_up_id;
    size_t chunk = 64u * 1024u;
    uint8_t *payload = calloc(1, chunk);
    int rc = GZ_OK;
    size_t sent = 0;
    /* The kernel's socket buffers absorb a few MiB first; then libuv queues
     * and the bound trips. Let the loop run now and then, as a node would. */
    for (int i = 0; i < 4000 && rc == GZ_OK; i++) {
        rc = p2p_send(&a.p, id, 16, payload, chunk);
        if (rc == GZ_OK) sent += chunk;
        if (i % 16 == 0) uv_run(&g_loop, UV_RUN_NOWAIT);
    }
    free(payload);
    cr_assert_eq(rc, GZ_ELIMIT, "sent %zu bytes without tripping the bound", sent);
    cr_assert_eq(a.downs, 1);
    cr_assert(strstr(a.last_down_reason, "peer too slow") != NULL, "%s", a.last_down_reason);
    cr_assert_eq(p2p_peer_count(&a.p), 0);
    cr_assert_eq(p2p_send(&a.p, id, 16, NULL, 0), GZ_ENOTFOUND);
    raw_close(&r);
    node_close(&a);
}

Test(node_p2p, self_connection_is_dropped_and_not_redialled) {
    tnode a;
    node_keys(&a, 1);
    uint16_t port = free_port();
    char addr[32];
    addr_of(addr, port);
    const char *peers[] = {addr};
    p2p_config ca = node_config(&a, "self");
    ca.listen_port = port;
    ca.peers = peers;
    ca.peers_n = 1;
    node_start(&a, &ca);
    RUN_UNTIL(strstr(a.log, "self-connection") != NULL, 2000);
    RUN_UNTIL(false, 500); /* many backoff periods */
    int lines = 0;
    for (const char *s = a.log; (s = strstr(s, "self-connection")) != NULL; s++) lines++;
    cr_assert_eq(lines, 2, "one drop on each end, then no redial: %s", a.log);
    cr_assert_eq(a.ups, 0);
    node_close(&a);
}

/* Frames that arrived in the same read as the one whose handler dropped the
 * peer, or closed the whole transport, are not delivered. */
Test(node_p2p, disconnect_and_close_from_inside_on_message_are_safe) {
    tnode a, b;
    node_keys(&a, 1);
    node_keys(&b, 2);
    pair_up(&a, &b, "reentry");
    a.kick_on_msg = true;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(p2p_send(&b.p, b.last_up_id, 16, (const uint8_t *)"m", 1), GZ_OK);
    RUN_UNTIL(a.downs == 1 && b.downs == 1, 2000);
    cr_assert_eq(a.msgs, 1, "nothing is delivered after the drop");
    cr_assert_str_eq(a.last_down_reason, "kicked from on_message");
    RUN_UNTIL(a.ups == 2 && b.ups == 2, 3000);
    cr_assert_eq(a.ups, 2, "b redials after the kick");
    a.close_on_msg = true;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(p2p_send(&b.p, b.last_up_id, 16, (const uint8_t *)"m", 1), GZ_OK);
    RUN_UNTIL(a.closed, 2000);
    cr_assert(a.closed);
    cr_assert_eq(a.msgs, 2);
    cr_assert_eq(a.downs, 1, "no on_peer_down after p2p_close");
    RUN_UNTIL(b.downs == 2, 2000);
    cr_assert_eq(b.downs, 2);
    free(a.last_payload);
    node_close(&b);
}

/* ---- the encrypted transport ---- */

/* Seals [type, payload] as the raw client's next frame into out; returns its length. */
static size_t raw_seal(raw *r, uint8_t type, const uint8_t *pl, size_t len, uint8_t *out) {
    gz_buf body;
    gz_buf_init(&body);
    cr_assert_eq(mp_put_array(&body, 2), GZ_OK);
    cr_assert_eq(mp_put_uint(&body, type), GZ_OK);
    cr_assert_eq(mp_put_bin(&body, pl, len), GZ_OK);
    cr_assert_eq(p2p_seal(out, r->key_tx, r->ctr_tx++, body.data, body.len), GZ_OK);
    size_t n = 4 + body.len + 16;
    gz_buf_free(&body);
    return n;
}

/* A raw peer up at node a (listening on chain "enc"). */
static void raw_up(raw *r, tnode *a, const tnode *x) {
    int ups = a->ups;
    raw_connect(r, p2p_listen_port(&a->p));
    raw_handshake(r, a, x->sk, x->pk, "enc");
    RUN_UNTIL(a->ups == ups + 1, 2000);
    cr_assert_eq(a->ups, ups + 1, "log: %s", a->log);
}

static void expect_auth_failure(tnode *a, raw *r, int downs) {
    RUN_UNTIL(a->downs == downs, 2000);
    cr_assert_eq(a->downs, downs);
    cr_assert(strstr(a->last_down_reason, "does not authenticate") != NULL, "%s", a->last_down_reason);
    RUN_UNTIL(r->eof, 2000);
    cr_assert(r->eof, "the node hangs up");
    raw_close(r);
}

Test(node_p2p, frames_are_encrypted_and_tampered_replayed_reordered_cut_frames_close) {
    tnode a, x;
    node_keys(&a, 1);
    node_keys(&x, 7);
    p2p_config ca = node_config(&a, "enc");
    node_start(&a, &ca);
    raw r;
    uint8_t f1[64], f2[64];
    /* The node's frames are sealed: its first app frame opens under our key. */
    raw_up(&r, &a, &x);
    cr_assert_eq(p2p_send(&a.p, a.last_up_id, 16, (const uint8_t *)"secret", 6), GZ_OK);
    uint8_t type, pl[64];
    size_t len;
    RUN_UNTIL(raw_take_frame(&r, &type, pl, &len, sizeof pl), 2000);
    cr_assert_eq(type, 16);
    cr_assert_eq(len, 6);
    cr_assert_eq(memcmp(pl, "secret", 6), 0);
    /* A flipped bit. */
    size_t n = raw_seal(&r, 16, (const uint8_t *)"ok", 2, f1);
    raw_write(&r, f1, n);
    RUN_UNTIL(a.msgs == 1, 2000);
    cr_assert_eq(a.msgs, 1, "a good sealed frame is delivered");
    n = raw_seal(&r, 16, (const uint8_t *)"ok", 2, f1);
    f1[6] ^= 0x10;
    raw_write(&r, f1, n);
    expect_auth_failure(&a, &r, 1);
    /* A replay of a frame that was accepted. */
    raw_up(&r, &a, &x);
    n = raw_seal(&r, 16, (const uint8_t *)"once", 4, f1);
    raw_write(&r, f1, n);
    raw_write(&r, f1, n);
    expect_auth_failure(&a, &r, 2);
    cr_assert_eq(a.msgs, 2, "the first copy was delivered, the replay not");
    /* Two frames in the wrong order. */
    raw_up(&r, &a, &x);
    size_t n1 = raw_seal(&r, 16, (const uint8_t *)"1", 1, f1);
    size_t n2 = raw_seal(&r, 16, (const uint8_t *)"2", 1, f2);
    raw_write(&r, f2, n2);
    raw_write(&r, f1, n1);
    expect_auth_failure(&a, &r, 3);
    /* A frame cut short, its length prefix rewritten to match. */
    raw_up(&r, &a, &x);
    n = raw_seal(&r, 16, (const uint8_t *)"whole", 5, f1);
    f1[3]--;
    raw_write(&r, f1, n - 1);
    expect_auth_failure(&a, &r, 4);
    cr_assert_eq(a.msgs, 2);
    node_close(&a);
}

Test(node_p2p, version_1_hello_is_refused_as_unsupported) {
    tnode a, x;
    node_keys(&a, 1);
    node_keys(&x, 7);
    p2p_config ca = node_config(&a, "enc");
    node_start(&a, &ca);
    raw r;
    raw_connect(&r, p2p_listen_port(&a.p));
    gz_buf b;
    gz_buf_init(&b);
    uint8_t challenge[32] = {3};
    cr_assert_eq(mp_put_array(&b, 4), GZ_OK);
    cr_assert_eq(mp_put_uint(&b, 1), GZ_OK);
    cr_assert_eq(mp_put_str(&b, "enc", 3), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, x.pk, 32), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, challenge, 32), GZ_OK);
    raw_send_frame(&r, 1, b.data, b.len);
    gz_buf_free(&b);
    RUN_UNTIL(r.eof, 2000);
    cr_assert(r.eof);
    cr_assert(strstr(a.log, "bad hello: hello.version: 1 is not supported (this node speaks 2)") != NULL, "%s",
              a.log);
    cr_assert_eq(a.ups, 0);
    raw_close(&r);
    node_close(&a);
}

/* A man in the middle who swaps the ephemeral key in a HELLO cannot make the
 * AUTH verify: the signature covers both ephemeral keys. */
Test(node_p2p, auth_over_a_swapped_ephemeral_key_does_not_verify) {
    tnode a, x;
    node_keys(&a, 1);
    node_keys(&x, 7);
    p2p_config ca = node_config(&a, "enc");
    node_start(&a, &ca);
    raw r;
    raw_connect(&r, p2p_listen_port(&a.p));
    uint8_t type, pl[256], their_eph[32], their_ch[32], pk[32], sig[64], digest[32];
    size_t len;
    char chain[8];
    uint64_t v;
    RUN_UNTIL(raw_take_frame(&r, &type, pl, &len, sizeof pl), 2000);
    mp_rd rd;
    mp_rd_init(&rd, pl, len, NULL);
    cr_assert_eq(mp_get_array_n(&rd, "hello", 5), GZ_OK);
    cr_assert_eq(mp_get_uint(&rd, "v", &v), GZ_OK);
    cr_assert_eq(mp_get_str(&rd, "c", chain, 7), GZ_OK);
    cr_assert_eq(mp_get_bin_fixed(&rd, "pk", pk, 32), GZ_OK);
    cr_assert_eq(mp_get_bin_fixed(&rd, "ch", their_ch, 32), GZ_OK);
    cr_assert_eq(mp_get_bin_fixed(&rd, "eph", their_eph, 32), GZ_OK);
    uint8_t sent_eph[32], signed_eph[32], sk1[32] = {0x10}, sk2[32] = {0x20}; /* distinct after clamping */
    cr_assert_eq(p2p_x25519_pub(sent_eph, sk1), GZ_OK);
    cr_assert_eq(p2p_x25519_pub(signed_eph, sk2), GZ_OK);
    gz_buf b;
    gz_buf_init(&b);
    cr_assert_eq(mp_put_array(&b, 5), GZ_OK);
    cr_assert_eq(mp_put_uint(&b, 2), GZ_OK);
    cr_assert_eq(mp_put_str(&b, "enc", 3), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, x.pk, 32), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, their_ch, 32), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, sent_eph, 32), GZ_OK);
    raw_send_frame(&r, 1, b.data, b.len);
    gz_buf_reset(&b);
    /* x's genuine signature, but over the ephemeral key x really sent. */
    raw_auth_digest(digest, their_ch, their_eph, signed_eph, "enc", x.pk);
    cr_assert_eq(core_sign32(sig, x.sk, digest, NULL), GZ_OK);
    cr_assert_eq(mp_put_array(&b, 1), GZ_OK);
    cr_assert_eq(mp_put_bin(&b, sig, 64), GZ_OK);
    raw_send_frame(&r, 2, b.data, b.len);
    gz_buf_free(&b);
    RUN_UNTIL(r.eof, 2000);
    cr_assert(strstr(a.log, "auth signature does not verify") != NULL, "log: %s ups %d eof %d", a.log, a.ups, r.eof);
    cr_assert_eq(a.ups, 0);
    raw_close(&r);
    node_close(&a);
}

/* ---- slots, per-address limits and the send budget ---- */

static void node_start_classified(tnode *n, const p2p_config *cfg) {
    gz_msg m;
    gz_msg_clear(&m);
    cr_assert_eq(p2p_init(&n->p, &g_loop, cfg, &k_cb_classify, n, &m), GZ_OK, "%s", m.text);
    cr_assert_eq(p2p_start(&n->p, &m), GZ_OK, "%s", m.text);
}

/* Starts n dialling a's port (chain "slots"). */
static void dial_a(tnode *n, int key, const char *addr) {
    node_keys(n, key);
    const char *peers[] = {addr};
    p2p_config c = node_config(n, "slots");
    c.listen_host = NULL;
    c.peers = peers;
    c.peers_n = 1;
    node_start(n, &c);
}

static bool has_peer(const tnode *a, const uint8_t key[32]) {
    int ids[16];
    size_t n = p2p_peer_ids(&a->p, ids, 16);
    for (size_t i = 0; i < n && i < 16; i++) {
        p2p_peer_info info;
        if (p2p_peer_info_get(&a->p, ids[i], &info) == GZ_OK && memcmp(info.pubkey, key, 32) == 0) return true;
    }
    return false;
}

Test(node_p2p, outsider_slots_fill_and_a_validator_still_gets_in) {
    tnode a, o[3], v[2];
    node_keys(&a, 1);
    node_keys(&v[0], 20);
    node_keys(&v[1], 21);
    memcpy(a.vals[0], v[0].pk, 32);
    memcpy(a.vals[1], v[1].pk, 32);
    a.n_vals = 2;
    p2p_config ca = node_config(&a, "slots");
    ca.peers_max = 3;
    ca.outsiders_max = 2;
    ca.outsiders_per_ip_max = 8;
    node_start_classified(&a, &ca);
    char addr[32];
    addr_of(addr, p2p_listen_port(&a.p));
    dial_a(&o[0], 10, addr);
    dial_a(&o[1], 11, addr);
    RUN_UNTIL(p2p_peer_count(&a.p) == 2, 3000);
    cr_assert_eq(p2p_peer_count(&a.p), 2, "%s", a.log);
    dial_a(&o[2], 12, addr);
    RUN_UNTIL(strstr(a.log, "outsider slots full (limit 2)") != NULL, 3000);
    cr_assert(strstr(a.log, "outsider slots full (limit 2)") != NULL, "%s", a.log);
    cr_assert(!has_peer(&a, o[2].pk));
    /* The last slot is not an outsider's: a validator takes it. */
    dial_a(&v[0], 20, addr);
    RUN_UNTIL(has_peer(&a, v[0].pk), 3000);
    cr_assert(has_peer(&a, v[0].pk), "%s", a.log);
    cr_assert_eq(p2p_peer_count(&a.p), 3);
    /* Every slot is taken; a second validator displaces an outsider. */
    dial_a(&v[1], 21, addr);
    RUN_UNTIL(has_peer(&a, v[1].pk), 3000);
    cr_assert(has_peer(&a, v[1].pk), "%s", a.log);
    cr_assert(strstr(a.log, "slot given to validator") != NULL, "%s", a.log);
    RUN_UNTIL(false, 300); /* the displaced outsider redials and is refused */
    cr_assert_eq(p2p_peer_count(&a.p), 3);
    cr_assert(has_peer(&a, v[0].pk) && has_peer(&a, v[1].pk), "validators stay: %s", a.log);
    cr_assert(strstr(a.log, "too many peers (limit 3)") != NULL, "%s", a.log);
    for (int i = 0; i < 3; i++) node_close(&o[i]);
    for (int i = 0; i < 2; i++) node_close(&v[i]);
    node_close(&a);
}

Test(node_p2p, outsiders_per_address_are_limited_but_validators_are_not) {
    tnode a, o[3], v;
    node_keys(&a, 1);
    node_keys(&v, 20);
    memcpy(a.vals[0], v.pk, 32);
    a.n_vals = 1;
    p2p_config ca = node_config(&a, "slots");
    ca.outsiders_per_ip_max = 2;
    node_start_classified(&a, &ca);
    char addr[32];
    addr_of(addr, p2p_listen_port(&a.p));
    for (int i = 0; i < 3; i++) dial_a(&o[i], 10 + i, addr);
    RUN_UNTIL(strstr(a.log, "too many outsider peers from 127.0.0.1 (limit 2)") != NULL, 3000);
    cr_assert(strstr(a.log, "too many outsider peers from 127.0.0.1 (limit 2)") != NULL, "%s", a.log);
    cr_assert_eq(p2p_peer_count(&a.p), 2);
    dial_a(&v, 20, addr);
    RUN_UNTIL(has_peer(&a, v.pk), 3000);
    cr_assert(has_peer(&a, v.pk), "a validator from the same address gets in: %s", a.log);
    p2p_peer_info info;
    int ids[8];
    size_t n = p2p_peer_ids(&a.p, ids, 8);
    cr_assert_eq(n, 3);
    for (size_t i = 0; i < n; i++) {
        cr_assert_eq(p2p_peer_info_get(&a.p, ids[i], &info), GZ_OK);
        cr_assert_eq(info.cls, memcmp(info.pubkey, v.pk, 32) == 0 ? P2P_PEER_VALIDATOR : P2P_PEER_OUTSIDER);
    }
    for (int i = 0; i < 3; i++) node_close(&o[i]);
    node_close(&v);
    node_close(&a);
}

Test(node_p2p, classify_refused_key_is_dropped_at_hello) {
    tnode a, b;
    node_keys(&a, 1);
    p2p_config ca = node_config(&a, "slots");
    ca.allow = (const uint8_t(*)[32])a.pk; /* only ourselves: everyone else is refused */
    ca.allow_n = 1;
    node_start(&a, &ca);
    char addr[32], hexk[65];
    addr_of(addr, p2p_listen_port(&a.p));
    dial_a(&b, 9, addr);
    gz_hex_encode(hexk, b.pk, 32);
    RUN_UNTIL(strstr(a.log, "is not in the allow-list") != NULL, 3000);
    cr_assert(strstr(a.log, hexk) != NULL, "%s", a.log);
    cr_assert_eq(a.ups, 0);
    node_close(&b);
    node_close(&a);
}

/* Connections that never send HELLO fill one address's handshake limit; the
 * oldest silent one makes room, so a validator dialling in still gets up. */
Test(node_p2p, handshake_flood_evicts_silent_connections_and_a_validator_gets_in) {
    tnode a, v;
    node_keys(&a, 1);
    node_keys(&v, 20);
    memcpy(a.vals[0], v.pk, 32);
    a.n_vals = 1;
    p2p_config ca = node_config(&a, "slots");
    ca.handshakes_per_ip_max = 3;
    node_start_classified(&a, &ca);
    raw r[8];
    for (int i = 0; i < 8; i++) raw_connect(&r[i], p2p_listen_port(&a.p));
    int eofs = 0;
    RUN_UNTIL((eofs = r[0].eof + r[1].eof + r[2].eof + r[3].eof + r[4].eof) >= 5, 2000);
    cr_assert_geq(eofs, 5, "the oldest silent connections were closed: %s", a.log);
    cr_assert(strstr(a.log, "silent handshake closed for a newer one from 127.0.0.1 (limit 3)") != NULL, "%s",
              a.log);
    char addr[32];
    addr_of(addr, p2p_listen_port(&a.p));
    dial_a(&v, 20, addr);
    RUN_UNTIL(has_peer(&a, v.pk), 3000);
    cr_assert(has_peer(&a, v.pk), "%s", a.log);
    for (int i = 0; i < 8; i++) raw_close(&r[i]);
    node_close(&v);
    node_close(&a);
}

Test(node_p2p, a_frame_larger_than_the_queue_bound_goes_into_an_empty_queue) {
    tnode a, b;
    node_keys(&a, 1);
    node_keys(&b, 2);
    p2p_config ca = node_config(&a, "big");
    ca.sendq_bytes_max = 4096;
    node_start(&a, &ca);
    char addr[32];
    addr_of(addr, p2p_listen_port(&a.p));
    const char *peers[] = {addr};
    p2p_config cb = node_config(&b, "big");
    cb.peers = peers;
    cb.peers_n = 1;
    node_start(&b, &cb);
    RUN_UNTIL(a.ups == 1 && b.ups == 1, 3000);
    size_t big = 300u * 1024u; /* more than two sealing pieces */
    uint8_t *payload = malloc(big);
    for (size_t i = 0; i < big; i++) payload[i] = (uint8_t)(i * 7);
    cr_assert_eq(p2p_send(&a.p, a.last_up_id, 16, payload, big), GZ_OK);
    cr_assert_eq(p2p_send(&a.p, a.last_up_id, 16, payload, 10), GZ_ELIMIT, "a second frame is over the bound");
    cr_assert_eq(a.downs, 1);
    free(payload);
    node_close(&a);
    node_close(&b);
}

Test(node_p2p, the_total_send_budget_drops_the_peer_holding_the_most) {
    tnode a, x, y;
    node_keys(&a, 1);
    node_keys(&x, 7);
    node_keys(&y, 8);
    p2p_config ca = node_config(&a, "enc");
    ca.sendq_bytes_max = 3u << 20;
    ca.sendq_total_bytes_max = 4u << 20;
    node_start(&a, &ca);
    raw rx, ry;
    raw_up(&rx, &a, &x);
    int id_x = a.last_up_id;
    raw_up(&ry, &a, &y);
    int id_y = a.last_up_id;
    cr_assert_eq(uv_read_stop((uv_stream_t *)&rx.tcp), 0);
    cr_assert_eq(uv_read_stop((uv_stream_t *)&ry.tcp), 0);
    size_t chunk = 64u * 1024u;
    uint8_t *payload = calloc(1, chunk);
    for (int i = 0; i < 8000 && a.downs == 0; i++) {
        int rc = p2p_send(&a.p, i % 2 ? id_y : id_x, 16, payload, chunk);
        cr_assert(rc == GZ_OK || rc == GZ_ELIMIT || rc == GZ_ENOTFOUND, "rc %d", rc);
        if (i % 16 == 0) uv_run(&g_loop, UV_RUN_NOWAIT);
    }
    free(payload);
    cr_assert_eq(a.downs, 1, "one peer dropped: %s", a.log);
    cr_assert(strstr(a.last_down_reason, "send budget of all peers (4194304 bytes) exhausted") != NULL, "%s",
              a.last_down_reason);
    cr_assert_eq(p2p_peer_count(&a.p), 1, "the other peer stays");
    cr_assert_leq(a.p.held_bytes, 4u << 20, "back within the budget");
    raw_close(&rx);
    raw_close(&ry);
    node_close(&a);
}
