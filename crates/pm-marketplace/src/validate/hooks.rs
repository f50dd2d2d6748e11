//! Hook configuration, inline in plugin.json (`hooks: {…}`) or in `hooks/hooks.json`
//! (`{"hooks": {…}}`): the reference's loader drops what it cannot load (an unknown event, a
//! matcher or entry of the wrong shape) with a note, except under `PreToolUse` and
//! `PermissionRequest`, whose hooks may guard permissions: there a bad entry is an error.

use super::report::ProvidedHook;
use super::schema::{self, Schema};
use serde_json::{Map, Value};

/// Claude Code 2.1.329's hook events.
pub const EVENTS: &[&str] = &[
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PostToolBatch",
    "Notification",
    "UserPromptSubmit",
    "UserPromptExpansion",
    "SessionStart",
    "SessionEnd",
    "Stop",
    "StopFailure",
    "SubagentStart",
    "SubagentStop",
    "PreCompact",
    "PostCompact",
    "PreModelSwitch",
    "PostModelSwitch",
    "PermissionRequest",
    "PermissionDenied",
    "Setup",
    "TeammateIdle",
    "TaskCreated",
    "TaskCompleted",
    "Elicitation",
    "ElicitationResult",
    "ConfigChange",
    "WorktreeCreate",
    "WorktreeRemove",
    "InstructionsLoaded",
    "CwdChanged",
    "FileChanged",
    "DirectoryAdded",
    "MessageDisplay",
];

/// Events whose hooks may guard permissions.
const GUARDS: &[&str] = &["PreToolUse", "PermissionRequest"];

/// The hook types and the string field each requires.
const HOOK_TYPES: &[(&str, Option<&str>)] = &[
    ("command", Some("command")),
    ("prompt", Some("prompt")),
    ("agent", Some("prompt")),
    ("http", Some("url")),
    ("mcp_tool", None),
];

/// The reference's ending for an error about a guard hook that cannot be loaded.
pub const GUARD_CONSEQUENCE: &str = "a PreToolUse/PermissionRequest hook that cannot be loaded may be what guards the permissions declared beside it, so nothing it sits in is applied until the entry is fixed or removed";

/// What normalizing a hooks object found.
#[derive(Debug, Default)]
pub struct Normalized {
    /// Entries dropped (each `…; entry ignored`): warnings `hooks: <note> at runtime`.
    pub notes: Vec<String>,
    /// Guard entries that cannot load: errors.
    pub unloadable_guards: Vec<String>,
}

/// `a string`, `an object`, `an array`, `null`, `undefined`: the reference's words for a value.
pub fn described(value: Option<&Value>) -> String {
    match value {
        None => "undefined".to_owned(),
        Some(Value::Null) => "null".to_owned(),
        Some(Value::Array(_)) => "an array".to_owned(),
        Some(Value::Object(_)) => "an object".to_owned(),
        Some(Value::String(_)) => "a string".to_owned(),
        Some(Value::Number(_)) => "a number".to_owned(),
        Some(Value::Bool(_)) => "a boolean".to_owned(),
    }
}

/// Whether `value` looks like one matcher (`{"matcher": …, "hooks": [...]}`) rather than a
/// map of events.
pub fn looks_like_matcher(value: &Value) -> bool {
    let Value::Object(map) = value else {
        return false;
    };
    if !map.contains_key("matcher") && map.keys().any(|key| EVENTS.contains(&key.as_str())) {
        return false;
    }
    match map.get("hooks") {
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::Object(inner)) => {
            map.contains_key("matcher") || inner.get("type").is_some_and(Value::is_string)
        }
        _ => false,
    }
}

/// Why a hook entry cannot load, or `None`.
fn hook_entry_problem(entry: &Value) -> Option<String> {
    let Value::Object(map) = entry else {
        return Some(format!(
            "Hook entry must be an object; received {}",
            described(Some(entry))
        ));
    };
    let hook_type = match map.get("type") {
        None => return Some("Hook entry has no \"type\"".to_owned()),
        Some(Value::String(text)) => text,
        Some(other) => {
            return Some(format!(
                "Hook entry \"type\" must be a string; received {}",
                described(Some(other))
            ));
        }
    };
    let Some((_, needed)) = HOOK_TYPES.iter().find(|(name, _)| name == hook_type) else {
        return Some(format!("Unknown hook type \"{hook_type}\""));
    };
    if let Some(field) = needed
        && !map.get(*field).is_some_and(Value::is_string)
    {
        return Some(format!(
            "Invalid {hook_type} hook ({field}: Invalid input: expected string, received {})",
            schema::received(map.get(*field))
        ));
    }
    None
}

/// Normalizes the `hooks` map in place as the reference's loader does: unknown events and bad
/// matchers or entries of ordinary events are removed with a note; bad guard entries stay and
/// are reported as unloadable.
pub fn normalize(hooks: &mut Value) -> Normalized {
    let mut result = Normalized::default();
    let is_matcher_list =
        matches!(hooks, Value::Array(items) if items.iter().any(looks_like_matcher));
    if looks_like_matcher(hooks) || is_matcher_list {
        result.unloadable_guards.push(format!(
            "hooks: must be an object mapping event names to matcher arrays; received {}",
            if is_matcher_list {
                "an array of matchers"
            } else {
                "a single matcher"
            }
        ));
        return result;
    }
    let Value::Object(map) = hooks else {
        return result;
    };
    let events: Vec<String> = map.keys().cloned().collect();
    for event in events {
        let guard = GUARDS.contains(&event.as_str());
        if !EVENTS.contains(&event.as_str()) {
            map.remove(&event);
            result
                .notes
                .push(format!("hooks.{event}: unknown hook event; entry ignored"));
            continue;
        }
        let Some(Value::Array(matchers)) = map.get_mut(&event) else {
            let value = map.get(&event);
            let received = described(value);
            if guard && !matches!(value, Some(Value::Null)) {
                result.unloadable_guards.push(format!(
                    "hooks.{event}: must be an array of matchers; received {received}"
                ));
            } else {
                map.remove(&event);
                result.notes.push(format!(
                    "hooks.{event}: must be an array of matchers; received {received}; entry ignored"
                ));
            }
            continue;
        };
        let mut problems = Vec::new();
        let mut index = matchers.len();
        while index > 0 {
            index -= 1;
            let matcher = &mut matchers[index];
            let Value::Object(matcher_map) = matcher else {
                problems.push((
                    index.to_string(),
                    format!(
                        "Hook matcher must be an object; received {}",
                        described(Some(matcher))
                    ),
                ));
                if !guard {
                    matchers.remove(index);
                }
                continue;
            };
            let Some(Value::Array(entries)) = matcher_map.get_mut("hooks") else {
                let received = described(matcher_map.get("hooks"));
                problems.push((
                    index.to_string(),
                    format!(
                        "Hook matcher \"hooks\" must be an array of hook entries; received {received}"
                    ),
                ));
                if !guard {
                    matchers.remove(index);
                }
                continue;
            };
            let mut entry_problems = Vec::new();
            let mut entry_index = entries.len();
            while entry_index > 0 {
                entry_index -= 1;
                if let Some(problem) = hook_entry_problem(&entries[entry_index]) {
                    entry_problems.push((format!("{index}.hooks.{entry_index}"), problem));
                    if !guard {
                        entries.remove(entry_index);
                    }
                }
            }
            if let Some(matcher_value) = matcher_map.get("matcher")
                && !matcher_value.is_string()
            {
                problems.push((
                    index.to_string(),
                    format!(
                        "Invalid hook matcher (matcher: Invalid input: expected string, received {})",
                        schema::received(Some(matcher_value))
                    ),
                ));
                if !guard {
                    matchers.remove(index);
                }
                continue;
            }
            problems.extend(entry_problems);
        }
        problems.reverse();
        for (path, problem) in problems {
            if guard {
                result
                    .unloadable_guards
                    .push(format!("hooks.{event}.{path}: {problem}"));
            } else {
                result
                    .notes
                    .push(format!("hooks.{event}.{path}: {problem}; entry ignored"));
            }
        }
    }
    result
}

/// The shape of a normalized hooks map: events to arrays of `{matcher?, hooks: [entry]}`.
pub fn record_schema() -> Schema {
    schema::record(schema::array(Schema::Object(vec![
        schema::optional("matcher", schema::string(&[])),
        schema::required(
            "hooks",
            schema::array(Schema::Predicate(|entry| {
                hook_entry_problem(entry).is_none()
            })),
        ),
    ])))
}

/// The placeholders of `command` that are not inside quotes (`${CLAUDE_PLUGIN_ROOT}` …): the
/// reference warns that an expanded path with a space splits the command.
pub fn unquoted_placeholders(command: &str) -> Vec<String> {
    const VARIABLES: &[&str] = &[
        "CLAUDE_PLUGIN_ROOT",
        "CLAUDE_PLUGIN_DATA",
        "CLAUDE_PROJECT_DIR",
    ];
    let mut found: Vec<String> = Vec::new();
    let (mut single, mut double) = (false, false);
    let mut chars = command.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if !single && c == '\\' {
            chars.next();
            continue;
        }
        if c == '\'' && !double {
            single = !single;
            continue;
        }
        if c == '"' && !single {
            double = !double;
            continue;
        }
        if c != '$' || single || double {
            continue;
        }
        let rest = &command[index + 1..];
        for variable in VARIABLES {
            let braced = rest.starts_with(&format!("{{{variable}}}"));
            let bare = rest.starts_with(variable)
                && !rest[variable.len()..]
                    .chars()
                    .next()
                    .is_some_and(|next| next.is_ascii_alphanumeric() || next == '_');
            if braced || bare {
                let placeholder = format!("${{{variable}}}");
                if !found.contains(&placeholder) {
                    found.push(placeholder);
                }
                break;
            }
        }
    }
    found
}

/// The reference's warnings for unquoted placeholders in command hooks (`hooks.<event>`).
pub fn placeholder_warnings(hooks: &Map<String, Value>) -> Vec<(String, String)> {
    let mut warnings = Vec::new();
    for (event, matchers) in hooks {
        for matcher in matchers.as_array().into_iter().flatten() {
            for entry in matcher
                .get("hooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if entry.get("type").and_then(Value::as_str) != Some("command")
                    || entry.get("args").is_some()
                    || entry.get("shell").and_then(Value::as_str) == Some("powershell")
                {
                    continue;
                }
                let Some(command) = entry.get("command").and_then(Value::as_str) else {
                    continue;
                };
                let placeholders = unquoted_placeholders(command);
                if !placeholders.is_empty() {
                    warnings.push((
                        format!("hooks.{event}"),
                        format!(
                            "Shell command uses {} without quotes: {}. If the expanded path contains a space the command can split into several words and fail. Wrap the placeholder in double quotes, or use exec form: {{\"command\": \"<executable>\", \"args\": [\"${{CLAUDE_PLUGIN_ROOT}}/...\"]}}.",
                            placeholders.join(", "),
                            super::report::truncate(command, 200)
                        ),
                    ));
                }
            }
        }
    }
    warnings
}

/// The hooks a normalized map registers, in file order.
pub fn provided(hooks: &Map<String, Value>) -> Vec<ProvidedHook> {
    let mut provided = Vec::new();
    for (event, matchers) in hooks {
        for matcher in matchers.as_array().into_iter().flatten() {
            let matcher_text = matcher
                .get("matcher")
                .and_then(Value::as_str)
                .map(str::to_owned);
            for entry in matcher
                .get("hooks")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let hook_type = entry
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("command");
                let command = ["command", "prompt", "url"]
                    .iter()
                    .find_map(|key| entry.get(*key).and_then(Value::as_str))
                    .map(str::to_owned);
                provided.push(ProvidedHook {
                    event: event.clone(),
                    matcher: matcher_text.clone(),
                    hook_type: hook_type.to_owned(),
                    command,
                });
            }
        }
    }
    provided
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unknown_events_and_bad_entries_are_dropped_with_notes() {
        let mut hooks = json!({
            "NotAnEvent": [{"hooks": [{"type": "command", "command": "x"}]}],
            "Stop": [{"hooks": [{"type": "weird"}, {"type": "command", "command": "ok"}]}],
            "SessionEnd": {},
        });
        let normalized = normalize(&mut hooks);
        assert_eq!(
            normalized.notes,
            [
                "hooks.NotAnEvent: unknown hook event; entry ignored",
                "hooks.Stop.0.hooks.0: Unknown hook type \"weird\"; entry ignored",
                "hooks.SessionEnd: must be an array of matchers; received an object; entry ignored",
            ]
        );
        assert!(normalized.unloadable_guards.is_empty());
        assert_eq!(hooks["Stop"][0]["hooks"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn a_bad_guard_entry_cannot_load() {
        let mut hooks = json!({"PreToolUse": [{"hooks": [{"type": "command"}]}]});
        let normalized = normalize(&mut hooks);
        assert_eq!(
            normalized.unloadable_guards,
            [
                "hooks.PreToolUse.0.hooks.0: Invalid command hook (command: Invalid input: expected string, received undefined)"
            ]
        );
    }

    #[test]
    fn placeholders_outside_quotes() {
        assert_eq!(
            unquoted_placeholders("bash ${CLAUDE_PLUGIN_ROOT}/x.sh"),
            ["${CLAUDE_PLUGIN_ROOT}"]
        );
        assert!(unquoted_placeholders("bash \"${CLAUDE_PLUGIN_ROOT}/x.sh\"").is_empty());
        assert!(unquoted_placeholders("echo '$CLAUDE_PLUGIN_ROOT'").is_empty());
        assert_eq!(
            unquoted_placeholders("$CLAUDE_PROJECT_DIR/a $CLAUDE_PLUGIN_ROOTX"),
            ["${CLAUDE_PROJECT_DIR}"]
        );
    }
}
