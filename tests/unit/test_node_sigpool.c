#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "core/codec.h"
#include "core/hash.h"
#include "core/keys.h"
#include "node/sigpool.h"

#define N 300

static gz_tx txs[N];
static const gz_tx *ptrs[N];

/* N signed anchors; every 7th gets a flipped signature bit, every 11th the
 * wrong chain. */
static void make_txs(void) {
    uint8_t sk[32];
    core_sha256(sk, "sigpool-test", 12);
    for (int i = 0; i < N; i++) {
        gz_tx *tx = &txs[i];
        memset(tx, 0, sizeof *tx);
        strcpy(tx->chain_id, i % 11 == 3 ? "other" : "gz-test");
        tx->type = GZ_TX_ANCHOR;
        tx->nonce = (uint64_t)i;
        cr_assert_eq(core_key_pub(tx->signer, sk), GZ_OK);
        tx->p.anchor.kind = 1;
        tx->p.anchor.artifact[0] = (uint8_t)i;
        strcpy(tx->p.anchor.work_id, "w");
        gz_buf b;
        gz_buf_init(&b);
        cr_assert_eq(core_tx_sign_encode(tx, sk, &b), GZ_OK);
        gz_buf_free(&b);
        if (i % 7 == 5) tx->sig[10] ^= 0x40;
        ptrs[i] = tx;
    }
}

static void check_results(const int *res) {
    for (int i = 0; i < N; i++) {
        int want = i % 11 == 3 ? GZ_ECHAIN : i % 7 == 5 ? GZ_ESIG : GZ_OK;
        cr_assert_eq(res[i], want, "tx %d: got %d want %d", i, res[i], want);
    }
}

Test(sigpool, parallel_results_equal_the_serial_checks) {
    make_txs();
    for (unsigned threads = 0; threads <= 3; threads++) {
        sigpool p;
        cr_assert_eq(sigpool_init(&p, threads), GZ_OK);
        for (int round = 0; round < 5; round++) {
            int res[N];
            memset(res, 0x7f, sizeof res);
            size_t n = round == 4 ? 3 : N; /* a small batch runs inline */
            sigpool_check(&p, ptrs, n, "gz-test", res);
            if (n == N) check_results(res);
            else for (size_t i = 0; i < n; i++) cr_assert_eq(res[i], core_tx_check(ptrs[i], "gz-test", NULL));
        }
        sigpool_free(&p);
    }
}

Test(sigpool, refuses_too_many_threads) {
    sigpool p;
    cr_assert_eq(sigpool_init(&p, SIGPOOL_THREADS_MAX + 1), GZ_EMISUSE);
}
