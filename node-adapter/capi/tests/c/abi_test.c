/*
 * Drives libvera through vera.h exactly as a C node would, for tests/c_abi.rs.
 *
 * Usage: abi_test BACKEND INPUT OUTPUT [BLOCK...]
 *   BACKEND  0 auto, 1 cpu, 2 gpu
 *   INPUT    u32 n (little-endian), n * 32 public keys, n * 64 signatures, (n + 1) u32 message
 *            offsets, then the message bytes
 *   OUTPUT   written: n verdict codes per rule (strict, zip215, dalek), n * 32 SHA-256 digests
 *            of the messages, the RFC 6962 root of the messages as leaves (32 bytes), the Bitcoin
 *            root of the digests as txids (32 bytes) and its mutated flag (1 byte)
 *   BLOCK    serialized Bitcoin blocks: each one's check is printed, with segwit active and
 *            not, and a truncated copy must be refused
 *
 * It also checks the error paths itself, and verifies the batch from four threads at once on
 * one engine, comparing every thread's verdicts. Exit status 0 only if every check passed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vera.h"

#include <stddef.h>

/* The layout libvera's Rust side asserts too (node-adapter/capi/src/lib.rs). */
_Static_assert(sizeof(vera_block_check) == 152, "vera_block_check size");
_Static_assert(offsetof(vera_block_check, witness_root) == 96, "witness_root offset");
_Static_assert(offsetof(vera_block_check, txs) == 128, "txs offset");
_Static_assert(offsetof(vera_block_check, merkle_ok) == 144, "merkle_ok offset");
_Static_assert(offsetof(vera_block_check, mutation) == 148, "mutation offset");

static int failures = 0;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "abi_test.c:%d: check failed: %s: ", __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fprintf(stderr, "\n");                                              \
            failures++;                                                         \
        }                                                                       \
    } while (0)

struct batch {
    uint32_t n;
    uint8_t *pks, *sigs, *msgs;
    uint32_t *offsets;
};

static uint8_t *read_all(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf && fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = (size_t)size;
    return buf;
}

struct job {
    vera_engine *engine;
    const struct batch *b;
    uint8_t *verdicts;
    int rc;
};

static void *verify_job(void *arg) {
    struct job *j = arg;
    j->rc = vera_verify(j->engine, VERA_RULE_ZIP215, j->b->n, j->b->pks, j->b->sigs, j->b->msgs,
                        j->b->offsets, j->verdicts);
    return NULL;
}

/* Fails a call (unknown rule), then succeeds one: its own message each time. */
static void *error_job(void *arg) {
    struct job *j = arg;
    int bad = vera_verify(j->engine, 9, 0, NULL, NULL, NULL, NULL, NULL);
    int said = strstr(vera_last_error(), "unknown rule 9") != NULL;
    int good = vera_verify(j->engine, VERA_RULE_ZIP215, 0, NULL, NULL, NULL, NULL, NULL);
    j->rc = (bad == VERA_ERR_INVALID_ARGUMENT && said && good == VERA_OK &&
             strcmp(vera_last_error(), "") == 0) ? 0 : 1;
    return NULL;
}

static void error_paths(vera_engine *engine) {
    uint8_t pk[32] = {0}, sig[64] = {0}, out[64] = {0xee}, root[32];
    uint32_t offsets[2] = {0, 0};
    uint32_t backwards[3] = {0, 2, 1};

    CHECK(vera_verify(NULL, VERA_RULE_STRICT, 1, pk, sig, NULL, offsets, out) ==
              VERA_ERR_INVALID_ARGUMENT, "NULL engine");
    CHECK(strstr(vera_last_error(), "engine is NULL") != NULL, "message: %s", vera_last_error());
    CHECK(vera_verify(engine, 7, 1, pk, sig, NULL, offsets, out) ==
              VERA_ERR_INVALID_ARGUMENT, "rule 7");
    CHECK(strstr(vera_last_error(), "unknown rule 7") != NULL, "message: %s", vera_last_error());
    CHECK(vera_verify(engine, VERA_RULE_STRICT, 1, NULL, sig, NULL, offsets, out) ==
              VERA_ERR_INVALID_ARGUMENT, "NULL keys");
    CHECK(vera_verify(engine, VERA_RULE_STRICT, 1, pk, sig, NULL, offsets, NULL) ==
              VERA_ERR_INVALID_ARGUMENT, "NULL verdicts");
    CHECK(vera_sha256(engine, 2, (const uint8_t *)"ab", backwards, out) ==
              VERA_ERR_INVALID_ARGUMENT, "decreasing offsets");
    CHECK(strstr(vera_last_error(), "offsets") != NULL, "message: %s", vera_last_error());
    CHECK(out[0] == 0xee, "outputs are untouched on error");
    CHECK(vera_sha256(engine, 1, (const uint8_t *)"ab", NULL, out) == VERA_ERR_INVALID_ARGUMENT,
          "n > 0, NULL offsets");
    CHECK(strstr(vera_last_error(), "offsets are NULL") != NULL, "message: %s", vera_last_error());
    uint32_t words[3] = {0, 0, 0};
    CHECK(vera_sha256(engine, 1, (const uint8_t *)"ab", (const uint32_t *)((uint8_t *)words + 1),
                      out) == VERA_ERR_INVALID_ARGUMENT, "misaligned offsets");
    CHECK(strstr(vera_last_error(), "aligned") != NULL, "message: %s", vera_last_error());
    CHECK(vera_verify(engine, VERA_RULE_STRICT, SIZE_MAX / 2, pk, sig, NULL, offsets, out) ==
              VERA_ERR_INVALID_ARGUMENT, "absurd n");
    uint64_t too_long = ((uint64_t)1 << 24) + 1, one = 1;
    CHECK(vera_hash_chains(engine, 1, pk, &too_long, NULL, NULL, out) ==
              VERA_ERR_INVALID_ARGUMENT, "a chain past 2^24 hashes");
    CHECK(strstr(vera_last_error(), "hashes in one chain") != NULL, "message: %s",
          vera_last_error());
    CHECK(vera_hash_chains(engine, 1, pk, &one, pk, NULL, out) == VERA_ERR_INVALID_ARGUMENT,
          "mixins without has_mixin");
    CHECK(out[0] == 0xee, "outputs are untouched on error");
    uint32_t two[2] = {0, 2};
    CHECK(vera_sha256(engine, 1, NULL, two, out) == VERA_ERR_INVALID_ARGUMENT,
          "NULL bytes for 2 bytes of message");
    /* A 31-byte Bitcoin leaf: the engine refuses it after reading everything; the root buffer
       keeps every byte it had. */
    uint8_t leaf[31] = {0};
    uint32_t leaf_offsets[2] = {0, 31};
    memset(root, 0xee, sizeof root);
    CHECK(vera_merkle_root(engine, VERA_SCHEME_BITCOIN, 1, leaf, leaf_offsets, root, NULL) ==
              VERA_ERR_INVALID_ARGUMENT, "31-byte txid");
    CHECK(strstr(vera_last_error(), "32-byte") != NULL, "message: %s", vera_last_error());
    int untouched = 1;
    for (size_t i = 0; i < sizeof root; i++) untouched &= root[i] == 0xee;
    CHECK(untouched, "the root is untouched on error");
    CHECK(vera_merkle_root(engine, 5, 1, leaf, leaf_offsets, root, NULL) ==
              VERA_ERR_INVALID_ARGUMENT, "scheme 5");
    CHECK(strstr(vera_last_error(), "unknown scheme 5") != NULL, "message: %s", vera_last_error());
    CHECK(vera_merkle_root(engine, VERA_SCHEME_RFC6962, 1, leaf, leaf_offsets, NULL, NULL) ==
              VERA_ERR_INVALID_ARGUMENT, "NULL root");
    vera_engine *none = (vera_engine *)1;
    CHECK(vera_engine_new(9, 0, &none) == VERA_ERR_INVALID_ARGUMENT, "backend 9");
    CHECK(none == (vera_engine *)1, "out is untouched on error");
    CHECK(vera_engine_new(VERA_BACKEND_CPU, 0, NULL) == VERA_ERR_INVALID_ARGUMENT, "NULL out");
    CHECK(vera_engine_new(VERA_BACKEND_CPU, 100000, &none) == VERA_ERR_INVALID_ARGUMENT,
          "100,000 threads");
    CHECK(strstr(vera_last_error(), "at most 4096") != NULL, "message: %s", vera_last_error());

    /* Hashing 32-byte messages in place: the digests overwrite their own messages. */
    uint8_t buf[64], want[64];
    for (int i = 0; i < 64; i++) buf[i] = (uint8_t)i;
    uint32_t halves[3] = {0, 32, 64};
    CHECK(vera_sha256(engine, 2, buf, halves, want) == VERA_OK, "hash: %s", vera_last_error());
    CHECK(vera_sha256(engine, 2, buf, halves, buf) == VERA_OK, "in place: %s", vera_last_error());
    CHECK(memcmp(buf, want, 64) == 0, "in-place digests");

    /* Errors are per thread: another thread's failure and success leave this one's alone. */
    CHECK(vera_verify(NULL, VERA_RULE_STRICT, 0, NULL, NULL, NULL, NULL, NULL) ==
              VERA_ERR_INVALID_ARGUMENT, "NULL engine again");
    pthread_t other;
    struct job j = {engine, NULL, NULL, -1};
    pthread_create(&other, NULL, error_job, &j);
    pthread_join(other, NULL);
    CHECK(j.rc == 0, "the other thread saw its own errors");
    CHECK(strstr(vera_last_error(), "engine is NULL") != NULL, "still ours: %s",
          vera_last_error());

    /* A success clears the thread's error; empty batches are fine with NULL arrays. */
    CHECK(vera_verify(engine, VERA_RULE_DALEK, 0, NULL, NULL, NULL, NULL, NULL) == VERA_OK,
          "empty batch: %s", vera_last_error());
    CHECK(strcmp(vera_last_error(), "") == 0, "error cleared: %s", vera_last_error());
    /* The empty RFC 6962 tree is SHA-256 of nothing. */
    CHECK(vera_merkle_root(engine, VERA_SCHEME_RFC6962, 0, NULL, NULL, root, NULL) == VERA_OK,
          "empty tree");
    CHECK(root[0] == 0xe3 && root[31] == 0x55, "empty tree root");

    /* The all-zero key and signature: A and R of order 4, S = 0. Only zip215 accepts. */
    uint8_t v = 0xee;
    CHECK(vera_verify(engine, VERA_RULE_STRICT, 1, pk, sig, NULL, offsets, &v) == VERA_OK, "x");
    CHECK(v == VERA_INVALID_SMALL_ORDER_PUBLIC_KEY, "strict: %s", vera_verdict_str(v));
    CHECK(vera_verify(engine, VERA_RULE_ZIP215, 1, pk, sig, NULL, offsets, &v) == VERA_OK, "x");
    CHECK(v == VERA_VALID, "zip215: %s", vera_verdict_str(v));
    CHECK(strcmp(vera_verdict_str(VERA_INVALID_EQUATION), "equation") == 0, "verdict names");
    CHECK(strcmp(vera_verdict_str(77), "unknown") == 0, "unknown verdict name");
}

/* The batcher: 16 threads, each verifying its share of the batch one signature at a time,
   must get vera_verify's zip215 verdicts; and concurrent calls must share batches. */
#define BATCH_THREADS 16

struct batch_job {
    vera_batcher *batcher;
    const struct batch *b;
    uint32_t first;
    uint8_t *verdicts;
    int rc;
};

static void *batch_job_run(void *arg) {
    struct batch_job *j = arg;
    j->rc = VERA_OK;
    for (uint32_t i = j->first; i < j->b->n && j->rc == VERA_OK; i += BATCH_THREADS) {
        const uint8_t *msg = j->b->msgs + j->b->offsets[i];
        size_t len = j->b->offsets[i + 1] - j->b->offsets[i];
        j->rc = vera_batcher_verify(j->batcher, VERA_RULE_ZIP215, j->b->pks + 32 * (size_t)i, msg,
                                    len, j->b->sigs + 64 * (size_t)i, &j->verdicts[i]);
    }
    return NULL;
}

static void batcher_checks(vera_engine *engine, const struct batch *b, const uint8_t *zip215) {
    vera_batcher *batcher = NULL;
    CHECK(vera_batcher_new(engine, 0, 1000000 + 1, &batcher) == VERA_ERR_INVALID_ARGUMENT,
          "delay over 1 s");
    CHECK(vera_batcher_new(NULL, 0, 0, &batcher) == VERA_ERR_INVALID_ARGUMENT, "NULL engine");
    /* 2 ms of patience: calls from the other threads join the batch. */
    int rc = vera_batcher_new(engine, 0, 2000, &batcher);
    CHECK(rc == VERA_OK, "vera_batcher_new: %s", vera_last_error());
    if (rc != VERA_OK) return;

    uint8_t *verdicts = calloc(b->n ? b->n : 1, 1);
    struct batch_job jobs[BATCH_THREADS];
    pthread_t threads[BATCH_THREADS];
    for (uint32_t t = 0; t < BATCH_THREADS; t++) {
        jobs[t] = (struct batch_job){batcher, b, t, verdicts, -1};
        pthread_create(&threads[t], NULL, batch_job_run, &jobs[t]);
    }
    for (int t = 0; t < BATCH_THREADS; t++) {
        pthread_join(threads[t], NULL);
        CHECK(jobs[t].rc == VERA_OK, "batcher thread %d: %s", t, vera_last_error());
    }
    CHECK(memcmp(verdicts, zip215, b->n) == 0, "the batcher's verdicts are vera_verify's");
    free(verdicts);

    uint8_t digest[32], want[32];
    uint32_t abc[2] = {0, 3};
    CHECK(vera_batcher_sha256(batcher, (const uint8_t *)"abc", 3, digest) == VERA_OK, "sha256");
    CHECK(vera_sha256(engine, 1, (const uint8_t *)"abc", abc, want) == VERA_OK, "sha256");
    CHECK(memcmp(digest, want, 32) == 0, "the batcher's digest");
    uint8_t v = 0xee;
    CHECK(vera_batcher_verify(batcher, 3, digest, NULL, 0, want, &v) == VERA_ERR_INVALID_ARGUMENT,
          "rule 3");
    CHECK(vera_batcher_verify(batcher, VERA_RULE_STRICT, NULL, NULL, 0, want, &v) ==
              VERA_ERR_INVALID_ARGUMENT, "NULL key");
    CHECK(v == 0xee, "verdict untouched on error");

    /* Every verification went through the zip215 lane, in fewer batches than items. */
    size_t need = vera_batcher_metrics(batcher, NULL, 0);
    char *text = malloc(need + 1);
    CHECK(vera_batcher_metrics(batcher, text, need + 1) == need, "metrics length");
    char small[8];
    vera_batcher_metrics(batcher, small, sizeof small);
    CHECK(strlen(small) == sizeof small - 1, "truncated, NUL-terminated");
    const char *items_key = "vera_items_total{lane=\"verify-zip215\"} ";
    const char *batches_key = "vera_batch_size_count{lane=\"verify-zip215\"} ";
    const char *items = strstr(text, items_key), *batches = strstr(text, batches_key);
    CHECK(items && batches, "metrics name the zip215 lane:\n%s", text);
    if (items && batches) {
        long n_items = atol(items + strlen(items_key));
        long n_batches = atol(batches + strlen(batches_key));
        CHECK(n_items == (long)b->n, "items %ld of %u", n_items, b->n);
        CHECK(n_batches > 0 && n_batches < n_items / 2, "%ld batches for %ld items", n_batches,
              n_items);
        printf("batcher: %ld signatures in %ld batches\n", n_items, n_batches);
    }
    free(text);
    vera_batcher_free(batcher);
    vera_batcher_free(NULL);
}

/* An spl-token transfer from Solana mainnet (provenance in tests/chains.rs). */
static const char *SOLANA_TX =
    "0192375e20c0095d2a5a4b5b5900e4c8149876abd749340646f5698aa28116214dd3ddc8eb94a231842dc0ca5bf3ead"
    "79714afc38d657dc0525f5b52b49d845e030100020594c3890fa8d4bc04ab2a676d2cafea5cdc899ecd95a9cbe593e9"
    "df258759685ac45358bf73b2c596739d02afc1f9cd1da7b8755f91fc4a7a860a0810c04794e22544558bb05c2698f88"
    "852a7925c5c0ee5ea8711ddb3fe1262150283eee81163068310861a98327d0550574d84418aa6e10c3352ddaa7fd7f58"
    "152cceeb2388706ddf6e1d765a193d9cbe146ceeb79ac1cb485ed5f5b37913a8cf5857eff00a9a8f76432ee9bf7af10"
    "63ea2d8b7e5a3eec2a5a01cd67aba11a5978c1a403b065010404010302000a0ca00f00000000000006";

static size_t unhex(const char *hex, uint8_t *out) {
    size_t n = strlen(hex) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
    return n;
}

/* Inclusion proofs in a two-leaf RFC 6962 tree over "a" and "b", its leaf hashes and root
   from vera itself: both proofs valid, then a wrong index, an index past the end and a path
   too short. Prints the five codes. */
static void proof_checks(vera_engine *engine) {
    uint8_t prefixed[4] = {0, 'a', 0, 'b'};
    uint32_t halves[3] = {0, 2, 4};
    uint8_t leaf[2][32], root[32];
    CHECK(vera_sha256(engine, 2, prefixed, halves, &leaf[0][0]) == VERA_OK, "leaf hashes");
    uint32_t data_offsets[3] = {0, 1, 2};
    CHECK(vera_merkle_root(engine, VERA_SCHEME_RFC6962, 2, (const uint8_t *)"ab", data_offsets,
                           root, NULL) == VERA_OK, "root: %s", vera_last_error());
    uint8_t leaves[5][32], roots[5][32], path[5][32];
    uint64_t indexes[5] = {0, 1, 1, 2, 0}, sizes[5] = {2, 2, 2, 2, 2};
    uint32_t offsets[6] = {0, 1, 2, 3, 4, 4};
    for (int i = 0; i < 5; i++) {
        memcpy(leaves[i], leaf[i == 1], 32);
        memcpy(path[i], leaf[i != 1], 32);
        memcpy(roots[i], root, 32);
    }
    uint8_t codes[5];
    memset(codes, 0xee, sizeof codes);
    int rc = vera_verify_proofs(engine, VERA_SCHEME_RFC6962, 5, &leaves[0][0], indexes, sizes,
                                &roots[0][0], &path[0][0], offsets, codes);
    CHECK(rc == VERA_OK, "proofs: %s", vera_last_error());
    printf("proofs: %u %u %u %u %u\n", codes[0], codes[1], codes[2], codes[3], codes[4]);
    uint64_t words[3] = {0, 2, 0};
    memset(codes, 0xee, sizeof codes);
    CHECK(vera_verify_proofs(engine, VERA_SCHEME_RFC6962, 1, &leaves[0][0],
                             (const uint64_t *)((uint8_t *)words + 4), sizes, &roots[0][0],
                             &path[0][0], offsets, codes) == VERA_ERR_INVALID_ARGUMENT,
          "misaligned indexes");
    CHECK(strstr(vera_last_error(), "aligned") != NULL, "message: %s", vera_last_error());
    CHECK(vera_verify_proofs(engine, 7, 1, &leaves[0][0], indexes, sizes, &roots[0][0],
                             &path[0][0], offsets, codes) == VERA_ERR_INVALID_ARGUMENT,
          "scheme 7");
    CHECK(vera_verify_proofs(engine, VERA_SCHEME_BITCOIN, 1, NULL, indexes, sizes, &roots[0][0],
                             &path[0][0], offsets, codes) == VERA_ERR_INVALID_ARGUMENT,
          "NULL leaves");
    CHECK(codes[0] == 0xee, "verdicts untouched on error");
    CHECK(vera_verify_proofs(engine, VERA_SCHEME_BITCOIN, 0, NULL, NULL, NULL, NULL, NULL, NULL,
                             NULL) == VERA_OK, "an empty batch: %s", vera_last_error());
}

/* Four transactions in one call: the real one (valid), the same with its last byte changed
   (the signature fails: equation), one byte (malformed), and an all-zero signer (a small-order
   key, which the strict rule refuses). */
static void solana_checks(vera_engine *engine) {
    uint8_t txs[1024];
    memset(txs, 0, sizeof txs);
    size_t real = unhex(SOLANA_TX, txs);
    memcpy(txs + real, txs, real);
    txs[2 * real - 1] ^= 1;
    txs[2 * real] = 1;
    uint8_t *zero = txs + 2 * real + 1;
    size_t zero_len = 1 + 64 + 3 + 1 + 32 + 32 + 1 + 3;
    zero[0] = 1;   /* one signature, all zero */
    zero[65] = 1;  /* header: one required signature */
    zero[68] = 1;  /* one account key, all zero; then a zero blockhash */
    zero[133] = 1; /* one instruction: program 0, no accounts, no data */
    uint32_t offsets[5] = {0, (uint32_t)real, (uint32_t)(2 * real), (uint32_t)(2 * real + 1),
                           (uint32_t)(2 * real + 1 + zero_len)};
    uint8_t statuses[4] = {0xee, 0xee, 0xee, 0xee};
    int rc = vera_solana_verify_txs(engine, 4, txs, offsets, statuses);
    CHECK(rc == VERA_OK, "solana: %s", vera_last_error());
    CHECK(statuses[0] == VERA_VALID, "real: %s", vera_verdict_str(statuses[0]));
    CHECK(statuses[1] == VERA_INVALID_EQUATION, "changed: %s", vera_verdict_str(statuses[1]));
    CHECK(statuses[2] == VERA_TX_MALFORMED, "one byte: %u", statuses[2]);
    CHECK(statuses[3] == VERA_INVALID_SMALL_ORDER_PUBLIC_KEY, "zero signer: %s",
          vera_verdict_str(statuses[3]));
    printf("solana: %u %u %u %u\n", statuses[0], statuses[1], statuses[2], statuses[3]);
}

static void block_checks(vera_engine *engine, const char *path) {
    size_t len;
    uint8_t *raw = read_all(path, &len);
    CHECK(raw != NULL, "cannot read %s", path);
    if (!raw) return;
    vera_block_check c;
    memset(&c, 0xee, sizeof c);
    int rc = vera_bitcoin_check_block(engine, raw, len, 1, &c);
    CHECK(rc == VERA_OK, "check block: %s", vera_last_error());
    CHECK(memcmp(c.merkle_root, c.header_merkle_root, 32) == 0, "the header's root");
    CHECK(memcmp(c.header_merkle_root, raw + 36, 32) == 0, "header_merkle_root is the header's");
    printf("block: txs=%llu segwit=%llu merkle_ok=%u mutated=%u coinbase=%u witness=%u "
           "mutation=%u hash=",
           (unsigned long long)c.txs, (unsigned long long)c.segwit_txs, c.merkle_ok, c.mutated,
           c.coinbase, c.witness_commitment, c.mutation);
    for (int i = 31; i >= 0; i--) printf("%02x", c.block_hash[i]);
    printf(" root=");
    for (int i = 0; i < 32; i++) printf("%02x", c.merkle_root[i]);
    printf(" witness_root=");
    for (int i = 0; i < 32; i++) printf("%02x", c.witness_root[i]);
    printf("\n");
    /* The same block where segwit is not active: its witnesses are unexpected. */
    rc = vera_bitcoin_check_block(engine, raw, len, 0, &c);
    CHECK(rc == VERA_OK, "check block before segwit: %s", vera_last_error());
    printf("before segwit: mutation=%u\n", c.mutation);
    vera_block_check before;
    memset(&before, 0x5a, sizeof before);
    memcpy(&c, &before, sizeof c);
    CHECK(vera_bitcoin_check_block(engine, raw, len - 1, 1, &c) == VERA_ERR_INVALID_ARGUMENT,
          "a truncated block");
    CHECK(strstr(vera_last_error(), "truncated") != NULL, "message: %s", vera_last_error());
    CHECK(memcmp(&c, &before, sizeof c) == 0, "out untouched on error");
    CHECK(vera_bitcoin_check_block(engine, raw, len, 1, NULL) == VERA_ERR_INVALID_ARGUMENT,
          "NULL out");
    free(raw);
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: abi_test BACKEND INPUT OUTPUT [BLOCK...]\n");
        return 2;
    }
    size_t len;
    uint8_t *in = read_all(argv[2], &len);
    if (!in || len < 4) {
        fprintf(stderr, "cannot read %s\n", argv[2]);
        return 2;
    }
    struct batch b;
    memcpy(&b.n, in, 4);
    size_t at = 4;
    b.pks = in + at;
    at += (size_t)b.n * 32;
    b.sigs = in + at;
    at += (size_t)b.n * 64;
    b.offsets = malloc(((size_t)b.n + 1) * 4);
    memcpy(b.offsets, in + at, ((size_t)b.n + 1) * 4);
    at += ((size_t)b.n + 1) * 4;
    b.msgs = in + at;
    if (at + b.offsets[b.n] != len) {
        fprintf(stderr, "malformed input\n");
        return 2;
    }

    printf("libvera %s\n", vera_version());
    vera_engine *engine = NULL;
    int rc = vera_engine_new(atoi(argv[1]), 0, &engine);
    if (rc != VERA_OK) {
        fprintf(stderr, "vera_engine_new: %d: %s\n", rc, vera_last_error());
        return 1;
    }
    printf("has gpu: %d\n", vera_engine_has_gpu(engine));
    error_paths(engine);

    size_t out_len = 3 * (size_t)b.n + 64 * (size_t)b.n + 32 + 32 + 1 + 32 * (size_t)b.n;
    uint8_t *out = calloc(out_len, 1), *o = out;
    for (int rule = 0; rule < 3; rule++) {
        rc = vera_verify(engine, rule, b.n, b.pks, b.sigs, b.msgs, b.offsets, o);
        CHECK(rc == VERA_OK, "verify rule %d: %s", rule, vera_last_error());
        o += b.n;
    }
    uint8_t *digests = o;
    rc = vera_sha256(engine, b.n, b.msgs, b.offsets, digests);
    CHECK(rc == VERA_OK, "sha256: %s", vera_last_error());
    o += 32 * (size_t)b.n;
    rc = vera_sha256d(engine, b.n, b.msgs, b.offsets, o);
    CHECK(rc == VERA_OK, "sha256d: %s", vera_last_error());
    o += 32 * (size_t)b.n;
    rc = vera_merkle_root(engine, VERA_SCHEME_RFC6962, b.n, b.msgs, b.offsets, o, NULL);
    CHECK(rc == VERA_OK, "rfc6962: %s", vera_last_error());
    o += 32;
    uint32_t *txid_offsets = malloc(((size_t)b.n + 1) * 4);
    for (uint32_t i = 0; i <= b.n; i++) txid_offsets[i] = 32 * i;
    o[32] = 0xee;
    rc = vera_merkle_root(engine, VERA_SCHEME_BITCOIN, b.n, digests, txid_offsets, o, o + 32);
    CHECK(rc == VERA_OK, "bitcoin: %s", vera_last_error());
    o += 33;

    /* Hash chains from the digests: i % 5 hashes, and every odd chain mixes in its sha256d. */
    uint64_t *chain_hashes = malloc(((size_t)b.n + 1) * 8);
    uint8_t *has_mixin = malloc((size_t)b.n + 1);
    for (uint32_t i = 0; i < b.n; i++) {
        chain_hashes[i] = i % 5;
        has_mixin[i] = (uint8_t)(i % 2);
    }
    rc = vera_hash_chains(engine, b.n, digests, chain_hashes, digests + 32 * (size_t)b.n,
                          has_mixin, o);
    CHECK(rc == VERA_OK, "hash chains: %s", vera_last_error());
    free(chain_hashes);
    free(has_mixin);

    /* Four threads, one engine, the same batch: the same verdicts as the call above. */
    struct job jobs[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (struct job){engine, &b, malloc(b.n ? b.n : 1), -1};
        pthread_create(&threads[t], NULL, verify_job, &jobs[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK(jobs[t].rc == VERA_OK, "thread %d", t);
        CHECK(memcmp(jobs[t].verdicts, out + b.n, b.n) == 0, "thread %d's verdicts", t);
        free(jobs[t].verdicts);
    }
    batcher_checks(engine, &b, out + b.n);
    for (int i = 4; i < argc; i++) block_checks(engine, argv[i]);
    solana_checks(engine);
    proof_checks(engine);
    vera_engine_free(engine);
    vera_engine_free(NULL);

    FILE *f = fopen(argv[3], "wb");
    if (!f || fwrite(out, 1, out_len, f) != out_len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", argv[3]);
        return 2;
    }
    free(out);
    free(txid_offsets);
    free(b.offsets);
    free(in);
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    printf("all checks passed\n");
    return 0;
}
