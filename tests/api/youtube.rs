//! YouTube keyword searches: channels found through videos and shorts, enriched by the channel
//! endpoint, on both databases, through the embedded QStash server and the simulator.

use crate::helpers::{assert_completed, spawn_app, spawn_app_with, Backend};
use scout::shared::{JobStatus, Platform, SearchKind};
use serde_json::json;
use std::{collections::HashSet, time::Duration};

const LIMIT: Duration = Duration::from_secs(180);

crate::on_both_databases!(
    a_youtube_keyword_search_finds_channels_with_subscribers,
    youtube_faults_delay_or_end_the_search,
    an_exhausted_youtube_search_completes_below_target,
    a_youtube_search_survives_a_restart,
);

async fn a_youtube_keyword_search_finds_channels_with_subscribers(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Runners").await;
    let job_id = app.start_search_on("youtube", &campaign, &["trail running", "marathon"], 1000).await;

    let job = app.wait_for_terminal(&job_id, LIMIT).await;

    assert_completed(&job);
    assert_eq!((job.platform, job.kind), (Platform::Youtube, SearchKind::Keywords));
    // The original's status route answers under the run's own platform only.
    assert_eq!(app.get(&format!("/api/scraping/youtube?jobId={job_id}")).await.status(), 200);
    assert_eq!(app.get(&format!("/api/scraping/tiktok?jobId={job_id}")).await.status(), 404);
    assert_eq!(job.processed_results, 1000);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.len(), 1000);
    let channels: HashSet<&str> = rows.iter().map(|r| &r[2]).collect();
    assert_eq!(channels.len(), 1000, "every channel once");
    assert!(rows.iter().all(|r| &r[10] == "youtube" && &r[11] == "subscribers"));
    assert!(rows.iter().all(|r| r[2].starts_with("https://www.youtube.com/")));
    assert!(rows.iter().any(|r| r[2].contains("/channel/UC")), "channels without a handle link by id");
    assert!(rows.iter().all(|r| r[7].starts_with("https://www.youtube.com/watch?v=")));
    assert!(rows.iter().all(|r| r[3].parse::<i64>().unwrap() > 0), "subscribers come from the channel endpoint");
    assert!(rows.iter().any(|r| !r[5].is_empty()), "some channels list an email");
    assert!(rows.iter().all(|r| !r[15].is_empty()), "country is kept");
    // One channel lookup per channel, none repeated.
    assert_eq!(app.simulator_stats().await["calls"]["youtube/channel"], 1000);
}

async fn youtube_faults_delay_or_end_the_search(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Flaky YouTube").await;
    app.add_fault(json!({"status": 429, "count": 1, "retryAfter": 1, "endpoint": "youtube/search"})).await;
    app.add_fault(json!({"status": 500, "count": 1, "endpoint": "youtube/search"})).await;
    app.add_fault(json!({"status": 503, "count": 1, "endpoint": "youtube/channel"})).await;
    app.add_fault(json!({"status": 429, "count": 3, "retryAfter": 1, "endpoint": "youtube/channel"})).await;
    let job_id = app.start_search_on("youtube", &campaign, &["cooking"], 1000).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    assert_eq!(app.csv_rows(&campaign, &job_id).await.len(), 1000);
    assert_eq!(app.simulator_stats().await["pendingFaults"], 0, "every fault was hit");

    // Out of credits on the channel endpoint ends the next search with a readable message.
    app.add_fault(json!({"status": 402, "count": 1, "endpoint": "youtube/channel"})).await;
    let job_id = app.start_search_on("youtube", &campaign, &["baking"], 1000).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("out of credits"));

    app.add_fault(json!({"status": 401, "count": 1, "endpoint": "youtube/search"})).await;
    let job_id = app.start_search_on("youtube", &campaign, &["grilling"], 1000).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("API key"));
}

async fn an_exhausted_youtube_search_completes_below_target(backend: Backend) {
    let app = spawn_app_with(backend, &[("SIMULATOR_RESULTS_PER_QUERY", "200")]).await;
    let campaign = app.create_campaign("Niche YouTube").await;
    let body = json!({"campaignId": campaign, "keywords": ["lock picking"], "targetResults": 1000, "expandKeywords": false});
    let job_id = app.start_search_with("youtube", body).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    // 200 videos, every tenth by a channel already seen: 180 channels.
    assert_eq!(job.processed_results, 180);
    assert!(job.note.unwrap().contains("ran out"));
}

async fn a_youtube_search_survives_a_restart(backend: Backend) {
    let mut app = spawn_app_with(backend, &[("SIMULATOR_LATENCY_MS", "10")]).await;
    let campaign = app.create_campaign("Crashy YouTube").await;
    let job_id = app.start_search_on("youtube", &campaign, &["woodworking"], 1000).await;
    app.wait_until(&job_id, LIMIT, |j| j.processed_results >= 200).await;

    app.crash();
    app.restart().await;

    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows.iter().map(|r| &r[2]).collect::<HashSet<_>>().len(), 1000);
    // Channels looked up after the restart were still found (their ids resolve again).
    assert!(rows.iter().all(|r| r[3].parse::<i64>().unwrap() > 0));
}
