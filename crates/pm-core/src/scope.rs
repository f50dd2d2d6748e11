//! Scopes and the settings file each one means (reference-lifecycle.md §0, spec README
//! "Locations").

use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A settings scope. `Managed` is read-only for pm's writes (settings written by an admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// `<config root>/settings.json`.
    User,
    /// `<cwd>/.claude/settings.json`.
    Project,
    /// `<git root of cwd>/.claude/settings.local.json`.
    Local,
    /// Managed settings (`/etc/claude-code/managed-settings.json` and drop-ins on Linux).
    Managed,
}

impl Scope {
    /// The scopes a user may write, most specific last: user, project, local.
    pub const EDITABLE: [Scope; 3] = [Scope::User, Scope::Project, Scope::Local];

    /// Lower-case name as written in files and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::User => "user",
            Scope::Project => "project",
            Scope::Local => "local",
            Scope::Managed => "managed",
        }
    }

    /// Whether install records of this scope carry a `projectPath`.
    pub fn has_project_path(self) -> bool {
        matches!(self, Scope::Project | Scope::Local)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown scope name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unknown scope `{0}`. Use one of: user, project, local")]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "user" => Ok(Scope::User),
            "project" => Ok(Scope::Project),
            "local" => Ok(Scope::Local),
            "managed" => Ok(Scope::Managed),
            other => Err(UnknownScope(other.to_string())),
        }
    }
}

/// Every location pm reads or writes, resolved once per invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    /// `~/.claude`, or `$CLAUDE_CONFIG_DIR` (made absolute against the cwd).
    pub config_root: PathBuf,
    /// The working directory (`projectPath` of project and local records).
    pub cwd: PathBuf,
    /// The top of the git work tree containing the cwd, or the cwd outside git.
    pub project_root: PathBuf,
    /// Directory of managed settings (`/etc/claude-code` on Linux).
    pub managed_root: PathBuf,
}

impl Locations {
    /// Resolves locations from already-read inputs: `home` ($HOME), `config_dir`
    /// ($CLAUDE_CONFIG_DIR, relative values against `cwd`), `cwd` and the managed root.
    /// The git root is found by walking up from `cwd` looking for `.git`.
    pub fn resolve(
        home: &Path,
        config_dir: Option<&Path>,
        cwd: &Path,
        managed_root: PathBuf,
    ) -> Self {
        let config_root = match config_dir {
            Some(dir) if !dir.as_os_str().is_empty() => {
                if dir.is_absolute() {
                    dir.to_path_buf()
                } else {
                    cwd.join(dir)
                }
            }
            _ => home.join(".claude"),
        };
        let project_root = find_git_root(cwd).unwrap_or_else(|| cwd.to_path_buf());
        Locations {
            config_root,
            cwd: cwd.to_path_buf(),
            project_root,
            managed_root,
        }
    }

    /// `<config root>/plugins`.
    pub fn plugins_dir(&self) -> PathBuf {
        self.config_root.join("plugins")
    }
    /// `<config root>/plugins/known_marketplaces.json`.
    pub fn known_marketplaces_file(&self) -> PathBuf {
        self.plugins_dir().join("known_marketplaces.json")
    }
    /// `<config root>/plugins/installed_plugins.json`.
    pub fn installed_plugins_file(&self) -> PathBuf {
        self.plugins_dir().join("installed_plugins.json")
    }
    /// `<config root>/plugins/marketplaces`.
    pub fn marketplaces_dir(&self) -> PathBuf {
        self.plugins_dir().join("marketplaces")
    }
    /// `<config root>/plugins/cache`.
    pub fn cache_dir(&self) -> PathBuf {
        self.plugins_dir().join("cache")
    }
    /// `<config root>/plugins/data`.
    pub fn data_dir(&self) -> PathBuf {
        self.plugins_dir().join("data")
    }

    /// The settings file of `scope`. For `Managed`, the main managed file (drop-ins are in
    /// `managed-settings.d/`).
    pub fn settings_file(&self, scope: Scope) -> PathBuf {
        match scope {
            Scope::User => self.config_root.join("settings.json"),
            Scope::Project => self.cwd.join(".claude").join("settings.json"),
            Scope::Local => self
                .project_root
                .join(".claude")
                .join("settings.local.json"),
            Scope::Managed => self.managed_root.join("managed-settings.json"),
        }
    }
}

/// The nearest ancestor of `start` (itself included) holding a `.git` directory or file.
pub fn find_git_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        let home = Path::new("/h");
        let l = Locations::resolve(
            home,
            None,
            Path::new("/nonexistent/p/sub"),
            PathBuf::from("/etc/claude-code"),
        );
        assert_eq!(
            l.settings_file(Scope::User),
            Path::new("/h/.claude/settings.json")
        );
        assert_eq!(
            l.settings_file(Scope::Project),
            Path::new("/nonexistent/p/sub/.claude/settings.json")
        );
        assert_eq!(
            l.settings_file(Scope::Local),
            Path::new("/nonexistent/p/sub/.claude/settings.local.json")
        );
        let l = Locations::resolve(
            home,
            Some(Path::new("rel")),
            Path::new("/w"),
            PathBuf::from("/m"),
        );
        assert_eq!(
            l.installed_plugins_file(),
            Path::new("/w/rel/plugins/installed_plugins.json")
        );
        assert_eq!("bogus".parse::<Scope>(), Err(UnknownScope("bogus".into())));
    }

    #[test]
    fn local_scope_uses_git_root() {
        let dir = std::env::temp_dir().join(format!("pm-core-scope-{}", std::process::id()));
        let sub = dir.join("sub");
        std::fs::create_dir_all(dir.join(".git")).expect("mkdir");
        std::fs::create_dir_all(&sub).expect("mkdir");
        let l = Locations::resolve(Path::new("/h"), None, &sub, PathBuf::from("/m"));
        assert_eq!(
            l.settings_file(Scope::Local),
            dir.join(".claude/settings.local.json")
        );
        assert_eq!(
            l.settings_file(Scope::Project),
            sub.join(".claude/settings.json")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
