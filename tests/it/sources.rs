//! Plugin sources outside the marketplace (reference-lifecycle.md §5.4, DEVIATIONS 10 and 12):
//! `sha` and `ref` pins on git sources (over the local transport and over smart HTTP),
//! `git-subdir` (a sparse clone inside the cache, only the subdirectory copied), and `npm`
//! against a fake registry on loopback (versions and ranges, integrity, unsafe tarballs, a
//! registry that is down).

use crate::support::{
    TestContext, assert_same_tree, commit_all, git, read_json, rev_parse, set_version, snapshot,
    write_file, write_json, write_marketplace, write_plugin,
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
        .unwrap_or_else(|| panic!("no records for {id}: {records}"));
    assert_eq!(list.len(), 1, "{records}");
    list[0].clone()
}

/// A directory marketplace `mkt` at `root/mkt` listing `plugins`, added at user scope.
fn add_marketplace(ctx: &TestContext, plugins: Value) -> PathBuf {
    let market = ctx.root.join("mkt");
    write_marketplace(&market, "mkt", plugins);
    ctx.ok(&["marketplace", "add", &s(&market)]);
    market
}

/// Sorted names in `dir`.
fn ls(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs_err::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every path below `dir` (relative, sorted), links not followed.
fn tree(dir: &Path) -> Vec<String> {
    snapshot(dir).keys().map(|p| s(p)).collect()
}

// ---- sha and ref pins ------------------------------------------------------------------------

/// `acme/plug`: commit 1 (plugin.json 1.0.0, tag `v1`), commit 2 on `main` (2.0.0, `NEWS.md`),
/// and commit 3 on branch `side` only (3.0.0, `SIDE.md`), which `main` does not reach.
/// Returns the three commits.
fn publish_plug(ctx: &TestContext) -> (String, String, String) {
    let src = ctx.root.join("plug");
    write_plugin(&src, "plug", Some("1.0.0"));
    let first = commit_all(&src, "1.0.0");
    git(&src, &["tag", "v1"]);
    git(&src, &["checkout", "-q", "-b", "side"]);
    set_version(&src, "3.0.0");
    write_file(&src.join("SIDE.md"), "side\n");
    let side = commit_all(&src, "3.0.0 on side");
    git(&src, &["checkout", "-q", "main"]);
    // Created with every branch and tag: main (commit 1), side, v1.
    ctx.publish(&src, "acme/plug");
    set_version(&src, "2.0.0");
    write_file(&src.join("NEWS.md"), "second\n");
    ctx.publish(&src, "acme/plug");
    let second = rev_parse(&src, "HEAD");
    assert_ne!(first, second);
    (first, second, side)
}

/// Installs `name@mkt` and checks its record and cache directory: `version`, `commit`, the
/// files only some commits have.
#[track_caller]
fn assert_installed_at(ctx: &TestContext, name: &str, version: &str, commit: &str) {
    let id = format!("{name}@mkt");
    let out = ctx.ok(&["install", &id, "--json"]);
    assert_eq!(out.json()["pluginId"], id.as_str(), "{out}");
    let record = only_record(ctx, &id);
    assert_eq!(record["version"], version, "{record}");
    assert_eq!(record["gitCommitSha"], commit, "{record}");
    let dir = ctx.cache().join("mkt").join(name).join(version);
    assert_eq!(record["installPath"], s(&dir).as_str());
    let manifest = read_json(&dir.join(".claude-plugin/plugin.json"));
    assert_eq!(manifest["version"], version);
    assert_eq!(dir.join("NEWS.md").exists(), version == "2.0.0", "{name}");
    assert_eq!(dir.join("SIDE.md").exists(), version == "3.0.0", "{name}");
    assert!(!dir.join(".git").exists());
    assert_eq!(
        ls(&ctx.cache().join("mkt").join(name)),
        [version],
        "no temporary clone is left"
    );
}

fn pinned_plugins(first: &str, side: &str) -> Value {
    json!([
        {"name": "head", "source": {"source": "github", "repo": "acme/plug"}},
        {"name": "first", "source": {"source": "github", "repo": "acme/plug", "sha": first}},
        {"name": "side", "source": {"source": "url", "url": "https://github.com/acme/plug.git", "sha": side}},
        {"name": "tag", "source": {"source": "github", "repo": "acme/plug", "ref": "v1"}},
        {"name": "branch", "source": {"source": "github", "repo": "acme/plug", "ref": "side"}},
        {"name": "refsha", "source": {"source": "github", "repo": "acme/plug", "ref": "side", "sha": first}},
    ])
}

#[test]
fn sha_and_ref_pins_over_the_local_transport() {
    let ctx = TestContext::new();
    let (first, second, side) = publish_plug(&ctx);
    ctx.github_over_files();
    add_marketplace(&ctx, pinned_plugins(&first, &side));

    assert_installed_at(&ctx, "head", "2.0.0", &second);
    // In the full clone of `main` already.
    assert_installed_at(&ctx, "first", "1.0.0", &first);
    // Not reachable from `main`: fetched from every branch.
    assert_installed_at(&ctx, "side", "3.0.0", &side);
    assert_installed_at(&ctx, "tag", "1.0.0", &first);
    assert_installed_at(&ctx, "branch", "3.0.0", &side);
    assert_installed_at(&ctx, "refsha", "1.0.0", &first);
}

#[test]
fn sha_pins_over_smart_http_fetch_the_commit() {
    let mut ctx = TestContext::new();
    let (first, second, side) = publish_plug(&ctx);
    ctx.github_over_http();
    add_marketplace(&ctx, pinned_plugins(&first, &side));

    // The clone is shallow (depth 1): commit 1 is not in it. The server does not serve
    // unadvertised commits (git's default), so pm falls back to fetching every branch.
    assert_installed_at(&ctx, "first", "1.0.0", &first);
    assert_installed_at(&ctx, "side", "3.0.0", &side);
    assert_installed_at(&ctx, "refsha", "1.0.0", &first);
    assert_installed_at(&ctx, "head", "2.0.0", &second);
}

#[test]
fn sha_pins_over_smart_http_fetch_the_commit_by_id() {
    let mut ctx = TestContext::new();
    let (first, _, side) = publish_plug(&ctx);
    // As GitHub does: any reachable commit may be fetched by its id.
    git(
        &ctx.gh.join("acme/plug.git"),
        &["config", "uploadpack.allowReachableSHA1InWant", "true"],
    );
    ctx.github_over_http();
    add_marketplace(&ctx, pinned_plugins(&first, &side));
    assert_installed_at(&ctx, "first", "1.0.0", &first);
    assert_installed_at(&ctx, "side", "3.0.0", &side);
}

#[test]
fn sha_pins_with_the_git_cli_backend() {
    let mut ctx = TestContext::new();
    let (first, second, side) = publish_plug(&ctx);
    // A third commit on main: commit 2 is no longer the tip of anything.
    let src = ctx.root.join("plug");
    set_version(&src, "2.1.0");
    ctx.publish(&src, "acme/plug");
    ctx.github_over_http();
    let mut plugins = pinned_plugins(&first, &side);
    if let Some(list) = plugins.as_array_mut() {
        list.push(json!({"name": "second", "source": {"source": "github", "repo": "acme/plug", "sha": second}}));
    }
    add_marketplace(&ctx, plugins);
    // `protocol_v0`: git's protocol v0 over file://, where the server serves branch and tag tips
    // only, so pm falls back to fetching every branch with its history.
    let run = |name: &str, protocol_v0: bool| {
        let id = format!("{name}@mkt");
        let mut command = ctx.pm(&["install", &id]);
        command.env("PM_GIT_FETCH_WITH_CLI", "true");
        if protocol_v0 {
            command
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "protocol.version")
                .env("GIT_CONFIG_VALUE_0", "0");
        }
        crate::support::run(command).assert_ok();
        let record = only_record(&ctx, &id);
        ctx.ok(&["uninstall", &id]);
        record
    };
    for protocol_v0 in [false, true] {
        if protocol_v0 {
            ctx.github_over_files();
        }
        for (name, commit, version) in [
            ("first", &first, "1.0.0"),
            ("side", &side, "3.0.0"),
            ("second", &second, "2.0.0"),
        ] {
            let record = run(name, protocol_v0);
            assert_eq!(record["gitCommitSha"], commit.as_str(), "{name}");
            assert_eq!(record["version"], version, "{name}");
        }
    }
}

#[test]
fn a_sha_the_repository_does_not_have_changes_nothing() {
    let mut ctx = TestContext::new();
    publish_plug(&ctx);
    ctx.github_over_http();
    let missing = "0123456789abcdef0123456789abcdef01234567";
    add_marketplace(
        &ctx,
        json!([
            {"name": "gone", "source": {"source": "github", "repo": "acme/plug", "sha": missing}},
            {"name": "short", "source": {"source": "github", "repo": "acme/plug", "sha": "0123456"}},
        ]),
    );
    let before = ctx.snapshot();
    let out = ctx.fails(&["install", "gone@mkt", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "error_not_found", "{out}");
    out.stderr_has(&[missing, "acme/plug"]);
    assert_same_tree(&before, &ctx.snapshot());

    let out = ctx.fails(&["install", "short@mkt", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "error_validation", "{out}");
    assert_same_tree(&before, &ctx.snapshot());
}

// ---- git-subdir ------------------------------------------------------------------------------

/// `acme/mono`: `tools/sub` (plugin 4.0.0), `tools/nover` (no version), `other/big.txt`,
/// `shared/data.txt`; `tools/linked` (4.1.0) with a link to `shared/data.txt` and one out of
/// the repository. Returns the work tree.
fn publish_mono(ctx: &TestContext) -> PathBuf {
    let mono = ctx.root.join("mono");
    write_plugin(&mono.join("tools/sub"), "sub", Some("4.0.0"));
    write_plugin(&mono.join("tools/nover"), "nover", None);
    write_plugin(&mono.join("tools/linked"), "linked", Some("4.1.0"));
    write_file(&mono.join("other/big.txt"), "x\n");
    write_file(&mono.join("shared/data.txt"), "shared data\n");
    write_file(&mono.join("README.md"), "mono\n");
    std::os::unix::fs::symlink("../../shared/data.txt", mono.join("tools/linked/data.txt"))
        .expect("symlink");
    std::os::unix::fs::symlink("../../../outside.txt", mono.join("tools/linked/out.txt"))
        .expect("symlink");
    std::os::unix::fs::symlink("sub", mono.join("tools/alias")).expect("symlink");
    std::os::unix::fs::symlink("/etc", mono.join("tools/etc")).expect("symlink");
    ctx.publish(&mono, "acme/mono");
    mono
}

fn subdir_plugins() -> Value {
    json!([
        {"name": "sub", "source": {"source": "git-subdir", "url": "acme/mono", "path": "tools/sub"}},
        {"name": "nover", "source": {"source": "git-subdir", "url": "https://github.com/acme/mono.git", "path": "./tools/nover/"}},
        {"name": "linked", "source": {"source": "git-subdir", "url": "acme/mono", "path": "tools/linked"}},
        {"name": "missing", "source": {"source": "git-subdir", "url": "acme/mono", "path": "tools/nope"}},
        {"name": "escape", "source": {"source": "git-subdir", "url": "acme/mono", "path": "../outside"}},
        {"name": "absolute", "source": {"source": "git-subdir", "url": "acme/mono", "path": "/etc"}},
        {"name": "alias", "source": {"source": "git-subdir", "url": "acme/mono", "path": "tools/alias"}},
        {"name": "etc", "source": {"source": "git-subdir", "url": "acme/mono", "path": "tools/etc"}},
    ])
}

#[test]
fn git_subdir_copies_only_the_subdirectory_and_touches_nothing_else() {
    let mut ctx = TestContext::new();
    let mono = publish_mono(&ctx);
    let head = rev_parse(&mono, "HEAD");
    ctx.github_over_http();
    let market = add_marketplace(&ctx, subdir_plugins());
    let project_before = snapshot(&ctx.project);
    let market_before = snapshot(&market);
    let root_before = ls(&ctx.root);

    let out = ctx.ok(&["install", "sub@mkt", "--json"]);
    assert_eq!(out.json()["pluginId"], "sub@mkt", "{out}");
    let record = only_record(&ctx, "sub@mkt");
    assert_eq!(record["version"], "4.0.0");
    assert_eq!(record["gitCommitSha"], head.as_str());
    let dir = ctx.cache().join("mkt/sub/4.0.0");
    assert_eq!(
        tree(&dir),
        [
            ".claude-plugin",
            ".claude-plugin/plugin.json",
            ".pm-ok",
            "commands",
            "commands/hello.md"
        ]
    );
    assert_eq!(ls(&ctx.cache().join("mkt/sub")), ["4.0.0"], "no clone left");

    // No version anywhere: 12 hex of the repository's HEAD.
    ctx.ok(&["install", "nover@mkt"]);
    let record = only_record(&ctx, "nover@mkt");
    assert_eq!(record["version"], &head[..12]);
    assert_eq!(record["gitCommitSha"], head.as_str());

    // The copy boundary is the clone: a link elsewhere into the repository is copied as a
    // file, a link out of it is left out.
    ctx.ok(&["install", "linked@mkt"]);
    let dir = ctx.cache().join("mkt/linked/4.1.0");
    let data = dir.join("data.txt");
    assert!(!fs_err::symlink_metadata(&data).expect("lstat").is_symlink());
    assert_eq!(
        fs_err::read_to_string(&data).expect("read"),
        "shared data\n"
    );
    assert!(fs_err::symlink_metadata(dir.join("out.txt")).is_err());
    assert!(!dir.join("other").exists() && !dir.join("README.md").exists());

    // A `path` that is a link to another directory of the repository.
    ctx.ok(&["install", "alias@mkt"]);
    assert!(
        ctx.cache()
            .join("mkt/alias/4.0.0/commands/hello.md")
            .is_file()
    );

    // Nothing outside the cache changed: not the project (cwd), not the marketplace, not the
    // test root.
    assert_same_tree(&project_before, &snapshot(&ctx.project));
    assert_same_tree(&market_before, &snapshot(&market));
    assert_eq!(root_before, ls(&ctx.root));
}

#[test]
fn git_subdir_paths_that_do_not_exist_or_escape_are_refused() {
    let ctx = TestContext::new();
    publish_mono(&ctx);
    ctx.github_over_files();
    add_marketplace(&ctx, subdir_plugins());
    let before = ctx.snapshot();

    let out = ctx.fails(&["install", "missing@mkt", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "error_not_found", "{out}");
    out.stderr_has(&["tools/nope", "acme/mono"]);
    assert_same_tree(&before, &ctx.snapshot());

    // A `path` that is a link out of the repository.
    let out = ctx.fails(&["install", "etc@mkt", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "error_validation", "{out}");
    assert_same_tree(&before, &ctx.snapshot());

    for name in ["escape", "absolute"] {
        let out = ctx.fails(&["install", &format!("{name}@mkt"), "--json"], 1);
        assert_eq!(out.json()["failureCode"], "error_validation", "{out}");
        assert_same_tree(&before, &ctx.snapshot());
    }
}

#[test]
fn git_subdir_with_a_sha_pin() {
    let ctx = TestContext::new();
    let mono = publish_mono(&ctx);
    let first = rev_parse(&mono, "HEAD");
    set_version(&mono.join("tools/sub"), "5.0.0");
    write_file(&mono.join("tools/sub/NEW.md"), "new\n");
    ctx.publish(&mono, "acme/mono");
    ctx.github_over_files();
    add_marketplace(
        &ctx,
        json!([
            {"name": "sub", "source": {"source": "git-subdir", "url": "acme/mono", "path": "tools/sub", "sha": first}},
        ]),
    );
    ctx.ok(&["install", "sub@mkt"]);
    let record = only_record(&ctx, "sub@mkt");
    assert_eq!(record["version"], "4.0.0");
    assert_eq!(record["gitCommitSha"], first.as_str());
    let dir = ctx.cache().join("mkt/sub/4.0.0");
    assert!(!dir.join("NEW.md").exists());
    assert!(dir.join("commands/hello.md").is_file());
}

// ---- npm -------------------------------------------------------------------------------------

/// One entry of a test tarball.
enum Item<'a> {
    File(&'a str, &'a [u8]),
    Link(&'a str, &'a str),
    HardLink(&'a str, &'a str),
    Fifo(&'a str),
}

/// Writes `text` into a raw header field (no path checks: tests build hostile archives).
fn set_raw(field: &mut [u8], text: &str) {
    field.fill(0);
    field[..text.len()].copy_from_slice(text.as_bytes());
}

/// A gzip-compressed tar of `items`, written field by field so that any path can be used.
fn tgz(items: &[Item<'_>]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut builder = tar::Builder::new(encoder);
    for item in items {
        let mut header = tar::Header::new_ustar();
        let (path, kind, link, data): (&str, tar::EntryType, Option<&str>, &[u8]) = match item {
            Item::File(path, data) => (path, tar::EntryType::Regular, None, data),
            Item::Link(path, target) => (path, tar::EntryType::Symlink, Some(target), b""),
            Item::HardLink(path, target) => (path, tar::EntryType::Link, Some(target), b""),
            Item::Fifo(path) => (path, tar::EntryType::Fifo, None, b""),
        };
        set_raw(&mut header.as_old_mut().name, path);
        if let Some(link) = link {
            set_raw(&mut header.as_old_mut().linkname, link);
        }
        header.set_entry_type(kind);
        header.set_mode(0o644);
        header.set_size(data.len() as u64);
        header.set_cksum();
        builder.append(&header, data).expect("append");
    }
    builder
        .into_inner()
        .expect("finish tar")
        .finish()
        .expect("finish gzip")
}

/// `sha512-<base64>` of `data`.
fn sri(data: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    format!(
        "sha512-{}",
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha512::digest(data))
    )
}

/// A plugin package: plugin.json without a version, a command, an executable script.
fn good_package() -> Vec<u8> {
    tgz(&[
        Item::File(
            "package/.claude-plugin/plugin.json",
            br#"{"name":"npmplug","description":"from npm"}"#,
        ),
        Item::File("package/commands/hello.md", b"Say hello\n"),
        Item::File("package/package.json", br#"{"name":"@acme/npmplug"}"#),
        Item::Link("package/commands/again.md", "hello.md"),
        Item::HardLink("package/commands/copy.md", "package/commands/hello.md"),
    ])
}

/// A fake npm registry on loopback serving `@acme/npmplug` with `versions` (see
/// [`write_registry`]). Returns the registry URL.
fn npm_registry(ctx: &mut TestContext, versions: &[(&str, Vec<u8>, Option<&str>)]) -> String {
    let dir = ctx.root.join("registry");
    fs_err::create_dir_all(&dir).expect("mkdir");
    let base = ctx.serve_files(&dir);
    let registry = base.trim_end_matches('/').to_string();
    write_registry(&dir, &registry, versions);
    registry
}

/// Writes the registry's files for `@acme/npmplug`: `versions` are (version, tarball bytes,
/// integrity to list; `None`: the right one), the first one is `latest`.
fn write_registry(dir: &Path, registry: &str, versions: &[(&str, Vec<u8>, Option<&str>)]) {
    let mut entries = serde_json::Map::new();
    for (version, bytes, integrity) in versions {
        let file = format!("npmplug-{version}.tgz");
        fs_err::create_dir_all(dir.join("tarballs")).expect("mkdir");
        fs_err::write(dir.join("tarballs").join(&file), bytes).expect("write tarball");
        entries.insert(
            (*version).to_string(),
            json!({
                "name": "@acme/npmplug",
                "version": version,
                "dist": {
                    "tarball": format!("{registry}/tarballs/{file}"),
                    "integrity": integrity.map_or_else(|| sri(bytes), str::to_string),
                }
            }),
        );
    }
    let latest = versions.first().map_or("0.0.0", |v| v.0);
    write_json(
        &dir.join("@acme/npmplug"),
        &json!({"name": "@acme/npmplug", "dist-tags": {"latest": latest}, "versions": entries}),
    );
}

fn npm_entry(name: &str, version: Option<&str>, registry: &str) -> Value {
    let mut source = json!({"source": "npm", "package": "@acme/npmplug", "registry": registry});
    if let Some(version) = version {
        source["version"] = Value::from(version);
    }
    json!({"name": name, "source": source})
}

#[test]
fn npm_packages_install_from_the_registry() {
    let mut ctx = TestContext::new();
    let registry = npm_registry(
        &mut ctx,
        &[
            ("1.1.0", good_package(), None),
            ("1.0.0", good_package(), None),
            ("2.0.0", good_package(), None),
        ],
    );
    add_marketplace(
        &ctx,
        json!([
            npm_entry("exact", Some("1.0.0"), &registry),
            npm_entry("range", Some("^1.0.0"), &registry),
            npm_entry("latest", None, &registry),
            {"name": "entryver", "version": "9.9.9", "source": {"source": "npm", "package": "@acme/npmplug", "version": "2.0.0", "registry": format!("{registry}/")}},
            npm_entry("nomatch", Some("^3"), &registry),
        ]),
    );

    for (name, version) in [
        ("exact", "1.0.0"),
        ("range", "1.1.0"),
        ("latest", "1.1.0"),
        ("entryver", "9.9.9"),
    ] {
        let id = format!("{name}@mkt");
        let out = ctx.ok(&["install", &id, "--json"]);
        assert_eq!(out.json()["pluginId"], id.as_str(), "{out}");
        let record = only_record(&ctx, &id);
        assert_eq!(record["version"], version, "{record}");
        assert!(record.get("gitCommitSha").is_none(), "{record}");
        let dir = ctx.cache().join("mkt").join(name).join(version);
        assert_eq!(record["installPath"], s(&dir).as_str());
        assert_eq!(
            tree(&dir),
            [
                ".claude-plugin",
                ".claude-plugin/plugin.json",
                ".pm-ok",
                "commands",
                "commands/again.md",
                "commands/copy.md",
                "commands/hello.md",
                "package.json"
            ]
        );
        assert_eq!(
            fs_err::read_link(dir.join("commands/again.md")).expect("link"),
            PathBuf::from("hello.md")
        );
        assert_eq!(
            fs_err::read_to_string(dir.join("commands/copy.md")).expect("read"),
            "Say hello\n"
        );
        assert_eq!(ls(&ctx.cache().join("mkt").join(name)), [version]);
    }

    let before = ctx.snapshot();
    let out = ctx.fails(&["install", "nomatch@mkt", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "error_not_found", "{out}");
    out.stderr_has(&["^3", "2.0.0"]);
    assert_same_tree(&before, &ctx.snapshot());
}

#[test]
fn npm_tarballs_that_fail_integrity_or_are_unsafe_change_nothing() {
    let mut ctx = TestContext::new();
    let wrong = sri(b"something else");
    let registry = npm_registry(
        &mut ctx,
        &[
            ("1.0.0", good_package(), Some(&wrong)),
            (
                "1.0.1",
                tgz(&[
                    Item::File("package/.claude-plugin/plugin.json", br#"{"name":"x"}"#),
                    Item::File("package/../evil", b"evil\n"),
                ]),
                None,
            ),
            (
                "1.0.2",
                tgz(&[
                    Item::File("package/.claude-plugin/plugin.json", br#"{"name":"x"}"#),
                    Item::Link("package/passwd", "/etc/passwd"),
                ]),
                None,
            ),
            (
                "1.0.3",
                tgz(&[
                    Item::File("package/.claude-plugin/plugin.json", br#"{"name":"x"}"#),
                    Item::Link("package/commands/x", "../../x"),
                ]),
                None,
            ),
            (
                "1.0.4",
                tgz(&[
                    Item::File("package/a.txt", b"a\n"),
                    Item::HardLink("package/b.txt", "package/../../outside"),
                ]),
                None,
            ),
            (
                "1.0.5",
                tgz(&[
                    Item::File("package/a.txt", b"a\n"),
                    Item::Fifo("package/fifo"),
                ]),
                None,
            ),
            ("1.0.6", tgz(&[Item::File("/abs/evil", b"evil\n")]), None),
            (
                // Each link stays inside lexically; together they lead out.
                "1.0.7",
                tgz(&[
                    Item::File("package/a.txt", b"a\n"),
                    Item::Link("package/d/l", ".."),
                    Item::Link("package/d/m", "l/../.."),
                ]),
                None,
            ),
            (
                // A file written through an earlier link.
                "1.0.8",
                tgz(&[
                    Item::Link("package/up", "."),
                    Item::File("package/up/a.txt", b"a\n"),
                ]),
                None,
            ),
        ],
    );
    let cases = [
        ("integrity", "1.0.0", "error_validation", "integrity"),
        ("dotdot", "1.0.1", "error_validation", "`..`"),
        ("abslink", "1.0.2", "error_validation", "absolute"),
        ("uplink", "1.0.3", "error_validation", "outside the package"),
        ("hardlink", "1.0.4", "error_validation", "hard link"),
        ("fifo", "1.0.5", "error_validation", "FIFO"),
        ("abspath", "1.0.6", "error_validation", "absolute"),
        ("chain", "1.0.7", "error_validation", "resolves outside"),
        ("through", "1.0.8", "error_validation", "through a link"),
    ];
    add_marketplace(
        &ctx,
        Value::Array(
            cases
                .iter()
                .map(|(name, version, _, _)| npm_entry(name, Some(version), &registry))
                .collect(),
        ),
    );
    let before = ctx.snapshot();
    for (name, _, code, needle) in cases {
        let out = ctx.fails(&["install", &format!("{name}@mkt"), "--json"], 1);
        assert_eq!(out.json()["failureCode"], code, "{name}: {out}");
        out.stderr_has(&[needle]);
        assert_same_tree(&before, &ctx.snapshot());
    }
    assert!(!ctx.root.join("evil").exists());
    assert!(!ctx.cache().exists(), "no cache directory is left behind");
}

#[test]
fn npm_plugins_update_to_a_new_matching_version() {
    let mut ctx = TestContext::new();
    let registry = npm_registry(&mut ctx, &[("1.0.0", good_package(), None)]);
    add_marketplace(&ctx, json!([npm_entry("up", Some("^1.0.0"), &registry)]));
    ctx.ok(&["install", "up@mkt"]);
    assert_eq!(only_record(&ctx, "up@mkt")["version"], "1.0.0");

    write_registry(
        &ctx.root.join("registry"),
        &registry,
        &[
            ("1.0.0", good_package(), None),
            ("1.1.0", good_package(), None),
            ("2.0.0", good_package(), None),
        ],
    );
    let out = ctx.fails(&["update", "up@mkt", "--offline", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "error_network", "{out}");
    let out = ctx.ok(&["update", "up@mkt", "--json"]);
    assert_eq!(out.json()["newVersion"], "1.1.0", "{out}");
    let record = only_record(&ctx, "up@mkt");
    assert_eq!(record["version"], "1.1.0");
    assert!(ctx.cache().join("mkt/up/1.1.0/commands/hello.md").is_file());
}

#[test]
fn npm_registry_down_is_a_network_error() {
    let ctx = TestContext::new();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind")
        .port();
    let registry = format!("http://127.0.0.1:{port}");
    add_marketplace(&ctx, json!([npm_entry("npmp", Some("1.0.0"), &registry)]));
    let before = ctx.snapshot();
    let out = ctx.fails(&["install", "npmp@mkt", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "error_network", "{out}");
    out.stderr_has(&["@acme/npmplug@1.0.0", &registry]);
    assert_same_tree(&before, &ctx.snapshot());
}

#[test]
fn npm_unknown_package_is_a_network_error_like_the_reference() {
    let mut ctx = TestContext::new();
    let registry = npm_registry(&mut ctx, &[("1.0.0", good_package(), None)]);
    add_marketplace(
        &ctx,
        json!([{"name": "other", "source": {"source": "npm", "package": "@acme/other", "registry": registry}}]),
    );
    let out = ctx.fails(&["install", "other@mkt", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "error_network", "{out}");
    out.stderr_has(&["404"]);
}

// ---- archive ---------------------------------------------------------------------------------

/// One entry of a test zip.
enum ZipItem<'a> {
    /// Path, content, Unix mode.
    File(&'a str, &'a [u8], u32),
    Link(&'a str, &'a str),
    Dir(&'a str),
}

/// A zip of `items` (deflated files), any path allowed.
fn zip_of(items: &[ZipItem<'_>]) -> Vec<u8> {
    use std::io::Write as _;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for item in items {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        match item {
            ZipItem::File(path, data, mode) => {
                writer
                    .start_file(*path, options.unix_permissions(*mode))
                    .expect("start file");
                writer.write_all(data).expect("write");
            }
            ZipItem::Link(path, target) => {
                writer.add_symlink(*path, *target, options).expect("link");
            }
            ZipItem::Dir(path) => writer.add_directory(*path, options).expect("dir"),
        }
    }
    writer.finish().expect("finish zip").into_inner()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn archive_entry(name: &str, url: &str, sha256: Option<&str>) -> Value {
    let mut source = json!({"source": "archive", "url": url});
    if let Some(sha256) = sha256 {
        source["sha256"] = json!(sha256);
    }
    json!({"name": name, "source": source, "version": "0.3.0"})
}

#[test]
fn archive_sources_install_from_a_zip_or_a_tar_gz() {
    let mut ctx = TestContext::new();
    let files = ctx.root.join("files");
    // A GitHub-style zip: everything inside one top directory.
    let zip = zip_of(&[
        ZipItem::Dir("plug-main/"),
        ZipItem::File(
            "plug-main/.claude-plugin/plugin.json",
            br#"{"name":"zipplug","version":"2.0.0"}"#,
            0o644,
        ),
        ZipItem::File("plug-main/commands/hello.md", b"Say hello\n", 0o644),
        ZipItem::File("plug-main/bin/run.sh", b"#!/bin/sh\n", 0o755),
        ZipItem::Link("plug-main/commands/again.md", "hello.md"),
        ZipItem::Dir("plug-main/empty/"),
    ]);
    write_file_bytes(&files.join("plug.zip"), &zip);
    // A tar.gz with the plugin at its root, no version in plugin.json.
    let tar_gz = tgz(&[
        Item::File("./.claude-plugin/plugin.json", br#"{"name":"tgzplug"}"#),
        Item::File("./skills/s/SKILL.md", b"---\ndescription: s\n---\nBody\n"),
    ]);
    write_file_bytes(&files.join("plug.tar.gz"), &tar_gz);
    let base = ctx.serve_files(&files);
    add_marketplace(
        &ctx,
        json!([
            archive_entry(
                "zipplug",
                &format!("{base}/plug.zip"),
                Some(&sha256_hex(&zip))
            ),
            archive_entry("tgzplug", &format!("{base}/plug.tar.gz"), None),
        ]),
    );

    let out = ctx.ok(&["install", "zipplug@mkt", "--json"]);
    assert_eq!(out.json()["outcome"], "ok", "{out}");
    let record = only_record(&ctx, "zipplug@mkt");
    let dir = ctx.cache().join("mkt/zipplug/2.0.0");
    assert_eq!(record["installPath"], s(&dir), "{record}");
    assert_eq!(record["version"], "2.0.0");
    assert!(record.get("gitCommitSha").is_none(), "{record}");
    assert_eq!(
        tree(&dir),
        [
            ".claude-plugin",
            ".claude-plugin/plugin.json",
            ".pm-ok",
            "bin",
            "bin/run.sh",
            "commands",
            "commands/again.md",
            "commands/hello.md",
            "empty"
        ]
        .map(String::from)
    );
    assert_eq!(
        fs_err::read_link(dir.join("commands/again.md")).expect("link"),
        Path::new("hello.md")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs_err::metadata(dir.join("bin/run.sh"))
            .expect("run.sh")
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "executable kept: {mode:o}");
    }

    ctx.ok(&["install", "tgzplug@mkt"]);
    let record = only_record(&ctx, "tgzplug@mkt");
    // No version in plugin.json: the entry's.
    assert_eq!(record["version"], "0.3.0", "{record}");
    assert!(
        ctx.cache()
            .join("mkt/tgzplug/0.3.0/skills/s/SKILL.md")
            .is_file()
    );
    // Nothing temporary left in the plugin cache directories.
    assert_eq!(ls(&ctx.cache().join("mkt/zipplug")), ["2.0.0"]);
    assert_eq!(ls(&ctx.cache().join("mkt/tgzplug")), ["0.3.0"]);
}

#[test]
fn archives_that_fail_their_checksum_or_are_unsafe_change_nothing() {
    let mut ctx = TestContext::new();
    let files = ctx.root.join("files");
    let manifest = ZipItem::File(".claude-plugin/plugin.json", br#"{"name":"x"}"#, 0o644);
    let good = zip_of(&[ZipItem::File(
        ".claude-plugin/plugin.json",
        br#"{"name":"x"}"#,
        0o644,
    )]);
    write_file_bytes(&files.join("good.zip"), &good);
    write_file_bytes(
        &files.join("escape.zip"),
        &zip_of(&[
            ZipItem::File(".claude-plugin/plugin.json", br#"{"name":"x"}"#, 0o644),
            ZipItem::File("../evil", b"evil\n", 0o644),
        ]),
    );
    write_file_bytes(
        &files.join("link-out.zip"),
        &zip_of(&[manifest, ZipItem::Link("passwd", "/etc/passwd")]),
    );
    write_file_bytes(
        &files.join("link-up.zip"),
        &zip_of(&[ZipItem::Link("commands/x", "../../x")]),
    );
    write_file_bytes(
        &files.join("escape.tar.gz"),
        &tgz(&[Item::File("../evil", b"evil\n")]),
    );
    write_file_bytes(&files.join("page.zip"), b"<html>not an archive</html>");
    let base = ctx.serve_files(&files);
    let wrong = sha256_hex(b"something else");
    add_marketplace(
        &ctx,
        json!([
            archive_entry("sum", &format!("{base}/good.zip"), Some(&wrong)),
            archive_entry("badsum", &format!("{base}/good.zip"), Some("abc")),
            archive_entry("escape", &format!("{base}/escape.zip"), None),
            archive_entry("linkout", &format!("{base}/link-out.zip"), None),
            archive_entry("linkup", &format!("{base}/link-up.zip"), None),
            archive_entry("tarescape", &format!("{base}/escape.tar.gz"), None),
            archive_entry("page", &format!("{base}/page.zip"), None),
            archive_entry("missing", &format!("{base}/missing.zip"), None),
            archive_entry("ftp", "ftp://example.invalid/p.zip", None),
        ]),
    );
    for (name, code, needle) in [
        ("sum", "error_validation", "SHA-256"),
        ("badsum", "error_validation", "64 hex digits"),
        ("escape", "error_validation", "`..`"),
        ("linkout", "error_validation", "/etc/passwd"),
        ("linkup", "error_validation", "outside"),
        ("tarescape", "error_validation", "`..`"),
        ("page", "error_validation", "neither a .zip nor a .tar.gz"),
        ("missing", "error_network", "missing.zip"),
        ("ftp", "error_validation", "not an http(s) URL"),
    ] {
        let before = ctx.snapshot();
        let out = ctx.fails(&["install", &format!("{name}@mkt"), "--json"], 1);
        assert_eq!(out.json()["failureCode"], code, "{name}: {out}");
        out.stderr_has(&[needle]);
        assert_same_tree(&before, &ctx.snapshot());
    }
    assert!(!ctx.root.join("evil").exists());
    assert!(!ctx.root.join("files/evil").exists());
}

fn write_file_bytes(path: &Path, data: &[u8]) {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).expect("mkdir");
    }
    fs_err::write(path, data).expect("write file");
}
