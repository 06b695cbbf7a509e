//! `scout qstash-dev`: the embedded QStash-compatible server on its own, for any app that uses QStash
//! (the official SDKs work against it unchanged), offline. Upstash's own dev server is a download that
//! cannot be installed here; this one is the same binary as Scout. It delivers to any http(s) URL, keeps
//! its messages in its own database, and prints what to put in the app's environment.

use super::{
    server::{Destinations, DevServer},
    signing::{KeyPair, SigningKeys},
};
use crate::config::{Config, DEV_CURRENT_SIGNING_KEY, DEV_NEXT_SIGNING_KEY, DEV_QSTASH_TOKEN};
use anyhow::Context;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Deliveries in flight by default when the server runs on its own (more slots, larger batches per
/// lease and per outcome commit: 128 measured 2,317–2,553 deliveries/s where 64 made 1,925–2,211).
const STANDALONE_DELIVERY_SLOTS: usize = 128;

/// The port Upstash's dev server (and the JS SDK's dev mode) uses.
pub const DEFAULT_PORT: u16 = 8080;

#[derive(Clone, Debug)]
pub struct StandaloneConfig {
    pub addr: SocketAddr,
    pub database_url: String,
    pub token: String,
    pub current_key: String,
    pub next_key: String,
    /// Delivery timeout, backoff scale, poll interval, dedup window and retention (`QSTASH_DEV_*`).
    pub server: crate::config::DevQstashConfig,
}

pub const USAGE: &str = "usage: scout qstash-dev [--port 8080] [--host 127.0.0.1] [--database sqlite:data/qstash-dev.db]
  A QStash-compatible server for local development and tests; the official SDKs work against it.
  --port defaults to QSTASH_DEV_PORT (8080), --database to DATABASE_URL (else a SQLite file under data/).
  QSTASH_DEV_TOKEN, QSTASH_DEV_CURRENT_SIGNING_KEY and QSTASH_DEV_NEXT_SIGNING_KEY default to Upstash's
  public dev identity, which is refused beyond loopback: set all three to listen elsewhere.";

impl StandaloneConfig {
    /// From the command line after `qstash-dev` and a name → value lookup (the environment).
    pub fn from_args(args: &[String], get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut port = match get("QSTASH_DEV_PORT") {
            Some(raw) => raw.trim().parse().context("QSTASH_DEV_PORT must be a port number")?,
            None => DEFAULT_PORT,
        };
        let mut host = IpAddr::V4(Ipv4Addr::LOCALHOST);
        // Its own database: never the app's unless DATABASE_URL is given for it.
        let mut database_url = get("DATABASE_URL").unwrap_or_else(|| "sqlite:data/qstash-dev.db".to_string());
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            let mut value = |name: &str| rest.next().cloned().with_context(|| format!("{name} needs a value\n{USAGE}"));
            match arg.as_str() {
                "--port" | "-p" => port = value("--port")?.parse().with_context(|| format!("--port must be a port number\n{USAGE}"))?,
                "--host" => host = value("--host")?.parse().with_context(|| format!("--host must be an IP address\n{USAGE}"))?,
                "--database" => database_url = value("--database")?,
                "--help" | "-h" => anyhow::bail!("{USAGE}"),
                other => anyhow::bail!("unknown argument {other}\n{USAGE}"),
            }
        }
        if !(database_url.starts_with("sqlite:") || database_url.starts_with("postgres")) {
            anyhow::bail!("--database must be a sqlite: or postgres:// URL");
        }
        let token = get("QSTASH_DEV_TOKEN").unwrap_or_else(|| DEV_QSTASH_TOKEN.into());
        let current_key = get("QSTASH_DEV_CURRENT_SIGNING_KEY").unwrap_or_else(|| DEV_CURRENT_SIGNING_KEY.into());
        let next_key = get("QSTASH_DEV_NEXT_SIGNING_KEY").unwrap_or_else(|| DEV_NEXT_SIGNING_KEY.into());
        // Upstash's dev identity is public: on a network, its token would let anyone make this host
        // call anything, and its keys let anyone forge deliveries.
        let public = token == DEV_QSTASH_TOKEN || current_key == DEV_CURRENT_SIGNING_KEY || next_key == DEV_NEXT_SIGNING_KEY;
        if !host.is_loopback() && public {
            anyhow::bail!(
                "listening on {host} (beyond this machine) needs an identity of your own: set QSTASH_DEV_TOKEN, QSTASH_DEV_CURRENT_SIGNING_KEY and QSTASH_DEV_NEXT_SIGNING_KEY (the defaults are public)"
            );
        }
        // The same QSTASH_DEV_* settings (and shutdown grace) the embedded server reads.
        let own = |name: &str| name.starts_with("QSTASH_DEV_") || name == "SCOUT_SHUTDOWN_GRACE_SECS";
        let mut server =
            Config::from_lookup(|name| if own(name) { get(name) } else { None }).context("Invalid QSTASH_DEV_* setting")?.dev_qstash;
        // Nothing else runs here: more deliveries in flight (and so more outcomes per commit).
        if get("QSTASH_DEV_DELIVERY_SLOTS").is_none() {
            server.delivery_slots = STANDALONE_DELIVERY_SLOTS;
        }
        Ok(Self {
            addr: SocketAddr::new(host, port),
            database_url,
            token,
            current_key,
            next_key,
            server: crate::config::DevQstashConfig { enabled: true, ..server },
        })
    }
}

/// A bound standalone server, ready to run (tests bind port 0 and read the port).
pub struct Standalone {
    listener: tokio::net::TcpListener,
    server: DevServer,
    config: StandaloneConfig,
    /// The keys in use at start (the stored ones, if they were rotated).
    keys: KeyPair,
}

impl Standalone {
    pub async fn build(config: StandaloneConfig) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(config.addr).await.with_context(|| format!("Failed to listen on {}", config.addr))?;
        let local = listener.local_addr().context("Failed to read the bound address")?;
        let db = crate::db::connect(&config.database_url).await?;
        let own = vec![format!("http://{local}"), format!("http://127.0.0.1:{}", local.port())];
        // The public dev keys (the defaults) never replace stored ones: on a database an exposed app
        // also uses, they would put keys anyone knows under its signatures. It prints the keys in use.
        let keys = crate::db::qstash::keys::load_or_seed(&db, &config.current_key, &config.next_key, false)
            .await
            .context("Failed to read the signing keys")?;
        let lease_db = crate::db::connect_for_leases(&config.database_url).await?;
        let server = DevServer::new(db, lease_db, config.server.clone(), &config.token, SigningKeys::new(keys.clone()), Destinations::any(&own));
        Ok(Self { listener, server, config, keys })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or_default()
    }

    /// Serves the QStash API and delivers messages until SIGTERM or Ctrl-C.
    pub async fn run(self) -> anyhow::Result<()> {
        self.run_until(crate::shutdown::signal()).await
    }

    /// As `run`, until `stop` completes; then it delivers nothing more, waits up to the grace period
    /// for what is in flight, and hands the rest back.
    pub async fn run_until(self, stop: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let url = format!("http://{}", self.listener.local_addr().context("Failed to read the bound address")?);
        tracing::info!(url = %url, database = %self.config.database_url, "QStash dev server is listening");
        println!(
            "QStash dev server: set these in your app's environment\n  QSTASH_URL={url}\n  QSTASH_TOKEN={}\n  QSTASH_CURRENT_SIGNING_KEY={}\n  QSTASH_NEXT_SIGNING_KEY={}",
            self.config.token, self.keys.current, self.keys.next
        );
        tokio::spawn(self.server.clone().run_delivery_loop());
        let app = self.server.router::<()>().into_make_service_with_connect_info::<SocketAddr>();
        let grace = self.config.server.shutdown_grace;
        crate::shutdown::serve_until(self.listener, app, Some(self.server), grace, stop).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_its_command_line() {
        let c = StandaloneConfig::from_args(&[], |_| None).unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:8080");
        assert_eq!((c.token.as_str(), c.current_key.as_str()), (DEV_QSTASH_TOKEN, DEV_CURRENT_SIGNING_KEY));
        let c = StandaloneConfig::from_args(&args(&["--port", "9000", "--database", "sqlite:/tmp/q.db"]), |_| None).unwrap();
        assert_eq!((c.addr.port(), c.database_url.as_str()), (9000, "sqlite:/tmp/q.db"));
        for bad in [&["--port", "x"][..], &["--port"], &["--verbose"], &["--database", "mysql://x"], &["--help"]] {
            assert!(StandaloneConfig::from_args(&args(bad), |_| None).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_public_dev_token_stays_on_this_machine() {
        assert!(StandaloneConfig::from_args(&args(&["--host", "0.0.0.0"]), |_| None).is_err());
        let only_token = |name: &str| (name == "QSTASH_DEV_TOKEN").then(|| "secret".to_string());
        assert!(StandaloneConfig::from_args(&args(&["--host", "0.0.0.0"]), only_token).is_err(), "the public keys too");
        let own = |name: &str| match name {
            "QSTASH_DEV_TOKEN" => Some("secret".to_string()),
            "QSTASH_DEV_CURRENT_SIGNING_KEY" => Some("sig_own_c".to_string()),
            "QSTASH_DEV_NEXT_SIGNING_KEY" => Some("sig_own_n".to_string()),
            _ => None,
        };
        assert_eq!(StandaloneConfig::from_args(&args(&["--host", "0.0.0.0"]), own).unwrap().token, "secret");
        let env = |name: &str| match name {
            "QSTASH_DEV_PORT" => Some("9100".to_string()),
            "DATABASE_URL" => Some("sqlite:/tmp/own.db".to_string()),
            _ => None,
        };
        let c = StandaloneConfig::from_args(&[], env).unwrap();
        assert_eq!((c.addr.port(), c.database_url.as_str()), (9100, "sqlite:/tmp/own.db"));
    }
}
