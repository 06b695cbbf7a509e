use super::{INPUT, PRIMARY_BUTTON};
use crate::{
    server_fns::{error_text, list_tokens, qstash_identity, CreateToken, RevokeToken},
    shared::format_timestamp,
};
use leptos::prelude::*;

/// `/settings`: the account's API tokens, for scripts (`Authorization: Bearer …`). A new token is
/// shown once; only its hash is kept.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    let qstash = Resource::new(|| (), |_| qstash_identity());
    let created = move || match create.value().get() {
        Some(Ok(token)) => Some(view! {
            <div class="space-y-2 rounded-lg border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-900" data-testid="new-token">
                <p class="font-medium">{format!("Token \"{}\" created. Copy it now: it is not shown again.", token.name)}</p>
                <code class="block break-all rounded bg-white px-2 py-1 font-mono text-xs text-slate-900">{token.token}</code>
            </div>
        }),
        _ => None,
    };
    let error = move || match (create.value().get(), revoke.value().get()) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => Some(error_text(&e)),
        _ => None,
    };
    view! {
        <div class="mx-auto max-w-3xl space-y-6">
            <h1 class="text-xl font-semibold tracking-tight">"Settings"</h1>
            <section class="space-y-4 rounded-xl border border-slate-200 bg-white p-5 shadow-sm">
                <h2 class="text-base font-semibold">"API tokens"</h2>
                <p class="text-sm text-slate-600">"Scripts use a token as " <code class="font-mono text-xs">"Authorization: Bearer <token>"</code> " on the JSON API. It acts as you."</p>
                <ActionForm action=create attr:class="flex flex-wrap items-end gap-3" attr:data-testid="create-token">
                    <div class="min-w-[12rem] flex-1 space-y-1">
                        <label for="token-name" class="block text-sm font-medium text-slate-700">"Name"</label>
                        <input id="token-name" name="name" type="text" required maxlength="100" placeholder="Nightly export" class=INPUT/>
                    </div>
                    <div><button type="submit" disabled=move || create.pending().get() class=PRIMARY_BUTTON>"Create token"</button></div>
                </ActionForm>
                {created}
                {move || error().map(|m| view! { <p role="alert" class="rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-700">{m}</p> })}
                <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading tokens…"</p> }>
                    {move || Suspend::new(async move {
                        match tokens.await {
                            Ok(list) if list.is_empty() => view! { <p class="text-sm text-slate-500">"No tokens yet."</p> }.into_any(),
                            Ok(list) => view! {
                                <ul class="divide-y divide-slate-100" data-testid="token-list">
                                    {list.into_iter().map(|t| {
                                        let id = t.id.clone();
                                        view! {
                                            <li class="flex items-center justify-between gap-3 py-2 text-sm">
                                                <div>
                                                    <p class="font-medium text-slate-900">{t.name.clone()}</p>
                                                    <p class="text-xs text-slate-500">{format!("Created {} · {}", format_timestamp(t.created_at),
                                                        t.last_used_at.map(|at| format!("last used {}", format_timestamp(at))).unwrap_or_else(|| "never used".into()))}</p>
                                                </div>
                                                <button type="button" class="rounded-lg border border-slate-300 px-3 py-1 text-xs font-medium text-rose-700 hover:bg-rose-50"
                                                    aria-label=format!("Revoke token {}", t.name)
                                                    on:click=move |_| { revoke.dispatch(RevokeToken { id: id.clone() }); }>"Revoke"</button>
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            }.into_any(),
                            Err(e) => view! { <p role="alert" class="text-sm text-rose-700">{error_text(&e)}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    qstash.await.ok().flatten().map(|q| view! {
                        <section class="space-y-3 rounded-xl border border-slate-200 bg-white p-5 shadow-sm" data-testid="qstash-identity">
                            <h2 class="text-base font-semibold">"Embedded QStash server"</h2>
                            <p class="text-sm text-slate-600">"What other apps (or the QStash SDKs) need to use Scout's built-in QStash server. Keep the token and keys secret."</p>
                            <dl class="grid gap-2 text-sm sm:grid-cols-[12rem_1fr]">
                                <dt class="font-medium text-slate-700">"QSTASH_URL"</dt><dd><code class="break-all font-mono text-xs">{q.url}</code></dd>
                                <dt class="font-medium text-slate-700">"QSTASH_TOKEN"</dt><dd><code class="break-all font-mono text-xs">{q.token}</code></dd>
                                <dt class="font-medium text-slate-700">"QSTASH_CURRENT_SIGNING_KEY"</dt><dd><code class="break-all font-mono text-xs">{q.current_signing_key}</code></dd>
                                <dt class="font-medium text-slate-700">"QSTASH_NEXT_SIGNING_KEY"</dt><dd><code class="break-all font-mono text-xs">{q.next_signing_key}</code></dd>
                            </dl>
                        </section>
                    })
                })}
            </Transition>
        </div>
    }
}
