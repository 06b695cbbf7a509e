#![recursion_limit = "512"]
use anyhow::Context;
use scout::{config::Config, startup::Application, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init();
    let config = Config::from_env().context("Invalid configuration")?;
    // Site root, pkg dir and output name come from cargo-leptos (Cargo.toml metadata / env).
    let mut leptos_options = leptos::config::get_configuration(None).context("Invalid Leptos configuration")?.leptos_options;
    if leptos_options.output_name.is_empty() {
        leptos_options.output_name = "scout".into();
    }
    let app = Application::build(config, leptos_options).await?;
    app.run().await
}
