//! `pm update <plugin> [-s S] [--offline]`.

use super::{failure, scope_failure};
use crate::cli::UpdateArgs;
use crate::output::{CliReporter, Printer, object};
use pm_core::id::PluginRef;
use pm_core::scope::Scope;
use pm_marketplace::Environment;
use pm_marketplace::Error;
use pm_marketplace::update::{self, Change, UpdateOutcome};
use serde_json::Value;
use std::process::ExitCode;

pub fn run(env: &Environment, printer: Printer, args: UpdateArgs) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let command = "update";
    // Every scope may be named, managed too: the record a Claude session wrote for managed
    // settings is updated like any other (reference-advanced.md §7).
    let scope = match args.scope.as_deref().map(str::parse::<Scope>) {
        None => None,
        Some(Ok(scope)) => Some(scope),
        Some(Err(error)) => {
            let message = format!(
                "Unknown scope `{}`. Use one of: user, project, local, managed",
                error.0
            );
            return scope_failure(printer, command, &message);
        }
    };
    let plugin = PluginRef::parse(&args.plugin);
    match update::update(env, &plugin, scope, args.offline, &reporter) {
        Ok(outcome) => {
            report_copy(printer, &outcome);
            let message = message(&outcome);
            if printer.json {
                let mut pairs: Vec<(&str, Value)> = vec![
                    ("command", command.into()),
                    ("outcome", "ok".into()),
                    ("plugin", args.plugin.clone().into()),
                    ("pluginId", outcome.id.to_string().into()),
                    ("scope", outcome.scope.as_str().into()),
                    ("message", message.clone().into()),
                    (
                        "updateOutcome",
                        if outcome.updated() {
                            "updated"
                        } else {
                            "up_to_date"
                        }
                        .into(),
                    ),
                    ("oldVersion", outcome.old_version.clone().into()),
                    ("newVersion", outcome.new_version.clone().into()),
                ];
                if outcome.downgrade {
                    pairs.push(("downgrade", true.into()));
                }
                if outcome.change == Change::ContentChanged {
                    pairs.push(("contentChanged", true.into()));
                }
                if let Some(path) = &outcome.project_path {
                    pairs.push(("projectPath", path.clone().into()));
                }
                pairs.push((
                    "installPath",
                    outcome.install_path.to_string_lossy().into_owned().into(),
                ));
                pairs.push(("marketplaceRefresh", outcome.refresh.as_str().into()));
                if let update::Refresh::Failed(reason) = &outcome.refresh {
                    pairs.push(("marketplaceRefreshError", reason.clone().into()));
                }
                printer.json_line(&object(pairs));
            }
            printer.status(&message);
            ExitCode::SUCCESS
        }
        Err(error) => {
            let mut fields = vec![("plugin", Value::from(args.plugin.clone()))];
            if let Some(id) = failed_id(&plugin, &error) {
                fields.push(("pluginId", id.into()));
            }
            let reported_scope = match &error {
                Error::NotInstalledAtScope { scope, .. } => Some(*scope),
                _ => scope,
            };
            if let Some(scope) = reported_scope {
                fields.push(("scope", scope.as_str().into()));
            }
            failure(printer, command, fields, &error)
        }
    }
}

/// The warnings of a successful update: the version went down, the content changed under the
/// same version (DEVIATIONS 11), links left out of the copy.
fn report_copy(printer: Printer, outcome: &UpdateOutcome) {
    let id = &outcome.id;
    if outcome.downgrade {
        printer.warn(&format!(
            "`{id}` went down from {} to {}: its marketplace now offers an older version",
            outcome.old_version, outcome.new_version
        ));
    }
    if outcome.change == Change::ContentChanged {
        let commit = outcome
            .new_commit
            .as_deref()
            .map(|c| format!(" (commit {})", &c[..c.len().min(12)]))
            .unwrap_or_default();
        printer.warn(&format!(
            "`{id}` has new content{commit} under the same version {}: pm copied it again, but \
             Claude Code's own update would keep the old copy; its author should bump `version`",
            outcome.new_version
        ));
    }
    for link in &outcome.copy.skipped_links {
        printer.warn(&format!(
            "left out `{}` of `{id}`: the link points to `{}`, outside the marketplace",
            link.path.display(),
            link.target.display()
        ));
    }
}

/// The human result line (also the JSON `message`).
fn message(outcome: &UpdateOutcome) -> String {
    let id = &outcome.id;
    let scope = match &outcome.project_path {
        Some(path) => format!("scope: {}, {path}", outcome.scope),
        None => format!("scope: {}", outcome.scope),
    };
    let in_place = outcome
        .loads_in_place_from
        .as_ref()
        .map(|dir| format!("; Claude Code loads it in place from `{}`", dir.display()))
        .unwrap_or_default();
    let (old, new) = (&outcome.old_version, &outcome.new_version);
    match outcome.change {
        Change::UpToDate => format!("{id} is up to date ({old}){in_place}"),
        Change::NewVersion if outcome.downgrade => {
            format!("Updated {id} {old} → {new}, a downgrade ({scope}){in_place}")
        }
        Change::NewVersion => format!("Updated {id} {old} → {new} ({scope}){in_place}"),
        Change::ContentChanged => {
            format!("Updated {id} {new}: new content, same version ({scope}){in_place}")
        }
        Change::Refreshed => format!("Refreshed {id} from its source ({new}) ({scope}){in_place}"),
        Change::Restored => {
            format!("Copied {id} {new} into the cache again: it was missing ({scope}){in_place}")
        }
    }
}

/// The `pluginId` of a failure line: the id the error names or the one typed; none when no
/// installed plugin matched a bare name (as the reference's `not_installed`).
fn failed_id(plugin: &PluginRef, error: &Error) -> Option<String> {
    match error {
        Error::NotInstalled(_) | Error::Ambiguous { .. } => plugin.id().map(|id| id.to_string()),
        Error::NotInstalledAtScope { id, .. }
        | Error::NotInstalledHere { id, .. }
        | Error::ScopeRequired { id, .. }
        | Error::Offline { id, .. } => Some(id.clone()),
        Error::PluginNotFound { name, marketplace }
        | Error::MarketplaceUnknown {
            name, marketplace, ..
        } => Some(format!("{name}@{marketplace}")),
        _ => plugin.id().map(|id| id.to_string()),
    }
}
