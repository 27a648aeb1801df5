//! Devices: a held, usable license activates on a device (a fingerprint) up to its
//! `max_activations`; the same fingerprint again answers the same activation; a
//! deactivation frees the slot. Validation answers a stable code and records
//! `last_validated_at`.
//!
//! Race freedom: every activation locks the license row first, then one conditional
//! update raises `licenses.activations` only while it is below `max_activations`; the
//! partial unique index `license_activations_live_key` keeps one live activation per
//! device and license.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::seats::lock_license;
use super::{cause, payload, record_event};
use crate::{Access, Conflict, Error, Problem, Result, Role, access::audit};
pub use model::licenses::{ActivateInput, Activated, Activation, ValidateInput, Validation};
use model::licenses::{Code, LicenseState, device_name, fingerprint, normalise_key, state};

/// Activations of these licenses, live first, then newest first.
pub(crate) async fn for_licenses(
    db: &PgPool,
    tenant_id: Uuid,
    license_ids: &[Uuid],
) -> Result<Vec<Activation>> {
    Ok(sqlx::query_as!(
        Activation,
        "select activation_id, license_id, member_id, fingerprint, device_name, activated_at,
                last_seen_at, deactivated_at, deactivate_reason
         from license_activations
         where tenant_id = $1 and license_id = any($2)
         order by (deactivated_at is null) desc, activated_at desc
         limit 500",
        tenant_id,
        license_ids
    )
    .fetch_all(db)
    .await?)
}

/// Activates a held, usable license on a device (support and tenant admins on a
/// member's behalf; API clients). The same device again is the same activation (its
/// `last_seen_at` moves); a new device beyond `max_activations` is refused with
/// `too_many_activations` and changes nothing.
pub async fn activate(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    input: ActivateInput,
) -> Result<Activated> {
    access.require(Role::Support)?;
    let fingerprint = fingerprint(&input.fingerprint)?;
    let device_name = device_name(input.device_name.as_deref())?;
    let mut tx = db.begin().await?;
    let license = lock_license(&mut tx, access.tenant_id, input.license_id).await?;
    let member_id = match (
        state(
            license.revoked,
            license.suspended,
            license.expires_at,
            license.member_id.is_some(),
            now,
        ),
        license.member_id,
    ) {
        (LicenseState::Assigned, Some(member_id)) => member_id,
        (other, _) => {
            return Err(Error::Conflict(Conflict::LicenseUnusable(
                Code::of_state(other).unwrap_or(Code::NotAssigned),
            )));
        }
    };
    let existing = sqlx::query!(
        "update license_activations set last_seen_at = $4, device_name = coalesce($5, device_name)
         where tenant_id = $1 and license_id = $2 and fingerprint = $3 and deactivated_at is null
         returning activation_id",
        access.tenant_id,
        input.license_id,
        fingerprint,
        now,
        device_name
    )
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(existing) = existing {
        let limits = sqlx::query!(
            "select activations, max_activations from licenses where tenant_id = $1 and license_id = $2",
            access.tenant_id,
            input.license_id
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(Activated {
            activation_id: existing.activation_id,
            created: false,
            activations: limits.activations,
            max_activations: limits.max_activations,
        });
    }
    // The gate: one more activation only while below the limit, in this statement.
    let limits = sqlx::query!(
        "update licenses set activations = activations + 1, updated_at = now()
         where tenant_id = $1 and license_id = $2 and activations < max_activations
         returning activations, max_activations",
        access.tenant_id,
        input.license_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::Conflict(Conflict::LicenseUnusable(
        Code::TooManyActivations,
    )))?;
    let activation_id = sqlx::query_scalar!(
        "insert into license_activations (tenant_id, license_id, member_id, fingerprint, device_name,
                                          activated_at, last_seen_at)
         values ($1, $2, $3, $4, $5, $6, $6) returning activation_id",
        access.tenant_id,
        input.license_id,
        member_id,
        fingerprint,
        device_name,
        now
    )
    .fetch_one(&mut *tx)
    .await?;
    record_event(
        &mut tx,
        access.tenant_id,
        input.license_id,
        Some(member_id),
        "activated",
        cause(access),
        access.principal.admin_id,
        Some(&fingerprint),
    )
    .await?;
    crate::tags::grants::enqueue(
        &mut tx,
        access.tenant_id,
        "license.activated",
        payload(
            input.license_id,
            &license.license_key,
            Some(member_id),
            None,
            json!({ "activation_id": activation_id, "fingerprint": fingerprint, "device_name": device_name }),
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "license.activate",
            target_type: "license",
            target_id: input.license_id.to_string(),
            before: None,
            after: Some(json!({
                "activation_id": activation_id, "fingerprint": fingerprint,
                "device_name": device_name, "activations": limits.activations,
            })),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Activated {
        activation_id,
        created: true,
        activations: limits.activations,
        max_activations: limits.max_activations,
    })
}

/// The live activation of a device (by its fingerprint) on a license.
pub async fn activation_of(
    db: &PgPool,
    access: &Access,
    license_id: Uuid,
    device: &str,
) -> Result<Uuid> {
    access.require(Role::Viewer)?;
    let device = fingerprint(device)?;
    sqlx::query_scalar!(
        "select activation_id from license_activations
         where tenant_id = $1 and license_id = $2 and fingerprint = $3 and deactivated_at is null",
        access.tenant_id,
        license_id,
        device
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("activation"))
}

/// Deactivates a device (support and tenant admins; API clients): the slot is free
/// again, the activation stays as history.
pub async fn deactivate(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    activation_id: Uuid,
) -> Result<()> {
    access.require(Role::Support)?;
    let license_id = sqlx::query_scalar!(
        "select license_id from license_activations where tenant_id = $1 and activation_id = $2",
        access.tenant_id,
        activation_id
    )
    .fetch_optional(db)
    .await?
    .ok_or_else(|| Error::not_found("activation"))?;
    let mut tx = db.begin().await?;
    let license = lock_license(&mut tx, access.tenant_id, license_id).await?;
    let ended = sqlx::query!(
        "update license_activations set deactivated_at = $3, deactivated_by = $4,
                                        deactivate_reason = 'deactivated'
         where tenant_id = $1 and activation_id = $2 and deactivated_at is null
         returning fingerprint, member_id",
        access.tenant_id,
        activation_id,
        now,
        access.principal.admin_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::Conflict(Conflict::ActivationEnded))?;
    sqlx::query!(
        "update licenses set activations = activations - 1, updated_at = now()
         where tenant_id = $1 and license_id = $2",
        access.tenant_id,
        license_id
    )
    .execute(&mut *tx)
    .await?;
    record_event(
        &mut tx,
        access.tenant_id,
        license_id,
        Some(ended.member_id),
        "deactivated",
        cause(access),
        access.principal.admin_id,
        Some(&ended.fingerprint),
    )
    .await?;
    crate::tags::grants::enqueue(
        &mut tx,
        access.tenant_id,
        "license.deactivated",
        payload(
            license_id,
            &license.license_key,
            Some(ended.member_id),
            None,
            json!({ "activation_id": activation_id, "fingerprint": ended.fingerprint }),
        ),
    )
    .await?;
    audit::record(
        &mut tx,
        access,
        audit::Event {
            action: "license.deactivate",
            target_type: "license",
            target_id: license_id.to_string(),
            before: Some(
                json!({ "activation_id": activation_id, "fingerprint": ended.fingerprint }),
            ),
            after: None,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Answers whether a license key is valid now (for one device, when a fingerprint is
/// given) with a stable code, and records `last_validated_at` on the license: what the
/// tenant's software asks. Every role may ask; an unknown key is `not_found`, never an
/// error.
pub async fn validate(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    input: &ValidateInput,
) -> Result<Validation> {
    answer(db, access, now, input, true).await
}

/// The same answer as [`validate`] without recording it: a person checking a key in the
/// console must not move the "last validated" that shows what the software did.
pub async fn check(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    input: &ValidateInput,
) -> Result<Validation> {
    answer(db, access, now, input, false).await
}

async fn answer(
    db: &PgPool,
    access: &Access,
    now: DateTime<Utc>,
    input: &ValidateInput,
    record: bool,
) -> Result<Validation> {
    access.require(Role::Viewer)?;
    let fingerprint = match input.fingerprint.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(value) => Some(fingerprint(value)?),
    };
    let not_found = Validation {
        valid: false,
        code: Code::NotFound,
        license_id: None,
        member_id: None,
        expires_at: None,
        activations: None,
        max_activations: None,
        checked_at: now,
    };
    let Some(key) = normalise_key(&input.license_key) else {
        return Ok(not_found);
    };
    if key.len() != model::licenses::KEY_GROUPS * (model::licenses::KEY_GROUP_LENGTH + 1) - 1 {
        if key.is_empty() {
            return Err(Error::invalid("license_key", Problem::Required));
        }
        return Ok(not_found);
    }
    let row = sqlx::query!(
        r#"with hit as (
             select l.tenant_id, l.license_id, l.member_id, l.expires_at, l.activations, l.max_activations,
                    l.revoked_at is not null as revoked, l.suspended_at is not null as suspended,
                    ($4::text is null or exists (
                       select 1 from license_activations a
                       where a.tenant_id = l.tenant_id and a.license_id = l.license_id
                         and a.fingerprint = $4 and a.deactivated_at is null)) as device
             from licenses l
             where l.tenant_id = $1 and l.license_key = $2
           ), recorded as (
             update licenses l set last_validated_at = $3
             from hit where $5 and l.tenant_id = hit.tenant_id and l.license_id = hit.license_id
           )
           select license_id as "license_id!", member_id, expires_at, activations as "activations!",
                  max_activations as "max_activations!", revoked as "revoked!", suspended as "suspended!",
                  device as "device!"
           from hit"#,
        access.tenant_id,
        key,
        now,
        fingerprint,
        record
    )
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        return Ok(not_found);
    };
    let state = state(
        row.revoked,
        row.suspended,
        row.expires_at,
        row.member_id.is_some(),
        now,
    );
    let code = match Code::of_state(state) {
        Some(code) => code,
        None if row.activations > row.max_activations => Code::TooManyActivations,
        None if !row.device => Code::FingerprintNotActivated,
        None => Code::Valid,
    };
    Ok(Validation {
        valid: code == Code::Valid,
        code,
        license_id: Some(row.license_id),
        member_id: row.member_id,
        expires_at: row.expires_at,
        activations: Some(row.activations),
        max_activations: Some(row.max_activations),
        checked_at: now,
    })
}
