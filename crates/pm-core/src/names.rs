//! Marketplace name rules (reference-lifecycle.md §1.5).
//!
//! A marketplace's name comes from its `marketplace.json` and becomes a directory name under
//! `plugins/marketplaces/` and `plugins/cache/`, and the second half of every plugin id, so it
//! is checked before anything is written.

use crate::id::is_valid_id_part;

/// Names reserved by Claude Code for its own purposes, with the purpose.
pub const RESERVED_NAMES: &[(&str, &str)] = &[
    ("inline", "--plugin-dir session plugins"),
    ("builtin", "built-in plugins"),
    ("skills-dir", "plugins auto-loaded from .claude/skills/"),
    ("synced", "plugins synced from managed settings"),
    ("claude-plugin-test", "plugin tests"),
];

/// Names of official Anthropic marketplaces (compared case-insensitively); usable only with a
/// GitHub source in the `anthropics` organization.
pub const OFFICIAL_NAMES: &[&str] = &[
    "claude-code-marketplace",
    "claude-code-plugins",
    "claude-plugins-official",
    "anthropic-marketplace",
    "anthropic-plugins",
    "agent-skills",
    "anthropic-agent-skills",
    "life-sciences",
    "knowledge-work-plugins",
    "claude-for-legal",
    "claude-for-financial-services",
    "financial-services-plugins",
    "first-party-plugins",
    "claude-tag-plugins",
    "claude-community",
    "claude-plugins-community",
    "claude-plugin-directory",
    "anthropic-plugin-directory",
];

/// Why a marketplace name was refused. `failure_code` is the reference's `failureCode`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The name contains white space.
    #[error(
        "Marketplace name `{0}` cannot contain spaces; use kebab-case (for example `my-marketplace`)"
    )]
    Spaces(String),
    /// `/`, `\`, `..` or exactly `.`.
    #[error(
        "Marketplace name `{0}` cannot contain path separators (/ or \\), \"..\" sequences, or be \".\""
    )]
    PathLike(String),
    /// One of [`RESERVED_NAMES`].
    #[error("Marketplace name `{name}` is reserved for {purpose}")]
    Reserved { name: String, purpose: &'static str },
    /// Looks like an official Anthropic or Claude marketplace.
    #[error("Marketplace name `{0}` impersonates an official Anthropic/Claude marketplace")]
    Impersonation(String),
    /// One of [`OFFICIAL_NAMES`] used with a source outside the `anthropics` GitHub organization.
    #[error(
        "The name `{0}` is reserved for official Anthropic marketplaces and can only be used with GitHub sources from the `anthropics` organization"
    )]
    Official(String),
    /// Not usable as part of a plugin id (must start with a letter or digit; letters, digits, `.`, `_`, `-`).
    #[error(
        "Cannot add marketplace `{0}`: Claude Code cannot install plugins from a marketplace with this name. Each part of a plugin id (plugin@marketplace) may use only the letters a-z and A-Z, digits, \".\", \"_\" and \"-\", and must start with a letter or digit"
    )]
    NotAnIdPart(String),
    /// Empty name.
    #[error("Marketplace name is empty")]
    Empty,
}

impl NameError {
    /// The reference's `failureCode` for this refusal.
    pub fn failure_code(&self) -> &'static str {
        match self {
            NameError::Official(_) | NameError::NotAnIdPart(_) => "error_unknown",
            _ => "manifest_invalid",
        }
    }
}

/// Checks a marketplace `name` read from `marketplace.json`.
///
/// `from_anthropics_github` is true when the marketplace source is a GitHub repository of the
/// `anthropics` organization (only those may use [`OFFICIAL_NAMES`]).
pub fn validate_marketplace_name(
    name: &str,
    from_anthropics_github: bool,
) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().any(char::is_whitespace) {
        return Err(NameError::Spaces(name.to_string()));
    }
    if name.contains(['/', '\\']) || name.contains("..") || name == "." {
        return Err(NameError::PathLike(name.to_string()));
    }
    if let Some((_, purpose)) = RESERVED_NAMES
        .iter()
        .find(|(reserved, _)| *reserved == name)
    {
        return Err(NameError::Reserved {
            name: name.to_string(),
            purpose,
        });
    }
    let lower = name.to_ascii_lowercase();
    if OFFICIAL_NAMES.contains(&lower.as_str()) {
        if from_anthropics_github {
            return Ok(());
        }
        return Err(NameError::Official(name.to_string()));
    }
    if impersonates(&lower) && !from_anthropics_github {
        return Err(NameError::Impersonation(name.to_string()));
    }
    if !is_valid_id_part(name) {
        return Err(NameError::NotAnIdPart(name.to_string()));
    }
    Ok(())
}

/// `claude-official`, `official-anthropic-tools`, `anthropic-marketplace-extra`,
/// `claude-plugins`, `claude-marketplaces`: a name that starts with `claude`/`anthropic`
/// followed by `official`/`marketplace(s)`/`plugin(s)`, or starts with `official` followed by
/// `claude`/`anthropic`. `my-claude-plugins` and `anthropicstuff` pass.
fn impersonates(lower: &str) -> bool {
    let words: Vec<&str> = lower
        .split(['-', '_', '.'])
        .filter(|w| !w.is_empty())
        .collect();
    let brand = |w: &str| w == "claude" || w == "anthropic";
    let official = |w: &str| {
        matches!(
            w,
            "official" | "marketplace" | "marketplaces" | "plugin" | "plugins"
        )
    };
    match words.as_slice() {
        [first, second, ..] if brand(first) && official(second) => true,
        [first, second, ..] if *first == "official" && brand(second) => true,
        _ => {
            // Joined forms: `claudeofficial`, `anthropicmarketplace`.
            ["claude", "anthropic"].iter().any(|b| {
                lower
                    .strip_prefix(b)
                    .is_some_and(|rest| ["official", "marketplace", "plugins"].contains(&rest))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted() {
        for name in [
            "UPPER",
            "my_mkt",
            "x",
            "anthropicstuff",
            "my-claude-plugins",
            "mk1",
        ] {
            assert_eq!(validate_marketplace_name(name, false), Ok(()), "{name}");
        }
    }

    #[test]
    fn refused() {
        let cases: &[(&str, &str)] = &[
            ("Bad Name", "manifest_invalid"),
            ("a/b", "manifest_invalid"),
            ("a\\b", "manifest_invalid"),
            ("../../../.ssh", "manifest_invalid"),
            ("..", "manifest_invalid"),
            (".", "manifest_invalid"),
            ("inline", "manifest_invalid"),
            ("builtin", "manifest_invalid"),
            ("skills-dir", "manifest_invalid"),
            ("claude-official", "manifest_invalid"),
            ("official-anthropic-tools", "manifest_invalid"),
            ("anthropic-marketplace-extra", "manifest_invalid"),
            ("claude-plugins", "manifest_invalid"),
            ("claude-marketplaces", "manifest_invalid"),
            ("claude-plugins-official", "error_unknown"),
            ("Anthropic-Plugins", "error_unknown"),
            ("anthropic-plugin-directory", "error_unknown"),
            (".hidden", "error_unknown"),
            ("-dash", "error_unknown"),
        ];
        for (name, code) in cases {
            let error = validate_marketplace_name(name, false).expect_err(name);
            assert_eq!(error.failure_code(), *code, "{name}: {error}");
        }
    }

    #[test]
    fn official_names_allowed_for_anthropics() {
        assert_eq!(
            validate_marketplace_name("claude-plugins-official", true),
            Ok(())
        );
        assert!(validate_marketplace_name("../x", true).is_err());
    }
}
