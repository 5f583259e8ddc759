/* Calls alpha_done in alpha.c, which calls beta_work here. gamma.c is called
 * by both and calls nobody: no circle through it. A name in a comment,
 * alpha_start, or in a string does not count. */
void alpha_done(void);
void gamma_leaf(void);
void beta_work(void) {
    const char *s = "alpha_start";
    (void)s;
    gamma_leaf();
    alpha_done();
}
