fn main() -> std::process::ExitCode {
    zabsim::cli::main()
}
