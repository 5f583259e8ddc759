/* What the fuzz targets share: a fixed chain (genesis, keys), a real node
 * engine on a memory store with a fixed clock and an environment whose
 * timers and sends are recorded but never act by themselves, a small
 * network of such engines that produces real gossip for seeding corpora,
 * and the writer of seed files.
 *
 * Every target can write its own seeds: run it with GZ_FUZZ_WRITE_SEEDS set
 * to a directory (make fuzz-seeds does it for each target). */
#ifndef GZ_TESTS_FUZZ_FIXTURE_H
#define GZ_TESTS_FUZZ_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/bytes.h"
#include "ledger/genesis.h"
#include "node/node.h"

/* Validators of the fixed chain, power 1 each. */
#define FZ_VALIDATORS 4
/* Accounts at level 8 in genesis that sign the seed txs. */
#define FZ_HOLDERS 2
/* The engine under test is this validator; the others are its peers. */
#define FZ_ME (FZ_VALIDATORS - 1)
/* The peer id of a node outside the validator set that every engine has up
 * (its key: fz_key(.., "outsider", 0)). */
#define FZ_OUTSIDER FZ_VALIDATORS

/* A deterministic key pair for (role, i). */
void fz_key(uint8_t sk[32], uint8_t pk[32], const char *role, int i);
/* The fixed chain: FZ_VALIDATORS validators, one authority per role,
 * FZ_HOLDERS holders. Free with ledger_genesis_free. */
void fz_genesis(gz_genesis *g);
/* A directory for this process's files (WALs, sign states), made once. */
const char *fz_tmpdir(void);

/* One recorded send of an engine. */
typedef struct fz_sent {
    int from;  /* the sender's validator index (in a network's log) */
    int peer;  /* the receiver, -1: every peer */
    uint8_t type;
    gz_buf payload;
} fz_sent;

#define FZ_SENT_MAX 4096

/* An engine with its store, files, clock and recorded timers and sends. */
typedef struct fz_node {
    node *eng;
    store *st;
    int index;                      /* validator index */
    uint64_t now;                   /* the monotonic clock, ms */
    uint64_t due[NODE_TIMERS_N];    /* UINT64_MAX: not armed */
    bool record;                    /* keep sends in sent[] (set before opening) */
    uint64_t propose_wait_ms;       /* the engine's (set before opening) */
    size_t n_sent;
    fz_sent sent[FZ_SENT_MAX];
    size_t n_committed;
    char wal_path[512];
    char ss_path[512];
} fz_node;

/* Opens validator index's engine over a new memory store, its WAL and sign
 * state named by tag in fz_tmpdir() (fresh: removed first), every other
 * validator marked up as peer i (its index) and the outsider as peer
 * FZ_OUTSIDER, and starts it. Returns 0, or -1
 * with a line on stderr. */
int fz_node_open(fz_node *f, const gz_genesis *g, int index, const char *tag, bool fresh);
void fz_node_close(fz_node *f);
/* Forgets the recorded sends. */
void fz_node_sent_clear(fz_node *f);
/* The armed timer due first, or -1. */
int fz_node_next_timer(const fz_node *f);

/* FZ_VALIDATORS engines that gossip to each other until every one has
 * committed `heights` heights, the holders submitting a transfer and an
 * anchor on the way. Every message any engine sent is kept in order in
 * log[] (peer -1: to all). Returns 0 or -1. */
typedef struct fz_net {
    fz_node nodes[FZ_VALIDATORS];
    size_t n_log;
    fz_sent log[FZ_SENT_MAX];
} fz_net;
int fz_net_run(fz_net *net, const gz_genesis *g, uint64_t heights);
void fz_net_free(fz_net *net);
/* The first height whose block (on node 0) carries txs, or 0. */
uint64_t fz_net_tx_height(fz_net *net);
/* The first logged message of type sent by validator from (-1: anyone), or NULL. */
const fz_sent *fz_net_find(const fz_net *net, int from, uint8_t type, size_t skip);

/* A signed tx of type (GZ_TX_TRANSFER or GZ_TX_ANCHOR) by holder with nonce. */
int fz_tx(gz_buf *out, const gz_genesis *g, int holder, uint64_t type, uint64_t nonce);

/* Writes one seed file dir/name. Returns 0 or -1. */
int fz_seed(const char *dir, const char *name, const uint8_t *p, size_t len);
/* GZ_FUZZ_WRITE_SEEDS, or NULL when the target is fuzzing. */
const char *fz_seed_dir(void);
/* For LLVMFuzzerInitialize: when GZ_FUZZ_WRITE_SEEDS names a directory,
 * writes the target's seeds there and exits 0; else returns. */
void fz_seed_mode(void (*write_seeds)(const char *dir));

#endif
