#include "core/mp_internal.h"
