//! `pm prune|autoremove` and `pm uninstall --prune` (reference-advanced.md §2.5, §2.6;
//! DEVIATIONS 16): orphans are auto-installed plugins nothing needs (dependencies of disabled
//! plugins are still needed), `--dry-run`, no terminal without `-y` (list, hint, exit 0, nothing
//! removed), `-y`, `--json` lines, scopes, what uninstall says about dependencies, and plugins
//! whose requirements cannot be read.

use crate::support::{
    Run, TestContext, assert_same_tree, json_line, read_json, write_json, write_marketplace,
    write_plugin,
};
use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// `m` (a directory marketplace): top → [b, c], top2 → [c], b → [d]; c, d without
/// dependencies (reference scenario 15). Added at user scope.
fn marketplace() -> (TestContext, PathBuf) {
    let ctx = TestContext::new();
    let m = ctx.root.join("mkt");
    let plugins = [
        ("top", json!(["b", "c"])),
        ("top2", json!(["c"])),
        ("b", json!(["d"])),
        ("c", Value::Null),
        ("d", Value::Null),
    ];
    let mut entries = Vec::new();
    for (name, deps) in &plugins {
        let dir = m.join("plugins").join(name);
        write_plugin(&dir, name, Some("1.0.0"));
        if !deps.is_null() {
            let path = dir.join(".claude-plugin/plugin.json");
            let mut manifest = read_json(&path);
            manifest["dependencies"] = deps.clone();
            write_json(&path, &manifest);
        }
        entries.push(json!({"name": name, "source": format!("./plugins/{name}")}));
    }
    write_marketplace(&m, "m", Value::from(entries));
    ctx.ok(&["marketplace", "add", &s(&m)]);
    (ctx, m)
}

fn ids(ctx: &TestContext) -> Vec<String> {
    let path = ctx.plugins().join("installed_plugins.json");
    if !path.exists() {
        return Vec::new();
    }
    let mut ids: Vec<String> = read_json(&path)["plugins"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    ids.sort();
    ids
}

fn enabled(ctx: &TestContext) -> Value {
    ctx.settings(&ctx.user_settings())["enabledPlugins"].clone()
}

#[test]
fn prune_removes_orphans_and_keeps_what_is_needed() {
    let (ctx, _) = marketplace();
    ctx.ok(&["install", "top@m"]);
    ctx.ok(&["install", "top2@m"]);

    let out = ctx.ok(&["prune"]);
    out.stderr_has(&[
        "Nothing to prune (3 auto-installed plugins at user scope, all still needed).",
    ]);
    let out = ctx.ok(&["autoremove", "--dry-run"]);
    out.stderr_has(&["all still needed"]);

    // Uninstalling top leaves b and d unneeded; c is still needed by top2.
    let out = ctx.ok(&["uninstall", "top@m", "--json"]);
    let line = out.json();
    assert_eq!(line["unneededDependencies"], json!(["b@m", "d@m"]), "{out}");
    out.stderr_has(&[
        "2 auto-installed dependencies no longer needed: b, d. Run `pm prune` to remove.",
    ]);

    // --dry-run lists and removes nothing.
    let before = ctx.snapshot();
    let out = ctx.ok(&["prune", "--dry-run"]);
    out.stderr_has(&[
        "2 auto-installed plugins no longer needed at user scope:",
        "  b@m (1.0.0)",
        "  d@m (1.0.0)",
        "(dry run — nothing removed)",
    ]);
    assert_same_tree(&before, &ctx.snapshot());

    // Not a terminal and no -y: the list and a hint, exit 0, nothing removed.
    let out = ctx.ok(&["prune"]);
    out.stderr_has(&["b@m (1.0.0)", "Not a TTY — run `pm prune -y` to remove."]);
    assert_same_tree(&before, &ctx.snapshot());
    let out = ctx.ok(&["prune", "--json"]);
    let line = out.json();
    assert_eq!(line["confirmationRequired"], true, "{out}");
    assert_eq!(line["candidates"], json!(["b@m", "d@m"]), "{out}");
    assert_eq!(line["removed"], json!([]), "{out}");
    assert_same_tree(&before, &ctx.snapshot());

    // -y removes them as uninstall does.
    let out = ctx.ok(&["prune", "-y"]);
    out.stderr_has(&["Removed 2 auto-installed plugins: b, d"]);
    assert_eq!(ids(&ctx), vec!["c@m", "top2@m"]);
    assert_eq!(enabled(&ctx), json!({"top2@m": true, "c@m": true}));
    for name in ["b", "d", "top"] {
        let dir = ctx.cache().join("m").join(name).join("1.0.0");
        assert!(dir.join(".orphaned_at").is_file(), "{name}");
    }
    assert!(!ctx.cache().join("m/c/1.0.0/.orphaned_at").exists());
    let out = ctx.ok(&["prune"]);
    out.stderr_has(&[
        "Nothing to prune (1 auto-installed plugin at user scope, all still needed).",
    ]);
}

#[test]
fn prune_json_prints_a_line_per_removed_plugin_then_a_summary() {
    let (ctx, _) = marketplace();
    ctx.ok(&["install", "top@m"]);
    ctx.ok(&["uninstall", "top@m"]);
    let out = ctx.ok(&["prune", "-y", "--json"]);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 4, "{out}");
    for (line, id) in lines.iter().zip(["b@m", "c@m", "d@m"]) {
        assert_eq!(line["command"], "prune", "{out}");
        assert_eq!(line["pluginId"], id, "{out}");
        assert_eq!(line["removed"], true, "{out}");
        assert_eq!(line["version"], "1.0.0", "{out}");
        assert_eq!(line["scope"], "user", "{out}");
    }
    let summary = &lines[3];
    assert_eq!(summary["outcome"], "ok");
    assert_eq!(summary["removed"], json!(["b@m", "c@m", "d@m"]));
    assert_eq!(
        summary["message"],
        "Removed 3 auto-installed plugins: b, c, d"
    );
    assert!(ids(&ctx).is_empty(), "{:?}", ids(&ctx));

    let out = ctx.ok(&["prune", "--json"]);
    let line = json_line(&out.stdout);
    assert_eq!(line["removed"], json!([]));
    assert_eq!(
        line["message"],
        "Nothing to prune (no auto-installed plugins at user scope)."
    );
}

#[test]
fn dependencies_of_disabled_plugins_are_kept() {
    let (ctx, _) = marketplace();
    ctx.ok(&["install", "top@m"]);
    ctx.ok(&["disable", "top@m"]);
    let before = ctx.snapshot();
    let out = ctx.ok(&["prune", "-y"]);
    out.stderr_has(&[
        "Nothing to prune (3 auto-installed plugins at user scope, all still needed).",
    ]);
    assert_same_tree(&before, &ctx.snapshot());
}

#[test]
fn an_explicitly_installed_dependency_keeps_its_own_dependencies() {
    let (ctx, _) = marketplace();
    // b explicitly installed keeps d (its dependency) even when top goes.
    ctx.ok(&["install", "top@m"]);
    ctx.ok(&["install", "b@m"]);
    ctx.ok(&["uninstall", "top@m"]);
    let out = ctx.ok(&["prune", "-y"]);
    out.stderr_has(&["Removed 1 auto-installed plugin: c"]);
    assert_eq!(ids(&ctx), vec!["b@m", "d@m"]);
}

#[test]
fn prune_scopes() {
    let (ctx, _) = marketplace();
    ctx.ok(&["install", "top@m", "--scope", "project"]);
    ctx.ok(&["install", "top@m"]);
    ctx.ok(&["uninstall", "top@m", "--scope", "project"])
        .stderr_has(&["Run `pm prune --scope project` to remove."]);

    // User scope: everything still needed by the user install.
    ctx.ok(&["prune", "-y"]).stderr_has(&["all still needed"]);
    // Project scope of another directory: nothing there.
    ctx.ok_in(&ctx.sub, &["prune", "--scope", "project", "-y"])
        .stderr_has(&["Nothing to prune (no auto-installed plugins at project scope)."]);
    // This directory's project records.
    let out = ctx.ok(&["prune", "--scope", "project"]);
    out.stderr_has(&["Not a TTY — run `pm prune --scope project -y` to remove."]);
    ctx.ok(&["prune", "--scope", "project", "-y"])
        .stderr_has(&["Removed 3 auto-installed plugins: b, c, d"]);
    let installed = ctx.installed();
    for id in ["b@m", "c@m", "d@m"] {
        let records = installed["plugins"][id].as_array().expect("records");
        assert_eq!(records.len(), 1, "{id}");
        assert_eq!(records[0]["scope"], "user", "{id}");
    }
    let project = ctx.settings(&ctx.project_settings());
    assert_eq!(project["enabledPlugins"], json!({}), "{project}");

    // Managed and unknown scopes are refused.
    let out = ctx.fails(&["prune", "--scope", "managed"], 1);
    out.stderr_has(&["read-only"]);
    let out = ctx.fails(&["prune", "--scope", "bogus", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "invalid_scope", "{out}");
}

#[test]
fn uninstall_warns_about_plugins_that_still_require_it() {
    let (ctx, _) = marketplace();
    ctx.ok(&["install", "top@m"]);
    ctx.ok(&["install", "top2@m"]);
    let out = ctx.ok(&["uninstall", "c@m", "--json"]);
    let line = out.json();
    assert_eq!(line["requiredBy"], json!(["top@m", "top2@m"]), "{out}");
    assert_eq!(
        line["message"],
        "Uninstalled `c@m` (scope: user) — warning: required by top, top2"
    );
    assert_eq!(line["keptData"], false, "{out}");
}

#[test]
fn uninstall_prune() {
    let (ctx, _) = marketplace();
    ctx.ok(&["install", "top@m"]);
    // Without -y and without a terminal: uninstalled, orphans listed, nothing else removed.
    let out = ctx.ok(&["uninstall", "top@m", "--prune"]);
    out.stderr_has(&[
        "Uninstalled `top@m` (scope: user)",
        "3 auto-installed plugins no longer needed at user scope:",
        "Not a TTY — run `pm prune -y` to remove.",
    ]);
    assert_eq!(ids(&ctx), vec!["b@m", "c@m", "d@m"]);

    // Installed again: b, c, d are reused; then uninstall --prune -y removes all four.
    let out = ctx.ok(&["install", "top@m", "--json"]);
    assert!(out.json().get("dependencies").is_none(), "{out}");
    let out = ctx.ok(&["uninstall", "top@m", "--prune", "-y", "--json"]);
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert_eq!(lines[0]["command"], "uninstall", "{out}");
    assert_eq!(lines[0]["pluginId"], "top@m", "{out}");
    assert_eq!(lines[4]["command"], "prune", "{out}");
    assert_eq!(lines[4]["removed"], json!(["b@m", "c@m", "d@m"]), "{out}");
    assert!(ids(&ctx).is_empty());
    assert_eq!(enabled(&ctx), json!({}));
}

#[test]
fn prune_does_not_decide_when_a_needed_plugin_cannot_be_read() {
    let (ctx, _) = marketplace();
    ctx.ok(&["install", "top@m"]);
    ctx.ok(&["install", "top2@m"]);
    ctx.ok(&["uninstall", "top2@m"]);
    // top's cache copy is gone: whether it needs c cannot be told.
    fs_err::remove_dir_all(ctx.cache().join("m/top/1.0.0")).expect("remove top's copy");
    let before = ctx.snapshot();
    let out = ctx.ok(&["prune", "-y"]);
    out.stderr_has(&[
        "Skipped — cannot determine orphans: top@m failed to load. Fix or uninstall, then retry.",
        "its cache directory",
    ]);
    assert_same_tree(&before, &ctx.snapshot());
}

/// Runs `pm <args>` on a pseudo-terminal (`script(1)`), typing `input`; `None` when `script` is
/// not available.
fn run_on_terminal(ctx: &TestContext, args: &str, input: &str) -> Option<Run> {
    // util-linux `script`: `-e` (exit code) and `-c` (command) differ on BSD.
    if !cfg!(target_os = "linux") {
        return None;
    }
    let base = ctx.pm(&[]);
    let mut command = Command::new("script");
    command.env_clear();
    for (key, value) in base.get_envs() {
        if let Some(value) = value {
            command.env(key, value);
        }
    }
    let line = format!("'{}' {args}", env!("CARGO_BIN_EXE_pm"));
    command
        .args(["-qec", &line, "/dev/null"])
        .current_dir(&ctx.project)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().ok()?;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("type");
    let output = child.wait_with_output().expect("wait for script");
    Some(Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).replace('\r', ""),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        args: vec![args.to_owned()],
    })
}

#[test]
fn prune_asks_on_a_terminal() {
    let (ctx, _) = marketplace();
    ctx.ok(&["install", "top@m"]);
    ctx.ok(&["uninstall", "top@m"]);
    // Without util-linux `script` there is no terminal to test on.
    let Some(out) = run_on_terminal(&ctx, "prune", "n\n") else {
        return;
    };
    out.assert_ok();
    out.stdout_has(&["Remove? [y/N]", "Aborted."]);
    assert_eq!(ids(&ctx), vec!["b@m", "c@m", "d@m"]);
    let out = run_on_terminal(&ctx, "prune", "y\n").expect("script");
    out.assert_ok();
    out.stdout_has(&["Remove? [y/N]", "Removed 3 auto-installed plugins: b, c, d"]);
    assert!(ids(&ctx).is_empty());
}
