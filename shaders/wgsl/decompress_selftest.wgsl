// A self-test of edwards.wgsl's point decompression, compared by the tests with
// curve25519-dalek 4's `CompressedEdwardsY::decompress`: for each 32-byte encoding (8
// little-endian words) it writes 4 groups of 8 words:
//  0 flags: ok (1 where the encoding decodes), T·Z = X·Y (1 where the extended point is
//    consistent), then 6 zeros;
//  1 x = X/Z and 2 y = Y/Z, canonical encodings (meaningful only where ok);
//  3 ge_to_bytes of the point, its compressed re-encoding (meaningful only where ok).
//
// Loop iterations per invocation: 240 (ge_decompress) + 243 (ge_affine) + 243 (ge_to_bytes) =
// 726, far under llvmpipe's 65,535.

const RESULT_WORDS: u32 = 32u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x + gid.y * params.row;
    if (i >= params.count) {
        return;
    }
    let d = ge_decompress(load8(i * 8u));
    let a = ge_affine(d.p);
    let consistent = fe_eq(fe_mul(d.p.T, d.p.Z), fe_mul(d.p.X, d.p.Y));
    store8(i, 0u, array<u32, 8>(
        select(0u, 1u, d.ok), select(0u, 1u, consistent), 0u, 0u, 0u, 0u, 0u, 0u
    ));
    store8(i, 1u, fe_to_bytes(a.x));
    store8(i, 2u, fe_to_bytes(a.y));
    store8(i, 3u, ge_to_bytes(d.p));
}
