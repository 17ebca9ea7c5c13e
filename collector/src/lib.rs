//! The Custos collector: ingest → store → correlation → incidents (→ notification).
//!
//! The collector is run by the security team. It receives findings from agents over mutual-TLS
//! gRPC ([`ingest`]), stores them idempotently ([`store`]), checks each against the GDPR record
//! of processing activities ([`register`], [`correlation`]) and groups what does not fit into
//! incidents with the Art. 33 72-hour clock ([`incident`]), tells the DPO and the security
//! team ([`notify`], [`digest`]) and drafts the Art. 33 notification and the breach register
//! ([`report`]). The register can be TOML, YAML, CSV or XLSX ([`register::table`]) and is
//! reloaded without restart ([`watch`]). The DPO and the security team work in the web console
//! and its JSON API ([`web`]), with local accounts and roles ([`accounts`]).
//!
//! The binary (`custos-collector`, `src/cli/`) is a thin layer over this library: argument
//! grammar and printing. [`serve`] wires a running collector (gRPC, console, register watch,
//! notifier, purge); [`data_dir`] holds the data directory's conventions; [`views`] turns
//! stored records into the text the CLI and the console show.
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
#![forbid(unsafe_code)]

pub mod accounts;
pub mod config;
pub mod correlation;
pub mod coverage;
pub mod csv_cell;
pub mod data_dir;
pub mod datamap;
pub mod digest;
pub mod enrollment;
pub mod estimate;
pub mod flows;
pub mod incident;
pub mod ingest;
pub mod kpi;
pub mod message;
pub mod notify;
pub mod pki;
pub mod rate;
pub mod register;
pub mod report;
pub mod secret;
pub mod serve;
pub mod state;
pub mod store;
pub mod suggest;
pub mod views;
pub mod watch;
pub mod web;
