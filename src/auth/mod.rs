//! Accounts: password hashing, the secrets behind sessions and API tokens, who a request acts for,
//! and sign-in throttling. `usecases::accounts` uses these; `api::accounts` serves them.

pub mod client_ip;
pub mod cookie;
pub mod password;
pub mod principal;
pub mod secret;
pub mod throttle;

pub use principal::Principal;
