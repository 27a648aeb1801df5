//! A batch of points changes (the REST API's `/points/batch`, up to
//! [`BATCH_CHANGES_MAX`]), posted **set-based**: each run of earns and spends is one
//! transaction of a fixed number of statements however many changes it holds, where
//! the single-change path costs a statement (a round trip) per change.
//!
//! A run locks its members' profile rows in member order (lock order step 3, as
//! ARCHITECTURE writes it), reads which of its idempotency keys are taken and the
//! tenant's active tiers, then walks the changes in request order in memory: balances,
//! sequence numbers and levels move exactly as the single-change statement would move
//! them one after the other. Every entry, profile update and level change of the run is
//! then written by one statement. A change the walk refuses (too few points, an unknown
//! member, a bad field) is reported on its own and the others go on.
//!
//! Adjustments go one by one through [`super::ledger::adjust`] at their place in the
//! order: they may wait for a second tenant admin and each has its audit row.
//!
//! Retries: a change whose idempotency key is taken answers the stored entry (or a
//! conflict for another payload), as the single path does. If another writer takes
//! one of the run's keys between the read and the write, the unique constraint refuses
//! the whole statement and the run is posted change by change instead, which sorts out
//! every replay and conflict.

use std::collections::HashMap;

use sqlx::PgPool;
use uuid::Uuid;

use super::ledger::{self, Posting, Stored};
use crate::{Access, Conflict, Error, Result, Role};
pub use model::points::ledger::{Adjusted, Change, Entry, EntryKind, Posted};

/// The most changes one batch takes.
pub const BATCH_CHANGES_MAX: usize = 1000;

/// One change of a batch: earn, spend or adjust (`kind`) for the member with the
/// external id `member` (`change.member_id` is ignored).
#[derive(Debug, Clone)]
pub struct BatchItem {
    pub kind: EntryKind,
    pub member: String,
    pub change: Change,
}

/// Posts the changes in order; the outcome of each, in the same order. Fails as a whole
/// only for the caller's role, a batch over the limit, or a database fault.
pub async fn post_batch(
    db: &PgPool,
    access: &Access,
    items: Vec<BatchItem>,
) -> Result<Vec<Result<Adjusted>>> {
    access.require(Role::Support)?;
    if items.len() > BATCH_CHANGES_MAX {
        return Err(Error::invalid(
            "changes",
            crate::Problem::TooLarge {
                max: BATCH_CHANGES_MAX as i64,
            },
        ));
    }
    let members = member_ids(db, access, &items).await?;
    let mut outcomes: Vec<Option<Result<Adjusted>>> = (0..items.len()).map(|_| None).collect();
    let mut run: Vec<(usize, Posting)> = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let member_id = members.get(item.member.trim()).copied();
        if item.kind == EntryKind::Adjust {
            post_run(db, access, std::mem::take(&mut run), &mut outcomes).await?;
            outcomes[index] = Some(match member_id {
                Some(member_id) => {
                    ledger::adjust(
                        db,
                        access,
                        Change {
                            member_id,
                            ..item.change
                        },
                    )
                    .await
                }
                None => Err(Error::not_found("member")),
            });
            continue;
        }
        let Some(member_id) = member_id else {
            outcomes[index] = Some(Err(Error::not_found("member")));
            continue;
        };
        let change = Change {
            member_id,
            ..item.change
        };
        match ledger::posting_of(item.kind, access, change) {
            Ok(posting) => run.push((index, posting)),
            Err(error) => outcomes[index] = Some(Err(error)),
        }
    }
    post_run(db, access, run, &mut outcomes).await?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or_else(|| Err(Error::Internal("a batch change was lost".into()))))
        .collect())
}

/// The member ids of the batch's external ids, in one query. Ids no input can store
/// name no member.
async fn member_ids(
    db: &PgPool,
    access: &Access,
    items: &[BatchItem],
) -> Result<HashMap<String, Uuid>> {
    let mut wanted: Vec<String> = items
        .iter()
        .map(|i| i.member.trim().to_owned())
        .filter(|m| !m.is_empty() && model::input::plain_text("member", m).is_ok())
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    let rows = sqlx::query!(
        "select external_id, member_id from member_profiles
         where tenant_id = $1 and external_id = any($2)",
        access.tenant_id,
        &wanted
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.external_id, r.member_id))
        .collect())
}

/// A member's balances as the walk moves them.
struct Balance {
    available: i64,
    total: i64,
    seq: i64,
    tier: Option<Uuid>,
    tier_moved: bool,
    /// Some change of the run was posted for the member.
    touched: bool,
}

/// One active tier, in the tenant's order.
struct Tier {
    tier_id: Uuid,
    min_points: i64,
    max_points: Option<i64>,
}

/// The level of `total` points: the first active tier (in order) whose range holds it,
/// as the ledger statement chooses it.
fn tier_of(tiers: &[Tier], total: i64) -> Option<Uuid> {
    tiers
        .iter()
        .find(|t| t.min_points <= total && t.max_points.is_none_or(|max| total <= max))
        .map(|t| t.tier_id)
}

/// Posts one run of earns and spends set-based (see the module's comment).
async fn post_run(
    db: &PgPool,
    access: &Access,
    run: Vec<(usize, Posting)>,
    outcomes: &mut [Option<Result<Adjusted>>],
) -> Result<()> {
    if run.is_empty() {
        return Ok(());
    }
    let tenant_id = access.tenant_id;
    let hashes: Vec<String> = run.iter().map(|(_, p)| p.request_hash()).collect();
    let mut member_list: Vec<Uuid> = run.iter().map(|(_, p)| p.member_id).collect();
    member_list.sort_unstable();
    member_list.dedup();
    let keys: Vec<String> = run
        .iter()
        .filter_map(|(_, p)| p.idempotency_key.clone())
        .collect();

    let mut tx = db.begin().await?;
    // Lock order step 3: the profiles, in member order.
    let profiles = sqlx::query!(
        "select member_id, available_points, total_points, ledger_seq, level_tier_id
         from member_profiles where tenant_id = $1 and member_id = any($2)
         order by member_id for no key update",
        tenant_id,
        &member_list
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut balances: HashMap<Uuid, Balance> = profiles
        .into_iter()
        .map(|p| {
            (
                p.member_id,
                Balance {
                    available: p.available_points,
                    total: p.total_points,
                    seq: p.ledger_seq,
                    tier: p.level_tier_id,
                    tier_moved: false,
                    touched: false,
                },
            )
        })
        .collect();
    let mut taken: HashMap<String, Stored> = HashMap::new();
    if !keys.is_empty() {
        let stored = sqlx::query_scalar!(
            "select idempotency_key as \"key!\" from points_ledger
             where tenant_id = $1 and idempotency_key = any($2)",
            tenant_id,
            &keys
        )
        .fetch_all(&mut *tx)
        .await?;
        for key in stored {
            if let Some(entry) = ledger::stored(&mut tx, tenant_id, &key).await? {
                taken.insert(key, entry);
            }
        }
    }
    let tiers: Vec<Tier> = sqlx::query_as!(
        Tier,
        "select tier_id, min_points, max_points from level_tiers
         where tenant_id = $1 and active order by sort_order",
        tenant_id
    )
    .fetch_all(&mut *tx)
    .await?;

    let (operator, client) = ledger::origin_columns(&ledger::origin_of(access));
    let mut rows = Rows::default();
    let mut in_batch: HashMap<String, (String, usize)> = HashMap::new();
    let mut written: Vec<usize> = Vec::new();
    for ((index, posting), hash) in run.iter().zip(&hashes) {
        let index = *index;
        if let Some(key) = &posting.idempotency_key {
            if let Some(stored) = taken.get(key) {
                outcomes[index] = Some(if stored.same_request(hash) {
                    Ok(Adjusted::Posted(stored.replayed()))
                } else {
                    Err(Error::Conflict(Conflict::IdempotencyKeyReused))
                });
                continue;
            }
            if let Some((first_hash, first)) = in_batch.get(key) {
                // The same key twice in one batch: the second is a retry of the first.
                outcomes[index] = Some(if first_hash == hash {
                    match &outcomes[*first] {
                        Some(Ok(Adjusted::Posted(posted))) => Ok(Adjusted::Posted(Posted {
                            replayed: true,
                            ..posted.clone()
                        })),
                        _ => Err(Error::Conflict(Conflict::IdempotencyKeyReused)),
                    }
                } else {
                    Err(Error::Conflict(Conflict::IdempotencyKeyReused))
                });
                continue;
            }
        }
        let Some(balance) = balances.get_mut(&posting.member_id) else {
            outcomes[index] = Some(Err(Error::not_found("member")));
            continue;
        };
        let available = balance.available + posting.available_delta;
        let total = balance.total + posting.total_delta;
        if available < 0 || total < 0 {
            outcomes[index] = Some(Err(Error::InsufficientPoints {
                available: balance.available,
                requested: posting.available_delta.saturating_neg(),
            }));
            continue;
        }
        let seq = balance.seq + 1;
        let tier = tier_of(&tiers, total);
        let level_change = (tier != balance.tier).then_some((balance.tier, tier));
        if let Some((from, to)) = level_change {
            rows.level(posting.member_id, from, to, seq, total);
            balance.tier_moved = true;
        }
        let entry = Entry {
            member_id: posting.member_id,
            seq,
            kind: posting.kind,
            category: posting.category.clone(),
            subcategory: posting.subcategory.clone(),
            points: posting.available_delta,
            available_before: balance.available,
            available_after: available,
            total_before: balance.total,
            total_after: total,
            reason: posting.reason.clone(),
            source_type: posting.source_type.clone(),
            source_ref: posting.source_ref.clone(),
            operator_admin_id: operator,
            client_id: client.clone(),
            manual: posting.manual,
            idempotency_key: posting.idempotency_key.clone(),
            reverses_seq: None,
            created_at: chrono::DateTime::UNIX_EPOCH,
            operator_email: None,
            reversed: false,
        };
        rows.entry(&entry, hash);
        balance.available = available;
        balance.total = total;
        balance.seq = seq;
        balance.tier = tier;
        balance.touched = true;
        if let Some(key) = &posting.idempotency_key {
            in_batch.insert(key.clone(), (hash.clone(), index));
        }
        outcomes[index] = Some(Ok(Adjusted::Posted(Posted {
            entry,
            replayed: false,
            level_change,
        })));
        written.push(index);
    }
    if written.is_empty() {
        tx.commit().await?;
        return Ok(());
    }
    let changed: Vec<(&Uuid, &Balance)> = balances.iter().filter(|(_, b)| b.touched).collect();
    let outcome = write(&mut tx, tenant_id, &rows, &changed).await;
    let created_at = match outcome {
        Ok(created_at) => {
            tx.commit().await?;
            created_at
        }
        Err(Error::Database(sqlx::Error::Database(e)))
            if e.constraint() == Some("points_ledger_idempotency_key") =>
        {
            // Another writer took one of the keys since we read them: change by change.
            tx.rollback().await?;
            for (index, posting) in run {
                outcomes[index] = Some(
                    ledger::post_posting(db, access, posting)
                        .await
                        .map(Adjusted::Posted),
                );
            }
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    let mut moved = false;
    for index in written {
        if let Some(Ok(Adjusted::Posted(posted))) = &mut outcomes[index] {
            posted.entry.created_at = created_at;
            moved |= posted.level_change.is_some();
        }
    }
    // In-batch replays carry the first's entry, now with its time.
    for outcome in outcomes.iter_mut().flatten() {
        if let Ok(Adjusted::Posted(posted)) = outcome
            && posted.replayed
            && posted.entry.created_at == chrono::DateTime::UNIX_EPOCH
        {
            posted.entry.created_at = created_at;
        }
    }
    if moved {
        crate::tags::permissions::settle(db, tenant_id).await?;
    }
    Ok(())
}

/// The run's rows, as the column arrays of one statement.
#[derive(Default)]
struct Rows {
    member_id: Vec<Uuid>,
    seq: Vec<i64>,
    kind: Vec<String>,
    category: Vec<String>,
    subcategory: Vec<Option<String>>,
    points: Vec<i64>,
    available_before: Vec<i64>,
    total_before: Vec<i64>,
    total_after: Vec<i64>,
    reason: Vec<Option<String>>,
    source_type: Vec<Option<String>>,
    source_ref: Vec<Option<String>>,
    manual: Vec<bool>,
    idempotency_key: Vec<Option<String>>,
    request_hash: Vec<String>,
    operator: Option<Uuid>,
    client: Option<String>,
    level_member: Vec<Uuid>,
    level_from: Vec<Option<Uuid>>,
    level_to: Vec<Option<Uuid>>,
    level_seq: Vec<i64>,
    level_total: Vec<i64>,
}

impl Rows {
    fn entry(&mut self, entry: &Entry, hash: &str) {
        self.member_id.push(entry.member_id);
        self.seq.push(entry.seq);
        self.kind.push(entry.kind.as_str().to_owned());
        self.category.push(entry.category.clone());
        self.subcategory.push(entry.subcategory.clone());
        self.points.push(entry.points);
        self.available_before.push(entry.available_before);
        self.total_before.push(entry.total_before);
        self.total_after.push(entry.total_after);
        self.reason.push(entry.reason.clone());
        self.source_type.push(entry.source_type.clone());
        self.source_ref.push(entry.source_ref.clone());
        self.manual.push(entry.manual);
        self.idempotency_key.push(entry.idempotency_key.clone());
        self.request_hash.push(hash.to_owned());
        self.operator = entry.operator_admin_id;
        self.client.clone_from(&entry.client_id);
    }

    fn level(
        &mut self,
        member_id: Uuid,
        from: Option<Uuid>,
        to: Option<Uuid>,
        seq: i64,
        total: i64,
    ) {
        self.level_member.push(member_id);
        self.level_from.push(from);
        self.level_to.push(to);
        self.level_seq.push(seq);
        self.level_total.push(total);
    }
}

/// Writes the run in one statement: the entries, the profiles' new balances and
/// levels, the level changes. Answers the entries' `created_at`.
async fn write(
    tx: &mut sqlx::PgConnection,
    tenant_id: Uuid,
    rows: &Rows,
    changed: &[(&Uuid, &Balance)],
) -> Result<chrono::DateTime<chrono::Utc>> {
    let members: Vec<Uuid> = changed.iter().map(|(m, _)| **m).collect();
    let available: Vec<i64> = changed.iter().map(|(_, b)| b.available).collect();
    let total: Vec<i64> = changed.iter().map(|(_, b)| b.total).collect();
    let seq: Vec<i64> = changed.iter().map(|(_, b)| b.seq).collect();
    let tier: Vec<Option<Uuid>> = changed.iter().map(|(_, b)| b.tier).collect();
    let moved: Vec<bool> = changed.iter().map(|(_, b)| b.tier_moved).collect();
    let row = sqlx::query!(
        r#"with entries as (
             insert into points_ledger
               (tenant_id, member_id, seq, kind, category, subcategory, points,
                available_before, available_after, total_before, total_after,
                reason, source_type, source_ref, operator_admin_id, client_id, manual,
                idempotency_key, request_hash)
             select $1, e.member_id, e.seq, e.kind, e.category, e.subcategory, e.points,
                    e.available_before, e.available_before + e.points, e.total_before, e.total_after,
                    e.reason, e.source_type, e.source_ref, $2, $3, e.manual,
                    e.idempotency_key, e.request_hash
             from unnest($4::uuid[], $5::int8[], $6::text[], $7::text[], $8::text[], $9::int8[],
                         $10::int8[], $11::int8[], $12::int8[], $13::text[], $14::text[], $15::text[],
                         $16::bool[], $17::text[], $18::text[])
                  e (member_id, seq, kind, category, subcategory, points, available_before,
                     total_before, total_after, reason, source_type, source_ref, manual,
                     idempotency_key, request_hash)
             returning created_at
           ), profiles as (
             update member_profiles p
             set available_points = u.available, total_points = u.total, ledger_seq = u.seq,
                 level_tier_id = u.tier,
                 level_updated_at = case when u.moved then now() else p.level_updated_at end,
                 row_version = p.row_version + 1, updated_at = now()
             from unnest($19::uuid[], $20::int8[], $21::int8[], $22::int8[], $23::uuid[], $24::bool[])
                  u (member_id, available, total, seq, tier, moved)
             where p.tenant_id = $1 and p.member_id = u.member_id
             returning p.member_id
           ), levels as (
             insert into level_changes (tenant_id, member_id, from_tier_id, to_tier_id, cause, ledger_seq, total_points)
             select $1, l.member_id, l.from_tier, l.to_tier, 'points', l.seq, l.total
             from unnest($25::uuid[], $26::uuid[], $27::uuid[], $28::int8[], $29::int8[])
                  l (member_id, from_tier, to_tier, seq, total)
             returning member_id
           )
           select (select max(created_at) from entries) as "created_at!",
                  (select count(*) from profiles) as "profiles!",
                  (select count(*) from levels) as "levels!""#,
        tenant_id,
        rows.operator,
        rows.client,
        &rows.member_id,
        &rows.seq,
        &rows.kind,
        &rows.category,
        &rows.subcategory as &[Option<String>],
        &rows.points,
        &rows.available_before,
        &rows.total_before,
        &rows.total_after,
        &rows.reason as &[Option<String>],
        &rows.source_type as &[Option<String>],
        &rows.source_ref as &[Option<String>],
        &rows.manual,
        &rows.idempotency_key as &[Option<String>],
        &rows.request_hash,
        &members,
        &available,
        &total,
        &seq,
        &tier as &[Option<Uuid>],
        &moved,
        &rows.level_member,
        &rows.level_from as &[Option<Uuid>],
        &rows.level_to as &[Option<Uuid>],
        &rows.level_seq,
        &rows.level_total
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(row.created_at)
}
