//! CSV both ways.
//!
//! *Writing* (downloads): RFC 4180 (CRLF line ends, a cell quoted when it holds a
//! comma, quote or line break), with cells a spreadsheet would run as a formula
//! neutralised. Shared by every export (audit log, licenses, assignments) so that one
//! rule protects them all.
//!
//! *Reading* (uploads): a streaming reader, fed chunks of bytes as they arrive,
//! it answers complete records with the line each starts on, so a file of any size is
//! read with memory for one record. Quoted fields may hold commas, quotes (`""`) and
//! line breaks; CRLF and LF both end a record; a UTF-8 byte-order mark at the start is
//! skipped. Bytes that are not UTF-8 make that record an error naming its line (the
//! caller decides whether that refuses the file).

/// Appends one row to `out`. Cells that a spreadsheet would run as a formula (starting
/// with `=`, `+`, `-`, `@`, tab or CR, and not a plain number) are prefixed with `'`, so
/// a name or a reason typed by someone cannot inject one.
pub fn write_row<S: AsRef<str>>(out: &mut String, cells: impl IntoIterator<Item = S>) {
    for (index, cell) in cells.into_iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        let cell = cell.as_ref();
        let formula =
            cell.starts_with(['=', '+', '-', '@', '\t', '\r']) && cell.parse::<f64>().is_err();
        let quoted = cell.contains([',', '"', '\n', '\r']);
        if quoted {
            out.push('"');
        }
        if formula {
            out.push('\'');
        }
        if quoted {
            out.push_str(&cell.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(cell);
        }
    }
    out.push_str("\r\n");
}

/// The UTF-8 byte-order mark that makes spreadsheets read a download as UTF-8.
pub const BOM: &str = "\u{feff}";

/// Longest record accepted (a runaway quote must not swallow the whole file).
pub const RECORD_BYTES_MAX: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The record's bytes are not UTF-8.
    Encoding,
    /// A quote opened and never closed before the end of the file.
    UnclosedQuote,
    /// Text after a closing quote (`"a"b`).
    TextAfterQuote,
    /// Longer than [`RECORD_BYTES_MAX`].
    TooLong,
}

impl RecordError {
    /// A stable code for reports.
    pub fn as_str(&self) -> &'static str {
        match self {
            RecordError::Encoding => "encoding",
            RecordError::UnclosedQuote => "unclosed_quote",
            RecordError::TextAfterQuote => "text_after_quote",
            RecordError::TooLong => "too_long",
        }
    }
}

/// One record: the line it starts on (1-based) and its fields, or why it is unreadable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: u64,
    pub fields: Result<Vec<String>, RecordError>,
}

/// The reader's state between chunks.
#[derive(Debug, Default)]
pub struct Reader {
    /// Bytes of the record being read.
    pending: Vec<u8>,
    in_quotes: bool,
    /// The line the pending record starts on, and the line the reader is on.
    record_line: u64,
    line: u64,
    started: bool,
    /// A CR seen at the end of the previous chunk (its LF may open the next).
    after_cr: bool,
    /// After a record too long: skipping to the end of its line.
    skipping: bool,
}

impl Reader {
    pub fn new() -> Self {
        Reader {
            record_line: 1,
            line: 1,
            ..Reader::default()
        }
    }

    /// Reads a chunk; answers the records it completed (blank lines are skipped).
    pub fn push(&mut self, mut chunk: &[u8]) -> Vec<Record> {
        if !self.started {
            let mut head = std::mem::take(&mut self.pending);
            head.extend_from_slice(chunk);
            if head.len() < 3 && b"\xEF\xBB\xBF".starts_with(&head) {
                // Too short to tell whether the file starts with a byte-order mark.
                self.pending = head;
                return Vec::new();
            }
            self.started = true;
            let skip = if head.starts_with(b"\xEF\xBB\xBF") {
                3
            } else {
                0
            };
            let rest = head[skip..].to_vec();
            return self.push_bytes(&rest);
        }
        if self.after_cr && chunk.first() == Some(&b'\n') {
            chunk = &chunk[1..];
        }
        self.after_cr = false;
        self.push_bytes(chunk)
    }

    fn push_bytes(&mut self, chunk: &[u8]) -> Vec<Record> {
        let mut records = Vec::new();
        let mut i = 0;
        while i < chunk.len() {
            let byte = chunk[i];
            i += 1;
            if self.skipping {
                if byte == b'\n' {
                    self.skipping = false;
                    self.line += 1;
                    self.record_line = self.line;
                }
                continue;
            }
            match byte {
                b'"' => {
                    self.in_quotes = !self.in_quotes;
                    self.pending.push(byte);
                }
                b'\r' | b'\n' if !self.in_quotes => {
                    if byte == b'\r' {
                        if chunk.get(i) == Some(&b'\n') {
                            i += 1;
                        } else if i == chunk.len() {
                            self.after_cr = true;
                        }
                    }
                    self.line += 1;
                    if let Some(record) = self.take_record() {
                        records.push(record);
                    }
                    self.record_line = self.line;
                }
                b'\n' => {
                    self.line += 1;
                    self.pending.push(byte);
                }
                _ => self.pending.push(byte),
            }
            if self.pending.len() > RECORD_BYTES_MAX {
                // Skip to the end of this physical line and report the record.
                records.push(Record {
                    line: self.record_line,
                    fields: Err(RecordError::TooLong),
                });
                self.pending.clear();
                self.in_quotes = false;
                self.skipping = true;
            }
        }
        records
    }

    /// The last record, at the end of the file.
    pub fn finish(mut self) -> Option<Record> {
        if !self.started {
            self.started = true;
            let head = std::mem::take(&mut self.pending);
            let skip = if head.starts_with(b"\xEF\xBB\xBF") {
                3
            } else {
                0
            };
            self.pending = head[skip..].to_vec();
        }
        if self.in_quotes {
            return Some(Record {
                line: self.record_line,
                fields: Err(RecordError::UnclosedQuote),
            });
        }
        self.take_record()
    }

    fn take_record(&mut self) -> Option<Record> {
        let bytes = std::mem::take(&mut self.pending);
        self.in_quotes = false;
        if bytes.iter().all(|b| *b == b' ' || *b == b'\t') {
            return None;
        }
        let line = self.record_line;
        let Ok(text) = String::from_utf8(bytes) else {
            return Some(Record {
                line,
                fields: Err(RecordError::Encoding),
            });
        };
        Some(Record {
            line,
            fields: split(&text),
        })
    }
}

/// Splits one record's text into fields.
fn split(text: &str) -> Result<Vec<String>, RecordError> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut closed = false;
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted => {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                    closed = true;
                }
            }
            '"' if field.trim().is_empty() && !closed => {
                field.clear();
                quoted = true;
            }
            ',' if !quoted => {
                fields.push(std::mem::take(&mut field));
                closed = false;
            }
            c if closed && !c.is_whitespace() => return Err(RecordError::TextAfterQuote),
            _ if closed => {}
            c => field.push(c),
        }
    }
    if quoted {
        return Err(RecordError::UnclosedQuote);
    }
    fields.push(field);
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_neutralises() {
        let mut out = String::new();
        write_row(&mut out, ["a,b", "=1+2", "-5", "say \"hi\"", "", "@x,y"]);
        assert_eq!(out, "\"a,b\",'=1+2,-5,\"say \"\"hi\"\"\",,\"'@x,y\"\r\n");
    }

    fn read(chunks: &[&[u8]]) -> Vec<Record> {
        let mut reader = Reader::new();
        let mut records = Vec::new();
        for chunk in chunks {
            records.extend(reader.push(chunk));
        }
        records.extend(reader.finish());
        records
    }

    fn fields(records: &[Record]) -> Vec<(u64, Vec<String>)> {
        records
            .iter()
            .map(|r| (r.line, r.fields.clone().unwrap()))
            .collect()
    }

    #[test]
    fn records_with_quotes_breaks_and_line_numbers() {
        let text =
            "\u{feff}id,name\r\n1,\"Ann, \"\"the\"\" first\"\r\n\r\n2,\"two\nlines\"\n3,plain";
        let expected = vec![
            (1, vec!["id".to_owned(), "name".to_owned()]),
            (2, vec!["1".to_owned(), "Ann, \"the\" first".to_owned()]),
            (4, vec!["2".to_owned(), "two\nlines".to_owned()]),
            (6, vec!["3".to_owned(), "plain".to_owned()]),
        ];
        assert_eq!(fields(&read(&[text.as_bytes()])), expected);
        // The same text in every split into two chunks, and byte by byte.
        let bytes = text.as_bytes();
        for at in 0..bytes.len() {
            assert_eq!(
                fields(&read(&[&bytes[..at], &bytes[at..]])),
                expected,
                "split at {at}"
            );
        }
        let single: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(fields(&read(&single)), expected);
    }

    #[test]
    fn unreadable_records_name_their_line() {
        let records = read(&[b"a,b\n\xff\xfe,x\n\"open,c\n"]);
        assert_eq!(records[0].fields, Ok(vec!["a".into(), "b".into()]));
        assert_eq!(
            (records[1].line, records[1].fields.clone()),
            (2, Err(RecordError::Encoding))
        );
        assert_eq!(
            (records[2].line, records[2].fields.clone()),
            (3, Err(RecordError::UnclosedQuote))
        );
        let after = read(&[b"\"a\"b,c"]);
        assert_eq!(after[0].fields, Err(RecordError::TextAfterQuote));
        let long = vec![b'x'; RECORD_BYTES_MAX + 10];
        let records = read(&[&long, &long, b"\nok\n"]);
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].fields, Err(RecordError::TooLong));
        assert_eq!(
            (records[1].line, records[1].fields.clone()),
            (2, Ok(vec!["ok".into()]))
        );
        assert_eq!(read(&[b""]), vec![]);
        assert_eq!(read(&[b"\n\n  \n"]), vec![]);
    }
}
