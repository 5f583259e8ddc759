/* The engine: opens the ledger, chain, sign state and WAL over the host's
 * store, wires consensus to them (cons_callbacks), dispatches the host's
 * events (timers, peers, messages) and replays the WAL after a restart.
 * Everything it does to the world goes through the host's node_env. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/keys.h"
#include "node/node_internal.h"

/* ---- consensus callbacks ------------------------------------------------- */

static bool cb_propose(void *ctx, uint64_t height, uint64_t round, uint8_t out[32]) {
    node *n = ctx;
    chain_block *b = NULL;
    node_keep_candidates(n);
    int rc = chain_build(&n->ch, &n->mp, node_wall_ms(n), n->pk, &b);
    if (rc != GZ_OK) {
        node_log(n, "propose %llu/%llu: cannot build a block: %s", (unsigned long long)height,
                 (unsigned long long)round, gz_strerror(rc));
        return false;
    }
    memcpy(out, b->block_id, 32);
    n->has_prop_id = true;
    memcpy(n->prop_id, b->block_id, 32);
    return true;
}

static bool cb_valid(void *ctx, uint64_t height, uint64_t round, const uint8_t id[32]) {
    node *n = ctx;
    (void)round;
    chain_block *b = chain_find(&n->ch, id);
    if (b == NULL || b->header.height != height) return false;
    bool ok = chain_validate(&n->ch, b, node_wall_ms(n));
    if (!ok) node_log(n, "block %llu invalid: %s", (unsigned long long)height, b->reason);
    return ok;
}

/* A refused sign-state write halts signing like a failed WAL append. */
static void signstate_failed(node *n, int rc) {
    if (rc == GZ_EIO || rc == GZ_ENOSPC)
        node_storage_failed(n, NODE_HALT_SIGNSTATE, rc, n->ss.path, strerror(n->ss.last_errno));
}

static bool cb_sign_vote(void *ctx, cons_vote *v) {
    node *n = ctx;
    if (n->halted != 0) return false; /* a failed write: nothing is signed until it heals */
    gz_vote gv;
    node_vote_from_cons(n, v, &gv);
    gv.time = node_wall_ms(n);
    uint8_t h[32];
    if (core_vote_sighash(h, &gv) != GZ_OK) return false;
    uint8_t step = v->type == CONS_PREVOTE ? NODE_STEP_PREVOTE : NODE_STEP_PRECOMMIT;
    int rc = node_signstate_check_and_persist(&n->ss, v->height, v->round, step, h);
    signstate_failed(n, rc);
    if (rc != GZ_OK) {
        if (!n->replaying)
            node_log(n, "refusing to sign vote %llu/%llu/%u: %s", (unsigned long long)v->height,
                     (unsigned long long)v->round, step, gz_strerror(rc));
        return false;
    }
    if (core_sign32(v->sig, n->sk, h, NULL) != GZ_OK) return false;
    v->time = gv.time;
    return true;
}

static bool cb_sign_proposal(void *ctx, cons_proposal *p) {
    node *n = ctx;
    if (n->halted != 0) return false;
    gz_proposal gp;
    node_proposal_from_cons(n, p, &gp);
    uint8_t h[32];
    if (core_proposal_sighash(h, &gp) != GZ_OK) return false;
    int rc = node_signstate_check_and_persist(&n->ss, p->height, p->round, NODE_STEP_PROPOSAL, h);
    signstate_failed(n, rc);
    if (rc != GZ_OK) return false;
    return core_sign32(p->sig, n->sk, h, NULL) == GZ_OK;
}

static void cb_broadcast_vote(void *ctx, const cons_vote *v) {
    node *n = ctx;
    gz_buf b;
    gz_buf_init(&b);
    if (node_encode_vote(n, v, &b) == GZ_OK) {
        node_vote_key key = {.validator = v->validator, .round = v->round, .type = v->type};
        /* Logged with sync before it leaves; if that fails it does not leave. */
        if (node_wal_note_own(n, NODE_WAL_VOTE, &b, &key)) node_gossip_vote(n, &b, &key);
    }
    gz_buf_free(&b);
}

static void cb_broadcast_proposal(void *ctx, const cons_proposal *p) {
    node *n = ctx;
    gz_buf b;
    gz_buf_init(&b);
    if (node_encode_proposal(n, p, &b) == GZ_OK) {
        (void)node_proposal_logged(n, p->round); /* it is, synced, before it leaves */
        if (node_wal_note_own(n, NODE_WAL_PROPOSAL, &b, NULL)) node_gossip_proposal(n, &b);
    }
    gz_buf_free(&b);
}

static void cb_schedule_timeout(void *ctx, uint64_t height, uint64_t round, uint8_t step, uint64_t delay) {
    node *n = ctx;
    if (n->replaying) return; /* replayed TIMEOUT records stand in for timers */
    /* A free timer, else the one of the oldest (height, round): it is stale. */
    size_t k = 0;
    for (size_t i = 0; i < NODE_CONS_TIMERS; i++) {
        const node_cons_timer *c = &n->cons_timers[i];
        const node_cons_timer *t = &n->cons_timers[k];
        if (!c->busy) {
            k = i;
            break;
        }
        if (c->height < t->height || (c->height == t->height && c->round < t->round)) k = i;
    }
    node_cons_timer *t = &n->cons_timers[k];
    t->busy = true;
    t->height = height;
    t->round = round;
    t->step = step;
    node_timer_start(n, NODE_TIMER_CONS + (unsigned)k, delay);
}

static void cb_decide(void *ctx, uint64_t height, uint64_t round, const uint8_t id[32],
                      const cons_proposal *prop, const cons_vote *pcs, size_t np) {
    (void)prop;
    node_commit_decided(ctx, height, round, id, pcs, np);
}

static const cons_callbacks CALLBACKS = {
    .propose = cb_propose,
    .valid = cb_valid,
    .sign_vote = cb_sign_vote,
    .sign_proposal = cb_sign_proposal,
    .broadcast_vote = cb_broadcast_vote,
    .broadcast_proposal = cb_broadcast_proposal,
    .schedule_timeout = cb_schedule_timeout,
    .decide = cb_decide,
};

/* ---- timers --------------------------------------------------------------- */

static void on_cons_timer(node *n, size_t k) {
    node_cons_timer *t = &n->cons_timers[k];
    if (!t->busy) return;
    t->busy = false;
    uint8_t rec[17];
    gz_put_u64be(rec, t->height);
    gz_put_u64be(rec + 8, t->round);
    rec[16] = t->step;
    if (cons_on_timeout(&n->cs, t->height, t->round, t->step, node_mono_ms(n)) == GZ_OK)
        node_wal_note(n, NODE_WAL_TIMEOUT, rec, sizeof rec, false);
}

/* The voting powers consensus weighs set s's votes by. NODE_FAULT_OLD_POWERS
 * (tests only) keeps the genesis powers for the indices genesis had, as a
 * node that does not follow a change would. */
static void set_powers(const node *n, const ledger_valset *s, uint64_t powers[GZ_VALIDATORS_MAX]) {
    for (uint32_t i = 0; i < s->n; i++) powers[i] = s->v[i].power;
    if (!(n->test_faults & NODE_FAULT_OLD_POWERS)) return;
    for (uint32_t i = 0; i < s->n && i < n->g.n_validators; i++) powers[i] = n->g.validators[i].power;
}

/* Installs the ledger's set of the next height in consensus when a block
 * changed it (SPEC §4: a change takes effect at the next height). */
static void valset_follow(node *n) {
    uint8_t vh[32];
    ledger_validators_next_hash(n->lg, vh);
    if (memcmp(vh, n->valset_hash, 32) == 0) return;
    const ledger_valset *s = node_valset(n);
    uint64_t powers[GZ_VALIDATORS_MAX];
    set_powers(n, s, powers);
    int32_t me = ledger_valset_index(s, n->pk);
    int rc = cons_set_validators(&n->cs, powers, s->n, me);
    assert(rc == GZ_OK); /* the ledger keeps sets within consensus's bounds */
    (void)rc;
    if (me != n->my_index)
        node_log(n, "validator set of height %llu: %u validators; this node %s", (unsigned long long)(n->ch.height + 1),
                 s->n, me >= 0 ? "signs" : "no longer signs");
    n->my_index = me;
    memcpy(n->valset_hash, vh, 32);
}

/* Starts consensus for the height after the committed one. */
static void start_next_height(node *n) {
    n->decided = false;
    for (size_t i = 0; i < n->n_height_votes; i++) gz_buf_reset(&n->height_votes[i]);
    n->n_height_votes = 0;
    gz_buf_reset(&n->height_prop);
    n->has_prop_id = false;
    n->n_wal_props = 0;
    node_wal_votes_reset(n);
    gz_buf_reset(&n->own_pending);
    chain_clear(&n->ch);
    gz_msg msg = {{0}};
    int wrc = node_wal_reset(&n->wal, &msg);
    if (wrc != GZ_OK) node_storage_failed(n, NODE_HALT_WAL, wrc, n->wal.path, msg.text);
    uint64_t now = node_mono_ms(n);
    node_timer_stop(n, NODE_TIMER_PROPOSE_WAIT);
    bool txs = mempool_count(&n->mp) > 0 && node_txs_ready_now(n, now);
    valset_follow(n);
    int rc = cons_start_height(&n->cs, n->ch.height + 1, now, txs);
    if (rc != GZ_OK)
        node_log(n, "consensus: cannot start height %llu: %s", (unsigned long long)(n->ch.height + 1),
                 gz_strerror(rc));
    else node_feed_future(n);
}

/* Arms the current step's timeout again: after a restart its timer is gone,
 * and after a halt the step may wait for a vote this node refused to sign. */
static void rearm_step_timeout(node *n) {
    cons_state st;
    cons_state_get(&n->cs, &st);
    cb_schedule_timeout(n, st.height, st.round, st.step, cons_timeout_ms(&n->cs, st.step, st.round));
}

static void on_tick(node *n) {
    node_timer_start(n, NODE_TIMER_TICK, NODE_TICK_MS);
    if (!n->net_on) return;
    uint64_t now = node_mono_ms(n);
    node_sync_tick(n, now);
    /* A separate clock for re-sends: the time of the last commit is what
     * block sync looks at to tell a stalled height. */
    uint64_t since = n->last_resend_ms > n->last_progress_ms ? n->last_resend_ms : n->last_progress_ms;
    if (now - since > NODE_REBROADCAST_MS) {
        node_gossip_resend(n, -1);
        n->last_resend_ms = now;
    }
}

void node_on_timer(node *n, unsigned timer) {
    assert(timer < NODE_TIMERS_N);
    n->timer_armed[timer] = false;
    if (timer < NODE_TIMER_CONS + NODE_CONS_TIMERS) {
        on_cons_timer(n, timer - NODE_TIMER_CONS);
        return;
    }
    switch (timer) {
    case NODE_TIMER_TICK: on_tick(n); break;
    case NODE_TIMER_TX_FLUSH: node_flush_txs(n); break;
    case NODE_TIMER_PROPOSE_WAIT: node_on_propose_wait(n); break;
    case NODE_TIMER_NEXT_HEIGHT: start_next_height(n); break;
    case NODE_TIMER_TXS_READY: node_on_txs_ready(n); break;
    case NODE_TIMER_ADMIT: node_admit_flush(n); break;
    case NODE_TIMER_STORAGE_RETRY:
        if (node_storage_retry(n)) rearm_step_timeout(n);
        break;
    default: assert(!"unknown timer");
    }
}

/* ---- peers and messages --------------------------------------------------- */

void node_on_peer_up(node *n, int peer, const uint8_t pubkey[32]) {
    node_peer_add(n, peer, pubkey);
    node_gossip_resend(n, peer);
}

void node_on_peer_down(node *n, int peer, const char *reason) {
    node_peer *p = node_peer_get(n, peer);
    if (p != NULL) p->up = false;
    if (n->sync_req_peer == peer) n->sync_req_peer = -1; /* ask another at once */
    node_log(n, "peer %d down: %s", peer, reason);
}

bool node_peer_banned(const node *n, const uint8_t pubkey[32]) {
    return node_key_banned(n, pubkey, node_mono_ms(n));
}

/* Bad bytes or signatures are the peer's fault; stale or duplicate messages
 * are normal in gossip. */
static bool peer_at_fault(int rc) {
    return rc == GZ_EENCODING || rc == GZ_ESIG || rc == GZ_ECHAIN || rc == GZ_EARG || rc == GZ_EPROTO ||
           rc == GZ_EVERIFY;
}

void node_on_message(node *n, int peer, uint8_t type, const uint8_t *payload, size_t len) {
    gz_msg msg = {{0}};
    int rc = GZ_OK;
    node_peer *p = node_peer_get(n, peer);
    if (p == NULL) return;
    p->last_rx_ms = node_mono_ms(n);
    switch (type) {
    case NODE_MSG_TXS: node_handle_txs(n, peer, payload, len); return;
    case NODE_MSG_PROPOSAL: rc = node_handle_proposal(n, payload, len, &msg); break;
    case NODE_MSG_VOTE: rc = node_handle_vote(n, payload, len, &msg); break;
    case NODE_MSG_STATUS: rc = node_handle_status(n, p, payload, len); break;
    case NODE_MSG_BLOCK_REQ: rc = node_handle_block_req(n, p, payload, len); break;
    case NODE_MSG_BLOCK: rc = node_handle_block(n, p, payload, len, &msg); break;
    default: rc = gz_fail(&msg, GZ_EPROTO, "unknown message type %u", type);
    }
    if (peer_at_fault(rc)) {
        char why[300];
        snprintf(why, sizeof why, "%s: %s", gz_strerror(rc), msg.text[0] ? msg.text : "bad message");
        node_ban_key(n, p->pubkey);
        node_drop_peer(n, peer, why);
    }
}

/* ---- open, start, close --------------------------------------------------- */

static int open_key(node *n, const uint8_t seckey[32], gz_msg *msg) {
    memcpy(n->sk, seckey, 32);
    if (core_key_pub(n->pk, n->sk) != GZ_OK) return gz_fail(msg, GZ_EARG, "key: not a valid secret key");
    n->my_index = -1;
    return GZ_OK;
}

static int open_consensus(node *n, gz_msg *msg) {
    const ledger_valset *s = node_valset(n);
    uint64_t powers[GZ_VALIDATORS_MAX];
    set_powers(n, s, powers);
    n->my_index = ledger_valset_index(s, n->pk);
    ledger_validators_next_hash(n->lg, n->valset_hash);
    cons_config cc = {
        .powers = powers,
        .n_validators = s->n,
        .validators_cap = GZ_VALIDATORS_MAX,
        .my_index = n->my_index,
        .timeout_propose_ms = n->g.consensus.timeout_propose_ms,
        .timeout_vote_ms = n->g.consensus.timeout_vote_ms,
        .timeout_delta_ms = n->g.consensus.timeout_delta_ms,
        .empty_block_ms = n->g.consensus.empty_block_ms,
        .test_faults = n->cons_test_faults,
    };
    cons_callbacks cb = CALLBACKS;
    cb.ctx = n;
    int rc = cons_init(&n->cs, &cc, &cb);
    if (rc != GZ_OK) return gz_fail(msg, rc, "consensus: cannot initialise: %s", gz_strerror(rc));
    n->opened_cons = true;
    return GZ_OK;
}

static int open_parts(node *n, const node_open_args *a, gz_msg *msg) {
    int rc = ledger_open(&n->lg, n->st, &n->g, msg);
    n->opened_ledger = rc == GZ_OK;
    if (rc == GZ_OK) rc = chain_open(&n->ch, n->st, n->lg, &n->g, msg);
    n->opened_chain = rc == GZ_OK;
    if (rc == GZ_OK && mempool_init(&n->mp, GZ_MEMPOOL_TXS_MAX, GZ_MEMPOOL_BYTES_MAX) != GZ_OK)
        rc = gz_fail(msg, GZ_ENOMEM, "mempool: out of memory");
    n->opened_mp = rc == GZ_OK;
    if (rc == GZ_OK && sigpool_init(&n->pool, a->sig_workers) != GZ_OK)
        rc = gz_fail(msg, GZ_ENOMEM, "sigpool: cannot start threads");
    n->opened_pool = rc == GZ_OK;
    if (rc == GZ_OK) n->ch.pool = &n->pool;
    if (n->test_faults & NODE_FAULT_CHAIN_NO_DUP) n->ch.test_faults |= CHAIN_TEST_ALLOW_COMMITTED;
    if (n->test_faults & NODE_FAULT_ADMIT_COMMITTED) n->ch.test_faults |= CHAIN_TEST_BUILD_ANY_NONCE;
    if (rc == GZ_OK) rc = node_signstate_open(&n->ss, a->signstate_path, msg);
    n->opened_ss = rc == GZ_OK;
    if (rc == GZ_OK) rc = node_wal_open(&n->wal, a->wal_path, msg);
    n->opened_wal = rc == GZ_OK;
    if (rc == GZ_OK && n->wal.dropped_bytes > 0)
        node_log(n, "wal: dropped a torn tail of %llu bytes", (unsigned long long)n->wal.dropped_bytes);
    if (rc == GZ_OK) rc = open_consensus(n, msg);
    return rc;
}

int node_open(node **out, const node_open_args *a, const node_env *env, gz_msg *msg) {
    *out = NULL;
    node *n = calloc(1, sizeof *n);
    if (n == NULL) return gz_fail(msg, GZ_ENOMEM, "node: out of memory");
    n->env = *env;
    n->my_index = -1;
    n->sync_req_peer = -1;
    n->st = a->st;
    n->propose_wait_ms = a->propose_wait_ms;
    n->net_on = a->networked;
    n->test_faults = a->test_faults;
    n->cons_test_faults = a->cons_test_faults;
    n->g = *a->genesis; /* borrowed: the host keeps it */
    int rc = open_key(n, a->seckey, msg);
    if (rc == GZ_OK) rc = open_parts(n, a, msg);
    if (rc != GZ_OK) {
        node_close(n);
        return rc;
    }
    *out = n;
    return GZ_OK;
}

static int replay_record(uint8_t type, const uint8_t *p, size_t len, void *data) {
    node *n = data;
    gz_msg msg;
    if (type == NODE_WAL_PROPOSAL) (void)node_handle_proposal(n, p, len, &msg);
    else if (type == NODE_WAL_VOTE) (void)node_handle_vote(n, p, len, &msg);
    else if (type == NODE_WAL_TIMEOUT && len == 17)
        (void)cons_on_timeout(&n->cs, gz_get_u64be(p), gz_get_u64be(p + 8), p[16], node_mono_ms(n));
    return GZ_OK;
}

void node_start(node *n) {
    n->last_progress_ms = node_mono_ms(n);
    node_log(n, "started: chain %s, %s %d of %u, height %llu", n->g.chain_id,
             n->my_index >= 0 ? "validator" : "full node", n->my_index, node_valset(n)->n,
             (unsigned long long)n->ch.height);
    int rc = cons_start_height(&n->cs, n->ch.height + 1, node_mono_ms(n), mempool_count(&n->mp) > 0);
    assert(rc == GZ_OK);
    n->replaying = true;
    rc = node_wal_replay(&n->wal, replay_record, n);
    n->replaying = false;
    if (rc != GZ_OK) node_log(n, "wal: replay stopped: %s", gz_strerror(rc));
    else if (n->wal.records > 0)
        node_log(n, "wal: replayed %llu records of height %llu", (unsigned long long)n->wal.records,
                 (unsigned long long)(n->ch.height + 1));
    /* Timers armed before the crash are gone: re-arm the current step's. */
    if (n->wal.records > 0 && !n->decided) rearm_step_timeout(n);
    node_timer_start(n, NODE_TIMER_TICK, NODE_TICK_MS);
}

void node_close(node *n) {
    if (n == NULL) return;
    for (unsigned t = 0; t < NODE_TIMERS_N; t++)
        if (n->timer_armed[t]) node_timer_stop(n, t);
    node_admit_free(n);
    if (n->opened_cons) cons_free(&n->cs);
    if (n->opened_chain) chain_close(&n->ch);
    if (n->opened_mp) mempool_free(&n->mp);
    if (n->opened_ledger) ledger_close(n->lg);
    if (n->opened_wal) node_wal_close(&n->wal);
    if (n->opened_ss) node_signstate_free(&n->ss);
    if (n->opened_pool) sigpool_free(&n->pool);
    gz_buf_free(&n->tx_out);
    for (size_t i = 0; i < GZ_HEIGHT_VOTES_MAX; i++) gz_buf_free(&n->height_votes[i]);
    for (size_t i = 0; i < NODE_FUTURE_VOTES_MAX; i++) gz_buf_free(&n->future_votes[i]);
    gz_buf_free(&n->height_prop);
    gz_buf_free(&n->future_prop);
    gz_buf_free(&n->own_pending);
    memset(n->sk, 0, sizeof n->sk);
    free(n);
}

/* ---- reads for the host --------------------------------------------------- */

void node_status_get(const node *n, node_status *out) {
    memset(out, 0, sizeof *out);
    cons_state st;
    cons_state_get(&n->cs, &st);
    out->height = n->ch.height;
    memcpy(out->block_id, n->ch.last_block_id, 32);
    out->time = n->ch.time;
    out->validator_index = n->my_index;
    memcpy(out->pub_key, n->pk, 32);
    for (size_t i = 0; i < GZ_PEERS_MAX; i++) out->peers += n->peers[i].up;
    out->mempool_txs = mempool_count(&n->mp);
    out->mempool_ready = mempool_ready(&n->mp);
    out->mempool_stats = n->mp.stats;
    out->round = st.round;
    out->step = st.step;
    out->sync_target = n->sync_target;
    out->catching_up = n->sync_target > n->ch.height + 1;
    out->storage_halted = n->halted != 0 || n->commit_pending;
    out->disk_full = n->halt_disk_full;
}

const gz_genesis *node_genesis(const node *n) { return &n->g; }

bool node_is_validator(const node *n, const uint8_t pk[32]) { return ledger_valset_index(node_valset(n), pk) >= 0; }

void node_wal_extent(const node *n, uint64_t *synced, uint64_t *written) {
    *synced = n->wal.synced;
    *written = n->wal.end;
}
ledger *node_ledger(node *n) { return n->lg; }
chain *node_chain(node *n) { return &n->ch; }
