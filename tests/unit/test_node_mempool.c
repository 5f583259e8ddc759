#include <criterion/criterion.h>
#include <string.h>

#include "node/mempool.h"

static void id_of(uint8_t id[32], uint32_t i) {
    memset(id, 0, 32);
    /* Spread the index over the first bytes, which the index hashes. */
    for (int b = 0; b < 8; b++) id[b] = (uint8_t)((i * 2654435761u) >> (b % 4 * 8));
    memcpy(id + 8, &i, sizeof i);
}

static bool collect(const mempool_entry *e, void *data) {
    uint32_t *out = data;
    uint32_t i;
    memcpy(&i, e->txid + 8, sizeof i);
    out[++out[0]] = i;
    return true;
}

Test(mempool, keeps_arrival_order_and_finds_by_txid) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 100, 1 << 20), GZ_OK);
    uint8_t id[32], signer[32] = {1};
    for (uint32_t i = 0; i < 50; i++) {
        id_of(id, i);
        cr_assert_eq(mempool_add(&m, id, signer, i, id, 32), GZ_OK);
    }
    cr_assert_eq(mempool_count(&m), 50);
    cr_assert_eq(mempool_bytes(&m), 50 * 32);
    id_of(id, 17);
    cr_assert(mempool_has(&m, id));
    cr_assert(mempool_remove(&m, id));
    cr_assert_not(mempool_has(&m, id));
    cr_assert_not(mempool_remove(&m, id));
    uint32_t seen[64] = {0};
    mempool_each(&m, collect, seen);
    cr_assert_eq(seen[0], 49);
    for (uint32_t k = 1; k <= 49; k++) cr_assert_eq(seen[k], k - 1 < 17 ? k - 1 : k);
    mempool_free(&m);
}

Test(mempool, refuses_duplicates_and_respects_both_bounds) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 3, 100), GZ_OK);
    uint8_t id[32], s[32] = {0}, data[64] = {0};
    id_of(id, 1);
    cr_assert_eq(mempool_add(&m, id, s, 0, data, 10), GZ_OK);
    cr_assert_eq(mempool_add(&m, id, s, 0, data, 10), GZ_EDUP);
    id_of(id, 2);
    cr_assert_eq(mempool_add(&m, id, s, 0, data, 64), GZ_OK);
    id_of(id, 3);
    cr_assert_eq(mempool_add(&m, id, s, 0, data, 30), GZ_EMEMPOOL, "bytes bound: 10 + 64 + 30 > 100");
    cr_assert_eq(mempool_add(&m, id, s, 0, data, 20), GZ_OK);
    id_of(id, 4);
    cr_assert_eq(mempool_add(&m, id, s, 0, data, 1), GZ_EMEMPOOL, "count bound: 3");
    id_of(id, 2);
    cr_assert(mempool_remove(&m, id));
    id_of(id, 4);
    cr_assert_eq(mempool_add(&m, id, s, 0, data, 1), GZ_OK, "room again after a removal");
    mempool_free(&m);
}

/* Many adds and removes in a rolling window: the index and the order array
 * compact themselves, every live entry stays findable, and order holds. */
Test(mempool, churn_keeps_index_and_order_consistent) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 5000, 1 << 24), GZ_OK);
    uint8_t id[32], s[32] = {0};
    uint32_t next = 0, first = 0;
    for (int round = 0; round < 200; round++) {
        for (int k = 0; k < 300; k++, next++) {
            id_of(id, next);
            cr_assert_eq(mempool_add(&m, id, s, next, id, 32), GZ_OK);
        }
        for (int k = 0; k < 280; k++, first++) {
            id_of(id, first);
            cr_assert(mempool_remove(&m, id), "entry %u", first);
        }
    }
    cr_assert_eq(mempool_count(&m), next - first);
    for (uint32_t i = first; i < next; i++) {
        id_of(id, i);
        cr_assert(mempool_has(&m, id));
    }
    static uint32_t seen[5000];
    memset(seen, 0, sizeof seen);
    mempool_each(&m, collect, seen);
    cr_assert_eq(seen[0], next - first);
    for (uint32_t k = 1; k <= seen[0]; k++) cr_assert_eq(seen[k], first + k - 1);
    mempool_free(&m);
}

Test(mempool, has_bytes_needs_the_same_signature) {
    mempool m;
    cr_assert_eq(mempool_init(&m, 10, 1 << 20), GZ_OK);
    uint8_t id[32], s[32] = {0}, tx[40];
    memset(tx, 7, sizeof tx);
    id_of(id, 9);
    cr_assert_eq(mempool_add(&m, id, s, 0, tx, sizeof tx), GZ_OK);
    cr_assert(mempool_has_bytes(&m, id, tx, sizeof tx));
    tx[39] ^= 1; /* same txid, another signature */
    cr_assert_not(mempool_has_bytes(&m, id, tx, sizeof tx));
    cr_assert_not(mempool_has_bytes(&m, id, tx, sizeof tx - 1));
    mempool_free(&m);
}
