//! Which model answers a member: the tenant-wide switch and the routed entry point.
//!
//! A member with a legacy row is answered by the legacy model unless the tenant's switch
//! is `new` *and* the member has a live migration record (and, while a gray rollout is
//! active, is in its cohort, where each decision follows its mode: see
//! [`Route::model_for`]); every other member (native to the new model) by the new model. [`check`] is the one routed entry point for
//! permission questions (the gray rollout adds cohorts and shadow comparison to it, and
//! the REST API calls it).
//!
//! The route is read with the answer in one indexed query, so a flip of the switch
//! (or a member's migration or rollback) applies to the next check in every process. A
//! flip also bumps the tenant's cache epoch (trigger) and [`switch`] settles it, so
//! anything a process caches per tenant is dropped before the flip returns.

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::access::audit;
use crate::tags::permissions::{PermissionCache, settle};
use crate::{Access, Error, Result, Role};
pub use model::migration::legacy::Answer;
pub use model::migration::run::{Decision, Model, Routing};
use model::rollout::plan::{DecisionKind, Mode};

/// The tenant's switch (every role may read it). `Legacy` when never set.
pub async fn routing(db: &PgPool, access: &Access) -> Result<Routing> {
    access.require(Role::Viewer)?;
    let row = sqlx::query!(
        r#"select r.mode, r.changed_at, a.display_name as "changed_by?"
           from migration_routing r left join admins a on a.admin_id = r.changed_by
           where r.tenant_id = $1"#,
        access.tenant_id
    )
    .fetch_optional(db)
    .await?;
    Ok(match row {
        Some(row) => Routing {
            mode: Model::parse(&row.mode).unwrap_or(Model::Legacy),
            changed_at: Some(row.changed_at),
            changed_by: row.changed_by,
        },
        None => Routing {
            mode: Model::Legacy,
            changed_at: None,
            changed_by: None,
        },
    })
}

/// Sets the switch inside a transaction (audited); the caller commits and then
/// [`settle`]s. Setting the mode it has already changes nothing.
pub(crate) async fn set_mode(
    conn: &mut PgConnection,
    access: &Access,
    mode: Model,
    why: &str,
) -> Result<bool> {
    let before = sqlx::query_scalar!(
        "select mode from migration_routing where tenant_id = $1 for no key update",
        access.tenant_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let before = before
        .as_deref()
        .and_then(Model::parse)
        .unwrap_or(Model::Legacy);
    let exists = sqlx::query_scalar!(
        r#"select exists (select 1 from migration_routing where tenant_id = $1) as "exists!""#,
        access.tenant_id
    )
    .fetch_one(&mut *conn)
    .await?;
    if before == mode && exists {
        return Ok(false);
    }
    sqlx::query!(
        "insert into migration_routing (tenant_id, mode, changed_by, changed_at)
         values ($1, $2, $3, now())
         on conflict (tenant_id) do update
           set mode = excluded.mode, changed_by = excluded.changed_by, changed_at = now()",
        access.tenant_id,
        mode.as_str(),
        access.principal.admin_id
    )
    .execute(&mut *conn)
    .await?;
    audit::record(
        conn,
        access,
        audit::Event {
            action: "migration.routing",
            target_type: "tenant",
            target_id: access.tenant_id.to_string(),
            before: Some(json!({ "mode": before.as_str() })),
            after: Some(json!({ "mode": mode.as_str(), "why": why })),
        },
    )
    .await?;
    Ok(true)
}

/// Flips the tenant-wide switch (tenant admins). Flipping to `Legacy` is the kill
/// switch: when this returns, every process answers every member with a legacy row the
/// legacy way.
pub async fn switch(db: &PgPool, access: &Access, mode: Model) -> Result<Routing> {
    access.require(Role::TenantAdmin)?;
    let mut tx = db.begin().await?;
    let changed = set_mode(&mut tx, access, mode, "switch").await?;
    tx.commit().await?;
    if changed {
        settle(db, access.tenant_id).await?;
    }
    routing(db, access).await
}

/// Where a member's questions go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The model the tenant's switch and the member's migration give (before the
    /// rollout's per-decision routing: see [`Route::model_for`]).
    pub model: Model,
    /// The member's profile in the new model, when they have one.
    pub member_id: Option<Uuid>,
    /// The legacy answer, when the member has a legacy row.
    pub legacy: Option<Answer>,
    /// A live migration record.
    pub migrated: bool,
    /// The settings version (mapping and formula) of that record: the version of the
    /// member's data in the new model, recorded with shadow comparisons.
    pub settings_version: Option<i32>,
    /// The tenant's active rollout, when there is one.
    pub rollout: Option<RouteRollout>,
    /// The tenant's catalogue epoch (bumped by every tier, tag or routing change): the
    /// new model's version, recorded with shadow comparisons.
    pub catalogue_epoch: Option<i64>,
}

/// What the routing needs of an active rollout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRollout {
    pub rollout_id: Uuid,
    pub group_id: String,
    pub stage_no: i32,
    pub modes: [Mode; 3],
    pub sample_bp: i32,
    /// The member's bucket when they are in the cohort (None: not in the cohort).
    pub bucket: Option<i16>,
}

impl Route {
    /// The model that answers `decision`, and whether the other model is compared.
    ///
    /// Members the switch or their migration send to the legacy model stay there, and
    /// members without a legacy row are native to the new model: neither is compared.
    /// While a rollout is active, a migrated member of its cohort is routed by the
    /// decision's mode (off and shadow: legacy, live: new; shadow and live compare),
    /// and a migrated member outside the cohort (migrated by a run of their own before
    /// or beside the rollout, or leaving the cohort by a step back while their rollback
    /// is pending) is answered by the legacy model: a live decision reaches the
    /// cohort and nobody else. Without an active rollout (never started, completed,
    /// aborted) a migrated member is answered by the new model.
    pub fn model_for(&self, decision: DecisionKind) -> (Model, bool) {
        match (self.model, &self.legacy, &self.rollout) {
            (Model::Legacy, _, _) => (Model::Legacy, false),
            (Model::New, None, _) => (Model::New, false),
            (Model::New, Some(_), Some(rollout)) if rollout.bucket.is_some() => {
                let mode = rollout.modes[decision.index()];
                (mode.routed(), mode.compares())
            }
            (Model::New, Some(_), Some(_)) => (Model::Legacy, false),
            (Model::New, Some(_), None) => (Model::New, false),
        }
    }
}

/// The route of a member by external id, with their legacy answer and the tenant's
/// active rollout, in one query.
pub async fn route(db: &PgPool, tenant_id: Uuid, external_id: &str) -> Result<Route> {
    let row = sqlx::query!(
        r#"select coalesce((select r.mode from migration_routing r where r.tenant_id = $1), 'legacy') as "mode!",
                  (select p.member_id from member_profiles p
                   where p.tenant_id = $1 and p.external_id = $2) as member_id,
                  (select mm.settings_version from migration_members mm
                   where mm.tenant_id = $1 and mm.external_id = $2
                     and mm.rolled_back_at is null) as settings_version,
                  l.user_type as "user_type?", t.type_id as "type_id?",
                  t.permissions as "permissions?", t.max_licenses as "max_licenses?",
                  ro.rollout_id as "rollout_id?", ro.group_id as "group_id?", ro.stage_no as "stage_no?",
                  ro.permission_mode as "permission_mode?", ro.quota_mode as "quota_mode?",
                  ro.summary_mode as "summary_mode?", ro.sample_bp as "sample_bp?",
                  rm.bucket as "bucket?",
                  (select e.epoch from tenant_cache_epochs e where e.tenant_id = $1) as catalogue_epoch
           from (select 1) one
           left join legacy_members l on l.tenant_id = $1 and l.external_id = $2
           left join legacy_user_types t on t.tenant_id = l.tenant_id and t.type_id = l.user_type
           left join rollouts ro on ro.tenant_id = $1 and ro.status in ('running', 'paused')
           left join rollout_members rm on rm.tenant_id = $1 and rm.rollout_id = ro.rollout_id
                                        and rm.external_id = $2"#,
        tenant_id,
        external_id
    )
    .fetch_one(db)
    .await?;
    let legacy = row.user_type.map(|user_type| Answer {
        external_id: external_id.to_owned(),
        user_type,
        type_known: row.type_id.is_some(),
        permissions: row.permissions.clone().unwrap_or_default(),
        max_licenses: row.max_licenses.map_or(0, i64::from),
    });
    let mode = Model::parse(&row.mode).unwrap_or(Model::Legacy);
    let migrated = row.settings_version.is_some();
    let model = match (&legacy, mode, migrated) {
        (None, _, _) => Model::New,
        (Some(_), Model::New, true) => Model::New,
        (Some(_), _, _) => Model::Legacy,
    };
    let parse = |m: Option<&str>| m.and_then(Mode::parse).unwrap_or(Mode::Off);
    let rollout = row.rollout_id.map(|rollout_id| RouteRollout {
        rollout_id,
        group_id: row.group_id.clone().unwrap_or_default(),
        stage_no: row.stage_no.unwrap_or(0),
        modes: [
            parse(row.permission_mode.as_deref()),
            parse(row.quota_mode.as_deref()),
            parse(row.summary_mode.as_deref()),
        ],
        sample_bp: row.sample_bp.unwrap_or(0),
        bucket: row.bucket,
    });
    Ok(Route {
        model,
        member_id: row.member_id,
        legacy,
        migrated,
        settings_version: row.settings_version,
        rollout,
        catalogue_epoch: row.catalogue_epoch,
    })
}

/// The routed permission check without shadow comparison (every role): whether the
/// member has `key`, and their license quota, each from the model that answers that
/// decision now. An external id neither model knows is not found. The rollout's
/// [`crate::rollout::decide`] is the same routing with the shadow comparison.
pub async fn check(
    db: &PgPool,
    cache: &PermissionCache,
    access: &Access,
    external_id: &str,
    key: &str,
) -> Result<Decision> {
    access.require(Role::Viewer)?;
    let route = route(db, access.tenant_id, external_id).await?;
    let (permission, _) = route.model_for(DecisionKind::Permission);
    let (quota, _) = route.model_for(DecisionKind::Quota);
    let allowed = match (permission, &route.legacy, route.member_id) {
        (Model::Legacy, Some(legacy), _) => legacy.has(key),
        (_, _, Some(member_id)) => cache.check(db, access, member_id, key).await?,
        _ => return Err(Error::not_found("member")),
    };
    let max_licenses = match (quota, &route.legacy, route.member_id) {
        (Model::Legacy, Some(legacy), _) => legacy.max_licenses,
        (_, _, Some(member_id)) => cache.max_licenses(db, access, member_id).await?,
        _ => return Err(Error::not_found("member")),
    };
    Ok(Decision {
        model: permission,
        allowed,
        max_licenses,
    })
}
