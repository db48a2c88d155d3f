// SHA-256 of many messages, one invocation per message.
//
// Messages are one byte buffer (`data`, loaded as little-endian words) plus n + 1 offsets. An
// optional one-byte prefix is hashed before each message: RFC 6962 leaf hashes are
// SHA-256(0x00 ‖ leaf) without copying the leaves. With the double flag each digest is hashed
// once more, SHA-256(SHA-256(m)): Bitcoin's txids and block hashes in the same single pass.
// Digests are written in byte order.

struct Params {
    count: u32,
    // Bit 0: one byte of `prefix` is hashed before each message. Bit 1: double SHA-256.
    // (`sha512_batch.wgsl` shares the layout and reads bit 0 alone, as `prefix_len`.)
    flags: u32,
    prefix: u32,
    // Invocations per row of the 2-D dispatch (workgroups in x times the workgroup size).
    row: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read> offsets: array<u32>;
@group(0) @binding(3) var<storage, read_write> digests: array<u32>;

fn data_byte(pos: u32) -> u32 {
    return (data[pos >> 2u] >> ((pos & 3u) * 8u)) & 0xffu;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    let start = offsets[i];
    let prefix_len = params.flags & 1u;
    // Bytes hashed: the prefix, then the message.
    let len = offsets[i + 1u] - start + prefix_len;
    // Padding: one 0x80 byte, zeros, and the 64-bit bit length, to a whole number of blocks.
    let blocks = (len + 8u) / 64u + 1u;
    var state = SHA256_IV;
    var block: array<u32, 16>;
    for (var b = 0u; b < blocks; b++) {
        for (var w = 0u; w < 16u; w++) {
            let q = b * 64u + w * 4u;
            var word = 0u;
            if (q >= prefix_len && q + 4u <= len) {
                // Four message bytes: one or two aligned loads, whatever the alignment.
                let p = start + q - prefix_len;
                let sh = (p & 3u) * 8u;
                var v = data[p >> 2u];
                if (sh != 0u) {
                    v = (v >> sh) | (data[(p >> 2u) + 1u] << (32u - sh));
                }
                word = bswap(v);
            } else {
                for (var k = 0u; k < 4u; k++) {
                    let qq = q + k;
                    var byte = 0u;
                    if (qq < prefix_len) {
                        byte = params.prefix;
                    } else if (qq < len) {
                        byte = data_byte(start + qq - prefix_len);
                    } else if (qq == len) {
                        byte = 0x80u;
                    }
                    word = word | (byte << (24u - 8u * k));
                }
            }
            block[w] = word;
        }
        if (b + 1u == blocks) {
            // Bit length; messages are under 2^32 bytes.
            block[14] = len >> 29u;
            block[15] = len << 3u;
        }
        sha256_compress(&state, block);
    }
    if ((params.flags & 2u) != 0u) {
        // The 32-byte digest as one padded block: the state words are already the big-endian
        // message words, then 0x80, zeros, and the bit length 256.
        for (var w = 0u; w < 8u; w++) {
            block[w] = state[w];
            block[w + 8u] = 0u;
        }
        block[8] = 0x80000000u;
        block[15] = 256u;
        state = SHA256_IV;
        sha256_compress(&state, block);
    }
    for (var w = 0u; w < 8u; w++) {
        digests[i * 8u + w] = bswap(state[w]);
    }
}
