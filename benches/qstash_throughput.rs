//! Throughput of the QStash-compatible server (`make bench`): publishes per second, then signed
//! deliveries per second to a local no-op endpoint, on a fresh SQLite file, small JSON bodies.
//! Prints figures for BENCHMARKS.md; asserts nothing about time.
//!
//! `cargo bench --bench qstash_throughput --no-default-features --features ssr [-- MESSAGES [CONCURRENCY]]`

use scout::{
    config::DEV_QSTASH_TOKEN,
    qstash::standalone::{Standalone, StandaloneConfig},
};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let messages: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(5_000);
    let concurrency: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(32);

    // The no-op endpoint: counts what it is sent.
    let received = Arc::new(AtomicU64::new(0));
    let counter = received.clone();
    let endpoint = axum::Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::Relaxed);
            "ok"
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let destination = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, endpoint).await.unwrap() });

    let dir = std::env::temp_dir().join(format!("scout-qstash-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = format!("sqlite:{}", dir.join("qstash.db").display());
    let args: Vec<String> = ["--port", "0", "--database", &database].iter().map(|s| s.to_string()).collect();
    // QSTASH_DEV_DELIVERY_SLOTS from the environment, to compare slot counts.
    let config = StandaloneConfig::from_args(&args, |name| match name {
        "QSTASH_DEV_POLL_MS" => Some("20".to_string()),
        "QSTASH_DEV_DELIVERY_SLOTS" => std::env::var(name).ok(),
        _ => None,
    })
    .unwrap();
    let server = Standalone::build(config).await.unwrap();
    let base = format!("http://127.0.0.1:{}", server.port());
    tokio::spawn(server.run());

    // Publishes, all due at one moment a little later, so delivering does not compete with publishing.
    let due_at = chrono::Utc::now().timestamp() + 2 + (messages as i64 / 1_000);
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().unwrap();
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let publishers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, next, url) = (client.clone(), next.clone(), format!("{base}/v2/publish/{destination}"));
            tokio::spawn(async move {
                while (next.fetch_add(1, Ordering::Relaxed) as usize) < messages {
                    let response = client
                        .post(&url)
                        .bearer_auth(DEV_QSTASH_TOKEN)
                        .header("content-type", "application/json")
                        .header("Upstash-Not-Before", due_at.to_string())
                        .body(r#"{"hello":"world"}"#)
                        .send()
                        .await
                        .unwrap();
                    assert!(response.status().is_success(), "{}", response.status());
                }
            })
        })
        .collect();
    for publisher in publishers {
        publisher.await.unwrap();
    }
    let publish_secs = started.elapsed().as_secs_f64();
    println!("publishes: {messages} in {publish_secs:.2} s = {:.0}/s ({concurrency} concurrent clients)", messages as f64 / publish_secs);

    // Deliveries, from the moment they are due until the endpoint has them all.
    let wait = due_at * 1000 - chrono::Utc::now().timestamp_millis();
    assert!(wait > 0, "publishing took longer than planned; deliveries started early");
    tokio::time::sleep(Duration::from_millis(wait as u64)).await;
    let started = Instant::now();
    while (received.load(Ordering::Relaxed) as usize) < messages {
        assert!(started.elapsed() < Duration::from_secs(600), "only {} of {messages} delivered", received.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let deliver_secs = started.elapsed().as_secs_f64();
    println!("deliveries: {messages} signed deliveries in {deliver_secs:.2} s = {:.0}/s", messages as f64 / deliver_secs);
    let _ = std::fs::remove_dir_all(dir);
}
