fn main() { zabsim::cli::main() }
