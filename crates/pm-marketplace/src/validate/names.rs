//! Name rules and field-name messages shared by the plugin and marketplace checks
//! (reference-advanced.md §5; seed 002's identifier rule).

use pm_core::id::is_valid_id_part;

/// The seed's identifier rule and the Claude.ai marketplace sync's: `[a-z0-9]+(-[a-z0-9]+)*`.
pub fn is_kebab_case(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

/// Claude Desktop's rule for marketplace and plugin names:
/// `^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`.
pub fn is_desktop_name(name: &str) -> bool {
    name.chars().count() <= 128 && is_valid_id_part(name)
}

/// Characters that make Claude Code refuse a plugin loaded by path (`--plugin-dir`): `@`, `:`,
/// white space, `/`, `\`.
pub fn refused_by_path(name: &str) -> bool {
    name.chars()
        .any(|c| matches!(c, '@' | ':' | '/' | '\\') || c.is_whitespace())
}

/// Control and bidirectional-formatting characters, refused in names.
pub fn has_control_characters(name: &str) -> bool {
    name.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

/// The suffix the reference adds when a name holds characters it does not show.
pub fn hidden_character_note(name: &str) -> &'static str {
    if has_control_characters(name) {
        " The name holds a character that is not shown here."
    } else {
        ""
    }
}

/// The reference's warning for a plugin name that is not kebab-case, with the consequence that
/// fits the name.
pub fn not_kebab_message(name: &str) -> String {
    let consequence = if refused_by_path(name) {
        "Claude Code refuses a plugin with this name when it is loaded by path (such as --plugin-dir), and cannot install it from a marketplace that lists it under this name. The"
    } else if !is_valid_id_part(name) {
        "Claude Code cannot install it from a marketplace that lists it under this name, and the"
    } else {
        "Claude Code accepts it, but the"
    };
    format!(
        "Plugin name \"{name}\" is not kebab-case. {consequence} Claude.ai marketplace sync requires kebab-case (lowercase letters, digits, and hyphens only, e.g., \"my-plugin\").{}",
        hidden_character_note(name)
    )
}

/// What the reference says about a third-party plugin name that passes as Anthropic's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReservedName {
    /// Refused: starts with `claude-`, `anthropic-`, `anthropics-`, `cc-plugin-`; is `claude`,
    /// `anthropic`, `anthropics`, `claude-code`, `claude-mods`; or puts `official` beside
    /// `claude`/`anthropic`.
    Error(String),
    /// Contains `claude`, `anthropic` or `anthropics` as a word.
    Warning(String),
}

/// The reference's check of a plugin name against Anthropic's own names.
pub fn reserved_plugin_name(name: &str) -> Option<ReservedName> {
    let lower = name.to_lowercase();
    let shown = if name.is_ascii() {
        format!("\"{name}\"")
    } else {
        format!("\"{name}\" (read as \"{lower}\")")
    };
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    let leading = ["claude", "anthropic", "anthropics", "ccplugin"];
    let whole = [
        "claude",
        "anthropic",
        "anthropics",
        "claudecode",
        "claudemods",
    ];
    let longest = 10;
    let mut joined = String::new();
    let mut reserved = false;
    for (index, word) in words.iter().enumerate() {
        joined.push_str(word);
        let is_whole = index + 1 == words.len();
        if (is_whole && whole.contains(&joined.as_str()))
            || (!is_whole && leading.contains(&joined.as_str()))
        {
            reserved = true;
            break;
        }
        if joined.len() > longest {
            break;
        }
    }
    if reserved || official_beside_brand(&lower) || official_beside_brand(&words.concat()) {
        return Some(ReservedName::Error(format!(
            "Plugin name {shown} is reserved: it passes as one of Anthropic's own. A third party's plugin name cannot start with \"claude-\", \"anthropic-\", \"anthropics-\", or \"cc-plugin-\", be \"claude\", \"anthropic\", \"anthropics\", \"claude-code\", or \"claude-mods\", or put \"official\" beside \"claude\" or \"anthropic\". Name it for what it does."
        )));
    }
    if words
        .iter()
        .any(|word| matches!(*word, "claude" | "anthropic" | "anthropics"))
    {
        return Some(ReservedName::Warning(format!(
            "Plugin name {shown} reads as one of Anthropic's own. Name it for what it does."
        )));
    }
    None
}

/// `official[^a-z0-9]*(anthropic|claude)` or `(anthropic|claude)[^a-z0-9]*official`, anywhere.
fn official_beside_brand(lower: &str) -> bool {
    let separators = |text: &str| text.chars().all(|c| !c.is_ascii_alphanumeric());
    for (start, _) in lower.match_indices("official") {
        let after = &lower[start + "official".len()..];
        for brand in ["anthropic", "claude"] {
            if let Some(position) = after.find(brand)
                && separators(&after[..position])
            {
                return true;
            }
        }
        let before = &lower[..start];
        for brand in ["anthropic", "claude"] {
            if let Some(position) = before.rfind(brand)
                && separators(&before[position + brand.len()..])
            {
                return true;
            }
        }
    }
    false
}

/// Fields seen in other tools' manifests, and which (the reference's list).
const COMMONLY_SEEN: &[(&str, &str)] = &[
    ("publisher", "a VS Code/Cursor extension manifest"),
    ("categories", "a VS Code/Cursor extension manifest"),
    ("icon", "a VS Code/Cursor extension manifest"),
    ("contributes", "a VS Code/Cursor extension manifest"),
    ("activationEvents", "a VS Code/Cursor extension manifest"),
    ("preview", "a VS Code/Cursor extension manifest"),
    ("main", "an npm package.json"),
    ("type", "an npm package.json"),
    ("files", "an npm package.json"),
    ("bin", "an npm package.json"),
    ("scripts", "an npm package.json"),
    ("private", "an npm package.json"),
    ("bugs", "an npm package.json"),
    ("contributors", "an npm package.json"),
    ("dxt_version", "an MCPB/DXT manifest"),
    ("mcpb_version", "an MCPB/DXT manifest"),
    ("user_config", "an MCPB/DXT manifest"),
    ("compatibility", "an MCPB/DXT manifest"),
    ("server", "an MCP server manifest"),
    ("tools", "an MCP server manifest"),
    ("prompts", "an MCP server manifest"),
    ("resources", "an MCP server manifest"),
    ("logo", "manifests across many tools"),
    ("readme", "manifests across many tools"),
    ("changelog", "manifests across many tools"),
    ("support", "manifests across many tools"),
    ("privacy_policy", "manifests across many tools"),
    ("privacy_policies", "manifests across many tools"),
    ("terms_of_service", "manifests across many tools"),
    ("_comment", "manifests across many tools"),
    ("$id", "a JSON Schema document"),
    ("$comment", "a JSON Schema document"),
];

/// Other tools' spellings of Claude Code's fields.
const CROSS_TOOL_SPELLINGS: &[(&str, &str)] = &[("user_config", "userConfig")];

/// The reference's warning for an unknown field `key`, given the known fields (for "did you
/// mean") and the fields that belong in a marketplace entry instead (for plugin.json).
pub fn unknown_field_message(key: &str, known: &[&str], entry_only: &[&str]) -> String {
    if entry_only.contains(&key) {
        return format!(
            "Field '{key}' belongs in the marketplace entry (marketplace.json), not plugin.json. It's harmless here but unused \u{2014} Claude Code ignores it at load time."
        );
    }
    if let Some(suggestion) = closest(key, known) {
        return format!(
            "Unknown field '{key}' \u{2014} did you mean '{suggestion}'? Claude Code ignores unrecognized fields at load time, so this field has no effect."
        );
    }
    if let Some((_, spelling)) = CROSS_TOOL_SPELLINGS.iter().find(|(other, _)| *other == key)
        && known.contains(spelling)
    {
        return format!(
            "Field '{key}' is the cross-tool spelling of Claude Code's '{spelling}'. Rename it to '{spelling}' for Claude Code to read it (the option shapes differ slightly \u{2014} re-run validate after renaming to check). As-is, Claude Code ignores it at load time."
        );
    }
    if let Some((_, source)) = COMMONLY_SEEN.iter().find(|(field, _)| *field == key) {
        return format!(
            "Unknown field '{key}' (commonly seen in {source}). Claude Code ignores unrecognized fields at load time, so it's safe to keep."
        );
    }
    format!("Unknown field '{key}'. Claude Code ignores it at load time.")
}

/// The known field closest to `key` (same letters ignoring case, or within 1 edit for keys of
/// up to 3 characters, 2 edits otherwise); none for fields of [`COMMONLY_SEEN`].
fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    if COMMONLY_SEEN.iter().any(|(field, _)| *field == key) {
        return None;
    }
    let limit = if key.chars().count() <= 3 { 1 } else { 2 };
    let lower = key.to_lowercase();
    let mut best: Option<(&str, usize)> = None;
    for candidate in known {
        if candidate.chars().count().abs_diff(key.chars().count()) > limit {
            continue;
        }
        if candidate.to_lowercase() == lower {
            return Some(candidate);
        }
        let distance = edit_distance(key, candidate);
        if distance <= limit && best.is_none_or(|(_, d)| distance < d) {
            best = Some((candidate, distance));
        }
    }
    best.map(|(candidate, _)| candidate)
}

/// Levenshtein distance in characters.
fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    for (i, l) in left.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, r) in right.iter().enumerate() {
            let substitution = previous[j] + usize::from(l != *r);
            let insertion = current[j] + 1;
            let deletion = previous[j + 1] + 1;
            current.push(substitution.min(insertion).min(deletion));
        }
        previous = current;
    }
    previous[right.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case() {
        for good in ["a", "git-tools", "a1-b2"] {
            assert!(is_kebab_case(good), "{good}");
        }
        for bad in ["", "-a", "a-", "a--b", "A", "a_b", "a.b"] {
            assert!(!is_kebab_case(bad), "{bad}");
        }
    }

    #[test]
    fn reserved_names() {
        assert!(matches!(
            reserved_plugin_name("claude-router"),
            Some(ReservedName::Error(_))
        ));
        assert!(matches!(
            reserved_plugin_name("claude-code"),
            Some(ReservedName::Error(_))
        ));
        assert!(matches!(
            reserved_plugin_name("my-official-claude-kit"),
            Some(ReservedName::Error(_))
        ));
        assert!(matches!(
            reserved_plugin_name("tools-for-claude"),
            Some(ReservedName::Warning(_))
        ));
        assert_eq!(reserved_plugin_name("claudeai"), None);
        assert_eq!(reserved_plugin_name("git-tools"), None);
    }

    #[test]
    fn unknown_fields() {
        let known = ["description", "keywords", "name"];
        assert!(
            unknown_field_message("descripton", &known, &[]).contains("did you mean 'description'")
        );
        assert!(unknown_field_message("Keywords", &known, &[]).contains("did you mean 'keywords'"));
        assert!(
            unknown_field_message("_comment", &known, &[])
                .contains("commonly seen in manifests across many tools")
        );
        assert_eq!(
            unknown_field_message("bogus", &known, &[]),
            "Unknown field 'bogus'. Claude Code ignores it at load time."
        );
        assert!(
            unknown_field_message("tags", &known, &["tags"])
                .starts_with("Field 'tags' belongs in the marketplace entry")
        );
    }
}
