/* libFuzzer target: genesis JSON (ledger/genesis.h), as a node or the
 * offline verifier reads it from a file it was handed. What parses must
 * pass the same checks again, write back as text that parses to the same
 * genesis (the same hash), and write the same text the second time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/genesis.h"
#include "tests/fuzz/fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const gz_genesis *g) {
    static gz_genesis again;
    gz_msg msg;
    char *text = NULL, *text2 = NULL;
    uint8_t h1[32], h2[32];
    if (ledger_genesis_check(g, &msg) != GZ_OK) __builtin_trap();
    if (ledger_genesis_write(g, &text) != GZ_OK) abort();
    if (ledger_genesis_parse(&again, text, strlen(text), &msg) != GZ_OK) {
        fprintf(stderr, "written genesis does not parse: %s\n", msg.text);
        __builtin_trap();
    }
    if (ledger_genesis_write(&again, &text2) != GZ_OK) abort();
    if (strcmp(text, text2) != 0) __builtin_trap();
    if (ledger_genesis_hash(g, h1) != GZ_OK || ledger_genesis_hash(&again, h2) != GZ_OK) abort();
    if (memcmp(h1, h2, 32) != 0) __builtin_trap();
    free(text);
    free(text2);
    ledger_genesis_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static gz_genesis g;
    gz_msg msg;
    if (ledger_genesis_parse(&g, (const char *)data, size, &msg) == GZ_OK) round_trip(&g);
    ledger_genesis_free(&g);
    return 0;
}

static void write_one(const char *dir, const char *name, const gz_genesis *g) {
    char *text = NULL;
    if (ledger_genesis_write(g, &text) != GZ_OK || fz_seed(dir, name, (const uint8_t *)text, strlen(text)) != 0)
        exit(1);
    free(text);
}

/* The fixed chain of the other targets, and a single-validator one. */
static void write_seeds(const char *dir) {
    static gz_genesis g;
    fz_genesis(&g);
    write_one(dir, "fixture_4_validators", &g);
    g.n_validators = 1;
    g.n_authorities[1] = 0;
    write_one(dir, "one_validator", &g);
    ledger_genesis_free(&g);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    fz_seed_mode(write_seeds);
    return 0;
}
