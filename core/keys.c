/* BIP-340 keys and signatures over libsecp256k1. One context serves the whole
 * process: it is created and randomized once under pthread_once and is only read
 * afterwards, which libsecp256k1 allows from any number of threads. */
#include "core/keys.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "core/bytes.h"
#include "core/limits.h"

static secp256k1_context *g_ctx;
static pthread_once_t g_ctx_once = PTHREAD_ONCE_INIT;

/* Fills buf from the kernel's random source, retrying short reads and EINTR. */
static int random_fill(uint8_t *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return GZ_EIO;
        got += (size_t)n;
    }
    return GZ_OK;
}

static void ctx_create(void) {
    g_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    assert(g_ctx != NULL);
    /* Randomization only blinds signing against side channels; without a
     * random source the context is still correct, so a failure is tolerated. */
    uint8_t seed[32];
    if (random_fill(seed, sizeof seed) == GZ_OK) {
        int ok = secp256k1_context_randomize(g_ctx, seed);
        assert(ok == 1);
        (void)ok;
    }
    explicit_bzero(seed, sizeof seed);
}

static const secp256k1_context *ctx_get(void) {
    int rc = pthread_once(&g_ctx_once, ctx_create);
    assert(rc == 0);
    (void)rc;
    assert(g_ctx != NULL);
    return g_ctx;
}

int core_key_pub(uint8_t pub[32], const uint8_t seckey[32]) {
    const secp256k1_context *ctx = ctx_get();
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xonly;
    if (!secp256k1_keypair_create(ctx, &kp, seckey) ||
        !secp256k1_keypair_xonly_pub(ctx, &xonly, NULL, &kp) ||
        !secp256k1_xonly_pubkey_serialize(ctx, pub, &xonly)) {
        memset(pub, 0, 32);
        explicit_bzero(&kp, sizeof kp);
        return GZ_EARG;
    }
    explicit_bzero(&kp, sizeof kp);
    return GZ_OK;
}

int core_key_generate(uint8_t seckey[32]) {
    const secp256k1_context *ctx = ctx_get();
    /* A uniformly random 32-byte string is a valid key with probability
     * 1 - 2^-128; the loop is bounded anyway so a broken source cannot hang us. */
    for (int tries = 0; tries < 16; tries++) {
        if (random_fill(seckey, 32) != GZ_OK) break;
        if (secp256k1_ec_seckey_verify(ctx, seckey)) return GZ_OK;
    }
    memset(seckey, 0, 32);
    return GZ_EIO;
}

int core_sign(uint8_t sig[64], const uint8_t seckey[32], const uint8_t *msg, size_t msg_len,
              const uint8_t aux_rand[32]) {
    assert(msg != NULL || msg_len == 0);
    static const uint8_t zero_aux[32];
    const secp256k1_context *ctx = ctx_get();
    secp256k1_keypair kp;
    secp256k1_schnorrsig_extraparams extra = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
    extra.ndata = (void *)(aux_rand != NULL ? aux_rand : zero_aux);
    int ok = secp256k1_keypair_create(ctx, &kp, seckey) &&
             secp256k1_schnorrsig_sign_custom(ctx, sig, msg, msg_len, &kp, &extra);
    explicit_bzero(&kp, sizeof kp);
    if (!ok) {
        memset(sig, 0, 64);
        return GZ_EARG;
    }
    return GZ_OK;
}

int core_sign32(uint8_t sig[64], const uint8_t seckey[32], const uint8_t msg[32],
                const uint8_t aux_rand[32]) {
    return core_sign(sig, seckey, msg, 32, aux_rand);
}

/* Parsed public keys, direct-mapped by the key's first bytes. Parsing an x-only
 * key costs a field square root, about an eighth of a verification, and a
 * signer signs many txs. Only keys that parsed are kept, so a hit returns what
 * parsing would. Each slot has its stripe's lock: sigpool workers verify
 * concurrently. A crafted key can only evict another, costing a parse. */
#define PUBKEY_CACHE_SLOTS 16384u
#define PUBKEY_CACHE_STRIPES 16u

typedef struct pubkey_slot {
    uint8_t pub[32];
    secp256k1_xonly_pubkey parsed;
    bool used;
} pubkey_slot;

static pubkey_slot g_pub_cache[PUBKEY_CACHE_SLOTS];
static pthread_mutex_t g_pub_locks[PUBKEY_CACHE_STRIPES] = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
    PTHREAD_MUTEX_INITIALIZER};

static bool pubkey_parse_cached(const secp256k1_context *ctx, secp256k1_xonly_pubkey *out,
                                const uint8_t pub[32]) {
    uint32_t i = ((uint32_t)pub[0] << 16 | (uint32_t)pub[1] << 8 | pub[2]) % PUBKEY_CACHE_SLOTS;
    pubkey_slot *slot = &g_pub_cache[i];
    pthread_mutex_t *lock = &g_pub_locks[i % PUBKEY_CACHE_STRIPES];
    pthread_mutex_lock(lock);
    bool hit = slot->used && memcmp(slot->pub, pub, 32) == 0;
    if (hit) *out = slot->parsed;
    pthread_mutex_unlock(lock);
    if (hit) return true;
    if (!secp256k1_xonly_pubkey_parse(ctx, out, pub)) return false;
    pthread_mutex_lock(lock);
    memcpy(slot->pub, pub, 32);
    slot->parsed = *out;
    slot->used = true;
    pthread_mutex_unlock(lock);
    return true;
}

bool core_verify(const uint8_t sig[64], const uint8_t *msg, size_t msg_len, const uint8_t pub[32]) {
    assert(msg != NULL || msg_len == 0);
    const secp256k1_context *ctx = ctx_get();
    secp256k1_xonly_pubkey xonly;
    if (!pubkey_parse_cached(ctx, &xonly, pub)) return false;
    return secp256k1_schnorrsig_verify(ctx, sig, msg, msg_len, &xonly) == 1;
}

static int read_small_file(const char *path, char *buf, size_t cap, size_t *len, gz_msg *msg) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return gz_fail(msg, GZ_EIO, "%s: %s", path, strerror(errno));
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            return gz_fail(msg, GZ_EIO, "%s: %s", path, strerror(e));
        }
        if (n == 0) break;
        got += (size_t)n;
        if (got == cap) break;
    }
    close(fd);
    *len = got;
    return GZ_OK;
}

int core_key_load(uint8_t seckey[32], const char *path, gz_msg *msg) {
    memset(seckey, 0, 32);
    char buf[GZ_KEY_FILE_BYTES_MAX + 1];
    size_t len = 0;
    int rc = read_small_file(path, buf, GZ_KEY_FILE_BYTES_MAX, &len, msg);
    if (rc != GZ_OK) return rc;
    if (len > 0 && buf[len - 1] == '\n') len--;
    buf[len] = '\0';
    if (len != 64) {
        explicit_bzero(buf, sizeof buf);
        return gz_fail(msg, GZ_EARG, "%s: expected 64 hex chars, found %zu bytes", path, len);
    }
    rc = gz_hex_decode(seckey, 32, buf);
    explicit_bzero(buf, sizeof buf);
    if (rc != GZ_OK) return gz_fail(msg, GZ_EARG, "%s: not a hex string", path);
    if (!secp256k1_ec_seckey_verify(ctx_get(), seckey)) {
        memset(seckey, 0, 32);
        return gz_fail(msg, GZ_EARG, "%s: not a valid secp256k1 secret key", path);
    }
    return GZ_OK;
}

static int write_all(int fd, const char *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int core_key_save(const char *path, const uint8_t seckey[32], gz_msg *msg) {
    if (!secp256k1_ec_seckey_verify(ctx_get(), seckey))
        return gz_fail(msg, GZ_EARG, "%s: refusing to save an invalid secret key", path);
    /* O_EXCL makes refusing to overwrite atomic: a key is never silently lost. */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
        return gz_fail(msg, GZ_EDUP, "%s: already exists, not overwriting a key", path);
    if (fd < 0) return gz_fail(msg, GZ_EIO, "%s: %s", path, strerror(errno));
    char text[66];
    gz_hex_encode(text, seckey, 32);
    text[64] = '\n';
    int bad = fchmod(fd, 0600) != 0 || write_all(fd, text, 65) != 0 || fsync(fd) != 0;
    int e = errno;
    explicit_bzero(text, sizeof text);
    if (close(fd) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(path);
        return gz_fail(msg, GZ_EIO, "%s: %s", path, strerror(e));
    }
    return GZ_OK;
}
