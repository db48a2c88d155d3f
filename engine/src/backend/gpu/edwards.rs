//! A self-test of GPU Edwards25519 point decompression (`edwards.wgsl`, bit-exact with
//! curve25519-dalek 4's `CompressedEdwardsY::decompress`): [`GpuBackend::decompress_selftest`]
//! runs `decompress_selftest.wgsl` on 32-byte encodings and returns what it decoded, for the
//! tests to compare with dalek.

use vera_shaders::DECOMPRESS_SELFTEST_WORDS;

use super::{FieldPath, GpuBackend};
use crate::error::{Error, Result};

/// What the kernel decoded from one encoding: whether it decodes, and the canonical encodings of
/// the point's affine x and y (meaningless where it does not decode).
type Decoded = (bool, [u8; 32], [u8; 32]);

/// Bytes of results per encoding.
const OUT_BYTES: u64 = DECOMPRESS_SELFTEST_WORDS as u64 * 4;

/// Runs `decompress_selftest.wgsl` on `path`'s field part on `encodings`, in runs that fit the
/// storage-binding limit. For each: whether it decodes, and the canonical encodings of the
/// decoded point's affine x and y (zeros' worth of meaning where it does not decode). The kernel's other outputs — the
/// consistency of the extended point (T·Z = X·Y) and `ge_to_bytes`, the compressed
/// re-encoding — are checked here against (x, y): a mismatch is an error.
pub(super) fn decompress_selftest(
    gpu: &GpuBackend,
    path: FieldPath,
    encodings: &[[u8; 32]],
) -> Result<Vec<Decoded>> {
    let kernel = gpu.decompress_selftest.get(
        gpu,
        path,
        (
            &vera_shaders::DECOMPRESS_SELFTEST,
            &vera_shaders::DECOMPRESS_SELFTEST_U64,
        ),
    )?;
    let bytes = gpu.run_fixed_width(
        kernel,
        "vera decompress_selftest",
        &encodings.concat(),
        32,
        OUT_BYTES as usize,
    )?;
    let mut out = Vec::with_capacity(encodings.len());
    for (k, r) in bytes.chunks_exact(OUT_BYTES as usize).enumerate() {
        let group = |g: usize| -> [u8; 32] { r[g * 32..g * 32 + 32].try_into().expect("32") };
        let ok = r[0] != 0;
        let (x, y) = (group(1), group(2));
        if ok {
            let mut compressed = y;
            compressed[31] |= (x[0] & 1) << 7;
            if r[4] == 0 || group(3) != compressed {
                return Err(Error::Gpu(format!(
                    "decompress_selftest: encoding {k}: inconsistent point (T·Z = X·Y: {}, \
                     ge_to_bytes {} against (x, y) {})",
                    r[4] != 0,
                    hex(&group(3)),
                    hex(&compressed)
                )));
            }
        }
        out.push((ok, x, y));
    }
    Ok(out)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl GpuBackend {
    /// Runs the point-decompression self-test kernel (`decompress_selftest.wgsl`) on `path`'s
    /// field part on `encodings`; for tests of the GPU's Edwards25519 decoding against
    /// curve25519-dalek. Each result is (decodes, canonical x, canonical y) of the decoded point.
    /// The u64 path fails without SHADER_INT64.
    #[doc(hidden)]
    pub fn decompress_selftest(
        &self,
        path: FieldPath,
        encodings: &[[u8; 32]],
    ) -> Result<Vec<Decoded>> {
        decompress_selftest(self, path, encodings)
    }
}
