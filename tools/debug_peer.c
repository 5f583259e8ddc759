/* `gongzhi debug-peer`: a developer tool that plays a misbehaving peer.
 *
 * It dials a node's peer-to-peer port and completes the real, encrypted
 * handshake (docs/p2p.md) with a key of its own. In the single-shot actions
 * it waits for the node's STATUS, sends one bad message and reports whether
 * the node hung up. In the attack modes it keeps --count connections, each
 * with a fresh key, for --duration-ms, redialling what the node closes: the
 * end-to-end tests use them to check that a node under attack keeps its
 * chain moving. It uses blocking sockets and the transport's own codecs
 * (p2p/p2p_wire.h, p2p/p2p_crypto.h), so what it sends is exactly what a
 * faulty or hostile gongzhi node would send. */
#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/codec.h"
#include "core/keys.h"
#include "core/mp.h"
#include "node/config.h"
#include "node/wire.h"
#include "p2p/p2p_crypto.h"
#include "p2p/p2p_wire.h"

/* How long each phase may take before the tool gives up. */
#define DEBUG_PEER_TIMEOUT_MS_DEFAULT 5000u
/* Connections an attack mode keeps at once. */
#define DEBUG_PEER_COUNT_MAX 1024u
/* Pause before redialling a slot the node closed, so the tool attacks the
 * node and not the machine. */
#define DEBUG_PEER_REDIAL_MS 20u
/* How often a held connection sends its STATUS (the node drops a peer that
 * is silent for 8 s). */
#define DEBUG_PEER_STATUS_MS 1000u
/* BLOCK_REQs a no-read connection sends each turn, to make the node queue. */
#define DEBUG_PEER_BLOCK_REQS 1000u

enum debug_action {
    ACT_NONE, ACT_BAD_VOTE, ACT_GARBAGE, ACT_OVERSIZED, ACT_MALFORMED, ACT_TAMPER, ACT_EQUIVOCATE,
    MODE_HOLD, MODE_NO_READ, MODE_FLOOD, MODE_JUNK_BLOCK, MODE_LIE_HEIGHT
};

/* One connection to the node and its session. */
typedef struct dp_conn {
    int fd;
    uint8_t sk[32], pk[32];
    uint8_t their_pk[32];
    uint8_t key_tx[32], key_rx[32];
    uint64_t ctr_tx, ctr_rx;
    bool keyed;
    uint64_t node_height;
    uint64_t next_send_ms;
    uint64_t next_req; /* no-read: the next height it asks for */
    uint64_t retry_ms;
} dp_conn;

typedef struct debug_peer {
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    const char *connect_to;
    uint64_t validator;
    uint64_t votes;    /* --equivocate-votes */
    uint64_t timeout_ms;
    uint64_t duration_ms;
    uint64_t count;
    uint64_t spread; /* attack connections come from 127.0.1.1 .. 127.0.1.spread */
    uint64_t next_src;
    bool small_rcvbuf; /* no-read: a tiny receive buffer, so the node's own queue fills */
    uint8_t *body; /* the last frame read */
    uint64_t handshakes, failures, drops, sent;
} debug_peer;

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void conn_close(dp_conn *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    c->keyed = false;
}

/* Reads exactly n bytes before deadline_ms. Returns GZ_OK, GZ_ETIMEOUT when
 * the deadline passes, or GZ_EIO when the node closed the connection. */
static int read_full(int fd, uint8_t *p, size_t n, uint64_t deadline_ms) {
    while (n > 0) {
        uint64_t now = mono_ms();
        if (now >= deadline_ms) return GZ_ETIMEOUT;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(deadline_ms - now));
        if (r == 0) return GZ_ETIMEOUT;
        if (r < 0) return GZ_EIO;
        ssize_t got = read(fd, p, n);
        if (got <= 0) return GZ_EIO;
        p += got;
        n -= (size_t)got;
    }
    return GZ_OK;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t put = send(fd, p, n, MSG_NOSIGNAL);
        if (put <= 0) return GZ_EIO;
        p += put;
        n -= (size_t)put;
    }
    return GZ_OK;
}

/* Writes one frame: in plaintext during the handshake, sealed after it. */
static int send_frame(dp_conn *c, uint8_t type, const uint8_t *payload, size_t len) {
    uint8_t head[P2P_FRAME_HEAD_MAX];
    size_t hl = p2p_frame_head(head, type, len);
    size_t body = hl - P2P_LEN_BYTES + len;
    uint8_t *f = malloc(P2P_LEN_BYTES + body + P2P_TAG_BYTES);
    if (f == NULL) return GZ_ENOMEM;
    memcpy(f, head, hl);
    if (len > 0) memcpy(f + hl, payload, len);
    size_t total = P2P_LEN_BYTES + body;
    int rc = GZ_OK;
    if (c->keyed) {
        uint8_t *plain = malloc(body);
        if (plain != NULL) {
            memcpy(plain, f + P2P_LEN_BYTES, body);
            rc = p2p_seal(f, c->key_tx, c->ctr_tx++, plain, body);
        } else {
            rc = GZ_ENOMEM;
        }
        free(plain);
        total += P2P_TAG_BYTES;
    }
    if (rc == GZ_OK) rc = write_all(c->fd, f, total);
    free(f);
    return rc;
}

/* Reads one frame, opening it once keyed; *type and the payload (borrowed
 * from d->body) out. */
static int read_frame(debug_peer *d, dp_conn *c, uint64_t deadline_ms, uint8_t *type, const uint8_t **pl,
                      size_t *pl_len) {
    uint8_t head[P2P_LEN_BYTES];
    int rc = read_full(c->fd, head, sizeof head, deadline_ms);
    if (rc != GZ_OK) return rc;
    uint32_t len = p2p_frame_len(head);
    if (len == 0 || len > GZ_FRAME_BYTES_MAX + P2P_TAG_BYTES || (c->keyed && len <= P2P_TAG_BYTES))
        return GZ_EPROTO;
    free(d->body);
    d->body = malloc(P2P_LEN_BYTES + len);
    if (d->body == NULL) return GZ_ENOMEM;
    memcpy(d->body, head, P2P_LEN_BYTES);
    rc = read_full(c->fd, d->body + P2P_LEN_BYTES, len, deadline_ms);
    if (rc != GZ_OK) return rc;
    size_t body_len = len;
    if (c->keyed) {
        rc = p2p_open(d->body, len, c->key_rx, c->ctr_rx++);
        if (rc != GZ_OK) return rc;
        body_len -= P2P_TAG_BYTES;
    }
    return p2p_body_decode(d->body + P2P_LEN_BYTES, body_len, type, pl, pl_len, NULL);
}

/* Binds the socket to the next source address of the spread, so one host
 * looks like many on loopback (all of 127.0.0.0/8 is this machine). */
static int bind_spread(debug_peer *d, int fd) {
    if (d == NULL || d->spread == 0) return GZ_OK;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    uint32_t host = 1u + (uint32_t)(d->next_src++ % d->spread);
    sa.sin_addr.s_addr = htonl((127u << 24) | (1u << 8) | host);
    return bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 ? GZ_OK : GZ_EIO;
}

static int dial(debug_peer *d, dp_conn *c, const char *hostport) {
    char host[NODE_HOST_MAX], port[8];
    uint16_t p;
    if (node_parse_hostport(hostport, host, sizeof host, &p) != GZ_OK) return GZ_EARG;
    snprintf(port, sizeof port, "%u", (unsigned)p);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0) return GZ_EIO;
    c->fd = socket(res->ai_family, SOCK_STREAM, 0);
    int rcv = 4096;
    if (c->fd >= 0 && d != NULL && d->small_rcvbuf) (void)setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    int rc = c->fd >= 0 && (res->ai_family != AF_INET || bind_spread(d, c->fd) == GZ_OK) &&
                     connect(c->fd, res->ai_addr, res->ai_addrlen) == 0
                 ? GZ_OK
                 : GZ_EIO;
    freeaddrinfo(res);
    if (rc != GZ_OK) conn_close(c);
    return rc;
}

/* Both directions' session keys, as docs/p2p.md derives them. */
static int derive(dp_conn *c, const uint8_t eph_sk[32], const p2p_side *me, const p2p_side *them) {
    uint8_t shared[32];
    int rc = p2p_x25519_shared(shared, eph_sk, them->eph);
    if (rc != GZ_OK) return rc;
    p2p_session_key(c->key_tx, shared, me, them);
    p2p_session_key(c->key_rx, shared, them, me);
    return GZ_OK;
}

/* Sends HELLO, reads the node's, derives the keys. */
static int hello_both(debug_peer *d, dp_conn *c, uint64_t deadline, const uint8_t eph_sk[32], p2p_side *me,
                      p2p_side *them) {
    p2p_hello mine = {.version = P2P_VERSION}, theirs;
    snprintf(mine.chain_id, sizeof mine.chain_id, "%s", d->chain_id);
    memcpy(mine.pubkey, me->pubkey, 32);
    memcpy(mine.challenge, me->challenge, 32);
    memcpy(mine.eph, me->eph, 32);
    gz_buf b;
    gz_buf_init(&b);
    int rc = p2p_hello_encode(&b, &mine);
    if (rc == GZ_OK) rc = send_frame(c, P2P_MSG_HELLO, b.data, b.len);
    gz_buf_free(&b);
    uint8_t type = 0;
    const uint8_t *pl;
    size_t len;
    if (rc == GZ_OK) rc = read_frame(d, c, deadline, &type, &pl, &len);
    if (rc == GZ_OK && type != P2P_MSG_HELLO) rc = GZ_EPROTO;
    if (rc == GZ_OK) rc = p2p_hello_decode(&theirs, pl, len, NULL);
    if (rc != GZ_OK) return rc;
    memcpy(c->their_pk, theirs.pubkey, 32);
    memcpy(them->pubkey, theirs.pubkey, 32);
    memcpy(them->challenge, theirs.challenge, 32);
    memcpy(them->eph, theirs.eph, 32);
    return derive(c, eph_sk, me, them);
}

/* HELLO both ways, then AUTH both ways; the node's AUTH is verified. */
static int handshake(debug_peer *d, dp_conn *c) {
    uint64_t deadline = mono_ms() + d->timeout_ms;
    uint8_t eph_sk[32], digest[32], sig[64];
    p2p_side me, them;
    memcpy(me.pubkey, c->pk, 32);
    if (getrandom(me.challenge, 32, 0) != 32 || getrandom(eph_sk, 32, 0) != 32) return GZ_EIO;
    int rc = p2p_x25519_pub(me.eph, eph_sk);
    if (rc == GZ_OK) rc = hello_both(d, c, deadline, eph_sk, &me, &them);
    memset(eph_sk, 0, sizeof eph_sk);
    if (rc != GZ_OK) return rc;
    p2p_auth_digest(digest, them.challenge, them.eph, me.eph, d->chain_id, strlen(d->chain_id), me.pubkey);
    rc = core_sign32(sig, c->sk, digest, NULL);
    gz_buf b;
    gz_buf_init(&b);
    if (rc == GZ_OK) rc = p2p_auth_encode(&b, sig);
    if (rc == GZ_OK) rc = send_frame(c, P2P_MSG_AUTH, b.data, b.len);
    gz_buf_free(&b);
    uint8_t type = 0;
    const uint8_t *pl;
    size_t len;
    if (rc == GZ_OK) rc = read_frame(d, c, deadline, &type, &pl, &len);
    if (rc == GZ_OK && type != P2P_MSG_AUTH) rc = GZ_EPROTO;
    if (rc == GZ_OK) rc = p2p_auth_decode(sig, pl, len, NULL);
    p2p_auth_digest(digest, me.challenge, me.eph, them.eph, d->chain_id, strlen(d->chain_id), them.pubkey);
    if (rc == GZ_OK && !core_verify(sig, digest, 32, them.pubkey)) rc = GZ_ESIG;
    if (rc == GZ_OK) c->keyed = true;
    return rc;
}

/* Reads the node's messages until its STATUS tells its committed height. */
static int await_status(debug_peer *d, dp_conn *c) {
    uint64_t deadline = mono_ms() + d->timeout_ms;
    for (;;) {
        uint8_t type;
        const uint8_t *pl;
        size_t len;
        int rc = read_frame(d, c, deadline, &type, &pl, &len);
        if (rc != GZ_OK) return rc;
        if (type != NODE_MSG_STATUS) continue;
        mp_rd rd;
        mp_rd_init(&rd, pl, len, NULL);
        rc = mp_get_array_n(&rd, "status", 1);
        if (rc == GZ_OK) rc = mp_get_uint(&rd, "status.height", &c->node_height);
        return rc;
    }
}

static int send_vote(debug_peer *d, dp_conn *c, const gz_vote *v);

/* A prevote for nil at the node's next height, well formed and signed, but
 * by this tool's key while claiming a validator's index. */
static int send_bad_vote(debug_peer *d, dp_conn *c) {
    gz_vote v = {.type = 1, .height = c->node_height + 1, .round = 0, .has_block_id = false};
    snprintf(v.chain_id, sizeof v.chain_id, "%s", d->chain_id);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v.time = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return send_vote(d, c, &v);
}

/* VOTE = [vote, validator index, sig] for v, signed with the tool's key. */
static int send_vote(debug_peer *d, dp_conn *c, const gz_vote *v) {
    uint8_t h[32], sig[64];
    gz_buf vb, msg;
    gz_buf_init(&vb);
    gz_buf_init(&msg);
    int rc = core_vote_encode(v, &vb);
    if (rc == GZ_OK) rc = core_vote_sighash(h, v);
    if (rc == GZ_OK) rc = core_sign32(sig, c->sk, h, NULL);
    if (rc == GZ_OK) rc = mp_put_array(&msg, 3);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, vb.data, vb.len);
    if (rc == GZ_OK) rc = mp_put_uint(&msg, d->validator);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, sig, 64);
    if (rc == GZ_OK) rc = send_frame(c, NODE_MSG_VOTE, msg.data, msg.len);
    gz_buf_free(&vb);
    gz_buf_free(&msg);
    return rc;
}

/* One signed vote of validator d->validator for the node's next height; its
 * round, type and block follow from i, so that every i gives a distinct vote
 * and each (round, type) gets two values, as a Byzantine validator sends. */
static int send_equivocating_vote(debug_peer *d, dp_conn *c, uint64_t i) {
    gz_vote v = {.type = 1 + (i / 2) % 2, .height = c->node_height + 1, .round = i / 4, .has_block_id = true,
                 .time = 1};
    snprintf(v.chain_id, sizeof v.chain_id, "%s", d->chain_id);
    memset(v.block_id, 0xb0 + (int)(i % 2), 32);
    return send_vote(d, c, &v);
}

/* --equivocate-votes N: N distinct signed votes, then the same N again, as
 * re-sends bring them; with a validator's key they are all valid. */
static int send_equivocation(debug_peer *d, dp_conn *c) {
    int rc = GZ_OK;
    for (uint64_t pass = 0; pass < 2 && rc == GZ_OK; pass++) {
        for (uint64_t i = 0; i < d->votes && rc == GZ_OK; i++) rc = send_equivocating_vote(d, c, i);
        if (pass == 0) nanosleep(&(struct timespec){.tv_sec = 0, .tv_nsec = 500000000}, NULL);
    }
    return rc;
}

/* A STATUS whose sealed bytes have one bit flipped: the node must find that
 * it does not authenticate and hang up. */
static int send_tampered(dp_conn *c) {
    uint8_t body[] = {0x92, NODE_MSG_STATUS, 0xc4, 0x02, 0x91, 0x00};
    uint8_t f[P2P_LEN_BYTES + sizeof body + P2P_TAG_BYTES];
    int rc = p2p_seal(f, c->key_tx, c->ctr_tx++, body, sizeof body);
    f[P2P_LEN_BYTES + 1] ^= 0x01;
    return rc == GZ_OK ? write_all(c->fd, f, sizeof f) : rc;
}

static int send_bad(debug_peer *d, dp_conn *c, enum debug_action act) {
    /* A frame whose body is not [type, payload] once opened. */
    static const uint8_t garbage[] = {0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1};
    uint8_t sealed[P2P_LEN_BYTES + sizeof garbage + P2P_TAG_BYTES];
    /* A length prefix just over the frame bound, with no body behind it. */
    uint8_t oversized[P2P_LEN_BYTES];
    uint32_t big = GZ_FRAME_BYTES_MAX + P2P_TAG_BYTES + 1u;
    for (int i = 0; i < 4; i++) oversized[i] = (uint8_t)(big >> (24 - 8 * i));
    /* A well-framed vote message whose payload is not a vote. */
    static const uint8_t junk[] = {0x93, 0xc1, 0x00};
    switch (act) {
    case ACT_BAD_VOTE: return send_bad_vote(d, c);
    case ACT_GARBAGE:
        if (p2p_seal(sealed, c->key_tx, c->ctr_tx++, garbage, sizeof garbage) != GZ_OK) return GZ_ENOMEM;
        return write_all(c->fd, sealed, sizeof sealed);
    case ACT_OVERSIZED: return write_all(c->fd, oversized, sizeof oversized);
    case ACT_MALFORMED: return send_frame(c, NODE_MSG_VOTE, junk, sizeof junk);
    case ACT_TAMPER: return send_tampered(c);
    case ACT_EQUIVOCATE: return send_equivocation(d, c);
    default: return GZ_EMISUSE;
    }
}

/* Waits for the node to close the connection, ignoring what it sends. */
static bool await_hangup(debug_peer *d, dp_conn *c, uint64_t *after_ms) {
    uint64_t start = mono_ms(), deadline = start + d->timeout_ms;
    uint8_t buf[4096];
    for (;;) {
        uint64_t now = mono_ms();
        if (now >= deadline) return false;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(deadline - now));
        if (r == 0) return false;
        if (r < 0 || read(c->fd, buf, sizeof buf) <= 0) break;
    }
    *after_ms = mono_ms() - start;
    return true;
}

/* ---- attack modes ---- */

/* A well-formed Block for height: this chain's id, random ids and roots,
 * no txs. Its block id goes to id. */
static int junk_block(debug_peer *d, uint64_t height, gz_buf *block, uint8_t id[32]) {
    gz_header h;
    memset(&h, 0, sizeof h);
    snprintf(h.chain_id, sizeof h.chain_id, "%s", d->chain_id);
    h.height = height;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    h.time = (uint64_t)ts.tv_sec * 1000u;
    uint8_t rnd[6 * 32];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return GZ_EIO;
    memcpy(h.prev_block_id, rnd, 32);
    memcpy(h.tx_root, rnd + 32, 32);
    memcpy(h.state_root, rnd + 64, 32);
    memcpy(h.log_root, rnd + 96, 32);
    memcpy(h.validators_hash, rnd + 128, 32);
    memcpy(h.proposer, rnd + 160, 32);
    gz_buf hb;
    gz_buf_init(&hb);
    int rc = core_header_encode(&h, &hb);
    if (rc == GZ_OK) {
        core_block_id(id, hb.data, hb.len);
        rc = mp_put_array(block, 2);
    }
    if (rc == GZ_OK) rc = mp_put_bin(block, hb.data, hb.len);
    if (rc == GZ_OK) rc = mp_put_array(block, 0);
    gz_buf_free(&hb);
    return rc;
}

/* BLOCK [height, junk Block, a commit of one random signature for it]. */
static int send_junk_block(debug_peer *d, dp_conn *c, uint64_t height) {
    gz_commit *cm = calloc(1, sizeof *cm);
    gz_buf block, cb, msg;
    gz_buf_init(&block);
    gz_buf_init(&cb);
    gz_buf_init(&msg);
    int rc = cm != NULL ? junk_block(d, height, &block, cm->block_id) : GZ_ENOMEM;
    if (rc == GZ_OK) {
        cm->height = height;
        cm->n_sigs = 1;
        cm->sigs[0].time = (uint64_t)time(NULL) * 1000u;
        if (getrandom(cm->sigs[0].sig, 64, 0) != 64) rc = GZ_EIO;
    }
    if (rc == GZ_OK) rc = core_commit_encode(cm, &cb);
    if (rc == GZ_OK) rc = mp_put_array(&msg, 3);
    if (rc == GZ_OK) rc = mp_put_uint(&msg, height);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, block.data, block.len);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, cb.data, cb.len);
    if (rc == GZ_OK) rc = send_frame(c, NODE_MSG_BLOCK, msg.data, msg.len);
    gz_buf_free(&block);
    gz_buf_free(&cb);
    gz_buf_free(&msg);
    free(cm);
    return rc;
}

/* PROPOSAL [Proposal for a random block id, signed by this tool, a junk
 * Block that does not match it]. */
static int send_junk_proposal(debug_peer *d, dp_conn *c, uint64_t height) {
    gz_proposal pr = {.height = height, .round = 0, .pol_round = -1};
    snprintf(pr.chain_id, sizeof pr.chain_id, "%s", d->chain_id);
    uint8_t h[32], sig[64];
    gz_buf block, pb, msg;
    gz_buf_init(&block);
    gz_buf_init(&pb);
    gz_buf_init(&msg);
    int rc = getrandom(pr.block_id, 32, 0) == 32 ? GZ_OK : GZ_EIO;
    if (rc == GZ_OK) {
        uint8_t other[32]; /* the junk block's own id, which the proposal does not name */
        rc = junk_block(d, height, &block, other);
    }
    if (rc == GZ_OK) rc = core_proposal_encode(&pr, &pb);
    if (rc == GZ_OK) rc = core_proposal_sighash(h, &pr);
    if (rc == GZ_OK) rc = core_sign32(sig, c->sk, h, NULL);
    if (rc == GZ_OK) rc = mp_put_array(&msg, 3);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, pb.data, pb.len);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, sig, 64);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, block.data, block.len);
    if (rc == GZ_OK) rc = send_frame(c, NODE_MSG_PROPOSAL, msg.data, msg.len);
    gz_buf_free(&block);
    gz_buf_free(&pb);
    gz_buf_free(&msg);
    return rc;
}

static int send_status(dp_conn *c, uint64_t height) {
    gz_buf b;
    gz_buf_init(&b);
    int rc = mp_put_array(&b, 1);
    if (rc == GZ_OK) rc = mp_put_uint(&b, height);
    if (rc == GZ_OK) rc = send_frame(c, NODE_MSG_STATUS, b.data, b.len);
    gz_buf_free(&b);
    return rc;
}

/* A fresh key for every connection, so the node cannot tell them apart. */
static int fresh_key(dp_conn *c) {
    do {
        if (getrandom(c->sk, 32, 0) != 32) return GZ_EIO;
    } while (core_key_pub(c->pk, c->sk) != GZ_OK);
    return GZ_OK;
}

/* Opens one attack connection: TCP only for a flood, else the handshake
 * (and, for junk blocks, the node's height). */
static void slot_open(debug_peer *d, dp_conn *c, enum debug_action mode, uint64_t now) {
    int rc = fresh_key(c);
    c->ctr_tx = c->ctr_rx = 0;
    if (rc == GZ_OK) rc = dial(d, c, d->connect_to);
    if (rc == GZ_OK && mode != MODE_FLOOD) rc = handshake(d, c);
    if (rc == GZ_OK && mode == MODE_JUNK_BLOCK) rc = await_status(d, c);
    if (rc != GZ_OK) {
        d->failures++;
        conn_close(c);
        c->retry_ms = now + DEBUG_PEER_REDIAL_MS * 5;
        return;
    }
    d->handshakes++;
    c->next_send_ms = now;
}

/* STATUS, then BLOCK_REQs for the chain's first heights in turn: the node
 * answers each with a block that this connection never reads. */
static int send_block_reqs(dp_conn *c) {
    int rc = send_status(c, 0);
    for (unsigned i = 0; rc == GZ_OK && i < DEBUG_PEER_BLOCK_REQS; i++) {
        gz_buf b;
        gz_buf_init(&b);
        rc = mp_put_array(&b, 1);
        if (rc == GZ_OK) rc = mp_put_uint(&b, 1 + c->next_req++ % 1000u);
        if (rc == GZ_OK) rc = send_frame(c, NODE_MSG_BLOCK_REQ, b.data, b.len);
        gz_buf_free(&b);
    }
    return rc;
}

/* What a held connection sends when its turn comes. */
static int slot_send(dp_conn *c, debug_peer *d, enum debug_action mode) {
    switch (mode) {
    case MODE_HOLD: return send_status(c, 0);
    case MODE_NO_READ: return send_block_reqs(c);
    case MODE_LIE_HEIGHT: return send_status(c, c->node_height + (1ull << 40));
    case MODE_JUNK_BLOCK: {
        int rc = send_junk_block(d, c, c->node_height + 1);
        if (rc == GZ_OK) rc = send_junk_proposal(d, c, c->node_height + 1);
        return rc;
    }
    default: return GZ_OK; /* a flood sends nothing */
    }
}

/* Reads and discards what the node sent; false once it hung up. */
static bool slot_drain(int fd) {
    uint8_t buf[65536];
    for (;;) {
        ssize_t got = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (got > 0) continue;
        return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
    }
}

static void slot_tick(debug_peer *d, dp_conn *c, enum debug_action mode, uint64_t now, bool readable) {
    if (c->fd < 0) {
        if (now >= c->retry_ms) slot_open(d, c, mode, now);
        return;
    }
    bool alive = !readable || slot_drain(c->fd);
    if (alive && mode != MODE_FLOOD && now >= c->next_send_ms) {
        alive = slot_send(c, d, mode) == GZ_OK;
        if (alive) d->sent++;
        c->next_send_ms = now + DEBUG_PEER_STATUS_MS;
    }
    if (!alive) {
        d->drops++;
        conn_close(c);
        c->retry_ms = now + DEBUG_PEER_REDIAL_MS;
    }
}

static const char *mode_name(enum debug_action m) {
    switch (m) {
    case MODE_HOLD: return "hold";
    case MODE_NO_READ: return "no-read";
    case MODE_FLOOD: return "flood-handshake";
    case MODE_JUNK_BLOCK: return "junk-block";
    default: return "lie-height";
    }
}

/* Keeps d->count connections for d->duration_ms, redialling each one the
 * node closes. A no-read connection is never read again after its handshake,
 * so the node's send queue to it fills. */
static int attack(debug_peer *d, enum debug_action mode) {
    dp_conn *cs = calloc(d->count, sizeof *cs);
    struct pollfd *pf = calloc(d->count, sizeof *pf);
    if (cs == NULL || pf == NULL) {
        free(cs);
        free(pf);
        return cli_die(CLI_EXIT_FAIL, "debug-peer: out of memory");
    }
    for (uint64_t i = 0; i < d->count; i++) cs[i].fd = -1;
    uint64_t end = mono_ms() + d->duration_ms;
    for (uint64_t now = mono_ms(); now < end; now = mono_ms()) {
        for (uint64_t i = 0; i < d->count && mono_ms() < end; i++) slot_tick(d, &cs[i], mode, mono_ms(), false);
        for (uint64_t i = 0; i < d->count; i++) {
            pf[i].fd = mode == MODE_NO_READ ? -1 : cs[i].fd;
            pf[i].events = POLLIN;
            pf[i].revents = 0;
        }
        if (poll(pf, (nfds_t)d->count, 50) < 0 && errno != EINTR) break;
        for (uint64_t i = 0; i < d->count; i++)
            if (pf[i].revents != 0) slot_tick(d, &cs[i], mode, mono_ms(), true);
    }
    for (uint64_t i = 0; i < d->count; i++) conn_close(&cs[i]);
    printf("%s: %llu connections up, %llu refused or failed, %llu dropped by the node, %llu messages sent\n",
           mode_name(mode), (unsigned long long)d->handshakes, (unsigned long long)d->failures,
           (unsigned long long)d->drops, (unsigned long long)d->sent);
    free(cs);
    free(pf);
    return CLI_EXIT_OK;
}

static int debug_usage(void) {
    printf("usage: gongzhi debug-peer --connect HOST:PORT --chain-id ID --key FILE ACTION\n"
           "                          [--validator N] [--timeout-ms N]\n"
           "       gongzhi debug-peer --connect HOST:PORT --chain-id ID MODE\n"
           "                          --count N --duration-ms N [--spread K] [--timeout-ms N]\n\n"
           "Developer tool: plays a misbehaving peer against a node's p2p port. An ACTION\n"
           "completes the handshake with FILE's key, waits for the node's STATUS, sends one\n"
           "bad message and waits for the node to hang up. ACTION is one of\n"
           "  --send-bad-vote                 a vote claiming validator N (default 0), signed by FILE\n"
           "  --send-garbage-after-handshake  a sealed frame whose body does not decode\n"
           "  --send-oversized-after-handshake  a frame header over the frame size limit\n"
           "  --send-malformed-message        a vote message whose payload does not decode\n"
           "  --send-tampered-frame           a sealed frame with one bit flipped\n"
           "  --equivocate-votes N            with --key of validator --validator: N distinct signed\n"
           "                                  votes for the next height, then the same N again; exits 0\n"
           "                                  if the node keeps the connection for --timeout-ms\n"
           "Prints \"disconnected after N ms\" and exits 0 when the node hung up, exits 1 when\n"
           "it did not within --timeout-ms (default %u) or the handshake failed.\n\n"
           "A MODE keeps N connections, each with a fresh key, for the duration, redialling\n"
           "each one the node closes, then prints a summary line and exits 0. --spread K\n"
           "sends them from the loopback addresses 127.0.1.1 .. 127.0.1.K in turn, so that\n"
           "per-address limits see K hosts:\n"
           "  --hold             complete the handshake, keep the slot, answer nothing\n"
           "  --no-read          complete the handshake, ask for blocks, never read again\n"
           "  --flood-handshake  open TCP connections and never send HELLO\n"
           "  --junk-block       send BLOCK and PROPOSAL messages with junk blocks for the next height\n"
           "  --lie-height       claim a huge height in STATUS, never answer BLOCK_REQ\n",
           DEBUG_PEER_TIMEOUT_MS_DEFAULT);
    return CLI_EXIT_OK;
}

static int parse_action(const char *a, enum debug_action *act) {
    static const struct {
        const char *flag;
        enum debug_action act;
    } t[] = {{"--send-bad-vote", ACT_BAD_VOTE},       {"--send-garbage-after-handshake", ACT_GARBAGE},
             {"--send-oversized-after-handshake", ACT_OVERSIZED},
             {"--send-malformed-message", ACT_MALFORMED}, {"--send-tampered-frame", ACT_TAMPER},
             {"--hold", MODE_HOLD},                   {"--no-read", MODE_NO_READ},
             {"--flood-handshake", MODE_FLOOD},       {"--junk-block", MODE_JUNK_BLOCK},
             {"--lie-height", MODE_LIE_HEIGHT}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(a, t[i].flag) == 0) {
            *act = t[i].act;
            return GZ_OK;
        }
    return GZ_EARG;
}

static int run(debug_peer *d, dp_conn *c, enum debug_action act) {
    if (dial(NULL, c, d->connect_to) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "debug-peer: cannot connect to %s", d->connect_to);
    int rc = handshake(d, c);
    if (rc != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "debug-peer: handshake with %s failed: %s", d->connect_to, gz_strerror(rc));
    rc = await_status(d, c);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "debug-peer: no STATUS from the node: %s", gz_strerror(rc));
    printf("handshake done, node at height %llu\n", (unsigned long long)c->node_height);
    if (send_bad(d, c, act) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "debug-peer: sending failed");
    uint64_t after = 0;
    if (act == ACT_EQUIVOCATE) { /* valid votes: the node must keep the connection */
        if (await_hangup(d, c, &after)) return cli_die(CLI_EXIT_FAIL, "debug-peer: disconnected after %llu ms", (unsigned long long)after);
        printf("sent %llu distinct votes twice, still connected\n", (unsigned long long)d->votes);
        return CLI_EXIT_OK;
    }
    if (!await_hangup(d, c, &after))
        return cli_die(CLI_EXIT_FAIL, "debug-peer: still connected after %llu ms", (unsigned long long)d->timeout_ms);
    printf("disconnected after %llu ms\n", (unsigned long long)after);
    return CLI_EXIT_OK;
}

static bool parse_value(debug_peer *d, const char *a, const char *v, const char **key) {
    if (strcmp(a, "--connect") == 0) d->connect_to = v;
    else if (strcmp(a, "--key") == 0) *key = v;
    else if (strcmp(a, "--chain-id") == 0 && strlen(v) <= GZ_CHAIN_ID_MAX)
        snprintf(d->chain_id, sizeof d->chain_id, "%s", v);
    else if (strcmp(a, "--validator") == 0 && cli_parse_u64(v, &d->validator) == GZ_OK) return true;
    else if (strcmp(a, "--timeout-ms") == 0 && cli_parse_u64(v, &d->timeout_ms) == GZ_OK && d->timeout_ms <= 600000)
        return true;
    else if (strcmp(a, "--duration-ms") == 0 && cli_parse_u64(v, &d->duration_ms) == GZ_OK &&
             d->duration_ms <= 3600000)
        return true;
    else if (strcmp(a, "--equivocate-votes") == 0 && cli_parse_u64(v, &d->votes) == GZ_OK && d->votes >= 1 &&
             d->votes <= 100000)
        return true;
    else if (strcmp(a, "--spread") == 0 && cli_parse_u64(v, &d->spread) == GZ_OK && d->spread <= 254)
        return true;
    else if (strcmp(a, "--count") == 0 && cli_parse_u64(v, &d->count) == GZ_OK && d->count >= 1 &&
             d->count <= DEBUG_PEER_COUNT_MAX)
        return true;
    else return false;
    return true;
}

int cli_debug_peer(int argc, char **argv) {
    static debug_peer d; /* zeroed */
    static dp_conn c;
    const char *key = NULL;
    enum debug_action act = ACT_NONE;
    c.fd = -1;
    d.timeout_ms = DEBUG_PEER_TIMEOUT_MS_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return debug_usage();
        if (parse_action(a, &act) == GZ_OK) continue;
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "debug-peer: %s needs a value", a);
        const char *v = argv[++i];
        if (!parse_value(&d, a, v, &key)) return cli_die(CLI_EXIT_USAGE, "debug-peer: bad flag or value: %s %s", a, v);
    }
    if (d.votes > 0 && act == ACT_NONE) act = ACT_EQUIVOCATE;
    bool mode = act >= MODE_HOLD;
    if (d.connect_to == NULL || d.chain_id[0] == '\0' || act == ACT_NONE || (!mode && key == NULL))
        return cli_die(CLI_EXIT_USAGE, "debug-peer: --connect, --chain-id and an ACTION with --key, or a MODE, are required");
    if (mode && (d.count == 0 || d.duration_ms == 0))
        return cli_die(CLI_EXIT_USAGE, "debug-peer: a MODE needs --count and --duration-ms");
    d.small_rcvbuf = act == MODE_NO_READ;
    if (mode) return attack(&d, act);
    gz_msg msg = {{0}};
    if (core_key_load(c.sk, key, &msg) != GZ_OK || core_key_pub(c.pk, c.sk) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "debug-peer: %s: %s", key, msg.text[0] ? msg.text : "not a valid key");
    int rc = run(&d, &c, act);
    conn_close(&c);
    free(d.body);
    memset(c.sk, 0, sizeof c.sk);
    return rc;
}
