//! Operators' account commands, on the database of the configuration:
//! `scout user create --email E [--admin]` (the password is read from stdin) and
//! `scout token create --email E --name N` (prints only the token, for scripts).

use crate::{config::Config, db, usecases::accounts, usecases::Role};
use anyhow::{bail, Context};
use std::io::BufRead;

pub async fn run(config: &Config, args: &[String]) -> anyhow::Result<()> {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let db = db::connect(&config.database_url).await?;
    match (args.first().map(String::as_str), args.get(1).map(String::as_str)) {
        (Some("user"), Some("create")) => {
            let email = flag("--email").context("--email is required")?;
            let role = if args.iter().any(|a| a == "--admin") { Role::Admin } else { Role::Member };
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password).context("Failed to read the password from stdin")?;
            let password = password.trim_end_matches(['\r', '\n']);
            let user = accounts::create_account(&db, &email, password, role).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!("Created {} ({})", user.email, Role::parse(&user.role).as_str());
            Ok(())
        }
        (Some("token"), Some("create")) => {
            let email = flag("--email").context("--email is required")?;
            let name = flag("--name").context("--name is required")?;
            let email = accounts::parse_email(&email).map_err(|e| anyhow::anyhow!("{e}"))?;
            let user = db::users::find_by_email(&db, &email).await?.with_context(|| format!("No account for {email}"))?;
            let token = accounts::create_token(&db, &user.id, &name).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", token.token);
            Ok(())
        }
        _ => bail!("usage: scout user create --email E [--admin]  |  scout token create --email E --name N"),
    }
}
