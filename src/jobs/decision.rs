//! What a step does with what the provider answered: a pure function, apart from the I/O, so the
//! failure policy can be read (and tested) in one place. The rule of thumb: a step that made progress
//! keeps it; a step that made none applies the error's policy (pause, retry, fail).

use crate::providers::ProviderError;
use std::time::Duration;

/// Profile lookups that must fail in one step (and be the majority) before the provider counts as down.
pub const MIN_FAILURES_FOR_OUTAGE: usize = 3;

/// What the provider answered during a step (see `gather::Gathered`).
#[derive(Debug, Default)]
pub struct StepFacts<'a> {
    /// The most decisive error a search page answered; paging stopped there.
    pub page_error: Option<&'a ProviderError>,
    /// Creators ready to save (enriched, needing no lookup, or vanished).
    pub ready: usize,
    /// Lookups that kept failing or were not sent after a 429.
    pub failures: Vec<&'a ProviderError>,
    /// Profile lookups sent.
    pub lookups: usize,
    /// Lookups not sent because the step ran out of time.
    pub unsent: usize,
    /// Pages that can be committed even if the failed creators are dropped: per lane, the pages read
    /// before the first one with a failed creator.
    pub clean_pages: usize,
}

#[derive(Debug, PartialEq)]
pub enum Decision {
    /// Commit every page read and every creator; those whose lookup kept failing are kept as found.
    SaveAll,
    /// The step was cut short after it made progress (the provider failed or rate-limited us, or
    /// time ran out): commit the ready creators and the clean pages, drop the other creators (their
    /// pages are read again later), and run the next step at once or after `pause`.
    SaveProgress { pause: Option<Duration> },
    /// Rate limited before any progress: the same step again after the pause.
    Pause { after: Duration },
    /// The provider is failing and nothing was gained: the webhook answers 5xx and QStash retries.
    Retry(ProviderError),
    /// The provider refused for good (bad key, no credits): the job ends with this error's message.
    /// With `save_progress`, the ready creators and clean pages are committed first (they are paid for).
    Fail { error: ProviderError, save_progress: bool },
}

/// `default_pause` is the wait after a 429 that gave no usable `Retry-After`.
pub fn decide(facts: &StepFacts, default_pause: Duration) -> Decision {
    let errors = || facts.page_error.into_iter().chain(facts.failures.iter().copied());
    let progress = facts.ready > 0 || facts.clean_pages > 0;
    if let Some(refusal) = errors().find(|e| e.is_terminal()) {
        return Decision::Fail { error: refusal.clone(), save_progress: progress };
    }
    // The longest pause any call was asked for (lookups skipped after the first 429 carry none).
    let rate_limited = errors()
        .filter_map(|e| match e {
            ProviderError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        })
        .reduce(|a, b| a.max(b))
        .map(|after| after.unwrap_or(default_pause));
    if let Some(after) = rate_limited {
        return if progress { Decision::SaveProgress { pause: Some(after) } } else { Decision::Pause { after } };
    }
    let failed = facts.failures.len();
    // Most of a real sample failing means the provider is down; one stubborn profile among one or
    // two lookups (near the target) does not.
    let lookups_down = failed >= MIN_FAILURES_FOR_OUTAGE && failed * 2 > facts.lookups;
    if let Some(error) = facts.page_error.or(if lookups_down { facts.failures.first().copied() } else { None }) {
        return if progress { Decision::SaveProgress { pause: None } } else { Decision::Retry(error.clone()) };
    }
    if facts.unsent > 0 {
        // Out of time with lookups still queued: keep what is done; if nothing is, the provider is
        // too slow to make progress and QStash retries later.
        return if progress {
            Decision::SaveProgress { pause: None }
        } else {
            Decision::Retry(ProviderError::Unavailable("the provider answered too slowly for a step to make progress".into()))
        };
    }
    Decision::SaveAll
}

/// Pages read in a row that added no new creator, after a step that read `pages_read` pages and
/// saved `new_creators`: any new creator starts the count afresh.
pub fn idle_pages(before: i64, pages_read: i64, new_creators: i64) -> i64 {
    if new_creators > 0 {
        0
    } else {
        before.saturating_add(pages_read.max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_that_find_nothing_new_add_up() {
        assert_eq!(idle_pages(0, 3, 0), 3);
        assert_eq!(idle_pages(98, 4, 0), 102);
        assert_eq!(idle_pages(98, 4, 1), 0, "one new creator starts over");
        assert_eq!(idle_pages(i64::MAX, 5, 0), i64::MAX);
    }

    const PAUSE: Duration = Duration::from_secs(30);

    fn limited(secs: Option<u64>) -> ProviderError {
        ProviderError::RateLimited { retry_after: secs.map(Duration::from_secs) }
    }

    fn down() -> ProviderError {
        ProviderError::Unavailable("HTTP 500".into())
    }

    fn facts<'a>(page_error: Option<&'a ProviderError>, ready: usize, failures: &'a [ProviderError], clean_pages: usize) -> StepFacts<'a> {
        StepFacts { page_error, ready, failures: failures.iter().collect(), lookups: ready + failures.len(), unsent: 0, clean_pages }
    }

    #[test]
    fn a_clean_step_saves_everything() {
        assert_eq!(decide(&facts(None, 20, &[], 1), PAUSE), Decision::SaveAll);
        // Pages whose creators were all known already are progress too.
        assert_eq!(decide(&facts(None, 0, &[], 2), PAUSE), Decision::SaveAll);
    }

    #[test]
    fn page_errors_before_any_progress_pause_fail_or_retry() {
        assert_eq!(decide(&facts(Some(&limited(Some(7))), 0, &[], 0), PAUSE), Decision::Pause { after: Duration::from_secs(7) });
        assert_eq!(decide(&facts(Some(&limited(None)), 0, &[], 0), PAUSE), Decision::Pause { after: PAUSE });
        assert_eq!(
            decide(&facts(Some(&ProviderError::OutOfCredits), 0, &[], 0), PAUSE),
            Decision::Fail { error: ProviderError::OutOfCredits, save_progress: false }
        );
        assert!(matches!(
            decide(&facts(Some(&ProviderError::Unauthorized("x".into())), 0, &[], 0), PAUSE),
            Decision::Fail { error: ProviderError::Unauthorized(_), .. }
        ));
        assert!(matches!(decide(&facts(Some(&down()), 0, &[], 0), PAUSE), Decision::Retry(ProviderError::Unavailable(_))));
    }

    #[test]
    fn page_errors_after_progress_keep_it() {
        assert_eq!(decide(&facts(Some(&down()), 40, &[], 2), PAUSE), Decision::SaveProgress { pause: None });
        assert_eq!(
            decide(&facts(Some(&limited(Some(5))), 40, &[], 2), PAUSE),
            Decision::SaveProgress { pause: Some(Duration::from_secs(5)) }
        );
        // Terminal refusals end the job even after progress, keeping what the step had paid for.
        assert_eq!(
            decide(&facts(Some(&ProviderError::OutOfCredits), 40, &[], 2), PAUSE),
            Decision::Fail { error: ProviderError::OutOfCredits, save_progress: true }
        );
    }

    #[test]
    fn a_terminal_lookup_error_ends_the_job_even_among_successes() {
        assert_eq!(
            decide(&facts(None, 15, &[down(), ProviderError::OutOfCredits], 0), PAUSE),
            Decision::Fail { error: ProviderError::OutOfCredits, save_progress: true }
        );
    }

    #[test]
    fn rate_limited_lookups_keep_what_was_enriched_and_wait_the_longest_pause() {
        let failures = [limited(Some(3)), limited(None), limited(Some(9))];
        assert_eq!(decide(&facts(None, 5, &failures, 0), PAUSE), Decision::SaveProgress { pause: Some(Duration::from_secs(9)) });
        assert_eq!(decide(&facts(None, 2, &[limited(None)], 0), PAUSE), Decision::SaveProgress { pause: Some(PAUSE) });
        assert_eq!(decide(&facts(None, 0, &[limited(Some(4))], 0), PAUSE), Decision::Pause { after: Duration::from_secs(4) });
    }

    #[test]
    fn a_few_failing_profiles_are_kept_unenriched() {
        assert_eq!(decide(&facts(None, 18, &[down(), down()], 0), PAUSE), Decision::SaveAll);
        // One or two lookups near the target: a stubborn profile does not stop the job.
        assert_eq!(decide(&facts(None, 0, &[down(), down()], 0), PAUSE), Decision::SaveAll);
        // Three failures that are not the majority are kept.
        assert_eq!(decide(&facts(None, 3, &[down(), down(), down()], 0), PAUSE), Decision::SaveAll);
    }

    #[test]
    fn most_lookups_failing_means_the_provider_is_down() {
        assert!(matches!(decide(&facts(None, 0, &[down(), down(), down()], 0), PAUSE), Decision::Retry(_)));
        // With some creators enriched, those are kept and the failed ones looked at again.
        assert_eq!(decide(&facts(None, 2, &[down(), down(), down()], 0), PAUSE), Decision::SaveProgress { pause: None });
    }

    #[test]
    fn creators_that_need_no_lookup_count_as_progress() {
        // Instagram's profile search: 12 creators ready without any lookup, one lookup failing.
        let failures = [down()];
        let mut f = facts(None, 12, &failures, 1);
        f.lookups = 1;
        assert_eq!(decide(&f, PAUSE), Decision::SaveAll, "one failure among one lookup is kept");
    }

    #[test]
    fn running_out_of_time_keeps_what_is_done() {
        let mut f = facts(None, 30, &[], 1);
        f.unsent = 5;
        assert_eq!(decide(&f, PAUSE), Decision::SaveProgress { pause: None });
        let mut f = facts(None, 0, &[], 0);
        f.unsent = 5;
        assert!(matches!(decide(&f, PAUSE), Decision::Retry(ProviderError::Unavailable(_))));
    }
}
