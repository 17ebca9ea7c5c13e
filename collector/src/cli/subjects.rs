//! What the organisation holds: the data map (`datamap`), and one person's data (`subject`:
//! where it has been seen, Art. 15 access, and the record of its erasure, Art. 17 — DPO role
//! only, and every lookup is audited: knowing that a person is in a system is itself personal
//! data).

use super::actor::actor;
use custos_collector::accounts::Permission;
use custos_collector::config::CollectorConfig;
use custos_collector::data_dir::{load_register, open_store};
use custos_collector::store::subjects::parse_fingerprint;
use custos_collector::views::rfc3339;
use std::path::PathBuf;

/// Parses `--erased-at` and `--since`: RFC 3339 or `now`, in ms.
fn parse_time(text: &str) -> anyhow::Result<i64> {
    if text.trim() == "now" {
        return Ok(custos_proto::time::now_ms());
    }
    let t = time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map_err(|e| anyhow::anyhow!("`{text}`: {e}; write RFC 3339, e.g. 2026-12-01T10:00:00Z, or `now`"))?;
    Ok((t.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `custos-collector subject FP… [--erased-at T --request REF]`.
pub(super) fn subject(
    fingerprints: &[String],
    data_dir: PathBuf,
    json: bool,
    erased_at: Option<String>,
    request: Option<String>,
    by: Option<String>,
) -> anyhow::Result<()> {
    let fps: Vec<Vec<u8>> = fingerprints.iter().map(|f| parse_fingerprint(f).map_err(anyhow::Error::msg)).collect::<Result<_, _>>()?;
    let erased_at = erased_at.as_deref().map(parse_time).transpose()?;
    let store = open_store(&data_dir, true)?;
    let user = actor(&store, by.as_deref(), Permission::SubjectRequests)?;
    let now = custos_proto::time::now_ms();
    for fp in &fps {
        let hex = hex::encode(fp);
        let sightings = store.sightings(fp)?;
        store.record_audit(&user.name, "subject_lookup", &hex, &format!("{} places", sightings.len()), now)?;
        if let (Some(at), Some(request)) = (erased_at, request.as_deref()) {
            store.record_erasure(fp, at, request, &user.name, now)?;
        }
        let erasure = store.erasure(fp)?;
        if json {
            for s in &sightings {
                println!("{}", serde_json::to_string(s)?);
            }
            if let Some(e) = &erasure {
                println!("{}", serde_json::json!({ "erasure": e }));
            }
            continue;
        }
        println!("subject {hex}: seen in {} place(s)", sightings.len());
        for s in &sightings {
            println!(
                "  {}:{}  {} ({})  {} finding(s), first {}, last {}",
                s.host,
                s.locator,
                s.detector,
                s.category,
                s.findings,
                rfc3339(s.first_seen_ms),
                rfc3339(s.last_seen_ms)
            );
        }
        match &erasure {
            Some(e) => println!(
                "  erased at {} (request {}, recorded by {}): data of theirs seen later opens a breach",
                rfc3339(e.erased_at_ms),
                e.request,
                e.recorded_by
            ),
            None => println!("  no erasure recorded"),
        }
    }
    Ok(())
}

/// `custos-collector datamap`.
pub(super) fn datamap(
    format: &str,
    flows_csv: bool,
    since: Option<String>,
    data_dir: PathBuf,
    register: Option<PathBuf>,
    config: Option<PathBuf>,
) -> anyhow::Result<()> {
    let since = since.as_deref().map(parse_time).transpose()?;
    let register = load_register(&data_dir, register)?;
    let policy = match config {
        Some(c) => CollectorConfig::load(&c)?.correlation().policy,
        None => Default::default(),
    };
    let store = open_store(&data_dir, false)?;
    let rows = custos_collector::datamap::build(&store, &register, &policy, since)?;
    let flows = custos_collector::flows::flows(&store, &register)?;
    match format {
        "md" => print!("{}{}", custos_collector::datamap::markdown(&rows), custos_collector::flows::markdown(&flows)),
        "csv" if flows_csv => print!("{}", custos_collector::flows::csv(&flows)?),
        "csv" => print!("{}", custos_collector::datamap::csv(&rows)?),
        "json" => {
            for r in &rows {
                println!("{}", serde_json::to_string(r)?);
            }
            for f in &flows {
                println!("{}", serde_json::to_string(f)?);
            }
        }
        "fideslang" => println!("{}", serde_json::to_string_pretty(&custos_collector::flows::fideslang(&rows, &flows))?),
        other => anyhow::bail!("--format {other}: use md, csv, json or fideslang"),
    }
    Ok(())
}
