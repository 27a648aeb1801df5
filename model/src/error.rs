//! What a request can be refused for, as data: each UI language (and later the REST
//! API's error objects) phrases it in its own words.

use serde::{Deserialize, Serialize};

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
    /// A file that is not UTF-8 text; the first line where that shows.
    NotUtf8 {
        line: u32,
    },
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
    LicensePlanCodeTaken,
    /// The plan is deactivated: no new seats are issued or assigned from it.
    LicensePlanInactive,
    /// The license cannot be used now; the code says why (expired, suspended, revoked,
    /// not assigned, too many activations).
    LicenseUnusable(crate::licenses::Code),
    /// The license has a holder already.
    LicenseHeld,
    /// The member holds as many licenses as their quota allows.
    LicenseQuotaReached {
        held: i64,
        quota: i64,
    },
    /// No free, usable license of the plan is left.
    NoFreeLicense,
    /// A revoked license stays revoked.
    LicenseRevoked,
    /// The license is held by this member already.
    SameHolder,
    /// The device is not (or no longer) active on this license.
    ActivationEnded,
    /// Releasing a seat is for members over quota; this one holds no more than allowed.
    NotOverQuota {
        held: i64,
        quota: i64,
    },
    /// The tenant has a migration or rollback run going (running or paused) already.
    MigrationRunActive,
    /// The run has ended (completed, cancelled or failed): it cannot be paused,
    /// resumed or cancelled.
    MigrationRunEnded,
    /// The tenant has a rollout going (running or paused) already.
    RolloutActive,
    /// The rollout has ended (completed or aborted).
    RolloutEnded,
    /// The next stage cannot be entered now; what stops it.
    RolloutBlocked(Vec<crate::rollout::score::Blocker>),
    /// The API key is revoked or past its grace: it cannot be rotated.
    ApiKeyEnded,
}

/// A field that breaks a rule: what pure checks (input normalisation, parsing of codes)
/// answer. `domain` turns it into its `Error::Invalid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: &'static str,
    pub problem: Problem,
}

impl Invalid {
    pub fn new(field: &'static str, problem: Problem) -> Self {
        Invalid { field, problem }
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid {}: {:?}", self.field, self.problem)
    }
}

impl std::error::Error for Invalid {}

/// The result of a pure check.
pub type Checked<T> = Result<T, Invalid>;
