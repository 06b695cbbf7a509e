//! Delivery leases on the embedded QStash server: short, renewed while a delivery runs, so a long
//! delivery is never started twice and a dead instance's message is taken over soon.

use crate::{
    helpers::{spawn_app_with, Backend},
    qstash_timed::*,
};
use scout::db::qstash::{lease_due, record_attempts, release, renew, Attempt, AttemptRecord};
use serde_json::Value;

crate::on_both_databases!(a_delivery_longer_than_its_lease_renews_it_and_runs_once, a_delivery_that_lost_its_lease_records_nothing);

async fn a_delivery_longer_than_its_lease_renews_it_and_runs_once(backend: Backend) {
    let (public, calls) = spawn_timed_destination().await;
    // A 2 s lease and a 5 s call: without renewal the loop would lease the message again after 2 s
    // and call the destination a second time while the first call runs.
    let app = spawn_app_with(
        backend,
        &[("PUBLIC_URL", public.as_str()), ("QSTASH_DEV_LEASE_SECS", "2"), ("QSTASH_DEV_DELIVERY_TIMEOUT_SECS", "30")],
    )
    .await;
    let published = app.qstash(reqwest::Method::POST, &format!("/v2/publish/{public}/slow/once")).body("{}").send().await.unwrap();
    assert_eq!(published.status(), 200);
    let id = published.json::<Value>().await.unwrap()["messageId"].as_str().unwrap().to_string();

    let message = app.wait_for_message_state(&id, "delivered").await;

    assert_eq!(calls_to(&calls, "/slow/").len(), 1, "delivered once: {:#?}", calls_to(&calls, "/slow/"));
    assert_eq!(message["retried"], 0, "{message}");
}

async fn a_delivery_that_lost_its_lease_records_nothing(backend: Backend) {
    // The fence itself, on the database the delivery loop uses: a delivery whose lease lapsed and
    // was taken by another (an instance that stalled past its lease, then woke up) can neither renew,
    // hand back, nor record its outcome; the delivery holding the lease now records its own.
    let (public, _calls) = spawn_timed_destination().await;
    let app = spawn_app_with(backend, &[("PUBLIC_URL", public.as_str())]).await;
    // Due in an hour, so the app's own delivery loop leaves it alone; the test leases it "later".
    let published = app
        .qstash(reqwest::Method::POST, &format!("/v2/publish/{public}/fenced"))
        .header("Upstash-Delay", "1h")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 200);
    let id = published.json::<Value>().await.unwrap()["messageId"].as_str().unwrap().to_string();
    let db = scout::db::connect(&app.database_url).await.unwrap();
    let (not_before,): (i64,) =
        sqlx::query_as("SELECT not_before FROM qstash_messages WHERE id = $1").bind(&id).fetch_one(&db).await.unwrap();

    let first_lease = not_before + 10_000;
    let first = lease_due(&db, not_before, first_lease, 10, false).await.unwrap();
    assert_eq!(first.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [id.as_str()]);
    // Its lease lapses unrenewed; another delivery takes the message.
    let second_lease = first_lease + 10_000;
    let second = lease_due(&db, first_lease + 1, second_lease, 10, false).await.unwrap();
    assert_eq!(second.len(), 1, "taken over once the first lease lapsed");

    // The first delivery wakes up: nothing it does counts.
    assert!(!renew(&db, &id, first_lease, second_lease + 5_000).await.unwrap(), "no renewal of a lost lease");
    assert!(!release(&db, &id, first_lease).await.unwrap(), "no hand-back of a lost lease");
    let stale =
        AttemptRecord { id: &id, lease: first_lease, attempt: Attempt::retry(Some(500), "boom", not_before + 60_000), follow_ups: vec![] };
    assert_eq!(record_attempts(&db, &[stale]).await.unwrap(), [false], "no outcome recorded under a lost lease");
    let row: (String, i64, i64, Option<i64>) =
        sqlx::query_as("SELECT state, retried, locked_until, last_status FROM qstash_messages WHERE id = $1")
            .bind(&id)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(row, ("pending".to_string(), 0, second_lease, None), "untouched: still the second delivery's");
    let (errors,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM qstash_events WHERE message_id = $1 AND state IN ('ERROR', 'RETRY', 'DELIVERED')")
            .bind(&id)
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(errors, 0, "no event of the stale attempt");

    // The delivery holding the lease records its outcome.
    let current = AttemptRecord { id: &id, lease: second_lease, attempt: Attempt::delivered(200), follow_ups: vec![] };
    assert_eq!(record_attempts(&db, &[current]).await.unwrap(), [true]);
    let message = app.wait_for_message_state(&id, "delivered").await;
    assert_eq!(message["retried"], 0, "{message}");
}
