//! "Similar to @creator" searches: Instagram walks related profiles; TikTok and YouTube search the
//! keywords the account describes itself with. Never the account itself, never a creator twice.

use crate::helpers::{assert_completed, spawn_app, spawn_app_with, Backend};
use scout::shared::{JobStatus, Platform, SearchKind, Stage};
use serde_json::json;
use std::{collections::HashSet, time::Duration};

const LIMIT: Duration = Duration::from_secs(180);

crate::on_both_databases!(
    instagram_similar_walks_related_profiles,
    tiktok_and_youtube_similar_search_the_accounts_topics,
    an_unknown_account_ends_the_search_with_a_readable_message,
    a_similar_search_survives_a_restart,
    similar_searches_run_dry_or_fail_like_any_search,
    a_similar_search_shows_processing_while_it_looks_up_the_last_creators,
    every_similar_search_handles_every_provider_answer,
);

async fn instagram_similar_walks_related_profiles(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Like Maya").await;
    // The original system's alias, with a profile URL as the account.
    let job_id = app
        .start_search_with(
            "instagram-similar",
            json!({"campaignId": campaign, "targetUsername": "https://www.instagram.com/maya.pilates7/", "targetResults": 300}),
        )
        .await;

    let job = app.wait_for_terminal(&job_id, LIMIT).await;

    assert_completed(&job);
    assert_eq!((job.platform, job.kind, job.stage), (Platform::Instagram, SearchKind::Similar, Some(Stage::Completed)));
    assert_eq!(job.target_username.as_deref(), Some("maya.pilates7"));
    assert_eq!(job.processed_results, 300);
    let rows = app.csv_rows(&campaign, &job_id).await;
    let handles: HashSet<&str> = rows.iter().map(|r| &r[0]).collect();
    assert_eq!(handles.len(), 300, "no creator twice");
    assert!(!handles.contains("maya.pilates7"), "never the account itself");
    assert!(rows.iter().all(|r| !r[6].is_empty() && r[3].parse::<i64>().unwrap() > 0), "visited profiles are complete");
    // One profile call per creator and one for the account: the walk needs no separate lookups.
    let stats = app.simulator_stats().await;
    assert!(stats["calls"]["instagram/profile"].as_u64().unwrap() <= 301 + 8, "{stats}");

    // A related profile that vanished is a dead end of the walk, not a failure.
    let profile = app.simulator_get("/v1/instagram/profile?handle=ava.yoga4").await;
    let gone = profile["data"]["user"]["edge_related_profiles"]["edges"][0]["node"]["username"].as_str().unwrap().to_string();
    app.add_fault(json!({"status": 404, "count": 1000, "endpoint": "instagram/profile", "target": gone})).await;
    let job_id =
        app.start_search_with("instagram", json!({"campaignId": campaign, "targetUsername": "ava.yoga4", "targetResults": 200})).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    assert_eq!(job.processed_results, 200);
    assert!(app.csv_rows(&campaign, &job_id).await.iter().all(|r| r[0] != gone));
}

async fn tiktok_and_youtube_similar_search_the_accounts_topics(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Like these").await;
    for (platform, account) in [("tiktok", "https://www.tiktok.com/@maya.pilates7"), ("youtube", "@maya.pilates7")] {
        let job_id =
            app.start_search_with(platform, json!({"campaignId": campaign, "targetUsername": account, "targetResults": 200})).await;
        let job = app.wait_for_terminal(&job_id, LIMIT).await;
        assert_completed(&job);
        assert_eq!(job.kind, SearchKind::Similar);
        assert_eq!(job.processed_results, 200, "{platform}");
        let rows = app.csv_rows(&campaign, &job_id).await;
        assert_eq!(rows.iter().map(|r| &r[2]).collect::<HashSet<_>>().len(), 200, "{platform}: no creator twice");
        assert!(rows.iter().all(|r| &r[0] != "maya.pilates7"), "{platform}: never the account itself");
        // The account's topic, read from its bio (TikTok) or channel tags (YouTube), was searched.
        assert!(rows.iter().any(|r| r[9].contains("pilates")), "{platform}: {:?}", rows.iter().map(|r| &r[9]).collect::<HashSet<_>>());
    }
}

async fn an_unknown_account_ends_the_search_with_a_readable_message(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Nobody").await;
    app.add_fault(json!({"status": 404, "count": 1, "endpoint": "tiktok/profile", "target": "ghost.account"})).await;
    let job_id =
        app.start_search_with("tiktok", json!({"campaignId": campaign, "targetUsername": "@ghost.account", "targetResults": 100})).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("could not find that account"));

    // A rate limit on the account's profile is a pause, not a failure.
    app.add_fault(json!({"status": 429, "count": 1, "retryAfter": 1, "endpoint": "instagram/profile"})).await;
    let job_id =
        app.start_search_with("instagram", json!({"campaignId": campaign, "targetUsername": "zoe.yoga3", "targetResults": 100})).await;
    assert_completed(&app.wait_for_terminal(&job_id, LIMIT).await);
}

async fn similar_searches_run_dry_or_fail_like_any_search(backend: Backend) {
    // Few results per topic: the account's topics run dry below the target.
    let app = spawn_app_with(backend, &[("SIMULATOR_RESULTS_PER_QUERY", "60")]).await;
    let campaign = app.create_campaign("Small world").await;
    let job_id =
        app.start_search_with("tiktok", json!({"campaignId": campaign, "targetUsername": "noah.origami3", "targetResults": 1000})).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    assert!(job.processed_results > 0 && job.processed_results < 1000, "{job:?}");
    assert!(job.note.unwrap().contains("no more similar creators"));
    // On Instagram the related-profile graph runs out (the same knob keeps it to 8 × 7 accounts).
    let job_id =
        app.start_search_with("instagram", json!({"campaignId": campaign, "targetUsername": "noah.origami3", "targetResults": 1000})).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    assert!(job.processed_results > 0 && job.processed_results <= 56, "{job:?}");
    assert!(job.note.unwrap().contains("no more similar creators"));
    assert_eq!(
        app.csv_rows(&campaign, &job_id).await.iter().map(|r| r[0].to_string()).collect::<HashSet<_>>().len() as u32,
        job.processed_results
    );

    // A passing 5xx on the account's channel is retried; running out of credits ends the search.
    app.add_fault(json!({"status": 500, "count": 1, "endpoint": "youtube/channel"})).await;
    let job_id =
        app.start_search_with("youtube", json!({"campaignId": campaign, "targetUsername": "@kai.kayak2", "targetResults": 100})).await;
    assert_completed(&app.wait_for_terminal(&job_id, LIMIT).await);
    app.add_fault(json!({"status": 402, "count": 1, "endpoint": "instagram/profile"})).await;
    let job_id =
        app.start_search_with("instagram", json!({"campaignId": campaign, "targetUsername": "kai.kayak2", "targetResults": 100})).await;
    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_eq!(job.status, JobStatus::Error);
    assert!(job.error.unwrap().contains("out of credits"));
    app.add_fault(json!({"status": 401, "count": 1, "endpoint": "tiktok/profile"})).await;
    let job_id =
        app.start_search_with("tiktok", json!({"campaignId": campaign, "targetUsername": "kai.kayak2", "targetResults": 100})).await;
    assert!(app.wait_for_terminal(&job_id, LIMIT).await.error.unwrap().contains("API key"));
}

async fn a_similar_search_survives_a_restart(backend: Backend) {
    let mut app = spawn_app_with(backend, &[("SIMULATOR_LATENCY_MS", "10")]).await;
    let campaign = app.create_campaign("Crashy walk").await;
    let job_id =
        app.start_search_with("instagram", json!({"campaignId": campaign, "targetUsername": "leo.surf2", "targetResults": 500})).await;
    app.wait_until(&job_id, LIMIT, |j| j.processed_results >= 100).await;

    app.crash();
    app.restart().await;

    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    let rows = app.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.len(), 500);
    assert_eq!(rows.iter().map(|r| &r[0]).collect::<HashSet<_>>().len(), 500);
}

async fn a_similar_search_shows_processing_while_it_looks_up_the_last_creators(backend: Backend) {
    // A step budget (a quarter of the delivery timeout) that outlasts the slow lookups below.
    let app = spawn_app_with(backend, &[("QSTASH_DEV_DELIVERY_TIMEOUT_SECS", "30")]).await;
    let campaign = app.create_campaign("Stages").await;
    // Slow profile lookups (the account's own and the first rounds of creators) keep the step in its
    // last stage for seconds, long enough to be seen; they then answer normally.
    app.add_fault(json!({"status": 200, "delayMs": 1000, "count": 24, "endpoint": "tiktok/profile"})).await;
    let job_id =
        app.start_search_with("tiktok", json!({"campaignId": campaign, "targetUsername": "@maya.pilates7", "targetResults": 100})).await;

    // 100 creators fit in one step: once its pages hold them all, only lookups are left.
    let processing = app.wait_until(&job_id, LIMIT, |j| j.stage == Some(Stage::Processing) || j.status.is_terminal()).await;
    assert_eq!(processing.stage, Some(Stage::Processing), "{processing:?}");
    assert_eq!(processing.status, JobStatus::Processing);
    assert!((10..100).contains(&processing.progress), "{processing:?}");
    assert!(processing.status_text().starts_with("Processing the last creators similar to @maya.pilates7"), "{}", processing.status_text());

    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    assert_eq!((job.stage, job.processed_results), (Some(Stage::Completed), 100));
    assert_eq!(app.csv_rows(&campaign, &job_id).await.iter().map(|r| r[2].to_string()).collect::<HashSet<_>>().len(), 100);

    // A keyword search has no stages.
    let job_id = app.start_search(&campaign, &["pilates"], 1000).await;
    assert_eq!(app.wait_for_terminal(&job_id, LIMIT).await.stage, None);
}

/// Each platform's similar search against 429, 5xx, 402 and 401 on each kind of endpoint it calls:
/// the account's profile (the first profile call) and, for TikTok and YouTube, the keyword search.
async fn every_similar_search_handles_every_provider_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Faults").await;
    let cases = [("tiktok", "profile"), ("tiktok", "search"), ("youtube", "profile"), ("youtube", "search"), ("instagram", "profile")];
    for (platform, endpoint) in cases {
        for (status, outcome) in [(429, None), (500, None), (402, Some("out of credits")), (401, Some("API key"))] {
            app.add_fault(json!({"status": status, "count": 1, "retryAfter": 1, "endpoint": endpoint})).await;
            let job_id = app
                .start_search_with(platform, json!({"campaignId": campaign, "targetUsername": "@zoe.yoga3", "targetResults": 100}))
                .await;
            let job = app.wait_for_terminal(&job_id, LIMIT).await;
            let case = format!("{platform} {endpoint} {status}");
            match outcome {
                // A rate limit is a pause and a passing 5xx a retry: the search completes, no creator twice.
                None => {
                    assert_eq!((job.status, job.processed_results), (JobStatus::Completed, 100), "{case}: {job:?}");
                    let rows = app.csv_rows(&campaign, &job_id).await;
                    assert_eq!(rows.iter().map(|r| r[2].to_string()).collect::<HashSet<_>>().len(), 100, "{case}");
                    assert!(rows.iter().all(|r| &r[0] != "zoe.yoga3"), "{case}: never the account itself");
                }
                // Refusals end the search with a message the marketer can act on.
                Some(says) => {
                    assert_eq!(job.status, JobStatus::Error, "{case}: {job:?}");
                    assert!(job.error.as_deref().unwrap_or_default().contains(says), "{case}: {job:?}");
                }
            }
        }
    }
}
