//! Plugin dependencies at install (reference-advanced.md §2.1–2.4; DEVIATIONS 14): the string
//! and object forms, `auto: true` records and how an explicit install clears it, version ranges
//! resolved against `{name}--v{version}` tags into `<version>-<sha12>` directories with
//! `resolvedVersion`, and installs that fail whole when a dependency cannot be satisfied
//! (missing plugin, no version in range, a cross-marketplace dependency not allowed), leaving
//! every file as it was.

use crate::support::{
    Run, TestContext, assert_same_tree, commit_all, git, read_json, rev_parse, write_json,
    write_marketplace, write_plugin,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A plugin `plugins/<name>` of `market` whose plugin.json has `version` and, unless `deps` is
/// null, `dependencies`.
fn plugin(market: &Path, name: &str, version: Option<&str>, deps: Value) {
    let dir = market.join("plugins").join(name);
    write_plugin(&dir, name, version);
    if !deps.is_null() {
        let path = dir.join(".claude-plugin/plugin.json");
        let mut manifest = read_json(&path);
        manifest["dependencies"] = deps;
        write_json(&path, &manifest);
    }
}

/// A directory marketplace `root/<dir>` named `name` listing `plugins` (`name`, plugin.json
/// version, dependencies), with `extra` merged into its marketplace.json.
fn market(
    ctx: &TestContext,
    dir: &str,
    name: &str,
    plugins: &[(&str, Option<&str>, Value)],
    extra: Value,
) -> PathBuf {
    let market = ctx.root.join(dir);
    let mut entries = Vec::new();
    for (plugin_name, version, deps) in plugins {
        plugin(&market, plugin_name, *version, deps.clone());
        entries.push(json!({"name": plugin_name, "source": format!("./plugins/{plugin_name}")}));
    }
    write_marketplace(&market, name, Value::from(entries));
    if let Value::Object(extra) = extra {
        let path = market.join(".claude-plugin/marketplace.json");
        let mut manifest = read_json(&path);
        for (key, value) in extra {
            manifest[key] = value;
        }
        write_json(&path, &manifest);
    }
    market
}

/// The records of `id` (empty when none).
fn records(ctx: &TestContext, id: &str) -> Vec<Value> {
    ctx.installed()["plugins"][id]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The one record of `id`.
#[track_caller]
fn only_record(ctx: &TestContext, id: &str) -> Value {
    let list = records(ctx, id);
    assert_eq!(list.len(), 1, "records of {id}: {list:?}");
    list[0].clone()
}

/// Runs a failing install without and with `--json`: exit 1, `needles` on stderr, the
/// `failureCode`, and nothing under the test root changed (DEVIATIONS 14).
#[track_caller]
fn install_fails_cleanly(ctx: &TestContext, plugin: &str, code: &str, needles: &[&str]) -> Run {
    let before = ctx.snapshot();
    let human = ctx.fails(&["install", plugin], 1);
    human.stderr_has(needles);
    human.stderr_has(&["nothing was installed"]);
    assert_same_tree(&before, &ctx.snapshot());
    let out = ctx.fails(&["install", plugin, "--json"], 1);
    let line = out.json();
    assert_eq!(line["outcome"], "failed", "{out}");
    assert_eq!(line["failureCode"], code, "{out}");
    assert_same_tree(&before, &ctx.snapshot());
    out
}

/// `m`: top → [b, c ^1.0.0], b → [d]; c 1.2.0, d 0.1.0 (reference scenario 10).
fn basic() -> (TestContext, PathBuf) {
    let ctx = TestContext::new();
    let m = market(
        &ctx,
        "mkt",
        "m",
        &[
            (
                "top",
                Some("1.0.0"),
                json!(["b", {"name": "c", "version": "^1.0.0"}]),
            ),
            ("b", Some("1.0.0"), json!(["d"])),
            ("c", Some("1.2.0"), Value::Null),
            ("d", Some("0.1.0"), Value::Null),
        ],
        Value::Null,
    );
    ctx.ok(&["marketplace", "add", &s(&m)]);
    (ctx, m)
}

#[test]
fn dependencies_are_installed_recorded_auto_and_enabled() {
    let (ctx, _) = basic();
    let out = ctx.ok(&["install", "top@m", "--json"]);
    let line = out.json();
    assert_eq!(line["outcome"], "ok", "{out}");
    assert_eq!(line["dependencies"], json!(["b@m", "c@m", "d@m"]), "{out}");
    out.stderr_has(&["Installed `top@m` 1.0.0 (scope: user) (+ 3 dependencies: b, c, d)"]);

    let top = only_record(&ctx, "top@m");
    assert!(top.get("auto").is_none(), "{top}");
    for (id, version) in [("b@m", "1.0.0"), ("c@m", "1.2.0"), ("d@m", "0.1.0")] {
        let record = only_record(&ctx, id);
        assert_eq!(record["auto"], true, "{id}: {record}");
        assert_eq!(record["scope"], "user", "{record}");
        assert_eq!(record["version"], version, "{record}");
        assert!(record.get("resolvedVersion").is_none(), "{record}");
        let name = id.split('@').next().unwrap_or_default();
        let dir = ctx.cache().join("m").join(name).join(version);
        assert_eq!(record["installPath"], s(&dir), "{record}");
        assert!(dir.join(".claude-plugin/plugin.json").is_file());
    }
    let settings = ctx.settings(&ctx.user_settings());
    assert_eq!(
        settings["enabledPlugins"],
        json!({"top@m": true, "b@m": true, "c@m": true, "d@m": true})
    );

    // Installing it again: already installed, nothing to add.
    let again = ctx.ok(&["install", "top@m", "--json"]);
    let line = again.json();
    assert_eq!(line["installedVersion"], "1.0.0", "{again}");
    assert!(line.get("dependencies").is_none(), "{again}");
    assert!(line.get("markedManual").is_none(), "{again}");
}

#[test]
fn an_explicit_install_of_a_dependency_clears_auto() {
    let (ctx, _) = basic();
    ctx.ok(&["install", "top@m"]);
    let out = ctx.ok(&["install", "b@m", "--json"]);
    let line = out.json();
    assert_eq!(line["markedManual"], true, "{out}");
    out.stderr_has(&["is already installed (scope: user) — marked as manually installed"]);
    let record = only_record(&ctx, "b@m");
    assert!(record.get("auto").is_none(), "{record}");
    // Other fields are kept.
    assert_eq!(record["version"], "1.0.0");
    // Only once.
    let again = ctx.ok(&["install", "b@m", "--json"]);
    assert!(again.json().get("markedManual").is_none(), "{again}");
    assert_eq!(only_record(&ctx, "d@m")["auto"], true);
}

#[test]
fn an_installed_plugin_gets_its_missing_dependencies_on_reinstall() {
    let (ctx, _) = basic();
    ctx.ok(&["install", "top@m"]);
    ctx.ok(&["uninstall", "c@m"]);
    assert!(records(&ctx, "c@m").is_empty());
    let out = ctx.ok(&["install", "top@m", "--json"]);
    assert_eq!(out.json()["dependencies"], json!(["c@m"]), "{out}");
    out.stderr_has(&["is already installed (scope: user) (+ 1 dependency: c)"]);
    assert_eq!(only_record(&ctx, "c@m")["auto"], true);
}

#[test]
fn string_and_object_forms() {
    let ctx = TestContext::new();
    let m2 = market(
        &ctx,
        "mkt2",
        "m2",
        &[("o", Some("1.0.0"), Value::Null)],
        Value::Null,
    );
    let m = market(
        &ctx,
        "mkt",
        "m",
        &[
            // A range in the string form is dropped (with a warning): c 1.2.0 is installed.
            ("strdrop", Some("1.0.0"), json!(["c@^9.0.0"])),
            // The same marketplace named explicitly, and the object form naming another one.
            (
                "named",
                Some("1.0.0"),
                json!(["c@m", {"name": "o", "marketplace": "m2"}]),
            ),
            // `name@marketplace` inside the object form's name is a schema error.
            ("badobj", Some("1.0.0"), json!([{"name": "o@m2"}])),
            ("notarray", Some("1.0.0"), json!("c")),
            ("c", Some("1.2.0"), Value::Null),
        ],
        json!({"allowCrossMarketplaceDependenciesOn": ["m2"]}),
    );
    ctx.ok(&["marketplace", "add", &s(&m)]);
    ctx.ok(&["marketplace", "add", &s(&m2)]);

    let out = ctx.ok(&["install", "strdrop@m"]);
    out.stderr_has(&["warning:", "`@^9.0.0`", "only the object form"]);
    let c = only_record(&ctx, "c@m");
    assert_eq!(c["version"], "1.2.0");
    assert!(c.get("resolvedVersion").is_none(), "{c}");

    let out = ctx.ok(&["install", "named@m", "--json"]);
    // c is installed already at this scope: reused, not listed.
    assert_eq!(out.json()["dependencies"], json!(["o@m2"]), "{out}");
    assert_eq!(only_record(&ctx, "o@m2")["auto"], true);

    install_fails_cleanly(
        &ctx,
        "badobj@m",
        "error_validation",
        &[
            "`badobj@m` declares an invalid dependency: dependencies.0",
            "o@m2",
        ],
    );
    install_fails_cleanly(
        &ctx,
        "notarray@m",
        "error_validation",
        &["`dependencies` must be an array"],
    );
}

#[test]
fn cycles_and_self_dependencies_install() {
    let ctx = TestContext::new();
    let m = market(
        &ctx,
        "mkt",
        "m",
        &[
            ("cy1", Some("1.0.0"), json!(["cy2"])),
            ("cy2", Some("1.0.0"), json!(["cy1"])),
            ("self", Some("1.0.0"), json!(["self"])),
        ],
        Value::Null,
    );
    ctx.ok(&["marketplace", "add", &s(&m)]);
    let out = ctx.ok(&["install", "cy1@m"]);
    out.stderr_has(&["(+ 1 dependency: cy2)"]);
    assert!(only_record(&ctx, "cy1@m").get("auto").is_none());
    assert_eq!(only_record(&ctx, "cy2@m")["auto"], true);
    let out = ctx.ok(&["install", "self@m", "--json"]);
    assert!(out.json().get("dependencies").is_none(), "{out}");
    assert!(only_record(&ctx, "self@m").get("auto").is_none());
}

#[test]
fn a_missing_dependency_fails_the_install() {
    let ctx = TestContext::new();
    let m = market(
        &ctx,
        "mkt",
        "m",
        &[
            ("miss", Some("1.0.0"), json!(["b", "ghost"])),
            ("b", Some("1.0.0"), Value::Null),
        ],
        Value::Null,
    );
    ctx.ok(&["marketplace", "add", &s(&m)]);
    install_fails_cleanly(
        &ctx,
        "miss@m",
        "dependency_unsatisfied",
        &["Dependency `ghost@m` of `miss@m` is not listed by marketplace `m`"],
    );
    assert!(!ctx.plugins().join("installed_plugins.json").exists());
    assert!(!ctx.cache().exists(), "the copies of miss and b are gone");
    // A dependency whose marketplace is not known.
    let m3 = market(
        &ctx,
        "mkt3",
        "m3",
        &[("far", Some("1.0.0"), json!(["x@nowhere"]))],
        json!({"allowCrossMarketplaceDependenciesOn": ["nowhere"]}),
    );
    ctx.ok(&["marketplace", "add", &s(&m3)]);
    install_fails_cleanly(
        &ctx,
        "far@m3",
        "dependency_unsatisfied",
        &["marketplace `nowhere` is not known"],
    );
}

#[test]
fn cross_marketplace_dependencies_need_the_root_marketplace_to_allow_them() {
    let ctx = TestContext::new();
    // o@m2 depends on p@m3: m2 allows m3, but trust is not transitive: the root decides.
    let m2 = market(
        &ctx,
        "mkt2",
        "m2",
        &[
            ("o", Some("1.0.0"), Value::Null),
            ("o2", Some("1.0.0"), json!(["p@m3"])),
        ],
        json!({"allowCrossMarketplaceDependenciesOn": ["m3"]}),
    );
    let m3 = market(
        &ctx,
        "mkt3",
        "m3",
        &[("p", Some("1.0.0"), Value::Null)],
        Value::Null,
    );
    let m = market(
        &ctx,
        "mkt",
        "m",
        &[
            ("xm", Some("1.0.0"), json!(["o@m2"])),
            ("xm2", Some("1.0.0"), json!(["o2@m2"])),
        ],
        Value::Null,
    );
    for dir in [&m, &m2, &m3] {
        ctx.ok(&["marketplace", "add", &s(dir)]);
    }
    install_fails_cleanly(
        &ctx,
        "xm@m",
        "dependency_unsatisfied",
        &[
            "Dependency `o@m2` of `xm@m` is in marketplace `m2`",
            "allowCrossMarketplaceDependenciesOn",
        ],
    );

    // Allowed by the root marketplace.
    let path = m.join(".claude-plugin/marketplace.json");
    let mut manifest = read_json(&path);
    manifest["allowCrossMarketplaceDependenciesOn"] = json!(["m2"]);
    write_json(&path, &manifest);
    let out = ctx.ok(&["install", "xm@m", "--json"]);
    assert_eq!(out.json()["dependencies"], json!(["o@m2"]), "{out}");
    assert_eq!(only_record(&ctx, "o@m2")["auto"], true);

    // m allows m2 but not m3: o2@m2's dependency p@m3 is refused.
    install_fails_cleanly(
        &ctx,
        "xm2@m",
        "dependency_unsatisfied",
        &[
            "Dependency `p@m3` of `o2@m2`",
            "marketplace `m` does not allow",
        ],
    );
}

#[test]
fn dependencies_follow_the_scope_of_the_install() {
    let ctx = TestContext::new();
    let m = market(
        &ctx,
        "mkt",
        "m",
        &[
            ("top", Some("1.0.0"), json!(["b"])),
            ("b", Some("1.0.0"), Value::Null),
        ],
        Value::Null,
    );
    ctx.ok(&["marketplace", "add", &s(&m)]);
    ctx.ok(&["install", "b@m"]);
    let out = ctx.ok(&["install", "top@m", "--scope", "project", "--json"]);
    assert_eq!(out.json()["dependencies"], json!(["b@m"]), "{out}");
    let b = records(&ctx, "b@m");
    assert_eq!(b.len(), 2, "{b:?}");
    let user = b
        .iter()
        .find(|r| r["scope"] == "user")
        .expect("user record");
    assert!(user.get("auto").is_none(), "{user}");
    let project = b
        .iter()
        .find(|r| r["scope"] == "project")
        .expect("project record");
    assert_eq!(project["auto"], true, "{project}");
    assert_eq!(project["projectPath"], s(&ctx.project), "{project}");
    let settings = ctx.settings(&ctx.project_settings());
    assert_eq!(
        settings["enabledPlugins"],
        json!({"top@m": true, "b@m": true})
    );
    assert!(
        settings["extraKnownMarketplaces"]["m"].is_object(),
        "{settings}"
    );
    // The user settings only have the explicit install.
    assert_eq!(
        ctx.settings(&ctx.user_settings())["enabledPlugins"],
        json!({"b@m": true})
    );
}

/// A marketplace repository `src` named `tm` with `top` (needs c ^2.0.0), `top5` (needs c
/// ^5.0.0), and `c` committed at 1.0.0, 2.0.0, 2.1.0 and 3.0.0, each tagged `c--v<version>`
/// (reference scenario 13). Returns the work tree.
fn tagged_repository(ctx: &TestContext) -> PathBuf {
    let src = ctx.root.join("src");
    write_marketplace(
        &src,
        "tm",
        json!([
            {"name": "top", "source": "./plugins/top"},
            {"name": "top5", "source": "./plugins/top5"},
            {"name": "c", "source": "./plugins/c"}
        ]),
    );
    plugin(
        &src,
        "top",
        Some("1.0.0"),
        json!([{"name": "c", "version": "^2.0.0"}]),
    );
    plugin(
        &src,
        "top5",
        Some("1.0.0"),
        json!([{"name": "c", "version": "^5.0.0"}]),
    );
    for version in ["1.0.0", "2.0.0", "2.1.0", "3.0.0"] {
        plugin(&src, "c", Some(version), Value::Null);
        crate::support::write_file(&src.join("plugins/c/VERSION"), version);
        commit_all(&src, &format!("c {version}"));
        git(&src, &["tag", &format!("c--v{version}")]);
    }
    src
}

/// Checks the record and cache directory of c resolved from tag `c--v2.1.0` of `src`.
#[track_caller]
fn assert_resolved_from_tag(ctx: &TestContext, src: &Path) {
    let commit = rev_parse(src, "c--v2.1.0^{commit}");
    let short = &commit[..12];
    let record = only_record(ctx, "c@tm");
    assert_eq!(record["version"], format!("2.1.0-{short}"), "{record}");
    assert_eq!(record["resolvedVersion"], "2.1.0", "{record}");
    assert_eq!(record["gitCommitSha"], commit, "{record}");
    assert_eq!(record["auto"], true, "{record}");
    let dir = ctx.cache().join("tm/c").join(format!("2.1.0-{short}"));
    assert_eq!(record["installPath"], s(&dir), "{record}");
    assert_eq!(
        fs_err::read_to_string(dir.join("VERSION")).expect("VERSION"),
        "2.1.0"
    );
    assert_eq!(
        read_json(&dir.join(".claude-plugin/plugin.json"))["version"],
        "2.1.0"
    );
    // No other version of c was left in the cache.
    let entries: Vec<_> = fs_err::read_dir(ctx.cache().join("tm/c"))
        .expect("cache/tm/c")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
}

#[test]
fn ranges_resolve_against_tags_of_a_git_marketplace() {
    let ctx = TestContext::new();
    let src = tagged_repository(&ctx);
    ctx.publish(&src, "acme/tm");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/tm"]);
    let out = ctx.ok(&["install", "top@tm", "--json"]);
    assert_eq!(out.json()["dependencies"], json!(["c@tm"]), "{out}");
    assert_resolved_from_tag(&ctx, &src);
}

#[test]
fn ranges_resolve_against_tags_of_a_directory_marketplace() {
    let ctx = TestContext::new();
    let src = tagged_repository(&ctx);
    ctx.ok(&["marketplace", "add", &s(&src)]);
    ctx.ok(&["install", "top@tm"]);
    assert_resolved_from_tag(&ctx, &src);
}

#[test]
fn ranges_resolve_with_the_git_cli_backend() {
    let ctx = TestContext::new();
    let src = tagged_repository(&ctx);
    ctx.publish(&src, "acme/tm");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/tm"]);
    let mut command = ctx.pm(&["install", "top@tm"]);
    command.env("PM_GIT_FETCH_WITH_CLI", "1");
    crate::support::run(command).assert_ok();
    assert_resolved_from_tag(&ctx, &src);
}

#[test]
fn an_unsatisfiable_range_fails_the_whole_install() {
    let ctx = TestContext::new();
    let src = tagged_repository(&ctx);
    ctx.publish(&src, "acme/tm");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/tm"]);
    let out = install_fails_cleanly(
        &ctx,
        "top5@tm",
        "dependency_unsatisfied",
        &[
            "No version of `c@tm` satisfies `^5.0.0` (required by `top5@tm`)",
            "the marketplace offers 3.0.0",
            "c--v3.0.0",
        ],
    );
    assert!(out.json()["message"].as_str().is_some());
    assert!(!ctx.plugins().join("installed_plugins.json").exists());
    assert!(!ctx.cache().exists(), "{out}");
}

#[test]
fn an_installed_dependency_out_of_range_fails_the_install() {
    let ctx = TestContext::new();
    let src = tagged_repository(&ctx);
    ctx.ok(&["marketplace", "add", &s(&src)]);
    // c at HEAD: 3.0.0, installed explicitly.
    ctx.ok(&["install", "c@tm"]);
    install_fails_cleanly(
        &ctx,
        "top@tm",
        "dependency_unsatisfied",
        &["Dependency `c@tm` is installed at 3.0.0 (scope: user), which does not satisfy `^2.0.0`"],
    );
    assert!(records(&ctx, "top@tm").is_empty());
}

#[test]
fn the_version_offered_satisfies_a_range_without_tags() {
    let (ctx, _) = basic();
    // c ^1.0.0 and c is 1.2.0: installed at that version, no resolvedVersion.
    ctx.ok(&["install", "top@m"]);
    assert_eq!(only_record(&ctx, "c@m")["version"], "1.2.0");
    // A range nothing satisfies, in a marketplace without tags.
    let ctx = TestContext::new();
    let m = market(
        &ctx,
        "mkt",
        "m",
        &[
            (
                "vbad",
                Some("1.0.0"),
                json!([{"name": "c", "version": "^2.0.0"}]),
            ),
            (
                "badrange",
                Some("1.0.0"),
                json!([{"name": "c", "version": "not-a-range"}]),
            ),
            ("c", Some("1.2.0"), Value::Null),
        ],
        Value::Null,
    );
    ctx.ok(&["marketplace", "add", &s(&m)]);
    install_fails_cleanly(
        &ctx,
        "vbad@m",
        "dependency_unsatisfied",
        &[
            "No version of `c@m` satisfies `^2.0.0`",
            "the marketplace offers 1.2.0",
        ],
    );
    install_fails_cleanly(
        &ctx,
        "badrange@m",
        "dependency_unsatisfied",
        &["`badrange@m` requires `c@m` at `not-a-range`, which is not a version range"],
    );
}

#[test]
fn a_marketplace_entry_declares_dependencies_when_plugin_json_does_not() {
    let ctx = TestContext::new();
    let m = ctx.root.join("mkt");
    // `bare` has no plugin.json: its entry (`strict: false`) is its manifest.
    crate::support::write_file(&m.join("plugins/bare/commands/hello.md"), "Say hello\n");
    plugin(&m, "b", Some("1.0.0"), Value::Null);
    write_marketplace(
        &m,
        "m",
        json!([
            {"name": "bare", "source": "./plugins/bare", "version": "0.1.0", "strict": false,
             "dependencies": ["b"]},
            {"name": "b", "source": "./plugins/b"}
        ]),
    );
    ctx.ok(&["marketplace", "add", &s(&m)]);
    let out = ctx.ok(&["install", "bare@m", "--json"]);
    assert_eq!(out.json()["dependencies"], json!(["b@m"]), "{out}");
    // prune reads the entry too: b is still needed.
    ctx.ok(&["prune", "-y"]).stderr_has(&["all still needed"]);
}

#[test]
fn disabling_a_dependency_of_an_enabled_plugin_is_refused() {
    let (ctx, _) = basic();
    ctx.ok(&["install", "top@m"]);
    let before = ctx.snapshot();
    let human = ctx.fails(&["disable", "b@m"], 1);
    human.stderr_has(&[
        "`b@m` is still required by `top@m`",
        "pm disable top@m && pm disable b@m",
    ]);
    let out = ctx.fails(&["disable", "b@m", "--json"], 1);
    let line = out.json();
    assert_eq!(line["failureCode"], "required_by_dependents", "{out}");
    assert_eq!(line["reverseDependents"], json!(["top"]), "{out}");
    assert_eq!(line["disableFirst"], json!(["top@m"]), "{out}");
    // Transitively needed (top → b → d): d is required by b, which is enabled.
    let out = ctx.fails(&["disable", "d@m", "--json"], 1);
    assert_eq!(out.json()["disableFirst"], json!(["b@m"]), "{out}");
    assert_same_tree(&before, &ctx.snapshot());

    // Once the dependent is disabled, so can its dependencies be.
    ctx.ok(&["disable", "top@m"]);
    ctx.ok(&["disable", "b@m"]);
    ctx.ok(&["disable", "d@m"]);
    let settings = ctx.settings(&ctx.user_settings());
    assert_eq!(settings["enabledPlugins"]["b@m"], false);
    assert_eq!(settings["enabledPlugins"]["d@m"], false);
}

#[test]
fn enabling_a_plugin_enables_its_disabled_dependencies() {
    let (ctx, _) = basic();
    ctx.ok(&["install", "top@m"]);
    ctx.ok(&["disable", "top@m"]);
    ctx.ok(&["disable", "b@m"]);
    ctx.ok(&["disable", "d@m"]);
    let out = ctx.ok(&["enable", "top@m", "--json"]);
    let line = out.json();
    assert_eq!(line["outcome"], "ok", "{out}");
    // b, then what b requires: d. c was never disabled.
    assert_eq!(line["dependenciesEnabled"], json!(["b@m", "d@m"]), "{out}");
    out.stderr_has(&["(also enabled 2 dependencies: b, d)"]);
    let settings = ctx.settings(&ctx.user_settings());
    assert_eq!(
        settings["enabledPlugins"],
        json!({"top@m": true, "b@m": true, "c@m": true, "d@m": true})
    );
    // Nothing disabled: nothing more to say.
    ctx.ok(&["disable", "top@m"]);
    let out = ctx.ok(&["enable", "top@m", "--json"]);
    assert!(out.json().get("dependenciesEnabled").is_none(), "{out}");
}

#[test]
fn list_marks_plugins_installed_as_dependencies() {
    let (ctx, _) = basic();
    ctx.ok(&["install", "top@m"]);
    let out = ctx.ok(&["list", "--json"]);
    let rows = out.json();
    let auto_of = |id: &str| {
        rows.as_array()
            .and_then(|rows| rows.iter().find(|row| row["id"] == id))
            .map(|row| row["auto"].clone())
    };
    assert_eq!(auto_of("top@m"), Some(Value::Null), "{out}");
    assert_eq!(auto_of("b@m"), Some(json!(true)), "{out}");
    let human = ctx.ok(&["list"]);
    let line_of = |id: &str| {
        human
            .stdout
            .lines()
            .find(|line| line.starts_with(id))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line_of("b@m").contains("dependency"), "{human}");
    assert!(!line_of("top@m").contains("dependency"), "{human}");
}

/// `tagged_repository` plus a plugin `pinned` whose dependency on c is pinned to commit `sha`
/// (and, when given, a version range); returns the repository.
fn pinned_repository(
    ctx: &TestContext,
    sha: impl Fn(&Path) -> String,
    range: Option<&str>,
) -> PathBuf {
    let src = tagged_repository(ctx);
    let mut dependency = json!({"name": "c", "sha": sha(&src)});
    if let Some(range) = range {
        dependency["version"] = json!(range);
    }
    plugin(&src, "pinned", Some("1.0.0"), json!([dependency]));
    let path = src.join(".claude-plugin/marketplace.json");
    let mut manifest = read_json(&path);
    if let Some(plugins) = manifest["plugins"].as_array_mut() {
        plugins.push(json!({"name": "pinned", "source": "./plugins/pinned"}));
    }
    write_json(&path, &manifest);
    commit_all(&src, "pinned");
    src
}

#[test]
fn a_sha_installs_the_dependency_as_it_is_at_that_commit() {
    let ctx = TestContext::new();
    let src = pinned_repository(&ctx, |src| rev_parse(src, "c--v2.0.0^{commit}"), None);
    ctx.publish(&src, "acme/tm");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/tm"]);
    let out = ctx.ok(&["install", "pinned@tm", "--json"]);
    assert_eq!(out.json()["dependencies"], json!(["c@tm"]), "{out}");
    let commit = rev_parse(&src, "c--v2.0.0^{commit}");
    let short = &commit[..12];
    let record = only_record(&ctx, "c@tm");
    assert_eq!(record["version"], format!("2.0.0-{short}"), "{record}");
    assert_eq!(record["resolvedVersion"], "2.0.0", "{record}");
    assert_eq!(record["gitCommitSha"], commit, "{record}");
    let dir = ctx.cache().join("tm/c").join(format!("2.0.0-{short}"));
    assert_eq!(record["installPath"], s(&dir), "{record}");
    assert_eq!(
        fs_err::read_to_string(dir.join("VERSION")).expect("VERSION"),
        "2.0.0"
    );
}

#[test]
fn a_sha_pin_that_cannot_be_met_fails_the_whole_install() {
    // A commit the repository does not have.
    let ctx = TestContext::new();
    let src = pinned_repository(
        &ctx,
        |_| "0123456789abcdef0123456789abcdef01234567".into(),
        None,
    );
    ctx.publish(&src, "acme/tm");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/tm"]);
    install_fails_cleanly(
        &ctx,
        "pinned@tm",
        "error_not_found",
        &["0123456789abcdef0123456789abcdef01234567"],
    );

    // A commit whose version is outside the range.
    let ctx = TestContext::new();
    let src = pinned_repository(
        &ctx,
        |src| rev_parse(src, "c--v1.0.0^{commit}"),
        Some("^2.0.0"),
    );
    ctx.ok(&["marketplace", "add", &s(&src)]);
    install_fails_cleanly(
        &ctx,
        "pinned@tm",
        "dependency_unsatisfied",
        &["^2.0.0", "1.0.0"],
    );

    // Not a commit hash.
    let ctx = TestContext::new();
    let src = pinned_repository(&ctx, |_| "main".into(), None);
    ctx.ok(&["marketplace", "add", &s(&src)]);
    install_fails_cleanly(
        &ctx,
        "pinned@tm",
        "error_validation",
        &["40-character commit hash"],
    );
}
