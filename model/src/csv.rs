//! CSV as downloads write it: RFC 4180 (CRLF line ends, a cell quoted when it holds a
//! comma, quote or line break), with cells a spreadsheet would run as a formula
//! neutralised. Shared by every export (audit log, licenses, assignments) so that one
//! rule protects them all.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_neutralises() {
        let mut out = String::new();
        write_row(&mut out, ["a,b", "=1+2", "-5", "say \"hi\"", "", "@x,y"]);
        assert_eq!(out, "\"a,b\",'=1+2,-5,\"say \"\"hi\"\"\",,\"'@x,y\"\r\n");
    }
}
