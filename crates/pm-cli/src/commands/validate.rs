//! `pm validate`: checks a plugin or marketplace before it is pushed (reference-advanced.md §5).

use crate::cli::ValidateArgs;
use crate::output::Printer;
use pm_marketplace::Environment;
use std::process::ExitCode;

/// Runs `pm validate`.
pub fn run(_env: &Environment, printer: Printer, _args: ValidateArgs) -> ExitCode {
    printer.error("`pm validate` is not implemented yet", None);
    ExitCode::from(1)
}
