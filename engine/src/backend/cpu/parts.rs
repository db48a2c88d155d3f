//! Spreading the parts of an output slice over a thread pool, the calling thread included,
//! without ever waiting for a worker that has not started.
//!
//! A batch that arrives at a quiet node finds the pool's workers asleep, and waking one costs
//! from tens of microseconds to a millisecond (measured on this project's VM after an idle
//! spell). A fork-join would make the caller wait for that wake-up even when it could have done
//! all the work itself in less time. Here the caller claims parts like any helper; when no part
//! is left it closes a gate, waits only for helpers already inside (each finishing the part in
//! its hands), and returns. Helpers that wake after that find the gate closed and leave without
//! touching the data. So a parallel call is never much slower than the serial loop.

use std::any::Any;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Set in `Shared::state` once the caller has closed the gate.
const CLOSED: usize = 1 << (usize::BITS - 1);

type PartFn<'a, T> = dyn Fn(usize, &mut [T]) + Sync + 'a;

/// What the caller shares with helper jobs. `base` and `f` point into the caller's frame: they are
/// dereferenced only by threads counted in `state` while the gate is open, and the caller does
/// not return before the gate is closed and that count is zero.
struct Shared<T> {
    base: *mut T,
    len: usize,
    part_len: usize,
    parts: usize,
    next: AtomicUsize,
    /// `CLOSED` | the number of helpers inside.
    state: AtomicUsize,
    f: *const PartFn<'static, T>,
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

// SAFETY: the raw pointers are used only under the gate protocol described on `Shared`; parts
// are disjoint (each index is claimed once through `next`), `T: Send` lets parts be written from
// other threads, and `f` is `Sync`.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Shared<T> {}

impl<T> Shared<T> {
    /// Claims and runs parts until none is left.
    ///
    /// # Safety
    /// The caller of `run` must still be inside `run` (true for the caller itself, and for a
    /// helper counted in `state` before the gate closed).
    unsafe fn work(&self) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.parts {
                return;
            }
            let start = i * self.part_len;
            let n = self.part_len.min(self.len - start);
            // SAFETY: part `i` lies inside `out` (start < len) and is claimed by this thread
            // alone; `out` and `f` outlive this call by the function's contract.
            let part = unsafe { std::slice::from_raw_parts_mut(self.base.add(start), n) };
            unsafe { (*self.f)(start, part) };
        }
    }

    fn record_panic(&self, payload: Box<dyn Any + Send>) {
        self.panic
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(payload);
    }
}

/// Calls `f(start, part)` for every part of `out` (`part_len` items, the last shorter), on the
/// calling thread and on up to `helpers` jobs handed to `spawn`. Returns when every part is done;
/// a panic in `f` is re-raised here.
pub(crate) fn run<'a, T: Send + 'static>(
    spawn: impl Fn(Box<dyn FnOnce() + Send + 'static>),
    helpers: usize,
    out: &mut [T],
    part_len: usize,
    f: &'a PartFn<'a, T>,
) {
    let parts = out.len().div_ceil(part_len.max(1));
    // SAFETY: only the lifetime is erased; see `Shared` for why the pointer is not used after
    // this function returns.
    let f: *const PartFn<'static, T> =
        unsafe { std::mem::transmute::<&'a PartFn<'a, T>, &'static PartFn<'static, T>>(f) };
    let shared = Arc::new(Shared {
        base: out.as_mut_ptr(),
        len: out.len(),
        part_len: part_len.max(1),
        parts,
        next: AtomicUsize::new(0),
        state: AtomicUsize::new(0),
        f,
        panic: Mutex::new(None),
    });
    for _ in 0..helpers.min(parts.saturating_sub(1)) {
        let s = Arc::clone(&shared);
        spawn(Box::new(move || {
            let mut cur = s.state.load(Ordering::Acquire);
            loop {
                if cur & CLOSED != 0 {
                    return; // woke too late: the caller did the work
                }
                match s.state.compare_exchange_weak(
                    cur,
                    cur + 1,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => break,
                    Err(now) => cur = now,
                }
            }
            // SAFETY: counted inside an open gate, so the caller is still in `run`.
            if let Err(p) = catch_unwind(AssertUnwindSafe(|| unsafe { s.work() })) {
                s.record_panic(p);
            }
            s.state.fetch_sub(1, Ordering::Release);
        }));
    }
    // SAFETY: this is the caller, inside `run`.
    let mine = catch_unwind(AssertUnwindSafe(|| unsafe { shared.work() }));
    shared.state.fetch_or(CLOSED, Ordering::AcqRel);
    let mut spins = 0u32;
    while shared.state.load(Ordering::Acquire) & !CLOSED != 0 {
        // Helpers inside are each finishing one part.
        if spins < 100 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
        spins += 1;
    }
    if let Err(p) = mine {
        resume_unwind(p);
    }
    let helper_panic = shared
        .panic
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let Some(p) = helper_panic {
        resume_unwind(p);
    }
}
