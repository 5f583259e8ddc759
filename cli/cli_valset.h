/* Validator-set approvals as the command line handles them (SPEC §4): the set
 * read from a node's `validators` answer, one approval and its JSON file, and
 * the gathering of approval files into a VALIDATOR_UPDATE's approvals.
 *
 * An approval file is one JSON object:
 *   {"chain_id", "validators_hash", "pub_key", "power", "name",
 *    "validator_index", "validator", "sig"}
 * bytes as lowercase hex, `validator` the approver's key, `sig` its BIP-340
 * signature over core_valset_approval_hash(chain_id, validators_hash,
 * pub_key, power, name). Nothing here does I/O except cli_approval_load. */
#ifndef GZ_CLI_CLI_VALSET_H
#define GZ_CLI_CLI_VALSET_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/codec.h"
#include "core/err.h"
#include "core/limits.h"

/* An approval file holds eight short fields (under 700 bytes as written);
 * anything much larger is not one, and is refused before it is parsed. */
#define CLI_APPROVAL_FILE_BYTES_MAX 4096u

typedef struct cli_approval {
    char chain_id[GZ_CHAIN_ID_MAX + 1];
    uint8_t validators_hash[32];
    uint8_t pub_key[32];
    uint64_t power; /* 0 removes pub_key; at most INT64_MAX (a JSON integer) */
    char name[GZ_LABEL_MAX + 1];
    uint64_t validator_index;
    uint8_t validator[32];
    uint8_t sig[64];
} cli_approval;

/* The current set from a `validators` answer: an array of {name, pub_key,
 * power, jailed?}. Entries with power 0 or `"jailed": true` (jailed former
 * validators) are skipped; the rest keep their order. Other keys are allowed.
 * Returns GZ_OK, or GZ_EARG with msg naming the entry ("validators[2].pub_key:
 * …"), or GZ_ELIMIT past GZ_VALIDATORS_MAX; *n = 0 on failure. */
GZ_WUR int cli_valset_parse(gz_validator set[GZ_VALIDATORS_MAX], size_t *n, const json_t *arr, gz_msg *msg);

/* Index of pub_key in set[0..n), or -1. */
int cli_valset_find(const gz_validator *set, size_t n, const uint8_t pub_key[32]);

/* Fills a with the change (chain_id, pub_key, power, name) approved by the
 * holder of seckey for set[0..n): validators_hash of the set, the holder's
 * index in it, and the signature. Returns GZ_OK, GZ_ENOTFOUND when the key is
 * not in the set, GZ_EARG for a bad key or an over-long chain id or name;
 * *a zeroed on failure. */
GZ_WUR int cli_approval_sign(cli_approval *a, const uint8_t seckey[32], const char *chain_id,
                             const gz_validator *set, size_t n, const uint8_t pub_key[32],
                             uint64_t power, const char *name, gz_msg *msg);

/* The approval as a new JSON object (keys in the file order), or NULL when
 * out of memory. */
json_t *cli_approval_json(const cli_approval *a);

/* Parses an approval object: exactly the eight keys, each checked. Returns
 * GZ_OK or GZ_EARG with msg naming the key; *a zeroed on failure. */
GZ_WUR int cli_approval_parse(cli_approval *a, const json_t *j, gz_msg *msg);

/* Reads and parses the approval file at path (at most
 * CLI_APPROVAL_FILE_BYTES_MAX bytes). GZ_EIO if unreadable or too large. */
GZ_WUR int cli_approval_load(cli_approval *a, const char *path, gz_msg *msg);

/* True when a->sig is a valid signature by a->validator over what it approves. */
bool cli_approval_valid(const cli_approval *a);

/* Gathers approvals a[0..n) (names[i] names each in messages, e.g. its file):
 * they must agree with a[0] on chain_id, validators_hash, pub_key, power and
 * name ("b.json: power differs from a.json"), each signature must be valid
 * ("b.json: bad signature by <validator>"), and one validator_index may not
 * come with two different keys. Repeats of one validator_index are dropped
 * (*dropped counts them); the rest go to out sorted by validator_index.
 * Returns GZ_OK, GZ_EARG (disagreement, conflicting index), GZ_ESIG;
 * *n_out = 0 on failure. n is 1..GZ_VALIDATORS_MAX (else GZ_EARG). */
GZ_WUR int cli_approvals_gather(gz_approval out[GZ_VALIDATORS_MAX], size_t *n_out, size_t *dropped,
                                const cli_approval *a, const char *const *names, size_t n, gz_msg *msg);

#endif
