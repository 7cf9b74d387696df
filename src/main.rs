//! The `gatewatch` binary: parse arguments, run, report errors. Everything else is in the library.

/// Arrow kernels, decoders and windows allocate many short-lived buffers from several
/// threads: mimalloc (without transparent huge pages, which inflate RSS) spends less CPU on
/// them than glibc's malloc. Measured in `scripts/compare-duckdb.sh`; see issue 13's note.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gatewatch::cli::main()
}
