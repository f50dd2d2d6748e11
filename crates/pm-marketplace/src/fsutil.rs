//! Atomic writes and the state lock (DEVIATIONS.md 2; style-anchors §(b)5).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Writes `contents` to `path` atomically: a temporary file in the same directory, flushed
/// to disk, then renamed over `path`. The old file's permission bits are kept; a new file gets
/// 0644 (the reference's mode). Missing parent directories are created.
///
/// Errors: any I/O error, with the path in its message (fs-err).
pub fn write_atomic(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs_err::create_dir_all(parent)?;
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("pm")
        ))
        .suffix(".tmp")
        .tempfile_in(parent)
        .map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!(
                    "failed to create a temporary file in `{}`: {e}",
                    parent.display()
                ),
            )
        })?;
    temp.write_all(contents)?;
    temp.as_file().sync_data()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs_err::metadata(path)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        fs_err::set_permissions(temp.path(), std::fs::Permissions::from_mode(mode))?;
    }
    temp.persist(path).map_err(|e| {
        std::io::Error::new(
            e.error.kind(),
            format!("failed to replace `{}`: {}", path.display(), e.error),
        )
    })?;
    Ok(())
}

/// Reads a file to a string; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> std::io::Result<Option<String>> {
    match fs_err::read(path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// An exclusive, cross-process lock on `<plugins dir>/.pm.lock`, held until dropped.
/// Every read-modify-write of a state or settings file happens under it.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    path: PathBuf,
}

/// The lock could not be taken in time.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process held the lock for longer than the timeout.
    #[error("timed out after {}s waiting for the lock `{}` held by another pm process", timeout.as_secs(), path.display())]
    Timeout { path: PathBuf, timeout: Duration },
    /// The lock file could not be opened.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

impl StateLock {
    /// Takes the lock, waiting up to `timeout`. `on_wait` is called once if the lock is busy
    /// (the caller prints "Waiting for …"). A file system that cannot lock degrades to no lock.
    pub fn acquire(
        plugins_dir: &Path,
        timeout: Duration,
        on_wait: &mut dyn FnMut(&Path),
    ) -> Result<Self, LockError> {
        fs_err::create_dir_all(plugins_dir)?;
        let path = plugins_dir.join(".pm.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("failed to open lock file `{}`: {e}", path.display()),
                )
            })?;
        let start = Instant::now();
        let mut announced = false;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StateLock { _file: file, path }),
                Err(TryLockError::WouldBlock) => {
                    if !announced {
                        on_wait(&path);
                        announced = true;
                    }
                    if start.elapsed() >= timeout {
                        return Err(LockError::Timeout { path, timeout });
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(TryLockError::Error(error))
                    if error.kind() == std::io::ErrorKind::Unsupported =>
                {
                    return Ok(StateLock { _file: file, path });
                }
                Err(TryLockError::Error(error)) => return Err(LockError::Io(error)),
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_keeps_mode_and_replaces() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a/b.json");
        write_atomic(&path, b"one").expect("write");
        assert_eq!(fs_err::read_to_string(&path).expect("read"), "one");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs_err::metadata(&path).expect("meta").permissions().mode() & 0o777,
                0o644
            );
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
            write_atomic(&path, b"two").expect("write");
            assert_eq!(
                fs_err::metadata(&path).expect("meta").permissions().mode() & 0o777,
                0o600
            );
        }
        assert_eq!(fs_err::read_to_string(&path).expect("read"), "two");
        assert_eq!(
            fs_err::read_dir(path.parent().expect("parent"))
                .expect("ls")
                .count(),
            1
        );
    }

    #[test]
    fn lock_times_out_while_held() {
        let dir = tempfile::tempdir().expect("tempdir");
        let held =
            StateLock::acquire(dir.path(), Duration::from_secs(1), &mut |_| {}).expect("first");
        let mut waited = false;
        let second = StateLock::acquire(dir.path(), Duration::from_millis(100), &mut |_| {
            waited = true
        });
        assert!(matches!(second, Err(LockError::Timeout { .. })));
        assert!(waited);
        drop(held);
        StateLock::acquire(dir.path(), Duration::from_millis(100), &mut |_| {})
            .expect("free again");
    }
}
