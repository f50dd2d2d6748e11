//! `pm details` (reference-advanced.md §3; scenarios 20, 21 and 22 rebuilt in Rust): the
//! layout, the component inventory and its naming rules, the token estimate, how the argument
//! is resolved (name, `name@marketplace` in any case, a directory), and what is never read.

use crate::support::{Run, TestContext, write_file, write_json};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn s(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Entry names of `dir` in the order the file system lists them (the order of the rows).
fn listing_order(dir: &Path) -> Vec<String> {
    fs_err::read_dir(dir)
        .expect("list a fixture directory")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Scenario 20's marketplace `m` (plugins `rich` and `empty`), added and both installed.
fn rich_marketplace(ctx: &TestContext) -> PathBuf {
    let market = ctx.root.join("mkt");
    let rich = market.join("plugins/rich");
    write_json(
        &market.join(".claude-plugin/marketplace.json"),
        &json!({"name": "m", "owner": {"name": "x"}, "plugins": [
            {"name": "rich", "source": "./plugins/rich", "description": "marketplace desc"},
            {"name": "empty", "source": "./plugins/empty"}
        ]}),
    );
    write_json(
        &market.join("plugins/empty/.claude-plugin/plugin.json"),
        &json!({"name": "empty"}),
    );
    write_json(
        &rich.join(".claude-plugin/plugin.json"),
        &json!({"name": "rich", "version": "1.2.3", "description": "A rich plugin",
            "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "echo inline"}]}]},
            "mcpServers": {"inl": {"command": "node", "args": ["x.js"]}},
            "lspServers": {"ts": {"command": "tsls", "extensionToLanguage": {".ts": "typescript"}}}}),
    );
    write_file(
        &rich.join("skills/alpha/SKILL.md"),
        "---\nname: alpha\ndescription: Alpha skill does alpha things\n---\nBody of alpha skill that is long.\n",
    );
    write_file(
        &rich.join("skills/beta/SKILL.md"),
        "---\nname: beta\ndescription: Beta\n---\nB\n",
    );
    write_file(
        &rich.join("commands/cmd1.md"),
        "---\ndescription: Command one\n---\nDo cmd1\n",
    );
    write_file(&rich.join("commands/cmd2.md"), "No frontmatter command\n");
    write_file(
        &rich.join("agents/ag1.md"),
        "---\nname: ag1\ndescription: Agent one description\n---\nYou are agent one.\n",
    );
    write_json(
        &rich.join("hooks/hooks.json"),
        &json!({"hooks": {
            "PostToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "echo a"}, {"type": "command", "command": "echo b"}]}],
            "SessionStart": [{"hooks": [{"type": "command", "command": "echo s"}]}]}}),
    );
    write_json(
        &rich.join(".mcp.json"),
        &json!({"mcpServers": {"srv1": {"command": "a"}, "srv2": {"type": "http", "url": "http://x"}}}),
    );
    write_json(
        &rich.join(".lsp.json"),
        &json!({"py": {"command": "pyls", "extensionToLanguage": {".py": "python"}}}),
    );
    ctx.ok(&["marketplace", "add", &s(&market)]);
    ctx.ok(&["install", "rich@m"]);
    ctx.ok(&["install", "empty@m"]);
    market
}

/// The reference's output for scenario 20's `rich` (reference-advanced.md §3), with the rows
/// in this file system's listing order.
fn rich_layout(market: &Path) -> String {
    let rich = market.join("plugins/rich");
    let mut rows = Vec::new();
    rows.extend(listing_order(&rich.join("skills")));
    rows.extend(listing_order(&rich.join("agents")));
    rows.extend(listing_order(&rich.join("commands")));
    let rows: String = rows
        .iter()
        .map(|name| {
            format!(
                "  {:<9}  {:>9}  {:>9}\n",
                name.trim_end_matches(".md"),
                "< 20",
                "< 20"
            )
        })
        .collect();
    format!(
        "rich 1.2.3
  Description: marketplace desc
  Source: rich@m

Component inventory
  Skills (4)  alpha, beta, cmd1, cmd2
  Agents (1)  ag1
  Hooks (3)  PostToolUse, SessionStart, PreToolUse  (harness-only \u{2014} no model context cost)
  MCP servers (3)  srv1, srv2, inl  (tool schemas resolved at runtime; not counted)
  LSP servers (2)  py, ts  (no model context cost)

Projected token cost
  Always-on:   ~33 tok   added to every session

Per-component (rounded)
  component  always-on  on-invoke
{rows}
  On-invoke cost is paid each time a skill or agent fires.
  Token counts are estimates and may differ from actual usage.
"
    )
}

#[test]
fn rich_plugin_prints_the_reference_layout() {
    let ctx = TestContext::new();
    let market = rich_marketplace(&ctx);
    let out = ctx.ok(&["details", "rich@m"]);
    assert_eq!(out.stdout, rich_layout(&market), "{out}");
    assert_eq!(out.stderr, "", "{out}");
}

#[test]
fn a_bare_name_and_any_case_name_the_same_plugin() {
    let ctx = TestContext::new();
    let market = rich_marketplace(&ctx);
    for argument in ["rich", "RICH@M", "Rich@m"] {
        let out = ctx.ok(&["details", argument]);
        assert_eq!(out.stdout, rich_layout(&market), "{argument}: {out}");
    }
}

#[test]
fn an_empty_plugin_lists_zero_of_everything_and_no_table() {
    let ctx = TestContext::new();
    rich_marketplace(&ctx);
    let out = ctx.ok(&["details", "empty@m"]);
    assert_eq!(
        out.stdout,
        "empty
  Source: empty@m

Component inventory
  Skills (0)
  Agents (0)
  Hooks (0)
  MCP servers (0)
  LSP servers (0)

Projected token cost
  Always-on:   ~0 tok   added to every session
",
        "{out}"
    );
}

#[test]
fn json_reports_the_same_figures_as_integers_and_as_shown() {
    let ctx = TestContext::new();
    rich_marketplace(&ctx);
    let out = ctx.ok(&["details", "rich@m", "--json"]);
    let line = out.json();
    assert_eq!(line["command"], "details", "{out}");
    assert_eq!(line["outcome"], "ok");
    assert_eq!(line["plugin"], "rich");
    assert_eq!(line["version"], "1.2.3");
    assert_eq!(line["description"], "marketplace desc");
    assert_eq!(line["source"], "rich@m");
    assert_eq!(line["installed"]["scope"], "user");
    assert_eq!(line["installed"]["enabled"], true);
    // "rich:beta Beta" 14, "rich:alpha Alpha skill does alpha things" 40, "ag1 Agent one
    // description" 25, "rich:cmd2 No frontmatter command" 32, "rich:cmd1 Command one" 21.
    assert_eq!(line["tokens"]["alwaysOnChars"], 132);
    assert_eq!(line["tokens"]["alwaysOn"], 33);
    assert_eq!(line["tokens"]["alwaysOnDisplay"], "~33");
    let skill = |name: &str| -> Value {
        line["components"]["skills"]
            .as_array()
            .and_then(|skills| skills.iter().find(|s| s["name"] == name).cloned())
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        skill("alpha")["chars"],
        json!({"alwaysOn": 40, "onInvoke": 33})
    );
    assert_eq!(
        skill("alpha")["tokens"],
        json!({"alwaysOn": 10, "onInvoke": 8})
    );
    assert_eq!(
        skill("alpha")["display"],
        json!({"alwaysOn": "< 20", "onInvoke": "< 20"})
    );
    assert_eq!(line["components"]["agents"][0]["name"], "ag1");
    assert_eq!(
        line["components"]["commands"]
            .as_array()
            .map(|c| c.len())
            .unwrap_or(0),
        2
    );
    assert_eq!(
        line["components"]["hooks"],
        json!(["PostToolUse", "SessionStart", "PreToolUse"])
    );
    assert_eq!(
        line["components"]["mcpServers"],
        json!(["srv1", "srv2", "inl"])
    );
    assert_eq!(line["components"]["lspServers"], json!(["py", "ts"]));
}

#[test]
fn an_unknown_plugin_exits_1_with_a_hint() {
    let ctx = TestContext::new();
    rich_marketplace(&ctx);
    let out = ctx.fails(&["details", "nope"], 1);
    assert_eq!(out.stdout, "", "{out}");
    out.stderr_has(&["Plugin `nope` not found", "pm list", "plugin directory"]);
    let out = ctx.fails(&["details", "rich@other", "--json"], 1);
    let line = out.json();
    assert_eq!(line["outcome"], "failed", "{out}");
    assert_eq!(line["failureCode"], "not_found");
    assert_eq!(line["plugin"], "rich@other");
    // Nothing installed at all: the same answer, not an error about missing files.
    let empty = TestContext::new();
    empty
        .fails(&["details", "rich"], 1)
        .stderr_has(&["not found"]);
}

#[test]
fn a_disabled_plugin_is_shown() {
    let ctx = TestContext::new();
    let market = rich_marketplace(&ctx);
    ctx.ok(&["disable", "rich@m"]);
    let out = ctx.ok(&["details", "rich@m"]);
    assert_eq!(out.stdout, rich_layout(&market), "{out}");
    let line = ctx.ok(&["details", "rich@m", "--json"]).json();
    assert_eq!(line["installed"]["enabled"], false);
}

#[test]
fn the_most_specific_record_here_is_used() {
    let ctx = TestContext::new();
    rich_marketplace(&ctx);
    ctx.ok(&["install", "rich@m", "--scope", "project"]);
    let line = ctx.ok(&["details", "rich", "--json"]).json();
    assert_eq!(line["installed"]["scope"], "project");
    // In another directory the project record does not apply: the user record does.
    let elsewhere = ctx.root.join("elsewhere");
    fs_err::create_dir_all(&elsewhere).expect("mkdir");
    let out = ctx.run_in(&elsewhere, &["details", "rich", "--json"]);
    out.assert_ok();
    assert_eq!(out.json()["installed"]["scope"], "user", "{out}");
}

#[test]
fn a_name_in_two_marketplaces_is_ambiguous() {
    let ctx = TestContext::new();
    rich_marketplace(&ctx);
    let other = ctx.root.join("other");
    write_json(
        &other.join(".claude-plugin/marketplace.json"),
        &json!({"name": "n", "owner": {"name": "x"}, "plugins": [{"name": "rich", "source": "./rich"}]}),
    );
    write_json(
        &other.join("rich/.claude-plugin/plugin.json"),
        &json!({"name": "rich"}),
    );
    ctx.ok(&["marketplace", "add", &s(&other)]);
    ctx.ok(&["install", "rich@n"]);
    let out = ctx.fails(&["details", "rich", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "ambiguous_marketplace", "{out}");
    out.stderr_has(&["rich@m", "rich@n"]);
    ctx.ok(&["details", "rich@n"])
        .stdout_has(&["Source: rich@n"]);
}

/// A plugin directory `root/<name>` holding one agent `a` whose always-on text is
/// `always_on_chars` long (`"a " + description`) and whose body is `body_chars` long
/// (scenario 21).
fn agent_plugin(root: &Path, always_on_chars: usize, body_chars: usize) -> PathBuf {
    let dir = root.join(format!("pd{always_on_chars}_{body_chars}"));
    write_json(
        &dir.join(".claude-plugin/plugin.json"),
        &json!({"name": "pd"}),
    );
    write_file(
        &dir.join("agents/a.md"),
        &format!(
            "---\nname: a\ndescription: {}\n---\n{}\n",
            "x".repeat(always_on_chars - 2),
            "y".repeat(body_chars)
        ),
    );
    dir
}

/// `(always-on total, always-on cell, on-invoke cell)` of `pm details <dir>`.
fn estimate(ctx: &TestContext, dir: &Path) -> (String, String, String) {
    let out = ctx.ok(&["details", &s(dir)]);
    let total = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("  Always-on:   "))
        .and_then(|l| l.split(' ').next())
        .unwrap_or_default()
        .to_string();
    let row: Vec<String> = out
        .stdout
        .lines()
        .find(|l| l.starts_with("  a "))
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    (
        total,
        row.get(1).cloned().unwrap_or_default(),
        row.get(2).cloned().unwrap_or_default(),
    )
}

#[test]
fn the_token_estimate_matches_scenario_21() {
    let ctx = TestContext::new();
    let cases: [(usize, usize, &str, &str, &str); 12] = [
        (9, 100, "~2", "< 20", "~30"),
        (10, 100, "~3", "< 20", "~30"),
        (13, 100, "~3", "< 20", "~30"),
        (14, 100, "~4", "< 20", "~30"),
        (82, 100, "~21", "~20", "~30"),
        (98, 100, "~25", "~30", "~30"),
        (4020, 100, "~1,005", "~1k", "~30"),
        (40000, 100, "~10,000", "~10k", "~30"),
        (20, 79, "~5", "< 20", "~20"),
        (20, 4200, "~5", "< 20", "~1.1k"),
        (20, 4600, "~5", "< 20", "~1.2k"),
        (20, 39999, "~5", "< 20", "~10k"),
    ];
    for (always_on, body, total, always_on_cell, on_invoke_cell) in cases {
        let dir = agent_plugin(&ctx.root, always_on, body);
        assert_eq!(
            estimate(&ctx, &dir),
            (total.into(), always_on_cell.into(), on_invoke_cell.into()),
            "always-on {always_on} chars, body {body} chars"
        );
    }
}

#[test]
fn a_file_over_one_mebibyte_is_counted_from_its_first_mebibyte_with_a_warning() {
    let ctx = TestContext::new();
    let dir = agent_plugin(&ctx.root, 20, 4_000_000);
    let out = ctx.ok(&["details", &s(&dir)]);
    out.stderr_has(&["larger than 1 MiB", "a.md"]);
    assert_eq!(
        estimate(&ctx, &dir),
        ("~5".into(), "< 20".into(), "~262.1k".into())
    );
    let line = ctx.ok(&["details", &s(&dir), "--json"]).json();
    assert_eq!(line["components"]["agents"][0]["truncated"], true);
    assert_eq!(line["notes"].as_array().map(Vec::len), Some(1), "{line}");
}

#[test]
fn skills_name_and_when_to_use_count_in_the_always_on_text() {
    let ctx = TestContext::new();
    let dir = ctx.root.join("sk");
    write_json(
        &dir.join(".claude-plugin/plugin.json"),
        &json!({"name": "sk"}),
    );
    write_file(
        &dir.join("skills/s/SKILL.md"),
        "---\nname: s\ndescription: dddd\nwhen_to_use: wwww\n---\nbody",
    );
    // "sk:s dddd wwww" = 14 chars: 3.5 rounds up to 4.
    let line = ctx.ok(&["details", &s(&dir), "--json"]).json();
    assert_eq!(line["tokens"]["alwaysOnChars"], 14);
    assert_eq!(line["tokens"]["alwaysOn"], 4);
}

#[test]
fn component_naming_rules_match_scenario_22() {
    let ctx = TestContext::new();
    let dir = ctx.root.join("cp");
    write_json(
        &dir.join(".claude-plugin/plugin.json"),
        &json!({"name": "cp", "description": "from plugin.json",
            "hooks": {"PostToolUse": [{"matcher": "Edit", "hooks": [{"type": "command", "command": "x"}]}],
                      "Stop": [{"hooks": [{"type": "command", "command": "y"}]}]},
            "mcpServers": {"srv1": {"command": "dup"}},
            "commands": ["./commands", "./extra-cmds"],
            "agents": ["./agents/ag.md", "./more-agents/ag2.md"]}),
    );
    write_json(
        &dir.join("hooks/hooks.json"),
        &json!({"hooks": {"PostToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "a"}]},
            {"matcher": "Read", "hooks": [{"type": "command", "command": "b"}]}]}}),
    );
    write_json(
        &dir.join(".mcp.json"),
        &json!({"srv1": {"command": "a"}, "srv3": {"command": "c"}}),
    );
    write_file(
        &dir.join("agents/ag.md"),
        "---\nname: different-name\ndescription: d\n---\nb\n",
    );
    write_file(
        &dir.join("more-agents/ag2.md"),
        "---\ndescription: no name\n---\nb\n",
    );
    write_file(&dir.join("commands/top.md"), "top\n");
    write_file(&dir.join("commands/sub/nested.md"), "nested\n");
    write_file(&dir.join("commands/notmd.txt"), "x\n");
    write_file(&dir.join("extra-cmds/x.md"), "x\n");
    write_file(
        &dir.join("skills/dirname/SKILL.md"),
        "---\nname: fm-name\ndescription: d\n---\nb\n",
    );
    write_file(&dir.join("skills/nosk/readme.md"), "no SKILL.md here\n");
    write_file(
        &dir.join("skills/deep/inner/SKILL.md"),
        "---\nname: inner\ndescription: d\n---\nb\n",
    );
    let out = ctx.ok(&["details", &s(&dir)]);
    assert_eq!(
        out.stdout,
        "cp
  Description: from plugin.json
  Source: cp@inline

Component inventory
  Skills (3)  dirname, top, x
  Agents (0)
  Hooks (2)  PostToolUse, Stop  (harness-only \u{2014} no model context cost)
  MCP servers (2)  srv1, srv3  (tool schemas resolved at runtime; not counted)
  LSP servers (0)

Projected token cost
  Always-on:   ~7 tok   added to every session

Per-component (rounded)
  component  always-on  on-invoke
  dirname         < 20       < 20
  top             < 20       < 20
  x               < 20       < 20

  On-invoke cost is paid each time a skill or agent fires.
  Token counts are estimates and may differ from actual usage.
",
        "{out}"
    );
}

#[test]
fn the_marketplace_description_wins_over_plugin_json() {
    let ctx = TestContext::new();
    let market = ctx.root.join("mkt");
    write_json(
        &market.join(".claude-plugin/marketplace.json"),
        &json!({"name": "m", "owner": {"name": "x"}, "plugins": [
            {"name": "p1", "source": "./p1", "description": "entry desc"},
            {"name": "p2", "source": "./p2"}]}),
    );
    for name in ["p1", "p2"] {
        write_json(
            &market.join(format!("{name}/.claude-plugin/plugin.json")),
            &json!({"name": name, "description": "manifest desc"}),
        );
    }
    ctx.ok(&["marketplace", "add", &s(&market)]);
    ctx.ok(&["install", "p1@m"]);
    ctx.ok(&["install", "p2@m"]);
    assert!(
        ctx.ok(&["details", "p1@m"])
            .stdout
            .starts_with("p1\n  Description: entry desc\n  Source: p1@m\n")
    );
    assert!(
        ctx.ok(&["details", "p2@m"])
            .stdout
            .starts_with("p2\n  Description: manifest desc\n  Source: p2@m\n")
    );
}

#[test]
fn a_directory_is_named_by_a_path_or_by_its_name_here() {
    let ctx = TestContext::new();
    let dir = ctx.project.join("myplug");
    write_file(&dir.join("commands/hello.md"), "Say hello\n");
    let expected_start =
        "myplug\n  Description: Plugin from myplug@inline\n  Source: myplug@inline\n";
    for argument in ["./myplug", "myplug", &s(&dir)] {
        let out = ctx.ok(&["details", argument]);
        assert!(out.stdout.starts_with(expected_start), "{argument}: {out}");
        out.stdout_has(&["Skills (1)  hello"]);
    }
    ctx.ok_in(&dir, &["details", "."])
        .stdout_has(&["Source: myplug@inline"]);
    // A path that is not a directory.
    let out = ctx.fails(&["details", "./missing", "--json"], 1);
    assert_eq!(out.json()["failureCode"], "not_found", "{out}");
    out.stderr_has(&["not a plugin directory", "does not exist"]);
}

#[test]
fn an_invalid_plugin_json_fails_naming_the_file() {
    let ctx = TestContext::new();
    let dir = ctx.root.join("broken");
    write_file(&dir.join(".claude-plugin/plugin.json"), "{\"name\": ");
    let out = ctx.fails(&["details", &s(&dir)], 1);
    out.stderr_has(&["Invalid plugin manifest", "plugin.json", "line 1"]);
}

#[cfg(unix)]
#[test]
fn links_leading_out_of_the_plugin_are_not_followed() {
    let ctx = TestContext::new();
    let outside = ctx.root.join("outside");
    write_file(
        &outside.join("os/SKILL.md"),
        "---\ndescription: a secret outside the plugin\n---\nsecret body\n",
    );
    write_file(&outside.join("cmds/c.md"), "outside command\n");
    let dir = ctx.root.join("ln");
    write_json(
        &dir.join(".claude-plugin/plugin.json"),
        &json!({"name": "ln"}),
    );
    write_file(
        &dir.join("skills/own/SKILL.md"),
        "---\ndescription: d\n---\nb\n",
    );
    std::os::unix::fs::symlink(outside.join("os"), dir.join("skills/linked")).expect("symlink");
    std::os::unix::fs::symlink(outside.join("cmds"), dir.join("commands")).expect("symlink");
    let out = ctx.ok(&["details", &s(&dir)]);
    out.stdout_has(&["Skills (1)  own\n"]);
    out.stderr_has(&["leads out of the plugin directory", "linked", "commands"]);
    let line = ctx.ok(&["details", &s(&dir), "--json"]).json();
    // "ln:own d": the outside skill adds nothing.
    assert_eq!(line["tokens"]["alwaysOnChars"], 8);
}

#[test]
fn binary_files_are_counted_lossily() {
    let ctx = TestContext::new();
    let dir = ctx.root.join("bin");
    write_json(
        &dir.join(".claude-plugin/plugin.json"),
        &json!({"name": "bin"}),
    );
    let mut bytes = b"---\ndescription: d\n---\n".to_vec();
    bytes.extend([0xff_u8; 100]);
    let path = dir.join("agents/b.md");
    fs_err::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    fs_err::write(&path, bytes).expect("write");
    let line = ctx.ok(&["details", &s(&dir), "--json"]).json();
    // Each invalid byte is one U+FFFD.
    assert_eq!(line["components"]["agents"][0]["chars"]["onInvoke"], 100);
}

#[test]
fn a_directory_marketplace_plugin_is_read_from_its_folder() {
    let ctx = TestContext::new();
    let market = rich_marketplace(&ctx);
    write_file(
        &market.join("plugins/rich/commands/cmd3.md"),
        "added later\n",
    );
    let out: Run = ctx.ok(&["details", "rich@m"]);
    out.stdout_has(&["Skills (5)  alpha, beta, cmd1, cmd2, cmd3"]);
}

#[test]
fn a_git_marketplace_plugin_is_read_from_its_install_path() {
    let ctx = TestContext::new();
    let src = ctx.simple_marketplace("src-m", "gm");
    ctx.publish(&src, "acme/m");
    ctx.github_over_files();
    ctx.ok(&["marketplace", "add", "acme/m"]);
    ctx.ok(&["install", "p1@gm"]);
    let line = ctx.ok(&["details", "p1@gm", "--json"]).json();
    let install_path = line["installed"]["installPath"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(install_path.starts_with(&s(&ctx.cache())), "{line}");
    assert_eq!(line["path"], install_path.as_str());
    assert_eq!(line["description"], "P1 desc");
    // "p1:hello hello" (commands/hello.md of write_plugin).
    assert_eq!(line["components"]["commands"][0]["name"], "hello");
    assert_eq!(line["tokens"]["alwaysOnChars"], 14);
    // Without its files the plugin cannot be shown.
    fs_err::remove_dir_all(&install_path).expect("remove the cache copy");
    let out = ctx.fails(&["details", "p1@gm"], 1);
    out.stderr_has(&["files of `p1@gm` are missing", "pm install p1@gm"]);
}

#[test]
fn plugin_dir_loads_a_directory_found_by_its_plugin_name() {
    let ctx = TestContext::new();
    let dir = ctx.root.join("elsewhere/checkout");
    write_json(
        &dir.join(".claude-plugin/plugin.json"),
        &json!({"name": "named", "description": "d"}),
    );
    write_file(&dir.join("commands/hello.md"), "Say hello\n");
    // As a script written for `claude` calls it, and as pm's own flag.
    for args in [
        vec!["--plugin-dir", &s(&dir), "plugin", "details", "named"],
        vec!["details", "NAMED", "--plugin-dir", &s(&dir)],
        vec!["details", "named@inline", "--plugin-dir", &s(&dir)],
    ] {
        let out = ctx.ok(&args);
        assert!(
            out.stdout
                .starts_with("named\n  Description: d\n  Source: named@inline\n"),
            "{args:?}: {out}"
        );
        out.stdout_has(&["Skills (1)  hello"]);
    }
    // Another name is looked up among installed plugins as usual.
    let out = ctx.fails(&["details", "other", "--plugin-dir", &s(&dir)], 1);
    out.stderr_has(&["other"]);
}
