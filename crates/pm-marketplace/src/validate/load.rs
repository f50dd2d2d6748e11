//! Reading one file for validation and turning every way it can fail into a finding.

use super::codes;
use super::read::{self, FileRead};
use super::report::{FileReport, Finding};
use pm_core::marketplace::char_column;
use serde_json::Value;
use std::path::Path;

/// How serious a failure to read is: a manifest that cannot be read fails validation; a
/// component file that cannot be read is reported and skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stakes {
    /// marketplace.json / plugin.json: errors.
    Manifest,
    /// Skills, agents, commands, hooks.json, .mcp.json, .lsp.json: warnings.
    Component,
}

/// The text of a file, read for validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    /// The decoded text (lossy when the file is not UTF-8; no byte-order mark).
    pub text: String,
    /// Whether the file started with a byte-order mark.
    pub bom: bool,
}

/// Reads `path` (at most `cap` bytes, no links). `Ok(None)`: nothing there. Other failures
/// and non-UTF-8 content are recorded in `report`; `Err(())` means there is no text to check.
pub fn load(
    path: &Path,
    cap: u64,
    stakes: Stakes,
    report: &mut FileReport,
) -> Result<Option<Text>, ()> {
    let shown = path.display();
    let push = |report: &mut FileReport, finding: Finding| match stakes {
        Stakes::Manifest => report.errors.push(finding),
        Stakes::Component => report.warnings.push(finding),
    };
    match read::read_text(path, cap) {
        FileRead::Missing => Ok(None),
        FileRead::Text {
            text,
            invalid_at,
            bom,
        } => {
            if let Some(invalid) = invalid_at {
                push(
                    report,
                    Finding::pm(
                        codes::NOT_UTF8,
                        "file",
                        format!(
                            "{shown} is not valid UTF-8: byte 0x{:02x} at line {}, column {} (offset {}). Claude Code reads it with U+FFFD replacement characters, which change the names and text around it; save the file as UTF-8.",
                            invalid.byte, invalid.line, invalid.column, invalid.offset
                        ),
                    ),
                );
            }
            Ok(Some(Text { text, bom }))
        }
        FileRead::Link => {
            push(
                report,
                Finding::pm(
                    codes::SYMLINK_NOT_FOLLOWED,
                    "file",
                    format!(
                        "{shown} is a symbolic link; validate does not follow links, so it was not checked. Validate the file it points to, or replace the link with the file."
                    ),
                ),
            );
            Err(())
        }
        FileRead::Directory => {
            push(
                report,
                match stakes {
                    Stakes::Manifest => {
                        Finding::reference("file", format!("Path is not a file: {shown}"))
                    }
                    Stakes::Component => Finding::pm(
                        codes::FILE_UNREADABLE,
                        "file",
                        format!("{shown} is a directory, not a file, so it was not checked."),
                    ),
                },
            );
            Err(())
        }
        FileRead::NotAFile => {
            push(
                report,
                Finding::pm(
                    codes::FILE_UNREADABLE,
                    "file",
                    format!(
                        "{shown} is not a regular file (a FIFO, socket or device), so it was not read. Replace it with a regular file."
                    ),
                ),
            );
            Err(())
        }
        FileRead::TooLarge(size) => {
            push(
                report,
                Finding::pm(
                    codes::FILE_TOO_LARGE,
                    "file",
                    format!(
                        "{shown} is {} ({size} bytes), larger than validate's {} cap, so it was not read or checked. Claude Code has no such cap; shrink the file.",
                        read::human_size(size),
                        read::human_size(cap)
                    ),
                ),
            );
            Err(())
        }
        FileRead::Failed(message) => {
            push(
                report,
                match stakes {
                    Stakes::Manifest => {
                        Finding::reference("file", format!("Failed to read file: {message}"))
                    }
                    Stakes::Component => Finding::pm(
                        codes::FILE_UNREADABLE,
                        "file",
                        format!("Failed to read {shown}: {message}"),
                    ),
                },
            );
            Err(())
        }
    }
}

/// Parses JSON text; the error is the reference's `Invalid JSON syntax: …` with pm's
/// description and the line and column (characters) of the problem.
pub fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|error| {
        let message = error.to_string();
        let message = match message.rfind(" at line ") {
            Some(at) => message[..at].to_owned(),
            None => message,
        };
        format!(
            "Invalid JSON syntax: {message} at line {}, column {}",
            error.line(),
            char_column(text, error.line(), error.column())
        )
    })
}

/// The reference's `typeof`-style name: `null`, `array`, `object`, `string`, `number`,
/// `boolean`.
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_are_located() {
        let message = parse_json("{\n  \"name\": \"é\",\n}").expect_err("trailing comma");
        assert!(
            message.starts_with("Invalid JSON syntax: trailing comma"),
            "{message}"
        );
        assert!(message.ends_with("at line 3, column 1"), "{message}");
    }
}
