//! Upstash QStash: the publishing client, the webhook receiver (signature verification), and the
//! embedded QStash-compatible server used when no QStash is configured.

pub mod client;
pub mod cron;
pub mod receiver;
pub mod retry_delay;
pub mod server;
pub mod signing;
pub mod standalone;

use std::time::Duration;

/// QStash's retry backoff after the `retried`-th failed attempt: `min(86400, e^(2.5·n))` seconds,
/// multiplied by `scale` (1.0 = real QStash timing).
pub fn retry_backoff(retried: i64, scale: f64) -> Duration {
    let secs = (2.5 * retried as f64).exp().min(86_400.0) * scale;
    Duration::from_millis((secs * 1000.0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_qstash() {
        assert_eq!(retry_backoff(1, 1.0).as_secs(), 12);
        assert_eq!(retry_backoff(2, 1.0).as_secs(), 148);
        assert_eq!(retry_backoff(3, 1.0).as_secs(), 1808);
        assert_eq!(retry_backoff(10, 1.0).as_secs(), 86_400);
        assert_eq!(retry_backoff(1, 0.001).as_millis(), 12);
    }
}
