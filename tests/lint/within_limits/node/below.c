/* Called from top.c; it names top_start only in this comment and calls a
 * static helper of its own, whose name top.c does not define. */
static void helper(void) {}
void below_work(void) { helper(); }
