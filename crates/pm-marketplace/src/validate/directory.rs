//! The plugin directory checks (reference-advanced.md §5): what the plugin catalogue refuses a
//! submission for (`MANIFEST_INVALID_JSON` for a plugin.json with a byte-order mark,
//! `README_MISSING`, `README_TRIVIAL`, `LICENSE_MISSING`) and warns about (`ICON_MISSING`).
//! Informational unless `--profile directory`.

use super::read::{self, FileRead};
use super::report::{DirectoryFinding, DirectoryReport};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Fewest README words the catalogue accepts.
pub const README_MIN_WORDS: usize = 40;

/// How many parents are searched for the repository root (a `.git` entry).
const REPOSITORY_SEARCH_DEPTH: usize = 32;

fn finding(
    code: &'static str,
    title: Option<&'static str>,
    severity: &'static str,
    file: &str,
    field: &'static str,
    message: String,
    fix: &str,
) -> DirectoryFinding {
    DirectoryFinding {
        code,
        title,
        severity,
        blocking: severity == "error",
        hold: false,
        file: file.to_owned(),
        field,
        message,
        fix: fix.to_owned(),
    }
}

/// The repository root above `dir` (the nearest directory holding `.git`), not `dir` itself.
fn repository_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .skip(1)
        .take(REPOSITORY_SEARCH_DEPTH)
        .find(|ancestor| read::exists(&ancestor.join(".git")))
        .map(Path::to_path_buf)
}

/// A regular file in `dir` whose name, without extension and case, is one of `stems`.
fn find_file(dir: &Path, stems: &[&str]) -> Option<PathBuf> {
    let mut names: Vec<(String, PathBuf)> = std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            )
        })
        .collect();
    names.sort();
    names.into_iter().find_map(|(name, path)| {
        let lower = name.to_lowercase();
        let stem = lower.split('.').next().unwrap_or_default().to_owned();
        stems.contains(&stem.as_str()).then_some(path)
    })
}

/// Runs the checks for the plugin at `root`; `manifest` is its plugin.json when it parsed,
/// `manifest_bom` whether that file starts with a UTF-8 byte-order mark (Claude Code's loader
/// skips it; the catalogue refuses it, as the reference reports).
pub fn check(
    root: &Path,
    manifest: Option<&Map<String, Value>>,
    manifest_bom: bool,
    profile: Option<&'static str>,
) -> DirectoryReport {
    let mut findings = Vec::new();
    let repository = repository_root(root);
    if manifest_bom {
        findings.push(finding(
            "MANIFEST_INVALID_JSON",
            None,
            "error",
            ".claude-plugin/plugin.json",
            "json",
            "Invalid JSON syntax: JSON Parse error: Unrecognized token (UTF-8 BOM at start of file)"
                .to_owned(),
            "Re-save the file as UTF-8 without a byte-order mark (BOM); the JSON itself may be fine.",
        ));
    }

    let readme = find_file(root, &["readme"])
        .map(|path| (path, false))
        .or_else(|| {
            repository
                .as_deref()
                .and_then(|repo| find_file(repo, &["readme"]))
                .map(|path| (path, true))
        });
    match readme {
        None => findings.push(finding(
            "README_MISSING",
            Some("README missing"),
            "error",
            "README.md",
            "",
            "This plugin has no README.md. People who install it and the directory's automated review read the README to learn what it does; the first line of a README in the plugin folder also stands in as the listing summary when plugin.json has no description.".to_owned(),
            "Add a README.md to the plugin folder describing what the plugin does, how to use it, and any setup it needs, in at least 40 words. A README at the repository root also counts for a plugin in a sub-folder.",
        )),
        Some((path, from_repository)) => {
            let shown = if from_repository {
                path.display().to_string()
            } else {
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            };
            let which = if from_repository {
                "The repository-root README (this plugin folder has none of its own)"
            } else {
                "README"
            };
            match read::read_text(&path, read::COMPONENT_CAP) {
                FileRead::Text { text, .. } => {
                    let words = text.split_whitespace().count();
                    if words < README_MIN_WORDS {
                        findings.push(finding(
                            "README_TRIVIAL",
                            Some("README too short or couldn\u{2019}t be read"),
                            "error",
                            &shown,
                            "",
                            format!("{which} has {words} words; at least {README_MIN_WORDS} are required so the listing has a usable description."),
                            "Add a few sentences on what the plugin does, how to use it and any setup it needs: at least 40 words in all.",
                        ));
                    }
                }
                FileRead::TooLarge(_) => findings.push(finding(
                    "README_TRIVIAL",
                    Some("README too short or couldn\u{2019}t be read"),
                    "error",
                    &shown,
                    "",
                    format!("{which} is larger than the {} size limit and was not read, so the listing has no usable description.", read::human_size(read::COMPONENT_CAP)),
                    "Cut the README to under 1 MiB; move long reference material into other files and link to them.",
                )),
                _ => findings.push(finding(
                    "README_TRIVIAL",
                    Some("README too short or couldn\u{2019}t be read"),
                    "error",
                    &shown,
                    "",
                    format!("{which} was found but could not be opened or read, so the listing has no usable description."),
                    "Check that the README is an ordinary, readable file and submit again.",
                )),
            }
        }
    }

    let has_license_field = manifest
        .and_then(|m| m.get("license"))
        .and_then(Value::as_str)
        .is_some_and(|l| !l.trim().is_empty());
    let license_stems = ["license", "licence", "copying"];
    let has_license_file = find_file(root, &license_stems).is_some()
        || repository
            .as_deref()
            .is_some_and(|repo| find_file(repo, &license_stems).is_some());
    if !has_license_field && !has_license_file {
        findings.push(finding(
            "LICENSE_MISSING",
            Some("License missing"),
            "error",
            "LICENSE",
            "",
            "This plugin has no LICENSE file and plugin.json has no `license`. The directory requires one of them.".to_owned(),
            "Add a LICENSE file to the plugin folder, or set `license` (an SPDX id) in plugin.json. A LICENSE at the repository root also counts for a plugin in a sub-folder.",
        ));
    }

    let has_icon_field = manifest
        .and_then(|m| m.get("icon"))
        .and_then(Value::as_str)
        .is_some_and(|i| !i.trim().is_empty());
    let icon_places = [".claude-plugin", "assets", ".", "images", "static"];
    let has_icon_file = icon_places.iter().any(|place| {
        [
            "icon.png",
            "icon.svg",
            "icon.jpg",
            "icon.jpeg",
            "logo.png",
            "logo.svg",
        ]
        .iter()
        .any(|name| read::is_file(&root.join(place).join(name)))
    });
    if !has_icon_field && !has_icon_file {
        findings.push(finding(
            "ICON_MISSING",
            Some("No icon"),
            "warning",
            ".claude-plugin/plugin.json",
            "icon",
            "No icon found in the plugin. The validator looked for `icon` in plugin.json and for a file at .claude-plugin/icon.png or .svg, assets/icon.png or .svg, or a similar path.".to_owned(),
            "Add a square PNG to the plugin folder at .claude-plugin/icon.png, or set `icon` in plugin.json to the path of a square PNG or JPEG in the plugin: 512 to 2048 px on each side, under 2 MB. SVG and WebP are not accepted. That file may become the listing icon only once: the first time the plugin is saved or submitted in the developer portal. Adding or changing it later does not change the icon.",
        ));
    }

    DirectoryReport {
        profile,
        findings,
        undecided: Vec::new(),
        incomplete: false,
        failure: None,
        notes: Vec::new(),
    }
}
