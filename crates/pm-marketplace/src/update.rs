//! `pm update <plugin>`: move one install record to the version its marketplace offers now
//! (reference-advanced.md §1, §7; reference-lifecycle.md §11; DEVIATIONS 7, 11); and the pieces
//! `pm update --all`, `pm update --dry-run` and `pm outdated` are built from.
//!
//! Decisions, in order:
//! 1. the id: an installed `name@marketplace` (a bare name must match one installed id); an id
//!    with no record is `not_found` when its marketplace does not list it, else `not_installed`;
//! 2. the record: with a scope, that scope's record for this directory (`managed` allowed: the
//!    record a Claude session wrote); without, the one record that applies here (user, managed,
//!    or project/local with `projectPath` = cwd); several → [`Error::ScopeRequired`];
//! 3. the marketplace is refreshed first (as `marketplace update` does), unless it was refreshed
//!    less than 30 s ago, `--offline` is given, or it is a directory or file read in place; a
//!    failed refresh is a warning when the copy on disk can still be read
//!    ([`refresh_marketplace`]);
//! 4. **plan**: the plugin's files are located and its version resolved exactly as install does
//!    (plugin.json → entry → 12 hex of the commit → `unknown`), and compared with the record:
//!    another version is an update; the same version from another commit (or version
//!    `unknown`) is an update only when a copy of the files differs from the cached one
//!    (DEVIATIONS 11); a missing cache directory is copied again;
//! 5. **apply**: a new version is placed in `cache/<mkt>/<plugin>/<version>` (an existing
//!    complete directory is reused when it holds what the source holds, else replaced with a
//!    warning); the same version with new content is copied into a staging directory and
//!    swapped in; then, under the state lock, the record gets the new `version`, `installPath`,
//!    `gitCommitSha` and `lastUpdated` (`installedAt` is kept) and the old cache directory gets
//!    `.orphaned_at` when no record uses it any more. Settings are never touched.
//!
//! [`Mode`] says how much of this happens: [`Mode::Apply`] all of it; [`Mode::Check`]
//! (`pm outdated`) steps 1–4 (the marketplace refresh writes its clone and `lastUpdated`, as
//! `marketplace update` does; nothing under `cache/` or in `installed_plugins.json`);
//! [`Mode::DryRun`] steps 1–4 with the marketplace fetched into a temporary directory outside
//! the config root, so that nothing pm or Claude Code reads is written. Comparisons that need a
//! copy of the files make it in the system's temporary directory in those two modes.
//!
//! `pm update --all` runs [`refresh_marketplace`] once per marketplace and [`plan_target`] once
//! per record ([`targets_here`]), from as many threads as the caller likes (a plugin's records
//! one after another), then [`apply_planned`] once: every record moves in one write under the
//! state lock.

use crate::copy::{CopyReport, copy_plugin_tree};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::marketplaces;
use crate::plugins::{self, ORPHANED_MARKER, READY_MARKER};
use crate::reporter::{Reporter, SilentReporter};
use crate::store;
use pm_core::id::{PluginId, PluginRef};
use pm_core::marketplace::MarketplaceManifest;
use pm_core::scope::Scope;
use pm_core::source::MarketplaceSource;
use pm_core::state::{InstallRecord, KnownMarketplace};
use pm_core::time::{epoch_millis, iso8601, parse_iso8601};
use pm_core::version::{cache_dir_name, is_downgrade};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A marketplace refreshed less recently than this is refreshed again by `update`
/// (reference-advanced.md §1.3).
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(30);

/// The directory Claude Code creates in cache directories it loaded; kept across a re-copy.
const IN_USE_MARKER: &str = ".in_use";

/// How far an update goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// `pm update`: refresh, copy into the cache, move the record.
    #[default]
    Apply,
    /// `pm update --dry-run`: fetch into temporary directories and say what would change;
    /// nothing under the config root is written (no state, no settings, no cache, no
    /// marketplace clone).
    DryRun,
    /// `pm outdated`: refresh marketplaces as `update` does (unless recent or offline), then
    /// compare; the cache and `installed_plugins.json` are not written.
    Check,
}

impl Mode {
    /// Whether this mode writes the cache and the records.
    pub fn writes(self) -> bool {
        self == Mode::Apply
    }
}

/// Options of one update run.
#[derive(Debug, Clone, Copy, Default)]
pub struct UpdateOptions {
    /// `--offline`: never refresh a marketplace; a plugin with a git source of its own fails.
    pub offline: bool,
    /// How far to go.
    pub mode: Mode,
}

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
    /// [`Mode::DryRun`]: the remote was asked (and, when it moved, fetched into a temporary
    /// directory); nothing was written.
    Fetched,
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
            Refresh::Fetched => "fetched",
        }
    }
}

/// What changed for the record (or, in [`Mode::DryRun`] and [`Mode::Check`], would change).
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

impl Change {
    /// Whether the marketplace offers something other than what is installed: another
    /// version, or other content (what `pm outdated` lists). A missing cache directory is not.
    pub fn is_outdated(self) -> bool {
        matches!(
            self,
            Change::NewVersion | Change::ContentChanged | Change::Refreshed
        )
    }
}

/// What `update` did (or, in [`Mode::DryRun`] and [`Mode::Check`], would do).
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
    /// The record's `gitCommitSha` before.
    pub old_commit: Option<String>,
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
    /// Nothing was written ([`Mode::DryRun`], [`Mode::Check`]): this says what would change.
    pub planned_only: bool,
}

impl UpdateOutcome {
    /// Whether the record changed (`updateOutcome: "updated"`).
    pub fn updated(&self) -> bool {
        self.change != Change::UpToDate
    }
}

/// One install record that applies in this directory: what `update --all` and `outdated` go
/// through.
#[derive(Debug, Clone)]
pub struct Target {
    /// The plugin.
    pub id: PluginId,
    /// The record as read.
    pub record: InstallRecord,
}

impl Target {
    /// The record's scope.
    pub fn scope(&self) -> Scope {
        self.record.scope
    }
}

/// Every install record that applies here (user and managed records, project and local
/// records whose `projectPath` is the cwd), of `scope` only when given; in file order.
/// Records under a key that is not `name@marketplace` are skipped.
pub fn targets_here(env: &Environment, scope: Option<Scope>) -> Result<Vec<Target>> {
    let installed = store::load_installed(&env.locations)?;
    let project_path = env.project_path();
    let mut targets = Vec::new();
    for (key, records) in installed.plugins.iter() {
        let Some(id) = PluginId::parse_key(key) else {
            continue;
        };
        for record in records {
            if scope.is_some_and(|s| s != record.scope)
                || !record.matches(record.scope, &project_path)
            {
                continue;
            }
            targets.push(Target {
                id: id.clone(),
                record: record.clone(),
            });
        }
    }
    Ok(targets)
}

/// A known marketplace, refreshed (or not: see [`Refresh`]) and ready to be read by
/// [`plan_target`].
pub struct MarketplaceView {
    /// The marketplace's name.
    pub name: String,
    /// What happened to it.
    pub refresh: Refresh,
    /// The entry plugins are read through: the known one, or one whose `installLocation` is a
    /// temporary fetch ([`Mode::DryRun`]).
    entry: KnownMarketplace,
    /// Its catalogue, read once (`None`: unreadable; each plugin then fails with the reason).
    manifest: Option<MarketplaceManifest>,
    /// A temporary fetch ([`Mode::DryRun`]) or the clone a refresh replaced; removed on drop.
    _fetched: Option<TemporaryFetch>,
}

impl std::fmt::Debug for MarketplaceView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarketplaceView")
            .field("name", &self.name)
            .field("refresh", &self.refresh)
            .field("install_location", &self.entry.install_location)
            .finish_non_exhaustive()
    }
}

/// Files a [`MarketplaceView`] keeps until it is dropped: a marketplace fetched for
/// [`Mode::DryRun`] outside the config root, or the previous clone of a refreshed one (inside
/// `marketplaces/.clone-*`), whose removal can wait until its plugins are copied.
enum TemporaryFetch {
    Clone(#[allow(dead_code, reason = "held for its Drop")] marketplaces::TempClone),
    File(#[allow(dead_code, reason = "held for its Drop")] tempfile::TempDir),
}

/// Step 3 for marketplace `name`: refreshes it unless it is recent, offline, or read in place;
/// in [`Mode::DryRun`], fetches it into a temporary directory instead (when the remote moved).
/// `Ok(None)` when no marketplace of that name is known. A failed refresh is a warning (and
/// [`Refresh::Failed`]) while the copy on disk can be read; managed settings that forbid the
/// marketplace are an error ([`Error::SourceBlocked`]).
pub fn refresh_marketplace(
    env: &Environment,
    name: &str,
    options: UpdateOptions,
    reporter: &dyn Reporter,
) -> Result<Option<MarketplaceView>> {
    let known = store::load_known(&env.locations)?;
    let Some(entry) = known.marketplaces.get(name).cloned() else {
        return Ok(None);
    };
    // Managed settings may forbid a marketplace that was added before the policy came: that
    // is a refusal, never a warning.
    marketplaces::check_policy(env, &entry.source, reporter)?;
    let mut fetched = None;
    let mut read_from = entry.clone();
    let refresh = if matches!(
        entry.source,
        MarketplaceSource::Directory { .. } | MarketplaceSource::File { .. }
    ) {
        Refresh::ReadInPlace
    } else if options.offline {
        Refresh::Offline
    } else if is_recent(entry.last_updated.as_deref(), SystemTime::now()) {
        Refresh::Recent
    } else if options.mode == Mode::DryRun {
        reporter.status(&format!("Fetching marketplace `{name}`"));
        match fetch_temporarily(env, &entry, reporter) {
            Ok(None) => Refresh::Fetched,
            Ok(Some((location, temporary))) => {
                let candidate = KnownMarketplace {
                    install_location: location.to_string_lossy().into_owned(),
                    ..entry.clone()
                };
                match marketplaces::load_manifest(&candidate, &SilentReporter) {
                    Ok(_) => {
                        read_from = candidate;
                        fetched = Some(temporary);
                        Refresh::Fetched
                    }
                    // As `marketplace update`: a fetch whose marketplace.json is broken is
                    // discarded and the copy on disk stays.
                    Err(error) => refresh_failed(name, &entry, error, reporter)?,
                }
            }
            Err(error) => refresh_failed(name, &entry, error, reporter)?,
        }
    } else {
        reporter.status(&format!("Refreshing marketplace `{name}`"));
        let refreshed = match entry.source {
            MarketplaceSource::Github { .. } | MarketplaceSource::Git { .. } => {
                marketplaces::refresh_clone(env, name, &entry, reporter).map(|refreshed| {
                    if let marketplaces::Refreshed::Replaced(old) = refreshed {
                        fetched = Some(TemporaryFetch::Clone(old));
                    }
                })
            }
            _ => marketplaces::update(env, name, reporter).map(drop),
        };
        match refreshed {
            Ok(()) => Refresh::Refreshed,
            Err(error) => refresh_failed(name, &entry, error, reporter)?,
        }
    };
    let manifest = marketplaces::load_manifest(&read_from, reporter).ok();
    Ok(Some(MarketplaceView {
        name: name.to_string(),
        refresh,
        entry: read_from,
        manifest,
        _fetched: fetched,
    }))
}

/// A refresh that failed: a warning and [`Refresh::Failed`] while the copy on disk can be
/// read, else the error. A policy refusal is always the error.
fn refresh_failed(
    name: &str,
    entry: &KnownMarketplace,
    error: Error,
    reporter: &dyn Reporter,
) -> Result<Refresh> {
    if matches!(error, Error::SourceBlocked { .. })
        || marketplaces::load_manifest(entry, &SilentReporter).is_err()
    {
        return Err(error);
    }
    let reason = error_chain(&error);
    let from = entry
        .last_updated
        .as_deref()
        .map(|t| format!(" (last refreshed {t})"))
        .unwrap_or_default();
    reporter.warn(&format!(
        "could not refresh marketplace `{name}`: {reason}; using the copy on disk{from}"
    ));
    Ok(Refresh::Failed(reason))
}

/// [`Mode::DryRun`]'s refresh: lists the remote's refs (git) and, over the same connection,
/// clones into the system's temporary directory when its head differs from the clone's;
/// downloads a URL marketplace again. `None` when the copy on disk is current.
fn fetch_temporarily(
    env: &Environment,
    entry: &KnownMarketplace,
    reporter: &dyn Reporter,
) -> Result<Option<(PathBuf, TemporaryFetch)>> {
    match &entry.source {
        MarketplaceSource::Github { .. } | MarketplaceSource::Git { .. } => {
            // One connection: the refs listed to compare with the clone's HEAD are the ones
            // the clone fetches from when the remote moved.
            let location = Path::new(&entry.install_location);
            let local_head = location
                .is_dir()
                .then(|| crate::git::head_commit(location))
                .flatten();
            let Some(clone) = marketplaces::clone_into_temp_unless(
                env,
                &entry.source,
                &std::env::temp_dir(),
                local_head.as_deref(),
                reporter,
            )?
            else {
                return Ok(None);
            };
            Ok(Some((clone.path.clone(), TemporaryFetch::Clone(clone))))
        }
        MarketplaceSource::Url { url } => {
            let body = crate::http::download(url).map_err(|e| Error::Download {
                url: url.clone(),
                not_found: matches!(e, crate::http::DownloadError::Status { status: 404 }),
                message: e.to_string(),
            })?;
            let dir = tempfile::Builder::new().prefix("pm-dry-run-").tempdir()?;
            let file = dir.path().join("marketplace.json");
            fs_err::write(&file, body)?;
            Ok(Some((file, TemporaryFetch::File(dir))))
        }
        MarketplaceSource::Directory { .. } | MarketplaceSource::File { .. } => Ok(None),
    }
}

/// `pm update <plugin> [--scope S] [--offline]`: see the module documentation.
///
/// Errors: [`Error::NotInstalled`] (`not_installed`); [`Error::NotInstalledAtScope`],
/// [`Error::NotInstalledHere`], [`Error::ScopeRequired`] (`not_installed_at_scope`);
/// [`Error::NoLongerListed`] / [`Error::MarketplaceUnknown`] (`not_found`) when the marketplace
/// no longer lists the plugin or is gone; [`Error::Offline`] with `offline` for a plugin whose
/// source is a git repository of its own; a refresh error when the marketplace on disk cannot
/// be read either; anything install can fail with while locating and copying the files. On
/// error nothing is written (a new cache directory may remain, marked `.orphaned_at`).
pub fn update(
    env: &Environment,
    plugin: &PluginRef,
    scope: Option<Scope>,
    options: UpdateOptions,
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
    let target = Target { id, record };
    let view = refresh_marketplace(env, &target.id.marketplace, options, reporter)?;
    let planned = plan_target(env, &target, view.as_ref(), options, reporter)?;
    if !options.mode.writes() {
        return Ok(planned.preview());
    }
    apply_planned(env, vec![planned], reporter)?
        .pop()
        .unwrap_or_else(|| Err(Error::NotInstalled(target.id.to_string())))
}

/// Step 4 for one record, with its marketplace already refreshed (`view`; `None` when the
/// marketplace is not known: [`Error::MarketplaceUnknown`]): locates the files, resolves the
/// version and decides what changes. In [`Mode::Apply`] the files are also put in place (a new
/// version directory) or staged (new content for the same one), outside the lock, ready for
/// [`apply_planned`]; in the other modes a comparison copy goes to the system's temporary
/// directory and is removed, and [`PlannedUpdate::preview`] says what would change.
pub fn plan_target(
    env: &Environment,
    target: &Target,
    view: Option<&MarketplaceView>,
    options: UpdateOptions,
    reporter: &dyn Reporter,
) -> Result<PlannedUpdate> {
    let Some(view) = view else {
        let known = store::load_known(&env.locations)?;
        return Err(Error::MarketplaceUnknown {
            name: target.id.name.clone(),
            marketplace: target.id.marketplace.clone(),
            available: known.marketplaces.iter().map(|(n, _)| n.clone()).collect(),
        });
    };
    let id = &target.id;
    let record = &target.record;
    let manifest = match &view.manifest {
        Some(manifest) => manifest,
        None => &marketplaces::load_manifest(&view.entry, &SilentReporter)?,
    };
    let entry = manifest
        .find(&id.name)
        .ok_or_else(|| Error::NoLongerListed {
            name: id.name.clone(),
            marketplace: id.marketplace.clone(),
            refreshed: !matches!(view.refresh, Refresh::Offline | Refresh::Failed(_)),
        })?
        .clone();
    let candidate = plugins::Candidate {
        id: id.clone(),
        entry,
        marketplace: view.entry.clone(),
    };
    if options.offline && plugins::needs_fetch(&candidate) {
        return Err(Error::Offline {
            id: id.to_string(),
            kind: candidate.entry.source.kind().to_string(),
        });
    }
    // Dropped at the end of this function: a temporary clone of a plugin source goes with it.
    let prepared = plugins::prepare(env, &candidate, reporter)?;
    let plugin_cache = env
        .locations
        .cache_dir()
        .join(&id.marketplace)
        .join(&id.name);
    let version_dir = plugin_cache.join(cache_dir_name(&prepared.version));
    let old_path = PathBuf::from(&record.install_path);
    let same_version = prepared.version == record.version;
    let new_commit = prepared.commit.is_some() && prepared.commit != record.git_commit_sha;
    let writes = options.mode.writes();

    // What to do with the cache, decided before the lock; copies happen outside it.
    let mut copy = CopyReport::default();
    let mut staged: Option<Staged> = None;
    let place = || {
        plugins::place_in_cache(
            env,
            id,
            &prepared.plugin_dir,
            &prepared.boundary,
            &prepared.version,
        )
        .map(|(_, report)| report)
    };
    let stage = || {
        if writes {
            Staged::in_cache(id, &plugin_cache, &prepared)
        } else {
            Staged::in_temp(id, &prepared)
        }
    };
    let change = if !same_version {
        if !writes {
            // Whether a cached copy of that version would be replaced only changes a warning.
        } else if version_dir.join(READY_MARKER).is_file() {
            // Another record (or an earlier install) left this version in the cache: keep it
            // only when it holds what the source holds now (DEVIATIONS 11; the reference
            // reuses it as it is).
            let stage = stage()?;
            if same_content(&stage.path, &version_dir) {
                drop(stage);
                copy = place()?;
            } else {
                reporter.warn(&format!(
                    "the cache's copy of `{id}` {} differs from its source: replacing it",
                    prepared.version
                ));
                copy = stage.report.clone();
                staged = Some(stage);
            }
        } else {
            copy = place()?;
        }
        Change::NewVersion
    } else if old_path != version_dir || !old_path.is_dir() {
        if writes {
            copy = place()?;
        }
        Change::Restored
    } else if new_commit || prepared.version == "unknown" {
        let stage = stage()?;
        if same_content(&stage.path, &version_dir) {
            Change::UpToDate
        } else {
            copy = stage.report.clone();
            if writes {
                staged = Some(stage);
            }
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
        version_dir.clone()
    };
    Ok(PlannedUpdate {
        target: target.clone(),
        refresh: view.refresh.clone(),
        version: prepared.version.clone(),
        commit: prepared.commit.clone(),
        in_place: prepared.in_place.clone(),
        version_dir,
        old_path,
        new_path,
        new_commit,
        change,
        staged,
        copy,
    })
}

/// Step 4's result for one record: what it would become and, in [`Mode::Apply`], the files
/// already placed in the cache or staged for it.
pub struct PlannedUpdate {
    target: Target,
    refresh: Refresh,
    /// The resolved version.
    version: String,
    /// The commit the files come from.
    commit: Option<String>,
    /// For directory marketplaces: the folder Claude Code loads the plugin from.
    in_place: Option<PathBuf>,
    /// `cache/<mkt>/<plugin>/<version>` of the new version.
    version_dir: PathBuf,
    /// The record's `installPath`.
    old_path: PathBuf,
    /// The record's `installPath` after the update.
    new_path: PathBuf,
    /// The files come from another commit than the record's.
    new_commit: bool,
    change: Change,
    /// A copy to swap into `version_dir` under the lock ([`Mode::Apply`]).
    staged: Option<Staged>,
    copy: CopyReport,
}

impl std::fmt::Debug for PlannedUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlannedUpdate")
            .field("id", &self.target.id)
            .field("scope", &self.target.record.scope)
            .field("version", &self.version)
            .field("change", &self.change)
            .finish_non_exhaustive()
    }
}

impl PlannedUpdate {
    /// The record this plan is for.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// What would change, without writing anything (the outcome of [`Mode::DryRun`] and
    /// [`Mode::Check`]; a staged copy of [`Mode::Apply`] is removed).
    pub fn preview(self) -> UpdateOutcome {
        let record = self.target.record;
        UpdateOutcome {
            downgrade: self.change == Change::NewVersion
                && is_downgrade(&record.version, &self.version),
            id: self.target.id,
            scope: record.scope,
            project_path: record.project_path.clone(),
            old_version: record.version.clone(),
            new_version: self.version,
            old_commit: record.git_commit_sha.clone(),
            new_commit: self.commit,
            change: self.change,
            install_path: self.new_path,
            old_install_path: self.old_path,
            old_orphaned: false,
            refresh: self.refresh,
            copy: self.copy,
            loads_in_place_from: self.in_place,
            planned_only: true,
        }
    }
}

/// Step 5 for planned records ([`Mode::Apply`] plans): under the state lock, one read of
/// `installed_plugins.json`, each record moved as planned (staged copies swapped in first), one
/// write, then `.orphaned_at` in each old cache directory no record uses any more. A record
/// uninstalled meanwhile is [`Error::NotInstalled`] or [`Error::NotInstalledAtScope`] in its
/// place of the result; the outer error (the lock, reading or writing the state) is the whole
/// batch's, and then no record changed.
///
/// One write for many records keeps `pm update --all` from paying a flushed write per plugin;
/// the lock still serializes it with every other pm process.
pub fn apply_planned(
    env: &Environment,
    plans: Vec<PlannedUpdate>,
    reporter: &dyn Reporter,
) -> Result<Vec<Result<UpdateOutcome>>> {
    let project_path = env.project_path();
    let _lock = env.lock(reporter)?;
    let mut installed = store::load_installed(&env.locations)?;
    let mut results: Vec<Result<UpdateOutcome>> = Vec::with_capacity(plans.len());
    // Cache directories that may have lost their last record: the old directories of moved
    // records, the new directories of records that vanished.
    let mut maybe_orphaned: Vec<PathBuf> = Vec::new();
    let mut changed = false;
    for plan in plans {
        let PlannedUpdate {
            target,
            refresh,
            version,
            commit,
            in_place,
            version_dir,
            new_path,
            new_commit,
            change,
            staged,
            copy,
            ..
        } = plan;
        let id_text = target.id.to_string();
        let scope = target.record.scope;
        let Some(current) = installed
            .plugins
            .get_mut(&id_text)
            .and_then(|list| list.iter_mut().find(|r| r.matches(scope, &project_path)))
        else {
            // Uninstalled by another process meanwhile.
            if new_path != Path::new(&target.record.install_path) {
                maybe_orphaned.push(new_path);
            }
            let records = installed.records(&id_text).to_vec();
            results.push(Err(if records.is_empty() {
                Error::NotInstalled(id_text)
            } else {
                not_at_scope(&id_text, scope, &records, &project_path)
            }));
            continue;
        };
        let old_path = PathBuf::from(&current.install_path);
        let old_version = current.version.clone();
        let old_commit = current.git_commit_sha.clone();
        let new_path = match change {
            Change::UpToDate => {
                if new_commit && current.git_commit_sha != commit {
                    // Same content from a newer commit: remember the commit, so that the next
                    // update does not compare again. Nothing else changes.
                    current.git_commit_sha = commit.clone();
                    changed = true;
                }
                old_path.clone()
            }
            _ => {
                if let Some(stage) = staged
                    && let Err(error) = stage.swap_into(&version_dir)
                {
                    results.push(Err(error));
                    continue;
                }
                current.version = version.clone();
                current.install_path = new_path.to_string_lossy().into_owned();
                current.git_commit_sha = commit.clone();
                current.last_updated = iso8601(SystemTime::now());
                changed = true;
                new_path
            }
        };
        if old_path != new_path {
            maybe_orphaned.push(old_path.clone());
        }
        results.push(Ok(UpdateOutcome {
            downgrade: change == Change::NewVersion && is_downgrade(&old_version, &version),
            id: target.id,
            scope,
            project_path: target.record.project_path,
            old_version,
            new_version: version,
            old_commit,
            new_commit: commit,
            change,
            install_path: new_path,
            old_install_path: old_path,
            old_orphaned: false,
            refresh,
            copy,
            loads_in_place_from: in_place,
            planned_only: false,
        }));
    }
    if changed {
        store::save_installed(&env.locations, &installed)?;
    }
    let now = epoch_millis(SystemTime::now()).to_string();
    let mut marked: Vec<PathBuf> = Vec::new();
    for path in maybe_orphaned {
        if marked.contains(&path)
            || installed.uses_install_path(&path.to_string_lossy())
            || !path.is_dir()
            || !path.starts_with(env.locations.cache_dir())
        {
            continue;
        }
        // A plain write: the marker's content is informative (Claude Code ages it by mtime),
        // and a marker lost in a crash is written again by the next session's sweep.
        fs_err::write(path.join(ORPHANED_MARKER), &now)?;
        marked.push(path);
    }
    for outcome in results.iter_mut().flatten() {
        outcome.old_orphaned = marked.contains(&outcome.old_install_path);
    }
    Ok(results)
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
    /// A staging directory inside the plugin's cache directory (same file system as the
    /// version directory it may be swapped into).
    fn in_cache(id: &PluginId, plugin_cache: &Path, prepared: &plugins::Prepared) -> Result<Self> {
        fs_err::create_dir_all(plugin_cache)?;
        crate::fsutil::remove_stale(plugin_cache, true, |name| name.starts_with(".staging-"));
        let dir = tempfile::Builder::new()
            .prefix(".staging-")
            .tempdir_in(plugin_cache)?;
        Self::copy_into(id, dir, prepared)
    }

    /// A copy for comparing only, in the system's temporary directory (nothing under the
    /// config root is written).
    fn in_temp(id: &PluginId, prepared: &plugins::Prepared) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("pm-compare-").tempdir()?;
        Self::copy_into(id, dir, prepared)
    }

    fn copy_into(
        id: &PluginId,
        dir: tempfile::TempDir,
        prepared: &plugins::Prepared,
    ) -> Result<Self> {
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
