//! Logging: `RUST_LOG` filters (default: info for Scout, warnings for libraries).

pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "scout=info,warn".into());
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).try_init();
}
