#include <stdio.h>
#include "node/node_internal.h"
