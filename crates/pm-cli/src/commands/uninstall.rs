//! `pm uninstall <plugin> [-s S] [--keep-data]`.

use super::{editable_scope, failure, scope_failure};
use crate::cli::UninstallArgs;
use crate::output::{CliReporter, Printer, object};
use pm_core::id::PluginRef;
use pm_marketplace::Environment;
use pm_marketplace::plugins;
use std::process::ExitCode;

pub fn run(env: &Environment, printer: Printer, args: UninstallArgs) -> ExitCode {
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
            let message = format!("Uninstalled `{}` (scope: {})", outcome.id, outcome.scope);
            if printer.json {
                printer.json_line(&object(vec![
                    ("command", command.into()),
                    ("outcome", "ok".into()),
                    ("plugin", args.plugin.clone().into()),
                    ("pluginId", outcome.id.to_string().into()),
                    ("scope", outcome.scope.as_str().into()),
                    ("keptData", outcome.kept_data.into()),
                    ("message", message.clone().into()),
                ]));
            }
            printer.status(&message);
            ExitCode::SUCCESS
        }
        Err(error) => {
            // The reference always carries `scope` (its default is user); without --scope pm
            // reports the scope it looked at, or user when it never chose one.
            let reported = match (&scope, &error) {
                (Some(scope), _) => *scope,
                (None, pm_marketplace::Error::NotInstalledAtScope { scope, .. }) => *scope,
                (None, _) => pm_core::scope::Scope::User,
            };
            let fields = vec![
                ("plugin", args.plugin.clone().into()),
                ("scope", reported.as_str().into()),
            ];
            failure(printer, command, fields, &error)
        }
    }
}
