//! Invariant checks for pm-core's parsers, shared by the fuzz targets in `fuzz_targets/`
//! (docs/fuzzing.md).
//!
//! Each `check_*` function feeds arbitrary bytes to a parser the way pm reads the file, and
//! panics (which libFuzzer reports as a crash) when the parser panics or when a result breaks
//! a property that must hold for every input: error positions inside the input, results
//! consistent with the document they came from, borrowed slices inside the text they borrow
//! from. Panicking is the point here: this crate is a test harness, never linked into pm.

use pm_core::frontmatter::{self, Block, ParseError, Value as FrontmatterValue};
use pm_core::marketplace::{
    self, ManifestError, MarketplaceManifest, PluginSource, decode_utf8_lossy,
};
use pm_core::plugin::PluginManifest;
use serde_json::Value;

/// `marketplace.json` as pm reads it (`pm_marketplace::marketplaces::read_manifest_file`):
/// [`decode_utf8_lossy`] (BOM stripped, invalid UTF-8 replaced), then
/// [`MarketplaceManifest::parse`].
///
/// Checks: the lossy flag is set exactly when the bytes are not UTF-8, and valid UTF-8 comes
/// back unchanged apart from leading BOMs; a syntax error's line and column lie inside the
/// decoded text; a schema error names a required field that really is missing or of the wrong
/// type; a parsed manifest agrees with its own `raw` document (every entry kept or dropped
/// exactly once, in order; relative sources start with `./`; `find` finds every name), and
/// parsing the re-serialized document gives the same manifest (floating-point numbers within a
/// few units in the last place: see [`same_json`]).
pub fn check_marketplace_json(bytes: &[u8]) {
    let (text, lossy) = decode_utf8_lossy(bytes);
    let strict = std::str::from_utf8(bytes);
    assert_eq!(
        lossy,
        strict.is_err(),
        "lossy flag disagrees with from_utf8"
    );
    assert!(
        !text.starts_with('\u{feff}'),
        "a leading BOM survived decoding"
    );
    match strict {
        Ok(original) => assert_eq!(
            original.trim_start_matches('\u{feff}'),
            text,
            "valid UTF-8 changed in decoding"
        ),
        Err(_) => assert!(text.contains('\u{fffd}'), "invalid UTF-8 left no U+FFFD"),
    }

    match MarketplaceManifest::parse(&text) {
        Err(ManifestError::Syntax {
            line,
            column,
            message,
        }) => {
            check_json_position(&text, line, column);
            assert!(!message.is_empty(), "syntax error without a message");
        }
        Err(ManifestError::Schema { field, .. }) => {
            let document: Value = serde_json::from_str(&text)
                .expect("a schema error is only reported for valid JSON");
            let wrong = match field.as_str() {
                "(top level)" => !document.is_object(),
                "name" => !document.get("name").is_some_and(Value::is_string),
                "owner" => !document.get("owner").is_some_and(Value::is_object),
                "plugins" => !document.get("plugins").is_some_and(Value::is_array),
                other => panic!("schema error names an unexpected field `{other}`"),
            };
            assert!(
                wrong,
                "schema error on `{field}`, which is fine in {document}"
            );
        }
        Ok(manifest) => {
            check_marketplace_manifest(&manifest);
            check_marketplace_round_trip(&manifest);
        }
    }
}

/// The properties of a successfully parsed marketplace manifest (see [`check_marketplace_json`]).
fn check_marketplace_manifest(manifest: &MarketplaceManifest) {
    assert_eq!(
        manifest.raw.get("name"),
        Some(&Value::String(manifest.name.clone()))
    );
    assert!(manifest.owner.is_object());
    assert_eq!(manifest.raw.get("owner"), Some(&manifest.owner));
    let entries = manifest
        .raw
        .get("plugins")
        .and_then(Value::as_array)
        .expect("a parsed manifest has a `plugins` array");
    assert_eq!(
        manifest.plugins.len() + manifest.dropped.len(),
        entries.len(),
        "entries neither kept nor dropped (or both)"
    );
    let dropped_indices: Vec<usize> = manifest.dropped.iter().map(|(index, _)| *index).collect();
    assert!(
        dropped_indices.windows(2).all(|pair| pair[0] < pair[1]),
        "dropped indices out of order: {dropped_indices:?}"
    );
    let kept_indices = (0..entries.len()).filter(|index| !dropped_indices.contains(index));
    for (index, entry) in kept_indices.zip(&manifest.plugins) {
        assert_eq!(
            entries.get(index),
            Some(&Value::Object(entry.raw.clone())),
            "plugins[{index}] is not the entry kept in its place"
        );
        assert!(
            !entry.name.trim().is_empty(),
            "an entry with a blank name was kept"
        );
        assert_eq!(
            entry.raw.get("name"),
            Some(&Value::String(entry.name.clone()))
        );
        assert_eq!(
            entry.strict,
            entry
                .raw
                .get("strict")
                .and_then(Value::as_bool)
                .unwrap_or(true)
        );
        assert_eq!(
            entry.version.as_deref(),
            entry.raw.get("version").and_then(Value::as_str)
        );
        let first_with_name = manifest
            .find(&entry.name)
            .expect("find finds every kept name");
        assert_eq!(first_with_name.name, entry.name);
        check_plugin_source(&entry.source, entry);
    }
    for (index, _) in &manifest.dropped {
        let entry = entries
            .get(*index)
            .expect("a dropped index is inside `plugins`");
        let usable_name = entry
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|name| !name.trim().is_empty());
        assert!(
            !usable_name,
            "plugins[{index}] has a usable name but was dropped"
        );
    }
}

/// Serializing a parsed manifest's document and parsing it again gives the same manifest
/// (numbers compared as [`same_json`] does).
fn check_marketplace_round_trip(manifest: &MarketplaceManifest) {
    let reserialized = serde_json::to_string(&manifest.raw).expect("a parsed document serializes");
    let again =
        MarketplaceManifest::parse(&reserialized).expect("the re-serialized document parses");
    assert_same_document(&again.raw, &manifest.raw);
    assert_eq!(
        (
            &again.name,
            &again.description,
            &again.plugin_root,
            &again.dropped
        ),
        (
            &manifest.name,
            &manifest.description,
            &manifest.plugin_root,
            &manifest.dropped
        )
    );
    assert_eq!(again.plugins.len(), manifest.plugins.len());
    for (entry_again, entry) in again.plugins.iter().zip(&manifest.plugins) {
        assert_eq!(
            (
                &entry_again.name,
                &entry_again.version,
                &entry_again.description,
                entry_again.strict
            ),
            (
                &entry.name,
                &entry.version,
                &entry.description,
                entry.strict
            )
        );
        match (&entry_again.source, &entry.source) {
            (
                PluginSource::Invalid {
                    reason: reason_again,
                    kind: kind_again,
                    ..
                },
                PluginSource::Invalid { reason, kind, .. },
            ) => assert_eq!((reason_again, kind_again), (reason, kind)),
            // Every other source holds strings only.
            (source_again, source) => assert_eq!(source_again, source),
        }
    }
}

/// Two JSON documents are the same, numbers compared as [`same_json`] does.
fn assert_same_document(
    again: &serde_json::Map<String, Value>,
    original: &serde_json::Map<String, Value>,
) {
    let again = Value::Object(again.clone());
    let original = Value::Object(original.clone());
    assert!(
        same_json(&again, &original),
        "re-parsing the re-serialized document gives another document:\n{again}\nnot\n{original}"
    );
}

/// JSON equality, except that two floating-point numbers within a few units in the last place
/// are equal: serde_json (without its `float_roundtrip` feature, as pm builds it) may parse a
/// decimal number one unit in the last place off, so a number serialized and parsed again can
/// differ from the first parse (found by the `plugin_json` target; no field pm reads is a
/// float: docs/fuzzing.md). Integers compare exactly.
fn same_json(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Number(left), Value::Number(right)) => {
            if left.is_f64() || right.is_f64() {
                match (left.as_f64(), right.as_f64()) {
                    (Some(left), Some(right)) => {
                        left == right
                            || (left - right).abs()
                                <= 4.0 * f64::EPSILON * left.abs().max(right.abs())
                    }
                    _ => false,
                }
            } else {
                left == right
            }
        }
        (Value::Array(left), Value::Array(right)) => {
            left.len() == right.len() && left.iter().zip(right).all(|(l, r)| same_json(l, r))
        }
        (Value::Object(left), Value::Object(right)) => {
            left.len() == right.len()
                && left
                    .iter()
                    .zip(right)
                    .all(|((left_key, l), (right_key, r))| left_key == right_key && same_json(l, r))
        }
        _ => left == right,
    }
}

/// A plugin entry's interpreted source agrees with what is written.
fn check_plugin_source(source: &PluginSource, entry: &marketplace::PluginEntry) {
    let shown = source.to_value(&entry.raw);
    match source {
        PluginSource::Relative(path) => {
            assert!(
                path == "." || path.starts_with("./"),
                "relative source `{path}` does not start with ./"
            );
            assert_eq!(shown, Value::String(path.clone()));
        }
        PluginSource::Invalid { reason, .. } => {
            assert!(!reason.is_empty(), "an invalid source without a reason");
            assert_eq!(
                shown.get("source").and_then(Value::as_str),
                Some("unsupported")
            );
        }
        PluginSource::Github { .. }
        | PluginSource::Url { .. }
        | PluginSource::GitSubdir { .. }
        | PluginSource::Npm { .. }
        | PluginSource::Archive { .. } => {
            assert!(
                shown.is_object(),
                "{} source not shown as an object",
                source.kind()
            );
        }
    }
}

/// `plugin.json` as pm reads it (`pm_marketplace::fsutil::read_optional`: lossy UTF-8, no BOM
/// handling), then [`PluginManifest::parse`].
///
/// Checks: a syntax error's line and column lie inside the text; a schema error is reported
/// only for a valid JSON document whose top level is not an object or whose `name` is not a
/// string; a parsed manifest agrees with its `raw` document, and parsing the re-serialized
/// document gives the same manifest (see [`same_json`] for numbers).
pub fn check_plugin_json(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    match PluginManifest::parse(&text) {
        Err(ManifestError::Syntax {
            line,
            column,
            message,
        }) => {
            check_json_position(&text, line, column);
            assert!(!message.is_empty(), "syntax error without a message");
        }
        Err(ManifestError::Schema { field, .. }) => {
            let document: Value = serde_json::from_str(&text)
                .expect("a schema error is only reported for valid JSON");
            let wrong = match field.as_str() {
                "(top level)" => !document.is_object(),
                "name" => !document.get("name").is_some_and(Value::is_string),
                other => panic!("schema error names an unexpected field `{other}`"),
            };
            assert!(
                wrong,
                "schema error on `{field}`, which is fine in {document}"
            );
        }
        Ok(manifest) => {
            assert_eq!(
                manifest.raw.get("name"),
                Some(&Value::String(manifest.name.clone()))
            );
            assert_eq!(
                manifest.version.as_deref(),
                manifest.raw.get("version").and_then(Value::as_str)
            );
            assert_eq!(
                manifest.description.as_deref(),
                manifest.raw.get("description").and_then(Value::as_str)
            );
            let written_dependencies = match manifest.raw.get("dependencies") {
                Some(Value::Array(values)) => values.clone(),
                _ => Vec::new(),
            };
            assert_eq!(manifest.dependencies, written_dependencies);
            let reserialized =
                serde_json::to_string(&manifest.raw).expect("a parsed document serializes");
            let again =
                PluginManifest::parse(&reserialized).expect("the re-serialized document parses");
            assert_eq!(
                (&again.name, &again.version, &again.description),
                (&manifest.name, &manifest.version, &manifest.description)
            );
            assert_same_document(&again.raw, &manifest.raw);
        }
    }
}

/// A JSON error position (1-based line, 1-based character column, lines split at `\n` as
/// serde_json counts them) names a place inside `text`: an existing line, and a column at most
/// one past the line's last character.
fn check_json_position(text: &str, line: usize, column: usize) {
    let lines: Vec<&str> = text.split('\n').collect();
    assert!(
        (1..=lines.len()).contains(&line),
        "error line {line} outside the text's {} lines",
        lines.len()
    );
    let line_characters = lines[line - 1].chars().count();
    assert!(
        (1..=line_characters + 1).contains(&column),
        "error column {column} outside line {line} of {line_characters} characters"
    );
}

/// A Markdown file with YAML frontmatter (SKILL.md, agents/*.md, commands/*.md), decoded
/// lossily, through [`frontmatter::split`] and then [`frontmatter::parse`]: the block when
/// there is one, else the whole text as a block starting on line 1.
///
/// Checks: the body is a suffix of the text; with no block or an unclosed one
/// the body is the whole text; a present block is borrowed from the text right after the
/// opening fence line, holds no fence line itself, and is followed by exactly one closing fence
/// line and then the body; a syntax error's line and column lie inside the block (lines counted
/// as YAML counts them: `\r\n`, `\r` or `\n`), shifted by the block's first line; a block that is
/// not a mapping is reported as a scalar or a sequence, never as null or a mapping.
pub fn check_frontmatter(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let text = text.as_ref();
    let split = frontmatter::split(text);
    // An empty body may be a `""` literal rather than a slice of the text, so the suffix is
    // checked by content; the body's offset is where that suffix starts.
    assert!(
        text.ends_with(split.body),
        "the body is not a suffix of the text"
    );
    let body_start = text.len() - split.body.len();
    let without_bom = text.strip_prefix('\u{feff}').unwrap_or(text);
    let opens_with_fence = without_bom.split('\n').next().is_some_and(is_fence);
    match split.block {
        Block::Missing => {
            assert_eq!(
                split.body, text,
                "no block, yet the body is not the whole text"
            );
            assert!(
                !opens_with_fence,
                "the text opens with a fence, yet the block is missing"
            );
            check_frontmatter_parse(text, 1);
        }
        Block::Unclosed => {
            assert_eq!(
                split.body, text,
                "unclosed block, yet the body is not the whole text"
            );
            assert!(opens_with_fence, "unclosed block without an opening fence");
            assert!(
                !without_bom.split('\n').skip(1).any(is_fence),
                "a closing fence exists, yet the block is unclosed"
            );
        }
        Block::Present { yaml, first_line } => {
            assert!(opens_with_fence, "a block without an opening fence");
            assert_eq!(first_line, 2);
            let yaml_start =
                offset_inside(text, yaml).expect("the block is borrowed from the text");
            let opening_line_end = without_bom.find('\n').expect("an opening fence line ends");
            assert_eq!(
                yaml_start,
                text.len() - without_bom.len() + opening_line_end + 1,
                "the block does not start right after the opening fence line"
            );
            let yaml_end = yaml_start + yaml.len();
            assert!(yaml_end <= body_start);
            assert!(
                yaml.is_empty() || yaml.ends_with('\n'),
                "the block ends mid-line"
            );
            assert!(
                !yaml.split('\n').any(is_fence),
                "the block holds a fence line"
            );
            let closing = &text[yaml_end..body_start];
            let closing_line = closing.strip_suffix('\n').unwrap_or(closing);
            assert!(
                is_fence(closing_line) && !closing_line.contains('\n'),
                "between the block and the body is `{closing:?}`, not one fence line"
            );
            assert!(
                closing.ends_with('\n') || split.body.is_empty(),
                "the closing fence line runs into the body"
            );
            check_frontmatter_parse(yaml, first_line);
        }
    }
}

/// [`frontmatter::parse`] of `yaml` placed at `first_line`: see [`check_frontmatter`].
fn check_frontmatter_parse(yaml: &str, first_line: usize) {
    match frontmatter::parse(yaml, first_line) {
        Ok(fields) => {
            for value in fields.values() {
                check_frontmatter_value(value);
            }
        }
        Err(ParseError::Syntax {
            message,
            line,
            column,
        }) => {
            assert!(!message.is_empty(), "syntax error without a message");
            let lines = yaml_lines(yaml);
            assert!(
                line >= first_line && line - first_line < lines.len(),
                "error line {line} outside the block's lines {first_line}..{}",
                first_line + lines.len() - 1
            );
            let line_characters = lines[line - first_line].chars().count();
            assert!(
                (1..=line_characters + 1).contains(&column),
                "error column {column} outside line {line} of {line_characters} characters"
            );
        }
        Err(ParseError::NotAMapping { found }) => {
            assert!(
                ["string", "number", "boolean", "array"].contains(&found),
                "NotAMapping found `{found}`"
            );
        }
    }
}

/// Walks a frontmatter value (its type name must be one of validate's words).
fn check_frontmatter_value(value: &FrontmatterValue) {
    assert!(
        ["string", "number", "boolean", "null", "array", "object"].contains(&value.type_name())
    );
    match value {
        FrontmatterValue::List(items) => items.iter().for_each(check_frontmatter_value),
        FrontmatterValue::Map(entries) => entries.values().for_each(check_frontmatter_value),
        FrontmatterValue::String(text) => assert_eq!(value.as_str(), Some(text.as_str())),
        _ => assert_eq!(value.as_str(), None),
    }
}

/// A line that is a frontmatter fence: `---` with trailing blanks (and `\r`) allowed.
fn is_fence(line: &str) -> bool {
    line.trim_end() == "---"
}

/// `text` split into lines at YAML line breaks (`\r\n`, `\r`, `\n`), as yaml-rust2 counts them;
/// the part after the last break is a line too (possibly empty).
fn yaml_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(end) = rest.find(['\r', '\n']) {
        lines.push(&rest[..end]);
        let break_length = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + break_length..];
    }
    lines.push(rest);
    lines
}

/// The byte offset of `part` inside `whole`, when `part` is a slice of `whole`'s memory.
fn offset_inside(whole: &str, part: &str) -> Option<usize> {
    let whole_start = whole.as_ptr() as usize;
    let part_start = part.as_ptr() as usize;
    let offset = part_start.checked_sub(whole_start)?;
    (offset + part.len() <= whole.len() && whole.is_char_boundary(offset)).then_some(offset)
}
