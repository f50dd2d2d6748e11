//! `cargo xtask scenarios [NAME…]`: run the shared lifecycle scenarios
//! (`../shared/spec/scenarios/lifecycle/NN-*.sh`) against pm and compare what they print with the
//! reference transcripts committed next to them (`reference-out/NN-*.out`).
//!
//! What is compared (see docs/interop.md):
//! - the state files the scripts `show` (`--- <path>.json` blocks: installed_plugins.json,
//!   known_marketplaces.json, settings files), as JSON values (key order is not compared: pm keeps
//!   a settings file's order, DEVIATIONS 1); a block that is not JSON is compared as text;
//! - the `--json` result lines, on the keys `command`, `outcome`, `failureCode`, `pluginId` and
//!   `scope` only.
//!
//! Human-readable lines are pm's own and are not compared. Both transcripts are normalized as
//! `run-all.sh` normalized the reference (HOME → `<HOME>`, timestamps → `<TS>`, 40-hex → `<SHA40>`,
//! …), plus 12-hex versions → `<SHA12>` and loopback ports → `<PORT>` on both sides. Items are
//! matched section by section (a section starts at a line the script echoes: `== …`, `-- …`,
//! `######## …`). Differences that DEVIATIONS.md documents, or that come from commands pm does
//! not implement yet, are listed in [`KNOWN`] and reported as such, not as failures.

use crate::interop::shared_tools_dir;
use crate::{build_pm, workspace_root};
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Scenarios that are not run against pm, and why.
const SKIPPED: &[(&str, &str)] = &[
    (
        "17",
        "wall-clock timings only, nothing to compare (see `cargo xtask bench`)",
    ),
    ("61", "starts a Claude session (reference-only)"),
    ("62", "starts a Claude session (reference-only)"),
];

/// Why a known difference exists.
#[derive(Clone, Copy)]
pub(crate) enum Why {
    /// A deliberate difference, by its item number in DEVIATIONS.md.
    Deviation(u8),
    /// A command pm does not implement yet, and the issue that adds it.
    NotImplemented(&'static str, u8),
    /// The difference comes from the test machine, not from pm.
    Environment,
    /// A file or marker that only one side writes and that the other never reads, explained in
    /// docs/interop.md under the given heading.
    Interop(&'static str),
}

/// A known difference: in `scenario`, in the sections whose header contains `section` ("" = any;
/// with `cascade`, also every later section, since the state then stays different), for the
/// differences whose description contains `detail` ("" = any).
pub(crate) struct Known {
    pub(crate) scenario: &'static str,
    pub(crate) section: &'static str,
    pub(crate) cascade: bool,
    pub(crate) detail: &'static str,
    pub(crate) why: Why,
    pub(crate) reason: &'static str,
}

/// The table of documented differences. Each entry says why; `cargo xtask scenarios --verbose`
/// prints every difference it covers. `scenario: "*"` applies to every scenario. The first
/// matching entry wins, so specific entries come before broad ones.
const KNOWN: &[Known] = &[
    // ---- commands pm does not implement yet: the reference's --json line has no pm counterpart
    Known {
        scenario: "*",
        section: "",
        cascade: false,
        detail: "reference command=\"prune\"",
        why: Why::NotImplemented("prune", 4),
        reason: "`prune` is not implemented",
    },
    Known {
        scenario: "*",
        section: "",
        cascade: false,
        detail: "reference command=\"details\"",
        why: Why::NotImplemented("details", 5),
        reason: "`details` is not implemented",
    },
    Known {
        scenario: "*",
        section: "",
        cascade: false,
        detail: "reference command=\"tag\"",
        why: Why::NotImplemented("tag", 5),
        reason: "`tag` is not implemented",
    },
    Known {
        scenario: "*",
        section: "",
        cascade: false,
        detail: "reference command=\"validate\"",
        why: Why::NotImplemented("validate", 5),
        reason: "`validate` is not implemented",
    },
    // ---- deliberate differences (DEVIATIONS.md)
    Known {
        scenario: "*",
        section: "",
        cascade: false,
        detail: "failureCode=\"invalid_scope\"",
        why: Why::Deviation(16),
        reason: "an unknown or managed --scope is a failure with a --json line (failureCode \
                 invalid_scope, rc 1) in pm; the reference prints only a human error (rc 1)",
    },
    Known {
        scenario: "06",
        section: "== enable unknown",
        cascade: false,
        detail: "failureCode=\"not_found\"",
        why: Why::Deviation(6),
        reason: "enable/disable of an id that is not installed, not listed by a known marketplace \
                 and in no settings file fails (not_found); the reference writes it",
    },
    Known {
        scenario: "06",
        section: "== disable --all",
        cascade: false,
        detail: "enabledPlugins.nope@mk1",
        why: Why::Deviation(6),
        reason: "`nope@mk1` was never written (not_found above), so `disable --all` has nothing \
                 to disable for it",
    },
    Known {
        scenario: "06",
        section: "== disable --all",
        cascade: false,
        detail: "@builtin",
        why: Why::Deviation(18),
        reason: "`disable --all` does not write Claude Code's internal `@builtin` plugins",
    },
    Known {
        scenario: "06",
        section: "",
        cascade: false,
        detail: "<HOME>/proj/.claude/settings.json .extraKnownMarketplaces",
        why: Why::Deviation(9),
        reason: "`install --scope project` also declared the marketplace in the project's settings",
    },
    Known {
        scenario: "15",
        section: "== install p1@mk1 -s project",
        cascade: true,
        detail: "",
        why: Why::Deviation(9),
        reason: "a marketplace declared in the project's settings but not added on this machine is \
                 added from its declared source on first use: both installs succeed and \
                 known_marketplaces.json lists mk1 and gmk (the reference fails with not_found)",
    },
    Known {
        scenario: "05",
        section: "",
        cascade: false,
        detail: "<HOME>/proj/.claude/settings.json .extraKnownMarketplaces",
        why: Why::Deviation(9),
        reason: "`install --scope project` also declares the marketplace in the project's settings",
    },
    Known {
        scenario: "05",
        section: "== uninstall p1 (default scope=user)",
        cascade: true,
        detail: "",
        why: Why::Deviation(7),
        reason: "uninstall without --scope finds the scope (p1 in three scopes: asks for --scope; \
                 p2 only at local: uninstalls it there); the state differs from then on",
    },
    // ---- the machine the reference transcripts were made on
    Known {
        scenario: "*",
        section: "",
        cascade: false,
        detail: "failureCode=\"directory_unavailable\"",
        why: Why::Environment,
        reason: "for a bare name found in no marketplace the reference also asks the Anthropic \
                 Directory, which it could not reach offline (directory_unavailable); pm has no \
                 directory lookup and reports not_found",
    },
];

/// How one difference was classified.
enum Class<'a> {
    Undocumented,
    Known(&'a Known),
}

/// One difference between the reference transcript and pm's (also the advanced scenarios').
pub(crate) struct Diff {
    /// The section's header.
    pub(crate) section: String,
    /// What differs.
    pub(crate) what: String,
}

/// A transcript, split into sections.
struct Transcript {
    sections: Vec<Section>,
}

struct Section {
    header: String,
    items: Vec<Item>,
}

enum Item {
    State { path: String, content: Content },
    Result(BTreeMap<String, Value>),
}

#[derive(PartialEq)]
enum Content {
    Json(Value),
    Text(String),
}

const RESULT_KEYS: [&str; 5] = ["command", "outcome", "failureCode", "pluginId", "scope"];

fn is_header(line: &str) -> bool {
    line.starts_with("==") || line.starts_with("########") || line.starts_with("-- ")
}

/// `--- <path>.json` lines start a state-file block.
fn state_path(line: &str) -> Option<&str> {
    let path = line.strip_prefix("--- ")?.trim();
    (path.ends_with(".json") && (path.starts_with('<') || path.starts_with('/'))).then_some(path)
}

/// `total 20` or `drwxr-xr-x 2 …`: a line of `ls -l` output.
pub(crate) fn looks_like_ls(line: &str) -> bool {
    let mode = line.split_whitespace().next().unwrap_or("").as_bytes();
    let total = line
        .strip_prefix("total ")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    total
        || (mode.len() >= 10
            && b"-dlbcps".contains(&mode[0])
            && mode[1..10].iter().all(|b| b"rwxsStT-".contains(b)))
}

fn parse_transcript(text: &str) -> Transcript {
    // Byte offset of each line's start.
    let mut starts = vec![0usize];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            starts.push(i + 1);
        }
    }
    let lines: Vec<&str> = text.lines().collect();
    let line_of = |offset: usize| starts.partition_point(|&s| s <= offset).saturating_sub(1);
    let mut sections = vec![Section {
        header: "(start)".into(),
        items: Vec::new(),
    }];
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_header(line) {
            sections.push(Section {
                header: line.trim_end().to_string(),
                items: Vec::new(),
            });
            i += 1;
            continue;
        }
        let section = sections.last_mut().map(|s| &mut s.items);
        let Some(items) = section else { break };
        if let Some(path) = state_path(line) {
            let path = path.to_string();
            let next = lines.get(i + 1).copied().unwrap_or("");
            let trimmed = next.trim_start();
            if trimmed.starts_with('{') || trimmed.starts_with('[') {
                let offset = starts[i + 1];
                let mut stream =
                    serde_json::Deserializer::from_str(&text[offset..]).into_iter::<Value>();
                if let Some(Ok(value)) = stream.next() {
                    let end = offset + stream.byte_offset();
                    items.push(Item::State {
                        path,
                        content: Content::Json(value),
                    });
                    i = line_of(end.saturating_sub(1)) + 1;
                    continue;
                }
            }
            // Not JSON (missing, empty, malformed): the lines up to a blank line, a marker, or
            // what the script prints next (`ls -la` output in 08).
            let mut body = Vec::new();
            let mut j = i + 1;
            while j < lines.len() {
                let l = lines[j];
                if l.trim().is_empty()
                    || is_header(l)
                    || l.starts_with("--- ")
                    || l.starts_with("[rc=")
                    || l.contains("{\"command\"")
                    || looks_like_ls(l)
                {
                    break;
                }
                body.push(l);
                j += 1;
            }
            items.push(Item::State {
                path,
                content: Content::Text(body.join("\n")),
            });
            i = j;
            continue;
        }
        if let Some(at) = line.find("{\"command\"") {
            let mut stream = serde_json::Deserializer::from_str(&line[at..]).into_iter::<Value>();
            if let Some(Ok(Value::Object(map))) = stream.next() {
                let subset = RESULT_KEYS
                    .iter()
                    .filter_map(|k| map.get(*k).map(|v| ((*k).to_string(), v.clone())))
                    .collect();
                items.push(Item::Result(subset));
            }
        }
        i += 1;
    }
    sections.retain(|s| s.header != "(start)" || !s.items.is_empty());
    Transcript { sections }
}

pub(crate) fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(120).collect::<String>())
    } else {
        text
    }
}

/// Where two JSON values differ, as `path: reference … ≠ pm …` lines (object key order ignored).
pub(crate) fn json_diffs(path: &str, reference: &Value, pm: &Value, out: &mut Vec<String>) {
    match (reference, pm) {
        (Value::Object(r), Value::Object(p)) => {
            let keys: Vec<&String> = r
                .keys()
                .chain(p.keys().filter(|k| !r.contains_key(*k)))
                .collect();
            for key in keys {
                let sub = format!("{path}.{key}");
                match (r.get(key), p.get(key)) {
                    (Some(a), Some(b)) => json_diffs(&sub, a, b, out),
                    (Some(a), None) => {
                        out.push(format!("{sub}: reference {} ≠ pm (absent)", short(a)))
                    }
                    (None, Some(b)) => {
                        out.push(format!("{sub}: reference (absent) ≠ pm {}", short(b)))
                    }
                    (None, None) => {}
                }
            }
        }
        (Value::Array(r), Value::Array(p)) => {
            for (k, (a, b)) in r.iter().zip(p.iter()).enumerate() {
                json_diffs(&format!("{path}[{k}]"), a, b, out);
            }
            if r.len() != p.len() {
                out.push(format!(
                    "{path}: reference has {} item(s) ≠ pm {} (extra: {})",
                    r.len(),
                    p.len(),
                    short(&Value::Array(if r.len() > p.len() {
                        r[p.len()..].to_vec()
                    } else {
                        p[r.len()..].to_vec()
                    }))
                ));
            }
        }
        (a, b) if a != b => out.push(format!("{path}: reference {} ≠ pm {}", short(a), short(b))),
        _ => {}
    }
}

fn show_result(map: &BTreeMap<String, Value>) -> String {
    let parts: Vec<String> = RESULT_KEYS
        .iter()
        .filter_map(|k| map.get(*k).map(|v| format!("{k}={}", short(v))))
        .collect();
    parts.join(" ")
}

/// Counts of what was compared.
#[derive(Default, Clone, Copy)]
struct Counts {
    state_files: usize,
    result_lines: usize,
}

/// Compares two transcripts section by section, pairing sections by header and occurrence (the
/// second `## x` with the second `## x`): `compare_section` for each reference section and pm's
/// (`empty` standing in for one pm's transcript lacks), and
/// a [`Diff`] for each section only one side has. Shared with the advanced scenarios.
pub(crate) fn compare_transcripts<S>(
    reference: &[S],
    pm: &[S],
    empty: &S,
    header: impl Fn(&S) -> &str,
    mut compare_section: impl FnMut(&S, &S, &mut Vec<Diff>),
) -> Vec<Diff> {
    let diff = |section: String, what: &str| Diff {
        section,
        what: what.to_owned(),
    };
    let keyed = |sections: &[S]| -> Vec<(String, usize)> {
        let mut seen: BTreeMap<String, usize> = BTreeMap::new();
        sections
            .iter()
            .map(|section| {
                let name = header(section).to_owned();
                let n = seen.entry(name.clone()).or_default();
                *n += 1;
                (name, *n)
            })
            .collect()
    };
    let pm_keys: BTreeMap<(String, usize), usize> = keyed(pm)
        .into_iter()
        .enumerate()
        .map(|(index, key)| (key, index))
        .collect();
    let reference_keys = keyed(reference);
    let mut diffs = Vec::new();
    for (key, section) in reference_keys.iter().zip(reference) {
        let theirs = match pm_keys.get(key) {
            Some(index) => &pm[*index],
            None => {
                diffs.push(diff(
                    header(section).to_owned(),
                    "section missing from pm's transcript (did the script stop early?)",
                ));
                empty
            }
        };
        compare_section(section, theirs, &mut diffs);
    }
    let reference_set: BTreeSet<&(String, usize)> = reference_keys.iter().collect();
    for key in pm_keys.keys() {
        if !reference_set.contains(key) {
            diffs.push(diff(
                key.0.clone(),
                "section not in the reference transcript",
            ));
        }
    }
    diffs
}

fn compare(reference: &Transcript, pm: &Transcript) -> (Vec<Diff>, Counts) {
    let mut counts = Counts::default();
    let empty = Section {
        header: String::new(),
        items: Vec::new(),
    };
    let diffs = compare_transcripts(
        &reference.sections,
        &pm.sections,
        &empty,
        |s| &s.header,
        |r, p, diffs| compare_section(r, p, diffs, &mut counts),
    );
    (diffs, counts)
}

fn section_states(s: &Section) -> Vec<((String, usize), &Content)> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    s.items
        .iter()
        .filter_map(|item| match item {
            Item::State { path, content } => {
                let n = seen.entry(path.as_str()).or_default();
                *n += 1;
                Some(((path.clone(), *n), content))
            }
            Item::Result(_) => None,
        })
        .collect()
}

fn section_results(s: &Section) -> Vec<&BTreeMap<String, Value>> {
    s.items
        .iter()
        .filter_map(|item| match item {
            Item::Result(map) => Some(map),
            Item::State { .. } => None,
        })
        .collect()
}

fn compare_section(r: &Section, p: &Section, diffs: &mut Vec<Diff>, counts: &mut Counts) {
    let mut push = |what: String| {
        diffs.push(Diff {
            section: r.header.clone(),
            what,
        })
    };
    let pm_states: BTreeMap<(String, usize), &Content> = section_states(p).into_iter().collect();
    let ref_states = section_states(r);
    for (key, content) in &ref_states {
        counts.state_files += 1;
        let file = &key.0;
        match (content, pm_states.get(key)) {
            (_, None) => push(format!(
                "{file}: shown by the reference, not in pm's transcript"
            )),
            (Content::Json(a), Some(Content::Json(b))) => {
                let mut lines = Vec::new();
                json_diffs("", a, b, &mut lines);
                for line in lines {
                    push(format!("{file} {line}"));
                }
            }
            (Content::Text(a), Some(Content::Text(b))) if a == b => {}
            (a, Some(b)) => {
                let text = |c: &Content| match c {
                    Content::Json(v) => short(v),
                    Content::Text(t) => format!("{:?}", t.chars().take(120).collect::<String>()),
                };
                push(format!("{file}: reference {} ≠ pm {}", text(a), text(b)));
            }
        }
    }
    let ref_keys: BTreeSet<&(String, usize)> = ref_states.iter().map(|(k, _)| k).collect();
    for key in pm_states.keys() {
        if !ref_keys.contains(key) {
            push(format!(
                "{}: shown in pm's transcript, not by the reference",
                key.0
            ));
        }
    }
    let (ra, pa) = (section_results(r), section_results(p));
    for k in 0..ra.len().max(pa.len()) {
        match (ra.get(k), pa.get(k)) {
            (Some(a), Some(b)) => {
                counts.result_lines += 1;
                if a != b {
                    push(format!(
                        "--json line {}: reference {} ≠ pm {}",
                        k + 1,
                        show_result(a),
                        show_result(b)
                    ));
                }
            }
            (Some(a), None) => {
                counts.result_lines += 1;
                push(format!(
                    "--json line {}: reference {} ≠ pm (no line)",
                    k + 1,
                    show_result(a)
                ));
            }
            (None, Some(b)) => push(format!(
                "--json line {}: reference (no line) ≠ pm {}",
                k + 1,
                show_result(b)
            )),
            (None, None) => {}
        }
    }
}

/// Classifies each difference of scenario `number` with [`KNOWN`].
fn classify<'a>(
    number: &str,
    transcript: &Transcript,
    diffs: &'a [Diff],
) -> Vec<(&'a Diff, Class<'static>)> {
    let order: BTreeMap<&str, usize> = transcript
        .sections
        .iter()
        .enumerate()
        .rev()
        .map(|(i, s)| (s.header.as_str(), i))
        .collect();
    let first_match = |pattern: &str| {
        transcript
            .sections
            .iter()
            .position(|s| s.header.contains(pattern))
    };
    diffs
        .iter()
        .map(|diff| {
            let index = order.get(diff.section.as_str()).copied();
            let known = KNOWN.iter().find(|k| {
                if (k.scenario != "*" && k.scenario != number) || !diff.what.contains(k.detail) {
                    return false;
                }
                if k.section.is_empty() || diff.section.contains(k.section) {
                    return true;
                }
                k.cascade
                    && match (first_match(k.section), index) {
                        (Some(first), Some(index)) => index >= first,
                        _ => false,
                    }
            });
            (diff, known.map_or(Class::Undocumented, Class::Known))
        })
        .collect()
}

pub(crate) fn why_text(why: Why) -> String {
    match why {
        Why::Deviation(n) => format!("deviation (documented, DEVIATIONS {n})"),
        Why::NotImplemented(command, issue) => {
            format!("not implemented yet: {command} (issue #{issue})")
        }
        Why::Environment => "environment".into(),
        Why::Interop(heading) => format!("not shared state (docs/interop.md, {heading})"),
    }
}

/// The shell expressions run-all.sh normalizes the reference transcripts with, plus two that
/// apply to both sides (12-hex versions, loopback ports).
const SED_NORMALIZE: &[&str] = &[
    r"s#/tmp/specA\.[A-Za-z0-9]{4}#<HOME>#g",
    r"s#/tmp/claude-[a-z-]+-[A-Za-z0-9]{6}#<TMP>#g",
    r"s#[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z#<TS>#g",
    r"s#temp_(git|github|local|subdir)_[0-9]+_[a-z0-9]+#temp_\1_<N>#g",
    r"s#\b[0-9a-f]{40}\b#<SHA40>#g",
    r"s#\b1[0-9]{12}\b#<EPOCHMS>#g",
];
const SED_BOTH: &[&str] = &[
    r"s#\b[0-9a-f]{12}\b#<SHA12>#g",
    r"s#(127\.0\.0\.1|localhost):[0-9]{2,5}#\1:<PORT>#g",
];

pub(crate) fn sed(text: &[u8], expressions: &[&str]) -> Result<String> {
    use std::io::Write;
    let mut command = Command::new("sed");
    command.arg("-E");
    for e in expressions {
        command.arg("-e").arg(e);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running sed")?;
    let mut stdin = child.stdin.take().context("sed stdin")?;
    let input = text.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().context("running sed")?;
    let _ = writer.join();
    if !output.status.success() {
        bail!("sed failed");
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The lifecycle scenarios' throwaway HOMEs: `/tmp/specA.XXXX` (the advanced ones use
/// `/tmp/specB.`).
const SPEC_HOME_PREFIX: &str = "/tmp/specA.";

/// The `<prefix>XXXX` directories (four alphanumerics: `mktemp -d /tmp/specA.XXXX`) named in
/// `text`.
pub(crate) fn spec_homes(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut homes = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find(prefix) {
        let tail = &rest[at + prefix.len()..];
        let id: String = tail.chars().take(4).collect();
        if id.len() == 4 && id.chars().all(|c| c.is_ascii_alphanumeric()) {
            homes.insert(format!("{prefix}{id}"));
        }
        rest = tail;
    }
    homes
}

/// The paths in `/tmp` that start with `prefix` (`/tmp/specA.`) now.
pub(crate) fn existing_spec_homes(prefix: &str) -> BTreeSet<String> {
    std::fs::read_dir("/tmp")
        .map(|entries| {
            entries
                .filter_map(|e| e.ok())
                .map(|e| e.path().to_string_lossy().into_owned())
                .filter(|p| p.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// Runs one scenario script with pm as `claude`; returns its combined stdout+stderr.
fn run_script(script: &Path, pm: &Path, keep: bool) -> Result<(Vec<u8>, Option<i32>)> {
    let tools = shared_tools_dir();
    let out_path = std::env::temp_dir().join(format!("pm-scenario-{}.raw", std::process::id()));
    let out = std::fs::File::create(&out_path)?;
    let before = existing_spec_homes(SPEC_HOME_PREFIX);
    let mut command = if Path::new("/usr/bin/timeout").exists() {
        let mut c = Command::new("/usr/bin/timeout");
        c.args(["--kill-after=10", "600", "bash"]);
        c
    } else {
        Command::new("bash")
    };
    // Like run-all.sh: `bash script > out 2>&1`.
    let status = command
        .arg(script)
        .env("CLAUDE_BIN", tools.join("pm-as-claude"))
        .env("PM_BIN", pm)
        .env("PM_NO_PROGRESS", "1")
        .env_remove("CLAUDE_CONFIG_DIR")
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    let raw = std::fs::read(&out_path)?;
    let _ = std::fs::remove_file(&out_path);
    if !keep {
        let text = String::from_utf8_lossy(&raw);
        for home in spec_homes(&text, SPEC_HOME_PREFIX) {
            if !before.contains(&home) && home.len() == "/tmp/specA.XXXX".len() {
                let _ = std::fs::remove_dir_all(&home);
            }
        }
    }
    Ok((raw, status.code()))
}

struct Outcome {
    stem: String,
    status: String,
    counts: Option<Counts>,
    notes: Vec<String>,
    undocumented: Vec<String>,
    documented: Vec<String>,
}

pub(crate) fn run(args: &[String]) -> Result<()> {
    if args.iter().any(|a| a == "--advanced") {
        let rest: Vec<String> = args
            .iter()
            .filter(|a| *a != "--advanced")
            .cloned()
            .collect();
        return crate::advanced::run(&rest);
    }
    let mut verbose = false;
    let mut keep = false;
    let mut names = Vec::new();
    for arg in args {
        match arg.as_str() {
            "-v" | "--verbose" => verbose = true,
            "--keep" => keep = true,
            "-h" | "--help" => {
                eprintln!(
                    "usage: cargo xtask scenarios [--verbose] [--keep] [NAME…]\n\
                     \n       cargo xtask scenarios --advanced [--record] [--verbose] [--keep] [NAME|@GROUP…]\
                     \n       (the advanced set; `--advanced --help` says more)\n\
                     \n  NAME       a scenario number or name part (01, 05-install, mkt-update); default: all\
                     \n  --verbose  also print the differences that are documented\
                     \n  --keep     keep each scenario's HOME (/tmp/specA.XXXX)\
                     \n  exit 1 when a difference is not documented in xtask/src/scenarios.rs"
                );
                std::process::exit(0);
            }
            other if other.starts_with('-') => bail!("unknown scenarios option {other:?}"),
            other => names.push(other.to_string()),
        }
    }
    let dir = shared_tools_dir()
        .join("..")
        .join("spec")
        .join("scenarios")
        .join("lifecycle");
    let dir = dir
        .canonicalize()
        .with_context(|| format!("no scenarios at {}", dir.display()))?;
    let mut scripts: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            name.ends_with(".sh")
                && name.len() > 3
                && name.as_bytes()[..2].iter().all(u8::is_ascii_digit)
        })
        .collect();
    scripts.sort();
    if !names.is_empty() {
        scripts.retain(|p| {
            let stem = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            names
                .iter()
                .any(|n| stem.starts_with(n.as_str()) || stem.contains(n.as_str()))
        });
        for name in &names {
            if !scripts
                .iter()
                .any(|p| p.to_string_lossy().contains(name.as_str()))
            {
                eprintln!("scenarios: no scenario matches {name:?}");
            }
        }
    }
    if scripts.is_empty() {
        bail!("no scenario to run");
    }
    eprintln!("scenarios: building pm (release)…");
    let pm = build_pm(true)?;
    let out_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("xtask-scenarios");
    std::fs::create_dir_all(&out_dir)?;

    let mut outcomes = Vec::new();
    for script in &scripts {
        let stem = script
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let number = stem[..2].to_string();
        outcomes.push(run_one(script, &stem, &number, &dir, &pm, &out_dir, keep)?);
    }

    // Summary.
    println!(
        "scenario                          result                   compared (state files / --json lines)"
    );
    println!(
        "--------------------------------  -----------------------  -------------------------------------"
    );
    for o in &outcomes {
        let compared = o
            .counts
            .map(|c| format!("{} / {}", c.state_files, c.result_lines))
            .unwrap_or_default();
        println!("{:<32}  {:<23}  {compared}", o.stem, o.status);
        for note in &o.notes {
            println!("    {note}");
        }
    }
    let mut failed = false;
    for o in &outcomes {
        if o.undocumented.is_empty() && (!verbose || o.documented.is_empty()) {
            continue;
        }
        println!("\n{}:", o.stem);
        if !o.undocumented.is_empty() {
            failed = true;
            let shown = if verbose { o.undocumented.len() } else { 12 };
            for line in o.undocumented.iter().take(shown) {
                println!("  DIFF {line}");
            }
            if o.undocumented.len() > shown {
                println!(
                    "  … {} more (--verbose shows all)",
                    o.undocumented.len() - shown
                );
            }
        }
        if verbose {
            for line in &o.documented {
                println!("  known {line}");
            }
        }
    }
    if outcomes.iter().any(|o| o.status.starts_with("ERROR")) {
        failed = true;
    }
    eprintln!(
        "scenarios: pm's normalized transcripts are in {}",
        out_dir.display()
    );
    println!();
    if failed {
        println!("scenarios: FAIL: undocumented differences remain");
        std::process::exit(1);
    }
    println!("scenarios: PASS: every difference is documented");
    Ok(())
}

fn run_one(
    script: &Path,
    stem: &str,
    number: &str,
    dir: &Path,
    pm: &Path,
    out_dir: &Path,
    keep: bool,
) -> Result<Outcome> {
    let mut outcome = Outcome {
        stem: stem.to_string(),
        status: String::new(),
        counts: None,
        notes: Vec::new(),
        undocumented: Vec::new(),
        documented: Vec::new(),
    };
    if let Some((_, reason)) = SKIPPED.iter().find(|(n, _)| *n == number) {
        outcome.status = "SKIP".into();
        outcome.notes.push((*reason).to_string());
        eprintln!("scenarios: {stem}: skipped ({reason})");
        return Ok(outcome);
    }
    let body = std::fs::read_to_string(script)?;
    if body.contains("/etc/claude-code") {
        outcome.status = "SKIP".into();
        outcome
            .notes
            .push("writes /etc/claude-code (reference-only)".into());
        return Ok(outcome);
    }
    let reference_path = dir.join("reference-out").join(format!("{stem}.out"));
    let Ok(reference_text) = std::fs::read(&reference_path) else {
        outcome.status = "SKIP".into();
        outcome.notes.push(format!(
            "no reference transcript {}",
            reference_path.display()
        ));
        return Ok(outcome);
    };
    eprintln!("scenarios: {stem}: running with pm…");
    let started = std::time::Instant::now();
    let (raw, code) = run_script(script, pm, keep)?;
    eprintln!(
        "scenarios: {stem}: done in {:.1} s (rc={})",
        started.elapsed().as_secs_f64(),
        code.unwrap_or(-1)
    );
    let mut expressions: Vec<&str> = SED_NORMALIZE.to_vec();
    expressions.extend_from_slice(SED_BOTH);
    let pm_text = sed(&raw, &expressions)?;
    std::fs::write(out_dir.join(format!("{stem}.out")), &pm_text)?;
    let reference_text = sed(&reference_text, SED_BOTH)?;
    if code == Some(124) || code == Some(137) {
        outcome.status = "ERROR".into();
        outcome.notes.push("timed out".into());
        return Ok(outcome);
    }
    let reference = parse_transcript(&reference_text);
    let pm_transcript = parse_transcript(&pm_text);
    let (diffs, counts) = compare(&reference, &pm_transcript);
    outcome.counts = Some(counts);
    let classified = classify(number, &reference, &diffs);
    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    for (diff, class) in &classified {
        let line = format!("[{}] {}", diff.section, diff.what);
        match class {
            Class::Undocumented => outcome.undocumented.push(line),
            Class::Known(k) => {
                *by_reason
                    .entry(format!("{}: {}", why_text(k.why), k.reason))
                    .or_default() += 1;
                outcome
                    .documented
                    .push(format!("{line}  ({})", why_text(k.why)));
            }
        }
    }
    let has = |f: &dyn Fn(Why) -> bool| {
        classified
            .iter()
            .any(|(_, c)| matches!(c, Class::Known(k) if f(k.why)))
    };
    outcome.status = if !outcome.undocumented.is_empty() {
        format!("DIFF ({})", outcome.undocumented.len())
    } else if has(&|w| matches!(w, Why::NotImplemented(..))) {
        "NOT IMPLEMENTED YET".into()
    } else if has(&|w| matches!(w, Why::Deviation(_))) {
        "DEVIATION (documented)".into()
    } else if classified.is_empty() {
        "PASS".into()
    } else {
        "PASS (environment)".into()
    };
    for (reason, n) in by_reason {
        outcome.notes.push(format!("{n} × {reason}"));
    }
    Ok(outcome)
}
