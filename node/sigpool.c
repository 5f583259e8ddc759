#include "node/sigpool.h"

#include <assert.h>
#include <string.h>

/* Takes items of the current batch until none are left; called with mu held,
 * returns with mu held. */
static void drain(sigpool *p) {
    while (p->next < p->n) {
        size_t i = p->next++;
        const gz_tx *tx = p->txs[i];
        const char *chain_id = p->chain_id;
        int *out = &p->results[i];
        pthread_mutex_unlock(&p->mu);
        *out = core_tx_check(tx, chain_id, NULL);
        pthread_mutex_lock(&p->mu);
        if (++p->finished == p->n) pthread_cond_broadcast(&p->done);
    }
}

static void *worker(void *arg) {
    sigpool *p = arg;
    pthread_mutex_lock(&p->mu);
    unsigned long seen = p->generation;
    while (!p->stop) {
        if (p->generation == seen || p->next >= p->n) {
            pthread_cond_wait(&p->work, &p->mu);
            continue;
        }
        seen = p->generation;
        drain(p);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int sigpool_init(sigpool *p, unsigned threads) {
    memset(p, 0, sizeof *p);
    if (threads > SIGPOOL_THREADS_MAX) return GZ_EMISUSE;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    for (unsigned i = 0; i < threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
            sigpool_free(p);
            return GZ_ENOMEM;
        }
        p->n_threads++;
    }
    return GZ_OK;
}

void sigpool_free(sigpool *p) {
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (unsigned i = 0; i < p->n_threads; i++) pthread_join(p->threads[i], NULL);
    p->n_threads = 0;
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
}

void sigpool_check(sigpool *p, const gz_tx *const *txs, size_t n, const char *chain_id, int *results) {
    if (p->n_threads == 0 || n < SIGPOOL_MIN_PARALLEL) {
        for (size_t i = 0; i < n; i++) results[i] = core_tx_check(txs[i], chain_id, NULL);
        return;
    }
    pthread_mutex_lock(&p->mu);
    assert(p->next >= p->n); /* no batch in flight */
    p->txs = txs;
    p->results = results;
    p->chain_id = chain_id;
    p->n = n;
    p->next = 0;
    p->finished = 0;
    p->generation++;
    pthread_cond_broadcast(&p->work);
    drain(p);
    while (p->finished < p->n) pthread_cond_wait(&p->done, &p->mu);
    p->txs = NULL;
    p->results = NULL;
    pthread_mutex_unlock(&p->mu);
}
