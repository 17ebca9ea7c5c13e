fn main() -> std::process::ExitCode {
    custos_collector::cli::main()
}
