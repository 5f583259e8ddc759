/* The top of a one-way chain: it calls below, nothing calls it back. */
void below_work(void);
void top_start(void) { below_work(); }
