//! The plugin lifecycle end to end (reference-lifecycle.md §0–§8, DEVIATIONS 1, 5, 7, 9, 13,
//! 15): marketplace add/list/remove/update, install, uninstall, list, settings preservation,
//! `--json` lines and exit codes, `CLAUDE_CONFIG_DIR`. Every test drives the `pm` binary and
//! checks both its output and the files it leaves behind.

use crate::support::{
    TestContext, commit_all, git, is_iso_millis, json_line, keys, now_millis, read_json, rev_parse,
    run, sorted, write_file, write_json, write_marketplace, write_plugin,
};
use serde_json::{Value, json};
use std::path::Path;

/// A path as pm writes it into JSON.
fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// The sorted names in a directory.
fn ls(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts a `known_marketplaces.json` entry has exactly the reference's keys and values.
#[track_caller]
fn assert_known_entry(ctx: &TestContext, name: &str, source: Value, install_location: &Path) {
    let known = ctx.known();
    let entry = &known[name];
    assert_eq!(
        keys(entry),
        sorted(&["source", "installLocation", "lastUpdated"]),
        "known_marketplaces.json entry {name}: {entry}"
    );
    assert_eq!(entry["source"], source, "source of {name}");
    assert_eq!(
        entry["installLocation"],
        Value::from(s(install_location)),
        "installLocation of {name}"
    );
    assert!(
        is_iso_millis(entry["lastUpdated"].as_str().unwrap_or_default()),
        "lastUpdated of {name}: {}",
        entry["lastUpdated"]
    );
}

/// Asserts `extraKnownMarketplaces.<name>` of the settings file at `path` is `{"source": source}`.
#[track_caller]
fn assert_declared(ctx: &TestContext, path: &Path, name: &str, source: &Value) {
    let settings = ctx.settings(path);
    assert_eq!(
        settings["extraKnownMarketplaces"][name],
        json!({ "source": source }),
        "extraKnownMarketplaces.{name} in {}: {settings}",
        path.display()
    );
}

/// The one install record of `id` (asserts there is exactly one).
#[track_caller]
fn only_record(ctx: &TestContext, id: &str) -> Value {
    let installed = ctx.installed();
    let records = installed["plugins"][id]
        .as_array()
        .unwrap_or_else(|| panic!("no records for {id}: {installed}"))
        .clone();
    assert_eq!(records.len(), 1, "records of {id}: {installed}");
    records[0].clone()
}

/// A marketplace `root/<dir>` named `name` with one plugin `p` (plugin.json 1.0.0) and a
/// `marker.txt` holding `marker`.
fn marker_marketplace(dir: &Path, name: &str, marker: &str) {
    write_plugin(&dir.join("plugins/p"), "p", Some("1.0.0"));
    write_marketplace(dir, name, json!([{"name": "p", "source": "./plugins/p"}]));
    write_file(&dir.join("marker.txt"), marker);
}

// ---- marketplace add ---------------------------------------------------------------------------

#[test]
fn marketplace_add_local_directories() {
    let ctx = TestContext::new();
    let relative = ctx.project.join("m");
    write_plugin(&relative.join("plugins/r"), "r", Some("1.0.0"));
    write_marketplace(
        &relative,
        "rel-mkt",
        json!([{"name": "r", "source": "./plugins/r"}]),
    );
    let absolute = ctx.simple_marketplace("abs-m", "abs-mkt");
    let tilde = ctx.home.join("m");
    write_marketplace(&tilde, "tilde-mkt", json!([]));
    let absolute_arg = s(&absolute);

    for (arg, name, dir) in [
        ("./m", "rel-mkt", &relative),
        (absolute_arg.as_str(), "abs-mkt", &absolute),
        ("~/m", "tilde-mkt", &tilde),
    ] {
        let out = ctx.ok(&["marketplace", "add", arg, "--json"]);
        let line = out.json();
        assert_eq!(line["command"], "marketplace-add", "{out}");
        assert_eq!(line["outcome"], "ok", "{out}");
        assert_eq!(line["marketplace"], name, "{out}");
        let source = json!({"source": "directory", "path": s(dir)});
        assert_known_entry(&ctx, name, source.clone(), dir);
        assert_declared(&ctx, &ctx.user_settings(), name, &source);
    }
    // Directory marketplaces are used in place: nothing is cloned or copied.
    assert!(!ctx.marketplaces().exists());
    // known_marketplaces.json: insertion order, 2-space JSON, no final newline.
    let known = ctx.known();
    let names: Vec<&String> = known.as_object().expect("object").keys().collect();
    assert_eq!(names, ["rel-mkt", "abs-mkt", "tilde-mkt"]);
    let text = fs_err::read_to_string(ctx.plugins().join("known_marketplaces.json")).expect("read");
    assert!(
        text.starts_with("{\n  \"rel-mkt\": {\n    \"source\""),
        "{text}"
    );
    assert!(
        !text.ends_with('\n'),
        "known_marketplaces.json ends without newline"
    );
    // A new settings file: 2-space JSON with a final newline.
    let settings = fs_err::read_to_string(ctx.user_settings()).expect("read settings");
    assert!(
        settings.starts_with("{\n  \"extraKnownMarketplaces\": {\n    \"rel-mkt\""),
        "{settings}"
    );
    assert!(settings.ends_with("}\n"), "{settings}");
    // The human form, on a fresh name: stderr says what was added.
    let other = ctx.simple_marketplace("other", "other-mkt");
    let out = ctx.ok(&["marketplace", "add", &s(&other)]);
    assert!(out.stdout.is_empty(), "{out}");
    out.stderr_has(&["other-mkt"]);
}

#[test]
fn marketplace_add_json_file_uses_the_grandparent() {
    let ctx = TestContext::new();
    let market = ctx.root.join("fm");
    write_plugin(&market.join("plugins/p1"), "p1", Some("1.0.0"));
    let file = market.join("other/custom.json");
    write_json(
        &file,
        &json!({"name": "file-mkt", "owner": {"name": "T"}, "plugins": [
            {"name": "p1", "source": "./plugins/p1"}
        ]}),
    );
    let out = ctx.ok(&["marketplace", "add", &s(&file), "--json"]);
    assert_eq!(out.json()["marketplace"], "file-mkt");
    let source = json!({"source": "file", "path": s(&file)});
    assert_known_entry(&ctx, "file-mkt", source.clone(), &market);
    assert_declared(&ctx, &ctx.user_settings(), "file-mkt", &source);
    // Relative plugin sources resolve against the installLocation (the grandparent).
    ctx.ok(&["install", "p1@file-mkt"]);
    assert!(
        ctx.cache()
            .join("file-mkt/p1/1.0.0/commands/hello.md")
            .is_file()
    );
}

#[test]
fn marketplace_add_github_over_local_transport_clones_fully() {
    let ctx = TestContext::new();
    let src = ctx.simple_marketplace("src-m", "gm");
    let bare = ctx.publish(&src, "acme/m");
    ctx.github_over_files();

    let out = ctx.ok(&["marketplace", "add", "acme/m", "--json"]);
    assert_eq!(
        out.json(),
        json!({"command": "marketplace-add", "outcome": "ok", "marketplace": "gm",
               "message": out.json()["message"].clone()})
    );
    let clone = ctx.marketplaces().join("gm");
    let source = json!({"source": "github", "repo": "acme/m"});
    assert_known_entry(&ctx, "gm", source.clone(), &clone);
    assert_declared(&ctx, &ctx.user_settings(), "gm", &source);
    assert!(clone.join(".claude-plugin/marketplace.json").is_file());
    assert!(
        clone
            .join("plugins/p1/.claude-plugin/plugin.json")
            .is_file()
    );
    assert_eq!(rev_parse(&clone, "HEAD"), rev_parse(&bare, "HEAD"));
    assert!(
        !clone.join(".git/shallow").exists(),
        "a clone over file:// is a full clone"
    );
    // No temporary clone directory is left behind.
    assert_eq!(ls(&ctx.marketplaces()), ["gm"]);
}

#[test]
fn marketplace_add_github_over_http_clones_shallow() {
    let mut ctx = TestContext::new();
    let src = ctx.simple_marketplace("src-m", "hm");
    let bare = ctx.publish(&src, "acme/m");
    // A second commit, so that a shallow clone is distinguishable from a full one.
    write_file(&src.join("NEWS.md"), "second\n");
    ctx.publish(&src, "acme/m");
    ctx.github_over_http();

    let out = ctx.ok(&["marketplace", "add", "acme/m", "--json"]);
    assert_eq!(out.json()["marketplace"], "hm", "{out}");
    let clone = ctx.marketplaces().join("hm");
    let source = json!({"source": "github", "repo": "acme/m"});
    assert_known_entry(&ctx, "hm", source.clone(), &clone);
    assert_declared(&ctx, &ctx.user_settings(), "hm", &source);
    assert!(
        clone.join(".git/shallow").is_file(),
        "a clone over HTTP is shallow"
    );
    assert_eq!(rev_parse(&clone, "HEAD"), rev_parse(&bare, "HEAD"));
    assert_eq!(git(&clone, &["rev-list", "--count", "HEAD"]), "1");
    assert!(clone.join("NEWS.md").is_file());

    // Plugins of a marketplace fetched over HTTP install with the clone's commit.
    ctx.ok(&["install", "p1@hm"]);
    assert_eq!(
        only_record(&ctx, "p1@hm")["gitCommitSha"],
        Value::from(rev_parse(&bare, "HEAD"))
    );
}

#[test]
fn marketplace_add_github_branch_and_tag() {
    let mut ctx = TestContext::new();
    let src = ctx.root.join("branchy");
    marker_marketplace(&src, "mk-v1", "v1");
    commit_all(&src, "v1");
    git(&src, &["tag", "-a", "-m", "release v1", "v1"]);
    git(&src, &["checkout", "-q", "-b", "dev"]);
    marker_marketplace(&src, "mk-dev", "dev");
    commit_all(&src, "dev");
    git(&src, &["checkout", "-q", "main"]);
    marker_marketplace(&src, "mk-main", "main");
    ctx.publish(&src, "acme/m");
    ctx.github_over_http();

    for (arg, name, reference, marker) in [
        ("acme/m@dev", "mk-dev", Some("dev"), "dev"),
        ("acme/m#v1", "mk-v1", Some("v1"), "v1"),
        ("acme/m", "mk-main", None, "main"),
    ] {
        let out = ctx.ok(&["marketplace", "add", arg, "--json"]);
        assert_eq!(out.json()["marketplace"], name, "{out}");
        let mut source = json!({"source": "github", "repo": "acme/m"});
        if let Some(reference) = reference {
            source["ref"] = Value::from(reference);
        }
        let clone = ctx.marketplaces().join(name);
        assert_known_entry(&ctx, name, source.clone(), &clone);
        assert_declared(&ctx, &ctx.user_settings(), name, &source);
        assert_eq!(
            fs_err::read_to_string(clone.join("marker.txt")).expect("marker"),
            marker,
            "{arg} checks out {marker}"
        );
    }
}

#[test]
fn marketplace_add_git_urls() {
    let ctx = TestContext::new();
    let m = ctx.root.join("m");
    marker_marketplace(&m, "url-mkt", "m");
    ctx.publish(&m, "acme/m");
    let n = ctx.root.join("n");
    marker_marketplace(&n, "ssh-main", "main");
    commit_all(&n, "main");
    git(&n, &["checkout", "-q", "-b", "dev"]);
    marker_marketplace(&n, "ssh-dev", "dev");
    commit_all(&n, "dev");
    git(&n, &["checkout", "-q", "main"]);
    ctx.publish(&n, "acme/n");
    ctx.github_over_files();

    // An https URL to github.com is a `git` source with `.git` appended.
    let out = ctx.ok(&["marketplace", "add", "https://github.com/acme/m", "--json"]);
    assert_eq!(out.json()["marketplace"], "url-mkt");
    let source = json!({"source": "git", "url": "https://github.com/acme/m.git"});
    assert_known_entry(
        &ctx,
        "url-mkt",
        source.clone(),
        &ctx.marketplaces().join("url-mkt"),
    );
    assert_declared(&ctx, &ctx.user_settings(), "url-mkt", &source);

    // An scp-like SSH address is kept verbatim, `#ref` split off.
    let out = ctx.ok(&[
        "marketplace",
        "add",
        "git@github.com:acme/n.git#dev",
        "--json",
    ]);
    assert_eq!(out.json()["marketplace"], "ssh-dev");
    let source = json!({"source": "git", "url": "git@github.com:acme/n.git", "ref": "dev"});
    let clone = ctx.marketplaces().join("ssh-dev");
    assert_known_entry(&ctx, "ssh-dev", source.clone(), &clone);
    assert_declared(&ctx, &ctx.user_settings(), "ssh-dev", &source);
    assert_eq!(
        fs_err::read_to_string(clone.join("marker.txt")).expect("marker"),
        "dev"
    );
}

#[test]
fn marketplace_add_url_json() {
    let mut ctx = TestContext::new();
    let www = ctx.root.join("www");
    let manifest = json!({"name": "urlmkt", "owner": {"name": "T"}, "plugins": [
        {"name": "p", "source": {"source": "github", "repo": "acme/p"}, "description": "remote"}
    ]});
    // Served compact: pm stores it re-serialized with 2-space indentation.
    write_file(
        &www.join("market.json"),
        &serde_json::to_string(&manifest).expect("json"),
    );
    let base = ctx.serve_files(&www);
    let url = format!("{base}market.json");

    let out = ctx.ok(&["marketplace", "add", &url, "--json"]);
    assert_eq!(out.json()["marketplace"], "urlmkt", "{out}");
    let file = ctx.marketplaces().join("urlmkt");
    assert!(file.is_file(), "the URL marketplace is stored as a file");
    assert_eq!(read_json(&file), manifest);
    let text = fs_err::read_to_string(&file).expect("read");
    assert!(text.starts_with("{\n  \"name\": \"urlmkt\""), "{text}");
    let source = json!({"source": "url", "url": url});
    assert_known_entry(&ctx, "urlmkt", source.clone(), &file);
    assert_declared(&ctx, &ctx.user_settings(), "urlmkt", &source);
    // Its plugins are listed from the stored file.
    let available = ctx.ok(&["list", "--json", "--available"]).json();
    assert_eq!(available["available"][0]["pluginId"], "p@urlmkt");
}

#[test]
fn marketplace_add_sparse_checks_out_only_the_cone() {
    let ctx = TestContext::new();
    let src = ctx.root.join("sp");
    write_plugin(&src.join("plugins/x"), "x", Some("1.0.0"));
    write_marketplace(
        &src,
        "sparse-mkt",
        json!([{"name": "x", "source": "./plugins/x"}]),
    );
    ctx.publish(&src, "acme/sp");
    ctx.github_over_files();

    ctx.ok(&[
        "marketplace",
        "add",
        "--json",
        "acme/sp",
        "--sparse",
        ".claude-plugin",
    ]);
    let clone = ctx.marketplaces().join("sparse-mkt");
    let source = json!({"source": "github", "repo": "acme/sp", "sparsePaths": [".claude-plugin"]});
    assert_known_entry(&ctx, "sparse-mkt", source.clone(), &clone);
    assert_declared(&ctx, &ctx.user_settings(), "sparse-mkt", &source);
    assert!(clone.join(".claude-plugin/marketplace.json").is_file());
    assert!(
        !clone.join("plugins").exists(),
        "plugins/ is outside the cone"
    );

    let out = ctx.fails(&["install", "x@sparse-mkt", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "error_not_found", "{out}");
    out.stderr_has(&["plugins/x"]);
    assert!(!ctx.cache().join("sparse-mkt").exists());
}

#[test]
fn marketplace_add_scopes_write_the_right_settings_file() {
    let ctx = TestContext::new();
    let a = ctx.simple_marketplace("a", "mk-a");
    let b = ctx.simple_marketplace("b", "mk-b");
    let source_a = json!({"source": "directory", "path": s(&a)});
    let source_b = json!({"source": "directory", "path": s(&b)});

    // local → the git root of the cwd, even from a subdirectory.
    ctx.ok_in(
        &ctx.sub,
        &["marketplace", "add", &s(&a), "--scope", "local"],
    );
    assert_declared(&ctx, &ctx.local_settings(), "mk-a", &source_a);
    assert!(!ctx.sub.join(".claude").exists());
    // project → the cwd itself, not the git root.
    ctx.ok_in(
        &ctx.sub,
        &["marketplace", "add", &s(&b), "--scope", "project"],
    );
    let sub_project = ctx.project_settings_in(&ctx.sub);
    assert_declared(&ctx, &sub_project, "mk-b", &source_b);
    assert!(!ctx.project_settings().exists());
    // A known marketplace added to another scope: declared there too.
    ctx.ok_in(
        &ctx.sub,
        &["marketplace", "add", &s(&a), "--scope", "project"],
    );
    assert_declared(&ctx, &sub_project, "mk-a", &source_a);
    // User settings were never involved; known_marketplaces.json has both, once.
    assert!(!ctx.user_settings().exists());
    assert_eq!(keys(&ctx.known()), sorted(&["mk-a", "mk-b"]));
    let local = ctx.settings(&ctx.local_settings());
    assert_eq!(keys(&local["extraKnownMarketplaces"]), sorted(&["mk-a"]));
}

#[test]
fn marketplace_add_same_source_again_does_not_clone() {
    let ctx = TestContext::new();
    let src = ctx.simple_marketplace("src-m", "gm");
    let bare = ctx.publish(&src, "acme/m");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/m"]);
    let clone = ctx.marketplaces().join("gm");
    let first = rev_parse(&clone, "HEAD");
    let known_before = ctx.known();

    // A new upstream commit: a clone would pick it up.
    write_file(&src.join("NEWS.md"), "news\n");
    ctx.publish(&src, "acme/m");
    assert_ne!(rev_parse(&bare, "HEAD"), first);

    let out = ctx.ok(&["marketplace", "add", "acme/m", "--json"]);
    let line = out.json();
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["marketplace"], "gm");
    assert!(
        line["message"]
            .as_str()
            .unwrap_or_default()
            .contains("already"),
        "{out}"
    );
    assert_eq!(rev_parse(&clone, "HEAD"), first, "no new clone");
    assert!(!clone.join("NEWS.md").exists());
    assert_eq!(ctx.known(), known_before);

    // The same source for another scope: declared there, still no clone.
    ctx.ok(&[
        "marketplace",
        "add",
        "acme/m",
        "--scope",
        "project",
        "--json",
    ]);
    assert_declared(
        &ctx,
        &ctx.project_settings(),
        "gm",
        &json!({"source": "github", "repo": "acme/m"}),
    );
    assert_eq!(rev_parse(&clone, "HEAD"), first, "no new clone");
    assert_eq!(ctx.known(), known_before);
}

#[test]
fn marketplace_add_repoints_a_local_marketplace() {
    let ctx = TestContext::new();
    let a = ctx.simple_marketplace("a", "dm");
    let b = ctx.simple_marketplace("b", "dm");
    ctx.ok(&["marketplace", "add", &s(&a)]);
    let out = ctx.ok(&["marketplace", "add", &s(&b), "--json"]);
    let message = out.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(message.contains("now points at"), "{out}");
    assert!(
        message.contains(&s(&a)) && message.contains(&s(&b)),
        "{out}"
    );
    let source = json!({"source": "directory", "path": s(&b)});
    assert_known_entry(&ctx, "dm", source.clone(), &b);
    assert_declared(&ctx, &ctx.user_settings(), "dm", &source);
    assert_eq!(keys(&ctx.known()), sorted(&["dm"]));
}

#[test]
fn marketplace_add_remote_repoint_is_refused_while_declared() {
    let ctx = TestContext::new();
    let one = ctx.simple_marketplace("one", "gm");
    ctx.publish(&one, "acme/one");
    let two = ctx.simple_marketplace("two", "gm");
    write_file(&two.join("TWO.md"), "two\n");
    ctx.publish(&two, "acme/two");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/one"]);
    let clone = ctx.marketplaces().join("gm");
    let head = rev_parse(&clone, "HEAD");
    let before = ctx.snapshot();

    let out = ctx.fails(&["marketplace", "add", "acme/two", "--json"], 1);
    let line = out.json();
    assert_eq!(line["failureCode"], "declared", "{out}");
    assert_eq!(line["outcome"], "failed");
    out.stderr_has(&["gm", "extraKnownMarketplaces"]);
    crate::support::assert_same_tree(&before, &ctx.snapshot());
    assert_eq!(rev_parse(&clone, "HEAD"), head);
    assert!(!clone.join("TWO.md").exists());
}

// ---- marketplace list --------------------------------------------------------------------------

#[test]
fn marketplace_list_json_shape() {
    let ctx = TestContext::new();
    assert_eq!(ctx.ok(&["marketplace", "list", "--json"]).stdout, "[]\n");

    let dm = ctx.simple_marketplace("dm", "dm");
    let m = ctx.root.join("m");
    marker_marketplace(&m, "gm-main", "main");
    commit_all(&m, "main");
    git(&m, &["checkout", "-q", "-b", "dev"]);
    marker_marketplace(&m, "gm-dev", "dev");
    commit_all(&m, "dev");
    git(&m, &["checkout", "-q", "main"]);
    ctx.publish(&m, "acme/m");
    let n = ctx.root.join("n");
    marker_marketplace(&n, "n-mkt", "n");
    ctx.publish(&n, "acme/n");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", &s(&dm)]);
    ctx.ok(&["marketplace", "add", "acme/m@dev"]);
    ctx.ok(&[
        "marketplace",
        "add",
        "https://github.com/acme/n",
        "--sparse",
        ".claude-plugin",
        "plugins",
    ]);

    let list = json_line(&ctx.ok(&["marketplace", "list", "--json"]).stdout);
    assert_eq!(
        list,
        json!([
            {"name": "dm", "source": "directory", "path": s(&dm), "installLocation": s(&dm)},
            {"name": "gm-dev", "source": "github", "repo": "acme/m", "ref": "dev",
             "installLocation": s(&ctx.marketplaces().join("gm-dev"))},
            {"name": "n-mkt", "source": "git", "url": "https://github.com/acme/n.git",
             "installLocation": s(&ctx.marketplaces().join("n-mkt"))}
        ])
    );
    // `ls` alias and the human form: one line per marketplace on stdout.
    let out = ctx.ok(&["marketplace", "ls"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0].starts_with("dm ") && lines[0].contains(&s(&dm)),
        "{out}"
    );
    assert!(lines[1].starts_with("gm-dev") && lines[1].contains("acme/m@dev"));
    assert!(lines[2].starts_with("n-mkt") && lines[2].contains("https://github.com/acme/n.git"));
}

// ---- marketplace remove ------------------------------------------------------------------------

#[test]
fn marketplace_remove_uninstalls_everywhere() {
    let ctx = TestContext::new();
    let src = ctx.simple_marketplace("gsrc", "gm");
    ctx.publish(&src, "acme/m");
    ctx.github_over_files();
    let dm = ctx.simple_marketplace("dsrc", "dm");
    ctx.ok(&["marketplace", "add", "acme/m"]);
    ctx.ok(&["marketplace", "add", &s(&dm)]);
    ctx.ok(&["install", "p1@gm"]);
    ctx.ok(&["install", "p1@gm", "--scope", "project"]);
    ctx.ok(&["install", "p2@gm", "--scope", "local"]);
    ctx.ok(&["install", "p1@dm"]);
    // An enabledPlugins entry of the marketplace that was never installed goes too.
    let mut user = ctx.settings(&ctx.user_settings());
    user["enabledPlugins"]["ghost@gm"] = Value::Bool(false);
    write_json(&ctx.user_settings(), &user);
    for id in ["p1-gm", "p2-gm", "p1-dm"] {
        write_file(&ctx.data().join(id).join("state.txt"), "data");
    }
    let t0 = now_millis();

    let out = ctx.ok(&["marketplace", "remove", "gm", "--json"]);
    let line = out.json();
    assert_eq!(line["command"], "marketplace-remove");
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["marketplace"], "gm");
    assert!(
        line["message"]
            .as_str()
            .unwrap_or_default()
            .contains("p2@gm")
    );

    let installed = ctx.installed();
    assert_eq!(keys(&installed["plugins"]), sorted(&["p1@dm"]));
    let user = ctx.settings(&ctx.user_settings());
    assert_eq!(user["enabledPlugins"], json!({"p1@dm": true}));
    assert_eq!(keys(&user["extraKnownMarketplaces"]), sorted(&["dm"]));
    let project = ctx.settings(&ctx.project_settings());
    assert_eq!(project["enabledPlugins"], json!({}));
    assert_eq!(project["extraKnownMarketplaces"], json!({}));
    let local = ctx.settings(&ctx.local_settings());
    assert_eq!(local["enabledPlugins"], json!({}));
    assert_eq!(keys(&ctx.known()), sorted(&["dm"]));

    assert!(!ctx.marketplaces().join("gm").exists(), "clone deleted");
    assert!(!ctx.data().join("p1-gm").exists());
    assert!(!ctx.data().join("p2-gm").exists());
    assert!(ctx.data().join("p1-dm/state.txt").is_file());
    for dir in ["gm/p1/1.0.0", "gm/p2/0.5.0"] {
        let marker = ctx.cache().join(dir).join(".orphaned_at");
        let text = fs_err::read_to_string(&marker).expect("cache dir marked .orphaned_at");
        let millis: u128 = text.parse().expect("epoch milliseconds, no newline");
        assert!(millis >= t0 && millis <= now_millis(), "{text}");
        assert!(ctx.cache().join(dir).join("commands/hello.md").is_file());
    }
    assert!(!ctx.cache().join("dm/p1/1.0.0/.orphaned_at").exists());

    // A directory source is never touched.
    let before = crate::support::snapshot(&dm);
    ctx.ok(&["marketplace", "rm", "dm"]);
    crate::support::assert_same_tree(&before, &crate::support::snapshot(&dm));
    assert_eq!(ctx.known(), json!({}));
}

#[test]
fn marketplace_remove_with_scope() {
    let ctx = TestContext::new();
    let dm = ctx.simple_marketplace("dm", "dm");
    ctx.ok(&["marketplace", "add", &s(&dm)]);
    ctx.ok(&["marketplace", "add", &s(&dm), "--scope", "project"]);
    ctx.ok(&["install", "p1@dm"]);

    let out = ctx.ok(&[
        "marketplace",
        "remove",
        "dm",
        "--scope",
        "project",
        "--json",
    ]);
    assert!(
        out.json()["message"]
            .as_str()
            .unwrap_or_default()
            .contains("project"),
        "{out}"
    );
    assert_eq!(
        ctx.settings(&ctx.project_settings())["extraKnownMarketplaces"],
        json!({})
    );
    assert_declared(
        &ctx,
        &ctx.user_settings(),
        "dm",
        &json!({"source": "directory", "path": s(&dm)}),
    );
    assert_eq!(keys(&ctx.known()), sorted(&["dm"]));
    assert_eq!(keys(&ctx.installed()["plugins"]), sorted(&["p1@dm"]));

    // Not declared there (any more).
    let out = ctx.fails(
        &[
            "marketplace",
            "remove",
            "dm",
            "--scope",
            "project",
            "--json",
        ],
        1,
    );
    assert!(
        out.stdout.starts_with(
            r#"{"command":"marketplace-remove","marketplace":"dm","outcome":"failed""#
        ),
        "{out}"
    );
    assert_eq!(out.json()["failureCode"], "not_configured");
    out.stderr_has(&["dm", "project"]);

    // The last declaration: a full removal.
    ctx.ok(&["marketplace", "remove", "dm", "--scope", "user"]);
    assert_eq!(ctx.known(), json!({}));
    assert_eq!(ctx.installed()["plugins"], json!({}));

    let out = ctx.fails(&["marketplace", "remove", "nope", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "not_configured");
    out.stderr_has(&["nope"]);
}

// ---- marketplace update ------------------------------------------------------------------------

#[test]
fn marketplace_update_git() {
    let ctx = TestContext::new();
    let src = ctx.simple_marketplace("usrc", "um");
    ctx.publish(&src, "acme/um");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/um"]);
    let clone = ctx.marketplaces().join("um");

    let out = ctx.ok(&["marketplace", "update", "um", "--json"]);
    let line = out.json();
    assert_eq!(line["command"], "marketplace-update");
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["updated"], false, "{out}");
    assert!(
        line["message"]
            .as_str()
            .unwrap_or_default()
            .contains("up to date")
    );

    // New upstream content.
    write_plugin(&src.join("plugins/p3"), "p3", Some("3.0.0"));
    write_marketplace(
        &src,
        "um",
        json!([
            {"name": "p1", "source": "./plugins/p1"},
            {"name": "p2", "source": "./plugins/p2", "version": "0.5.0"},
            {"name": "p3", "source": "./plugins/p3"}
        ]),
    );
    let bare = ctx.publish(&src, "acme/um");
    let second = rev_parse(&bare, "HEAD");
    // Local changes in the clone go, as with the reference's fresh clone; pm fetches into the
    // clone, so a file that did not change upstream is not written again (DEVIATIONS: refresh).
    write_file(&clone.join("untracked.txt"), "mine");
    write_file(&clone.join("plugins/p1/.claude-plugin/plugin.json"), "{}");
    let unchanged = clone.join("plugins/p2/.claude-plugin/plugin.json");
    let unchanged_inode = inode(&unchanged);
    let out = ctx.ok(&["marketplace", "update", "um", "--json"]);
    assert_eq!(out.json()["updated"], true, "{out}");
    assert_eq!(rev_parse(&clone, "HEAD"), second);
    assert!(!clone.join("untracked.txt").exists(), "untracked files go");
    assert_eq!(
        read_json(&clone.join("plugins/p1/.claude-plugin/plugin.json"))["name"],
        "p1",
        "local changes go"
    );
    assert_eq!(inode(&unchanged), unchanged_inode, "refreshed in place");
    ctx.ok(&["install", "p3@um"]);
    assert_eq!(only_record(&ctx, "p3@um")["version"], "3.0.0");

    // A broken upstream marketplace.json: refused, the old clone stays and works.
    write_file(
        &src.join(".claude-plugin/marketplace.json"),
        "{\"name\": \"um\",\n",
    );
    ctx.publish(&src, "acme/um");
    let out = ctx.fails(&["marketplace", "update", "um", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "manifest_invalid", "{out}");
    out.stderr_has(&["marketplace.json"]);
    assert_eq!(rev_parse(&clone, "HEAD"), second, "the old clone is kept");
    assert_eq!(
        read_json(&clone.join(".claude-plugin/marketplace.json"))["name"],
        "um"
    );
    assert_eq!(ls(&ctx.marketplaces()), ["um"], "no temporary clone left");
    ctx.ok(&["install", "p2@um"]);
    assert_eq!(only_record(&ctx, "p2@um")["version"], "0.5.0");
}

#[test]
fn marketplace_update_all_prints_one_json_line() {
    let ctx = TestContext::new();
    let a = ctx.simple_marketplace("a", "mk-a");
    let b = ctx.simple_marketplace("b", "mk-b");
    let src = ctx.simple_marketplace("gsrc", "gm");
    ctx.publish(&src, "acme/m");
    ctx.github_over_files();
    for source in [s(&a), s(&b), "acme/m".to_owned()] {
        ctx.ok(&["marketplace", "add", &source]);
    }

    let out = ctx.ok(&["marketplace", "update", "--json"]);
    let line = out.json();
    assert_eq!(line["command"], "marketplace-update");
    assert_eq!(line["outcome"], "ok", "{out}");
    let names: Vec<&Value> = line["marketplaces"]
        .as_array()
        .expect("one element per marketplace")
        .iter()
        .map(|m| &m["marketplace"])
        .collect();
    assert_eq!(names, ["mk-a", "mk-b", "gm"]);

    // One broken marketplace: still one line, failed, with the first failure's code.
    fs_err::remove_file(b.join(".claude-plugin/marketplace.json")).expect("rm");
    let out = ctx.fails(&["marketplace", "update", "--json"], 1);
    let line = out.json();
    assert_eq!(line["outcome"], "failed", "{out}");
    assert_eq!(line["failureCode"], "manifest_missing", "{out}");
    assert_eq!(line["marketplaces"][1]["outcome"], "failed");
    assert_eq!(line["marketplaces"][0]["outcome"], "ok");
    assert_eq!(line["marketplaces"][2]["outcome"], "ok");
    out.stderr_has(&["error:", "marketplace.json"]);
    let human = ctx.fails(&["marketplace", "update"], 1);
    assert!(human.stdout.is_empty(), "{human}");
    human.stderr_has(&["2 of 3 marketplaces updated"]);
}

// ---- install -----------------------------------------------------------------------------------

#[test]
fn install_at_each_scope() {
    let ctx = TestContext::new();
    let dm = ctx.simple_marketplace("dm-src", "dm");
    ctx.ok(&["marketplace", "add", &s(&dm)]);

    for (scope, settings) in [
        ("user", ctx.user_settings()),
        ("project", ctx.project_settings_in(&ctx.sub)),
        ("local", ctx.local_settings()),
    ] {
        let out = ctx.ok_in(&ctx.sub, &["install", "p1@dm", "--scope", scope, "--json"]);
        let line = out.json();
        assert_eq!(line["command"], "install");
        assert_eq!(line["outcome"], "ok");
        assert_eq!(line["plugin"], "p1@dm");
        assert_eq!(line["pluginId"], "p1@dm");
        assert_eq!(line["scope"], scope);
        assert_eq!(
            ctx.settings(&settings)["enabledPlugins"]["p1@dm"],
            true,
            "{scope} settings {}",
            settings.display()
        );
    }
    // A project install declares its marketplace in the project (DEVIATIONS 9).
    assert_declared(
        &ctx,
        &ctx.project_settings_in(&ctx.sub),
        "dm",
        &json!({"source": "directory", "path": s(&dm)}),
    );

    let installed = ctx.installed();
    assert_eq!(keys(&installed), sorted(&["version", "plugins"]));
    assert_eq!(installed["version"], 2);
    let records = installed["plugins"]["p1@dm"].as_array().expect("records");
    assert_eq!(records.len(), 3);
    let install_path = s(&ctx.cache().join("dm/p1/1.0.0"));
    for (record, scope) in records.iter().zip(["user", "project", "local"]) {
        let mut expected = vec![
            "scope",
            "installPath",
            "version",
            "installedAt",
            "lastUpdated",
        ];
        if scope != "user" {
            expected.push("projectPath");
            assert_eq!(record["projectPath"], Value::from(s(&ctx.sub)));
        }
        assert_eq!(keys(record), sorted(&expected), "{record}");
        assert_eq!(record["scope"], scope);
        assert_eq!(record["installPath"], Value::from(install_path.clone()));
        assert_eq!(record["version"], "1.0.0");
        assert!(is_iso_millis(
            record["installedAt"].as_str().unwrap_or_default()
        ));
        assert!(is_iso_millis(
            record["lastUpdated"].as_str().unwrap_or_default()
        ));
    }
    let text = fs_err::read_to_string(ctx.plugins().join("installed_plugins.json")).expect("read");
    assert!(!text.ends_with('\n'));
    // One cache directory, shared by the three records: a copy of the plugin.
    assert_eq!(ls(&ctx.cache().join("dm/p1")), ["1.0.0"]);
    for file in [".claude-plugin/plugin.json", "commands/hello.md"] {
        assert_eq!(
            fs_err::read(ctx.cache().join("dm/p1/1.0.0").join(file)).expect("copied"),
            fs_err::read(dm.join("plugins/p1").join(file)).expect("source")
        );
    }
    // The human form on stderr; stdout stays empty.
    let out = ctx.ok(&["install", "p2@dm"]);
    assert!(out.stdout.is_empty(), "{out}");
    out.stderr_has(&["p2@dm"]);
}

#[test]
fn install_from_a_git_marketplace_records_the_clone_head() {
    let ctx = TestContext::new();
    let src = ctx.root.join("gsrc");
    write_plugin(&src.join("plugins/nov"), "nov", None);
    write_plugin(&src.join("plugins/p1"), "p1", Some("1.0.0"));
    write_marketplace(
        &src,
        "gm",
        json!([
            {"name": "nov", "source": "./plugins/nov"},
            {"name": "p1", "source": "./plugins/p1"}
        ]),
    );
    let bare = ctx.publish(&src, "acme/m");
    let head = rev_parse(&bare, "HEAD");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/m"]);
    assert_eq!(rev_parse(&ctx.marketplaces().join("gm"), "HEAD"), head);

    ctx.ok(&["install", "nov@gm"]);
    ctx.ok(&["install", "p1@gm"]);
    let nov = only_record(&ctx, "nov@gm");
    assert_eq!(nov["version"], Value::from(&head[..12]));
    assert_eq!(nov["gitCommitSha"], Value::from(head.clone()));
    assert_eq!(
        nov["installPath"],
        Value::from(s(&ctx.cache().join("gm/nov").join(&head[..12])))
    );
    let p1 = only_record(&ctx, "p1@gm");
    assert_eq!(p1["version"], "1.0.0");
    assert_eq!(p1["gitCommitSha"], Value::from(head));
}

#[test]
fn install_version_precedence_and_cache_names() {
    let ctx = TestContext::new();
    let m = ctx.root.join("vm");
    write_plugin(&m.join("plugins/both"), "both", Some("2.0.0"));
    write_plugin(&m.join("plugins/entry"), "entry", None);
    write_plugin(&m.join("plugins/none"), "none", None);
    write_plugin(&m.join("plugins/evil"), "evil", Some("1.0/evil"));
    write_marketplace(
        &m,
        "vm",
        json!([
            {"name": "both", "source": "./plugins/both", "version": "1.0.0"},
            {"name": "entry", "source": "./plugins/entry", "version": "0.5.0"},
            {"name": "none", "source": "./plugins/none"},
            {"name": "evil", "source": "./plugins/evil"}
        ]),
    );
    ctx.ok(&["marketplace", "add", &s(&m)]);
    for (name, version, dir) in [
        ("both", "2.0.0", "2.0.0"),
        ("entry", "0.5.0", "0.5.0"),
        ("none", "unknown", "unknown"),
        ("evil", "1.0/evil", "1.0-evil"),
    ] {
        let id = format!("{name}@vm");
        ctx.ok(&["install", &id]);
        let record = only_record(&ctx, &id);
        assert_eq!(record["version"], version, "{id}");
        assert_eq!(
            record["installPath"],
            Value::from(s(&ctx.cache().join("vm").join(name).join(dir))),
            "{id}"
        );
        assert!(
            record.get("gitCommitSha").is_none(),
            "no git: no gitCommitSha"
        );
        assert_eq!(ls(&ctx.cache().join("vm").join(name)), [dir]);
    }
}

#[test]
fn install_again_bare_name_and_second_scope() {
    let ctx = TestContext::new();
    let dm = ctx.simple_marketplace("dm", "dm");
    ctx.ok(&["marketplace", "add", &s(&dm)]);

    // A bare name resolves when exactly one marketplace lists it.
    let out = ctx.ok(&["install", "p1", "--json"]);
    assert_eq!(out.json()["plugin"], "p1");
    assert_eq!(out.json()["pluginId"], "p1@dm");
    let installed_before = ctx.installed();

    let out = ctx.ok(&["i", "p1@dm", "--json"]);
    let line = out.json();
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["installedVersion"], "1.0.0", "{out}");
    assert_eq!(line["availableVersion"], "1.0.0", "{out}");
    assert_eq!(ctx.installed(), installed_before, "nothing re-recorded");

    // Another scope adds a second record sharing the cache directory.
    ctx.ok(&["install", "p1@dm", "-s", "project"]);
    let records = ctx.installed()["plugins"]["p1@dm"].clone();
    assert_eq!(records.as_array().map(Vec::len), Some(2));
    assert_eq!(records[0]["installPath"], records[1]["installPath"]);
    assert_eq!(records[1]["scope"], "project");
}

#[test]
fn install_github_and_url_plugin_sources() {
    let ctx = TestContext::new();
    let plug = ctx.root.join("plug");
    write_plugin(&plug, "plug", Some("3.0.0"));
    let plug_head = rev_parse(&ctx.publish(&plug, "acme/plug"), "HEAD");
    let nover = ctx.root.join("nover");
    write_plugin(&nover, "nover", None);
    let nover_head = rev_parse(&ctx.publish(&nover, "acme/nover"), "HEAD");
    let ext = ctx.root.join("ext");
    write_marketplace(
        &ext,
        "ext",
        json!([
            {"name": "plug", "source": {"source": "github", "repo": "acme/plug"}},
            {"name": "plugurl", "source": {"source": "url", "url": "https://github.com/acme/plug.git"}},
            {"name": "nover", "source": {"source": "github", "repo": "acme/nover"}}
        ]),
    );
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", &s(&ext)]);

    for (name, head, version) in [
        ("plug", &plug_head, "3.0.0".to_owned()),
        ("plugurl", &plug_head, "3.0.0".to_owned()),
        ("nover", &nover_head, nover_head[..12].to_owned()),
    ] {
        let id = format!("{name}@ext");
        ctx.ok(&["install", &id]);
        let record = only_record(&ctx, &id);
        assert_eq!(record["gitCommitSha"], Value::from(head.clone()), "{id}");
        assert_eq!(record["version"], Value::from(version.clone()), "{id}");
        let dir = ctx.cache().join("ext").join(name).join(&version);
        assert_eq!(record["installPath"], Value::from(s(&dir)));
        assert!(dir.join(".claude-plugin/plugin.json").is_file());
        assert!(!dir.join(".git").exists(), "no .git in the cache");
        assert_eq!(
            ls(&ctx.cache().join("ext").join(name)),
            [version],
            "no temporary clone left"
        );
    }
}

#[test]
fn install_npm_and_git_subdir_sources_that_cannot_be_fetched_change_nothing() {
    // Sources that work are covered in `sources.rs`; here nothing can be fetched, and nothing
    // leaves the machine: the registry is a loopback port nobody listens on, GitHub is `gh/`.
    let ctx = TestContext::new();
    ctx.github_over_files();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind")
        .port();
    let registry = format!("http://127.0.0.1:{port}");
    let m = ctx.root.join("um");
    write_marketplace(
        &m,
        "um",
        json!([
            {"name": "npmp", "source": {"source": "npm", "package": "@acme/x", "version": "1.0.0", "registry": registry}},
            {"name": "sub", "source": {"source": "git-subdir", "url": "acme/mono", "path": "tools/sub"}}
        ]),
    );
    ctx.ok(&["marketplace", "add", &s(&m)]);
    let before = ctx.snapshot();
    for (id, needle) in [("npmp@um", "@acme/x@1.0.0"), ("sub@um", "acme/mono")] {
        let out = ctx.fails(&["install", id, "--json"], 1);
        if id == "npmp@um" {
            assert_eq!(out.json()["failureCode"], "error_network", "{out}");
        }
        out.stderr_has(&[needle]);
    }
    crate::support::assert_same_tree(&before, &ctx.snapshot());
}

#[test]
fn install_copies_the_plugin_into_the_cache() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let ctx = TestContext::new();
    let m = ctx.root.join("cm");
    let p = m.join("plugins/p");
    write_plugin(&p, "p", Some("1.0.0"));
    write_file(&p.join("real.txt"), "real");
    symlink("real.txt", p.join("link-inside")).expect("symlink");
    write_file(&m.join("shared/common.txt"), "common");
    symlink("../../shared/common.txt", p.join("link-market")).expect("symlink");
    symlink("/etc/hostname", p.join("link-etc")).expect("symlink");
    write_file(&ctx.root.join("outside.txt"), "secret");
    symlink("../../../outside.txt", p.join("link-outside")).expect("symlink");
    write_file(&p.join(".git/config"), "[core]\n");
    write_file(&p.join("bin/run.sh"), "#!/bin/sh\necho hi\n");
    fs_err::set_permissions(p.join("bin/run.sh"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");
    fs_err::create_dir_all(p.join("empty")).expect("mkdir");
    write_marketplace(&m, "cm", json!([{"name": "p", "source": "./plugins/p"}]));
    ctx.ok(&["marketplace", "add", &s(&m)]);

    let out = ctx.ok(&["install", "p@cm", "--json"]);
    json_line(&out.stdout);
    out.stderr_has(&["link-etc", "link-outside"]);
    let dest = ctx.cache().join("cm/p/1.0.0");
    assert_eq!(
        fs_err::read_link(dest.join("link-inside")).expect("kept as a link"),
        Path::new("real.txt")
    );
    let market_link = fs_err::symlink_metadata(dest.join("link-market")).expect("copied");
    assert!(
        market_link.is_file(),
        "a link elsewhere in the marketplace becomes a file"
    );
    assert_eq!(
        fs_err::read_to_string(dest.join("link-market")).expect("read"),
        "common"
    );
    assert!(fs_err::symlink_metadata(dest.join("link-etc")).is_err());
    assert!(fs_err::symlink_metadata(dest.join("link-outside")).is_err());
    assert!(
        !dest.join(".git").exists(),
        "the top-level .git is left out"
    );
    let mode = fs_err::metadata(dest.join("bin/run.sh"))
        .expect("copied")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert!(dest.join("empty").is_dir());
    assert_eq!(ls(&dest.join("empty")), Vec::<String>::new());
    assert_eq!(
        fs_err::read_to_string(dest.join("real.txt")).expect("read"),
        "real"
    );
}

// ---- uninstall ---------------------------------------------------------------------------------

#[test]
fn uninstall_removes_record_setting_and_data() {
    let ctx = TestContext::new();
    let dm = ctx.simple_marketplace("dm", "dm");
    ctx.ok(&["marketplace", "add", &s(&dm)]);
    ctx.ok(&["install", "p1@dm"]);
    write_file(&ctx.data().join("p1-dm/state.txt"), "data");
    let cache_dir = ctx.cache().join("dm/p1/1.0.0");
    let t0 = now_millis();

    let out = ctx.ok(&["uninstall", "p1@dm", "--json"]);
    let mut line = out.json();
    assert!(line["message"].is_string());
    line["message"] = Value::Null;
    assert_eq!(
        line,
        json!({"command": "uninstall", "outcome": "ok", "plugin": "p1@dm", "pluginId": "p1@dm",
               "scope": "user", "keptData": false, "message": null})
    );
    assert_eq!(ctx.installed()["plugins"], json!({}));
    assert_eq!(
        ctx.settings(&ctx.user_settings())["enabledPlugins"],
        json!({})
    );
    let text = fs_err::read_to_string(cache_dir.join(".orphaned_at")).expect(".orphaned_at");
    let millis: u128 = text.parse().expect("epoch milliseconds");
    assert!(millis >= t0 && millis <= now_millis());
    assert!(cache_dir.join("commands/hello.md").is_file(), "cache kept");
    assert!(!ctx.data().join("p1-dm").exists(), "data deleted");

    // Reinstalling clears the marker; --keep-data keeps the data.
    ctx.ok(&["install", "p1@dm"]);
    assert!(!cache_dir.join(".orphaned_at").exists());
    write_file(&ctx.data().join("p1-dm/state.txt"), "data");
    let out = ctx.ok(&["remove", "p1@dm", "--keep-data", "--json"]);
    assert_eq!(out.json()["keptData"], true);
    assert!(ctx.data().join("p1-dm/state.txt").is_file());
    assert_eq!(ctx.installed()["plugins"], json!({}));
}

#[test]
fn uninstall_orphans_only_when_the_last_record_goes() {
    let ctx = TestContext::new();
    let dm = ctx.simple_marketplace("dm", "dm");
    ctx.ok(&["marketplace", "add", &s(&dm)]);
    ctx.ok(&["install", "p1@dm"]);
    ctx.ok(&["install", "p1@dm", "--scope", "project"]);
    write_file(&ctx.data().join("p1-dm/state.txt"), "data");
    let cache_dir = ctx.cache().join("dm/p1/1.0.0");

    ctx.ok(&["uninstall", "p1@dm", "--scope", "user"]);
    assert!(!cache_dir.join(".orphaned_at").exists());
    assert!(
        ctx.data().join("p1-dm").exists(),
        "another scope still has it"
    );
    assert_eq!(only_record(&ctx, "p1@dm")["scope"], "project");
    assert!(
        ctx.settings(&ctx.user_settings())["enabledPlugins"]
            .get("p1@dm")
            .is_none()
    );
    assert_eq!(
        ctx.settings(&ctx.project_settings())["enabledPlugins"]["p1@dm"],
        true
    );

    // Without --scope: the one scope that has it here.
    let out = ctx.ok(&["uninstall", "p1@dm", "--json"]);
    assert_eq!(out.json()["scope"], "project");
    assert!(cache_dir.join(".orphaned_at").is_file());
    assert!(!ctx.data().join("p1-dm").exists());
    assert_eq!(
        ctx.settings(&ctx.project_settings())["enabledPlugins"],
        json!({})
    );
}

#[test]
fn uninstall_without_scope_finds_it_or_asks() {
    let ctx = TestContext::new();
    let dm = ctx.simple_marketplace("dm", "dm");
    ctx.ok(&["marketplace", "add", &s(&dm)]);

    // Only a local install: found without --scope (the reference would fail: default user).
    ctx.ok(&["install", "p1@dm", "--scope", "local"]);
    let out = ctx.ok(&["uninstall", "p1", "--json"]);
    assert_eq!(out.json()["scope"], "local");
    assert_eq!(out.json()["pluginId"], "p1@dm");

    // Two scopes here: pm asks for --scope and changes nothing.
    ctx.ok(&["install", "p1@dm"]);
    ctx.ok(&["install", "p1@dm", "--scope", "project"]);
    let before = ctx.snapshot();
    let out = ctx.fails(&["uninstall", "p1@dm", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "not_installed_at_scope", "{out}");
    out.stderr_has(&["--scope", "user", "project"]);
    crate::support::assert_same_tree(&before, &ctx.snapshot());

    // A project record of another directory is not "here".
    ctx.ok(&["uninstall", "p1@dm", "--scope", "project"]);
    ctx.ok_in(&ctx.sub, &["install", "p1@dm", "--scope", "project"]);
    let out = ctx.fails(&["uninstall", "p1@dm", "--scope", "project", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "not_installed_at_scope");
    let out = ctx.ok(&["uninstall", "p1@dm", "--json"]);
    assert_eq!(out.json()["scope"], "user");
    let out = ctx.ok_in(&ctx.sub, &["remove", "p1@dm", "--json"]);
    assert_eq!(out.json()["scope"], "project");
    assert_eq!(ctx.installed()["plugins"], json!({}));

    // Not installed at all.
    let out = ctx.fails(&["uninstall", "p1@dm", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "not_installed");
}

// ---- list --------------------------------------------------------------------------------------

#[test]
fn list_json_shape() {
    let ctx = TestContext::new();
    assert_eq!(ctx.ok(&["list", "--json"]).stdout, "[]\n");
    let dm = ctx.simple_marketplace("dm", "dm");
    ctx.ok(&["marketplace", "add", &s(&dm)]);
    ctx.ok(&["install", "p1@dm"]);

    let rows = json_line(&ctx.ok(&["list", "--json"]).stdout);
    let rows = rows.as_array().expect("array").clone();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    // §8's keys (pm adds gitCommitSha when there is one).
    let allowed = [
        "id",
        "version",
        "scope",
        "enabled",
        "installPath",
        "readFromFolder",
        "folderVersion",
        "installedAt",
        "lastUpdated",
        "projectPath",
        "mcpServers",
        "errors",
        "notes",
        "errorDetails",
        "noteDetails",
        "projectEnabled",
        "dataDirSize",
        "dataDirUnreadable",
        "hasUserConfig",
        "gitCommitSha",
        // pm's additions for dependencies (reference-advanced.md §2): only when they apply.
        "auto",
        "resolvedVersion",
    ];
    for key in keys(row) {
        assert!(
            allowed.contains(&key.as_str()),
            "unexpected key {key}: {row}"
        );
    }
    assert_eq!(row["id"], "p1@dm");
    assert_eq!(row["version"], "1.0.0");
    assert_eq!(row["scope"], "user");
    assert_eq!(row["enabled"], true);
    assert_eq!(row["projectEnabled"], false);
    assert_eq!(
        row["installPath"],
        Value::from(s(&ctx.cache().join("dm/p1/1.0.0")))
    );
    assert_eq!(
        row["readFromFolder"],
        Value::from(s(&dm.join("plugins/p1")))
    );
    assert_eq!(row["folderVersion"], "1.0.0");
    assert!(is_iso_millis(
        row["installedAt"].as_str().unwrap_or_default()
    ));
    assert!(is_iso_millis(
        row["lastUpdated"].as_str().unwrap_or_default()
    ));
    assert!(row.get("projectPath").is_none());

    ctx.ok(&["install", "p1@dm", "--scope", "project"]);
    let rows = json_line(&ctx.ok(&["ls", "--json"]).stdout);
    assert_eq!(rows.as_array().map(Vec::len), Some(2));
    assert_eq!(rows[1]["scope"], "project");
    assert_eq!(rows[1]["projectPath"], Value::from(s(&ctx.project)));
    assert_eq!(rows[0]["projectEnabled"], true, "projectEnabled is per id");

    let both = json_line(&ctx.ok(&["list", "--json", "--available"]).stdout);
    assert_eq!(keys(&both), sorted(&["installed", "available"]));
    assert_eq!(both["installed"], rows);
    let available = both["available"].as_array().expect("array");
    assert_eq!(
        available.len(),
        1,
        "installed plugins are not available: {both}"
    );
    let p2 = &available[0];
    for key in keys(p2) {
        assert!(
            [
                "pluginId",
                "name",
                "description",
                "marketplaceName",
                "version",
                "source"
            ]
            .contains(&key.as_str()),
            "unexpected key {key}: {p2}"
        );
    }
    assert_eq!(p2["pluginId"], "p2@dm");
    assert_eq!(p2["name"], "p2");
    assert_eq!(p2["marketplaceName"], "dm");
    assert_eq!(p2["version"], "0.5.0");
    assert_eq!(p2["source"], "./plugins/p2");

    // Human: one line per record on stdout.
    let out = ctx.ok(&["list"]);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines.iter().all(|l| l.starts_with("p1@dm")), "{out}");
    assert!(
        lines[0].contains("user") && lines[1].contains("project"),
        "{out}"
    );
}

// ---- settings preservation ---------------------------------------------------------------------

#[test]
fn settings_edits_keep_the_file_as_it_was() {
    let ctx = TestContext::new();
    let dm = ctx.simple_marketplace("dm", "dm");
    // Declared in the project, so that only install/uninstall touch user settings.
    ctx.ok(&["marketplace", "add", &s(&dm), "--scope", "project"]);
    let original = "{\n    \"theme\": \"dark\",\n    \"enabledPlugins\": {\n        \"other@x\": true\n    },\n    \"zzUnknown\": [1,   2],\n    \"permissions\": {\"allow\": []}\n}";
    write_file(&ctx.user_settings(), original);

    ctx.ok(&["install", "p1@dm"]);
    let after_install = fs_err::read_to_string(ctx.user_settings()).expect("read");
    let expected = original.replace(
        "        \"other@x\": true\n",
        "        \"other@x\": true,\n        \"p1@dm\": true\n",
    );
    assert_eq!(after_install, expected);

    ctx.ok(&["uninstall", "p1@dm"]);
    let after_uninstall = fs_err::read_to_string(ctx.user_settings()).expect("read");
    assert_eq!(after_uninstall, original, "byte-identical after uninstall");
}

// ---- --json and exit codes ---------------------------------------------------------------------

#[test]
fn json_is_one_line_and_exit_codes_are_0_1_2() {
    // The same sequence twice: with --json (one line on stdout each time) and without.
    for json in [true, false] {
        let ctx = TestContext::new();
        let dm = ctx.simple_marketplace("dm", "dm");
        let dm_arg = s(&dm);
        let cases: Vec<(Vec<&str>, i32)> = vec![
            (vec!["marketplace", "add", &dm_arg], 0),
            (vec!["marketplace", "add", &dm_arg], 0),
            (vec!["marketplace", "add", "./missing"], 1),
            (vec!["marketplace", "list"], 0),
            (vec!["marketplace", "update", "dm"], 0),
            (vec!["marketplace", "update"], 0),
            (vec!["marketplace", "update", "nope"], 1),
            (vec!["install", "p1@dm"], 0),
            (vec!["install", "p1@dm"], 0),
            (vec!["install", "nope@dm"], 1),
            (vec!["install", "p1@nomkt"], 1),
            (vec!["install", "p1@dm", "--scope", "bogus"], 1),
            (vec!["list"], 0),
            (vec!["list", "--available"], 0),
            (vec!["uninstall", "p1@dm"], 0),
            (vec!["uninstall", "p1@dm"], 1),
            (vec!["marketplace", "remove", "dm"], 0),
            (vec!["marketplace", "remove", "dm"], 1),
        ];
        for (mut args, code) in cases {
            if json {
                args.push("--json");
            }
            let out = ctx.run(&args);
            out.assert_fails(code);
            if code == 1 {
                assert!(
                    out.stderr.contains("error:"),
                    "the human message on stderr: {args:?}\n{out}"
                );
            }
            if !json {
                if code == 1 {
                    assert!(out.stdout.is_empty(), "{args:?}\n{out}");
                }
                continue;
            }
            let line = out.json();
            if code == 1 {
                assert_eq!(line["outcome"], "failed", "{args:?}\n{out}");
                assert!(line["failureCode"].is_string(), "{args:?}\n{out}");
                assert!(line["message"].is_string(), "{args:?}\n{out}");
            } else if line.is_object() && line.get("command").is_some() {
                assert_eq!(line["outcome"], "ok", "{args:?}\n{out}");
                assert!(line.get("failureCode").is_none());
            }
        }
    }
    // Usage errors are clap's: exit 2, nothing on stdout.
    let ctx = TestContext::new();
    for args in [
        vec!["install", "--bogus", "p1@dm"],
        vec!["install"],
        vec!["marketplace", "add"],
        vec!["marketplace", "add", "x", "--nope", "--json"],
        vec!["uninstall", "--json"],
        vec!["frobnicate"],
        vec!["marketplace", "add", "./m", "-s", "user"],
    ] {
        let out = ctx.run(&args);
        out.assert_fails(2);
        assert!(out.stdout.is_empty(), "{args:?}\n{out}");
        assert!(!out.stderr.is_empty(), "{args:?}\n{out}");
    }
}

// ---- CLAUDE_CONFIG_DIR -------------------------------------------------------------------------

#[test]
fn claude_config_dir_relocates_everything() {
    let ctx = TestContext::new();
    let dm = ctx.simple_marketplace("dm", "dm");
    let with_config = |args: &[&str]| {
        let mut command = ctx.pm(args);
        command.env("CLAUDE_CONFIG_DIR", "rel-config");
        let out = run(command);
        out.assert_ok();
        out
    };
    with_config(&["marketplace", "add", &s(&dm)]);
    with_config(&["install", "p1@dm"]);
    let config = ctx.project.join("rel-config");
    assert!(config.join("plugins/known_marketplaces.json").is_file());
    let settings = read_json(&config.join("settings.json"));
    assert_eq!(settings["enabledPlugins"]["p1@dm"], true);
    assert!(settings["extraKnownMarketplaces"]["dm"].is_object());
    let cache_dir = config.join("plugins/cache/dm/p1/1.0.0");
    assert!(cache_dir.join("commands/hello.md").is_file());
    let installed = read_json(&config.join("plugins/installed_plugins.json"));
    assert_eq!(
        installed["plugins"]["p1@dm"][0]["installPath"],
        Value::from(s(&cache_dir))
    );
    assert!(!ctx.config.exists(), "~/.claude is not touched");

    let rows = json_line(&with_config(&["list", "--json"]).stdout);
    assert_eq!(rows.as_array().map(Vec::len), Some(1));
    assert_eq!(ctx.ok(&["list", "--json"]).stdout, "[]\n");
    assert!(!ctx.config.exists());
}

#[test]
fn marketplace_update_of_a_deleted_repository_says_so() {
    let ctx = TestContext::new();
    let src = ctx.simple_marketplace("gone-src", "gone");
    ctx.publish(&src, "acme/gone");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/gone"]);
    fs_err::remove_dir_all(ctx.gh.join("acme/gone.git")).expect("delete the upstream repository");
    let out = ctx.fails(&["marketplace", "update", "gone", "--json"], 1);
    let line = out.json();
    assert_eq!(line["failureCode"], "error_unknown", "{out}");
    assert!(
        line["message"]
            .as_str()
            .unwrap_or_default()
            .contains("acme/gone"),
        "{out}"
    );
    assert!(
        ctx.marketplaces()
            .join("gone/.claude-plugin/marketplace.json")
            .is_file(),
        "the old clone stays"
    );
}

#[test]
fn relative_plugin_in_a_url_marketplace_is_refused_as_the_reference_does() {
    let mut ctx = TestContext::new();
    let www = ctx.root.join("www-rel");
    let manifest = json!({"name": "urlrel", "owner": {"name": "T"}, "plugins": [{"name": "p", "source": "./plugins/p"}]});
    write_file(&www.join("m.json"), &manifest.to_string());
    let base = ctx.serve_files(&www);
    ctx.ok(&["marketplace", "add", &format!("{base}m.json")]);
    let out = ctx.fails(&["install", "p@urlrel", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "error_network", "{out}");
    out.stderr_has(&["p@urlrel", "relative"]);
}

#[test]
fn marketplace_remove_creates_no_settings_files() {
    let ctx = TestContext::new();
    let dm = ctx.simple_marketplace("nsrc", "nm");
    ctx.ok(&["marketplace", "add", &s(&dm)]);
    ctx.ok(&["marketplace", "remove", "nm"]);
    assert!(!ctx.project.join(".claude/settings.json").exists());
    assert!(!ctx.project.join(".claude/settings.local.json").exists());
}

/// The inode number of `path` (0 where there is none): whether a file was written again.
fn inode(path: &std::path::Path) -> u64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        fs_err::metadata(path).map_or(0, |meta| meta.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        0
    }
}

#[test]
fn marketplace_update_replaces_a_damaged_clone() {
    let ctx = TestContext::new();
    let src = ctx.simple_marketplace("dsrc", "dm");
    ctx.publish(&src, "acme/dm");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/dm"]);
    let clone = ctx.marketplaces().join("dm");
    // The clone loses its objects: it cannot be fetched into, and is cloned afresh.
    fs_err::remove_dir_all(clone.join(".git/objects")).expect("remove objects");
    fs_err::create_dir(clone.join(".git/objects")).expect("empty objects");
    write_file(&src.join("plugins/p1/notes.md"), "new\n");
    let bare = ctx.publish(&src, "acme/dm");
    let out = ctx.ok(&["marketplace", "update", "dm", "--json"]);
    assert_eq!(out.json()["updated"], true, "{out}");
    assert_eq!(rev_parse(&clone, "HEAD"), rev_parse(&bare, "HEAD"));
    assert_eq!(
        fs_err::read_to_string(clone.join("plugins/p1/notes.md")).expect("read"),
        "new\n"
    );
    assert_eq!(ls(&ctx.marketplaces()), ["dm"], "no temporary clone left");
}
