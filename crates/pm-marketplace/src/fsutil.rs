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
    // Temporary files of writes that were killed before their rename (`.settings.json.Ab12Cd.tmp`
    // would otherwise stay in a project's `.claude/` forever, untracked in `git status`).
    if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
        remove_stale(parent, false, |entry| is_temp_name(entry, name));
    }
    Ok(())
}

/// How old a leftover of a pm run (a temporary file of [`write_atomic`], a staging directory
/// of an install) must be before another run removes it: a live run finishes a write or a
/// copy in far less.
pub const STALE_AFTER: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Whether `entry` is a temporary file of [`write_atomic`] for the file `name`:
/// `.<name>.<6 alphanumerics>.tmp`.
fn is_temp_name(entry: &str, name: &str) -> bool {
    entry
        .strip_prefix('.')
        .and_then(|rest| rest.strip_prefix(name))
        .and_then(|rest| rest.strip_prefix('.'))
        .and_then(|rest| rest.strip_suffix(".tmp"))
        .is_some_and(|random| {
            random.len() == 6 && random.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// Removes the entries of `dir` that `is_leftover` accepts, are directories (`dirs`) or files
/// (not following links), and were last modified more than [`STALE_AFTER`] ago: what a killed
/// pm run left behind. Best effort: errors are ignored.
pub fn remove_stale(dir: &Path, dirs: bool, is_leftover: impl Fn(&str) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_str().is_some_and(&is_leftover) {
            continue;
        }
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if meta.is_dir() != dirs {
            continue;
        }
        let stale = meta
            .modified()
            .ok()
            .and_then(|modified| modified.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if !stale {
            continue;
        }
        let _ = if dirs {
            std::fs::remove_dir_all(entry.path())
        } else {
            std::fs::remove_file(entry.path())
        };
    }
}

/// Reads a file to a string (invalid UTF-8 replaced with U+FFFD); `Ok(None)` when it does not
/// exist. Errors name the path.
///
/// Made for the many small files `pm list` and friends read (a `plugin.json` per installed
/// plugin): an open, reads into an 8 KiB buffer that grows as needed, and a close. `fs::read`
/// also asks for the file's size twice and its position once, which on a machine with costly
/// system calls was a third of `pm list --json` with 230 plugins.
pub fn read_optional(path: &Path) -> std::io::Result<Option<String>> {
    use std::io::Read;
    let with_path = |error: std::io::Error| {
        std::io::Error::new(
            error.kind(),
            format!("failed to read file `{}`: {error}", path.display()),
        )
    };
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(with_path(error)),
    };
    let mut bytes = Vec::with_capacity(8 * 1024);
    // `Take` hides the `File`, so `read_to_end` does not ask for its size: no `statx`/`lseek`.
    file.take(u64::MAX)
        .read_to_end(&mut bytes)
        .map_err(with_path)?;
    Ok(Some(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    }))
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
    fn read_optional_reads_whole_files_and_names_the_path_on_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(
            read_optional(&dir.path().join("missing")).expect("read"),
            None
        );
        let big = dir.path().join("big.json");
        let text = "x".repeat(100_000);
        fs_err::write(&big, &text).expect("write");
        assert_eq!(read_optional(&big).expect("read").as_deref(), Some(&*text));
        let latin1 = dir.path().join("latin1.json");
        fs_err::write(&latin1, b"caf\xe9").expect("write");
        assert_eq!(
            read_optional(&latin1).expect("read").as_deref(),
            Some("caf\u{fffd}")
        );
        let error = read_optional(dir.path()).expect_err("a directory");
        assert!(
            error
                .to_string()
                .contains(&dir.path().display().to_string()),
            "{error}"
        );
    }

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
    fn stale_temporary_files_are_removed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("settings.json");
        let old = std::time::SystemTime::now() - STALE_AFTER - Duration::from_secs(60);
        let make = |name: &str, stale: bool| {
            let file = File::create(dir.path().join(name)).expect("create");
            if stale {
                file.set_modified(old).expect("set mtime");
            }
        };
        make(".settings.json.Ab12Cd.tmp", true); // a killed write: removed
        make(".settings.json.Xy34Zw.tmp", false); // a write in progress: kept
        make(".other.json.Ab12Cd.tmp", true); // another file's: kept
        make(".settings.json.tmp", true); // not pm's name: kept
        write_atomic(&path, b"{}").expect("write");
        let mut names: Vec<String> = fs_err::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ".other.json.Ab12Cd.tmp",
                ".settings.json.Xy34Zw.tmp",
                ".settings.json.tmp",
                "settings.json"
            ]
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
