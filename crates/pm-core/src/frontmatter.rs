//! YAML frontmatter of skills (`SKILL.md`), agents (`agents/*.md`) and commands
//! (`commands/*.md`): the `---`-fenced block at the top of the file, and the Markdown body after it.
//!
//! Source: reference-advanced.md §3 (details reads `description`, `when_to_use` and the body) and
//! §5 (validate's frontmatter findings). The YAML is parsed with `yaml-rust2`, a maintained YAML 1.2
//! parser; a tab in indentation, an unterminated quote or a stray `:` is a parse error with a
//! line and column, as the reference reports it.
//!
//! ```text
//! ---                      ← opening fence: the file's first line (after an optional BOM)
//! name: alpha
//! description: Alpha skill
//! ---                      ← closing fence: the next line that is exactly `---` (trailing blanks allowed)
//! Body…
//! ```

use std::collections::BTreeMap;
use yaml_rust2::{Yaml, YamlLoader};

/// A Markdown file split at its frontmatter fences. Borrowed from the file's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split<'a> {
    /// The frontmatter block, or why there is none.
    pub block: Block<'a>,
    /// The Markdown after the closing fence; the whole text when there is no complete block.
    pub body: &'a str,
}

/// What the top of a Markdown file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Block<'a> {
    /// No opening `---` on the first line.
    Missing,
    /// An opening `---` with no closing `---` line after it. The whole file is body.
    Unclosed,
    /// The YAML text between the fences (without them), and the 1-based line number of its
    /// first line in the file (2 when the file starts with the fence).
    Present {
        /// The YAML between the fences.
        yaml: &'a str,
        /// 1-based line of the YAML's first line in the file.
        first_line: usize,
    },
}

/// Splits `text` at its frontmatter fences. Never fails; see [`Block`] for the cases.
pub fn split(text: &str) -> Split<'_> {
    let text_without_bom = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some((first_line, after_open)) = split_first_line(text_without_bom) else {
        return Split {
            block: Block::Missing,
            body: text,
        };
    };
    if first_line.trim_end() != "---" {
        return Split {
            block: Block::Missing,
            body: text,
        };
    }
    let mut offset = 0;
    let mut rest = after_open;
    while let Some((line, next)) = split_first_line(rest) {
        if line.trim_end() == "---" {
            return Split {
                block: Block::Present {
                    yaml: &after_open[..offset],
                    first_line: 2,
                },
                body: next,
            };
        }
        offset += rest.len() - next.len();
        rest = next;
    }
    Split {
        block: Block::Unclosed,
        body: text,
    }
}

/// The first line of `text` (without its `\n` / `\r\n`) and the text after it; `None` when
/// `text` is empty.
fn split_first_line(text: &str) -> Option<(&str, &str)> {
    if text.is_empty() {
        return None;
    }
    match text.find('\n') {
        Some(end) => Some((text[..end].trim_end_matches('\r'), &text[end + 1..])),
        None => Some((text, "")),
    }
}

/// A YAML value from frontmatter, reduced to what pm checks (types for validate, strings for
/// details).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string scalar (quoted or plain).
    String(String),
    /// An integer scalar.
    Integer(i64),
    /// A floating-point scalar, as written.
    Real(String),
    /// `true` / `false`.
    Bool(bool),
    /// `null`, `~` or an empty value.
    Null,
    /// A sequence.
    List(Vec<Value>),
    /// A mapping; keys that are not strings are written as YAML would print them.
    Map(BTreeMap<String, Value>),
}

impl Value {
    /// The string, when this is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// The type's name as validate messages use it: `string`, `number`, `boolean`, `null`,
    /// `array` or `object`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::String(_) => "string",
            Value::Integer(_) | Value::Real(_) => "number",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
            Value::List(_) => "array",
            Value::Map(_) => "object",
        }
    }

    fn from_yaml(yaml: &Yaml) -> Value {
        match yaml {
            Yaml::String(text) => Value::String(text.clone()),
            Yaml::Integer(number) => Value::Integer(*number),
            Yaml::Real(text) => Value::Real(text.clone()),
            Yaml::Boolean(flag) => Value::Bool(*flag),
            Yaml::Array(items) => Value::List(items.iter().map(Value::from_yaml).collect()),
            Yaml::Hash(hash) => Value::Map(
                hash.iter()
                    .map(|(key, value)| (key_text(key), Value::from_yaml(value)))
                    .collect(),
            ),
            Yaml::Null | Yaml::BadValue | Yaml::Alias(_) => Value::Null,
        }
    }
}

fn key_text(key: &Yaml) -> String {
    match key {
        Yaml::String(text) | Yaml::Real(text) => text.clone(),
        Yaml::Integer(number) => number.to_string(),
        Yaml::Boolean(flag) => flag.to_string(),
        _ => "null".to_owned(),
    }
}

/// The frontmatter's top-level keys and values, in key order.
pub type Fields = BTreeMap<String, Value>;

/// Why a frontmatter block is not a YAML mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The YAML does not parse. `line` and `column` are 1-based and relative to the file when
    /// the block's first line was given to [`parse`].
    #[error("{message} at line {line}, column {column}")]
    Syntax {
        /// The parser's description, e.g. `while scanning a plain scalar, found a tab`.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column (characters).
        column: usize,
    },
    /// The YAML parses, but to a scalar or a sequence, not to `key: value` lines.
    #[error("frontmatter must be `key: value` lines, found a YAML {found}")]
    NotAMapping {
        /// What it parsed to: `string`, `array`, …
        found: &'static str,
    },
}

/// Parses a frontmatter block's YAML into its fields. An empty block is an empty mapping.
/// `first_line` is the block's 1-based first line in the file (from [`Block::Present`]), so
/// error positions name the file's line.
///
/// # Errors
/// [`ParseError::Syntax`] when the YAML does not parse; [`ParseError::NotAMapping`] when it is
/// not a mapping.
pub fn parse(yaml: &str, first_line: usize) -> Result<Fields, ParseError> {
    let documents = YamlLoader::load_from_str(yaml).map_err(|error| ParseError::Syntax {
        message: error.info().to_owned(),
        line: error.marker().line() + first_line.saturating_sub(1),
        column: error.marker().col() + 1,
    })?;
    match documents.first() {
        None | Some(Yaml::Null) => Ok(Fields::new()),
        Some(Yaml::Hash(hash)) => Ok(hash
            .iter()
            .map(|(key, value)| (key_text(key), Value::from_yaml(value)))
            .collect()),
        Some(other) => Err(ParseError::NotAMapping {
            found: Value::from_yaml(other).type_name(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_fenced_block_from_the_body() {
        let split = split("---\nname: a\ndescription: b\n---\nBody\n");
        assert_eq!(
            split.block,
            Block::Present {
                yaml: "name: a\ndescription: b\n",
                first_line: 2
            }
        );
        assert_eq!(split.body, "Body\n");
    }

    #[test]
    fn crlf_fences_and_a_bom_are_accepted() {
        let split = split("\u{feff}---\r\nname: a\r\n---  \r\nBody");
        assert!(matches!(
            split.block,
            Block::Present {
                yaml: "name: a\r\n",
                ..
            }
        ));
        assert_eq!(split.body, "Body");
    }

    #[test]
    fn a_file_without_an_opening_fence_is_all_body() {
        let split = split("# Title\n---\nx: y\n---\n");
        assert_eq!(split.block, Block::Missing);
        assert_eq!(split.body, "# Title\n---\nx: y\n---\n");
        assert_eq!(super::split("").block, Block::Missing);
    }

    #[test]
    fn an_unclosed_block_is_reported_and_the_file_is_body() {
        let split = split("---\nname: a\ndescription: b\n");
        assert_eq!(split.block, Block::Unclosed);
        assert_eq!(split.body, "---\nname: a\ndescription: b\n");
    }

    #[test]
    fn an_empty_block_parses_to_no_fields() {
        let split = split("---\n---\nBody");
        assert_eq!(
            split.block,
            Block::Present {
                yaml: "",
                first_line: 2
            }
        );
        assert_eq!(parse("", 2), Ok(Fields::new()));
    }

    #[test]
    fn values_keep_their_yaml_types() {
        let fields = parse(
            "description: [a, b]\nallowed-tools: 3\nname: x\nflag: true\n",
            2,
        )
        .expect("valid yaml");
        assert_eq!(fields["description"].type_name(), "array");
        assert_eq!(fields["allowed-tools"], Value::Integer(3));
        assert_eq!(fields["name"].as_str(), Some("x"));
        assert_eq!(fields["flag"], Value::Bool(true));
    }

    #[test]
    fn a_tab_in_indentation_is_a_located_error() {
        let error = parse("name: a\n\tdescription: b\n", 2).expect_err("tab");
        let ParseError::Syntax { line, column, .. } = error else {
            panic!("expected a syntax error, got {error:?}");
        };
        // yaml-rust2 locates it where the scalar before the tab ends: the YAML's first line,
        // which is the file's second.
        assert_eq!((line, column), (2, 7));
    }

    #[test]
    fn a_scalar_block_is_not_a_mapping() {
        assert_eq!(
            parse("just text", 2),
            Err(ParseError::NotAMapping { found: "string" })
        );
    }
}
