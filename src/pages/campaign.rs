use crate::{
    components::{job_panel::JobPanel, search_form::SearchForm},
    server_fns::{error_text, get_campaign},
    shared::{format_count, format_timestamp, CampaignDetail, JobStatus, JobView},
};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// One campaign: the search form, its runs, and the selected run's progress and results.
#[component]
pub fn CampaignPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, get_campaign);
    view! {
        <Suspense fallback=|| view! { <p class="text-sm text-slate-500">"Loading campaign…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(detail) => view! { <CampaignBody detail/> }.into_any(),
                    Err(e) => view! {
                        <div class="rounded-xl border border-slate-200 bg-white p-8 text-center">
                            <p role="alert" class="text-slate-700">{error_text(&e)}</p>
                            <a href="/" class="mt-3 inline-block text-sm font-medium text-indigo-700">"Back to campaigns"</a>
                        </div>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CampaignBody(detail: CampaignDetail) -> impl IntoView {
    let campaign_id = detail.campaign.id.clone();
    // The newest run is shown on arrival, so a reload mid-job resumes its progress bar.
    let active = RwSignal::new(detail.jobs.first().map(|j| j.id.clone()));
    // The run list is reloaded whenever a run starts or is picked, so new runs appear at once.
    let finished = RwSignal::new(0u32);
    let runs = Resource::new(move || (active.get(), finished.get()), {
        let campaign_id = campaign_id.clone();
        move |_| get_campaign(campaign_id.clone())
    });
    let on_started = move |job_id: String| active.set(Some(job_id));
    let panel_campaign = campaign_id.clone();
    view! {
        <div class="space-y-6">
            <div>
                <a href="/" class="text-sm text-slate-500 hover:text-slate-700">"← Campaigns"</a>
                <h1 class="mt-1 text-2xl font-semibold tracking-tight" data-testid="campaign-name">{detail.campaign.name.clone()}</h1>
                {(!detail.campaign.description.is_empty()).then(|| view! { <p class="mt-1 max-w-3xl text-slate-600">{detail.campaign.description.clone()}</p> })}
            </div>
            <div class="grid gap-6 lg:grid-cols-3">
                <div class="lg:col-span-1">
                    {if detail.read_only {
                        view! {
                            <p class="rounded-xl border border-amber-200 bg-amber-50 p-4 text-sm text-amber-900" data-testid="read-only">
                                "This campaign belongs to another member. As an admin you can view its runs and export them, but not start or cancel searches."
                            </p>
                        }.into_any()
                    } else {
                        view! { <SearchForm campaign_id=campaign_id.clone() on_started/> }.into_any()
                    }}
                </div>
                <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm lg:col-span-2">
                    <h2 class="text-base font-semibold">"Runs"</h2>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let list = runs.await.map(|d| d.jobs).unwrap_or_default();
                            view! { <RunList list active/> }
                        })}
                    </Transition>
                </div>
            </div>
            {move || match active.get() {
                Some(job_id) => view! { <JobPanel job_id campaign_id=panel_campaign.clone() on_finished=move || finished.update(|n| *n += 1)/> }.into_any(),
                None => view! {
                    <div class="rounded-xl border border-dashed border-slate-300 bg-white p-10 text-center text-slate-500">
                        <p class="font-medium text-slate-700">"Start a search to find creators."</p>
                        <p class="mt-1 text-sm">"Pick keywords and how many creators you want; progress and results show here."</p>
                    </div>
                }.into_any(),
            }}
        </div>
    }
}

#[component]
fn RunList(list: Vec<JobView>, active: RwSignal<Option<String>>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="mt-2 text-sm text-slate-500">"No searches yet."</p> }.into_any();
    }
    view! {
        <ul class="mt-3 grid gap-2 sm:grid-cols-2" data-testid="runs">
            {list.into_iter().map(|job| {
                let id = job.id.clone();
                let selected = {
                    let id = id.clone();
                    move || active.get().as_deref() == Some(id.as_str())
                };
                let badge = match job.status {
                    JobStatus::Completed => "text-emerald-700",
                    JobStatus::Error | JobStatus::Timeout => "text-rose-700",
                    _ => "text-indigo-700",
                };
                view! {
                    <li>
                        <button type="button"
                            class="w-full rounded-lg border px-3 py-2 text-left text-sm transition hover:border-indigo-300"
                            class=("border-indigo-400", selected.clone())
                            class=("bg-indigo-50", selected.clone())
                            class=("border-slate-200", move || !selected())
                            on:click=move |_| active.set(Some(id.clone()))>
                            <div class="flex items-baseline gap-2">
                                <span class="shrink-0 rounded bg-slate-100 px-1.5 py-0.5 text-xs font-medium text-slate-700" data-testid="run-platform">{job.platform.label()}</span>
                                <span class="truncate font-medium">{job.title()}</span>
                            </div>
                            <div class="flex justify-between text-xs text-slate-600">
                                <span class=badge>{job.status.as_str()}</span>
                                <span>{format!("{} / {}", format_count(job.processed_results as i64), format_count(job.target_results as i64))}</span>
                            </div>
                            <div class="text-xs text-slate-600">{format_timestamp(job.created_at)}</div>
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }.into_any()
}
