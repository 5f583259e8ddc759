#include "../../node/node_internal.h"
#include <openssl/foo_internal.h>
#include "./sim_internal.h"
