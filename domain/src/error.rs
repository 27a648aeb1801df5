pub use model::{Conflict, Invalid, Problem};

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
    Tiers(model::points::levels::TierProblem),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<Invalid> for Error {
    fn from(invalid: Invalid) -> Self {
        Error::Invalid {
            field: invalid.field,
            problem: invalid.problem,
        }
    }
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
