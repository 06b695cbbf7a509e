//! Builds the application from its configuration: database, clients, router, background tasks.
//! `main` and the integration tests both start the app through `Application`.

use crate::{
    api,
    app::{shell, App},
    config::Config,
    db::{self, qstash::identity::Identity, Db},
    guards::{self, AllowedHosts},
    jobs,
    providers::{apify::ApifyClient, scrapecreators::ScrapeCreatorsClient, Providers},
    qstash::{
        client::QstashClient,
        receiver::Receiver,
        server::{Destinations, DevServer},
        signing::{new_key, KeyPair, SigningKeys},
    },
    simulator::{self, Simulator},
    supervisor::Tasks,
};
use anyhow::Context;
use axum::{extract::FromRef, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{
    net::SocketAddr,
    sync::{atomic::AtomicBool, Arc},
};
use tokio::net::TcpListener;

/// The two base URLs the app needs once it knows its port.
#[derive(Clone, Debug)]
pub struct Urls {
    /// What QStash calls back; signatures are checked against it.
    pub public: String,
    /// How this process reaches itself (embedded QStash, simulator).
    pub internal: String,
}

impl Urls {
    pub fn webhook(&self) -> String {
        format!("{}/api/qstash/process-scraping", self.public)
    }
    pub fn failure_callback(&self) -> String {
        format!("{}/api/qstash/failed", self.public)
    }
}

/// Everything a handler or server function needs; provided to Leptos as context.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub config: Arc<Config>,
    pub urls: Arc<Urls>,
    pub qstash: QstashClient,
    pub receiver: Receiver,
    pub providers: Providers,
    /// Set once the first account exists (then it never goes back).
    pub set_up: Arc<AtomicBool>,
    /// The one-time code `/setup` asks for when Scout is reachable from other machines (printed in
    /// the log at start while setup is pending); `None` when Scout started already set up.
    pub setup_code: Arc<Option<String>>,
    /// The `Host` names this server answers to.
    pub allowed_hosts: Arc<AllowedHosts>,
    /// The supervised background tasks, as `/healthz` reports them.
    pub tasks: Tasks,
    /// Set when a shutdown begins: `/readyz` then fails, so a load balancer sends no new work.
    #[from_ref(skip)]
    pub stopping: Arc<AtomicBool>,
    /// The embedded QStash server, when this instance runs it (`/healthz` reports its deliveries).
    #[from_ref(skip)]
    pub dev_qstash: Option<DevServer>,
}

impl AppState {
    /// True when results come from the built-in simulator ("demo data").
    pub fn demo_data(&self) -> bool {
        self.config.uses_simulator()
    }
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    state: AppState,
    dev_qstash: Option<DevServer>,
}

impl Application {
    pub async fn build(config: Config, leptos_options: LeptosOptions) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.addr).await.with_context(|| format!("Failed to listen on {}", config.addr))?;
        let local = listener.local_addr().context("Failed to read the bound address")?;
        let internal = format!("http://{}", reachable(local));
        let urls = Urls { public: config.public_url.clone().unwrap_or_else(|| internal.clone()), internal };
        let db = db::connect(&config.database_url).await?;
        let mut config = config;
        // Exposed on Upstash's public dev identity, anyone could read the queue and forge deliveries:
        // the embedded server gets a token and keys of its own, made once and stored.
        // An instance on loopback beside an exposed one (same database) takes the stored identity too:
        // instances on two identities would keep reseeding each other's signing keys.
        if config.dev_qstash.enabled && !config.dev_qstash.identity_configured {
            let identity = match config.auth.exposed {
                true => {
                    let fresh = Identity { token: crate::auth::secret::generate(""), current_key: new_key(), next_key: new_key() };
                    Some(db::qstash::identity::load_or_store(&db, fresh).await.context("Failed to read the embedded QStash identity")?)
                }
                false => db::qstash::identity::load(&db).await.context("Failed to read the embedded QStash identity")?,
            };
            if let Some(identity) = identity {
                config.qstash.token = identity.token;
                config.qstash.current_signing_key = identity.current_key;
                config.qstash.next_signing_key = identity.next_key;
                tracing::info!("The embedded QStash server uses its own token and signing keys, made when Scout was first reachable from other machines (admins see them in Settings)");
            }
        }
        // The embedded server's keys may have been rotated (and are stored); real QStash's are the
        // configured ones. The receiver follows whichever are in use.
        let configured =
            KeyPair { current: config.qstash.current_signing_key.clone(), next: config.qstash.next_signing_key.clone(), previous: None };
        let keys = SigningKeys::new(match config.dev_qstash.enabled {
            true => db::qstash::keys::load_or_seed(&db, &configured.current, &configured.next, config.dev_qstash.identity_configured)
                .await
                .context("Failed to read the embedded QStash server's signing keys")?,
            false => configured,
        });
        let http = reqwest::Client::builder()
            .timeout(config.scrapecreators.request_timeout)
            .pool_max_idle_per_host(32)
            .build()
            .context("Failed to build the HTTP client")?;
        let set_up = db::users::setup_done(&db).await.context("Failed to read the accounts")?;
        // Made whenever setup is pending: it is asked for when Scout is exposed, or when a setup
        // request arrives through a proxy or from another machine.
        let setup_code = match set_up {
            true => None,
            false => Some(db::users::setup_code(&db, &crate::auth::secret::setup_code()).await.context("Failed to read the setup code")?),
        };
        if let Some(code) = &setup_code {
            tracing::warn!(
                "Scout has no account yet: open {}/setup to create the first (admin) one. Setup code, asked for from other machines or through a proxy: {code}",
                urls.public
            );
        }
        let allowed_hosts = AllowedHosts::new(local, &urls.public, &config.auth.allowed_hosts);
        let qstash_url = config.qstash.url.clone().unwrap_or_else(|| urls.internal.clone());
        let provider_url = config.scrapecreators.api_url.clone().unwrap_or_else(|| format!("{}{}", urls.internal, simulator::MOUNT));
        let lease_db = match config.dev_qstash.enabled {
            true => Some(db::connect_for_leases(&config.database_url).await?),
            false => None,
        };
        let dev_qstash = lease_db.map(|lease_db| {
            DevServer::new(
                db.clone(),
                lease_db,
                config.dev_qstash.clone(),
                &config.qstash.token,
                keys.clone(),
                Destinations::new(&[urls.public.clone(), urls.internal.clone()]),
            )
        });
        let state = AppState {
            leptos_options,
            dev_qstash: dev_qstash.clone(),
            receiver: Receiver::with_keys(keys.clone()).with_regions(&config.qstash.regional_keys),
            // In process only when QStash is the embedded server at the app's own address (the
            // default); a QSTASH_URL set to anything else, even another name for it, goes over HTTP.
            qstash: {
                let client = QstashClient::new(http.clone(), &qstash_url, &config.qstash.token);
                match &dev_qstash {
                    Some(server) if qstash_url == urls.internal => client.in_process(server.router()),
                    _ => client,
                }
            },
            providers: Providers::new(
                ScrapeCreatorsClient::new(http.clone(), &provider_url, &config.scrapecreators.api_key),
                config.apify.as_ref().map(|apify| {
                    let url = apify.api_url.clone().unwrap_or_else(|| format!("{}{}", urls.internal, simulator::APIFY_MOUNT));
                    ApifyClient::new(http, &url, &apify.token, &apify.actor)
                }),
            ),
            db: db.clone(),
            set_up: Arc::new(AtomicBool::new(set_up)),
            setup_code: Arc::new(setup_code),
            allowed_hosts: Arc::new(allowed_hosts),
            tasks: Tasks::default(),
            stopping: Arc::new(AtomicBool::new(false)),
            urls: Arc::new(urls),
            config: Arc::new(config),
        };
        let mut router = Router::new().merge(api::router());
        if let Some(server) = &state.dev_qstash {
            router = router.merge(server.router());
        }
        if state.config.uses_simulator() {
            let sim = Simulator::new(
                state.config.simulator.clone(),
                &state.config.scrapecreators.api_key,
                state.config.apify.as_ref().map(|a| a.token.as_str()).unwrap_or(crate::config::SIMULATOR_APIFY_TOKEN),
                &state.urls.internal,
            );
            router = router.merge(sim.router());
        }
        let routes = generate_route_list(App);
        let router = router
            .leptos_routes(&state, routes, {
                let options = state.leptos_options.clone();
                move || shell(options.clone())
            })
            .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
            .with_state(state.clone());
        let router = guards::apply(router, state.clone());
        Ok(Self { listener, router, state, dev_qstash })
    }

    /// The code `/setup` asks for on an exposed instance with no account yet (also in the log).
    pub fn setup_code(&self) -> Option<String> {
        self.state.setup_code.as_ref().clone()
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serves HTTP and runs the background tasks (QStash deliveries, stall sweeper) until SIGTERM or
    /// Ctrl-C.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(crate::shutdown::signal()).await
    }

    /// As `run`, until `stop` completes; then the embedded QStash server stops delivering and waits
    /// up to the grace period for what is in flight (its own webhook calls are served meanwhile), and
    /// the HTTP server finishes its requests.
    pub async fn run_until(self, stop: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        if let Some(server) = &self.dev_qstash {
            let server = server.clone();
            self.state.tasks.spawn("qstashDelivery", move || server.clone().run_delivery_loop());
        }
        let state = self.state.clone();
        self.state.tasks.spawn("sweeper", move || jobs::sweeper::run(state.clone()));
        tracing::info!(url = %self.state.urls.public, demo_data = self.state.demo_data(), "Scout is listening");
        let grace = self.state.config.dev_qstash.shutdown_grace;
        let stopping = self.state.stopping.clone();
        let stop = async move {
            stop.await;
            stopping.store(true, std::sync::atomic::Ordering::SeqCst);
        };
        // The peer's address is the embedded QStash server's `callerIP`.
        let app = self.router.into_make_service_with_connect_info::<SocketAddr>();
        crate::shutdown::serve_until(self.listener, app, self.dev_qstash, grace, stop).await
    }
}

/// 0.0.0.0 is where we listen, not an address we can call.
fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}
