// One Merkle reduction pass: each workgroup reduces a chunk of 256 nodes through 8 levels in
// workgroup memory and writes the chunk's node at height 8. Passes repeat until one node is left
// (2^24 leaves: three passes), so a whole tree costs a few dispatches in one submission.
//
// Chunks hold 256 nodes, an even count at every level below 8, so no pair straddles two chunks
// and the level-by-level rules apply inside each chunk unchanged:
// - RFC 6962: an odd last node is carried up as it is.
// - Bitcoin: an odd last node is hashed with itself. In the last, partial chunk a single node
//   below height 8 is hashed with itself too ("lifted") when the level has other chunks, because
//   in the whole tree that node is the odd last of a longer level. Two identical siblings set the
//   `mutated` flag (CVE-2012-2459); the self-pairing does not.
// Nodes are stored in byte order (digest bytes loaded as little-endian words).

struct Params {
    // Nodes at this level, in the bound range.
    count: u32,
    // Unused (the scheme is the pipeline constant SCHEME); kept for the layout.
    scheme: u32,
    // 1 when the whole level has more than one chunk (see above).
    lift: u32,
    // Workgroups per row of the 2-D dispatch.
    row: u32,
}

// 0: RFC 6962, 1: Bitcoin; set when the pipeline is built, so that each pipeline holds one
// scheme's hashing only (smaller code, and no masked execution of the other branch on
// software adapters).
override SCHEME: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> nodes: array<u32>;
@group(0) @binding(2) var<storage, read_write> parents: array<u32>;
@group(0) @binding(3) var<storage, read_write> flags: array<atomic<u32>>;

const CHUNK: u32 = 256u;
const HEIGHT: u32 = 8u;

var<workgroup> level: array<array<u32, 8>, 128>;

fn load(i: u32) -> array<u32, 8> {
    var h: array<u32, 8>;
    for (var w = 0u; w < 8u; w++) {
        h[w] = bswap(nodes[i * 8u + w]);
    }
    return h;
}

fn parent(l: array<u32, 8>, r: array<u32, 8>) -> array<u32, 8> {
    if (SCHEME == 1u) {
        if (same(l, r)) {
            atomicOr(&flags[0], 1u);
        }
        return bitcoin_node(l, r);
    }
    return rfc6962_node(l, r);
}

// The node above an odd last node `x` on a level of `c` nodes of this chunk.
fn odd_parent(x: array<u32, 8>, c: u32) -> array<u32, 8> {
    if (SCHEME == 1u && (c > 1u || params.lift == 1u)) {
        return bitcoin_node(x, x);
    }
    return x;
}

@compute @workgroup_size(128)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let t = lid.x;
    let base = (wid.x + wid.y * params.row) * CHUNK;
    // Uniform across the workgroup, so the barriers below are reached by all.
    var c = 0u;
    if (base < params.count) {
        c = min(CHUNK, params.count - base);
    }
    let first = c;
    // Height 0 -> 1 straight from global memory.
    if (t < c / 2u) {
        level[t] = parent(load(base + 2u * t), load(base + 2u * t + 1u));
    } else if (t == c / 2u && (c & 1u) == 1u) {
        level[t] = odd_parent(load(base + c - 1u), c);
    }
    c = (c + 1u) / 2u;
    workgroupBarrier();
    for (var j = 1u; j < HEIGHT; j++) {
        var v: array<u32, 8>;
        var write = false;
        if (t < c / 2u) {
            v = parent(level[2u * t], level[2u * t + 1u]);
            write = true;
        } else if (t == c / 2u && (c & 1u) == 1u) {
            v = odd_parent(level[c - 1u], c);
            write = true;
        }
        workgroupBarrier();
        if (write) {
            level[t] = v;
        }
        workgroupBarrier();
        c = (c + 1u) / 2u;
    }
    if (t == 0u && first > 0u) {
        let g = base / CHUNK;
        for (var w = 0u; w < 8u; w++) {
            parents[g * 8u + w] = bswap(level[0][w]);
        }
    }
}
