/* One error enum for all of gongzhi.
 *
 * 0 is success; every error is negative. Errors -1..-12 are exactly the result
 * codes of SPEC §6 negated, so a ledger or admission failure converts to its wire
 * code with gz_err_code(). Codes below -99 are internal failures (I/O, memory,
 * corruption) that never appear in a tx result. Outside error families (-errno,
 * libuv, RocksDB's char *err) are converted at the edge where they arise.
 *
 * Bad input from outside (a tx field, a JSON-RPC parameter, peer bytes, a
 * config file) is GZ_EARG, SPEC §6 code 12. A call that breaks its own
 * contract (a NULL pointer, a size our own code cannot produce, an object used
 * before it was opened) is GZ_EMISUSE: a bug on our side, never the sender's. */
#ifndef GZ_CORE_ERR_H
#define GZ_CORE_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define GZ_WUR __attribute__((warn_unused_result))

typedef enum gz_err {
    GZ_OK = 0,
    GZ_EENCODING = -1,     /* 1 bad encoding */
    GZ_ESIG = -2,          /* 2 bad signature */
    GZ_ECHAIN = -3,        /* 3 wrong chain */
    GZ_ENONCE = -4,        /* 4 bad nonce */
    GZ_EROLE = -5,         /* 5 unauthorized (role) */
    GZ_ENOTELIGIBLE = -6,  /* 6 not eligible */
    GZ_ENOTFOUND = -7,     /* 7 not found */
    GZ_EDUP = -8,          /* 8 duplicate / already exists */
    GZ_ELIMIT = -9,        /* 9 over a limit */
    GZ_ESTATE = -10,       /* 10 wrong state */
    GZ_EMEMPOOL = -11,     /* 11 mempool full */
    GZ_EARG = -12,         /* 12 invalid argument */

    GZ_ENOMEM = -100,      /* allocation failed */
    GZ_EIO = -101,         /* file or socket I/O failed */
    GZ_ESTORAGE = -102,    /* the storage engine reported an error */
    GZ_ECORRUPT = -103,    /* stored or received data fails its checksum or invariant */
    GZ_ECONFLICT = -104,   /* signing would conflict with what this key already signed */
    GZ_ETIMEOUT = -105,    /* a wait ran out */
    GZ_EPROTO = -106,      /* a peer or client broke the protocol */
    GZ_EUSAGE = -107,      /* bad command-line usage */
    GZ_EVERIFY = -108,     /* a proof or signature check failed */
    GZ_EMISUSE = -109,     /* our own API was called against its contract */
    GZ_ENOSPC = -110       /* the disk is full (ENOSPC, or the storage engine's "No space left") */
} gz_err;

/* Returns a static, human-readable name for err (never NULL). */
const char *gz_strerror(int err);

/* Returns the SPEC §6 result code (0..12) for err: -1..-12 map to 1..12;
 * GZ_ECORRUPT and GZ_EPROTO (bytes that do not decode) to 1; every other
 * internal error, GZ_EMISUSE included, to 12 as an internal failure. */
int gz_err_code(int err);

/* A one-line message naming the field and the reason (SPEC §6: every rejection
 * carries one). Functions that reject outside input fill it when non-NULL. */
typedef struct gz_msg {
    char text[200];
} gz_msg;

/* Formats into msg (if non-NULL) and returns err, so callers can write
 * `return gz_fail(msg, GZ_EARG, "payload.amount: must be > 0");`. */
int gz_fail(gz_msg *msg, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears msg to the empty string. */
void gz_msg_clear(gz_msg *msg);

#endif
