package vera

// The binding against Go's own standard library as the independent reference: crypto/ed25519
// signs (and every rule must accept its honest signatures), crypto/sha256 hashes, and the
// Merkle trees and proofs are built here from their definitions. Published vectors come from
// the repository's tests/vectors (VERA_VECTORS_DIR overrides the path). VERA_GO_BACKEND=gpu
// runs everything on the GPU engine.

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	shared     *Engine
	sharedErr  error
	sharedOnce sync.Once
)

// TestMain closes the engine the tests share: a GPU engine takes seconds to create, so one is
// made for all of them.
func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Close()
	}
	os.Exit(code)
}

func engine(t *testing.T) *Engine {
	t.Helper()
	sharedOnce.Do(func() {
		backend := CPU
		if os.Getenv("VERA_GO_BACKEND") == "gpu" {
			backend = GPU
		}
		shared, sharedErr = NewEngine(backend, 0)
		if sharedErr == nil && backend == GPU && !shared.HasGPU() {
			sharedErr = errors.New("a GPU engine without a GPU")
		}
	})
	if sharedErr != nil {
		t.Fatalf("NewEngine: %v", sharedErr)
	}
	return shared
}

func vectors(t *testing.T, name string) map[string]any {
	t.Helper()
	dir := os.Getenv("VERA_VECTORS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "tests", "vectors")
	}
	raw, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("vectors: %v", err)
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("vectors %s: %v", name, err)
	}
	return v
}

func unhex(t *testing.T, s any) []byte {
	t.Helper()
	b, err := hex.DecodeString(s.(string))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func messages(t *testing.T, msgs [][]byte) Messages {
	t.Helper()
	m, err := NewMessages(msgs)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestVersion(t *testing.T) {
	if !strings.HasPrefix(Version(), "0.") {
		t.Fatalf("version %q", Version())
	}
}

func TestRFC8032AndNegatives(t *testing.T) {
	e := engine(t)
	for _, file := range []string{"ed25519/rfc8032_ed25519.json", "ed25519/rfc8032_derived_negative.json"} {
		cases := vectors(t, file)["cases"].([]any)
		var pks, sigs []byte
		var msgs [][]byte
		var want []bool
		for _, c := range cases {
			c := c.(map[string]any)
			pks = append(pks, unhex(t, c["pk"])...)
			sigs = append(sigs, unhex(t, c["sig"])...)
			msgs = append(msgs, unhex(t, c["msg"]))
			want = append(want, c["valid"].(bool))
		}
		for _, rule := range []Rule{Strict, Zip215, Dalek} {
			got, err := e.Verify(rule, pks, sigs, messages(t, msgs))
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got[i].IsValid() != want[i] {
					t.Errorf("%s case %d rule %d: %s, want valid=%v", file, i, rule, got[i], want[i])
				}
			}
		}
	}
}

// The rule reaches libvera: the identity as A and R with S = 0 satisfies the equation, and
// only Strict refuses its small-order key.
func TestRulesDisagreeOnASmallOrderKey(t *testing.T) {
	e := engine(t)
	pk := make([]byte, 32)
	pk[0] = 1
	sig := make([]byte, 64)
	sig[0] = 1
	msgs := messages(t, [][]byte{[]byte("m")})
	want := map[Rule]string{Strict: "small-order-public-key", Zip215: "valid", Dalek: "valid"}
	for rule, name := range want {
		got, err := e.Verify(rule, pk, sig, msgs)
		if err != nil || got[0].String() != name {
			t.Errorf("rule %d: %v %v, want %s", rule, got, err, name)
		}
	}
}

func TestCryptoEd25519SignaturesAndCorruptions(t *testing.T) {
	e := engine(t)
	rng := rand.New(rand.NewSource(1))
	const n = 300
	var pks, sigs []byte
	var msgs [][]byte
	for i := 0; i < n; i++ {
		seed := make([]byte, ed25519.SeedSize)
		rng.Read(seed)
		key := ed25519.NewKeyFromSeed(seed)
		msg := make([]byte, rng.Intn(200))
		rng.Read(msg)
		sig := ed25519.Sign(key, msg)
		switch i % 4 {
		case 1:
			sig[rng.Intn(32)] ^= 1 // R
		case 2:
			msg = append(msg, 0) // the message
		case 3:
			sig[32] ^= 1 // S's low byte: still below L, the equation fails
		}
		if !ed25519.Verify(key.Public().(ed25519.PublicKey), msg, sig) != (i%4 != 0) {
			t.Fatalf("crypto/ed25519 disagrees with the construction at %d", i)
		}
		pks = append(pks, key.Public().(ed25519.PublicKey)...)
		sigs = append(sigs, sig...)
		msgs = append(msgs, msg)
	}
	batch := messages(t, msgs)
	for _, rule := range []Rule{Strict, Zip215, Dalek} {
		got, err := e.Verify(rule, pks, sigs, batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range got {
			if v.IsValid() != (i%4 == 0) {
				t.Errorf("rule %d item %d: %s", rule, i, v)
			}
		}
	}
	// The columns must agree: a Go-side error, before any call.
	if _, err := e.Verify(Strict, pks[:32], sigs, batch); err == nil {
		t.Error("mismatched columns were accepted")
	}
}

func TestSha256AndSha256dAgainstCryptoSha256(t *testing.T) {
	e := engine(t)
	var msgs [][]byte
	for n := 0; n <= 300; n++ {
		m := make([]byte, n)
		for i := range m {
			m[i] = byte(n*7 + i)
		}
		msgs = append(msgs, m)
	}
	batch := messages(t, msgs)
	once, err := e.Sha256(batch)
	if err != nil {
		t.Fatal(err)
	}
	twice, err := e.Sha256d(batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		d := sha256.Sum256(m)
		if once[i] != d {
			t.Errorf("sha256 of %d bytes", len(m))
		}
		if twice[i] != sha256.Sum256(d[:]) {
			t.Errorf("sha256d of %d bytes", len(m))
		}
	}
}

func rfc6962Root(leaves [][32]byte) [32]byte {
	switch len(leaves) {
	case 0:
		return sha256.Sum256(nil)
	case 1:
		return leaves[0]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	l, r := rfc6962Root(leaves[:k]), rfc6962Root(leaves[k:])
	return sha256.Sum256(append(append([]byte{1}, l[:]...), r[:]...))
}

func bitcoinNode(l, r [32]byte) [32]byte {
	d := sha256.Sum256(append(append([]byte{}, l[:]...), r[:]...))
	return sha256.Sum256(d[:])
}

// bitcoinTree returns every level, leaves first, each odd level padded with its last node.
func bitcoinTree(txids [][32]byte) [][][32]byte {
	levels := [][][32]byte{txids}
	for level := txids; len(level) > 1; {
		if len(level)%2 == 1 {
			level = append(append([][32]byte{}, level...), level[len(level)-1])
		}
		var next [][32]byte
		for i := 0; i < len(level); i += 2 {
			next = append(next, bitcoinNode(level[i], level[i+1]))
		}
		levels = append(levels, next)
		level = next
	}
	return levels
}

func TestMerkleRootsAndProofs(t *testing.T) {
	e := engine(t)
	rng := rand.New(rand.NewSource(2))
	for _, n := range []int{1, 2, 3, 5, 8, 13, 100} {
		data := make([][]byte, n)
		hashes := make([][32]byte, n)
		txids := make([][]byte, n)
		for i := range data {
			data[i] = make([]byte, 1+rng.Intn(40))
			rng.Read(data[i])
			hashes[i] = sha256.Sum256(append([]byte{0}, data[i]...))
			txids[i] = make([]byte, 32)
			rng.Read(txids[i])
		}
		root, _, err := e.MerkleRoot(RFC6962, messages(t, data))
		if err != nil || root != rfc6962Root(hashes) {
			t.Fatalf("rfc6962 root of %d: %v", n, err)
		}
		levels := bitcoinTree(toHashes(txids))
		btc, mutated, err := e.MerkleRoot(Bitcoin, messages(t, txids))
		if err != nil || btc != levels[len(levels)-1][0] || mutated {
			t.Fatalf("bitcoin root of %d: %v", n, err)
		}
		// A branch per transaction, every third one damaged.
		var proofs []Proof
		var want []ProofVerdict
		for i := 0; i < n; i++ {
			p := Proof{Leaf: levels[0][i], Index: uint64(i), Size: uint64(n), Root: btc}
			for l, idx := 0, i; l < len(levels)-1; l, idx = l+1, idx/2 {
				level := levels[l]
				if len(level)%2 == 1 {
					level = append(level, level[len(level)-1])
				}
				p.Path = append(p.Path, level[idx^1])
			}
			w := ProofValid
			if i%3 == 1 {
				p.Root[0] ^= 1
				w = ProofRootMismatch
			} else if i%3 == 2 {
				p.Index = uint64(n)
				w = ProofIndexOutOfRange
			}
			proofs = append(proofs, p)
			want = append(want, w)
		}
		got, err := e.VerifyProofs(Bitcoin, proofs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%d txids, proof %d: %d, want %d", n, i, got[i], want[i])
			}
		}
	}
	// RFC 6962 proofs: the audit path of each leaf of a 5-leaf tree, from its definition, then
	// the same proofs one hash short.
	leaves := make([][32]byte, 5)
	for i := range leaves {
		leaves[i] = sha256.Sum256([]byte{0, byte(i)})
	}
	rfcRoot := rfc6962Root(leaves)
	var path func(m int, d [][32]byte) [][32]byte
	path = func(m int, d [][32]byte) [][32]byte {
		if len(d) <= 1 {
			return nil
		}
		k := 1
		for k*2 < len(d) {
			k *= 2
		}
		if m < k {
			return append(path(m, d[:k]), rfc6962Root(d[k:]))
		}
		return append(path(m-k, d[k:]), rfc6962Root(d[:k]))
	}
	var rfc []Proof
	for i := range leaves {
		p := path(i, leaves)
		rfc = append(rfc, Proof{Leaf: leaves[i], Index: uint64(i), Size: 5, Path: p, Root: rfcRoot})
		rfc = append(rfc, Proof{Leaf: leaves[i], Index: uint64(i), Size: 5, Path: p[:len(p)-1], Root: rfcRoot})
	}
	got, err := e.VerifyProofs(RFC6962, rfc)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		want := ProofValid
		if i%2 == 1 {
			want = ProofLength
		}
		if v != want {
			t.Errorf("rfc6962 proof %d: %d, want %d", i, v, want)
		}
	}
	// CVE-2012-2459: two equal siblings, the last two of four txids.
	twins := [][]byte{make([]byte, 32), make([]byte, 32), make([]byte, 32), make([]byte, 32)}
	twins[0][0], twins[1][0] = 1, 2
	if _, mutated, err := e.MerkleRoot(Bitcoin, messages(t, twins)); err != nil || !mutated {
		t.Errorf("equal siblings: mutated=%v %v", mutated, err)
	}
	// Empty batches: nothing, and the empty RFC 6962 tree is SHA-256("").
	if v, err := e.Verify(Zip215, nil, nil, Messages{}); err != nil || len(v) != 0 {
		t.Errorf("empty verify: %v %v", v, err)
	}
	if d, err := e.Sha256(Messages{}); err != nil || len(d) != 0 {
		t.Errorf("empty sha256: %v %v", d, err)
	}
	if r, _, err := e.MerkleRoot(RFC6962, Messages{}); err != nil || r != sha256.Sum256(nil) {
		t.Errorf("empty tree: %x %v", r, err)
	}
	// A Bitcoin leaf must be 32 bytes: libvera's error, with its message.
	_, _, err = e.MerkleRoot(Bitcoin, messages(t, [][]byte{make([]byte, 31)}))
	var verr *Error
	if !errors.As(err, &verr) || verr.Code != CodeInvalidArgument || !strings.Contains(verr.Message, "32") {
		t.Errorf("a 31-byte txid: %v", err)
	}
	if got, err := e.VerifyProofs(RFC6962, nil); err != nil || len(got) != 0 {
		t.Errorf("no proofs: %v %v", got, err)
	}
}

func toHashes(b [][]byte) [][32]byte {
	out := make([][32]byte, len(b))
	for i := range b {
		copy(out[i][:], b[i])
	}
	return out
}

func TestRealSegwitBlock(t *testing.T) {
	e := engine(t)
	c := vectors(t, "bitcoin/segwit_blocks.json")["cases"].([]any)[0].(map[string]any)
	raw := unhex(t, c["raw_block_hex"])
	check, err := e.CheckBitcoinBlock(raw, true)
	if err != nil {
		t.Fatal(err)
	}
	hash := check.BlockHash
	for i, j := 0, 31; i < j; i, j = i+1, j-1 {
		hash[i], hash[j] = hash[j], hash[i]
	}
	if hex.EncodeToString(hash[:]) != c["block_hash_display"] {
		t.Errorf("block hash %x", hash)
	}
	if check.Mutation != MutationNone || check.WitnessCommitment != 1 || !check.MerkleOK || !check.Coinbase {
		t.Errorf("%+v", check)
	}
	if check.Txs != uint64(c["tx_count"].(float64)) || check.SegwitTxs != uint64(c["segwit_txs"].(float64)) ||
		check.MerkleRoot != check.HeaderMerkleRoot {
		t.Errorf("counts or roots: %+v", check)
	}
	if hex.EncodeToString(check.WitnessRoot[:]) != c["witness_root"] {
		t.Errorf("witness root %x", check.WitnessRoot)
	}
	if check, _ := e.CheckBitcoinBlock(raw, false); check.Mutation != MutationUnexpectedWitness {
		t.Errorf("before segwit: %+v", check)
	}
	// A byte of the header's Merkle root changed: the same transactions, another root.
	changed := append([]byte(nil), raw...)
	changed[40] ^= 1
	if check, err := e.CheckBitcoinBlock(changed, true); err != nil || check.Mutation != MutationMerkleRoot {
		t.Errorf("a changed header root: %+v %v", check, err)
	}
	if _, err := e.CheckBitcoinBlock(raw[:len(raw)-1], true); err == nil {
		t.Error("a truncated block was accepted")
	}
}

func TestBatcherAcrossGoroutines(t *testing.T) {
	e := engine(t)
	b, err := e.NewBatcher(0, 2000)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	failures := make(chan string, 16*20)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			seed := make([]byte, ed25519.SeedSize)
			seed[0] = byte(g)
			key := ed25519.NewKeyFromSeed(seed)
			pk := key.Public().(ed25519.PublicKey)
			for i := 0; i < 20; i++ {
				msg := []byte{byte(g), byte(i)}
				if i == 19 {
					msg = nil // the empty message
				}
				sig := ed25519.Sign(key, msg)
				if i%5 == 0 {
					msg[1] ^= 0x80
				}
				v, err := b.Verify(Zip215, pk, msg, sig)
				if err != nil || v.IsValid() != (i%5 != 0) {
					failures <- v.String()
				}
			}
		}(g)
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Errorf("a batcher verdict was wrong: %s", f)
	}
	if d, err := b.Sha256([]byte("abc")); err != nil || d != sha256.Sum256([]byte("abc")) {
		t.Errorf("batcher sha256: %x %v", d, err)
	}
	if m := b.Metrics(); !strings.Contains(m, "vera_") || strings.Contains(m, "\x00") {
		t.Errorf("metrics: %q", m)
	}
	if _, err := b.Verify(Zip215, make([]byte, 31), nil, make([]byte, 64)); err == nil {
		t.Error("a 31-byte key was accepted")
	}
	b.Close()
	b.Close()
	if v, err := b.Verify(Zip215, make([]byte, 32), nil, make([]byte, 64)); err != ErrClosed || v.IsValid() {
		t.Errorf("a closed batcher: %v %v", v, err)
	}
	if b.Metrics() != "" {
		t.Error("metrics of a closed batcher")
	}
}

// CometBFT's shape: Add, then Verify, under Zip215; the small-order case is valid there.
func TestBatchVerifier(t *testing.T) {
	e := engine(t)
	bv := e.NewBatchVerifier(Zip215)
	if all, valid := bv.Verify(); !all || len(valid) != 0 {
		t.Errorf("an empty batch: %v %v", all, valid)
	}
	var want []bool
	for i := 0; i < 40; i++ {
		seed := make([]byte, ed25519.SeedSize)
		seed[0] = byte(i)
		key := ed25519.NewKeyFromSeed(seed)
		msg := []byte{byte(i)}
		sig := ed25519.Sign(key, msg)
		if i%7 == 3 {
			sig[40] ^= 1
		}
		if err := bv.Add(key.Public().(ed25519.PublicKey), msg, sig); err != nil {
			t.Fatal(err)
		}
		want = append(want, i%7 != 3)
	}
	if err := bv.Add(make([]byte, 31), nil, make([]byte, 64)); err == nil {
		t.Error("a 31-byte key was added")
	}
	all, valid := bv.Verify()
	if all || len(valid) != len(want) {
		t.Fatalf("%v %v", all, valid)
	}
	for i := range want {
		if valid[i] != want[i] {
			t.Errorf("signature %d: %v", i, valid[i])
		}
	}
	honest := e.NewBatchVerifier(Zip215)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	_ = honest.Add(key.Public().(ed25519.PublicKey), nil, ed25519.Sign(key, nil))
	if all, _ := honest.Verify(); !all {
		t.Error("one honest signature")
	}
}

// A real Solana transaction (an spl-token transfer from mainnet, the one node-adapter's tests
// use), the same with its last byte changed, and one byte.
func TestSolanaTransactions(t *testing.T) {
	e := engine(t)
	tx, _ := hex.DecodeString("0192375e20c0095d2a5a4b5b5900e4c8149876abd749340646f5698aa28116214dd3ddc8eb94a231842dc0ca5bf3ead79714afc38d657dc0525f5b52b49d845e030100020594c3890fa8d4bc04ab2a676d2cafea5cdc899ecd95a9cbe593e9df258759685ac45358bf73b2c596739d02afc1f9cd1da7b8755f91fc4a7a860a0810c04794e22544558bb05c2698f88852a7925c5c0ee5ea8711ddb3fe1262150283eee81163068310861a98327d0550574d84418aa6e10c3352ddaa7fd7f58152cceeb2388706ddf6e1d765a193d9cbe146ceeb79ac1cb485ed5f5b37913a8cf5857eff00a9a8f76432ee9bf7af1063ea2d8b7e5a3eec2a5a01cd67aba11a5978c1a403b065010404010302000a0ca00f00000000000006")
	// One signature, then the message: a 3-byte header, the key count, the fee payer's key
	// first. crypto/ed25519 accepts the signature over the message.
	if !ed25519.Verify(tx[1+64+3+1:1+64+3+1+32], tx[1+64:], tx[1:1+64]) {
		t.Fatal("crypto/ed25519 refuses the real transaction")
	}
	changed := append([]byte(nil), tx...)
	changed[len(changed)-1] ^= 1
	got, err := e.VerifySolanaTxs(messages(t, [][]byte{tx, changed, {1}}))
	if err != nil {
		t.Fatal(err)
	}
	if !got[0].IsValid() || got[1].String() != "equation" || got[2] != TxMalformed {
		t.Errorf("%v", got)
	}
}

func TestErrors(t *testing.T) {
	_, err := NewEngine(Backend(9), 0)
	var verr *Error
	if !errors.As(err, &verr) || verr.Code != CodeInvalidArgument || !strings.Contains(verr.Message, "backend") {
		t.Errorf("backend 9: %v", err)
	}
	e := engine(t)
	bad := Messages{Bytes: []byte("ab"), Offsets: []uint32{0, 3}}
	if _, err := e.Sha256(bad); err == nil {
		t.Error("offsets past the buffer were accepted")
	}
	closed, err := NewEngine(CPU, 1)
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	closed.Close()
	if d, err := closed.Sha256(Messages{}); err != ErrClosed || d != nil {
		t.Errorf("a closed engine: %v %v", d, err)
	}
	if v, err := closed.Verify(Zip215, nil, nil, Messages{}); err != ErrClosed || v != nil {
		t.Errorf("a closed engine: %v %v", v, err)
	}
	// A failed call gives no verdicts to misread: a bad rule.
	if v, err := e.Verify(Rule(7), make([]byte, 32), make([]byte, 64), messages(t, [][]byte{nil})); err == nil || v != nil {
		t.Errorf("rule 7: %v %v", v, err)
	}
	var nilEngine *Engine
	nilEngine.Close()
	if nilEngine.HasGPU() {
		t.Error("a nil engine has a GPU")
	}
}

// An engine and a batcher the program forgets (no Close) are freed by the garbage collector;
// closed ones are not freed twice.
func TestForgottenEnginesAreFreed(t *testing.T) {
	before := finalized.Load()
	func() {
		e, err := NewEngine(CPU, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.NewBatcher(0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if d, err := b.Sha256([]byte("abc")); err != nil || d != sha256.Sum256([]byte("abc")) {
			t.Fatalf("batcher sha256: %x %v", d, err)
		}
		closed, err := NewEngine(CPU, 1)
		if err != nil {
			t.Fatal(err)
		}
		closed.Close()
	}()
	deadline := time.Now().Add(20 * time.Second)
	for finalized.Load() < before+2 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	// A little longer, for a wrongly finalized closed engine to show.
	for i := 0; i < 5; i++ {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	if got := finalized.Load() - before; got != 2 {
		t.Errorf("%d of the 2 forgotten objects were finalized", got)
	}
}

// Hash chains against their definition on crypto/sha256, and Solana entries as next_hash
// computes them.
func TestHashChains(t *testing.T) {
	e := engine(t)
	rng := rand.New(rand.NewSource(7))
	var chains []HashChain
	var want [][32]byte
	for i := 0; i < 200; i++ {
		var c HashChain
		rng.Read(c.Start[:])
		c.Hashes = uint64(rng.Intn(50))
		h := c.Start
		for k := uint64(0); k < c.Hashes; k++ {
			h = sha256.Sum256(h[:])
		}
		if i%2 == 1 {
			var m [32]byte
			rng.Read(m[:])
			c.Mixin = &m
			h = sha256.Sum256(append(h[:], m[:]...))
		}
		chains = append(chains, c)
		want = append(want, h)
	}
	got, err := e.HashChains(chains)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("chain %d: %x, want %x", i, got[i], want[i])
		}
	}
	// Solana: a tick of 3 hashes, then an entry of transactions with 1 hash (the mixin only),
	// then one with 0 hashes and transactions (the mixin too).
	var start, mixin [32]byte
	start[0], mixin[0] = 1, 2
	tick := sha256.Sum256(start[:])
	tick = sha256.Sum256(tick[:])
	tick = sha256.Sum256(tick[:])
	tx1 := sha256.Sum256(append(tick[:], mixin[:]...))
	tx0 := sha256.Sum256(append(tx1[:], mixin[:]...))
	got, err = e.HashChains([]HashChain{
		SolanaEntry(start, 3, nil), SolanaEntry(tick, 1, &mixin), SolanaEntry(tx1, 0, &mixin),
	})
	if err != nil || got[0] != tick || got[1] != tx1 || got[2] != tx0 {
		t.Errorf("solana entries: %x %v", got, err)
	}
	if _, err := e.HashChains([]HashChain{{Hashes: 1<<24 + 1}}); err == nil {
		t.Error("a chain past 2^24 hashes was accepted")
	}
	if got, err := e.HashChains(nil); err != nil || len(got) != 0 {
		t.Errorf("no chains: %v %v", got, err)
	}
}
