//! Admin accounts and their memberships in a tenant.
//!
//! A tenant administrator manages the memberships of their own tenant: adds an account
//! (creating it if the email is new), changes its role, disables or re-enables its
//! access. Accounts themselves are global; only a platform administrator (or the CLI)
//! creates platform administrators or disables an account everywhere.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::ResultExt;
use crate::{Access, Conflict, Error, Principal, Result, Role, audit, input, password};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub admin_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Disabled in this tenant or everywhere.
    pub disabled: bool,
    pub added_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: String,
    pub display_name: String,
    pub role: Role,
    /// Required when the email has no account yet; ignored otherwise (the existing
    /// account keeps its own password).
    pub password: Option<String>,
}

/// Admins listed per tenant at most (a tenant has a handful; the bound is a guard).
pub const ADMINS_LIST_MAX: i64 = 1_000;

/// The admins of the caller's tenant; tenant administrators only.
pub async fn list(db: &PgPool, access: &Access) -> Result<Vec<Member>> {
    access.require(Role::TenantAdmin)?;
    let rows = sqlx::query!(
        r#"select a.admin_id, a.email, a.display_name, ta.role, ta.created_at,
                  (ta.disabled_at is not null or a.disabled_at is not null) as "disabled!"
           from tenant_admins ta join admins a on a.admin_id = ta.admin_id
           where ta.tenant_id = $1
           order by a.email
           limit $2"#,
        access.tenant_id,
        ADMINS_LIST_MAX
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Member {
                admin_id: row.admin_id,
                email: row.email,
                display_name: row.display_name,
                role: Role::parse(&row.role)?,
                disabled: row.disabled,
                added_at: row.created_at,
            })
        })
        .collect()
}

/// Adds an admin to the caller's tenant, creating the account if the email is new.
pub async fn add(db: &PgPool, access: &Access, new: NewMember) -> Result<Member> {
    access.require(Role::TenantAdmin)?;
    let email = input::email(&new.email)?;
    let display_name = input::name("display_name", &new.display_name)?;
    let mut tx = db.begin().await?;
    let existing = sqlx::query!(
        "select admin_id, display_name from admins where email = $1",
        email
    )
    .fetch_optional(&mut *tx)
    .await?;
    let (admin_id, display_name) = match existing {
        Some(account) => (account.admin_id, account.display_name),
        None => {
            let password = new.password.as_deref().unwrap_or_default();
            let hash = password::hash(input::new_password(password)?.to_owned()).await?;
            let admin_id = insert_account(&mut tx, &email, &display_name, &hash, false).await?;
            (admin_id, display_name)
        }
    };
    let added_at = sqlx::query_scalar!(
        "insert into tenant_admins (tenant_id, admin_id, role) values ($1, $2, $3)
         returning created_at",
        access.tenant_id,
        admin_id,
        new.role.as_str()
    )
    .fetch_one(&mut *tx)
    .await
    .on_constraint("tenant_admins_pkey", || {
        Error::Conflict(Conflict::AlreadyMember)
    })?;
    let member = Member {
        admin_id,
        email,
        display_name,
        role: new.role,
        disabled: false,
        added_at,
    };
    let event = audit::Event {
        action: "admin.add",
        target_type: "admin",
        target_id: admin_id.to_string(),
        before: None,
        after: Some(json!({ "email": member.email, "role": member.role.as_str() })),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    Ok(member)
}

/// Changes an admin's role in the caller's tenant.
pub async fn change_role(
    db: &PgPool,
    access: &Access,
    admin_id: Uuid,
    role: Role,
) -> Result<Member> {
    access.require(Role::TenantAdmin)?;
    if access.principal.admin_id == Some(admin_id) {
        return Err(Error::Conflict(Conflict::OwnAccount));
    }
    let mut tx = db.begin().await?;
    let enabled_admins = lock_enabled_tenant_admins(&mut tx, access.tenant_id).await?;
    let before = locked_member(&mut tx, access.tenant_id, admin_id).await?;
    let demotes_last_admin = role != Role::TenantAdmin
        && before.role == Role::TenantAdmin
        && !before.disabled
        && enabled_admins.iter().all(|id| *id == admin_id);
    if demotes_last_admin {
        return Err(Error::Conflict(Conflict::LastTenantAdmin));
    }
    sqlx::query!(
        "update tenant_admins set role = $3, updated_at = now() where tenant_id = $1 and admin_id = $2",
        access.tenant_id,
        admin_id,
        role.as_str()
    )
    .execute(&mut *tx)
    .await?;
    let event = audit::Event {
        action: "admin.change_role",
        target_type: "admin",
        target_id: admin_id.to_string(),
        before: Some(json!({ "email": before.email, "role": before.role.as_str() })),
        after: Some(json!({ "email": before.email, "role": role.as_str() })),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    Ok(Member { role, ..before })
}

/// Disables or re-enables an admin's access to the caller's tenant. Their sessions lose
/// access to the tenant on their next request.
pub async fn set_disabled(
    db: &PgPool,
    access: &Access,
    admin_id: Uuid,
    disabled: bool,
) -> Result<Member> {
    access.require(Role::TenantAdmin)?;
    if access.principal.admin_id == Some(admin_id) {
        return Err(Error::Conflict(Conflict::OwnAccount));
    }
    let mut tx = db.begin().await?;
    let enabled_admins = lock_enabled_tenant_admins(&mut tx, access.tenant_id).await?;
    let before = locked_member(&mut tx, access.tenant_id, admin_id).await?;
    if disabled
        && enabled_admins.iter().all(|id| *id == admin_id)
        && before.role == Role::TenantAdmin
    {
        return Err(Error::Conflict(Conflict::LastTenantAdmin));
    }
    let membership_disabled = sqlx::query_scalar!(
        r#"update tenant_admins
           set disabled_at = case when $3 then coalesce(disabled_at, now()) end, updated_at = now()
           where tenant_id = $1 and admin_id = $2
           returning disabled_at is not null as "disabled!""#,
        access.tenant_id,
        admin_id,
        disabled
    )
    .fetch_one(&mut *tx)
    .await?;
    let event = audit::Event {
        action: if disabled {
            "admin.disable"
        } else {
            "admin.enable"
        },
        target_type: "admin",
        target_id: admin_id.to_string(),
        before: Some(json!({ "email": before.email, "disabled": before.disabled })),
        after: Some(json!({ "email": before.email, "disabled": membership_disabled })),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    Ok(Member {
        disabled: membership_disabled || before.disabled,
        ..before
    })
}

/// Locks the tenant's enabled tenant-admin memberships, so that two concurrent changes
/// cannot both remove "the other" last administrator.
async fn lock_enabled_tenant_admins(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Vec<Uuid>> {
    let ids = sqlx::query_scalar!(
        r#"select ta.admin_id from tenant_admins ta join admins a on a.admin_id = ta.admin_id
           where ta.tenant_id = $1 and ta.role = 'tenant_admin'
             and ta.disabled_at is null and a.disabled_at is null
           order by ta.admin_id
           for update of ta"#,
        tenant_id
    )
    .fetch_all(conn)
    .await?;
    Ok(ids)
}

async fn locked_member(conn: &mut PgConnection, tenant_id: Uuid, admin_id: Uuid) -> Result<Member> {
    let row = sqlx::query!(
        r#"select a.admin_id, a.email, a.display_name, ta.role, ta.created_at,
                  (ta.disabled_at is not null or a.disabled_at is not null) as "disabled!"
           from tenant_admins ta join admins a on a.admin_id = ta.admin_id
           where ta.tenant_id = $1 and ta.admin_id = $2
           for update of ta"#,
        tenant_id,
        admin_id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(Error::not_found("admin"))?;
    Ok(Member {
        admin_id: row.admin_id,
        email: row.email,
        display_name: row.display_name,
        role: Role::parse(&row.role)?,
        disabled: row.disabled,
        added_at: row.created_at,
    })
}

async fn insert_account(
    conn: &mut PgConnection,
    email: &str,
    display_name: &str,
    password_hash: &str,
    is_platform_admin: bool,
) -> Result<Uuid> {
    let admin_id = sqlx::query_scalar!(
        "insert into admins (email, display_name, password_hash, is_platform_admin)
         values ($1, $2, $3, $4) returning admin_id",
        email,
        display_name,
        password_hash,
        is_platform_admin
    )
    .fetch_one(conn)
    .await
    .on_constraint("admins_email_key", || Error::Conflict(Conflict::EmailTaken))?;
    Ok(admin_id)
}

/// Creates an account from the command line or by a platform administrator, optionally
/// with a membership. Platform-level, so audited in the platform log (and in the
/// tenant's log when a membership is created).
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub display_name: String,
    pub password: String,
    pub is_platform_admin: bool,
    pub membership: Option<(Uuid, Role)>,
}

pub async fn create_account(db: &PgPool, principal: &Principal, new: NewAccount) -> Result<Uuid> {
    principal.require_platform_admin()?;
    let email = input::email(&new.email)?;
    let display_name = input::name("display_name", &new.display_name)?;
    let hash = password::hash(input::new_password(&new.password)?.to_owned()).await?;
    let mut tx = db.begin().await?;
    let admin_id =
        insert_account(&mut tx, &email, &display_name, &hash, new.is_platform_admin).await?;
    let after = json!({ "email": email, "platform_admin": new.is_platform_admin });
    let event = audit::Event {
        action: "account.create",
        target_type: "admin",
        target_id: admin_id.to_string(),
        before: None,
        after: Some(after),
    };
    audit::record_platform(&mut tx, principal, None, event.clone()).await?;
    if let Some((tenant_id, role)) = new.membership {
        sqlx::query!(
            "insert into tenant_admins (tenant_id, admin_id, role) values ($1, $2, $3)",
            tenant_id,
            admin_id,
            role.as_str()
        )
        .execute(&mut *tx)
        .await?;
        let event = audit::Event {
            action: "admin.add",
            after: Some(json!({ "email": email, "role": role.as_str() })),
            ..event
        };
        audit::record_in_tenant(&mut tx, tenant_id, principal, None, event).await?;
    }
    tx.commit().await?;
    Ok(admin_id)
}
