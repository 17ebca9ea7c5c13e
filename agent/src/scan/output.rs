//! The one writer of `custos-agent scan`'s output: matches of text files (a line each, like
//! ripgrep) and column findings of structured files and tables (one per column and
//! detector), as a table or as JSON Lines with stable field names.
//!
//! Matches are the hot path (hundreds of thousands per run): their JSON is written by hand into
//! one reused buffer, byte for byte what serde would write (a test checks it).
//!
//! Without `--show-values` nothing raw is printed, names included: paths, locations, columns
//! (a headerless CSV's first row, a JSON key), actors and anomaly details go through the
//! detector and are masked like values ([`crate::finding::redact`]), and control characters
//! are replaced.

use crate::anomaly::Anomaly;
use crate::datastore::{ColumnFinding, StoreKind};
use crate::finding::{clean, redact, redact_evidence, redact_locator};
use custos_rules::{Detection, Engine, mask};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

/// What `scan` prints for one finding (`--json`: one object per line).
#[derive(Debug, Serialize)]
pub struct ScanRecord<'a> {
    /// File path as given or found while walking.
    pub path: &'a str,
    /// 1-based line number.
    pub line: u64,
    /// Byte offset of the match in the line.
    pub start: usize,
    /// End (exclusive).
    pub end: usize,
    /// Detector id.
    pub detector: &'a str,
    /// GDPR data category.
    pub category: &'a str,
    /// Art. 9/10 special category.
    pub special: bool,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// Masked value.
    pub preview: String,
    /// The raw value, only with `--show-values`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// What `custos-agent scan` prints for one column finding (`--json`: one object per line).
#[derive(Debug, Serialize)]
pub struct ColumnRecord<'a> {
    /// `file` or `database_table`.
    pub kind: StoreKind,
    /// File path or `scheme://database/table`.
    pub location: &'a str,
    /// Column, CSV header or JSON field path (`""`: the whole text).
    pub column: &'a str,
    /// Detector id.
    pub detector: &'a str,
    /// GDPR data category.
    pub category: &'a str,
    /// Art. 9/10 special category.
    pub special: bool,
    /// Mean confidence.
    pub confidence: f32,
    /// Rows examined.
    pub sampled_rows: u64,
    /// Rows that matched.
    pub matched_rows: u64,
    /// matched / sampled.
    pub match_share: f64,
    /// Distinct values (people), by fingerprint.
    pub distinct_fingerprints: u64,
    /// Estimated rows of the table or records of the file.
    pub estimated_rows: u64,
    /// Age of the oldest record holding personal data, seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_record_age_s: Option<u64>,
    /// `column:NAME`, `column` or `mtime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_record_source: Option<&'a str>,
    /// Masked example.
    pub preview: &'a str,
    /// Records of the table or file.
    pub records: u64,
    /// Distinct people (one subject key per record).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distinct_subjects: Option<u64>,
    /// The date column the age distribution comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_column: Option<String>,
    /// 0th … 100th percentile of the age in days of the records holding personal data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_quantiles_days: Option<&'a [u64]>,
    /// Records that had a date in that column.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_sampled: Option<u64>,
    /// `web_root`, `share`, `tmp` or `home`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind_of_place: Option<&'a str>,
}

/// What `custos-agent scan --detect` prints for one export anomaly (`--json`: one object per
/// line).
#[derive(Debug, Serialize)]
pub struct AnomalyRecord<'a> {
    /// Always `export_anomaly`.
    pub kind: &'a str,
    /// The log file.
    pub location: String,
    /// 1-based line number of the line that caused it, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The heuristic.
    pub detector: &'a str,
    /// Confidence in [0, 1].
    pub confidence: f32,
    /// Event time, ms since the epoch (the end of the event so far).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_at_ms: Option<i64>,
    /// What happened, in words.
    pub detail: String,
    /// The evidence a running agent would send (the same keys).
    pub evidence: BTreeMap<String, String>,
}

/// Output is written in batches of about this size (one `write` per batch, not per field).
const JSON_FLUSH: usize = 64 << 10;

/// Confidence as printed: three decimals.
fn round_confidence(c: f32) -> f32 {
    (c * 1000.0).round() / 1000.0
}

/// Writes [`ScanRecord`]s as JSON Lines by hand into one reused buffer: the same bytes as
/// `serde_json::to_writer(&record)` (a test checks it), without a `String` per preview, a
/// `write` call per field, nor escaping of strings that are fixed per detector.
pub(super) struct JsonLines {
    /// Output not yet written.
    buf: Vec<u8>,
    /// Per detector: `,"detector":…,"category":…,"special":…,"confidence":` (already escaped).
    detector_fields: Vec<Vec<u8>>,
    /// Per detector: previews use the e-mail form (see [`mask::preview`]).
    forms: Vec<mask::Form>,
    /// Confidences already formatted, keyed by the bits of the rounded `f32` (a handful of
    /// distinct values; formatted by serde_json once so the digits are its shortest form).
    confidences: Vec<(u32, Vec<u8>)>,
    /// Masked preview of the current record.
    preview: Vec<u8>,
}

impl JsonLines {
    fn new(engine: &Engine) -> Self {
        let detector_fields = engine
            .detectors()
            .map(|spec| {
                let mut f = b",\"detector\":".to_vec();
                write_json_str(&mut f, spec.id.as_bytes());
                f.extend_from_slice(b",\"category\":");
                write_json_str(&mut f, spec.category.as_str().as_bytes());
                f.extend_from_slice(if spec.special { b",\"special\":true,\"confidence\":" } else { b",\"special\":false,\"confidence\":" });
                f
            })
            .collect();
        let forms = engine.detectors().map(|spec| mask::Form::of(&spec.id)).collect();
        JsonLines { buf: Vec::with_capacity(JSON_FLUSH + 4096), detector_fields, forms, confidences: Vec::new(), preview: Vec::new() }
    }

    /// Appends one record and its newline; `path` is already a JSON string.
    #[allow(clippy::too_many_arguments)]
    fn record(&mut self, path: &[u8], line: u64, start: usize, end: usize, detector: usize, confidence: f32, raw: &[u8], show_value: bool) {
        let b = &mut self.buf;
        b.extend_from_slice(b"{\"path\":");
        b.extend_from_slice(path);
        b.extend_from_slice(b",\"line\":");
        write_u64(b, line);
        b.extend_from_slice(b",\"start\":");
        write_u64(b, start as u64);
        b.extend_from_slice(b",\"end\":");
        write_u64(b, end as u64);
        b.extend_from_slice(&self.detector_fields[detector]);
        let c = round_confidence(confidence);
        let bits = c.to_bits();
        match self.confidences.iter().find(|(k, _)| *k == bits) {
            Some((_, text)) => b.extend_from_slice(text),
            None => {
                // serde_json prints a non-finite f32 as null; either way its bytes are kept.
                let text = serde_json::to_vec(&c).unwrap_or_else(|_| b"null".to_vec());
                b.extend_from_slice(&text);
                self.confidences.push((bits, text));
            }
        }
        b.extend_from_slice(b",\"preview\":");
        self.preview.clear();
        mask::preview_into(&mut self.preview, self.forms[detector], raw);
        write_json_str(b, &self.preview);
        if show_value {
            b.extend_from_slice(b",\"value\":");
            write_json_str(b, String::from_utf8_lossy(raw).as_bytes());
        }
        b.extend_from_slice(b"}\n");
    }
}

/// Appends `n` in decimal.
fn write_u64(b: &mut Vec<u8>, n: u64) {
    b.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// Appends `s` (UTF-8) as a JSON string, escaped as serde_json does: `"`, `\\`, and control
/// characters (`\n`-style where JSON has a short form, `\u00XX` otherwise); everything else,
/// non-ASCII included, is copied.
fn write_json_str(b: &mut Vec<u8>, s: &[u8]) {
    b.push(b'"');
    // Previews (the commonest strings) never need escaping: one check, one copy.
    if !s.iter().any(|&c| c < 0x20 || c == b'"' || c == b'\\') {
        b.extend_from_slice(s);
        b.push(b'"');
        return;
    }
    let mut from = 0;
    for (i, &c) in s.iter().enumerate() {
        let esc: &[u8] = match c {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        b.extend_from_slice(&s[from..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            b.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(c >> 4) as usize], HEX[(c & 0xf) as usize]]);
        } else {
            b.extend_from_slice(esc);
        }
        from = i + 1;
    }
    b.extend_from_slice(&s[from..]);
    b.push(b'"');
}

/// Where `scan` writes, and how: the table or JSON Lines, raw values or not.
pub struct ScanOutput<'a> {
    out: &'a mut (dyn Write + Send),
    json: bool,
    show_values: bool,
    lines: JsonLines,
    /// The column table's header was printed.
    column_header: bool,
    /// Text files were listed before: the column table follows after a blank line.
    after_matches: bool,
    /// The anomaly table's header was printed.
    anomaly_header: bool,
}

impl<'a> ScanOutput<'a> {
    /// An output to `out` (JSON Lines with `json`; raw values only with `show_values`).
    pub fn new(engine: &Engine, out: &'a mut (dyn Write + Send), json: bool, show_values: bool) -> ScanOutput<'a> {
        ScanOutput { out, json, show_values, lines: JsonLines::new(engine), column_header: false, after_matches: false, anomaly_header: false }
    }

    /// The form of this output, `(json, show_values)`: a file scanned on another thread is
    /// written in the same form (the match table's header is this output's).
    pub fn form(&self) -> (bool, bool) {
        (self.json, self.show_values)
    }

    /// The writer underneath, once the matches buffered so far are written.
    pub fn writer(&mut self) -> io::Result<&mut (dyn Write + Send)> {
        self.flush_matches()?;
        Ok(&mut *self.out)
    }

    /// A name from the data as printed: as is with `--show-values`, else masked.
    fn name(&self, engine: &Engine, text: &str) -> String {
        if self.show_values { clean(text) } else { redact(engine, text) }
    }

    /// A path or location as printed (see [`ScanOutput::name`]).
    fn location(&self, engine: &Engine, text: &str) -> String {
        if self.show_values { clean(text) } else { redact_locator(engine, text) }
    }

    /// A file's path as printed, as text and as a JSON string (for [`ScanOutput::matched`]):
    /// masked unless `--show-values`.
    pub fn path_names(&self, engine: &Engine, path: &Path) -> io::Result<(String, Vec<u8>)> {
        let shown = self.location(engine, &path.to_string_lossy());
        let json = serde_json::to_vec(&shown).map_err(io::Error::other)?;
        Ok((shown, json))
    }

    /// The header of the match table (nothing in JSON).
    pub fn match_header(&mut self) -> io::Result<()> {
        self.after_matches = true;
        if self.json {
            return Ok(());
        }
        writeln!(self.out, "{:<40} {:>6} {:>5}  {:<16} {:<18} {:>5}  PREVIEW", "PATH", "LINE", "COL", "DETECTOR", "CATEGORY", "CONF")
    }

    /// One match of a text file: `path` as text and as a JSON string (escaped once per file),
    /// the 1-based line, the span in the line, the detection and its raw bytes (printed only
    /// with `show_values`).
    #[allow(clippy::too_many_arguments)]
    pub fn matched(&mut self, engine: &Engine, path: &str, path_json: &[u8], line: u64, start: usize, end: usize, d: &Detection, raw: &[u8]) -> io::Result<()> {
        if self.json {
            self.lines.record(path_json, line, start, end, d.detector, d.confidence, raw, self.show_values);
            if self.lines.buf.len() >= JSON_FLUSH {
                self.flush_matches()?;
            }
            return Ok(());
        }
        let spec = engine.detector(d.detector);
        let rec = ScanRecord {
            path,
            line,
            start,
            end,
            detector: &spec.id,
            category: spec.category.as_str(),
            special: spec.special,
            confidence: round_confidence(d.confidence),
            preview: mask::preview(&spec.id, raw),
            value: self.show_values.then(|| String::from_utf8_lossy(raw).into_owned()),
        };
        let shown = rec.value.clone().unwrap_or_else(|| rec.preview.clone());
        writeln!(
            self.out,
            "{:<40} {:>6} {:>5}  {:<16} {:<18} {:>5.2}  {}",
            rec.path,
            rec.line,
            rec.start + 1,
            rec.detector,
            rec.category,
            rec.confidence,
            shown
        )
    }

    /// Writes the matches buffered so far.
    pub fn flush_matches(&mut self) -> io::Result<()> {
        if !self.lines.buf.is_empty() {
            self.out.write_all(&self.lines.buf)?;
            self.lines.buf.clear();
        }
        Ok(())
    }

    /// One column finding of a structured file or a table.
    pub fn column(&mut self, engine: &Engine, f: &ColumnFinding) -> io::Result<()> {
        let spec = engine.detector(f.verdict.detector);
        let v = &f.verdict;
        let (location, column) = (self.location(engine, &f.locator), self.name(engine, &v.column));
        let age_column = f.age.as_ref().map(|a| self.name(engine, &a.column));
        let preview = clean(&v.preview);
        let rec = ColumnRecord {
            kind: f.kind,
            location: &location,
            column: &column,
            detector: &spec.id,
            category: spec.category.as_str(),
            special: spec.special,
            confidence: (v.confidence * 1000.0).round() / 1000.0,
            sampled_rows: v.sampled_rows,
            matched_rows: v.matched_rows,
            match_share: (v.match_share() * 10000.0).round() / 10000.0,
            distinct_fingerprints: v.distinct_fingerprints,
            estimated_rows: f.estimated_rows,
            oldest_record_age_s: f.oldest_record_age_s,
            oldest_record_source: f.oldest_record_source.as_deref(),
            preview: &preview,
            records: f.records,
            distinct_subjects: f.distinct_subjects,
            age_column,
            age_quantiles_days: f.age.as_ref().map(|a| a.quantiles_days.as_slice()),
            age_sampled: f.age.as_ref().map(|a| a.sampled),
            kind_of_place: f.kind_of_place,
        };
        if self.json {
            serde_json::to_writer(&mut *self.out, &rec).map_err(io::Error::other)?;
            return self.out.write_all(b"\n");
        }
        if !self.column_header {
            self.column_header = true;
            if self.after_matches {
                writeln!(self.out)?;
            }
            writeln!(
                self.out,
                "{:<48} {:<20} {:<16} {:<18} {:>16} {:>9} {:>10} {:>9}  PREVIEW",
                "LOCATION", "COLUMN", "DETECTOR", "CATEGORY", "MATCHED/SAMPLED", "DISTINCT", "ROWS", "OLDEST_D"
            )?;
        }
        let oldest = rec.oldest_record_age_s.map_or("-".to_string(), |s| (s / 86400).to_string());
        writeln!(
            self.out,
            "{:<48} {:<20} {:<16} {:<18} {:>16} {:>9} {:>10} {:>9}  {}",
            rec.location,
            rec.column,
            rec.detector,
            rec.category,
            format!("{}/{}", rec.matched_rows, rec.sampled_rows),
            rec.distinct_fingerprints,
            rec.estimated_rows,
            oldest,
            rec.preview
        )
    }
}

impl ScanOutput<'_> {
    /// One export anomaly of a forensic scan of the log at `path`, with the evidence a running
    /// agent would send for it (masked unless `--show-values`).
    pub fn anomaly(&mut self, engine: &Engine, path: &Path, a: &Anomaly) -> io::Result<()> {
        let evidence =
            if self.show_values { a.evidence().into_iter().map(|(k, v)| (k, clean(&v))).collect() } else { redact_evidence(engine, a.evidence(), None) };
        let line = match a.origin {
            crate::anomaly::signal::Origin::Line { number, .. } => Some(number),
            _ => None,
        };
        let rec = AnomalyRecord {
            kind: "export_anomaly",
            location: self.location(engine, &path.to_string_lossy()),
            line,
            detector: a.heuristic,
            confidence: round_confidence(a.confidence),
            observed_at_ms: a.event_time_ms(),
            detail: self.name(engine, &a.detail),
            evidence,
        };
        if self.json {
            serde_json::to_writer(&mut *self.out, &rec).map_err(io::Error::other)?;
            return self.out.write_all(b"\n");
        }
        if !self.anomaly_header {
            self.anomaly_header = true;
            if self.after_matches || self.column_header {
                writeln!(self.out)?;
            }
            writeln!(self.out, "{:<40} {:>6}  {:<20} {:<24} {:<26}  DETAIL", "LOG", "LINE", "ANOMALY", "ACTOR", "RECORDS")?;
        }
        let records = match (rec.evidence.get("affected_records_estimate"), rec.evidence.get("affected_records_method")) {
            (Some(n), Some(m)) => format!("{n} ({m})"),
            _ => "-".to_string(),
        };
        writeln!(
            self.out,
            "{:<40} {:>6}  {:<20} {:<24} {:<26}  {}",
            rec.location,
            rec.line.map_or("-".to_string(), |l| l.to_string()),
            rec.detector,
            rec.evidence.get("actor").map_or("-", String::as_str),
            records,
            rec.detail
        )
    }
}

/// What `custos-agent scan --detect egress` prints for one destination host of a log.
#[derive(Debug, Serialize)]
pub struct FlowRecord<'a> {
    /// Always `flow`.
    pub kind: &'a str,
    /// The log file.
    pub location: String,
    /// The destination host (masked like any name unless `--show-values`).
    pub destination: String,
    /// Personal values sent there.
    pub findings: u64,
    /// The detectors that found them.
    pub detectors: Vec<&'a str>,
    /// First line (1-based) that sent some.
    pub first_line: u64,
    /// Last line that sent some.
    pub last_line: u64,
}

impl ScanOutput<'_> {
    /// The personal data one egress log shows sent to `host` (`flow`).
    pub fn flow(&mut self, engine: &Engine, path: &Path, host: &str, flow: &crate::egress::Flow) -> io::Result<()> {
        let rec = FlowRecord {
            kind: "flow",
            location: self.location(engine, &path.to_string_lossy()),
            destination: self.name(engine, host),
            findings: flow.findings,
            detectors: flow.detectors.iter().map(String::as_str).collect(),
            first_line: flow.lines.0,
            last_line: flow.lines.1,
        };
        if self.json {
            serde_json::to_writer(&mut *self.out, &rec).map_err(io::Error::other)?;
            return self.out.write_all(b"\n");
        }
        writeln!(
            self.out,
            "{}: {} personal value(s) sent to {} ({}), lines {}-{}",
            rec.location,
            rec.findings,
            rec.destination,
            rec.detectors.join(", "),
            rec.first_line,
            rec.last_line
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_json_is_what_serde_writes() {
        for s in ["plain", "quo\"te back\\slash", "ctl \u{1} \u{8} \u{c} \n \r \t \u{1f} \u{7f}", "naïve ü", ""] {
            let mut b = Vec::new();
            write_json_str(&mut b, s.as_bytes());
            assert_eq!(b, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
        for n in [0u64, 7, 10, 99, 1234567890, u64::MAX] {
            let mut b = Vec::new();
            write_u64(&mut b, n);
            assert_eq!(b, n.to_string().as_bytes());
        }
        let engine = Engine::with_default_packs().unwrap();
        let mut json = JsonLines::new(&engine);
        for (i, spec) in engine.detectors().enumerate() {
            for (conf, raw, show) in [(0.85f32, &b"jean.dupont@example.fr"[..], false), (0.3333, b"FR76 3000 \"6000\"", true), (1.0, b"\xff\x01x", true)] {
                json.buf.clear();
                json.record(b"\"a\\\\b.log\"", 3, 4, 9, i, conf, raw, show);
                let rec = ScanRecord {
                    path: "a\\b.log",
                    line: 3,
                    start: 4,
                    end: 9,
                    detector: &spec.id,
                    category: spec.category.as_str(),
                    special: spec.special,
                    confidence: round_confidence(conf),
                    preview: mask::preview(&spec.id, raw),
                    value: show.then(|| String::from_utf8_lossy(raw).into_owned()),
                };
                let mut want = serde_json::to_vec(&rec).unwrap();
                want.push(b'\n');
                assert_eq!(String::from_utf8_lossy(&json.buf), String::from_utf8_lossy(&want));
            }
        }
    }
}
