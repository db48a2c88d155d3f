// Edwards25519 points, composed after a field part (field_u32.wgsl or field_u64.wgsl: both
// provide `Fe` and the same fe_* functions, each taking and returning its own normal form):
// the curve constants, extended coordinates, and point decompression bit-exact with
// curve25519-dalek 4's `CompressedEdwardsY::decompress`, which ed25519-dalek 2 and
// ed25519-consensus decode A and R with.
//
// Curve: −x² + y² = 1 + d·x²·y², d = −121665/121666. Extended coordinates (X : Y : Z : T) with
// x = X/Z, y = Y/Z, x·y = T/Z.
//
// Loop iterations per invocation (llvmpipe stops an invocation after 65,535): ge_decompress 240
// (fe_pow22523), ge_affine and ge_to_bytes 243 each (fe_invert); nothing else loops.

// d = −121665/121666 mod p, 2d, sqrt(−1) = 2^((p − 1)/4) (the root dalek's SQRT_M1 is) and the
// base point B's affine coordinates, as canonical encodings in 8 little-endian words, so that this
// file serves every field representation: `fe_from_bytes` turns them into field elements (a few
// shifts). Checked against curve25519-dalek 4.1.3's EDWARDS_D, EDWARDS_D2, SQRT_M1 and
// ED25519_BASEPOINT_POINT by the tests (the decompression and verification tests fail otherwise).
const ED_D_WORDS = array<u32, 8>(
    0x135978a3u, 0x75eb4dcau, 0x4141d8abu, 0x00700a4du,
    0x7779e898u, 0x8cc74079u, 0x2b6ffe73u, 0x52036ceeu
);
const ED_D2_WORDS = array<u32, 8>(
    0x26b2f159u, 0xebd69b94u, 0x8283b156u, 0x00e0149au,
    0xeef3d130u, 0x198e80f2u, 0x56dffce7u, 0x2406d9dcu
);
const ED_SQRT_M1_WORDS = array<u32, 8>(
    0x4a0ea0b0u, 0xc4ee1b27u, 0xad2fe478u, 0x2f431806u,
    0x3dfbd7a7u, 0x2b4d0099u, 0x4fc1df0bu, 0x2b832480u
);
const ED_BASE_X_WORDS = array<u32, 8>(
    0x8f25d51au, 0xc9562d60u, 0x9525a7b2u, 0x692cc760u,
    0xfdd6dc5cu, 0xc0a4e231u, 0xcd6e53feu, 0x216936d3u
);
const ED_BASE_Y_WORDS = array<u32, 8>(
    0x66666658u, 0x66666666u, 0x66666666u, 0x66666666u,
    0x66666666u, 0x66666666u, 0x66666666u, 0x66666666u
);

// A point in extended coordinates, every coordinate in normal form.
struct Ge {
    X: Fe,
    Y: Fe,
    Z: Fe,
    T: Fe,
}

// The result of decoding: `ok` false where dalek's decompress returns None (`p` is then
// meaningless).
struct GeDecoded {
    ok: bool,
    p: Ge,
}

// curve25519-dalek's `FieldElement::sqrt_ratio_i(u, v)` (field.rs), step for step:
//   r = (u·v³)·(u·v⁷)^((p − 5)/8), check = v·r²;
//   r ← sqrt(−1)·r when check = −u or check = −u·sqrt(−1);
//   r ← −r when r is negative (the root returned is the non-negative one);
//   ok = (check = u) or (check = −u).
// So u = 0 gives (true, 0); v = 0 with u ≠ 0 gives (false, 0); u/v a non-square gives false.
// In: normal form. Out: r in normal form.
struct SqrtRatio {
    ok: bool,
    r: Fe,
}

fn fe_sqrt_ratio_i(u: Fe, v: Fe) -> SqrtRatio {
    let sqrt_m1 = fe_from_bytes(ED_SQRT_M1_WORDS);
    let v3 = fe_mul(fe_sq(v), v);
    let v7 = fe_mul(fe_sq(v3), v);
    var r = fe_mul(fe_mul(u, v3), fe_pow22523(fe_mul(u, v7)));
    let check = fe_mul(v, fe_sq(r));
    let neg_u = fe_neg(u);
    let correct_sign_sqrt = fe_eq(check, u);
    let flipped_sign_sqrt = fe_eq(check, neg_u);
    let flipped_sign_sqrt_i = fe_eq(check, fe_mul(neg_u, sqrt_m1));
    r = fe_select(r, fe_mul(sqrt_m1, r), flipped_sign_sqrt || flipped_sign_sqrt_i);
    r = fe_select(r, fe_neg(r), fe_is_negative(r));
    return SqrtRatio(correct_sign_sqrt || flipped_sign_sqrt, r);
}

// curve25519-dalek 4's `CompressedEdwardsY::decompress` (edwards.rs, decompress::step_1 and
// step_2) on 32 bytes as 8 little-endian words:
// - y = the low 255 bits taken as they are, NOT checked below p (fe_from_bytes; y + p decodes
//   as y);
// - u = y² − 1, v = d·y² + 1, (ok, x) = sqrt_ratio_i(u, v); not ok (u/v not a square) fails;
// - x ← −x when bit 255 is set, with no check that x ≠ 0: x = 0 with the sign bit set (the
//   points y = ±1) decodes, to x = 0;
// - the point is (x : y : 1 : x·y).
fn ge_decompress(w: array<u32, 8>) -> GeDecoded {
    let y = fe_from_bytes(w);
    let z = fe_one();
    let yy = fe_sq(y);
    let u = fe_sub(yy, z);
    let v = fe_add(fe_mul(yy, fe_from_bytes(ED_D_WORDS)), z);
    let s = fe_sqrt_ratio_i(u, v);
    let x = fe_select(s.r, fe_neg(s.r), (w[7] >> 31u) == 1u);
    return GeDecoded(s.ok, Ge(x, y, z, fe_mul(x, y)));
}

// The affine coordinates (x, y) = (X/Z, Y/Z), in normal form (not canonical: fe_to_bytes them).
struct GeAffine {
    x: Fe,
    y: Fe,
}

fn ge_affine(p: Ge) -> GeAffine {
    let zinv = fe_invert(p.Z);
    return GeAffine(fe_mul(p.X, zinv), fe_mul(p.Y, zinv));
}

// The compressed encoding, as dalek's `EdwardsPoint::compress`: y's canonical encoding with
// bit 255 set to x's parity ("negative"). 8 little-endian words.
fn ge_to_bytes(p: Ge) -> array<u32, 8> {
    let a = ge_affine(p);
    var s = fe_to_bytes(a.y);
    s[7] |= select(0u, 0x80000000u, fe_is_negative(a.x));
    return s;
}
