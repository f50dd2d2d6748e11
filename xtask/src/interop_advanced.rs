//! `cargo xtask interop`, steps 8 and 9: the cross-read of update and dependencies, in the same
//! throwaway HOME as steps 1–7 (docs/interop.md).
//!
//! 8. **Update.** pm installs `u1@upd` 1.0.0 and the reference installs `u2@upd` 1.0.0 from a
//!    GitHub marketplace; both move to 2.0.0. The reference updates pm's install (8a) and pm the
//!    reference's (8b); each side then finds the other's update up to date, the record keeps its
//!    `installedAt`, points at `cache/upd/<plugin>/2.0.0`, and the old copy has `.orphaned_at`.
//! 9. **Dependencies.** pm installs `top@deps` (→ `b`, `c`, `d` with `auto: true`); the
//!    reference lists them without load errors, finds all three still needed, uninstalls `top`
//!    (reporting the three as no longer needed) and prunes them (9a, 9b). The reverse: the
//!    reference installs `top2@deps` (→ `e`, `auto: true`); pm lists both, finds `e` still
//!    needed, uninstalls `top2` (reporting `e` as unneeded) and prunes it (9c, 9d).

use crate::interop::{Expect, Listing, World, cross_read, expect_ok, make_plugin, show_value};
use anyhow::Result;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Output;

/// The `--json` result line of an output (the first line with an `outcome`).
fn result_line(output: &Output) -> Option<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("outcome").is_some())
}

/// Every `--json` line of an output that parses as an object.
fn json_lines(output: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(Value::is_object)
        .collect()
}

/// A marketplace.json named `name` with `entries`.
fn write_named_market(dir: &Path, name: &str, entries: &[Value]) -> Result<()> {
    std::fs::create_dir_all(dir.join(".claude-plugin"))?;
    let manifest = json!({"name": name, "owner": {"name": "Tester"}, "plugins": entries});
    std::fs::write(
        dir.join(".claude-plugin/marketplace.json"),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )?;
    Ok(())
}

/// A plugin whose plugin.json declares `dependencies`.
fn make_dependent(dir: &Path, name: &str, version: &str, dependencies: Value) -> Result<()> {
    make_plugin(dir, name, Some(version))?;
    let manifest = json!({
        "name": name,
        "version": version,
        "description": format!("plugin {name}"),
        "dependencies": dependencies,
    });
    std::fs::write(
        dir.join(".claude-plugin/plugin.json"),
        manifest.to_string() + "\n",
    )?;
    Ok(())
}

/// The records of `id` in `~/.claude/plugins/installed_plugins.json`.
fn records(world: &World, id: &str) -> Vec<Value> {
    let path = world.home.join(".claude/plugins/installed_plugins.json");
    std::fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        .and_then(|v| v.get("plugins")?.get(id)?.as_array().cloned())
        .unwrap_or_default()
}

/// The user-scope record of `id`, if any.
fn user_record(world: &World, id: &str) -> Option<Value> {
    records(world, id)
        .into_iter()
        .find(|r| r.get("scope").and_then(Value::as_str) == Some("user"))
}

/// An update result line: `outcome: ok` and the expected `updateOutcome`, `oldVersion`,
/// `newVersion`.
fn expect_update(
    who: &str,
    args: &[&str],
    output: &Output,
    expected: (&str, &str, &str),
    problems: &mut Vec<String>,
) {
    expect_ok(who, args, output, Some("user"), problems);
    let line = result_line(output);
    let field = |key: &str| line.as_ref().and_then(|l| l.get(key)).cloned();
    let (outcome, old, new) = expected;
    for (key, want) in [
        ("updateOutcome", outcome),
        ("oldVersion", old),
        ("newVersion", new),
    ] {
        let got = field(key);
        let ok = got.as_ref().and_then(Value::as_str) == Some(want);
        println!(
            "  {who} {}: {key} {}  {}",
            args.join(" "),
            show_value(got.as_ref()),
            if ok { "ok" } else { "MISMATCH" }
        );
        if !ok {
            problems.push(format!(
                "{who} {}: {key} is {}, expected {want}",
                args.join(" "),
                show_value(got.as_ref())
            ));
        }
    }
}

/// After an update to 2.0.0: the record points at `cache/upd/<name>/2.0.0`, keeps `installedAt`,
/// and the 1.0.0 copy is marked `.orphaned_at`.
fn expect_updated_record(
    world: &World,
    step: &str,
    name: &str,
    installed_at: Option<&Value>,
    problems: &mut Vec<String>,
) {
    let id = format!("{name}@upd");
    let cache = world.home.join(".claude/plugins/cache/upd").join(name);
    let Some(record) = user_record(world, &id) else {
        problems.push(format!(
            "step {step}: no user record of {id} after the update"
        ));
        return;
    };
    let version = record.get("version").and_then(Value::as_str);
    let install_path = record.get("installPath").and_then(Value::as_str);
    let expected_path = cache.join("2.0.0");
    let checks = [
        ("version 2.0.0", version == Some("2.0.0")),
        (
            "installPath …/cache/upd/<plugin>/2.0.0",
            install_path.map(Path::new) == Some(expected_path.as_path()),
        ),
        (
            "installedAt kept",
            installed_at.is_some() && record.get("installedAt") == installed_at,
        ),
        (
            "the 2.0.0 copy has its plugin.json",
            expected_path.join(".claude-plugin/plugin.json").is_file(),
        ),
        (
            "the 1.0.0 copy is marked .orphaned_at",
            cache.join("1.0.0/.orphaned_at").is_file(),
        ),
    ];
    for (what, ok) in checks {
        println!(
            "  record {id}: {what}  {}",
            if ok { "ok" } else { "MISMATCH" }
        );
        if !ok {
            problems.push(format!(
                "step {step}: {id}: expected {what}; record {record}"
            ));
        }
    }
}

/// Both listings show `(id, user)` at `version`.
fn expect_versions(
    step: &str,
    pm_list: &Listing,
    ref_list: &Listing,
    expected: &[(&str, &str)],
    problems: &mut Vec<String>,
) {
    for &(id, version) in expected {
        let key = (id.to_string(), "user".to_string());
        for (who, listing) in [("pm", pm_list), ("the reference", ref_list)] {
            let got = listing.get(&key).map(|l| &l.version);
            if got.and_then(Value::as_str) != Some(version) {
                problems.push(format!(
                    "step {step}: {who}'s list --json shows {id} (user) at version {}, expected {version}",
                    show_value(got)
                ));
            }
        }
    }
}

/// Neither listing shows any of `ids`, no record of them is left, and the user settings no
/// longer name them.
fn expect_gone(
    world: &World,
    step: &str,
    pm_list: &Listing,
    ref_list: &Listing,
    ids: &[&str],
    problems: &mut Vec<String>,
) {
    let settings: Option<Value> = std::fs::read(world.home.join(".claude/settings.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    for id in ids {
        for (who, listing) in [("pm", pm_list), ("the reference", ref_list)] {
            if listing.keys().any(|(listed, _)| listed == id) {
                problems.push(format!("step {step}: {who} still lists {id}"));
            }
        }
        if !records(world, id).is_empty() {
            problems.push(format!(
                "step {step}: installed_plugins.json still has a record of {id}"
            ));
        }
        let entry = settings
            .as_ref()
            .and_then(|s| s.get("enabledPlugins"))
            .and_then(|e| e.get(*id));
        if let Some(entry) = entry {
            problems.push(format!(
                "step {step}: the user settings still have enabledPlugins[{id:?}] = {entry}"
            ));
        }
    }
}

/// Each of `ids` has a user record with `auto: true` (or, for `None`, without `auto`).
fn expect_auto(world: &World, step: &str, ids: &[(&str, bool)], problems: &mut Vec<String>) {
    for &(id, auto) in ids {
        let record = user_record(world, id);
        let got = record.as_ref().and_then(|r| r.get("auto")).cloned();
        let ok = record.is_some() && (got == Some(Value::Bool(true))) == auto;
        println!(
            "  record {id}: auto {}  {}",
            show_value(got.as_ref()),
            if ok { "ok" } else { "MISMATCH" }
        );
        if !ok {
            problems.push(format!(
                "step {step}: {id}: expected a user record {}, found {}",
                if auto {
                    "with auto: true"
                } else {
                    "without auto"
                },
                record.map_or_else(|| "none".into(), |r| r.to_string())
            ));
        }
    }
}

/// A human line of the reference (`prune` has no `--json`): its stdout must contain `text`.
fn expect_says(who: &str, args: &[&str], output: &Output, text: &str, problems: &mut Vec<String>) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let ok = output.status.success() && stdout.contains(text);
    println!(
        "  {who} {}: says {text:?}  {}",
        args.join(" "),
        if ok { "ok" } else { "MISMATCH" }
    );
    if !ok {
        problems.push(format!(
            "{who} {} (rc={}) did not say {text:?}: {}",
            args.join(" "),
            output.status.code().unwrap_or(-1),
            stdout.trim()
        ));
    }
}

/// Steps 8 and 9; problems are added to `problems`.
pub(crate) fn update_and_dependencies(world: &World, problems: &mut Vec<String>) -> Result<()> {
    let version = world.reference.version.clone();
    // ---- 8. update
    println!("\ninterop: update, pm's install by Claude Code {version} and the reverse");
    let src = world.home.join("src").join("upd");
    let entries = [
        json!({"name": "u1", "source": "./plugins/u1"}),
        json!({"name": "u2", "source": "./plugins/u2"}),
    ];
    make_plugin(&src.join("plugins/u1"), "u1", Some("1.0.0"))?;
    make_plugin(&src.join("plugins/u2"), "u2", Some("1.0.0"))?;
    write_named_market(&src, "upd", &entries)?;
    world.publish(&src, "acme/upd")?;
    let args = ["marketplace", "add", "acme/upd", "--json"];
    expect_ok("pm", &args, &world.pm(&args)?, None, problems);
    let args = ["install", "u1@upd", "--json"];
    expect_ok("pm", &args, &world.pm(&args)?, Some("user"), problems);
    let args = ["install", "u2@upd", "--json"];
    expect_ok(
        "reference plugin",
        &args,
        &world.reference(&args)?,
        Some("user"),
        problems,
    );
    let installed_at =
        |id: &str| user_record(world, id).and_then(|r| r.get("installedAt").cloned());
    let (u1_installed, u2_installed) = (installed_at("u1@upd"), installed_at("u2@upd"));
    make_plugin(&src.join("plugins/u1"), "u1", Some("2.0.0"))?;
    make_plugin(&src.join("plugins/u2"), "u2", Some("2.0.0"))?;
    world.publish(&src, "acme/upd")?;
    eprintln!("interop: published u1 and u2 2.0.0 to acme/upd");

    // 8a. The reference updates what pm installed; pm reads the result.
    let args = ["marketplace", "update", "upd"];
    let output = world.reference(&args)?;
    if !output.status.success() {
        problems.push("reference plugin marketplace update upd failed".into());
    }
    let args = ["update", "u1@upd", "--json"];
    let output = world.reference(&args)?;
    println!("\n8a. reference plugin update u1@upd (pm installed 1.0.0)");
    expect_update(
        "reference plugin",
        &args,
        &output,
        ("updated", "1.0.0", "2.0.0"),
        problems,
    );
    expect_updated_record(world, "8a", "u1", u1_installed.as_ref(), problems);
    let args = ["update", "u1@upd", "--json"];
    let output = world.pm(&args)?;
    expect_update(
        "pm",
        &args,
        &output,
        ("up_to_date", "2.0.0", "2.0.0"),
        problems,
    );
    let (pm_list, ref_list) = cross_read(
        world,
        "8a",
        "after reference plugin update u1@upd (pm's install)",
        &Expect {
            listed: &[("u1@upd", "user", true), ("u2@upd", "user", true)],
            settings: &[("user", "u1@upd", true), ("user", "u2@upd", true)],
        },
        problems,
    )?;
    expect_versions(
        "8a",
        &pm_list,
        &ref_list,
        &[("u1@upd", "2.0.0"), ("u2@upd", "1.0.0")],
        problems,
    );

    // 8b. pm updates what the reference installed; the reference reads the result.
    println!("\n8b. pm update u2@upd (the reference installed 1.0.0)");
    let args = ["update", "u2@upd", "--json"];
    let output = world.pm(&args)?;
    expect_update(
        "pm",
        &args,
        &output,
        ("updated", "1.0.0", "2.0.0"),
        problems,
    );
    expect_updated_record(world, "8b", "u2", u2_installed.as_ref(), problems);
    let args = ["update", "u2@upd", "--json"];
    let output = world.reference(&args)?;
    expect_update(
        "reference plugin",
        &args,
        &output,
        ("up_to_date", "2.0.0", "2.0.0"),
        problems,
    );
    let (pm_list, ref_list) = cross_read(
        world,
        "8b",
        "after pm update u2@upd (the reference's install)",
        &Expect {
            listed: &[("u1@upd", "user", true), ("u2@upd", "user", true)],
            settings: &[("user", "u1@upd", true), ("user", "u2@upd", true)],
        },
        problems,
    )?;
    expect_versions(
        "8b",
        &pm_list,
        &ref_list,
        &[("u1@upd", "2.0.0"), ("u2@upd", "2.0.0")],
        problems,
    );

    // 8c. pm refreshes the clone the reference made (8a) by fetching into it; the reference's
    // `plugin update` reads that clone without refreshing it (reference-lifecycle.md §6).
    println!("\n8c. pm marketplace update upd (the reference's clone, fetched into)");
    make_plugin(&src.join("plugins/u1"), "u1", Some("3.0.0"))?;
    world.publish(&src, "acme/upd")?;
    let clone = world.home.join(".claude/plugins/marketplaces/upd");
    let inode = |path: &Path| {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).map(|meta| meta.ino()).ok()
    };
    let before = inode(&clone);
    let args = ["marketplace", "update", "upd", "--json"];
    let output = world.pm(&args)?;
    expect_ok("pm", &args, &output, None, problems);
    if before.is_none() || inode(&clone) != before {
        problems.push("8c: pm replaced the reference's clone instead of fetching into it".into());
    }
    let updated = serde_json::from_slice::<Value>(&output.stdout)
        .ok()
        .and_then(|line| line.get("updated").and_then(Value::as_bool));
    if updated != Some(true) {
        problems.push(format!(
            "8c: pm marketplace update upd did not update: {}",
            String::from_utf8_lossy(&output.stdout).trim()
        ));
    }
    let args = ["update", "u1@upd", "--json"];
    let output = world.reference(&args)?;
    expect_update(
        "reference plugin",
        &args,
        &output,
        ("updated", "2.0.0", "3.0.0"),
        problems,
    );

    // ---- 9. dependencies: a directory marketplace `deps` inside a git repository.
    println!(
        "\ninterop: dependencies, pm's install read and pruned by Claude Code {version} and the reverse"
    );
    let deps = world.home.join("src").join("deps");
    make_dependent(
        &deps.join("plugins/top"),
        "top",
        "1.0.0",
        json!(["b", {"name": "c", "version": "^1.0.0"}]),
    )?;
    make_dependent(&deps.join("plugins/b"), "b", "1.0.0", json!(["d"]))?;
    make_plugin(&deps.join("plugins/c"), "c", Some("1.2.0"))?;
    make_plugin(&deps.join("plugins/d"), "d", Some("0.1.0"))?;
    make_dependent(&deps.join("plugins/top2"), "top2", "2.0.0", json!(["e"]))?;
    make_plugin(&deps.join("plugins/e"), "e", Some("1.0.0"))?;
    let names = ["top", "b", "c", "d", "top2", "e"];
    let entries: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "source": format!("./plugins/{n}")}))
        .collect();
    write_named_market(&deps, "deps", &entries)?;
    world.git(&deps, &["init", "-q", "-b", "main"])?;
    world.git(&deps, &["add", "-A"])?;
    world.git(&deps, &["commit", "-q", "-m", "deps"])?;
    let deps_text = deps.to_string_lossy().into_owned();
    let args = ["marketplace", "add", deps_text.as_str(), "--json"];
    expect_ok("pm", &args, &world.pm(&args)?, None, problems);

    // 9a. pm installs top (→ b, c, d); the reference reads the records and their `auto`.
    let args = ["install", "top@deps", "--json"];
    let output = world.pm(&args)?;
    expect_ok("pm", &args, &output, Some("user"), problems);
    let added = result_line(&output)
        .and_then(|l| l.get("dependencies").cloned())
        .unwrap_or(Value::Null);
    println!("\n9a. pm install top@deps: dependencies {added}");
    if added != json!(["b@deps", "c@deps", "d@deps"]) {
        problems.push(format!(
            "pm install top@deps --json: dependencies {added}, expected [\"b@deps\",\"c@deps\",\"d@deps\"]"
        ));
    }
    expect_auto(
        world,
        "9a",
        &[
            ("top@deps", false),
            ("b@deps", true),
            ("c@deps", true),
            ("d@deps", true),
        ],
        problems,
    );
    let all_four = [
        ("top@deps", "user", true),
        ("b@deps", "user", true),
        ("c@deps", "user", true),
        ("d@deps", "user", true),
    ];
    cross_read(
        world,
        "9a",
        "after pm install top@deps (+ b, c, d)",
        &Expect {
            listed: &all_four,
            settings: &[
                ("user", "top@deps", true),
                ("user", "b@deps", true),
                ("user", "c@deps", true),
                ("user", "d@deps", true),
            ],
        },
        problems,
    )?;
    let args = ["prune", "--dry-run"];
    let output = world.reference(&args)?;
    expect_says(
        "reference plugin",
        &args,
        &output,
        "3 auto-installed plugins at user scope, all still needed",
        problems,
    );

    // 9b. The reference uninstalls top and prunes what pm recorded as dependencies.
    let args = ["uninstall", "top@deps", "--json"];
    let output = world.reference(&args)?;
    expect_ok("reference plugin", &args, &output, Some("user"), problems);
    let message = result_line(&output)
        .and_then(|l| l.get("message").and_then(Value::as_str).map(String::from))
        .unwrap_or_default();
    let wanted = "no longer needed: b, c, d";
    println!(
        "  reference plugin uninstall top@deps: message names b, c, d as no longer needed  {}",
        if message.contains(wanted) {
            "ok"
        } else {
            "MISMATCH"
        }
    );
    if !message.contains(wanted) {
        problems.push(format!(
            "reference plugin uninstall top@deps --json: message {message:?} does not contain {wanted:?}"
        ));
    }
    let args = ["prune", "-y"];
    let output = world.reference(&args)?;
    expect_says(
        "reference plugin",
        &args,
        &output,
        "Removed 3 auto-installed plugins",
        problems,
    );
    let (pm_list, ref_list) = cross_read(
        world,
        "9b",
        "after reference plugin uninstall top@deps and prune -y",
        &Expect {
            listed: &[],
            settings: &[],
        },
        problems,
    )?;
    expect_gone(
        world,
        "9b",
        &pm_list,
        &ref_list,
        &["top@deps", "b@deps", "c@deps", "d@deps"],
        problems,
    );

    // 9c. The reference installs top2 (→ e); pm reads the records.
    let args = ["install", "top2@deps", "--json"];
    expect_ok(
        "reference plugin",
        &args,
        &world.reference(&args)?,
        Some("user"),
        problems,
    );
    println!("\n9c. reference plugin install top2@deps (+ e)");
    expect_auto(
        world,
        "9c",
        &[("top2@deps", false), ("e@deps", true)],
        problems,
    );
    cross_read(
        world,
        "9c",
        "after reference plugin install top2@deps (+ e)",
        &Expect {
            listed: &[("top2@deps", "user", true), ("e@deps", "user", true)],
            settings: &[("user", "top2@deps", true), ("user", "e@deps", true)],
        },
        problems,
    )?;
    let args = ["prune", "--dry-run", "--json"];
    let output = world.pm(&args)?;
    expect_ok("pm", &args, &output, Some("user"), problems);
    let summary = result_line(&output);
    let candidates = summary.as_ref().and_then(|l| l.get("candidates")).cloned();
    let removed = summary.as_ref().and_then(|l| l.get("removed")).cloned();
    let nothing = matches!(&candidates, None | Some(Value::Null)) || candidates == Some(json!([]));
    println!(
        "  pm prune --dry-run: candidates {}, removed {}  {}",
        show_value(candidates.as_ref()),
        show_value(removed.as_ref()),
        if nothing { "ok" } else { "MISMATCH" }
    );
    if !nothing || removed != Some(json!([])) {
        problems.push(format!(
            "pm prune --dry-run --json: e@deps is still needed by top2, yet candidates {} removed {}",
            show_value(candidates.as_ref()),
            show_value(removed.as_ref())
        ));
    }

    // 9d. pm uninstalls top2 (e is reported unneeded) and prunes e.
    let args = ["uninstall", "top2@deps", "--json"];
    let output = world.pm(&args)?;
    expect_ok("pm", &args, &output, Some("user"), problems);
    let unneeded = result_line(&output)
        .and_then(|l| l.get("unneededDependencies").cloned())
        .unwrap_or(Value::Null);
    println!(
        "  pm uninstall top2@deps: unneededDependencies {unneeded}  {}",
        if unneeded == json!(["e@deps"]) {
            "ok"
        } else {
            "MISMATCH"
        }
    );
    if unneeded != json!(["e@deps"]) {
        problems.push(format!(
            "pm uninstall top2@deps --json: unneededDependencies {unneeded}, expected [\"e@deps\"]"
        ));
    }
    let args = ["prune", "-y", "--json"];
    let output = world.pm(&args)?;
    let lines = json_lines(&output);
    let pruned: Vec<&str> = lines
        .iter()
        .filter(|l| l.get("removed") == Some(&Value::Bool(true)))
        .filter_map(|l| l.get("pluginId").and_then(Value::as_str))
        .collect();
    let ok = output.status.success() && pruned == ["e@deps"];
    println!(
        "  pm prune -y: removed {pruned:?}  {}",
        if ok { "ok" } else { "MISMATCH" }
    );
    if !ok {
        problems.push(format!(
            "pm prune -y --json (rc={}) removed {pruned:?}, expected [\"e@deps\"]",
            output.status.code().unwrap_or(-1)
        ));
    }
    let (pm_list, ref_list) = cross_read(
        world,
        "9d",
        "after pm uninstall top2@deps and prune -y",
        &Expect {
            listed: &[],
            settings: &[],
        },
        problems,
    )?;
    expect_gone(
        world,
        "9d",
        &pm_list,
        &ref_list,
        &["top2@deps", "e@deps"],
        problems,
    );
    Ok(())
}
