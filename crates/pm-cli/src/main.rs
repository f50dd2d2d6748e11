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

/// The command line without a leading `plugin` / `plugins` word (after global options), so
/// that a script written for `claude plugin …` runs with `pm` in place of `claude`:
/// `pm --plugin-dir X plugin details p` is `pm --plugin-dir X details p`. Only the first
/// word that is not an option (or the value of `--plugin-dir`) is looked at: `pm install
/// plugin` still installs a plugin named `plugin`.
fn without_plugin_word(mut args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut index = 1;
    while index < args.len() {
        let arg = args[index].to_string_lossy();
        if arg == "--plugin-dir" {
            index += 2;
        } else if arg.starts_with('-') && arg != "-" && arg != "--" {
            index += 1;
        } else {
            if arg == "plugin" || arg == "plugins" {
                args.remove(index);
            }
            break;
        }
    }
    args
}

fn main() -> ExitCode {
    let args = without_plugin_word(std::env::args_os().collect());
    let cli = match cli::Cli::try_parse_from(args) {
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

#[cfg(test)]
mod tests {
    use super::without_plugin_word;

    fn strip(args: &[&str]) -> Vec<String> {
        without_plugin_word(args.iter().map(Into::into).collect())
            .into_iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_leading_plugin_word_is_dropped() {
        assert_eq!(strip(&["pm", "plugin", "list"]), ["pm", "list"]);
        assert_eq!(strip(&["pm", "plugins", "list"]), ["pm", "list"]);
        assert_eq!(
            strip(&["pm", "--plugin-dir", "plugin", "plugin", "details", "x"]),
            ["pm", "--plugin-dir", "plugin", "details", "x"]
        );
        assert_eq!(
            strip(&["pm", "--json", "plugin", "install", "a@b"]),
            ["pm", "--json", "install", "a@b"]
        );
    }

    #[test]
    fn plugin_elsewhere_is_kept() {
        assert_eq!(
            strip(&["pm", "install", "plugin"]),
            ["pm", "install", "plugin"]
        );
        assert_eq!(
            strip(&["pm", "details", "plugin"]),
            ["pm", "details", "plugin"]
        );
    }
}
