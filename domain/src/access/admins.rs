//! Admin accounts and their memberships in a tenant.
//!
//! A tenant administrator manages the memberships of their own tenant: invites an
//! email, changes a membership's role, disables or re-enables its access. Accounts
//! themselves are global; only a platform administrator (or the CLI) creates platform
//! administrators or disables an account everywhere.
//!
//! Adding an email always makes a *pending invitation*, whether or not an account has
//! that email, and the tenant sees the same answer either way: the email and the name
//! its admin typed, status "invited". It learns nothing about an account of someone
//! else (not that it exists, not its name, not whether it is disabled). A new email
//! gets an account with the password the inviting admin chose, and the first sign-in
//! with it accepts the invitation; an existing account keeps its password and its owner
//! accepts or declines after signing in. A pending membership grants nothing.

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::error::ResultExt;
use crate::{
    Access, Conflict, Error, Principal, Problem, Result, Role, access::audit, access::password,
};
pub use model::access::admins::{Invitation, Member, NewMember};
use model::input;

/// Admins listed per tenant at most (a tenant has a handful; the bound is a guard).
pub const ADMINS_LIST_MAX: i64 = 1_000;

/// The admins of the caller's tenant, invitations included; tenant administrators only.
pub async fn list(db: &PgPool, access: &Access) -> Result<Vec<Member>> {
    access.require(Role::TenantAdmin)?;
    let rows = sqlx::query!(
        r#"select a.admin_id, a.email,
                  case when ta.accepted_at is null then ta.invited_name else a.display_name end
                    as "display_name!",
                  ta.role, ta.created_at,
                  (ta.disabled_at is not null
                   or (ta.accepted_at is not null and a.disabled_at is not null)) as "disabled!",
                  ta.accepted_at is null as "invited!"
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
                invited: row.invited,
                added_at: row.created_at,
            })
        })
        .collect()
}

/// Invites an email into the caller's tenant (see the module documentation): creates
/// the account if the email is new, and a pending membership in every case. The answer
/// is built from what the caller typed only.
pub async fn add(db: &PgPool, access: &Access, new: NewMember) -> Result<Member> {
    access.require(Role::TenantAdmin)?;
    let email = input::email(&new.email)?;
    if email.chars().any(char::is_control) {
        return Err(Error::invalid("email", Problem::Format));
    }
    let display_name = input::name("display_name", &new.display_name)?;
    let password = input::new_password(new.password.as_deref().unwrap_or_default())?;
    // Hashed whether or not an account exists, so that the time taken does not tell.
    let hash = password::hash(password.to_owned()).await?;
    let mut tx = db.begin().await?;
    let existing = sqlx::query_scalar!("select admin_id from admins where email = $1", email)
        .fetch_optional(&mut *tx)
        .await?;
    let (admin_id, created) = match existing {
        Some(admin_id) => (admin_id, false),
        None => {
            let admin_id = insert_account(&mut tx, &email, &display_name, &hash, false).await?;
            (admin_id, true)
        }
    };
    let added_at = sqlx::query_scalar!(
        "insert into tenant_admins
           (tenant_id, admin_id, role, accepted_at, invited_name, accept_on_sign_in)
         values ($1, $2, $3, null, $4, $5)
         returning created_at",
        access.tenant_id,
        admin_id,
        new.role.as_str(),
        display_name,
        created
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
        invited: true,
        added_at,
    };
    if created {
        // Platform-level (an account now exists); not in the tenant's log, which must
        // read the same whether or not the email had an account.
        let event = audit::Event {
            action: "account.create",
            target_type: "admin",
            target_id: admin_id.to_string(),
            before: None,
            after: Some(json!({ "email": member.email, "platform_admin": false })),
        };
        let request_id = access.request_id.as_deref();
        audit::record_platform(&mut tx, &access.principal, request_id, event).await?;
    }
    let event = audit::Event {
        action: "admin.add",
        target_type: "admin",
        target_id: admin_id.to_string(),
        before: None,
        after: Some(json!({
            "email": member.email,
            "display_name": member.display_name,
            "role": member.role.as_str(),
            "status": "invited",
        })),
    };
    audit::record(&mut tx, access, event).await?;
    tx.commit().await?;
    Ok(member)
}

/// The signed-in account's invitations that are still open (not accepted, not
/// withdrawn by disabling).
pub async fn invitations(db: &PgPool, principal: &Principal) -> Result<Vec<Invitation>> {
    let admin_id = principal.admin_id.ok_or(Error::Forbidden)?;
    let rows = sqlx::query!(
        r#"select t.tenant_id, t.slug, t.name, ta.role, ta.created_at
           from tenant_admins ta join tenants t on t.tenant_id = ta.tenant_id
           where ta.admin_id = $1 and ta.accepted_at is null and ta.disabled_at is null
           order by ta.created_at, t.tenant_id
           limit $2"#,
        admin_id,
        ADMINS_LIST_MAX
    )
    .fetch_all(db)
    .await?;
    rows.into_iter()
        .map(|row| {
            Ok(Invitation {
                tenant_id: row.tenant_id,
                tenant_slug: row.slug,
                tenant_name: row.name,
                role: Role::parse(&row.role)?,
                invited_at: row.created_at,
            })
        })
        .collect()
}

/// The signed-in account accepts its open invitation into a tenant: from now on the
/// membership grants its role. Audited in that tenant's log.
pub async fn accept_invitation(
    db: &PgPool,
    principal: &Principal,
    request_id: Option<&str>,
    tenant_id: Uuid,
) -> Result<()> {
    let admin_id = principal.admin_id.ok_or(Error::Forbidden)?;
    let mut tx = db.begin().await?;
    let role = sqlx::query_scalar!(
        "update tenant_admins set accepted_at = now(), updated_at = now()
         where tenant_id = $1 and admin_id = $2 and accepted_at is null and disabled_at is null
         returning role",
        tenant_id,
        admin_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::not_found("invitation"))?;
    let event = answer_event("admin.accept", principal, admin_id, &role, "active");
    audit::record_in_tenant(&mut tx, tenant_id, principal, request_id, event).await?;
    tx.commit().await?;
    Ok(())
}

/// The signed-in account declines its open invitation into a tenant: the pending
/// membership is removed. Audited in that tenant's log.
pub async fn decline_invitation(
    db: &PgPool,
    principal: &Principal,
    request_id: Option<&str>,
    tenant_id: Uuid,
) -> Result<()> {
    let admin_id = principal.admin_id.ok_or(Error::Forbidden)?;
    let mut tx = db.begin().await?;
    let role = sqlx::query_scalar!(
        "delete from tenant_admins
         where tenant_id = $1 and admin_id = $2 and accepted_at is null and disabled_at is null
         returning role",
        tenant_id,
        admin_id
    )
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::not_found("invitation"))?;
    let event = answer_event("admin.decline", principal, admin_id, &role, "declined");
    audit::record_in_tenant(&mut tx, tenant_id, principal, request_id, event).await?;
    tx.commit().await?;
    Ok(())
}

fn answer_event(
    action: &'static str,
    principal: &Principal,
    admin_id: Uuid,
    role: &str,
    status: &str,
) -> audit::Event {
    audit::Event {
        action,
        target_type: "admin",
        target_id: admin_id.to_string(),
        before: Some(json!({ "email": principal.label, "role": role, "status": "invited" })),
        after: Some(json!({ "email": principal.label, "role": role, "status": status })),
    }
}

/// Accepts, on a successful sign-in, the open invitations that created this account:
/// signing in with the password the inviting admin chose is the acceptance. Returns how
/// many were accepted.
pub(crate) async fn accept_on_sign_in(db: &PgPool, principal: &Principal) -> Result<usize> {
    let Some(admin_id) = principal.admin_id else {
        return Ok(0);
    };
    let mut tx = db.begin().await?;
    let accepted = sqlx::query!(
        "update tenant_admins set accepted_at = now(), updated_at = now()
         where admin_id = $1 and accept_on_sign_in
           and accepted_at is null and disabled_at is null
         returning tenant_id, role",
        admin_id
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in &accepted {
        let event = answer_event("admin.accept", principal, admin_id, &row.role, "active");
        audit::record_in_tenant(&mut tx, row.tenant_id, principal, None, event).await?;
    }
    tx.commit().await?;
    Ok(accepted.len())
}

/// Whether the account has an open invitation (it may then sign in to answer it even
/// without an active membership).
pub(crate) async fn has_open_invitation(db: &PgPool, admin_id: Uuid) -> Result<bool> {
    let open = sqlx::query_scalar!(
        r#"select exists(
             select 1 from tenant_admins
             where admin_id = $1 and accepted_at is null and disabled_at is null
           ) as "open!""#,
        admin_id
    )
    .fetch_one(db)
    .await?;
    Ok(open)
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
        && !before.invited
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
        && !before.invited
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

/// Locks the tenant's enabled (and accepted) tenant-admin memberships, so that two
/// concurrent changes cannot both remove "the other" last administrator.
async fn lock_enabled_tenant_admins(conn: &mut PgConnection, tenant_id: Uuid) -> Result<Vec<Uuid>> {
    let ids = sqlx::query_scalar!(
        r#"select ta.admin_id from tenant_admins ta join admins a on a.admin_id = ta.admin_id
           where ta.tenant_id = $1 and ta.role = 'tenant_admin'
             and ta.accepted_at is not null
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
        r#"select a.admin_id, a.email,
                  case when ta.accepted_at is null then ta.invited_name else a.display_name end
                    as "display_name!",
                  ta.role, ta.created_at,
                  (ta.disabled_at is not null
                   or (ta.accepted_at is not null and a.disabled_at is not null)) as "disabled!",
                  ta.accepted_at is null as "invited!"
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
        invited: row.invited,
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
