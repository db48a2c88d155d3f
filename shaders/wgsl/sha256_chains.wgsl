// Hash chains (see engine/src/hash_chains.rs), one invocation per chain, in rounds: each
// dispatch takes every chain at most `params.budget` plain steps h ← SHA-256(h) further, and a
// chain whose plain steps are done takes its mixin step h ← SHA-256(h ‖ mixin) in the same
// dispatch. The host dispatches until the longest chain is done, so that no dispatch runs long
// however long the chains.
//
// Per chain, 12 words of `state`: the hash (8 words, byte order), the plain steps left, 1 while
// the mixin step is still to come (else 0), and two words of padding. Its mixin is 8 words of
// `mixins`, in byte order.

struct Params {
    count: u32,
    // Invocations per row of the 2-D dispatch (workgroups in x times the workgroup size).
    row: u32,
    // Plain steps per chain per dispatch, at most.
    budget: u32,
    pad0: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> state: array<u32>;
@group(0) @binding(2) var<storage, read> mixins: array<u32>;

const STATE_WORDS: u32 = 12u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    let base = i * STATE_WORDS;
    var h: array<u32, 8>;
    for (var w = 0u; w < 8u; w++) {
        h[w] = bswap(state[base + w]);
    }
    let left = state[base + 8u];
    let steps = min(left, params.budget);
    for (var k = 0u; k < steps; k++) {
        // The 32-byte hash as one padded block: 0x80, zeros, the bit length 256.
        var b: array<u32, 16>;
        for (var w = 0u; w < 8u; w++) {
            b[w] = h[w];
        }
        b[8] = 0x80000000u;
        b[15] = 256u;
        var s = SHA256_IV;
        sha256_compress(&s, b);
        h = s;
    }
    var mix = state[base + 9u];
    if (steps == left && mix == 1u) {
        var b: array<u32, 16>;
        for (var w = 0u; w < 8u; w++) {
            b[w] = h[w];
            b[8u + w] = bswap(mixins[i * 8u + w]);
        }
        var s = SHA256_IV;
        sha256_compress(&s, b);
        sha256_compress_pad64(&s);
        h = s;
        mix = 0u;
    }
    for (var w = 0u; w < 8u; w++) {
        state[base + w] = bswap(h[w]);
    }
    state[base + 8u] = left - steps;
    state[base + 9u] = mix;
}
