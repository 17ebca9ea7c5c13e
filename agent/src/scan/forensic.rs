//! Forensic scans: export anomalies in logs read after the fact (`scan --detect`).
//!
//! When a breach is suspected, the security team runs
//! `custos-agent scan --detect postgres,access_log /var/log/…` (or `--detect auto`) on the logs
//! of the weeks before. Each log goes line by line through the same [`LogWatch`] a running
//! agent uses — the same event clock, windows, events and sizing — and is flushed at its end,
//! so the anomalies are those live tailing of the same lines reported. Lines are read as the
//! tailer reads them (without their `\n` or `\r\n`, in pieces of 1 MiB at most), gzip-compressed
//! logs transparently; binaries are skipped.

use super::output::ScanOutput;
use crate::anomaly::{AnomalyConfig, LogDetect, LogWatch, SizeHints, recognise};
use custos_rules::Engine;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// Longest piece of a line handed to the watches (the tailer's default `max_line_bytes`).
const MAX_LINE: usize = 1 << 20;

/// Which heuristics a forensic scan runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Detect {
    /// None: no forensic pass.
    #[default]
    Off,
    /// These, on every log.
    These(Vec<LogDetect>),
    /// Those each log's first lines suggest ([`recognise`]).
    Auto,
}

impl Detect {
    /// Parses `postgres,mysql,access_log,finding_rate` or `auto`.
    pub fn parse(text: &str) -> Result<Detect, String> {
        if text.trim() == "auto" {
            return Ok(Detect::Auto);
        }
        let mut list = Vec::new();
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match LogDetect::parse(name) {
                Some(d) if !list.contains(&d) => list.push(d),
                Some(_) => {}
                None => return Err(format!("unknown heuristic `{name}`: expected postgres, mysql, access_log, finding_rate or auto")),
            }
        }
        if list.is_empty() {
            return Err("--detect needs at least one of postgres, mysql, access_log, finding_rate, or auto".into());
        }
        Ok(Detect::These(list))
    }
}

/// Runs the watches `detect` names over the log at `path`, prints its anomalies and says how
/// many.
pub fn scan_log(engine: &Engine, path: &Path, detect: &Detect, config: &AnomalyConfig, sizes: &SizeHints, out: &mut ScanOutput<'_>) -> io::Result<u64> {
    let file = std::fs::File::open(path)?;
    let gz = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("gz"));
    let raw: Box<dyn Read> = if gz { Box::new(flate2::read::MultiGzDecoder::new(file)) } else { Box::new(file) };
    let mut reader = BufReader::with_capacity(256 << 10, raw);
    let now_ms = custos_proto::time::now_ms();
    let head = reader.fill_buf()?;
    if memchr::memchr(0, &head[..head.len().min(8192)]).is_some() {
        return Ok(0); // binary
    }
    let list = match detect {
        Detect::Off => return Ok(0),
        Detect::These(list) => list.clone(),
        Detect::Auto => {
            let lines: Vec<&[u8]> = head.split(|&b| b == b'\n').take(200).collect();
            recognise::recognise(&lines, now_ms)
        }
    };
    if list.is_empty() {
        return Ok(0);
    }
    let mut printed = 0;
    let count_findings = list.contains(&LogDetect::FindingRate);
    let mut watch = LogWatch::new(path, &list, config, sizes);
    let (mut number, mut offset, mut continued) = (1u64, 0u64, false);
    let (mut line, mut detections, mut anomalies) = (Vec::with_capacity(4096), Vec::new(), Vec::new());
    loop {
        line.clear();
        let n = (&mut reader).take(MAX_LINE as u64).read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        let ends = line.last() == Some(&b'\n');
        let mut bytes = &line[..];
        if ends {
            bytes = &bytes[..bytes.len() - 1];
            if !continued && bytes.last() == Some(&b'\r') {
                bytes = &bytes[..bytes.len() - 1];
            }
        }
        // A piece of an overlong line keeps the line's number (as the tailer gives it).
        if !(continued && bytes.is_empty()) {
            let findings = if count_findings {
                detections.clear();
                engine.scan(bytes, &mut detections);
                detections.len()
            } else {
                0
            };
            watch.line(bytes, number, offset, findings, now_ms, &mut anomalies);
        }
        offset += n as u64;
        continued = !ends;
        if ends {
            number += 1;
        }
        for a in anomalies.drain(..) {
            printed += 1;
            out.anomaly(engine, path, &a)?;
        }
    }
    watch.flush(&mut anomalies);
    for a in anomalies.drain(..) {
        printed += 1;
        out.anomaly(engine, path, &a)?;
    }
    Ok(printed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detect_lists_parse_strictly() {
        assert_eq!(Detect::parse("auto"), Ok(Detect::Auto));
        assert_eq!(Detect::parse("postgres, access_log,postgres"), Ok(Detect::These(vec![LogDetect::Postgres, LogDetect::AccessLog])));
        assert!(Detect::parse("postgress").unwrap_err().contains("postgress"));
        assert!(Detect::parse(",").is_err());
    }
}
