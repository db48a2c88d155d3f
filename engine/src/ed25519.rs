//! Ed25519 verification rules and per-signature verdicts.
//!
//! Chains disagree on what a valid Ed25519 signature is; a node that accepts what its peers reject
//! forks. vera therefore never has a default rule: the caller names one, and every backend gives
//! exactly the verdicts of that rule's reference implementation.

use std::fmt;
use std::str::FromStr;

use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;

/// An Ed25519 verification rule, named after the reference whose verdicts it reproduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// ed25519-dalek 2.x `verify_strict`: S < L; small-order A or R rejected; R must re-encode to
    /// the given bytes; cofactorless equation. Solana, Aptos; also libsodium's
    /// `crypto_sign_verify_detached` (1.0.18 to 1.0.22; Cardano), which gives the same verdict on
    /// every signature anyone can build (its one extra check, refusing an A encoded with y ≥ p,
    /// concerns points of unknown logarithm).
    Strict,
    /// ZIP-215 as in ed25519-consensus `verify`: S < L; any A, R encoding that decodes is accepted;
    /// cofactored equation `[8]([S]B − R − [k]A) = 0`. Zcash, CometBFT, Cosmos, Sui.
    Zip215,
    /// ed25519-dalek 2.x `verify`: like `strict` but small-order A and R are accepted.
    Dalek,
}

impl Rule {
    /// Every rule, in a fixed order.
    pub const ALL: [Rule; 3] = [Rule::Strict, Rule::Zip215, Rule::Dalek];

    /// The name used on the command line and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Strict => "strict",
            Rule::Zip215 => "zip215",
            Rule::Dalek => "dalek",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Rule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Rule::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| format!("unknown rule {s:?}; expected strict, zip215 or dalek"))
    }
}

/// The outcome for one signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The signature is valid under the rule.
    Valid,
    /// The signature is invalid under the rule.
    Invalid(Reason),
}

impl Verdict {
    /// Whether the signature was accepted.
    pub fn is_valid(self) -> bool {
        self == Verdict::Valid
    }
}

/// Why a signature was rejected.
///
/// The verdict itself always comes from the rule's exact checks; the reason is a diagnosis for
/// logs and users, computed after the fact, and reports the first failed check in the order below.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// S is not below the group order L.
    NonCanonicalS,
    /// The public key A does not decode to a curve point.
    InvalidPublicKey,
    /// The public key has small order (rejected by `strict`).
    SmallOrderPublicKey,
    /// R does not decode to a curve point.
    InvalidR,
    /// R has small order (rejected by `strict`).
    SmallOrderR,
    /// Everything decodes, but the verification equation does not hold (for `strict` and `dalek`
    /// this includes an R whose encoding is not canonical).
    Equation,
}

impl Reason {
    /// A short, stable identifier, as printed in `{"valid":false,"reason":…}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NonCanonicalS => "non-canonical-s",
            Reason::InvalidPublicKey => "invalid-public-key",
            Reason::SmallOrderPublicKey => "small-order-public-key",
            Reason::InvalidR => "invalid-r",
            Reason::SmallOrderR => "small-order-r",
            Reason::Equation => "equation",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Explains why `rule` rejected (`pk`, `sig`). Call it only for signatures already rejected: it
/// does not check the equation, so it answers [`Reason::Equation`] when every cheaper check passes.
///
/// Cost: up to two point decompressions (≈ 3 µs each). Variable time; inputs are public.
pub fn diagnose(rule: Rule, pk: &[u8; 32], sig: &[u8; 64]) -> Reason {
    let mut s = [0u8; 32];
    s.copy_from_slice(&sig[32..]);
    if bool::from(Scalar::from_canonical_bytes(s).is_none()) {
        return Reason::NonCanonicalS;
    }
    let Some(a) = CompressedEdwardsY(*pk).decompress() else {
        return Reason::InvalidPublicKey;
    };
    if rule == Rule::Strict && a.is_small_order() {
        return Reason::SmallOrderPublicKey;
    }
    let mut r_bytes = [0u8; 32];
    r_bytes.copy_from_slice(&sig[..32]);
    match CompressedEdwardsY(r_bytes).decompress() {
        None => Reason::InvalidR,
        Some(r) if rule == Rule::Strict && r.is_small_order() => Reason::SmallOrderR,
        Some(_) => Reason::Equation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_names_round_trip() {
        for r in Rule::ALL {
            assert_eq!(r.name().parse::<Rule>().unwrap(), r);
        }
        assert!("Strict".parse::<Rule>().is_err());
    }

    #[test]
    fn diagnosis_follows_check_order() {
        let identity = {
            let mut b = [0u8; 32];
            b[0] = 1;
            b
        };
        let mut sig = [0u8; 64];
        sig[..32].copy_from_slice(&identity);
        sig[63] = 0xff; // S >= L
        assert_eq!(
            diagnose(Rule::Zip215, &identity, &sig),
            Reason::NonCanonicalS
        );
        sig[63] = 0;
        assert_eq!(
            diagnose(Rule::Strict, &identity, &sig),
            Reason::SmallOrderPublicKey
        );
        assert_eq!(diagnose(Rule::Zip215, &identity, &sig), Reason::Equation);
        // y = 2 is not on the curve.
        let mut off_curve = [0u8; 32];
        off_curve[0] = 2;
        assert_eq!(
            diagnose(Rule::Dalek, &off_curve, &sig),
            Reason::InvalidPublicKey
        );
    }
}
