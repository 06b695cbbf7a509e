use crate::{
    server_fns::{all_runs, error_text},
    shared::{format_count, format_timestamp},
};
use leptos::prelude::*;

/// `/admin/runs` (admins): every member's newest searches, each opening its campaign read-only.
#[component]
pub fn AdminRunsPage() -> impl IntoView {
    let runs = Resource::new(|| (), |_| all_runs());
    view! {
        <div class="mx-auto max-w-5xl space-y-4">
            <h1 class="text-xl font-semibold tracking-tight">"All runs"</h1>
            <p class="text-sm text-slate-600">"Every member's newest searches. Opening one shows its campaign read-only: admins can view and export, not change."</p>
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading runs…"</p> }>
                {move || Suspend::new(async move {
                    match runs.await {
                        Ok(list) if list.is_empty() => view! { <p class="rounded-xl border border-dashed border-slate-300 p-8 text-center text-sm text-slate-500">"No searches yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm">
                                <table class="min-w-full divide-y divide-slate-200 text-sm" data-testid="all-runs">
                                    <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-600">
                                        <tr>
                                            <th scope="col" class="px-3 py-2">"Member"</th>
                                            <th scope="col" class="px-3 py-2">"Campaign"</th>
                                            <th scope="col" class="px-3 py-2">"Search"</th>
                                            <th scope="col" class="px-3 py-2">"Status"</th>
                                            <th scope="col" class="px-3 py-2 text-right">"Creators"</th>
                                            <th scope="col" class="px-3 py-2">"Started"</th>
                                        </tr>
                                    </thead>
                                    <tbody class="divide-y divide-slate-100">
                                        {list.into_iter().map(|r| view! {
                                            <tr>
                                                <td class="px-3 py-2 text-slate-700">{r.owner_email}</td>
                                                <td class="px-3 py-2"><a href=format!("/campaigns/{}", r.job.campaign_id) class="font-medium text-indigo-700 hover:underline">{r.campaign_name}</a></td>
                                                <td class="px-3 py-2 text-slate-700">{format!("{} · {}", r.job.platform.label(), r.job.account_label().unwrap_or_else(|| r.job.keywords.join(", ")))}</td>
                                                <td class="px-3 py-2 text-slate-700">{r.job.status.as_str()}</td>
                                                <td class="px-3 py-2 text-right tabular-nums">{format!("{} / {}", format_count(r.job.processed_results as i64), format_count(r.job.target_results as i64))}</td>
                                                <td class="whitespace-nowrap px-3 py-2 text-slate-500">{format_timestamp(r.job.created_at)}</td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-sm text-rose-700">{error_text(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}
