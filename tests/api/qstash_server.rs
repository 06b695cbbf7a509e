//! The embedded QStash server against QStash's documented behaviour: status codes, options,
//! callbacks after every attempt, message reads and cancels.

use crate::helpers::{assert_completed, spawn_app, spawn_app_with, Backend, TestApp};
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    Router,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use scout::config::DEV_QSTASH_TOKEN;
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

crate::on_both_databases!(
    publishes_answer_as_qstash_does,
    every_attempt_calls_back_and_the_last_one_calls_the_failure_callback,
    messages_are_read_and_cancelled_as_qstash_does,
    deliveries_follow_what_the_destination_answers_and_go_nowhere_else,
    failed_messages_wait_in_the_dlq_and_can_be_retried,
    the_log_and_bulk_cancel_answer_as_qstash_does,
    rotated_keys_sign_deliveries_the_app_still_accepts,
    finished_messages_are_pruned_after_their_retention,
);

/// Calls a test server saw: path → (when, headers) per call.
pub type Calls = Arc<Mutex<HashMap<String, Vec<(Instant, HeaderMap)>>>>;

/// A destination the test controls, on its own port: it answers by path, and records every call.
pub async fn spawn_destination(redirect_to: Option<String>) -> (String, Calls) {
    let calls: Calls = Arc::default();
    let router = Router::new().fallback(answer).with_state((calls.clone(), redirect_to));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (address, calls)
}

async fn answer(State((calls, redirect_to)): State<(Calls, Option<String>)>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_string();
    let seen = {
        let mut calls = calls.lock().unwrap();
        let list = calls.entry(path.clone()).or_default();
        list.push((Instant::now(), headers));
        list.len()
    };
    match path.as_str() {
        "/redirect" => (StatusCode::FOUND, [("location", format!("{}/stolen", redirect_to.unwrap_or_default()))]).into_response(),
        "/non-retryable" => (StatusCode::from_u16(489).unwrap(), [("upstash-nonretryable-error", "true")], "no").into_response(),
        "/slow-down" if seen == 1 => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "2")], "wait").into_response(),
        "/fail-twice" if seen <= 2 => (StatusCode::INTERNAL_SERVER_ERROR, "broken").into_response(),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            "late".into_response()
        }
        _ => "ok".into_response(),
    }
}

fn call_times(calls: &Calls, path: &str) -> Vec<Instant> {
    calls.lock().unwrap().get(path).map(|c| c.iter().map(|(at, _)| *at).collect()).unwrap_or_default()
}

/// Polls `GET /v2/messages/{id}` of the QStash server at `base` until the message is in `state`.
pub async fn wait_for_message_state_at(client: &reqwest::Client, base: &str, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let response = client.get(format!("{base}/v2/messages/{id}")).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap();
        let message: Value = response.json().await.unwrap();
        if message["state"] == state {
            return message;
        }
        assert!(Instant::now() < deadline, "message never {state}: {message}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl TestApp {
    fn qstash_publish(&self, destination: &str) -> reqwest::RequestBuilder {
        self.client.post(self.url(&format!("/v2/publish/{destination}"))).bearer_auth(DEV_QSTASH_TOKEN)
    }

    async fn qstash_message(&self, id: &str) -> Value {
        let response = self.client.get(self.url(&format!("/v2/messages/{id}"))).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub(crate) async fn wait_for_message_state(&self, id: &str, state: &str) -> Value {
        wait_for_message_state_at(&self.client, &self.address, id, state).await
    }

    /// The bodies of the messages stored for `destination` (callbacks are messages), by attempt.
    async fn stored_bodies_for(&self, destination: &str) -> Vec<Value> {
        let pool = self.db().await;
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT body, method FROM qstash_messages WHERE destination = $1 ORDER BY created_at, id")
                .bind(destination)
                .fetch_all(&pool)
                .await
                .unwrap();
        pool.close().await;
        let mut bodies: Vec<Value> = rows
            .into_iter()
            .map(|(body, method)| {
                let mut value: Value = serde_json::from_slice(&STANDARD.decode(body).unwrap()).unwrap();
                value["_method"] = json!(method);
                value
            })
            .collect();
        // Two callbacks may be stored in the same millisecond: order them by the attempt they report.
        bodies.sort_by_key(|b| b["retried"].as_i64());
        bodies
    }
}

async fn publishes_answer_as_qstash_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let healthz = app.url("/healthz");
    // 200 with the id and the destination; a duplicate 202 with the first id.
    let first = app
        .qstash_publish(&healthz)
        .header("Upstash-Deduplication-Id", "d1")
        .header("Upstash-Delay", "1h")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_eq!(first["url"], healthz.as_str());
    let again = app
        .qstash_publish(&healthz)
        .header("Upstash-Deduplication-Id", "d1")
        .header("Upstash-Delay", "1h")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 202);
    let again: Value = again.json().await.unwrap();
    assert_eq!((&again["messageId"], &again["deduplicated"]), (&first["messageId"], &json!(true)));

    // Content-based deduplication: the same content twice is one message, other content is not.
    let by_content = |body: &'static str| {
        app.qstash_publish(&healthz).header("Upstash-Content-Based-Deduplication", "True").header("Upstash-Delay", "1h").body(body).send()
    };
    let a: Value = by_content("same").await.unwrap().json().await.unwrap();
    let b = by_content("same").await.unwrap();
    assert_eq!(b.status(), 202);
    assert_eq!(b.json::<Value>().await.unwrap()["messageId"], a["messageId"]);
    assert_ne!(by_content("other").await.unwrap().json::<Value>().await.unwrap()["messageId"], a["messageId"]);

    // The token also works as ?qstash_token= (and is not part of the destination); options as query.
    let via_query = app
        .anonymous
        .post(app.url(&format!("/v2/publish/{healthz}?check=1&qstash_token={DEV_QSTASH_TOKEN}&upstash-delay=2h")))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(via_query.status(), 200);
    let message = app.qstash_message(via_query.json::<Value>().await.unwrap()["messageId"].as_str().unwrap()).await;
    assert_eq!(message["url"], format!("{healthz}?check=1"));
    let created = message["createdAt"].as_i64().unwrap();
    assert!(message["notBefore"].as_i64().unwrap() >= created + 7_200_000 - 1_000, "{message}");
    let wrong = app.anonymous.post(app.url(&format!("/v2/publish/{healthz}?qstash_token=nope"))).body("{}").send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    // Compound delays; Not-Before wins over Delay.
    let compound: Value =
        app.qstash_publish(&healthz).header("Upstash-Delay", "1h30m").body("{}").send().await.unwrap().json().await.unwrap();
    let message = app.qstash_message(compound["messageId"].as_str().unwrap()).await;
    let delay = message["notBefore"].as_i64().unwrap() - message["createdAt"].as_i64().unwrap();
    assert!((5_399_000..=5_401_000).contains(&delay), "{delay}");
    let at = chrono::Utc::now().timestamp() + 86_400;
    let both: Value = app
        .qstash_publish(&healthz)
        .header("Upstash-Delay", "10s")
        .header("Upstash-Not-Before", at.to_string())
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(app.qstash_message(both["messageId"].as_str().unwrap()).await["notBefore"], at * 1000);

    // Bad options are refused with a JSON error; unknown QStash paths are a JSON 404.
    for (name, value) in [
        ("Upstash-Delay", "99999999999999999999d"),
        ("Upstash-Delay", "-5s"),
        ("Upstash-Retry-Delay", "pow(2, retries)"),
        ("Upstash-Timeout", "soon"),
        ("Upstash-Method", "BREW"),
        ("Upstash-Retries", "1000"),
        ("Upstash-Callback-Retries", "x"),
        // Headers that would steer a delivery elsewhere (a proxy routing by Host) or carry a credential.
        ("Upstash-Forward-Host", "internal.admin"),
        ("Upstash-Forward-Authorization", "Bearer x"),
        ("Upstash-Callback-Forward-X-Forwarded-For", "10.0.0.1"),
        ("Upstash-Forward-Transfer-Encoding", "chunked"),
        // A message that publishes messages could multiply without bound.
        ("Upstash-Callback", &format!("{}?qstash_token={DEV_QSTASH_TOKEN}", app.url("/v2/publish/x"))),
        ("Upstash-Failure-Callback", &app.url("/x/%2e%2e/v2/dlq")),
    ] {
        // (Callback options need a callback; the callback cases bring their own.)
        let request = if name == "Upstash-Callback" {
            app.qstash_publish(&healthz)
        } else {
            app.qstash_publish(&healthz).header("Upstash-Callback", &healthz)
        };
        let refused = request.header(name, value).body("{}").send().await.unwrap();
        assert_eq!(refused.status(), 400, "{name}: {value}");
        assert!(refused.json::<Value>().await.unwrap()["error"].is_string());
    }
    // Nor can the destination be this server's API or the simulator's test hooks.
    for destination in [app.url("/v2/publish/") + &healthz, app.url("/simulator/scrapecreators/_faults")] {
        let refused = app.qstash_publish(&destination).body("{}").send().await.unwrap();
        assert_eq!(refused.status(), 400, "{destination}");
    }
    let many = (0..65).fold(app.qstash_publish(&healthz), |r, i| r.header(format!("Upstash-Forward-X-{i}"), "1"));
    assert_eq!(many.body("{}").send().await.unwrap().status(), 400, "too many forwarded headers");
    // Not from a web page (a page could post to a server on the visitor's machine), not under a
    // rebound host name, and not a delivery of this server coming back to its own API.
    let from_page = app.qstash_publish(&healthz).header("Origin", "https://evil.example").body("{}").send().await.unwrap();
    assert_eq!(from_page.status(), 403);
    let cross_site = app.qstash_publish(&healthz).header("Sec-Fetch-Site", "cross-site").body("{}").send().await.unwrap();
    assert_eq!(cross_site.status(), 403);
    let rebound =
        app.qstash_publish(&healthz).header("Host", format!("rebind.attacker.example:{}", app.port)).body("{}").send().await.unwrap();
    assert_eq!(rebound.status(), 421);
    let own =
        scout::qstash::signing::sign(scout::config::DEV_CURRENT_SIGNING_KEY, "http://any/", b"{}", chrono::Utc::now().timestamp(), "loop");
    let looped = app.qstash_publish(&healthz).header("Upstash-Signature", own).body("{}").send().await.unwrap();
    assert_eq!(looped.status(), 403);
    for path in ["/v2/nothing-here", "/v2/dlq/x/y/z", "/v2"] {
        let missing = app.client.get(app.url(path)).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap();
        assert_eq!(missing.status(), 404, "{path}");
        assert!(missing.json::<Value>().await.unwrap()["error"].is_string(), "{path}");
    }
}

async fn every_attempt_calls_back_and_the_last_one_calls_the_failure_callback(backend: Backend) {
    let app = spawn_app(backend).await;
    // The webhook answers 400 to a body that is not a job step: every attempt fails.
    let destination = app.url("/api/qstash/process-scraping");
    let (callback, failure) = (app.url("/healthz?callback=1"), app.url("/healthz?failure=1"));
    let published: Value = app
        .qstash_publish(&destination)
        .header("content-type", "application/json")
        .header("Upstash-Retries", "1")
        .header("Upstash-Retry-Delay", "100 * (retried + 1)")
        .header("Upstash-Forward-X-Scout-Test", "yes")
        .header("Upstash-Callback", &callback)
        .header("Upstash-Callback-Method", "GET")
        .header("Upstash-Callback-Retries", "0")
        .header("Upstash-Failure-Callback", &failure)
        .header("Upstash-Failure-Callback-Forward-X-Why", "gave-up")
        .header("Upstash-Label", "scout-test")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = published["messageId"].as_str().unwrap();
    let message = app.wait_for_message_state(id, "failed").await;
    assert_eq!((message["retried"].as_i64(), message["lastStatus"].as_i64()), (Some(1), Some(400)), "{message}");
    assert_eq!(message["retryDelayExpression"], "100 * (retried + 1)");
    assert_eq!(message["label"], "scout-test");
    assert_eq!(message["header"]["X-Scout-Test"], json!(["yes"]));
    assert!(message["callerIP"].is_string(), "{message}");

    // One callback per attempt, with QStash's body, delivered with its own method.
    let callbacks = app.stored_bodies_for(&callback).await;
    assert_eq!(callbacks.len(), 2, "{callbacks:?}");
    for (attempt, body) in callbacks.iter().enumerate() {
        assert_eq!(body["_method"], "GET");
        assert_eq!(body["status"], 400);
        assert_eq!(body["retried"], attempt as i64);
        assert_eq!(body["maxRetries"], 1);
        assert_eq!(body["sourceMessageId"], id);
        assert_eq!(body["url"], destination.as_str());
        assert_eq!(body["method"], "POST");
        // The attempt's own time: the publish for the first, the planned retry for the second.
        let planned = if attempt == 0 { message["createdAt"].as_i64().unwrap() } else { message["notBefore"].as_i64().unwrap() };
        assert!((body["notBefore"].as_i64().unwrap() - planned).abs() < 1_000, "{body}");
        assert!(body["header"]["Content-Type"].as_array().is_some_and(|v| !v.is_empty()), "{body}");
        assert_eq!(body["sourceHeader"]["X-Scout-Test"], json!(["yes"]));
        assert_eq!(body["sourceBody"], STANDARD.encode("{}"));
        let answered = String::from_utf8(STANDARD.decode(body["body"].as_str().unwrap()).unwrap()).unwrap();
        assert!(answered.contains("error"), "{answered}");
        assert!(body["callerIP"].is_string());
    }
    // The failure callback once, after the last attempt.
    let failures = app.stored_bodies_for(&failure).await;
    assert_eq!(failures.len(), 1);
    assert_eq!((failures[0]["_method"].as_str(), failures[0]["retried"].as_i64()), (Some("POST"), Some(1)));
}

async fn messages_are_read_and_cancelled_as_qstash_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let healthz = app.url("/healthz");
    // Binary bodies come back as bodyBase64, text bodies as body.
    let binary: Value = app
        .qstash_publish(&healthz)
        .header("Upstash-Delay", "1d")
        .header("Upstash-Callback", &healthz)
        .header("Upstash-Failure-Callback", &healthz)
        .header("Upstash-Timeout", "1500ms")
        .body(vec![0xffu8, 0xfe, 0x00, 0x01])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = binary["messageId"].as_str().unwrap();
    let message = app.qstash_message(id).await;
    assert_eq!(message["bodyBase64"], STANDARD.encode([0xffu8, 0xfe, 0x00, 0x01]));
    assert!(message.get("body").is_none());
    for field in ["messageId", "url", "method", "maxRetries", "notBefore", "createdAt", "callback", "failureCallback"] {
        assert!(!message[field].is_null(), "{field}: {message}");
    }
    // Whole seconds, rounded up (and never past the server's own delivery timeout: 3 s in tests).
    assert_eq!(message["timeout"], 2);

    // Cancel: 200 {"cancelled": 1}, then it is gone from the queue and cannot be cancelled again.
    let cancel = || app.client.delete(app.url(&format!("/v2/messages/{id}"))).bearer_auth(DEV_QSTASH_TOKEN).send();
    let cancelled = cancel().await.unwrap();
    assert_eq!(cancelled.status(), 200);
    assert_eq!(cancelled.json::<Value>().await.unwrap(), json!({"cancelled": 1}));
    assert_eq!(app.qstash_message(id).await["state"], "cancelled");
    assert_eq!(cancel().await.unwrap().status(), 404);
    let unknown = app.client.delete(app.url("/v2/messages/msg_nope")).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let anonymous = app.client.delete(app.url(&format!("/v2/messages/{id}"))).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

async fn deliveries_follow_what_the_destination_answers_and_go_nowhere_else(backend: Backend) {
    // An outside host (never to be called) and the app's public address, which the test serves itself.
    let (outside, stolen) = spawn_destination(None).await;
    let (public, calls) = spawn_destination(Some(outside.clone())).await;
    // Real QStash timing, so the waits between attempts are the ones asked for.
    let app = spawn_app_with(backend, &[("PUBLIC_URL", public.as_str()), ("QSTASH_DEV_BACKOFF_SCALE", "1")]).await;
    let publish = |path: &str, retries: &str| {
        app.qstash_publish(&format!("{public}{path}")).header("Upstash-Retries", retries.to_string()).body("{}").send()
    };
    let id_of = |v: Value| v["messageId"].as_str().unwrap().to_string();

    // A 3xx is an answer, never followed: the signed delivery does not reach the other host.
    let redirected = id_of(publish("/redirect", "0").await.unwrap().json().await.unwrap());
    let message = app.wait_for_message_state(&redirected, "failed").await;
    assert_eq!(message["lastStatus"], 302);
    // 489 with Upstash-NonRetryable-Error ends at once, retries left or not.
    let refused = id_of(publish("/non-retryable", "3").await.unwrap().json().await.unwrap());
    let message = app.wait_for_message_state(&refused, "failed").await;
    assert_eq!((message["lastStatus"].as_i64(), message["retried"].as_i64()), (Some(489), Some(0)));
    // Retry-After is honoured (2 s, where the backoff would wait 12 s).
    let slowed = id_of(publish("/slow-down", "2").await.unwrap().json().await.unwrap());
    app.wait_for_message_state(&slowed, "delivered").await;
    let times = call_times(&calls, "/slow-down");
    assert_eq!(times.len(), 2);
    assert!(times[1] - times[0] >= Duration::from_millis(1_900), "{:?}", times[1] - times[0]);
    // Upstash-Retry-Delay replaces the backoff: 300 ms, then 600 ms.
    let retried: Value = app
        .qstash_publish(&format!("{public}/fail-twice"))
        .header("Upstash-Retries", "2")
        .header("Upstash-Retry-Delay", "300 * (retried + 1)")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.wait_for_message_state(&id_of(retried), "delivered").await;
    let times = call_times(&calls, "/fail-twice");
    assert_eq!(times.len(), 3);
    assert!(times[1] - times[0] >= Duration::from_millis(290) && times[1] - times[0] < Duration::from_secs(10));
    assert!(times[2] - times[1] >= Duration::from_millis(590) && times[2] - times[1] < Duration::from_secs(10));
    // Upstash-Timeout ends a delivery that takes longer.
    let timed_out: Value = app
        .qstash_publish(&format!("{public}/slow"))
        .header("Upstash-Retries", "0")
        .header("Upstash-Timeout", "1s")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message = app.wait_for_message_state(&id_of(timed_out), "failed").await;
    assert!(message["lastStatus"].as_i64().unwrap_or(0) == 0, "{message}");

    // What a delivery carries: QStash's headers once each, forwarded ones, never a forged one of ours.
    let echoed: Value = app
        .qstash_publish(&format!("{public}/echo"))
        .header("Upstash-Forward-X-Scout-Test", "yes")
        .header("Upstash-Forward-User-Agent", "forged")
        .header("Upstash-Forward-Upstash-Message-Id", "forged")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    app.wait_for_message_state(&id_of(echoed.clone()), "delivered").await;
    let headers = calls.lock().unwrap()["/echo"][0].1.clone();
    let all = |name: &str| headers.get_all(name).iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
    assert_eq!(all("user-agent"), vec!["Upstash-QStash"]);
    assert_eq!(all("upstash-message-id"), vec![echoed["messageId"].as_str().unwrap().to_string()]);
    assert_eq!(all("x-scout-test"), vec!["yes"]);
    assert_eq!(all("upstash-retried"), vec!["0"]);
    assert_eq!(all("upstash-caller-ip"), vec!["127.0.0.1"]);
    assert_eq!(all("upstash-signature").len(), 1);

    // A row naming another host (written around the API) is failed at delivery, never called.
    let pool = app.db().await;
    sqlx::query(
        "INSERT INTO qstash_messages (id, destination, method, body, headers, state, retries, retried, not_before, locked_until, created_at, updated_at)
         VALUES ('msg_foreign', $1, 'POST', '', '{}', 'pending', 3, 0, 0, 0, 0, 0)",
    )
    .bind(format!("{outside}/stolen"))
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let message = app.wait_for_message_state("msg_foreign", "failed").await;
    assert_eq!(message["retried"], 0, "failed at once: {message}");
    assert!(stolen.lock().unwrap().is_empty(), "the outside host was called: {:?}", stolen.lock().unwrap().keys().collect::<Vec<_>>());
}

async fn publish_failing(app: &TestApp, extra: &[(&str, &str)]) -> String {
    let destination = app.url("/api/qstash/process-scraping");
    let request = extra.iter().fold(app.qstash_publish(&destination).header("Upstash-Retries", "0"), |r, (k, v)| r.header(*k, *v));
    request.body("{}").send().await.unwrap().json::<Value>().await.unwrap()["messageId"].as_str().unwrap().to_string()
}

async fn dlq(app: &TestApp, query: &str) -> Value {
    let response = app.client.get(app.url(&format!("/v2/dlq{query}"))).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap();
    assert_eq!(response.status(), 200, "{query}");
    response.json().await.unwrap()
}

async fn failed_messages_wait_in_the_dlq_and_can_be_retried(backend: Backend) {
    let app = spawn_app(backend).await;
    let failure = app.url("/healthz?failure=1");
    let id = publish_failing(&app, &[("Upstash-Failure-Callback", &failure), ("Upstash-Label", "dlq-test")]).await;
    app.wait_for_message_state(&id, "failed").await;

    // In the DLQ with the destination's answer, and the failure callback names the entry.
    let listed = dlq(&app, "").await;
    assert!(listed.get("cursor").is_none(), "no cursor at the end: {listed}");
    let entries = listed["messages"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{listed}");
    let entry = &entries[0];
    assert_eq!((entry["messageId"].as_str(), entry["responseStatus"].as_i64()), (Some(id.as_str()), Some(400)));
    assert!(entry["responseBody"].as_str().unwrap().contains("error"), "{entry}");
    assert!(entry["responseHeader"]["Content-Type"].is_array(), "{entry}");
    for field in ["url", "method", "maxRetries", "notBefore", "createdAt", "dlqId"] {
        assert!(!entry[field].is_null(), "{field}: {entry}");
    }
    let dlq_id = entry["dlqId"].as_str().unwrap().to_string();
    let callbacks = app.stored_bodies_for(&failure).await;
    assert_eq!(callbacks.len(), 1);
    assert_eq!(callbacks[0]["dlqId"], dlq_id.as_str());
    let one: Value =
        app.client.get(app.url(&format!("/v2/dlq/{dlq_id}"))).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(one["dlqId"], dlq_id.as_str());

    // Filters.
    assert_eq!(dlq(&app, "?responseStatus=500").await["messages"], json!([]));
    assert_eq!(dlq(&app, "?label=dlq-test").await["messages"].as_array().unwrap().len(), 1);
    assert_eq!(dlq(&app, "?queueName=nope").await["messages"], json!([]));
    assert_eq!(dlq(&app, &format!("?messageId={id}&fromDate=0")).await["messages"].as_array().unwrap().len(), 1);
    let bad = app.client.get(app.url("/v2/dlq?fromDate=yesterday")).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap();
    assert_eq!(bad.status(), 400);

    // A retry is a new message; the entry leaves the DLQ.
    let retried: Value = app
        .client
        .post(app.url(&format!("/v2/dlq/retry/{dlq_id}")))
        .bearer_auth(DEV_QSTASH_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let again = retried["messageId"].as_str().unwrap().to_string();
    assert_ne!(again, id);
    app.wait_for_message_state(&again, "failed").await;
    let now = dlq(&app, "").await;
    assert_eq!(
        now["messages"].as_array().unwrap().iter().map(|m| m["messageId"].as_str().unwrap()).collect::<Vec<_>>(),
        vec![again.as_str()]
    );
    let gone = app.client.post(app.url(&format!("/v2/dlq/retry/{dlq_id}"))).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap();
    assert_eq!(gone.status(), 404);

    // Bulk: three more entries, two retried by id, then everything deleted a page at a time.
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(publish_failing(&app, &[]).await);
    }
    for id in &ids {
        app.wait_for_message_state(id, "failed").await;
    }
    let entries = dlq(&app, "?order=latestFirst").await;
    let dlq_ids: Vec<String> = entries["messages"].as_array().unwrap().iter().map(|m| m["dlqId"].as_str().unwrap().to_string()).collect();
    assert_eq!(dlq_ids.len(), 4);
    let page = dlq(&app, "?count=2").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 2);
    let rest = dlq(&app, &format!("?count=2&cursor={}", page["cursor"].as_str().unwrap())).await;
    assert_eq!(rest["messages"].as_array().unwrap().len(), 2);
    assert!(rest.get("cursor").is_none());
    let bulk: Value = app
        .client
        .post(app.url(&format!("/v2/dlq/retry?dlqIds={}&dlqIds={}", dlq_ids[0], dlq_ids[1])))
        .bearer_auth(DEV_QSTASH_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let responses = bulk["responses"].as_array().unwrap();
    assert_eq!(responses.len(), 2, "{bulk}");
    for response in responses {
        app.wait_for_message_state(response["messageId"].as_str().unwrap(), "failed").await;
    }
    // Retrying everything ends, though each retried message fails again and comes back.
    let (mut calls, mut cursor, mut retried_ids) = (0, String::new(), Vec::new());
    loop {
        calls += 1;
        assert!(calls <= 3, "a retry of everything must end");
        let url = app.url(&format!("/v2/dlq/retry?count=3{cursor}"));
        let answer: Value = app.client.post(url).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap().json().await.unwrap();
        retried_ids.extend(answer["responses"].as_array().unwrap().iter().map(|r| r["messageId"].as_str().unwrap().to_string()));
        for id in &retried_ids {
            app.wait_for_message_state(id, "failed").await;
        }
        match answer["cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(retried_ids.len(), 4);
    let delete = |query: &'static str| app.client.delete(app.url(&format!("/v2/dlq{query}"))).bearer_auth(DEV_QSTASH_TOKEN).send();
    let first: Value = delete("?count=3").await.unwrap().json().await.unwrap();
    assert_eq!(first["deleted"], 3);
    assert!(first["cursor"].is_string(), "more remain: {first}");
    let second: Value = delete("?count=3").await.unwrap().json().await.unwrap();
    assert_eq!(second["deleted"], 1);
    assert!(second.get("cursor").is_none());
    assert_eq!(dlq(&app, "").await["messages"], json!([]));
    assert_eq!(app.client.delete(app.url("/v2/dlq/1-nope")).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap().status(), 404);
}

async fn the_log_and_bulk_cancel_answer_as_qstash_does(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = publish_failing(&app, &[]).await;
    app.wait_for_message_state(&id, "failed").await;
    let app = &app;
    let events = |query: String| {
        let url = app.url(&query);
        async move { app.client.get(url).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    // Newest first, QStash's states, under both keys, with the fields the Python SDK requires.
    let log = events(format!("/v2/events?messageId={id}")).await;
    let states: Vec<&str> = log["events"].as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(states, vec!["FAILED", "ERROR", "ACTIVE", "CREATED"], "{log}");
    assert_eq!(log["logs"], log["events"]);
    for event in log["events"].as_array().unwrap() {
        assert!(event["time"].is_i64() && event["url"].is_string() && event["messageId"] == id.as_str(), "{event}");
    }
    assert_eq!(log["events"][0]["responseStatus"], 400);
    let failed = events("/v2/logs?state=FAILED".into()).await;
    let failed = failed["logs"].as_array().unwrap();
    assert!(!failed.is_empty() && failed.iter().all(|e| e["state"] == "FAILED"), "{failed:?}");
    let page = events(format!("/v2/events?messageId={id}&count=3")).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 3);
    let rest = events(format!("/v2/events?messageId={id}&count=3&cursor={}", page["cursor"].as_str().unwrap())).await;
    assert_eq!(rest["events"][0]["state"], "CREATED");
    assert!(rest.get("cursor").is_none());

    // Bulk cancel: by ids in the query, by the Python SDK's JSON body, then everything left.
    let healthz = app.url("/healthz");
    let mut pending = Vec::new();
    for _ in 0..4 {
        let published: Value =
            app.qstash_publish(&healthz).header("Upstash-Delay", "1h").body("{}").send().await.unwrap().json().await.unwrap();
        pending.push(published["messageId"].as_str().unwrap().to_string());
    }
    let cancel = |query: String, body: &'static str| {
        app.client.delete(app.url(&format!("/v2/messages{query}"))).bearer_auth(DEV_QSTASH_TOKEN).body(body).send()
    };
    let by_query: Value = cancel(format!("?messageIds={}&messageIds={}", pending[0], pending[1]), "").await.unwrap().json().await.unwrap();
    assert_eq!(by_query, json!({"cancelled": 2}));
    let body = Box::leak(format!(r#"{{"messageIds":["{}"]}}"#, pending[2]).into_boxed_str());
    let by_body: Value = cancel(String::new(), body).await.unwrap().json().await.unwrap();
    assert_eq!(by_body, json!({"cancelled": 1}));
    // A misspelt or foreign filter is refused, an empty list cancels nothing: never "everything".
    assert_eq!(cancel("?messageid=x".into(), "").await.unwrap().status(), 400);
    assert_eq!(cancel("?responseStatus=500".into(), "").await.unwrap().status(), 400);
    let none: Value = cancel(String::new(), r#"{"messageIds":[]}"#).await.unwrap().json().await.unwrap();
    assert_eq!(none, json!({"cancelled": 0}));
    let all: Value = cancel(String::new(), "").await.unwrap().json().await.unwrap();
    assert_eq!(all, json!({"cancelled": 1}));
    let states = events(format!("/v2/events?messageId={}", pending[0])).await;
    assert_eq!(states["events"][0]["state"], "CANCELED");
    assert_eq!(states["events"][1]["state"], "CANCEL_REQUESTED");
}

async fn rotated_keys_sign_deliveries_the_app_still_accepts(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let keys = |app: &TestApp| {
        let request = app.client.get(app.url("/v2/keys")).bearer_auth(DEV_QSTASH_TOKEN);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let rotate = |app: &TestApp| {
        let request = app.client.post(app.url("/v2/keys/rotate")).bearer_auth(DEV_QSTASH_TOKEN);
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let before = keys(&app).await;
    let once = rotate(&app).await;
    assert_eq!(once["current"], before["next"], "the next key becomes current");
    assert!(once["next"].as_str().unwrap().starts_with("sig_") && once["next"] != before["current"]);
    assert_eq!(keys(&app).await, once);
    // Twice: now signing with a key no configuration ever named; the app's webhook follows.
    let twice = rotate(&app).await;
    assert_eq!(twice["current"], once["next"]);
    let campaign = app.create_campaign("Rotated").await;
    let job_id = app.start_search(&campaign, &["pottery"], 1000).await;
    assert_completed(&app.wait_for_terminal(&job_id, Duration::from_secs(180)).await);

    // The rotated keys survive a restart.
    app.restart().await;
    assert_eq!(keys(&app).await, twice);
    let job_id = app.start_search(&campaign, &["weaving"], 1000).await;
    assert_completed(&app.wait_for_terminal(&job_id, Duration::from_secs(180)).await);
}

async fn finished_messages_are_pruned_after_their_retention(backend: Backend) {
    let app = spawn_app(backend).await;
    let failed = publish_failing(&app, &[]).await;
    app.wait_for_message_state(&failed, "failed").await;
    let pending: Value =
        app.qstash_publish(&app.url("/healthz")).header("Upstash-Delay", "1d").body("{}").send().await.unwrap().json().await.unwrap();
    let pending = pending["messageId"].as_str().unwrap().to_string();
    let db = scout::db::connect(&app.database_url).await.unwrap();
    // Nothing is old enough yet.
    let day_ago = chrono::Utc::now().timestamp_millis() - 86_400_000;
    assert_eq!(scout::db::qstash::prune(&db, day_ago, day_ago).await.unwrap(), 0);
    // Past the retention: the failed message goes with its events and DLQ entry; the pending one stays.
    let later = chrono::Utc::now().timestamp_millis() + 1_000;
    assert!(scout::db::qstash::prune(&db, later, later).await.unwrap() >= 3);
    let count = |sql: &'static str, id: String| {
        let db = db.clone();
        async move { sqlx::query_as::<_, (i64,)>(sql).bind(id).fetch_one(&db).await.unwrap().0 }
    };
    assert_eq!(count("SELECT COUNT(*) FROM qstash_messages WHERE id = $1", failed.clone()).await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM qstash_events WHERE message_id = $1", failed.clone()).await, 0);
    assert_eq!(count("SELECT COUNT(*) FROM qstash_dlq WHERE message_id = $1", failed).await, 0);
    assert_eq!(app.qstash_message(&pending).await["state"], "pending");
}
