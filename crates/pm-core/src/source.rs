//! Marketplace sources: the `source` objects stored in `known_marketplaces.json` and in
//! settings' `extraKnownMarketplaces`, and the strings a user passes to `pm marketplace add`
//! (reference-lifecycle.md §1.1).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where a marketplace comes from, as Claude Code stores it: `{"source": "github", "repo":
/// "o/r"}`, `{"source": "git", "url": …}`, `{"source": "directory", "path": …}`,
/// `{"source": "file", "path": …}`, `{"source": "url", "url": …}`. `ref` and `sparsePaths`
/// are optional on the git kinds. Field order on output is the reference's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "lowercase")]
pub enum MarketplaceSource {
    /// A GitHub repository, `owner/repo`.
    Github {
        /// `owner/repo`.
        repo: String,
        /// Branch or tag to check out.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// Directories checked out (cone mode); all when absent.
        #[serde(
            rename = "sparsePaths",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        sparse_paths: Option<Vec<String>>,
    },
    /// Any git URL (https, http, `git@host:path`).
    Git {
        /// The URL as stored (`.git` appended to https URLs at add time).
        url: String,
        /// Branch or tag to check out.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
        /// Directories checked out (cone mode); all when absent.
        #[serde(
            rename = "sparsePaths",
            default,
            skip_serializing_if = "Option::is_none"
        )]
        sparse_paths: Option<Vec<String>>,
    },
    /// A local directory holding `.claude-plugin/marketplace.json`; used in place.
    Directory {
        /// Absolute path of the directory.
        path: String,
    },
    /// A local marketplace `.json` file.
    File {
        /// Absolute path of the file.
        path: String,
    },
    /// A `marketplace.json` downloaded over HTTP(S).
    Url {
        /// The URL of the JSON file.
        url: String,
    },
}

impl MarketplaceSource {
    /// Whether this source lives on this machine (directory or file): re-adding a known name
    /// from a different local source re-points it instead of failing (§1.4).
    pub fn is_local(&self) -> bool {
        matches!(
            self,
            MarketplaceSource::Directory { .. } | MarketplaceSource::File { .. }
        )
    }

    /// Whether the marketplace is a git clone under `plugins/marketplaces/<name>`.
    pub fn is_git(&self) -> bool {
        matches!(
            self,
            MarketplaceSource::Github { .. } | MarketplaceSource::Git { .. }
        )
    }

    /// The branch or tag, for git sources.
    pub fn reference(&self) -> Option<&str> {
        match self {
            MarketplaceSource::Github { reference, .. }
            | MarketplaceSource::Git { reference, .. } => reference.as_deref(),
            _ => None,
        }
    }

    /// Sparse paths, for git sources (empty when none).
    pub fn sparse_paths(&self) -> &[String] {
        match self {
            MarketplaceSource::Github {
                sparse_paths: Some(paths),
                ..
            }
            | MarketplaceSource::Git {
                sparse_paths: Some(paths),
                ..
            } => paths,
            _ => &[],
        }
    }

    /// Whether this is a GitHub repository of the `anthropics` organization (the only
    /// sources allowed to use official marketplace names).
    pub fn is_anthropics_github(&self) -> bool {
        match self {
            MarketplaceSource::Github { repo, .. } => {
                repo.to_ascii_lowercase().starts_with("anthropics/")
            }
            MarketplaceSource::Git { url, .. } => {
                let lower = url.to_ascii_lowercase();
                lower.starts_with("https://github.com/anthropics/")
                    || lower.starts_with("git@github.com:anthropics/")
            }
            _ => false,
        }
    }

    /// The same source without `sparsePaths`, for comparing two sources by location.
    pub fn location(&self) -> MarketplaceSource {
        match self.clone() {
            MarketplaceSource::Github {
                repo, reference, ..
            } => MarketplaceSource::Github {
                repo,
                reference,
                sparse_paths: None,
            },
            MarketplaceSource::Git { url, reference, .. } => MarketplaceSource::Git {
                url,
                reference,
                sparse_paths: None,
            },
            other => other,
        }
    }

    /// The source as a JSON value (the stored shape).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

impl fmt::Display for MarketplaceSource {
    /// The reference's human labels: `GitHub (o/r@ref)`, `Git (url)`, `Folder (path)`,
    /// `File (path)`, `URL (url)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let with_ref = |base: &str, reference: &Option<String>| match reference {
            Some(r) => format!("{base}@{r}"),
            None => base.to_string(),
        };
        match self {
            MarketplaceSource::Github {
                repo, reference, ..
            } => write!(f, "GitHub ({})", with_ref(repo, reference)),
            MarketplaceSource::Git { url, reference, .. } => {
                write!(f, "Git ({})", with_ref(url, reference))
            }
            MarketplaceSource::Directory { path } => write!(f, "Folder ({path})"),
            MarketplaceSource::File { path } => write!(f, "File ({path})"),
            MarketplaceSource::Url { url } => write!(f, "URL ({url})"),
        }
    }
}

/// What a `pm marketplace add <source>` argument means, before the file system is asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceInput {
    /// A remote source, fully determined by the text.
    Remote(MarketplaceSource),
    /// A local path (relative, absolute or `~`-prefixed), still to be resolved against the cwd
    /// and classified as a directory or a `.json` file.
    Path(String),
}

/// Why a `marketplace add` argument was refused (`failureCode: "invalid_source"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceInputError {
    /// Not one of the accepted forms.
    #[error(
        "Invalid marketplace source format `{0}`. Try: owner/repo, https://..., git@host:path, or ./path"
    )]
    Format(String),
    /// A URL with a password or token in it: pm never writes credentials into Claude Code's files.
    #[error(
        "The URL `{0}` contains credentials, which pm does not store in settings or state files"
    )]
    Credentials(String),
    /// `o/r/sub` and the like.
    #[error(
        "`{0}` is not a valid GitHub owner/repo shorthand. Use owner/repo, owner/repo@ref, or a full URL"
    )]
    Shorthand(String),
}

/// Parses a `pm marketplace add` argument (reference-lifecycle.md §1.1):
/// `owner/repo`, `owner/repo@ref`, `owner/repo#ref` → github; `http(s)://…` → git with `.git`
/// appended (`#ref` split off), or url when it ends in `.json`; `git@host:path[#ref]` → git;
/// `./x`, `../x`, `/abs`, `~/x`, `~`, `.` → a path. `github:o/r`, `ssh://…`, `file://…`, and bare
/// words are refused.
pub fn parse_source_input(input: &str) -> Result<SourceInput, SourceInputError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(SourceInputError::Format(input.to_string()));
    }
    if text.starts_with("http://") || text.starts_with("https://") {
        if let Some(redacted) = redact_credentials(text) {
            return Err(SourceInputError::Credentials(redacted));
        }
        let (url, reference) = split_hash_ref(text);
        let path_part = url.split(['?', '#']).next().unwrap_or(url);
        if path_part.to_ascii_lowercase().ends_with(".json") {
            return Ok(SourceInput::Remote(MarketplaceSource::Url {
                url: text.to_string(),
            }));
        }
        let url = if url.ends_with(".git") {
            url.to_string()
        } else {
            format!("{}.git", url.trim_end_matches('/'))
        };
        return Ok(SourceInput::Remote(MarketplaceSource::Git {
            url,
            reference,
            sparse_paths: None,
        }));
    }
    if text.starts_with("git@") && text.contains(':') {
        let (url, reference) = split_hash_ref(text);
        return Ok(SourceInput::Remote(MarketplaceSource::Git {
            url: url.to_string(),
            reference,
            sparse_paths: None,
        }));
    }
    if text == "."
        || text == ".."
        || text == "~"
        || text.starts_with("./")
        || text.starts_with("../")
        || text.starts_with('/')
        || text.starts_with("~/")
    {
        return Ok(SourceInput::Path(text.to_string()));
    }
    if text.contains("://") || text.starts_with("github:") {
        return Err(SourceInputError::Format(text.to_string()));
    }
    if text.contains('/') {
        // GitHub shorthand: owner/repo with an optional @ref or #ref.
        let (repo, reference) = match text.find(['@', '#']) {
            Some(at) => (
                &text[..at],
                Some(text[at + 1..].to_string()).filter(|r| !r.is_empty()),
            ),
            None => (text, None),
        };
        let parts: Vec<&str> = repo.split('/').collect();
        let valid_part = |p: &str| {
            !p.is_empty()
                && p != "."
                && p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if parts.len() != 2 || !parts.iter().all(|p| valid_part(p)) {
            return Err(SourceInputError::Shorthand(text.to_string()));
        }
        return Ok(SourceInput::Remote(MarketplaceSource::Github {
            repo: repo.to_string(),
            reference,
            sparse_paths: None,
        }));
    }
    Err(SourceInputError::Format(text.to_string()))
}

/// When `url` carries a password (`scheme://user:secret@host/…`), the URL with the secret
/// replaced by `***`; `None` when there is none. Use it for any URL shown to people.
pub fn redact_credentials(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let (userinfo, host) = authority.rsplit_once('@')?;
    let user = userinfo.split(':').next().unwrap_or_default();
    if !userinfo.contains(':')
        && !user.is_empty()
        && !user.starts_with("ghp_")
        && !user.starts_with("github_pat_")
    {
        return None; // a bare user name is not a secret
    }
    Some(format!(
        "{scheme}://{user}:***@{host}{}",
        &rest[authority_end..]
    ))
}

fn split_hash_ref(text: &str) -> (&str, Option<String>) {
    match text.split_once('#') {
        Some((url, reference)) if !reference.is_empty() => (url, Some(reference.to_string())),
        Some((url, _)) => (url, None),
        None => (text, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn github(repo: &str, reference: Option<&str>) -> SourceInput {
        SourceInput::Remote(MarketplaceSource::Github {
            repo: repo.into(),
            reference: reference.map(Into::into),
            sparse_paths: None,
        })
    }
    fn git(url: &str, reference: Option<&str>) -> SourceInput {
        SourceInput::Remote(MarketplaceSource::Git {
            url: url.into(),
            reference: reference.map(Into::into),
            sparse_paths: None,
        })
    }

    #[test]
    fn accepted_forms() {
        assert_eq!(parse_source_input("acme/m2"), Ok(github("acme/m2", None)));
        assert_eq!(
            parse_source_input("acme/m2@dev"),
            Ok(github("acme/m2", Some("dev")))
        );
        assert_eq!(
            parse_source_input("acme/m2#v1"),
            Ok(github("acme/m2", Some("v1")))
        );
        assert_eq!(
            parse_source_input("https://github.com/acme/m2"),
            Ok(git("https://github.com/acme/m2.git", None))
        );
        assert_eq!(
            parse_source_input("https://github.com/acme/m2.git"),
            Ok(git("https://github.com/acme/m2.git", None))
        );
        assert_eq!(
            parse_source_input("https://github.com/acme/m2.git#dev"),
            Ok(git("https://github.com/acme/m2.git", Some("dev")))
        );
        assert_eq!(
            parse_source_input("https://h/x/m@dev"),
            Ok(git("https://h/x/m@dev.git", None))
        );
        assert_eq!(
            parse_source_input("git@github.com:acme/m2.git#dev"),
            Ok(git("git@github.com:acme/m2.git", Some("dev")))
        );
        assert_eq!(
            parse_source_input("http://127.0.0.1:1/marketplace.json"),
            Ok(SourceInput::Remote(MarketplaceSource::Url {
                url: "http://127.0.0.1:1/marketplace.json".into()
            }))
        );
        for path in ["./m1", "/abs/m", "~/m", "~", ".", "../m"] {
            assert_eq!(parse_source_input(path), Ok(SourceInput::Path(path.into())));
        }
    }

    #[test]
    fn refused_forms() {
        assert!(matches!(
            parse_source_input("github:o/r"),
            Err(SourceInputError::Format(_))
        ));
        assert!(matches!(
            parse_source_input("ssh://git@host/o/r.git"),
            Err(SourceInputError::Format(_))
        ));
        assert!(matches!(
            parse_source_input("file:///x"),
            Err(SourceInputError::Format(_))
        ));
        assert!(matches!(
            parse_source_input("m1"),
            Err(SourceInputError::Format(_))
        ));
        assert!(matches!(
            parse_source_input("o/r/sub"),
            Err(SourceInputError::Shorthand(_))
        ));
        assert!(matches!(
            parse_source_input(""),
            Err(SourceInputError::Format(_))
        ));
    }

    #[test]
    fn stored_shape_round_trips() {
        let source = MarketplaceSource::Github {
            repo: "acme/m2".into(),
            reference: Some("dev".into()),
            sparse_paths: Some(vec![".claude-plugin".into()]),
        };
        let text = serde_json::to_string(&source).expect("serializes");
        assert_eq!(
            text,
            r#"{"source":"github","repo":"acme/m2","ref":"dev","sparsePaths":[".claude-plugin"]}"#
        );
        let back: MarketplaceSource = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, source);
        assert_eq!(source.to_string(), "GitHub (acme/m2@dev)");
    }
}
