//! Several instances on one PostgreSQL database with the embedded QStash server, as behind a load
//! balancer: they share the deliveries, never take one another's in-flight one, and when one dies the
//! others carry its searches on.

use crate::{
    helpers::{assert_completed, spawn_app_with, Backend},
    load_balancer::LoadBalancer,
    qstash_timed::*,
};
use serde_json::{json, Value};
use std::{collections::HashSet, time::Duration};

const JOB_LIMIT: Duration = Duration::from_secs(120);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_the_deliveries_and_each_message_is_delivered_once() {
    let (public, calls) = spawn_timed_destination().await;
    let first = spawn_app_with(Backend::Postgres, &[("PUBLIC_URL", public.as_str())]).await;
    let second = first.another_instance().await;
    // 64 calls of 300 ms: more than one instance's delivery slots take at once, so both loops lease.
    let mut ids = Vec::new();
    for i in 0..64 {
        let via = if i % 2 == 0 { &first } else { &second };
        let published = via.qstash(reqwest::Method::POST, &format!("/v2/publish/{public}/shared/{i}")).body("{}").send().await.unwrap();
        assert_eq!(published.status(), 200);
        ids.push(published.json::<Value>().await.unwrap()["messageId"].as_str().unwrap().to_string());
    }
    for id in &ids {
        let message = first.wait_for_message_state(id, "delivered").await;
        assert_eq!(message["retried"], 0, "{message}");
    }

    let delivered = calls_to(&calls, "/shared/");
    let paths: HashSet<_> = delivered.iter().map(|c| c.path.clone()).collect();
    assert_eq!((delivered.len(), paths.len()), (64, 64), "each message called exactly once");
    let (by_first, by_second) = (first.deliveries_started().await, second.deliveries_started().await);
    assert_eq!(by_first + by_second, 64, "no delivery started twice");
    assert!(by_first > 0 && by_second > 0, "both instances took a share: {by_first} and {by_second}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_job_leaves_the_search_to_the_other() {
    // Two instances behind a load balancer that QStash calls (`PUBLIC_URL`), 3 s leases.
    let (balancer, public) = LoadBalancer::spawn().await;
    let settings = [("PUBLIC_URL", public.as_str()), ("SIMULATOR_LATENCY_MS", "20"), ("QSTASH_DEV_LEASE_SECS", "3")];
    let mut first = spawn_app_with(Backend::Postgres, &settings).await;
    let survivor = first.another_instance().await;
    balancer.add(&first.address);
    balancer.add(&survivor.address);

    // The marketer's browser talks to the load balancer too.
    let campaign = survivor.create_campaign("Two instances").await;
    let started = survivor
        .client
        .post(format!("{public}/api/scraping/tiktok"))
        .json(&json!({"campaignId": campaign, "keywords": ["sea kayaking"], "targetResults": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 200);
    let job_id = started.json::<Value>().await.unwrap()["jobId"].as_str().unwrap().to_string();

    // Mid-job: some creators saved, and the first instance is running a step (it answered the
    // step's webhook call) when it dies.
    let deadline = std::time::Instant::now() + JOB_LIMIT;
    loop {
        let job = survivor.job(&job_id).await;
        assert!(!job.status.is_terminal(), "the job ended before the kill: {job:?}");
        if job.processed_results > 0 && balancer.running_a_step().as_deref() == Some(first.address.as_str()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the first instance never ran a step: {job:?}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let steps_before = balancer.steps_answered(&survivor.address);
    first.crash();

    let job = survivor.wait_for_terminal(&job_id, JOB_LIMIT).await;
    assert_completed(&job);
    assert_eq!(job.processed_results, 1000);
    let rows = survivor.csv_rows(&campaign, &job_id).await;
    assert_eq!(rows.len(), 1000, "every creator once");
    assert_eq!(rows.iter().map(|r| r[0].to_string()).collect::<HashSet<_>>().len(), 1000, "no creator twice");
    assert!(balancer.steps_answered(&survivor.address) > steps_before, "the survivor ran the rest of the job's steps");
    assert!(survivor.deliveries_started().await > 0);
    // A delivery the balancer answered 502 for (its instance died under it) is retried after 2 s,
    // not QStash's first 12 s: every step message says so.
    let pool = survivor.db().await;
    let delays: Vec<(Option<String>,)> =
        sqlx::query_as("SELECT retry_delay FROM qstash_messages WHERE destination LIKE '%/api/qstash/process-scraping'").fetch_all(&pool).await.unwrap();
    pool.close().await;
    assert!(!delays.is_empty());
    assert!(delays.iter().all(|(d,)| d.as_deref() == Some(scout::jobs::publisher::STEP_RETRY_DELAY)), "{delays:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queues_flow_control_and_schedules_hold_across_two_instances() {
    // Both delivery loops lease from the same tables, so each limit must hold for the pair, not per
    // instance: a queue's parallelism, a flow-control key's parallelism and rate, one message per
    // schedule tick.
    let (public, calls) = spawn_timed_destination().await;
    let first = spawn_app_with(Backend::Postgres, &[("PUBLIC_URL", public.as_str())]).await;
    let second = first.another_instance().await;
    let both = [&first, &second];

    assert_eq!(first.upsert_queue(json!({"queueName": "orders", "parallelism": 2})).await, reqwest::StatusCode::OK);
    for i in 0..10 {
        both[i % 2].enqueue("orders", &format!("{public}/q/{i}")).await;
    }
    let publish = |app: &crate::helpers::TestApp, path: String, key: &'static str, value: &'static str| {
        app.qstash(reqwest::Method::POST, &format!("/v2/publish/{public}{path}"))
            .header("Upstash-Flow-Control-Key", key)
            .header("Upstash-Flow-Control-Value", value)
            .body("{}")
            .send()
    };
    for i in 0..8 {
        assert_eq!(publish(both[i % 2], format!("/fp/{i}"), "one-at-once", "parallelism=1").await.unwrap().status(), 200);
    }
    for i in 0..9 {
        assert_eq!(publish(both[i % 2], format!("/fr/{i}"), "three-a-second", "rate=3, period=1s").await.unwrap().status(), 200);
    }
    let started = std::time::Instant::now();
    let scheduled = first
        .qstash(reqwest::Method::POST, &format!("/v2/schedules/{public}/tick"))
        .header("Upstash-Cron", "* * * * * *")
        .header("Upstash-Schedule-Id", "every-second")
        .body("tick")
        .send()
        .await
        .unwrap();
    assert_eq!(scheduled.status(), 200);

    wait_until("everything is delivered", || {
        calls_to(&calls, "/q/").len() == 10 && calls_to(&calls, "/fp/").len() == 8 && calls_to(&calls, "/fr/").len() == 9
    })
    .await;
    wait_until("four ticks are delivered", || calls_to(&calls, "/tick").len() >= 4).await;
    let deleted = second.qstash(reqwest::Method::DELETE, "/v2/schedules/every-second").send().await.unwrap();
    assert!(deleted.status().is_success(), "{}", deleted.status());
    let elapsed = started.elapsed().as_secs() as i64;

    let queued = calls_to(&calls, "/q/");
    assert_eq!(most_at_once(&queued), 2, "the queue's parallelism, for both instances together: {queued:#?}");
    assert_in_queue_order(&queued, "/q/", 2);
    let one_at_once = calls_to(&calls, "/fp/");
    assert_eq!(most_at_once(&one_at_once), 1, "{one_at_once:#?}");
    let starts = first.flow_starts("three-a-second").await;
    assert_eq!(starts.len(), 9, "each rate-limited message started once");
    // 900 ms: the events are stamped a little after the lease that the rate counts.
    assert_rate(&starts, 3, 900);
    let pool = first.db().await;
    let (ticks,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM qstash_messages WHERE schedule_id = 'every-second'").fetch_one(&pool).await.unwrap();
    pool.close().await;
    assert!(ticks <= elapsed + 2, "one message per tick, not one per instance: {ticks} in {elapsed} s");
    // Every delivery was started by exactly one of the two.
    wait_until_async("the last ticks are delivered", || async {
        let delivered = calls_to(&calls, "/").len() as u64;
        first.deliveries_started().await + second.deliveries_started().await == delivered
    })
    .await;
}
