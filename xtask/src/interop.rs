//! `cargo xtask interop`: the cross-read with the reference implementation (Claude Code's own
//! `claude plugin`, run through `../shared/tools/reference-claude`) in one throwaway HOME.
//!
//! pm writes, the reference reads (`plugin list --json`), and the reverse: installs in each scope,
//! then disable/enable in each scope, a cross-scope override, and the reference toggling what pm
//! reads (with `pm why`); then update and dependencies in both directions
//! ([`crate::interop_advanced`]). After every step each plugin must show the same `scope`, `version`,
//! `enabled` and `projectEnabled` on both sides, and every settings file must be valid JSON with
//! the expected `enabledPlugins` entries. Exit 0 when they agree, 1 on a mismatch, 2 when the
//! reference cannot be installed or run ("not checked"). See docs/interop.md.

use crate::{build_pm, throwaway_dir, workspace_root};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `../shared/tools` next to the workspace.
pub(crate) fn shared_tools_dir() -> PathBuf {
    let dir = workspace_root().join("..").join("shared").join("tools");
    dir.canonicalize().unwrap_or(dir)
}

/// The reference binary, found (and installed on first use) by `reference-claude --path`.
pub(crate) struct Reference {
    pub bin: PathBuf,
    pub version: String,
}

impl Reference {
    /// The environment `reference-claude` sets before running the binary.
    pub(crate) fn env(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("DISABLE_TELEMETRY", "1"),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1"),
            ("DISABLE_AUTOUPDATER", "1"),
        ]
    }
}

/// Finds (installing on first use) and tries the reference; `Err` says why it is unavailable.
pub(crate) fn reference_bin() -> std::result::Result<Reference, String> {
    let wrapper = shared_tools_dir().join("reference-claude");
    if !wrapper.exists() {
        return Err(format!("{} does not exist", wrapper.display()));
    }
    eprintln!(
        "reference: {} --path (installs Claude Code from the npm registry on first use)",
        wrapper.display()
    );
    let output = Command::new(&wrapper)
        .arg("--path")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", wrapper.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let npm: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("npm error") && !l.contains("complete log"))
            .take(2)
            .collect();
        let reason = if npm.is_empty() {
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
            last.unwrap_or("").to_string()
        } else {
            npm.join("; ")
        };
        return Err(format!(
            "reference-claude --path failed ({}): {reason}",
            output.status
        ));
    }
    let bin = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    // Run it once, in a throwaway HOME, to see that it works here.
    let home = throwaway_dir("pm-reference-probe").map_err(|e| e.to_string())?;
    let reference = Reference {
        bin,
        version: String::new(),
    };
    let mut command = Command::new(&reference.bin);
    command
        .arg("--version")
        .env("HOME", &home)
        .env_remove("CLAUDE_CONFIG_DIR")
        .current_dir(&home)
        .stdin(Stdio::null());
    for (name, value) in reference.env() {
        command.env(name, value);
    }
    let result = command.output();
    let _ = std::fs::remove_dir_all(&home);
    let output = result.map_err(|e| format!("running {}: {e}", reference.bin.display()))?;
    if !output.status.success() {
        return Err(format!(
            "{} --version failed ({}): {}",
            reference.bin.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let version = String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("?")
        .to_string();
    Ok(Reference {
        version,
        ..reference
    })
}

/// One throwaway HOME shared by pm and the reference.
pub(crate) struct World {
    pub(crate) home: PathBuf,
    pub(crate) project: PathBuf,
    gh: PathBuf,
    pm: PathBuf,
    pub(crate) reference: Reference,
}

impl World {
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(program);
        command
            .current_dir(&self.project)
            .env("HOME", &self.home)
            .env("PM_NO_PROGRESS", "1")
            .env_remove("CLAUDE_CONFIG_DIR")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("GIT_CONFIG_GLOBAL")
            .stdin(Stdio::null());
        for (name, value) in self.reference.env() {
            command.env(name, value);
        }
        command
    }

    fn show(label: &str, args: &[&str], output: &Output) {
        eprintln!(
            "$ {label} {}  [rc={}]",
            args.join(" "),
            output.status.code().unwrap_or(-1)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let lines: Vec<&str> = stdout.lines().collect();
        for line in lines.iter().take(8) {
            eprintln!("    {line}");
        }
        if lines.len() > 8 {
            eprintln!("    … ({} more lines)", lines.len() - 8);
        }
        for line in String::from_utf8_lossy(&output.stderr).lines() {
            eprintln!("    (stderr) {line}");
        }
    }

    pub(crate) fn pm(&self, args: &[&str]) -> Result<Output> {
        let output = self
            .command(&self.pm)
            .args(args)
            .output()
            .context("running pm")?;
        Self::show("pm", args, &output);
        Ok(output)
    }

    pub(crate) fn reference(&self, args: &[&str]) -> Result<Output> {
        let output = self
            .command(&self.reference.bin)
            .arg("plugin")
            .args(args)
            .output()
            .context("running the reference")?;
        Self::show("reference plugin", args, &output);
        Ok(output)
    }

    pub(crate) fn git(&self, dir: &Path, args: &[&str]) -> Result<()> {
        let output = Command::new("git")
            .current_dir(dir)
            .args(args)
            .env("HOME", &self.home)
            .env_remove("GIT_CONFIG_GLOBAL")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .output()
            .context("running git")?;
        if !output.status.success() {
            bail!(
                "git {} failed in {}: {}",
                args.join(" "),
                dir.display(),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        Ok(())
    }

    /// Commits `src` and mirrors it as the bare repository `gh/<slug>.git`.
    pub(crate) fn publish(&self, src: &Path, slug: &str) -> Result<()> {
        if !src.join(".git").exists() {
            self.git(src, &["init", "-q", "-b", "main"])?;
        }
        self.git(src, &["add", "-A"])?;
        self.git(src, &["commit", "-q", "--allow-empty", "-m", "publish"])?;
        let bare = self.gh.join(format!("{slug}.git"));
        if bare.exists() {
            let bare_text = bare.to_string_lossy().into_owned();
            self.git(
                src,
                &["push", "-q", "--force", &bare_text, "HEAD:refs/heads/main"],
            )?;
        } else {
            std::fs::create_dir_all(bare.parent().unwrap_or(&self.gh))?;
            let (src_text, bare_text) = (
                src.to_string_lossy().into_owned(),
                bare.to_string_lossy().into_owned(),
            );
            self.git(
                &self.home,
                &["clone", "-q", "--bare", &src_text, &bare_text],
            )?;
        }
        Ok(())
    }
}

/// A plugin directory: plugin.json (with `version` when given) and one command.
pub(crate) fn make_plugin(dir: &Path, name: &str, version: Option<&str>) -> Result<()> {
    std::fs::create_dir_all(dir.join(".claude-plugin"))?;
    std::fs::create_dir_all(dir.join("commands"))?;
    let mut manifest = serde_json::json!({"name": name, "description": format!("plugin {name}")});
    if let Some(version) = version {
        manifest["version"] = Value::from(version);
    }
    std::fs::write(
        dir.join(".claude-plugin/plugin.json"),
        manifest.to_string() + "\n",
    )?;
    std::fs::write(
        dir.join("commands/hello.md"),
        "---\ndescription: hello\n---\nSay hello\n",
    )?;
    Ok(())
}

fn write_market(dir: &Path, entries: &[Value]) -> Result<()> {
    std::fs::create_dir_all(dir.join(".claude-plugin"))?;
    let manifest =
        serde_json::json!({"name": "market", "owner": {"name": "Tester"}, "plugins": entries});
    std::fs::write(
        dir.join(".claude-plugin/marketplace.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    Ok(())
}

/// One `list --json` entry: the fields both sides must agree on, and the reference's errors.
pub(crate) struct Listed {
    pub(crate) version: Value,
    pub(crate) enabled: Value,
    /// `enabledPlugins[id] === true` in `<cwd>/.claude/settings.json` (reference-lifecycle.md §8).
    project_enabled: Value,
    errors: Vec<String>,
}

/// `(id, scope)` → its entry, from a `list --json` output (an array).
pub(crate) type Listing = BTreeMap<(String, String), Listed>;

fn parse_listing(who: &str, output: &Output) -> Result<Listing> {
    let value: Value = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{who} list --json did not print JSON"))?;
    let entries = value
        .as_array()
        .with_context(|| format!("{who} list --json: not an array"))?;
    let mut listing = Listing::new();
    for entry in entries {
        let id = entry
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let scope = entry
            .get("scope")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_string();
        let field = |key: &str| entry.get(key).cloned().unwrap_or(Value::Null);
        let (version, enabled, project_enabled) =
            (field("version"), field("enabled"), field("projectEnabled"));
        let mut errors = Vec::new();
        for key in ["errors", "errorDetails"] {
            match entry.get(key) {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) if items.is_empty() => {}
                Some(other) => errors.push(format!("{key}: {other}")),
            }
        }
        listing.insert(
            (id, scope),
            Listed {
                version,
                enabled,
                project_enabled,
                errors,
            },
        );
    }
    Ok(listing)
}

pub(crate) fn show_value(value: Option<&Value>) -> String {
    match value {
        None => "(absent)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Compares the two listings field by field; prints the table; returns the mismatch count.
fn compare(step: &str, pm: &Listing, reference: &Listing) -> usize {
    println!("\n{step}");
    let mut rows: Vec<[String; 5]> = Vec::new();
    let mut mismatches = 0;
    let keys: std::collections::BTreeSet<&(String, String)> =
        pm.keys().chain(reference.keys()).collect();
    for key in keys {
        let (id, scope) = key;
        let (p, r) = (pm.get(key), reference.get(key));
        let mut row = |field: &str, pv: String, rv: String, ok: bool| {
            if !ok {
                mismatches += 1;
            }
            rows.push([
                id.clone(),
                field.to_string(),
                pv,
                rv,
                if ok { "ok".into() } else { "MISMATCH".into() },
            ]);
        };
        let present = |x: bool| {
            if x {
                scope.clone()
            } else {
                "(not listed)".into()
            }
        };
        row(
            "scope",
            present(p.is_some()),
            present(r.is_some()),
            p.is_some() && r.is_some(),
        );
        if let (Some(p), Some(r)) = (p, r) {
            for (field, pv, rv) in [
                ("version", &p.version, &r.version),
                ("enabled", &p.enabled, &r.enabled),
                ("projectEnabled", &p.project_enabled, &r.project_enabled),
            ] {
                row(field, show_value(Some(pv)), show_value(Some(rv)), pv == rv);
            }
        }
        if let Some(r) = r {
            for error in &r.errors {
                row("reference error", String::new(), error.clone(), false);
            }
        }
    }
    if rows.is_empty() {
        println!("  (neither lists any plugin)");
        return 0;
    }
    let header = ["plugin", "field", "pm", "reference", ""].map(String::from);
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(rows.iter()) {
        let mut line = String::from("  ");
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
        }
        println!("{}", line.trim_end());
    }
    mismatches
}

/// Checks a `--json` result line: `outcome` must be `ok` and, when given, `scope` must be `scope`.
pub(crate) fn expect_ok(
    who: &str,
    args: &[&str],
    output: &Output,
    scope: Option<&str>,
    problems: &mut Vec<String>,
) {
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("outcome").is_some());
    let ok = output.status.success()
        && line
            .as_ref()
            .is_some_and(|v| v.get("outcome").and_then(Value::as_str) == Some("ok"));
    if !ok {
        problems.push(format!(
            "{who} {} did not succeed (rc={}): {}",
            args.join(" "),
            output.status.code().unwrap_or(-1),
            text.trim()
        ));
        return;
    }
    if let (Some(scope), Some(line)) = (scope, line) {
        let got = line.get("scope").and_then(Value::as_str);
        if got != Some(scope) {
            problems.push(format!(
                "{who} {}: result line says scope {}, expected {scope}",
                args.join(" "),
                got.unwrap_or("(absent)")
            ));
        }
    }
}

/// The three settings files of the world: `(scope, path)`.
fn settings_files(world: &World) -> [(&'static str, PathBuf); 3] {
    [
        ("user", world.home.join(".claude/settings.json")),
        ("project", world.project.join(".claude/settings.json")),
        ("local", world.project.join(".claude/settings.local.json")),
    ]
}

/// What a step must leave: plugins listed `(id, scope, enabled)` by both sides, and settings
/// entries `(scope, id, value)`: `enabledPlugins[id]` in that scope's file.
pub(crate) struct Expect<'a> {
    pub(crate) listed: &'a [(&'a str, &'a str, bool)],
    pub(crate) settings: &'a [(&'a str, &'a str, bool)],
}

/// One step's cross-read: both `list --json` outputs compared field by field; every settings file
/// (and pm's two state files) valid JSON; the expected listing and settings entries present on
/// both sides. Returns pm's listing and the reference's.
pub(crate) fn cross_read(
    world: &World,
    step: &str,
    title: &str,
    expect: &Expect,
    problems: &mut Vec<String>,
) -> Result<(Listing, Listing)> {
    let pm_list = parse_listing("pm", &world.pm(&["list", "--json"])?)?;
    let ref_list = parse_listing("reference", &world.reference(&["list", "--json"])?)?;
    let mismatches = compare(
        &format!("{step}. {title}: list --json"),
        &pm_list,
        &ref_list,
    );
    if mismatches > 0 {
        problems.push(format!("step {step}: {mismatches} field(s) differ"));
    }
    for &(id, scope, enabled) in expect.listed {
        let key = (id.to_string(), scope.to_string());
        for (who, listing) in [("pm", &pm_list), ("the reference", &ref_list)] {
            match listing.get(&key) {
                None => problems.push(format!(
                    "step {step}: {who}'s list --json does not show {id} at scope {scope}"
                )),
                Some(entry) if entry.enabled != Value::Bool(enabled) => problems.push(format!(
                    "step {step}: {who}'s list --json shows {id} ({scope}) enabled: {}, expected {enabled}",
                    show_value(Some(&entry.enabled))
                )),
                Some(_) => {}
            }
        }
    }

    // Every JSON file pm and the reference share must still parse.
    let mut settings = BTreeMap::new();
    let files = settings_files(world).map(|(scope, path)| {
        let shown = path
            .strip_prefix(&world.home)
            .map(|p| format!("~/{}", p.display()))
            .unwrap_or_else(|_| path.display().to_string());
        (scope, path, shown)
    });
    let width = files.iter().map(|f| f.2.chars().count()).max().unwrap_or(0);
    for (scope, path, shown) in files {
        let padded = format!("{shown:<width$}");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                println!("  settings  {scope:<7}  {padded}  (no file)");
                continue;
            }
            Err(e) => {
                problems.push(format!("step {step}: reading {shown}: {e}"));
                continue;
            }
        };
        match serde_json::from_str::<Value>(&text) {
            Ok(value) if value.is_object() => {
                let entries = value
                    .get("enabledPlugins")
                    .map_or_else(|| "(none)".into(), Value::to_string);
                println!("  settings  {scope:<7}  {padded}  valid JSON  enabledPlugins {entries}");
                settings.insert(scope, value);
            }
            Ok(_) => problems.push(format!("step {step}: {shown} is JSON but not an object")),
            Err(e) => problems.push(format!("step {step}: {shown} is not valid JSON: {e}")),
        }
    }
    let plugins = world.home.join(".claude/plugins");
    for name in ["installed_plugins.json", "known_marketplaces.json"] {
        let path = plugins.join(name);
        let valid = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
            .is_some_and(|value| value.is_object());
        if !valid {
            problems.push(format!(
                "step {step}: ~/.claude/plugins/{name} is missing or not a JSON object"
            ));
        }
    }
    for &(scope, id, value) in expect.settings {
        let got = settings
            .get(scope)
            .and_then(|s| s.get("enabledPlugins"))
            .and_then(|e| e.get(id));
        if got != Some(&Value::Bool(value)) {
            problems.push(format!(
                "step {step}: enabledPlugins[{id:?}] in the {scope} settings is {}, expected {value}",
                show_value(got)
            ));
        }
    }
    Ok((pm_list, ref_list))
}

/// `pm why <id> --json` must say `enabled` and `decidedBy: <decided_by>`.
fn expect_why(
    world: &World,
    step: &str,
    id: &str,
    enabled: bool,
    decided_by: &str,
    problems: &mut Vec<String>,
) -> Result<()> {
    let output = world.pm(&["why", id, "--json"])?;
    let report: Option<Value> = serde_json::from_slice(&output.stdout).ok();
    let field = |key: &str| report.as_ref().and_then(|r| r.get(key)).cloned();
    let (got_enabled, got_decider) = (field("enabled"), field("decidedBy"));
    let ok = output.status.success()
        && got_enabled == Some(Value::Bool(enabled))
        && got_decider.as_ref().and_then(Value::as_str) == Some(decided_by);
    println!(
        "  pm why {id}: enabled {}, decidedBy {}  {}",
        show_value(got_enabled.as_ref()),
        show_value(got_decider.as_ref()),
        if ok { "ok" } else { "MISMATCH" }
    );
    if !ok {
        problems.push(format!(
            "step {step}: pm why {id} --json (rc={}) says enabled {}, decidedBy {}; expected enabled {enabled}, decidedBy {decided_by}",
            output.status.code().unwrap_or(-1),
            show_value(got_enabled.as_ref()),
            show_value(got_decider.as_ref()),
        ));
    }
    Ok(())
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    let mut keep = false;
    for arg in args {
        match arg.as_str() {
            "--keep" => keep = true,
            "-h" | "--help" => {
                eprintln!(
                    "usage: cargo xtask interop [--keep]\n  exit 0 = agree, 1 = mismatch, 2 = reference not available (not checked)"
                );
                std::process::exit(0);
            }
            other => bail!("unknown interop option {other:?}"),
        }
    }
    let reference = match reference_bin() {
        Ok(reference) => reference,
        Err(reason) => {
            println!("interop: NOT CHECKED: the reference is unavailable: {reason}");
            std::process::exit(2);
        }
    };
    eprintln!("interop: building pm (release)…");
    let pm = build_pm(true)?;
    let home = throwaway_dir("pm-interop")?;
    eprintln!("interop: throwaway HOME {}", home.display());
    let world = World {
        project: home.join("project"),
        gh: home.join("gh"),
        home: home.clone(),
        pm,
        reference,
    };
    let result = scenario(&world);
    if keep {
        eprintln!("interop: kept {}", home.display());
    } else {
        let _ = std::fs::remove_dir_all(&home);
    }
    let problems = result?;
    println!();
    if problems.is_empty() {
        println!(
            "interop: PASS: pm and Claude Code {} read each other's state identically",
            world.reference.version
        );
        Ok(())
    } else {
        println!("interop: FAIL ({} problem(s))", problems.len());
        for problem in &problems {
            println!("  - {problem}");
        }
        std::process::exit(1);
    }
}

/// The scripted cross-read; returns the problems found.
fn scenario(world: &World) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    std::fs::create_dir_all(&world.project)?;
    std::fs::create_dir_all(&world.gh)?;
    // The fake GitHub: both prefixes rewritten to file:// URLs in $HOME/.gitconfig.
    let base = format!("url.file://{}/.insteadOf", world.gh.display());
    world.git(
        &world.home,
        &["config", "--global", &base, "https://github.com/"],
    )?;
    world.git(
        &world.home,
        &["config", "--global", "--add", &base, "git@github.com:"],
    )?;
    world.git(
        &world.home,
        &["config", "--global", "init.defaultBranch", "main"],
    )?;
    world.git(&world.home, &["config", "--global", "user.name", "t"])?;
    world.git(&world.home, &["config", "--global", "user.email", "t@t"])?;
    world.git(&world.project, &["init", "-q"])?;

    // acme/market: p1 (version in plugin.json), p2 (version in the entry only), p3 (none).
    let src = world.home.join("src").join("market");
    make_plugin(&src.join("plugins/p1"), "p1", Some("1.0.0"))?;
    make_plugin(&src.join("plugins/p2"), "p2", None)?;
    make_plugin(&src.join("plugins/p3"), "p3", None)?;
    let mut entries = vec![
        serde_json::json!({"name": "p1", "source": "./plugins/p1"}),
        serde_json::json!({"name": "p2", "source": "./plugins/p2", "version": "2.0.0"}),
        serde_json::json!({"name": "p3", "source": "./plugins/p3"}),
    ];
    write_market(&src, &entries)?;
    world.publish(&src, "acme/market")?;
    eprintln!(
        "interop: published acme/market (p1 1.0.0 in plugin.json, p2 2.0.0 in the entry, p3 unversioned)"
    );

    // 1. pm writes; the reference reads.
    println!(
        "interop: pm writes, Claude Code {} reads",
        world.reference.version
    );
    let output = world.pm(&["marketplace", "add", "acme/market", "--json"])?;
    if !output.status.success() {
        problems.push("pm marketplace add acme/market --json failed".into());
    }
    for (id, scope) in INSTALLED {
        let args = ["install", id, "--scope", scope, "--json"];
        expect_ok("pm", &args, &world.pm(&args)?, Some(scope), &mut problems);
    }
    let (pm_list, _) = cross_read(
        world,
        "1",
        "after pm installs p1 (user), p2 (project), p3 (local)",
        &Expect {
            listed: &[
                ("p1@market", "user", true),
                ("p2@market", "project", true),
                ("p3@market", "local", true),
            ],
            settings: &[
                ("user", "p1@market", true),
                ("project", "p2@market", true),
                ("local", "p3@market", true),
            ],
        },
        &mut problems,
    )?;
    if let Some(entry) = pm_list.get(&("p3@market".to_string(), "local".to_string())) {
        let ok = entry
            .version
            .as_str()
            .is_some_and(|v| v.len() == 12 && v.bytes().all(|b| b.is_ascii_hexdigit()));
        if !ok {
            problems.push(format!(
                "step 1: p3's version {} is not the commit's first 12 hex digits",
                entry.version
            ));
        }
    }

    // 2. The reference writes; pm reads.
    println!(
        "\ninterop: Claude Code {} writes, pm reads",
        world.reference.version
    );
    make_plugin(&src.join("plugins/p4"), "p4", Some("4.0.0"))?;
    entries.push(serde_json::json!({"name": "p4", "source": "./plugins/p4"}));
    write_market(&src, &entries)?;
    world.publish(&src, "acme/market")?;
    eprintln!("interop: published p4 4.0.0 to acme/market");
    let output = world.reference(&["marketplace", "update", "market"])?;
    if !output.status.success() {
        problems.push("reference plugin marketplace update market failed".into());
    }
    let args = ["install", "p4@market", "--json"];
    let output = world.reference(&args)?;
    expect_ok("reference plugin", &args, &output, None, &mut problems);
    let (pm_list, ref_list) = cross_read(
        world,
        "2",
        "after the reference installs p4 (its default scope)",
        &Expect {
            listed: &[],
            settings: &[],
        },
        &mut problems,
    )?;
    if !pm_list.keys().any(|(id, _)| id == "p4@market") {
        problems.push("step 2: pm list --json does not show p4@market".into());
    }
    if !ref_list.keys().any(|(id, _)| id == "p4@market") {
        problems.push("step 2: the reference's list --json does not show p4@market".into());
    }

    // 3. pm uninstalls what the reference installed; the reference no longer lists it.
    println!("\ninterop: pm uninstalls what Claude Code installed");
    let args = ["uninstall", "p4@market", "--json"];
    let output = world.pm(&args)?;
    expect_ok("pm", &args, &output, None, &mut problems);
    let (pm_list, ref_list) = cross_read(
        world,
        "3",
        "after pm uninstall p4@market",
        &Expect {
            listed: &[],
            settings: &[],
        },
        &mut problems,
    )?;
    if ref_list.keys().any(|(id, _)| id == "p4@market") {
        problems.push("step 3: the reference still lists p4@market".into());
    }
    if pm_list.keys().any(|(id, _)| id == "p4@market") {
        problems.push("step 3: pm still lists p4@market".into());
    }

    // 4. pm disables each plugin in its own scope (p1 by auto-detection); the reference reads.
    println!(
        "\ninterop: pm disables and enables in each scope, Claude Code {} reads",
        world.reference.version
    );
    let runs: [(&[&str], &str); 3] = [
        (&["disable", "p1@market", "--json"], "user"),
        (
            &["disable", "p2@market", "-s", "project", "--json"],
            "project",
        ),
        (&["disable", "p3@market", "-s", "local", "--json"], "local"),
    ];
    for (args, scope) in runs {
        expect_ok("pm", args, &world.pm(args)?, Some(scope), &mut problems);
    }
    cross_read(
        world,
        "4",
        "after pm disable p1 (auto: user), p2 -s project, p3 -s local",
        &Expect {
            listed: &[
                ("p1@market", "user", false),
                ("p2@market", "project", false),
                ("p3@market", "local", false),
            ],
            settings: &[
                ("user", "p1@market", false),
                ("project", "p2@market", false),
                ("local", "p3@market", false),
            ],
        },
        &mut problems,
    )?;

    // 5. pm enables each again at its scope.
    for (id, scope) in INSTALLED {
        let args = ["enable", id, "-s", scope, "--json"];
        expect_ok("pm", &args, &world.pm(&args)?, Some(scope), &mut problems);
    }
    cross_read(
        world,
        "5",
        "after pm enable p1 -s user, p2 -s project, p3 -s local",
        &Expect {
            listed: &[
                ("p1@market", "user", true),
                ("p2@market", "project", true),
                ("p3@market", "local", true),
            ],
            settings: &[
                ("user", "p1@market", true),
                ("project", "p2@market", true),
                ("local", "p3@market", true),
            ],
        },
        &mut problems,
    )?;

    // 6. A cross-scope override: p1 (installed at user) disabled in the project settings, then
    //    enabled again without -s (auto-detection picks project, where the entry now is).
    let args = ["disable", "p1@market", "-s", "project", "--json"];
    expect_ok(
        "pm",
        &args,
        &world.pm(&args)?,
        Some("project"),
        &mut problems,
    );
    cross_read(
        world,
        "6a",
        "after pm disable p1@market -s project (p1 installed at user)",
        &Expect {
            listed: &[("p1@market", "user", false)],
            settings: &[("user", "p1@market", true), ("project", "p1@market", false)],
        },
        &mut problems,
    )?;
    expect_why(world, "6a", "p1@market", false, "project", &mut problems)?;
    let args = ["enable", "p1@market", "--json"];
    expect_ok(
        "pm",
        &args,
        &world.pm(&args)?,
        Some("project"),
        &mut problems,
    );
    cross_read(
        world,
        "6b",
        "after pm enable p1@market (auto-detected: project)",
        &Expect {
            listed: &[("p1@market", "user", true)],
            settings: &[("user", "p1@market", true), ("project", "p1@market", true)],
        },
        &mut problems,
    )?;
    expect_why(world, "6b", "p1@market", true, "project", &mut problems)?;

    // 7. The reverse: the reference disables and enables p2 in the project settings; pm reads.
    println!(
        "\ninterop: Claude Code {} disables and enables, pm reads",
        world.reference.version
    );
    let args = ["disable", "p2@market", "--scope", "project", "--json"];
    let output = world.reference(&args)?;
    expect_ok(
        "reference plugin",
        &args,
        &output,
        Some("project"),
        &mut problems,
    );
    cross_read(
        world,
        "7a",
        "after reference plugin disable p2@market --scope project",
        &Expect {
            listed: &[("p2@market", "project", false)],
            settings: &[("project", "p2@market", false)],
        },
        &mut problems,
    )?;
    expect_why(world, "7a", "p2@market", false, "project", &mut problems)?;
    let args = ["enable", "p2@market", "--scope", "project", "--json"];
    let output = world.reference(&args)?;
    expect_ok(
        "reference plugin",
        &args,
        &output,
        Some("project"),
        &mut problems,
    );
    cross_read(
        world,
        "7b",
        "after reference plugin enable p2@market --scope project",
        &Expect {
            listed: &[("p2@market", "project", true)],
            settings: &[("project", "p2@market", true)],
        },
        &mut problems,
    )?;
    expect_why(world, "7b", "p2@market", true, "project", &mut problems)?;
    crate::interop_advanced::update_and_dependencies(world, &mut problems)?;
    Ok(problems)
}

/// The plugins pm installs in step 1, each in its own scope.
const INSTALLED: [(&str, &str); 3] = [
    ("p1@market", "user"),
    ("p2@market", "project"),
    ("p3@market", "local"),
];
