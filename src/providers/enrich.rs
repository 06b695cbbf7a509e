//! The profile-lookup policy, the same for every platform: `concurrency` lookups at a time, a passing
//! 5xx or unreadable body retried on the spot, a vanished profile (404) keeps the creator as found,
//! and after a 429 no further lookups are sent (they would only be refused and billed against the
//! limit). What still fails is reported, not dropped, so the step decides.

use super::{Creator, ProviderError, Providers};
use futures::{stream, StreamExt};
use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

/// What profile enrichment made of a batch of creators.
#[derive(Debug, Default)]
pub struct Enrichment {
    /// Enriched, or kept as found when the profile no longer exists or was not needed.
    pub creators: Vec<Creator>,
    /// Creators whose lookup kept failing, with the last error.
    pub failures: Vec<(Creator, ProviderError)>,
    /// Profile lookups attempted (creators that needed one).
    pub lookups: usize,
    /// What the successful lookups cost.
    pub credits: u32,
}

/// Delays between attempts of one profile lookup that failed with a 5xx or an unreadable body.
const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(250), Duration::from_secs(1)];

pub async fn enrich(providers: &Providers, creators: Vec<Creator>, concurrency: usize) -> Enrichment {
    let rate_limited = &AtomicBool::new(false);
    let results: Vec<(Creator, bool, Result<u32, ProviderError>)> = stream::iter(creators)
        .map(|mut creator| async move {
            if !Providers::needs_profile(&creator) {
                return (creator, false, Ok(0));
            }
            if rate_limited.load(Ordering::Relaxed) {
                return (creator, false, Err(ProviderError::RateLimited { retry_after: None }));
            }
            let mut attempt = 0;
            let outcome = loop {
                match providers.profile(&creator).await {
                    Ok(profile) => {
                        let credits = profile.credits;
                        creator.apply_profile(profile);
                        break Ok(credits);
                    }
                    Err(ProviderError::NotFound) => break Ok(0),
                    Err(e @ (ProviderError::Unavailable(_) | ProviderError::BadResponse(_))) if attempt < RETRY_DELAYS.len() => {
                        tracing::debug!(handle = %creator.handle, error = %e, "profile lookup failed; retrying");
                        tokio::time::sleep(RETRY_DELAYS[attempt]).await;
                        attempt += 1;
                    }
                    Err(e) => {
                        if matches!(e, ProviderError::RateLimited { .. }) {
                            rate_limited.store(true, Ordering::Relaxed);
                        }
                        break Err(e);
                    }
                }
            };
            (creator, true, outcome)
        })
        .buffered(concurrency.max(1))
        .collect()
        .await;
    let mut enrichment = Enrichment::default();
    for (creator, looked_up, outcome) in results {
        enrichment.lookups += looked_up as usize;
        match outcome {
            Ok(credits) => {
                enrichment.credits += credits;
                enrichment.creators.push(creator)
            }
            Err(e) => enrichment.failures.push((creator, e)),
        }
    }
    enrichment
}
