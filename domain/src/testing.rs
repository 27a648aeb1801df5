//! Builders for test fixtures, so tests read as the situation they set up.

use sqlx::PgPool;
use uuid::Uuid;

use crate::access::admins::{self, NewAccount};
use crate::access::tenants::{self, Tenant};
use crate::{Access, Principal, Role};

/// The password of every account made by these builders.
pub const TEST_PASSWORD: &str = "test-password-1";

#[derive(Debug, Clone)]
pub struct TestAdmin {
    pub admin_id: Uuid,
    pub email: String,
    pub role: Role,
    pub tenant_id: Uuid,
    pub is_platform_admin: bool,
}

impl TestAdmin {
    pub fn principal(&self) -> Principal {
        Principal {
            admin_id: Some(self.admin_id),
            api_key_id: None,
            label: self.email.clone(),
            is_platform_admin: self.is_platform_admin,
        }
    }

    /// This admin acting with another role than the one stored (to test role checks).
    pub fn access_with(&self, role: Role) -> Access {
        Access {
            role,
            ..self.access()
        }
    }

    pub fn access(&self) -> Access {
        let role = if self.is_platform_admin {
            Role::TenantAdmin
        } else {
            self.role
        };
        Access {
            principal: self.principal(),
            tenant_id: self.tenant_id,
            role,
            request_id: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TestTenant {
    pub tenant: Tenant,
}

impl TestTenant {
    pub async fn new(db: &PgPool, slug: &str) -> Self {
        let tenant = tenants::create(db, &Principal::cli(), None, slug, &format!("Tenant {slug}"))
            .await
            .expect("create test tenant");
        TestTenant { tenant }
    }

    pub fn id(&self) -> Uuid {
        self.tenant.tenant_id
    }

    /// A new account `<name>@<slug>.test` with `role` in this tenant.
    pub async fn with_admin(&self, db: &PgPool, name: &str, role: Role) -> TestAdmin {
        self.account(db, name, role, false).await
    }

    /// A platform administrator who is also a tenant admin member of this tenant.
    pub async fn with_platform_admin(&self, db: &PgPool, name: &str) -> TestAdmin {
        self.account(db, name, Role::TenantAdmin, true).await
    }

    async fn account(
        &self,
        db: &PgPool,
        name: &str,
        role: Role,
        is_platform_admin: bool,
    ) -> TestAdmin {
        let email = format!("{name}@{}.test", self.tenant.slug);
        let new = NewAccount {
            email: email.clone(),
            display_name: name.into(),
            password: TEST_PASSWORD.into(),
            is_platform_admin,
            membership: Some((self.id(), role)),
        };
        let admin_id = admins::create_account(db, &Principal::cli(), new)
            .await
            .expect("create test admin");
        TestAdmin {
            admin_id,
            email,
            role,
            tenant_id: self.id(),
            is_platform_admin,
        }
    }
}
