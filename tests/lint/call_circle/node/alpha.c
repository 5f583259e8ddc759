/* Calls beta.c, which calls back: a circle. */
void beta_work(void);
static void alpha_helper(void) {}
void alpha_start(void) {
    alpha_helper();
    beta_work();
}
void alpha_done(void) {}
