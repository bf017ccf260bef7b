//! The `vhgate` binary.

mod cli;

use clap::Parser;

// The Rego interpreter allocates heavily per decision; mimalloc cuts a policy decision by ~15-20%
// against glibc malloc on the bench machine.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let (format, filter) = cli::log_settings(&cli);
    let log_writer = vhgate::logging::init(format, filter);
    let result = cli::run(cli).await;
    // Writes the diagnostic lines still queued, so they come before the error line below.
    drop(log_writer);
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // A user's error is its message and its causes, one line; never a stack backtrace
        // (anyhow's `Debug` prints one whenever RUST_BACKTRACE is set).
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            std::process::ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line, each cause only if its text is not already part of
/// the message before it (thiserror's `{0}` messages repeat their source).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}
