//! `pm why <plugin>`: why a plugin is enabled or disabled here, and where it is installed.
//!
//! For the cwd, every settings file that can decide the plugin's state (managed files first,
//! then local, project, user: the precedence order) with its `enabledPlugins` entry, the scope
//! that decides (the most specific one holding an entry; only a literal `true` enables,
//! reference-lifecycle.md §7), and every install record with whether it applies to this
//! directory and whether its cache directory exists. Nothing is written.

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::marketplaces;
use crate::reporter::Reporter;
use crate::store;
use pm_core::id::{PluginId, PluginRef};
use pm_core::scope::Scope;
use pm_core::settings::SettingsContent;
use pm_core::state::InstallRecord;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// What one settings file says about the plugin.
#[derive(Debug, Clone, PartialEq)]
pub enum EntryState {
    /// The file does not exist.
    NoFile,
    /// The file exists but is not a JSON object (reads treat it as empty).
    Unreadable(String),
    /// The file has no `enabledPlugins` entry for the plugin.
    Absent,
    /// `enabledPlugins[id]`, whatever its type.
    Set(Value),
}

/// One settings file.
#[derive(Debug, Clone)]
pub struct SettingsLine {
    /// Its scope.
    pub scope: Scope,
    /// Its path.
    pub path: PathBuf,
    /// Its entry for the plugin.
    pub state: EntryState,
    /// Whether this file's entry decides the effective state.
    pub decides: bool,
}

/// One install record of the plugin.
#[derive(Debug, Clone)]
pub struct RecordLine {
    /// The record as stored.
    pub record: InstallRecord,
    /// Whether it applies to the cwd (user and managed records always; project and local
    /// records when `projectPath` is the cwd).
    pub applies_here: bool,
    /// Whether `installPath` is a directory.
    pub cache_exists: bool,
}

/// Where the plugin's marketplace stands.
#[derive(Debug, Clone, PartialEq)]
pub enum MarketplaceState {
    /// In `known_marketplaces.json`; `listed`: whether its catalogue lists the plugin (`None`
    /// when the catalogue cannot be read).
    Known { listed: Option<bool> },
    /// Declared in this scope's settings, not added on this machine yet (DEVIATIONS 9).
    Declared(Scope),
    /// Neither known nor declared.
    Unknown,
}

/// The whole answer.
#[derive(Debug, Clone)]
pub struct WhyReport {
    /// The plugin.
    pub id: PluginId,
    /// Effective state for the cwd.
    pub enabled: bool,
    /// The scope whose entry decides, if any holds one.
    pub decided_by: Option<Scope>,
    /// The file whose entry decides (for managed settings: which of the managed files).
    pub decided_by_file: Option<PathBuf>,
    /// The deciding entry's value.
    pub deciding_value: Option<Value>,
    /// Settings files in precedence order: managed files (later drop-ins win), local, project,
    /// user.
    pub settings: Vec<SettingsLine>,
    /// Install records in file order.
    pub records: Vec<RecordLine>,
    /// The marketplace.
    pub marketplace: MarketplaceState,
}

impl WhyReport {
    /// Whether a record applies to the cwd.
    pub fn installed_here(&self) -> bool {
        self.records.iter().any(|r| r.applies_here)
    }

    /// One sentence saying why the plugin is enabled or disabled.
    pub fn reason(&self) -> String {
        let id = &self.id;
        match (&self.decided_by, &self.deciding_value) {
            (Some(scope), Some(Value::Bool(true))) => {
                format!("{scope} settings set `enabledPlugins.\"{id}\"` to true")
            }
            (Some(scope), Some(Value::Bool(false))) => {
                let overridden: Vec<String> = self
                    .settings
                    .iter()
                    .filter(|line| line.state == EntryState::Set(Value::Bool(true)))
                    .map(|line| line.scope.to_string())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect();
                let also = if overridden.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", which overrides true in {} settings",
                        overridden.join(" and ")
                    )
                };
                format!("{scope} settings set `enabledPlugins.\"{id}\"` to false{also}")
            }
            (Some(scope), Some(other)) => format!(
                "{scope} settings hold {other} for `enabledPlugins.\"{id}\"`, and only true enables a plugin"
            ),
            _ => "no settings file has an `enabledPlugins` entry for it, and a plugin is enabled only by true".into(),
        }
    }
}

/// The precedence order, most specific first.
const PRECEDENCE: [Scope; 3] = [Scope::Local, Scope::Project, Scope::User];

fn entry_state(content: &SettingsContent, id: &str) -> EntryState {
    match content {
        SettingsContent::Missing => EntryState::NoFile,
        SettingsContent::Unreadable { reason } => EntryState::Unreadable(reason.clone()),
        SettingsContent::Object(_) => match content.enabled_entry(id) {
            Some(value) => EntryState::Set(value.clone()),
            None => EntryState::Absent,
        },
    }
}

/// `pm why <plugin>`. A bare name must name exactly one plugin found in settings, install
/// records or known catalogues (DEVIATIONS 5).
///
/// Errors: [`Error::PluginNotFound`], [`Error::MarketplaceUnknown`] or
/// [`Error::PluginNotFoundAnywhere`] (`not_found`) for an id that appears in no settings file,
/// no install record and no known marketplace's catalogue; [`Error::Ambiguous`];
/// [`Error::StateInvalid`] for a corrupt state file.
pub fn why(env: &Environment, plugin: &PluginRef, reporter: &dyn Reporter) -> Result<WhyReport> {
    let installed = store::load_installed(&env.locations)?;
    let known = store::load_known(&env.locations)?;
    let settings = store::load_settings(&env.locations);
    let managed_files = store::load_managed_files(&env.locations.managed_root);

    let listed_by = |id: &PluginId| -> Option<bool> {
        let entry = known.marketplaces.get(&id.marketplace)?;
        match marketplaces::load_manifest(entry, reporter) {
            Ok(manifest) => Some(manifest.find(&id.name).is_some()),
            Err(error) => {
                reporter.warn(&format!(
                    "cannot read the catalogue of marketplace `{}`: {error}",
                    id.marketplace
                ));
                None
            }
        }
    };
    let mentioned = |key: &str| {
        !installed.records(key).is_empty()
            || settings
                .scopes
                .iter()
                .any(|(_, c)| c.enabled_entry(key).is_some())
            || managed_files
                .iter()
                .any(|(_, c)| c.enabled_entry(key).is_some())
    };

    let id = match plugin.id() {
        Some(id) => {
            if !mentioned(&id.to_string()) {
                match known.marketplaces.get(&id.marketplace) {
                    None => {
                        return Err(Error::MarketplaceUnknown {
                            name: id.name.clone(),
                            marketplace: id.marketplace.clone(),
                            available: known.marketplaces.iter().map(|(n, _)| n.clone()).collect(),
                        });
                    }
                    Some(_) if listed_by(&id) != Some(true) => {
                        return Err(Error::PluginNotFound {
                            name: id.name,
                            marketplace: id.marketplace,
                        });
                    }
                    Some(_) => {}
                }
            }
            id
        }
        None => {
            let name = plugin.name.as_str();
            let mut candidates = BTreeSet::new();
            let mut consider = |key: &str| {
                if let Some(id) = PluginId::parse_key(key)
                    && id.name == name
                    && id.to_string() == key
                {
                    candidates.insert(id);
                }
            };
            let contents = settings
                .scopes
                .iter()
                .map(|(_, content)| content)
                .chain(managed_files.iter().map(|(_, content)| content));
            for content in contents {
                for key in content.enabled_ids() {
                    consider(&key);
                }
            }
            for (key, records) in installed.plugins.iter() {
                if !records.is_empty() {
                    consider(key);
                }
            }
            for (marketplace, entry) in known.marketplaces.iter() {
                if let Ok(manifest) = marketplaces::load_manifest(entry, reporter)
                    && manifest.find(name).is_some()
                {
                    candidates.insert(PluginId::new(name, marketplace));
                }
            }
            let mut candidates: Vec<PluginId> = candidates.into_iter().collect();
            match candidates.len() {
                0 => {
                    return Err(Error::PluginNotFoundAnywhere {
                        name: name.to_string(),
                    });
                }
                1 => candidates.remove(0),
                _ => {
                    return Err(Error::Ambiguous {
                        name: name.to_string(),
                        candidates: candidates.iter().map(ToString::to_string).collect(),
                    });
                }
            }
        }
    };
    let id_text = id.to_string();

    let deciding = settings.deciding_scope(&id_text);
    let decided_by = deciding.map(|(scope, _)| scope);
    let deciding_value = deciding.map(|(_, value)| value.clone());
    let managed_decider = store::managed_deciding_file(&managed_files, &id_text);

    let mut lines = Vec::new();
    for (path, content) in &managed_files {
        lines.push(SettingsLine {
            scope: Scope::Managed,
            path: path.clone(),
            state: entry_state(content, &id_text),
            decides: decided_by == Some(Scope::Managed) && managed_decider.as_ref() == Some(path),
        });
    }
    for scope in PRECEDENCE {
        let content = settings
            .get(scope)
            .cloned()
            .unwrap_or(SettingsContent::Missing);
        lines.push(SettingsLine {
            scope,
            path: env.locations.settings_file(scope),
            state: entry_state(&content, &id_text),
            decides: decided_by == Some(scope),
        });
    }
    let decided_by_file = lines
        .iter()
        .find(|line| line.decides)
        .map(|line| line.path.clone());

    let cwd = env.project_path();
    let records = installed
        .records(&id_text)
        .iter()
        .map(|record| RecordLine {
            applies_here: !record.scope.has_project_path()
                || record.project_path.as_deref() == Some(cwd.as_str()),
            cache_exists: std::path::Path::new(&record.install_path).is_dir(),
            record: record.clone(),
        })
        .collect();

    let marketplace = if known.marketplaces.get(&id.marketplace).is_some() {
        MarketplaceState::Known {
            listed: listed_by(&id),
        }
    } else {
        match marketplaces::declared_only(env, reporter)?
            .into_iter()
            .find(|d| d.name == id.marketplace)
        {
            Some(declared) => MarketplaceState::Declared(declared.scope),
            None => MarketplaceState::Unknown,
        }
    };

    Ok(WhyReport {
        enabled: settings.is_enabled(&id_text),
        id,
        decided_by,
        decided_by_file,
        deciding_value,
        settings: lines,
        records,
        marketplace,
    })
}
