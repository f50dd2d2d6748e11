//! `pm validate` (reference-advanced.md §5): the reference's catalogue of findings (paths and
//! messages as the reference prints them, `code: null`), pm's additional findings (each with its
//! stable code), bad input (binary files, invalid UTF-8, huge files, unclosed frontmatter, tabs,
//! every historical file of the real-marketplace corpus), the whole corpus through the library,
//! and the command's output and exit codes.

use crate::support::{TestContext, write_file};
use pm_marketplace::validate::{self, Options, Profile, Report, Verdict};
use serde_json::Value;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn check(path: &Path) -> Report {
    validate::validate(path, &Options::default())
}

fn check_strict(path: &Path) -> Report {
    validate::validate(
        path,
        &Options {
            strict: true,
            profile: None,
        },
    )
}

/// Every finding of the report as `E|W <file name> <path>: <message> [<code>]`.
fn lines(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for file in report.files() {
        let name = Path::new(&file.file)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for (mark, list) in [("E", &file.errors), ("W", &file.warnings)] {
            for finding in list {
                let code = finding.code.map(|c| format!(" [{c}]")).unwrap_or_default();
                out.push(format!(
                    "{mark} {name} {}: {}{code}",
                    finding.path, finding.message
                ));
            }
        }
    }
    out
}

/// The manifest's findings as `E|W <path>: <message>`, reference findings only.
fn manifest_lines(report: &Report) -> Vec<String> {
    let Some(manifest) = &report.manifest else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (mark, list) in [("E", &manifest.errors), ("W", &manifest.warnings)] {
        for finding in list.iter().filter(|f| f.code.is_none()) {
            out.push(format!("{mark} {}: {}", finding.path, finding.message));
        }
    }
    out
}

#[track_caller]
fn assert_has(report: &Report, needle: &str) {
    let all = lines(report);
    assert!(
        all.iter().any(|line| line.contains(needle)),
        "no finding contains {needle:?}; findings:\n{}",
        all.join("\n")
    );
}

#[track_caller]
fn assert_lacks(report: &Report, needle: &str) {
    let all = lines(report);
    assert!(
        !all.iter().any(|line| line.contains(needle)),
        "a finding contains {needle:?}; findings:\n{}",
        all.join("\n")
    );
}

/// The codes of pm's findings in the report.
fn codes(report: &Report) -> Vec<&'static str> {
    report
        .files()
        .flat_map(|file| file.errors.iter().chain(file.warnings.iter()))
        .filter_map(|finding| finding.code)
        .collect()
}

const BASE: &str = r#""version":"1.0.0","description":"d","author":{"name":"a"}"#;

/// A plugin directory `root/<dir>` with plugin.json `manifest` (raw text), a README and a
/// LICENSE.
fn plugin_dir(root: &Path, dir: &str, manifest: &str) -> PathBuf {
    let path = root.join(dir);
    write_file(&path.join(".claude-plugin/plugin.json"), manifest);
    write_file(&path.join("README.md"), "x");
    write_file(&path.join("LICENSE"), "x");
    path
}

/// A marketplace `root/<dir>` with marketplace.json `manifest` (raw text) and plugins
/// `plugins/a` and `plugins/b` (version 1.0.0).
fn marketplace_dir(root: &Path, dir: &str, manifest: &str) -> PathBuf {
    let path = root.join(dir);
    write_file(&path.join(".claude-plugin/marketplace.json"), manifest);
    for name in ["a", "b"] {
        write_file(
            &path.join(format!("plugins/{name}/.claude-plugin/plugin.json")),
            &format!(r#"{{"name":"{name}",{BASE}}}"#),
        );
    }
    path
}

const HEAD: &str = r#""name":"mk","owner":{"name":"o"},"metadata":{"description":"d"}"#;

/// The corpus directory (see tests/it/corpus.rs); `None`, with a note, when it is not there.
fn corpus(test: &str) -> Option<PathBuf> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/real-marketplaces");
    match path.canonicalize() {
        Ok(path) if path.is_dir() => Some(path),
        _ => {
            #[allow(clippy::print_stderr)]
            {
                eprintln!(
                    "note: {test} skipped: the corpus `{}` is not there",
                    path.display()
                );
            }
            None
        }
    }
}

fn files_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read corpus dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            files_below(&path, out);
        } else {
            out.push(path);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// plugin.json: the reference's catalogue (scenario 41)
// ---------------------------------------------------------------------------------------------

#[test]
fn plugin_manifest_catalogue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let long_name = "a".repeat(100);
    let cases: Vec<(String, &str, Vec<&str>)> = vec![
        (format!(r#"{{"name":"ok",{BASE}}}"#), "valid", vec![]),
        (
            format!("{{{BASE}}}"),
            "missing name",
            vec!["E name: Invalid input: expected string, received undefined"],
        ),
        (
            format!(r#"{{"name":"",{BASE}}}"#),
            "empty name",
            vec!["E name: Plugin name cannot be empty"],
        ),
        (
            format!(r#"{{"name":"my plugin",{BASE}}}"#),
            "space",
            vec![
                r#"E name: Plugin name cannot contain spaces. Use kebab-case (e.g., "my-plugin")"#,
            ],
        ),
        (
            format!(r#"{{"name":"MyPlugin",{BASE}}}"#),
            "uppercase",
            vec![
                r#"W name: Plugin name "MyPlugin" is not kebab-case. Claude Code accepts it, but the Claude.ai marketplace sync requires kebab-case (lowercase letters, digits, and hyphens only, e.g., "my-plugin")."#,
            ],
        ),
        (
            format!(r#"{{"name":"-plug",{BASE}}}"#),
            "leading dash",
            vec![
                r#"W name: Plugin name "-plug" is not kebab-case. Claude Code cannot install it from a marketplace that lists it under this name, and the Claude.ai marketplace sync"#,
            ],
        ),
        (
            format!(r#"{{"name":"a@b",{BASE}}}"#),
            "at sign",
            vec![
                r#"W name: Plugin name "a@b" is not kebab-case. Claude Code refuses a plugin with this name when it is loaded by path (such as --plugin-dir)"#,
            ],
        ),
        (
            format!(r#"{{"name":"{long_name}",{BASE}}}"#),
            "100 chars",
            vec![],
        ),
        (
            format!(r#"{{"name":5,{BASE}}}"#),
            "name number",
            vec!["E name: Invalid input: expected string, received number"],
        ),
        (
            r#"{"name":"x","version":1,"description":"d","author":{"name":"a"}}"#.into(),
            "version number",
            vec!["E version: Invalid input: expected string, received number"],
        ),
        (
            r#"{"name":"x","version":"1.0.0-rc.1","description":"d","author":{"name":"a"}}"#.into(),
            "prerelease",
            vec![],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"bogus":1}}"#),
            "unknown field",
            vec!["W bogus: Unknown field 'bogus'. Claude Code ignores it at load time."],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"descripton":"d"}}"#),
            "typo",
            vec!["W descripton: Unknown field 'descripton' \u{2014} did you mean 'description'?"],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"tags":[]}}"#),
            "entry field",
            vec![
                "W tags: Field 'tags' belongs in the marketplace entry (marketplace.json), not plugin.json.",
            ],
        ),
        (
            r#"{"name":"x","version":"1.0.0","description":"d","author":"someone"}"#.into(),
            "author string",
            vec!["E author: Invalid input: expected object, received string"],
        ),
        (
            r#"{"name":"x","version":"1.0.0","description":"d","author":{"email":"a@b"}}"#.into(),
            "author without name",
            vec!["E author.name: Invalid input: expected string, received undefined"],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"keywords":"a"}}"#),
            "keywords",
            vec!["E keywords: Invalid input: expected array, received string"],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"homepage":"not a url"}}"#),
            "homepage",
            vec!["E homepage: Invalid URL"],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"repository":{{"type":"git"}}}}"#),
            "repository",
            vec!["E repository: Invalid input: expected string, received object"],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"commands":"commands"}}"#),
            "commands without ./",
            vec![
                "E commands: Invalid input",
                "E commands: Path not found: commands. The runtime loader will report this as a load failure.",
            ],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"commands":"./../outside"}}"#),
            "traversal",
            vec![
                r#"E commands: Path contains ".." which could be a path traversal attempt: ./../outside"#,
            ],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"commands":"/etc"}}"#),
            "absolute",
            vec!["E commands: Invalid input"],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"agents":"./agents"}}"#),
            "agents dir",
            vec![
                r#"E agents: Invalid string: must end with ".md""#,
                "E agents[0]: Path not found: ./agents. The runtime loader will report this as a load failure.",
            ],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"hooks":"./nope.json"}}"#),
            "hooks missing",
            vec![
                "E hooks[0]: Path not found: ./nope.json. The runtime loader will report this as a load failure.",
            ],
        ),
        (
            format!(
                r#"{{"name":"x",{BASE},"hooks":{{"NotAnEvent":[{{"hooks":[{{"type":"command","command":"x"}}]}}]}}}}"#
            ),
            "bad event",
            vec!["W hooks: hooks.NotAnEvent: unknown hook event; entry ignored at runtime"],
        ),
        (
            format!(
                r#"{{"name":"x",{BASE},"hooks":{{"PreToolUse":[{{"hooks":[{{"type":"weird","command":"x"}}]}}]}}}}"#
            ),
            "bad guard type",
            vec![
                r#"E hooks: hooks.PreToolUse.0.hooks.0: Unknown hook type "weird" — a PreToolUse/PermissionRequest hook that cannot be loaded"#,
                "E hooks: Invalid input",
            ],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"mcpServers":"./nope.json"}}"#),
            "mcp missing",
            vec![
                "E mcpServers: Path not found: ./nope.json. The plugin loader skips a missing MCP servers file without reporting it, so none of its servers will load.",
            ],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"mcpServers":{{"s":{{"nocommand":1}}}}}}"#),
            "mcp inline",
            vec!["E mcpServers: Invalid input"],
        ),
        (
            format!(r#"{{"name":"x",{BASE},"dependencies":["Bad Name"]}}"#),
            "dependency",
            vec!["E dependencies.0: Invalid input"],
        ),
        (
            format!(
                r#"{{"name":"x",{BASE},"dependencies":[{{"name":"y","version":"garbage"}},"x","y","y"]}}"#
            ),
            "dependencies accepted",
            vec![],
        ),
        (
            r#"{"name":"#.into(),
            "invalid json",
            vec!["E json: Invalid JSON syntax: EOF while parsing a value at line 1, column 8"],
        ),
        (
            "[1,2]".into(),
            "array",
            vec!["E root: manifest must be an object"],
        ),
        (
            r#"{"name":"x",}"#.into(),
            "trailing comma",
            vec!["E json: Invalid JSON syntax: trailing comma at line 1, column 13"],
        ),
        (
            r#"{"name":"claude-router","version":"1.0.0","description":"d","author":{"name":"a"}}"#
                .into(),
            "reserved",
            vec![
                r#"E name: Plugin name "claude-router" is reserved: it passes as one of Anthropic's own."#,
            ],
        ),
        (
            r#"{"name":"x"}"#.into(),
            "minimal",
            vec![
                r#"W version: No version specified. Consider adding a version following semver (e.g., "1.0.0")"#,
                "W description: No description provided. Adding a description helps users understand what your plugin does",
                "W author: No author information provided. Consider adding author details for plugin attribution",
            ],
        ),
    ];
    for (index, (manifest, label, expected)) in cases.iter().enumerate() {
        let path = plugin_dir(dir.path(), &format!("c{index}"), manifest);
        let report = check(&path);
        let got = manifest_lines(&report);
        assert_eq!(
            got.len(),
            expected.len(),
            "{label}: expected {expected:#?}\ngot {got:#?}"
        );
        for (got, want) in got.iter().zip(expected) {
            assert!(
                got.starts_with(want),
                "{label}: {got:?} does not start with {want:?}"
            );
        }
        let errors = !report
            .manifest
            .as_ref()
            .is_some_and(|m| m.errors.is_empty());
        assert_eq!(
            report.success, !errors,
            "{label}: success follows the errors"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// marketplace.json: the reference's catalogue (scenario 42)
// ---------------------------------------------------------------------------------------------

#[test]
fn marketplace_manifest_catalogue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let entry = r#"{"name":"a","source":"./plugins/a"}"#;
    let cases: Vec<(String, &str, Vec<&str>)> = vec![
        (format!(r#"{{{HEAD},"plugins":[{entry}]}}"#), "valid", vec![]),
        (r#"{"name":"mk","owner":{"name":"o"},"description":"d","plugins":[{"name":"a","source":"./plugins/a"}]}"#.into(), "top-level description", vec![]),
        (r#"{"owner":{"name":"o"},"plugins":[]}"#.into(), "missing name", vec!["E name: Invalid input: expected string, received undefined"]),
        (r#"{"name":"mk","plugins":[]}"#.into(), "missing owner", vec!["E owner: Invalid input: expected object, received undefined"]),
        (format!("{{{HEAD}}}"), "missing plugins", vec!["E plugins: Invalid input: expected array, received undefined"]),
        (format!(r#"{{{HEAD},"plugins":[]}}"#), "empty plugins", vec!["W plugins: Marketplace has no plugins defined"]),
        (r#"{"name":"my mk","owner":{"name":"o"},"plugins":[]}"#.into(), "name with space", vec![
            r#"E name: Marketplace name cannot contain spaces. Use kebab-case (e.g., "my-marketplace")"#,
            r#"E name: Claude Code cannot install plugins from marketplace "my mk". Each part of a plugin id"#,
            r#"W name: Marketplace name "my mk" is not accepted by Claude Desktop"#,
        ]),
        (r#"{"name":"claude-plugins-official","owner":{"name":"o"},"plugins":[]}"#.into(), "official name", vec![
            "W plugins: Marketplace has no plugins defined",
            "W description: No marketplace description provided. Adding a description helps users understand what this marketplace offers",
        ]),
        (r#"{"name":"claude-marketplaces","owner":{"name":"o"},"plugins":[]}"#.into(), "impersonation", vec!["E name: Marketplace name impersonates an official Anthropic/Claude marketplace"]),
        (format!(r#"{{{HEAD},"plugins":[{entry},{{"name":"a","source":"./plugins/b"}}]}}"#), "duplicates", vec![
            r#"E plugins[0].name: Duplicate plugin name "a" found in marketplace"#,
            r#"E plugins[1].name: Duplicate plugin name "a" found in marketplace"#,
        ]),
        (format!(r#"{{{HEAD},"plugins":[{{"name":"a","source":"plugins/a"}}]}}"#), "no ./", vec![r#"E plugins.0.source: Invalid string: must start with "./""#]),
        (format!(r#"{{{HEAD},"plugins":[{{"name":"a","source":"../outside"}}]}}"#), "../", vec![
            r#"E plugins[0].source: Path contains "..": ../outside. Plugin source paths are resolved relative to the marketplace root (the directory containing .claude-plugin/), not relative to marketplace.json. Use "./outside" instead of "../outside"."#,
            r#"E plugins.0.source: Invalid string: must start with "./""#,
        ]),
        (format!(r#"{{{HEAD},"plugins":[{{"name":"a","source":"./plugins/a","version":"2.0.0"}}]}}"#), "version mismatch", vec![
            r#"W plugins[0].version: Entry declares version "2.0.0" but plugins/a/.claude-plugin/plugin.json says "1.0.0". At install time, plugin.json wins"#,
        ]),
        (format!(r#"{{{HEAD},"plugins":[{{"name":"a","source":"./plugins/a","bogus":1}}]}}"#), "entry unknown field", vec!["W plugins[0].bogus: Unknown field 'bogus'. Claude Code ignores it at load time."]),
        (format!(r#"{{{HEAD},"bogus":1,"plugins":[{entry}]}}"#), "top unknown field", vec!["W bogus: Unknown field 'bogus'. Claude Code ignores it at load time."]),
        (format!(r#"{{{HEAD},"plugins":[{{"name":"a"}}]}}"#), "missing source", vec!["E plugins.0.source: Invalid input"]),
        (format!(r#"{{{HEAD},"plugins":[{{"name":"a","source":{{"source":"weird"}}}}]}}"#), "unknown source type", vec!["E plugins.0.source: Invalid input"]),
        (format!(r#"{{{HEAD},"plugins":[{{"name":"a","source":{{"source":"github","repo":"notarepo"}}}}]}}"#), "github not fetched", vec![]),
        (r#"{"name":"mk","owner":{"name":"o"},"metadata":{"description":"d","pluginRoot":"./plugins"},"plugins":[{"name":"a","source":"a"}]}"#.into(), "pluginRoot", vec![]),
        (format!(r#"{{{HEAD},"plugins":[{{"name":"a b","source":"./plugins/a"}}]}}"#), "entry name with space", vec![
            r#"E plugins.0.name: Plugin name cannot contain spaces. Use kebab-case (e.g., "my-plugin")"#,
            r#"E plugins[0].name: Claude Code cannot install plugin "a b"."#,
            r#"W plugins[0].name: Plugin name "a b" is not accepted by Claude Desktop"#,
        ]),
        (r#"{"name":"#.into(), "invalid json", vec!["E json: Invalid JSON syntax: EOF while parsing a value at line 1, column 8"]),
    ];
    for (index, (manifest, label, expected)) in cases.iter().enumerate() {
        let path = marketplace_dir(dir.path(), &format!("m{index}"), manifest);
        let report = check(&path);
        let got = manifest_lines(&report);
        assert_eq!(
            got.len(),
            expected.len(),
            "{label}: expected {expected:#?}\ngot {got:#?}"
        );
        for (got, want) in got.iter().zip(expected) {
            assert!(
                got.starts_with(want),
                "{label}: {got:?} does not start with {want:?}"
            );
        }
        assert!(
            report.provides.is_none() && report.directory.is_none(),
            "{label}"
        );
    }
}

#[test]
fn a_local_plugin_is_validated_with_its_marketplace() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = marketplace_dir(
        dir.path(),
        "m",
        &format!(r#"{{{HEAD},"plugins":[{{"name":"a","source":"./plugins/a"}}]}}"#),
    );
    write_file(&path.join("plugins/a/.claude-plugin/plugin.json"), "{bad");
    write_file(&path.join("plugins/a/hooks/hooks.json"), "{}");
    let report = check(&path);
    assert_has(
        &report,
        "E marketplace.json plugins[0] plugin.json \u{2192} json: Invalid JSON syntax: key must be a string at line 1, column 2",
    );
    assert_has(
        &report,
        "E hooks.json root: hooks.json must have `hooks` (the hook matchers) or `modules` (hooks modules), or both",
    );
    assert!(!report.success);
}

// ---------------------------------------------------------------------------------------------
// Component files (scenario 44 and the hooks/MCP catalogue)
// ---------------------------------------------------------------------------------------------

#[test]
fn frontmatter_catalogue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = plugin_dir(
        dir.path(),
        "fp",
        r#"{"name":"fp","version":"1.0.0","description":"d","author":{"name":"a"}}"#,
    );
    let files = [
        (
            "skills/longdesc/SKILL.md",
            format!(
                "---\nname: longdesc\ndescription: {}\n---\nb",
                "d".repeat(1100)
            ),
        ),
        (
            "skills/badyaml/SKILL.md",
            "---\nname: badyaml\ndescription: \"unterminated\n---\nb".into(),
        ),
        (
            "skills/colon/SKILL.md",
            "---\nname: colon\ndescription: has: colon inside\n---\nb".into(),
        ),
        (
            "skills/tabsep/SKILL.md",
            "---\nname: tabsep\ndescription:\td\n---\nb".into(),
        ),
        (
            "skills/descnum/SKILL.md",
            "---\nname: descnum\ndescription: 42\n---\nb".into(),
        ),
        (
            "skills/desclist/SKILL.md",
            "---\nname: desclist\ndescription: [a, b]\n---\nb".into(),
        ),
        (
            "skills/toolsbad/SKILL.md",
            "---\nname: toolsbad\ndescription: d\nallowed-tools: 5\n---\nb".into(),
        ),
        (
            "skills/unclosed/SKILL.md",
            "---\nname: unclosed\ndescription: d\nb".into(),
        ),
        (
            "skills/shell/SKILL.md",
            "---\ndescription: d\nshell: zsh\n---\nb".into(),
        ),
        (
            "agents/badmodel.md",
            "---\nname: badmodel\ndescription: d\nmodel: gpt-99\n---\nb".into(),
        ),
        ("agents/emptyfm.md", "---\n---\nb".into()),
        (
            "agents/tabindent.md",
            "---\ndescription: d\n\tname: x\n---\nb".into(),
        ),
        (
            "commands/badyaml.md",
            "---\ndescription: \"x\n---\nb".into(),
        ),
        ("commands/nofm.md", "just text".into()),
        ("commands/emptybody.md", "---\ndescription: d\n---\n".into()),
    ];
    for (file, text) in &files {
        write_file(&root.join(file), text);
    }
    let report = check(&root);
    let all = lines(&report);
    let expected = [
        "E SKILL.md frontmatter: YAML frontmatter failed to parse: while scanning a quoted scalar, found unexpected end of stream at line 3, column 14. At runtime this skill loads with empty metadata (all frontmatter fields silently dropped).",
        "E SKILL.md description: description must be a string, got array. At runtime this value is dropped.",
        "E SKILL.md allowed-tools: allowed-tools must be a string or array of strings, got number.",
        "W SKILL.md frontmatter: No frontmatter block found: the --- on line 1 has no closing --- line, so the whole file is read as the body and no description or other metadata is set. Add a line with exactly --- after the YAML. [frontmatter-unclosed]",
        "E SKILL.md shell: shell must be 'bash' or 'powershell', got 'zsh'.",
        "W emptyfm.md description: No description in frontmatter. A description helps users and Claude understand when to use this agent.",
        "E tabindent.md frontmatter: YAML frontmatter failed to parse:",
        "E badyaml.md frontmatter: YAML frontmatter failed to parse: while scanning a quoted scalar, found unexpected end of stream at line 2, column 14. At runtime this command loads with empty metadata",
        "W nofm.md frontmatter: No frontmatter block found. Add YAML frontmatter between --- delimiters at the top of the file to set description and other metadata.",
    ];
    for want in expected {
        assert!(
            all.iter().any(|line| line.starts_with(want)),
            "missing {want:?} in\n{}",
            all.join("\n")
        );
    }
    // No findings for what the reference accepts: long values, a colon inside a value (Claude
    // Code quotes it and parses again), a tab after the colon, numbers, a bad model.
    for quiet in [
        "longdesc",
        "colon",
        "tabsep",
        "descnum",
        "badmodel",
        "emptybody",
    ] {
        assert!(
            !report.contents.iter().any(|c| c.file.contains(quiet)),
            "{quiet} has findings:\n{}",
            all.join("\n")
        );
    }
    // yaml-rust2 locates a tab in indentation where the scalar before it ends: the file's
    // second line here (`description: d`, column 14).
    let tab = all
        .iter()
        .find(|l| l.starts_with("E tabindent.md"))
        .expect("tab finding");
    assert!(
        tab.contains("at line 2, column 14"),
        "a tab error names the file's line: {tab}"
    );
    assert!(
        !report.success && report.provides.is_none(),
        "errors in components fail validation"
    );
}

#[test]
fn provides_names_components_as_claude_code_does() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = plugin_dir(
        dir.path(),
        "pc",
        r#"{"name":"pc","version":"1.0.0","description":"d","author":{"name":"a"}}"#,
    );
    write_file(
        &root.join("skills/s-good/SKILL.md"),
        "---\nname: Foo\ndescription: d\n---\nb",
    );
    write_file(&root.join("commands/c.md"), "---\ndescription: d\n---\nb");
    write_file(
        &root.join("commands/sub/d.md"),
        "---\ndescription: d\n---\nb",
    );
    write_file(
        &root.join("agents/a1.md"),
        "---\nname: the-agent\ndescription: d\n---\nb",
    );
    write_file(&root.join("agents/a2.md"), "---\ndescription: d\n---\nb");
    write_file(
        &root.join("agents/deep/a3.md"),
        "---\nname: deep-one\ndescription: d\n---\nb",
    );
    write_file(
        &root.join("hooks/hooks.json"),
        r#"{"hooks":{"PostToolUse":[{"matcher":"Write","hooks":[{"type":"command","command":"echo hi"}]}]}}"#,
    );
    write_file(
        &root.join(".mcp.json"),
        r#"{"mcpServers":{"s":{"command":"node","args":["x"]},"h":{"type":"http","url":"https://x/"}}}"#,
    );
    write_file(
        &root.join(".lsp.json"),
        r#"{"go":{"command":"gopls","extensionToLanguage":{".go":"go"}}}"#,
    );
    let report = check(&root);
    assert!(report.success, "{:#?}", lines(&report));
    let json = report.to_json();
    let provides = &json["provides"];
    assert_eq!(provides["skills"], serde_json::json!(["pc:s-good"]));
    assert_eq!(
        provides["commands"],
        serde_json::json!(["pc:c", "pc:sub:d"])
    );
    assert_eq!(
        provides["agents"],
        serde_json::json!(["pc:a2", "pc:deep:deep-one", "pc:the-agent"])
    );
    assert_eq!(
        provides["hooks"],
        serde_json::json!([{"event":"PostToolUse","matcher":"Write","type":"command","command":"echo hi"}])
    );
    assert_eq!(
        provides["mcpServers"],
        serde_json::json!([{"name":"h","type":"http","target":"https://x/"},{"name":"s","type":"stdio","target":"node","args":["x"]}])
    );
    assert_eq!(
        provides["lspServers"],
        serde_json::json!([{"name":"go","command":"gopls"}])
    );
    // Components plugin.json names outside the standard directories are provided but, as in
    // the reference, not checked.
    write_file(
        &root.join(".claude-plugin/plugin.json"),
        r#"{"name":"pc","version":"1.0.0","description":"d","author":{"name":"a"},"commands":"./extra/"}"#,
    );
    write_file(&root.join("extra/plain.md"), "no frontmatter");
    let with_extra = check(&root);
    assert!(with_extra.contents.is_empty(), "{:#?}", lines(&with_extra));
    assert_eq!(
        with_extra.to_json()["provides"]["commands"],
        serde_json::json!(["pc:c", "pc:plain", "pc:sub:d"])
    );
    for key in [
        "success",
        "strict",
        "target",
        "manifest",
        "contents",
        "provides",
        "hosts",
        "advice",
        "directory",
    ] {
        assert!(json.get(key).is_some(), "report lacks {key}");
    }
    for key in [
        "file",
        "type",
        "errors",
        "warnings",
        "notes",
        "gatingHooks",
        "wasm",
        "modules",
    ] {
        assert!(json["manifest"].get(key).is_some(), "manifest lacks {key}");
    }
}

#[test]
fn hooks_file_catalogue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: &[(&str, &str, &str)] = &[
        (
            "no hooks",
            r#"{"Stop":[]}"#,
            "E hooks.json root: hooks.json must have `hooks` (the hook matchers) or `modules` (hooks modules), or both",
        ),
        (
            "hooks array",
            r#"{"hooks":[]}"#,
            "E hooks.json hooks: Invalid input: expected record, received array",
        ),
        (
            "event not array",
            r#"{"hooks":{"Stop":{}}}"#,
            "W hooks.json hooks: hooks.Stop: must be an array of matchers; received an object; entry ignored at runtime",
        ),
        (
            "command missing",
            r#"{"hooks":{"Stop":[{"hooks":[{"type":"command"}]}]}}"#,
            "W hooks.json hooks: hooks.Stop.0.hooks.0: Invalid command hook (command: Invalid input: expected string, received undefined); entry ignored at runtime",
        ),
        (
            "unknown event",
            r#"{"hooks":{"Nope":[{"hooks":[{"type":"command","command":"x"}]}]}}"#,
            "W hooks.json hooks: hooks.Nope: unknown hook event; entry ignored at runtime",
        ),
        (
            "invalid json",
            "{bad",
            "E hooks.json json: Invalid JSON syntax: key must be a string at line 1, column 2. At runtime this breaks the entire plugin load.",
        ),
        (
            "guard at top level",
            r#"{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"x"}]}]}"#,
            "E hooks.json hooks: PreToolUse/PermissionRequest is declared at the top level, outside the \"hooks\" object",
        ),
        (
            "unquoted placeholder",
            r#"{"hooks":{"Stop":[{"hooks":[{"type":"command","command":"bash ${CLAUDE_PLUGIN_ROOT}/x.sh"}]}]}}"#,
            "W hooks.json hooks.Stop: Shell command uses ${CLAUDE_PLUGIN_ROOT} without quotes: bash ${CLAUDE_PLUGIN_ROOT}/x.sh.",
        ),
    ];
    for (index, (label, text, want)) in cases.iter().enumerate() {
        let root = plugin_dir(
            dir.path(),
            &format!("h{index}"),
            &format!(r#"{{"name":"h",{BASE}}}"#),
        );
        write_file(&root.join("hooks/hooks.json"), text);
        let report = check(&root);
        let all = lines(&report);
        assert!(
            all.iter().any(|l| l.starts_with(want)),
            "{label}: missing {want:?} in\n{}",
            all.join("\n")
        );
    }
}

#[test]
fn mcp_and_lsp_file_catalogue() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "url without type",
            ".mcp.json",
            r#"{"mcpServers":{"s":{"url":"https://x"}}}"#,
            "E .mcp.json mcpServers.s.type: server has a \"url\" but no \"type\".",
        ),
        (
            "http without url",
            ".mcp.json",
            r#"{"mcpServers":{"s":{"type":"http"}}}"#,
            "E .mcp.json mcpServers.s.url: Invalid input: expected string, received undefined. The plugin loader silently drops this server at load.",
        ),
        (
            "unknown type",
            ".mcp.json",
            r#"{"s":{"type":"zzz"}}"#,
            "E .mcp.json s.type: unknown server type \"zzz\"",
        ),
        (
            "not an object",
            ".mcp.json",
            r#"{"s":5}"#,
            "E .mcp.json s: server config must be an object (got number).",
        ),
        (
            "array",
            ".mcp.json",
            "[1]",
            "W .mcp.json root: is an array;",
        ),
        (
            "invalid json",
            ".mcp.json",
            "{bad",
            "E .mcp.json json: Invalid JSON syntax: key must be a string at line 1, column 2. The plugin loader logs this at debug level",
        ),
        (
            "bom",
            ".mcp.json",
            "\u{feff}{}",
            "E .mcp.json json: Invalid JSON syntax: the file starts with a UTF-8 byte-order mark",
        ),
        (
            "lsp invalid json",
            ".lsp.json",
            "{bad",
            "W .lsp.json json: Invalid JSON syntax: key must be a string at line 1, column 2. No LSP server of this plugin starts until it is fixed. [lsp-invalid]",
        ),
        (
            "lsp not object",
            ".lsp.json",
            "[]",
            "W .lsp.json root: must be an object mapping server names to server configs (got array). No LSP server loads from this file. [lsp-invalid]",
        ),
        (
            "lsp no languages",
            ".lsp.json",
            r#"{"go":{"command":"gopls"}}"#,
            "W .lsp.json go: has no \"extensionToLanguage\" map",
        ),
        (
            "lsp no command",
            ".lsp.json",
            r#"{"go":{"extensionToLanguage":{".go":"go"}}}"#,
            "W .lsp.json go: has no \"command\" string. Claude Code drops this LSP server. [lsp-server-invalid]",
        ),
    ];
    for (index, (label, file, text, want)) in cases.iter().enumerate() {
        let root = plugin_dir(
            dir.path(),
            &format!("s{index}"),
            &format!(r#"{{"name":"s",{BASE}}}"#),
        );
        write_file(&root.join(file), text);
        let report = check(&root);
        let all = lines(&report);
        assert!(
            all.iter().any(|l| l.starts_with(want)),
            "{label}: missing {want:?} in\n{}",
            all.join("\n")
        );
    }
    // A bare map of servers is accepted.
    let root = plugin_dir(dir.path(), "bare", &format!(r#"{{"name":"s",{BASE}}}"#));
    write_file(&root.join(".mcp.json"), r#"{"s":{"command":"node"}}"#);
    assert!(check(&root).contents.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Targets, directory checks, profiles
// ---------------------------------------------------------------------------------------------

#[test]
fn targets_that_are_not_manifests() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("nonexistent");
    let report = check(&missing);
    assert_eq!(
        manifest_lines(&report),
        [format!("E file: File not found: {}", missing.display())]
    );
    assert!(!report.success);

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let report = check(&empty);
    assert_eq!(
        manifest_lines(&report),
        [
            "E directory: No manifest found in directory. Expected .claude-plugin/marketplace.json or .claude-plugin/plugin.json"
        ]
    );

    let components = dir.path().join("nm");
    write_file(
        &components.join("skills/x/SKILL.md"),
        "---\nname: x\n---\nb",
    );
    let report = check(&components);
    assert!(
        report.manifest.is_none(),
        "components without a manifest: manifest is null"
    );
    assert!(report.success, "warnings only");
    assert_has(
        &report,
        "W SKILL.md description: No description in frontmatter.",
    );
    assert!(report.directory.is_some() && report.provides.is_none());

    // Another JSON file is read as a plugin manifest, or as a marketplace when it looks like one.
    let other = dir.path().join("other.json");
    write_file(&other, r#"{"name":"zz"}"#);
    assert_eq!(
        check(&other).manifest.map(|m| m.file_type),
        Some(validate::FileType::Plugin)
    );
    let catalogue = dir.path().join("catalogue.json");
    write_file(
        &catalogue,
        r#"{"name":"mk","owner":{"name":"o"},"plugins":[]}"#,
    );
    assert_eq!(
        check(&catalogue).manifest.map(|m| m.file_type),
        Some(validate::FileType::Marketplace)
    );
}

#[test]
fn directory_checks_and_the_directory_profile() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("min");
    write_file(
        &root.join(".claude-plugin/plugin.json"),
        r#"{"name":"min"}"#,
    );
    let report = check(&root);
    let directory = report
        .directory
        .as_ref()
        .expect("directory checks for a plugin");
    let found: Vec<&str> = directory.findings.iter().map(|f| f.code).collect();
    assert_eq!(found, ["README_MISSING", "LICENSE_MISSING", "ICON_MISSING"]);
    assert_eq!(
        report.verdict(),
        Verdict::PassedWithWarnings,
        "informational by default"
    );
    let profiled = validate::validate(
        &root,
        &Options {
            strict: false,
            profile: Some(Profile::Directory),
        },
    );
    assert_eq!(profiled.verdict(), Verdict::FailedProfile);
    assert!(!profiled.success);

    write_file(&root.join("README.md"), "Too short.");
    write_file(&root.join("LICENSE"), "MIT");
    write_file(&root.join(".claude-plugin/icon.png"), "png");
    let report = check(&root);
    let directory = report.directory.as_ref().expect("directory checks");
    assert_eq!(directory.findings.len(), 1, "{:#?}", directory.findings);
    assert_eq!(directory.findings[0].code, "README_TRIVIAL");
    assert!(
        directory.findings[0]
            .message
            .contains("README has 2 words; at least 40 are required")
    );
    write_file(&root.join("README.md"), &"word ".repeat(45));
    assert!(check(&root).directory.expect("checks").findings.is_empty());
}

#[test]
fn a_plugin_json_with_a_byte_order_mark_installs_and_the_directory_checks_flag_it() {
    let ctx = TestContext::new();
    let market = ctx.root.join("bom-market");
    write_file(
        &market.join(".claude-plugin/marketplace.json"),
        r#"{"name":"bm","owner":{"name":"T"},"plugins":[{"name":"p","source":"./plugins/p"}]}"#,
    );
    let plugin = market.join("plugins/p");
    write_file(
        &plugin.join(".claude-plugin/plugin.json"),
        "\u{feff}{\"name\":\"p\",\"version\":\"1.2.3\",\"description\":\"bom\"}",
    );
    // Claude Code's loader skips the mark: the plugin installs at its version.
    ctx.ok(&["marketplace", "add", &market.display().to_string()]);
    let out = ctx.ok(&["install", "p@bm", "--json"]);
    assert_eq!(out.json()["version"], "1.2.3", "{out}");

    // The catalogue refuses it (the reference's finding, without a title), first.
    let report = check(&plugin);
    assert_eq!(report.verdict(), Verdict::PassedWithWarnings);
    let directory = report.directory.as_ref().expect("directory checks");
    let first = &directory.findings[0];
    assert_eq!(
        (first.code, first.title, first.file.as_str(), first.field),
        (
            "MANIFEST_INVALID_JSON",
            None,
            ".claude-plugin/plugin.json",
            "json"
        )
    );
    let out = ctx.ok(&["validate", &plugin.display().to_string()]);
    out.stdout_has(&[
        ". The plugin directory is the catalog that plugins are submitted to; this is a subset of what it runs.\n\n✘ Found 3 problems the plugin directory refuses a submission for:\n\n",
        "  ❯ .claude-plugin/plugin.json json: MANIFEST_INVALID_JSON. Invalid JSON syntax: JSON Parse error: Unrecognized token (UTF-8 BOM at start of file)\n    Fix: Re-save the file as UTF-8 without a byte-order mark (BOM); the JSON itself may be fine.\n",
        "  ❯ README.md: README missing (README_MISSING). ",
        "⚠ Found 1 plugin directory warning:\n\n  ❯ .claude-plugin/plugin.json icon: No icon (ICON_MISSING). ",
        "These plugin directory checks do not change the result below. To fail on problems the directory refuses a submission for, run this command with --profile directory.\n\nThe directory also runs a safety scan and a policy review that this command does not.\n\n✔ Validation passed with warnings",
    ]);
    let json = ctx
        .ok(&["validate", &plugin.display().to_string(), "--json"])
        .json();
    assert_eq!(json["directory"]["findings"][0]["title"], Value::Null);

    // Nothing to report: the reference's line, and no "do not change the result" line.
    write_file(
        &plugin.join(".claude-plugin/plugin.json"),
        r#"{"name":"p","version":"1.2.3","description":"d","author":{"name":"a"},"license":"MIT"}"#,
    );
    write_file(&plugin.join("README.md"), &"word ".repeat(45));
    write_file(&plugin.join(".claude-plugin/icon.png"), "png");
    let out = ctx.ok(&["validate", &plugin.display().to_string()]);
    out.stdout_has(&["✔ These checks found nothing to report\n\nThe directory also runs"]);
    assert!(!out.stdout.contains("do not change the result"), "{out}");
}

#[test]
fn strict_makes_warnings_fail() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = plugin_dir(dir.path(), "min", r#"{"name":"min"}"#);
    assert!(check(&root).success);
    let strict = check_strict(&root);
    assert!(!strict.success && strict.strict);
    assert_eq!(strict.verdict(), Verdict::FailedStrict);
}

// ---------------------------------------------------------------------------------------------
// pm's additional findings
// ---------------------------------------------------------------------------------------------

#[test]
fn pm_additions_always_checked() {
    let dir = tempfile::tempdir().expect("temp dir");
    // version-not-semver: plugin.json and marketplace entries.
    let root = plugin_dir(
        dir.path(),
        "v",
        r#"{"name":"v","version":"v1.0","description":"d","author":{"name":"a"}}"#,
    );
    let report = check(&root);
    assert_has(
        &report,
        r#"W plugin.json version: Version "v1.0" in plugin.json is not semantic versioning"#,
    );
    assert!(report.success, "a warning, not an error");
    let market = marketplace_dir(
        dir.path(),
        "m",
        &format!(
            r#"{{{HEAD},"plugins":[{{"name":"other","source":"./plugins/a"}},{{"name":"b","source":"./plugins/b","version":"-2024"}},{{"name":"c","source":"./plugins/zzz"}}]}}"#
        ),
    );
    let report = check(&market);
    assert_has(
        &report,
        r#"W marketplace.json plugins[0].name: Entry name "other" differs from the name in plugins/a/.claude-plugin/plugin.json ("a")."#,
    );
    assert_has(
        &report,
        r#"W marketplace.json plugins[1].version: Version "-2024" in this marketplace entry is not semantic versioning"#,
    );
    assert_has(
        &report,
        r#"W marketplace.json plugins[2].source: Source "./plugins/zzz" does not exist in the marketplace"#,
    );
    let mut found = codes(&report);
    found.sort_unstable();
    assert_eq!(
        found,
        ["name-mismatch", "source-missing", "version-not-semver"]
    );

    // Dependencies the marketplace cannot satisfy.
    let deps = marketplace_dir(
        dir.path(),
        "d",
        &format!(
            r#"{{{HEAD},"allowCrossMarketplaceDependenciesOn":["friends"],"plugins":[{{"name":"a","source":"./plugins/a"}},{{"name":"b","source":"./plugins/b","dependencies":["a","ghost"]}}]}}"#
        ),
    );
    write_file(
        &deps.join("plugins/a/.claude-plugin/plugin.json"),
        &format!(
            r#"{{"name":"a",{BASE},"dependencies":["b","o@other","f@friends",{{"name":"x","marketplace":"mk"}}]}}"#
        ),
    );
    let report = check(&deps);
    assert_has(
        &report,
        r#"W marketplace.json plugins[1].dependencies.1: Dependency "ghost" is not a plugin of this marketplace ("mk")"#,
    );
    assert_has(
        &report,
        "W marketplace.json plugins[0] plugin.json \u{2192} dependencies.1: Dependency \"o@other\" is in another marketplace that \"mk\" does not name in allowCrossMarketplaceDependenciesOn",
    );
    assert_has(
        &report,
        r#"dependencies.3: Dependency "x" is not a plugin of this marketplace"#,
    );
    assert_lacks(&report, "\"f@friends\"");
    assert_lacks(&report, "Dependency \"b\"");
    assert!(report.success);
    // On its own, a plugin's cross-marketplace dependency is flagged only with --strict.
    let alone = deps.join("plugins/a");
    assert!(!codes(&check(&alone)).contains(&"dependency-not-allowed"));
    assert_has(
        &check_strict(&alone),
        r#"W plugin.json dependencies.1: Dependency "o@other" is in another marketplace: Claude Code installs it only when the marketplace that lists this plugin names "other" in allowCrossMarketplaceDependenciesOn"#,
    );
}

#[test]
fn strict_profile_adds_the_seed_rules() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = plugin_dir(
        dir.path(),
        "s",
        r#"{"name":"s","version":"1.0.0","description":"d","author":{"name":"a","email":"not-an-email"}}"#,
    );
    write_file(
        &root.join("agents/Reviewer.md"),
        "---\nname: Code_Reviewer\ndescription: d\nmodel: gpt-9\nallowed-tools: Read\n---\nb",
    );
    write_file(
        &root.join("skills/listy/SKILL.md"),
        "---\ndescription: d\nallowed-tools: [Read, Bash]\n---\nb",
    );
    write_file(&root.join("skills/empty/notes.txt"), "x");
    write_file(&root.join("skills/loose.md"), "x");
    write_file(
        &root.join("commands/Do_It.md"),
        "---  \ndescription:\td\n---\nb",
    );
    let report = check(&root);
    for code in [
        "not-kebab-case",
        "field-missing",
        "email-invalid",
        "frontmatter-style",
        "tools-format",
        "tools-field-name",
        "agent-model",
        "skill-layout",
    ] {
        assert!(
            !codes(&report).contains(&code),
            "{code} appears without --strict"
        );
    }
    let strict = check_strict(&root);
    let found = codes(&strict);
    for code in [
        "not-kebab-case",
        "field-missing",
        "email-invalid",
        "frontmatter-style",
        "tools-format",
        "tools-field-name",
        "agent-model",
        "skill-layout",
    ] {
        assert!(
            found.contains(&code),
            "--strict lacks {code}: {:#?}",
            lines(&strict)
        );
    }
    assert_has(
        &strict,
        "W Reviewer.md name: Agent name \"Code_Reviewer\" is not kebab-case",
    );
    assert_has(
        &strict,
        "W Do_It.md file: Command file name \"Do_It\" is not kebab-case",
    );
    assert_has(
        &strict,
        "W Do_It.md frontmatter: Line 1: the --- fence has trailing characters",
    );
    assert_has(&strict, "W Do_It.md frontmatter: Line 2: a tab in the YAML");
    assert_has(&strict, "W SKILL.md name: No name in frontmatter");
    assert_has(&strict, "W empty file: skills/empty/ has no SKILL.md");
    assert_has(&strict, "W loose.md file: skills/loose.md is not loaded");

    // Marketplace side: kebab names, entry fields, component existence, marketplace version.
    let market = marketplace_dir(
        dir.path(),
        "m",
        r#"{"name":"My_Market","owner":{"name":"o","email":"x"},"metadata":{"description":"d"},"plugins":[{"name":"a","source":"./plugins/a","components":{"commands":["ghost"],"skills":["none"]}}]}"#,
    );
    let report = check(&market);
    assert!(codes(&report).is_empty(), "{:#?}", lines(&report));
    let strict = check_strict(&market);
    assert_has(
        &strict,
        "W marketplace.json name: Marketplace name \"My_Market\" is not kebab-case",
    );
    assert_has(
        &strict,
        "W marketplace.json plugins[0].version: The entry has no `version`",
    );
    assert_has(
        &strict,
        "W marketplace.json plugins[0].components.commands: \"ghost\" is listed but the plugin has no such commands entry (commands/ghost.md).",
    );
    assert_has(
        &strict,
        "W marketplace.json plugins[0].components.skills: \"none\" is listed",
    );
    assert_has(
        &strict,
        "W marketplace.json version: The marketplace has no `version`",
    );
    assert_has(
        &strict,
        "W marketplace.json owner.email: \"x\" is not an email address",
    );
    assert!(!strict.success);
}

// ---------------------------------------------------------------------------------------------
// Bad input
// ---------------------------------------------------------------------------------------------

#[test]
fn binary_and_non_utf8_manifests_are_located_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = dir.path().join("binary/.claude-plugin/plugin.json");
    std::fs::create_dir_all(binary.parent().expect("parent")).expect("mkdir");
    std::fs::write(&binary, [0x00, 0x01, 0xff, 0xfe, b'{', 0x80, b'\n', 0x7f]).expect("write");
    let report = check(&binary);
    assert_has(&report, "E plugin.json file: ");
    assert_has(
        &report,
        "is not valid UTF-8: byte 0xff at line 1, column 3 (offset 2)",
    );
    assert_has(&report, "E plugin.json json: Invalid JSON syntax: ");
    assert!(!report.success);

    // A marketplace.json that is not UTF-8 (one real file is): an error, the rest still checked.
    let market = dir.path().join("latin1");
    std::fs::create_dir_all(market.join(".claude-plugin")).expect("mkdir");
    let bytes: &[u8] =
        b"{\"name\":\"mk\",\n\"owner\":{\"name\":\"o\"},\"description\":\"caf\xe9\",\n\"plugins\":[], \"bogus\": 1}";
    std::fs::write(market.join(".claude-plugin/marketplace.json"), bytes).expect("write");
    let offset = bytes.iter().position(|b| *b == 0xe9).expect("the bad byte");
    let line_start = bytes[..offset]
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |p| p + 1);
    let report = check(&market);
    assert_has(&report, "E marketplace.json file: ");
    assert_has(
        &report,
        &format!(
            "is not valid UTF-8: byte 0xe9 at line 2, column {} (offset {offset}). Claude Code reads it with U+FFFD replacement characters",
            offset - line_start + 1
        ),
    );
    assert_has(&report, "W marketplace.json bogus: Unknown field 'bogus'.");
    assert!(codes(&report).contains(&"not-utf8"));
}

#[test]
fn huge_files_are_capped_and_say_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = plugin_dir(dir.path(), "big", &format!(r#"{{"name":"big",{BASE}}}"#));
    // A SKILL.md past the 1 MiB component cap: a warning, not read.
    let big_skill = format!("---\ndescription: d\n---\n{}", "x".repeat((1 << 20) + 10));
    write_file(&root.join("skills/huge/SKILL.md"), &big_skill);
    let report = check(&root);
    assert_has(&report, "W SKILL.md file: ");
    assert_has(
        &report,
        "larger than validate's 1 MiB cap, so it was not read or checked. Claude Code has no such cap; shrink the file. [file-too-large]",
    );
    assert!(report.success, "a component that is too large is a warning");
    // A plugin.json past the 8 MiB manifest cap: an error.
    let manifest = format!(
        r#"{{"name":"big","description":"{}"}}"#,
        "d".repeat(8 << 20)
    );
    write_file(&root.join(".claude-plugin/plugin.json"), &manifest);
    let report = check(&root);
    assert_has(
        &report,
        "larger than validate's 8 MiB cap, so it was not read or checked. Claude Code has no such cap; shrink the file. [file-too-large]",
    );
    assert!(!report.success);
}

#[test]
fn links_are_not_followed_and_unusual_files_are_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let outside = dir.path().join("outside.md");
    write_file(&outside, "---\ndescription: [bad]\n---\n");
    let root = plugin_dir(
        dir.path(),
        "links",
        &format!(r#"{{"name":"links",{BASE}}}"#),
    );
    std::fs::create_dir_all(root.join("commands")).expect("mkdir");
    std::os::unix::fs::symlink(&outside, root.join("commands/linked.md")).expect("symlink");
    let report = check(&root);
    assert_has(&report, "W linked.md file: ");
    assert_has(
        &report,
        "is a symbolic link; validate does not follow links, so it was not checked. Validate what it points to separately. [symlink-not-followed]",
    );
    assert_lacks(&report, "description must be a string");

    // A FIFO where hooks.json should be: reported, never waited on.
    let fifo = root.join("hooks/hooks.json");
    std::fs::create_dir_all(root.join("hooks")).expect("mkdir");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(status.success());
    let report = check(&root);
    assert_has(
        &report,
        "is not a regular file (a FIFO, socket or device), so it was not read. Replace it with a regular file. [file-unreadable]",
    );
}

#[test]
fn pathological_nesting_gives_findings_not_a_crash() {
    let dir = tempfile::tempdir().expect("temp dir");
    let nested_json = format!(
        r#"{{"name":"n","x":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let root = plugin_dir(dir.path(), "n", &nested_json);
    let report = check(&root);
    assert_has(
        &report,
        "E plugin.json json: Invalid JSON syntax: recursion limit exceeded at line 1, column",
    );
    write_file(
        &root.join(".claude-plugin/plugin.json"),
        &format!(r#"{{"name":"n",{BASE}}}"#),
    );
    let nested_yaml = format!(
        "---\ndescription: d\nx: {}{}\n---\nb",
        "[".repeat(300_000),
        "]".repeat(300_000)
    );
    write_file(&root.join("skills/deep/SKILL.md"), &nested_yaml);
    let aliases = "---\ndescription: d\nx: &a [*a, *a, *a]\n---\nb";
    write_file(&root.join("skills/alias/SKILL.md"), aliases);
    let report = check(&root);
    assert!(report.success, "{:#?}", lines(&report));
}

#[test]
fn deep_component_trees_stop_at_the_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = plugin_dir(dir.path(), "deep", &format!(r#"{{"name":"deep",{BASE}}}"#));
    let mut deep = root.join("commands");
    for level in 0..12 {
        deep = deep.join(format!("d{level}"));
    }
    write_file(&deep.join("x.md"), "---\ndescription: [bad]\n---\n");
    let report = check(&root);
    assert_has(&report, "levels deep; it was not checked. [scan-limit]");
    assert_lacks(&report, "description must be a string");
}

#[test]
fn every_historical_file_gives_located_findings_and_never_panics() {
    let Some(corpus) = corpus("every_historical_file_gives_located_findings_and_never_panics")
    else {
        return;
    };
    let mut invalid = Vec::new();
    files_below(&corpus.join("_invalid-historical"), &mut invalid);
    assert_eq!(
        invalid.len(),
        10,
        "the corpus has 10 files that fail strict JSON parsing"
    );
    for file in &invalid {
        let report = check(file);
        let all = lines(&report);
        assert!(!report.success, "{}: {all:#?}", file.display());
        let located = report.manifest.iter().flat_map(|m| &m.errors).any(|f| {
            (f.path == "json" || f.code == Some("not-utf8"))
                && f.message.contains(" at line ")
                && f.message.contains("column ")
        });
        assert!(located, "{}: no located error in {all:#?}", file.display());
    }
    let mut odd = Vec::new();
    files_below(&corpus.join("_odd-historical"), &mut odd);
    assert_eq!(odd.len(), 18);
    for file in &odd {
        for report in [check(file), check_strict(file)] {
            assert!(report.manifest.is_some(), "{}", file.display());
            let json = report.to_json();
            assert!(json["manifest"]["errors"].is_array());
        }
        let strict = check_strict(file);
        assert!(
            strict.error_count() + strict.warning_count() > 0,
            "{}: the strict profile finds something in every odd file",
            file.display()
        );
    }
}

#[test]
fn the_whole_corpus_validates_without_a_panic() {
    let Some(corpus) = corpus("the_whole_corpus_validates_without_a_panic") else {
        return;
    };
    let mut files = Vec::new();
    files_below(&corpus, &mut files);
    let mut marketplaces = 0;
    let mut plugins = 0;
    let mut seen_dirs = std::collections::BTreeSet::new();
    for file in &files {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let in_manifest_dir = file
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|n| n == ".claude-plugin");
        // Every file through the library: a report, never a panic.
        let report = check(file);
        assert!(report.manifest.is_some() || !report.contents.is_empty() || report.success);
        if in_manifest_dir && (name == "marketplace.json" || name == "plugin.json") {
            let dir = file
                .parent()
                .and_then(Path::parent)
                .expect("plugin or marketplace dir");
            if seen_dirs.insert(dir.to_path_buf()) {
                for report in [check(dir), check_strict(dir)] {
                    assert!(report.manifest.is_some(), "{}", dir.display());
                    assert!(report.to_json().is_object());
                }
                if name == "marketplace.json" {
                    marketplaces += 1;
                } else {
                    plugins += 1;
                }
            }
        }
    }
    assert!(
        marketplaces >= 58,
        "every marketplace directory was validated ({marketplaces})"
    );
    assert!(
        plugins > 500,
        "plugin directories were validated ({plugins})"
    );
}

// ---------------------------------------------------------------------------------------------
// The command
// ---------------------------------------------------------------------------------------------

#[test]
fn the_command_prints_the_report_and_exits_by_verdict() {
    let ctx = TestContext::new();
    let good = ctx.root.join("good");
    write_file(
        &good.join(".claude-plugin/plugin.json"),
        r#"{"name":"good","version":"1.0.0","description":"A good plugin","author":{"name":"a"},"license":"MIT"}"#,
    );
    write_file(&good.join("README.md"), &"word ".repeat(50));
    let good_text = good.display().to_string();
    let run = ctx.ok(&["validate", &good_text]);
    run.stdout_has(&[
        &format!("Validating plugin manifest: {good_text}/.claude-plugin/plugin.json"),
        "Plugin directory checks for",
        "ICON_MISSING",
        "✔ Validation passed\n",
    ]);
    assert!(run.stderr.is_empty(), "the report goes to stdout:\n{run}");

    let json = ctx.ok(&["validate", &good_text, "--json"]).json();
    assert_eq!(json["success"], Value::Bool(true));
    assert_eq!(json["manifest"]["type"], "plugin");
    assert_eq!(json["directory"]["profile"], Value::Null);

    let min = ctx.root.join("min");
    write_file(&min.join(".claude-plugin/plugin.json"), r#"{"name":"min"}"#);
    let min_text = min.display().to_string();
    ctx.ok(&["validate", &min_text]).stdout_has(&[
        "⚠ Found 3 warnings:",
        "  ❯ version: No version specified.",
        "✔ Validation passed with warnings",
    ]);
    ctx.fails(&["validate", &min_text, "--strict"], 1)
        .stdout_has(&["✘ Validation failed (--strict treats warnings as errors)"]);
    ctx.fails(&["validate", &min_text, "--profile", "directory"], 1)
        .stdout_has(&["✘ Validation failed (--profile directory: the plugin directory would refuse a submission of this plugin)"]);
    let json = ctx
        .fails(&["validate", &min_text, "--strict", "--json"], 1)
        .json();
    assert_eq!(
        (json["success"].clone(), json["strict"].clone()),
        (Value::Bool(false), Value::Bool(true))
    );

    let market = ctx.root.join("mkt");
    write_file(
        &market.join(".claude-plugin/marketplace.json"),
        r#"{"name":"m","owner":{"name":"x"},"plugins":[{"name":"p","source":"./plugins/gone"}]}"#,
    );
    ctx.ok(&["validate", &market.display().to_string()])
        .stdout_has(&[
            "Validating marketplace manifest:",
            "  ❯ plugins[0].source: Source \"./plugins/gone\" does not exist in the marketplace",
            "[source-missing]",
        ]);

    let missing = ctx.root.join("nonexistent").display().to_string();
    ctx.fails(&["validate", &missing], 1).stdout_has(&[
        "✘ Found 1 error:",
        &format!("  ❯ file: File not found: {missing}"),
        "✘ Validation failed\n",
    ]);
    ctx.fails(&["validate", &good_text, "--profile", "nope"], 2);
}
