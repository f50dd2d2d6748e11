//! `pm update` (reference-advanced.md §1, §7; reference-lifecycle.md §11; DEVIATIONS 7, 11):
//! the marketplace refresh and its 30 s window, `--offline`, version bumps, new content under the
//! same version, downgrades, `.orphaned_at` on the old cache directory, the record's fields, scope
//! selection (project records of other directories, the managed record), and failures that
//! change nothing.

use crate::support::{
    Run, TestContext, age_marketplace, assert_same_tree, json_lines, keys, now_millis, read_json,
    rev_parse, set_version, sorted, write_file, write_json, write_marketplace, write_plugin,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The one record of `id`.
#[track_caller]
fn only_record(ctx: &TestContext, id: &str) -> Value {
    let records = ctx.installed()["plugins"][id].clone();
    let list = records
        .as_array()
        .unwrap_or_else(|| panic!("no records for {id}"));
    assert_eq!(list.len(), 1, "{records}");
    list[0].clone()
}

/// The record of `id` at `scope` (and `projectPath`, for project and local).
#[track_caller]
fn record_at(ctx: &TestContext, id: &str, scope: &str, project: Option<&Path>) -> Value {
    ctx.installed()["plugins"][id]
        .as_array()
        .unwrap_or_else(|| panic!("no records for {id}"))
        .iter()
        .find(|r| r["scope"] == scope && project.is_none_or(|p| r["projectPath"] == s(p)))
        .cloned()
        .unwrap_or_else(|| panic!("no {scope} record for {id}"))
}

/// The `.orphaned_at` of a cache directory: present, 13 digits without a newline, between
/// `after` and now.
#[track_caller]
fn assert_orphaned(dir: &Path, after: u128) {
    let marker = dir.join(".orphaned_at");
    let text = fs_err::read_to_string(&marker)
        .unwrap_or_else(|_| panic!("{} has no .orphaned_at", dir.display()));
    assert_eq!(text.len(), 13, "{text:?}");
    let millis: u128 = text.parse().expect("epoch milliseconds");
    assert!(after <= millis && millis <= now_millis(), "{millis}");
}

/// A git marketplace `gm` (`p1` 1.0.0 in plugin.json, `p2` 0.5.0 in the entry) published as
/// `acme/m`, added, and `p1@gm` installed at user scope. Returns the context and the source
/// work tree.
fn git_marketplace_with_p1() -> (TestContext, PathBuf) {
    let ctx = TestContext::new();
    let src = ctx.simple_marketplace("src-m", "gm");
    ctx.publish(&src, "acme/m");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/m"]);
    ctx.ok(&["install", "p1@gm"]);
    (ctx, src)
}

/// A directory marketplace `mk1` (`p1` 1.0.0, `p2` 0.5.0) added. Returns the context and the
/// marketplace directory.
fn directory_marketplace() -> (TestContext, PathBuf) {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("m1", "mk1");
    ctx.ok(&["marketplace", "add", &s(&market)]);
    (ctx, market)
}

#[track_caller]
fn update_json(ctx: &TestContext, dir: &Path, args: &[&str]) -> (Run, Value) {
    let mut all = vec!["update"];
    all.extend_from_slice(args);
    all.push("--json");
    let out = ctx.run_in(dir, &all);
    out.assert_ok();
    let line = out.json();
    assert_eq!(line["command"], "update", "{out}");
    assert_eq!(line["outcome"], "ok", "{out}");
    (out, line)
}

// ---- refresh, versions, records --------------------------------------------------------------

#[test]
fn update_refreshes_a_stale_marketplace_and_moves_the_record() {
    let (ctx, src) = git_marketplace_with_p1();
    let before = only_record(&ctx, "p1@gm");
    let settings_before = fs_err::read(ctx.user_settings()).expect("user settings");
    let old_dir = ctx.cache().join("gm/p1/1.0.0");

    // A new version is published; the marketplace was refreshed (added) less than 30 s ago, so
    // update uses the clone on disk and does not see it.
    set_version(&src.join("plugins/p1"), "1.1.0");
    let bare = ctx.publish(&src, "acme/m");
    let (_, line) = update_json(&ctx, &ctx.project, &["p1@gm"]);
    assert_eq!(line["updateOutcome"], "up_to_date", "{line}");
    assert_eq!(line["marketplaceRefresh"], "recent", "{line}");
    assert_eq!(line["oldVersion"], "1.0.0");
    assert_eq!(line["newVersion"], "1.0.0");
    assert_eq!(only_record(&ctx, "p1@gm"), before);

    // --offline never refreshes, however old the copy.
    age_marketplace(&ctx, "gm");
    let known_before = ctx.known();
    let (_, line) = update_json(&ctx, &ctx.project, &["p1@gm", "--offline"]);
    assert_eq!(line["updateOutcome"], "up_to_date", "{line}");
    assert_eq!(line["marketplaceRefresh"], "offline", "{line}");
    assert_eq!(ctx.known(), known_before);

    // Older than 30 s: update refreshes the marketplace itself and moves to 1.1.0.
    let started = now_millis();
    let (out, line) = update_json(&ctx, &ctx.project, &["p1@gm"]);
    assert_eq!(
        keys(&line),
        sorted(&[
            "command",
            "outcome",
            "plugin",
            "pluginId",
            "scope",
            "message",
            "updateOutcome",
            "oldVersion",
            "newVersion",
            "installPath",
            "marketplaceRefresh"
        ]),
        "{out}"
    );
    assert_eq!(line["plugin"], "p1@gm");
    assert_eq!(line["pluginId"], "p1@gm");
    assert_eq!(line["scope"], "user");
    assert_eq!(line["updateOutcome"], "updated");
    assert_eq!(line["oldVersion"], "1.0.0");
    assert_eq!(line["newVersion"], "1.1.0");
    assert_eq!(line["marketplaceRefresh"], "refreshed");
    assert_eq!(line["message"], "Updated p1@gm 1.0.0 → 1.1.0 (scope: user)");
    out.stderr_has(&["Updated p1@gm 1.0.0 → 1.1.0 (scope: user)"]);
    let head = rev_parse(&bare, "HEAD");
    assert_eq!(rev_parse(&ctx.marketplaces().join("gm"), "HEAD"), head);
    let known = ctx.known();
    assert_ne!(known["gm"]["lastUpdated"], "2020-01-01T00:00:00.000Z");

    let new_dir = ctx.cache().join("gm/p1/1.1.0");
    let after = only_record(&ctx, "p1@gm");
    assert_eq!(
        after["installedAt"], before["installedAt"],
        "installedAt is kept"
    );
    assert_ne!(after["lastUpdated"], before["lastUpdated"]);
    assert_eq!(after["version"], "1.1.0");
    assert_eq!(after["installPath"], Value::from(s(&new_dir)));
    assert_eq!(after["gitCommitSha"], Value::from(head));
    assert_eq!(after["scope"], "user");
    assert_eq!(line["installPath"], after["installPath"]);
    assert!(new_dir.join(".pm-ok").is_file());
    assert!(!new_dir.join(".orphaned_at").exists());
    assert_eq!(
        read_json(&new_dir.join(".claude-plugin/plugin.json"))["version"],
        "1.1.0"
    );
    assert_orphaned(&old_dir, started);
    assert_eq!(
        fs_err::read(ctx.user_settings()).expect("user settings"),
        settings_before,
        "settings are not touched"
    );

    // The marketplace was refreshed just now: a second publish is not seen within 30 s...
    set_version(&src.join("plugins/p1"), "1.2.0");
    ctx.publish(&src, "acme/m");
    let (_, line) = update_json(&ctx, &ctx.project, &["p1@gm"]);
    assert_eq!(line["updateOutcome"], "up_to_date", "{line}");
    assert_eq!(line["newVersion"], "1.1.0");
    // ...until `marketplace update`.
    ctx.ok(&["marketplace", "update", "gm"]);
    let out = ctx.ok(&["update", "p1@gm"]);
    out.stderr_has(&["Updated p1@gm 1.1.0 → 1.2.0 (scope: user)"]);
    assert!(out.stdout.is_empty(), "{out}");
    assert_eq!(only_record(&ctx, "p1@gm")["version"], "1.2.0");

    // Nothing new: up to date, human message on stderr.
    let before = ctx.snapshot();
    let out = ctx.ok(&["update", "p1"]);
    out.stderr_has(&["p1@gm is up to date (1.2.0)"]);
    assert_same_tree(&before, &ctx.snapshot());
}

#[test]
fn same_version_with_new_content_is_copied_again_with_a_warning() {
    let (ctx, src) = git_marketplace_with_p1();
    let dir = ctx.cache().join("gm/p1/1.0.0");
    let before = only_record(&ctx, "p1@gm");

    // New content, same version (DEVIATIONS 11; the reference keeps the stale copy).
    write_file(&src.join("plugins/p1/commands/hello.md"), "Say hello, v2\n");
    write_file(&src.join("plugins/p1/commands/new.md"), "new\n");
    let bare = ctx.publish(&src, "acme/m");
    age_marketplace(&ctx, "gm");
    let (out, line) = update_json(&ctx, &ctx.project, &["p1@gm"]);
    assert_eq!(line["updateOutcome"], "updated", "{out}");
    assert_eq!(line["contentChanged"], true, "{out}");
    assert_eq!(line["oldVersion"], "1.0.0");
    assert_eq!(line["newVersion"], "1.0.0");
    out.stderr_has(&[
        "warning:",
        "same version 1.0.0",
        "author should bump `version`",
    ]);
    assert_eq!(
        fs_err::read_to_string(dir.join("commands/hello.md")).expect("read"),
        "Say hello, v2\n"
    );
    assert!(dir.join("commands/new.md").is_file());
    assert!(dir.join(".pm-ok").is_file());
    assert!(!dir.join(".orphaned_at").exists());
    let after = only_record(&ctx, "p1@gm");
    let head = rev_parse(&bare, "HEAD");
    assert_eq!(after["gitCommitSha"], Value::from(head.clone()));
    assert_eq!(after["installPath"], before["installPath"]);
    assert_eq!(after["version"], "1.0.0");
    assert_eq!(after["installedAt"], before["installedAt"]);
    assert_ne!(after["lastUpdated"], before["lastUpdated"]);
    // No staging directory is left behind.
    let entries: Vec<String> = fs_err::read_dir(ctx.cache().join("gm/p1"))
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries, ["1.0.0"]);

    // A commit that changes only another plugin: same content, so up to date and no warning;
    // the record remembers the new commit, nothing else changes.
    write_file(&src.join("plugins/p2/commands/other.md"), "other\n");
    let bare = ctx.publish(&src, "acme/m");
    age_marketplace(&ctx, "gm");
    let (out, line) = update_json(&ctx, &ctx.project, &["p1@gm"]);
    assert_eq!(line["updateOutcome"], "up_to_date", "{out}");
    assert!(!out.stderr.contains("warning"), "{out}");
    let later = only_record(&ctx, "p1@gm");
    assert_eq!(later["gitCommitSha"], Value::from(rev_parse(&bare, "HEAD")));
    assert_eq!(later["lastUpdated"], after["lastUpdated"]);
    assert_eq!(later["version"], "1.0.0");
}

#[test]
fn a_downgrade_is_an_update_reported_as_one() {
    let (ctx, market) = directory_marketplace();
    set_version(&market.join("plugins/p1"), "2.0.0");
    ctx.ok(&["install", "p1@mk1"]);

    set_version(&market.join("plugins/p1"), "1.5.0");
    let started = now_millis();
    let (out, line) = update_json(&ctx, &ctx.project, &["p1@mk1"]);
    assert_eq!(line["updateOutcome"], "updated", "{out}");
    assert_eq!(line["downgrade"], true, "{out}");
    assert_eq!(line["oldVersion"], "2.0.0");
    assert_eq!(line["newVersion"], "1.5.0");
    // A directory marketplace is read in place: nothing to refresh.
    assert_eq!(line["marketplaceRefresh"], "read_in_place");
    out.stderr_has(&["warning:", "went down from 2.0.0 to 1.5.0", "a downgrade"]);
    assert_eq!(only_record(&ctx, "p1@mk1")["version"], "1.5.0");
    assert_orphaned(&ctx.cache().join("mk1/p1/2.0.0"), started);

    // Back up: the 2.0.0 directory is reused, its marker removed; 1.5.0 is marked.
    set_version(&market.join("plugins/p1"), "2.0.0");
    let (out, line) = update_json(&ctx, &ctx.project, &["p1@mk1"]);
    assert_eq!(line["updateOutcome"], "updated", "{out}");
    assert!(line.get("downgrade").is_none(), "{out}");
    assert!(!out.stderr.contains("warning"), "{out}");
    assert!(!ctx.cache().join("mk1/p1/2.0.0/.orphaned_at").exists());
    assert_orphaned(&ctx.cache().join("mk1/p1/1.5.0"), started);
}

#[test]
fn a_reused_version_directory_with_other_content_is_replaced() {
    let (ctx, market) = directory_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    set_version(&market.join("plugins/p1"), "1.1.0");
    ctx.ok(&["update", "p1@mk1"]);
    // Back to 1.0.0, with content the cached 1.0.0 does not have.
    set_version(&market.join("plugins/p1"), "1.0.0");
    write_file(&market.join("plugins/p1/commands/hello.md"), "changed\n");
    let out = ctx.ok(&["update", "p1@mk1"]);
    out.stderr_has(&["differs from its source"]);
    let dir = ctx.cache().join("mk1/p1/1.0.0");
    assert_eq!(
        fs_err::read_to_string(dir.join("commands/hello.md")).expect("read"),
        "changed\n"
    );
    assert!(!dir.join(".orphaned_at").exists());
    assert!(ctx.cache().join("mk1/p1/1.1.0/.orphaned_at").is_file());
}

#[test]
fn the_old_directory_is_marked_only_when_no_record_uses_it() {
    let (ctx, market) = directory_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    ctx.ok(&["install", "p1@mk1", "--scope", "project"]);
    set_version(&market.join("plugins/p1"), "1.1.0");
    let old_dir = ctx.cache().join("mk1/p1/1.0.0");

    // Two records apply here: pm asks for --scope (DEVIATIONS 7) and changes nothing.
    let before = ctx.snapshot();
    let out = ctx.fails(&["update", "p1@mk1", "--json"], 1);
    let line = out.json();
    assert_eq!(line["failureCode"], "not_installed_at_scope", "{out}");
    assert_eq!(line["pluginId"], "p1@mk1", "{out}");
    out.stderr_has(&["several scopes", "--scope"]);
    assert_same_tree(&before, &ctx.snapshot());

    // The project record still uses 1.0.0: no marker.
    let (_, line) = update_json(&ctx, &ctx.project, &["p1@mk1", "-s", "user"]);
    assert_eq!(line["scope"], "user");
    assert_eq!(record_at(&ctx, "p1@mk1", "user", None)["version"], "1.1.0");
    assert_eq!(
        record_at(&ctx, "p1@mk1", "project", Some(&ctx.project))["version"],
        "1.0.0"
    );
    assert!(!old_dir.join(".orphaned_at").exists());

    let started = now_millis();
    let (_, line) = update_json(&ctx, &ctx.project, &["p1@mk1", "--scope", "project"]);
    assert_eq!(line["scope"], "project");
    assert_eq!(line["projectPath"], Value::from(s(&ctx.project)));
    assert_eq!(
        record_at(&ctx, "p1@mk1", "project", Some(&ctx.project))["version"],
        "1.1.0"
    );
    assert_orphaned(&old_dir, started);
    // Settings keep their enabledPlugins entries as they were.
    assert_eq!(
        ctx.settings(&ctx.project_settings())["enabledPlugins"]["p1@mk1"],
        true
    );
}

#[test]
fn scope_project_acts_only_on_this_directorys_record() {
    let (ctx, market) = directory_marketplace();
    let other = ctx.root.join("other");
    let third = ctx.root.join("third");
    fs_err::create_dir_all(&other).expect("mkdir");
    fs_err::create_dir_all(&third).expect("mkdir");
    ctx.ok_in(&ctx.project, &["install", "p1@mk1", "--scope", "project"]);
    ctx.ok_in(&other, &["install", "p1@mk1", "--scope", "project"]);
    set_version(&market.join("plugins/p1"), "1.1.0");

    let (_, line) = update_json(&ctx, &other, &["p1@mk1", "-s", "project"]);
    assert_eq!(line["updateOutcome"], "updated");
    assert_eq!(line["projectPath"], Value::from(s(&other)));
    assert_eq!(
        record_at(&ctx, "p1@mk1", "project", Some(&other))["version"],
        "1.1.0"
    );
    assert_eq!(
        record_at(&ctx, "p1@mk1", "project", Some(&ctx.project))["version"],
        "1.0.0",
        "another directory's record is not touched (DEVIATIONS 7)"
    );
    // 1.0.0 is still used by the project's record.
    assert!(!ctx.cache().join("mk1/p1/1.0.0/.orphaned_at").exists());

    // From a directory with no record: not installed here, with or without --scope.
    let before = ctx.snapshot();
    for args in [
        &["update", "p1@mk1", "--json"][..],
        &["update", "p1@mk1", "-s", "project", "--json"],
    ] {
        let out = ctx.run_in(&third, args);
        out.assert_fails(1);
        let line = out.json();
        assert_eq!(line["outcome"], "failed", "{out}");
        assert_eq!(line["failureCode"], "not_installed_at_scope", "{out}");
        assert_eq!(line["pluginId"], "p1@mk1", "{out}");
    }
    let out = ctx.run_in(&third, &["update", "p1@mk1"]);
    out.stderr_has(&["not installed for", &s(&third)]);
    assert_same_tree(&before, &ctx.snapshot());
}

#[test]
fn scope_managed_updates_the_managed_record() {
    let (ctx, market) = directory_marketplace();
    write_json(
        &ctx.managed.join("managed-settings.json"),
        &json!({"enabledPlugins": {"p1@mk1": true}}),
    );
    // What a Claude session writes for a plugin managed settings enable: a copy in the cache
    // (no pm ready marker) and a `managed` record without projectPath.
    let old_dir = ctx.cache().join("mk1/p1/1.0.0");
    write_plugin(&old_dir, "p1", Some("1.0.0"));
    write_json(
        &ctx.plugins().join("installed_plugins.json"),
        &json!({"version": 2, "plugins": {"p1@mk1": [{
            "scope": "managed",
            "installPath": s(&old_dir),
            "version": "1.0.0",
            "installedAt": "2026-01-01T00:00:00.000Z",
            "lastUpdated": "2026-01-01T00:00:00.000Z"
        }]}}),
    );
    let managed_before = fs_err::read(ctx.managed.join("managed-settings.json")).expect("read");
    let user_before = fs_err::read(ctx.user_settings()).expect("read");
    set_version(&market.join("plugins/p1"), "1.1.0");

    let started = now_millis();
    let (out, line) = update_json(&ctx, &ctx.project, &["p1@mk1", "-s", "managed"]);
    assert_eq!(line["scope"], "managed", "{out}");
    assert_eq!(line["updateOutcome"], "updated", "{out}");
    assert!(line.get("projectPath").is_none(), "{out}");
    let record = only_record(&ctx, "p1@mk1");
    assert_eq!(record["scope"], "managed");
    assert_eq!(record["version"], "1.1.0");
    assert_eq!(record["installedAt"], "2026-01-01T00:00:00.000Z");
    assert_ne!(record["lastUpdated"], "2026-01-01T00:00:00.000Z");
    assert!(record.get("projectPath").is_none());
    assert_eq!(
        record["installPath"],
        Value::from(s(&ctx.cache().join("mk1/p1/1.1.0")))
    );
    assert_orphaned(&old_dir, started);
    assert_eq!(
        fs_err::read(ctx.managed.join("managed-settings.json")).expect("read"),
        managed_before
    );
    assert_eq!(
        fs_err::read(ctx.user_settings()).expect("read"),
        user_before,
        "settings are not touched"
    );
    assert!(!ctx.project_settings().exists());

    // Without --scope, the managed record is the one that applies here.
    set_version(&market.join("plugins/p1"), "1.2.0");
    let (_, line) = update_json(&ctx, &ctx.project, &["p1@mk1"]);
    assert_eq!(line["scope"], "managed");
    assert_eq!(only_record(&ctx, "p1@mk1")["version"], "1.2.0");
}

#[test]
fn an_unknown_version_is_compared_by_content() {
    let ctx = TestContext::new();
    let market = ctx.root.join("nv");
    write_plugin(&market.join("plugins/q"), "q", None);
    write_marketplace(
        &market,
        "nv",
        json!([{"name": "q", "source": "./plugins/q"}]),
    );
    ctx.ok(&["marketplace", "add", &s(&market)]);
    ctx.ok(&["install", "q@nv"]);
    assert_eq!(only_record(&ctx, "q@nv")["version"], "unknown");

    let before = ctx.snapshot();
    let (_, line) = update_json(&ctx, &ctx.project, &["q@nv"]);
    assert_eq!(line["updateOutcome"], "up_to_date");
    assert_same_tree(&before, &ctx.snapshot());

    write_file(&market.join("plugins/q/commands/hello.md"), "new\n");
    let (out, line) = update_json(&ctx, &ctx.project, &["q@nv"]);
    assert_eq!(line["updateOutcome"], "updated", "{out}");
    assert_eq!(line["newVersion"], "unknown");
    out.stderr_has(&["Refreshed q@nv from its source"]);
    assert_eq!(
        fs_err::read_to_string(ctx.cache().join("nv/q/unknown/commands/hello.md")).expect("read"),
        "new\n"
    );
}

#[test]
fn a_missing_cache_directory_is_copied_again() {
    let (ctx, _market) = directory_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    let dir = ctx.cache().join("mk1/p1/1.0.0");
    fs_err::remove_dir_all(&dir).expect("rm");
    let (_, line) = update_json(&ctx, &ctx.project, &["p1@mk1"]);
    assert_eq!(line["updateOutcome"], "updated");
    assert!(dir.join(".pm-ok").is_file());
    assert!(dir.join("commands/hello.md").is_file());
}

// ---- plugins with a git source of their own ------------------------------------------------

#[test]
fn git_source_plugins_are_cloned_again_and_offline_refuses() {
    let ctx = TestContext::new();
    let plug = ctx.root.join("plug");
    write_plugin(&plug, "plug", Some("3.0.0"));
    ctx.publish(&plug, "acme/plug");
    let ext = ctx.root.join("ext");
    write_marketplace(
        &ext,
        "ext",
        json!([{"name": "plug", "source": {"source": "github", "repo": "acme/plug"}}]),
    );
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", &s(&ext)]);
    ctx.ok(&["install", "plug@ext"]);

    set_version(&plug, "3.1.0");
    let bare = ctx.publish(&plug, "acme/plug");

    let before = ctx.snapshot();
    let out = ctx.fails(&["update", "plug@ext", "--offline", "--json"], 1);
    let line = out.json();
    assert_eq!(line["failureCode"], "error_network", "{out}");
    assert_eq!(line["pluginId"], "plug@ext", "{out}");
    out.stderr_has(&["offline"]);
    assert_same_tree(&before, &ctx.snapshot());

    let (_, line) = update_json(&ctx, &ctx.project, &["plug@ext"]);
    assert_eq!(line["updateOutcome"], "updated");
    assert_eq!(line["newVersion"], "3.1.0");
    let record = only_record(&ctx, "plug@ext");
    assert_eq!(
        record["gitCommitSha"],
        Value::from(rev_parse(&bare, "HEAD"))
    );
    let entries: Vec<String> = {
        let mut list: Vec<String> = fs_err::read_dir(ctx.cache().join("ext/plug"))
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        list.sort();
        list
    };
    assert_eq!(entries, ["3.0.0", "3.1.0"], "no temporary clone left");
}

// ---- a broken upstream -----------------------------------------------------------------------

#[test]
fn a_failed_refresh_warns_and_uses_the_copy_on_disk() {
    let (ctx, src) = git_marketplace_with_p1();
    let clone_head = rev_parse(&ctx.marketplaces().join("gm"), "HEAD");
    // The upstream publishes a broken marketplace.json: the old clone stays and is used.
    write_file(&src.join(".claude-plugin/marketplace.json"), "{ broken");
    ctx.publish(&src, "acme/m");
    age_marketplace(&ctx, "gm");
    let (out, line) = update_json(&ctx, &ctx.project, &["p1@gm"]);
    assert_eq!(line["updateOutcome"], "up_to_date", "{out}");
    assert_eq!(line["marketplaceRefresh"], "failed", "{out}");
    assert!(
        line["marketplaceRefreshError"]
            .as_str()
            .is_some_and(|e| e.contains("marketplace.json")),
        "{out}"
    );
    out.stderr_has(&[
        "warning: could not refresh marketplace `gm`",
        "using the copy on disk",
    ]);
    assert_eq!(
        rev_parse(&ctx.marketplaces().join("gm"), "HEAD"),
        clone_head
    );

    // The upstream repository disappears.
    fs_err::remove_dir_all(ctx.gh.join("acme/m.git")).expect("rm");
    age_marketplace(&ctx, "gm");
    let (out, line) = update_json(&ctx, &ctx.project, &["p1@gm"]);
    assert_eq!(line["updateOutcome"], "up_to_date", "{out}");
    assert_eq!(line["marketplaceRefresh"], "failed", "{out}");
    out.stderr_has(&[
        "warning: could not refresh marketplace `gm`",
        "using the copy on disk",
    ]);
    assert!(
        ctx.marketplaces()
            .join("gm/.claude-plugin/marketplace.json")
            .is_file()
    );

    // Without a usable copy either, the refresh error is the result.
    fs_err::remove_dir_all(ctx.marketplaces().join("gm")).expect("rm");
    let before = ctx.snapshot();
    let out = ctx.fails(&["update", "p1@gm", "--json"], 1);
    assert_eq!(out.json()["outcome"], "failed", "{out}");
    assert_eq!(out.json()["pluginId"], "p1@gm", "{out}");
    assert_same_tree(&before, &ctx.snapshot());
}

// ---- failures --------------------------------------------------------------------------------

/// Runs `args` with `--json` in `project/`: exit 1, a `failed` line with `code`, `needles` on
/// stderr, and nothing under the test root changed. Returns the line.
#[track_caller]
fn refused(ctx: &TestContext, args: &[&str], code: &str, needles: &[&str]) -> Value {
    let before = ctx.snapshot();
    let mut all = args.to_vec();
    all.push("--json");
    let out = ctx.run(&all);
    out.assert_fails(1);
    out.stderr_has(needles);
    let line = out.json();
    assert_eq!(line["command"], "update", "{out}");
    assert_eq!(line["outcome"], "failed", "{out}");
    assert_eq!(line["failureCode"], code, "{out}");
    assert_same_tree(&before, &ctx.snapshot());
    line
}

#[test]
fn failures_change_nothing() {
    let (ctx, market) = directory_marketplace();
    ctx.ok(&["install", "p1@mk1"]);

    // A bare name nothing matches: no pluginId, no scope (as the reference).
    let line = refused(
        &ctx,
        &["update", "nope"],
        "not_installed",
        &["not installed"],
    );
    assert_eq!(
        keys(&line),
        sorted(&["command", "outcome", "plugin", "message", "failureCode"])
    );
    // An id its marketplace does not list: not_found (as the reference).
    let line = refused(&ctx, &["update", "nope@mk1"], "not_found", &["nope", "mk1"]);
    assert_eq!(line["pluginId"], "nope@mk1");
    // Listed but not installed.
    let line = refused(&ctx, &["update", "p2@mk1"], "not_installed", &["p2@mk1"]);
    assert_eq!(line["pluginId"], "p2@mk1");
    // An unknown marketplace.
    refused(&ctx, &["update", "p1@nomk"], "not_found", &["nomk"]);
    // Installed at user scope, not at local.
    let line = refused(
        &ctx,
        &["update", "p1@mk1", "--scope", "local"],
        "not_installed_at_scope",
        &["not installed at local scope", "--scope user"],
    );
    assert_eq!(line["scope"], "local");
    assert_eq!(line["installedScope"], "user");
    // Not a scope at all.
    refused(
        &ctx,
        &["update", "p1@mk1", "-s", "bogus"],
        "invalid_scope",
        &["bogus", "managed"],
    );

    // The marketplace no longer lists the plugin: not_found naming both.
    write_marketplace(
        &market,
        "mk1",
        json!([{"name": "p2", "source": "./plugins/p2", "version": "0.5.0"}]),
    );
    let line = refused(
        &ctx,
        &["update", "p1"],
        "not_found",
        &["p1", "mk1", "no longer lists", "pm uninstall p1@mk1"],
    );
    assert_eq!(line["pluginId"], "p1@mk1");
    assert_eq!(only_record(&ctx, "p1@mk1")["version"], "1.0.0");
}

#[test]
fn a_plugin_no_longer_listed_offline_suggests_a_refresh() {
    let (ctx, _src) = git_marketplace_with_p1();
    // The copy on disk no longer lists p1, and --offline keeps pm from refreshing it: the copy
    // may be stale, so the hint is to refresh it (after a refresh, it is to uninstall).
    write_marketplace(
        &ctx.marketplaces().join("gm"),
        "gm",
        json!([{"name": "p2", "source": "./plugins/p2", "version": "0.5.0"}]),
    );
    let line = refused(
        &ctx,
        &["update", "p1@gm", "--offline"],
        "not_found",
        &["no longer lists", "pm marketplace update gm"],
    );
    assert_eq!(line["pluginId"], "p1@gm");
}

// ---- update --all ------------------------------------------------------------------------------

/// The line of `id` at `scope` among `lines`.
#[track_caller]
fn line_of<'a>(lines: &'a [Value], id: &str, scope: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["pluginId"] == id && l["scope"] == scope)
        .unwrap_or_else(|| panic!("no line for {id} at {scope}: {lines:?}"))
}

/// A git marketplace `name` (`p1` 1.0.0 in plugin.json, `p2` 0.5.0 in the entry) published as
/// `acme/<name>` and added. Returns its source work tree.
fn add_git_marketplace(ctx: &TestContext, name: &str) -> PathBuf {
    let src = ctx.simple_marketplace(&format!("src-{name}"), name);
    ctx.publish(&src, &format!("acme/{name}"));
    ctx.ok(&["marketplace", "add", &format!("acme/{name}")]);
    src
}

#[test]
fn update_all_goes_through_every_marketplace_and_scope_that_applies_here() {
    let mut ctx = TestContext::new();
    ctx.github_over_http();
    let g1 = add_git_marketplace(&ctx, "g1");
    let g2 = add_git_marketplace(&ctx, "g2");
    let g3 = add_git_marketplace(&ctx, "g3");
    let (market, other) = (ctx.simple_marketplace("m1", "mk1"), ctx.root.join("other"));
    ctx.ok(&["marketplace", "add", &s(&market)]);
    fs_err::create_dir_all(&other).expect("mkdir");
    ctx.ok(&["install", "p1@g1"]);
    ctx.ok(&["install", "p2@g1", "--scope", "project"]);
    ctx.ok(&["install", "p1@g2", "--scope", "local"]);
    ctx.ok(&["install", "p1@g3"]);
    ctx.ok(&["install", "p1@mk1"]);
    // Another directory's record does not apply here: --all leaves it alone.
    ctx.ok_in(&other, &["install", "p2@g2", "--scope", "project"]);
    let other_record = record_at(&ctx, "p2@g2", "project", Some(&other));

    // g1's p1 and g2's p1 get new versions; g3 drops p1 (that update fails); p2@g1 and p1@mk1
    // stay as they are.
    set_version(&g1.join("plugins/p1"), "1.1.0");
    ctx.publish(&g1, "acme/g1");
    set_version(&g2.join("plugins/p1"), "2.0.0");
    write_file(&g2.join("plugins/p2/commands/extra.md"), "extra\n");
    ctx.publish(&g2, "acme/g2");
    write_marketplace(
        &g3,
        "g3",
        json!([{"name": "p2", "source": "./plugins/p2", "version": "0.5.0"}]),
    );
    ctx.publish(&g3, "acme/g3");
    for name in ["g1", "g2", "g3"] {
        age_marketplace(&ctx, name);
    }

    let out = ctx.run(&["update", "--all", "--json"]);
    out.assert_fails(1);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 6, "5 records and a summary\n{out}");
    for line in &lines[..5] {
        assert_eq!(line["command"], "update", "{line}");
        assert_eq!(line["plugin"], line["pluginId"], "{line}");
    }
    let p1g1 = line_of(&lines, "p1@g1", "user");
    assert_eq!(p1g1["outcome"], "ok");
    assert_eq!(p1g1["updateOutcome"], "updated");
    assert_eq!(p1g1["oldVersion"], "1.0.0");
    assert_eq!(p1g1["newVersion"], "1.1.0");
    assert_eq!(p1g1["marketplaceRefresh"], "refreshed");
    let p2g1 = line_of(&lines, "p2@g1", "project");
    assert_eq!(p2g1["updateOutcome"], "up_to_date", "{p2g1}");
    assert_eq!(p2g1["projectPath"], Value::from(s(&ctx.project)));
    let p1g2 = line_of(&lines, "p1@g2", "local");
    assert_eq!(p1g2["updateOutcome"], "updated", "{p1g2}");
    assert_eq!(p1g2["newVersion"], "2.0.0");
    let p1g3 = line_of(&lines, "p1@g3", "user");
    assert_eq!(p1g3["outcome"], "failed", "{p1g3}");
    assert_eq!(p1g3["failureCode"], "not_found", "{p1g3}");
    let p1mk1 = line_of(&lines, "p1@mk1", "user");
    assert_eq!(p1mk1["updateOutcome"], "up_to_date");
    assert_eq!(p1mk1["marketplaceRefresh"], "read_in_place");
    assert_eq!(
        lines[5],
        json!({
            "command": "update",
            "all": true,
            "outcome": "failed",
            "updated": 2,
            "upToDate": 2,
            "failed": 1,
            "message": "Updated 2, up to date 2, failed 1"
        })
    );
    out.stderr_has(&[
        "Updated p1@g1 1.0.0 → 1.1.0 (scope: user)",
        "Updated p1@g2 1.0.0 → 2.0.0",
        "error: p1@g3 (user): Plugin `p1` is installed, but marketplace `g3` no longer lists it",
        "Updated 2, up to date 2, failed 1",
    ]);

    // Each marketplace was refreshed once; the records moved.
    for name in ["g1", "g2", "g3"] {
        assert_ne!(
            ctx.known()[name]["lastUpdated"],
            "2020-01-01T00:00:00.000Z",
            "{name}"
        );
    }
    assert_eq!(record_at(&ctx, "p1@g1", "user", None)["version"], "1.1.0");
    assert_eq!(
        record_at(&ctx, "p1@g2", "local", Some(&ctx.project))["version"],
        "2.0.0"
    );
    assert_eq!(record_at(&ctx, "p1@g3", "user", None)["version"], "1.0.0");
    assert_eq!(
        record_at(&ctx, "p2@g2", "project", Some(&other)),
        other_record
    );

    // Without --json: the updated plugins and the summary on stderr, nothing on stdout.
    let out = ctx.fails(&["update", "--all"], 1);
    assert!(out.stdout.is_empty(), "{out}");
    out.stderr_has(&["Updated 0, up to date 4, failed 1"]);

    // --scope keeps only that scope's records; all of them up to date: exit 0.
    let out = ctx.ok(&["update", "--all", "--scope", "local", "--json"]);
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2, "{out}");
    assert_eq!(lines[0]["pluginId"], "p1@g2");
    assert_eq!(lines[1]["outcome"], "ok");
    assert_eq!(lines[1]["upToDate"], 1);
}

#[test]
fn update_all_with_nothing_installed_is_a_summary() {
    let ctx = TestContext::new();
    let out = ctx.ok(&["update", "--all", "--json"]);
    assert_eq!(
        out.json(),
        json!({
            "command": "update",
            "all": true,
            "outcome": "ok",
            "updated": 0,
            "upToDate": 0,
            "failed": 0,
            "message": "Updated 0, up to date 0, failed 0"
        })
    );
    // A plugin and --all together is a usage error, and so is neither.
    ctx.fails(&["update", "p1@mk1", "--all"], 2);
    ctx.fails(&["update"], 2);
    ctx.fails(&["update", "--dry-run"], 2);
}

#[test]
fn update_all_dry_run_fetches_and_writes_nothing() {
    let mut ctx = TestContext::new();
    ctx.github_over_http();
    let src = add_git_marketplace(&ctx, "gm");
    ctx.ok(&["install", "p1@gm"]);
    ctx.ok(&["install", "p2@gm"]);
    let clone_head = rev_parse(&ctx.marketplaces().join("gm"), "HEAD");

    // p1: a new version; p2: new content under the same version (DEVIATIONS 11).
    set_version(&src.join("plugins/p1"), "1.1.0");
    write_file(&src.join("plugins/p2/commands/hello.md"), "new content\n");
    let bare = ctx.publish(&src, "acme/gm");
    age_marketplace(&ctx, "gm");

    let before = ctx.snapshot();
    let out = ctx.run(&["update", "--all", "--dry-run", "--json"]);
    out.assert_ok();
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{out}");
    let p1 = line_of(&lines, "p1@gm", "user");
    assert_eq!(p1["updateOutcome"], "updated", "{p1}");
    assert_eq!(p1["dryRun"], true);
    assert_eq!(p1["oldVersion"], "1.0.0");
    assert_eq!(p1["newVersion"], "1.1.0");
    assert_eq!(p1["marketplaceRefresh"], "fetched");
    assert_eq!(
        p1["installPath"],
        Value::from(s(&ctx.cache().join("gm/p1/1.1.0")))
    );
    assert_eq!(
        p1["message"],
        "Would update p1@gm 1.0.0 → 1.1.0 (scope: user)"
    );
    let p2 = line_of(&lines, "p2@gm", "user");
    assert_eq!(p2["updateOutcome"], "updated", "{p2}");
    assert_eq!(p2["contentChanged"], true, "{p2}");
    assert_eq!(
        lines[2],
        json!({
            "command": "update",
            "all": true,
            "outcome": "ok",
            "updated": 2,
            "upToDate": 0,
            "failed": 0,
            "message": "Would update 2, up to date 0, failed 0",
            "dryRun": true
        })
    );
    // Nothing under the test root changed: no state, no settings, no cache, no clone.
    assert_same_tree(&before, &ctx.snapshot());
    assert_eq!(
        rev_parse(&ctx.marketplaces().join("gm"), "HEAD"),
        clone_head
    );

    // One plugin's dry run says the same.
    let out = ctx.run(&["update", "p1@gm", "--dry-run", "--json"]);
    out.assert_ok();
    let line = out.json();
    assert_eq!(line["plugin"], "p1@gm", "{out}");
    assert_eq!(line["dryRun"], true, "{out}");
    assert_eq!(line["newVersion"], "1.1.0", "{out}");
    out.stderr_has(&["Would update p1@gm 1.0.0 → 1.1.0 (scope: user)"]);
    assert_same_tree(&before, &ctx.snapshot());

    // The real run does what the dry run said.
    let out = ctx.run(&["update", "--all", "--json"]);
    out.assert_ok();
    let lines = json_lines(&out);
    assert_eq!(line_of(&lines, "p1@gm", "user")["newVersion"], "1.1.0");
    assert_eq!(line_of(&lines, "p2@gm", "user")["contentChanged"], true);
    assert_eq!(lines[2]["updated"], 2, "{out}");
    assert_eq!(
        rev_parse(&ctx.marketplaces().join("gm"), "HEAD"),
        rev_parse(&bare, "HEAD")
    );
    // And a dry run now finds nothing to do.
    let out = ctx.ok(&["update", "--all", "--dry-run"]);
    out.stderr_has(&["Would update 0, up to date 2, failed 0"]);
}

#[test]
fn update_all_offline_never_contacts_the_remotes() {
    let ctx = TestContext::new();
    ctx.github_over_files();
    let a = add_git_marketplace(&ctx, "ga");
    let b = add_git_marketplace(&ctx, "gb");
    for id in ["p1@ga", "p2@ga", "p1@gb"] {
        ctx.ok(&["install", id]);
    }
    // New versions upstream, then the upstream repositories disappear.
    set_version(&a.join("plugins/p1"), "9.0.0");
    ctx.publish(&a, "acme/ga");
    set_version(&b.join("plugins/p1"), "9.0.0");
    ctx.publish(&b, "acme/gb");
    fs_err::remove_dir_all(ctx.gh.join("acme")).expect("rm");
    age_marketplace(&ctx, "ga");
    age_marketplace(&ctx, "gb");

    let known_before = ctx.known();
    let before = ctx.snapshot();
    let out = ctx.run(&["update", "--all", "--offline", "--json"]);
    out.assert_ok();
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4, "{out}");
    for line in &lines[..3] {
        assert_eq!(line["updateOutcome"], "up_to_date", "{line}");
        assert_eq!(line["marketplaceRefresh"], "offline", "{line}");
        assert_eq!(line["newVersion"], line["oldVersion"], "{line}");
    }
    assert_eq!(lines[3]["upToDate"], 3, "{out}");
    assert!(!out.stderr.contains("warning"), "{out}");
    assert_eq!(ctx.known(), known_before, "lastUpdated is not touched");
    assert_same_tree(&before, &ctx.snapshot());
    // outdated --offline compares with the clones too: nothing outdated, exit 0.
    let out = ctx.ok(&["outdated", "--offline", "--json"]);
    assert_eq!(out.json()["outdated"], 0, "{out}");

    // Online, the refresh fails and each marketplace's copy on disk is used, with a warning.
    let out = ctx.run(&["update", "--all", "--json"]);
    out.assert_ok();
    let lines = json_lines(&out);
    for line in &lines[..3] {
        assert_eq!(line["marketplaceRefresh"], "failed", "{line}");
        assert_eq!(line["updateOutcome"], "up_to_date", "{line}");
    }
    out.stderr_has(&[
        "warning: could not refresh marketplace `ga`",
        "warning: could not refresh marketplace `gb`",
    ]);
}
