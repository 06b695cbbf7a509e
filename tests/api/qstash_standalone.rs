//! `scout qstash-dev`: the QStash-compatible server on its own, delivering to another app.

use crate::{
    helpers::{create_postgres_database, Backend},
    qstash_server::{spawn_destination, wait_for_message_state_at},
};
use scout::{
    config::{DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN},
    qstash::{
        receiver::Receiver,
        standalone::{Standalone, StandaloneConfig},
    },
};
use serde_json::Value;

crate::on_both_databases!(
    the_standalone_server_delivers_to_any_app_signed_as_qstash_does,
    a_shutdown_lets_deliveries_finish_or_hands_them_back,
);

async fn the_standalone_server_delivers_to_any_app_signed_as_qstash_does(backend: Backend) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let scratch = std::env::temp_dir().join(format!("scout-qstash-dev-{id}"));
    let database = match backend {
        Backend::Sqlite => format!("sqlite:{}", scratch.join("qstash.db").display()),
        Backend::Postgres => create_postgres_database(&id).await,
    };
    let args: Vec<String> = ["--port", "0", "--database", &database].iter().map(|s| s.to_string()).collect();
    let config = StandaloneConfig::from_args(&args, |name| (name == "QSTASH_DEV_POLL_MS").then(|| "50".to_string())).unwrap();
    let server = Standalone::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run());

    // Another app, on its own port: the standalone server delivers to it.
    let (app, calls) = spawn_destination(None).await;
    let destination = format!("{app}/api/webhook?source=test");
    let client = reqwest::Client::new();
    let body = r#"{"hello":"world"}"#;
    let published: Value = client
        .post(format!("{base}/v2/publish/{destination}"))
        .bearer_auth(DEV_QSTASH_TOKEN)
        .header("content-type", "application/json")
        .header("Upstash-Forward-X-App", "other")
        .body(body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let message_id = published["messageId"].as_str().unwrap();
    wait_for_message_state_at(&client, &base, message_id, "delivered").await;
    let headers = calls.lock().unwrap()["/api/webhook"][0].1.clone();
    assert_eq!(headers["x-app"], "other");
    assert_eq!(headers["content-type"], "application/json");
    // Signed for the exact URL and body, with the dev signing keys the SDKs' receivers are given.
    let signature = headers["upstash-signature"].to_str().unwrap();
    Receiver::new(DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY).verify(Some(signature), body.as_bytes(), &destination).unwrap();
    // And the official Python SDK's receiver accepts the same delivery.
    let output = std::process::Command::new(crate::qstash_sdks::python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/qstash_python_receiver.py"))
        .env("SIGNATURE", signature)
        .env("BODY", body)
        .env("URL", &destination)
        .env("CURRENT_KEY", DEV_CURRENT_SIGNING_KEY)
        .env("NEXT_KEY", DEV_NEXT_SIGNING_KEY)
        .output()
        .expect("run the Python SDK's receiver (make test installs the SDK; SCOUT_TEST_PYTHON names the interpreter)");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success() && stdout.contains("python receiver ok"), "{stdout}\n{stderr}");

    // Never to itself (a message that publishes messages), by any loopback name.
    for own in [format!("{base}/v2/publish/{destination}"), base.replace("127.0.0.1", "localhost") + "/v2/batch"] {
        let refused = client.post(format!("{base}/v2/publish/{own}")).bearer_auth(DEV_QSTASH_TOKEN).body("{}").send().await.unwrap();
        assert_eq!(refused.status(), 400, "{own}");
    }
    let keys: Value = client.get(format!("{base}/v2/keys")).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap().json().await.unwrap();
    assert_eq!(keys["current"], DEV_CURRENT_SIGNING_KEY);
    let _ = std::fs::remove_dir_all(scratch);
}

/// A standalone server on `database`, running until the returned sender fires; its address and the
/// task that ends when it has shut down.
async fn start_standalone(
    database: &str,
    grace_secs: &'static str,
) -> (String, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<anyhow::Result<()>>) {
    let args: Vec<String> = ["--port", "0", "--database", database].iter().map(|s| s.to_string()).collect();
    let config = StandaloneConfig::from_args(&args, |name| match name {
        "QSTASH_DEV_POLL_MS" => Some("50".to_string()),
        "SCOUT_SHUTDOWN_GRACE_SECS" => Some(grace_secs.to_string()),
        _ => None,
    })
    .unwrap();
    let server = Standalone::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", server.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(server.run_until(async move {
        let _ = stopped.await;
    }));
    (base, stop, running)
}

async fn message_state(database: &str, id: &str) -> (String, i64, i64) {
    let pool = sqlx::AnyPool::connect(database).await.unwrap();
    let row: (String, i64, i64) =
        sqlx::query_as("SELECT state, locked_until, retried FROM qstash_messages WHERE id = $1").bind(id).fetch_one(&pool).await.unwrap();
    pool.close().await;
    row
}

async fn a_shutdown_lets_deliveries_finish_or_hands_them_back(backend: Backend) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let scratch = std::env::temp_dir().join(format!("scout-qstash-dev-{id}"));
    let database = match backend {
        Backend::Sqlite => format!("sqlite:{}", scratch.join("qstash.db").display()),
        Backend::Postgres => create_postgres_database(&id).await,
    };
    // The destination answers `/slow` after 2.5 s.
    let (app, calls) = spawn_destination(None).await;
    let client = reqwest::Client::new();
    let publish_slow = |base: String| {
        let request = client.post(format!("{base}/v2/publish/{app}/slow")).bearer_auth(DEV_QSTASH_TOKEN).body("{}");
        async move { request.send().await.unwrap().json::<Value>().await.unwrap()["messageId"].as_str().unwrap().to_string() }
    };
    let slow_calls = || calls.lock().unwrap().get("/slow").map(Vec::len).unwrap_or(0);
    let wait_for_calls = |n: usize| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while slow_calls() < n {
            assert!(std::time::Instant::now() < deadline, "the destination was never called");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    };

    // Grace enough: the delivery in flight finishes and its outcome is recorded before the end.
    let (base, stop, running) = start_standalone(&database, "10").await;
    let finished = publish_slow(base).await;
    wait_for_calls(1).await;
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(message_state(&database, &finished).await.0, "delivered");

    // Too little grace: the delivery is handed back (due at once, no retry spent), and the next
    // server delivers it without waiting out the old lease.
    let (base, stop, running) = start_standalone(&database, "1").await;
    let handed_back = publish_slow(base).await;
    wait_for_calls(2).await;
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    assert_eq!(message_state(&database, &handed_back).await, ("pending".to_string(), 0, 0));
    let (base, stop, running) = start_standalone(&database, "10").await;
    wait_for_message_state_at(&client, &base, &handed_back, "delivered").await;
    assert_eq!(slow_calls(), 3);
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();
    let _ = std::fs::remove_dir_all(scratch);
}
