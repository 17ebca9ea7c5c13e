//! The `custos-collector` command line: the argument grammar ([`args`]), and one module per
//! family of commands that prints what the library computes — [`incidents`] (list, show, report, breach
//! register), [`admin`] (users, agents, mutes, register, digest, coverage, purge, audit) and
//! [`quickstart`].
//!
//! This is the binary's, not the library's: `src/main.rs` (and the test package's copy of the
//! binary) include it with `mod cli;`.

mod actor;
mod admin;
mod args;
mod incidents;
mod quickstart;
mod subjects;

use args::{Cli, Command, LogFormat, RegisterAction};
use clap::Parser;
use std::process::ExitCode;

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // The quickstart prints its own story on stdout; keep stderr for problems.
    let level = if matches!(cli.command, Command::Quickstart { .. }) { "warn" } else { "info" };
    init_logging(cli.log_format, level);
    let result = match cli.command {
        Command::Run { config } => runtime().and_then(|rt| rt.block_on(custos_collector::serve::run(&config))),
        Command::Quickstart { once, data_dir, examples } => {
            runtime().and_then(|rt| rt.block_on(quickstart::run(quickstart::QuickstartOptions { data_dir, examples, once })))
        }
        Command::Incidents { data_dir, json } => incidents::list(data_dir, json),
        Command::Incident { id, data_dir, json, set_status, promote, demote, dpo_subjects, dpo_records, add_note, art34, reference, by, note } => {
            let change = incidents::Change { set_status, promote, demote, dpo_subjects, dpo_records, add_note, art34, reference, by, note };
            incidents::show(id, data_dir, json, change)
        }
        Command::Datamap { format, flows, since, data_dir, register, config } => subjects::datamap(&format, flows, since, data_dir, register, config),
        Command::Subject { fingerprints, data_dir, json, erased_at, request, by } => subjects::subject(&fingerprints, data_dir, json, erased_at, request, by),
        Command::Report { id, format, data_dir, register } => incidents::report(id, &format, data_dir, register),
        Command::BreachRegister { format, data_dir, register } => incidents::breach_register(&format, data_dir, register),
        Command::Register { action: RegisterAction::Check { file } } => match custos_collector::register::check_file(&file) {
            Ok(r) => {
                println!("{}: OK — {} processing activities", file.display(), r.activities.len());
                Ok(())
            }
            Err(e) => {
                for p in &e.problems {
                    println!("{}", p.render(&file.display().to_string()));
                }
                eprintln!("{} problem(s)", e.problems.len());
                return ExitCode::from(1);
            }
        },
        Command::Register { action: RegisterAction::Import { file, output } } => admin::register_import(&file, &output),
        Command::Register { action: RegisterAction::Suggest { data_dir, register } } => admin::register_suggest(data_dir, register),
        Command::Digest { data_dir, register, silent_hours, json, send } => admin::digest(data_dir, register, silent_hours, json, send),
        Command::Notifications { data_dir, json } => admin::notifications(data_dir, json),
        Command::Mute { rule, system, reason, by, data_dir } => admin::mute(rule, system, reason, by, data_dir, true),
        Command::Unmute { rule, system, reason, by, data_dir } => admin::mute(rule, system, reason, by, data_dir, false),
        Command::Audit { data_dir } => admin::audit(data_dir),
        Command::Purge { older_than_days, data_dir } => admin::purge(data_dir, older_than_days),
        Command::Coverage { data_dir, register } => admin::coverage(data_dir, register),
        Command::Rules => {
            for r in custos_collector::correlation::Rule::ALL {
                println!("{:<20} {:<8} {}", r.id(), r.default_severity(), r.title());
            }
            Ok(())
        }
        Command::User { action } => admin::user(action),
        Command::Enroll { agent_id, data_dir, ttl_seconds } => admin::enroll(agent_id, data_dir, ttl_seconds),
        Command::Revoke { agent_id, data_dir, reason } => admin::revoke(agent_id, data_dir, reason),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("custos-collector: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Sets up `tracing` on stderr in the chosen format; `RUST_LOG` filters, else `default_level`.
fn init_logging(format: LogFormat, default_level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    // Control characters in logged values (ids chosen by agents or users) are escaped, so no
    // value can start a forged line; ANSI colours would be escaped too, so there are none.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_writer(|| custos_proto::log::Escaping(std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
