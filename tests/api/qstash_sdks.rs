//! The official QStash SDKs against the embedded server, unchanged: the Python SDK here (the JS SDK
//! runs in the end-to-end suite). A field the SDK requires, a state it does not know, or a signature
//! it does not accept fails the test.

use crate::helpers::{spawn_app, Backend};
use scout::{
    config::{DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN},
    qstash::signing::sign,
};
use serde_json::Value;

crate::on_both_databases!(the_official_python_sdk_works_against_the_embedded_server);

/// `make test` installs the SDK in a virtualenv and names its interpreter here.
pub fn python() -> String {
    std::env::var("SCOUT_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

async fn the_official_python_sdk_works_against_the_embedded_server(backend: Backend) {
    let app = spawn_app(backend).await;
    // A message that fails for good (the webhook refuses a body that is not a job step): a DLQ entry.
    let failing = app.url("/api/qstash/process-scraping");
    let published: Value = app
        .client
        .post(app.url(&format!("/v2/publish/{failing}")))
        .bearer_auth(DEV_QSTASH_TOKEN)
        .header("Upstash-Retries", "0")
        .body("{}")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = published["messageId"].as_str().unwrap();
    app.wait_for_message_state(id, "failed").await;
    // A signature exactly as the embedded server signs deliveries.
    let (signed_url, signed_body) = (app.url("/api/qstash/process-scraping"), r#"{"jobId":"j","step":0}"#);
    let signature = sign(DEV_CURRENT_SIGNING_KEY, &signed_url, signed_body.as_bytes(), chrono::Utc::now().timestamp(), "py");

    // (Blocking is fine: the app runs in its own runtime.)
    let output = std::process::Command::new(python())
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/sdk/qstash_python_check.py"))
        .env("QSTASH_URL", &app.address)
        .env("QSTASH_TOKEN", DEV_QSTASH_TOKEN)
        .env("APP_URL", &app.address)
        .env("FAILED_URL", &failing)
        .env("SIGNATURE", signature)
        .env("SIGNED_BODY", signed_body)
        .env("SIGNED_URL", &signed_url)
        .env("CURRENT_KEY", DEV_CURRENT_SIGNING_KEY)
        .env("NEXT_KEY", DEV_NEXT_SIGNING_KEY)
        .output()
        .expect("run the Python SDK check (make test installs the SDK; SCOUT_TEST_PYTHON names the interpreter)");
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the Python SDK check failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("python sdk ok"), "{stdout}\n{stderr}");
}
