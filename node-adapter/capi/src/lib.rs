//! # vera-capi
//!
//! libvera: vera's engine behind a C ABI, for nodes written in C, C++, Go (cgo) or anything else
//! with a C FFI. The contract is `include/vera.h`; read it first. This file implements it.
//!
//! # Layout
//! - The handle, [`vera_engine`], owns an [`Engine`]; the engine is thread-safe, so one handle
//!   serves every thread of the caller.
//! - Batches come in columnar, as the engine takes them: the C arrays are borrowed as slices
//!   and checked ([`Messages::new`], [`SignatureBatch::new`]), never copied.
//! - Every entry point runs inside `guard`: arguments are checked before any slice is
//!   formed, a panic is caught at the boundary (unwinding into C is undefined behaviour), and
//!   the error message is kept per thread for [`vera_last_error`].
//!
//! The engine calls are synchronous and take whole batches. For callers that have one item at a
//! time on many threads (gossip, a mempool), [`vera_batcher`] gathers concurrent single calls
//! into engine batches: the in-process accelerator of `vera-node-adapter`, behind blocking C
//! calls.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

mod batcher;

pub use batcher::vera_batcher;

use ::vera_engine::{
    BackendChoice, Engine, Error, HashChain, MerkleScheme, Messages, ProofError, ProofVerdict,
    Proofs, Reason, Rule, SignatureBatch, Verdict,
};
use vera_node_adapter::chains::bitcoin::{Mutation, WitnessCommitment};

/// `VERA_OK`.
pub const VERA_OK: c_int = 0;
/// `VERA_ERR_INVALID_ARGUMENT`.
pub const VERA_ERR_INVALID_ARGUMENT: c_int = 1;
/// `VERA_ERR_BACKEND_UNAVAILABLE`.
pub const VERA_ERR_BACKEND_UNAVAILABLE: c_int = 2;
/// `VERA_ERR_ENGINE`.
pub const VERA_ERR_ENGINE: c_int = 3;
/// `VERA_ERR_INTERNAL`.
pub const VERA_ERR_INTERNAL: c_int = 4;

/// `VERA_VALID`: the verdict code of a valid signature.
pub const VERA_VALID: u8 = 0;
/// `VERA_INVALID_OTHER`: invalid for a reason newer than the header.
pub const VERA_INVALID_OTHER: u8 = 255;

/// The verdict code of a verdict, as `vera.h` numbers them.
pub fn verdict_code(v: Verdict) -> u8 {
    match v {
        Verdict::Valid => VERA_VALID,
        Verdict::Invalid(r) => match r {
            Reason::NonCanonicalS => 1,
            Reason::InvalidPublicKey => 2,
            Reason::SmallOrderPublicKey => 3,
            Reason::InvalidR => 4,
            Reason::SmallOrderR => 5,
            Reason::Equation => 6,
            _ => VERA_INVALID_OTHER,
        },
    }
}

/// The most CPU worker threads an engine may be asked for.
const MAX_THREADS: u32 = 4096;

/// An engine handle: opaque to C.
#[allow(non_camel_case_types)] // reason: the C name, as in vera.h
pub struct vera_engine {
    engine: Engine,
}

/// An error to return: the code and the message for `vera_last_error`.
struct Fail(c_int, String);

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        let code = match e {
            Error::ColumnLength { .. }
            | Error::Offsets(_)
            | Error::TooLarge { .. }
            | Error::LeafLength { .. }
            | Error::ProofRequest(_) => VERA_ERR_INVALID_ARGUMENT,
            Error::BackendUnavailable(..) => VERA_ERR_BACKEND_UNAVAILABLE,
            // GPU and thread-pool failures, and whatever later versions add.
            _ => VERA_ERR_ENGINE,
        };
        Fail(code, e.to_string())
    }
}

fn invalid(msg: impl Into<String>) -> Fail {
    Fail(VERA_ERR_INVALID_ARGUMENT, msg.into())
}

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_error(msg: &str) {
    // A message with a NUL byte in it would be cut there; none of vera's have one.
    let c = CString::new(msg.replace('\0', " ")).unwrap_or_default();
    // `try_with`: during thread teardown (a call from a C++ thread_local destructor) the slot
    // may be gone, and a panic here would abort the caller.
    let _ = LAST_ERROR.try_with(|e| {
        if let Ok(mut slot) = e.try_borrow_mut() {
            *slot = c;
        }
    });
}

/// Runs an entry point: clears the thread's error, catches any panic, records the message of
/// a failure and returns its code.
fn guard(f: impl FnOnce() -> Result<(), Fail>) -> c_int {
    set_error("");
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => VERA_OK,
        Ok(Err(Fail(code, msg))) => {
            set_error(&msg);
            code
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown".into());
            set_error(&format!("internal error (a bug in vera): {what}"));
            VERA_ERR_INTERNAL
        }
    }
}

/// A C array of `n` items of `size` bytes as a slice; NULL is allowed only when `n` is 0.
///
/// # Safety
/// Unless NULL, `ptr` must point to `n * size` readable bytes that stay valid and unchanged
/// for `'a`.
unsafe fn bytes<'a>(ptr: *const u8, n: usize, size: usize, what: &str) -> Result<&'a [u8], Fail> {
    let len = n
        .checked_mul(size)
        .filter(|&len| len <= isize::MAX as usize)
        .ok_or_else(|| invalid(format!("{what}: {n} items of {size} bytes is too large")))?;
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-null, and the caller guarantees `len` readable bytes for 'a (vera.h).
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// A C array of `n` fixed-size items as a slice of arrays.
///
/// # Safety
/// As for [`bytes`], with `size = N`.
unsafe fn arrays<'a, const N: usize>(
    ptr: *const u8,
    n: usize,
    what: &str,
) -> Result<&'a [[u8; N]], Fail> {
    // SAFETY: forwarded from the caller.
    let b = unsafe { bytes(ptr, n, N, what) }?;
    // [u8; N] has alignment 1 and size N, so `b` holds exactly `n` of them.
    let (items, rest) = b.as_chunks::<N>();
    debug_assert!(rest.is_empty());
    Ok(items)
}

/// The `n + 1` offsets at `ptr`, checked for NULL and alignment; `None` for NULL with `n` 0
/// (even an empty list has its one offset, but NULL is allowed there all the same).
///
/// # Safety
/// Unless NULL, `ptr` must point to `n + 1` readable `u32`s, valid and unchanged for `'a`.
unsafe fn offsets<'a>(n: usize, ptr: *const u32, what: &str) -> Result<Option<&'a [u32]>, Fail> {
    if ptr.is_null() {
        if n == 0 {
            return Ok(None);
        }
        return Err(invalid(format!("{what} offsets are NULL")));
    }
    let count = n
        .checked_add(1)
        .filter(|&c| c <= isize::MAX as usize / 4)
        .ok_or_else(|| invalid(format!("{what}: too many items")))?;
    if !ptr.is_aligned() {
        return Err(invalid(format!("{what} offsets are not 4-byte aligned")));
    }
    // SAFETY: non-null and, per the contract, `n + 1` readable u32s for 'a.
    Ok(Some(unsafe { std::slice::from_raw_parts(ptr, count) }))
}

/// The `n` `u64`s at `ptr`, checked for NULL and alignment (NULL only when `n` is 0).
///
/// # Safety
/// Unless NULL, `ptr` must point to `n` readable `u64`s, valid and unchanged for `'a`.
unsafe fn u64s<'a>(ptr: *const u64, n: usize, what: &str) -> Result<&'a [u64], Fail> {
    if n == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    if n > isize::MAX as usize / 8 {
        return Err(invalid(format!("{what}: too many items")));
    }
    if !ptr.is_aligned() {
        return Err(invalid(format!("{what} is not 8-byte aligned")));
    }
    // SAFETY: non-null, aligned, and per the contract `n` readable u64s for 'a.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// The `n` messages at `msg_bytes` / `msg_offsets` (n + 1 offsets; the buffer holds at least
/// `offsets[n]` bytes), checked.
///
/// # Safety
/// `msg_offsets` must point to `n + 1` readable `u32`s, and unless `offsets[n]` is 0,
/// `msg_bytes` to `offsets[n]` readable bytes, all valid and unchanged for `'a`.
unsafe fn messages<'a>(
    n: usize,
    msg_bytes: *const u8,
    msg_offsets: *const u32,
    what: &str,
) -> Result<Messages<'a>, Fail> {
    // SAFETY: forwarded from the caller.
    let Some(offsets) = unsafe { offsets(n, msg_offsets, what) }? else {
        return Ok(Messages::empty());
    };
    let end = offsets[n] as usize;
    // SAFETY: the contract promises `offsets[n]` readable bytes at `msg_bytes`.
    let data = unsafe { bytes(msg_bytes, end, 1, what) }?;
    Ok(Messages::new(data, offsets)?)
}

/// Checks a C output pointer for `len` bytes: NULL is allowed only when `len` is 0.
fn out_ptr(ptr: *mut u8, len: usize, what: &str) -> Result<*mut u8, Fail> {
    if ptr.is_null() && len > 0 {
        return Err(invalid(format!("{what} is NULL")));
    }
    Ok(ptr)
}

/// Copies `src` to a checked output pointer. Called only once the inputs have been read, and
/// through a raw copy rather than a `&mut` slice, so an output overlapping an input is fine.
///
/// # Safety
/// `dst` must come from [`out_ptr`] for at least `src.len()` bytes, writable (the contract).
unsafe fn write_out(dst: *mut u8, src: &[u8]) {
    if !src.is_empty() {
        // SAFETY: `dst` is non-null with `src.len()` writable bytes; `src` is vera's own buffer,
        // so the two do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst, src.len()) };
    }
}

/// Fails unless the engine gave one result per item.
fn expect_len<T>(got: &[T], n: usize) -> Result<(), Fail> {
    if got.len() != n {
        return Err(Fail(
            VERA_ERR_INTERNAL,
            format!(
                "internal error (a bug in vera): {} results for {n} items",
                got.len()
            ),
        ));
    }
    Ok(())
}

/// A `vera_rule` value.
fn rule_from(rule: c_int) -> Result<Rule, Fail> {
    match rule {
        0 => Ok(Rule::Strict),
        1 => Ok(Rule::Zip215),
        2 => Ok(Rule::Dalek),
        r => Err(invalid(format!("unknown rule {r}; expected 0, 1 or 2"))),
    }
}

/// Hands a new handle to C through `out` (checked non-null by the caller).
///
/// # Safety
/// `out` must be non-null and writable.
unsafe fn hand_out<T>(out: *mut *mut T, value: T) {
    // SAFETY: per the contract above; C gets the box back through `take_back`.
    unsafe { out.write(Box::into_raw(Box::new(value))) };
}

/// Frees a handle from `hand_out` (NULL is allowed); a panic while dropping it stays here.
///
/// # Safety
/// `handle` must be NULL or come from `hand_out`, not freed yet, with no call on it running
/// or to come.
unsafe fn take_back<T>(handle: *mut T) {
    if !handle.is_null() {
        // Dropping an engine or batcher stops threads and GPU devices: no panic may escape.
        let _ = catch_unwind(AssertUnwindSafe(|| {
            // SAFETY: the box came from hand_out and is freed once (the contract).
            drop(unsafe { Box::from_raw(handle) });
        }));
    }
}

fn engine_ref<'a>(engine: *const vera_engine) -> Result<&'a Engine, Fail> {
    // SAFETY: a non-null handle comes from vera_engine_new and is live (vera.h).
    unsafe { engine.as_ref() }
        .map(|e| &e.engine)
        .ok_or_else(|| invalid("engine is NULL"))
}

/// `vera_version`.
#[no_mangle]
pub extern "C" fn vera_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// `vera_last_error`.
#[no_mangle]
pub extern "C" fn vera_last_error() -> *const c_char {
    // The CString lives in the thread-local until the next call sets another; the pointer stays
    // valid until then, as vera.h says. During thread teardown there is no message to give.
    LAST_ERROR
        .try_with(|e| e.try_borrow().map(|s| s.as_ptr()).ok())
        .ok()
        .flatten()
        .unwrap_or(c"".as_ptr())
}

/// `vera_verdict_str`.
#[no_mangle]
pub extern "C" fn vera_verdict_str(code: u8) -> *const c_char {
    let name: &'static CStr = match code {
        0 => c"valid",
        1 => c"non-canonical-s",
        2 => c"invalid-public-key",
        3 => c"small-order-public-key",
        4 => c"invalid-r",
        5 => c"small-order-r",
        6 => c"equation",
        255 => c"other",
        _ => c"unknown",
    };
    name.as_ptr()
}

/// `vera_engine_new`.
///
/// # Safety
/// `out` must be NULL or point to a writable `vera_engine *`.
#[no_mangle]
pub unsafe extern "C" fn vera_engine_new(
    backend: c_int,
    threads: u32,
    out: *mut *mut vera_engine,
) -> c_int {
    guard(|| {
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        let backend = match backend {
            0 => BackendChoice::Auto,
            1 => BackendChoice::Cpu,
            2 => BackendChoice::Gpu,
            b => return Err(invalid(format!("unknown backend {b}; expected 0, 1 or 2"))),
        };
        if threads > MAX_THREADS {
            return Err(invalid(format!(
                "threads is {threads}; at most {MAX_THREADS} (0 for one per core)"
            )));
        }
        let mut b = Engine::builder().backend(backend);
        if threads > 0 {
            b = b.threads(threads as usize);
        }
        let engine = b.build()?;
        // SAFETY: `out` was checked non-null; writable per the contract.
        unsafe { hand_out(out, vera_engine { engine }) };
        Ok(())
    })
}

/// `vera_engine_free`.
///
/// # Safety
/// `engine` must be NULL or a handle from `vera_engine_new` not yet freed, with no call on it
/// running or to come.
#[no_mangle]
pub unsafe extern "C" fn vera_engine_free(engine: *mut vera_engine) {
    // SAFETY: forwarded from the caller.
    unsafe { take_back(engine) }
}

/// `vera_engine_has_gpu`.
///
/// # Safety
/// `engine` must be NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn vera_engine_has_gpu(engine: *const vera_engine) -> c_int {
    catch_unwind(AssertUnwindSafe(|| match engine_ref(engine) {
        Ok(e) => c_int::from(e.gpu_backend().is_some()),
        Err(_) => 0,
    }))
    .unwrap_or(0)
}

/// `vera_verify`.
///
/// # Safety
/// The pointers must satisfy vera.h: `public_keys` n * 32 and `signatures` n * 64 readable
/// bytes, messages as in `messages`, `verdicts` n writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vera_verify(
    engine: *const vera_engine,
    rule: c_int,
    n: usize,
    public_keys: *const u8,
    signatures: *const u8,
    msg_bytes: *const u8,
    msg_offsets: *const u32,
    verdicts: *mut u8,
) -> c_int {
    guard(|| {
        let engine = engine_ref(engine)?;
        let rule = rule_from(rule)?;
        // SAFETY (all four): the caller's arrays, per the contract above.
        let pks = unsafe { arrays::<32>(public_keys, n, "public_keys") }?;
        let sigs = unsafe { arrays::<64>(signatures, n, "signatures") }?;
        let msgs = unsafe { messages(n, msg_bytes, msg_offsets, "messages") }?;
        let out = out_ptr(verdicts, n, "verdicts")?;
        let result = engine.verify(rule, SignatureBatch::new(pks, sigs, msgs)?)?;
        expect_len(&result, n)?;
        let codes: Vec<u8> = result.into_iter().map(verdict_code).collect();
        // SAFETY: `out` was checked for n bytes; the inputs are no longer used.
        unsafe { write_out(out, &codes) };
        Ok(())
    })
}

/// `vera_sha256`.
///
/// # Safety
/// Messages as in `messages`; `digests` must point to n * 32 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vera_sha256(
    engine: *const vera_engine,
    n: usize,
    msg_bytes: *const u8,
    msg_offsets: *const u32,
    digests: *mut u8,
) -> c_int {
    // SAFETY: the caller's contract, passed on unchanged.
    unsafe { hash_into(engine, n, msg_bytes, msg_offsets, digests, false) }
}

/// `vera_sha256d`.
///
/// # Safety
/// As for `vera_sha256`.
#[no_mangle]
pub unsafe extern "C" fn vera_sha256d(
    engine: *const vera_engine,
    n: usize,
    msg_bytes: *const u8,
    msg_offsets: *const u32,
    digests: *mut u8,
) -> c_int {
    // SAFETY: the caller's contract, passed on unchanged.
    unsafe { hash_into(engine, n, msg_bytes, msg_offsets, digests, true) }
}

/// `vera_sha256` and, when `double`, `vera_sha256d`.
///
/// # Safety
/// As for `vera_sha256`.
unsafe fn hash_into(
    engine: *const vera_engine,
    n: usize,
    msg_bytes: *const u8,
    msg_offsets: *const u32,
    digests: *mut u8,
    double: bool,
) -> c_int {
    guard(|| {
        let engine = engine_ref(engine)?;
        // SAFETY: the caller's arrays, per the contract above.
        let msgs = unsafe { messages(n, msg_bytes, msg_offsets, "messages") }?;
        let len = n
            .checked_mul(32)
            .ok_or_else(|| invalid("digests: size overflows"))?;
        let out = out_ptr(digests, len, "digests")?;
        let result = if double {
            engine.sha256d(msgs)?
        } else {
            engine.sha256(msgs)?
        };
        expect_len(&result, n)?;
        // SAFETY: `out` was checked for n * 32 bytes; the inputs are no longer used.
        unsafe { write_out(out, result.as_flattened()) };
        Ok(())
    })
}

/// `vera_merkle_root`.
///
/// # Safety
/// Leaves as in `messages`; `root` must point to 32 writable bytes; `mutated` must be NULL or
/// point to one writable byte.
#[no_mangle]
pub unsafe extern "C" fn vera_merkle_root(
    engine: *const vera_engine,
    scheme: c_int,
    n: usize,
    leaf_bytes: *const u8,
    leaf_offsets: *const u32,
    root: *mut u8,
    mutated: *mut u8,
) -> c_int {
    guard(|| {
        let engine = engine_ref(engine)?;
        let scheme = scheme_of(scheme)?;
        // SAFETY: the caller's arrays, per the contract above.
        let leaves = unsafe { messages(n, leaf_bytes, leaf_offsets, "leaves") }?;
        let out = out_ptr(root, 32, "root")?;
        let r = engine.merkle_root(scheme, leaves)?;
        // SAFETY: `out` was checked for 32 bytes; the inputs are no longer used.
        unsafe { write_out(out, &r.root) };
        if !mutated.is_null() {
            // SAFETY: non-null, one writable byte (the contract).
            unsafe { mutated.write(u8::from(r.mutated == Some(true))) };
        }
        Ok(())
    })
}

/// A `vera_scheme` value.
fn scheme_of(scheme: c_int) -> Result<MerkleScheme, Fail> {
    match scheme {
        0 => Ok(MerkleScheme::Rfc6962),
        1 => Ok(MerkleScheme::Bitcoin),
        s => Err(invalid(format!("unknown scheme {s}; expected 0 or 1"))),
    }
}

/// `vera_verify_proofs`.
///
/// # Safety
/// `leaves` and `roots` must point to n * 32 readable bytes, `indexes` and `sizes` to n
/// readable `u64`s, `path_offsets` to n + 1 readable `u32`s and `path_hashes` to
/// `path_offsets[n] * 32` readable bytes; `verdicts` to n writable bytes.
#[no_mangle]
#[allow(clippy::too_many_arguments)] // reason: the C signature, one array per argument
pub unsafe extern "C" fn vera_verify_proofs(
    engine: *const vera_engine,
    scheme: c_int,
    n: usize,
    leaves: *const u8,
    indexes: *const u64,
    sizes: *const u64,
    roots: *const u8,
    path_hashes: *const u8,
    path_offsets: *const u32,
    verdicts: *mut u8,
) -> c_int {
    guard(|| {
        let engine = engine_ref(engine)?;
        let scheme = scheme_of(scheme)?;
        // SAFETY (all five): the caller's arrays, per the contract above.
        let leaves = unsafe { arrays::<32>(leaves, n, "leaves") }?;
        let roots = unsafe { arrays::<32>(roots, n, "roots") }?;
        let indexes = unsafe { u64s(indexes, n, "indexes") }?;
        let sizes = unsafe { u64s(sizes, n, "sizes") }?;
        let offsets = unsafe { offsets(n, path_offsets, "path") }?.unwrap_or(&[0]);
        let hashes = offsets.last().map_or(0, |&l| l as usize);
        // SAFETY: the contract promises `path_offsets[n]` hashes at `path_hashes`.
        let path = unsafe { arrays::<32>(path_hashes, hashes, "path hashes") }?;
        let proofs = Proofs::new(leaves, indexes, sizes, roots, path, offsets)?;
        let out = out_ptr(verdicts, n, "verdicts")?;
        let result = engine.verify_inclusion(scheme, proofs)?;
        expect_len(&result, n)?;
        let codes: Vec<u8> = result.iter().map(proof_code).collect();
        // SAFETY: `out` was checked for n bytes; the inputs are no longer used.
        unsafe { write_out(out, &codes) };
        Ok(())
    })
}

/// `vera_hash_chains`.
///
/// # Safety
/// `starts` must point to n * 32 readable bytes and `hashes` to n readable `u64`s; `mixins`
/// and `has_mixin`, both NULL or to n * 32 and n readable bytes; `ends` to n * 32 writable
/// bytes.
#[no_mangle]
pub unsafe extern "C" fn vera_hash_chains(
    engine: *const vera_engine,
    n: usize,
    starts: *const u8,
    hashes: *const u64,
    mixins: *const u8,
    has_mixin: *const u8,
    ends: *mut u8,
) -> c_int {
    guard(|| {
        let engine = engine_ref(engine)?;
        // SAFETY (all four): the caller's arrays, per the contract above.
        let starts = unsafe { arrays::<32>(starts, n, "starts") }?;
        let counts = unsafe { u64s(hashes, n, "hashes") }?;
        let mixed = match (mixins.is_null(), has_mixin.is_null()) {
            (true, true) => None,
            (false, false) => Some((unsafe { arrays::<32>(mixins, n, "mixins") }?, unsafe {
                bytes(has_mixin, n, 1, "has_mixin")
            }?)),
            _ => {
                return Err(invalid(
                    "mixins and has_mixin must both be NULL or both be given",
                ))
            }
        };
        let chains: Vec<HashChain> = (0..n)
            .map(|i| HashChain {
                start: starts[i],
                hashes: counts[i],
                mixin: mixed.and_then(|(m, has)| (has[i] != 0).then_some(m[i])),
            })
            .collect();
        let out = out_ptr(ends, n * 32, "ends")?;
        let result = engine.hash_chains(&chains)?;
        expect_len(&result, n)?;
        // SAFETY: `out` was checked for n * 32 bytes; the inputs are no longer used.
        unsafe { write_out(out, result.as_flattened()) };
        Ok(())
    })
}

/// `VERA_PROOF_*`: 0 for a valid proof, else why not.
fn proof_code(v: &ProofVerdict) -> u8 {
    match v {
        Ok(()) => 0,
        Err(ProofError::IndexOutOfRange { .. }) => 1,
        Err(ProofError::Length) => 2,
        Err(ProofError::RootMismatch) => 3,
        // Not an inclusion proof's verdict; a reason added later than this ABI.
        Err(_) => 255,
    }
}

/// `vera_block_check`, as vera.h lays it out.
#[repr(C)]
#[allow(non_camel_case_types)] // reason: the C name, as in vera.h
pub struct vera_block_check {
    /// Double SHA-256 of the header, internal order.
    pub block_hash: [u8; 32],
    /// The computed root of the txids.
    pub merkle_root: [u8; 32],
    /// The header's root.
    pub header_merkle_root: [u8; 32],
    /// The wtxids' root when a commitment was checked, else zeros.
    pub witness_root: [u8; 32],
    /// Transactions in the block.
    pub txs: u64,
    /// Transactions with witness data.
    pub segwit_txs: u64,
    /// 1 when the roots match and the tree is not mutated.
    pub merkle_ok: u8,
    /// 1 when identical siblings were hashed together.
    pub mutated: u8,
    /// 1 when the first transaction is a coinbase.
    pub coinbase: u8,
    /// A `VERA_WITNESS_*` code.
    pub witness_commitment: u8,
    /// A `VERA_MUTATION_*` code: 0 when the block is the one its header commits to.
    pub mutation: u8,
}

// vera.h's layout, which the C test asserts too: four hashes, two u64 counts, five flags.
const _: () = {
    assert!(std::mem::size_of::<vera_block_check>() == 152);
    assert!(std::mem::align_of::<vera_block_check>() == 8);
    assert!(std::mem::offset_of!(vera_block_check, witness_root) == 96);
    assert!(std::mem::offset_of!(vera_block_check, txs) == 128);
    assert!(std::mem::offset_of!(vera_block_check, merkle_ok) == 144);
    assert!(std::mem::offset_of!(vera_block_check, mutation) == 148);
};

/// `VERA_WITNESS_*`: what became of the block's witness commitment.
fn witness_code(w: &WitnessCommitment) -> u8 {
    match w {
        WitnessCommitment::Absent => 0,
        WitnessCommitment::Found {
            committed,
            computed,
            ..
        } if committed == computed => 1,
        WitnessCommitment::Found { .. } => 2,
        WitnessCommitment::BadReservedValue { .. } => 3,
    }
}

/// `VERA_MUTATION_*`: 0 for none, else the reason.
fn mutation_code(m: Option<Mutation>) -> u8 {
    match m {
        None => 0,
        Some(Mutation::MerkleRoot) => 1,
        Some(Mutation::DuplicateTxs) => 2,
        Some(Mutation::SixtyFourByteTx) => 3,
        Some(Mutation::WitnessReservedValue) => 4,
        Some(Mutation::WitnessMerkleRoot) => 5,
        Some(Mutation::UnexpectedWitness) => 6,
        // A reason added later than this ABI: still a mutation.
        Some(_) => 255,
    }
}

/// `vera_bitcoin_check_block`.
///
/// # Safety
/// `block` must point to `len` readable bytes (NULL if 0); `out` to a writable
/// `vera_block_check`.
#[no_mangle]
pub unsafe extern "C" fn vera_bitcoin_check_block(
    engine: *const vera_engine,
    block: *const u8,
    len: usize,
    segwit_active: c_int,
    out: *mut vera_block_check,
) -> c_int {
    use vera_node_adapter::chains::bitcoin::{check_block, BlockError};
    guard(|| {
        let engine = engine_ref(engine)?;
        // SAFETY: the caller's buffer, per the contract above.
        let raw = unsafe { bytes(block, len, 1, "block") }?;
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        let c = check_block(engine, raw).map_err(|e| match e {
            BlockError::Malformed(_) => invalid(e.to_string()),
            _ => Fail(VERA_ERR_ENGINE, e.to_string()),
        })?;
        let result = vera_block_check {
            block_hash: c.block_hash,
            merkle_root: c.merkle_root,
            header_merkle_root: c.header_merkle_root,
            witness_root: match c.witness {
                WitnessCommitment::Found { witness_root, .. } => witness_root,
                _ => [0; 32],
            },
            txs: c.txids.len() as u64,
            segwit_txs: c.segwit_txs as u64,
            merkle_ok: u8::from(c.merkle_ok()),
            mutated: u8::from(c.mutated),
            coinbase: u8::from(c.coinbase),
            witness_commitment: witness_code(&c.witness),
            mutation: mutation_code(c.mutation(segwit_active != 0)),
        };
        // SAFETY: `out` is non-null and writable (the contract); written after the block was
        // read.
        unsafe { out.write_unaligned(result) };
        Ok(())
    })
}

/// `VERA_TX_MALFORMED`: the status of bytes that are not a transaction.
pub const VERA_TX_MALFORMED: u8 = 254;

/// `vera_solana_verify_txs`.
///
/// # Safety
/// `tx_offsets` must point to n + 1 readable `u32`s and `tx_bytes` to `tx_offsets[n]` readable
/// bytes (the layout of `messages`); `statuses` must point to n writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vera_solana_verify_txs(
    engine: *const vera_engine,
    n: usize,
    tx_bytes: *const u8,
    tx_offsets: *const u32,
    statuses: *mut u8,
) -> c_int {
    guard(|| {
        let engine = engine_ref(engine)?;
        // SAFETY: the caller's arrays, per the contract above.
        let txs = unsafe { messages(n, tx_bytes, tx_offsets, "transactions") }?;
        let out = out_ptr(statuses, n, "statuses")?;
        let views: Vec<&[u8]> = txs.iter().collect();
        let checks = vera_node_adapter::chains::solana::verify_transactions(engine, &views)?;
        expect_len(&checks, n)?;
        let codes: Vec<u8> = checks
            .iter()
            .map(|c| match c {
                Err(_) => VERA_TX_MALFORMED,
                Ok(c) => c
                    .verdicts
                    .iter()
                    .find(|v| !v.is_valid())
                    .map_or(VERA_VALID, |v| verdict_code(*v)),
            })
            .collect();
        // SAFETY: `out` was checked for n bytes; the inputs are no longer used.
        unsafe { write_out(out, &codes) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdict_names_are_the_engine_reasons() {
        let reasons = [
            Reason::NonCanonicalS,
            Reason::InvalidPublicKey,
            Reason::SmallOrderPublicKey,
            Reason::InvalidR,
            Reason::SmallOrderR,
            Reason::Equation,
        ];
        for r in reasons {
            let code = verdict_code(Verdict::Invalid(r));
            assert_ne!(code, VERA_INVALID_OTHER, "{r} has a code of its own");
            // SAFETY: vera_verdict_str returns a static NUL-terminated string.
            let name = unsafe { CStr::from_ptr(vera_verdict_str(code)) };
            assert_eq!(name.to_str().unwrap(), r.as_str());
        }
        let valid = unsafe { CStr::from_ptr(vera_verdict_str(verdict_code(Verdict::Valid))) };
        assert_eq!(valid.to_str().unwrap(), "valid");
    }
}
