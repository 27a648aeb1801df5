use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

use crate::Result;

pub const POOL_CONNECTIONS_MAX: u32 = 16;

/// The schema migrations, embedded in the binary from `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

pub async fn connect(database_url: &str) -> Result<PgPool> {
    let pool = PgPoolOptions::new()
        .max_connections(POOL_CONNECTIONS_MAX)
        .acquire_timeout(Duration::from_secs(10))
        .connect(database_url)
        .await?;
    Ok(pool)
}

pub async fn migrate(db: &PgPool) -> Result<()> {
    MIGRATOR
        .run(db)
        .await
        .map_err(|error| crate::Error::Internal(format!("migration failed: {error}")))
}

/// A round trip to the database, for health checks.
pub async fn ping(db: &PgPool) -> Result<()> {
    sqlx::query_scalar!("select 1 as \"one!\"")
        .fetch_one(db)
        .await?;
    Ok(())
}
