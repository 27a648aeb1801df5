use serde::{Deserialize, Serialize};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a domain operation can refuse, in the domain's own words. Callers map it
/// to HTTP or to server-function errors in exactly one place each.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not signed in")]
    Unauthenticated,
    /// One message whichever part of the credentials was wrong.
    #[error("invalid email or password")]
    InvalidCredentials,
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("too many failed sign-in attempts; try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: i64 },
    #[error("forbidden")]
    Forbidden,
    #[error("{entity} not found")]
    NotFound { entity: &'static str },
    #[error("invalid {field}: {problem:?}")]
    Invalid {
        field: &'static str,
        problem: Problem,
    },
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    /// Spending (or correcting) more than the member has; nothing was changed.
    #[error("insufficient points: {available} available, {requested} requested")]
    InsufficientPoints { available: i64, requested: i64 },
    /// The level tiers would not be a valid set; names the tiers involved.
    #[error("invalid level tiers: {0:?}")]
    Tiers(crate::points::levels::TierProblem),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What is wrong with a field, as data so that each UI language can phrase it.
/// `NotPublic`: a host that does not resolve, or resolves to an address other than a
/// public internet one (webhooks reach public addresses only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Problem {
    Required,
    TooShort {
        min: usize,
    },
    TooLong {
        max: usize,
    },
    /// A number above the largest accepted value (or below its negative).
    TooLarge {
        max: i64,
    },
    Format,
    NotPublic,
}

/// A rule about existing state that the request would break.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Conflict {
    TenantSlugTaken,
    AlreadyMember,
    EmailTaken,
    /// A tenant must keep at least one enabled tenant administrator.
    LastTenantAdmin,
    /// Admins cannot disable their own access or change their own role.
    OwnAccount,
    MemberExternalIdTaken,
    /// The same idempotency key was used with a different request.
    IdempotencyKeyReused,
    /// The entry was reversed already (or is itself a reversal).
    AlreadyReversed,
    /// The record changed since it was read (optimistic concurrency).
    StaleVersion,
    /// The request was decided already.
    AlreadyDecided,
    /// Four eyes: a request is decided by someone other than its requester.
    OwnRequest,
    TagCodeTaken,
    /// The member holds this tag already (renew the grant instead).
    TagAlreadyHeld,
    /// The tag is deactivated: no new grants.
    TagInactive,
    /// The grant was revoked or has expired.
    GrantEnded,
}

impl Error {
    pub fn invalid(field: &'static str, problem: Problem) -> Self {
        Error::Invalid { field, problem }
    }

    pub fn not_found(entity: &'static str) -> Self {
        Error::NotFound { entity }
    }
}

/// Maps violations of named PostgreSQL constraints onto domain errors, so the database
/// stays the one enforcer of uniqueness and the caller still gets a precise answer.
pub(crate) trait ResultExt<T> {
    fn on_constraint(self, name: &str, to_error: impl FnOnce() -> Error) -> Result<T>;
}

impl<T, E: Into<Error>> ResultExt<T> for std::result::Result<T, E> {
    fn on_constraint(self, name: &str, to_error: impl FnOnce() -> Error) -> Result<T> {
        self.map_err(|error| match error.into() {
            Error::Database(sqlx::Error::Database(database_error))
                if database_error.constraint() == Some(name) =>
            {
                to_error()
            }
            other => other,
        })
    }
}
