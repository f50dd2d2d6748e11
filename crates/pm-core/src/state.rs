//! Claude Code's plugin state files: `plugins/installed_plugins.json` (version 2; version 1
//! read) and `plugins/known_marketplaces.json` (reference-lifecycle.md §1.2, §5.2, §10;
//! reference-advanced.md §0). Unknown keys are kept on every level.

use crate::marketplace::ManifestError;
use crate::scope::Scope;
use crate::source::MarketplaceSource;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One install of a plugin at one scope (and, for project/local, one project directory).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstallRecord {
    /// `scope`.
    pub scope: Scope,
    /// `projectPath`: the cwd of the install, for project and local records.
    #[serde(
        rename = "projectPath",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub project_path: Option<String>,
    /// `installPath`: `<cache>/<marketplace>/<plugin>/<version dir>`.
    #[serde(rename = "installPath")]
    pub install_path: String,
    /// `version`: the resolved version string.
    pub version: String,
    /// `installedAt`: ISO-8601 UTC with milliseconds.
    #[serde(rename = "installedAt")]
    pub installed_at: String,
    /// `lastUpdated`: ISO-8601 UTC with milliseconds.
    #[serde(rename = "lastUpdated")]
    pub last_updated: String,
    /// `gitCommitSha`: 40 hex, when the plugin came from git.
    #[serde(
        rename = "gitCommitSha",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub git_commit_sha: Option<String>,
    /// `resolvedVersion`, for dependencies resolved from a version range.
    #[serde(
        rename = "resolvedVersion",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resolved_version: Option<String>,
    /// `auto: true` on plugins installed as dependencies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<bool>,
    /// Keys pm does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl InstallRecord {
    /// Whether this record is the one for `scope` as seen from `cwd` (project and local
    /// records match on `projectPath == cwd`; user and managed records on scope alone).
    pub fn matches(&self, scope: Scope, cwd: &str) -> bool {
        self.scope == scope
            && (!scope.has_project_path() || self.project_path.as_deref() == Some(cwd))
    }
}

/// `installed_plugins.json`: `{"version": 2, "plugins": {"<id>": [record, …]}}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstalledPlugins {
    /// Records by plugin id, in file (insertion) order.
    pub plugins: indexmap_like::OrderedMap<Vec<InstallRecord>>,
    /// Top-level keys other than `version` and `plugins`.
    pub extra: Map<String, Value>,
}

/// A tiny insertion-ordered map over `serde_json::Map` semantics, keyed by string.
pub mod indexmap_like {
    /// Insertion-ordered `(key, value)` pairs with unique keys.
    #[derive(Debug, Clone, PartialEq)]
    pub struct OrderedMap<V> {
        entries: Vec<(String, V)>,
    }

    impl<V> Default for OrderedMap<V> {
        fn default() -> Self {
            OrderedMap {
                entries: Vec::new(),
            }
        }
    }

    impl<V> OrderedMap<V> {
        /// The value for `key`.
        pub fn get(&self, key: &str) -> Option<&V> {
            self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
        }
        /// The value for `key`, mutably.
        pub fn get_mut(&mut self, key: &str) -> Option<&mut V> {
            self.entries
                .iter_mut()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        }
        /// The value for `key`, inserting `make()` at the end when absent.
        pub fn entry_or_insert_with(&mut self, key: &str, make: impl FnOnce() -> V) -> &mut V {
            let index = match self.entries.iter().position(|(k, _)| k == key) {
                Some(index) => index,
                None => {
                    self.entries.push((key.to_string(), make()));
                    self.entries.len() - 1
                }
            };
            &mut self.entries[index].1
        }
        /// Inserts or replaces (keeping the position of an existing key).
        pub fn insert(&mut self, key: String, value: V) {
            match self.get_mut(&key) {
                Some(slot) => *slot = value,
                None => self.entries.push((key, value)),
            }
        }
        /// Removes `key`, keeping the order of the rest.
        pub fn remove(&mut self, key: &str) -> Option<V> {
            let index = self.entries.iter().position(|(k, _)| k == key)?;
            Some(self.entries.remove(index).1)
        }
        /// Pairs in order.
        pub fn iter(&self) -> impl Iterator<Item = (&String, &V)> {
            self.entries.iter().map(|(k, v)| (k, v))
        }
        /// Pairs in order, values mutable.
        pub fn iter_mut(&mut self) -> impl Iterator<Item = (&String, &mut V)> {
            self.entries.iter_mut().map(|(k, v)| (&*k, v))
        }
        /// Keeps the pairs for which `keep` is true.
        pub fn retain(&mut self, mut keep: impl FnMut(&str, &mut V) -> bool) {
            self.entries.retain_mut(|(k, v)| keep(k, v));
        }
        /// Number of keys.
        pub fn len(&self) -> usize {
            self.entries.len()
        }
        /// Whether there are no keys.
        pub fn is_empty(&self) -> bool {
            self.entries.is_empty()
        }
    }
}

impl InstalledPlugins {
    /// Parses the file's text. Version 2 is read as is; version 1 (`{"version": 1, "plugins":
    /// {"<id>": {single record}}}`) is read with every record at user scope and written back as
    /// version 2. Errors name the line and column (invalid JSON) or the field (bad shape).
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ManifestError::from_json(&e, text))?;
        let schema = |field: String, message: String| ManifestError::Schema { field, message };
        let Value::Object(mut top) = value else {
            return Err(schema("(top level)".into(), "expected an object".into()));
        };
        let version = top.remove("version").and_then(|v| v.as_u64()).unwrap_or(2);
        let plugins = match top.remove("plugins") {
            None => Map::new(),
            Some(Value::Object(plugins)) => plugins,
            Some(_) => return Err(schema("plugins".into(), "expected an object".into())),
        };
        let mut result = InstalledPlugins {
            plugins: Default::default(),
            extra: top,
        };
        for (id, records) in plugins {
            let records: Vec<InstallRecord> = if version == 1 {
                let mut record = match records {
                    Value::Object(record) => record,
                    _ => {
                        return Err(schema(
                            format!("plugins.{id}"),
                            "expected an object (version 1)".into(),
                        ));
                    }
                };
                record.insert("scope".into(), Value::String("user".into()));
                record.remove("isLocal");
                vec![
                    serde_json::from_value(Value::Object(record))
                        .map_err(|e| schema(format!("plugins.{id}"), e.to_string()))?,
                ]
            } else {
                serde_json::from_value(records)
                    .map_err(|e| schema(format!("plugins.{id}"), e.to_string()))?
            };
            result.plugins.insert(id, records);
        }
        Ok(result)
    }

    /// The file's text in the reference's format: 2-space indentation, no final newline,
    /// `version` 2.
    pub fn to_json(&self) -> String {
        let mut top = Map::new();
        top.insert("version".into(), Value::from(2));
        let mut plugins = Map::new();
        for (id, records) in self.plugins.iter() {
            plugins.insert(
                id.clone(),
                serde_json::to_value(records).unwrap_or(Value::Null),
            );
        }
        top.insert("plugins".into(), Value::Object(plugins));
        for (key, value) in &self.extra {
            top.insert(key.clone(), value.clone());
        }
        serde_json::to_string_pretty(&Value::Object(top)).unwrap_or_default()
    }

    /// The records of `id` (empty when none).
    pub fn records(&self, id: &str) -> &[InstallRecord] {
        self.plugins.get(id).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Every `(id, record)` pair, in file order.
    pub fn all(&self) -> impl Iterator<Item = (&String, &InstallRecord)> {
        self.plugins
            .iter()
            .flat_map(|(id, records)| records.iter().map(move |r| (id, r)))
    }

    /// Whether any record (any scope) uses `install_path`.
    pub fn uses_install_path(&self, install_path: &str) -> bool {
        self.all()
            .any(|(_, record)| record.install_path == install_path)
    }
}

/// One entry of `known_marketplaces.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KnownMarketplace {
    /// `source`.
    pub source: MarketplaceSource,
    /// `installLocation`: the clone directory, the downloaded file, or the local directory.
    #[serde(rename = "installLocation")]
    pub install_location: String,
    /// `lastUpdated`: ISO-8601 UTC with milliseconds.
    #[serde(
        rename = "lastUpdated",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_updated: Option<String>,
    /// Keys pm does not know (`autoUpdate`, `declaredByManagedSettings`, …), kept.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `known_marketplaces.json`: marketplaces by name, in insertion order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KnownMarketplaces {
    /// Entries by marketplace name.
    pub marketplaces: indexmap_like::OrderedMap<KnownMarketplace>,
}

impl KnownMarketplaces {
    /// Parses the file's text; errors name the line/column or the marketplace.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| ManifestError::from_json(&e, text))?;
        let Value::Object(top) = value else {
            return Err(ManifestError::Schema {
                field: "(top level)".into(),
                message: "expected an object".into(),
            });
        };
        let mut result = KnownMarketplaces::default();
        for (name, entry) in top {
            let entry: KnownMarketplace =
                serde_json::from_value(entry).map_err(|e| ManifestError::Schema {
                    field: name.clone(),
                    message: e.to_string(),
                })?;
            result.marketplaces.insert(name, entry);
        }
        Ok(result)
    }

    /// The file's text: 2-space indentation, no final newline.
    pub fn to_json(&self) -> String {
        let mut top = Map::new();
        for (name, entry) in self.marketplaces.iter() {
            top.insert(
                name.clone(),
                serde_json::to_value(entry).unwrap_or(Value::Null),
            );
        }
        serde_json::to_string_pretty(&Value::Object(top)).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_round_trip_keeps_unknown_keys() {
        let text = r#"{
  "version": 2,
  "plugins": {
    "p1@mk1": [
      {
        "scope": "project",
        "projectPath": "/p",
        "installPath": "/c/mk1/p1/1.0.0",
        "version": "1.0.0",
        "installedAt": "2026-11-21T06:45:55.541Z",
        "lastUpdated": "2026-11-21T06:45:55.541Z",
        "gitCommitSha": "0123456789abcdef0123456789abcdef01234567",
        "future": {"x": 1}
      }
    ]
  }
}"#;
        let parsed = InstalledPlugins::parse(text).expect("parses");
        assert_eq!(parsed.records("p1@mk1")[0].scope, Scope::Project);
        assert!(parsed.records("p1@mk1")[0].matches(Scope::Project, "/p"));
        assert!(!parsed.records("p1@mk1")[0].matches(Scope::Project, "/q"));
        let written = parsed.to_json();
        assert!(written.contains("\"future\""));
        assert!(!written.ends_with('\n'));
        assert_eq!(InstalledPlugins::parse(&written).expect("reparses"), parsed);
    }

    #[test]
    fn reads_version_1() {
        let text = r#"{"version":1,"plugins":{"p@m":{"version":"1.0.0","installedAt":"t","lastUpdated":"t","installPath":"/x","gitCommitSha":"abc","isLocal":true}}}"#;
        let parsed = InstalledPlugins::parse(text).expect("parses");
        let record = &parsed.records("p@m")[0];
        assert_eq!(record.scope, Scope::User);
        assert!(parsed.to_json().contains("\"version\": 2"));
    }

    #[test]
    fn corrupt_files_are_located() {
        assert!(matches!(
            InstalledPlugins::parse("{\"version\": 2,"),
            Err(ManifestError::Syntax { line: 1, .. })
        ));
        assert!(matches!(
            InstalledPlugins::parse(r#"{"version":2,"plugins":{"a@b":[{"scope":"user"}]}}"#),
            Err(ManifestError::Schema { .. })
        ));
    }

    #[test]
    fn known_marketplaces_round_trip() {
        let text = r#"{
  "mk2": {
    "source": {
      "source": "github",
      "repo": "acme/m2"
    },
    "installLocation": "/h/.claude/plugins/marketplaces/mk2",
    "lastUpdated": "2026-11-21T06:46:01.004Z",
    "autoUpdate": true
  }
}"#;
        let parsed = KnownMarketplaces::parse(text).expect("parses");
        assert_eq!(parsed.to_json(), text);
    }
}
