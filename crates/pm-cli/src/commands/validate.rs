//! `pm validate`: checks a plugin or marketplace before it is pushed (reference-advanced.md §5).
//!
//! The report is the command's data, so it goes to stdout: the human form below, or with
//! `--json` the report object on one line. Exit 0 when validation passes (with or without
//! warnings), 1 when it fails (errors; warnings with `--strict`; blocking directory findings
//! with `--profile directory`).

use crate::cli::{ValidateArgs, ValidateProfile};
use crate::output::{Printer, sanitize};
use pm_marketplace::Environment;
use pm_marketplace::validate::{
    self, DirectoryFinding, DirectoryReport, FileReport, FileType, Finding, Options, Profile,
    Report, Verdict,
};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Runs `pm validate`.
pub fn run(_env: &Environment, printer: Printer, args: ValidateArgs) -> ExitCode {
    let options = Options {
        strict: args.strict,
        profile: args
            .profile
            .map(|ValidateProfile::Directory| Profile::Directory),
    };
    let report = validate::validate(&args.path, &options);
    if printer.json {
        printer.json_line(&report.to_json());
    } else {
        printer.data(&human(&report));
    }
    if report.success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn plural(count: usize, word: &str) -> String {
    if count == 1 {
        format!("{count} {word}")
    } else {
        format!("{count} {word}s")
    }
}

fn finding_line(out: &mut String, finding: &Finding) {
    let code = finding
        .code
        .map(|code| format!(" [{code}]"))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "  ❯ {}: {}{code}",
        sanitize(&finding.path),
        sanitize(&finding.message)
    );
}

fn findings_block(out: &mut String, file: &FileReport) {
    if !file.errors.is_empty() {
        let _ = writeln!(out, "✘ Found {}:\n", plural(file.errors.len(), "error"));
        for finding in &file.errors {
            finding_line(out, finding);
        }
        out.push('\n');
    }
    if !file.warnings.is_empty() {
        let _ = writeln!(out, "⚠ Found {}:\n", plural(file.warnings.len(), "warning"));
        for finding in &file.warnings {
            finding_line(out, finding);
        }
        out.push('\n');
    }
}

/// The plugin directory checks, laid out as the reference lays them out.
fn directory_block(out: &mut String, root: &str, directory: &DirectoryReport) {
    let _ = writeln!(
        out,
        "Plugin directory checks for {root}. The plugin directory is the catalog that plugins are submitted to; this is a subset of what it runs.\n"
    );
    if directory.findings.is_empty() {
        out.push_str("✔ These checks found nothing to report\n\n");
    }
    let (blocking, warnings): (Vec<_>, Vec<_>) = directory
        .findings
        .iter()
        .partition(|finding| finding.blocking);
    if !blocking.is_empty() {
        let _ = writeln!(
            out,
            "✘ Found {} the plugin directory refuses a submission for:\n",
            plural(blocking.len(), "problem")
        );
        directory_lines(out, &blocking);
    }
    if !warnings.is_empty() {
        let _ = writeln!(
            out,
            "⚠ Found {}:\n",
            plural(warnings.len(), "plugin directory warning")
        );
        directory_lines(out, &warnings);
    }
    if directory.profile.is_none() && !directory.findings.is_empty() {
        out.push_str("These plugin directory checks do not change the result below.");
        if !blocking.is_empty() {
            out.push_str(" To fail on problems the directory refuses a submission for, run this command with --profile directory.");
        }
        out.push_str("\n\n");
    }
    out.push_str(
        "The directory also runs a safety scan and a policy review that this command does not.\n\n",
    );
}

/// `  ❯ <file> <field>: <title> (<code>). <message>` and its fix, for each finding; then a
/// blank line. Without a title: `<file> <field>: <code>. <message>`.
fn directory_lines(out: &mut String, findings: &[&DirectoryFinding]) {
    for finding in findings {
        let field = if finding.field.is_empty() {
            String::new()
        } else {
            format!(" {}", finding.field)
        };
        let what = match finding.title {
            Some(title) => format!("{title} ({})", finding.code),
            None => finding.code.to_owned(),
        };
        let _ = writeln!(
            out,
            "  ❯ {}{field}: {what}. {}",
            sanitize(&finding.file),
            sanitize(&finding.message)
        );
        let _ = writeln!(out, "    Fix: {}", finding.fix);
    }
    out.push('\n');
}

/// The human form of `report`.
fn human(report: &Report) -> String {
    let mut out = String::new();
    match &report.manifest {
        Some(manifest) => {
            let kind = if manifest.file_type == FileType::Marketplace {
                "marketplace"
            } else {
                "plugin"
            };
            let _ = writeln!(
                out,
                "Validating {kind} manifest: {}\n",
                sanitize(&manifest.file)
            );
            findings_block(&mut out, manifest);
        }
        None => {
            let _ = writeln!(
                out,
                "Validating components in: {}\n",
                sanitize(&report.target)
            );
        }
    }
    for file in &report.contents {
        let _ = writeln!(
            out,
            "Validating {}: {}\n",
            file.file_type.word(),
            sanitize(&file.file)
        );
        findings_block(&mut out, file);
    }
    if let Some(directory) = &report.directory {
        let root = match &report.manifest {
            Some(manifest) => std::path::Path::new(&manifest.file)
                .parent()
                .and_then(std::path::Path::parent)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            None => report.target.clone(),
        };
        directory_block(&mut out, &sanitize(&root), directory);
    }
    let verdict = match report.verdict() {
        Verdict::Passed => "✔ Validation passed",
        Verdict::PassedWithWarnings => "✔ Validation passed with warnings",
        Verdict::Failed => "✘ Validation failed",
        Verdict::FailedStrict => "✘ Validation failed (--strict treats warnings as errors)",
        Verdict::FailedProfile => {
            "✘ Validation failed (--profile directory: the plugin directory would refuse a submission of this plugin)"
        }
    };
    out.push_str(verdict);
    out.push('\n');
    out
}
