#include "ledger/ledger_impl.h"
