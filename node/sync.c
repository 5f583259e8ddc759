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

static void request_next(node *n, uint64_t now) {
    uint64_t want = n->ch.height + 1;
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
        node_peer *p = &n->peers[(want + i) % GZ_PEERS_MAX]; /* spread requests over peers */
        if (!p->up || p->height < want) continue;
        node_send_u64(n, p->id, NODE_MSG_BLOCK_REQ, want);
        n->sync_req_ms = now;
        n->sync_req_height = want;
        return;
    }
}

int node_handle_block(node *n, const uint8_t *payload, size_t len, gz_msg *msg) {
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
        memcpy(p->pubkey, pubkey, 32);
        return;
    }
}

int node_handle_status(node *n, node_peer *p, const uint8_t *payload, size_t len) {
    uint64_t v;
    int rc = read_u64_msg(payload, len, "status.height", &v);
    if (rc != GZ_OK) return rc;
    p->height = v;
    if (v > n->sync_target) n->sync_target = v;
    return GZ_OK;
}

int node_handle_block_req(node *n, int peer, const uint8_t *payload, size_t len) {
    uint64_t v;
    int rc = read_u64_msg(payload, len, "block_req.height", &v);
    if (rc == GZ_OK) send_block(n, peer, v);
    return rc;
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
    uint64_t best = 0;
    drop_silent_peers(n, now);
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
        if (n->peers[i].up && n->peers[i].height > best) best = n->peers[i].height;
    }
    n->sync_target = best;
    /* One height behind is consensus' business; more is sync's. Also ask
     * when a block request has gone unanswered for a while. */
    bool behind = best > n->ch.height + 1 || (best > n->ch.height && now - n->last_progress_ms > NODE_SYNC_BEHIND_MS);
    if (behind && (n->sync_req_height != n->ch.height + 1 || now - n->sync_req_ms > NODE_SYNC_RETRY_MS)) request_next(n, now);
}
