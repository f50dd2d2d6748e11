//! Version resolution and cache directory names (reference-lifecycle.md §5.3, §5.2).

/// Resolves the version recorded for an install, in the reference's order of precedence:
/// the plugin's `plugin.json` `version`, else the marketplace entry's `version`, else the
/// first 12 hex characters of the source commit, else the literal `unknown`.
///
/// Empty strings count as absent.
pub fn resolve_version(
    plugin_json_version: Option<&str>,
    entry_version: Option<&str>,
    commit_sha: Option<&str>,
) -> String {
    let present = |v: Option<&str>| v.filter(|s| !s.trim().is_empty()).map(str::to_string);
    present(plugin_json_version)
        .or_else(|| present(entry_version))
        .or_else(|| {
            commit_sha
                .filter(|s| s.len() >= 12)
                .map(|s| s[..12].to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// The cache directory name for `version`: every character outside `[A-Za-z0-9._-]` becomes
/// `-` (`1.0/evil` → `1.0-evil`, `../../x` → `..-..-x`). A result of `.` or `..` (which would
/// name a parent directory) is turned into dashes of the same length.
pub fn cache_dir_name(version: &str) -> String {
    let sanitized: String = version
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if sanitized.is_empty() || sanitized.chars().all(|c| c == '.') {
        "-".repeat(sanitized.len().max(1))
    } else {
        sanitized
    }
}

/// Whether going from version `old` to `new` is a downgrade: both parse as semver (a leading `v`
/// allowed) and `new` is lower. Versions that are not semver are never called a downgrade.
pub fn is_downgrade(old: &str, new: &str) -> bool {
    let parse =
        |v: &str| semver::Version::parse(v.trim().strip_prefix('v').unwrap_or(v.trim())).ok();
    matches!((parse(old), parse(new)), (Some(old), Some(new)) if new < old)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(
            resolve_version(Some("2.0.0"), Some("1.0.0"), Some(sha)),
            "2.0.0"
        );
        assert_eq!(resolve_version(None, Some("1.0.0"), Some(sha)), "1.0.0");
        assert_eq!(resolve_version(Some(""), None, Some(sha)), "0123456789ab");
        assert_eq!(resolve_version(None, None, None), "unknown");
        assert_eq!(
            resolve_version(Some("not-semver!"), None, None),
            "not-semver!"
        );
    }

    #[test]
    fn downgrades() {
        assert!(is_downgrade("2.0.0", "0.5.0"));
        assert!(is_downgrade("1.1.0", "1.1.0-beta.1"));
        assert!(is_downgrade("v1.2.0", "1.1.9"));
        assert!(!is_downgrade("1.0.0", "1.0.1"));
        assert!(!is_downgrade("1.0.0", "1.0.0"));
        assert!(!is_downgrade("1.0.0", "unknown"));
        assert!(!is_downgrade("0123456789ab", "abcdef012345"));
    }

    #[test]
    fn sanitizes_cache_names() {
        assert_eq!(cache_dir_name("1.0/evil"), "1.0-evil");
        assert_eq!(cache_dir_name("../../x"), "..-..-x");
        assert_eq!(cache_dir_name("1.0.0+build"), "1.0.0-build");
        assert_eq!(cache_dir_name(".."), "--");
        assert_eq!(cache_dir_name("."), "-");
    }
}
