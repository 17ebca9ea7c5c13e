//! `custos-loadgen`: simulates many agents streaming findings to a collector, for load tests
//! (`bench/load_test.py`).
//!
//! Each simulated agent gets its own client certificate from the collector's CA (Common Name =
//! its agent id, exactly as enrolment issues them), opens its own mutual-TLS gRPC stream and sends
//! batches of synthetic findings at a fixed rate. Every batch's acknowledgement latency is
//! recorded. At the end each agent waits for its last acknowledgement, then the totals are printed
//! as one JSON object: findings sent and acknowledged, acknowledged findings per second, ack
//! latency percentiles. Finding ids are unique per run (`RUN-agent-n`), so the collector's row
//! count must equal `acked` — the test of "nothing lost, nothing duplicated".
//!
//! usage: custos-loadgen --url https://127.0.0.1:PORT --ca CA.pem --ca-key CA.key
//!        [--agents 1000] [--rate 50] [--batch 50] [--seconds 20] [--run ID]

use custos_collector::pki::CertificateAuthority;
use custos_proto::v1 as pb;
use custos_proto::v1::ingest_client::IngestClient;
use std::collections::VecDeque;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

struct Options {
    url: String,
    ca: String,
    ca_key: String,
    agents: usize,
    rate: u64,
    batch: usize,
    seconds: u64,
    run: String,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        url: String::new(),
        ca: String::new(),
        ca_key: String::new(),
        agents: 1000,
        rate: 50,
        batch: 50,
        seconds: 20,
        run: format!("{:x}", std::process::id()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag}: {e}"));
        match flag.as_str() {
            "--url" => o.url = value()?,
            "--ca" => o.ca = value()?,
            "--ca-key" => o.ca_key = value()?,
            "--agents" => o.agents = number(value()?)? as usize,
            "--rate" => o.rate = number(value()?)?.max(1),
            "--batch" => o.batch = number(value()?)?.max(1) as usize,
            "--seconds" => o.seconds = number(value()?)?,
            "--run" => o.run = value()?,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    if o.url.is_empty() || o.ca.is_empty() || o.ca_key.is_empty() {
        return Err("--url, --ca and --ca-key are required".into());
    }
    Ok(o)
}

/// What one simulated agent measured.
#[derive(Default)]
struct AgentResult {
    sent: u64,
    acked: u64,
    latencies_ms: Vec<f64>,
    error: Option<String>,
}

fn finding(run: &str, agent: &str, n: u64, now_ms: i64) -> pb::Finding {
    let id = format!("{run}-{agent}-{n}");
    // A fingerprint per finding (distinct subjects), derived from the id: no randomness needed.
    let fingerprint: Vec<u8> = id.bytes().cycle().take(32).enumerate().map(|(i, b)| b.wrapping_mul(31).wrapping_add(i as u8)).collect();
    pb::Finding {
        id,
        agent_id: agent.to_string(),
        host: agent.to_string(),
        // Declared contact data on a covered system (examples/register.toml): the common case.
        source: Some(pb::Source { kind: pb::SourceKind::LogFile as i32, locator: "/srv/logs/app.log".into(), identity: "load".into() }),
        position: Some(pb::Position { at: Some(pb::position::At::Text(pb::TextPosition { line: n + 1, start: 10, end: 30, line_offset: n * 120 })) }),
        detector: "email".into(),
        category: pb::Category::Contact as i32,
        special_category: false,
        confidence: 0.9,
        preview: "c***@e***.com".into(),
        fingerprint,
        observed_at_ms: now_ms,
        kind: pb::FindingKind::PersonalData as i32,
        evidence: Default::default(),
    }
}

async fn simulate(o: Arc<Options>, index: usize, tls: ClientTlsConfig, start: Instant) -> AgentResult {
    let agent = format!("load-agent-{index:04}");
    let mut r = AgentResult::default();
    let channel = match Channel::from_shared(o.url.clone()).map_err(|e| e.to_string()).and_then(|c| c.tls_config(tls).map_err(|e| e.to_string())) {
        Ok(c) => c.connect_timeout(Duration::from_secs(30)),
        Err(e) => {
            r.error = Some(e);
            return r;
        }
    };
    let channel = match channel.connect().await {
        Ok(c) => c,
        Err(e) => {
            r.error = Some(format!("{agent}: connect: {e:?}"));
            return r;
        }
    };
    let (tx, rx) = mpsc::channel::<pb::FindingBatch>(64);
    let mut client = IngestClient::new(channel).max_encoding_message_size(64 << 20);
    let mut acks = match client.stream_findings(tokio_stream::wrappers::ReceiverStream::new(rx)).await {
        Ok(s) => s.into_inner(),
        Err(e) => {
            r.error = Some(format!("{agent}: stream: {}", e.message()));
            return r;
        }
    };
    // Batches leave at the pace that gives `rate` findings per second, phase-shifted per agent so
    // the agents do not all send in the same millisecond.
    let interval = Duration::from_secs_f64(o.batch as f64 / o.rate as f64);
    let mut next = start + interval.mul_f64((index % 1000) as f64 / 1000.0);
    let end = start + Duration::from_secs(o.seconds);
    let mut in_flight: VecDeque<(u64, Instant, u64)> = VecDeque::new();
    let mut seq = 0u64;
    let mut sending = true;
    loop {
        if !sending && in_flight.is_empty() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()), if sending => {
                if Instant::now() >= end {
                    sending = false;
                    continue;
                }
                seq += 1;
                let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
                let findings: Vec<pb::Finding> = (0..o.batch as u64).map(|k| finding(&o.run, &agent, r.sent + k, now_ms)).collect();
                let n = findings.len() as u64;
                in_flight.push_back((seq, Instant::now(), n));
                if tx.send(pb::FindingBatch { seq, agent_id: agent.clone(), host: agent.clone(), agent_version: "loadgen".into(), findings, ..Default::default() }).await.is_err() {
                    r.error = Some(format!("{agent}: stream closed while sending"));
                    break;
                }
                r.sent += n;
                next += interval;
            }
            ack = acks.message() => match ack {
                Ok(Some(ack)) => {
                    while in_flight.front().is_some_and(|(s, _, _)| *s <= ack.seq) {
                        if let Some((_, at, n)) = in_flight.pop_front() {
                            r.acked += n;
                            r.latencies_ms.push(at.elapsed().as_secs_f64() * 1000.0);
                        }
                    }
                }
                Ok(None) => {
                    r.error = Some(format!("{agent}: collector closed the stream"));
                    break;
                }
                Err(e) => {
                    r.error = Some(format!("{agent}: {}", e.message()));
                    break;
                }
            }
        }
    }
    r
}

#[tokio::main]
async fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("custos-loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let read = |p: &str| std::fs::read_to_string(p).map_err(|e| format!("{p}: {e}"));
    let (ca_pem, ca_key) = match (read(&o.ca), read(&o.ca_key)) {
        (Ok(c), Ok(k)) => (c, k),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("custos-loadgen: {e}");
            return ExitCode::from(2);
        }
    };
    let ca = match CertificateAuthority::load(&ca_pem, &ca_key) {
        Ok(ca) => ca,
        Err(e) => {
            eprintln!("custos-loadgen: cannot load the CA: {e}");
            return ExitCode::from(2);
        }
    };
    let server_name = "localhost";
    let mut identities = Vec::with_capacity(o.agents);
    for i in 0..o.agents {
        match ca.issue_agent(&format!("load-agent-{i:04}")) {
            Ok(c) => identities.push(
                ClientTlsConfig::new()
                    .ca_certificate(Certificate::from_pem(&ca_pem))
                    .identity(Identity::from_pem(c.cert_pem, c.key_pem))
                    .domain_name(server_name),
            ),
            Err(e) => {
                eprintln!("custos-loadgen: cannot issue a certificate: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let start = Instant::now() + Duration::from_secs(2);
    let tasks: Vec<_> = identities.into_iter().enumerate().map(|(i, tls)| tokio::spawn(simulate(o.clone(), i, tls, start))).collect();
    let mut sent = 0;
    let mut acked = 0;
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    for t in tasks {
        match t.await {
            Ok(r) => {
                sent += r.sent;
                acked += r.acked;
                latencies.extend(r.latencies_ms);
                errors.extend(r.error);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let pct = |p: f64| latencies.get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1))).copied().unwrap_or(0.0);
    let summary = serde_json::json!({
        "agents": o.agents, "seconds": o.seconds, "sent": sent, "acked": acked,
        "acked_per_s": (acked as f64 / elapsed).round(), "offered_per_s": o.agents as u64 * o.rate,
        "ack_latency_ms_p50": pct(0.50).round(), "ack_latency_ms_p99": pct(0.99).round(), "ack_latency_ms_max": latencies.last().copied().unwrap_or(0.0).round(),
        "errors": errors.len(), "first_error": errors.first(),
    });
    println!("{summary}");
    if errors.is_empty() && acked == sent { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
