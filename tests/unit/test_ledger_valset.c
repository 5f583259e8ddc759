/* Validator-set changes as ledger state (SPEC §3 rows 15 and 16, §4
 * "Validator set changes"): VALIDATOR_UPDATE by more than 2/3 approval,
 * EVIDENCE that jails, sets per height, the validators and evidence
 * queries, and determinism. */
#include "tests/unit/test_ledger_valset_kit.h"

#define ROWS(a) (sizeof(a) / sizeof((a)[0]))

static const uint32_t IDX_ALL3[] = {0, 1, 2};

/* A snapshot of the next set, to show that something left it alone. */
typedef struct snap {
    ledger_valset set;
    uint8_t hash[32];
    size_t changes;
} snap;

static void snap_take(vx *x, snap *s) {
    memset(s, 0, sizeof *s);
    s->set = *ledger_validators_next(x->t->l);
    ledger_validators_next_hash(x->t->l, s->hash);
    s->changes = ledger_valset_changes(x->t->l, UINT64_MAX, NULL, 0);
}

static void snap_expect_same(vx *x, const snap *s, const char *what) {
    snap now;
    snap_take(x, &now);
    cr_expect_eq(memcmp(now.hash, s->hash, 32), 0, "%s: the next set's hash changed", what);
    cr_expect_eq(memcmp(&now.set, &s->set, sizeof now.set), 0, "%s: the next set changed", what);
    cr_expect_eq(now.changes, s->changes, "%s: a change height was recorded", what);
    cr_expect_eq(memcmp(x->next, x->cur, 32), 0, "%s: next_validators_hash differs from validators_hash", what);
}

static void expect_refusal(vx *x, int code, int want, const char *field, const char *row) {
    cr_expect_eq(code, want, "row %s: code %d, want %d (%s)", row, code, want, x->t->msg[0]);
    cr_expect(strstr(x->t->msg[0], field) != NULL, "row %s: message \"%s\" does not name %s", row, x->t->msg[0],
              field);
}

/* ---- VALIDATOR_UPDATE refusals ---- */

enum upd_how {
    U_TWO_THIRDS,    /* 20 of 30: exactly 2/3 is not more than 2/3 */
    U_ONE_THIRD,     /* 10 of 30 */
    U_BAD_SIG,       /* a flipped bit in one approval */
    U_WRONG_SIGNER,  /* index 2 signed with validator 1's key */
    U_STALE_SET,     /* signed over the set before the last change */
    U_OTHER_UPDATE,  /* signed for another power than the tx carries */
    U_INDEX_OUT,     /* index 3 of a set of 3 */
    U_INDEX_TWICE,   /* index 0 twice (and 1): 30 "approving" power */
    U_REMOVE_STRANGER,
    U_REMOVE_LAST,   /* the only validator removes itself */
    U_OVER_128,      /* a 129th validator */
    U_POWER_OVER,    /* one power over GZ_TOTAL_POWER_MAX */
    U_TOTAL_OVER,    /* a power at the bound, the total over it */
    U_SAME_POWER,    /* a member's own power again, with another name */
};

static const struct {
    const char *name;
    int how;
    int code;
    const char *field;
} UPD_ROWS[] = {
    {"exactly 2/3 of the power", U_TWO_THIRDS, 6, "payload.approvals"},
    {"1/3 of the power", U_ONE_THIRD, 6, "payload.approvals"},
    {"bad approval signature", U_BAD_SIG, 2, "payload.approvals[2].sig"},
    {"approval by another validator's key", U_WRONG_SIGNER, 2, "payload.approvals[2].sig"},
    {"approval over the previous set's hash", U_STALE_SET, 2, "payload.approvals[0].sig"},
    {"approval of another power", U_OTHER_UPDATE, 2, "payload.approvals[0].sig"},
    {"validator index out of the set", U_INDEX_OUT, 12, "payload.approvals[2].validator_index"},
    {"the same index twice", U_INDEX_TWICE, 12, "payload.approvals[1].validator_index"},
    {"removing a key that is not a validator", U_REMOVE_STRANGER, 7, "payload.pub_key"},
    {"removing the last validator", U_REMOVE_LAST, 9, "payload.power"},
    {"a set over 128", U_OVER_128, 9, "payload.pub_key"},
    {"power over the bound", U_POWER_OVER, 9, "payload.power"},
    {"total power over the bound", U_TOTAL_OVER, 9, "payload.power"},
    {"a member's own power again (a rename alone)", U_SAME_POWER, 8, "payload.power"},
};

static vx *upd_fixture(int how) {
    vx *x;
    if (how == U_REMOVE_LAST) {
        x = vx_new(1, 10);
    } else if (how == U_OVER_128) {
        /* One heavy validator, so its approval alone is more than 2/3. */
        x = vx_new(GZ_VALIDATORS_MAX, 1);
        x->t->g.validators[0].power = 1000;
    } else {
        x = vx_new(3, 10);
    }
    vx_open(x);
    vx_tick(x, 1);
    return x;
}

static gz_tx *upd_stale(vx *x) {
    uint8_t old[32];
    ledger_validators_next_hash(x->t->l, old);
    VX_OK(x, vx_update_all(x, 0, 11, "val0"));
    gz_approval a[3];
    for (uint32_t i = 0; i < 3; i++) vx_approve(x, &a[i], i, (int)i, old, VX_NEW, 10, "new");
    return vx_update_with(x, VX_NEW, 10, "new", a, 3);
}

/* The row's tx on fixture x (a row may first change the set). */
static gz_tx *upd_row_tx(vx *x, int how) {
    uint8_t vh[32];
    ledger_validators_next_hash(x->t->l, vh);
    gz_approval a[3];
    switch (how) {
    case U_TWO_THIRDS: return vx_update(x, VX_NEW, 10, "new", IDX_ALL3, 2);
    case U_ONE_THIRD: return vx_update(x, VX_NEW, 10, "new", IDX_ALL3, 1);
    case U_BAD_SIG:
        for (uint32_t i = 0; i < 3; i++) vx_approve(x, &a[i], i, (int)i, vh, VX_NEW, 10, "new");
        a[2].sig[10] ^= 1;
        return vx_update_with(x, VX_NEW, 10, "new", a, 3);
    case U_WRONG_SIGNER:
        for (uint32_t i = 0; i < 3; i++) vx_approve(x, &a[i], i, i == 2 ? 1 : (int)i, vh, VX_NEW, 10, "new");
        return vx_update_with(x, VX_NEW, 10, "new", a, 3);
    case U_STALE_SET: return upd_stale(x);
    case U_OTHER_UPDATE:
        for (uint32_t i = 0; i < 3; i++) vx_approve(x, &a[i], i, (int)i, vh, VX_NEW, 11, "new");
        return vx_update_with(x, VX_NEW, 10, "new", a, 3);
    case U_INDEX_OUT:
        for (uint32_t i = 0; i < 3; i++) vx_approve(x, &a[i], i, (int)i, vh, VX_NEW, 10, "new");
        a[2].validator_index = 3;
        return vx_update_with(x, VX_NEW, 10, "new", a, 3);
    case U_INDEX_TWICE:
        vx_approve(x, &a[0], 0, 0, vh, VX_NEW, 10, "new");
        vx_approve(x, &a[1], 0, 0, vh, VX_NEW, 10, "new");
        vx_approve(x, &a[2], 1, 1, vh, VX_NEW, 10, "new");
        return vx_update_with(x, VX_NEW, 10, "new", a, 3);
    case U_REMOVE_STRANGER: return vx_update_all(x, VX_NEW, 0, "new");
    case U_REMOVE_LAST: return vx_update_all(x, 0, 0, "val0");
    case U_OVER_128: return vx_update(x, VX_NEW, 1, "new", IDX_ALL3, 1);
    case U_POWER_OVER: return vx_update_all(x, VX_NEW, GZ_TOTAL_POWER_MAX + 1, "new");
    case U_TOTAL_OVER: return vx_update_all(x, VX_NEW, GZ_TOTAL_POWER_MAX, "new");
    case U_SAME_POWER: return vx_update_all(x, 1, 10, "renamed");
    default: cr_assert_fail("row"); return NULL;
    }
}

Test(ledger_valset, update_refusals) {
    for (size_t r = 0; r < ROWS(UPD_ROWS); r++) {
        vx *x = upd_fixture(UPD_ROWS[r].how);
        gz_tx *tx = upd_row_tx(x, UPD_ROWS[r].how);
        snap before;
        snap_take(x, &before);
        int code = vx_run(x, tx);
        expect_refusal(x, code, UPD_ROWS[r].code, UPD_ROWS[r].field, UPD_ROWS[r].name);
        snap_expect_same(x, &before, UPD_ROWS[r].name);
        json_t *a = NULL;
        cr_expect_eq(ledger_query_account(x->t->l, x->pub[VX_NEW], &a), GZ_ENOTFOUND,
                     "row %s: a refused update registered the key", UPD_ROWS[r].name);
        json_decref(a);
        vx_free(x);
    }
}

/* ---- VALIDATOR_UPDATE successes ---- */

Test(ledger_valset, genesis_validators_are_accounts) {
    vx *x = vx_new(3, 10);
    vx_open(x);
    for (int i = 0; i < 3; i++) {
        json_t *a = NULL;
        cr_assert_eq(ledger_query_account(x->t->l, x->pub[i], &a), GZ_OK, "genesis validator %d", i);
        cr_expect_eq(jint(a, "level"), 0);
        cr_expect_eq(jint(a, "classes"), 0);
        json_decref(a);
    }
    vx_free(x);
}

Test(ledger_valset, update_add_appends_and_registers) {
    vx *x = vx_new(3, 10);
    vx_open(x);
    VX_OK(x, vx_update_all(x, VX_NEW, 7, "partner"));
    static const int keys[] = {0, 1, 2, VX_NEW};
    static const uint64_t pw[] = {10, 10, 10, 7};
    const ledger_valset *s = ledger_validators_next(x->t->l);
    vx_expect_set(x, s, keys, pw, 4, "after add");
    cr_expect_str_eq(s->v[3].name, "partner");
    json_t *a = NULL;
    cr_assert_eq(ledger_query_account(x->t->l, x->pub[VX_NEW], &a), GZ_OK, "the added key is an account");
    cr_expect_eq(jint(a, "level"), 0);
    cr_expect_eq(jint(a, "classes"), 0);
    cr_expect_eq(jint(a, "nonce"), 0);
    json_decref(a);
    json_t *e = gt_event(x->t->ev[0], "validator_update", 0);
    cr_assert_not_null(e, "a validator_update event");
    cr_expect_eq(jint(e, "power"), 7);
    cr_expect_eq(jint(e, "from_height"), 2);
    cr_expect_eq(jint(e, "approving_power"), 30);
    cr_expect_eq(jint(e, "validators"), 4);
    cr_expect_eq(jint(e, "total_power"), 37);
    vx_free(x);
}

Test(ledger_valset, update_reweight_keeps_place) {
    vx *x = vx_new(3, 10);
    vx_open(x);
    VX_OK(x, vx_update_all(x, 1, 25, "val1 bigger"));
    static const int keys[] = {0, 1, 2};
    static const uint64_t pw[] = {10, 25, 10};
    const ledger_valset *s = ledger_validators_next(x->t->l);
    vx_expect_set(x, s, keys, pw, 3, "after re-weight");
    cr_expect_str_eq(s->v[1].name, "val1 bigger");
    /* The heavier validator now counts for more: 25 + 10 of 45 is more than 2/3. */
    static const uint32_t idx[] = {1, 2};
    VX_OK(x, vx_update(x, VX_NEW, 1, "new", idx, 2));
    cr_expect_eq(ledger_validators_next(x->t->l)->n, 4);
    vx_free(x);
}

Test(ledger_valset, update_remove) {
    vx *x = vx_new(4, 10);
    vx_open(x);
    VX_OK(x, vx_update_all(x, 1, 0, ""));
    static const int keys[] = {0, 2, 3};
    static const uint64_t pw[] = {10, 10, 10};
    vx_expect_set(x, ledger_validators_next(x->t->l), keys, pw, 3, "after remove");
    /* Removing does not unregister the account. */
    json_t *a = NULL;
    cr_expect_eq(ledger_query_account(x->t->l, x->pub[1], &a), GZ_OK);
    json_decref(a);
    /* The removed key's approval is now out of range of the smaller set. */
    gz_approval ap[3];
    uint8_t vh[32];
    ledger_validators_next_hash(x->t->l, vh);
    for (uint32_t i = 0; i < 3; i++) vx_approve(x, &ap[i], i, keys[i], vh, VX_NEW, 10, "n");
    ap[2].validator_index = 3;
    cr_expect_eq(vx_run(x, vx_update_with(x, VX_NEW, 10, "n", ap, 3)), 12, "%s", x->t->msg[0]);
    vx_free(x);
}

/* A partner replaces its key: add the new key and remove the old one in one
 * block, both approved against the block's starting set. */
Test(ledger_valset, update_key_rotation_in_one_block) {
    vx *x = vx_new(3, 10);
    vx_open(x);
    vx_tick(x, 1);
    gz_tx *txs[2] = {vx_update_all(x, VX_NEW, 10, "val1 rotated"), vx_update_all(x, 1, 0, "val1")};
    int codes[2];
    vx_block(x, txs, 2, codes);
    cr_expect_eq(codes[0], 0, "add: %s", x->t->msg[0]);
    cr_expect_eq(codes[1], 0, "remove: %s", x->t->msg[1]);
    static const int keys[] = {0, 2, VX_NEW};
    static const uint64_t pw[] = {10, 10, 10};
    vx_expect_set(x, ledger_validators_next(x->t->l), keys, pw, 3, "after rotation");
    uint8_t want[32];
    vx_hash_of(x, want, keys, pw, 3);
    cr_expect_eq(memcmp(x->next, want, 32), 0, "next_validators_hash is the rotated set's");
    uint64_t ch[4];
    cr_expect_eq(ledger_valset_changes(x->t->l, UINT64_MAX, ch, 4), 1, "one change height for the two txs");
    cr_expect_eq(ch[0], 2);
    vx_free(x);
}

/* ---- the change takes effect at the next height ---- */

/* A set written as key indexes and powers. */
typedef struct xset {
    uint32_t n;
    int keys[8];
    uint64_t pw[8];
} xset;

static const xset S0 = {3, {0, 1, 2}, {10, 10, 10}};
static const xset S1 = {4, {0, 1, 2, 3}, {10, 10, 10, 5}};  /* block 2 adds key 3 */
static const xset S2 = {3, {1, 2, 3}, {10, 10, 5}};         /* block 5 removes key 0 */
static const xset S3 = {3, {1, 2, 3}, {10, 10, 20}};        /* block 6 re-weights key 3 */
static const xset S4 = {4, {1, 2, 3, VX_NEW}, {10, 10, 20, 1}}; /* block 8, after reopening */

/* The set that signs each height 0..9 of the history below (NULL: none). */
static const xset *const HISTORY[] = {NULL, &S0, &S0, &S1, &S1, &S1, &S2, &S3, &S3, &S4};

static void expect_history(vx *x, uint64_t top, const char *when) {
    for (uint64_t h = 0; h <= top + 2; h++) {
        ledger_valset s;
        char what[64];
        snprintf(what, sizeof what, "%s: height %llu", when, (unsigned long long)h);
        int err = ledger_validators_at(x->t->l, h, &s);
        if (h == 0 || h > ledger_height(x->t->l) + 1) {
            cr_expect_eq(err, GZ_ENOTFOUND, "%s: no set", what);
            cr_expect_eq(s.n, 0, "%s: emptied", what);
            continue;
        }
        cr_assert_eq(err, GZ_OK, "%s", what);
        const xset *w = HISTORY[h];
        vx_expect_set(x, &s, w->keys, w->pw, w->n, what);
        json_t *q = vx_validators(x, h);
        cr_expect_eq(json_array_size(q), w->n, "%s: the validators query", what);
        for (uint32_t i = 0; i < w->n; i++) {
            json_t *e = vx_entry(x, q, w->keys[i]);
            cr_assert_not_null(e, "%s: key %d in the query", what, w->keys[i]);
            cr_expect_eq(jint(e, "index"), i);
            cr_expect_eq(jint(e, "power"), (long long)w->pw[i]);
        }
        json_decref(q);
    }
}

static void expect_changes(vx *x, const uint64_t *want, size_t n, const char *when) {
    uint64_t got[8] = {0};
    cr_assert_eq(ledger_valset_changes(x->t->l, UINT64_MAX, got, 8), n, "%s: change count", when);
    for (size_t i = 0; i < n; i++) cr_expect_eq(got[i], want[i], "%s: change %zu", when, i);
    /* Only heights below `below`, and only max of them written. */
    cr_expect_eq(ledger_valset_changes(x->t->l, want[1], got, 8), 1, "%s: below the second change", when);
    cr_expect_eq(ledger_valset_changes(x->t->l, want[1] + 1, got, 8), 2, "%s: up to the second change", when);
    uint64_t one[2] = {0, 77};
    cr_expect_eq(ledger_valset_changes(x->t->l, UINT64_MAX, one, 1), n, "%s: the count with max 1", when);
    cr_expect_eq(one[0], want[0]);
    cr_expect_eq(one[1], 77, "%s: wrote past max", when);
}

/* Runs one block of the history and checks the header hashes it would carry. */
static void history_block(vx *x, gz_tx *tx, int want_code, bool changes) {
    uint64_t h = ledger_height(x->t->l) + 1;
    int code = 0;
    vx_block(x, tx ? &tx : NULL, tx ? 1 : 0, tx ? &code : NULL);
    cr_expect_eq(code, want_code, "block %llu: %s", (unsigned long long)h, x->t->msg[0]);
    uint8_t want_cur[32], want_next[32];
    const xset *c = HISTORY[h], *n = HISTORY[h + 1];
    vx_hash_of(x, want_cur, c->keys, c->pw, c->n);
    vx_hash_of(x, want_next, n->keys, n->pw, n->n);
    cr_expect_eq(memcmp(x->cur, want_cur, 32), 0, "block %llu: validators_hash", (unsigned long long)h);
    cr_expect_eq(memcmp(x->next, want_next, 32), 0, "block %llu: next_validators_hash", (unsigned long long)h);
    cr_expect_eq(memcmp(x->cur, x->next, 32) != 0, changes, "block %llu: the hashes differ only if it changed the set",
                 (unsigned long long)h);
}

/* Executes an update without committing it: the ledger's sets stay as they are. */
static void speculative_update(vx *x) {
    snap before;
    snap_take(x, &before);
    gz_tx *tx = vx_update_all(x, VX_NEW, 3, "maybe");
    vx_wire(x, &tx);
    ledger_block *b = NULL;
    cr_assert_eq(ledger_exec_block(x->t->l, ledger_height(x->t->l) + 1, x->t->time + 500, x->t->pub[T_STRANGER],
                                   (const gz_tx *const *)&tx, 1, &b),
                 GZ_OK);
    cr_expect_eq(ledger_block_tx_code(b, 0), 0, "%s", ledger_block_tx_message(b, 0));
    cr_expect_eq(ledger_block_next_validators(b)->n, before.set.n + 1, "the block's own next set has the key");
    ledger_block_free(b);
    free(tx);
    x->t->nonce[VX_SENDER]--;
    ledger_validators_next_hash(x->t->l, x->cur);
    memcpy(x->next, x->cur, 32);
    snap_expect_same(x, &before, "an executed block that was not committed");
}

Test(ledger_valset, sets_per_height_across_changes_and_reopen) {
    vx *x = vx_new(3, 10);
    vx_open(x);
    history_block(x, NULL, 0, false);                                        /* 1 */
    history_block(x, vx_update_all(x, 3, 5, "val3"), 0, true);               /* 2 */
    history_block(x, vx_update(x, 0, 0, "val0", IDX_ALL3, 1), 6, false);     /* 3: refused */
    history_block(x, NULL, 0, false);                                        /* 4 */
    speculative_update(x);
    history_block(x, vx_update_all(x, 0, 0, "val0"), 0, true);               /* 5 */
    history_block(x, vx_update_all(x, 3, 20, "val3"), 0, true);              /* 6 */
    history_block(x, NULL, 0, false);                                        /* 7 */
    static const uint64_t ch[] = {2, 5, 6};
    expect_history(x, 7, "before reopening");
    expect_changes(x, ch, 3, "before reopening");
    uint8_t root[32], root2[32];
    ledger_state_root(x->t->l, root);
    ledger_close(x->t->l);
    gz_msg msg;
    gz_msg_clear(&msg);
    cr_assert_eq(ledger_open(&x->t->l, x->t->s, &x->t->g, &msg), GZ_OK, "%s", msg.text);
    ledger_state_root(x->t->l, root2);
    cr_assert_eq(memcmp(root, root2, 32), 0);
    expect_history(x, 7, "after reopening");
    expect_changes(x, ch, 3, "after reopening");
    /* The reopened ledger goes on: approvals against its loaded set work. */
    history_block(x, vx_update_all(x, VX_NEW, 1, "new"), 0, true);          /* 8 */
    static const uint64_t ch2[] = {2, 5, 6, 8};
    expect_history(x, 8, "after a change on the reopened ledger");
    expect_changes(x, ch2, 4, "after a change on the reopened ledger");
    vx_free(x);
}

/* ---- EVIDENCE ---- */

/* Validators 0..3 (power 10), evidence at most 5 heights old; block 2
 * removes validator 3, blocks up to 6 are committed and the rows run in
 * block 7. */
static vx *ev_fixture(void) {
    vx *x = vx_new(4, 10);
    x->t->g.consensus.evidence_max_age = 5;
    vx_open(x);
    vx_tick(x, 1);
    VX_OK(x, vx_update_all(x, 3, 0, "val3"));
    vx_tick(x, 4);
    cr_assert_eq(ledger_height(x->t->l), 6);
    return x;
}

enum ev_how {
    E_OK, E_OWN_HEIGHT, E_NIL_VS_BLOCK, E_PREVOTES, E_REMOVED_SINCE, E_OLDEST,
    E_SAME_BLOCK, E_BOTH_NIL, E_OTHER_HEIGHT, E_OTHER_ROUND, E_OTHER_TYPE,
    E_WRONG_CHAIN, E_WRONG_CHAIN_B, E_BAD_SIG_A, E_BAD_SIG_B, E_OTHER_SIGNER,
    E_NOT_VALIDATOR, E_EARLIER_VALIDATOR, E_TOO_OLD, E_FUTURE, E_HEIGHT_ZERO, E_UNDECODABLE,
};

static const struct {
    const char *name;
    int how;
    int code;
    const char *field; /* for a refusal */
    int key;           /* the accused validator */
    bool jailed;       /* for an acceptance */
} EV_ROWS[] = {
    {"two precommits for two blocks", E_OK, 0, "", 1, true},
    {"votes of the block's own height", E_OWN_HEIGHT, 0, "", 1, true},
    {"a nil vote against a block vote", E_NIL_VS_BLOCK, 0, "", 1, true},
    {"two prevotes", E_PREVOTES, 0, "", 2, true},
    {"a validator then, removed since", E_REMOVED_SINCE, 0, "", 3, false},
    {"exactly evidence_max_age old", E_OLDEST, 0, "", 1, true},
    {"the same block_id", E_SAME_BLOCK, 12, "payload.vote_b", 1, false},
    {"two nil votes", E_BOTH_NIL, 12, "payload.vote_b", 1, false},
    {"another height", E_OTHER_HEIGHT, 12, "payload.vote_b", 1, false},
    {"another round", E_OTHER_ROUND, 12, "payload.vote_b", 1, false},
    {"another type", E_OTHER_TYPE, 12, "payload.vote_b", 1, false},
    {"both votes of another chain", E_WRONG_CHAIN, 3, "payload.vote_a", 1, false},
    {"vote_b of another chain", E_WRONG_CHAIN_B, 3, "payload.vote_b", 1, false},
    {"bad sig_a", E_BAD_SIG_A, 2, "payload.sig_a", 1, false},
    {"bad sig_b", E_BAD_SIG_B, 2, "payload.sig_b", 1, false},
    {"votes signed by another validator", E_OTHER_SIGNER, 2, "payload.sig_a", 1, false},
    {"never a validator", E_NOT_VALIDATOR, 7, "payload.validator", 100, false},
    {"a validator earlier, not at that height", E_EARLIER_VALIDATOR, 7, "payload.validator", 3, false},
    {"older than evidence_max_age", E_TOO_OLD, 9, "payload.vote_a.height", 1, false},
    {"a future height", E_FUTURE, 12, "payload.vote_a.height", 1, false},
    {"height 0", E_HEIGHT_ZERO, 12, "payload.vote_a.height", 1, false},
    {"vote_a that does not decode", E_UNDECODABLE, 1, "payload.vote_a", 1, false},
};

static uint64_t ev_row_height(int how) {
    switch (how) {
    case E_OWN_HEIGHT: return 7;
    case E_REMOVED_SINCE: return 2;    /* 7 - 2 = 5 heights old, the most allowed */
    case E_OLDEST: return 2;
    case E_EARLIER_VALIDATOR: return 4; /* validator 3 left the set at height 3 */
    case E_TOO_OLD: return 1;
    case E_FUTURE: return 8;
    case E_HEIGHT_ZERO: return 0;
    default: return 6;
    }
}

/* Votes a and b of the row (a precommit pair at height 6 unless the row says otherwise). */
static void ev_row_votes(const vx *x, int how, gz_vote *a, gz_vote *b) {
    uint64_t h = ev_row_height(how);
    uint64_t type = how == E_PREVOTES ? GZ_VOTE_PREVOTE : GZ_VOTE_PRECOMMIT;
    *a = vx_vote(x, type, h, 0, how == E_BOTH_NIL ? -1 : 1);
    *b = vx_vote(x, type, h, 0, how == E_SAME_BLOCK ? 1 : how == E_NIL_VS_BLOCK || how == E_BOTH_NIL ? -1 : 2);
    if (how == E_OTHER_HEIGHT) b->height = 5;
    if (how == E_OTHER_ROUND) b->round = 1;
    if (how == E_OTHER_TYPE) b->type = GZ_VOTE_PREVOTE;
    if (how == E_WRONG_CHAIN) snprintf(a->chain_id, sizeof a->chain_id, "another-chain");
    if (how == E_WRONG_CHAIN || how == E_WRONG_CHAIN_B) snprintf(b->chain_id, sizeof b->chain_id, "another-chain");
}

static gz_tx *ev_row_tx(vx *x, size_t r) {
    gz_vote a, b;
    int how = EV_ROWS[r].how, key = EV_ROWS[r].key;
    ev_row_votes(x, how, &a, &b);
    gz_tx *tx = vx_evidence_by(x, key, how == E_OTHER_SIGNER ? 2 : key, &a, &b);
    gz_p_evidence *p = &tx->p.evidence;
    if (how == E_BAD_SIG_A) p->sig_a[0] ^= 1;
    if (how == E_BAD_SIG_B) p->sig_b[63] ^= 0x80;
    if (how == E_UNDECODABLE) p->vote_a[0] = 0xc1; /* never used in msgpack */
    return tx;
}

/* After row r: the one record it left (or none) and the next set. */
static void ev_row_expect(vx *x, size_t r, const snap *before) {
    const char *name = EV_ROWS[r].name;
    json_t *page = vx_evidence_page(x, -1, 10, NULL);
    json_t *list = json_object_get(page, "evidence");
    if (EV_ROWS[r].code != 0) {
        cr_expect_eq(json_array_size(list), 0, "row %s: a refused EVIDENCE recorded something", name);
        snap_expect_same(x, before, name);
        json_decref(page);
        return;
    }
    cr_assert_eq(json_array_size(list), 1, "row %s: one record", name);
    json_t *rec = json_array_get(list, 0);
    cr_expect_eq(json_is_true(json_object_get(rec, "jailed")), EV_ROWS[r].jailed, "row %s: jailed", name);
    bool in_next = false;
    const ledger_valset *s = ledger_validators_next(x->t->l);
    for (uint32_t i = 0; i < s->n; i++) in_next |= vx_key(x, s->v[i].pub_key) == EV_ROWS[r].key;
    cr_expect_eq(in_next, false, "row %s: the accused is not in the next set", name);
    cr_expect_eq(s->n, EV_ROWS[r].jailed ? before->set.n - 1 : before->set.n, "row %s: next set size", name);
    json_decref(page);
}

Test(ledger_valset, evidence_rows) {
    for (size_t r = 0; r < ROWS(EV_ROWS); r++) {
        vx *x = ev_fixture();
        gz_tx *tx = ev_row_tx(x, r);
        snap before;
        snap_take(x, &before);
        int code = vx_run(x, tx);
        if (EV_ROWS[r].code != 0) expect_refusal(x, code, EV_ROWS[r].code, EV_ROWS[r].field, EV_ROWS[r].name);
        else cr_expect_eq(code, 0, "row %s: %s", EV_ROWS[r].name, x->t->msg[0]);
        ev_row_expect(x, r, &before);
        vx_free(x);
    }
}

Test(ledger_valset, evidence_duplicate) {
    vx *x = vx_new(4, 10);
    vx_open(x);
    vx_tick(x, 4);
    VX_OK(x, vx_equivocation(x, 1, 3, 0));
    /* Another equivocation of the same validator at the same height, other round. */
    int code = vx_run(x, vx_equivocation(x, 1, 3, 1));
    expect_refusal(x, code, 8, "payload.validator", "again for (validator, height)");
    /* Twice in one block: the second sees the first's record. */
    gz_tx *txs[2] = {vx_equivocation(x, 2, 4, 0), vx_equivocation(x, 2, 4, 2)};
    int codes[2];
    vx_block(x, txs, 2, codes);
    cr_expect_eq(codes[0], 0, "%s", x->t->msg[0]);
    cr_expect_eq(codes[1], 8, "%s", x->t->msg[1]);
    cr_expect(strstr(x->t->msg[1], "payload.validator") != NULL, "%s", x->t->msg[1]);
    /* The same validator at another height is new evidence (recorded; it is out already). */
    VX_OK(x, vx_equivocation(x, 1, 4, 0));
    json_t *page = vx_evidence_page(x, -1, 10, NULL);
    cr_expect_eq(json_array_size(json_object_get(page, "evidence")), 3);
    json_decref(page);
    vx_free(x);
}

/* Jailing: power 0 from the next height, shown by both queries. */
Test(ledger_valset, evidence_jails_from_the_next_height) {
    vx *x = vx_new(4, 10);
    vx_open(x);
    vx_tick(x, 3);
    gz_vote a = vx_vote(x, GZ_VOTE_PRECOMMIT, 3, 0, 1), b = vx_vote(x, GZ_VOTE_PRECOMMIT, 3, 0, 2);
    VX_OK(x, vx_evidence_by(x, 1, 1, &a, &b)); /* block 4 */
    json_t *ev = gt_event(x->t->ev[0], "evidence", 0);
    cr_assert_not_null(ev);
    cr_expect(json_is_true(json_object_get(ev, "jailed")));
    cr_expect_eq(jint(ev, "from_height"), 5);
    static const int keys[] = {0, 2, 3};
    static const uint64_t pw[] = {10, 10, 10};
    uint8_t want[32];
    vx_hash_of(x, want, keys, pw, 3);
    cr_expect_eq(memcmp(x->next, want, 32), 0, "next_validators_hash leaves the jailed validator out");
    cr_expect_neq(memcmp(x->next, x->cur, 32), 0);
    ledger_valset s;
    cr_assert_eq(ledger_validators_at(x->t->l, 4, &s), GZ_OK);
    cr_expect_eq(s.n, 4, "it still signs height 4");
    cr_assert_eq(ledger_validators_at(x->t->l, 5, &s), GZ_OK);
    vx_expect_set(x, &s, keys, pw, 3, "height 5");

    json_t *q4 = vx_validators(x, 4), *q5 = vx_validators(x, 5);
    json_t *m = vx_entry(x, q4, 1);
    cr_assert_not_null(m);
    cr_expect_eq(jint(m, "index"), 1);
    cr_expect_eq(jint(m, "power"), 10);
    cr_expect_null(json_object_get(m, "jailed"), "a member at height 4 is not shown as jailed");
    cr_expect_eq(json_array_size(q4), 4);
    cr_expect_eq(json_array_size(q5), 4, "three members and the jailed one");
    json_t *j = vx_entry(x, q5, 1);
    cr_assert_not_null(j);
    cr_expect(json_is_true(json_object_get(j, "jailed")));
    cr_expect_eq(jint(j, "power"), 0);
    cr_expect_eq(jint(j, "jailed_at"), 5);
    cr_expect_eq(jint(j, "evidence_height"), 3);
    cr_expect_str_eq(jstr(j, "name"), "val1");
    json_decref(q4);
    json_decref(q5);

    json_t *page = vx_evidence_page(x, -1, 10, NULL);
    json_t *list = json_object_get(page, "evidence");
    cr_assert_eq(json_array_size(list), 1);
    json_t *r = json_array_get(list, 0);
    char hex[65];
    gz_hex_encode(hex, x->pub[1], 32);
    cr_expect_str_eq(jstr(r, "validator"), hex);
    cr_expect_eq(jint(r, "height"), 3);
    cr_expect_eq(jint(r, "round"), 0);
    cr_expect_eq(jint(r, "type"), GZ_VOTE_PRECOMMIT);
    gz_hex_encode(hex, a.block_id, 32);
    cr_expect_str_eq(jstr(r, "block_id_a"), hex);
    gz_hex_encode(hex, b.block_id, 32);
    cr_expect_str_eq(jstr(r, "block_id_b"), hex);
    cr_expect_eq(jint(r, "recorded_at"), 4);
    cr_expect(json_is_true(json_object_get(r, "jailed")));
    cr_expect(json_is_null(json_object_get(page, "next")));
    uint8_t txid[32];
    cr_assert_eq(gz_hex_decode(txid, 32, jstr(r, "txid")), GZ_OK);
    json_t *res = NULL;
    cr_assert_eq(ledger_query_tx_result(x->t->l, txid, &res), GZ_OK, "the record names the EVIDENCE tx");
    cr_expect_str_eq(jstr(res, "type"), "evidence");
    cr_expect_eq(jint(res, "code"), 0);
    cr_expect_eq(jint(res, "height"), 4);
    json_decref(res);
    json_decref(page);
    vx_free(x);
}

/* (validator hex, height) of each record of a page, appended to out. */
static size_t page_keys(const json_t *page, char (*out)[80], size_t at) {
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(page, "evidence"), i, r) {
        snprintf(out[at++], 80, "%s:%lld", jstr(r, "validator"), jint(r, "height"));
    }
    return at;
}

static int cmp_str(const void *a, const void *b) { return strcmp(a, b); }

/* Follows `next` from the start with pages of limit; returns the records seen. */
static size_t walk_pages(vx *x, int key, uint32_t limit, char (*out)[80]) {
    size_t n = 0;
    char after[80] = "";
    for (int pages = 0; pages < 20; pages++) {
        json_t *page = vx_evidence_page(x, key, limit, after[0] ? after : NULL);
        cr_expect_leq(json_array_size(json_object_get(page, "evidence")), limit);
        n = page_keys(page, out, n);
        json_t *next = json_object_get(page, "next");
        bool more = json_is_string(next);
        if (more) snprintf(after, sizeof after, "%s", json_string_value(next));
        json_decref(page);
        if (!more) return n;
    }
    cr_assert_fail("paging does not end");
    return n;
}

Test(ledger_valset, evidence_query_pages_and_filter) {
    vx *x = vx_new(5, 10);
    vx_open(x);
    vx_tick(x, 4);
    gz_tx *txs[4] = {vx_equivocation(x, 1, 2, 0), vx_equivocation(x, 1, 3, 0), vx_equivocation(x, 3, 1, 0),
                     vx_equivocation(x, 2, 4, 1)};
    int codes[4];
    vx_block(x, txs, 4, codes);
    for (int i = 0; i < 4; i++) cr_assert_eq(codes[i], 0, "tx %d: %s", i, x->t->msg[i]);
    cr_expect_eq(ledger_validators_next(x->t->l)->n, 2, "three validators jailed, two left");
    /* Expected order: by validator key bytes (as hex), then height. */
    char want[4][80];
    static const int who[] = {1, 1, 3, 2};
    static const int at[] = {2, 3, 1, 4};
    for (int i = 0; i < 4; i++) {
        char hex[65];
        gz_hex_encode(hex, x->pub[who[i]], 32);
        snprintf(want[i], 80, "%s:%d", hex, at[i]);
    }
    qsort(want, 4, 80, cmp_str);
    char got[32][80];
    for (uint32_t limit = 1; limit <= 5; limit++) {
        cr_assert_eq(walk_pages(x, -1, limit, got), 4, "limit %u", limit);
        for (int i = 0; i < 4; i++) cr_expect_str_eq(got[i], want[i], "limit %u, record %d", limit, i);
    }
    size_t n = walk_pages(x, 1, 1, got);
    cr_assert_eq(n, 2, "validator 1's records");
    char hex[65];
    gz_hex_encode(hex, x->pub[1], 32);
    cr_expect(strncmp(got[0], hex, 64) == 0 && strcmp(got[0] + 65, "2") == 0, "%s", got[0]);
    cr_expect(strncmp(got[1], hex, 64) == 0 && strcmp(got[1] + 65, "3") == 0, "%s", got[1]);
    cr_expect_eq(walk_pages(x, 4, 10, got), 0, "validator 4 has none");
    json_t *o = NULL;
    gz_msg msg;
    gz_msg_clear(&msg);
    cr_expect_eq(ledger_query_evidence(x->t->l, NULL, 10, "not-a-cursor", &o, &msg), GZ_EARG);
    cr_expect(strstr(msg.text, "after") != NULL, "%s", msg.text);
    cr_expect_null(o);
    cr_expect_eq(ledger_query_evidence(x->t->l, NULL, 0, NULL, &o, &msg), GZ_EARG);
    cr_expect(strstr(msg.text, "limit") != NULL, "%s", msg.text);
    cr_expect_eq(ledger_query_evidence(x->t->l, NULL, GZ_PAGE_LIMIT_MAX + 1, NULL, &o, &msg), GZ_EARG);
    vx_free(x);
}

Test(ledger_valset, evidence_against_the_last_validator_only_records) {
    vx *x = vx_new(1, 10);
    vx_open(x);
    vx_tick(x, 2);
    VX_OK(x, vx_equivocation(x, 0, 2, 0));
    json_t *ev = gt_event(x->t->ev[0], "evidence", 0);
    cr_assert_not_null(ev);
    cr_expect(json_is_false(json_object_get(ev, "jailed")));
    cr_expect_eq(memcmp(x->next, x->cur, 32), 0, "the set did not change");
    cr_expect_eq(ledger_validators_next(x->t->l)->n, 1);
    cr_expect_eq(ledger_valset_changes(x->t->l, UINT64_MAX, NULL, 0), 0);
    json_t *page = vx_evidence_page(x, 0, 10, NULL);
    json_t *list = json_object_get(page, "evidence");
    cr_assert_eq(json_array_size(list), 1);
    cr_expect(json_is_false(json_object_get(json_array_get(list, 0), "jailed")));
    json_decref(page);
    json_t *q = vx_validators(x, ledger_height(x->t->l) + 1);
    cr_expect_eq(json_array_size(q), 1, "not listed as jailed");
    cr_expect_null(json_object_get(json_array_get(q, 0), "jailed"));
    json_decref(q);
    vx_free(x);
}

Test(ledger_valset, jailed_validator_readded) {
    vx *x = vx_new(4, 10);
    vx_open(x);
    vx_tick(x, 2);
    VX_OK(x, vx_equivocation(x, 1, 2, 0)); /* block 3: jailed from 4 */
    /* Its approval no longer counts: it is not in the set the update is checked against. */
    VX_OK(x, vx_update_all(x, 1, 10, "val1 again")); /* block 4: back from 5, at the end */
    static const int keys[] = {0, 2, 3, 1};
    static const uint64_t pw[] = {10, 10, 10, 10};
    vx_expect_set(x, ledger_validators_next(x->t->l), keys, pw, 4, "after re-adding");
    json_t *q = vx_validators(x, 5);
    cr_expect_eq(json_array_size(q), 4, "four members, nobody jailed");
    json_t *e = vx_entry(x, q, 1);
    cr_assert_not_null(e);
    cr_expect_null(json_object_get(e, "jailed"), "no longer listed as jailed");
    cr_expect_eq(jint(e, "index"), 3);
    cr_expect_str_eq(jstr(e, "name"), "val1 again");
    json_decref(q);
    /* The evidence record stays; a new equivocation jails it again. */
    json_t *page = vx_evidence_page(x, 1, 10, NULL);
    cr_expect_eq(json_array_size(json_object_get(page, "evidence")), 1);
    json_decref(page);
    vx_tick(x, 1);
    VX_OK(x, vx_equivocation(x, 1, 5, 0));
    cr_expect_eq(ledger_validators_next(x->t->l)->n, 3);
    q = vx_validators(x, ledger_height(x->t->l) + 1);
    e = vx_entry(x, q, 1);
    cr_assert_not_null(e);
    cr_expect(json_is_true(json_object_get(e, "jailed")));
    cr_expect_eq(jint(e, "evidence_height"), 5);
    json_decref(q);
    vx_free(x);
}

/* ---- determinism ---- */

/* Block i of a scenario of set changes and evidence; returns its tx count. */
static size_t scenario_block(vx *x, int i, uint64_t add_power, gz_tx **txs) {
    static const uint32_t idx0[] = {0};
    switch (i) {
    case 0: txs[0] = vx_update_all(x, VX_NEW, add_power, "partner"); return 1;
    case 1: /* a refused removal (too little approval), then an accepted add */
        txs[0] = vx_update(x, 2, 0, "val2", idx0, 1);
        txs[1] = vx_update_all(x, 5, 4, "val5");
        return 2;
    case 2: txs[0] = vx_equivocation(x, 1, 2, 0); return 1;
    case 3: /* rotation of validator 0, and evidence of validator 1 again (recorded only) */
        txs[0] = vx_update_all(x, 6, 10, "val0 rotated");
        txs[1] = vx_update_all(x, 0, 0, "val0");
        txs[2] = vx_equivocation(x, 1, 1, 0);
        return 3;
    default: return 0;
    }
}

static void scenario_run(vx *x, int i, uint64_t add_power) {
    gz_tx *txs[4];
    int codes[4];
    size_t n = scenario_block(x, i, add_power, txs);
    vx_block(x, txs, n, codes);
    for (size_t k = 0; k < n; k++) {
        int want = i == 1 && k == 0 ? 6 : 0;
        cr_assert_eq(codes[k], want, "block %d tx %zu: %s", i, k, x->t->msg[k]);
    }
}

Test(ledger_valset, same_blocks_same_roots) {
    vx *a = vx_new(3, 10), *b = vx_new(3, 10), *c = vx_new(3, 10);
    vx_open(a);
    vx_open(b);
    vx_open(c);
    for (int i = 0; i < 6; i++) {
        scenario_run(a, i, 7);
        scenario_run(b, i, 7);
        uint8_t ra[32], rb[32];
        ledger_state_root(a->t->l, ra);
        ledger_state_root(b->t->l, rb);
        cr_expect_eq(memcmp(ra, rb, 32), 0, "block %d: state roots differ", i);
        cr_expect_eq(memcmp(a->next, b->next, 32), 0, "block %d: next_validators_hash differs", i);
    }
    /* The refused removal in block 1 left validator 2 in place. */
    static const int keys[] = {2, VX_NEW, 5, 6};
    static const uint64_t pw[] = {10, 7, 4, 10};
    vx_expect_set(a, ledger_validators_next(a->t->l), keys, pw, 4, "after the scenario");
    uint64_t ch[8];
    cr_expect_eq(ledger_valset_changes(a->t->l, UINT64_MAX, ch, 8), 4);
    /* The state root commits to the set: another power, another root. */
    scenario_run(c, 0, 8);
    uint8_t r1[32], rc[32];
    ledger_state_root(c->t->l, rc);
    vx *d = vx_new(3, 10);
    vx_open(d);
    scenario_run(d, 0, 7);
    ledger_state_root(d->t->l, r1);
    cr_expect_neq(memcmp(r1, rc, 32), 0, "a different set gave the same state root");
    vx_free(a);
    vx_free(b);
    vx_free(c);
    vx_free(d);
}

/* Re-admission clears the jail: a validator re-added and later voted out is
 * not shown as jailed (it left by approval, not by evidence). */
Test(ledger_valset, readded_then_removed_is_not_jailed) {
    vx *x = vx_new(4, 10);
    vx_open(x);
    vx_tick(x, 2);
    VX_OK(x, vx_equivocation(x, 1, 2, 0));
    VX_OK(x, vx_update_all(x, 1, 10, "val1 again"));
    VX_OK(x, vx_update_all(x, 1, 0, "val1"));
    json_t *q = vx_validators(x, ledger_height(x->t->l) + 1);
    cr_expect_eq(json_array_size(q), 3, "three members and nobody jailed");
    cr_expect_null(vx_entry(x, q, 1), "voted out, not jailed");
    json_decref(q);
    vx_free(x);
}
