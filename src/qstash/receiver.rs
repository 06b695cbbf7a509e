//! Verifies that a webhook delivery really comes from QStash: the JWT in `Upstash-Signature` must be
//! valid under the current signing key or, during key rotation, the next one; issued by Upstash;
//! within `exp`/`nbf`; addressed (`sub`) to exactly our URL; and carry the hash of the raw body.

use super::signing::{body_hash, Claims, KeyPair, SigningKeys, ISSUER};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VerifyError {
    #[error("missing Upstash-Signature header")]
    Missing,
    #[error("signature is not valid under the current or next signing key: {0}")]
    BadSignature(String),
    #[error("signature was issued for {0}, not this endpoint")]
    WrongUrl(String),
    #[error("body does not match the signed hash")]
    BodyMismatch,
}

#[derive(Clone)]
pub struct Receiver {
    keys: SigningKeys,
    /// Real QStash's multi-region keys: a delivery whose `Upstash-Region` names one of these is
    /// verified with that region's keys.
    regions: Vec<(String, KeyPair)>,
}

impl Receiver {
    pub fn new(current_signing_key: &str, next_signing_key: &str) -> Self {
        Self::with_keys(SigningKeys::new(KeyPair { current: current_signing_key.into(), next: next_signing_key.into(), previous: None }))
    }

    /// A receiver that follows `keys` (the embedded server's, which it may rotate).
    pub fn with_keys(keys: SigningKeys) -> Self {
        Self { keys, regions: Vec::new() }
    }

    /// Adds each region's keys (`crate::config::QstashConfig::regional_keys`).
    pub fn with_regions(mut self, regions: &[crate::config::RegionalKeys]) -> Self {
        self.regions = regions
            .iter()
            .map(|r| {
                let keys = KeyPair { current: r.current_signing_key.clone(), next: r.next_signing_key.clone(), previous: None };
                (r.region.clone(), keys)
            })
            .collect();
        self
    }

    /// As `verify`, for a delivery that came with `Upstash-Region: region`: that region's keys when
    /// they are configured, else the default ones (as the SDKs' receivers do).
    pub fn verify_from(&self, region: Option<&str>, signature: Option<&str>, body: &[u8], url: &str) -> Result<Claims, VerifyError> {
        let regional = region.and_then(crate::config::qstash_region).and_then(|r| self.regions.iter().find(|(name, _)| name == r));
        match regional {
            Some((_, keys)) => verify_with(keys, signature, body, url),
            None => self.verify(signature, body, url),
        }
    }

    /// `url` is what QStash was told to call: `PUBLIC_URL` + path, compared as an exact string.
    pub fn verify(&self, signature: Option<&str>, body: &[u8], url: &str) -> Result<Claims, VerifyError> {
        verify_with(&self.keys.get(), signature, body, url)
    }
}

fn verify_with(keys: &KeyPair, signature: Option<&str>, body: &[u8], url: &str) -> Result<Claims, VerifyError> {
    let token = signature.map(str::trim).filter(|s| !s.is_empty()).ok_or(VerifyError::Missing)?;
    // The current key, then the next (QStash's rotation), then the one a rotation just replaced
    // (a delivery signed a moment before it, or by another instance that has not reloaded yet).
    let claims = match decode(token, &keys.current) {
        Ok(claims) => claims,
        Err(first) => std::iter::once(&keys.next)
            .chain(keys.previous.iter())
            .find_map(|key| decode(token, key).ok())
            .ok_or(VerifyError::BadSignature(first))?,
    };
    if claims.sub != url {
        return Err(VerifyError::WrongUrl(claims.sub));
    }
    // QStash pads the hash, most verifiers strip: compare without padding on both sides.
    if claims.body.trim_end_matches('=') != body_hash(body).trim_end_matches('=') {
        return Err(VerifyError::BodyMismatch);
    }
    Ok(claims)
}

fn decode(token: &str, key: &str) -> Result<Claims, String> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iss", "sub"]);
    validation.validate_nbf = true;
    // Real tokens may carry `aud: ""`, which the crate would otherwise reject.
    validation.validate_aud = false;
    validation.leeway = 5;
    jsonwebtoken::decode::<Claims>(token, &DecodingKey::from_secret(key.as_bytes()), &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::signing::sign;
    use super::*;

    const CURRENT: &str = "sig_current";
    const NEXT: &str = "sig_next";
    const URL: &str = "https://scout.example/api/qstash/process-scraping";

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    fn receiver() -> Receiver {
        Receiver::new(CURRENT, NEXT)
    }

    #[test]
    fn accepts_a_valid_signature() {
        let body = br#"{"jobId":"j","step":0}"#;
        let token = sign(CURRENT, URL, body, now(), "jti-1");
        let claims = receiver().verify(Some(&token), body, URL).unwrap();
        assert_eq!(claims.iss, "Upstash");
        assert_eq!(claims.sub, URL);
    }

    #[test]
    fn a_region_header_picks_that_regions_keys() {
        let us = crate::config::RegionalKeys {
            region: "US_EAST_1".into(),
            current_signing_key: "sig_us_c".into(),
            next_signing_key: "sig_us_n".into(),
        };
        let receiver = receiver().with_regions(&[us]);
        let body = b"{}";
        let from_us = sign("sig_us_n", URL, body, now(), "r1");
        assert!(receiver.verify_from(Some("us-east-1"), Some(&from_us), body, URL).is_ok());
        assert!(receiver.verify_from(Some("US_EAST_1"), Some(&from_us), body, URL).is_ok());
        // Only with the header naming the region: the default keys do not know this one.
        assert!(receiver.verify_from(None, Some(&from_us), body, URL).is_err());
        // A region without keys of its own, or an unknown one, falls back to the default keys.
        let default = sign(CURRENT, URL, body, now(), "r2");
        assert!(receiver.verify_from(Some("eu-central-1"), Some(&default), body, URL).is_ok());
        assert!(receiver.verify_from(Some("mars"), Some(&default), body, URL).is_ok());
        // And the region's keys are the only ones then: the default keys do not sign for it.
        assert!(receiver.verify_from(Some("us-east-1"), Some(&default), body, URL).is_err());
    }

    #[test]
    fn accepts_the_next_key_during_rotation() {
        let body = b"{}";
        let token = sign(NEXT, URL, body, now(), "jti-2");
        assert!(receiver().verify(Some(&token), body, URL).is_ok());
    }

    #[test]
    fn rejects_a_tampered_body() {
        let token = sign(CURRENT, URL, br#"{"step":1}"#, now(), "j");
        assert_eq!(receiver().verify(Some(&token), br#"{"step":2}"#, URL), Err(VerifyError::BodyMismatch));
    }

    #[test]
    fn rejects_a_wrong_key() {
        let token = sign("sig_attacker", URL, b"{}", now(), "j");
        assert!(matches!(receiver().verify(Some(&token), b"{}", URL), Err(VerifyError::BadSignature(_))));
    }

    #[test]
    fn rejects_an_expired_token() {
        let token = sign(CURRENT, URL, b"{}", now() - 3600, "j");
        let err = receiver().verify(Some(&token), b"{}", URL).unwrap_err();
        assert!(matches!(&err, VerifyError::BadSignature(m) if m.contains("Expired")), "{err:?}");
    }

    #[test]
    fn rejects_a_token_for_another_url() {
        let token = sign(CURRENT, "https://evil.example/api/qstash/process-scraping", b"{}", now(), "j");
        assert!(matches!(receiver().verify(Some(&token), b"{}", URL), Err(VerifyError::WrongUrl(_))));
    }

    #[test]
    fn rejects_a_missing_or_garbage_header() {
        assert_eq!(receiver().verify(None, b"{}", URL), Err(VerifyError::Missing));
        assert_eq!(receiver().verify(Some("  "), b"{}", URL), Err(VerifyError::Missing));
        assert!(matches!(receiver().verify(Some("not.a.jwt"), b"{}", URL), Err(VerifyError::BadSignature(_))));
    }

    #[test]
    fn rejects_a_token_not_yet_valid() {
        // Hand-build claims with nbf in the future.
        let claims = Claims {
            iss: "Upstash".into(),
            sub: URL.into(),
            exp: now() + 600,
            nbf: now() + 300,
            iat: now(),
            jti: "j".into(),
            body: body_hash(b"{}"),
        };
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(CURRENT.as_bytes()),
        )
        .unwrap();
        assert!(matches!(receiver().verify(Some(&token), b"{}", URL), Err(VerifyError::BadSignature(_))));
    }

    #[test]
    fn accepts_unpadded_body_hashes_and_an_empty_audience() {
        #[derive(serde::Serialize)]
        struct WithAud {
            iss: &'static str,
            sub: &'static str,
            aud: &'static str,
            exp: i64,
            nbf: i64,
            iat: i64,
            jti: &'static str,
            body: String,
        }
        let body = b"hello";
        let claims = WithAud {
            iss: "Upstash",
            sub: URL,
            aud: "",
            exp: now() + 300,
            nbf: 0,
            iat: now(),
            jti: "j",
            body: body_hash(body).trim_end_matches('=').to_string(),
        };
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(CURRENT.as_bytes()),
        )
        .unwrap();
        assert!(receiver().verify(Some(&token), body, URL).is_ok());
    }
}
