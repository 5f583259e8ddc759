/* Peer-to-peer transport between gongzhi nodes (docs/p2p.md is the wire format).
 *
 * libuv TCP carrying length-prefixed MessagePack frames. Each connection starts
 * with a handshake in which both sides prove the key they claim by signing the
 * other side's random challenge, both ephemeral X25519 keys and the chain id;
 * only then is the peer reported up, and every later frame is sealed with
 * ChaCha20-Poly1305 under per-direction session keys (p2p_crypto.h). Keys are
 * classified by the host (validator, allowed, outsider, refused) for the peer
 * slots and the per-address limits. Above that, this layer moves opaque typed messages
 * (type >= P2P_MSG_APP_MIN) between authenticated peers; what they mean is the
 * node's business (node/gossip). Outbound peers from the configuration are
 * dialled persistently with exponential backoff and jitter. Every buffer is
 * bounded: a frame's declared length is checked before anything is allocated
 * for it, a peer whose send queue grows past its bound is dropped, and so is
 * the peer holding the most when all queues together pass theirs.
 *
 * Everything runs on one libuv loop thread; no function here is thread-safe. */
#ifndef GZ_P2P_P2P_H
#define GZ_P2P_P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/err.h"
#include "core/limits.h"

/* Wire protocol version carried in HELLO: 2 is the encrypted transport;
 * version 1 (plaintext frames) is refused. */
#define P2P_VERSION 2
/* Tag of the tagged hash each side signs to prove its key (docs/p2p.md). */
#define P2P_AUTH_TAG "gongzhi/p2p-auth"

/* Message types 0..15 belong to the transport; the node's messages use 16..255. */
#define P2P_MSG_HELLO 1
#define P2P_MSG_AUTH 2
#define P2P_MSG_APP_MIN 16

/* Frame body overhead around a payload: array(1) + type(<= 2) + bin header(<= 5). */
#define P2P_FRAME_OVERHEAD_MAX 8u
/* The largest payload p2p_send accepts: a full frame minus its overhead. */
#define P2P_PAYLOAD_BYTES_MAX (GZ_FRAME_BYTES_MAX - P2P_FRAME_OVERHEAD_MAX)
/* Host names are DNS names (<= 253) or IP literals; "[host]:port" fits in 264. */
#define P2P_HOST_MAX 253
#define P2P_ADDR_MAX 264

/* Defaults for the zero-valued fields of p2p_config. */
#define P2P_HANDSHAKE_TIMEOUT_MS_DEFAULT 5000u
#define P2P_BACKOFF_MIN_MS_DEFAULT 100u
#define P2P_BACKOFF_MAX_MS_DEFAULT 5000u

/* What the host says of a key that claims a connection (classify). */
typedef enum p2p_peer_class {
    P2P_PEER_REFUSED = 0,  /* may not connect (an allow-list is set and the key is not in it) */
    P2P_PEER_OUTSIDER = 1, /* anyone, when no allow-list is set: outsider slots only */
    P2P_PEER_ALLOWED = 2,  /* a full node named in the allow-list */
    P2P_PEER_VALIDATOR = 3 /* in the current validator set: never limited per IP */
} p2p_peer_class;

typedef struct p2p_config {
    const char *chain_id;     /* 1..GZ_CHAIN_ID_MAX bytes; both sides must agree */
    uint8_t seckey[32];       /* this node's key; the public key is derived from it */
    const char *listen_host;  /* an IPv4/IPv6 literal, or NULL to accept no connections */
    uint16_t listen_port;     /* 0 picks a free port (see p2p_listen_port) */
    const char *const *peers; /* persistent outbound peers as "host:port" or "[v6]:port" */
    size_t peers_n;           /* at most GZ_PEERS_MAX */
    const uint8_t (*allow)[32]; /* without a classify callback: if allow_n > 0, only these keys */
    size_t allow_n;
    size_t peers_max;              /* 0: GZ_PEERS_MAX; at most GZ_PEERS_MAX */
    size_t sendq_bytes_max;        /* 0: GZ_PEER_SENDQ_BYTES_MAX; at least 4096 */
    size_t sendq_total_bytes_max;  /* 0: GZ_P2P_SENDQ_TOTAL_BYTES_MAX; at least sendq_bytes_max */
    size_t outsiders_max;          /* 0: GZ_P2P_OUTSIDER_PEERS_MAX; below peers_max */
    size_t outsiders_per_ip_max;   /* 0: GZ_P2P_OUTSIDERS_PER_IP_MAX */
    size_t handshakes_per_ip_max;  /* 0: GZ_P2P_HANDSHAKES_PER_IP_MAX */
    uint32_t handshake_timeout_ms; /* connect + handshake deadline; 0: default */
    uint32_t backoff_min_ms;       /* first redial delay; 0: default */
    uint32_t backoff_max_ms;       /* redial delay ceiling; 0: default */
    uint64_t seed;                 /* backoff jitter seed; 0: from getrandom */
} p2p_config;

/* Callbacks, all called from the loop thread with the ctx given to p2p_init.
 * Each may be NULL. None fires after p2p_close has been called.
 *
 * on_peer_up: the peer proved pubkey; peer_id is a positive handle that is
 *   never reused by this p2p instance. At most one peer per key is up at once.
 * on_peer_down: exactly once for every peer that was up, with a short reason.
 *   It is called synchronously where the drop happens, which may be inside
 *   p2p_send, p2p_broadcast or p2p_disconnect, so it must not free what the
 *   caller of those is iterating over. When a duplicate connection replaces an
 *   up one, the old peer's down precedes the new peer's up.
 * on_message: a message of type >= P2P_MSG_APP_MIN from an up peer; payload is
 *   borrowed and valid only during the call.
 * on_log: one line (no newline) about a dropped connection or a failure; when
 *   NULL the line goes to stderr prefixed with "p2p: ". It must not call p2p_*.
 * The others may call any p2p_* function, p2p_close included. */
typedef struct p2p_callbacks {
    void (*on_peer_up)(void *ctx, int peer_id, const uint8_t pubkey[32]);
    void (*on_peer_down)(void *ctx, int peer_id, const char *reason);
    void (*on_message)(void *ctx, int peer_id, uint8_t msg_type, const uint8_t *payload,
                       size_t len);
    void (*on_log)(void *ctx, const char *line);
    p2p_peer_class (*classify)(void *ctx, const uint8_t pubkey[32]);
} p2p_callbacks;

struct p2p;
typedef void (*p2p_close_cb)(struct p2p *p);

/* Connection and dialer state live in p2p.c. */
struct p2p_conn;
struct p2p_dialer;

/* A transport instance, caller-owned; its fields are private. */
typedef struct p2p {
    uv_loop_t *loop;
    p2p_callbacks cb;
    void *ctx;
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    size_t chain_id_len;
    uint8_t seckey[32];
    uint8_t pubkey[32];
    char listen_host[P2P_HOST_MAX + 1];
    uint16_t listen_port;
    bool listening;
    uv_tcp_t listener;
    uv_timer_t guard; /* always open, so p2p_close always completes from the loop */
    struct p2p_dialer *dialers;
    size_t dialers_n;
    uint8_t (*allow)[32];
    size_t allow_n;
    size_t peers_max;
    size_t sendq_bytes_max;
    size_t sendq_total_bytes_max;
    size_t outsiders_max;
    size_t outsiders_per_ip_max;
    size_t handshakes_per_ip_max;
    size_t held_bytes; /* live frames plus ciphertext handed to libuv: what the total budget counts */
    uint64_t seq;      /* orders connections by age */
    uint32_t handshake_timeout_ms;
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;
    uint64_t rng;
    struct p2p_conn *conns; /* every open connection, handshaking or up */
    size_t up_n;
    size_t inbound_n;
    int next_id;
    uint8_t *rbuf; /* one read buffer: libuv reads one stream at a time */
    size_t pending; /* handles and requests still to finish before close completes */
    bool started;
    bool closing;
    p2p_close_cb close_cb;
} p2p;

/* What p2p_peer_info reports about an up peer. */
typedef struct p2p_peer_info {
    uint8_t pubkey[32];
    char addr[P2P_ADDR_MAX + 1]; /* the dialled "host:port", or the remote "ip:port" */
    bool inbound;
    p2p_peer_class cls;
    size_t sendq_bytes; /* bytes queued and not yet handed to the kernel */
} p2p_peer_info;

/* Validates cfg and copies it (strings and lists included) into p; opens no
 * socket. After GZ_OK, p2p_close must be called (also if p2p_start fails).
 * Returns GZ_OK, GZ_EARG (msg names the field), GZ_EMISUSE (p, loop or cfg
 * NULL), GZ_ENOMEM; on failure p needs no close. */
GZ_WUR int p2p_init(p2p *p, uv_loop_t *loop, const p2p_config *cfg, const p2p_callbacks *cb,
                    void *ctx, gz_msg *msg);

/* Binds and listens (if listen_host is set) and starts dialing the peers.
 * Returns GZ_OK, GZ_EIO (msg says which address and why) or GZ_ESTATE if
 * already started or closing. */
GZ_WUR int p2p_start(p2p *p, gz_msg *msg);

/* The port the listener is bound to (useful with listen_port 0), or 0. */
uint16_t p2p_listen_port(const p2p *p);

/* Closes every connection, the listener and the dialers. No callback fires
 * afterwards except cb, which runs from the loop once every handle is closed;
 * by then p's memory may be reused. Call it exactly once. */
void p2p_close(p2p *p, p2p_close_cb cb);

/* Queues one message of type msg_type (>= P2P_MSG_APP_MIN) to peer_id.
 * Returns GZ_OK; GZ_ENOTFOUND if no such peer is up; GZ_ELIMIT if the peer's
 * send queue would exceed its bound, or the total budget dropped it, or the
 * socket failed while the frame was handed on (the peer is dropped in each case);
 * GZ_EMISUSE for a transport type, a NULL payload with a length, or a payload
 * over P2P_PAYLOAD_BYTES_MAX;
 * GZ_ENOMEM; GZ_EIO if the socket failed (the peer is dropped). */
GZ_WUR int p2p_send(p2p *p, int peer_id, uint8_t msg_type, const uint8_t *payload, size_t len);

/* Queues one message to every up peer except except_peer_id (-1: none),
 * sharing one copy of the frame. Returns the number of peers it was queued to
 * (peers dropped for a full queue are not counted), or GZ_EMISUSE (as for
 * p2p_send) / GZ_ENOMEM. */
GZ_WUR int p2p_broadcast(p2p *p, uint8_t msg_type, const uint8_t *payload, size_t len,
                         int except_peer_id);

/* Drops an up peer, logging reason (e.g. it sent a vote signed by a key
 * outside the validator set); on_peer_down fires before this returns.
 * Returns GZ_OK or GZ_ENOTFOUND. A persistent outbound peer is redialled. */
GZ_WUR int p2p_disconnect(p2p *p, int peer_id, const char *reason);

/* Asks classify again for every connection that said HELLO, as after a
 * validator-set change: a peer that became a validator gets a validator's
 * standing, one that is now refused is dropped. */
void p2p_reclassify(p2p *p);

/* Number of up peers. */
size_t p2p_peer_count(const p2p *p);

/* Writes up to max ids of up peers into ids, in no particular order; returns
 * how many peers are up (which may exceed max). */
size_t p2p_peer_ids(const p2p *p, int *ids, size_t max);

/* Fills *out for an up peer. Returns GZ_OK or GZ_ENOTFOUND (*out zeroed). */
GZ_WUR int p2p_peer_info_get(const p2p *p, int peer_id, p2p_peer_info *out);

#endif
