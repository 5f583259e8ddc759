#include "tests/sim/sim_internal.h"
