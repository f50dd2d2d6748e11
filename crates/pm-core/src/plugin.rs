//! `plugin.json`: a plugin's own manifest (`<plugin root>/.claude-plugin/plugin.json`).

use crate::marketplace::{ManifestError, type_name};
use serde_json::{Map, Value};

/// Where `plugin.json` lives inside a plugin directory.
pub const PLUGIN_MANIFEST_PATH: &str = ".claude-plugin/plugin.json";

/// A parsed `plugin.json`. Only `name` is required (as the reference requires it); every
/// other field is optional and kept in `raw`.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginManifest {
    /// `name`.
    pub name: String,
    /// `version`, when a string (any string: the reference does not require semver here).
    pub version: Option<String>,
    /// `description`, when a string.
    pub description: Option<String>,
    /// `dependencies`: strings or objects, kept raw for the dependency resolver.
    pub dependencies: Vec<Value>,
    /// The document as written.
    pub raw: Map<String, Value>,
}

impl PluginManifest {
    /// Parses `plugin.json` text. A leading UTF-8 byte-order mark is skipped, as Claude Code's
    /// loader skips it (its plugin directory checks flag it: `pm validate` reports
    /// `MANIFEST_INVALID_JSON` there). Errors: [`ManifestError::Syntax`] for invalid JSON,
    /// [`ManifestError::Schema`] for a non-object or a missing/non-string `name`.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let value: Value =
            serde_json::from_str(text).map_err(|e| ManifestError::from_json(&e, text))?;
        let Value::Object(raw) = value else {
            return Err(ManifestError::Schema {
                field: "(top level)".into(),
                message: "Invalid input: expected object".into(),
            });
        };
        let name = match raw.get("name") {
            Some(Value::String(name)) => name.clone(),
            other => {
                return Err(ManifestError::Schema {
                    field: "name".into(),
                    message: format!(
                        "Invalid input: expected string, received {}",
                        other.map(type_name).unwrap_or("undefined")
                    ),
                });
            }
        };
        let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_string);
        Ok(PluginManifest {
            version: text("version"),
            description: text("description"),
            dependencies: raw
                .get("dependencies")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
            name,
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let manifest =
            PluginManifest::parse(r#"{"name":"p","version":"1.0.0","author":"me","x":1}"#)
                .expect("parses");
        assert_eq!(manifest.version.as_deref(), Some("1.0.0"));
        assert!(manifest.raw.contains_key("x"));
        assert!(matches!(
            PluginManifest::parse(r#"{"version":"1"}"#),
            Err(ManifestError::Schema { .. })
        ));
        assert!(matches!(
            PluginManifest::parse("{"),
            Err(ManifestError::Syntax { .. })
        ));
    }

    #[test]
    fn a_byte_order_mark_is_skipped_as_claude_code_skips_it() {
        let manifest = PluginManifest::parse("\u{feff}{\"name\":\"p\",\"version\":\"1.2.3\"}")
            .expect("parses");
        assert_eq!(manifest.version.as_deref(), Some("1.2.3"));
        // Only one, and only at the start.
        assert!(PluginManifest::parse("\u{feff}\u{feff}{\"name\":\"p\"}").is_err());
        assert!(PluginManifest::parse(" \u{feff}{\"name\":\"p\"}").is_err());
    }
}
