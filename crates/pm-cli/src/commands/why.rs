//! `pm why <plugin>`: why a plugin is enabled or disabled here (beyond the reference).

use super::failure;
use crate::cli::WhyArgs;
use crate::output::{CliReporter, Printer, sanitize};
use pm_core::id::PluginRef;
use pm_marketplace::Environment;
use pm_marketplace::why::{self, EntryState, MarketplaceState, WhyReport};
use serde_json::{Map, Value, json};
use std::process::ExitCode;

pub fn run(env: &Environment, printer: Printer, args: WhyArgs) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let plugin = PluginRef::parse(&args.plugin);
    let report = match why::why(env, &plugin, &reporter) {
        Ok(report) => report,
        Err(error) => {
            return failure(
                printer,
                "why",
                vec![("plugin", args.plugin.clone().into())],
                &error,
            );
        }
    };
    if printer.json {
        printer.json_line(&json_report(&args.plugin, &report));
    } else {
        printer.data(&human_report(env, &report));
    }
    ExitCode::SUCCESS
}

fn state_name(state: &EntryState) -> &'static str {
    match state {
        EntryState::NoFile => "no_file",
        EntryState::Unreadable(_) => "unreadable",
        EntryState::Absent => "absent",
        EntryState::Set(_) => "set",
    }
}

/// `{"command":"why","outcome":"ok","plugin","pluginId","enabled","decidedBy","decidedByFile",
/// "reason","installedHere","settings":[…],"records":[…],"marketplace":{…}}`.
fn json_report(plugin: &str, report: &WhyReport) -> Value {
    let settings: Vec<Value> = report
        .settings
        .iter()
        .map(|line| {
            let mut map = Map::new();
            map.insert("scope".into(), line.scope.as_str().into());
            map.insert(
                "path".into(),
                line.path.to_string_lossy().into_owned().into(),
            );
            map.insert("state".into(), state_name(&line.state).into());
            match &line.state {
                EntryState::Set(value) => {
                    map.insert("value".into(), value.clone());
                }
                EntryState::Unreadable(reason) => {
                    map.insert("reason".into(), reason.clone().into());
                }
                EntryState::NoFile | EntryState::Absent => {}
            }
            map.insert("decides".into(), line.decides.into());
            Value::Object(map)
        })
        .collect();
    let records: Vec<Value> = report
        .records
        .iter()
        .map(|line| {
            let record = &line.record;
            let mut map = Map::new();
            map.insert("scope".into(), record.scope.as_str().into());
            if let Some(project) = &record.project_path {
                map.insert("projectPath".into(), project.clone().into());
            }
            map.insert("version".into(), record.version.clone().into());
            map.insert("installPath".into(), record.install_path.clone().into());
            map.insert("cacheExists".into(), line.cache_exists.into());
            map.insert("appliesHere".into(), line.applies_here.into());
            Value::Object(map)
        })
        .collect();
    let marketplace = match &report.marketplace {
        MarketplaceState::Known { listed } => json!({
            "name": report.id.marketplace,
            "state": "known",
            "listsPlugin": listed,
        }),
        MarketplaceState::Declared(scope) => json!({
            "name": report.id.marketplace,
            "state": "declared",
            "declaredIn": scope.as_str(),
        }),
        MarketplaceState::Unknown => json!({
            "name": report.id.marketplace,
            "state": "unknown",
        }),
    };
    json!({
        "command": "why",
        "outcome": "ok",
        "plugin": plugin,
        "pluginId": report.id.to_string(),
        "enabled": report.enabled,
        "decidedBy": report.decided_by.map(|s| s.as_str()),
        "decidedByFile": report.decided_by_file.as_ref().map(|p| p.to_string_lossy().into_owned()),
        "reason": report.reason(),
        "installedHere": report.installed_here(),
        "settings": settings,
        "records": records,
        "marketplace": marketplace,
    })
}

fn human_report(env: &Environment, report: &WhyReport) -> String {
    let id = sanitize(&report.id.to_string());
    let mut out = String::new();
    out.push_str(&format!(
        "{id} is {} here ({})\n  because {}\n  (precedence: managed > local > project > user; only true enables)\n",
        if report.enabled { "enabled" } else { "disabled" },
        sanitize(&env.project_path()),
        sanitize(&report.reason()),
    ));
    if report.enabled && !report.installed_here() {
        let next = if report.decided_by == Some(pm_core::scope::Scope::Managed) {
            "Claude Code installs it at its next session".to_string()
        } else {
            format!("`pm install {id}` installs it")
        };
        out.push_str(&format!(
            "  It is enabled but not installed for this directory: {next}.\n"
        ));
    }

    out.push_str("\nSettings (most specific first):\n");
    let path_width = report
        .settings
        .iter()
        .map(|l| l.path.to_string_lossy().chars().count())
        .max()
        .unwrap_or(0);
    for line in &report.settings {
        let state = match &line.state {
            EntryState::NoFile => "(no file)".to_string(),
            EntryState::Unreadable(reason) => format!("unreadable, read as empty: {reason}"),
            EntryState::Absent => "absent".to_string(),
            EntryState::Set(value) => value.to_string(),
        };
        let decides = if line.decides { "  <- decides" } else { "" };
        let text = format!(
            "  {:<7}  {:<path_width$}  {}{decides}",
            line.scope.as_str(),
            sanitize(&line.path.to_string_lossy()),
            sanitize(&state),
        );
        out.push_str(text.trim_end());
        out.push('\n');
    }

    out.push_str("\nInstall records:\n");
    if report.records.is_empty() {
        out.push_str("  none\n");
    }
    for line in &report.records {
        let record = &line.record;
        let mut notes = vec![if line.cache_exists {
            "cache present".to_string()
        } else {
            "cache directory missing".to_string()
        }];
        if !line.applies_here {
            notes.push(format!(
                "for another directory: {}",
                sanitize(record.project_path.as_deref().unwrap_or("?"))
            ));
        } else if let Some(project) = &record.project_path {
            notes.push(format!("for {}", sanitize(project)));
        }
        out.push_str(&format!(
            "  {:<7}  {}  {}  ({})\n",
            record.scope.as_str(),
            sanitize(&record.version),
            sanitize(&record.install_path),
            notes.join("; ")
        ));
    }

    let marketplace = sanitize(&report.id.marketplace);
    let name = sanitize(&report.id.name);
    out.push_str(&match &report.marketplace {
        MarketplaceState::Known { listed: Some(true) } => {
            format!("\nMarketplace: {marketplace} (known; lists {name})\n")
        }
        MarketplaceState::Known {
            listed: Some(false),
        } => format!("\nMarketplace: {marketplace} (known; does not list {name})\n"),
        MarketplaceState::Known { listed: None } => {
            format!("\nMarketplace: {marketplace} (known; its catalogue cannot be read)\n")
        }
        MarketplaceState::Declared(scope) => format!(
            "\nMarketplace: {marketplace} (declared in {scope} settings, not added yet: `pm install {id}` adds it)\n"
        ),
        MarketplaceState::Unknown => format!(
            "\nMarketplace: {marketplace} (not known and not declared: add it with `pm marketplace add <source>`)\n"
        ),
    });
    out
}
