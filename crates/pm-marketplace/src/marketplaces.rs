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
    parse_manifest_bytes(&bytes, path, reporter)
}

/// Parses the bytes of a marketplace.json read from `path` (named in errors and warnings),
/// warning on invalid UTF-8.
fn parse_manifest_bytes(
    bytes: &[u8],
    path: &Path,
    reporter: &dyn Reporter,
) -> Result<MarketplaceManifest> {
    let (text, lossy) = decode_utf8_lossy(bytes);
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
    clone_into_temp_unless(env, source, parent, None, reporter)?
        .ok_or_else(|| Error::NotAMarketplacePath(parent.to_path_buf()))
}

/// [`clone_into_temp`], unless the remote still points at `unless_at` (the commit the caller
/// has): then `None`, and nothing was fetched (see [`CloneRequest::unless_at`]).
pub(crate) fn clone_into_temp_unless(
    env: &Environment,
    source: &MarketplaceSource,
    parent: &Path,
    unless_at: Option<&str>,
    reporter: &dyn Reporter,
) -> Result<Option<TempClone>> {
    clone_urls_into_temp(
        env,
        source,
        &clone_urls(source),
        parent,
        unless_at,
        None,
        reporter,
    )
}

/// [`clone_into_temp_unless`] trying only `urls` (of `source`), and reporting `first_error`
/// (an earlier attempt's) when they all fail.
fn clone_urls_into_temp(
    env: &Environment,
    source: &MarketplaceSource,
    urls: &[String],
    parent: &Path,
    unless_at: Option<&str>,
    mut first_error: Option<Error>,
    reporter: &dyn Reporter,
) -> Result<Option<TempClone>> {
    let created = CreatedDirs::create(parent)?;
    for url in urls {
        let temp = tempfile::Builder::new()
            .prefix(".clone-")
            .tempdir_in(parent)?;
        let path = temp.path().join("repo");
        let shown = pm_core::source::redact_credentials(url).unwrap_or_else(|| url.clone());
        reporter.status(&format!(
            "{} `{shown}`{}",
            if unless_at.is_some() {
                "Fetching"
            } else {
                "Cloning"
            },
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
            unless_at,
        };
        let result = git::clone(&request, &env.git, &mut |progress| {
            reporter.fetch_progress(progress)
        });
        reporter.fetch_finished();
        match result {
            Ok(cloned) if !cloned.fetched => return Ok(None),
            Ok(cloned) => {
                return Ok(Some(TempClone {
                    temp,
                    path,
                    head: cloned.head,
                    _created: created,
                }));
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
/// declare it in the settings of `scope` (reference-lifecycle.md §1). Managed settings'
/// `strictKnownMarketplaces` / `blockedMarketplaces` are checked first: a source they do not
/// allow is refused before anything is fetched or written ([`Error::SourceBlocked`]). A
/// marketplace that managed settings declare with the same source is recorded with
/// `"declaredByManagedSettings": true` (reference-advanced.md §7).
pub fn add(
    env: &Environment,
    source: MarketplaceSource,
    scope: Scope,
    reporter: &dyn Reporter,
) -> Result<AddOutcome> {
    add_inner(env, source, AddMode::Declare(scope), reporter)
}

/// Adds marketplace `name` from the source a settings file declares for it
/// (`extraKnownMarketplaces`) when `known_marketplaces.json` does not have it yet, without
/// writing any declaration (DEVIATIONS 9). `Ok(None)` when no settings file declares `name`
/// or it is known already. Errors as [`add`], and [`Error::DeclaredNameMismatch`] when the
/// source holds a marketplace with another name (nothing is written then).
pub fn add_declared(
    env: &Environment,
    name: &str,
    reporter: &dyn Reporter,
) -> Result<Option<AddOutcome>> {
    let Some(declared) = declared_only(env, reporter)?
        .into_iter()
        .find(|d| d.name == name)
    else {
        return Ok(None);
    };
    add_inner(
        env,
        declared.source,
        AddMode::FromDeclaration {
            name: declared.name,
            scope: declared.scope,
        },
        reporter,
    )
    .map(Some)
}

/// What [`add_inner`] writes into settings.
enum AddMode {
    /// `marketplace add --scope S`: declare the marketplace in S's settings.
    Declare(Scope),
    /// Adding a marketplace `scope`'s settings declare as `name`: no settings write, and the
    /// source must hold a marketplace of that name.
    FromDeclaration { name: String, scope: Scope },
}

impl AddMode {
    fn scope(&self) -> Scope {
        match self {
            AddMode::Declare(scope) | AddMode::FromDeclaration { scope, .. } => *scope,
        }
    }
    fn declare_in(&self) -> Option<Scope> {
        match self {
            AddMode::Declare(scope) => Some(*scope),
            AddMode::FromDeclaration { .. } => None,
        }
    }
    fn check_name(&self, actual: &str) -> Result<()> {
        match self {
            AddMode::FromDeclaration { name, scope } if name != actual => {
                Err(Error::DeclaredNameMismatch {
                    declared: name.clone(),
                    actual: actual.to_string(),
                    scope: *scope,
                })
            }
            _ => Ok(()),
        }
    }
}

fn add_inner(
    env: &Environment,
    source: MarketplaceSource,
    mode: AddMode,
    reporter: &dyn Reporter,
) -> Result<AddOutcome> {
    check_policy(env, &source, reporter)?;
    let scope = mode.scope();
    // Refuse early (nothing fetched, nothing written) when the target settings file is broken.
    if let Some(scope) = mode.declare_in() {
        SettingsFile::open(&env.locations, scope)?;
    }
    let known = store::load_known(&env.locations)?;

    // Same source already known: nothing to fetch, only the declaration to add.
    if let Some((name, _)) = known
        .marketplaces
        .iter()
        .find(|(_, entry)| entry.source == source)
    {
        let name = name.clone();
        mode.check_name(&name)?;
        let _lock = env.lock(reporter)?;
        if let Some(scope) = mode.declare_in() {
            let mut settings = SettingsFile::open(&env.locations, scope)?;
            settings.declare_marketplace(&name, &source.to_value())?;
            settings.save()?;
        }
        if managed_declares(env, &name, &source) {
            let mut known = store::load_known(&env.locations)?;
            if let Some(entry) = known.marketplaces.get_mut(&name)
                && entry.extra.get(DECLARED_BY_MANAGED) != Some(&serde_json::Value::Bool(true))
            {
                entry
                    .extra
                    .insert(DECLARED_BY_MANAGED.into(), serde_json::Value::Bool(true));
                store::save_known(&env.locations, &known)?;
            }
        }
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
    mode.check_name(&name)?;
    // The declaration, tried on a copy first: a settings file pm cannot edit is refused before
    // anything is moved into place or recorded.
    if let Some(scope) = mode.declare_in() {
        SettingsFile::open(&env.locations, scope)?
            .declare_marketplace(&name, &source.to_value())?;
    }

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
    let mut extra = previous
        .as_ref()
        .map(|p| p.extra.clone())
        .unwrap_or_default();
    if managed_declares(env, &name, &source) {
        extra.insert(DECLARED_BY_MANAGED.into(), serde_json::Value::Bool(true));
    }
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
    if let Some(scope) = mode.declare_in() {
        let mut settings = SettingsFile::open(&env.locations, scope)?;
        settings.declare_marketplace(&name, &source.to_value())?;
        settings.save()?;
    }
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

/// The `known_marketplaces.json` key Claude Code writes on marketplaces that managed settings
/// declare (reference-advanced.md §0, §7).
pub const DECLARED_BY_MANAGED: &str = "declaredByManagedSettings";

/// Whether managed settings declare marketplace `name` with `source` (compared without
/// `sparsePaths`).
fn managed_declares(env: &Environment, name: &str, source: &MarketplaceSource) -> bool {
    store::load_managed(&env.locations.managed_root)
        .declared_marketplaces()
        .into_iter()
        .filter(|(declared, _)| declared == name)
        .filter_map(|(_, declaration)| declared_source(env, &declaration).ok())
        .any(|declared| declared.location() == source.location())
}

/// A marketplace that a settings file declares (`extraKnownMarketplaces`) and
/// `known_marketplaces.json` does not have yet (DEVIATIONS 9).
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredMarketplace {
    /// The declared name.
    pub name: String,
    /// The scope whose declaration is used: the most specific one declaring the name, in the
    /// order managed, local, project, user.
    pub scope: Scope,
    /// The declared source (relative local paths made absolute against the cwd).
    pub source: MarketplaceSource,
}

/// The `source` of an `extraKnownMarketplaces` declaration (`{"source": {...}}`).
fn declared_source(
    env: &Environment,
    declaration: &serde_json::Value,
) -> std::result::Result<MarketplaceSource, String> {
    let value = declaration
        .get("source")
        .ok_or_else(|| "the declaration has no `source`".to_string())?;
    let source: MarketplaceSource =
        serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    Ok(match source {
        MarketplaceSource::Directory { path } => MarketplaceSource::Directory {
            path: absolute_path(env, &path).to_string_lossy().into_owned(),
        },
        MarketplaceSource::File { path } => MarketplaceSource::File {
            path: absolute_path(env, &path).to_string_lossy().into_owned(),
        },
        other => other,
    })
}

/// Every marketplace declared in some settings file (user, project, local, managed) and not in
/// `known_marketplaces.json`, one per name (see [`DeclaredMarketplace::scope`]), in the order
/// managed, local, project, user, then declaration order. Declarations whose source pm cannot
/// read are skipped with a warning.
pub fn declared_only(
    env: &Environment,
    reporter: &dyn Reporter,
) -> Result<Vec<DeclaredMarketplace>> {
    let known = store::load_known(&env.locations)?;
    let settings = store::load_settings(&env.locations);
    let mut out: Vec<DeclaredMarketplace> = Vec::new();
    for scope in [Scope::Managed, Scope::Local, Scope::Project, Scope::User] {
        let Some(content) = settings.get(scope) else {
            continue;
        };
        for (name, declaration) in content.declared_marketplaces() {
            if known.marketplaces.get(&name).is_some() || out.iter().any(|d| d.name == name) {
                continue;
            }
            match declared_source(env, &declaration) {
                Ok(source) => out.push(DeclaredMarketplace {
                    name,
                    scope,
                    source,
                }),
                Err(reason) => reporter.warn(&format!(
                    "{scope} settings declare marketplace `{name}` with a source pm cannot read: {reason}"
                )),
            }
        }
    }
    Ok(out)
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
    check_policy(env, &entry.source, reporter)?;
    let outcome = match &entry.source {
        MarketplaceSource::Directory { .. } | MarketplaceSource::File { .. } => {
            let fetched = fetch(env, &entry.source, reporter)?;
            drop(fetched);
            UpdateOutcome::Revalidated
        }
        MarketplaceSource::Github { .. } | MarketplaceSource::Git { .. } => {
            // One refresh for `marketplace update` and `pm update`: it also writes `lastUpdated`.
            return Ok(match refresh_clone(env, name, &entry, reporter)? {
                Refreshed::InPlace | Refreshed::Replaced(_) => UpdateOutcome::Updated,
                Refreshed::UpToDate => UpdateOutcome::UpToDate,
            });
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

/// How [`refresh_clone`] refreshed a git marketplace.
pub(crate) enum Refreshed {
    /// The remote still points at the commit on disk: nothing was fetched.
    UpToDate,
    /// The new commit was fetched into the clone and checked out there.
    InPlace,
    /// The marketplace was cloned afresh and the clone swapped in. The old clone is inside the
    /// temporary directory, removed when this is dropped.
    Replaced(TempClone),
}

/// `marketplace update` of a git marketplace, also for `update` (one connection: the ref
/// listing that decides whether anything moved is the one the fetch uses).
///
/// * **In place** (`DEVIATIONS.md`, refresh): when the clone on disk is a plain clone of one of
///   the source's URLs with its branch checked out, the new commit is fetched into it
///   ([`git::fetch_into`]: only the objects it lacks), its marketplace.json is read from the
///   object database and must parse (else nothing on disk changes), then, under the state lock,
///   it is checked out over the old one (only changed files are written; local changes,
///   untracked and ignored files go, as with a fresh clone) and `lastUpdated` written.
/// * **Afresh**, as Claude Code always does (`reference-lifecycle.md` §4): a sparse clone, a
///   detached HEAD, another remote URL or default branch, a clone that accumulated
///   [`git::MAX_PACKS_FOR_FETCH_INTO`] packs, the git-CLI backend, or an in-place fetch that
///   failed (then from the source's other URLs when the clone's could not be reached, from
///   all of them after any other failure, e.g. a ref locked by a concurrent refresh): a clone
///   into a temporary directory whose marketplace.json must parse (else the old clone stays),
///   then, under the state lock, the old clone moved aside, the new one into place and
///   `lastUpdated` written. The old clone is returned ([`Refreshed::Replaced`]) so that its
///   removal happens outside the lock, and for `update --all` after the plugins were copied:
///   removing a tree is not free, and parallel refreshes would otherwise queue behind each
///   other's removals.
pub(crate) fn refresh_clone(
    env: &Environment,
    name: &str,
    entry: &KnownMarketplace,
    reporter: &dyn Reporter,
) -> Result<Refreshed> {
    let location = PathBuf::from(&entry.install_location);
    let parent = env.locations.marketplaces_dir();
    // Clones of runs that were killed before they removed them.
    crate::fsutil::remove_stale(&parent, true, |name| name.starts_with(".clone-"));
    // The commit on disk; a refresh fetches only when the remote moved from it.
    let local_head = location
        .is_dir()
        .then(|| git::head_commit(&location))
        .flatten();
    let urls = clone_urls(&entry.source);
    let mut remaining = urls.clone();
    let mut in_place_error = None;
    // Fetch into the clone when it is a plain clone of one of the source's URLs.
    let origin = local_head
        .as_ref()
        .and_then(|_| git::in_place_origin(&location, &env.git))
        .filter(|origin| urls.contains(origin));
    if let Some(url) = &origin {
        let shown = pm_core::source::redact_credentials(url).unwrap_or_else(|| url.clone());
        reporter.status(&format!("Fetching `{shown}`"));
        let fetched = git::fetch_into(
            url,
            entry.source.reference(),
            &location,
            &env.git,
            &mut |progress| reporter.fetch_progress(progress),
        );
        reporter.fetch_finished();
        match fetched {
            // The remote's default branch is not the one checked out: afresh.
            Ok(git::FetchedInto::NotInPlace(_)) => {}
            Ok(git::FetchedInto::Current { .. }) => {
                mark_refreshed(env, name, reporter)?;
                return Ok(Refreshed::UpToDate);
            }
            Ok(git::FetchedInto::Fetched { head }) => {
                check_fetched_manifest(name, &location, &head, reporter)?;
                let _lock = env.lock(reporter)?;
                git::check_out_fetched(&location, &head).map_err(|source| Error::Git {
                    url: shown.clone(),
                    source,
                })?;
                write_last_updated(env, name)?;
                return Ok(Refreshed::InPlace);
            }
            Err(source) => {
                // A missing branch or tag is missing everywhere; when the clone's URL could
                // not be reached, a fresh clone tries the others; anything else (a ref locked
                // by a concurrent refresh, a damaged clone) is worth a fresh clone from all.
                remaining = match source {
                    git::GitError::ReferenceNotFound { .. } => Vec::new(),
                    git::GitError::Network { .. }
                    | git::GitError::RepositoryNotFound { .. }
                    | git::GitError::Authentication { .. } => {
                        urls.iter().filter(|other| *other != url).cloned().collect()
                    }
                    _ => urls.clone(),
                };
                in_place_error = Some(Error::Git { url: shown, source });
            }
        }
    }
    let clone = match clone_urls_into_temp(
        env,
        &entry.source,
        &remaining,
        &parent,
        local_head.as_deref(),
        in_place_error,
        reporter,
    )? {
        None => None,
        Some(clone) => {
            let fetched = KnownMarketplace {
                install_location: clone.path.to_string_lossy().into_owned(),
                ..entry.clone()
            };
            let manifest = load_manifest(&fetched, reporter)?;
            warn_if_renamed(name, &manifest, reporter);
            Some(clone)
        }
    };
    let _lock = env.lock(reporter)?;
    if let Some(clone) = &clone {
        if fs_err::symlink_metadata(&location).is_ok() {
            fs_err::rename(&location, clone.temp.path().join("old"))?;
        }
        fs_err::rename(&clone.path, &location)?;
    }
    write_last_updated(env, name)?;
    Ok(clone.map_or(Refreshed::UpToDate, Refreshed::Replaced))
}

/// The marketplace.json of `commit`, fetched into the clone at `location` but not checked out,
/// must parse: else the refresh fails and the clone stays as it was.
fn check_fetched_manifest(
    name: &str,
    location: &Path,
    commit: &str,
    reporter: &dyn Reporter,
) -> Result<()> {
    let path = location.join(MARKETPLACE_MANIFEST_PATH);
    let shown = || location.display().to_string();
    let bytes = match git::read_file_at(location, commit, MARKETPLACE_MANIFEST_PATH) {
        Ok(git::FileAt::File(bytes)) => bytes,
        Ok(git::FileAt::Missing | git::FileAt::NotAFile) => {
            return Err(Error::ManifestMissing(path));
        }
        Err(source) => {
            return Err(Error::Git {
                url: shown(),
                source,
            });
        }
    };
    let manifest = parse_manifest_bytes(&bytes, &path, reporter)?;
    warn_if_renamed(name, &manifest, reporter);
    Ok(())
}

/// A marketplace keeps the name it was added under when its marketplace.json renames it.
fn warn_if_renamed(name: &str, manifest: &MarketplaceManifest, reporter: &dyn Reporter) {
    if manifest.name != name {
        reporter.warn(&format!(
            "the marketplace now calls itself `{}`; pm keeps the name `{name}`",
            manifest.name
        ));
    }
}

/// `lastUpdated` of marketplace `name` set to now, under the state lock.
fn mark_refreshed(env: &Environment, name: &str, reporter: &dyn Reporter) -> Result<()> {
    let _lock = env.lock(reporter)?;
    write_last_updated(env, name)
}

/// `lastUpdated` of marketplace `name` set to now; the caller holds the state lock.
fn write_last_updated(env: &Environment, name: &str) -> Result<()> {
    let mut known = store::load_known(&env.locations)?;
    if let Some(entry) = known.marketplaces.get_mut(name) {
        entry.last_updated = Some(iso8601(SystemTime::now()));
    }
    store::save_known(&env.locations, &known)
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

// ---- managed marketplace policy ------------------------------------------------------------

/// Refuses `source` when managed settings do not allow it (reference-advanced.md §7,
/// DEVIATIONS 8): a `blockedMarketplaces` entry matches it, or `strictKnownMarketplaces` is
/// present and none of its entries matches it (an empty list allows nothing). Entries are
/// source objects compared without `sparsePaths` (`github` repos case-insensitively, with an
/// `owner/*` wildcard; `git` and `url` URLs with the host lower-cased; `directory` and `file`
/// paths normalized), or `{"source":"hostPattern","hostPattern":<regex>}` matched against the
/// source's host (`github.com` for GitHub sources) and
/// `{"source":"pathPattern","pathPattern":<regex>}` against a local source's path, as Claude
/// Code matches them. A `strictKnownMarketplaces` that is not a list allows nothing;
/// `allowedMarketplaces` is read as `strictKnownMarketplaces` when that is absent.
pub fn check_policy(
    env: &Environment,
    source: &MarketplaceSource,
    reporter: &dyn Reporter,
) -> Result<()> {
    let managed = store::load_managed(&env.locations.managed_root);
    policy_verdict(&managed, source, reporter)
}

fn policy_verdict(
    managed: &pm_core::settings::SettingsContent,
    source: &MarketplaceSource,
    reporter: &dyn Reporter,
) -> Result<()> {
    let Some(settings) = managed.object() else {
        return Ok(());
    };
    let label = policy_label(&source.to_value());
    if let Some(serde_json::Value::Array(blocked)) = settings.get("blockedMarketplaces")
        && blocked
            .iter()
            .any(|entry| policy_entry_matches(entry, source, true, reporter))
    {
        return Err(Error::SourceBlocked {
            label,
            host: None,
            allowed: None,
        });
    }
    // `allowedMarketplaces` is Claude Code's alias of `strictKnownMarketplaces` (ignored when
    // both are set).
    let list = settings
        .get("strictKnownMarketplaces")
        .or_else(|| settings.get("allowedMarketplaces"));
    let entries = match list {
        None => return Ok(()),
        Some(serde_json::Value::Array(entries)) => entries.as_slice(),
        Some(_) => {
            reporter.warn(
                "`strictKnownMarketplaces` in managed settings is not a list; no marketplace is allowed",
            );
            &[]
        }
    };
    if entries
        .iter()
        .any(|entry| policy_entry_matches(entry, source, false, reporter))
    {
        return Ok(());
    }
    Err(Error::SourceBlocked {
        label,
        host: source_host(source),
        allowed: Some(entries.iter().map(policy_label).collect()),
    })
}

/// Claude Code's short label of a source object: `github:o/r@ref`, `git:<url>@ref`, `<url>`,
/// `file:<path>`, `dir:<path>`, `hostPattern:<re>`, `pathPattern:<re>`.
fn policy_label(value: &serde_json::Value) -> String {
    let field = |key: &str| value.get(key).and_then(|v| v.as_str()).unwrap_or_default();
    let with_ref = |base: String| match value.get("ref").and_then(|v| v.as_str()) {
        Some(r) if !r.is_empty() => format!("{base}@{r}"),
        _ => base,
    };
    match field("source") {
        "github" => with_ref(format!("github:{}", field("repo"))),
        "git" => with_ref(format!(
            "git:{}",
            pm_core::source::redact_credentials(field("url"))
                .unwrap_or_else(|| field("url").to_string())
        )),
        "url" => pm_core::source::redact_credentials(field("url"))
            .unwrap_or_else(|| field("url").to_string()),
        "file" => format!("file:{}", field("path")),
        "directory" => format!("dir:{}", field("path")),
        "hostPattern" => format!("hostPattern:{}", field("hostPattern")),
        "pathPattern" => format!("pathPattern:{}", field("pathPattern")),
        _ => "unknown source".into(),
    }
}

/// The host a source is fetched from: `github.com` for GitHub sources, the URL's host
/// (lower-cased) for git and url sources; none for local ones.
fn source_host(source: &MarketplaceSource) -> Option<String> {
    match source {
        MarketplaceSource::Github { .. } => Some("github.com".into()),
        MarketplaceSource::Git { url, .. } | MarketplaceSource::Url { url } => url_host(url),
        MarketplaceSource::Directory { .. } | MarketplaceSource::File { .. } => None,
    }
}

/// The host of `scheme://[user@]host[:port]/…` or of scp-like `user@host:path`, lower-cased.
fn url_host(url: &str) -> Option<String> {
    let host = match url.split_once("://") {
        Some((_, rest)) => {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if let Some(bracketed) = host_port.strip_prefix('[') {
                bracketed.split(']').next().unwrap_or_default()
            } else {
                host_port.split(':').next().unwrap_or_default()
            }
        }
        None => {
            let (before_colon, _) = url.split_once(':')?;
            before_colon
                .rsplit_once('@')
                .map_or(before_colon, |(_, h)| h)
        }
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A URL with its scheme and host lower-cased and credentials dropped, for comparisons.
fn normalized_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let authority = &rest[..end];
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!(
                "{}://{}{}",
                scheme.to_ascii_lowercase(),
                host.to_ascii_lowercase(),
                &rest[end..]
            )
        }
        None => match url.split_once(':') {
            Some((user_host, path)) => {
                let (user, host) = user_host
                    .rsplit_once('@')
                    .map_or(("", user_host), |(u, h)| (u, h));
                let user = if user.is_empty() {
                    String::new()
                } else {
                    format!("{user}@")
                };
                format!("{user}{}:{path}", host.to_ascii_lowercase())
            }
            None => url.to_string(),
        },
    }
}

/// `owner/repo` of a git URL on github.com, when it is one.
fn github_repo_of(url: &str) -> Option<String> {
    let normalized = normalized_url(url);
    let path = normalized
        .strip_prefix("https://github.com/")
        .or_else(|| normalized.strip_prefix("http://github.com/"))
        .or_else(|| normalized.strip_prefix("git@github.com:"))
        .or_else(|| normalized.strip_prefix("ssh://git@github.com/"))?;
    let path = path.trim_end_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    (path.split('/').count() == 2).then(|| path.to_string())
}

/// Whether a policy `repo` (`owner/repo`, or `owner/*`) matches `repo`, case-insensitively.
fn repo_matches(pattern: &str, repo: &str) -> bool {
    match pattern.strip_suffix("/*") {
        Some(owner) => repo.split_once('/').is_some_and(|(o, r)| {
            o.eq_ignore_ascii_case(owner) && !r.is_empty() && !r.contains('/')
        }),
        None => pattern.eq_ignore_ascii_case(repo),
    }
}

/// Whether one `strictKnownMarketplaces` / `blockedMarketplaces` entry matches `source`.
/// `cross_kinds` (the block list) also matches a `github` entry against a github.com git URL
/// and the reverse, as Claude Code does.
fn policy_entry_matches(
    entry: &serde_json::Value,
    source: &MarketplaceSource,
    cross_kinds: bool,
    reporter: &dyn Reporter,
) -> bool {
    let field = |key: &str| entry.get(key).and_then(|v| v.as_str());
    let same_ref =
        || field("ref").filter(|r| !r.is_empty()) == source.reference().filter(|r| !r.is_empty());
    let regex = |key: &str, text: Option<String>| {
        let (Some(pattern), Some(text)) = (field(key), text) else {
            return false;
        };
        match pattern::Pattern::compile(pattern) {
            Ok(compiled) => compiled.is_match(&text),
            Err(reason) => {
                reporter.warn(&format!(
                    "managed settings: the {key} `{pattern}` cannot be used ({reason}); it matches nothing"
                ));
                false
            }
        }
    };
    match (field("source").unwrap_or_default(), source) {
        ("hostPattern", _) => regex("hostPattern", source_host(source)),
        (
            "pathPattern",
            MarketplaceSource::Directory { path } | MarketplaceSource::File { path },
        ) => regex("pathPattern", Some(path.clone())),
        ("github", MarketplaceSource::Github { repo, .. }) => {
            field("repo").is_some_and(|pattern| repo_matches(pattern, repo)) && same_ref()
        }
        ("github", MarketplaceSource::Git { url, .. }) if cross_kinds => {
            field("repo").is_some_and(|pattern| {
                github_repo_of(url).is_some_and(|repo| repo_matches(pattern, &repo))
            }) && same_ref()
        }
        ("git", MarketplaceSource::Git { url, .. }) => {
            field("url").is_some_and(|wanted| normalized_url(wanted) == normalized_url(url))
                && same_ref()
        }
        ("git", MarketplaceSource::Github { repo, .. }) if cross_kinds => {
            field("url")
                .and_then(github_repo_of)
                .is_some_and(|wanted| wanted.eq_ignore_ascii_case(repo))
                && same_ref()
        }
        ("url", MarketplaceSource::Url { url }) => {
            field("url").is_some_and(|wanted| normalized_url(wanted) == normalized_url(url))
        }
        ("directory", MarketplaceSource::Directory { path })
        | ("file", MarketplaceSource::File { path }) => field("path")
            .is_some_and(|wanted| normalize(Path::new(wanted)) == normalize(Path::new(path))),
        _ => false,
    }
}

/// The regular expressions of `hostPattern` / `pathPattern` policy entries: a backtracking
/// matcher for the JavaScript syntax such patterns use (literals, `.`, classes `[...]` with
/// ranges and negation, `\d \w \s` and their negations, anchors `^ $`, groups `(...)` and
/// `(?:...)`, alternation `|`, quantifiers `* + ? {n} {n,} {n,m}` and their lazy forms).
/// Lookarounds, backreferences and word boundaries are refused (the entry then matches
/// nothing, as an invalid pattern does in Claude Code). `is_match` searches anywhere in the
/// text, as JavaScript's `RegExp.test`.
mod pattern {
    use std::cell::Cell;

    /// Steps after which a match attempt gives up (no match): policy patterns are tiny and
    /// the texts are host names and paths, so only a pathological pattern gets near it.
    const STEP_LIMIT: usize = 1_000_000;

    #[derive(Debug, Clone)]
    enum Node {
        Char(char),
        Any,
        Class {
            ranges: Vec<(char, char)>,
            negated: bool,
        },
        Start,
        End,
        Group(Vec<Vec<Node>>),
        Repeat {
            node: Box<Node>,
            min: usize,
            max: Option<usize>,
            greedy: bool,
        },
    }

    /// A compiled pattern.
    #[derive(Debug, Clone)]
    pub struct Pattern {
        alternatives: Vec<Vec<Node>>,
    }

    struct Parser {
        chars: Vec<char>,
        pos: usize,
    }

    const DIGIT: &[(char, char)] = &[('0', '9')];
    const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
    const SPACE: &[(char, char)] = &[
        ('\t', '\r'),
        (' ', ' '),
        ('\u{a0}', '\u{a0}'),
        ('\u{2028}', '\u{2029}'),
        ('\u{feff}', '\u{feff}'),
    ];

    impl Parser {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.pos).copied()
        }
        fn eat(&mut self, c: char) -> bool {
            if self.peek() == Some(c) {
                self.pos += 1;
                true
            } else {
                false
            }
        }

        fn alternatives(&mut self) -> Result<Vec<Vec<Node>>, String> {
            let mut alternatives = vec![self.sequence()?];
            while self.eat('|') {
                alternatives.push(self.sequence()?);
            }
            Ok(alternatives)
        }

        fn sequence(&mut self) -> Result<Vec<Node>, String> {
            let mut nodes = Vec::new();
            while let Some(c) = self.peek() {
                if c == '|' || c == ')' {
                    break;
                }
                let atom = self.atom()?;
                nodes.push(self.quantified(atom)?);
            }
            Ok(nodes)
        }

        fn number(&mut self) -> Option<usize> {
            let start = self.pos;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
            self.chars[start..self.pos]
                .iter()
                .collect::<String>()
                .parse()
                .ok()
        }

        /// `{n}`, `{n,}`, `{n,m}` at the cursor (after `{`), or `None` (then `{` is a literal).
        fn braces(&mut self) -> Option<(usize, Option<usize>)> {
            let save = self.pos;
            let parsed = (|| {
                let min = self.number()?;
                let max = if self.eat(',') {
                    if self.peek() == Some('}') {
                        None
                    } else {
                        Some(self.number()?)
                    }
                } else {
                    Some(min)
                };
                self.eat('}').then_some((min, max))
            })();
            if parsed.is_none() {
                self.pos = save;
            }
            parsed
        }

        fn quantified(&mut self, atom: Node) -> Result<Node, String> {
            let (min, max) = match self.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => {
                    self.pos += 1;
                    match self.braces() {
                        Some(bounds) => {
                            self.pos -= 1; // re-consumed below
                            bounds
                        }
                        None => {
                            self.pos -= 1;
                            return Ok(atom);
                        }
                    }
                }
                _ => return Ok(atom),
            };
            self.pos += 1;
            if matches!(atom, Node::Start | Node::End) {
                return Err("nothing to repeat".into());
            }
            if let Some(max) = max
                && max < min
            {
                return Err("numbers out of order in {} quantifier".into());
            }
            let greedy = !self.eat('?');
            Ok(Node::Repeat {
                node: Box::new(atom),
                min,
                max,
                greedy,
            })
        }

        fn atom(&mut self) -> Result<Node, String> {
            let Some(c) = self.peek() else {
                return Err("unexpected end".into());
            };
            self.pos += 1;
            match c {
                '.' => Ok(Node::Any),
                '^' => Ok(Node::Start),
                '$' => Ok(Node::End),
                '*' | '+' | '?' => Err("nothing to repeat".into()),
                '(' => {
                    if self.eat('?') && !self.eat(':') {
                        return Err("lookarounds and named groups are not supported".into());
                    }
                    let alternatives = self.alternatives()?;
                    if !self.eat(')') {
                        return Err("unterminated group".into());
                    }
                    Ok(Node::Group(alternatives))
                }
                '[' => self.class(),
                '\\' => self.escape(),
                '{' => {
                    // A literal `{` unless it starts a valid quantifier (which needs an atom).
                    if self.braces().is_some() {
                        Err("nothing to repeat".into())
                    } else {
                        Ok(Node::Char('{'))
                    }
                }
                other => Ok(Node::Char(other)),
            }
        }

        fn escape(&mut self) -> Result<Node, String> {
            let Some(c) = self.peek() else {
                return Err("\\ at end of pattern".into());
            };
            self.pos += 1;
            let class = |ranges: &[(char, char)], negated| Node::Class {
                ranges: ranges.to_vec(),
                negated,
            };
            Ok(match c {
                'd' => class(DIGIT, false),
                'D' => class(DIGIT, true),
                'w' => class(WORD, false),
                'W' => class(WORD, true),
                's' => class(SPACE, false),
                'S' => class(SPACE, true),
                'n' => Node::Char('\n'),
                't' => Node::Char('\t'),
                'r' => Node::Char('\r'),
                'b' | 'B' => return Err("word boundaries are not supported".into()),
                '1'..='9' => return Err("backreferences are not supported".into()),
                other if other.is_ascii_alphanumeric() => {
                    return Err(format!("the escape \\{other} is not supported"));
                }
                other => Node::Char(other),
            })
        }

        fn class_char(&mut self) -> Result<ClassItem, String> {
            let Some(c) = self.peek() else {
                return Err("unterminated character class".into());
            };
            self.pos += 1;
            if c != '\\' {
                return Ok(ClassItem::Char(c));
            }
            let Some(e) = self.peek() else {
                return Err("unterminated character class".into());
            };
            self.pos += 1;
            Ok(match e {
                'd' => ClassItem::Set(DIGIT),
                'w' => ClassItem::Set(WORD),
                's' => ClassItem::Set(SPACE),
                'n' => ClassItem::Char('\n'),
                't' => ClassItem::Char('\t'),
                'r' => ClassItem::Char('\r'),
                other if other.is_ascii_alphanumeric() => {
                    return Err(format!(
                        "the escape \\{other} is not supported in a character class"
                    ));
                }
                other => ClassItem::Char(other),
            })
        }

        fn class(&mut self) -> Result<Node, String> {
            let negated = self.eat('^');
            let mut ranges = Vec::new();
            loop {
                match self.peek() {
                    None => return Err("unterminated character class".into()),
                    Some(']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => {}
                }
                match self.class_char()? {
                    ClassItem::Set(set) => ranges.extend_from_slice(set),
                    ClassItem::Char(low) => {
                        if self.peek() == Some('-')
                            && self.chars.get(self.pos + 1).is_some_and(|c| *c != ']')
                        {
                            self.pos += 1;
                            match self.class_char()? {
                                ClassItem::Char(high) if high >= low => ranges.push((low, high)),
                                ClassItem::Char(_) => {
                                    return Err("range out of order in character class".into());
                                }
                                ClassItem::Set(set) => {
                                    ranges.push((low, low));
                                    ranges.push(('-', '-'));
                                    ranges.extend_from_slice(set);
                                }
                            }
                        } else {
                            ranges.push((low, low));
                        }
                    }
                }
            }
            Ok(Node::Class { ranges, negated })
        }
    }

    enum ClassItem {
        Char(char),
        Set(&'static [(char, char)]),
    }

    struct Matcher<'a> {
        text: &'a [char],
        steps: Cell<usize>,
    }

    impl Matcher<'_> {
        fn step(&self) -> bool {
            let steps = self.steps.get() + 1;
            self.steps.set(steps);
            steps <= STEP_LIMIT
        }

        fn sequence(&self, nodes: &[Node], at: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
            match nodes.split_first() {
                None => k(at),
                Some((first, rest)) => {
                    self.node(first, at, &mut |next| self.sequence(rest, next, &mut *k))
                }
            }
        }

        fn node(&self, node: &Node, at: usize, k: &mut dyn FnMut(usize) -> bool) -> bool {
            if !self.step() {
                return false;
            }
            let current = self.text.get(at).copied();
            match node {
                Node::Char(c) => current == Some(*c) && k(at + 1),
                Node::Any => {
                    current.is_some_and(|c| !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}'))
                        && k(at + 1)
                }
                Node::Class { ranges, negated } => {
                    current.is_some_and(|c| {
                        ranges.iter().any(|(low, high)| (*low..=*high).contains(&c)) != *negated
                    }) && k(at + 1)
                }
                Node::Start => at == 0 && k(at),
                Node::End => at == self.text.len() && k(at),
                Node::Group(alternatives) => alternatives
                    .iter()
                    .any(|alternative| self.sequence(alternative, at, &mut *k)),
                Node::Repeat {
                    node,
                    min,
                    max,
                    greedy,
                } => self.repeat(node, *min, *max, *greedy, at, 0, k),
            }
        }

        #[allow(clippy::too_many_arguments)]
        fn repeat(
            &self,
            node: &Node,
            min: usize,
            max: Option<usize>,
            greedy: bool,
            at: usize,
            count: usize,
            k: &mut dyn FnMut(usize) -> bool,
        ) -> bool {
            let can_repeat = max.is_none_or(|max| count < max);
            let more = |k: &mut dyn FnMut(usize) -> bool| {
                can_repeat
                    && self.node(node, at, &mut |next| {
                        // An empty iteration past the minimum would loop forever.
                        (next != at || count < min)
                            && self.repeat(node, min, max, greedy, next, count + 1, &mut *k)
                    })
            };
            if count < min {
                more(k)
            } else if greedy {
                more(&mut *k) || k(at)
            } else {
                k(at) || more(k)
            }
        }
    }

    impl Pattern {
        /// Compiles `text`; the error says what is not supported or malformed.
        pub fn compile(text: &str) -> Result<Self, String> {
            let mut parser = Parser {
                chars: text.chars().collect(),
                pos: 0,
            };
            let alternatives = parser.alternatives()?;
            if parser.pos != parser.chars.len() {
                return Err("unmatched `)`".into());
            }
            Ok(Pattern { alternatives })
        }

        /// Whether the pattern matches somewhere in `text`.
        pub fn is_match(&self, text: &str) -> bool {
            let chars: Vec<char> = text.chars().collect();
            let matcher = Matcher {
                text: &chars,
                steps: Cell::new(0),
            };
            let group = Node::Group(self.alternatives.clone());
            (0..=chars.len()).any(|start| matcher.node(&group, start, &mut |_| true))
        }
    }

    #[cfg(test)]
    mod tests {
        use super::Pattern;

        fn m(pattern: &str, text: &str) -> bool {
            Pattern::compile(pattern)
                .unwrap_or_else(|e| panic!("{pattern}: {e}"))
                .is_match(text)
        }

        #[test]
        fn javascript_semantics() {
            assert!(m("github\\.com", "github.com"));
            assert!(m("github\\.com", "xgithub.comx")); // unanchored search
            assert!(!m("^github\\.com$", "github.com.evil"));
            assert!(m("^(github\\.com|gitlab\\.corp)$", "gitlab.corp"));
            assert!(m("^(?:.*\\.)?corp\\.example$", "git.corp.example"));
            assert!(m("^(?:.*\\.)?corp\\.example$", "corp.example"));
            assert!(!m("^(?:.*\\.)?corp\\.example$", "evilcorp.example"));
            assert!(m("^/opt/approved/", "/opt/approved/m1"));
            assert!(!m("^/opt/approved/", "/opt/other"));
            assert!(m("^[a-z0-9-]+\\.internal$", "git-01.internal"));
            assert!(!m("^[^.]+\\.internal$", "a.b.internal"));
            assert!(m("^\\w+\\d{2,3}$", "host42"));
            assert!(!m("^\\w+\\d{2,3}$", "host4"));
            assert!(m("a{2}", "caab"));
            assert!(m("x{", "x{")); // a literal brace
            assert!(m(".*", ""));
            assert!(m("^(a*)*$", "aaaa"));
            assert!(!m("^(a+)+$", "aaaaaaaaaaaaaaaaaaaaaaaaaaaab")); // gives up, no match
            assert!(m("^a.*?b$", "axxb"));
            assert!(!m("[]a]", "a]")); // `[]` is an empty class, as in JavaScript
        }

        #[test]
        fn unsupported_and_malformed_patterns_are_errors() {
            for bad in [
                "(?=x)", "\\bx", "(a", "a)", "*a", "[a", "a{3,1}", "\\1", "[z-a]",
            ] {
                assert!(Pattern::compile(bad).is_err(), "{bad}");
            }
        }
    }
}

#[cfg(test)]
mod policy_tests {
    use super::*;
    use crate::reporter::SilentReporter;
    use pm_core::settings::SettingsContent;

    fn verdict(policy: serde_json::Value, source: &MarketplaceSource) -> Result<()> {
        policy_verdict(
            &SettingsContent::parse(&policy.to_string()),
            source,
            &SilentReporter,
        )
    }

    fn github(repo: &str, reference: Option<&str>) -> MarketplaceSource {
        MarketplaceSource::Github {
            repo: repo.into(),
            reference: reference.map(Into::into),
            sparse_paths: Some(vec![".claude-plugin".into()]),
        }
    }

    fn dir(path: &str) -> MarketplaceSource {
        MarketplaceSource::Directory { path: path.into() }
    }

    #[test]
    fn no_policy_allows_everything() {
        assert!(verdict(serde_json::json!({}), &dir("/m")).is_ok());
    }

    #[test]
    fn an_empty_list_blocks_everything() {
        let error = verdict(
            serde_json::json!({"strictKnownMarketplaces": []}),
            &dir("/m"),
        )
        .expect_err("blocked");
        assert_eq!(error.failure_code(), "source_blocked_by_policy");
        assert_eq!(
            error.to_string(),
            "Marketplace source 'dir:/m' is blocked by enterprise policy. No external marketplaces are allowed."
        );
        let error = verdict(
            serde_json::json!({"strictKnownMarketplaces": [{"source": "directory", "path": "/ok"}]}),
            &github("o/r", None),
        )
        .expect_err("blocked");
        assert_eq!(
            error.to_string(),
            "Marketplace source 'github:o/r' (github.com) is blocked by enterprise policy. Allowed sources: dir:/ok"
        );
    }

    #[test]
    fn entries_match_by_source() {
        let policy = serde_json::json!({"strictKnownMarketplaces": [
            {"source": "directory", "path": "/ok/m/"},
            {"source": "github", "repo": "Acme/Tools", "ref": "v1"},
            {"source": "github", "repo": "team/*"},
            {"source": "git", "url": "https://Git.Example.com/x/m.git"},
            {"source": "url", "url": "https://h.example/m.json"},
            {"source": "file", "path": "/f/m.json"}
        ]});
        for allowed in [
            dir("/ok/m"),
            dir("/ok/./m"),
            github("acme/tools", Some("v1")),
            github("team/anything", None),
            MarketplaceSource::Git {
                url: "https://git.example.com/x/m.git".into(),
                reference: None,
                sparse_paths: None,
            },
            MarketplaceSource::Url {
                url: "https://h.example/m.json".into(),
            },
            MarketplaceSource::File {
                path: "/f/m.json".into(),
            },
        ] {
            assert!(verdict(policy.clone(), &allowed).is_ok(), "{allowed:?}");
        }
        for blocked in [
            dir("/ok/m2"),
            dir("/ok"),
            github("acme/tools", None),
            github("acme/tools", Some("v2")),
            github("team/a/b", None),
            MarketplaceSource::Git {
                url: "https://git.example.com/x/other.git".into(),
                reference: None,
                sparse_paths: None,
            },
            MarketplaceSource::File {
                path: "/ok/m".into(),
            },
        ] {
            assert!(verdict(policy.clone(), &blocked).is_err(), "{blocked:?}");
        }
    }

    #[test]
    fn host_and_path_patterns() {
        let policy = serde_json::json!({"strictKnownMarketplaces": [
            {"source": "hostPattern", "hostPattern": "^(.*\\.)?corp\\.example$"},
            {"source": "pathPattern", "pathPattern": "^/opt/approved/"}
        ]});
        let git = |url: &str| MarketplaceSource::Git {
            url: url.into(),
            reference: None,
            sparse_paths: None,
        };
        assert!(verdict(policy.clone(), &git("https://git.corp.example/a/b.git")).is_ok());
        assert!(verdict(policy.clone(), &git("git@Git.Corp.Example:a/b.git")).is_ok());
        assert!(verdict(policy.clone(), &git("https://user@corp.example:8443/a.git")).is_ok());
        assert!(verdict(policy.clone(), &git("https://evilcorp.example/a.git")).is_err());
        assert!(verdict(policy.clone(), &github("o/r", None)).is_err());
        assert!(verdict(policy.clone(), &dir("/opt/approved/m")).is_ok());
        assert!(verdict(policy.clone(), &dir("/opt/other")).is_err());
        let github_host = serde_json::json!({"strictKnownMarketplaces": [
            {"source": "hostPattern", "hostPattern": "^github\\.com$"}
        ]});
        assert!(verdict(github_host.clone(), &github("any/repo", None)).is_ok());
        assert!(verdict(github_host, &dir("/m")).is_err());
    }

    #[test]
    fn the_block_list_wins() {
        let policy = serde_json::json!({
            "strictKnownMarketplaces": [{"source": "github", "repo": "acme/*"}],
            "blockedMarketplaces": [{"source": "github", "repo": "acme/bad"}]
        });
        assert!(verdict(policy.clone(), &github("acme/good", None)).is_ok());
        let error = verdict(policy.clone(), &github("acme/bad", None)).expect_err("blocked");
        assert_eq!(
            error.to_string(),
            "Marketplace source 'github:acme/bad' is blocked by enterprise policy."
        );
        let via_git = MarketplaceSource::Git {
            url: "https://github.com/acme/bad.git".into(),
            reference: None,
            sparse_paths: None,
        };
        assert!(verdict(policy, &via_git).is_err());
        let only_blocked =
            serde_json::json!({"blockedMarketplaces": [{"source": "directory", "path": "/x"}]});
        assert!(verdict(only_blocked.clone(), &dir("/x")).is_err());
        assert!(verdict(only_blocked, &dir("/y")).is_ok());
    }

    #[test]
    fn allowed_marketplaces_is_an_alias() {
        let alias =
            serde_json::json!({"allowedMarketplaces": [{"source": "directory", "path": "/ok"}]});
        assert!(verdict(alias.clone(), &dir("/ok")).is_ok());
        assert!(verdict(alias, &dir("/m")).is_err());
        let both = serde_json::json!({
            "strictKnownMarketplaces": [{"source": "directory", "path": "/ok"}],
            "allowedMarketplaces": [{"source": "directory", "path": "/m"}]
        });
        assert!(verdict(both, &dir("/m")).is_err());
    }

    #[test]
    fn a_malformed_list_allows_nothing() {
        assert!(
            verdict(
                serde_json::json!({"strictKnownMarketplaces": "all"}),
                &dir("/m")
            )
            .is_err()
        );
    }
}
