// The bindings and word I/O the fixed-width self-test kernels share (field_selftest.wgsl,
// decompress_selftest.wgsl, scalar_selftest.wgsl; the host's `run_fixed_width`): parameters at
// 0, inputs at 1, results at 2, RESULT_WORDS result words per item (each kernel defines it).

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

// Input words at..at + 8.
fn load8(at: u32) -> array<u32, 8> {
    return array<u32, 8>(
        inputs[at], inputs[at + 1u], inputs[at + 2u], inputs[at + 3u],
        inputs[at + 4u], inputs[at + 5u], inputs[at + 6u], inputs[at + 7u]
    );
}

// Result group `slot` (8 words) of item i. No loop: loop iterations count against llvmpipe's
// per-invocation limit.
fn store8(i: u32, slot: u32, w: array<u32, 8>) {
    let at = i * RESULT_WORDS + slot * 8u;
    results[at] = w[0];
    results[at + 1u] = w[1];
    results[at + 2u] = w[2];
    results[at + 3u] = w[3];
    results[at + 4u] = w[4];
    results[at + 5u] = w[5];
    results[at + 6u] = w[6];
    results[at + 7u] = w[7];
}
