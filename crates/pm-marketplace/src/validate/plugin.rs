//! `plugin.json` checks (reference-advanced.md §5 "plugin.json findings"), plus pm's
//! `version-not-semver` and, with `--strict`, the seed's field rules.

use super::codes;
use super::components::{self, has_parent_segment};
use super::hooks;
use super::load::{self, kind};
use super::names::{self, ReservedName};
use super::report::Finding;
use super::schema::{self, Check, Field, Schema};
use serde_json::{Map, Value};
use std::path::Path;

/// plugin.json's fields (the reference's schema).
pub const KNOWN_FIELDS: &[&str] = &[
    "$schema",
    "name",
    "displayName",
    "version",
    "description",
    "author",
    "homepage",
    "repository",
    "license",
    "keywords",
    "defaultEnabled",
    "dependencies",
    "metadata",
    "engines",
    "network",
    "hooks",
    "commands",
    "agents",
    "skills",
    "outputStyles",
    "themes",
    "workflows",
    "channels",
    "mcpServers",
    "lspServers",
    "monitors",
    "settings",
    "types",
    "userConfig",
    "binaries",
    "experimental",
];

/// Fields the plugin directory reads from plugin.json, accepted without a warning.
const DIRECTORY_FIELDS: &[&str] = &[
    "icon",
    "screenshots",
    "classification",
    "privacyPolicyUrl",
    "privacy_policy",
    "privacyPolicy",
    "supportUrl",
    "support",
    "bugs",
    "termsOfServiceUrl",
    "terms_of_service",
    "documentationUrl",
    "docs",
];

/// Fields of a marketplace entry that do nothing in plugin.json.
pub const ENTRY_ONLY_FIELDS: &[&str] = &[
    "category",
    "source",
    "tags",
    "strict",
    "id",
    "relevance",
    "headers",
    "headersHelper",
];

/// How a plugin.json is being validated, which decides the reserved-name check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Context {
    /// On its own (`pm validate <plugin dir>`).
    Alone,
    /// As the plugin of a marketplace entry with this name.
    Entry(String),
    /// As a plugin of an official Anthropic marketplace (no reserved-name check).
    Anthropic,
}

/// The findings for one plugin.json, and the document when it is an object.
#[derive(Debug, Default)]
pub struct Checked {
    /// Errors.
    pub errors: Vec<Finding>,
    /// Warnings.
    pub warnings: Vec<Finding>,
    /// The document, when it parsed as an object.
    pub document: Option<Map<String, Value>>,
}

fn no_spaces(text: &str) -> bool {
    !text.contains(' ')
}

fn no_control(text: &str) -> bool {
    !names::has_control_characters(text)
}

/// The plugin name rule (`Dt`).
pub fn plugin_name_schema() -> Schema {
    schema::string(&[
        Check::MinLength(1, "Plugin name cannot be empty"),
        Check::Custom(
            no_spaces,
            "Plugin name cannot contain spaces. Use kebab-case (e.g., \"my-plugin\")",
        ),
        Check::Custom(
            no_control,
            "Plugin name cannot contain control or bidirectional-formatting characters",
        ),
    ])
}

/// `{name, email?, url?}`, used for `author` and a marketplace's `owner`.
pub fn person_schema() -> Schema {
    Schema::Object(vec![
        schema::required(
            "name",
            schema::string(&[Check::MinLength(1, "Author name cannot be empty")]),
        ),
        schema::optional("email", schema::string(&[])),
        schema::optional("url", schema::string(&[])),
    ])
}

fn relative() -> Schema {
    schema::string(&[Check::StartsWith("./")])
}

fn relative_ending(suffix: &'static str) -> Schema {
    schema::string(&[Check::StartsWith("./"), Check::EndsWith(suffix)])
}

fn is_id_part(text: &str) -> bool {
    pm_core::id::is_valid_id_part(text)
}

/// A dependency string: `name`, `name@marketplace`, optionally `@^range`.
fn is_dependency(text: &str) -> bool {
    let without_range = match text.rfind("@^") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut parts = without_range.splitn(2, '@');
    let name = parts.next().unwrap_or_default();
    let marketplace = parts.next();
    is_id_part(name) && marketplace.is_none_or(is_id_part)
}

fn is_mcpb(text: &str) -> bool {
    text.ends_with(".mcpb") || text.ends_with(".dxt")
}

/// The fields every plugin manifest shares with a marketplace entry (all optional; `name` is
/// added by the caller).
pub fn component_fields() -> Vec<Field> {
    let mcp_file = || relative_ending(".json");
    let mcpb = || {
        Schema::Union(vec![
            schema::string(&[
                Check::StartsWith("./"),
                Check::Custom(is_mcpb, "MCPB file path must end with .mcpb or .dxt"),
            ]),
            schema::string(&[
                Check::Url,
                Check::Custom(is_mcpb, "MCPB URL must end with .mcpb or .dxt"),
            ]),
        ])
    };
    let mcp_record = || schema::record(Schema::Predicate(components::mcp_server_loads));
    let lsp_record = || schema::record(Schema::Predicate(components::lsp_server_loads));
    let hooks_one = || Schema::Union(vec![relative_ending(".json"), hooks::record_schema()]);
    let paths = || Schema::Union(vec![relative(), schema::array(relative())]);
    let skill_path = || Schema::Union(vec![Schema::Literal("."), relative()]);
    let command_object = Schema::Object(vec![
        schema::optional(
            "source",
            Schema::Union(vec![relative_ending(".md"), relative()]),
        ),
        schema::optional("content", schema::string(&[])),
        schema::optional("description", schema::string(&[])),
        schema::optional("argumentHint", schema::string(&[])),
        schema::optional("model", schema::string(&[])),
        schema::optional("allowedTools", schema::array(schema::string(&[]))),
    ]);
    vec![
        schema::optional("$schema", schema::string(&[])),
        schema::optional("displayName", schema::string(&[])),
        schema::optional("version", schema::string(&[])),
        schema::optional("description", schema::string(&[])),
        schema::optional("author", person_schema()),
        schema::optional("homepage", schema::string(&[Check::Url])),
        schema::optional("repository", schema::string(&[])),
        schema::optional("license", schema::string(&[])),
        schema::optional("keywords", schema::array(schema::string(&[]))),
        schema::optional("defaultEnabled", Schema::Boolean),
        schema::optional(
            "dependencies",
            schema::array(Schema::Union(vec![
                Schema::Pipe(Box::new(schema::string(&[Check::Custom(
                    is_dependency,
                    "Dependency must be a plugin name, optionally qualified with @marketplace",
                )]))),
                Schema::Pipe(Box::new(Schema::Object(vec![
                    schema::required(
                        "name",
                        schema::string(&[
                            Check::MinLength(
                                1,
                                "Too small: expected string to have >=1 characters",
                            ),
                            Check::Custom(
                                is_id_part,
                                "Invalid string: must match pattern /^[A-Za-z0-9][-A-Za-z0-9._]*$/",
                            ),
                        ]),
                    ),
                    schema::optional(
                        "marketplace",
                        schema::string(&[
                            Check::MinLength(
                                1,
                                "Too small: expected string to have >=1 characters",
                            ),
                            Check::Custom(
                                is_id_part,
                                "Invalid string: must match pattern /^[A-Za-z0-9][-A-Za-z0-9._]*$/",
                            ),
                        ]),
                    ),
                ]))),
            ])),
        ),
        schema::optional(
            "hooks",
            Schema::Union(vec![
                relative_ending(".json"),
                hooks::record_schema(),
                schema::array(hooks_one()),
            ]),
        ),
        schema::optional(
            "commands",
            Schema::Union(vec![
                relative_ending(".md"),
                relative(),
                schema::array(Schema::Union(vec![relative_ending(".md"), relative()])),
                schema::record(command_object),
            ]),
        ),
        schema::optional(
            "agents",
            Schema::Union(vec![
                relative_ending(".md"),
                schema::array(relative_ending(".md")),
            ]),
        ),
        schema::optional(
            "skills",
            Schema::Union(vec![skill_path(), schema::array(skill_path())]),
        ),
        schema::optional("outputStyles", paths()),
        schema::optional("themes", paths()),
        schema::optional("workflows", paths()),
        schema::optional(
            "channels",
            schema::array(Schema::Object(vec![
                schema::required(
                    "server",
                    schema::string(&[Check::MinLength(
                        1,
                        "Too small: expected string to have >=1 characters",
                    )]),
                ),
                schema::optional("displayName", schema::string(&[])),
                schema::optional("userConfig", schema::record(Schema::Any)),
            ])),
        ),
        schema::optional(
            "mcpServers",
            Schema::Union(vec![
                mcp_file(),
                mcpb(),
                mcp_record(),
                schema::array(Schema::Union(vec![mcp_file(), mcpb(), mcp_record()])),
            ]),
        ),
        schema::optional(
            "lspServers",
            Schema::Union(vec![
                relative_ending(".json"),
                lsp_record(),
                schema::array(Schema::Union(vec![relative_ending(".json"), lsp_record()])),
            ]),
        ),
        schema::optional(
            "monitors",
            Schema::Union(vec![relative_ending(".json"), schema::array(Schema::Any)]),
        ),
        schema::optional("settings", schema::record(Schema::Any)),
        schema::optional(
            "types",
            schema::string(&[
                Check::StartsWith("./"),
                Check::Custom(
                    |text| text.ends_with(".d.ts"),
                    "types must name a TypeScript declaration file ending in '.d.ts'",
                ),
                Check::Custom(
                    |text| !has_parent_segment(text),
                    "types must stay inside the plugin directory (no '..' segment)",
                ),
            ]),
        ),
        schema::optional("userConfig", schema::record(Schema::Any)),
    ]
}

/// The path fields checked on disk: (key, paths are indexed even for a single string, JSON
/// file, consequence of a missing file).
const PATH_FIELDS: &[(&str, bool, bool)] = &[
    ("commands", false, false),
    ("hooks", true, true),
    ("agents", true, false),
    ("skills", true, false),
    ("outputStyles", false, false),
    ("themes", false, false),
    ("monitors", false, true),
    ("lspServers", false, true),
    ("workflows", true, false),
    ("types", false, false),
    ("mcpServers", false, true),
];

/// The `(field path, relative path)` pairs of plugin.json's path fields.
fn path_values(document: &Map<String, Value>) -> Vec<(String, &'static str, String)> {
    let experimental = document.get("experimental").and_then(Value::as_object);
    let mut found = Vec::new();
    for (key, indexed, _) in PATH_FIELDS {
        let mut value = document.get(*key);
        let mut field = (*key).to_owned();
        if matches!(*key, "monitors" | "themes")
            && let Some(inner) = experimental.and_then(|e| e.get(*key))
            && !inner.is_null()
        {
            value = Some(inner);
            field = format!("experimental.{key}");
        }
        let Some(value) = value else { continue };
        let mut pairs: Vec<(String, &Value)> = Vec::new();
        if *key == "types" {
            pairs.push((field.clone(), value));
        } else if let Value::Array(items) = value {
            pairs.extend(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{field}[{i}]"), v)),
            );
        } else if !value.is_object() {
            pairs.push((
                if *indexed {
                    format!("{field}[0]")
                } else {
                    field.clone()
                },
                value,
            ));
        } else if *key == "commands"
            && let Value::Object(map) = value
        {
            for (name, item) in map {
                if let Some(source) = item.get("source") {
                    pairs.push((format!("{field}.{name}.source"), source));
                }
            }
        }
        for (path, item) in pairs {
            if let Value::String(text) = item {
                if *key == "mcpServers" && looks_like_url(text) {
                    continue;
                }
                found.push((path, *key, text.clone()));
            }
        }
    }
    found
}

fn looks_like_url(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once("://") else {
        return false;
    };
    !rest.is_empty()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Checks plugin.json `text` (at `file`, for a plugin rooted at `root`).
pub fn check(text: &str, root: &Path, context: &Context, strict: bool) -> Checked {
    let mut checked = Checked::default();
    let document = match load::parse_json(text) {
        Ok(document) => document,
        Err(message) => {
            checked.errors.push(Finding::reference("json", message));
            return checked;
        }
    };
    let Value::Object(document) = document else {
        checked
            .errors
            .push(Finding::reference("root", "manifest must be an object"));
        return checked;
    };

    // Inline hooks are normalized first, as the loader does.
    let mut normalized = Value::Object(document.clone());
    let mut hook_notes = Vec::new();
    let mut guards = Vec::new();
    match normalized.get_mut("hooks") {
        Some(inline @ Value::Object(_)) => {
            let result = hooks::normalize(inline);
            hook_notes = result.notes;
            guards = result.unloadable_guards;
        }
        Some(Value::Array(items)) => {
            for (index, item) in items.iter_mut().enumerate() {
                if !item.is_object() {
                    continue;
                }
                let result = hooks::normalize(item);
                let at = |text: String| match text.strip_prefix("hooks.") {
                    Some(rest) => format!("hooks.{index}.{rest}"),
                    None => text,
                };
                hook_notes.extend(result.notes.into_iter().map(at));
                guards.extend(result.unloadable_guards.into_iter().map(at));
            }
        }
        _ => {}
    }
    for guard in guards {
        checked.errors.push(Finding::reference(
            "hooks",
            format!("{guard} \u{2014} {}", hooks::GUARD_CONSEQUENCE),
        ));
    }
    let mut fields = vec![schema::required("name", plugin_name_schema())];
    fields.extend(component_fields());
    for issue in schema::check(&Schema::Object(fields), Some(&normalized), &[]) {
        checked
            .errors
            .push(Finding::reference(issue.dotted_path(""), issue.message));
    }
    let schema_ok = checked.errors.is_empty();
    if schema_ok {
        for note in hook_notes {
            checked
                .warnings
                .push(Finding::reference("hooks", format!("{note} at runtime")));
        }
    }

    // Paths on disk.
    for (field, key, relative) in path_values(&document) {
        path_findings(root, &field, key, &relative, &mut checked.errors);
    }

    // Unknown fields and loose shapes.
    for key in document.keys() {
        if KNOWN_FIELDS.contains(&key.as_str()) || DIRECTORY_FIELDS.contains(&key.as_str()) {
            continue;
        }
        checked.warnings.push(Finding::reference(
            key.clone(),
            names::unknown_field_message(key, KNOWN_FIELDS, ENTRY_ONLY_FIELDS),
        ));
    }
    for key in ["monitors", "themes"] {
        if document.contains_key(key) {
            checked.warnings.push(Finding::reference(
                key,
                format!("'{key}' is an experimental component; declare it under 'experimental.{key}' instead of at the top level. Top-level still loads for now but will be removed in a future release."),
            ));
        }
    }
    loose_shape_findings(&document, "", &mut checked.errors, &mut checked.warnings);

    if schema_ok && let Some(Value::String(name)) = document.get("name") {
        if !names::is_kebab_case(name) {
            checked
                .warnings
                .push(Finding::reference("name", names::not_kebab_message(name)));
        }
        let check_reserved = match context {
            Context::Alone => true,
            Context::Entry(entry_name) => entry_name != name,
            Context::Anthropic => false,
        };
        if check_reserved && let Some(reserved) = names::reserved_plugin_name(name) {
            let suffix = if *context == Context::Alone {
                " If this is one of Anthropic's own plugins, validate the marketplace that lists it."
            } else {
                ""
            };
            match reserved {
                ReservedName::Error(message) => checked
                    .errors
                    .push(Finding::reference("name", format!("{message}{suffix}"))),
                ReservedName::Warning(message) => checked
                    .warnings
                    .push(Finding::reference("name", format!("{message}{suffix}"))),
            }
        }
        let is_blank = |key: &str| {
            document
                .get(key)
                .is_none_or(|v| v.is_null() || v.as_str() == Some(""))
        };
        if is_blank("version") {
            checked.warnings.push(Finding::reference(
                "version",
                "No version specified. Consider adding a version following semver (e.g., \"1.0.0\")",
            ));
        }
        if is_blank("description") {
            checked.warnings.push(Finding::reference(
                "description",
                "No description provided. Adding a description helps users understand what your plugin does",
            ));
        }
        if document.get("author").is_none_or(Value::is_null) {
            checked.warnings.push(Finding::reference(
                "author",
                "No author information provided. Consider adding author details for plugin attribution",
            ));
        }
    }
    if let Some(Value::String(version)) = document.get("version")
        && let Some(finding) = semver_finding("version", version, "plugin.json")
    {
        checked.warnings.push(finding);
    }
    if strict
        && let Some(email) = document
            .get("author")
            .and_then(|a| a.get("email"))
            .and_then(Value::as_str)
        && let Some(finding) = email_finding("author.email", email)
    {
        checked.warnings.push(finding);
    }
    checked.document = Some(document);
    checked
}

/// A dependency's plugin name and marketplace (`name`, `name@marketplace`, `name@^range`,
/// `{name, marketplace?}`); `None` for a malformed one (the schema reports it).
pub fn dependency_parts(value: &Value) -> Option<(String, Option<String>)> {
    match value {
        Value::String(text) => {
            let without_range = match text.rfind("@^") {
                Some(at) => &text[..at],
                None => text.as_str(),
            };
            let mut parts = without_range.splitn(2, '@');
            let name = parts.next()?.to_owned();
            Some((name, parts.next().map(str::to_owned)))
        }
        Value::Object(map) => Some((
            map.get("name")?.as_str()?.to_owned(),
            map.get("marketplace")
                .and_then(Value::as_str)
                .map(str::to_owned),
        )),
        _ => None,
    }
}

/// What a marketplace offers its plugins' dependencies.
pub struct Catalogue<'a> {
    /// The marketplace's name.
    pub name: &'a str,
    /// The names of its entries.
    pub entries: &'a [String],
    /// `allowCrossMarketplaceDependenciesOn`.
    pub allowed: &'a [String],
}

/// pm's dependency findings for `dependencies` (at `path`): without a catalogue (a plugin on its
/// own) only cross-marketplace ones, and only when `strict`.
pub fn dependency_findings(
    dependencies: Option<&Value>,
    path: &str,
    catalogue: Option<&Catalogue<'_>>,
    strict: bool,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let Some(Value::Array(items)) = dependencies else {
        return findings;
    };
    for (index, item) in items.iter().enumerate() {
        let Some((name, marketplace)) = dependency_parts(item) else {
            continue;
        };
        let at = format!("{path}.{index}");
        match (catalogue, marketplace) {
            (None, Some(marketplace)) if strict => findings.push(Finding::pm(
                codes::DEPENDENCY_NOT_ALLOWED,
                at,
                format!("Dependency \"{name}@{marketplace}\" is in another marketplace: Claude Code installs it only when the marketplace that lists this plugin names \"{marketplace}\" in allowCrossMarketplaceDependenciesOn, and silently skips it otherwise. Validate that marketplace to check."),
            )),
            (None, _) => {}
            (Some(catalogue), Some(marketplace)) if marketplace != catalogue.name => {
                if !catalogue.allowed.contains(&marketplace) {
                    findings.push(Finding::pm(
                        codes::DEPENDENCY_NOT_ALLOWED,
                        at,
                        format!("Dependency \"{name}@{marketplace}\" is in another marketplace that \"{}\" does not name in allowCrossMarketplaceDependenciesOn, so Claude Code silently skips it. Add \"{marketplace}\" to that list.", catalogue.name),
                    ));
                }
            }
            (Some(catalogue), _) => {
                if !catalogue.entries.contains(&name) {
                    findings.push(Finding::pm(
                        codes::DEPENDENCY_UNKNOWN,
                        at,
                        format!("Dependency \"{name}\" is not a plugin of this marketplace (\"{}\"): installing warns and the plugin runs without it. Add the plugin to the marketplace or fix the name.", catalogue.name),
                    ));
                }
            }
        }
    }
    findings
}

/// pm's `version-not-semver` for a non-empty version that `pm tag` would refuse.
pub fn semver_finding(path: &str, version: &str, whose: &str) -> Option<Finding> {
    if version.is_empty() || semver::Version::parse(version).is_ok() {
        return None;
    }
    Some(Finding::pm(
        codes::VERSION_NOT_SEMVER,
        path,
        format!(
            "Version \"{version}\" in {whose} is not semantic versioning (MAJOR.MINOR.PATCH, e.g. \"1.0.0\" or \"1.0.0-beta.1\"). pm tag refuses it, so no {{name}}--v{{version}} tag can be made and dependency version ranges cannot match it."
        ),
    ))
}

/// With `--strict`: an email without `@` and a domain.
pub fn email_finding(path: &str, email: &str) -> Option<Finding> {
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !email.contains(char::is_whitespace);
    (!valid).then(|| {
        Finding::pm(
            codes::EMAIL_INVALID,
            path,
            format!("\"{email}\" is not an email address (name@domain)."),
        )
    })
}

/// The reference's findings for `metadata`, `engines`, `network` and `experimental` of the
/// wrong shape (`prefix` is `plugins[N]` for marketplace entries).
pub fn loose_shape_findings(
    object: &Map<String, Value>,
    prefix: &str,
    errors: &mut Vec<Finding>,
    warnings: &mut Vec<Finding>,
) {
    let at = |key: &str| {
        if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        }
    };
    if let Some(experimental) = object.get("experimental") {
        match experimental {
            Value::Object(map) => {
                for key in map.keys() {
                    if !["themes", "monitors", "outputStyles", "evals", "syntaxHighlighting"]
                        .contains(&key.as_str())
                    {
                        warnings.push(Finding::reference(
                            format!("{}.{key}", at("experimental")),
                            names::unknown_field_message(
                                key,
                                &["themes", "monitors", "outputStyles", "evals", "syntaxHighlighting"],
                                &[],
                            ),
                        ));
                    }
                }
            }
            other => warnings.push(Finding::reference(
                at("experimental"),
                format!("'experimental' must be an object containing component declarations; got {}. It will be ignored at load time.", kind(other)),
            )),
        }
    }
    if let Some(metadata) = object.get("metadata")
        && !metadata.is_object()
    {
        warnings.push(Finding::reference(
            at("metadata"),
            format!(
                "'metadata' must be a free-form object; got {}. It will be ignored at load time.",
                kind(metadata)
            ),
        ));
    }
    if let Some(engines) = object.get("engines") {
        match engines {
            Value::Object(map) => {
                if let Some(range) = map.get("claude-code")
                    && range.as_str().is_none_or(|r| r.trim().is_empty())
                {
                    let shown = match range {
                        Value::String(text) => format!("\"{}\"", super::report::truncate(text, 100)),
                        other => kind(other).to_owned(),
                    };
                    errors.push(Finding::reference(
                        format!("{}.claude-code", at("engines")),
                        format!("Must be a version range such as \">=2.1.0\"; got {shown}. It will be ignored at load time."),
                    ));
                }
            }
            other => warnings.push(Finding::reference(
                at("engines"),
                format!("'engines' must be an object such as {{ \"claude-code\": \">=2.1.0\" }}; got {}. It will be ignored at load time.", kind(other)),
            )),
        }
    }
    if let Some(network) = object.get("network")
        && !network.get("hosts").is_some_and(Value::is_array)
    {
        warnings.push(Finding::reference(
            at("network"),
            "'network' must be an object with a list of hosts, such as { \"hosts\": [\"api.example.com\"] }. It will be ignored at load time.",
        ));
    }
}

/// The reference's on-disk checks of one path field value.
fn path_findings(root: &Path, field: &str, key: &str, relative: &str, errors: &mut Vec<Finding>) {
    if has_parent_segment(relative) {
        errors.push(Finding::reference(
            field,
            format!("Path contains \"..\" which could be a path traversal attempt: {relative}"),
        ));
        return;
    }
    let is_absolute = relative.starts_with('/')
        || relative.starts_with('\\')
        || relative
            .as_bytes()
            .get(1)
            .is_some_and(|b| *b == b':' && relative.as_bytes()[0].is_ascii_alphabetic());
    if is_absolute {
        return;
    }
    let path = root.join(relative);
    let Ok(metadata) = std::fs::symlink_metadata(&path) else {
        let consequence = if key == "mcpServers" && relative.ends_with(".json") {
            "The plugin loader skips a missing MCP servers file without reporting it, so none of its servers will load."
        } else {
            "The runtime loader will report this as a load failure."
        };
        errors.push(Finding::reference(
            field,
            format!("Path not found: {relative}. {consequence}"),
        ));
        return;
    };
    if key == "skills" && !metadata.is_dir() {
        let file_name = Path::new(relative)
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let parent = Path::new(relative)
            .parent()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let hint = if file_name == "skill.md" {
            if parent.is_empty() || parent == "." {
                " \u{2014} point to the plugin root '.' instead".to_owned()
            } else {
                format!(" \u{2014} point to the parent directory '{parent}' instead")
            }
        } else {
            String::new()
        };
        errors.push(Finding::reference(
            field,
            format!("Path is a file; skills entries must be directories containing SKILL.md{hint}: {relative}"),
        ));
    }
    let json_file = PATH_FIELDS
        .iter()
        .any(|(name, _, json)| *name == key && *json);
    if json_file && relative.ends_with(".json") && metadata.is_dir() {
        errors.push(Finding::reference(
            field,
            format!("Path is a directory; {key} must point to a JSON file: {relative}"),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn findings(text: &str) -> (Vec<String>, Vec<String>) {
        let checked = check(
            text,
            Path::new("/nonexistent-plugin-root"),
            &Context::Alone,
            false,
        );
        let show = |list: &[Finding]| {
            list.iter()
                .map(|f| format!("{}: {}", f.path, f.message))
                .collect::<Vec<_>>()
        };
        (show(&checked.errors), show(&checked.warnings))
    }

    #[test]
    fn dependency_strings() {
        assert!(is_dependency("a"));
        assert!(is_dependency("a@mk"));
        assert!(is_dependency("a@^1.0"));
        assert!(is_dependency("a@mk@^1.0"));
        assert!(!is_dependency("Bad Name"));
        assert!(!is_dependency("@mk"));
    }

    #[test]
    fn reference_catalogue_cases() {
        let base = r#""version":"1.0.0","description":"d","author":{"name":"a"}"#;
        let (errors, warnings) = findings(&format!(r#"{{"name":"my plugin",{base}}}"#));
        assert_eq!(
            errors,
            ["name: Plugin name cannot contain spaces. Use kebab-case (e.g., \"my-plugin\")"]
        );
        assert!(warnings.is_empty());
        let (errors, _) = findings(&format!(r#"{{"name":"x",{base},"agents":"./agents"}}"#));
        assert_eq!(
            errors,
            [
                "agents: Invalid string: must end with \".md\"",
                "agents[0]: Path not found: ./agents. The runtime loader will report this as a load failure."
            ]
        );
        let (errors, _) = findings(r#"[1,2]"#);
        assert_eq!(errors, ["root: manifest must be an object"]);
        let (_, warnings) = findings(r#"{"name":"x","version":"v1.0"}"#);
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("version: Version \"v1.0\""))
        );
    }
}
