//! `pm details`: a plugin's component inventory and projected token cost (reference-advanced.md §3).

use crate::cli::DetailsArgs;
use crate::output::Printer;
use pm_marketplace::Environment;
use std::process::ExitCode;

/// Runs `pm details`.
pub fn run(_env: &Environment, printer: Printer, _args: DetailsArgs) -> ExitCode {
    printer.error("`pm details` is not implemented yet", None);
    ExitCode::from(1)
}
