//! Plugins: resolve, install, uninstall, list (reference-lifecycle.md §5, §6, §8).

use crate::copy::{CopyReport, copy_plugin_tree, remove_tree};
use crate::dependencies::{self, CacheGuard, DependencyRequest, InstalledDependency};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::marketplaces::{self, normalize};
use crate::reporter::Reporter;
use crate::store::{self, SettingsFile};
use pm_core::id::{PluginId, PluginRef, is_safe_path_component};
use pm_core::marketplace::{MarketplaceManifest, PluginEntry, PluginSource};
use pm_core::plugin::{PLUGIN_MANIFEST_PATH, PluginManifest};
use pm_core::scope::Scope;
use pm_core::source::MarketplaceSource;
use pm_core::state::{InstallRecord, KnownMarketplace};
use pm_core::time::{epoch_millis, iso8601};
use pm_core::version::{cache_dir_name, resolve_version};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The file written last into a cache version directory: without it the directory is
/// incomplete and is rebuilt, never reused (DEVIATIONS 4).
pub const READY_MARKER: &str = ".pm-ok";
/// The marker Claude Code uses for cache directories no record points to (content: epoch ms).
pub const ORPHANED_MARKER: &str = ".orphaned_at";

/// A plugin found in a known marketplace.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// `name@marketplace`.
    pub id: PluginId,
    /// The marketplace entry.
    pub entry: PluginEntry,
    /// The marketplace's `known_marketplaces.json` entry.
    pub marketplace: KnownMarketplace,
}

/// Finds `plugin` in the known marketplaces. A bare name must match exactly one plugin
/// (DEVIATIONS 5); `name@marketplace` must name a known marketplace that lists it.
pub fn resolve(
    env: &Environment,
    plugin: &PluginRef,
    reporter: &dyn Reporter,
) -> Result<Candidate> {
    let known = store::load_known(&env.locations)?;
    match &plugin.marketplace {
        Some(marketplace) => {
            let not_found = || Error::PluginNotFound {
                name: plugin.name.clone(),
                marketplace: marketplace.clone(),
            };
            let entry =
                known
                    .marketplaces
                    .get(marketplace)
                    .ok_or_else(|| Error::MarketplaceUnknown {
                        name: plugin.name.clone(),
                        marketplace: marketplace.clone(),
                        available: known.marketplaces.iter().map(|(n, _)| n.clone()).collect(),
                    })?;
            let manifest = marketplaces::load_manifest(entry, reporter)?;
            let plugin_entry = manifest.find(&plugin.name).ok_or_else(not_found)?;
            Ok(Candidate {
                id: PluginId::new(&plugin.name, marketplace),
                entry: plugin_entry.clone(),
                marketplace: entry.clone(),
            })
        }
        None => {
            let mut found = Vec::new();
            for (name, entry) in known.marketplaces.iter() {
                let manifest = match marketplaces::load_manifest(entry, reporter) {
                    Ok(manifest) => manifest,
                    Err(error) => {
                        reporter.warn(&format!("skipping marketplace `{name}`: {error}"));
                        continue;
                    }
                };
                if let Some(plugin_entry) = manifest.find(&plugin.name) {
                    found.push(Candidate {
                        id: PluginId::new(&plugin.name, name),
                        entry: plugin_entry.clone(),
                        marketplace: entry.clone(),
                    });
                }
            }
            match found.len() {
                0 => Err(Error::PluginNotFoundAnywhere {
                    name: plugin.name.clone(),
                }),
                1 => Ok(found.remove(0)),
                _ => Err(Error::Ambiguous {
                    name: plugin.name.clone(),
                    candidates: found.iter().map(|c| c.id.to_string()).collect(),
                }),
            }
        }
    }
}

/// What `install` did.
#[derive(Debug, Clone)]
pub struct InstallOutcome {
    /// The installed plugin.
    pub id: PluginId,
    /// The scope of the record.
    pub scope: Scope,
    /// The recorded version.
    pub version: String,
    /// The cache directory.
    pub install_path: PathBuf,
    /// Set when a record for this scope existed: `(installed version, available version)`.
    pub already_installed: Option<(String, String)>,
    /// For directory marketplaces: the folder Claude Code loads the plugin from.
    pub loads_in_place_from: Option<PathBuf>,
    /// Links left out of the copy because they leave the marketplace.
    pub copy: CopyReport,
    /// The marketplace added first from its settings declaration (DEVIATIONS 9), if any.
    pub added_marketplace: Option<marketplaces::AddOutcome>,
    /// Dependencies this install added (recorded with `auto: true`), in resolution order
    /// (reference-advanced.md §2.2).
    pub dependencies: Vec<InstalledDependency>,
    /// The plugin was recorded as a dependency (`auto`) and is now recorded as installed
    /// explicitly.
    pub marked_manual: bool,
}

/// A plugin's files, ready in the cache.
struct Materialized {
    version: String,
    install_path: PathBuf,
    commit: Option<String>,
    in_place: Option<PathBuf>,
    copy: CopyReport,
}

/// The directory of a relative source inside the marketplace root; refuses anything that
/// leaves it lexically (`./../x`, `./a/../../x`).
pub(crate) fn relative_source_dir(id: &PluginId, root: &Path, source: &str) -> Result<PathBuf> {
    let root = normalize(root);
    let relative = source
        .strip_prefix("./")
        .unwrap_or(if source == "." { "" } else { source });
    let joined = normalize(&root.join(relative));
    if !joined.starts_with(&root) || Path::new(relative).is_absolute() {
        return Err(Error::SourceEscapes {
            id: id.to_string(),
            source_path: source.to_string(),
        });
    }
    Ok(joined)
}

pub(crate) fn read_plugin_manifest(plugin_dir: &Path) -> Result<Option<PluginManifest>> {
    let path = plugin_dir.join(PLUGIN_MANIFEST_PATH);
    match crate::fsutil::read_optional(&path)? {
        None => Ok(None),
        Some(text) => PluginManifest::parse(&text)
            .map(Some)
            .map_err(|source| Error::PluginManifestInvalid { path, source }),
    }
}

/// Copies `plugin_dir` into `<cache>/<marketplace>/<plugin>/<version>` through a staging
/// directory and a rename; an existing complete directory is reused.
pub(crate) fn place_in_cache(
    env: &Environment,
    id: &PluginId,
    plugin_dir: &Path,
    boundary: &Path,
    version: &str,
) -> Result<(PathBuf, CopyReport)> {
    let plugin_cache = env
        .locations
        .cache_dir()
        .join(&id.marketplace)
        .join(&id.name);
    let install_path = plugin_cache.join(cache_dir_name(version));
    if install_path.join(READY_MARKER).is_file() {
        let orphaned = install_path.join(ORPHANED_MARKER);
        if orphaned.exists() {
            fs_err::remove_file(&orphaned)?;
        }
        return Ok((install_path, CopyReport::default()));
    }
    // Declared before `staging`, so dropped after it: a failed copy leaves no empty directory.
    let _created = marketplaces::CreatedDirs::create(&plugin_cache)?;
    // Staging directories of killed installs.
    crate::fsutil::remove_stale(&plugin_cache, true, |name| name.starts_with(".staging-"));
    let staging = tempfile::Builder::new()
        .prefix(".staging-")
        .tempdir_in(&plugin_cache)?;
    let staged = staging.path().join("plugin");
    let report = copy_plugin_tree(plugin_dir, boundary, &staged).map_err(|source| Error::Copy {
        id: id.to_string(),
        source,
    })?;
    fs_err::write(staged.join(READY_MARKER), b"")?;
    // Renaming onto a directory that is not empty fails. Either another pm completed the same
    // directory while this one copied: keep it (a record may already point at it; this copy goes
    // with the staging directory). Or an incomplete one (killed copy, or one without a marker)
    // is in the way: move it into the staging directory (unless another pm just did) and retry.
    for attempt in 0..2 {
        match fs_err::rename(&staged, &install_path) {
            Ok(()) => break,
            Err(_) if install_path.join(READY_MARKER).is_file() => break,
            Err(_) if attempt == 0 && fs_err::symlink_metadata(&install_path).is_ok() => {
                match fs_err::rename(&install_path, staging.path().join("incomplete")) {
                    Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                        return Err(error.into());
                    }
                    _ => {}
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    Ok((install_path, report))
}

/// A plugin's files located and its version resolved, not yet in the cache: the directory to
/// copy (inside the marketplace, or a clone in a temporary directory that lives as long as this
/// value) and the boundary links may not leave.
pub(crate) struct Prepared {
    /// The resolved version (plugin.json → entry → 12 hex of the commit → `unknown`).
    pub version: String,
    /// The commit the files come from (40 hex), when they come from git.
    pub commit: Option<String>,
    /// The plugin's directory.
    pub plugin_dir: PathBuf,
    /// The directory links inside the plugin may not leave.
    pub boundary: PathBuf,
    /// For directory marketplaces: the folder Claude Code loads the plugin from.
    pub in_place: Option<PathBuf>,
    /// The temporary clone or unpacked package of a plugin source outside the marketplace,
    /// removed on drop.
    _clone: Option<crate::sources::Temporary>,
}

/// Locates `candidate`'s files and resolves its version (step 4 of an install; what an update
/// compares): the directory inside the marketplace for a relative source; for `github`, `url`,
/// `git-subdir` and `npm` sources, a clone or unpacked package in a temporary directory inside
/// the plugin's cache directory (`crate::sources`).
pub(crate) fn prepare(
    env: &Environment,
    candidate: &Candidate,
    reporter: &dyn Reporter,
) -> Result<Prepared> {
    let id = &candidate.id;
    if !is_safe_path_component(&id.name) || !is_safe_path_component(&id.marketplace) {
        return Err(Error::SourceEscapes {
            id: id.to_string(),
            source_path: id.name.clone(),
        });
    }
    match &candidate.entry.source {
        PluginSource::Relative(source) => {
            if matches!(candidate.marketplace.source, MarketplaceSource::Url { .. }) {
                return Err(Error::RelativeSourceInUrlMarketplace {
                    id: id.to_string(),
                    source_path: source.clone(),
                });
            }
            let root = PathBuf::from(&candidate.marketplace.install_location);
            let plugin_dir = relative_source_dir(id, &root, source)?;
            if !plugin_dir.is_dir() {
                return Err(Error::SourcePathMissing(plugin_dir));
            }
            let manifest = read_plugin_manifest(&plugin_dir)?;
            let commit = crate::git::head_commit(&root);
            let version = resolve_version(
                manifest.as_ref().and_then(|m| m.version.as_deref()),
                candidate.entry.version.as_deref(),
                commit.as_deref(),
            );
            let in_place = matches!(
                candidate.marketplace.source,
                MarketplaceSource::Directory { .. }
            )
            .then(|| plugin_dir.clone());
            Ok(Prepared {
                version,
                commit,
                plugin_dir,
                boundary: root,
                in_place,
                _clone: None,
            })
        }
        PluginSource::Github { .. }
        | PluginSource::Url { .. }
        | PluginSource::GitSubdir { .. }
        | PluginSource::Npm { .. }
        | PluginSource::Archive { .. } => {
            let fetched = crate::sources::fetch(env, id, &candidate.entry.source, reporter)?;
            let manifest = read_plugin_manifest(&fetched.plugin_dir)?;
            let version = resolve_version(
                manifest.as_ref().and_then(|m| m.version.as_deref()),
                candidate
                    .entry
                    .version
                    .as_deref()
                    .or(fetched.package_version.as_deref()),
                fetched.commit.as_deref(),
            );
            Ok(Prepared {
                version,
                commit: fetched.commit,
                plugin_dir: fetched.plugin_dir,
                boundary: fetched.boundary,
                in_place: None,
                _clone: Some(fetched.temporary),
            })
        }
        PluginSource::Invalid { reason, kind, .. } => Err(Error::EntryInvalid {
            id: id.to_string(),
            reason: reason.clone(),
            kind: *kind,
        }),
    }
}

/// Whether updating `candidate` needs the network: its source is a git repository or npm
/// package of its own (the marketplace's files are on disk).
pub(crate) fn needs_fetch(candidate: &Candidate) -> bool {
    matches!(
        candidate.entry.source,
        PluginSource::Github { .. }
            | PluginSource::Url { .. }
            | PluginSource::GitSubdir { .. }
            | PluginSource::Npm { .. }
    )
}

fn materialize(
    env: &Environment,
    candidate: &Candidate,
    reporter: &dyn Reporter,
) -> Result<Materialized> {
    let prepared = prepare(env, candidate, reporter)?;
    let (install_path, copy) = place_in_cache(
        env,
        &candidate.id,
        &prepared.plugin_dir,
        &prepared.boundary,
        &prepared.version,
    )?;
    Ok(Materialized {
        version: prepared.version,
        install_path,
        commit: prepared.commit,
        in_place: prepared.in_place,
        copy,
    })
}

/// `pm install`: resolve, copy into the cache (staging + rename), record the install and
/// enable it in `scope`'s settings. A project-scope install also declares the marketplace
/// in the project's `extraKnownMarketplaces` (DEVIATIONS 9).
pub fn install(
    env: &Environment,
    plugin: &PluginRef,
    scope: Scope,
    reporter: &dyn Reporter,
) -> Result<InstallOutcome> {
    // Refuse before any work when a file pm must write is unusable.
    SettingsFile::open(&env.locations, scope)?;
    let installed = store::load_installed(&env.locations)?;
    // A marketplace that settings declare but this machine has not added yet is added first,
    // from its declared source (DEVIATIONS 9; managed declarations: reference-advanced.md §7).
    let added_marketplace = match &plugin.marketplace {
        Some(name)
            if store::load_known(&env.locations)?
                .marketplaces
                .get(name)
                .is_none() =>
        {
            let added = marketplaces::add_declared(env, name, reporter)?;
            if let Some(added) = &added {
                reporter.status(&format!(
                    "Added marketplace `{}` from {} (declared in {} settings)",
                    added.name, added.source, added.scope
                ));
            }
            added
        }
        _ => None,
    };
    let candidate = resolve(env, plugin, reporter)?;
    let id_text = candidate.id.to_string();
    let project_path = env.project_path();
    if let Some(record) = installed
        .records(&id_text)
        .iter()
        .find(|r| r.matches(scope, &project_path))
    {
        let in_place = match (&candidate.marketplace.source, &candidate.entry.source) {
            (MarketplaceSource::Directory { .. }, PluginSource::Relative(source)) => {
                relative_source_dir(
                    &candidate.id,
                    Path::new(&candidate.marketplace.install_location),
                    source,
                )
                .ok()
            }
            _ => None,
        };
        let available = available_version(&candidate).unwrap_or_else(|| record.version.clone());
        // Dependencies missing at this scope are installed now, and a plugin recorded as a
        // dependency is recorded as installed explicitly (reference-advanced.md §2.2).
        let marked_manual = record.auto == Some(true);
        let mut guard = CacheGuard::new(env);
        let dependencies = dependencies::install_dependencies(
            env,
            &DependencyRequest {
                root: &candidate,
                root_version: record
                    .resolved_version
                    .as_deref()
                    .unwrap_or(&record.version),
                root_dir: Path::new(&record.install_path),
                scope,
                installed: &installed,
            },
            &mut guard,
            reporter,
        )?;
        if marked_manual || !dependencies.is_empty() {
            let _lock = env.lock(reporter)?;
            let mut settings = SettingsFile::open(&env.locations, scope)?;
            let mut installed = store::load_installed(&env.locations)?;
            if let Some(current) = installed
                .plugins
                .get_mut(&id_text)
                .and_then(|records| records.iter_mut().find(|r| r.matches(scope, &project_path)))
            {
                current.auto = None;
            }
            record_dependencies(
                &mut installed,
                &mut settings,
                &dependencies,
                scope,
                &project_path,
            )?;
            settings.save()?;
            store::save_installed(&env.locations, &installed)?;
            guard.commit();
        }
        return Ok(InstallOutcome {
            id: candidate.id.clone(),
            scope,
            version: record.version.clone(),
            install_path: PathBuf::from(&record.install_path),
            already_installed: Some((record.version.clone(), available)),
            loads_in_place_from: in_place,
            copy: CopyReport::default(),
            added_marketplace,
            dependencies,
            marked_manual,
        });
    }
    // Managed settings may forbid a marketplace that was added before the policy came.
    marketplaces::check_policy(env, &candidate.marketplace.source, reporter)?;
    if store::load_managed(&env.locations.managed_root).enabled_entry(&id_text)
        == Some(&serde_json::Value::Bool(false))
    {
        reporter.warn(&format!(
            "managed settings disable `{id_text}`: it stays disabled after this install (your organization's policy)"
        ));
    }

    // The settings edits, tried on a copy first: a file pm cannot edit (`enabledPlugins` that
    // is not an object, …) is refused before anything is copied into the cache.
    enable_in_settings(
        &mut SettingsFile::open(&env.locations, scope)?,
        &candidate,
        scope,
    )?;

    // Cache directories this install creates are removed again if it fails (DEVIATIONS 14).
    let mut guard = CacheGuard::new(env);
    guard.track(&candidate.id);
    let materialized = materialize(env, &candidate, reporter)?;
    guard.placed(&materialized.install_path);
    // Dependencies, read from the copy just made: every one is resolved and copied before
    // anything is recorded, and one that cannot be satisfied fails the whole install.
    let dependencies = dependencies::install_dependencies(
        env,
        &DependencyRequest {
            root: &candidate,
            root_version: &materialized.version,
            root_dir: &materialized.install_path,
            scope,
            installed: &installed,
        },
        &mut guard,
        reporter,
    )?;

    let _lock = env.lock(reporter)?;
    let mut settings = SettingsFile::open(&env.locations, scope)?;
    enable_in_settings(&mut settings, &candidate, scope)?;
    let mut installed = store::load_installed(&env.locations)?;
    let now = iso8601(SystemTime::now());
    let install_path = materialized.install_path.to_string_lossy().into_owned();
    let records = installed.plugins.entry_or_insert_with(&id_text, Vec::new);
    let record = InstallRecord {
        scope,
        project_path: scope.has_project_path().then(|| project_path.clone()),
        install_path,
        version: materialized.version.clone(),
        installed_at: now.clone(),
        last_updated: now,
        git_commit_sha: materialized.commit.clone(),
        resolved_version: None,
        auto: None,
        extra: Default::default(),
    };
    match records.iter_mut().find(|r| r.matches(scope, &project_path)) {
        Some(existing) => *existing = record,
        None => records.push(record),
    }
    record_dependencies(
        &mut installed,
        &mut settings,
        &dependencies,
        scope,
        &project_path,
    )?;
    // Settings first: a run killed between the two writes leaves a state that running the
    // same command again repairs (an enabled plugin without a record is installed again; a
    // record whose entry is gone is uninstalled again).
    settings.save()?;
    store::save_installed(&env.locations, &installed)?;
    guard.commit();
    Ok(InstallOutcome {
        id: candidate.id,
        scope,
        version: materialized.version,
        install_path: materialized.install_path,
        already_installed: None,
        loads_in_place_from: materialized.in_place,
        copy: materialized.copy,
        added_marketplace,
        dependencies,
        marked_manual: false,
    })
}

/// Records the dependencies an install added, with `auto: true`, and enables them in
/// `settings` (reference-advanced.md §2.2). A record of the same scope that another pm wrote
/// meanwhile is kept as it is.
fn record_dependencies(
    installed: &mut pm_core::state::InstalledPlugins,
    settings: &mut SettingsFile,
    dependencies: &[InstalledDependency],
    scope: Scope,
    project_path: &str,
) -> Result<()> {
    let now = iso8601(SystemTime::now());
    for dependency in dependencies {
        enable_in_settings(settings, &dependency.candidate, scope)?;
        let records = installed
            .plugins
            .entry_or_insert_with(&dependency.id.to_string(), Vec::new);
        if records.iter().any(|r| r.matches(scope, project_path)) {
            continue;
        }
        records.push(InstallRecord {
            scope,
            project_path: scope.has_project_path().then(|| project_path.to_string()),
            install_path: dependency.install_path.to_string_lossy().into_owned(),
            version: dependency.version.clone(),
            installed_at: now.clone(),
            last_updated: now.clone(),
            git_commit_sha: dependency.commit.clone(),
            resolved_version: dependency.resolved_version.clone(),
            auto: Some(true),
            extra: Default::default(),
        });
    }
    Ok(())
}

/// Sets `enabledPlugins.<id> = true`; a project-scope install also declares the marketplace
/// in the project's `extraKnownMarketplaces` when it is not declared there (DEVIATIONS 9).
fn enable_in_settings(
    settings: &mut SettingsFile,
    candidate: &Candidate,
    scope: Scope,
) -> Result<()> {
    settings.set_enabled(&candidate.id.to_string(), true)?;
    if scope == Scope::Project
        && settings
            .declared_source(&candidate.id.marketplace)
            .is_none()
    {
        settings.declare_marketplace(
            &candidate.id.marketplace,
            &candidate.marketplace.source.to_value(),
        )?;
    }
    Ok(())
}

/// The version an install would record now, when it can be known without fetching.
fn available_version(candidate: &Candidate) -> Option<String> {
    match &candidate.entry.source {
        PluginSource::Relative(source) => {
            let root = PathBuf::from(&candidate.marketplace.install_location);
            let dir = relative_source_dir(&candidate.id, &root, source).ok()?;
            let manifest = read_plugin_manifest(&dir).ok().flatten();
            let commit = crate::git::head_commit(&root);
            Some(resolve_version(
                manifest.as_ref().and_then(|m| m.version.as_deref()),
                candidate.entry.version.as_deref(),
                commit.as_deref(),
            ))
        }
        _ => candidate.entry.version.clone(),
    }
}

/// What `uninstall` did.
#[derive(Debug, Clone)]
pub struct UninstallOutcome {
    /// The plugin.
    pub id: PluginId,
    /// The scope whose record was removed.
    pub scope: Scope,
    /// Whether the data directory was kept (`--keep-data`, or other records remain).
    pub kept_data: bool,
    /// Installed plugins that require this one and have no other record of it where they
    /// apply (reference-advanced.md §2.6).
    pub required_by: Vec<PluginId>,
    /// Auto-installed plugins of this scope that nothing needs any more (`pm prune` removes
    /// them).
    pub unneeded: Vec<crate::prune::Orphan>,
}

/// Finds the installed id for `plugin`: `name@marketplace` as given, or the one installed
/// id whose name matches a bare name (several → [`Error::Ambiguous`]).
pub fn resolve_installed(env: &Environment, plugin: &PluginRef) -> Result<PluginId> {
    if let Some(id) = plugin.id() {
        return Ok(id);
    }
    let installed = store::load_installed(&env.locations)?;
    let matches: Vec<PluginId> = installed
        .plugins
        .iter()
        .filter(|(_, records)| !records.is_empty())
        .filter_map(|(id, _)| PluginId::parse_key(id))
        .filter(|id| id.name == plugin.name)
        .collect();
    match matches.len() {
        0 => Err(Error::NotInstalled(plugin.name.clone())),
        1 => Ok(matches[0].clone()),
        _ => Err(Error::Ambiguous {
            name: plugin.name.clone(),
            candidates: matches.iter().map(ToString::to_string).collect(),
        }),
    }
}

/// The scopes of the records that apply in `project_path`: user and managed records, and project
/// and local records whose `projectPath` is `project_path`; in record order.
pub(crate) fn scopes_here(records: &[InstallRecord], project_path: &str) -> Vec<Scope> {
    records
        .iter()
        .filter(|r| !r.scope.has_project_path() || r.project_path.as_deref() == Some(project_path))
        .map(|r| r.scope)
        .collect()
}

/// `pm uninstall`: removes one install record and its `enabledPlugins` entry; marks the
/// cache directory `.orphaned_at` when no record uses it; deletes the data directory when
/// the last record goes, unless `keep_data`. Without `scope`, the one scope that has the
/// plugin for this directory is used (DEVIATIONS 7).
pub fn uninstall(
    env: &Environment,
    plugin: &PluginRef,
    scope: Option<Scope>,
    keep_data: bool,
    reporter: &dyn Reporter,
) -> Result<UninstallOutcome> {
    // Managed settings that force the plugin on decide for the organization (DEVIATIONS 8).
    let managed = store::load_managed(&env.locations.managed_root);
    let forced_on = |id: &str| {
        matches!(
            managed.enabled_entry(id),
            Some(serde_json::Value::Bool(true))
        )
    };
    let id = match resolve_installed(env, plugin) {
        Ok(id) => id,
        Err(Error::NotInstalled(name)) => {
            let managed_ids: Vec<String> = managed
                .enabled_ids()
                .into_iter()
                .filter(|key| {
                    PluginId::parse_key(key).is_some_and(|id| id.name == plugin.name)
                        && forced_on(key)
                })
                .collect();
            return Err(match managed_ids.as_slice() {
                [only] => Error::ManagedForcedOn(only.clone()),
                _ => Error::NotInstalled(name),
            });
        }
        Err(error) => return Err(error),
    };
    let id_text = id.to_string();
    if forced_on(&id_text) {
        return Err(Error::ManagedForcedOn(id_text));
    }
    let project_path = env.project_path();
    let _lock = env.lock(reporter)?;
    let mut installed = store::load_installed(&env.locations)?;
    let records = installed.records(&id_text).to_vec();
    if records.is_empty() {
        return Err(Error::NotInstalled(id_text));
    }
    let here = scopes_here(&records, &project_path);
    // A `managed` record is the administrator's: never suggested, never removed.
    let editable_here: Vec<Scope> = here
        .iter()
        .copied()
        .filter(|s| *s != Scope::Managed)
        .collect();
    let scope = match scope {
        Some(scope) => {
            if !here.contains(&scope) {
                if editable_here.is_empty() && here.contains(&Scope::Managed) {
                    return Err(Error::Managed(id_text));
                }
                return Err(Error::NotInstalledAtScope {
                    id: id_text,
                    scope,
                    installed: editable_here,
                });
            }
            scope
        }
        None => match here.as_slice() {
            [] => {
                return Err(Error::NotInstalledAtScope {
                    id: id_text,
                    scope: Scope::User,
                    installed: Vec::new(),
                });
            }
            [only] => *only,
            several if several.iter().filter(|s| **s != Scope::Managed).count() == 1 => several
                .iter()
                .copied()
                .find(|s| *s != Scope::Managed)
                .unwrap_or(Scope::User),
            _ => {
                return Err(Error::ScopeRequired {
                    id: id_text,
                    scopes: editable_here,
                });
            }
        },
    };
    if scope == Scope::Managed {
        return Err(Error::Managed(id_text));
    }
    let mut settings = SettingsFile::open(&env.locations, scope)?;
    settings.remove_enabled(&id_text)?;

    let mut removed = None;
    if let Some(list) = installed.plugins.get_mut(&id_text)
        && let Some(index) = list.iter().position(|r| r.matches(scope, &project_path))
    {
        removed = Some(list.remove(index));
    }
    let remaining = installed.records(&id_text).len();
    if remaining == 0 {
        installed.plugins.remove(&id_text);
    }
    // Settings first: a run killed between the two writes leaves a state that running the
    // same command again repairs (an enabled plugin without a record is installed again; a
    // record whose entry is gone is uninstalled again).
    settings.save()?;
    store::save_installed(&env.locations, &installed)?;
    if let Some(record) = &removed {
        mark_orphaned_if_unused(env, &installed, &record.install_path)?;
    }
    let mut kept_data = keep_data;
    if remaining == 0 && !keep_data {
        remove_data_dir(env, &id)?;
    } else if remaining > 0 {
        kept_data = false;
    }
    // What the removal means for dependencies (reference-advanced.md §2.6).
    let graph = crate::prune::Graph::build(env, &installed, reporter);
    let required_by = removed
        .as_ref()
        .map(|record| graph.left_without(&id, record))
        .unwrap_or_default();
    let unneeded = match graph.plan(scope, &project_path) {
        crate::prune::PrunePlan::Orphans { orphans, .. } => orphans,
        _ => Vec::new(),
    };
    Ok(UninstallOutcome {
        id,
        scope,
        kept_data,
        required_by,
        unneeded,
    })
}

/// Writes `.orphaned_at` (epoch milliseconds, no newline) into a cache directory that no
/// record uses any more.
pub(crate) fn mark_orphaned_if_unused(
    env: &Environment,
    installed: &pm_core::state::InstalledPlugins,
    install_path: &str,
) -> Result<()> {
    let path = Path::new(install_path);
    if installed.uses_install_path(install_path)
        || !path.is_dir()
        || !path.starts_with(env.locations.cache_dir())
    {
        return Ok(());
    }
    write_atomic(
        &path.join(ORPHANED_MARKER),
        epoch_millis(SystemTime::now()).to_string().as_bytes(),
    )?;
    Ok(())
}

/// Deletes `plugins/data/<sanitized id>` if it exists.
pub(crate) fn remove_data_dir(env: &Environment, id: &PluginId) -> Result<()> {
    let data_root = env.locations.data_dir();
    let dir = data_root.join(id.data_dir_name());
    if fs_err::symlink_metadata(&dir).is_ok() {
        remove_tree(&dir, &data_root).map_err(|source| Error::Copy {
            id: id.to_string(),
            source,
        })?;
    }
    Ok(())
}

/// One row of `pm list`: an install record, or a plugin that managed settings enable and that
/// has no `managed` record yet (DEVIATIONS 8).
#[derive(Debug, Clone)]
pub struct ListedPlugin {
    /// `name@marketplace`.
    pub id: String,
    /// The install record; `None` for a managed-enabled plugin without one.
    pub record: Option<InstallRecord>,
    /// The record's scope (`managed` for a row without a record).
    pub scope: Scope,
    /// The record's version; without a record, the version the known marketplace offers, when
    /// it can be known without fetching.
    pub version: Option<String>,
    /// Effective enabled state for the cwd.
    pub enabled: bool,
    /// `enabledPlugins[id] === true` in the cwd's project settings.
    pub project_enabled: bool,
    /// For directory marketplaces: the folder the plugin loads from.
    pub read_from_folder: Option<PathBuf>,
    /// plugin.json version in that folder.
    pub folder_version: Option<String>,
}

/// Every install record, sorted by id then record order, with effective state; then, for each
/// plugin that managed settings enable (`true`) and that has no `managed` record, a row with
/// scope `managed` and no record (Claude Code installs it at its next session).
pub fn list(env: &Environment, reporter: &dyn Reporter) -> Result<Vec<ListedPlugin>> {
    let installed = store::load_installed(&env.locations)?;
    let known = store::load_known(&env.locations)?;
    let settings = store::load_settings(&env.locations);
    let mut manifests: std::collections::HashMap<String, Option<MarketplaceManifest>> =
        Default::default();
    // The catalogue entry of `id` and the folder it loads from (directory marketplaces).
    let mut lookup = |id: &PluginId| -> Option<(Candidate, Option<PathBuf>)> {
        let entry = known.marketplaces.get(&id.marketplace)?;
        let manifest = manifests
            .entry(id.marketplace.clone())
            .or_insert_with(|| marketplaces::load_manifest(entry, reporter).ok());
        let plugin_entry = manifest.as_ref()?.find(&id.name)?.clone();
        let folder = match (&entry.source, &plugin_entry.source) {
            (MarketplaceSource::Directory { .. }, PluginSource::Relative(source)) => {
                relative_source_dir(id, Path::new(&entry.install_location), source).ok()
            }
            _ => None,
        };
        Some((
            Candidate {
                id: id.clone(),
                entry: plugin_entry,
                marketplace: entry.clone(),
            },
            folder,
        ))
    };
    let project_enabled = |id: &str| {
        matches!(
            settings
                .get(Scope::Project)
                .and_then(|c| c.enabled_entry(id)),
            Some(serde_json::Value::Bool(true))
        )
    };
    let mut rows = Vec::new();
    for (id, record) in installed.all() {
        // Only a directory marketplace has a folder to read (`readFromFolder`).
        let found = PluginId::parse_key(id)
            .filter(|parsed| {
                known
                    .marketplaces
                    .get(&parsed.marketplace)
                    .is_some_and(|entry| {
                        matches!(entry.source, MarketplaceSource::Directory { .. })
                    })
            })
            .and_then(|parsed| lookup(&parsed));
        let read_from_folder = found.and_then(|(_, folder)| folder);
        let folder_version = read_from_folder.as_deref().and_then(|dir| {
            read_plugin_manifest(dir)
                .ok()
                .flatten()
                .and_then(|m| m.version)
        });
        rows.push(ListedPlugin {
            id: id.clone(),
            record: Some(record.clone()),
            scope: record.scope,
            version: Some(record.version.clone()),
            enabled: settings.is_enabled(id),
            project_enabled: project_enabled(id),
            read_from_folder,
            folder_version,
        });
    }
    let managed = settings
        .get(Scope::Managed)
        .cloned()
        .unwrap_or(pm_core::settings::SettingsContent::Missing);
    for id in managed.enabled_ids() {
        let forced_on = matches!(
            managed.enabled_entry(&id),
            Some(serde_json::Value::Bool(true))
        );
        if !forced_on
            || installed
                .records(&id)
                .iter()
                .any(|r| r.scope == Scope::Managed)
        {
            continue;
        }
        let found = PluginId::parse_key(&id).and_then(|parsed| lookup(&parsed));
        let version = found
            .as_ref()
            .and_then(|(candidate, _)| available_version(candidate));
        let read_from_folder = found.and_then(|(_, folder)| folder);
        let folder_version = read_from_folder.as_deref().and_then(|dir| {
            read_plugin_manifest(dir)
                .ok()
                .flatten()
                .and_then(|m| m.version)
        });
        rows.push(ListedPlugin {
            enabled: settings.is_enabled(&id),
            project_enabled: project_enabled(&id),
            id,
            record: None,
            scope: Scope::Managed,
            version,
            read_from_folder,
            folder_version,
        });
    }
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// A plugin a known marketplace offers that is not installed.
#[derive(Debug, Clone)]
pub struct AvailablePlugin {
    /// `name@marketplace`.
    pub id: String,
    /// The entry.
    pub entry: PluginEntry,
    /// The marketplace name.
    pub marketplace: String,
}

/// Plugins offered by known marketplaces and not installed at any scope.
pub fn available(env: &Environment, reporter: &dyn Reporter) -> Result<Vec<AvailablePlugin>> {
    let installed = store::load_installed(&env.locations)?;
    let known = store::load_known(&env.locations)?;
    let mut rows = Vec::new();
    for (name, entry) in known.marketplaces.iter() {
        let manifest = match marketplaces::load_manifest(entry, reporter) {
            Ok(manifest) => manifest,
            Err(error) => {
                reporter.warn(&format!("skipping marketplace `{name}`: {error}"));
                continue;
            }
        };
        for plugin in manifest.plugins {
            let id = format!("{}@{name}", plugin.name);
            if installed.records(&id).is_empty() {
                rows.push(AvailablePlugin {
                    id,
                    entry: plugin,
                    marketplace: name.clone(),
                });
            }
        }
    }
    Ok(rows)
}
