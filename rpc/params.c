/* Parameter readers for handlers: each checks one member of params and, when
 * it is wrong, answers the call with -32602 naming the field, so a handler
 * reads as a short list of reads followed by its work. */
#include "core/json.h"
#include "rpc/rpc.h"

#include <string.h>

/* The member, or NULL when absent or JSON null. */
static const json_t *param_get(const json_t *params, const char *name) {
    const json_t *v = json_object_get(params, name);
    return json_is_null(v) ? NULL : v;
}

/* Answers a failed read: -32602 with the reader's message naming
 * "params.<name>", or an internal error when memory ran out. */
static int param_verdict(rpc_call *call, int rc, const gz_msg *m) {
    if (rc == GZ_OK) return GZ_OK;
    if (rc == GZ_ENOMEM) rpc_reply_error(call, RPC_INTERNAL_ERROR, "internal error: out of memory");
    else rpc_reply_error(call, RPC_INVALID_PARAMS, "%s", m->text);
    return rc;
}

int rpc_param_hex32(const json_t *params, const char *name, uint8_t out[32],
                    rpc_call *call) {
    char path[CORE_JSON_PATH_MAX];
    gz_msg m;
    core_json_path(path, "params", name);
    int rc = core_json_hex_fixed(param_get(params, name), path, NULL, out, 32, &m);
    return param_verdict(call, rc, &m);
}

int rpc_param_hex32_opt(const json_t *params, const char *name, uint8_t out[32],
                        bool *present, rpc_call *call) {
    *present = false;
    if (param_get(params, name) == NULL) {
        memset(out, 0, 32);
        return GZ_OK;
    }
    int rc = rpc_param_hex32(params, name, out, call);
    *present = rc == GZ_OK;
    return rc;
}

int rpc_param_u64(const json_t *params, const char *name, uint64_t *out, rpc_call *call) {
    char path[CORE_JSON_PATH_MAX];
    gz_msg m;
    core_json_path(path, "params", name);
    int rc = core_json_u64(param_get(params, name), path, NULL, 0, UINT64_MAX, out, &m);
    return param_verdict(call, rc, &m);
}

int rpc_param_u64_opt(const json_t *params, const char *name, uint64_t def,
                      uint64_t *out, rpc_call *call) {
    if (param_get(params, name) == NULL) {
        *out = def;
        return GZ_OK;
    }
    return rpc_param_u64(params, name, out, call);
}

int rpc_param_str(const json_t *params, const char *name, size_t len_max,
                  const char **out, rpc_call *call) {
    char path[CORE_JSON_PATH_MAX];
    gz_msg m;
    core_json_path(path, "params", name);
    int rc = core_json_str_view(param_get(params, name), path, NULL, 0, len_max, out, &m);
    return param_verdict(call, rc, &m);
}

int rpc_param_str_opt(const json_t *params, const char *name, size_t len_max,
                      const char *def, const char **out, rpc_call *call) {
    if (param_get(params, name) == NULL) {
        *out = def;
        return GZ_OK;
    }
    return rpc_param_str(params, name, len_max, out, call);
}

int rpc_param_hex_buf(const json_t *params, const char *name, size_t bytes_max,
                      gz_buf *out, rpc_call *call) {
    char path[CORE_JSON_PATH_MAX];
    gz_msg m;
    core_json_path(path, "params", name);
    int rc = core_json_hex_buf(param_get(params, name), path, NULL, 0, bytes_max, out, &m);
    return param_verdict(call, rc, &m);
}
