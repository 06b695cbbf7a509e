//! URL groups (QStash's topics) on the embedded QStash server: a publish to the name reaches every
//! endpoint; groups are bounded.

use crate::{
    helpers::{spawn_app_with, Backend, TestApp},
    qstash_timed::*,
};
use axum::http::StatusCode;
use serde_json::{json, Value};

crate::on_both_databases!(url_groups_deliver_to_every_endpoint);

async fn url_groups_deliver_to_every_endpoint(backend: Backend) {
    let (public, calls) = spawn_timed_destination().await;
    let app = spawn_app_with(backend, &[("PUBLIC_URL", public.as_str())]).await;
    let endpoints =
        |method: reqwest::Method, group: &str, body: Value| app.qstash(method, &format!("/v2/topics/{group}/endpoints")).json(&body).send();
    let group = || async {
        let response = app.qstash(reqwest::Method::GET, "/v2/topics/team").send().await.unwrap();
        (response.status(), response.json::<Value>().await.unwrap())
    };
    let added = endpoints(
        reqwest::Method::POST,
        "team",
        json!({"endpoints": [{"name": "alpha", "url": format!("{public}/g/a")}, {"url": format!("{public}/g/b")}]}),
    )
    .await
    .unwrap();
    assert_eq!(added.status(), StatusCode::OK);
    let (_, team) = group().await;
    assert_eq!(team["name"], "team");
    assert_eq!(team["endpoints"], json!([{"name": "alpha", "url": format!("{public}/g/a")}, {"url": format!("{public}/g/b")}]));
    assert!(team["createdAt"].is_i64() && team["updatedAt"].is_i64());
    let listed: Value = app.qstash(reqwest::Method::GET, "/v2/topics").send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!([team]));

    // A publish to the name: one message per endpoint, each delivered, each knowing its group.
    let published =
        app.qstash(reqwest::Method::POST, "/v2/publish/team").header("Upstash-Deduplication-Id", "once").body("hi").send().await.unwrap();
    assert_eq!(published.status(), StatusCode::OK);
    let published: Value = published.json().await.unwrap();
    let published = published.as_array().unwrap().clone();
    assert_eq!(published.len(), 2);
    assert_eq!(published[1]["url"], format!("{public}/g/b"));
    for answer in &published {
        let message = app.wait_for_message_state(answer["messageId"].as_str().unwrap(), "delivered").await;
        assert_eq!(message["topicName"], "team");
    }
    assert_eq!(app.qstash_message_json(published[0]["messageId"].as_str().unwrap()).await["endpointName"], "alpha");
    assert_eq!((calls_to(&calls, "/g/a").len(), calls_to(&calls, "/g/b").len()), (1, 1));
    // The same deduplication id again: 202, the same messages.
    let again =
        app.qstash(reqwest::Method::POST, "/v2/publish/team").header("Upstash-Deduplication-Id", "once").body("hi").send().await.unwrap();
    assert_eq!(again.status(), StatusCode::ACCEPTED);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again[0]["messageId"], published[0]["messageId"]);
    assert_eq!(again[1]["deduplicated"], true);
    // Enqueued to a group, and in a batch: arrays again, nested in the batch.
    let enqueued: Value =
        app.qstash(reqwest::Method::POST, "/v2/enqueue/fanout/team").body("q").send().await.unwrap().json().await.unwrap();
    assert_eq!(enqueued.as_array().unwrap().len(), 2);
    let queued = app.wait_for_message_state(enqueued[0]["messageId"].as_str().unwrap(), "delivered").await;
    assert_eq!((queued["queueName"].as_str(), queued["topicName"].as_str()), (Some("fanout"), Some("team")));
    let batch: Value = app
        .qstash(reqwest::Method::POST, "/v2/batch")
        .json(&json!([{"destination": "team", "body": "b"}, {"destination": format!("{public}/g/solo"), "body": "s"}]))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!((batch[0].as_array().map(Vec::len), batch[1]["messageId"].is_string()), (Some(2), true), "{batch}");
    // The log filters by group and by endpoint name.
    let log: Value = app
        .qstash(reqwest::Method::GET, "/v2/events?topicName=team&endpointName=alpha&state=CREATED")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let log = log["events"].as_array().unwrap();
    assert_eq!(log.len(), 3, "the publish, the enqueue and the batch: {log:?}");
    assert!(log.iter().all(|e| e["topicName"] == "team" && e["endpointName"] == "alpha"));

    // Endpoints go by name or URL; the group goes with its last endpoint.
    let removed = endpoints(reqwest::Method::DELETE, "team", json!({"endpoints": [{"name": "alpha"}]})).await.unwrap();
    assert_eq!(removed.status(), StatusCode::OK);
    assert_eq!(group().await.1["endpoints"], json!([{"url": format!("{public}/g/b")}]));
    endpoints(reqwest::Method::DELETE, "team", json!({"endpoints": [{"url": format!("{public}/g/b")}]})).await.unwrap();
    assert_eq!(group().await.0, StatusCode::NOT_FOUND);
    let gone = app.qstash(reqwest::Method::POST, "/v2/publish/team").body("x").send().await.unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    assert!(gone.json::<Value>().await.unwrap()["error"].is_string());
    endpoints(reqwest::Method::POST, "short-lived", json!({"endpoints": [{"url": format!("{public}/g/c")}]})).await.unwrap();
    assert_eq!(app.qstash(reqwest::Method::DELETE, "/v2/topics/short-lived").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(app.qstash(reqwest::Method::DELETE, "/v2/topics/short-lived").send().await.unwrap().status(), StatusCode::NOT_FOUND);

    // What is refused: an endpoint elsewhere, no URL, a bad name, nothing to remove by.
    for (group, body) in [
        ("team", json!({"endpoints": [{"url": "http://169.254.169.254/latest"}]})),
        ("team", json!({"endpoints": [{"name": "no-url"}]})),
        ("team", json!({"endpoints": []})),
        ("bad%20name", json!({"endpoints": [{"url": format!("{public}/g/a")}]})),
        ("team", json!({"urls": [format!("{public}/g/a")]})),
    ] {
        let response = endpoints(reqwest::Method::POST, group, body.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{group} {body}");
    }
    endpoints(reqwest::Method::POST, "team", json!({"endpoints": [{"url": format!("{public}/g/a")}]})).await.unwrap();
    let nothing = endpoints(reqwest::Method::DELETE, "team", json!({"endpoints": [{}]})).await.unwrap();
    assert_eq!(nothing.status(), StatusCode::BAD_REQUEST);
    let bad_destination = app.qstash(reqwest::Method::POST, "/v2/publish/not!a-group").body("x").send().await.unwrap();
    assert_eq!(bad_destination.status(), StatusCode::BAD_REQUEST);

    // Bounded: 100 endpoints a group, 1,000 messages a request (a batch to a group multiplies).
    let hundred: Vec<Value> = (0..100).map(|i| json!({"url": format!("{public}/wide/{i}")})).collect();
    assert_eq!(endpoints(reqwest::Method::POST, "wide", json!({"endpoints": hundred})).await.unwrap().status(), StatusCode::OK);
    let one_more = endpoints(reqwest::Method::POST, "wide", json!({"endpoints": [{"url": format!("{public}/wide/extra")}]})).await.unwrap();
    assert_eq!(one_more.status(), StatusCode::BAD_REQUEST);
    assert_eq!(group_size(&app, "wide").await, 100, "nothing of a refused addition is kept");
    let entries: Vec<Value> = (0..11).map(|_| json!({"destination": "wide", "body": "x", "headers": {"Upstash-Delay": "1h"}})).collect();
    let too_many = app.qstash(reqwest::Method::POST, "/v2/batch").json(&entries).send().await.unwrap();
    assert_eq!(too_many.status(), StatusCode::BAD_REQUEST, "1,100 messages in one request");
}

async fn group_size(app: &TestApp, name: &str) -> usize {
    let group: Value = app.qstash(reqwest::Method::GET, &format!("/v2/topics/{name}")).send().await.unwrap().json().await.unwrap();
    group["endpoints"].as_array().unwrap().len()
}
