// SHA-256 of many fixed-size messages laid end to end: the common cases of `sha256_batch.wgsl`
// without its per-word bounds and alignment checks. Two entry points on the same bindings:
// - `hash64`: 64-byte messages (Merkle nodes, fixed-size records). Each invocation loads its
//   message as four 16-byte vectors, compresses it, then compresses the constant padding block
//   of a 64-byte message with its precomputed schedule (`sha256_compress_pad64`).
// - `leaf32`: RFC 6962 leaf hashes SHA-256(0x00 ‖ d) of 32-byte leaves d: 33 bytes, one block,
//   the prefix shifting every message byte by one place.

struct Params {
    count: u32,
    // Invocations per row of the 2-D dispatch (workgroups in x times the workgroup size).
    row: u32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// Message i is data[4i .. 4i + 4] (hash64) or data[2i .. 2i + 2] (leaf32), little-endian words.
@group(0) @binding(1) var<storage, read> data: array<vec4<u32>>;
// Digest i is digests[2i .. 2i + 2], in byte order.
@group(0) @binding(2) var<storage, read_write> digests: array<vec4<u32>>;

fn bswap4(v: vec4<u32>) -> vec4<u32> {
    return vec4<u32>(bswap(v.x), bswap(v.y), bswap(v.z), bswap(v.w));
}

@compute @workgroup_size(64)
fn hash64(@builtin(global_invocation_id) gid: vec3<u32>) {
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

@compute @workgroup_size(64)
fn leaf32(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    // The leaf's 8 words as big-endian numbers, m[0] holding bytes 0..3.
    let a = bswap4(data[2u * i]);
    let b = bswap4(data[2u * i + 1u]);
    let m = array<u32, 8>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w);
    // Stream 0x00 ‖ d ‖ 0x80 ‖ zeros ‖ bit length 264: word j is the last byte of m[j − 1]
    // (the 0x00 prefix for j = 0) followed by the first three bytes of m[j].
    var state = SHA256_IV;
    sha256_compress(&state, array<u32, 16>(
        m[0] >> 8u,
        (m[0] << 24u) | (m[1] >> 8u),
        (m[1] << 24u) | (m[2] >> 8u),
        (m[2] << 24u) | (m[3] >> 8u),
        (m[3] << 24u) | (m[4] >> 8u),
        (m[4] << 24u) | (m[5] >> 8u),
        (m[5] << 24u) | (m[6] >> 8u),
        (m[6] << 24u) | (m[7] >> 8u),
        (m[7] << 24u) | 0x00800000u,
        0u, 0u, 0u, 0u, 0u, 0u,
        264u
    ));
    digests[2u * i] = bswap4(vec4<u32>(state[0], state[1], state[2], state[3]));
    digests[2u * i + 1u] = bswap4(vec4<u32>(state[4], state[5], state[6], state[7]));
}
