void gamma_leaf(void) {}
