//! The audit log as it is read.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub audit_id: i64,
    pub occurred_at: DateTime<Utc>,
    /// Who acted (an email, or the command line), as recorded.
    #[serde(rename = "actor")]
    pub actor_label: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    /// Pass as `before` to read the next (older) page; `None` on the last page.
    pub next_before: Option<i64>,
}

/// What to look for in the audit log; every part is optional and they combine.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    /// The start of who acted (an email), case-insensitive.
    pub actor: Option<String>,
    /// An action, or its start (`points.` for every points action).
    pub action: Option<String>,
    /// A target's id (a member, a request, a tag…).
    pub target_id: Option<String>,
    /// From this UTC day, inclusive.
    pub from: Option<chrono::NaiveDate>,
    /// Up to this UTC day, inclusive.
    pub to: Option<chrono::NaiveDate>,
}

/// One field an audited change touched: its value before and after (`None` where the
/// side has no such field).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Entry {
    /// The fields whose values differ between `before` and `after` (every field of the
    /// side that exists, for a creation or a removal), in field order.
    pub fn changes(&self) -> Vec<FieldChange> {
        let object = |value: &Option<Value>| match value {
            Some(Value::Object(map)) => map.clone(),
            Some(other) => {
                let mut map = serde_json::Map::new();
                map.insert("value".into(), other.clone());
                map
            }
            None => serde_json::Map::new(),
        };
        let (before, after) = (object(&self.before), object(&self.after));
        let mut fields: Vec<&String> = before.keys().chain(after.keys()).collect();
        fields.sort();
        fields.dedup();
        fields
            .into_iter()
            .filter(|field| before.get(*field) != after.get(*field))
            .map(|field| FieldChange {
                field: field.clone(),
                before: before.get(field).cloned(),
                after: after.get(field).cloned(),
            })
            .collect()
    }
}

/// The header row of an audit export.
pub const CSV_HEADER: [&str; 9] = [
    "occurred_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "changed_fields",
    "before",
    "after",
    "request_id",
];

/// Appends `entries` to `out` as CSV (RFC 4180: CRLF line ends, every cell quoted when
/// it holds a comma, quote or line break), after the header row. "before" and "after"
/// hold only the changed fields, as JSON objects. Cells that a spreadsheet would run as
/// a formula (starting with `=`, `+`, `-`, `@`, tab or CR, and not a plain number) are
/// prefixed with `'`, so an actor or a tag name cannot inject one.
pub fn write_csv(out: &mut String, entries: &[Entry]) {
    write_row(out, CSV_HEADER.iter().map(|cell| (*cell).to_owned()));
    for entry in entries {
        let changes = entry.changes();
        let side = |pick: fn(&FieldChange) -> &Option<Value>| {
            let map: serde_json::Map<String, Value> = changes
                .iter()
                .filter_map(|change| pick(change).clone().map(|v| (change.field.clone(), v)))
                .collect();
            if map.is_empty() {
                String::new()
            } else {
                Value::Object(map).to_string()
            }
        };
        write_row(
            out,
            [
                entry
                    .occurred_at
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                entry.actor_label.clone(),
                entry.action.clone(),
                entry.target_type.clone(),
                entry.target_id.clone(),
                changes
                    .iter()
                    .map(|change| change.field.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                side(|change| &change.before),
                side(|change| &change.after),
                entry.request_id.clone().unwrap_or_default(),
            ]
            .into_iter(),
        );
    }
}

fn write_row(out: &mut String, cells: impl Iterator<Item = String>) {
    crate::csv::write_row(out, cells);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changes_are_the_fields_that_differ() {
        let entry = Entry {
            audit_id: 1,
            occurred_at: chrono::DateTime::UNIX_EPOCH,
            actor_label: "a@x".into(),
            action: "admin.role".into(),
            target_type: "admin".into(),
            target_id: "1".into(),
            before: Some(json!({ "email": "b@x", "role": "viewer" })),
            after: Some(json!({ "email": "b@x", "role": "support" })),
            request_id: None,
        };
        let changes = entry.changes();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].field, "role");
        assert_eq!(changes[0].after, Some(json!("support")));
        let created = Entry {
            before: None,
            ..entry
        };
        assert_eq!(created.changes().len(), 2);
    }

    #[test]
    fn csv_quotes_cells_and_neutralises_formulas() {
        let entry = Entry {
            audit_id: 7,
            occurred_at: chrono::DateTime::UNIX_EPOCH,
            actor_label: "=HYPERLINK(\"x\")".into(),
            action: "points.adjust".into(),
            target_type: "member".into(),
            target_id: "M, 1".into(),
            before: Some(json!({ "balance": 5 })),
            after: Some(json!({ "balance": -5, "note": "会员\n二" })),
            request_id: None,
        };
        let mut out = String::new();
        write_csv(&mut out, &[entry]);
        let lines: Vec<&str> = out.split("\r\n").collect();
        assert_eq!(lines[0], CSV_HEADER.join(","));
        assert_eq!(
            lines[1],
            "1970-01-01T00:00:00Z,\"'=HYPERLINK(\"\"x\"\")\",points.adjust,member,\"M, 1\",balance note,\"{\"\"balance\"\":5}\",\"{\"\"balance\"\":-5,\"\"note\"\":\"\"会员\\n二\"\"}\","
        );
        assert_eq!(lines.len(), 3, "every row ends with CRLF");
    }
}
