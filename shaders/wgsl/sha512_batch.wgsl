// SHA-512 of many messages, one invocation per message: the building block of Ed25519's
// k = SHA-512(R ‖ A ‖ M), over the bytes as received, for messages of any length.
//
// The binding layout and parameters are sha256_batch.wgsl's, so the host code drives both alike:
// messages are one byte buffer (`data`, loaded as little-endian words) plus n + 1 offsets, and an
// optional one-byte prefix is hashed before each message. Digests are written in byte order,
// 16 words (64 bytes) each.
//
// SHA-512 pads to 128-byte blocks: one 0x80 byte, zeros, and a 128-bit big-endian bit length.
// Messages are under 2^32 bytes, so only the low 35 bits of that length can be set.

struct Params {
    count: u32,
    // 0 or 1: bytes of `prefix` hashed before each message.
    prefix_len: u32,
    prefix: u32,
    // Invocations per row of the 2-D dispatch (workgroups in x times the workgroup size).
    row: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> digests: array<u32>;

// Byte `q` of the padded stream (prefix, message of `len` bytes in all starting at `start`,
// padding), the length field left out.
fn stream_byte(start: u32, len: u32, q: u32) -> u32 {
    if (q < params.prefix_len) {
        return params.prefix;
    } else if (q < len) {
        let pos = start + q - params.prefix_len;
        return (data[pos >> 2u] >> ((pos & 3u) * 8u)) & 0xffu;
    } else if (q == len) {
        return 0x80u;
    }
    return 0u;
}

// Bytes q..q+3 of the padded stream as a little-endian word (q a multiple of 4). No loops: on
// software adapters every loop iteration counts against a per-invocation limit.
fn stream_word(start: u32, len: u32, q: u32) -> u32 {
    if (q >= params.prefix_len && q + 4u <= len) {
        // Four message bytes: one or two aligned loads, whatever the alignment.
        let p = start + q - params.prefix_len;
        let sh = (p & 3u) * 8u;
        var v = data[p >> 2u];
        if (sh != 0u) {
            v = (v >> sh) | (data[(p >> 2u) + 1u] << (32u - sh));
        }
        return v;
    }
    if (q > len) {
        return 0u;
    }
    return stream_byte(start, len, q) | (stream_byte(start, len, q + 1u) << 8u)
        | (stream_byte(start, len, q + 2u) << 16u) | (stream_byte(start, len, q + 3u) << 24u);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    let start = offsets[i];
    // Bytes hashed: the prefix, then the message.
    let len = offsets[i + 1u] - start + params.prefix_len;
    // Whole blocks holding the message, the 0x80 byte and the 16-byte length.
    let blocks = (len + 16u) / 128u + 1u;
    var state = SHA512_IV;
    var block: array<vec2<u32>, 16>;
    for (var b = 0u; b < blocks; b++) {
        // 16 iterations per 128-byte block, two 32-bit words each.
        for (var w = 0u; w < 16u; w++) {
            let q = b * 128u + w * 8u;
            block[w] = bswap2(vec2<u32>(stream_word(start, len, q), stream_word(start, len, q + 4u)));
        }
        if (b + 1u == blocks) {
            // The bit length's low 64 bits; the high 64 (block[14]) are padding zeros.
            block[15] = vec2<u32>(len >> 29u, len << 3u);
        }
        sha512_compress(&state, block);
    }
    for (var w = 0u; w < 8u; w++) {
        let d = bswap2(state[w]);
        digests[i * 16u + 2u * w] = d.x;
        digests[i * 16u + 2u * w + 1u] = d.y;
    }
}
