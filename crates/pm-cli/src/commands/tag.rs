//! `pm tag`: the release tag `{name}--v{version}` of a plugin directory (reference-advanced.md §4).

use crate::cli::TagArgs;
use crate::output::Printer;
use pm_marketplace::Environment;
use std::process::ExitCode;

/// Runs `pm tag`.
pub fn run(_env: &Environment, printer: Printer, _args: TagArgs) -> ExitCode {
    printer.error("`pm tag` is not implemented yet", None);
    ExitCode::from(1)
}
