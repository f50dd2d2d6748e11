//! `pm tag` (reference-advanced.md §4; DEVIATIONS 16, 17): the annotated release tag
//! `{name}--v{version}` at HEAD, the version from plugin.json or the enclosing marketplace
//! entry (matched by path, required to agree), the dirty-tree check limited to the plugin
//! directory and that marketplace.json, the tag-exists check, `--force` (skips those two only),
//! `-m` with `%s`, `--dry-run`, `--push` to a local bare repository and push failures (the tag
//! stays, exit 1), and bad input: no repository, no commit, detached HEAD, manifests, versions,
//! no git identity. Every test looks at the tag objects in the repository.

use crate::support::{
    Run, TestContext, commit_all, git, rev_parse, write_file, write_json, write_marketplace,
    write_plugin,
};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Gives the pm process (libgit2 reads `$HOME/.gitconfig`) a git identity.
fn set_identity(ctx: &TestContext) {
    write_file(
        &ctx.home.join(".gitconfig"),
        "[user]\n\tname = Rel Eng\n\temail = releng@example.invalid\n",
    );
}

/// A test context with a git identity and a standalone plugin repository `root/plug`
/// (plugin `myplug`, `version`), committed.
fn standalone(version: Option<&str>) -> (TestContext, PathBuf) {
    let ctx = TestContext::new();
    set_identity(&ctx);
    let plug = ctx.root.join("plug");
    write_plugin(&plug, "myplug", version);
    commit_all(&plug, "plugin");
    (ctx, plug)
}

/// A marketplace repository `root/mkt` whose entries are `entries`, with plugins `p`
/// (`plugins/p`, plugin.json `plugin_json`) and `other` (`plugins/other`, 9.9.9), committed.
fn marketplace(ctx: &TestContext, entries: Value, plugin_json: Value) -> PathBuf {
    let mkt = ctx.root.join("mkt");
    write_marketplace(&mkt, "m", entries);
    write_json(
        &mkt.join("plugins/p/.claude-plugin/plugin.json"),
        &plugin_json,
    );
    write_plugin(&mkt.join("plugins/other"), "other", Some("9.9.9"));
    commit_all(&mkt, "marketplace");
    mkt
}

/// The tags of `repo`, sorted.
fn tags(repo: &Path) -> Vec<String> {
    let list = git(repo, &["tag", "-l"]);
    list.lines().map(str::to_owned).collect()
}

/// `(object type, commit it names, message, tagger name, tagger email)` of tag `tag`.
fn tag_object(repo: &Path, tag: &str) -> (String, String, String, String, String) {
    let reference = format!("refs/tags/{tag}");
    let field = |format: &str| {
        git(
            repo,
            &["for-each-ref", &reference, &format!("--format={format}")],
        )
    };
    (
        git(repo, &["cat-file", "-t", &reference]),
        rev_parse(repo, &format!("{reference}^{{commit}}")),
        field("%(contents)"),
        field("%(taggername)"),
        field("%(taggeremail)"),
    )
}

fn run_tag(ctx: &TestContext, args: &[&str]) -> Run {
    let mut all = vec!["tag"];
    all.extend_from_slice(args);
    ctx.run(&all)
}

#[test]
fn creates_an_annotated_tag_at_head() {
    let (ctx, plug) = standalone(Some("1.2.3"));
    let head = rev_parse(&plug, "HEAD");
    let run = run_tag(&ctx, &[&s(&plug)]);
    run.assert_ok()
        .stdout_has(&[
            "Plugin:  myplug\n",
            "Version: 1.2.3 (from plugin.json)\n",
            "Tag:     myplug--v1.2.3\n",
            &format!(
                "Push with: git -C {} push origin refs/tags/myplug--v1.2.3",
                s(&plug)
            ),
        ])
        .stderr_has(&["Created tag `myplug--v1.2.3`"]);
    assert!(!run.stdout.contains("Marketplace entry"), "{run}");
    assert!(
        !run.stdout.contains("Created"),
        "status lines go to stderr\n{run}"
    );
    assert_eq!(tags(&plug), ["myplug--v1.2.3"]);
    let (kind, commit, message, tagger, email) = tag_object(&plug, "myplug--v1.2.3");
    assert_eq!(kind, "tag", "annotated");
    assert_eq!(commit, head);
    assert_eq!(message, "myplug 1.2.3");
    assert_eq!(tagger, "Rel Eng");
    assert_eq!(email, "<releng@example.invalid>");
}

#[test]
fn message_with_percent_s_and_json_result() {
    let (ctx, plug) = standalone(Some("1.2.4"));
    let run = run_tag(
        &ctx,
        &[&s(&plug), "-m", "Release v%s of thing %s", "--json"],
    );
    run.assert_ok();
    let result = run.json();
    let head = rev_parse(&plug, "HEAD");
    let tag_object_id = rev_parse(&plug, "refs/tags/myplug--v1.2.4");
    assert_eq!(result["command"], "tag");
    assert_eq!(result["outcome"], "created");
    assert_eq!(result["plugin"], "myplug");
    assert_eq!(result["version"], "1.2.4");
    assert_eq!(result["versionSource"], "pluginJson");
    assert_eq!(result["tag"], "myplug--v1.2.4");
    assert_eq!(result["tagMessage"], "Release v1.2.4 of thing 1.2.4");
    assert_eq!(result["repository"], s(&plug));
    assert_eq!(result["commit"], head.as_str());
    assert_eq!(result["branch"], "main");
    assert_eq!(result["marketplaceEntry"], Value::Null);
    assert_eq!(result["tagObject"], tag_object_id.as_str());
    assert_eq!(result["pushed"], false);
    assert_eq!(result["forced"], false);
    assert!(result.get("failureCode").is_none());
    let (kind, commit, message, ..) = tag_object(&plug, "myplug--v1.2.4");
    assert_eq!((kind.as_str(), commit), ("tag", head));
    assert_eq!(message, "Release v1.2.4 of thing 1.2.4");
}

#[test]
fn dry_run_creates_nothing() {
    let (ctx, plug) = standalone(Some("1.2.5"));
    let run = run_tag(&ctx, &[&s(&plug), "--dry-run"]);
    run.assert_ok()
        .stdout_has(&[
            "Tag:     myplug--v1.2.5\n",
            &format!(
                "git -C {} tag -a myplug--v1.2.5 -m 'myplug 1.2.5'",
                s(&plug)
            ),
            &format!("git -C {} push origin refs/tags/myplug--v1.2.5", s(&plug)),
        ])
        .stderr_has(&["Dry run: would create tag `myplug--v1.2.5`"]);
    assert!(tags(&plug).is_empty());
    let json = run_tag(&ctx, &[&s(&plug), "--dry-run", "--json"]);
    json.assert_ok();
    assert_eq!(json.json()["outcome"], "dry_run");
    assert!(json.json().get("tagObject").is_none());
    assert!(tags(&plug).is_empty());
}

#[test]
fn default_path_is_the_current_directory_without_upward_search() {
    let (ctx, plug) = standalone(Some("2.0.0"));
    ctx.ok_in(&plug, &["tag"]);
    assert_eq!(tags(&plug), ["myplug--v2.0.0"]);
    let sub = plug.join("commands");
    let run = ctx.run_in(&sub, &["tag", "--json"]);
    run.assert_fails(1);
    assert_eq!(run.json()["failureCode"], "manifest_missing");
    assert_eq!(tags(&plug), ["myplug--v2.0.0"]);
}

#[test]
fn existing_tag_is_refused_and_force_moves_it() {
    let (ctx, plug) = standalone(Some("1.0.0"));
    ctx.ok(&["tag", &s(&plug)]);
    let first_object = rev_parse(&plug, "refs/tags/myplug--v1.0.0");
    let first_commit = rev_parse(&plug, "HEAD");

    let run = run_tag(&ctx, &[&s(&plug), "--json"]);
    run.assert_fails(1).stderr_has(&[
        "error: Tag `myplug--v1.0.0` already exists",
        "hint:",
        "--force",
    ]);
    assert_eq!(run.json()["failureCode"], "tag_exists");
    assert_eq!(run.json()["tag"], "myplug--v1.0.0");
    // The dry run checks too.
    run_tag(&ctx, &[&s(&plug), "--dry-run"]).assert_fails(1);
    assert_eq!(rev_parse(&plug, "refs/tags/myplug--v1.0.0"), first_object);

    // A new commit (outside .claude-plugin), then --force moves the tag to it.
    write_file(&plug.join("commands/more.md"), "more\n");
    let second_commit = commit_all(&plug, "more");
    let forced = run_tag(&ctx, &[&s(&plug), "--force", "--json"]);
    forced.assert_ok();
    let result = forced.json();
    assert_eq!(result["forced"], true);
    assert_eq!(result["replaced"], first_commit.as_str());
    let (kind, commit, message, ..) = tag_object(&plug, "myplug--v1.0.0");
    assert_eq!((kind.as_str(), message.as_str()), ("tag", "myplug 1.0.0"));
    assert_eq!(commit, second_commit);
    assert_ne!(rev_parse(&plug, "refs/tags/myplug--v1.0.0"), first_object);
    assert_eq!(tags(&plug), ["myplug--v1.0.0"]);
}

#[test]
fn a_lightweight_tag_counts_as_existing_and_force_replaces_it_with_an_annotated_one() {
    let (ctx, plug) = standalone(Some("1.0.0"));
    git(&plug, &["tag", "myplug--v1.0.0"]);
    run_tag(&ctx, &[&s(&plug)]).assert_fails(1);
    assert_eq!(
        git(&plug, &["cat-file", "-t", "refs/tags/myplug--v1.0.0"]),
        "commit"
    );
    ctx.ok(&["tag", &s(&plug), "--force"]);
    assert_eq!(
        git(&plug, &["cat-file", "-t", "refs/tags/myplug--v1.0.0"]),
        "tag"
    );
}

#[test]
fn uncommitted_changes_in_the_plugin_block_and_force_skips_them() {
    let (ctx, plug) = standalone(Some("1.0.0"));
    // Modified tracked file.
    write_json(
        &plug.join(".claude-plugin/plugin.json"),
        &json!({"name": "myplug", "version": "1.0.1"}),
    );
    let run = run_tag(&ctx, &[&s(&plug), "--json"]);
    run.assert_fails(1).stderr_has(&[
        "Uncommitted changes",
        ".claude-plugin/plugin.json",
        "--force",
    ]);
    assert_eq!(run.json()["failureCode"], "uncommitted_changes");
    assert_eq!(run.json()["files"], json!([".claude-plugin/plugin.json"]));
    run_tag(&ctx, &[&s(&plug), "--dry-run"]).assert_fails(1);
    assert!(tags(&plug).is_empty());
    commit_all(&plug, "bump");

    // Untracked file (in a new directory): dirty too.
    write_file(&plug.join("skills/new/SKILL.md"), "x\n");
    let run = run_tag(&ctx, &[&s(&plug), "--json"]);
    run.assert_fails(1);
    assert_eq!(run.json()["files"], json!(["skills/new/SKILL.md"]));
    assert!(tags(&plug).is_empty());

    // Ignored files do not count.
    write_file(&plug.join(".gitignore"), "skills/\n");
    commit_all(&plug, "ignore");
    ctx.ok(&["tag", &s(&plug)]);
    assert_eq!(tags(&plug), ["myplug--v1.0.1"]);

    // --force tags anyway, at HEAD (the uncommitted change is not in the tag).
    write_json(
        &plug.join(".claude-plugin/plugin.json"),
        &json!({"name": "myplug", "version": "1.0.2"}),
    );
    ctx.ok(&["tag", &s(&plug), "--force"]);
    let (_, commit, ..) = tag_object(&plug, "myplug--v1.0.2");
    assert_eq!(commit, rev_parse(&plug, "HEAD"));
}

#[test]
fn detached_head_is_tagged_at_its_commit() {
    let (ctx, plug) = standalone(Some("3.0.0"));
    let first = rev_parse(&plug, "HEAD");
    write_file(&plug.join("commands/later.md"), "later\n");
    commit_all(&plug, "later");
    git(&plug, &["checkout", "-q", "--detach", &first]);
    let run = run_tag(&ctx, &[&s(&plug), "--json"]);
    run.assert_ok();
    assert_eq!(run.json()["branch"], Value::Null);
    assert_eq!(run.json()["commit"], first.as_str());
    let (kind, commit, ..) = tag_object(&plug, "myplug--v3.0.0");
    assert_eq!((kind.as_str(), commit), ("tag", first));
}

#[test]
fn outside_a_git_repository() {
    let ctx = TestContext::new();
    set_identity(&ctx);
    let plug = ctx.root.join("loose");
    write_plugin(&plug, "loose", Some("1.0.0"));
    for args in [vec!["--json"], vec!["--dry-run", "--json"]] {
        let mut all = vec![s(&plug)];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let run = run_tag(&ctx, &all);
        run.assert_fails(1)
            .stderr_has(&["is not inside a git repository", "hint:"]);
        assert_eq!(run.json()["failureCode"], "not_a_git_repository");
        assert_eq!(run.json()["plugin"], "loose");
    }
    assert!(!plug.join(".git").exists());
}

#[test]
fn no_commit_yet() {
    let ctx = TestContext::new();
    set_identity(&ctx);
    let plug = ctx.root.join("fresh");
    write_plugin(&plug, "fresh", Some("1.0.0"));
    git(&plug, &["init", "-q", "-b", "main"]);
    // Untracked files first …
    let run = run_tag(&ctx, &[&s(&plug), "--json"]);
    run.assert_fails(1);
    assert_eq!(run.json()["failureCode"], "uncommitted_changes");
    // … and with --force, HEAD has nothing to tag.
    let run = run_tag(&ctx, &[&s(&plug), "--force", "--json"]);
    run.assert_fails(1).stderr_has(&["has no commit yet"]);
    assert_eq!(run.json()["failureCode"], "no_commit");
    assert!(tags(&plug).is_empty());
}

#[test]
fn bad_manifests() {
    let (ctx, plug) = standalone(Some("1.0.0"));
    let manifest = plug.join(".claude-plugin/plugin.json");
    let cases: Vec<(&str, &str, &str)> = vec![
        ("{\"name\":", "manifest_invalid", "invalid JSON at line 1"),
        ("[1]", "manifest_invalid", "expected object"),
        ("{\"version\":\"1.0.0\"}", "manifest_invalid", "`name`"),
        (
            "{\"name\":\"  \",\"version\":\"1.0.0\"}",
            "manifest_invalid",
            "must not be empty",
        ),
        (
            "{\"name\":\"p\",\"version\":1}",
            "manifest_invalid",
            "`version` must be a string, not a number",
        ),
        ("{\"name\":\"p\"}", "version_missing", "No version to tag"),
        (
            "{\"name\":\"p\",\"version\":\"1.0\"}",
            "version_invalid",
            "is not valid semver",
        ),
        (
            "{\"name\":\"p\",\"version\":\"01.0.0\"}",
            "version_invalid",
            "is not valid semver",
        ),
        (
            "{\"name\":\"p\",\"version\":\"v1.0.0\"}",
            "version_invalid",
            "write `1.0.0`",
        ),
        (
            // pm validate's error, as the reference's plugin validation stops it.
            "{\"name\":\"my plug\",\"version\":\"1.0.0\"}",
            "manifest_invalid",
            "plugin validation failed (name: Plugin name cannot contain spaces",
        ),
        (
            "{\"name\":\"p\",\"version\":\"1.0.0\",\"author\":\"someone\"}",
            "manifest_invalid",
            "plugin validation failed (author:",
        ),
        (
            "{\"name\":\"-p\",\"version\":\"1.0.0\"}",
            "tag_name_invalid",
            "not a valid git reference name",
        ),
    ];
    for (text, code, needle) in cases {
        write_file(&manifest, text);
        commit_all(&plug, "case");
        // --force skips neither check.
        let run = run_tag(&ctx, &[&s(&plug), "--force", "--json"]);
        run.assert_fails(1).stderr_has(&[needle]);
        assert_eq!(run.json()["failureCode"], code, "{text}\n{run}");
    }
    assert!(tags(&plug).is_empty());

    fs_err::remove_file(&manifest).expect("remove plugin.json");
    let run = run_tag(&ctx, &[&s(&plug), "--json"]);
    run.assert_fails(1)
        .stderr_has(&["No plugin manifest found", "hint:"]);
    assert_eq!(run.json()["failureCode"], "manifest_missing");

    let run = run_tag(&ctx, &[&s(&ctx.root.join("nope")), "--json"]);
    run.assert_fails(1);
    assert_eq!(run.json()["failureCode"], "path_not_found");
    let run = run_tag(&ctx, &[&s(&plug.join("commands/hello.md")), "--json"]);
    run.assert_fails(1);
    assert_eq!(run.json()["failureCode"], "not_a_directory");
    assert!(tags(&plug).is_empty());
}

#[test]
fn oversized_manifest_is_refused_unread() {
    let (ctx, plug) = standalone(Some("1.0.0"));
    let padding = " ".repeat(5 * 1024 * 1024);
    write_file(
        &plug.join(".claude-plugin/plugin.json"),
        &format!("{{\"name\":\"myplug\",\"version\":\"1.0.0\"{padding}}}"),
    );
    let run = run_tag(&ctx, &[&s(&plug), "--force", "--json"]);
    run.assert_fails(1).stderr_has(&["larger than 4 MiB"]);
    assert_eq!(run.json()["failureCode"], "manifest_invalid");
    assert!(tags(&plug).is_empty());
}

#[test]
fn missing_git_identity_fails_before_writing() {
    let ctx = TestContext::new();
    let plug = ctx.root.join("plug");
    write_plugin(&plug, "myplug", Some("1.0.0"));
    commit_all(&plug, "plugin");
    // The dry run warns; the real run fails and writes nothing.
    run_tag(&ctx, &[&s(&plug), "--dry-run"])
        .assert_ok()
        .stderr_has(&["warning:", "user.name"]);
    let run = run_tag(&ctx, &[&s(&plug), "--json"]);
    run.assert_fails(1)
        .stderr_has(&["no identity", "git config --global user.name"]);
    assert_eq!(run.json()["failureCode"], "identity_missing");
    assert!(tags(&plug).is_empty());
}

#[test]
fn marketplace_entry_found_by_path_and_versions_must_agree() {
    let ctx = TestContext::new();
    set_identity(&ctx);
    let plugin_json = json!({"name": "p", "version": "1.0.0"});
    let entry = |version: Option<&str>| {
        let mut entry = json!({"name": "listed-as-other-name", "source": "./plugins/p/"});
        if let Some(version) = version {
            entry["version"] = version.into();
        }
        json!([{"name": "other", "source": "./plugins/other"}, entry])
    };

    // Entry without a version: found by path (another name), plugin.json's version.
    let mkt = marketplace(&ctx, entry(None), plugin_json.clone());
    let p = mkt.join("plugins/p");
    let run = run_tag(&ctx, &[&s(&p), "--dry-run", "--json"]);
    run.assert_ok();
    let manifest_path = s(&mkt.join(".claude-plugin/marketplace.json"));
    assert_eq!(
        run.json()["marketplaceEntry"],
        json!({"path": manifest_path, "index": 1, "name": "listed-as-other-name"})
    );
    assert_eq!(run.json()["repository"], s(&mkt));
    let human = run_tag(&ctx, &[&s(&p), "--dry-run"]);
    human.assert_ok().stdout_has(&[&format!(
        "Marketplace entry: plugins[1] in {manifest_path}\n"
    )]);

    // Different version in the entry: refused, even with --force.
    write_marketplace(&mkt, "m", entry(Some("2.0.0")));
    commit_all(&mkt, "entry 2.0.0");
    for extra in [None, Some("--force")] {
        let mut args = vec![s(&p), "--json".to_owned()];
        args.extend(extra.map(str::to_owned));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = run_tag(&ctx, &args);
        run.assert_fails(1).stderr_has(&[
            "Version mismatch",
            "`1.0.0`",
            "`2.0.0`",
            "plugins[1].version",
        ]);
        assert_eq!(run.json()["failureCode"], "version_mismatch");
    }
    assert!(tags(&mkt).is_empty());

    // No version in plugin.json: the entry's, tagged at the marketplace repository's HEAD.
    write_json(&p.join(".claude-plugin/plugin.json"), &json!({"name": "p"}));
    commit_all(&mkt, "version from the entry");
    let run = run_tag(&ctx, &[&s(&p), "--json"]);
    run.assert_ok();
    assert_eq!(run.json()["versionSource"], "marketplaceEntry");
    assert_eq!(run.json()["marketplaceEntry"]["version"], "2.0.0");
    let (kind, commit, message, ..) = tag_object(&mkt, "p--v2.0.0");
    assert_eq!((kind.as_str(), message.as_str()), ("tag", "p 2.0.0"));
    assert_eq!(commit, rev_parse(&mkt, "HEAD"));
    let human = run_tag(&ctx, &[&s(&p), "--dry-run", "--force"]);
    human.assert_ok().stdout_has(&[
        "Version: 2.0.0 (from marketplace entry)\n",
        "(version: 2.0.0)\n",
        " tag -f -a p--v2.0.0 ",
        " push --force origin ",
    ]);

    // Neither has one.
    write_marketplace(&mkt, "m", entry(None));
    commit_all(&mkt, "no versions");
    let run = run_tag(&ctx, &[&s(&p), "--json"]);
    run.assert_fails(1)
        .stderr_has(&["No version to tag", "plugins[1]"]);
    assert_eq!(run.json()["failureCode"], "version_missing");
}

#[test]
fn dirty_check_covers_the_plugin_and_its_marketplace_json_only() {
    let ctx = TestContext::new();
    set_identity(&ctx);
    let mkt = marketplace(
        &ctx,
        json!([{"name": "p", "source": "./plugins/p"}, {"name": "other", "source": "./plugins/other"}]),
        json!({"name": "p", "version": "1.0.0"}),
    );
    let p = mkt.join("plugins/p");
    // Elsewhere: another plugin, the root, a sibling of marketplace.json, a directory whose
    // name starts with the plugin's.
    write_file(&mkt.join("plugins/other/dirty.txt"), "x\n");
    write_file(&mkt.join("README.md"), "x\n");
    write_file(&mkt.join(".claude-plugin/marketplace.json.bak"), "x\n");
    write_file(&mkt.join("plugins/pq/x.txt"), "x\n");
    run_tag(&ctx, &[&s(&p), "--dry-run"]).assert_ok();

    // The marketplace.json itself.
    let manifest = mkt.join(".claude-plugin/marketplace.json");
    let text = fs_err::read_to_string(&manifest).expect("read marketplace.json");
    write_file(&manifest, &format!("{text}\n"));
    let run = run_tag(&ctx, &[&s(&p), "--json"]);
    run.assert_fails(1);
    assert_eq!(
        run.json()["files"],
        json!([".claude-plugin/marketplace.json"])
    );
    git(
        &mkt,
        &["checkout", "-q", "--", ".claude-plugin/marketplace.json"],
    );

    // A staged change inside the plugin.
    write_file(&p.join("commands/new.md"), "new\n");
    git(&mkt, &["add", "plugins/p/commands/new.md"]);
    let run = run_tag(&ctx, &[&s(&p), "--json"]);
    run.assert_fails(1);
    assert_eq!(run.json()["files"], json!(["plugins/p/commands/new.md"]));
    assert!(tags(&mkt).is_empty());
    git(&mkt, &["rm", "-q", "--cached", "plugins/p/commands/new.md"]);
    fs_err::remove_file(p.join("commands/new.md")).expect("remove");

    ctx.ok(&["tag", &s(&p)]);
    assert_eq!(tags(&mkt), ["p--v1.0.0"]);
}

#[test]
fn invalid_marketplace_json_is_ignored_with_a_warning() {
    let ctx = TestContext::new();
    set_identity(&ctx);
    let mkt = marketplace(
        &ctx,
        json!([{"name": "p", "source": "./plugins/p", "version": "2.0.0"}]),
        json!({"name": "p", "version": "1.0.0"}),
    );
    write_file(&mkt.join(".claude-plugin/marketplace.json"), "{\"name\":");
    commit_all(&mkt, "break the marketplace");
    let run = run_tag(&ctx, &[&s(&mkt.join("plugins/p")), "--json"]);
    run.assert_ok()
        .stderr_has(&["warning: Ignoring `", "marketplace.json"]);
    assert_eq!(run.json()["marketplaceEntry"], Value::Null);
    assert_eq!(tags(&mkt), ["p--v1.0.0"]);
}

#[test]
fn marketplace_outside_the_repository_is_not_consulted() {
    let ctx = TestContext::new();
    set_identity(&ctx);
    let outer = ctx.root.join("outer");
    write_marketplace(
        &outer,
        "o",
        json!([{"name": "p", "source": "./inner/p", "version": "7.0.0"}]),
    );
    let inner = outer.join("inner");
    write_plugin(&inner.join("p"), "p", Some("1.0.0"));
    commit_all(&inner, "inner repository");
    let run = run_tag(&ctx, &[&s(&inner.join("p")), "--json"]);
    run.assert_ok();
    assert_eq!(run.json()["marketplaceEntry"], Value::Null);
    assert_eq!(tags(&inner), ["p--v1.0.0"]);
}

#[test]
fn push_to_a_bare_repository() {
    let (ctx, plug) = standalone(Some("1.0.0"));
    let bare = ctx.root.join("remote.git");
    git(&ctx.root, &["init", "-q", "--bare", &s(&bare)]);
    git(&plug, &["remote", "add", "origin", &s(&bare)]);

    let run = run_tag(&ctx, &[&s(&plug), "--push", "--json"]);
    run.assert_ok()
        .stderr_has(&["Pushed tag `myplug--v1.0.0` to `origin`"]);
    assert_eq!(run.json()["pushed"], true);
    assert_eq!(run.json()["remote"], "origin");
    assert_eq!(
        rev_parse(&bare, "refs/tags/myplug--v1.0.0"),
        rev_parse(&plug, "refs/tags/myplug--v1.0.0"),
        "the same annotated tag object"
    );
    assert_eq!(
        git(&bare, &["cat-file", "-t", "refs/tags/myplug--v1.0.0"]),
        "tag"
    );

    // Moving the tag: without --force the remote keeps its tag; --force --push replaces it.
    write_file(&plug.join("commands/more.md"), "more\n");
    let second = commit_all(&plug, "more");
    git(&plug, &["tag", "-d", "myplug--v1.0.0"]);
    let run = run_tag(&ctx, &[&s(&plug), "--push", "--json"]);
    run.assert_fails(1).stderr_has(&[
        "was created, but pushing it to `origin` failed",
        "was rejected: already exists",
        "hint: the tag stays here; `origin` already has a tag `myplug--v1.0.0`",
    ]);
    assert_eq!(run.json()["failureCode"], "push_failed");
    assert_ne!(
        rev_parse(&bare, "refs/tags/myplug--v1.0.0^{commit}"),
        second
    );
    ctx.ok(&["tag", &s(&plug), "--push", "--force"]);
    assert_eq!(
        rev_parse(&bare, "refs/tags/myplug--v1.0.0^{commit}"),
        second
    );

    // A path as --remote.
    let other = ctx.root.join("other.git");
    git(&ctx.root, &["init", "-q", "--bare", &s(&other)]);
    ctx.ok(&[
        "tag",
        &s(&plug),
        "--force",
        "--push",
        "--remote",
        &s(&other),
    ]);
    assert_eq!(
        rev_parse(&other, "refs/tags/myplug--v1.0.0^{commit}"),
        second
    );
}

#[test]
fn push_failure_keeps_the_tag_and_exits_1() {
    let (ctx, plug) = standalone(Some("1.0.0"));
    let run = run_tag(&ctx, &[&s(&plug), "--push", "--remote", "nosuch", "--json"]);
    run.assert_fails(1).stderr_has(&[
        "error: Tag `myplug--v1.0.0` was created, but pushing it to `nosuch` failed",
        "No remote `nosuch`",
        "hint: the tag stays",
    ]);
    let result = run.json();
    assert_eq!(result["outcome"], "failed");
    assert_eq!(result["failureCode"], "push_failed");
    assert_eq!(result["pushed"], false);
    assert_eq!(result["remote"], "nosuch");
    assert_eq!(
        result["tagObject"],
        rev_parse(&plug, "refs/tags/myplug--v1.0.0").as_str()
    );
    let (kind, commit, ..) = tag_object(&plug, "myplug--v1.0.0");
    assert_eq!((kind.as_str(), commit), ("tag", rev_parse(&plug, "HEAD")));

    // A path that is no repository.
    let run = run_tag(
        &ctx,
        &[
            &s(&plug),
            "--force",
            "--push",
            "--remote",
            &s(&ctx.root.join("missing.git")),
        ],
    );
    run.assert_fails(1).stderr_has(&["pushing it to"]);
    assert_eq!(tags(&plug), ["myplug--v1.0.0"]);
}

#[test]
fn dirty_check_of_a_directory_with_glob_characters_in_its_name() {
    let ctx = TestContext::new();
    set_identity(&ctx);
    let mkt = ctx.root.join("mkt");
    write_marketplace(
        &mkt,
        "m",
        json!([{"name": "p", "source": "./plugins/p[1]"}]),
    );
    let p = mkt.join("plugins/p[1]");
    write_plugin(&p, "p", Some("1.0.0"));
    commit_all(&mkt, "marketplace");
    // Siblings that a glob `p[1]` or a plain prefix would match.
    write_file(&mkt.join("plugins/p1/x.txt"), "x\n");
    write_file(&mkt.join("plugins/p[1]x/x.txt"), "x\n");
    let run = run_tag(&ctx, &[&s(&p), "--json"]);
    run.assert_ok();
    assert_eq!(run.json()["marketplaceEntry"]["index"], 0);
    assert_eq!(tags(&mkt), ["p--v1.0.0"]);
    write_file(&p.join("x.txt"), "x\n");
    let run = run_tag(&ctx, &[&s(&p), "--force", "--dry-run"]);
    run.assert_ok();
    let run = run_tag(&ctx, &[&s(&p), "--dry-run", "--json"]);
    run.assert_fails(1);
    assert_eq!(run.json()["files"], json!(["plugins/p[1]/x.txt"]));
}

#[test]
fn plugin_validation_warnings_are_reported_and_do_not_stop_the_tag() {
    let (ctx, plug) = standalone(Some("1.0.0"));
    // No description, no author: the reference's warnings.
    write_file(
        &plug.join(".claude-plugin/plugin.json"),
        "{\"name\":\"myplug\",\"version\":\"1.0.0\"}",
    );
    commit_all(&plug, "bare manifest");
    let run = run_tag(&ctx, &[&s(&plug)]);
    run.assert_ok()
        .stderr_has(&["plugin.json: description: No description provided"]);
    assert_eq!(tags(&plug), ["myplug--v1.0.0"]);
}
