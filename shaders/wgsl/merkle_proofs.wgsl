// Merkle inclusion proofs, one invocation per proof: fold the path into the leaf, each hash on
// the side the host worked out from the index and tree size (`inclusion_sides` in the engine),
// and compare with the root. The host has already refused impossible proofs (index past the
// size, a path of the wrong length), so this is hashing and one comparison.
//
// Each proof is 20 words in `items`: the leaf (8), the root (8), the sides (bit i set: path
// hash i is the left sibling; low word then high word), the path's first hash (an index into
// `path`, 8 words per hash) and its length. Hashes are stored in byte order (digest bytes
// loaded as little-endian words).

struct Params {
    count: u32,
    // Invocations per row of the 2-D dispatch (workgroups in x times the workgroup size).
    row: u32,
    pad0: u32,
    pad1: u32,
}

// 0: RFC 6962, 1: Bitcoin; set when the pipeline is built.
override SCHEME: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> items: array<u32>;
@group(0) @binding(2) var<storage, read> path: array<u32>;
@group(0) @binding(3) var<storage, read_write> verdicts: array<u32>;

const ITEM_WORDS: u32 = 20u;

fn item_hash(at: u32) -> array<u32, 8> {
    var h: array<u32, 8>;
    for (var w = 0u; w < 8u; w++) {
        h[w] = bswap(items[at + w]);
    }
    return h;
}

fn node(l: array<u32, 8>, r: array<u32, 8>) -> array<u32, 8> {
    if (SCHEME == 1u) {
        return bitcoin_node(l, r);
    }
    return rfc6962_node(l, r);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    let base = i * ITEM_WORDS;
    var h = item_hash(base);
    let root = item_hash(base + 8u);
    let sides = vec2<u32>(items[base + 16u], items[base + 17u]);
    let start = items[base + 18u];
    let len = min(items[base + 19u], 64u);
    for (var k = 0u; k < len; k++) {
        var p: array<u32, 8>;
        for (var w = 0u; w < 8u; w++) {
            p[w] = bswap(path[(start + k) * 8u + w]);
        }
        var left = sides.x;
        if (k >= 32u) {
            left = sides.y;
        }
        if (((left >> (k & 31u)) & 1u) == 1u) {
            h = node(p, h);
        } else {
            h = node(h, p);
        }
    }
    verdicts[i] = select(0u, 1u, same(h, root));
}
