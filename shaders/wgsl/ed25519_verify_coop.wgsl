// Ed25519 verification with two invocations per signature, for small batches (see
// ed25519_common.wgsl for the rules). A batch of a thousand signatures fills a few percent of a
// large GPU, and its latency is one invocation's: splitting each verification between two
// invocations shortens the longest chain of work by about a fifth.
//
// A workgroup of 64 holds 32 signatures; invocation l works on signature 32·g + l mod 32 in role
// l / 32, so each role fills whole subgroups of 32 (or of 8 or 16) and the two do not diverge
// there (the host uses this kernel only where subgroups are at most 32 wide):
// - role 0: decodes A (and rejects a small-order A under strict), builds [0..8](−A), and
//   computes [k](−A): 252 doublings and 64 additions;
// - role 1: checks S < L, decodes R (and rejects a small-order R under strict), and computes
//   [S]B with a precomputed comb of [j·16^i]B (`comb_table`, checked against curve25519-dalek
//   on the host): 64 additions and no doublings; then hands [S]B and R to role 0 through
//   workgroup memory, as canonical field encodings;
// - role 0 adds the two products and decides the rule's equation.
// Role 0's chain is about 2,750 field operations against 3,300 for one invocation doing all.
//
// Loop iterations per invocation (llvmpipe's limit is 65,535): role 1 about 2,000 (decoding
// 240, 64 comb additions with 24-word table loads 1,600, recoding 64, hand-over 7 · 8), role 0
// about 700 (decoding 240, the multiplication 64 · 5, the table, recoding, hand-over).

// [j·16^i]B for i = 0..64 and j = 0..=8: entry 9i + j, 24 words each as in `base_table`.
@group(0) @binding(6) var<storage, read> comb_table: array<u32>;

const COOP: u32 = 32u;

// What role 1 hands role 0 per signature: [S]B (X, Y, Z, T) and R (X, Y, T; Z = 1), 8 words of
// canonical encoding each, and its flags (bit 8: its checks passed).
var<workgroup> handoff: array<array<u32, 56>, 32>;
var<workgroup> handoff_flags: array<u32, 32>;

// [e·16^i]B for |e| ≤ 8, from the comb, in cached form.
fn comb_multiple(i: u32, e: i32) -> GeCached {
    let at = (9u * i + u32(abs(e))) * 24u;
    var c: array<array<u32, 8>, 3>;
    for (var j = 0u; j < 24u; j++) {
        c[j >> 3u][j & 7u] = comb_table[at + j];
    }
    let q = GeCached(fe_from_bytes(c[0]), fe_from_bytes(c[1]), fe_one(), fe_from_bytes(c[2]));
    return ge_cached_select(q, ge_cached_neg(q), e < 0i);
}

fn give_fe(slot: u32, k: u32, a: Fe) {
    let w = fe_to_bytes(a);
    for (var j = 0u; j < 8u; j++) {
        handoff[slot][8u * k + j] = w[j];
    }
}

fn take_fe(slot: u32, k: u32) -> Fe {
    var w: array<u32, 8>;
    for (var j = 0u; j < 8u; j++) {
        w[j] = handoff[slot][8u * k + j];
    }
    return fe_from_bytes(w);
}

@compute @workgroup_size(64)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let slot = lid.x % COOP;
    let role = lid.x / COOP;
    // Here `params.row` counts workgroups per row of the 2-D dispatch.
    let i = (wid.x + wid.y * params.row) * COOP + slot;
    let live = i < params.count;
    // No return before the barrier: every invocation of the workgroup must reach it.
    var flags = 0u;
    var acc = ge_identity();
    var a_ok = false;
    if (live && role == 1u) {
        let s_words = load8(i, 2u);
        let s_ok = sc_is_canonical(s_words);
        let d = decode_checked(i, 1u);
        flags = select(0u, 2u, s_ok) | d.flags;
        let ok = s_ok && d.ok;
        var sb = ge_identity();
        if (ok) {
            let e = sc_recode(s_words);
            for (var w = 0u; w < 64u; w++) {
                sb = ge_add(sb, comb_multiple(w, sc_digit(e, w)));
            }
        }
        give_fe(slot, 0u, sb.X);
        give_fe(slot, 1u, sb.Y);
        give_fe(slot, 2u, sb.Z);
        give_fe(slot, 3u, sb.T);
        give_fe(slot, 4u, d.p.X);
        give_fe(slot, 5u, d.p.Y);
        give_fe(slot, 6u, d.p.T);
        handoff_flags[slot] = flags | select(0u, 256u, ok);
    }
    if (live && role == 0u) {
        let d = decode_checked(i, 0u);
        a_ok = d.ok;
        flags = d.flags;
        if (a_ok) {
            // table[0..9] = [0..8](−A), built in place: a helper returning the array by value
            // (naga copies it) cost a third of the throughput on lavapipe.
            var table: array<GeCached, 9>;
            var p = ge_neg(d.p);
            let one = ge_to_cached(p);
            table[0] = GeCached(fe_one(), fe_one(), fe_one(), fe_zero());
            table[1] = one;
            for (var m = 2u; m <= 8u; m++) {
                p = ge_add(p, one);
                table[m] = ge_to_cached(p);
            }
            let e = sc_recode(load8(i, 3u));
            for (var w = 63i; w >= 0i; w--) {
                if (w != 63i) {
                    for (var dbl = 0u; dbl < 4u; dbl++) {
                        acc = ge_dbl(acc, dbl == 3u);
                    }
                }
                let digit = sc_digit(e, u32(w));
                let q = table[u32(abs(digit))];
                acc = ge_add(acc, ge_cached_select(q, ge_cached_neg(q), digit < 0i));
            }
        }
    }
    workgroupBarrier();
    if (live && role == 0u) {
        let other = handoff_flags[slot];
        flags |= other & 255u;
        if (!a_ok || (other & 256u) == 0u) {
            verdicts[i] = flags;
            return;
        }
        let sb = Ge(take_fe(slot, 0u), take_fe(slot, 1u), take_fe(slot, 2u), take_fe(slot, 3u));
        let r = Ge(take_fe(slot, 4u), take_fe(slot, 5u), fe_one(), take_fe(slot, 6u));
        let rp = ge_add(acc, ge_to_cached(sb));
        verdicts[i] = flags | select(0u, 65u, equation_holds(rp, r, load8(i, 1u)));
    }
}
