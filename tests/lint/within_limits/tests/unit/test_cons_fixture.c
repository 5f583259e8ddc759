#include "consensus/cons_internal.h"
