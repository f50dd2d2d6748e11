//! A plugin's component files: skills (`skills/<name>/SKILL.md`), agents (`agents/**/*.md`),
//! commands (`commands/**/*.md`), hooks (`hooks/hooks.json`), MCP servers (`.mcp.json`) and LSP
//! servers (`.lsp.json`), plus the ones plugin.json names by path (reference-advanced.md §5,
//! "Component files").
//!
//! Directories are walked without following links, at most [`MAX_DEPTH`] levels deep and
//! [`MAX_ENTRIES`] entries per plugin; every file read is capped ([`read::COMPONENT_CAP`]).

use super::codes;
use super::hooks;
use super::load::{self, Stakes, kind};
use super::names::is_kebab_case;
use super::read;
use super::report::{
    FileReport, FileType, Finding, ProvidedLspServer, ProvidedMcpServer, Provides, UnreadHost,
};
use super::schema::{self, Schema};
use pm_core::frontmatter::{self, Block, Fields, ParseError, Value as Yaml};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Deepest directory level walked under `commands/` or `agents/`.
pub const MAX_DEPTH: usize = 8;

/// Most directory entries looked at per plugin.
pub const MAX_ENTRIES: usize = 20_000;

/// How much of a plugin to look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    /// Every component (validating a plugin directory).
    Full,
    /// Only hooks files (a plugin listed by a marketplace being validated, as the reference).
    HooksOnly,
}

/// What scanning a plugin's components found.
#[derive(Debug, Default)]
pub struct Scan {
    /// Files with findings.
    pub contents: Vec<FileReport>,
    /// What the plugin provides.
    pub provides: Provides,
    /// Components for `hosts.unread`.
    pub unread: Vec<UnreadHost>,
    /// While set, markdown findings are not kept: skills, agents and commands outside the
    /// standard directories are listed in `provides` but not checked (as the reference does).
    quiet: bool,
}

impl Scan {
    /// Keeps `report` when it has findings and the scan is not quiet.
    fn report(&mut self, report: FileReport) {
        if !self.quiet && report.has_findings() {
            self.contents.push(report);
        }
    }
}

/// The walk's budget of directory entries.
struct Budget {
    remaining: usize,
    exhausted: bool,
}

impl Budget {
    fn take(&mut self) -> bool {
        if self.remaining == 0 {
            self.exhausted = true;
            return false;
        }
        self.remaining -= 1;
        true
    }
}

/// One directory entry: its name and what it is (without following links).
struct Entry {
    name: String,
    path: PathBuf,
    is_dir: bool,
    is_file: bool,
    is_link: bool,
}

fn list(dir: &Path, budget: &mut Budget) -> Vec<Entry> {
    let Ok(reader) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut entries = Vec::new();
    for entry in reader.flatten() {
        if !budget.take() {
            break;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        entries.push(Entry {
            name: entry.file_name().to_string_lossy().into_owned(),
            path: entry.path(),
            is_dir: kind.is_dir(),
            is_file: kind.is_file(),
            is_link: kind.is_symlink(),
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    entries
}

/// Scans the plugin at `root`. `plugin_name` prefixes provided names; `manifest` is plugin.json
/// when it parsed as an object (its path fields and inline hooks/servers are used).
pub fn scan(
    root: &Path,
    plugin_name: &str,
    manifest: Option<&Map<String, Value>>,
    depth: Depth,
    strict: bool,
) -> Scan {
    let mut scan = Scan::default();
    let mut budget = Budget {
        remaining: MAX_ENTRIES,
        exhausted: false,
    };
    let declared = |key: &str| declared_paths(root, manifest, key);

    if depth == Depth::HooksOnly {
        hooks_files(root, &declared("hooks"), &mut scan);
        return scan;
    }
    if let Some(Value::Object(inline)) = manifest.and_then(|m| m.get("hooks")) {
        let mut normalized = Value::Object(inline.clone());
        hooks::normalize(&mut normalized);
        if let Value::Object(map) = normalized {
            scan.provides.hooks.extend(hooks::provided(&map));
        }
    }

    // Skills.
    let mut skill_dirs = vec![(root.join("skills"), false)];
    skill_dirs.extend(declared("skills").into_iter().map(|path| (path, true)));
    let mut seen = Vec::new();
    for (dir, is_declared) in skill_dirs {
        if seen.contains(&dir) {
            continue;
        }
        seen.push(dir.clone());
        let standard = root.join("skills");
        if is_declared && dir != standard && dir.parent() == Some(standard.as_path()) {
            continue; // one skill of the standard directory, already checked
        }
        scan.quiet = is_declared && dir != standard;
        skills_in(
            &dir,
            is_declared,
            plugin_name,
            strict,
            &mut scan,
            &mut budget,
        );
    }

    // Commands and agents.
    for (key, file_type) in [("agents", FileType::Agent), ("commands", FileType::Command)] {
        let mut places = vec![root.join(key)];
        places.extend(declared(key));
        dedup(&mut places);
        let standard = root.join(key);
        for place in places {
            if place != standard && place.starts_with(&standard) {
                continue; // already walked with the standard directory
            }
            scan.quiet = place != standard;
            if read::is_file(&place) {
                let stem = file_stem(&place);
                markdown_component(
                    &place,
                    file_type,
                    &[],
                    &stem,
                    plugin_name,
                    strict,
                    &mut scan,
                );
            } else if read::is_dir(&place) {
                markdown_tree(
                    &place,
                    file_type,
                    &mut Vec::new(),
                    plugin_name,
                    strict,
                    &mut scan,
                    &mut budget,
                );
            }
        }
    }

    scan.quiet = false;
    hooks_files(root, &declared("hooks"), &mut scan);

    // MCP servers.
    let mut mcp_files = vec![root.join(".mcp.json")];
    mcp_files.extend(declared("mcpServers"));
    dedup(&mut mcp_files);
    for file in mcp_files {
        let (report, servers) = check_mcp_file(&file);
        scan.provides.mcp_servers.extend(servers);
        push_if_findings(&mut scan.contents, report);
    }
    if let Some(Value::Object(inline)) = manifest.and_then(|m| m.get("mcpServers")) {
        scan.provides.mcp_servers.extend(mcp_servers_of(inline));
    }

    // LSP servers.
    let mut lsp_files = vec![root.join(".lsp.json")];
    lsp_files.extend(declared("lspServers"));
    dedup(&mut lsp_files);
    for file in lsp_files {
        let (report, servers) = check_lsp_file(&file);
        scan.provides.lsp_servers.extend(servers);
        push_if_findings(&mut scan.contents, report);
    }
    if let Some(Value::Object(inline)) = manifest.and_then(|m| m.get("lspServers")) {
        scan.provides.lsp_servers.extend(lsp_servers_of(inline).0);
    }

    if budget.exhausted {
        let mut report = FileReport::new(root.display().to_string(), FileType::Plugin);
        report.warnings.push(Finding::pm(
            codes::SCAN_LIMIT,
            "directory",
            format!(
                "Stopped after {MAX_ENTRIES} directory entries; the rest of {} was not checked.",
                root.display()
            ),
        ));
        scan.contents.push(report);
    }

    let provides = &mut scan.provides;
    provides.skills.sort();
    provides.commands.sort();
    provides.agents.sort();
    provides.mcp_servers.sort_by(|a, b| a.name.cmp(&b.name));
    provides.lsp_servers.sort_by(|a, b| a.name.cmp(&b.name));
    for (kind, names) in [
        ("skills", &provides.skills),
        ("commands", &provides.commands),
        ("agents", &provides.agents),
    ] {
        scan.unread.extend(names.iter().map(|name| UnreadHost {
            kind,
            name: name.clone(),
            reason: "not-analyzed",
        }));
    }
    for server in &provides.mcp_servers {
        scan.unread.push(UnreadHost {
            kind: "mcpServers",
            name: server.name.clone(),
            reason: "not-analyzed",
        });
    }
    scan
}

/// hooks/hooks.json and the hooks files plugin.json names.
fn hooks_files(root: &Path, declared: &[PathBuf], scan: &mut Scan) {
    let mut files = vec![root.join("hooks").join("hooks.json")];
    files.extend(declared.iter().cloned());
    dedup(&mut files);
    for file in files {
        let (report, normalized) = check_hooks_file(&file, root);
        if let Some(map) = normalized {
            scan.provides.hooks.extend(hooks::provided(&map));
        }
        push_if_findings(&mut scan.contents, report);
    }
}

fn dedup(paths: &mut Vec<PathBuf>) {
    let mut seen = Vec::new();
    paths.retain(|path| {
        if seen.contains(path) {
            false
        } else {
            seen.push(path.clone());
            true
        }
    });
}

fn push_if_findings(contents: &mut Vec<FileReport>, report: FileReport) {
    if report.has_findings() {
        contents.push(report);
    }
}

fn file_stem(path: &Path) -> String {
    path.file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The paths plugin.json names in `key` (a string, an array of strings, or for `commands` a
/// map of `{source}` objects) that stay inside `root` and do not go through a link.
fn declared_paths(root: &Path, manifest: Option<&Map<String, Value>>, key: &str) -> Vec<PathBuf> {
    let Some(value) = manifest.and_then(|m| m.get(key)) else {
        return Vec::new();
    };
    let mut texts = Vec::new();
    match value {
        Value::String(text) => texts.push(text.as_str()),
        Value::Array(items) => texts.extend(items.iter().filter_map(Value::as_str)),
        Value::Object(map) if key == "commands" => texts.extend(
            map.values()
                .filter_map(|item| item.get("source").and_then(Value::as_str)),
        ),
        _ => {}
    }
    texts
        .into_iter()
        .filter(|text| (text.starts_with("./") || *text == ".") && !has_parent_segment(text))
        .map(|text| root.join(text.trim_start_matches("./")))
        .map(|path| clean(&path))
        .filter(|path| path.starts_with(root) && read::first_link_below(root, path).is_none())
        .collect()
}

/// Whether a path text has a `..` segment (either separator).
pub fn has_parent_segment(text: &str) -> bool {
    text.split(['/', '\\']).any(|segment| segment == "..")
}

/// `path` without `.` segments and trailing separators.
fn clean(path: &Path) -> PathBuf {
    path.components()
        .filter(|component| !matches!(component, std::path::Component::CurDir))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Skills, agents, commands
// ---------------------------------------------------------------------------------------------

fn skills_in(
    dir: &Path,
    is_declared: bool,
    plugin_name: &str,
    strict: bool,
    scan: &mut Scan,
    budget: &mut Budget,
) {
    if !read::is_dir(dir) {
        return;
    }
    // A declared path may be one skill (a directory holding SKILL.md).
    if is_declared && read::exists(&dir.join("SKILL.md")) {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| plugin_name.to_owned());
        skill(&dir.join("SKILL.md"), &name, plugin_name, strict, scan);
        return;
    }
    for entry in list(dir, budget) {
        if entry.is_link {
            scan.report(link_report(&entry.path, FileType::Skill));
        } else if entry.is_dir {
            let file = entry.path.join("SKILL.md");
            if read::exists(&file) {
                skill(&file, &entry.name, plugin_name, strict, scan);
            } else if strict {
                let mut report = FileReport::new(entry.path.display().to_string(), FileType::Skill);
                report.warnings.push(Finding::pm(
                    codes::SKILL_LAYOUT,
                    "file",
                    format!(
                        "skills/{}/ has no SKILL.md, so no skill loads from it. Add SKILL.md (exactly this name) or remove the directory.",
                        entry.name
                    ),
                ));
                scan.report(report);
            }
        } else if entry.is_file && entry.name.ends_with(".md") && strict {
            let mut report = FileReport::new(entry.path.display().to_string(), FileType::Skill);
            report.warnings.push(Finding::pm(
                codes::SKILL_LAYOUT,
                "file",
                format!(
                    "skills/{} is not loaded: a skill is a directory holding SKILL.md. Move it to skills/{}/SKILL.md.",
                    entry.name,
                    file_stem(&entry.path)
                ),
            ));
            scan.report(report);
        }
    }
}

fn skill(file: &Path, dir_name: &str, plugin_name: &str, strict: bool, scan: &mut Scan) {
    let (report, _) = check_markdown(file, FileType::Skill, strict);
    scan.provides
        .skills
        .push(format!("{plugin_name}:{dir_name}"));
    scan.report(report);
}

fn markdown_tree(
    dir: &Path,
    file_type: FileType,
    prefix: &mut Vec<String>,
    plugin_name: &str,
    strict: bool,
    scan: &mut Scan,
    budget: &mut Budget,
) {
    for entry in list(dir, budget) {
        if entry.is_link {
            scan.report(link_report(&entry.path, file_type));
        } else if entry.is_dir {
            if prefix.len() + 1 >= MAX_DEPTH {
                let mut report = FileReport::new(entry.path.display().to_string(), file_type);
                report.warnings.push(Finding::pm(
                    codes::SCAN_LIMIT,
                    "directory",
                    format!(
                        "{} is more than {MAX_DEPTH} levels deep; it was not checked.",
                        entry.path.display()
                    ),
                ));
                scan.report(report);
                continue;
            }
            prefix.push(entry.name.clone());
            markdown_tree(
                &entry.path,
                file_type,
                prefix,
                plugin_name,
                strict,
                scan,
                budget,
            );
            prefix.pop();
        } else if entry.is_file && entry.name.ends_with(".md") {
            let stem = file_stem(&entry.path);
            markdown_component(
                &entry.path,
                file_type,
                prefix,
                &stem,
                plugin_name,
                strict,
                scan,
            );
        }
    }
}

fn markdown_component(
    file: &Path,
    file_type: FileType,
    prefix: &[String],
    stem: &str,
    plugin_name: &str,
    strict: bool,
    scan: &mut Scan,
) {
    let (mut report, fields) = check_markdown(file, file_type, strict);
    let frontmatter_name = fields
        .as_ref()
        .and_then(|fields| fields.get("name"))
        .and_then(Yaml::as_str)
        .map(str::to_owned);
    let name = match file_type {
        FileType::Agent => frontmatter_name.clone().unwrap_or_else(|| stem.to_owned()),
        _ => stem.to_owned(),
    };
    if strict && file_type == FileType::Command && !is_kebab_case(stem) {
        report.warnings.push(Finding::pm(
            codes::NOT_KEBAB_CASE,
            "file",
            format!(
                "Command file name \"{stem}\" is not kebab-case (lowercase letters, digits and single hyphens, e.g. \"analyze-code.md\"); the file name is the command's name."
            ),
        ));
    }
    if strict
        && file_type == FileType::Agent
        && let Some(agent_name) = &frontmatter_name
        && !is_kebab_case(agent_name)
    {
        report.warnings.push(Finding::pm(
            codes::NOT_KEBAB_CASE,
            "name",
            format!(
                "Agent name \"{agent_name}\" is not kebab-case (lowercase letters, digits and single hyphens, e.g. \"code-reviewer\")."
            ),
        ));
    }
    let mut full = vec![plugin_name.to_owned()];
    full.extend(prefix.iter().cloned());
    full.push(name);
    let full = full.join(":");
    match file_type {
        FileType::Agent => scan.provides.agents.push(full),
        _ => scan.provides.commands.push(full),
    }
    scan.report(report);
}

fn link_report(path: &Path, file_type: FileType) -> FileReport {
    let mut report = FileReport::new(path.display().to_string(), file_type);
    report.warnings.push(Finding::pm(
        codes::SYMLINK_NOT_FOLLOWED,
        "file",
        format!(
            "{} is a symbolic link; validate does not follow links, so it was not checked. Validate what it points to separately.",
            path.display()
        ),
    ));
    report
}

/// What the reference calls a YAML value's type in `got …` (JavaScript's `typeof`: arrays and
/// mappings are `object`).
fn typeof_name(value: &Yaml) -> &'static str {
    match value {
        Yaml::String(_) => "string",
        Yaml::Integer(_) | Yaml::Real(_) => "number",
        Yaml::Bool(_) => "boolean",
        Yaml::Null => "object",
        Yaml::List(_) | Yaml::Map(_) => "object",
    }
}

/// Characters after which Claude Code's loader quotes a frontmatter value and parses again.
fn needs_quoting(value: &str) -> bool {
    value.contains([
        '{', '}', '[', ']', '*', '&', '#', '!', '|', '>', '%', '@', '`',
    ]) || value.contains(": ")
}

/// Claude Code's second attempt at frontmatter that does not parse: `key: value` lines whose
/// value holds YAML syntax characters get the value double-quoted, and leading tabs become two
/// spaces each.
fn quoted_for_retry(yaml: &str) -> String {
    let mut lines = Vec::new();
    for line in yaml.split('\n') {
        let rewritten = retry_line(line).unwrap_or_else(|| line.to_owned());
        let tabs = rewritten.chars().take_while(|c| *c == '\t').count();
        lines.push(format!("{}{}", "  ".repeat(tabs), &rewritten[tabs..]));
    }
    lines.join("\n")
}

fn retry_line(line: &str) -> Option<String> {
    let (key, rest) = line.split_once(':')?;
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
    {
        return None;
    }
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let value = rest.trim_start();
    if value.is_empty() {
        return None;
    }
    // A tab after the colon: Claude Code's YAML reader takes it as the separator it is in
    // YAML 1.2; yaml-rust2 does not, so it becomes a space here.
    let separated_by_tab = rest.starts_with('\t');
    let quoted = (value.starts_with('"') && value.ends_with('"') && value.len() > 1)
        || (value.starts_with('\'') && value.ends_with('\'') && value.len() > 1);
    if quoted {
        return separated_by_tab.then(|| format!("{key}: {value}"));
    }
    if value.starts_with('[')
        && value.ends_with(']')
        && matches!(frontmatter::parse(&format!("x: {value}"), 1), Ok(fields) if matches!(fields.get("x"), Some(Yaml::List(_))))
    {
        return separated_by_tab.then(|| format!("{key}: {value}"));
    }
    if !needs_quoting(value) {
        return separated_by_tab.then(|| format!("{key}: {value}"));
    }
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    Some(format!("{key}: \"{escaped}\""))
}

/// Parses frontmatter YAML as Claude Code does: as written, else once more after
/// [`quoted_for_retry`]. The flag says whether the retry was needed.
fn parse_like_claude(yaml: &str, first_line: usize) -> Result<(Fields, bool), ParseError> {
    match frontmatter::parse(yaml, first_line) {
        Ok(fields) => Ok((fields, false)),
        Err(first) => match frontmatter::parse(&quoted_for_retry(yaml), first_line) {
            Ok(fields) => Ok((fields, true)),
            Err(_) => Err(first),
        },
    }
}

/// Checks one skill, agent or command file: the reference's frontmatter findings, and with
/// `strict` the seed's rules. Returns the findings and the frontmatter fields when they parsed.
pub fn check_markdown(
    file: &Path,
    file_type: FileType,
    strict: bool,
) -> (FileReport, Option<Fields>) {
    let mut report = FileReport::new(file.display().to_string(), file_type);
    let text = match load::load(file, read::COMPONENT_CAP, Stakes::Component, &mut report) {
        Ok(Some(text)) => text.text,
        Ok(None) | Err(()) => return (report, None),
    };
    let word = file_type.word();
    let split = frontmatter::split(&text);
    let (yaml, first_line) = match split.block {
        Block::Missing => {
            report.warnings.push(Finding::reference(
                "frontmatter",
                "No frontmatter block found. Add YAML frontmatter between --- delimiters at the top of the file to set description and other metadata.",
            ));
            return (report, None);
        }
        Block::Unclosed => {
            report.warnings.push(Finding::pm(
                codes::FRONTMATTER_UNCLOSED,
                "frontmatter",
                "No frontmatter block found: the --- on line 1 has no closing --- line, so the whole file is read as the body and no description or other metadata is set. Add a line with exactly --- after the YAML.",
            ));
            return (report, None);
        }
        Block::Present { yaml, first_line } => (yaml, first_line),
    };
    if strict {
        style_findings(&text, yaml, first_line, &mut report);
    }
    let fields = match parse_like_claude(yaml, first_line) {
        Ok((fields, retried)) => {
            if retried && strict {
                report.warnings.push(Finding::pm(
                    codes::FRONTMATTER_STYLE,
                    "frontmatter",
                    "The YAML parses only after Claude Code quotes values holding `: `, `#`, `[`, `{`, `@` or similar characters (or replaces leading tabs). Quote those values yourself so every YAML reader agrees.",
                ));
            }
            fields
        }
        Err(ParseError::Syntax {
            message,
            line,
            column,
        }) => {
            let consequence = if file_type == FileType::Agent {
                "At runtime this agent loads with its name taken from the filename and every other frontmatter field silently dropped.".to_owned()
            } else {
                format!(
                    "At runtime this {word} loads with empty metadata (all frontmatter fields silently dropped)."
                )
            };
            report.errors.push(Finding::reference(
                "frontmatter",
                format!(
                    "YAML frontmatter failed to parse: {} at line {line}, column {column}. {consequence}",
                    super::report::truncate(&message, 200)
                ),
            ));
            return (report, None);
        }
        Err(ParseError::NotAMapping { found }) => {
            let found = if found == "array" { "an array" } else { found };
            report.errors.push(Finding::reference(
                "frontmatter",
                format!("Frontmatter must be a YAML mapping (key: value pairs), got {found}."),
            ));
            return (report, None);
        }
    };
    match fields.get("description") {
        Some(value @ (Yaml::List(_) | Yaml::Map(_))) => {
            report.errors.push(Finding::reference(
                "description",
                format!(
                    "description must be a string, got {}. At runtime this value is dropped.",
                    if matches!(value, Yaml::List(_)) { "array" } else { "object" }
                ),
            ));
        }
        Some(_) => {}
        None => report.warnings.push(Finding::reference(
            "description",
            format!("No description in frontmatter. A description helps users and Claude understand when to use this {word}."),
        )),
    }
    if let Some(name) = fields.get("name")
        && !matches!(name, Yaml::Null | Yaml::String(_))
    {
        report.errors.push(Finding::reference(
            "name",
            format!("name must be a string, got {}.", typeof_name(name)),
        ));
    }
    match fields.get("allowed-tools") {
        None | Some(Yaml::Null | Yaml::String(_)) => {}
        Some(Yaml::List(items)) => {
            if items.iter().any(|item| !matches!(item, Yaml::String(_))) {
                report.errors.push(Finding::reference(
                    "allowed-tools",
                    "allowed-tools array must contain only strings.",
                ));
            }
        }
        Some(other) => report.errors.push(Finding::reference(
            "allowed-tools",
            format!(
                "allowed-tools must be a string or array of strings, got {}.",
                typeof_name(other)
            ),
        )),
    }
    if matches!(file_type, FileType::Skill | FileType::Command) {
        if let Some(metadata) = fields.get("metadata")
            && !matches!(metadata, Yaml::Null | Yaml::Map(_))
        {
            report.warnings.push(Finding::reference(
                "metadata",
                format!(
                    "'metadata' must be a mapping (key: value pairs); got {}. It is dropped at load time.",
                    if matches!(metadata, Yaml::List(_)) { "array" } else { typeof_name(metadata) }
                ),
            ));
        }
        match fields.get("shell") {
            None | Some(Yaml::Null) => {}
            Some(Yaml::String(shell)) => {
                let normalized = shell.trim().to_lowercase();
                if normalized != "bash" && normalized != "powershell" {
                    report.errors.push(Finding::reference(
                        "shell",
                        format!(
                            "shell must be 'bash' or 'powershell', got '{}'.",
                            super::report::truncate(shell, 64)
                        ),
                    ));
                }
            }
            Some(other) => report.errors.push(Finding::reference(
                "shell",
                format!("shell must be a string, got {}.", typeof_name(other)),
            )),
        }
    }
    if strict {
        seed_field_findings(&fields, file_type, &mut report);
    }
    (report, Some(fields))
}

/// The seed's frontmatter layout rules: fences exactly `---`, no tabs in the YAML.
fn style_findings(text: &str, yaml: &str, first_line: usize, report: &mut FileReport) {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let fence_lines: Vec<(usize, &str)> = body
        .split('\n')
        .enumerate()
        .filter(|(_, line)| line.trim_end() == "---")
        .take(2)
        .collect();
    for (index, line) in fence_lines {
        if line.trim_end_matches('\r') != "---" {
            report.warnings.push(Finding::pm(
                codes::FRONTMATTER_STYLE,
                "frontmatter",
                format!(
                    "Line {}: the --- fence has trailing characters; write exactly --- on its own line.",
                    index + 1
                ),
            ));
        }
    }
    if let Some(index) = yaml.split('\n').position(|line| line.contains('\t')) {
        report.warnings.push(Finding::pm(
            codes::FRONTMATTER_STYLE,
            "frontmatter",
            format!(
                "Line {}: a tab in the YAML; indent and separate with spaces only.",
                index + first_line
            ),
        ));
    }
}

/// The seed's field rules for skills, agents and commands.
fn seed_field_findings(fields: &Fields, file_type: FileType, report: &mut FileReport) {
    if matches!(file_type, FileType::Skill | FileType::Agent) && !fields.contains_key("name") {
        report.warnings.push(Finding::pm(
            codes::FIELD_MISSING,
            "name",
            format!(
                "No name in frontmatter; the {} needs one (the guide's field table requires it).",
                file_type.word()
            ),
        ));
    }
    let (right, wrong) = match file_type {
        FileType::Agent => ("tools", "allowed-tools"),
        _ => ("allowed-tools", "tools"),
    };
    if matches!(file_type, FileType::Skill | FileType::Agent)
        && fields.contains_key(wrong)
        && !fields.contains_key(right)
    {
        report.warnings.push(Finding::pm(
            codes::TOOLS_FIELD_NAME,
            wrong,
            format!(
                "'{wrong}' is not read in {}s (they use '{right}'), so it is ignored and every tool is allowed. Rename it to '{right}'.",
                file_type.word()
            ),
        ));
    }
    for key in ["tools", "allowed-tools"] {
        if let Some(Yaml::List(_)) = fields.get(key) {
            report.warnings.push(Finding::pm(
                codes::TOOLS_FORMAT,
                key,
                format!("'{key}' is a YAML list; write it as one comma-separated string (e.g. {key}: Read, Grep)."),
            ));
        }
    }
    if file_type == FileType::Agent
        && let Some(model) = fields.get("model")
        && !matches!(model, Yaml::String(m) if matches!(m.as_str(), "sonnet" | "opus" | "haiku" | "inherit"))
    {
        report.warnings.push(Finding::pm(
            codes::AGENT_MODEL,
            "model",
            "An agent's model should be one of sonnet, opus, haiku or inherit.",
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// hooks.json
// ---------------------------------------------------------------------------------------------

/// Checks a hooks file; returns the findings and the normalized hooks map when it loads.
pub fn check_hooks_file(file: &Path, root: &Path) -> (FileReport, Option<Map<String, Value>>) {
    let mut report = FileReport::new(file.display().to_string(), FileType::Hooks);
    if let Some(link) = file
        .parent()
        .and_then(|dir| read::first_link_below(root, dir))
    {
        report.warnings.push(Finding::pm(
            codes::SYMLINK_NOT_FOLLOWED,
            "file",
            format!(
                "{} is a symbolic link, so the hooks in it were not read; validate does not follow links. The plugin loader fails the whole plugin on bad hook config, so validate the real directory separately.",
                link.display()
            ),
        ));
        return (report, None);
    }
    let text = match load::load(file, read::COMPONENT_CAP, Stakes::Component, &mut report) {
        Ok(Some(text)) => text.text,
        Ok(None) | Err(()) => return (report, None),
    };
    let mut document = match load::parse_json(&text) {
        Ok(document) => document,
        Err(message) => {
            report.errors.push(Finding::reference(
                "json",
                format!("{message}. At runtime this breaks the entire plugin load."),
            ));
            return (report, None);
        }
    };
    if let Value::Object(map) = &document
        && (["PreToolUse", "PermissionRequest"].iter().any(|guard| {
            map.get(*guard)
                .and_then(Value::as_array)
                .is_some_and(|items| items.iter().any(hooks::looks_like_matcher))
        }) || hooks::looks_like_matcher(&document))
    {
        report.errors.push(Finding::reference(
            "hooks",
            format!(
                "PreToolUse/PermissionRequest is declared at the top level, outside the \"hooks\" object \u{2014} {}",
                hooks::GUARD_CONSEQUENCE
            ),
        ));
        return (report, None);
    }
    let mut normalized = hooks::Normalized::default();
    if let Some(inner) = document.get_mut("hooks") {
        normalized = hooks::normalize(inner);
    }
    for note in &normalized.notes {
        report
            .warnings
            .push(Finding::reference("hooks", format!("{note} at runtime")));
    }
    if !normalized.unloadable_guards.is_empty() {
        for guard in normalized.unloadable_guards {
            report.errors.push(Finding::reference(
                "hooks",
                format!("{guard} \u{2014} {}", hooks::GUARD_CONSEQUENCE),
            ));
        }
        return (report, None);
    }
    let shape = Schema::Object(vec![
        schema::optional("description", schema::string(&[])),
        schema::optional("hooks", hooks::record_schema()),
        schema::optional("modules", schema::array(schema::string(&[]))),
    ]);
    let issues = schema::check(&shape, Some(&document), &[]);
    if !issues.is_empty() {
        for issue in issues {
            report
                .errors
                .push(Finding::reference(issue.dotted_path(""), issue.message));
        }
        return (report, None);
    }
    let Value::Object(map) = &document else {
        return (report, None);
    };
    let has_modules = map
        .get("modules")
        .and_then(Value::as_array)
        .is_some_and(|modules| !modules.is_empty());
    if !map.contains_key("hooks") && !has_modules {
        report.errors.push(Finding::reference(
            "root",
            "hooks.json must have `hooks` (the hook matchers) or `modules` (hooks modules), or both",
        ));
        return (report, None);
    }
    if let Some(Value::Array(modules)) = map.get("modules")
        && modules.len() > 1
    {
        report.errors.push(Finding::reference(
            "modules",
            "hooks.json `modules` names one hooks module per plugin; a second entry is refused",
        ));
    }
    let hooks_map = map
        .get("hooks")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    for (path, message) in hooks::placeholder_warnings(&hooks_map) {
        report.warnings.push(Finding::reference(path, message));
    }
    (report, Some(hooks_map))
}

// ---------------------------------------------------------------------------------------------
// .mcp.json
// ---------------------------------------------------------------------------------------------

const DROPPED: &str = "The plugin loader silently drops this server at load.";

/// Checks an MCP servers file; returns the findings and the servers it declares (none when it
/// has errors, as the reference lists nothing then).
pub fn check_mcp_file(file: &Path) -> (FileReport, Vec<ProvidedMcpServer>) {
    let mut report = FileReport::new(file.display().to_string(), FileType::Mcp);
    let loaded = match load::load(file, read::COMPONENT_CAP, Stakes::Component, &mut report) {
        Ok(Some(text)) => text,
        Ok(None) | Err(()) => return (report, Vec::new()),
    };
    if loaded.bom {
        report.errors.push(Finding::reference(
            "json",
            "Invalid JSON syntax: the file starts with a UTF-8 byte-order mark (BOM), which this file (unlike plugin.json) must not have \u{2014} re-save it as UTF-8 without BOM. The plugin loader logs this at debug level and loads no servers from the file.",
        ));
        return (report, Vec::new());
    }
    let document = match load::parse_json(&loaded.text) {
        Ok(document) => document,
        Err(message) => {
            report.errors.push(Finding::reference(
                "json",
                format!("{message}. The plugin loader logs this at debug level and loads no servers from the file."),
            ));
            return (report, Vec::new());
        }
    };
    let wrapped = document
        .get("mcpServers")
        .is_some_and(|v| !matches!(v, Value::Null | Value::Bool(false)) && document.is_object());
    let (servers, base) = if wrapped {
        (
            document.get("mcpServers").unwrap_or(&Value::Null),
            "mcpServers",
        )
    } else {
        (&document, "root")
    };
    let entries: Vec<(String, &Value)> = match servers {
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v)).collect(),
        Value::Array(items) => {
            if !items.is_empty() {
                report.warnings.push(Finding::reference(
                    base,
                    "is an array; the plugin loader keys its servers by array index (\"0\", \"1\", ...), and review tooling has misread this shape as 'no servers'. Use an object keyed by server name.",
                ));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, v)| (i.to_string(), v))
                .collect()
        }
        other => {
            report.errors.push(Finding::reference(
                base,
                format!(
                    "must be an object mapping server names to server configs (got {}). No servers load from this file.",
                    kind(other)
                ),
            ));
            return (report, Vec::new());
        }
    };
    let mut provided = Vec::new();
    for (name, server) in entries {
        let shown = super::report::truncate(&name, 64);
        let path = if wrapped {
            format!("mcpServers.{shown}")
        } else {
            shown
        };
        let problems = mcp_server_problems(&path, server);
        if problems.is_empty() {
            provided.extend(mcp_server(&name, server));
        }
        report.errors.extend(problems);
    }
    if !report.errors.is_empty() {
        provided.clear();
    }
    (report, provided)
}

fn mcp_server_problems(path: &str, server: &Value) -> Vec<Finding> {
    let Value::Object(map) = server else {
        return vec![Finding::reference(
            path,
            format!(
                "server config must be an object (got {}). {DROPPED}",
                kind(server)
            ),
        )];
    };
    let server_type = map.get("type");
    if server_type.is_none() && !map.contains_key("command") && map.contains_key("url") {
        return vec![Finding::reference(
            format!("{path}.type"),
            "server has a \"url\" but no \"type\". Remote servers must set \"type\" to \"http\" (or \"sse\" / \"ws\"); without it the entry is parsed as a stdio server, fails for lacking \"command\", and is silently dropped at load.",
        )];
    }
    let type_name = match server_type {
        None => "stdio",
        Some(Value::String(text))
            if [
                "stdio",
                "http",
                "streamable-http",
                "sse",
                "ws",
                "sdk",
                "sse-ide",
                "ws-ide",
                "claudeai-proxy",
            ]
            .contains(&text.as_str()) =>
        {
            text.as_str()
        }
        Some(other) => {
            let shown = match other {
                Value::String(text) => format!("\"{}\"", super::report::truncate(text, 32)),
                other => kind(other).to_owned(),
            };
            return vec![Finding::reference(
                format!("{path}.type"),
                format!(
                    "unknown server type {shown} \u{2014} expected \"stdio\" (or no type) for a local command, or \"http\", \"sse\", \"ws\" for a remote server. {DROPPED}"
                ),
            )];
        }
    };
    match type_name {
        "sdk" | "sse-ide" | "ws-ide" => {
            return vec![Finding::reference(
                format!("{path}.type"),
                format!(
                    "type \"{type_name}\" servers are registered by the host application at runtime and cannot be declared by a plugin. The plugin loader drops this server at load."
                ),
            )];
        }
        "claudeai-proxy" => {
            return vec![Finding::reference(
                format!("{path}.type"),
                "type \"claudeai-proxy\" is used only by claude.ai connectors and cannot be declared by a plugin \u{2014} declare the server with type \"http\" instead. The plugin loader drops this server at load.",
            )];
        }
        _ => {}
    }
    let shape = if type_name == "stdio" {
        Schema::Object(vec![
            schema::required("command", schema::string(&[])),
            schema::optional("args", schema::array(schema::string(&[]))),
            schema::optional("env", schema::record(schema::string(&[]))),
        ])
    } else {
        Schema::Object(vec![
            schema::required("url", schema::string(&[])),
            schema::optional("headers", schema::record(schema::string(&[]))),
        ])
    };
    schema::check(&shape, Some(server), &[])
        .into_iter()
        .map(|issue| {
            Finding::reference(
                issue.dotted_path(path),
                format!("{}. {DROPPED}", issue.message),
            )
        })
        .collect()
}

fn mcp_server(name: &str, server: &Value) -> Option<ProvidedMcpServer> {
    let server_type = server
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("stdio")
        .to_owned();
    if server_type == "stdio" {
        Some(ProvidedMcpServer {
            name: name.to_owned(),
            server_type,
            target: server.get("command")?.as_str()?.to_owned(),
            args: Some(
                server
                    .get("args")
                    .and_then(Value::as_array)
                    .map(|args| {
                        args.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
        })
    } else {
        Some(ProvidedMcpServer {
            name: name.to_owned(),
            server_type,
            target: server.get("url")?.as_str()?.to_owned(),
            args: None,
        })
    }
}

/// Whether an inline MCP server config loads (plugin.json `mcpServers` objects).
pub fn mcp_server_loads(server: &Value) -> bool {
    mcp_server_problems("", server).is_empty()
}

/// Whether an inline LSP server config loads (plugin.json `lspServers` objects).
pub fn lsp_server_loads(server: &Value) -> bool {
    let mut map = Map::new();
    map.insert("server".to_owned(), server.clone());
    lsp_servers_of(&map).1.is_empty()
}

fn mcp_servers_of(map: &Map<String, Value>) -> Vec<ProvidedMcpServer> {
    map.iter()
        .filter(|(name, server)| mcp_server_problems(name, server).is_empty())
        .filter_map(|(name, server)| mcp_server(name, server))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// .lsp.json (pm only: the reference does not check these files)
// ---------------------------------------------------------------------------------------------

/// Checks an LSP servers file; returns the findings (pm's warnings) and the servers it
/// declares.
pub fn check_lsp_file(file: &Path) -> (FileReport, Vec<ProvidedLspServer>) {
    let mut report = FileReport::new(file.display().to_string(), FileType::Lsp);
    let text = match load::load(file, read::COMPONENT_CAP, Stakes::Component, &mut report) {
        Ok(Some(text)) => text.text,
        Ok(None) | Err(()) => return (report, Vec::new()),
    };
    let document = match load::parse_json(&text) {
        Ok(document) => document,
        Err(message) => {
            report.warnings.push(Finding::pm(
                codes::LSP_INVALID,
                "json",
                format!("{message}. No LSP server of this plugin starts until it is fixed."),
            ));
            return (report, Vec::new());
        }
    };
    let Value::Object(map) = &document else {
        report.warnings.push(Finding::pm(
            codes::LSP_INVALID,
            "root",
            format!(
                "must be an object mapping server names to server configs (got {}). No LSP server loads from this file.",
                kind(&document)
            ),
        ));
        return (report, Vec::new());
    };
    let (servers, findings) = lsp_servers_of(map);
    report.warnings.extend(findings);
    (report, servers)
}

fn lsp_servers_of(map: &Map<String, Value>) -> (Vec<ProvidedLspServer>, Vec<Finding>) {
    let mut servers = Vec::new();
    let mut findings = Vec::new();
    for (name, server) in map {
        let path = super::report::truncate(name, 64);
        let command = server.get("command").and_then(Value::as_str);
        let languages = server.get("extensionToLanguage").and_then(Value::as_object);
        let problem = if !server.is_object() {
            Some(format!(
                "server config must be an object (got {}).",
                kind(server)
            ))
        } else if command.is_none_or(str::is_empty) {
            Some("has no \"command\" string.".to_owned())
        } else if languages.is_none_or(Map::is_empty) {
            Some("has no \"extensionToLanguage\" map (file extensions such as \".go\" to language ids); it is needed to start the server.".to_owned())
        } else {
            None
        };
        match (problem, command) {
            (Some(problem), _) => findings.push(Finding::pm(
                codes::LSP_SERVER_INVALID,
                path,
                format!("{problem} Claude Code drops this LSP server."),
            )),
            (None, Some(command)) => servers.push(ProvidedLspServer {
                name: name.clone(),
                command: command.to_owned(),
            }),
            (None, None) => {}
        }
    }
    (servers, findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_colons_are_quoted_for_the_retry() {
        assert_eq!(
            quoted_for_retry("name: colon\ndescription: has: colon inside\n"),
            "name: colon\ndescription: \"has: colon inside\"\n"
        );
        assert_eq!(quoted_for_retry("\tname: x"), "  name: x");
        assert_eq!(quoted_for_retry("description:\td"), "description: d");
        assert_eq!(
            quoted_for_retry("tools: [Read, Bash]"),
            "tools: [Read, Bash]"
        );
        let (fields, retried) =
            parse_like_claude("name: colon\ndescription: has: colon inside\n", 2).expect("parses");
        assert!(retried);
        assert_eq!(
            fields.get("description").and_then(Yaml::as_str),
            Some("has: colon inside")
        );
    }

    #[test]
    fn parent_segments() {
        assert!(has_parent_segment("./../x"));
        assert!(has_parent_segment("a\\..\\b"));
        assert!(!has_parent_segment("./a..b"));
    }
}
