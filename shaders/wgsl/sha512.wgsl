// SHA-512 (FIPS 180-4) with 64-bit words emulated as `vec2<u32>(hi, lo)`, shared by every kernel
// that needs it (Ed25519's k = SHA-512(R ‖ A ‖ M)). Adapters may lack SHADER_INT64, so nothing
// here uses 64-bit integers: additions carry from the low word into the high one by hand, and
// rotations and shifts move bits across the pair.
//
// The compression function is fully unrolled, like SHA-256's (see sha256.wgsl): its schedule is
// a rolling window of 16 named words, so that nothing is indexed at run time.
//
// State and message words are big-endian interpretations, as the standard writes them: `.x` holds
// bits 63..32 and `.y` bits 31..0. Buffers hold digests in byte order (the little-endian load of
// the digest bytes), so kernels convert with `bswap2` at their edges.

const SHA512_IV: array<vec2<u32>, 8> = array<vec2<u32>, 8>(
    vec2<u32>(0x6a09e667u, 0xf3bcc908u), vec2<u32>(0xbb67ae85u, 0x84caa73bu),
    vec2<u32>(0x3c6ef372u, 0xfe94f82bu), vec2<u32>(0xa54ff53au, 0x5f1d36f1u),
    vec2<u32>(0x510e527fu, 0xade682d1u), vec2<u32>(0x9b05688cu, 0x2b3e6c1fu),
    vec2<u32>(0x1f83d9abu, 0xfb41bd6bu), vec2<u32>(0x5be0cd19u, 0x137e2179u)
);

// Round constants (FIPS 180-4 §4.2.3): the first 64 bits of the fractional parts of the cube
// roots of the first 80 primes.
const SHA512_K: array<vec2<u32>, 80> = array<vec2<u32>, 80>(
    vec2<u32>(0x428a2f98u, 0xd728ae22u), vec2<u32>(0x71374491u, 0x23ef65cdu),
    vec2<u32>(0xb5c0fbcfu, 0xec4d3b2fu), vec2<u32>(0xe9b5dba5u, 0x8189dbbcu),
    vec2<u32>(0x3956c25bu, 0xf348b538u), vec2<u32>(0x59f111f1u, 0xb605d019u),
    vec2<u32>(0x923f82a4u, 0xaf194f9bu), vec2<u32>(0xab1c5ed5u, 0xda6d8118u),
    vec2<u32>(0xd807aa98u, 0xa3030242u), vec2<u32>(0x12835b01u, 0x45706fbeu),
    vec2<u32>(0x243185beu, 0x4ee4b28cu), vec2<u32>(0x550c7dc3u, 0xd5ffb4e2u),
    vec2<u32>(0x72be5d74u, 0xf27b896fu), vec2<u32>(0x80deb1feu, 0x3b1696b1u),
    vec2<u32>(0x9bdc06a7u, 0x25c71235u), vec2<u32>(0xc19bf174u, 0xcf692694u),
    vec2<u32>(0xe49b69c1u, 0x9ef14ad2u), vec2<u32>(0xefbe4786u, 0x384f25e3u),
    vec2<u32>(0x0fc19dc6u, 0x8b8cd5b5u), vec2<u32>(0x240ca1ccu, 0x77ac9c65u),
    vec2<u32>(0x2de92c6fu, 0x592b0275u), vec2<u32>(0x4a7484aau, 0x6ea6e483u),
    vec2<u32>(0x5cb0a9dcu, 0xbd41fbd4u), vec2<u32>(0x76f988dau, 0x831153b5u),
    vec2<u32>(0x983e5152u, 0xee66dfabu), vec2<u32>(0xa831c66du, 0x2db43210u),
    vec2<u32>(0xb00327c8u, 0x98fb213fu), vec2<u32>(0xbf597fc7u, 0xbeef0ee4u),
    vec2<u32>(0xc6e00bf3u, 0x3da88fc2u), vec2<u32>(0xd5a79147u, 0x930aa725u),
    vec2<u32>(0x06ca6351u, 0xe003826fu), vec2<u32>(0x14292967u, 0x0a0e6e70u),
    vec2<u32>(0x27b70a85u, 0x46d22ffcu), vec2<u32>(0x2e1b2138u, 0x5c26c926u),
    vec2<u32>(0x4d2c6dfcu, 0x5ac42aedu), vec2<u32>(0x53380d13u, 0x9d95b3dfu),
    vec2<u32>(0x650a7354u, 0x8baf63deu), vec2<u32>(0x766a0abbu, 0x3c77b2a8u),
    vec2<u32>(0x81c2c92eu, 0x47edaee6u), vec2<u32>(0x92722c85u, 0x1482353bu),
    vec2<u32>(0xa2bfe8a1u, 0x4cf10364u), vec2<u32>(0xa81a664bu, 0xbc423001u),
    vec2<u32>(0xc24b8b70u, 0xd0f89791u), vec2<u32>(0xc76c51a3u, 0x0654be30u),
    vec2<u32>(0xd192e819u, 0xd6ef5218u), vec2<u32>(0xd6990624u, 0x5565a910u),
    vec2<u32>(0xf40e3585u, 0x5771202au), vec2<u32>(0x106aa070u, 0x32bbd1b8u),
    vec2<u32>(0x19a4c116u, 0xb8d2d0c8u), vec2<u32>(0x1e376c08u, 0x5141ab53u),
    vec2<u32>(0x2748774cu, 0xdf8eeb99u), vec2<u32>(0x34b0bcb5u, 0xe19b48a8u),
    vec2<u32>(0x391c0cb3u, 0xc5c95a63u), vec2<u32>(0x4ed8aa4au, 0xe3418acbu),
    vec2<u32>(0x5b9cca4fu, 0x7763e373u), vec2<u32>(0x682e6ff3u, 0xd6b2b8a3u),
    vec2<u32>(0x748f82eeu, 0x5defb2fcu), vec2<u32>(0x78a5636fu, 0x43172f60u),
    vec2<u32>(0x84c87814u, 0xa1f0ab72u), vec2<u32>(0x8cc70208u, 0x1a6439ecu),
    vec2<u32>(0x90befffau, 0x23631e28u), vec2<u32>(0xa4506cebu, 0xde82bde9u),
    vec2<u32>(0xbef9a3f7u, 0xb2c67915u), vec2<u32>(0xc67178f2u, 0xe372532bu),
    vec2<u32>(0xca273eceu, 0xea26619cu), vec2<u32>(0xd186b8c7u, 0x21c0c207u),
    vec2<u32>(0xeada7dd6u, 0xcde0eb1eu), vec2<u32>(0xf57d4f7fu, 0xee6ed178u),
    vec2<u32>(0x06f067aau, 0x72176fbau), vec2<u32>(0x0a637dc5u, 0xa2c898a6u),
    vec2<u32>(0x113f9804u, 0xbef90daeu), vec2<u32>(0x1b710b35u, 0x131c471bu),
    vec2<u32>(0x28db77f5u, 0x23047d84u), vec2<u32>(0x32caab7bu, 0x40c72493u),
    vec2<u32>(0x3c9ebe0au, 0x15c9bebcu), vec2<u32>(0x431d67c4u, 0x9c100d4cu),
    vec2<u32>(0x4cc5d4beu, 0xcb3e42b6u), vec2<u32>(0x597f299cu, 0xfc657e2au),
    vec2<u32>(0x5fcb6fabu, 0x3ad6faecu), vec2<u32>(0x6c44198cu, 0x4a475817u)
);

// a + b mod 2^64: the low words' carry is the wrap-around of their sum.
fn add64(a: vec2<u32>, b: vec2<u32>) -> vec2<u32> {
    let lo = a.y + b.y;
    return vec2<u32>(a.x + b.x + select(0u, 1u, lo < a.y), lo);
}

// Rotation right by 0 < n < 32: each half takes the bits the other shifts out. Rotations by
// 32 < n < 64 are rotations by n - 32 of the swapped pair, `rotr64(x.yx, n - 32u)`.
fn rotr64(x: vec2<u32>, n: u32) -> vec2<u32> {
    return (x >> vec2<u32>(n)) | (x.yx << vec2<u32>(32u - n));
}

// Shift right by 0 < n < 32.
fn shr64(x: vec2<u32>, n: u32) -> vec2<u32> {
    return vec2<u32>(x.x >> n, (x.y >> n) | (x.x << (32u - n)));
}

// Σ0: rotations by 28, 34, 39.
fn big_sigma0_64(x: vec2<u32>) -> vec2<u32> {
    return rotr64(x, 28u) ^ rotr64(x.yx, 2u) ^ rotr64(x.yx, 7u);
}

// Σ1: rotations by 14, 18, 41.
fn big_sigma1_64(x: vec2<u32>) -> vec2<u32> {
    return rotr64(x, 14u) ^ rotr64(x, 18u) ^ rotr64(x.yx, 9u);
}

// σ0: rotations by 1, 8, shift by 7.
fn small_sigma0_64(x: vec2<u32>) -> vec2<u32> {
    return rotr64(x, 1u) ^ rotr64(x, 8u) ^ shr64(x, 7u);
}

// σ1: rotations by 19, 61, shift by 6.
fn small_sigma1_64(x: vec2<u32>) -> vec2<u32> {
    return rotr64(x, 19u) ^ rotr64(x.yx, 29u) ^ shr64(x, 6u);
}

fn ch64(e: vec2<u32>, f: vec2<u32>, g: vec2<u32>) -> vec2<u32> {
    return (e & f) ^ (~e & g);
}

fn maj64(a: vec2<u32>, b: vec2<u32>, c: vec2<u32>) -> vec2<u32> {
    return (a & b) ^ (a & c) ^ (b & c);
}

// Byte swap of each 32-bit half (the halves stay in place): converts between little-endian loads
// of buffer words and the big-endian words of the standard.
fn bswap2(x: vec2<u32>) -> vec2<u32> {
    return (x << vec2<u32>(24u)) | ((x << vec2<u32>(8u)) & vec2<u32>(0x00ff0000u))
        | ((x >> vec2<u32>(8u)) & vec2<u32>(0x0000ff00u)) | (x >> vec2<u32>(24u));
}

// sha512_compress(state, block) follows: generated, fully unrolled, by
// `vera_shaders::sha512_rounds_wgsl` (see shaders/src/lib.rs).
