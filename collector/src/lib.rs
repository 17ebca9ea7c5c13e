//! The Custos collector: ingest → store → correlation → incidents (→ notification).
//!
//! The collector is run by the security team. It receives findings from agents over mutual-TLS
//! gRPC ([`ingest`]), stores them idempotently ([`store`]), checks each against the GDPR record
//! of processing activities ([`register`], [`correlation`]) and groups what does not fit into
//! incidents with the Art. 33 72-hour clock ([`incident`]), tells the DPO and the security
//! team ([`notify`], [`digest`]) and drafts the Art. 33 notification and the breach register
//! ([`report`]). The register can be TOML, YAML, CSV or XLSX ([`register_table`]) and is
//! reloaded without restart ([`watch`]). The DPO and the security team work in the web console
//! and its JSON API ([`web`]), with local accounts and roles ([`accounts`]).
//!
//! Decisions that shaped it:
//! - **The collector never needs a raw value.** It stores masked previews and keyed
//!   fingerprints; distinct fingerprints estimate the number of affected data subjects.
//! - **Every decision is explained.** A verdict stores, in words, which finding, system,
//!   category and register entries led to it.
//! - **An ack means stored.** A batch is acknowledged after its transaction commits.
//! - **One store interface, two engines.** SQLite in the data directory by default; PostgreSQL
//!   with `store = "postgres://user:password@host:5432/database"` in `collector.toml`, which
//!   several collectors may share: ingestion stays idempotent across them, an incident is
//!   opened once and notified once (see [`store`]). The commands given `--data-dir` find the
//!   PostgreSQL store through `store.url`, which `run` writes there.

#![deny(missing_docs)]

pub mod accounts;
pub mod cli;
pub mod config;
pub mod correlation;
pub mod coverage;
pub mod digest;
pub mod enrollment;
pub mod explorer;
pub mod incident;
pub mod ingest;
pub mod kpi;
pub mod notify;
pub mod pki;
pub mod quickstart;
pub mod register;
pub mod register_table;
pub mod report;
pub mod secret;
pub mod store;
pub mod watch;
pub mod web;

use store::IncidentView;

/// Prints one incident in the human format.
pub fn print_incident(v: &IncidentView) {
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
pub fn print_incident_table(list: &[IncidentView]) {
    if list.is_empty() {
        println!("no incidents");
        return;
    }
    println!("{:>4}  {:<8}  {:<9}  {:<26}  {:<40}  {:<22}  {:>8}  {:>8}  DEADLINE", "ID", "SEVERITY", "STATUS", "RULE", "SYSTEM", "CATEGORIES", "FINDINGS", "SUBJECTS");
    for v in list {
        let system = if v.system.chars().count() > 40 { format!("…{}", v.system.chars().rev().take(39).collect::<Vec<_>>().into_iter().rev().collect::<String>()) } else { v.system.clone() };
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
