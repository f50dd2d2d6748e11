//! `pm details`: a plugin's component inventory and its projected token cost
//! (reference-advanced.md §3).
//!
//! The inventory follows Claude Code's loader and its `plugin details` command, quirks included:
//!
//! * **Skills** are the direct subdirectories of `skills/` (and of extra skill paths from
//!   `plugin.json` or the marketplace entry) that hold a `SKILL.md`, named by the directory; a
//!   skills path that itself holds `SKILL.md` is one skill named by its frontmatter `name`. With
//!   no `skills/` directory and no declared skill paths, a `SKILL.md` at the plugin root is one
//!   skill.
//! * **Commands** are the `*.md` files directly in `commands/` (only when `plugin.json` declares
//!   no `commands`) and in the declared command directories, named by the file name without
//!   `.md`. Links to files are not counted (Claude Code lists directory entries that are files).
//! * **Agents** are the `*.md` files directly in `agents/` (only when `plugin.json` declares no
//!   `agents`) and in declared agent *directories*. Declared agent *files* are not counted: the
//!   reference lists them as directories, which fails.
//! * **Hooks** are distinct event names: `hooks/hooks.json` first, then `plugin.json`'s `hooks`
//!   (files and inline objects), then the marketplace entry's.
//! * **MCP servers**: the keys of `.mcp.json` (`{"mcpServers": {…}}` or a bare map), then of
//!   `plugin.json`'s `mcpServers` (inline objects, or JSON files), without repeats; when there
//!   are none, the marketplace entry's.
//! * **LSP servers**: the keys of `.lsp.json`, then `plugin.json`'s inline `lspServers`.
//! * Rows of the per-component table come in directory-listing order (skills, then agents, then
//!   commands); the inventory line sorts skill and command names together.
//!
//! The token estimate is Claude Code's offline fallback: each skill, agent and command has an
//! *always-on* text (`"<plugin>:<name> <description>[ <when_to_use>]"`; for agents the bare file
//! name) and an *on-invoke* text (the body after the frontmatter, trimmed). Lengths are counted
//! as JavaScript counts them (UTF-16 code units), and `tokens = Math.round(chars / 4)`.
//!
//! Safety: nothing outside the plugin directory is read. A link (or a declared path) that leads
//! out of it is skipped with a note; so are FIFOs and other non-regular files. Every file is
//! read up to [`MAX_FILE_BYTES`] (the reference's own cap for component files): a larger file
//! is counted from its first MiB and a note says so. Invalid UTF-8 (binary files included) is
//! decoded lossily, each bad sequence becoming U+FFFD, as the reference's `Buffer.toString`
//! does; such files are counted, not skipped.

use crate::environment::Environment;
use crate::error::Error;
use crate::marketplaces::{self, normalize};
use crate::plugins;
use crate::reporter::Reporter;
use crate::store;
use pm_core::frontmatter::{self, Fields, Value as YamlValue};
use pm_core::id::{PluginId, PluginRef};
use pm_core::marketplace::{ManifestError, PluginEntry};
use pm_core::plugin::{PLUGIN_MANIFEST_PATH, PluginManifest};
use pm_core::scope::Scope;
use serde_json::{Map, Value};
use std::io::Read;
use std::path::{Component as PathComponent, Path, PathBuf};

/// The most bytes read from any one file (1 MiB), as Claude Code reads component files.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// Per-component cells below this many tokens print as `< 20`.
pub const SMALL_COMPONENT_TOKENS: u64 = 20;

/// Why `pm details` could not show a plugin.
#[derive(Debug, thiserror::Error)]
pub enum DetailsError {
    /// No installed plugin here has that name (or `name@marketplace`), and the argument is not
    /// a plugin directory.
    #[error("Plugin `{plugin}` not found: no plugin of that name is installed for `{cwd}`")]
    NotFound {
        /// The argument as typed.
        plugin: String,
        /// The directory the records were matched against.
        cwd: String,
    },
    /// A bare name that matches installed plugins of several marketplaces.
    #[error("Plugin `{plugin}` is ambiguous: it matches {}", .candidates.join(", "))]
    Ambiguous {
        /// The argument as typed.
        plugin: String,
        /// The matching plugin ids.
        candidates: Vec<String>,
    },
    /// A path argument that is not a directory.
    #[error("`{}` is not a plugin directory: {reason}", .path.display())]
    NotADirectory {
        /// The path, made absolute.
        path: PathBuf,
        /// `it does not exist`, `it is a file`, …
        reason: String,
    },
    /// The directory an installed plugin loads from is gone.
    #[error("The files of `{id}` are missing: `{}` is not a directory", .path.display())]
    FilesMissing {
        /// The plugin id.
        id: String,
        /// The install path (or source folder) that was expected.
        path: PathBuf,
    },
    /// `.claude-plugin/plugin.json` is not valid.
    #[error("Invalid plugin manifest `{}`: {source}", .path.display())]
    Manifest {
        /// The plugin.json path.
        path: PathBuf,
        /// What is wrong, with line and column for JSON errors.
        source: ManifestError,
    },
    /// A `strict: false` marketplace entry that declares components while the plugin has its
    /// own plugin.json: Claude Code refuses to load such a plugin.
    #[error(
        "Plugin `{id}` has conflicting manifests: its plugin.json and its marketplace entry (`strict: false`) both declare components"
    )]
    ConflictingManifests {
        /// The plugin id.
        id: String,
    },
    /// Reading installed_plugins.json, known_marketplaces.json or a directory failed.
    #[error(transparent)]
    State(#[from] Error),
}

impl DetailsError {
    /// The `failureCode` of the `--json` failure line.
    pub fn failure_code(&self) -> &'static str {
        match self {
            DetailsError::NotFound { .. } | DetailsError::NotADirectory { .. } => "not_found",
            DetailsError::Ambiguous { .. } => "ambiguous_marketplace",
            DetailsError::FilesMissing { .. } => "error_not_found",
            DetailsError::Manifest { .. } | DetailsError::ConflictingManifests { .. } => {
                "error_validation"
            }
            DetailsError::State(error) => error.failure_code(),
        }
    }

    /// The next step for the user, when there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        match self {
            DetailsError::NotFound { .. } => Some(
                "run `pm list` to see installed plugins, or pass the path of a plugin directory (`pm details ./my-plugin`)".into(),
            ),
            DetailsError::Ambiguous { candidates, .. } => candidates
                .first()
                .map(|id| format!("name the marketplace, for example `pm details {id}`")),
            DetailsError::FilesMissing { id, .. } => Some(format!(
                "reinstall it: `pm uninstall {id}` then `pm install {id}`"
            )),
            DetailsError::Manifest { .. } => {
                Some("fix plugin.json (`pm validate <plugin directory>` lists every problem)".into())
            }
            DetailsError::ConflictingManifests { .. } => Some(
                "set `strict: true` in the marketplace entry, or remove the component fields from one of the two".into(),
            ),
            DetailsError::NotADirectory { .. } => None,
            DetailsError::State(error) => error.hint(),
        }
    }
}

/// What kind of component a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    /// A `SKILL.md` skill.
    Skill,
    /// An agent file.
    Agent,
    /// A command file (counted with the skills in the inventory line).
    Command,
}

impl ComponentKind {
    /// `skill`, `agent` or `command`.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentKind::Skill => "skill",
            ComponentKind::Agent => "agent",
            ComponentKind::Command => "command",
        }
    }
}

/// One skill, agent or command and its measured texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    /// The name shown: the skill's directory name, or the file name without `.md`.
    pub name: String,
    /// Skill, agent or command.
    pub kind: ComponentKind,
    /// The skill directory or the component file (lexical, inside the plugin directory).
    pub path: PathBuf,
    /// Length of the always-on text in UTF-16 code units (JavaScript's `length`).
    pub always_on_chars: u64,
    /// Length of the on-invoke text (the trimmed body) in UTF-16 code units.
    pub on_invoke_chars: u64,
    /// Whether the file was larger than [`MAX_FILE_BYTES`] and only its start was counted.
    pub truncated: bool,
}

impl Component {
    /// Estimated always-on tokens: `Math.round(always_on_chars / 4)`.
    pub fn always_on_tokens(&self) -> u64 {
        estimate_tokens(self.always_on_chars)
    }

    /// Estimated on-invoke tokens: `Math.round(on_invoke_chars / 4)`.
    pub fn on_invoke_tokens(&self) -> u64 {
        estimate_tokens(self.on_invoke_chars)
    }
}

/// Everything a plugin brings, in the reference's order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    /// Skills in listing order (skills path by skills path, directory-listing order within).
    pub skills: Vec<Component>,
    /// Agents in listing order.
    pub agents: Vec<Component>,
    /// Commands in listing order.
    pub commands: Vec<Component>,
    /// Hook event names, without repeats: hooks.json first, then plugin.json, then the entry.
    pub hooks: Vec<String>,
    /// MCP server names.
    pub mcp_servers: Vec<String>,
    /// LSP server names.
    pub lsp_servers: Vec<String>,
}

impl Inventory {
    /// Skill and command names together, sorted as JavaScript sorts strings (by UTF-16 code
    /// units): the inventory's `Skills (N)` line.
    pub fn skill_and_command_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .skills
            .iter()
            .chain(&self.commands)
            .map(|c| c.name.clone())
            .collect();
        names.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
        names
    }

    /// The rows of the per-component table: skills, then agents, then commands.
    pub fn rows(&self) -> impl Iterator<Item = &Component> {
        self.skills.iter().chain(&self.agents).chain(&self.commands)
    }

    /// Sum of the always-on lengths of every row (UTF-16 code units).
    pub fn always_on_chars(&self) -> u64 {
        self.rows().map(|c| c.always_on_chars).sum()
    }

    /// Sum of the on-invoke lengths of every row (UTF-16 code units).
    pub fn on_invoke_chars(&self) -> u64 {
        self.rows().map(|c| c.on_invoke_chars).sum()
    }

    /// The always-on total: `Math.round(sum of always-on chars / 4)`.
    pub fn always_on_tokens(&self) -> u64 {
        estimate_tokens(self.always_on_chars())
    }

    /// The on-invoke total: `Math.round(sum of on-invoke chars / 4)` (pm's JSON only).
    pub fn on_invoke_tokens(&self) -> u64 {
        estimate_tokens(self.on_invoke_chars())
    }
}

/// The install record behind an installed plugin's details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledState {
    /// The scope of the record used (the most specific one that applies here).
    pub scope: Scope,
    /// Whether the plugin is enabled here (effective state).
    pub enabled: bool,
    /// The record's `installPath`.
    pub install_path: String,
    /// The record's `version`.
    pub version: String,
}

/// A plugin's details: what `pm details` prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginDetails {
    /// The plugin's name (plugin.json `name`; else the entry's; else the directory name).
    pub name: String,
    /// `displayName` (the marketplace entry's wins), when set and not the name itself.
    pub display_name: Option<String>,
    /// plugin.json `version` (the entry's when there is no plugin.json); not the record's.
    pub version: Option<String>,
    /// The marketplace entry's `description`, else plugin.json's.
    pub description: Option<String>,
    /// The plugin id (`name@marketplace` as recorded), or `<name>@inline` for a directory.
    pub source: String,
    /// The directory inspected.
    pub path: PathBuf,
    /// For an installed plugin: the record used.
    pub installed: Option<InstalledState>,
    /// The components.
    pub inventory: Inventory,
    /// What was skipped or cut short (links leaving the plugin, unreadable or large files).
    pub notes: Vec<String>,
}

/// Finds the plugin `argument` names and takes its inventory.
///
/// `argument` is a plugin directory when it contains a path separator, is `.`/`..`/`~…`, or
/// names an existing directory that holds `.claude-plugin/plugin.json` or components;
/// otherwise it is `name` or `name@marketplace` (case-insensitive), matched against the install
/// records that apply in the cwd (user and managed records, and project/local records of the
/// cwd); the most specific scope's record is used (local, project, user, managed). Disabled
/// plugins are shown too. A directory marketplace's plugin is read from its source folder (as
/// Claude Code loads it), any other from its install path.
///
/// # Errors
/// [`DetailsError::NotFound`], [`DetailsError::Ambiguous`], [`DetailsError::NotADirectory`],
/// [`DetailsError::FilesMissing`], [`DetailsError::Manifest`],
/// [`DetailsError::ConflictingManifests`], or [`DetailsError::State`] when
/// installed_plugins.json or known_marketplaces.json cannot be read.
pub fn details(
    env: &Environment,
    argument: &str,
    reporter: &dyn Reporter,
) -> Result<PluginDetails, DetailsError> {
    if let Some(path) = directory_argument(env, argument) {
        return inspect_directory(&path);
    }
    let plugin = PluginRef::parse(argument);
    let project_path = env.project_path();
    let rows: Vec<plugins::ListedPlugin> = plugins::list(env, reporter)?
        .into_iter()
        .filter(|row| {
            row.record.as_ref().is_some_and(|record| {
                !record.scope.has_project_path()
                    || record.project_path.as_deref() == Some(project_path.as_str())
            })
        })
        .collect();
    let wanted_name = plugin.name.to_lowercase();
    let wanted_marketplace = plugin.marketplace.as_ref().map(|m| m.to_lowercase());
    let mut ids: Vec<(String, PluginId)> = Vec::new();
    for row in &rows {
        let Some(id) = PluginId::parse_key(&row.id) else {
            continue;
        };
        let name_matches = id.name.to_lowercase() == wanted_name;
        let marketplace_matches = wanted_marketplace
            .as_ref()
            .is_none_or(|m| id.marketplace.to_lowercase() == *m);
        if name_matches && marketplace_matches && !ids.iter().any(|(key, _)| *key == row.id) {
            ids.push((row.id.clone(), id));
        }
    }
    if ids.len() > 1 {
        // Several ids differing only in case: the exact spelling wins.
        let exact: Vec<(String, PluginId)> = ids
            .iter()
            .filter(|(_, id)| {
                id.name == plugin.name
                    && plugin
                        .marketplace
                        .as_ref()
                        .is_none_or(|m| id.marketplace == *m)
            })
            .cloned()
            .collect();
        if exact.len() == 1 {
            ids = exact;
        }
    }
    let (key, id) = match ids.as_slice() {
        [] => {
            return Err(DetailsError::NotFound {
                plugin: argument.to_string(),
                cwd: project_path,
            });
        }
        [only] => only.clone(),
        _ => {
            return Err(DetailsError::Ambiguous {
                plugin: argument.to_string(),
                candidates: ids.iter().map(|(key, _)| key.clone()).collect(),
            });
        }
    };
    let specificity = |scope: Scope| match scope {
        Scope::Local => 0,
        Scope::Project => 1,
        Scope::User => 2,
        Scope::Managed => 3,
    };
    let Some(row) = rows
        .iter()
        .filter(|row| row.id == key)
        .min_by_key(|row| specificity(row.scope))
    else {
        return Err(DetailsError::NotFound {
            plugin: argument.to_string(),
            cwd: project_path,
        });
    };
    let Some(record) = row.record.as_ref() else {
        return Err(DetailsError::NotFound {
            plugin: argument.to_string(),
            cwd: project_path,
        });
    };
    let install_path = PathBuf::from(&record.install_path);
    let directory = match &row.read_from_folder {
        Some(folder) if folder.is_dir() => folder.clone(),
        _ => install_path.clone(),
    };
    if !directory.is_dir() {
        return Err(DetailsError::FilesMissing {
            id: key,
            path: directory,
        });
    }
    let mut notes = Vec::new();
    let entry = marketplace_entry(env, &id, reporter, &mut notes);
    let mut details = inspect(
        &directory,
        Origin::Installed {
            id: &key,
            entry: entry.as_ref(),
        },
    )?;
    notes.append(&mut details.notes);
    details.notes = notes;
    details.installed = Some(InstalledState {
        scope: record.scope,
        enabled: row.enabled,
        install_path: record.install_path.clone(),
        version: record.version.clone(),
    });
    Ok(details)
}

/// The inventory of a plugin directory given by path (`<name>@inline`, as Claude Code names
/// a plugin loaded with `--plugin-dir`).
///
/// # Errors
/// [`DetailsError::NotADirectory`] when `path` is not a directory; [`DetailsError::Manifest`]
/// when its plugin.json is invalid.
pub fn inspect_directory(path: &Path) -> Result<PluginDetails, DetailsError> {
    if !path.is_dir() {
        let reason = if path.exists() {
            "it is not a directory"
        } else {
            "it does not exist"
        };
        return Err(DetailsError::NotADirectory {
            path: path.to_path_buf(),
            reason: reason.into(),
        });
    }
    inspect(path, Origin::Directory)
}

/// The name a plugin directory loads under (`--plugin-dir`): plugin.json's `name` when it is a
/// non-empty string, else the directory's own name. `None` when `dir` is not a directory.
/// plugin.json is read up to [`MAX_FILE_BYTES`]; an unreadable one falls back to the
/// directory's name (the inspection reports it).
pub fn directory_plugin_name(dir: &Path) -> Option<String> {
    if !dir.is_dir() {
        return None;
    }
    let declared = Boundary::new(dir)
        .ok()
        .and_then(|boundary| read_inside(&boundary, &dir.join(PLUGIN_MANIFEST_PATH)).ok())
        .and_then(|bounded| serde_json::from_str::<serde_json::Value>(&bounded.text).ok())
        .and_then(|value| {
            value
                .get("name")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        })
        .filter(|name| !name.trim().is_empty());
    declared.or_else(|| {
        dir.canonicalize()
            .ok()?
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
    })
}

/// The plugin directory an argument names, or `None` for a plugin name.
fn directory_argument(env: &Environment, argument: &str) -> Option<PathBuf> {
    let expanded = if argument == "~" {
        env.home.clone()
    } else if let Some(rest) = argument.strip_prefix("~/") {
        env.home.join(rest)
    } else {
        PathBuf::from(argument)
    };
    let absolute = normalize(&env.locations.cwd.join(&expanded));
    let has_separator = argument.contains('/') || (cfg!(windows) && argument.contains('\\'));
    if has_separator || matches!(argument, "." | ".." | "~") {
        return Some(absolute);
    }
    let markers = [
        PLUGIN_MANIFEST_PATH,
        "commands",
        "agents",
        "skills",
        "hooks/hooks.json",
        ".mcp.json",
        ".lsp.json",
        "SKILL.md",
    ];
    (absolute.is_dir() && markers.iter().any(|m| absolute.join(m).exists())).then_some(absolute)
}

/// The marketplace entry of an installed plugin, when its marketplace is known and lists it.
fn marketplace_entry(
    env: &Environment,
    id: &PluginId,
    reporter: &dyn Reporter,
    notes: &mut Vec<String>,
) -> Option<PluginEntry> {
    let known = match store::load_known(&env.locations) {
        Ok(known) => known,
        Err(error) => {
            notes.push(format!(
                "the marketplace entry of `{id}` was not read ({error}): its description and components are not included"
            ));
            return None;
        }
    };
    let Some(marketplace) = known.marketplaces.get(&id.marketplace) else {
        notes.push(format!(
            "marketplace `{}` is not known: the description and components of its entry for `{id}` are not included",
            id.marketplace
        ));
        return None;
    };
    match marketplaces::load_manifest(marketplace, reporter) {
        Ok(manifest) => {
            let entry = manifest.find(&id.name).cloned();
            if entry.is_none() {
                notes.push(format!(
                    "marketplace `{}` no longer lists `{}`: its entry's description and components are not included",
                    id.marketplace, id.name
                ));
            }
            entry
        }
        Err(error) => {
            notes.push(format!(
                "the marketplace entry of `{id}` was not read ({error}): its description and components are not included"
            ));
            None
        }
    }
}

/// Where the plugin directory comes from.
#[derive(Debug, Clone, Copy)]
enum Origin<'a> {
    /// A path given on the command line.
    Directory,
    /// An installed plugin: its recorded id and its marketplace entry.
    Installed {
        id: &'a str,
        entry: Option<&'a PluginEntry>,
    },
}

/// The plugin directory and the only tree pm reads from.
struct Boundary {
    /// The directory as given (lexical, absolute); component paths are built on it.
    root: PathBuf,
    /// Its canonical path: every file read must canonicalize inside it.
    canonical: PathBuf,
}

/// Where a path leads.
enum Resolved {
    /// Inside the plugin directory: the canonical path.
    Inside(PathBuf),
    /// Outside it (through a link): the canonical target.
    Outside(PathBuf),
    /// Nothing there (or not resolvable).
    Missing,
}

impl Boundary {
    fn new(root: &Path) -> std::io::Result<Self> {
        Ok(Boundary {
            root: root.to_path_buf(),
            canonical: fs_err::canonicalize(root)?,
        })
    }

    fn resolve(&self, path: &Path) -> Resolved {
        match std::fs::canonicalize(path) {
            Ok(canonical) if canonical.starts_with(&self.canonical) => Resolved::Inside(canonical),
            Ok(canonical) => Resolved::Outside(canonical),
            Err(_) => Resolved::Missing,
        }
    }

    /// `relative` (from a manifest) joined to the root, when it stays inside lexically.
    fn join_declared(&self, relative: &str) -> Option<PathBuf> {
        let relative_path = Path::new(relative);
        if relative_path.is_absolute()
            || relative_path
                .components()
                .any(|c| matches!(c, PathComponent::Prefix(_) | PathComponent::RootDir))
        {
            return None;
        }
        let joined = normalize(&self.root.join(relative_path));
        joined.starts_with(normalize(&self.root)).then_some(joined)
    }
}

/// A file's text, read up to [`MAX_FILE_BYTES`] and decoded lossily.
struct BoundedText {
    text: String,
    truncated: bool,
}

/// Why a file was not read.
enum Unread {
    /// No such file (or not a regular file where one was expected).
    Missing,
    /// A note for the user: a link out of the plugin, a FIFO, a permission error.
    Skipped(String),
}

/// Reads `path` when it is a regular file inside the boundary.
fn read_inside(boundary: &Boundary, path: &Path) -> Result<BoundedText, Unread> {
    let canonical = match boundary.resolve(path) {
        Resolved::Inside(canonical) => canonical,
        Resolved::Outside(target) => {
            return Err(Unread::Skipped(format!(
                "`{}` was not read: it leads out of the plugin directory (to `{}`)",
                path.display(),
                target.display()
            )));
        }
        Resolved::Missing => return Err(Unread::Missing),
    };
    match std::fs::metadata(&canonical) {
        Ok(metadata) if metadata.is_file() => {}
        Ok(metadata) if metadata.is_dir() => return Err(Unread::Missing),
        Ok(_) => {
            return Err(Unread::Skipped(format!(
                "`{}` was not read: it is not a regular file",
                path.display()
            )));
        }
        Err(error) => {
            return Err(Unread::Skipped(format!(
                "`{}` was not read: {error}",
                path.display()
            )));
        }
    }
    let read = || -> std::io::Result<Vec<u8>> {
        let file = std::fs::File::open(&canonical)?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes)?;
        Ok(bytes)
    };
    let mut bytes = read()
        .map_err(|error| Unread::Skipped(format!("`{}` was not read: {error}", path.display())))?;
    let truncated = bytes.len() as u64 > MAX_FILE_BYTES;
    bytes.truncate(MAX_FILE_BYTES as usize);
    Ok(BoundedText {
        text: String::from_utf8_lossy(&bytes).into_owned(),
        truncated,
    })
}

/// Whether `path` is a regular file inside the boundary (following links that stay inside).
fn is_file_inside(boundary: &Boundary, path: &Path, notes: &mut Vec<String>) -> bool {
    match boundary.resolve(path) {
        Resolved::Inside(canonical) => canonical.is_file(),
        Resolved::Outside(target) => {
            notes.push(format!(
                "`{}` was skipped: it leads out of the plugin directory (to `{}`)",
                path.display(),
                target.display()
            ));
            false
        }
        Resolved::Missing => false,
    }
}

/// The entries of a directory inside the boundary, in the order the file system lists them:
/// `(name, is_file, is_dir_or_link)` — file types of the entries themselves, links not
/// followed (as Node's `readdir` with `withFileTypes`).
fn list_directory(
    boundary: &Boundary,
    dir: &Path,
    notes: &mut Vec<String>,
) -> Vec<(String, bool, bool)> {
    let canonical = match boundary.resolve(dir) {
        Resolved::Inside(canonical) => canonical,
        Resolved::Outside(target) => {
            notes.push(format!(
                "`{}` was skipped: it leads out of the plugin directory (to `{}`)",
                dir.display(),
                target.display()
            ));
            return Vec::new();
        }
        Resolved::Missing => return Vec::new(),
    };
    let Ok(entries) = std::fs::read_dir(&canonical) else {
        // Not a directory (a declared agent file, say), or unreadable: the reference logs it
        // and counts nothing.
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let file_type = entry.file_type().ok()?;
            Some((
                entry.file_name().to_string_lossy().into_owned(),
                file_type.is_file(),
                file_type.is_dir() || file_type.is_symlink(),
            ))
        })
        .collect()
}

/// What the manifest, the entry and the default folders say to list.
#[derive(Default)]
struct ComponentPaths {
    commands: Vec<PathBuf>,
    agents: Vec<PathBuf>,
    skills: Vec<PathBuf>,
    /// Hook event names gathered so far (from files and inline objects).
    hook_events: Vec<String>,
}

/// How declared paths combine with those already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Merge {
    /// Replace (plugin.json; an entry of a plugin without plugin.json).
    Assign,
    /// Add after (an entry of a plugin with plugin.json).
    Append,
}

fn inspect(root: &Path, origin: Origin<'_>) -> Result<PluginDetails, DetailsError> {
    let boundary = Boundary::new(root).map_err(|error| DetailsError::State(Error::Io(error)))?;
    let mut notes = Vec::new();
    let manifest_path = root.join(PLUGIN_MANIFEST_PATH);
    let manifest =
        match read_inside(&boundary, &manifest_path) {
            Ok(bounded) => Some(PluginManifest::parse(&bounded.text).map_err(|source| {
                DetailsError::Manifest {
                    path: manifest_path.clone(),
                    source,
                }
            })?),
            Err(Unread::Missing) => None,
            Err(Unread::Skipped(note)) => {
                notes.push(note);
                None
            }
        };
    let entry = match origin {
        Origin::Installed { entry, .. } => entry,
        Origin::Directory => None,
    };
    let directory_name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let entry_text = |key: &str| {
        entry
            .and_then(|e| e.raw.get(key))
            .and_then(Value::as_str)
            .filter(|text| !text.trim().is_empty())
            .map(str::to_string)
    };
    let (name, version, mut description, mut display_name) = match (&manifest, entry) {
        (Some(manifest), _) => (
            manifest.name.clone(),
            manifest.version.clone(),
            manifest.description.clone(),
            manifest
                .raw
                .get("displayName")
                .and_then(Value::as_str)
                .map(str::to_string),
        ),
        (None, Some(entry)) => (
            entry.name.clone(),
            entry.version.clone(),
            entry.description.clone(),
            None,
        ),
        (None, None) => (directory_name.clone(), None, None, None),
    };
    if let Some(text) = entry_text("description") {
        description = Some(text);
    }
    if let Some(text) = entry_text("displayName") {
        display_name = Some(text);
    }
    let source = match origin {
        Origin::Installed { id, .. } => id.to_string(),
        Origin::Directory => format!("{name}@inline"),
    };
    if manifest.is_none() && entry.is_none() {
        description = Some(format!("Plugin from {source}"));
    }
    let display_name = display_name.filter(|d| !d.trim().is_empty() && *d != name);
    let description = description.filter(|d| !d.is_empty());

    let empty = Map::new();
    let manifest_fields = manifest.as_ref().map(|m| &m.raw).unwrap_or(&empty);
    let entry_fields = entry.map(|e| &e.raw);
    // Without plugin.json the entry is the manifest for servers (the reference reads
    // `manifest.mcpServers` and `manifest.lspServers`, and the entry then is the manifest).
    let server_fields = match (&manifest, entry) {
        (None, Some(entry)) => &entry.raw,
        _ => manifest_fields,
    };
    if let Some(entry) = entry
        && !entry.strict
        && manifest.is_some()
        && [
            "commands",
            "agents",
            "skills",
            "hooks",
            "outputStyles",
            "themes",
        ]
        .iter()
        .any(|key| entry.raw.get(*key).is_some_and(is_truthy))
    {
        return Err(DetailsError::ConflictingManifests { id: source });
    }

    let mut paths = ComponentPaths::default();
    // Default folders (reference: a folder is used unless plugin.json declares that kind).
    let commands_dir = root.join("commands");
    let agents_dir = root.join("agents");
    let skills_dir = root.join("skills");
    let skills_dir_exists = folder_exists(&boundary, &skills_dir, &mut notes);
    if !manifest_fields.get("commands").is_some_and(is_truthy)
        && folder_exists(&boundary, &commands_dir, &mut notes)
    {
        paths.commands.push(commands_dir);
    }
    if !manifest_fields.get("agents").is_some_and(is_truthy)
        && folder_exists(&boundary, &agents_dir, &mut notes)
    {
        paths.agents.push(agents_dir);
    }
    let mut default_skills = skills_dir_exists.then(|| skills_dir.clone());
    // plugin.json's declared paths.
    if let Some(commands) = manifest_fields.get("commands").filter(|v| is_truthy(v)) {
        let declared = declared_command_paths(&boundary, commands, &mut notes);
        if !declared.is_empty() {
            paths.commands.extend(declared);
        }
    }
    if let Some(agents) = manifest_fields.get("agents").filter(|v| is_truthy(v)) {
        paths
            .agents
            .extend(declared_paths(&boundary, agents, false, &mut notes));
    }
    if let Some(skills) = manifest_fields.get("skills").filter(|v| is_truthy(v)) {
        let declared = declared_paths(&boundary, skills, true, &mut notes);
        paths.skills.extend(
            declared
                .into_iter()
                .filter(|p| *p != normalize(&skills_dir)),
        );
    } else if !skills_dir_exists {
        let root_skill = root.join("SKILL.md");
        if is_file_inside(&boundary, &root_skill, &mut notes) {
            paths.skills.push(root.to_path_buf());
        }
    }
    // Hooks: hooks/hooks.json, then plugin.json's `hooks`.
    let hooks_file = normalize(&root.join("hooks").join("hooks.json"));
    let hooks_file_read = match read_inside(&boundary, &hooks_file) {
        Ok(bounded) => {
            note_truncated(&mut notes, &hooks_file, bounded.truncated);
            merge_unique(&mut paths.hook_events, hook_events_of_file(&bounded.text));
            true
        }
        Err(Unread::Missing) => false,
        Err(Unread::Skipped(note)) => {
            notes.push(note);
            false
        }
    };
    if let Some(hooks) = manifest_fields.get("hooks").filter(|v| is_truthy(v)) {
        let events = declared_hook_events(
            &boundary,
            hooks,
            hooks_file_read.then_some(hooks_file.as_path()),
            &mut notes,
        );
        merge_unique(&mut paths.hook_events, events);
    }
    // The marketplace entry's components.
    if let Some(entry) = entry {
        let root_source = entry
            .raw
            .get("source")
            .and_then(Value::as_str)
            .is_some_and(|source| {
                source
                    .split(['/', '\\'])
                    .all(|part| part.is_empty() || part == ".")
            });
        let entry_skills = entry.raw.get("skills").filter(|v| is_truthy(v));
        if root_source && let Some(skills) = entry_skills {
            // A plugin at the marketplace root that lists its skills: `skills/` is read only
            // when listed.
            let declared = declared_paths(&boundary, skills, true, &mut notes);
            if !declared.is_empty() {
                let root_normal = normalize(root);
                let skills_normal = normalize(&skills_dir);
                if !declared
                    .iter()
                    .any(|p| *p == skills_normal || *p == root_normal)
                {
                    default_skills = None;
                }
                paths.skills = declared
                    .into_iter()
                    .filter(|p| *p != skills_normal && *p != root_normal)
                    .collect();
            }
        }
        let merge = if manifest.is_some() {
            Merge::Append
        } else {
            Merge::Assign
        };
        if let Some(commands) = entry.raw.get("commands").filter(|v| is_truthy(v)) {
            let declared = declared_command_paths(&boundary, commands, &mut notes);
            paths.commands.extend(declared);
        }
        if let Some(agents) = entry.raw.get("agents").filter(|v| is_truthy(v)) {
            paths
                .agents
                .extend(declared_paths(&boundary, agents, false, &mut notes));
        }
        if let Some(skills) = entry_skills {
            let skills_normal = normalize(&skills_dir);
            for path in declared_paths(&boundary, skills, true, &mut notes) {
                if path != skills_normal && !paths.skills.contains(&path) {
                    paths.skills.push(path);
                }
            }
        }
        if let Some(hooks) = entry.raw.get("hooks").filter(|v| is_truthy(v)) {
            let events = declared_hook_events(&boundary, hooks, None, &mut notes);
            if !events.is_empty() {
                if merge == Merge::Assign {
                    paths.hook_events.clear();
                }
                merge_unique(&mut paths.hook_events, events);
            }
        }
    }
    let skill_paths: Vec<PathBuf> = default_skills.into_iter().chain(paths.skills).collect();

    // The components and their texts.
    let mut inventory = Inventory {
        skills: list_skills(&boundary, &skill_paths, &name, &mut notes),
        agents: list_markdown(&boundary, &paths.agents, ComponentKind::Agent, &mut notes),
        commands: list_markdown(
            &boundary,
            &paths.commands,
            ComponentKind::Command,
            &mut notes,
        ),
        ..Inventory::default()
    };
    for component in inventory
        .skills
        .iter_mut()
        .chain(inventory.agents.iter_mut())
        .chain(inventory.commands.iter_mut())
    {
        measure(&boundary, component, &name, &mut notes);
    }
    inventory.hooks = if paths.hook_events.is_empty() {
        entry_fields
            .and_then(|e| e.get("hooks"))
            .map(object_keys_of_each)
            .unwrap_or_default()
    } else {
        paths.hook_events
    };
    inventory.mcp_servers = mcp_servers(&boundary, server_fields, &mut notes);
    if inventory.mcp_servers.is_empty() {
        inventory.mcp_servers = entry_fields
            .and_then(|e| e.get("mcpServers"))
            .map(object_keys_of_each)
            .unwrap_or_default();
    }
    let mut lsp = match read_inside(&boundary, &root.join(".lsp.json")) {
        Ok(bounded) => serde_json::from_str::<Value>(&bounded.text)
            .map(|value| js_keys(&value))
            .unwrap_or_default(),
        Err(Unread::Missing) => Vec::new(),
        Err(Unread::Skipped(note)) => {
            notes.push(note);
            Vec::new()
        }
    };
    lsp.extend(
        server_fields
            .get("lspServers")
            .map(object_keys_of_each)
            .unwrap_or_default(),
    );
    inventory.lsp_servers = if lsp.is_empty() {
        entry_fields
            .and_then(|e| e.get("lspServers"))
            .map(object_keys_of_each)
            .unwrap_or_default()
    } else {
        let mut unique = Vec::new();
        merge_unique(&mut unique, lsp);
        unique
    };
    let mut seen = std::collections::HashSet::new();
    notes.retain(|note| seen.insert(note.clone()));

    Ok(PluginDetails {
        name,
        display_name,
        version,
        description,
        source,
        path: root.to_path_buf(),
        installed: None,
        inventory,
        notes,
    })
}

/// Whether a default folder (`commands/`, `agents/`, `skills/`) is there: a directory inside
/// the plugin (a link to one inside counts).
fn folder_exists(boundary: &Boundary, dir: &Path, notes: &mut Vec<String>) -> bool {
    match boundary.resolve(dir) {
        Resolved::Inside(canonical) => canonical.is_dir(),
        Resolved::Outside(target) => {
            notes.push(format!(
                "`{}` was skipped: it leads out of the plugin directory (to `{}`)",
                dir.display(),
                target.display()
            ));
            false
        }
        Resolved::Missing => false,
    }
}

/// JavaScript truthiness of a manifest value (`""`, `0`, `false`, `null` are falsy).
fn is_truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(flag) => *flag,
        Value::Number(number) => number.as_f64().is_some_and(|n| n != 0.0),
        Value::String(text) => !text.is_empty(),
        Value::Array(_) | Value::Object(_) => true,
    }
}

/// The strings of a value that is a string or an array (other items ignored).
fn string_items(value: &Value) -> Vec<&str> {
    match value {
        Value::String(text) => vec![text.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Declared component paths (`agents`, `skills`): each existing path inside the plugin;
/// `directories_only` drops files (skills entries must be directories).
fn declared_paths(
    boundary: &Boundary,
    value: &Value,
    directories_only: bool,
    notes: &mut Vec<String>,
) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for relative in string_items(value) {
        let Some(path) = boundary.join_declared(relative) else {
            notes.push(format!(
                "the declared path `{relative}` was skipped: it leaves the plugin directory"
            ));
            continue;
        };
        match boundary.resolve(&path) {
            Resolved::Inside(canonical) => {
                if !directories_only || canonical.is_dir() {
                    found.push(path);
                }
            }
            Resolved::Outside(target) => notes.push(format!(
                "the declared path `{relative}` was skipped: it leads out of the plugin directory (to `{}`)",
                target.display()
            )),
            Resolved::Missing => {}
        }
    }
    found
}

/// Declared command paths: a string, an array, or a map `{name: {source|content}}` (the
/// sources are used; inline `content` commands have no file to list).
fn declared_command_paths(
    boundary: &Boundary,
    value: &Value,
    notes: &mut Vec<String>,
) -> Vec<PathBuf> {
    if let Value::Object(map) = value
        && map
            .values()
            .next()
            .and_then(Value::as_object)
            .is_some_and(|first| first.contains_key("source") || first.contains_key("content"))
    {
        let sources: Vec<Value> = map
            .values()
            .filter_map(|item| item.get("source").cloned())
            .collect();
        return declared_paths(boundary, &Value::Array(sources), false, notes);
    }
    declared_paths(boundary, value, false, notes)
}

/// Hook event names from `hooks` declarations: JSON file paths (their `hooks` object) and
/// inline objects (their keys), in order. `standard_file` (hooks/hooks.json, already read) is
/// not read twice.
fn declared_hook_events(
    boundary: &Boundary,
    value: &Value,
    standard_file: Option<&Path>,
    notes: &mut Vec<String>,
) -> Vec<String> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut events = Vec::new();
    let mut files_read: Vec<PathBuf> = Vec::new();
    for item in items {
        match item {
            Value::String(relative) => {
                let Some(path) = boundary.join_declared(relative) else {
                    notes.push(format!(
                        "the hooks file `{relative}` was skipped: it leaves the plugin directory"
                    ));
                    continue;
                };
                if standard_file == Some(path.as_path()) || files_read.contains(&path) {
                    continue;
                }
                match read_inside(boundary, &path) {
                    Ok(bounded) => {
                        note_truncated(notes, &path, bounded.truncated);
                        merge_unique(&mut events, hook_events_of_file(&bounded.text));
                        files_read.push(path);
                    }
                    Err(Unread::Missing) => {}
                    Err(Unread::Skipped(note)) => notes.push(note),
                }
            }
            Value::Object(map) => {
                merge_unique(&mut events, js_keys(&Value::Object(map.clone())));
            }
            _ => {}
        }
    }
    events
}

/// The event names of a hooks file: the keys of its `hooks` object.
fn hook_events_of_file(text: &str) -> Vec<String> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => match map.get("hooks") {
            Some(hooks @ Value::Object(_)) => js_keys(hooks),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// MCP server names: `.mcp.json`, then `plugin.json`'s `mcpServers` (inline objects, or
/// paths of JSON files), without repeats.
fn mcp_servers(
    boundary: &Boundary,
    manifest_fields: &Map<String, Value>,
    notes: &mut Vec<String>,
) -> Vec<String> {
    let mut names = Vec::new();
    names.extend(server_names_of_file(
        boundary,
        &boundary.root.join(".mcp.json"),
        notes,
    ));
    if let Some(declared) = manifest_fields.get("mcpServers") {
        let items: Vec<&Value> = match declared {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        };
        for item in items {
            match item {
                Value::String(relative) => {
                    let remote_or_bundle = relative.contains("://")
                        || relative.contains("${")
                        || relative.ends_with(".mcpb")
                        || relative.ends_with(".dxt");
                    if remote_or_bundle {
                        continue;
                    }
                    match boundary.join_declared(relative) {
                        Some(path) => names.extend(server_names_of_file(boundary, &path, notes)),
                        None => notes.push(format!(
                            "the MCP file `{relative}` was skipped: it leaves the plugin directory"
                        )),
                    }
                }
                other => names.extend(object_keys_of_each(other)),
            }
        }
    }
    let mut unique = Vec::new();
    merge_unique(&mut unique, names);
    unique
}

/// Server names in an MCP JSON file: the keys of its `mcpServers` object, or of the whole
/// document when it has none.
fn server_names_of_file(boundary: &Boundary, path: &Path, notes: &mut Vec<String>) -> Vec<String> {
    let text = match read_inside(boundary, path) {
        Ok(bounded) => bounded.text,
        Err(Unread::Missing) => return Vec::new(),
        Err(Unread::Skipped(note)) => {
            notes.push(note);
            return Vec::new();
        }
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(map)) => match map.get("mcpServers") {
            Some(servers @ (Value::Object(_) | Value::Array(_))) => js_keys(servers),
            Some(Value::Null) => Vec::new(),
            _ => js_keys(&Value::Object(map)),
        },
        Ok(array @ Value::Array(_)) => js_keys(&array),
        _ => Vec::new(),
    }
}

/// `Object.keys` as JavaScript orders them: array-index keys first in numeric order, then the
/// others in insertion order; an array's indices.
fn js_keys(value: &Value) -> Vec<String> {
    match value {
        Value::Object(map) => {
            let mut indices: Vec<(u32, String)> = Vec::new();
            let mut others = Vec::new();
            for key in map.keys() {
                match array_index(key) {
                    Some(index) => indices.push((index, key.clone())),
                    None => others.push(key.clone()),
                }
            }
            indices.sort();
            indices
                .into_iter()
                .map(|(_, key)| key)
                .chain(others)
                .collect()
        }
        Value::Array(items) => (0..items.len()).map(|i| i.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The value of a canonical array-index key (`"0"`, `"17"`; not `"01"`), below 2³²−1.
fn array_index(key: &str) -> Option<u32> {
    if key.is_empty() || (key.len() > 1 && key.starts_with('0')) {
        return None;
    }
    if !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    key.parse::<u32>().ok().filter(|n| *n != u32::MAX)
}

/// The keys of an object, or of each object in an array (the reference's
/// `[value].flat().filter(isObject).flatMap(Object.keys)`).
fn object_keys_of_each(value: &Value) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .filter(|item| matches!(item, Value::Object(_) | Value::Array(_)))
            .flat_map(js_keys)
            .collect(),
        Value::Object(_) => js_keys(value),
        _ => Vec::new(),
    }
}

/// Appends the names of `more` that `names` does not have yet.
fn merge_unique(names: &mut Vec<String>, more: Vec<String>) {
    for name in more {
        if !names.contains(&name) {
            names.push(name);
        }
    }
}

fn note_truncated(notes: &mut Vec<String>, path: &Path, truncated: bool) {
    if truncated {
        notes.push(format!(
            "`{}` is larger than 1 MiB: only its first 1 MiB was read (as Claude Code reads it)",
            path.display()
        ));
    }
}

/// Skills of each skills path, without repeats: the path itself when it holds `SKILL.md`
/// (named by its frontmatter `name`, else the directory), else each direct subdirectory (or
/// link) holding one, named by the subdirectory.
fn list_skills(
    boundary: &Boundary,
    skill_paths: &[PathBuf],
    plugin_name: &str,
    notes: &mut Vec<String>,
) -> Vec<Component> {
    let mut skills: Vec<Component> = Vec::new();
    let add = |skills: &mut Vec<Component>, name: String, path: PathBuf| {
        let path = normalize(&path);
        if !skills.iter().any(|s| s.path == path) {
            skills.push(Component {
                name,
                kind: ComponentKind::Skill,
                path,
                always_on_chars: 0,
                on_invoke_chars: 0,
                truncated: false,
            });
        }
    };
    for skills_path in skill_paths {
        let own_skill = skills_path.join("SKILL.md");
        if is_file_inside(boundary, &own_skill, notes) {
            let mut name = match read_inside(boundary, &own_skill) {
                Ok(bounded) => {
                    let document = split_document(&bounded.text);
                    document
                        .yaml
                        .map(frontmatter_fields)
                        .and_then(|fields| {
                            fields
                                .get("name")
                                .and_then(|v| v.as_str())
                                .map(js_trim)
                                .map(str::to_string)
                        })
                        .unwrap_or_default()
                }
                Err(_) => String::new(),
            };
            if let Some(rest) = name.strip_prefix(&format!("{plugin_name}:")) {
                name = rest.to_string();
            }
            if name.is_empty() {
                name = skills_path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
            }
            add(&mut skills, name, skills_path.clone());
            continue;
        }
        for (entry_name, _is_file, is_dir_or_link) in list_directory(boundary, skills_path, notes) {
            if !is_dir_or_link {
                continue;
            }
            let dir = skills_path.join(&entry_name);
            if is_file_inside(boundary, &dir.join("SKILL.md"), notes) {
                add(&mut skills, entry_name, dir);
            }
        }
    }
    skills
}

/// `*.md` files (not links) directly in each directory, named without `.md`, without repeats.
fn list_markdown(
    boundary: &Boundary,
    dirs: &[PathBuf],
    kind: ComponentKind,
    notes: &mut Vec<String>,
) -> Vec<Component> {
    let mut found: Vec<Component> = Vec::new();
    for dir in dirs {
        for (entry_name, is_file, _) in list_directory(boundary, dir, notes) {
            if !is_file || !entry_name.ends_with(".md") {
                continue;
            }
            let path = normalize(&dir.join(&entry_name));
            if found.iter().any(|c| c.path == path) {
                continue;
            }
            let name = match entry_name.strip_suffix(".md") {
                Some(stem) if !stem.is_empty() => stem.to_string(),
                _ => entry_name.clone(),
            };
            found.push(Component {
                name,
                kind,
                path,
                always_on_chars: 0,
                on_invoke_chars: 0,
                truncated: false,
            });
        }
    }
    found
}

/// Reads a component's file and sets its always-on and on-invoke lengths. An unreadable file
/// counts 0 and 0 (the reference's behaviour) with a note.
fn measure(
    boundary: &Boundary,
    component: &mut Component,
    plugin_name: &str,
    notes: &mut Vec<String>,
) {
    let file = match component.kind {
        ComponentKind::Skill => component.path.join("SKILL.md"),
        ComponentKind::Agent | ComponentKind::Command => component.path.clone(),
    };
    let bounded = match read_inside(boundary, &file) {
        Ok(bounded) => bounded,
        Err(Unread::Missing) => return,
        Err(Unread::Skipped(note)) => {
            notes.push(note);
            return;
        }
    };
    note_truncated(notes, &file, bounded.truncated);
    component.truncated = bounded.truncated;
    let texts = component_texts(&bounded.text, &component.name, component.kind, plugin_name);
    component.always_on_chars = utf16_len(&texts.always_on);
    component.on_invoke_chars = utf16_len(&texts.on_invoke);
}

/// The two texts the estimate counts for one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentTexts {
    /// `"<id> <description>[ <when_to_use>]"`, added to every session.
    pub always_on: String,
    /// The body after the frontmatter, trimmed: added each time the component fires.
    pub on_invoke: String,
}

/// The always-on and on-invoke texts of a component file's `text` (reference-advanced.md §3).
///
/// The id is `<plugin>:<name>` for skills and commands (each UTF-16 code unit of `name` outside
/// `[A-Za-z0-9_-]` becomes `-`) and the bare name for agents. The description is the
/// frontmatter `description` (trimmed; numbers and booleans as text), else the first non-empty
/// body line (a Markdown heading's text; over 100 characters: the first 97 and `...`). For
/// skills and commands, description and `when_to_use` are cleaned as Claude Code lists them:
/// ANSI escapes removed, each run of control, format and private-use characters made one space
/// (emoji joiners kept), `<` and `>` escaped as `&lt;` and `&gt;`.
pub fn component_texts(
    text: &str,
    name: &str,
    kind: ComponentKind,
    plugin_name: &str,
) -> ComponentTexts {
    let document = split_document(text);
    let fields = document.yaml.map(frontmatter_fields).unwrap_or_default();
    let description = fields
        .get("description")
        .and_then(description_value)
        .unwrap_or_else(|| first_line_description(document.body));
    let when_to_use = fields.get("when_to_use").and_then(js_string);
    let (id, description, when_to_use) = match kind {
        ComponentKind::Agent => (name.to_string(), description, when_to_use),
        ComponentKind::Skill | ComponentKind::Command => (
            component_id(plugin_name, name),
            clean_listing_text(&description),
            when_to_use.as_deref().map(clean_listing_text),
        ),
    };
    let always_on = [Some(id), Some(description), when_to_use]
        .into_iter()
        .flatten()
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    ComponentTexts {
        always_on,
        on_invoke: js_trim(document.body).to_string(),
    }
}

/// `<plugin>:<name>` with each UTF-16 code unit of `name` outside `[A-Za-z0-9_-]` replaced by
/// `-` (the bare name when the plugin name is empty).
pub fn component_id(plugin_name: &str, name: &str) -> String {
    if plugin_name.is_empty() {
        return name.to_string();
    }
    let mut id = format!("{plugin_name}:");
    for character in name.chars() {
        if character.is_ascii_alphanumeric() || character == '_' || character == '-' {
            id.push(character);
        } else {
            id.extend(std::iter::repeat_n('-', character.len_utf16()));
        }
    }
    id
}

/// A component file split as Claude Code splits it.
struct Document<'a> {
    /// The frontmatter YAML, when there is a block.
    yaml: Option<&'a str>,
    /// The text after the block (whitespace after the closing `---` skipped), or the whole text.
    body: &'a str,
}

/// Splits frontmatter the reference's way (`/^---\s*\n([\s\S]*?)---\s*\n?/` after a BOM): the
/// block ends at the first `---` after the opening line, even in the middle of a line.
fn split_document(text: &str) -> Document<'_> {
    let none = Document {
        yaml: None,
        body: text,
    };
    let stripped = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(after_open) = stripped.strip_prefix("---") else {
        return none;
    };
    let whitespace_end = after_open
        .char_indices()
        .find(|(_, c)| !is_js_whitespace(*c))
        .map(|(index, _)| index)
        .unwrap_or(after_open.len());
    let Some(last_newline) = after_open[..whitespace_end].rfind('\n') else {
        return none;
    };
    let rest = &after_open[last_newline + 1..];
    let Some(close) = rest.find("---") else {
        return none;
    };
    Document {
        yaml: Some(&rest[..close]),
        body: rest[close + 3..].trim_start_matches(is_js_whitespace),
    }
}

/// The frontmatter's fields, parsed with [`pm_core::frontmatter::parse`]. Like the reference,
/// a block that does not parse is tried once more with risky plain values quoted
/// (`key: value` whose value holds `: `, `#`, `{`, … ) and leading tabs made spaces; a block
/// that still does not parse has no fields.
fn frontmatter_fields(yaml: &str) -> Fields {
    if let Ok(fields) = frontmatter::parse(yaml, 2) {
        return fields;
    }
    frontmatter::parse(&relaxed_yaml(yaml), 2).unwrap_or_default()
}

/// The reference's second attempt at a frontmatter block.
fn relaxed_yaml(yaml: &str) -> String {
    let quoted: Vec<String> = yaml
        .split('\n')
        .map(|line| quote_risky_value(line).unwrap_or_else(|| line.to_string()))
        .collect();
    let mut out = String::with_capacity(yaml.len());
    let mut at_line_start = true;
    for character in quoted.join("\n").chars() {
        if at_line_start && character == '\t' {
            out.push_str("  ");
            continue;
        }
        at_line_start = matches!(character, '\n' | '\r' | '\u{2028}' | '\u{2029}');
        out.push(character);
    }
    out
}

/// `key: value` with `value` double-quoted when it holds YAML syntax (`{}[]*&#!|>%@` or a
/// backtick, or `: `) and is not already quoted or a flow list.
fn quote_risky_value(line: &str) -> Option<String> {
    let colon = line.find(':')?;
    let key = &line[..colon];
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
    {
        return None;
    }
    let after = &line[colon + 1..];
    let value = after.trim_start_matches(is_js_whitespace);
    if value.len() == after.len() || value.is_empty() {
        return None;
    }
    if value.contains(['\r', '\u{2028}', '\u{2029}']) {
        return None;
    }
    let quoted_already = (value.starts_with('"') && value.ends_with('"') && value.len() >= 2)
        || (value.starts_with('\'') && value.ends_with('\'') && value.len() >= 2);
    if quoted_already {
        return None;
    }
    if value.starts_with('[')
        && value.ends_with(']')
        && matches!(frontmatter::parse(&format!("x: {value}"), 1), Ok(fields)
            if matches!(fields.get("x"), Some(YamlValue::List(_))))
    {
        return None;
    }
    let risky = value.contains(": ")
        || value.contains([
            '{', '}', '[', ']', '*', '&', '#', '!', '|', '>', '%', '@', '`',
        ]);
    if !risky {
        return None;
    }
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    Some(format!("{key}: \"{escaped}\""))
}

/// The frontmatter `description` as the reference takes it: a string trimmed (empty: none),
/// a number or boolean as text; lists and maps are ignored.
fn description_value(value: &YamlValue) -> Option<String> {
    match value {
        YamlValue::String(text) => Some(js_trim(text).to_string()).filter(|t| !t.is_empty()),
        YamlValue::Integer(_) | YamlValue::Real(_) | YamlValue::Bool(_) => js_string(value),
        YamlValue::Null | YamlValue::List(_) | YamlValue::Map(_) => None,
    }
}

/// JavaScript's `String(value)` of a YAML value; `None` for null.
fn js_string(value: &YamlValue) -> Option<String> {
    Some(match value {
        YamlValue::Null => return None,
        YamlValue::String(text) => text.clone(),
        YamlValue::Integer(number) => number.to_string(),
        YamlValue::Real(text) => js_number_text(text),
        YamlValue::Bool(flag) => flag.to_string(),
        YamlValue::List(items) => items
            .iter()
            .map(|item| js_string(item).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(","),
        YamlValue::Map(_) => "[object Object]".to_string(),
    })
}

/// A YAML float as JavaScript prints the number (`1.0` → `1`, `.inf` → `Infinity`).
fn js_number_text(text: &str) -> String {
    match text.trim_start_matches('+').to_ascii_lowercase().as_str() {
        ".inf" => return "Infinity".into(),
        "-.inf" => return "-Infinity".into(),
        ".nan" => return "NaN".into(),
        _ => {}
    }
    match text.parse::<f64>() {
        Ok(number) if number.is_finite() && number.fract() == 0.0 && number.abs() < 1e21 => {
            format!("{number:.0}")
        }
        Ok(number) if number.is_finite() => number.to_string(),
        _ => text.to_string(),
    }
}

/// The reference's description fallback: the first non-empty line of the body, trimmed; a
/// Markdown heading's text without its `#`s; over 100 UTF-16 units: the first 97 and `...`;
/// `Skill` for an empty body.
fn first_line_description(body: &str) -> String {
    for line in body.split('\n') {
        let line = js_trim(line);
        if line.is_empty() {
            continue;
        }
        let text = heading_text(line).unwrap_or(line);
        if utf16_len(text) <= 100 {
            return text.to_string();
        }
        let mut out = String::new();
        let mut units = 0;
        for character in text.chars() {
            let width = character.len_utf16();
            if units + width > 97 {
                if units < 97 {
                    // JavaScript would keep half a surrogate pair: one code unit, which the
                    // listing clean-up turns into a space. U+200B stands in for it.
                    out.push('\u{200b}');
                }
                break;
            }
            out.push(character);
            units += width;
        }
        out.push_str("...");
        return out;
    }
    "Skill".to_string()
}

/// The text of a Markdown heading line (`/^#+\s+(\S.*)$/`).
fn heading_text(line: &str) -> Option<&str> {
    let after_hashes = line.trim_start_matches('#');
    if after_hashes.len() == line.len() {
        return None;
    }
    let text = after_hashes.trim_start_matches(is_js_whitespace);
    if text.len() == after_hashes.len() || text.is_empty() {
        return None;
    }
    if text.contains(['\r', '\u{2028}', '\u{2029}']) {
        return None;
    }
    Some(text)
}

/// JavaScript's whitespace (`\s`, `String.prototype.trim`).
fn is_js_whitespace(character: char) -> bool {
    matches!(
        character,
        '\u{9}'..='\u{d}'
            | ' '
            | '\u{a0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200a}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{202f}'
            | '\u{205f}'
            | '\u{3000}'
            | '\u{feff}'
    )
}

/// `text.trim()` as JavaScript trims.
fn js_trim(text: &str) -> &str {
    text.trim_matches(is_js_whitespace)
}

/// JavaScript's `length`: UTF-16 code units.
pub fn utf16_len(text: &str) -> u64 {
    text.encode_utf16().count() as u64
}

/// Characters the listing clean-up collapses into a space: control (Cc), format (Cf),
/// private-use (Co), noncharacters, line and paragraph separators, default-ignorable code
/// points and U+2800. Unassigned code points (Cn) are not recognised: pm carries no Unicode
/// tables.
fn is_collapsed(character: char) -> bool {
    let code = u32::from(character);
    matches!(code,
        0x00..=0x1f | 0x7f..=0x9f | 0xad | 0x34f | 0x61c | 0x115f..=0x1160 | 0x17b4..=0x17b5
        | 0x180b..=0x180f | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0x2800
        | 0x3164 | 0xfe00..=0xfe0f | 0xfeff | 0xffa0 | 0xfff0..=0xfffb
        | 0x600..=0x605 | 0x6dd | 0x70f | 0x890..=0x891 | 0x8e2
        | 0x110bd | 0x110cd | 0x1107f | 0x13430..=0x1343f | 0x1bca0..=0x1bca3
        | 0x1d173..=0x1d17a | 0xe0000..=0xe0fff
        | 0xe000..=0xf8ff | 0xf0000..=0xffffd | 0x100000..=0x10fffd
        | 0xfdd0..=0xfdef)
        || (code & 0xfffe) == 0xfffe
}

/// Whether a character can carry an emoji sequence (a non-ASCII, visible character).
fn is_emoji_like(character: char) -> bool {
    u32::from(character) >= 0xa9 && !is_collapsed(character) && !is_js_whitespace(character)
}

fn is_arabic_letter(character: char) -> bool {
    matches!(u32::from(character), 0x620..=0x64a | 0x66e..=0x6d3 | 0x6fa..=0x6ff | 0x750..=0x77f | 0x8a0..=0x8c9)
}

/// Whether the joiner at `index` belongs to an emoji sequence or joins Arabic letters (kept
/// by the clean-up). Approximates the reference's `\p{RGI_Emoji}` match.
fn is_kept_joiner(characters: &[char], index: usize) -> bool {
    let previous = index
        .checked_sub(1)
        .and_then(|i| characters.get(i))
        .copied();
    let next = characters.get(index + 1).copied();
    let Some(character) = characters.get(index).copied() else {
        return false;
    };
    match character {
        '\u{200d}' => {
            previous.is_some_and(|p| is_emoji_like(p) || p == '\u{fe0f}')
                && next.is_some_and(is_emoji_like)
                || previous.is_some_and(is_arabic_letter) && next.is_some_and(is_arabic_letter)
        }
        '\u{200c}' => previous.is_some_and(is_arabic_letter) && next.is_some_and(is_arabic_letter),
        '\u{fe0f}' => previous.is_some_and(|p| {
            is_emoji_like(p) || ("#*0123456789".contains(p) && next == Some('\u{20e3}'))
        }),
        '\u{e0020}'..='\u{e007f}' => {
            let mut back = index;
            while back > 0 {
                back -= 1;
                match characters.get(back).copied() {
                    Some('\u{e0020}'..='\u{e007e}') => continue,
                    Some('\u{1f3f4}') => return true,
                    _ => return false,
                }
            }
            false
        }
        _ => false,
    }
}

/// ANSI escape sequences removed: CSI (`ESC [` … final byte), OSC (`ESC ]` … BEL or `ESC \`),
/// and two-character escapes.
fn strip_ansi(text: &str) -> String {
    let characters: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut index = 0;
    while let Some(&character) = characters.get(index) {
        let next = characters.get(index + 1).copied();
        let csi_start = match (character, next) {
            ('\u{1b}', Some('[')) => Some(index + 2),
            ('\u{9b}', _) => Some(index + 1),
            _ => None,
        };
        if let Some(start) = csi_start {
            let mut end = start;
            while let Some(&c) = characters.get(end) {
                end += 1;
                if ('\u{40}'..='\u{7e}').contains(&c) {
                    break;
                }
                if !('\u{20}'..='\u{3f}').contains(&c) {
                    end -= 1;
                    break;
                }
            }
            index = end;
            continue;
        }
        if character == '\u{1b}' && next == Some(']') {
            let mut end = index + 2;
            while let Some(&c) = characters.get(end) {
                if c == '\u{7}' {
                    end += 1;
                    break;
                }
                if c == '\u{1b}' && characters.get(end + 1) == Some(&'\\') {
                    end += 2;
                    break;
                }
                end += 1;
            }
            index = end;
            continue;
        }
        if character == '\u{1b}' && next.is_some_and(|n| ('\u{40}'..='\u{5f}').contains(&n)) {
            index += 2;
            continue;
        }
        out.push(character);
        index += 1;
    }
    out
}

/// The clean-up Claude Code applies to skill and command descriptions before listing them:
/// ANSI escapes removed; each run of [`is_collapsed`] characters made one space, emoji and
/// Arabic joiners kept (only in texts of at most 4096 UTF-16 units, as the reference); `<` and
/// `>` escaped.
pub fn clean_listing_text(text: &str) -> String {
    let stripped = strip_ansi(text);
    let characters: Vec<char> = stripped.chars().collect();
    let joiners_possible = utf16_len(&stripped) <= 4096
        && characters
            .iter()
            .any(|c| matches!(c, '\u{200c}' | '\u{200d}' | '\u{fe0f}' | '\u{e007f}'));
    let mut out = String::with_capacity(stripped.len());
    let mut run = String::new();
    for (index, &character) in characters.iter().enumerate() {
        if is_collapsed(character) {
            if joiners_possible && is_kept_joiner(&characters, index) {
                run.push(character);
            } else if !run.ends_with(' ') {
                run.push(' ');
            }
            continue;
        }
        out.push_str(&run);
        run.clear();
        match character {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            other => out.push(other),
        }
    }
    out.push_str(&run);
    out
}

/// Estimated tokens of `chars` characters: JavaScript's `Math.round(chars / 4)` (halves round
/// up).
pub fn estimate_tokens(chars: u64) -> u64 {
    chars.saturating_add(2) / 4
}

/// A per-component cell: `< 20` below 20 tokens, else `~` and the compact form of the tokens
/// rounded to tens (`~20`, `~1.1k`, `~262.1k`).
pub fn component_cell(tokens: u64) -> String {
    if tokens < SMALL_COMPONENT_TOKENS {
        return "< 20".to_string();
    }
    format!("~{}", compact_number(tokens.saturating_add(5) / 10 * 10))
}

/// The reference's compact number: below 1000 as is; above, one decimal with `k`, `m`, `b`
/// or `t` (half up), and the first `.0` removed (`1000` → `1k`, `1050` → `1.1k`, `10000` →
/// `10k`).
pub fn compact_number(number: u64) -> String {
    if number < 1000 {
        return number.to_string();
    }
    const UNITS: [(u64, &str); 4] = [
        (1_000, "k"),
        (1_000_000, "m"),
        (1_000_000_000, "b"),
        (1_000_000_000_000, "t"),
    ];
    let mut index = UNITS
        .iter()
        .rposition(|(unit, _)| number >= *unit)
        .unwrap_or(0);
    loop {
        let Some(&(unit, suffix)) = UNITS.get(index) else {
            return number.to_string();
        };
        let tenths = (u128::from(number) * 10 + u128::from(unit) / 2) / u128::from(unit);
        if tenths >= 10_000 && index + 1 < UNITS.len() {
            index += 1;
            continue;
        }
        let text = format!("{}.{}{suffix}", tenths / 10, tenths % 10);
        return text.replacen(".0", "", 1);
    }
}

/// A number with comma thousands separators, as `toLocaleString()` prints it in English
/// (`1005` → `1,005`).
pub fn with_thousands_separators(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_like_javascript_math_round() {
        for (chars, tokens) in [
            (0, 0),
            (1, 0),
            (2, 1),
            (9, 2),
            (10, 3),
            (13, 3),
            (14, 4),
            (82, 21),
        ] {
            assert_eq!(estimate_tokens(chars), tokens, "{chars} chars");
        }
    }

    #[test]
    fn small_components_print_below_twenty() {
        assert_eq!(component_cell(0), "< 20");
        assert_eq!(component_cell(19), "< 20");
        assert_eq!(component_cell(20), "~20");
        // 25 tokens: Math.round(2.5) * 10 = 30.
        assert_eq!(component_cell(24), "~20");
        assert_eq!(component_cell(25), "~30");
    }

    #[test]
    fn compact_forms_match_the_reference() {
        assert_eq!(component_cell(1005), "~1k");
        assert_eq!(component_cell(1050), "~1.1k");
        // Intl rounds the decimal half up: 1.15 → 1.2 (binary floating point would say 1.1).
        assert_eq!(component_cell(1150), "~1.2k");
        assert_eq!(component_cell(9999), "~10k");
        assert_eq!(component_cell(10_005), "~10k");
        assert_eq!(component_cell(262_132), "~262.1k");
        assert_eq!(compact_number(999), "999");
        assert_eq!(compact_number(1000), "1k");
        assert_eq!(compact_number(100_000), "100k");
        assert_eq!(compact_number(999_950), "1m");
        assert_eq!(compact_number(1_250_000), "1.3m");
    }

    #[test]
    fn totals_have_thousands_separators() {
        assert_eq!(with_thousands_separators(0), "0");
        assert_eq!(with_thousands_separators(999), "999");
        assert_eq!(with_thousands_separators(1005), "1,005");
        assert_eq!(with_thousands_separators(10_000), "10,000");
        assert_eq!(with_thousands_separators(1_234_567), "1,234,567");
    }

    #[test]
    fn lengths_are_utf16_code_units() {
        assert_eq!(utf16_len("abc"), 3);
        assert_eq!(utf16_len("é"), 1);
        assert_eq!(utf16_len("😀"), 2);
    }

    #[test]
    fn ids_replace_each_code_unit_outside_the_safe_set() {
        assert_eq!(component_id("sk", "s"), "sk:s");
        assert_eq!(component_id("p", "a b.c"), "p:a-b-c");
        assert_eq!(component_id("p", "😀x"), "p:--x");
        assert_eq!(component_id("", "name"), "name");
    }

    #[test]
    fn skill_text_is_id_description_and_when_to_use() {
        let texts = component_texts(
            "---\nname: s\ndescription: dddd\nwhen_to_use: wwww\n---\nbody\n",
            "s",
            ComponentKind::Skill,
            "sk",
        );
        assert_eq!(texts.always_on, "sk:s dddd wwww");
        assert_eq!(texts.on_invoke, "body");
    }

    #[test]
    fn agent_text_uses_the_file_name_and_raw_description() {
        let texts = component_texts(
            "---\nname: other\ndescription: <b>\n---\n\n  You are.  \n",
            "ag",
            ComponentKind::Agent,
            "p",
        );
        assert_eq!(texts.always_on, "ag <b>");
        assert_eq!(texts.on_invoke, "You are.");
    }

    #[test]
    fn skill_descriptions_are_cleaned_and_escaped() {
        let texts = component_texts(
            "---\ndescription: |\n  line one\n\n\n  line <two>\n---\nb",
            "s",
            ComponentKind::Skill,
            "ml",
        );
        // The block's newlines: trimmed at the end, one space for each run inside.
        assert_eq!(texts.always_on, "ml:s line one line &lt;two&gt;");
        assert_eq!(clean_listing_text("a\u{1b}[31mred\u{1b}[0m\tb"), "ared b");
        // An emoji sequence keeps its joiner; a stray one is a space.
        assert_eq!(clean_listing_text("👩\u{200d}💻"), "👩\u{200d}💻");
        assert_eq!(clean_listing_text("a\u{200d}b"), "a b");
    }

    #[test]
    fn description_falls_back_to_the_first_body_line() {
        let texts = component_texts(
            "\n\n   #   Title here  \nmore",
            "c",
            ComponentKind::Command,
            "hd",
        );
        assert_eq!(texts.always_on, "hd:c Title here");
        let texts = component_texts(
            "No frontmatter command\n",
            "cmd2",
            ComponentKind::Command,
            "rich",
        );
        assert_eq!(texts.always_on, "rich:cmd2 No frontmatter command");
        let long = "x".repeat(150);
        assert_eq!(
            first_line_description(&long),
            format!("{}...", "x".repeat(97))
        );
        assert_eq!(first_line_description("   \n\n"), "Skill");
        // Numbers and booleans count as text; lists do not.
        let texts = component_texts(
            "---\ndescription: 1.0\n---\nb",
            "a",
            ComponentKind::Agent,
            "p",
        );
        assert_eq!(texts.always_on, "a 1");
        let texts = component_texts(
            "---\ndescription: [x]\n---\nfirst",
            "a",
            ComponentKind::Agent,
            "p",
        );
        assert_eq!(texts.always_on, "a first");
    }

    #[test]
    fn frontmatter_ends_at_the_first_fence_even_mid_line() {
        let document = split_document("---\ndescription: abc---def\n---\nbody");
        assert_eq!(document.yaml, Some("description: abc"));
        assert_eq!(document.body, "def\n---\nbody");
        let document = split_document("\u{feff}---\n---\n\n\nbody");
        assert_eq!(document.yaml, Some(""));
        assert_eq!(document.body, "body");
        let document = split_document("----\nx: y\n---\n");
        assert_eq!(document.yaml, None);
        let document = split_document("--- \nno closing fence");
        assert_eq!(document.yaml, None);
    }

    #[test]
    fn frontmatter_with_a_colon_in_a_value_is_read_like_the_reference() {
        let fields = frontmatter_fields("description: Use when: tests fail\n");
        assert_eq!(
            fields.get("description").and_then(|v| v.as_str()),
            Some("Use when: tests fail")
        );
        // Leading tabs become two spaces each on the second attempt.
        assert_eq!(
            relaxed_yaml("tools:\n\t- a\n\t\t- b"),
            "tools:\n  - a\n    - b"
        );
        let fields = frontmatter_fields("tools:\n\t- a\n");
        assert_eq!(
            fields.get("tools"),
            Some(&YamlValue::List(vec![YamlValue::String("a".into())]))
        );
    }

    /// Writes `text` at `root/relative`, creating parents.
    fn write(root: &Path, relative: &str, text: impl AsRef<[u8]>) {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parents");
        }
        std::fs::write(path, text).expect("write fixture");
    }

    fn plugin_dir() -> (tempfile::TempDir, PathBuf) {
        let temp = tempfile::tempdir().expect("temporary directory");
        let root = temp.path().join("plug");
        write(&root, PLUGIN_MANIFEST_PATH, r#"{"name":"plug"}"#);
        (temp, root)
    }

    fn names(components: &[Component]) -> Vec<&str> {
        components.iter().map(|c| c.name.as_str()).collect()
    }

    /// Entry names of `dir` in the order the file system lists them.
    fn listing_order(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn rows_follow_directory_listing_order_and_the_summary_sorts() {
        let (_temp, root) = plugin_dir();
        for skill in ["zeta", "alpha", "mid", "beta"] {
            write(
                &root,
                &format!("skills/{skill}/SKILL.md"),
                "---\ndescription: d\n---\nb",
            );
        }
        for command in ["c2", "c1", "aa"] {
            write(&root, &format!("commands/{command}.md"), "body");
        }
        let details = inspect_directory(&root).expect("inspects");
        let listed: Vec<String> = listing_order(&root.join("skills"));
        assert_eq!(names(&details.inventory.skills), listed);
        let listed: Vec<String> = listing_order(&root.join("commands"))
            .into_iter()
            .map(|n| n.trim_end_matches(".md").to_string())
            .collect();
        assert_eq!(names(&details.inventory.commands), listed);
        assert_eq!(
            details.inventory.skill_and_command_names(),
            ["aa", "alpha", "beta", "c1", "c2", "mid", "zeta"]
        );
        let rows: Vec<ComponentKind> = details.inventory.rows().map(|c| c.kind).collect();
        assert_eq!(rows[..4], [ComponentKind::Skill; 4]);
        assert_eq!(rows[4..], [ComponentKind::Command; 3]);
    }

    #[test]
    fn an_empty_plugin_has_empty_categories() {
        let (_temp, root) = plugin_dir();
        let details = inspect_directory(&root).expect("inspects");
        assert_eq!(details.inventory, Inventory::default());
        assert_eq!(details.inventory.always_on_tokens(), 0);
        assert_eq!(details.source, "plug@inline");
        assert_eq!(details.description, None);
        assert!(details.notes.is_empty());
    }

    #[test]
    fn a_directory_without_plugin_json_is_named_after_itself() {
        let temp = tempfile::tempdir().expect("temporary directory");
        let root = temp.path().join("bare");
        write(&root, "commands/c.md", "hello");
        let details = inspect_directory(&root).expect("inspects");
        assert_eq!(details.name, "bare");
        assert_eq!(
            details.description.as_deref(),
            Some("Plugin from bare@inline")
        );
        assert_eq!(names(&details.inventory.commands), ["c"]);
        let missing = inspect_directory(&temp.path().join("nope")).expect_err("no directory");
        assert!(
            matches!(missing, DetailsError::NotADirectory { .. }),
            "{missing}"
        );
        write(temp.path(), "file", "x");
        let file = inspect_directory(&temp.path().join("file")).expect_err("a file");
        assert_eq!(file.failure_code(), "not_found");
    }

    #[test]
    fn an_invalid_plugin_json_is_an_error_naming_the_file() {
        let (_temp, root) = plugin_dir();
        write(&root, PLUGIN_MANIFEST_PATH, "{ not json");
        let error = inspect_directory(&root).expect_err("invalid");
        assert!(error.to_string().contains("plugin.json"), "{error}");
        assert_eq!(error.failure_code(), "error_validation");
    }

    #[cfg(unix)]
    #[test]
    fn links_out_of_the_plugin_are_not_followed() {
        let (temp, root) = plugin_dir();
        let outside = temp.path().join("outside");
        write(
            &outside,
            "skills/os/SKILL.md",
            "---\ndescription: secret\n---\nb",
        );
        write(&outside, "agents/oa.md", "---\ndescription: secret\n---\nb");
        write(&outside, "secret.md", "---\ndescription: secret\n---\nb");
        std::fs::create_dir_all(root.join("skills")).expect("skills");
        std::os::unix::fs::symlink(outside.join("skills/os"), root.join("skills/linked"))
            .expect("link a skill");
        std::os::unix::fs::symlink(outside.join("agents"), root.join("agents"))
            .expect("link the agents folder");
        write(&root, "skills/own/SKILL.md", "---\ndescription: d\n---\nb");
        std::os::unix::fs::symlink(outside.join("secret.md"), root.join("skills/own2"))
            .expect("link a file");
        // A link inside the plugin is fine.
        std::os::unix::fs::symlink(root.join("skills/own"), root.join("skills/alias"))
            .expect("link inside");
        let details = inspect_directory(&root).expect("inspects");
        let mut skills = names(&details.inventory.skills);
        skills.sort_unstable();
        assert_eq!(skills, ["alias", "own"]);
        assert!(details.inventory.agents.is_empty());
        assert!(
            details
                .notes
                .iter()
                .any(|n| n.contains("leads out of the plugin directory") && n.contains("linked")),
            "{:?}",
            details.notes
        );
        assert!(
            details.notes.iter().any(|n| n.contains("agents")),
            "{:?}",
            details.notes
        );
    }

    #[test]
    fn a_file_over_one_mebibyte_is_counted_from_its_first_mebibyte() {
        let (_temp, root) = plugin_dir();
        let header = "---\nname: a\ndescription: xxxxxxxxxxxxxxxxxx\n---\n";
        let body = "y".repeat(4_000_000);
        write(&root, "agents/a.md", format!("{header}{body}\n"));
        let details = inspect_directory(&root).expect("inspects");
        let agent = details.inventory.agents.first().expect("one agent");
        assert!(agent.truncated);
        assert_eq!(agent.on_invoke_chars, MAX_FILE_BYTES - header.len() as u64);
        assert_eq!(component_cell(agent.on_invoke_tokens()), "~262.1k");
        assert!(
            details
                .notes
                .iter()
                .any(|n| n.contains("larger than 1 MiB"))
        );
    }

    #[test]
    fn binary_and_invalid_utf8_files_are_decoded_lossily() {
        let (_temp, root) = plugin_dir();
        let mut bytes = b"---\ndescription: d\n---\n".to_vec();
        bytes.extend([0xff; 100]);
        bytes.extend([0x00, 0x01, 0xc3]);
        write(&root, "agents/bin.md", &bytes);
        let details = inspect_directory(&root).expect("inspects");
        let agent = details.inventory.agents.first().expect("one agent");
        // 100 bytes 0xFF: 100 U+FFFD; NUL and U+0001 kept; a cut sequence: one U+FFFD.
        assert_eq!(agent.on_invoke_chars, 103);
        assert_eq!(agent.always_on_chars, utf16_len("bin d"));
    }

    #[cfg(unix)]
    #[test]
    fn fifos_are_not_opened() {
        let (_temp, root) = plugin_dir();
        std::fs::create_dir_all(root.join("skills/s")).expect("skill dir");
        let status = std::process::Command::new("mkfifo")
            .arg(root.join("skills/s/SKILL.md"))
            .arg(root.join("agents.md"))
            .status();
        if !status.is_ok_and(|s| s.success()) {
            return; // no mkfifo here
        }
        std::fs::create_dir_all(root.join("agents")).expect("agents dir");
        let details = inspect_directory(&root).expect("inspects without blocking");
        assert!(details.inventory.skills.is_empty());
    }

    #[test]
    fn declared_paths_and_server_files_follow_the_reference() {
        let (_temp, root) = plugin_dir();
        write(
            &root,
            PLUGIN_MANIFEST_PATH,
            r#"{"name":"plug","commands":["./extra","../escape"],"agents":["./agents/a.md"],
               "skills":["./more"],"hooks":["./h.json",{"Stop":[]}],
               "mcpServers":["./m.json",{"z":{}}],"lspServers":{"l":{}}}"#,
        );
        write(
            &root,
            "commands/top.md",
            "not read: plugin.json declares commands",
        );
        write(&root, "extra/x.md", "x");
        write(&root, "agents/a.md", "declared agent files are not counted");
        write(&root, "more/m1/SKILL.md", "m");
        write(&root, "skills/s/SKILL.md", "s");
        write(
            &root,
            "hooks/hooks.json",
            r#"{"hooks":{"PreToolUse":[],"Stop":[]}}"#,
        );
        write(&root, "h.json", r#"{"hooks":{"Notification":[]}}"#);
        write(&root, ".mcp.json", r#"{"mcpServers":{"b":{},"a":{}}}"#);
        write(&root, "m.json", r#"{"a":{},"2":{},"1":{}}"#);
        write(&root, ".lsp.json", r#"{"py":{}}"#);
        let details = inspect_directory(&root).expect("inspects");
        let inventory = &details.inventory;
        assert_eq!(names(&inventory.commands), ["x"]);
        assert!(inventory.agents.is_empty());
        assert_eq!(names(&inventory.skills), ["s", "m1"]);
        assert_eq!(inventory.hooks, ["PreToolUse", "Stop", "Notification"]);
        assert_eq!(inventory.mcp_servers, ["b", "a", "1", "2", "z"]);
        assert_eq!(inventory.lsp_servers, ["py", "l"]);
        assert!(
            details.notes.iter().any(|n| n.contains("../escape")),
            "{:?}",
            details.notes
        );
    }

    #[test]
    fn javascript_key_order_puts_array_indices_first() {
        let value: Value =
            serde_json::from_str(r#"{"b":1,"2":1,"a":1,"10":1,"01":1}"#).expect("valid JSON");
        assert_eq!(js_keys(&value), ["2", "10", "b", "a", "01"]);
        assert_eq!(
            object_keys_of_each(&serde_json::json!([{"x": 1}, "s", {"y": 2}])),
            ["x", "y"]
        );
    }
}
