// Merkle node hashes on SHA-256 state words (big-endian, as `sha256.wgsl` has them), shared by
// the kernels that build trees (`merkle_reduce.wgsl`) and fold proofs (`merkle_proofs.wgsl`).

fn same(a: array<u32, 8>, b: array<u32, 8>) -> bool {
    var d = 0u;
    for (var w = 0u; w < 8u; w++) {
        d = d | (a[w] ^ b[w]);
    }
    return d == 0u;
}

// SHA-256(0x01 ‖ l ‖ r): 65 bytes, two blocks, everything shifted by the prefix byte.
fn rfc6962_node(l: array<u32, 8>, r: array<u32, 8>) -> array<u32, 8> {
    var s = SHA256_IV;
    var b: array<u32, 16>;
    b[0] = 0x01000000u | (l[0] >> 8u);
    for (var k = 1u; k < 8u; k++) {
        b[k] = (l[k - 1u] << 24u) | (l[k] >> 8u);
    }
    b[8] = (l[7] << 24u) | (r[0] >> 8u);
    for (var k = 1u; k < 8u; k++) {
        b[8u + k] = (r[k - 1u] << 24u) | (r[k] >> 8u);
    }
    sha256_compress(&s, b);
    var t: array<u32, 16>;
    t[0] = (r[7] << 24u) | 0x00800000u;
    t[15] = 65u * 8u;
    sha256_compress(&s, t);
    return s;
}

// SHA-256(SHA-256(l ‖ r)).
fn bitcoin_node(l: array<u32, 8>, r: array<u32, 8>) -> array<u32, 8> {
    var s = SHA256_IV;
    var b: array<u32, 16>;
    for (var k = 0u; k < 8u; k++) {
        b[k] = l[k];
        b[8u + k] = r[k];
    }
    sha256_compress(&s, b);
    sha256_compress_pad64(&s);
    var o = SHA256_IV;
    var t: array<u32, 16>;
    for (var k = 0u; k < 8u; k++) {
        t[k] = s[k];
    }
    t[8] = 0x80000000u;
    t[15] = 32u * 8u;
    sha256_compress(&o, t);
    return o;
}
