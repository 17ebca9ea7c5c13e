//! `custos-collector`, built inside the test package so end-to-end tests can run it as a
//! process: the real binary's command line, included from the collector's source.

#![forbid(unsafe_code)]

#[path = "../../collector/src/cli/mod.rs"]
mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
