//! A self-test of GPU Edwards25519 point decompression (`edwards_u32.wgsl`, bit-exact with
//! curve25519-dalek 4's `CompressedEdwardsY::decompress`): [`GpuBackend::decompress_selftest`]
//! runs `decompress_selftest.wgsl` on 32-byte encodings and returns what it decoded, for the
//! tests to compare with dalek.

use vera_shaders::DECOMPRESS_SELFTEST_WORDS;

use super::GpuBackend;
use crate::error::{Error, Result};

/// Invocations per workgroup of `decompress_selftest.wgsl`.
const WORKGROUP: u32 = 64;

/// What the kernel decoded from one encoding: whether it decodes, and the canonical encodings of
/// the point's affine x and y (meaningless where it does not decode).
type Decoded = (bool, [u8; 32], [u8; 32]);

/// Bytes of results per encoding.
const OUT_BYTES: u64 = DECOMPRESS_SELFTEST_WORDS as u64 * 4;

/// Runs `decompress_selftest.wgsl` on `encodings`, in runs that fit the storage-binding limit.
/// For each: whether it decodes, and the canonical encodings of the decoded point's affine x and
/// y (zeros' worth of meaning where it does not decode). The kernel's other outputs — the
/// consistency of the extended point (T·Z = X·Y) and `ge_to_bytes`, the compressed
/// re-encoding — are checked here against (x, y): a mismatch is an error.
pub(super) fn decompress_selftest(
    gpu: &GpuBackend,
    encodings: &[[u8; 32]],
) -> Result<Vec<Decoded>> {
    gpu.check()?;
    let n = encodings.len();
    let per_run = (gpu.max_binding / OUT_BYTES).max(1) as usize;
    let mut out = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let end = n.min(start + per_run);
        let count = (end - start) as u32;
        let input: Vec<u8> = encodings[start..end].concat();
        let in_buf = gpu.storage("vera decompress encodings", input.len() as u64);
        gpu.upload(&in_buf, 0, &input);
        let out_size = u64::from(count) * OUT_BYTES;
        let out_buf = gpu.storage("vera decompress results", out_size);
        let grid = gpu.grid(count.div_ceil(WORKGROUP));
        let params = gpu.uniform([count, grid.0 * WORKGROUP, 0, 0]);
        let mut encoder = gpu.encoder("vera decompress_selftest");
        gpu.dispatch(
            &mut encoder,
            gpu.decompress_selftest.get_or_init(|| {
                super::Kernel::build(&gpu.device, &vera_shaders::DECOMPRESS_SELFTEST)
            }),
            "vera decompress_selftest",
            &[
                params.as_entire_binding(),
                wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &in_buf,
                    offset: 0,
                    size: wgpu::BufferSize::new(input.len() as u64),
                }),
                wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                    buffer: &out_buf,
                    offset: 0,
                    size: wgpu::BufferSize::new(out_size),
                }),
            ],
            grid,
        );
        let bytes = gpu.submit_and_read(encoder, &[(&out_buf, 0, out_size)])?;
        for (k, r) in bytes.chunks_exact(OUT_BYTES as usize).enumerate() {
            let group = |g: usize| -> [u8; 32] { r[g * 32..g * 32 + 32].try_into().expect("32") };
            let ok = r[0] != 0;
            let (x, y) = (group(1), group(2));
            if ok {
                let mut compressed = y;
                compressed[31] |= (x[0] & 1) << 7;
                if r[4] == 0 || group(3) != compressed {
                    return Err(Error::Gpu(format!(
                        "decompress_selftest: encoding {}: inconsistent point (T·Z = X·Y: {}, \
                         ge_to_bytes {} against (x, y) {})",
                        start + k,
                        r[4] != 0,
                        hex(&group(3)),
                        hex(&compressed)
                    )));
                }
            }
            out.push((ok, x, y));
        }
        gpu.recycle([in_buf, out_buf]);
        start = end;
    }
    Ok(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl GpuBackend {
    /// Runs the point-decompression self-test kernel (`decompress_selftest.wgsl`) on
    /// `encodings`; for tests of the GPU's Edwards25519 decoding against curve25519-dalek. Each
    /// result is (decodes, canonical x, canonical y) of the decoded point.
    #[doc(hidden)]
    pub fn decompress_selftest(&self, encodings: &[[u8; 32]]) -> Result<Vec<Decoded>> {
        decompress_selftest(self, encodings)
    }
}
