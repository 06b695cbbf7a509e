use super::{reload_to, INPUT, PRIMARY_BUTTON};
use crate::server_fns::{error_text, setup_info, SignIn};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// `/login?next=…`: email and password; back to `next` (a path on this site) once signed in.
#[component]
pub fn LoginPage() -> impl IntoView {
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    let action = ServerAction::<SignIn>::new();
    let info = Resource::new(|| (), |_| setup_info());
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            reload_to(&target);
        }
    });
    let error = move || match action.value().get() {
        Some(Err(e)) => Some(error_text(&e)),
        _ => None,
    };
    view! {
        <div class="mx-auto mt-10 max-w-sm">
            <ActionForm action attr:class="space-y-4 rounded-xl border border-slate-200 bg-white p-6 shadow-sm" attr:data-testid="login-form">
                <h1 class="text-xl font-semibold tracking-tight">"Sign in to Scout"</h1>
                <input type="hidden" name="next" prop:value=next/>
                <div class="space-y-1">
                    <label for="email" class="block text-sm font-medium text-slate-700">"Email"</label>
                    <input id="email" name="email" type="email" required autocomplete="username" class=INPUT/>
                </div>
                <div class="space-y-1">
                    <label for="password" class="block text-sm font-medium text-slate-700">"Password"</label>
                    <input id="password" name="password" type="password" required autocomplete="current-password" class=INPUT/>
                </div>
                {move || error().map(|m| view! { <p role="alert" class="rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-700">{m}</p> })}
                <button type="submit" disabled=move || action.pending().get() class=PRIMARY_BUTTON>"Sign in"</button>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match info.await {
                            Ok(info) if info.open_signup => view! {
                                <p class="text-xs text-slate-500">"No account? " <a href="/signup" class="font-medium text-indigo-700">"Create one"</a></p>
                            }.into_any(),
                            _ => view! { <p class="text-xs text-slate-500">"No account? Ask an admin of this Scout to add you."</p> }.into_any(),
                        }
                    })}
                </Suspense>
            </ActionForm>
        </div>
    }
}
