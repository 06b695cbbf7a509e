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

crate::on_both_databases!(the_standalone_server_delivers_to_any_app_signed_as_qstash_does);

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
