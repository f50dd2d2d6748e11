//! Plugin dependencies (reference-advanced.md §2; DEVIATIONS 14).
//!
//! A plugin's `plugin.json` may list `dependencies`: strings (`"b"`, `"b@other"`; a trailing
//! `@<range>` is dropped, as the reference drops it) and objects
//! (`{"name", "marketplace"?, "version"?, "sha"?}`; only this form carries a version range).
//! `pm install` resolves them after the plugin itself is in the cache: a dependency is looked up
//! in the declaring plugin's marketplace unless it names another one, which the *root*
//! marketplace (the one of the plugin being installed) must list in its top-level
//! `allowCrossMarketplaceDependenciesOn`. Each one is installed at the scope of the install
//! with `"auto": true`, recursively; a plugin seen twice (cycles, diamonds) is resolved once.
//!
//! A range is resolved against the git tags `{name}--v{version}` of the marketplace repository:
//! the highest matching tag is checked out and cached as `<version>-<sha12>`, and the record
//! gets `resolvedVersion`. Without a matching tag, the version the marketplace offers now must
//! satisfy the range. A `sha` installs the dependency as it is at that commit of the marketplace
//! repository, cached the same way (and still checked against the range). Anything that cannot be satisfied (a missing plugin or marketplace, no
//! version in range, a cross-marketplace dependency not allowed, an installed dependency out of
//! range) fails the whole install: nothing is recorded, no settings change, and the cache
//! directories the install created are removed again ([`CacheGuard`]).

use crate::copy::{CopyReport, remove_tree};
use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::fsutil::write_atomic;
use crate::git;
use crate::marketplaces::{self, TempClone};
use crate::plugins::{self, Candidate, ORPHANED_MARKER, Prepared};
use crate::reporter::Reporter;
use crate::store;
use pm_core::id::{PluginId, is_safe_path_component, is_valid_id_part};
use pm_core::marketplace::{MarketplaceManifest, PluginEntry, PluginSource, type_name};
use pm_core::plugin::{PLUGIN_MANIFEST_PATH, PluginManifest};
use pm_core::scope::{Locations, Scope, find_git_root};
use pm_core::source::MarketplaceSource;
use pm_core::state::InstalledPlugins;
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The top-level key of marketplace.json listing the marketplaces its plugins may depend on.
pub const ALLOW_CROSS_MARKETPLACE_KEY: &str = "allowCrossMarketplaceDependenciesOn";

/// One entry of a plugin's `dependencies`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dependency {
    /// The plugin name.
    pub name: String,
    /// The marketplace, when the entry names one (else the declaring plugin's).
    pub marketplace: Option<String>,
    /// The version range (object form only).
    pub version: Option<String>,
    /// `sha` (object form): the commit of the marketplace repository to install the dependency
    /// from (pm's reading; the reference parses it and does not say).
    pub sha: Option<String>,
    /// A range written after `@` in the string form, which is dropped (reference-advanced.md
    /// §2.1).
    pub ignored_range: Option<String>,
}

impl Dependency {
    /// Parses one entry of `dependencies`; the error says what is wrong with it.
    pub fn parse(value: &Value) -> std::result::Result<Self, String> {
        match value {
            Value::String(text) => parse_string_form(text),
            Value::Object(map) => {
                let field = |key: &str| -> std::result::Result<Option<String>, String> {
                    match map.get(key) {
                        None => Ok(None),
                        Some(Value::String(text)) => Ok(Some(text.clone())),
                        Some(other) => Err(format!(
                            "Invalid input: `{key}` must be a string, not {}",
                            type_name(other)
                        )),
                    }
                };
                let name = field("name")?
                    .ok_or_else(|| "Invalid input: `name` is required".to_string())?;
                check_id_part("name", &name)?;
                let marketplace = field("marketplace")?;
                if let Some(marketplace) = &marketplace {
                    check_id_part("marketplace", marketplace)?;
                }
                Ok(Dependency {
                    name,
                    marketplace,
                    version: field("version")?,
                    sha: field("sha")?,
                    ignored_range: None,
                })
            }
            other => Err(format!(
                "Invalid input: expected a string or an object, not {}",
                type_name(other)
            )),
        }
    }

    /// The dependency's id, its marketplace defaulting to `declared_in`.
    pub fn id(&self, declared_in: &str) -> PluginId {
        PluginId::new(
            &self.name,
            self.marketplace.as_deref().unwrap_or(declared_in),
        )
    }
}

fn check_id_part(field: &str, text: &str) -> std::result::Result<(), String> {
    if is_valid_id_part(text) {
        Ok(())
    } else {
        Err(format!(
            "Invalid input: `{field}` must match ^[A-Za-z0-9][-A-Za-z0-9._]*$ (got \"{text}\")"
        ))
    }
}

/// `"b"`, `"b@other"`, `"b@^1.0.0"`, `"b@other@^1.0.0"`: the part after the first `@` is the
/// marketplace unless it looks like a version range; ranges are dropped.
fn parse_string_form(text: &str) -> std::result::Result<Dependency, String> {
    let mut parts = text.split('@');
    let name = parts.next().unwrap_or_default().to_string();
    check_id_part("name", &name)?;
    let rest: Vec<&str> = parts.collect();
    let (marketplace, ignored) = match rest.as_slice() {
        [] | [""] => (None, None),
        [second, ..] if looks_like_range(second) => (None, Some(rest.join("@"))),
        [second, more @ ..] => {
            check_id_part("marketplace", second)?;
            let ignored = (!more.is_empty()).then(|| more.join("@"));
            (Some((*second).to_string()), ignored)
        }
    };
    Ok(Dependency {
        name,
        marketplace,
        version: None,
        sha: None,
        ignored_range: ignored,
    })
}

/// Whether the part of a string dependency after `@` is a version range rather than a
/// marketplace name: it starts with a range operator, or starts with a digit and parses as a
/// range (`1.x`, `2.0.0`; `1password` is a marketplace).
fn looks_like_range(text: &str) -> bool {
    text.starts_with(['^', '~', '<', '>', '=', '*'])
        || (text.starts_with(|c: char| c.is_ascii_digit()) && VersionRange::parse(text).is_some())
}

/// An npm-style version range (`^2.0.0`, `~1.2`, `>=1.0.0 <2`, `1.x`, `1.2.3 - 2.0.0`,
/// `^1 || ^2`, `*`), as plugin authors write them; a bare version means exactly that version.
#[derive(Debug, Clone)]
pub struct VersionRange {
    text: String,
    alternatives: Vec<semver::VersionReq>,
}

impl VersionRange {
    /// Parses `text`; `None` when it is not a range.
    pub fn parse(text: &str) -> Option<Self> {
        let alternatives = text
            .split("||")
            .map(|alternative| parse_alternative(alternative.trim()))
            .collect::<Option<Vec<_>>>()?;
        Some(VersionRange {
            text: text.to_string(),
            alternatives,
        })
    }

    /// Whether `version` is in the range (pre-releases only where a comparator names one, as
    /// npm and Cargo decide).
    pub fn matches(&self, version: &semver::Version) -> bool {
        self.alternatives.iter().any(|req| req.matches(version))
    }

    /// The range as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// One `||` alternative: space-separated comparators, or a hyphen range.
fn parse_alternative(text: &str) -> Option<semver::VersionReq> {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if let [low, "-", high] = tokens.as_slice() {
        return semver::VersionReq::parse(&format!(">={}, <={}", strip_v(low)?, strip_v(high)?))
            .ok();
    }
    let mut comparators = Vec::new();
    let mut pending_operator: Option<&str> = None;
    for token in tokens {
        let split = token
            .find(|c: char| !matches!(c, '<' | '>' | '=' | '^' | '~'))
            .unwrap_or(token.len());
        let (operator, version) = token.split_at(split);
        if version.is_empty() {
            // `>= 1.0.0`: the operator stands alone.
            if pending_operator.is_some() {
                return None;
            }
            pending_operator = Some(operator);
            continue;
        }
        let operator = match pending_operator.take() {
            Some(_) if !operator.is_empty() => return None,
            Some(pending) => pending,
            None => operator,
        };
        let version = strip_v(version)?;
        if matches!(version, "*" | "x" | "X") {
            continue;
        }
        // npm: a bare version is that version (`1.2.3`), or that partial range (`1.2`); Cargo
        // reads a bare version as a caret range.
        let operator = if operator.is_empty() { "=" } else { operator };
        comparators.push(format!("{operator}{version}"));
    }
    if pending_operator.is_some() {
        return None;
    }
    if comparators.is_empty() {
        return Some(semver::VersionReq::STAR);
    }
    semver::VersionReq::parse(&comparators.join(", ")).ok()
}

fn strip_v(text: &str) -> Option<&str> {
    let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
    (!text.is_empty()).then_some(text)
}

/// Parses a recorded or declared version as semver (a leading `v` allowed).
pub fn parse_version(text: &str) -> Option<semver::Version> {
    let text = text.trim();
    semver::Version::parse(text.strip_prefix(['v', 'V']).unwrap_or(text)).ok()
}

/// The `dependencies` array of the plugin.json in `plugin_dir`: `Ok(None)` when there is no
/// plugin.json or it has no `dependencies`.
pub(crate) fn manifest_dependencies(
    plugin_dir: &Path,
    id: &PluginId,
) -> Result<Option<Vec<Value>>> {
    let path = plugin_dir.join(PLUGIN_MANIFEST_PATH);
    let Some(text) = crate::fsutil::read_optional(&path)? else {
        return Ok(None);
    };
    let manifest = PluginManifest::parse(&text)
        .map_err(|source| Error::PluginManifestInvalid { path, source })?;
    match manifest.raw.get("dependencies") {
        None => Ok(None),
        Some(Value::Array(values)) => Ok(Some(values.clone())),
        Some(other) => Err(DependencyError::Invalid {
            dependent: id.to_string(),
            index: None,
            reason: format!(
                "Invalid input: `dependencies` must be an array, not {}",
                type_name(other)
            ),
        }
        .into()),
    }
}

/// The dependencies a plugin declares: its plugin.json's, else its marketplace entry's (an
/// entry with `strict: false` is the manifest).
pub(crate) fn declared_dependencies(
    plugin_dir: &Path,
    id: &PluginId,
    entry: Option<&PluginEntry>,
) -> Result<Vec<Value>> {
    if let Some(values) = manifest_dependencies(plugin_dir, id)? {
        return Ok(values);
    }
    Ok(entry
        .and_then(|entry| entry.raw.get("dependencies"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default())
}

/// Why a dependency cannot be installed (DEVIATIONS 14). The install that hit it changed
/// nothing.
#[derive(Debug, thiserror::Error)]
pub enum DependencyError {
    /// An entry of `dependencies` that is not a valid dependency.
    #[error("`{dependent}` declares an invalid dependency: dependencies{}: {reason}", .index.map(|i| format!(".{i}")).unwrap_or_default())]
    Invalid {
        dependent: String,
        index: Option<usize>,
        reason: String,
    },
    /// The dependency's marketplace does not list it.
    #[error(
        "Dependency `{dependency}` of `{dependent}` is not listed by marketplace `{marketplace}`"
    )]
    NotFound {
        dependent: String,
        dependency: String,
        marketplace: String,
    },
    /// The dependency's marketplace is not known on this machine.
    #[error(
        "Dependency `{dependency}` of `{dependent}` cannot be installed: marketplace `{marketplace}` is not known"
    )]
    MarketplaceUnknown {
        dependent: String,
        dependency: String,
        marketplace: String,
    },
    /// A dependency in another marketplace than the root's, which the root marketplace does not
    /// allow.
    #[error(
        "Dependency `{dependency}` of `{dependent}` is in marketplace `{marketplace}`, which marketplace `{root_marketplace}` does not allow: its marketplace.json does not list `{marketplace}` in `allowCrossMarketplaceDependenciesOn`"
    )]
    CrossMarketplace {
        dependent: String,
        dependency: String,
        marketplace: String,
        root_marketplace: String,
    },
    /// A `version` that is not a version range.
    #[error("`{dependent}` requires `{dependency}` at `{range}`, which is not a version range")]
    InvalidRange {
        dependent: String,
        dependency: String,
        range: String,
    },
    /// No tag and not the version the marketplace offers is in range (or another dependent
    /// already chose a version out of range).
    #[error("No version of `{dependency}` satisfies `{range}` (required by `{dependent}`){}", unsatisfied_detail(.available.as_deref(), .tags))]
    Unsatisfied {
        dependent: String,
        dependency: String,
        range: String,
        /// The version pm would install otherwise.
        available: Option<String>,
        /// The `{name}--v{version}` tags found.
        tags: Vec<String>,
    },
    /// The dependency is installed at this scope at a version out of range.
    #[error(
        "Dependency `{dependency}` is installed at {installed} (scope: {scope}), which does not satisfy `{range}` (required by `{dependent}`)"
    )]
    InstalledMismatch {
        dependent: String,
        dependency: String,
        installed: String,
        range: String,
        scope: Scope,
    },
    /// The dependency's `sha` is not a commit of its marketplace repository.
    #[error(
        "`{dependent}` pins its dependency `{dependency}` to commit `{sha}`, which `{url}` does not have"
    )]
    PinnedCommitNotFound {
        dependent: String,
        dependency: String,
        sha: String,
        url: String,
    },
}

fn unsatisfied_detail(available: Option<&str>, tags: &[String]) -> String {
    let offered = available
        .map(|v| format!("the marketplace offers {v}"))
        .unwrap_or_else(|| "the version offered is not known".into());
    const SHOWN: usize = 10;
    let tags = match tags.len() {
        0 => "no version tags".to_string(),
        n if n <= SHOWN => format!("tags: {}", tags.join(", ")),
        n => format!(
            "tags: {}, and {} more",
            tags[n - SHOWN..].join(", "),
            n - SHOWN
        ),
    };
    format!(": {offered}; {tags}")
}

impl DependencyError {
    /// The `failureCode` of the install's `--json` failure line.
    pub fn failure_code(&self) -> &'static str {
        match self {
            DependencyError::Invalid { .. } => "error_validation",
            DependencyError::PinnedCommitNotFound { .. } => "error_not_found",
            _ => "dependency_unsatisfied",
        }
    }

    /// What the user can do.
    pub fn hint(&self) -> Option<String> {
        let advice = match self {
            DependencyError::Invalid { .. } => {
                "a dependency is \"name\", \"name@marketplace\", or {\"name\": …, \"marketplace\"?: …, \"version\"?: \"<range>\"}; tell the plugin's author".to_string()
            }
            DependencyError::NotFound { marketplace, .. } => format!(
                "your copy of `{marketplace}` may be out of date: run `pm marketplace update {marketplace}`"
            ),
            DependencyError::MarketplaceUnknown { .. } => {
                "add the marketplace with `pm marketplace add <source>`, then install again".into()
            }
            DependencyError::CrossMarketplace {
                marketplace,
                root_marketplace,
                ..
            } => format!(
                "a marketplace opts in to dependencies on another one by listing it in the top-level `allowCrossMarketplaceDependenciesOn` of its marketplace.json (`\"{ALLOW_CROSS_MARKETPLACE_KEY}\": [\"{marketplace}\"]` in `{root_marketplace}`)"
            ),
            DependencyError::InvalidRange { .. } => "tell the plugin's author".into(),
            DependencyError::Unsatisfied { dependency, .. } => {
                let name = dependency.split('@').next().unwrap_or(dependency);
                format!(
                    "versions of a plugin are published as git tags `{name}--v<version>` of its marketplace repository"
                )
            }
            DependencyError::InstalledMismatch {
                dependency, scope, ..
            } => format!(
                "`pm uninstall {dependency} --scope {scope}`, then install again to let pm pick a version in range"
            ),
            DependencyError::PinnedCommitNotFound { .. } => {
                "the commit may not be pushed yet, or was rewritten; tell the plugin's author".into()
            }
        };
        Some(format!("nothing was installed; {advice}"))
    }
}

/// A dependency an install added to the cache (recorded with `auto: true`).
#[derive(Debug, Clone)]
pub struct InstalledDependency {
    /// `name@marketplace`.
    pub id: PluginId,
    /// The recorded version (`<version>-<sha12>` when resolved from a tag).
    pub version: String,
    /// The version of the tag it was resolved from.
    pub resolved_version: Option<String>,
    /// The cache directory.
    pub install_path: PathBuf,
    /// The commit the files come from.
    pub commit: Option<String>,
    /// Links left out of the copy.
    pub copy: CopyReport,
    /// Its marketplace entry.
    pub candidate: Candidate,
}

/// What [`install_dependencies`] works from: the plugin being installed (the root), its version
/// and a directory holding its files, and where it goes.
pub(crate) struct DependencyRequest<'a> {
    pub root: &'a Candidate,
    pub root_version: &'a str,
    pub root_dir: &'a Path,
    pub scope: Scope,
    pub installed: &'a InstalledPlugins,
}

/// A dependency's files, ready to copy into the cache.
struct Staged {
    candidate: Candidate,
    version: String,
    resolved_version: Option<String>,
    commit: Option<String>,
    plugin_dir: PathBuf,
    boundary: PathBuf,
    /// Holds a clone made by `prepare` (removed on drop).
    _prepared: Option<Prepared>,
    /// Holds the checkout of a tag (removed on drop).
    _clone: Option<TempClone>,
}

/// Resolves the dependencies of `request.root`, transitively, and copies each one that is not
/// installed at the scope yet into the cache (each copy registered with `guard`). Nothing is
/// recorded: the caller records the returned dependencies with the root, under the lock.
pub(crate) fn install_dependencies(
    env: &Environment,
    request: &DependencyRequest<'_>,
    guard: &mut CacheGuard,
    reporter: &dyn Reporter,
) -> Result<Vec<InstalledDependency>> {
    let root = request.root;
    let root_values = declared_dependencies(request.root_dir, &root.id, Some(&root.entry))?;
    if root_values.is_empty() {
        return Ok(Vec::new());
    }
    let project_path = env.project_path();
    let known = store::load_known(&env.locations)?;
    let mut manifests: HashMap<String, MarketplaceManifest> = HashMap::new();
    let root_manifest = marketplaces::load_manifest(&root.marketplace, reporter)?;
    let allowed: Vec<String> = root_manifest
        .raw
        .get(ALLOW_CROSS_MARKETPLACE_KEY)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    manifests.insert(root.id.marketplace.clone(), root_manifest);

    // The version chosen for each plugin of the tree (the root included), to check a plugin
    // required twice against every range.
    let mut chosen: HashMap<String, Option<String>> = HashMap::new();
    chosen.insert(root.id.to_string(), Some(request.root_version.to_string()));
    let mut queue: VecDeque<(PluginId, Vec<Value>)> = VecDeque::new();
    queue.push_back((root.id.clone(), root_values));
    let mut staged: Vec<Staged> = Vec::new();

    while let Some((dependent, values)) = queue.pop_front() {
        let dependent_text = dependent.to_string();
        for (index, value) in values.iter().enumerate() {
            let dependency =
                Dependency::parse(value).map_err(|reason| DependencyError::Invalid {
                    dependent: dependent_text.clone(),
                    index: Some(index),
                    reason,
                })?;
            let id = dependency.id(&dependent.marketplace);
            let id_text = id.to_string();
            if let Some(range) = &dependency.ignored_range {
                reporter.warn(&format!(
                    "`{dependent_text}` depends on `{id_text}` with `@{range}` in the string form, which sets no version; only the object form ({{\"name\": \"{}\", \"version\": \"{range}\"}}) constrains it",
                    dependency.name
                ));
            }
            if id.marketplace != root.id.marketplace && !allowed.contains(&id.marketplace) {
                return Err(DependencyError::CrossMarketplace {
                    dependent: dependent_text,
                    dependency: id_text,
                    marketplace: id.marketplace,
                    root_marketplace: root.id.marketplace.clone(),
                }
                .into());
            }
            let range = match &dependency.version {
                None => None,
                Some(text) => Some(VersionRange::parse(text).ok_or_else(|| {
                    DependencyError::InvalidRange {
                        dependent: dependent_text.clone(),
                        dependency: id_text.clone(),
                        range: text.clone(),
                    }
                })?),
            };
            let in_range = |version: Option<&str>| match &range {
                None => true,
                Some(range) => version
                    .and_then(parse_version)
                    .is_some_and(|v| range.matches(&v)),
            };

            // Seen already in this tree (cycles, self-dependencies, diamonds).
            if let Some(version) = chosen.get(&id_text) {
                if !in_range(version.as_deref()) {
                    return Err(DependencyError::Unsatisfied {
                        dependent: dependent_text,
                        dependency: id_text,
                        range: dependency.version.unwrap_or_default(),
                        available: version.clone(),
                        tags: Vec::new(),
                    }
                    .into());
                }
                continue;
            }

            // Installed at this scope: reused when in range.
            if let Some(record) = request
                .installed
                .records(&id_text)
                .iter()
                .find(|r| r.matches(request.scope, &project_path))
            {
                let version = record
                    .resolved_version
                    .clone()
                    .unwrap_or_else(|| record.version.clone());
                if !in_range(Some(&version)) {
                    return Err(DependencyError::InstalledMismatch {
                        dependent: dependent_text,
                        dependency: id_text,
                        installed: version,
                        range: dependency.version.unwrap_or_default(),
                        scope: request.scope,
                    }
                    .into());
                }
                chosen.insert(id_text, Some(version));
                // Its own dependencies, as installed (an unreadable copy declares none).
                let values = declared_dependencies(Path::new(&record.install_path), &id, None)
                    .unwrap_or_default();
                queue.push_back((id, values));
                continue;
            }

            let Some(known_entry) = known.marketplaces.get(&id.marketplace) else {
                return Err(DependencyError::MarketplaceUnknown {
                    dependent: dependent_text,
                    dependency: id_text,
                    marketplace: id.marketplace,
                }
                .into());
            };
            if !manifests.contains_key(&id.marketplace) {
                let manifest = marketplaces::load_manifest(known_entry, reporter)?;
                manifests.insert(id.marketplace.clone(), manifest);
            }
            let Some(entry) = manifests
                .get(&id.marketplace)
                .and_then(|manifest| manifest.find(&id.name))
            else {
                return Err(DependencyError::NotFound {
                    dependent: dependent_text,
                    dependency: id_text,
                    marketplace: id.marketplace,
                }
                .into());
            };
            let candidate = Candidate {
                id: id.clone(),
                entry: entry.clone(),
                marketplace: known_entry.clone(),
            };
            marketplaces::check_policy(env, &candidate.marketplace.source, reporter)?;
            if store::load_managed(&env.locations.managed_root).enabled_entry(&id_text)
                == Some(&Value::Bool(false))
            {
                reporter.warn(&format!(
                    "managed settings disable `{id_text}`: it stays disabled after this install (your organization's policy)"
                ));
            }
            guard.track(&id);
            let item = stage(
                env,
                candidate,
                range.as_ref(),
                dependency.sha.as_deref(),
                &dependent_text,
                reporter,
            )?;
            chosen.insert(
                id_text,
                Some(
                    item.resolved_version
                        .clone()
                        .unwrap_or_else(|| item.version.clone()),
                ),
            );
            let values = declared_dependencies(&item.plugin_dir, &id, Some(&item.candidate.entry))?;
            queue.push_back((id, values));
            staged.push(item);
        }
    }

    let mut installed = Vec::new();
    for item in staged {
        let (install_path, copy) = plugins::place_in_cache(
            env,
            &item.candidate.id,
            &item.plugin_dir,
            &item.boundary,
            &item.version,
        )?;
        guard.placed(&install_path);
        installed.push(InstalledDependency {
            id: item.candidate.id.clone(),
            version: item.version.clone(),
            resolved_version: item.resolved_version.clone(),
            install_path,
            commit: item.commit.clone(),
            copy,
            candidate: item.candidate.clone(),
        });
    }
    Ok(installed)
}

/// Locates a dependency's files: with a `sha`, that commit of the marketplace repository;
/// else with a range, the highest `{name}--v{version}` tag in range when there is one; else the
/// version the marketplace offers now. The version found must be in the range.
fn stage(
    env: &Environment,
    candidate: Candidate,
    range: Option<&VersionRange>,
    sha: Option<&str>,
    dependent: &str,
    reporter: &dyn Reporter,
) -> Result<Staged> {
    if let Some(sha) = sha {
        match stage_commit(env, &candidate, sha, dependent, reporter)? {
            Some(staged) => {
                let version = staged.resolved_version.as_deref().unwrap_or(&staged.version);
                if let Some(range) = range
                    && !parse_version(version).is_some_and(|v| range.matches(&v))
                {
                    return Err(DependencyError::Unsatisfied {
                        dependent: dependent.to_string(),
                        dependency: candidate.id.to_string(),
                        range: range.as_str().to_string(),
                        available: Some(version.to_string()),
                        tags: Vec::new(),
                    }
                    .into());
                }
                return Ok(staged);
            }
            None => reporter.warn(&format!(
                "`{dependent}` pins its dependency `{}` to commit `{sha}`, but `{}` is not in a git repository pm can check out: installing the version the marketplace offers",
                candidate.id, candidate.id.marketplace
            )),
        }
    }
    let mut tags = Vec::new();
    if let Some(range) = range
        && let Some(staged) = stage_tag(env, &candidate, range, &mut tags, reporter)?
    {
        return Ok(staged);
    }
    let prepared = plugins::prepare(env, &candidate, reporter)?;
    if let Some(range) = range
        && !parse_version(&prepared.version).is_some_and(|v| range.matches(&v))
    {
        return Err(DependencyError::Unsatisfied {
            dependent: dependent.to_string(),
            dependency: candidate.id.to_string(),
            range: range.as_str().to_string(),
            available: Some(prepared.version.clone()),
            tags,
        }
        .into());
    }
    Ok(Staged {
        version: prepared.version.clone(),
        resolved_version: None,
        commit: prepared.commit.clone(),
        plugin_dir: prepared.plugin_dir.clone(),
        boundary: prepared.boundary.clone(),
        candidate,
        _prepared: Some(prepared),
        _clone: None,
    })
}

/// The highest `{name}--v{version}` tag of the marketplace repository in `range`, checked out
/// into a temporary directory inside the plugin's cache directory; `None` when the plugin is
/// not in the marketplace's repository (not a relative source, a marketplace that is not a git
/// repository) or no tag is in range. Every such tag seen is added to `seen`.
fn stage_tag(
    env: &Environment,
    candidate: &Candidate,
    range: &VersionRange,
    seen: &mut Vec<String>,
    reporter: &dyn Reporter,
) -> Result<Option<Staged>> {
    let Some((urls, subdir, source)) = marketplace_repository(candidate) else {
        return Ok(None);
    };
    let prefix = format!("{}--v", candidate.id.name);
    let mut listed = None;
    let mut first_error = None;
    for url in &urls {
        match git::list_tags(url, &prefix, &env.git) {
            Ok(tags) => {
                listed = Some((url.clone(), tags));
                break;
            }
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    let Some((url, tags)) = listed else {
        if let Some(error) = first_error {
            reporter.warn(&format!(
                "could not list the version tags of `{}`: {error}",
                candidate.id
            ));
        }
        return Ok(None);
    };
    let mut best: Option<(semver::Version, String, String)> = None;
    for (tag, _commit) in &tags {
        let Some(text) = tag.strip_prefix(&prefix) else {
            continue;
        };
        seen.push(tag.clone());
        let Some(version) = parse_version(text) else {
            continue;
        };
        if range.matches(&version) && best.as_ref().is_none_or(|(b, _, _)| version > *b) {
            best = Some((version, text.to_string(), tag.clone()));
        }
    }
    let Some((_, text, tag)) = best else {
        return Ok(None);
    };
    let plugin_cache = env
        .locations
        .cache_dir()
        .join(&candidate.id.marketplace)
        .join(&candidate.id.name);
    let clone_source = MarketplaceSource::Git {
        url,
        reference: Some(tag.clone()),
        sparse_paths: None,
    };
    let clone = marketplaces::clone_into_temp(env, &clone_source, &plugin_cache, reporter)?;
    let boundary = clone.path.join(&subdir);
    let plugin_dir = plugins::relative_source_dir(&candidate.id, &boundary, source)?;
    if !plugin_dir.is_dir() {
        return Err(Error::SourcePathMissing(plugin_dir));
    }
    let commit = clone.head.clone();
    let short: String = commit.chars().take(12).collect();
    Ok(Some(Staged {
        candidate: candidate.clone(),
        version: format!("{text}-{short}"),
        resolved_version: Some(text),
        commit: Some(commit),
        plugin_dir,
        boundary,
        _prepared: None,
        _clone: Some(clone),
    }))
}

/// Where a plugin with a relative source lives in git: the URLs of its marketplace's repository
/// (for a directory marketplace, the repository that holds it), the marketplace's directory
/// inside that repository, and the entry's relative source. `None` for other sources and for
/// marketplaces that are not in a git repository.
fn marketplace_repository(candidate: &Candidate) -> Option<(Vec<String>, PathBuf, &str)> {
    let PluginSource::Relative(source) = &candidate.entry.source else {
        return None;
    };
    match &candidate.marketplace.source {
        MarketplaceSource::Directory { .. } => {
            let dir = PathBuf::from(&candidate.marketplace.install_location);
            let root = find_git_root(&dir)?;
            let subdir = dir
                .strip_prefix(&root)
                .map(Path::to_path_buf)
                .unwrap_or_default();
            Some((vec![root.to_string_lossy().into_owned()], subdir, source))
        }
        marketplace @ (MarketplaceSource::Github { .. } | MarketplaceSource::Git { .. }) => Some((
            marketplaces::clone_urls(marketplace),
            PathBuf::new(),
            source,
        )),
        _ => None,
    }
}

/// The dependency as it is at commit `sha` of its marketplace's repository (the object form's
/// `sha`), cloned into a temporary directory inside the plugin's cache directory. Its version is
/// plugin.json's at that commit (else the entry's), cached as `<version>-<sha12>` with
/// `resolvedVersion`, as a tag resolution is; without any version, as `<sha12>`. `None` when the
/// plugin is not in a git repository (see [`marketplace_repository`]).
///
/// Errors: the `sha` is not 40 hex digits ([`DependencyError::Invalid`]); the repository does
/// not have the commit ([`DependencyError::PinnedCommitNotFound`]); the plugin's directory does not exist at
/// that commit ([`Error::SourcePathMissing`]).
fn stage_commit(
    env: &Environment,
    candidate: &Candidate,
    sha: &str,
    dependent: &str,
    reporter: &dyn Reporter,
) -> Result<Option<Staged>> {
    let sha = sha.trim().to_ascii_lowercase();
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DependencyError::Invalid {
            dependent: dependent.to_string(),
            index: None,
            reason: format!(
                "the `sha` of `{}` must be a full 40-character commit hash, not `{sha}`",
                candidate.id
            ),
        }
        .into());
    }
    let Some((urls, subdir, source)) = marketplace_repository(candidate) else {
        return Ok(None);
    };
    let Some(url) = urls.first().cloned() else {
        return Ok(None);
    };
    let plugin_cache = env
        .locations
        .cache_dir()
        .join(&candidate.id.marketplace)
        .join(&candidate.id.name);
    let clone_source = MarketplaceSource::Git {
        url: url.clone(),
        reference: None,
        sparse_paths: None,
    };
    let mut clone = marketplaces::clone_into_temp(env, &clone_source, &plugin_cache, reporter)?;
    let shown = pm_core::source::redact_credentials(&url).unwrap_or_else(|| url.clone());
    if !crate::sources::check_out_pin(env, &mut clone, &sha, &[], &shown, reporter)? {
        return Err(DependencyError::PinnedCommitNotFound {
            dependent: dependent.to_string(),
            dependency: candidate.id.to_string(),
            sha,
            url: shown,
        }
        .into());
    }
    let boundary = clone.path.join(&subdir);
    let plugin_dir = plugins::relative_source_dir(&candidate.id, &boundary, source)?;
    if !plugin_dir.is_dir() {
        return Err(Error::SourcePathMissing(plugin_dir));
    }
    let manifest = plugins::read_plugin_manifest(&plugin_dir)?;
    let declared = manifest
        .as_ref()
        .and_then(|m| m.version.clone())
        .or_else(|| candidate.entry.version.clone())
        .filter(|version| !version.trim().is_empty());
    let short: String = clone.head.chars().take(12).collect();
    let (version, resolved_version) = match declared {
        Some(declared) => (format!("{declared}-{short}"), Some(declared)),
        None => (short, None),
    };
    Ok(Some(Staged {
        candidate: candidate.clone(),
        version,
        resolved_version,
        commit: Some(clone.head.clone()),
        plugin_dir,
        boundary,
        _prepared: None,
        _clone: Some(clone),
    }))
}

/// The cache directories an install creates, removed again when it fails (DEVIATIONS 14):
/// version directories that did not exist before (unless a record uses them by then), the
/// `.orphaned_at` marker of a reused directory put back, and the plugin and marketplace
/// directories created for them removed when left empty. [`CacheGuard::commit`] keeps
/// everything.
pub(crate) struct CacheGuard {
    locations: Locations,
    tracked: Vec<Tracked>,
    placed: Vec<PathBuf>,
    committed: bool,
}

/// A plugin's cache directory as it was before the install touched it.
struct Tracked {
    dir: PathBuf,
    /// Directories on the way to `dir` that did not exist, deepest first.
    created: Vec<PathBuf>,
    /// Its version directories, with the content of their `.orphaned_at`.
    before: HashMap<OsString, Option<Vec<u8>>>,
}

impl CacheGuard {
    /// A guard over `env`'s cache.
    pub(crate) fn new(env: &Environment) -> Self {
        CacheGuard {
            locations: env.locations.clone(),
            tracked: Vec::new(),
            placed: Vec::new(),
            committed: false,
        }
    }

    /// Remembers the state of `id`'s cache directory (`cache/<marketplace>/<plugin>`); call it
    /// before anything is cloned or copied there.
    pub(crate) fn track(&mut self, id: &PluginId) {
        if !is_safe_path_component(&id.name) || !is_safe_path_component(&id.marketplace) {
            return;
        }
        let dir = self
            .locations
            .cache_dir()
            .join(&id.marketplace)
            .join(&id.name);
        if self.tracked.iter().any(|t| t.dir == dir) {
            return;
        }
        let plugins = self.locations.plugins_dir();
        let created = dir
            .ancestors()
            .take_while(|d| {
                d.starts_with(&plugins) && *d != plugins && std::fs::symlink_metadata(d).is_err()
            })
            .map(Path::to_path_buf)
            .collect();
        let mut before = HashMap::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let orphaned = std::fs::read(entry.path().join(ORPHANED_MARKER)).ok();
                before.insert(entry.file_name(), orphaned);
            }
        }
        self.tracked.push(Tracked {
            dir,
            created,
            before,
        });
    }

    /// Registers a version directory the install placed (new or reused).
    pub(crate) fn placed(&mut self, path: &Path) {
        self.placed.push(path.to_path_buf());
    }

    /// The install is recorded: keep everything.
    pub(crate) fn commit(mut self) {
        self.committed = true;
    }

    fn rollback(&self) {
        let installed = store::load_installed(&self.locations).ok();
        let cache = self.locations.cache_dir();
        for path in self.placed.iter().rev() {
            let text = path.to_string_lossy();
            if installed
                .as_ref()
                .is_some_and(|i| i.uses_install_path(&text))
            {
                continue;
            }
            let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
                continue;
            };
            let Some(tracked) = self.tracked.iter().find(|t| t.dir == parent) else {
                continue;
            };
            // Best effort: the error that made the install fail is the one to report.
            match tracked.before.get(name) {
                None => {
                    let _ = remove_tree(path, &cache);
                }
                Some(Some(marker)) => {
                    let _ = write_atomic(&path.join(ORPHANED_MARKER), marker);
                }
                Some(None) => {}
            }
        }
        // Later plugins' directories first: they may sit in a marketplace directory an
        // earlier one created.
        for tracked in self.tracked.iter().rev() {
            for dir in &tracked.created {
                if std::fs::remove_dir(dir).is_err() {
                    break;
                }
            }
        }
    }
}

impl Drop for CacheGuard {
    fn drop(&mut self) {
        if !self.committed {
            self.rollback();
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use serde_json::json;

    fn version(text: &str) -> semver::Version {
        semver::Version::parse(text).unwrap()
    }

    #[test]
    fn string_forms() {
        let parsed = Dependency::parse(&json!("b")).unwrap();
        assert_eq!((parsed.name.as_str(), parsed.marketplace), ("b", None));
        let parsed = Dependency::parse(&json!("b@other")).unwrap();
        assert_eq!(parsed.marketplace.as_deref(), Some("other"));
        let parsed = Dependency::parse(&json!("c@^2.0.0")).unwrap();
        assert_eq!(parsed.marketplace, None);
        assert_eq!(parsed.version, None);
        assert_eq!(parsed.ignored_range.as_deref(), Some("^2.0.0"));
        let parsed = Dependency::parse(&json!("c@m2@>=1")).unwrap();
        assert_eq!(parsed.marketplace.as_deref(), Some("m2"));
        assert_eq!(parsed.ignored_range.as_deref(), Some(">=1"));
        let parsed = Dependency::parse(&json!("c@1password")).unwrap();
        assert_eq!(parsed.marketplace.as_deref(), Some("1password"));
        let parsed = Dependency::parse(&json!("c@1.x")).unwrap();
        assert_eq!(parsed.marketplace, None);
        assert_eq!(parsed.id("m").to_string(), "c@m");
        assert!(Dependency::parse(&json!("")).is_err());
        assert!(Dependency::parse(&json!("../x")).is_err());
    }

    #[test]
    fn object_forms() {
        let parsed =
            Dependency::parse(&json!({"name": "c", "version": "^2.0.0", "extra": 1})).unwrap();
        assert_eq!(parsed.version.as_deref(), Some("^2.0.0"));
        let parsed = Dependency::parse(&json!({"name": "o", "marketplace": "m2"})).unwrap();
        assert_eq!(parsed.id("m").to_string(), "o@m2");
        assert!(Dependency::parse(&json!({"name": "o@m2"})).is_err());
        assert!(Dependency::parse(&json!({"version": "1"})).is_err());
        assert!(Dependency::parse(&json!({"name": "o", "version": 1})).is_err());
        assert!(Dependency::parse(&json!(3)).is_err());
    }

    #[test]
    fn npm_ranges() {
        let cases = [
            ("^2.0.0", "2.1.0", true),
            ("^2.0.0", "3.0.0", false),
            ("~1.2", "1.2.9", true),
            ("~1.2", "1.3.0", false),
            (">=1.0.0 <2", "1.9.9", true),
            (">= 1.0.0", "1.0.0", true),
            ("1.2.3", "1.2.4", false),
            ("1.2.3", "1.2.3", true),
            ("1.x", "1.7.0", true),
            ("1.x", "2.0.0", false),
            ("*", "0.0.1", true),
            ("", "0.0.1", true),
            ("1.2 - 2.3", "2.3.9", true),
            ("1.2 - 2.3", "2.4.0", false),
            ("^1 || ^3", "3.1.0", true),
            ("^1 || ^3", "2.0.0", false),
            ("v1.0.0", "1.0.0", true),
        ];
        for (range, v, expected) in cases {
            let parsed = VersionRange::parse(range).unwrap_or_else(|| panic!("{range}"));
            assert_eq!(parsed.matches(&version(v)), expected, "{range} vs {v}");
        }
        for bad in ["not-a-range", ">=", "1.0.0 - ", "~>1.0"] {
            assert!(VersionRange::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(parse_version("v2.1.0"), Some(version("2.1.0")));
        assert_eq!(parse_version("unknown"), None);
    }
}
