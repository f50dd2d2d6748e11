//! `pm uninstall <plugin> [-s S] [--keep-data] [--prune]` (reference-lifecycle.md §6,
//! reference-advanced.md §2.6).

use super::{editable_scope, failure, scope_failure};
use crate::cli::UninstallArgs;
use crate::output::{CliReporter, Printer, object};
use pm_core::id::PluginRef;
use pm_core::scope::Scope;
use pm_marketplace::Environment;
use pm_marketplace::plugins;
use std::process::ExitCode;

pub fn run(env: &Environment, printer: Printer, args: UninstallArgs, yes: bool) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let command = "uninstall";
    let scope = match args.scope.as_deref().map(editable_scope) {
        None => None,
        Some(Ok(scope)) => Some(scope),
        Some(Err(message)) => return scope_failure(printer, command, &message),
    };
    let plugin = PluginRef::parse(&args.plugin);
    match plugins::uninstall(env, &plugin, scope, args.keep_data, &reporter) {
        Ok(outcome) => {
            let mut message = format!("Uninstalled `{}` (scope: {})", outcome.id, outcome.scope);
            if !outcome.required_by.is_empty() {
                let names: Vec<&str> = outcome
                    .required_by
                    .iter()
                    .map(|id| id.name.as_str())
                    .collect();
                message.push_str(&format!(" — warning: required by {}", names.join(", ")));
            }
            let ids = |list: Vec<String>| serde_json::Value::from(list);
            if printer.json {
                let mut pairs = vec![
                    ("command", command.into()),
                    ("outcome", "ok".into()),
                    ("plugin", args.plugin.clone().into()),
                    ("pluginId", outcome.id.to_string().into()),
                    ("scope", outcome.scope.as_str().into()),
                    ("keptData", outcome.kept_data.into()),
                    ("message", message.clone().into()),
                ];
                if !outcome.required_by.is_empty() {
                    pairs.push((
                        "requiredBy",
                        ids(outcome
                            .required_by
                            .iter()
                            .map(ToString::to_string)
                            .collect()),
                    ));
                }
                if !args.prune && !outcome.unneeded.is_empty() {
                    pairs.push((
                        "unneededDependencies",
                        ids(outcome.unneeded.iter().map(|o| o.id.to_string()).collect()),
                    ));
                }
                printer.json_line(&object(pairs));
            }
            printer.status(&message);
            if args.prune {
                return super::prune::flow(env, printer, outcome.scope, false, yes);
            }
            if !outcome.unneeded.is_empty() {
                let names: Vec<&str> = outcome
                    .unneeded
                    .iter()
                    .map(|o| o.id.name.as_str())
                    .collect();
                let flag = match outcome.scope {
                    Scope::User => String::new(),
                    scope => format!(" --scope {scope}"),
                };
                let count = match names.len() {
                    1 => "1 auto-installed dependency".to_string(),
                    n => format!("{n} auto-installed dependencies"),
                };
                printer.status(&format!(
                    "{count} no longer needed: {}. Run `pm prune{flag}` to remove.",
                    names.join(", ")
                ));
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            // The reference always carries `scope` (its default is user); without --scope pm
            // reports the scope it looked at, or user when it never chose one.
            let reported = match (&scope, &error) {
                (Some(scope), _) => *scope,
                (None, pm_marketplace::Error::NotInstalledAtScope { scope, .. }) => *scope,
                (None, _) => Scope::User,
            };
            let fields = vec![
                ("plugin", args.plugin.clone().into()),
                ("scope", reported.as_str().into()),
            ];
            failure(printer, command, fields, &error)
        }
    }
}
