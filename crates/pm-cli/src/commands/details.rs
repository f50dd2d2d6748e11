//! `pm details`: a plugin's component inventory and projected token cost (reference-advanced.md §3).

use super::error_message;
use crate::cli::DetailsArgs;
use crate::output::{CliReporter, Printer, sanitize};
use pm_marketplace::Environment;
use pm_marketplace::details::{
    self, Component, DetailsError, PluginDetails, component_cell, estimate_tokens,
    with_thousands_separators,
};
use serde_json::{Value, json};
use std::process::ExitCode;

/// Runs `pm details <plugin | name@marketplace | directory>`.
///
/// Without `--json`, stdout carries the reference's layout (reference-advanced.md §3) and
/// stderr a warning per note (links leading out of the plugin, files over 1 MiB, unreadable
/// files). With `--json`, stdout carries one object:
///
/// ```text
/// {"command":"details","outcome":"ok",
///  "plugin":"rich","displayName":null,"version":"1.2.3","description":"marketplace desc",
///  "source":"rich@m",                  // plugin id, or "<name>@inline" for a directory
///  "path":"/…/rich",                   // the directory inspected
///  "installed":{"scope":"user","enabled":true,"installPath":"/…","version":"1.2.3"} | null,
///  "components":{
///    "skills":[C…],"agents":[C…],"commands":[C…],   // listing order (the table's rows)
///    "hooks":["PostToolUse",…],"mcpServers":["srv1",…],"lspServers":["py",…]},
///  "tokens":{"alwaysOn":33,"alwaysOnDisplay":"~33","onInvoke":12,
///            "alwaysOnChars":132,"onInvokeChars":48},
///  "notes":["…"]}
/// C = {"name":"alpha","path":"/…/skills/alpha","truncated":false,
///      "chars":{"alwaysOn":40,"onInvoke":33},          // UTF-16 code units
///      "tokens":{"alwaysOn":10,"onInvoke":8},          // Math.round(chars / 4)
///      "display":{"alwaysOn":"< 20","onInvoke":"< 20"}} // the table's cells
/// ```
///
/// Failure: exit 1, the error and a hint on stderr; with `--json` also
/// `{"command":"details","outcome":"failed","plugin":…,"message":…,"failureCode":…}`
/// (`not_found`, `ambiguous_marketplace`, `error_not_found`, `error_validation`, …).
///
/// With `--plugin-dir DIR` (global, repeatable), a name that is a given directory's plugin
/// name (its plugin.json `name`, else the directory's name; `<name>@inline` too) shows that
/// directory, as `claude --plugin-dir DIR plugin details <name>` does.
pub fn run(
    env: &Environment,
    printer: Printer,
    args: DetailsArgs,
    plugin_dirs: &[std::path::PathBuf],
) -> ExitCode {
    let reporter = CliReporter::new(printer);
    let result = match inline_directory(env, &args.plugin, plugin_dirs) {
        Some(dir) => details::inspect_directory(&dir),
        None => details::details(env, &args.plugin, &reporter),
    };
    let details = match result {
        Ok(details) => details,
        Err(error) => return failure(printer, &args.plugin, &error),
    };
    for note in &details.notes {
        printer.warn(&sanitize(note));
    }
    if printer.json {
        printer.json_line(&json_report(&details));
    } else {
        printer.data(&human_report(&details));
    }
    ExitCode::SUCCESS
}

/// The `--plugin-dir` directory whose plugin `argument` names (case-insensitive; a trailing
/// `@inline` allowed), if any.
fn inline_directory(
    env: &Environment,
    argument: &str,
    plugin_dirs: &[std::path::PathBuf],
) -> Option<std::path::PathBuf> {
    let wanted = argument
        .strip_suffix("@inline")
        .unwrap_or(argument)
        .to_lowercase();
    plugin_dirs.iter().find_map(|dir| {
        let dir = env.locations.cwd.join(dir);
        let name = details::directory_plugin_name(&dir)?;
        (name.to_lowercase() == wanted).then_some(dir)
    })
}

fn failure(printer: Printer, plugin: &str, error: &DetailsError) -> ExitCode {
    let message = error_message(error);
    if printer.json {
        printer.json_line(&json!({
            "command": "details",
            "outcome": "failed",
            "plugin": plugin,
            "message": message,
            "failureCode": error.failure_code(),
        }));
    }
    printer.error(&message, error.hint().as_deref());
    ExitCode::from(1)
}

fn component_json(component: &Component) -> Value {
    let always_on = component.always_on_tokens();
    let on_invoke = component.on_invoke_tokens();
    json!({
        "name": component.name,
        "path": component.path.to_string_lossy(),
        "truncated": component.truncated,
        "chars": {"alwaysOn": component.always_on_chars, "onInvoke": component.on_invoke_chars},
        "tokens": {"alwaysOn": always_on, "onInvoke": on_invoke},
        "display": {"alwaysOn": component_cell(always_on), "onInvoke": component_cell(on_invoke)},
    })
}

fn json_report(details: &PluginDetails) -> Value {
    let inventory = &details.inventory;
    let always_on = inventory.always_on_tokens();
    json!({
        "command": "details",
        "outcome": "ok",
        "plugin": details.name,
        "displayName": details.display_name,
        "version": details.version,
        "description": details.description,
        "source": details.source,
        "path": details.path.to_string_lossy(),
        "installed": details.installed.as_ref().map(|installed| json!({
            "scope": installed.scope.as_str(),
            "enabled": installed.enabled,
            "installPath": installed.install_path,
            "version": installed.version,
        })),
        "components": {
            "skills": inventory.skills.iter().map(component_json).collect::<Vec<_>>(),
            "agents": inventory.agents.iter().map(component_json).collect::<Vec<_>>(),
            "commands": inventory.commands.iter().map(component_json).collect::<Vec<_>>(),
            "hooks": inventory.hooks,
            "mcpServers": inventory.mcp_servers,
            "lspServers": inventory.lsp_servers,
        },
        "tokens": {
            "alwaysOn": always_on,
            "alwaysOnDisplay": format!("~{}", with_thousands_separators(always_on)),
            "onInvoke": inventory.on_invoke_tokens(),
            "alwaysOnChars": inventory.always_on_chars(),
            "onInvokeChars": inventory.on_invoke_chars(),
        },
        "notes": details.notes,
    })
}

/// `text` padded with spaces to `width` UTF-16 code units (JavaScript's `padEnd`).
fn pad_end(text: &str, width: u64) -> String {
    let missing = width.saturating_sub(details::utf16_len(text));
    format!(
        "{text}{}",
        " ".repeat(usize::try_from(missing).unwrap_or(0))
    )
}

/// `text` padded on the left to `width` UTF-16 code units (JavaScript's `padStart`).
fn pad_start(text: &str, width: u64) -> String {
    let missing = width.saturating_sub(details::utf16_len(text));
    format!(
        "{}{text}",
        " ".repeat(usize::try_from(missing).unwrap_or(0))
    )
}

/// The reference's layout, line for line (reference-advanced.md §3). Third-party text is
/// stripped of control characters first.
fn human_report(details: &PluginDetails) -> String {
    let inventory = &details.inventory;
    let name = sanitize(&details.name);
    let title = match &details.display_name {
        Some(display) => format!("{} ({name})", sanitize(display)),
        None => name,
    };
    let mut lines = vec![
        format!(
            "{title} {}",
            sanitize(details.version.as_deref().unwrap_or_default())
        )
        .trim_end()
        .to_string(),
    ];
    if let Some(description) = &details.description {
        let mut parts = description.split('\n');
        if let Some(first) = parts.next() {
            lines.push(format!("  Description: {}", sanitize(first)));
        }
        for more in parts {
            lines.push(format!("      {}", sanitize(more)));
        }
    }
    lines.push(format!("  Source: {}", sanitize(&details.source)));
    lines.push(String::new());
    lines.push("Component inventory".into());
    let agents: Vec<String> = inventory.agents.iter().map(|a| a.name.clone()).collect();
    let categories: [(&str, Vec<String>, &str); 5] = [
        ("Skills", inventory.skill_and_command_names(), ""),
        ("Agents", agents, ""),
        (
            "Hooks",
            inventory.hooks.clone(),
            "  (harness-only \u{2014} no model context cost)",
        ),
        (
            "MCP servers",
            inventory.mcp_servers.clone(),
            "  (tool schemas resolved at runtime; not counted)",
        ),
        (
            "LSP servers",
            inventory.lsp_servers.clone(),
            "  (no model context cost)",
        ),
    ];
    for (label, names, suffix) in categories {
        if names.is_empty() {
            lines.push(format!("  {label} (0)"));
        } else {
            let names: Vec<String> = names.iter().map(|n| sanitize(n)).collect();
            lines.push(format!(
                "  {label} ({})  {}{suffix}",
                names.len(),
                names.join(", ")
            ));
        }
    }
    lines.push(String::new());
    lines.push("Projected token cost".into());
    lines.push(format!(
        "  Always-on:   ~{} tok   added to every session",
        with_thousands_separators(inventory.always_on_tokens())
    ));
    let rows: Vec<&Component> = inventory.rows().collect();
    if !rows.is_empty() {
        let names: Vec<String> = rows.iter().map(|c| sanitize(&c.name)).collect();
        let width = names
            .iter()
            .map(|n| details::utf16_len(n))
            .max()
            .unwrap_or(0)
            .max(9);
        lines.push(String::new());
        lines.push("Per-component (rounded)".into());
        lines.push(format!(
            "  {}  {}  {}",
            pad_end("component", width),
            pad_start("always-on", 9),
            pad_start("on-invoke", 9)
        ));
        for (component, name) in rows.iter().zip(&names) {
            lines.push(format!(
                "  {}  {}  {}",
                pad_end(name, width),
                pad_start(
                    &component_cell(estimate_tokens(component.always_on_chars)),
                    9
                ),
                pad_start(
                    &component_cell(estimate_tokens(component.on_invoke_chars)),
                    9
                )
            ));
        }
        lines.push(String::new());
        lines.push("  On-invoke cost is paid each time a skill or agent fires.".into());
        lines.push("  Token counts are estimates and may differ from actual usage.".into());
    }
    let mut text = lines.join("\n");
    text.push('\n');
    text
}
