/* JSON helpers shared by every module that reads or writes JSON (genesis,
 * node config, the verifier's bundles, JSON-RPC): one spelling of bytes as a
 * JSON string. */
#ifndef GZ_CORE_JSON_H
#define GZ_CORE_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* A new JSON string holding n bytes as lowercase hex, or NULL when out of
 * memory. */
json_t *core_json_hex(const uint8_t *p, size_t n);

#endif
