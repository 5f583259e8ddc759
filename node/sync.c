/* Peers and block sync. Each peer's committed height comes from its STATUS
 * messages; a node more than one height behind the best of them asks for the
 * next block with its commit (BLOCK_REQ / BLOCK), one height at a time, and
 * answers such requests from its store. A peer silent for too long is dropped. */
#include <stdio.h>
#include <string.h>

#include "core/mp.h"
#include "node/node_internal.h"

static int read_u64_msg(const uint8_t *payload, size_t len, const char *what, uint64_t *v) {
    mp_rd rd;
    mp_rd_init(&rd, payload, len, NULL);
    int rc = mp_get_array_n(&rd, what, 1);
    if (rc == GZ_OK) rc = mp_get_uint(&rd, what, v);
    if (rc == GZ_OK) rc = mp_rd_end(&rd);
    return rc;
}

node_peer *node_peer_get(node *n, int peer_id) {
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
        if (n->peers[i].up && n->peers[i].id == peer_id) return &n->peers[i];
    }
    return NULL;
}

static void send_block(node *n, int peer, uint64_t height) {
    gz_buf blk, cm, out;
    gz_buf_init(&blk);
    gz_buf_init(&cm);
    gz_buf_init(&out);
    if (height >= 1 && height <= n->ch.height && chain_block_bytes(&n->ch, height, &blk) == GZ_OK &&
        chain_commit_bytes(&n->ch, height, &cm) == GZ_OK && mp_put_array(&out, 3) == GZ_OK &&
        mp_put_uint(&out, height) == GZ_OK && mp_put_bin(&out, blk.data, blk.len) == GZ_OK &&
        mp_put_bin(&out, cm.data, cm.len) == GZ_OK)
        node_send(n, peer, NODE_MSG_BLOCK, out.data, out.len);
    gz_buf_free(&blk);
    gz_buf_free(&cm);
    gz_buf_free(&out);
}

static bool claim_counts(const node_peer *p, uint64_t now) { return p->up && now >= p->ignore_until_ms; }

/* A claim that counts for sync_target and catching_up: from a peer that has
 * not left a request unanswered since it last answered one. */
static bool claim_trusted(const node_peer *p, uint64_t now) { return claim_counts(p, now) && p->misses == 0; }

/* The next peer to ask for height want: one whose claim counts, other than
 * the one asked last when there is a choice, in turn. */
static node_peer *pick_peer(node *n, uint64_t want, uint64_t now) {
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
            node_peer *p = &n->peers[(n->sync_rr + i) % GZ_PEERS_MAX];
            bool again = p->id == n->sync_req_peer && n->sync_req_height == want;
            if (p->height >= want && claim_counts(p, now) && (pass == 1 || !again)) return p;
        }
    }
    return NULL;
}

static void request_next(node *n, uint64_t now) {
    uint64_t want = n->ch.height + 1;
    node_peer *p = pick_peer(n, want, now);
    if (p == NULL) return;
    n->sync_rr = (uint32_t)((p - n->peers) + 1) % GZ_PEERS_MAX;
    node_send_u64(n, p->id, NODE_MSG_BLOCK_REQ, want);
    n->sync_req_ms = now;
    n->sync_req_height = want;
    n->sync_req_peer = p->id;
}

/* The peer asked for a block it claimed to have did not send it in time:
 * its claims are ignored for a while, longer each time in a row. */
static void note_miss(node *n, uint64_t now) {
    node_peer *p = node_peer_get(n, n->sync_req_peer);
    n->sync_req_peer = -1;
    if (p == NULL) return;
    uint64_t ignore_ms = NODE_SYNC_IGNORE_MS;
    for (uint32_t i = 0; i < p->misses && ignore_ms < NODE_SYNC_IGNORE_MS_MAX; i++) ignore_ms *= 2;
    if (ignore_ms > NODE_SYNC_IGNORE_MS_MAX) ignore_ms = NODE_SYNC_IGNORE_MS_MAX;
    p->misses++;
    p->ignore_until_ms = now + ignore_ms;
    if (p->misses == 1 || p->misses % 16 == 0)
        node_log(n, "sync: peer %d claimed height %llu but did not send block %llu; its claims are ignored for %llu ms",
                 p->id, (unsigned long long)p->height, (unsigned long long)n->sync_req_height,
                 (unsigned long long)ignore_ms);
}

int node_handle_block(node *n, node_peer *p, const uint8_t *payload, size_t len, gz_msg *msg) {
    mp_rd rd;
    uint64_t height;
    const uint8_t *blk, *cm;
    size_t blen, clen;
    mp_rd_init(&rd, payload, len, msg);
    int rc = mp_get_array_n(&rd, "block_msg", 3);
    if (rc == GZ_OK) rc = mp_get_uint(&rd, "block_msg.height", &height);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "block_msg.block", &blk, &blen, GZ_BLOCK_BYTES_MAX);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "block_msg.commit", &cm, &clen, GZ_COMMIT_BYTES_MAX);
    if (rc == GZ_OK) rc = mp_rd_end(&rd);
    if (rc != GZ_OK) return rc;
    if (height != n->ch.height + 1) return GZ_OK; /* stale answer: we moved on */
    if (!n->syncing) {
        n->syncing = true;
        n->sync_from = n->ch.height;
        n->sync_start_ms = node_mono_ms(n);
        node_log(n, "sync: fetching blocks from peers, %llu to %llu", (unsigned long long)height,
                 (unsigned long long)n->sync_target);
    }
    rc = node_commit_synced(n, blk, blen, cm, clen, msg);
    if (rc != GZ_OK) return rc;
    p->misses = 0;
    p->ignore_until_ms = 0;
    if (height % NODE_SYNC_LOG_EVERY == 0 && n->syncing)
        node_log(n, "sync: at height %llu of %llu", (unsigned long long)height, (unsigned long long)n->sync_target);
    request_next(n, node_mono_ms(n));
    return GZ_OK;
}

void node_peer_add(node *n, int peer_id, const uint8_t pubkey[32]) {
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
        node_peer *p = &n->peers[i];
        if (p->up) continue;
        p->up = true;
        p->id = peer_id;
        p->height = 0;
        p->last_rx_ms = node_mono_ms(n);
        p->ignore_until_ms = 0;
        p->misses = 0;
        p->req_tokens = NODE_BLOCK_REQS_PER_S;
        p->req_refill_ms = p->last_rx_ms;
        p->req_limit_logged = false;
        memcpy(p->pubkey, pubkey, 32);
        return;
    }
}

int node_handle_status(node *n, node_peer *p, const uint8_t *payload, size_t len) {
    uint64_t v;
    int rc = read_u64_msg(payload, len, "status.height", &v);
    if (rc != GZ_OK) return rc;
    p->height = v;
    if (v > n->sync_target && claim_trusted(p, node_mono_ms(n))) n->sync_target = v;
    return GZ_OK;
}

/* Whether the peer may have another block request answered now. */
static bool req_allowed(node_peer *p, uint64_t now) {
    if (now - p->req_refill_ms >= 1000) {
        p->req_tokens = NODE_BLOCK_REQS_PER_S;
        p->req_refill_ms = now;
    }
    if (p->req_tokens == 0) return false;
    p->req_tokens--;
    return true;
}

int node_handle_block_req(node *n, node_peer *p, const uint8_t *payload, size_t len) {
    uint64_t v;
    int rc = read_u64_msg(payload, len, "block_req.height", &v);
    if (rc != GZ_OK) return rc;
    if (req_allowed(p, node_mono_ms(n))) {
        send_block(n, p->id, v);
    } else if (!p->req_limit_logged) {
        p->req_limit_logged = true;
        node_log(n, "peer %d: block requests over %u per second are ignored", p->id, NODE_BLOCK_REQS_PER_S);
    }
    return GZ_OK;
}

/* Drops peers that have been silent too long (see NODE_PEER_SILENT_MS). */
static void drop_silent_peers(node *n, uint64_t now) {
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
        node_peer *p = &n->peers[i];
        if (!p->up || now - p->last_rx_ms <= NODE_PEER_SILENT_MS) continue;
        char why[64];
        snprintf(why, sizeof why, "silent for %llu ms", (unsigned long long)(now - p->last_rx_ms));
        node_drop_peer(n, p->id, why);
        p->up = false; /* even if the transport had let it go already */
    }
}

void node_sync_tick(node *n, uint64_t now) {
    uint64_t best = 0, hinted = 0;
    drop_silent_peers(n, now);
    bool asked = n->sync_req_height == n->ch.height + 1 && n->sync_req_peer >= 0;
    if (asked && now - n->sync_req_ms > NODE_SYNC_RETRY_MS) note_miss(n, now);
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
        const node_peer *p = &n->peers[i];
        if (claim_trusted(p, now) && p->height > best) best = p->height;
        if (claim_counts(p, now) && p->height > hinted) hinted = p->height;
    }
    n->sync_target = best;
    /* One height behind is consensus' business; more is sync's. Also ask
     * when a block request has gone unanswered for a while. A claim from a
     * peer that missed before is still worth a try once its time is out. */
    bool behind =
        hinted > n->ch.height + 1 || (hinted > n->ch.height && now - n->last_progress_ms > NODE_SYNC_BEHIND_MS);
    if (behind && (n->sync_req_height != n->ch.height + 1 || now - n->sync_req_ms > NODE_SYNC_RETRY_MS))
        request_next(n, now);
}

void node_ban_key(node *n, const uint8_t pubkey[32]) {
    if (ledger_valset_index(node_valset(n), pubkey) >= 0) return; /* validators are always let in */
    uint64_t now = node_mono_ms(n);
    node_ban *slot = &n->bans[0];
    for (size_t i = 0; i < NODE_BANS_MAX; i++) {
        node_ban *b = &n->bans[i];
        if (memcmp(b->pubkey, pubkey, 32) == 0 || b->until_ms < slot->until_ms) slot = b;
        if (memcmp(b->pubkey, pubkey, 32) == 0) break;
    }
    memcpy(slot->pubkey, pubkey, 32);
    slot->until_ms = now + NODE_BAN_MS;
}

bool node_key_banned(const node *n, const uint8_t pubkey[32], uint64_t now_ms) {
    for (size_t i = 0; i < NODE_BANS_MAX; i++) {
        if (n->bans[i].until_ms > now_ms && memcmp(n->bans[i].pubkey, pubkey, 32) == 0) return true;
    }
    return false;
}
