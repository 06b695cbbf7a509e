//! The profile-lookup policy, the same for every platform: a passing 5xx or unreadable body is
//! retried on the spot, and a vanished profile (404) keeps the creator as the search found it. What
//! still fails is reported with the creator, not dropped, so the step decides. (How many lookups run
//! at once, and that none start after a 429, is the step's pipeline: `jobs::gather`.)

use super::{Creator, ProviderError, Providers};
use std::time::{Duration, Instant};

/// Delays between attempts of one profile lookup that failed with a 5xx or an unreadable body.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(250), Duration::from_secs(1)];

/// What looking up one creator's profile came to.
#[derive(Debug)]
pub enum Lookup {
    /// Enriched (or kept as found when the profile no longer exists), and what it cost.
    Done { creator: Creator, credits: u32 },
    /// The lookup kept failing; the creator is returned as the search found it.
    Failed { creator: Creator, error: ProviderError },
}

/// Looks one creator up; a passing failure is retried only while `retry_until` leaves room, so a
/// step's lookups end in time.
pub async fn look_up(providers: &Providers, mut creator: Creator, retry_until: Instant) -> Lookup {
    let mut attempt = 0;
    loop {
        match providers.profile(&creator).await {
            Ok(profile) => {
                let credits = profile.credits;
                creator.apply_profile(profile);
                creator.profile_fetched_at = Some(chrono::Utc::now().timestamp_millis());
                return Lookup::Done { creator, credits };
            }
            Err(ProviderError::NotFound) => return Lookup::Done { creator, credits: 0 },
            Err(e @ (ProviderError::Unavailable(_) | ProviderError::BadResponse(_)))
                if attempt < RETRY_DELAYS.len() && Instant::now() + RETRY_DELAYS[attempt] < retry_until =>
            {
                tracing::debug!(handle = %creator.handle, error = %e, "profile lookup failed; retrying");
                tokio::time::sleep(RETRY_DELAYS[attempt]).await;
                attempt += 1;
            }
            Err(error) => return Lookup::Failed { creator, error },
        }
    }
}
