//! Hash chains on the GPU: `sha256_chains.wgsl`, one invocation per chain.
//!
//! A chain is sequential, so a GPU invocation runs it alone; the GPU's width is in running
//! thousands of chains at once. Long chains are taken in rounds: each dispatch takes every
//! chain at most [`MAX_BUDGET`] steps further and does at most about [`DISPATCH_STEPS`] steps in
//! all, a few dispatches make a submission, and each submission is waited for before the next,
//! the state staying on the GPU between them. So no dispatch or submission runs long (drivers
//! stop kernels that take seconds) however many or long the chains.

use super::{GpuBackend, Kernel};
use crate::error::{Error, Result};
use crate::hash_chains::{self, HashChain};

/// Invocations per workgroup in `sha256_chains.wgsl`.
const WORKGROUP: u32 = 64;

/// Bytes of state per chain: the hash, the plain steps left, the mixin flag, padding.
const STATE_BYTES: usize = 48;

/// Plain steps per chain per dispatch, at most: a few milliseconds of one GPU thread.
pub(crate) const MAX_BUDGET: u32 = 4096;

/// Plain steps per chain per dispatch, at least, however many chains.
const MIN_BUDGET: u32 = 16;

/// Steps per dispatch in all (every chain's budget together): tens of milliseconds of a large
/// GPU.
const DISPATCH_STEPS: u64 = 1 << 24;

/// Steps per submission in all, and dispatches per submission at most.
const SUBMIT_STEPS: u64 = 1 << 27;
const MAX_ROUNDS_PER_SUBMIT: u64 = 16;

fn kernel(gpu: &GpuBackend) -> &Kernel {
    gpu.sha256_chains
        .get_or_init(|| gpu.build_kernel(&vera_shaders::SHA256_CHAINS))
}

/// Every chain's end, in order. Runs of chains are sized to the adapter's binding limit.
pub(super) fn hash_chains(gpu: &GpuBackend, chains: &[HashChain]) -> Result<Vec<[u8; 32]>> {
    gpu.check()?;
    // Also what keeps each chain's steps within the kernel's u32.
    hash_chains::check(chains)?;
    let mut out = Vec::with_capacity(chains.len());
    if chains.is_empty() {
        return Ok(out);
    }
    let kernel = kernel(gpu);
    let per_run = (gpu.max_binding as usize / STATE_BYTES).max(1);
    for run in chains.chunks(per_run) {
        let count = run.len() as u32;
        let mut state = Vec::with_capacity(run.len() * STATE_BYTES);
        let mut mixins = Vec::with_capacity(run.len() * 32);
        for c in run {
            state.extend_from_slice(&c.start);
            state.extend_from_slice(&(c.hashes as u32).to_le_bytes());
            state.extend_from_slice(&u32::from(c.mixin.is_some()).to_le_bytes());
            state.extend_from_slice(&[0; 8]);
            mixins.extend_from_slice(&c.mixin.unwrap_or([0; 32]));
        }
        let longest = run.iter().map(|c| c.hashes).max().unwrap_or(0);
        // A budget per chain such that a dispatch does about DISPATCH_STEPS in all.
        let budget = (DISPATCH_STEPS / u64::from(count))
            .clamp(u64::from(MIN_BUDGET), u64::from(MAX_BUDGET)) as u32;
        let rounds = longest.div_ceil(u64::from(budget)).max(1);
        let per_submit =
            (SUBMIT_STEPS / (u64::from(budget) * u64::from(count))).clamp(1, MAX_ROUNDS_PER_SUBMIT);
        let state_buf = gpu.storage("vera chain state", state.len() as u64);
        let mixin_buf = gpu.storage("vera chain mixins", mixins.len() as u64);
        gpu.upload(&state_buf, 0, &state);
        gpu.upload(&mixin_buf, 0, &mixins);
        let grid = gpu.grid(count.div_ceil(WORKGROUP));
        let params = gpu.uniform([count, grid.0 * WORKGROUP, budget, 0]);
        let mut done = 0;
        let words = loop {
            let mut encoder = gpu.encoder("vera hash chains");
            let this = per_submit.min(rounds - done);
            for _ in 0..this {
                gpu.dispatch(
                    &mut encoder,
                    kernel,
                    "vera sha256_chains",
                    &[
                        params.as_entire_binding(),
                        super::bind(&state_buf, 0, state.len() as u64),
                        super::bind(&mixin_buf, 0, mixins.len() as u64),
                    ],
                    grid,
                );
            }
            done += this;
            if done == rounds {
                break gpu.submit_and_read(encoder, &[(&state_buf, 0, state.len() as u64)])?;
            }
            // Waited for, so that the time limit applies to each submission, not to them all.
            let index = gpu.submit(encoder);
            gpu.wait(index)?;
        };
        if words.len() != state.len() {
            return Err(Error::Gpu(format!(
                "{} bytes of chain state read back, {} expected",
                words.len(),
                state.len()
            )));
        }
        for s in words.chunks_exact(STATE_BYTES) {
            // Every chain must have finished: steps and mixin done.
            if s[32..40] != [0; 8] {
                return Err(Error::Gpu("a hash chain came back unfinished".into()));
            }
            let mut h = [0u8; 32];
            h.copy_from_slice(&s[..32]);
            out.push(h);
        }
        gpu.recycle([state_buf, mixin_buf]);
    }
    Ok(out)
}
