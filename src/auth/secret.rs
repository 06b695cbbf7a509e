//! Random secrets (session cookies, API tokens, setup codes) and the hashes stored in their place.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::Engine;
use sha2::{Digest, Sha256};

/// 256 random bits, URL-safe, with a prefix that says what it is (`scout_` for API tokens, so
/// secret scanners can spot a leaked one).
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored for a secret. The secrets carry 256 bits, so a fast hash is enough (no salt or
/// stretching needed, unlike passwords).
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A short code a person can copy from a log: 12 characters of an unambiguous alphabet (~60 bits).
pub fn setup_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 12];
    OsRng.fill_bytes(&mut bytes);
    let code: String = bytes.iter().map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char).collect();
    format!("{}-{}-{}", &code[0..4], &code[4..8], &code[8..12])
}

/// Compares two secrets in time that does not depend on where they differ.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (hash(a), hash(b));
    a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashed() {
        let (a, b) = (generate("scout_"), generate("scout_"));
        assert_ne!(a, b);
        assert!(a.starts_with("scout_") && a.len() == 6 + 43);
        assert_eq!(hash(&a).len(), 64);
        assert!(same(&a, &a) && !same(&a, &b));
        assert_eq!(setup_code().len(), 14);
    }
}
