//! Where the console's log goes: a file, never the screen it owns.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;

/// Keeps the log writer alive; dropping it flushes what is buffered.
pub type LogGuard = tracing_appender::non_blocking::WorkerGuard;

/// The default log file: `$XDG_STATE_HOME/grantdesk/console.log` (`~/.local/state/…`), or beside
/// the default store when there is no state folder.
pub fn default_path() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("grantdesk").join("console.log"));
    }
    directories::BaseDirs::new()
        .and_then(|b| b.state_dir().map(|d| d.join("grantdesk").join("console.log")))
        .or_else(|| crate::config::default_db_path().and_then(|p| p.parent().map(|d| d.join("console.log"))))
}

/// Sends `tracing` output to `path` (appended), at the level `GRANTDESK_LOG` names
/// (`RUST_LOG` syntax; default `grantdesk=info`). A second call keeps the first file.
pub fn to_file(path: &Path) -> anyhow::Result<LogGuard> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating the log folder {}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening the log file {}", path.display()))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = EnvFilter::try_from_env("GRANTDESK_LOG").unwrap_or_else(|_| EnvFilter::new("grantdesk=info"));
    // Already set (a test, or a second console in one process): keep that one.
    let _ = tracing_subscriber::fmt().with_writer(writer).with_ansi(false).with_env_filter(filter).try_init();
    Ok(guard)
}
