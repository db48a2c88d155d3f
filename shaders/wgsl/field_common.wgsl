// The parts of field arithmetic mod p = 2^255 − 19 that do not depend on the representation,
// composed after either field part (field_u32.wgsl or field_u64.wgsl with its generated
// functions): constants, repeated squaring, the two exponentiation chains, and predicates on
// canonical encodings. Every function takes and returns the field part's normal form (any output
// of its functions).
//
// llvmpipe stops every invocation after 65,535 loop iterations in all, silently: fe_sq_n's loop
// is the only one here; fe_pow22523 runs 240 of its iterations, fe_invert 243.

fn fe_zero() -> Fe {
    return Fe();
}

fn fe_one() -> Fe {
    var r = Fe();
    r[0] = 1u;
    return r;
}

// a^(2^n), n ≥ 1: n squarings, n − 1 loop iterations.
fn fe_sq_n(a: Fe, n: u32) -> Fe {
    var r = fe_sq(a);
    for (var i = 1u; i < n; i++) {
        r = fe_sq(r);
    }
    return r;
}

// a^((p − 5)/8) = a^(2^252 − 3), the exponent of square-root extraction in point decompression.
// ref10's addition chain: 251 squarings, 11 multiplications; 240 loop iterations (9 fe_sq_n
// calls of n − 1 each).
fn fe_pow22523(z: Fe) -> Fe {
    var t0 = fe_sq(z);                  // z^2
    var t1 = fe_sq_n(t0, 2u);           // z^8
    t1 = fe_mul(z, t1);                 // z^9
    t0 = fe_mul(t0, t1);                // z^11
    t0 = fe_sq(t0);                     // z^22
    t0 = fe_mul(t1, t0);                // z^(2^5 − 1)
    t1 = fe_sq_n(t0, 5u);
    t0 = fe_mul(t1, t0);                // z^(2^10 − 1)
    t1 = fe_sq_n(t0, 10u);
    t1 = fe_mul(t1, t0);                // z^(2^20 − 1)
    var t2 = fe_sq_n(t1, 20u);
    t1 = fe_mul(t2, t1);                // z^(2^40 − 1)
    t1 = fe_sq_n(t1, 10u);
    t0 = fe_mul(t1, t0);                // z^(2^50 − 1)
    t1 = fe_sq_n(t0, 50u);
    t1 = fe_mul(t1, t0);                // z^(2^100 − 1)
    t2 = fe_sq_n(t1, 100u);
    t1 = fe_mul(t2, t1);                // z^(2^200 − 1)
    t1 = fe_sq_n(t1, 50u);
    t0 = fe_mul(t1, t0);                // z^(2^250 − 1)
    t0 = fe_sq_n(t0, 2u);               // z^(2^252 − 4)
    return fe_mul(t0, z);               // z^(2^252 − 3)
}

// a^(p − 2) = a^(2^255 − 21), the inverse of a (0 for a ≡ 0). ref10's addition chain: 254
// squarings, 11 multiplications; 243 loop iterations (9 fe_sq_n calls).
fn fe_invert(z: Fe) -> Fe {
    var t0 = fe_sq(z);                  // z^2
    var t1 = fe_sq_n(t0, 2u);           // z^8
    t1 = fe_mul(z, t1);                 // z^9
    t0 = fe_mul(t0, t1);                // z^11
    var t2 = fe_sq(t0);                 // z^22
    t1 = fe_mul(t1, t2);                // z^(2^5 − 1)
    t2 = fe_sq_n(t1, 5u);
    t1 = fe_mul(t2, t1);                // z^(2^10 − 1)
    t2 = fe_sq_n(t1, 10u);
    t2 = fe_mul(t2, t1);                // z^(2^20 − 1)
    var t3 = fe_sq_n(t2, 20u);
    t2 = fe_mul(t3, t2);                // z^(2^40 − 1)
    t2 = fe_sq_n(t2, 10u);
    t1 = fe_mul(t2, t1);                // z^(2^50 − 1)
    t2 = fe_sq_n(t1, 50u);
    t2 = fe_mul(t2, t1);                // z^(2^100 − 1)
    t3 = fe_sq_n(t2, 100u);
    t2 = fe_mul(t3, t2);                // z^(2^200 − 1)
    t2 = fe_sq_n(t2, 50u);
    t1 = fe_mul(t2, t1);                // z^(2^250 − 1)
    t1 = fe_sq_n(t1, 5u);               // z^(2^255 − 32)
    return fe_mul(t1, t0);              // z^(2^255 − 21)
}

// a ≡ 0 (mod p).
fn fe_is_zero(a: Fe) -> bool {
    let w = fe_to_bytes(a);
    return (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) == 0u;
}

// The low bit of a's canonical encoding (Ed25519's "negative", the sign of x).
fn fe_is_negative(a: Fe) -> bool {
    return (fe_to_bytes(a)[0] & 1u) == 1u;
}

// a ≡ b (mod p).
fn fe_eq(a: Fe, b: Fe) -> bool {
    let x = fe_to_bytes(a);
    let y = fe_to_bytes(b);
    return all(vec4<u32>(x[0], x[1], x[2], x[3]) == vec4<u32>(y[0], y[1], y[2], y[3]))
        && all(vec4<u32>(x[4], x[5], x[6], x[7]) == vec4<u32>(y[4], y[5], y[6], y[7]));
}
