//! Settings files as pm reads them: `enabledPlugins` and `extraKnownMarketplaces` of each
//! scope, and the effective enabled state (reference-lifecycle.md §7, §9).
//!
//! Writing goes through [`crate::json_edit`], which changes only the members pm owns.

use crate::marketplace::type_name;
use crate::scope::Scope;
use serde_json::{Map, Value};

/// The parsed content of one settings file.
#[derive(Debug, Clone, PartialEq)]
pub enum SettingsContent {
    /// The file does not exist.
    Missing,
    /// A JSON object.
    Object(Map<String, Value>),
    /// The file exists but is not a JSON object: reads treat it as empty, writes refuse it.
    Unreadable {
        /// What is wrong, with line and column when it is a syntax error.
        reason: String,
    },
}

impl SettingsContent {
    /// Parses settings text. Empty (or whitespace-only) text is an empty object, as the
    /// reference overwrites such files silently.
    pub fn parse(text: &str) -> Self {
        if text.trim().is_empty() {
            return SettingsContent::Object(Map::new());
        }
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => SettingsContent::Object(map),
            Ok(other) => SettingsContent::Unreadable {
                reason: format!("the top level is {}, not an object", type_name(&other)),
            },
            Err(error) => SettingsContent::Unreadable {
                reason: format!(
                    "invalid JSON at line {}, column {}",
                    error.line(),
                    error.column()
                ),
            },
        }
    }

    /// The object, or an empty map when missing or unreadable.
    pub fn object(&self) -> Option<&Map<String, Value>> {
        match self {
            SettingsContent::Object(map) => Some(map),
            _ => None,
        }
    }

    /// `enabledPlugins[id]`, when `enabledPlugins` is an object holding `id`.
    pub fn enabled_entry(&self, id: &str) -> Option<&Value> {
        self.object()?.get("enabledPlugins")?.as_object()?.get(id)
    }

    /// The keys of `enabledPlugins` (empty when absent or not an object).
    pub fn enabled_ids(&self) -> Vec<String> {
        self.object()
            .and_then(|o| o.get("enabledPlugins"))
            .and_then(Value::as_object)
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// `extraKnownMarketplaces` as `(name, declaration)` pairs.
    pub fn declared_marketplaces(&self) -> Vec<(String, Value)> {
        self.object()
            .and_then(|o| o.get("extraKnownMarketplaces"))
            .and_then(Value::as_object)
            .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

/// The settings of every scope, for computing effective state.
#[derive(Debug, Clone, Default)]
pub struct ScopedSettings {
    /// `(scope, content)`, any order; at most one per scope.
    pub scopes: Vec<(Scope, SettingsContent)>,
}

impl ScopedSettings {
    /// The content of `scope`.
    pub fn get(&self, scope: Scope) -> Option<&SettingsContent> {
        self.scopes
            .iter()
            .find(|(s, _)| *s == scope)
            .map(|(_, c)| c)
    }

    /// The scope whose `enabledPlugins` decides `id`: the most specific one holding an entry,
    /// in the order managed, local, project, user.
    pub fn deciding_scope(&self, id: &str) -> Option<(Scope, &Value)> {
        [Scope::Managed, Scope::Local, Scope::Project, Scope::User]
            .into_iter()
            .find_map(|scope| self.get(scope)?.enabled_entry(id).map(|v| (scope, v)))
    }

    /// Whether `id` is effectively enabled: only a literal `true` enables.
    pub fn is_enabled(&self, id: &str) -> bool {
        matches!(self.deciding_scope(id), Some((_, Value::Bool(true))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(text: &str) -> SettingsContent {
        SettingsContent::parse(text)
    }

    #[test]
    fn effective_state_follows_precedence() {
        let settings = ScopedSettings {
            scopes: vec![
                (
                    Scope::User,
                    content(r#"{"enabledPlugins":{"a@m":true,"b@m":true,"c@m":["1.0"]}}"#),
                ),
                (
                    Scope::Project,
                    content(r#"{"enabledPlugins":{"b@m":false}}"#),
                ),
                (Scope::Local, content("// not json")),
            ],
        };
        assert!(settings.is_enabled("a@m"));
        assert!(!settings.is_enabled("b@m"));
        assert_eq!(
            settings.deciding_scope("b@m").map(|(s, _)| s),
            Some(Scope::Project)
        );
        assert!(!settings.is_enabled("c@m"));
        assert!(!settings.is_enabled("z@m"));
    }

    #[test]
    fn parses_shapes() {
        assert!(matches!(content(""), SettingsContent::Object(_)));
        assert!(matches!(content("[]"), SettingsContent::Unreadable { .. }));
        assert!(matches!(
            content("null"),
            SettingsContent::Unreadable { .. }
        ));
        match content("{\n  \"a\": 1,\n}") {
            SettingsContent::Unreadable { reason } => {
                assert!(reason.contains("line 3"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        assert!(
            content(r#"{"enabledPlugins":[]}"#)
                .enabled_entry("a@b")
                .is_none()
        );
    }
}
