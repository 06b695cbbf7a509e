//! A marketer's search, run end to end through the embedded QStash server and the simulator.

use crate::helpers::{assert_completed, spawn_app, spawn_app_with, Backend};
use scout::shared::{JobStatus, WaitingReason};
use serde_json::json;
use std::{collections::HashSet, time::Duration};

const JOB_LIMIT: Duration = Duration::from_secs(180);

crate::on_both_databases!(
    a_1000_creator_job_runs_to_completed,
    a_job_with_several_keywords_pages_each_lane,
    rate_limits_and_server_errors_delay_but_do_not_break_the_job,
    out_of_credits_ends_the_job_with_a_readable_message,
    a_rejected_api_key_ends_the_job_with_a_readable_message,
    an_exhausted_source_completes_below_target,
    retries_exhausted_mark_the_job_failed_via_the_failure_callback,
    a_job_past_its_deadline_times_out,
    keywords_that_run_out_are_expanded_with_the_hashtags_found,
    the_sweeper_times_out_a_waiting_job_and_its_campaign,
    a_cancelled_search_stops_and_keeps_what_it_found,
    paging_and_lookups_share_the_concurrency_limit,
    profiles_bought_recently_are_reused_not_bought_again,
    a_restart_mid_job_resumes_with_no_lost_or_duplicated_creators,
    a_step_in_flight_at_a_crash_is_taken_over_when_its_lease_lapses,
    a_sigterm_mid_step_fails_readiness_hands_the_step_back_and_exits_cleanly,
    a_sigterm_ends_the_running_step_early_and_saves_what_it_found,
    a_sigterm_does_not_wait_for_a_slow_provider,
    a_lost_step_message_is_republished_by_the_stall_sweeper,
    rate_limited_profiles_keep_what_was_enriched,
    a_profile_that_keeps_failing_does_not_fail_the_job,
    a_step_ends_at_its_hard_stop_and_keeps_what_it_has,
    the_stall_sweeper_leaves_a_planned_pause_alone,
);

async fn a_1000_creator_job_runs_to_completed(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Fitness spring").await;
    let job_id = app.start_search(&campaign, &["home workout"], 1000).await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;

    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    assert_eq!(job.error, None);
    assert!(job.processed_runs >= 50, "one page per 20 results at most: {}", job.processed_runs);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.len(), 1000);
    let handles: HashSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(handles.len(), 1000, "every creator once");
    assert!(rows.iter().any(|r| !r[5].is_empty()), "some bios hold emails");
    // Every creator's profile was looked up exactly once: no credits wasted on repeats.
    let stats = app.simulator_stats().await;
    assert_eq!(stats["profileCalls"], 1000);
    // Credits: what the provider charged, one per call here.
    let calls = stats["searchCalls"].as_u64().unwrap() + stats["profileCalls"].as_u64().unwrap();
    assert_eq!(job.credits_used, calls);
    // Paging and lookups overlap, but never with more calls in flight than configured (8).
    let max_in_flight = stats["maxInFlight"].as_u64().unwrap();
    assert!(max_in_flight <= 8, "{max_in_flight} calls in flight");
    assert_eq!((job.eta_seconds, job.waiting_reason), (None, None), "a finished run has no ETA and waits for nothing");
    // The campaign lists the job.
    let detail: serde_json::Value = app.get(&format!("/api/campaigns/{campaign}")).await.json().await.unwrap();
    assert_eq!(detail["jobs"][0]["id"], job_id.as_str());
    assert_eq!(detail["status"], "completed");
}

async fn a_job_with_several_keywords_pages_each_lane(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Food").await;
    let job_id = app.start_search(&campaign, &["meal prep", "vegan recipes", "air fryer", "sourdough", "ramen"], 1000).await;
    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;
    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    let rows = app.csv_rows(&campaign, &job_id).await;
    let keywords: HashSet<&str> = rows.iter().map(|r| &r[9]).collect();
    assert_eq!(keywords.len(), 5, "creators come from every keyword: {keywords:?}");
    // Lanes take turns (at most three per step) and each step reads several pages while it looks
    // creators up.
    let steps = app.scalar("SELECT step FROM scraping_jobs WHERE id = $1", &job_id).await;
    assert!(job.processed_runs as i64 > steps, "{} pages in {steps} steps", job.processed_runs);
    let idle_lanes = app.scalar("SELECT COUNT(*) FROM job_lanes WHERE job_id = $1 AND runs = 0", &job_id).await;
    assert_eq!(idle_lanes, 0, "every keyword was paged");
    let runs_in_lanes = app.scalar("SELECT CAST(SUM(runs) AS BIGINT) FROM job_lanes WHERE job_id = $1", &job_id).await;
    assert_eq!(runs_in_lanes, job.processed_runs as i64);
}

async fn rate_limits_and_server_errors_delay_but_do_not_break_the_job(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Flaky provider").await;
    app.add_fault(json!({"status": 429, "count": 2, "retryAfter": 1, "endpoint": "search"})).await;
    app.add_fault(json!({"status": 500, "count": 2, "endpoint": "search"})).await;
    app.add_fault(json!({"status": 503, "count": 1, "endpoint": "profile"})).await;
    let job_id = app.start_search(&campaign, &["skincare"], 1000).await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;

    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    assert_eq!(app.csv_rows(&campaign, &job_id).await.len(), 1000);
    let stats = app.simulator_stats().await;
    assert_eq!(stats["pendingFaults"], 0, "every fault was hit");
    // Pages that arrived in a step that then failed were still paid for, and are counted.
    assert_eq!(job.credits_used, stats["searchCalls"].as_u64().unwrap() + stats["profileCalls"].as_u64().unwrap());
    let retries = app.scalar("SELECT retry_count FROM scraping_jobs WHERE id = $1", &job_id).await;
    assert!(retries >= 4, "the pauses were recorded: {retries}");
}

async fn out_of_credits_ends_the_job_with_a_readable_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Broke").await;
    app.add_fault(json!({"status": 402, "count": 1, "endpoint": "search"})).await;
    let job_id = app.start_search(&campaign, &["travel"], 1000).await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;

    assert_eq!(job.status, JobStatus::Error);
    let error = job.error.expect("an error message");
    assert!(error.contains("out of credits"), "{error}");
    assert!(!error.contains("402"), "no status codes for marketers: {error}");
    assert_eq!(job.processed_results, 0);
    let detail: serde_json::Value = app.get(&format!("/api/campaigns/{campaign}")).await.json().await.unwrap();
    assert_eq!(detail["status"], "error", "the campaign list shows the failure");
}

async fn a_rejected_api_key_ends_the_job_with_a_readable_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Bad key").await;
    app.add_fault(json!({"status": 401, "count": 1, "endpoint": "search"})).await;
    let job_id = app.start_search(&campaign, &["gaming"], 1000).await;
    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;
    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("API key"));
}

async fn an_exhausted_source_completes_below_target(backend: Backend) {
    let app = spawn_app_with(backend, &[("SIMULATOR_RESULTS_PER_QUERY", "300")]).await;
    let campaign = app.create_campaign("Niche").await;
    let body = json!({"campaignId": campaign, "keywords": ["underwater basket weaving"], "targetResults": 1000, "expandKeywords": false});
    let job_id = app.start_search_with("tiktok", body).await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;

    assert_completed(&job);
    // 300 videos, every tenth by an author already seen: 270 unique creators.
    assert_eq!(job.processed_results, 270);
    assert!(job.note.as_deref().unwrap_or_default().contains("ran out"), "{job:?}");
    assert!(job.status_text().contains("ran out"));
    assert_eq!(app.csv_rows(&campaign, &job_id).await.len(), 270);
}

async fn keywords_that_run_out_are_expanded_with_the_hashtags_found(backend: Backend) {
    let app = spawn_app_with(backend, &[("SIMULATOR_RESULTS_PER_QUERY", "300")]).await;
    let campaign = app.create_campaign("Niche, expanded").await;
    let job_id = app.start_search(&campaign, &["underwater basket weaving"], 1000).await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;

    // 270 creators from the keyword, then the most common hashtags found took it to the target.
    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    let note = job.note.clone().expect("a note says what was added");
    assert!(note.starts_with("added #") && note.ends_with("to reach the target."), "{note}");
    assert!(job.status_text().contains("added #"));
    let lanes = app.scalar("SELECT COUNT(*) FROM job_lanes WHERE job_id = $1", &job_id).await;
    assert!((2..=6).contains(&lanes), "at most five lanes were added: {lanes}");
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 1000);
    assert!(rows.iter().any(|r| &r[9] != "underwater basket weaving"), "creators came from the added hashtags");
    assert!(!note.contains("#underwaterbasketweaving"), "a keyword already searched is not added: {note}");
}

async fn retries_exhausted_mark_the_job_failed_via_the_failure_callback(backend: Backend) {
    let app = spawn_app_with(backend, &[("SCOUT_STEP_RETRIES", "1")]).await;
    let campaign = app.create_campaign("Down").await;
    app.add_fault(json!({"status": 500, "count": 1000, "endpoint": "search"})).await;
    let job_id = app.start_search(&campaign, &["cars"], 1000).await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;

    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("kept failing"));
}

async fn a_job_past_its_deadline_times_out(backend: Backend) {
    let app = spawn_app_with(backend, &[("SCOUT_JOB_TIMEOUT_MINUTES", "0")]).await;
    let campaign = app.create_campaign("Slow").await;
    let job_id = app.start_search(&campaign, &["pets"], 1000).await;
    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;
    assert_eq!(job.status, JobStatus::Timeout);
    assert!(job.status_text().contains("took too long"));
    let detail: serde_json::Value = app.get(&format!("/api/campaigns/{campaign}")).await.json().await.unwrap();
    assert_eq!(detail["status"], "timeout");
}

async fn the_sweeper_times_out_a_waiting_job_and_its_campaign(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Parked").await;
    // The provider parks step 0 for an hour, so only the sweeper can end the job.
    app.add_fault(json!({"status": 429, "count": 1, "retryAfter": 3600, "endpoint": "search"})).await;
    let job_id = app.start_search(&campaign, &["origami"], 1000).await;
    let deadline = std::time::Instant::now() + JOB_LIMIT;
    while app.scalar("SELECT retry_count FROM scraping_jobs WHERE id = $1", &job_id).await == 0 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // While it waits, the status says so and until when.
    let waiting = app.job(&job_id).await;
    assert_eq!(waiting.waiting_reason, Some(WaitingReason::ProviderRateLimit));
    assert!(waiting.waiting_until.unwrap() > chrono::Utc::now().timestamp_millis() + 3_000_000);
    assert!(waiting.status_text().contains("Waiting for the provider until"), "{}", waiting.status_text());
    let raw: serde_json::Value = app.get(&format!("/api/scraping/tiktok?jobId={job_id}")).await.json().await.unwrap();
    assert_eq!(raw["waitingReason"], "provider_rate_limit");
    assert_eq!(raw["kind"], "keywords");
    let pool = app.db().await;
    sqlx::query("UPDATE scraping_jobs SET timeout_at = 1 WHERE id = $1").bind(&job_id).execute(&pool).await.unwrap();
    pool.close().await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;

    assert_eq!(job.status, JobStatus::Timeout);
    let detail: serde_json::Value = app.get(&format!("/api/campaigns/{campaign}")).await.json().await.unwrap();
    assert_eq!(detail["status"], "timeout", "the campaign follows its run");
}

async fn a_cancelled_search_stops_and_keeps_what_it_found(backend: Backend) {
    let app = spawn_app_with(backend, &[("SIMULATOR_LATENCY_MS", "10")]).await;
    let campaign = app.create_campaign("Changed my mind").await;
    let job_id = app.start_search(&campaign, &["kayaking"], 5000).await;
    app.wait_until(&job_id, JOB_LIMIT, |j| j.processed_results >= 100).await;

    let response = app.client.post(app.url(&format!("/api/jobs/{job_id}/cancel"))).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let cancelled: scout::shared::JobView = response.json().await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled);

    // A step in flight may still be delivered, but none commits or follows.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let steps = app.scalar("SELECT step FROM scraping_jobs WHERE id = $1", &job_id).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(app.scalar("SELECT step FROM scraping_jobs WHERE id = $1", &job_id).await, steps, "no further step ran");
    let job = app.job(&job_id).await;
    assert_eq!(job.status, JobStatus::Cancelled);
    assert!(job.processed_results >= 100 && job.processed_results < 5000);
    assert!(job.status_text().contains("kept"));
    assert_eq!(app.csv_rows(&campaign, &job_id).await.len() as u32, job.processed_results, "what it found is kept");
    let detail: serde_json::Value = app.get(&format!("/api/campaigns/{campaign}")).await.json().await.unwrap();
    assert_eq!(detail["status"], "cancelled");

    // Cancelling again is harmless; a finished run or an unknown one cannot be cancelled.
    assert_eq!(app.client.post(app.url(&format!("/api/jobs/{job_id}/cancel"))).send().await.unwrap().status(), 200);
    let done = app.start_search(&campaign, &["canoe"], 1000).await;
    assert_completed(&app.wait_for_terminal(&done, JOB_LIMIT).await);
    let refused = app.client.post(app.url(&format!("/api/jobs/{done}/cancel"))).send().await.unwrap();
    assert_eq!(refused.status(), 409);
    assert!(refused.json::<serde_json::Value>().await.unwrap()["error"].as_str().unwrap().contains("already finished"));
    assert_eq!(app.client.post(app.url("/api/jobs/unknown/cancel")).send().await.unwrap().status(), 404);
}

async fn paging_and_lookups_share_the_concurrency_limit(backend: Backend) {
    // With real latency the step keeps every slot busy (a page is read while the previous page's
    // creators are looked up), and never uses more slots than configured.
    let app = spawn_app_with(backend, &[("SIMULATOR_LATENCY_MS", "20"), ("SCOUT_PROVIDER_CONCURRENCY", "4")]).await;
    let campaign = app.create_campaign("Busy").await;
    let job_id = app.start_search(&campaign, &["birdwatching", "hiking"], 1000).await;
    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;
    assert_completed(&job);
    let stats = app.simulator_stats().await;
    assert_eq!(stats["maxInFlight"], 4);
    // Pages were read while lookups ran (a step that pages, then looks up, never does this).
    assert!(stats["searchesDuringLookups"].as_u64().unwrap() > 10, "{stats}");
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 1000);
}

async fn profiles_bought_recently_are_reused_not_bought_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Twice the same").await;
    let first = app.start_search(&campaign, &["calligraphy"], 1000).await;
    let first = app.wait_for_terminal(&first, JOB_LIMIT).await;
    assert_completed(&first);
    assert_eq!(first.credits_saved, 0);

    let second = app.start_search(&campaign, &["calligraphy"], 1000).await;
    let second_job = app.wait_for_terminal(&second, JOB_LIMIT).await;
    assert_completed(&second_job);
    // The same 1,000 creators: no profile bought twice, and the run says what it saved.
    assert_eq!(app.simulator_stats().await["profileCalls"], 1000);
    assert_eq!(second_job.credits_saved, 1000);
    assert!(second_job.credits_used + 1000 <= first.credits_used, "only search pages were paid for again");
    let rows = app.csv_rows(&campaign, &second).await;
    assert!(rows.iter().all(|r| !r[6].is_empty()), "reused profiles carry their bios");
    assert_eq!(
        rows.iter().filter(|r| !r[5].is_empty()).count(),
        app.csv_rows(&campaign, &first.id).await.iter().filter(|r| !r[5].is_empty()).count()
    );

    // With the cache off, profiles are bought every time.
    let app = spawn_app_with(backend, &[("SCOUT_PROFILE_CACHE_HOURS", "0")]).await;
    let campaign = app.create_campaign("No reuse").await;
    for _ in 0..2 {
        let job = app.start_search(&campaign, &["calligraphy"], 1000).await;
        assert_eq!(app.wait_for_terminal(&job, JOB_LIMIT).await.credits_saved, 0);
    }
    assert_eq!(app.simulator_stats().await["profileCalls"], 2000);
}

async fn a_restart_mid_job_resumes_with_no_lost_or_duplicated_creators(backend: Backend) {
    let mut app = spawn_app_with(backend, &[("SIMULATOR_LATENCY_MS", "10")]).await;
    let campaign = app.create_campaign("Crashy").await;
    let job_id = app.start_search(&campaign, &["running shoes"], 1000).await;
    app.wait_until(&job_id, JOB_LIMIT, |j| j.processed_results >= 200).await;

    app.crash();
    app.restart().await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;
    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.len(), 1000);
    let handles: HashSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(handles.len(), 1000);
    // Deterministic source: the resumed job found exactly the creators an uninterrupted one finds.
    let stored = app.scalar("SELECT COUNT(*) FROM creators WHERE job_id = $1", &job_id).await;
    assert_eq!(stored, 1000);
}

async fn a_step_in_flight_at_a_crash_is_taken_over_when_its_lease_lapses(backend: Backend) {
    // An 8 s lease; the first profile lookups take 9 s, so the first step is still running when the
    // app dies. Its delivery's lease lapses after at most 8 s (not the delivery timeout plus 5 s, as
    // it used to), and meanwhile the run says it waits for recovery.
    let mut app = spawn_app_with(
        backend,
        &[("SIMULATOR_LATENCY_MS", "10"), ("QSTASH_DEV_LEASE_SECS", "8"), ("QSTASH_DEV_DELIVERY_TIMEOUT_SECS", "60")],
    )
    .await;
    app.add_fault(json!({"status": 200, "delayMs": 9000, "count": 8, "endpoint": "profile"})).await;
    let campaign = app.create_campaign("Crash mid-step").await;
    let job_id = app.start_search(&campaign, &["bouldering"], 1000).await;
    let pool = app.db().await;
    let in_flight = leased_message(&pool).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let step: (i64, String) = sqlx::query_as("SELECT step, status FROM scraping_jobs WHERE id = $1").bind(&job_id).fetch_one(&pool).await.unwrap();
    assert_eq!(step.0, 0, "the first step has not committed yet: {step:?}");

    app.crash();
    pool.close().await;
    // Slower calls after the restart, so the bar's first move can be seen before the next step's.
    app.set("SIMULATOR_LATENCY_MS", "100");
    app.restart().await;
    let pool = app.db().await;

    let waiting = app.wait_until(&job_id, JOB_LIMIT, |j| j.waiting_reason == Some(WaitingReason::Recovery) || j.status.is_terminal()).await;
    assert_eq!(waiting.waiting_reason, Some(WaitingReason::Recovery), "the bar said why it waited: {waiting:?}");
    assert_eq!(waiting.status_text(), "Resuming after a restart…");
    // The step taken over is resumed work: it pages for a quarter of the usual 160 creators (plus
    // what the pages in flight then bring), so the bar moves again soon.
    let moved = app.wait_until(&job_id, JOB_LIMIT, |j| j.processed_results > 0).await;
    assert!(moved.processed_results < 160, "a short first step: {moved:?}");
    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;
    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 1000, "every creator once");
    // The lapsed lease was no failed attempt: the message was delivered again at no retry's cost.
    let (state, retried): (String, i64) =
        sqlx::query_as("SELECT state, retried FROM qstash_messages WHERE id = $1").bind(&in_flight).fetch_one(&pool).await.unwrap();
    assert_eq!((state.as_str(), retried), ("delivered", 0));
}

async fn a_sigterm_mid_step_fails_readiness_hands_the_step_back_and_exits_cleanly(backend: Backend) {
    // A 1 s grace and a first step held up by 3 s profile lookups: the step cannot finish in time,
    // so it is handed back, and the restarted app delivers it again at once, at no retry's cost.
    let mut app = spawn_app_with(
        backend,
        &[("SIMULATOR_LATENCY_MS", "10"), ("SCOUT_SHUTDOWN_GRACE_SECS", "1"), ("QSTASH_DEV_DELIVERY_TIMEOUT_SECS", "30")],
    )
    .await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.json::<serde_json::Value>().await.unwrap()["status"], "ready");
    app.add_fault(json!({"status": 200, "delayMs": 3000, "count": 8, "endpoint": "profile"})).await;
    let campaign = app.create_campaign("Deploy mid-step").await;
    let job_id = app.start_search(&campaign, &["sourdough"], 1000).await;
    let pool = app.db().await;
    let in_flight = leased_message(&pool).await;
    pool.close().await;

    let stopped = app.terminate();
    // While it finishes, it tells the load balancer to send it nothing new.
    let mut readiness = None;
    for _ in 0..100 {
        let answer = app.anonymous.get(app.url("/readyz")).send().await;
        if let Some(answer) = answer.ok().filter(|a| a.status() == 503) {
            readiness = Some(answer.json::<serde_json::Value>().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(readiness.expect("/readyz failed during the shutdown")["status"], "stopping");
    assert_eq!(stopped.await, Ok(()), "exit 0");
    let pool = app.db().await;
    let (locked_until,): (i64,) = sqlx::query_as("SELECT locked_until FROM qstash_messages WHERE id = $1").bind(&in_flight).fetch_one(&pool).await.unwrap();
    assert_eq!(locked_until, 0, "handed back, not left to its lease");
    pool.close().await;
    app.restart().await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;
    assert_completed(&job);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 1000, "every creator once");
    assert_eq!(rows.len(), 1000);
    let pool = app.db().await;
    let (state, retried): (String, i64) =
        sqlx::query_as("SELECT state, retried FROM qstash_messages WHERE id = $1").bind(&in_flight).fetch_one(&pool).await.unwrap();
    assert_eq!((state.as_str(), retried), ("delivered", 0));
}

async fn a_sigterm_ends_the_running_step_early_and_saves_what_it_found(backend: Backend) {
    // Steps that want all 1,000 creators at 200 ms a call would page for 20 s, far past the 10 s
    // shutdown grace. A SIGTERM ends the running step instead: it stops paging, lets its calls in
    // flight finish, saves, and publishes the next step, so the step is delivered (not handed back to
    // be done again) and a later instance carries on from what it saved.
    let mut app = spawn_app_with(backend, LONG_STEPS).await;
    let campaign = app.create_campaign("Deploy mid-step").await;
    let job_id = app.start_search(&campaign, &["woodturning"], 1000).await;
    let pool = app.db().await;
    let in_flight = leased_message(&pool).await;
    // Well into the step: some creators looked up, none saved yet.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (step, saved): (i64, i64) =
        sqlx::query_as("SELECT step, processed_results FROM scraping_jobs WHERE id = $1").bind(&job_id).fetch_one(&pool).await.unwrap();
    assert_eq!((step, saved), (0, 0), "the first step is still running");

    sigterm_saves_the_step_and_a_restart_finishes(&mut app, pool, &in_flight, &campaign, &job_id).await;
}

async fn a_sigterm_does_not_wait_for_a_slow_provider(backend: Backend) {
    // A step with creators looked up when the provider starts hanging (profile calls that take a
    // minute) and then a SIGTERM: waiting for those calls would outlast the 10 s grace and the whole
    // step would be handed back and paid for again. Half the grace after the signal the step saves
    // what it has instead and leaves the hanging lookups to a later step, which looks them up again:
    // every creator is saved once, with its profile.
    let mut app = spawn_app_with(backend, &[LONG_STEPS, &[("SCRAPECREATORS_TIMEOUT_SECS", "90")]].concat()).await;
    let campaign = app.create_campaign("Deploy, slow provider").await;
    let job_id = app.start_search(&campaign, &["macrame"], 1000).await;
    let pool = app.db().await;
    let in_flight = leased_message(&pool).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    app.add_fault(json!({"status": 200, "delayMs": 60000, "count": 8, "endpoint": "profile"})).await;
    // Every call slot now holds a hanging lookup.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let rows = sigterm_saves_the_step_and_a_restart_finishes(&mut app, pool, &in_flight, &campaign, &job_id).await;
    assert!(rows.iter().all(|r| !r[6].is_empty()), "the lookups cut short were done again, none saved without its profile");
}

/// Steps that want all 1,000 creators at 200 ms a call and page for 20 s: far past the 10 s grace.
const LONG_STEPS: &[(&str, &str)] = &[
    ("SIMULATOR_LATENCY_MS", "200"),
    ("SCOUT_STEP_CREATORS", "1000"),
    ("SCOUT_STEP_SECS", "20"),
    ("QSTASH_DEV_DELIVERY_TIMEOUT_SECS", "120"),
];

/// SIGTERMs `app` with the first step (message `in_flight`) running: it exits 0, the step ends within
/// the grace, its delivery is recorded, part of the search is saved and the next step published;
/// restarted, the search finishes with every creator once. Returns the CSV rows.
async fn sigterm_saves_the_step_and_a_restart_finishes(
    app: &mut crate::helpers::TestApp,
    pool: sqlx::AnyPool,
    in_flight: &str,
    campaign: &str,
    job_id: &str,
) -> Vec<csv::StringRecord> {
    assert_eq!(app.terminate().await, Ok(()), "exit 0");
    let (state, retried): (String, i64) =
        sqlx::query_as("SELECT state, retried FROM qstash_messages WHERE id = $1").bind(in_flight).fetch_one(&pool).await.unwrap();
    assert_eq!((state.as_str(), retried), ("delivered", 0), "the step ended in the grace and its delivery was recorded");
    let (step, saved): (i64, i64) =
        sqlx::query_as("SELECT step, processed_results FROM scraping_jobs WHERE id = $1").bind(job_id).fetch_one(&pool).await.unwrap();
    assert_eq!(step, 1, "the next step was published");
    assert!(saved > 0 && saved < 1000, "what the step found was saved: {saved}");
    pool.close().await;

    app.set("SIMULATOR_LATENCY_MS", "0");
    app.restart().await;
    let job = app.wait_for_terminal(job_id, JOB_LIMIT).await;
    assert_completed(&job);
    let rows = app.csv_rows(campaign, job_id).await;
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 1000, "every creator once");
    rows
}

/// The id of a message a delivery holds right now (the job's step in flight), once there is one.
async fn leased_message(pool: &sqlx::AnyPool) -> String {
    loop {
        let row: Option<(String,)> = sqlx::query_as("SELECT id FROM qstash_messages WHERE state = 'pending' AND locked_until > $1")
            .bind(scout::db::now_ms())
            .fetch_optional(pool)
            .await
            .unwrap();
        if let Some((id,)) = row {
            return id;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn a_lost_step_message_is_republished_by_the_stall_sweeper(backend: Backend) {
    let mut app = spawn_app_with(backend, &[("SIMULATOR_LATENCY_MS", "10"), ("SCOUT_STALL_AFTER_SECS", "2")]).await;
    let campaign = app.create_campaign("Lost message").await;
    let job_id = app.start_search(&campaign, &["ceramics"], 1000).await;
    app.wait_until(&job_id, JOB_LIMIT, |j| j.processed_results >= 100).await;

    // A crash right after a step committed, before its successor reached QStash: no message is left.
    app.crash();
    let pool = app.db().await;
    sqlx::query("UPDATE qstash_messages SET state = 'cancelled' WHERE state = 'pending'").execute(&pool).await.unwrap();
    sqlx::query("DELETE FROM qstash_dedup").execute(&pool).await.unwrap();
    pool.close().await;
    app.restart().await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;
    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    let handles: HashSet<String> = app.csv_rows(&campaign, &job_id).await.iter().map(|r| r[0].to_string()).collect();
    assert_eq!(handles.len(), 1000);
}

async fn rate_limited_profiles_keep_what_was_enriched(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Profile limits").await;
    app.add_fault(json!({"status": 429, "count": 5, "retryAfter": 1, "endpoint": "profile"})).await;
    let job_id = app.start_search(&campaign, &["knitting"], 1000).await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;

    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    // Each creator's profile was fetched successfully exactly once: nothing enriched was thrown away.
    assert_eq!(app.simulator_stats().await["profileCalls"], 1000);
    let without_bio = app.scalar("SELECT COUNT(*) FROM creators WHERE job_id = $1 AND bio = ''", &job_id).await;
    assert_eq!(without_bio, 0);
}

async fn a_profile_that_keeps_failing_does_not_fail_the_job(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("One bad profile").await;
    // The first creator the search finds has a profile that always fails.
    let page = app.simulator_get("/v1/tiktok/search/keyword?query=origami").await;
    let handle = page["search_item_list"][0]["aweme_info"]["author"]["unique_id"].as_str().unwrap().to_string();
    app.add_fault(json!({"status": 500, "count": 1000, "endpoint": "profile", "target": handle})).await;
    let job_id = app.start_search(&campaign, &["origami"], 1000).await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;

    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    let rows = app.csv_rows(&campaign, &job_id).await;
    let bad = rows.iter().find(|r| r[0] == handle).expect("the creator is kept");
    assert_eq!(&bad[6], "", "kept as the search found it, without a bio");
    assert_eq!(rows.iter().filter(|r| r[6].is_empty()).count(), 1);
}

async fn a_step_ends_at_its_hard_stop_and_keeps_what_it_has(backend: Backend) {
    // A 1 s step budget (hard stop at 2 s), deliveries that time out after 10 s, and steps of 8
    // creators whose first 5 profile lookups hang for a minute: a step that waited for them would
    // time out every time, and QStash's retries would repeat its paid lookups until the job failed.
    // Abandoned, they are most of the step's lookups, yet no failure: the step keeps their creators
    // as the search found them and buys none of them again.
    let app = spawn_app_with(
        backend,
        &[
            ("SCOUT_STEP_BUDGET_SECS", "1"),
            ("SCOUT_STEP_CREATORS", "8"),
            ("QSTASH_DEV_DELIVERY_TIMEOUT_SECS", "10"),
            ("SCRAPECREATORS_TIMEOUT_SECS", "90"),
        ],
    )
    .await;
    app.add_fault(json!({"status": 200, "delayMs": 60000, "count": 5, "endpoint": "profile"})).await;
    let campaign = app.create_campaign("Slow profiles").await;
    let job_id = app.start_search(&campaign, &["kombucha"], 1000).await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;

    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 1000, "every creator once");
    assert_eq!(rows.iter().filter(|r| r[6].is_empty()).count(), 5, "the 5 abandoned lookups' creators, kept as found");
    // Answered calls: the 5 hanging ones never were, and none of their creators was looked up again.
    assert_eq!(app.simulator_stats().await["profileCalls"], 995, "no profile bought twice");
    let retried = app.scalar("SELECT COUNT(*) FROM qstash_messages WHERE retried > 0 AND destination LIKE $1", "%").await;
    assert_eq!(retried, 0, "no step delivery timed out or failed");
}

async fn the_stall_sweeper_leaves_a_planned_pause_alone(backend: Backend) {
    // An eager sweeper (1 s) and no deduplication window: any re-publish would show as an extra message.
    let app = spawn_app_with(backend, &[("SCOUT_STALL_AFTER_SECS", "2"), ("QSTASH_DEV_DEDUP_WINDOW_SECS", "0")]).await;
    let campaign = app.create_campaign("Patient").await;
    app.add_fault(json!({"status": 429, "count": 1, "retryAfter": 4, "endpoint": "search"})).await;
    let job_id = app.start_search(&campaign, &["bonsai"], 1000).await;

    let job = app.wait_for_terminal(&job_id, JOB_LIMIT).await;
    assert_completed(&job);

    // Step 0 was published twice: at the start, and after the provider's 4 s pause. The sweeper (2 s),
    // which would otherwise have seen a job idle for 4 s, added nothing.
    let pool = app.db().await;
    let bodies: Vec<(String, String)> = sqlx::query_as("SELECT destination, body FROM qstash_messages").fetch_all(&pool).await.unwrap();
    pool.close().await;
    let step_zero = bodies
        .iter()
        .filter(|(destination, _)| destination.ends_with("/api/qstash/process-scraping"))
        .filter_map(|(_, body)| base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).ok())
        .filter_map(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .filter(|message| message["jobId"] == job_id.as_str() && message["step"] == 0)
        .count();
    assert_eq!(step_zero, 2);
}
