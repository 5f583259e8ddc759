
#include "storage/store_internal.h"
