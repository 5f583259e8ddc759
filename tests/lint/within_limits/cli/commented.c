/* Not an include: it is inside a comment.
#include "node/node_internal.h"
 */
const char *s = "#include \"node/node_internal.h\"";
