//! Progress and warnings from library code to the CLI (libraries never print).

use crate::git::FetchProgress;

/// Receives progress and warnings while an operation runs. The CLI implements it with
/// indicatif (TTY only) and stderr; tests use [`SilentReporter`].
pub trait Reporter: Sync {
    /// A step started, e.g. "Cloning `https://github.com/o/r.git`".
    fn status(&self, message: &str);
    /// Something the user should know that does not stop the operation.
    fn warn(&self, message: &str);
    /// Fetch progress for the current clone.
    fn fetch_progress(&self, _progress: FetchProgress) {}
    /// The current clone finished (hide its progress bar).
    fn fetch_finished(&self) {}
}

/// A reporter that drops everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct SilentReporter;

impl Reporter for SilentReporter {
    fn status(&self, _message: &str) {}
    fn warn(&self, _message: &str) {}
}
