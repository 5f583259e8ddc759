/* Parameter readers for handlers: each checks one member of params and, when
 * it is wrong, answers the call with -32602 naming the field, so a handler
 * reads as a short list of reads followed by its work. */
#include "core/json.h"
#include "rpc/rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The member, or NULL when absent or JSON null. */
static const json_t *param_get(const json_t *params, const char *name) {
    const json_t *v = json_object_get(params, name);
    return json_is_null(v) ? NULL : v;
}

static int param_fail(rpc_call *call, const char *name, const char *why) {
    rpc_reply_error(call, RPC_INVALID_PARAMS, "params.%s: %s", name, why);
    return GZ_EARG;
}

static bool hex_chars(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
        if (!ok) return false;
    }
    return true;
}

static int hex32_read(const json_t *v, const char *name, uint8_t out[32], rpc_call *call) {
    if (!json_is_string(v) || json_string_length(v) != 64 ||
        gz_hex_decode(out, 32, json_string_value(v)) != GZ_OK) {
        memset(out, 0, 32);
        return param_fail(call, name, "expected 64 hex chars");
    }
    return GZ_OK;
}

int rpc_param_hex32(const json_t *params, const char *name, uint8_t out[32],
                    rpc_call *call) {
    const json_t *v = param_get(params, name);
    if (v == NULL) {
        memset(out, 0, 32);
        return param_fail(call, name, "missing (expected 64 hex chars)");
    }
    return hex32_read(v, name, out, call);
}

int rpc_param_hex32_opt(const json_t *params, const char *name, uint8_t out[32],
                        bool *present, rpc_call *call) {
    const json_t *v = param_get(params, name);
    *present = false;
    if (v == NULL) {
        memset(out, 0, 32);
        return GZ_OK;
    }
    int rc = hex32_read(v, name, out, call);
    *present = rc == GZ_OK;
    return rc;
}

static int u64_read(const json_t *v, const char *name, uint64_t *out, rpc_call *call) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) {
        *out = 0;
        return param_fail(call, name, "expected a non-negative integer");
    }
    *out = (uint64_t)json_integer_value(v);
    return GZ_OK;
}

int rpc_param_u64(const json_t *params, const char *name, uint64_t *out, rpc_call *call) {
    const json_t *v = param_get(params, name);
    if (v == NULL) {
        *out = 0;
        return param_fail(call, name, "missing (expected a non-negative integer)");
    }
    return u64_read(v, name, out, call);
}

int rpc_param_u64_opt(const json_t *params, const char *name, uint64_t def,
                      uint64_t *out, rpc_call *call) {
    const json_t *v = param_get(params, name);
    if (v == NULL) {
        *out = def;
        return GZ_OK;
    }
    return u64_read(v, name, out, call);
}

static int str_read(const json_t *v, const char *name, size_t len_max, const char **out,
                    rpc_call *call) {
    if (!json_is_string(v) || json_string_length(v) > len_max ||
        strlen(json_string_value(v)) != json_string_length(v)) {
        char why[96];
        snprintf(why, sizeof why, "expected a string of at most %zu bytes", len_max);
        *out = NULL;
        return param_fail(call, name, why);
    }
    *out = json_string_value(v);
    return GZ_OK;
}

int rpc_param_str(const json_t *params, const char *name, size_t len_max,
                  const char **out, rpc_call *call) {
    const json_t *v = param_get(params, name);
    if (v == NULL) {
        *out = NULL;
        return param_fail(call, name, "missing (expected a string)");
    }
    return str_read(v, name, len_max, out, call);
}

int rpc_param_str_opt(const json_t *params, const char *name, size_t len_max,
                      const char *def, const char **out, rpc_call *call) {
    const json_t *v = param_get(params, name);
    if (v == NULL) {
        *out = def;
        return GZ_OK;
    }
    return str_read(v, name, len_max, out, call);
}

int rpc_param_hex_buf(const json_t *params, const char *name, size_t bytes_max,
                      gz_buf *out, rpc_call *call) {
    gz_buf_reset(out);
    const json_t *v = param_get(params, name);
    if (v == NULL) return param_fail(call, name, "missing (expected hex)");
    if (!json_is_string(v)) return param_fail(call, name, "expected a hex string");
    size_t len = json_string_length(v);
    const char *s = json_string_value(v);
    if (len / 2 > bytes_max) {
        char why[96];
        snprintf(why, sizeof why, "expected at most %zu bytes (%zu hex chars)", bytes_max,
                 2 * bytes_max);
        return param_fail(call, name, why);
    }
    if (len % 2 != 0) return param_fail(call, name, "expected an even number of hex chars");
    if (!hex_chars(s, len)) return param_fail(call, name, "expected hex chars only");
    int rc = gz_hex_decode_buf(out, s, len);
    if (rc != GZ_OK) {
        gz_buf_reset(out);
        rpc_reply_error(call, RPC_INTERNAL_ERROR, "internal error: out of memory");
        return rc;
    }
    return GZ_OK;
}

