//! Accounts as a new instance's operator and its members meet them: first-run setup, sign-in and
//! out, cookies, throttling, tokens, disabled accounts, the operator CLI.

use crate::helpers::{bearer_client, session_cookie, spawn_app, spawn_app_with, spawn_unset_app, Backend, ADMIN_EMAIL, PASSWORD};
use crate::on_both_databases;
use serde_json::{json, Value};
use std::time::Duration;

on_both_databases!(
    first_run_setup_claims_the_instance_and_what_it_made,
    setup_beyond_loopback_needs_the_code_from_the_log,
    sign_in_sessions_and_sign_out,
    failed_sign_ins_are_throttled_per_account_and_per_address,
    api_tokens_are_shown_once_and_can_be_revoked,
    disabled_accounts_and_password_resets_end_their_sessions,
    only_admins_manage_accounts,
    the_cli_creates_accounts_and_tokens,
    setup_through_a_proxy_needs_the_code_too,
    the_first_admin_from_the_cli_closes_setup,
    an_exposed_instance_never_runs_on_the_public_qstash_identity,
    over_https_the_session_cookie_is_secure_and_host_only,
);

async fn first_run_setup_claims_the_instance_and_what_it_made(backend: Backend) {
    let app = spawn_unset_app(backend, &[]).await;
    // Before the first account every page leads to /setup and every JSON route wants credentials.
    let page = app.anonymous.get(app.url("/campaigns/x")).send().await.unwrap();
    assert!(page.status().is_redirection());
    assert_eq!(page.headers()["location"], "/setup");
    assert_eq!(app.anonymous.get(app.url("/setup")).send().await.unwrap().status(), 200);
    let refused = app.anonymous.get(app.url("/api/campaigns")).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("Sign in"));
    let status: Value = app.anonymous.get(app.url("/api/auth/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["setUp"], false);
    assert_eq!(status["setupCodeRequired"], false, "loopback needs no code");

    // A campaign from before accounts existed (the built-in user's) goes to the first admin.
    let db = app.db().await;
    sqlx::query("INSERT INTO campaigns (id, user_id, name, description, search_type, status, created_at, updated_at) VALUES ('old', 'local', 'Made before accounts', '', 'keyword', 'draft', 1, 1)")
        .execute(&db)
        .await
        .unwrap();

    let setup = |body: Value| app.anonymous.post(app.url("/api/auth/setup")).json(&body).send();
    let short = setup(json!({"email": ADMIN_EMAIL, "password": "short"})).await.unwrap();
    assert_eq!(short.status(), 400);
    assert!(short.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("at least 8"));
    assert_eq!(setup(json!({"email": "not an email", "password": PASSWORD})).await.unwrap().status(), 400);
    let done = setup(json!({"email": ADMIN_EMAIL, "password": PASSWORD})).await.unwrap();
    assert_eq!(done.status(), 201);
    let set_cookie = done.headers()["set-cookie"].to_str().unwrap().to_string();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain http on loopback: {set_cookie}");
    let cookie = session_cookie(&done);
    assert_eq!(done.json::<Value>().await.unwrap()["role"], "admin");
    let again = setup(json!({"email": "second@scout.test", "password": PASSWORD})).await.unwrap();
    assert_eq!(again.status(), 409);

    let mine: Value = app.anonymous.get(app.url("/api/campaigns")).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
    assert_eq!(mine.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(), ["Made before accounts"]);
    // Setup is over: /setup leads to sign-in, pages to /login?next=…, signed-in pages render.
    let setup_page = app.anonymous.get(app.url("/setup")).send().await.unwrap();
    assert_eq!(setup_page.headers()["location"], "/login");
    let page = app.anonymous.get(app.url("/campaigns/old?tab=runs")).send().await.unwrap();
    assert_eq!(page.headers()["location"], "/login?next=/campaigns/old%3Ftab%3Druns");
    assert_eq!(app.anonymous.get(app.url("/campaigns/old")).header("cookie", &cookie).send().await.unwrap().status(), 200);
}

async fn setup_beyond_loopback_needs_the_code_from_the_log(backend: Backend) {
    let app = spawn_unset_app(backend, &[("LEPTOS_SITE_ADDR", "0.0.0.0:0")]).await;
    let old = app.setup_code.clone().expect("an exposed instance prints a setup code");
    // Every instance of one deployment prints the same code, whichever one setup reaches.
    let sibling = app.another_instance().await;
    assert_eq!(sibling.setup_code.as_deref(), Some(old.as_str()));
    drop(sibling);
    // A code older than an hour is replaced at the next start, and only the new one works anywhere.
    let pool = app.db().await;
    sqlx::query("UPDATE setup_code SET created_at = created_at - 7200000").execute(&pool).await.unwrap();
    let later = app.another_instance().await;
    let code = later.setup_code.clone().unwrap();
    assert_ne!(code, old);
    drop(later);
    let stale = app.anonymous.post(app.url("/api/auth/setup")).json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD, "setupCode": old})).send().await.unwrap();
    assert_eq!(stale.status(), 400, "the replaced code");
    assert!(stale.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("latest one"));
    let status: Value = app.anonymous.get(app.url("/api/auth/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["setupCodeRequired"], true);
    let setup = |body: Value| app.anonymous.post(app.url("/api/auth/setup")).json(&body).send();
    for wrong in [json!({"email": ADMIN_EMAIL, "password": PASSWORD}), json!({"email": ADMIN_EMAIL, "password": PASSWORD, "setupCode": "AAAA-BBBB-CCCC"})] {
        let refused = setup(wrong).await.unwrap();
        assert_eq!(refused.status(), 400);
        assert!(refused.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("setup code"));
    }
    assert_eq!(app.anonymous.get(app.url("/api/campaigns")).send().await.unwrap().status(), 401);
    let done = setup(json!({"email": ADMIN_EMAIL, "password": PASSWORD, "setupCode": code.to_lowercase()})).await.unwrap();
    assert_eq!(done.status(), 201);
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM setup_code").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 0, "the code is forgotten once setup is done");
    pool.close().await;
}

async fn sign_in_sessions_and_sign_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let wrong = app.login(ADMIN_EMAIL, "wrong password").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(wrong.json::<Value>().await.unwrap()["error"], "Wrong email or password.");
    assert_eq!(app.login("nobody@scout.test", PASSWORD).await.status(), 401, "unknown emails look the same");
    // The sign-in page's server function answers as the JSON API does: a user error, not a 500.
    let page_sign_in = app
        .anonymous
        .post(app.url("/api/sign_in"))
        .header("origin", &app.address)
        .form(&[("email", ADMIN_EMAIL), ("password", "wrong password"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(page_sign_in.status(), 401);
    assert!(page_sign_in.text().await.unwrap().contains("Wrong email or password."));
    // Posted by the form itself (its script not running yet), it is sent back to its page instead.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form_post = no_redirects
        .post(app.url("/api/sign_in"))
        .header("origin", &app.address)
        .header("accept", "text/html")
        .header("referer", app.url("/login"))
        .form(&[("email", ADMIN_EMAIL), ("password", "wrong password"), ("next", "/")])
        .send()
        .await
        .unwrap();
    assert_eq!(form_post.status(), 302);
    assert!(form_post.headers()["location"].to_str().unwrap().starts_with(&app.url("/login?")), "{:?}", form_post.headers());
    let login = app.login(&ADMIN_EMAIL.to_uppercase(), PASSWORD).await;
    assert_eq!(login.status(), 200, "emails are case-insensitive");
    let cookie = session_cookie(&login);
    let me: Value = app.anonymous.get(app.url("/api/auth/me")).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["email"], ADMIN_EMAIL);

    let logout = app.anonymous.post(app.url("/api/auth/logout")).header("cookie", &cookie).header("origin", &app.address).send().await.unwrap();
    assert_eq!(logout.status(), 204);
    assert!(logout.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    // The session is revoked in the database, not only forgotten by the browser.
    let after = app.anonymous.get(app.url("/api/auth/me")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(after.status(), 401);
    let garbage = app.anonymous.get(app.url("/api/campaigns")).header("cookie", "scout_session=forged").send().await.unwrap();
    assert_eq!(garbage.status(), 401);
    // A wrong bearer token is not rescued by a valid cookie.
    let login = app.login(ADMIN_EMAIL, PASSWORD).await;
    let cookie = session_cookie(&login);
    let mixed = app.anonymous.get(app.url("/api/campaigns")).header("cookie", &cookie).bearer_auth("scout_nope").send().await.unwrap();
    assert_eq!(mixed.status(), 401);

    // Sessions expire: an expired one is refused.
    let db = app.db().await;
    sqlx::query("UPDATE sessions SET expires_at = 1").execute(&db).await.unwrap();
    assert_eq!(app.anonymous.get(app.url("/api/auth/me")).header("cookie", &cookie).send().await.unwrap().status(), 401);
}

async fn failed_sign_ins_are_throttled_per_account_and_per_address(backend: Backend) {
    let app = spawn_app_with(backend, &[("SCOUT_LOGIN_WINDOW_SECS", "3")]).await;
    for _ in 0..5 {
        assert_eq!(app.login(ADMIN_EMAIL, "wrong password").await.status(), 401);
    }
    // Locked: even the right password waits, and the answer says how long.
    let locked = app.login(ADMIN_EMAIL, PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let retry_after: u64 = locked.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=3).contains(&retry_after), "{retry_after}");
    assert!(locked.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("Too many failed sign-ins"));
    tokio::time::sleep(Duration::from_secs(retry_after) + Duration::from_millis(300)).await;
    assert_eq!(app.login(ADMIN_EMAIL, PASSWORD).await.status(), 200, "the window frees up");

    // One address trying many accounts is throttled as well.
    for i in 0..5 {
        assert_eq!(app.login(&format!("guess{i}@scout.test"), "x").await.status(), 401);
    }
    assert_eq!(app.login(ADMIN_EMAIL, PASSWORD).await.status(), 429);
    // A 100 KB "email" counts against the address only (it never becomes an account key).
    assert_eq!(app.login(&"x".repeat(100_000), PASSWORD).await.status(), 429);
    let db = app.db().await;
    let (longest,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(MAX(LENGTH(key)), 0) AS BIGINT) FROM login_failures").fetch_one(&db).await.unwrap();
    assert!(longest < 300, "{longest}");
    // A burst of parallel guesses is counted before any password is checked: at most 5 get through.
    let other = spawn_app(backend).await;
    let burst = futures::future::join_all((0..20).map(|_| other.login(ADMIN_EMAIL, "wrong password"))).await;
    let checked = burst.iter().filter(|r| r.status() == 401).count();
    assert!(checked <= 5, "{checked} guesses were checked");
    assert_eq!(burst.iter().filter(|r| r.status() == 429).count(), 20 - checked);
    // X-Forwarded-For is not believed from an untrusted peer, so it cannot dodge the limit.
    let spoofed = app
        .anonymous
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", "203.0.113.9")
        .json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(spoofed.status(), 429);
}

async fn api_tokens_are_shown_once_and_can_be_revoked(backend: Backend) {
    let app = spawn_app(backend).await;
    let member = app.add_account("maya@scout.test", "member").await;
    let created = member.client.post(app.url("/api/tokens")).json(&json!({"name": "nightly export"})).send().await.unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let token = created["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("scout_"));
    let script = bearer_client(&token);
    assert_eq!(script.get(app.url("/api/campaigns")).send().await.unwrap().status(), 200);
    // A token needs no origin check: it is no ambient credential.
    let post = script.post(app.url("/api/campaigns")).header("origin", "https://evil.example").json(&json!({"name": "By script"})).send().await.unwrap();
    assert_eq!(post.status(), 201);

    let listed: Value = member.client.get(app.url("/api/tokens")).send().await.unwrap().json().await.unwrap();
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"nightly export"));
    assert!(listed.as_array().unwrap().iter().all(|t| t.get("token").is_none()), "listing never shows secrets: {listed}");
    // Only hashes are stored.
    let db = app.db().await;
    let stored: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM api_tokens WHERE token_hash = $1").bind(&token).fetch_one(&db).await.unwrap();
    assert_eq!(stored.0, 0);

    // Another account cannot revoke it; its owner can, and then it stops working.
    let id = created["id"].as_str().unwrap();
    assert_eq!(app.client.delete(app.url(&format!("/api/tokens/{id}"))).send().await.unwrap().status(), 404);
    assert_eq!(member.client.delete(app.url(&format!("/api/tokens/{id}"))).send().await.unwrap().status(), 204);
    assert_eq!(script.get(app.url("/api/campaigns")).send().await.unwrap().status(), 401);
    let nameless = member.client.post(app.url("/api/tokens")).json(&json!({"name": "  "})).send().await.unwrap();
    assert_eq!(nameless.status(), 400);
}

async fn disabled_accounts_and_password_resets_end_their_sessions(backend: Backend) {
    let app = spawn_app(backend).await;
    let member = app.add_account("maya@scout.test", "member").await;
    let path = format!("/api/users/{}", member.id);
    let disabled = app.client.patch(app.url(&path)).json(&json!({"disabled": true})).send().await.unwrap();
    assert_eq!(disabled.status(), 200);
    assert_eq!(disabled.json::<Value>().await.unwrap()["disabled"], true);
    assert_eq!(member.client.get(app.url("/api/campaigns")).send().await.unwrap().status(), 401, "its tokens stop working");
    let cookie_use = app.anonymous.get(app.url("/api/campaigns")).header("cookie", &member.cookie).send().await.unwrap();
    assert_eq!(cookie_use.status(), 401, "and its sessions");
    let login = app.login(&member.email, PASSWORD).await;
    assert_eq!(login.status(), 403);
    assert!(login.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("disabled"));

    assert_eq!(app.client.patch(app.url(&path)).json(&json!({"disabled": false})).send().await.unwrap().status(), 200);
    let login = app.login(&member.email, PASSWORD).await;
    assert_eq!(login.status(), 200);
    let cookie = session_cookie(&login);
    let reset = app.client.patch(app.url(&path)).json(&json!({"password": "a brand new secret"})).send().await.unwrap();
    assert_eq!(reset.status(), 200);
    assert_eq!(app.anonymous.get(app.url("/api/auth/me")).header("cookie", &cookie).send().await.unwrap().status(), 401);
    assert_eq!(member.client.get(app.url("/api/auth/me")).send().await.unwrap().status(), 401, "and its API tokens");
    assert_eq!(app.login(&member.email, PASSWORD).await.status(), 401);
    assert_eq!(app.login(&member.email, "a brand new secret").await.status(), 200);

    // An admin cannot lock themselves out.
    let me: Value = app.client.get(app.url("/api/auth/me")).send().await.unwrap().json().await.unwrap();
    let own = app.client.patch(app.url(&format!("/api/users/{}", me["id"].as_str().unwrap()))).json(&json!({"disabled": true})).send().await.unwrap();
    assert_eq!(own.status(), 409);
    assert_eq!(app.client.patch(app.url("/api/users/nobody")).json(&json!({"disabled": true})).send().await.unwrap().status(), 404);
}

async fn only_admins_manage_accounts(backend: Backend) {
    let app = spawn_app(backend).await;
    let member = app.add_account("maya@scout.test", "member").await;
    let attempt = member.client.post(app.url("/api/users")).json(&json!({"email": "x@scout.test", "password": PASSWORD})).send().await.unwrap();
    assert_eq!(attempt.status(), 403);
    assert_eq!(member.client.get(app.url("/api/users")).send().await.unwrap().status(), 403);
    assert_eq!(member.client.patch(app.url(&format!("/api/users/{}", member.id))).json(&json!({"disabled": true})).send().await.unwrap().status(), 403);
    let duplicate = app.post_json("/api/users", &json!({"email": "MAYA@scout.test", "password": PASSWORD})).await;
    assert_eq!(duplicate.status(), 409);
    let bad_role = app.post_json("/api/users", &json!({"email": "x@scout.test", "password": PASSWORD, "role": "owner"})).await;
    assert_eq!(bad_role.status(), 400);
    let users: Value = app.get("/api/users").await.json().await.unwrap();
    let emails: Vec<&str> = users.as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    assert_eq!(emails, [ADMIN_EMAIL, "maya@scout.test"]);
    assert!(users.as_array().unwrap().iter().all(|u| u.get("passwordHash").is_none()));
    // No open sign-up by default.
    let signup = app.anonymous.post(app.url("/api/auth/signup")).json(&json!({"email": "y@scout.test", "password": PASSWORD})).send().await.unwrap();
    assert_eq!(signup.status(), 403);
    let open = spawn_app_with(backend, &[("SCOUT_OPEN_SIGNUP", "true")]).await;
    let signup = open.anonymous.post(open.url("/api/auth/signup")).json(&json!({"email": "y@scout.test", "password": PASSWORD})).send().await.unwrap();
    assert_eq!(signup.status(), 201);
    assert_eq!(signup.json::<Value>().await.unwrap()["role"], "member");
}

async fn the_cli_creates_accounts_and_tokens(backend: Backend) {
    let app = spawn_app(backend).await;
    let run = |args: &[&str], stdin: &str| run_cli(&app.database_url, args, stdin);
    let created = run(&["user", "create", "--email", "ops@scout.test"], &format!("{PASSWORD}\n"));
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let weak = run(&["user", "create", "--email", "weak@scout.test"], "short\n");
    assert!(!weak.status.success());
    assert!(String::from_utf8_lossy(&weak.stderr).contains("at least 8"));
    let token = run(&["token", "create", "--email", "ops@scout.test", "--name", "cron"], "");
    assert!(token.status.success(), "{}", String::from_utf8_lossy(&token.stderr));
    let token = String::from_utf8(token.stdout).unwrap();
    let token = token.trim();
    assert!(token.starts_with("scout_") && !token.contains(char::is_whitespace), "only the token is printed: {token:?}");
    let me: Value = bearer_client(token).get(app.url("/api/auth/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!((me["email"].as_str(), me["role"].as_str()), (Some("ops@scout.test"), Some("member")));
    assert_eq!(app.login("ops@scout.test", PASSWORD).await.status(), 200);
}

async fn setup_through_a_proxy_needs_the_code_too(backend: Backend) {
    // Listening on loopback behind a proxy on the same machine: requests arrive from 127.0.0.1 but
    // carry forwarding headers, so they may come from anywhere.
    let app = spawn_unset_app(backend, &[]).await;
    let code = app.setup_code.clone().expect("a setup code is printed while setup is pending");
    // A member made with the CLI first does not close setup.
    assert!(run_cli(&app.database_url, &["user", "create", "--email", "early@scout.test"], &format!("{PASSWORD}\n")).status.success());
    let proxied = |path: &str| app.anonymous.post(app.url(path)).header("x-forwarded-for", "203.0.113.7");
    let status: Value =
        app.anonymous.get(app.url("/api/auth/status")).header("x-forwarded-for", "203.0.113.7").send().await.unwrap().json().await.unwrap();
    assert_eq!((status["setUp"].as_bool(), status["setupCodeRequired"].as_bool()), (Some(false), Some(true)));
    let refused = proxied("/api/auth/setup").json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD})).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    let done = proxied("/api/auth/setup").json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD, "setupCode": code})).send().await.unwrap();
    assert_eq!(done.status(), 201);
}

async fn the_first_admin_from_the_cli_closes_setup(backend: Backend) {
    // As the README's several-instances steps suggest: the first account made with the CLI.
    let app = spawn_unset_app(backend, &[("LEPTOS_SITE_ADDR", "0.0.0.0:0")]).await;
    assert!(app.setup_code.is_some());
    assert!(run_cli(&app.database_url, &["user", "create", "--email", ADMIN_EMAIL, "--admin"], &format!("{PASSWORD}\n")).status.success());
    let status: Value = app.anonymous.get(app.url("/api/auth/status")).send().await.unwrap().json().await.unwrap();
    assert_eq!(status["setUp"], true);
    assert_eq!(app.login(ADMIN_EMAIL, PASSWORD).await.status(), 200);
    let pool = app.db().await;
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM setup_code").fetch_one(&pool).await.unwrap();
    pool.close().await;
    assert_eq!(left, 0, "the setup code is forgotten");
}

async fn an_exposed_instance_never_runs_on_the_public_qstash_identity(backend: Backend) {
    use scout::config::{DEV_CURRENT_SIGNING_KEY, DEV_QSTASH_TOKEN};
    let mut app = spawn_unset_app(backend, &[("LEPTOS_SITE_ADDR", "0.0.0.0:0")]).await;
    assert_eq!(app.anonymous.get(app.url("/v2/events")).bearer_auth(DEV_QSTASH_TOKEN).send().await.unwrap().status(), 401);
    let code = app.setup_code.clone().unwrap();
    let setup = app.anonymous.post(app.url("/api/auth/setup")).json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD, "setupCode": code})).send().await.unwrap();
    assert_eq!(setup.status(), 201);
    let token = app.token_for_session(&session_cookie(&setup)).await;
    app.client = bearer_client(&token);
    let identity: Value = app.get("/api/admin/qstash").await.json().await.unwrap();
    let qstash_token = identity["token"].as_str().unwrap().to_string();
    assert_ne!(qstash_token, DEV_QSTASH_TOKEN);
    assert_ne!(identity["currentSigningKey"], DEV_CURRENT_SIGNING_KEY);
    assert_eq!(app.anonymous.get(app.url("/v2/events")).bearer_auth(&qstash_token).send().await.unwrap().status(), 200);
    // A delivery signed with the public key is refused; the app's own deliveries (signed with its
    // keys) run a search to the end.
    let forged = app.deliver_signed("/api/qstash/process-scraping", r#"{"jobId":"x","step":0}"#).await;
    assert_eq!(forged.status(), 401);
    let campaign = app.create_campaign("Exposed").await;
    let job_id = app.start_search(&campaign, &["pilates"], 1000).await;
    crate::helpers::assert_completed(&app.wait_for_terminal(&job_id, Duration::from_secs(180)).await);
    // Members do not see it; a restart keeps the same identity.
    let member = app.add_account("maya@scout.test", "member").await;
    assert_eq!(member.client.get(app.url("/api/admin/qstash")).send().await.unwrap().status(), 403);
    app.restart().await;
    let again: Value = app.get("/api/admin/qstash").await.json().await.unwrap();
    assert_eq!(again["token"], qstash_token.as_str());
    // An instance on loopback beside it (same database) takes the same identity, rather than the
    // public one, which would reseed the signing keys they share.
    let sibling = app.another_instance().await;
    let beside: Value = sibling.get("/api/admin/qstash").await.json().await.unwrap();
    assert_eq!(beside["token"], qstash_token.as_str());
    assert_eq!(beside["currentSigningKey"], again["currentSigningKey"]);
    let after: Value = app.get("/api/admin/qstash").await.json().await.unwrap();
    assert_eq!(after["currentSigningKey"], again["currentSigningKey"], "the keys were not reseeded");
    // A loopback instance that started before the identity existed (a race) seeds with the public
    // keys: they never replace the stored ones.
    let pool = app.db().await;
    let seeded = scout::db::qstash::keys::load_or_seed(&pool, DEV_CURRENT_SIGNING_KEY, scout::config::DEV_NEXT_SIGNING_KEY, false).await.unwrap();
    assert_eq!(seeded.current, again["currentSigningKey"].as_str().unwrap());
    pool.close().await;
    let last: Value = app.get("/api/admin/qstash").await.json().await.unwrap();
    assert_eq!(last["currentSigningKey"], again["currentSigningKey"], "the public keys did not replace them");
}

async fn over_https_the_session_cookie_is_secure_and_host_only(backend: Backend) {
    let app = spawn_unset_app(backend, &[("PUBLIC_URL", "https://scout.example.com")]).await;
    let code = app.setup_code.clone().unwrap();
    let setup = app.anonymous.post(app.url("/api/auth/setup")).json(&json!({"email": ADMIN_EMAIL, "password": PASSWORD, "setupCode": code})).send().await.unwrap();
    assert_eq!(setup.status(), 201);
    let set_cookie = setup.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(set_cookie.starts_with("__Host-scout_session=") && set_cookie.contains("; Secure") && set_cookie.contains("HttpOnly"), "{set_cookie}");
    let pair = set_cookie.split(';').next().unwrap().to_string();
    let me = |cookie: String| app.anonymous.get(app.url("/api/auth/me")).header("cookie", cookie).send();
    assert_eq!(me(pair.clone()).await.unwrap().status(), 200);
    // The same secret under the plain name (what a sibling subdomain could set) is not a session.
    assert_eq!(me(pair.replacen("__Host-", "", 1)).await.unwrap().status(), 401);
}

/// Runs the `scout` binary's CLI on `database_url` as an operator would, with `stdin` typed in.
fn run_cli(database_url: &str, args: &[&str], stdin: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scout"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}
