//! The Custos agent: sources → detector → finding → transport.
//!
//! An agent runs on a server, follows its log files, detects personal data with
//! [`custos_rules`], turns each detection into a [`Finding`](custos_proto::v1::Finding) that
//! carries no raw value, and streams findings to the collector over mutual TLS.
//!
//! Decisions that shaped it:
//! - **Raw values never leave this process.** [`finding`] is the only place a detection becomes
//!   something sendable, and what it builds holds a masked preview and an HMAC fingerprint.
//! - **At-least-once delivery, idempotent storage.** Every finding is written to the on-disk
//!   [`spool`] before it is sent and leaves it only when acknowledged; [`checkpoint`]s advance
//!   only after the findings they cover are in the spool. Finding ids are deterministic, the
//!   [`transport`] resends anything not acknowledged, the collector stores each id once.
//! - **Blocking work off the async runtime.** Reading files and running regexes happen on a
//!   dedicated thread; the runtime only moves batches.
//!
//! - **Data stores are sources too.** [`datastore`] classifies files and database tables per
//!   column on a schedule (`[[scan]]`), and [`anomaly`] watches logs and scans for the signs of
//!   a bulk export; both produce findings that travel through the same spool and transport.
//!
//! Where things are: [`run`] wires a running agent (the reader thread, scheduled scans, the
//! transport); [`reader`] is the tailing loop (source → detector → finding → spool);
//! [`discovery`] finds files (log globs, directories to scan); [`scan`] is the one-shot
//! `custos-agent scan`; [`syslog`] receives syslog messages (UDP, TCP, TLS) and scans them
//! like log lines. The binary (`custos-agent`, `src/cli.rs`) is a thin layer: argument
//! grammar and printing.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod anomaly;
pub mod checkpoint;
pub mod config;
pub mod container;
pub mod datastore;
pub mod dead_letter;
pub mod discovery;
pub mod egress;
pub mod enrollment;
pub mod finding;
pub mod journald;
pub mod lookup;
pub mod metrics;
pub mod mode;
#[cfg(test)]
mod model_test;
pub mod place;
pub mod private;
pub mod reader;
pub mod run;
pub mod scan;
pub mod spool;
pub mod subject;
pub mod syslog;
pub mod tail;
pub mod transport;

pub use mode::RunMode;
pub use run::{Agent, hostname, load_engine, load_engine_with};
pub use transport::Delivery;
