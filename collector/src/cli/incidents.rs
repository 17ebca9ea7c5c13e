//! Incidents on the command line: the list, one incident with its evidence and timeline (or a
//! status change), the Art. 33 draft and the breach register.

use custos_collector::data_dir::{load_register, open_store};
use custos_collector::incident::Status;
use custos_collector::views::{FindingView, IncidentView, TimelineEntry};
use std::path::PathBuf;

/// `incidents`: the list, as a table or JSON Lines.
pub(super) fn list(data_dir: PathBuf, json: bool) -> anyhow::Result<()> {
    let store = open_store(&data_dir, false)?;
    let list: Vec<IncidentView> = store.incidents()?.into_iter().map(IncidentView::from).collect();
    if json {
        for v in &list {
            println!("{}", serde_json::to_string(v)?);
        }
    } else {
        print_incident_table(&list);
    }
    Ok(())
}

/// `incident ID`: one incident with its evidence and timeline, or a status change.
pub(super) fn show(id: i64, data_dir: PathBuf, json: bool, set_status: Option<String>, by: String, note: String) -> anyhow::Result<()> {
    if let Some(s) = set_status {
        let to = Status::parse(&s).ok_or_else(|| anyhow::anyhow!("--set-status `{s}`: use triaged, assessed, notified or not_notifiable"))?;
        let mut store = open_store(&data_dir, true)?;
        store.set_status(id, to, &by, &note, custos_proto::time::now_ms())?.map_err(|e| anyhow::anyhow!("incident #{id}: {e}"))?;
        println!("incident #{id} is now {to}");
        return Ok(());
    }
    let store = open_store(&data_dir, false)?;
    let v = IncidentView::from(store.incident(id)?.ok_or_else(|| anyhow::anyhow!("no incident #{id}; list them with `custos-collector incidents`"))?);
    let evidence: Vec<FindingView> = store.evidence(id)?.into_iter().map(FindingView::from).collect();
    let timeline: Vec<TimelineEntry> = store.timeline(id)?.into_iter().map(TimelineEntry::from).collect();
    if json {
        println!("{}", serde_json::json!({ "incident": v, "evidence": evidence, "timeline": timeline }));
        return Ok(());
    }
    print_incident(&v);
    println!(
        "     status: {}  records (estimate): {}  hours left: {}",
        v.status,
        v.records,
        custos_collector::incident::hours_left(v.deadline_ms, custos_proto::time::now_ms())
    );
    if !v.justification.is_empty() {
        println!("     not notified because: {}", v.justification);
    }
    println!("\nEvidence ({} findings; masked previews only):", evidence.len());
    for e in &evidence {
        let ev: Vec<String> = e.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  {} {} {}:{} {} {} `{}` {}", e.observed_at, e.kind, e.host, e.locator, e.at, e.detector, e.preview, ev.join(" "));
    }
    println!("\nTimeline:");
    for t in &timeline {
        println!("  {} {:<15} {:<10} {}", t.at, t.kind, t.actor, t.note);
    }
    Ok(())
}

/// `report ID`: the Art. 33 notification draft.
pub(super) fn report(id: i64, format: &str, data_dir: PathBuf, register: Option<PathBuf>) -> anyhow::Result<()> {
    let register = load_register(&data_dir, register)?;
    let mut store = open_store(&data_dir, true)?;
    let draft = custos_collector::report::Art33Draft::produce(&mut store, id, &register, "custos", custos_proto::time::now_ms())?
        .ok_or_else(|| anyhow::anyhow!("no incident #{id}"))?;
    match format {
        "md" => print!("{}", draft.markdown()),
        "json" => println!("{}", serde_json::to_string_pretty(&draft)?),
        other => anyhow::bail!("--format {other}: use md or json"),
    }
    Ok(())
}

/// `breach-register`: every incident, notified or not (Art. 33(5)).
pub(super) fn breach_register(format: &str, data_dir: PathBuf) -> anyhow::Result<()> {
    let store = open_store(&data_dir, false)?;
    let rows = custos_collector::report::breach_register(&store)?;
    match format {
        "csv" => print!("{}", custos_collector::report::breach_register_csv(&rows)?),
        "json" => {
            for r in &rows {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        other => anyhow::bail!("--format {other}: use csv or json"),
    }
    Ok(())
}

/// Prints one incident in the human format.
pub(super) fn print_incident(v: &IncidentView) {
    println!(
        "  #{} [{}] {} on {}\n     categories: {}  findings: {}  distinct subjects: {}\n     detected: {}  Art. 33 deadline: {}\n     why: {}",
        v.id,
        v.severity,
        v.rule,
        v.system,
        v.categories.join(", "),
        v.findings,
        v.distinct_subjects,
        v.detected_at,
        v.deadline,
        v.explanation.replace('\n', "\n          ")
    );
}

/// Prints incidents as a table followed by their explanations.
pub(super) fn print_incident_table(list: &[IncidentView]) {
    if list.is_empty() {
        println!("no incidents");
        return;
    }
    println!(
        "{:>4}  {:<8}  {:<9}  {:<26}  {:<40}  {:<22}  {:>8}  {:>8}  DEADLINE",
        "ID", "SEVERITY", "STATUS", "RULE", "SYSTEM", "CATEGORIES", "FINDINGS", "SUBJECTS"
    );
    for v in list {
        let system = if v.system.chars().count() > 40 {
            format!("…{}", v.system.chars().rev().take(39).collect::<Vec<_>>().into_iter().rev().collect::<String>())
        } else {
            v.system.clone()
        };
        println!(
            "{:>4}  {:<8}  {:<9}  {:<26}  {:<40}  {:<22}  {:>8}  {:>8}  {}",
            v.id,
            v.severity,
            v.status,
            v.rule,
            system,
            v.categories.join(","),
            v.findings,
            v.distinct_subjects,
            v.deadline
        );
    }
    for v in list {
        println!("\n#{}: {}", v.id, v.explanation);
    }
}
