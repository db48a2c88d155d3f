// Package vera is the Go binding of libvera, vera's C ABI: batch Ed25519 verification, SHA-256,
// Merkle roots and inclusion proofs, the Bitcoin block check, Solana transactions and
// proof-of-history hash chains, on the GPU or every CPU core, with exactly the verdicts of the
// reference implementations.
//
// Build libvera first (cargo build --release -p vera-capi), then point cgo at it:
//
//	CGO_LDFLAGS="-L$VERA/target/release" go build
//	LD_LIBRARY_PATH="$VERA/target/release" ./your-node
//
// The module is not published: require vera.dev/libvera and add
// `replace vera.dev/libvera => $VERA/node-adapter/capi/go` to your go.mod. The package carries
// its own copy of vera.h (a test keeps it equal to node-adapter/capi/include/vera.h).
//
// On error every call returns nil or zero results: never read a verdict before its error.
// Batches are columnar, as the engine takes them: public keys and signatures are n*32 and n*64
// bytes, messages are one buffer plus n+1 offsets ([Messages]). Nothing is copied on the way in;
// Go memory is passed to C for the length of a call only. An Engine is safe for concurrent use
// by many goroutines, and each call is a batch: for one signature at a time from many
// goroutines (gossip, a mempool), use a [Batcher], which gathers the calls that arrive together
// into one engine batch.
package vera

/*
#cgo CFLAGS: -I${SRCDIR}
#cgo LDFLAGS: -lvera
#include <stdlib.h>
#include "vera.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Rule is an Ed25519 verification rule. There is no default: rules disagree on hostile
// signatures, and a node that accepts what its peers reject forks.
type Rule int

const (
	// Strict is ed25519-dalek's verify_strict (Solana, Aptos), and libsodium's verdicts
	// (Cardano).
	Strict Rule = C.VERA_RULE_STRICT
	// Zip215 is ZIP-215, ed25519-consensus (Zcash, CometBFT, Cosmos, Sui).
	Zip215 Rule = C.VERA_RULE_ZIP215
	// Dalek is ed25519-dalek's verify (RFC 8032 style).
	Dalek Rule = C.VERA_RULE_DALEK
)

// Scheme is a Merkle tree construction.
type Scheme int

const (
	// RFC6962 trees (Certificate Transparency, CometBFT): leaf SHA-256(0x00 ‖ d), node
	// SHA-256(0x01 ‖ l ‖ r).
	RFC6962 Scheme = C.VERA_SCHEME_RFC6962
	// Bitcoin trees: txids as leaves, double SHA-256 nodes, an odd last node paired with itself.
	Bitcoin Scheme = C.VERA_SCHEME_BITCOIN
)

// Backend picks where an engine runs.
type Backend int

const (
	// Auto uses a hardware GPU where there is one, by costs measured on this machine.
	Auto Backend = C.VERA_BACKEND_AUTO
	// CPU uses every core, never the GPU.
	CPU Backend = C.VERA_BACKEND_CPU
	// GPU uses the GPU for every batch, and fails when there is no adapter.
	GPU Backend = C.VERA_BACKEND_GPU
)

// libvera's error codes, in [Error].Code.
const (
	// CodeInvalidArgument: a bad argument (offsets, lengths, an unknown rule or scheme, a
	// malformed block).
	CodeInvalidArgument = int(C.VERA_ERR_INVALID_ARGUMENT)
	// CodeBackendUnavailable: the backend asked for is not there (GPU with no adapter): fall
	// back to CPU.
	CodeBackendUnavailable = int(C.VERA_ERR_BACKEND_UNAVAILABLE)
	// CodeEngine: the engine failed to carry out the batch.
	CodeEngine = int(C.VERA_ERR_ENGINE)
	// CodeInternal: a bug in vera.
	CodeInternal = int(C.VERA_ERR_INTERNAL)
)

// ErrClosed is returned by calls on a closed Engine or Batcher.
var ErrClosed = errors.New("vera: closed")

// Error is a failed call: its libvera code (a Code* constant) and message.
type Error struct {
	Code    int
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("vera: %s (code %d)", e.Message, e.Code) }

// call runs f on a locked OS thread, so that libvera's per-thread error is read on the thread
// that set it.
func call(f func() C.int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := f()
	if rc == C.VERA_OK {
		return nil
	}
	return &Error{Code: int(rc), Message: C.GoString(C.vera_last_error())}
}

// Version is libvera's version, e.g. "0.1.0".
func Version() string { return C.GoString(C.vera_version()) }

// Engine runs batches. Create one and keep it: with a GPU, creating it takes a while. It is
// safe for concurrent use, Close included (Close waits for the calls in flight). Close it when
// done; one the program forgets is freed by the garbage collector, at a time of its choosing.
type Engine struct {
	mu  sync.RWMutex
	ptr *C.vera_engine
}

// NewEngine creates an engine on backend with threads CPU workers (0: one per core).
func NewEngine(backend Backend, threads uint32) (*Engine, error) {
	var ptr *C.vera_engine
	err := call(func() C.int { return C.vera_engine_new(C.int(backend), C.uint32_t(threads), &ptr) })
	if err != nil {
		return nil, err
	}
	e := &Engine{ptr: ptr}
	runtime.SetFinalizer(e, finalizeEngine)
	return e, nil
}

// finalized counts the engines and batchers the garbage collector freed (the tests read it).
var finalized atomic.Int64

// An engine the program dropped without Close would keep its threads and GPU memory for the
// life of the process. Every call holds the engine in `with`, so it cannot be finalized mid-call.
func finalizeEngine(e *Engine) {
	finalized.Add(1)
	e.Close()
}

// Close frees the engine, once the calls in flight are done; later calls return ErrClosed.
// Batchers over it keep working until they are closed.
func (e *Engine) Close() {
	if e == nil {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ptr != nil {
		C.vera_engine_free(e.ptr)
		e.ptr = nil
		runtime.SetFinalizer(e, nil)
	}
}

// HasGPU says whether the engine has a GPU.
func (e *Engine) HasGPU() bool {
	var has bool
	_ = e.with(func(p *C.vera_engine) error {
		has = C.vera_engine_has_gpu(p) == 1
		return nil
	})
	return has
}

// with runs f on the live engine, holding it open meanwhile.
func (e *Engine) with(f func(*C.vera_engine) error) error {
	if e == nil {
		return ErrClosed
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.ptr == nil {
		return ErrClosed
	}
	return f(e.ptr)
}

// Messages is a list of byte strings in libvera's layout: message i is
// Bytes[Offsets[i]:Offsets[i+1]].
type Messages struct {
	Bytes   []byte
	Offsets []uint32
}

// NewMessages lays msgs out end to end (one copy).
func NewMessages(msgs [][]byte) (Messages, error) {
	total := 0
	for _, m := range msgs {
		total += len(m)
	}
	if uint64(total) > math.MaxUint32 {
		return Messages{}, errors.New("vera: messages total 4 GiB or more")
	}
	m := Messages{Bytes: make([]byte, 0, total), Offsets: make([]uint32, 1, len(msgs)+1)}
	for _, msg := range msgs {
		m.Bytes = append(m.Bytes, msg...)
		m.Offsets = append(m.Offsets, uint32(len(m.Bytes)))
	}
	return m, nil
}

// Len is the number of messages.
func (m Messages) Len() int {
	if len(m.Offsets) == 0 {
		return 0
	}
	return len(m.Offsets) - 1
}

// check validates the layout on the Go side, so that no call reads past a slice.
func (m Messages) check(n int) error {
	if n == 0 && len(m.Offsets) == 0 {
		return nil
	}
	if len(m.Offsets) != n+1 {
		return fmt.Errorf("vera: %d messages need %d offsets, got %d", n, n+1, len(m.Offsets))
	}
	for i := 0; i < n; i++ {
		if m.Offsets[i] > m.Offsets[i+1] {
			return fmt.Errorf("vera: message offsets decrease at %d", i)
		}
	}
	if uint64(m.Offsets[n]) > uint64(len(m.Bytes)) {
		return fmt.Errorf("vera: offsets reach %d bytes, the buffer has %d", m.Offsets[n], len(m.Bytes))
	}
	return nil
}

func bytesPtr(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

func offsetsPtr(o []uint32) *C.uint32_t {
	if len(o) == 0 {
		return nil
	}
	return (*C.uint32_t)(unsafe.Pointer(&o[0]))
}

// Verdict is one signature's verdict: Valid, or the reason it is not.
type Verdict uint8

// Valid is the verdict of a valid signature; any other value names a reason.
const Valid Verdict = C.VERA_VALID

// IsValid says whether the signature is valid.
func (v Verdict) IsValid() bool { return v == Valid }

// String names the verdict: "valid", "non-canonical-s", "equation", ….
func (v Verdict) String() string { return C.GoString(C.vera_verdict_str(C.uint8_t(v))) }

// Verify checks n signatures under rule: publicKeys is n*32 bytes, signatures n*64 (R ‖ S), and
// msgs holds n messages. One verdict per signature, in order; an invalid signature is a verdict,
// not an error.
func (e *Engine) Verify(rule Rule, publicKeys, signatures []byte, msgs Messages) ([]Verdict, error) {
	n := msgs.Len()
	if len(publicKeys) != 32*n || len(signatures) != 64*n {
		return nil, fmt.Errorf("vera: %d messages need %d key bytes and %d signature bytes, got %d and %d",
			n, 32*n, 64*n, len(publicKeys), len(signatures))
	}
	if err := msgs.check(n); err != nil {
		return nil, err
	}
	out := make([]Verdict, n)
	err := e.with(func(p *C.vera_engine) error {
		return call(func() C.int {
			return C.vera_verify(p, C.int(rule), C.size_t(n), bytesPtr(publicKeys), bytesPtr(signatures),
				bytesPtr(msgs.Bytes), offsetsPtr(msgs.Offsets), firstByte(out))
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// firstByte points at a result slice of one-byte values (NULL when empty).
func firstByte[T ~uint8](s []T) *C.uint8_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&s[0]))
}

// Sha256 hashes every message.
func (e *Engine) Sha256(msgs Messages) ([][32]byte, error) { return e.hash(msgs, false) }

// Sha256d double-hashes every message, SHA-256(SHA-256(m)): Bitcoin's txids, wtxids and block
// hashes, in internal byte order.
func (e *Engine) Sha256d(msgs Messages) ([][32]byte, error) { return e.hash(msgs, true) }

func (e *Engine) hash(msgs Messages, double bool) ([][32]byte, error) {
	n := msgs.Len()
	if err := msgs.check(n); err != nil {
		return nil, err
	}
	out := make([][32]byte, n)
	var dst *C.uint8_t
	if n > 0 {
		dst = (*C.uint8_t)(unsafe.Pointer(&out[0][0]))
	}
	err := e.with(func(p *C.vera_engine) error {
		return call(func() C.int {
			if double {
				return C.vera_sha256d(p, C.size_t(n), bytesPtr(msgs.Bytes), offsetsPtr(msgs.Offsets), dst)
			}
			return C.vera_sha256(p, C.size_t(n), bytesPtr(msgs.Bytes), offsetsPtr(msgs.Offsets), dst)
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// HashChain is iterated SHA-256, as proof-of-history entries are: from Start, Hashes times
// h = SHA-256(h), then, with a Mixin, once h = SHA-256(h || Mixin).
type HashChain struct {
	Start  [32]byte
	Hashes uint64
	Mixin  *[32]byte
}

// SolanaEntry is the chain of a Solana entry of numHashes hashes starting from the previous
// entry's hash, as Solana's next_hash computes it: mixin is the hash of the entry's
// transactions, nil for a tick.
func SolanaEntry(start [32]byte, numHashes uint64, mixin *[32]byte) HashChain {
	hashes := numHashes
	if mixin != nil && hashes > 0 {
		hashes--
	}
	return HashChain{Start: start, Hashes: hashes, Mixin: mixin}
}

// HashChains gives every chain's end, in order: thousands of chains at once on the GPU (one
// thread each), or across every core. At most 2^24 hashes a chain and 2^32 in all.
func (e *Engine) HashChains(chains []HashChain) ([][32]byte, error) {
	n := len(chains)
	if n == 0 {
		return [][32]byte{}, nil
	}
	starts := make([]byte, 32*n)
	hashes := make([]uint64, n)
	mixins := make([]byte, 32*n)
	has := make([]byte, n)
	for i, c := range chains {
		copy(starts[32*i:], c.Start[:])
		hashes[i] = c.Hashes
		if c.Mixin != nil {
			copy(mixins[32*i:], c.Mixin[:])
			has[i] = 1
		}
	}
	out := make([][32]byte, n)
	err := e.with(func(p *C.vera_engine) error {
		return call(func() C.int {
			return C.vera_hash_chains(p, C.size_t(n), bytesPtr(starts),
				(*C.uint64_t)(unsafe.Pointer(&hashes[0])), bytesPtr(mixins), bytesPtr(has),
				(*C.uint8_t)(unsafe.Pointer(&out[0][0])))
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MerkleRoot is the root of leaves under scheme (leaf data for RFC6962, 32-byte txids for
// Bitcoin), and for Bitcoin whether two identical siblings were hashed (CVE-2012-2459: such a
// block must be rejected).
func (e *Engine) MerkleRoot(scheme Scheme, leaves Messages) ([32]byte, bool, error) {
	n := leaves.Len()
	if err := leaves.check(n); err != nil {
		return [32]byte{}, false, err
	}
	var root [32]byte
	var m C.uint8_t
	err := e.with(func(p *C.vera_engine) error {
		return call(func() C.int {
			return C.vera_merkle_root(p, C.int(scheme), C.size_t(n), bytesPtr(leaves.Bytes),
				offsetsPtr(leaves.Offsets), (*C.uint8_t)(unsafe.Pointer(&root[0])), &m)
		})
	})
	if err != nil {
		return [32]byte{}, false, err
	}
	return root, m == 1, nil
}

// Proof is one Merkle inclusion proof: the leaf (the RFC 6962 leaf hash, or a txid), its index
// in a tree of Size leaves, the sibling hashes from the leaf up, and the root they must reach.
type Proof struct {
	Leaf  [32]byte
	Index uint64
	Size  uint64
	Path  [][32]byte
	Root  [32]byte
}

// ProofVerdict is one proof's verdict.
type ProofVerdict uint8

const (
	// ProofValid: the path leads from the leaf to the root.
	ProofValid ProofVerdict = C.VERA_PROOF_VALID
	// ProofIndexOutOfRange: the index is not below the tree size.
	ProofIndexOutOfRange ProofVerdict = C.VERA_PROOF_INDEX_OUT_OF_RANGE
	// ProofLength: the path has the wrong length for the index and size.
	ProofLength ProofVerdict = C.VERA_PROOF_LENGTH
	// ProofRootMismatch: the path leads to another root.
	ProofRootMismatch ProofVerdict = C.VERA_PROOF_ROOT_MISMATCH
)

// VerifyProofs checks inclusion proofs under scheme, one verdict per proof, in order (RFC 6962:
// RFC 9162's algorithm; Bitcoin: Core's ComputeMerkleRootFromBranch with the branch as long as
// the tree is deep).
func (e *Engine) VerifyProofs(scheme Scheme, proofs []Proof) ([]ProofVerdict, error) {
	n := len(proofs)
	leaves := make([]byte, 0, 32*n)
	roots := make([]byte, 0, 32*n)
	indexes := make([]uint64, n)
	sizes := make([]uint64, n)
	offsets := make([]uint32, 1, n+1)
	var path []byte
	for i, p := range proofs {
		leaves = append(leaves, p.Leaf[:]...)
		roots = append(roots, p.Root[:]...)
		indexes[i], sizes[i] = p.Index, p.Size
		for _, h := range p.Path {
			path = append(path, h[:]...)
		}
		if uint64(len(path)/32) > math.MaxUint32 {
			return nil, errors.New("vera: too many path hashes in one batch")
		}
		offsets = append(offsets, uint32(len(path)/32))
	}
	out := make([]ProofVerdict, n)
	var idx, sz *C.uint64_t
	if n > 0 {
		idx, sz = (*C.uint64_t)(unsafe.Pointer(&indexes[0])), (*C.uint64_t)(unsafe.Pointer(&sizes[0]))
	}
	err := e.with(func(p *C.vera_engine) error {
		return call(func() C.int {
			return C.vera_verify_proofs(p, C.int(scheme), C.size_t(n), bytesPtr(leaves), idx, sz,
				bytesPtr(roots), bytesPtr(path), offsetsPtr(offsets), firstByte(out))
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TxMalformed is the status of bytes that are not a Solana transaction sigverify accepts.
const TxMalformed Verdict = C.VERA_TX_MALFORMED

// VerifySolanaTxs checks serialized Solana transactions as a validator's sigverify stage does
// (signature i over the message with account key i, the Strict rule, legacy and v0 messages,
// one packet at most): one status per transaction, Valid when every signature is, else the
// verdict of its first invalid signature, or TxMalformed. All signatures go in one batch.
func (e *Engine) VerifySolanaTxs(txs Messages) ([]Verdict, error) {
	n := txs.Len()
	if err := txs.check(n); err != nil {
		return nil, err
	}
	out := make([]Verdict, n)
	err := e.with(func(p *C.vera_engine) error {
		return call(func() C.int {
			return C.vera_solana_verify_txs(p, C.size_t(n), bytesPtr(txs.Bytes), offsetsPtr(txs.Offsets),
				firstByte(out))
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// BatchVerifier collects signatures and verifies them in one engine batch, in the shape of
// CometBFT's crypto.BatchVerifier (Add, then Verify): a CometBFT node wraps it with Zip215,
// the rule of its ed25519 keys. Not safe for concurrent Adds; make one per batch.
type BatchVerifier struct {
	engine          *Engine
	rule            Rule
	keys, sigs, buf []byte
	offsets         []uint32
}

// NewBatchVerifier starts an empty batch under rule.
func (e *Engine) NewBatchVerifier(rule Rule) *BatchVerifier {
	return &BatchVerifier{engine: e, rule: rule, offsets: []uint32{0}}
}

// Add queues one signature: a 32-byte public key, the message, a 64-byte signature.
func (b *BatchVerifier) Add(publicKey, message, signature []byte) error {
	if len(publicKey) != 32 || len(signature) != 64 {
		return fmt.Errorf("vera: a public key is 32 bytes and a signature 64, got %d and %d",
			len(publicKey), len(signature))
	}
	if uint64(len(b.buf))+uint64(len(message)) > math.MaxUint32 {
		return errors.New("vera: a batch's messages total 4 GiB or more")
	}
	b.keys = append(b.keys, publicKey...)
	b.sigs = append(b.sigs, signature...)
	b.buf = append(b.buf, message...)
	b.offsets = append(b.offsets, uint32(len(b.buf)))
	return nil
}

// Verify checks every queued signature: true when all are valid, and each one's validity in
// the order they were added. A failed call (ErrClosed, an engine error) reports every
// signature invalid.
func (b *BatchVerifier) Verify() (bool, []bool) {
	n := len(b.offsets) - 1
	valid := make([]bool, n)
	verdicts, err := b.engine.Verify(b.rule, b.keys, b.sigs, Messages{Bytes: b.buf, Offsets: b.offsets})
	if err != nil {
		return false, valid
	}
	all := true
	for i, v := range verdicts {
		valid[i] = v.IsValid()
		all = all && valid[i]
	}
	return all, valid
}

// Mutation is why a Bitcoin block is not the one its header commits to (Bitcoin Core's
// IsBlockMutated), or MutationNone.
type Mutation uint8

const (
	MutationNone                 Mutation = C.VERA_MUTATION_NONE
	MutationMerkleRoot           Mutation = C.VERA_MUTATION_MERKLE_ROOT            // bad-txnmrklroot
	MutationDuplicateTxs         Mutation = C.VERA_MUTATION_DUPLICATE_TXS          // bad-txns-duplicate
	Mutation64ByteTx             Mutation = C.VERA_MUTATION_64_BYTE_TX             // no coinbase, a 64-byte tx
	MutationWitnessReservedValue Mutation = C.VERA_MUTATION_WITNESS_RESERVED_VALUE // bad-witness-nonce-size
	MutationWitnessMerkleRoot    Mutation = C.VERA_MUTATION_WITNESS_MERKLE_ROOT    // bad-witness-merkle-match
	MutationUnexpectedWitness    Mutation = C.VERA_MUTATION_UNEXPECTED_WITNESS     // unexpected-witness
)

// BlockCheck is what CheckBitcoinBlock found. Hashes are in internal byte order.
type BlockCheck struct {
	BlockHash, MerkleRoot, HeaderMerkleRoot, WitnessRoot [32]byte
	Txs, SegwitTxs                                       uint64
	MerkleOK, Mutated, Coinbase                          bool
	// WitnessCommitment is one of libvera's VERA_WITNESS_* codes: 0 absent, 1 match,
	// 2 mismatch, 3 a bad reserved value.
	WitnessCommitment uint8
	// Mutation is the verdict: MutationNone when the block is the one its header commits to.
	Mutation Mutation
}

// CheckBitcoinBlock runs Bitcoin Core's IsBlockMutated on a serialized block, with segwit
// active at its height or not. Malformed bytes are an error.
func (e *Engine) CheckBitcoinBlock(raw []byte, segwitActive bool) (BlockCheck, error) {
	var c C.vera_block_check
	active := C.int(0)
	if segwitActive {
		active = 1
	}
	err := e.with(func(p *C.vera_engine) error {
		return call(func() C.int {
			return C.vera_bitcoin_check_block(p, bytesPtr(raw), C.size_t(len(raw)), active, &c)
		})
	})
	if err != nil {
		return BlockCheck{}, err
	}
	hash := func(a [32]C.uint8_t) (h [32]byte) {
		for i := range a {
			h[i] = byte(a[i])
		}
		return
	}
	return BlockCheck{
		BlockHash:         hash(c.block_hash),
		MerkleRoot:        hash(c.merkle_root),
		HeaderMerkleRoot:  hash(c.header_merkle_root),
		WitnessRoot:       hash(c.witness_root),
		Txs:               uint64(c.txs),
		SegwitTxs:         uint64(c.segwit_txs),
		MerkleOK:          c.merkle_ok == 1,
		Mutated:           c.mutated == 1,
		Coinbase:          c.coinbase == 1,
		WitnessCommitment: uint8(c.witness_commitment),
		Mutation:          Mutation(c.mutation),
	}, nil
}

// Batcher gathers single calls from many goroutines into engine batches; each call blocks until
// its own result is back. A waiting call holds its OS thread (it is inside C), so at most
// MaxBatcherCalls calls wait in C at once and the others wait in Go: thousands of goroutines
// cannot run a node out of threads. Safe for concurrent use, Close included.
type Batcher struct {
	mu    sync.RWMutex
	ptr   *C.vera_batcher
	slots chan struct{}
}

// MaxBatcherCalls is how many calls of one Batcher may wait in C at once: a full default batch.
const MaxBatcherCalls = 4096

// NewBatcher creates a batcher over e: at most maxBatch items per batch (0: 4,096), waiting at
// most maxDelayMicros for company (0: 100 µs).
func (e *Engine) NewBatcher(maxBatch, maxDelayMicros uint32) (*Batcher, error) {
	var ptr *C.vera_batcher
	err := e.with(func(p *C.vera_engine) error {
		return call(func() C.int {
			return C.vera_batcher_new(p, C.uint32_t(maxBatch), C.uint32_t(maxDelayMicros), &ptr)
		})
	})
	if err != nil {
		return nil, err
	}
	b := &Batcher{ptr: ptr, slots: make(chan struct{}, MaxBatcherCalls)}
	runtime.SetFinalizer(b, finalizeBatcher)
	return b, nil
}

// As finalizeEngine, for a batcher (its worker thread and queue).
func finalizeBatcher(b *Batcher) {
	finalized.Add(1)
	b.Close()
}

// Close frees the batcher once the calls in flight are done; later calls return ErrClosed.
func (b *Batcher) Close() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ptr != nil {
		C.vera_batcher_free(b.ptr)
		b.ptr = nil
		runtime.SetFinalizer(b, nil)
	}
}

// with runs f on the live batcher within the limit of calls waiting in C.
func (b *Batcher) with(f func(*C.vera_batcher) error) error {
	if b == nil {
		return ErrClosed
	}
	b.slots <- struct{}{}
	defer func() { <-b.slots }()
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.ptr == nil {
		return ErrClosed
	}
	return f(b.ptr)
}

// Invalid is the verdict a failed call returns beside its error: never valid.
const Invalid Verdict = C.VERA_INVALID_OTHER

// Verify checks one signature under rule, batched with the calls of other goroutines. On error
// the verdict is Invalid.
func (b *Batcher) Verify(rule Rule, publicKey []byte, msg []byte, signature []byte) (Verdict, error) {
	if len(publicKey) != 32 || len(signature) != 64 {
		return Invalid, fmt.Errorf("vera: a public key is 32 bytes and a signature 64, got %d and %d",
			len(publicKey), len(signature))
	}
	var v C.uint8_t
	err := b.with(func(p *C.vera_batcher) error {
		return call(func() C.int {
			return C.vera_batcher_verify(p, C.int(rule), bytesPtr(publicKey), bytesPtr(msg),
				C.size_t(len(msg)), bytesPtr(signature), &v)
		})
	})
	if err != nil {
		return Invalid, err
	}
	return Verdict(v), nil
}

// Sha256 hashes one message, batched with the calls of other goroutines.
func (b *Batcher) Sha256(msg []byte) ([32]byte, error) {
	var d [32]byte
	err := b.with(func(p *C.vera_batcher) error {
		return call(func() C.int {
			return C.vera_batcher_sha256(p, bytesPtr(msg), C.size_t(len(msg)),
				(*C.uint8_t)(unsafe.Pointer(&d[0])))
		})
	})
	if err != nil {
		return [32]byte{}, err
	}
	return d, nil
}

// Metrics is the batcher's metrics in the Prometheus / OpenMetrics text format ("" once closed).
func (b *Batcher) Metrics() string {
	var text string
	_ = b.with(func(p *C.vera_batcher) error {
		size := C.vera_batcher_metrics(p, nil, 0) + 1
		for {
			buf := make([]byte, int(size))
			n := C.vera_batcher_metrics(p, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
			if n < size {
				text = string(buf[:n])
				return nil
			}
			// The text grew between the two calls: again, with room for it.
			size = n + 1
		}
	})
	return text
}
