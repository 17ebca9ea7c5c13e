//! Files at rest: plain text, CSV/TSV, JSON and NDJSON, each optionally gzip-compressed.
//!
//! The format is chosen from the name (`.csv`, `.tsv`, `.json`, `.ndjson`/`.jsonl`, each with an
//! optional `.gz`; anything else is text). Structured files are reported per column: a CSV
//! column by its header, a JSON value by its field path (`customer.email`, `items[].iban`).
//!
//! A CSV's delimiter is sniffed from its first lines (`,` `;` tab `|`: the one that splits
//! them into the same number of fields). Its first row is a header only if it looks like one:
//! a first row holding personal data, numbers, dates or `@`, or cells too long for names, is
//! data (`COPY … TO` and many exports write no header), and the columns are `col1…colN`.
//! A text file is one column named `""` whose rows are its lines. Files whose first 8 KiB (after
//! decompression) contain a NUL byte are binaries and skipped.
//!
//! Everything is streamed: a CSV or NDJSON file is read record by record, a JSON document that
//! is a top-level array element by element, so memory stays bounded by the largest record, not
//! the file. The raw bytes on disk are hashed on the way (SHA-256) so scheduled scans can tell an
//! unchanged file without reading it twice.

use super::classify::{Classifier, ColumnVerdict, DateSample, parse_timestamp};
use super::retention::is_record_date_column;
use custos_rules::{Engine, FingerprintKey};
use serde::de::{DeserializeSeed, SeqAccess, Visitor};
use sha2::{Digest, Sha256};
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// How a file is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Lines of text.
    Text,
    /// Delimiter-separated values (`,` `;` tab `|`, sniffed), with or without a header row.
    Csv,
    /// Tab-separated values, with or without a header row.
    Tsv,
    /// One JSON document (a top-level array is streamed element by element).
    Json,
    /// One JSON value per line.
    Ndjson,
}

impl Format {
    /// The format of `path` and whether it is gzip-compressed, from its name.
    pub fn of(path: &Path) -> (Format, bool) {
        let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
        let (stem, gz) = match name.strip_suffix(".gz") {
            Some(s) => (s.to_string(), true),
            None => (name, false),
        };
        let format = match stem.rsplit_once('.').map(|(_, e)| e) {
            Some("csv") => Format::Csv,
            Some("tsv") => Format::Tsv,
            Some("json") => Format::Json,
            Some("ndjson" | "jsonl") => Format::Ndjson,
            _ => Format::Text,
        };
        (format, gz)
    }

    /// Its name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        }
    }
}

/// The result of classifying one file.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// How it was parsed.
    pub format: Format,
    /// Records read (lines, CSV rows, JSON records).
    pub rows: u64,
    /// Bytes read from disk.
    pub bytes: u64,
    /// One verdict per (column, detector).
    pub verdicts: Vec<ColumnVerdict>,
    /// Oldest timestamp (Unix seconds) of a record holding personal data, from a date-like
    /// field; `None` when the file has no such field.
    pub oldest_personal: Option<i64>,
    /// SHA-256 of the bytes on disk.
    pub content_hash: [u8; 32],
    /// True when the file looked binary and was skipped.
    pub binary: bool,
    /// Records holding personal data.
    pub personal_rows: u64,
    /// Distinct subject keys (one per person: each record's strongest identifier).
    pub distinct_subjects: u64,
    /// Dates of the records holding personal data, per date column (retention evidence).
    pub dates: Vec<DateSample>,
}

/// Hashes and counts the bytes read through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
    bytes: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Classifies the file at `path`.
pub fn classify_file(engine: &Engine, key: &FingerprintKey, path: &Path) -> io::Result<FileReport> {
    let (format, gz) = Format::of(path);
    let file = std::fs::File::open(path)?;
    let mut hashing = Hashing { inner: file, hash: Sha256::new(), bytes: 0 };
    let mut report = FileReport {
        format,
        rows: 0,
        bytes: 0,
        verdicts: Vec::new(),
        oldest_personal: None,
        content_hash: [0; 32],
        binary: false,
        personal_rows: 0,
        distinct_subjects: 0,
        dates: Vec::new(),
    };
    let result = {
        let raw: Box<dyn Read + '_> = if gz { Box::new(flate2::read::MultiGzDecoder::new(&mut hashing)) } else { Box::new(&mut hashing) };
        let mut reader = BufReader::with_capacity(256 << 10, raw);
        let head = reader.fill_buf()?;
        if memchr::memchr(0, &head[..head.len().min(8192)]).is_some() {
            report.binary = true;
            None
        } else {
            let mut c = Classifier::new(engine, key);
            match format {
                Format::Text => text(&mut reader, &mut c)?,
                Format::Csv => delimited(&mut reader, None, engine, &mut c)?,
                Format::Tsv => delimited(&mut reader, Some(b'\t'), engine, &mut c)?,
                Format::Ndjson => ndjson(&mut reader, &mut c, path)?,
                Format::Json => json(&mut reader, &mut c, path)?,
            }
            // Drain what a parser left unread so the hash covers the whole file.
            io::copy(&mut reader, &mut io::sink())?;
            report.rows = c.rows();
            Some(c.finish_all())
        }
    };
    if report.binary {
        io::copy(&mut hashing, &mut io::sink())?;
    }
    if let Some(found) = result {
        report.verdicts = found.verdicts;
        report.oldest_personal = found.oldest_personal;
        report.personal_rows = found.personal_rows;
        report.distinct_subjects = found.distinct_subjects;
        report.dates = found.dates;
    }
    report.bytes = hashing.bytes;
    report.content_hash = hashing.hash.finalize().into();
    Ok(report)
}

fn text(reader: &mut dyn BufRead, c: &mut Classifier<'_>) -> io::Result<()> {
    let col = c.column("");
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        // Bounded: an enormous line is classified in pieces.
        let n = reader.take(1 << 20).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(());
        }
        c.begin_row();
        c.value(col, &line);
    }
}

/// The delimiter of a CSV file from its first bytes: of `,` `;` tab `|`, the one that splits
/// the most complete lines into the same number (at least two) of fields, counted outside
/// quotes; `,` when none does.
pub fn sniff_delimiter(head: &[u8]) -> u8 {
    const CANDIDATES: [u8; 4] = [b',', b';', b'\t', b'|'];
    let mut lines: Vec<&[u8]> = head.split(|&b| b == b'\n').collect();
    if lines.len() > 1 {
        lines.pop(); // the last piece may be cut short
    }
    lines.retain(|l| !l.trim_ascii().is_empty());
    lines.truncate(50);
    let mut best = (0usize, 0usize, b',');
    for d in CANDIDATES {
        let counts: Vec<usize> = lines
            .iter()
            .map(|l| {
                let mut quoted = false;
                l.iter()
                    .filter(|&&b| {
                        if b == b'"' {
                            quoted = !quoted;
                        }
                        b == d && !quoted
                    })
                    .count()
            })
            .collect();
        // The commonest non-zero count, and how many lines have it.
        let mut tally: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for &n in counts.iter().filter(|&&n| n > 0) {
            *tally.entry(n).or_default() += 1;
        }
        let Some((&fields, &agree)) = tally.iter().max_by_key(|&(&n, &k)| (k, n)) else { continue };
        if (agree, fields) > (best.0, best.1) {
            best = (agree, fields, d);
        }
    }
    best.2
}

/// True when the first row of a CSV file is data, not column names: a cell holds a personal
/// value, a number, a date, an `@`, or is too long for a name.
pub fn is_data_row(engine: &Engine, first: &csv::ByteRecord) -> bool {
    let mut detections = Vec::new();
    first.iter().any(|cell| {
        let cell = cell.trim_ascii();
        if cell.is_empty() {
            return false;
        }
        detections.clear();
        engine.scan(cell, &mut detections);
        !detections.is_empty() || looks_like_a_value(cell)
    })
}

/// A cell that is a number, a date or an e-mail-like token, or longer than a name.
fn looks_like_a_value(cell: &[u8]) -> bool {
    let numeric = cell.iter().any(u8::is_ascii_digit) && cell.iter().all(|&b| b.is_ascii_digit() || b" +-.,:/()".contains(&b));
    numeric || parse_timestamp(cell).is_some() || cell.contains(&b'@') || cell.len() > 100
}

/// Reads the next well-formed record; a malformed one (bad quoting) is skipped.
fn next_record<R: Read>(r: &mut csv::Reader<R>, record: &mut csv::ByteRecord) -> io::Result<bool> {
    loop {
        match r.read_byte_record(record) {
            Ok(more) => return Ok(more),
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => return Err(io::Error::other(e)),
            Err(_) => continue,
        }
    }
}

/// A date column of a headerless file, from the first row: a timestamp with a time of day, or
/// a date within the last 18 years (older bare dates are birth dates more often than not).
fn is_date_value(cell: &[u8]) -> bool {
    let cell = cell.trim_ascii();
    let Some(t) = parse_timestamp(cell) else { return false };
    let now = custos_proto::time::now_ms() / 1000;
    cell.len() >= 16 || now - t < 18 * 365 * 86_400
}

fn delimited(reader: &mut dyn BufRead, delimiter: Option<u8>, engine: &Engine, c: &mut Classifier<'_>) -> io::Result<()> {
    let delimiter = match delimiter {
        Some(d) => d,
        None => sniff_delimiter(reader.fill_buf()?),
    };
    let mut r = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).has_headers(false).from_reader(reader);
    let mut record = csv::ByteRecord::new();
    if !next_record(&mut r, &mut record)? {
        return Ok(());
    }
    let headerless = is_data_row(engine, &record);
    let name_of = |i: usize, header: Option<&[u8]>| -> String {
        match header.map(|h| String::from_utf8_lossy(h).trim().to_string()) {
            Some(name) if !name.is_empty() => name,
            Some(_) => format!("column_{}", i + 1),
            None => format!("col{}", i + 1),
        }
    };
    let mut columns = Vec::with_capacity(record.len());
    let mut dates: Vec<(usize, usize)> = Vec::new();
    for (i, cell) in record.iter().enumerate() {
        let name = name_of(i, (!headerless).then_some(cell));
        let dated = if headerless { is_date_value(cell) } else { is_record_date_column(&name) };
        if dated && let Some(d) = c.date_column(&name) {
            dates.push((i, d));
        }
        columns.push(c.column(&name));
    }
    let mut is_first = headerless;
    loop {
        if !is_first && !next_record(&mut r, &mut record)? {
            return Ok(());
        }
        is_first = false;
        c.begin_row();
        for &(i, d) in &dates {
            if let Some(ts) = record.get(i).and_then(parse_timestamp) {
                c.row_date(d, ts);
            }
        }
        for (i, field) in record.iter().enumerate() {
            let col = match columns.get(i) {
                Some(&col) => col,
                None => {
                    let col = c.column(&name_of(i, if headerless { None } else { Some(&b""[..]) }));
                    columns.push(col);
                    col
                }
            };
            c.value(col, field);
        }
    }
}

/// Feeds the leaves of a JSON value to the classifier, named by field path.
fn walk_json(v: &serde_json::Value, path: &mut String, c: &mut Classifier<'_>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk_json(child, path, c);
                path.truncate(len);
            }
        }
        Value::Array(items) => {
            let len = path.len();
            path.push_str("[]");
            for child in items {
                walk_json(child, path, c);
            }
            path.truncate(len);
        }
        Value::String(s) => {
            let name = if path.is_empty() { "$" } else { path.as_str() };
            if is_record_date_column(name)
                && let Some(ts) = parse_timestamp(s.as_bytes())
                && let Some(d) = c.date_column(name)
            {
                c.row_date(d, ts);
            }
            let col = c.column(name);
            c.value(col, s.as_bytes());
        }
        Value::Number(n) => {
            let name = if path.is_empty() { "$" } else { path.as_str() };
            let text = n.to_string();
            if is_record_date_column(name)
                && let Some(ts) = parse_timestamp(text.as_bytes())
                && let Some(d) = c.date_column(name)
            {
                c.row_date(d, ts);
            }
            let col = c.column(name);
            c.value(col, text.as_bytes());
        }
        Value::Bool(_) | Value::Null => {}
    }
}

fn record(v: &serde_json::Value, c: &mut Classifier<'_>) {
    c.begin_row();
    let mut path = String::new();
    walk_json(v, &mut path, c);
}

fn ndjson(reader: &mut dyn BufRead, c: &mut Classifier<'_>, file: &Path) -> io::Result<()> {
    let mut line = Vec::with_capacity(4096);
    let mut bad = 0u64;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        if line.trim_ascii().is_empty() {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(&line) {
            Ok(v) => record(&v, c),
            Err(_) => {
                // Not JSON after all: still look at the text.
                bad += 1;
                c.begin_row();
                let col = c.column("");
                c.value(col, &line);
            }
        }
    }
    if bad > 0 {
        tracing::debug!(file = %file.display(), lines = bad, "lines that are not JSON were scanned as text");
    }
    Ok(())
}

/// Streams the elements of a top-level array into the classifier.
struct Elements<'c, 'a>(&'c mut Classifier<'a>);

impl<'de> DeserializeSeed<'de> for Elements<'_, '_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Elements<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            record(&v, self.0);
        }
        Ok(())
    }
}

fn json(reader: &mut dyn BufRead, c: &mut Classifier<'_>, file: &Path) -> io::Result<()> {
    let starts_with_array = loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => {
                let is_array = buf[i] == b'[';
                reader.consume(i);
                break is_array;
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    let bad =
        |e: serde_json::Error| io::Error::new(io::ErrorKind::InvalidData, format!("{}: not valid JSON ({e}); rename it if it is not JSON", file.display()));
    if starts_with_array {
        let mut de = serde_json::Deserializer::from_reader(reader);
        Elements(c).deserialize(&mut de).map_err(bad)?;
    } else {
        // A document (or a stream of documents) that is not an array: one record each.
        for v in serde_json::Deserializer::from_reader(reader).into_iter::<serde_json::Value>() {
            record(&v.map_err(bad)?, c);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn classify(name: &str, content: &[u8]) -> (Engine, FileReport) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        let engine = Engine::with_default_packs().unwrap();
        let key = FingerprintKey::new(vec![1; 32]).unwrap();
        let r = classify_file(&engine, &key, &p).unwrap();
        (engine, r)
    }

    fn columns(engine: &Engine, r: &FileReport) -> Vec<(String, String, u64)> {
        r.verdicts.iter().map(|v| (v.column.clone(), engine.detector(v.detector).id.clone(), v.matched_rows)).collect()
    }

    #[test]
    fn format_is_chosen_from_the_name() {
        assert_eq!(Format::of(Path::new("/x/export.CSV")), (Format::Csv, false));
        assert_eq!(Format::of(Path::new("dump.ndjson.gz")), (Format::Ndjson, true));
        assert_eq!(Format::of(Path::new("a.jsonl")), (Format::Ndjson, false));
        assert_eq!(Format::of(Path::new("app.log.gz")), (Format::Text, true));
        assert_eq!(Format::of(Path::new("README")), (Format::Text, false));
    }

    #[test]
    fn csv_is_reported_per_header_column_with_retention() {
        let csv = "id,name,email,created_at\n1,Ann,ann@example.fr,2018-02-01\n2,Bob,bob@example.fr,2020-01-01\n3,,,2010-01-01\n";
        let (engine, r) = classify("customers.csv", csv.as_bytes());
        assert_eq!(r.rows, 3);
        // A column named like a name holds names (#18).
        assert_eq!(columns(&engine, &r), vec![("name".into(), "person_name".into(), 2), ("email".into(), "email".into(), 2)]);
        assert_eq!(r.verdicts[1].sampled_rows, 2, "the empty cell is not a sampled value");
        assert_eq!(r.oldest_personal, parse_timestamp(b"2018-02-01"), "row 3 holds no personal data");
    }

    #[test]
    fn tsv_and_gzip_are_read_transparently() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(b"name\tiban\nAnn\tFR7630006000011234567890189\n").unwrap();
        let (engine, r) = classify("accounts.tsv.gz", &gz.finish().unwrap());
        assert_eq!(columns(&engine, &r), vec![("name".into(), "person_name".into(), 1), ("iban".into(), "iban".into(), 1)]);
    }

    #[test]
    fn ndjson_and_json_arrays_are_reported_per_field_path() {
        let nd = "{\"customer\":{\"email\":\"ann@example.fr\"},\"n\":1}\n{\"customer\":{\"email\":\"bob@example.fr\"},\"n\":2}\n";
        let (engine, r) = classify("events.ndjson", nd.as_bytes());
        assert_eq!(columns(&engine, &r), vec![("customer.email".into(), "email".into(), 2)]);
        let json = "[{\"contacts\":[{\"mail\":\"ann@example.fr\"},{\"mail\":\"zoe@example.fr\"}]},{\"contacts\":[]}]";
        let (engine, r) = classify("export.json", json.as_bytes());
        assert_eq!(r.rows, 2);
        assert_eq!(columns(&engine, &r), vec![("contacts[].mail".into(), "email".into(), 1)]);
        assert_eq!(r.verdicts[0].distinct_fingerprints, 2);
    }

    #[test]
    fn binaries_are_skipped_and_hashed() {
        let (_, r) = classify("blob.txt", b"\x00\x01ann@example.fr");
        assert!(r.binary);
        assert!(r.verdicts.is_empty());
        assert_ne!(r.content_hash, [0; 32]);
    }

    #[test]
    fn the_delimiter_is_sniffed_and_a_data_first_row_is_no_header() {
        assert_eq!(sniff_delimiter(b"a;b;c\n1;2;3\n4;5;6\n"), b';');
        assert_eq!(sniff_delimiter(b"a\tb\n1\t2\n"), b'\t');
        assert_eq!(sniff_delimiter(b"a|b|c\n1|2,5|3\n"), b'|');
        assert_eq!(sniff_delimiter(b"name,note\n\"Dupont; Jean\",x\n"), b',', "inside quotes does not count");
        assert_eq!(sniff_delimiter(b""), b',');
        let csv = "1;Jean;jean.dupont@example.fr;2019-03-01 10:00:00\n2;Ann;ann@example.fr;2020-03-01 10:00:00\n";
        let (engine, r) = classify("export.csv", csv.as_bytes());
        assert_eq!(r.rows, 2, "the first row is data");
        assert_eq!(columns(&engine, &r), vec![("col3".into(), "email".into(), 2)]);
        assert_eq!(r.dates.iter().map(|d| (d.column.as_str(), d.seen)).collect::<Vec<_>>(), vec![("col4", 2)]);
        assert_eq!(r.distinct_subjects, 2);
        // Names that are values make the row data too.
        let (engine, r) = classify("x.csv", b"ann@example.fr,bob@example.fr\ncy@example.fr,dan@example.fr\n");
        assert_eq!(columns(&engine, &r), vec![("col1".into(), "email".into(), 2), ("col2".into(), "email".into(), 2)]);
        let (_, r) = classify("y.csv", b"id,email,created_at\n1,ann@example.fr,2020-01-01\n");
        assert_eq!((r.rows, r.verdicts[0].column.as_str()), (1, "email"), "a real header stays one");
    }

    #[test]
    fn hostile_files_stay_bounded_and_never_panic() {
        // A JSON document whose keys are data: columns are capped.
        let mut nd = String::new();
        for i in 0..6000 {
            nd.push_str(&format!("{{\"k{i}\":\"user{i}@example.fr\"}}\n"));
        }
        let (_, r) = classify("keys.ndjson", nd.as_bytes());
        assert!(r.verdicts.len() <= super::super::classify::MAX_COLUMNS + 1, "{}", r.verdicts.len());
        assert!(r.verdicts.iter().any(|v| v.column == super::super::classify::OTHER_COLUMNS));
        // A header of 300,000 fields, invalid UTF-8, NULs after the first 8 KiB, no newline.
        let mut csv: Vec<u8> = (0..300_000).map(|i| format!("h{i}")).collect::<Vec<_>>().join(",").into_bytes();
        csv.extend_from_slice(b"\n\xff\xfe,ann@example.fr\n");
        csv.extend(std::iter::repeat_n(b'x', 9000));
        csv.extend_from_slice(b"\x00,bob@example.fr");
        let (_, r) = classify("wide.csv", &csv);
        assert!(r.verdicts.len() <= super::super::classify::MAX_COLUMNS + 1);
        let long_key = format!("{{\"{}\":\"ann@example.fr\"}}\n", "k".repeat(100_000));
        let (_, r) = classify("long.ndjson", long_key.as_bytes());
        assert!(r.verdicts.iter().all(|v| v.column.len() <= 1024));
    }
}
