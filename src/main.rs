#![recursion_limit = "512"]
//! `scout` serves the app; `scout qstash-dev` serves only the QStash-compatible server, for other apps;
//! `scout user create` and `scout token create` are the operators' account tools.
use anyhow::Context;
use scout::{
    config::Config,
    qstash::standalone::{Standalone, StandaloneConfig},
    startup::Application,
    telemetry,
};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("qstash-dev") => {
            let _ = dotenvy::dotenv();
            let config = StandaloneConfig::from_args(&args[1..], |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))?;
            Standalone::build(config).await?.run().await
        }
        Some("user") | Some("token") => {
            let config = Config::from_env().context("Invalid configuration")?;
            scout::cli::run(&config, &args).await
        }
        Some(other) => anyhow::bail!(
            "unknown command {other}; run `scout` for the app, `scout qstash-dev --help`, `scout user create --email E [--admin]` or `scout token create --email E --name N`"
        ),
        None => {
            let config = Config::from_env().context("Invalid configuration")?;
            // Site root, pkg dir and output name come from cargo-leptos (Cargo.toml metadata / env).
            let mut leptos_options = leptos::config::get_configuration(None).context("Invalid Leptos configuration")?.leptos_options;
            if leptos_options.output_name.is_empty() {
                leptos_options.output_name = "scout".into();
            }
            let app = Application::build(config, leptos_options).await?;
            app.run().await
        }
    }
}
