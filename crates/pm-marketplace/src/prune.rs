//! `pm prune` / `pm autoremove`, and what `uninstall` says about dependencies
//! (reference-advanced.md §2.5, §2.6).
//!
//! A record with `"auto": true` (installed as a dependency) is needed while a plugin that is not
//! auto-installed, enabled or disabled, requires it directly or through other needed plugins.
//! Requirements are read from each record's cache copy (`installPath/.claude-plugin/plugin.json`,
//! else its marketplace entry). A requirement is met by the records of the dependency that apply
//! where the dependent applies: user and managed records everywhere, project and local records in
//! their own `projectPath`. The auto-installed records of one scope (for project and local: of
//! this directory) that nothing needs are the orphans. When a needed plugin's requirements
//! cannot be read (its cache copy is gone, its plugin.json is invalid) and an orphan could be one
//! of them, pm does not decide (as the reference: "cannot determine orphans").

use crate::dependencies::{Dependency, manifest_dependencies};
use crate::environment::Environment;
use crate::error::Result;
use crate::plugins;
use crate::reporter::Reporter;
use crate::store::{self, SettingsFile};
use pm_core::id::PluginId;
use pm_core::marketplace::MarketplaceManifest;
use pm_core::scope::Scope;
use pm_core::state::{InstallRecord, InstalledPlugins};
use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::path::Path;

/// An auto-installed plugin no installed plugin needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    /// `name@marketplace`.
    pub id: PluginId,
    /// The recorded version.
    pub version: String,
}

/// What pruning one scope would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrunePlan {
    /// No auto-installed record at the scope.
    NothingAuto,
    /// `auto` auto-installed records at the scope, every one still needed.
    AllNeeded { auto: usize },
    /// Orphans (sorted by id) among `auto` auto-installed records.
    Orphans { orphans: Vec<Orphan>, auto: usize },
    /// Needed plugins whose requirements cannot be read, `(id, reason)`: one of the orphans
    /// may be among them.
    Undecidable { failed: Vec<(String, String)> },
}

/// The orphans of `scope` (for project and local: of this directory). Managed records are
/// never pruned.
pub fn plan(env: &Environment, scope: Scope, reporter: &dyn Reporter) -> Result<PrunePlan> {
    let installed = store::load_installed(&env.locations)?;
    Ok(Graph::build(env, &installed, reporter).plan(scope, &env.project_path()))
}

/// Removes the orphans of `scope` that are in `confirmed` (the list the user saw), as uninstall
/// removes a plugin: the record, its `enabledPlugins` entry in `scope`'s settings, `.orphaned_at`
/// in its cache directory when no record uses it, and its data directory when no record is
/// left. Orphans are found again under the lock: a plugin that became needed meanwhile stays.
/// Returns what was removed.
pub fn prune(
    env: &Environment,
    scope: Scope,
    confirmed: &[PluginId],
    reporter: &dyn Reporter,
) -> Result<Vec<Orphan>> {
    let project_path = env.project_path();
    let _lock = env.lock(reporter)?;
    let mut installed = store::load_installed(&env.locations)?;
    let PrunePlan::Orphans { orphans, .. } =
        Graph::build(env, &installed, reporter).plan(scope, &project_path)
    else {
        return Ok(Vec::new());
    };
    let orphans: Vec<Orphan> = orphans
        .into_iter()
        .filter(|orphan| confirmed.contains(&orphan.id))
        .collect();
    if orphans.is_empty() {
        return Ok(orphans);
    }
    let mut settings = SettingsFile::open(&env.locations, scope)?;
    let mut removed = Vec::new();
    for orphan in &orphans {
        let id_text = orphan.id.to_string();
        settings.remove_enabled(&id_text)?;
        if let Some(list) = installed.plugins.get_mut(&id_text)
            && let Some(index) = list.iter().position(|r| r.matches(scope, &project_path))
        {
            removed.push((orphan.id.clone(), list.remove(index)));
        }
        if installed.records(&id_text).is_empty() {
            installed.plugins.remove(&id_text);
        }
    }
    // Settings first, as uninstall does.
    settings.save()?;
    store::save_installed(&env.locations, &installed)?;
    for (id, record) in &removed {
        plugins::mark_orphaned_if_unused(env, &installed, &record.install_path)?;
        if installed.records(&id.to_string()).is_empty() {
            plugins::remove_data_dir(env, id)?;
        }
    }
    Ok(orphans)
}

/// One install record and what its plugin requires.
struct Node {
    id: PluginId,
    key: String,
    record: InstallRecord,
    requires: std::result::Result<Vec<PluginId>, String>,
}

/// Every install record with its requirements.
pub(crate) struct Graph {
    nodes: Vec<Node>,
}

/// Whether `record` applies in the directory `project_path`: user and managed records
/// everywhere, project and local records in their own directory.
fn applies_in(record: &InstallRecord, project_path: &str) -> bool {
    !record.scope.has_project_path() || record.project_path.as_deref() == Some(project_path)
}

/// Whether `dependency` (a record) can meet a requirement of the plugin recorded by `at`.
fn applies_at(dependency: &InstallRecord, at: &InstallRecord) -> bool {
    !dependency.scope.has_project_path()
        || (at.scope.has_project_path() && dependency.project_path == at.project_path)
}

impl Graph {
    /// Reads the requirements of every record of `installed`.
    pub(crate) fn build(
        env: &Environment,
        installed: &InstalledPlugins,
        reporter: &dyn Reporter,
    ) -> Self {
        let known = store::load_known(&env.locations).ok();
        let mut manifests: HashMap<String, Option<MarketplaceManifest>> = HashMap::new();
        let mut nodes = Vec::new();
        for (key, record) in installed.all() {
            let Some(id) = PluginId::parse_key(key) else {
                continue;
            };
            let dir = Path::new(&record.install_path);
            let declared = if dir.is_dir() {
                manifest_dependencies(dir, &id).map_err(|error| error.to_string())
            } else {
                Err(format!(
                    "its cache directory `{}` is missing",
                    record.install_path
                ))
            };
            let requires = declared.and_then(|declared| {
                // Without `dependencies` in plugin.json: the marketplace entry's (`strict: false`).
                let values = match declared {
                    Some(values) => values,
                    None => {
                        let manifest =
                            manifests.entry(id.marketplace.clone()).or_insert_with(|| {
                                let entry = known.as_ref()?.marketplaces.get(&id.marketplace)?;
                                crate::marketplaces::load_manifest(entry, reporter).ok()
                            });
                        manifest
                            .as_ref()
                            .and_then(|manifest| manifest.find(&id.name))
                            .and_then(|entry| entry.raw.get("dependencies"))
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default()
                    }
                };
                requirements(&values, &id)
            });
            nodes.push(Node {
                id,
                key: key.clone(),
                record: record.clone(),
                requires,
            });
        }
        Graph { nodes }
    }

    /// Which records are needed: every record that is not auto-installed, and what needed
    /// records require, transitively.
    fn needed(&self) -> Vec<bool> {
        let nodes = &self.nodes;
        let mut needed: Vec<bool> = nodes.iter().map(|n| n.record.auto != Some(true)).collect();
        let mut queue: VecDeque<usize> = (0..nodes.len()).filter(|&i| needed[i]).collect();
        while let Some(i) = queue.pop_front() {
            let Ok(requires) = &nodes[i].requires else {
                continue;
            };
            for dependency in requires {
                for (j, node) in nodes.iter().enumerate() {
                    if !needed[j]
                        && node.id == *dependency
                        && applies_at(&node.record, &nodes[i].record)
                    {
                        needed[j] = true;
                        queue.push_back(j);
                    }
                }
            }
        }
        needed
    }

    /// The prune plan of `scope` as seen from `project_path`.
    pub(crate) fn plan(&self, scope: Scope, project_path: &str) -> PrunePlan {
        if scope == Scope::Managed {
            return PrunePlan::NothingAuto;
        }
        let nodes = &self.nodes;
        let here: Vec<usize> = (0..nodes.len())
            .filter(|&i| {
                nodes[i].record.auto == Some(true) && nodes[i].record.matches(scope, project_path)
            })
            .collect();
        if here.is_empty() {
            return PrunePlan::NothingAuto;
        }
        let needed = self.needed();
        let orphans: Vec<usize> = here.iter().copied().filter(|&i| !needed[i]).collect();
        if orphans.is_empty() {
            return PrunePlan::AllNeeded { auto: here.len() };
        }
        let failed: Vec<(String, String)> = (0..nodes.len())
            .filter(|&i| needed[i])
            .filter_map(|i| match &nodes[i].requires {
                Err(reason)
                    if orphans
                        .iter()
                        .any(|&o| applies_at(&nodes[o].record, &nodes[i].record)) =>
                {
                    Some((nodes[i].key.clone(), reason.clone()))
                }
                _ => None,
            })
            .collect();
        if !failed.is_empty() {
            return PrunePlan::Undecidable { failed };
        }
        let mut orphans: Vec<Orphan> = orphans
            .iter()
            .map(|&i| Orphan {
                id: nodes[i].id.clone(),
                version: nodes[i].record.version.clone(),
            })
            .collect();
        orphans.sort_by(|a, b| a.id.cmp(&b.id));
        PrunePlan::Orphans {
            orphans,
            auto: here.len(),
        }
    }

    /// The plugins with a record that applies in `project_path` (user and managed records, and
    /// this directory's project and local records) and that require `id` directly, sorted.
    pub(crate) fn requirers_here(&self, id: &PluginId, project_path: &str) -> Vec<PluginId> {
        let mut requirers: Vec<PluginId> = self
            .nodes
            .iter()
            .filter(|node| node.id != *id && applies_in(&node.record, project_path))
            .filter(|node| {
                node.requires
                    .as_ref()
                    .is_ok_and(|requires| requires.contains(id))
            })
            .map(|node| node.id.clone())
            .collect();
        requirers.sort();
        requirers.dedup();
        requirers
    }

    /// What `id` requires, transitively, as read from the records that apply in `project_path`;
    /// breadth first, each plugin once, `id` itself excluded (cycles end there).
    pub(crate) fn requirements_here(&self, id: &PluginId, project_path: &str) -> Vec<PluginId> {
        let mut seen: Vec<PluginId> = vec![id.clone()];
        let mut queue: VecDeque<PluginId> = VecDeque::from([id.clone()]);
        let mut found = Vec::new();
        while let Some(current) = queue.pop_front() {
            for node in self
                .nodes
                .iter()
                .filter(|node| node.id == current && applies_in(&node.record, project_path))
            {
                let Ok(requires) = &node.requires else {
                    continue;
                };
                for dependency in requires {
                    if !seen.contains(dependency) {
                        seen.push(dependency.clone());
                        found.push(dependency.clone());
                        queue.push_back(dependency.clone());
                    }
                }
            }
        }
        found
    }

    /// The plugins that require `id` and that lose their last record of it with `removed` (a
    /// record just removed), sorted.
    pub(crate) fn left_without(&self, id: &PluginId, removed: &InstallRecord) -> Vec<PluginId> {
        let mut dependents: Vec<PluginId> = self
            .nodes
            .iter()
            .filter(|node| node.id != *id && applies_at(removed, &node.record))
            .filter(|node| {
                node.requires
                    .as_ref()
                    .is_ok_and(|requires| requires.contains(id))
            })
            .filter(|node| {
                !self
                    .nodes
                    .iter()
                    .any(|other| other.id == *id && applies_at(&other.record, &node.record))
            })
            .map(|node| node.id.clone())
            .collect();
        dependents.sort();
        dependents.dedup();
        dependents
    }
}

/// The ids of a plugin's `dependencies` (`values`), their marketplace defaulting to `id`'s.
fn requirements(values: &[Value], id: &PluginId) -> std::result::Result<Vec<PluginId>, String> {
    values
        .iter()
        .enumerate()
        .map(|(index, value)| {
            Dependency::parse(value)
                .map(|dependency| dependency.id(&id.marketplace))
                .map_err(|reason| format!("dependencies.{index}: {reason}"))
        })
        .collect()
}
