//! What a step does with what the provider answered: a pure function, apart from the I/O, so the
//! failure policy can be read (and tested) in one place.

use crate::providers::{enrich::Enrichment, Creator, ProviderError};
use std::time::Duration;

/// Profile lookups that must fail in one step (and be the majority) before the provider counts as down.
pub const MIN_FAILURES_FOR_OUTAGE: usize = 3;

/// What the provider answered during a step.
#[derive(Debug)]
pub enum StepFacts {
    /// A search page failed (the most decisive error when several lanes failed).
    PagesFailed(ProviderError),
    /// The pages arrived and their new creators went through profile enrichment.
    Enriched(Enrichment),
}

#[derive(Debug)]
pub enum Decision {
    /// Commit the pages and these creators (a few whose profile kept failing are kept as found).
    Save { creators: Vec<Creator> },
    /// A profile lookup was rate limited: keep the creators already enriched but leave the cursors
    /// (no page counted), and run the step again after the pause; saved creators are then skipped.
    SavePartialAndPause { creators: Vec<Creator>, after: Duration },
    /// Rate limited with nothing to keep: the same step again after the pause.
    Pause { after: Duration },
    /// The provider is failing: the webhook answers 5xx and QStash retries the step with backoff.
    Retry(ProviderError),
    /// The provider refused for good (bad key, no credits): the job ends with this error's message.
    Fail(ProviderError),
}

/// `default_pause` is the wait after a 429 that gave no usable `Retry-After`.
pub fn decide(facts: StepFacts, default_pause: Duration) -> Decision {
    let mut enrichment = match facts {
        StepFacts::PagesFailed(error) => return on_error(error, default_pause),
        StepFacts::Enriched(enrichment) => enrichment,
    };
    if let Some(index) = enrichment.failures.iter().position(|(_, e)| e.is_terminal()) {
        return Decision::Fail(enrichment.failures.swap_remove(index).1);
    }
    // The longest pause any lookup was asked for (lookups skipped after the first 429 carry none).
    let rate_limited = enrichment
        .failures
        .iter()
        .filter_map(|(_, e)| match e {
            ProviderError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        })
        .reduce(|a, b| a.max(b))
        .map(|after| after.unwrap_or(default_pause));
    if let Some(after) = rate_limited {
        return if enrichment.creators.is_empty() {
            Decision::Pause { after }
        } else {
            Decision::SavePartialAndPause { creators: enrichment.creators, after }
        };
    }
    let failed = enrichment.failures.len();
    // Most of a real sample failing means the provider is down; one stubborn profile among one or
    // two lookups (near the target) does not.
    if failed >= MIN_FAILURES_FOR_OUTAGE && failed * 2 > enrichment.lookups {
        return Decision::Retry(enrichment.failures.swap_remove(0).1);
    }
    let mut creators = enrichment.creators;
    creators.extend(enrichment.failures.into_iter().map(|(creator, _)| creator));
    Decision::Save { creators }
}

fn on_error(error: ProviderError, default_pause: Duration) -> Decision {
    match error {
        ProviderError::RateLimited { retry_after } => Decision::Pause { after: retry_after.unwrap_or(default_pause) },
        e if e.is_terminal() => Decision::Fail(e),
        e => Decision::Retry(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::Platform;

    const PAUSE: Duration = Duration::from_secs(30);

    fn creator(handle: &str) -> Creator {
        Creator {
            platform: Platform::Tiktok,
            external_id: handle.into(),
            handle: handle.into(),
            name: String::new(),
            followers: 0,
            bio: String::new(),
            bio_link: String::new(),
            emails: vec![],
            avatar_url: String::new(),
            verified: false,
            profile_url: String::new(),
            post_url: String::new(),
            views: 0,
            likes: 0,
            comments: 0,
            shares: 0,
            hashtags: vec![],
            matched_keyword: String::new(),
            country: String::new(),
            category: String::new(),
            business_email: String::new(),
            raw: serde_json::Value::Null,
        }
    }

    fn enriched(ok: usize, failures: Vec<ProviderError>) -> StepFacts {
        let lookups = ok + failures.len();
        StepFacts::Enriched(Enrichment {
            creators: (0..ok).map(|i| creator(&format!("ok{i}"))).collect(),
            failures: failures.into_iter().enumerate().map(|(i, e)| (creator(&format!("bad{i}")), e)).collect(),
            lookups,
            credits: 0,
        })
    }

    fn limited(secs: Option<u64>) -> ProviderError {
        ProviderError::RateLimited { retry_after: secs.map(Duration::from_secs) }
    }

    fn down() -> ProviderError {
        ProviderError::Unavailable("HTTP 500".into())
    }

    #[test]
    fn a_clean_step_saves_everything() {
        assert!(matches!(decide(enriched(20, vec![]), PAUSE), Decision::Save { creators } if creators.len() == 20));
    }

    #[test]
    fn page_errors_pause_fail_or_retry() {
        assert!(matches!(decide(StepFacts::PagesFailed(limited(Some(7))), PAUSE), Decision::Pause { after } if after.as_secs() == 7));
        assert!(matches!(decide(StepFacts::PagesFailed(limited(None)), PAUSE), Decision::Pause { after } if after == PAUSE));
        assert!(matches!(decide(StepFacts::PagesFailed(ProviderError::OutOfCredits), PAUSE), Decision::Fail(ProviderError::OutOfCredits)));
        assert!(matches!(
            decide(StepFacts::PagesFailed(ProviderError::Unauthorized("x".into())), PAUSE),
            Decision::Fail(ProviderError::Unauthorized(_))
        ));
        assert!(matches!(decide(StepFacts::PagesFailed(down()), PAUSE), Decision::Retry(ProviderError::Unavailable(_))));
    }

    #[test]
    fn a_terminal_lookup_error_ends_the_job_even_among_successes() {
        assert!(matches!(
            decide(enriched(15, vec![down(), ProviderError::OutOfCredits]), PAUSE),
            Decision::Fail(ProviderError::OutOfCredits)
        ));
    }

    #[test]
    fn rate_limited_lookups_keep_what_was_enriched_and_wait_the_longest_pause() {
        match decide(enriched(5, vec![limited(Some(3)), limited(None), limited(Some(9))]), PAUSE) {
            Decision::SavePartialAndPause { creators, after } => {
                assert_eq!(creators.len(), 5, "only the enriched ones; the rest are revisited");
                assert_eq!(after, Duration::from_secs(9));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(decide(enriched(2, vec![limited(None)]), PAUSE), Decision::SavePartialAndPause { after, .. } if after == PAUSE));
        assert!(matches!(decide(enriched(0, vec![limited(Some(4))]), PAUSE), Decision::Pause { after } if after.as_secs() == 4));
    }

    #[test]
    fn a_few_failing_profiles_are_kept_unenriched() {
        match decide(enriched(18, vec![down(), down()]), PAUSE) {
            Decision::Save { creators } => {
                assert_eq!(creators.len(), 20);
                assert!(creators.iter().any(|c| c.handle == "bad1"));
            }
            other => panic!("{other:?}"),
        }
        // One or two lookups near the target: a stubborn profile does not stop the job.
        assert!(matches!(decide(enriched(0, vec![down(), down()]), PAUSE), Decision::Save { creators } if creators.len() == 2));
    }

    #[test]
    fn most_lookups_failing_means_the_provider_is_down() {
        assert!(matches!(decide(enriched(2, vec![down(), down(), down()]), PAUSE), Decision::Retry(_)));
        // Three failures that are not the majority are kept.
        assert!(matches!(decide(enriched(3, vec![down(), down(), down()]), PAUSE), Decision::Save { creators } if creators.len() == 6));
    }
}
