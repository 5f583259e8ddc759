#include "ledger/ledger_internal.h"
