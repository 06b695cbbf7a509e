//! Schedules on the embedded QStash server: each tick published once, also across a pause and a
//! restart; a tick missed while down published once.

use crate::{
    helpers::{spawn_app_with, Backend, TestApp},
    qstash_timed::*,
};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

crate::on_both_databases!(schedules_fire_each_tick_once_across_pauses_and_restarts);

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
