//! The points ledger.
//!
//! Every change is **one SQL statement**: lock the member's profile row, compute the
//! new balances and the new level, update the profile, append the entry and (when the
//! level moved) the level change, all or nothing. Concurrent changes of one member
//! serialise on the profile row, so balances never go below zero and no entry is lost;
//! changes of different members never wait for each other. The statement refuses (no
//! row) when the balance would go negative.
//!
//! Idempotency: a request may carry a client key; keys are unique per tenant. A retry
//! with the same key and the same payload returns the original entry and changes
//! nothing; the same key with a different payload is a conflict.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::{Access, Conflict, Error, Problem, Result, Role, access::audit, points::settings};
pub use model::points::ledger::{
    Adjusted, CATEGORY_LENGTH_MAX, Change, Entry, EntryKind, EntryPage, IDEMPOTENCY_KEY_LENGTH_MAX,
    Origin, PAGE_SIZE_MAX, POINTS_PER_ENTRY_MAX, Posted, REASON_LENGTH_MAX,
};
use model::points::ledger::{checked_key, checked_magnitude, required_reason};

/// Everything one ledger statement needs.
#[derive(Debug, Clone)]
pub(crate) struct Posting {
    pub kind: EntryKind,
    pub member_id: Uuid,
    pub available_delta: i64,
    pub total_delta: i64,
    pub category: String,
    pub subcategory: Option<String>,
    pub reason: Option<String>,
    pub source_type: Option<String>,
    pub source_ref: Option<String>,
    pub origin: Origin,
    pub manual: bool,
    pub idempotency_key: Option<String>,
    pub reverses_seq: Option<i64>,
    /// Names the member instead of `member_id` (then nil): the statement finds them.
    pub external_id: Option<String>,
}

impl Posting {
    /// A stable fingerprint of the request (FNV-1a over its fields), stored with the
    /// idempotency key to tell a retry from a different request under the same key.
    pub(crate) fn request_hash(&self) -> String {
        let mut canonical = json!([
            self.kind.as_str(),
            self.member_id,
            self.available_delta,
            self.total_delta,
            self.category,
            self.subcategory,
            self.reason,
            self.source_type,
            self.source_ref,
            self.reverses_seq,
        ]);
        if let (Some(external_id), Some(fields)) = (&self.external_id, canonical.as_array_mut()) {
            fields.push(json!(external_id));
        }
        let canonical = canonical.to_string();
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in canonical.as_bytes() {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        format!("{hash:016x}")
    }
}

pub(crate) fn origin_of(access: &Access) -> Origin {
    match (access.principal.admin_id, access.principal.api_key_id) {
        (Some(admin_id), _) => Origin::Admin(admin_id),
        (None, Some(key_id)) => Origin::Client(key_id.to_string()),
        (None, None) => Origin::System,
    }
}

/// The ledger columns naming who caused an entry: the admin, or the API key.
pub(crate) fn origin_columns(origin: &Origin) -> (Option<Uuid>, Option<String>) {
    match origin {
        Origin::Admin(id) => (Some(*id), None),
        Origin::Client(id) => (None, Some(id.clone())),
        Origin::System => (None, None),
    }
}

/// Adds earned points (raises the lifetime total and the level with it).
pub async fn earn(db: &PgPool, access: &Access, change: Change) -> Result<Posted> {
    access.require(Role::Support)?;
    let posting = posting_of(EntryKind::Earn, access, change)?;
    post(db, access, posting).await
}

/// Spends available points; refused (changing nothing) if the member has fewer.
pub async fn spend(db: &PgPool, access: &Access, change: Change) -> Result<Posted> {
    access.require(Role::Support)?;
    let posting = posting_of(EntryKind::Spend, access, change)?;
    post(db, access, posting).await
}

/// [`earn`] or [`spend`] (`kind`) for the member with the external id `member`, the
/// member found by the ledger statement itself (`change.member_id` is ignored): one
/// round trip, where looking the member up first costs two.
pub async fn post_for(
    db: &PgPool,
    access: &Access,
    kind: EntryKind,
    member: &str,
    change: Change,
) -> Result<Posted> {
    access.require(Role::Support)?;
    let member = member.trim();
    if member.is_empty() || model::input::plain_text("member", member).is_err() {
        return Err(Error::not_found("member"));
    }
    let mut posting = posting_of(kind, access, change)?;
    posting.member_id = Uuid::nil();
    posting.external_id = Some(member.to_owned());
    post(db, access, posting).await
}

/// The checked posting of an earn or a spend.
pub(crate) fn posting_of(kind: EntryKind, access: &Access, change: Change) -> Result<Posting> {
    let points = checked_magnitude(change.points)?;
    match kind {
        EntryKind::Earn => posting(kind, access, change, points, points, false),
        EntryKind::Spend => posting(kind, access, change, -points, 0, false),
        _ => Err(Error::invalid("kind", Problem::Format)),
    }
}

/// A manual correction by support staff, with a mandatory reason. Moves both available
/// and lifetime points. Above the tenant's threshold it waits for a second tenant admin.
///
/// A retry with the same idempotency key returns what the first call did, on either
/// branch: the posted entry, or the one request it filed (whatever its status now).
/// A negative adjustment larger than the member's available points is refused on both
/// branches, so no request waits in the queue that could not be applied when filed.
pub async fn adjust(db: &PgPool, access: &Access, change: Change) -> Result<Adjusted> {
    access.require(Role::Support)?;
    if change.points == 0 {
        return Err(Error::invalid("points", Problem::Required));
    }
    // `unsigned_abs`: `i64::MIN.abs()` overflows (and would wrap past both limits).
    if change.points.unsigned_abs() > POINTS_PER_ENTRY_MAX.unsigned_abs() {
        return Err(Error::invalid(
            "points",
            Problem::TooLarge {
                max: POINTS_PER_ENTRY_MAX,
            },
        ));
    }
    let reason = required_reason(change.reason.as_deref())?;
    let change = Change {
        reason: Some(reason),
        category: non_empty_or(change.category.clone(), "manual"),
        ..change
    };
    let points = change.points;
    let posting = posting(EntryKind::Adjust, access, change, points, points, true)?;
    let hash = posting.request_hash();
    if let Some(key) = &posting.idempotency_key
        && let Some(earlier) = replay_adjustment(db, access, key, &hash).await?
    {
        return Ok(earlier);
    }
    let threshold = settings::get(db, access.tenant_id)
        .await?
        .adjustment_approval_threshold;
    if threshold.is_some_and(|threshold| points.unsigned_abs() > threshold.unsigned_abs()) {
        let request = super::approvals::request(db, access, &posting, &hash).await?;
        return Ok(Adjusted::PendingApproval(request));
    }
    Ok(Adjusted::Posted(
        post_audited(db, access, posting, "points.adjust").await?,
    ))
}

/// What an earlier adjustment under `key` did: its entry, or the request it filed.
async fn replay_adjustment(
    db: &PgPool,
    access: &Access,
    key: &str,
    hash: &str,
) -> Result<Option<Adjusted>> {
    let mut conn = db.acquire().await?;
    if let Some(stored) = stored(&mut conn, access.tenant_id, key).await? {
        drop(conn);
        if !stored.same_request(hash) {
            return Err(Error::Conflict(Conflict::IdempotencyKeyReused));
        }
        let posted = stored.replayed();
        settle_level(db, access, &posted).await?;
        return Ok(Some(Adjusted::Posted(posted)));
    }
    drop(conn);
    super::approvals::by_key(db, access, key, hash)
        .await
        .map(|request| request.map(Adjusted::PendingApproval))
}

/// Reverses one entry with a new entry of the opposite effect (once per entry). A retry
/// with the same idempotency key returns the original reversal; any other second
/// reversal of the entry is `AlreadyReversed`, however the two race.
pub async fn reverse(
    db: &PgPool,
    access: &Access,
    member_id: Uuid,
    seq: i64,
    reason: &str,
    idempotency_key: Option<String>,
) -> Result<Posted> {
    access.require(Role::Support)?;
    let reason = required_reason(Some(reason))?;
    let original = entry(db, access, member_id, seq).await?;
    if original.kind == EntryKind::Reversal {
        return Err(Error::Conflict(Conflict::AlreadyReversed));
    }
    let posting = Posting {
        kind: EntryKind::Reversal,
        member_id,
        available_delta: -original.points,
        total_delta: -(original.total_after - original.total_before),
        category: original.category.clone(),
        subcategory: original.subcategory.clone(),
        reason: Some(reason),
        source_type: Some("ledger_entry".into()),
        source_ref: Some(seq.to_string()),
        origin: origin_of(access),
        manual: true,
        idempotency_key: checked_key(idempotency_key)?,
        reverses_seq: Some(seq),
        external_id: None,
    };
    // An existing reversal is found by the statement (unique constraint, or a balance
    // the first reversal already used up) and explained by `resolve`, after the
    // idempotency key: so a retry gets its original entry, never `AlreadyReversed`.
    post_audited(db, access, posting, "points.reverse").await
}

fn non_empty_or(value: String, default: &str) -> String {
    if value.trim().is_empty() {
        default.to_owned()
    } else {
        value.trim().to_owned()
    }
}

fn posting(
    kind: EntryKind,
    access: &Access,
    change: Change,
    available_delta: i64,
    total_delta: i64,
    manual: bool,
) -> Result<Posting> {
    let category = non_empty_or(change.category, kind.as_str());
    for (field, text) in [
        ("category", Some(&category)),
        ("subcategory", change.subcategory.as_ref()),
        ("reason", change.reason.as_ref()),
        ("source_type", change.source_type.as_ref()),
        ("source_ref", change.source_ref.as_ref()),
    ] {
        model::input::plain_text(field, text.map_or("", String::as_str))?;
    }
    if category.chars().count() > CATEGORY_LENGTH_MAX {
        return Err(Error::invalid(
            "category",
            Problem::TooLong {
                max: CATEGORY_LENGTH_MAX,
            },
        ));
    }
    let reason = change
        .reason
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > REASON_LENGTH_MAX)
    {
        return Err(Error::invalid(
            "reason",
            Problem::TooLong {
                max: REASON_LENGTH_MAX,
            },
        ));
    }
    Ok(Posting {
        kind,
        member_id: change.member_id,
        available_delta,
        total_delta,
        category,
        subcategory: change.subcategory.filter(|s| !s.trim().is_empty()),
        reason,
        source_type: change.source_type,
        source_ref: change.source_ref,
        origin: origin_of(access),
        manual,
        idempotency_key: checked_key(change.idempotency_key)?,
        reverses_seq: None,
        external_id: None,
    })
}

/// Posts on one connection in autocommit: the single statement is the transaction.
pub(crate) async fn post_posting(db: &PgPool, access: &Access, posting: Posting) -> Result<Posted> {
    post(db, access, posting).await
}

async fn post(db: &PgPool, access: &Access, posting: Posting) -> Result<Posted> {
    let hash = posting.request_hash();
    let mut conn = db.acquire().await?;
    let posted = match apply(&mut conn, access.tenant_id, &posting, &hash).await {
        Ok(Some(posted)) => posted,
        Ok(None) => resolve(&mut conn, access.tenant_id, &posting, &hash, None).await?,
        Err(error) => resolve(&mut conn, access.tenant_id, &posting, &hash, Some(error)).await?,
    };
    drop(conn);
    settle_level(db, access, &posted).await?;
    Ok(posted)
}

/// Posts a manual change together with its audit row, in one transaction.
async fn post_audited(
    db: &PgPool,
    access: &Access,
    posting: Posting,
    action: &'static str,
) -> Result<Posted> {
    let hash = posting.request_hash();
    let mut tx = db.begin().await?;
    let outcome = apply(&mut tx, access.tenant_id, &posting, &hash).await;
    let posted = match outcome {
        Ok(Some(posted)) => posted,
        Ok(None) | Err(_) => {
            tx.rollback().await?;
            let mut conn = db.acquire().await?;
            let replayed =
                resolve(&mut conn, access.tenant_id, &posting, &hash, outcome.err()).await?;
            drop(conn);
            settle_level(db, access, &replayed).await?;
            return Ok(replayed);
        }
    };
    let event = audit::Event {
        action,
        target_type: "member",
        target_id: posting.member_id.to_string(),
        before: Some(
            json!({ "available": posted.entry.available_before, "total": posted.entry.total_before }),
        ),
        after: Some(json!({
            "seq": posted.entry.seq,
            "points": posted.entry.points,
            "available": posted.entry.available_after,
            "total": posted.entry.total_after,
            "reason": posted.entry.reason,
            "reverses_seq": posted.entry.reverses_seq,
        })),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    settle_level(db, access, &posted).await?;
    Ok(posted)
}

/// A level change alters permissions: wait until every permission cache applied it.
/// A replay waits too: the original call may have been abandoned before it settled.
async fn settle_level(db: &PgPool, access: &Access, posted: &Posted) -> Result<()> {
    if posted.level_change.is_some() {
        crate::tags::permissions::settle(db, access.tenant_id).await?;
    }
    Ok(())
}

/// Explains a statement that wrote nothing (`error` is `None`) or failed: a retry of a
/// request that already succeeded returns its original entry; the same key with another
/// payload, or a second reversal, is a conflict; otherwise an unknown member or too few
/// points. The key is looked at first on every branch, so a retry never gets a
/// different answer than the original call.
async fn resolve(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    posting: &Posting,
    hash: &str,
    error: Option<Error>,
) -> Result<Posted> {
    let constraint = match &error {
        Some(Error::Database(sqlx::Error::Database(db_error))) => {
            db_error.constraint().map(str::to_owned)
        }
        _ => None,
    };
    match (constraint.as_deref(), error) {
        (Some("points_ledger_idempotency_key" | "points_ledger_reversal_once"), _) | (_, None) => {}
        (_, Some(error)) => return Err(error),
    }
    if let Some(key) = &posting.idempotency_key
        && let Some(stored) = stored(conn, tenant_id, key).await?
    {
        return if stored.same_request(hash) {
            Ok(stored.replayed())
        } else {
            Err(Error::Conflict(Conflict::IdempotencyKeyReused))
        };
    }
    let member_id = match &posting.external_id {
        Some(external_id) if posting.member_id.is_nil() => sqlx::query_scalar!(
            "select member_id from member_profiles where tenant_id = $1 and external_id = $2",
            tenant_id,
            external_id
        )
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| Error::not_found("member"))?,
        _ => posting.member_id,
    };
    if let Some(reversed_seq) = posting.reverses_seq {
        let reversed = sqlx::query_scalar!(
            r#"select exists (select 1 from points_ledger
                              where tenant_id = $1 and member_id = $2 and reverses_seq = $3) as "reversed!""#,
            tenant_id,
            member_id,
            reversed_seq
        )
        .fetch_one(&mut *conn)
        .await?;
        if reversed {
            return Err(Error::Conflict(Conflict::AlreadyReversed));
        }
    }
    let available = sqlx::query_scalar!(
        "select available_points from member_profiles where tenant_id = $1 and member_id = $2",
        tenant_id,
        member_id
    )
    .fetch_optional(conn)
    .await?;
    match available {
        Some(available) => Err(Error::InsufficientPoints {
            available,
            requested: posting.available_delta.saturating_neg(),
        }),
        None => Err(Error::not_found("member")),
    }
}

/// The ledger statement. `None` when the member does not exist in the tenant or the
/// change would make a balance negative (nothing was written).
pub(crate) async fn apply(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    posting: &Posting,
    request_hash: &str,
) -> Result<Option<Posted>> {
    let (operator, client) = origin_columns(&posting.origin);
    let row = sqlx::query!(
        r#"with old as (
             select p.member_id, p.level_tier_id as old_tier,
                    p.available_points + $3 as new_available,
                    p.total_points + $4 as new_total,
                    p.ledger_seq + 1 as new_seq,
                    (select t.tier_id from level_tiers t
                     where t.tenant_id = $1 and t.active and t.min_points <= p.total_points + $4
                       and (t.max_points is null or p.total_points + $4 <= t.max_points)
                     order by t.sort_order limit 1) as new_tier
             from member_profiles p
             where p.tenant_id = $1
               and p.member_id = coalesce($2, (select m.member_id from member_profiles m
                                               where m.tenant_id = $1 and m.external_id = $17))
             for no key update of p
           ), changed as (
             update member_profiles p
             set available_points = old.new_available, total_points = old.new_total,
                 ledger_seq = old.new_seq, level_tier_id = old.new_tier,
                 level_updated_at = case when old.new_tier is distinct from old.old_tier
                                         then now() else p.level_updated_at end,
                 row_version = p.row_version + 1, updated_at = now()
             from old
             where p.tenant_id = $1 and p.member_id = old.member_id
               and old.new_available >= 0 and old.new_total >= 0
             returning old.member_id, old.old_tier, old.new_tier, old.new_seq, old.new_available, old.new_total
           ), entry as (
             insert into points_ledger
               (tenant_id, member_id, seq, kind, category, subcategory, points,
                available_before, available_after, total_before, total_after,
                reason, source_type, source_ref, operator_admin_id, client_id, manual,
                idempotency_key, request_hash, reverses_seq)
             select $1, member_id, new_seq, $5, $6, $7, $3,
                    new_available - $3, new_available, new_total - $4, new_total,
                    $8, $9, $10, $11, $12, $13, $14, $15, $16
             from changed
             returning created_at
           ), level_change as (
             insert into level_changes (tenant_id, member_id, from_tier_id, to_tier_id, cause, ledger_seq, total_points)
             select $1, member_id, old_tier, new_tier, 'points', new_seq, new_total
             from changed where new_tier is distinct from old_tier
           )
           select c.member_id as "member_id!", c.new_seq as "seq!", c.new_available as "available_after!", c.new_total as "total_after!",
                  c.old_tier, c.new_tier, e.created_at as "created_at!"
           from changed c cross join entry e"#,
        tenant_id,
        (!posting.member_id.is_nil()).then_some(posting.member_id),
        posting.available_delta,
        posting.total_delta,
        posting.kind.as_str(),
        posting.category,
        posting.subcategory,
        posting.reason,
        posting.source_type,
        posting.source_ref,
        operator,
        client,
        posting.manual,
        posting.idempotency_key,
        request_hash,
        posting.reverses_seq,
        posting.external_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|row| Posted {
        entry: Entry {
            member_id: row.member_id,
            seq: row.seq,
            kind: posting.kind,
            category: posting.category.clone(),
            subcategory: posting.subcategory.clone(),
            points: posting.available_delta,
            available_before: row.available_after - posting.available_delta,
            available_after: row.available_after,
            total_before: row.total_after - posting.total_delta,
            total_after: row.total_after,
            reason: posting.reason.clone(),
            source_type: posting.source_type.clone(),
            source_ref: posting.source_ref.clone(),
            operator_admin_id: operator,
            client_id: client,
            manual: posting.manual,
            idempotency_key: posting.idempotency_key.clone(),
            reverses_seq: posting.reverses_seq,
            created_at: row.created_at,
            operator_email: None,
            reversed: false,
        },
        replayed: false,
        level_change: (row.old_tier != row.new_tier).then_some((row.old_tier, row.new_tier)),
    }))
}

/// An entry found under an idempotency key.
pub(crate) struct Stored {
    entry: Entry,
    /// The hash of the request that made it.
    request_hash: Option<String>,
    /// The level move the original caused, if any.
    level_change: Option<(Option<Uuid>, Option<Uuid>)>,
}

impl Stored {
    /// Made by the same request (same payload hash)?
    pub(crate) fn same_request(&self, hash: &str) -> bool {
        self.request_hash.as_deref() == Some(hash)
    }

    /// The answer to a retry.
    pub(crate) fn replayed(&self) -> Posted {
        Posted {
            entry: self.entry.clone(),
            replayed: true,
            level_change: self.level_change,
        }
    }
}

/// The entry stored under an idempotency key, if the key is taken.
pub(crate) async fn stored(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    key: &str,
) -> Result<Option<Stored>> {
    let row = sqlx::query_as!(
        EntryRow,
        r#"select member_id, seq, kind, category, subcategory, points, available_before, available_after,
                  total_before, total_after, reason, source_type, source_ref, operator_admin_id, client_id,
                  manual, idempotency_key, reverses_seq, created_at, request_hash,
                  null::text as operator_email, false as "reversed!"
           from points_ledger where tenant_id = $1 and idempotency_key = $2"#,
        tenant_id,
        key
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let request_hash = row.request_hash.clone();
    let level_change = sqlx::query!(
        "select from_tier_id, to_tier_id from level_changes
         where tenant_id = $1 and member_id = $2 and ledger_seq = $3 and cause = 'points'",
        tenant_id,
        row.member_id,
        row.seq
    )
    .fetch_optional(&mut *conn)
    .await?
    .map(|change| (change.from_tier_id, change.to_tier_id));
    let entry = Entry::try_from(row)?;
    Ok(Some(Stored {
        entry,
        request_hash,
        level_change,
    }))
}

/// One entry of a member.
pub async fn entry(db: &PgPool, access: &Access, member_id: Uuid, seq: i64) -> Result<Entry> {
    access.require(Role::Viewer)?;
    let page = entries(db, access, member_id, Some(seq.saturating_add(1)), 1).await?;
    page.entries
        .into_iter()
        .find(|e| e.seq == seq)
        .ok_or(Error::not_found("ledger entry"))
}

/// A member's entries, newest first, keyset-paged by `seq`.
pub async fn entries(
    db: &PgPool,
    access: &Access,
    member_id: Uuid,
    before_seq: Option<i64>,
    page_size: i64,
) -> Result<EntryPage> {
    access.require(Role::Viewer)?;
    crate::members::ensure_exists(db, access, member_id).await?;
    let page_size = page_size.clamp(1, PAGE_SIZE_MAX);
    let rows = sqlx::query_as!(
        EntryRow,
        r#"select l.member_id, l.seq, l.kind, l.category, l.subcategory, l.points, l.available_before,
                  l.available_after, l.total_before, l.total_after, l.reason, l.source_type, l.source_ref,
                  l.operator_admin_id, l.client_id, l.manual, l.idempotency_key, l.reverses_seq, l.created_at,
                  l.request_hash,
                  a.email as "operator_email?",
                  exists (select 1 from points_ledger r
                          where r.tenant_id = l.tenant_id and r.member_id = l.member_id
                            and r.reverses_seq = l.seq) as "reversed!"
           from points_ledger l
           left join admins a on a.admin_id = l.operator_admin_id
           where l.tenant_id = $1 and l.member_id = $2 and ($3::bigint is null or l.seq < $3)
           order by l.seq desc
           limit $4"#,
        access.tenant_id,
        member_id,
        before_seq,
        page_size + 1
    )
    .fetch_all(db)
    .await?;
    let mut entries = rows
        .into_iter()
        .map(Entry::try_from)
        .collect::<Result<Vec<_>>>()?;
    let next_before = if entries.len() as i64 > page_size {
        entries.truncate(page_size as usize);
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(EntryPage {
        entries,
        next_before,
    })
}

/// A ledger row as selected (every column of an entry, plus the listing extras).
struct EntryRow {
    member_id: Uuid,
    seq: i64,
    kind: String,
    category: String,
    subcategory: Option<String>,
    points: i64,
    available_before: i64,
    available_after: i64,
    total_before: i64,
    total_after: i64,
    reason: Option<String>,
    source_type: Option<String>,
    source_ref: Option<String>,
    operator_admin_id: Option<Uuid>,
    client_id: Option<String>,
    manual: bool,
    idempotency_key: Option<String>,
    reverses_seq: Option<i64>,
    created_at: DateTime<Utc>,
    request_hash: Option<String>,
    operator_email: Option<String>,
    reversed: bool,
}

impl TryFrom<EntryRow> for Entry {
    type Error = Error;

    fn try_from(row: EntryRow) -> Result<Self> {
        Ok(Entry {
            member_id: row.member_id,
            seq: row.seq,
            kind: EntryKind::parse(&row.kind)?,
            category: row.category,
            subcategory: row.subcategory,
            points: row.points,
            available_before: row.available_before,
            available_after: row.available_after,
            total_before: row.total_before,
            total_after: row.total_after,
            reason: row.reason,
            source_type: row.source_type,
            source_ref: row.source_ref,
            operator_admin_id: row.operator_admin_id,
            client_id: row.client_id,
            manual: row.manual,
            idempotency_key: row.idempotency_key,
            reverses_seq: row.reverses_seq,
            created_at: row.created_at,
            operator_email: row.operator_email,
            reversed: row.reversed,
        })
    }
}
