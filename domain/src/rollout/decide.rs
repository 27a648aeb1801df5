//! The routed decision with the shadow comparison (GitHub Scientist's control and
//! candidate, LaunchDarkly's migration stages).
//!
//! [`decide`] is the one routed entry point the REST API and `tierdesk simulate
//! traffic` call. It reads the route (the switch, the member's migration, the legacy
//! answer and the active rollout) in one query, answers from the routed model, and,
//! when the decision's mode compares and the member is sampled, hands the comparison to
//! the process's [`Shadow`]:
//!
//! - routed **legacy** (shadow): the new model's answer is computed on a background task
//!   after the routed answer is returned, so the request never waits for it;
//! - routed **new** (live): the legacy answer came with the route for free (permission
//!   and quota), so the comparison is only a record handed over.
//!
//! Records go through a bounded queue to a writer that inserts them in batches; when
//! the queue or the background tasks are full, the sample is dropped and counted, never
//! waited for. Every routed decision of an active rollout is counted per minute and
//! model (not sampled) for the traffic chart.
//!
//! Timings: `legacy_us` is the route query (which reads the legacy answer) or, for the
//! summary, the legacy formula query; `new_us` is the new model's answer given the
//! member (the permission cache, or the profile query for the summary).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, DurationRound, Utc};
use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, oneshot};
use uuid::Uuid;

use crate::migration::routing::{self, Route};
use crate::tags::permissions::PermissionCache;
use crate::{Access, Error, Result, Role};
use model::migration::run::Model;
pub use model::rollout::plan::{Answer, DecisionKind, Question, Routed, mismatch};

/// Background comparisons in flight per process (more are dropped, and counted).
const INFLIGHT: usize = 64;
/// Records queued for the writer (more are dropped, and counted).
const QUEUE: usize = 20_000;
/// The writer inserts at most this many records per statement.
const WRITE_BATCH: usize = 1_000;
const TICK: Duration = Duration::from_millis(250);

/// One compared decision.
#[derive(Debug, Clone)]
struct Record {
    tenant_id: Uuid,
    rollout_id: Uuid,
    decided_at: DateTime<Utc>,
    decision: DecisionKind,
    external_id: String,
    bucket: i16,
    stage_no: i32,
    routed: Model,
    question: Option<String>,
    legacy: Option<Answer>,
    new: Option<Answer>,
    legacy_us: i64,
    new_us: Option<i64>,
    kind: Option<String>,
    detail: Option<String>,
    error: Option<String>,
    settings_version: Option<i32>,
    catalogue_epoch: Option<i64>,
}

enum Message {
    Record(Box<Record>),
    Flush(oneshot::Sender<()>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct TrafficKey {
    tenant_id: Uuid,
    rollout_id: Uuid,
    minute: DateTime<Utc>,
    decision: DecisionKind,
}

#[derive(Debug, Clone, Copy, Default)]
struct TrafficCount {
    legacy: i64,
    new: i64,
    errors: i64,
    dropped: i64,
}

/// The process's shadow comparison: sampling, background comparisons, the record
/// writer and the traffic counters. One per process (`Shadow::start`).
pub struct Shadow {
    sender: mpsc::Sender<Message>,
    inflight: Arc<Semaphore>,
    traffic: Arc<Mutex<HashMap<TrafficKey, TrafficCount>>>,
    seed: AtomicU64,
}

impl Shadow {
    /// Starts the writer on the current runtime.
    pub fn start(db: PgPool) -> Arc<Shadow> {
        let (sender, receiver) = mpsc::channel(QUEUE);
        let traffic = Arc::new(Mutex::new(HashMap::new()));
        tokio::spawn(writer(db, receiver, traffic.clone()));
        Arc::new(Shadow {
            sender,
            inflight: Arc::new(Semaphore::new(INFLIGHT)),
            traffic,
            seed: AtomicU64::new(Utc::now().timestamp_nanos_opt().unwrap_or(1) as u64 | 1),
        })
    }

    /// Waits until every comparison started so far is written, with the traffic
    /// counters (tests and the benchmark; requests never wait for it).
    pub async fn flush(&self) -> Result<()> {
        let all = self
            .inflight
            .acquire_many(INFLIGHT as u32)
            .await
            .map_err(|_| Error::Internal("shadow closed".into()))?;
        drop(all);
        let (done, wait) = oneshot::channel();
        self.sender
            .send(Message::Flush(done))
            .await
            .map_err(|_| Error::Internal("shadow writer stopped".into()))?;
        wait.await
            .map_err(|_| Error::Internal("shadow writer stopped".into()))
    }

    /// Whether this decision is compared, at `bp` basis points (xorshift: cheap, and
    /// statistically fine for sampling).
    fn sampled(&self, bp: i32) -> bool {
        if bp >= 10_000 {
            return true;
        }
        if bp <= 0 {
            return false;
        }
        let mut x = self
            .seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        (x % 10_000) < bp as u64
    }

    fn count(
        &self,
        tenant_id: Uuid,
        rollout_id: Uuid,
        decision: DecisionKind,
        f: impl FnOnce(&mut TrafficCount),
    ) {
        let minute = minute(Utc::now());
        let key = TrafficKey {
            tenant_id,
            rollout_id,
            minute,
            decision,
        };
        if let Ok(mut traffic) = self.traffic.lock() {
            f(traffic.entry(key).or_default());
        }
    }

    fn hand_over(&self, record: Record) {
        let (tenant_id, rollout_id, decision) =
            (record.tenant_id, record.rollout_id, record.decision);
        if self
            .sender
            .try_send(Message::Record(Box::new(record)))
            .is_err()
        {
            self.count(tenant_id, rollout_id, decision, |c| c.dropped += 1);
        }
    }
}

fn minute(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(chrono::Duration::minutes(1))
        .unwrap_or(at)
}

fn micros(elapsed: Duration) -> i64 {
    i64::try_from(elapsed.as_micros()).unwrap_or(i64::MAX)
}

/// A routed decision (every role): the answer of the model that answers `question` for
/// the member now, with the shadow comparison when the rollout asks for it. An external
/// id neither model knows is not found.
pub async fn decide(
    db: &PgPool,
    cache: &Arc<PermissionCache>,
    shadow: &Arc<Shadow>,
    access: &Access,
    external_id: &str,
    question: &Question,
) -> Result<Routed> {
    access.require(Role::Viewer)?;
    check_question(question)?;
    check_member(external_id)?;
    let started = Instant::now();
    let route = routing::route(db, access.tenant_id, external_id).await?;
    let route_us = micros(started.elapsed());
    answer_routed(
        db,
        cache,
        shadow,
        access,
        external_id,
        question,
        &route,
        route_us,
    )
    .await
}

/// [`decide`] for several permission keys of one member: the route is read once and
/// each key is answered (and compared, when the rollout asks) as [`decide`] would.
pub async fn decide_keys(
    db: &PgPool,
    cache: &Arc<PermissionCache>,
    shadow: &Arc<Shadow>,
    access: &Access,
    external_id: &str,
    keys: &[String],
) -> Result<Vec<Routed>> {
    access.require(Role::Viewer)?;
    let questions: Vec<Question> = keys
        .iter()
        .map(|key| Question::Permission { key: key.clone() })
        .collect();
    for question in &questions {
        check_question(question)?;
    }
    check_member(external_id)?;
    let started = Instant::now();
    let route = routing::route(db, access.tenant_id, external_id).await?;
    let route_us = micros(started.elapsed());
    let mut answers = Vec::with_capacity(questions.len());
    for question in &questions {
        answers.push(
            answer_routed(
                db,
                cache,
                shadow,
                access,
                external_id,
                question,
                &route,
                route_us,
            )
            .await?,
        );
    }
    Ok(answers)
}

fn check_question(question: &Question) -> Result<()> {
    if let Question::Permission { key } = question {
        model::input::plain_text("key", key)?;
        if key.is_empty() || key.len() > 100 {
            return Err(Error::invalid("key", crate::Problem::Format));
        }
    }
    Ok(())
}

/// An external id no input can store names no member.
fn check_member(external_id: &str) -> Result<()> {
    if external_id.is_empty()
        || external_id.chars().count() > 128
        || model::input::plain_text("member", external_id).is_err()
    {
        return Err(Error::not_found("member"));
    }
    Ok(())
}

/// The routed answer to `question` given the member's `route` (read in `route_us`).
#[expect(clippy::too_many_arguments, reason = "the decision's whole context")]
async fn answer_routed(
    db: &PgPool,
    cache: &Arc<PermissionCache>,
    shadow: &Arc<Shadow>,
    access: &Access,
    external_id: &str,
    question: &Question,
    route: &Route,
    route_us: i64,
) -> Result<Routed> {
    let decision = question.decision();
    let (routed, compares) = route.model_for(decision);
    let compare = compares && route.migrated && route.member_id.is_some();
    let rollout = route.rollout.clone();
    let sampled = compare
        && rollout
            .as_ref()
            .is_some_and(|r| shadow.sampled(r.sample_bp));

    // The routed answer.
    let (answer, legacy_us) = match routed {
        Model::Legacy => {
            let (answer, us) =
                legacy_answer(db, access.tenant_id, route, question, route_us).await?;
            (answer, us)
        }
        Model::New => {
            let Some(member_id) = route.member_id else {
                return Err(Error::not_found("member"));
            };
            let started = Instant::now();
            let answer = new_answer(db, cache, access, member_id, question).await;
            let new_us = micros(started.elapsed());
            let answer = match answer {
                Ok(answer) => answer,
                Err(error) => {
                    if let Some(r) = &rollout {
                        shadow.count(access.tenant_id, r.rollout_id, decision, |c| {
                            c.new += 1;
                            c.errors += 1;
                        });
                    }
                    return Err(error);
                }
            };
            if sampled && let Some(r) = &rollout {
                // Live: the legacy side is compared here only when it came with the
                // route (permission, quota); the summary's legacy side is computed in
                // the background like a shadow.
                if decision == DecisionKind::Summary {
                    spawn_compare(
                        db,
                        cache,
                        shadow,
                        access,
                        route,
                        question,
                        Model::New,
                        Some((answer.clone(), new_us)),
                    );
                } else if let Ok((legacy, _)) =
                    legacy_answer(db, access.tenant_id, route, question, route_us).await
                {
                    shadow.hand_over(record(
                        access.tenant_id,
                        (route.settings_version, route.catalogue_epoch),
                        r,
                        external_id,
                        question,
                        Model::New,
                        Some(legacy),
                        route_us,
                        Ok((answer.clone(), new_us)),
                    ));
                }
            }
            (answer, route_us + new_us)
        }
    };
    if let Some(r) = &rollout {
        shadow.count(access.tenant_id, r.rollout_id, decision, |c| match routed {
            Model::Legacy => c.legacy += 1,
            Model::New => c.new += 1,
        });
        if sampled && routed == Model::Legacy {
            spawn_compare(
                db,
                cache,
                shadow,
                access,
                route,
                question,
                Model::Legacy,
                Some((answer.clone(), legacy_us)),
            );
        }
    }
    Ok(Routed {
        model: routed,
        answer,
    })
}

/// Starts the comparison on a background task, or drops it (counted) when too many
/// are in flight. `routed` is the answer already given and its time.
#[expect(clippy::too_many_arguments, reason = "the comparison's whole context")]
fn spawn_compare(
    db: &PgPool,
    cache: &Arc<PermissionCache>,
    shadow: &Arc<Shadow>,
    access: &Access,
    route: &Route,
    question: &Question,
    routed_model: Model,
    routed: Option<(Answer, i64)>,
) {
    let Some(rollout) = route.rollout.clone() else {
        return;
    };
    let Ok(permit) = shadow.inflight.clone().try_acquire_owned() else {
        shadow.count(
            access.tenant_id,
            rollout.rollout_id,
            question.decision(),
            |c| c.dropped += 1,
        );
        return;
    };
    let (db, cache, shadow, access, route, question) = (
        db.clone(),
        cache.clone(),
        shadow.clone(),
        access.clone(),
        route.clone(),
        question.clone(),
    );
    tokio::spawn(async move {
        let _permit = permit;
        let external_id = route
            .legacy
            .as_ref()
            .map(|l| l.external_id.clone())
            .unwrap_or_default();
        let record = match routed_model {
            Model::Legacy => {
                let (legacy, legacy_us) = routed.unwrap_or((Answer::Quota { max_licenses: 0 }, 0));
                let started = Instant::now();
                let new = match route.member_id {
                    Some(member_id) => new_answer(&db, &cache, &access, member_id, &question).await,
                    None => Err(Error::not_found("member")),
                };
                let new_us = micros(started.elapsed());
                record(
                    access.tenant_id,
                    (route.settings_version, route.catalogue_epoch),
                    &rollout,
                    &external_id,
                    &question,
                    Model::Legacy,
                    Some(legacy),
                    legacy_us,
                    new.map(|a| (a, new_us)),
                )
            }
            Model::New => {
                let started = Instant::now();
                let legacy = legacy_answer(&db, access.tenant_id, &route, &question, 0).await;
                let legacy_us = micros(started.elapsed());
                let Ok((legacy, _)) = legacy else {
                    return;
                };
                let new = routed.ok_or_else(|| Error::Internal("no routed answer".into()));
                record(
                    access.tenant_id,
                    (route.settings_version, route.catalogue_epoch),
                    &rollout,
                    &external_id,
                    &question,
                    Model::New,
                    Some(legacy),
                    legacy_us,
                    new,
                )
            }
        };
        if record.error.is_some() {
            shadow.count(record.tenant_id, record.rollout_id, record.decision, |c| {
                c.errors += 1
            });
        }
        shadow.hand_over(record);
    });
}

#[expect(clippy::too_many_arguments, reason = "the record's whole context")]
fn record(
    tenant_id: Uuid,
    versions: (Option<i32>, Option<i64>),
    rollout: &routing::RouteRollout,
    external_id: &str,
    question: &Question,
    routed: Model,
    legacy: Option<Answer>,
    legacy_us: i64,
    new: Result<(Answer, i64)>,
) -> Record {
    let bucket = rollout.bucket.unwrap_or_else(|| {
        i16::from(model::rollout::bucket::bucket(
            &rollout.group_id,
            external_id,
        ))
    });
    let detail_key = match question {
        Question::Permission { key } => Some(key.clone()),
        _ => None,
    };
    let (new, new_us, kind, detail, error) = match (new, &legacy) {
        (Ok((new, us)), Some(legacy)) => {
            let difference = mismatch(question, legacy, &new);
            let (kind, detail) = match difference {
                Some((kind, detail)) => (Some(kind), detail),
                None => (None, None),
            };
            (Some(new), Some(us), kind, detail, None)
        }
        (Ok((new, us)), None) => (
            Some(new),
            Some(us),
            Some("error".into()),
            None,
            Some("no legacy answer".into()),
        ),
        (Err(error), _) => (
            None,
            None,
            Some("error".to_owned()),
            None,
            Some(error.to_string()),
        ),
    };
    Record {
        tenant_id,
        rollout_id: rollout.rollout_id,
        decided_at: Utc::now(),
        decision: question.decision(),
        external_id: external_id.to_owned(),
        bucket,
        stage_no: rollout.stage_no,
        routed,
        question: detail_key,
        legacy,
        new,
        legacy_us,
        new_us,
        kind,
        detail,
        error,
        settings_version: versions.0,
        catalogue_epoch: versions.1,
    }
}

/// The legacy model's answer. Permission and quota came with the route (`route_us`);
/// the summary is the formula's points as of now and the tier they fall in.
async fn legacy_answer(
    db: &PgPool,
    tenant_id: Uuid,
    route: &Route,
    question: &Question,
    route_us: i64,
) -> Result<(Answer, i64)> {
    let Some(legacy) = &route.legacy else {
        return Err(Error::not_found("member"));
    };
    Ok(match question {
        Question::Permission { key } => (
            Answer::Permission {
                allowed: legacy.has(key),
            },
            route_us,
        ),
        Question::Quota => (
            Answer::Quota {
                max_licenses: legacy.max_licenses,
            },
            route_us,
        ),
        Question::Summary => {
            let started = Instant::now();
            let formula =
                crate::migration::settings::formula_json(&model::migration::Formula::default())?;
            let row = sqlx::query!(
                r#"with pts as (
                     select (select coalesce(sum(x), 0) from unnest(migration_parts(
                               coalesce((select s.formula from migration_settings s where s.tenant_id = $1
                                         order by s.version desc limit 1), $3),
                               l.registered_at, l.last_login_at, l.license_count, l.payment_total_cents, now())) x)::bigint as points
                     from legacy_members l where l.tenant_id = $1 and l.external_id = $2)
                   select pts.points as "points!",
                          (select t.code from level_tiers t
                           where t.tenant_id = $1 and t.active and t.min_points <= pts.points
                             and (t.max_points is null or t.max_points >= pts.points)
                           order by t.sort_order limit 1) as level
                   from pts"#,
                tenant_id,
                legacy.external_id,
                formula
            )
            .fetch_optional(db)
            .await?
            .ok_or_else(|| Error::not_found("member"))?;
            (
                Answer::Summary {
                    level: row.level,
                    points: row.points,
                },
                micros(started.elapsed()),
            )
        }
    })
}

/// The new model's answer for a member with a profile.
async fn new_answer(
    db: &PgPool,
    cache: &PermissionCache,
    access: &Access,
    member_id: Uuid,
    question: &Question,
) -> Result<Answer> {
    Ok(match question {
        Question::Permission { key } => Answer::Permission {
            allowed: cache.check(db, access, member_id, key).await?,
        },
        Question::Quota => Answer::Quota {
            max_licenses: cache.max_licenses(db, access, member_id).await?,
        },
        Question::Summary => {
            let row = sqlx::query!(
                r#"select t.code as "level?", p.total_points
                   from member_profiles p
                   left join level_tiers t on t.tenant_id = p.tenant_id and t.tier_id = p.level_tier_id
                   where p.tenant_id = $1 and p.member_id = $2"#,
                access.tenant_id,
                member_id
            )
            .fetch_optional(db)
            .await?
            .ok_or_else(|| Error::not_found("member"))?;
            Answer::Summary {
                level: row.level,
                points: row.total_points,
            }
        }
    })
}

/// The writer: batches records into multi-row inserts and adds the traffic counters,
/// every tick or every [`WRITE_BATCH`] records. Write failures are logged and the
/// batch dropped (the comparison is best effort; the routed answers were given).
async fn writer(
    db: PgPool,
    mut receiver: mpsc::Receiver<Message>,
    traffic: Arc<Mutex<HashMap<TrafficKey, TrafficCount>>>,
) {
    let mut buffer: Vec<Record> = Vec::with_capacity(WRITE_BATCH);
    loop {
        let message = tokio::time::timeout(TICK, receiver.recv()).await;
        let mut flushed = None;
        match message {
            Ok(Some(Message::Record(record))) => {
                buffer.push(*record);
                if buffer.len() < WRITE_BATCH {
                    continue;
                }
            }
            Ok(Some(Message::Flush(done))) => flushed = Some(done),
            Ok(None) => {
                write(&db, &mut buffer, &traffic).await;
                return;
            }
            Err(_) => {}
        }
        write(&db, &mut buffer, &traffic).await;
        if let Some(done) = flushed {
            let _ = done.send(());
        }
    }
}

async fn write(
    db: &PgPool,
    buffer: &mut Vec<Record>,
    traffic: &Arc<Mutex<HashMap<TrafficKey, TrafficCount>>>,
) {
    if !buffer.is_empty() {
        if let Err(error) = insert_records(db, buffer).await {
            tracing::warn!(%error, records = buffer.len(), "decision records dropped");
        }
        buffer.clear();
    }
    let counts: Vec<(TrafficKey, TrafficCount)> = match traffic.lock() {
        Ok(mut traffic) => traffic.drain().collect(),
        Err(_) => Vec::new(),
    };
    if counts.is_empty() {
        return;
    }
    let mut tenants = Vec::with_capacity(counts.len());
    let mut rollouts = Vec::with_capacity(counts.len());
    let mut minutes = Vec::with_capacity(counts.len());
    let mut decisions = Vec::with_capacity(counts.len());
    let mut legacy = Vec::with_capacity(counts.len());
    let mut new = Vec::with_capacity(counts.len());
    let mut errors = Vec::with_capacity(counts.len());
    let mut dropped = Vec::with_capacity(counts.len());
    for (key, count) in counts {
        tenants.push(key.tenant_id);
        rollouts.push(key.rollout_id);
        minutes.push(key.minute);
        decisions.push(key.decision.as_str().to_owned());
        legacy.push(count.legacy);
        new.push(count.new);
        errors.push(count.errors);
        dropped.push(count.dropped);
    }
    let result = sqlx::query!(
        "insert into rollout_traffic (tenant_id, rollout_id, minute, decision, legacy, new, errors, dropped)
         select * from unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], $5::bigint[],
                              $6::bigint[], $7::bigint[], $8::bigint[])
         on conflict (tenant_id, rollout_id, minute, decision) do update
           set legacy = rollout_traffic.legacy + excluded.legacy, new = rollout_traffic.new + excluded.new,
               errors = rollout_traffic.errors + excluded.errors, dropped = rollout_traffic.dropped + excluded.dropped",
        &tenants,
        &rollouts,
        &minutes,
        &decisions,
        &legacy,
        &new,
        &errors,
        &dropped
    )
    .execute(db)
    .await;
    if let Err(error) = result {
        tracing::warn!(%error, "rollout traffic counts dropped");
    }
}

/// Writes records with `COPY … FROM STDIN` (text format): the cheapest way into the
/// table, so the comparison costs the database as little as it can.
async fn insert_records(db: &PgPool, records: &[Record]) -> Result<()> {
    use sqlx::postgres::PgPoolCopyExt;
    let mut buffer = String::with_capacity(records.len() * 256);
    for r in records {
        let json = |a: &Option<Answer>| a.as_ref().and_then(|a| serde_json::to_string(a).ok());
        let fields: [Option<String>; 19] = [
            Some(r.tenant_id.to_string()),
            Some(r.rollout_id.to_string()),
            Some(r.decided_at.to_rfc3339()),
            Some(r.decision.as_str().to_owned()),
            Some(r.external_id.clone()),
            Some(r.bucket.to_string()),
            Some(r.stage_no.to_string()),
            Some(r.routed.as_str().to_owned()),
            r.question.clone(),
            json(&r.legacy),
            json(&r.new),
            Some(i32::try_from(r.legacy_us).unwrap_or(i32::MAX).to_string()),
            r.new_us
                .map(|us| i32::try_from(us).unwrap_or(i32::MAX).to_string()),
            Some(if r.kind.is_none() { "t" } else { "f" }.to_owned()),
            r.kind.clone(),
            r.detail.clone(),
            r.error.as_ref().map(|e| e.chars().take(500).collect()),
            r.settings_version.map(|v| v.to_string()),
            r.catalogue_epoch.map(|v| v.to_string()),
        ];
        for (i, field) in fields.iter().enumerate() {
            if i > 0 {
                buffer.push('\t');
            }
            match field {
                None => buffer.push_str("\\N"),
                Some(value) => copy_escape(&mut buffer, value),
            }
        }
        buffer.push('\n');
    }
    let mut copy = db
        .copy_in_raw(
            "copy rollout_decisions (tenant_id, rollout_id, decided_at, decision, external_id, bucket, stage_no,
                                     routed, question, legacy, new, legacy_us, new_us, agree, kind, detail, error,
                                     settings_version, catalogue_epoch) from stdin",
        )
        .await?;
    if let Err(error) = copy.send(buffer.into_bytes()).await {
        let _ = copy.abort("send failed").await;
        return Err(error.into());
    }
    copy.finish().await?;
    Ok(())
}

/// A value in `COPY`'s text format: backslash, tab, newline and carriage return escaped
/// (NUL cannot be in a `text` value; input refuses it before it gets here).
fn copy_escape(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => {}
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn copy_escapes_the_text_format() {
        let mut out = String::new();
        super::copy_escape(&mut out, "a\tb\nc\\d\re\0f");
        assert_eq!(out, "a\\tb\\nc\\\\d\\ref");
    }
}

/// A member's effective permissions and quota with their sources, from the model that
/// answers the member's permission checks now.
#[derive(Debug, Clone)]
pub enum RoutedEffective {
    /// The legacy model: the user type's permissions and quota.
    Legacy(routing::Answer),
    /// The new model: the level and the tags, with their sources.
    New(crate::tags::permissions::Effective),
}

/// [`RoutedEffective`] for the member with `external_id` (every role). Routed as the
/// permission check is ([`Route::model_for`]); a view, not a decision, so neither
/// compared nor counted. An external id neither model knows is not found.
pub async fn effective(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    external_id: &str,
) -> Result<RoutedEffective> {
    access.require(Role::Viewer)?;
    check_member(external_id)?;
    let route = routing::route(db, access.tenant_id, external_id).await?;
    match route.model_for(DecisionKind::Permission).0 {
        Model::Legacy => route
            .legacy
            .map(RoutedEffective::Legacy)
            .ok_or_else(|| Error::not_found("member")),
        Model::New => {
            let member_id = route.member_id.ok_or_else(|| Error::not_found("member"))?;
            Ok(RoutedEffective::New(
                crate::tags::permissions::compute(db, access.tenant_id, member_id, now).await?,
            ))
        }
    }
}
