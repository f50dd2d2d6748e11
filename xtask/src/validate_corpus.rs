//! `cargo xtask validate-corpus [--check]`: runs `pm validate` (the library) over the
//! real-marketplace corpus (`../shared/fixtures/real-marketplaces`): each of the 58
//! marketplaces, every plugin directory in them (a directory with `.claude-plugin/plugin.json`,
//! validated on its own), and every historical file; writes the table to
//! `docs/validate-corpus.md`. With `--check` the table is generated in memory and the command
//! fails when the checked-in file differs (CI runs it after the tests).

use crate::workspace_root;
use anyhow::{Context, Result, bail};
use pm_marketplace::validate::{self, Options, Report};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where the table is written, relative to the workspace root.
const OUTPUT: &str = "docs/validate-corpus.md";

/// Runs the task: `[]` writes the table, `["--check"]` compares it with the checked-in one.
pub fn run(args: &[String]) -> Result<()> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => bail!("usage: cargo xtask validate-corpus [--check]"),
    };
    let corpus = workspace_root().join("../shared/fixtures/real-marketplaces");
    let corpus = corpus.canonicalize().with_context(|| {
        format!(
            "the real-marketplace corpus is not at {}; it ships beside the repository in ../shared",
            corpus.display()
        )
    })?;
    let table = generate(&corpus)?;
    let output = workspace_root().join(OUTPUT);
    if check {
        let current = std::fs::read_to_string(&output)
            .with_context(|| format!("reading {}", output.display()))?;
        if current != table {
            let first = current
                .lines()
                .zip(table.lines())
                .position(|(a, b)| a != b)
                .map_or_else(
                    || current.lines().count().min(table.lines().count()) + 1,
                    |i| i + 1,
                );
            bail!(
                "{OUTPUT} is out of date (first difference at line {first}); run `cargo xtask validate-corpus` and commit the result"
            );
        }
        println!("{OUTPUT} is up to date");
    } else {
        std::fs::write(&output, &table).with_context(|| format!("writing {}", output.display()))?;
        println!("wrote {}", output.display());
    }
    Ok(())
}

/// The counts of one validation.
#[derive(Default, Clone, Copy)]
struct Counts {
    errors: usize,
    warnings: usize,
    exit: u8,
}

fn counts(report: &Report) -> Counts {
    Counts {
        errors: report.error_count(),
        warnings: report.warning_count(),
        exit: u8::from(!report.success),
    }
}

fn codes_of(report: &Report, into: &mut BTreeMap<&'static str, usize>) {
    for file in report.files() {
        for finding in file.errors.iter().chain(file.warnings.iter()) {
            if let Some(code) = finding.code {
                *into.entry(code).or_default() += 1;
            }
        }
    }
}

fn subdirectories(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
        .map(|entry| entry.path())
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Every file below `dir`, sorted.
fn files_below(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current)
            .with_context(|| format!("reading {}", current.display()))?
            .flatten()
        {
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base)
        .unwrap_or(path)
        .display()
        .to_string()
}

fn generate(corpus: &Path) -> Result<String> {
    let options = Options::default();
    let strict = Options {
        strict: true,
        profile: None,
    };
    let mut rows = String::new();
    let mut total = [0usize; 8];
    let mut marketplace_codes = BTreeMap::new();
    let mut plugin_codes = BTreeMap::new();
    let mut marketplaces = 0;
    for repository in subdirectories(corpus)? {
        let name = repository
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('_') {
            continue;
        }
        let files = files_below(&repository)?;
        // The repository's marketplace: the shallowest .claude-plugin/marketplace.json.
        let mut manifests: Vec<&PathBuf> = files
            .iter()
            .filter(|f| f.ends_with(".claude-plugin/marketplace.json"))
            .collect();
        manifests.sort_by_key(|f| (f.components().count(), (*f).clone()));
        let Some(manifest) = manifests.first() else {
            bail!("{name} has no .claude-plugin/marketplace.json");
        };
        let root = manifest
            .parent()
            .and_then(Path::parent)
            .context("marketplace root")?;
        marketplaces += 1;
        let report = validate::validate(root, &options);
        codes_of(&report, &mut marketplace_codes);
        let market = counts(&report);
        let strict_exit = u8::from(!validate::validate(root, &strict).success);
        let mut plugin_dirs = 0;
        let mut plugin_errors = 0;
        let mut plugin_warnings = 0;
        let mut plugin_failing = 0;
        for file in files
            .iter()
            .filter(|f| f.ends_with(".claude-plugin/plugin.json"))
        {
            let report = validate::validate(file, &options);
            codes_of(&report, &mut plugin_codes);
            let plugin = counts(&report);
            plugin_dirs += 1;
            plugin_errors += plugin.errors;
            plugin_warnings += plugin.warnings;
            plugin_failing += usize::from(plugin.exit);
        }
        let shown_root = relative(root, corpus);
        let _ = writeln!(
            rows,
            "| `{shown_root}` | {} | {} | {} | {strict_exit} | {plugin_dirs} | {plugin_errors} | {plugin_warnings} | {plugin_failing} |",
            market.errors, market.warnings, market.exit
        );
        for (slot, value) in total.iter_mut().zip([
            market.errors,
            market.warnings,
            usize::from(market.exit),
            usize::from(strict_exit),
            plugin_dirs,
            plugin_errors,
            plugin_warnings,
            plugin_failing,
        ]) {
            *slot += value;
        }
    }

    let mut historical_rows = String::new();
    let mut historical_codes = BTreeMap::new();
    for group in ["_invalid-historical", "_odd-historical"] {
        for file in files_below(&corpus.join(group))? {
            let report = validate::validate(&file, &options);
            codes_of(&report, &mut historical_codes);
            let found = counts(&report);
            let first = report
                .manifest
                .iter()
                .flat_map(|m| m.errors.iter().chain(m.warnings.iter()))
                .next()
                .map(|f| {
                    let mut text = format!("`{}`: {}", f.path, f.message);
                    if let Some(code) = f.code {
                        let _ = write!(text, " [{code}]");
                    }
                    let text = text.replace(&format!("{}/", corpus.display()), "");
                    let short: String = text.chars().take(110).collect();
                    let short = short.replace('|', "\\|");
                    if text.chars().count() > 110 {
                        format!("{short}…")
                    } else {
                        short
                    }
                })
                .unwrap_or_else(|| "—".to_owned());
            let _ = writeln!(
                historical_rows,
                "| `{}` | {} | {} | {} | {first} |",
                relative(&file, corpus),
                found.errors,
                found.warnings,
                found.exit
            );
        }
    }

    let mut all_codes: Vec<&'static str> = marketplace_codes
        .keys()
        .chain(plugin_codes.keys())
        .chain(historical_codes.keys())
        .copied()
        .collect();
    all_codes.sort_unstable();
    all_codes.dedup();
    let mut code_rows = String::new();
    for code in all_codes {
        let _ = writeln!(
            code_rows,
            "| `{code}` | {} | {} | {} |",
            marketplace_codes.get(code).copied().unwrap_or(0),
            plugin_codes.get(code).copied().unwrap_or(0),
            historical_codes.get(code).copied().unwrap_or(0)
        );
    }

    let mut out = String::new();
    let _ = writeln!(out, "# `pm validate` over the real-marketplace corpus\n");
    let _ = writeln!(
        out,
        "Generated by `cargo xtask validate-corpus` from `../shared/fixtures/real-marketplaces` \
(see its PROVENANCE.md); do not edit by hand. `cargo xtask validate-corpus --check`, run by \
`.ci/run`, fails when this file is out of date.\n"
    );
    let _ = writeln!(
        out,
        "Each marketplace is validated as a directory (its `marketplace.json`, each local plugin's \
`plugin.json` and hooks files), without and with `--strict`. Every directory of the repository \
that holds `.claude-plugin/plugin.json` is then validated on its own (manifest and component \
files; plugin directory checks are not counted). Errors and warnings count findings in all files \
of a report; exit is `pm validate`'s exit code (0 passed, 1 failed). Many corpus repositories were \
kept as JSON only (see PROVENANCE.md), so `Path not found` and `source-missing` findings for \
Markdown or directories that were not copied are expected.\n"
    );
    let _ = writeln!(out, "## Marketplaces ({marketplaces})\n");
    out.push_str("| Marketplace | Errors | Warnings | Exit | Exit `--strict` | Plugin dirs | Their errors | Their warnings | Plugin dirs failing |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&rows);
    let _ = writeln!(
        out,
        "| **Total** | {} | {} | {} failing | {} failing | {} | {} | {} | {} |\n",
        total[0], total[1], total[2], total[3], total[4], total[5], total[6], total[7]
    );
    out.push_str("## Historical files\n\n");
    out.push_str("Real files from the repositories' history: `_invalid-historical` fail strict JSON parsing (or UTF-8 decoding), `_odd-historical` parse but are odd. Each is validated as a file; the first manifest finding is shown.\n\n");
    out.push_str("| File | Errors | Warnings | Exit | First finding |\n|---|---:|---:|---:|---|\n");
    out.push_str(&historical_rows);
    out.push_str("\n## pm's findings by code\n\n");
    out.push_str(
        "Findings beyond the reference's catalogue (see docs/validate.md), without `--strict`.\n\n",
    );
    out.push_str(
        "| Code | Marketplaces | Plugin dirs | Historical files |\n|---|---:|---:|---:|\n",
    );
    out.push_str(&code_rows);
    Ok(out)
}
