//! argon2id password hashes (the `argon2` crate's defaults: 19 MiB, 2 passes). Hashing takes tens of
//! milliseconds of CPU on purpose, so it runs on the blocking pool, never on an async worker.

use anyhow::Context;
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await
    .context("password hashing was interrupted")?
    .context("Failed to hash a password")
}

/// Whether `password` matches `stored`. With no stored hash (an unknown email) a dummy hash is
/// checked anyway, so the answer takes as long either way and does not reveal which emails exist.
pub async fn verify(password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
    let password = password.to_string();
    let stored = stored.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let dummy;
        let stored = match &stored {
            Some(s) => s.as_str(),
            None => {
                dummy = Argon2::default()
                    .hash_password(b"not a password", &SaltString::generate(&mut OsRng))
                    .map(|h| h.to_string())
                    .unwrap_or_default();
                let _ = PasswordHash::new(&dummy).map(|h| Argon2::default().verify_password(password.as_bytes(), &h));
                return false;
            }
        };
        match PasswordHash::new(stored) {
            Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        }
    })
    .await
    .context("password check was interrupted")
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_and_are_argon2id() {
        let hashed = super::hash("correct horse").await.unwrap();
        assert!(hashed.starts_with("$argon2id$"));
        assert!(super::verify("correct horse", Some(&hashed)).await.unwrap());
        assert!(!super::verify("wrong horse", Some(&hashed)).await.unwrap());
        assert!(!super::verify("correct horse", None).await.unwrap());
        assert!(!super::verify("x", Some("not a hash")).await.unwrap());
    }
}
