//! Developer tasks: `cargo xtask <task>`.
//!
//! - `demo`: build pm and run its main job on the bundled example marketplace in a throwaway
//!   config directory.
//! - `bench`: measure pm (release) against the targets, and the reference side by side
//!   (docs/benchmarks.md).
//! - `interop`: the cross-read with the reference in one throwaway HOME (docs/interop.md).
//! - `scenarios [NAME…]`: run the shared lifecycle scenarios against pm and compare the state
//!   files with the reference transcripts (docs/interop.md).
//! - `scenarios --advanced [--record] [NAME|@GROUP…]`: the same for the advanced scenarios
//!   (update, dependencies, prune, cache copy, details, tag, validate), against reference
//!   transcripts recorded by this task into `xtask/reference-out/advanced/`.
//! - `validate-corpus [--check]`: `pm validate` over the real-marketplace corpus, written to
//!   docs/validate-corpus.md (`--check`: fail when that file is out of date).

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod advanced;
mod bench;
mod interop;
mod interop_advanced;
mod scenarios;
mod validate_corpus;

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("bench") => bench::run(&args[1..]),
        Some("interop") => interop::run(&args[1..]),
        Some("scenarios") => scenarios::run(&args[1..]),
        Some("validate-corpus") => validate_corpus::run(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask <demo|bench|interop|scenarios|validate-corpus> [--help]");
            std::process::exit(2);
        }
    }
}

/// The workspace root (xtask's parent).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Builds `pm` (release when `release`) and returns its path.
fn build_pm(release: bool) -> Result<PathBuf> {
    let root = workspace_root();
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(&root)
        .args(["build", "--quiet", "--package", "pm-cli", "--bin", "pm"]);
    if release {
        command.arg("--release");
    }
    let status = command.status().context("running cargo build")?;
    if !status.success() {
        bail!("cargo build failed");
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join("pm"))
}

/// A fresh directory under the system temp dir.
fn throwaway_dir(prefix: &str) -> Result<PathBuf> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

fn demo() -> Result<()> {
    let pm = build_pm(false)?;
    let dir = throwaway_dir("pm-demo")?;
    let config = dir.join("claude");
    let example = workspace_root().join("examples").join("marketplace");
    println!("Throwaway config dir: {}", config.display());
    let run = |args: &[&str]| -> Result<()> {
        println!("\n$ pm {}", args.join(" "));
        let status = Command::new(&pm)
            .args(args)
            .current_dir(&dir)
            .env("CLAUDE_CONFIG_DIR", &config)
            .env("PM_NO_PROGRESS", "1")
            .status()
            .context("running pm")?;
        if !status.success() {
            bail!("pm {} failed", args.join(" "));
        }
        Ok(())
    };
    let example_text = example.to_string_lossy().into_owned();
    run(&["marketplace", "add", &example_text])?;
    run(&["install", "hello@pm-example"])?;
    run(&["list"])?;
    println!(
        "\nCached copy: {}",
        config
            .join("plugins/cache/pm-example/hello/1.0.0")
            .display()
    );
    println!(
        "Settings written: {}",
        config.join("settings.json").display()
    );
    Ok(())
}
