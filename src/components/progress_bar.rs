use crate::shared::{format_count, format_duration, JobStatus, JobView};
use leptos::prelude::*;

/// The bar and its status line for one job.
#[component]
pub fn ProgressBar(job: JobView) -> impl IntoView {
    let fill = match job.status {
        JobStatus::Completed => "h-full rounded-full bg-emerald-500 transition-all duration-700",
        JobStatus::Error | JobStatus::Timeout | JobStatus::Cancelled => "h-full rounded-full bg-rose-500 transition-all duration-700",
        _ => "h-full rounded-full bg-indigo-500 transition-all duration-700",
    };
    let text_class = match job.status {
        JobStatus::Error | JobStatus::Timeout => "text-sm font-medium text-rose-700",
        JobStatus::Completed => "text-sm font-medium text-emerald-700",
        _ => "text-sm font-medium text-slate-700",
    };
    let width = format!("width: {}%", job.progress.max(2));
    view! {
        <div data-testid="progress" data-status=job.status.as_str() data-progress=job.progress.to_string() class="space-y-2">
            <div class="flex items-baseline justify-between gap-4">
                <p data-testid="progress-text" class=text_class>{job.status_text()}</p>
                <p class="text-xs tabular-nums text-slate-500" data-testid="progress-count">
                    {format!("{} of {} creators", format_count(job.processed_results as i64), format_count(job.target_results as i64))}
                </p>
            </div>
            <div
                class="h-3 w-full overflow-hidden rounded-full bg-slate-200"
                role="progressbar"
                aria-label="Search progress"
                aria-valuemin="0"
                aria-valuemax="100"
                aria-valuenow=job.progress.to_string()
            >
                <div class=fill style=width></div>
            </div>
            <p class="flex flex-wrap gap-x-4 text-xs text-slate-500">
                <span>{job.platform.label()}</span>
                <span data-testid="credits-used">{format!("{} credits used", format_count(job.credits_used as i64))}</span>
                {(job.credits_saved > 0).then(|| view! {
                    <span data-testid="credits-saved">{format!("{} saved by reusing recent profiles", format_count(job.credits_saved as i64))}</span>
                })}
                {job.eta_seconds.map(|secs| view! { <span data-testid="eta">{format!("{} left", format_duration(secs))}</span> })}
            </p>
        </div>
    }
}
