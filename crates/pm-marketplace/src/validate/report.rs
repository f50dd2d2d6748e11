//! The value `pm validate` returns: the reference's JSON report shape
//! (reference-advanced.md §5), serialized as is by `pm validate --json`.
//!
//! ```json
//! {"success":true,"strict":false,"target":"<manifest file>",
//!  "manifest":{"file","type","errors":[{"path","message","code"}],"warnings":[…],"notes":[],
//!              "gatingHooks":[],"wasm":[],"modules":[]},
//!  "contents":[{"file","type":"skill"|"agent"|"command"|"hooks"|"mcp"|"lsp",…}],
//!  "provides":{…}|null, "hosts":{…}|null, "advice":[], "directory":{…}|null}
//! ```

use serde::Serialize;

/// One finding: where in the file (`path`, the reference's dotted or bracketed form), what and
/// how to fix it (`message`), and pm's stable `code` for findings the reference does not make
/// (`None` for the reference's own catalogue; see [`super::codes`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Where: a field path such as `plugins[0].source`, `name`, `frontmatter`, `json`, `file`.
    pub path: String,
    /// What is wrong and how to fix it.
    pub message: String,
    /// pm's code for a finding beyond the reference's catalogue; `null` for the reference's.
    pub code: Option<&'static str>,
}

impl Finding {
    /// A finding of the reference's catalogue (`code: null`).
    pub fn reference(path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            path: truncate(&path.into(), 200),
            message: truncate(&message.into(), 1000),
            code: None,
        }
    }

    /// One of pm's additional findings.
    pub fn pm(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            path: truncate(&path.into(), 200),
            message: truncate(&message.into(), 1000),
            code: Some(code),
        }
    }

    /// The same finding under `prefix` (`plugins[0] plugin.json → ` for a plugin validated as
    /// part of its marketplace).
    pub fn prefixed(mut self, prefix: &str) -> Self {
        self.path = format!("{prefix}{}", self.path);
        self
    }
}

/// Cuts `text` to `max` characters, ending with `…` when cut (the reference caps paths at 200
/// and messages at 1000 characters).
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// What kind of file a [`FileReport`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    /// `plugin.json` (also the type of a path that could not be read).
    Plugin,
    /// `marketplace.json`.
    Marketplace,
    /// `skills/<name>/SKILL.md`.
    Skill,
    /// `agents/**/*.md`.
    Agent,
    /// `commands/**/*.md`.
    Command,
    /// `hooks/hooks.json` or a hooks file named in plugin.json.
    Hooks,
    /// `.mcp.json` or an MCP servers file named in plugin.json.
    Mcp,
    /// `.lsp.json` or an LSP servers file named in plugin.json (pm only: the reference does
    /// not check them).
    Lsp,
}

impl FileType {
    /// The word used in messages: `skill`, `agent`, `command`, …
    pub fn word(self) -> &'static str {
        match self {
            FileType::Plugin => "plugin",
            FileType::Marketplace => "marketplace",
            FileType::Skill => "skill",
            FileType::Agent => "agent",
            FileType::Command => "command",
            FileType::Hooks => "hooks",
            FileType::Mcp => "mcp",
            FileType::Lsp => "lsp",
        }
    }
}

/// The findings for one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    /// Absolute path of the file (or of the path given, when it could not be read).
    pub file: String,
    /// What the file is.
    #[serde(rename = "type")]
    pub file_type: FileType,
    /// Errors: validation fails.
    pub errors: Vec<Finding>,
    /// Warnings: validation passes (fails with `--strict`).
    pub warnings: Vec<Finding>,
    /// The reference's informational notes; pm has none (always empty).
    pub notes: Vec<String>,
    /// The reference's hooks-module analysis; pm does not run modules (always empty).
    pub gating_hooks: Vec<serde_json::Value>,
    /// The reference's WebAssembly listing; pm has none (always empty).
    pub wasm: Vec<serde_json::Value>,
    /// The reference's hooks-module listing; pm has none (always empty).
    pub modules: Vec<serde_json::Value>,
}

impl FileReport {
    /// An empty report for `file`.
    pub fn new(file: impl Into<String>, file_type: FileType) -> Self {
        FileReport {
            file: file.into(),
            file_type,
            errors: Vec::new(),
            warnings: Vec::new(),
            notes: Vec::new(),
            gating_hooks: Vec::new(),
            wasm: Vec::new(),
            modules: Vec::new(),
        }
    }

    /// Whether there is anything to report.
    pub fn has_findings(&self) -> bool {
        !self.errors.is_empty() || !self.warnings.is_empty()
    }
}

/// A hook a plugin registers (`provides.hooks`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvidedHook {
    /// The event, e.g. `PreToolUse`.
    pub event: String,
    /// The matcher, when there is one.
    pub matcher: Option<String>,
    /// The hook type: `command`, `prompt`, `agent`, `http`, `mcp_tool`.
    #[serde(rename = "type")]
    pub hook_type: String,
    /// The shell command (command hooks), the prompt, or the URL.
    pub command: Option<String>,
}

/// An MCP server a plugin declares (`provides.mcpServers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvidedMcpServer {
    /// The server's key.
    pub name: String,
    /// `stdio`, `http`, `sse`, `ws`, …
    #[serde(rename = "type")]
    pub server_type: String,
    /// The command (stdio) or URL (remote).
    pub target: String,
    /// Arguments of a stdio server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args: Option<Vec<String>>,
}

/// An LSP server a plugin declares (`provides.lspServers`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvidedLspServer {
    /// The server's key.
    pub name: String,
    /// Its command.
    pub command: String,
}

/// What a valid plugin adds to Claude Code, names as Claude Code shows them
/// (`<plugin>:<skill>`, `<plugin>:<dir>:<command>`, `<plugin>:<agent name>`), sorted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provides {
    /// Hooks modules (none: pm does not load modules).
    pub modules: Vec<serde_json::Value>,
    /// Hooks from hooks.json and plugin.json.
    pub hooks: Vec<ProvidedHook>,
    /// MCP servers from .mcp.json and plugin.json.
    pub mcp_servers: Vec<ProvidedMcpServer>,
    /// LSP servers from .lsp.json and plugin.json.
    pub lsp_servers: Vec<ProvidedLspServer>,
    /// Monitors (not listed by pm).
    pub monitors: Vec<serde_json::Value>,
    /// Skills.
    pub skills: Vec<String>,
    /// Commands.
    pub commands: Vec<String>,
    /// Agents.
    pub agents: Vec<String>,
    /// Output styles (not listed by pm).
    pub output_styles: Vec<String>,
    /// Themes (not listed by pm).
    pub themes: Vec<String>,
    /// Workflows (not listed by pm).
    pub workflows: Vec<String>,
    /// Executables in `bin/` (not listed by pm).
    pub bin: Vec<String>,
}

/// One component whose network hosts were not determined (`hosts.unread`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnreadHost {
    /// `skills`, `commands`, `agents`, `hooks`, `mcpServers` or `lspServers`.
    pub kind: &'static str,
    /// The component's name as in [`Provides`].
    pub name: String,
    /// Why: always `not-analyzed` (pm does not analyze what hosts a component contacts).
    pub reason: &'static str,
}

/// The reference's network-host summary. pm does no host analysis: `named` is always empty
/// and every component is listed in `unread`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hosts {
    /// Hosts named by the plugin (none: not analyzed).
    pub named: Vec<String>,
    /// Components whose hosts were not read.
    pub unread: Vec<UnreadHost>,
    /// What plugin.json declares.
    pub declared: DeclaredHosts,
}

/// Hosts declared in plugin.json (`network.hosts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeclaredHosts {
    /// Whether plugin.json has a `network` object.
    pub plugin: bool,
    /// Servers declaring their own `network` (none listed by pm).
    pub servers: Vec<serde_json::Value>,
}

/// One plugin directory check (the catalogue's submission rules; reference §5 "Plugin directory
/// checks").
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryFinding {
    /// `MANIFEST_INVALID_JSON`, `README_MISSING`, `README_TRIVIAL`, `LICENSE_MISSING`,
    /// `ICON_MISSING`.
    pub code: &'static str,
    /// A short title; null for `MANIFEST_INVALID_JSON`, as in the reference.
    pub title: Option<&'static str>,
    /// `error` or `warning`.
    pub severity: &'static str,
    /// Whether the directory refuses a submission for it (errors).
    pub blocking: bool,
    /// Whether it holds a submission for review (never, for these checks).
    pub hold: bool,
    /// The file concerned, relative to the plugin directory.
    pub file: String,
    /// The plugin.json field concerned, or empty.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

/// The plugin directory checks (`directory` in the report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirectoryReport {
    /// `directory` with `--profile directory`, else null.
    pub profile: Option<&'static str>,
    /// The findings.
    pub findings: Vec<DirectoryFinding>,
    /// Checks that could not decide (none in pm).
    pub undecided: Vec<serde_json::Value>,
    /// Whether some checks did not run (never in pm).
    pub incomplete: bool,
    /// A failure of the checks themselves (never in pm).
    pub failure: Option<String>,
    /// Notes (none in pm).
    pub notes: Vec<String>,
}

impl DirectoryReport {
    /// Whether a finding would make the directory refuse a submission.
    pub fn has_blocking(&self) -> bool {
        self.findings.iter().any(|finding| finding.blocking)
    }
}

/// Advice that does not change the verdict (the reference's README install-line advice; pm
/// gives none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Advice {
    /// The file concerned.
    pub file: String,
    /// The advice.
    pub message: String,
    /// A line to add.
    pub install_line: Option<String>,
}

/// The result of `pm validate`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// No errors (and, with `--strict`, no warnings; with `--profile directory`, no blocking
    /// directory finding).
    pub success: bool,
    /// Whether `--strict` was given.
    pub strict: bool,
    /// The manifest validated (or the path given, when there is none).
    pub target: String,
    /// The manifest's findings; null for a directory of components without a manifest.
    pub manifest: Option<FileReport>,
    /// Component files with findings.
    pub contents: Vec<FileReport>,
    /// What the plugin provides; null for marketplaces and when there are errors.
    pub provides: Option<Provides>,
    /// Network hosts; null when `provides` is.
    pub hosts: Option<Hosts>,
    /// Advice (always empty in pm).
    pub advice: Vec<Advice>,
    /// Plugin directory checks; null for marketplaces and unreadable targets.
    pub directory: Option<DirectoryReport>,
}

/// How validation ended, as the verdict line says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No findings.
    Passed,
    /// Warnings only.
    PassedWithWarnings,
    /// Errors.
    Failed,
    /// Warnings only, and `--strict`.
    FailedStrict,
    /// No errors, but `--profile directory` and a blocking directory finding.
    FailedProfile,
}

impl Report {
    /// Every file report: the manifest first, then the contents.
    pub fn files(&self) -> impl Iterator<Item = &FileReport> {
        self.manifest.iter().chain(self.contents.iter())
    }

    /// The number of errors in all files.
    pub fn error_count(&self) -> usize {
        self.files().map(|file| file.errors.len()).sum()
    }

    /// The number of warnings in all files.
    pub fn warning_count(&self) -> usize {
        self.files().map(|file| file.warnings.len()).sum()
    }

    /// The verdict.
    pub fn verdict(&self) -> Verdict {
        if self.error_count() > 0 {
            Verdict::Failed
        } else if self.strict && self.warning_count() > 0 {
            Verdict::FailedStrict
        } else if self
            .directory
            .as_ref()
            .is_some_and(|d| d.profile.is_some() && d.has_blocking())
        {
            Verdict::FailedProfile
        } else if self.warning_count() > 0 {
            Verdict::PassedWithWarnings
        } else {
            Verdict::Passed
        }
    }

    /// The report as the JSON value `--json` prints.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
