//! `marketplace.json`: a marketplace's catalogue of plugins
//! (`<marketplace root>/.claude-plugin/marketplace.json`; reference-lifecycle.md §1.5, §5.4).
//!
//! Parsing is tolerant the way Claude Code's loader is: unknown fields are kept, `author` may
//! be a string or an object, plugin entries without a usable name are dropped, and entries
//! whose `source` is unusable are kept with [`PluginSource::Invalid`] so that `list
//! --available` can show them and `install` can explain the problem.

use serde_json::{Map, Value};

/// Where `marketplace.json` lives inside a marketplace directory.
pub const MARKETPLACE_MANIFEST_PATH: &str = ".claude-plugin/marketplace.json";

/// Why a manifest (marketplace.json or plugin.json) could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// Not valid JSON; 1-based line and column.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid JSON that does not have the required shape; `field` is a dotted path.
    #[error("`{field}`: {message}")]
    Schema { field: String, message: String },
}

impl ManifestError {
    /// Converts a serde_json error on `text`; the column is counted in characters (serde_json
    /// counts bytes), as editors and the reference show it.
    pub fn from_json(error: &serde_json::Error, text: &str) -> Self {
        let message = error.to_string();
        // serde_json appends " at line L column C"; keep only the description.
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_string(),
            None => message,
        };
        let column = char_column(text, error.line(), error.column());
        ManifestError::Syntax {
            line: error.line(),
            column,
            message,
        }
    }
}

/// Turns serde_json's 1-based byte column on 1-based `line` into a character column.
pub fn char_column(text: &str, line: usize, byte_column: usize) -> usize {
    let Some(line_text) = text.split('\n').nth(line.saturating_sub(1)) else {
        return byte_column;
    };
    let mut end = byte_column.min(line_text.len());
    while end > 0 && !line_text.is_char_boundary(end) {
        end -= 1;
    }
    let chars = line_text[..end].chars().count();
    if byte_column > line_text.len() {
        chars + (byte_column - line_text.len())
    } else {
        chars.max(1)
    }
}

/// Decodes manifest bytes. Invalid UTF-8 is replaced with U+FFFD, as Claude Code's loader
/// does; the flag tells the caller to warn.
pub fn decode_utf8_lossy(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (text.trim_start_matches('\u{feff}').to_string(), false),
        Err(_) => (
            String::from_utf8_lossy(bytes)
                .trim_start_matches('\u{feff}')
                .to_string(),
            true,
        ),
    }
}

/// A parsed `marketplace.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketplaceManifest {
    /// `name`: the marketplace name (checked separately by [`crate::names`]).
    pub name: String,
    /// `owner`: an object (`{"name": …, "email"?: …}`), kept as is.
    pub owner: Value,
    /// `description`, or `metadata.description`.
    pub description: Option<String>,
    /// `metadata.pluginRoot`: prepended to bare-name sources only.
    pub plugin_root: Option<String>,
    /// The usable plugin entries, in file order (duplicates kept).
    pub plugins: Vec<PluginEntry>,
    /// Entries dropped because they had no usable `name` (index in `plugins`, reason).
    pub dropped: Vec<(usize, String)>,
    /// The whole document.
    pub raw: Map<String, Value>,
}

/// One entry of `plugins` in `marketplace.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginEntry {
    /// `name`.
    pub name: String,
    /// `source`, interpreted.
    pub source: PluginSource,
    /// `version`, when a string.
    pub version: Option<String>,
    /// `description`, when a string.
    pub description: Option<String>,
    /// `strict` (default true): when false the entry itself is the manifest.
    pub strict: bool,
    /// The entry as written.
    pub raw: Map<String, Value>,
}

/// A plugin entry's `source` (reference-lifecycle.md §5.4).
#[derive(Debug, Clone, PartialEq)]
pub enum PluginSource {
    /// `"./path"` relative to the marketplace root (`"."` and `"./"` mean the root).
    Relative(String),
    /// `{"source": "github", "repo": "o/r", "ref"?, "sha"?}`.
    Github {
        repo: String,
        reference: Option<String>,
        sha: Option<String>,
    },
    /// `{"source": "url", "url": "https://…/r.git", "ref"?, "sha"?}`: a git repository.
    Url {
        url: String,
        reference: Option<String>,
        sha: Option<String>,
    },
    /// `{"source": "git-subdir", "url": "o/r" or URL, "path": "tools/x", "ref"?, "sha"?}`.
    GitSubdir {
        url: String,
        path: String,
        reference: Option<String>,
        sha: Option<String>,
    },
    /// `{"source": "npm", "package": "@a/b", "version"?, "registry"?}`.
    Npm {
        package: String,
        version: Option<String>,
        registry: Option<String>,
    },
    /// `{"source": "archive", "url": "https://…/p.zip", "sha256"?}`: a `.zip` or `.tar.gz`
    /// download (reference-lifecycle.md §5.4). `sha256` (64 hex, pm's addition) is checked
    /// against the download when present.
    Archive { url: String, sha256: Option<String> },
    /// Anything else: the reason it cannot be installed and the raw value.
    Invalid {
        reason: String,
        kind: InvalidSourceKind,
        raw: Value,
    },
}

/// Why a source is [`PluginSource::Invalid`]; decides the install failure code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidSourceKind {
    /// A string that does not start with `./` (e.g. `../x`, `plugins/x`, `/abs`): `error_validation`.
    NotRelative,
    /// Missing or of the wrong JSON type, or a known type missing its fields: `error_validation`.
    Malformed,
    /// An object with a source type pm does not know: `error_unknown`.
    UnknownType,
}

impl PluginSource {
    /// The reference's name for the source type (`relative`, `github`, `url`, `git-subdir`,
    /// `npm`, `archive`, or `unsupported`).
    pub fn kind(&self) -> &'static str {
        match self {
            PluginSource::Relative(_) => "relative",
            PluginSource::Github { .. } => "github",
            PluginSource::Url { .. } => "url",
            PluginSource::GitSubdir { .. } => "git-subdir",
            PluginSource::Npm { .. } => "npm",
            PluginSource::Archive { .. } => "archive",
            PluginSource::Invalid { .. } => "unsupported",
        }
    }

    /// The JSON shape used by `list --available`: the string for relative sources, the
    /// object for others, `{"source":"unsupported","error":…}` for invalid ones.
    pub fn to_value(&self, raw_entry: &Map<String, Value>) -> Value {
        match self {
            PluginSource::Relative(path) => Value::String(path.clone()),
            PluginSource::Invalid { reason, .. } => {
                serde_json::json!({"source": "unsupported", "error": reason})
            }
            _ => raw_entry.get("source").cloned().unwrap_or(Value::Null),
        }
    }

    fn from_value(value: Option<&Value>, name: &str, plugin_root: Option<&str>) -> Self {
        let invalid = |reason: &str, kind, raw: &Value| PluginSource::Invalid {
            reason: reason.to_string(),
            kind,
            raw: raw.clone(),
        };
        let Some(value) = value else {
            return invalid(
                "source: Invalid input: expected a string or an object",
                InvalidSourceKind::Malformed,
                &Value::Null,
            );
        };
        match value {
            Value::String(text) => {
                if text == "." || text == "./" || text.starts_with("./") {
                    return PluginSource::Relative(text.clone());
                }
                // metadata.pluginRoot applies to bare names only (no `/`, not absolute).
                if let Some(root) = plugin_root
                    && !text.is_empty()
                    && !text.contains(['/', '\\'])
                    && text != ".."
                {
                    let root = root.trim_end_matches('/');
                    let root = if root.starts_with("./") || root == "." {
                        root.to_string()
                    } else {
                        format!("./{root}")
                    };
                    return PluginSource::Relative(format!("{root}/{text}"));
                }
                let _ = name;
                invalid(
                    "source: Invalid string: must start with \"./\"",
                    InvalidSourceKind::NotRelative,
                    value,
                )
            }
            Value::Object(object) => {
                let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_string);
                let kind = text("source").or_else(|| text("type"));
                let reference = text("ref");
                let sha = text("sha");
                match kind.as_deref() {
                    Some("github") => match text("repo") {
                        Some(repo) => PluginSource::Github {
                            repo,
                            reference,
                            sha,
                        },
                        None => invalid(
                            "source.repo: Invalid input: expected string",
                            InvalidSourceKind::Malformed,
                            value,
                        ),
                    },
                    Some("url") | Some("git") => match text("url") {
                        Some(url) => PluginSource::Url {
                            url,
                            reference,
                            sha,
                        },
                        None => invalid(
                            "source.url: Invalid input: expected string",
                            InvalidSourceKind::Malformed,
                            value,
                        ),
                    },
                    Some("git-subdir") => {
                        match (text("url").or_else(|| text("repo")), text("path")) {
                            (Some(url), Some(path)) => PluginSource::GitSubdir {
                                url,
                                path,
                                reference,
                                sha,
                            },
                            _ => invalid(
                                "source: git-subdir needs `url` and `path`",
                                InvalidSourceKind::Malformed,
                                value,
                            ),
                        }
                    }
                    Some("npm") => match text("package") {
                        Some(package) => PluginSource::Npm {
                            package,
                            version: text("version"),
                            registry: text("registry"),
                        },
                        None => invalid(
                            "source.package: Invalid input: expected string",
                            InvalidSourceKind::Malformed,
                            value,
                        ),
                    },
                    Some("archive") => match text("url") {
                        Some(url) => PluginSource::Archive {
                            url,
                            sha256: text("sha256"),
                        },
                        None => invalid(
                            "source.url: Invalid input: expected string",
                            InvalidSourceKind::Malformed,
                            value,
                        ),
                    },
                    Some(other) => invalid(
                        &format!("source type `{other}` is not supported"),
                        InvalidSourceKind::UnknownType,
                        value,
                    ),
                    None => invalid(
                        "source.source: Invalid input: expected string",
                        InvalidSourceKind::Malformed,
                        value,
                    ),
                }
            }
            _ => invalid(
                "source: Invalid input: expected a string or an object",
                InvalidSourceKind::Malformed,
                value,
            ),
        }
    }
}

impl MarketplaceManifest {
    /// Parses `marketplace.json` text.
    ///
    /// Errors: [`ManifestError::Syntax`] for invalid JSON; [`ManifestError::Schema`] when the
    /// top level is not an object, `name` is not a string, `owner` is not an object, or
    /// `plugins` is not an array (the reference's required fields).
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ManifestError::from_json(&e, text))?;
        Self::from_value(value)
    }

    /// Builds the manifest from an already parsed document (see [`MarketplaceManifest::parse`]).
    pub fn from_value(value: Value) -> Result<Self, ManifestError> {
        let schema = |field: &str, message: &str| ManifestError::Schema {
            field: field.into(),
            message: message.into(),
        };
        let Value::Object(raw) = value else {
            return Err(schema("(top level)", "Invalid input: expected object"));
        };
        let name = match raw.get("name") {
            Some(Value::String(name)) => name.clone(),
            Some(other) => {
                return Err(schema(
                    "name",
                    &format!(
                        "Invalid input: expected string, received {}",
                        type_name(other)
                    ),
                ));
            }
            None => {
                return Err(schema(
                    "name",
                    "Invalid input: expected string, received undefined",
                ));
            }
        };
        let owner = match raw.get("owner") {
            Some(owner @ Value::Object(_)) => owner.clone(),
            Some(other) => {
                return Err(schema(
                    "owner",
                    &format!(
                        "Invalid input: expected object, received {}",
                        type_name(other)
                    ),
                ));
            }
            None => {
                return Err(schema(
                    "owner",
                    "Invalid input: expected object, received undefined",
                ));
            }
        };
        let entries = match raw.get("plugins") {
            Some(Value::Array(entries)) => entries,
            Some(other) => {
                return Err(schema(
                    "plugins",
                    &format!(
                        "Invalid input: expected array, received {}",
                        type_name(other)
                    ),
                ));
            }
            None => {
                return Err(schema(
                    "plugins",
                    "Invalid input: expected array, received undefined",
                ));
            }
        };
        let metadata = raw.get("metadata").and_then(Value::as_object);
        let plugin_root = metadata
            .and_then(|m| m.get("pluginRoot"))
            .and_then(Value::as_str)
            .map(str::to_string);
        let description = raw
            .get("description")
            .and_then(Value::as_str)
            .or_else(|| {
                metadata
                    .and_then(|m| m.get("description"))
                    .and_then(Value::as_str)
            })
            .map(str::to_string);
        let mut plugins = Vec::with_capacity(entries.len());
        let mut dropped = Vec::new();
        for (index, entry) in entries.iter().enumerate() {
            let Value::Object(entry) = entry else {
                dropped.push((
                    index,
                    format!("plugins[{index}] is {}, not an object", type_name(entry)),
                ));
                continue;
            };
            let name = match entry.get("name") {
                Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
                _ => {
                    dropped.push((index, format!("plugins[{index}] has no `name` string")));
                    continue;
                }
            };
            let source =
                PluginSource::from_value(entry.get("source"), &name, plugin_root.as_deref());
            let text = |key: &str| entry.get(key).and_then(Value::as_str).map(str::to_string);
            plugins.push(PluginEntry {
                version: text("version"),
                description: text("description"),
                strict: entry.get("strict").and_then(Value::as_bool).unwrap_or(true),
                name,
                source,
                raw: entry.clone(),
            });
        }
        Ok(MarketplaceManifest {
            name,
            owner,
            description,
            plugin_root,
            plugins,
            dropped,
            raw,
        })
    }

    /// The entries named `name` (exact, case-sensitive), in file order.
    pub fn find(&self, name: &str) -> Option<&PluginEntry> {
        self.plugins.iter().find(|entry| entry.name == name)
    }
}

/// A JSON type name for messages (`string`, `number`, `object`, …; JavaScript's words).
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tolerantly() {
        let text = r#"{
          "name": "mk", "owner": {"name": "o"}, "metadata": {"pluginRoot": "./plugins"},
          "plugins": [
            {"name": "a", "source": "./plugins/a", "version": "1.0.0", "author": "someone"},
            {"name": "b", "source": "b", "author": {"name": "x"}, "strict": false},
            {"name": "c", "source": "../c"},
            {"name": "d", "source": {"source": "github", "repo": "o/d", "ref": "v1"}},
            {"name": "e", "source": {"source": "ftp", "url": "x"}},
            {"source": "./nameless"},
            {"name": "f"},
            {"name": "g", "source": {"source": "git-subdir", "url": "o/r", "path": "tools/g"}},
            {"name": "a", "source": "./dup"}
          ],
          "x-unknown": 1
        }"#;
        let manifest = MarketplaceManifest::parse(text).expect("parses");
        assert_eq!(manifest.name, "mk");
        assert_eq!(manifest.plugins.len(), 8);
        assert_eq!(manifest.dropped.len(), 1);
        assert_eq!(
            manifest.plugins[0].source,
            PluginSource::Relative("./plugins/a".into())
        );
        assert_eq!(
            manifest.plugins[1].source,
            PluginSource::Relative("./plugins/b".into())
        );
        assert!(!manifest.plugins[1].strict);
        assert!(matches!(
            manifest.plugins[2].source,
            PluginSource::Invalid {
                kind: InvalidSourceKind::NotRelative,
                ..
            }
        ));
        assert!(
            matches!(manifest.plugins[3].source, PluginSource::Github { ref reference, .. } if reference.as_deref() == Some("v1"))
        );
        assert!(matches!(
            manifest.plugins[4].source,
            PluginSource::Invalid {
                kind: InvalidSourceKind::UnknownType,
                ..
            }
        ));
        assert!(matches!(
            manifest.plugins[5].source,
            PluginSource::Invalid {
                kind: InvalidSourceKind::Malformed,
                ..
            }
        ));
        assert_eq!(
            manifest.find("a").map(|e| e.version.as_deref()),
            Some(Some("1.0.0"))
        );
        assert!(manifest.raw.contains_key("x-unknown"));
    }

    #[test]
    fn archive_sources() {
        let text = r#"{"name": "mk", "owner": {"name": "o"}, "plugins": [
            {"name": "z", "source": {"source": "archive", "url": "https://x/p.zip", "sha256": "ab"}},
            {"name": "y", "source": {"source": "archive"}}
        ]}"#;
        let manifest = MarketplaceManifest::parse(text).expect("parses");
        assert_eq!(
            manifest.plugins[0].source,
            PluginSource::Archive {
                url: "https://x/p.zip".into(),
                sha256: Some("ab".into())
            }
        );
        assert_eq!(manifest.plugins[0].source.kind(), "archive");
        assert!(matches!(
            manifest.plugins[1].source,
            PluginSource::Invalid {
                kind: InvalidSourceKind::Malformed,
                ..
            }
        ));
    }

    #[test]
    fn located_errors() {
        let error =
            MarketplaceManifest::parse("{\n  \"name\": \"x\",\n}").expect_err("trailing comma");
        assert!(
            matches!(error, ManifestError::Syntax { line: 3, .. }),
            "{error:?}"
        );
        let error =
            MarketplaceManifest::parse(r#"{"owner":{},"plugins":[]}"#).expect_err("no name");
        assert_eq!(
            error,
            ManifestError::Schema {
                field: "name".into(),
                message: "Invalid input: expected string, received undefined".into()
            }
        );
        let error = MarketplaceManifest::parse(r#"{"name":"x","owner":"me","plugins":[]}"#)
            .expect_err("owner");
        assert!(matches!(error, ManifestError::Schema { ref field, .. } if field == "owner"));
        let error = MarketplaceManifest::parse(r#"{"name":"x","owner":{},"plugins":{}}"#)
            .expect_err("plugins");
        assert!(matches!(error, ManifestError::Schema { ref field, .. } if field == "plugins"));
        assert!(MarketplaceManifest::parse("[]").is_err());
    }

    #[test]
    fn columns_count_characters() {
        let text = "{\"a\": \"é—é\", x}";
        match MarketplaceManifest::parse(text) {
            Err(ManifestError::Syntax {
                line: 1, column, ..
            }) => assert_eq!(column, 14),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn lossy_utf8() {
        let (text, lossy) = decode_utf8_lossy(b"{\"name\":\"a\x97\"}");
        assert!(lossy);
        assert!(text.contains('\u{fffd}'));
    }
}
