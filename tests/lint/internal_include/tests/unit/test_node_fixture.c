#include "node/node_internal.h"
