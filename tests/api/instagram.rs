//! Instagram keyword searches: profile search (bios inline) and reel search (owners enriched by
//! profile lookups), 11 pages per query, on both databases.

use crate::helpers::{assert_completed, spawn_app, Backend};
use scout::shared::{JobStatus, Platform};
use serde_json::json;
use std::{collections::HashSet, time::Duration};

const LIMIT: Duration = Duration::from_secs(180);

crate::on_both_databases!(
    an_instagram_search_pages_profiles_and_reels,
    one_instagram_keyword_runs_out_with_a_note,
    instagram_faults_delay_or_end_the_search,
    an_instagram_search_survives_a_restart,
);

async fn an_instagram_search_pages_profiles_and_reels(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Insta").await;
    let job_id = app.start_search_on("instagram", &campaign, &["pilates", "barre", "yoga flow"], 1000).await;

    let job = app.wait_for_terminal(&job_id, LIMIT).await;

    assert_completed(&job);
    assert_eq!(job.platform, Platform::Instagram);
    assert_eq!(job.processed_results, 1000);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 1000, "every creator once");
    assert!(rows.iter().all(|r| r[2].starts_with("https://www.instagram.com/") && &r[11] == "followers"));
    let from_reels = rows.iter().filter(|r| r[7].starts_with("https://www.instagram.com/reel/")).count();
    assert!(from_reels > 100 && from_reels < 900, "both sources contribute: {from_reels} from reels");
    assert!(rows.iter().all(|r| !r[6].is_empty()), "every creator has a bio, inline or looked up");
    assert!(rows.iter().any(|r| !r[16].is_empty()), "categories are kept");
    // Only reel owners needed a profile lookup; profile-search creators came with their bio.
    let stats = app.simulator_stats().await;
    assert_eq!(stats["calls"]["instagram/profile"], from_reels as u64);
}

async fn one_instagram_keyword_runs_out_with_a_note(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Insta niche").await;
    let body = json!({"campaignId": campaign, "keywords": ["macrame"], "targetResults": 1000, "expandKeywords": false});
    let job_id = app.start_search_with("instagram", body).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    // 11 pages of 20 on each source, every tenth repeating an author: 198 + 198.
    assert_eq!(job.processed_results, 396);
    assert!(job.note.unwrap().contains("ran out"));
    let stats = app.simulator_stats().await;
    assert_eq!(stats["calls"]["instagram/search"], 11, "Instagram serves 11 pages of a query");
    assert_eq!(stats["calls"]["instagram/reels"], 11);

    // With expansion (the default) the same single keyword reaches the target.
    let job_id = app.start_search_on("instagram", &campaign, &["macrame"], 1000).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    assert!(job.note.unwrap().starts_with("added #"));
}

async fn instagram_faults_delay_or_end_the_search(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Flaky Insta").await;
    app.add_fault(json!({"status": 429, "count": 1, "retryAfter": 1, "endpoint": "instagram/reels"})).await;
    app.add_fault(json!({"status": 500, "count": 1, "endpoint": "instagram/search"})).await;
    app.add_fault(json!({"status": 429, "count": 2, "retryAfter": 1, "endpoint": "instagram/profile"})).await;
    let job_id = app.start_search_on("instagram", &campaign, &["surfing", "skate"], 1000).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    assert_eq!(app.simulator_stats().await["pendingFaults"], 0);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.len() as u32, job.processed_results);
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), rows.len());

    app.add_fault(json!({"status": 402, "count": 1, "endpoint": "instagram/profile"})).await;
    let job_id = app.start_search_on("instagram", &campaign, &["climbing"], 1000).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("out of credits"));

    app.add_fault(json!({"status": 401, "count": 1, "endpoint": "instagram/search"})).await;
    let job_id = app.start_search_on("instagram", &campaign, &["bouldering"], 1000).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("API key"));
}

async fn an_instagram_search_survives_a_restart(backend: Backend) {
    let mut app = crate::helpers::spawn_app_with(backend, &[("SIMULATOR_LATENCY_MS", "10")]).await;
    let campaign = app.create_campaign("Crashy Insta").await;
    let job_id = app.start_search_on("instagram", &campaign, &["ceramics", "pottery", "glazing"], 1000).await;
    app.wait_until(&job_id, LIMIT, |j| j.processed_results >= 200).await;

    app.crash();
    app.restart().await;

    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.len(), 1000);
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 1000);
}
