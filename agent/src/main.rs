fn main() -> std::process::ExitCode {
    custos_agent::cli::main()
}
