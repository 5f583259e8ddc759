/* Incoming consensus gossip (docs/p2p.md, "Gossip"): proposals with their
 * blocks, votes, and txs. Every message from a peer is checked before it
 * reaches consensus; what cannot be valid is the peer's fault and drops it.
 * Messages for the next height are kept until it starts, and every message
 * of the current height is written ahead to the WAL before consensus sees it. */
#include <stdio.h>
#include <string.h>

#include "core/keys.h"
#include "core/mp.h"
#include "node/node_internal.h"

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

static void equivocated(node *n, const cons_vote *v) {
    char who[17] = "?";
    const ledger_valset *vs = node_valset(n);
    /* The set of the vote's height is the one after the committed height. */
    if (v->height == n->ch.height + 1 && v->validator < vs->n) hex8(vs->v[v->validator].pub_key, who);
    node_log(n, "evidence: validator %u (%s…) equivocated at %llu/%llu", v->validator, who,
             (unsigned long long)v->height, (unsigned long long)v->round);
    node_evidence_submit(n);
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
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "vote_msg.vote", &vb, &vlen, GZ_VOTE_BYTES_MAX);
    if (rc == GZ_OK) rc = mp_get_uint(&rd, "vote_msg.validator", &idx);
    if (rc == GZ_OK) rc = mp_get_bin_fixed(&rd, "vote_msg.sig", cv.sig, 64);
    if (rc == GZ_OK) rc = mp_rd_end(&rd);
    if (rc == GZ_OK) rc = core_vote_decode(&gv, vb, vlen, msg);
    if (rc != GZ_OK) return rc;
    if (strcmp(gv.chain_id, n->g.chain_id) != 0) return gz_fail(msg, GZ_ECHAIN, "vote.chain_id: not this chain");
    if (gv.height <= n->ch.height) return GZ_ESTATE; /* late: already committed */
    if (gv.height > n->ch.height + 2) return GZ_ELIMIT;
    /* The set of the height after the committed one is known; the one after
     * that may still change with the block being decided, so a message for it
     * that does not check out against today's set is dropped, not blamed. */
    const ledger_valset *vs = node_valset(n);
    bool set_known = gv.height == n->ch.height + 1;
    if (idx >= vs->n) {
        if (!set_known) return GZ_ELIMIT;
        return gz_fail(msg, GZ_EARG, "vote_msg.validator: %llu is not in the validator set", (unsigned long long)idx);
    }
    if (gv.round > CONS_ROUND_MAX) return gz_fail(msg, GZ_EARG, "vote.round: too large");
    /* Re-sends and gossip bring the same bytes again and again: a vote of
     * the current height kept for re-sending was verified when it came. */
    bool current = !n->decided && gv.height == n->ch.height + 1;
    node_vote_key key = {.validator = (uint32_t)idx, .round = gv.round, .type = (uint8_t)gv.type};
    int seen = current ? node_vote_seen(n, payload, len, &key) : NODE_VOTE_NEW;
    if (seen == NODE_VOTE_KNOWN) return GZ_EDUP;
    uint8_t h[32];
    rc = core_vote_sighash(h, &gv);
    if (rc != GZ_OK) return rc;
    if (!core_verify(cv.sig, h, 32, vs->v[idx].pub_key)) {
        if (!set_known) return GZ_ELIMIT;
        return gz_fail(msg, GZ_ESIG, "vote_msg.sig: not signed by validator %llu", (unsigned long long)idx);
    }
    if (is_next_height(n, gv.height)) return keep_future_vote(n, payload, len, gv.round);
    if (n->decided) return GZ_ELIMIT;
    /* Write-ahead: a vote of the current height is logged (once) before
     * consensus sees it. Consensus may answer it with a precommit, which is
     * logged with fsync before it leaves; the vote that caused it is then
     * already ahead of it in the log, so a replay after a crash rebuilds the
     * lock that precommit stands for. Of an equivocator's votes for one
     * validator, round and type, the first two messages are logged, kept
     * and fed to consensus (which counts at most two values); later ones
     * are none of these, so an equivocator cannot fill the log or the
     * re-send set, and consensus never counts a vote the WAL does not hold
     * (a replay would rebuild a different state). */
    if (seen == NODE_VOTE_EXTRA) return GZ_ELIMIT;
    node_wal_note(n, NODE_WAL_VOTE, payload, len, false);
    node_remember_vote(n, payload, len, &key);
    cv.type = (uint8_t)gv.type;
    cv.height = gv.height;
    cv.round = gv.round;
    cv.has_block_id = gv.has_block_id;
    memcpy(cv.block_id, gv.block_id, 32);
    cv.validator = (uint32_t)idx;
    cv.time = gv.time;
    rc = cons_on_vote(&n->cs, &cv, node_mono_ms(n));
    if (rc == GZ_ECONFLICT) equivocated(n, &cv);
    return rc;
}

int node_handle_proposal(node *n, const uint8_t *payload, size_t len, gz_msg *msg) {
    mp_rd rd;
    const uint8_t *pb, *blk;
    size_t plen, blen;
    cons_proposal cp = {0};
    gz_proposal gp;
    mp_rd_init(&rd, payload, len, msg);
    int rc = mp_get_array_n(&rd, "proposal_msg", 3);
    if (rc == GZ_OK) rc = mp_get_bin(&rd, "proposal_msg.proposal", &pb, &plen, GZ_PROPOSAL_BYTES_MAX);
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
    /* Between a commit that changed the set and the next height's start,
     * consensus still rotates the old set: wait for the re-send. */
    uint8_t vh[32];
    ledger_validators_next_hash(n->lg, vh);
    if (memcmp(vh, n->valset_hash, 32) != 0) return GZ_ELIMIT;
    uint32_t who = cons_proposer(&n->cs, gp.height, gp.round);
    uint8_t h[32];
    rc = core_proposal_sighash(h, &gp);
    if (rc != GZ_OK) return rc;
    if (!core_verify(cp.sig, h, 32, node_valset(n)->v[who].pub_key)) {
        if (gp.height != n->ch.height + 1) return GZ_ELIMIT; /* its set may not be known yet (see votes) */
        return gz_fail(msg, GZ_ESIG, "proposal_msg.sig: not signed by the proposer of round %llu", (unsigned long long)gp.round);
    }
    if (is_next_height(n, gp.height)) return keep_future_proposal(n, payload, len, gp.round);
    if (n->decided) return GZ_ELIMIT;
    chain_block *b = NULL;
    node_keep_candidates(n);
    rc = chain_add_block(&n->ch, &n->mp, blk, blen, gp.block_id, &b, msg);
    if (rc != GZ_OK) return rc;
    cp.height = gp.height;
    cp.round = gp.round;
    cp.pol_round = gp.pol_round;
    memcpy(cp.block_id, gp.block_id, 32);
    cp.proposer = who;
    /* Write-ahead, as for votes: consensus may lock and precommit on it. */
    if (!node_proposal_logged(n, gp.round)) node_wal_note(n, NODE_WAL_PROPOSAL, payload, len, false);
    rc = cons_on_proposal(&n->cs, &cp, node_mono_ms(n));
    if (rc == GZ_OK) {
        node_remember_proposal(n, payload, len);
        n->has_prop_id = true;
        memcpy(n->prop_id, gp.block_id, 32);
    }
    return rc;
}

void node_handle_txs(node *n, int peer, const uint8_t *payload, size_t len) {
    admit_item *items = n->scratch_items;
    mp_rd rd;
    gz_msg msg = {{0}};
    uint32_t count;
    mp_rd_init(&rd, payload, len, &msg);
    int rc = mp_get_array(&rd, "txs", &count, 0, GZ_TX_GOSSIP_BATCH_MAX);
    for (uint32_t i = 0; i < count && rc == GZ_OK; i++)
        rc = mp_get_bin(&rd, "txs[]", &items[i].bytes, &items[i].len, GZ_TX_BYTES_MAX);
    if (rc == GZ_OK) rc = mp_rd_end(&rd);
    if (rc != GZ_OK) {
        node_drop_peer(n, peer, "malformed txs message");
        return;
    }
    node_admit_batch(n, items, count, peer);
    /* A tx the peer accepted but we refuse (a nonce we saw used, a full
     * mempool or the peer's share of it) is not the peer's fault: only bad
     * bytes and signatures are. */
    for (uint32_t i = 0; i < count; i++) {
        int r = items[i].rc;
        if (r == GZ_ESIG || r == GZ_EENCODING || r == GZ_ECHAIN) {
            node_drop_peer(n, peer, r == GZ_ESIG ? "gossiped a tx with a bad signature" : "gossiped a malformed tx");
            return;
        }
    }
}

