//! Plugin ids: `name@marketplace` (reference-lifecycle.md §5.1).

use std::fmt;

/// A plugin reference as the user typed it: `name@marketplace` or a bare `name`.
///
/// Parsing follows the reference: the text is split on `@`, segments after the second are
/// ignored (`p1@mk1@x` → `p1@mk1`), and `name@` means the bare `name`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PluginRef {
    /// The plugin name (may be empty when the user typed `@mk1`).
    pub name: String,
    /// The marketplace, when one was named.
    pub marketplace: Option<String>,
}

impl PluginRef {
    /// Parses `text` by the reference's rules; never fails (validation happens on lookup).
    pub fn parse(text: &str) -> Self {
        let mut parts = text.split('@');
        let name = parts.next().unwrap_or_default().to_string();
        let marketplace = parts.next().filter(|m| !m.is_empty()).map(str::to_string);
        PluginRef { name, marketplace }
    }

    /// The full id when the marketplace is known.
    pub fn id(&self) -> Option<PluginId> {
        self.marketplace
            .as_ref()
            .map(|m| PluginId::new(&self.name, m))
    }
}

/// A fully qualified plugin id, `name@marketplace`: the key of `enabledPlugins` and of
/// `installed_plugins.json`'s `plugins` map.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PluginId {
    /// Plugin name, as listed in the marketplace.
    pub name: String,
    /// Marketplace name, as in `known_marketplaces.json`.
    pub marketplace: String,
}

impl PluginId {
    /// Builds an id from its two parts.
    pub fn new(name: &str, marketplace: &str) -> Self {
        PluginId {
            name: name.to_string(),
            marketplace: marketplace.to_string(),
        }
    }

    /// Parses a stored key (`name@marketplace`); `None` when there is no `@` or a part is empty.
    pub fn parse_key(key: &str) -> Option<Self> {
        let (name, marketplace) = key.split_once('@')?;
        let marketplace = marketplace.split('@').next().unwrap_or_default();
        if name.is_empty() || marketplace.is_empty() {
            return None;
        }
        Some(PluginId::new(name, marketplace))
    }

    /// The name of the plugin's data directory under `plugins/data/`: the id with every
    /// character outside `[A-Za-z0-9_-]` replaced by `-` (`p1@mk1` → `p1-mk1`).
    pub fn data_dir_name(&self) -> String {
        self.to_string()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    }
}

impl fmt::Display for PluginId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.name, self.marketplace)
    }
}

/// Whether `part` may be one part of a plugin id: letters a-z and A-Z, digits, `.`, `_` and
/// `-`, starting with a letter or digit (the reference's rule for marketplace names).
pub fn is_valid_id_part(part: &str) -> bool {
    let mut chars = part.chars();
    match chars.next() {
        Some(first) if first.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Whether `name` can be used as one path component inside pm's directories: non-empty, not
/// `.` or `..`, and without `/`, `\` or NUL. Plugin and marketplace names that fail this are
/// refused before any path is built from them.
pub fn is_safe_path_component(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_reference_forms() {
        let cases = [
            ("p1@mk1", "p1", Some("mk1")),
            ("p1", "p1", None),
            ("p1@", "p1", None),
            ("@mk1", "", Some("mk1")),
            ("p1@mk1@x", "p1", Some("mk1")),
            ("a@b@mv", "a", Some("b")),
        ];
        for (text, name, marketplace) in cases {
            let parsed = PluginRef::parse(text);
            assert_eq!(parsed.name, name, "{text}");
            assert_eq!(parsed.marketplace.as_deref(), marketplace, "{text}");
        }
    }

    #[test]
    fn data_dir_name_sanitizes() {
        assert_eq!(PluginId::new("p1", "mk1").data_dir_name(), "p1-mk1");
        assert_eq!(PluginId::new("a.b", "m_k").data_dir_name(), "a-b-m_k");
    }

    #[test]
    fn id_parts_and_path_components() {
        assert!(is_valid_id_part("UPPER"));
        assert!(is_valid_id_part("my_mkt"));
        assert!(!is_valid_id_part(".hidden"));
        assert!(!is_valid_id_part("-x"));
        assert!(!is_valid_id_part("a b"));
        assert!(is_safe_path_component("a..b"));
        assert!(!is_safe_path_component(".."));
        assert!(!is_safe_path_component("a/b"));
        assert!(!is_safe_path_component(""));
    }
}
