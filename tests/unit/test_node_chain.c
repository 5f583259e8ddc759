/* The chain's bounded candidate set: a flood of blocks for the height in
 * progress evicts the oldest, but never a block chain_keep protects (the one
 * consensus is locked on, holds as valid, or votes on). */
#include <criterion/criterion.h>
#include <string.h>

#include "core/keys.h"
#include "ledger/genesis.h"
#include "ledger/ledger.h"
#include "node/chain.h"
#include "node/mempool.h"
#include "storage/store.h"

typedef struct fixture {
    gz_genesis g;
    store *st;
    ledger *lg;
    chain ch;
    mempool mp;
    uint8_t proposer[32];
} fixture;

static void fixture_open(fixture *f) {
    memset(f, 0, sizeof *f);
    ledger_genesis_default(&f->g);
    uint8_t sk[32] = {1};
    cr_assert_eq(core_key_pub(f->proposer, sk), GZ_OK);
    f->g.n_validators = 1;
    memcpy(f->g.validators[0].pub_key, f->proposer, 32);
    f->g.validators[0].power = 1;
    gz_msg msg = {{0}};
    cr_assert_eq(store_open_memory(&f->st), GZ_OK);
    cr_assert_eq(ledger_open(&f->lg, f->st, &f->g, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(chain_open(&f->ch, f->st, f->lg, &f->g, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(mempool_init(&f->mp, 1, 1), GZ_OK);
}

static void fixture_close(fixture *f) {
    chain_close(&f->ch);
    mempool_free(&f->mp);
    ledger_close(f->lg);
    store_close(f->st);
}

/* A new empty block for height 1, its time (so its id) differing by t. */
static void build(fixture *f, uint64_t t, uint8_t id[32]) {
    chain_block *b = NULL;
    cr_assert_eq(chain_build(&f->ch, &f->mp, f->g.genesis_time + 1000 + t, f->proposer, &b), GZ_OK);
    memcpy(id, b->block_id, 32);
}

Test(node_chain, a_full_set_evicts_the_oldest_block_not_kept) {
    fixture f;
    fixture_open(&f);
    uint8_t first[32], second[32], id[32];
    build(&f, 0, first);
    build(&f, 1, second);
    chain_keep(&f.ch, (const uint8_t (*)[32])first, 1);
    for (uint64_t t = 2; t < 2 + 3 * GZ_BLOCK_CANDIDATES_MAX; t++) build(&f, t, id);
    cr_expect_eq(f.ch.n_cand, GZ_BLOCK_CANDIDATES_MAX, "the set stays bounded");
    cr_expect_not_null(chain_find(&f.ch, first), "the kept block survives the flood");
    cr_expect_null(chain_find(&f.ch, second), "an old block that is not kept is evicted");
    cr_expect_not_null(chain_find(&f.ch, id), "the newest block is held");
    fixture_close(&f);
}

Test(node_chain, every_kept_block_survives) {
    fixture f;
    fixture_open(&f);
    uint8_t kept[CHAIN_KEEP_MAX][32], id[32];
    for (uint64_t k = 0; k < CHAIN_KEEP_MAX; k++) build(&f, 10 * k, kept[k]);
    chain_keep(&f.ch, (const uint8_t (*)[32])kept, CHAIN_KEEP_MAX);
    for (uint64_t t = 1; t < 4 * GZ_BLOCK_CANDIDATES_MAX; t++) build(&f, 1000 + t, id);
    for (size_t k = 0; k < CHAIN_KEEP_MAX; k++) cr_expect_not_null(chain_find(&f.ch, kept[k]), "kept block %zu", k);
    chain_clear(&f.ch);
    cr_expect_eq(f.ch.n_keep, 0, "a new height keeps nothing of the old one");
    fixture_close(&f);
}
