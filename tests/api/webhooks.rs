//! QStash's side of the contract: signed, at-least-once deliveries.

use crate::helpers::{assert_completed, spawn_app, spawn_app_with, Backend};
use scout::{
    config::{DEV_CURRENT_SIGNING_KEY, DEV_QSTASH_TOKEN, SIMULATOR_API_KEY},
    qstash::signing::sign,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use serde_json::{json, Value};
use std::time::Duration;

crate::on_both_databases!(
    the_same_step_delivered_twice_adds_nothing,
    a_forged_delivery_changes_nothing,
    webhook_bodies_are_checked,
    the_embedded_qstash_server_speaks_the_qstash_api,
    a_replayed_delivery_token_is_refused,
    a_step_near_the_largest_number_is_ignored,
    a_failure_callback_cannot_end_a_job_that_moved_on,
    a_step_finishes_when_its_caller_goes_away,
);

const LIMIT: Duration = Duration::from_secs(180);

async fn the_same_step_delivered_twice_adds_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Twice").await;
    let job_id = app.start_search(&campaign, &["coffee"], 1000).await;
    // QStash may deliver any step twice: publish step 0 again through the embedded QStash, without
    // a deduplication id, so two deliveries of it race.
    let response = app
        .client
        .post(app.url(&format!("/v2/publish/{}", app.url("/api/qstash/process-scraping"))))
        .bearer_auth(DEV_QSTASH_TOKEN)
        .header("content-type", "application/json")
        .body(json!({"jobId": job_id, "step": 0}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let job = app.wait_for_terminal(&job_id, LIMIT).await;
    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    let stored = app.scalar("SELECT COUNT(*) FROM creators WHERE job_id = $1", &job_id).await;
    assert_eq!(stored, 1000);
    let runs_in_lanes = app.scalar("SELECT CAST(SUM(runs) AS BIGINT) FROM job_lanes WHERE job_id = $1", &job_id).await;
    assert_eq!(runs_in_lanes, job.processed_runs as i64, "each step counted once");

    // Every step delivered once more, all at once: each is acknowledged and nothing changes.
    let steps = app.scalar("SELECT step FROM scraping_jobs WHERE id = $1", &job_id).await;
    let bodies: Vec<String> = (0..steps).map(|step| json!({"jobId": job_id, "step": step}).to_string()).collect();
    let replies = futures::future::join_all(bodies.iter().map(|body| app.deliver_signed("/api/qstash/process-scraping", body))).await;
    for reply in replies {
        assert_eq!(reply.status(), 200);
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["status"], "ignored", "{body}");
    }
    let after = app.job(&job_id).await;
    assert_eq!(after, job);
    assert_eq!(app.scalar("SELECT COUNT(*) FROM creators WHERE job_id = $1", &job_id).await, 1000);
}

async fn a_forged_delivery_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Forged").await;
    // Park the job: the provider rate-limits step 0 for an hour.
    app.add_fault(json!({"status": 429, "count": 1, "retryAfter": 3600, "endpoint": "search"})).await;
    let job_id = app.start_search(&campaign, &["yoga"], 1000).await;
    app.wait_until(&job_id, LIMIT, |_| true).await;
    let pool = app.db().await;
    let parked = || async {
        let row: (i64, String, i64, i64) =
            sqlx::query_as("SELECT step, status, processed_results, retry_count FROM scraping_jobs WHERE id = $1")
                .bind(&job_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        row
    };
    let deadline = std::time::Instant::now() + LIMIT;
    while parked().await.3 == 0 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = parked().await;
    assert_eq!(before.0, 0, "still at step 0");

    let url = app.url("/api/qstash/process-scraping");
    let body = json!({"jobId": job_id, "step": 0}).to_string();
    let now = chrono::Utc::now().timestamp();
    let forgeries = [
        None,
        Some("garbage".to_string()),
        Some(sign("sig_not_our_key", &url, body.as_bytes(), now, "x")),
        Some(sign(scout::config::DEV_CURRENT_SIGNING_KEY, &url, b"{\"jobId\":\"other\",\"step\":0}", now, "x")),
        Some(sign(scout::config::DEV_CURRENT_SIGNING_KEY, "https://evil.example/api/qstash/process-scraping", body.as_bytes(), now, "x")),
        Some(sign(scout::config::DEV_CURRENT_SIGNING_KEY, &url, body.as_bytes(), now - 3600, "x")),
    ];
    for signature in forgeries {
        let mut request = app.client.post(&url).header("content-type", "application/json").body(body.clone());
        if let Some(signature) = &signature {
            request = request.header("Upstash-Signature", signature);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{signature:?}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"].as_str().unwrap().contains("Signature"));
    }
    assert_eq!(parked().await, before, "forged deliveries changed nothing");
    assert_eq!(app.scalar("SELECT COUNT(*) FROM creators WHERE job_id = $1", &job_id).await, 0);

    // The same delivery, properly signed, does the work.
    let response = app.deliver_signed("/api/qstash/process-scraping", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "advanced");
    assert_eq!(parked().await.0, 1);
    pool.close().await;
}

async fn webhook_bodies_are_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.deliver_signed("/api/qstash/process-scraping", "not json").await;
    assert_eq!(response.status(), 400);
    assert!(response.json::<Value>().await.unwrap()["error"].is_string());
    let response = app.deliver_signed("/api/qstash/process-scraping", r#"{"jobId": 5}"#).await;
    assert_eq!(response.status(), 400);
    let big = format!(r#"{{"jobId": "{}", "step": 0}}"#, "x".repeat(1024 * 1024 + 10));
    let response = app.deliver_signed("/api/qstash/process-scraping", &big).await;
    assert_eq!(response.status(), 413);
    assert!(response.json::<Value>().await.unwrap()["error"].is_string());
    // An unknown job is acknowledged (so QStash stops) and ignored.
    let response = app.deliver_signed("/api/qstash/process-scraping", r#"{"jobId": "nope", "step": 0}"#).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ignored");
    // The original system's body, `{"jobId"}` without a step, means the job's current step.
    let campaign = app.create_campaign("Seed body").await;
    app.add_fault(json!({"status": 429, "count": 1, "retryAfter": 3600, "endpoint": "search"})).await;
    let job_id = app.start_search(&campaign, &["tea"], 1000).await;
    let deadline = std::time::Instant::now() + LIMIT;
    while app.scalar("SELECT retry_count FROM scraping_jobs WHERE id = $1", &job_id).await == 0 {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let response = app.deliver_signed("/api/qstash/process-scraping", &json!({"jobId": job_id}).to_string()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "advanced");
    assert_eq!(app.scalar("SELECT step FROM scraping_jobs WHERE id = $1", &job_id).await, 1);
    // The failure callback is signed too.
    let response = app.client.post(app.url("/api/qstash/failed")).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 401);
}

async fn the_embedded_qstash_server_speaks_the_qstash_api(backend: Backend) {
    let app = spawn_app(backend).await;
    let keys: Value = app.client.get(app.url("/v2/keys")).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(keys["current"], scout::config::DEV_CURRENT_SIGNING_KEY);
    assert_eq!(keys["next"], scout::config::DEV_NEXT_SIGNING_KEY);
    assert_eq!(app.client.get(app.url("/v2/keys")).send().await.unwrap().status(), 401);

    // Deduplication: the same id twice yields one message.
    let publish = |dedup: &'static str| {
        app.client
            .post(app.url(&format!("/v2/publish/{}", app.url("/healthz"))))
            .bearer_auth(DEV_QSTASH_TOKEN)
            .header("Upstash-Deduplication-Id", dedup)
            .header("Upstash-Delay", "1h")
            .body("{}")
            .send()
    };
    let first: Value = publish("same").await.unwrap().json().await.unwrap();
    let second: Value = publish("same").await.unwrap().json().await.unwrap();
    assert_eq!(first["messageId"], second["messageId"]);
    assert_eq!(second["deduplicated"], true);
    let message: Value = app
        .client
        .get(app.url(&format!("/v2/messages/{}", first["messageId"].as_str().unwrap())))
        .bearer_auth(DEV_QSTASH_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(message["state"], "pending");
    assert!(message["notBefore"].as_i64().unwrap() > chrono::Utc::now().timestamp_millis() + 3_500_000);

    let bad = app.client.post(app.url("/v2/publish/not%20a%20url")).bearer_auth(DEV_QSTASH_TOKEN).body("{}").send().await.unwrap();
    assert_eq!(bad.status(), 400);
    // A name is a URL group's, which must exist.
    let no_group = app.client.post(app.url("/v2/publish/no-such-group")).bearer_auth(DEV_QSTASH_TOKEN).body("{}").send().await.unwrap();
    assert_eq!(no_group.status(), 404);
    // The embedded server is not an open relay: it only delivers to this app.
    let foreign = app
        .client
        .post(app.url("/v2/publish/http://169.254.169.254/latest/meta-data"))
        .bearer_auth(DEV_QSTASH_TOKEN)
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 400);
    // Nor can a callback be pointed elsewhere, nor a delay overflow the schedule.
    for (name, value) in [
        ("Upstash-Callback", "http://169.254.169.254/latest/meta-data"),
        ("Upstash-Failure-Callback", "https://evil.example/collect"),
        ("Upstash-Not-Before", "9223372036854775807"),
    ] {
        let refused = app
            .client
            .post(app.url(&format!("/v2/publish/{}", app.url("/healthz"))))
            .bearer_auth(DEV_QSTASH_TOKEN)
            .header(name, value)
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 400, "{name}: {value}");
    }
    let unauthorized = app.client.post(app.url("/simulator/scrapecreators/_faults")).json(&json!({"status": 402})).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
    // Without SIMULATOR_FAULTS the hook does not exist (the demo key is public), and the searches it
    // could have slowed are untouched.
    let demo = crate::helpers::spawn_app_with(backend, &[("SIMULATOR_FAULTS", "false")]).await;
    let hook = demo
        .client
        .post(demo.url("/simulator/scrapecreators/_faults"))
        .header("x-api-key", SIMULATOR_API_KEY)
        .json(&json!({"status": 200, "delayMs": 60000, "count": 1000}))
        .send()
        .await
        .unwrap();
    assert_ne!(hook.status(), 204);
    assert!(hook.status().is_client_error(), "{}", hook.status());
    // The simulator wants its key, like the real API.
    let denied = app.client.get(app.url("/simulator/scrapecreators/v1/tiktok/profile?handle=a")).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    let allowed = app
        .client
        .get(app.url("/simulator/scrapecreators/v1/tiktok/profile?handle=maya.fit1"))
        .header("x-api-key", SIMULATOR_API_KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(allowed.status(), 200);
}

async fn a_replayed_delivery_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let url = app.url("/api/qstash/process-scraping");
    let body = r#"{"jobId":"nope","step":0}"#;
    let token = sign(scout::config::DEV_CURRENT_SIGNING_KEY, &url, body.as_bytes(), chrono::Utc::now().timestamp(), "jwt_captured");
    let deliver = || app.anonymous.post(&url).header("Upstash-Signature", &token).header("content-type", "application/json").body(body).send();
    let first = deliver().await.unwrap();
    assert_eq!(first.status(), 200, "the first delivery is taken");
    let replay = deliver().await.unwrap();
    assert_eq!(replay.status(), 401);
    assert!(replay.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("already received"));
    // QStash's retry of the same message carries a fresh token and is taken.
    assert_eq!(app.deliver_signed("/api/qstash/process-scraping", body).await.status(), 200);
}

async fn a_step_near_the_largest_number_is_ignored(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Huge step").await;
    let job_id = app.start_search(&campaign, &["tea"], 1000).await;
    let body = format!(r#"{{"jobId":"{job_id}","step":{}}}"#, i64::MAX);
    let response = app.deliver_signed("/api/qstash/process-scraping", &body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ignored");
    assert_completed(&app.wait_for_terminal(&job_id, LIMIT).await);
}

async fn a_failure_callback_cannot_end_a_job_that_moved_on(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Moved on").await;
    // Held at step 0 by a long provider pause, so the test decides when it moves.
    app.add_fault(json!({"status": 429, "count": 1000, "retryAfter": 3600, "endpoint": "search"})).await;
    let job_id = app.start_search(&campaign, &["tea"], 1000).await;
    app.wait_until(&job_id, LIMIT, |j| j.waiting_reason.is_some()).await;
    let step = app.scalar("SELECT step FROM scraping_jobs WHERE id = $1", &job_id).await;
    let db = app.db().await;
    // The job's step advances between the callback's read and its write: the write is guarded by
    // the step it read, so a job that moved on is not ended.
    let mut conn = db.acquire().await.unwrap();
    sqlx::query("UPDATE scraping_jobs SET step = step + 1 WHERE id = $1").bind(&job_id).execute(&mut *conn).await.unwrap();
    let ended = scout::db::jobs::finish(&mut conn, &job_id, scout::shared::JobStatus::Error, Some("x"), Some(step)).await.unwrap();
    assert!(!ended, "a stale step cannot end the job");
    let source = STANDARD.encode(format!(r#"{{"jobId":"{job_id}","step":{step}}}"#));
    let stale = app.deliver_signed("/api/qstash/failed", &json!({"sourceBody": source, "status": 500}).to_string()).await;
    assert_eq!(stale.json::<Value>().await.unwrap()["status"], "ignored");
    assert!(!app.job(&job_id).await.status.is_terminal());
    let current = STANDARD.encode(format!(r#"{{"jobId":"{job_id}","step":{}}}"#, step + 1));
    let failed = app.deliver_signed("/api/qstash/failed", &json!({"sourceBody": current, "status": 500}).to_string()).await;
    assert_eq!(failed.json::<Value>().await.unwrap()["status"], "failed");
}

async fn a_step_finishes_when_its_caller_goes_away(backend: Backend) {
    // With several instances, the instance whose delivery called a step may die while another runs
    // it, and the balancer then drops the call: the step must still save what it paid for. Here the
    // search's own step message is delayed a minute by a 429 and cancelled, so the one delivery is
    // ours, and it hangs up after half a second, long before the step (300 ms calls) can end.
    let app = spawn_app_with(backend, &[("SIMULATOR_LATENCY_MS", "300")]).await;
    app.add_fault(json!({"status": 429, "count": 1, "retryAfter": 60, "endpoint": "search"})).await;
    let campaign = app.create_campaign("Caller gone").await;
    let job_id = app.start_search(&campaign, &["origami"], 1000).await;
    let pool = app.db().await;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let delayed = loop {
        let row: Option<(String,)> = sqlx::query_as("SELECT id FROM qstash_messages WHERE state = 'pending' AND not_before > $1")
            .bind(scout::db::now_ms() + 30_000)
            .fetch_optional(&pool)
            .await
            .unwrap();
        if let Some((id,)) = row {
            break id;
        }
        assert!(std::time::Instant::now() < deadline, "the rate-limited step was never re-queued");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let cancelled = app.client.delete(app.url(&format!("/v2/messages/{delayed}"))).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap();
    assert!(cancelled.status().is_success(), "{}", cancelled.status());

    let body = json!({"jobId": job_id, "step": 0}).to_string();
    let url = app.url("/api/qstash/process-scraping");
    let token = sign(DEV_CURRENT_SIGNING_KEY, &url, body.as_bytes(), chrono::Utc::now().timestamp(), "jwt_caller_gone");
    let call = app
        .client
        .post(&url)
        .header("Upstash-Signature", token)
        .header("content-type", "application/json")
        .timeout(Duration::from_millis(500))
        .body(body)
        .send()
        .await;
    assert!(call.is_err_and(|e| e.is_timeout()), "the caller hung up before the step ended");

    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (step, saved, message) = loop {
        let (step, saved, message): (i64, i64, Option<String>) =
            sqlx::query_as("SELECT step, processed_results, qstash_message_id FROM scraping_jobs WHERE id = $1")
                .bind(&job_id)
                .fetch_one(&pool)
                .await
                .unwrap();
        if step > 0 || std::time::Instant::now() > deadline {
            break (step, saved, message);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    pool.close().await;
    assert_eq!(step, 1, "the step ran to its end and committed");
    assert!(saved > 0, "what it found was saved");
    assert!(message.is_some_and(|m| m != delayed), "and it published the next step");
}
