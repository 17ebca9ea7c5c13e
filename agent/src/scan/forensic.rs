//! Forensic scans: export anomalies in logs read after the fact (`scan --detect`).
//!
//! When a breach is suspected, the security team runs
//! `custos-agent scan --detect postgres,access_log /var/log/…` (or `--detect auto`) on the logs
//! of the weeks before. Each log goes line by line through the same [`LogWatch`] a running
//! agent uses — the same event clock, windows, events and sizing — and is flushed at its end,
//! so the anomalies are those live tailing of the same lines reported. Lines are read as the
//! tailer reads them (without their `\n` or `\r\n`, in pieces of 1 MiB at most), gzip-compressed
//! logs transparently; binaries are skipped.
//!
//! `--detect egress` reads a proxy or egress log as a running agent's `egress` watch does
//! ([`crate::egress`]) and prints, per destination host, how many personal values were sent
//! there, by which detectors, between which lines: the flows of the log, after the fact.

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
                None => return Err(format!("unknown heuristic `{name}`: expected postgres, mysql, access_log, finding_rate, egress or auto")),
            }
        }
        if list.is_empty() {
            return Err("--detect needs at least one of postgres, mysql, access_log, finding_rate, egress, or auto".into());
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
    let egress = list.contains(&LogDetect::Egress);
    let mut flows = Flows::default();
    let count_findings = list.contains(&LogDetect::FindingRate) || egress;
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
            if egress && findings > 0 {
                flows.line(engine, bytes, number, &detections);
            }
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
    for (host, flow) in &flows.hosts {
        printed += 1;
        out.flow(engine, path, host, flow)?;
    }
    Ok(printed)
}

/// The flows of one log, by destination host (at most [`Flows::MAX_HOSTS`]: a hostile log
/// cannot make the scan hold more).
#[derive(Debug, Default)]
struct Flows {
    hosts: std::collections::BTreeMap<String, crate::egress::Flow>,
}

impl Flows {
    const MAX_HOSTS: usize = 10_000;

    fn line(&mut self, engine: &Engine, bytes: &[u8], number: u64, detections: &[custos_rules::Detection]) {
        let Some(outbound) = crate::egress::outbound(bytes) else { return };
        let sent: Vec<&custos_rules::Detection> = detections.iter().filter(|d| outbound.carries(d.start..d.end)).collect();
        if sent.is_empty() || (self.hosts.len() >= Self::MAX_HOSTS && !self.hosts.contains_key(&outbound.host)) {
            return;
        }
        let flow = self.hosts.entry(outbound.host).or_insert_with(|| crate::egress::Flow { lines: (number, number), ..Default::default() });
        flow.findings += sent.len() as u64;
        flow.lines.1 = number;
        for d in sent {
            flow.detectors.insert(engine.detector(d.detector).id.clone());
        }
    }
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
        assert_eq!(Detect::parse("egress"), Ok(Detect::These(vec![LogDetect::Egress])));
    }

    #[test]
    fn an_egress_log_scanned_after_the_fact_says_what_went_to_which_host() {
        let engine = Engine::with_default_packs().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        std::fs::write(
            &log,
            "1795168801.000 45 10.0.0.5 TCP_MISS/200 43 GET http://pixel.ads.example/c?email=ann.lee@example.org ops@corp.example HIER_DIRECT/- -\n\
             1795168802.000 45 10.0.0.5 TCP_MISS/200 43 GET http://pixel.ads.example/c?email=bob.ray@example.org - HIER_DIRECT/- -\n\
             1795168803.000 45 10.0.0.5 TCP_MISS/200 43 GET http://cdn.example/logo.png - HIER_DIRECT/- -\n",
        )
        .unwrap();
        let mut printed = Vec::new();
        let mut out = ScanOutput::new(&engine, &mut printed, true, false);
        let n = scan_log(&engine, &log, &Detect::These(vec![LogDetect::Egress]), &AnomalyConfig::default(), &SizeHints::default(), &mut out).unwrap();
        assert_eq!(n, 1, "one host received personal data");
        let text = String::from_utf8(printed).unwrap();
        let flow: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!((flow["kind"].as_str(), flow["destination"].as_str(), flow["findings"].as_u64()), (Some("flow"), Some("pixel.ads.example"), Some(2)));
        assert_eq!((flow["first_line"].as_u64(), flow["last_line"].as_u64()), (Some(1), Some(2)));
        assert_eq!(flow["detectors"], serde_json::json!(["email"]));
        assert!(!text.contains("ann.lee") && !text.contains("ops@"), "{text}");
    }
}
