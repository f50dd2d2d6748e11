//! Marketplaces declared in settings (`extraKnownMarketplaces`) but not added on this machine
//! (DEVIATIONS 9; the spec's scenario `lifecycle/15-declared-only-marketplace.sh`):
//! `pm marketplace list` shows them (the reference's elements unchanged, declared ones added
//! with `declaredOnly`/`declaredIn`), and `pm install p@mk` adds them from the declared source
//! first, without writing a new declaration.

use crate::support::{
    TestContext, assert_same_tree, keys, read_json, rev_parse, sorted, write_json,
};
use serde_json::{Value, json};
use std::path::Path;

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn declaration(path: &Path) -> Value {
    json!({"source": {"source": "directory", "path": s(path)}})
}

fn text(path: &Path) -> String {
    fs_err::read_to_string(path).expect("read a text file")
}

#[test]
fn declared_marketplaces_are_listed_until_added() {
    let ctx = TestContext::new();
    let known = ctx.simple_marketplace("m0", "mk0");
    let m1 = ctx.simple_marketplace("m1", "mk1");
    let m2 = ctx.simple_marketplace("m2", "mk2");
    let m3 = ctx.simple_marketplace("m3", "mk3");
    ctx.ok(&["marketplace", "add", &s(&known)]);
    // User settings (from `marketplace add`) declare mk0; add mk2 and mk3 there too.
    let mut user = read_json(&ctx.user_settings());
    user["extraKnownMarketplaces"]["mk2"] = declaration(&m2);
    user["extraKnownMarketplaces"]["mk3"] = declaration(&m1);
    write_json(&ctx.user_settings(), &user);
    // The project declares mk1, and mk3 from another source: the project's wins.
    write_json(
        &ctx.project_settings(),
        &json!({"extraKnownMarketplaces": {"mk1": declaration(&m1), "mk3": declaration(&m3)},
                "enabledPlugins": {"p1@mk1": true}}),
    );
    let before = ctx.snapshot();

    let out = ctx.ok(&["marketplace", "list", "--json"]);
    let list = out.json();
    let list = list.as_array().expect("an array");
    // The reference's element for the known marketplace, unchanged and first.
    assert_eq!(
        list[0],
        json!({"name": "mk0", "source": "directory", "path": s(&known), "installLocation": s(&known)})
    );
    let declared = |name: &str| {
        list.iter()
            .find(|e| e["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} missing: {out}"))
    };
    assert_eq!(
        declared("mk1"),
        json!({"name": "mk1", "source": "directory", "path": s(&m1), "declaredOnly": true, "declaredIn": "project"})
    );
    assert_eq!(
        declared("mk2"),
        json!({"name": "mk2", "source": "directory", "path": s(&m2), "declaredOnly": true, "declaredIn": "user"})
    );
    assert_eq!(declared("mk3")["path"], s(&m3), "project beats user: {out}");
    assert_eq!(declared("mk3")["declaredIn"], "project");
    assert_eq!(list.len(), 4, "{out}");

    let human = ctx.ok(&["marketplace", "list"]);
    human.stdout_has(&["mk0", "mk1", "declared in project settings, not added yet"]);
    let mk2_line = human
        .stdout
        .lines()
        .find(|l| l.starts_with("mk2"))
        .unwrap_or_default();
    assert!(
        mk2_line.contains("declared in user settings, not added yet"),
        "{human}"
    );
    let mk0_line = human
        .stdout
        .lines()
        .find(|l| l.starts_with("mk0"))
        .unwrap_or_default();
    assert!(!mk0_line.contains("declared"), "{human}");

    // From another directory the project's declarations do not apply.
    let out = ctx.ok_in(&ctx.sub, &["marketplace", "list", "--json"]);
    let names: Vec<Value> = out
        .json()
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(
        names,
        vec![json!("mk0"), json!("mk2"), json!("mk3")],
        "{out}"
    );
    let out = ctx.ok_in(&ctx.sub, &["marketplace", "list", "--json"]);
    let mk3 = out.json()[2].clone();
    assert_eq!(mk3["path"], s(&m1), "user's declaration here: {out}");
    // `plugin list` shows no row for a plugin only enabled (not managed, not installed).
    assert_eq!(ctx.ok(&["list", "--json"]).json(), json!([]));
    assert_same_tree(&before, &ctx.snapshot());
}

#[test]
fn install_adds_a_project_marketplace_on_first_use() {
    let ctx = TestContext::new();
    let m1 = ctx.simple_marketplace("m1", "mk1");
    write_json(
        &ctx.project_settings(),
        &json!({"extraKnownMarketplaces": {"mk1": declaration(&m1)},
                "enabledPlugins": {"p1@mk1": true}}),
    );

    let out = ctx.ok(&["install", "p1@mk1", "-s", "project", "--json"]);
    let line = out.json();
    assert_eq!(line["outcome"], "ok", "{out}");
    assert_eq!(line["pluginId"], "p1@mk1");
    assert_eq!(line["scope"], "project");
    assert_eq!(line["addedMarketplace"], "mk1");
    out.stderr_has(&["Added marketplace `mk1`", "declared in project settings"]);

    let known = ctx.known();
    assert_eq!(keys(&known), sorted(&["mk1"]));
    assert_eq!(
        keys(&known["mk1"]),
        sorted(&["source", "installLocation", "lastUpdated"]),
        "no declaredByManagedSettings for a project declaration"
    );
    assert_eq!(known["mk1"]["source"], declaration(&m1)["source"]);
    assert_eq!(known["mk1"]["installLocation"], s(&m1));
    // The declaration was already there: the project file is unchanged (p1 was enabled too).
    assert_eq!(
        read_json(&ctx.project_settings()),
        json!({"extraKnownMarketplaces": {"mk1": declaration(&m1)}, "enabledPlugins": {"p1@mk1": true}})
    );
    assert!(
        !ctx.user_settings().exists(),
        "nothing declared in user settings"
    );
    let records = ctx.installed()["plugins"]["p1@mk1"].clone();
    assert_eq!(records[0]["scope"], "project");
    assert_eq!(records[0]["projectPath"], s(&ctx.project));

    // Now known: listed as such, and the next install does not add it again.
    let out = ctx.ok(&["marketplace", "list", "--json"]);
    assert_eq!(
        out.json(),
        json!([{"name": "mk1", "source": "directory", "path": s(&m1), "installLocation": s(&m1)}])
    );
    let known_before = text(&ctx.plugins().join("known_marketplaces.json"));
    let out = ctx.ok(&["install", "p2@mk1", "--json"]);
    assert!(out.json().get("addedMarketplace").is_none(), "{out}");
    assert_eq!(
        text(&ctx.plugins().join("known_marketplaces.json")),
        known_before
    );
}

#[test]
fn install_adds_a_user_declared_marketplace_without_redeclaring_it() {
    let ctx = TestContext::new();
    let m1 = ctx.simple_marketplace("m1", "mk1");
    let user_text = "{\n    \"extraKnownMarketplaces\": {\"mk1\": {\"source\": {\"source\": \"directory\", \"path\": \"PATH\"}}}\n}\n"
        .replace("PATH", &s(&m1));
    crate::support::write_file(&ctx.user_settings(), &user_text);

    let out = ctx.ok(&["install", "p2@mk1", "--json"]);
    assert_eq!(out.json()["addedMarketplace"], "mk1", "{out}");
    assert_eq!(ctx.known()["mk1"]["installLocation"], s(&m1));
    // Only the enabledPlugins member was added; the declaration's bytes stay as written.
    let after = text(&ctx.user_settings());
    assert!(
        after.contains(
            "\"extraKnownMarketplaces\": {\"mk1\": {\"source\": {\"source\": \"directory\""
        ),
        "{after}"
    );
    assert_eq!(
        read_json(&ctx.user_settings()),
        json!({"extraKnownMarketplaces": {"mk1": declaration(&m1)}, "enabledPlugins": {"p2@mk1": true}})
    );
}

#[test]
fn install_clones_a_declared_github_marketplace() {
    let ctx = TestContext::new();
    let src = ctx.simple_marketplace("src-g", "gmk");
    let bare = ctx.publish(&src, "acme/g");
    ctx.github_over_files();
    write_json(
        &ctx.project_settings(),
        &json!({"extraKnownMarketplaces": {"gmk": {"source": {"source": "github", "repo": "acme/g"}}},
                "enabledPlugins": {"p2@gmk": true}}),
    );
    let out = ctx.ok(&["marketplace", "list", "--json"]);
    assert_eq!(
        out.json(),
        json!([{"name": "gmk", "source": "github", "repo": "acme/g", "declaredOnly": true, "declaredIn": "project"}])
    );

    let out = ctx.ok(&["install", "p2@gmk", "-s", "project", "--json"]);
    assert_eq!(out.json()["addedMarketplace"], "gmk", "{out}");
    let clone = ctx.marketplaces().join("gmk");
    assert_eq!(
        ctx.known()["gmk"]["source"],
        json!({"source": "github", "repo": "acme/g"})
    );
    assert_eq!(ctx.known()["gmk"]["installLocation"], s(&clone));
    assert_eq!(rev_parse(&clone, "HEAD"), rev_parse(&bare, "HEAD"));
    assert_eq!(ctx.installed()["plugins"]["p2@gmk"][0]["version"], "0.5.0");
}

#[test]
fn a_declaration_whose_source_holds_another_marketplace_is_refused() {
    let ctx = TestContext::new();
    let m1 = ctx.simple_marketplace("m1", "mk1");
    write_json(
        &ctx.project_settings(),
        &json!({"extraKnownMarketplaces": {"other": declaration(&m1)}}),
    );
    let before = ctx.snapshot();
    let out = ctx.run(&["install", "p1@other", "--json"]);
    out.assert_fails(1);
    let line = out.json();
    assert_eq!(line["failureCode"], "declared", "{out}");
    out.stderr_has(&[
        "`other` is declared in project settings",
        "marketplace `mk1`",
    ]);
    assert_same_tree(&before, &ctx.snapshot());
}

#[test]
fn a_declared_marketplace_the_policy_blocks_is_not_added() {
    let ctx = TestContext::new();
    let m1 = ctx.simple_marketplace("m1", "mk1");
    write_json(
        &ctx.project_settings(),
        &json!({"extraKnownMarketplaces": {"mk1": declaration(&m1)}}),
    );
    write_json(
        &ctx.managed.join("managed-settings.json"),
        &json!({"strictKnownMarketplaces": []}),
    );
    let before = ctx.snapshot();
    let out = ctx.run(&["install", "p1@mk1", "-s", "project", "--json"]);
    out.assert_fails(1);
    assert_eq!(
        out.json()["failureCode"],
        "source_blocked_by_policy",
        "{out}"
    );
    out.stderr_has(&["blocked by enterprise policy"]);
    assert_same_tree(&before, &ctx.snapshot());
}

#[test]
fn a_marketplace_declared_nowhere_is_still_not_found() {
    let ctx = TestContext::new();
    let before = ctx.snapshot();
    let out = ctx.run(&["install", "p1@mk1", "--json"]);
    out.assert_fails(1);
    assert_eq!(out.json()["failureCode"], "not_found", "{out}");
    assert_eq!(ctx.ok(&["marketplace", "list", "--json"]).json(), json!([]));
    assert_same_tree(&before, &ctx.snapshot());
}
