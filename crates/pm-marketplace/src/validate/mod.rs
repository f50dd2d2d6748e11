//! `pm validate <path>`: checks a plugin directory, a marketplace directory, or a manifest file
//! before it is published (reference-advanced.md §5).
//!
//! [`validate`] returns a [`Report`] with the reference's JSON shape: the manifest's errors and
//! warnings (`{path, message, code}`), the component files with findings (skills, agents and
//! commands frontmatter, `hooks.json`, `.mcp.json`, `.lsp.json`), what a valid plugin provides,
//! and the plugin directory checks. The findings are the reference's catalogue with its messages
//! (`code: null`) plus pm's own, each with a stable code ([`codes`]). Nothing is printed and
//! nothing is written.
//!
//! What `<path>` may be:
//! - a directory with `.claude-plugin/marketplace.json` (preferred) or `.claude-plugin/plugin.json`;
//! - a directory without a manifest that has `skills/`, `agents/` or `commands/` (its
//!   components are checked; `manifest` is null);
//! - a file: `plugin.json`, `marketplace.json`, any file in a `.claude-plugin/` directory
//!   (a plugin manifest), or any other JSON file (a marketplace when it looks like one).
//!
//! Every read is capped ([`read::MANIFEST_CAP`], [`read::COMPONENT_CAP`]) and no link is
//! followed below the path given; JSON errors carry a line and column, YAML errors too.

pub mod codes;
mod components;
mod directory;
mod hooks;
mod load;
mod marketplace;
mod names;
mod plugin;
pub mod read;
pub mod report;
mod schema;

pub use report::{
    DirectoryFinding, DirectoryReport, FileReport, FileType, Finding, Provides, Report, Verdict,
};

use components::Depth;
use load::Stakes;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Extra checks that change the verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `--profile directory`: a plugin directory check the catalogue refuses a submission for
    /// (README missing or too short, no license) fails validation.
    Directory,
}

/// How to validate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Options {
    /// `--strict`: warnings fail validation, and the marketplace guide's rules (seed 002) are
    /// checked too (the strict-only codes of [`codes`]).
    pub strict: bool,
    /// `--profile`.
    pub profile: Option<Profile>,
}

/// Validates `path` (see the module documentation for what it may be). Never fails: every
/// problem, including a path that does not exist, is a finding in the report.
pub fn validate(path: &Path, options: &Options) -> Report {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut report = match std::fs::metadata(&path) {
        Err(_) => not_found(&path),
        Ok(metadata) if metadata.is_dir() => validate_directory(&path, options),
        Ok(_) => validate_file(&path, options),
    };
    report.strict = options.strict;
    report.success = matches!(
        report.verdict(),
        Verdict::Passed | Verdict::PassedWithWarnings
    );
    report
}

fn empty_report(target: &Path, manifest: Option<FileReport>) -> Report {
    Report {
        success: false,
        strict: false,
        target: target.display().to_string(),
        manifest,
        contents: Vec::new(),
        provides: None,
        hosts: None,
        advice: Vec::new(),
        directory: None,
    }
}

fn not_found(path: &Path) -> Report {
    let file_type = if path.file_name().is_some_and(|n| n == "marketplace.json") {
        FileType::Marketplace
    } else {
        FileType::Plugin
    };
    let mut manifest = FileReport::new(path.display().to_string(), file_type);
    manifest.errors.push(Finding::reference(
        "file",
        format!("File not found: {}", path.display()),
    ));
    empty_report(path, Some(manifest))
}

fn validate_directory(dir: &Path, options: &Options) -> Report {
    let marketplace_file = dir.join(".claude-plugin").join("marketplace.json");
    if read::exists(&marketplace_file) {
        let mut report = validate_marketplace(&marketplace_file, options);
        let root_plugin = dir.join(".claude-plugin").join("plugin.json");
        if read::exists(&root_plugin) {
            let plugin_report = validate_plugin(&root_plugin, Some(dir), options);
            if let Some(manifest) = plugin_report.manifest
                && manifest.has_findings()
            {
                report.contents.push(manifest);
            }
            report.contents.extend(plugin_report.contents);
        }
        return report;
    }
    let plugin_file = dir.join(".claude-plugin").join("plugin.json");
    if read::exists(&plugin_file) {
        return validate_plugin(&plugin_file, Some(dir), options);
    }
    let has_components = ["skills", "agents", "commands"]
        .iter()
        .any(|name| read::is_dir(&dir.join(name)));
    if has_components {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let scan = components::scan(dir, &name, None, Depth::Full, options.strict);
        let mut report = empty_report(dir, None);
        report.contents = scan.contents;
        report.directory = Some(directory::check(dir, None, false, profile_name(options)));
        return report;
    }
    let mut manifest = FileReport::new(dir.display().to_string(), FileType::Plugin);
    manifest.errors.push(Finding::reference(
        "directory",
        "No manifest found in directory. Expected .claude-plugin/marketplace.json or .claude-plugin/plugin.json",
    ));
    empty_report(dir, Some(manifest))
}

fn profile_name(options: &Options) -> Option<&'static str> {
    options.profile.map(|Profile::Directory| "directory")
}

/// Marketplace-only top-level keys, used to tell a marketplace from a plugin manifest.
const MARKETPLACE_KEYS: &[&str] = &[
    "owner",
    "plugins",
    "forceRemoveDeletedPlugins",
    "allowCrossMarketplaceDependenciesOn",
    "renames",
];

fn validate_file(file: &Path, options: &Options) -> Report {
    let name = file.file_name().map(|n| n.to_string_lossy().into_owned());
    let parent_is_manifest_dir = file
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|n| n == ".claude-plugin");
    match name.as_deref() {
        Some("marketplace.json") => return validate_marketplace(file, options),
        Some("plugin.json") => {}
        _ if parent_is_manifest_dir => {}
        _ => {
            if looks_like_marketplace(file) {
                return validate_marketplace(file, options);
            }
        }
    }
    let root = parent_is_manifest_dir
        .then(|| file.parent().and_then(Path::parent))
        .flatten();
    validate_plugin(file, root, options)
}

fn looks_like_marketplace(file: &Path) -> bool {
    let read::FileRead::Text { text, .. } = read::read_text(file, read::MANIFEST_CAP) else {
        return false;
    };
    let Ok(Value::Object(map)) = load::parse_json(&text) else {
        return false;
    };
    let marketplace_only = map
        .keys()
        .any(|key| MARKETPLACE_KEYS.contains(&key.as_str()));
    let plugin_only = map.keys().any(|key| {
        plugin::KNOWN_FIELDS.contains(&key.as_str())
            && !["$schema", "name", "version", "description", "metadata"].contains(&key.as_str())
    });
    map.get("plugins").is_some_and(Value::is_array)
        || (map.contains_key("plugins") && map.contains_key("owner"))
        || (marketplace_only && !plugin_only)
}

fn validate_marketplace(file: &Path, options: &Options) -> Report {
    let mut manifest = FileReport::new(file.display().to_string(), FileType::Marketplace);
    let text = match load::load(file, read::MANIFEST_CAP, Stakes::Manifest, &mut manifest) {
        Ok(Some(text)) => Some(text.text),
        Ok(None) => {
            manifest.errors.push(Finding::reference(
                "file",
                format!("File not found: {}", file.display()),
            ));
            None
        }
        Err(()) => None,
    };
    let mut report = empty_report(file, None);
    if let Some(text) = text {
        let checked = marketplace::check(&text, file, options.strict);
        manifest.errors.extend(checked.errors);
        manifest.warnings.extend(checked.warnings);
        report.contents = checked.contents;
    }
    report.manifest = Some(manifest);
    report
}

/// Validates plugin.json at `file`; `root` is the plugin directory when the file is its
/// `.claude-plugin/plugin.json` (components and directory checks need it).
fn validate_plugin(file: &Path, root: Option<&Path>, options: &Options) -> Report {
    let mut manifest = FileReport::new(file.display().to_string(), FileType::Plugin);
    let text = match load::load(file, read::MANIFEST_CAP, Stakes::Manifest, &mut manifest) {
        Ok(Some(text)) => Some(text),
        Ok(None) => {
            manifest.errors.push(Finding::reference(
                "file",
                format!("File not found: {}", file.display()),
            ));
            None
        }
        Err(()) => None,
    };
    let mut report = empty_report(file, None);
    let Some(load::Text { text, bom }) = text else {
        report.manifest = Some(manifest);
        return report;
    };
    let base: PathBuf = root
        .map(Path::to_path_buf)
        .or_else(|| file.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    let checked = plugin::check(&text, &base, &plugin::Context::Alone, options.strict);
    manifest.errors.extend(checked.errors);
    manifest.warnings.extend(checked.warnings);
    let document = checked.document;
    manifest.warnings.extend(plugin::dependency_findings(
        document.as_ref().and_then(|d| d.get("dependencies")),
        "dependencies",
        None,
        options.strict,
    ));
    let plugin_name = document
        .as_ref()
        .and_then(|d| d.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| {
            base.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let depth = if root.is_some() {
        Depth::Full
    } else {
        Depth::HooksOnly
    };
    let scan = components::scan(
        &base,
        &plugin_name,
        document.as_ref(),
        depth,
        options.strict,
    );
    report.contents = scan.contents;
    let has_errors =
        !manifest.errors.is_empty() || report.contents.iter().any(|c| !c.errors.is_empty());
    if let Some(root) = root {
        if !has_errors {
            report.hosts = Some(report::Hosts {
                named: Vec::new(),
                unread: scan.unread,
                declared: report::DeclaredHosts {
                    plugin: document
                        .as_ref()
                        .is_some_and(|d| d.get("network").is_some_and(Value::is_object)),
                    servers: Vec::new(),
                },
            });
            report.provides = Some(scan.provides);
        }
        report.directory = Some(directory::check(
            root,
            document.as_ref(),
            bom,
            profile_name(options),
        ));
    }
    report.manifest = Some(manifest);
    report
}
