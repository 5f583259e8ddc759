#include "rpc/rpc_internal.h"
