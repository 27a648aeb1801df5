//! What the rollout shows: scores per decision and stage, mismatches by kind, the
//! charts' minutes, members per model over time, "why is this member in or out", and
//! the job that guards running rollouts (guardrails, snapshots, pruning).

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::plan;
use crate::migration::routing;
use crate::{Access, Error, Result, Role};
use model::rollout::cohort::Stratum;
pub use model::rollout::plan::{
    Accepted, Dashboard, DecisionKind, MemberInRollout, MemberRoute, Minute, Mismatch, Mode, Share,
};
use model::rollout::score::{Score, Tripped, guardrails};

/// The scores of a stage per decision, over the records of the stage's latest entry
/// (a stage entered again after a step back starts afresh: the answers that led to the
/// step back are not those of the stage as it is now), and since `since` when given.
/// Mismatches an unexpired accepted difference covers are counted apart.
pub(crate) async fn scores(
    conn: &mut PgConnection,
    tenant_id: Uuid,
    rollout_id: Uuid,
    stage_no: i32,
    since: Option<DateTime<Utc>>,
) -> Result<Vec<Score>> {
    let rows = sqlx::query!(
        r#"select d.decision, count(*) as "compared!",
                  count(*) filter (where d.agree) as "agreed!",
                  count(*) filter (where not d.agree and d.kind <> 'error' and exists (
                      select 1 from rollout_accepted a
                      where a.tenant_id = d.tenant_id and a.rollout_id = d.rollout_id
                        and a.decision = d.decision and a.kind = d.kind
                        and (a.detail is null or a.detail = d.detail) and a.expires_at > now())) as "accepted!",
                  count(*) filter (where d.kind = 'error') as "errors!"
           from rollout_decisions d
           where d.tenant_id = $1 and d.rollout_id = $2 and d.stage_no = $3
             and ($4::timestamptz is null or d.decided_at >= $4)
             and d.decided_at >= coalesce((select max(e.at) from rollout_events e
                                           where e.tenant_id = $1 and e.rollout_id = $2
                                             and e.action = 'advance' and e.to_stage = $3),
                                          '-infinity')
           group by d.decision"#,
        tenant_id,
        rollout_id,
        stage_no,
        since
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(DecisionKind::ALL
        .into_iter()
        .map(|decision| {
            let row = rows.iter().find(|r| r.decision == decision.as_str());
            match row {
                Some(r) => Score::new(
                    decision, stage_no, r.compared, r.agreed, r.accepted, r.errors,
                ),
                None => Score::new(decision, stage_no, 0, 0, 0, 0),
            }
        })
        .collect())
}

/// The accepted differences of a rollout (every role). Another tenant's rollout is not
/// found.
pub async fn accepted(db: &PgPool, access: &Access, rollout_id: Uuid) -> Result<Vec<Accepted>> {
    access.require(Role::Viewer)?;
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from rollouts where tenant_id = $1 and rollout_id = $2) as "exists!""#,
        access.tenant_id,
        rollout_id
    )
    .fetch_one(db)
    .await?;
    if !exists {
        return Err(Error::not_found("rollout"));
    }
    Ok(sqlx::query!(
        r#"select a.accepted_id, a.decision, a.kind, a.detail, a.owner, a.reason, a.expires_at,
                  ad.display_name as "created_by?", a.created_at
           from rollout_accepted a left join admins ad on ad.admin_id = a.created_by
           where a.tenant_id = $1 and a.rollout_id = $2 order by a.created_at desc limit 200"#,
        access.tenant_id,
        rollout_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|a| Accepted {
        accepted_id: a.accepted_id,
        decision: DecisionKind::parse(&a.decision).unwrap_or(DecisionKind::Permission),
        kind: a.kind,
        detail: a.detail,
        owner: a.owner,
        reason: a.reason,
        expires_at: a.expires_at,
        created_by: a.created_by,
        created_at: a.created_at,
    })
    .collect())
}

/// The dashboard of a rollout (every role: product managers watch it read-only).
pub async fn dashboard(
    db: &PgPool,
    access: &Access,
    rollout_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Dashboard> {
    access.require(Role::Viewer)?;
    let rollout = plan::get(db, access, rollout_id).await?;
    let mut conn = db.acquire().await?;
    let (blockers, _) = plan::blockers(
        &mut conn,
        access.tenant_id,
        rollout_id,
        access.principal.admin_id,
        now,
    )
    .await?;
    let mut scores = Vec::new();
    for stage in (1..=rollout.stage_no).rev() {
        scores.extend(self::scores(&mut conn, access.tenant_id, rollout_id, stage, None).await?);
    }
    drop(conn);
    let events = sqlx::query!(
        r#"select e.event_id, e.action, e.from_stage, e.to_stage, a.display_name as "actor?", e.reason, e.score, e.at
           from rollout_events e left join admins a on a.admin_id = e.actor
           where e.tenant_id = $1 and e.rollout_id = $2 order by e.event_id desc limit 100"#,
        access.tenant_id,
        rollout_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|e| model::rollout::plan::Event {
        event_id: e.event_id,
        action: e.action,
        from_stage: e.from_stage,
        to_stage: e.to_stage,
        actor: e.actor,
        reason: e.reason,
        scores: e.score.and_then(|s| serde_json::from_value(s).ok()).unwrap_or_default(),
        at: e.at,
    })
    .collect();
    // The last two hours, a point a minute.
    let since = now - chrono::Duration::hours(2);
    let samples = sqlx::query!(
        r#"select date_trunc('minute', d.decided_at) as "minute!", d.decision, count(*) as "compared!",
                  count(*) filter (where d.agree) as "agreed!",
                  count(*) filter (where not d.agree and d.kind <> 'error' and exists (
                      select 1 from rollout_accepted a
                      where a.tenant_id = d.tenant_id and a.rollout_id = d.rollout_id
                        and a.decision = d.decision and a.kind = d.kind
                        and (a.detail is null or a.detail = d.detail) and a.expires_at > now())) as "accepted!",
                  count(*) filter (where d.kind = 'error') as "errors!",
                  percentile_disc(0.5) within group (order by d.legacy_us) as legacy_p50,
                  percentile_disc(0.99) within group (order by d.legacy_us) as legacy_p99,
                  percentile_disc(0.5) within group (order by d.new_us) as new_p50,
                  percentile_disc(0.99) within group (order by d.new_us) as new_p99
           from rollout_decisions d
           where d.tenant_id = $1 and d.rollout_id = $2 and d.decided_at >= $3
           group by 1, 2 order by 1"#,
        access.tenant_id,
        rollout_id,
        since
    )
    .fetch_all(db)
    .await?;
    let traffic = sqlx::query!(
        "select minute, decision, legacy, new, errors from rollout_traffic
         where tenant_id = $1 and rollout_id = $2 and minute >= $3 order by minute",
        access.tenant_id,
        rollout_id,
        since
    )
    .fetch_all(db)
    .await?;
    let mut minutes: Vec<Minute> = Vec::new();
    for t in &traffic {
        let Some(decision) = DecisionKind::parse(&t.decision) else {
            continue;
        };
        minutes.push(Minute {
            minute: t.minute,
            decision,
            routed_legacy: t.legacy,
            routed_new: t.new,
            compared: 0,
            agreed: 0,
            accepted: 0,
            errors: t.errors,
            legacy_p50_us: None,
            legacy_p99_us: None,
            new_p50_us: None,
            new_p99_us: None,
        });
    }
    for s in samples {
        let Some(decision) = DecisionKind::parse(&s.decision) else {
            continue;
        };
        let point = match minutes
            .iter_mut()
            .find(|m| m.minute == s.minute && m.decision == decision)
        {
            Some(point) => point,
            None => {
                minutes.push(Minute {
                    minute: s.minute,
                    decision,
                    routed_legacy: 0,
                    routed_new: 0,
                    compared: 0,
                    agreed: 0,
                    accepted: 0,
                    errors: 0,
                    legacy_p50_us: None,
                    legacy_p99_us: None,
                    new_p50_us: None,
                    new_p99_us: None,
                });
                minutes
                    .last_mut()
                    .ok_or_else(|| Error::Internal("no minute".into()))?
            }
        };
        point.compared = s.compared;
        point.agreed = s.agreed;
        point.accepted = s.accepted;
        point.legacy_p50_us = s.legacy_p50.map(i64::from);
        point.legacy_p99_us = s.legacy_p99.map(i64::from);
        point.new_p50_us = s.new_p50.map(i64::from);
        point.new_p99_us = s.new_p99.map(i64::from);
    }
    minutes.sort_by_key(|m| (m.minute, m.decision));
    let parse_modes = |modes: &[String]| {
        let mut out = [Mode::Off; 3];
        for (i, m) in modes.iter().take(3).enumerate() {
            out[i] = Mode::parse(m).unwrap_or(Mode::Off);
        }
        out
    };
    let mut shares: Vec<Share> = sqlx::query!(
        "select at, legacy_members, cohort, migrated, modes from rollout_snapshots
         where tenant_id = $1 and rollout_id = $2 order by at desc limit 240",
        access.tenant_id,
        rollout_id
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .map(|s| Share {
        at: s.at,
        legacy_members: s.legacy_members,
        cohort: s.cohort,
        migrated: s.migrated,
        modes: parse_modes(&s.modes),
    })
    .collect();
    shares.reverse();
    // Now, as the last point.
    let (legacy_members, cohort, migrated) = counts(db, access.tenant_id, rollout_id).await?;
    shares.push(Share {
        at: now,
        legacy_members,
        cohort,
        migrated,
        modes: rollout.modes,
    });
    let accepted = accepted(db, access, rollout_id).await?;
    let mismatch_rows = sqlx::query!(
        r#"select d.decision, d.kind as "kind!", d.detail, count(*) as "count!",
                  (array_agg(distinct d.external_id))[1:5] as "examples!"
           from rollout_decisions d
           where d.tenant_id = $1 and d.rollout_id = $2 and d.stage_no = $3 and not d.agree
             and d.decided_at >= coalesce((select max(e.at) from rollout_events e
                                           where e.tenant_id = $1 and e.rollout_id = $2
                                             and e.action = 'advance' and e.to_stage = $3),
                                          '-infinity')
           group by 1, 2, 3 order by 4 desc limit 50"#,
        access.tenant_id,
        rollout_id,
        rollout.stage_no
    )
    .fetch_all(db)
    .await?;
    let mismatches = mismatch_rows
        .into_iter()
        .filter_map(|m| {
            let decision = DecisionKind::parse(&m.decision)?;
            let covering = accepted
                .iter()
                .find(|a| {
                    a.decision == decision
                        && a.kind == m.kind
                        && a.expires_at > now
                        && (a.detail.is_none() || a.detail == m.detail)
                })
                .map(|a| a.accepted_id);
            Some(Mismatch {
                decision,
                kind: m.kind,
                detail: m.detail,
                count: m.count,
                examples: m.examples,
                accepted: covering,
            })
        })
        .collect();
    let predicted =
        crate::migration::analysis::latest::<model::migration::run::DryRun>(db, access, "dry_run")
            .await
            .ok()
            .flatten()
            .map(|(_, report)| {
                if report.agreement_pairs == 0 {
                    100.0
                } else {
                    100.0 * report.agreement_equal as f64 / report.agreement_pairs as f64
                }
            });
    let run = match rollout.current().and_then(|s| s.run_id) {
        Some(run_id) => Some(crate::migration::run::detail(db, access, run_id).await?.run),
        None => None,
    };
    let mix = sqlx::query!(
        r#"select count(*) filter (where stratum = 'active') as "active!",
                  count(*) filter (where stratum = 'long_standing') as "long_standing!",
                  count(*) filter (where stratum = 'new') as "new!"
           from rollout_members where tenant_id = $1 and rollout_id = $2"#,
        access.tenant_id,
        rollout_id
    )
    .fetch_one(db)
    .await?;
    Ok(Dashboard {
        rollout,
        events,
        scores,
        blockers,
        predicted,
        minutes,
        shares,
        mismatches,
        accepted,
        run,
        cohort_mix: [mix.active, mix.long_standing, mix.new],
        legacy_members,
    })
}

/// The dashboard of the tenant's active rollout, else of its latest; None before its
/// first (every role: the console opens on it and polls it).
pub async fn current_dashboard(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
) -> Result<Option<Dashboard>> {
    match plan::current(db, access).await? {
        Some(rollout) => Ok(Some(dashboard(db, access, rollout.rollout_id, now).await?)),
        None => Ok(None),
    }
}

/// Legacy members, the cohort, and the cohort's migrated members.
async fn counts(db: &PgPool, tenant_id: Uuid, rollout_id: Uuid) -> Result<(i64, i64, i64)> {
    let row = sqlx::query!(
        r#"select (select count(*) from legacy_members where tenant_id = $1) as "legacy!",
                  (select count(*) from rollout_members where tenant_id = $1 and rollout_id = $2) as "cohort!",
                  (select count(*) from rollout_members rm
                   join migration_members mm on mm.tenant_id = rm.tenant_id and mm.external_id = rm.external_id
                                             and mm.rolled_back_at is null
                   where rm.tenant_id = $1 and rm.rollout_id = $2) as "migrated!""#,
        tenant_id,
        rollout_id
    )
    .fetch_one(db)
    .await?;
    Ok((row.legacy, row.cohort, row.migrated))
}

/// "Why is this member in or out?" (every role): bucket, stage, stratum, and which
/// model answers each decision right now. An id neither model knows is not found.
pub async fn member_route(
    db: &PgPool,
    access: &Access,
    external_id: &str,
    now: DateTime<Utc>,
) -> Result<MemberRoute> {
    access.require(Role::Viewer)?;
    let route = routing::route(db, access.tenant_id, external_id).await?;
    // Neither model knows the id (or it is another tenant's member): not found, as the
    // routed decision answers, rather than "answered by the new model".
    if route.legacy.is_none() && route.member_id.is_none() {
        return Err(Error::not_found("member"));
    }
    let switch = routing::routing(db, access).await?.mode;
    let models = DecisionKind::ALL.map(|d| route.model_for(d).0);
    let rollout = match plan::current(db, access).await? {
        Some(r) if r.status.is_active() => {
            let row = sqlx::query!(
                "select rm.bucket, rm.stratum, rm.stage_no, l.registered_at as \"registered_at?\",
                        l.last_login_at
                 from (select 1) one
                 left join rollout_members rm on rm.tenant_id = $1 and rm.rollout_id = $2 and rm.external_id = $3
                 left join legacy_members l on l.tenant_id = $1 and l.external_id = $3",
                access.tenant_id,
                r.rollout_id,
                external_id
            )
            .fetch_one(db)
            .await?;
            let stratum = match (&row.stratum, row.registered_at, &r.strata) {
                (Some(s), _, _) => Stratum::parse(s).ok(),
                (None, Some(registered), strata) => Some(
                    strata
                        .clone()
                        .unwrap_or_default()
                        .stratum(registered, row.last_login_at, now),
                ),
                _ => None,
            };
            let threshold = match (r.current().and_then(|s| s.thresholds.clone()), stratum) {
                (Some(t), Some(s)) => t.get(s.index()).copied(),
                _ => None,
            };
            Some(MemberInRollout {
                rollout_id: r.rollout_id,
                name: r.name.clone(),
                group_id: r.group_id.clone(),
                bucket: row
                    .bucket
                    .and_then(|b| u8::try_from(b).ok())
                    .unwrap_or_else(|| model::rollout::bucket::bucket(&r.group_id, external_id)),
                stratum,
                joined_stage: row.stage_no,
                stage_no: r.stage_no,
                threshold,
                modes: r.modes,
            })
        }
        _ => None,
    };
    Ok(MemberRoute {
        external_id: external_id.to_owned(),
        legacy: route.legacy.is_some(),
        migrated: route.migrated,
        switch,
        rollout,
        models,
    })
}

/// How far back the guardrails look.
pub const GUARD_WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// Checks a running rollout's guardrails over the recent answers of its stage (since
/// the stage was entered or the rollout last resumed, at most [`GUARD_WINDOW`]) and
/// pauses it, saying why, when one trips. The tripped guardrails are returned.
pub async fn guard(
    db: &PgPool,
    tenant_id: Uuid,
    rollout_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<Tripped>> {
    let row = sqlx::query!(
        r#"select r.status, r.stage_no, r.gate_score::float8 as "gate_score!", r.min_sample,
                  r.guard_error_pct::float8 as "guard_error_pct!", r.guard_p99_ms,
                  greatest((select max(e.at) from rollout_events e
                            where e.tenant_id = r.tenant_id and e.rollout_id = r.rollout_id
                              and e.action in ('advance', 'resume', 'modes', 'step_back')),
                           $3::timestamptz) as "since!"
           from rollouts r where r.tenant_id = $1 and r.rollout_id = $2"#,
        tenant_id,
        rollout_id,
        now - GUARD_WINDOW
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("rollout"))?;
    if row.status != "running" || row.stage_no == 0 {
        return Ok(Vec::new());
    }
    let mut conn = db.acquire().await?;
    let window = scores(
        &mut conn,
        tenant_id,
        rollout_id,
        row.stage_no,
        Some(row.since),
    )
    .await?;
    drop(conn);
    let p99 = sqlx::query!(
        r#"select decision, percentile_disc(0.99) within group (order by new_us) as p99
           from rollout_decisions
           where tenant_id = $1 and rollout_id = $2 and stage_no = $3 and decided_at >= $4 and new_us is not null
           group by decision having count(*) >= $5"#,
        tenant_id,
        rollout_id,
        row.stage_no,
        row.since,
        i64::from(row.min_sample)
    )
    .fetch_all(db)
    .await?
    .into_iter()
    .filter_map(|r| Some((DecisionKind::parse(&r.decision)?, i64::from(r.p99?))))
    .collect::<Vec<_>>();
    let tripped = guardrails(
        &window,
        &p99,
        row.gate_score,
        i64::from(row.min_sample),
        row.guard_error_pct,
        i64::from(row.guard_p99_ms),
    );
    if !tripped.is_empty() {
        let reason = tripped
            .iter()
            .map(Tripped::reason)
            .collect::<Vec<_>>()
            .join("; ");
        plan::auto_pause(db, tenant_id, rollout_id, &reason).await?;
    }
    Ok(tripped)
}

/// The job of every server process: guard running rollouts, snapshot members per
/// model once a minute, prune decision records beyond each rollout's cap. A rollout
/// that fails is logged and the others still get their turn.
pub async fn work(db: &PgPool, now: DateTime<Utc>) -> Result<()> {
    let active = sqlx::query!(
        "select tenant_id, rollout_id, status, record_cap, permission_mode, quota_mode, summary_mode
         from rollouts where status in ('running', 'paused')"
    )
    .fetch_all(db)
    .await?;
    for r in active {
        let modes = [r.permission_mode, r.quota_mode, r.summary_mode];
        let result = work_one(
            db,
            r.tenant_id,
            r.rollout_id,
            r.status == "running",
            r.record_cap,
            &modes,
            now,
        )
        .await;
        if let Err(error) = result {
            tracing::error!(%error, tenant_id = %r.tenant_id, rollout_id = %r.rollout_id, "rollout job failed");
        }
    }
    Ok(())
}

async fn work_one(
    db: &PgPool,
    tenant_id: Uuid,
    rollout_id: Uuid,
    running: bool,
    record_cap: i32,
    modes: &[String; 3],
    now: DateTime<Utc>,
) -> Result<()> {
    if running {
        guard(db, tenant_id, rollout_id, now).await?;
    }
    let minute =
        chrono::DurationRound::duration_trunc(now, chrono::Duration::minutes(1)).unwrap_or(now);
    let noted = sqlx::query_scalar!(
        r#"select exists (select 1 from rollout_snapshots where tenant_id = $1 and rollout_id = $2 and at = $3) as "noted!""#,
        tenant_id,
        rollout_id,
        minute
    )
    .fetch_one(db)
    .await?;
    if !noted {
        let (legacy, cohort, migrated) = counts(db, tenant_id, rollout_id).await?;
        sqlx::query!(
            "insert into rollout_snapshots (tenant_id, rollout_id, at, legacy_members, cohort, migrated, modes)
             values ($1, $2, $3, $4, $5, $6, $7) on conflict do nothing",
            tenant_id,
            rollout_id,
            minute,
            legacy,
            cohort,
            migrated,
            modes
        )
        .execute(db)
        .await?;
        // Pruning once a minute is enough: the cap bounds storage, not a sample.
        sqlx::query!(
            "delete from rollout_decisions where tenant_id = $1 and rollout_id = $2
               and record_id <= (select record_id from rollout_decisions
                                 where tenant_id = $1 and rollout_id = $2
                                 order by record_id desc offset $3 limit 1)",
            tenant_id,
            rollout_id,
            i64::from(record_cap)
        )
        .execute(db)
        .await?;
    }
    Ok(())
}
