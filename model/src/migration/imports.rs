//! The stored reports of legacy imports: what each upload or command-line import of a
//! user-types or members file did, kept so the console can show the latest ones.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::legacy::ImportReport;
use crate::error::{Checked, Invalid, Problem};

/// The largest file a console upload takes (both files of one upload together): the
/// command line streams larger ones.
pub const UPLOAD_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Imports the console lists.
pub const RECENT_IMPORTS_MAX: i64 = 10;
/// Bad rows shown per import in the list (an import's own view shows every stored one).
pub const BAD_ROWS_IN_LIST: usize = 20;

/// Which legacy file an import read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportKind {
    UserTypes,
    Members,
}

impl ImportKind {
    pub const ALL: [ImportKind; 2] = [ImportKind::UserTypes, ImportKind::Members];

    /// The stored code (`legacy_imports_kind`).
    pub fn as_str(self) -> &'static str {
        match self {
            ImportKind::UserTypes => "user_types",
            ImportKind::Members => "members",
        }
    }

    /// The upload's form field (and `?kind=`) naming this file: `types` or `members`.
    /// Refusals of the file name this field.
    pub fn field(self) -> &'static str {
        match self {
            ImportKind::UserTypes => "types",
            ImportKind::Members => "members",
        }
    }

    /// A stored code or a form field.
    pub fn parse(text: &str) -> Checked<ImportKind> {
        match text.trim() {
            "user_types" | "types" => Ok(ImportKind::UserTypes),
            "members" => Ok(ImportKind::Members),
            _ => Err(Invalid::new("kind", Problem::Format)),
        }
    }

    /// The header the file must have (columns in any order).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            ImportKind::UserTypes => &["id", "name", "permissions", "max_licenses"],
            ImportKind::Members => &[
                "external_id",
                "user_type",
                "registered_at",
                "last_login_at",
                "license_count",
                "payment_total",
            ],
        }
    }
}

/// One import as stored: its file and its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub import_id: Uuid,
    pub kind: ImportKind,
    pub file_name: String,
    pub report: ImportReport,
    /// The admin's email; `None` for the command line.
    pub imported_by: Option<String>,
    pub imported_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_their_codes_and_fields() {
        for kind in ImportKind::ALL {
            assert_eq!(ImportKind::parse(kind.as_str()), Ok(kind));
            assert_eq!(ImportKind::parse(kind.field()), Ok(kind));
        }
        assert!(ImportKind::parse("tags").is_err());
    }
}
