//! QStash's request signature: an HS256 JWT in `Upstash-Signature` whose `body` claim is the
//! base64url SHA-256 of the exact request body.

use base64::{engine::general_purpose::URL_SAFE, Engine};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const ISSUER: &str = "Upstash";
pub const TOKEN_LIFETIME_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub exp: i64,
    pub nbf: i64,
    pub iat: i64,
    pub jti: String,
    pub body: String,
}

/// base64url(SHA-256(body)) with padding, as QStash sends it.
pub fn body_hash(body: &[u8]) -> String {
    URL_SAFE.encode(Sha256::digest(body))
}

/// Signs a delivery of `body` to `url` with `key` the way QStash does.
pub fn sign(key: &str, url: &str, body: &[u8], now_secs: i64, jti: &str) -> String {
    let claims = Claims {
        iss: ISSUER.into(),
        sub: url.into(),
        exp: now_secs + TOKEN_LIFETIME_SECS,
        nbf: 0,
        iat: now_secs,
        jti: jti.into(),
        body: body_hash(body),
    };
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key.as_bytes()))
        .expect("HS256 signing cannot fail")
}

/// Whether `token` is a valid signature made with `key` (any subject or body): how the embedded
/// server recognises its own deliveries coming back to its API.
pub fn issued_with(token: &str, key: &str) -> bool {
    let mut validation = jsonwebtoken::Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.validate_aud = false;
    jsonwebtoken::decode::<Claims>(token.trim(), &jsonwebtoken::DecodingKey::from_secret(key.as_bytes()), &validation).is_ok()
}

/// A signing key pair (with the key it replaced, for deliveries signed just before a rotation).
#[derive(Clone, PartialEq, Eq)]
pub struct KeyPair {
    pub current: String,
    pub next: String,
    pub previous: Option<String>,
}

/// The signing keys in use, shared by the embedded server (which signs with `current` and rotates
/// them) and the webhook receiver (which accepts any of them), so a rotation takes effect for both.
#[derive(Clone)]
pub struct SigningKeys(std::sync::Arc<std::sync::RwLock<KeyPair>>);

/// Keys are secrets: `Debug` never shows them.
impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPair(***)")
    }
}

impl std::fmt::Debug for SigningKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKeys(***)")
    }
}

impl SigningKeys {
    pub fn new(keys: KeyPair) -> Self {
        Self(std::sync::Arc::new(std::sync::RwLock::new(keys)))
    }

    pub fn get(&self) -> KeyPair {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn set(&self, keys: KeyPair) {
        *self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = keys;
    }
}

/// A new signing key, in QStash's format (`sig_` and random letters).
pub fn new_key() -> String {
    let random = uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string();
    format!("sig_{}", &random[..28])
}
