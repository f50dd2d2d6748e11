//! What every operation needs: where the files are, how to reach git, how long to wait for
//! the lock. Built once by the CLI from its flags and environment variables.

use crate::error::Result;
use crate::fsutil::StateLock;
use crate::git::GitOptions;
use crate::reporter::Reporter;
use pm_core::scope::Locations;
use std::path::PathBuf;
use std::time::Duration;

/// The resolved environment of one pm invocation.
#[derive(Debug, Clone)]
pub struct Environment {
    /// Config root, cwd, project root, managed root.
    pub locations: Locations,
    /// `$HOME`, for `~` in marketplace paths.
    pub home: PathBuf,
    /// Credentials and backend for git.
    pub git: GitOptions,
    /// How long to wait for the state lock.
    pub lock_timeout: Duration,
}

impl Environment {
    /// Takes the state lock (see [`StateLock::acquire`]), reporting a wait once.
    pub fn lock(&self, reporter: &dyn Reporter) -> Result<StateLock> {
        let lock = StateLock::acquire(
            &self.locations.plugins_dir(),
            self.lock_timeout,
            &mut |path| {
                reporter.status(&format!(
                    "Waiting for the lock `{}` held by another pm process",
                    path.display()
                ));
            },
        )?;
        Ok(lock)
    }

    /// The cwd as recorded in `projectPath`.
    pub fn project_path(&self) -> String {
        self.locations.cwd.to_string_lossy().into_owned()
    }
}
