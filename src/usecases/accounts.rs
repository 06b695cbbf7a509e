//! Accounts: first-run setup, sign-in and out, members (admins only) and API tokens. The CLI
//! (`scout user create`, `scout token create`) uses the same functions on a bare database.

use super::{Owner, Role, UseCaseError};
use crate::{
    auth::{password, secret, throttle, Principal},
    db::{self, users::UserRow, Db},
    shared::{AccountLimits, AccountView, AdminRunView, CreatedToken, QstashIdentityView, TokenView},
    startup::AppState,
};
use std::net::IpAddr;

/// A new session: the secret goes into the cookie, only its hash into the database.
pub struct SignedIn {
    pub principal: Principal,
    pub session_secret: String,
}

pub use crate::shared::MIN_PASSWORD_CHARS;
const MAX_PASSWORD_BYTES: usize = 1024;

/// Trimmed and lowercased; a plain shape check (the address is a sign-in name, not mailed).
pub fn parse_email(raw: &str) -> Result<String, UseCaseError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.starts_with('.'))
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(UseCaseError::Invalid("Enter a valid email address.".into()))
    }
}

pub fn check_password(password: &str) -> Result<(), UseCaseError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(UseCaseError::Invalid(format!("Choose a password of at least {MIN_PASSWORD_CHARS} characters.")));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(UseCaseError::Invalid("That password is too long.".into()));
    }
    Ok(())
}

/// Whether the first account has been created.
pub async fn is_set_up(state: &AppState) -> Result<bool, UseCaseError> {
    if state.set_up.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(true);
    }
    let done = db::users::setup_done(&state.db).await?;
    state.set_up.store(done, std::sync::atomic::Ordering::Relaxed);
    Ok(done)
}

/// Whether setup must ask for the code from the log: Scout is reachable from other machines, or
/// this request came through a proxy or from another machine (`from_network`).
pub fn setup_code_required(state: &AppState, from_network: bool) -> bool {
    state.setup_code.is_some() && (state.config.auth.exposed || from_network)
}

/// Creates the first account, an admin that takes over everything made before accounts existed,
/// and signs it in. When Scout is reachable from other machines (or the request arrives through a
/// proxy), the setup code from the log is required too.
pub async fn setup(
    state: &AppState,
    email: &str,
    password: &str,
    setup_code: Option<&str>,
    from_network: bool,
) -> Result<SignedIn, UseCaseError> {
    if is_set_up(state).await? {
        return Err(UseCaseError::Conflict("Scout is already set up: sign in instead."));
    }
    let email = parse_email(email)?;
    check_password(password)?;
    if setup_code_required(state, from_network) {
        // The stored code, which every instance printed (or the newest start replaced).
        let expected = db::users::current_setup_code(&state.db).await?;
        let given = setup_code.map(str::trim).unwrap_or_default();
        if !expected.is_some_and(|expected| secret::same(&given.to_ascii_uppercase(), &expected)) {
            return Err(UseCaseError::Invalid(
                "Enter the setup code printed in Scout's log when it started (the latest one, if it started more than once).".into(),
            ));
        }
    }
    let hash = password::hash(password).await?;
    if !db::users::claim_first_admin(&state.db, &email, &hash).await? {
        return Err(UseCaseError::Conflict("Scout is already set up: sign in instead."));
    }
    forget_setup_code(&state.db).await;
    state.set_up.store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(email, "first account created (admin)");
    let user = db::users::find_by_email(&state.db, &email).await?.ok_or(UseCaseError::NotFound("Account not found."))?;
    start_session(state, user).await
}

/// Setup is done whatever happens here: a code left behind is refused anyway (setup is over).
async fn forget_setup_code(db: &db::Db) {
    if let Err(e) = db::users::forget_setup_code(db).await {
        tracing::warn!(error = %e, "could not delete the used setup code");
    }
}

/// Signs in with email and password. Attempts are counted per account and per client address
/// before the password is checked; past the limit every attempt (even a right one) is refused until
/// the window frees up.
pub async fn login(state: &AppState, email: &str, password: &str, client: IpAddr) -> Result<SignedIn, UseCaseError> {
    let wrong = || UseCaseError::Unauthorized("Wrong email or password.");
    let limits = throttle::Throttle { max_failures: state.config.auth.login_max_failures, window: state.config.auth.login_window };
    let client_key = throttle::client_key(client);
    // Not an email at all: counted against the address only (no 2 MB "account" keys), not hashed.
    let Ok(email) = parse_email(email) else {
        return match limits.begin(&state.db, &[&client_key]).await? {
            Ok(_) => Err(wrong()),
            Err(wait) => Err(too_many(wait)),
        };
    };
    let account_key = throttle::account_key(&email);
    let attempt = match limits.begin(&state.db, &[&account_key, &client_key]).await? {
        Ok(attempt) => attempt,
        Err(wait) => return Err(too_many(wait)),
    };
    let user = db::users::find_by_email(&state.db, &email).await?;
    let ok = password::verify(password, user.as_ref().and_then(|u| u.password_hash.as_deref())).await?;
    match user {
        Some(user) if ok => {
            attempt.succeeded(&state.db, &account_key).await?;
            if user.disabled_at.is_some() {
                return Err(UseCaseError::Forbidden("This account is disabled. Ask an admin to enable it."));
            }
            start_session(state, user).await
        }
        _ => {
            tracing::info!(%client, "failed sign-in");
            Err(wrong())
        }
    }
}

fn too_many(wait: u64) -> UseCaseError {
    UseCaseError::TooManyRequests {
        message: format!("Too many failed sign-ins. Try again in {}.", crate::duration::human_wait(wait)),
        retry_after_secs: Some(wait),
    }
}

/// Open sign-up (`SCOUT_OPEN_SIGNUP=true`): a member account, signed in.
pub async fn signup(state: &AppState, email: &str, password: &str) -> Result<SignedIn, UseCaseError> {
    if !state.config.auth.open_signup {
        return Err(UseCaseError::Forbidden("Sign-up is closed: ask an admin for an account."));
    }
    if !is_set_up(state).await? {
        return Err(UseCaseError::Conflict("Scout is not set up yet: create the first account at /setup."));
    }
    let user = create_account(&state.db, email, password, Role::Member).await?;
    start_session(state, user).await
}

pub async fn logout(state: &AppState, session_secret: Option<&str>) -> Result<(), UseCaseError> {
    if let Some(secret_value) = session_secret {
        db::sessions::revoke_session(&state.db, &secret::hash(secret_value)).await?;
    }
    Ok(())
}

async fn start_session(state: &AppState, user: UserRow) -> Result<SignedIn, UseCaseError> {
    let session_secret = secret::generate("");
    let expires_at = db::now_ms() + state.config.auth.session_ttl.as_millis() as i64;
    db::sessions::insert_session(&state.db, &secret::hash(&session_secret), &user.id, expires_at).await?;
    Ok(SignedIn { principal: Principal::from_user(user), session_secret })
}

/// Creates an account (admins, the CLI and open sign-up).
pub async fn create_account(db: &Db, email: &str, password: &str, role: Role) -> Result<UserRow, UseCaseError> {
    let email = parse_email(email)?;
    check_password(password)?;
    let hash = password::hash(password).await?;
    // Before setup the first admin claims the built-in user (what `/setup` does).
    if role == Role::Admin && !db::users::setup_done(db).await? && db::users::claim_first_admin(db, &email, &hash).await? {
        forget_setup_code(db).await;
        return db::users::find_by_email(db, &email).await?.ok_or(UseCaseError::NotFound("Account not found."));
    }
    match db::users::insert(db, &email, &hash, role.as_str()).await? {
        db::users::Inserted::Created(user) => Ok(user),
        db::users::Inserted::EmailTaken => Err(UseCaseError::Conflict("An account with this email already exists.")),
    }
}

fn require_admin(owner: &Owner) -> Result<(), UseCaseError> {
    if owner.is_admin() {
        Ok(())
    } else {
        Err(UseCaseError::Forbidden("Only admins can manage accounts."))
    }
}

pub fn view(user: &UserRow) -> AccountView {
    AccountView {
        id: user.id.clone(),
        email: user.email.clone(),
        role: Role::parse(&user.role).as_str().to_string(),
        disabled: user.disabled_at.is_some(),
        created_at: user.created_at,
        limits: AccountLimits {
            runs_in_flight: user.max_runs_in_flight,
            searches_per_day: user.max_searches_per_day,
            credits_per_month: user.max_credits_per_month,
        },
    }
}

/// Sets a member's own limits (`None` = the instance default, 0 = no limit).
pub async fn set_limits(state: &AppState, owner: &Owner, user_id: &str, limits: &AccountLimits) -> Result<AccountView, UseCaseError> {
    require_admin(owner)?;
    for value in [limits.runs_in_flight, limits.searches_per_day, limits.credits_per_month].into_iter().flatten() {
        if value < 0 {
            return Err(UseCaseError::Invalid("Limits are whole numbers of 0 (no limit) or more.".into()));
        }
    }
    if !db::users::set_limits(&state.db, user_id, limits.runs_in_flight, limits.searches_per_day, limits.credits_per_month).await? {
        return Err(UseCaseError::NotFound("Account not found."));
    }
    account(state, user_id).await
}

pub async fn add_member(state: &AppState, owner: &Owner, email: &str, password: &str, role: &str) -> Result<AccountView, UseCaseError> {
    require_admin(owner)?;
    let role = match role.trim() {
        "admin" => Role::Admin,
        "member" | "" => Role::Member,
        _ => return Err(UseCaseError::Invalid("role must be admin or member.".into())),
    };
    let user = create_account(&state.db, email, password, role).await?;
    tracing::info!(by = owner.user_id(), user = user.id, "account created");
    Ok(view(&user))
}

pub async fn list_accounts(state: &AppState, owner: &Owner) -> Result<Vec<AccountView>, UseCaseError> {
    require_admin(owner)?;
    Ok(db::users::list(&state.db).await?.iter().map(view).collect())
}

/// Sets a new password and signs the account out everywhere.
pub async fn reset_password(state: &AppState, owner: &Owner, user_id: &str, password: &str) -> Result<AccountView, UseCaseError> {
    require_admin(owner)?;
    check_password(password)?;
    let hash = password::hash(password).await?;
    if !db::users::set_password(&state.db, user_id, &hash).await? {
        return Err(UseCaseError::NotFound("Account not found."));
    }
    // A reset is what an admin does after an account leaked: every way in it had ends now.
    db::sessions::revoke_all_sessions(&state.db, user_id).await?;
    db::api_tokens::revoke_all_tokens(&state.db, user_id).await?;
    account(state, user_id).await
}

/// Disables (signs out everywhere, refuses its tokens) or enables an account. Admins cannot disable
/// themselves, so an instance always keeps a way in.
pub async fn set_disabled(state: &AppState, owner: &Owner, user_id: &str, disabled: bool) -> Result<AccountView, UseCaseError> {
    require_admin(owner)?;
    if disabled && user_id == owner.user_id() {
        return Err(UseCaseError::Conflict("You cannot disable your own account."));
    }
    if !db::users::set_disabled(&state.db, user_id, disabled).await? {
        return Err(UseCaseError::NotFound("Account not found."));
    }
    if disabled {
        db::sessions::revoke_all_sessions(&state.db, user_id).await?;
    }
    account(state, user_id).await
}

async fn account(state: &AppState, user_id: &str) -> Result<AccountView, UseCaseError> {
    let user = db::users::find(&state.db, user_id).await?.filter(UserRow::is_account).ok_or(UseCaseError::NotFound("Account not found."))?;
    Ok(view(&user))
}

/// The embedded QStash server's URL, token and current signing keys (admins only); 404 when Scout
/// uses real QStash (whose console shows them).
pub async fn qstash_identity(state: &AppState, owner: &Owner) -> Result<QstashIdentityView, UseCaseError> {
    require_admin(owner)?;
    if !state.config.dev_qstash.enabled {
        return Err(UseCaseError::NotFound("Scout uses Upstash QStash: its console shows the token and keys."));
    }
    let keys = db::qstash::keys::load(&state.db).await?;
    let (current, next) = match keys {
        Some(k) => (k.current, k.next),
        None => (state.config.qstash.current_signing_key.clone(), state.config.qstash.next_signing_key.clone()),
    };
    Ok(QstashIdentityView { url: state.urls.public.clone(), token: state.config.qstash.token.clone(), current_signing_key: current, next_signing_key: next })
}

/// Runs shown in the admins' overview.
pub const ADMIN_RUNS_SHOWN: u32 = 200;

/// The newest runs of every member (admins only), to open read-only.
pub async fn all_runs(state: &AppState, owner: &Owner) -> Result<Vec<AdminRunView>, UseCaseError> {
    require_admin(owner)?;
    Ok(db::jobs::recent_everywhere(&state.db, ADMIN_RUNS_SHOWN)
        .await?
        .into_iter()
        .map(|run| AdminRunView { job: run.job.view(), campaign_name: run.campaign_name, owner_email: run.owner_email })
        .collect())
}

/// Parses the users page's limit boxes: empty = the instance default, a whole number of 0 (no
/// limit) or more otherwise.
pub fn parse_limit(raw: &str) -> Result<Option<i64>, UseCaseError> {
    match raw.trim() {
        "" => Ok(None),
        n => n.parse::<i64>().ok().filter(|n| *n >= 0).map(Some).ok_or_else(|| UseCaseError::Invalid("Limits are whole numbers of 0 (no limit) or more.".into())),
    }
}

pub fn parse_token_name(raw: &str) -> Result<String, UseCaseError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(UseCaseError::Invalid("Give the token a name of 1 to 100 characters.".into()));
    }
    Ok(name.to_string())
}

/// A new API token for the owner; its secret is returned once and only its hash is kept.
pub async fn create_token(db: &Db, owner_user_id: &str, name: &str) -> Result<CreatedToken, UseCaseError> {
    let name = parse_token_name(name)?;
    let token = secret::generate("scout_");
    let row = db::api_tokens::insert_token(db, owner_user_id, &name, &secret::hash(&token)).await?;
    Ok(CreatedToken { id: row.id, name: row.name, token })
}

pub async fn list_tokens(state: &AppState, owner: &Owner) -> Result<Vec<TokenView>, UseCaseError> {
    Ok(db::api_tokens::list_tokens(&state.db, owner.user_id())
        .await?
        .into_iter()
        .map(|t| TokenView { id: t.id, name: t.name, created_at: t.created_at, last_used_at: t.last_used_at })
        .collect())
}

pub async fn revoke_token(state: &AppState, owner: &Owner, id: &str) -> Result<(), UseCaseError> {
    match db::api_tokens::revoke_token(&state.db, owner.user_id(), id).await? {
        true => Ok(()),
        false => Err(UseCaseError::NotFound("Token not found.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_passwords_are_checked() {
        assert_eq!(parse_email("  Maya@Example.COM ").unwrap(), "maya@example.com");
        for bad in ["", "maya", "@x.com", "maya@", "ma ya@x.com", "maya@.com"] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
        assert!(check_password("short").is_err());
        assert!(check_password("long enough").is_ok());
        assert!(check_password(&"x".repeat(2000)).is_err());
        assert!(parse_token_name("  ").is_err() && parse_token_name("ci").is_ok());
    }
}
