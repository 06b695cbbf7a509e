//! Per-member limits: searches in flight, searches per day, provider credits per month; admins set
//! a member's own. Over a limit a start answers 429 with a sentence, and nothing is started.

use crate::helpers::{spawn_app, spawn_app_with, Backend, Member, TestApp};
use crate::on_both_databases;
use serde_json::{json, Value};
use std::time::Duration;

on_both_databases!(
    the_fourth_search_in_flight_waits_for_a_place,
    concurrent_starts_cannot_squeeze_past_the_limit,
    searches_per_day_free_up_when_the_day_turns,
    credits_per_month_stop_new_searches,
    admins_set_a_members_own_limits,
);

async fn campaign(app: &TestApp, member: &Member) -> String {
    let response = member.client.post(app.url("/api/campaigns")).json(&json!({"name": "Limits"})).send().await.unwrap();
    response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
}

async fn start(app: &TestApp, member: &Member, campaign_id: &str) -> reqwest::Response {
    member
        .client
        .post(app.url("/api/scraping/tiktok"))
        .json(&json!({"campaignId": campaign_id, "keywords": ["pilates"], "targetResults": 1000}))
        .send()
        .await
        .unwrap()
}

/// Every search page is rate-limited for an hour, so searches stay in flight.
async fn hold_searches(app: &TestApp) {
    app.add_fault(json!({"status": 429, "count": 1000, "retryAfter": 3600, "endpoint": "search"})).await;
}

async fn runs(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM scraping_jobs").fetch_one(&app.db().await).await.unwrap();
    n
}

async fn the_fourth_search_in_flight_waits_for_a_place(backend: Backend) {
    let app = spawn_app(backend).await;
    hold_searches(&app).await;
    let maya = app.add_account("maya@scout.test", "member").await;
    let campaign_id = campaign(&app, &maya).await;
    let mut jobs = Vec::new();
    for _ in 0..3 {
        let started = start(&app, &maya, &campaign_id).await;
        assert_eq!(started.status(), 200);
        jobs.push(started.json::<Value>().await.unwrap()["jobId"].as_str().unwrap().to_string());
    }
    let refused = start(&app, &maya, &campaign_id).await;
    assert_eq!(refused.status(), 429);
    let message = refused.json::<Value>().await.unwrap()["error"].as_str().unwrap().to_string();
    assert!(message.contains("3 searches running") && message.contains("cancel one"), "{message}");
    assert_eq!(runs(&app).await, 3);
    let limits: Value = maya.client.get(app.url("/api/limits")).send().await.unwrap().json().await.unwrap();
    assert_eq!(limits["runsInFlight"], json!({"used": 3, "limit": 3, "resetsAt": null}));

    // Another member has places of their own.
    let bo = app.add_account("bo@scout.test", "member").await;
    let theirs = campaign(&app, &bo).await;
    assert_eq!(start(&app, &bo, &theirs).await.status(), 200);
    // A cancelled search frees its place.
    let cancel = maya.client.post(app.url(&format!("/api/jobs/{}/cancel", jobs[0]))).send().await.unwrap();
    assert_eq!(cancel.status(), 200);
    assert_eq!(start(&app, &maya, &campaign_id).await.status(), 200);
}

async fn concurrent_starts_cannot_squeeze_past_the_limit(backend: Backend) {
    let app = spawn_app(backend).await;
    hold_searches(&app).await;
    let maya = app.add_account("maya@scout.test", "member").await;
    let campaign_id = campaign(&app, &maya).await;
    let attempts = futures::future::join_all((0..6).map(|_| start(&app, &maya, &campaign_id))).await;
    let statuses: Vec<u16> = attempts.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 3, "{statuses:?}");
    assert_eq!(runs(&app).await, 3);
}

async fn searches_per_day_free_up_when_the_day_turns(backend: Backend) {
    // A "day" of 3 seconds, so the test does not wait for midnight.
    let app = spawn_app_with(backend, &[("SCOUT_LIMIT_SEARCHES_PER_DAY", "2"), ("SCOUT_LIMIT_DAY_SECS", "3"), ("SCOUT_LIMIT_RUNS_IN_FLIGHT", "0")]).await;
    hold_searches(&app).await;
    let maya = app.add_account("maya@scout.test", "member").await;
    let campaign_id = campaign(&app, &maya).await;
    let mut refused = None;
    // Two fit in one window; the third is refused (unless the window turned in between: try again).
    for _ in 0..3 {
        let (a, b, c) = (start(&app, &maya, &campaign_id).await, start(&app, &maya, &campaign_id).await, start(&app, &maya, &campaign_id).await);
        if a.status() == 200 && b.status() == 200 && c.status() == 429 {
            refused = Some(c);
            break;
        }
    }
    let refused = refused.expect("the third search in one window is refused");
    let wait: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3).contains(&wait), "{wait}");
    assert!(refused.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("2 searches today, your daily limit"));
    tokio::time::sleep(Duration::from_secs(wait) + Duration::from_millis(200)).await;
    assert_eq!(start(&app, &maya, &campaign_id).await.status(), 200, "a new day");
}

async fn credits_per_month_stop_new_searches(backend: Backend) {
    let app = spawn_app_with(backend, &[("SCOUT_LIMIT_CREDITS_PER_MONTH", "10")]).await;
    let maya = app.add_account("maya@scout.test", "member").await;
    let campaign_id = campaign(&app, &maya).await;
    let started = start(&app, &maya, &campaign_id).await;
    assert_eq!(started.status(), 200);
    let job_id = started.json::<Value>().await.unwrap()["jobId"].as_str().unwrap().to_string();
    let job = app.wait_for_terminal(&job_id, Duration::from_secs(120)).await;
    assert!(job.credits_used > 10, "{}", job.credits_used);
    let refused = start(&app, &maya, &campaign_id).await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let message = refused.json::<Value>().await.unwrap()["error"].as_str().unwrap().to_string();
    assert!(message.contains(&format!("{} of your 10 provider credits this month", job.credits_used)), "{message}");
    let limits: Value = maya.client.get(app.url("/api/limits")).send().await.unwrap().json().await.unwrap();
    assert_eq!(limits["creditsThisMonth"]["limit"], 10);
}

async fn admins_set_a_members_own_limits(backend: Backend) {
    let app = spawn_app(backend).await;
    hold_searches(&app).await;
    let maya = app.add_account("maya@scout.test", "member").await;
    let path = format!("/api/users/{}", maya.id);
    let set = app.client.patch(app.url(&path)).json(&json!({"limits": {"runsInFlight": 1}})).send().await.unwrap();
    assert_eq!(set.status(), 200);
    assert_eq!(set.json::<Value>().await.unwrap()["limits"]["runsInFlight"], 1);
    let campaign_id = campaign(&app, &maya).await;
    assert_eq!(start(&app, &maya, &campaign_id).await.status(), 200);
    assert!(start(&app, &maya, &campaign_id).await.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("1 search running"));
    // 0 lifts the limit; members cannot change their own; negative numbers are refused.
    assert_eq!(app.client.patch(app.url(&path)).json(&json!({"limits": {"runsInFlight": 0}})).send().await.unwrap().status(), 200);
    assert_eq!(start(&app, &maya, &campaign_id).await.status(), 200);
    assert_eq!(maya.client.patch(app.url(&path)).json(&json!({"limits": {"runsInFlight": 99}})).send().await.unwrap().status(), 403);
    assert_eq!(app.client.patch(app.url(&path)).json(&json!({"limits": {"runsInFlight": -1}})).send().await.unwrap().status(), 400);
    let limits: Value = maya.client.get(app.url("/api/limits")).send().await.unwrap().json().await.unwrap();
    assert_eq!(limits["runsInFlight"]["limit"], Value::Null);
}
