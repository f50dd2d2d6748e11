//! `marketplace.json` checks (reference-advanced.md §5 "marketplace.json findings"), each local
//! plugin's plugin.json and hooks files, plus pm's `source-missing`, `name-mismatch` and
//! `version-not-semver`, and with `--strict` the seed's field rules.

use super::codes;
use super::components::{self, Depth, has_parent_segment};
use super::load::{self, Stakes};
use super::names::{self, ReservedName};
use super::plugin::{self, Context};
use super::read;
use super::report::{FileReport, Finding};
use super::schema::{self, Check, Schema};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// marketplace.json's top-level fields.
const KNOWN_FIELDS: &[&str] = &[
    "$schema",
    "name",
    "version",
    "description",
    "owner",
    "plugins",
    "forceRemoveDeletedPlugins",
    "metadata",
    "allowCrossMarketplaceDependenciesOn",
    "renames",
];

/// `metadata`'s fields.
const METADATA_FIELDS: &[&str] = &["pluginRoot", "version", "description"];

/// A plugin entry's own fields (beyond plugin.json's).
const ENTRY_FIELDS: &[&str] = &[
    "name",
    "source",
    "category",
    "tags",
    "strict",
    "relevance",
    "headers",
    "headersHelper",
];

/// Names Claude Code keeps for itself, and what for.
const RESERVED: &[(&str, &str)] = &[
    ("inline", "--plugin-dir session plugins"),
    ("builtin", "built-in plugins"),
    ("skills-dir", "plugins auto-loaded from .claude/skills/"),
    ("synced", "plugins synced from your claude.ai account"),
    ("claude-plugin-test", "plugins loaded by claude plugin test"),
];

/// Claude Desktop's reserved marketplace names.
const DESKTOP_RESERVED: &[&str] = &["org", "org-provisioned", "unknown"];

const ID_PART_RULE: &str = "Each part of a plugin id (plugin@marketplace) may use only the letters a-z and A-Z, digits, \".\", \"_\" and \"-\", and must start with a letter or digit.";

fn not_path_like(name: &str) -> bool {
    !name.contains(['/', '\\']) && !name.contains("..") && name != "."
}

fn not_reserved(name: &str) -> bool {
    let lower = name.to_lowercase();
    !RESERVED.iter().any(|(reserved, _)| *reserved == lower)
}

fn marketplace_name_schema() -> Schema {
    schema::string(&[
        Check::MinLength(1, "Marketplace must have a name"),
        Check::Custom(
            |name| !name.contains(' '),
            "Marketplace name cannot contain spaces. Use kebab-case (e.g., \"my-marketplace\")",
        ),
        Check::Custom(
            |name| !names::has_control_characters(name),
            "Marketplace name cannot contain control or bidirectional-formatting characters",
        ),
        Check::Custom(
            not_path_like,
            "Marketplace name cannot contain path separators (/ or \\), \"..\" sequences, or be \".\"",
        ),
        Check::Custom(
            not_impersonating,
            "Marketplace name impersonates an official Anthropic/Claude marketplace",
        ),
        Check::Custom(not_reserved, "Marketplace name is reserved"),
    ])
}

/// Not a name that passes for an official Anthropic marketplace (the official names
/// themselves are accepted here: validate does not know the source).
fn not_impersonating(name: &str) -> bool {
    !matches!(
        pm_core::names::validate_marketplace_name(name, false),
        Err(pm_core::names::NameError::Impersonation(_))
    )
}

fn sha(text: &str) -> bool {
    text.len() == 40
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// An entry's `source`: `./path`, or an npm, url, github, git-subdir or archive object.
fn source_schema() -> Schema {
    let sha_field = || {
        schema::optional(
            "sha",
            schema::string(&[Check::Custom(
                sha,
                "Must be a full 40-character lowercase git commit SHA",
            )]),
        )
    };
    let kind = |name: &'static str| schema::required("source", Schema::Literal(name));
    Schema::Union(vec![
        schema::string(&[Check::StartsWith("./")]),
        Schema::Object(vec![
            kind("npm"),
            schema::required("package", schema::string(&[])),
            schema::optional("version", schema::string(&[])),
            schema::optional("registry", schema::string(&[Check::Url])),
        ]),
        Schema::Object(vec![
            kind("url"),
            schema::required("url", schema::string(&[])),
            schema::optional("ref", schema::string(&[])),
            sha_field(),
        ]),
        Schema::Object(vec![
            kind("github"),
            schema::required("repo", schema::string(&[])),
            schema::optional("ref", schema::string(&[])),
            sha_field(),
        ]),
        Schema::Object(vec![
            kind("git-subdir"),
            schema::required("url", schema::string(&[])),
            schema::required(
                "path",
                schema::string(&[Check::MinLength(
                    1,
                    "Too small: expected string to have >=1 characters",
                )]),
            ),
            schema::optional("ref", schema::string(&[])),
            sha_field(),
        ]),
        Schema::Object(vec![
            kind("archive"),
            schema::required("url", schema::string(&[Check::Url])),
            schema::optional("sha256", schema::string(&[])),
        ]),
    ])
}

fn entry_schema() -> Schema {
    let mut fields = vec![
        schema::required("name", plugin::plugin_name_schema()),
        schema::required("source", source_schema()),
        schema::optional("category", schema::string(&[])),
        schema::optional("tags", schema::array(schema::string(&[]))),
        schema::optional("strict", Schema::Boolean),
        schema::optional("headers", schema::record(schema::string(&[]))),
        schema::optional("headersHelper", schema::string(&[])),
    ];
    fields.extend(plugin::component_fields());
    Schema::Object(fields)
}

fn marketplace_schema() -> Schema {
    marketplace_schema_with(schema::array(entry_schema()))
}

fn marketplace_schema_with(plugins: Schema) -> Schema {
    Schema::Object(vec![
        schema::optional("$schema", schema::string(&[])),
        schema::required("name", marketplace_name_schema()),
        schema::optional("version", schema::string(&[])),
        schema::optional("description", schema::string(&[])),
        schema::required("owner", plugin::person_schema()),
        schema::required("plugins", plugins),
        schema::optional("forceRemoveDeletedPlugins", Schema::Boolean),
        schema::optional(
            "metadata",
            Schema::Object(vec![
                schema::optional("pluginRoot", schema::string(&[])),
                schema::optional("version", schema::string(&[])),
                schema::optional("description", schema::string(&[])),
            ]),
        ),
        schema::optional(
            "allowCrossMarketplaceDependenciesOn",
            schema::array(schema::string(&[])),
        ),
    ])
}

/// `metadata.pluginRoot` when it is a usable relative path inside the marketplace.
fn usable_plugin_root(root: Option<&Value>) -> Option<String> {
    let text = root?.as_str()?;
    if text.starts_with('/') || has_parent_segment(text) {
        return None;
    }
    let trimmed = text.trim_end_matches('/');
    Some(if trimmed == "." || trimmed.is_empty() {
        ".".to_owned()
    } else if trimmed.starts_with("./") {
        trimmed.to_owned()
    } else {
        format!("./{trimmed}")
    })
}

/// A bare source name (`"a"`), which needs `metadata.pluginRoot`.
fn is_bare_name(text: &str) -> bool {
    !text.is_empty()
        && !text.contains(['/', '\\'])
        && text != "."
        && text != ".."
        && !text.starts_with("./")
}

/// What checking marketplace.json found: its own findings, and the files of its plugins with
/// findings (hooks files).
#[derive(Debug, Default)]
pub struct Checked {
    /// Errors (including the prefixed findings of each local plugin's plugin.json).
    pub errors: Vec<Finding>,
    /// Warnings.
    pub warnings: Vec<Finding>,
    /// Hooks files of local plugins with findings.
    pub contents: Vec<FileReport>,
}

/// Checks marketplace.json `text` at `file`.
pub fn check(text: &str, file: &Path, strict: bool) -> Checked {
    let parent = file.parent().unwrap_or(Path::new("/"));
    let root = if parent.file_name().is_some_and(|n| n == ".claude-plugin") {
        parent.parent().unwrap_or(parent).to_path_buf()
    } else {
        parent.to_path_buf()
    };
    let mut checked = Checked::default();
    let mut document = match load::parse_json(text) {
        Ok(document) => document,
        Err(message) => {
            checked.errors.push(Finding::reference("json", message));
            return checked;
        }
    };
    let plugin_root =
        usable_plugin_root(document.get("metadata").and_then(|m| m.get("pluginRoot")));
    let official = document
        .get("name")
        .and_then(Value::as_str)
        .is_some_and(|name| pm_core::names::OFFICIAL_NAMES.contains(&name.to_lowercase().as_str()));

    // Source paths, before the schema.
    if let Some(Value::Array(entries)) = document.get("plugins") {
        for (index, entry) in entries.iter().enumerate() {
            let Some(source) = entry.get("source") else {
                continue;
            };
            match source {
                Value::String(text) => {
                    if has_parent_segment(text) {
                        checked.errors.push(Finding::reference(
                            format!("plugins[{index}].source"),
                            format!("Path contains \"..\": {text}. {}", source_hint(text)),
                        ));
                    }
                    if is_bare_name(text) && plugin_root.is_none() {
                        let message = match document
                            .get("metadata")
                            .and_then(|m| m.get("pluginRoot"))
                        {
                            None => format!(
                                "Bare source name \"{text}\" requires metadata.pluginRoot. Use \"./relative/path\", or set metadata.pluginRoot (e.g. \"./plugins\") to allow bare names."
                            ),
                            Some(Value::String(root)) => format!(
                                "Bare source name \"{text}\" cannot resolve: metadata.pluginRoot (\"{root}\") must be a relative path inside the marketplace (e.g. \"./plugins\")."
                            ),
                            Some(_) => format!(
                                "Bare source name \"{text}\" cannot resolve: metadata.pluginRoot must be a relative path inside the marketplace (e.g. \"./plugins\")."
                            ),
                        };
                        checked.errors.push(Finding::reference(
                            format!("plugins[{index}].source"),
                            message,
                        ));
                    }
                }
                Value::Object(object) => {
                    if let Some(Value::String(path)) = object.get("path")
                        && has_parent_segment(path)
                    {
                        checked.errors.push(Finding::reference(
                            format!("plugins[{index}].source.path"),
                            format!("Path contains \"..\" which could be a path traversal attempt: {path}"),
                        ));
                    }
                }
                _ => {}
            }
        }
    }

    // Bare names resolve under pluginRoot; "." means "./".
    if let Some(Value::Array(entries)) = document.get_mut("plugins") {
        for entry in entries.iter_mut() {
            if let Some(source) = entry.get_mut("source")
                && let Value::String(text) = source
            {
                if text == "." {
                    *text = "./".to_owned();
                } else if is_bare_name(text)
                    && let Some(root) = &plugin_root
                {
                    *text = format!("{root}/{text}");
                }
            }
        }
    }

    let issues = schema::check(&marketplace_schema(), Some(&document), &[]);
    let schema_ok = issues.is_empty();
    for issue in issues {
        let path = issue.dotted_path("");
        let mut message = issue.message;
        if issue.path == ["name"] && message == "Marketplace name is reserved" {
            let lower = document["name"].as_str().unwrap_or_default().to_lowercase();
            let purpose = RESERVED
                .iter()
                .find(|(name, _)| *name == lower)
                .map_or("", |(_, purpose)| purpose);
            message = format!("Marketplace name \"{lower}\" is reserved for {purpose}");
        }
        checked.errors.push(Finding::reference(path, message));
    }

    let Value::Object(top) = &document else {
        return checked;
    };
    for key in top.keys() {
        if !KNOWN_FIELDS.contains(&key.as_str()) {
            checked.warnings.push(Finding::reference(
                key.clone(),
                names::unknown_field_message(key, KNOWN_FIELDS, &[]),
            ));
        }
    }
    if let Some(Value::String(name)) = top.get("name")
        && !name.is_empty()
    {
        name_findings(name, &mut checked);
        if strict && !names::is_kebab_case(name) {
            checked.warnings.push(Finding::pm(
                codes::NOT_KEBAB_CASE,
                "name",
                format!("Marketplace name \"{name}\" is not kebab-case (lowercase letters, digits and single hyphens, e.g. \"my-marketplace\")."),
            ));
        }
    }
    if let Some(Value::Object(metadata)) = top.get("metadata") {
        for key in metadata.keys() {
            if !METADATA_FIELDS.contains(&key.as_str()) {
                checked.warnings.push(Finding::reference(
                    format!("metadata.{key}"),
                    names::unknown_field_message(key, METADATA_FIELDS, &[]),
                ));
            }
        }
    }
    let entries: Vec<Value> = top
        .get("plugins")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut entry_known: Vec<&str> = plugin::KNOWN_FIELDS.to_vec();
    entry_known.extend(ENTRY_FIELDS);
    for (index, entry) in entries.iter().enumerate() {
        let Value::Object(entry) = entry else {
            continue;
        };
        let at = format!("plugins[{index}]");
        for key in entry.keys() {
            if !entry_known.contains(&key.as_str()) {
                checked.warnings.push(Finding::reference(
                    format!("{at}.{key}"),
                    names::unknown_field_message(key, &entry_known, &[]),
                ));
            }
        }
        if let Some(Value::String(name)) = entry.get("name")
            && !name.is_empty()
        {
            let id_part = pm_core::id::is_valid_id_part(name);
            if !id_part {
                checked.errors.push(Finding::reference(
                    format!("{at}.name"),
                    format!(
                        "Claude Code cannot install plugin \"{}\". {ID_PART_RULE} Change this entry's \"name\".{}",
                        super::report::truncate(name, 64),
                        names::hidden_character_note(name)
                    ),
                ));
            }
            if !names::is_desktop_name(name) {
                checked.warnings.push(Finding::reference(
                    format!("{at}.name"),
                    format!(
                        "Plugin name \"{name}\" is not accepted by Claude Desktop (letters, digits, \".\", \"_\", \"-\"; must start alphanumeric; max 128 chars). {}Claude Desktop managed marketplace sync (allowedPluginMarketplaces) will drop this entry.{}",
                        if id_part { "Claude Code accepts it, but the " } else { "The " },
                        names::hidden_character_note(name)
                    ),
                ));
            }
            if !official && let Some(reserved) = names::reserved_plugin_name(name) {
                match reserved {
                    ReservedName::Error(message) => checked
                        .errors
                        .push(Finding::reference(format!("{at}.name"), message)),
                    ReservedName::Warning(message) => checked
                        .warnings
                        .push(Finding::reference(format!("{at}.name"), message)),
                }
            }
            if strict && !names::is_kebab_case(name) {
                checked.warnings.push(Finding::pm(
                    codes::NOT_KEBAB_CASE,
                    format!("{at}.name"),
                    format!("Plugin name \"{name}\" is not kebab-case (lowercase letters, digits and single hyphens, e.g. \"my-plugin\")."),
                ));
            }
        }
        if let Some(relevance) = entry.get("relevance")
            && !relevance.is_object()
        {
            checked.warnings.push(Finding::reference(
                format!("{at}.relevance"),
                format!("'relevance' must be an object containing topic and signals; got {}. It will be ignored at load time.", load::kind(relevance)),
            ));
        }
        plugin::loose_shape_findings(entry, &at, &mut checked.errors, &mut checked.warnings);
        if let Some(Value::String(version)) = entry.get("version")
            && let Some(finding) =
                plugin::semver_finding(&format!("{at}.version"), version, "this marketplace entry")
        {
            checked.warnings.push(finding);
        }
        if strict {
            for field in ["version", "description", "author"] {
                if entry.get(field).is_none_or(Value::is_null) {
                    checked.warnings.push(Finding::pm(
                        codes::FIELD_MISSING,
                        format!("{at}.{field}"),
                        format!("The entry has no `{field}`; the marketplace guide's field table requires one."),
                    ));
                }
            }
        }
    }

    if schema_ok {
        if entries.is_empty() {
            checked.warnings.push(Finding::reference(
                "plugins",
                "Marketplace has no plugins defined",
            ));
        }
        for (index, entry) in entries.iter().enumerate() {
            let Some(name) = entry.get("name").and_then(Value::as_str) else {
                continue;
            };
            let count = entries
                .iter()
                .filter(|other| other.get("name").and_then(Value::as_str) == Some(name))
                .count();
            if count > 1 {
                checked.errors.push(Finding::reference(
                    format!("plugins[{index}].name"),
                    format!("Duplicate plugin name \"{name}\" found in marketplace"),
                ));
            }
        }
        let has_description =
            |value: Option<&Value>| value.and_then(Value::as_str).is_some_and(|d| !d.is_empty());
        if !has_description(top.get("description"))
            && !has_description(top.get("metadata").and_then(|m| m.get("description")))
        {
            checked.warnings.push(Finding::reference(
                "description",
                "No marketplace description provided. Adding a description helps users understand what this marketplace offers",
            ));
        }
    }
    if strict {
        let version = top
            .get("version")
            .or_else(|| top.get("metadata").and_then(|m| m.get("version")));
        match version {
            Some(Value::String(version)) => {
                checked.warnings.extend(plugin::semver_finding("version", version, "marketplace.json"));
            }
            _ => checked.warnings.push(Finding::pm(
                codes::FIELD_MISSING,
                "version",
                "The marketplace has no `version` (the marketplace guide's field table requires a semantic version).",
            )),
        }
        if let Some(email) = top
            .get("owner")
            .and_then(|o| o.get("email"))
            .and_then(Value::as_str)
        {
            checked
                .warnings
                .extend(plugin::email_finding("owner.email", email));
        }
    }

    // Claude Code loads the marketplace (and so each plugin's hooks) only when its top level
    // is valid; entries that do not parse are stubbed and not loaded.
    let loads = schema::check(
        &marketplace_schema_with(schema::array(Schema::Any)),
        Some(&document),
        &[],
    )
    .is_empty();
    let entry_names: Vec<String> = entries
        .iter()
        .filter_map(|e| e.get("name").and_then(Value::as_str).map(str::to_owned))
        .collect();
    let allowed: Vec<String> = top
        .get("allowCrossMarketplaceDependenciesOn")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let marketplace_name = top.get("name").and_then(Value::as_str).unwrap_or_default();
    let catalogue = plugin::Catalogue {
        name: marketplace_name,
        entries: &entry_names,
        allowed: &allowed,
    };
    let entry_shape = entry_schema();
    for (index, entry) in entries.iter().enumerate() {
        if !schema::check(&entry_shape, Some(entry), &[]).is_empty() {
            continue;
        }
        checked.warnings.extend(plugin::dependency_findings(
            entry.get("dependencies"),
            &format!("plugins[{index}].dependencies"),
            Some(&catalogue),
            strict,
        ));
        let Some(Value::String(source)) = entry.get("source") else {
            continue;
        };
        if has_parent_segment(source) {
            continue;
        }
        let marketplace = Marketplace {
            root: &root,
            official,
            catalogue: &catalogue,
            strict,
        };
        let directory = local_plugin(index, entry, source, &marketplace, &mut checked);
        if loads && let Some((directory, plugin_name, manifest)) = directory {
            let scan = components::scan(
                &directory,
                &plugin_name,
                manifest.as_ref(),
                Depth::HooksOnly,
                strict,
            );
            checked.contents.extend(scan.contents);
        }
    }
    checked
}

/// The reference's advice for a source with `..`.
fn source_hint(source: &str) -> String {
    let mut stripped = source;
    while let Some(rest) = stripped.strip_prefix("../") {
        stripped = rest;
    }
    let suggestion = if stripped != source {
        format!("./{stripped}")
    } else {
        "./plugins/my-plugin".to_owned()
    };
    format!(
        "Plugin source paths are resolved relative to the marketplace root (the directory containing .claude-plugin/), not relative to marketplace.json. Use \"{suggestion}\" instead of \"{source}\"."
    )
}

fn name_findings(name: &str, checked: &mut Checked) {
    let id_part = pm_core::id::is_valid_id_part(name);
    if !id_part {
        checked.errors.push(Finding::reference(
            "name",
            format!(
                "Claude Code cannot install plugins from marketplace \"{}\". {ID_PART_RULE} Change the marketplace's \"name\".{}",
                super::report::truncate(name, 64),
                names::hidden_character_note(name)
            ),
        ));
    }
    if DESKTOP_RESERVED.contains(&name.to_lowercase().as_str()) {
        checked.warnings.push(Finding::reference(
            "name",
            format!("Marketplace name \"{name}\" is reserved in Claude Desktop. Claude Code accepts it, but the Claude Desktop managed marketplace sync (allowedPluginMarketplaces) will reject the whole marketplace."),
        ));
    } else if !names::is_desktop_name(name) {
        checked.warnings.push(Finding::reference(
            "name",
            format!(
                "Marketplace name \"{name}\" is not accepted by Claude Desktop (letters, digits, \".\", \"_\", \"-\"; must start alphanumeric; max 128 chars). {}Claude Desktop managed marketplace sync (allowedPluginMarketplaces) will reject the whole marketplace.{}",
                if id_part { "Claude Code accepts it, but the " } else { "The " },
                names::hidden_character_note(name)
            ),
        ));
    }
}

/// The directory of a local plugin, its name and its plugin.json when it is an object.
type LocalPlugin = (PathBuf, String, Option<Map<String, Value>>);

/// A local plugin (relative source) of entry `index`: its directory and plugin.json. Returns
/// the directory (when it exists and is read), for the hooks scan.
/// What a local plugin's checks need to know about its marketplace.
struct Marketplace<'a> {
    /// The marketplace root.
    root: &'a Path,
    /// Whether it is an official Anthropic marketplace (no reserved-name check).
    official: bool,
    /// Its entries, for dependencies.
    catalogue: &'a plugin::Catalogue<'a>,
    /// `--strict`.
    strict: bool,
}

fn local_plugin(
    index: usize,
    entry: &Value,
    source: &str,
    marketplace: &Marketplace<'_>,
    checked: &mut Checked,
) -> Option<LocalPlugin> {
    let Marketplace {
        root,
        official,
        catalogue,
        strict,
    } = *marketplace;
    let entry_name = entry
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let directory: PathBuf = root
        .join(source.trim_start_matches("./"))
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    let relative_manifest = directory
        .join(".claude-plugin")
        .join("plugin.json")
        .strip_prefix(root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| format!("{source}/.claude-plugin/plugin.json"));
    let at = format!("plugins[{index}]");
    if !read::exists(&directory) {
        checked.warnings.push(Finding::pm(
            codes::SOURCE_MISSING,
            format!("{at}.source"),
            format!(
                "Source \"{source}\" does not exist in the marketplace ({}). Installing \"{entry_name}\" fails until the directory is added or the path fixed (paths are relative to the directory holding .claude-plugin/).",
                directory.display()
            ),
        ));
        return None;
    }
    if let Some(link) =
        read::first_link_below(root, &directory.join(".claude-plugin").join("plugin.json"))
    {
        let _ = link;
        checked.warnings.push(Finding::reference(
            format!("{at}.source"),
            format!("Local source \"{source}\" is or traverses a symlink, so {relative_manifest} was not read \u{2014} validation never follows one. Install dereferences symlinks that stay inside the marketplace, so this entry still loads. Validate the real path separately."),
        ));
        return None;
    }
    if read::exists(&directory.join(".claude-plugin"))
        && !read::is_dir(&directory.join(".claude-plugin"))
    {
        checked.errors.push(Finding::reference(
            format!("{at} plugin.json \u{2192} file"),
            format!("A path component of {relative_manifest} is not a directory, so the file cannot be read. The entry will fail to load at install time."),
        ));
        return None;
    }
    let manifest_path = directory.join(".claude-plugin").join("plugin.json");
    let mut read_report = FileReport::new(
        manifest_path.display().to_string(),
        super::report::FileType::Plugin,
    );
    let text = match load::load(
        &manifest_path,
        read::MANIFEST_CAP,
        Stakes::Manifest,
        &mut read_report,
    ) {
        Ok(Some(text)) => Some(text.text),
        Ok(None) => None,
        Err(()) => None,
    };
    let prefix = format!("{at} plugin.json \u{2192} ");
    for finding in read_report.errors {
        if finding.code.is_some() && finding.code != Some(codes::NOT_UTF8) {
            // Too large or not a file: the reference says it was not validated.
            checked.warnings.push(Finding::reference(
                format!("{at}.source"),
                format!("{relative_manifest} {}, so it was not validated. Install reads it anyway. Validate it separately.",
                    if finding.code == Some(codes::FILE_TOO_LARGE) { format!("is larger than {}", read::human_size(read::MANIFEST_CAP)) } else { "is a symlink or is not a regular file".to_owned() }),
            ));
        } else {
            checked.errors.push(finding.prefixed(&prefix));
        }
    }
    let Some(text) = text else {
        // No plugin.json: the entry is the manifest (strict: false) or the directory is loaded
        // as is; only its hooks are checked.
        return Some((directory, entry_name.to_owned(), None));
    };
    let entry_version = entry
        .get("version")
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty());
    let manifest_value = load::parse_json(&text).ok();
    if let Some(entry_version) = entry_version {
        match &manifest_value {
            None => {}
            Some(value) => {
                if let Some(Value::String(version)) = value.get("version")
                    && version != entry_version
                {
                    checked.warnings.push(Finding::reference(
                        format!("{at}.version"),
                        format!("Entry declares version \"{entry_version}\" but {relative_manifest} says \"{version}\". At install time, plugin.json wins (calculatePluginVersion precedence) \u{2014} the entry version is silently ignored. Update this entry to \"{version}\" to match."),
                    ));
                }
            }
        }
    }
    if let Some(Value::String(manifest_name)) = manifest_value.as_ref().and_then(|v| v.get("name"))
        && manifest_name != entry_name
    {
        checked.warnings.push(Finding::pm(
            codes::NAME_MISMATCH,
            format!("{at}.name"),
            format!("Entry name \"{entry_name}\" differs from the name in {relative_manifest} (\"{manifest_name}\"). The plugin is installed as \"{entry_name}@…\" while its own manifest, and the namespace of its skills and commands, say \"{manifest_name}\"; make the two names the same."),
        ));
    }
    let context = if official {
        Context::Anthropic
    } else {
        Context::Entry(entry_name.to_owned())
    };
    let plugin_checked = plugin::check(&text, &directory, &context, strict);
    for finding in plugin_checked.errors {
        checked.errors.push(finding.prefixed(&prefix));
    }
    for finding in plugin_checked.warnings {
        checked.warnings.push(finding.prefixed(&prefix));
    }
    let dependencies = plugin_checked
        .document
        .as_ref()
        .and_then(|d| d.get("dependencies"));
    for finding in
        plugin::dependency_findings(dependencies, "dependencies", Some(catalogue), strict)
    {
        checked.warnings.push(finding.prefixed(&prefix));
    }
    if strict && let Some(components_listed) = entry.get("components").and_then(Value::as_object) {
        component_findings(&at, components_listed, &directory, checked);
    }
    let plugin_name = plugin_checked
        .document
        .as_ref()
        .and_then(|d| d.get("name"))
        .and_then(Value::as_str)
        .unwrap_or(entry_name);
    Some((directory, plugin_name.to_owned(), plugin_checked.document))
}

/// With `--strict`: each name an entry's `components` lists must exist in the plugin.
fn component_findings(
    at: &str,
    listed: &Map<String, Value>,
    directory: &Path,
    checked: &mut Checked,
) {
    for (kind, names) in listed {
        for name in names
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            let exists = match kind.as_str() {
                "commands" => read::exists(&directory.join("commands").join(format!("{name}.md"))),
                "agents" => read::exists(&directory.join("agents").join(format!("{name}.md"))),
                "skills" => read::exists(&directory.join("skills").join(name).join("SKILL.md")),
                "hooks" => hook_event_declared(directory, name),
                _ => true,
            };
            if !exists {
                checked.warnings.push(Finding::pm(
                    codes::COMPONENT_MISSING,
                    format!("{at}.components.{kind}"),
                    format!(
                        "\"{name}\" is listed but the plugin has no such {kind} entry ({}).",
                        match kind.as_str() {
                            "commands" => format!("commands/{name}.md"),
                            "agents" => format!("agents/{name}.md"),
                            "skills" => format!("skills/{name}/SKILL.md"),
                            _ => format!("a {name} event in hooks/hooks.json"),
                        }
                    ),
                ));
            }
        }
    }
}

fn hook_event_declared(directory: &Path, event: &str) -> bool {
    match read::read_text(
        &directory.join("hooks").join("hooks.json"),
        read::COMPONENT_CAP,
    ) {
        read::FileRead::Text { text, .. } => load::parse_json(&text)
            .ok()
            .and_then(|value| {
                value
                    .get("hooks")
                    .and_then(Value::as_object)
                    .map(|m| m.contains_key(event))
            })
            .unwrap_or(false),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_hints() {
        assert!(source_hint("../outside").contains("Use \"./outside\" instead of \"../outside\""));
        assert!(
            source_hint("./../outside")
                .contains("Use \"./plugins/my-plugin\" instead of \"./../outside\"")
        );
    }

    #[test]
    fn bare_names() {
        assert!(is_bare_name("a"));
        assert!(!is_bare_name("./a"));
        assert!(!is_bare_name("plugins/a"));
        assert_eq!(
            usable_plugin_root(Some(&Value::from("./plugins/"))),
            Some("./plugins".to_owned())
        );
        assert_eq!(
            usable_plugin_root(Some(&Value::from("plugins"))),
            Some("./plugins".to_owned())
        );
        assert_eq!(usable_plugin_root(Some(&Value::from("../x"))), None);
    }
}
