use super::{reload_to, INPUT, PRIMARY_BUTTON};
use crate::{
    server_fns::{error_text, setup_info, SignUp},
    shared::MIN_PASSWORD_CHARS,
};
use leptos::prelude::*;

/// `/signup`: a member account, when the operator opened sign-up (`SCOUT_OPEN_SIGNUP=true`).
#[component]
pub fn SignupPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| setup_info());
    let action = ServerAction::<SignUp>::new();
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
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match info.await {
                        Ok(info) if info.open_signup => view! {
                            <ActionForm action attr:class="space-y-4 rounded-xl border border-slate-200 bg-white p-6 shadow-sm" attr:data-testid="signup-form">
                                <h1 class="text-xl font-semibold tracking-tight">"Create your Scout account"</h1>
                                <div class="space-y-1">
                                    <label for="email" class="block text-sm font-medium text-slate-700">"Email"</label>
                                    <input id="email" name="email" type="email" required autocomplete="username" class=INPUT/>
                                </div>
                                <div class="space-y-1">
                                    <label for="password" class="block text-sm font-medium text-slate-700">"Password"</label>
                                    <input id="password" name="password" type="password" required minlength=MIN_PASSWORD_CHARS autocomplete="new-password" class=INPUT/>
                                    <p class="text-xs text-slate-500">{format!("At least {MIN_PASSWORD_CHARS} characters.")}</p>
                                </div>
                                {move || error().map(|m| view! { <p role="alert" class="rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-700">{m}</p> })}
                                <button type="submit" disabled=move || action.pending().get() class=PRIMARY_BUTTON>"Create account"</button>
                                <p class="text-xs text-slate-500">"Already have one? " <a href="/login" class="font-medium text-indigo-700">"Sign in"</a></p>
                            </ActionForm>
                        }.into_any(),
                        _ => view! {
                            <div class="space-y-3 rounded-xl border border-slate-200 bg-white p-6 shadow-sm">
                                <h1 class="text-xl font-semibold tracking-tight">"Sign-up is closed"</h1>
                                <p class="text-sm text-slate-600">"Ask an admin of this Scout to add you."</p>
                                <a href="/login" class="text-sm font-medium text-indigo-700">"Sign in"</a>
                            </div>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}
