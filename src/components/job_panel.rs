use crate::{
    components::{progress_bar::ProgressBar, results_table::{CreatorsQuery, ResultsTable}},
    server_fns::{error_text, job_status, CancelSearch},
    shared::JobStatus,
};
use leptos::prelude::*;
use std::time::Duration;

const POLL_EVERY: Duration = Duration::from_secs(3);

/// One run: its progress bar, polled every 3 s while the job is live (and the tab visible), then its
/// results, swapped in without a reload.
#[component]
pub fn JobPanel(job_id: String, campaign_id: String, #[prop(into)] on_finished: Callback<()>) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let cancel = ServerAction::<CancelSearch>::new();
    // A cancel answered: poll at once so the bar shows the run's end.
    Effect::new(move |_| {
        if cancel.value().get().is_some() {
            tick.update(|t| *t += 1);
        }
    });
    let status = Resource::new(move || tick.get(), {
        let job_id = job_id.clone();
        move |_| job_status(job_id.clone())
    });
    let creators = CreatorsQuery::new(job_id.clone());
    // Runs in the browser only: schedule the next poll after each answer until the job is terminal.
    Effect::new(move |previous: Option<bool>| {
        let live = match status.get() {
            Some(Ok(job)) => !job.status.is_terminal(),
            Some(Err(_)) => {
                // A failed poll (network blip, server restart) is retried, not the end of polling.
                schedule_poll(tick);
                return previous.unwrap_or(true);
            }
            None => return previous.unwrap_or(false),
        };
        if live {
            schedule_poll(tick);
        } else if previous == Some(true) {
            // Seen live, now done: read its creators again, and let the page refresh what depends
            // on it (the run list).
            creators.reload();
            on_finished.run(());
        }
        live
    });
    view! {
        <div class="space-y-6">
            <div class="rounded-xl border border-slate-200 bg-white p-5 shadow-sm">
                <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading run…"</p> }>
                    {move || Suspend::new(async move {
                        match status.await {
                            Ok(job) => {
                                let live = !job.status.is_terminal();
                                let id = job.id.clone();
                                view! {
                                    <ProgressBar job/>
                                    {live.then(|| view! {
                                        <div class="mt-3 flex justify-end">
                                            <button type="button" data-testid="cancel-search"
                                                class="rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 hover:bg-slate-50 disabled:opacity-60"
                                                disabled=move || cancel.pending().get()
                                                on:click=move |_| { cancel.dispatch(CancelSearch { job_id: id.clone() }); }>
                                                {move || if cancel.pending().get() { "Cancelling…" } else { "Cancel search" }}
                                            </button>
                                        </div>
                                    })}
                                    {move || match cancel.value().get() {
                                        Some(Err(e)) => Some(view! { <p role="alert" class="mt-2 text-sm text-rose-700">{error_text(&e)}</p> }),
                                        _ => None,
                                    }}
                                }.into_any()
                            }
                            Err(e) => view! { <p role="alert" class="text-sm text-rose-700">{error_text(&e)}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </div>
            <Transition fallback=|| ()>
                {move || {
                    let job_id = job_id.clone();
                    let campaign_id = campaign_id.clone();
                    Suspend::new(async move {
                        let job = status.await.ok().filter(|job| job.status == JobStatus::Completed || job.processed_results > 0 && job.status.is_terminal());
                        job.map(|job| view! { <ResultsTable job_id campaign_id platform=job.platform query=creators/> })
                    })
                }}
            </Transition>
        </div>
    }
}

fn schedule_poll(tick: RwSignal<u32>) {
    set_timeout(
        move || {
            #[cfg(feature = "hydrate")]
            if document().hidden() {
                // Hidden tab: check again later without asking the server.
                schedule_poll(tick);
                return;
            }
            tick.update(|t| *t += 1);
        },
        POLL_EVERY,
    );
}
