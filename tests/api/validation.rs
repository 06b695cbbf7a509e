//! Bad input gets a clear JSON error with the right status, never a panic or a 500.

use crate::helpers::{spawn_app, Backend};
use serde_json::{json, Value};

crate::on_both_databases!(
    search_requests_are_validated,
    search_routes_name_a_platform_and_a_kind,
    status_and_results_requests_are_validated,
    campaigns_are_validated
);

async fn error_of(response: reqwest::Response, status: u16) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.expect("JSON error body");
    body["error"].as_str().expect("an error message").to_string()
}

async fn search_requests_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Valid").await;
    let long = "k".repeat(101);
    let eleven: Vec<String> = (0..11).map(|i| format!("kw{i}")).collect();
    let cases = [
        (json!({"campaignId": campaign, "keywords": [], "targetResults": 1000}), "keyword"),
        (json!({"campaignId": campaign, "keywords": ["  "], "targetResults": 1000}), "keyword"),
        (json!({"campaignId": campaign, "keywords": eleven, "targetResults": 1000}), "at most 10"),
        (json!({"campaignId": campaign, "keywords": [long], "targetResults": 1000}), "100 characters"),
        (json!({"campaignId": campaign, "keywords": ["a"], "targetResults": 999}), "between 1000 and 5000"),
        (json!({"campaignId": campaign, "keywords": ["a"], "targetResults": 5001}), "between 1000 and 5000"),
        (json!({"campaignId": campaign, "keywords": ["a"], "targetResults": "lots"}), "number"),
        (json!({"campaignId": campaign, "keywords": ["a"], "targetResults": 1500.5}), "whole number"),
        (json!({"campaignId": campaign, "keywords": ["a"]}), "required"),
        (json!({"keywords": ["a"], "targetResults": 1000}), "campaignId"),
        (json!({"campaignId": campaign, "keywords": "a", "targetResults": 1000}), "Invalid JSON"),
    ];
    for (body, expected) in cases {
        let message = error_of(app.post_json("/api/scraping/tiktok", &body).await, 400).await;
        assert!(message.contains(expected), "{body} → {message}");
    }
    let message = error_of(
        app.post_json("/api/scraping/tiktok", &json!({"campaignId": "missing", "keywords": ["a"], "targetResults": 1000})).await,
        404,
    )
    .await;
    assert!(message.contains("Campaign"));
    let response =
        app.client.post(app.url("/api/scraping/tiktok")).header("content-type", "application/json").body("{").send().await.unwrap();
    error_of(response, 400).await;
    let response = app.client.post(app.url("/api/scraping/tiktok")).body("keywords=a").send().await.unwrap();
    assert!(error_of(response, 400).await.contains("JSON"));
    // A string target that is a number is accepted, as the original API did.
    let ok = app.post_json("/api/scraping/tiktok", &json!({"campaignId": campaign, "keywords": ["a"], "targetResults": "2000"})).await;
    assert_eq!(ok.status(), 200);
}

async fn search_routes_name_a_platform_and_a_kind(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Routes").await;
    let keywords = json!({"campaignId": campaign, "keywords": ["a"], "targetResults": 1000});
    assert!(error_of(app.post_json("/api/scraping/myspace", &keywords).await, 404).await.contains("tiktok, instagram or youtube"));
    assert!(error_of(app.get("/api/scraping/myspace?jobId=x").await, 404).await.contains("platform"));
    let both = json!({"campaignId": campaign, "keywords": ["a"], "targetUsername": "maya", "targetResults": 1000});
    assert!(error_of(app.post_json("/api/scraping/tiktok", &both).await, 400).await.contains("not both"));
    let neither = json!({"campaignId": campaign, "targetResults": 1000});
    assert!(error_of(app.post_json("/api/scraping/tiktok", &neither).await, 400).await.contains("targetUsername"));
    // The -similar alias is a similar search: keywords there are a mistake.
    assert!(error_of(app.post_json("/api/scraping/tiktok-similar", &keywords).await, 400).await.contains("targetUsername"));
    let similar = |username: &str, target: u32| json!({"campaignId": campaign, "targetUsername": username, "targetResults": target});
    assert!(error_of(app.post_json("/api/scraping/tiktok", &similar("maya", 1100)).await, 400).await.contains("between 100 and 1000"));
    assert!(error_of(app.post_json("/api/scraping/tiktok", &similar("https://evil.example/@maya", 100)).await, 400)
        .await
        .contains("TikTok profile"));
    // Nothing was started by any of these.
    let detail: Value = app.get(&format!("/api/campaigns/{campaign}")).await.json().await.unwrap();
    assert_eq!(detail["jobs"], json!([]));
    assert_eq!(detail["status"], "draft");
}

async fn status_and_results_requests_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(error_of(app.get("/api/scraping/tiktok").await, 400).await.contains("jobId"));
    assert!(error_of(app.get("/api/scraping/tiktok?jobId=").await, 400).await.contains("jobId"));
    error_of(app.get("/api/scraping/tiktok?jobId=unknown").await, 404).await;
    error_of(app.get("/api/jobs/unknown/progress").await, 404).await;
    error_of(app.get("/api/jobs/unknown/creators").await, 404).await;
    let campaign = app.create_campaign("Results").await;
    let job_id = app.start_search(&campaign, &["a"], 1000).await;
    assert!(error_of(app.get(&format!("/api/jobs/{job_id}/creators?sort=name")).await, 400).await.contains("sort"));
    assert!(error_of(app.get(&format!("/api/jobs/{job_id}/creators?page=0")).await, 400).await.contains("page"));
    assert!(error_of(app.get(&format!("/api/jobs/{job_id}/creators?page=x")).await, 400).await.contains("page"));
    assert!(error_of(app.get(&format!("/api/jobs/{job_id}/creators?hasEmail=maybe")).await, 400).await.contains("hasEmail"));
    error_of(app.get("/api/campaigns/unknown/export.csv").await, 404).await;
    error_of(app.get(&format!("/api/campaigns/{campaign}/export.csv?jobId=unknown")).await, 404).await;
}

async fn campaigns_are_validated(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(error_of(app.post_json("/api/campaigns", &json!({"name": "  "})).await, 400).await.contains("name"));
    assert!(error_of(app.post_json("/api/campaigns", &json!({})).await, 400).await.contains("name"));
    error_of(app.post_json("/api/campaigns", &json!({"name": "n".repeat(101)})).await, 400).await;
    error_of(app.post_json("/api/campaigns", &json!({"name": 5})).await, 400).await;
    error_of(app.get("/api/campaigns/unknown").await, 404).await;
}
