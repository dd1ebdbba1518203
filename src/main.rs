#![forbid(unsafe_code)]

/// mimalloc instead of the system allocator: decoding Table API pages and building the seeded
/// world allocate many small strings, where glibc's malloc spent a fifth of the time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    grantdesk::cli::main()
}
