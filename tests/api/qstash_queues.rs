//! Queues on the embedded QStash server: in order, never more at once than their parallelism,
//! nothing while paused, a retrying message holding the ones behind it, kept across a restart.

use crate::{
    helpers::{spawn_app_with, Backend},
    qstash_timed::*,
};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

crate::on_both_databases!(queues_deliver_in_order_within_their_parallelism);

async fn queues_deliver_in_order_within_their_parallelism(backend: Backend) {
    let (public, calls) = spawn_timed_destination().await;
    let mut app = spawn_app_with(backend, &[("PUBLIC_URL", public.as_str())]).await;

    // Created by upsert, with the fields both SDKs read; paused, it delivers nothing and shows lag.
    assert_eq!(app.upsert_queue(json!({"queueName": "orders", "parallelism": 2, "paused": true})).await, StatusCode::OK);
    for i in 0..6 {
        app.enqueue("orders", &format!("{public}/q/{i}")).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(calls_to(&calls, "/q/").is_empty(), "a paused queue delivered");
    let (status, queue) = app.queue("orders").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((queue["name"].as_str(), queue["parallelism"].as_i64(), queue["paused"].as_bool()), (Some("orders"), Some(2), Some(true)));
    assert_eq!(queue["lag"], 6);
    assert!(queue["createdAt"].is_i64() && queue["updatedAt"].is_i64(), "{queue}");

    // Resumed: in order, two at a time, never three.
    let resumed = app.qstash(reqwest::Method::POST, "/v2/queues/orders/resume").send().await.unwrap();
    assert_eq!(resumed.status(), StatusCode::OK);
    wait_until("the queue is delivered", || calls_to(&calls, "/q/").len() == 6).await;
    let delivered = calls_to(&calls, "/q/");
    assert_eq!(most_at_once(&delivered), 2, "{delivered:#?}");
    // In order: message k begins only once all but one of the messages ahead of it are done.
    assert_in_queue_order(&delivered, "/q/", 2);

    // Enqueueing creates a queue of parallelism 1: a message being retried holds the ones behind it.
    for path in ["/serial/a", "/fail-once/b", "/serial/c"] {
        app.enqueue("serial", &format!("{public}{path}")).await;
    }
    wait_until("the serial queue is delivered", || calls.lock().unwrap().iter().any(|c| c.path == "/serial/c")).await;
    let order: Vec<String> =
        calls_to(&calls, "/").into_iter().map(|c| c.path).filter(|p| !p.starts_with("/q/") && p != "/serial/now").collect();
    assert_eq!(order, vec!["/serial/a", "/fail-once/b", "/fail-once/b", "/serial/c"]);
    // A message still waiting out its delay holds nothing behind it.
    let delayed = app
        .qstash(reqwest::Method::POST, &format!("/v2/enqueue/later/{public}/serial/delayed"))
        .header("Upstash-Delay", "1h")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(delayed.status(), StatusCode::OK);
    app.enqueue("later", &format!("{public}/serial/now")).await;
    wait_until("the message behind a delayed one is delivered", || calls.lock().unwrap().iter().any(|c| c.path == "/serial/now")).await;
    let (_, serial) = app.queue("serial").await;
    assert_eq!((serial["parallelism"].as_i64(), serial["paused"].as_bool(), serial["lag"].as_i64()), (Some(1), Some(false), Some(0)));
    let listed: Value = app.qstash(reqwest::Method::GET, "/v2/queues").send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|q| q["name"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["later", "orders", "serial"]);
    // The log and the DLQ filter by queue.
    let log: Value =
        app.qstash(reqwest::Method::GET, "/v2/events?queueName=orders&state=DELIVERED").send().await.unwrap().json().await.unwrap();
    let log = log["events"].as_array().unwrap();
    assert_eq!(log.len(), 6);
    assert!(!log.is_empty() && log.iter().all(|e| e["queueName"] == "orders"), "{log:?}");

    // Paused and full, it survives a restart; deleting it cancels what waits in it.
    app.qstash(reqwest::Method::POST, "/v2/queues/orders/pause").send().await.unwrap();
    let waiting =
        [app.enqueue("orders", &format!("{public}/q/later-1")).await, app.enqueue("orders", &format!("{public}/q/later-2")).await];
    app.restart().await;
    let (_, queue) = app.queue("orders").await;
    assert_eq!((queue["paused"].as_bool(), queue["lag"].as_i64(), queue["parallelism"].as_i64()), (Some(true), Some(2), Some(2)));
    let deleted = app.qstash(reqwest::Method::DELETE, "/v2/queues/orders").send().await.unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    for id in &waiting {
        assert_eq!(app.wait_for_message_state(id, "cancelled").await["queueName"], "orders");
    }
    assert_eq!(app.queue("orders").await.0, StatusCode::NOT_FOUND);
    assert_eq!(calls_to(&calls, "/q/").len(), 6, "a deleted queue's message was delivered");

    // What is refused, in JSON.
    for body in [
        json!({"queueName": "bad name", "parallelism": 1}),
        json!({"queueName": "ok", "parallelism": 0}),
        json!({"queueName": "ok", "parallelism": 1, "speed": 3}),
        json!({"parallelism": 1}),
    ] {
        assert_eq!(app.upsert_queue(body.clone()).await, StatusCode::BAD_REQUEST, "{body}");
    }
    let bad = app.qstash(reqwest::Method::POST, &format!("/v2/enqueue/bad!name/{public}/q/x")).body("{}").send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert!(bad.json::<Value>().await.unwrap()["error"].is_string());
    let (status, missing) = app.queue("missing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(missing["error"].is_string());
    for path in ["/v2/queues/missing/pause", "/v2/queues/missing/resume"] {
        assert_eq!(app.qstash(reqwest::Method::POST, path).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    }
}
