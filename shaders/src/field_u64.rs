//! The generated, straight-line parts of `wgsl/field_u64.wgsl`: arithmetic modulo
//! p = 2^255 − 19 on 10 limbs of 26 and 25 bits (radix 2^25.5), limbs stored as `u32` and
//! multiplied as `u64` (SHADER_INT64).
//!
//! The layout is described by two tables, [`WIDTH`] and [`OFFSET`]; everything the generator
//! writes — which column a limb product lands in, whether it is doubled (two odd limbs: their
//! offsets add up to one more than the column's) or folded (times 19, past 2^255), the masks and
//! shifts of the carries, the bit positions of the encodings — is derived from them. The tests
//! below run the limb bounds `field_u64.wgsl` documents through the same derivations, with
//! 128-bit integers, and fail if any `u32` or `u64` operation of the generated code could wrap
//! or an output could leave normal form.

use std::fmt::Write;

/// Limbs of a field element in `wgsl/field_u64.wgsl`.
pub(crate) const LIMBS: usize = 10;

/// Each limb's width in bits: 26, 25, 26, 25, … (radix 2^25.5, 255 bits in all).
pub(crate) const WIDTH: [u32; LIMBS] = [26, 25, 26, 25, 26, 25, 26, 25, 26, 25];

/// Each limb's bit offset, ⌈25.5 · i⌉: 0, 26, 51, 77, 102, 128, 153, 179, 204, 230.
pub(crate) const OFFSET: [u32; LIMBS] = {
    let mut o = [0u32; LIMBS];
    let mut i = 1;
    while i < LIMBS {
        o[i] = o[i - 1] + WIDTH[i - 1];
        i += 1;
    }
    o
};

/// The limb below limb `i`, cyclically (limb 9's carry goes to limb 0, times 19).
const fn below(i: usize) -> usize {
    (i + LIMBS - 1) % LIMBS
}

/// `(2^WIDTH[i] − 1)`, the mask of limb `i`.
const fn mask(i: usize) -> u64 {
    (1 << WIDTH[i]) - 1
}

/// 8p limb by limb, `FE_8P` in the WGSL: 8 · (2^26 − 19) and then 8 · (2^WIDTH − 1), every
/// limb at least 2^28 − 8 (p's limbs are 2^26 − 19 and 2^WIDTH − 1).
pub(crate) const P8: [u32; LIMBS] = {
    let mut p = [0u32; LIMBS];
    let mut i = 0;
    while i < LIMBS {
        p[i] = 8 * ((1 << WIDTH[i]) - 1);
        i += 1;
    }
    p[0] -= 8 * 18;
    p
};

/// How the product of limbs `i` and `j` enters column `(i + j) mod 10`: doubled (`true` when
/// both limbs are odd: 2^(OFFSET[i] + OFFSET[j]) is twice the column's weight) and folded
/// (`true` when i + j ≥ 10: the product's weight is 2^255 times the column's, ≡ 19).
pub(crate) fn product_shape(i: usize, j: usize) -> (bool, bool) {
    let k = (i + j) % LIMBS;
    let fold = i + j >= LIMBS;
    let excess = OFFSET[i] + OFFSET[j] - OFFSET[k] - if fold { 255 } else { 0 };
    assert!(
        excess <= 1,
        "limbs {i}, {j}: weight 2^{excess} over column {k}"
    );
    (excess == 1, fold)
}

/// One product term of a column: the left operand's name and premultiplier (1, 2 or 4), the
/// right operand's name and premultiplier (1 or 19). Their product is exactly the term's
/// coefficient times the two limbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Term {
    pub(crate) left: usize,
    pub(crate) left_times: u32,
    pub(crate) right: usize,
    pub(crate) right_times: u32,
}

/// The terms of column `k` of a · b: every (i, j) with i + j ≡ k (mod 10).
pub(crate) fn mul_terms(k: usize) -> Vec<Term> {
    (0..LIMBS)
        .map(|i| {
            let j = (k + LIMBS - i) % LIMBS;
            let (double, fold) = product_shape(i, j);
            Term {
                left: i,
                left_times: if double { 2 } else { 1 },
                right: j,
                right_times: if fold { 19 } else { 1 },
            }
        })
        .collect()
}

/// The terms of column `k` of a²: every i ≤ j with i + j ≡ k (mod 10), the cross products
/// (i < j) counted twice. The 2s go on the lower limb, the 19 on the upper one (a fold needs
/// i + j ≥ 10, so j ≥ 5: only limbs 5..9 are ever premultiplied by 19).
pub(crate) fn sq_terms(k: usize) -> Vec<Term> {
    let mut terms = Vec::new();
    for i in 0..LIMBS {
        for j in i..LIMBS {
            if (i + j) % LIMBS != k {
                continue;
            }
            let (double, fold) = product_shape(i, j);
            terms.push(Term {
                left: i,
                left_times: (u32::from(i != j) + 1) << u32::from(double),
                right: j,
                right_times: if fold { 19 } else { 1 },
            });
        }
    }
    terms
}

/// The WGSL name of operand `v`'s limb `i` premultiplied by `times`, as a `u64`.
fn operand(v: &str, i: usize, times: u32) -> String {
    if times == 1 {
        format!("{v}{i}")
    } else {
        format!("{v}{i}_{times}")
    }
}

/// WGSL for the unrolled parts of `wgsl/field_u64.wgsl`'s arithmetic modulo p = 2^255 − 19 on
/// 10 limbs of 26/25 bits (`Fe = array<u32, 10>`, products in `u64`, so SHADER_INT64):
/// `fe_carry`, `fe_add`, `fe_sub`, `fe_neg`, `fe_mul_small`, `fe_mul`, `fe_sq`, `fe_from_bytes`
/// and `fe_to_bytes`. Written out limb by limb so that nothing is indexed at run time and no
/// loop counts against llvmpipe's per-invocation loop limit; the limb bounds each accepts and
/// produces are documented in `field_u64.wgsl` and checked by this module's tests.
pub fn field_u64_wgsl() -> String {
    let mut s = String::new();
    s.push_str("// Generated by vera_shaders::field_u64_wgsl.\n\n");
    let list = |f: &dyn Fn(usize) -> String| (0..LIMBS).map(f).collect::<Vec<_>>().join(", ");
    // Limb i of the parallel carry: x_i's low bits plus x_{i−1}'s carry (limb 0: 19 times
    // limb 9's); `low` and `carry` format the two parts.
    let parallel = |low: &dyn Fn(usize) -> String, carry: &dyn Fn(usize) -> String| {
        list(&|i| {
            let c = carry(below(i));
            if i == 0 {
                format!("{} + 19u * {c}", low(0))
            } else {
                format!("{} + {c}", low(i))
            }
        })
    };

    s.push_str(
        "// One parallel carry pass: limb i keeps its low WIDTH[i] bits and receives the carry \
         out of limb\n// i − 1; limb 9's carry (weight 2^255 ≡ 19) goes to limb 0 times 19. \
         Every limb's new value\n// depends on two old ones only, so the ten run side by side \
         instead of in a chain. In: any u32\n// limbs. Out: limbs ≤ 2^WIDTH − 1 + 127 (the carry \
         out of a u32 is < 2^7), limb 0 ≤ 2^26 − 1 +\n// 19 · 127: normal form.\n",
    );
    let _ = writeln!(
        s,
        "fn fe_carry(t: Fe) -> Fe {{\n    return Fe(\n        {}\n    );\n}}\n",
        parallel(&|i| format!("(t[{i}] & 0x{:x}u)", mask(i)), &|i| format!(
            "(t[{i}] >> {}u)",
            WIDTH[i]
        ))
        .replace(", ", ",\n        ")
    );

    s.push_str(
        "// 8p limb by limb, every limb ≥ 2^28 − 8, so that x + 8p − y stays non-negative limb \
         by limb for\n// y below 2^27.\n",
    );
    let _ = writeln!(
        s,
        "const FE_8P: Fe = Fe({});\n",
        list(&|i| format!("{}u", P8[i]))
    );
    s.push_str("// a + b. In: limbs below 2^31. Out: normal form.\n");
    let _ = writeln!(
        s,
        "fn fe_add(a: Fe, b: Fe) -> Fe {{\n    return fe_carry(Fe({}));\n}}\n",
        list(&|i| format!("a[{i}] + b[{i}]"))
    );
    s.push_str(
        "// a − b, as a + 8p − b with 8p written with every limb ≥ 2^28 − 8 (FE_8P), so no limb \
         goes\n// negative. In: a's limbs below 2^31, b's below 2^27 (normal form and more). Out: \
         normal form.\n",
    );
    let _ = writeln!(
        s,
        "fn fe_sub(a: Fe, b: Fe) -> Fe {{\n    return fe_carry(Fe({}));\n}}\n",
        list(&|i| format!("a[{i}] + FE_8P[{i}] - b[{i}]"))
    );
    s.push_str("// −a, as 8p − a. In: limbs below 2^27. Out: normal form.\n");
    let _ = writeln!(
        s,
        "fn fe_neg(a: Fe) -> Fe {{\n    return fe_carry(Fe({}));\n}}\n",
        list(&|i| format!("FE_8P[{i}] - a[{i}]"))
    );

    s.push_str(
        "// a · k for a small constant k < 2^17 (121,666; 19; 2 …): ten u64 products below 2^44, \
         then one\n// parallel carry pass (carries below 2^19, which fit a u32). In: limbs below \
         2^27. Out: limbs\n// ≤ 2^WIDTH − 1 + 2^19, limb 0 ≤ 2^26 − 1 + 19 · 2^19: normal form.\n",
    );
    s.push_str("fn fe_mul_small(a: Fe, k: u32) -> Fe {\n    let k64 = u64(k);\n");
    for i in 0..LIMBS {
        let _ = writeln!(s, "    let t{i} = u64(a[{i}]) * k64;");
    }
    let _ = writeln!(
        s,
        "    return Fe(\n        {}\n    );\n}}\n",
        parallel(
            &|i| format!("(u32(t{i}) & 0x{:x}u)", mask(i)),
            &|i| format!("u32(t{i} >> {}u)", WIDTH[i])
        )
        .replace(", ", ",\n        ")
    );

    // Products: ten u64 column sums, then two parallel carry passes.
    let reduce = |s: &mut String| {
        s.push_str(
            "    // Two parallel carry passes (depth 2 where a carry chain has depth 11). First in \
             u64: columns\n    // < 2^63 give carries < 2^38, so r_i < 2^42. Then into u32 \
             limbs: carries < 2^17.\n",
        );
        for i in 0..LIMBS {
            let c = format!("(t{} >> {}u)", below(i), WIDTH[below(i)]);
            let _ = writeln!(
                s,
                "    let r{i} = (t{i} & 0x{:x}lu) + {};",
                mask(i),
                if i == 0 { format!("19lu * {c}") } else { c }
            );
        }
        let _ = writeln!(
            s,
            "    return Fe(\n        {}\n    );\n}}\n",
            parallel(
                &|i| format!("(u32(r{i}) & 0x{:x}u)", mask(i)),
                &|i| format!("u32(r{i} >> {}u)", WIDTH[i])
            )
            .replace(", ", ",\n        ")
        );
    };
    // Declarations of the premultiplied operands `terms` use, each once, in u64.
    let declare = |s: &mut String, terms: &[Term], a: &str, b: &str| {
        let mut seen: Vec<String> = Vec::new();
        let mut emit = |s: &mut String, v: &str, i: usize, times: u32| {
            let name = operand(v, i, times);
            if !seen.contains(&name) {
                let value = if times == 1 {
                    format!("u64({v}[{i}])")
                } else {
                    format!("u64({times}u * {v}[{i}])")
                };
                let _ = writeln!(s, "    let {name} = {value};");
                seen.push(name);
            }
        };
        for t in terms {
            emit(s, a, t.left, t.left_times);
        }
        for t in terms {
            emit(s, b, t.right, t.right_times);
        }
    };
    let columns = |s: &mut String, terms: &dyn Fn(usize) -> Vec<Term>, a: &str, b: &str| {
        for k in 0..LIMBS {
            let sum: Vec<String> = terms(k)
                .iter()
                .map(|t| {
                    format!(
                        "{} * {}",
                        operand(a, t.left, t.left_times),
                        operand(b, t.right, t.right_times)
                    )
                })
                .collect();
            let _ = writeln!(s, "    let t{k} = {};", sum.join(" + "));
        }
    };

    s.push_str(
        "// a · b: ten column sums of u64 limb products, each term premultiplied in u32 (2 · a_i \
         where\n// both limbs are odd, 19 · b_j where the product passes 2^255). In: limbs below \
         2^27 (normal\n// form and more): 19 · b_j < 2^32, and a column is below 267 · 2^54 < \
         2^63. Out: limbs ≤\n// 2^WIDTH − 1 + 2^17, limb 0 ≤ 2^26 − 1 + 19 · 2^17: normal \
         form.\n",
    );
    s.push_str("fn fe_mul(a: Fe, b: Fe) -> Fe {\n");
    let all_mul: Vec<Term> = (0..LIMBS).flat_map(mul_terms).collect();
    declare(&mut s, &all_mul, "a", "b");
    columns(&mut s, &mul_terms, "a", "b");
    reduce(&mut s);

    s.push_str(
        "// a², fe_mul(a, a) with each cross product computed once: 55 products instead of 100 \
         (the 2s\n// and 4s premultiplied on the lower limb, the 19s on the upper). Same bounds \
         as fe_mul.\n",
    );
    s.push_str("fn fe_sq(a: Fe) -> Fe {\n");
    let all_sq: Vec<Term> = (0..LIMBS).flat_map(sq_terms).collect();
    declare(&mut s, &all_sq, "a", "a");
    columns(&mut s, &sq_terms, "a", "a");
    reduce(&mut s);

    s.push_str(
        "// 32 bytes as 8 little-endian words to a field element, bit 255 ignored (as Ed25519's \
         point\n// decoding does); values in p..2^255 are taken as they are (≡ value − p). Out: \
         every limb below\n// 2^WIDTH, value < 2^255 (normal form).\n",
    );
    let _ = writeln!(
        s,
        "fn fe_from_bytes(w: array<u32, 8>) -> Fe {{\n    return Fe(\n        {}\n    );\n}}\n",
        (0..LIMBS)
            .map(|i| {
                let (j, sh) = ((OFFSET[i] / 32) as usize, OFFSET[i] % 32);
                if sh == 0 {
                    format!("w[{j}] & 0x{:x}u", mask(i))
                } else if sh + WIDTH[i] <= 32 {
                    format!("(w[{j}] >> {sh}u) & 0x{:x}u", mask(i))
                } else {
                    format!(
                        "((w[{j}] >> {sh}u) | (w[{}] << {}u)) & 0x{:x}u",
                        j + 1,
                        32 - sh,
                        mask(i)
                    )
                }
            })
            .collect::<Vec<_>>()
            .join(",\n        ")
    );

    s.push_str(
        "// The canonical encoding (the unique value below p) as 8 little-endian words. In: \
         limbs below\n// 2^31. Two carry chains, each folding limb 9's carry into limb 0 times \
         19: after the first,\n// limbs 1..9 < 2^WIDTH and limb 0 < 2^26 + 19 · 65, so the \
         value is below 2^255 + 1,235; after\n// the second, every limb < 2^WIDTH and the value \
         < 2^255 (if it carried out of limb 9, the value\n// left is below 1,254, all in limb \
         0). Then q = 1 exactly when value + 19 ≥ 2^255, i.e. value\n// ≥ p; add 19q, carry, \
         and drop bit 255 (subtracting p when q = 1); pack.\n",
    );
    s.push_str("fn fe_to_bytes(a: Fe) -> array<u32, 8> {\n    var t = a;\n");
    let chain = |s: &mut String| {
        for (i, w) in WIDTH.iter().enumerate().take(LIMBS - 1) {
            let _ = writeln!(
                s,
                "    t[{}] += t[{i}] >> {w}u; t[{i}] &= 0x{:x}u;",
                i + 1,
                mask(i)
            );
        }
    };
    for _ in 0..2 {
        chain(&mut s);
        let _ = writeln!(
            s,
            "    t[0] += 19u * (t[9] >> {}u); t[9] &= 0x{:x}u;",
            WIDTH[9],
            mask(9)
        );
    }
    let _ = writeln!(s, "    var q = (t[0] + 19u) >> {}u;", WIDTH[0]);
    for (i, w) in WIDTH.iter().enumerate().skip(1) {
        let _ = writeln!(s, "    q = (t[{i}] + q) >> {w}u;");
    }
    s.push_str("    t[0] += 19u * q;\n");
    chain(&mut s);
    let _ = writeln!(s, "    t[9] &= 0x{:x}u;", mask(9));
    let words: Vec<String> = (0..8u32)
        .map(|j| {
            let (wlo, whi) = (32 * j, 32 * j + 32);
            (0..LIMBS)
                .filter(|&i| OFFSET[i] < whi && OFFSET[i] + WIDTH[i] > wlo)
                .map(|i| {
                    if OFFSET[i] >= wlo {
                        format!("(t[{i}] << {}u)", OFFSET[i] - wlo)
                    } else {
                        format!("(t[{i}] >> {}u)", wlo - OFFSET[i])
                    }
                })
                .collect::<Vec<_>>()
                .join(" | ")
        })
        .collect();
    let _ = writeln!(
        s,
        "    return array<u32, 8>(\n        {}\n    );\n}}\n",
        words.join(",\n        ")
    );
    s
}

#[cfg(test)]
mod tests {
    //! Limb bounds of the generated code, by interval arithmetic on the largest value each limb
    //! can hold: every operation is monotone in its inputs (sums, products, right shifts, masks),
    //! so the largest input limbs give the largest intermediate values. Each step asserts that it
    //! cannot wrap (u32 or u64, as the WGSL computes it) and each function that its output is in
    //! normal form, for the input bounds `field_u64.wgsl` documents.

    use super::*;

    /// The largest value of each limb.
    type Bound = [u128; LIMBS];

    const U32_MAX: u128 = u32::MAX as u128;
    const U64_MAX: u128 = u64::MAX as u128;

    /// Normal form: limb i below 2^(WIDTH[i] + 1).
    fn normal() -> Bound {
        WIDTH.map(|w| (1u128 << (w + 1)) - 1)
    }

    /// The input bound of fe_mul, fe_sq, fe_mul_small, fe_neg and fe_sub's b: limbs below 2^27.
    fn loose() -> Bound {
        [(1 << 27) - 1; LIMBS]
    }

    /// The input bound of fe_add, fe_sub's a and fe_to_bytes: limbs below 2^31.
    fn wide() -> Bound {
        [(1 << 31) - 1; LIMBS]
    }

    fn p8() -> Bound {
        P8.map(u128::from)
    }

    fn assert_within(what: &str, x: &Bound, limit: &Bound) {
        for i in 0..LIMBS {
            assert!(
                x[i] <= limit[i],
                "{what}: limb {i} up to {} > {}",
                x[i],
                limit[i]
            );
        }
    }

    /// One parallel carry pass on limbs of at most `x`, computed in words of `bits` bits: limb i
    /// = (x_i & mask_i) + carry(i − 1), limb 0's carry times 19.
    fn parallel(x: &Bound, bits: u32) -> Bound {
        let out: Bound = std::array::from_fn(|i| {
            let j = below(i);
            let carry = (x[j] >> WIDTH[j]) * if i == 0 { 19 } else { 1 };
            x[i].min(u128::from(mask(i))) + carry
        });
        let word = [(1u128 << bits) - 1; LIMBS];
        assert_within("parallel carry (wraps)", &out, &word);
        out
    }

    #[test]
    fn the_layout_is_radix_2_25_5() {
        assert_eq!(OFFSET, [0, 26, 51, 77, 102, 128, 153, 179, 204, 230]);
        assert_eq!(OFFSET[9] + WIDTH[9], 255);
        for (i, &o) in OFFSET.iter().enumerate() {
            assert_eq!(o, (51 * i as u32).div_ceil(2), "⌈25.5 · {i}⌉");
        }
    }

    #[test]
    fn products_cover_every_limb_pair_once() {
        let mut seen = [[0u32; LIMBS]; LIMBS];
        for k in 0..LIMBS {
            for t in mul_terms(k) {
                assert_eq!((t.left + t.right) % LIMBS, k);
                let (double, fold) = product_shape(t.left, t.right);
                assert_eq!(t.left_times, if double { 2 } else { 1 });
                assert_eq!(t.right_times, if fold { 19 } else { 1 });
                seen[t.left][t.right] += 1;
            }
        }
        assert_eq!(seen, [[1; LIMBS]; LIMBS], "fe_mul");
        let mut seen = [[0u32; LIMBS]; LIMBS];
        for k in 0..LIMBS {
            for t in sq_terms(k) {
                assert!(t.left <= t.right);
                assert_eq!((t.left + t.right) % LIMBS, k);
                let (double, fold) = product_shape(t.left, t.right);
                let cross = if t.left < t.right { 2 } else { 1 };
                assert_eq!(t.left_times, cross * if double { 2 } else { 1 });
                assert_eq!(t.right_times, if fold { 19 } else { 1 });
                seen[t.left][t.right] += 1;
            }
        }
        for (i, row) in seen.iter().enumerate() {
            for (j, &n) in row.iter().enumerate() {
                assert_eq!(n, u32::from(i <= j), "fe_sq: limbs {i}, {j}");
            }
        }
        // Doubling happens exactly for two odd limbs.
        for i in 0..LIMBS {
            for j in 0..LIMBS {
                assert_eq!(product_shape(i, j).0, i % 2 == 1 && j % 2 == 1);
            }
        }
    }

    #[test]
    fn fe_carry_takes_any_u32_limbs_to_normal_form() {
        let out = parallel(&[U32_MAX; LIMBS], 32);
        assert_within("fe_carry", &out, &normal());
    }

    #[test]
    fn add_sub_neg_cannot_wrap() {
        let (wide, loose, p8) = (wide(), loose(), p8());
        // fe_add: a + b.
        let sum: Bound = std::array::from_fn(|i| wide[i] + wide[i]);
        assert_within("fe_add (wraps)", &sum, &[U32_MAX; LIMBS]);
        // fe_sub: a + 8p − b, never below 0: 8p's limbs cover b's.
        let diff: Bound = std::array::from_fn(|i| wide[i] + p8[i]);
        assert_within("fe_sub (wraps)", &diff, &[U32_MAX; LIMBS]);
        assert_within("fe_sub (goes negative)", &loose, &p8);
    }

    #[test]
    fn fe_mul_small_cannot_wrap() {
        let t: Bound = loose().map(|a| a * ((1 << 17) - 1));
        assert_within("fe_mul_small products (wrap)", &t, &[U64_MAX; LIMBS]);
        // The pass is computed in u32: low bits and carries each fit, and so does their sum.
        let out = parallel(&t, 32);
        assert_within("fe_mul_small", &out, &normal());
    }

    /// fe_mul or fe_sq on inputs bounded by `a` and `b`: premultiplied operands in u32, columns
    /// in u64, the two carry passes; returns the output bound and the largest column.
    fn product(terms: &dyn Fn(usize) -> Vec<Term>, a: &Bound, b: &Bound) -> (Bound, u128) {
        let t: Bound = std::array::from_fn(|k| {
            terms(k)
                .iter()
                .map(|t| {
                    let (l, r) = (
                        a[t.left] * u128::from(t.left_times),
                        b[t.right] * u128::from(t.right_times),
                    );
                    assert!(l <= U32_MAX && r <= U32_MAX, "premultiplied operand wraps");
                    l * r
                })
                .sum()
        });
        let top = t.iter().copied().max().unwrap_or(0);
        assert!(top < 1 << 63, "a column reaches {top}");
        let r = parallel(&t, 64);
        assert!(r.iter().all(|&x| x < 1 << 42), "first pass: {r:?}");
        let out = parallel(&r, 32);
        let carried: Bound = std::array::from_fn(|i| u128::from(mask(i)) + (1 << 17));
        let mut limit = carried;
        limit[0] = u128::from(mask(0)) + 19 * (1 << 17);
        assert_within("product output (documented bound)", &out, &limit);
        (out, top)
    }

    #[test]
    fn fe_mul_and_fe_sq_cannot_wrap() {
        let l = loose();
        for (name, terms) in [
            ("fe_mul", &mul_terms as &dyn Fn(usize) -> Vec<Term>),
            ("fe_sq", &sq_terms),
        ] {
            let (out, top) = product(terms, &l, &l);
            assert_within(name, &out, &normal());
            assert!(top < 267 << 54, "{name}: column up to {top}");
        }
    }

    #[test]
    fn fe_to_bytes_cannot_wrap() {
        let mut t = wide();
        for pass in 0..2 {
            for i in 0..LIMBS - 1 {
                t[i + 1] += t[i] >> WIDTH[i];
                t[i] = t[i].min(u128::from(mask(i)));
            }
            t[0] += 19 * (t[9] >> WIDTH[9]);
            t[9] = t[9].min(u128::from(mask(9)));
            assert_within("fe_to_bytes (wraps)", &t, &[U32_MAX; LIMBS]);
            if pass == 0 {
                // The value is now below 2^255 + 1,235 (limbs 1..9 masked).
                assert!(t[0] < u128::from(mask(0)) + 19 * 65, "{}", t[0]);
            }
        }
        // q's sums: each limb (below 2^WIDTH after the second pass) plus 19 or a carry of 1.
        assert!(t.iter().all(|&x| x + 19 <= U32_MAX));
    }
}
