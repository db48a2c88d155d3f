//! Kernel times measured on the GPU itself, from timestamp queries written at the start and end
//! of every compute pass: what a batch's end-to-end time is made of (each kernel, and by
//! difference the transfers and the host), where only end-to-end times are seen otherwise.
//!
//! Off by default: each submission then carries a query set, a resolve and one more readback.
//! Turned on by [`GpuOptions::profile`](super::GpuOptions) or `VERA_GPU_PROFILE=1`, on adapters
//! with TIMESTAMP_QUERY; `vera bench --gpu-profile` prints the table.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The environment variable that turns kernel timing on.
pub const PROFILE_ENV: &str = "VERA_GPU_PROFILE";

/// Compute passes timed per submission at most (later ones run untimed).
const MAX_PASSES: u32 = 64;

/// One kernel's dispatches of one size.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelTime {
    /// The dispatch's label (the kernel, and for Ed25519 verification which kernel).
    pub kernel: &'static str,
    /// Workgroups dispatched (which follows the batch size).
    pub workgroups: u64,
    /// Dispatches timed.
    pub dispatches: u64,
    /// Their total time on the GPU.
    pub total: Duration,
    /// The shortest of them.
    pub min: Duration,
}

impl KernelTime {
    /// The mean time of one dispatch.
    pub fn mean(&self) -> Duration {
        self.total / u32::try_from(self.dispatches.max(1)).unwrap_or(u32::MAX)
    }
}

/// Totals per (kernel, workgroups), filled as submissions complete.
pub(super) struct Profiler {
    /// Nanoseconds per timestamp tick.
    period: f64,
    times: Arc<Mutex<BTreeMap<(&'static str, u64), KernelTime>>>,
    /// Query sets and their buffers, reused once their results are read: creating them for
    /// every submission would add its own cost to the times around the kernels.
    spare: Arc<Mutex<Vec<Slot>>>,
}

/// A query set for one submission's passes, and the buffers its results go through.
struct Slot {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
}

impl Slot {
    fn new(device: &wgpu::Device) -> Slot {
        let size = u64::from(2 * MAX_PASSES) * 8;
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        Slot {
            set: device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("vera kernel timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * MAX_PASSES,
            }),
            resolve: buffer(
                "vera timestamps resolve",
                wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            ),
            read: buffer(
                "vera timestamps readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
        }
    }
}

impl Profiler {
    pub(super) fn new(queue: &wgpu::Queue) -> Profiler {
        Profiler {
            period: f64::from(queue.get_timestamp_period()),
            times: Arc::default(),
            spare: Arc::default(),
        }
    }

    fn slot(&self, device: &wgpu::Device) -> Slot {
        // The pool's lock is not held while a new slot is made.
        let spare = lock(&self.spare).pop();
        spare.unwrap_or_else(|| Slot::new(device))
    }

    pub(super) fn times(&self) -> Vec<KernelTime> {
        lock(&self.times).values().cloned().collect()
    }

    pub(super) fn reset(&self) {
        lock(&self.times).clear();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A command encoder and, when profiling, the timestamp queries of its passes.
pub(super) struct Recording {
    pub(super) encoder: wgpu::CommandEncoder,
    stamps: Option<Stamps>,
}

struct Stamps {
    slot: Slot,
    /// Per timed pass: its label and workgroups.
    passes: Vec<(&'static str, u64)>,
}

impl Recording {
    pub(super) fn new(
        device: &wgpu::Device,
        label: &'static str,
        profiler: Option<&Profiler>,
    ) -> Recording {
        let encoder =
            device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) });
        let stamps = profiler.map(|p| Stamps {
            slot: p.slot(device),
            passes: Vec::new(),
        });
        Recording { encoder, stamps }
    }

    /// Begins a compute pass, timed when profiling (and fewer than [`MAX_PASSES`] are).
    pub(super) fn pass(&mut self, label: &'static str, workgroups: u64) -> wgpu::ComputePass<'_> {
        let timestamp_writes = match &mut self.stamps {
            Some(s) if (s.passes.len() as u32) < MAX_PASSES => {
                let i = s.passes.len() as u32;
                s.passes.push((label, workgroups));
                Some(wgpu::ComputePassTimestampWrites {
                    query_set: &s.slot.set,
                    beginning_of_pass_write_index: Some(2 * i),
                    end_of_pass_write_index: Some(2 * i + 1),
                })
            }
            _ => None,
        };
        self.encoder
            .begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some(label),
                timestamp_writes,
            })
    }

    /// Finishes the recording: with timestamps, resolves them into a buffer that is mapped once
    /// the submission completes, and adds the passes' times to `profiler` then (in the map
    /// callback, which runs in a later device poll).
    pub(super) fn finish(
        mut self,
        profiler: Option<&Profiler>,
    ) -> (wgpu::CommandBuffer, Option<Box<dyn FnOnce()>>) {
        let (Some(s), Some(p)) = (self.stamps.take(), profiler) else {
            return (self.encoder.finish(), None);
        };
        if s.passes.is_empty() {
            lock(&p.spare).push(s.slot);
            return (self.encoder.finish(), None);
        }
        let queries = 2 * s.passes.len() as u32;
        let size = u64::from(queries) * 8;
        let slot = s.slot;
        self.encoder
            .resolve_query_set(&slot.set, 0..queries, &slot.resolve, 0);
        self.encoder
            .copy_buffer_to_buffer(&slot.resolve, 0, &slot.read, 0, size);
        let times = Arc::clone(&p.times);
        let spare = Arc::clone(&p.spare);
        let period = p.period;
        let passes = s.passes;
        // Mapped after the submission: the caller calls this once it has submitted. The slot
        // goes back to the spares once read (a failed map drops it).
        let after_submit = move || {
            let read = slot.read.clone();
            read.slice(..size).map_async(wgpu::MapMode::Read, move |r| {
                if r.is_err() {
                    return;
                }
                if let Ok(view) = slot.read.slice(..size).get_mapped_range() {
                    let ticks: Vec<u64> = view
                        .chunks_exact(8)
                        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                        .collect();
                    let mut t = lock(&times);
                    for (j, &(kernel, workgroups)) in passes.iter().enumerate() {
                        let ns = ticks[2 * j + 1].saturating_sub(ticks[2 * j]) as f64 * period;
                        let d = Duration::from_nanos(ns as u64);
                        let e = t.entry((kernel, workgroups)).or_insert(KernelTime {
                            kernel,
                            workgroups,
                            dispatches: 0,
                            total: Duration::ZERO,
                            min: Duration::MAX,
                        });
                        e.dispatches += 1;
                        e.total += d;
                        e.min = e.min.min(d);
                    }
                }
                slot.read.unmap();
                lock(&spare).push(slot);
            });
        };
        (self.encoder.finish(), Some(Box::new(after_submit)))
    }
}
