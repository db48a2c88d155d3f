// Scalars of Ed25519: integers modulo the group order L = 2^252 + 27742317777372353535851937790883648493,
// as 8 little-endian u32 words (32 bytes, the encoding signatures carry). u32 only: every adapter
// runs it. Three operations, each exact for every input:
// - sc_is_canonical: S < L, the full comparison every rule requires (not just the top bits);
// - sc_reduce_wide: a 512-bit SHA-512 digest mod L, for k = SHA-512(R ‖ A ‖ M) mod L;
// - sc_recode: a scalar below 2^253 as 64 signed radix-16 digits for the windowed multiplication.
//
// Loop iterations per invocation (llvmpipe stops an invocation after 65,535): sc_is_canonical 8,
// sc_reduce_wide 64 · (3 · 17 + 1) = 3,328, sc_recode 64.

const SC_L_WORDS = array<u32, 8>(
    0x5cf5d3edu, 0x5812631au, 0xa2f79cd6u, 0x14def9deu,
    0x00000000u, 0x00000000u, 0x00000000u, 0x10000000u
);

// L in 17 limbs of 16 bits (the 17th zero), the radix sc_reduce_wide works in.
const SC_L_16 = array<u32, 17>(
    0xd3edu, 0x5cf5u, 0x631au, 0x5812u, 0x9cd6u, 0xa2f7u, 0xf9deu, 0x14deu,
    0x0000u, 0x0000u, 0x0000u, 0x0000u, 0x0000u, 0x0000u, 0x0000u, 0x1000u, 0x0000u
);

// s < L, comparing from the most significant word down (curve25519-dalek's
// `Scalar::from_canonical_bytes` accepts exactly these).
fn sc_is_canonical(s: array<u32, 8>) -> bool {
    let l = SC_L_WORDS;
    for (var i = 7i; i >= 0i; i--) {
        if (s[i] != l[i]) {
            return s[i] < l[i];
        }
    }
    return false;
}

// h mod L for a 512-bit h given as 16 little-endian words (curve25519-dalek's
// `Scalar::from_bytes_mod_order_wide`). Horner's rule a byte at a time from the top:
// r ← r·256 + byte, then r ← r − q·L with q = ⌊r / 2^252⌋. Since L > 2^252, q is never below
// the true quotient ⌊r / L⌋, and r < 2^261 makes it at most one above (q·(L − 2^252) < 2^134 < L),
// so one conditional addition of L corrects it: r stays below L throughout.
// Limbs are 16 bits in u32, so q · limb < 2^9 · 2^16 never wraps.
fn sc_reduce_wide(h: array<u32, 16>) -> array<u32, 8> {
    let l = SC_L_16;
    var r: array<u32, 17>;
    for (var byte = 63i; byte >= 0i; byte--) {
        var c = (h[byte >> 2u] >> (u32(byte & 3i) * 8u)) & 0xffu;
        for (var i = 0u; i < 17u; i++) {
            let v = (r[i] << 8u) | c;
            r[i] = v & 0xffffu;
            c = v >> 16u;
        }
        let q = (r[15] >> 12u) | (r[16] << 4u);
        // r − q·L, limb by limb with a borrow; x ≥ −2^25 − 2^10, so x >> 16 (arithmetic) is
        // the negated borrow.
        var borrow = 0i;
        for (var i = 0u; i < 17u; i++) {
            let x = i32(r[i]) - i32(q * l[i]) - borrow;
            r[i] = u32(x) & 0xffffu;
            borrow = -(x >> 16u);
        }
        if (borrow != 0i) {
            // Went below zero (q was one too many): add L back, dropping the carry out of the
            // top limb (the value is taken mod 2^272).
            var carry = 0u;
            for (var i = 0u; i < 17u; i++) {
                let v = r[i] + l[i] + carry;
                r[i] = v & 0xffffu;
                carry = v >> 16u;
            }
        }
    }
    var out: array<u32, 8>;
    for (var j = 0u; j < 8u; j++) {
        out[j] = r[2u * j] | (r[2u * j + 1u] << 16u);
    }
    return out;
}

// s as 64 signed digits e_i in [−8, 8) with s = Σ e_i · 16^i (ref10's recoding), for s < 2^253
// (so the top digit is at most 2 and no carry leaves it). Packed as 4-bit two's complement,
// digit i in bits 4(i mod 8).. of word i / 8; sc_digit reads one back.
fn sc_recode(s: array<u32, 8>) -> array<u32, 8> {
    var out: array<u32, 8>;
    var carry = 0u;
    for (var i = 0u; i < 64u; i++) {
        let v = ((s[i >> 3u] >> ((i & 7u) * 4u)) & 15u) + carry;
        carry = (v + 8u) >> 4u;
        let d = v - (carry << 4u);
        out[i >> 3u] |= (d & 15u) << ((i & 7u) * 4u);
    }
    return out;
}

// Digit i of a recoded scalar, sign-extended.
fn sc_digit(e: array<u32, 8>, i: u32) -> i32 {
    return i32(((e[i >> 3u] >> ((i & 7u) * 4u)) & 15u) << 28u) >> 28u;
}
