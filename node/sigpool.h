/* Signature checks spread over worker threads.
 *
 * Verifying BIP-340 signatures is most of a node's CPU time (docs/performance.md),
 * and txs arrive in batches (RPC batches, gossip, proposed blocks). A sigpool
 * runs the stateless checks of SPEC §2 (core_tx_check: chain id and signature)
 * of one batch on its workers and on the calling thread together, and returns
 * when all are done. The txs are only read; results go to a caller array. */
#ifndef GZ_NODE_SIGPOOL_H
#define GZ_NODE_SIGPOOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/codec.h"

/* Worker threads at most (the caller's thread also works). */
#define SIGPOOL_THREADS_MAX 16
/* Batches smaller than this are checked on the caller's thread alone. */
#define SIGPOOL_MIN_PARALLEL 8

typedef struct sigpool {
    pthread_t threads[SIGPOOL_THREADS_MAX];
    unsigned n_threads;
    pthread_mutex_t mu;
    pthread_cond_t work;  /* a batch is ready, or stop */
    pthread_cond_t done;  /* the last item of a batch finished */
    /* the current batch */
    const gz_tx *const *txs;
    int *results;
    size_t n, next, finished;
    const char *chain_id;
    unsigned long generation;
    bool stop;
} sigpool;

/* Starts threads workers (0 = none: everything on the caller's thread).
 * Returns GZ_OK, GZ_EMISUSE (over SIGPOOL_THREADS_MAX) or GZ_ENOMEM. */
GZ_WUR int sigpool_init(sigpool *p, unsigned threads);
/* Stops and joins the workers. */
void sigpool_free(sigpool *p);

/* results[i] = core_tx_check(txs[i], chain_id) for i < n. Not reentrant: one
 * batch at a time (the node's loop thread is the only caller). */
void sigpool_check(sigpool *p, const gz_tx *const *txs, size_t n, const char *chain_id, int *results);

#endif
