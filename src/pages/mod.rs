pub mod admin_runs;
pub mod admin_users;
pub mod campaign;
pub mod campaigns;
pub mod login;
pub mod settings;
pub mod setup;
pub mod signup;

/// A full page load of `path`, after signing in or out, so every part of the page (and the server's
/// sign-in redirect) sees the new session.
pub fn reload_to(path: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(path);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = path;
}

/// The classes shared by the account pages' inputs and buttons.
pub(crate) const INPUT: &str = "block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200";
pub(crate) const PRIMARY_BUTTON: &str = "inline-flex w-full items-center justify-center rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-700 disabled:opacity-60";
