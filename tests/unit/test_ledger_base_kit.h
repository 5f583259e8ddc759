/* Helpers for the base ledger tests: deterministic keys, a small genesis, tx
 * builders and a one-call block cycle over a memory store. Included by the
 * test_ledger_base*.c files only (static functions, one copy per test). */
#ifndef GZ_TESTS_LEDGER_BASE_KIT_H
#define GZ_TESTS_LEDGER_BASE_KIT_H

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/hash.h"
#include "core/keys.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "storage/store.h"

/* Key indexes: roles, genesis accounts, and keys never registered. */
enum {
    K_REGISTRAR = 1,
    K_CREDIT = 2,
    K_TREASURER = 3,
    K_GOVERNOR = 4,
    K_USER0 = 10, /* K_USER0 .. K_USER0 + KIT_USERS - 1 are genesis accounts */
    KIT_USERS = 8,
    K_STRANGER = 90, /* 90.. are never registered by genesis */
    KIT_KEYS = 128
};

typedef struct kit {
    store *s;
    ledger *l;
    gz_genesis g;
    uint64_t nonce[KIT_KEYS];
    uint8_t pub[KIT_KEYS][32]; /* kit_pub(i), cached: deriving a key costs */
    uint64_t time;
} kit;

static inline void kit_pub(uint8_t pub[32], int i) {
    uint8_t sk[32];
    char seed[32];
    snprintf(seed, sizeof seed, "ledger test key %d", i);
    core_sha256(sk, seed, strlen(seed));
    cr_assert_eq(core_key_pub(pub, sk), GZ_OK);
}

static inline void kit_genesis(gz_genesis *g) {
    ledger_genesis_default(g);
    g->n_validators = 1;
    snprintf(g->validators[0].name, sizeof g->validators[0].name, "v0");
    kit_pub(g->validators[0].pub_key, 100);
    g->validators[0].power = 10;
    for (int r = 0; r < GZ_ROLE_COUNT; r++) {
        g->n_authorities[r] = 1;
        kit_pub(g->authorities[r][0], K_REGISTRAR + r);
    }
    for (int i = 0; i < KIT_USERS; i++) {
        gz_genesis_account a;
        memset(&a, 0, sizeof a);
        kit_pub(a.account, K_USER0 + i);
        a.level = (uint64_t)(i % 11);
        a.classes = 1;
        snprintf(a.label, sizeof a.label, "user%d", i);
        cr_assert_eq(ledger_genesis_add_account(g, &a), GZ_OK);
    }
}

static inline void kit_open(kit *k) {
    memset(k, 0, sizeof *k);
    kit_genesis(&k->g);
    cr_assert_eq(store_open_memory(&k->s), GZ_OK);
    gz_msg msg;
    gz_msg_clear(&msg);
    cr_assert_eq(ledger_open(&k->l, k->s, &k->g, &msg), GZ_OK, "%s", msg.text);
    k->time = k->g.genesis_time;
    for (int i = 0; i < KIT_KEYS; i++) kit_pub(k->pub[i], i);
}

static inline void kit_close(kit *k) {
    ledger_close(k->l);
    store_close(k->s);
    ledger_genesis_free(&k->g);
}

/* A tx of type by key index signer with the kit's next nonce for it (which is
 * then advanced: callers testing nonces set tx->nonce themselves). The payload
 * is zeroed; fill tx->p and call kit_seal. */
static inline gz_tx *kit_tx(kit *k, uint64_t type, int signer) {
    gz_tx *tx = calloc(1, sizeof *tx);
    cr_assert_not_null(tx);
    snprintf(tx->chain_id, sizeof tx->chain_id, "%s", k->g.chain_id);
    tx->type = type;
    memcpy(tx->signer, k->pub[signer], 32);
    tx->nonce = k->nonce[signer]++;
    return tx;
}

/* Computes txid from the body, as core_tx_decode would. */
static inline void kit_seal(gz_tx *tx) { cr_assert_eq(core_tx_set_txid(tx), GZ_OK); }

/* Executes txs as the next block, commits it through a batch and returns the
 * executed block (the caller frees it). */
static inline ledger_block *kit_block(kit *k, gz_tx **txs, size_t n) {
    ledger_block *b = NULL;
    k->time += 1000;
    uint8_t proposer[32];
    kit_pub(proposer, 100);
    for (size_t i = 0; i < n; i++) kit_seal(txs[i]);
    cr_assert_eq(ledger_exec_block(k->l, ledger_height(k->l) + 1, k->time, proposer,
                                   (const gz_tx *const *)txs, n, &b),
                 GZ_OK);
    store_batch batch;
    store_batch_init(&batch);
    cr_assert_eq(ledger_block_commit(k->l, b, &batch), GZ_OK);
    cr_assert_eq(store_write(k->s, &batch, true), GZ_OK);
    store_batch_free(&batch);
    ledger_block_committed(k->l, b);
    return b;
}

/* Runs one tx in its own block; returns its code and copies its message and
 * events (either may be NULL). Frees tx. */
static inline int kit_run(kit *k, gz_tx *tx, char *msg, size_t msg_len, json_t **events) {
    ledger_block *b = kit_block(k, &tx, 1);
    int code = ledger_block_tx_code(b, 0);
    if (msg != NULL) snprintf(msg, msg_len, "%s", ledger_block_tx_message(b, 0));
    if (events != NULL) {
        *events = json_loads(ledger_block_tx_events(b, 0), 0, NULL);
        cr_assert_not_null(*events);
    }
    ledger_block_free(b);
    free(tx);
    return code;
}

/* The committed account of key index i as JSON (NULL if not registered). */
static inline json_t *kit_account(kit *k, int i) {
    json_t *a = NULL;
    int err = ledger_query_account(k->l, k->pub[i], &a);
    cr_assert(err == GZ_OK || err == GZ_ENOTFOUND);
    return a;
}

static inline long long kit_field(kit *k, int i, const char *field) {
    json_t *a = kit_account(k, i);
    cr_assert_not_null(a, "account %d not registered", i);
    json_t *v = json_object_get(a, field);
    cr_assert(json_is_integer(v), "account field %s", field);
    long long r = json_integer_value(v);
    json_decref(a);
    return r;
}

/* The first event of the given type in an events array, or NULL. */
static inline json_t *kit_event(json_t *events, const char *type, int nth) {
    size_t i;
    json_t *e;
    json_array_foreach(events, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "type")), type) == 0 && nth-- == 0) {
            return json_object_get(e, "attrs");
        }
    }
    return NULL;
}

static inline void kit_hex(char out[65], int i) {
    uint8_t id[32];
    kit_pub(id, i);
    gz_hex_encode(out, id, 32);
}

#endif
