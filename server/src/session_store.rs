//! The console's session store: tower-sessions records kept in the `sessions` table,
//! so sessions survive restarts and are shared by every server process.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// How many times `create` draws a new id when the random one is taken (it never is in
/// practice: ids are 128 random bits).
const CREATE_ATTEMPTS_MAX: usize = 8;

#[derive(Debug, Clone)]
pub struct PgSessionStore {
    db: PgPool,
}

impl PgSessionStore {
    pub fn new(db: PgPool) -> Self {
        PgSessionStore { db }
    }

    /// Deletes expired sessions; run periodically by the server.
    pub async fn delete_expired(&self) -> Result<u64, sqlx::Error> {
        let deleted = sqlx::query!("delete from sessions where expires_at <= now()")
            .execute(&self.db)
            .await?;
        Ok(deleted.rows_affected())
    }
}

fn expires_at(record: &Record) -> session_store::Result<DateTime<Utc>> {
    DateTime::from_timestamp(record.expiry_date.unix_timestamp(), 0)
        .ok_or_else(|| session_store::Error::Encode("session expiry out of range".into()))
}

/// The session map as JSON (the id and expiry have their own columns).
fn encode(record: &Record) -> session_store::Result<serde_json::Value> {
    serde_json::to_value(&record.data)
        .map_err(|error| session_store::Error::Encode(error.to_string()))
}

fn backend(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait]
impl SessionStore for PgSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        for _ in 0..CREATE_ATTEMPTS_MAX {
            let inserted = sqlx::query!(
                "insert into sessions (session_id, data, expires_at) values ($1, $2, $3)
                 on conflict (session_id) do nothing",
                record.id.to_string(),
                encode(record)?,
                expires_at(record)?
            )
            .execute(&self.db)
            .await
            .map_err(backend)?;
            if inserted.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
        Err(session_store::Error::Backend(
            "could not allocate a session id".into(),
        ))
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        sqlx::query!(
            "insert into sessions (session_id, data, expires_at) values ($1, $2, $3)
             on conflict (session_id) do update set data = excluded.data, expires_at = excluded.expires_at",
            record.id.to_string(),
            encode(record)?,
            expires_at(record)?
        )
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let row = sqlx::query!(
            "select data, expires_at from sessions where session_id = $1 and expires_at > now()",
            session_id.to_string()
        )
        .fetch_optional(&self.db)
        .await
        .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let decode = |error: String| session_store::Error::Decode(error);
        let data = serde_json::from_value(row.data).map_err(|error| decode(error.to_string()))?;
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(row.expires_at.timestamp())
            .map_err(|error| decode(error.to_string()))?;
        Ok(Some(Record {
            id: *session_id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        sqlx::query!(
            "delete from sessions where session_id = $1",
            session_id.to_string()
        )
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(())
    }
}
