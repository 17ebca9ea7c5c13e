//! `custos-collector`: a thin binary over the `custos_collector` library (see `cli`).

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
