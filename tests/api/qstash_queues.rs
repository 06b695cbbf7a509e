//! Queues, URL groups, enqueue and batch on the embedded QStash server: a queue delivers in order,
//! never more at once than its parallelism, nothing while paused, and keeps all of it across a
//! restart; a URL group delivers to each endpoint; a batch stores every message or none; a schedule
//! publishes each tick once, also across a pause and a restart; flow control keys hold their limits.

use crate::helpers::{spawn_app_with, Backend, TestApp};
use axum::{
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
    Router,
};
use scout::config::DEV_QSTASH_TOKEN;
use serde_json::{json, Value};
use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

crate::on_both_databases!(
    queues_deliver_in_order_within_their_parallelism,
    url_groups_deliver_to_every_endpoint,
    batches_store_every_message_or_none,
    schedules_fire_each_tick_once_across_pauses_and_restarts,
    flow_control_never_exceeds_its_parallelism_or_rate,
);

/// One call a destination saw: its path, when it began and ended, and its headers.
#[derive(Clone, Debug)]
struct Call {
    path: String,
    began: Instant,
    ended: Instant,
    headers: HeaderMap,
}

type Calls = Arc<Mutex<Vec<Call>>>;

/// A destination that takes 300 ms per call (so overlapping deliveries show), fails the first call
/// of a path under `/fail-once/`, and records every call once it ends.
async fn spawn_timed_destination() -> (String, Calls) {
    let calls: Calls = Arc::default();
    let router = Router::new().fallback(timed_answer).with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (address, calls)
}

async fn timed_answer(State(calls): State<Calls>, uri: Uri, headers: HeaderMap) -> Response {
    let began = Instant::now();
    let path = uri.path().to_string();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut calls = calls.lock().unwrap();
    let first = !calls.iter().any(|c| c.path == path);
    calls.push(Call { path: path.clone(), began, ended: Instant::now(), headers });
    if first && path.starts_with("/fail-once/") {
        (StatusCode::INTERNAL_SERVER_ERROR, "not yet").into_response()
    } else {
        "ok".into_response()
    }
}

fn calls_to(calls: &Calls, prefix: &str) -> Vec<Call> {
    let mut calls: Vec<Call> = calls.lock().unwrap().iter().filter(|c| c.path.starts_with(prefix)).cloned().collect();
    calls.sort_by_key(|c| c.began);
    calls
}

/// The most calls that were in flight at one time.
fn most_at_once(calls: &[Call]) -> usize {
    calls.iter().map(|c| calls.iter().filter(|o| o.began <= c.began && c.began < o.ended).count()).max().unwrap_or(0)
}

impl TestApp {
    fn qstash(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).bearer_auth(DEV_QSTASH_TOKEN)
    }

    async fn enqueue(&self, queue: &str, destination: &str) -> String {
        let response = self.qstash(reqwest::Method::POST, &format!("/v2/enqueue/{queue}/{destination}")).body("{}").send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json::<Value>().await.unwrap()["messageId"].as_str().unwrap().to_string()
    }

    async fn queue(&self, name: &str) -> (StatusCode, Value) {
        let response = self.qstash(reqwest::Method::GET, &format!("/v2/queues/{name}")).send().await.unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn upsert_queue(&self, body: Value) -> StatusCode {
        self.qstash(reqwest::Method::POST, "/v2/queues").json(&body).send().await.unwrap().status()
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

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
    let index = |c: &Call| c.path.trim_start_matches("/q/").parse::<usize>().unwrap();
    for call in &delivered {
        let k = index(call);
        let done_ahead = delivered.iter().filter(|c| index(c) < k && c.ended <= call.began).count();
        assert!(done_ahead + 1 >= k, "message {k} began with {done_ahead} ahead of it done: {delivered:#?}");
    }

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

impl TestApp {
    async fn qstash_message_json(&self, id: &str) -> Value {
        self.qstash(reqwest::Method::GET, &format!("/v2/messages/{id}")).send().await.unwrap().json().await.unwrap()
    }
}

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

async fn schedules_fire_each_tick_once_across_pauses_and_restarts(backend: Backend) {
    let (public, calls) = spawn_timed_destination().await;
    let mut app = spawn_app_with(backend, &[("PUBLIC_URL", public.as_str())]).await;
    // Every second (the seconds field is this server's extension for tests like this one).
    let started = Instant::now();
    let created = create_schedule(
        &app,
        format!("{public}/tick"),
        &[
            ("Upstash-Cron", "* * * * * *"),
            ("Upstash-Schedule-Id", "every-second"),
            ("Upstash-Forward-X-From", "schedule"),
            ("Upstash-Retries", "1"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(created.json::<Value>().await.unwrap(), json!({"scheduleId": "every-second"}));
    wait_until("three ticks are delivered", || calls_to(&calls, "/tick").len() >= 3).await;
    assert!(ticks_made(&app).await <= started.elapsed().as_secs() as i64 + 1, "more messages than ticks");
    assert_eq!(calls_to(&calls, "/tick")[0].headers["x-from"], "schedule");
    let (_, every) = schedule(&app, "every-second").await;
    assert_eq!((every["cron"].as_str(), every["destination"].as_str()), (Some("* * * * * *"), Some(format!("{public}/tick").as_str())));
    assert_eq!((every["isPaused"].as_bool(), every["retries"].as_i64(), every["method"].as_str()), (Some(false), Some(1), Some("POST")));
    assert_eq!((every["body"].as_str(), &every["header"]["X-From"]), (Some("tick"), &json!(["schedule"])));
    assert!(every["nextScheduleTime"].as_i64() > every["lastScheduleTime"].as_i64(), "{every}");
    let states = every["lastScheduleStates"].as_object().unwrap();
    assert!(states.len() == 1 && states.values().all(|s| s == "IN_PROGRESS" || s == "SUCCESS"), "{every}");
    let log: Value =
        app.qstash(reqwest::Method::GET, "/v2/events?scheduleId=every-second&state=CREATED").send().await.unwrap().json().await.unwrap();
    let log = log["events"].as_array().unwrap();
    assert!(!log.is_empty() && log.iter().all(|e| e["scheduleId"] == "every-second"), "{log:?}");

    // Paused: no tick; resumed: ticks again.
    let paused = app.qstash(reqwest::Method::PATCH, "/v2/schedules/every-second/pause").send().await.unwrap();
    assert_eq!(paused.status(), StatusCode::OK);
    let at_pause = ticks_made(&app).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(ticks_made(&app).await, at_pause, "a paused schedule ticked");
    let (_, every) = schedule(&app, "every-second").await;
    assert_eq!(every["isPaused"], true);
    app.qstash(reqwest::Method::PATCH, "/v2/schedules/every-second/resume").send().await.unwrap();
    let resumed = ticks_made(&app).await;
    wait_until_async("ticks resume", || async { ticks_made(&app).await >= resumed + 2 }).await;

    // Down for a while with 72 hourly ticks missed: one is published at start, not one per miss,
    // and the every-second schedule goes on.
    create_schedule(
        &app,
        format!("{public}/new-year"),
        &[("Upstash-Cron", "0 * * * *"), ("Upstash-Schedule-Id", "new-year"), ("Upstash-Queue-Name", "yearly")],
    )
    .await
    .unwrap();
    app.crash();
    let pool = app.db().await;
    let three_days_ago = scout::db::now_ms() - 3 * 86_400_000;
    sqlx::query("UPDATE qstash_schedules SET next_run = $1 WHERE schedule_id = 'new-year'")
        .bind(three_days_ago)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let before_restart = ticks_made(&app).await;
    app.restart().await;
    wait_until_async("ticks go on after the restart", || async { ticks_made(&app).await >= before_restart + 2 }).await;
    wait_until("the overdue tick is delivered", || !calls_to(&calls, "/new-year").is_empty()).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(calls_to(&calls, "/new-year").len(), 1, "a missed tick is delivered once");
    let (_, yearly) = schedule(&app, "new-year").await;
    assert!(yearly["nextScheduleTime"].as_i64().unwrap() > scout::db::now_ms(), "{yearly}");
    assert_eq!(yearly["queueName"], "yearly");
    let message_id = yearly["lastScheduleStates"].as_object().unwrap().keys().next().unwrap().clone();
    let message = app.wait_for_message_state(&message_id, "delivered").await;
    assert_eq!((message["scheduleId"].as_str(), message["queueName"].as_str()), (Some("new-year"), Some("yearly")));
    let listed: Value = app.qstash(reqwest::Method::GET, "/v2/schedules").send().await.unwrap().json().await.unwrap();
    let ids: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["scheduleId"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["every-second", "new-year"]);

    // Deleted: gone, and no more ticks.
    assert_eq!(app.qstash(reqwest::Method::DELETE, "/v2/schedules/every-second").send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(schedule(&app, "every-second").await.0, StatusCode::NOT_FOUND);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let at_delete = ticks_made(&app).await;
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_eq!(ticks_made(&app).await, at_delete, "a deleted schedule ticked");

    // What is refused, in JSON.
    let healthz = format!("{public}/tick");
    for (destination, headers, status) in [
        (healthz.clone(), vec![], StatusCode::BAD_REQUEST),
        (healthz.clone(), vec![("Upstash-Cron", "every minute")], StatusCode::BAD_REQUEST),
        (healthz.clone(), vec![("Upstash-Cron", "CRON_TZ=Europe/Paris 0 9 * * *")], StatusCode::BAD_REQUEST),
        (healthz.clone(), vec![("Upstash-Cron", "* * * * *"), ("Upstash-Not-Before", "1900000000")], StatusCode::BAD_REQUEST),
        (healthz.clone(), vec![("Upstash-Cron", "* * * * *"), ("Upstash-Schedule-Id", "no good")], StatusCode::BAD_REQUEST),
        (healthz.clone(), vec![("Upstash-Cron", "* * * * *"), ("Upstash-Delay", "later")], StatusCode::BAD_REQUEST),
        ("http://169.254.169.254/latest".to_string(), vec![("Upstash-Cron", "* * * * *")], StatusCode::BAD_REQUEST),
        ("no-such-group".to_string(), vec![("Upstash-Cron", "* * * * *")], StatusCode::NOT_FOUND),
        (healthz.clone(), vec![("Upstash-Cron", "0 0 30 2 *")], StatusCode::BAD_REQUEST),
        (healthz.clone(), vec![("Upstash-Cron", "* * * * *"), ("Upstash-Delay", "400d")], StatusCode::BAD_REQUEST),
    ] {
        let response = create_schedule(&app, destination.clone(), &headers).await.unwrap();
        assert_eq!(response.status(), status, "{destination} {headers:?}");
        assert!(response.json::<Value>().await.unwrap()["error"].is_string());
    }
    for (method, path) in [
        (reqwest::Method::PATCH, "/v2/schedules/missing/pause"),
        (reqwest::Method::PATCH, "/v2/schedules/new-year/stop"),
        (reqwest::Method::GET, "/v2/schedules/missing"),
        (reqwest::Method::GET, "/v2/schedules/new-year/extra"),
        (reqwest::Method::DELETE, "/v2/schedules/missing"),
    ] {
        assert_eq!(app.qstash(method.clone(), path).send().await.unwrap().status(), StatusCode::NOT_FOUND, "{method} {path}");
    }
}

async fn wait_until_async<F: std::future::Future<Output = bool>>(what: &str, mut done: impl FnMut() -> F) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done().await {
        assert!(Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn create_schedule(app: &TestApp, destination: String, headers: &[(&str, &str)]) -> reqwest::Result<reqwest::Response> {
    let request = app.qstash(reqwest::Method::POST, &format!("/v2/schedules/{destination}")).body("tick");
    headers.iter().fold(request, |r, (k, v)| r.header(*k, *v)).send().await
}

async fn schedule(app: &TestApp, id: &str) -> (StatusCode, Value) {
    let response = app.qstash(reqwest::Method::GET, &format!("/v2/schedules/{id}")).send().await.unwrap();
    (response.status(), response.json::<Value>().await.unwrap())
}

/// Messages the `every-second` schedule has made.
async fn ticks_made(app: &TestApp) -> i64 {
    let pool = app.db().await;
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM qstash_messages WHERE schedule_id = 'every-second'").fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

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
    let active: Value = app
        .qstash(reqwest::Method::GET, "/v2/events?flowControlKey=three-a-second&state=ACTIVE")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let starts: Vec<i64> = active["events"].as_array().unwrap().iter().map(|e| e["time"].as_i64().unwrap()).collect();
    assert_eq!(starts.len(), 9);
    for start in &starts {
        let in_window = starts.iter().filter(|t| *t >= start && **t < start + 950).count();
        assert!(in_window <= 3, "{in_window} deliveries began within 950 ms: {starts:?}");
    }
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

async fn group_size(app: &TestApp, name: &str) -> usize {
    let group: Value = app.qstash(reqwest::Method::GET, &format!("/v2/topics/{name}")).send().await.unwrap().json().await.unwrap();
    group["endpoints"].as_array().unwrap().len()
}
