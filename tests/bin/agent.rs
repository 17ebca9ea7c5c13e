//! `custos-agent`, built inside the test package so end-to-end tests can run it as a process:
//! the real binary's command line, included from the agent's source.

#![forbid(unsafe_code)]

#[path = "../../agent/src/cli.rs"]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
