//! # vera-shaders
//!
//! vera's WGSL compute shaders. Each kernel is a file in `wgsl/`; code shared between kernels
//! (SHA-256's compression function, …) lives in files of its own and is prepended to the kernels
//! that use it. That composition is the whole build step: [`Shader::source`] concatenates the
//! parts in order, so a line of a composed shader maps back to one file. Every composed shader is
//! validated with naga in this crate's tests, without a GPU, and run on real adapters (lavapipe in
//! CI) by the engine's tests.
//!
//! # Layout
//! - `wgsl/sha256.wgsl`: SHA-256 constants and compression, shared.
//! - `wgsl/sha256_batch.wgsl`: SHA-256 of many messages (optionally with a one-byte prefix).
//! - `wgsl/merkle_reduce.wgsl`: one Merkle pass, 256 nodes to one per workgroup.

/// A compute shader: its parts, in order, and its entry point.
#[derive(Debug, Clone, Copy)]
pub struct Shader {
    /// A name for labels and error messages.
    pub name: &'static str,
    /// The compute entry point.
    pub entry_point: &'static str,
    parts: &'static [&'static str],
}

impl Shader {
    /// The complete WGSL source: the parts concatenated in order.
    pub fn source(&self) -> String {
        self.parts.concat()
    }
}

const SHA256: &str = include_str!("../wgsl/sha256.wgsl");

/// SHA-256 of many messages: `Params { count, prefix_len, prefix, row }` at binding 0, message
/// words at 1, `count + 1` offsets at 2, digests (8 words each, byte order) at 3.
/// Workgroup size 64, one invocation per message.
pub const SHA256_BATCH: Shader = Shader {
    name: "sha256_batch",
    entry_point: "main",
    parts: &[SHA256, include_str!("../wgsl/sha256_batch.wgsl")],
};

/// One Merkle pass: `Params { count, scheme, lift, row }` at binding 0, nodes at 1, parents at 2
/// (one per 256 nodes), flags at 3 (`[0]` is set to 1 when a Bitcoin level had identical
/// siblings). Workgroup size 128, one workgroup per 256 nodes.
pub const MERKLE_REDUCE: Shader = Shader {
    name: "merkle_reduce",
    entry_point: "main",
    parts: &[SHA256, include_str!("../wgsl/merkle_reduce.wgsl")],
};

/// Nodes one workgroup of [`MERKLE_REDUCE`] reduces to one.
pub const MERKLE_CHUNK: u32 = 256;

/// Every shader, for validation and for building pipelines up front.
pub const ALL: &[Shader] = &[SHA256_BATCH, MERKLE_REDUCE];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shader_parses_and_validates() {
        for shader in ALL {
            let module = naga::front::wgsl::parse_str(&shader.source()).unwrap_or_else(|e| {
                panic!("{}: {}", shader.name, e.emit_to_string(&shader.source()))
            });
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::empty(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{}: {e:?}", shader.name));
            assert!(
                module
                    .entry_points
                    .iter()
                    .any(|e| e.name == shader.entry_point && e.stage == naga::ShaderStage::Compute),
                "{}: no compute entry point {}",
                shader.name,
                shader.entry_point
            );
        }
    }
}
