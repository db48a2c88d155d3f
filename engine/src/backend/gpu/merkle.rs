//! Merkle roots on the GPU: leaves are uploaded (or hashed on the GPU) a super-chunk at a time,
//! each super-chunk reduced at once by `merkle_reduce.wgsl` to its nodes at height 8; then passes
//! over those nodes, all in one submission, down to the root. Only the root and the `mutated`
//! flag are read back.

use std::ops::Range;

use super::GpuBackend;
use crate::backend::cpu::merkle::empty_root;
use crate::batch::Messages;
use crate::error::Result;
use crate::merkle::{MerkleRoot, MerkleScheme};

const CHUNK: u64 = vera_shaders::MERKLE_CHUNK as u64;

/// Nodes per super-chunk at most: 32 MiB of leaves. Big trees then stream: the host copies the
/// next super-chunk's leaves while the GPU takes in and hashes this one, where one upload of a
/// whole 2^24-leaf tree (512 MiB) would make the GPU wait for all of it, at the slow end of
/// the upload path (DESIGN.md: 4 GB/s at 256 MiB against 10 GB/s for smaller writes).
const MAX_SUPER_NODES: u64 = 1 << 20;

/// Nodes per super-chunk: what one binding holds, at most [`MAX_SUPER_NODES`], a multiple of
/// 8 chunks so that each super-chunk's parents start on a 256-byte boundary (the strictest
/// offset alignment).
fn super_chunk(gpu: &GpuBackend) -> u64 {
    (gpu.max_binding / 32).min(MAX_SUPER_NODES) / (8 * CHUNK) * 8 * CHUNK
}

fn scheme_id(scheme: MerkleScheme) -> u32 {
    match scheme {
        MerkleScheme::Rfc6962 => 0,
        MerkleScheme::Bitcoin => 1,
    }
}

/// The root over already-hashed leaves (RFC 6962 leaf hashes, or Bitcoin txids).
pub(super) fn root_from_hashes(
    gpu: &GpuBackend,
    scheme: MerkleScheme,
    hashes: &[[u8; 32]],
) -> Result<MerkleRoot> {
    gpu.check()?;
    match hashes {
        [] => return Ok(trivial(scheme, empty_root(scheme), 0)),
        [only] => return Ok(trivial(scheme, *only, 1)),
        _ => {}
    }
    reduce(gpu, scheme, hashes.len() as u64, |_, _, nodes, range| {
        let bytes = hashes[range.start as usize..range.end as usize].as_flattened();
        gpu.upload(nodes, 0, bytes);
        Ok(Vec::new())
    })
}

/// The RFC 6962 root over leaf data: leaves hashed with the 0x00 prefix on the GPU.
pub(super) fn rfc6962_root(gpu: &GpuBackend, leaves: Messages<'_>) -> Result<MerkleRoot> {
    gpu.check()?;
    if leaves.is_empty() {
        return Ok(trivial(
            MerkleScheme::Rfc6962,
            empty_root(MerkleScheme::Rfc6962),
            0,
        ));
    }
    let n = leaves.len() as u64;
    reduce(
        gpu,
        MerkleScheme::Rfc6962,
        n,
        |gpu, encoder, nodes, range| {
            let mut temps = Vec::new();
            let mut start = range.start as usize;
            while start < range.end as usize {
                let whole = super::sha256::next_run(gpu, leaves, start);
                let run = whole.start..whole.end.min(range.end as usize);
                let at = (start as u64 - range.start) * 32;
                if run.is_empty() {
                    // A leaf too long for the GPU: hashed here, with the same result.
                    let leaf = crate::backend::cpu::merkle::rfc6962_leaf(
                        leaves.get(start).unwrap_or_default(),
                    );
                    gpu.upload(nodes, at, &leaf);
                    start += 1;
                    continue;
                }
                // Hashed into a buffer of its own, then copied into place: `at` is a multiple of
                // 32, while a binding offset must meet the adapter's alignment (often 256).
                let size = run.len() as u64 * 32;
                let digests = gpu.storage("vera merkle leaf hashes", size);
                temps.extend(super::sha256::record(
                    gpu,
                    encoder,
                    leaves,
                    run.clone(),
                    super::sha256::Framing::Prefixed(0),
                    &digests,
                ));
                encoder
                    .encoder
                    .copy_buffer_to_buffer(&digests, 0, nodes, at, size);
                temps.push(digests);
                start = run.end;
            }
            Ok(temps)
        },
    )
}

fn trivial(scheme: MerkleScheme, root: [u8; 32], leaves: u64) -> MerkleRoot {
    MerkleRoot {
        root,
        leaves,
        mutated: (scheme == MerkleScheme::Bitcoin).then_some(false),
    }
}

/// Reduces `n` leaves, which `fill` writes (uploads or records hashing) into a nodes buffer one
/// super-chunk `range` at a time.
fn reduce(
    gpu: &GpuBackend,
    scheme: MerkleScheme,
    n: u64,
    fill: impl Fn(
        &GpuBackend,
        &mut super::profile::Recording,
        &wgpu::Buffer,
        Range<u64>,
    ) -> Result<Vec<wgpu::Buffer>>,
) -> Result<MerkleRoot> {
    let mut count = n.div_ceil(CHUNK);
    let flags = gpu.storage("vera merkle flags", 4);
    let mut parents = gpu.storage("vera merkle parents", count * 32);
    gpu.upload(&flags, 0, &[0; 4]);
    let step = super_chunk(gpu);
    let mut start = 0;
    let mut spare = Vec::new();
    let mut in_flight = std::collections::VecDeque::new();
    // The last super-chunk's commands, the remaining passes and the readback go in one
    // submission: a small tree (one super-chunk) is a single round trip.
    let mut last = None;
    while start < n {
        let end = (start + step).min(n);
        let nodes = gpu.storage("vera merkle leaves", (end - start) * 32);
        let mut encoder = gpu.encoder("vera merkle leaves");
        let temps = fill(gpu, &mut encoder, &nodes, start..end)?;
        pass(
            gpu,
            &mut encoder,
            scheme,
            (&nodes, 0, end - start),
            (&parents, start / CHUNK * 32),
            &flags,
            n > CHUNK,
        );
        if end == n {
            last = Some((encoder, temps, nodes));
            break;
        }
        // Up to two super-chunks in flight: the next one's upload overlaps this one's hashing,
        // and memory stays bounded. The queue runs submissions in order, so buffers recycled
        // here are only rewritten after this submission has read them.
        in_flight.push_back(gpu.submit(encoder));
        if in_flight.len() > 2 {
            if let Some(oldest) = in_flight.pop_front() {
                gpu.wait(oldest)?;
            }
        }
        gpu.recycle(temps.into_iter().chain([nodes]));
        start = end;
    }
    // The remaining passes, in the last super-chunk's submission.
    let (mut encoder, last_temps) = match last {
        Some((encoder, temps, nodes)) => (encoder, temps.into_iter().chain([nodes]).collect()),
        None => (gpu.encoder("vera merkle passes"), Vec::new()),
    };
    while count > 1 {
        let next = count.div_ceil(CHUNK);
        let out = gpu.storage("vera merkle parents", next * 32);
        // A level larger than one binding is bound a super-chunk at a time.
        let mut s = 0;
        while s < count {
            let e = (s + step).min(count);
            pass(
                gpu,
                &mut encoder,
                scheme,
                (&parents, s * 32, e - s),
                (&out, s / CHUNK * 32),
                &flags,
                count > CHUNK,
            );
            s = e;
        }
        spare.push(std::mem::replace(&mut parents, out));
        count = next;
    }
    let bytes = gpu.submit_and_read(encoder, &[(&parents, 0, 32), (&flags, 0, 4)])?;
    gpu.recycle(spare.into_iter().chain(last_temps).chain([parents, flags]));
    let mut root = [0u8; 32];
    root.copy_from_slice(&bytes[..32]);
    Ok(MerkleRoot {
        root,
        leaves: n,
        mutated: (scheme == MerkleScheme::Bitcoin).then_some(bytes[32] != 0),
    })
}

/// Records one reduction pass over `count` nodes of `input`, writing their parents at height 8
/// into `output` at the given byte offset.
fn pass(
    gpu: &GpuBackend,
    encoder: &mut super::profile::Recording,
    scheme: MerkleScheme,
    (input, in_offset, count): (&wgpu::Buffer, u64, u64),
    (output, out_offset): (&wgpu::Buffer, u64),
    flags: &wgpu::Buffer,
    lift: bool,
) {
    let groups = count.div_ceil(CHUNK) as u32;
    let grid = gpu.grid(groups);
    let params = gpu.uniform([count as u32, scheme_id(scheme), u32::from(lift), grid.0]);
    let binding = super::bind;
    gpu.dispatch(
        encoder,
        &gpu.merkle[scheme_id(scheme) as usize],
        "vera merkle_reduce",
        &[
            params.as_entire_binding(),
            binding(input, in_offset, count * 32),
            binding(output, out_offset, u64::from(groups) * 32),
            binding(flags, 0, 4),
        ],
        grid,
    );
}
