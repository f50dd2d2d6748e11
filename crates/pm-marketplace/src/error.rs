//! pm-marketplace's error type. Each variant carries the data (path, id, URL) and maps to the
//! reference's `failureCode` (reference-lifecycle.md §1.5, §5, §6) through
//! [`Error::failure_code`].

use pm_core::marketplace::{InvalidSourceKind, ManifestError};
use pm_core::names::NameError;
use pm_core::scope::Scope;
use std::path::PathBuf;

/// Anything an operation can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A `marketplace add` argument that is not an accepted form.
    #[error(transparent)]
    InvalidSource(#[from] pm_core::source::SourceInputError),
    /// A local marketplace path that does not exist.
    #[error("Path does not exist: `{}`", .0.display())]
    PathNotFound(PathBuf),
    /// A local path that is neither a directory nor a `.json` file.
    #[error("`{}` is neither a directory nor a `.json` file", .0.display())]
    NotAMarketplacePath(PathBuf),
    /// No `.claude-plugin/marketplace.json` in the marketplace.
    #[error("Marketplace file not found at `{}`", .0.display())]
    ManifestMissing(PathBuf),
    /// marketplace.json could not be read.
    #[error("Invalid marketplace file `{}`: {source}", path.display())]
    ManifestInvalid {
        path: PathBuf,
        source: ManifestError,
    },
    /// The marketplace's name is refused. `location` says where the name was read, ready to
    /// print (a quoted path, or the manifest of a repository).
    #[error("{source} (in {location})")]
    Name { location: String, source: NameError },
    /// A known marketplace name re-added from another remote source while settings declare the old one.
    #[error("Cannot add marketplace `{name}`: its source doesn't match its `extraKnownMarketplaces` entry in `{}`", settings.display())]
    Declared { name: String, settings: PathBuf },
    /// Clone or ls-remote failed.
    #[error("Failed to clone `{url}`")]
    Git {
        url: String,
        #[source]
        source: crate::git::GitError,
    },
    /// Download of a URL marketplace failed.
    #[error("Failed to download `{url}`: {message}")]
    Download {
        url: String,
        message: String,
        not_found: bool,
    },
    /// A settings file pm must change is not a JSON object.
    #[error("Invalid settings file `{}`: {reason}", path.display())]
    SettingsInvalid { path: PathBuf, reason: String },
    /// installed_plugins.json or known_marketplaces.json is corrupt (DEVIATIONS 3).
    #[error("Invalid state file `{}`: {source}", path.display())]
    StateInvalid {
        path: PathBuf,
        source: ManifestError,
    },
    /// Unknown marketplace name.
    #[error("Marketplace `{name}` not found{}", available_list(.available))]
    MarketplaceNotFound {
        name: String,
        available: Vec<String>,
    },
    /// `marketplace remove --scope S` for a marketplace S does not declare.
    #[error(
        "Marketplace `{name}` is not declared in {scope} settings. Omit --scope to remove it from all scopes"
    )]
    MarketplaceNotDeclared { name: String, scope: Scope },
    /// Plugin not listed by the named marketplace.
    #[error("Plugin `{name}` not found in marketplace `{marketplace}`")]
    PluginNotFound { name: String, marketplace: String },
    /// `update` of an installed plugin that its marketplace no longer lists (`not_found`, as
    /// the reference). `refreshed`: the marketplace was refreshed (or is read in place or was
    /// refreshed moments ago), so updating it again will not help.
    #[error("Plugin `{name}` is installed, but marketplace `{marketplace}` no longer lists it")]
    NoLongerListed {
        name: String,
        marketplace: String,
        refreshed: bool,
    },
    /// `name@marketplace` where no marketplace of that name is known (the reference's
    /// `not_found`; its "may be out of date, update it" hint would only fail again).
    #[error("Plugin `{name}` not found: no marketplace `{marketplace}` is known{}", available_list(.available))]
    MarketplaceUnknown {
        name: String,
        marketplace: String,
        available: Vec<String>,
    },
    /// Bare plugin name listed by no known marketplace.
    #[error("Plugin `{name}` not found in any configured marketplace")]
    PluginNotFoundAnywhere { name: String },
    /// Bare name matching several plugins (DEVIATIONS 5).
    #[error("Plugin `{name}` is ambiguous: it matches {}", .candidates.join(", "))]
    Ambiguous {
        name: String,
        candidates: Vec<String>,
    },
    /// The entry's `source` cannot be used.
    #[error("The marketplace entry of `{id}` is invalid: {reason}")]
    EntryInvalid {
        id: String,
        reason: String,
        kind: InvalidSourceKind,
    },
    /// A relative source that leaves the marketplace directory, or a relative source in a URL marketplace.
    #[error(
        "Cannot install `{id}`: its source `{source_path}` does not stay inside the marketplace directory"
    )]
    SourceEscapes { id: String, source_path: String },
    /// A relative source in a marketplace downloaded from a URL, which has no directory.
    #[error(
        "Cannot install `{id}`: its source `{source_path}` is relative, but its marketplace is a downloaded file with no directory"
    )]
    RelativeSourceInUrlMarketplace { id: String, source_path: String },
    /// A relative source whose directory is missing.
    #[error("Source path does not exist: `{}`", .0.display())]
    SourcePathMissing(PathBuf),
    /// A source type this version of pm does not install yet.
    #[error("`{id}` uses a `{kind}` source, which pm does not support yet")]
    SourceNotSupported { id: String, kind: String },
    /// plugin.json of the plugin is invalid.
    #[error("Invalid plugin manifest `{}`: {source}", path.display())]
    PluginManifestInvalid {
        path: PathBuf,
        source: ManifestError,
    },
    /// The copy into the cache failed.
    #[error("Failed to copy `{id}` into the cache")]
    Copy {
        id: String,
        #[source]
        source: crate::copy::CopyError,
    },
    /// No install record for the plugin.
    #[error("Plugin `{0}` is not installed")]
    NotInstalled(String),
    /// Installed, but not at the requested scope.
    #[error("Plugin `{id}` is not installed at {scope} scope{}", installed_hint(.installed))]
    NotInstalledAtScope {
        id: String,
        scope: Scope,
        installed: Vec<Scope>,
    },
    /// Installed at several scopes applicable here and no `--scope` given (DEVIATIONS 7).
    #[error("Plugin `{id}` is installed at several scopes ({}); pass --scope", scopes_list(.scopes))]
    ScopeRequired { id: String, scopes: Vec<Scope> },
    /// Managed installs are the administrator's.
    #[error("Plugin `{0}` is installed by managed settings; ask your administrator to remove it")]
    Managed(String),
    /// The state lock.
    #[error(transparent)]
    Lock(#[from] crate::fsutil::LockError),
    /// Any other I/O error (messages name the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// enable/disable of a plugin already in the wanted state: its effective state, or with an
    /// explicit scope that scope's own value (reference-lifecycle.md §7). `decided_by`: the scope
    /// that keeps the effective state the other way, when there is one.
    #[error("Plugin `{id}` is already {}{}", if *.enabled { "enabled" } else { "disabled" }, .scope.map(|s| format!(" at {s} scope")).unwrap_or_default())]
    AlreadyInGoalState {
        id: String,
        enabled: bool,
        scope: Option<Scope>,
        decided_by: Option<Scope>,
    },
    /// Managed settings force the plugin on (`enabled`, so disable is refused) or off (enable is
    /// refused) (reference-advanced.md §7, DEVIATIONS 8).
    #[error("{}", managed_override_message(.id, *.enabled))]
    ManagedOverride { id: String, enabled: bool },
    /// `disable` of a plugin that enabled plugins here still require (`dependents`, sorted):
    /// they would fail to load (reference-advanced.md §2.6; failure code
    /// `required_by_dependents`, as the reference).
    #[error("`{id}` is still required by {}", join_ids(.dependents))]
    RequiredByDependents {
        id: String,
        dependents: Vec<pm_core::id::PluginId>,
    },
    /// Managed settings do not allow this marketplace source: `strictKnownMarketplaces` lists
    /// other sources (`allowed`, labels; empty: none at all), or `blockedMarketplaces` names it
    /// (`allowed` is `None`) (reference-advanced.md §7, DEVIATIONS 8).
    #[error("{}", blocked_message(.label, .host.as_deref(), .allowed.as_deref()))]
    SourceBlocked {
        label: String,
        host: Option<String>,
        allowed: Option<Vec<String>>,
    },
    /// uninstall of a plugin that managed settings enable (`true`): the organization manages it
    /// (DEVIATIONS 8).
    #[error(
        "Plugin `{0}` is managed by your organization: managed settings enable it, so it cannot be uninstalled. Contact your administrator to remove it"
    )]
    ManagedForcedOn(String),
    /// A marketplace added from its `extraKnownMarketplaces` declaration holds a marketplace
    /// with another name (DEVIATIONS 9).
    #[error(
        "Marketplace `{declared}` is declared in {scope} settings, but its source holds marketplace `{actual}`"
    )]
    DeclaredNameMismatch {
        declared: String,
        actual: String,
        scope: Scope,
    },
    /// Installed, but only by project or local records of other directories (`elsewhere`:
    /// scope and `projectPath` of each).
    #[error("Plugin `{id}` is not installed for `{cwd}`: {}", elsewhere_list(.elsewhere))]
    NotInstalledHere {
        id: String,
        cwd: String,
        elsewhere: Vec<(Scope, String)>,
    },
    /// `update --offline` of a plugin whose source is a git repository of its own: finding its
    /// latest version needs the network.
    #[error(
        "Cannot check `{id}` for updates offline: its source is a {kind} repository of its own"
    )]
    Offline { id: String, kind: String },
    /// A `git-subdir` source whose `path` is empty, absolute, or leaves the repository.
    #[error(
        "Cannot install `{id}`: its `git-subdir` path `{path}` must be a relative path inside the repository"
    )]
    SubdirPathInvalid { id: String, path: String },
    /// A `git-subdir` source whose `path` is not a directory of the repository.
    #[error("Cannot install `{id}`: path `{path}` does not exist in repository `{url}`")]
    SubdirMissing {
        id: String,
        path: String,
        url: String,
    },
    /// A `sha` pin the repository does not have (not even after fetching every branch and tag).
    #[error("Cannot install `{id}`: commit `{sha}` was not found in `{url}`")]
    CommitNotFound {
        id: String,
        url: String,
        sha: String,
    },
    /// The npm registry could not be reached, or answered with an error, for an `npm` source.
    #[error("Could not resolve `{spec}` from the npm registry `{registry}`: {message}")]
    NpmRegistry {
        spec: String,
        registry: String,
        message: String,
    },
    /// No published version of an `npm` source matches its `version`.
    #[error("No version of `{package}` matches `{wanted}` in the npm registry `{registry}`{}", npm_versions(.available))]
    NpmVersionNotFound {
        package: String,
        wanted: String,
        registry: String,
        available: Vec<String>,
    },
    /// The tarball of an `npm` source could not be downloaded.
    #[error("Could not download the npm tarball of `{spec}` from `{url}`: {message}")]
    NpmDownload {
        spec: String,
        url: String,
        message: String,
    },
    /// The tarball of an `npm` source does not match the registry's checksum, or has none.
    #[error("The npm tarball of `{spec}` failed its integrity check: {reason}")]
    NpmIntegrity { spec: String, reason: String },
    /// The tarball of an `npm` source holds an entry pm will not unpack (a path or link leaving
    /// the package, a device or FIFO, too much data); nothing was installed.
    #[error("Refusing to unpack the npm tarball of `{spec}`: {reason}")]
    NpmUnsafeArchive { spec: String, reason: String },
    /// An `archive` source could not be downloaded (`error_network`, as the reference).
    #[error("Cannot install `{id}`: downloading `{url}` failed: {message}")]
    ArchiveDownload {
        id: String,
        url: String,
        message: String,
    },
    /// An `archive` source was downloaded but is refused: checksum mismatch, not a .zip or
    /// .tar.gz, or an unsafe entry; nothing was installed (`error_validation`).
    #[error("Cannot install `{id}`: the archive `{url}` is refused: {reason}")]
    ArchiveRefused {
        id: String,
        url: String,
        reason: String,
    },
    /// A plugin dependency that cannot be satisfied, or is invalid (DEVIATIONS 14); the install
    /// changed nothing.
    #[error(transparent)]
    Dependency(#[from] crate::dependencies::DependencyError),
}

fn npm_versions(available: &[String]) -> String {
    const SHOWN: usize = 10;
    match available.len() {
        0 => String::new(),
        n if n <= SHOWN => format!(" (published: {})", available.join(", ")),
        n => format!(
            " (published: {}, and {} older)",
            available[n - SHOWN..].join(", "),
            n - SHOWN
        ),
    }
}

fn elsewhere_list(elsewhere: &[(Scope, String)]) -> String {
    let places: Vec<String> = elsewhere
        .iter()
        .map(|(scope, path)| format!("{scope} scope in `{path}`"))
        .collect();
    format!("it is installed at {}", places.join(", "))
}

fn blocked_message(label: &str, host: Option<&str>, allowed: Option<&[String]>) -> String {
    match allowed {
        None => format!("Marketplace source '{label}' is blocked by enterprise policy."),
        Some(allowed) => {
            let host = host.map(|h| format!(" ({h})")).unwrap_or_default();
            let rest = if allowed.is_empty() {
                "No external marketplaces are allowed.".to_string()
            } else {
                format!("Allowed sources: {}", allowed.join(", "))
            };
            format!("Marketplace source '{label}'{host} is blocked by enterprise policy. {rest}")
        }
    }
}

fn managed_override_message(id: &str, enabled: bool) -> String {
    if enabled {
        format!(
            "Plugin `{id}` is managed by your organization: managed settings enable it, so it cannot be disabled. Contact your administrator to disable it"
        )
    } else {
        format!("Plugin `{id}` is blocked by your organization's policy and cannot be enabled")
    }
}

fn available_list(available: &[String]) -> String {
    if available.is_empty() {
        String::new()
    } else {
        format!(". Available marketplaces: {}", available.join(", "))
    }
}
fn installed_hint(installed: &[Scope]) -> String {
    match installed {
        [] => String::new(),
        scopes => format!(" (it is installed at {} scope)", scopes_list(scopes)),
    }
}
fn scopes_list(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

impl Error {
    /// The reference's `failureCode` for `--json` failure lines.
    pub fn failure_code(&self) -> &'static str {
        use crate::git::GitError;
        match self {
            Error::InvalidSource(_) | Error::PathNotFound(_) | Error::NotAMarketplacePath(_) => {
                "invalid_source"
            }
            Error::ManifestMissing(_) => "manifest_missing",
            Error::ManifestInvalid { .. } => "manifest_invalid",
            Error::Name { source, .. } => source.failure_code(),
            Error::Declared { .. } => "declared",
            Error::Git { source, .. } => match source {
                GitError::ReferenceNotFound { .. } => "error_not_found",
                GitError::Network { .. } => "error_network",
                _ => "error_unknown",
            },
            Error::Download {
                not_found: true, ..
            } => "error_not_found",
            Error::Download { .. } => "error_network",
            Error::SettingsInvalid { .. } | Error::StateInvalid { .. } => "error_validation",
            Error::MarketplaceNotFound { .. } | Error::MarketplaceNotDeclared { .. } => {
                "not_configured"
            }
            Error::PluginNotFound { .. }
            | Error::NoLongerListed { .. }
            | Error::MarketplaceUnknown { .. }
            | Error::PluginNotFoundAnywhere { .. } => "not_found",
            Error::Ambiguous { .. } => "ambiguous_marketplace",
            Error::EntryInvalid {
                kind: InvalidSourceKind::UnknownType,
                ..
            } => "error_unknown",
            Error::EntryInvalid { .. }
            | Error::SourceEscapes { .. }
            | Error::PluginManifestInvalid { .. } => "error_validation",
            Error::SourcePathMissing(_) => "error_not_found",
            // The reference's code for this case (reference-lifecycle.md §5.4).
            Error::RelativeSourceInUrlMarketplace { .. } => "error_network",
            Error::SourceNotSupported { .. } => "error_unknown",
            Error::Copy {
                source: crate::copy::CopyError::PluginRootEscapes { .. },
                ..
            } => "error_validation",
            Error::Copy { .. } => "error_unknown",
            Error::NotInstalled(_) => "not_installed",
            Error::NotInstalledAtScope { .. } | Error::ScopeRequired { .. } => {
                "not_installed_at_scope"
            }
            Error::Managed(_) => "managed_settings_override",
            Error::Lock(_) | Error::Io(_) => "error_unknown",
            Error::AlreadyInGoalState { .. } => "already_in_goal_state",
            Error::ManagedOverride { .. } => "managed_settings_override",
            Error::RequiredByDependents { .. } => "required_by_dependents",
            Error::SourceBlocked { .. } => "source_blocked_by_policy",
            Error::ManagedForcedOn(_) => "managed_settings_override",
            Error::DeclaredNameMismatch { .. } => "declared",
            Error::NotInstalledHere { .. } => "not_installed_at_scope",
            Error::Offline { .. } => "error_network",
            Error::SubdirPathInvalid { .. } => "error_validation",
            Error::SubdirMissing { .. } | Error::CommitNotFound { .. } => "error_not_found",
            // The reference's code for every npm resolution failure, 404 included
            // (reference-lifecycle.md §5.4).
            Error::NpmRegistry { .. } | Error::NpmDownload { .. } => "error_network",
            Error::NpmVersionNotFound { .. } => "error_not_found",
            Error::NpmIntegrity { .. } | Error::NpmUnsafeArchive { .. } => "error_validation",
            Error::ArchiveDownload { .. } => "error_network",
            Error::ArchiveRefused { .. } => "error_validation",
            Error::Dependency(error) => error.failure_code(),
        }
    }

    /// A one-line suggestion for the user, when there is an obvious next step.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::PluginNotFound { marketplace, .. }
            | Error::NoLongerListed { marketplace, refreshed: false, .. } => Some(format!(
                "your copy of `{marketplace}` may be out of date: run `pm marketplace update {marketplace}`"
            )),
            Error::NoLongerListed { name, marketplace, refreshed: true } => Some(format!(
                "the installed copy keeps working; `pm uninstall {name}@{marketplace}` removes it"
            )),
            Error::MarketplaceUnknown { .. } => Some("add the marketplace with `pm marketplace add <source>`; `pm marketplace list` shows the known ones".into()),
            Error::PluginNotFoundAnywhere { .. } => Some("run `pm list --available` to see what the known marketplaces offer".into()),
            Error::Ambiguous { candidates, .. } => candidates.first().map(|c| format!("name the marketplace, for example `{c}`")),
            Error::MarketplaceNotFound { .. } => Some("run `pm marketplace list` to see the known marketplaces".into()),
            Error::StateInvalid { .. } => Some("fix the file by hand (pm never replaces a corrupt state file), or move it aside to start empty".into()),
            Error::SettingsInvalid { .. } => Some("settings files must be strict JSON objects (no comments or trailing commas); fix the file and run the command again".into()),
            Error::NotInstalledAtScope { installed, .. } => installed.first().map(|s| format!("pass `--scope {s}`")),
            Error::ScopeRequired { scopes, .. } => scopes.first().map(|s| format!("for example `--scope {s}`")),
            Error::Lock(crate::fsutil::LockError::Timeout { .. }) => Some("set `PM_LOCK_TIMEOUT` (seconds) to wait longer".into()),
            Error::Git { source: crate::git::GitError::Authentication { .. }, .. } => {
                Some("check your git credentials (credential helper, ssh-agent, or GITHUB_TOKEN)".into())
            }
            Error::AlreadyInGoalState { id, enabled, decided_by: Some(decider), .. } if *decider != Scope::Managed => Some(format!(
                "`{id}` is still {} by {decider} settings: pass `--scope {decider}` to change it there",
                if *enabled { "disabled" } else { "enabled" }
            )),
            Error::SourceBlocked { .. } => Some("managed settings (`strictKnownMarketplaces`, `blockedMarketplaces`) decide which marketplaces may be added; ask your administrator".into()),
            Error::DeclaredNameMismatch { declared, scope, .. } => Some(format!("fix `extraKnownMarketplaces.{declared}` in {scope} settings, or add the marketplace with `pm marketplace add <source>`")),
            Error::NotInstalledHere { elsewhere, .. } => elsewhere.first().map(|(_, path)| format!("run the command in `{path}`")),
            Error::Offline { .. } => Some("run it again without `--offline`".into()),
            Error::RequiredByDependents { id, dependents } => Some(format!(
                "disable {} first, or everything together: {}",
                if dependents.len() == 1 { "that plugin" } else { "those plugins" },
                dependents
                    .iter()
                    .map(|d| format!("pm disable {d}"))
                    .chain(std::iter::once(format!("pm disable {id}")))
                    .collect::<Vec<_>>()
                    .join(" && ")
            )),
            Error::NpmRegistry { message, .. } if message.starts_with("HTTP 404") => Some("check `package` (and `registry`) in the plugin's marketplace entry".into()),
            Error::NpmRegistry { .. } | Error::NpmDownload { .. } => Some("check the network connection and the entry's `registry` (HTTPS_PROXY and NO_PROXY apply)".into()),
            Error::NpmIntegrity { .. } | Error::NpmUnsafeArchive { .. } => Some("nothing was installed; tell the package's maintainers".into()),
            Error::ArchiveDownload { .. } => Some("check the network connection and the entry's `url` (HTTPS_PROXY and NO_PROXY apply)".into()),
            Error::ArchiveRefused { .. } => Some("nothing was installed; tell the marketplace's maintainers".into()),
            Error::Dependency(error) => error.hint(),
            _ => None,
        }
    }
}

fn join_ids(ids: &[pm_core::id::PluginId]) -> String {
    ids.iter()
        .map(|id| format!("`{id}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
