//! Delivery leases on the embedded QStash server: short, renewed while a delivery runs, so a long
//! delivery is never started twice and a dead instance's message is taken over soon.

use crate::{
    helpers::{spawn_app_with, Backend},
    qstash_timed::*,
};
use serde_json::Value;

crate::on_both_databases!(a_delivery_longer_than_its_lease_renews_it_and_runs_once);

async fn a_delivery_longer_than_its_lease_renews_it_and_runs_once(backend: Backend) {
    let (public, calls) = spawn_timed_destination().await;
    // A 2 s lease and a 5 s call: without renewal the loop would lease the message again after 2 s
    // and call the destination a second time while the first call runs.
    let app = spawn_app_with(backend, &[("PUBLIC_URL", public.as_str()), ("QSTASH_DEV_LEASE_SECS", "2"), ("QSTASH_DEV_DELIVERY_TIMEOUT_SECS", "30")]).await;
    let published = app.qstash(reqwest::Method::POST, &format!("/v2/publish/{public}/slow/once")).body("{}").send().await.unwrap();
    assert_eq!(published.status(), 200);
    let id = published.json::<Value>().await.unwrap()["messageId"].as_str().unwrap().to_string();

    let message = app.wait_for_message_state(&id, "delivered").await;

    assert_eq!(calls_to(&calls, "/slow/").len(), 1, "delivered once: {:#?}", calls_to(&calls, "/slow/"));
    assert_eq!(message["retried"], 0, "{message}");
}
