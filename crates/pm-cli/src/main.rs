//! `pm`: a fast, exact, scriptable plugin manager for Claude Code.
//!
//! Exit codes: 0 success, 1 failure (bad input or state; `--json` prints a `failureCode`),
//! 2 usage error (clap).

mod cli;
mod commands;
mod env_vars;
mod output;

use clap::Parser;
use output::Printer;
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    let no_progress_env =
        std::env::var(env_vars::PM_NO_PROGRESS).is_ok_and(|v| !v.is_empty() && v != "0");
    let printer = Printer {
        json: cli.global.json,
        quiet: cli.global.quiet,
        progress: !cli.global.quiet
            && !cli.global.no_progress
            && !no_progress_env
            && std::io::stderr().is_terminal(),
    };
    match commands::run(cli, printer) {
        Ok(code) => code,
        Err(error) => {
            // Errors that escaped a command's own reporting (environment, internal).
            let mut message = error.to_string();
            for cause in error.chain().skip(1) {
                message.push_str(&format!("\n  Caused by: {cause}"));
            }
            printer.error(&message, None);
            ExitCode::from(1)
        }
    }
}
