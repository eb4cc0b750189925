//! Bounded collection of a plugin's log lines for one call.

use serde::Serialize;

/// Severity, as the plugin gave it (or `warn` for the host's own notes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl std::fmt::Display for LogLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = match self {
            LogLevel::Trace => "trace",
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        };
        f.write_str(s)
    }
}

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogSource {
    /// `host.log` from the plugin.
    Plugin,
    /// The plugin's stderr (a Rust panic message lands here).
    Stderr,
    /// The plugin's stdout.
    Stdout,
    /// The host itself, e.g. "log truncated".
    Host,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub source: LogSource,
    pub message: String,
}

/// Longest single line kept; longer ones are cut with a marker.
const MAX_LINE_BYTES: usize = 4096;

/// Keeps log lines up to a line and byte budget and counts what it drops.
#[derive(Debug)]
pub struct LogBuffer {
    lines: Vec<LogLine>,
    bytes: usize,
    max_lines: usize,
    max_bytes: usize,
    dropped: u64,
}

impl LogBuffer {
    pub fn new(max_lines: usize, max_bytes: usize) -> Self {
        LogBuffer {
            lines: Vec::new(),
            bytes: 0,
            max_lines,
            max_bytes,
            dropped: 0,
        }
    }

    pub fn push(&mut self, level: LogLevel, source: LogSource, message: &str) {
        let message = truncate(message, MAX_LINE_BYTES);
        if self.lines.len() >= self.max_lines || self.bytes + message.len() > self.max_bytes {
            self.dropped += 1;
            return;
        }
        self.bytes += message.len();
        self.lines.push(LogLine {
            level,
            source,
            message,
        });
    }

    /// The kept lines, plus a host note when lines were dropped.
    pub fn finish(mut self) -> Vec<LogLine> {
        if self.dropped > 0 {
            self.lines.push(LogLine {
                level: LogLevel::Warn,
                source: LogSource::Host,
                message: format!(
                    "log truncated: {} more lines dropped (limit {} lines, {} bytes per call)",
                    self.dropped, self.max_lines, self.max_bytes
                ),
            });
        }
        self.lines
    }
}

fn truncate(message: &str, max: usize) -> String {
    if message.len() <= max {
        return message.to_string();
    }
    let cut = message.floor_char_boundary(max);
    format!("{}… [{} bytes cut]", &message[..cut], message.len() - cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_within_budget_and_reports_drops() {
        let mut logs = LogBuffer::new(2, 1024);
        for i in 0..5 {
            logs.push(LogLevel::Info, LogSource::Plugin, &format!("line {i}"));
        }
        let lines = logs.finish();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].message, "line 1");
        assert!(lines[2]
            .message
            .starts_with("log truncated: 3 more lines dropped"));
    }

    #[test]
    fn cuts_long_lines_on_char_boundaries() {
        let mut logs = LogBuffer::new(10, 1 << 20);
        logs.push(LogLevel::Info, LogSource::Plugin, &"é".repeat(5000));
        let lines = logs.finish();
        assert!(lines[0].message.ends_with("bytes cut]"));
        assert!(lines[0].message.len() < 4200);
    }
}
