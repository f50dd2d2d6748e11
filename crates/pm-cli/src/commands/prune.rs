//! `pm prune|autoremove [-s S] [--dry-run] [-y]`, and the prune step of `pm uninstall --prune`
//! (reference-advanced.md §2.5, §2.6). `--json` (DEVIATIONS 16): one line per removed plugin,
//! then a summary line.

use super::{editable_scope, failure, scope_failure};
use crate::cli::PruneArgs;
use crate::output::{CliReporter, Printer, object};
use pm_core::scope::Scope;
use pm_marketplace::Environment;
use pm_marketplace::prune::{self, Orphan, PrunePlan};
use serde_json::Value;
use std::io::IsTerminal;
use std::process::ExitCode;

pub fn run(env: &Environment, printer: Printer, args: PruneArgs, yes: bool) -> ExitCode {
    let command = "prune";
    let scope = match editable_scope(&args.scope) {
        Ok(scope) => scope,
        Err(message) => return scope_failure(printer, command, &message),
    };
    flow(env, printer, scope, args.dry_run, yes)
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

fn names(orphans: &[Orphan]) -> String {
    orphans
        .iter()
        .map(|o| o.id.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn ids(orphans: &[Orphan]) -> Value {
    Value::from(orphans.iter().map(|o| o.id.to_string()).collect::<Vec<_>>())
}

/// The prune flow for `scope`: find the orphans, list them, then (unless `dry_run`) remove them
/// after a confirmation: `yes`, or a "Remove?" prompt when stdin and stderr are terminals
/// (never with `--json`). Without either it says how to confirm and removes nothing. Exit 0
/// unless pm fails.
pub(super) fn flow(
    env: &Environment,
    printer: Printer,
    scope: Scope,
    dry_run: bool,
    yes: bool,
) -> ExitCode {
    let command = "prune";
    let reporter = CliReporter::new(printer);
    let summary = |message: &str, extra: Vec<(&str, Value)>| {
        if printer.json {
            let mut pairs = vec![
                ("command", Value::from(command)),
                ("outcome", "ok".into()),
                ("scope", scope.as_str().into()),
                ("dryRun", dry_run.into()),
            ];
            pairs.extend(extra);
            pairs.push(("message", message.into()));
            printer.json_line(&object(pairs));
        }
        printer.status(message);
        ExitCode::SUCCESS
    };
    let plan = match prune::plan(env, scope, &reporter) {
        Ok(plan) => plan,
        Err(error) => {
            return failure(
                printer,
                command,
                vec![("scope", scope.as_str().into())],
                &error,
            );
        }
    };
    let orphans = match plan {
        PrunePlan::NothingAuto => {
            return summary(
                &format!("Nothing to prune (no auto-installed plugins at {scope} scope)."),
                vec![("removed", Value::Array(Vec::new()))],
            );
        }
        PrunePlan::AllNeeded { auto } => {
            return summary(
                &format!(
                    "Nothing to prune ({} at {scope} scope, all still needed).",
                    plural(auto, "auto-installed plugin")
                ),
                vec![("removed", Value::Array(Vec::new()))],
            );
        }
        PrunePlan::Undecidable { failed } => {
            for (id, reason) in &failed {
                printer.warn(&format!("cannot read what `{id}` requires: {reason}"));
            }
            let list: Vec<&str> = failed.iter().map(|(id, _)| id.as_str()).collect();
            let skipped: Vec<Value> = failed
                .iter()
                .map(|(id, reason)| {
                    object(vec![
                        ("pluginId", id.as_str().into()),
                        ("reason", reason.as_str().into()),
                    ])
                })
                .collect();
            return summary(
                &format!(
                    "Skipped — cannot determine orphans: {} failed to load. Fix or uninstall, then retry.",
                    list.join(", ")
                ),
                vec![
                    ("removed", Value::Array(Vec::new())),
                    ("skipped", Value::Array(skipped)),
                ],
            );
        }
        PrunePlan::Orphans { orphans, .. } => orphans,
    };

    if !printer.json {
        printer.status(&format!(
            "{} no longer needed at {scope} scope:",
            plural(orphans.len(), "auto-installed plugin")
        ));
        for orphan in &orphans {
            printer.status(&format!("  {} ({})", orphan.id, orphan.version));
        }
    }
    let candidates = ("candidates", ids(&orphans));
    if dry_run {
        return summary(
            "(dry run — nothing removed)",
            vec![candidates, ("removed", Value::Array(Vec::new()))],
        );
    }
    if !yes {
        let interactive =
            !printer.json && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !interactive {
            let flag = if scope == Scope::User {
                String::new()
            } else {
                format!(" --scope {scope}")
            };
            return summary(
                &format!("Not a TTY — run `pm prune{flag} -y` to remove."),
                vec![
                    candidates,
                    ("removed", Value::Array(Vec::new())),
                    ("confirmationRequired", true.into()),
                ],
            );
        }
        let confirmed = dialoguer::Confirm::new()
            .with_prompt("Remove?")
            .default(false)
            .interact()
            .unwrap_or(false);
        if !confirmed {
            return summary(
                "Aborted.",
                vec![candidates, ("removed", Value::Array(Vec::new()))],
            );
        }
    }

    let confirmed: Vec<_> = orphans.iter().map(|o| o.id.clone()).collect();
    match prune::prune(env, scope, &confirmed, &reporter) {
        Ok(removed) => {
            if printer.json {
                for orphan in &removed {
                    printer.json_line(&object(vec![
                        ("command", command.into()),
                        ("outcome", "ok".into()),
                        ("pluginId", orphan.id.to_string().into()),
                        ("scope", scope.as_str().into()),
                        ("version", orphan.version.clone().into()),
                        ("removed", true.into()),
                    ]));
                }
            }
            let kept: Vec<&Orphan> = orphans.iter().filter(|o| !removed.contains(o)).collect();
            for orphan in &kept {
                printer.warn(&format!(
                    "kept `{}`: it became needed or was removed while pm asked",
                    orphan.id
                ));
            }
            let message = if removed.is_empty() {
                "Nothing removed.".to_string()
            } else {
                format!(
                    "Removed {}: {}",
                    plural(removed.len(), "auto-installed plugin"),
                    names(&removed)
                )
            };
            summary(&message, vec![candidates, ("removed", ids(&removed))])
        }
        Err(error) => failure(
            printer,
            command,
            vec![("scope", scope.as_str().into())],
            &error,
        ),
    }
}
