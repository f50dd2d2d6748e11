//! `pm enable <plugin> [-s S]` and `pm disable [plugin] [-a|--all] [-s S]`
//! (reference-lifecycle.md §7).

use super::{editable_scope, error_message, scope_failure};
use crate::cli::{DisableArgs, EnableArgs};
use crate::output::{CliReporter, Printer, object};
use pm_core::id::PluginRef;
use pm_core::scope::Scope;
use pm_marketplace::{Environment, Error, toggle};
use serde_json::Value;
use std::process::ExitCode;

pub fn enable(env: &Environment, printer: Printer, args: EnableArgs) -> ExitCode {
    one(env, printer, &args.plugin, args.scope.as_deref(), true)
}

pub fn disable(env: &Environment, printer: Printer, args: DisableArgs) -> ExitCode {
    match (args.plugin.as_deref(), args.all) {
        (None, false) => invalid_arguments(
            printer,
            "Please specify a plugin name or use --all to disable all plugins",
        ),
        (Some(_), true) => invalid_arguments(printer, "--all can't be used with a plugin name"),
        (Some(plugin), false) => one(env, printer, plugin, args.scope.as_deref(), false),
        (None, true) => all(env, printer, args.scope.as_deref()),
    }
}

fn command_name(enable: bool) -> &'static str {
    if enable { "enable" } else { "disable" }
}

/// Parses an optional `--scope`; `Err` carries the exit code of the reported failure.
fn parse_scope(
    printer: Printer,
    command: &str,
    text: Option<&str>,
) -> Result<Option<Scope>, ExitCode> {
    match text.map(editable_scope) {
        None => Ok(None),
        Some(Ok(scope)) => Ok(Some(scope)),
        Some(Err(message)) => Err(scope_failure(printer, command, &message)),
    }
}

fn one(
    env: &Environment,
    printer: Printer,
    plugin_arg: &str,
    scope_arg: Option<&str>,
    enable: bool,
) -> ExitCode {
    let command = command_name(enable);
    let scope = match parse_scope(printer, command, scope_arg) {
        Ok(scope) => scope,
        Err(code) => return code,
    };
    let reporter = CliReporter::new(printer);
    let plugin = PluginRef::parse(plugin_arg);
    match toggle::set_enabled(env, &plugin, enable, scope, &reporter) {
        Ok(outcome) => {
            let verb = if enable { "Enabled" } else { "Disabled" };
            let mut message = format!("{verb} `{}` (scope: {})", outcome.id, outcome.scope);
            if !outcome.also_enabled.is_empty() {
                let count = outcome.also_enabled.len();
                message.push_str(&format!(
                    " (also enabled {count} {}: {})",
                    if count == 1 {
                        "dependency"
                    } else {
                        "dependencies"
                    },
                    outcome
                        .also_enabled
                        .iter()
                        .map(|id| id.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            if printer.json {
                let mut pairs = vec![
                    ("command", Value::from(command)),
                    ("outcome", "ok".into()),
                    ("plugin", plugin_arg.into()),
                    ("pluginId", outcome.id.to_string().into()),
                    ("scope", outcome.scope.as_str().into()),
                    ("message", message.clone().into()),
                ];
                if !outcome.also_enabled.is_empty() {
                    // pm's addition: the dependencies this enable switched on.
                    pairs.push((
                        "dependenciesEnabled",
                        outcome
                            .also_enabled
                            .iter()
                            .map(|id| Value::from(id.to_string()))
                            .collect::<Vec<_>>()
                            .into(),
                    ));
                }
                printer.json_line(&object(pairs));
            }
            printer.status(&message);
            if let Some(decider) = outcome.overridden_by {
                let (state, action) = if enable {
                    ("disabled", "disable")
                } else {
                    ("enabled", "enable")
                };
                let advice = if decider == Scope::Managed {
                    String::new()
                } else {
                    format!("; pass `--scope {decider}` to change it there")
                };
                printer.warn(&format!(
                    "`{}` stays {state}: {decider} settings {action} it{advice}",
                    outcome.id
                ));
            }
            ExitCode::SUCCESS
        }
        Err(error) => toggle_failure(printer, command, plugin_arg, &error),
    }
}

/// A failed enable/disable: the reference's line (`plugin`, no `scope`), plus
/// `alreadyInGoalState: true` for `already_in_goal_state`. A settings file that cannot be
/// edited is `settings_write_failed`, as the reference reports it for enable/disable.
fn toggle_failure(printer: Printer, command: &str, plugin_arg: &str, error: &Error) -> ExitCode {
    let failure_code = match error {
        Error::SettingsInvalid { .. } => "settings_write_failed",
        other => other.failure_code(),
    };
    let message = error_message(error);
    if printer.json {
        let mut pairs = vec![
            ("command", Value::from(command)),
            ("outcome", "failed".into()),
            ("plugin", plugin_arg.into()),
            ("message", message.clone().into()),
            ("failureCode", failure_code.into()),
        ];
        if matches!(error, Error::AlreadyInGoalState { .. }) {
            pairs.push(("alreadyInGoalState", true.into()));
        }
        if let Error::RequiredByDependents { dependents, .. } = error {
            // The reference's keys: the dependents' names, and the ids to disable first.
            pairs.push((
                "reverseDependents",
                dependents
                    .iter()
                    .map(|id| Value::from(id.name.as_str()))
                    .collect::<Vec<_>>()
                    .into(),
            ));
            pairs.push((
                "disableFirst",
                dependents
                    .iter()
                    .map(|id| Value::from(id.to_string()))
                    .collect::<Vec<_>>()
                    .into(),
            ));
        }
        printer.json_line(&object(pairs));
    }
    printer.error(&message, error.hint().as_deref());
    ExitCode::from(1)
}

/// `disable` with neither a plugin nor `--all`, or with both: exit 1 (as the reference).
fn invalid_arguments(printer: Printer, message: &str) -> ExitCode {
    if printer.json {
        printer.json_line(&object(vec![
            ("command", "disable".into()),
            ("outcome", "failed".into()),
            ("message", message.into()),
            ("failureCode", "invalid_arguments".into()),
        ]));
    }
    printer.error(message, None);
    ExitCode::from(1)
}

fn all(env: &Environment, printer: Printer, scope_arg: Option<&str>) -> ExitCode {
    let command = "disable";
    let scope = match parse_scope(printer, command, scope_arg) {
        Ok(scope) => scope,
        Err(code) => return code,
    };
    let reporter = CliReporter::new(printer);
    match toggle::disable_all(env, scope, &reporter) {
        Ok(outcome) => {
            for (id, scope) in &outcome.disabled {
                printer.status(&format!("Disabled `{id}` (scope: {scope})"));
            }
            for id in &outcome.managed {
                printer.warn(&format!(
                    "left `{id}` enabled: it is managed by your organization"
                ));
            }
            let message = match outcome.disabled.len() {
                0 => "No enabled plugins to disable".to_string(),
                1 => "Disabled 1 plugin".to_string(),
                n => format!("Disabled {n} plugins"),
            };
            if printer.json {
                let ids =
                    |list: Vec<&String>| Value::from(list.into_iter().cloned().collect::<Vec<_>>());
                let mut pairs = vec![
                    ("command", command.into()),
                    ("outcome", "ok".into()),
                    ("all", true.into()),
                    ("message", message.clone().into()),
                    (
                        "plugins",
                        ids(outcome.disabled.iter().map(|(id, _)| id).collect()),
                    ),
                ];
                if !outcome.managed.is_empty() {
                    pairs.push(("skipped", ids(outcome.managed.iter().collect())));
                }
                printer.json_line(&object(pairs));
            }
            printer.status(&message);
            ExitCode::SUCCESS
        }
        Err(error) => {
            let failure_code = match &error {
                Error::SettingsInvalid { .. } => "settings_write_failed",
                other => other.failure_code(),
            };
            let message = error_message(&error);
            if printer.json {
                printer.json_line(&object(vec![
                    ("command", command.into()),
                    ("outcome", "failed".into()),
                    ("all", true.into()),
                    ("message", message.clone().into()),
                    ("failureCode", failure_code.into()),
                ]));
            }
            printer.error(&message, error.hint().as_deref());
            ExitCode::from(1)
        }
    }
}
