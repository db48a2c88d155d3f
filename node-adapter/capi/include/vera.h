/*
 * vera.h: the C ABI of vera, batch SHA-256, Merkle roots and Ed25519 verification on the GPU
 * or on every CPU core, with exactly the verdicts of the reference implementations.
 *
 * Link with -lvera (libvera.so, libvera.dylib or vera.dll; or libvera.a plus -lpthread -ldl -lm
 * on Linux). Build it with `cargo build --release -p vera-capi`; the files land in
 * target/release/.
 *
 * Conventions
 * - Batches are columnar, as the engine and the GPU take them, so nothing is copied on the way
 *   in: fixed-size fields (public keys, signatures, digests) are arrays of n * size bytes, and
 *   variable-length messages are one byte buffer plus n + 1 offsets: message i is
 *   bytes[offsets[i] .. offsets[i + 1]]. Offsets must not decrease; the buffer must hold at
 *   least offsets[n] bytes. All messages of one call together stay below 4 GiB.
 * - Every function returns VERA_OK or an error code; after an error, vera_last_error() says
 *   what went wrong. An invalid signature is not an error: it is a verdict.
 * - Results are always in input order. Output buffers are written only on VERA_OK.
 * - When n is 0, array pointers may be NULL.
 * - Inputs must not change during a call. Outputs are written after the inputs have been read,
 *   so an output may overlap an input (e.g. hashing 32-byte messages in place).
 * - A vera_engine may be used from many threads at once; calls block until their batch is
 *   done. Batch sizes of 64 and more are where the GPU helps; the engine routes each batch to
 *   the CPU, the GPU or both by costs measured on this machine.
 * - No function panics or aborts on any input; an internal failure is VERA_ERR_INTERNAL.
 * - Errors are kept per OS thread. From Go, a goroutine can move to another thread between two
 *   cgo calls: wrap a call and its vera_last_error() in runtime.LockOSThread() /
 *   runtime.UnlockOSThread().
 * - An engine with a GPU measures this machine's CPU/GPU crossover once and caches it in
 *   calibration.json in vera's cache folder ($XDG_CACHE_HOME/vera, ~/.cache/vera, or
 *   %LOCALAPPDATA%\vera; VERA_CALIBRATION_FILE overrides the path), as does its pipeline cache;
 *   VERA_ALLOW_SOFTWARE_GPU=1 lets VERA_BACKEND_AUTO use a software adapter (lavapipe).
 *
 * Rules, schemes and backends are passed as int (the values of the enums below), so that the
 * ABI does not depend on the compiler's choice of enum size.
 *
 * Before 1.0 the ABI may change between versions (0.1 changed vera_block_check and
 * vera_bitcoin_check_block): build against the vera.h that comes with the library, and check
 * vera_version() at start-up.
 */
#ifndef VERA_H
#define VERA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return codes. */
#define VERA_OK 0
/* A NULL pointer where data is needed, an unknown enum value, bad offsets, a batch too large. */
#define VERA_ERR_INVALID_ARGUMENT 1
/* The requested backend does not exist here (e.g. VERA_BACKEND_GPU without a usable GPU). */
#define VERA_ERR_BACKEND_UNAVAILABLE 2
/* The engine failed to carry out the batch (e.g. a GPU failure on a GPU-only engine). */
#define VERA_ERR_ENGINE 3
/* A bug in vera, caught at the boundary. Please report it with vera_last_error(). */
#define VERA_ERR_INTERNAL 4

/* Ed25519 verification rules. There is no default: rules disagree on hostile signatures. */
typedef enum vera_rule {
    /* ed25519-dalek verify_strict (Solana, Aptos; libsodium's verdicts, as Cardano's). */
    VERA_RULE_STRICT = 0,
    /* ZIP-215, ed25519-consensus (Zcash, CometBFT, Cosmos, Sui). */
    VERA_RULE_ZIP215 = 1,
    /* ed25519-dalek verify (RFC 8032 style). */
    VERA_RULE_DALEK = 2
} vera_rule;

/* Merkle tree schemes. */
typedef enum vera_scheme {
    /* RFC 6962 (Certificate Transparency, CometBFT): leaves are data, hashed as
       SHA-256(0x00 || data). */
    VERA_SCHEME_RFC6962 = 0,
    /* Bitcoin: leaves are 32-byte txids in internal byte order; the root is in that order. */
    VERA_SCHEME_BITCOIN = 1
} vera_scheme;

/* Backends. */
typedef enum vera_backend {
    /* A hardware GPU where there is one (routed by measured costs), else the CPU. */
    VERA_BACKEND_AUTO = 0,
    /* Every CPU core. */
    VERA_BACKEND_CPU = 1,
    /* The GPU; vera_engine_new fails when there is no usable adapter. */
    VERA_BACKEND_GPU = 2
} vera_backend;

/* Verdict codes written by vera_verify, one byte per signature. */
#define VERA_VALID 0
#define VERA_INVALID_NON_CANONICAL_S 1
#define VERA_INVALID_PUBLIC_KEY 2
#define VERA_INVALID_SMALL_ORDER_PUBLIC_KEY 3
#define VERA_INVALID_R 4
#define VERA_INVALID_SMALL_ORDER_R 5
#define VERA_INVALID_EQUATION 6
/* Invalid for a reason this header predates; treat as invalid. */
#define VERA_INVALID_OTHER 255

typedef struct vera_engine vera_engine;

/* vera's version, e.g. "0.1.0". Static; never free it. */
const char *vera_version(void);

/* The message of the last error on the calling thread ("" if none). Valid until the next vera
   call on this thread; never free it. */
const char *vera_last_error(void);

/* The name of a verdict code, e.g. "valid", "equation", "small-order-r" (the reason strings of
   `vera verify`). Static; "unknown" for codes not listed above. */
const char *vera_verdict_str(uint8_t code);

/* Creates an engine: backend is a vera_backend; threads: CPU worker threads, 0 for one per core
   (at most 4,096). On VERA_OK, *out holds the
   engine; free it with vera_engine_free. Creating an engine with a GPU takes a while (adapter,
   pipelines, and on first use a calibration of this machine): create one and keep it. */
int vera_engine_new(int backend, uint32_t threads, vera_engine **out);

/* Frees an engine (NULL is allowed). No call on it may be running or follow. */
void vera_engine_free(vera_engine *engine);

/* 1 when the engine has a GPU, 0 when it runs on the CPU alone. */
int vera_engine_has_gpu(const vera_engine *engine);

/* Verifies n signatures under rule (a vera_rule): public_keys is n * 32 bytes, signatures n * 64 bytes (R || S),
   messages as described above. Writes one verdict code per signature to verdicts[0 .. n]. */
int vera_verify(const vera_engine *engine, int rule, size_t n,
                const uint8_t *public_keys, const uint8_t *signatures,
                const uint8_t *msg_bytes, const uint32_t *msg_offsets,
                uint8_t *verdicts);

/* SHA-256 of n messages; writes n * 32 bytes to digests. */
int vera_sha256(const vera_engine *engine, size_t n,
                const uint8_t *msg_bytes, const uint32_t *msg_offsets,
                uint8_t *digests);

/* Double SHA-256, SHA-256(SHA-256(m)), of n messages (Bitcoin's txids, wtxids and block
   hashes, in internal byte order); writes n * 32 bytes to digests. */
int vera_sha256d(const vera_engine *engine, size_t n,
                 const uint8_t *msg_bytes, const uint32_t *msg_offsets,
                 uint8_t *digests);

/* The Merkle root of n leaves under scheme, a vera_scheme (for VERA_SCHEME_BITCOIN every leaf must be 32
   bytes). Writes 32 bytes to root. For Bitcoin, *mutated is set to 1 when two identical
   siblings were hashed together (CVE-2012-2459: such a block must be rejected), else 0; it may
   be NULL, and is set to 0 for RFC 6962. */
int vera_merkle_root(const vera_engine *engine, int scheme, size_t n,
                     const uint8_t *leaf_bytes, const uint32_t *leaf_offsets,
                     uint8_t *root, uint8_t *mutated);

/* Verdicts of vera_verify_proofs. */
#define VERA_PROOF_VALID 0
#define VERA_PROOF_INDEX_OUT_OF_RANGE 1 /* the index is not below the tree size */
#define VERA_PROOF_LENGTH 2             /* the path has the wrong length for index and size */
#define VERA_PROOF_ROOT_MISMATCH 3      /* the path leads to another root */
/* A code above these is a reason added by a later vera: the proof is not valid. */

/* Checks n Merkle inclusion proofs under scheme (a vera_scheme) and writes one VERA_PROOF_*
   code per proof to verdicts[0 .. n]. Proof i: the leaf leaves[32 i ..] (the RFC 6962 leaf hash
   SHA-256(0x00 || data), or a Bitcoin txid in internal byte order), its index indexes[i] in a
   tree of sizes[i] leaves, the sibling hashes from the leaf up, path_hashes[32 path_offsets[i]
   .. 32 path_offsets[i + 1]], and the root roots[32 i ..]. RFC 6962 follows RFC 9162's
   verification algorithm; Bitcoin folds the branch as Bitcoin Core's
   ComputeMerkleRootFromBranch, the branch as long as the tree is deep. indexes and sizes must
   be 8-byte aligned, path_offsets 4-byte aligned and non-decreasing; path_hashes may be NULL
   when path_offsets[n] is 0. For Bitcoin, take sizes from a source you trust (the block's
   transaction count): the depth check is what keeps a 64-byte transaction from passing for an
   inner node (CVE-2017-12842). */
int vera_verify_proofs(const vera_engine *engine, int scheme, size_t n,
                       const uint8_t *leaves, const uint64_t *indexes, const uint64_t *sizes,
                       const uint8_t *roots, const uint8_t *path_hashes,
                       const uint32_t *path_offsets, uint8_t *verdicts);

/* Hash chains (proof of history): chain i starts from starts[32 i ..], applies h = SHA-256(h)
   hashes[i] times, then, when mixins is given and has_mixin[i] is not 0, h = SHA-256(h ||
   mixin) with the 32 bytes at mixins[32 i ..]; its end is written to ends[32 i ..]. mixins and
   has_mixin are both NULL (no mixins) or both given. hashes must be 8-byte aligned; at most
   2^24 hashes a chain and 2^32 in all (else VERA_ERR_INVALID_ARGUMENT). A Solana entry of
   num_hashes hashes: a tick is hashes = num_hashes and no mixin; an entry of transactions is
   hashes = num_hashes - 1 (0 when num_hashes is 0) and the mixin its transactions' hash. */
int vera_hash_chains(const vera_engine *engine, size_t n, const uint8_t *starts,
                     const uint64_t *hashes, const uint8_t *mixins, const uint8_t *has_mixin,
                     uint8_t *ends);

/* vera_block_check.witness_commitment: the block's BIP141 witness commitment. */
#define VERA_WITNESS_ABSENT 0             /* the coinbase has no commitment output */
#define VERA_WITNESS_MATCH 1              /* it matches the wtxids and the reserved value */
#define VERA_WITNESS_MISMATCH 2           /* it does not */
#define VERA_WITNESS_BAD_RESERVED_VALUE 3 /* the coinbase's witness is not one 32-byte item */

/* vera_block_check.mutation: why the block is not the one its header commits to (Bitcoin
   Core's IsBlockMutated), with Core's reject reason; 0 when it is. */
#define VERA_MUTATION_NONE 0
#define VERA_MUTATION_MERKLE_ROOT 1             /* bad-txnmrklroot */
#define VERA_MUTATION_DUPLICATE_TXS 2           /* bad-txns-duplicate (CVE-2012-2459) */
#define VERA_MUTATION_64_BYTE_TX 3              /* no coinbase first, a 64-byte transaction */
#define VERA_MUTATION_WITNESS_RESERVED_VALUE 4  /* bad-witness-nonce-size */
#define VERA_MUTATION_WITNESS_MERKLE_ROOT 5     /* bad-witness-merkle-match */
#define VERA_MUTATION_UNEXPECTED_WITNESS 6      /* unexpected-witness */
/* A code above these is a reason added by a later vera: a mutation all the same. */

/* A Bitcoin block's check (see vera_bitcoin_check_block). Hashes are in internal byte order, as
   in the header (explorers show block hashes reversed). */
typedef struct vera_block_check {
    uint8_t block_hash[32];
    uint8_t merkle_root[32];        /* of the txids, computed */
    uint8_t header_merkle_root[32]; /* the header's */
    uint8_t witness_root[32];       /* of the wtxids: set when witness_commitment is MATCH or
                                       MISMATCH (a commitment and a 32-byte reserved value),
                                       whatever segwit_active; else 0 */
    uint64_t txs;
    uint64_t segwit_txs;
    uint8_t merkle_ok;              /* 1: the roots match and the tree is not mutated */
    uint8_t mutated;                /* 1: identical siblings were hashed (CVE-2012-2459) */
    uint8_t coinbase;               /* 1: the first transaction is a coinbase */
    uint8_t witness_commitment;     /* a VERA_WITNESS_* code */
    uint8_t mutation;               /* a VERA_MUTATION_* code; 0: the block is the one its
                                       header commits to (not that it is valid) */
} vera_block_check;

/* Bitcoin Core's IsBlockMutated on a serialized block of len bytes, every hash batched on the
   engine: the Merkle root of the txids (transactions without witness) with the mutated flag,
   against the header's; then, when segwit_active is non-zero (segwit is active at the block's
   height; mainnet: from 481,824), the witness commitment: the wtxids' root and the coinbase's
   reserved value against the coinbase's commitment output. Without a commitment, or with
   segwit_active 0, no transaction may carry a witness. The verdict is out->mutation. As in
   Core, a block whose first transaction is not a coinbase is only checked for a 64-byte
   transaction: out->coinbase says whether it has one (such a block is invalid in any case).
   A malformed block (truncated, non-canonical sizes, Core's witness-format errors, bytes after
   the last transaction — which Core's network path would ignore — or no transaction at all,
   which Core reads and then rejects as bad-blk-length) is VERA_ERR_INVALID_ARGUMENT. Proof of
   work, scripts, amounts and weight are not checked. */
int vera_bitcoin_check_block(const vera_engine *engine, const uint8_t *block, size_t len,
                             int segwit_active, vera_block_check *out);

/* Solana transactions, as a validator's sigverify stage checks them: signature i over the
   message with account key i, strict rule, exactly the required count, legacy and v0 messages,
   at most one 1,232-byte packet. n serialized transactions as one buffer plus n + 1 offsets;
   one status byte per transaction: VERA_VALID when every signature is valid, else the verdict
   code of its first invalid signature, or VERA_TX_MALFORMED when its bytes are not a
   transaction sigverify accepts. All the signatures go to the engine as one batch. */
#define VERA_TX_MALFORMED 254
int vera_solana_verify_txs(const vera_engine *engine, size_t n, const uint8_t *tx_bytes,
                           const uint32_t *tx_offsets, uint8_t *statuses);

/*
 * The batcher: one item per call, from many threads, gathered into engine batches.
 *
 * A node that checks signatures one at a time (gossip, a mempool) gets nothing from a batch
 * engine on its own: each call would be a batch of one. A batcher collects the calls that
 * arrive together on any threads into one engine batch (up to max_batch items, waiting at most
 * max_delay_us for company), and each call blocks until its own result is back. Results are
 * those of vera_verify / vera_sha256 for the same input.
 */
typedef struct vera_batcher vera_batcher;

/* Creates a batcher over engine (which must outlive it). max_batch: most items per batch, 0 for
   4,096 (at most 1,048,576); max_delay_us: longest wait for a batch to fill, 0 for 100 µs (at
   most 1,000,000). Free it with vera_batcher_free. */
int vera_batcher_new(const vera_engine *engine, uint32_t max_batch, uint32_t max_delay_us,
                     vera_batcher **out);

/* Frees a batcher (NULL is allowed). No call on it may be running or follow. */
void vera_batcher_free(vera_batcher *batcher);

/* Verifies one signature under rule: public_key 32 bytes, msg msg_len bytes (NULL if 0),
   signature 64 bytes. Writes its verdict code to *verdict. */
int vera_batcher_verify(const vera_batcher *batcher, int rule, const uint8_t *public_key,
                        const uint8_t *msg, size_t msg_len, const uint8_t *signature,
                        uint8_t *verdict);

/* SHA-256 of one message; writes 32 bytes to digest. */
int vera_batcher_sha256(const vera_batcher *batcher, const uint8_t *msg, size_t msg_len,
                        uint8_t *digest);

/* The batcher's metrics (items, batch sizes and latencies, queue depth, GPU fallbacks) in the
   Prometheus / OpenMetrics text format, like snprintf: writes at most len - 1 bytes and a NUL to
   buf (if len > 0) and returns the full length. */
size_t vera_batcher_metrics(const vera_batcher *batcher, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* VERA_H */
