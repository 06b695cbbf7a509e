use crate::{
    server_fns::{error_text, list_creators},
    shared::{avatar_src, format_count, initials, safe_url, CreatorPage, CreatorSort, CreatorView, Platform},
};
use leptos::prelude::*;

/// What the results table shows (page, sort, filter) and the page it read. The job panel makes it
/// with itself, not inside the `Suspend` that shows the table: a resource created inside a
/// `Suspend` on the server can be created again there when the data it waits on arrives, so the
/// browser, which creates it once, would hydrate against another resource's data (the "expected a
/// marker node" panic).
#[derive(Clone, Copy)]
pub struct CreatorsQuery {
    page: RwSignal<u32>,
    sort: RwSignal<CreatorSort>,
    has_email: RwSignal<bool>,
    data: Resource<Result<CreatorPage, ServerFnError>>,
}

impl CreatorsQuery {
    /// Reads `job_id`'s creators, and again on every page, sort or filter change. Its source depends
    /// on nothing else: the server's render and the browser's hydration must read the same value.
    pub fn new(job_id: String) -> Self {
        let page = RwSignal::new(1u32);
        let sort = RwSignal::new(CreatorSort::FollowersDesc);
        let has_email = RwSignal::new(false);
        let data = Resource::new(
            move || (page.get(), sort.get(), has_email.get()),
            move |(p, s, e)| list_creators(job_id.clone(), p, s.as_str().to_string(), e),
        );
        CreatorsQuery { page, sort, has_email, data }
    }

    /// Reads the current page again (the run has just ended, so it holds more creators).
    pub fn reload(&self) {
        self.data.refetch();
    }
}

/// A job's creators: sortable by followers and views, "has email" filter, 50 per page, CSV export.
#[component]
pub fn ResultsTable(job_id: String, campaign_id: String, platform: Platform, query: CreatorsQuery) -> impl IntoView {
    // "Followers", or "Subscribers" on YouTube.
    let audience = {
        let label = platform.audience_label();
        format!("{}{}", label[..1].to_uppercase(), &label[1..])
    };
    let export_href = format!("/api/campaigns/{campaign_id}/export.csv?jobId={job_id}");
    let CreatorsQuery { page, sort, has_email, data } = query;
    // What the pagination bar shows, kept from the last answer while the next page loads.
    let total = RwSignal::new(None::<u32>);
    let last_page = RwSignal::new(1u32);
    Effect::new(move |_| {
        if let Some(Ok(p)) = data.get() {
            total.set(Some(p.total));
            last_page.set(p.page_count());
        }
    });
    let toggle = move |desc: CreatorSort, asc: CreatorSort| {
        move |_| {
            sort.set(if sort.get_untracked() == desc { asc } else { desc });
            page.set(1);
        }
    };

    view! {
        <section class="space-y-3" data-testid="results">
            <div class="flex flex-wrap items-center justify-between gap-3">
                <label class="inline-flex items-center gap-2 text-sm text-slate-700">
                    <input
                        type="checkbox"
                        data-testid="has-email"
                        class="h-4 w-4 rounded border-slate-300 accent-indigo-600"
                        prop:checked=move || has_email.get()
                        on:change=move |ev| {
                            has_email.set(event_target_checked(&ev));
                            page.set(1);
                        }
                    />
                    "Has email"
                </label>
                <a
                    href=export_href
                    rel="external"
                    download=""
                    data-testid="export-csv"
                    class="inline-flex items-center gap-1.5 rounded-lg border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-700 shadow-sm hover:bg-slate-50"
                >
                    "Export CSV"
                </a>
            </div>
            <div class="overflow-x-auto rounded-xl border border-slate-200 bg-white shadow-sm">
                <table class="min-w-full divide-y divide-slate-200 text-sm">
                    <thead class="bg-slate-50 text-left text-xs font-semibold uppercase tracking-wide text-slate-500">
                        <tr>
                            <th class="px-3 py-2">"Creator"</th>
                            <th class="px-3 py-2">"Name"</th>
                            <th class="px-3 py-2 text-right">
                                <button type="button" data-testid="sort-followers" class="uppercase hover:text-slate-900"
                                    on:click=toggle(CreatorSort::FollowersDesc, CreatorSort::FollowersAsc)>
                                    {audience} <span aria-hidden="true" class=("hidden", move || sort.get() != CreatorSort::FollowersDesc)>" ↓"</span><span aria-hidden="true" class=("hidden", move || sort.get() != CreatorSort::FollowersAsc)>" ↑"</span>
                                </button>
                            </th>
                            <th class="px-3 py-2">"Bio"</th>
                            <th class="px-3 py-2">"Emails"</th>
                            <th class="px-3 py-2">"Post"</th>
                            <th class="px-3 py-2 text-right">
                                <button type="button" data-testid="sort-views" class="uppercase hover:text-slate-900"
                                    on:click=toggle(CreatorSort::ViewsDesc, CreatorSort::ViewsAsc)>
                                    "Views" <span aria-hidden="true" class=("hidden", move || sort.get() != CreatorSort::ViewsDesc)>" ↓"</span><span aria-hidden="true" class=("hidden", move || sort.get() != CreatorSort::ViewsAsc)>" ↑"</span>
                                </button>
                            </th>
                        </tr>
                    </thead>
                    <Transition fallback=|| view! { <tbody><tr><td class="px-3 py-6 text-slate-500" colspan="7">"Loading creators…"</td></tr></tbody> }>
                        {move || Suspend::new(async move {
                            match data.await {
                                Ok(p) if p.creators.is_empty() => view! {
                                    <tbody><tr><td class="px-3 py-6 text-slate-500" colspan="7">"No creators match."</td></tr></tbody>
                                }.into_any(),
                                Ok(p) => view! {
                                    <tbody class="divide-y divide-slate-100" data-testid="creator-rows">
                                        {p.creators.into_iter().map(|c| view! { <CreatorRow creator=c/> }).collect_view()}
                                    </tbody>
                                }.into_any(),
                                Err(e) => view! {
                                    <tbody><tr><td class="px-3 py-6 text-rose-700" colspan="7">{error_text(&e)}</td></tr></tbody>
                                }.into_any(),
                            }
                        })}
                    </Transition>
                </table>
            </div>
            <div class="flex items-center justify-between text-sm text-slate-600">
                <span data-testid="results-total">{move || total.get().map(|t| format!("{} creators", format_count(t as i64)))}</span>
                <div class="flex items-center gap-2">
                    <button type="button" data-testid="previous-page" class="rounded-lg border border-slate-300 bg-white px-3 py-1 disabled:opacity-40"
                        disabled=move || { page.get() <= 1 } on:click=move |_| page.update(|p| *p = p.saturating_sub(1).max(1))>"Previous"</button>
                    <span data-testid="page-indicator">{move || format!("Page {} of {}", page.get(), last_page.get())}</span>
                    <button type="button" data-testid="next-page" class="rounded-lg border border-slate-300 bg-white px-3 py-1 disabled:opacity-40"
                        disabled=move || { page.get() >= last_page.get() } on:click=move |_| page.update(|p| *p = (*p + 1).min(last_page.get_untracked()))>"Next"</button>
                </div>
            </div>
        </section>
    }
}

#[component]
fn CreatorRow(creator: CreatorView) -> impl IntoView {
    let avatar = avatar_src(&creator.avatar_url).map(str::to_string);
    let initials = initials(&creator.name, &creator.handle);
    let profile = safe_url(&creator.profile_url).map(str::to_string);
    let post = safe_url(&creator.post_url).map(str::to_string);
    let handle = format!("@{}", creator.handle);
    let emails = creator.emails.clone();
    view! {
        <tr class="align-top hover:bg-slate-50">
            <td class="whitespace-nowrap px-3 py-2">
                <div class="flex items-center gap-2">
                    {match avatar {
                        Some(src) => view! { <img src=src alt="" loading="lazy" class="h-8 w-8 rounded-full bg-slate-200 object-cover"/> }.into_any(),
                        None => view! {
                            <span aria-hidden="true" data-testid="avatar-initials"
                                class="inline-flex h-8 w-8 items-center justify-center rounded-full bg-slate-200 text-xs font-semibold text-slate-700">{initials}</span>
                        }.into_any(),
                    }}
                    {match profile {
                        Some(href) => view! { <a href=href target="_blank" rel="noopener noreferrer nofollow" class="font-medium text-indigo-700 hover:underline">{handle}</a> }.into_any(),
                        None => view! { <span class="font-medium">{handle}</span> }.into_any(),
                    }}
                    {creator.verified.then(|| view! { <span title="Verified" class="text-sky-500">"✓"</span> })}
                </div>
            </td>
            <td class="max-w-[12rem] truncate px-3 py-2 text-slate-700">{creator.name}</td>
            <td class="whitespace-nowrap px-3 py-2 text-right tabular-nums" data-testid="followers">{format_count(creator.followers)}</td>
            <td class="max-w-xs px-3 py-2 text-slate-600"><p class="line-clamp-2">{creator.bio}</p></td>
            <td class="px-3 py-2">
                {emails.into_iter().map(|e| view! { <div class="whitespace-nowrap text-slate-700">{e}</div> }).collect_view()}
            </td>
            <td class="whitespace-nowrap px-3 py-2">
                {post.map(|href| view! { <a href=href target="_blank" rel="noopener noreferrer nofollow" class="text-indigo-700 hover:underline">"View post"</a> })}
            </td>
            <td class="whitespace-nowrap px-3 py-2 text-right tabular-nums" data-testid="views">{format_count(creator.views)}</td>
        </tr>
    }
}
