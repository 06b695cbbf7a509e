//! TikTok through Apify (`SCOUT_TIKTOK_PROVIDER=apify`): a keyword starts an actor run, later steps
//! read its dataset while it fills, and a failed, rate-limited or cancelled run behaves as a marketer
//! expects.

use crate::helpers::{assert_completed, spawn_app_with, Backend};
use scout::shared::JobStatus;
use serde_json::json;
use std::{collections::HashSet, time::Duration};

const LIMIT: Duration = Duration::from_secs(180);

crate::on_both_databases!(
    an_apify_run_is_read_while_it_fills,
    apify_failures_pause_or_end_the_search,
    cancelling_aborts_the_apify_run,
    a_finished_run_below_target_completes_with_a_note,
    an_apify_search_survives_a_restart,
);

async fn a_finished_run_below_target_completes_with_a_note(backend: Backend) {
    let app = spawn_app_with(
        backend,
        &[("SCOUT_TIKTOK_PROVIDER", "apify"), ("SIMULATOR_APIFY_ITEMS_PER_SEC", "2000"), ("SIMULATOR_RESULTS_PER_QUERY", "300")],
    )
    .await;
    let campaign = app.create_campaign("Small Apify").await;
    let job_id = app
        .start_search_with("tiktok", json!({"campaignId": campaign, "keywords": ["knots"], "targetResults": 1000, "expandKeywords": false}))
        .await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    // The run SUCCEEDED with 300 items, every tenth repeating an author.
    assert_eq!(job.processed_results, 270);
    assert!(job.note.unwrap().contains("ran out"));
}

async fn an_apify_search_survives_a_restart(backend: Backend) {
    let mut app = spawn_app_with(
        backend,
        &[("SCOUT_TIKTOK_PROVIDER", "apify"), ("SIMULATOR_APIFY_ITEMS_PER_SEC", "400"), ("SIMULATOR_LATENCY_MS", "10")],
    )
    .await;
    let campaign = app.create_campaign("Crashy Apify").await;
    let job_id = app.start_search(&campaign, &["juggling"], 1000).await;
    app.wait_until(&job_id, LIMIT, |j| j.processed_results >= 200).await;

    app.crash();
    app.restart().await;

    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 1000);
    // The restarted simulator counts afresh: no run was started after the restart.
    assert!(app.simulator_stats().await["calls"].get("apify/runs").is_none(), "the run started before the crash was read on");
}

async fn an_apify_run_is_read_while_it_fills(backend: Backend) {
    let app = spawn_app_with(backend, &[("SCOUT_TIKTOK_PROVIDER", "apify"), ("SIMULATOR_APIFY_ITEMS_PER_SEC", "1500")]).await;
    let campaign = app.create_campaign("Via Apify").await;
    let job_id = app.start_search(&campaign, &["home workout"], 1000).await;

    let job = app.wait_for_terminal(&job_id, LIMIT).await;

    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 1000, "every creator once");
    assert!(rows.iter().all(|r| !r[6].is_empty() && &r[10] == "tiktok"), "bios come with the items");
    let stats = app.simulator_stats().await;
    assert_eq!(stats["calls"]["apify/runs"], 1, "one run per keyword");
    assert_eq!(stats["profileCalls"], 0, "no profile lookups: the items carry the profile");
    assert!(stats["calls"]["apify/items"].as_u64().unwrap() >= 10, "{stats}");
}

async fn apify_failures_pause_or_end_the_search(backend: Backend) {
    let app = spawn_app_with(backend, &[("SCOUT_TIKTOK_PROVIDER", "apify"), ("SIMULATOR_APIFY_ITEMS_PER_SEC", "400")]).await;
    let campaign = app.create_campaign("Flaky Apify").await;
    app.add_fault(json!({"status": 429, "count": 2, "retryAfter": 1, "endpoint": "apify/items"})).await;
    app.add_fault(json!({"status": 500, "count": 1, "endpoint": "apify/runs"})).await;
    let job_id = app.start_search(&campaign, &["stretching"], 1000).await;
    assert_completed(&app.wait_for_terminal(&job_id, LIMIT).await);
    assert_eq!(app.simulator_stats().await["pendingFaults"], 0);

    // The run fails once the lane has caught up with it (its 500 items are far below the target, so
    // it must): the search ends with a readable message and keeps what it had.
    let app = spawn_app_with(
        backend,
        &[("SCOUT_TIKTOK_PROVIDER", "apify"), ("SIMULATOR_APIFY_ITEMS_PER_SEC", "400"), ("SIMULATOR_RESULTS_PER_QUERY", "500")],
    )
    .await;
    let campaign = app.create_campaign("Failing Apify").await;
    app.add_fault(json!({"status": 200, "endpoint": "apify/run", "runStatus": "FAILED", "target": "mobility"})).await;
    let job_id = app.start_search(&campaign, &["mobility"], 5000).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("Apify scraper run stopped (failed)"));

    app.add_fault(json!({"status": 402, "count": 1, "endpoint": "apify/runs"})).await;
    let job_id = app.start_search(&campaign, &["pilates"], 1000).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("out of credits"));

    app.add_fault(json!({"status": 401, "count": 1, "endpoint": "apify/runs"})).await;
    let job_id = app.start_search(&campaign, &["yoga"], 1000).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("API key"));
}

async fn cancelling_aborts_the_apify_run(backend: Backend) {
    let app = spawn_app_with(backend, &[("SCOUT_TIKTOK_PROVIDER", "apify"), ("SIMULATOR_APIFY_ITEMS_PER_SEC", "50")]).await;
    let campaign = app.create_campaign("Stop Apify").await;
    let job_id = app.start_search(&campaign, &["pilates"], 5000).await;
    // Items arrive slowly: the run is waited on, and the status says why.
    let waiting = app.wait_until(&job_id, LIMIT, |j| j.waiting_reason.is_some()).await;
    assert!(waiting.status_text().contains("still collecting"), "{}", waiting.status_text());
    app.wait_until(&job_id, LIMIT, |j| j.processed_results >= 20).await;

    let response = app.client.post(app.url(&format!("/api/jobs/{job_id}/cancel"))).send().await.unwrap();
    assert_eq!(response.status(), 200);

    assert_eq!(app.simulator_stats().await["calls"]["apify/abort"], 1, "the run was aborted at Apify");
    assert_eq!(app.job(&job_id).await.status, JobStatus::Cancelled);
}
