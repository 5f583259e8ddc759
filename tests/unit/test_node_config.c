#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "node/config.h"
#include "tests/unit/testutil.h"

static char home[64];

static void setup(void) { tu_tmpdir_make(home, sizeof home, "test-config"); }

static void teardown(void) { tu_tmpdir_remove(home); }

static void write_config(const char *text) {
    char path[128];
    snprintf(path, sizeof path, "%s/config.json", home);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
}

TestSuite(config, .init = setup, .fini = teardown);

Test(config, save_then_load_round_trips) {
    node_config c;
    node_config_default(&c, home);
    c.rpc_port = 1234;
    cr_assert_eq(c.propose_wait_ms, NODE_PROPOSE_WAIT_MS_DEFAULT);
    c.propose_wait_ms = 250;
    snprintf(c.peers[c.n_peers++], sizeof c.peers[0], "10.0.0.2:26757");
    gz_msg msg = {{0}};
    cr_assert_eq(node_config_save(&c, &msg), GZ_OK, "%s", msg.text);
    node_config d;
    cr_assert_eq(node_config_load(&d, home, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(d.rpc_port, 1234);
    cr_assert_eq(d.n_peers, 1);
    cr_assert_str_eq(d.peers[0], "10.0.0.2:26757");
    cr_assert_str_eq(d.data_dir, c.data_dir);
    cr_assert_eq(d.propose_wait_ms, 250);
}

Test(config, propose_wait_absent_zero_and_max) {
    node_config c;
    gz_msg msg = {{0}};
    write_config("{}");
    cr_assert_eq(node_config_load(&c, home, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(c.propose_wait_ms, NODE_PROPOSE_WAIT_MS_DEFAULT, "absent: the default");
    write_config("{\"propose_wait_ms\": 0}");
    cr_assert_eq(node_config_load(&c, home, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(c.propose_wait_ms, 0);
    write_config("{\"propose_wait_ms\": 10000}");
    cr_assert_eq(node_config_load(&c, home, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(c.propose_wait_ms, NODE_PROPOSE_WAIT_MS_MAX);
}

/* An allow-listed key, in hex: node key 00..01. */
#define K "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"

Test(config, allow_absent_empty_and_listed) {
    node_config c;
    gz_msg msg = {{0}};
    write_config("{}");
    cr_assert_eq(node_config_load(&c, home, &msg), GZ_OK, "%s", msg.text);
    cr_assert(!c.has_allow, "absent: the node is open");
    write_config("{\"allow\": []}");
    cr_assert_eq(node_config_load(&c, home, &msg), GZ_OK, "%s", msg.text);
    cr_assert(c.has_allow, "empty: only validators");
    cr_assert_eq(c.n_allow, 0);
    write_config("{\"allow\": [\"" K "\", \"C6047F9441ED7D6D3045406E95C07CD85C778E4B8CEF3CA7ABAC09B95C709EE5\"]}");
    cr_assert_eq(node_config_load(&c, home, &msg), GZ_OK, "%s", msg.text);
    cr_assert_eq(c.n_allow, 2);
    cr_assert_eq(c.allow[0][0], 0x79);
    cr_assert_eq(c.allow[1][31], 0xe5);
    cr_assert_eq(node_config_save(&c, &msg), GZ_OK, "%s", msg.text);
    node_config d;
    cr_assert_eq(node_config_load(&d, home, &msg), GZ_OK, "%s", msg.text);
    cr_assert(d.has_allow);
    cr_assert_eq(d.n_allow, 2);
    cr_assert_eq(memcmp(d.allow, c.allow, 2 * 32), 0, "saved and loaded again");
}

Test(config, bad_files_name_the_field) {
    static const struct { const char *text, *field; } cases[] = {
        {"{\"rpc_listen\": \"nope\"}", "config.rpc_listen"},
        {"{\"p2p_listen\": \"1.2.3.4:99999\"}", "config.p2p_listen"},
        {"{\"peers\": [\"a:1\", 7]}", "config.peers[1]: expected a string"},
        {"{\"peers\": \"a:1\"}", "config.peers"},
        {"{\"peers\": [\"a:1\", \"nocolon\"]}", "config.peers[1]: expected \"host:port\""},
        {"{\"data_dir\": \"\"}", "config.data_dir"},
        {"{\"colour\": \"blue\"}", "config.colour: unknown key"},
        {"{\"propose_wait_ms\": -1}", "config.propose_wait_ms"},
        {"{\"propose_wait_ms\": 10001}", "config.propose_wait_ms: expected an integer in 0..10000, found 10001"},
        {"{\"propose_wait_ms\": \"50\"}", "config.propose_wait_ms"},
        {"{\"allow\": \"%s\"}", "config.allow"},
        {"{\"allow\": [\"%s\", 5]}", "config.allow[1]: expected a string"},
        {"{\"allow\": [\"%s\", \"79be\"]}", "config.allow[1]: expected a public key as 64 hex digits"},
        {"{\"allow\": [\"%s\", \"zz%.62s\"]}", "config.allow[1]: expected a public key"},
        {"{\"allow\": [\"%s\", \"%s\"]}", "config.allow[1]: the same key as config.allow[0]"},
        {"[1, 2]", "config: expected an object"},
        {"{\"rpc_listen\": ", "config.json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512];
        snprintf(text, sizeof text, cases[i].text, K, K);
        write_config(text);
        node_config c;
        gz_msg msg = {{0}};
        cr_assert_neq(node_config_load(&c, home, &msg), GZ_OK, "case %zu", i);
        cr_assert_not_null(strstr(msg.text, cases[i].field), "case %zu: '%s' lacks '%s'", i, msg.text,
                           cases[i].field);
    }
}

Test(config, hostport_parsing) {
    char host[64];
    uint16_t port;
    cr_assert_eq(node_parse_hostport("127.0.0.1:26657", host, sizeof host, &port), GZ_OK);
    cr_assert_str_eq(host, "127.0.0.1");
    cr_assert_eq(port, 26657);
    cr_assert_eq(node_parse_hostport(":80", host, sizeof host, &port), GZ_EARG);
    cr_assert_eq(node_parse_hostport("h:", host, sizeof host, &port), GZ_EARG);
    cr_assert_eq(node_parse_hostport("h:65536", host, sizeof host, &port), GZ_EARG);
    cr_assert_eq(node_parse_hostport("h: 80", host, sizeof host, &port), GZ_EARG, "no blanks before the port");
    cr_assert_eq(node_parse_hostport("h:+80", host, sizeof host, &port), GZ_EARG, "no sign");
    cr_assert_eq(node_parse_hostport("h:000080", host, sizeof host, &port), GZ_EARG, "at most five digits");
    cr_assert_eq(node_parse_hostport("h:8x", host, sizeof host, &port), GZ_EARG);
}
