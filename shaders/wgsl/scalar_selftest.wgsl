// A self-test of scalar.wgsl, compared by the tests with curve25519-dalek: for each 64-byte input
// h (16 little-endian words) it writes 3 groups of 8 words:
//  0 h mod L (sc_reduce_wide);
//  1 sc_recode of h mod L (packed signed digits);
//  2 flags: sc_is_canonical of h's low 32 bytes, then 7 zeros.

const RESULT_WORDS: u32 = 24u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    let low = load8(i * 16u);
    let high = load8(i * 16u + 8u);
    var h: array<u32, 16>;
    for (var w = 0u; w < 8u; w++) {
        h[w] = low[w];
        h[w + 8u] = high[w];
    }
    let k = sc_reduce_wide(h);
    store8(i, 0u, k);
    store8(i, 1u, sc_recode(k));
    store8(i, 2u, array<u32, 8>(select(0u, 1u, sc_is_canonical(low)), 0u, 0u, 0u, 0u, 0u, 0u, 0u));
}
