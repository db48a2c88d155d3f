// SHA-256 of many 64-byte messages laid end to end (Merkle nodes, fixed-size records): the common
// case of `sha256_batch.wgsl` without its per-word bounds and alignment checks. Each invocation
// loads its message as four 16-byte vectors, compresses it, then compresses the constant padding
// block of a 64-byte message with its precomputed schedule (`sha256_compress_pad64`).

struct Params {
    count: u32,
    // Invocations per row of the 2-D dispatch (workgroups in x times the workgroup size).
    row: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// Message i is data[4i .. 4i + 4], little-endian words.
@group(0) @binding(1) var<storage, read> data: array<vec4<u32>>;
// Digest i is digests[2i .. 2i + 2], in byte order.
@group(0) @binding(2) var<storage, read_write> digests: array<vec4<u32>>;

fn bswap4(v: vec4<u32>) -> vec4<u32> {
    return vec4<u32>(bswap(v.x), bswap(v.y), bswap(v.z), bswap(v.w));
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    let a = bswap4(data[4u * i]);
    let b = bswap4(data[4u * i + 1u]);
    let c = bswap4(data[4u * i + 2u]);
    let d = bswap4(data[4u * i + 3u]);
    var state = SHA256_IV;
    sha256_compress(&state, array<u32, 16>(
        a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w, c.x, c.y, c.z, c.w, d.x, d.y, d.z, d.w
    ));
    sha256_compress_pad64(&state);
    digests[2u * i] = bswap4(vec4<u32>(state[0], state[1], state[2], state[3]));
    digests[2u * i + 1u] = bswap4(vec4<u32>(state[4], state[5], state[6], state[7]));
}
