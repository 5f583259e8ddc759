#include "core/err.h"

#include <stdio.h>

const char *gz_strerror(int err) {
    switch (err) {
    case GZ_OK: return "ok";
    case GZ_EENCODING: return "bad encoding";
    case GZ_ESIG: return "bad signature";
    case GZ_ECHAIN: return "wrong chain";
    case GZ_ENONCE: return "bad nonce";
    case GZ_EROLE: return "unauthorized";
    case GZ_ENOTELIGIBLE: return "not eligible";
    case GZ_ENOTFOUND: return "not found";
    case GZ_EDUP: return "duplicate";
    case GZ_ELIMIT: return "over a limit";
    case GZ_ESTATE: return "wrong state";
    case GZ_EMEMPOOL: return "mempool full";
    case GZ_EARG: return "invalid argument";
    case GZ_ENOMEM: return "out of memory";
    case GZ_EIO: return "i/o error";
    case GZ_ESTORAGE: return "storage error";
    case GZ_ECORRUPT: return "corrupt data";
    case GZ_ECONFLICT: return "conflicting signature refused";
    case GZ_ETIMEOUT: return "timed out";
    case GZ_EPROTO: return "protocol violation";
    case GZ_EUSAGE: return "bad usage";
    case GZ_EVERIFY: return "verification failed";
    case GZ_EMISUSE: return "API misuse (a bug in the caller)";
    case GZ_ENOSPC: return "disk full";
    default: return "unknown error";
    }
}

int gz_err_code(int err) {
    if (err == GZ_OK) return 0;
    if (err <= -1 && err >= -12) return -err;
    if (err == GZ_ECORRUPT || err == GZ_EPROTO) return 1;
    return 12;
}

int gz_fail(gz_msg *msg, int err, const char *fmt, ...) {
    if (msg != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg->text, sizeof msg->text, fmt, ap);
        va_end(ap);
    }
    return err;
}

void gz_msg_clear(gz_msg *msg) {
    if (msg != NULL) msg->text[0] = '\0';
}
