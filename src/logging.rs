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

/// Installs the process's subscriber (once; a second call changes nothing). `RUST_LOG`, when
/// set, wins over `default_filter`.
pub fn init(format: LogFormat, default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
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
}
