/* libFuzzer target: a node's config.json (node/config.h), parsed from
 * memory as node_config_load parses the file. What parses must save and
 * load back to the same config. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "node/config.h"
#include "tests/fuzz/fixture.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char HOME[512];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static node_config c, back;
    gz_msg msg;
    if (node_config_parse(&c, HOME, (const char *)data, size, &msg) != GZ_OK) return 0;
    if (node_config_save(&c, &msg) != GZ_OK) abort();
    if (node_config_load(&back, HOME, &msg) != GZ_OK) {
        fprintf(stderr, "saved config does not load: %s\n", msg.text);
        __builtin_trap();
    }
    if (memcmp(&c, &back, sizeof c) != 0) __builtin_trap();
    return 0;
}

static const char *const SEEDS[][2] = {
    {"full", "{\"rpc_listen\": \"127.0.0.1:26657\", \"p2p_listen\": \"0.0.0.0:26757\",\n"
             " \"peers\": [\"127.0.0.1:26758\", \"node1.example:26759\"], \"data_dir\": \"data\",\n"
             " \"key_file\": \"node.key\", \"genesis_file\": \"/etc/gongzhi/genesis.json\",\n"
             " \"propose_wait_ms\": 50}\n"},
    {"empty_object", "{}"},
    {"bad_port", "{\"rpc_listen\": \"127.0.0.1:99999\"}"},
    {"unknown_key", "{\"peers\": [], \"colour\": 1}"},
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    snprintf(HOME, sizeof HOME, "%s/config-home", fz_tmpdir());
    if (node_mkdirs(HOME) != GZ_OK) abort();
    const char *dir = fz_seed_dir();
    if (dir != NULL) {
        for (size_t i = 0; i < sizeof SEEDS / sizeof SEEDS[0]; i++)
            if (fz_seed(dir, SEEDS[i][0], (const uint8_t *)SEEDS[i][1], strlen(SEEDS[i][1])) != 0) exit(1);
        exit(0);
    }
    return 0;
}
