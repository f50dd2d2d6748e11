//! A small structural checker for JSON manifests that reports problems the way the reference's
//! schema library (zod) does, so that `pm validate` gives the same paths and messages:
//!
//! - a value of the wrong type: `Invalid input: expected string, received number` (`received
//!   undefined` for a missing required field);
//! - a string check: `Invalid string: must start with "./"`, `must end with ".md"`,
//!   `Invalid URL`, or the check's own message;
//! - a union where no option fits: the option that got furthest is reported when exactly one
//!   option failed only on string checks; otherwise one `Invalid input` at the union.
//!
//! Type errors stop a value's checking ("abort"); string checks do not, so every failed check
//! of one string is reported. A [`Schema::Pipe`] (a value that the reference transforms after
//! checking) turns any problem into an abort, which is why `dependencies: ["Bad Name"]` gives
//! `dependencies.0: Invalid input`.

use serde_json::Value;

/// One problem: where (keys and indexes from the document root), what, and whether checking
/// could continue past it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Keys and array indexes from the root.
    pub path: Vec<String>,
    /// The message, in the reference's words.
    pub message: String,
    /// A string check (true) or a type error that stops checking this value (false).
    pub continues: bool,
}

impl Issue {
    /// The path as the reference prints it: segments joined with `.`, `root` when empty.
    pub fn dotted_path(&self, prefix: &str) -> String {
        let joined = self.path.join(".");
        match (prefix.is_empty(), joined.is_empty()) {
            (true, true) => "root".to_owned(),
            (true, false) => joined,
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{joined}"),
        }
    }
}

/// A check on a string value.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// At least this many characters, else the message.
    MinLength(usize, &'static str),
    /// Starts with the text.
    StartsWith(&'static str),
    /// Ends with the text.
    EndsWith(&'static str),
    /// Parses as a URL (a scheme, and for http(s) a host without spaces).
    Url,
    /// A predicate, and the message when it is false.
    Custom(fn(&str) -> bool, &'static str),
}

/// The shape a JSON value must have.
#[derive(Debug, Clone)]
pub enum Schema {
    /// Anything (checked elsewhere, or not at all).
    Any,
    /// A string passing every check.
    String(Vec<Check>),
    /// `true` or `false`.
    Boolean,
    /// Exactly this string.
    Literal(&'static str),
    /// An array of values of one shape.
    Array(Box<Schema>),
    /// An object with these fields (others are ignored here; unknown fields are reported
    /// separately as warnings).
    Object(Vec<Field>),
    /// An object whose every value has one shape.
    Record(Box<Schema>),
    /// One of several shapes.
    Union(Vec<Schema>),
    /// A value the reference transforms after checking: any problem aborts.
    Pipe(Box<Schema>),
    /// A shape checked by a function returning whether the value is acceptable; a refusal is
    /// one aborting `Invalid input`.
    Predicate(fn(&Value) -> bool),
}

/// One field of an [`Schema::Object`].
#[derive(Debug, Clone)]
pub struct Field {
    /// The key.
    pub name: &'static str,
    /// Its shape.
    pub schema: Schema,
    /// Whether a missing key is an error.
    pub required: bool,
}

/// An optional field.
pub fn optional(name: &'static str, schema: Schema) -> Field {
    Field {
        name,
        schema,
        required: false,
    }
}

/// A required field.
pub fn required(name: &'static str, schema: Schema) -> Field {
    Field {
        name,
        schema,
        required: true,
    }
}

/// A string with these checks.
pub fn string(checks: &[Check]) -> Schema {
    Schema::String(checks.to_vec())
}

/// An array of `item`.
pub fn array(item: Schema) -> Schema {
    Schema::Array(Box::new(item))
}

/// A record of `value`.
pub fn record(value: Schema) -> Schema {
    Schema::Record(Box::new(value))
}

/// The reference's word for a JSON value's type in `received …`.
pub fn received(value: Option<&Value>) -> &'static str {
    match value {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

fn type_issue(path: &[String], expected: &str, value: Option<&Value>) -> Issue {
    Issue {
        path: path.to_vec(),
        message: format!(
            "Invalid input: expected {expected}, received {}",
            received(value)
        ),
        continues: false,
    }
}

/// Checks `value` (None: missing) against `schema`; the issues found, paths below `path`.
pub fn check(schema: &Schema, value: Option<&Value>, path: &[String]) -> Vec<Issue> {
    let mut issues = Vec::new();
    check_into(schema, value, path, &mut issues);
    issues
}

fn check_into(schema: &Schema, value: Option<&Value>, path: &[String], issues: &mut Vec<Issue>) {
    match schema {
        Schema::Any => {}
        Schema::String(checks) => match value {
            Some(Value::String(text)) => {
                for check in checks {
                    if let Some(message) = string_check(check, text) {
                        issues.push(Issue {
                            path: path.to_vec(),
                            message,
                            continues: true,
                        });
                    }
                }
            }
            other => issues.push(type_issue(path, "string", other)),
        },
        Schema::Boolean => {
            if !matches!(value, Some(Value::Bool(_))) {
                issues.push(type_issue(path, "boolean", value));
            }
        }
        Schema::Literal(expected) => {
            if value.and_then(Value::as_str) != Some(*expected) {
                issues.push(Issue {
                    path: path.to_vec(),
                    message: format!("Invalid input: expected \"{expected}\""),
                    continues: false,
                });
            }
        }
        Schema::Array(item) => match value {
            Some(Value::Array(items)) => {
                for (index, item_value) in items.iter().enumerate() {
                    let mut item_path = path.to_vec();
                    item_path.push(index.to_string());
                    check_into(item, Some(item_value), &item_path, issues);
                }
            }
            other => issues.push(type_issue(path, "array", other)),
        },
        Schema::Object(fields) => match value {
            Some(Value::Object(map)) => {
                for field in fields {
                    let field_value = map.get(field.name);
                    if field_value.is_none() && !field.required {
                        continue;
                    }
                    let mut field_path = path.to_vec();
                    field_path.push(field.name.to_owned());
                    check_into(&field.schema, field_value, &field_path, issues);
                }
            }
            other => issues.push(type_issue(path, "object", other)),
        },
        Schema::Record(item) => match value {
            Some(Value::Object(map)) => {
                for (key, item_value) in map {
                    let mut item_path = path.to_vec();
                    item_path.push(key.clone());
                    check_into(item, Some(item_value), &item_path, issues);
                }
            }
            other => issues.push(type_issue(path, "record", other)),
        },
        Schema::Union(options) => {
            let mut not_aborted = Vec::new();
            for option in options {
                let option_issues = check(option, value, path);
                if option_issues.is_empty() {
                    return;
                }
                if option_issues.iter().all(|issue| issue.continues) {
                    not_aborted.push(option_issues);
                }
            }
            if not_aborted.len() == 1 {
                issues.extend(not_aborted.into_iter().flatten());
            } else {
                issues.push(Issue {
                    path: path.to_vec(),
                    message: "Invalid input".to_owned(),
                    continues: false,
                });
            }
        }
        Schema::Pipe(inner) => {
            let start = issues.len();
            check_into(inner, value, path, issues);
            for issue in &mut issues[start..] {
                issue.continues = false;
            }
        }
        Schema::Predicate(accepts) => {
            if !value.is_some_and(accepts) {
                issues.push(Issue {
                    path: path.to_vec(),
                    message: "Invalid input".to_owned(),
                    continues: false,
                });
            }
        }
    }
}

fn string_check(check: &Check, text: &str) -> Option<String> {
    match check {
        Check::MinLength(minimum, message) => {
            (text.chars().count() < *minimum).then(|| (*message).to_owned())
        }
        Check::StartsWith(prefix) => (!text.starts_with(prefix))
            .then(|| format!("Invalid string: must start with \"{prefix}\"")),
        Check::EndsWith(suffix) => {
            (!text.ends_with(suffix)).then(|| format!("Invalid string: must end with \"{suffix}\""))
        }
        Check::Url => (!is_url(text)).then(|| "Invalid URL".to_owned()),
        Check::Custom(accepts, message) => (!accepts(text)).then(|| (*message).to_owned()),
    }
}

/// A URL as WHATWG's parser takes it, roughly: a scheme (`letter (letter|digit|+|-|.)* :`),
/// and for the special schemes (http, https, ws, wss, ftp, file) a host with no spaces.
pub fn is_url(text: &str) -> bool {
    let text = text.trim();
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    if !chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        || !chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return false;
    }
    let special = matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "ws" | "wss" | "ftp"
    );
    if !special {
        return true;
    }
    let host_and_rest = rest.trim_start_matches(['/', '\\']);
    let host = host_and_rest
        .split(['/', '\\', '?', '#'])
        .next()
        .unwrap_or_default();
    let host = host.rsplit('@').next().unwrap_or_default();
    !host.is_empty() && !host.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(schema: &Schema, value: &Value) -> Vec<String> {
        check(schema, Some(value), &[])
            .iter()
            .map(|issue| format!("{}: {}", issue.dotted_path(""), issue.message))
            .collect()
    }

    #[test]
    fn a_union_reports_the_one_option_that_only_failed_string_checks() {
        let markdown = string(&[Check::StartsWith("./"), Check::EndsWith(".md")]);
        let agents = Schema::Union(vec![markdown.clone(), array(markdown)]);
        assert_eq!(
            messages(&agents, &json!("./agents")),
            ["root: Invalid string: must end with \".md\""]
        );
        let commands = Schema::Union(vec![
            string(&[Check::StartsWith("./"), Check::EndsWith(".md")]),
            string(&[Check::StartsWith("./")]),
        ]);
        assert_eq!(
            messages(&commands, &json!("commands")),
            ["root: Invalid input"]
        );
        assert!(messages(&commands, &json!("./commands")).is_empty());
    }

    #[test]
    fn a_pipe_aborts() {
        let dependency = Schema::Union(vec![
            Schema::Pipe(Box::new(string(&[Check::Custom(
                |text| !text.contains(' '),
                "no spaces",
            )]))),
            Schema::Object(vec![required("name", string(&[]))]),
        ]);
        let dependencies = array(dependency);
        assert_eq!(
            messages(&dependencies, &json!(["Bad Name"])),
            ["0: Invalid input"]
        );
    }

    #[test]
    fn type_errors_name_both_types() {
        let author = Schema::Object(vec![required(
            "name",
            string(&[Check::MinLength(1, "Author name cannot be empty")]),
        )]);
        assert_eq!(
            messages(&author, &json!("me")),
            ["root: Invalid input: expected object, received string"]
        );
        assert_eq!(
            messages(&author, &json!({"email": "a@b"})),
            ["name: Invalid input: expected string, received undefined"]
        );
        assert_eq!(
            messages(&author, &json!({"name": ""})),
            ["name: Author name cannot be empty"]
        );
    }

    #[test]
    fn urls() {
        assert!(is_url("https://example.com/x"));
        assert!(is_url("mailto:a@b"));
        assert!(!is_url("not a url"));
        assert!(!is_url("http://a b"));
        assert!(!is_url("https://"));
    }
}
