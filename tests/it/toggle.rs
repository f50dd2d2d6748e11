//! `pm enable` / `pm disable` (reference-lifecycle.md §0, §7; reference-advanced.md §7;
//! DEVIATIONS 1, 5, 6, 8, 18): the one settings file each run writes, scope auto-detection, the
//! "already" checks, managed settings, `disable --all`, and byte-for-byte settings fidelity.
//! Every test checks the files left behind as well as the output.

use crate::support::{Run, TestContext, assert_same_tree, keys, sorted, write_file, write_json};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn text(path: &Path) -> String {
    fs_err::read_to_string(path).expect("read a text file")
}

/// Directory marketplace `mk1` (plugins `p1`, `p2`) added at user scope.
fn with_marketplace() -> (TestContext, PathBuf) {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("m1", "mk1");
    ctx.ok(&["marketplace", "add", &s(&market)]);
    (ctx, market)
}

/// `enabledPlugins[id]` of the settings file at `path` (`Null` when absent or no file).
fn entry(path: &Path, id: &str) -> Value {
    if !path.exists() {
        return Value::Null;
    }
    crate::support::read_json(path)["enabledPlugins"][id].clone()
}

/// Asserts a success line: exactly the reference's keys, with these values.
#[track_caller]
fn assert_ok_line(out: &Run, command: &str, plugin: &str, id: &str, scope: &str) {
    let line = out.json();
    assert_eq!(
        keys(&line),
        sorted(&[
            "command", "outcome", "plugin", "pluginId", "scope", "message"
        ]),
        "{out}"
    );
    assert_eq!(line["command"], command, "{out}");
    assert_eq!(line["outcome"], "ok", "{out}");
    assert_eq!(line["plugin"], plugin, "{out}");
    assert_eq!(line["pluginId"], id, "{out}");
    assert_eq!(line["scope"], scope, "{out}");
}

/// Runs `args` (in `dir`) without and then with `--json`: both exit 1 with every one of
/// `needles` on stderr, the JSON line is a `failed` line with `code` and without `pluginId` or
/// `scope`, and nothing under the test root changed. Returns the JSON line.
#[track_caller]
fn refused_in(ctx: &TestContext, dir: &Path, args: &[&str], code: &str, needles: &[&str]) -> Value {
    let before = ctx.snapshot();
    let human = ctx.run_in(dir, args);
    human.assert_fails(1);
    human.stderr_has(needles);
    assert!(human.stdout.is_empty(), "{human}");
    assert_same_tree(&before, &ctx.snapshot());

    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = ctx.run_in(dir, &with_json);
    out.assert_fails(1);
    out.stderr_has(needles);
    let line = out.json();
    assert_eq!(line["command"], args[0], "{out}");
    assert_eq!(line["outcome"], "failed", "{out}");
    assert_eq!(line["failureCode"], code, "{out}");
    assert!(
        line.get("pluginId").is_none() && line.get("scope").is_none(),
        "{out}"
    );
    assert_same_tree(&before, &ctx.snapshot());
    line
}

#[track_caller]
fn refused(ctx: &TestContext, args: &[&str], code: &str, needles: &[&str]) -> Value {
    refused_in(ctx, &ctx.project, args, code, needles)
}

// ---- scopes ------------------------------------------------------------------------------------

#[test]
fn auto_detect_writes_the_scope_that_overrides() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    write_json(
        &ctx.project_settings(),
        &json!({"enabledPlugins": {"p1@mk1": false}}),
    );
    let user_before = text(&ctx.user_settings());
    let installed = ctx.plugins().join("installed_plugins.json");
    let installed_before = text(&installed);

    let out = ctx.ok(&["enable", "p1@mk1", "--json"]);
    assert_ok_line(&out, "enable", "p1@mk1", "p1@mk1", "project");
    assert_eq!(entry(&ctx.project_settings(), "p1@mk1"), true);
    assert_eq!(
        text(&ctx.user_settings()),
        user_before,
        "user settings untouched"
    );
    assert_eq!(
        text(&installed),
        installed_before,
        "installed_plugins.json untouched"
    );
    assert!(!ctx.local_settings().exists());

    // Installed at project (record for this directory) and nothing in settings there: the
    // project scope is still the one written.
    ctx.ok(&["install", "p2@mk1", "--scope", "project"]);
    ctx.ok(&["disable", "p2@mk1"]);
    assert_eq!(entry(&ctx.project_settings(), "p2@mk1"), false);
    assert_eq!(entry(&ctx.user_settings(), "p2@mk1"), Value::Null);

    // Not installed anywhere, listed by mk1: user.
    write_json(&ctx.project_settings(), &json!({}));
    let out = ctx.ok(&["disable", "p1@mk1", "--json"]);
    assert_ok_line(&out, "disable", "p1@mk1", "p1@mk1", "user");
    assert_eq!(entry(&ctx.user_settings(), "p1@mk1"), false);
}

#[test]
fn explicit_scope_writes_that_scope_only() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    let user_before = text(&ctx.user_settings());

    let out = ctx.ok(&["disable", "p1@mk1", "-s", "local", "--json"]);
    assert_ok_line(&out, "disable", "p1@mk1", "p1@mk1", "local");
    assert_eq!(entry(&ctx.local_settings(), "p1@mk1"), false);
    assert!(!ctx.project_settings().exists());
    assert_eq!(text(&ctx.user_settings()), user_before);

    // --scope project from a subdirectory writes the cwd's .claude, not the git root's.
    let out = ctx.ok_in(
        &ctx.sub,
        &["enable", "p1@mk1", "--scope", "project", "--json"],
    );
    assert_ok_line(&out, "enable", "p1@mk1", "p1@mk1", "project");
    assert_eq!(entry(&ctx.project_settings_in(&ctx.sub), "p1@mk1"), true);
    assert!(!ctx.project_settings().exists());

    // Writing a scope that another one overrides succeeds, with a warning.
    let out = ctx.ok(&["disable", "p1@mk1", "--scope", "user"]);
    out.stderr_has(&["Disabled `p1@mk1` (scope: user)"]);
    let out = ctx.ok(&["enable", "p1@mk1", "--scope", "user"]);
    out.stderr_has(&["stays disabled", "local settings", "--scope local"]);
    assert_eq!(entry(&ctx.user_settings(), "p1@mk1"), true);
    assert_eq!(entry(&ctx.local_settings(), "p1@mk1"), false);
}

#[test]
fn scope_is_project_when_cwd_is_home() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    // In $HOME the project settings file is ~/.claude/settings.json, the user file.
    let out = ctx.ok_in(&ctx.home, &["disable", "p1@mk1", "--json"]);
    assert_ok_line(&out, "disable", "p1@mk1", "p1@mk1", "project");
    assert_eq!(entry(&ctx.user_settings(), "p1@mk1"), false);
    assert!(!ctx.project_settings().exists());
    let out = ctx.ok_in(&ctx.home, &["enable", "p1@mk1", "--json"]);
    assert_ok_line(&out, "enable", "p1@mk1", "p1@mk1", "project");
    assert_eq!(entry(&ctx.user_settings(), "p1@mk1"), true);
}

#[test]
fn unknown_and_managed_scope_are_refused() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    refused(
        &ctx,
        &["enable", "p1@mk1", "-s", "bogus"],
        "invalid_scope",
        &["Unknown scope `bogus`"],
    );
    refused(
        &ctx,
        &["disable", "p1@mk1", "-s", "managed"],
        "invalid_scope",
        &["managed", "read-only"],
    );
    refused(
        &ctx,
        &["disable", "--all", "-s", "managed"],
        "invalid_scope",
        &["read-only"],
    );
}

// ---- already ------------------------------------------------------------------------------------

#[test]
fn already_in_goal_state_without_and_with_scope() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);

    let line = refused(
        &ctx,
        &["enable", "p1@mk1"],
        "already_in_goal_state",
        &["`p1@mk1` is already enabled"],
    );
    assert_eq!(line["alreadyInGoalState"], true);
    assert_eq!(line["plugin"], "p1@mk1");
    assert_eq!(
        keys(&line),
        sorted(&[
            "command",
            "outcome",
            "plugin",
            "message",
            "failureCode",
            "alreadyInGoalState"
        ])
    );

    ctx.ok(&["disable", "p1@mk1"]);
    assert_eq!(entry(&ctx.user_settings(), "p1@mk1"), false);
    let line = refused(
        &ctx,
        &["disable", "p1@mk1"],
        "already_in_goal_state",
        &["`p1@mk1` is already disabled"],
    );
    assert_eq!(line["alreadyInGoalState"], true);

    // With --scope: that scope's own value, even when another scope decides the other way.
    ctx.ok(&["enable", "p1@mk1"]);
    ctx.ok(&["disable", "p1@mk1", "-s", "project"]);
    let line = refused(
        &ctx,
        &["enable", "p1@mk1", "-s", "user"],
        "already_in_goal_state",
        &["already enabled at user scope", "--scope project"],
    );
    assert_eq!(line["alreadyInGoalState"], true);
    // Without --scope the effective state decides: disabled, so enable writes project.
    let out = ctx.ok(&["enable", "p1@mk1", "--json"]);
    assert_ok_line(&out, "enable", "p1@mk1", "p1@mk1", "project");
    assert_eq!(entry(&ctx.project_settings(), "p1@mk1"), true);
    // A scope with no entry is not "already disabled" there.
    let out = ctx.ok(&["disable", "p1@mk1", "-s", "local", "--json"]);
    assert_ok_line(&out, "disable", "p1@mk1", "p1@mk1", "local");
}

#[test]
fn a_version_list_is_not_enabled() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    let user = ctx.user_settings();
    let mut settings = crate::support::read_json(&user);
    settings["enabledPlugins"]["p1@mk1"] = json!(["1.0.0"]);
    write_json(&user, &settings);
    refused(
        &ctx,
        &["disable", "p1@mk1"],
        "already_in_goal_state",
        &["already disabled"],
    );
    let out = ctx.ok(&["enable", "p1@mk1", "--json"]);
    assert_ok_line(&out, "enable", "p1@mk1", "p1@mk1", "user");
    assert_eq!(entry(&user, "p1@mk1"), true);
}

// ---- which ids ---------------------------------------------------------------------------------

#[test]
fn unknown_ids_are_not_found_and_nothing_is_written() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    for args in [
        &["enable", "nope@mk1"][..],
        &["disable", "nope@mk1"],
        &["enable", "p1@nomk"],
        &["enable", "nope"],
        &["disable", "nope"],
    ] {
        let line = refused(&ctx, args, "not_found", &["not found"]);
        assert_eq!(line["plugin"], args[1]);
    }
    // Listed by mk1 but not installed: fine (the reference's "works on plugins that are not
    // installed").
    let out = ctx.ok(&["enable", "p2@mk1", "--json"]);
    assert_ok_line(&out, "enable", "p2@mk1", "p2@mk1", "user");
    assert_eq!(entry(&ctx.user_settings(), "p2@mk1"), true);
    // Neither installed nor listed, but named by a settings file: fine.
    write_json(
        &ctx.local_settings(),
        &json!({"enabledPlugins": {"gone@oldmk": true}}),
    );
    let out = ctx.ok(&["disable", "gone@oldmk", "--json"]);
    assert_ok_line(&out, "disable", "gone@oldmk", "gone@oldmk", "local");
    assert_eq!(entry(&ctx.local_settings(), "gone@oldmk"), false);
}

#[test]
fn bare_names_resolve_or_are_ambiguous() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    ctx.ok(&["disable", "p1@mk1"]);
    let out = ctx.ok(&["enable", "p1", "--json"]);
    assert_ok_line(&out, "enable", "p1", "p1@mk1", "user");
    assert_eq!(entry(&ctx.user_settings(), "p1@mk1"), true);

    // Known only from a settings file.
    write_json(
        &ctx.project_settings(),
        &json!({"enabledPlugins": {"solo@gone": true}}),
    );
    let out = ctx.ok(&["disable", "solo", "--json"]);
    assert_ok_line(&out, "disable", "solo", "solo@gone", "project");
    assert_eq!(entry(&ctx.project_settings(), "solo@gone"), false);

    // A second marketplace also lists p1: a bare `p1` is ambiguous (DEVIATIONS 5).
    let other = ctx.simple_marketplace("m2", "mk2");
    ctx.ok(&["marketplace", "add", &s(&other)]);
    let line = refused(
        &ctx,
        &["disable", "p1"],
        "ambiguous_marketplace",
        &["p1@mk1", "p1@mk2"],
    );
    assert_eq!(line["plugin"], "p1");
    // The full id still works.
    let out = ctx.ok(&["enable", "p1@mk2", "--json"]);
    assert_ok_line(&out, "enable", "p1@mk2", "p1@mk2", "user");
    assert_eq!(entry(&ctx.user_settings(), "p1@mk2"), true);
    assert_eq!(entry(&ctx.user_settings(), "p1@mk1"), true);
}

// ---- managed settings --------------------------------------------------------------------------

#[test]
fn managed_settings_refuse_and_drop_ins_win() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    ctx.ok(&["install", "p2@mk1"]);
    write_json(
        &ctx.managed.join("managed-settings.json"),
        &json!({"enabledPlugins": {"p1@mk1": true, "p2@mk1": true}}),
    );
    // The drop-in is read after the main file: it turns p2 off.
    write_json(
        &ctx.managed.join("managed-settings.d/10-x.json"),
        &json!({"enabledPlugins": {"p2@mk1": false}}),
    );

    let line = refused(
        &ctx,
        &["disable", "p1@mk1"],
        "managed_settings_override",
        &["managed by your organization"],
    );
    let message = line["message"].as_str().unwrap_or_default();
    assert!(!message.contains("--scope managed"), "{line}");
    // Also with an explicit scope.
    refused(
        &ctx,
        &["disable", "p1@mk1", "-s", "project"],
        "managed_settings_override",
        &["managed by your organization"],
    );
    refused(
        &ctx,
        &["enable", "p2@mk1"],
        "managed_settings_override",
        &["blocked by your organization's policy"],
    );
    refused(
        &ctx,
        &["enable", "p2@mk1", "--scope", "local"],
        "managed_settings_override",
        &["blocked"],
    );
    // Already in the state managed settings force: the usual "already".
    refused(
        &ctx,
        &["disable", "p2@mk1"],
        "already_in_goal_state",
        &["already disabled"],
    );
    refused(
        &ctx,
        &["enable", "p1@mk1"],
        "already_in_goal_state",
        &["already enabled"],
    );
    // A plugin only managed settings name is found (not `not_found`).
    write_json(
        &ctx.managed.join("managed-settings.d/20-y.json"),
        &json!({"enabledPlugins": {"corp@corpmk": true}}),
    );
    refused(
        &ctx,
        &["disable", "corp"],
        "managed_settings_override",
        &["`corp@corpmk`"],
    );

    // disable --all leaves managed-forced plugins on and says so.
    let before = ctx.snapshot();
    let out = ctx.ok(&["disable", "--all", "--json"]);
    let line = out.json();
    assert_eq!(line["plugins"], json!([]), "{out}");
    assert_eq!(line["skipped"], json!(["p1@mk1", "corp@corpmk"]), "{out}");
    assert_eq!(line["message"], "No enabled plugins to disable");
    out.stderr_has(&["left `p1@mk1` enabled", "managed by your organization"]);
    assert_same_tree(&before, &ctx.snapshot());
}

// ---- disable arguments and --all ---------------------------------------------------------------

#[test]
fn disable_needs_a_plugin_or_all_but_not_both() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    refused(
        &ctx,
        &["disable"],
        "invalid_arguments",
        &["Please specify a plugin name or use --all"],
    );
    refused(
        &ctx,
        &["disable", "p1@mk1", "--all"],
        "invalid_arguments",
        &["--all can't be used with a plugin name"],
    );
    refused(
        &ctx,
        &["disable", "-a", "p1@mk1"],
        "invalid_arguments",
        &["--all can't be used with a plugin name"],
    );
    assert_eq!(entry(&ctx.user_settings(), "p1@mk1"), true);
}

#[test]
fn disable_all_writes_false_where_each_plugin_is_enabled() {
    let ctx = TestContext::new();
    let user = ctx.user_settings();
    write_json(
        &user,
        &json!({"enabledPlugins": {
            "a@m": true,
            "b@m": true,
            "old@m": false,
            "cc-plugin-privacy@builtin": true,
            "v@m": ["1.0.0"]
        }}),
    );
    write_json(
        &ctx.project_settings(),
        &json!({"enabledPlugins": {"b@m": false, "c@m": true}}),
    );
    write_json(
        &ctx.local_settings(),
        &json!({"enabledPlugins": {"d@m": true}}),
    );

    let out = ctx.ok(&["disable", "--all", "--json"]);
    let line = out.json();
    assert_eq!(
        keys(&line),
        sorted(&["command", "outcome", "all", "message", "plugins"]),
        "{out}"
    );
    assert_eq!(line["command"], "disable");
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["all"], true);
    assert_eq!(line["message"], "Disabled 3 plugins");
    assert_eq!(line["plugins"], json!(["a@m", "c@m", "d@m"]));
    out.stderr_has(&["Disabled `c@m` (scope: project)", "Disabled 3 plugins"]);

    assert_eq!(
        crate::support::read_json(&user)["enabledPlugins"],
        json!({
            "a@m": false,
            "b@m": true,
            "old@m": false,
            "cc-plugin-privacy@builtin": true,
            "v@m": ["1.0.0"]
        }),
        "user: a off; b stays (project decides it); builtin and version list untouched"
    );
    assert_eq!(
        crate::support::read_json(&ctx.project_settings())["enabledPlugins"],
        json!({"b@m": false, "c@m": false})
    );
    assert_eq!(
        crate::support::read_json(&ctx.local_settings())["enabledPlugins"],
        json!({"d@m": false})
    );
    assert!(!ctx.plugins().join("installed_plugins.json").exists());

    // Nothing left: success, nothing written.
    let before = ctx.snapshot();
    let out = ctx.ok(&["disable", "--all", "--json"]);
    let line = out.json();
    assert_eq!(line["message"], "No enabled plugins to disable");
    assert_eq!(line["plugins"], json!([]));
    assert_same_tree(&before, &ctx.snapshot());
}

#[test]
fn disable_all_with_a_scope_touches_only_that_file() {
    let ctx = TestContext::new();
    write_json(
        &ctx.user_settings(),
        &json!({"enabledPlugins": {"a@m": true}}),
    );
    write_json(
        &ctx.project_settings(),
        &json!({"enabledPlugins": {"c@m": true}}),
    );
    let user_before = text(&ctx.user_settings());
    let out = ctx.ok(&["disable", "--all", "-s", "project", "--json"]);
    assert_eq!(out.json()["plugins"], json!(["c@m"]));
    assert_eq!(entry(&ctx.project_settings(), "c@m"), false);
    assert_eq!(text(&ctx.user_settings()), user_before);
}

#[test]
fn disable_all_in_home_writes_the_shared_file_once() {
    let ctx = TestContext::new();
    write_json(
        &ctx.user_settings(),
        &json!({"enabledPlugins": {"a@m": true, "b@m": true}}),
    );
    let out = ctx.ok_in(&ctx.home, &["disable", "--all", "--json"]);
    assert_eq!(out.json()["plugins"], json!(["a@m", "b@m"]));
    assert_eq!(
        crate::support::read_json(&ctx.user_settings())["enabledPlugins"],
        json!({"a@m": false, "b@m": false})
    );
}

// ---- settings files ----------------------------------------------------------------------------

#[test]
fn only_the_member_line_changes() {
    let (ctx, _) = with_marketplace();
    let user = ctx.user_settings();
    // 4-space indent, unknown keys, odd key order, no final newline.
    let original = "{\n    \"zzzUnknown\": {\"b\": 1, \"a\": 2},\n    \"model\": \"opus\",\n    \"enabledPlugins\": {\n        \"other@x\": true,\n        \"p1@mk1\": true\n    },\n    \"aaaLast\": [1,2,3]\n}";
    write_file(&user, original);

    ctx.ok(&["disable", "p1@mk1"]);
    let disabled = text(&user);
    assert_eq!(
        disabled,
        original.replace("\"p1@mk1\": true", "\"p1@mk1\": false"),
        "only the member's value changed"
    );
    let changed: Vec<(&str, &str)> = original
        .lines()
        .zip(disabled.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(
        changed,
        [("        \"p1@mk1\": true", "        \"p1@mk1\": false")]
    );

    ctx.ok(&["enable", "p1@mk1"]);
    assert_eq!(
        text(&user),
        original,
        "enable restores the file byte for byte"
    );

    // A new member is added as one line, in the file's style.
    ctx.ok(&["enable", "p2@mk1"]);
    let added = text(&user);
    assert_eq!(
        added,
        original.replace(
            "\"p1@mk1\": true\n",
            "\"p1@mk1\": true,\n        \"p2@mk1\": true\n"
        )
    );
}

#[test]
fn malformed_settings_are_refused_and_left_alone() {
    let (ctx, _) = with_marketplace();
    ctx.ok(&["install", "p1@mk1"]);
    let user = ctx.user_settings();
    write_file(&user, "{ \"model\": \"opus\", broken");
    // Nothing to write for disable: the file reads as empty, so p1 is already disabled (as the
    // reference reports it).
    refused(
        &ctx,
        &["disable", "p1@mk1"],
        "already_in_goal_state",
        &["already disabled"],
    );
    // enable must write it: refused, with the file named.
    refused(
        &ctx,
        &["enable", "p1@mk1"],
        "settings_write_failed",
        &[&s(&user), "line 1"],
    );
    refused(
        &ctx,
        &["enable", "p2@mk1"],
        "settings_write_failed",
        &[&s(&user)],
    );
    assert_eq!(text(&user), "{ \"model\": \"opus\", broken");

    // A project file with a trailing comma, written with --scope project.
    let project = ctx.project_settings();
    write_file(&project, "{\n  \"enabledPlugins\": {},\n}\n");
    refused(
        &ctx,
        &["disable", "p1@mk1", "--scope", "project"],
        "settings_write_failed",
        &[&s(&project), "line 3"],
    );
    // `enabledPlugins` that is not an object cannot be edited either.
    write_file(&project, "{\"enabledPlugins\": []}\n");
    refused(
        &ctx,
        &["disable", "p1@mk1", "--scope", "project"],
        "settings_write_failed",
        &["enabledPlugins"],
    );
}
