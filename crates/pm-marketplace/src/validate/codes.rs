//! pm's findings beyond the reference's catalogue, by their stable `code` (the reference's own
//! findings have `code: null`). Each one prevents a real failure or, for the `--strict` ones,
//! applies a rule of the marketplace implementation guide (seed 002: naming
//! `[a-z0-9]+(-[a-z0-9]+)*`, frontmatter rules, field tables, name and version consistency,
//! component existence). docs/validate.md lists them with examples.
//!
//! Always checked (warnings unless noted):

/// A `version` (plugin.json, or a marketplace entry's) that is not semantic versioning
/// (`X.Y.Z`, optional pre-release and build): `pm tag` and Claude Code's dependency ranges
/// refuse it.
pub const VERSION_NOT_SEMVER: &str = "version-not-semver";
/// A marketplace entry's `name` differs from its plugin's plugin.json `name`.
pub const NAME_MISMATCH: &str = "name-mismatch";
/// A marketplace entry's relative `source` names a directory that does not exist: installing
/// that plugin fails.
pub const SOURCE_MISSING: &str = "source-missing";
/// A manifest (error) or component file (warning) that is not valid UTF-8; Claude Code reads it
/// with U+FFFD replacement characters.
pub const NOT_UTF8: &str = "not-utf8";
/// A file larger than validate's read cap (error for manifests, warning for component files):
/// it was not validated.
pub const FILE_TOO_LARGE: &str = "file-too-large";
/// A path that could not be read (not a regular file, permission denied, …).
pub const FILE_UNREADABLE: &str = "file-unreadable";
/// A component file or directory that is a symbolic link: validate does not follow links.
pub const SYMLINK_NOT_FOLLOWED: &str = "symlink-not-followed";
/// A frontmatter block opened with `---` and never closed: the whole file is read as body, so
/// no description or other metadata is read (replaces the reference's "No frontmatter block
/// found" for this case, same path and severity).
pub const FRONTMATTER_UNCLOSED: &str = "frontmatter-unclosed";
/// An `.lsp.json` (or plugin.json `lspServers` file) that is not valid JSON or not an object of
/// servers: no LSP server of the plugin starts.
pub const LSP_INVALID: &str = "lsp-invalid";
/// An LSP server without a `command` string or without a non-empty `extensionToLanguage` map:
/// the server is dropped.
pub const LSP_SERVER_INVALID: &str = "lsp-server-invalid";
/// A dependency on a plugin the marketplace does not list: Claude Code warns at install and the
/// plugin runs without it.
pub const DEPENDENCY_UNKNOWN: &str = "dependency-unknown";
/// A dependency in another marketplace that the listing marketplace does not name in
/// `allowCrossMarketplaceDependenciesOn`: Claude Code silently skips it. (Validating a plugin
/// on its own, only with `--strict`, since the listing marketplace is not known.)
pub const DEPENDENCY_NOT_ALLOWED: &str = "dependency-not-allowed";
/// A directory scan stopped at its limit (entries or depth); the rest was not validated.
pub const SCAN_LIMIT: &str = "scan-limit";

// With `--strict` only (the seed's rules; all warnings, so `--strict` fails on them):

/// An identifier that is not kebab-case (`[a-z0-9]+(-[a-z0-9]+)*`): a marketplace name, an
/// entry name, an agent's `name`, a command's file name.
pub const NOT_KEBAB_CASE: &str = "not-kebab-case";
/// A field the seed's field tables require is missing (marketplace `version`, entry
/// `version`/`description`/`author`, a skill's or agent's `name`).
pub const FIELD_MISSING: &str = "field-missing";
/// An `author.email` (or `owner.email`) without `@` and a domain.
pub const EMAIL_INVALID: &str = "email-invalid";
/// A frontmatter fence with trailing characters (`--- `), or a tab inside the YAML.
pub const FRONTMATTER_STYLE: &str = "frontmatter-style";
/// `tools` / `allowed-tools` written as a YAML list instead of a comma-separated string.
pub const TOOLS_FORMAT: &str = "tools-format";
/// `tools` in a skill or `allowed-tools` in an agent: the wrong field name for that component,
/// ignored, so every tool is allowed.
pub const TOOLS_FIELD_NAME: &str = "tools-field-name";
/// An agent `model` other than `sonnet`, `opus`, `haiku` or `inherit`.
pub const AGENT_MODEL: &str = "agent-model";
/// A directory under `skills/` without `SKILL.md`, or a loose `skills/*.md` file: no skill
/// loads from it.
pub const SKILL_LAYOUT: &str = "skill-layout";
/// A marketplace entry's `components` lists a command, agent, skill or hook event that the
/// plugin does not have.
pub const COMPONENT_MISSING: &str = "component-missing";

/// Every code, for documentation and tests: (code, strict only).
pub const ALL: &[(&str, bool)] = &[
    (VERSION_NOT_SEMVER, false),
    (NAME_MISMATCH, false),
    (SOURCE_MISSING, false),
    (NOT_UTF8, false),
    (FILE_TOO_LARGE, false),
    (FILE_UNREADABLE, false),
    (SYMLINK_NOT_FOLLOWED, false),
    (FRONTMATTER_UNCLOSED, false),
    (LSP_INVALID, false),
    (LSP_SERVER_INVALID, false),
    (DEPENDENCY_UNKNOWN, false),
    (DEPENDENCY_NOT_ALLOWED, false),
    (SCAN_LIMIT, false),
    (NOT_KEBAB_CASE, true),
    (FIELD_MISSING, true),
    (EMAIL_INVALID, true),
    (FRONTMATTER_STYLE, true),
    (TOOLS_FORMAT, true),
    (TOOLS_FIELD_NAME, true),
    (AGENT_MODEL, true),
    (SKILL_LAYOUT, true),
    (COMPONENT_MISSING, true),
];
