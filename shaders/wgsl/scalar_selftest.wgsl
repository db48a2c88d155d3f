// A self-test of scalar.wgsl, compared by the tests with curve25519-dalek: for each 64-byte input
// h (16 little-endian words) it writes 3 groups of 8 words:
//  0 h mod L (sc_reduce_wide);
//  1 sc_recode of h mod L (packed signed digits);
//  2 flags: sc_is_canonical of h's low 32 bytes, then 7 zeros.

struct Params {
    count: u32,
    // Invocations per row of the 2-D dispatch (workgroups in x times the workgroup size).
    row: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> inputs: array<u32>;
@group(0) @binding(2) var<storage, read_write> results: array<u32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    var h: array<u32, 16>;
    for (var w = 0u; w < 16u; w++) {
        h[w] = inputs[i * 16u + w];
    }
    let low = array<u32, 8>(h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
    let k = sc_reduce_wide(h);
    let e = sc_recode(k);
    for (var w = 0u; w < 8u; w++) {
        results[i * 24u + w] = k[w];
        results[i * 24u + 8u + w] = e[w];
        results[i * 24u + 16u + w] = 0u;
    }
    results[i * 24u + 16u] = select(0u, 1u, sc_is_canonical(low));
}
