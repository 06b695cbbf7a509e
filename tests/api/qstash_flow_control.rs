//! Flow control on the embedded QStash server: a key's parallelism and rate are never exceeded.

use crate::{
    helpers::{spawn_app_with, Backend},
    qstash_timed::*,
};
use axum::http::StatusCode;
use serde_json::Value;

crate::on_both_databases!(flow_control_never_exceeds_its_parallelism_or_rate);

async fn flow_control_never_exceeds_its_parallelism_or_rate(backend: Backend) {
    let (public, calls) = spawn_timed_destination().await;
    let app = spawn_app_with(backend, &[("PUBLIC_URL", public.as_str())]).await;
    let publish = |path: String, key: &'static str, value: &'static str| {
        app.qstash(reqwest::Method::POST, &format!("/v2/publish/{public}{path}"))
            .header("Upstash-Flow-Control-Key", key)
            .header("Upstash-Flow-Control-Value", value)
            .body("{}")
            .send()
    };
    // Parallelism 2: never more than two deliveries of the key at once (and two do run together).
    let mut ids = Vec::new();
    for i in 0..6 {
        let response = publish(format!("/fp/{i}"), "two-at-once", "parallelism=2").await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        ids.push(response.json::<Value>().await.unwrap()["messageId"].as_str().unwrap().to_string());
    }
    // Rate 3 per second: never more than three begun in any second, as the server's ACTIVE events
    // stamp them (windows of 950 ms, for the few ms between a lease and its event).
    for i in 0..9 {
        publish(format!("/fr/{i}"), "three-a-second", "rate=3, period=1s").await.unwrap();
    }
    wait_until("the flow-controlled messages are delivered", || calls_to(&calls, "/fp/").len() == 6 && calls_to(&calls, "/fr/").len() == 9)
        .await;
    let parallel = calls_to(&calls, "/fp/");
    assert_eq!(most_at_once(&parallel), 2, "{parallel:#?}");
    let starts = app.flow_starts("three-a-second").await;
    assert_eq!(starts.len(), 9);
    assert_rate(&starts, 3, 950);
    let span = starts.iter().max().unwrap() - starts.iter().min().unwrap();
    assert!(span >= 1900, "nine starts at three a second span two seconds: {starts:?}");
    let message = app.qstash_message_json(&ids[0]).await;
    assert_eq!(message["flowControlKey"], "two-at-once");
    let delivered = || async {
        let log: Value = app
            .qstash(reqwest::Method::GET, "/v2/events?flowControlKey=three-a-second&state=DELIVERED")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        log["events"].as_array().unwrap().len()
    };
    wait_until_async("the log filters by flow control key", || async { delivered().await == 9 }).await;

    // A key without a value, or a value it cannot read, is refused.
    let alone = app
        .qstash(reqwest::Method::POST, &format!("/v2/publish/{public}/fx"))
        .header("Upstash-Flow-Control-Key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(alone.status(), StatusCode::BAD_REQUEST);
    for value in ["parallelism=0", "rate=fast", "period=1m", "burst=3"] {
        let response = publish("/fx".into(), "k", value).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{value}");
    }
}
