//! Sign-in throttling: at most `max_failures` failed attempts for one account or from one client
//! address within the window; beyond that every attempt (even a right one) is refused (429 with
//! `Retry-After`) until the oldest failure leaves the window. An attempt is recorded *before* its
//! password is checked, so a burst of parallel guesses cannot all slip past the count, and a refused
//! attempt costs no password hashing. Rows live in the database, so every instance sees them.

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

/// IPv6 clients are counted per /64 (one household or server), since one such network holds
/// billions of addresses an attacker could rotate through.
pub fn client_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        v4 => format!("ip:{v4}"),
    }
}

/// An attempt under way: its rows count as failures unless it succeeds.
pub struct Attempt {
    ids: Vec<String>,
}

impl Throttle {
    /// Records an attempt for `keys`; `Err(seconds to wait)` when it is one too many.
    pub async fn begin(&self, db: &Db, keys: &[&str]) -> sqlx::Result<Result<Attempt, u64>> {
        let now = now_ms();
        let window = self.window.as_millis() as i64;
        db::login_failures::prune(db, now - window).await?;
        let mut ids = Vec::new();
        for key in keys {
            ids.push(db::login_failures::record(db, key, now).await?);
        }
        let mut wait = None;
        for key in keys {
            let (count, oldest) = db::login_failures::recent(db, key, now - window).await?;
            if count > i64::from(self.max_failures) {
                let free_at = oldest.unwrap_or(now) + window;
                let secs = ((free_at - now).max(0) as u64).div_ceil(1000).max(1);
                wait = Some(wait.map_or(secs, |w: u64| w.max(secs)));
            }
        }
        match wait {
            Some(secs) => {
                // A refused attempt is not a failure of its own: the lock ends when the window says.
                db::login_failures::forget(db, &ids).await?;
                Ok(Err(secs))
            }
            None => Ok(Ok(Attempt { ids })),
        }
    }
}

impl Attempt {
    /// The password was right: this attempt and the account's earlier failures are forgotten (the
    /// address's are not: one right password does not clear a guessing spree from elsewhere).
    pub async fn succeeded(self, db: &Db, account_key: &str) -> sqlx::Result<()> {
        db::login_failures::forget(db, &self.ids).await?;
        db::login_failures::clear(db, account_key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_per_network() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        assert_eq!(client_key(a), client_key(b));
        assert_eq!(client_key("::ffff:10.0.0.1".parse().unwrap()), "ip:10.0.0.1");
    }
}
