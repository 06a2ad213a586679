fn main() -> std::process::ExitCode {
    alertchart::cli::main()
}
