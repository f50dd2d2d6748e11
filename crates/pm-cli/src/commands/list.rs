//! `pm list [--available]`.

use super::failure;
use crate::cli::ListArgs;
use crate::output::{CliReporter, Printer, object, sanitize};
use pm_marketplace::Environment;
use pm_marketplace::plugins::{self, ListedPlugin};
use serde_json::Value;
use std::process::ExitCode;

fn opt(value: Option<String>) -> Value {
    value.map(Value::from).unwrap_or(Value::Null)
}

/// The reference's `list --json` element. A managed-enabled plugin without a record (DEVIATIONS
/// 8) has the same keys where they apply, no `installPath` or dates, and `"installed": false`.
fn json_row(row: &ListedPlugin) -> Value {
    let record = row.record.as_ref();
    object(vec![
        ("id", row.id.clone().into()),
        ("version", opt(row.version.clone())),
        ("scope", row.scope.as_str().into()),
        ("enabled", row.enabled.into()),
        (
            "installed",
            if record.is_none() {
                Value::Bool(false)
            } else {
                Value::Null
            },
        ),
        ("installPath", opt(record.map(|r| r.install_path.clone()))),
        (
            "readFromFolder",
            opt(row
                .read_from_folder
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned())),
        ),
        ("folderVersion", opt(row.folder_version.clone())),
        ("installedAt", opt(record.map(|r| r.installed_at.clone()))),
        ("lastUpdated", opt(record.map(|r| r.last_updated.clone()))),
        (
            "projectPath",
            opt(record.and_then(|r| r.project_path.clone())),
        ),
        (
            "gitCommitSha",
            opt(record.and_then(|r| r.git_commit_sha.clone())),
        ),
        ("projectEnabled", row.project_enabled.into()),
        // pm's additions: installed as a dependency (`pm prune` removes it when nothing needs
        // it; only when true), and the version a range resolved to.
        (
            "auto",
            if record.is_some_and(|r| r.auto == Some(true)) {
                Value::Bool(true)
            } else {
                Value::Null
            },
        ),
        (
            "resolvedVersion",
            opt(record.and_then(|r| r.resolved_version.clone())),
        ),
    ])
}

pub fn run(env: &Environment, printer: Printer, args: ListArgs) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let rows = match plugins::list(env, &reporter) {
        Ok(rows) => rows,
        Err(error) => return failure(printer, "list", vec![], &error),
    };
    if printer.json {
        let installed: Vec<Value> = rows.iter().map(json_row).collect();
        if args.available {
            let available = match plugins::available(env, &reporter) {
                Ok(available) => available,
                Err(error) => return failure(printer, "list", vec![], &error),
            };
            let available: Vec<Value> = available
                .iter()
                .map(|plugin| {
                    object(vec![
                        ("pluginId", plugin.id.clone().into()),
                        ("name", plugin.entry.name.clone().into()),
                        (
                            "description",
                            plugin
                                .entry
                                .description
                                .clone()
                                .map(Value::from)
                                .unwrap_or(Value::Null),
                        ),
                        ("marketplaceName", plugin.marketplace.clone().into()),
                        (
                            "version",
                            plugin
                                .entry
                                .version
                                .clone()
                                .map(Value::from)
                                .unwrap_or(Value::Null),
                        ),
                        ("source", plugin.entry.source.to_value(&plugin.entry.raw)),
                    ])
                })
                .collect();
            printer.json_line(&object(vec![
                ("installed", installed.into()),
                ("available", available.into()),
            ]));
        } else {
            printer.json_line(&Value::Array(installed));
        }
        return ExitCode::SUCCESS;
    }
    if rows.is_empty() {
        printer
            .status("No plugins installed. Install one with `pm install <plugin>@<marketplace>`");
    } else {
        let id_width = rows.iter().map(|r| r.id.chars().count()).max().unwrap_or(0);
        let version_of = |row: &ListedPlugin| row.version.clone().unwrap_or_else(|| "-".into());
        let version_width = rows
            .iter()
            .map(|r| version_of(r).chars().count())
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        for row in &rows {
            let status = if row.enabled { "enabled" } else { "disabled" };
            let detail = match &row.record {
                Some(record) => {
                    let mut detail = String::new();
                    if record.auto == Some(true) {
                        detail.push_str("  dependency");
                    }
                    if let Some(path) = &record.project_path {
                        detail.push_str(&format!("  {}", sanitize(path)));
                    }
                    detail
                }
                None => "  not installed yet: managed settings enable it (Claude Code installs it at its next session)".into(),
            };
            let line = format!(
                "{:<id_width$}  {:<version_width$}  {:<7}  {:<8}{detail}",
                sanitize(&row.id),
                sanitize(&version_of(row)),
                row.scope.as_str(),
                status
            );
            text.push_str(line.trim_end());
            text.push('\n');
        }
        printer.data(&text);
    }
    if args.available {
        match plugins::available(env, &reporter) {
            Ok(available) if !available.is_empty() => {
                let width = available
                    .iter()
                    .map(|p| p.id.chars().count())
                    .max()
                    .unwrap_or(0);
                let mut text = String::from("\nAvailable:\n");
                for plugin in &available {
                    let description = plugin
                        .entry
                        .description
                        .as_deref()
                        .map(sanitize)
                        .unwrap_or_default();
                    text.push_str(&format!(
                        "{:<width$}  {description}\n",
                        sanitize(&plugin.id)
                    ));
                }
                printer.data(&text);
            }
            Ok(_) => {}
            Err(error) => return failure(printer, "list", vec![], &error),
        }
    }
    ExitCode::SUCCESS
}
