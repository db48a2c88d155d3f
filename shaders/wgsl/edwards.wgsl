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

// ---------------------------------------------------------------------------------------------
// Point arithmetic for verification. All formulas are the complete ones for a = −1 twisted
// Edwards curves with d a non-square (Hisil–Wong–Carter–Dawson 2008, as ref10 and dalek use
// them): they are exact for every pair of inputs — identity, equal points, torsion points —
// which hostile signatures (small-order A or R) need. Variable time: the inputs are public.

// A point prepared for addition (ref10's ge_cached): (Y + X, Y − X, Z, 2d·T).
struct GeCached {
    YplusX: Fe,
    YminusX: Fe,
    Z: Fe,
    T2d: Fe,
}

fn ge_identity() -> Ge {
    return Ge(fe_zero(), fe_one(), fe_one(), fe_zero());
}

fn ge_to_cached(p: Ge) -> GeCached {
    return GeCached(
        fe_add(p.Y, p.X), fe_sub(p.Y, p.X), p.Z, fe_mul(p.T, fe_from_bytes(ED_D2_WORDS))
    );
}

// −q for a cached q: (Y − X, Y + X, Z, −2d·T).
fn ge_cached_neg(q: GeCached) -> GeCached {
    return GeCached(q.YminusX, q.YplusX, q.Z, fe_neg(q.T2d));
}

// q where c, else r.
fn ge_cached_select(r: GeCached, q: GeCached, c: bool) -> GeCached {
    return GeCached(
        fe_select(r.YplusX, q.YplusX, c), fe_select(r.YminusX, q.YminusX, c),
        fe_select(r.Z, q.Z, c), fe_select(r.T2d, q.T2d, c)
    );
}

// −p.
fn ge_neg(p: Ge) -> Ge {
    return Ge(fe_neg(p.X), p.Y, p.Z, fe_neg(p.T));
}

// p + q (ref10 ge_add then ge_p1p1_to_p3): 9 multiplications.
fn ge_add(p: Ge, q: GeCached) -> Ge {
    let a = fe_mul(fe_add(p.Y, p.X), q.YplusX);
    let b = fe_mul(fe_sub(p.Y, p.X), q.YminusX);
    let c = fe_mul(q.T2d, p.T);
    let zz = fe_mul(p.Z, q.Z);
    let d = fe_add(zz, zz);
    let x3 = fe_sub(a, b);
    let y3 = fe_add(a, b);
    let z3 = fe_add(d, c);
    let t3 = fe_sub(d, c);
    return Ge(fe_mul(x3, t3), fe_mul(y3, z3), fe_mul(z3, t3), fe_mul(x3, y3));
}

// 2p (ref10 ge_p2_dbl then ge_p1p1_to_p3; T is not read): 4 squarings and 3 multiplications,
// plus one for T when `with_t` (an addition follows; a doubling does not need it). T is zero
// otherwise, which no formula here reads.
fn ge_dbl(p: Ge, with_t: bool) -> Ge {
    let xx = fe_sq(p.X);
    let yy = fe_sq(p.Y);
    let zz = fe_sq(p.Z);
    let b = fe_add(zz, zz);
    let aa = fe_sq(fe_add(p.X, p.Y));
    let y3 = fe_add(yy, xx);
    let z3 = fe_sub(yy, xx);
    let x3 = fe_sub(aa, y3);
    let t3 = fe_sub(b, z3);
    var t = fe_zero();
    if (with_t) {
        t = fe_mul(x3, y3);
    }
    return Ge(fe_mul(x3, t3), fe_mul(y3, z3), fe_mul(z3, t3), t);
}

// p is the identity: X ≡ 0 and Y ≡ Z.
fn ge_is_identity(p: Ge) -> bool {
    return fe_is_zero(p.X) && fe_eq(p.Y, p.Z);
}

// [8]p is the identity, i.e. p has small order (dalek's `is_small_order`; 3 loop iterations).
fn ge_is_small_order(p: Ge) -> bool {
    var q = p;
    for (var i = 0u; i < 3u; i++) {
        q = ge_dbl(q, false);
    }
    return ge_is_identity(q);
}

// p and q are the same point: X₁Z₂ ≡ X₂Z₁ and Y₁Z₂ ≡ Y₂Z₁.
fn ge_eq(p: Ge, q: Ge) -> bool {
    return fe_eq(fe_mul(p.X, q.Z), fe_mul(q.X, p.Z)) && fe_eq(fe_mul(p.Y, q.Z), fe_mul(q.Y, p.Z));
}
