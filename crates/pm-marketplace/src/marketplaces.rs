//! Marketplaces: add, list, remove, update, and reading a known marketplace's catalogue
//! (reference-lifecycle.md §1–4).

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::git::{self, CloneRequest};
use crate::reporter::Reporter;
use crate::store::{self, SettingsFile};
use pm_core::marketplace::{MARKETPLACE_MANIFEST_PATH, MarketplaceManifest, decode_utf8_lossy};
use pm_core::names::validate_marketplace_name;
use pm_core::scope::Scope;
use pm_core::source::{MarketplaceSource, SourceInput, parse_source_input};
use pm_core::state::KnownMarketplace;
use pm_core::time::iso8601;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// What `marketplace add` did.
#[derive(Debug, Clone)]
pub struct AddOutcome {
    /// The marketplace name (from its marketplace.json).
    pub name: String,
    /// The stored source.
    pub source: MarketplaceSource,
    /// The settings scope that now declares it.
    pub scope: Scope,
    /// Nothing was fetched: the same source was already known under this name.
    pub already_known: bool,
    /// The name was known from another (local) source, now replaced.
    pub repointed_from: Option<MarketplaceSource>,
}

/// Reads a file that should hold a marketplace.json, warning on invalid UTF-8.
fn read_manifest_file(path: &Path, reporter: &dyn Reporter) -> Result<MarketplaceManifest> {
    let bytes = match fs_err::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::ManifestMissing(path.to_path_buf()));
        }
        Err(error) => return Err(error.into()),
    };
    let (text, lossy) = decode_utf8_lossy(&bytes);
    if lossy {
        reporter.warn(&format!(
            "`{}` is not valid UTF-8; invalid bytes were replaced with U+FFFD",
            path.display()
        ));
    }
    MarketplaceManifest::parse(&text).map_err(|source| Error::ManifestInvalid {
        path: path.to_path_buf(),
        source,
    })
}

/// Where a known marketplace's marketplace.json is.
pub fn manifest_path(entry: &KnownMarketplace) -> PathBuf {
    match &entry.source {
        MarketplaceSource::File { path } => PathBuf::from(path),
        MarketplaceSource::Url { .. } => PathBuf::from(&entry.install_location),
        _ => Path::new(&entry.install_location).join(MARKETPLACE_MANIFEST_PATH),
    }
}

/// Reads the catalogue of a known marketplace from its install location.
pub fn load_manifest(
    entry: &KnownMarketplace,
    reporter: &dyn Reporter,
) -> Result<MarketplaceManifest> {
    read_manifest_file(&manifest_path(entry), reporter)
}

/// Expands `~` and makes `input` absolute against the cwd, without resolving symlinks.
fn absolute_path(env: &Environment, input: &str) -> PathBuf {
    let expanded = if input == "~" {
        env.home.clone()
    } else if let Some(rest) = input.strip_prefix("~/") {
        env.home.join(rest)
    } else {
        PathBuf::from(input)
    };
    let joined = if expanded.is_absolute() {
        expanded
    } else {
        env.locations.cwd.join(expanded)
    };
    normalize(&joined)
}

/// Removes `.` and `..` components lexically.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Turns a `marketplace add` argument into a stored source, asking the file system for paths.
pub fn resolve_source(
    env: &Environment,
    input: &str,
    sparse: &[String],
) -> Result<MarketplaceSource> {
    let source = match parse_source_input(input)? {
        SourceInput::Remote(source) => source,
        SourceInput::Path(text) => {
            let path = absolute_path(env, &text);
            let metadata =
                fs_err::metadata(&path).map_err(|_| Error::PathNotFound(path.clone()))?;
            let display = path.to_string_lossy().into_owned();
            if metadata.is_dir() {
                MarketplaceSource::Directory { path: display }
            } else if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"))
            {
                MarketplaceSource::File { path: display }
            } else {
                return Err(Error::NotAMarketplacePath(path));
            }
        }
    };
    Ok(match source {
        MarketplaceSource::Github {
            repo, reference, ..
        } if !sparse.is_empty() => MarketplaceSource::Github {
            repo,
            reference,
            sparse_paths: Some(sparse.to_vec()),
        },
        MarketplaceSource::Git { url, reference, .. } if !sparse.is_empty() => {
            MarketplaceSource::Git {
                url,
                reference,
                sparse_paths: Some(sparse.to_vec()),
            }
        }
        other => other,
    })
}

/// A marketplace fetched into a temporary place, not yet moved into `marketplaces/`.
pub(crate) struct Fetched {
    pub manifest: MarketplaceManifest,
    /// Where the marketplace will live (`installLocation`).
    pub install_location: PathBuf,
    /// What must be moved to `install_location` (a clone or a downloaded file), if anything.
    pending: Option<Pending>,
}

enum Pending {
    Clone(TempClone),
    File { contents: Vec<u8> },
}

/// The URLs to try for a git source: github shorthand → HTTPS, then SSH (DEVIATIONS 10).
pub(crate) fn clone_urls(source: &MarketplaceSource) -> Vec<String> {
    match source {
        MarketplaceSource::Github { repo, .. } => vec![
            format!("https://github.com/{repo}.git"),
            format!("git@github.com:{repo}.git"),
        ],
        MarketplaceSource::Git { url, .. } => vec![url.clone()],
        _ => Vec::new(),
    }
}

/// Directories created on the way to a path, deepest first. When dropped, each one that is
/// (still) empty is removed again, so that a failed fetch or install leaves no empty
/// `marketplaces/` or `cache/<marketplace>/<plugin>/` behind; a directory that received
/// content (a clone, a cache version) is non-empty and stays.
pub(crate) struct CreatedDirs {
    dirs: Vec<PathBuf>,
}

impl CreatedDirs {
    /// `create_dir_all(path)`, remembering which directories did not exist before.
    pub(crate) fn create(path: &Path) -> std::io::Result<Self> {
        let dirs: Vec<PathBuf> = path
            .ancestors()
            .take_while(|dir| !dir.as_os_str().is_empty() && fs_err::symlink_metadata(dir).is_err())
            .map(Path::to_path_buf)
            .collect();
        fs_err::create_dir_all(path)?;
        Ok(CreatedDirs { dirs })
    }
}

impl Drop for CreatedDirs {
    fn drop(&mut self) {
        for dir in &self.dirs {
            // Fails (and stops) at the first directory that is not empty.
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}

/// A clone in a temporary directory. Fields drop in order: the temporary directory first, then
/// the directories created to hold it (when left empty).
pub(crate) struct TempClone {
    /// Removed on drop, with anything still inside it.
    pub temp: tempfile::TempDir,
    /// The work tree, inside `temp`.
    pub path: PathBuf,
    /// The commit checked out (40 hex).
    pub head: String,
    _created: CreatedDirs,
}

/// Clones a git source into a temporary directory inside `parent`, trying each URL in turn;
/// the first error is reported when all fail (it says what failed: repository, ref, network).
/// Directories created for `parent` are removed again when the clone fails or is dropped
/// without being moved out.
pub(crate) fn clone_into_temp(
    env: &Environment,
    source: &MarketplaceSource,
    parent: &Path,
    reporter: &dyn Reporter,
) -> Result<TempClone> {
    let created = CreatedDirs::create(parent)?;
    let urls = clone_urls(source);
    let mut first_error = None;
    for url in &urls {
        let temp = tempfile::Builder::new()
            .prefix(".clone-")
            .tempdir_in(parent)?;
        let path = temp.path().join("repo");
        let shown = pm_core::source::redact_credentials(url).unwrap_or_else(|| url.clone());
        reporter.status(&format!(
            "Cloning `{shown}`{}",
            source
                .reference()
                .map(|r| format!(" at `{r}`"))
                .unwrap_or_default()
        ));
        let request = CloneRequest {
            url,
            reference: source.reference(),
            destination: &path,
            sparse_paths: source.sparse_paths(),
        };
        let result = git::clone(&request, &env.git, &mut |progress| {
            reporter.fetch_progress(progress)
        });
        reporter.fetch_finished();
        match result {
            Ok(cloned) => {
                return Ok(TempClone {
                    temp,
                    path,
                    head: cloned.head,
                    _created: created,
                });
            }
            Err(error) => {
                let retry = !matches!(error, git::GitError::ReferenceNotFound { .. });
                if first_error.is_none() {
                    first_error = Some(Error::Git {
                        url: shown.clone(),
                        source: error,
                    });
                }
                if !retry {
                    break;
                }
            }
        }
    }
    Err(first_error.unwrap_or_else(|| Error::NotAMarketplacePath(parent.to_path_buf())))
}

/// Fetches `source` (clone, download, or read in place) and reads its marketplace.json.
pub(crate) fn fetch(
    env: &Environment,
    source: &MarketplaceSource,
    reporter: &dyn Reporter,
) -> Result<Fetched> {
    match source {
        MarketplaceSource::Directory { path } => {
            let root = PathBuf::from(path);
            let manifest = read_manifest_file(&root.join(MARKETPLACE_MANIFEST_PATH), reporter)?;
            Ok(Fetched {
                manifest,
                install_location: root,
                pending: None,
            })
        }
        MarketplaceSource::File { path } => {
            let file = PathBuf::from(path);
            let manifest = read_manifest_file(&file, reporter)?;
            // The reference's installLocation for a file source: the file's grandparent.
            let install_location = file
                .parent()
                .and_then(Path::parent)
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from("/"));
            Ok(Fetched {
                manifest,
                install_location,
                pending: None,
            })
        }
        MarketplaceSource::Url { url } => {
            reporter.status(&format!("Downloading `{url}`"));
            let body = crate::http::download(url).map_err(|e| Error::Download {
                url: url.clone(),
                not_found: matches!(e, crate::http::DownloadError::Status { status: 404 }),
                message: e.to_string(),
            })?;
            let (text, lossy) = decode_utf8_lossy(&body);
            if lossy {
                reporter.warn(&format!(
                    "`{url}` is not valid UTF-8; invalid bytes were replaced with U+FFFD"
                ));
            }
            let value: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| Error::ManifestInvalid {
                    path: PathBuf::from(url),
                    source: pm_core::marketplace::ManifestError::from_json(&e, &text),
                })?;
            let manifest = MarketplaceManifest::from_value(value.clone()).map_err(|source| {
                Error::ManifestInvalid {
                    path: PathBuf::from(url),
                    source,
                }
            })?;
            let contents = serde_json::to_string_pretty(&value)
                .unwrap_or_default()
                .into_bytes();
            let install_location = env.locations.marketplaces_dir().join(&manifest.name);
            Ok(Fetched {
                manifest,
                install_location,
                pending: Some(Pending::File { contents }),
            })
        }
        MarketplaceSource::Github { .. } | MarketplaceSource::Git { .. } => {
            let clone = clone_into_temp(env, source, &env.locations.marketplaces_dir(), reporter)?;
            let manifest =
                read_manifest_file(&clone.path.join(MARKETPLACE_MANIFEST_PATH), reporter)?;
            let install_location = env.locations.marketplaces_dir().join(&manifest.name);
            Ok(Fetched {
                manifest,
                install_location,
                pending: Some(Pending::Clone(clone)),
            })
        }
    }
}

impl Fetched {
    /// Moves a fetched clone or file into its install location, replacing what was there.
    /// Only ever touches paths inside `marketplaces/` (the name was validated first).
    pub(crate) fn commit(self, env: &Environment) -> Result<()> {
        let marketplaces = env.locations.marketplaces_dir();
        match self.pending {
            None => Ok(()),
            Some(Pending::File { contents }) => {
                if self.install_location.is_dir() {
                    crate::copy::remove_tree(&self.install_location, &marketplaces)
                        .map_err(|e| std::io::Error::other(e.to_string()))?;
                }
                write_atomic(&self.install_location, &contents)?;
                Ok(())
            }
            Some(Pending::Clone(clone)) => {
                let target = &self.install_location;
                if fs_err::symlink_metadata(target).is_ok() {
                    // Move the old one aside inside the same temp dir, so it is removed on drop.
                    let old = clone.temp.path().join("old");
                    fs_err::rename(target, &old)?;
                }
                fs_err::rename(&clone.path, target)?;
                Ok(())
            }
        }
    }
}

/// `pm marketplace add`: fetch, validate the name, record it in `known_marketplaces.json` and
/// declare it in the settings of `scope` (reference-lifecycle.md §1).
pub fn add(
    env: &Environment,
    source: MarketplaceSource,
    scope: Scope,
    reporter: &dyn Reporter,
) -> Result<AddOutcome> {
    // Refuse early (nothing fetched, nothing written) when the target settings file is broken.
    SettingsFile::open(&env.locations, scope)?;
    let known = store::load_known(&env.locations)?;

    // Same source already known: nothing to fetch, only the declaration to add.
    if let Some((name, _)) = known
        .marketplaces
        .iter()
        .find(|(_, entry)| entry.source == source)
    {
        let name = name.clone();
        let _lock = env.lock(reporter)?;
        let mut settings = SettingsFile::open(&env.locations, scope)?;
        settings.declare_marketplace(&name, &source.to_value())?;
        settings.save()?;
        return Ok(AddOutcome {
            name,
            source,
            scope,
            already_known: true,
            repointed_from: None,
        });
    }

    let fetched = fetch(env, &source, reporter)?;
    let name = fetched.manifest.name.clone();
    validate_marketplace_name(&name, source.is_anthropics_github()).map_err(|e| Error::Name {
        location: manifest_location(&source),
        source: e,
    })?;
    // The declaration, tried on a copy first: a settings file pm cannot edit is refused before
    // anything is moved into place or recorded.
    SettingsFile::open(&env.locations, scope)?.declare_marketplace(&name, &source.to_value())?;

    let _lock = env.lock(reporter)?;
    let mut known = store::load_known(&env.locations)?;
    let previous = known.marketplaces.get(&name).cloned();
    if let Some(previous) = &previous
        && !source.is_local()
        && previous.source.location() != source.location()
    {
        // A remote re-point is refused while user or managed settings declare the old source.
        let user = SettingsFile::open(&env.locations, Scope::User)?;
        if let Some(declared) = user.declared_source(&name)
            && declared != source.to_value()
        {
            return Err(Error::Declared {
                name,
                settings: user.path().to_path_buf(),
            });
        }
    }
    let install_location = fetched.install_location.to_string_lossy().into_owned();
    fetched.commit(env)?;
    let extra = previous
        .as_ref()
        .map(|p| p.extra.clone())
        .unwrap_or_default();
    known.marketplaces.insert(
        name.clone(),
        KnownMarketplace {
            source: source.clone(),
            install_location,
            last_updated: Some(iso8601(SystemTime::now())),
            extra,
        },
    );
    store::save_known(&env.locations, &known)?;
    let mut settings = SettingsFile::open(&env.locations, scope)?;
    settings.declare_marketplace(&name, &source.to_value())?;
    settings.save()?;
    let repointed_from = previous
        .map(|p| p.source)
        .filter(|old| old.location() != source.location());
    Ok(AddOutcome {
        name,
        source,
        scope,
        already_known: false,
        repointed_from,
    })
}

/// Where a fetched marketplace's name was read, for messages. Never the install location
/// derived from the (refused) name: for a clone that would be a path like
/// `marketplaces/../../../.ssh`.
fn manifest_location(source: &MarketplaceSource) -> String {
    match source {
        MarketplaceSource::File { path } => format!("`{path}`"),
        MarketplaceSource::Url { url } => format!("`{url}`"),
        MarketplaceSource::Directory { path } => format!(
            "`{}`",
            Path::new(path).join(MARKETPLACE_MANIFEST_PATH).display()
        ),
        MarketplaceSource::Github { .. } | MarketplaceSource::Git { .. } => {
            format!("`{MARKETPLACE_MANIFEST_PATH}` of {source}")
        }
    }
}

/// What `marketplace update` did to one marketplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// A new commit (or file) was fetched.
    Updated,
    /// The remote had nothing new; only `lastUpdated` changed.
    UpToDate,
    /// A local marketplace was re-read and is valid.
    Revalidated,
}

/// `pm marketplace update <name>`: git sources compare the remote head with the clone's
/// (ls-remote) and re-clone only when it moved; a re-clone whose marketplace.json is broken
/// is discarded and the old clone stays (unlike the reference); URL sources are downloaded
/// again; local sources are re-validated (reference-lifecycle.md §4).
pub fn update(env: &Environment, name: &str, reporter: &dyn Reporter) -> Result<UpdateOutcome> {
    let known = store::load_known(&env.locations)?;
    let Some(entry) = known.marketplaces.get(name).cloned() else {
        return Err(Error::MarketplaceNotFound {
            name: name.to_string(),
            available: known.marketplaces.iter().map(|(n, _)| n.clone()).collect(),
        });
    };
    let outcome = match &entry.source {
        MarketplaceSource::Directory { .. } | MarketplaceSource::File { .. } => {
            let fetched = fetch(env, &entry.source, reporter)?;
            drop(fetched);
            UpdateOutcome::Revalidated
        }
        MarketplaceSource::Github { .. } | MarketplaceSource::Git { .. } => {
            let local_head = git::head_commit(Path::new(&entry.install_location));
            // Ask each URL in turn (HTTPS, then SSH for GitHub); the first error is the one reported.
            let mut remote_head = None;
            let mut first_error = None;
            for url in clone_urls(&entry.source) {
                match git::remote_head(&url, entry.source.reference(), &env.git) {
                    Ok(head) => {
                        remote_head = Some(head);
                        break;
                    }
                    Err(source) => {
                        if first_error.is_none() {
                            let url = pm_core::source::redact_credentials(&url).unwrap_or(url);
                            first_error = Some(Error::Git { url, source });
                        }
                    }
                }
            }
            if remote_head.is_none()
                && let Some(error) = first_error
            {
                return Err(error);
            }
            if local_head.is_some()
                && local_head == remote_head
                && Path::new(&entry.install_location).is_dir()
            {
                UpdateOutcome::UpToDate
            } else {
                let fetched = fetch(env, &entry.source, reporter)?;
                if fetched.manifest.name != name {
                    reporter.warn(&format!(
                        "the marketplace now calls itself `{}`; pm keeps the name `{name}`",
                        fetched.manifest.name
                    ));
                }
                let fetched = Fetched {
                    install_location: PathBuf::from(&entry.install_location),
                    ..fetched
                };
                let _lock = env.lock(reporter)?;
                fetched.commit(env)?;
                UpdateOutcome::Updated
            }
        }
        MarketplaceSource::Url { .. } => {
            let fetched = fetch(env, &entry.source, reporter)?;
            let fetched = Fetched {
                install_location: PathBuf::from(&entry.install_location),
                ..fetched
            };
            let _lock = env.lock(reporter)?;
            fetched.commit(env)?;
            UpdateOutcome::Updated
        }
    };
    let _lock = env.lock(reporter)?;
    let mut known = store::load_known(&env.locations)?;
    if let Some(entry) = known.marketplaces.get_mut(name) {
        entry.last_updated = Some(iso8601(SystemTime::now()));
    }
    store::save_known(&env.locations, &known)?;
    Ok(outcome)
}

/// What `marketplace remove` did.
#[derive(Debug, Clone, Default)]
pub struct RemoveOutcome {
    /// Only this scope's declaration was removed; the marketplace stays known.
    pub partial_scope: Option<Scope>,
    /// Plugins uninstalled with it (all scopes), as ids.
    pub uninstalled: Vec<String>,
}

/// `pm marketplace remove <name> [--scope S]` (reference-lifecycle.md §3). With a scope,
/// only that declaration goes, unless it was the last one. A full removal drops the
/// declarations of every scope, the `known_marketplaces.json` entry and the clone (never a
/// local directory), and uninstalls every plugin of the marketplace in every scope: records,
/// `enabledPlugins` entries and data directories go, cache directories are marked
/// `.orphaned_at`.
pub fn remove(
    env: &Environment,
    name: &str,
    scope: Option<Scope>,
    reporter: &dyn Reporter,
) -> Result<RemoveOutcome> {
    let _lock = env.lock(reporter)?;
    let mut known = store::load_known(&env.locations)?;
    let mut settings: Vec<(Scope, SettingsFile)> = Vec::new();
    for s in Scope::EDITABLE {
        // A broken settings file stops a full removal (nothing is changed); with --scope,
        // only the named scope must be readable.
        match SettingsFile::open(&env.locations, s) {
            Ok(file) => settings.push((s, file)),
            Err(error) if scope.is_some_and(|wanted| wanted != s) => {
                reporter.warn(&format!("{error}"));
            }
            Err(error) => return Err(error),
        }
    }
    // Project and local settings may be the same file as user settings (cwd = HOME).
    let declared_in: Vec<Scope> = settings
        .iter()
        .filter(|(_, f)| f.declared_source(name).is_some())
        .map(|(s, _)| *s)
        .collect();
    if known.marketplaces.get(name).is_none() && declared_in.is_empty() {
        return Err(Error::MarketplaceNotFound {
            name: name.to_string(),
            available: Vec::new(),
        });
    }
    if let Some(scope) = scope {
        if !declared_in.contains(&scope) {
            return Err(Error::MarketplaceNotDeclared {
                name: name.to_string(),
                scope,
            });
        }
        let others_declare = declared_in
            .iter()
            .any(|s| *s != scope && settings_path(env, *s) != settings_path(env, scope));
        if others_declare {
            if let Some((_, file)) = settings.iter_mut().find(|(s, _)| *s == scope) {
                file.undeclare_marketplace(name)?;
                file.save()?;
            }
            return Ok(RemoveOutcome {
                partial_scope: Some(scope),
                uninstalled: Vec::new(),
            });
        }
    }

    // Full removal.
    let mut installed = store::load_installed(&env.locations)?;
    let suffix = format!("@{name}");
    let ids: Vec<String> = installed
        .plugins
        .iter()
        .filter(|(id, _)| id.ends_with(&suffix))
        .map(|(id, _)| id.clone())
        .collect();
    let mut orphan_candidates = Vec::new();
    for id in &ids {
        if let Some(records) = installed.plugins.remove(id) {
            orphan_candidates.extend(records.into_iter().map(|r| r.install_path));
        }
    }
    for (_, file) in settings.iter_mut() {
        file.undeclare_marketplace(name)?;
        for id in &ids {
            file.remove_enabled(id)?;
        }
        // Entries for plugins of this marketplace that were enabled but never installed.
        let enabled: Vec<String> = file
            .document()
            .get(&["enabledPlugins"])
            .and_then(|v| v.as_object().map(|o| o.keys().cloned().collect()))
            .unwrap_or_default();
        for id in enabled.iter().filter(|id| id.ends_with(&suffix)) {
            file.remove_enabled(id)?;
        }
    }
    let entry = known.marketplaces.remove(name);
    store::save_installed(&env.locations, &installed)?;
    store::save_known(&env.locations, &known)?;
    let mut saved = Vec::new();
    for (_, file) in &settings {
        if !saved.contains(&file.path().to_path_buf()) {
            file.save()?;
            saved.push(file.path().to_path_buf());
        }
    }
    if let Some(entry) = entry
        && matches!(
            entry.source,
            MarketplaceSource::Github { .. }
                | MarketplaceSource::Git { .. }
                | MarketplaceSource::Url { .. }
        )
    {
        let location = PathBuf::from(&entry.install_location);
        let marketplaces = env.locations.marketplaces_dir();
        if location.starts_with(&marketplaces) && fs_err::symlink_metadata(&location).is_ok() {
            crate::copy::remove_tree(&location, &marketplaces).map_err(|source| Error::Copy {
                id: name.to_string(),
                source,
            })?;
        }
    }
    for path in orphan_candidates {
        crate::plugins::mark_orphaned_if_unused(env, &installed, &path)?;
    }
    for id in &ids {
        if let Some(parsed) = pm_core::id::PluginId::parse_key(id) {
            crate::plugins::remove_data_dir(env, &parsed)?;
        }
    }
    Ok(RemoveOutcome {
        partial_scope: None,
        uninstalled: ids,
    })
}

fn settings_path(env: &Environment, scope: Scope) -> PathBuf {
    env.locations.settings_file(scope)
}
