//! Settings-file fidelity (DEVIATIONS 1, reference-lifecycle.md §9, scenario
//! `lifecycle/08-settings-preservation.sh`): a table test over hand-written settings files.
//!
//! Every fixture is committed to a git repository (the user settings in `home/.claude`; the
//! project settings in `project/`, after `marketplace add --scope project` declared `mk1` in
//! it). After each of install, disable, enable and uninstall (at user, then project scope):
//! the file is strict JSON; `git diff` shows only lines of the `enabledPlugins` member pm owns
//! (the member, the comma on the line before it, a newly created `"enabledPlugins": {…}` block);
//! the text differs from the committed one by one contiguous splice naming no other key;
//! everything else, key order included, is equal; line ends and the final newline are kept;
//! and, when the reference implementation is available, `claude plugin list --json` reads the
//! files and reports the plugin's `enabled` state. Uninstall restores the original bytes when
//! the original had an `enabledPlugins` object without the id. Files pm must refuse stay byte
//! for byte as they were. An empty settings file is treated as an empty object.

#![allow(
    clippy::print_stderr,
    reason = "notes about a skipped reference check go to the test's stderr"
)]

use crate::support::{TestContext, git, git_command, write_file, write_marketplace, write_plugin};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The plugin every fixture installs (the id scenario 08 uses).
const ID: &str = "p1@mk1";

/// Settings files pm must edit member by member: `(name, bytes)`.
const VALID: &[(&str, &str)] = &[
    (
        "2-space, enabledPlugins last",
        "{\n  \"model\": \"sonnet\",\n  \"enabledPlugins\": {\n    \"other@x\": true\n  }\n}\n",
    ),
    (
        "4-space, enabledPlugins first",
        "{\n    \"enabledPlugins\": {\n        \"other@x\": true,\n        \"third@y\": false\n    },\n    \"model\": \"opus\",\n    \"theme\": \"dark\"\n}\n",
    ),
    (
        "tabs, enabledPlugins in the middle",
        "{\n\t\"permissions\": {\n\t\t\"allow\": [\n\t\t\t\"Bash(ls)\"\n\t\t]\n\t},\n\t\"enabledPlugins\": {\n\t\t\"other@x\": true\n\t},\n\t\"model\": \"opus\"\n}\n",
    ),
    (
        "tabs, no enabledPlugins",
        "{\n\t\"model\": \"opus\",\n\t\"env\": {\n\t\t\"A\": \"1\"\n\t}\n}\n",
    ),
    (
        "CRLF, enabledPlugins in the middle",
        "{\r\n  \"model\": \"opus\",\r\n  \"enabledPlugins\": {\r\n    \"other@x\": true\r\n  },\r\n  \"theme\": \"dark\"\r\n}\r\n",
    ),
    (
        "CRLF, no enabledPlugins",
        "{\r\n  \"model\": \"opus\",\r\n  \"permissions\": {\r\n    \"deny\": []\r\n  }\r\n}\r\n",
    ),
    (
        "CRLF, no final newline",
        "{\r\n    \"enabledPlugins\": {\r\n        \"other@x\": false\r\n    }\r\n}",
    ),
    (
        "no final newline, enabledPlugins last",
        "{\n  \"model\": \"opus\",\n  \"enabledPlugins\": {\n    \"other@x\": true\n  }\n}",
    ),
    (
        "no final newline, no enabledPlugins",
        "{\n  \"model\": \"opus\"\n}",
    ),
    (
        "no enabledPlugins, nested unknown keys and arrays",
        "{\n  \"zzz\": {\n    \"deep\": {\n      \"list\": [1, {\"a\": [true, null]}, \"x\"],\n      \"empty\": {}\n    }\n  },\n  \"aaa\": [\n    [],\n    {}\n  ]\n}\n",
    ),
    (
        "unknown keys with arrays of objects around enabledPlugins",
        "{\n  \"zeta\": [\n    {\n      \"name\": \"a\",\n      \"items\": [\n        {\"kind\": \"x\", \"value\": \"echo hi\"}\n      ]\n    }\n  ],\n  \"enabledPlugins\": {\n    \"other@x\": true\n  },\n  \"alpha\": {\n    \"nested\": {\n      \"array\": [[1, 2], [3]],\n      \"n\": -1.5e3\n    }\n  }\n}\n",
    ),
    (
        "unicode and escapes",
        "{\n  \"greeting\": \"Grüße, ü, 🎉\",\n  \"emoji 🔑\": \"✓\",\n  \"escaped\": \"caf\\u00e9 a\\/b line\\nnext \\\"q\\\" \\\\ \\t \\ud83d\\ude00\",\n  \"enabledPlugins\": {\n    \"other@x\": true,\n    \"ünï@mkt\": false\n  },\n  \"last\": \"\\u0000\\u001f\"\n}\n",
    ),
    (
        "unicode, no enabledPlugins",
        "{\n  \"ü\": \"\\u00fc\",\n  \"path\": \"C:\\\\Users\\\\ü\\/x\"\n}\n",
    ),
    (
        "other ids: true, false and a version list",
        "{\n  \"enabledPlugins\": {\n    \"a@m\": true,\n    \"b@m\": false,\n    \"c@m\": [\"1.0.0\", \"^2\"]\n  }\n}\n",
    ),
    (
        "the id itself already false",
        "{\n  \"enabledPlugins\": {\n    \"p1@mk1\": false,\n    \"other@x\": true\n  }\n}\n",
    ),
    (
        "ids that only look like the id",
        "{\n  \"enabledPlugins\": {\n    \"p1@mk10\": true,\n    \"xp1@mk1\": false\n  }\n}\n",
    ),
    ("empty object", "{}\n"),
    ("empty object, no newline", "{}"),
    (
        "enabledPlugins empty",
        "{\n  \"model\": \"opus\",\n  \"enabledPlugins\": {}\n}\n",
    ),
    (
        "one line",
        "{\"model\":\"opus\",\"enabledPlugins\":{\"other@x\":true},\"theme\":\"dark\"}\n",
    ),
    (
        "one line, no enabledPlugins, no newline",
        "{\"model\":\"opus\"}",
    ),
    (
        "spaces before colons, blank lines, trailing spaces",
        "{\n  \"model\" : \"opus\",   \n\n  \"enabledPlugins\" : {\n    \"other@x\" : true\n  }  ,\n  \"x\":1\n}\n",
    ),
    (
        "enabledPlugins nested in an unknown key",
        "{\n  \"profiles\": {\n    \"enabledPlugins\": {\n      \"p1@mk1\": false\n    }\n  }\n}\n",
    ),
    (
        "extraKnownMarketplaces with another marketplace",
        "{\n  \"extraKnownMarketplaces\": {\n    \"team\": {\n      \"source\": {\n        \"source\": \"directory\",\n        \"path\": \"/nonexistent/team-marketplace\"\n      }\n    }\n  },\n  \"enabledPlugins\": {\n    \"tool@team\": true\n  }\n}\n",
    ),
    (
        "a realistic Claude Code settings file",
        "{\n  \"$schema\": \"https://json.schemastore.org/claude-code-settings.json\",\n  \"permissions\": {\n    \"allow\": [\n      \"Bash(npm run test:*)\",\n      \"Read(~/.zshrc)\"\n    ],\n    \"deny\": [\n      \"Read(./.env)\"\n    ]\n  },\n  \"env\": {\n    \"FOO\": \"bar\"\n  },\n  \"hooks\": {\n    \"PostToolUse\": [\n      {\n        \"matcher\": \"Edit|Write\",\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"prettier --write \\\"$CLAUDE_FILE_PATHS\\\"\"\n          }\n        ]\n      }\n    ]\n  },\n  \"statusLine\": {\n    \"type\": \"command\",\n    \"command\": \"~/.claude/statusline.sh\"\n  },\n  \"includeCoAuthoredBy\": false,\n  \"cleanupPeriodDays\": 30\n}\n",
    ),
    // scenario 08's settings shapes, byte for byte
    (
        "08: four-space with unknown keys",
        "{\n    \"zzzUnknown\": {\"b\": 1, \"a\": 2},\n    \"model\": \"opus\",\n    \"enabledPlugins\": {\"other@x\": true},\n    \"permissions\": {\"allow\": [\"Bash(ls)\"]},\n    \"aaaLast\": [1,2,3]\n}\n",
    ),
    (
        "08: enabledPlugins value is a string",
        "{\"enabledPlugins\":{\"p1@mk1\":\"yes\"}}",
    ),
    (
        "08: enabledPlugins value is an array",
        "{\"enabledPlugins\":{\"p1@mk1\":[\"1.0.0\"]}}",
    ),
];

/// Settings files pm must refuse: `(name, bytes, line of the syntax error)`; `None` for files
/// that are strict JSON of the wrong shape.
const REFUSED: &[(&str, &str, Option<usize>)] = &[
    (
        "JSONC line comment",
        "{\n  // my settings\n  \"model\": \"opus\"\n}\n",
        Some(2),
    ),
    (
        "JSONC block comment",
        "{\n  \"model\": \"opus\" /* why */\n}\n",
        Some(2),
    ),
    ("trailing comma", "{\n  \"model\": \"opus\",\n}\n", Some(3)),
    (
        "trailing comma in enabledPlugins",
        "{\n  \"enabledPlugins\": {\n    \"other@x\": true,\n  }\n}\n",
        Some(4),
    ),
    (
        "truncated",
        "{\n  \"model\": \"opus\",\n  \"enabledPlugins\": {\n",
        Some(4),
    ),
    ("top-level array", "[]", None),
    ("null", "null\n", None),
    ("a JSON string", "\"settings\"\n", None),
    (
        "enabledPlugins is an array",
        "{\n  \"enabledPlugins\": []\n}\n",
        None,
    ),
    (
        "enabledPlugins is null",
        "{\"enabledPlugins\": null}\n",
        None,
    ),
    // scenario 08's malformed shapes, byte for byte
    ("08: malformed", "{ \"model\": \"opus\", broken", Some(1)),
    ("08: a JSON array", "[]\n", None),
    (
        "08: comments and a trailing comma",
        "{\n  // comment\n  \"model\": \"x\",\n}\n",
        Some(2),
    ),
];

// ---- the tests ----------------------------------------------------------------------------

/// Install, (disable, enable,) uninstall on every fixture, at user and project scope; only the
/// `enabledPlugins` member changes.
#[test]
fn settings_files_keep_every_byte_but_the_enabled_plugins_member() {
    let toggle = toggle_available();
    if !toggle {
        eprintln!(
            "note: `pm enable`/`pm disable` do not exist yet; fidelity covers install and uninstall"
        );
    }
    let failures: Vec<&str> = run_table(VALID.len(), |index| {
        let (name, text) = VALID[index];
        valid_fixture(name, text, toggle);
    })
    .into_iter()
    .map(|index| VALID[index].0)
    .collect();
    assert!(
        failures.is_empty(),
        "settings fidelity failed for: {failures:#?}"
    );
}

/// Files that are not strict JSON objects are refused with their path (and line and column),
/// and never rewritten.
#[test]
fn settings_files_pm_cannot_edit_are_refused_and_left_alone() {
    let toggle = toggle_available();
    let failures: Vec<&str> = run_table(REFUSED.len(), |index| {
        let (name, text, line) = REFUSED[index];
        refused_fixture(name, text, line, toggle);
    })
    .into_iter()
    .map(|index| REFUSED[index].0)
    .collect();
    assert!(failures.is_empty(), "refusal failed for: {failures:#?}");
}

/// An empty settings file (0 bytes, or only whitespace as `echo '' >` leaves it in scenario
/// 08) is treated as an empty object and written as a fresh object, as the reference does
/// (reference-lifecycle.md §9: "Empty file ... silently overwritten with a fresh object"); a
/// missing file is created the same way. After uninstall the file is `{"enabledPlugins": {}}`
/// (pm does not remember that it created the object).
#[test]
fn empty_settings_file_is_written_as_a_fresh_object() {
    const FRESH: &str = "{\n  \"enabledPlugins\": {\n    \"p1@mk1\": true\n  }\n}\n";
    const EMPTIED: &str = "{\n  \"enabledPlugins\": {}\n}\n";
    for (name, original) in [
        ("0 bytes", Some("")),
        ("08: a newline", Some("\n")),
        ("whitespace", Some(" \t\r\n\n")),
        ("missing", None),
    ] {
        let world = World::new();
        let ctx = &world.ctx;
        ctx.ok(&["marketplace", "add", &s(&world.market), "--scope", "local"]);
        let path = ctx.user_settings();
        if let Some(original) = original {
            write_file(&path, original);
        }
        ctx.ok(&["install", ID, "--scope", "user"]);
        assert_eq!(read(&path), FRESH, "{name}: after install");
        world.reference_check(&[("user", Some(true))], name);
        ctx.ok(&["uninstall", ID, "--scope", "user"]);
        assert_eq!(read(&path), EMPTIED, "{name}: after uninstall");
    }
}

// ---- one fixture ---------------------------------------------------------------------------

/// A test root with marketplace `mk1` (plugin `p1` 1.0.0) at `root/m1`, not yet added.
struct World {
    ctx: TestContext,
    market: PathBuf,
}

impl World {
    fn new() -> Self {
        let ctx = TestContext::new();
        let market = ctx.root.join("m1");
        write_plugin(&market.join("plugins/p1"), "p1", Some("1.0.0"));
        write_marketplace(
            &market,
            "mk1",
            json!([{"name": "p1", "source": "./plugins/p1"}]),
        );
        World { ctx, market }
    }

    /// Runs `claude plugin list --json` (when available) and asserts the records of [`ID`]:
    /// `(scope, Some(enabled))` must be listed with that `enabled`, `(scope, None)` absent.
    #[track_caller]
    fn reference_check(&self, expected: &[(&str, Option<bool>)], label: &str) {
        let Some(bin) = reference_bin() else {
            return;
        };
        let output = Command::new(bin)
            .args(["plugin", "list", "--json"])
            .env_clear()
            .env("HOME", &self.ctx.home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DISABLE_TELEMETRY", "1")
            .env("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1")
            .env("DISABLE_AUTOUPDATER", "1")
            .current_dir(&self.ctx.project)
            .stdin(Stdio::null())
            .output()
            .expect("run the reference");
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            output.status.success(),
            "{label}: claude plugin list --json failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        let list: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
            panic!("{label}: claude plugin list --json is not JSON ({e}):\n{stdout}\n{stderr}")
        });
        let records: Vec<&Value> = list
            .as_array()
            .unwrap_or_else(|| panic!("{label}: not a list: {list}"))
            .iter()
            .filter(|r| r["id"] == ID)
            .collect();
        for (scope, enabled) in expected {
            let record = records.iter().find(|r| r["scope"] == *scope);
            match enabled {
                Some(enabled) => {
                    let record = record.unwrap_or_else(|| {
                        panic!("{label}: the reference does not list {ID} at scope {scope}: {list}")
                    });
                    assert_eq!(
                        record["enabled"],
                        Value::Bool(*enabled),
                        "{label}: the reference's `enabled` of {ID} ({scope}): {record}"
                    );
                }
                None => assert!(
                    record.is_none(),
                    "{label}: the reference still lists {ID} at scope {scope}: {list}"
                ),
            }
        }
    }
}

/// One settings file under version control: where it is, and the committed text.
struct Tracked {
    scope: &'static str,
    repo: PathBuf,
    /// The file's path relative to `repo`.
    file: &'static str,
    /// The committed text (the baseline every step is compared with).
    baseline: String,
}

impl Tracked {
    fn path(&self) -> PathBuf {
        self.repo.join(self.file)
    }

    /// Checks the file after a step: strict JSON, `enabledPlugins.<ID>` is `expected`, and
    /// `git diff` shows only the member's lines. Returns the text.
    #[track_caller]
    fn check(&self, expected: Option<bool>, label: &str) -> String {
        let label = format!("{label} ({} scope)", self.scope);
        let text = read(&self.path());
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{label}: not JSON ({e}):\n{text}"));
        assert_eq!(
            value.get("enabledPlugins").and_then(|p| p.get(ID)),
            expected.map(Value::Bool).as_ref(),
            "{label}: enabledPlugins.{ID}:\n{text}"
        );
        check_layout(&self.baseline, &text, &label);
        check_splice(&self.baseline, &text, &["enabledPlugins", ID], &label);
        if is_multi_line(&self.baseline) {
            let diff = git_diff(&self.repo, self.file);
            check_diff(&diff, "enabledPlugins", ID, false, &self.baseline, &label);
        }
        let baseline_value: Value = serde_json::from_str(&self.baseline).expect("baseline JSON");
        let had_object = baseline_value
            .get("enabledPlugins")
            .is_some_and(Value::is_object);
        assert_eq!(
            without_member(&value, "enabledPlugins", ID, had_object),
            without_member(&baseline_value, "enabledPlugins", ID, had_object),
            "{label}: something other than enabledPlugins.{ID} changed:\n--- before\n{}\n--- after\n{text}",
            self.baseline
        );
        text
    }
}

/// Commits `file` in `repo` (git init on first use).
fn commit(repo: &Path, file: &str) {
    if !repo.join(".git").exists() {
        git(repo, &["init", "-q"]);
    }
    git(repo, &["add", "--", file]);
    git(repo, &["commit", "-q", "-m", "settings"]);
}

fn valid_fixture(name: &str, text: &str, toggle: bool) {
    assert!(
        serde_json::from_str::<Value>(text).is_ok_and(|v| v.is_object()),
        "fixture {name} must be a JSON object"
    );
    let world = World::new();
    let ctx = &world.ctx;

    // Project scope: the fixture, then the marketplace declared in it by `marketplace add
    // --scope project` (a project install declares it anyway, DEVIATIONS 9); that is the
    // baseline of the project file.
    write_file(&ctx.project_settings(), text);
    commit(&ctx.project, ".claude/settings.json");
    ctx.ok(&[
        "marketplace",
        "add",
        &s(&world.market),
        "--scope",
        "project",
    ]);
    let declared = read(&ctx.project_settings());
    let label = format!("{name}: marketplace add --scope project");
    check_layout(text, &declared, &label);
    check_splice(
        text,
        &declared,
        &["extraKnownMarketplaces", "mk1", "source", "path"],
        &label,
    );
    if is_multi_line(text) {
        check_diff(
            &git_diff(&ctx.project, ".claude/settings.json"),
            "extraKnownMarketplaces",
            "mk1",
            true,
            text,
            &label,
        );
    }
    let declared_value: Value =
        serde_json::from_str(&declared).unwrap_or_else(|e| panic!("{label}: not JSON ({e})"));
    let original: Value = serde_json::from_str(text).expect("fixture JSON");
    let had_extra = original
        .get("extraKnownMarketplaces")
        .is_some_and(Value::is_object);
    assert_eq!(
        without_member(&declared_value, "extraKnownMarketplaces", "mk1", had_extra),
        without_member(&original, "extraKnownMarketplaces", "mk1", had_extra),
        "{label}: more than extraKnownMarketplaces.mk1 changed:\n{declared}"
    );
    commit(&ctx.project, ".claude/settings.json");

    // User scope: the fixture itself.
    write_file(&ctx.user_settings(), text);
    commit(&ctx.config, "settings.json");

    let files = [
        Tracked {
            scope: "user",
            repo: ctx.config.clone(),
            file: "settings.json",
            baseline: text.to_owned(),
        },
        Tracked {
            scope: "project",
            repo: ctx.project.clone(),
            file: ".claude/settings.json",
            baseline: declared,
        },
    ];
    let both = |enabled: Option<bool>| [("user", enabled), ("project", enabled)];

    // install
    let user_installed = {
        ctx.ok(&["install", ID, "--scope", "user"]);
        let text = files[0].check(Some(true), &format!("{name}: install"));
        assert_eq!(
            read(&files[1].path()),
            files[1].baseline,
            "{name}: install --scope user changed the project file"
        );
        text
    };
    ctx.ok(&["install", ID, "--scope", "project"]);
    files[1].check(Some(true), &format!("{name}: install"));
    assert_eq!(
        read(&files[0].path()),
        user_installed,
        "{name}: install --scope project changed the user file"
    );
    let installed: Vec<String> = files.iter().map(|f| read(&f.path())).collect();
    world.reference_check(&both(Some(true)), &format!("{name}: after install"));

    if toggle {
        for file in &files {
            ctx.ok(&["disable", ID, "--scope", file.scope]);
            file.check(Some(false), &format!("{name}: disable"));
        }
        world.reference_check(&both(Some(false)), &format!("{name}: after disable"));
        for file in &files {
            ctx.ok(&["enable", ID, "--scope", file.scope]);
            file.check(Some(true), &format!("{name}: enable"));
        }
        // `true` replaces `false` in place: the bytes after install come back (and the
        // reference has read them already).
        let enabled: Vec<String> = files.iter().map(|f| read(&f.path())).collect();
        assert_eq!(enabled, installed, "{name}: enable after disable");
    }

    // uninstall
    for file in &files {
        ctx.ok(&["uninstall", ID, "--scope", file.scope]);
        let after = file.check(None, &format!("{name}: uninstall"));
        let baseline: Value = serde_json::from_str(&file.baseline).expect("baseline JSON");
        let entry = baseline.get("enabledPlugins").map(|p| p.get(ID).is_some());
        match entry {
            // An object without the id: exactly the original bytes come back.
            Some(false) => assert_eq!(
                after, file.baseline,
                "{name}: uninstall ({} scope) did not restore the original bytes",
                file.scope
            ),
            // No enabledPlugins: an empty `"enabledPlugins": {}` stays (checked by `check`).
            None => assert!(
                after.contains("\"enabledPlugins\""),
                "{name}: uninstall ({} scope): {after}",
                file.scope
            ),
            // The id was there: its member is gone, everything else as it was (`check`).
            Some(true) => {}
        }
    }
    let changed = files.iter().any(|f| read(&f.path()) != f.baseline);
    if changed {
        world.reference_check(&both(None), &format!("{name}: after uninstall"));
    }
}

fn refused_fixture(name: &str, text: &str, line: Option<usize>, toggle: bool) {
    let world = World::new();
    let ctx = &world.ctx;
    ctx.ok(&["marketplace", "add", &s(&world.market), "--scope", "local"]);
    write_file(&ctx.user_settings(), text);
    write_file(&ctx.project_settings(), text);
    for (scope, path) in [
        ("user", ctx.user_settings()),
        ("project", ctx.project_settings()),
    ] {
        let mut commands = vec!["install"];
        if toggle {
            commands.extend(["enable", "disable"]);
        }
        for command in commands {
            let run = ctx.fails(&[command, ID, "--scope", scope], 1);
            let label = format!("{name}: {command} --scope {scope}");
            assert!(
                run.stderr.contains(&s(&path)),
                "{label}: the message does not name {}:\n{run}",
                path.display()
            );
            if let Some(line) = line {
                assert!(
                    run.stderr.contains(&format!("line {line}, column ")),
                    "{label}: the message does not give line {line} and a column:\n{run}"
                );
            }
            assert_eq!(read(&path), text, "{label}: the file changed");
        }
    }
    assert!(
        !ctx.plugins().join("installed_plugins.json").exists(),
        "{name}: installed_plugins.json was written"
    );
    assert!(
        !ctx.cache().exists(),
        "{name}: the plugin was copied into the cache"
    );
}

// ---- checks --------------------------------------------------------------------------------

/// The changed lines of `git diff -U0` (without line ends).
#[derive(Debug, Default)]
struct Diff {
    removed: Vec<String>,
    added: Vec<String>,
}

/// `git diff -U0` of `file` in `repo` against HEAD.
fn git_diff(repo: &Path, file: &str) -> Diff {
    let output = git_command(repo)
        .args([
            "diff",
            "--no-color",
            "--no-ext-diff",
            "--unified=0",
            "--",
            file,
        ])
        .output()
        .expect("run git diff");
    assert!(output.status.success(), "git diff failed");
    let mut diff = Diff::default();
    let mut in_hunk = false;
    for line in String::from_utf8_lossy(&output.stdout).split('\n') {
        if line.starts_with("@@") {
            in_hunk = true;
        } else if !in_hunk || line.starts_with('\\') {
            // headers, "\ No newline at end of file"
        } else if let Some(rest) = line.strip_prefix('-') {
            diff.removed.push(rest.trim_end_matches('\r').to_owned());
        } else if let Some(rest) = line.strip_prefix('+') {
            diff.added.push(rest.trim_end_matches('\r').to_owned());
        }
    }
    diff
}

/// Asserts that a diff touches only `key` (a top-level member) and its member `member`:
/// lines naming `"key"` or starting with `"member"`, lines holding only braces, and at most one
/// line whose only change is a trailing comma. With `insertion_only`, added lines may be
/// anything (the member's value spans several lines) but removed lines must still follow the
/// rule. Added lines are indented with the document's indent unit.
#[track_caller]
fn check_diff(
    diff: &Diff,
    key: &str,
    member: &str,
    insertion_only: bool,
    baseline: &str,
    label: &str,
) {
    let mut removed: Vec<&str> = diff.removed.iter().map(String::as_str).collect();
    let mut added: Vec<&str> = diff.added.iter().map(String::as_str).collect();
    let mut comma_pairs = 0;
    let mut i = 0;
    while i < removed.len() {
        let r = removed[i].trim_end();
        let pair = added.iter().position(|a| {
            let a = a.trim_end();
            a.strip_suffix(',').is_some_and(|a| a.trim_end() == r)
                || r.strip_suffix(',').is_some_and(|r| r.trim_end() == a)
        });
        match pair {
            Some(j) => {
                removed.remove(i);
                added.remove(j);
                comma_pairs += 1;
            }
            None => i += 1,
        }
    }
    let shown = || format!("{diff:#?}");
    assert!(
        comma_pairs <= 1,
        "{label}: more than one line changed only by a comma:\n{}",
        shown()
    );
    let quoted_key = format!("\"{key}\"");
    let quoted_member = format!("\"{member}\"");
    let allowed = |line: &str| {
        let t = line.trim();
        t.contains(&quoted_key)
            || t.starts_with(&quoted_member)
            || (!t.is_empty() && t.chars().all(|c| matches!(c, '{' | '}' | ',')))
    };
    for line in &removed {
        assert!(
            allowed(line),
            "{label}: git diff removes a line that is not part of {key}.{member}: {line:?}\n{}",
            shown()
        );
    }
    if !insertion_only {
        for line in &added {
            assert!(
                allowed(line),
                "{label}: git diff adds a line that is not part of {key}.{member}: {line:?}\n{}",
                shown()
            );
        }
    }
    if let Some(unit) = indent_unit(baseline) {
        for line in &added {
            let indent: String = line.chars().take_while(|c| c.is_whitespace()).collect();
            let unit_char = unit.chars().next().unwrap_or(' ');
            assert!(
                indent.chars().all(|c| c == unit_char) && indent.len().is_multiple_of(unit.len()),
                "{label}: an added line is not indented with the file's unit {unit:?}: {line:?}\n{}",
                shown()
            );
        }
    }
}

/// Whether `text` has more than one line (a one-line document changes as a whole line, so
/// `git diff` cannot tell which member changed; [`check_splice`] does).
fn is_multi_line(text: &str) -> bool {
    text.trim_end().contains('\n')
}

/// Asserts that `after` is `before` with one contiguous part replaced, and that neither the
/// removed nor the inserted part names a key other than `keys` (pm edits one member, so its
/// change is one splice: the member, its separating comma, and the object holding it when it
/// is created).
#[track_caller]
fn check_splice(before: &str, after: &str, keys: &[&str], label: &str) {
    let (b, a) = (before.as_bytes(), after.as_bytes());
    let prefix = b.iter().zip(a).take_while(|(x, y)| x == y).count();
    let max_suffix = b.len().min(a.len()) - prefix;
    let suffix = b
        .iter()
        .rev()
        .zip(a.iter().rev())
        .take(max_suffix)
        .take_while(|(x, y)| x == y)
        .count();
    for (what, middle) in [
        ("removes", &b[prefix..b.len() - suffix]),
        ("inserts", &a[prefix..a.len() - suffix]),
    ] {
        let middle = String::from_utf8_lossy(middle);
        for key in json_keys(&middle) {
            assert!(
                keys.contains(&key.as_str()),
                "{label}: the edit {what} text with key {key:?} (only {keys:?} may change): {middle:?}\n--- before\n{before}\n--- after\n{after}"
            );
        }
    }
}

/// The object keys (`"…"` followed by `:`) in a piece of JSON text, unescaped.
fn json_keys(text: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('"') {
        let body = &rest[start + 1..];
        let mut end = None;
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        let after = &body[end + 1..];
        if after.trim_start().starts_with(':') {
            let raw = &rest[start..start + end + 2];
            keys.push(serde_json::from_str(raw).unwrap_or_else(|_| raw.to_owned()));
        }
        rest = after;
    }
    keys
}

/// The indentation of the first indented line of `text`, if any.
fn indent_unit(text: &str) -> Option<String> {
    text.split('\n')
        .skip(1)
        .find(|line| !line.trim().is_empty() && line.starts_with([' ', '\t']))
        .map(|line| {
            line.chars()
                .take_while(|c| *c == ' ' || *c == '\t')
                .collect()
        })
}

/// Asserts `after` keeps `before`'s line ends (LF or CRLF) and final newline (or its absence).
#[track_caller]
fn check_layout(before: &str, after: &str, label: &str) {
    assert_eq!(
        after.ends_with('\n'),
        before.ends_with('\n'),
        "{label}: the final newline changed:\n{after:?}"
    );
    if before.contains('\n') {
        let crlf = before.contains("\r\n");
        let bare_lf = after
            .char_indices()
            .any(|(i, c)| c == '\n' && (i == 0 || after.as_bytes()[i - 1] != b'\r'));
        if crlf {
            assert!(!bare_lf, "{label}: a CRLF file got a bare LF:\n{after:?}");
        } else {
            assert!(
                !after.contains('\r'),
                "{label}: an LF file got a CR:\n{after:?}"
            );
        }
    }
}

/// `value` serialized (key order kept) without `<key>.<member>`, and without `key` itself when
/// it is an empty object that the baseline did not have (`had_object` false).
fn without_member(value: &Value, key: &str, member: &str, had_object: bool) -> String {
    let mut value = value.clone();
    if let Some(object) = value.as_object_mut() {
        if let Some(inner) = object.get_mut(key).and_then(Value::as_object_mut) {
            inner.shift_remove(member);
        }
        if !had_object
            && object
                .get(key)
                .is_some_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty))
        {
            object.shift_remove(key);
        }
    }
    serde_json::to_string(&value).expect("serialize")
}

// ---- helpers -------------------------------------------------------------------------------

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

#[track_caller]
fn read(path: &Path) -> String {
    fs_err::read_to_string(path).expect("read a settings file")
}

/// Runs `case(0..count)` on a few worker threads; returns the indices of the cases that
/// panicked (each panic is printed as it happens).
fn run_table(count: usize, case: impl Fn(usize) + Sync) -> Vec<usize> {
    let next = AtomicUsize::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    if index >= count {
                        break;
                    }
                    let result =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(index)));
                    if result.is_err() {
                        failures.lock().expect("failures").push(index);
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().expect("failures");
    failures.sort_unstable();
    failures
}

/// Whether `pm enable`/`pm disable` exist (`pm enable --help` exits 0).
fn toggle_available() -> bool {
    static AVAILABLE: OnceLock<bool> = OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        ["enable", "disable"].iter().all(|command| {
            Command::new(env!("CARGO_BIN_EXE_pm"))
                .args([command, "--help"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    })
}

/// The reference binary (`reference-claude --path`), when it answers within a few seconds
/// (it installs Claude Code from npm on first use); `None` (with a note) otherwise.
fn reference_bin() -> Option<&'static Path> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let wrapper = std::env::var_os("PM_REFERENCE_CLAUDE")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/tools/reference-claude")
            });
        let skip = |why: String| {
            eprintln!("note: not checking with the reference implementation: {why}");
            None
        };
        if !wrapper.is_file() {
            return skip(format!("{} does not exist", wrapper.display()));
        }
        let mut child = match Command::new(&wrapper)
            .arg("--path")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(child) => child,
            Err(e) => return skip(format!("cannot run {}: {e}", wrapper.display())),
        };
        let start = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if start.elapsed() < Duration::from_secs(5) => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                // Still installing (or broken): leave it running, do not wait.
                _ => {
                    return skip(format!(
                        "{} --path did not answer in 5 s",
                        wrapper.display()
                    ));
                }
            }
        }
        let output = match child.wait_with_output() {
            Ok(output) if output.status.success() => output,
            Ok(output) => {
                return skip(format!(
                    "{} --path failed: {}",
                    wrapper.display(),
                    output.status
                ));
            }
            Err(e) => return skip(e.to_string()),
        };
        let bin = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if bin.is_file() {
            Some(bin)
        } else {
            skip(format!("{} is not a file", bin.display()))
        }
    })
    .as_deref()
}
