//! The gateway's own diagnostic log on stderr (the disclosure log is another thing): text or
//! one JSON object per line, filtered by `RUST_LOG` (default `info,sqlx=warn`). Colours only
//! when stderr is a terminal, so a file or a log collector gets no escape codes.
//!
//! Each request runs in a `request` span carrying its method, route template, partner OIN and
//! trace ids, so every line inside it carries them too; its one access line has the target
//! [`ACCESS_TARGET`]. Neither ever holds a BSN, a name or a raw path.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// The target of the one access-log event per request (`RUST_LOG=vhgate::access=off` silences
/// it).
pub const ACCESS_TARGET: &str = "vhgate::access";

/// The filter without `RUST_LOG`.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn";

/// The benchmarks' filter without `RUST_LOG`: no access line per request, which would time the
/// terminal (or the log file) rather than the gateway and bury the report.
pub const BENCH_FILTER: &str = "info,sqlx=warn,vhgate::access=off";

/// Lines that may wait for the writer thread; beyond that a logging call waits (nothing is
/// dropped).
const BUFFERED_LINES: usize = 128 * 1024;

/// Installs the process's subscriber (once; a second call changes nothing). `RUST_LOG`, when
/// set, wins over `default_filter`. Lines go to stderr through a writer thread, so an async
/// worker never waits on a slow terminal or pipe; keep the returned guard until the process
/// ends (dropping it writes what is still queued).
#[must_use = "dropping the guard stops the log writer"]
pub fn init(
    format: LogFormat,
    default_filter: &str,
) -> tracing_appender::non_blocking::WorkerGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(BUFFERED_LINES)
        .lossy(false)
        .thread_name("vhgate-log-writer")
        .finish(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .with_ansi(false)
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    guard
}
