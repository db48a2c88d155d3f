// Edwards25519 points on field_u32.wgsl's arithmetic (u32 only), composed after the field part:
// the curve constants, extended coordinates, and point decompression bit-exact with
// curve25519-dalek 4's `CompressedEdwardsY::decompress`, which ed25519-dalek 2 and
// ed25519-consensus decode A and R with.
//
// Curve: −x² + y² = 1 + d·x²·y², d = −121665/121666. Extended coordinates (X : Y : Z : T) with
// x = X/Z, y = Y/Z, x·y = T/Z.
//
// Loop iterations per invocation (llvmpipe stops an invocation after 65,535): ge_decompress 240
// (fe_pow22523), ge_affine and ge_to_bytes 243 each (fe_invert); nothing else loops.

// d = −121665/121666 mod p, 2d and sqrt(−1) = 2^((p − 1)/4) (the root dalek's SQRT_M1 is), each
// canonical (limbs ≤ 8,191, normal form). Checked against curve25519-dalek 4.1.3's EDWARDS_D,
// EDWARDS_D2 and SQRT_M1 (backend/serial/u32/constants.rs).
const ED_D: Fe = Fe(
    6307u, 6859u, 4740u, 5787u, 5982u, 3157u, 1287u, 2472u, 4106u, 3u,
    6694u, 3827u, 1943u, 928u, 3635u, 8142u, 2927u, 1905u, 219u, 164u
);
const ED_D2: Fe = Fe(
    4441u, 5527u, 1289u, 3383u, 3773u, 6315u, 2574u, 4944u, 20u, 7u,
    5196u, 7655u, 3886u, 1856u, 7270u, 8092u, 5855u, 3810u, 438u, 72u
);
const ED_SQRT_M1: Fe = Fe(
    176u, 4213u, 2514u, 7222u, 3150u, 4668u, 5311u, 213u, 792u, 6522u,
    5609u, 7159u, 2451u, 1664u, 3245u, 7137u, 4033u, 1026u, 201u, 87u
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

// b where c, else a, limb by limb (no branch on c).
fn fe_select(a: Fe, b: Fe, c: bool) -> Fe {
    return Fe(
        select(a[0], b[0], c), select(a[1], b[1], c), select(a[2], b[2], c),
        select(a[3], b[3], c), select(a[4], b[4], c), select(a[5], b[5], c),
        select(a[6], b[6], c), select(a[7], b[7], c), select(a[8], b[8], c),
        select(a[9], b[9], c), select(a[10], b[10], c), select(a[11], b[11], c),
        select(a[12], b[12], c), select(a[13], b[13], c), select(a[14], b[14], c),
        select(a[15], b[15], c), select(a[16], b[16], c), select(a[17], b[17], c),
        select(a[18], b[18], c), select(a[19], b[19], c)
    );
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
    let v3 = fe_mul(fe_sq(v), v);
    let v7 = fe_mul(fe_sq(v3), v);
    var r = fe_mul(fe_mul(u, v3), fe_pow22523(fe_mul(u, v7)));
    let check = fe_mul(v, fe_sq(r));
    let neg_u = fe_neg(u);
    let correct_sign_sqrt = fe_eq(check, u);
    let flipped_sign_sqrt = fe_eq(check, neg_u);
    let flipped_sign_sqrt_i = fe_eq(check, fe_mul(neg_u, ED_SQRT_M1));
    r = fe_select(r, fe_mul(ED_SQRT_M1, r), flipped_sign_sqrt || flipped_sign_sqrt_i);
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
    let v = fe_add(fe_mul(yy, ED_D), z);
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
