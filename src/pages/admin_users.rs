use super::{INPUT, PRIMARY_BUTTON};
use crate::{
    server_fns::{error_text, list_accounts, AddAccount, ResetAccountPassword, SetAccountDisabled, SetAccountLimits},
    shared::{format_timestamp, AccountView, MIN_PASSWORD_CHARS},
};
use leptos::prelude::*;

/// `/admin/users` (admins): add members, reset passwords, disable or enable accounts.
#[component]
pub fn AdminUsersPage() -> impl IntoView {
    let add = ServerAction::<AddAccount>::new();
    let reset = ServerAction::<ResetAccountPassword>::new();
    let toggle = ServerAction::<SetAccountDisabled>::new();
    let limits = ServerAction::<SetAccountLimits>::new();
    let accounts = Resource::new(
        move || (add.version().get(), reset.version().get(), toggle.version().get(), limits.version().get()),
        |_| list_accounts(),
    );
    // The outcome of whichever action finished last.
    let last = RwSignal::new(None::<Result<String, String>>);
    Effect::new(move |_| {
        if let Some(r) = add.value().get() {
            last.set(Some(r.map(|a| format!("Added {}.", a.email)).map_err(|e| error_text(&e))));
        }
    });
    Effect::new(move |_| {
        if let Some(r) = reset.value().get() {
            last.set(Some(r.map(|a| format!("New password set for {}; they were signed out.", a.email)).map_err(|e| error_text(&e))));
        }
    });
    Effect::new(move |_| {
        if let Some(r) = toggle.value().get() {
            let text = |a: AccountView| format!("{} is now {}.", a.email, if a.disabled { "disabled" } else { "enabled" });
            last.set(Some(r.map(text).map_err(|e| error_text(&e))));
        }
    });
    Effect::new(move |_| {
        if let Some(r) = limits.value().get() {
            last.set(Some(r.map(|a| format!("Limits saved for {}.", a.email)).map_err(|e| error_text(&e))));
        }
    });
    let message = move || last.get();
    view! {
        <div class="mx-auto max-w-4xl space-y-6">
            <h1 class="text-xl font-semibold tracking-tight">"Users"</h1>
            <ActionForm action=add attr:class="grid gap-3 rounded-xl border border-slate-200 bg-white p-5 shadow-sm sm:grid-cols-4 sm:items-end" attr:data-testid="add-user">
                <div class="space-y-1 sm:col-span-2">
                    <label for="new-email" class="block text-sm font-medium text-slate-700">"Email"</label>
                    <input id="new-email" name="email" type="email" required class=INPUT/>
                </div>
                <div class="space-y-1">
                    <label for="new-password" class="block text-sm font-medium text-slate-700">"Password"</label>
                    <input id="new-password" name="password" type="password" required minlength=MIN_PASSWORD_CHARS autocomplete="new-password" class=INPUT/>
                </div>
                <div class="space-y-1">
                    <label for="new-role" class="block text-sm font-medium text-slate-700">"Role"</label>
                    <select id="new-role" name="role" class="block w-full rounded-lg border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm">
                        <option value="member">"Member"</option>
                        <option value="admin">"Admin"</option>
                    </select>
                </div>
                <div class="sm:col-span-4"><button type="submit" disabled=move || add.pending().get() class=PRIMARY_BUTTON>"Add user"</button></div>
            </ActionForm>
            {move || message().map(|m| match m {
                Ok(text) => view! { <p role="status" class="rounded-lg bg-emerald-50 px-3 py-2 text-sm text-emerald-800">{text}</p> }.into_any(),
                Err(text) => view! { <p role="alert" class="rounded-lg bg-rose-50 px-3 py-2 text-sm text-rose-700">{text}</p> }.into_any(),
            })}
            <Transition fallback=|| view! { <p class="text-sm text-slate-500">"Loading users…"</p> }>
                {move || Suspend::new(async move {
                    match accounts.await {
                        Ok(list) => view! {
                            <ul class="divide-y divide-slate-100 rounded-xl border border-slate-200 bg-white shadow-sm" data-testid="user-list">
                                {list.into_iter().map(|a| view! { <UserRow account=a reset toggle limits/> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="text-sm text-rose-700">{error_text(&e)}</p> }.into_any(),
                    }
                })}
            </Transition>
        </div>
    }
}

#[component]
fn UserRow(
    account: AccountView,
    reset: ServerAction<ResetAccountPassword>,
    toggle: ServerAction<SetAccountDisabled>,
    limits: ServerAction<SetAccountLimits>,
) -> impl IntoView {
    let shown = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    let runs = RwSignal::new(shown(account.limits.runs_in_flight));
    let per_day = RwSignal::new(shown(account.limits.searches_per_day));
    let credits = RwSignal::new(shown(account.limits.credits_per_month));
    let id3 = account.id.clone();
    let limit_box = move |label: &'static str, id: String, value: RwSignal<String>| view! {
        <label class="flex items-center gap-1 text-xs text-slate-600">
            {label}
            <input id=id type="text" inputmode="numeric" placeholder="default"
                class="w-20 rounded-lg border border-slate-300 px-2 py-1 text-xs shadow-sm"
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
        </label>
    };
    let password = RwSignal::new(String::new());
    let (id, id2) = (account.id.clone(), account.id.clone());
    let disabled = account.disabled;
    let input_id = format!("reset-{}", account.id);
    view! {
        <li class="flex flex-wrap items-center justify-between gap-3 px-4 py-3 text-sm">
            <div>
                <p class="font-medium text-slate-900">{account.email.clone()}</p>
                <p class="text-xs text-slate-500">{format!("{} · {} · added {}", account.role, if disabled { "disabled" } else { "active" }, format_timestamp(account.created_at))}</p>
            </div>
            <div class="flex flex-wrap items-center gap-2">
                <label for=input_id.clone() class="sr-only">{format!("New password for {}", account.email)}</label>
                <input id=input_id type="password" placeholder="New password" autocomplete="new-password"
                    class="w-40 rounded-lg border border-slate-300 px-2 py-1 text-xs shadow-sm"
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
                <button type="button" class="rounded-lg border border-slate-300 px-3 py-1 text-xs font-medium text-slate-800 hover:bg-slate-50"
                    on:click=move |_| { reset.dispatch(ResetAccountPassword { user_id: id.clone(), password: password.get_untracked() }); password.set(String::new()); }>
                    "Reset password"
                </button>
                <button type="button" class="rounded-lg border border-slate-300 px-3 py-1 text-xs font-medium text-rose-700 hover:bg-rose-50"
                    on:click=move |_| { toggle.dispatch(SetAccountDisabled { user_id: id2.clone(), disabled: !disabled }); }>
                    {if disabled { "Enable" } else { "Disable" }}
                </button>
            </div>
            <div class="flex w-full flex-wrap items-center gap-3" data-testid="user-limits">
                <span class="text-xs font-medium text-slate-700">"Limits (empty = this Scout's default, 0 = no limit):"</span>
                {limit_box("running", format!("runs-{}", account.id), runs)}
                {limit_box("per day", format!("day-{}", account.id), per_day)}
                {limit_box("credits / month", format!("credits-{}", account.id), credits)}
                <button type="button" class="rounded-lg border border-slate-300 px-3 py-1 text-xs font-medium text-slate-800 hover:bg-slate-50"
                    on:click=move |_| { limits.dispatch(SetAccountLimits {
                        user_id: id3.clone(),
                        runs_in_flight: runs.get_untracked(),
                        searches_per_day: per_day.get_untracked(),
                        credits_per_month: credits.get_untracked(),
                    }); }>
                    "Save limits"
                </button>
            </div>
        </li>
    }
}
