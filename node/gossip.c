/* What the node says to its peers (docs/p2p.md, "Gossip"): txs in batches,
 * proposals with their blocks, votes, committed heights, and blocks with
 * their commits for peers that are behind. Every message from a peer is
 * checked before it reaches consensus; a malformed one drops the peer. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/keys.h"
#include "core/mp.h"
#include "node/node_internal.h"
#include "storage/keys.h"


/* Sends to one peer, or to all when peer < 0. A send fails only when the peer
 * is gone or too slow; the transport has then dropped it already. */
static void net_send(node *n, int peer, uint8_t type, const uint8_t *data, size_t len) {
    if (!n->net_on || n->replaying) return;
    int rc = peer < 0 ? p2p_broadcast(&n->net, type, data, len, -1) : p2p_send(&n->net, peer, type, data, len);
    if (rc < 0 && rc != GZ_ENOTFOUND && rc != GZ_ELIMIT) node_log(n, "p2p: send failed: %s", gz_strerror(rc));
}

static void drop_peer(node *n, int peer, const char *why) {
    node_log(n, "peer %d dropped: %s", peer, why);
    if (p2p_disconnect(&n->net, peer, why) != GZ_OK) return; /* already gone */
}

/* ---- encoding ------------------------------------------------------------- */

static void vote_from_cons(const node *n, const cons_vote *v, gz_vote *gv) {
    memset(gv, 0, sizeof *gv);
    snprintf(gv->chain_id, sizeof gv->chain_id, "%s", n->g.chain_id);
    gv->type = v->type;
    gv->height = v->height;
    gv->round = v->round;
    gv->has_block_id = v->has_block_id;
    memcpy(gv->block_id, v->block_id, 32);
    gv->time = v->time;
}

int node_encode_vote(node *n, const cons_vote *v, gz_buf *out) {
    gz_vote gv;
    vote_from_cons(n, v, &gv);
    gz_buf vb;
    gz_buf_init(&vb);
    int rc = core_vote_encode(&gv, &vb);
    if (rc == GZ_OK) rc = mp_put_array(out, 3);
    if (rc == GZ_OK) rc = mp_put_bin(out, vb.data, vb.len);
    if (rc == GZ_OK) rc = mp_put_uint(out, v->validator);
    if (rc == GZ_OK) rc = mp_put_bin(out, v->sig, 64);
    gz_buf_free(&vb);
    return rc;
}

int node_encode_proposal(node *n, const cons_proposal *p, gz_buf *out) {
    chain_block *b = chain_find(&n->ch, p->block_id);
    if (b == NULL) return GZ_ENOTFOUND;
    gz_proposal gp = {0};
    snprintf(gp.chain_id, sizeof gp.chain_id, "%s", n->g.chain_id);
    gp.height = p->height;
    gp.round = p->round;
    gp.pol_round = p->pol_round;
    memcpy(gp.block_id, p->block_id, 32);
    gz_buf pb;
    gz_buf_init(&pb);
    int rc = core_proposal_encode(&gp, &pb);
    if (rc == GZ_OK) rc = mp_put_array(out, 3);
    if (rc == GZ_OK) rc = mp_put_bin(out, pb.data, pb.len);
    if (rc == GZ_OK) rc = mp_put_bin(out, p->sig, 64);
    if (rc == GZ_OK) rc = mp_put_bin(out, b->bytes.data, b->bytes.len);
    gz_buf_free(&pb);
    if (rc == GZ_OK) {
        gz_buf_reset(&n->height_prop);
        rc = gz_buf_append(&n->height_prop, out->data, out->len);
    }
    return rc;
}

/* Whether this exact vote message is already in the height's set. */
static bool vote_known(const node *n, const uint8_t *payload, size_t len) {
    for (size_t i = 0; i < n->n_height_votes; i++) {
        const gz_buf *b = &n->height_votes[i];
        if (b->len == len && memcmp(b->data, payload, len) == 0) return true;
    }
    return false;
}

static void remember_vote(node *n, const uint8_t *payload, size_t len) {
    if (n->n_height_votes == NODE_HEIGHT_VOTES_MAX || vote_known(n, payload, len)) return;
    gz_buf *b = &n->height_votes[n->n_height_votes];
    gz_buf_reset(b);
    if (gz_buf_append(b, payload, len) == GZ_OK) n->n_height_votes++;
}

static void send_u64_msg(node *n, int peer, uint8_t type, uint64_t v) {
    uint8_t buf[16];
    gz_buf b = {buf, 0, sizeof buf};
    if (mp_put_array(&b, 1) == GZ_OK && mp_put_uint(&b, v) == GZ_OK) {
        net_send(n, peer, type, b.data, b.len);
    }
}

/* ---- outgoing ------------------------------------------------------------- */

static void flush_txs(node *n) {
    if (n->tx_out_n == 0) return;
    gz_buf msg;
    gz_buf_init(&msg);
    if (mp_put_array(&msg, n->tx_out_n) == GZ_OK && gz_buf_append(&msg, n->tx_out.data, n->tx_out.len) == GZ_OK)
        net_send(n, -1, NODE_MSG_TXS, msg.data, msg.len);
    gz_buf_free(&msg);
    gz_buf_reset(&n->tx_out);
    n->tx_out_n = 0;
}

static void on_tx_flush(uv_timer_t *h) { flush_txs(h->data); }

void node_gossip_tx(node *n, const uint8_t *bytes, size_t len) {
    if (!n->net_on) return;
    if (mp_put_bin(&n->tx_out, bytes, len) != GZ_OK) return;
    if (++n->tx_out_n >= NODE_TX_BATCH_MAX) {
        flush_txs(n);
        return;
    }
    if (!uv_is_active((uv_handle_t *)&n->tx_flush)) uv_timer_start(&n->tx_flush, on_tx_flush, NODE_TX_BATCH_MS, 0);
}

void node_gossip_proposal(node *n, const gz_buf *payload) {
    net_send(n, -1, NODE_MSG_PROPOSAL, payload->data, payload->len);
}

void node_gossip_vote(node *n, const gz_buf *payload) {
    remember_vote(n, payload->data, payload->len);
    net_send(n, -1, NODE_MSG_VOTE, payload->data, payload->len);
}

void node_gossip_status(node *n) {
    if (n->net_on) send_u64_msg(n, -1, NODE_MSG_STATUS, n->ch.height);
}

void node_gossip_resend(node *n, int peer) {
    if (!n->net_on) return;
    if (n->height_prop.len > 0) net_send(n, peer, NODE_MSG_PROPOSAL, n->height_prop.data, n->height_prop.len);
    for (size_t i = 0; i < n->n_height_votes; i++)
        net_send(n, peer, NODE_MSG_VOTE, n->height_votes[i].data, n->height_votes[i].len);
    send_u64_msg(n, peer, NODE_MSG_STATUS, n->ch.height);
}

/* ---- incoming ------------------------------------------------------------- */

static void wal_append(node *n, uint8_t type, const uint8_t *p, size_t len) {
    if (n->replaying) return;
    int rc = node_wal_append(&n->wal, type, p, len, false);
    if (rc != GZ_OK) node_log(n, "wal: append failed: %s", gz_strerror(rc));
}

static const char *hex8(const uint8_t *p, char out[17]) {
    gz_hex_encode(out, p, 8);
    return out;
}

/* The height after the one in progress: between a commit and the start of
 * the next height, none is in progress and the next is the one after the
 * commit. */
static bool is_next_height(const node *n, uint64_t height) {
    return height == n->ch.height + (n->decided ? 1 : 2);
}

/* Messages for the next height arrive when a peer has committed before this
 * node (or before this node started the next height). They are kept
 * (signature checked, bounded) and fed in when that height starts, so that
 * they go through the WAL and the re-send set like every message of the
 * height. Consensus would buffer only its first rounds: the same bound
 * applies here. */
static int keep_future_vote(node *n, const uint8_t *payload, size_t len, uint64_t round) {
    if (n->feeding_future || round >= CONS_FUTURE_ROUNDS || n->n_future_votes == NODE_FUTURE_VOTES_MAX)
        return GZ_ELIMIT;
    for (size_t i = 0; i < n->n_future_votes; i++) {
        const gz_buf *b = &n->future_votes[i];
        if (b->len == len && memcmp(b->data, payload, len) == 0) return GZ_EDUP;
    }
    gz_buf *b = &n->future_votes[n->n_future_votes];
    gz_buf_reset(b);
    if (gz_buf_append(b, payload, len) != GZ_OK) return GZ_ENOMEM;
    n->n_future_votes++;
    return GZ_OK;
}

static int keep_future_proposal(node *n, const uint8_t *payload, size_t len, uint64_t round) {
    if (n->feeding_future || round >= CONS_FUTURE_ROUNDS) return GZ_ELIMIT;
    gz_buf_reset(&n->future_prop);
    return gz_buf_append(&n->future_prop, payload, len);
}

void node_feed_future(node *n) {
    gz_msg msg;
    /* What is fed here is for the height that just started (or older, after a
     * sync jumped ahead), never for a later one: nothing is kept again. */
    n->feeding_future = true;
    if (n->future_prop.len > 0) (void)node_handle_proposal(n, n->future_prop.data, n->future_prop.len, &msg);
    for (size_t i = 0; i < n->n_future_votes; i++)
        (void)node_handle_vote(n, n->future_votes[i].data, n->future_votes[i].len, &msg);
    n->feeding_future = false;
    gz_buf_reset(&n->future_prop);
    n->n_future_votes = 0;
}

int node_handle_vote(node *n, const uint8_t *payload, size_t len, gz_msg *msg) {
    mp_rd rd;
    const uint8_t *vb;
    size_t vlen;
    uint64_t idx;
    cons_vote cv = {0};
    gz_vote gv;
    mp_rd_init(&rd, payload, len, msg);
    int rc = mp_get_array_n(&rd, "vote_msg", 3);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "vote_msg.vote", &vb, &vlen, 256);
    if (rc == GZ_OK) rc = mp_get_uint(&rd, "vote_msg.validator", &idx);
    if (rc == GZ_OK) rc = mp_get_bin_fixed(&rd, "vote_msg.sig", cv.sig, 64);
    if (rc == GZ_OK) rc = mp_rd_end(&rd);
    if (rc == GZ_OK) rc = core_vote_decode(&gv, vb, vlen, msg);
    if (rc != GZ_OK) return rc;
    if (strcmp(gv.chain_id, n->g.chain_id) != 0) return gz_fail(msg, GZ_ECHAIN, "vote.chain_id: not this chain");
    if (idx >= n->g.n_validators)
        return gz_fail(msg, GZ_EARG, "vote_msg.validator: %llu is not in the validator set", (unsigned long long)idx);
    if (gv.height <= n->ch.height) return GZ_ESTATE; /* late: already committed */
    if (gv.height > n->ch.height + 2) return GZ_ELIMIT;
    if (gv.round > CONS_ROUND_MAX) return gz_fail(msg, GZ_EARG, "vote.round: too large");
    uint8_t h[32];
    rc = core_vote_sighash(h, &gv);
    if (rc != GZ_OK) return rc;
    if (!core_verify(cv.sig, h, 32, n->g.validators[idx].pub_key))
        return gz_fail(msg, GZ_ESIG, "vote_msg.sig: not signed by validator %llu", (unsigned long long)idx);
    if (is_next_height(n, gv.height)) return keep_future_vote(n, payload, len, gv.round);
    if (n->decided) return GZ_ELIMIT;
    /* Write-ahead: a vote of the current height is logged (once) before
     * consensus sees it. Consensus may answer it with a precommit, which is
     * logged with fsync before it leaves; the vote that caused it is then
     * already ahead of it in the log, so a replay after a crash rebuilds the
     * lock that precommit stands for. */
    if (!vote_known(n, payload, len)) {
        wal_append(n, NODE_WAL_VOTE, payload, len);
        remember_vote(n, payload, len);
    }
    cv.type = (uint8_t)gv.type;
    cv.height = gv.height;
    cv.round = gv.round;
    cv.has_block_id = gv.has_block_id;
    memcpy(cv.block_id, gv.block_id, 32);
    cv.validator = (uint32_t)idx;
    cv.time = gv.time;
    rc = cons_on_vote(&n->cs, &cv, node_now_ms());
    if (rc == GZ_ECONFLICT) {
        char who[17];
        node_log(n, "evidence: validator %llu (%s…) equivocated at %llu/%llu", (unsigned long long)idx,
                 hex8(n->g.validators[idx].pub_key, who), (unsigned long long)gv.height,
                 (unsigned long long)gv.round);
    }
    return rc;
}

/* Whether a proposal of this round is in the WAL already; notes it if not.
 * One per round: a second, different one is the proposer's equivocation. */
static bool proposal_logged(node *n, uint64_t round) {
    for (size_t i = 0; i < n->n_wal_props; i++) {
        if (n->wal_props[i] == round) return true;
    }
    if (n->n_wal_props < NODE_WAL_PROPS_MAX) n->wal_props[n->n_wal_props++] = round;
    return false;
}

int node_handle_proposal(node *n, const uint8_t *payload, size_t len, gz_msg *msg) {
    mp_rd rd;
    const uint8_t *pb, *blk;
    size_t plen, blen;
    cons_proposal cp = {0};
    gz_proposal gp;
    mp_rd_init(&rd, payload, len, msg);
    int rc = mp_get_array_n(&rd, "proposal_msg", 3);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "proposal_msg.proposal", &pb, &plen, 256);
    if (rc == GZ_OK) rc = mp_get_bin_fixed(&rd, "proposal_msg.sig", cp.sig, 64);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "proposal_msg.block", &blk, &blen, GZ_BLOCK_BYTES_MAX);
    if (rc == GZ_OK) rc = mp_rd_end(&rd);
    if (rc == GZ_OK) rc = core_proposal_decode(&gp, pb, plen, msg);
    if (rc != GZ_OK) return rc;
    if (strcmp(gp.chain_id, n->g.chain_id) != 0) return gz_fail(msg, GZ_ECHAIN, "proposal.chain_id: not this chain");
    if (gp.height <= n->ch.height) return GZ_ESTATE;
    if (gp.height > n->ch.height + 2) return GZ_ELIMIT;
    if (gp.round >= CONS_ROUND_MAX) return gz_fail(msg, GZ_EARG, "proposal.round: too large");
    if (gp.pol_round < -1 || gp.pol_round >= (int64_t)gp.round)
        return gz_fail(msg, GZ_EARG, "proposal.pol_round: must be -1 or below the round");
    uint32_t who = cons_proposer(&n->cs, gp.height, gp.round);
    uint8_t h[32];
    rc = core_proposal_sighash(h, &gp);
    if (rc != GZ_OK) return rc;
    if (!core_verify(cp.sig, h, 32, n->g.validators[who].pub_key))
        return gz_fail(msg, GZ_ESIG, "proposal_msg.sig: not signed by the proposer of round %llu", (unsigned long long)gp.round);
    if (is_next_height(n, gp.height)) return keep_future_proposal(n, payload, len, gp.round);
    if (n->decided) return GZ_ELIMIT;
    chain_block *b = NULL;
    rc = chain_add_block(&n->ch, &n->mp, blk, blen, &b, msg);
    if (rc != GZ_OK) return rc;
    if (memcmp(b->block_id, gp.block_id, 32) != 0)
        return gz_fail(msg, GZ_EARG, "proposal.block_id: does not match the block sent with it");
    cp.height = gp.height;
    cp.round = gp.round;
    cp.pol_round = gp.pol_round;
    memcpy(cp.block_id, gp.block_id, 32);
    cp.proposer = who;
    /* Write-ahead, as for votes: consensus may lock and precommit on it. */
    if (!proposal_logged(n, gp.round)) wal_append(n, NODE_WAL_PROPOSAL, payload, len);
    rc = cons_on_proposal(&n->cs, &cp, node_now_ms());
    if (rc == GZ_OK) {
        gz_buf_reset(&n->height_prop);
        if (gz_buf_append(&n->height_prop, payload, len) != GZ_OK) gz_buf_reset(&n->height_prop);
    }
    return rc;
}

static void handle_txs(node *n, int peer, const uint8_t *payload, size_t len) {
    static admit_item items[NODE_ADMIT_BATCH_MAX];
    mp_rd rd;
    gz_msg msg = {{0}};
    uint32_t count;
    mp_rd_init(&rd, payload, len, &msg);
    int rc = mp_get_array(&rd, "txs", &count, 0, NODE_ADMIT_BATCH_MAX);
    for (uint32_t i = 0; i < count && rc == GZ_OK; i++)
        rc = mp_get_bin(&rd, "txs[]", &items[i].bytes, &items[i].len, GZ_TX_BYTES_MAX);
    if (rc == GZ_OK) rc = mp_rd_end(&rd);
    if (rc != GZ_OK) {
        drop_peer(n, peer, "malformed txs message");
        return;
    }
    node_admit_batch(n, items, count, false);
    /* A tx the peer accepted but we refuse (a nonce we saw used, a full
     * mempool) is not the peer's fault: only bad bytes and signatures are. */
    for (uint32_t i = 0; i < count; i++) {
        int r = items[i].rc;
        if (r == GZ_ESIG || r == GZ_EENCODING || r == GZ_ECHAIN) {
            drop_peer(n, peer, r == GZ_ESIG ? "gossiped a tx with a bad signature" : "gossiped a malformed tx");
            return;
        }
    }
}

static int read_u64_msg(const uint8_t *payload, size_t len, const char *what, uint64_t *v) {
    mp_rd rd;
    mp_rd_init(&rd, payload, len, NULL);
    int rc = mp_get_array_n(&rd, what, 1);
    if (rc == GZ_OK) rc = mp_get_uint(&rd, what, v);
    if (rc == GZ_OK) rc = mp_rd_end(&rd);
    return rc;
}

static node_peer *peer_get(node *n, int peer_id) {
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
        net_send(n, peer, NODE_MSG_BLOCK, out.data, out.len);
    gz_buf_free(&blk);
    gz_buf_free(&cm);
    gz_buf_free(&out);
}

static void request_next(node *n, uint64_t now) {
    uint64_t want = n->ch.height + 1;
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
        node_peer *p = &n->peers[(want + i) % GZ_PEERS_MAX]; /* spread requests over peers */
        if (!p->up || p->height < want) continue;
        send_u64_msg(n, p->id, NODE_MSG_BLOCK_REQ, want);
        n->sync_req_ms = now;
        n->sync_req_height = want;
        return;
    }
}

static int handle_block(node *n, const uint8_t *payload, size_t len, gz_msg *msg) {
    mp_rd rd;
    uint64_t height;
    const uint8_t *blk, *cm;
    size_t blen, clen;
    mp_rd_init(&rd, payload, len, msg);
    int rc = mp_get_array_n(&rd, "block_msg", 3);
    if (rc == GZ_OK) rc = mp_get_uint(&rd, "block_msg.height", &height);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "block_msg.block", &blk, &blen, GZ_BLOCK_BYTES_MAX);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "block_msg.commit", &cm, &clen, GZ_BLOCK_BYTES_MAX);
    if (rc == GZ_OK) rc = mp_rd_end(&rd);
    if (rc != GZ_OK) return rc;
    if (height != n->ch.height + 1) return GZ_OK; /* stale answer: we moved on */
    if (!n->syncing) {
        n->syncing = true;
        n->sync_from = n->ch.height;
        n->sync_start_ms = node_now_ms();
        node_log(n, "sync: fetching blocks from peers, %llu to %llu", (unsigned long long)height,
                 (unsigned long long)n->sync_target);
    }
    rc = node_apply_synced(n, blk, blen, cm, clen, msg);
    if (rc != GZ_OK) return rc;
    if (height % NODE_SYNC_LOG_EVERY == 0 && n->syncing)
        node_log(n, "sync: at height %llu of %llu", (unsigned long long)height, (unsigned long long)n->sync_target);
    request_next(n, node_now_ms());
    return GZ_OK;
}

void node_on_message(void *ctx, int peer_id, uint8_t type, const uint8_t *payload, size_t len) {
    node *n = ctx;
    gz_msg msg = {{0}};
    int rc = GZ_OK;
    uint64_t v;
    node_peer *p = peer_get(n, peer_id);
    if (p == NULL) return;
    p->last_rx_ms = node_now_ms();
    switch (type) {
    case NODE_MSG_TXS: handle_txs(n, peer_id, payload, len); return;
    case NODE_MSG_PROPOSAL: rc = node_handle_proposal(n, payload, len, &msg); break;
    case NODE_MSG_VOTE: rc = node_handle_vote(n, payload, len, &msg); break;
    case NODE_MSG_STATUS:
        rc = read_u64_msg(payload, len, "status.height", &v);
        if (rc == GZ_OK) {
            p->height = v;
            if (v > n->sync_target) n->sync_target = v;
        }
        break;
    case NODE_MSG_BLOCK_REQ:
        rc = read_u64_msg(payload, len, "block_req.height", &v);
        if (rc == GZ_OK) send_block(n, peer_id, v);
        break;
    case NODE_MSG_BLOCK: rc = handle_block(n, payload, len, &msg); break;
    default: rc = gz_fail(&msg, GZ_EPROTO, "unknown message type %u", type);
    }
    /* Bad bytes or signatures are the peer's fault; stale or duplicate
     * messages are normal in gossip. */
    if (rc == GZ_EENCODING || rc == GZ_ESIG || rc == GZ_ECHAIN || rc == GZ_EARG || rc == GZ_EPROTO ||
        rc == GZ_EVERIFY) {
        char why[300];
        snprintf(why, sizeof why, "%s: %s", gz_strerror(rc), msg.text[0] ? msg.text : "bad message");
        drop_peer(n, peer_id, why);
    }
}

void node_on_peer_up(void *ctx, int peer_id, const uint8_t pubkey[32]) {
    node *n = ctx;
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
        node_peer *p = &n->peers[i];
        if (p->up) continue;
        p->up = true;
        p->id = peer_id;
        p->height = 0;
        p->last_rx_ms = node_now_ms();
        memcpy(p->pubkey, pubkey, 32);
        break;
    }
    node_gossip_resend(n, peer_id);
}

void node_on_peer_down(void *ctx, int peer_id, const char *reason) {
    node *n = ctx;
    node_peer *p = peer_get(n, peer_id);
    if (p != NULL) p->up = false;
    node_log(n, "peer %d down: %s", peer_id, reason);
}

/* Drops peers that have been silent too long (see NODE_PEER_SILENT_MS). */
static void drop_silent_peers(node *n, uint64_t now) {
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
        node_peer *p = &n->peers[i];
        if (!p->up || now - p->last_rx_ms <= NODE_PEER_SILENT_MS) continue;
        char why[64];
        snprintf(why, sizeof why, "silent for %llu ms", (unsigned long long)(now - p->last_rx_ms));
        drop_peer(n, p->id, why);
        p->up = false; /* even if the transport had let it go already */
    }
}

void node_sync_tick(node *n) {
    uint64_t now = node_now_ms();
    uint64_t best = 0;
    drop_silent_peers(n, now);
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) {
        if (n->peers[i].up && n->peers[i].height > best) best = n->peers[i].height;
    }
    n->sync_target = best;
    /* One height behind is consensus' business; more is sync's. Also ask
     * when a block request has gone unanswered for a while. */
    bool behind = best > n->ch.height + 1 || (best > n->ch.height && now - n->last_progress_ms > NODE_SYNC_BEHIND_MS);
    if (behind && (n->sync_req_height != n->ch.height + 1 || now - n->sync_req_ms > 500)) request_next(n, now);
}
