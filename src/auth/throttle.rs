//! Sign-in throttling: after `max_failures` failed attempts for one account or from one client
//! address within the window, further attempts are refused (429 with `Retry-After`) until the oldest
//! failure leaves the window. Failures are rows in the database, so every instance sees them.

use crate::db::{self, now_ms, Db};
use std::{net::IpAddr, time::Duration};

#[derive(Clone, Debug)]
pub struct Throttle {
    pub max_failures: u32,
    pub window: Duration,
}

pub fn account_key(email: &str) -> String {
    format!("email:{email}")
}

pub fn client_key(ip: IpAddr) -> String {
    format!("ip:{}", ip.to_canonical())
}

impl Throttle {
    /// `Some(seconds to wait)` when any of `keys` is over its limit.
    pub async fn blocked(&self, db: &Db, keys: &[&str]) -> sqlx::Result<Option<u64>> {
        let now = now_ms();
        let window = self.window.as_millis() as i64;
        let mut wait = None;
        for key in keys {
            let (count, oldest) = db::login_failures::recent(db, key, now - window).await?;
            if count >= i64::from(self.max_failures) {
                let free_at = oldest.unwrap_or(now) + window;
                let secs = ((free_at - now).max(0) as u64).div_ceil(1000).max(1);
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
        Ok(wait)
    }

    pub async fn failed(&self, db: &Db, keys: &[&str]) -> sqlx::Result<()> {
        db::login_failures::record(db, keys).await?;
        db::login_failures::prune(db, now_ms() - self.window.as_millis() as i64).await
    }
}
