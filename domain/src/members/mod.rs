//! Members: a global identity with an independent profile per tenant.

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::error::ResultExt;
use crate::{Access, Conflict, Error, Problem, Result, Role, access::audit};
use model::members::clean;
pub use model::members::{
    COUNT_MAX, EXTERNAL_ID_LENGTH_MAX, Member, MemberEdit, MemberInput, PAGE_SIZE_MAX, Page,
    SEARCH_LENGTH_MAX, Search, Sort, SortColumn, Summary,
};

/// Creates a member (a new identity and its profile in the caller's tenant) at the
/// level for 0 points.
pub async fn create(db: &PgPool, access: &Access, input: MemberInput) -> Result<Member> {
    access.require(Role::Support)?;
    let clean = clean(&input)?;
    let mut tx = db.begin().await?;
    let member_id = sqlx::query_scalar!("insert into members default values returning member_id")
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query!(
        "insert into member_profiles
           (tenant_id, member_id, external_id, display_name, email, registered_at, last_login_at,
            legacy_user_type, level_tier_id, level_updated_at)
         values ($1, $2, $3, $4, $5, coalesce($6, now()), $7, $8,
                 (select tier_id from level_tiers where tenant_id = $1 and active and min_points = 0
                  order by sort_order limit 1),
                 now())",
        access.tenant_id,
        member_id,
        clean.external_id,
        clean.display_name,
        clean.email,
        input.registered_at,
        input.last_login_at,
        input.legacy_user_type
    )
    .execute(&mut *tx)
    .await
    .on_constraint("member_profiles_external_id_key", || {
        Error::Conflict(Conflict::MemberExternalIdTaken)
    })?;
    let event = audit::Event {
        action: "member.create",
        target_type: "member",
        target_id: member_id.to_string(),
        before: None,
        after: Some(
            json!({ "external_id": clean.external_id, "display_name": clean.display_name, "email": clean.email }),
        ),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    get(db, access, member_id).await
}

/// Edits a profile's identity fields, if it is still at `expected_version`.
pub async fn update(
    db: &PgPool,
    access: &Access,
    member_id: Uuid,
    expected_version: i64,
    edit: MemberEdit,
) -> Result<Member> {
    access.require(Role::Support)?;
    let clean = clean(&MemberInput {
        external_id: edit.external_id,
        display_name: edit.display_name,
        email: edit.email,
        ..Default::default()
    })?;
    let before = get(db, access, member_id).await?;
    let mut tx = db.begin().await?;
    let updated = sqlx::query!(
        "update member_profiles
         set external_id = $4, display_name = $5, email = $6,
             row_version = row_version + 1, updated_at = now()
         where tenant_id = $1 and member_id = $2 and row_version = $3",
        access.tenant_id,
        member_id,
        expected_version,
        clean.external_id,
        clean.display_name,
        clean.email
    )
    .execute(&mut *tx)
    .await
    .on_constraint("member_profiles_external_id_key", || {
        Error::Conflict(Conflict::MemberExternalIdTaken)
    })?;
    if updated.rows_affected() == 0 {
        return Err(Error::Conflict(Conflict::StaleVersion));
    }
    let event = audit::Event {
        action: "member.update",
        target_type: "member",
        target_id: member_id.to_string(),
        before: Some(
            json!({ "external_id": before.external_id, "display_name": before.display_name, "email": before.email }),
        ),
        after: Some(
            json!({ "external_id": clean.external_id, "display_name": clean.display_name, "email": clean.email }),
        ),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    get(db, access, member_id).await
}

pub async fn get(db: &PgPool, access: &Access, member_id: Uuid) -> Result<Member> {
    access.require(Role::Viewer)?;
    sqlx::query_as!(
        Member,
        r#"select p.member_id, p.external_id, p.display_name, p.email, p.registered_at, p.last_login_at,
                  p.legacy_user_type, p.total_points, p.available_points,
                  t.code as "level_code?", t.name_zh as "level_name_zh?", t.name_en as "level_name_en?",
                  p.level_updated_at, p.row_version
           from member_profiles p
           left join level_tiers t on t.tenant_id = p.tenant_id and t.tier_id = p.level_tier_id
           where p.tenant_id = $1 and p.member_id = $2"#,
        access.tenant_id,
        member_id
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::not_found("member"))
}

/// The member with this external id in the caller's tenant.
pub async fn find(db: &PgPool, access: &Access, external_id: &str) -> Result<Member> {
    let member_id = id_of(db, access, external_id).await?;
    get(db, access, member_id).await
}

/// The id of the member with this external id in the caller's tenant (how the REST
/// API, which names members by external id, reaches the functions that take ids).
pub async fn id_of(db: &PgPool, access: &Access, external_id: &str) -> Result<Uuid> {
    access.require(Role::Viewer)?;
    // Text no input can store (NUL, control characters) names no member; PostgreSQL
    // would refuse a NUL in the query itself.
    if model::input::plain_text("external_id", external_id).is_err() {
        return Err(Error::not_found("member"));
    }
    sqlx::query_scalar!(
        "select member_id from member_profiles where tenant_id = $1 and external_id = $2",
        access.tenant_id,
        external_id.trim()
    )
    .fetch_optional(db)
    .await?
    .ok_or(Error::not_found("member"))
}

/// Creates the member with `input.external_id`, or updates their name, email, dates
/// and legacy user type (fields left out keep their values) — the tenant backend's
/// way to keep its users in step. Answers the member and whether it was created. Two
/// concurrent upserts of a new external id create one member (the other updates it).
pub async fn upsert(db: &PgPool, access: &Access, input: MemberInput) -> Result<(Member, bool)> {
    access.require(Role::Support)?;
    let clean = clean(&input)?;
    for _ in 0..2 {
        let mut tx = db.begin().await?;
        let before = sqlx::query!(
            "select member_id, display_name, email from member_profiles
             where tenant_id = $1 and external_id = $2 for update",
            access.tenant_id,
            clean.external_id
        )
        .fetch_optional(&mut *tx)
        .await?;
        let Some(before) = before else {
            tx.rollback().await?;
            match create(db, access, input.clone()).await {
                Ok(member) => return Ok((member, true)),
                Err(Error::Conflict(Conflict::MemberExternalIdTaken)) => continue,
                Err(error) => return Err(error),
            }
        };
        sqlx::query!(
            "update member_profiles
             set display_name = $3, email = $4,
                 registered_at = coalesce($5, registered_at),
                 last_login_at = coalesce($6, last_login_at),
                 legacy_user_type = coalesce($7, legacy_user_type),
                 row_version = row_version + 1, updated_at = now()
             where tenant_id = $1 and member_id = $2",
            access.tenant_id,
            before.member_id,
            clean.display_name,
            clean.email,
            input.registered_at,
            input.last_login_at,
            input.legacy_user_type
        )
        .execute(&mut *tx)
        .await?;
        let event = audit::Event {
            action: "member.upsert",
            target_type: "member",
            target_id: before.member_id.to_string(),
            before: Some(json!({ "display_name": before.display_name, "email": before.email })),
            after: Some(json!({
                "display_name": clean.display_name, "email": clean.email,
                "registered_at": input.registered_at, "last_login_at": input.last_login_at,
                "legacy_user_type": input.legacy_user_type,
            })),
        };
        audit::record(&mut tx, access, event).await?;
        tx.commit().await?;
        return Ok((get(db, access, before.member_id).await?, false));
    }
    Err(Error::Conflict(Conflict::StaleVersion))
}

/// A member's profile, effective permissions and quotas with sources, tag grants and
/// licenses, by external id (every role).
pub async fn summary(
    db: &PgPool,
    access: &Access,
    now: chrono::DateTime<chrono::Utc>,
    external_id: &str,
) -> Result<Summary> {
    let member = find(db, access, external_id).await?;
    let effective =
        crate::tags::permissions::compute(db, access.tenant_id, member.member_id, now).await?;
    let grants =
        crate::tags::grants::of_member(db, access.tenant_id, now, member.member_id).await?;
    let (licenses, licenses_held) =
        crate::licenses::seats::held(db, access.tenant_id, now, member.member_id).await?;
    Ok(Summary {
        member,
        effective,
        grants,
        licenses,
        licenses_held,
    })
}

/// Not found unless the member has a profile in the caller's tenant.
pub(crate) async fn ensure_exists(db: &PgPool, access: &Access, member_id: Uuid) -> Result<()> {
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from member_profiles where tenant_id = $1 and member_id = $2) as "exists!""#,
        access.tenant_id,
        member_id
    )
    .fetch_one(db)
    .await?;
    if exists {
        Ok(())
    } else {
        Err(Error::not_found("member"))
    }
}

/// Members of the caller's tenant ordered by external id, keyset-paged, so each page
/// costs the same at a million members. Text search matches the start (one or two
/// characters) or any part (three or more) of the external id, name or email; see
/// [`text_page`] for how it stays fast whether few or most members match.
pub async fn search(db: &PgPool, access: &Access, search: Search) -> Result<Page> {
    access.require(Role::Viewer)?;
    let page_size = search.page_size.clamp(1, PAGE_SIZE_MAX);
    let text = search
        .text
        .map(|t| t.trim().to_lowercase())
        .filter(|t| !t.is_empty());
    if let Some(text) = &text {
        model::input::plain_text("q", text)?;
    }
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > SEARCH_LENGTH_MAX)
    {
        return Err(Error::invalid(
            "q",
            Problem::TooLong {
                max: SEARCH_LENGTH_MAX,
            },
        ));
    }
    // One or two characters: a prefix (btree); from three on: any part (trigram).
    let pattern = text.map(|t| {
        let escaped = t
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        if t.chars().count() >= 3 {
            format!("%{escaped}%")
        } else {
            format!("{escaped}%")
        }
    });
    let level = search.level_code.filter(|l| !l.is_empty());
    if let Some(level) = &level {
        model::input::plain_text("level", level)?;
    }
    for (field, key) in [("after", &search.after), ("before", &search.before)] {
        if let Some(key) = key {
            model::input::plain_text(field, key)?;
        }
    }
    let sort = search.sort.unwrap_or(Sort {
        column: SortColumn::ExternalId,
        descending: false,
    });
    // The previous page is read backwards from `before` and turned around.
    let backwards = search.before.is_some() && search.after.is_none();
    let cursor = match (&search.after, &search.before, backwards) {
        (Some(after), _, false) => Some(Cursor::parse("after", sort.column, after)?),
        (None, Some(before), true) => Some(Cursor::parse("before", sort.column, before)?),
        _ => None,
    };
    let limit = page_size + 1;
    let default_order = sort.column == SortColumn::ExternalId && !sort.descending;
    let mut members = match &pattern {
        // A text search in the default order walks the ids first (see `text_page`).
        Some(pattern) if default_order => {
            text_page(
                db,
                access,
                pattern,
                level.as_deref(),
                search.after.as_deref(),
                search.before.as_deref(),
                limit,
            )
            .await?
        }
        _ => {
            list_page(
                db,
                access.tenant_id,
                pattern.as_deref(),
                level.as_deref(),
                sort,
                backwards,
                cursor,
                limit,
            )
            .await?
        }
    };
    let more = members.len() as i64 > page_size;
    members.truncate(page_size as usize);
    if backwards {
        members.reverse();
    }
    let first = members.first().map(|m| Cursor::of(sort.column, m));
    let last = members.last().map(|m| Cursor::of(sort.column, m));
    // Going forwards, earlier members exist when we started after someone; going
    // backwards, later ones exist (we came from there) and earlier ones if the read
    // found more than a page.
    let (next_after, prev_before) = if backwards {
        (last, if more { first } else { None })
    } else {
        (
            if more { last } else { None },
            search.after.as_ref().and(first),
        )
    };
    let total = match &pattern {
        None => sqlx::query_scalar!(
            r#"select count(*) as "count!" from (
                 select 1 from member_profiles p
                 left join level_tiers t on t.tenant_id = p.tenant_id and t.tier_id = p.level_tier_id
                 where p.tenant_id = $1 and ($2::text is null or t.code = $2)
                 limit $3
               ) counted"#,
            access.tenant_id,
            level,
            COUNT_MAX + 1
        )
        .fetch_one(db)
        .await?,
        // Each member once (a member matching in two columns is counted by the first
        // branch only), so the branches can stream and stop at the limit.
        Some(pattern) => sqlx::query_scalar!(
            r#"select count(*) as "count!" from (
                 select 1 from member_profiles
                 where tenant_id = $1 and lower(external_id) like $2
                   and ($3::text is null or level_tier_id = (select tier_id from level_tiers where tenant_id = $1 and code = $3))
                 union all
                 select 1 from member_profiles
                 where tenant_id = $1 and lower(display_name) like $2 and lower(external_id) not like $2
                   and ($3::text is null or level_tier_id = (select tier_id from level_tiers where tenant_id = $1 and code = $3))
                 union all
                 select 1 from member_profiles
                 where tenant_id = $1 and lower(email) like $2
                   and lower(external_id) not like $2 and lower(display_name) not like $2
                   and ($3::text is null or level_tier_id = (select tier_id from level_tiers where tenant_id = $1 and code = $3))
                 limit $4
               ) counted"#,
            access.tenant_id,
            pattern,
            level,
            COUNT_MAX + 1
        )
        .fetch_one(db)
        .await?,
    };
    Ok(Page {
        members,
        next_after,
        prev_before,
        total,
    })
}

/// Where a keyset page starts: the sort value (as text) and the external id of the
/// member at the edge. In the default order the external id alone, as before; in
/// another, the JSON pair `["<value>","<id>"]`.
#[derive(Debug, Clone, PartialEq)]
struct Cursor {
    key: Option<String>,
    external_id: String,
}

impl Cursor {
    fn of(column: SortColumn, member: &Member) -> String {
        let key = match column {
            SortColumn::ExternalId => return member.external_id.clone(),
            SortColumn::DisplayName => member.display_name.to_lowercase(),
            SortColumn::RegisteredAt => member
                .registered_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            SortColumn::TotalPoints => member.total_points.to_string(),
        };
        serde_json::to_string(&(key, &member.external_id)).unwrap_or_default()
    }

    fn parse(field: &'static str, column: SortColumn, text: &str) -> Result<Cursor> {
        let bad = || Error::invalid(field, Problem::Format);
        model::input::plain_text(field, text)?;
        if column == SortColumn::ExternalId {
            return Ok(Cursor {
                key: None,
                external_id: text.to_owned(),
            });
        }
        let (key, external_id): (String, String) = serde_json::from_str(text).map_err(|_| bad())?;
        let valid = match column {
            SortColumn::ExternalId | SortColumn::DisplayName => true,
            SortColumn::RegisteredAt => chrono::DateTime::parse_from_rfc3339(&key).is_ok(),
            SortColumn::TotalPoints => key.parse::<i64>().is_ok(),
        };
        if !valid {
            return Err(bad());
        }
        Ok(Cursor {
            key: Some(key),
            external_id,
        })
    }
}

/// One page of the member list in `sort` order, `limit` rows from `cursor` (reading
/// backwards for a previous page). The order and the keyset are built from a fixed
/// set of expressions (never from input); every value is a bind parameter. Each order
/// reads its index `(tenant_id, <value>, external_id)` in order; a level filter is a
/// tier id compared row by row on the way (the planner then keeps the ordered scan).
/// A text search walks the next [`SEARCH_WALK_ROWS`] members in the order first (a
/// common text fills the page there), else reads the union of the three trigram
/// matches (external id, name, email) and orders them.
#[expect(
    clippy::too_many_arguments,
    reason = "one call site, the parts of a search"
)]
async fn list_page(
    db: &PgPool,
    tenant_id: Uuid,
    pattern: Option<&str>,
    level: Option<&str>,
    sort: Sort,
    backwards: bool,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<Vec<Member>> {
    let page = |source| {
        page_query(
            tenant_id,
            pattern,
            level,
            sort,
            backwards,
            cursor.clone(),
            limit,
            source,
        )
    };
    if pattern.is_none() {
        let rows = page(Source::All)
            .build_query_as::<MemberRow>()
            .fetch_all(db)
            .await?;
        return Ok(rows.into_iter().map(Member::from).collect());
    }
    let walked = page(Source::Walk)
        .build_query_as::<MemberRow>()
        .fetch_all(db)
        .await?;
    let rows = if walked.len() as i64 >= limit {
        walked
    } else {
        page(Source::Matches)
            .build_query_as::<MemberRow>()
            .fetch_all(db)
            .await?
    };
    Ok(rows.into_iter().map(Member::from).collect())
}

/// Where a member-list page reads its rows from.
#[derive(Clone, Copy, PartialEq)]
enum Source {
    /// Every member of the tenant, in order.
    All,
    /// The next [`SEARCH_WALK_ROWS`] members in order, then filtered by the text.
    Walk,
    /// The members the text matches (three trigram index scans), then ordered.
    Matches,
}

#[expect(clippy::too_many_arguments, reason = "the parts of one statement")]
fn page_query(
    tenant_id: Uuid,
    pattern: Option<&str>,
    level: Option<&str>,
    sort: Sort,
    backwards: bool,
    cursor: Option<Cursor>,
    limit: i64,
    source: Source,
) -> sqlx::QueryBuilder<'static, sqlx::Postgres> {
    let (key, cast) = match sort.column {
        SortColumn::ExternalId => (None, ""),
        SortColumn::DisplayName => (Some("lower(p.display_name)"), "::text"),
        SortColumn::RegisteredAt => (Some("p.registered_at"), "::timestamptz"),
        SortColumn::TotalPoints => (Some("p.total_points"), "::bigint"),
    };
    // Reading backwards flips the direction; the rows are turned around afterwards.
    let descending = sort.descending != backwards;
    let (order, compare) = if descending {
        ("desc", "<")
    } else {
        ("asc", ">")
    };
    let order_by = match key {
        Some(key) => format!(" order by {key} {order}, p.external_id {order}"),
        None => format!(" order by p.external_id {order}"),
    };
    let keyset = |query: &mut sqlx::QueryBuilder<'static, sqlx::Postgres>| {
        if let Some(cursor) = cursor.clone() {
            match (key, cursor.key) {
                (Some(key), Some(value)) => {
                    query.push(format!(" and ({key}, p.external_id) {compare} ("));
                    query.push_bind(value);
                    query.push(format!("{cast}, "));
                    query.push_bind(cursor.external_id);
                    query.push(")");
                }
                _ => {
                    query.push(format!(" and p.external_id {compare} "));
                    query.push_bind(cursor.external_id);
                }
            }
        }
    };
    let mut query = sqlx::QueryBuilder::<sqlx::Postgres>::new("");
    if let (Some(pattern), Source::Matches) = (pattern, source) {
        query.push("with matches as (select member_id from member_profiles where tenant_id = ");
        query.push_bind(tenant_id);
        query.push(" and lower(external_id) like ");
        query.push_bind(pattern.to_owned());
        query.push(" union select member_id from member_profiles where tenant_id = ");
        query.push_bind(tenant_id);
        query.push(" and lower(display_name) like ");
        query.push_bind(pattern.to_owned());
        query.push(" union select member_id from member_profiles where tenant_id = ");
        query.push_bind(tenant_id);
        query.push(" and lower(email) like ");
        query.push_bind(pattern.to_owned());
        query.push(") ");
    }
    query.push(
        "select p.member_id, p.external_id, p.display_name, p.email, p.registered_at, \
         p.last_login_at, p.legacy_user_type, p.total_points, p.available_points, \
         t.code as level_code, t.name_zh as level_name_zh, t.name_en as level_name_en, \
         p.level_updated_at, p.row_version from ",
    );
    match source {
        Source::All => {
            query.push("member_profiles p ");
        }
        Source::Walk => {
            query.push("(select p.* from member_profiles p where p.tenant_id = ");
            query.push_bind(tenant_id);
            keyset(&mut query);
            query.push(&order_by);
            query.push(" limit ");
            query.push_bind(SEARCH_WALK_ROWS);
            query.push(") p ");
        }
        Source::Matches => {
            query.push("matches m join member_profiles p on p.tenant_id = ");
            query.push_bind(tenant_id);
            query.push(" and p.member_id = m.member_id ");
        }
    }
    query.push(
        "left join level_tiers t on t.tenant_id = p.tenant_id and t.tier_id = p.level_tier_id \
         where p.tenant_id = ",
    );
    query.push_bind(tenant_id);
    if let Some(level) = level {
        query.push(" and p.level_tier_id = (select tier_id from level_tiers where tenant_id = ");
        query.push_bind(tenant_id);
        query.push(" and code = ");
        query.push_bind(level.to_owned());
        query.push(")");
    }
    if let (Some(pattern), Source::Walk) = (pattern, source) {
        query.push(" and (lower(p.external_id) like ");
        query.push_bind(pattern.to_owned());
        query.push(" or lower(p.display_name) like ");
        query.push_bind(pattern.to_owned());
        query.push(" or coalesce(lower(p.email) like ");
        query.push_bind(pattern.to_owned());
        query.push(", false))");
    } else {
        keyset(&mut query);
    }
    query.push(&order_by);
    query.push(" limit ");
    query.push_bind(limit);
    query
}

/// A member as the list query returns it.
#[derive(sqlx::FromRow)]
struct MemberRow {
    member_id: Uuid,
    external_id: String,
    display_name: String,
    email: Option<String>,
    registered_at: chrono::DateTime<chrono::Utc>,
    last_login_at: Option<chrono::DateTime<chrono::Utc>>,
    legacy_user_type: Option<i32>,
    total_points: i64,
    available_points: i64,
    level_code: Option<String>,
    level_name_zh: Option<String>,
    level_name_en: Option<String>,
    level_updated_at: Option<chrono::DateTime<chrono::Utc>>,
    row_version: i64,
}

impl From<MemberRow> for Member {
    fn from(row: MemberRow) -> Member {
        Member {
            member_id: row.member_id,
            external_id: row.external_id,
            display_name: row.display_name,
            email: row.email,
            registered_at: row.registered_at,
            last_login_at: row.last_login_at,
            legacy_user_type: row.legacy_user_type,
            total_points: row.total_points,
            available_points: row.available_points,
            level_code: row.level_code,
            level_name_zh: row.level_name_zh,
            level_name_en: row.level_name_en,
            level_updated_at: row.level_updated_at,
            row_version: row.row_version,
        }
    }
}

/// Rows of the tenant read in external-id order by the first attempt of a text search.
/// A text that many members match (a common surname, `example.com`) fills a page within
/// them, where collecting every match first would read tens of thousands of rows; a
/// rarer text falls through to the trigram indexes, which read only the matches.
pub const SEARCH_WALK_ROWS: i64 = 2_000;

/// One page (up to `limit` rows) of a text search after `after` (or before `before`
/// without `after`: backwards, in descending order, which [`search`] turns around):
/// first the next [`SEARCH_WALK_ROWS`] members in order, filtered; if they hold no full
/// page, the union of the three trigram index scans (external id, name, email), each
/// carrying the external id, so only the page's members are read again.
async fn text_page(
    db: &PgPool,
    access: &Access,
    pattern: &str,
    level: Option<&str>,
    after: Option<&str>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<Member>> {
    let backwards = before.is_some() && after.is_none();
    let walked = if backwards {
        sqlx::query_as!(
            Member,
            r#"select p.member_id, p.external_id, p.display_name, p.email, p.registered_at, p.last_login_at,
                      p.legacy_user_type, p.total_points, p.available_points,
                      t.code as "level_code?", t.name_zh as "level_name_zh?", t.name_en as "level_name_en?",
                      p.level_updated_at, p.row_version
               from (select * from member_profiles
                     where tenant_id = $1 and external_id < $2
                     order by external_id desc
                     limit $6) p
               left join level_tiers t on t.tenant_id = p.tenant_id and t.tier_id = p.level_tier_id
               where (lower(p.external_id) like $3 or lower(p.display_name) like $3
                      or coalesce(lower(p.email) like $3, false))
                 and ($4::text is null or t.code = $4)
               order by p.external_id desc
               limit $5"#,
            access.tenant_id,
            before,
            pattern,
            level,
            limit,
            SEARCH_WALK_ROWS
        )
        .fetch_all(db)
        .await?
    } else {
        sqlx::query_as!(
            Member,
            r#"select p.member_id, p.external_id, p.display_name, p.email, p.registered_at, p.last_login_at,
                      p.legacy_user_type, p.total_points, p.available_points,
                      t.code as "level_code?", t.name_zh as "level_name_zh?", t.name_en as "level_name_en?",
                      p.level_updated_at, p.row_version
               from (select * from member_profiles
                     where tenant_id = $1 and ($2::text is null or external_id > $2)
                     order by external_id
                     limit $6) p
               left join level_tiers t on t.tenant_id = p.tenant_id and t.tier_id = p.level_tier_id
               where (lower(p.external_id) like $3 or lower(p.display_name) like $3
                      or coalesce(lower(p.email) like $3, false))
                 and ($4::text is null or t.code = $4)
               order by p.external_id
               limit $5"#,
            access.tenant_id,
            after,
            pattern,
            level,
            limit,
            SEARCH_WALK_ROWS
        )
        .fetch_all(db)
        .await?
    };
    if walked.len() as i64 >= limit {
        return Ok(walked);
    }
    let members = if backwards {
        sqlx::query_as!(
            Member,
            r#"with wanted_level as (
                 select tier_id from level_tiers where tenant_id = $1 and code = $4
               ), matches as (
                 select member_id, external_id from member_profiles
                 where tenant_id = $1 and lower(external_id) like $3 and external_id < $2
                   and ($4::text is null or level_tier_id = (select tier_id from wanted_level))
                 union
                 select member_id, external_id from member_profiles
                 where tenant_id = $1 and lower(display_name) like $3 and external_id < $2
                   and ($4::text is null or level_tier_id = (select tier_id from wanted_level))
                 union
                 select member_id, external_id from member_profiles
                 where tenant_id = $1 and lower(email) like $3 and external_id < $2
                   and ($4::text is null or level_tier_id = (select tier_id from wanted_level))
               ), page as (
                 select member_id from matches order by external_id desc limit $5
               )
               select p.member_id, p.external_id, p.display_name, p.email, p.registered_at, p.last_login_at,
                      p.legacy_user_type, p.total_points, p.available_points,
                      t.code as "level_code?", t.name_zh as "level_name_zh?", t.name_en as "level_name_en?",
                      p.level_updated_at, p.row_version
               from page m
               join member_profiles p on p.tenant_id = $1 and p.member_id = m.member_id
               left join level_tiers t on t.tenant_id = p.tenant_id and t.tier_id = p.level_tier_id
               order by p.external_id desc"#,
            access.tenant_id,
            before,
            pattern,
            level,
            limit
        )
        .fetch_all(db)
        .await?
    } else {
        sqlx::query_as!(
            Member,
            r#"with wanted_level as (
                 select tier_id from level_tiers where tenant_id = $1 and code = $4
               ), matches as (
                 select member_id, external_id from member_profiles
                 where tenant_id = $1 and lower(external_id) like $3 and ($2::text is null or external_id > $2)
                   and ($4::text is null or level_tier_id = (select tier_id from wanted_level))
                 union
                 select member_id, external_id from member_profiles
                 where tenant_id = $1 and lower(display_name) like $3 and ($2::text is null or external_id > $2)
                   and ($4::text is null or level_tier_id = (select tier_id from wanted_level))
                 union
                 select member_id, external_id from member_profiles
                 where tenant_id = $1 and lower(email) like $3 and ($2::text is null or external_id > $2)
                   and ($4::text is null or level_tier_id = (select tier_id from wanted_level))
               ), page as (
                 select member_id from matches order by external_id limit $5
               )
               select p.member_id, p.external_id, p.display_name, p.email, p.registered_at, p.last_login_at,
                      p.legacy_user_type, p.total_points, p.available_points,
                      t.code as "level_code?", t.name_zh as "level_name_zh?", t.name_en as "level_name_en?",
                      p.level_updated_at, p.row_version
               from page m
               join member_profiles p on p.tenant_id = $1 and p.member_id = m.member_id
               left join level_tiers t on t.tenant_id = p.tenant_id and t.tier_id = p.level_tier_id
               order by p.external_id"#,
            access.tenant_id,
            after,
            pattern,
            level,
            limit
        )
        .fetch_all(db)
        .await?
    };
    Ok(members)
}
