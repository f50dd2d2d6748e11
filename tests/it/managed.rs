//! Managed settings (reference-advanced.md §7; DEVIATIONS 8) read from
//! `PM_MANAGED_SETTINGS_DIR` (`managed-settings.json`, then `managed-settings.d/*.json` in name
//! order), mirroring the spec's scenario `advanced/60-managed.sh` (which needs `/etc` and is
//! reference-only): `pm list` rows for managed-enabled plugins, managed `false`, uninstall
//! refusals, drop-in order, `strictKnownMarketplaces` / `blockedMarketplaces`, managed
//! `extraKnownMarketplaces` added by install; and `pm why`.

use crate::support::{
    Run, TestContext, assert_same_tree, keys, read_json, sorted, write_file, write_json,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Directory marketplace `mk1` (plugins `p1` 1.0.0, `p2` 0.5.0) added at user scope.
fn with_marketplace() -> (TestContext, PathBuf) {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("m1", "mk1");
    ctx.ok(&["marketplace", "add", &s(&market)]);
    (ctx, market)
}

fn managed_main(ctx: &TestContext, value: &Value) {
    write_json(&ctx.managed.join("managed-settings.json"), value);
}

fn managed_dropin(ctx: &TestContext, name: &str, value: &Value) -> PathBuf {
    let path = ctx.managed.join("managed-settings.d").join(name);
    write_json(&path, value);
    path
}

/// The `list --json` rows of `id`.
fn rows_of(out: &Run, id: &str) -> Vec<Value> {
    out.json()
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {out}"))
        .iter()
        .filter(|row| row["id"] == id)
        .cloned()
        .collect()
}

/// Runs `args` without and with `--json`: both exit 1 with `needles` on stderr, the JSON line
/// is a `failed` line with `code`, and nothing under the test root changed. Returns the line.
#[track_caller]
fn refused(ctx: &TestContext, args: &[&str], code: &str, needles: &[&str]) -> Value {
    let before = ctx.snapshot();
    let human = ctx.run(args);
    human.assert_fails(1);
    human.stderr_has(needles);
    assert!(human.stdout.is_empty(), "{human}");
    assert_same_tree(&before, &ctx.snapshot());

    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = ctx.run(&with_json);
    out.assert_fails(1);
    out.stderr_has(needles);
    let line = out.json();
    assert_eq!(line["outcome"], "failed", "{out}");
    assert_eq!(line["failureCode"], code, "{out}");
    assert_same_tree(&before, &ctx.snapshot());
    line
}

// ---- pm list ---------------------------------------------------------------------------------

#[test]
fn list_shows_managed_plugins_installed_or_not() {
    let (ctx, market) = with_marketplace();
    managed_main(
        &ctx,
        &json!({"enabledPlugins": {"p1@mk1": true, "p2@mk1": false, "corp@corpmk": true}}),
    );

    // Nothing installed: one row per plugin managed settings force on, none for `false`.
    let before = ctx.snapshot();
    let out = ctx.ok(&["list", "--json"]);
    let rows = out.json();
    assert_eq!(rows.as_array().map(Vec::len), Some(2), "{out}");
    let p1 = &rows_of(&out, "p1@mk1")[0];
    assert_eq!(
        keys(p1),
        sorted(&[
            "id",
            "version",
            "scope",
            "enabled",
            "installed",
            "readFromFolder",
            "folderVersion",
            "projectEnabled"
        ]),
        "{out}"
    );
    assert_eq!(p1["scope"], "managed");
    assert_eq!(p1["enabled"], true);
    assert_eq!(p1["installed"], false);
    assert_eq!(p1["version"], "1.0.0", "the version mk1 offers");
    assert_eq!(p1["readFromFolder"], s(&market.join("plugins/p1")));
    assert_eq!(p1["projectEnabled"], false);
    // A marketplace pm does not know: no version, no folder.
    let corp = &rows_of(&out, "corp@corpmk")[0];
    assert_eq!(
        keys(corp),
        sorted(&["id", "scope", "enabled", "installed", "projectEnabled"]),
        "{out}"
    );
    assert_eq!(corp["installed"], false);
    let human = ctx.ok(&["list"]);
    human.stdout_has(&["p1@mk1", "managed", "not installed yet"]);
    assert!(!human.stdout.contains("p2@mk1"), "{human}");
    assert_same_tree(&before, &ctx.snapshot());

    // A user install of the managed-disabled p2 is allowed, warned about, and stays disabled.
    let out = ctx.ok(&["install", "p2@mk1"]);
    out.stderr_has(&["managed settings disable `p2@mk1`"]);
    assert_eq!(
        read_json(&ctx.user_settings())["enabledPlugins"]["p2@mk1"],
        true
    );
    let out = ctx.ok(&["list", "--json"]);
    let p2 = rows_of(&out, "p2@mk1");
    assert_eq!(p2.len(), 1, "{out}");
    assert_eq!(p2[0]["scope"], "user");
    assert_eq!(p2[0]["enabled"], false, "managed false wins: {out}");
    assert!(p2[0].get("installed").is_none(), "a record row: {out}");

    // A `managed` record (written by a Claude Code session) is listed as it is, and replaces
    // the row without a record.
    let cache = ctx.cache().join("mk1/p1/1.0.0");
    fs_err::create_dir_all(&cache).expect("mkdir");
    let mut installed = ctx.installed();
    installed["plugins"]["p1@mk1"] = json!([{
        "scope": "managed",
        "installPath": s(&cache),
        "version": "1.0.0",
        "installedAt": "2026-11-21T06:45:55.541Z",
        "lastUpdated": "2026-11-21T06:45:55.541Z"
    }]);
    write_json(&ctx.plugins().join("installed_plugins.json"), &installed);
    let out = ctx.ok(&["list", "--json"]);
    let p1 = rows_of(&out, "p1@mk1");
    assert_eq!(p1.len(), 1, "{out}");
    assert_eq!(p1[0]["scope"], "managed");
    assert_eq!(p1[0]["installPath"], s(&cache));
    assert_eq!(p1[0]["installedAt"], "2026-11-21T06:45:55.541Z");
    assert!(p1[0].get("installed").is_none(), "{out}");
    assert_eq!(rows_of(&out, "corp@corpmk").len(), 1, "{out}");
}

#[test]
fn managed_false_disables_every_record() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    ctx.ok(&["install", "p1@mk1", "--scope", "project"]);
    ctx.ok(&["install", "p1@mk1", "--scope", "local"]);
    let out = ctx.ok(&["list", "--json"]);
    let rows = rows_of(&out, "p1@mk1");
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows.iter().all(|r| r["enabled"] == true), "{out}");

    managed_dropin(
        &ctx,
        "50-off.json",
        &json!({"enabledPlugins": {"p1@mk1": false}}),
    );
    let out = ctx.ok(&["list", "--json"]);
    let rows = rows_of(&out, "p1@mk1");
    assert_eq!(rows.len(), 3, "no managed row for `false`: {out}");
    assert!(rows.iter().all(|r| r["enabled"] == false), "{out}");
    assert!(rows.iter().all(|r| r["projectEnabled"] == true), "{out}");
    let human = ctx.ok(&["list"]);
    assert_eq!(human.stdout.matches("disabled").count(), 3, "{human}");
}

// ---- uninstall -------------------------------------------------------------------------------

#[test]
fn uninstall_of_a_managed_plugin_is_refused() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    managed_main(&ctx, &json!({"enabledPlugins": {"p1@mk1": true}}));
    for args in [
        &["uninstall", "p1@mk1"][..],
        &["uninstall", "p1@mk1", "--scope", "user"],
        &["uninstall", "p1"],
        &["remove", "p1@mk1", "--keep-data"],
    ] {
        let line = refused(
            &ctx,
            args,
            "managed_settings_override",
            &["managed by your organization", "administrator"],
        );
        assert_eq!(line["command"], "uninstall");
        let message = line["message"].as_str().unwrap_or_default();
        assert!(!message.contains("--scope managed"), "{line}");
        assert!(line.get("installedScope").is_none(), "{line}");
    }
    // Forced on but never installed: the same refusal, not "not installed".
    managed_main(
        &ctx,
        &json!({"enabledPlugins": {"p1@mk1": true, "p2@mk1": true}}),
    );
    refused(
        &ctx,
        &["uninstall", "p2@mk1"],
        "managed_settings_override",
        &["managed by your organization"],
    );
}

#[test]
fn a_managed_record_is_never_removed() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    // What a Claude Code session writes for a managed plugin; the policy was lifted since.
    let mut installed = ctx.installed();
    let user_record = installed["plugins"]["p1@mk1"][0].clone();
    let mut managed_record = user_record.clone();
    managed_record["scope"] = json!("managed");
    installed["plugins"]["p2@mk1"] = json!([managed_record.clone()]);
    installed["plugins"]["p1@mk1"] = json!([managed_record, user_record]);
    write_json(&ctx.plugins().join("installed_plugins.json"), &installed);

    for args in [
        &["uninstall", "p2@mk1"][..],
        &["uninstall", "p2@mk1", "--scope", "user"],
    ] {
        let line = refused(
            &ctx,
            args,
            "managed_settings_override",
            &["managed settings", "administrator"],
        );
        let message = line["message"].as_str().unwrap_or_default();
        assert!(!message.contains("--scope managed"), "{line}");
        assert!(line.get("installedScope").is_none(), "{line}");
    }
    let out = ctx.run(&["uninstall", "p2@mk1", "--scope", "user"]);
    assert!(!out.stderr.contains("--scope managed"), "{out}");

    // p1: the user record goes, the managed one stays.
    let out = ctx.ok(&["uninstall", "p1@mk1", "--json"]);
    assert_eq!(out.json()["scope"], "user", "{out}");
    let records = ctx.installed()["plugins"]["p1@mk1"].clone();
    assert_eq!(records.as_array().map(Vec::len), Some(1), "{records}");
    assert_eq!(records[0]["scope"], "managed");
    let out = ctx.run(&["uninstall", "p1@mk1"]);
    out.assert_fails(1);
    assert!(!out.stderr.contains("--scope managed"), "{out}");
}

// ---- drop-ins --------------------------------------------------------------------------------

#[test]
fn drop_ins_apply_in_name_order_after_the_main_file() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    managed_main(&ctx, &json!({"enabledPlugins": {"p1@mk1": false}}));
    let first = managed_dropin(
        &ctx,
        "10-a.json",
        &json!({"enabledPlugins": {"p1@mk1": true}}),
    );
    let second = managed_dropin(
        &ctx,
        "20-b.json",
        &json!({"enabledPlugins": {"p1@mk1": false}}),
    );
    // Not `.json`: ignored.
    write_file(
        &ctx.managed.join("managed-settings.d/30-c.json.bak"),
        r#"{"enabledPlugins": {"p1@mk1": true}}"#,
    );
    let enabled =
        |ctx: &TestContext| rows_of(&ctx.ok(&["list", "--json"]), "p1@mk1")[0]["enabled"].clone();
    assert_eq!(enabled(&ctx), false);
    let why = ctx.ok(&["why", "p1@mk1", "--json"]).json();
    assert_eq!(why["decidedBy"], "managed");
    assert_eq!(why["decidedByFile"], s(&second));

    // The later drop-in no longer names p1: the earlier one decides.
    write_json(&second, &json!({"enabledPlugins": {"other@mk1": false}}));
    assert_eq!(enabled(&ctx), true);
    let why = ctx.ok(&["why", "p1@mk1", "--json"]).json();
    assert_eq!(why["decidedByFile"], s(&first));
    // Every managed file is listed, in the order it applies.
    let managed: Vec<Value> = why["settings"]
        .as_array()
        .expect("settings")
        .iter()
        .filter(|line| line["scope"] == "managed")
        .map(|line| line["path"].clone())
        .collect();
    assert_eq!(
        managed,
        vec![
            json!(s(&ctx.managed.join("managed-settings.json"))),
            json!(s(&first)),
            json!(s(&second))
        ]
    );

    // Drop-ins alone (no main file) work too, and a broken one is skipped.
    fs_err::remove_file(ctx.managed.join("managed-settings.json")).expect("rm");
    write_file(
        &ctx.managed.join("managed-settings.d/40-broken.json"),
        "{ nope",
    );
    assert_eq!(enabled(&ctx), true);
    let why = ctx.ok(&["why", "p1@mk1", "--json"]).json();
    let broken = why["settings"]
        .as_array()
        .expect("settings")
        .iter()
        .find(|line| line["path"] == s(&ctx.managed.join("managed-settings.d/40-broken.json")))
        .cloned()
        .expect("the broken drop-in is listed");
    assert_eq!(broken["state"], "unreadable", "{why}");
}

// ---- marketplace policy ----------------------------------------------------------------------

#[test]
fn an_empty_strict_list_blocks_every_marketplace() {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("m1", "mk1");
    managed_dropin(
        &ctx,
        "20-strict.json",
        &json!({"strictKnownMarketplaces": []}),
    );
    let line = refused(
        &ctx,
        &["marketplace", "add", &s(&market)],
        "source_blocked_by_policy",
        &[
            "blocked by enterprise policy",
            "No external marketplaces are allowed",
        ],
    );
    assert_eq!(line["command"], "marketplace-add");
    assert_eq!(
        line["message"],
        format!(
            "Marketplace source 'dir:{}' is blocked by enterprise policy. No external marketplaces are allowed.",
            s(&market)
        )
    );
    assert!(
        !ctx.config.exists(),
        "nothing written, not even the config dir"
    );
    // Remote sources are refused before any fetch (there is no such repository).
    let line = refused(
        &ctx,
        &["marketplace", "add", "acme/nowhere", "--scope", "project"],
        "source_blocked_by_policy",
        &["'github:acme/nowhere' (github.com) is blocked by enterprise policy"],
    );
    assert_eq!(line["command"], "marketplace-add");
    refused(
        &ctx,
        &["install", "p1", "--marketplace", &s(&market)],
        "source_blocked_by_policy",
        &["blocked by enterprise policy"],
    );
    assert!(!ctx.config.exists());
}

#[test]
fn a_directory_entry_allows_exactly_that_directory() {
    let ctx = TestContext::new();
    let allowed = ctx.simple_marketplace("m1", "mk1");
    let other = ctx.simple_marketplace("m2", "mk2");
    // Added before the policy: pm knows it, but may no longer use it.
    ctx.ok(&["marketplace", "add", &s(&other)]);
    managed_dropin(
        &ctx,
        "20-strict.json",
        // Written with a trailing slash: compared as a normalized path.
        &json!({"strictKnownMarketplaces": [{"source": "directory", "path": format!("{}/", s(&allowed))}]}),
    );

    ctx.ok(&["marketplace", "add", &s(&allowed)]);
    assert_eq!(
        ctx.known()["mk1"]["source"],
        json!({"source": "directory", "path": s(&allowed)})
    );
    ctx.ok(&["install", "p1@mk1"]);

    let line = refused(
        &ctx,
        &["marketplace", "add", &s(&other), "--scope", "local"],
        "source_blocked_by_policy",
        &["blocked by enterprise policy", "Allowed sources: dir:"],
    );
    assert!(
        line["message"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!(
                "Marketplace source 'dir:{}' is blocked",
                s(&other)
            )),
        "{line}"
    );
    refused(
        &ctx,
        &["install", "p1@mk2"],
        "source_blocked_by_policy",
        &["blocked by enterprise policy"],
    );
    refused(
        &ctx,
        &["marketplace", "update", "mk2"],
        "source_blocked_by_policy",
        &["blocked by enterprise policy"],
    );

    // A path pattern, as Claude Code's `pathPattern` entries.
    managed_dropin(
        &ctx,
        "20-strict.json",
        &json!({"strictKnownMarketplaces": [{"source": "pathPattern", "pathPattern": format!("^{}/m2$", s(&ctx.root))}]}),
    );
    ctx.ok(&["install", "p2@mk2"]);
    refused(
        &ctx,
        &["install", "p2@mk1"],
        "source_blocked_by_policy",
        &["blocked by enterprise policy"],
    );
}

#[test]
fn blocked_marketplaces_are_refused() {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("m1", "mk1");
    managed_main(
        &ctx,
        &json!({"blockedMarketplaces": [{"source": "directory", "path": s(&market)}]}),
    );
    let line = refused(
        &ctx,
        &["marketplace", "add", &s(&market)],
        "source_blocked_by_policy",
        &["blocked by enterprise policy"],
    );
    assert_eq!(
        line["message"],
        format!(
            "Marketplace source 'dir:{}' is blocked by enterprise policy.",
            s(&market)
        )
    );
    let other = ctx.simple_marketplace("m2", "mk2");
    ctx.ok(&["marketplace", "add", &s(&other)]);
}

#[test]
fn managed_marketplaces_are_added_by_install() {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("m1", "mk1");
    managed_main(
        &ctx,
        &json!({
            "extraKnownMarketplaces": {"mk1": {"source": {"source": "directory", "path": s(&market)}}},
            "enabledPlugins": {"p1@mk1": true}
        }),
    );
    // Listed before anything was added.
    let out = ctx.ok(&["marketplace", "list", "--json"]);
    assert_eq!(
        out.json(),
        json!([{"name": "mk1", "source": "directory", "path": s(&market), "declaredOnly": true, "declaredIn": "managed"}])
    );

    let out = ctx.ok(&["install", "p2@mk1", "--json"]);
    let line = out.json();
    assert_eq!(line["outcome"], "ok", "{out}");
    assert_eq!(line["pluginId"], "p2@mk1");
    assert_eq!(line["addedMarketplace"], "mk1");
    out.stderr_has(&["Added marketplace `mk1`", "declared in managed settings"]);
    let known = ctx.known();
    assert_eq!(
        keys(&known["mk1"]),
        sorted(&[
            "source",
            "installLocation",
            "lastUpdated",
            "declaredByManagedSettings"
        ])
    );
    assert_eq!(known["mk1"]["declaredByManagedSettings"], true);
    assert_eq!(known["mk1"]["installLocation"], s(&market));
    assert_eq!(
        known["mk1"]["source"],
        json!({"source": "directory", "path": s(&market)})
    );
    // No declaration was written: only the plugin's entry.
    assert_eq!(
        read_json(&ctx.user_settings()),
        json!({"enabledPlugins": {"p2@mk1": true}})
    );
    assert!(!ctx.project_settings().exists());
    let out = ctx.ok(&["marketplace", "list", "--json"]);
    assert_eq!(
        out.json(),
        json!([{"name": "mk1", "source": "directory", "path": s(&market), "installLocation": s(&market)}])
    );
}

#[test]
fn marketplace_add_of_a_managed_source_marks_it() {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("m1", "mk1");
    let other = ctx.simple_marketplace("m2", "mk2");
    managed_dropin(
        &ctx,
        "10-m.json",
        &json!({"extraKnownMarketplaces": {"mk1": {"source": {"source": "directory", "path": s(&market)}}}}),
    );
    ctx.ok(&["marketplace", "add", &s(&market)]);
    ctx.ok(&["marketplace", "add", &s(&other)]);
    let known = ctx.known();
    assert_eq!(known["mk1"]["declaredByManagedSettings"], true);
    assert!(
        known["mk2"].get("declaredByManagedSettings").is_none(),
        "{known}"
    );
    // marketplace add still declares in the scope it was given.
    assert_eq!(
        read_json(&ctx.user_settings())["extraKnownMarketplaces"]["mk1"],
        json!({"source": {"source": "directory", "path": s(&market)}})
    );
}

// ---- pm why ----------------------------------------------------------------------------------

#[test]
fn why_explains_a_user_install_disabled_in_the_project() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    write_json(
        &ctx.project_settings(),
        &json!({"enabledPlugins": {"p1@mk1": false}}),
    );
    let before = ctx.snapshot();

    let out = ctx.ok(&["why", "p1@mk1", "--json"]);
    let line = out.json();
    assert_eq!(line["command"], "why");
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["plugin"], "p1@mk1");
    assert_eq!(line["pluginId"], "p1@mk1");
    assert_eq!(line["enabled"], false);
    assert_eq!(line["decidedBy"], "project");
    assert_eq!(line["decidedByFile"], s(&ctx.project_settings()));
    assert_eq!(line["installedHere"], true);
    let reason = line["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("project settings") && reason.contains("overrides true in user settings"),
        "{reason}"
    );
    assert_eq!(
        line["settings"],
        json!([
            {"scope": "managed", "path": s(&ctx.managed.join("managed-settings.json")), "state": "no_file", "decides": false},
            {"scope": "local", "path": s(&ctx.local_settings()), "state": "no_file", "decides": false},
            {"scope": "project", "path": s(&ctx.project_settings()), "state": "set", "value": false, "decides": true},
            {"scope": "user", "path": s(&ctx.user_settings()), "state": "set", "value": true, "decides": false}
        ])
    );
    let install_path = s(&ctx.cache().join("mk1/p1/1.0.0"));
    assert_eq!(
        line["records"],
        json!([{"scope": "user", "version": "1.0.0", "installPath": install_path, "cacheExists": true, "appliesHere": true}])
    );
    assert_eq!(
        line["marketplace"],
        json!({"name": "mk1", "state": "known", "listsPlugin": true})
    );

    let out = ctx.ok(&["why", "p1"]);
    out.stdout_has(&[
        "p1@mk1 is disabled here",
        "overrides true in user settings",
        "precedence: managed > local > project > user",
        "(no file)",
        &install_path,
        "cache present",
    ]);
    let line_of = |path: &Path| {
        out.stdout
            .lines()
            .find(|l| l.contains(&s(path)))
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        line_of(&ctx.project_settings()),
        format!("project {} false <- decides", s(&ctx.project_settings())),
        "{out}"
    );
    assert_eq!(
        line_of(&ctx.user_settings()),
        format!("user {} true", s(&ctx.user_settings())),
        "{out}"
    );
    assert_same_tree(&before, &ctx.snapshot());

    // Records of another directory do not apply here; a missing cache is reported.
    let other = ctx.root.join("elsewhere");
    fs_err::create_dir_all(&other).expect("mkdir");
    ctx.ok_in(&other, &["install", "p2@mk1", "--scope", "project"]);
    fs_err::remove_dir_all(ctx.cache().join("mk1/p2")).expect("rm cache");
    let line = ctx.ok(&["why", "p2@mk1", "--json"]).json();
    assert_eq!(line["enabled"], false);
    assert_eq!(line["decidedBy"], Value::Null);
    assert_eq!(line["installedHere"], false);
    assert_eq!(line["records"][0]["appliesHere"], false);
    assert_eq!(line["records"][0]["cacheExists"], false);
    assert_eq!(line["records"][0]["projectPath"], s(&other));
}

#[test]
fn why_of_an_unknown_plugin_is_not_found() {
    let (ctx, _) = with_marketplace();
    let before = ctx.snapshot();
    for args in [
        &["why", "nope@mk1"][..],
        &["why", "p1@nomk"],
        &["why", "nope"],
    ] {
        let line = refused(&ctx, args, "not_found", &["not found"]);
        assert_eq!(line["command"], "why");
        assert_eq!(line["plugin"], args[1]);
    }
    // Listed by its marketplace but installed and enabled nowhere: explained, not an error.
    let line = ctx.ok(&["why", "p2@mk1", "--json"]).json();
    assert_eq!(line["enabled"], false);
    assert_eq!(line["records"], json!([]));
    // Named only by managed settings: found.
    managed_main(&ctx, &json!({"enabledPlugins": {"corp@corpmk": true}}));
    let line = ctx.ok(&["why", "corp", "--json"]).json();
    assert_eq!(line["pluginId"], "corp@corpmk");
    assert_eq!(line["enabled"], true);
    assert_eq!(line["decidedBy"], "managed");
    assert_eq!(line["marketplace"]["state"], "unknown");
    let human = ctx.ok(&["why", "corp@corpmk"]);
    human.stdout_has(&["enabled but not installed", "next session"]);
    fs_err::remove_file(ctx.managed.join("managed-settings.json")).expect("rm");
    assert_same_tree(&before, &ctx.snapshot());
}
