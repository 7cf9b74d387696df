//! The `gatewatch` binary: parse arguments, run, report errors. Everything else is in the library.

fn main() -> std::process::ExitCode {
    gatewatch::cli::main()
}
