//! `pm tag`: the release tag `{name}--v{version}` of a plugin directory
//! (reference-advanced.md §4).
//!
//! Dependency version ranges resolve against these tags of a marketplace repository
//! (reference-advanced.md §2.4, `dependencies`), so a tag must name the version the plugin
//! really has at the tagged commit. [`plan`] checks everything and writes nothing (it is all
//! `--dry-run` needs); [`create`] writes the annotated tag; [`push`] pushes it.
//!
//! What [`plan`] checks, in this order (each failure is one [`TagError`] variant):
//!
//! 1. the path is a directory holding `.claude-plugin/plugin.json`, a JSON object whose `name`
//!    is a non-empty string and whose `version`, when present, is a string, and that passes
//!    `pm validate`'s plugin.json checks (errors stop the tag; warnings are reported);
//! 2. the directory is inside a git work tree (found from the directory upwards);
//! 3. the enclosing marketplace: the nearest `.claude-plugin/marketplace.json` between the
//!    plugin directory and the work tree's root whose entry has a relative `source` resolving
//!    to this directory (matched by path, not by name; the first such entry in the file). An
//!    unreadable or invalid marketplace.json is skipped with a warning;
//! 4. when both plugin.json and that entry set `version`, they are the same string (plugin.json
//!    wins at install time; `--force` does not skip this);
//! 5. the version (plugin.json's, else the entry's) exists and is semver (`1.2.3`,
//!    `1.0.0-beta.1+build5`; not `v1.2.3`, not `1.2`), and `{name}--v{version}` is a valid git
//!    reference name;
//! 6. unless forced: no uncommitted change (staged, unstaged or untracked, not ignored) inside
//!    the plugin directory or to the marketplace.json found in step 3; changes elsewhere in
//!    the repository do not matter;
//! 7. unless forced: no tag of that name exists yet (forced, the tag is moved);
//! 8. HEAD has a commit. A detached HEAD is fine: release jobs in CI check out a commit, not a
//!    branch, and the tag names that commit.
//!
//! The tag is annotated, created at HEAD's commit of the repository (the marketplace
//! repository's, when the plugin lives in one), with the tagger from git's configuration
//! (`user.name`, `user.email`) and the message `{name} {version}` unless one is given (`%s` in
//! it becomes the version). The message gets git's whitespace clean-up (trailing spaces and
//! blank lines removed, one final newline), without removing `#` lines.

use crate::git::{self, GitError, GitOptions};
use crate::marketplaces::normalize;
use crate::reporter::Reporter;
use git2::{ErrorCode, Oid, Repository, StatusOptions};
use pm_core::marketplace::{
    MARKETPLACE_MANIFEST_PATH, MarketplaceManifest, PluginSource, decode_utf8_lossy, type_name,
};
use pm_core::plugin::{PLUGIN_MANIFEST_PATH, PluginManifest};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// plugin.json and marketplace.json files larger than this (bytes) are refused unread.
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// At most this many uncommitted files are named in [`TagError::UncommittedChanges`]'s
/// message (all of them are in `files`).
const LISTED_FILES: usize = 20;

/// What to tag.
#[derive(Debug, Clone, Copy)]
pub struct TagRequest<'a> {
    /// The plugin directory (the one holding `.claude-plugin/plugin.json`), absolute or
    /// relative to the process's current directory.
    pub plugin_dir: &'a Path,
    /// `--force`: skip the uncommitted-changes and tag-exists checks, and move an existing tag.
    pub force: bool,
    /// `-m`: the tag message; every `%s` becomes the version. `None`: `{name} {version}`.
    pub message: Option<&'a str>,
}

/// Where the tagged version was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionSource {
    /// `version` in the plugin's `.claude-plugin/plugin.json`.
    PluginManifest,
    /// `version` of the plugin's entry in the enclosing marketplace.json (plugin.json has none).
    MarketplaceEntry,
}

impl VersionSource {
    /// `plugin.json` or `marketplace entry`, as the reference prints it.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            VersionSource::PluginManifest => "plugin.json",
            VersionSource::MarketplaceEntry => "marketplace entry",
        }
    }

    /// `pluginJson` or `marketplaceEntry`, for `--json`.
    #[must_use]
    pub fn json_name(self) -> &'static str {
        match self {
            VersionSource::PluginManifest => "pluginJson",
            VersionSource::MarketplaceEntry => "marketplaceEntry",
        }
    }
}

/// The marketplace entry whose relative `source` is the plugin directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarketplaceEntryMatch {
    /// The marketplace.json (absolute, canonical).
    pub manifest_path: PathBuf,
    /// The entry's index in the file's `plugins` array (counting every element as written).
    pub index: usize,
    /// The entry's `name` (it may differ from plugin.json's: the match is by path).
    pub name: String,
    /// The entry's `version`, when it has one.
    pub version: Option<String>,
}

/// The git identity that signs the tag (`user.name`, `user.email`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagger {
    /// `user.name`.
    pub name: String,
    /// `user.email`.
    pub email: String,
}

/// Everything [`plan`] found: what would be tagged, where and how. Nothing is written.
#[derive(Debug, Clone)]
pub struct TagPlan {
    /// The plugin directory (absolute, canonical).
    pub plugin_dir: PathBuf,
    /// Its `.claude-plugin/plugin.json`.
    pub manifest_path: PathBuf,
    /// plugin.json's `name`.
    pub plugin: String,
    /// The version tagged (semver, as written).
    pub version: String,
    /// Where [`TagPlan::version`] was read.
    pub version_source: VersionSource,
    /// The enclosing marketplace's entry for this directory, when there is one.
    pub marketplace_entry: Option<MarketplaceEntryMatch>,
    /// The tag name, `{name}--v{version}`.
    pub tag: String,
    /// The tag message as given (before git's whitespace clean-up).
    pub message: String,
    /// The work tree of the repository tagged (absolute, canonical).
    pub repository: PathBuf,
    /// HEAD's commit (40 hex): what the tag will name.
    pub commit: String,
    /// HEAD's branch (`main`), or `None` when HEAD is detached.
    pub branch: Option<String>,
    /// `--force` was given: the checks it skips were skipped, and the tag is moved if it exists.
    pub force: bool,
    /// The commit (40 hex) the tag names now, when it exists and `--force` moves it.
    pub replaces: Option<String>,
    /// The tagger from git's configuration; `None` when `user.name` or `user.email` is missing
    /// ([`create`] then fails with [`TagError::IdentityMissing`]).
    pub tagger: Option<Tagger>,
}

/// A tag [`create`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTag {
    /// The annotated tag object (40 hex).
    pub object: String,
    /// The commit the tag named before `--force` moved it.
    pub replaced: Option<String>,
}

/// Why `pm tag` failed. Nothing was written, except for [`TagError::PushFailed`] (the tag
/// exists locally).
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// The path does not exist.
    #[error("Path not found: `{}`", .0.display())]
    PathNotFound(PathBuf),
    /// The path is not a directory.
    #[error("`{}` is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The directory has no `.claude-plugin/plugin.json` (no upward search).
    #[error("No plugin manifest found: expected `{}`", .0.display())]
    ManifestMissing(PathBuf),
    /// plugin.json is not valid JSON, not an object, has no usable `name`, a non-string
    /// `version`, is too large, or leaves the plugin directory through a symbolic link.
    #[error("Invalid plugin manifest `{}`: {reason}", path.display())]
    ManifestInvalid {
        /// The plugin.json.
        path: PathBuf,
        /// What is wrong, and where.
        reason: String,
    },
    /// The plugin directory is not inside a git work tree.
    #[error("`{}` is not inside a git repository", .0.display())]
    NotInGitRepository(PathBuf),
    /// plugin.json and the marketplace entry set different versions.
    #[error(
        "Version mismatch: `{}` says `{plugin_version}` but `plugins[{index}].version` in `{}` says `{entry_version}`",
        plugin_manifest.display(),
        marketplace_manifest.display()
    )]
    VersionMismatch {
        /// The plugin.json.
        plugin_manifest: PathBuf,
        /// Its `version`.
        plugin_version: String,
        /// The marketplace.json.
        marketplace_manifest: PathBuf,
        /// The entry's index in `plugins`.
        index: usize,
        /// The entry's `version`.
        entry_version: String,
    },
    /// Neither plugin.json nor the marketplace entry sets `version`.
    #[error("No version to tag: `{}` has no `version`{}", plugin_manifest.display(), entry_place(.entry.as_ref()))]
    VersionMissing {
        /// The plugin.json.
        plugin_manifest: PathBuf,
        /// The marketplace.json and entry index, when an entry was found.
        entry: Option<(PathBuf, usize)>,
    },
    /// The version is not semver.
    #[error("Version `{version}` (from {}) is not valid semver: {reason}", .source_of_version.label())]
    VersionInvalid {
        /// The version as written.
        version: String,
        /// Where it was read.
        source_of_version: VersionSource,
        /// The semver parser's complaint.
        reason: String,
    },
    /// `{name}--v{version}` is not a valid git reference name.
    #[error("Tag name `{tag}` is not a valid git reference name")]
    TagNameInvalid {
        /// The tag name.
        tag: String,
    },
    /// Uncommitted changes in the plugin directory or to the marketplace.json.
    #[error(
        "Uncommitted changes affecting this release in `{}`:{}",
        repository.display(),
        file_list(.files)
    )]
    UncommittedChanges {
        /// The repository's work tree.
        repository: PathBuf,
        /// The files, relative to the work tree, `/`-separated, sorted.
        files: Vec<String>,
    },
    /// The tag exists already (and `--force` was not given).
    #[error("Tag `{tag}` already exists in `{}`", repository.display())]
    TagExists {
        /// The tag name.
        tag: String,
        /// The repository's work tree.
        repository: PathBuf,
    },
    /// HEAD has no commit (a new repository).
    #[error("HEAD of `{}` has no commit yet", .0.display())]
    NoCommit(PathBuf),
    /// `user.name` or `user.email` is not configured, so the tag has no tagger.
    #[error("Cannot create tag `{tag}`: git has no identity (`user.name` and `user.email`) for `{}`", repository.display())]
    IdentityMissing {
        /// The tag name.
        tag: String,
        /// The repository's work tree.
        repository: PathBuf,
    },
    /// Any other libgit2 failure on the repository.
    #[error("Git operation failed in `{}`", repository.display())]
    Git {
        /// The repository's work tree (or the plugin directory, before one was found).
        repository: PathBuf,
        /// What libgit2 reported.
        #[source]
        source: git2::Error,
    },
    /// The tag was created, but pushing it failed (the tag stays).
    #[error("Tag `{tag}` was created, but pushing it to `{remote}` failed")]
    PushFailed {
        /// The tag name.
        tag: String,
        /// The remote as given.
        remote: String,
        /// The repository's work tree.
        repository: PathBuf,
        /// The push was forced (`--force`).
        forced: bool,
        /// Why.
        #[source]
        source: Box<GitError>,
    },
    /// Reading the plugin directory or a manifest failed (the message names the path).
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

fn entry_place(entry: Option<&(PathBuf, usize)>) -> String {
    match entry {
        Some((path, index)) => format!(
            ", nor has its marketplace entry `plugins[{index}]` in `{}`",
            path.display()
        ),
        None => String::new(),
    }
}

fn file_list(files: &[String]) -> String {
    let mut text: String = files
        .iter()
        .take(LISTED_FILES)
        .map(|file| format!("\n  {file}"))
        .collect();
    if files.len() > LISTED_FILES {
        text.push_str(&format!("\n  … and {} more", files.len() - LISTED_FILES));
    }
    text
}

impl TagError {
    /// The `failureCode` of `pm tag --json` (pm's own codes: the reference has no `--json`
    /// for `tag`).
    #[must_use]
    pub fn failure_code(&self) -> &'static str {
        match self {
            TagError::PathNotFound(_) => "path_not_found",
            TagError::NotADirectory(_) => "not_a_directory",
            TagError::ManifestMissing(_) => "manifest_missing",
            TagError::ManifestInvalid { .. } => "manifest_invalid",
            TagError::NotInGitRepository(_) => "not_a_git_repository",
            TagError::VersionMismatch { .. } => "version_mismatch",
            TagError::VersionMissing { .. } => "version_missing",
            TagError::VersionInvalid { .. } => "version_invalid",
            TagError::TagNameInvalid { .. } => "tag_name_invalid",
            TagError::UncommittedChanges { .. } => "uncommitted_changes",
            TagError::TagExists { .. } => "tag_exists",
            TagError::NoCommit(_) => "no_commit",
            TagError::IdentityMissing { .. } => "identity_missing",
            TagError::Git { .. } => "git_error",
            TagError::PushFailed { .. } => "push_failed",
            TagError::Io(_) => "error_unknown",
        }
    }

    /// The next step for the user, when there is an obvious one.
    #[must_use]
    pub fn hint(&self) -> Option<String> {
        match self {
            TagError::NotADirectory(_) | TagError::ManifestMissing(_) => Some(
                "pass the plugin directory, the one holding `.claude-plugin/plugin.json`".into(),
            ),
            TagError::NotInGitRepository(_) => Some(
                "version tags are found with `git ls-remote`, so the plugin must live in a git repository: `git init`, commit, and run `pm tag` again"
                    .into(),
            ),
            TagError::VersionMismatch { plugin_version, .. } => Some(format!(
                "plugin.json wins at install time: set the entry's `version` to `{plugin_version}` (or remove it) and commit; `--force` does not skip this check"
            )),
            TagError::VersionMissing { .. } => Some(
                "set `version` in plugin.json (semver, e.g. `1.0.0`): version tags exist for dependency version ranges, which need an explicit version"
                    .into(),
            ),
            TagError::VersionInvalid { version, .. } => {
                let without_v = version.strip_prefix(['v', 'V']).unwrap_or(version);
                if without_v != version && semver::Version::parse(without_v).is_ok() {
                    Some(format!(
                        "write `{without_v}`: the tag adds its own `v` (`--v{without_v}`)"
                    ))
                } else {
                    Some("dependency ranges only match tags whose version is semver (`MAJOR.MINOR.PATCH`, e.g. `1.2.0` or `1.2.0-beta.1`)".into())
                }
            }
            TagError::TagNameInvalid { .. } => Some(
                "the plugin name must not start with `-`, and it and the version must not contain spaces, control characters, `~ ^ : ? * [ \\`, `..`, `@{` or `//`"
                    .into(),
            ),
            TagError::UncommittedChanges { .. } => Some(
                "commit them first so that the tag names the version you release, or pass `--force`"
                    .into(),
            ),
            TagError::TagExists { .. } => Some(
                "bump `version` in plugin.json, or pass `--force` to move the tag".into(),
            ),
            TagError::NoCommit(_) => Some("commit the plugin first".into()),
            TagError::IdentityMissing { .. } => Some(
                "set it with `git config --global user.name \"Your Name\"` and `git config --global user.email you@example.com`"
                    .into(),
            ),
            TagError::PushFailed {
                tag,
                remote,
                source,
                forced: false,
                ..
            } if matches!(**source, GitError::PushRejected { .. }) => Some(format!(
                "the tag stays here; `{remote}` already has a tag `{tag}`: pass `--force --push` to replace it there, or bump the version"
            )),
            TagError::PushFailed {
                tag,
                remote,
                repository,
                forced,
                ..
            } => Some(format!(
                "the tag stays; push it later with `git -C {} push{} {remote} refs/tags/{tag}`",
                repository.display(),
                if *forced { " --force" } else { "" }
            )),
            _ => None,
        }
    }
}

/// What [`plan`] had found when it failed, for the failure's `--json` line.
#[derive(Debug, Clone, Default)]
pub struct FoundSoFar {
    /// plugin.json's `name`.
    pub plugin: Option<String>,
    /// The version (read, maybe invalid).
    pub version: Option<String>,
    /// The tag name.
    pub tag: Option<String>,
    /// The repository's work tree.
    pub repository: Option<PathBuf>,
}

/// A failed [`plan`]: the error and what was known by then.
#[derive(Debug)]
pub struct PlanFailure {
    /// Why.
    pub error: TagError,
    /// What was found before it.
    pub found: FoundSoFar,
}

/// Checks everything `pm tag` needs (see the module documentation for the order) and returns
/// what would be tagged. Reads plugin.json, marketplace.json files and the repository; writes
/// nothing. Warnings (a marketplace.json that cannot be read) go to `reporter`.
///
/// # Errors
///
/// Every [`TagError`] except [`TagError::IdentityMissing`] and [`TagError::PushFailed`], with
/// what was found before the failure.
pub fn plan(
    request: &TagRequest<'_>,
    reporter: &dyn Reporter,
) -> Result<TagPlan, Box<PlanFailure>> {
    let mut found = FoundSoFar::default();
    plan_steps(request, reporter, &mut found)
        .map_err(|error| Box::new(PlanFailure { error, found }))
}

fn plan_steps(
    request: &TagRequest<'_>,
    reporter: &dyn Reporter,
    found: &mut FoundSoFar,
) -> Result<TagPlan, TagError> {
    // 1. The plugin directory and its manifest.
    let metadata = match fs_err::metadata(request.plugin_dir) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(TagError::PathNotFound(request.plugin_dir.to_path_buf()));
        }
        Err(error) => return Err(error.into()),
    };
    if !metadata.is_dir() {
        return Err(TagError::NotADirectory(request.plugin_dir.to_path_buf()));
    }
    let plugin_dir = fs_err::canonicalize(request.plugin_dir)?;
    let manifest_path = plugin_dir.join(PLUGIN_MANIFEST_PATH);
    let (plugin, plugin_version) = read_plugin_manifest(&plugin_dir, &manifest_path)?;
    found.plugin = Some(plugin.clone());
    validate_manifest(&manifest_path, reporter)?;

    // 2. The repository.
    let repo = Repository::discover(&plugin_dir).map_err(|error| {
        if error.code() == ErrorCode::NotFound {
            TagError::NotInGitRepository(plugin_dir.clone())
        } else {
            TagError::Git {
                repository: plugin_dir.clone(),
                source: error,
            }
        }
    })?;
    let Some(workdir) = repo.workdir() else {
        return Err(TagError::NotInGitRepository(plugin_dir.clone()));
    };
    let repository = fs_err::canonicalize(workdir)?;
    found.repository = Some(repository.clone());
    let Ok(plugin_relative) = plugin_dir.strip_prefix(&repository) else {
        return Err(TagError::NotInGitRepository(plugin_dir.clone()));
    };
    let plugin_relative = slash_path(plugin_relative);

    // 3. The enclosing marketplace entry.
    let marketplace_entry = find_marketplace_entry(&plugin_dir, &repository, reporter);

    // 4. Agreement, then 5. the version itself.
    let entry_version = marketplace_entry.as_ref().and_then(|e| e.version.clone());
    if let (Some(plugin_version), Some(entry), Some(entry_version)) = (
        plugin_version.as_ref(),
        marketplace_entry.as_ref(),
        entry_version.as_ref(),
    ) && plugin_version != entry_version
    {
        found.version = Some(plugin_version.clone());
        return Err(TagError::VersionMismatch {
            plugin_manifest: manifest_path,
            plugin_version: plugin_version.clone(),
            marketplace_manifest: entry.manifest_path.clone(),
            index: entry.index,
            entry_version: entry_version.clone(),
        });
    }
    let (version, version_source) = match (plugin_version, entry_version) {
        (Some(version), _) => (version, VersionSource::PluginManifest),
        (None, Some(version)) => (version, VersionSource::MarketplaceEntry),
        (None, None) => {
            return Err(TagError::VersionMissing {
                plugin_manifest: manifest_path,
                entry: marketplace_entry.map(|e| (e.manifest_path, e.index)),
            });
        }
    };
    found.version = Some(version.clone());
    if let Err(error) = semver::Version::parse(&version) {
        return Err(TagError::VersionInvalid {
            version,
            source_of_version: version_source,
            reason: error.to_string(),
        });
    }
    let tag = tag_name(&plugin, &version);
    found.tag = Some(tag.clone());
    // git also refuses tag names that would read as options.
    if tag.starts_with('-') || !git2::Reference::is_valid_name(&format!("refs/tags/{tag}")) {
        return Err(TagError::TagNameInvalid { tag });
    }

    // 6. Uncommitted changes that the release would leave out.
    if !request.force {
        let marketplace_relative = marketplace_entry.as_ref().and_then(|entry| {
            entry
                .manifest_path
                .strip_prefix(&repository)
                .ok()
                .map(slash_path)
        });
        let files = uncommitted_files(&repo, &plugin_relative, marketplace_relative.as_deref())
            .map_err(|source| TagError::Git {
                repository: repository.clone(),
                source,
            })?;
        if !files.is_empty() {
            return Err(TagError::UncommittedChanges { repository, files });
        }
    }

    // 7. An existing tag.
    let existing = tagged_commit(&repo, &tag);
    if existing.is_some() && !request.force {
        return Err(TagError::TagExists { tag, repository });
    }

    // 8. HEAD.
    let head = match repo.head() {
        Ok(head) => head,
        Err(error) if matches!(error.code(), ErrorCode::UnbornBranch | ErrorCode::NotFound) => {
            return Err(TagError::NoCommit(repository));
        }
        Err(source) => return Err(TagError::Git { repository, source }),
    };
    let commit = head.peel_to_commit().map_err(|source| TagError::Git {
        repository: repository.clone(),
        source,
    })?;
    let branch = if repo.head_detached().unwrap_or(false) {
        None
    } else {
        head.shorthand().ok().map(str::to_owned)
    };
    let tagger = repo.signature().ok().map(|signature| Tagger {
        name: String::from_utf8_lossy(signature.name_bytes()).into_owned(),
        email: String::from_utf8_lossy(signature.email_bytes()).into_owned(),
    });
    Ok(TagPlan {
        message: tag_message(request.message, &plugin, &version),
        plugin_dir,
        manifest_path,
        plugin,
        version,
        version_source,
        marketplace_entry,
        tag,
        repository,
        commit: commit.id().to_string(),
        branch,
        force: request.force,
        replaces: existing,
        tagger,
    })
}

/// The release tag of `version` of plugin `name`: `{name}--v{version}` (reference-advanced.md
/// §2.4).
#[must_use]
pub fn tag_name(name: &str, version: &str) -> String {
    format!("{name}--v{version}")
}

/// The tag message: `message` with every `%s` replaced by `version`, or `{name} {version}`.
#[must_use]
pub fn tag_message(message: Option<&str>, name: &str, version: &str) -> String {
    match message {
        Some(message) => message.replace("%s", version),
        None => format!("{name} {version}"),
    }
}

/// Writes the annotated tag of `plan` (moving an existing one when `plan.force`).
///
/// # Errors
///
/// [`TagError::IdentityMissing`] without `user.name`/`user.email`; [`TagError::TagExists`] when
/// the tag appeared since [`plan`] and `plan.force` is false; [`TagError::Git`] otherwise.
pub fn create(plan: &TagPlan) -> Result<CreatedTag, TagError> {
    let git_error = |source| TagError::Git {
        repository: plan.repository.clone(),
        source,
    };
    let repo = Repository::open(&plan.repository).map_err(git_error)?;
    let oid = Oid::from_str(&plan.commit).map_err(git_error)?;
    let commit = repo.find_commit(oid).map_err(git_error)?;
    let signature = repo.signature().map_err(|_| TagError::IdentityMissing {
        tag: plan.tag.clone(),
        repository: plan.repository.clone(),
    })?;
    let message = clean_message(&plan.message);
    let replaced = tagged_commit(&repo, &plan.tag);
    match repo.tag(
        &plan.tag,
        commit.as_object(),
        &signature,
        &message,
        plan.force,
    ) {
        Ok(object) => Ok(CreatedTag {
            object: object.to_string(),
            replaced,
        }),
        Err(error) if error.code() == ErrorCode::Exists => Err(TagError::TagExists {
            tag: plan.tag.clone(),
            repository: plan.repository.clone(),
        }),
        Err(source) => Err(git_error(source)),
    }
}

/// The commit (40 hex) tag `tag` names (an annotated tag peeled; the object itself when it is
/// not a commit); `None` when there is no such tag.
fn tagged_commit(repo: &Repository, tag: &str) -> Option<String> {
    let reference = repo.find_reference(&format!("refs/tags/{tag}")).ok()?;
    match reference.peel_to_commit() {
        Ok(commit) => Some(commit.id().to_string()),
        Err(_) => reference.target().map(|oid| oid.to_string()),
    }
}

/// Pushes the tag of `plan` to `remote` (a configured remote, or a URL or path):
/// `refs/tags/<tag>`, forced (`+`) when `plan.force`. Reports the step to `reporter`.
///
/// # Errors
///
/// [`TagError::PushFailed`], carrying the [`GitError`]: no such remote, rejected (the remote
/// has the tag and the push was not forced), not found, authentication, network.
pub fn push(
    plan: &TagPlan,
    remote: &str,
    options: &GitOptions,
    reporter: &dyn Reporter,
) -> Result<(), TagError> {
    let reference = format!("refs/tags/{}", plan.tag);
    let refspec = if plan.force {
        format!("+{reference}:{reference}")
    } else {
        format!("{reference}:{reference}")
    };
    reporter.status(&format!("Pushing tag `{}` to `{remote}`", plan.tag));
    git::push_reference(&plan.repository, remote, &refspec, options).map_err(|source| {
        TagError::PushFailed {
            tag: plan.tag.clone(),
            remote: remote.to_owned(),
            repository: plan.repository.clone(),
            forced: plan.force,
            source: Box::new(source),
        }
    })
}

/// git's whitespace clean-up of a message (`git tag --cleanup=whitespace`): trailing
/// whitespace and leading/trailing blank lines removed, runs of blank lines collapsed, a final
/// newline added; lines starting with `#` kept.
fn clean_message(message: &str) -> String {
    git2::message_prettify(message, None).unwrap_or_else(|_| message.to_owned())
}

/// A relative path with `/` separators (git's form); empty for the repository root.
fn slash_path(path: &Path) -> String {
    path.components()
        .map(|component| component.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads up to [`MAX_MANIFEST_BYTES`] of `path`; `Ok(None)` when it does not exist.
fn read_capped(path: &Path) -> std::io::Result<Option<String>> {
    let file = match fs_err::File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let mut bytes = Vec::new();
    file.take(MAX_MANIFEST_BYTES + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "`{}` is larger than {} MiB",
                path.display(),
                MAX_MANIFEST_BYTES / (1024 * 1024)
            ),
        ));
    }
    Ok(Some(decode_utf8_lossy(&bytes).0))
}

/// Whether `path` (an existing file) resolves, through any symbolic links, to a place inside
/// `root` (canonical).
fn stays_inside(path: &Path, root: &Path) -> bool {
    fs_err::canonicalize(path).is_ok_and(|real| real.starts_with(root))
}

/// The minimal plugin.json check `tag` needs: a JSON object, `name` a non-empty string,
/// `version` a string when present. Returns `(name, version)`.
///
/// The rest of plugin.json's validation is [`validate_manifest`]'s.
fn read_plugin_manifest(
    plugin_dir: &Path,
    path: &Path,
) -> Result<(String, Option<String>), TagError> {
    let invalid = |reason: String| TagError::ManifestInvalid {
        path: path.to_path_buf(),
        reason,
    };
    let text = match read_capped(path) {
        Ok(Some(text)) => text,
        Ok(None) => return Err(TagError::ManifestMissing(path.to_path_buf())),
        Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
            return Err(invalid(format!(
                "it is larger than {} MiB",
                MAX_MANIFEST_BYTES / (1024 * 1024)
            )));
        }
        Err(error) => return Err(error.into()),
    };
    if !stays_inside(path, plugin_dir) {
        return Err(invalid(
            "it is a symbolic link leading out of the plugin directory".into(),
        ));
    }
    let manifest = PluginManifest::parse(&text).map_err(|error| invalid(error.to_string()))?;
    if manifest.name.trim().is_empty() {
        return Err(invalid("`name` must not be empty".into()));
    }
    let version = match manifest.raw.get("version") {
        None => None,
        Some(serde_json::Value::String(version)) => Some(version.clone()),
        Some(other) => {
            return Err(invalid(format!(
                "`version` must be a string, not {} `{other}`",
                article(type_name(other))
            )));
        }
    };
    Ok((manifest.name, version))
}

/// `pm validate`'s checks of plugin.json (reference-advanced.md §4: `tag` runs plugin
/// validation first): an error stops the tag ([`TagError::ManifestInvalid`], naming every
/// error); each warning goes to `reporter`, except pm's `version-not-semver`, which step 5
/// reports as an error of its own.
fn validate_manifest(manifest_path: &Path, reporter: &dyn Reporter) -> Result<(), TagError> {
    let report = crate::validate::validate(manifest_path, &crate::validate::Options::default());
    let Some(manifest) = report.manifest else {
        return Ok(());
    };
    if !manifest.errors.is_empty() {
        let reasons: Vec<String> = manifest
            .errors
            .iter()
            .map(|finding| format!("{}: {}", finding.path, finding.message))
            .collect();
        return Err(TagError::ManifestInvalid {
            path: manifest_path.to_path_buf(),
            reason: format!(
                "plugin validation failed ({}); `pm validate {}` shows every finding",
                reasons.join("; "),
                manifest_path
                    .parent()
                    .and_then(Path::parent)
                    .unwrap_or(manifest_path)
                    .display()
            ),
        });
    }
    for finding in &manifest.warnings {
        if finding.code == Some(crate::validate::codes::VERSION_NOT_SEMVER) {
            continue;
        }
        reporter.warn(&format!(
            "{}: {}: {}",
            manifest_path.display(),
            finding.path,
            finding.message
        ));
    }
    Ok(())
}

fn article(type_name: &str) -> String {
    if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {type_name}")
    } else {
        format!("a {type_name}")
    }
}

/// The nearest marketplace.json, from `plugin_dir` up to `repository` (both canonical, the
/// first inside the second), with an entry whose relative source is `plugin_dir`.
fn find_marketplace_entry(
    plugin_dir: &Path,
    repository: &Path,
    reporter: &dyn Reporter,
) -> Option<MarketplaceEntryMatch> {
    for root in plugin_dir.ancestors() {
        if !root.starts_with(repository) {
            break;
        }
        let path = root.join(MARKETPLACE_MANIFEST_PATH);
        if !path.is_file() {
            continue;
        }
        if !stays_inside(&path, root) {
            reporter.warn(&format!(
                "Ignoring `{}`: it is a symbolic link leading out of its marketplace",
                path.display()
            ));
            continue;
        }
        let manifest = match read_capped(&path) {
            Ok(Some(text)) => match MarketplaceManifest::parse(&text) {
                Ok(manifest) => manifest,
                Err(error) => {
                    reporter.warn(&format!(
                        "Ignoring `{}` (its entry's version is not checked): {error}",
                        path.display()
                    ));
                    continue;
                }
            },
            Ok(None) => continue,
            Err(error) => {
                reporter.warn(&format!(
                    "Ignoring `{}` (its entry's version is not checked): {error}",
                    path.display()
                ));
                continue;
            }
        };
        if let Some(found) = matching_entry(&manifest, root, plugin_dir, &path) {
            return Some(found);
        }
    }
    None
}

/// The first entry of `manifest` (at `marketplace_root`) whose relative source is `plugin_dir`.
fn matching_entry(
    manifest: &MarketplaceManifest,
    marketplace_root: &Path,
    plugin_dir: &Path,
    manifest_path: &Path,
) -> Option<MarketplaceEntryMatch> {
    let dropped: HashSet<usize> = manifest.dropped.iter().map(|(index, _)| *index).collect();
    let written = manifest
        .raw
        .get("plugins")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    let file_indices = (0..written).filter(|index| !dropped.contains(index));
    manifest
        .plugins
        .iter()
        .zip(file_indices)
        .find(|(entry, _)| match &entry.source {
            PluginSource::Relative(source) => {
                source_points_at(marketplace_root, source, plugin_dir)
            }
            _ => false,
        })
        .map(|(entry, index)| MarketplaceEntryMatch {
            manifest_path: manifest_path.to_path_buf(),
            index,
            name: entry.name.clone(),
            version: entry.version.clone(),
        })
}

/// Whether the relative `source` (`./plugins/p`, `.`) of a marketplace at `marketplace_root`
/// is the directory `plugin_dir`: lexically (`./a/../p/` is `p`), else through symbolic links.
fn source_points_at(marketplace_root: &Path, source: &str, plugin_dir: &Path) -> bool {
    let relative = source.strip_prefix("./").unwrap_or(source);
    let relative = if relative == "." { "" } else { relative };
    if Path::new(relative).is_absolute() {
        return false;
    }
    let resolved = normalize(&marketplace_root.join(relative));
    resolved == plugin_dir
        || (resolved.starts_with(marketplace_root)
            && fs_err::canonicalize(&resolved).is_ok_and(|real| real == plugin_dir))
}

/// Uncommitted files (staged, unstaged, untracked; not ignored) inside `plugin_relative`
/// (the whole repository when empty) or equal to `marketplace_relative`, relative to the work
/// tree, sorted.
fn uncommitted_files(
    repo: &Repository,
    plugin_relative: &str,
    marketplace_relative: Option<&str>,
) -> Result<Vec<String>, git2::Error> {
    let mut options = StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .include_unmodified(false);
    // Pathspecs narrow the scan of a large repository; they are globs, so paths with glob
    // characters are matched below instead.
    let is_plain = |path: &str| !path.contains(['*', '?', '[', '\\']);
    let scoped = !plugin_relative.is_empty()
        && is_plain(plugin_relative)
        && marketplace_relative.is_none_or(is_plain);
    if scoped {
        options.pathspec(plugin_relative);
        if let Some(marketplace) = marketplace_relative {
            options.pathspec(marketplace);
        }
    }
    let statuses = repo.statuses(Some(&mut options))?;
    let mut files: Vec<String> = statuses
        .iter()
        .map(|entry| String::from_utf8_lossy(entry.path_bytes()).into_owned())
        .filter(|path| {
            plugin_relative.is_empty()
                || path == plugin_relative
                || path
                    .strip_prefix(plugin_relative)
                    .is_some_and(|rest| rest.starts_with('/'))
                || Some(path.as_str()) == marketplace_relative
        })
        .collect();
    files.sort();
    files.dedup();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_and_messages() {
        assert_eq!(tag_name("p", "1.0.0-beta.1+b5"), "p--v1.0.0-beta.1+b5");
        assert_eq!(tag_message(None, "p", "1.2.3"), "p 1.2.3");
        assert_eq!(
            tag_message(Some("Release v%s of thing %s"), "p", "1.2.4"),
            "Release v1.2.4 of thing 1.2.4"
        );
        assert_eq!(tag_message(Some("plain %% 100"), "p", "1"), "plain %% 100");
        assert_eq!(tag_message(Some(""), "p", "1"), "");
    }

    #[test]
    fn messages_get_whitespace_cleanup_only() {
        assert_eq!(clean_message("p 1.0.0"), "p 1.0.0\n");
        assert_eq!(
            clean_message("\n\n#1 fix  \n\n\nmore\n\n"),
            "#1 fix\n\nmore\n"
        );
        assert_eq!(clean_message(""), "");
    }

    #[test]
    fn sources_resolve_by_path() {
        let root = Path::new("/m");
        let plugin = Path::new("/m/plugins/p");
        for source in [
            "./plugins/p",
            "./plugins/p/",
            "./plugins/./x/../p",
            "plugins/p",
        ] {
            assert!(source_points_at(root, source, plugin), "{source}");
        }
        for source in ["./plugins/pq", "./plugins", "/m/plugins/p", "./other/p"] {
            assert!(!source_points_at(root, source, plugin), "{source}");
        }
        assert!(source_points_at(root, ".", root));
        assert!(source_points_at(root, "./", root));
    }

    #[test]
    fn entry_indices_count_every_element_as_written() {
        let manifest = MarketplaceManifest::parse(
            r#"{"name":"m","owner":{"name":"o"},"plugins":[
                {"source":"./zz"},
                {"name":"q","source":"./plugins/q"},
                {"name":"gh","source":{"source":"github","repo":"o/r"}},
                {"name":"a","source":"./plugins/p","version":"3.0.0"},
                {"name":"b","source":"./plugins/p","version":"4.0.0"}]}"#,
        )
        .expect("parses");
        let found = matching_entry(
            &manifest,
            Path::new("/m"),
            Path::new("/m/plugins/p"),
            Path::new("/m/.claude-plugin/marketplace.json"),
        )
        .expect("an entry matches");
        assert_eq!(found.index, 3);
        assert_eq!(found.name, "a");
        assert_eq!(found.version.as_deref(), Some("3.0.0"));
    }

    #[test]
    fn version_hints() {
        let error = |version: &str| TagError::VersionInvalid {
            version: version.into(),
            source_of_version: VersionSource::PluginManifest,
            reason: String::new(),
        };
        assert!(error("v1.2.3").hint().expect("hint").contains("`1.2.3`"));
        assert!(error("1.2").hint().expect("hint").contains("semver"));
    }
}
