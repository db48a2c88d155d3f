//! The GPU field arithmetic modulo 2^255 − 19, the foundation of GPU Ed25519, comes in two
//! paths with one API ([`FieldPath`]): `field_u32.wgsl` (u32 only, every adapter) and
//! `field_u64.wgsl` (64-bit products, adapters with SHADER_INT64). [`GpuBackend::field_selftest`]
//! runs `field_selftest.wgsl` on either, on operand pairs, and returns what it computed, for the
//! tests to compare with an exact model.

use std::sync::OnceLock;

use vera_shaders::{Shader, FIELD_SELFTEST_WORDS};

use super::{GpuBackend, Kernel};
use crate::error::{Error, Result};

/// Which field arithmetic a kernel is built on. Both give identical results; the engine's kernels
/// use [`U64`](FieldPath::U64) where [`GpuBackend::int64_field`] says so.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldPath {
    /// `field_u32.wgsl`: 20 limbs of 13 bits, u32 only; runs on every adapter.
    U32,
    /// `field_u64.wgsl`: 10 limbs of 26/25 bits with u64 products, about twice as fast; needs
    /// SHADER_INT64 ([`GpuBackend::has_int64`]).
    U64,
}

impl FieldPath {
    /// Both paths, u32 first.
    pub const ALL: [FieldPath; 2] = [FieldPath::U32, FieldPath::U64];
}

/// One kernel per field path, each built on first use.
#[derive(Default)]
pub(super) struct PerPath([OnceLock<Kernel>; 2]);

impl PerPath {
    /// The kernel of `path`: `shaders.0` composed on the u32 field part, `shaders.1` on the u64
    /// one. The u64 path on a device without SHADER_INT64 is an error (building it would fail
    /// validation and poison the device), not a fallback.
    pub(super) fn get<'a>(
        &'a self,
        gpu: &GpuBackend,
        path: FieldPath,
        shaders: (&Shader, &Shader),
    ) -> Result<&'a Kernel> {
        let (cell, shader) = match path {
            FieldPath::U32 => (&self.0[0], shaders.0),
            FieldPath::U64 => (&self.0[1], shaders.1),
        };
        if shader.int64() && !gpu.has_int64() {
            return Err(Error::Gpu(format!(
                "{}: the u64 field path needs SHADER_INT64, which {} does not offer",
                shader.name,
                gpu.adapter().name
            )));
        }
        Ok(cell.get_or_init(|| gpu.build_kernel(shader)))
    }
}

/// Bytes of results per operand pair.
const OUT_BYTES: u64 = FIELD_SELFTEST_WORDS as u64 * 4;

/// What `field_selftest.wgsl` computed for one pair (a, b) of 32-byte little-endian encodings
/// (bit 255 ignored, values ≥ p allowed). Field elements are canonical encodings (below p).
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSelftest {
    pub sum: [u8; 32],
    pub difference: [u8; 32],
    pub negation: [u8; 32],
    pub product: [u8; 32],
    pub square: [u8; 32],
    /// a^((p − 5)/8).
    pub pow22523: [u8; 32],
    /// a^(p − 2).
    pub invert: [u8; 32],
    /// a's canonical encoding.
    pub canonical: [u8; 32],
    /// 121666 · a.
    pub mul_121666: [u8; 32],
    /// x₀ = a, x_{k+1} = ((x_k · b)² − a) · b + 121666 · (−x_k), 50 times.
    pub chain: [u8; 32],
    pub a_is_zero: bool,
    pub a_is_negative: bool,
    pub a_eq_b: bool,
    /// fe_eq(a · b, b · a).
    pub ab_eq_ba: bool,
    pub b_is_zero: bool,
    /// W · a and a − W for W the largest normal form of the path (u32: limb 0 = 8,799, limbs
    /// 1..19 = 8,191; u64: limbs 2^27 − 1 and 2^26 − 1 alternately).
    pub max_normal_times_a: [u8; 32],
    pub a_minus_max_normal: [u8; 32],
    /// V · a and V² for V at fe_mul's input bound (u32: every limb 13,000; u64: 2^27 − 1).
    pub max_mul_input_times_a: [u8; 32],
    pub max_mul_input_squared: [u8; 32],
    /// The canonical encoding of U, every limb 2^31 − 1 (fe_to_bytes's input bound, both paths).
    pub max_to_bytes_input: [u8; 32],
}

impl FieldSelftest {
    fn parse(bytes: &[u8]) -> FieldSelftest {
        let fe = |slot: usize| -> [u8; 32] {
            bytes[slot * 32..slot * 32 + 32]
                .try_into()
                .expect("32 bytes")
        };
        let flag = |k: usize| bytes[320 + 4 * k] != 0;
        FieldSelftest {
            sum: fe(0),
            difference: fe(1),
            negation: fe(2),
            product: fe(3),
            square: fe(4),
            pow22523: fe(5),
            invert: fe(6),
            canonical: fe(7),
            mul_121666: fe(8),
            chain: fe(9),
            a_is_zero: flag(0),
            a_is_negative: flag(1),
            a_eq_b: flag(2),
            ab_eq_ba: flag(3),
            b_is_zero: flag(4),
            max_normal_times_a: fe(11),
            a_minus_max_normal: fe(12),
            max_mul_input_times_a: fe(13),
            max_mul_input_squared: fe(14),
            max_to_bytes_input: fe(15),
        }
    }
}

/// Runs `field_selftest.wgsl` on `path`'s field part on the pairs `(a[i], b[i])` (the shorter
/// slice sets the count), in runs that fit the storage-binding limit.
pub(super) fn field_selftest(
    gpu: &GpuBackend,
    path: FieldPath,
    a: &[[u8; 32]],
    b: &[[u8; 32]],
) -> Result<Vec<FieldSelftest>> {
    let n = a.len().min(b.len());
    let operands: Vec<u8> = (0..n)
        .flat_map(|i| a[i].iter().chain(&b[i]).copied())
        .collect();
    let kernel = gpu.field_selftest.get(
        gpu,
        path,
        (
            &vera_shaders::FIELD_SELFTEST,
            &vera_shaders::FIELD_SELFTEST_U64,
        ),
    )?;
    let bytes = gpu.run_fixed_width(
        kernel,
        "vera field_selftest",
        &operands,
        64,
        OUT_BYTES as usize,
    )?;
    Ok(bytes
        .chunks_exact(OUT_BYTES as usize)
        .map(FieldSelftest::parse)
        .collect())
}

impl GpuBackend {
    /// Runs the field-arithmetic self-test kernel (`field_selftest.wgsl`) on `path`'s field part
    /// on the pairs `(a[i], b[i])`; for tests of the GPU's arithmetic modulo 2^255 − 19. The u64
    /// path fails without SHADER_INT64.
    #[doc(hidden)]
    pub fn field_selftest(
        &self,
        path: FieldPath,
        a: &[[u8; 32]],
        b: &[[u8; 32]],
    ) -> Result<Vec<FieldSelftest>> {
        field_selftest(self, path, a, b)
    }
}
