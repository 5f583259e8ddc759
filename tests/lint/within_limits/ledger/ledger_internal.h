/* The ledger's own header. */
