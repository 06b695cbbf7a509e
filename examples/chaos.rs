//! `make chaos`: concurrent searches on the real `scout` binary while everything goes wrong at once —
//! provider fault bursts (500s, 429 with Retry-After, failing profile lookups), signed duplicate
//! deliveries of job steps, and the process killed (SIGKILL) or stopped for a deploy (SIGTERM) and
//! started again, mid-job, several times. Then it counts what a marketer would: searches finished,
//! creators lost or stored twice, and how long each search showed no progress after a restart.
//!
//! Usage (after `make build`): `cargo run --example chaos --features ssr -- [--database sqlite|postgres]
//! [--instances N] [--searches N] [--target N] [--kills N] [--latency-ms N] [--faults true|false]
//! [--keep true] [--bin target/scout]`. The SQLite database and the servers' logs stay in the folder
//! it names; a PostgreSQL database is dropped unless `--keep true`. It exits 1 when a search did not
//! finish, a creator was lost or stored twice, or a SIGTERM exit was not 0: correctness is checked,
//! the timings are only reported. `make chaos CHAOS_ARGS="…"` builds it as the tests are built.
//! With `--instances 2` or more (PostgreSQL), the instances share one database behind a small
//! round-robin proxy that is their `PUBLIC_URL`; each kill takes down one instance (in turn) while the
//! others keep serving, and starts it again.

// The integration tests' load balancer: round-robin over the instances that accept the connection.
#[allow(dead_code)]
#[path = "../tests/api/load_balancer.rs"]
mod load_balancer;

use base64::{engine::general_purpose::STANDARD, Engine};
use scout::{config::DEV_CURRENT_SIGNING_KEY, qstash::signing::sign};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const STEP_PATH: &str = "/api/qstash/process-scraping";
const KEYWORDS: [&str; 12] = [
    "home workout",
    "sourdough",
    "sea kayaking",
    "bouldering",
    "vegan baking",
    "trail running",
    "pottery",
    "calisthenics",
    "birdwatching",
    "kombucha",
    "film photography",
    "urban gardening",
];

struct Options {
    database: String,
    instances: usize,
    searches: usize,
    target: u32,
    kills: usize,
    latency_ms: u64,
    /// Provider fault bursts on (`--faults false` measures the recovery gaps alone).
    faults: bool,
    /// Keep the PostgreSQL database afterwards, for a look at what happened (`--keep true`).
    keep: bool,
    bin: String,
}

impl Options {
    fn parse() -> Self {
        let mut o = Options {
            database: "sqlite".into(),
            instances: 1,
            searches: 8,
            target: 1000,
            kills: 4,
            latency_ms: 300,
            faults: true,
            keep: false,
            bin: "target/scout".into(),
        };
        let args: Vec<String> = std::env::args().skip(1).collect();
        for pair in args.chunks(2) {
            let value = pair.get(1).cloned().unwrap_or_else(|| panic!("{} needs a value", pair[0]));
            let number = || value.parse::<u64>().unwrap_or_else(|_| panic!("{} takes a number", pair[0]));
            match pair[0].as_str() {
                "--database" => o.database = value.clone(),
                "--instances" => o.instances = number().max(1) as usize,
                "--searches" => o.searches = number().clamp(1, KEYWORDS.len() as u64) as usize,
                "--target" => o.target = number() as u32,
                "--kills" => o.kills = number() as usize,
                "--latency-ms" => o.latency_ms = number(),
                "--bin" => o.bin = value.clone(),
                "--faults" => o.faults = value != "false",
                "--keep" => o.keep = value == "true",
                other => panic!("unknown option {other}"),
            }
        }
        assert!(matches!(o.database.as_str(), "sqlite" | "postgres"), "--database is sqlite or postgres");
        assert!(o.instances == 1 || o.database == "postgres", "several instances share a PostgreSQL database");
        o
    }
}

/// One `scout` process, started again on the same port after each kill.
struct Instance {
    port: u16,
    child: Option<Child>,
    env: Vec<(String, String)>,
    bin: String,
    log: std::path::PathBuf,
}

/// A run that stops early (a failed check, a panic) leaves no server behind.
impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Instance {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(&self.bin)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", self.port))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} (run `make build` first): {e}", self.bin));
        self.child = Some(child);
    }

    /// SIGKILL, or SIGTERM and wait for the exit: its exit code and how long it took.
    async fn stop(&mut self, graceful: bool) -> (Option<i32>, Duration) {
        let mut child = self.child.take().expect("running");
        let began = Instant::now();
        if graceful {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        } else {
            let _ = child.kill();
        }
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return (status.code(), began.elapsed());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn wait_healthy(http: &reqwest::Client, base: &str) -> Instant {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "{base} did not become healthy");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What the monitor knows of one search.
#[derive(Default)]
struct Track {
    processed: u32,
    status: String,
    /// Set when an instance serves again after a kill, until the search moves.
    since_serving: Option<Instant>,
    /// When the kill happened, for the same wait measured from the kill.
    since_kill: Option<Instant>,
    said_recovering: bool,
    /// The search waited for the provider (a 429's pause, a retry's backoff) since the kill.
    provider_waited: bool,
    /// Which kill (0-based) the current wait follows.
    kill: usize,
}

#[derive(Default)]
struct Shared {
    tracks: HashMap<String, Track>,
    /// (from serving again, from the kill, whether the provider made it wait) per search and restart.
    /// (from serving again, from the kill, provider waited, kill number, search id)
    gaps: Vec<(Duration, Duration, bool, usize, String)>,
    duplicates_sent: usize,
    duplicate_answers: HashMap<u16, usize>,
    fault_bursts: usize,
    stop: bool,
}

fn random(seed: &mut u64) -> u64 {
    // xorshift: enough to vary which step is duplicated and which fault comes next.
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[tokio::main]
async fn main() {
    let o = Options::parse();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let dir = std::env::temp_dir().join(format!("scout-chaos-{run_id}"));
    std::fs::create_dir_all(&dir).unwrap();
    let admin_url = std::env::var("POSTGRES_ADMIN_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    sqlx::any::install_default_drivers();
    let database_url = match o.database.as_str() {
        "postgres" => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("PostgreSQL (POSTGRES_ADMIN_URL)");
            sqlx::query(&format!("CREATE DATABASE scout_chaos_{run_id}")).execute(&mut conn).await.unwrap();
            format!("{}/scout_chaos_{run_id}", admin_url.rsplit_once('/').unwrap().0)
        }
        _ => format!("sqlite:{}", dir.join("scout.db").display()),
    };
    let free_port = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();

    // With several instances, a round-robin proxy in front is their PUBLIC_URL (QStash calls it).
    let proxy = match o.instances {
        1 => None,
        _ => Some(load_balancer::LoadBalancer::spawn().await),
    };
    let mut instances: Vec<Instance> = (0..o.instances)
        .map(|i| {
            let port = free_port();
            let mut env = vec![
                ("DATABASE_URL", database_url.clone()),
                ("LEPTOS_SITE_ROOT", "target/site".into()),
                ("RUST_LOG", "scout=info,warn".into()),
                ("SIMULATOR_LATENCY_MS", o.latency_ms.to_string()),
                ("SIMULATOR_FAULTS", "true".into()),
                // Eight searches at once is the point; members' default limits would refuse most.
                ("SCOUT_LIMIT_RUNS_IN_FLIGHT", "0".into()),
                ("SCOUT_LIMIT_SEARCHES_PER_DAY", "0".into()),
            ];
            if let Some((_, public)) = &proxy {
                env.push(("PUBLIC_URL", public.clone()));
            }
            Instance {
                port,
                child: None,
                env: env.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                bin: o.bin.clone(),
                log: dir.join(format!("instance-{i}.log")),
            }
        })
        .collect();
    for instance in &mut instances {
        instance.start();
        wait_healthy(&http, &instance.base()).await;
        if let Some((balancer, _)) = &proxy {
            balancer.add(&instance.base());
        }
    }
    // The marketer's side: through the proxy when there is one.
    let front = proxy.as_ref().map(|(_, public)| public.clone()).unwrap_or_else(|| instances[0].base());
    if o.database == "postgres" && o.keep {
        println!("chaos: keeping the database {database_url}");
    }
    println!(
        "chaos: {} on {} ({} instance(s)), {} searches of {} creators, {} kills, simulator latency {} ms; logs in {}",
        o.bin,
        o.database,
        o.instances,
        o.searches,
        o.target,
        o.kills,
        o.latency_ms,
        dir.display()
    );

    // The first account, as on a new install (directly on one instance), and an API token for it.
    let setup = http
        .post(format!("{}/api/auth/setup", instances[0].base()))
        .json(&json!({"email": "chaos@scout.test", "password": "chaos monkey password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(setup.status(), 201, "setup: {}", setup.text().await.unwrap_or_default());
    let cookie = setup.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|v| v.starts_with("scout_session="));
    let cookie = cookie.and_then(|v| v.split(';').next()).expect("a session cookie").to_string();
    let token: Value = http
        .post(format!("{}/api/tokens", instances[0].base()))
        .header("cookie", cookie)
        .header("origin", instances[0].base())
        .json(&json!({"name": "chaos"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {}", token["token"].as_str().expect("a token")).parse().unwrap());
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).default_headers(headers).build().unwrap();
    let campaign: Value =
        http.post(format!("{front}/api/campaigns")).json(&json!({"name": "Chaos"})).send().await.unwrap().json().await.unwrap();
    let campaign = campaign["id"].as_str().expect("campaign created").to_string();
    let shared = Arc::new(Mutex::new(Shared::default()));
    let mut jobs = Vec::new();
    for keyword in KEYWORDS.iter().take(o.searches) {
        let body = json!({"campaignId": campaign, "keywords": [keyword], "targetResults": o.target});
        let started: Value = http.post(format!("{front}/api/scraping/tiktok")).json(&body).send().await.unwrap().json().await.unwrap();
        let id = started["jobId"].as_str().unwrap_or_else(|| panic!("search not started: {started}")).to_string();
        shared.lock().unwrap().tracks.insert(id.clone(), Track::default());
        jobs.push((id, keyword.to_string()));
    }
    let began = Instant::now();

    let monitor = tokio::spawn(monitor(http.clone(), front.clone(), shared.clone()));
    let faults = tokio::spawn(fault_bursts(o.faults, http.clone(), instances.iter().map(Instance::base).collect(), shared.clone()));
    let duplicates = tokio::spawn(duplicate_deliveries(http.clone(), front.clone(), database_url.clone(), shared.clone()));

    // Kills spread over the run: at 1/(k+1), 2/(k+1), … of all creators found. SIGKILL and SIGTERM
    // alternate; with several instances, each kill takes the next one in turn.
    let total = o.target as u64 * o.searches as u64;
    let mut stops = Vec::new();
    let db = sqlx::any::AnyPoolOptions::new().max_connections(2).connect(&database_url).await.unwrap();
    // (step message of a live search at a kill, epoch ms from which it could be delivered: when an
    // instance served again, or later when it was due): when that message was leased again tells how
    // long the step waited to be taken over.
    let mut in_flight_at_kills: Vec<(String, i64)> = Vec::new();
    for kill in 0..o.kills {
        let at = total * (kill as u64 + 1) / (o.kills as u64 + 1);
        loop {
            let (found, running) = {
                let s = shared.lock().unwrap();
                (s.tracks.values().map(|t| t.processed as u64).sum::<u64>(), s.tracks.values().any(|t| !terminal(&t.status)))
            };
            if found >= at || !running {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let graceful = kill % 2 == 1;
        let victim = kill % instances.len();
        let killed_at = Instant::now();
        let (code, took) = instances[victim].stop(graceful).await;
        // The step message of every live search, and when it is due (a retry's backoff or a planned
        // pause may put that after the restart).
        let steps: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.id, m.not_before FROM scraping_jobs j JOIN qstash_messages m ON m.id = j.qstash_message_id
             WHERE j.status IN ('pending', 'processing') AND m.state = 'pending'",
        )
        .fetch_all(&db)
        .await
        .unwrap();
        instances[victim].start();
        let serving = wait_healthy(&http, &instances[victim].base()).await;
        // With another instance serving all along, a search should move on from the kill itself.
        let serving = if instances.len() > 1 { killed_at } else { serving };
        let serving_ms = epoch_ms() - serving.elapsed().as_millis() as i64;
        in_flight_at_kills.extend(steps.into_iter().map(|(message, due)| (message, serving_ms.max(due))));
        {
            let mut s = shared.lock().unwrap();
            for track in s.tracks.values_mut().filter(|t| !terminal(&t.status)) {
                track.since_serving = Some(serving);
                track.since_kill = Some(killed_at);
                track.provider_waited = false;
                track.kill = kill;
            }
        }
        let signal = if graceful { "SIGTERM" } else { "SIGKILL" };
        println!(
            "  {:>6.1}s  {signal} instance {victim}: exit {} after {:.1}s, serving again {:.1}s after the kill",
            began.elapsed().as_secs_f64(),
            code.map(|c| c.to_string()).unwrap_or_else(|| "by signal".into()),
            took.as_secs_f64(),
            (serving.max(killed_at) - killed_at).as_secs_f64()
        );
        stops.push((graceful, code));
    }

    let deadline = Instant::now() + Duration::from_secs(1800);
    loop {
        let running = shared.lock().unwrap().tracks.values().any(|t| !terminal(&t.status));
        if !running {
            break;
        }
        assert!(Instant::now() < deadline, "searches still running after 30 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let wall = began.elapsed();
    shared.lock().unwrap().stop = true;
    let _ = tokio::join!(monitor, faults, duplicates);
    // The last duplicates' answers (each send times out after 30 s).
    let answered = Instant::now();
    while answered.elapsed() < Duration::from_secs(35) {
        let s = shared.lock().unwrap();
        if s.duplicate_answers.values().sum::<usize>() >= s.duplicates_sent {
            break;
        }
        drop(s);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // How long each step of a live search at a kill waited, from when an instance served again (or
    // it was due), until a delivery leased it (its `ACTIVE` event); none when it ended otherwise.
    let mut takeovers = Vec::new();
    for (message, serving_ms) in &in_flight_at_kills {
        let (leased,): (Option<i64>,) =
            sqlx::query_as("SELECT MIN(created_at) FROM qstash_events WHERE message_id = $1 AND state = 'ACTIVE' AND created_at >= $2")
                .bind(message)
                .bind(serving_ms)
                .fetch_one(&db)
                .await
                .unwrap();
        if let Some(leased) = leased {
            takeovers.push(Duration::from_millis((leased - serving_ms).max(0) as u64));
        }
    }
    // What was stored, straight from the database: each creator of a search once, as many as it said.
    let (mut finished, mut lost, mut duplicated) = (0, 0i64, 0i64);
    // For scale: the times between a search's saves (a step's length under this load), kills or not.
    let mut between_saves: Vec<i64> = Vec::new();
    for (id, keyword) in &jobs {
        let saved: Vec<(i64,)> =
            sqlx::query_as("SELECT created_at FROM creators WHERE job_id = $1 ORDER BY created_at").bind(id).fetch_all(&db).await.unwrap();
        // One step's creators are inserted within moments of each other; a second apart is another save.
        between_saves.extend(saved.windows(2).map(|w| w[1].0 - w[0].0).filter(|gap| *gap >= 1000));
        let (status, processed): (String, i64) =
            sqlx::query_as("SELECT status, processed_results FROM scraping_jobs WHERE id = $1").bind(id).fetch_one(&db).await.unwrap();
        let (rows, handles): (i64, i64) = sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT handle) FROM creators WHERE job_id = $1")
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap();
        finished += (status == "completed" && processed == o.target as i64) as usize;
        lost += (processed - handles).max(0);
        duplicated += rows - handles;
        println!("  {keyword:<18} {status:<10} {processed:>5} reported, {rows:>5} stored, {handles:>5} distinct");
    }
    between_saves.sort_unstable();
    let median_between_saves = between_saves.get(between_saves.len() / 2).copied().unwrap_or_default() as f64 / 1000.0;
    let s = shared.lock().unwrap();
    let longest = s.gaps.iter().map(|g| g.0).max().unwrap_or_default();
    // The three longest waits, to see which kill and search they followed (the logs tell the rest).
    let mut worst: Vec<_> = s.gaps.iter().collect();
    worst.sort_by_key(|g| std::cmp::Reverse(g.0));
    for (gap, _, waited, kill, id) in worst.iter().take(3) {
        let keyword = jobs.iter().find(|(j, _)| j == id).map(|(_, k)| k.as_str()).unwrap_or("?");
        let how = if kill % 2 == 1 { "SIGTERM" } else { "SIGKILL" };
        println!("  gap {:.1}s after kill {} ({how}): {keyword} (job {id}){}", gap.as_secs_f64(), kill + 1, if *waited { ", provider waited" } else { "" });
    }
    let longest_from_kill = s.gaps.iter().map(|g| g.1).max().unwrap_or_default();
    let longest_without_provider_waits = s.gaps.iter().filter(|g| !g.2).map(|g| g.0).max().unwrap_or_default();
    let said = s.tracks.values().filter(|t| t.said_recovering).count();
    let sigterm_exits: Vec<String> =
        stops.iter().filter(|s| s.0).map(|s| s.1.map(|c| c.to_string()).unwrap_or_else(|| "signal".into())).collect();
    // A duplicate delivery is signed as QStash signs one: refusing it would be a receiver bug.
    let duplicates_refused: usize = s.duplicate_answers.iter().filter(|(status, _)| matches!(status, 401 | 403)).map(|(_, n)| n).sum();
    let mut answers: Vec<_> = s.duplicate_answers.iter().collect();
    answers.sort();
    println!(
        "RESULT database={} instances={} searches={} target={} latency_ms={} faults={} wall={:.0}s jobs_finished={finished}/{} creators_lost={lost} \
         creators_duplicated={duplicated} duplicates_sent={} duplicate_answers={answers:?} fault_bursts={} kills={} \
         sigterm_exit_codes=[{}] steps_taken_over={} longest_takeover_after_restart={:.1}s longest_gap_after_restart={:.1}s (without provider waits {:.1}s) longest_gap_after_kill={:.1}s median_time_between_saves={median_between_saves:.1}s \
         searches_shown_recovering={said}",
        o.database,
        o.instances,
        o.searches,
        o.target,
        o.latency_ms,
        o.faults,
        wall.as_secs_f64(),
        jobs.len(),
        s.duplicates_sent,
        s.fault_bursts,
        stops.len(),
        sigterm_exits.join(","),
        takeovers.len(),
        takeovers.iter().max().copied().unwrap_or_default().as_secs_f64(),
        longest.as_secs_f64(),
        longest_without_provider_waits.as_secs_f64(),
        longest_from_kill.as_secs_f64(),
    );
    drop(s);
    for instance in &mut instances {
        let _ = instance.stop(false).await;
    }
    db.close().await;
    if o.database == "postgres" && !o.keep {
        use sqlx::Connection;
        if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS scout_chaos_{run_id} WITH (FORCE)")).execute(&mut conn).await;
        }
    }
    let mut failures = Vec::new();
    if finished < jobs.len() {
        failures.push(format!("{} of {} searches did not finish with their target", jobs.len() - finished, jobs.len()));
    }
    if lost > 0 || duplicated > 0 {
        failures.push(format!("{lost} creators lost, {duplicated} duplicated"));
    }
    if let Some(code) = sigterm_exits.iter().find(|c| *c != "0") {
        failures.push(format!("a SIGTERM ended with exit {code}"));
    }
    if duplicates_refused > 0 {
        failures.push(format!("{duplicates_refused} signed duplicate deliveries refused (401/403)"));
    }
    match failures.is_empty() {
        true => println!("PASS: every search finished, nothing lost or duplicated, every SIGTERM exited 0, no duplicate delivery refused"),
        false => println!("FAIL: {}", failures.join("; ")),
    }
    std::process::exit(if failures.is_empty() { 0 } else { 1 });
}

fn epoch_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

fn terminal(status: &str) -> bool {
    scout::shared::JobStatus::parse(status).is_some_and(|s| s.is_terminal())
}

/// Reads every running search's status every 200 ms, as the page does, and records how long each
/// showed no progress after an instance was serving again.
async fn monitor(http: reqwest::Client, front: String, shared: Arc<Mutex<Shared>>) {
    while !shared.lock().unwrap().stop {
        let ids: Vec<String> =
            shared.lock().unwrap().tracks.iter().filter(|(_, t)| !terminal(&t.status)).map(|(id, _)| id.clone()).collect();
        for id in ids {
            let Ok(answer) = http.get(format!("{front}/api/jobs/{id}/progress")).timeout(Duration::from_secs(2)).send().await else {
                continue;
            };
            let Ok(job) = answer.json::<Value>().await else { continue };
            let processed = job["processedResults"].as_u64().unwrap_or(0) as u32;
            let status = job["status"].as_str().unwrap_or_default().to_string();
            let mut s = shared.lock().unwrap();
            let track = s.tracks.get_mut(&id).unwrap();
            if job["waitingReason"] == "recovery" {
                track.said_recovering = true;
            }
            if job["waitingReason"] == "provider_rate_limit" || job["waitingReason"] == "retry_backoff" {
                track.provider_waited = true;
            }
            let moved = processed != track.processed || (terminal(&status) && !terminal(&track.status));
            track.processed = processed;
            track.status = status;
            if moved {
                if let (Some(serving), Some(kill)) = (track.since_serving.take(), track.since_kill.take()) {
                    let now = Instant::now();
                    let provider_waited = std::mem::take(&mut track.provider_waited);
                    let kill_no = track.kill;
                    s.gaps.push((now.saturating_duration_since(serving), now - kill, provider_waited, kill_no, id.clone()));
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every 3 s a burst of provider trouble on one instance's simulator: 500s on searches, 429s with a
/// 2 s Retry-After, or failing profile lookups.
async fn fault_bursts(on: bool, http: reqwest::Client, bases: Vec<String>, shared: Arc<Mutex<Shared>>) {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let bursts = [
        json!({"status": 500, "count": 4, "endpoint": "search"}),
        json!({"status": 429, "count": 3, "retryAfter": 2, "endpoint": "search"}),
        json!({"status": 500, "count": 12, "endpoint": "profile"}),
        json!({"status": 429, "count": 4, "retryAfter": 2, "endpoint": "profile"}),
    ];
    while !shared.lock().unwrap().stop {
        tokio::time::sleep(Duration::from_secs(3)).await;
        if !on {
            continue;
        }
        let burst = &bursts[(random(&mut seed) % bursts.len() as u64) as usize];
        let base = &bases[(random(&mut seed) % bases.len() as u64) as usize];
        let sent = http
            .post(format!("{base}/simulator/scrapecreators/_faults"))
            .header("x-api-key", scout::config::SIMULATOR_API_KEY)
            .json(burst)
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if sent {
            shared.lock().unwrap().fault_bursts += 1;
        }
    }
}

/// Twice a second, one of the latest job-step messages delivered again (answers counted by status, 0
/// for none), signed as QStash signs a
/// redelivery (a fresh token for the same body), as at-least-once delivery may.
async fn duplicate_deliveries(http: reqwest::Client, front: String, database_url: String, shared: Arc<Mutex<Shared>>) {
    let db = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(&database_url).await.unwrap();
    let mut seed = 0xD1B5_4A32_D192_ED03u64;
    while !shared.lock().unwrap().stop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let latest: Vec<(String, String)> = sqlx::query_as(
            "SELECT id, body FROM qstash_messages WHERE destination LIKE $1 AND state <> 'cancelled' ORDER BY created_at DESC LIMIT 8",
        )
        .bind(format!("%{STEP_PATH}"))
        .fetch_all(&db)
        .await
        .unwrap_or_default();
        if latest.is_empty() {
            continue;
        }
        let (id, body) = latest[(random(&mut seed) % latest.len() as u64) as usize].clone();
        let body = STANDARD.decode(body).unwrap_or_default();
        let url = format!("{front}{STEP_PATH}");
        let token =
            sign(DEV_CURRENT_SIGNING_KEY, &url, &body, chrono::Utc::now().timestamp(), &format!("jwt_{}", uuid::Uuid::new_v4().simple()));
        let request = http
            .post(&url)
            .header("Upstash-Signature", token)
            .header("Upstash-Message-Id", id)
            .header("Upstash-Retried", "0")
            .header("content-type", "application/json")
            .body(body);
        shared.lock().unwrap().duplicates_sent += 1;
        // Not awaited here: a duplicate of a step in flight runs (or waits for) that step, which
        // takes seconds, and the next duplicate should not wait for it.
        let shared = shared.clone();
        tokio::spawn(async move {
            let answer = request.send().await;
            let status = answer.map(|a| a.status().as_u16()).unwrap_or(0);
            *shared.lock().unwrap().duplicate_answers.entry(status).or_default() += 1;
        });
    }
}
