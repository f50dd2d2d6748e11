//! The test context and fixture builders shared by every integration test.
//!
//! A [`TestContext`] is a temporary root holding:
//!
//! * `home/` — `HOME` of every pm run; `home/.claude` is the config root (no
//!   `CLAUDE_CONFIG_DIR` unless a test sets it);
//! * `project/` — a git work tree (`git init`, no commits) with a `sub/` directory; pm runs here
//!   unless told otherwise;
//! * `managed/` — `PM_MANAGED_SETTINGS_DIR`, empty;
//! * `gh/` — a fake GitHub: bare repositories `gh/<owner>/<repo>.git`, reachable as
//!   `https://github.com/…` and `git@github.com:…` once [`TestContext::github_over_files`] or
//!   [`TestContext::github_over_http`] wrote the rewrite into `home/.gitconfig` (libgit2 in the pm
//!   process reads it from `$HOME`).
//!
//! Fixture repositories are built with the `git` CLI under a fixed identity and date and no user
//! or system configuration.

#![allow(
    dead_code,
    reason = "each test module uses a different subset of the helpers"
)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub use pm_test_support::HttpServer;

/// One test's world; everything is deleted when it drops (servers stop first).
pub struct TestContext {
    /// HTTP servers started for this context; dropped before the directory.
    servers: Vec<HttpServer>,
    /// The canonical temporary root.
    pub root: PathBuf,
    /// `HOME`.
    pub home: PathBuf,
    /// `home/.claude`, the config root.
    pub config: PathBuf,
    /// The git work tree pm runs in.
    pub project: PathBuf,
    /// `project/sub`.
    pub sub: PathBuf,
    /// `PM_MANAGED_SETTINGS_DIR`.
    pub managed: PathBuf,
    /// The fake GitHub root (`gh/<owner>/<repo>.git`).
    pub gh: PathBuf,
    _dir: tempfile::TempDir,
}

/// What one pm run did.
#[derive(Debug, Clone)]
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    /// The command line, for messages.
    pub args: Vec<String>,
}

impl Run {
    /// Asserts exit code 0.
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success of pm {:?}\n{self}",
            self.args
        );
        self
    }

    /// Asserts exit code `code` (1 failure, 2 usage error).
    #[track_caller]
    pub fn assert_fails(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit code {code} of pm {:?}\n{self}",
            self.args
        );
        self
    }

    /// The one JSON line on stdout (see [`json_line`]).
    #[track_caller]
    pub fn json(&self) -> Value {
        json_line(&self.stdout)
    }

    /// Asserts that stderr contains every one of `needles`.
    #[track_caller]
    pub fn stderr_has(&self, needles: &[&str]) -> &Self {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr of pm {:?} lacks {needle:?}\n{self}",
                self.args
            );
        }
        self
    }

    /// Asserts that stdout contains every one of `needles`.
    #[track_caller]
    pub fn stdout_has(&self, needles: &[&str]) -> &Self {
        for needle in needles {
            assert!(
                self.stdout.contains(needle),
                "stdout of pm {:?} lacks {needle:?}\n{self}",
                self.args
            );
        }
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Parses `stdout` as exactly one line holding one JSON value.
#[track_caller]
pub fn json_line(stdout: &str) -> Value {
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "expected exactly one line on stdout, got:\n{stdout}"
    );
    assert!(
        stdout.ends_with('\n'),
        "the JSON line must end with a newline"
    );
    serde_json::from_str(lines[0])
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}):\n{stdout}"))
}

impl TestContext {
    /// A fresh root with `home/`, `project/` (git init) and `project/sub/`, `managed/`, `gh/`.
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("pm-it-")
            .tempdir()
            .expect("create the test root");
        // pm sees canonical paths (getcwd); compare against the same.
        let root = dir.path().canonicalize().expect("canonical test root");
        let home = root.join("home");
        let project = root.join("project");
        let sub = project.join("sub");
        let managed = root.join("managed");
        let gh = root.join("gh");
        for d in [&home, &sub, &managed, &gh] {
            fs_err::create_dir_all(d).expect("create test dirs");
        }
        git(&project, &["init", "-q"]);
        TestContext {
            servers: Vec::new(),
            config: home.join(".claude"),
            root,
            home,
            project,
            sub,
            managed,
            gh,
            _dir: dir,
        }
    }

    /// The `pm` binary with a clean environment, run in `project/`.
    pub fn pm(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pm"));
        command
            .args(args)
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PM_NO_PROGRESS", "1")
            .env("NO_COLOR", "1")
            .env("PM_MANAGED_SETTINGS_DIR", &self.managed)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("LANG", "C")
            .current_dir(&self.project);
        command
    }

    /// Runs pm with `args` in `project/`.
    pub fn run(&self, args: &[&str]) -> Run {
        run(self.pm(args))
    }

    /// Runs pm with `args` in `dir`.
    pub fn run_in(&self, dir: &Path, args: &[&str]) -> Run {
        let mut command = self.pm(args);
        command.current_dir(dir);
        run(command)
    }

    /// Runs pm in `project/` and asserts success.
    #[track_caller]
    pub fn ok(&self, args: &[&str]) -> Run {
        let run = self.run(args);
        run.assert_ok();
        run
    }

    /// Runs pm in `dir` and asserts success.
    #[track_caller]
    pub fn ok_in(&self, dir: &Path, args: &[&str]) -> Run {
        let run = self.run_in(dir, args);
        run.assert_ok();
        run
    }

    /// Runs pm in `project/` and asserts exit code `code`.
    #[track_caller]
    pub fn fails(&self, args: &[&str], code: i32) -> Run {
        let run = self.run(args);
        run.assert_fails(code);
        run
    }

    // ---- locations -------------------------------------------------------------------------

    /// `<config>/plugins`.
    pub fn plugins(&self) -> PathBuf {
        self.config.join("plugins")
    }
    /// `<config>/plugins/cache`.
    pub fn cache(&self) -> PathBuf {
        self.plugins().join("cache")
    }
    /// `<config>/plugins/marketplaces`.
    pub fn marketplaces(&self) -> PathBuf {
        self.plugins().join("marketplaces")
    }
    /// `<config>/plugins/data`.
    pub fn data(&self) -> PathBuf {
        self.plugins().join("data")
    }
    /// `<config>/settings.json`.
    pub fn user_settings(&self) -> PathBuf {
        self.config.join("settings.json")
    }
    /// `<dir>/.claude/settings.json` (project scope when pm runs in `dir`).
    pub fn project_settings_in(&self, dir: &Path) -> PathBuf {
        dir.join(".claude").join("settings.json")
    }
    /// `project/.claude/settings.json`.
    pub fn project_settings(&self) -> PathBuf {
        self.project_settings_in(&self.project)
    }
    /// `project/.claude/settings.local.json` (local scope from anywhere in the work tree).
    pub fn local_settings(&self) -> PathBuf {
        self.project.join(".claude").join("settings.local.json")
    }

    // ---- state files -----------------------------------------------------------------------

    /// `installed_plugins.json`.
    #[track_caller]
    pub fn installed(&self) -> Value {
        read_json(&self.plugins().join("installed_plugins.json"))
    }
    /// `known_marketplaces.json`.
    #[track_caller]
    pub fn known(&self) -> Value {
        read_json(&self.plugins().join("known_marketplaces.json"))
    }
    /// A settings file.
    #[track_caller]
    pub fn settings(&self, path: &Path) -> Value {
        read_json(path)
    }

    // ---- fake GitHub -----------------------------------------------------------------------

    /// Commits `src` (git init on first use) and creates or force-updates the bare repository
    /// `gh/<slug>.git` from it (branch `main`, tags, and on creation every branch). Returns
    /// the bare repository.
    pub fn publish(&self, src: &Path, slug: &str) -> PathBuf {
        publish_to(&self.gh, src, slug)
    }

    /// Rewrites `https://github.com/` and `git@github.com:` to `file://<gh>/` in
    /// `home/.gitconfig` (git's local transport: full clones).
    pub fn github_over_files(&self) {
        self.write_github_rewrite(&format!("file://{}/", self.gh.display()));
    }

    /// Starts a loopback git smart-HTTP server over `gh/` and rewrites both GitHub prefixes to
    /// it (a network transport: shallow clones). The server stops when the context drops.
    pub fn github_over_http(&mut self) {
        let root = self.gh.clone();
        let server = HttpServer::git(&self.gh, Box::new(move || git_command(&root)))
            .expect("start the git HTTP server");
        self.write_github_rewrite(&server.url());
        self.servers.push(server);
    }

    /// Serves the files under `dir` over loopback HTTP; returns the base URL
    /// (`http://127.0.0.1:PORT/`). Stops when the context drops.
    pub fn serve_files(&mut self, dir: &Path) -> String {
        let server = HttpServer::files(dir).expect("start the file HTTP server");
        let url = server.url();
        self.servers.push(server);
        url
    }

    fn write_github_rewrite(&self, base: &str) {
        fs_err::write(
            self.home.join(".gitconfig"),
            format!(
                "[url \"{base}\"]\n\tinsteadOf = https://github.com/\n\tinsteadOf = git@github.com:\n"
            ),
        )
        .expect("write .gitconfig");
    }

    /// A marketplace directory `root/<dir>` named `name` with `p1` (plugin.json 1.0.0) and `p2`
    /// (version only in the entry, 0.5.0).
    pub fn simple_marketplace(&self, dir: &str, name: &str) -> PathBuf {
        let market = self.root.join(dir);
        write_plugin(&market.join("plugins/p1"), "p1", Some("1.0.0"));
        write_plugin(&market.join("plugins/p2"), "p2", None);
        write_marketplace(
            &market,
            name,
            serde_json::json!([
                {"name": "p1", "source": "./plugins/p1", "description": "P1 desc"},
                {"name": "p2", "source": "./plugins/p2", "version": "0.5.0"}
            ]),
        );
        market
    }

    /// Snapshot of the whole test root except `gh/` (see [`snapshot`]).
    pub fn snapshot(&self) -> BTreeMap<PathBuf, Node> {
        let mut all = snapshot(&self.root);
        all.retain(|path, _| !path.starts_with("gh"));
        all
    }
}

impl Default for TestContext {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestContext {
    fn drop(&mut self) {
        self.servers.clear();
    }
}

/// Runs a prepared command and captures its output.
pub fn run(mut command: Command) -> Run {
    let args = command
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let output = command.output().expect("run pm");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        args,
    }
}

/// Reads and parses a JSON file.
#[track_caller]
pub fn read_json(path: &Path) -> Value {
    let text = fs_err::read_to_string(path).expect("read a JSON file");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Writes `value` as 2-space JSON with a final newline.
pub fn write_json(path: &Path, value: &Value) {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).expect("mkdir");
    }
    let text = serde_json::to_string_pretty(value).expect("serialize");
    fs_err::write(path, format!("{text}\n")).expect("write JSON");
}

/// Writes `text` to `path`, creating parents.
pub fn write_file(path: &Path, text: &str) {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).expect("mkdir");
    }
    fs_err::write(path, text).expect("write file");
}

/// A plugin directory: `.claude-plugin/plugin.json` (`name`, optional `version`,
/// `description`) and `commands/hello.md`.
pub fn write_plugin(dir: &Path, name: &str, version: Option<&str>) {
    let mut manifest = serde_json::json!({"name": name, "description": format!("plugin {name}")});
    if let Some(version) = version {
        manifest["version"] = Value::from(version);
    }
    write_json(&dir.join(".claude-plugin/plugin.json"), &manifest);
    write_file(
        &dir.join("commands/hello.md"),
        "---\ndescription: hello\n---\nSay hello\n",
    );
}

/// `dir/.claude-plugin/marketplace.json` with `name`, an owner and `plugins`.
pub fn write_marketplace(dir: &Path, name: &str, plugins: Value) {
    write_json(
        &dir.join(".claude-plugin/marketplace.json"),
        &serde_json::json!({"name": name, "owner": {"name": "Tester"}, "plugins": plugins}),
    );
}

/// Runs the `git` CLI in `dir` with no user or system configuration and a fixed identity and
/// date; returns trimmed stdout, panicking on failure.
#[track_caller]
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = git_command(dir)
        .args(args)
        .output()
        .expect("run the git CLI");
    assert!(
        output.status.success(),
        "git {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A `git` command isolated from the machine's configuration.
pub fn git_command(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent-pm-test-home")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LANG", "C")
        .env("GIT_AUTHOR_NAME", "pm test")
        .env("GIT_AUTHOR_EMAIL", "pm@example.invalid")
        .env("GIT_COMMITTER_NAME", "pm test")
        .env("GIT_COMMITTER_EMAIL", "pm@example.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .current_dir(dir);
    command
}

/// Commits everything in `src` (git init on first use) with message `message`.
pub fn commit_all(src: &Path, message: &str) -> String {
    if !src.join(".git").exists() {
        git(src, &["init", "-q", "-b", "main"]);
    }
    git(src, &["add", "-A"]);
    git(src, &["commit", "-q", "--allow-empty", "-m", message]);
    git(src, &["rev-parse", "HEAD"])
}

/// See [`TestContext::publish`].
pub fn publish_to(gh: &Path, src: &Path, slug: &str) -> PathBuf {
    commit_all(src, &format!("publish {slug}"));
    let bare = gh.join(format!("{slug}.git"));
    if bare.exists() {
        let bare_text = bare.to_string_lossy().into_owned();
        git(
            src,
            &["push", "-q", "--force", &bare_text, "HEAD:refs/heads/main"],
        );
        git(src, &["push", "-q", "--force", "--tags", &bare_text]);
    } else {
        fs_err::create_dir_all(bare.parent().expect("parent")).expect("mkdir gh/owner");
        let bare_text = bare.to_string_lossy().into_owned();
        let src_text = src.to_string_lossy().into_owned();
        git(gh, &["clone", "-q", "--bare", &src_text, &bare_text]);
        git(&bare, &["symbolic-ref", "HEAD", "refs/heads/main"]);
    }
    bare
}

/// The commit a repository's HEAD (or `rev`) points at.
pub fn rev_parse(repo: &Path, rev: &str) -> String {
    git(repo, &["rev-parse", rev])
}

/// Whether `text` is an ISO-8601 UTC timestamp with milliseconds (`2026-11-21T06:45:55.541Z`).
pub fn is_iso_millis(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Whether `text` is 40 lowercase hex digits.
pub fn is_sha(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// The keys of a JSON object, sorted.
#[track_caller]
pub fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

/// Sorted `&str` list, for comparing with [`keys`].
pub fn sorted(list: &[&str]) -> Vec<String> {
    let mut list: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
    list.sort();
    list
}

/// Current time in epoch milliseconds.
pub fn now_millis() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis()
}

// ---- snapshots -------------------------------------------------------------------------------

/// One entry of a directory snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A directory and its permission bits.
    Dir { mode: u32 },
    /// A file, its permission bits and contents.
    File { mode: u32, contents: Vec<u8> },
    /// A symbolic link and its target.
    Link { target: PathBuf },
}

/// Every entry below `root` (relative paths), with file contents; links are not followed.
pub fn snapshot(root: &Path) -> BTreeMap<PathBuf, Node> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs_err::read_dir(&dir).expect("read_dir") {
            let entry = entry.expect("dir entry");
            let path = entry.path();
            let rel = path.strip_prefix(root).expect("below root").to_path_buf();
            let meta = fs_err::symlink_metadata(&path).expect("lstat");
            let mode = meta.permissions().mode() & 0o7777;
            let node = if meta.file_type().is_symlink() {
                Node::Link {
                    target: fs_err::read_link(&path).expect("readlink"),
                }
            } else if meta.is_dir() {
                stack.push(path.clone());
                Node::Dir { mode }
            } else {
                Node::File {
                    mode,
                    contents: fs_err::read(&path).expect("read"),
                }
            };
            out.insert(rel, node);
        }
    }
    out
}

/// Asserts two snapshots are equal, listing what was added, removed or changed.
#[track_caller]
pub fn assert_same_tree(before: &BTreeMap<PathBuf, Node>, after: &BTreeMap<PathBuf, Node>) {
    let mut problems = Vec::new();
    for (path, node) in before {
        match after.get(path) {
            None => problems.push(format!("removed: {}", path.display())),
            Some(other) if other != node => {
                let detail = match (node, other) {
                    (
                        Node::File { contents: a, .. },
                        Node::File {
                            contents: b,
                            mode: _,
                        },
                    ) if a != b => format!(
                        "\n--- before\n{}\n--- after\n{}",
                        String::from_utf8_lossy(a),
                        String::from_utf8_lossy(b)
                    ),
                    _ => format!(" ({node:?} -> {other:?})"),
                };
                problems.push(format!("changed: {}{detail}", path.display()));
            }
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        problems.push(format!("added: {}", path.display()));
    }
    assert!(
        problems.is_empty(),
        "the file tree changed:\n{}",
        problems.join("\n")
    );
}

/// Every JSON line on stdout, parsed.
#[track_caller]
pub fn json_lines(out: &Run) -> Vec<Value> {
    out.stdout
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}\n{out}"))
        })
        .collect()
}

/// Sets the marketplace's `lastUpdated` far in the past, so the next update refreshes it
/// (the reference's scenario 04 does the same).
pub fn age_marketplace(ctx: &TestContext, name: &str) {
    let path = ctx.plugins().join("known_marketplaces.json");
    let mut known = read_json(&path);
    known[name]["lastUpdated"] = Value::from("2020-01-01T00:00:00.000Z");
    write_json(&path, &known);
}

/// Sets `version` in a plugin.json.
pub fn set_version(plugin_dir: &Path, version: &str) {
    let path = plugin_dir.join(".claude-plugin/plugin.json");
    let mut manifest = read_json(&path);
    manifest["version"] = Value::from(version);
    write_json(&path, &manifest);
}
