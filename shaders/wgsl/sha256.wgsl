// SHA-256 (FIPS 180-4) on 32-bit words, shared by every kernel that hashes.
//
// The compression function is fully unrolled, so that every message-schedule word and working
// variable has a name of its own and stays in a register: a loop over an indexed
// `array<u32, 64>` spills to local memory on GPUs and to the stack on lavapipe.
//
// State and message words are big-endian interpretations, as the standard writes them. Buffers
// hold digests in byte order (the little-endian load of the digest bytes), so kernels convert
// with `bswap` at their edges.

const SHA256_IV: array<u32, 8> = array<u32, 8>(
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u
);

fn rotr(x: u32, n: u32) -> u32 {
    return (x >> n) | (x << (32u - n));
}

fn big_sigma0(x: u32) -> u32 {
    return rotr(x, 2u) ^ rotr(x, 13u) ^ rotr(x, 22u);
}

fn big_sigma1(x: u32) -> u32 {
    return rotr(x, 6u) ^ rotr(x, 11u) ^ rotr(x, 25u);
}

fn small_sigma0(x: u32) -> u32 {
    return rotr(x, 7u) ^ rotr(x, 18u) ^ (x >> 3u);
}

fn small_sigma1(x: u32) -> u32 {
    return rotr(x, 17u) ^ rotr(x, 19u) ^ (x >> 10u);
}

fn ch(e: u32, f: u32, g: u32) -> u32 {
    return (e & f) ^ (~e & g);
}

fn maj(a: u32, b: u32, c: u32) -> u32 {
    return (a & b) ^ (a & c) ^ (b & c);
}

fn bswap(x: u32) -> u32 {
    return (x << 24u) | ((x << 8u) & 0x00ff0000u) | ((x >> 8u) & 0x0000ff00u) | (x >> 24u);
}

// sha256_compress(state, block) and sha256_compress_pad64(state) follow: generated, fully
// unrolled, by `vera_shaders::sha256_rounds_wgsl` (see shaders/src/lib.rs).
