//! Server functions of licenses: plans, issuing seats, the license list and a license's
//! page, suspension and revocation, seats of members (assign, unassign, transfer,
//! release), devices (activate, deactivate), validation and the utilisation report.
//! Each authenticates from the session and calls one domain function, which enforces
//! the role (viewers read and validate; support moves seats and devices; tenant admins
//! manage plans and licenses).

use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
use crate::context::{access, db, now};
use crate::error::AppError;
use crate::licenses::form::PlanForm;
use model::licenses::{
    Action, Activated, Assigned, Issued, License, LicenseDetail, LicensePage, MemberLicenses,
    OverQuota, Plan, Report, Validation,
};

/// Members over quota shown per page of the report.
pub const OVER_QUOTA_PAGE: i64 = 50;

/// Renames the domain's `expires_at` to the field the forms show (`expires_on`, a date).
#[cfg(feature = "ssr")]
fn expiry_field(error: domain::Error) -> AppError {
    match error {
        domain::Error::Invalid {
            field: "expires_at",
            problem,
        } => domain::Error::invalid("expires_on", problem).into(),
        other => other.into(),
    }
}

/// The tenant's plans with issued and free seats (every role).
#[server(endpoint = "list_plans")]
pub async fn list_plans() -> Result<Vec<Plan>, AppError> {
    let access = access().await?;
    Ok(domain::licenses::plans(&db()?, &access, now()?).await?)
}

/// Adds a plan (tenant admins). Form fields are `plan[code]`, ….
#[server(endpoint = "create_plan")]
pub async fn create_plan(plan: PlanForm) -> Result<Uuid, AppError> {
    let access = access().await?;
    let input = model::licenses::PlanInput::try_from(plan)?;
    Ok(domain::licenses::create_plan(&db()?, &access, input).await?)
}

/// Changes a plan if unchanged since `row_version` was read (tenant admins); clearing
/// `plan[active]` deactivates it (no more seats issued or assigned from it).
#[server(endpoint = "update_plan")]
pub async fn update_plan(plan_id: Uuid, row_version: i64, plan: PlanForm) -> Result<(), AppError> {
    let access = access().await?;
    let input = model::licenses::PlanInput::try_from(plan)?;
    Ok(domain::licenses::update_plan(&db()?, &access, plan_id, row_version, input).await?)
}

/// Issues `count` seats of a plan (tenant admins); `max_activations` and the expiry
/// date (`YYYY-MM-DD`, the licenses end at its start, UTC) default to the plan's.
#[server(endpoint = "issue_licenses")]
pub async fn issue_licenses(
    plan_id: Uuid,
    count: String,
    max_activations: Option<String>,
    expires_on: Option<String>,
) -> Result<Issued, AppError> {
    use crate::form::{optional, optional_date, required};
    let access = access().await?;
    let input = model::licenses::IssueInput {
        plan_id,
        count: required("count", &count)?,
        max_activations: optional("max_activations", max_activations.as_deref())?,
        expires_at: optional_date("expires_on", expires_on.as_deref())?,
    };
    domain::licenses::issue(&db()?, &access, now()?, input)
        .await
        .map_err(expiry_field)
}

/// Licenses by key, filtered (every role): `plan` (a plan id), `state`, `member` (an
/// external id), `key` (the start of a key, in any case, dashes optional), after the
/// key `after`.
#[server(endpoint = "list_licenses")]
pub async fn list_licenses(
    plan: Option<String>,
    state: Option<String>,
    member: Option<String>,
    key: Option<String>,
    after: Option<String>,
) -> Result<LicensePage, AppError> {
    use crate::form::optional;
    let access = access().await?;
    let state = match state.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => {
            Some(model::licenses::LicenseState::parse(text).map_err(domain::Error::from)?)
        }
    };
    let filter = model::licenses::LicenseFilter {
        plan_id: optional("plan_id", plan.as_deref())?,
        state,
        member,
        key_prefix: key,
        after,
        limit: None,
    };
    Ok(domain::licenses::list(&db()?, &access, now()?, &filter).await?)
}

/// Usable licenses expiring within `days` days, soonest first (every role).
#[server(endpoint = "expiring_licenses")]
pub async fn expiring_licenses(days: i64) -> Result<Vec<License>, AppError> {
    let access = access().await?;
    Ok(domain::licenses::expiring(&db()?, &access, now()?, days).await?)
}

/// One license with its devices, assignments and events (every role).
#[server(endpoint = "get_license")]
pub async fn get_license(license_id: Uuid) -> Result<LicenseDetail, AppError> {
    let access = access().await?;
    Ok(domain::licenses::detail(&db()?, &access, now()?, license_id).await?)
}

/// Changes a license's device limit and expiry (empty: perpetual) if unchanged since
/// `row_version` was read (tenant admins).
#[server(endpoint = "edit_license")]
pub async fn edit_license(
    license_id: Uuid,
    row_version: i64,
    max_activations: String,
    expires_on: Option<String>,
) -> Result<(), AppError> {
    use crate::form::{optional_date, required};
    let access = access().await?;
    let edit = model::licenses::LicenseEdit {
        license_id,
        max_activations: required("max_activations", &max_activations)?,
        expires_at: optional_date("expires_on", expires_on.as_deref())?,
        row_version,
    };
    domain::licenses::edit(&db()?, &access, now()?, edit)
        .await
        .map_err(expiry_field)
}

/// Suspends, reinstates or revokes a license (tenant admins; reason required). A plain
/// form post comes back with `?done=license_suspend` (`_reinstate`, `_revoke`).
#[server(endpoint = "act_on_license")]
pub async fn act_on_license(
    license_id: Uuid,
    action: Action,
    reason: String,
) -> Result<(), AppError> {
    let access = access().await?;
    domain::licenses::act(&db()?, &access, now()?, license_id, action, &reason).await?;
    crate::error::from_domain::outcome(match action {
        Action::Suspend => "license_suspend",
        Action::Reinstate => "license_reinstate",
        Action::Revoke => "license_revoke",
    });
    Ok(())
}

/// Gives a member a seat (support and tenant admins): the license with `license_key`
/// when one is typed, else a free license of `plan_id`.
#[server(endpoint = "assign_license")]
pub async fn assign_license(
    member_id: Uuid,
    plan_id: Option<String>,
    license_key: Option<String>,
) -> Result<Assigned, AppError> {
    use crate::form::optional;
    let access = access().await?;
    let (db, now) = (db()?, now()?);
    if let Some(key) = license_key.filter(|k| !k.trim().is_empty()) {
        return Ok(domain::licenses::seats::assign_key(&db, &access, now, member_id, &key).await?);
    }
    let input = model::licenses::AssignInput {
        member_id,
        plan_id: optional("plan_id", plan_id.as_deref())?,
        license_id: None,
    };
    Ok(domain::licenses::seats::assign(&db, &access, now, input).await?)
}

/// Takes a seat back from its holder (support and tenant admins; reason required).
#[server(endpoint = "unassign_license")]
pub async fn unassign_license(
    license_id: Uuid,
    holder: Option<Uuid>,
    reason: String,
) -> Result<(), AppError> {
    let access = access().await?;
    Ok(
        domain::licenses::seats::unassign_held(
            &db()?,
            &access,
            now()?,
            license_id,
            holder,
            &reason,
        )
        .await?,
    )
}

/// Moves a held seat to the member with `to_external_id` (support and tenant admins;
/// reason required). With `holder` (the holder the form showed), refused as stale when
/// someone moved the seat meanwhile; likewise for unassigning.
#[server(endpoint = "transfer_license")]
pub async fn transfer_license(
    license_id: Uuid,
    holder: Option<Uuid>,
    to_external_id: String,
    reason: String,
) -> Result<Assigned, AppError> {
    let access = access().await?;
    Ok(domain::licenses::seats::transfer_to_external(
        &db()?,
        &access,
        now()?,
        license_id,
        holder,
        &to_external_id,
        &reason,
    )
    .await?)
}

/// Releases one seat of a member over quota (support and tenant admins; reason
/// required); answers the released license's key.
#[server(endpoint = "release_seat")]
pub async fn release_seat(member_id: Uuid, reason: String) -> Result<String, AppError> {
    let access = access().await?;
    Ok(domain::licenses::seats::release_one(&db()?, &access, now()?, member_id, &reason).await?)
}

/// A member's quota with its sources, licenses, devices and assignments (every role).
#[server(endpoint = "licenses_of_member")]
pub async fn licenses_of_member(member_id: Uuid) -> Result<MemberLicenses, AppError> {
    let access = access().await?;
    Ok(domain::licenses::seats::member_licenses(&db()?, &access, now()?, member_id).await?)
}

/// Members holding more seats than their quota allows, by external id after `after`
/// (every role).
#[server(endpoint = "over_quota_members")]
pub async fn over_quota_members(after: Option<String>) -> Result<Vec<OverQuota>, AppError> {
    let access = access().await?;
    let after = after.filter(|a| !a.is_empty());
    Ok(domain::licenses::seats::over_quota(
        &db()?,
        &access,
        now()?,
        after.as_deref(),
        OVER_QUOTA_PAGE,
    )
    .await?)
}

/// The utilisation report per plan and the number of members over quota (every role).
#[server(endpoint = "license_report")]
pub async fn license_report() -> Result<Report, AppError> {
    let access = access().await?;
    Ok(domain::licenses::report(&db()?, &access, now()?).await?)
}

/// Activates a license on a device for its holder (support and tenant admins).
#[server(endpoint = "activate_device")]
pub async fn activate_device(
    license_id: Uuid,
    fingerprint: String,
    device_name: Option<String>,
) -> Result<Activated, AppError> {
    let access = access().await?;
    let input = model::licenses::ActivateInput {
        license_id,
        fingerprint,
        device_name,
    };
    Ok(domain::licenses::devices::activate(&db()?, &access, now()?, input).await?)
}

/// Deactivates a device, freeing its slot (support and tenant admins).
#[server(endpoint = "deactivate_device")]
pub async fn deactivate_device(activation_id: Uuid) -> Result<(), AppError> {
    let access = access().await?;
    Ok(domain::licenses::devices::deactivate(&db()?, &access, now()?, activation_id).await?)
}

/// Whether a key is valid now, optionally for a device, with the stable code (every
/// role): what a support person checks when a customer's license does not work. Not
/// recorded as a validation: "last validated" shows what the tenant's software did.
#[server(endpoint = "validate_license")]
pub async fn validate_license(
    license_key: String,
    fingerprint: Option<String>,
) -> Result<Validation, AppError> {
    let access = access().await?;
    let input = model::licenses::ValidateInput {
        license_key,
        fingerprint,
    };
    Ok(domain::licenses::devices::check(&db()?, &access, now()?, &input).await?)
}
