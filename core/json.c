#include "core/json.h"

#include <stdlib.h>

#include "core/bytes.h"

json_t *core_json_hex(const uint8_t *p, size_t n) {
    char *s = malloc(2 * n + 1);
    if (s == NULL) return NULL;
    gz_hex_encode(s, p, n);
    json_t *j = json_string(s);
    free(s);
    return j;
}
