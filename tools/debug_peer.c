/* `gongzhi debug-peer`: a developer tool that plays a misbehaving peer.
 *
 * It dials a node's peer-to-peer port, completes the real handshake
 * (docs/p2p.md) with a key of its own, waits for the node's STATUS to learn
 * its height, sends one bad message, and reports whether the node hung up.
 * The end-to-end tests use it to check that a node drops such a peer, logs
 * why, and keeps running. It uses blocking sockets and the transport's own
 * frame and handshake codecs (p2p/p2p_wire.h), so what it sends is exactly
 * what a faulty or hostile gongzhi node would send. */
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/codec.h"
#include "core/keys.h"
#include "core/mp.h"
#include "cli/cli.h"
#include "node/config.h"
#include "node/wire.h"
#include "p2p/p2p_wire.h"

/* How long each phase may take before the tool gives up. */
#define DEBUG_PEER_TIMEOUT_MS_DEFAULT 5000u

enum debug_action { ACT_NONE, ACT_BAD_VOTE, ACT_GARBAGE, ACT_OVERSIZED, ACT_MALFORMED };

typedef struct debug_peer {
    int fd;
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    uint8_t sk[32], pk[32];
    uint8_t their_pk[32];
    uint8_t my_challenge[32];
    uint64_t node_height;
    uint64_t validator;
    uint64_t timeout_ms;
    uint8_t *body; /* the last frame body read */
    size_t body_len;
} debug_peer;

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Reads exactly n bytes before deadline_ms. Returns GZ_OK, GZ_ESTATE when the
 * deadline passes, or GZ_EIO when the node closed the connection. */
static int read_full(debug_peer *d, uint8_t *p, size_t n, uint64_t deadline_ms) {
    while (n > 0) {
        uint64_t now = mono_ms();
        if (now >= deadline_ms) return GZ_ESTATE;
        struct pollfd pfd = {.fd = d->fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(deadline_ms - now));
        if (r == 0) return GZ_ESTATE;
        if (r < 0) return GZ_EIO;
        ssize_t got = read(d->fd, p, n);
        if (got <= 0) return GZ_EIO;
        p += got;
        n -= (size_t)got;
    }
    return GZ_OK;
}

static int write_all(debug_peer *d, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t put = send(d->fd, p, n, MSG_NOSIGNAL);
        if (put <= 0) return GZ_EIO;
        p += put;
        n -= (size_t)put;
    }
    return GZ_OK;
}

static int send_frame(debug_peer *d, uint8_t type, const uint8_t *payload, size_t len) {
    uint8_t head[P2P_FRAME_HEAD_MAX];
    size_t hl = p2p_frame_head(head, type, len);
    int rc = write_all(d, head, hl);
    return rc == GZ_OK ? write_all(d, payload, len) : rc;
}

/* Reads one frame; *type and the payload (borrowed from d->body) out. */
static int read_frame(debug_peer *d, uint64_t deadline_ms, uint8_t *type, const uint8_t **pl, size_t *pl_len) {
    uint8_t head[P2P_LEN_BYTES];
    int rc = read_full(d, head, sizeof head, deadline_ms);
    if (rc != GZ_OK) return rc;
    uint32_t len = p2p_frame_len(head);
    if (len == 0 || len > GZ_FRAME_BYTES_MAX) return GZ_EPROTO;
    free(d->body);
    d->body = malloc(len);
    if (d->body == NULL) return GZ_ENOMEM;
    d->body_len = len;
    rc = read_full(d, d->body, len, deadline_ms);
    if (rc != GZ_OK) return rc;
    return p2p_body_decode(d->body, len, type, pl, pl_len, NULL);
}

static int dial(debug_peer *d, const char *hostport) {
    char host[NODE_HOST_MAX], port[8];
    uint16_t p;
    if (node_parse_hostport(hostport, host, sizeof host, &p) != GZ_OK) return GZ_EARG;
    snprintf(port, sizeof port, "%u", (unsigned)p);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0) return GZ_EIO;
    d->fd = socket(res->ai_family, SOCK_STREAM, 0);
    int rc = d->fd >= 0 && connect(d->fd, res->ai_addr, res->ai_addrlen) == 0 ? GZ_OK : GZ_EIO;
    freeaddrinfo(res);
    return rc;
}

/* HELLO both ways, then AUTH both ways; the node's AUTH is verified. */
static int handshake(debug_peer *d) {
    uint64_t deadline = mono_ms() + d->timeout_ms;
    p2p_hello mine = {.version = P2P_VERSION}, theirs;
    snprintf(mine.chain_id, sizeof mine.chain_id, "%s", d->chain_id);
    memcpy(mine.pubkey, d->pk, 32);
    if (getrandom(d->my_challenge, 32, 0) != 32) return GZ_EIO;
    memcpy(mine.challenge, d->my_challenge, 32);
    gz_buf b;
    gz_buf_init(&b);
    int rc = p2p_hello_encode(&b, &mine);
    if (rc == GZ_OK) rc = send_frame(d, P2P_MSG_HELLO, b.data, b.len);
    uint8_t type = 0;
    const uint8_t *pl;
    size_t len;
    if (rc == GZ_OK) rc = read_frame(d, deadline, &type, &pl, &len);
    if (rc == GZ_OK && type != P2P_MSG_HELLO) rc = GZ_EPROTO;
    if (rc == GZ_OK) rc = p2p_hello_decode(&theirs, pl, len, NULL);
    uint8_t digest[32], sig[64];
    if (rc == GZ_OK) {
        memcpy(d->their_pk, theirs.pubkey, 32);
        p2p_auth_digest(digest, theirs.challenge, d->chain_id, strlen(d->chain_id), d->pk);
        rc = core_sign32(sig, d->sk, digest, NULL);
    }
    gz_buf_reset(&b);
    if (rc == GZ_OK) rc = p2p_auth_encode(&b, sig);
    if (rc == GZ_OK) rc = send_frame(d, P2P_MSG_AUTH, b.data, b.len);
    gz_buf_free(&b);
    if (rc == GZ_OK) rc = read_frame(d, deadline, &type, &pl, &len);
    if (rc == GZ_OK && type != P2P_MSG_AUTH) rc = GZ_EPROTO;
    if (rc == GZ_OK) rc = p2p_auth_decode(sig, pl, len, NULL);
    p2p_auth_digest(digest, d->my_challenge, d->chain_id, strlen(d->chain_id), d->their_pk);
    if (rc == GZ_OK && !core_verify(sig, digest, 32, d->their_pk)) rc = GZ_ESIG;
    return rc;
}

/* Reads the node's messages until its STATUS tells its committed height. */
static int await_status(debug_peer *d) {
    uint64_t deadline = mono_ms() + d->timeout_ms;
    for (;;) {
        uint8_t type;
        const uint8_t *pl;
        size_t len;
        int rc = read_frame(d, deadline, &type, &pl, &len);
        if (rc != GZ_OK) return rc;
        if (type != NODE_MSG_STATUS) continue;
        mp_rd rd;
        mp_rd_init(&rd, pl, len, NULL);
        rc = mp_get_array_n(&rd, "status", 1);
        if (rc == GZ_OK) rc = mp_get_uint(&rd, "status.height", &d->node_height);
        return rc;
    }
}

/* A prevote for nil at the node's next height, well formed and signed, but
 * by this tool's key while claiming a validator's index. */
static int send_bad_vote(debug_peer *d) {
    gz_vote v = {.type = 1, .height = d->node_height + 1, .round = 0, .has_block_id = false};
    snprintf(v.chain_id, sizeof v.chain_id, "%s", d->chain_id);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    v.time = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    uint8_t h[32], sig[64];
    gz_buf vb, msg;
    gz_buf_init(&vb);
    gz_buf_init(&msg);
    int rc = core_vote_encode(&v, &vb);
    if (rc == GZ_OK) rc = core_vote_sighash(h, &v);
    if (rc == GZ_OK) rc = core_sign32(sig, d->sk, h, NULL);
    if (rc == GZ_OK) rc = mp_put_array(&msg, 3);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, vb.data, vb.len);
    if (rc == GZ_OK) rc = mp_put_uint(&msg, d->validator);
    if (rc == GZ_OK) rc = mp_put_bin(&msg, sig, 64);
    if (rc == GZ_OK) rc = send_frame(d, NODE_MSG_VOTE, msg.data, msg.len);
    gz_buf_free(&vb);
    gz_buf_free(&msg);
    return rc;
}

static int send_bad(debug_peer *d, enum debug_action act) {
    /* A frame whose body is not [type, payload]: 0xc1 is never valid msgpack. */
    static const uint8_t garbage[] = {0, 0, 0, 8, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1, 0xc1};
    /* A length prefix just over the frame bound, with no body behind it. */
    uint8_t oversized[P2P_LEN_BYTES];
    uint32_t big = GZ_FRAME_BYTES_MAX + 1u;
    for (int i = 0; i < 4; i++) oversized[i] = (uint8_t)(big >> (24 - 8 * i));
    /* A well-framed vote message whose payload is not a vote. */
    static const uint8_t junk[] = {0x93, 0xc1, 0x00};
    switch (act) {
    case ACT_BAD_VOTE: return send_bad_vote(d);
    case ACT_GARBAGE: return write_all(d, garbage, sizeof garbage);
    case ACT_OVERSIZED: return write_all(d, oversized, sizeof oversized);
    case ACT_MALFORMED: return send_frame(d, NODE_MSG_VOTE, junk, sizeof junk);
    default: return GZ_EMISUSE;
    }
}

/* Waits for the node to close the connection, ignoring what it sends. */
static bool await_hangup(debug_peer *d, uint64_t *after_ms) {
    uint64_t start = mono_ms(), deadline = start + d->timeout_ms;
    uint8_t buf[4096];
    for (;;) {
        uint64_t now = mono_ms();
        if (now >= deadline) return false;
        struct pollfd pfd = {.fd = d->fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(deadline - now));
        if (r == 0) return false;
        if (r < 0 || read(d->fd, buf, sizeof buf) <= 0) break;
    }
    *after_ms = mono_ms() - start;
    return true;
}

static int debug_usage(void) {
    printf("usage: gongzhi debug-peer --connect HOST:PORT --chain-id ID --key FILE ACTION\n"
           "                          [--validator N] [--timeout-ms N]\n\n"
           "Developer tool: plays a misbehaving peer against a node's p2p port. It completes\n"
           "the handshake with FILE's key, waits for the node's STATUS, sends one bad message\n"
           "and waits for the node to hang up. ACTION is one of\n"
           "  --send-bad-vote                 a vote claiming validator N (default 0), signed by FILE\n"
           "  --send-garbage-after-handshake  a frame whose body does not decode\n"
           "  --send-oversized-after-handshake  a frame header over the frame size limit\n"
           "  --send-malformed-message        a vote message whose payload does not decode\n"
           "Prints \"disconnected after N ms\" and exits 0 when the node hung up, exits 1 when\n"
           "it did not within --timeout-ms (default %u) or the handshake failed.\n",
           DEBUG_PEER_TIMEOUT_MS_DEFAULT);
    return CLI_EXIT_OK;
}

static int parse_action(const char *a, enum debug_action *act) {
    if (strcmp(a, "--send-bad-vote") == 0) *act = ACT_BAD_VOTE;
    else if (strcmp(a, "--send-garbage-after-handshake") == 0) *act = ACT_GARBAGE;
    else if (strcmp(a, "--send-oversized-after-handshake") == 0) *act = ACT_OVERSIZED;
    else if (strcmp(a, "--send-malformed-message") == 0) *act = ACT_MALFORMED;
    else return GZ_EARG;
    return GZ_OK;
}

static int run(debug_peer *d, const char *connect_to, enum debug_action act) {
    if (dial(d, connect_to) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "debug-peer: cannot connect to %s", connect_to);
    int rc = handshake(d);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "debug-peer: handshake with %s failed: %s", connect_to, gz_strerror(rc));
    rc = await_status(d);
    if (rc != GZ_OK) return cli_die(CLI_EXIT_FAIL, "debug-peer: no STATUS from the node: %s", gz_strerror(rc));
    printf("handshake done, node at height %llu\n", (unsigned long long)d->node_height);
    if (send_bad(d, act) != GZ_OK) return cli_die(CLI_EXIT_FAIL, "debug-peer: sending failed");
    uint64_t after = 0;
    if (!await_hangup(d, &after))
        return cli_die(CLI_EXIT_FAIL, "debug-peer: still connected after %llu ms", (unsigned long long)d->timeout_ms);
    printf("disconnected after %llu ms\n", (unsigned long long)after);
    return CLI_EXIT_OK;
}

int cli_debug_peer(int argc, char **argv) {
    static debug_peer d; /* zeroed; fd set by dial */
    const char *connect_to = NULL, *key = NULL;
    enum debug_action act = ACT_NONE;
    d.fd = -1;
    d.timeout_ms = DEBUG_PEER_TIMEOUT_MS_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return debug_usage();
        if (parse_action(a, &act) == GZ_OK) continue;
        if (i + 1 >= argc) return cli_die(CLI_EXIT_USAGE, "debug-peer: %s needs a value", a);
        const char *v = argv[++i];
        if (strcmp(a, "--connect") == 0) connect_to = v;
        else if (strcmp(a, "--key") == 0) key = v;
        else if (strcmp(a, "--chain-id") == 0 && strlen(v) <= GZ_CHAIN_ID_MAX) snprintf(d.chain_id, sizeof d.chain_id, "%s", v);
        else if (strcmp(a, "--validator") == 0 && cli_parse_u64(v, &d.validator) == GZ_OK) continue;
        else if (strcmp(a, "--timeout-ms") == 0 && cli_parse_u64(v, &d.timeout_ms) == GZ_OK && d.timeout_ms <= 600000) continue;
        else return cli_die(CLI_EXIT_USAGE, "debug-peer: bad flag or value: %s %s", a, v);
    }
    if (connect_to == NULL || key == NULL || d.chain_id[0] == '\0' || act == ACT_NONE)
        return cli_die(CLI_EXIT_USAGE, "debug-peer: --connect, --chain-id, --key and one ACTION are required");
    gz_msg msg = {{0}};
    if (core_key_load(d.sk, key, &msg) != GZ_OK || core_key_pub(d.pk, d.sk) != GZ_OK)
        return cli_die(CLI_EXIT_FAIL, "debug-peer: %s: %s", key, msg.text[0] ? msg.text : "not a valid key");
    int rc = run(&d, connect_to, act);
    if (d.fd >= 0) close(d.fd);
    free(d.body);
    memset(d.sk, 0, sizeof d.sk);
    return rc;
}
