//! The root component, the HTML shell and the routes.

use crate::{
    components::header::Header,
    pages::{
        admin_runs::AdminRunsPage, admin_users::AdminUsersPage, campaign::CampaignPage, campaigns::CampaignsPage, login::LoginPage, settings::SettingsPage,
        setup::SetupPage, signup::SignupPage,
    },
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's CSP names this response's nonce, which Leptos puts on each inline script it writes.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(csp) = axum::http::HeaderValue::from_str(&crate::guards::page_csp(&nonce.to_string())) {
            response.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, csp);
        }
    }
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body class="bg-slate-50 text-slate-900 antialiased">
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="leptos" href="/pkg/scout.css"/>
        <Title text="Scout — influencer discovery"/>
        <Router>
            <Header/>
            <main class="mx-auto max-w-6xl px-4 pb-16 pt-6 sm:px-6">
                <Routes fallback=|| view! { <p class="text-slate-600">"Page not found."</p> }>
                    <Route path=path!("/") view=CampaignsPage/>
                    <Route path=path!("/campaigns/:id") view=CampaignPage/>
                    <Route path=path!("/login") view=LoginPage/>
                    <Route path=path!("/setup") view=SetupPage/>
                    <Route path=path!("/signup") view=SignupPage/>
                    <Route path=path!("/settings") view=SettingsPage/>
                    <Route path=path!("/admin/users") view=AdminUsersPage/>
                    <Route path=path!("/admin/runs") view=AdminRunsPage/>
                </Routes>
            </main>
        </Router>
    }
}
