//! Everything pm prints: data and JSON result lines on stdout, people's messages on stderr.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pm_marketplace::git::FetchProgress;
use pm_marketplace::reporter::Reporter;
use serde_json::{Map, Value};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;

/// Output policy for one invocation.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    /// `--json`: one result line on stdout.
    pub json: bool,
    /// `-q`: only errors on stderr.
    pub quiet: bool,
    /// Progress bars allowed (stderr is a terminal, not quiet, not disabled).
    pub progress: bool,
}

impl Printer {
    /// A status or success line for people (stderr).
    pub fn status(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// A warning (stderr), shown even with `--json`.
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!("warning: {message}");
        }
    }

    /// An error with optional hint (stderr), always shown.
    pub fn error(&self, message: &str, hint: Option<&str>) {
        eprintln!("error: {message}");
        if let Some(hint) = hint {
            eprintln!("\nhint: {hint}");
        }
    }

    /// Data on stdout. A closed pipe is not an error.
    pub fn data(&self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes());
        let _ = stdout.flush();
    }

    /// One JSON value as one line on stdout.
    pub fn json_line(&self, value: &Value) {
        self.data(&format!(
            "{}\n",
            serde_json::to_string(value).unwrap_or_default()
        ));
    }
}

/// Builds a JSON object from `(key, value)` pairs in order, skipping nulls.
pub fn object(pairs: Vec<(&str, Value)>) -> Value {
    let mut map = Map::new();
    for (key, value) in pairs {
        if !value.is_null() {
            map.insert(key.to_string(), value);
        }
    }
    Value::Object(map)
}

/// Strips control and bidi-override characters from third-party text before it reaches a
/// terminal (names and descriptions come from manifests pm does not control).
pub fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !c.is_control() && !matches!(*c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// The CLI's [`Reporter`]: status lines and warnings on stderr, a progress bar while
/// cloning when stderr is a terminal.
pub struct CliReporter {
    printer: Printer,
    bar: Mutex<Option<ProgressBar>>,
}

impl CliReporter {
    /// A reporter printing through `printer`.
    pub fn new(printer: Printer) -> Self {
        CliReporter {
            printer,
            bar: Mutex::new(None),
        }
    }
}

impl Reporter for CliReporter {
    fn status(&self, message: &str) {
        if let Ok(guard) = self.bar.lock()
            && let Some(bar) = guard.as_ref()
        {
            bar.suspend(|| self.printer.status(message));
            return;
        }
        self.printer.status(message);
    }

    fn warn(&self, message: &str) {
        self.printer.warn(message);
    }

    fn fetch_progress(&self, progress: FetchProgress) {
        if !self.printer.progress || !std::io::stderr().is_terminal() {
            return;
        }
        let Ok(mut guard) = self.bar.lock() else {
            return;
        };
        let bar = guard.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(
                Some(progress.total_objects as u64),
                ProgressDrawTarget::stderr(),
            );
            if let Ok(style) =
                ProgressStyle::with_template("  Fetching [{bar:30}] {pos}/{len} objects {msg}")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            bar
        });
        bar.set_length(progress.total_objects as u64);
        bar.set_position(progress.received_objects as u64);
        bar.set_message(format!("({} KiB)", progress.received_bytes / 1024));
    }

    fn fetch_finished(&self) {
        if let Ok(mut guard) = self.bar.lock()
            && let Some(bar) = guard.take()
        {
            bar.finish_and_clear();
        }
    }
}
