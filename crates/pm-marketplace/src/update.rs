//! `pm update <plugin>`: move one install record to the version its marketplace offers now
//! (reference-advanced.md §1, §7; reference-lifecycle.md §11; DEVIATIONS 7, 11).
//!
//! Decisions, in order:
//! 1. the id: an installed `name@marketplace` (a bare name must match one installed id); an id
//!    with no record is `not_found` when its marketplace does not list it, else `not_installed`;
//! 2. the record: with a scope, that scope's record for this directory (`managed` allowed: the
//!    record a Claude session wrote); without, the one record that applies here (user, managed,
//!    or project/local with `projectPath` = cwd); several → [`Error::ScopeRequired`];
//! 3. the marketplace is refreshed first (as `marketplace update` does), unless it was refreshed
//!    less than 30 s ago, `--offline` is given, or it is a directory or file read in place; a
//!    failed refresh is a warning when the copy on disk can still be read;
//! 4. the plugin's files are located and its version resolved exactly as install does
//!    (plugin.json → entry → 12 hex of the commit → `unknown`);
//! 5. a new version is placed in `cache/<mkt>/<plugin>/<version>` (an existing complete
//!    directory is reused); the same version from another commit is copied into a staging
//!    directory and compared with the installed copy: different content replaces it (stage,
//!    then swap) with a warning that the author should bump the version (DEVIATIONS 11), the
//!    same content is up to date; version `unknown` is compared the same way;
//! 6. under the state lock the record gets the new `version`, `installPath`, `gitCommitSha` and
//!    `lastUpdated` (`installedAt` is kept) and the old cache directory gets `.orphaned_at` when
//!    no record uses it any more. Settings are never touched.

use crate::copy::{CopyReport, copy_plugin_tree};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::marketplaces;
use crate::plugins::{self, ORPHANED_MARKER, READY_MARKER};
use crate::reporter::{Reporter, SilentReporter};
use crate::store;
use pm_core::id::{PluginId, PluginRef};
use pm_core::scope::Scope;
use pm_core::source::MarketplaceSource;
use pm_core::state::InstallRecord;
use pm_core::time::{iso8601, parse_iso8601};
use pm_core::version::{cache_dir_name, is_downgrade};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A marketplace refreshed less recently than this is refreshed again by `update`
/// (reference-advanced.md §1.3).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The directory Claude Code creates in cache directories it loaded; kept across a re-copy.
const IN_USE_MARKER: &str = ".in_use";

/// What happened to the plugin's marketplace before the update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    /// Fetched again (as `pm marketplace update`).
    Refreshed,
    /// Refreshed less than [`REFRESH_INTERVAL`] ago: the copy on disk was used.
    Recent,
    /// `--offline`: the copy on disk was used.
    Offline,
    /// A directory or file marketplace: read in place, nothing to fetch.
    ReadInPlace,
    /// The refresh failed and the copy on disk was used; the reason.
    Failed(String),
}

impl Refresh {
    /// The `--json` value of `marketplaceRefresh`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Refresh::Refreshed => "refreshed",
            Refresh::Recent => "recent",
            Refresh::Offline => "offline",
            Refresh::ReadInPlace => "read_in_place",
            Refresh::Failed(_) => "failed",
        }
    }
}

/// What changed for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Same version, same content: nothing to do.
    UpToDate,
    /// Another version string (a downgrade too: see [`UpdateOutcome::downgrade`]).
    NewVersion,
    /// Same version, new content from another commit: re-copied (DEVIATIONS 11).
    ContentChanged,
    /// Version `unknown` with new content: re-copied from source.
    Refreshed,
    /// Same version, but the cache directory the record named was missing: copied again.
    Restored,
}

/// What `update` did.
#[derive(Debug, Clone)]
pub struct UpdateOutcome {
    /// The plugin.
    pub id: PluginId,
    /// The scope of the record.
    pub scope: Scope,
    /// The record's `projectPath` (project and local scope).
    pub project_path: Option<String>,
    /// The version before.
    pub old_version: String,
    /// The version now.
    pub new_version: String,
    /// The commit now (40 hex), when the files come from git.
    pub new_commit: Option<String>,
    /// What changed.
    pub change: Change,
    /// `new_version` is a lower semver version than `old_version`.
    pub downgrade: bool,
    /// The record's cache directory now.
    pub install_path: PathBuf,
    /// The record's cache directory before.
    pub old_install_path: PathBuf,
    /// The old cache directory got `.orphaned_at` (no record uses it any more).
    pub old_orphaned: bool,
    /// What happened to the marketplace first.
    pub refresh: Refresh,
    /// Links left out of a new copy because they leave the marketplace.
    pub copy: CopyReport,
    /// For directory marketplaces: the folder Claude Code loads the plugin from.
    pub loads_in_place_from: Option<PathBuf>,
}

impl UpdateOutcome {
    /// Whether the record changed (`updateOutcome: "updated"`).
    pub fn updated(&self) -> bool {
        self.change != Change::UpToDate
    }
}

/// `pm update <plugin> [--scope S] [--offline]`: see the module documentation.
///
/// Errors: [`Error::NotInstalled`] (`not_installed`); [`Error::NotInstalledAtScope`],
/// [`Error::NotInstalledHere`], [`Error::ScopeRequired`] (`not_installed_at_scope`);
/// [`Error::PluginNotFound`] / [`Error::MarketplaceUnknown`] (`not_found`) when the marketplace
/// no longer lists the plugin or is gone; [`Error::Offline`] with `offline` for a plugin whose
/// source is a git repository of its own; a refresh error when the marketplace on disk cannot
/// be read either; anything install can fail with while locating and copying the files. On
/// error nothing is written (a new cache directory may remain, marked `.orphaned_at`).
pub fn update(
    env: &Environment,
    plugin: &PluginRef,
    scope: Option<Scope>,
    offline: bool,
    reporter: &dyn Reporter,
) -> Result<UpdateOutcome> {
    let id = plugins::resolve_installed(env, plugin)?;
    let id_text = id.to_string();
    let project_path = env.project_path();
    let installed = store::load_installed(&env.locations)?;
    let records = installed.records(&id_text);
    if records.is_empty() {
        // `p@m` that `m` does not list (or an unknown `m`) is the reference's `not_found`.
        plugins::resolve(env, &catalogue_ref(&id), reporter)?;
        return Err(Error::NotInstalled(id_text));
    }
    let scope = choose_scope(&id_text, records, scope, &project_path)?;
    let record = find_record(records, scope, &project_path)
        .cloned()
        .ok_or_else(|| not_at_scope(&id_text, scope, records, &project_path))?;

    let refresh = refresh_marketplace(env, &id, offline, reporter)?;
    let candidate = plugins::resolve(env, &catalogue_ref(&id), reporter)?;
    if offline && plugins::needs_fetch(&candidate) {
        return Err(Error::Offline {
            id: id_text,
            kind: candidate.entry.source.kind().to_string(),
        });
    }
    let prepared = plugins::prepare(env, &candidate, reporter)?;
    let plugin_cache = env
        .locations
        .cache_dir()
        .join(&id.marketplace)
        .join(&id.name);
    let target = plugin_cache.join(cache_dir_name(&prepared.version));
    let old_path = PathBuf::from(&record.install_path);
    let same_version = prepared.version == record.version;
    let new_commit = prepared.commit.is_some() && prepared.commit != record.git_commit_sha;

    // What to do with the cache, decided before the lock; copies happen outside it.
    let mut copy = CopyReport::default();
    let mut staged: Option<Staged> = None;
    let place = || {
        plugins::place_in_cache(
            env,
            &id,
            &prepared.plugin_dir,
            &prepared.boundary,
            &prepared.version,
        )
        .map(|(_, report)| report)
    };
    let change = if !same_version {
        if target.join(READY_MARKER).is_file() {
            // Another record (or an earlier install) left this version in the cache: keep it
            // only when it holds what the source holds now (DEVIATIONS 11; the reference
            // reuses it as it is).
            let stage = Staged::copy(&id, &plugin_cache, &prepared)?;
            if same_content(&stage.path, &target) {
                drop(stage);
                copy = place()?;
            } else {
                reporter.warn(&format!(
                    "the cache's copy of `{id_text}` {} differs from its source: replacing it",
                    prepared.version
                ));
                copy = stage.report.clone();
                staged = Some(stage);
            }
        } else {
            copy = place()?;
        }
        Change::NewVersion
    } else if old_path != target || !old_path.is_dir() {
        copy = place()?;
        Change::Restored
    } else if new_commit || prepared.version == "unknown" {
        let stage = Staged::copy(&id, &plugin_cache, &prepared)?;
        if same_content(&stage.path, &target) {
            Change::UpToDate
        } else {
            copy = stage.report.clone();
            staged = Some(stage);
            if prepared.version == "unknown" {
                Change::Refreshed
            } else {
                Change::ContentChanged
            }
        }
    } else {
        Change::UpToDate
    };
    let new_path = if change == Change::UpToDate {
        old_path.clone()
    } else {
        target.clone()
    };

    let _lock = env.lock(reporter)?;
    let mut installed = store::load_installed(&env.locations)?;
    let Some(current) = installed
        .plugins
        .get_mut(&id_text)
        .and_then(|list| list.iter_mut().find(|r| r.matches(scope, &project_path)))
    else {
        // Uninstalled by another process meanwhile.
        let records = installed.records(&id_text).to_vec();
        if new_path != old_path {
            plugins::mark_orphaned_if_unused(env, &installed, &new_path.to_string_lossy())?;
        }
        if records.is_empty() {
            return Err(Error::NotInstalled(id_text));
        }
        return Err(not_at_scope(&id_text, scope, &records, &project_path));
    };
    let old_path = PathBuf::from(&current.install_path);
    let old_version = current.version.clone();
    match change {
        Change::UpToDate => {
            if new_commit && current.git_commit_sha != prepared.commit {
                // Same content from a newer commit: remember the commit, so that the next update
                // does not compare again. Nothing else changes.
                current.git_commit_sha = prepared.commit.clone();
                store::save_installed(&env.locations, &installed)?;
            }
        }
        _ => {
            if let Some(stage) = staged {
                stage.swap_into(&target)?;
            }
            current.version = prepared.version.clone();
            current.install_path = new_path.to_string_lossy().into_owned();
            current.git_commit_sha = prepared.commit.clone();
            current.last_updated = iso8601(SystemTime::now());
            store::save_installed(&env.locations, &installed)?;
        }
    }
    let old_orphaned = old_path != new_path
        && !installed.uses_install_path(&old_path.to_string_lossy())
        && old_path.is_dir()
        && old_path.starts_with(env.locations.cache_dir());
    if old_orphaned {
        plugins::mark_orphaned_if_unused(env, &installed, &old_path.to_string_lossy())?;
    }
    Ok(UpdateOutcome {
        downgrade: change == Change::NewVersion && is_downgrade(&old_version, &prepared.version),
        id,
        scope,
        project_path: record.project_path.clone(),
        old_version,
        new_version: prepared.version.clone(),
        new_commit: prepared.commit.clone(),
        change,
        install_path: new_path,
        old_install_path: old_path,
        old_orphaned,
        refresh,
        copy,
        loads_in_place_from: prepared.in_place.clone(),
    })
}

/// `name@marketplace` as a reference for looking the plugin up in its marketplace.
fn catalogue_ref(id: &PluginId) -> PluginRef {
    PluginRef {
        name: id.name.clone(),
        marketplace: Some(id.marketplace.clone()),
    }
}

fn find_record<'a>(
    records: &'a [InstallRecord],
    scope: Scope,
    project_path: &str,
) -> Option<&'a InstallRecord> {
    records.iter().find(|r| r.matches(scope, project_path))
}

/// The scope of the record to update (DEVIATIONS 7): the given one when this directory has a
/// record there, else the one scope that has a record here.
fn choose_scope(
    id: &str,
    records: &[InstallRecord],
    scope: Option<Scope>,
    project_path: &str,
) -> Result<Scope> {
    let here = unique(plugins::scopes_here(records, project_path));
    match scope {
        Some(scope) if here.contains(&scope) => Ok(scope),
        Some(scope) => Err(not_at_scope(id, scope, records, project_path)),
        None => match here.as_slice() {
            [] => Err(Error::NotInstalledHere {
                id: id.to_string(),
                cwd: project_path.to_string(),
                elsewhere: records
                    .iter()
                    .map(|r| (r.scope, r.project_path.clone().unwrap_or_default()))
                    .collect(),
            }),
            [only] => Ok(*only),
            several => Err(Error::ScopeRequired {
                id: id.to_string(),
                scopes: several.to_vec(),
            }),
        },
    }
}

fn not_at_scope(id: &str, scope: Scope, records: &[InstallRecord], project_path: &str) -> Error {
    Error::NotInstalledAtScope {
        id: id.to_string(),
        scope,
        installed: unique(plugins::scopes_here(records, project_path)),
    }
}

/// `scopes` without repetitions, in order.
fn unique(scopes: Vec<Scope>) -> Vec<Scope> {
    let mut out: Vec<Scope> = Vec::new();
    for scope in scopes {
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

/// Step 3: refreshes the plugin's marketplace unless it is recent, offline, or read in place.
fn refresh_marketplace(
    env: &Environment,
    id: &PluginId,
    offline: bool,
    reporter: &dyn Reporter,
) -> Result<Refresh> {
    let known = store::load_known(&env.locations)?;
    let Some(entry) = known.marketplaces.get(&id.marketplace).cloned() else {
        return Err(Error::MarketplaceUnknown {
            name: id.name.clone(),
            marketplace: id.marketplace.clone(),
            available: known.marketplaces.iter().map(|(n, _)| n.clone()).collect(),
        });
    };
    // Managed settings may forbid a marketplace that was added before the policy came: that
    // is a refusal, never a warning.
    marketplaces::check_policy(env, &entry.source, reporter)?;
    if matches!(
        entry.source,
        MarketplaceSource::Directory { .. } | MarketplaceSource::File { .. }
    ) {
        return Ok(Refresh::ReadInPlace);
    }
    if offline {
        return Ok(Refresh::Offline);
    }
    if is_recent(entry.last_updated.as_deref(), SystemTime::now()) {
        return Ok(Refresh::Recent);
    }
    reporter.status(&format!("Refreshing marketplace `{}`", id.marketplace));
    match marketplaces::update(env, &id.marketplace, reporter) {
        Ok(_) => Ok(Refresh::Refreshed),
        Err(error @ Error::SourceBlocked { .. }) => Err(error),
        Err(error) if marketplaces::load_manifest(&entry, &SilentReporter).is_ok() => {
            let reason = error_chain(&error);
            let from = entry
                .last_updated
                .as_deref()
                .map(|t| format!(" (last refreshed {t})"))
                .unwrap_or_default();
            reporter.warn(&format!(
                "could not refresh marketplace `{}`: {reason}; using the copy on disk{from}",
                id.marketplace
            ));
            Ok(Refresh::Failed(reason))
        }
        Err(error) => Err(error),
    }
}

/// Whether `last_updated` is less than [`REFRESH_INTERVAL`] before `now`. A missing or
/// unreadable timestamp, or one in the future, is not recent.
fn is_recent(last_updated: Option<&str>, now: SystemTime) -> bool {
    last_updated
        .and_then(parse_iso8601)
        .and_then(|then| now.duration_since(then).ok())
        .is_some_and(|age| age < REFRESH_INTERVAL)
}

/// An error and its causes, on one line.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(&format!(": {text}"));
        }
        source = cause.source();
    }
    message
}

/// A complete copy of the plugin in a staging directory inside its cache directory, not yet
/// in place; removed on drop unless swapped in.
struct Staged {
    dir: tempfile::TempDir,
    path: PathBuf,
    report: CopyReport,
}

impl Staged {
    fn copy(id: &PluginId, plugin_cache: &Path, prepared: &plugins::Prepared) -> Result<Self> {
        fs_err::create_dir_all(plugin_cache)?;
        crate::fsutil::remove_stale(plugin_cache, true, |name| name.starts_with(".staging-"));
        let dir = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(plugin_cache)?;
        let path = dir.path().join("plugin");
        let report = copy_plugin_tree(&prepared.plugin_dir, &prepared.boundary, &path).map_err(
            |source| Error::Copy {
                id: id.to_string(),
                source,
            },
        )?;
        Ok(Staged { dir, path, report })
    }

    /// Replaces `target` with the staged copy: the ready marker is written last into the copy,
    /// then the old directory is moved into the staging directory (removed with it) and the copy
    /// renamed into place. When the second rename fails, the old directory is put back.
    fn swap_into(self, target: &Path) -> Result<()> {
        if target.join(IN_USE_MARKER).is_dir() {
            fs_err::create_dir_all(self.path.join(IN_USE_MARKER))?;
        }
        fs_err::write(self.path.join(READY_MARKER), b"")?;
        let old = self.dir.path().join("old");
        let moved_old = match fs_err::rename(target, &old) {
            Ok(()) => true,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => false,
            Err(error) => return Err(error.into()),
        };
        if let Err(error) = fs_err::rename(&self.path, target) {
            if moved_old {
                let _ = fs_err::rename(&old, target);
            }
            return Err(error.into());
        }
        Ok(())
    }
}

/// Whether two plugin directories hold the same tree: the same relative paths, kinds, link
/// targets, file contents and permission bits. pm's and Claude Code's markers at the top
/// (`.pm-ok`, `.orphaned_at`, `.in_use`) are not compared. Any error reading either side
/// counts as different.
fn same_content(a: &Path, b: &Path) -> bool {
    match (tree_entries(a), tree_entries(b)) {
        (Some(left), Some(right)) => left == right,
        _ => false,
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Entry {
    Dir(u32),
    File(u32, Vec<u8>),
    Link(PathBuf),
}

fn tree_entries(root: &Path) -> Option<Vec<(PathBuf, Entry)>> {
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .min_depth(1)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() != 1
                || !matches!(
                    e.file_name().to_str(),
                    Some(READY_MARKER | ORPHANED_MARKER | IN_USE_MARKER)
                )
        });
    for entry in walker {
        let entry = entry.ok()?;
        let relative = entry.path().strip_prefix(root).ok()?.to_path_buf();
        let meta = entry.path().symlink_metadata().ok()?;
        let kind = if meta.file_type().is_symlink() {
            Entry::Link(fs_err::read_link(entry.path()).ok()?)
        } else if meta.is_dir() {
            Entry::Dir(mode(&meta))
        } else if meta.is_file() {
            Entry::File(mode(&meta), fs_err::read(entry.path()).ok()?)
        } else {
            continue;
        };
        out.push((relative, kind));
    }
    Some(out)
}

#[cfg(unix)]
fn mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn mode(meta: &std::fs::Metadata) -> u32 {
    u32::from(meta.permissions().readonly())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn recent_means_under_30_seconds_ago() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let at = |secs_ago: i64| {
            let t = if secs_ago >= 0 {
                now - Duration::from_secs(secs_ago.unsigned_abs())
            } else {
                now + Duration::from_secs(secs_ago.unsigned_abs())
            };
            iso8601(t)
        };
        assert!(is_recent(Some(&at(0)), now));
        assert!(is_recent(Some(&at(29)), now));
        assert!(!is_recent(Some(&at(30)), now));
        assert!(!is_recent(Some(&at(31)), now));
        assert!(!is_recent(Some(&at(-5)), now));
        assert!(!is_recent(Some("2020-01-01T00:00:00.000Z"), now));
        assert!(!is_recent(Some("not a time"), now));
        assert!(!is_recent(None, now));
    }

    #[test]
    fn compares_trees_without_markers() {
        let root = tempfile::tempdir().expect("tempdir");
        let (a, b) = (root.path().join("a"), root.path().join("b"));
        for dir in [&a, &b] {
            fs_err::create_dir_all(dir.join("commands")).expect("mkdir");
            fs_err::write(dir.join("commands/hello.md"), "hi").expect("write");
        }
        fs_err::write(a.join(READY_MARKER), "").expect("write");
        fs_err::write(b.join(ORPHANED_MARKER), "1").expect("write");
        fs_err::create_dir(b.join(IN_USE_MARKER)).expect("mkdir");
        assert!(same_content(&a, &b));
        fs_err::write(b.join("commands/hello.md"), "hello").expect("write");
        assert!(!same_content(&a, &b));
        fs_err::write(b.join("commands/hello.md"), "hi").expect("write");
        fs_err::write(b.join("commands/.pm-ok"), "").expect("write");
        assert!(!same_content(&a, &b), "markers count below the top");
        assert!(!same_content(&a, &root.path().join("missing")));
    }
}
