//! Format-preserving edits of strict JSON documents (settings files). See DEVIATIONS.md 1.
//!
//! Claude Code settings files (`~/.claude/settings.json`, `<project>/.claude/settings.json`, ...)
//! are often committed to git, so pm must change only the members it owns. [`JsonDocument`]
//! keeps the original text and splices edits into it: indentation (spaces or tabs), line endings
//! (LF or CRLF), key order, unknown keys, escape sequences and the presence or absence of a final
//! newline all survive an edit byte for byte. Only the edited member's lines change.
//!
//! Layout rules:
//! - a replaced member keeps its key text and surrounding whitespace; only its value text changes
//!   (and not even that when the new value equals the old one);
//! - a new member is appended after the last member of its object, separated the way the existing
//!   members are separated (so single-line objects stay single-line);
//! - an empty object receiving its first member is expanded to multiple lines (the indentation of
//!   the line holding its `{` plus the document's indent unit), unless it sits inside a
//!   single-line object, in which case it stays single-line;
//! - multi-line values are pretty-printed like `JSON.stringify(v, null, unit)`, empty objects and
//!   arrays as `{}` and `[]`;
//! - removing a member removes its separating comma and its line; removing the only member leaves
//!   `{}`.

use serde_json::{Map, Value};

/// A strict JSON document whose top level is an object, edited without reformatting.
///
/// The text is always strict JSON (serde_json's grammar) with an object at the top level: parsing
/// checks it, and every edit re-checks the result before it is kept.
#[derive(Debug, Clone)]
pub struct JsonDocument {
    /// The current text, exactly as it will be written.
    text: String,
    /// `text` parsed (duplicate keys resolved to the last occurrence, like `JSON.parse`).
    value: Value,
}

/// Why a text cannot be edited as a settings document, or why an edit cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum JsonEditError {
    /// Not strict JSON (comments, trailing commas, bad syntax, empty text). 1-based line and column.
    #[error("invalid JSON at line {line}, column {column}: {message}")]
    Syntax {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
        /// What is wrong, as serde_json describes it (without the position).
        message: String,
    },
    /// Valid JSON whose top level is not an object (array, null, string, number...).
    #[error("the top level is {found}, not an object")]
    NotAnObject {
        /// What the top level is: "an array", "null", "a string", "a number" or "a boolean".
        found: &'static str,
    },
    /// A member on the path exists but is not an object, so pm cannot descend into it.
    #[error("`{path}` is {found}, not an object")]
    NotAnObjectAt {
        /// The path up to the offending member, keys joined with `.`.
        path: String,
        /// What the member is: "an array", "null", "a string", "a number" or "a boolean".
        found: &'static str,
    },
}

impl JsonDocument {
    /// Parses `text`; strict JSON only (serde_json's grammar). Duplicate keys: the edit applies to
    /// the last occurrence (as `JSON.parse` keeps the last).
    ///
    /// # Errors
    /// [`JsonEditError::Syntax`] if `text` is not strict JSON (including an empty text, comments
    /// and trailing commas); [`JsonEditError::NotAnObject`] if its top level is not an object.
    pub fn parse(text: &str) -> Result<Self, JsonEditError> {
        let value = validate(text)?;
        Ok(Self {
            text: text.to_owned(),
            value,
        })
    }

    /// A new, empty document in the style of new files: the text is `"{}\n"`, so that after
    /// [`set`](Self::set) it is 2-space indented with a final newline, exactly like
    /// `JSON.stringify(v, null, 2) + "\n"`.
    pub fn new_object() -> Self {
        Self {
            text: "{}\n".to_owned(),
            value: Value::Object(Map::new()),
        }
    }

    /// Sets the member at `path` (e.g. `["enabledPlugins", "p1@mk1"]`) to `value`.
    ///
    /// Missing intermediate objects are created. An existing member keeps its position, its key
    /// text and the whitespace around it; only its value text is replaced (and nothing changes
    /// if the new value equals the current one). A new member is appended at the end of its
    /// object, laid out like the object's existing members; in an empty object it gets the
    /// indentation of the object's line plus the document's indent unit (detected from the first
    /// indented line; 2 spaces by default). Multi-line values are pretty-printed with the same
    /// indent unit at the right depth, empty objects as `{}`. Strings are serialized by
    /// serde_json, so non-ASCII text stays raw UTF-8, as `JSON.stringify` writes it.
    ///
    /// An empty `path` replaces the whole top-level object (the value must then be an object).
    ///
    /// # Errors
    /// [`JsonEditError::NotAnObjectAt`] if a member on the path (before the last key) exists but
    /// is not an object; [`JsonEditError::NotAnObject`] for an empty `path` with a non-object
    /// value. The document is unchanged on error.
    pub fn set(&mut self, path: &[&str], value: &Value) -> Result<(), JsonEditError> {
        let root = spans(&self.text)?;
        let edit = self.set_edit(&root, path, value)?;
        if let Some(edit) = edit {
            self.apply(edit)?;
        }
        debug_assert_eq!(
            self.get(path).as_ref(),
            Some(value),
            "set() did not take effect"
        );
        Ok(())
    }

    /// Removes the member at `path` if present, with its separating comma and its own line, so
    /// that no blank line or dangling comma remains. Returns whether something was removed.
    ///
    /// A missing intermediate object gives `Ok(false)`; an empty `path` too. Removing the only
    /// member of an object leaves the object as `{}` (`JSON.stringify`'s empty object), it is
    /// not deleted. If the key occurs more than once in its object, every occurrence is removed,
    /// so that the member is really gone.
    ///
    /// # Errors
    /// [`JsonEditError::NotAnObjectAt`] if a member on the path (before the last key) exists but
    /// is not an object. The document is unchanged on error.
    pub fn remove(&mut self, path: &[&str]) -> Result<bool, JsonEditError> {
        let mut removed = false;
        loop {
            let root = spans(&self.text)?;
            match remove_edit(&root, path)? {
                Some(edit) => {
                    self.apply(edit)?;
                    removed = true;
                }
                None => return Ok(removed),
            }
        }
    }

    /// The value at `path`, parsed, if present (an empty `path` gives the whole document).
    pub fn get(&self, path: &[&str]) -> Option<Value> {
        let mut current = &self.value;
        for key in path {
            current = current.as_object()?.get(*key)?;
        }
        Some(current.clone())
    }

    /// The whole document as a parsed value (always a [`Value::Object`]).
    pub fn value(&self) -> Value {
        self.value.clone()
    }

    /// The current text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The splice that performs `set`, or `None` if the document already holds `value`.
    fn set_edit(
        &self,
        root: &ObjSpan,
        path: &[&str],
        value: &Value,
    ) -> Result<Option<Edit>, JsonEditError> {
        let text = self.text.as_str();
        let layout = Layout::of(text);
        if path.is_empty() {
            if !value.is_object() {
                return Err(JsonEditError::NotAnObject {
                    found: kind_of(value),
                });
            }
            if *value == self.value {
                return Ok(None);
            }
            let colon = observed_colon(text, &[root]);
            let mut out = String::new();
            render_pretty(
                value,
                line_indent(text, root.open),
                &layout.style(colon),
                &mut out,
            );
            return Ok(Some(Edit {
                start: root.open,
                end: root.close + 1,
                text: out,
            }));
        }
        let mut chain: Vec<&ObjSpan> = vec![root];
        for (i, key) in path.iter().enumerate() {
            let obj = chain[chain.len() - 1];
            match find(obj, key) {
                Some(member) if i + 1 == path.len() => {
                    return Ok(replace_edit(text, &layout, member, value));
                }
                Some(member) => match &member.value {
                    Node::Object(inner) => chain.push(inner),
                    Node::Other(found) => {
                        return Err(JsonEditError::NotAnObjectAt {
                            path: path[..=i].join("."),
                            found,
                        });
                    }
                },
                None => {
                    let nested = nest(&path[i + 1..], value);
                    return Ok(Some(insert_edit(text, &layout, &chain, key, &nested)));
                }
            }
        }
        Ok(None)
    }

    /// Splices `edit` into the text, keeping the result only if it is still a strict JSON object.
    fn apply(&mut self, edit: Edit) -> Result<(), JsonEditError> {
        let mut new = String::with_capacity(self.text.len() + edit.text.len());
        new.push_str(&self.text[..edit.start]);
        new.push_str(&edit.text);
        new.push_str(&self.text[edit.end..]);
        let checked = validate(&new);
        debug_assert!(checked.is_ok(), "edit produced invalid JSON: {new:?}");
        self.value = checked?;
        self.text = new;
        Ok(())
    }
}

/// Parses `text` as strict JSON and checks that the top level is an object.
fn validate(text: &str) -> Result<Value, JsonEditError> {
    let value: Value = serde_json::from_str(text).map_err(|err| {
        let (line, column) = (err.line(), err.column());
        let full = err.to_string();
        let suffix = format!(" at line {line} column {column}");
        let message = full.strip_suffix(&suffix).unwrap_or(&full).to_owned();
        JsonEditError::Syntax {
            line: line.max(1),
            column: column.max(1),
            message,
        }
    })?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(JsonEditError::NotAnObject {
            found: kind_of(&value),
        })
    }
}

/// How a value is described in errors: "an object", "an array", "null", ...
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `value` wrapped in one object per key of `keys`, outermost first.
fn nest(keys: &[&str], value: &Value) -> Value {
    keys.iter().rev().fold(value.clone(), |inner, key| {
        let mut map = Map::new();
        map.insert((*key).to_owned(), inner);
        Value::Object(map)
    })
}

/// The last member of `obj` named `key` (the one `JSON.parse` keeps).
fn find<'a>(obj: &'a ObjSpan, key: &str) -> Option<&'a MemberSpan> {
    obj.members.iter().rev().find(|member| member.key == key)
}

/// A replacement of `start..end` (byte offsets) by `text`.
#[derive(Debug)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// The edit that replaces the value of an existing member, or `None` if it already equals `value`.
fn replace_edit(text: &str, layout: &Layout, member: &MemberSpan, value: &Value) -> Option<Edit> {
    let old = &text[member.value_start..member.value_end];
    if serde_json::from_str::<Value>(old).ok().as_ref() == Some(value) {
        return None;
    }
    let style = layout.style(sane_colon(&text[member.key_end..member.value_start]));
    let mut out = String::new();
    if starts_line(text, member.key_start) {
        render_pretty(value, line_indent(text, member.key_start), &style, &mut out);
    } else {
        render_inline(value, &style, &mut out);
    }
    Some(Edit {
        start: member.value_start,
        end: member.value_end,
        text: out,
    })
}

/// The edit that appends member `key: value` to the last object of `chain` (root first).
fn insert_edit(text: &str, layout: &Layout, chain: &[&ObjSpan], key: &str, value: &Value) -> Edit {
    let obj = chain[chain.len() - 1];
    let colon = observed_colon(text, chain);
    let style = layout.style(colon);
    let key_json = Value::from(key).to_string();
    let n = obj.members.len();
    if let Some(last) = obj.members.last() {
        // Separate the new member the way the last two members are separated (",\n  ", ", ",
        // ","...), or for a single member the way it is set off from the `{`.
        let sep = if n >= 2 {
            text[obj.members[n - 2].value_end..last.key_start].to_owned()
        } else {
            let leading = &text[obj.open + 1..last.key_start];
            if leading.contains('\n') {
                format!(",{leading}")
            } else if !leading.is_empty() || colon.ends_with([' ', '\t']) {
                ", ".to_owned()
            } else {
                ",".to_owned()
            }
        };
        let mut out = sep;
        out.push_str(&key_json);
        out.push_str(colon);
        match out.rfind('\n') {
            Some(nl) => {
                let indent = leading_ws(&out[nl + 1..]).to_owned();
                render_pretty(value, &indent, &style, &mut out);
            }
            None => render_inline(value, &style, &mut out),
        }
        return Edit {
            start: last.value_end,
            end: last.value_end,
            text: out,
        };
    }
    // An empty object: stays on one line inside a single-line parent, expands otherwise.
    let interior = &text[obj.open + 1..obj.close];
    let parent_inline = chain.len() >= 2 && {
        let parent = chain[chain.len() - 2];
        !text[parent.open..=parent.close].contains('\n')
    };
    let mut out = String::new();
    if parent_inline && !interior.contains('\n') {
        out.push_str(interior);
        out.push_str(&key_json);
        out.push_str(colon);
        render_inline(value, &style, &mut out);
        out.push_str(interior);
    } else {
        let base = line_indent(text, obj.open);
        let indent = format!("{base}{}", layout.unit);
        out.push_str(layout.newline);
        out.push_str(&indent);
        out.push_str(&key_json);
        out.push_str(colon);
        render_pretty(value, &indent, &style, &mut out);
        out.push_str(layout.newline);
        out.push_str(base);
    }
    Edit {
        start: obj.open + 1,
        end: obj.close,
        text: out,
    }
}

/// The edit that removes the last occurrence of the member at `path`, or `None` if there is none.
fn remove_edit(root: &ObjSpan, path: &[&str]) -> Result<Option<Edit>, JsonEditError> {
    let Some((last_key, parents)) = path.split_last() else {
        return Ok(None);
    };
    let mut obj = root;
    for (i, key) in parents.iter().enumerate() {
        let Some(member) = find(obj, key) else {
            return Ok(None);
        };
        match &member.value {
            Node::Object(inner) => obj = inner,
            Node::Other(found) => {
                return Err(JsonEditError::NotAnObjectAt {
                    path: path[..=i].join("."),
                    found,
                });
            }
        }
    }
    let Some(idx) = obj.members.iter().rposition(|m| m.key == *last_key) else {
        return Ok(None);
    };
    let members = &obj.members;
    let (start, end) = if members.len() == 1 {
        // The only member: leave `{}`.
        (obj.open + 1, obj.close)
    } else if idx > 0 {
        // From the end of the previous value: the comma, the line break and the member.
        (members[idx - 1].value_end, members[idx].value_end)
    } else {
        // The first member: the member, its comma and the whitespace up to the next key.
        (members[0].key_start, members[1].key_start)
    };
    Ok(Some(Edit {
        start,
        end,
        text: String::new(),
    }))
}

/// The colon separator (`": "`, `":"`...) of the nearest object of `chain` (innermost first)
/// that has a member; `": "` by default.
fn observed_colon<'a>(text: &'a str, chain: &[&ObjSpan]) -> &'a str {
    chain
        .iter()
        .rev()
        .find_map(|obj| obj.members.last())
        .map_or(": ", |member| {
            sane_colon(&text[member.key_end..member.value_start])
        })
}

/// `colon` if it can be reused on one line, `": "` if it spans lines.
fn sane_colon(colon: &str) -> &str {
    if colon.contains(['\n', '\r']) {
        ": "
    } else {
        colon
    }
}

/// The run of spaces and tabs at the start of `s`.
fn leading_ws(s: &str) -> &str {
    let end = s.find(|c| c != ' ' && c != '\t').unwrap_or(s.len());
    &s[..end]
}

/// The indentation of the line holding byte `pos`.
fn line_indent(text: &str, pos: usize) -> &str {
    let start = text[..pos].rfind('\n').map_or(0, |nl| nl + 1);
    leading_ws(&text[start..pos])
}

/// Whether only whitespace precedes byte `pos` on its line.
fn starts_line(text: &str, pos: usize) -> bool {
    let start = text[..pos].rfind('\n').map_or(0, |nl| nl + 1);
    text[start..pos].chars().all(|c| c == ' ' || c == '\t')
}

/// The document-wide formatting conventions detected from its text.
#[derive(Debug)]
struct Layout {
    /// One level of indentation: the leading whitespace of the first indented line, or 2 spaces.
    unit: String,
    /// `"\r\n"` if the first line break is CRLF, else `"\n"`.
    newline: &'static str,
}

impl Layout {
    fn of(text: &str) -> Self {
        let unit = text
            .split('\n')
            .skip(1)
            .map(|line| (leading_ws(line), line))
            .find(|(ws, line)| !ws.is_empty() && !line[ws.len()..].trim().is_empty())
            .map_or_else(|| "  ".to_owned(), |(ws, _)| ws.to_owned());
        let newline = match text.find('\n') {
            Some(nl) if text[..nl].ends_with('\r') => "\r\n",
            _ => "\n",
        };
        Self { unit, newline }
    }

    fn style<'a>(&'a self, colon: &'a str) -> Style<'a> {
        Style {
            unit: &self.unit,
            newline: self.newline,
            colon,
            comma: if colon.ends_with([' ', '\t']) {
                ", "
            } else {
                ","
            },
        }
    }
}

/// Separators and indentation used to write a new value.
#[derive(Debug)]
struct Style<'a> {
    unit: &'a str,
    newline: &'a str,
    colon: &'a str,
    /// Separator between items of a single-line object or array.
    comma: &'a str,
}

/// Writes `value` pretty-printed as `JSON.stringify(value, null, unit)` would, its first line at
/// the current position and its following lines indented from `base`.
fn render_pretty(value: &Value, base: &str, style: &Style<'_>, out: &mut String) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let inner = format!("{base}{}", style.unit);
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(style.newline);
                out.push_str(&inner);
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push_str(style.colon);
                render_pretty(item, &inner, style, out);
            }
            out.push_str(style.newline);
            out.push_str(base);
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            let inner = format!("{base}{}", style.unit);
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(style.newline);
                out.push_str(&inner);
                render_pretty(item, &inner, style, out);
            }
            out.push_str(style.newline);
            out.push_str(base);
            out.push(']');
        }
        other => render_inline(other, style, out),
    }
}

/// Writes `value` on one line with the style's separators.
fn render_inline(value: &Value, style: &Style<'_>, out: &mut String) {
    match value {
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.comma);
                }
                out.push_str(&Value::from(key.as_str()).to_string());
                out.push_str(style.colon);
                render_inline(item, style, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(style.comma);
                }
                render_inline(item, style, out);
            }
            out.push(']');
        }
        // Scalars: serde_json's compact form (raw UTF-8, minimal escapes).
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Byte spans of an object: its braces and its members.
#[derive(Debug)]
struct ObjSpan {
    /// Offset of `{`.
    open: usize,
    /// Offset of `}`.
    close: usize,
    members: Vec<MemberSpan>,
}

/// Byte spans of one member of an object.
#[derive(Debug)]
struct MemberSpan {
    /// The key, unescaped.
    key: String,
    /// Offset of the key's opening quote.
    key_start: usize,
    /// Offset just after the key's closing quote.
    key_end: usize,
    /// Offset of the value's first byte.
    value_start: usize,
    /// Offset just after the value's last byte.
    value_end: usize,
    value: Node,
}

/// A value: an object (with its spans) or anything else (with its description).
#[derive(Debug)]
enum Node {
    Object(ObjSpan),
    Other(&'static str),
}

/// Span tree of the top-level object of `text` (which must already be strict JSON).
fn spans(text: &str) -> Result<ObjSpan, JsonEditError> {
    let mut scanner = Scanner {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    scanner.skip_ws();
    match scanner.value() {
        Some(Node::Object(root)) => Ok(root),
        Some(Node::Other(found)) => Err(JsonEditError::NotAnObject { found }),
        None => {
            // Unreachable for validated text; report the position rather than panic.
            let pos = scanner.pos.min(text.len());
            let before = &text[..pos];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            Err(JsonEditError::Syntax {
                line,
                column,
                message: "unexpected input".to_owned(),
            })
        }
    }
}

/// A minimal recursive scanner over strict JSON, recording object spans.
struct Scanner<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.pos += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.bump()? == byte).then_some(())
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Scans one value starting at the current position (no leading whitespace).
    fn value(&mut self) -> Option<Node> {
        match self.peek()? {
            b'{' => self.object().map(Node::Object),
            b'[' => self.array().map(|()| Node::Other("an array")),
            b'"' => self.string().map(|()| Node::Other("a string")),
            b't' => self.literal("true").map(|()| Node::Other("a boolean")),
            b'f' => self.literal("false").map(|()| Node::Other("a boolean")),
            b'n' => self.literal("null").map(|()| Node::Other("null")),
            _ => self.number().map(|()| Node::Other("a number")),
        }
    }

    fn object(&mut self) -> Option<ObjSpan> {
        let open = self.pos;
        self.expect(b'{')?;
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(ObjSpan {
                open,
                close: self.pos - 1,
                members,
            });
        }
        loop {
            self.skip_ws();
            let key_start = self.pos;
            self.string()?;
            let key_end = self.pos;
            let key: String = serde_json::from_str(&self.text[key_start..key_end]).ok()?;
            self.skip_ws();
            self.expect(b':')?;
            self.skip_ws();
            let value_start = self.pos;
            let value = self.value()?;
            let value_end = self.pos;
            members.push(MemberSpan {
                key,
                key_start,
                key_end,
                value_start,
                value_end,
                value,
            });
            self.skip_ws();
            match self.bump()? {
                b',' => {}
                b'}' => {
                    return Some(ObjSpan {
                        open,
                        close: self.pos - 1,
                        members,
                    });
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self) -> Option<()> {
        self.expect(b'[')?;
        self.skip_ws();
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.skip_ws();
            self.value()?;
            self.skip_ws();
            match self.bump()? {
                b',' => {}
                b']' => return Some(()),
                _ => return None,
            }
        }
    }

    fn string(&mut self) -> Option<()> {
        self.expect(b'"')?;
        loop {
            match self.bump()? {
                b'"' => return Some(()),
                b'\\' => {
                    self.bump()?;
                }
                _ => {}
            }
        }
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end)? == word.as_bytes()).then(|| self.pos = end)
    }

    fn number(&mut self) -> Option<()> {
        let start = self.pos;
        while matches!(
            self.peek(),
            Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
        ) {
            self.pos += 1;
        }
        (self.pos > start).then_some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn assert_strict(text: &str) -> Value {
        let value: Value =
            serde_json::from_str(text).unwrap_or_else(|e| panic!("not strict JSON ({e}):\n{text}"));
        assert!(value.is_object(), "top level not an object:\n{text}");
        value
    }

    /// Sets `path` to `value` in `input` and checks the exact output; if the member was new and
    /// its object already existed, also checks that removing it restores `input` byte for byte.
    fn check_set(name: &str, input: &str, path: &[&str], value: &Value, expected: &str) {
        let mut doc = JsonDocument::parse(input).unwrap_or_else(|e| panic!("{name}: {e}"));
        let was_new = doc.get(path).is_none();
        let parent_existed = doc
            .get(&path[..path.len() - 1])
            .is_some_and(|v| v.is_object());
        doc.set(path, value)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.text(), expected, "{name}: set output");
        let reparsed = assert_strict(doc.text());
        assert_eq!(reparsed, doc.value(), "{name}: cached value");
        assert_eq!(doc.get(path).as_ref(), Some(value), "{name}: get after set");

        // The semantic result equals a plain map insertion.
        let mut want = assert_strict(input);
        let mut cursor = &mut want;
        for key in &path[..path.len() - 1] {
            let map = cursor.as_object_mut().expect("object on path");
            cursor = map.entry(*key).or_insert_with(|| json!({}));
        }
        cursor
            .as_object_mut()
            .expect("object on path")
            .insert(path[path.len() - 1].to_owned(), value.clone());
        assert_eq!(doc.value(), want, "{name}: semantic result");

        if was_new && parent_existed {
            assert!(doc.remove(path).expect("remove"), "{name}: remove found it");
            assert_eq!(doc.text(), input, "{name}: set + remove round trip");
        }
    }

    fn check_remove(name: &str, input: &str, path: &[&str], expected: &str, removed: bool) {
        let mut doc = JsonDocument::parse(input).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(doc.remove(path).expect("remove"), removed, "{name}: result");
        assert_eq!(doc.text(), expected, "{name}: remove output");
        assert_strict(doc.text());
        if !path.is_empty() {
            assert_eq!(doc.get(path), None, "{name}: gone");
        }
    }

    const EP_FIRST_2: &str = r#"{
  "enabledPlugins": {
    "a@m": true
  },
  "model": "opus"
}
"#;

    const EP_LAST_4: &str = r#"{
    "model": "opus",
    "enabledPlugins": {
        "a@m": true,
        "x@m": false
    }
}
"#;

    const EP_MIDDLE_TAB: &str = "{\n\t\"model\": \"opus\",\n\t\"enabledPlugins\": {\n\t\t\"a@m\": true\n\t},\n\t\"theme\": \"dark\"\n}\n";

    const CRLF: &str = "{\r\n  \"enabledPlugins\": {\r\n    \"a@m\": true\r\n  },\r\n  \"model\": \"opus\"\r\n}\r\n";

    const NO_FINAL_NEWLINE: &str = "{\n  \"enabledPlugins\": {\n    \"a@m\": true\n  }\n}";

    const PERMISSIONS: &str = r#"{
  "permissions": {
    "allow": [
      "Bash(ls)",
      "Read"
    ],
    "deny": []
  },
  "enabledPlugins": {
    "a@m": true
  },
  "hooks": {}
}
"#;

    const ESCAPES: &str = r#"{
  "ü": "ö",
  "e": "\u00e9\n\/\"",
  "enabledPlugins": {},
  "z": [1, 2.50, -0e3]
}
"#;

    #[test]
    fn set_table() {
        let t = json!(true);
        let cases: Vec<(&str, &str, Vec<&str>, Value, &str)> = vec![
            (
                "2-space, enabledPlugins first",
                EP_FIRST_2,
                vec!["enabledPlugins", "b@m"],
                t.clone(),
                "{\n  \"enabledPlugins\": {\n    \"a@m\": true,\n    \"b@m\": true\n  },\n  \"model\": \"opus\"\n}\n",
            ),
            (
                "4-space, enabledPlugins last",
                EP_LAST_4,
                vec!["enabledPlugins", "b@m"],
                t.clone(),
                "{\n    \"model\": \"opus\",\n    \"enabledPlugins\": {\n        \"a@m\": true,\n        \"x@m\": false,\n        \"b@m\": true\n    }\n}\n",
            ),
            (
                "tab, enabledPlugins in the middle",
                EP_MIDDLE_TAB,
                vec!["enabledPlugins", "b@m"],
                t.clone(),
                "{\n\t\"model\": \"opus\",\n\t\"enabledPlugins\": {\n\t\t\"a@m\": true,\n\t\t\"b@m\": true\n\t},\n\t\"theme\": \"dark\"\n}\n",
            ),
            (
                "CRLF keeps CRLF",
                CRLF,
                vec!["enabledPlugins", "b@m"],
                t.clone(),
                "{\r\n  \"enabledPlugins\": {\r\n    \"a@m\": true,\r\n    \"b@m\": true\r\n  },\r\n  \"model\": \"opus\"\r\n}\r\n",
            ),
            (
                "CRLF, new nested object",
                CRLF,
                vec!["hooks", "Stop"],
                json!([]),
                "{\r\n  \"enabledPlugins\": {\r\n    \"a@m\": true\r\n  },\r\n  \"model\": \"opus\",\r\n  \"hooks\": {\r\n    \"Stop\": []\r\n  }\r\n}\r\n",
            ),
            (
                "no final newline",
                NO_FINAL_NEWLINE,
                vec!["enabledPlugins", "b@m"],
                t.clone(),
                "{\n  \"enabledPlugins\": {\n    \"a@m\": true,\n    \"b@m\": true\n  }\n}",
            ),
            (
                "nested permissions and arrays around",
                PERMISSIONS,
                vec!["enabledPlugins", "b@m"],
                t.clone(),
                "{\n  \"permissions\": {\n    \"allow\": [\n      \"Bash(ls)\",\n      \"Read\"\n    ],\n    \"deny\": []\n  },\n  \"enabledPlugins\": {\n    \"a@m\": true,\n    \"b@m\": true\n  },\n  \"hooks\": {}\n}\n",
            ),
            (
                "into an empty nested object",
                PERMISSIONS,
                vec!["hooks", "Stop"],
                json!([{"hooks": [{"type": "command", "command": "x"}]}]),
                "{\n  \"permissions\": {\n    \"allow\": [\n      \"Bash(ls)\",\n      \"Read\"\n    ],\n    \"deny\": []\n  },\n  \"enabledPlugins\": {\n    \"a@m\": true\n  },\n  \"hooks\": {\n    \"Stop\": [\n      {\n        \"hooks\": [\n          {\n            \"type\": \"command\",\n            \"command\": \"x\"\n          }\n        ]\n      }\n    ]\n  }\n}\n",
            ),
            (
                "escapes and unicode kept byte-exact",
                ESCAPES,
                vec!["enabledPlugins", "a@m"],
                t.clone(),
                "{\n  \"ü\": \"ö\",\n  \"e\": \"\\u00e9\\n\\/\\\"\",\n  \"enabledPlugins\": {\n    \"a@m\": true\n  },\n  \"z\": [1, 2.50, -0e3]\n}\n",
            ),
            (
                "non-ASCII key and value written raw",
                ESCAPES,
                vec!["enabledPlugins", "ü@m"],
                json!("é\n\"/"),
                "{\n  \"ü\": \"ö\",\n  \"e\": \"\\u00e9\\n\\/\\\"\",\n  \"enabledPlugins\": {\n    \"ü@m\": \"é\\n\\\"/\"\n  },\n  \"z\": [1, 2.50, -0e3]\n}\n",
            ),
            (
                "key escaping",
                EP_FIRST_2,
                vec!["enabledPlugins", "we\"ird\\key\t"],
                t.clone(),
                "{\n  \"enabledPlugins\": {\n    \"a@m\": true,\n    \"we\\\"ird\\\\key\\t\": true\n  },\n  \"model\": \"opus\"\n}\n",
            ),
            (
                "missing enabledPlugins is created at the end",
                "{\n  \"model\": \"opus\"\n}\n",
                vec!["enabledPlugins", "a@m"],
                t.clone(),
                "{\n  \"model\": \"opus\",\n  \"enabledPlugins\": {\n    \"a@m\": true\n  }\n}\n",
            ),
            (
                "missing enabledPlugins, 4 spaces",
                "{\n    \"model\": \"opus\"\n}",
                vec!["enabledPlugins", "a@m"],
                t.clone(),
                "{\n    \"model\": \"opus\",\n    \"enabledPlugins\": {\n        \"a@m\": true\n    }\n}",
            ),
            (
                "object value pretty-printed at depth, 4 spaces",
                EP_LAST_4,
                vec!["permissions"],
                json!({"allow": ["A", "B"], "deny": [], "ask": {}}),
                "{\n    \"model\": \"opus\",\n    \"enabledPlugins\": {\n        \"a@m\": true,\n        \"x@m\": false\n    },\n    \"permissions\": {\n        \"allow\": [\n            \"A\",\n            \"B\"\n        ],\n        \"deny\": [],\n        \"ask\": {}\n    }\n}\n",
            ),
            (
                "empty file object",
                "{}",
                vec!["enabledPlugins", "a@m"],
                t.clone(),
                "{\n  \"enabledPlugins\": {\n    \"a@m\": true\n  }\n}",
            ),
            (
                "empty file object with newline",
                "{}\n",
                vec!["model"],
                json!("opus"),
                "{\n  \"model\": \"opus\"\n}\n",
            ),
            (
                "single line, empty enabledPlugins",
                r#"{"enabledPlugins":{}}"#,
                vec!["enabledPlugins", "a@m"],
                t.clone(),
                r#"{"enabledPlugins":{"a@m":true}}"#,
            ),
            (
                "single line with spaces",
                r#"{"enabledPlugins": {"x@m": true}}"#,
                vec!["enabledPlugins", "a@m"],
                t.clone(),
                r#"{"enabledPlugins": {"x@m": true, "a@m": true}}"#,
            ),
            (
                "single line, compact, new top-level object",
                r#"{"a":1}"#,
                vec!["enabledPlugins", "a@m"],
                t.clone(),
                r#"{"a":1,"enabledPlugins":{"a@m":true}}"#,
            ),
            (
                "single line, padded braces",
                "{ \"a\": 1 }\n",
                vec!["b"],
                json!({"c": [1, 2]}),
                "{ \"a\": 1, \"b\": {\"c\": [1, 2]} }\n",
            ),
            (
                "single-line object inside a pretty file",
                "{\n  \"enabledPlugins\": {\"x@m\": true},\n  \"model\": \"opus\"\n}\n",
                vec!["enabledPlugins", "a@m"],
                t.clone(),
                "{\n  \"enabledPlugins\": {\"x@m\": true, \"a@m\": true},\n  \"model\": \"opus\"\n}\n",
            ),
            (
                "two members per line keep their separator",
                "{\n  \"a\": 1, \"b\": 2\n}\n",
                vec!["c"],
                json!(3),
                "{\n  \"a\": 1, \"b\": 2, \"c\": 3\n}\n",
            ),
            (
                "duplicate key: the last occurrence is edited",
                "{\n  \"enabledPlugins\": {\"a@m\": true},\n  \"enabledPlugins\": {\n    \"b@m\": true\n  }\n}\n",
                vec!["enabledPlugins", "c@m"],
                t.clone(),
                "{\n  \"enabledPlugins\": {\"a@m\": true},\n  \"enabledPlugins\": {\n    \"b@m\": true,\n    \"c@m\": true\n  }\n}\n",
            ),
            (
                "existing member: only its value changes",
                EP_LAST_4,
                vec!["enabledPlugins", "a@m"],
                json!(false),
                "{\n    \"model\": \"opus\",\n    \"enabledPlugins\": {\n        \"a@m\": false,\n        \"x@m\": false\n    }\n}\n",
            ),
            (
                "existing member replaced by an object, pretty at depth",
                EP_FIRST_2,
                vec!["model"],
                json!({"name": "opus", "n": 1}),
                "{\n  \"enabledPlugins\": {\n    \"a@m\": true\n  },\n  \"model\": {\n    \"name\": \"opus\",\n    \"n\": 1\n  }\n}\n",
            ),
            (
                "existing escaped key matched by its value, key text kept",
                "{\n  \"enabledPlugins\": {\n    \"\\u0061@m\": true\n  }\n}\n",
                vec!["enabledPlugins", "a@m"],
                json!(false),
                "{\n  \"enabledPlugins\": {\n    \"\\u0061@m\": false\n  }\n}\n",
            ),
            (
                "equal value: text untouched",
                "{\n  \"e\": \"\\u00e9\",\n  \"n\": 1.0e0\n}",
                vec!["e"],
                json!("é"),
                "{\n  \"e\": \"\\u00e9\",\n  \"n\": 1.0e0\n}",
            ),
            (
                "deep missing path",
                "{\n  \"a\": {}\n}\n",
                vec!["a", "b", "c"],
                json!(null),
                "{\n  \"a\": {\n    \"b\": {\n      \"c\": null\n    }\n  }\n}\n",
            ),
            (
                "odd whitespace around colon is reused",
                "{\n  \"a\" : 1\n}\n",
                vec!["b"],
                json!({"c": 2}),
                "{\n  \"a\" : 1,\n  \"b\" : {\n    \"c\" : 2\n  }\n}\n",
            ),
        ];
        for (name, input, path, value, expected) in &cases {
            check_set(name, input, path, value, expected);
        }
    }

    #[test]
    fn remove_table() {
        let cases: Vec<(&str, &str, Vec<&str>, &str, bool)> = vec![
            (
                "last of two members",
                EP_LAST_4,
                vec!["enabledPlugins", "x@m"],
                "{\n    \"model\": \"opus\",\n    \"enabledPlugins\": {\n        \"a@m\": true\n    }\n}\n",
                true,
            ),
            (
                "first of two members",
                EP_LAST_4,
                vec!["enabledPlugins", "a@m"],
                "{\n    \"model\": \"opus\",\n    \"enabledPlugins\": {\n        \"x@m\": false\n    }\n}\n",
                true,
            ),
            (
                "middle member",
                "{\n\t\"a\": 1,\n\t\"b\": [\n\t\t2\n\t],\n\t\"c\": 3\n}",
                vec!["b"],
                "{\n\t\"a\": 1,\n\t\"c\": 3\n}",
                true,
            ),
            (
                "only member leaves {}",
                EP_FIRST_2,
                vec!["enabledPlugins", "a@m"],
                "{\n  \"enabledPlugins\": {},\n  \"model\": \"opus\"\n}\n",
                true,
            ),
            (
                "whole object member, CRLF",
                CRLF,
                vec!["enabledPlugins"],
                "{\r\n  \"model\": \"opus\"\r\n}\r\n",
                true,
            ),
            (
                "only top-level member",
                "{\n  \"a\": 1\n}\n",
                vec!["a"],
                "{}\n",
                true,
            ),
            (
                "missing member",
                EP_FIRST_2,
                vec!["enabledPlugins", "zz@m"],
                EP_FIRST_2,
                false,
            ),
            (
                "missing intermediate",
                "{\n  \"model\": \"opus\"\n}",
                vec!["enabledPlugins", "a@m"],
                "{\n  \"model\": \"opus\"\n}",
                false,
            ),
            ("empty path", "{}", vec![], "{}", false),
            (
                "single line, last",
                r#"{"enabledPlugins": {"x@m": true, "a@m": true}}"#,
                vec!["enabledPlugins", "a@m"],
                r#"{"enabledPlugins": {"x@m": true}}"#,
                true,
            ),
            (
                "single line, first",
                r#"{"enabledPlugins": {"x@m": true, "a@m": true}}"#,
                vec!["enabledPlugins", "x@m"],
                r#"{"enabledPlugins": {"a@m": true}}"#,
                true,
            ),
            (
                "single line, only",
                r#"{"enabledPlugins":{"a@m":true}}"#,
                vec!["enabledPlugins", "a@m"],
                r#"{"enabledPlugins":{}}"#,
                true,
            ),
            (
                "duplicate keys: every occurrence removed",
                "{\n  \"a\": 1,\n  \"b\": 2,\n  \"a\": 3\n}\n",
                vec!["a"],
                "{\n  \"b\": 2\n}\n",
                true,
            ),
            (
                "escapes elsewhere untouched",
                ESCAPES,
                vec!["z"],
                "{\n  \"ü\": \"ö\",\n  \"e\": \"\\u00e9\\n\\/\\\"\",\n  \"enabledPlugins\": {}\n}\n",
                true,
            ),
        ];
        for (name, input, path, expected, removed) in &cases {
            check_remove(name, input, path, expected, *removed);
        }
    }

    #[test]
    fn every_layout_stays_valid_and_round_trips() {
        let inputs = [
            EP_FIRST_2,
            EP_LAST_4,
            EP_MIDDLE_TAB,
            CRLF,
            NO_FINAL_NEWLINE,
            PERMISSIONS,
            ESCAPES,
            "{}",
            "{ }",
            "{\n}",
            r#"{"enabledPlugins":{}}"#,
            r#"{"a":{"b":{}},"enabledPlugins":{"x":true}}"#,
            "{\n  \"a\": 1 ,\n  \"b\": { \"c\" : [ ] } }",
            "\n\n  {\"a\": [{\"b\": {}}]}  \n",
        ];
        let values = [
            json!(true),
            json!({}),
            json!({"k": [1, {"x": null}]}),
            json!("ü\n"),
        ];
        let paths: [&[&str]; 4] = [
            &["enabledPlugins", "new@m"],
            &["a", "b", "c"],
            &["zz"],
            &["enabledPlugins"],
        ];
        for input in inputs {
            for path in paths {
                for value in &values {
                    let mut doc = JsonDocument::parse(input).expect("parse");
                    if doc.get(&path[..1]).is_some_and(|v| !v.is_object()) && path.len() > 1 {
                        continue;
                    }
                    doc.set(path, value).expect("set");
                    assert_eq!(assert_strict(doc.text()), doc.value(), "{input:?} {path:?}");
                    assert_eq!(doc.get(path).as_ref(), Some(value), "{input:?} {path:?}");
                    assert!(doc.remove(path).expect("remove"), "{input:?} {path:?}");
                    assert_strict(doc.text());
                    assert_eq!(doc.get(path), None, "{input:?} {path:?}");
                }
            }
        }
    }

    #[test]
    fn multi_line_empty_object() {
        // `{` and `}` on separate lines: expanded like `{}`; removing gives back `{}`.
        let input = "{\n  \"enabledPlugins\": {\n  },\n  \"x\": 1\n}\n";
        let mut doc = JsonDocument::parse(input).expect("parse");
        doc.set(&["enabledPlugins", "a@m"], &json!(true))
            .expect("set");
        assert_eq!(
            doc.text(),
            "{\n  \"enabledPlugins\": {\n    \"a@m\": true\n  },\n  \"x\": 1\n}\n"
        );
        assert!(doc.remove(&["enabledPlugins", "a@m"]).expect("remove"));
        assert_eq!(doc.text(), "{\n  \"enabledPlugins\": {},\n  \"x\": 1\n}\n");
    }

    #[test]
    fn new_object_matches_json_stringify() {
        let mut doc = JsonDocument::new_object();
        assert_eq!(doc.text(), "{}\n");
        doc.set(&["enabledPlugins", "a@m"], &json!(true))
            .expect("set");
        assert_eq!(
            doc.text(),
            "{\n  \"enabledPlugins\": {\n    \"a@m\": true\n  }\n}\n"
        );
        doc.set(&["enabledPlugins", "b@m"], &json!(false))
            .expect("set");
        doc.set(&["model"], &json!("opus")).expect("set");
        doc.set(
            &["permissions"],
            &json!({"allow": ["Read"], "deny": [], "x": {}}),
        )
        .expect("set");
        let stringify = format!(
            "{}\n",
            serde_json::to_string_pretty(&doc.value()).expect("serialize")
        );
        assert_eq!(doc.text(), stringify);
        assert!(doc.remove(&["enabledPlugins", "a@m"]).expect("remove"));
        assert!(doc.remove(&["enabledPlugins", "b@m"]).expect("remove"));
        let stringify = format!(
            "{}\n",
            serde_json::to_string_pretty(&doc.value()).expect("serialize")
        );
        assert_eq!(doc.text(), stringify);
        assert_eq!(doc.get(&["enabledPlugins"]), Some(json!({})));
    }

    #[test]
    fn set_whole_document() {
        let mut doc = JsonDocument::parse("{\"a\": 1}\n").expect("parse");
        doc.set(&[], &json!({"b": [true]})).expect("set");
        assert_eq!(doc.text(), "{\n  \"b\": [\n    true\n  ]\n}\n");
        assert!(matches!(
            doc.set(&[], &json!([])),
            Err(JsonEditError::NotAnObject { found: "an array" })
        ));
    }

    #[test]
    fn get_and_value() {
        let doc = JsonDocument::parse(PERMISSIONS).expect("parse");
        assert_eq!(
            doc.get(&["permissions", "allow"]),
            Some(json!(["Bash(ls)", "Read"]))
        );
        assert_eq!(doc.get(&["permissions", "allow", "x"]), None);
        assert_eq!(doc.get(&["nope"]), None);
        assert_eq!(doc.get(&[]), Some(doc.value()));
        assert_eq!(doc.text(), PERMISSIONS);
        let dup = JsonDocument::parse(r#"{"a": 1, "a": 2}"#).expect("parse");
        assert_eq!(dup.get(&["a"]), Some(json!(2)));
    }

    #[test]
    fn syntax_errors() {
        let cases = [
            ("JSONC line comment", "{\n  // x\n  \"a\": 1\n}\n", 2),
            ("block comment", "{ /* x */ }", 1),
            ("trailing comma", "{\n  \"a\": 1,\n}\n", 3),
            ("empty text", "", 1),
            ("whitespace only", " \n", 2),
            ("single quotes", "{'a': 1}", 1),
            ("unquoted key", "{a: 1}", 1),
            ("garbage after", "{} x", 1),
        ];
        for (name, text, want_line) in cases {
            match JsonDocument::parse(text) {
                Err(JsonEditError::Syntax {
                    line,
                    column,
                    message,
                }) => {
                    assert_eq!(line, want_line, "{name}: {message}");
                    assert!(column >= 1, "{name}");
                    assert!(!message.contains(" at line "), "{name}: {message}");
                }
                other => panic!("{name}: expected a syntax error, got {other:?}"),
            }
        }
        let err = JsonDocument::parse("{\"a\": 1,}").expect_err("trailing comma");
        assert!(
            err.to_string()
                .starts_with("invalid JSON at line 1, column "),
            "{err}"
        );
    }

    #[test]
    fn top_level_not_an_object() {
        let cases = [
            ("[]", "an array"),
            ("null", "null"),
            ("\"x\"", "a string"),
            ("42\n", "a number"),
            ("true", "a boolean"),
        ];
        for (text, want) in cases {
            match JsonDocument::parse(text) {
                Err(JsonEditError::NotAnObject { found }) => assert_eq!(found, want, "{text}"),
                other => panic!("{text}: expected NotAnObject, got {other:?}"),
            }
        }
        let err = JsonDocument::parse("[]").expect_err("array");
        assert_eq!(err.to_string(), "the top level is an array, not an object");
    }

    #[test]
    fn not_an_object_on_path() {
        let input = "{\n  \"enabledPlugins\": []\n}\n";
        let mut doc = JsonDocument::parse(input).expect("parse");
        match doc.set(&["enabledPlugins", "a@b"], &json!(true)) {
            Err(JsonEditError::NotAnObjectAt { path, found }) => {
                assert_eq!(path, "enabledPlugins");
                assert_eq!(found, "an array");
            }
            other => panic!("expected NotAnObjectAt, got {other:?}"),
        }
        assert_eq!(doc.text(), input);
        assert!(matches!(
            doc.remove(&["enabledPlugins", "a@b"]),
            Err(JsonEditError::NotAnObjectAt { .. })
        ));

        let mut doc = JsonDocument::parse(r#"{"a": {"b": "s"}}"#).expect("parse");
        let err = doc
            .set(&["a", "b", "c"], &json!(1))
            .expect_err("string on path");
        assert_eq!(err.to_string(), "`a.b` is a string, not an object");
        // The last key itself may be anything: it is replaced.
        doc.set(&["a", "b"], &json!({"c": 1})).expect("replace");
        assert_eq!(doc.text(), r#"{"a": {"b": {"c": 1}}}"#);
    }

    #[test]
    fn repeated_edits_stay_minimal() {
        let mut doc = JsonDocument::parse(PERMISSIONS).expect("parse");
        for i in 0..5 {
            doc.set(&["enabledPlugins", &format!("p{i}@m")], &json!(true))
                .expect("set");
        }
        for i in 0..5 {
            assert!(
                doc.remove(&["enabledPlugins", &format!("p{i}@m")])
                    .expect("remove")
            );
        }
        assert_eq!(doc.text(), PERMISSIONS);
        assert!(doc.remove(&["enabledPlugins", "a@m"]).expect("remove"));
        doc.set(&["enabledPlugins", "a@m"], &json!(true))
            .expect("set");
        assert_eq!(doc.text(), PERMISSIONS);
    }
}
