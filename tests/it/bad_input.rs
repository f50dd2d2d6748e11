//! Bad input is refused cleanly: exit 1, a message on stderr that names the file, name, id,
//! repository or scope at fault (with a hint where there is one), a `failed` JSON line with the
//! reference's `failureCode`, and nothing changed: the whole test tree (config dir, project,
//! sources) is snapshotted with file contents before and after.

use crate::support::{
    Run, TestContext, assert_same_tree, write_file, write_json, write_marketplace, write_plugin,
};
use serde_json::json;
use std::path::{Path, PathBuf};

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A working state to break things in: directory marketplace `dm` (plugins `p1`, `p2`) added,
/// `p1@dm` installed at user scope.
fn baseline() -> (TestContext, PathBuf) {
    let ctx = TestContext::new();
    let dm = ctx.simple_marketplace("dm", "dm");
    ctx.ok(&["marketplace", "add", &s(&dm)]);
    ctx.ok(&["install", "p1@dm"]);
    (ctx, dm)
}

/// Runs `args` in `dir` without and then with `--json`: both exit 1 and name every one of
/// `needles` on stderr, the JSON line is a `failed` line with `failureCode` `code`, stdout of the
/// human form is empty, and nothing under the test root changed.
#[track_caller]
fn refused_in(ctx: &TestContext, dir: &Path, args: &[&str], code: &str, needles: &[&str]) -> Run {
    let before = ctx.snapshot();
    let human = ctx.run_in(dir, args);
    human.assert_fails(1);
    human.stderr_has(needles);
    assert!(
        human.stderr.lines().any(|l| l.starts_with("error: ")),
        "an error line: {args:?}\n{human}"
    );
    assert!(human.stdout.is_empty(), "{args:?}\n{human}");
    assert_same_tree(&before, &ctx.snapshot());

    let mut with_json = args.to_vec();
    with_json.push("--json");
    let out = ctx.run_in(dir, &with_json);
    out.assert_fails(1);
    out.stderr_has(needles);
    let line = out.json();
    assert_eq!(line["outcome"], "failed", "{with_json:?}\n{out}");
    assert_eq!(line["failureCode"], code, "{with_json:?}\n{out}");
    assert_same_tree(&before, &ctx.snapshot());
    out
}

/// [`refused_in`] in `project/`.
#[track_caller]
fn refused(ctx: &TestContext, args: &[&str], code: &str, needles: &[&str]) -> Run {
    refused_in(ctx, &ctx.project, args, code, needles)
}

// ---- marketplace manifests ---------------------------------------------------------------------

#[test]
fn marketplace_without_manifest() {
    let (ctx, _) = baseline();
    let dir = ctx.root.join("nomanifest");
    fs_err::create_dir_all(&dir).expect("mkdir");
    refused(
        &ctx,
        &["marketplace", "add", &s(&dir)],
        "manifest_missing",
        &[&s(&dir.join(".claude-plugin/marketplace.json"))],
    );
    // A path that does not exist at all.
    let missing = ctx.root.join("missing");
    refused(
        &ctx,
        &["marketplace", "add", &s(&missing)],
        "invalid_source",
        &[&s(&missing)],
    );
}

#[test]
fn marketplace_manifest_with_invalid_json() {
    let (ctx, _) = baseline();
    let dir = ctx.root.join("badjson");
    let file = dir.join(".claude-plugin/marketplace.json");
    write_file(
        &file,
        "{\n  \"name\": \"x\",\n  \"owner\": ,\n  \"plugins\": []\n}\n",
    );
    refused(
        &ctx,
        &["marketplace", "add", &s(&dir)],
        "manifest_invalid",
        &[&s(&file), "line 3, column 12"],
    );
    // As a .json file source too.
    refused(
        &ctx,
        &["marketplace", "add", &s(&file)],
        "manifest_invalid",
        &[&s(&file), "line 3, column 12"],
    );
}

#[test]
fn marketplace_manifest_missing_required_fields() {
    let (ctx, _) = baseline();
    for (field, manifest) in [
        ("name", json!({"owner": {"name": "T"}, "plugins": []})),
        ("owner", json!({"name": "x", "plugins": []})),
        ("plugins", json!({"name": "x", "owner": {"name": "T"}})),
    ] {
        let dir = ctx.root.join(format!("no-{field}"));
        let file = dir.join(".claude-plugin/marketplace.json");
        write_json(&file, &manifest);
        refused(
            &ctx,
            &["marketplace", "add", &s(&dir)],
            "manifest_invalid",
            &[&s(&file), field],
        );
    }
}

// ---- marketplace names -------------------------------------------------------------------------

#[test]
fn marketplace_names_that_are_refused() {
    let (ctx, _) = baseline();
    for (index, (name, code)) in [
        ("../../../.ssh", "manifest_invalid"),
        ("a/b", "manifest_invalid"),
        ("..", "manifest_invalid"),
        (".hidden", "error_unknown"),
        ("inline", "manifest_invalid"),
        ("claude-plugins-official", "error_unknown"),
        ("claude-official", "manifest_invalid"),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = ctx.root.join(format!("named-{index}"));
        write_marketplace(&dir, name, json!([]));
        refused(&ctx, &["marketplace", "add", &s(&dir)], code, &[name]);
    }
}

/// shared/fixtures/real-marketplaces/0dd__my-marketplace: a published marketplace whose name
/// would put its clone at `~/.ssh`. Refused before anything is written; nothing appears there.
#[test]
fn marketplace_named_like_a_path_escape_from_github() {
    let (ctx, _) = baseline();
    let src = ctx.root.join("poc");
    write_json(
        &src.join(".claude-plugin/marketplace.json"),
        &json!({"name": "../../../.ssh", "owner": {"name": "PoC", "email": "poc@example.com"}, "plugins": []}),
    );
    ctx.publish(&src, "acme/poc");
    ctx.github_over_files();
    refused(
        &ctx,
        &["marketplace", "add", "acme/poc"],
        "manifest_invalid",
        &["../../../.ssh"],
    );
    let out = ctx.run(&["marketplace", "add", "acme/poc"]);
    assert!(
        !out.stderr.contains("marketplaces/.."),
        "the message names where the name was read, not the path it would lead to: {out}"
    );
    out.stderr_has(&["acme/poc"]);
    assert!(!ctx.home.join(".ssh").exists());
    assert!(!ctx.root.join(".ssh").exists());
}

// ---- plugin sources ----------------------------------------------------------------------------

#[test]
fn plugin_sources_that_leave_the_marketplace() {
    let (ctx, _) = baseline();
    // A real plugin outside the marketplace: escaping would succeed if it were not refused.
    let outside = ctx.root.join("x");
    write_plugin(&outside, "x", Some("6.6.6"));
    let esc = ctx.root.join("esc");
    fs_err::create_dir_all(esc.join("a")).expect("mkdir");
    fs_err::create_dir_all(esc.join("plugins")).expect("mkdir");
    std::os::unix::fs::symlink(&outside, esc.join("plugins/linked")).expect("symlink");
    write_marketplace(
        &esc,
        "esc",
        json!([
            {"name": "up", "source": "../x"},
            {"name": "abs", "source": s(&outside)},
            {"name": "dotup", "source": "./../x"},
            {"name": "deep", "source": "./a/../../x"},
            {"name": "linked", "source": "./plugins/linked"}
        ]),
    );
    ctx.ok(&["marketplace", "add", &s(&esc)]);
    // Entries that do not start with `./` are invalid as written; the others leave the
    // marketplace once resolved, and the message quotes them.
    for (name, source) in [
        ("up", "\"./\"".to_owned()),
        ("abs", "\"./\"".to_owned()),
        ("dotup", "./../x".to_owned()),
        ("deep", "./a/../../x".to_owned()),
    ] {
        let id = format!("{name}@esc");
        refused(&ctx, &["install", &id], "error_validation", &[&id, &source]);
    }
    // A plugin root that is a link to a directory outside the marketplace (DEVIATIONS 13).
    refused(
        &ctx,
        &["install", "linked@esc"],
        "error_validation",
        &["linked@esc", "outside"],
    );
    assert!(!ctx.cache().join("esc").exists());
}

#[test]
fn plugins_that_cannot_be_fetched_or_read() {
    let (ctx, _) = baseline();
    let bad = ctx.root.join("bad");
    write_file(
        &bad.join("plugins/corrupt/.claude-plugin/plugin.json"),
        "{\"name\": \"corrupt\",,}",
    );
    write_marketplace(
        &bad,
        "bad",
        json!([
            {"name": "gone", "source": {"source": "github", "repo": "acme/gone"}},
            {"name": "corrupt", "source": "./plugins/corrupt"},
            {"name": "missing", "source": "./plugins/missing"}
        ]),
    );
    ctx.ok(&["marketplace", "add", &s(&bad)]);
    ctx.github_over_files();
    // The temporary clone and the directories made for it are gone again.
    refused(
        &ctx,
        &["install", "gone@bad"],
        "error_unknown",
        &["acme/gone", "not found"],
    );
    refused(
        &ctx,
        &["install", "corrupt@bad"],
        "error_validation",
        &[
            "plugins/corrupt/.claude-plugin/plugin.json",
            "line 1, column 20",
        ],
    );
    refused(
        &ctx,
        &["install", "missing@bad"],
        "error_not_found",
        &[&s(&bad.join("plugins/missing"))],
    );
}

// ---- names that resolve to nothing, or to too much ---------------------------------------------

#[test]
fn unknown_marketplace_and_plugin() {
    let (ctx, _) = baseline();
    let out = refused(
        &ctx,
        &["install", "p1@nomkt"],
        "not_found",
        &["nomkt", "dm", "pm marketplace add"],
    );
    assert!(
        !out.stderr.contains("marketplace update"),
        "updating an unknown marketplace cannot help: {out}"
    );
    refused(
        &ctx,
        &["install", "nope@dm"],
        "not_found",
        &["nope", "dm", "hint:"],
    );
    refused(&ctx, &["install", "nope"], "not_found", &["nope"]);
    refused(&ctx, &["uninstall", "p2@dm"], "not_installed", &["p2@dm"]);
    refused(
        &ctx,
        &["marketplace", "update", "nomkt"],
        "not_configured",
        &["nomkt"],
    );
}

#[test]
fn ambiguous_bare_name() {
    let (ctx, _) = baseline();
    let other = ctx.simple_marketplace("dm2", "dm2");
    ctx.ok(&["marketplace", "add", &s(&other)]);
    refused(
        &ctx,
        &["install", "p2"],
        "ambiguous_marketplace",
        &["p2@dm", "p2@dm2", "hint:"],
    );
}

#[test]
fn ambiguous_bare_name_on_uninstall() {
    let (ctx, _) = baseline();
    let other = ctx.simple_marketplace("dm2", "dm2");
    ctx.ok(&["marketplace", "add", &s(&other)]);
    ctx.ok(&["install", "p1@dm2"]);
    refused(
        &ctx,
        &["uninstall", "p1"],
        "ambiguous_marketplace",
        &["p1@dm", "p1@dm2"],
    );
}

// ---- settings files ----------------------------------------------------------------------------

/// Malformed settings texts and what the message must say about where.
fn malformed_settings() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        (
            "{\n  // a comment\n  \"theme\": \"dark\"\n}\n",
            vec!["line 2, column 3"],
        ),
        ("{\n  \"theme\": \"dark\",\n}\n", vec!["line 3, column 1"]),
        ("[]\n", vec!["object"]),
        ("null\n", vec!["object"]),
    ]
}

#[test]
fn malformed_user_settings() {
    let (ctx, _) = baseline();
    let fresh = ctx.simple_marketplace("fresh", "fresh");
    for (text, needles) in malformed_settings() {
        write_file(&ctx.user_settings(), text);
        let path = s(&ctx.user_settings());
        let mut wanted = vec![path.as_str(), "hint:"];
        wanted.extend(needles.iter().copied());
        refused(
            &ctx,
            &["install", "p2@dm"],
            "settings_write_failed",
            &wanted,
        );
        refused(
            &ctx,
            &["marketplace", "add", &s(&fresh)],
            "error_validation",
            &wanted,
        );
    }
}

#[test]
fn malformed_project_and_local_settings() {
    let (ctx, _) = baseline();
    let fresh = ctx.simple_marketplace("fresh", "fresh");
    for (scope, path) in [
        ("project", ctx.project_settings_in(&ctx.sub)),
        ("local", ctx.local_settings()),
    ] {
        write_file(&path, "{\n  \"theme\": \"dark\",\n}\n");
        let path_text = s(&path);
        let wanted = [path_text.as_str(), "line 3, column 1"];
        refused_in(
            &ctx,
            &ctx.sub,
            &["install", "p2@dm", "--scope", scope],
            "settings_write_failed",
            &wanted,
        );
        refused_in(
            &ctx,
            &ctx.sub,
            &["marketplace", "add", &s(&fresh), "--scope", scope],
            "error_validation",
            &wanted,
        );
        fs_err::remove_file(&path).expect("clean up");
    }
}

#[test]
fn enabled_plugins_that_is_not_an_object() {
    let (ctx, _) = baseline();
    write_file(
        &ctx.user_settings(),
        "{\n  \"enabledPlugins\": [],\n  \"theme\": \"dark\"\n}\n",
    );
    refused(
        &ctx,
        &["install", "p2@dm"],
        "settings_write_failed",
        &[&s(&ctx.user_settings()), "enabledPlugins"],
    );
}

#[test]
fn extra_known_marketplaces_that_is_not_an_object() {
    let (ctx, _) = baseline();
    let fresh = ctx.simple_marketplace("fresh", "fresh");
    let src = ctx.simple_marketplace("src-m", "gm");
    ctx.publish(&src, "acme/m");
    ctx.github_over_files();
    write_file(
        &ctx.user_settings(),
        "{\n  \"extraKnownMarketplaces\": [],\n  \"enabledPlugins\": {\"p1@dm\": true}\n}\n",
    );
    let path = s(&ctx.user_settings());
    let wanted = [path.as_str(), "extraKnownMarketplaces"];
    refused(
        &ctx,
        &["marketplace", "add", &s(&fresh)],
        "error_validation",
        &wanted,
    );
    // A clone is fetched first; it must not be moved into place or recorded.
    refused(
        &ctx,
        &["marketplace", "add", "acme/m"],
        "error_validation",
        &wanted,
    );
}

#[test]
fn malformed_settings_stop_uninstall_and_marketplace_remove() {
    let (ctx, _) = baseline();
    write_file(
        &ctx.user_settings(),
        "{\n  \"enabledPlugins\": {\"p1@dm\": true},\n}\n",
    );
    let path = s(&ctx.user_settings());
    let wanted = [path.as_str(), "line 3, column 1"];
    refused(&ctx, &["uninstall", "p1@dm"], "error_validation", &wanted);
    refused(
        &ctx,
        &["marketplace", "remove", "dm"],
        "error_validation",
        &wanted,
    );
}

// ---- state files -------------------------------------------------------------------------------

#[test]
fn malformed_installed_plugins_json_is_never_replaced() {
    let (ctx, _) = baseline();
    let file = ctx.plugins().join("installed_plugins.json");
    write_file(&file, "{\n  \"version\": 2,\n  \"plugins\": {,\n}");
    let path = s(&file);
    let wanted = [path.as_str(), "line 3, column 15", "hint:"];
    refused(&ctx, &["install", "p2@dm"], "error_validation", &wanted);
    refused(&ctx, &["uninstall", "p1@dm"], "error_validation", &wanted);
    refused(&ctx, &["list"], "error_validation", &wanted);
    refused(
        &ctx,
        &["marketplace", "remove", "dm"],
        "error_validation",
        &wanted,
    );
    // Not moved aside either (the reference renames it to installed_plugins.unreadable.*).
    assert_eq!(
        crate::support::snapshot(&ctx.plugins())
            .keys()
            .filter(|p| p.to_string_lossy().contains("unreadable"))
            .count(),
        0
    );
}

#[test]
fn malformed_known_marketplaces_json() {
    let (ctx, _) = baseline();
    let fresh = ctx.simple_marketplace("fresh", "fresh");
    let file = ctx.plugins().join("known_marketplaces.json");
    write_file(&file, "{\n  \"dm\": {\n    \"source\": \n  }\n}");
    let path = s(&file);
    let wanted = [path.as_str(), "line 4, column 3"];
    refused(&ctx, &["install", "p2@dm"], "error_validation", &wanted);
    refused(
        &ctx,
        &["marketplace", "add", &s(&fresh)],
        "error_validation",
        &wanted,
    );
    refused(&ctx, &["marketplace", "list"], "error_validation", &wanted);
    refused(&ctx, &["list"], "error_validation", &wanted);
}

// ---- fetching ----------------------------------------------------------------------------------

#[test]
fn clone_of_a_missing_repository_or_ref() {
    let (ctx, _) = baseline();
    let src = ctx.simple_marketplace("src-m", "gm");
    ctx.publish(&src, "acme/m");
    ctx.github_over_files();
    let out = refused(
        &ctx,
        &["marketplace", "add", "acme/nothere"],
        "error_unknown",
        &["acme/nothere", "not found"],
    );
    assert!(!out.stderr.contains("SSH authentication"), "{out}");
    refused(
        &ctx,
        &["marketplace", "add", "acme/m@nope"],
        "error_not_found",
        &["nope", "acme/m"],
    );
    refused(
        &ctx,
        &["marketplace", "add", "https://github.com/acme/m.git#nope"],
        "error_not_found",
        &["nope"],
    );
}

#[test]
fn clone_of_a_missing_repository_over_http() {
    let (mut ctx, _) = baseline();
    ctx.github_over_http();
    refused(
        &ctx,
        &["marketplace", "add", "acme/nothere"],
        "error_unknown",
        &["acme/nothere", "not found"],
    );
}

#[test]
fn download_of_a_missing_url_marketplace() {
    let (mut ctx, _) = baseline();
    let www = ctx.root.join("www");
    fs_err::create_dir_all(&www).expect("mkdir");
    let url = format!("{}missing.json", ctx.serve_files(&www));
    refused(
        &ctx,
        &["marketplace", "add", &url],
        "error_not_found",
        &[&url, "404"],
    );
}

// ---- scopes ------------------------------------------------------------------------------------

#[test]
fn unknown_and_read_only_scopes() {
    let (ctx, dm) = baseline();
    let valid = "user, project, local";
    refused(
        &ctx,
        &["install", "p2@dm", "--scope", "bogus"],
        "invalid_scope",
        &["bogus", valid],
    );
    refused(
        &ctx,
        &["uninstall", "p1@dm", "--scope", "bogus"],
        "invalid_scope",
        &["bogus", valid],
    );
    refused(
        &ctx,
        &["marketplace", "add", &s(&dm), "--scope", "bogus"],
        "invalid_scope",
        &["bogus", valid],
    );
    refused(
        &ctx,
        &["marketplace", "remove", "dm", "--scope", "bogus"],
        "invalid_scope",
        &["bogus", valid],
    );
    refused(
        &ctx,
        &["install", "p2@dm", "--scope", "managed"],
        "invalid_scope",
        &["managed", "read-only", valid],
    );
}
