// Ed25519's k = SHA-512(R ‖ A ‖ M) mod L for many signatures, one invocation each, over the
// bytes exactly as received (every rule hashes the given encodings of R and A, canonical or
// not). Reads R from the signatures and A from the public keys directly, so the host never
// copies R ‖ A ‖ M together; composed after sha512.wgsl (+ rounds) and scalar.wgsl.
//
// An item whose message is longer than `params.max_len` is skipped: its k slot is left as the
// host wrote it (software adapters stop an invocation after 65,535 loop iterations, so there the
// host hashes long messages itself).

struct Params {
    count: u32,
    // Invocations per row of the 2-D dispatch (workgroups in x times the workgroup size).
    row: u32,
    max_len: u32,
    pad0: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// 8 words per signature: A.
@group(0) @binding(1) var<storage, read> keys: array<u32>;
// 16 words per signature: R then S.
@group(0) @binding(2) var<storage, read> sigs: array<u32>;
// The messages' bytes, as little-endian words.
@group(0) @binding(3) var<storage, read> data: array<u32>;
// Per signature: (start of its message in `data` in bytes, its length).
@group(0) @binding(4) var<storage, read> spans: array<vec2<u32>>;
// 8 words per signature: k, little-endian.
@group(0) @binding(5) var<storage, read_write> ks: array<u32>;

// Word q / 4 of R ‖ A ‖ M ‖ padding (q a multiple of 4) for signature i, whose R ‖ A ‖ M is
// `len` bytes with M at byte `start` of `data`; the length field is left out.
fn stream_word(i: u32, start: u32, len: u32, q: u32) -> u32 {
    if (q < 32u) {
        return sigs[i * 16u + (q >> 2u)];
    }
    if (q < 64u) {
        return keys[i * 8u + ((q - 32u) >> 2u)];
    }
    if (q + 4u <= len) {
        // Four message bytes: one or two aligned loads, whatever the alignment.
        let p = start + q - 64u;
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
    // The word holding the message's end and the 0x80 byte (q ≤ len < q + 4): once per message.
    var w = 0u;
    for (var b = 0u; b < 4u; b++) {
        let at = q + b;
        var byte = 0u;
        if (at < len) {
            let p = start + at - 64u;
            byte = (data[p >> 2u] >> ((p & 3u) * 8u)) & 0xffu;
        } else if (at == len) {
            byte = 0x80u;
        }
        w |= byte << (8u * b);
    }
    return w;
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    let span = spans[i];
    if (span.y > params.max_len) {
        return;
    }
    let len = span.y + 64u;
    // Whole blocks holding R ‖ A ‖ M, the 0x80 byte and the 16-byte length.
    let blocks = (len + 16u) / 128u + 1u;
    var state = SHA512_IV;
    var block: array<vec2<u32>, 16>;
    for (var b = 0u; b < blocks; b++) {
        for (var w = 0u; w < 16u; w++) {
            let q = b * 128u + w * 8u;
            block[w] = bswap2(vec2<u32>(stream_word(i, span.x, len, q),
                                        stream_word(i, span.x, len, q + 4u)));
        }
        if (b + 1u == blocks) {
            // The bit length's low 64 bits; the high 64 (block[14]) are padding zeros.
            block[15] = vec2<u32>(len >> 29u, len << 3u);
        }
        sha512_compress(&state, block);
    }
    // The digest as 16 little-endian words of its bytes.
    var h: array<u32, 16>;
    for (var w = 0u; w < 8u; w++) {
        let d = bswap2(state[w]);
        h[2u * w] = d.x;
        h[2u * w + 1u] = d.y;
    }
    let k = sc_reduce_wide(h);
    for (var w = 0u; w < 8u; w++) {
        ks[i * 8u + w] = k[w];
    }
}
