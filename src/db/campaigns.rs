use super::{new_id, now_ms, Db};
use crate::domain::{CampaignName, Description};
use crate::shared::CampaignView;
use sqlx::AnyConnection;

#[derive(sqlx::FromRow)]
struct CampaignRow {
    id: String,
    name: String,
    description: String,
    search_type: String,
    status: String,
    created_at: i64,
    updated_at: i64,
}

impl From<CampaignRow> for CampaignView {
    fn from(r: CampaignRow) -> Self {
        CampaignView {
            id: r.id,
            name: r.name,
            description: r.description,
            search_type: r.search_type,
            status: r.status,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: &str = "id, name, description, search_type, status, created_at, updated_at";

/// A campaign in `workspace_id`, created by `user_id`.
pub async fn insert(db: &Db, user_id: &str, workspace_id: &str, name: &CampaignName, description: &Description) -> sqlx::Result<CampaignView> {
    let now = now_ms();
    let id = new_id();
    sqlx::query(
        "INSERT INTO campaigns (id, user_id, workspace_id, name, description, search_type, status, created_at, updated_at)
         VALUES ($1, $2, $6, $3, $4, 'keyword', 'draft', $5, $5)",
    )
    .bind(&id)
    .bind(user_id)
    .bind(name.as_str())
    .bind(description.as_str())
    .bind(now)
    .bind(workspace_id)
    .execute(db)
    .await?;
    Ok(CampaignView {
        id,
        name: name.as_str().to_string(),
        description: description.as_str().to_string(),
        search_type: "keyword".into(),
        status: "draft".into(),
        created_at: now,
        updated_at: now,
    })
}

/// The campaign if it is in `workspace` (`None`: in any workspace, for an admin's reads).
pub async fn find(db: &Db, workspace: Option<&str>, id: &str) -> sqlx::Result<Option<CampaignView>> {
    let row: Option<CampaignRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM campaigns WHERE id = $1 AND workspace_id = COALESCE($2, workspace_id)"))
        .bind(id)
        .bind(workspace)
        .fetch_optional(db)
        .await?;
    Ok(row.map(Into::into))
}

/// One page of a workspace's campaigns, newest first, and how many there are in all.
pub async fn list(db: &Db, workspace_id: &str, limit: u32, offset: u64) -> sqlx::Result<(Vec<CampaignView>, u64)> {
    let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM campaigns WHERE workspace_id = $1").bind(workspace_id).fetch_one(db).await?;
    let rows: Vec<CampaignRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM campaigns WHERE workspace_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3"))
            .bind(workspace_id)
            .bind(i64::from(limit))
            .bind(offset.min(i64::MAX as u64) as i64)
            .fetch_all(db)
            .await?;
    Ok((rows.into_iter().map(Into::into).collect(), total.max(0) as u64))
}

/// Derives a campaign's status from its runs: `active` while any runs, otherwise the status of the
/// run that ended last (`draft` before the first). Called by `jobs::lifecycle` whenever a run starts
/// or ends, in the same transaction, so the campaign list never disagrees with its runs.
pub async fn refresh_status(conn: &mut AnyConnection, id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE campaigns SET updated_at = $2, status = COALESCE(
            (SELECT CAST('active' AS TEXT) FROM scraping_jobs WHERE campaign_id = $1 AND status IN ('pending', 'processing') LIMIT 1),
            (SELECT status FROM scraping_jobs WHERE campaign_id = $1 ORDER BY COALESCE(completed_at, updated_at) DESC, id LIMIT 1),
            CAST('draft' AS TEXT))
         WHERE id = $1",
    )
    .bind(id)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
