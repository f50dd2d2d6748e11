//! Reading and writing Claude Code's state and settings files.
//!
//! State files (`installed_plugins.json`, `known_marketplaces.json`) are read strictly: a
//! corrupt file is an error naming its line and column and is never replaced (DEVIATIONS 3).
//! Settings files are edited member by member through [`pm_core::json_edit`] so that every
//! byte pm does not own stays as it was (DEVIATIONS 1). All writes are atomic.

use crate::error::{Error, Result};
use crate::fsutil::{read_optional, write_atomic};
use pm_core::json_edit::{JsonDocument, JsonEditError};
use pm_core::scope::{Locations, Scope};
use pm_core::settings::{ScopedSettings, SettingsContent};
use pm_core::state::{InstalledPlugins, KnownMarketplaces};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Reads `known_marketplaces.json` (empty when missing).
pub fn load_known(locations: &Locations) -> Result<KnownMarketplaces> {
    let path = locations.known_marketplaces_file();
    match read_optional(&path)? {
        None => Ok(KnownMarketplaces::default()),
        Some(text) if text.trim().is_empty() => Ok(KnownMarketplaces::default()),
        Some(text) => {
            KnownMarketplaces::parse(&text).map_err(|source| Error::StateInvalid { path, source })
        }
    }
}

/// Writes `known_marketplaces.json` atomically.
pub fn save_known(locations: &Locations, known: &KnownMarketplaces) -> Result<()> {
    write_atomic(
        &locations.known_marketplaces_file(),
        known.to_json().as_bytes(),
    )?;
    Ok(())
}

/// Reads `installed_plugins.json` (empty when missing; version 1 upgraded in memory).
pub fn load_installed(locations: &Locations) -> Result<InstalledPlugins> {
    let path = locations.installed_plugins_file();
    match read_optional(&path)? {
        None => Ok(InstalledPlugins::default()),
        Some(text) if text.trim().is_empty() => Ok(InstalledPlugins::default()),
        Some(text) => {
            InstalledPlugins::parse(&text).map_err(|source| Error::StateInvalid { path, source })
        }
    }
}

/// Writes `installed_plugins.json` atomically (version 2).
pub fn save_installed(locations: &Locations, installed: &InstalledPlugins) -> Result<()> {
    write_atomic(
        &locations.installed_plugins_file(),
        installed.to_json().as_bytes(),
    )?;
    Ok(())
}

/// Reads every scope's settings: user, project, local and the merged managed settings.
/// Unreadable files count as empty here (as the reference reads them); writes refuse them.
pub fn load_settings(locations: &Locations) -> ScopedSettings {
    let mut scopes = Vec::new();
    for scope in Scope::EDITABLE {
        let path = locations.settings_file(scope);
        let content = match read_optional(&path) {
            Ok(Some(text)) => SettingsContent::parse(&text),
            Ok(None) => SettingsContent::Missing,
            Err(error) => SettingsContent::Unreadable {
                reason: error.to_string(),
            },
        };
        scopes.push((scope, content));
    }
    scopes.push((Scope::Managed, load_managed(&locations.managed_root)));
    ScopedSettings { scopes }
}

/// The managed settings files in the order they apply: `managed-settings.json` (listed even
/// when missing), then the `managed-settings.d/*.json` drop-ins in name order.
pub fn managed_files(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("managed-settings.json")];
    if let Ok(entries) = fs_err::read_dir(root.join("managed-settings.d")) {
        let mut dropins: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json") && p.is_file())
            .collect();
        dropins.sort();
        files.extend(dropins);
    }
    files
}

/// Each managed settings file (see [`managed_files`]) with its own content.
pub fn load_managed_files(root: &Path) -> Vec<(PathBuf, SettingsContent)> {
    managed_files(root)
        .into_iter()
        .map(|file| {
            let content = match read_optional(&file) {
                Ok(Some(text)) => SettingsContent::parse(&text),
                Ok(None) => SettingsContent::Missing,
                Err(error) => SettingsContent::Unreadable {
                    reason: error.to_string(),
                },
            };
            (file, content)
        })
        .collect()
}

/// Managed settings: `managed-settings.json`, then `managed-settings.d/*.json` in name order;
/// later files win per key, and `enabledPlugins` / `extraKnownMarketplaces` merge per member.
/// Files that are missing or not JSON objects are skipped.
pub fn load_managed(root: &Path) -> SettingsContent {
    let mut merged = Map::new();
    let mut found = false;
    for (_, content) in load_managed_files(root) {
        let SettingsContent::Object(map) = content else {
            continue;
        };
        found = true;
        for (key, value) in map {
            match (merged.get_mut(&key), value) {
                (Some(Value::Object(existing)), Value::Object(incoming))
                    if key == "enabledPlugins" || key == "extraKnownMarketplaces" =>
                {
                    existing.extend(incoming);
                }
                (_, value) => {
                    merged.insert(key, value);
                }
            }
        }
    }
    if found {
        SettingsContent::Object(merged)
    } else {
        SettingsContent::Missing
    }
}

/// The managed settings file whose `enabledPlugins` entry for `id` decides the merged managed
/// value (the last file holding one, as [`load_managed`] merges), if any.
pub fn managed_deciding_file(files: &[(PathBuf, SettingsContent)], id: &str) -> Option<PathBuf> {
    let mut decider = None;
    for (path, content) in files {
        let Some(map) = content.object() else {
            continue;
        };
        match map.get("enabledPlugins") {
            Some(Value::Object(entries)) if entries.contains_key(id) => {
                decider = Some(path.clone());
            }
            Some(Value::Object(_)) | None => {}
            // A later non-object `enabledPlugins` replaces the merged one.
            Some(_) => decider = None,
        }
    }
    decider
}

/// One settings file opened for editing. Changes are kept in memory until [`SettingsFile::save`].
#[derive(Debug)]
pub struct SettingsFile {
    path: PathBuf,
    document: JsonDocument,
    original: Option<String>,
}

impl SettingsFile {
    /// Opens the settings file of `scope` for editing. A missing or empty file starts as a new
    /// object. Errors: [`Error::SettingsInvalid`] for a file that is not a strict JSON object
    /// (comments, trailing commas, `[]`, `null`), naming line and column.
    pub fn open(locations: &Locations, scope: Scope) -> Result<Self> {
        Self::open_path(locations.settings_file(scope))
    }

    /// Opens the settings file at `path` for editing (see [`SettingsFile::open`]).
    pub fn open_path(path: PathBuf) -> Result<Self> {
        let original = read_optional(&path)?;
        let document = match original.as_deref() {
            None => JsonDocument::new_object(),
            Some(text) if text.trim().is_empty() => JsonDocument::new_object(),
            Some(text) => JsonDocument::parse(text).map_err(|e| Error::SettingsInvalid {
                path: path.clone(),
                reason: e.to_string(),
            })?,
        };
        Ok(SettingsFile {
            path,
            document,
            original,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The document (for reads).
    pub fn document(&self) -> &JsonDocument {
        &self.document
    }

    fn edit_error(&self, error: JsonEditError) -> Error {
        Error::SettingsInvalid {
            path: self.path.clone(),
            reason: error.to_string(),
        }
    }

    /// Sets `enabledPlugins.<id>` to `enabled`.
    pub fn set_enabled(&mut self, id: &str, enabled: bool) -> Result<()> {
        self.document
            .set(&["enabledPlugins", id], &Value::Bool(enabled))
            .map_err(|e| self.edit_error(e))
    }

    /// Removes `enabledPlugins.<id>`; returns whether it was there.
    pub fn remove_enabled(&mut self, id: &str) -> Result<bool> {
        self.document
            .remove(&["enabledPlugins", id])
            .map_err(|e| self.edit_error(e))
    }

    /// Declares `extraKnownMarketplaces.<name> = {"source": source}` unless an equal
    /// declaration is there already.
    pub fn declare_marketplace(&mut self, name: &str, source: &Value) -> Result<()> {
        let wanted = serde_json::json!({ "source": source });
        if self
            .document
            .get(&["extraKnownMarketplaces", name])
            .as_ref()
            == Some(&wanted)
        {
            return Ok(());
        }
        match self
            .document
            .get(&["extraKnownMarketplaces", name, "source"])
        {
            Some(_) => self
                .document
                .set(&["extraKnownMarketplaces", name, "source"], source),
            None => self
                .document
                .set(&["extraKnownMarketplaces", name], &wanted),
        }
        .map_err(|e| self.edit_error(e))
    }

    /// The declared source of marketplace `name`, if any.
    pub fn declared_source(&self, name: &str) -> Option<Value> {
        self.document
            .get(&["extraKnownMarketplaces", name, "source"])
    }

    /// Removes `extraKnownMarketplaces.<name>`; returns whether it was there.
    pub fn undeclare_marketplace(&mut self, name: &str) -> Result<bool> {
        self.document
            .remove(&["extraKnownMarketplaces", name])
            .map_err(|e| self.edit_error(e))
    }

    /// Whether the document differs from the file on disk.
    /// A missing file counts as changed only once something was added to it, so that an
    /// edit that removes nothing never creates a file.
    pub fn is_changed(&self) -> bool {
        match self.original.as_deref() {
            Some(original) => original != self.document.text(),
            None => self
                .document
                .value()
                .as_object()
                .is_some_and(|members| !members.is_empty()),
        }
    }

    /// Writes the file atomically if anything changed.
    pub fn save(&self) -> Result<()> {
        if self.is_changed() {
            write_atomic(&self.path, self.document.text().as_bytes())?;
        }
        Ok(())
    }
}
