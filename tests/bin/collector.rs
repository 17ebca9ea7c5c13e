//! `custos-collector`, built inside the test package so end-to-end tests can run it as a process.
fn main() -> std::process::ExitCode {
    custos_collector::cli::main()
}
