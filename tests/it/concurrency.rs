//! Concurrency and crash safety (DEVIATIONS 2 and 4): concurrent installs on one config dir
//! lose no update, concurrent refreshes of one marketplace all succeed, a pm killed at any moment leaves state files that parse and no record
//! pointing at an incomplete cache directory, and the state lock waits (with a message) or
//! times out (naming the lock and `PM_LOCK_TIMEOUT`).

#![allow(
    clippy::print_stderr,
    reason = "the crash test reports what it saw on the test's stderr"
)]

use crate::support::{
    Node, TestContext, assert_same_tree, read_json, rev_parse, run, write_file, write_json,
    write_marketplace,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The cache directories' ready marker (`plugins.rs`'s `READY_MARKER`).
const READY: &str = ".pm-ok";

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A plugin `dir` named `name` at `version` with `files` extra files of `size` bytes in a few
/// subdirectories.
fn write_big_plugin(dir: &Path, name: &str, version: &str, files: usize, size: usize) {
    write_json(
        &dir.join(".claude-plugin/plugin.json"),
        &json!({"name": name, "version": version, "description": format!("plugin {name}")}),
    );
    write_file(
        &dir.join("commands/hello.md"),
        "---\ndescription: hello\n---\nSay hello\n",
    );
    let line = format!("{name} ").repeat(size / (name.len() + 1) + 1);
    for i in 0..files {
        write_file(
            &dir.join(format!("data/d{}/f{i:03}.txt", i % 8)),
            &line[..size],
        );
    }
}

/// Every file below `dir` (relative paths), without the ready marker.
fn files_below(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in fs_err::read_dir(&current).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != READY) {
                out.insert(path.strip_prefix(dir).expect("below").to_path_buf());
            }
        }
    }
    out
}

/// The names in `dir` (empty when it does not exist).
fn names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs_err::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Temporary files of atomic writes (`.<name>.*.tmp`) in `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.ends_with(".tmp"))
        .collect()
}

// ---- sixteen at once ----------------------------------------------------------------------

/// 16 `pm install` processes started at once, mixed scopes: 16 records, 16 settings entries.
#[test]
fn sixteen_concurrent_installs_record_sixteen_plugins() {
    for round in 0..3 {
        sixteen_at_once(round);
    }
}

fn sixteen_at_once(round: usize) {
    let ctx = TestContext::new();
    let market = ctx.root.join("market");
    let plugins: Vec<(String, &str)> = (0..16)
        .map(|i| {
            let scope = ["user", "project", "local"][i % 3];
            (format!("c{i:02}"), scope)
        })
        .collect();
    for (name, _) in &plugins {
        write_big_plugin(&market.join("plugins").join(name), name, "1.0.0", 20, 512);
    }
    write_marketplace(
        &market,
        "mk",
        Value::Array(
            plugins
                .iter()
                .map(|(name, _)| json!({"name": name, "source": format!("./plugins/{name}")}))
                .collect(),
        ),
    );
    ctx.ok(&["marketplace", "add", &s(&market)]);

    let children: Vec<(String, &str, Child)> = plugins
        .iter()
        .map(|(name, scope)| {
            let child = ctx
                .pm(&["install", &format!("{name}@mk"), "--scope", scope])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn pm install");
            (name.clone(), *scope, child)
        })
        .collect();
    for (name, scope, child) in children {
        let output = child.wait_with_output().expect("wait for pm");
        assert!(
            output.status.success(),
            "round {round}: pm install {name}@mk --scope {scope} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    let project = s(&ctx.project);
    let installed = ctx.installed();
    let records = installed["plugins"]
        .as_object()
        .unwrap_or_else(|| panic!("round {round}: no plugins map: {installed}"));
    assert_eq!(
        records.len(),
        16,
        "round {round}: installed_plugins.json: {installed:#}"
    );
    for (name, scope) in &plugins {
        let id = format!("{name}@mk");
        let list = records[&id]
            .as_array()
            .unwrap_or_else(|| panic!("round {round}: no records for {id}: {installed:#}"));
        assert_eq!(
            list.len(),
            1,
            "round {round}: records of {id}: {installed:#}"
        );
        let record = &list[0];
        assert_eq!(record["scope"], *scope, "round {round}: {id}: {record}");
        if *scope == "user" {
            assert!(record.get("projectPath").is_none(), "{id}: {record}");
        } else {
            assert_eq!(record["projectPath"], project, "{id}: {record}");
        }
        let install_path = PathBuf::from(record["installPath"].as_str().expect("installPath"));
        assert_eq!(
            install_path,
            ctx.cache().join("mk").join(name).join("1.0.0")
        );
        assert!(
            install_path.join(READY).is_file(),
            "round {round}: {} has no {READY}",
            install_path.display()
        );
        assert_eq!(
            files_below(&install_path),
            files_below(&market.join("plugins").join(name)),
            "round {round}: the copy of {id} is not complete"
        );
    }
    let mut total = 0;
    for (scope, path) in [
        ("user", ctx.user_settings()),
        ("project", ctx.project_settings()),
        ("local", ctx.local_settings()),
    ] {
        let settings = read_json(&path);
        let enabled: BTreeSet<String> = settings["enabledPlugins"]
            .as_object()
            .unwrap_or_else(|| panic!("round {round}: no enabledPlugins in {scope}: {settings}"))
            .iter()
            .map(|(id, value)| {
                assert_eq!(*value, Value::Bool(true), "{scope}: {id}");
                id.clone()
            })
            .collect();
        let expected: BTreeSet<String> = plugins
            .iter()
            .filter(|(_, s)| *s == scope)
            .map(|(name, _)| format!("{name}@mk"))
            .collect();
        assert_eq!(
            enabled, expected,
            "round {round}: enabledPlugins of the {scope} settings"
        );
        total += enabled.len();
        let dir = path.parent().expect("parent");
        assert_eq!(
            temp_files(dir),
            Vec::<String>::new(),
            "round {round}: {scope}"
        );
    }
    assert_eq!(total, 16);
    assert_eq!(temp_files(&ctx.plugins()), Vec::<String>::new());
    // The project install declared the marketplace once.
    assert!(
        read_json(&ctx.project_settings())["extraKnownMarketplaces"]
            .get("mk")
            .is_some(),
        "round {round}: the project settings do not declare mk"
    );
}

/// Eight `pm install` processes of one plugin at once (three scopes, several times each):
/// every process succeeds, one record per scope, one complete cache directory that is never
/// replaced once complete.
#[test]
fn concurrent_installs_of_one_plugin_share_one_complete_copy() {
    for round in 0..3 {
        let ctx = TestContext::new();
        let market = ctx.root.join("market");
        write_big_plugin(&market.join("plugins/same"), "same", "1.0.0", 300, 1024);
        write_marketplace(
            &market,
            "mk",
            json!([{"name": "same", "source": "./plugins/same"}]),
        );
        ctx.ok(&["marketplace", "add", &s(&market)]);
        let scopes = [
            "user", "project", "local", "user", "project", "local", "user", "project",
        ];
        // Watch the version directory: once complete, it must never be replaced (a record may
        // already point at it, and Claude Code may be loading it).
        let version = ctx.cache().join("mk/same/1.0.0");
        let done = AtomicBool::new(false);
        let inodes = std::thread::scope(|scope| {
            let watcher = scope.spawn(|| {
                let mut inodes = BTreeSet::new();
                while !done.load(Ordering::SeqCst) {
                    if let Ok(meta) = fs_err::metadata(&version)
                        && version.join(READY).is_file()
                    {
                        inodes.insert(meta.ino());
                    }
                    std::thread::sleep(Duration::from_micros(500));
                }
                inodes
            });
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                install_all(&ctx, &scopes, round);
            }));
            done.store(true, Ordering::SeqCst);
            let inodes = watcher.join().expect("watcher");
            if let Err(panic) = result {
                std::panic::resume_unwind(panic);
            }
            inodes
        });
        assert_eq!(
            inodes.len(),
            1,
            "round {round}: the complete directory was replaced by another copy"
        );
        let installed = ctx.installed();
        let records = installed["plugins"]["same@mk"]
            .as_array()
            .unwrap_or_else(|| panic!("round {round}: {installed:#}"));
        let recorded: BTreeSet<&str> = records
            .iter()
            .map(|r| r["scope"].as_str().expect("scope"))
            .collect();
        assert_eq!(records.len(), 3, "round {round}: {installed:#}");
        assert_eq!(recorded, BTreeSet::from(["user", "project", "local"]));
        for record in records {
            assert_eq!(
                record["installPath"],
                s(&version),
                "round {round}: {record}"
            );
        }
        assert_eq!(
            names(&ctx.cache().join("mk/same")),
            ["1.0.0"],
            "round {round}: what the cache holds"
        );
        assert!(version.join(READY).is_file());
        assert_eq!(
            files_below(&version),
            files_below(&market.join("plugins/same")),
            "round {round}: the copy is not complete"
        );
    }
}

/// Starts `pm install same@mk --scope <scope>` for every scope at once; asserts each succeeds.
fn install_all(ctx: &TestContext, scopes: &[&str], round: usize) {
    let children: Vec<(&str, Child)> = scopes
        .iter()
        .map(|scope| {
            let child = ctx
                .pm(&["install", "same@mk", "--scope", scope])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn pm install");
            (*scope, child)
        })
        .collect();
    for (scope, child) in children {
        let output = child.wait_with_output().expect("wait for pm");
        assert!(
            output.status.success(),
            "round {round}: pm install same@mk --scope {scope} failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

// ---- killed at random moments -------------------------------------------------------------

/// A small seeded PRNG (xorshift64*), so that a failing run can be repeated.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..=max`.
    fn below(&mut self, max: Duration) -> Duration {
        let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(self.next() % nanos.saturating_add(1))
    }
}

/// What the crash test saw, for the report at the end.
#[derive(Debug, Default)]
struct CrashTally {
    /// Killed by the signal (the rest had finished before it arrived).
    killed: usize,
    /// Killed while a staging directory existed (mid-copy).
    mid_copy: usize,
    /// Killed after the record was written (the follow-up found it installed).
    after_record: usize,
    /// A record without its `enabledPlugins` entry after the kill.
    record_without_entry: usize,
    /// The plugin still not enabled after the follow-up install.
    not_enabled_after_follow_up: usize,
    /// Temporary files seen next to state files after a kill: name → still there at the end.
    temp_files: BTreeMap<String, bool>,
}

/// Checks the invariants after a kill: state and settings files parse; every record's
/// installPath is a complete directory; every version directory in the cache is complete.
#[track_caller]
fn check_after_kill(ctx: &TestContext, label: &str) -> Value {
    let installed_path = ctx.plugins().join("installed_plugins.json");
    let installed = if installed_path.exists() {
        let text = fs_err::read_to_string(&installed_path).expect("read");
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!("{label}: installed_plugins.json does not parse ({e}):\n{text}")
        })
    } else {
        json!({"version": 2, "plugins": {}})
    };
    for path in [
        ctx.user_settings(),
        ctx.plugins().join("known_marketplaces.json"),
    ] {
        if path.exists() {
            let text = fs_err::read_to_string(&path).expect("read");
            assert!(
                serde_json::from_str::<Value>(&text).is_ok(),
                "{label}: {} does not parse:\n{text}",
                path.display()
            );
        }
    }
    for (id, records) in installed["plugins"].as_object().expect("plugins") {
        for record in records.as_array().expect("records") {
            let path = PathBuf::from(record["installPath"].as_str().expect("installPath"));
            assert!(
                path.join(READY).is_file(),
                "{label}: the record of {id} points at {}, which is not complete ({:?})",
                path.display(),
                names(&path)
            );
        }
    }
    // No version directory without its marker (DEVIATIONS 4), whether a record uses it or not.
    for plugin in names(&ctx.cache().join("mk")) {
        let dir = ctx.cache().join("mk").join(&plugin);
        for version in names(&dir).iter().filter(|n| !n.starts_with('.')) {
            assert!(
                dir.join(version).join(READY).is_file(),
                "{label}: {}/{version} is incomplete: {:?}",
                dir.display(),
                names(&dir.join(version))
            );
        }
    }
    installed
}

/// `pm install` killed with SIGKILL at pseudo-random moments: the state always parses, no
/// record points at an incomplete directory, and the next install completes.
///
/// Each kill installs another plugin (200 files, so that the copy takes a measurable time);
/// the delays are spread over the duration of one install, measured again and again (the
/// follow-up installs) because the machine's load changes while the test runs.
#[test]
fn killed_installs_leave_no_record_of_an_incomplete_copy() {
    const KILLS: usize = 50;
    let seed = std::env::var("PM_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_CAFE_F00D_u64);
    let mut rng = Rng(seed);
    let ctx = TestContext::new();
    let market = ctx.root.join("market");
    let plugins: Vec<String> = (0..=KILLS).map(|i| format!("k{i:02}")).collect();
    let source = |name: &str| market.join("plugins").join(name);
    for name in &plugins {
        write_big_plugin(&source(name), name, "1.0.0", 200, 2048);
    }
    write_marketplace(
        &market,
        "mk",
        Value::Array(
            plugins
                .iter()
                .map(|name| json!({"name": name, "source": format!("./plugins/{name}")}))
                .collect(),
        ),
    );
    ctx.ok(&["marketplace", "add", &s(&market)]);

    // Durations of complete installs; the kill window is their recent median.
    let timed_install = |id: &str| {
        let start = Instant::now();
        let run = ctx.ok(&["install", id]);
        (start.elapsed(), run)
    };
    let mut durations = vec![timed_install(&format!("{}@mk", plugins[KILLS])).0];

    let mut tally = CrashTally::default();
    let state_dirs = [ctx.plugins(), ctx.config.clone()];
    for (kill, plugin) in plugins.iter().take(KILLS).enumerate() {
        let id = format!("{plugin}@mk");
        let mut recent: Vec<Duration> = durations.iter().rev().take(5).copied().collect();
        recent.sort();
        let window = recent[recent.len() / 2];
        let delay = rng.below(window);
        let label = format!("kill {kill} ({id}, after {delay:?} of {window:?}, seed {seed:#x})");
        let plugin_cache = ctx.cache().join("mk").join(plugin);

        let mut child = ctx
            .pm(&["install", &id])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pm install");
        std::thread::sleep(delay);
        // SIGKILL (a no-op when it has already exited).
        let _ = child.kill();
        let status = child.wait().expect("wait");
        let killed = status.signal() == Some(9);
        if killed {
            tally.killed += 1;
        } else {
            assert!(status.success(), "{label}: pm install failed: {status}");
        }
        if names(&plugin_cache)
            .iter()
            .any(|n| n.starts_with(".staging-"))
        {
            tally.mid_copy += 1;
        }

        let installed = check_after_kill(&ctx, &label);
        for dir in &state_dirs {
            for name in temp_files(dir) {
                tally.temp_files.insert(s(&dir.join(name)), true);
            }
        }
        let recorded = installed["plugins"]
            .get(&id)
            .and_then(Value::as_array)
            .is_some_and(|r| !r.is_empty());
        if recorded {
            tally.after_record += usize::from(killed);
            let entry = read_json(&ctx.user_settings())["enabledPlugins"]
                .get(&id)
                .cloned();
            if entry != Some(json!(true)) {
                // Settings are written before the record, so a record always has its entry.
                tally.record_without_entry += 1;
                panic!("{label}: the record was written but not the enabledPlugins entry");
            }
        }

        // The follow-up install completes (or finds the install complete).
        let (duration, run) = timed_install(&id);
        if !recorded {
            durations.push(duration);
        }
        if read_json(&ctx.user_settings())["enabledPlugins"].get(&id) != Some(&json!(true)) {
            tally.not_enabled_after_follow_up += 1;
        }
        let installed = check_after_kill(&ctx, &format!("{label}, follow-up"));
        let record = &installed["plugins"][&id][0];
        let install_path = PathBuf::from(record["installPath"].as_str().unwrap_or_else(|| {
            panic!("{label}: no record after the follow-up install: {installed}\n{run}")
        }));
        assert_eq!(
            install_path,
            plugin_cache.join("1.0.0"),
            "{label}: {record}"
        );
        assert_eq!(
            files_below(&install_path),
            files_below(&source(plugin)),
            "{label}: the follow-up install left an incomplete copy"
        );
    }

    // What is left: temporary files no run cleaned, staging directories of killed copies
    // (both removed by a later run once an hour old, see the next test).
    for (path, left) in &mut tally.temp_files {
        *left = Path::new(path).exists();
    }
    let staging = plugins
        .iter()
        .flat_map(|p| names(&ctx.cache().join("mk").join(p)))
        .filter(|n| n.starts_with(".staging-"))
        .count();
    eprintln!(
        "crash test (seed {seed:#x}): installs took {durations:?}; {KILLS} kills: \
         {} killed ({} mid-copy, {} after the record was written), {} finished first; \
         {} record(s) without their enabledPlugins entry ({} still not enabled after the \
         follow-up install); \
         temporary files left next to state files (path: still there): {:?}; \
         staging directories left in the cache: {staging}",
        tally.killed,
        tally.mid_copy,
        tally.after_record,
        KILLS - tally.killed,
        tally.record_without_entry,
        tally.not_enabled_after_follow_up,
        tally.temp_files,
    );
    assert!(
        tally.killed >= KILLS / 4,
        "too few installs were killed ({}), the kills came too late",
        tally.killed
    );
    assert!(tally.mid_copy > 0, "no kill landed mid-copy");
    assert_eq!(
        tally.not_enabled_after_follow_up, 0,
        "a follow-up install must leave the plugin enabled"
    );
    // pm still works on what the kills left.
    ctx.ok(&["list", "--json"]);
}

/// What killed runs leave behind (temporary files of atomic writes next to state and settings
/// files, staging directories in the cache) is removed by a later run once it is an hour old;
/// younger ones may belong to a run in progress and stay.
#[test]
fn leftovers_of_killed_runs_are_removed_once_stale() {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("market", "mk1");
    ctx.ok(&["marketplace", "add", &s(&market)]);
    let old = std::time::SystemTime::now() - Duration::from_secs(2 * 60 * 60);
    let plugin_cache = ctx.cache().join("mk1/p1");
    let project_claude = ctx.project.join(".claude");
    let mut stale = Vec::new();
    let mut fresh = Vec::new();
    for (dir, name) in [
        (ctx.plugins(), "installed_plugins.json"),
        (ctx.config.clone(), "settings.json"),
        (project_claude.clone(), "settings.json"),
    ] {
        for (suffix, list) in [("Ab12Cd", &mut stale), ("Xy34Zw", &mut fresh)] {
            let path = dir.join(format!(".{name}.{suffix}.tmp"));
            write_file(&path, "{\"half\": ");
            list.push(path);
        }
    }
    for (name, list) in [
        (".staging-Ab12Cd", &mut stale),
        (".staging-Xy34Zw", &mut fresh),
    ] {
        let dir = plugin_cache.join(name);
        write_file(&dir.join("plugin/half.txt"), "half");
        list.push(dir);
    }
    for path in &stale {
        std::fs::File::open(path)
            .and_then(|f| f.set_modified(old))
            .expect("age a leftover");
    }
    ctx.ok(&["install", "p1@mk1", "--scope", "project"]);
    ctx.ok(&["install", "p1@mk1", "--scope", "user"]);
    for path in &stale {
        assert!(!path.exists(), "{} is still there", path.display());
    }
    for path in &fresh {
        assert!(path.exists(), "{} was removed", path.display());
    }
    assert!(plugin_cache.join("1.0.0").join(READY).is_file());
}

/// A version directory without the ready marker (a copy killed by an older pm, or written by
/// another tool) is rebuilt, not reused (DEVIATIONS 4).
#[test]
fn an_incomplete_version_directory_is_rebuilt() {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("market", "mk1");
    ctx.ok(&["marketplace", "add", &s(&market)]);
    let version = ctx.cache().join("mk1/p1/1.0.0");
    write_file(&version.join("commands/half.md"), "half");
    ctx.ok(&["install", "p1@mk1"]);
    assert!(version.join(READY).is_file());
    assert_eq!(
        files_below(&version),
        files_below(&market.join("plugins/p1")),
        "the incomplete directory was not replaced"
    );
    assert_eq!(names(&ctx.cache().join("mk1/p1")), ["1.0.0"]);
}

// ---- the lock ------------------------------------------------------------------------------

/// Holds `<plugins>/.pm.lock` as another pm process would.
fn hold_lock(ctx: &TestContext) -> std::fs::File {
    fs_err::create_dir_all(ctx.plugins()).expect("mkdir plugins");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(ctx.plugins().join(".pm.lock"))
        .expect("open the lock file");
    file.lock().expect("take the lock");
    file
}

/// A held lock: with `PM_LOCK_TIMEOUT=1`, install fails after a second naming the lock file
/// and the variable, and changes no state or settings file.
#[test]
fn install_times_out_on_a_held_lock() {
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("market", "mk1");
    ctx.ok(&["marketplace", "add", &s(&market)]);
    let lock = hold_lock(&ctx);
    let before = ctx.snapshot();
    let start = Instant::now();
    let mut command = ctx.pm(&["install", "p1@mk1"]);
    command.env("PM_LOCK_TIMEOUT", "1");
    let run = run(command);
    let elapsed = start.elapsed();
    run.assert_fails(1);
    run.stderr_has(&[&s(&ctx.plugins().join(".pm.lock")), "PM_LOCK_TIMEOUT"]);
    assert!(
        elapsed >= Duration::from_secs(1),
        "gave up after {elapsed:?}"
    );
    let after = ctx.snapshot();
    // The plugin may already be copied into the cache (the copy happens before the lock is
    // taken); it is then complete. Nothing else changes.
    let cache = Path::new("home/.claude/plugins/cache");
    let outside_cache = |tree: &BTreeMap<PathBuf, Node>| {
        let mut tree = tree.clone();
        tree.retain(|path, _| !path.starts_with(cache));
        tree
    };
    assert_same_tree(&outside_cache(&before), &outside_cache(&after));
    let copied: Vec<&PathBuf> = after.keys().filter(|p| p.starts_with(cache)).collect();
    if !copied.is_empty() {
        let version = ctx.cache().join("mk1/p1/1.0.0");
        assert!(
            version.join(READY).is_file(),
            "an incomplete copy was left: {copied:?}"
        );
        eprintln!(
            "note: the timed-out install left a complete, unrecorded copy in {}",
            version.display()
        );
    }
    drop(lock);
}

/// A lock released ~300 ms after install started waiting for it: install says it is waiting
/// (naming the lock file), then succeeds with the default timeout.
#[test]
fn install_waits_for_the_lock() {
    use std::io::BufRead;
    let ctx = TestContext::new();
    let market = ctx.simple_marketplace("market", "mk1");
    ctx.ok(&["marketplace", "add", &s(&market)]);
    let lock = hold_lock(&ctx);
    let mut child = ctx
        .pm(&["install", "p1@mk1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn pm install");
    // Read stderr line by line: release the lock only once pm waits for it (a busy machine
    // may take longer than 300 ms to get there).
    let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let (lines, received) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in stderr.lines() {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen
        .iter()
        .any(|l: &String| l.contains("Waiting for the lock"))
    {
        let left = deadline.saturating_duration_since(Instant::now());
        match received.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!(
                "pm did not say it was waiting for the lock:\n{}",
                seen.join("\n")
            ),
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    lock.unlock().expect("unlock");
    drop(lock);
    let status = child.wait().expect("wait");
    reader.join().expect("stderr reader");
    seen.extend(received.try_iter());
    let stderr = seen.join("\n");
    assert!(status.success(), "pm install failed:\n{stderr}");
    assert!(
        stderr.contains(&s(&ctx.plugins().join(".pm.lock"))),
        "the waiting message does not name the lock file:\n{stderr}"
    );
    assert_eq!(
        ctx.installed()["plugins"]["p1@mk1"][0]["scope"],
        "user",
        "{}",
        ctx.installed()
    );
    assert_eq!(
        ctx.settings(&ctx.user_settings())["enabledPlugins"]["p1@mk1"],
        true
    );
}

#[test]
fn concurrent_refreshes_of_one_marketplace_all_succeed() {
    let mut ctx = TestContext::new();
    let src = ctx.simple_marketplace("src-race", "race");
    ctx.publish(&src, "acme/race");
    ctx.github_over_http();
    ctx.ok(&["marketplace", "add", "acme/race"]);
    let clone = ctx.marketplaces().join("race");
    for round in 0..4 {
        write_file(
            &src.join("plugins/p1/notes.md"),
            &format!("round {round}\n"),
        );
        let bare = ctx.publish(&src, "acme/race");
        let head = rev_parse(&bare, "HEAD");
        let children: Vec<Child> = (0..6)
            .map(|_| {
                ctx.pm(&["marketplace", "update", "race"])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn pm marketplace update")
            })
            .collect();
        for child in children {
            let output = child.wait_with_output().expect("wait for pm");
            assert!(
                output.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        assert_eq!(rev_parse(&clone, "HEAD"), head, "round {round}");
        assert_eq!(
            fs_err::read_to_string(clone.join("plugins/p1/notes.md")).expect("read"),
            format!("round {round}\n")
        );
        assert_eq!(
            names(&ctx.marketplaces()),
            ["race"],
            "no temporary clone left"
        );
    }
}
