//! `pm install <plugin> [-s S] [--marketplace SOURCE]`.

use super::{editable_scope, failure_with_code, scope_failure};
use crate::cli::InstallArgs;
use crate::output::{CliReporter, Printer, object};
use pm_core::id::PluginRef;
use pm_core::scope::Scope;
use pm_marketplace::Environment;
use pm_marketplace::marketplaces;
use pm_marketplace::plugins;
use std::process::ExitCode;

pub fn run(env: &Environment, printer: Printer, args: InstallArgs) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let command = "install";
    let scope = match editable_scope(&args.scope) {
        Ok(scope) => scope,
        Err(message) => return scope_failure(printer, command, &message),
    };
    let mut plugin = PluginRef::parse(&args.plugin);
    let base = |scope: Scope| {
        vec![
            ("plugin", args.plugin.clone().into()),
            ("scope", scope.as_str().into()),
        ]
    };
    if let Some(source_text) = &args.marketplace {
        if plugin.marketplace.is_some() {
            let message = format!(
                "Name the marketplace once: `{}` or `pm install {} --marketplace {source_text}`",
                args.plugin, plugin.name
            );
            return scope_failure(printer, command, &message);
        }
        let added = marketplaces::resolve_source(env, source_text, &[])
            .and_then(|source| marketplaces::add(env, source, Scope::User, &reporter));
        match added {
            Ok(outcome) => {
                printer.status(&format!(
                    "Added marketplace `{}` from {}",
                    outcome.name, outcome.source
                ));
                plugin.marketplace = Some(outcome.name);
            }
            Err(error) => return install_failure(printer, base(scope), &error),
        }
    }
    match plugins::install(env, &plugin, scope, &reporter) {
        Ok(outcome) => {
            let copies = std::iter::once((&outcome.id, &outcome.copy))
                .chain(outcome.dependencies.iter().map(|d| (&d.id, &d.copy)));
            for (id, copy) in copies {
                for link in &copy.skipped_links {
                    printer.warn(&format!(
                        "left out `{}` of `{id}`: the link points to `{}`, outside the marketplace",
                        link.path.display(),
                        link.target.display()
                    ));
                }
            }
            // `(+ 2 dependencies: b, c)` (reference-advanced.md §2.2).
            let added = match outcome.dependencies.as_slice() {
                [] => String::new(),
                list => format!(
                    " (+ {} {}: {})",
                    list.len(),
                    if list.len() == 1 {
                        "dependency"
                    } else {
                        "dependencies"
                    },
                    list.iter()
                        .map(|d| d.id.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            let manual = if outcome.marked_manual {
                " — marked as manually installed"
            } else {
                ""
            };
            let in_place = outcome
                .loads_in_place_from
                .as_ref()
                .map(|dir| format!("; Claude Code loads it in place from `{}`", dir.display()))
                .unwrap_or_default();
            let message = match &outcome.already_installed {
                Some((installed, _)) => format!(
                    "Plugin `{}` {installed} is already installed (scope: {scope}){manual}{added}{in_place}",
                    outcome.id
                ),
                None => format!(
                    "Installed `{}` {} (scope: {scope}){added}{in_place}",
                    outcome.id, outcome.version
                ),
            };
            if printer.json {
                let mut pairs = vec![
                    ("command", command.into()),
                    ("outcome", "ok".into()),
                    ("plugin", args.plugin.clone().into()),
                    ("pluginId", outcome.id.to_string().into()),
                    ("scope", scope.as_str().into()),
                    ("message", message.clone().into()),
                ];
                if let Some(added) = &outcome.added_marketplace {
                    pairs.push(("addedMarketplace", added.name.clone().into()));
                }
                if !outcome.dependencies.is_empty() {
                    let ids: Vec<String> = outcome
                        .dependencies
                        .iter()
                        .map(|d| d.id.to_string())
                        .collect();
                    pairs.push(("dependencies", ids.into()));
                }
                if outcome.marked_manual {
                    pairs.push(("markedManual", true.into()));
                }
                if let Some((installed, available)) = &outcome.already_installed {
                    pairs.push(("installedVersion", installed.clone().into()));
                    pairs.push(("availableVersion", available.clone().into()));
                } else {
                    pairs.push(("version", outcome.version.clone().into()));
                    pairs.push((
                        "installPath",
                        outcome.install_path.to_string_lossy().into_owned().into(),
                    ));
                }
                printer.json_line(&object(pairs));
            }
            printer.status(&message);
            ExitCode::SUCCESS
        }
        Err(error) => install_failure(printer, base(scope), &error),
    }
}

/// Reports a failed install. A settings file that cannot be edited is the reference's
/// `settings_write_failed` for install (`error_validation` elsewhere).
fn install_failure(
    printer: Printer,
    fields: Vec<(&str, serde_json::Value)>,
    error: &pm_marketplace::Error,
) -> ExitCode {
    let code = match error {
        pm_marketplace::Error::SettingsInvalid { .. } => "settings_write_failed",
        other => other.failure_code(),
    };
    failure_with_code(printer, "install", fields, error, code)
}
