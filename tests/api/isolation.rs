//! Members cannot reach each other's work by any door (JSON routes, server functions, CSV links);
//! an admin can read everyone's runs but change only their own; nothing answers without credentials;
//! and the browser-facing defences hold: same-origin checks (CSRF), the Host check, security headers.

use crate::helpers::{spawn_app, spawn_app_with, Backend, Member};
use crate::on_both_databases;
use serde_json::{json, Value};
use std::time::Duration;

on_both_databases!(
    members_get_404_for_each_others_work_by_every_door,
    admins_read_everyone_but_change_only_their_own,
    nothing_answers_without_credentials,
    cross_origin_posts_with_the_session_cookie_change_nothing,
    unknown_host_names_get_421,
    every_response_has_security_headers,
);

/// A member's campaign with one finished run.
async fn campaign_with_a_run(app: &crate::helpers::TestApp, member: &Member) -> (String, String) {
    let campaign = member.client.post(app.url("/api/campaigns")).json(&json!({"name": "Maya's launch"})).send().await.unwrap();
    assert_eq!(campaign.status(), 201);
    let campaign_id = campaign.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_string();
    let started = member
        .client
        .post(app.url("/api/scraping/tiktok"))
        .json(&json!({"campaignId": campaign_id, "keywords": ["pilates"], "targetResults": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(started.status(), 200, "{}", started.text().await.unwrap());
    let job_id = started.json::<Value>().await.unwrap()["jobId"].as_str().unwrap().to_string();
    app.wait_for_terminal(&job_id, Duration::from_secs(120)).await;
    (campaign_id, job_id)
}

/// Calls a server function as the page does (a form post from the app's own origin).
async fn server_fn(app: &crate::helpers::TestApp, cookie: &str, name: &str, form: &[(&str, &str)]) -> reqwest::Response {
    app.anonymous
        .post(app.url(&format!("/api/{name}")))
        .header("cookie", cookie)
        .header("origin", &app.address)
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn members_get_404_for_each_others_work_by_every_door(backend: Backend) {
    let app = spawn_app(backend).await;
    let (maya, bo) = (app.add_account("maya@scout.test", "member").await, app.add_account("bo@scout.test", "member").await);
    let (campaign_id, job_id) = campaign_with_a_run(&app, &maya).await;

    let reads = [
        format!("/api/campaigns/{campaign_id}"),
        format!("/api/jobs/{job_id}/progress"),
        format!("/api/scraping/tiktok?jobId={job_id}"),
        format!("/api/jobs/{job_id}/creators"),
        format!("/api/campaigns/{campaign_id}/export.csv"),
        format!("/api/campaigns/{campaign_id}/export.csv?jobId={job_id}"),
    ];
    for path in &reads {
        assert_eq!(maya.client.get(app.url(path)).send().await.unwrap().status(), 200, "{path}");
        let other = bo.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(other.status(), 404, "{path}");
        assert!(other.json::<Value>().await.unwrap()["error"].is_string());
    }
    let cancel = bo.client.post(app.url(&format!("/api/jobs/{job_id}/cancel"))).send().await.unwrap();
    assert_eq!(cancel.status(), 404);
    let start = bo
        .client
        .post(app.url("/api/scraping/tiktok"))
        .json(&json!({"campaignId": campaign_id, "keywords": ["yoga"], "targetResults": 1000}))
        .send()
        .await
        .unwrap();
    assert_eq!(start.status(), 404);
    let listed: Value = bo.client.get(app.url("/api/campaigns")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!([]));

    // The pages' server functions, with the other member's session.
    let calls: [(&str, Vec<(&str, &str)>); 4] = [
        ("get_campaign", vec![("id", &campaign_id)]),
        ("job_status", vec![("job_id", &job_id)]),
        ("cancel_search", vec![("job_id", &job_id)]),
        ("list_creators", vec![("job_id", &job_id), ("page", "1"), ("sort", "followers_desc"), ("has_email", "false")]),
    ];
    for (name, form) in &calls {
        let mine = server_fn(&app, &maya.cookie, name, form).await;
        let theirs = server_fn(&app, &bo.cookie, name, form).await;
        assert_eq!(theirs.status(), 404, "{name}: as the JSON API answers");
        let text = theirs.text().await.unwrap();
        assert!(text.contains("not found"), "{name}: {text}");
        if *name != "cancel_search" {
            assert!(mine.status().is_success(), "{name}: {}", mine.text().await.unwrap());
        }
    }
    let start = server_fn(
        &app,
        &bo.cookie,
        "start_search",
        &[("campaign_id", &campaign_id), ("platform", "tiktok"), ("kind", "keywords"), ("keywords", "yoga"), ("target_username", ""), ("target_results", "1000"), ("expand_keywords", "true")],
    )
    .await;
    assert!(start.text().await.unwrap().contains("not found"));
    let db = app.db().await;
    let (runs,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM scraping_jobs").fetch_one(&db).await.unwrap();
    assert_eq!(runs, 1, "no run was started in Maya's campaign");
}

async fn admins_read_everyone_but_change_only_their_own(backend: Backend) {
    let app = spawn_app(backend).await;
    let maya = app.add_account("maya@scout.test", "member").await;
    let (campaign_id, job_id) = campaign_with_a_run(&app, &maya).await;
    let detail = app.get(&format!("/api/campaigns/{campaign_id}")).await;
    assert_eq!(detail.status(), 200);
    assert_eq!(detail.json::<Value>().await.unwrap()["readOnly"], true);
    assert_eq!(app.get(&format!("/api/jobs/{job_id}/creators")).await.status(), 200);
    assert_eq!(app.get(&format!("/api/campaigns/{campaign_id}/export.csv")).await.status(), 200);
    let mine: Value = maya.client.get(app.url(&format!("/api/campaigns/{campaign_id}"))).send().await.unwrap().json().await.unwrap();
    assert_eq!(mine["readOnly"], false);
    // Reading is not changing.
    let cancel = app.client.post(app.url(&format!("/api/jobs/{job_id}/cancel"))).send().await.unwrap();
    assert_eq!(cancel.status(), 403);
    assert!(cancel.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("view it but not change it"));
    let start = app.post_json("/api/scraping/tiktok", &json!({"campaignId": campaign_id, "keywords": ["yoga"], "targetResults": 1000})).await;
    assert_eq!(start.status(), 403);
    // The admins' overview lists every member's runs; members may not see it.
    let runs: Value = app.get("/api/admin/runs").await.json().await.unwrap();
    assert_eq!(runs[0]["id"], job_id.as_str());
    assert_eq!((runs[0]["ownerEmail"].as_str(), runs[0]["campaignName"].as_str()), (Some("maya@scout.test"), Some("Maya's launch")));
    assert_eq!(maya.client.get(app.url("/api/admin/runs")).send().await.unwrap().status(), 403);
    // The admin's own list holds only its own campaigns.
    let listed: Value = app.get("/api/campaigns").await.json().await.unwrap();
    assert_eq!(listed, json!([]));
}

async fn nothing_answers_without_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    let id = app.create_campaign("Mine").await;
    let routes = [
        ("GET", "/api/campaigns".to_string()),
        ("POST", "/api/campaigns".to_string()),
        ("GET", format!("/api/campaigns/{id}")),
        ("POST", "/api/scraping/tiktok".to_string()),
        ("GET", "/api/scraping/tiktok?jobId=x".to_string()),
        ("GET", "/api/jobs/x/progress".to_string()),
        ("POST", "/api/jobs/x/cancel".to_string()),
        ("GET", "/api/jobs/x/creators".to_string()),
        ("GET", format!("/api/campaigns/{id}/export.csv")),
        ("GET", "/api/users".to_string()),
        ("POST", "/api/users".to_string()),
        ("GET", "/api/tokens".to_string()),
        ("POST", "/api/tokens".to_string()),
        ("GET", "/api/auth/me".to_string()),
    ];
    for (method, path) in routes {
        let request = app.anonymous.request(method.parse().unwrap(), app.url(&path)).json(&json!({}));
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{method} {path}");
        assert!(response.json::<Value>().await.unwrap()["error"].is_string(), "{method} {path}");
    }
    let calls: [(&str, Vec<(&str, &str)>); 6] = [
        ("list_campaigns", vec![]),
        ("get_campaign", vec![("id", &id)]),
        ("job_status", vec![("job_id", "x")]),
        ("list_creators", vec![("job_id", "x"), ("page", "1"), ("sort", "followers_desc"), ("has_email", "false")]),
        ("list_tokens", vec![]),
        ("list_accounts", vec![]),
    ];
    for (name, form) in calls {
        let response = app.anonymous.post(app.url(&format!("/api/{name}"))).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 401, "{name}");
        assert!(response.text().await.unwrap().contains("Sign in again"), "{name}");
    }
    // What stays open: health, the login routes, assets.
    assert_eq!(app.anonymous.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    assert_eq!(app.anonymous.get(app.url("/api/auth/status")).send().await.unwrap().status(), 200);
    assert_eq!(app.anonymous.get(app.url("/login")).send().await.unwrap().status(), 200);
}

async fn cross_origin_posts_with_the_session_cookie_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let maya = app.add_account("maya@scout.test", "member").await;
    let post = |origin: Option<&'static str>| {
        let mut request = app.anonymous.post(app.url("/api/campaigns")).header("cookie", &maya.cookie).json(&json!({"name": "Forged"}));
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    assert_eq!(post(Some("https://evil.example")).await.unwrap().status(), 403);
    assert_eq!(post(Some("null")).await.unwrap().status(), 403);
    assert_eq!(post(None).await.unwrap().status(), 403, "a cookie without any origin is refused too");
    // A cross-site form post to a server function (what a forged <form> sends).
    let form = app
        .anonymous
        .post(app.url("/api/create_campaign"))
        .header("cookie", &maya.cookie)
        .header("origin", "https://evil.example")
        .form(&[("name", "Forged"), ("description", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 403);
    let login_csrf = app
        .anonymous
        .post(app.url("/api/auth/login"))
        .header("origin", "https://evil.example")
        .json(&json!({"email": maya.email, "password": crate::helpers::PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login_csrf.status(), 403, "no signing a visitor into someone else's account");
    let listed: Value = maya.client.get(app.url("/api/campaigns")).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed, json!([]), "nothing was created");

    // From Scout's own pages it works (Origin, or Referer when a browser sends no Origin).
    let same = app.anonymous.post(app.url("/api/campaigns")).header("cookie", &maya.cookie).header("origin", &app.address).json(&json!({"name": "Real"})).send().await.unwrap();
    assert_eq!(same.status(), 201);
    let referer = app
        .anonymous
        .post(app.url("/api/create_campaign"))
        .header("cookie", &maya.cookie)
        .header("referer", app.url("/"))
        .form(&[("name", "Via form"), ("description", "")])
        .send()
        .await
        .unwrap();
    assert!(referer.status().is_success(), "{}", referer.status());
}

async fn unknown_host_names_get_421(backend: Backend) {
    let app = spawn_app_with(backend, &[("SCOUT_ALLOWED_HOSTS", "health.internal, lb.example:8080")]).await;
    let with_host = |host: &'static str, path: &'static str| app.client.get(app.url(path)).header("host", host).send();
    for path in ["/api/campaigns", "/", "/login"] {
        let rebound = with_host("attacker.example", path).await.unwrap();
        assert_eq!(rebound.status(), 421, "{path}");
        assert!(rebound.json::<Value>().await.unwrap()["error"].as_str().unwrap().contains("SCOUT_ALLOWED_HOSTS"));
    }
    assert_eq!(with_host("health.internal", "/api/campaigns").await.unwrap().status(), 200);
    assert_eq!(with_host("health.internal:9000", "/api/campaigns").await.unwrap().status(), 200);
    assert_eq!(with_host("lb.example:8080", "/api/campaigns").await.unwrap().status(), 200);
    assert_eq!(with_host("lb.example:8081", "/api/campaigns").await.unwrap().status(), 421);
    assert_eq!(with_host("localhost", "/api/campaigns").await.unwrap().status(), 421, "the port is part of the name");
    // A load balancer checks each instance's health by its own address, whatever name it uses.
    for path in ["/healthz", "/readyz"] {
        assert_eq!(with_host("10.0.0.7:3000", path).await.unwrap().status(), 200, "{path}");
    }
    assert_eq!(app.get("/api/campaigns").await.status(), 200);
}

async fn every_response_has_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    for path in ["/", "/login", "/api/campaigns", "/healthz", "/nope"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("object-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("img-src 'self' https: data:"), "no http images on the page: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{path}");
        assert_eq!(headers["cross-origin-opener-policy"], "same-origin", "{path}");
        let script_src = csp.split(';').find(|d| d.trim_start().starts_with("script-src")).unwrap();
        assert!(!script_src.contains("unsafe-inline"), "{path}: {csp}");
    }
    // A page's inline scripts run by its nonce, a new one each response; no other inline script may.
    let nonce_of = |csp: &str| csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).map(str::to_string);
    let page = app.get("/").await;
    assert_eq!(page.status(), 200);
    let nonce = nonce_of(page.headers()["content-security-policy"].to_str().unwrap()).expect("a page names its nonce");
    let html = page.text().await.unwrap();
    let scripts: Vec<&str> = html.match_indices("<script").map(|(at, _)| &html[at..at + html[at..].find('>').unwrap()]).collect();
    assert!(!scripts.is_empty());
    for script in scripts {
        assert!(script.contains(&format!("nonce=\"{nonce}\"")), "{script}");
    }
    let again = app.get("/").await;
    assert_ne!(nonce_of(again.headers()["content-security-policy"].to_str().unwrap()), Some(nonce));
    assert!(nonce_of(app.get("/api/campaigns").await.headers()["content-security-policy"].to_str().unwrap()).is_none());
}
