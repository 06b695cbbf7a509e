use crate::{
    domain::{Keywords, TargetUsername},
    server_fns::{error_text, my_limits, StartSearch},
    shared::{estimate_credits, format_count, LimitsView, Platform, SearchKind, MAX_KEYWORDS},
};
use leptos::prelude::*;

/// Keywords, the target slider with its credit estimate, and the start button. The slider carries a
/// `value` attribute as well as the property so the server-rendered page shows the right position
/// before hydration.
#[component]
pub fn SearchForm(campaign_id: String, #[prop(into)] on_started: Callback<String>) -> impl IntoView {
    let platform = RwSignal::new(Platform::Tiktok);
    let kind = RwSignal::new(SearchKind::Keywords);
    let keywords = RwSignal::new(String::new());
    let username = RwSignal::new(String::new());
    let target = RwSignal::new(SearchKind::Keywords.target_range().min);
    let range = move || kind.get().target_range();
    let expand = RwSignal::new(true);
    let start = ServerAction::<StartSearch>::new();
    let parsed = move || Keywords::split_input(&keywords.get());
    let local_error = RwSignal::new(None::<String>);
    // What is left of the member's limits, refreshed after each start.
    let limits = Resource::new(move || start.version().get(), |_| my_limits());

    Effect::new(move |_| {
        if let Some(Ok(job_id)) = start.value().get() {
            keywords.set(String::new());
            username.set(String::new());
            on_started.run(job_id);
        }
    });

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let checked = match kind.get_untracked() {
            SearchKind::Keywords => Keywords::parse(&parsed()).map(|_| ()),
            SearchKind::Similar => TargetUsername::parse(&username.get_untracked(), platform.get_untracked()).map(|_| ()),
        };
        match checked {
            Err(message) => local_error.set(Some(message)),
            Ok(()) => {
                local_error.set(None);
                start.dispatch(StartSearch {
                    campaign_id: campaign_id.clone(),
                    platform: platform.get_untracked(),
                    kind: kind.get_untracked(),
                    keywords: keywords.get_untracked(),
                    target_username: username.get_untracked(),
                    target_results: target.get_untracked(),
                    expand_keywords: expand.get_untracked(),
                });
            }
        }
    };
    let error = move || {
        local_error.get().or_else(|| match start.value().get() {
            Some(Err(e)) => Some(error_text(&e)),
            _ => None,
        })
    };

    view! {
        <form on:submit=submit class="space-y-5 rounded-xl border border-slate-200 bg-white p-5 shadow-sm" data-testid="search-form">
            <h2 class="text-base font-semibold text-slate-900">"New search"</h2>
            <fieldset class="space-y-2">
                <legend class="text-sm font-medium text-slate-700">"Platform"</legend>
                <div class="grid grid-cols-3 gap-2" data-testid="platforms">
                    {Platform::ALL.into_iter().map(|p| {
                        view! {
                            <label
                                class="flex cursor-pointer items-center justify-center rounded-lg border px-2 py-2 text-sm font-medium transition has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-indigo-300"
                                class=("border-indigo-500", move || platform.get() == p)
                                class=("bg-indigo-50", move || platform.get() == p)
                                class=("text-indigo-800", move || platform.get() == p)
                                class=("border-slate-300", move || platform.get() != p)
                                class=("text-slate-700", move || platform.get() != p)>
                                <input type="radio" name="platform" value=p.as_str() class="sr-only"
                                    prop:checked=move || platform.get() == p
                                    on:change=move |_| platform.set(p)/>
                                {p.label()}
                            </label>
                        }
                    }).collect_view()}
                </div>
            </fieldset>
            <fieldset class="space-y-2">
                <legend class="text-sm font-medium text-slate-700">"Find creators"</legend>
                <div class="grid grid-cols-2 gap-2" data-testid="kinds">
                    {[(SearchKind::Keywords, "Keyword search"), (SearchKind::Similar, "Similar to a creator")].into_iter().map(|(k, label)| view! {
                        <label
                            class="flex cursor-pointer items-center justify-center rounded-lg border px-2 py-2 text-center text-sm font-medium transition has-[:focus-visible]:ring-2 has-[:focus-visible]:ring-indigo-300"
                            class=("border-indigo-500", move || kind.get() == k)
                            class=("bg-indigo-50", move || kind.get() == k)
                            class=("text-indigo-800", move || kind.get() == k)
                            class=("border-slate-300", move || kind.get() != k)
                            class=("text-slate-700", move || kind.get() != k)>
                            <input type="radio" name="kind" value=k.as_str() class="sr-only"
                                prop:checked=move || kind.get() == k
                                on:change=move |_| {
                                    kind.set(k);
                                    // Each kind has its own range: start at its smallest target.
                                    target.set(k.target_range().min);
                                }/>
                            {label}
                        </label>
                    }).collect_view()}
                </div>
            </fieldset>
            <div class="space-y-2" class=("hidden", move || kind.get() != SearchKind::Similar)>
                <label for="target-username" class="block text-sm font-medium text-slate-700">"Creator"</label>
                <input
                    id="target-username"
                    name="target-username"
                    type="text"
                    autocomplete="off"
                    placeholder="@handle or profile link"
                    class="block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
                    prop:value=move || username.get()
                    on:input=move |ev| username.set(event_target_value(&ev))
                />
                <p class="text-xs text-slate-500">
                    {move || match platform.get() {
                        Platform::Instagram => "Scout walks the profiles Instagram lists as related to this one.",
                        _ => "Scout searches the topics this account describes itself with.",
                    }}
                </p>
            </div>
            <div class="space-y-2" class=("hidden", move || kind.get() != SearchKind::Keywords)>
                <label for="keywords" class="block text-sm font-medium text-slate-700">"Keywords"</label>
                <input
                    id="keywords"
                    name="keywords"
                    type="text"
                    autocomplete="off"
                    placeholder="e.g. home workout, meal prep"
                    class="block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"
                    prop:value=move || keywords.get()
                    on:input=move |ev| keywords.set(event_target_value(&ev))
                />
                <p class="text-xs text-slate-500">{format!("Separate keywords with commas, up to {MAX_KEYWORDS}.")}</p>
                <div class="flex flex-wrap gap-2" data-testid="keyword-chips">
                    {move || {
                        parsed()
                            .into_iter()
                            .map(|k| view! { <span class="rounded-full bg-indigo-50 px-2.5 py-1 text-xs font-medium text-indigo-700">{k}</span> })
                            .collect_view()
                    }}
                </div>
            </div>
            <div class="space-y-2">
                <div class="flex items-baseline justify-between">
                    <label for="target" class="text-sm font-medium text-slate-700">"Creators wanted"</label>
                    <span class="text-sm font-semibold tabular-nums text-slate-900" data-testid="target-value">
                        {move || format_count(target.get() as i64)}
                    </span>
                </div>
                <input
                    id="target"
                    name="target"
                    type="range"
                    min=move || range().min.to_string()
                    max=move || range().max.to_string()
                    step=move || range().step.to_string()
                    value=SearchKind::Keywords.target_range().min.to_string()
                    class="w-full accent-indigo-600"
                    prop:value=move || target.get().to_string()
                    on:input=move |ev| {
                        if let Ok(v) = event_target_value(&ev).parse::<u32>() {
                            target.set(v.clamp(range().min, range().max));
                        }
                    }
                />
                <div class="flex justify-between text-xs text-slate-500">
                    <span>{move || format_count(range().min as i64)}</span>
                    <span data-testid="credit-estimate">
                        {move || format!("≈ {} provider calls (credits)", format_count(estimate_credits(platform.get(), kind.get(), target.get()) as i64))}
                    </span>
                    <span>{move || format_count(range().max as i64)}</span>
                </div>
            </div>
            <label class="flex items-start gap-2 text-sm text-slate-700" class=("hidden", move || kind.get() != SearchKind::Keywords)>
                <input type="checkbox" data-testid="expand-keywords" class="mt-0.5 h-4 w-4 rounded border-slate-300 accent-indigo-600"
                    prop:checked=move || expand.get()
                    on:change=move |ev| expand.set(event_target_checked(&ev))/>
                <span>"If the search runs dry, add the hashtags found most often (up to 5)"</span>
            </label>
            {move || error().map(|message| view! {
                <p role="alert" class="rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-700">{message}</p>
            })}
            <button
                type="submit"
                class="inline-flex w-full items-center justify-center rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-700 disabled:cursor-not-allowed disabled:opacity-60"
                disabled=move || start.pending().get()
            >
                {move || if start.pending().get() { "Starting…" } else { "Start search" }}
            </button>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    limits.await.ok().map(|l| view! { <p class="text-xs text-slate-500" data-testid="limits-left">{limits_text(&l)}</p> })
                })}
            </Transition>
        </form>
    }
}

/// "1 of 3 running · 48 searches left today · 12,345 of 100,000 credits this month"
fn limits_text(l: &LimitsView) -> String {
    let mut parts = Vec::new();
    if let Some(max) = l.runs_in_flight.limit {
        parts.push(format!("{} of {} running", l.runs_in_flight.used, max));
    }
    if let Some(left) = l.searches_today.left() {
        parts.push(format!("{} {} left today", left, if left == 1 { "search" } else { "searches" }));
    }
    if let Some(max) = l.credits_this_month.limit {
        parts.push(format!("{} of {} credits this month", format_count(l.credits_this_month.used.min(i64::MAX as u64) as i64), format_count(max.min(i64::MAX as u64) as i64)));
    }
    if parts.is_empty() {
        "No limits on your searches.".into()
    } else {
        format!("Your limits: {}", parts.join(" · "))
    }
}
