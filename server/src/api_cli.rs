//! `tierdesk api …`: API keys from the command line (acting as the command line, a
//! tenant admin, in the tenant). Each is a thin shell over one `domain::api::keys`
//! function. (`tierdesk api openapi` needs no database and is answered in `main`.)

use domain::api::keys::{self, NewKey, Scope};
use domain::{Access, Principal, Role};
use sqlx::PgPool;

use crate::config::ApiCommand;

pub type AnyError = Box<dyn std::error::Error + Send + Sync>;

async fn tenant_access(db: &PgPool, slug: &str) -> Result<Access, AnyError> {
    let tenant = domain::access::tenants::by_slug(db, slug).await?;
    Ok(Access {
        principal: Principal::cli(),
        tenant_id: tenant.tenant_id,
        role: Role::TenantAdmin,
        request_id: None,
    })
}

pub async fn execute(db: &PgPool, command: &ApiCommand) -> Result<(), AnyError> {
    match command {
        ApiCommand::Openapi => {
            println!("{}", crate::api::document().to_pretty_json()?);
        }
        ApiCommand::CreateKey {
            tenant,
            name,
            scope,
            rate,
            burst,
        } => {
            let access = tenant_access(db, tenant).await?;
            let scope = Scope::parse(scope).map_err(|_| "--scope is read or write")?;
            let issued = keys::create(
                db,
                &access,
                NewKey {
                    name: name.clone(),
                    scope,
                    rate_per_second: *rate,
                    burst: *burst,
                },
            )
            .await?;
            println!("key_id={}", issued.key.key_id);
            println!("scope={}", issued.key.scope.as_str());
            println!("secret={}", issued.secret);
        }
        ApiCommand::Keys { tenant } => {
            let access = tenant_access(db, tenant).await?;
            for key in keys::list(db, &access).await? {
                println!(
                    "{}  {:<14} {:<5} {:?}  {}",
                    key.key_id,
                    key.prefix,
                    key.scope.as_str(),
                    key.state,
                    key.name
                );
            }
        }
        ApiCommand::RevokeKey { tenant, key_id } => {
            let access = tenant_access(db, tenant).await?;
            let key = keys::revoke(db, &access, *key_id).await?;
            println!("revoked {} ({})", key.key_id, key.prefix);
        }
    }
    Ok(())
}
