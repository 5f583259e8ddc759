#include "tests/sim/sim_internal.h"
#include "sim_internal.h"
