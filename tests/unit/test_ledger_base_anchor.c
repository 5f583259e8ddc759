/* ANCHOR: codes, first anchor wins, parent chains within one work, the work
 * index, and the provenance log (leaves, leaf hashes, root, reload). */
#include "core/merkle.h"
#include "tests/unit/test_ledger_base_kit.h"

static void artifact(uint8_t out[32], int i) {
    char s[32];
    snprintf(s, sizeof s, "artifact %d", i);
    core_sha256(out, s, strlen(s));
}

/* An ANCHOR tx by signer for artifact a of work, parent p (< 0: none). */
static gz_tx *anchor_tx(kit *k, int signer, int a, uint64_t kind, const char *work, int p) {
    gz_tx *tx = kit_tx(k, GZ_TX_ANCHOR, signer);
    gz_p_anchor *q = &tx->p.anchor;
    artifact(q->artifact, a);
    q->kind = kind;
    snprintf(q->work_id, sizeof q->work_id, "%s", work);
    q->has_parent = p >= 0;
    if (p >= 0) artifact(q->parent, p);
    snprintf(q->media_type, sizeof q->media_type, "image/png");
    snprintf(q->note, sizeof q->note, "stage of %s", work);
    return tx;
}

static void expect_code(kit *k, gz_tx *tx, int code, const char *prefix) {
    char msg[200];
    int got = kit_run(k, tx, msg, sizeof msg, NULL);
    cr_expect_eq(got, code, "code %d (%s), want %d", got, msg, code);
    cr_expect(strncmp(msg, prefix, strlen(prefix)) == 0, "message \"%s\", want \"%s…\"", msg,
              prefix);
}

Test(ledger_anchor, codes) {
    kit k;
    kit_open(&k);
    expect_code(&k, anchor_tx(&k, K_USER0, 1, 0, "w", -1), 12, "payload.kind");
    expect_code(&k, anchor_tx(&k, K_USER0, 1, 8, "w", -1), 12, "payload.kind");
    expect_code(&k, anchor_tx(&k, K_USER0, 1, 1, "", -1), 12, "payload.work_id");
    expect_code(&k, anchor_tx(&k, K_STRANGER, 1, 1, "w", -1), 5, "signer");
    expect_code(&k, anchor_tx(&k, K_USER0, 1, 1, "w", 99), 7, "payload.parent: artifact not");
    cr_expect_eq(ledger_log_size(k.l), 0, "rejected anchors append nothing");
    expect_code(&k, anchor_tx(&k, K_USER0, 1, 1, "w", -1), 0, "");
    expect_code(&k, anchor_tx(&k, K_USER0 + 1, 1, 2, "w", -1), 8, "payload.artifact");
    expect_code(&k, anchor_tx(&k, K_USER0, 2, 2, "other", 1), 12, "payload.parent: anchored for");
    expect_code(&k, anchor_tx(&k, K_USER0, 2, 2, "w", 1), 0, "");
    cr_expect_eq(ledger_log_size(k.l), 2);
    kit_close(&k);
}

Test(ledger_anchor, first_anchor_in_a_block_wins) {
    kit k;
    kit_open(&k);
    gz_tx *txs[2] = {anchor_tx(&k, K_USER0, 5, 3, "w", -1),
                     anchor_tx(&k, K_USER0 + 1, 5, 3, "x", -1)};
    ledger_block *b = kit_block(&k, txs, 2);
    cr_expect_eq(ledger_block_tx_code(b, 0), 0);
    cr_expect_eq(ledger_block_tx_code(b, 1), 8);
    cr_expect_eq(ledger_block_log_size(b), 1);
    ledger_block_free(b);
    uint8_t a[32];
    artifact(a, 5);
    json_t *j;
    cr_assert_eq(ledger_query_anchor(k.l, a, &j), GZ_OK);
    char signer[65];
    kit_hex(signer, K_USER0);
    cr_expect_str_eq(json_string_value(json_object_get(j, "signer")), signer);
    cr_expect_str_eq(json_string_value(json_object_get(j, "work_id")), "w");
    json_decref(j);
    free(txs[0]);
    free(txs[1]);
    kit_close(&k);
}

Test(ledger_anchor, chain_query_and_fields) {
    kit k;
    kit_open(&k);
    gz_tx *t0 = anchor_tx(&k, K_USER0, 10, 1, "dragon", -1);
    json_t *ev;
    cr_assert_eq(kit_run(&k, t0, NULL, 0, &ev), 0);
    json_t *e = kit_event(ev, "anchor", 0);
    cr_assert_not_null(e);
    cr_expect_eq(json_integer_value(json_object_get(e, "leaf_index")), 0);
    cr_expect(json_is_null(json_object_get(e, "parent")));
    json_decref(ev);
    cr_assert_eq(kit_run(&k, anchor_tx(&k, K_USER0 + 1, 20, 5, "unrelated", -1), NULL, 0, NULL), 0);
    gz_tx *t1 = anchor_tx(&k, K_USER0, 11, 2, "dragon", 10);
    gz_tx *t2 = anchor_tx(&k, K_USER0 + 2, 12, 3, "dragon", 11);
    gz_tx *two[2] = {t1, t2};
    ledger_block *b = kit_block(&k, two, 2);
    cr_expect_eq(ledger_block_tx_code(b, 0), 0, "%s", ledger_block_tx_message(b, 0));
    cr_expect_eq(ledger_block_tx_code(b, 1), 0, "parent anchored earlier in the same block");
    uint64_t h = ledger_block_height(b);
    uint8_t txid2[32];
    memcpy(txid2, t2->txid, 32);
    ledger_block_free(b);
    free(t1);
    free(t2);

    json_t *w;
    cr_assert_eq(ledger_query_work(k.l, "dragon", &w), GZ_OK);
    json_t *list = json_object_get(w, "anchors");
    cr_assert_eq(json_array_size(list), 3);
    const long long kinds[3] = {1, 2, 3};
    const long long idx[3] = {0, 2, 3};
    for (size_t i = 0; i < 3; i++) {
        json_t *a = json_array_get(list, i);
        cr_expect_eq(json_integer_value(json_object_get(a, "kind")), kinds[i]);
        cr_expect_eq(json_integer_value(json_object_get(a, "leaf_index")), idx[i]);
    }
    json_t *last = json_array_get(list, 2);
    uint8_t p[32];
    char hex[65];
    artifact(p, 11);
    gz_hex_encode(hex, p, 32);
    cr_expect_str_eq(json_string_value(json_object_get(last, "parent")), hex);
    gz_hex_encode(hex, txid2, 32);
    cr_expect_str_eq(json_string_value(json_object_get(last, "txid")), hex);
    cr_expect_eq(json_integer_value(json_object_get(last, "height")), (long long)h);
    cr_expect_eq(json_integer_value(json_object_get(last, "time")), (long long)k.time);
    cr_expect_str_eq(json_string_value(json_object_get(last, "media_type")), "image/png");
    cr_expect_str_eq(json_string_value(json_object_get(last, "note")), "stage of dragon");
    json_decref(w);
    cr_expect_eq(ledger_query_work(k.l, "drag", &w), GZ_ENOTFOUND, "no prefix matches");
    cr_expect_eq(ledger_query_work(k.l, "nothing", &w), GZ_ENOTFOUND);
    uint8_t none[32];
    artifact(none, 999);
    cr_expect_eq(ledger_query_anchor(k.l, none, &w), GZ_ENOTFOUND);
    kit_close(&k);
}

/* The log root in every block equals the RFC 9162 root over the leaves' hashes,
 * leaves decode back to what was anchored, and a reopened ledger agrees. */
Test(ledger_anchor, log_matches_merkle_root_and_survives_reopen) {
    kit k;
    kit_open(&k);
    enum { N = 37 };
    uint8_t hashes[N][32];
    int made = 0;
    for (int blk = 0; made < N; blk++) {
        gz_tx *txs[5];
        size_t n = 0;
        for (; n < (size_t)(blk % 5) + 1 && made < N; n++, made++) {
            txs[n] = anchor_tx(&k, K_USER0 + made % KIT_USERS, made, 1 + made % 7, "w",
                               made > 0 ? made - 1 : -1);
        }
        ledger_block *b = kit_block(&k, txs, n);
        for (size_t i = 0; i < n; i++) {
            cr_assert_eq(ledger_block_tx_code(b, i), 0, "%s", ledger_block_tx_message(b, i));
            free(txs[i]);
        }
        uint8_t root[32];
        uint8_t want[32];
        uint64_t size = ledger_log_size(k.l);
        cr_assert_eq(size, (uint64_t)made);
        for (uint64_t i = size - n; i < size; i++) {
            gz_buf leaf = {0};
            cr_assert_eq(ledger_log_leaf(k.l, i, &leaf), GZ_OK);
            gz_anchor_leaf dec;
            cr_assert_eq(core_anchor_leaf_decode(&dec, leaf.data, leaf.len, NULL), GZ_OK);
            uint8_t a[32];
            artifact(a, (int)i);
            cr_expect_eq(memcmp(dec.artifact, a, 32), 0);
            cr_expect_eq(dec.height, ledger_height(k.l));
            core_merkle_leaf_hash(hashes[i], leaf.data, leaf.len);
            gz_buf_free(&leaf);
        }
        cr_assert_eq(core_merkle_root(want, (const uint8_t(*)[32])hashes, size), GZ_OK);
        ledger_log_root(k.l, root);
        cr_expect_eq(memcmp(root, want, 32), 0, "log root at size %llu", (unsigned long long)size);
        ledger_block_log_root(b, root);
        cr_expect_eq(memcmp(root, want, 32), 0);
        ledger_block_free(b);
    }
    uint8_t got[N][32];
    cr_assert_eq(ledger_log_leaf_hashes(k.l, 0, N, got), GZ_OK);
    cr_expect_eq(memcmp(got, hashes, sizeof got), 0);
    cr_expect_eq(ledger_log_leaf_hashes(k.l, 3, N + 1, got), GZ_EMISUSE);
    gz_buf none = {0};
    cr_expect_eq(ledger_log_leaf(k.l, N, &none), GZ_ENOTFOUND);

    /* Reopen over the same store: same height, roots and leaf hashes. */
    uint8_t root1[32], state1[32];
    ledger_log_root(k.l, root1);
    ledger_state_root(k.l, state1);
    uint64_t h = ledger_height(k.l);
    ledger_close(k.l);
    gz_msg msg;
    cr_assert_eq(ledger_open(&k.l, k.s, &k.g, &msg), GZ_OK, "%s", msg.text);
    uint8_t root2[32], state2[32];
    ledger_log_root(k.l, root2);
    ledger_state_root(k.l, state2);
    cr_expect_eq(ledger_height(k.l), h);
    cr_expect_eq(memcmp(root1, root2, 32), 0);
    cr_expect_eq(memcmp(state1, state2, 32), 0);
    cr_assert_eq(ledger_log_leaf_hashes(k.l, 0, N, got), GZ_OK);
    cr_expect_eq(memcmp(got, hashes, sizeof got), 0);
    kit_close(&k);
}

Test(ledger_anchor, empty_log_root_is_sha256_of_nothing) {
    kit k;
    kit_open(&k);
    uint8_t root[32], want[32];
    core_sha256(want, "", 0);
    ledger_log_root(k.l, root);
    cr_expect_eq(memcmp(root, want, 32), 0);
    cr_expect_eq(ledger_log_size(k.l), 0);
    kit_close(&k);
}
