// Ed25519 verification, one invocation per signature (see ed25519_common.wgsl for the rules).
//
// [S]B − [k]A by Straus's method, sharing the doublings: for each signed radix-16 digit of k
// (sc_recode) from the top, 4 doublings (T computed only before an addition) and the addition of
// [e](−A) from a table of [0..8](−A) built per signature; at every other digit, the addition of
// [16·e₂ᵢ₊₁ + e₂ᵢ]B for a pair of S's digits from a precomputed table of [0..136]B in a storage
// buffer (the host's `base_table.rs`, checked against curve25519-dalek). 252 doublings and
// 64 + 32 additions in all. Every point operation has a single call site inside a loop, because
// compilers inline them all and the kernel's size is what its build time follows.
//
// Loop iterations per invocation (llvmpipe stops an invocation after 65,535): decompression
// 2 · 240, small-order checks 2 · 3 + 3, the table 7, the multiplication 64 · 6 plus 32 table
// loads of 24 words, loads of the inputs 5 · 8, recoding 2 · 64, scalar check 8: about 1,900.

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    let r_words = load8(i, 1u);
    var s_words = load8(i, 2u);
    let s_ok = sc_is_canonical(s_words);

    // A (j = 0) and R (j = 1), decoded at one call site.
    var pts: array<Ge, 2>;
    var decodes: array<bool, 2>;
    for (var j = 0u; j < 2u; j++) {
        let d = ge_decompress(load8(i, j));
        pts[j] = d.p;
        decodes[j] = d.ok;
    }
    var flags = select(0u, 2u, s_ok) | select(0u, 4u, decodes[0]) | select(0u, 8u, decodes[1]);
    var ok = s_ok && decodes[0] && decodes[1];
    if (ok && params.rule == RULE_STRICT) {
        for (var j = 0u; j < 2u; j++) {
            if (ge_is_small_order(pts[j])) {
                flags |= 16u << j;
                ok = false;
            }
        }
    }
    if (!ok) {
        verdicts[i] = flags;
        return;
    }

    // table[0..9] = [0..8](−A), built in place: a helper returning the array by value
    // (naga copies it) cost a third of the throughput on lavapipe.
    var table: array<GeCached, 9>;
    var p = ge_neg(pts[0]);
    let one = ge_to_cached(p);
    table[0] = GeCached(fe_one(), fe_one(), fe_one(), fe_zero());
    table[1] = one;
    for (var m = 2u; m <= 8u; m++) {
        p = ge_add(p, one);
        table[m] = ge_to_cached(p);
    }

    let k_digits = sc_recode(load8(i, 3u));
    let s_digits = sc_recode(s_words);
    var acc = ge_identity();
    for (var w = 63i; w >= 0i; w--) {
        if (w != 63i) {
            for (var d = 0u; d < 4u; d++) {
                acc = ge_dbl(acc, d == 3u);
            }
        }
        // t = 0: [e](−A) for k's digit; t = 1, at even w: [16·e_{w+1} + e_w]B for S's pair.
        for (var t = 0u; t < 2u; t++) {
            var q: GeCached;
            if (t == 0u) {
                let e = sc_digit(k_digits, u32(w));
                q = table[u32(abs(e))];
                q = ge_cached_select(q, ge_cached_neg(q), e < 0i);
            } else if ((w & 1i) == 0i) {
                q = base_multiple(
                    16i * sc_digit(s_digits, u32(w) + 1u) + sc_digit(s_digits, u32(w))
                );
            } else {
                continue;
            }
            acc = ge_add(acc, q);
        }
    }

    verdicts[i] = flags | select(0u, 65u, equation_holds(acc, pts[1], r_words));
}
