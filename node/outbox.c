/* What the node says to its environment: log lines, timers, peer sends
 * (docs/p2p.md, "Gossip": txs in batches, proposals with their blocks, votes,
 * committed heights), the WAL notes, and the height's messages kept for
 * re-sending. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/hash.h"
#include "core/mp.h"
#include "node/node_internal.h"

void node_log(node *n, const char *fmt, ...) {
    char text[400], line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "node%d h=%llu %s", n->my_index, (unsigned long long)n->ch.height, text);
    n->env.log(n->env.ctx, line);
}

void node_timer_start(node *n, unsigned timer, uint64_t delay_ms) {
    n->timer_armed[timer] = true;
    n->env.timer_start(n->env.ctx, timer, delay_ms);
}

void node_timer_stop(node *n, unsigned timer) {
    n->timer_armed[timer] = false;
    n->env.timer_stop(n->env.ctx, timer);
}

void node_send(node *n, int peer, uint8_t type, const uint8_t *data, size_t len) {
    if (!n->net_on || n->replaying) return;
    n->env.send(n->env.ctx, peer, type, data, len);
}

void node_send_u64(node *n, int peer, uint8_t type, uint64_t v) {
    uint8_t buf[16];
    gz_buf b = {buf, 0, sizeof buf};
    if (mp_put_array(&b, 1) == GZ_OK && mp_put_uint(&b, v) == GZ_OK) node_send(n, peer, type, b.data, b.len);
}

void node_drop_peer(node *n, int peer, const char *why) {
    node_log(n, "peer %d dropped: %s", peer, why);
    n->env.disconnect(n->env.ctx, peer, why);
}

bool node_proposal_logged(node *n, uint64_t round) {
    for (size_t i = 0; i < n->n_wal_props; i++) {
        if (n->wal_props[i] == round) return true;
    }
    if (n->n_wal_props < NODE_WAL_PROPS_MAX) n->wal_props[n->n_wal_props++] = round;
    return false;
}

bool node_wal_note(node *n, uint8_t type, const uint8_t *payload, size_t len, bool sync) {
    if (n->replaying) return true;
    int rc = node_wal_append(&n->wal, type, payload, len, sync);
    if (rc == GZ_OK) return true;
    node_storage_failed(n, NODE_HALT_WAL, rc, n->wal.path,
                        n->wal.last_errno != 0 ? strerror(n->wal.last_errno) : gz_strerror(rc));
    return false;
}

bool node_wal_note_own(node *n, uint8_t type, const gz_buf *payload, const node_vote_key *key) {
    if (node_wal_note(n, type, payload->data, payload->len, true)) return true;
    /* Signed but not durably logged: it must not leave. Kept, it goes out
     * once the log is healed, if its height is still the current one. */
    gz_buf_reset(&n->own_pending);
    if (gz_buf_append(&n->own_pending, payload->data, payload->len) != GZ_OK) gz_buf_reset(&n->own_pending);
    n->own_pending_type = type;
    n->own_pending_height = n->ch.height + 1;
    if (key != NULL) n->own_pending_key = *key;
    return false;
}

static const char *halt_name(unsigned what) {
    return what == NODE_HALT_WAL ? "wal" : what == NODE_HALT_STORE ? "store" : "signstate";
}

void node_storage_failed(node *n, unsigned what, int rc, const char *path, const char *detail) {
    bool fresh = (n->halted & what) == 0;
    n->halted |= what;
    if (rc == GZ_ENOSPC) n->halt_disk_full = true;
    if (fresh)
        node_log(n, "%s: %s%s%s: %s; signing%s paused until it takes writes again (retrying every %d ms)",
                 rc == GZ_ENOSPC ? "disk full" : "storage failure", halt_name(what), path != NULL ? " " : "",
                 path != NULL ? path : "", detail != NULL ? detail : gz_strerror(rc),
                 what == NODE_HALT_STORE ? " and committing" : "", NODE_STORAGE_RETRY_MS);
    if (!n->timer_armed[NODE_TIMER_STORAGE_RETRY]) node_timer_start(n, NODE_TIMER_STORAGE_RETRY, NODE_STORAGE_RETRY_MS);
}

/* Sends the own message held back by a failed append, now logged. */
static bool send_own_pending(node *n) {
    if (n->own_pending.len == 0) return true;
    bool current = n->own_pending_height == n->ch.height + 1 && !n->decided;
    if (current && node_wal_append(&n->wal, n->own_pending_type, n->own_pending.data, n->own_pending.len, true) != GZ_OK)
        return false;
    if (current && n->own_pending_type == NODE_WAL_VOTE) node_gossip_vote(n, &n->own_pending, &n->own_pending_key);
    else if (current) node_gossip_proposal(n, &n->own_pending);
    gz_buf_reset(&n->own_pending);
    return true;
}

bool node_wal_recover(node *n) {
    gz_msg msg = {{0}};
    if (node_wal_heal(&n->wal, &msg) != GZ_OK) return false;
    /* Consensus saw messages whose records failed: log again what the
     * height keeps (the re-send set), so that what it built on is ahead of
     * anything it signs from now on. Records already there are harmless
     * twice: replay feeds consensus duplicates it ignores. */
    int rc = GZ_OK;
    if (n->height_prop.len > 0)
        rc = node_wal_append(&n->wal, NODE_WAL_PROPOSAL, n->height_prop.data, n->height_prop.len, false);
    for (size_t i = 0; i < n->n_height_votes && rc == GZ_OK; i++)
        rc = node_wal_append(&n->wal, NODE_WAL_VOTE, n->height_votes[i].data, n->height_votes[i].len, false);
    if (rc == GZ_OK) rc = node_wal_sync(&n->wal);
    if (rc != GZ_OK || !send_own_pending(n)) return false;
    n->n_wal_props = 0; /* a proposal whose record failed is logged when it comes again */
    return true;
}

/* ---- txs ------------------------------------------------------------------ */

void node_flush_txs(node *n) {
    if (n->tx_out_n == 0) return;
    gz_buf msg;
    gz_buf_init(&msg);
    if (mp_put_array(&msg, n->tx_out_n) == GZ_OK && gz_buf_append(&msg, n->tx_out.data, n->tx_out.len) == GZ_OK)
        node_send(n, -1, NODE_MSG_TXS, msg.data, msg.len);
    gz_buf_free(&msg);
    gz_buf_reset(&n->tx_out);
    n->tx_out_n = 0;
}

void node_gossip_tx(node *n, const uint8_t *bytes, size_t len) {
    if (!n->net_on) return;
    if (mp_put_bin(&n->tx_out, bytes, len) != GZ_OK) return;
    if (++n->tx_out_n >= GZ_TX_GOSSIP_BATCH_MAX) {
        node_flush_txs(n);
        return;
    }
    if (!n->timer_armed[NODE_TIMER_TX_FLUSH]) node_timer_start(n, NODE_TIMER_TX_FLUSH, NODE_TX_BATCH_MS);
}

/* ---- encoding ------------------------------------------------------------- */

void node_vote_from_cons(const node *n, const cons_vote *v, gz_vote *gv) {
    memset(gv, 0, sizeof *gv);
    snprintf(gv->chain_id, sizeof gv->chain_id, "%s", n->g.chain_id);
    gv->type = v->type;
    gv->height = v->height;
    gv->round = v->round;
    gv->has_block_id = v->has_block_id;
    memcpy(gv->block_id, v->block_id, 32);
    gv->time = v->time;
}

void node_proposal_from_cons(const node *n, const cons_proposal *p, gz_proposal *gp) {
    memset(gp, 0, sizeof *gp);
    snprintf(gp->chain_id, sizeof gp->chain_id, "%s", n->g.chain_id);
    gp->height = p->height;
    gp->round = p->round;
    gp->pol_round = p->pol_round;
    memcpy(gp->block_id, p->block_id, 32);
}

int node_encode_vote(node *n, const cons_vote *v, gz_buf *out) {
    gz_vote gv;
    node_vote_from_cons(n, v, &gv);
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
    gz_proposal gp;
    node_proposal_from_cons(n, p, &gp);
    gz_buf pb;
    gz_buf_init(&pb);
    int rc = core_proposal_encode(&gp, &pb);
    if (rc == GZ_OK) rc = mp_put_array(out, 3);
    if (rc == GZ_OK) rc = mp_put_bin(out, pb.data, pb.len);
    if (rc == GZ_OK) rc = mp_put_bin(out, p->sig, 64);
    if (rc == GZ_OK) rc = mp_put_bin(out, b->bytes.data, b->bytes.len);
    gz_buf_free(&pb);
    return rc;
}

/* ---- the WAL index of votes ---------------------------------------------- */

void node_wal_votes_reset(node *n) {
    for (uint32_t v = 0; v < GZ_VALIDATORS_MAX; v++) /* all: the next set may be larger */
        for (size_t r = 0; r < NODE_WAL_VOTE_ROUNDS; r++) n->wal_votes[v][r].used = false;
}

static uint64_t round_distance(uint64_t a, uint64_t b) { return a > b ? a - b : b - a; }

/* Whether consensus reads the votes of round (cons_round_pinned's rule,
 * without the POL round it alone knows). */
static bool round_pinned(const cons_state *st, uint64_t round) {
    if (round == st->round || round == st->round + 1) return true;
    if (st->locked_round >= 0 && round == (uint64_t)st->locked_round) return true;
    return st->valid_round >= 0 && round == (uint64_t)st->valid_round;
}

/* The index slot of key's round: the one holding it, else a free one, else
 * the unpinned one farthest from the current round if key's round is
 * nearer, else NODE_WAL_VOTE_ROUNDS (no room). *held says which. */
static size_t wal_votes_slot(const node *n, const node_vote_key *key, bool *held) {
    const node_wal_votes *row = n->wal_votes[key->validator];
    size_t free_at = NODE_WAL_VOTE_ROUNDS;
    *held = false;
    for (size_t r = 0; r < NODE_WAL_VOTE_ROUNDS; r++) {
        if (row[r].used && row[r].round == key->round) {
            *held = true;
            return r;
        }
        if (!row[r].used && free_at == NODE_WAL_VOTE_ROUNDS) free_at = r;
    }
    if (free_at < NODE_WAL_VOTE_ROUNDS) return free_at;
    cons_state st;
    cons_state_get(&n->cs, &st);
    size_t far = NODE_WAL_VOTE_ROUNDS;
    for (size_t r = 0; r < NODE_WAL_VOTE_ROUNDS; r++) {
        if (round_pinned(&st, row[r].round)) continue;
        if (far == NODE_WAL_VOTE_ROUNDS ||
            round_distance(row[r].round, st.round) > round_distance(row[far].round, st.round))
            far = r;
    }
    if (far == NODE_WAL_VOTE_ROUNDS) return far;
    bool nearer = round_pinned(&st, key->round) ||
                  round_distance(key->round, st.round) < round_distance(row[far].round, st.round);
    return nearer ? far : NODE_WAL_VOTE_ROUNDS;
}

static bool key_ok(const node *n, const node_vote_key *key) {
    return key->validator < node_valset(n)->n && key->validator < GZ_VALIDATORS_MAX &&
           (key->type == CONS_PREVOTE || key->type == CONS_PRECOMMIT);
}

int node_vote_seen(const node *n, const uint8_t *payload, size_t len, const node_vote_key *key) {
    if (!key_ok(n, key)) return NODE_VOTE_KNOWN;
    bool held;
    size_t r = wal_votes_slot(n, key, &held);
    if (r == NODE_WAL_VOTE_ROUNDS) return NODE_VOTE_KNOWN; /* no room: dropped unlogged */
    if (!held) return NODE_VOTE_NEW;
    const node_wal_votes *e = &n->wal_votes[key->validator][r];
    uint8_t d[32];
    core_sha256(d, payload, len);
    size_t t = (size_t)key->type - 1;
    for (size_t k = 0; k < e->n[t]; k++)
        if (memcmp(e->digest[t][k], d, 32) == 0) return NODE_VOTE_KNOWN;
    return e->n[t] == 0 ? NODE_VOTE_NEW : e->n[t] == 1 ? NODE_VOTE_SECOND : NODE_VOTE_EXTRA;
}

/* Notes a vote in the WAL index (node_vote_seen said NEW or SECOND). */
static void wal_votes_add(node *n, const uint8_t *payload, size_t len, const node_vote_key *key) {
    if (!key_ok(n, key)) return;
    bool held;
    size_t r = wal_votes_slot(n, key, &held);
    if (r == NODE_WAL_VOTE_ROUNDS) return;
    node_wal_votes *e = &n->wal_votes[key->validator][r];
    if (!held) {
        memset(e, 0, sizeof *e);
        e->used = true;
        e->round = key->round;
    }
    size_t t = (size_t)key->type - 1;
    if (e->n[t] < 2) core_sha256(e->digest[t][e->n[t]++], payload, len);
}

/* ---- the height's messages, for re-sends ---------------------------------- */

/* The slot for a new vote: a free one, else the one of the lowest round if
 * that is below the new vote's round, else none. */
static size_t vote_slot(const node *n, uint64_t round) {
    if (n->n_height_votes < GZ_HEIGHT_VOTES_MAX) return n->n_height_votes;
    size_t low = 0;
    for (size_t i = 1; i < n->n_height_votes; i++)
        if (n->height_vote_keys[i].round < n->height_vote_keys[low].round) low = i;
    return n->height_vote_keys[low].round < round ? low : GZ_HEIGHT_VOTES_MAX;
}

void node_remember_vote(node *n, const uint8_t *payload, size_t len, const node_vote_key *key) {
    wal_votes_add(n, payload, len, key);
    size_t k = vote_slot(n, key->round);
    if (k == GZ_HEIGHT_VOTES_MAX) return;
    gz_buf *b = &n->height_votes[k];
    gz_buf_reset(b);
    if (gz_buf_append(b, payload, len) != GZ_OK) return;
    n->height_vote_keys[k] = *key;
    if (k == n->n_height_votes) n->n_height_votes++;
}

void node_remember_proposal(node *n, const uint8_t *payload, size_t len) {
    gz_buf_reset(&n->height_prop);
    if (gz_buf_append(&n->height_prop, payload, len) != GZ_OK) gz_buf_reset(&n->height_prop);
}

void node_gossip_proposal(node *n, const gz_buf *payload) {
    node_remember_proposal(n, payload->data, payload->len);
    node_send(n, -1, NODE_MSG_PROPOSAL, payload->data, payload->len);
}

void node_gossip_vote(node *n, const gz_buf *payload, const node_vote_key *key) {
    int seen = node_vote_seen(n, payload->data, payload->len, key);
    if (seen == NODE_VOTE_NEW || seen == NODE_VOTE_SECOND) node_remember_vote(n, payload->data, payload->len, key);
    node_send(n, -1, NODE_MSG_VOTE, payload->data, payload->len);
}

void node_gossip_status(node *n) { node_send_u64(n, -1, NODE_MSG_STATUS, n->ch.height); }

void node_gossip_resend(node *n, int peer) {
    if (n->height_prop.len > 0) node_send(n, peer, NODE_MSG_PROPOSAL, n->height_prop.data, n->height_prop.len);
    for (size_t i = 0; i < n->n_height_votes; i++)
        node_send(n, peer, NODE_MSG_VOTE, n->height_votes[i].data, n->height_votes[i].len);
    node_send_u64(n, peer, NODE_MSG_STATUS, n->ch.height);
}
