#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    grantdesk::cli::main()
}
