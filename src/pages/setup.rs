use super::{reload_to, INPUT, PRIMARY_BUTTON};
use crate::{
    server_fns::{error_text, setup_info, SetupAccount},
    shared::MIN_PASSWORD_CHARS,
};
use leptos::prelude::*;

/// `/setup`, while no account exists: creates the first account, an admin that takes over what was
/// made before accounts existed. Reachable from other machines, it also asks for the code in the log.
#[component]
pub fn SetupPage() -> impl IntoView {
    let info = Resource::new(|| (), |_| setup_info());
    let action = ServerAction::<SetupAccount>::new();
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
        <div class="mx-auto mt-10 max-w-md">
            <ActionForm action attr:class="space-y-4 rounded-xl border border-slate-200 bg-white p-6 shadow-sm" attr:data-testid="setup-form">
                <h1 class="text-xl font-semibold tracking-tight">"Welcome to Scout"</h1>
                <p class="text-sm text-slate-600">"Create the first account. It is an admin: it can add members and sees everything made so far."</p>
                <div class="space-y-1">
                    <label for="email" class="block text-sm font-medium text-slate-700">"Email"</label>
                    <input id="email" name="email" type="email" required autocomplete="username" class=INPUT/>
                </div>
                <div class="space-y-1">
                    <label for="password" class="block text-sm font-medium text-slate-700">"Password"</label>
                    <input id="password" name="password" type="password" required minlength=MIN_PASSWORD_CHARS autocomplete="new-password" class=INPUT/>
                    <p class="text-xs text-slate-500">{format!("At least {MIN_PASSWORD_CHARS} characters.")}</p>
                </div>
                <Suspense fallback=|| view! { <input type="hidden" name="setup_code" value=""/> }>
                    {move || Suspend::new(async move {
                        match info.await {
                            Ok(info) if info.setup_code_required => view! {
                                <div class="space-y-1">
                                    <label for="setup_code" class="block text-sm font-medium text-slate-700">"Setup code"</label>
                                    <input id="setup_code" name="setup_code" type="text" required autocomplete="off" placeholder="ABCD-EFGH-JKLM" class=INPUT/>
                                    <p class="text-xs text-slate-500">"Scout printed it in its log when it started, so only whoever runs it can claim it."</p>
                                </div>
                            }.into_any(),
                            _ => view! { <input type="hidden" name="setup_code" value=""/> }.into_any(),
                        }
                    })}
                </Suspense>
                {move || error().map(|m| view! { <p role="alert" class="rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-700">{m}</p> })}
                <button type="submit" disabled=move || action.pending().get() class=PRIMARY_BUTTON>"Create admin account"</button>
            </ActionForm>
        </div>
    }
}
