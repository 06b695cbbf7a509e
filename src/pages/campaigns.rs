use crate::{
    server_fns::{error_text, list_campaigns, CreateCampaign},
    shared::{format_timestamp, CampaignView},
};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

/// The campaign list (filter, sort) and the form that creates one.
#[component]
pub fn CampaignsPage() -> impl IntoView {
    let create = ServerAction::<CreateCampaign>::new();
    let campaigns = Resource::new(move || create.version().get(), |_| list_campaigns());
    let filter = RwSignal::new(String::new());
    let sort = RwSignal::new("newest".to_string());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(campaign)) = create.value().get() {
            navigate(&format!("/campaigns/{}", campaign.id), Default::default());
        }
    });
    let create_error = move || match create.value().get() {
        Some(Err(e)) => Some(error_text(&e)),
        _ => None,
    };

    view! {
        <div class="grid gap-8 lg:grid-cols-3">
            <section class="lg:col-span-1">
                <ActionForm action=create attr:class="space-y-4 rounded-xl border border-slate-200 bg-white p-5 shadow-sm" attr:data-testid="create-campaign">
                    <h2 class="text-base font-semibold">"New campaign"</h2>
                    <div class="space-y-1">
                        <label for="name" class="block text-sm font-medium text-slate-700">"Name"</label>
                        <input id="name" name="name" type="text" required maxlength="100" placeholder="Spring fitness launch"
                            class="block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"/>
                    </div>
                    <div class="space-y-1">
                        <label for="description" class="block text-sm font-medium text-slate-700">"Description"</label>
                        <textarea id="description" name="description" rows="3" maxlength="2000" placeholder="Who are we looking for?"
                            class="block w-full rounded-lg border border-slate-300 px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200"></textarea>
                    </div>
                    {move || create_error().map(|m| view! { <p role="alert" class="rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-700">{m}</p> })}
                    <button type="submit" disabled=move || create.pending().get()
                        class="inline-flex w-full items-center justify-center rounded-lg bg-indigo-600 px-4 py-2.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-700 disabled:opacity-60">
                        "Create campaign"
                    </button>
                </ActionForm>
            </section>
            <section class="space-y-4 lg:col-span-2">
                <div class="flex flex-wrap items-center justify-between gap-3">
                    <h1 class="text-xl font-semibold tracking-tight">"Campaigns"</h1>
                    <div class="flex gap-2">
                        <input type="search" placeholder="Filter campaigns" aria-label="Filter campaigns"
                            class="rounded-lg border border-slate-300 px-3 py-1.5 text-sm shadow-sm"
                            prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev))/>
                        <select aria-label="Sort campaigns" class="rounded-lg border border-slate-300 bg-white px-2 py-1.5 text-sm shadow-sm"
                            on:change=move |ev| sort.set(event_target_value(&ev))>
                            <option value="newest">"Newest"</option>
                            <option value="updated">"Recently updated"</option>
                        </select>
                    </div>
                </div>
                <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading campaigns…"</p> }>
                    {move || Suspend::new(async move {
                        match campaigns.await {
                            Ok(list) => {
                                let needle = filter.get().to_lowercase();
                                let mut list: Vec<CampaignView> = list
                                    .into_iter()
                                    .filter(|c| needle.is_empty() || c.name.to_lowercase().contains(&needle) || c.description.to_lowercase().contains(&needle))
                                    .collect();
                                if sort.get() == "updated" {
                                    list.sort_by_key(|c| std::cmp::Reverse(c.updated_at));
                                }
                                if list.is_empty() {
                                    view! { <p class="rounded-xl border border-dashed border-slate-300 p-8 text-center text-sm text-slate-500">"No campaigns yet. Create one to start finding creators."</p> }.into_any()
                                } else {
                                    view! {
                                        <ul class="grid gap-3 sm:grid-cols-2" data-testid="campaign-list">
                                            {list.into_iter().map(|c| view! { <CampaignCard campaign=c/> }).collect_view()}
                                        </ul>
                                    }.into_any()
                                }
                            }
                            Err(e) => view! { <p role="alert" class="text-sm text-rose-700">{error_text(&e)}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </div>
    }
}

#[component]
fn CampaignCard(campaign: CampaignView) -> impl IntoView {
    let status_class = match campaign.status.as_str() {
        "completed" => "rounded-full bg-emerald-50 px-2 py-0.5 text-xs font-medium text-emerald-700",
        "active" => "rounded-full bg-indigo-50 px-2 py-0.5 text-xs font-medium text-indigo-700",
        "error" | "timeout" => "rounded-full bg-rose-50 px-2 py-0.5 text-xs font-medium text-rose-700",
        _ => "rounded-full bg-slate-100 px-2 py-0.5 text-xs font-medium text-slate-600",
    };
    view! {
        <li>
            <a href=format!("/campaigns/{}", campaign.id)
                class="block h-full rounded-xl border border-slate-200 bg-white p-4 shadow-sm transition hover:border-indigo-300 hover:shadow">
                <div class="flex items-start justify-between gap-2">
                    <h3 class="font-semibold text-slate-900">{campaign.name}</h3>
                    <span class=status_class>{campaign.status}</span>
                </div>
                <p class="mt-1 line-clamp-2 text-sm text-slate-600">{campaign.description}</p>
                <p class="mt-3 text-xs text-slate-500">{format!("Updated {}", format_timestamp(campaign.updated_at))}</p>
            </a>
        </li>
    }
}
