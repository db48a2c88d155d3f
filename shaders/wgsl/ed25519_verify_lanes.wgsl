// Ed25519 verification with eight invocations per signature, four per point, for small batches
// where latency is what counts (see ed25519_common.wgsl for the rules). A thousand signatures
// fill a few percent of a large GPU; what bounds their latency is the longest chain of
// dependent field operations one invocation runs. Here that chain is about a third of the
// one-invocation kernel's:
//
// - Four invocations hold one point, one coordinate each, and run the point formulas four field
//   multiplications at a time (the parallel formulas of Hisil–Wong–Carter–Dawson 2008, §3 — the
//   ones curve25519-dalek's AVX2 backend evaluates four lanes at a time): a doubling is one
//   parallel squaring and one parallel multiplication, an addition two parallel
//   multiplications, where one invocation runs 7 and 9 in a row. Operands move between the four
//   through subgroup shuffles (`fe_shuffle`).
// - Two such groups per signature split the work like the cooperative kernel's two roles:
//   group 0 decodes A and computes [k](−A) (252 doublings, 64 additions, a table of
//   [0..8](−A)); group 1 checks S < L, decodes R and computes [S]B from the comb of
//   [j·16^i]B (64 additions, no doublings). Group 1 hands [S]B and R over through workgroup
//   memory; group 0 adds, and its first invocation decides the equation.
// Group 0's chain: decoding ≈ 265 field operations, the table ≈ 21 steps, the multiplication
// 252 · 2 + 64 · 2 steps: ≈ 920, against ≈ 3,300 for one invocation and ≈ 2,750 for the
// cooperative kernel's role 0. Every invocation decodes its group's point itself: redundant
// work, but no wait.
//
// Layout: a workgroup of 64 holds 8 signatures. Invocation l works on signature (l mod 32) / 4,
// in group l / 32, on coordinate l mod 4: each group fills whole subgroups of up to 32, so the
// two groups' different work does not diverge within a subgroup (a subgroup running both would
// take the sum of their times, not the longer). Shuffles address lanes of the subgroup, so each
// group's four invocations must be four consecutive lanes of one subgroup, aligned. Vulkan,
// Metal and D3D12 implementations lay compute subgroups out by local index, but no
// specification promises it: the kernel checks it (each invocation's lane against its local
// index, and that subgroups are at least 4 wide), and a signature whose check fails is answered
// with flag bit 7 rather than a verdict: the host then gives this kernel up on the device and
// runs the batch with another (or, where this kernel was forced, returns an error).
//
// Coordinates per lane c: a point in extended coordinates is (X, Y, Z, T)[c]; a point prepared
// for addition ("cached") is (Y − X, Y + X, 2Z, 2d·T)[c]. The formulas' projective scaling
// differs from edwards.wgsl's (a doubling here is −1 times ref10's), which no test of the
// result notices: every use is projective (equality by cross-multiplication, or compression
// through an inversion).
//
// Loop iterations per invocation (llvmpipe's limit is 65,535): decoding 240, the small-order
// check 3, the table 7, the multiplication 64 · 5 (group 0) or 64 comb loads of 8 words
// (group 1), recoding 64, input loads 8 · 3, the equation's checks: about 1,000.

// [j·16^i]B for i = 0..64 and j = 0..=8: entry 9i + j, 24 words each as in `base_table`.
@group(0) @binding(6) var<storage, read> comb_table: array<u32>;

const SIGNATURES_PER_WORKGROUP: u32 = 8u;

// What group 1 hands group 0 per signature: [S]B (X, Y, Z, T: lane c writes entry c) and R
// (X, Y, T: entries 4, 5, 6), in the field part's normal form, and its flags (bit 8: its checks
// passed; bit 9: its subgroup's layout check failed).
var<workgroup> handoff: array<array<Fe, 7>, 8>;
var<workgroup> handoff_flags: array<u32, 8>;

// This invocation's coordinate (0..4) and the subgroup lane of its group's coordinate 0.
var<private> lane: u32;
var<private> group_base: u32;
// The verdict of a signature whose invocations were not laid out as this kernel needs.
const LAYOUT_FAULT: u32 = 128u;

// The lanes whose values p4_finish multiplies: (E·F, G·H, F·G, E·H) from (E, H, F, G).
var<private> finish_a: u32;
var<private> finish_b: u32;

// Coordinate c of this group's value `a`.
fn from_lane(a: Fe, c: u32) -> Fe {
    return fe_shuffle(a, group_base + c);
}

// Coordinate c of p.
fn ge_coordinate(p: Ge, c: u32) -> Fe {
    return fe_select(fe_select(p.X, p.Y, c == 1u), fe_select(p.Z, p.T, c == 3u), c >= 2u);
}

// The last step of both formulas: from (E, H, F, G) on lanes 0..4, the point
// (E·F, G·H, F·G, E·H) in extended coordinates.
fn p4_finish(v: Fe) -> Fe {
    return fe_mul(from_lane(v, finish_a), from_lane(v, finish_b));
}

// Extended to cached: (Y − X, Y + X, 2Z, 2d·T). Every lane multiplies (only lane 3's product is
// kept): no lane-dependent branch, so the group stays converged for the shuffles that follow
// (which Vulkan only promises in converged control flow), at no cost in time.
fn p4_to_cached(p: Fe) -> Fe {
    let partner = from_lane(p, lane ^ 1u);
    let r = fe_select(fe_add(p, fe_select(partner, p, lane == 2u)), fe_sub(partner, p), lane == 0u);
    return fe_select(r, fe_mul(p, fe_from_bytes(ED_D2_WORDS)), lane == 3u);
}

// −q for a cached q: lanes 0 and 1 swap, lane 3 negates. `neg` is the same on all four lanes.
fn p4_cached_neg_if(q: Fe, neg: bool) -> Fe {
    let partner = from_lane(q, lane ^ 1u);
    let swapped = fe_select(q, partner, lane < 2u);
    return fe_select(q, fe_select(swapped, fe_neg(q), lane == 3u), neg);
}

// p + q, p extended, q cached (add-2008-hwcd-3 with k = 2d): A = (Y₁ − X₁)(Y₂ − X₂),
// B = (Y₁ + X₁)(Y₂ + X₂), D = Z₁·2Z₂, C = T₁·2dT₂; E = B − A, H = B + A, F = D − C, G = D + C.
fn p4_add(p: Fe, q: Fe) -> Fe {
    let partner = from_lane(p, lane ^ 1u);
    // (Y₁ − X₁, Y₁ + X₁, Z₁, T₁)
    let sum_or_diff = fe_select(fe_add(p, partner), fe_sub(partner, p), lane == 0u);
    let m = fe_mul(fe_select(p, sum_or_diff, lane < 2u), q);
    // (A, B, D, C) → (B − A, B + A, D − C, D + C): lane 0 other − m, lane 2 m − other, lanes 1
    // and 3 m + other.
    let other = from_lane(m, lane ^ 1u);
    let diff = fe_sub(fe_select(m, other, lane == 0u), fe_select(other, m, lane == 0u));
    return p4_finish(fe_select(fe_add(m, other), diff, (lane & 1u) == 0u));
}

// 2p, p extended (dbl-2008-hwcd, a = −1): A = X², B = Y², C = 2Z², E = (X + Y)² − A − B,
// G = B − A, F = G − C, H = −A − B.
fn p4_dbl(p: Fe) -> Fe {
    // (X + Y, Y, Z, X) squared: ((X + Y)², B, Z², A)
    let got = from_lane(p, select(select(lane, 0u, lane == 3u), 1u, lane == 0u));
    let sq = fe_sq(fe_select(got, fe_add(p, got), lane == 0u));
    let a = from_lane(sq, 3u);
    let b = from_lane(sq, 1u);
    let g = fe_sub(b, a);
    // E = (X + Y)² − (A + B) on lane 0, H = 0 − (A + B) on lane 1, F = G − 2Z² on lane 2, G on
    // lane 3.
    let eh = fe_sub(fe_select(fe_zero(), sq, lane == 0u), fe_add(a, b));
    let fg = fe_select(g, fe_sub(fe_sub(g, sq), sq), lane == 2u);
    return p4_finish(fe_select(fg, eh, lane < 2u));
}

// Coordinate `lane` of [e·16^i]B, cached, from the comb (Z = 1, so 2Z = 2): lane 0 reads
// Y − X and lane 1 Y + X (the other way round for e < 0), lane 3 2d·T (negated for e < 0).
fn comb_lane(i: u32, e: i32) -> Fe {
    let neg = e < 0i;
    let at = (9u * i + u32(abs(e))) * 24u;
    let off = select(16u, select(8u, 0u, (lane == 1u) != neg), lane < 2u);
    var w: array<u32, 8>;
    for (var j = 0u; j < 8u; j++) {
        w[j] = comb_table[at + off + j];
    }
    let f = fe_from_bytes(w);
    let signed = fe_select(f, fe_neg(f), neg && lane == 3u);
    return fe_select(signed, fe_add(fe_one(), fe_one()), lane == 2u);
}

@compute @workgroup_size(64)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(subgroup_invocation_id) sid: u32,
    @builtin(subgroup_size) sg_size: u32,
) {
    lane = lid & 3u;
    group_base = sid & ~3u;
    finish_a = select(select(0u, 3u, lane == 1u), 2u, lane == 2u);
    finish_b = select(select(2u, 1u, lane == 1u), 3u, lane == 2u);
    finish_b = select(finish_b, 1u, lane == 3u);
    let group = lid >> 5u;
    let slot = (lid & 31u) >> 2u;
    // Here `params.row` counts workgroups per row of the 2-D dispatch.
    let i = (wid.x + wid.y * params.row) * SIGNATURES_PER_WORKGROUP + slot;
    // A group's four invocations agree on `live`, so no shuffle reads a lane that is idle; no
    // return before the barrier, which every invocation of the workgroup must reach.
    let live = i < params.count;
    let quad_base = subgroupShuffle(lid, group_base);
    let misplaced = sg_size < 4u || (sid & 3u) != lane || quad_base != (lid & ~3u)
        || (params.test_flags & 1u) != 0u;
    let layout_fault = subgroupAny(misplaced);

    // Group 0: [k](−A) and A's flags; group 1: [S]B, R and their flags. `ok`: this group's
    // checks passed (the same on all four lanes of a group: each decodes the same bytes).
    var flags = 0u;
    var ok = false;
    var acc = fe_select(fe_zero(), fe_one(), lane == 1u || lane == 2u);
    if (live && group == 0u) {
        let d = decode_checked(i, 0u);
        ok = d.ok;
        flags = d.flags;
        if (ok) {
            // table[m] = this lane's coordinate of [m](−A), cached, for m = 0..=8; built in
            // place (see ed25519_verify.wgsl).
            var table: array<Fe, 9>;
            let minus_a = ge_coordinate(ge_neg(d.p), lane);
            let one = p4_to_cached(minus_a);
            // cached identity: (1, 1, 2, 0)
            table[0] = fe_select(fe_select(fe_one(), fe_add(fe_one(), fe_one()), lane == 2u),
                fe_zero(), lane == 3u);
            table[1] = one;
            var p = minus_a;
            for (var m = 2u; m <= 8u; m++) {
                p = p4_add(p, one);
                table[m] = p4_to_cached(p);
            }
            let e = sc_recode(load8(i, 3u));
            for (var w = 63i; w >= 0i; w--) {
                if (w != 63i) {
                    for (var dbl = 0u; dbl < 4u; dbl++) {
                        acc = p4_dbl(acc);
                    }
                }
                let digit = sc_digit(e, u32(w));
                acc = p4_add(acc, p4_cached_neg_if(table[u32(abs(digit))], digit < 0i));
            }
        }
    }
    if (live && group == 1u) {
        let s_words = load8(i, 2u);
        let s_ok = sc_is_canonical(s_words);
        let d = decode_checked(i, 1u);
        flags = select(0u, 2u, s_ok) | d.flags;
        ok = s_ok && d.ok;
        if (ok) {
            let e = sc_recode(s_words);
            for (var w = 0u; w < 64u; w++) {
                acc = p4_add(acc, comb_lane(w, sc_digit(e, w)));
            }
        }
        handoff[slot][lane] = acc;
        if (lane < 3u) {
            handoff[slot][4u + lane] = ge_coordinate(d.p, select(lane, 3u, lane == 2u));
        } else {
            handoff_flags[slot] = flags | select(0u, 256u, ok) | select(0u, 512u, layout_fault);
        }
    }
    workgroupBarrier();
    if (!live || group != 0u) {
        return;
    }
    let other_flags = handoff_flags[slot];
    flags |= other_flags & 255u;
    if (layout_fault || (other_flags & 512u) != 0u) {
        if (lane == 0u) {
            verdicts[i] = LAYOUT_FAULT;
        }
        return;
    }
    if (!ok || (other_flags & 256u) == 0u) {
        if (lane == 0u) {
            verdicts[i] = flags;
        }
        return;
    }
    // R' = [S]B − [k]A, gathered whole into every lane of the group; the first decides.
    let rp4 = p4_add(acc, p4_to_cached(handoff[slot][lane]));
    let rp = Ge(from_lane(rp4, 0u), from_lane(rp4, 1u), from_lane(rp4, 2u), from_lane(rp4, 3u));
    if (lane == 0u) {
        let r = Ge(handoff[slot][4], handoff[slot][5], fe_one(), handoff[slot][6]);
        verdicts[i] = flags | select(0u, 65u, equation_holds(rp, r, load8(i, 1u)));
    }
}
