//! `POST /v2/batch` on the embedded QStash server: every message or none.

use crate::{
    helpers::{spawn_app_with, Backend},
    qstash_timed::*,
};
use axum::http::StatusCode;
use serde_json::{json, Value};

crate::on_both_databases!(batches_store_every_message_or_none);

async fn batches_store_every_message_or_none(backend: Backend) {
    let (public, calls) = spawn_timed_destination().await;
    let app = spawn_app_with(backend, &[("PUBLIC_URL", public.as_str())]).await;
    let batch = |body: Value| app.qstash(reqwest::Method::POST, "/v2/batch").json(&body).send();
    let stored = || async {
        let pool = app.db().await;
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM qstash_messages").fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    };

    // As the JS SDK sends it (headers with their options), and as the Python one does (nulls).
    let response = batch(json!([
        {"destination": format!("{public}/batch/a"), "headers": {"upstash-forward-x-trace": "t-a", "content-type": "text/plain"}, "body": "a"},
        {"destination": format!("{public}/batch/b"), "headers": {"Upstash-Deduplication-Id": "same"}, "body": "b", "queue": "batched"},
        {"destination": format!("{public}/batch/c"), "headers": {"Upstash-Deduplication-Id": "same"}, "body": "c"},
        {"destination": format!("{public}/batch/d"), "headers": {}, "body": null, "queue": null},
    ]))
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answers: Value = response.json().await.unwrap();
    let answers = answers.as_array().unwrap();
    assert_eq!(answers.len(), 4);
    assert_eq!(answers[0]["url"], format!("{public}/batch/a"));
    assert_eq!(answers[2]["deduplicated"], true, "the same deduplication id twice in one batch is one message");
    assert_eq!(answers[2]["messageId"], answers[1]["messageId"]);
    for answer in [&answers[0], &answers[1], &answers[3]] {
        app.wait_for_message_state(answer["messageId"].as_str().unwrap(), "delivered").await;
    }
    let a = calls_to(&calls, "/batch/a");
    assert_eq!(a[0].headers["x-trace"], "t-a");
    assert_eq!(a[0].headers["content-type"], "text/plain");
    assert_eq!(app.qstash_message_json(answers[1]["messageId"].as_str().unwrap()).await["queueName"], "batched");
    assert!(calls_to(&calls, "/batch/c").is_empty());

    // One bad message refuses the whole batch, and nothing of it is stored.
    let before = stored().await;
    for (body, why) in [
        (
            json!([{"destination": format!("{public}/batch/e"), "body": "e"}, {"destination": "http://169.254.169.254/", "body": "x"}]),
            "foreign",
        ),
        (json!([{"destination": format!("{public}/batch/e"), "headers": {"Upstash-Delay": "soon"}}]), "bad option"),
        (json!([{"destination": format!("{public}/batch/e"), "queue": "no queue"}]), "bad queue name"),
        (json!([{"destination": "not a url"}]), "not a URL"),
        (json!([{"destination": format!("{public}/batch/e"), "header": {}}]), "unknown field"),
        (json!([]), "empty"),
        (json!({"destination": format!("{public}/batch/e")}), "not an array"),
    ] {
        let response = batch(body).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{why}");
        assert!(response.json::<Value>().await.unwrap()["error"].is_string(), "{why}");
    }
    assert_eq!(stored().await, before);
}
