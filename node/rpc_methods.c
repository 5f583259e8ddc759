/* The node's JSON-RPC methods (SPEC §8). Handlers read params with the rpc
 * module's checked readers, which answer -32602 naming the field. A query for
 * something that does not exist answers RPC_NOT_FOUND (docs/rpc.md). */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/hash.h"
#include "core/merkle.h"
#include "node/host.h"
#include "storage/keys.h"

/* Server-defined JSON-RPC errors (the -32000..-32099 range). */
#define RPC_NOT_FOUND (-32001)
#define RPC_TIMEOUT (-32002)
#define RPC_SERVER_ERROR (-32003)
/* submit_tx_commit waits this long unless told (at most GZ_COMMIT_WAIT_MS_MAX). */
#define NODE_COMMIT_WAIT_MS_DEFAULT 10000u

static void reply_query(rpc_call *call, int rc, json_t *out, const char *what) {
    if (rc == GZ_OK) rpc_reply_result(call, out);
    else if (rc == GZ_ENOTFOUND) rpc_reply_error(call, RPC_NOT_FOUND, "%s: not found", what);
    else rpc_reply_error(call, RPC_SERVER_ERROR, "%s: %s", what, gz_strerror(rc));
}

/* A set as proofs carry it (SPEC §5): [{name, pub_key, power}] in order. */
static json_t *set_json(const ledger_valset *s) {
    json_t *a = json_array();
    for (uint32_t i = 0; a != NULL && i < s->n; i++) {
        const gz_validator *v = &s->v[i];
        json_array_append_new(a, json_pack("{s:s,s:o,s:I}", "name", v->name, "pub_key", core_json_hex(v->pub_key, 32),
                                           "power", (json_int_t)v->power));
    }
    return a;
}

/* The set that signs height, as proofs carry it; NULL when unknown. */
static json_t *set_at_json(node *n, uint64_t height) {
    ledger_valset *s = malloc(sizeof *s);
    json_t *r = NULL;
    if (s != NULL && ledger_validators_at(node_ledger(n), height, s) == GZ_OK) r = set_json(s);
    free(s);
    return r;
}

/* SPEC §8 `validators` of height (members with index, then the jailed). */
static json_t *validators_json(node *n, uint64_t height) {
    json_t *r = NULL;
    if (ledger_query_validators(node_ledger(n), height, &r) != GZ_OK) return json_array();
    return r;
}

/* SPEC §5 valset_chain: one link per height below `below` whose block
 * changed the set: its header, its commit and the set it put in place. */
static int valset_chain_json(node *n, uint64_t below, json_t **out) {
    *out = json_array();
    if (*out == NULL) return GZ_ENOMEM;
    static uint64_t heights[GZ_VALSET_CHAIN_MAX]; /* one loop thread serves RPC */
    size_t total = ledger_valset_changes(node_ledger(n), below, heights, GZ_VALSET_CHAIN_MAX);
    if (total > GZ_VALSET_CHAIN_MAX) return GZ_ELIMIT; /* docs/rpc.md: a longer chain is not served */
    int rc = GZ_OK;
    for (size_t i = 0; i < total && rc == GZ_OK; i++) {
        chain_stored s;
        gz_buf cm;
        gz_buf_init(&cm);
        rc = chain_stored_load(node_chain(n), heights[i], &s);
        if (rc != GZ_OK) break;
        rc = chain_commit_bytes(node_chain(n), heights[i], &cm);
        json_t *set = rc == GZ_OK ? set_at_json(n, heights[i] + 1) : NULL;
        if (rc == GZ_OK && set == NULL) rc = GZ_ECORRUPT;
        if (rc == GZ_OK)
            json_array_append_new(*out, json_pack("{s:o,s:o,s:o}", "header", core_json_hex(s.hdr, s.hdr_len), "commit",
                                                  core_json_hex(cm.data, cm.len), "validators", set));
        chain_stored_free(&s);
        gz_buf_free(&cm);
    }
    if (rc != GZ_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static void m_status(void *ctx, json_t *params, rpc_call *call) {
    node_host *h = ctx;
    (void)params;
    node_status st;
    node_status_get(h->eng, &st);
    json_t *r = json_pack("{s:s,s:o,s:I,s:o,s:I,s:b,s:o,s:I,s:I,s:I,s:I,s:s,s:I}", "chain_id", h->g.chain_id,
                          "node_id", core_json_hex(st.pub_key, 32), "height", (json_int_t)st.height, "block_id",
                          core_json_hex(st.block_id, 32), "time", (json_int_t)st.time, "catching_up",
                          st.catching_up, "validators", validators_json(h->eng, st.height + 1), "peers", (json_int_t)st.peers,
                          "mempool_txs", (json_int_t)st.mempool_txs, "validator_index",
                          (json_int_t)st.validator_index, "round", (json_int_t)st.round, "step",
                          cons_step_name(st.step), "sync_target", (json_int_t)st.sync_target);
    /* Whether writes fail and signing is halted (docs/operations.md, "A full disk"). */
    if (r != NULL) {
        json_object_set_new(r, "storage_halted", json_boolean(st.storage_halted));
        json_object_set_new(r, "disk_full", json_boolean(st.disk_full));
        const mempool_stats *m = &st.mempool_stats;
        json_object_set_new(r, "mempool",
                            json_pack("{s:I,s:I,s:I,s:I,s:I}", "evicted_stale", (json_int_t)m->evicted_stale,
                                      "evicted_expired", (json_int_t)m->evicted_expired, "refused_full",
                                      (json_int_t)m->refused_full, "refused_signer", (json_int_t)m->refused_signer,
                                      "refused_peer", (json_int_t)m->refused_peer));
    }
    rpc_reply_result(call, r);
}

static json_t *admission_json(const node_admission *a) {
    return json_pack("{s:o,s:i,s:s}", "txid", a->have_txid ? core_json_hex(a->txid, 32) : json_null(), "code",
                     gz_err_code(a->rc), "message", a->rc == GZ_OK ? "" : a->msg->text);
}

static host_submit *submit_slot(node_host *h) {
    for (size_t i = 0; i < HOST_SUBMITS_MAX; i++)
        if (!h->submits[i].used) return &h->submits[i];
    return NULL;
}

/* Reads params.tx (twice the limit passes here, so that an oversized tx gets
 * code 9 from the decoder rather than -32602) and queues it for admission. */
static void submit(node_host *h, json_t *params, rpc_call *call, bool wait, uint64_t timeout) {
    gz_buf tx;
    gz_buf_init(&tx);
    if (rpc_param_hex_buf(params, "tx", 2 * GZ_TX_BYTES_MAX, &tx, call) != GZ_OK) return;
    host_submit *s = submit_slot(h);
    if (s != NULL) *s = (host_submit){.call = call, .wait = wait, .timeout_ms = timeout, .used = true};
    if (s == NULL || node_submit(h->eng, &tx, s) != GZ_OK) {
        if (s != NULL) s->used = false;
        gz_buf_free(&tx);
        rpc_reply_error(call, RPC_SERVER_ERROR, "busy: cannot queue the tx");
    }
}

static void m_submit_tx(void *ctx, json_t *params, rpc_call *call) { submit(ctx, params, call, false, 0); }

static void m_submit_tx_commit(void *ctx, json_t *params, rpc_call *call) {
    uint64_t timeout;
    if (rpc_param_u64_opt(params, "timeout_ms", NODE_COMMIT_WAIT_MS_DEFAULT, &timeout, call) != GZ_OK) return;
    if (timeout > GZ_COMMIT_WAIT_MS_MAX) {
        rpc_reply_error(call, RPC_INVALID_PARAMS, "params.timeout_ms: at most %u", GZ_COMMIT_WAIT_MS_MAX);
        return;
    }
    submit(ctx, params, call, true, timeout);
}

static void wait_for(node_host *h, rpc_call *call, const uint8_t txid[32], uint64_t timeout_ms) {
    if (h->n_waiters == GZ_COMMIT_WAITERS_MAX) {
        rpc_reply_error(call, RPC_SERVER_ERROR, "busy: %d submit_tx_commit calls are waiting (the tx was admitted)",
                        GZ_COMMIT_WAITERS_MAX);
        return;
    }
    for (size_t i = 0; i < GZ_COMMIT_WAITERS_MAX; i++) {
        host_waiter *w = &h->waiters[i];
        if (w->used) continue;
        w->used = true;
        memcpy(w->txid, txid, 32);
        w->call = call;
        w->deadline_ms = host_mono_ms() + timeout_ms;
        h->n_waiters++;
        return;
    }
}

void host_admitted(void *ctx, void *tag, const node_admission *a) {
    node_host *h = ctx;
    host_submit *s = tag;
    host_submit q = *s;
    s->used = false;
    if (a->rc != GZ_OK || !q.wait) rpc_reply_result(q.call, admission_json(a));
    else wait_for(h, q.call, a->txid, q.timeout_ms);
}

static int cmp_waiter(const void *a, const void *b) {
    return memcmp((*(host_waiter *const *)a)->txid, (*(host_waiter *const *)b)->txid, 32);
}

static void answer_waiter(host_waiter *w, const chain_block *b, size_t t) {
    json_error_t jerr;
    json_t *events = json_loads(ledger_block_tx_events(b->exec, t), 0, &jerr);
    rpc_reply_result(w->call, json_pack("{s:o,s:i,s:s,s:I,s:I,s:o}", "txid", core_json_hex(w->txid, 32), "code",
                                        ledger_block_tx_code(b->exec, t), "message",
                                        ledger_block_tx_message(b->exec, t), "height", (json_int_t)b->header.height,
                                        "index", (json_int_t)t, "events", events ? events : json_array()));
    w->used = false;
}

void host_committed(void *ctx, const chain_block *b) {
    node_host *h = ctx;
    /* A changed set changes who is a validator among the peers (SPEC §4). */
    if (memcmp(b->header.validators_hash, b->header.next_validators_hash, 32) != 0 && h->net_on)
        p2p_reclassify(&h->net);
    if (h->n_waiters == 0 || b->n_txs == 0) return;
    size_t k = 0;
    for (size_t i = 0; i < GZ_COMMIT_WAITERS_MAX && k < h->n_waiters; i++)
        if (h->waiters[i].used) h->sorted[k++] = &h->waiters[i];
    qsort(h->sorted, k, sizeof h->sorted[0], cmp_waiter);
    for (size_t t = 0; t < b->n_txs; t++) {
        host_waiter key, *kp = &key;
        memcpy(key.txid, b->txs[t].txid, 32);
        host_waiter **hit = bsearch(&kp, h->sorted, k, sizeof h->sorted[0], cmp_waiter);
        if (hit == NULL || !(*hit)->used) continue;
        answer_waiter(*hit, b, t);
        h->n_waiters--;
    }
}

void host_waiters_expire(node_host *h, uint64_t now_ms) {
    for (size_t i = 0; i < GZ_COMMIT_WAITERS_MAX && h->n_waiters > 0; i++) {
        host_waiter *w = &h->waiters[i];
        if (!w->used || now_ms < w->deadline_ms) continue;
        char hex[65];
        gz_hex_encode(hex, w->txid, 32);
        rpc_reply_error(w->call, RPC_TIMEOUT, "timeout: tx %s not committed yet (it may still be)", hex);
        w->used = false;
        h->n_waiters--;
    }
}

/* ---- reads ---------------------------------------------------------------- */

static json_t *proof_json(uint64_t index, uint64_t size, const uint8_t (*path)[32], size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) json_array_append_new(a, core_json_hex(path[i], 32));
    return json_pack("{s:I,s:I,s:o}", "leaf_index", (json_int_t)index, "tree_size", (json_int_t)size, "audit_path", a);
}

/* Inclusion proof of leaf index among n leaf *values* (txids), hashed here. */
static int txid_proof(const uint8_t (*txids)[32], size_t n, size_t index, json_t **out) {
    uint8_t (*leaves)[32] = malloc((n ? n : 1) * 32);
    if (leaves == NULL) return GZ_ENOMEM;
    for (size_t i = 0; i < n; i++) core_merkle_leaf_hash(leaves[i], txids[i], 32);
    uint8_t path[GZ_MERKLE_PROOF_MAX][32];
    size_t path_len = 0;
    int rc = core_merkle_inclusion_proof(path, &path_len, (const uint8_t (*)[32])leaves, n, index);
    free(leaves);
    if (rc == GZ_OK) *out = proof_json(index, n, (const uint8_t (*)[32])path, path_len);
    return rc;
}

static void m_tx(void *ctx, json_t *params, rpc_call *call) {
    node_host *hs = ctx;
    node *n = hs->eng;
    uint8_t txid[32];
    if (rpc_param_hex32(params, "txid", txid, call) != GZ_OK) return;
    json_t *r = NULL;
    int rc = ledger_query_tx_result(node_ledger(n), txid, &r);
    if (rc != GZ_OK) return reply_query(call, rc, NULL, "params.txid");
    uint64_t height;
    uint32_t index;
    chain_stored s;
    rc = ledger_tx_location(node_ledger(n), txid, &height, &index);
    if (rc == GZ_OK) rc = chain_stored_load(node_chain(n), height, &s);
    if (rc == GZ_OK && index >= s.n_txs) rc = GZ_ECORRUPT;
    json_t *proof = NULL;
    if (rc == GZ_OK) rc = txid_proof((const uint8_t (*)[32])s.txids, s.n_txs, index, &proof);
    if (rc == GZ_OK) {
        gz_tx tx;
        if (core_tx_decode(&tx, s.tx[index], s.tx_len[index], NULL) == GZ_OK)
            json_object_set_new(r, "signer", core_json_hex(tx.signer, 32));
        json_object_set_new(r, "tx", core_json_hex(s.tx[index], s.tx_len[index]));
        json_object_set_new(r, "proof", proof);
        chain_stored_free(&s);
        rpc_reply_result(call, r);
        return;
    }
    json_decref(r);
    rpc_reply_error(call, RPC_SERVER_ERROR, "tx: %s", gz_strerror(rc));
}

static json_t *header_json(const gz_header *h, const uint8_t *bytes, size_t len) {
    return json_pack("{s:s,s:I,s:I,s:o,s:o,s:I,s:o,s:o,s:I,s:o,s:o,s:o,s:o}", "chain_id", h->chain_id, "height",
                     (json_int_t)h->height, "time", (json_int_t)h->time, "prev_block_id",
                     core_json_hex(h->prev_block_id, 32), "tx_root", core_json_hex(h->tx_root, 32), "tx_count",
                     (json_int_t)h->tx_count, "state_root", core_json_hex(h->state_root, 32), "log_root",
                     core_json_hex(h->log_root, 32), "log_size", (json_int_t)h->log_size, "validators_hash",
                     core_json_hex(h->validators_hash, 32), "proposer", core_json_hex(h->proposer, 32),
                     "next_validators_hash", core_json_hex(h->next_validators_hash, 32), "hex", core_json_hex(bytes, len));
}

/* Reads params.height, replying itself when it is bad or not committed. */
static int height_param(node *n, json_t *params, rpc_call *call, uint64_t *h) {
    if (rpc_param_u64(params, "height", h, call) != GZ_OK) return GZ_EARG;
    if (*h == 0 || *h > node_chain(n)->height) {
        rpc_reply_error(call, RPC_NOT_FOUND, "params.height: %llu is not a committed height (1..%llu)",
                        (unsigned long long)*h, (unsigned long long)node_chain(n)->height);
        return GZ_ENOTFOUND;
    }
    return GZ_OK;
}

/* Loads committed block h and its commit; replies itself on failure. */
static int load_committed(node *n, uint64_t h, chain_stored *s, gz_buf *cm, rpc_call *call) {
    int rc = chain_stored_load(node_chain(n), h, s);
    if (rc == GZ_OK) {
        rc = chain_commit_bytes(node_chain(n), h, cm);
        if (rc != GZ_OK) chain_stored_free(s);
    }
    if (rc != GZ_OK) reply_query(call, rc, NULL, "params.height");
    return rc;
}

static void m_block(void *ctx, json_t *params, rpc_call *call) {
    node *n = ((node_host *)ctx)->eng;
    uint64_t h;
    chain_stored s;
    gz_buf cm;
    gz_buf_init(&cm);
    if (height_param(n, params, call, &h) == GZ_OK && load_committed(n, h, &s, &cm, call) == GZ_OK) {
        uint8_t id[32];
        core_block_id(id, s.hdr, s.hdr_len);
        json_t *ids = json_array();
        for (size_t i = 0; i < s.n_txs; i++) json_array_append_new(ids, core_json_hex(s.txids[i], 32));
        rpc_reply_result(call, json_pack("{s:o,s:o,s:o,s:o}", "header", header_json(&s.header, s.hdr, s.hdr_len),
                                         "block_id", core_json_hex(id, 32), "txids", ids, "commit",
                                         core_json_hex(cm.data, cm.len)));
        chain_stored_free(&s);
    }
    gz_buf_free(&cm);
}

static void m_commit(void *ctx, json_t *params, rpc_call *call) {
    node *n = ((node_host *)ctx)->eng;
    uint64_t h;
    chain_stored s;
    gz_buf cm;
    gz_buf_init(&cm);
    if (height_param(n, params, call, &h) == GZ_OK && load_committed(n, h, &s, &cm, call) == GZ_OK) {
        uint8_t id[32];
        core_block_id(id, s.hdr, s.hdr_len);
        json_t *links = NULL;
        int rc = valset_chain_json(n, h, &links);
        if (rc == GZ_OK)
            rpc_reply_result(call, json_pack("{s:I,s:o,s:o,s:o,s:o,s:o}", "height", (json_int_t)h, "header",
                                             core_json_hex(s.hdr, s.hdr_len), "block_id", core_json_hex(id, 32),
                                             "commit", core_json_hex(cm.data, cm.len), "validators", set_at_json(n, h),
                                             "valset_chain", links));
        else reply_query(call, rc, NULL, "valset_chain");
        chain_stored_free(&s);
    }
    gz_buf_free(&cm);
}

/* The set of any height up to the one being decided (the default). */
static void m_validators(void *ctx, json_t *params, rpc_call *call) {
    node *n = ((node_host *)ctx)->eng;
    uint64_t next = node_chain(n)->height + 1, h;
    if (rpc_param_u64_opt(params, "height", next, &h, call) != GZ_OK) return;
    if (h == 0 || h > next) {
        rpc_reply_error(call, RPC_NOT_FOUND, "params.height: %llu is not a height of this chain (1..%llu)",
                        (unsigned long long)h, (unsigned long long)next);
        return;
    }
    json_t *r = NULL;
    int rc = ledger_query_validators(node_ledger(n), h, &r);
    reply_query(call, rc, r, "params.height");
}

static void m_evidence(void *ctx, json_t *params, rpc_call *call) {
    node *n = ((node_host *)ctx)->eng;
    uint8_t validator[32];
    bool has_validator;
    uint64_t limit;
    const char *after;
    if (rpc_param_hex32_opt(params, "validator", validator, &has_validator, call) != GZ_OK) return;
    if (rpc_param_u64_opt(params, "limit", 20, &limit, call) != GZ_OK) return;
    if (rpc_param_str_opt(params, "after", 80, NULL, &after, call) != GZ_OK) return;
    if (limit < 1 || limit > GZ_PAGE_LIMIT_MAX) {
        rpc_reply_error(call, RPC_INVALID_PARAMS, "params.limit: must be 1..%d", GZ_PAGE_LIMIT_MAX);
        return;
    }
    json_t *r = NULL;
    gz_msg msg = {{0}};
    int rc = ledger_query_evidence(node_ledger(n), has_validator ? validator : NULL, (uint32_t)limit, after, &r, &msg);
    if (rc == GZ_EARG) rpc_reply_error(call, RPC_INVALID_PARAMS, "params.%s", msg.text);
    else reply_query(call, rc, r, "evidence");
}

static void m_account(void *ctx, json_t *params, rpc_call *call) {
    uint8_t id[32];
    json_t *r = NULL;
    if (rpc_param_hex32(params, "account", id, call) != GZ_OK) return;
    int rc = ledger_query_account(node_ledger(((node_host *)ctx)->eng), id, &r);
    reply_query(call, rc, r, "params.account");
}

#define STR_QUERY(fn, param, query, max)                                          \
    static void fn(void *ctx, json_t *params, rpc_call *call) {                   \
        const char *id;                                                           \
        json_t *r = NULL;                                                         \
        if (rpc_param_str(params, param, max, &id, call) != GZ_OK) return;        \
        int rc = query(node_ledger(((node_host *)ctx)->eng), id, &r);                                \
        reply_query(call, rc, r, "params." param);                                \
    }

STR_QUERY(m_controller, "controller_id", ledger_query_controller, GZ_ID_MAX)
STR_QUERY(m_issuer, "issuer_id", ledger_query_issuer, GZ_ID_MAX)
STR_QUERY(m_release, "release_id", ledger_query_release, GZ_ID_MAX)
STR_QUERY(m_split, "split_id", ledger_query_split, GZ_ID_MAX)
STR_QUERY(m_work, "work_id", ledger_query_work, GZ_ID_MAX)

static void m_proposal(void *ctx, json_t *params, rpc_call *call) {
    uint8_t id[32];
    json_t *r = NULL;
    if (rpc_param_hex32(params, "proposal_id", id, call) != GZ_OK) return;
    int rc = ledger_query_proposal(node_ledger(((node_host *)ctx)->eng), id, &r);
    reply_query(call, rc, r, "params.proposal_id");
}

static void m_proposals(void *ctx, json_t *params, rpc_call *call) {
    node_host *hs = ctx;
    node *n = hs->eng;
    const char *status;
    uint64_t kind, limit;
    uint8_t after[32];
    bool has_after;
    if (rpc_param_str_opt(params, "status", 16, NULL, &status, call) != GZ_OK) return;
    if (rpc_param_u64_opt(params, "kind", 0, &kind, call) != GZ_OK) return;
    if (rpc_param_u64_opt(params, "limit", 20, &limit, call) != GZ_OK) return;
    if (rpc_param_hex32_opt(params, "after", after, &has_after, call) != GZ_OK) return;
    if (limit < 1 || limit > GZ_PAGE_LIMIT_MAX) {
        rpc_reply_error(call, RPC_INVALID_PARAMS, "params.limit: must be 1..%d", GZ_PAGE_LIMIT_MAX);
        return;
    }
    json_t *r = NULL;
    gz_msg msg = {{0}};
    int rc = ledger_query_proposals(node_ledger(n), status, kind, (uint32_t)limit, has_after ? after : NULL, &r, &msg);
    if (rc == GZ_EARG) rpc_reply_error(call, RPC_INVALID_PARAMS, "%s", msg.text);
    else reply_query(call, rc, r, "proposals");
}

/* Leaf hashes of the provenance log's first size leaves (malloc'd). */
static int log_leaves(node *n, uint64_t size, uint8_t (**out)[32]) {
    *out = malloc((size ? size : 1) * 32);
    if (*out == NULL) return GZ_ENOMEM;
    int rc = ledger_log_leaf_hashes(node_ledger(n), 0, size, *out);
    if (rc != GZ_OK) {
        free(*out);
        *out = NULL;
    }
    return rc;
}

/* SPEC §5 anchor proof bundle for the anchor described by a (the ledger's
 * anchor object), against the header of the block that anchored it. */
static int anchor_bundle(node *n, const json_t *a, json_t **out) {
    uint64_t height = (uint64_t)json_integer_value(json_object_get(a, "height"));
    uint64_t index = (uint64_t)json_integer_value(json_object_get(a, "leaf_index"));
    chain_stored s;
    gz_buf cm, leaf;
    gz_buf_init(&cm);
    gz_buf_init(&leaf);
    uint8_t (*leaves)[32] = NULL;
    uint8_t path[GZ_MERKLE_PROOF_MAX][32];
    size_t path_len = 0;
    int rc = chain_stored_load(node_chain(n), height, &s);
    if (rc != GZ_OK) return rc;
    uint64_t size = s.header.log_size;
    rc = chain_commit_bytes(node_chain(n), height, &cm);
    if (rc == GZ_OK) rc = ledger_log_leaf(node_ledger(n), index, &leaf);
    if (rc == GZ_OK) rc = log_leaves(n, size, &leaves);
    if (rc == GZ_OK) rc = core_merkle_inclusion_proof(path, &path_len, (const uint8_t (*)[32])leaves, size, index);
    if (rc == GZ_OK) {
        json_t *p = proof_json(index, size, (const uint8_t (*)[32])path, path_len);
        json_object_set(p, "artifact", json_object_get(a, "artifact"));
        json_object_set_new(p, "leaf", core_json_hex(leaf.data, leaf.len));
        json_object_set_new(p, "height", json_integer((json_int_t)height));
        json_object_set_new(p, "header", core_json_hex(s.hdr, s.hdr_len));
        json_object_set_new(p, "commit", core_json_hex(cm.data, cm.len));
        json_object_set_new(p, "validators", set_at_json(n, height));
        json_t *links = NULL;
        rc = valset_chain_json(n, height, &links);
        /* SPEC §5: only when the set changed since genesis. */
        if (rc == GZ_OK && json_array_size(links) > 0) json_object_set_new(p, "valset_chain", links);
        else json_decref(links);
        if (rc == GZ_OK) *out = p;
        else json_decref(p);
    }
    free(leaves);
    chain_stored_free(&s);
    gz_buf_free(&cm);
    gz_buf_free(&leaf);
    return rc;
}

static void m_anchor(void *ctx, json_t *params, rpc_call *call) {
    node_host *hs = ctx;
    node *n = hs->eng;
    uint8_t artifact[32];
    json_t *a = NULL, *bundle = NULL;
    if (rpc_param_hex32(params, "artifact", artifact, call) != GZ_OK) return;
    int rc = ledger_query_anchor(node_ledger(n), artifact, &a);
    if (rc == GZ_OK) rc = anchor_bundle(n, a, &bundle);
    if (rc == GZ_OK) json_object_set_new(a, "bundle", bundle);
    else json_decref(a);
    reply_query(call, rc, a, "params.artifact");
}

static void m_log_consistency(void *ctx, json_t *params, rpc_call *call) {
    node_host *hs = ctx;
    node *n = hs->eng;
    uint64_t first, second, size = ledger_log_size(node_ledger(n));
    if (rpc_param_u64(params, "first", &first, call) != GZ_OK) return;
    if (rpc_param_u64(params, "second", &second, call) != GZ_OK) return;
    if (first < 1 || first > second || second > size) {
        rpc_reply_error(call, RPC_INVALID_PARAMS, "params.first, params.second: need 1 <= first <= second <= %llu",
                        (unsigned long long)size);
        return;
    }
    uint8_t (*leaves)[32] = NULL;
    uint8_t path[GZ_MERKLE_PROOF_MAX][32], r1[32], r2[32];
    size_t path_len = 0;
    int rc = log_leaves(n, second, &leaves);
    if (rc == GZ_OK) rc = core_merkle_consistency_proof(path, &path_len, (const uint8_t (*)[32])leaves, second, first);
    if (rc == GZ_OK) rc = core_merkle_root(r1, (const uint8_t (*)[32])leaves, first);
    if (rc == GZ_OK) rc = core_merkle_root(r2, (const uint8_t (*)[32])leaves, second);
    free(leaves);
    if (rc != GZ_OK) return reply_query(call, rc, NULL, "log_consistency");
    json_t *p = json_array();
    for (size_t i = 0; i < path_len; i++) json_array_append_new(p, core_json_hex(path[i], 32));
    rpc_reply_result(call, json_pack("{s:I,s:I,s:o,s:o,s:o}", "first", (json_int_t)first, "second",
                                     (json_int_t)second, "first_root", core_json_hex(r1, 32), "second_root",
                                     core_json_hex(r2, 32), "proof", p));
}

/* Each method's work units (docs/rpc.md, "Work budget"): a request may sum
 * to GZ_RPC_REQUEST_COST_MAX. Point reads and queueing a tx cost 1; a block
 * read (block, commit) 4, so `agree` in the e2e tests can ask for 1000 blocks
 * at once; a tx proof (a block read and a Merkle tree over its txids) and a
 * page of proposals 10; a log proof, which hashes the whole provenance log, 40. */
#define COST_POINT 1u
#define COST_BLOCK 4u
#define COST_PROOF 10u
#define COST_PAGE 10u
#define COST_LOG 40u

const rpc_method host_rpc_methods[] = {
    {"status", m_status, ""},
    {"submit_tx", m_submit_tx, "tx"},
    {"submit_tx_commit", m_submit_tx_commit, "tx timeout_ms"},
    {"tx", m_tx, "txid"},
    {"block", m_block, "height"},
    {"commit", m_commit, "height"},
    {"validators", m_validators, "height"},
    {"evidence", m_evidence, "validator limit after"},
    {"account", m_account, "account"},
    {"controller", m_controller, "controller_id"},
    {"issuer", m_issuer, "issuer_id"},
    {"release", m_release, "release_id"},
    {"proposal", m_proposal, "proposal_id"},
    {"proposals", m_proposals, "status kind limit after"},
    {"split", m_split, "split_id"},
    {"anchor", m_anchor, "artifact"},
    {"work", m_work, "work_id"},
    {"log_consistency", m_log_consistency, "first second"},
};
const size_t host_rpc_methods_n = sizeof host_rpc_methods / sizeof host_rpc_methods[0];

/* In the order of host_rpc_methods. */
const unsigned host_rpc_costs[] = {
    COST_POINT, COST_POINT, COST_POINT, COST_PROOF, COST_BLOCK, COST_BLOCK, COST_POINT, COST_PAGE, COST_POINT,
    COST_POINT, COST_POINT, COST_POINT, COST_POINT, COST_PAGE,  COST_POINT, COST_LOG,   COST_POINT, COST_LOG,
};
_Static_assert(sizeof host_rpc_costs / sizeof host_rpc_costs[0] == sizeof host_rpc_methods / sizeof host_rpc_methods[0],
               "one cost per method");
_Static_assert(GZ_RPC_BATCH_MAX * COST_BLOCK <= GZ_RPC_REQUEST_COST_MAX,
               "a batch of 1000 block calls (as `agree` in the e2e tests sends) is within the budget");
_Static_assert(GZ_RPC_BATCH_MAX * COST_POINT <= GZ_RPC_REQUEST_COST_MAX,
               "a batch of 1000 submit_tx calls (as `make bench` sends) is within the budget");
_Static_assert(200u * COST_PROOF <= GZ_RPC_REQUEST_COST_MAX,
               "a batch of 200 tx lookups (as txids_committed in the e2e tests sends) is within the budget");
