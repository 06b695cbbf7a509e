//! argon2id password hashes (the `argon2` crate's defaults: 19 MiB, 2 passes). Hashing takes tens of
//! milliseconds of CPU on purpose, so it runs on the blocking pool, never on an async worker, and at
//! most `MAX_AT_ONCE` at a time: a burst of sign-ins waits its turn instead of taking gigabytes.

use anyhow::Context;
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use std::sync::LazyLock;
use tokio::sync::Semaphore;

const MAX_AT_ONCE: usize = 4;
static SLOTS: Semaphore = Semaphore::const_new(MAX_AT_ONCE);

/// What an unknown email is checked against, so it costs one verify like a known one.
static DUMMY: LazyLock<String> = LazyLock::new(|| {
    Argon2::default().hash_password(b"no account has this password", &SaltString::generate(&mut OsRng)).map(|h| h.to_string()).unwrap_or_default()
});

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let _slot = SLOTS.acquire().await.context("password hashing is shut down")?;
    tokio::task::spawn_blocking(work).await.context("password hashing was interrupted")
}

pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| anyhow::anyhow!("{e}"))
    })
    .await?
    .context("Failed to hash a password")
}

/// Whether `password` matches `stored`. With no stored hash (an unknown email) a dummy hash is
/// checked anyway, so the answer takes as long either way and does not reveal which emails exist.
pub async fn verify(password: &str, stored: Option<&str>) -> anyhow::Result<bool> {
    let password = password.to_string();
    let (stored, known) = match stored {
        Some(s) => (s.to_string(), true),
        None => (DUMMY.clone(), false),
    };
    blocking(move || {
        let matches = PasswordHash::new(&stored).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
        matches && known
    })
    .await
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
        assert!(!super::verify("no account has this password", None).await.unwrap());
        assert!(!super::verify("x", Some("not a hash")).await.unwrap());
    }
}
