//! Merkle inclusion proofs on the GPU: `merkle_proofs.wgsl`, one invocation per proof.
//!
//! The host works out each proof's sides (and refuses impossible proofs) with the same
//! [`inclusion_sides`] as the CPU path; the GPU folds the paths and compares the roots.

use super::{GpuBackend, Kernel};
use crate::error::{Error, Result};
use crate::merkle::{MerkleScheme, ProofError};
use crate::proofs::{inclusion_sides, ProofVerdict, Proofs};

/// Invocations per workgroup in `merkle_proofs.wgsl`.
const WORKGROUP: u32 = 64;

/// Bytes per proof in the kernel's `items` binding: leaf, root, sides (2 words), path start and
/// length.
const ITEM_BYTES: usize = 80;

fn kernel(gpu: &GpuBackend, scheme: MerkleScheme) -> &Kernel {
    let (slot, value) = match scheme {
        MerkleScheme::Rfc6962 => (&gpu.merkle_proofs[0], 0.0),
        MerkleScheme::Bitcoin => (&gpu.merkle_proofs[1], 1.0),
    };
    slot.get_or_init(|| gpu.build_kernel_with(&vera_shaders::MERKLE_PROOFS, &[("SCHEME", value)]))
}

/// Every proof's verdict, in order. Runs of proofs are sized to the adapter's binding limit,
/// one submission each.
pub(super) fn verify_inclusion(
    gpu: &GpuBackend,
    scheme: MerkleScheme,
    proofs: Proofs<'_>,
) -> Result<Vec<ProofVerdict>> {
    gpu.check()?;
    // Every verdict is written below; an invalid default means a slip could never pass a proof.
    let mut out: Vec<ProofVerdict> = vec![Err(ProofError::RootMismatch); proofs.len()];
    // The proofs that can be one, with their sides; the others are answered here.
    let mut todo: Vec<(usize, u64)> = Vec::with_capacity(proofs.len());
    for (i, o) in out.iter_mut().enumerate() {
        let p = proofs
            .get(i)
            .ok_or_else(|| Error::Gpu("proof out of range".into()))?;
        match inclusion_sides(scheme, p.index, p.size, p.path.len()) {
            Ok(sides) => todo.push((i, sides)),
            Err(e) => *o = Err(e),
        }
    }
    if todo.is_empty() {
        return Ok(out);
    }
    let kernel = kernel(gpu, scheme);
    let limit = gpu.max_binding as usize;
    let mut items: Vec<u8> = Vec::new();
    let mut path: Vec<u8> = Vec::new();
    let mut at = 0;
    while at < todo.len() {
        items.clear();
        path.clear();
        let mut end = at;
        while let Some(&(i, sides)) = todo.get(end) {
            let p = proofs
                .get(i)
                .ok_or_else(|| Error::Gpu("proof out of range".into()))?;
            // A proof is at most 80 + 64 × 32 bytes, far below any binding limit, so every run
            // takes at least one.
            if end > at
                && (items.len() + ITEM_BYTES > limit || path.len() + 32 * p.path.len() > limit)
            {
                break;
            }
            items.extend_from_slice(p.leaf);
            items.extend_from_slice(p.root);
            items.extend_from_slice(&sides.to_le_bytes());
            items.extend_from_slice(&((path.len() / 32) as u32).to_le_bytes());
            items.extend_from_slice(&(p.path.len() as u32).to_le_bytes());
            path.extend(p.path.iter().flatten());
            end += 1;
        }
        let count = (end - at) as u32;
        // A binding is never empty: a run of empty paths still binds one hash's worth.
        let path_size = path.len().max(32) as u64;
        let items_buf = gpu.storage("vera proofs", items.len() as u64);
        let path_buf = gpu.storage("vera proof paths", path_size);
        let verdicts = gpu.storage("vera proof verdicts", u64::from(count) * 4);
        gpu.upload(&items_buf, 0, &items);
        gpu.upload(&path_buf, 0, &path);
        let grid = gpu.grid(count.div_ceil(WORKGROUP));
        let params = gpu.uniform([count, grid.0 * WORKGROUP, 0, 0]);
        let binding = |buffer, size| super::bind(buffer, 0, size);
        let mut encoder = gpu.encoder("vera merkle proofs");
        gpu.dispatch(
            &mut encoder,
            kernel,
            "vera merkle_proofs",
            &[
                params.as_entire_binding(),
                binding(&items_buf, items.len() as u64),
                binding(&path_buf, path_size),
                binding(&verdicts, u64::from(count) * 4),
            ],
            grid,
        );
        let words = gpu.submit_and_read(encoder, &[(&verdicts, 0, u64::from(count) * 4)])?;
        if words.len() != 4 * count as usize {
            return Err(Error::Gpu(format!(
                "{} bytes of proof verdicts read back, {} expected",
                words.len(),
                4 * count
            )));
        }
        for (&(i, _), w) in todo[at..end].iter().zip(words.chunks_exact(4)) {
            out[i] = if w == [1, 0, 0, 0] {
                Ok(())
            } else {
                Err(ProofError::RootMismatch)
            };
        }
        gpu.recycle([items_buf, path_buf, verdicts]);
        at = end;
    }
    Ok(out)
}
