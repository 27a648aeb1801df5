//! argon2id with the OWASP-recommended parameters (19 MiB, 2 passes, 1 lane). Hashing
//! takes tens of milliseconds of CPU, so it always runs on the blocking thread pool.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{Error, Result};

const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None)
        .expect("the OWASP argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password into a PHC string.
pub async fn hash(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| Error::Internal(format!("password hashing failed: {error}")))
    })
    .await
    .map_err(|error| Error::Internal(format!("password hashing task failed: {error}")))?
}

/// Verifies a password against a stored PHC string. A malformed hash counts as a
/// mismatch (and is logged) rather than an error the caller could distinguish.
pub async fn verify(password: String, stored_hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || match PasswordHash::new(&stored_hash) {
        Ok(parsed) => hasher()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(error) => {
            tracing::error!(%error, "stored password hash is malformed");
            false
        }
    })
    .await
    .map_err(|error| Error::Internal(format!("password verification task failed: {error}")))
}

/// A valid hash of a random password, verified against when the email is unknown so
/// that a wrong email costs as much time as a wrong password.
pub(crate) const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Nq0i2Ww7rCwV1p6H3ZfhY3qYf2c0s4Wk3R5s0uHqjQk";

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hash_then_verify() {
        let hash = super::hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            super::verify("correct horse".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!super::verify("wrong horse".into(), hash).await.unwrap());
        assert!(
            !super::verify("x".into(), super::DUMMY_HASH.into())
                .await
                .unwrap()
        );
    }
}
