//! Command handlers. Each returns the exit code; failures of the operation itself are
//! reported here (human error + hint on stderr, a `failed` JSON line with `--json`).

mod details;
mod install;
mod list;
mod marketplace;
mod outdated;
mod prune;
mod tag;
mod toggle;
mod uninstall;
mod update;
mod validate;
mod why;

use crate::cli::{Cli, Command, MarketplaceCommand};
use crate::env_vars;
use crate::output::{Printer, object};
use anyhow::Context;
use pm_core::scope::{Locations, Scope};
use pm_marketplace::Environment;
use pm_marketplace::git::GitOptions;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Runs the parsed command line.
pub fn run(cli: Cli, printer: Printer) -> anyhow::Result<ExitCode> {
    let env = environment()?;
    let code = match cli.command {
        Command::Marketplace(MarketplaceCommand::Add(args)) => {
            marketplace::add(&env, printer, args)
        }
        Command::Marketplace(MarketplaceCommand::List) => marketplace::list(&env, printer),
        Command::Marketplace(MarketplaceCommand::Remove(args)) => {
            marketplace::remove(&env, printer, args)
        }
        Command::Marketplace(MarketplaceCommand::Update(args)) => {
            marketplace::update(&env, printer, args)
        }
        Command::Install(args) => install::run(&env, printer, args),
        Command::Uninstall(args) => uninstall::run(&env, printer, args, cli.global.yes),
        Command::Prune(args) => prune::run(&env, printer, args, cli.global.yes),
        Command::Update(args) => update::run(&env, printer, args),
        Command::Outdated(args) => outdated::run(&env, printer, args),
        Command::List(args) => list::run(&env, printer, args),
        Command::Enable(args) => toggle::enable(&env, printer, args),
        Command::Disable(args) => toggle::disable(&env, printer, args),
        Command::Why(args) => why::run(&env, printer, args),
        Command::Details(args) => details::run(&env, printer, args, &cli.global.plugin_dir),
        Command::Tag(args) => tag::run(&env, printer, args),
        Command::Validate(args) => validate::run(&env, printer, args),
    };
    Ok(code)
}

/// Reads the environment once (see `env_vars`) and resolves every location.
fn environment() -> anyhow::Result<Environment> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .or_else(|| directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()))
        .context("cannot find the home directory: set HOME")?;
    let config_dir = std::env::var_os(env_vars::CLAUDE_CONFIG_DIR).map(PathBuf::from);
    let managed_root = std::env::var_os(env_vars::PM_MANAGED_SETTINGS_DIR)
        .map(PathBuf::from)
        .unwrap_or_else(default_managed_root);
    let locations = Locations::resolve(&home, config_dir.as_deref(), &cwd, managed_root);
    let lock_timeout = match std::env::var(env_vars::PM_LOCK_TIMEOUT) {
        Ok(text) => Duration::from_secs_f64(
            text.trim()
                .parse::<f64>()
                .ok()
                .filter(|s| s.is_finite() && *s >= 0.0)
                .with_context(|| {
                    format!(
                        "{} must be a number of seconds, not `{text}`",
                        env_vars::PM_LOCK_TIMEOUT
                    )
                })?,
        ),
        Err(_) => Duration::from_secs(60),
    };
    let github_token = [env_vars::GITHUB_TOKEN, env_vars::GH_TOKEN]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    let use_git_cli = std::env::var(env_vars::PM_GIT_FETCH_WITH_CLI)
        .is_ok_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
    Ok(Environment {
        locations,
        home,
        git: GitOptions {
            github_token,
            use_git_cli,
        },
        lock_timeout,
    })
}

fn default_managed_root() -> PathBuf {
    if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/ClaudeCode")
    } else if cfg!(windows) {
        PathBuf::from(r"C:\Program Files\ClaudeCode")
    } else {
        PathBuf::from("/etc/claude-code")
    }
}

/// Parses a `--scope` value for commands that write settings (user, project, local).
fn editable_scope(text: &str) -> Result<Scope, String> {
    match text.parse::<Scope>() {
        Ok(Scope::Managed) => Err("Scope `managed` is read-only: managed settings are written by an administrator. Use one of: user, project, local".into()),
        Ok(scope) => Ok(scope),
        Err(error) => Err(error.to_string()),
    }
}

/// Reports an unknown or read-only scope: exit 1, nothing changed.
fn scope_failure(printer: Printer, command: &str, message: &str) -> ExitCode {
    if printer.json {
        printer.json_line(&object(vec![
            ("command", command.into()),
            ("outcome", "failed".into()),
            ("message", message.into()),
            ("failureCode", "invalid_scope".into()),
        ]));
    }
    printer.error(message, None);
    ExitCode::from(1)
}

/// Reports an operation failure: a `failed` JSON line (with `fields` first) and the human
/// error with its hint. Exit 1.
fn failure(
    printer: Printer,
    command: &str,
    fields: Vec<(&str, Value)>,
    error: &pm_marketplace::Error,
) -> ExitCode {
    failure_with_code(printer, command, fields, error, error.failure_code())
}

/// [`failure`] with the `failureCode` chosen by the command (the reference's code for the same
/// error differs between commands, e.g. a malformed settings file).
fn failure_with_code(
    printer: Printer,
    command: &str,
    fields: Vec<(&str, Value)>,
    error: &pm_marketplace::Error,
    failure_code: &str,
) -> ExitCode {
    let message = error_message(error);
    if printer.json {
        let mut pairs = vec![
            ("command", Value::from(command)),
            ("outcome", "failed".into()),
        ];
        pairs.extend(fields);
        pairs.push(("message", message.clone().into()));
        pairs.push(("failureCode", failure_code.into()));
        if let pm_marketplace::Error::NotInstalledAtScope { installed, .. } = error
            && let [only] = installed.as_slice()
        {
            pairs.push(("installedScope", only.as_str().into()));
        }
        printer.json_line(&object(pairs));
    }
    printer.error(&message, error.hint().as_deref());
    ExitCode::from(1)
}

/// An error and its causes on one line each (`Caused by:`), without repeating text.
fn error_message(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(&format!("\n  Caused by: {text}"));
        }
        source = cause.source();
    }
    message
}
