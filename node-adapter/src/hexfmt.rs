//! Hex helpers shared by the command line and the server.

/// Decodes hex (either case) into exactly `N` bytes, naming the field in the error.
pub(crate) fn hex_array<const N: usize>(field: &str, s: &str) -> Result<[u8; N], String> {
    let mut out = [0u8; N];
    if s.len() != 2 * N {
        return Err(format!(
            "{field}: expected {} hex characters ({N} bytes), got {}",
            2 * N,
            s.len()
        ));
    }
    hex::decode_to_slice(s, &mut out).map_err(|e| format!("{field}: {e}"))?;
    Ok(out)
}
