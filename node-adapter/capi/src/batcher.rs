//! `vera_batcher`: the micro-batching accelerator for C callers.
//!
//! A node that verifies signatures one at a time, from many threads, gains nothing from a batch
//! engine on its own: every call is a batch of one. The batcher gathers concurrent calls into
//! engine batches (up to `max_batch` items, waiting at most `max_delay` for company), exactly as
//! `vera_node_adapter::accelerator` does for async Rust callers, and each C call blocks until
//! its own result is back. It owns a small tokio runtime that C threads never enter: a call
//! hands its request to the runtime and waits on a channel.

use std::ffi::{c_char, c_int};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use vera_node_adapter::accelerator::{Accelerator, AcceleratorError, Config};

use crate::{
    arrays, bytes, engine_ref, guard, hand_out, invalid, out_ptr, rule_from, take_back,
    vera_engine, verdict_code, write_out, Fail, VERA_ERR_ENGINE, VERA_ERR_INTERNAL,
};

/// The most items per batch a batcher may be given.
const MAX_BATCH: u32 = 1 << 20;
/// The longest wait for a batch to fill a batcher may be given, in microseconds.
const MAX_DELAY_US: u32 = 1_000_000;

/// A batcher handle: opaque to C.
#[allow(non_camel_case_types)] // reason: the C name, as in vera.h
pub struct vera_batcher {
    // Declared before the runtime: the lanes close before the runtime stops.
    acc: Accelerator,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for vera_batcher {
    fn drop(&mut self) {
        if let Some(rt) = self.rt.take() {
            // A batch still running on a blocking thread must not hold up the caller's free.
            rt.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

impl From<AcceleratorError> for Fail {
    fn from(e: AcceleratorError) -> Self {
        let code = match e {
            AcceleratorError::Invalid(_) => crate::VERA_ERR_INVALID_ARGUMENT,
            AcceleratorError::Engine(_) | AcceleratorError::Closed => VERA_ERR_ENGINE,
            // Busy comes only from try_ calls, which the batcher does not make.
            _ => VERA_ERR_INTERNAL,
        };
        Fail(code, e.to_string())
    }
}

impl vera_batcher {
    /// Runs `fut` on the batcher's runtime and waits for it on this (C) thread.
    fn run<T: Send + 'static>(
        &self,
        fut: impl Future<Output = Result<T, AcceleratorError>> + Send + 'static,
    ) -> Result<T, Fail> {
        let rt = self
            .rt
            .as_ref()
            .ok_or_else(|| Fail(VERA_ERR_INTERNAL, "batcher stopped".into()))?;
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        rt.spawn(async move {
            let _ = tx.send(fut.await);
        });
        let result = rx
            .recv()
            .map_err(|_| Fail(VERA_ERR_INTERNAL, "the batcher's task died".into()))?;
        Ok(result?)
    }
}

fn batcher_ref<'a>(b: *const vera_batcher) -> Result<&'a vera_batcher, Fail> {
    // SAFETY: a non-null handle comes from vera_batcher_new and is live (vera.h).
    unsafe { b.as_ref() }.ok_or_else(|| invalid("batcher is NULL"))
}

/// `vera_batcher_new`.
///
/// # Safety
/// `engine` must be NULL or a live engine handle; `out` NULL or a writable `vera_batcher *`.
#[no_mangle]
pub unsafe extern "C" fn vera_batcher_new(
    engine: *const vera_engine,
    max_batch: u32,
    max_delay_us: u32,
    out: *mut *mut vera_batcher,
) -> c_int {
    guard(|| {
        let engine = engine_ref(engine)?.clone();
        if out.is_null() {
            return Err(invalid("out is NULL"));
        }
        if max_batch > MAX_BATCH || max_delay_us > MAX_DELAY_US {
            return Err(invalid(format!(
                "max_batch is at most {MAX_BATCH} and max_delay_us at most {MAX_DELAY_US}"
            )));
        }
        let defaults = Config::default();
        let config = Config {
            max_batch: match max_batch {
                0 => defaults.max_batch,
                n => n as usize,
            },
            max_delay: match max_delay_us {
                0 => defaults.max_delay,
                us => Duration::from_micros(us.into()),
            },
            ..defaults
        };
        // One worker is plenty: it only gathers requests and hands batches to the engine,
        // whose work runs on blocking threads and the engine's own pool.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("vera-batcher")
            .enable_time()
            .build()
            .map_err(|e| Fail(VERA_ERR_ENGINE, format!("cannot start the batcher: {e}")))?;
        let acc = {
            let _inside = rt.enter();
            Accelerator::new(engine, config)
        };
        // SAFETY: `out` was checked non-null; writable per the contract.
        unsafe { hand_out(out, vera_batcher { acc, rt: Some(rt) }) };
        Ok(())
    })
}

/// `vera_batcher_free`.
///
/// # Safety
/// `batcher` must be NULL or a handle from `vera_batcher_new` not yet freed, with no call on it
/// running or to come.
#[no_mangle]
pub unsafe extern "C" fn vera_batcher_free(batcher: *mut vera_batcher) {
    // SAFETY: forwarded from the caller.
    unsafe { take_back(batcher) }
}

/// `vera_batcher_verify`.
///
/// # Safety
/// `public_key` 32 and `signature` 64 readable bytes, `msg` `msg_len` readable bytes (NULL if
/// 0), `verdict` one writable byte.
#[no_mangle]
pub unsafe extern "C" fn vera_batcher_verify(
    batcher: *const vera_batcher,
    rule: c_int,
    public_key: *const u8,
    msg: *const u8,
    msg_len: usize,
    signature: *const u8,
    verdict: *mut u8,
) -> c_int {
    guard(|| {
        let b = batcher_ref(batcher)?;
        let rule = rule_from(rule)?;
        // SAFETY (all three): the caller's buffers, per the contract above.
        let pk = unsafe { arrays::<32>(public_key, 1, "public_key") }?[0];
        let sig = unsafe { arrays::<64>(signature, 1, "signature") }?[0];
        let msg = unsafe { bytes(msg, msg_len, 1, "msg") }?.to_vec();
        let out = out_ptr(verdict, 1, "verdict")?;
        let acc = b.acc.clone();
        let v = b.run(async move { acc.verify(rule, pk, msg, sig).await })?;
        // SAFETY: `out` was checked for one byte.
        unsafe { write_out(out, &[verdict_code(v)]) };
        Ok(())
    })
}

/// `vera_batcher_sha256`.
///
/// # Safety
/// `msg` `msg_len` readable bytes (NULL if 0), `digest` 32 writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vera_batcher_sha256(
    batcher: *const vera_batcher,
    msg: *const u8,
    msg_len: usize,
    digest: *mut u8,
) -> c_int {
    guard(|| {
        let b = batcher_ref(batcher)?;
        // SAFETY: the caller's buffer, per the contract above.
        let msg = unsafe { bytes(msg, msg_len, 1, "msg") }?.to_vec();
        let out = out_ptr(digest, 32, "digest")?;
        let acc = b.acc.clone();
        let d = b.run(async move { acc.sha256(msg).await })?;
        // SAFETY: `out` was checked for 32 bytes.
        unsafe { write_out(out, &d) };
        Ok(())
    })
}

/// `vera_batcher_metrics`.
///
/// # Safety
/// `buf` must be NULL (with `len` 0) or point to `len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn vera_batcher_metrics(
    batcher: *const vera_batcher,
    buf: *mut c_char,
    len: usize,
) -> usize {
    catch_unwind(AssertUnwindSafe(|| {
        let Ok(b) = batcher_ref(batcher) else {
            return 0;
        };
        let text = b.acc.metrics_text();
        if !buf.is_null() && len > 0 {
            let n = text.len().min(len - 1);
            // SAFETY: `buf` has `len` writable bytes; n + 1 <= len; `text` is ours.
            unsafe {
                std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), n);
                buf.add(n).write(0);
            }
        }
        text.len()
    }))
    .unwrap_or(0)
}
