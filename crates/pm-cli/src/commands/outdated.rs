//! `pm outdated [--offline]`: the installed plugins whose marketplace offers another version or
//! other content. The same fetching as `pm update --all` (marketplaces refreshed unless recent
//! or `--offline`), no writes to the cache or to `installed_plugins.json`. Exit 1 when one is
//! outdated or could not be checked, for CI (docs/outdated-in-ci.md).

use super::failure;
use super::update::{check_all, report_failure};
use crate::cli::OutdatedArgs;
use crate::output::{Printer, object, sanitize};
use pm_marketplace::Environment;
use pm_marketplace::update::{self, Mode, UpdateOptions, UpdateOutcome};
use serde_json::Value;
use std::process::ExitCode;

pub fn run(env: &Environment, printer: Printer, args: OutdatedArgs) -> ExitCode {
    let command = "outdated";
    let options = UpdateOptions {
        offline: args.offline,
        mode: Mode::Check,
    };
    let targets = match update::targets_here(env, None) {
        Ok(targets) => targets,
        Err(error) => return failure(printer, command, Vec::new(), &error),
    };
    let checked = match check_all(env, printer, targets, options) {
        Ok(checked) => checked,
        Err(error) => {
            printer.error(&format!("cannot start the check: {error}"), None);
            return ExitCode::from(1);
        }
    };
    let mut outdated: Vec<&UpdateOutcome> = Vec::new();
    let (mut up_to_date, mut failed) = (0usize, 0usize);
    for (target, result) in checked.iter() {
        match result {
            Ok(outcome) if outcome.change.is_outdated() => outdated.push(outcome),
            Ok(_) => up_to_date += 1,
            Err(error) => {
                failed += 1;
                report_failure(printer, command, target, error);
            }
        }
    }

    if printer.json {
        for outcome in &outdated {
            printer.json_line(&outdated_line(outcome));
        }
    } else if !outdated.is_empty() {
        printer.data(&table(&outdated));
    }
    let mut message = format!("{} outdated, {up_to_date} up to date", outdated.len());
    if failed > 0 {
        message.push_str(&format!(", {failed} could not be checked"));
    }
    if printer.json {
        printer.json_line(&object(vec![
            ("command", command.into()),
            ("outcome", if failed > 0 { "failed" } else { "ok" }.into()),
            ("outdated", outdated.len().into()),
            ("upToDate", up_to_date.into()),
            ("failed", failed.into()),
            ("message", message.clone().into()),
        ]));
    }
    printer.status(&message);
    if outdated.is_empty() && failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The `--json` line of one outdated record.
fn outdated_line(outcome: &UpdateOutcome) -> Value {
    let mut pairs: Vec<(&str, Value)> = vec![
        ("command", "outdated".into()),
        ("pluginId", outcome.id.to_string().into()),
        ("scope", outcome.scope.as_str().into()),
    ];
    if let Some(path) = &outcome.project_path {
        pairs.push(("projectPath", path.clone().into()));
    }
    pairs.push(("installedVersion", outcome.old_version.clone().into()));
    pairs.push(("availableVersion", outcome.new_version.clone().into()));
    if let Some(commit) = &outcome.old_commit {
        pairs.push(("installedCommit", commit.clone().into()));
    }
    if let Some(commit) = &outcome.new_commit {
        pairs.push(("availableCommit", commit.clone().into()));
    }
    if outcome.downgrade {
        pairs.push(("downgrade", true.into()));
    }
    object(pairs)
}

/// A version for the table, with its commit (12 hex) when `with_commit`.
fn shown(version: &str, commit: Option<&str>, with_commit: bool) -> String {
    match commit {
        Some(commit) if with_commit => format!("{version} ({})", &commit[..commit.len().min(12)]),
        _ => version.to_string(),
    }
}

/// The human table: plugin, scope, installed, available. When both sides have the same
/// version, the commits show that the content differs.
fn table(outdated: &[&UpdateOutcome]) -> String {
    let header = ["PLUGIN", "SCOPE", "INSTALLED", "AVAILABLE"].map(String::from);
    let mut rows: Vec<[String; 4]> = vec![header];
    for outcome in outdated {
        let same = outcome.old_version == outcome.new_version;
        let installed = shown(&outcome.old_version, outcome.old_commit.as_deref(), same);
        let mut available = shown(&outcome.new_version, outcome.new_commit.as_deref(), same);
        if same && outcome.new_commit.is_none() {
            available.push_str(" (new content)");
        }
        if outcome.downgrade {
            available.push_str(" (older)");
        }
        rows.push([
            sanitize(&outcome.id.to_string()),
            outcome.scope.as_str().to_string(),
            sanitize(&installed),
            sanitize(&available),
        ]);
    }
    let mut widths = [0usize; 4];
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in &rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text
}
