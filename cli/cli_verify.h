/* Helpers shared by the auditing commands (cli_verify.c, cli_audit.c): the
 * trusted genesis, proof files, and fetching signed headers. Each returns a
 * CLI exit code and prints its own one-line error. */
#ifndef GZ_CLI_CLI_VERIFY_H
#define GZ_CLI_CLI_VERIFY_H

#include <jansson.h>

#include "ledger/genesis.h"
#include "verify/verify.h"

/* Loads the trusted genesis (g initialised by the call; free with
 * ledger_genesis_free). CLI_EXIT_FAIL with a message naming the field. */
int cli_verify_load_genesis(const char *cmd, const char *path, gz_genesis *g);
/* Reads a JSON file of at most GZ_PROOF_FILE_BYTES_MAX bytes. */
int cli_verify_read_json(const char *cmd, const char *path, json_t **out);
/* Writes j (indented, keys in insertion order) to path through a temporary
 * file renamed into place, or to stdout when path is "-". */
int cli_verify_write_json(const char *cmd, const char *path, const json_t *j);
/* Prints the report, then a last line saying whether every check held.
 * Returns CLI_EXIT_OK or CLI_EXIT_FAIL. */
int cli_verify_finish(const char *what, const verify_report *r);

#endif
