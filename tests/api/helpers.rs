//! `spawn_app()` and the `TestApp` helpers each test story is written with.

use scout::{
    config::{Config, DEV_CURRENT_SIGNING_KEY},
    qstash::signing::sign,
    shared::{JobStatus, JobView},
    startup::Application,
};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    path::PathBuf,
    time::{Duration, Instant},
};

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each listed scenario once per database backend.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::helpers::Backend::Postgres).await
                }
            )*
        }
    };
}

/// Where PostgreSQL tests create their databases; `make test` and CI point it at this machine's server.
fn postgres_admin_url() -> String {
    std::env::var("SCOUT_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The admin every test app is set up with (`spawn_app` creates it and an API token for it).
pub const ADMIN_EMAIL: &str = "admin@scout.test";
pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// Acts as the admin, with its API token (`Authorization: Bearer`).
    pub client: reqwest::Client,
    /// No credentials at all.
    pub anonymous: reqwest::Client,
    /// The admin's API token.
    pub token: String,
    /// What `/setup` asks for when the app is exposed (as printed in its log).
    pub setup_code: Option<String>,
    pub database_url: String,
    settings: HashMap<String, String>,
    runtime: Option<tokio::runtime::Runtime>,
    /// Asks the running app to shut down, as SIGTERM does; its answer is how `run` ended.
    stop: Option<(tokio::sync::oneshot::Sender<()>, tokio::sync::oneshot::Receiver<Result<(), String>>)>,
    scratch: Option<PathBuf>,
}

/// Settings that make jobs fast in tests: no simulated latency, compressed QStash backoff.
fn test_settings(database_url: &str) -> HashMap<String, String> {
    [
        ("DATABASE_URL", database_url),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0"),
        ("SIMULATOR_LATENCY_MS", "0"),
        ("SIMULATOR_FAULTS", "true"),
        ("SIMULATOR_PAGE_SIZE", "20"),
        ("SIMULATOR_RESULTS_PER_QUERY", "6000"),
        ("QSTASH_DEV_BACKOFF_SCALE", "0.001"),
        ("QSTASH_DEV_DELIVERY_TIMEOUT_SECS", "3"),
        ("QSTASH_DEV_POLL_MS", "50"),
        ("SCOUT_SWEEP_INTERVAL_SECS", "1"),
        ("SCOUT_STALL_AFTER_SECS", "20"),
        ("SCOUT_RATE_LIMIT_DELAY_SECS", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, &[]).await
}

/// A test app set up as a user would on first run: the admin account exists and `client` acts as it.
pub async fn spawn_app_with(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let mut app = spawn_unset_app(backend, overrides).await;
    // The code from the log, which an exposed instance asks for.
    let body = json!({"email": ADMIN_EMAIL, "password": PASSWORD, "setupCode": app.setup_code});
    let setup = app.anonymous.post(app.url("/api/auth/setup")).json(&body).send().await.unwrap();
    assert_eq!(setup.status(), 201, "setup: {}", setup.text().await.unwrap());
    let cookie = session_cookie(&setup);
    app.token = app.token_for_session(&cookie).await;
    app.client = bearer_client(&app.token);
    app
}

/// A test app before its first account exists (what `make run` starts on a new machine).
pub async fn spawn_unset_app(backend: Backend, overrides: &[(&str, &str)]) -> TestApp {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let (database_url, scratch) = match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("scout-test-{id}"));
            std::fs::create_dir_all(&dir).unwrap();
            (format!("sqlite:{}", dir.join("scout.db").display()), Some(dir))
        }
        Backend::Postgres => (create_postgres_database(&id).await, None),
    };
    let mut settings = test_settings(&database_url);
    for (k, v) in overrides {
        settings.insert(k.to_string(), v.to_string());
    }
    let plain = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut app = TestApp {
        address: String::new(),
        port: 0,
        client: plain.clone(),
        anonymous: plain,
        token: String::new(),
        setup_code: None,
        database_url,
        settings,
        runtime: None,
        stop: None,
        scratch,
    };
    app.start().await;
    app
}

/// A client that sends `token` as `Authorization: Bearer` on every request (unless the request sets
/// its own `Authorization`).
pub fn bearer_client(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).default_headers(headers).build().unwrap()
}

/// The `scout_session=…` pair of a response's `Set-Cookie`, ready for a `Cookie` header.
pub fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("scout_session="))
        .and_then(|v| v.split(';').next())
        .expect("a session cookie")
        .to_string()
}

/// Another account of the test app: its API client and its session cookie.
pub struct Member {
    pub email: String,
    pub id: String,
    pub client: reqwest::Client,
    pub cookie: String,
}

pub async fn create_postgres_database(id: &str) -> String {
    use sqlx::Connection;
    let admin = postgres_admin_url();
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required for the test suite ({admin}): {e}. Start it or set SCOUT_TEST_POSTGRES_URL."));
    let name = format!("scout_test_{id}");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.expect("create test database");
    let base = admin.rsplit_once('/').map(|(base, _)| base.to_string()).unwrap_or(admin);
    format!("{base}/{name}")
}

impl TestApp {
    /// Starts the server in its own runtime, so `crash()` can kill every task of it at once.
    async fn start(&mut self) {
        let settings = self.settings.clone();
        let config = Config::from_lookup(|k| settings.get(k).cloned()).expect("valid test config");
        let options = leptos::config::LeptosOptions::builder().output_name("scout").site_root("target/site").build();
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ended, end) = tokio::sync::oneshot::channel();
        runtime.spawn(async move {
            let app = Application::build(config, options).await.expect("app builds");
            let _ = tx.send((app.port(), app.setup_code()));
            let result = app.run_until(async move {
                let _ = stopped.await;
            });
            let _ = ended.send(result.await.map_err(|e| format!("{e:#}")));
        });
        self.stop = Some((stop, end));
        (self.port, self.setup_code) = rx.await.expect("app started");
        self.address = format!("http://127.0.0.1:{}", self.port);
        self.runtime = Some(runtime);
        self.wait_healthy().await;
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(r) = self.client.get(format!("{}/healthz", self.address)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("app did not become healthy");
    }

    /// Asks the app to stop as SIGTERM does (the signal handler's future completes) and waits until
    /// it has: how `run` ended (`Ok` is exit 0).
    /// The app keeps serving until it has stopped: await the answer to see how it ended.
    pub fn terminate(&mut self) -> impl std::future::Future<Output = Result<(), String>> {
        let (stop, end) = self.stop.take().expect("the app is running");
        let _ = stop.send(());
        async move { end.await.unwrap_or_else(|_| Err("the app's task ended without an answer".into())) }
    }

    /// Kills the app abruptly: every task, in-flight request and delivery stops where it is.
    pub fn crash(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Changes a setting for the next `restart` (as a redeploy with another configuration would).
    pub fn set(&mut self, key: &str, value: &str) {
        self.settings.insert(key.into(), value.into());
    }

    /// Starts the app again on the same port and database (QStash must still reach the same URL).
    pub async fn restart(&mut self) {
        self.crash();
        // The same address: the same host (loopback, or all interfaces) and the port it had.
        let host = self
            .settings
            .get("LEPTOS_SITE_ADDR")
            .and_then(|a| a.rsplit_once(':').map(|(h, _)| h.to_string()))
            .unwrap_or("127.0.0.1".into());
        self.settings.insert("LEPTOS_SITE_ADDR".into(), format!("{host}:{}", self.port));
        // The port may take a moment to be free again.
        for _ in 0..50 {
            if std::net::TcpListener::bind(("127.0.0.1", self.port)).is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.start().await;
    }

    /// Another instance of this app on the same database, as a second server behind a load balancer
    /// would be: the same settings (`PUBLIC_URL` too), its own port; the admin's token works on it.
    pub async fn another_instance(&self) -> TestApp {
        let mut settings = self.settings.clone();
        settings.insert("LEPTOS_SITE_ADDR".into(), "127.0.0.1:0".into());
        let mut instance = TestApp {
            address: String::new(),
            port: 0,
            client: self.client.clone(),
            anonymous: self.anonymous.clone(),
            token: self.token.clone(),
            setup_code: None,
            database_url: self.database_url.clone(),
            settings,
            runtime: None,
            stop: None,
            // The first instance owns the scratch folder.
            scratch: None,
        };
        instance.start().await;
        instance
    }

    /// How many deliveries this instance's embedded QStash server has started (`/healthz`).
    pub async fn deliveries_started(&self) -> u64 {
        let health: Value = self.get("/healthz").await.json().await.unwrap();
        health["qstashDeliveriesStarted"].as_u64().unwrap_or_else(|| panic!("no delivery count in {health}"))
    }

    /// Creates an API token through the page's way of signing in (the session cookie, same origin).
    pub async fn token_for_session(&self, cookie: &str) -> String {
        let response = self
            .anonymous
            .post(self.url("/api/tokens"))
            .header("cookie", cookie)
            .header("origin", &self.address)
            .json(&json!({"name": "tests"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_string()
    }

    /// Signs in through `POST /api/auth/login`; the response as it came.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.anonymous.post(self.url("/api/auth/login")).json(&json!({"email": email, "password": password})).send().await.unwrap()
    }

    /// An account the admin adds (`role` member or admin), signed in, with an API client.
    pub async fn add_account(&self, email: &str, role: &str) -> Member {
        let created = self.post_json("/api/users", &json!({"email": email, "password": PASSWORD, "role": role})).await;
        assert_eq!(created.status(), 201, "add account: {}", created.text().await.unwrap());
        let id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
        let login = self.login(email, PASSWORD).await;
        assert_eq!(login.status(), 200);
        let cookie = session_cookie(&login);
        let token = self.token_for_session(&cookie).await;
        Member { email: email.to_string(), id, client: bearer_client(&token), cookie }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn create_campaign(&self, name: &str) -> String {
        let response = self.post_json("/api/campaigns", &json!({"name": name, "description": "test"})).await;
        assert_eq!(response.status(), 201);
        response.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string()
    }

    pub async fn start_search(&self, campaign_id: &str, keywords: &[&str], target: u32) -> String {
        self.start_search_on("tiktok", campaign_id, keywords, target).await
    }

    /// Starts a keyword search on `platform` through `POST /api/scraping/{platform}`.
    pub async fn start_search_on(&self, platform: &str, campaign_id: &str, keywords: &[&str], target: u32) -> String {
        self.start_search_with(platform, json!({"campaignId": campaign_id, "keywords": keywords, "targetResults": target})).await
    }

    /// Starts a search on `platform` with a request body of the test's making.
    pub async fn start_search_with(&self, platform: &str, body: Value) -> String {
        let response = self.post_json(&format!("/api/scraping/{platform}"), &body).await;
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(body["qstashMessageId"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        body["jobId"].as_str().unwrap().to_string()
    }

    pub async fn job(&self, job_id: &str) -> JobView {
        let response = self.get(&format!("/api/jobs/{job_id}/progress")).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Polls the status endpoint (as the page does) until the job is terminal.
    pub async fn wait_for_terminal(&self, job_id: &str, within: Duration) -> JobView {
        let deadline = Instant::now() + within;
        loop {
            let job = self.job(job_id).await;
            if job.status.is_terminal() {
                return job;
            }
            assert!(
                Instant::now() < deadline,
                "job still {:?} at {}/{} after {within:?}",
                job.status,
                job.processed_results,
                job.target_results
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_until(&self, job_id: &str, within: Duration, done: impl Fn(&JobView) -> bool) -> JobView {
        let deadline = Instant::now() + within;
        loop {
            let job = self.job(job_id).await;
            if done(&job) {
                return job;
            }
            assert!(Instant::now() < deadline, "condition not reached; job is {job:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn add_fault(&self, fault: Value) {
        let response = self
            .client
            .post(self.url("/simulator/scrapecreators/_faults"))
            .header("x-api-key", scout::config::SIMULATOR_API_KEY)
            .json(&fault)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }

    /// A GET to the simulator, with its API key, as the provider client sends it.
    pub async fn simulator_get(&self, path_and_query: &str) -> Value {
        let url = self.url(&format!("/simulator/scrapecreators{path_and_query}"));
        let response = self.client.get(url).header("x-api-key", scout::config::SIMULATOR_API_KEY).send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    pub async fn simulator_stats(&self) -> Value {
        self.get("/simulator/scrapecreators/_stats").await.json().await.unwrap()
    }

    /// Delivers `body` to a webhook signed exactly as QStash signs (with the dev signing key).
    pub async fn deliver_signed(&self, path: &str, body: &str) -> reqwest::Response {
        // A fresh token id each time, as QStash signs every attempt afresh.
        let jti = format!("jwt_{}", uuid::Uuid::new_v4().simple());
        let token = sign(DEV_CURRENT_SIGNING_KEY, &self.url(path), body.as_bytes(), chrono::Utc::now().timestamp(), &jti);
        self.client
            .post(self.url(path))
            .header("Upstash-Signature", token)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    pub async fn csv_rows(&self, campaign_id: &str, job_id: &str) -> Vec<csv::StringRecord> {
        let response = self.get(&format!("/api/campaigns/{campaign_id}/export.csv?jobId={job_id}")).await;
        assert_eq!(response.status(), 200);
        let text = response.text().await.unwrap();
        let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        reader.records().map(Result::unwrap).collect()
    }

    /// A direct look at the database, for facts the API does not expose.
    pub async fn db(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::any::AnyPoolOptions::new().max_connections(2).connect(&self.database_url).await.unwrap()
    }

    pub async fn scalar(&self, sql: &str, job_id: &str) -> i64 {
        let pool = self.db().await;
        let (n,): (i64,) = sqlx::query_as(sql).bind(job_id).fetch_one(&pool).await.unwrap();
        pool.close().await;
        n
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.crash();
        if let Some(dir) = &self.scratch {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

pub fn assert_completed(job: &JobView) {
    assert_eq!(job.status, JobStatus::Completed, "{job:?}");
    assert_eq!(job.progress, 100);
}
