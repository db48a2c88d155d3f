// A self-test of a field part (field_u32.wgsl or field_u64.wgsl, the same API), compared by the
// tests against an independent model; composed after the field part and the elements at its limb
// bounds (field_selftest_u32.wgsl or field_selftest_u64.wgsl). For each operand pair (a, b),
// 32-byte little-endian encodings (bit 255 ignored, values ≥ p allowed), it writes 16 groups of
// 8 words:
//  0 a + b, 1 a − b, 2 −a, 3 a · b, 4 a², 5 a^((p − 5)/8), 6 a^(p − 2), 7 a (canonical),
//  8 121666 · a, 9 the chain below — each as its canonical encoding —,
//  10 flags: is_zero(a), is_negative(a), eq(a, b), eq(a · b, b · a), is_zero(b), 0, 0, 0,
//  and, at the limb bounds the field part documents (elements no decoding produces):
//  11 W · a and 12 a − W, W the largest normal form (FE_TEST_MAX_NORMAL);
//  13 V · a and 14 V², V at fe_mul's and fe_sq's input bound (FE_TEST_MAX_MUL_INPUT);
//  15 the canonical encoding of U at fe_to_bytes's input bound (FE_TEST_MAX_TO_BYTES_INPUT).
//
// The chain, x₀ = a, x_{k+1} = ((x_k · b)² − a) · b + 121666 · (−x_k), 50 times, feeds unreduced
// (normal-form) results back into every operation.
//
// Loop iterations per invocation (llvmpipe's limit is 65,535, see field_u32.wgsl): 240
// (fe_pow22523) + 243 (fe_invert) + 50 (the chain) = 533, under 540 even counting each loop's
// final exit test; nothing else loops (fe_mul, fe_sq and the carries are unrolled).

const CHAIN_STEPS: u32 = 50u;
const RESULT_WORDS: u32 = 128u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    let a = fe_from_bytes(load8(i * 16u));
    let b = fe_from_bytes(load8(i * 16u + 8u));
    let ab = fe_mul(a, b);
    store8(i, 0u, fe_to_bytes(fe_add(a, b)));
    store8(i, 1u, fe_to_bytes(fe_sub(a, b)));
    store8(i, 2u, fe_to_bytes(fe_neg(a)));
    store8(i, 3u, fe_to_bytes(ab));
    store8(i, 4u, fe_to_bytes(fe_sq(a)));
    store8(i, 5u, fe_to_bytes(fe_pow22523(a)));
    store8(i, 6u, fe_to_bytes(fe_invert(a)));
    store8(i, 7u, fe_to_bytes(a));
    store8(i, 8u, fe_to_bytes(fe_mul_small(a, 121666u)));
    var x = a;
    for (var k = 0u; k < CHAIN_STEPS; k++) {
        let y = fe_mul(fe_sub(fe_sq(fe_mul(x, b)), a), b);
        x = fe_add(y, fe_mul_small(fe_neg(x), 121666u));
    }
    store8(i, 9u, fe_to_bytes(x));
    store8(i, 10u, array<u32, 8>(
        select(0u, 1u, fe_is_zero(a)),
        select(0u, 1u, fe_is_negative(a)),
        select(0u, 1u, fe_eq(a, b)),
        select(0u, 1u, fe_eq(ab, fe_mul(b, a))),
        select(0u, 1u, fe_is_zero(b)),
        0u, 0u, 0u
    ));
    let w = FE_TEST_MAX_NORMAL;
    let v = FE_TEST_MAX_MUL_INPUT;
    let u = FE_TEST_MAX_TO_BYTES_INPUT;
    store8(i, 11u, fe_to_bytes(fe_mul(w, a)));
    store8(i, 12u, fe_to_bytes(fe_sub(a, w)));
    store8(i, 13u, fe_to_bytes(fe_mul(v, a)));
    store8(i, 14u, fe_to_bytes(fe_sq(v)));
    store8(i, 15u, fe_to_bytes(u));
}
