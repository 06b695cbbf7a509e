use crate::{
    pages::reload_to,
    server_fns::{current_account, site_info, SignOut},
};
use leptos::prelude::*;

#[component]
pub fn Header() -> impl IntoView {
    let info = Resource::new(|| (), |_| site_info());
    let account = Resource::new(|| (), |_| current_account());
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if sign_out.value().get().is_some() {
            reload_to("/login");
        }
    });
    view! {
        <header class="border-b border-slate-200 bg-white">
            <div class="mx-auto flex max-w-6xl items-center justify-between px-4 py-3 sm:px-6">
                <a href="/" class="flex items-center gap-2 text-lg font-semibold tracking-tight text-slate-900">
                    <span class="inline-flex h-8 w-8 items-center justify-center rounded-lg bg-indigo-600 text-sm font-bold text-white">"S"</span>
                    "Scout"
                </a>
                <nav class="flex items-center gap-4 text-sm">
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            match info.await {
                                Ok(info) if info.demo_data => Some(view! {
                                    <span
                                        data-testid="demo-badge"
                                        title="Results come from Scout's built-in simulator, not a real scraping API."
                                        class="rounded-full bg-amber-100 px-3 py-1 text-xs font-medium text-amber-800"
                                    >
                                        "Demo data"
                                    </span>
                                }),
                                _ => None,
                            }
                        })}
                    </Suspense>
                    <Suspense fallback=|| ()>
                        {move || Suspend::new(async move {
                            account.await.ok().flatten().map(|me| view! {
                                <a href="/" class="font-medium text-slate-600 hover:text-slate-900">"Campaigns"</a>
                                {me.is_admin.then(|| view! {
                                    <a href="/admin/runs" class="font-medium text-slate-600 hover:text-slate-900">"All runs"</a>
                                    <a href="/admin/users" class="font-medium text-slate-600 hover:text-slate-900">"Users"</a>
                                })}
                                <a href="/settings" class="font-medium text-slate-600 hover:text-slate-900">"Settings"</a>
                                <span class="hidden text-slate-500 sm:inline" data-testid="signed-in-as">{me.email}</span>
                                <ActionForm action=sign_out>
                                    <button type="submit" class="rounded-lg border border-slate-300 px-3 py-1 font-medium text-slate-700 hover:bg-slate-50">"Sign out"</button>
                                </ActionForm>
                            })
                        })}
                    </Suspense>
                </nav>
            </div>
        </header>
    }
}
