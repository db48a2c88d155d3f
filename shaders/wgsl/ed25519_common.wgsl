// Shared by the Ed25519 verify kernels (ed25519_verify.wgsl, one invocation per signature;
// ed25519_verify_coop.wgsl, two cooperating invocations per signature), composed after a field
// part (field_u32.wgsl or field_u64.wgsl), edwards.wgsl and scalar.wgsl. k = SHA-512(R ‖ A ‖ M)
// mod L comes from ed25519_k.wgsl, run before them in the same submission.
//
// The three rules, exactly as their reference crates decide (see engine/src/ed25519.rs):
// - every rule: S < L; A and R decode with dalek's `decompress` (non-canonical y accepted);
// - strict (ed25519-dalek `verify_strict`): A and R not of small order, and
//   compress([S]B − [k]A) equal to R's bytes;
// - dalek (ed25519-dalek `verify`): compress([S]B − [k]A) equal to R's bytes;
// - zip215 (ed25519-consensus `verify`): [8](R − ([S]B − [k]A)) is the identity.
// "compress(P) equals R's bytes" is decided without an inversion: it holds exactly when R's
// bytes decode to the point P, R's y is canonical (below p), and R's sign bit is not set on
// x = 0 (dalek decodes that to x = 0, which compresses with the bit clear). The reference
// compresses; both answer alike for every input (the tests check hostile ones of each kind).
//
//
// Output per signature, one word of flags: bit 0 valid; then for diagnosis S < L (1), A decodes
// (2), R decodes (3), A of small order (4), R of small order (5), equation holds (6); bits 4-6
// are only meaningful when the checks before them passed.

struct Params {
    count: u32,
    // Invocations per row of the 2-D dispatch (workgroups in x times the workgroup size).
    row: u32,
    // RULE_STRICT, RULE_ZIP215 or RULE_DALEK.
    rule: u32,
    // Bit 0, a test hook: the lane-parallel kernel takes its subgroup layout for wrong, so that
    // tests reach the host's handling of that case on any adapter. Zero in normal use.
    test_flags: u32,
}

const RULE_STRICT: u32 = 0u;
const RULE_ZIP215: u32 = 1u;
const RULE_DALEK: u32 = 2u;

@group(0) @binding(0) var<uniform> params: Params;
// 8 words per signature: A.
@group(0) @binding(1) var<storage, read> keys: array<u32>;
// 16 words per signature: R then S.
@group(0) @binding(2) var<storage, read> sigs: array<u32>;
// 8 words per signature: k (from ed25519_k.wgsl).
@group(0) @binding(3) var<storage, read> ks: array<u32>;
@group(0) @binding(4) var<storage, read_write> verdicts: array<u32>;
// [j]B for j = 0..=136: 24 words each, (Y + X, Y − X, 2d·T) with Z = 1, canonical.
@group(0) @binding(5) var<storage, read> base_table: array<u32>;

// [v]B for |v| ≤ 136, from the table, in cached form.
fn base_multiple(v: i32) -> GeCached {
    let at = u32(abs(v)) * 24u;
    var c: array<array<u32, 8>, 3>;
    for (var j = 0u; j < 24u; j++) {
        c[j >> 3u][j & 7u] = base_table[at + j];
    }
    let q = GeCached(fe_from_bytes(c[0]), fe_from_bytes(c[1]), fe_one(), fe_from_bytes(c[2]));
    return ge_cached_select(q, ge_cached_neg(q), v < 0i);
}

// A point of signature i decoded, with the rule's checks on it: A (`which` = 0) or R (1).
// `flags`: the decode bit (A 4, R 8) and, under strict, the small-order bit (A 16, R 32); `ok`:
// it decoded and, under strict, is not of small order.
struct Checked {
    ok: bool,
    flags: u32,
    p: Ge,
}

fn decode_checked(i: u32, which: u32) -> Checked {
    let d = ge_decompress(load8(i, which));
    var flags = select(0u, 4u << which, d.ok);
    var ok = d.ok;
    if (ok && params.rule == RULE_STRICT && ge_is_small_order(d.p)) {
        flags |= 16u << which;
        ok = false;
    }
    return Checked(ok, flags, d.p);
}

fn load8(i: u32, which: u32) -> array<u32, 8> {
    var w: array<u32, 8>;
    for (var j = 0u; j < 8u; j++) {
        switch which {
            case 0u: { w[j] = keys[i * 8u + j]; }
            case 1u: { w[j] = sigs[i * 16u + j]; }
            case 2u: { w[j] = sigs[i * 16u + 8u + j]; }
            default: { w[j] = ks[i * 8u + j]; }
        }
    }
    return w;
}

// The rule's equation, given R' = [S]B − [k]A (`rp`) and R decoded (`r`, Z = 1) from `r_words`:
// zip215: [8](R − R') is the identity; strict and dalek: compress(R') equals R's bytes (see the
// top of this file).
fn equation_holds(rp: Ge, r: Ge, r_words: array<u32, 8>) -> bool {
    if (params.rule == RULE_ZIP215) {
        return ge_is_small_order(ge_add(r, ge_cached_neg(ge_to_cached(rp))));
    }
    let y_canonical = fe_to_bytes(fe_from_bytes(r_words));
    var canonical = (y_canonical[7] | 0x80000000u) == (r_words[7] | 0x80000000u);
    for (var j = 0u; j < 7u; j++) {
        canonical = canonical && y_canonical[j] == r_words[j];
    }
    let signed_zero = (r_words[7] >> 31u) == 1u && fe_is_zero(r.X);
    return canonical && !signed_zero && ge_eq(rp, r);
}
