//! Plugin sources that live outside the marketplace (reference-lifecycle.md §5.4): git
//! repositories (`github`, `url`, `git-subdir`, each optionally pinned to a branch or tag with
//! `ref` and to a commit with `sha`) and npm packages ([`crate::npm`]).
//!
//! Everything is fetched into a temporary directory inside the plugin's cache directory
//! (`cache/<marketplace>/<plugin>/.clone-*` or `.npm-*`), never into the user's repository or
//! the current directory (DEVIATIONS 12), and removed again when the returned `Fetched` value
//! drops. What it returns is a directory to copy and the boundary links inside it may not
//! leave: `plugins::place_in_cache` then copies it as it copies any plugin.

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::git;
use crate::marketplaces::{self, CreatedDirs, TempClone, normalize};
use crate::reporter::Reporter;
use pm_core::id::PluginId;
use pm_core::marketplace::{InvalidSourceKind, PluginSource};
use pm_core::source::MarketplaceSource;
use std::path::{Path, PathBuf};

/// The temporary files a fetched plugin lives in; removed on drop.
pub(crate) enum Temporary {
    /// A git clone (`.clone-*`).
    Clone { _clone: TempClone },
    /// A directory of unpacked files (`.npm-*`). Fields drop in order: the directory first,
    /// then the directories created to hold it, when left empty.
    Dir {
        _temp: tempfile::TempDir,
        _created: CreatedDirs,
    },
}

/// A plugin's files fetched from their source, not yet in the cache.
pub(crate) struct Fetched {
    /// The plugin's directory (the repository root, its `git-subdir` path, the npm package).
    pub plugin_dir: PathBuf,
    /// The directory links inside the plugin may not leave: the clone root (links elsewhere into
    /// the repository are copied as files, links out of it are skipped) or the package root.
    pub boundary: PathBuf,
    /// The commit checked out (40 hex), for git sources.
    pub commit: Option<String>,
    /// The npm version installed, the version of last resort (after plugin.json and the entry).
    pub package_version: Option<String>,
    /// Keeps the files alive.
    pub temporary: Temporary,
}

/// Fetches the files of a `github`, `url`, `git-subdir`, `npm` or `archive` source into a temporary
/// directory inside `cache/<marketplace>/<plugin>/`.
pub(crate) fn fetch(
    env: &Environment,
    id: &PluginId,
    source: &PluginSource,
    reporter: &dyn Reporter,
) -> Result<Fetched> {
    let plugin_cache = env
        .locations
        .cache_dir()
        .join(&id.marketplace)
        .join(&id.name);
    // Temporary directories of killed installs.
    crate::fsutil::remove_stale(&plugin_cache, true, |name| {
        name.starts_with(".clone-") || name.starts_with(".npm-") || name.starts_with(".archive-")
    });
    match source {
        PluginSource::Github {
            repo,
            reference,
            sha,
        } => {
            let source = MarketplaceSource::Github {
                repo: repo.clone(),
                reference: reference.clone(),
                sparse_paths: None,
            };
            fetch_git(
                env,
                id,
                &source,
                repo,
                sha.as_deref(),
                None,
                &plugin_cache,
                reporter,
            )
        }
        PluginSource::Url {
            url,
            reference,
            sha,
        } => {
            let source = MarketplaceSource::Git {
                url: url.clone(),
                reference: reference.clone(),
                sparse_paths: None,
            };
            fetch_git(
                env,
                id,
                &source,
                url,
                sha.as_deref(),
                None,
                &plugin_cache,
                reporter,
            )
        }
        PluginSource::GitSubdir {
            url,
            path,
            reference,
            sha,
        } => {
            let subdir = subdir_path(id, path)?;
            let sparse_paths = Some(vec![subdir.clone()]);
            let source = if is_github_shorthand(url) {
                MarketplaceSource::Github {
                    repo: url.clone(),
                    reference: reference.clone(),
                    sparse_paths,
                }
            } else {
                MarketplaceSource::Git {
                    url: url.clone(),
                    reference: reference.clone(),
                    sparse_paths,
                }
            };
            fetch_git(
                env,
                id,
                &source,
                url,
                sha.as_deref(),
                Some(&subdir),
                &plugin_cache,
                reporter,
            )
        }
        PluginSource::Npm {
            package,
            version,
            registry,
        } => crate::npm::fetch(
            id,
            package,
            version.as_deref(),
            registry.as_deref(),
            &plugin_cache,
            reporter,
        ),
        PluginSource::Archive { url, sha256 } => {
            crate::archive::fetch(id, url, sha256.as_deref(), &plugin_cache, reporter)
        }
        PluginSource::Relative(_) | PluginSource::Invalid { .. } => {
            Err(Error::SourceNotSupported {
                id: id.to_string(),
                kind: source.kind().to_string(),
            })
        }
    }
}

/// Whether a `git-subdir` `url` is GitHub's `owner/repo` shorthand (cloned from github.com,
/// HTTPS first, then SSH; DEVIATIONS 10) rather than a git URL or path.
pub(crate) fn is_github_shorthand(url: &str) -> bool {
    let valid_part = |part: &str| {
        !part.is_empty()
            && part != "."
            && part != ".."
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    };
    let parts: Vec<&str> = url.split('/').collect();
    parts.len() == 2 && parts.iter().all(|part| valid_part(part))
}

/// A `git-subdir` `path` as a clean relative path (`a/b`): refuses empty, absolute, `..` and
/// `.git` paths.
fn subdir_path(id: &PluginId, path: &str) -> Result<String> {
    let invalid = || Error::SubdirPathInvalid {
        id: id.to_string(),
        path: path.to_string(),
    };
    if path.starts_with('/') || path.contains('\\') || Path::new(path).is_absolute() {
        return Err(invalid());
    }
    let parts: Vec<&str> = path
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    if parts.is_empty()
        || parts
            .iter()
            .any(|part| *part == ".." || part.eq_ignore_ascii_case(".git"))
    {
        return Err(invalid());
    }
    Ok(parts.join("/"))
}

/// A `sha` pin as 40 lowercase hex digits; anything else is an invalid entry.
fn pinned_sha(id: &PluginId, sha: &str) -> Result<String> {
    let sha = sha.trim();
    if sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha.to_ascii_lowercase())
    } else {
        Err(Error::EntryInvalid {
            id: id.to_string(),
            reason: format!("source.sha: `{sha}` is not a full 40-character commit hash"),
            kind: InvalidSourceKind::Malformed,
        })
    }
}

/// Clones `source` (sparsely, when it has sparse paths) into `plugin_cache/.clone-*`, checks
/// out the pinned commit `sha` if any, and locates `subdir`.
#[expect(
    clippy::too_many_arguments,
    reason = "one private helper for three source types"
)]
fn fetch_git(
    env: &Environment,
    id: &PluginId,
    source: &MarketplaceSource,
    written: &str,
    sha: Option<&str>,
    subdir: Option<&str>,
    plugin_cache: &Path,
    reporter: &dyn Reporter,
) -> Result<Fetched> {
    let sha = sha.map(|sha| pinned_sha(id, sha)).transpose()?;
    let shown = pm_core::source::redact_credentials(written).unwrap_or_else(|| written.to_string());
    let mut clone = marketplaces::clone_into_temp(env, source, plugin_cache, reporter)?;
    let sparse_paths = source.sparse_paths().to_vec();
    if let Some(sha) = sha
        && !check_out_pin(env, &mut clone, &sha, &sparse_paths, &shown, reporter)?
    {
        return Err(Error::CommitNotFound {
            id: id.to_string(),
            url: shown,
            sha,
        });
    }
    let plugin_dir = match subdir {
        None => clone.path.clone(),
        Some(subdir) => {
            let dir = clone.path.join(subdir);
            // Links from the subdirectory to elsewhere in the repository are copied as files,
            // and `path` may itself go through a link: their targets must be on disk, so check
            // out the whole commit (the sparse cone holds only the subdirectory).
            if through_link(&clone.path, subdir) || links_elsewhere_in(&dir, &clone.path) {
                let head = clone.head.clone();
                checkout(env, &clone.path, &head, &[], reporter).map_err(|source| Error::Git {
                    url: shown.clone(),
                    source,
                })?;
            }
            if !dir.is_dir() {
                return Err(Error::SubdirMissing {
                    id: id.to_string(),
                    path: subdir.to_string(),
                    url: shown,
                });
            }
            dir
        }
    };
    Ok(Fetched {
        plugin_dir,
        boundary: clone.path.clone(),
        commit: Some(clone.head.clone()),
        package_version: None,
        temporary: Temporary::Clone { _clone: clone },
    })
}

/// Moves `clone` to the pinned commit `sha` (40 lowercase hex) unless it is there already;
/// `Ok(false)` when the remote (`shown`, credentials removed) does not have that commit.
pub(crate) fn check_out_pin(
    env: &Environment,
    clone: &mut crate::marketplaces::TempClone,
    sha: &str,
    sparse_paths: &[String],
    shown: &str,
    reporter: &dyn Reporter,
) -> Result<bool> {
    if clone.head == sha {
        return Ok(true);
    }
    reporter.status(&format!("Checking out commit `{sha}` of `{shown}`"));
    let checked_out =
        checkout(env, &clone.path, sha, sparse_paths, reporter).map_err(|source| Error::Git {
            url: shown.to_string(),
            source,
        })?;
    match checked_out {
        Some(head) => {
            clone.head = head;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// [`git::checkout_commit`] with progress reporting; the commit checked out, `None` when the
/// remote does not have it.
fn checkout(
    env: &Environment,
    dir: &Path,
    sha: &str,
    sparse_paths: &[String],
    reporter: &dyn Reporter,
) -> std::result::Result<Option<String>, git::GitError> {
    let result = git::checkout_commit(dir, sha, sparse_paths, &env.git, &mut |progress| {
        reporter.fetch_progress(progress);
    });
    reporter.fetch_finished();
    Ok(result?.map(|cloned| cloned.head))
}

/// Whether one of the components of `subdir` (slash-separated, inside `root`) is a symbolic
/// link.
fn through_link(root: &Path, subdir: &str) -> bool {
    let mut path = root.to_path_buf();
    subdir.split('/').any(|part| {
        path.push(part);
        fs_err::symlink_metadata(&path).is_ok_and(|meta| meta.file_type().is_symlink())
    })
}

/// Whether a symbolic link under `dir` points (lexically) into `root` outside `dir`.
fn links_elsewhere_in(dir: &Path, root: &Path) -> bool {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(std::result::Result::ok)
        .filter(|entry| entry.path_is_symlink())
        .any(|entry| {
            let Ok(target) = fs_err::read_link(entry.path()) else {
                return false;
            };
            let parent = entry.path().parent().unwrap_or(dir);
            let resolved = normalize(&parent.join(target));
            resolved.starts_with(root) && !resolved.starts_with(dir)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> PluginId {
        PluginId::new("p", "m")
    }

    #[test]
    fn github_shorthand_is_owner_slash_repo_only() {
        assert!(is_github_shorthand("acme/mono"));
        assert!(is_github_shorthand("a-b/c.d_e"));
        for url in [
            "https://github.com/acme/mono.git",
            "git@github.com:acme/mono.git",
            "/srv/git/mono",
            "./mono",
            "acme/mono/extra",
            "acme",
            "../mono",
            "acme/..",
        ] {
            assert!(!is_github_shorthand(url), "{url}");
        }
    }

    #[test]
    fn subdir_paths_must_stay_inside_the_repository() {
        assert_eq!(
            subdir_path(&id(), "tools/x").ok().as_deref(),
            Some("tools/x")
        );
        assert_eq!(
            subdir_path(&id(), "./tools//x/").ok().as_deref(),
            Some("tools/x")
        );
        for path in [
            "",
            ".",
            "/abs",
            "../x",
            "tools/../../x",
            "a/..",
            ".git",
            "x/.GIT/y",
            "a\\b",
        ] {
            assert!(
                matches!(
                    subdir_path(&id(), path),
                    Err(Error::SubdirPathInvalid { .. })
                ),
                "{path}"
            );
        }
    }

    #[test]
    fn sha_pins_are_full_commit_ids() {
        let sha = "0123456789ABCDEF0123456789abcdef01234567";
        assert_eq!(pinned_sha(&id(), sha).ok(), Some(sha.to_ascii_lowercase()));
        for bad in ["0123456", "", "g123456789abcdef0123456789abcdef01234567"] {
            let error = pinned_sha(&id(), bad).err();
            assert_eq!(
                error.as_ref().map(Error::failure_code),
                Some("error_validation"),
                "{bad}"
            );
        }
    }
}
