//! Incidents on the command line: the list, one incident with its evidence and timeline (or a
//! status change), the Art. 33 draft and the breach register.

use super::actor::actor;
use custos_collector::accounts::Permission;
use custos_collector::correlation::IncidentKind;
use custos_collector::data_dir::{load_register, open_store};
use custos_collector::incident::Status;
use custos_collector::views::{FindingView, IncidentView, NoteView, TimelineEntry};
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

/// What `incident ID` is asked to change, if anything.
pub(super) struct Change {
    pub(super) set_status: Option<String>,
    pub(super) promote: bool,
    pub(super) demote: bool,
    pub(super) dpo_subjects: Option<u64>,
    pub(super) dpo_records: Option<u64>,
    pub(super) add_note: Option<String>,
    pub(super) art34: Option<String>,
    pub(super) reference: String,
    pub(super) by: Option<String>,
    pub(super) note: String,
}

impl Change {
    fn any(&self) -> bool {
        self.set_status.is_some()
            || self.promote
            || self.demote
            || self.dpo_subjects.is_some()
            || self.dpo_records.is_some()
            || self.add_note.is_some()
            || self.art34.is_some()
    }
}

/// Applies a change to incident `id`, as `by` (a console user whose role allows it).
fn apply(id: i64, data_dir: &std::path::Path, c: Change) -> anyhow::Result<()> {
    let mut store = open_store(data_dir, true)?;
    let now = custos_proto::time::now_ms();
    let by = c.by.as_deref();
    let fail = |e: String| anyhow::anyhow!("incident #{id}: {e}");
    if let Some(s) = &c.set_status {
        let to = Status::parse(s).ok_or_else(|| anyhow::anyhow!("--set-status `{s}`: use triaged, assessed, notified, not_notifiable or resolved"))?;
        let needs = match to {
            Status::Triaged => Permission::Triage,
            Status::Assessed => Permission::Assess,
            _ => Permission::Decide,
        };
        let user = actor(&store, by, needs)?;
        store.set_status_with_reference(id, to, &user.name, &c.note, &c.reference, now)?.map_err(fail)?;
        println!("incident #{id} is now {to}");
    }
    if c.promote || c.demote {
        let user = actor(&store, by, Permission::Decide)?;
        let (to, word) = if c.promote {
            (IncidentKind::Breach, "promoted to a possible breach: the Art. 33 clock runs from now")
        } else {
            (IncidentKind::Compliance, "demoted to a compliance item")
        };
        let due = custos_collector::correlation::CorrelationSettings::default().compliance_due_ms;
        store.change_kind(id, to, &user.name, &c.note, due, now)?.map_err(fail)?;
        println!("incident #{id} {word}");
    }
    if c.dpo_subjects.is_some() || c.dpo_records.is_some() {
        let user = actor(&store, by, Permission::Decide)?;
        store.set_dpo_estimate(id, c.dpo_subjects, c.dpo_records, &c.note, &user.name, now)?.map_err(fail)?;
        println!("incident #{id}: DPO estimate recorded");
    }
    if let Some(kind) = &c.add_note {
        let user = actor(&store, by, if kind == "follow_up" || kind == "late_reason" { Permission::Decide } else { Permission::Triage })
            .or_else(|_| actor(&store, by, Permission::Decide))?;
        store.add_note(id, kind, &c.note, &c.reference, &user.name, now)?.map_err(fail)?;
        println!("incident #{id}: {kind} note recorded");
    }
    if let Some(decision) = &c.art34 {
        let user = actor(&store, by, Permission::Decide)?;
        store.set_art34(id, decision, &c.note, &user.name, now)?.map_err(fail)?;
        println!("incident #{id}: Art. 34 decision recorded ({decision})");
    }
    Ok(())
}

/// `incident ID`: one incident with its evidence and timeline, or a change (status, kind, the
/// DPO's estimate, a note, the Art. 34 decision).
pub(super) fn show(id: i64, data_dir: PathBuf, json: bool, change: Change) -> anyhow::Result<()> {
    if change.any() {
        return apply(id, &data_dir, change);
    }
    let store = open_store(&data_dir, false)?;
    let v = IncidentView::from(store.incident(id)?.ok_or_else(|| anyhow::anyhow!("no incident #{id}; list them with `custos-collector incidents`"))?);
    let evidence: Vec<FindingView> = store.evidence(id)?.into_iter().map(FindingView::from).collect();
    let timeline: Vec<TimelineEntry> = store.timeline(id)?.into_iter().map(TimelineEntry::from).collect();
    let notes: Vec<NoteView> = store.notes(id)?.into_iter().map(NoteView::from).collect();
    if json {
        println!("{}", serde_json::json!({ "incident": v, "evidence": evidence, "timeline": timeline, "notes": notes }));
        return Ok(());
    }
    print_incident(&v);
    println!("     status: {}  hours left: {}", v.status, custos_collector::incident::hours_left(v.due_or_deadline_ms(), custos_proto::time::now_ms()));
    println!("     subjects: {} (range {}–{}; {})", v.subjects.value, v.subjects.low, v.subjects.high, v.subjects.method);
    println!("     records: {} ({})", v.records_estimate.value, v.records_estimate.method);
    if let Some(d) = &v.dpo_estimate {
        println!(
            "     DPO estimate: {} subjects, {} records — {}",
            d.subjects.map_or("-".into(), |n| n.to_string()),
            d.records.map_or("-".into(), |n| n.to_string()),
            d.note
        );
    }
    if !v.justification.is_empty() {
        println!("     not notified because: {}", v.justification);
    }
    if v.systems.len() > 1 {
        println!("     systems: {}", v.systems.join(", "));
    }
    println!("\nEvidence ({} findings; masked previews only):", evidence.len());
    for e in &evidence {
        let ev: Vec<String> = e.evidence.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("  {} {} {}:{} {} {} `{}` {}", e.observed_at, e.kind, e.host, e.locator, e.at, e.detector, e.preview, ev.join(" "));
    }
    if !notes.is_empty() {
        println!("\nNotes:");
        for n in &notes {
            println!(
                "  {} {:<13} {:<10} {}{}",
                n.at,
                n.kind,
                n.actor,
                n.text,
                if n.reference.is_empty() { String::new() } else { format!(" (reference {})", n.reference) }
            );
        }
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

/// `breach-register`: every breach, notified or not (Art. 33(5)).
pub(super) fn breach_register(format: &str, data_dir: PathBuf, register: Option<PathBuf>) -> anyhow::Result<()> {
    let register = load_register(&data_dir, register)?;
    let store = open_store(&data_dir, false)?;
    let rows = custos_collector::report::breach_register(&store, &register)?;
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
    let clock = if v.is_breach() {
        format!("Art. 33 deadline: {}", v.deadline.as_deref().unwrap_or("-"))
    } else {
        format!("no Art. 33 clock; due: {}", v.due.as_deref().unwrap_or("-"))
    };
    println!(
        "  #{} [{}] [{}] {} on {}\n     categories: {}  findings: {}  subjects: {}  records: {}\n     detected: {}  {clock}\n     why: {}",
        v.id,
        v.kind,
        v.severity,
        v.rule,
        v.system,
        v.categories.join(", "),
        v.findings,
        v.subjects.value,
        v.records_estimate.value,
        v.detected_at,
        v.explanation.replace('\n', "\n          ")
    );
}

/// Prints incidents as two tables, breaches first, followed by their explanations.
pub(super) fn print_incident_table(list: &[IncidentView]) {
    if list.is_empty() {
        println!("no incidents");
        return;
    }
    let (breaches, compliance): (Vec<&IncidentView>, Vec<&IncidentView>) = list.iter().partition(|v| v.is_breach());
    for (title, rows, when) in
        [("Possible breaches (Art. 33 clock)", &breaches, "DEADLINE"), ("Compliance items (register gaps, no clock)", &compliance, "DUE")]
    {
        if rows.is_empty() {
            continue;
        }
        println!("{title}:");
        println!(
            "{:>4}  {:<8}  {:<9}  {:<26}  {:<40}  {:<22}  {:>8}  {:>8}  {when}",
            "ID", "SEVERITY", "STATUS", "RULE", "SYSTEM", "CATEGORIES", "SUBJECTS", "RECORDS"
        );
        for v in rows {
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
                v.subjects.value,
                v.records_estimate.value,
                v.deadline.as_deref().or(v.due.as_deref()).unwrap_or("-")
            );
        }
        println!();
    }
    for v in list {
        println!("#{}: {}", v.id, v.explanation);
    }
}
