//! `pm list [--available]`.

use super::failure;
use crate::cli::ListArgs;
use crate::output::{CliReporter, Printer, object, sanitize};
use pm_marketplace::Environment;
use pm_marketplace::plugins::{self, ListedPlugin};
use serde_json::Value;
use std::process::ExitCode;

/// The reference's `list --json` element.
fn json_row(row: &ListedPlugin) -> Value {
    let record = &row.record;
    object(vec![
        ("id", row.id.clone().into()),
        ("version", record.version.clone().into()),
        ("scope", record.scope.as_str().into()),
        ("enabled", row.enabled.into()),
        ("installPath", record.install_path.clone().into()),
        (
            "readFromFolder",
            row.read_from_folder
                .as_ref()
                .map(|p| p.to_string_lossy().into_owned().into())
                .unwrap_or(Value::Null),
        ),
        (
            "folderVersion",
            row.folder_version
                .clone()
                .map(Value::from)
                .unwrap_or(Value::Null),
        ),
        ("installedAt", record.installed_at.clone().into()),
        ("lastUpdated", record.last_updated.clone().into()),
        (
            "projectPath",
            record
                .project_path
                .clone()
                .map(Value::from)
                .unwrap_or(Value::Null),
        ),
        (
            "gitCommitSha",
            record
                .git_commit_sha
                .clone()
                .map(Value::from)
                .unwrap_or(Value::Null),
        ),
        ("projectEnabled", row.project_enabled.into()),
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
        let version_width = rows
            .iter()
            .map(|r| r.record.version.chars().count())
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        for row in &rows {
            let status = if row.enabled { "enabled" } else { "disabled" };
            let project = row
                .record
                .project_path
                .as_ref()
                .map(|p| format!("  {}", sanitize(p)))
                .unwrap_or_default();
            let line = format!(
                "{:<id_width$}  {:<version_width$}  {:<7}  {:<8}{project}",
                sanitize(&row.id),
                sanitize(&row.record.version),
                row.record.scope.as_str(),
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
