//! Campaigns and the results table's JSON: sorting, filtering, pagination, escaping.

use crate::helpers::{assert_completed, spawn_app, Backend};
use scout::shared::CreatorPage;
use serde_json::{json, Value};
use std::time::Duration;

crate::on_both_databases!(
    campaigns_are_created_and_listed,
    results_sort_filter_and_paginate,
    another_users_campaigns_and_runs_are_not_found,
    the_campaign_list_is_paginated,
);

async fn campaigns_are_created_and_listed(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app.post_json("/api/campaigns", &json!({"name": "  Summer  ", "description": "Beach creators"})).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Summer");
    assert_eq!(created["description"], "Beach creators");
    app.create_campaign("Winter").await;
    let list: Vec<Value> = app.get("/api/campaigns").await.json().await.unwrap();
    assert_eq!(list.len(), 2);
    let detail: Value = app.get(&format!("/api/campaigns/{}", created["id"].as_str().unwrap())).await.json().await.unwrap();
    assert_eq!(detail["name"], "Summer");
    assert_eq!(detail["jobs"], json!([]));
}

async fn results_sort_filter_and_paginate(backend: Backend) {
    let app = spawn_app(backend).await;
    let campaign = app.create_campaign("Table").await;
    let job_id = app.start_search(&campaign, &["makeup"], 1000).await;
    assert_completed(&app.wait_for_terminal(&job_id, Duration::from_secs(180)).await);

    let app = &app;
    let page = |query: &str| {
        let url = format!("/api/jobs/{job_id}/creators?{query}");
        async move { app.get(&url).await.json::<CreatorPage>().await.unwrap() }
    };
    let first = page("").await;
    assert_eq!((first.total, first.per_page, first.creators.len()), (1000, 50, 50));
    assert!(first.creators.windows(2).all(|w| w[0].followers >= w[1].followers), "followers, highest first");
    // A page far past the end (even the largest number) is empty, not an overflow.
    assert!(page("page=4294967295").await.creators.is_empty());
    let last = page("page=20").await;
    assert_eq!(last.creators.len(), 50);
    assert!(page("page=21").await.creators.is_empty());
    let by_views = page("sort=views_asc").await;
    assert!(by_views.creators.windows(2).all(|w| w[0].views <= w[1].views));
    let with_email = page("hasEmail=true").await;
    assert!(with_email.total > 100 && with_email.total < 1000, "{}", with_email.total);
    assert!(with_email.creators.iter().all(|c| !c.emails.is_empty()));
    assert!(with_email
        .creators
        .iter()
        .flat_map(|c| &c.emails)
        .all(|e| e.contains('@') && e.split('@').nth(1).unwrap() == e.split('@').nth(1).unwrap().to_lowercase()));

    // Hostile scraped text is stored as text and neutralised in the CSV.
    let rows = app.csv_rows(&campaign, &job_id).await;
    let hostile: Vec<_> = rows.iter().filter(|r| r[1].contains("HYPERLINK")).collect();
    assert!(!hostile.is_empty(), "the simulator serves some hostile names");
    assert!(hostile.iter().all(|r| r[1].starts_with("'=")));
    assert!(rows.iter().all(|r| !r.iter().any(|cell| cell.starts_with(['=', '+', '-', '@']))));
}

async fn another_users_campaigns_and_runs_are_not_found(backend: Backend) {
    let mut app = spawn_app(backend).await;
    // A member (an admin could read everyone's).
    app.client = app.add_account("maya@scout.test", "member").await.client;
    let campaign = app.create_campaign("Theirs").await;
    let job_id = app.start_search(&campaign, &["makeup"], 1000).await;
    assert_completed(&app.wait_for_terminal(&job_id, Duration::from_secs(180)).await);
    let mine = app.create_campaign("Mine").await;
    let my_job = app.start_search(&mine, &["baking"], 1000).await;
    assert_completed(&app.wait_for_terminal(&my_job, Duration::from_secs(180)).await);

    // The first campaign and its run now belong to someone else (as accounts will make them).
    let pool = app.db().await;
    sqlx::query("INSERT INTO users (id, email, password_hash, created_at) VALUES ('someone', 'someone@example.com', NULL, 0)")
        .execute(&pool)
        .await
        .unwrap();
    for table in ["campaigns", "scraping_jobs"] {
        let column = if table == "campaigns" { "id" } else { "campaign_id" };
        sqlx::query(&format!("UPDATE {table} SET user_id = 'someone', workspace_id = 'elsewhere' WHERE {column} = $1"))
            .bind(&campaign)
            .execute(&pool)
            .await
            .unwrap();
    }
    let (own,): (String,) = sqlx::query_as("SELECT workspace_id FROM users WHERE email = 'maya@scout.test'").fetch_one(&pool).await.unwrap();
    let own = Some(own.as_str());
    pool.close().await;

    for path in [
        format!("/api/campaigns/{campaign}"),
        format!("/api/jobs/{job_id}/progress"),
        format!("/api/jobs/{job_id}/creators"),
        format!("/api/scraping/tiktok?jobId={job_id}"),
        format!("/api/campaigns/{campaign}/export.csv"),
        format!("/api/campaigns/{campaign}/export.csv?jobId={job_id}"),
        format!("/api/campaigns/{mine}/export.csv?jobId={job_id}"),
    ] {
        let response = app.get(&path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.json::<Value>().await.unwrap()["error"].is_string(), "{path}");
    }
    let cancel = app.post_json(&format!("/api/jobs/{job_id}/cancel"), &json!({})).await;
    assert_eq!(cancel.status(), 404);
    let list: Vec<Value> = app.get("/api/campaigns").await.json().await.unwrap();
    assert_eq!(list.iter().map(|c| c["id"].as_str().unwrap()).collect::<Vec<_>>(), vec![mine.as_str()]);
    // Their creators stay theirs even in the repositories: the owner is part of every query.
    let db = scout::db::connect(&app.database_url).await.unwrap();
    let query = scout::db::creators::PageQuery { page: 1, sort: Default::default(), has_email: false };
    assert_eq!(scout::db::creators::page_for_job(&db, own, &job_id, &query).await.unwrap().total, 0);
    assert_eq!(scout::db::creators::page_for_job(&db, Some("elsewhere"), &job_id, &query).await.unwrap().total, 1000);
    use futures::TryStreamExt;
    let exported = |campaign: String| {
        let db = db.clone();
        async move { scout::db::creators::for_export(&db, own, &campaign, None).try_collect::<Vec<_>>().await.unwrap() }
    };
    assert!(exported(campaign.clone()).await.is_empty());
    assert!(scout::db::jobs::list_for_campaign(&db, own, &campaign, 100).await.unwrap().is_empty());
    assert_eq!(exported(mine.clone()).await.len(), 1000);
}

async fn the_campaign_list_is_paginated(backend: Backend) {
    let app = spawn_app(backend).await;
    for i in 0..101 {
        app.create_campaign(&format!("Campaign {i}")).await;
    }
    let first = app.get("/api/campaigns").await;
    assert_eq!(first.headers()["x-total-count"], "101");
    assert_eq!(first.headers()["link"], "</api/campaigns?page=2>; rel=\"next\"");
    let first: Vec<Value> = first.json().await.unwrap();
    assert_eq!(first.len(), 100);
    assert_eq!(first[0]["name"], "Campaign 100", "newest first");
    let second = app.get("/api/campaigns?page=2").await;
    assert!(second.headers().get("link").is_none());
    let second: Vec<Value> = second.json().await.unwrap();
    assert_eq!(second.iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(), ["Campaign 0"]);
    for bad in ["0", "-1", "x", "4294967296"] {
        assert_eq!(app.get(&format!("/api/campaigns?page={bad}")).await.status(), 400, "{bad}");
    }
    assert_eq!(app.get("/api/campaigns?page=4294967295").await.json::<Vec<Value>>().await.unwrap().len(), 0);
}
