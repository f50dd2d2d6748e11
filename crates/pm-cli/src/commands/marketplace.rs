//! `pm marketplace add|list|remove|update`.

use super::{editable_scope, failure, scope_failure};
use crate::cli::{MarketplaceAddArgs, MarketplaceRemoveArgs, MarketplaceUpdateArgs};
use crate::output::{CliReporter, Printer, object, sanitize};
use pm_core::source::MarketplaceSource;
use pm_marketplace::Environment;
use pm_marketplace::marketplaces::{self, UpdateOutcome};
use pm_marketplace::store;
use serde_json::Value;
use std::process::ExitCode;

pub fn add(env: &Environment, printer: Printer, args: MarketplaceAddArgs) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let command = "marketplace-add";
    let source = match marketplaces::resolve_source(env, &args.source, &args.sparse) {
        Ok(source) => source,
        Err(error) => return failure(printer, command, vec![], &error),
    };
    let scope = match editable_scope(&args.scope) {
        Ok(scope) => scope,
        Err(message) => return scope_failure(printer, command, &message),
    };
    match marketplaces::add(env, source, scope, &reporter) {
        Ok(outcome) => {
            let mut message = if outcome.already_known {
                format!(
                    "Marketplace `{}` already added; declared in {} settings",
                    outcome.name, outcome.scope
                )
            } else {
                format!(
                    "Added marketplace `{}` from {} (declared in {} settings)",
                    outcome.name, outcome.source, outcome.scope
                )
            };
            if let Some(old) = &outcome.repointed_from {
                message.push_str(&format!("\nMarketplace `{}` was added from {old} before and now points at {}; installed plugins update from the new source", outcome.name, outcome.source));
            }
            if printer.json {
                printer.json_line(&object(vec![
                    ("command", command.into()),
                    ("outcome", "ok".into()),
                    ("marketplace", outcome.name.clone().into()),
                    ("message", message.clone().into()),
                ]));
            }
            printer.status(&message);
            ExitCode::SUCCESS
        }
        Err(error) => failure(printer, command, vec![], &error),
    }
}

/// The `marketplace list --json` shape: `{"name","source":<kind>, repo|url|path, ref?, "installLocation"}`
/// (no `installLocation` for a marketplace that is only declared).
fn list_entry(name: &str, source: &MarketplaceSource, install_location: Option<&str>) -> Value {
    let mut pairs: Vec<(&str, Value)> = vec![("name", name.into())];
    match source {
        MarketplaceSource::Github {
            repo, reference, ..
        } => {
            pairs.push(("source", "github".into()));
            pairs.push(("repo", repo.clone().into()));
            pairs.push((
                "ref",
                reference.clone().map(Value::from).unwrap_or(Value::Null),
            ));
        }
        MarketplaceSource::Git { url, reference, .. } => {
            pairs.push(("source", "git".into()));
            pairs.push(("url", url.clone().into()));
            pairs.push((
                "ref",
                reference.clone().map(Value::from).unwrap_or(Value::Null),
            ));
        }
        MarketplaceSource::Directory { path } => {
            pairs.push(("source", "directory".into()));
            pairs.push(("path", path.clone().into()));
        }
        MarketplaceSource::File { path } => {
            pairs.push(("source", "file".into()));
            pairs.push(("path", path.clone().into()));
        }
        MarketplaceSource::Url { url } => {
            pairs.push(("source", "url".into()));
            pairs.push(("url", url.clone().into()));
        }
    }
    pairs.push((
        "installLocation",
        install_location.map(Value::from).unwrap_or(Value::Null),
    ));
    object(pairs)
}

/// `pm marketplace list`: the known marketplaces (`known_marketplaces.json`, the reference's
/// elements), then the ones settings declare but this machine has not added yet (DEVIATIONS 9:
/// `"declaredOnly": true`, `"declaredIn": <scope>`, no `installLocation`).
pub fn list(env: &Environment, printer: Printer) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let known = match store::load_known(&env.locations) {
        Ok(known) => known,
        Err(error) => return failure(printer, "marketplace-list", vec![], &error),
    };
    let declared = match marketplaces::declared_only(env, &reporter) {
        Ok(declared) => declared,
        Err(error) => return failure(printer, "marketplace-list", vec![], &error),
    };
    if printer.json {
        let mut entries: Vec<Value> = known
            .marketplaces
            .iter()
            .map(|(name, entry)| list_entry(name, &entry.source, Some(&entry.install_location)))
            .collect();
        for item in &declared {
            let mut entry = list_entry(&item.name, &item.source, None);
            if let Value::Object(map) = &mut entry {
                map.insert("declaredOnly".into(), Value::Bool(true));
                map.insert("declaredIn".into(), item.scope.as_str().into());
            }
            entries.push(entry);
        }
        printer.json_line(&Value::Array(entries));
        return ExitCode::SUCCESS;
    }
    if known.marketplaces.is_empty() && declared.is_empty() {
        printer.status(
            "No marketplaces added. Add one with `pm marketplace add <owner/repo | url | path>`",
        );
        return ExitCode::SUCCESS;
    }
    let width = known
        .marketplaces
        .iter()
        .map(|(name, _)| name.chars().count())
        .chain(declared.iter().map(|d| d.name.chars().count()))
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (name, entry) in known.marketplaces.iter() {
        text.push_str(&format!(
            "{:<width$}  {}\n",
            sanitize(name),
            sanitize(&entry.source.to_string())
        ));
    }
    for item in &declared {
        text.push_str(&format!(
            "{:<width$}  {}  (declared in {} settings, not added yet: `pm install <plugin>@{}` adds it)\n",
            sanitize(&item.name),
            sanitize(&item.source.to_string()),
            item.scope,
            sanitize(&item.name),
        ));
    }
    printer.data(&text);
    ExitCode::SUCCESS
}

pub fn remove(env: &Environment, printer: Printer, args: MarketplaceRemoveArgs) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let command = "marketplace-remove";
    let scope = match args.scope.as_deref().map(editable_scope) {
        None => None,
        Some(Ok(scope)) => Some(scope),
        Some(Err(message)) => return scope_failure(printer, command, &message),
    };
    match marketplaces::remove(env, &args.name, scope, &reporter) {
        Ok(outcome) => {
            let mut message = match outcome.partial_scope {
                Some(scope) => format!("Removed marketplace `{}` from {scope} settings", args.name),
                None => format!("Removed marketplace `{}`", args.name),
            };
            if !outcome.uninstalled.is_empty() {
                message.push_str(&format!(
                    "\nAlso uninstalled {} plugin{} from this marketplace:\n  {}",
                    outcome.uninstalled.len(),
                    if outcome.uninstalled.len() == 1 {
                        ""
                    } else {
                        "s"
                    },
                    outcome.uninstalled.join("\n  ")
                ));
            }
            if printer.json {
                printer.json_line(&object(vec![
                    ("command", command.into()),
                    ("outcome", "ok".into()),
                    ("marketplace", args.name.clone().into()),
                    ("message", message.clone().into()),
                    ("uninstalledPlugins", outcome.uninstalled.clone().into()),
                ]));
            }
            printer.status(&message);
            ExitCode::SUCCESS
        }
        Err(error) => failure_marketplace_first(printer, command, &args.name, &error),
    }
}

/// The reference puts `marketplace` before `outcome` in remove/update failures.
fn failure_marketplace_first(
    printer: Printer,
    command: &str,
    name: &str,
    error: &pm_marketplace::Error,
) -> ExitCode {
    if printer.json {
        printer.json_line(&object(vec![
            ("command", command.into()),
            ("marketplace", name.into()),
            ("outcome", "failed".into()),
            ("message", super::error_message(error).into()),
            ("failureCode", error.failure_code().into()),
        ]));
    }
    printer.error(&super::error_message(error), error.hint().as_deref());
    ExitCode::from(1)
}

pub fn update(env: &Environment, printer: Printer, args: MarketplaceUpdateArgs) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let command = "marketplace-update";
    let names: Vec<String> = match &args.name {
        Some(name) => vec![name.clone()],
        None => match store::load_known(&env.locations) {
            Ok(known) => known
                .marketplaces
                .iter()
                .map(|(name, _)| name.clone())
                .collect(),
            Err(error) => return failure(printer, command, vec![], &error),
        },
    };
    if names.is_empty() {
        if printer.json {
            printer.json_line(&object(vec![
                ("command", command.into()),
                ("outcome", "ok".into()),
                ("message", "No marketplaces to update".into()),
            ]));
        }
        printer.status("No marketplaces to update");
        return ExitCode::SUCCESS;
    }
    // Without a name, `--json` still prints one line: a summary with one element per
    // marketplace (DEVIATIONS 16); per-marketplace errors go to stderr as usual.
    let all = args.name.is_none();
    let item_printer = Printer {
        json: printer.json && !all,
        ..printer
    };
    let mut failed = 0;
    let mut first_failure_code = None;
    let mut results = Vec::new();
    let mut messages = Vec::new();
    for name in &names {
        match marketplaces::update(env, name, &reporter) {
            Ok(outcome) => {
                let message = match outcome {
                    UpdateOutcome::Updated => format!("Updated marketplace `{name}`"),
                    UpdateOutcome::UpToDate => format!("Marketplace `{name}` is up to date"),
                    UpdateOutcome::Revalidated => {
                        format!("Marketplace `{name}` is local and valid")
                    }
                };
                let result = object(vec![
                    ("command", command.into()),
                    ("outcome", "ok".into()),
                    ("marketplace", name.clone().into()),
                    ("message", message.clone().into()),
                    ("updated", (outcome == UpdateOutcome::Updated).into()),
                ]);
                if item_printer.json {
                    printer.json_line(&result);
                }
                results.push(result);
                printer.status(&message);
                messages.push(message);
            }
            Err(error) => {
                failed += 1;
                first_failure_code.get_or_insert(error.failure_code());
                let message = super::error_message(&error);
                results.push(object(vec![
                    ("command", command.into()),
                    ("marketplace", name.clone().into()),
                    ("outcome", "failed".into()),
                    ("message", message.clone().into()),
                    ("failureCode", error.failure_code().into()),
                ]));
                messages.push(message);
                failure_marketplace_first(item_printer, command, name, &error);
            }
        }
    }
    if all && names.len() > 1 && !printer.json {
        printer.status(&format!(
            "{} of {} marketplaces updated",
            names.len() - failed,
            names.len()
        ));
    }
    if all && printer.json {
        printer.json_line(&object(vec![
            ("command", command.into()),
            ("outcome", if failed > 0 { "failed" } else { "ok" }.into()),
            ("message", messages.join("\n").into()),
            ("marketplaces", results.into()),
            (
                "failureCode",
                first_failure_code.map(Value::from).unwrap_or(Value::Null),
            ),
        ]));
    }
    if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
