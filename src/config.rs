//! Every setting, read once at start from the environment (and `.env`), validated into typed structs.
//! Nothing else in the app reads the environment.

use std::{net::SocketAddr, time::Duration};

/// The identity of Upstash's own local dev server; used when no QStash is configured so that the
/// official SDKs work against the embedded server unchanged.
pub const DEV_QSTASH_TOKEN: &str = "eyJVc2VySUQiOiJkZWZhdWx0VXNlciIsIlBhc3N3b3JkIjoiZGVmYXVsdFBhc3N3b3JkIn0=";
pub const DEV_CURRENT_SIGNING_KEY: &str = "sig_7kYjw48mhY7kAjqNGcy6cr29RJ6r";
pub const DEV_NEXT_SIGNING_KEY: &str = "sig_5ZB6DVzB1wjE8S6rZ7eenA8Pdnhs";
/// The key the built-in simulator accepts when no real ScrapeCreators key is configured.
pub const SIMULATOR_API_KEY: &str = "scout-demo-key";
/// The token the simulator's Apify API accepts when no real Apify token is configured.
pub const SIMULATOR_APIFY_TOKEN: &str = "scout-demo-apify-token";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

#[derive(Clone)]
pub struct Config {
    /// Where the server listens (`LEPTOS_SITE_ADDR`); port 0 picks a free port.
    pub addr: SocketAddr,
    /// The base URL QStash calls back (`PUBLIC_URL`); `None` = `http://{bound address}`.
    pub public_url: Option<String>,
    pub database_url: String,
    pub qstash: QstashConfig,
    pub dev_qstash: DevQstashConfig,
    pub scrapecreators: ScrapeCreatorsConfig,
    /// Set when TikTok keyword searches go through Apify (`SCOUT_TIKTOK_PROVIDER=apify`).
    pub apify: Option<ApifyConfig>,
    pub simulator: SimulatorConfig,
    pub jobs: JobsConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
}

/// What each member may use, unless an admin sets their own numbers (`None` = no limit).
#[derive(Clone, Debug)]
pub struct LimitsConfig {
    /// Searches running at once (`SCOUT_LIMIT_RUNS_IN_FLIGHT`, 3; 0 = no limit).
    pub runs_in_flight: Option<u64>,
    /// Searches started per day (`SCOUT_LIMIT_SEARCHES_PER_DAY`, 50; 0 = no limit).
    pub searches_per_day: Option<u64>,
    /// Provider credits per month (`SCOUT_LIMIT_CREDITS_PER_MONTH`, 0 = no limit).
    pub credits_per_month: Option<u64>,
    /// The day's length (`SCOUT_LIMIT_DAY_SECS`, 86400: UTC days); windows start at multiples of it.
    pub day: Duration,
    /// The month's length (`SCOUT_LIMIT_MONTH_SECS`); unset = UTC calendar months.
    pub month: Option<Duration>,
}

#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// Anyone may create a member account at `/signup` (`SCOUT_OPEN_SIGNUP`, off).
    pub open_signup: bool,
    /// How long a sign-in lasts (`SCOUT_SESSION_DAYS`, 30).
    pub session_ttl: Duration,
    /// Failed sign-ins per account or client address within `login_window` before 429
    /// (`SCOUT_LOGIN_MAX_FAILURES`, 5; `SCOUT_LOGIN_WINDOW_SECS`, 900).
    pub login_max_failures: u32,
    pub login_window: Duration,
    /// Peers whose `X-Forwarded-For` names the client (`SCOUT_TRUSTED_PROXIES`, comma-separated IPs).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Extra `Host` names accepted besides the listening and public ones (`SCOUT_ALLOWED_HOSTS`,
    /// comma-separated `host` or `host:port`), for load balancers and health checks.
    pub allowed_hosts: Vec<String>,
    /// Scout can be reached from beyond this machine (it listens beyond loopback, or `PUBLIC_URL`
    /// is not loopback): setup then needs the code from the log.
    pub exposed: bool,
    /// Session cookies are `Secure` (`PUBLIC_URL` is https).
    pub secure_cookies: bool,
}

#[derive(Clone)]
pub struct QstashConfig {
    /// `None` = the embedded QStash-compatible server of this process.
    pub url: Option<String>,
    pub token: String,
    pub current_signing_key: String,
    pub next_signing_key: String,
    /// `Upstash-Retries` for job steps.
    pub retries: u32,
    /// With `QSTASH_REGION` (the SDKs' multi-region mode): each region's signing keys
    /// (`EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY`, …), for deliveries whose `Upstash-Region` names it.
    pub regional_keys: Vec<RegionalKeys>,
}

#[derive(Clone, PartialEq)]
pub struct RegionalKeys {
    /// `EU_CENTRAL_1` or `US_EAST_1`.
    pub region: String,
    pub current_signing_key: String,
    pub next_signing_key: String,
}

/// The regions QStash runs in, as its SDKs name them.
pub const QSTASH_REGIONS: [&str; 2] = ["EU_CENTRAL_1", "US_EAST_1"];

/// A region as the SDKs read it from `QSTASH_REGION` or an `Upstash-Region` header (`eu-central-1`
/// and `EU_CENTRAL_1` alike).
pub fn qstash_region(raw: &str) -> Option<&'static str> {
    let normalized = raw.trim().replace('-', "_").to_ascii_uppercase();
    QSTASH_REGIONS.into_iter().find(|r| *r == normalized)
}

#[derive(Clone, Debug)]
pub struct DevQstashConfig {
    /// Whether this process serves `/v2/*` and delivers messages (on when `QSTASH_URL` is unset).
    pub enabled: bool,
    /// All of `QSTASH_DEV_TOKEN`, `_CURRENT_SIGNING_KEY` and `_NEXT_SIGNING_KEY` are set. When they are
    /// not and Scout is exposed, it generates (and stores) an identity of its own instead of
    /// Upstash's public one.
    pub identity_configured: bool,
    /// HTTP timeout of one delivery.
    pub delivery_timeout: Duration,
    /// How long a delivery's lease lasts unless renewed (`QSTASH_DEV_LEASE_SECS`, 6). A running
    /// delivery renews it every third of this, so when its instance dies another one takes the
    /// message over after at most this long, whatever the delivery timeout.
    pub lease: Duration,
    /// Multiplies QStash's retry backoff (1.0 = real QStash timing). Tests compress time with it.
    pub backoff_scale: f64,
    /// How often the delivery loop looks for due messages when nothing wakes it.
    pub poll_interval: Duration,
    /// How long a deduplication id is remembered.
    pub dedup_window: Duration,
    /// How long finished messages, their events and DLQ entries are kept (`QSTASH_DEV_RETENTION_DAYS`).
    pub retention: Duration,
    /// Deliveries in flight at once (`QSTASH_DEV_DELIVERY_SLOTS`; 16 in the app, whose own webhook
    /// takes them, 64 for `scout qstash-dev`).
    pub delivery_slots: usize,
    /// How long a SIGTERM waits for the deliveries in flight before handing them back
    /// (`SCOUT_SHUTDOWN_GRACE_SECS`, 10).
    pub shutdown_grace: Duration,
}

#[derive(Clone)]
pub struct ScrapeCreatorsConfig {
    /// `None` = the built-in simulator of this process ("demo data").
    pub api_url: Option<String>,
    pub api_key: String,
    pub request_timeout: Duration,
}

#[derive(Clone)]
pub struct ApifyConfig {
    /// `None` = the built-in simulator's Apify API.
    pub api_url: Option<String>,
    pub token: String,
    /// `user~name`, default the original system's `apidojo~tiktok-scraper`.
    pub actor: String,
}

#[derive(Clone, Debug)]
pub struct SimulatorConfig {
    pub latency: Duration,
    pub page_size: usize,
    pub results_per_query: usize,
    /// How fast a simulated Apify run collects items.
    pub apify_items_per_sec: u64,
    /// Whether the fault hooks (`/_faults`) exist (`SIMULATOR_FAULTS=true`; the tests set it).
    pub faults: bool,
}

#[derive(Clone, Debug)]
pub struct JobsConfig {
    pub timeout: Duration,
    pub stall_after: Duration,
    pub sweep_interval: Duration,
    /// Provider calls (pages and profile lookups) of one job in flight at most.
    pub provider_concurrency: usize,
    /// Wait after a provider 429 without a usable `Retry-After`.
    pub rate_limit_delay: Duration,
    /// New creators after which a step stops paging (its lookups then finish and it commits).
    pub step_creators: usize,
    /// How long a bought profile is reused by other runs (`SCOUT_PROFILE_CACHE_HOURS`); None = never.
    pub profile_cache: Option<Duration>,
    /// Time after which a step stops paging (`SCOUT_STEP_SECS`, 8), so a search saves and its bar
    /// moves about this often, and a step that a crash interrupts costs little.
    pub step_paging: Duration,
    /// A step ends at twice this whatever is still in flight, so it ends well inside the delivery
    /// timeout; it never pages longer than this (`step_paging` is capped by it). With the embedded
    /// server it is at most a quarter of that timeout.
    pub step_budget: Duration,
    /// Pages in a row that add no new creator after which a search stops with a note
    /// (`SCOUT_MAX_IDLE_PAGES`, 100).
    pub max_idle_pages: u32,
}

impl Config {
    /// Reads `.env` (if present) and the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Builds the configuration from any name → value lookup (the environment, or a map in tests).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let addr: SocketAddr = parse_or(&get, "LEPTOS_SITE_ADDR", "127.0.0.1:3000".parse().unwrap())?;
        let public_url = get("PUBLIC_URL")
            .or_else(|| get("NEXT_PUBLIC_SITE_URL"))
            .or_else(|| get("VERCEL_URL").map(|host| format!("https://{host}")))
            .map(|url| url.trim_end_matches('/').to_string());
        if let Some(url) = &public_url {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(invalid("PUBLIC_URL", "must start with http:// or https://"));
            }
        }
        let database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite:data/scout.db".into());
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            return Err(invalid("DATABASE_URL", "must be a sqlite: or postgres:// URL"));
        }
        // The SDKs' multi-region mode: `QSTASH_REGION` names the primary region, whose
        // `{REGION}_QSTASH_URL` / `_TOKEN` / `_*_SIGNING_KEY` stand in for the plain names.
        let region = match get("QSTASH_REGION") {
            Some(raw) => Some(qstash_region(&raw).ok_or_else(|| invalid("QSTASH_REGION", "must be EU_CENTRAL_1 or US_EAST_1"))?),
            None => None,
        };
        let get_real = |name: &str| region.and_then(|r| get(&format!("{r}_{name}"))).or_else(|| get(name));
        // Real QStash when its URL or its token is given (the original system set only the token and
        // keys; the official SDKs then default to Upstash's URL). Otherwise the embedded server.
        let qstash_url = match (get_real("QSTASH_URL"), get_real("QSTASH_TOKEN")) {
            (Some(url), _) => Some(url.trim().trim_end_matches('/').to_string()),
            (None, Some(_)) => Some(UPSTASH_QSTASH_URL.to_string()),
            (None, None) => None,
        };
        let embedded = qstash_url.is_none();
        // The embedded server's identity has its own names (QSTASH_DEV_*), defaulting to Upstash's
        // public dev identity; QSTASH_* name real QStash's.
        let identity =
            |real: &str, dev: &str, default: &str| if embedded { get(dev) } else { get_real(real) }.unwrap_or_else(|| default.to_string());
        let plain_identity =
            |real: &str, dev: &str, default: &str| if embedded { get(dev) } else { get(real) }.unwrap_or_else(|| default.to_string());
        // Every region's keys, so a delivery from either region verifies (the SDKs' receiver).
        let regional_keys = match (embedded, region) {
            (false, Some(_)) => QSTASH_REGIONS
                .into_iter()
                .filter_map(|r| {
                    Some(RegionalKeys {
                        region: r.to_string(),
                        current_signing_key: get(&format!("{r}_QSTASH_CURRENT_SIGNING_KEY"))?,
                        next_signing_key: get(&format!("{r}_QSTASH_NEXT_SIGNING_KEY"))?,
                    })
                })
                .collect(),
            _ => Vec::new(),
        };
        let qstash = QstashConfig {
            token: identity("QSTASH_TOKEN", "QSTASH_DEV_TOKEN", DEV_QSTASH_TOKEN),
            // The plain names, as the SDKs' receivers read them for a delivery naming no region.
            current_signing_key: plain_identity("QSTASH_CURRENT_SIGNING_KEY", "QSTASH_DEV_CURRENT_SIGNING_KEY", DEV_CURRENT_SIGNING_KEY),
            next_signing_key: plain_identity("QSTASH_NEXT_SIGNING_KEY", "QSTASH_DEV_NEXT_SIGNING_KEY", DEV_NEXT_SIGNING_KEY),
            retries: parse_or(&get, "SCOUT_STEP_RETRIES", 3)?,
            url: qstash_url,
            regional_keys,
        };
        if embedded {
            // Real QStash's regional settings without its token would leave the receiver on the
            // embedded server's (public) keys: refused, like the plain keys below.
            let regional = QSTASH_REGIONS
                .into_iter()
                .flat_map(|r| ["QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY"].map(move |name| format!("{r}_{name}")));
            for name in std::iter::once("QSTASH_REGION".to_string()).chain(regional) {
                if get(&name).is_some() {
                    return Err(invalid(&name, "is real QStash's, but QSTASH_TOKEN (or the region's token) is not set"));
                }
            }
            for name in ["QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY"] {
                if get(name).is_some() {
                    return Err(invalid(
                        name,
                        "is real QStash's key, but QSTASH_TOKEN is not set; set QSTASH_TOKEN for real QStash, or QSTASH_DEV_CURRENT_SIGNING_KEY / QSTASH_DEV_NEXT_SIGNING_KEY for the embedded server",
                    ));
                }
            }
        }
        // With real QStash the dev identity is public knowledge: accepting it would let anyone forge
        // deliveries, so the token and both signing keys must be given. And QStash must be able to
        // call Scout: a loopback address would be published and never delivered.
        if !embedded {
            if get_real("QSTASH_TOKEN").is_none() {
                let name = region.map(|r| format!("{r}_QSTASH_TOKEN")).unwrap_or_else(|| "QSTASH_TOKEN".into());
                return Err(invalid(&name, "is required with real QStash (QSTASH_URL or QSTASH_TOKEN set)"));
            }
            for name in ["QSTASH_CURRENT_SIGNING_KEY", "QSTASH_NEXT_SIGNING_KEY"] {
                if get(name).is_none() {
                    return Err(invalid(name, "is required with real QStash (QSTASH_URL or QSTASH_TOKEN set)"));
                }
            }
            // Upstash in the cloud can never call a loopback address (a QStash on this machine or a
            // network of one's own, such as a `scout qstash-dev`, can).
            let upstash = qstash.url.as_deref().is_some_and(is_upstash_url);
            match &public_url {
                None => return Err(invalid("PUBLIC_URL", "is required with real QStash: the address QStash calls Scout back on")),
                Some(url) if is_loopback_url(url) && upstash => {
                    return Err(invalid("PUBLIC_URL", "must be reachable from the internet with real QStash, not a loopback address"))
                }
                Some(_) => {}
            }
        }
        let dev_qstash = DevQstashConfig {
            enabled: embedded,
            identity_configured: ["QSTASH_DEV_TOKEN", "QSTASH_DEV_CURRENT_SIGNING_KEY", "QSTASH_DEV_NEXT_SIGNING_KEY"].iter().all(|n| get(n).is_some()),
            delivery_timeout: Duration::from_secs(parse_or(&get, "QSTASH_DEV_DELIVERY_TIMEOUT_SECS", 120)?),
            lease: Duration::from_secs(parse_or::<u64>(&get, "QSTASH_DEV_LEASE_SECS", 6)?),
            backoff_scale: parse_or(&get, "QSTASH_DEV_BACKOFF_SCALE", 1.0)?,
            poll_interval: Duration::from_millis(parse_or(&get, "QSTASH_DEV_POLL_MS", 500)?),
            dedup_window: Duration::from_secs(parse_or(&get, "QSTASH_DEV_DEDUP_WINDOW_SECS", 600)?),
            retention: Duration::from_secs(parse_or::<u64>(&get, "QSTASH_DEV_RETENTION_DAYS", 7)?.clamp(1, 3650) * 86_400),
            delivery_slots: parse_or::<usize>(&get, "QSTASH_DEV_DELIVERY_SLOTS", 16)?.clamp(1, 1024),
            shutdown_grace: Duration::from_secs(parse_or::<u64>(&get, "SCOUT_SHUTDOWN_GRACE_SECS", 10)?.min(3600)),
        };
        if !(2..=3600).contains(&dev_qstash.lease.as_secs()) {
            return Err(invalid("QSTASH_DEV_LEASE_SECS", "must be from 2 to 3600"));
        }
        if dev_qstash.poll_interval < Duration::from_millis(5) {
            return Err(invalid("QSTASH_DEV_POLL_MS", "must be at least 5"));
        }
        if !(dev_qstash.backoff_scale.is_finite() && dev_qstash.backoff_scale >= 0.0) {
            return Err(invalid("QSTASH_DEV_BACKOFF_SCALE", "must be a number of 0 or more"));
        }
        let api_url = get("SCRAPECREATORS_API_URL").map(|u| scrapecreators_base(&u));
        let api_key = match (&api_url, get("SCRAPECREATORS_API_KEY")) {
            (_, Some(key)) => key,
            (None, None) => SIMULATOR_API_KEY.into(),
            (Some(_), None) => return Err(invalid("SCRAPECREATORS_API_KEY", "is required with SCRAPECREATORS_API_URL")),
        };
        let scrapecreators = ScrapeCreatorsConfig {
            api_url,
            api_key,
            request_timeout: Duration::from_secs(parse_or(&get, "SCRAPECREATORS_TIMEOUT_SECS", 30)?),
        };
        let simulator = SimulatorConfig {
            latency: Duration::from_millis(parse_or(&get, "SIMULATOR_LATENCY_MS", 300)?),
            page_size: parse_or(&get, "SIMULATOR_PAGE_SIZE", 20)?,
            results_per_query: parse_or(&get, "SIMULATOR_RESULTS_PER_QUERY", 6000)?,
            apify_items_per_sec: parse_or(&get, "SIMULATOR_APIFY_ITEMS_PER_SEC", 40)?,
            faults: parse_or(&get, "SIMULATOR_FAULTS", false)?,
        };
        let apify = match get("SCOUT_TIKTOK_PROVIDER").as_deref().map(str::trim) {
            None | Some("scrapecreators") => None,
            Some("apify") => Some(ApifyConfig {
                api_url: match (get("APIFY_API_URL"), get("APIFY_TOKEN")) {
                    (None, None) => None,
                    (url, Some(_)) => Some(url.unwrap_or_else(|| "https://api.apify.com".into()).trim_end_matches('/').to_string()),
                    (Some(_), None) => return Err(invalid("APIFY_TOKEN", "is required with APIFY_API_URL")),
                },
                token: get("APIFY_TOKEN").unwrap_or_else(|| SIMULATOR_APIFY_TOKEN.into()),
                actor: get("APIFY_TIKTOK_ACTOR").unwrap_or_else(|| "apidojo~tiktok-scraper".into()).trim().replace('/', "~"),
            }),
            Some(_) => return Err(invalid("SCOUT_TIKTOK_PROVIDER", "must be scrapecreators or apify")),
        };
        if simulator.apify_items_per_sec == 0 {
            return Err(invalid("SIMULATOR_APIFY_ITEMS_PER_SEC", "must be at least 1"));
        }
        if simulator.page_size == 0 || simulator.page_size > 100 {
            return Err(invalid("SIMULATOR_PAGE_SIZE", "must be between 1 and 100"));
        }
        let jobs = JobsConfig {
            timeout: Duration::from_secs(60 * parse_or::<u64>(&get, "SCOUT_JOB_TIMEOUT_MINUTES", 120)?),
            stall_after: Duration::from_secs(parse_or(&get, "SCOUT_STALL_AFTER_SECS", 300)?),
            sweep_interval: Duration::from_secs(parse_or(&get, "SCOUT_SWEEP_INTERVAL_SECS", 30)?),
            // SCOUT_ENRICH_CONCURRENCY is the first release's name for it.
            provider_concurrency: match get("SCOUT_PROVIDER_CONCURRENCY") {
                Some(_) => parse_or(&get, "SCOUT_PROVIDER_CONCURRENCY", 8)?,
                None => parse_or(&get, "SCOUT_ENRICH_CONCURRENCY", 8)?,
            },
            rate_limit_delay: Duration::from_secs(parse_or::<u64>(&get, "SCOUT_RATE_LIMIT_DELAY_SECS", 30)?.min(86_400)),
            step_creators: parse_or(&get, "SCOUT_STEP_CREATORS", 160)?,
            profile_cache: match parse_or::<u64>(&get, "SCOUT_PROFILE_CACHE_HOURS", 24)? {
                0 => None,
                hours => Some(Duration::from_secs(hours.min(24 * 365) * 3600)),
            },
            step_paging: Duration::from_secs(parse_or(&get, "SCOUT_STEP_SECS", 8)?),
            step_budget: Duration::from_secs(parse_or(&get, "SCOUT_STEP_BUDGET_SECS", 20)?),
            max_idle_pages: parse_or::<u32>(&get, "SCOUT_MAX_IDLE_PAGES", 100)?.max(1),
        };
        if jobs.step_creators == 0 {
            return Err(invalid("SCOUT_STEP_CREATORS", "must be at least 1"));
        }
        if jobs.step_paging.is_zero() {
            return Err(invalid("SCOUT_STEP_SECS", "must be at least 1"));
        }
        if jobs.step_budget.is_zero() {
            return Err(invalid("SCOUT_STEP_BUDGET_SECS", "must be at least 1"));
        }
        let mut jobs = jobs;
        if embedded {
            jobs.step_budget = jobs.step_budget.min(dev_qstash.delivery_timeout / 4);
        }
        jobs.step_paging = jobs.step_paging.min(jobs.step_budget);
        if jobs.provider_concurrency == 0 {
            return Err(invalid("SCOUT_PROVIDER_CONCURRENCY", "must be at least 1"));
        }
        if jobs.sweep_interval.is_zero() {
            return Err(invalid("SCOUT_SWEEP_INTERVAL_SECS", "must be at least 1"));
        }
        let auth = AuthConfig {
            open_signup: parse_or(&get, "SCOUT_OPEN_SIGNUP", false)?,
            session_ttl: Duration::from_secs(parse_or::<u64>(&get, "SCOUT_SESSION_DAYS", 30)?.clamp(1, 3650) * 86_400),
            login_max_failures: parse_or::<u32>(&get, "SCOUT_LOGIN_MAX_FAILURES", 5)?.max(1),
            login_window: Duration::from_secs(parse_or::<u64>(&get, "SCOUT_LOGIN_WINDOW_SECS", 900)?.clamp(1, 86_400 * 30)),
            trusted_proxies: list(&get, "SCOUT_TRUSTED_PROXIES")
                .iter()
                .map(|ip| ip.parse().map_err(|_| invalid("SCOUT_TRUSTED_PROXIES", &format!("\"{ip}\" is not an IP address"))))
                .collect::<Result<_, _>>()?,
            allowed_hosts: list(&get, "SCOUT_ALLOWED_HOSTS").into_iter().map(|h| h.to_ascii_lowercase()).collect(),
            // A proxy in front (trusted proxies, extra host names) means the world may be behind it too.
            exposed: !addr.ip().is_loopback()
                || public_url.as_deref().is_some_and(|u| !is_loopback_url(u))
                || get("SCOUT_TRUSTED_PROXIES").is_some()
                || get("SCOUT_ALLOWED_HOSTS").is_some(),
            secure_cookies: public_url.as_deref().is_some_and(|u| u.starts_with("https://")),
        };
        let limit = |name: &'static str, default: u64| parse_or::<u64>(&get, name, default).map(|n| (n > 0).then_some(n));
        let limits = LimitsConfig {
            runs_in_flight: limit("SCOUT_LIMIT_RUNS_IN_FLIGHT", 3)?,
            searches_per_day: limit("SCOUT_LIMIT_SEARCHES_PER_DAY", 50)?,
            credits_per_month: limit("SCOUT_LIMIT_CREDITS_PER_MONTH", 0)?,
            day: Duration::from_secs(parse_or::<u64>(&get, "SCOUT_LIMIT_DAY_SECS", 86_400)?.clamp(1, 86_400 * 366)),
            month: match get("SCOUT_LIMIT_MONTH_SECS") {
                None => None,
                Some(_) => Some(Duration::from_secs(parse_or::<u64>(&get, "SCOUT_LIMIT_MONTH_SECS", 0)?.clamp(1, 86_400 * 366))),
            },
        };
        Ok(Config { addr, public_url, database_url, qstash, dev_qstash, scrapecreators, apify, simulator, jobs, auth, limits })
    }

    /// Whether results come from the built-in simulator ("demo data").
    pub fn uses_simulator(&self) -> bool {
        self.scrapecreators.api_url.is_none() || self.apify.as_ref().is_some_and(|a| a.api_url.is_none())
    }
}

/// Where real QStash is when only its token is given (the official SDKs' default).
pub const UPSTASH_QSTASH_URL: &str = "https://qstash.upstash.io";

/// Whether a base URL is Upstash's QStash (`qstash.upstash.io`, regional `qstash-….upstash.io`).
fn is_upstash_url(url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.to_ascii_lowercase()))
        .is_some_and(|h| h == "upstash.io" || h.ends_with(".upstash.io"))
}

/// Whether a base URL names this machine (QStash in the cloud could never call it).
fn is_loopback_url(url: &str) -> bool {
    reqwest::Url::parse(url).ok().and_then(|u| u.host_str().map(is_loopback_host)).unwrap_or(false)
}

/// `localhost` (with or without a trailing dot, and its subdomains), or a loopback or unspecified
/// address in any spelling (`127.1`, `[::ffff:127.0.0.1]`: the URL parser has normalised them).
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => {
            let ip = ip.to_canonical();
            ip.is_loopback() || ip.is_unspecified()
        }
        Err(_) => false,
    }
}

/// The API's base URL. The original system configured the full endpoint it called
/// (`https://api.scrapecreators.com/v1/tiktok/search/keyword`); Scout calls several, so everything from
/// the version segment on is dropped.
fn scrapecreators_base(url: &str) -> String {
    let url = url.trim().trim_end_matches('/');
    let path_start = url.find("://").map(|i| i + 3).and_then(|i| url[i..].find('/').map(|j| i + j));
    match path_start.and_then(|start| ["/v1/", "/v2/", "/v3/"].iter().filter_map(|v| url[start..].find(v)).min().map(|at| start + at)) {
        Some(cut) => url[..cut].to_string(),
        None => url.to_string(),
    }
}

fn parse_or<T: std::str::FromStr>(get: &impl Fn(&str) -> Option<String>, name: &'static str, default: T) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match get(name) {
        None => Ok(default),
        Some(raw) => raw.trim().parse().map_err(|e: T::Err| invalid(name, &e.to_string())),
    }
}

/// A comma-separated setting, trimmed, empty entries dropped.
fn list(get: &impl Fn(&str) -> Option<String>, name: &str) -> Vec<String> {
    get(name).map(|v| v.split(',').map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect()).unwrap_or_default()
}

fn invalid(name: &str, reason: &str) -> ConfigError {
    ConfigError::Invalid { name: name.to_string(), reason: reason.to_string() }
}

// Secrets never reach logs: the types that hold them print `***` in their place (and the database
// URL without its password).
const HIDDEN: &str = "***";

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("addr", &self.addr)
            .field("public_url", &self.public_url)
            .field("database_url", &crate::db::redact(&self.database_url))
            .field("qstash", &self.qstash)
            .field("dev_qstash", &self.dev_qstash)
            .field("scrapecreators", &self.scrapecreators)
            .field("apify", &self.apify)
            .field("simulator", &self.simulator)
            .field("jobs", &self.jobs)
            .field("auth", &self.auth)
            .field("limits", &self.limits)
            .finish()
    }
}

impl std::fmt::Debug for QstashConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QstashConfig")
            .field("url", &self.url)
            .field("token", &HIDDEN)
            .field("current_signing_key", &HIDDEN)
            .field("next_signing_key", &HIDDEN)
            .field("retries", &self.retries)
            .field("regional_keys", &self.regional_keys)
            .finish()
    }
}

impl std::fmt::Debug for RegionalKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegionalKeys").field("region", &self.region).field("signing_keys", &HIDDEN).finish()
    }
}

impl std::fmt::Debug for ScrapeCreatorsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScrapeCreatorsConfig")
            .field("api_url", &self.api_url)
            .field("api_key", &HIDDEN)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl std::fmt::Debug for ApifyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApifyConfig").field("api_url", &self.api_url).field("token", &HIDDEN).field("actor", &self.actor).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let c = config(&[
            ("DATABASE_URL", "postgres://scout:db-secret@db/scout"),
            ("QSTASH_TOKEN", "qstash-secret"),
            ("QSTASH_CURRENT_SIGNING_KEY", "sig_current_secret"),
            ("QSTASH_NEXT_SIGNING_KEY", "sig_next_secret"),
            ("PUBLIC_URL", "https://scout.example.com"),
            ("SCRAPECREATORS_API_URL", "https://api.scrapecreators.com"),
            ("SCRAPECREATORS_API_KEY", "sc-secret"),
            ("SCOUT_TIKTOK_PROVIDER", "apify"),
            ("APIFY_TOKEN", "apify-secret"),
        ])
        .unwrap();
        let shown = format!("{c:?}");
        for secret in ["db-secret", "qstash-secret", "sig_current_secret", "sig_next_secret", "sc-secret", "apify-secret"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("scrapecreators.com"));
    }

    #[test]
    fn defaults_are_the_embedded_parts() {
        let c = config(&[]).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:3000");
        assert_eq!(c.database_url, "sqlite:data/scout.db");
        assert!(c.dev_qstash.enabled && c.uses_simulator());
        assert_eq!(c.qstash.current_signing_key, DEV_CURRENT_SIGNING_KEY);
    }

    #[test]
    fn real_qstash_needs_its_own_token_and_keys() {
        let public = ("PUBLIC_URL", "https://scout.example.com");
        assert!(config(&[("QSTASH_URL", "https://qstash.upstash.io"), ("QSTASH_TOKEN", "t"), public]).is_err());
        let keys = [("QSTASH_TOKEN", "t"), ("QSTASH_CURRENT_SIGNING_KEY", "sig_a"), ("QSTASH_NEXT_SIGNING_KEY", "sig_b")];
        let c = config(&[keys[0], keys[1], keys[2], ("QSTASH_URL", "https://qstash.upstash.io/"), public]).unwrap();
        assert!(!c.dev_qstash.enabled);
        assert_eq!(c.qstash.url.as_deref(), Some("https://qstash.upstash.io"));
        // As the original was configured: the token and keys only, QStash's URL by default.
        let c = config(&[keys[0], keys[1], keys[2], public]).unwrap();
        assert_eq!((c.dev_qstash.enabled, c.qstash.url.as_deref()), (false, Some(UPSTASH_QSTASH_URL)));
    }

    #[test]
    fn regions_are_configured_as_the_sdks_read_them() {
        let public = ("PUBLIC_URL", "https://scout.example.com");
        let eu = [
            ("QSTASH_REGION", "eu-central-1"),
            ("EU_CENTRAL_1_QSTASH_TOKEN", "t-eu"),
            ("EU_CENTRAL_1_QSTASH_URL", "https://qstash-eu-central-1.upstash.io"),
            ("EU_CENTRAL_1_QSTASH_CURRENT_SIGNING_KEY", "sig_eu_c"),
            ("EU_CENTRAL_1_QSTASH_NEXT_SIGNING_KEY", "sig_eu_n"),
            ("US_EAST_1_QSTASH_CURRENT_SIGNING_KEY", "sig_us_c"),
            ("US_EAST_1_QSTASH_NEXT_SIGNING_KEY", "sig_us_n"),
            ("QSTASH_CURRENT_SIGNING_KEY", "sig_c"),
            ("QSTASH_NEXT_SIGNING_KEY", "sig_n"),
            public,
        ];
        let c = config(&eu).unwrap();
        assert!(!c.dev_qstash.enabled);
        assert_eq!((c.qstash.url.as_deref(), c.qstash.token.as_str()), (Some("https://qstash-eu-central-1.upstash.io"), "t-eu"));
        assert_eq!(c.qstash.current_signing_key, "sig_c", "a delivery naming no region is checked with the plain keys, as the SDKs do");
        let regions: Vec<&str> = c.qstash.regional_keys.iter().map(|k| k.region.as_str()).collect();
        assert_eq!(regions, vec!["EU_CENTRAL_1", "US_EAST_1"]);
        assert_eq!(c.qstash.regional_keys[1].next_signing_key, "sig_us_n");
        assert!(config(&[("QSTASH_REGION", "mars-1")]).is_err());
        assert_eq!(qstash_region("us-east-1"), Some("US_EAST_1"));
        // Regional keys without real QStash's token would leave the public dev keys checking deliveries.
        assert!(config(&eu[3..7]).is_err());
        assert!(config(&[("QSTASH_REGION", "US_EAST_1")]).is_err());
    }

    #[test]
    fn real_qstash_needs_an_address_it_can_call() {
        let keys = [("QSTASH_TOKEN", "t"), ("QSTASH_CURRENT_SIGNING_KEY", "sig_a"), ("QSTASH_NEXT_SIGNING_KEY", "sig_b")];
        assert!(config(&keys).is_err(), "no PUBLIC_URL");
        for loopback in
            ["http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000", "http://0.0.0.0:3000", "http://app.localhost"]
        {
            assert!(config(&[keys[0], keys[1], keys[2], ("PUBLIC_URL", loopback)]).is_err(), "{loopback}");
        }
        // A QStash on this machine (a local `scout qstash-dev`) can call a loopback address.
        assert!(
            config(&[keys[0], keys[1], keys[2], ("QSTASH_URL", "http://127.0.0.1:8080"), ("PUBLIC_URL", "http://127.0.0.1:3000")]).is_ok()
        );
        let regional = ("QSTASH_URL", "https://qstash-eu-central-1.upstash.io");
        assert!(config(&[keys[0], keys[1], keys[2], regional, ("PUBLIC_URL", "http://localhost:3000")]).is_err());
        // The embedded server has its own identity names; real QStash's keys alone are a mistake.
        let dev =
            config(&[("QSTASH_DEV_TOKEN", "t"), ("QSTASH_DEV_CURRENT_SIGNING_KEY", "sig_c"), ("QSTASH_DEV_NEXT_SIGNING_KEY", "sig_n")])
                .unwrap();
        assert_eq!((dev.qstash.token.as_str(), dev.qstash.current_signing_key.as_str(), dev.dev_qstash.enabled), ("t", "sig_c", true));
        assert!(config(&[("QSTASH_CURRENT_SIGNING_KEY", "sig_a")]).is_err());
        assert!(config(&[("QSTASH_DEV_POLL_MS", "1")]).is_err());
        for scale in ["inf", "NaN", "-1"] {
            assert!(config(&[("QSTASH_DEV_BACKOFF_SCALE", scale)]).is_err(), "{scale}");
        }
        // The embedded server delivers to loopback, of course.
        assert!(config(&[("PUBLIC_URL", "http://127.0.0.1:3000")]).unwrap().dev_qstash.enabled);
    }

    #[test]
    fn public_url_falls_back_to_migrant_names() {
        assert_eq!(config(&[("VERCEL_URL", "scout.vercel.app")]).unwrap().public_url.as_deref(), Some("https://scout.vercel.app"));
        assert_eq!(config(&[("PUBLIC_URL", "https://x.example/")]).unwrap().public_url.as_deref(), Some("https://x.example"));
        assert!(config(&[("PUBLIC_URL", "x.example")]).is_err());
        assert!(config(&[("DATABASE_URL", "mysql://x")]).is_err());
        assert!(config(&[("SIMULATOR_LATENCY_MS", "fast")]).is_err());
        assert!(config(&[("SCRAPECREATORS_API_URL", "https://api.scrapecreators.com")]).is_err());
        assert!(config(&[("SCOUT_STEP_CREATORS", "0")]).is_err());
        assert!(config(&[("SCOUT_STEP_BUDGET_SECS", "0")]).is_err());
        assert!(config(&[("SCOUT_STEP_SECS", "0")]).is_err());
        assert_eq!(config(&[]).unwrap().jobs.step_paging, Duration::from_secs(8));
    }

    #[test]
    fn the_originals_full_endpoint_url_is_accepted() {
        let with = |url: &str| config(&[("SCRAPECREATORS_API_URL", url), ("SCRAPECREATORS_API_KEY", "k")]).unwrap().scrapecreators.api_url;
        assert_eq!(with("https://api.scrapecreators.com/v1/tiktok/search/keyword").as_deref(), Some("https://api.scrapecreators.com"));
        assert_eq!(with("https://api.scrapecreators.com/").as_deref(), Some("https://api.scrapecreators.com"));
        assert_eq!(with("http://proxy.local/scrape/v2/instagram/reels/search").as_deref(), Some("http://proxy.local/scrape"));
    }

    #[test]
    fn apify_is_chosen_for_tiktok_explicitly() {
        assert!(config(&[]).unwrap().apify.is_none());
        let demo = config(&[("SCOUT_TIKTOK_PROVIDER", "apify")]).unwrap().apify.unwrap();
        assert_eq!((demo.api_url, demo.actor.as_str()), (None, "apidojo~tiktok-scraper"));
        let real = config(&[("SCOUT_TIKTOK_PROVIDER", "apify"), ("APIFY_TOKEN", "t"), ("APIFY_TIKTOK_ACTOR", "clockworks/tiktok-scraper")])
            .unwrap()
            .apify
            .unwrap();
        assert_eq!((real.api_url.as_deref(), real.actor.as_str()), (Some("https://api.apify.com"), "clockworks~tiktok-scraper"));
        assert!(config(&[("SCOUT_TIKTOK_PROVIDER", "apify"), ("APIFY_API_URL", "https://x")]).is_err());
        assert!(config(&[("SCOUT_TIKTOK_PROVIDER", "myspace")]).is_err());
    }

    #[test]
    fn delivery_leases_are_short_and_bounded() {
        assert_eq!(config(&[]).unwrap().dev_qstash.lease, Duration::from_secs(6));
        assert_eq!(config(&[("QSTASH_DEV_LEASE_SECS", "2")]).unwrap().dev_qstash.lease, Duration::from_secs(2));
        for bad in ["0", "1", "3601", "soon"] {
            assert!(config(&[("QSTASH_DEV_LEASE_SECS", bad)]).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_step_fits_well_inside_a_delivery() {
        assert_eq!(config(&[]).unwrap().jobs.step_budget, Duration::from_secs(20));
        let tight = config(&[("QSTASH_DEV_DELIVERY_TIMEOUT_SECS", "3")]).unwrap();
        assert_eq!(tight.jobs.step_budget, Duration::from_millis(750));
    }
}
