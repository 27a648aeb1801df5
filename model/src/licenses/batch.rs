//! Batch assignment from a CSV file: the outcome of each row, the line parser and the
//! line splitter, and the batch as the console shows it.
//!
//! The file is read as a stream of byte chunks: [`LineSplitter`] cuts them into lines
//! (LF or CRLF, a BOM at the start dropped) without ever holding more than one line of
//! at most [`LINE_BYTES_MAX`] bytes, and [`parse_line`] reads one line (RFC 4180 quoting
//! within the line: a quoted field cannot span lines). Lines that cannot be read are
//! kept as `malformed` rows with a [`Malformed`] reason and their line number, so the
//! preview can show them; only bytes that are not UTF-8 refuse the whole file, since no
//! line after them can be trusted to be what the author meant.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Checked, Invalid, Problem};
use crate::members::EXTERNAL_ID_LENGTH_MAX;

/// The largest file accepted (bytes).
pub const FILE_BYTES_MAX: usize = 16 * 1024 * 1024;
/// The most rows (non-blank lines after the header) a file may have.
pub const ROWS_MAX: u32 = 200_000;
/// A longer line is malformed (`too_long`); its bytes are skipped, not kept.
pub const LINE_BYTES_MAX: usize = 1024;
/// The longest plan code (the `license_plans_code_format` constraint).
pub const PLAN_CODE_LENGTH_MAX: usize = 40;
/// Rows per page of the preview.
pub const ROWS_PAGE_MAX: i64 = 200;
/// Batches listed on the upload page.
pub const RECENT_MAX: i64 = 50;

/// What happens (preview: `Assign` and the refusals) or happened (after applying:
/// `Assigned` and the refusals) to one row of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Predicted: the row would get a license.
    Assign,
    /// Applied: the row got a license.
    Assigned,
    /// The line could not be read (see [`Malformed`]).
    Malformed,
    /// The same external id and plan appear on an earlier line.
    Duplicate,
    /// No member of the tenant has this external id.
    UnknownMember,
    /// No plan of the tenant has this code (or the row has none and there is no
    /// default plan).
    UnknownPlan,
    /// The plan is deactivated: no seats are assigned from it.
    PlanInactive,
    /// The member's seats (held plus the rows before this one) reach their quota.
    OverQuota,
    /// The plan's free, usable licenses are taken by earlier rows.
    NoFreeLicense,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Assign,
        Outcome::Assigned,
        Outcome::Malformed,
        Outcome::Duplicate,
        Outcome::UnknownMember,
        Outcome::UnknownPlan,
        Outcome::PlanInactive,
        Outcome::OverQuota,
        Outcome::NoFreeLicense,
    ];

    /// The value stored in `license_batch_rows.predicted` / `outcome`.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Assign => "assign",
            Outcome::Assigned => "assigned",
            Outcome::Malformed => "malformed",
            Outcome::Duplicate => "duplicate",
            Outcome::UnknownMember => "unknown_member",
            Outcome::UnknownPlan => "unknown_plan",
            Outcome::PlanInactive => "plan_inactive",
            Outcome::OverQuota => "over_quota",
            Outcome::NoFreeLicense => "no_free_license",
        }
    }

    pub fn parse(value: &str) -> Checked<Self> {
        Outcome::ALL
            .into_iter()
            .find(|o| o.as_str() == value)
            .ok_or_else(|| Invalid::new("outcome", Problem::Format))
    }

    /// A row that gets (or got) a license; every other outcome is a refusal.
    pub fn is_assignment(self) -> bool {
        matches!(self, Outcome::Assign | Outcome::Assigned)
    }
}

/// Why a line could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Malformed {
    /// More than two fields (external id, plan code).
    TooManyFields,
    /// The external id is empty.
    EmptyExternalId,
    /// A control character (other than the line end) in a field.
    ControlCharacter,
    /// A field or the whole line is too long.
    TooLong,
    /// A quoted field is not closed on its line.
    UnterminatedQuote,
    /// A quote inside an unquoted field, or text after a closing quote.
    StrayQuote,
}

impl Malformed {
    pub const ALL: [Malformed; 6] = [
        Malformed::TooManyFields,
        Malformed::EmptyExternalId,
        Malformed::ControlCharacter,
        Malformed::TooLong,
        Malformed::UnterminatedQuote,
        Malformed::StrayQuote,
    ];

    /// The value stored in `license_batch_rows.malformed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Malformed::TooManyFields => "too_many_fields",
            Malformed::EmptyExternalId => "empty_external_id",
            Malformed::ControlCharacter => "control_character",
            Malformed::TooLong => "too_long",
            Malformed::UnterminatedQuote => "unterminated_quote",
            Malformed::StrayQuote => "stray_quote",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Malformed::ALL.into_iter().find(|m| m.as_str() == value)
    }
}

/// One line of the file, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// The optional header `external_id[,plan_code]` (first line only).
    Header,
    /// Nothing but white space: skipped (not a row).
    Blank,
    Row {
        external_id: String,
        /// Lower-cased; `None` takes the batch's default plan.
        plan_code: Option<String>,
    },
    Malformed(Malformed),
}

/// A line that is not UTF-8: the whole file is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotUtf8;

/// Reads one line (without its LF; a trailing CR is dropped). `first` says whether it
/// is the file's first line, the only one that may be the header (its BOM already
/// removed by [`LineSplitter`]).
pub fn parse_line(line: &[u8], first: bool) -> Result<Line, NotUtf8> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line).map_err(|_| NotUtf8)?;
    if text.trim().is_empty() {
        return Ok(Line::Blank);
    }
    if line.len() > LINE_BYTES_MAX {
        return Ok(Line::Malformed(Malformed::TooLong));
    }
    let fields = match split_fields(text) {
        Ok(fields) => fields,
        Err(malformed) => return Ok(Line::Malformed(malformed)),
    };
    if first && is_header(&fields) {
        return Ok(Line::Header);
    }
    if fields.len() > 2 {
        return Ok(Line::Malformed(Malformed::TooManyFields));
    }
    if fields.iter().any(|f| f.chars().any(char::is_control)) {
        return Ok(Line::Malformed(Malformed::ControlCharacter));
    }
    let external_id = fields[0].trim();
    if external_id.is_empty() {
        return Ok(Line::Malformed(Malformed::EmptyExternalId));
    }
    if external_id.chars().count() > EXTERNAL_ID_LENGTH_MAX {
        return Ok(Line::Malformed(Malformed::TooLong));
    }
    let plan_code = fields
        .get(1)
        .map(|code| code.trim().to_lowercase())
        .filter(|code| !code.is_empty());
    if plan_code
        .as_ref()
        .is_some_and(|code| code.chars().count() > PLAN_CODE_LENGTH_MAX)
    {
        return Ok(Line::Malformed(Malformed::TooLong));
    }
    Ok(Line::Row {
        external_id: external_id.to_owned(),
        plan_code,
    })
}

fn is_header(fields: &[String]) -> bool {
    let name = |i: usize| fields.get(i).map(|f| f.trim().to_ascii_lowercase());
    name(0).as_deref() == Some("external_id")
        && match fields.len() {
            1 => true,
            2 => name(1).as_deref() == Some("plan_code"),
            _ => false,
        }
}

/// Splits a line into fields: separated by commas, a field in double quotes may hold
/// commas and doubled quotes (`""`).
fn split_fields(text: &str) -> Result<Vec<String>, Malformed> {
    let mut fields = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let mut field = String::new();
        // Leading spaces before an opening quote are allowed (and dropped).
        while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
            field.push(chars.next().unwrap_or(' '));
        }
        if chars.peek() == Some(&'"') {
            chars.next();
            field.clear();
            loop {
                match chars.next() {
                    None => return Err(Malformed::UnterminatedQuote),
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            while chars.peek().is_some_and(|c| *c == ' ' || *c == '\t') {
                chars.next();
            }
            match chars.next() {
                None => {
                    fields.push(field);
                    return Ok(fields);
                }
                Some(',') => fields.push(field),
                Some(_) => return Err(Malformed::StrayQuote),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => {
                        fields.push(field);
                        break;
                    }
                    Some('"') => return Err(Malformed::StrayQuote),
                    Some(c) => field.push(c),
                }
            }
        }
    }
}

/// A line cut from the stream: its number (from 1) and its bytes, or the fact that it
/// was longer than [`LINE_BYTES_MAX`] (its bytes were dropped as they came).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cut {
    Line { line_no: u32, bytes: Vec<u8> },
    TooLong { line_no: u32 },
}

/// Cuts a stream of byte chunks into lines, holding at most one line of at most
/// [`LINE_BYTES_MAX`] bytes (plus the CR) between chunks. A UTF-8 BOM at the start of
/// the file is dropped.
#[derive(Debug, Default)]
pub struct LineSplitter {
    buffer: Vec<u8>,
    /// The current line went over the limit: drop bytes until its end.
    skipping: bool,
    line_no: u32,
    started: bool,
}

impl LineSplitter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one chunk; every line it completes is passed to `emit`.
    pub fn push(&mut self, mut chunk: &[u8], mut emit: impl FnMut(Cut)) {
        if !self.started {
            // A BOM could in principle straddle chunks; only a chunk of fewer than three
            // bytes at the very start could split it, so wait for three.
            let have = self.buffer.len() + chunk.len();
            if have < 3 {
                self.buffer.extend_from_slice(chunk);
                return;
            }
            self.started = true;
            let mut head = std::mem::take(&mut self.buffer);
            head.extend_from_slice(chunk);
            let rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head).to_vec();
            self.push_started(&rest, &mut emit);
            return;
        }
        while !chunk.is_empty() {
            chunk = self.step(chunk, &mut emit);
        }
    }

    fn push_started(&mut self, mut chunk: &[u8], emit: &mut impl FnMut(Cut)) {
        while !chunk.is_empty() {
            chunk = self.step(chunk, emit);
        }
    }

    fn step<'a>(&mut self, chunk: &'a [u8], emit: &mut impl FnMut(Cut)) -> &'a [u8] {
        match chunk.iter().position(|b| *b == b'\n') {
            Some(end) => {
                self.take(&chunk[..end]);
                self.finish_line(emit);
                &chunk[end + 1..]
            }
            None => {
                self.take(chunk);
                &[]
            }
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        if self.skipping {
            return;
        }
        // One byte more than the limit for a CR before the LF.
        if self.buffer.len() + bytes.len() > LINE_BYTES_MAX + 1 {
            self.skipping = true;
            self.buffer.clear();
        } else {
            self.buffer.extend_from_slice(bytes);
        }
    }

    fn finish_line(&mut self, emit: &mut impl FnMut(Cut)) {
        self.line_no = self.line_no.saturating_add(1);
        if std::mem::take(&mut self.skipping) {
            emit(Cut::TooLong {
                line_no: self.line_no,
            });
        } else {
            emit(Cut::Line {
                line_no: self.line_no,
                bytes: std::mem::take(&mut self.buffer),
            });
        }
    }

    /// The end of the stream: the last line, if it had no line end.
    pub fn finish(&mut self, mut emit: impl FnMut(Cut)) {
        if !self.started {
            self.started = true;
            let head = std::mem::take(&mut self.buffer);
            let rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&head).to_vec();
            self.buffer = rest;
        }
        if self.skipping || !self.buffer.is_empty() {
            self.finish_line(&mut emit);
        }
    }
}

/// Where a batch is: previewed, being applied (by a background worker), done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Uploaded,
    Applying,
    Applied,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Uploaded => "uploaded",
            Status::Applying => "applying",
            Status::Applied => "applied",
        }
    }

    pub fn parse(value: &str) -> Checked<Self> {
        [Status::Uploaded, Status::Applying, Status::Applied]
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or_else(|| Invalid::new("status", Problem::Format))
    }
}

/// How many rows have one outcome (the applied one where a row was applied, else the
/// predicted one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutcomeCount {
    pub outcome: Outcome,
    pub rows: i64,
}

/// An uploaded file and where its application stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub batch_id: Uuid,
    pub file_name: String,
    /// The plan of rows that name none.
    pub default_plan_code: Option<String>,
    pub status: Status,
    pub rows_total: i32,
    /// Rows up to this line number have been applied.
    pub applied_through: i32,
    /// The last line number of the file's rows (0 when it has none).
    pub last_line: i32,
    pub assigned: i32,
    pub refused: i32,
    /// Rows per outcome, in [`Outcome::ALL`] order, outcomes without rows left out.
    pub counts: Vec<OutcomeCount>,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub applied_at: Option<DateTime<Utc>>,
    /// The upload was a file this tenant had uploaded before: this is that batch.
    pub existing: bool,
}

impl Batch {
    /// Rows applied so far, out of `rows_total`, as a whole percentage.
    pub fn percent(&self) -> i64 {
        if self.status == Status::Applied || self.last_line == 0 {
            return 100;
        }
        (i64::from(self.applied_through.clamp(0, self.last_line)) * 100 / i64::from(self.last_line))
            .clamp(0, 100)
    }

    pub fn count(&self, outcome: Outcome) -> i64 {
        self.counts
            .iter()
            .find(|c| c.outcome == outcome)
            .map_or(0, |c| c.rows)
    }
}

/// One row of a batch as the preview shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRow {
    pub line_no: i32,
    pub external_id: Option<String>,
    /// The plan code of the line, or the default plan's.
    pub plan_code: Option<String>,
    pub malformed: Option<Malformed>,
    pub predicted: Outcome,
    /// Set once the row was applied.
    pub outcome: Option<Outcome>,
    pub license_key: Option<String>,
}

impl BatchRow {
    /// What the row shows: its applied outcome, else the prediction.
    pub fn current(&self) -> Outcome {
        self.outcome.unwrap_or(self.predicted)
    }
}

/// A page of a batch's rows, in line order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRowPage {
    pub rows: Vec<BatchRow>,
    /// The line number to continue after, when there are more.
    pub next: Option<i32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, plan: Option<&str>) -> Line {
        Line::Row {
            external_id: id.into(),
            plan_code: plan.map(str::to_owned),
        }
    }

    fn cut(input: &[&[u8]]) -> Vec<Cut> {
        let mut splitter = LineSplitter::new();
        let mut out = Vec::new();
        for chunk in input {
            splitter.push(chunk, |c| out.push(c));
        }
        splitter.finish(|c| out.push(c));
        out
    }

    fn line(line_no: u32, bytes: &str) -> Cut {
        Cut::Line {
            line_no,
            bytes: bytes.as_bytes().to_vec(),
        }
    }

    #[test]
    fn outcomes_round_trip() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::parse(outcome.as_str()), Ok(outcome));
        }
        for malformed in Malformed::ALL {
            assert_eq!(Malformed::parse(malformed.as_str()), Some(malformed));
        }
        assert!(Outcome::parse("nope").is_err());
    }

    #[test]
    fn plain_and_quoted_fields() {
        assert_eq!(parse_line(b"m-1", false), Ok(row("m-1", None)));
        assert_eq!(
            parse_line(b" m-1 , PRO ", false),
            Ok(row("m-1", Some("pro")))
        );
        assert_eq!(parse_line(b"m-1,\r", false), Ok(row("m-1", None)));
        assert_eq!(
            parse_line(br#""a,""b""",pro"#, false),
            Ok(row(r#"a,"b""#, Some("pro")))
        );
        assert_eq!(parse_line(b"  \r", false), Ok(Line::Blank));
        assert_eq!(
            parse_line("李雷,pro".as_bytes(), false),
            Ok(row("李雷", Some("pro")))
        );
    }

    #[test]
    fn header_only_on_the_first_line() {
        assert_eq!(parse_line(b"external_id,plan_code", true), Ok(Line::Header));
        assert_eq!(parse_line(b"External_ID", true), Ok(Line::Header));
        assert_eq!(
            parse_line(b"external_id,plan_code", false),
            Ok(row("external_id", Some("plan_code")))
        );
        assert_eq!(parse_line(b"m-1,pro", true), Ok(row("m-1", Some("pro"))));
    }

    #[test]
    fn malformed_lines_say_why() {
        let m = |bytes: &[u8]| parse_line(bytes, false);
        assert_eq!(m(b"a,b,c"), Ok(Line::Malformed(Malformed::TooManyFields)));
        assert_eq!(m(b" ,pro"), Ok(Line::Malformed(Malformed::EmptyExternalId)));
        assert_eq!(
            m(b"a\x07b"),
            Ok(Line::Malformed(Malformed::ControlCharacter))
        );
        assert_eq!(
            m(b"\"abc"),
            Ok(Line::Malformed(Malformed::UnterminatedQuote))
        );
        assert_eq!(m(b"ab\"c"), Ok(Line::Malformed(Malformed::StrayQuote)));
        assert_eq!(m(b"\"ab\"c"), Ok(Line::Malformed(Malformed::StrayQuote)));
        let long_id = "x".repeat(EXTERNAL_ID_LENGTH_MAX + 1);
        assert_eq!(
            m(long_id.as_bytes()),
            Ok(Line::Malformed(Malformed::TooLong))
        );
        let long_plan = format!("m,{}", "p".repeat(PLAN_CODE_LENGTH_MAX + 1));
        assert_eq!(
            m(long_plan.as_bytes()),
            Ok(Line::Malformed(Malformed::TooLong))
        );
        assert_eq!(m(b"a\xFFb"), Err(NotUtf8));
    }

    #[test]
    fn splitter_handles_bom_crlf_chunks_and_a_last_line_without_end() {
        let got = cut(&[b"\xEF\xBB", b"\xBFexternal_id\r\nm-1,pro\r", b"\nm-2"]);
        assert_eq!(
            got,
            vec![
                line(1, "external_id\r"),
                line(2, "m-1,pro\r"),
                line(3, "m-2")
            ]
        );
        assert_eq!(
            cut(&[b"a\n\nb\n"]),
            vec![line(1, "a"), line(2, ""), line(3, "b")]
        );
        assert_eq!(cut(&[b""]), vec![]);
        assert_eq!(cut(&[b"ab"]), vec![line(1, "ab")]);
    }

    #[test]
    fn splitter_drops_over_long_lines_as_they_come() {
        let long = vec![b'x'; LINE_BYTES_MAX + 10];
        let got = cut(&[b"a\n", &long[..600], &long[600..], b"\nb\n"]);
        assert_eq!(
            got,
            vec![line(1, "a"), Cut::TooLong { line_no: 2 }, line(3, "b")]
        );
        let got = cut(&[&long]);
        assert_eq!(got, vec![Cut::TooLong { line_no: 1 }]);
    }

    #[test]
    fn percent_is_bounded() {
        let mut batch = Batch {
            batch_id: Uuid::nil(),
            file_name: "f.csv".into(),
            default_plan_code: None,
            status: Status::Applying,
            rows_total: 10,
            applied_through: 5,
            last_line: 10,
            assigned: 0,
            refused: 0,
            counts: vec![],
            created_by: None,
            created_at: DateTime::UNIX_EPOCH,
            applied_at: None,
            existing: false,
        };
        assert_eq!(batch.percent(), 50);
        batch.status = Status::Applied;
        assert_eq!(batch.percent(), 100);
    }
}
