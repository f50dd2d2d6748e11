//! Every environment variable pm reads, declared once. Libraries never read the
//! environment; `Settings::from_env` turns these into values.

/// Relocates Claude Code's whole config root (default `~/.claude`); a relative value is
/// resolved against the cwd. Read by Claude Code too.
pub const CLAUDE_CONFIG_DIR: &str = "CLAUDE_CONFIG_DIR";
/// Directory holding `managed-settings.json` and `managed-settings.d/` (default
/// `/etc/claude-code` on Linux, `/Library/Application Support/ClaudeCode` on macOS,
/// `C:\Program Files\ClaudeCode` on Windows). For tests and unusual installs.
pub const PM_MANAGED_SETTINGS_DIR: &str = "PM_MANAGED_SETTINGS_DIR";
/// Seconds to wait for another pm process's state lock before failing (default 60).
pub const PM_LOCK_TIMEOUT: &str = "PM_LOCK_TIMEOUT";
/// Any non-empty value other than `0` hides progress bars (as `--no-progress`).
pub const PM_NO_PROGRESS: &str = "PM_NO_PROGRESS";
/// `1`/`true`: fetch with the system `git` executable instead of libgit2.
pub const PM_GIT_FETCH_WITH_CLI: &str = "PM_GIT_FETCH_WITH_CLI";
/// Token for github.com over HTTPS (first of the two that is set).
pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
/// Token for github.com over HTTPS (GitHub CLI's name).
pub const GH_TOKEN: &str = "GH_TOKEN";
