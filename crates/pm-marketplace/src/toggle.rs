//! `pm enable` / `pm disable`: `enabledPlugins.<id> = true|false` in one settings file
//! (reference-lifecycle.md §0, §7; reference-advanced.md §7; DEVIATIONS 5, 6, 8, 18).
//!
//! Nothing here touches `installed_plugins.json`: enabling is a settings matter. The target
//! file is edited member by member through [`SettingsFile`] (DEVIATIONS 1), under the state
//! lock, after re-reading everything the decision depends on.
//!
//! Decisions, in order:
//! 1. the id: `name@marketplace` must be installed (any record), listed by its known
//!    marketplace, or named by some settings file's `enabledPlugins` (DEVIATIONS 6); a bare
//!    name must match exactly one such id (DEVIATIONS 5);
//! 2. managed settings: `true` refuses `disable`, `false` refuses `enable` (DEVIATIONS 8);
//! 3. "already": with a scope, that scope's own value; without, the effective state;
//!    `disable` of a plugin that an enabled plugin here requires is refused
//!    (`required_by_dependents`), and `enable` also enables, in the same file, the disabled
//!    plugins it requires (reference-advanced.md §2.6);
//! 4. the scope, without one given: the most specific of local, project, user holding an
//!    install record for this directory or an `enabledPlugins` entry; user when none does.
//!    When the cwd is `$HOME`, project settings are the user settings file, so an entry there
//!    reports `project`, as the reference does (reference-lifecycle.md §0).

use crate::environment::Environment;
use crate::error::{Error, Result};
use crate::marketplaces;
use crate::prune::Graph;
use crate::reporter::Reporter;
use crate::store::{self, SettingsFile};
use pm_core::id::{PluginId, PluginRef};
use pm_core::scope::Scope;
use pm_core::settings::ScopedSettings;
use pm_core::state::InstalledPlugins;
use serde_json::Value;
use std::collections::BTreeSet;

/// The marketplace name of Claude Code's internal plugins, which pm never writes (DEVIATIONS 18).
pub const BUILTIN_MARKETPLACE: &str = "builtin";

/// What `enable` / `disable` of one plugin did.
#[derive(Debug, Clone)]
pub struct ToggleOutcome {
    /// The plugin.
    pub id: PluginId,
    /// The scope whose settings file was written.
    pub scope: Scope,
    /// For `enable`: the plugins it requires (transitively, from the records that apply here)
    /// that were disabled and got `true` in the same settings file, in dependency order
    /// (reference-advanced.md §2.6: "also enabled 1 dependency: b").
    pub also_enabled: Vec<PluginId>,
    /// Set when, after the write, another scope still decides the other way (possible with an
    /// explicit scope less specific than the deciding one): that scope.
    pub overridden_by: Option<Scope>,
}

/// What `disable --all` did.
#[derive(Debug, Clone, Default)]
pub struct DisableAllOutcome {
    /// `(id, scope)` of every plugin that got `false`, in settings order.
    pub disabled: Vec<(String, Scope)>,
    /// Plugins left enabled because managed settings force them on.
    pub managed: Vec<String>,
}

/// `pm enable` (`enable == true`) or `pm disable` of one plugin. `scope` is user, project or
/// local; `None` detects it (see the module documentation).
///
/// Errors: [`Error::MarketplaceUnknown`], [`Error::PluginNotFound`],
/// [`Error::PluginNotFoundAnywhere`] (`not_found`), [`Error::Ambiguous`],
/// [`Error::ManagedOverride`], [`Error::AlreadyInGoalState`], [`Error::SettingsInvalid`] for a
/// target file that is not a strict JSON object (nothing is written), [`Error::StateInvalid`]
/// for a corrupt `installed_plugins.json`.
pub fn set_enabled(
    env: &Environment,
    plugin: &PluginRef,
    enable: bool,
    scope: Option<Scope>,
    reporter: &dyn Reporter,
) -> Result<ToggleOutcome> {
    if scope == Some(Scope::Managed) {
        return Err(read_only_managed());
    }
    let installed = store::load_installed(&env.locations)?;
    let settings = store::load_settings(&env.locations);
    let id = resolve_id(env, plugin, &installed, &settings, reporter)?;
    let id_text = id.to_string();

    // Decide and try the edit in memory first: a malformed target is refused before the lock
    // file is even created.
    let target = decide(env, &id_text, enable, scope, &installed, &settings)?;
    SettingsFile::open(&env.locations, target)?.set_enabled(&id_text, enable)?;

    let _lock = env.lock(reporter)?;
    let installed = store::load_installed(&env.locations)?;
    let settings = store::load_settings(&env.locations);
    let target = decide(env, &id_text, enable, scope, &installed, &settings)?;
    let graph = Graph::build(env, &installed, reporter);
    let project_path = env.project_path();
    let mut also_enabled = Vec::new();
    let mut file = SettingsFile::open(&env.locations, target)?;
    file.set_enabled(&id_text, enable)?;
    if enable {
        for dependency in graph.requirements_here(&id, &project_path) {
            let dependency_text = dependency.to_string();
            if settings.is_enabled(&dependency_text) || is_builtin(&dependency_text) {
                continue;
            }
            if installed.records(&dependency_text).is_empty() {
                continue;
            }
            let managed_off = matches!(
                settings
                    .get(Scope::Managed)
                    .and_then(|c| c.enabled_entry(&dependency_text)),
                Some(Value::Bool(false))
            );
            if managed_off {
                reporter.warn(&format!(
                    "`{dependency}`, which `{id}` requires, stays disabled: managed settings disable it"
                ));
                continue;
            }
            file.set_enabled(&dependency_text, true)?;
            also_enabled.push(dependency);
        }
    } else {
        let dependents: Vec<PluginId> = graph
            .requirers_here(&id, &project_path)
            .into_iter()
            .filter(|dependent| settings.is_enabled(&dependent.to_string()))
            .collect();
        if !dependents.is_empty() {
            return Err(Error::RequiredByDependents {
                id: id_text,
                dependents,
            });
        }
    }
    file.save()?;

    let after = store::load_settings(&env.locations);
    let overridden_by = if after.is_enabled(&id_text) == enable {
        None
    } else {
        after.deciding_scope(&id_text).map(|(scope, _)| scope)
    };
    Ok(ToggleOutcome {
        id,
        scope: target,
        also_enabled,
        overridden_by,
    })
}

/// `pm disable --all`: `false` for every enabled plugin, in the scope that enables it.
///
/// Without `scope`, every id whose deciding scope holds `true` (the effective state) gets
/// `false` in that scope. With `scope`, every id whose `true` is in that scope's own file (as
/// `disable <id> --scope S` looks at S's own value). Ids that managed settings force on are left
/// alone and reported; `@builtin` ids are never written (DEVIATIONS 18). No enabled plugin is
/// not an error (empty outcome, nothing written).
///
/// Errors: [`Error::SettingsInvalid`] when a file to write cannot be edited (nothing is written).
pub fn disable_all(
    env: &Environment,
    scope: Option<Scope>,
    reporter: &dyn Reporter,
) -> Result<DisableAllOutcome> {
    if scope == Some(Scope::Managed) {
        return Err(read_only_managed());
    }
    let plan = plan_disable_all(env, scope);
    if plan.disabled.is_empty() {
        return Ok(plan);
    }
    write_disabled(env, &plan, false)?;
    let _lock = env.lock(reporter)?;
    let plan = plan_disable_all(env, scope);
    write_disabled(env, &plan, true)?;
    Ok(plan)
}

fn read_only_managed() -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        "Scope `managed` is read-only: managed settings are written by an administrator",
    ))
}

/// The id `plugin` names (DEVIATIONS 5, 6).
fn resolve_id(
    env: &Environment,
    plugin: &PluginRef,
    installed: &InstalledPlugins,
    settings: &ScopedSettings,
    reporter: &dyn Reporter,
) -> Result<PluginId> {
    if let Some(id) = plugin.id() {
        let text = id.to_string();
        let in_settings = settings
            .scopes
            .iter()
            .any(|(_, content)| content.enabled_entry(&text).is_some());
        if in_settings || !installed.records(&text).is_empty() {
            return Ok(id);
        }
        let known = store::load_known(&env.locations)?;
        let Some(entry) = known.marketplaces.get(&id.marketplace) else {
            return Err(Error::MarketplaceUnknown {
                name: id.name.clone(),
                marketplace: id.marketplace.clone(),
                available: known.marketplaces.iter().map(|(n, _)| n.clone()).collect(),
            });
        };
        let manifest = marketplaces::load_manifest(entry, reporter)?;
        return match manifest.find(&id.name) {
            Some(_) => Ok(id),
            None => Err(Error::PluginNotFound {
                name: id.name,
                marketplace: id.marketplace,
            }),
        };
    }

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
    for (_, content) in &settings.scopes {
        for key in content.enabled_ids() {
            consider(&key);
        }
    }
    for (key, records) in installed.plugins.iter() {
        if !records.is_empty() {
            consider(key);
        }
    }
    let known = store::load_known(&env.locations)?;
    for (marketplace, entry) in known.marketplaces.iter() {
        match marketplaces::load_manifest(entry, reporter) {
            Ok(manifest) => {
                if manifest.find(name).is_some() {
                    candidates.insert(PluginId::new(name, marketplace));
                }
            }
            Err(error) => reporter.warn(&format!("skipping marketplace `{marketplace}`: {error}")),
        }
    }
    let mut candidates: Vec<PluginId> = candidates.into_iter().collect();
    match candidates.len() {
        0 => Err(Error::PluginNotFoundAnywhere {
            name: name.to_string(),
        }),
        1 => Ok(candidates.remove(0)),
        _ => Err(Error::Ambiguous {
            name: name.to_string(),
            candidates: candidates.iter().map(ToString::to_string).collect(),
        }),
    }
}

/// Managed settings, then the "already" check, then the scope to write.
fn decide(
    env: &Environment,
    id: &str,
    enable: bool,
    scope: Option<Scope>,
    installed: &InstalledPlugins,
    settings: &ScopedSettings,
) -> Result<Scope> {
    match settings
        .get(Scope::Managed)
        .and_then(|c| c.enabled_entry(id))
    {
        Some(Value::Bool(managed)) if *managed != enable => {
            return Err(Error::ManagedOverride {
                id: id.to_string(),
                enabled: *managed,
            });
        }
        _ => {}
    }
    match scope {
        Some(scope) => {
            let own = settings.get(scope).and_then(|c| c.enabled_entry(id));
            if own == Some(&Value::Bool(enable)) {
                let decided_by = match settings.deciding_scope(id) {
                    Some((decider, _)) if settings.is_enabled(id) != enable => Some(decider),
                    _ => None,
                };
                return Err(Error::AlreadyInGoalState {
                    id: id.to_string(),
                    enabled: enable,
                    scope: Some(scope),
                    decided_by,
                });
            }
            Ok(scope)
        }
        None => {
            if settings.is_enabled(id) == enable {
                return Err(Error::AlreadyInGoalState {
                    id: id.to_string(),
                    enabled: enable,
                    scope: None,
                    decided_by: None,
                });
            }
            Ok(detect_scope(env, id, installed, settings))
        }
    }
}

/// The most specific of local, project, user with an install record for this directory or an
/// `enabledPlugins` entry for `id`; user when none has.
fn detect_scope(
    env: &Environment,
    id: &str,
    installed: &InstalledPlugins,
    settings: &ScopedSettings,
) -> Scope {
    let cwd = env.project_path();
    [Scope::Local, Scope::Project, Scope::User]
        .into_iter()
        .find(|&scope| {
            installed
                .records(id)
                .iter()
                .any(|record| record.matches(scope, &cwd))
                || settings
                    .get(scope)
                    .and_then(|c| c.enabled_entry(id))
                    .is_some()
        })
        .unwrap_or(Scope::User)
}

fn is_builtin(id: &str) -> bool {
    PluginId::parse_key(id).is_some_and(|id| id.marketplace == BUILTIN_MARKETPLACE)
}

/// What `disable --all` would write now.
fn plan_disable_all(env: &Environment, scope: Option<Scope>) -> DisableAllOutcome {
    let settings = store::load_settings(&env.locations);
    let mut ids: Vec<String> = Vec::new();
    for each in [Scope::User, Scope::Project, Scope::Local, Scope::Managed] {
        for id in settings
            .get(each)
            .map(|c| c.enabled_ids())
            .unwrap_or_default()
        {
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    let mut plan = DisableAllOutcome::default();
    for id in ids {
        if is_builtin(&id) {
            continue;
        }
        let managed_on = matches!(
            settings
                .get(Scope::Managed)
                .and_then(|c| c.enabled_entry(&id)),
            Some(Value::Bool(true))
        );
        let enabling_scope = match scope {
            None => match settings.deciding_scope(&id) {
                Some((decider, Value::Bool(true))) => Some(decider),
                _ => None,
            },
            Some(scope) => matches!(
                settings.get(scope).and_then(|c| c.enabled_entry(&id)),
                Some(Value::Bool(true))
            )
            .then_some(scope),
        };
        match enabling_scope {
            Some(_) if managed_on => plan.managed.push(id),
            Some(Scope::Managed) | None => {}
            Some(scope) => plan.disabled.push((id, scope)),
        }
    }
    plan
}

/// Sets `false` for every planned id, one open file per path (project and user settings are
/// one file when the cwd is `$HOME`); saves only with `save`, after every edit succeeded.
fn write_disabled(env: &Environment, plan: &DisableAllOutcome, save: bool) -> Result<()> {
    let mut files: Vec<SettingsFile> = Vec::new();
    for (id, scope) in &plan.disabled {
        let path = env.locations.settings_file(*scope);
        let index = match files.iter().position(|f| f.path() == path) {
            Some(index) => index,
            None => {
                files.push(SettingsFile::open_path(path)?);
                files.len() - 1
            }
        };
        files[index].set_enabled(id, false)?;
    }
    if save {
        for file in &files {
            file.save()?;
        }
    }
    Ok(())
}
