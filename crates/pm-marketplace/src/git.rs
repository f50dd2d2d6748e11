//! The only code that talks to git.
//!
//! Two backends sit behind one set of functions: libgit2 (through `git2`, the default) and the
//! system `git` executable ([`GitOptions::use_git_cli`], like cargo's `net.git-fetch-with-cli`).
//! What is cloned and how follows `reference-lifecycle.md` §1.1 (a single-branch shallow clone
//! of the default branch or of `--branch REF`, no submodules, `--sparse` in cone mode) and §4
//! (`marketplace update` compares `git ls-remote` with the clone's HEAD), with the differences
//! of `DEVIATIONS.md` item 10: `url.<base>.insteadOf`, credential helpers, ssh-agent and a GitHub
//! token are honoured, a clone over the local transport (`file://` URLs, plain paths) is a full
//! one because libgit2 cannot fetch shallowly there, and errors say what failed.
//!
//! Nothing from a cloned repository is executed: libgit2 runs no hooks, and the git CLI runs
//! with `core.hooksPath=/dev/null`. No credential ever reaches an error message or a file:
//! URLs shown to users have their userinfo stripped.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use git2::build::CheckoutBuilder;
use git2::{
    AutotagOption, Config, Cred, CredentialType, Direction, ErrorClass, ErrorCode, FetchOptions,
    IndexEntry, IndexEntryExtendedFlag, IndexTime, ObjectType, ProxyOptions, PushOptions,
    RemoteCallbacks, Repository, RepositoryInitOptions, TreeWalkMode, TreeWalkResult,
};

/// How to reach a remote: credentials and backend.
///
/// Libraries never read environment variables: the CLI fills this in (`GITHUB_TOKEN` /
/// `GH_TOKEN`, the git-CLI switch). `Debug` shows whether a token is set, never the token.
#[derive(Clone, Default)]
pub struct GitOptions {
    /// Token for github.com over HTTPS (from `GITHUB_TOKEN` / `GH_TOKEN`).
    ///
    /// Sent as the password of user `x-access-token`, only when the URL git actually contacts
    /// (after `insteadOf` rewriting) is `https://github.com/...`, and only after the user's git
    /// credential helpers had nothing to offer.
    pub github_token: Option<String>,
    /// Fetch with the system `git` executable instead of libgit2 (cargo's
    /// `net.git-fetch-with-cli`).
    pub use_git_cli: bool,
}

impl std::fmt::Debug for GitOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitOptions")
            .field(
                "github_token",
                &self.github_token.as_ref().map(|_| "<redacted>"),
            )
            .field("use_git_cli", &self.use_git_cli)
            .finish()
    }
}

/// Progress of a fetch, for a progress bar.
///
/// Reported by libgit2 as objects arrive; the git-CLI backend reports what it can parse from
/// `git clone --progress` (its byte count is approximate).
#[derive(Debug, Clone, Copy)]
pub struct FetchProgress {
    /// Objects received so far.
    pub received_objects: usize,
    /// Objects the remote announced (0 until known).
    pub total_objects: usize,
    /// Bytes received so far.
    pub received_bytes: usize,
}

/// What [`clone`] should clone, and where.
#[derive(Debug, Clone, Copy)]
pub struct CloneRequest<'a> {
    /// The URL as the user (or the marketplace source) wrote it: `https://…`, `ssh://…`,
    /// `git@host:path`, `file://…` or a plain path. `url.<base>.insteadOf` applies.
    pub url: &'a str,
    /// A branch or tag name (`--branch`); `None` for the remote's default branch (its HEAD).
    pub reference: Option<&'a str>,
    /// The directory to clone into. It must not exist; it is created (with its parents).
    pub destination: &'a Path,
    /// Directories to check out in cone mode (`git sparse-checkout set --cone`); empty for a
    /// full checkout.
    pub sparse_paths: &'a [String],
    /// A commit (40 hex) the caller already has checked out: when the remote's branch or tag
    /// still points at it, nothing is fetched, the destination is removed again and
    /// [`Cloned::fetched`] is false. This is a refresh in one connection (the refs listed for
    /// the check are the ones the fetch uses), instead of an ls-remote and then a clone.
    pub unless_at: Option<&'a str>,
}

/// The result of a successful [`clone`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloned {
    /// The 40-hex commit checked out (or, when not fetched, the one the remote points at).
    pub head: String,
    /// False when the remote was still at [`CloneRequest::unless_at`]: nothing was fetched and
    /// the destination does not exist.
    pub fetched: bool,
}

/// Why a git operation failed (`DEVIATIONS.md` item 10: errors say what failed).
///
/// Every `url` is the URL as given by the caller with any userinfo (user, password, token)
/// stripped.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The remote said the repository does not exist (HTTP 404, "repository not found", a
    /// missing local path), or it asked for credentials and none were available: GitHub
    /// answers that way for private repositories.
    #[error("Repository `{url}` was not found (or needs credentials)")]
    RepositoryNotFound {
        /// The repository URL, without credentials.
        url: String,
    },
    /// The remote has neither a branch nor a tag called `reference`.
    #[error("`{reference}` is neither a branch nor a tag of `{url}`")]
    ReferenceNotFound {
        /// The repository URL, without credentials.
        url: String,
        /// The branch or tag that was asked for.
        reference: String,
    },
    /// Credentials were offered (ssh-agent key, credential helper, token) and refused, or an
    /// SSH remote accepted none of them.
    #[error("Authentication failed for `{url}`")]
    Authentication {
        /// The repository URL, without credentials.
        url: String,
    },
    /// The remote could not be reached or the transfer broke off: DNS, connection refused,
    /// timeout, TLS, an unexpected HTTP status.
    #[error("Could not reach `{url}`")]
    Network {
        /// The repository URL, without credentials.
        url: String,
        /// What libgit2 (or, for the CLI backend, `git`) reported.
        #[source]
        source: git2::Error,
    },
    /// Any other libgit2 failure (writing the clone, checking out, …).
    #[error("Git operation on `{url}` failed")]
    Other {
        /// The repository URL, without credentials.
        url: String,
        /// What libgit2 reported.
        #[source]
        source: git2::Error,
    },
    /// The `git` executable (CLI backend) failed in a way not covered above.
    #[error("`git` failed for `{url}`: {stderr}")]
    Cli {
        /// The repository URL, without credentials.
        url: String,
        /// The relevant lines `git` wrote to stderr (progress lines removed).
        stderr: String,
    },
    /// [`push_reference`] was given a name that is neither a remote of the repository nor a
    /// URL or path.
    #[error("No remote `{name}` in `{}`", repository.display())]
    RemoteNotFound {
        /// The repository's work tree.
        repository: PathBuf,
        /// The remote name as given.
        name: String,
    },
    /// The remote refused to update a reference (`[rejected]`: it exists there and the push
    /// was not forced, a hook declined it, …).
    #[error("Pushing `{reference}` to `{url}` was rejected: {reason}")]
    PushRejected {
        /// The remote's URL, without credentials.
        url: String,
        /// The reference pushed (`refs/tags/…`).
        reference: String,
        /// What the remote said.
        reason: String,
    },
    /// A file-system error (the destination exists, cannot be created, …); the message names
    /// the path.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Name of the file, inside `.git`, where Claude Code records the sparse paths of a clone
/// (`{"sparsePaths":[…]}`, `[]` for a full checkout; `reference-advanced.md` §0).
const SPARSE_PATHS_FILE: &str = "claude-code-sparse-paths.json";

/// The name of the remote a clone is made from, as `git clone` names it.
const ORIGIN: &str = "origin";

/// Credential callbacks asked more often than this give up (libgit2 asks again after every
/// refused credential; cargo bounds it the same way).
const MAX_CREDENTIAL_ATTEMPTS: u32 = 10;

/// Clone `request.url` into `request.destination` (`reference-lifecycle.md` §1.1).
///
/// * Network transports (`http(s)://`, `ssh://`, `git://`, `git@host:path`): a shallow clone
///   (depth 1) of one branch or tag, like `git clone --depth 1 --no-recurse-submodules
///   [--branch R]`.
/// * The local transport (`file://` URLs and plain paths, after `insteadOf` rewriting): a full
///   clone of that branch or tag, since libgit2 cannot fetch shallowly there.
/// * `reference`: a branch is checked out as a local branch tracking `origin/R`; a tag leaves
///   HEAD detached at the tag's commit. A name that is both a branch and a tag is the branch.
///   Without `reference`, the remote's default branch (its HEAD).
/// * `sparse_paths` non-empty: only files under those directories, files at the repository
///   root and files directly inside their parent directories are checked out (git's cone
///   mode); the clone is a real cone-mode sparse checkout, so `git status` in it is clean.
/// * `.git/claude-code-sparse-paths.json` is written as Claude Code writes it.
///
/// `progress` is called as objects arrive. On failure the destination is removed again.
///
/// # Errors
///
/// [`GitError::Io`] when the destination exists or cannot be created; otherwise see
/// [`GitError`]: repository or reference not found, authentication, network.
pub fn clone(
    request: &CloneRequest<'_>,
    options: &GitOptions,
    progress: &mut dyn FnMut(FetchProgress),
) -> Result<Cloned, GitError> {
    let destination = request.destination;
    if fs_err::symlink_metadata(destination).is_ok() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "the clone destination `{}` already exists",
                destination.display()
            ),
        )
        .into());
    }
    // The git CLI cannot stop a clone after the ref advertisement: ask ls-remote first.
    if options.use_git_cli
        && let Some(current) = request.unless_at
    {
        let head = remote_head(request.url, request.reference, options)?;
        if head == current {
            return Ok(Cloned {
                head,
                fetched: false,
            });
        }
    }
    if let Some(parent) = destination.parent()
        && !parent.as_os_str().is_empty()
    {
        fs_err::create_dir_all(parent)?;
    }
    fs_err::create_dir(destination)?;

    let result = if options.use_git_cli {
        cli::clone(request, options, progress)
    } else {
        clone_libgit2(request, options, progress)
    }
    .and_then(|cloned| {
        if cloned.fetched {
            write_sparse_paths_file(destination, request.sparse_paths)?;
        }
        Ok(cloned)
    });
    if result.as_ref().map_or(true, |cloned| !cloned.fetched) {
        // Best effort: the error being returned matters more than a failed cleanup.
        let _ = fs_err::remove_dir_all(destination);
    }
    result
}

/// The commit a remote's HEAD (or `reference`) points at, without cloning: `git ls-remote`
/// (`reference-lifecycle.md` §4).
///
/// With `reference`, the first of `refs/heads/R`, `refs/tags/R^{}` (an annotated tag,
/// peeled) and `refs/tags/R` that the remote has. `url.<base>.insteadOf` applies.
///
/// # Errors
///
/// [`GitError::ReferenceNotFound`] when the remote has neither a branch nor a tag `reference`
/// (or no HEAD); otherwise as [`clone`].
pub fn remote_head(
    url: &str,
    reference: Option<&str>,
    options: &GitOptions,
) -> Result<String, GitError> {
    let shown = redact_url(url);
    let refs = if options.use_git_cli {
        cli::ls_remote(url, reference, options)?
    } else {
        ls_remote_libgit2(url, options)?
    };
    let not_found = || GitError::ReferenceNotFound {
        url: shown.clone(),
        reference: reference.unwrap_or("HEAD").to_owned(),
    };
    let wanted: Vec<String> = match reference {
        None => vec!["HEAD".to_owned()],
        Some(name) => vec![
            format!("refs/heads/{name}"),
            format!("refs/tags/{name}^{{}}"),
            format!("refs/tags/{name}"),
        ],
    };
    wanted
        .iter()
        .find_map(|want| {
            refs.iter()
                .find(|(_, name)| name == want)
                .map(|(oid, _)| oid.clone())
        })
        .ok_or_else(not_found)
}

/// The HEAD commit (40 hex) of the git repository containing `path` (a work tree, a
/// subdirectory of one, or a bare repository).
///
/// `None` when `path` is not inside a git repository, or its HEAD has no commit yet.
#[must_use]
pub fn head_commit(path: &Path) -> Option<String> {
    // Fast path: read HEAD and the ref it names from the files, without opening the
    // repository through libgit2 (whose first use loads the system's TLS certificates:
    // most of an install's time on a directory marketplace). Anything unusual falls back.
    let git_dir = path.ancestors().find_map(|dir| {
        git_dir_of(dir).or_else(|| {
            (dir.join("HEAD").is_file() && dir.join("objects").is_dir()).then(|| dir.to_path_buf())
        })
    })?;
    if let Some(sha) = read_head_from_files(&git_dir) {
        return Some(sha);
    }
    let repository = Repository::discover(path).ok()?;
    let commit = repository.head().ok()?.peel_to_commit().ok()?;
    Some(commit.id().to_string())
}

/// The git directory of a work tree at `dir`: `dir/.git` when it is a directory, or the
/// `gitdir:` named by a `.git` file (worktrees, submodules).
fn git_dir_of(dir: &Path) -> Option<std::path::PathBuf> {
    let dot_git = dir.join(".git");
    let metadata = std::fs::metadata(&dot_git).ok()?;
    if metadata.is_dir() {
        return Some(dot_git);
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    let target = text.trim().strip_prefix("gitdir:")?.trim();
    let target = Path::new(target);
    Some(if target.is_absolute() {
        target.to_path_buf()
    } else {
        dir.join(target)
    })
}

fn is_full_sha(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// HEAD's commit read from `HEAD`, the loose ref it names, or `packed-refs`; `None` when any
/// step is unusual (then libgit2 decides).
fn read_head_from_files(git_dir: &Path) -> Option<String> {
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    if is_full_sha(head) {
        return Some(head.to_ascii_lowercase());
    }
    let reference = head.strip_prefix("ref:")?.trim();
    if !reference.starts_with("refs/") || reference.contains("..") {
        return None;
    }
    let common = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(text) => {
            let common = Path::new(text.trim());
            if common.is_absolute() {
                common.to_path_buf()
            } else {
                git_dir.join(common)
            }
        }
        Err(_) => git_dir.to_path_buf(),
    };
    for base in [git_dir, common.as_path()] {
        if let Ok(text) = std::fs::read_to_string(base.join(reference)) {
            let text = text.trim();
            return is_full_sha(text).then(|| text.to_ascii_lowercase());
        }
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (sha, name) = line.split_once(' ')?;
        (name.trim() == reference && is_full_sha(sha)).then(|| sha.to_ascii_lowercase())
    })
}

/// The URL git would actually contact for `url`, after applying `url.<base>.insteadOf` from
/// the user's global, XDG and system git configuration (the longest matching prefix wins, as
/// in git and libgit2).
///
/// `url` is returned unchanged when no rule matches or the configuration cannot be read.
#[must_use]
pub fn rewrite_url(url: &str) -> String {
    match Config::open_default() {
        Ok(config) => rewrite_url_with(&config, url),
        Err(_) => url.to_owned(),
    }
}

/// Whether `url` (already rewritten, see [`rewrite_url`]) uses git's local transport: a
/// `file://` URL or a plain path. libgit2 cannot fetch shallowly over it.
///
/// `scheme://` URLs other than `file://` and scp-like `host:path` addresses are network
/// transports.
#[must_use]
pub fn is_local_transport(url: &str) -> bool {
    if let Some((scheme, _)) = url.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return scheme.eq_ignore_ascii_case("file");
    }
    !is_scp_like(url)
}

/// Whether `url` is git's scp-like SSH syntax `[user@]host:path`: a colon before any slash,
/// and not a Windows drive letter (`C:\…`).
fn is_scp_like(url: &str) -> bool {
    if url.contains("://") {
        return false;
    }
    let Some(colon) = url.find(':') else {
        return false;
    };
    let before = &url[..colon];
    if before.contains('/') || before.contains('\\') {
        return false;
    }
    let is_drive =
        cfg!(windows) && before.len() == 1 && before.chars().all(|c| c.is_ascii_alphabetic());
    !before.is_empty() && !is_drive
}

/// [`rewrite_url`] against a given configuration.
fn rewrite_url_with(config: &Config, url: &str) -> String {
    const PREFIX: &str = "url.";
    const SUFFIX: &str = ".insteadof";
    let mut best: Option<(usize, String)> = None;
    if let Ok(mut entries) = config.entries(Some(r"url\..*\.insteadof")) {
        while let Some(Ok(entry)) = entries.next() {
            let (Ok(name), Ok(value)) = (entry.name(), entry.value()) else {
                continue;
            };
            // Names come back with section and key lowercased, the subsection as written.
            let lower = name.to_ascii_lowercase();
            if !lower.starts_with(PREFIX) || !lower.ends_with(SUFFIX) || value.is_empty() {
                continue;
            }
            let Some(base) = name.get(PREFIX.len()..name.len() - SUFFIX.len()) else {
                continue;
            };
            if url.starts_with(value) && best.as_ref().is_none_or(|(len, _)| value.len() > *len) {
                best = Some((value.len(), base.to_owned()));
            }
        }
    }
    match best {
        Some((len, base)) => format!("{base}{}", &url[len..]),
        None => url.to_owned(),
    }
}

/// `url` with any userinfo (`user:password@`) removed, for messages. scp-like addresses
/// (`git@host:path`) keep their user name, which cannot carry a password.
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..authority_start], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// `text` with the userinfo of every `scheme://` URL in it removed (for `git` stderr).
fn redact_text(text: &str) -> String {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let trimmed = word.trim_start_matches(['\'', '"', '`', '(', '<']);
            if trimmed.contains("://") {
                let lead = &word[..word.len() - trimmed.len()];
                format!("{lead}{}", redact_url(trimmed))
            } else {
                word.to_owned()
            }
        })
        .collect()
}

/// Scheme and lowercased host of a `scheme://` URL (userinfo and port removed).
fn scheme_and_host(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host_port = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => host_port,
    };
    Some((scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

/// Whether the GitHub token may be sent to `url` (the URL actually contacted).
fn is_github_https(url: &str) -> bool {
    scheme_and_host(url).is_some_and(|(scheme, host)| scheme == "https" && host == "github.com")
}

/// Write `.git/claude-code-sparse-paths.json` as Claude Code does.
fn write_sparse_paths_file(destination: &Path, sparse_paths: &[String]) -> Result<(), GitError> {
    let json = serde_json::json!({ "sparsePaths": sparse_paths });
    fs_err::write(
        destination.join(".git").join(SPARSE_PATHS_FILE),
        json.to_string(),
    )?;
    Ok(())
}

// ------------------------------------------------------------------------------------------
// Credentials

/// The state of one operation's credentials callback: what was tried, so that nothing is
/// offered twice and the callback gives up instead of looping (cargo's `with_authentication`).
struct Credentials<'a> {
    options: &'a GitOptions,
    /// Configuration for credential helpers (the clone's, or the user's default one).
    config: Option<Config>,
    attempts: u32,
    username_tried: bool,
    ssh_agent_tried: bool,
    helper_tried: bool,
    token_tried: bool,
    default_tried: bool,
    /// Some credential was handed to libgit2.
    offered: bool,
    /// The callback ran out of credentials and made libgit2 fail.
    exhausted: bool,
}

impl<'a> Credentials<'a> {
    fn new(options: &'a GitOptions, config: Option<Config>) -> Self {
        Self {
            options,
            config,
            attempts: 0,
            username_tried: false,
            ssh_agent_tried: false,
            helper_tried: false,
            token_tried: false,
            default_tried: false,
            offered: false,
            exhausted: false,
        }
    }

    /// The next credential to try for `url`: ssh-agent, credential helpers, the GitHub token,
    /// then the platform default (Negotiate/NTLM); an error once all are used up.
    fn next(
        &mut self,
        url: &str,
        username_from_url: Option<&str>,
        allowed: CredentialType,
    ) -> Result<Cred, git2::Error> {
        self.attempts += 1;
        if self.attempts <= MAX_CREDENTIAL_ATTEMPTS
            && let Some(credential) = self.pick(url, username_from_url, allowed)
        {
            return Ok(credential);
        }
        self.exhausted = true;
        Err(git2::Error::new(
            ErrorCode::Auth,
            ErrorClass::Callback,
            "no (more) credentials to try",
        ))
    }

    fn pick(
        &mut self,
        url: &str,
        username_from_url: Option<&str>,
        allowed: CredentialType,
    ) -> Option<Cred> {
        let ssh_user = username_from_url.unwrap_or("git");
        if allowed.contains(CredentialType::USERNAME) && !self.username_tried {
            self.username_tried = true;
            if let Ok(credential) = Cred::username(ssh_user) {
                return Some(credential);
            }
        }
        if allowed.contains(CredentialType::SSH_KEY) && !self.ssh_agent_tried {
            self.ssh_agent_tried = true;
            if let Ok(credential) = Cred::ssh_key_from_agent(ssh_user) {
                self.offered = true;
                return Some(credential);
            }
        }
        if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
            if !self.helper_tried {
                self.helper_tried = true;
                if let Some(config) = &self.config
                    && let Ok(credential) = Cred::credential_helper(config, url, username_from_url)
                {
                    self.offered = true;
                    return Some(credential);
                }
            }
            if !self.token_tried {
                self.token_tried = true;
                if let Some(token) = &self.options.github_token
                    && is_github_https(url)
                    && let Ok(credential) = Cred::userpass_plaintext("x-access-token", token)
                {
                    self.offered = true;
                    return Some(credential);
                }
            }
        }
        if allowed.contains(CredentialType::DEFAULT) && !self.default_tried {
            self.default_tried = true;
            if let Ok(credential) = Cred::default() {
                self.offered = true;
                return Some(credential);
            }
        }
        None
    }
}

/// Callbacks with the shared credentials state (and, for a fetch, progress reporting).
fn callbacks<'cb>(
    credentials: &'cb RefCell<Credentials<'_>>,
    progress: Option<&'cb mut dyn FnMut(FetchProgress)>,
) -> RemoteCallbacks<'cb> {
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(move |url, username, allowed| {
        credentials.borrow_mut().next(url, username, allowed)
    });
    if let Some(progress) = progress {
        callbacks.transfer_progress(move |stats| {
            progress(FetchProgress {
                received_objects: stats.received_objects(),
                total_objects: stats.total_objects(),
                received_bytes: stats.received_bytes(),
            });
            true
        });
    }
    callbacks
}

/// The fetch options of a clone or a refresh: credentials and `progress` callbacks, the proxy,
/// no tags, no `FETCH_HEAD`, and depth 1 when `shallow`.
fn fetch_options<'cb>(
    credentials: &'cb RefCell<Credentials<'_>>,
    progress: &'cb mut dyn FnMut(FetchProgress),
    shallow: bool,
) -> FetchOptions<'cb> {
    let mut fetch_options = FetchOptions::new();
    fetch_options
        .remote_callbacks(callbacks(credentials, Some(progress)))
        .proxy_options(proxy_options())
        .download_tags(AutotagOption::None)
        .update_fetchhead(false);
    if shallow {
        fetch_options.depth(1);
    }
    fetch_options
}

/// An advertised ref: its name, the object it points at, and a symbolic ref's target.
type AdvertisedRef = (String, git2::Oid, Option<String>);

/// Connects `remote` for fetching and lists its refs once; the connection is kept open so
/// that the fetch uses it (one handshake, one authentication).
fn connect_and_list<'repo, 'connection, 'cb>(
    remote: &'connection mut git2::Remote<'repo>,
    credentials: &'cb RefCell<Credentials<'_>>,
) -> Result<
    (
        git2::RemoteConnection<'repo, 'connection, 'cb>,
        Vec<AdvertisedRef>,
    ),
    git2::Error,
> {
    let connection = remote.connect_auth(
        Direction::Fetch,
        Some(callbacks(credentials, None)),
        Some(proxy_options()),
    )?;
    let refs = connection
        .list()?
        .iter()
        .map(|head| {
            (
                head.name().to_owned(),
                head.oid(),
                head.symref_target().map(str::to_owned),
            )
        })
        .collect();
    Ok((connection, refs))
}

/// Proxy settings from the user's git configuration and the usual environment variables.
fn proxy_options<'a>() -> ProxyOptions<'a> {
    let mut proxy = ProxyOptions::new();
    proxy.auto();
    proxy
}

/// Turn a libgit2 failure while talking to `actual_url` into a [`GitError`] for `shown_url`.
fn map_error(
    error: git2::Error,
    shown_url: &str,
    actual_url: &str,
    credentials: &Credentials<'_>,
) -> GitError {
    let url = shown_url.to_owned();
    let message = error.message().to_ascii_lowercase();
    let is_ssh = !is_local_transport(actual_url)
        && (is_scp_like(actual_url)
            || scheme_and_host(actual_url).is_some_and(|(scheme, _)| scheme.contains("ssh")));
    if credentials.exhausted || error.code() == ErrorCode::Auth {
        // Asked for credentials and had none at all: over HTTP that is how GitHub answers for
        // a repository that does not exist (or is private).
        return if credentials.offered || is_ssh {
            GitError::Authentication { url }
        } else {
            GitError::RepositoryNotFound { url }
        };
    }
    let not_found = message.contains("404")
        || message.contains("not found")
        || message.contains("could not find repository")
        || message.contains("does not appear to be a git repository")
        || message.contains("does not exist")
        || (error.code() == ErrorCode::NotFound && error.class() == ErrorClass::Repository)
        || (is_local_transport(actual_url)
            && (message.contains("unsupported url protocol")
                || message.contains("failed to resolve path")));
    if not_found {
        return GitError::RepositoryNotFound { url };
    }
    if message.contains("401")
        || message.contains("403")
        || message.contains("authentication")
        || message.contains("permission denied")
    {
        return GitError::Authentication { url };
    }
    match error.class() {
        ErrorClass::Net | ErrorClass::Http | ErrorClass::Ssl | ErrorClass::Ssh => {
            GitError::Network { url, source: error }
        }
        // Sockets: "failed to connect to …", "failed to resolve address for …".
        ErrorClass::Os if !is_local_transport(actual_url) => {
            GitError::Network { url, source: error }
        }
        _ if error.code() == ErrorCode::Timeout => GitError::Network { url, source: error },
        _ => GitError::Other { url, source: error },
    }
}

// ------------------------------------------------------------------------------------------
// libgit2 backend

/// What to fetch and check out, decided from the remote's advertised refs.
enum Target {
    /// A branch: fetched into `refs/remotes/origin/<name>`, checked out as a local branch.
    Branch { name: String, default: bool },
    /// A tag: fetched into `refs/tags/<name>`, checked out detached.
    Tag { name: String },
    /// The remote's HEAD is detached and matches no branch: fetched into
    /// `refs/remotes/origin/HEAD`, checked out detached.
    DetachedHead,
}

impl Target {
    fn refspec(&self) -> String {
        match self {
            Self::Branch { name, .. } => format!("+refs/heads/{name}:refs/remotes/{ORIGIN}/{name}"),
            Self::Tag { name } => format!("+refs/tags/{name}:refs/tags/{name}"),
            Self::DetachedHead => format!("+HEAD:refs/remotes/{ORIGIN}/HEAD"),
        }
    }

    fn local_ref(&self) -> String {
        match self {
            Self::Branch { name, .. } => format!("refs/remotes/{ORIGIN}/{name}"),
            Self::Tag { name } => format!("refs/tags/{name}"),
            Self::DetachedHead => format!("refs/remotes/{ORIGIN}/HEAD"),
        }
    }
}

/// Pick what to clone from the advertised refs (`name`, `oid`, symref target).
fn choose_target(
    refs: &[AdvertisedRef],
    reference: Option<&str>,
    shown_url: &str,
) -> Result<Target, GitError> {
    let has = |name: &str| refs.iter().any(|(n, _, _)| n == name);
    if let Some(reference) = reference {
        if has(&format!("refs/heads/{reference}")) {
            return Ok(Target::Branch {
                name: reference.to_owned(),
                default: false,
            });
        }
        if has(&format!("refs/tags/{reference}")) {
            return Ok(Target::Tag {
                name: reference.to_owned(),
            });
        }
        return Err(GitError::ReferenceNotFound {
            url: shown_url.to_owned(),
            reference: reference.to_owned(),
        });
    }
    let Some((_, head_oid, symref)) = refs.iter().find(|(name, _, _)| name == "HEAD") else {
        return Err(GitError::ReferenceNotFound {
            url: shown_url.to_owned(),
            reference: "HEAD".to_owned(),
        });
    };
    if let Some(branch) = symref
        .as_deref()
        .and_then(|s| s.strip_prefix("refs/heads/"))
        && has(&format!("refs/heads/{branch}"))
    {
        return Ok(Target::Branch {
            name: branch.to_owned(),
            default: true,
        });
    }
    // No symref advertised: guess like git does, preferring main and master.
    let mut candidates: Vec<&str> = refs
        .iter()
        .filter(|(_, oid, _)| oid == head_oid)
        .filter_map(|(name, _, _)| name.strip_prefix("refs/heads/"))
        .collect();
    candidates.sort_by_key(|name| match *name {
        "main" => 0,
        "master" => 1,
        _ => 2,
    });
    Ok(candidates
        .first()
        .map_or(Target::DetachedHead, |name| Target::Branch {
            name: (*name).to_owned(),
            default: true,
        }))
}

fn clone_libgit2(
    request: &CloneRequest<'_>,
    options: &GitOptions,
    progress: &mut dyn FnMut(FetchProgress),
) -> Result<Cloned, GitError> {
    let shown = redact_url(request.url);
    let other = |source: git2::Error| GitError::Other {
        url: shown.clone(),
        source,
    };
    let mut init = RepositoryInitOptions::new();
    // No user templates: nothing but what libgit2 itself writes (no sample or custom hooks).
    init.external_template(false);
    let repository = Repository::init_opts(request.destination, &init).map_err(other)?;
    // `Repository::remote` applies `url.<base>.insteadOf` (the configuration keeps the URL as
    // given, `Remote::url` is the rewritten one), exactly as `git clone` records it.
    let mut remote = repository.remote(ORIGIN, request.url).map_err(other)?;
    let actual_url = remote.url().unwrap_or(request.url).to_owned();
    let shallow = !is_local_transport(&actual_url);
    let credentials = RefCell::new(Credentials::new(options, repository.config().ok()));
    let fail = |error: git2::Error| map_error(error, &shown, &actual_url, &credentials.borrow());

    let mut fetch_options = fetch_options(&credentials, progress, shallow);
    let target = {
        let (mut connection, refs) = connect_and_list(&mut remote, &credentials).map_err(fail)?;
        let target = choose_target(&refs, request.reference, &shown)?;
        if let Some(current) = request.unless_at
            && let Some(commit) = target_commit(&refs, &target)
            && commit.to_string() == current
        {
            return Ok(Cloned {
                head: commit.to_string(),
                fetched: false,
            });
        }
        // Fetch over the connection the refs came from (one handshake, one authentication).
        connection
            .remote()
            .fetch(
                &[target.refspec()],
                Some(&mut fetch_options),
                Some("clone: from remote"),
            )
            .map_err(fail)?;
        target
    };
    drop(fetch_options);
    drop(remote);

    let commit = repository
        .find_reference(&target.local_ref())
        .and_then(|reference| reference.peel_to_commit())
        .map_err(other)?;
    let mut config = repository.config().map_err(other)?;
    // A single-branch clone, as `git clone --depth 1 [--branch R]` configures it.
    config
        .set_str(&format!("remote.{ORIGIN}.fetch"), &target.refspec())
        .map_err(other)?;
    match &target {
        Target::Branch { name, default } => {
            repository.branch(name, &commit, true).map_err(other)?;
            config
                .set_str(&format!("branch.{name}.remote"), ORIGIN)
                .map_err(other)?;
            config
                .set_str(
                    &format!("branch.{name}.merge"),
                    &format!("refs/heads/{name}"),
                )
                .map_err(other)?;
            if *default {
                repository
                    .reference_symbolic(
                        &format!("refs/remotes/{ORIGIN}/HEAD"),
                        &format!("refs/remotes/{ORIGIN}/{name}"),
                        true,
                        "clone",
                    )
                    .map_err(other)?;
            }
            repository
                .set_head(&format!("refs/heads/{name}"))
                .map_err(other)?;
        }
        Target::Tag { .. } | Target::DetachedHead => {
            repository.set_head_detached(commit.id()).map_err(other)?;
        }
    }
    checkout(&repository, &commit, request.sparse_paths).map_err(other)?;
    Ok(Cloned {
        head: commit.id().to_string(),
        fetched: true,
    })
}

/// The commit `target` names in the advertised `refs` (a tag peeled when the remote advertises
/// `^{}`); `None` when it is not advertised.
fn target_commit(refs: &[AdvertisedRef], target: &Target) -> Option<git2::Oid> {
    let find = |wanted: &str| {
        refs.iter()
            .find(|(name, _, _)| name == wanted)
            .map(|(_, oid, _)| *oid)
    };
    match target {
        Target::Branch { name, .. } => find(&format!("refs/heads/{name}")),
        Target::Tag { name } => {
            find(&format!("refs/tags/{name}^{{}}")).or_else(|| find(&format!("refs/tags/{name}")))
        }
        Target::DetachedHead => find("HEAD"),
    }
}

/// A clone holding more pack files than this is cloned afresh by a refresh instead of fetched
/// into: every [`fetch_into`] adds one pack (libgit2 does not repack), so this bounds what
/// refreshes accumulate in a marketplace clone.
pub const MAX_PACKS_FOR_FETCH_INTO: usize = 16;

/// What [`fetch_into`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchedInto {
    /// The remote's branch still points at the clone's HEAD: nothing was fetched.
    Current {
        /// The commit (40 hex) both point at.
        head: String,
    },
    /// The branch moved. Its new commit was fetched into the clone's object database and
    /// `refs/remotes/origin/<branch>`; HEAD, the local branch and the work tree are unchanged
    /// until [`check_out_fetched`].
    Fetched {
        /// The new commit (40 hex).
        head: String,
    },
    /// The clone is not one a fetch can refresh; the caller clones afresh. The text says why
    /// (for a debug line): a sparse clone, a detached HEAD, another remote URL, the remote's
    /// default branch changed, too many packs, the git-CLI backend, …
    NotInPlace(&'static str),
}

/// Refresh an existing clone made by [`clone`] the way `git fetch` does, instead of cloning
/// again: connect to `url`, list its refs once, and when the branch the clone has checked out
/// (the remote's default branch, or `reference`) moved, fetch only what the clone lacks
/// (`--depth 1` over network transports, as the clone was made). Nothing in the work tree
/// changes: read the new commit with [`read_file_at`], then [`check_out_fetched`] it.
///
/// `clone_dir` must be the work tree of a non-sparse clone of exactly `url` (its
/// `remote.origin.url`, before `insteadOf` rewriting) with a local branch checked out, with at
/// most [`MAX_PACKS_FOR_FETCH_INTO`] packs, and not a symbolic link; otherwise, and with the
/// git-CLI backend, the answer is [`FetchedInto::NotInPlace`] (before connecting, except when
/// the remote's branch is not the one checked out).
///
/// # Errors
///
/// As [`clone`]: repository or reference not found, authentication, network. Nothing in
/// `clone_dir` changes on error, except objects that may have arrived.
pub fn fetch_into(
    url: &str,
    reference: Option<&str>,
    clone_dir: &Path,
    options: &GitOptions,
    progress: &mut dyn FnMut(FetchProgress),
) -> Result<FetchedInto, GitError> {
    let shown = redact_url(url);
    let other = |source: git2::Error| GitError::Other {
        url: shown.clone(),
        source,
    };
    let InPlace {
        repository,
        origin,
        branch,
        head,
    } = match in_place(clone_dir, options) {
        Ok(in_place) => in_place,
        Err(why) => return Ok(FetchedInto::NotInPlace(why)),
    };
    if origin != url {
        return Ok(FetchedInto::NotInPlace("the clone is of another URL"));
    }
    let mut remote = repository.find_remote(ORIGIN).map_err(other)?;
    let actual_url = remote.url().unwrap_or(url).to_owned();
    let shallow = !is_local_transport(&actual_url);
    let credentials = RefCell::new(Credentials::new(options, repository.config().ok()));
    let fail = |error: git2::Error| map_error(error, &shown, &actual_url, &credentials.borrow());

    let mut fetch_options = fetch_options(&credentials, progress, shallow);
    let (mut connection, refs) = connect_and_list(&mut remote, &credentials).map_err(fail)?;
    let target = choose_target(&refs, reference, &shown)?;
    let same_branch = matches!(&target, Target::Branch { name, .. } if *name == branch);
    let Some(commit) = target_commit(&refs, &target).filter(|_| same_branch) else {
        return Ok(FetchedInto::NotInPlace(
            "the remote's branch is not the one checked out",
        ));
    };
    if commit == head {
        return Ok(FetchedInto::Current {
            head: head.to_string(),
        });
    }
    connection
        .remote()
        .fetch(
            &[target.refspec()],
            Some(&mut fetch_options),
            Some("fetch: refresh"),
        )
        .map_err(fail)?;
    drop(connection);
    let fetched = repository
        .find_reference(&target.local_ref())
        .and_then(|reference| reference.peel_to_commit())
        .map_err(other)?;
    Ok(FetchedInto::Fetched {
        head: fetched.id().to_string(),
    })
}

/// The `remote.origin.url` of the clone at `clone_dir` (as configured, before `insteadOf`
/// rewriting) when [`fetch_into`] could refresh it in place, judged without connecting; `None`
/// for anything [`fetch_into`] answers [`FetchedInto::NotInPlace`] for before connecting.
#[must_use]
pub fn in_place_origin(clone_dir: &Path, options: &GitOptions) -> Option<String> {
    in_place(clone_dir, options)
        .ok()
        .map(|in_place| in_place.origin)
}

/// A clone [`fetch_into`] may refresh.
struct InPlace {
    repository: Repository,
    /// `remote.origin.url` as configured.
    origin: String,
    /// The local branch HEAD names.
    branch: String,
    /// The commit it points at.
    head: git2::Oid,
}

/// The clone at `clone_dir` when [`fetch_into`] may refresh it (libgit2 backend; a work tree,
/// not a symbolic link, not sparse, with an `origin`, a local branch checked out and at most
/// [`MAX_PACKS_FOR_FETCH_INTO`] packs), else why not.
fn in_place(clone_dir: &Path, options: &GitOptions) -> Result<InPlace, &'static str> {
    if options.use_git_cli {
        return Err("the git CLI backend clones afresh");
    }
    let is_dir = fs_err::symlink_metadata(clone_dir).is_ok_and(|meta| meta.is_dir());
    if !is_dir || !clone_dir.join(".git").is_dir() {
        return Err("not a work tree");
    }
    let repository = Repository::open(clone_dir).map_err(|_| "not a repository")?;
    if repository.is_bare() {
        return Err("a bare repository");
    }
    let config = repository
        .config()
        .map_err(|_| "no readable configuration")?;
    if config.get_bool("core.sparseCheckout").unwrap_or(false) {
        return Err("a sparse clone");
    }
    let origin = config
        .get_string(&format!("remote.{ORIGIN}.url"))
        .map_err(|_| "no origin")?;
    drop(config);
    if pack_count(&repository) > MAX_PACKS_FOR_FETCH_INTO {
        return Err("too many packs");
    }
    let (branch, head) = {
        let head = repository.find_reference("HEAD").map_err(|_| "no HEAD")?;
        let branch = head
            .symbolic_target()
            .ok()
            .flatten()
            .and_then(|target| target.strip_prefix("refs/heads/"))
            .map(str::to_owned)
            .ok_or("HEAD is detached")?;
        let commit = head.peel_to_commit().map_err(|_| "HEAD has no commit")?;
        (branch, commit.id())
    };
    Ok(InPlace {
        repository,
        origin,
        branch,
        head,
    })
}

/// The number of pack files in the repository's object database.
fn pack_count(repository: &Repository) -> usize {
    fs_err::read_dir(repository.path().join("objects").join("pack")).map_or(0, |entries| {
        entries
            .filter_map(Result::ok)
            .filter(|entry| entry.path().extension().is_some_and(|ext| ext == "pack"))
            .count()
    })
}

/// A file of a commit, read from the object database (no work tree involved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileAt {
    /// A regular (or executable) file, with its bytes.
    File(Vec<u8>),
    /// No entry at that path.
    Missing,
    /// Something other than a regular file (a symbolic link, a directory, a submodule).
    NotAFile,
}

/// The file at `path` (`/`-separated, relative to the root) in `commit` (40 hex) of the
/// repository whose work tree is `clone_dir`, e.g. a marketplace.json [`fetch_into`] fetched.
///
/// # Errors
///
/// [`GitError::Other`] when the repository or the commit cannot be read.
pub fn read_file_at(clone_dir: &Path, commit: &str, path: &str) -> Result<FileAt, GitError> {
    let shown = clone_dir.display().to_string();
    let other = |source: git2::Error| GitError::Other {
        url: shown.clone(),
        source,
    };
    let repository = Repository::open(clone_dir).map_err(other)?;
    let oid = git2::Oid::from_str(commit).map_err(other)?;
    let tree = repository
        .find_commit(oid)
        .and_then(|commit| commit.tree())
        .map_err(other)?;
    let entry = match tree.get_path(Path::new(path)) {
        Ok(entry) => entry,
        Err(error) if error.code() == ErrorCode::NotFound => return Ok(FileAt::Missing),
        Err(error) => return Err(other(error)),
    };
    // 0o100644 and 0o100755; links are 0o120000, submodules 0o160000.
    if entry.kind() != Some(ObjectType::Blob) || entry.filemode() & 0o170_000 != 0o100_000 {
        return Ok(FileAt::NotAFile);
    }
    let blob = repository.find_blob(entry.id()).map_err(other)?;
    Ok(FileAt::File(blob.content().to_vec()))
}

/// Finish a refresh by [`fetch_into`]: check `commit` out into the work tree of `clone_dir`,
/// as a fresh clone would have it (files that differ are rewritten, local changes, untracked
/// and ignored files removed; unchanged files are not touched), then move the checked-out
/// local branch to it. Until the branch moves, HEAD still names the old commit, so a refresh
/// interrupted here checks the commit out again next time.
///
/// # Errors
///
/// [`GitError::Other`] when the repository cannot be read or the checkout fails (a file that
/// cannot be written); the work tree may then be partly updated.
pub fn check_out_fetched(clone_dir: &Path, commit: &str) -> Result<(), GitError> {
    let shown = clone_dir.display().to_string();
    let other = |source: git2::Error| GitError::Other {
        url: shown.clone(),
        source,
    };
    let repository = Repository::open(clone_dir).map_err(other)?;
    let oid = git2::Oid::from_str(commit).map_err(other)?;
    let target = repository.find_commit(oid).map_err(other)?;
    let mut builder = CheckoutBuilder::new();
    builder.force().remove_untracked(true).remove_ignored(true);
    repository
        .checkout_tree(target.as_object(), Some(&mut builder))
        .map_err(other)?;
    let head = repository.find_reference("HEAD").map_err(other)?;
    match head.symbolic_target().map_err(other)? {
        Some(branch) => {
            repository
                .reference(branch, oid, true, "pull: fast-forward")
                .map_err(other)?;
        }
        None => repository.set_head_detached(oid).map_err(other)?,
    }
    Ok(())
}

/// Check out `commit` (already HEAD) into the fresh work tree, all of it or a sparse cone.
fn checkout(
    repository: &Repository,
    commit: &git2::Commit<'_>,
    sparse_paths: &[String],
) -> Result<(), git2::Error> {
    let cone = Cone::new(sparse_paths);
    let mut builder = CheckoutBuilder::new();
    builder.force();
    let Some(cone) = cone else {
        return repository.checkout_head(Some(&mut builder));
    };
    // libgit2 has no sparse checkout: list the files of the cone explicitly, then record the
    // others in the index as skip-worktree, which is what `git sparse-checkout` leaves behind.
    let tree = commit.tree()?;
    let mut included = Vec::new();
    let mut excluded = Vec::new();
    tree.walk(TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(ObjectType::Tree) {
            return TreeWalkResult::Ok;
        }
        let Ok(name) = entry.name() else {
            return TreeWalkResult::Ok;
        };
        let path = format!("{dir}{name}");
        if cone.includes(&path) {
            included.push(path);
        } else if entry.kind() == Some(ObjectType::Blob) {
            excluded.push((path, entry.id(), entry.filemode()));
        }
        TreeWalkResult::Ok
    })?;
    builder.disable_pathspec_match(true);
    for path in &included {
        builder.path(path.as_str());
    }
    if included.is_empty() {
        // An empty path list would mean "everything" to libgit2.
        builder.path(".git-pm-nothing-to-check-out");
    }
    repository.checkout_head(Some(&mut builder))?;

    let mut index = repository.index()?;
    for (path, id, mode) in excluded {
        index.add(&IndexEntry {
            ctime: IndexTime::new(0, 0),
            mtime: IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: u32::try_from(mode).unwrap_or(0o100_644),
            uid: 0,
            gid: 0,
            file_size: 0,
            id,
            flags: 0,
            flags_extended: IndexEntryExtendedFlag::SKIP_WORKTREE.bits(),
            path: path.into_bytes(),
        })?;
    }
    index.write()?;

    let mut config = repository.config()?;
    config.set_bool("core.sparseCheckout", true)?;
    config.set_bool("core.sparseCheckoutCone", true)?;
    let info = repository.path().join("info");
    fs_err::create_dir_all(&info)
        .and_then(|()| fs_err::write(info.join("sparse-checkout"), cone.patterns()))
        .map_err(|error| git2::Error::from_str(&error.to_string()))?;
    Ok(())
}

/// The directories of a cone-mode sparse checkout.
struct Cone {
    /// Directories checked out recursively (`a/b`).
    recursive: BTreeSet<String>,
    /// Their ancestors, whose direct files are checked out (`a`).
    parents: BTreeSet<String>,
}

impl Cone {
    /// `None` for a full checkout (no paths, or a path naming the repository root).
    fn new(sparse_paths: &[String]) -> Option<Self> {
        if sparse_paths.is_empty() {
            return None;
        }
        let mut recursive = BTreeSet::new();
        for path in sparse_paths {
            let normalized = path
                .replace('\\', "/")
                .split('/')
                .filter(|part| !part.is_empty() && *part != ".")
                .collect::<Vec<_>>()
                .join("/");
            if normalized.is_empty() {
                return None;
            }
            recursive.insert(normalized);
        }
        // A directory inside another recursive one adds nothing (git drops it too).
        let all: Vec<String> = recursive.iter().cloned().collect();
        recursive.retain(|dir| {
            !all.iter()
                .any(|other| other != dir && dir.starts_with(&format!("{other}/")))
        });
        let mut parents = BTreeSet::new();
        for dir in &recursive {
            let mut prefix = String::new();
            let parts: Vec<&str> = dir.split('/').collect();
            for part in &parts[..parts.len() - 1] {
                if !prefix.is_empty() {
                    prefix.push('/');
                }
                prefix.push_str(part);
                if !recursive.contains(&prefix) {
                    parents.insert(prefix.clone());
                }
            }
        }
        Some(Self { recursive, parents })
    }

    /// Whether the file at `path` (slash-separated, relative to the root) is checked out.
    fn includes(&self, path: &str) -> bool {
        let dir = path.rsplit_once('/').map_or("", |(dir, _)| dir);
        dir.is_empty()
            || self.parents.contains(dir)
            || self
                .recursive
                .iter()
                .any(|recursive| path.starts_with(&format!("{recursive}/")))
    }

    /// The `.git/info/sparse-checkout` file `git sparse-checkout set --cone` writes.
    fn patterns(&self) -> String {
        fn escape(path: &str) -> String {
            path.chars()
                .flat_map(|c| {
                    let escaped = matches!(c, '*' | '?' | '[' | '\\');
                    escaped.then_some('\\').into_iter().chain([c])
                })
                .collect()
        }
        let parents = self.parents.iter().map(|parent| {
            let parent = escape(parent);
            format!("/{parent}/\n!/{parent}/*/\n")
        });
        let recursive = self
            .recursive
            .iter()
            .map(|dir| format!("/{}/\n", escape(dir)));
        std::iter::once("/*\n!/*/\n".to_owned())
            .chain(parents)
            .chain(recursive)
            .collect()
    }
}

/// `git ls-remote URL` with libgit2: every advertised ref with its oid (peeled tags as
/// `refs/tags/T^{}`).
fn ls_remote_libgit2(url: &str, options: &GitOptions) -> Result<Vec<(String, String)>, GitError> {
    let shown = redact_url(url);
    // A detached remote applies `insteadOf` from the default configuration, like a
    // repository's remote does.
    let mut remote = git2::Remote::create_detached(url).map_err(|source| GitError::Other {
        url: shown.clone(),
        source,
    })?;
    let actual_url = remote.url().unwrap_or(url).to_owned();
    let credentials = RefCell::new(Credentials::new(options, Config::open_default().ok()));
    let fail = |error: git2::Error| map_error(error, &shown, &actual_url, &credentials.borrow());
    let connection = remote
        .connect_auth(
            Direction::Fetch,
            Some(callbacks(&credentials, None)),
            Some(proxy_options()),
        )
        .map_err(fail)?;
    let refs = connection
        .list()
        .map_err(fail)?
        .iter()
        .map(|head| (head.oid().to_string(), head.name().to_owned()))
        .collect();
    Ok(refs)
}

// ------------------------------------------------------------------------------------------
// git CLI backend

mod cli {
    use super::{
        CloneRequest, Cloned, Command, ErrorClass, ErrorCode, FetchProgress, GitError, GitOptions,
        Path, PathBuf, Read, Stdio, head_commit, io, is_github_https, is_local_transport,
        redact_text, redact_url, rewrite_url,
    };

    /// Variables that would point `git` at another repository than the one we name.
    const SCRUBBED_ENV: &[&str] = &[
        "GIT_DIR",
        "GIT_WORK_TREE",
        "GIT_INDEX_FILE",
        "GIT_OBJECT_DIRECTORY",
        "GIT_ALTERNATE_OBJECT_DIRECTORIES",
        "GIT_COMMON_DIR",
        "GIT_NAMESPACE",
        "GIT_CEILING_DIRECTORIES",
    ];

    /// Environment variable carrying the GitHub token to the credential helper below (never on
    /// the command line, where other users could read it).
    const TOKEN_ENV: &str = "PM_GIT_GITHUB_TOKEN";

    /// The `git` executable from `PATH` (never the current directory).
    fn executable() -> Result<PathBuf, GitError> {
        let name = if cfg!(windows) { "git.exe" } else { "git" };
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .filter(|dir| dir.is_absolute())
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    "the `git` executable was not found on `PATH`",
                )
                .into()
            })
    }

    /// A `git` command with a scrubbed environment, no prompts, no hooks and no `ext::`
    /// transport; with the GitHub token offered after the user's own credential helpers.
    pub(super) fn command(options: &GitOptions, url: &str) -> Result<Command, GitError> {
        let mut command = Command::new(executable()?);
        for name in SCRUBBED_ENV {
            command.env_remove(name);
        }
        command
            .env("GIT_TERMINAL_PROMPT", "0")
            .stdin(Stdio::null())
            .args([
                "-c",
                "core.hooksPath=/dev/null",
                "-c",
                "protocol.ext.allow=never",
            ]);
        if let Some(token) = &options.github_token
            && is_github_https(&rewrite_url(url))
        {
            command.env(TOKEN_ENV, token).args([
                "-c",
                &format!(
                    "credential.https://github.com.helper=!f() {{ test \"$1\" = get && echo username=x-access-token && echo \"password=${TOKEN_ENV}\"; }}; f"
                ),
            ]);
        }
        #[cfg(test)]
        super::test_support::isolate_command(&mut command);
        Ok(command)
    }

    pub(super) fn clone(
        request: &CloneRequest<'_>,
        options: &GitOptions,
        progress: &mut dyn FnMut(FetchProgress),
    ) -> Result<Cloned, GitError> {
        let shown = redact_url(request.url);
        let actual = rewrite_url(request.url);
        let sparse = !request.sparse_paths.is_empty();
        let mut command = command(options, request.url)?;
        command.args(["clone", "--progress", "--no-recurse-submodules"]);
        // `--depth` is ignored (with a warning) for plain local paths, honoured elsewhere,
        // including file:// URLs.
        let plain_path =
            is_local_transport(&actual) && !actual.to_ascii_lowercase().starts_with("file://");
        if !plain_path {
            command.args(["--depth", "1"]);
        }
        if sparse {
            command.arg("--no-checkout");
        }
        if let Some(reference) = request.reference {
            command.args(["--branch", reference]);
        }
        command
            .arg("--")
            .arg(request.url)
            .arg(request.destination)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let mut stderr = Vec::new();
        if let Some(mut pipe) = child.stderr.take() {
            let mut buffer = [0_u8; 4096];
            let mut pending = Vec::new();
            loop {
                let read = pipe.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                for &byte in &buffer[..read] {
                    if byte == b'\r' || byte == b'\n' {
                        take_line(&mut pending, &mut stderr, progress);
                    } else {
                        pending.push(byte);
                    }
                }
            }
            take_line(&mut pending, &mut stderr, progress);
        }
        let status = child.wait()?;
        if !status.success() {
            return Err(failure(&shown, request.reference, &stderr));
        }
        if sparse {
            let mut set = command_in(options, request.url, request.destination)?;
            set.args(["sparse-checkout", "set", "--cone", "--"])
                .args(request.sparse_paths);
            run(set, &shown, request.reference)?;
            let mut checkout = command_in(options, request.url, request.destination)?;
            checkout.arg("checkout");
            run(checkout, &shown, request.reference)?;
        }
        let head = head_commit(request.destination).ok_or_else(|| GitError::Cli {
            url: shown.clone(),
            stderr: "the clone has no HEAD commit".to_owned(),
        })?;
        Ok(Cloned {
            head,
            fetched: true,
        })
    }

    /// `git ls-remote -- URL HEAD` (or the three refs a pinned reference may be), as
    /// `(oid, name)` pairs.
    pub(super) fn ls_remote(
        url: &str,
        reference: Option<&str>,
        options: &GitOptions,
    ) -> Result<Vec<(String, String)>, GitError> {
        let shown = redact_url(url);
        let mut command = command(options, url)?;
        command.args(["ls-remote", "--", url]);
        match reference {
            None => {
                command.arg("HEAD");
            }
            Some(name) => {
                command.args([
                    format!("refs/heads/{name}"),
                    format!("refs/tags/{name}^{{}}"),
                    format!("refs/tags/{name}"),
                ]);
            }
        }
        let stdout = run(command, &shown, reference)?;
        Ok(String::from_utf8_lossy(&stdout)
            .lines()
            .filter_map(|line| {
                let (oid, name) = line.split_once('\t')?;
                Some((oid.trim().to_owned(), name.trim().to_owned()))
            })
            .collect())
    }

    fn command_in(options: &GitOptions, url: &str, dir: &Path) -> Result<Command, GitError> {
        let mut command = command(options, url)?;
        command.arg("-C").arg(dir);
        Ok(command)
    }

    /// Run to completion; stdout on success.
    fn run(
        mut command: Command,
        shown: &str,
        reference: Option<&str>,
    ) -> Result<Vec<u8>, GitError> {
        let output = command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()?;
        if output.status.success() {
            Ok(output.stdout)
        } else {
            let stderr: Vec<String> = String::from_utf8_lossy(&output.stderr)
                .lines()
                .map(str::to_owned)
                .collect();
            Err(failure(shown, reference, &stderr))
        }
    }

    /// Consume one stderr line: progress goes to `progress`, anything else is kept.
    fn take_line(
        pending: &mut Vec<u8>,
        kept: &mut Vec<String>,
        progress: &mut dyn FnMut(FetchProgress),
    ) {
        if pending.is_empty() {
            return;
        }
        let line = String::from_utf8_lossy(pending).trim().to_owned();
        pending.clear();
        if let Some(rest) = line.strip_prefix("Receiving objects:") {
            if let Some(update) = parse_receiving(rest) {
                progress(update);
            }
        } else if !line.contains('%') && !line.starts_with("Cloning into") && !line.is_empty() {
            kept.push(line);
            if kept.len() > 40 {
                kept.remove(0);
            }
        }
    }

    /// Parse `  45% (9/20), 1.00 KiB | 1.00 MiB/s` from `Receiving objects:`.
    pub(super) fn parse_receiving(rest: &str) -> Option<FetchProgress> {
        let open = rest.find('(')?;
        let close = open + rest[open..].find(')')?;
        let (received, total) = rest[open + 1..close].split_once('/')?;
        let received_objects = received.trim().parse().ok()?;
        let total_objects = total.trim().parse().ok()?;
        let received_bytes = rest[close + 1..]
            .trim_start_matches(',')
            .split('|')
            .next()
            .and_then(|size| {
                let mut parts = size.split_whitespace();
                let number: f64 = parts.next()?.parse().ok()?;
                let unit = match parts.next()? {
                    "bytes" => 1.0,
                    "KiB" => 1024.0,
                    "MiB" => 1024.0 * 1024.0,
                    "GiB" => 1024.0 * 1024.0 * 1024.0,
                    _ => return None,
                };
                #[expect(
                    clippy::cast_possible_truncation,
                    clippy::cast_sign_loss,
                    reason = "an approximate, non-negative byte count"
                )]
                Some((number * unit) as usize)
            })
            .unwrap_or(0);
        Some(FetchProgress {
            received_objects,
            total_objects,
            received_bytes,
        })
    }

    /// Map `git` stderr to the error variants the libgit2 backend uses.
    pub(super) fn failure(shown: &str, reference: Option<&str>, stderr: &[String]) -> GitError {
        let text = redact_text(&stderr.join("\n"));
        let lower = text.to_ascii_lowercase();
        let url = shown.to_owned();
        if let Some(reference) = reference
            && ((lower.contains("remote branch") && lower.contains("not found"))
                || lower.contains("could not find remote branch")
                || lower.contains("couldn't find remote ref"))
        {
            return GitError::ReferenceNotFound {
                url,
                reference: reference.to_owned(),
            };
        }
        if lower.contains("authentication failed")
            || lower.contains("could not read username")
            || lower.contains("could not read password")
            || lower.contains("terminal prompts disabled")
            || lower.contains("permission denied")
            || lower.contains("returned error: 403")
        {
            return GitError::Authentication { url };
        }
        if lower.contains("not found")
            || lower.contains("does not appear to be a git repository")
            || lower.contains("does not exist")
        {
            return GitError::RepositoryNotFound { url };
        }
        if lower.contains("could not resolve host")
            || lower.contains("connection refused")
            || lower.contains("timed out")
            || lower.contains("failed to connect")
            || lower.contains("network is unreachable")
            || lower.contains("could not connect")
        {
            return GitError::Network {
                url,
                source: git2::Error::new(ErrorCode::GenericError, ErrorClass::Net, text),
            };
        }
        GitError::Cli { url, stderr: text }
    }
}

// ------------------------------------------------------------------------------------------
// Pinned commits (plugin sources with `sha`) and re-checkouts of an existing clone

/// libgit2's `GIT_FETCH_DEPTH_UNSHALLOW`: fetch the whole history of a shallow repository.
const DEPTH_UNSHALLOW: i32 = i32::MAX;

/// Makes the clone at `dir` (made by [`clone`]) hold exactly `sha`: HEAD detached at it, its tree
/// checked out (only a cone of it when `sparse_paths` is not empty, as [`clone`] does), the index
/// rebuilt, and nothing else left in the work tree.
///
/// A commit the clone does not have is fetched from its `origin` first, like `git fetch --depth 1
/// origin <sha>` (without `--depth` over the local transport, where libgit2 cannot fetch
/// shallowly). When that does not bring it (a remote that serves only advertised commits, the
/// local transport), every branch and tag of `origin` is fetched with its whole history and the
/// commit is looked for again. Calling this with the clone's own HEAD (and other `sparse_paths`)
/// only checks it out again.
///
/// Returns `Ok(None)` when `origin` does not have the commit, else the commit checked out.
///
/// # Errors
///
/// As [`clone`] for the fetch (network, authentication); [`GitError::Other`] when `sha` is not
/// a commit id or the checkout fails; [`GitError::Io`] when the work tree cannot be emptied.
pub fn checkout_commit(
    dir: &Path,
    sha: &str,
    sparse_paths: &[String],
    options: &GitOptions,
    progress: &mut dyn FnMut(FetchProgress),
) -> Result<Option<Cloned>, GitError> {
    let open = |dir: &Path| {
        Repository::open(dir).map_err(|source| GitError::Other {
            url: dir.display().to_string(),
            source,
        })
    };
    let repository = open(dir)?;
    let configured = repository
        .config()
        .and_then(|config| config.get_string(&format!("remote.{ORIGIN}.url")))
        .unwrap_or_default();
    let shown = redact_url(&configured);
    let other = |source: git2::Error| GitError::Other {
        url: shown.clone(),
        source,
    };
    let oid = git2::Oid::from_str(sha).map_err(other)?;
    if repository.find_commit(oid).is_err() {
        if options.use_git_cli {
            fetch_commit_cli(dir, &configured, sha, options)?;
        } else {
            fetch_commit_libgit2(&repository, oid, &shown, options, progress)?;
        }
    }
    // Reopened: objects a `git` process fetched are seen for certain.
    let repository = open(dir)?;
    let Ok(commit) = repository.find_commit(oid) else {
        return Ok(None);
    };
    empty_work_tree(dir)?;
    repository.set_head_detached(oid).map_err(other)?;
    checkout(&repository, &commit, sparse_paths).map_err(other)?;
    if sparse_paths.is_empty() {
        repository
            .config()
            .and_then(|mut config| config.set_bool("core.sparseCheckout", false))
            .map_err(other)?;
    }
    match head_commit(dir) {
        Some(head) if head == commit.id().to_string() => Ok(Some(Cloned {
            head,
            fetched: true,
        })),
        _ => Err(other(git2::Error::from_str(&format!(
            "HEAD is not at commit {sha} after checking it out"
        )))),
    }
}

/// Removes everything in the work tree at `dir` except `.git`, and the index: what
/// [`checkout`] expects (a fresh clone's state). Links are removed, never followed.
fn empty_work_tree(dir: &Path) -> io::Result<()> {
    for entry in fs_err::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name() == ".git" {
            continue;
        }
        let path = entry.path();
        if fs_err::symlink_metadata(&path)?.is_dir() {
            fs_err::remove_dir_all(&path)?;
        } else {
            fs_err::remove_file(&path)?;
        }
    }
    match fs_err::remove_file(dir.join(".git").join("index")) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
        _ => Ok(()),
    }
}

/// [`checkout_commit`]'s fetch with libgit2: the commit by id, then everything.
fn fetch_commit_libgit2(
    repository: &Repository,
    oid: git2::Oid,
    shown: &str,
    options: &GitOptions,
    progress: &mut dyn FnMut(FetchProgress),
) -> Result<(), GitError> {
    let other = |source: git2::Error| GitError::Other {
        url: shown.to_owned(),
        source,
    };
    let mut remote = repository.find_remote(ORIGIN).map_err(other)?;
    let actual_url = remote.url().unwrap_or_default().to_owned();
    let shallow = !is_local_transport(&actual_url);
    {
        let credentials = RefCell::new(Credentials::new(options, repository.config().ok()));
        let mut fetch_options = FetchOptions::new();
        fetch_options
            .remote_callbacks(callbacks(&credentials, Some(&mut *progress)))
            .proxy_options(proxy_options())
            .download_tags(AutotagOption::None)
            .update_fetchhead(false);
        if shallow {
            fetch_options.depth(1);
        }
        let sha = oid.to_string();
        let fetched = remote.fetch(
            &[sha.as_str()],
            Some(&mut fetch_options),
            Some("fetch: pinned commit"),
        );
        if fetched.is_ok() && repository.find_commit(oid).is_ok() {
            return Ok(());
        }
    }
    let credentials = RefCell::new(Credentials::new(options, repository.config().ok()));
    let mut fetch_options = FetchOptions::new();
    fetch_options
        .remote_callbacks(callbacks(&credentials, Some(progress)))
        .proxy_options(proxy_options())
        .download_tags(AutotagOption::None)
        .update_fetchhead(false);
    if repository.is_shallow() {
        fetch_options.depth(DEPTH_UNSHALLOW);
    }
    let everything = [
        format!("+refs/heads/*:refs/remotes/{ORIGIN}/*"),
        "+refs/tags/*:refs/tags/*".to_owned(),
    ];
    let result = remote.fetch(
        &everything,
        Some(&mut fetch_options),
        Some("fetch: all refs"),
    );
    result.map_err(|error| map_error(error, shown, &actual_url, &credentials.borrow()))
}

/// [`checkout_commit`]'s fetch with the `git` executable: `git fetch --depth 1 origin <sha>`,
/// then every branch and tag (`--unshallow` for a shallow clone).
fn fetch_commit_cli(
    dir: &Path,
    url: &str,
    sha: &str,
    options: &GitOptions,
) -> Result<(), GitError> {
    let shown = redact_url(url);
    let actual = rewrite_url(url);
    let plain_path =
        is_local_transport(&actual) && !actual.to_ascii_lowercase().starts_with("file://");
    let mut by_id = cli::command(options, url)?;
    by_id.arg("-C").arg(dir).args(["fetch", "--no-tags"]);
    if !plain_path {
        by_id.args(["--depth", "1"]);
    }
    by_id.args(["--", ORIGIN, sha]);
    let has_commit = || {
        Repository::open(dir)
            .ok()
            .and_then(|repository| {
                let oid = git2::Oid::from_str(sha).ok()?;
                repository.find_commit(oid).ok().map(|_| ())
            })
            .is_some()
    };
    if run_git(by_id).is_ok() && has_commit() {
        return Ok(());
    }
    let mut everything = cli::command(options, url)?;
    everything.arg("-C").arg(dir).args(["fetch", "--tags"]);
    if dir.join(".git").join("shallow").is_file() {
        everything.arg("--unshallow");
    }
    everything.args([
        "--",
        ORIGIN,
        &format!("+refs/heads/*:refs/remotes/{ORIGIN}/*"),
    ]);
    run_git(everything).map_err(|stderr| git_cli_failure(&shown, &stderr))
}

/// Runs a `git` command to completion; its stderr (credentials removed) when it fails.
fn run_git(mut command: Command) -> Result<(), String> {
    let output = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|error| error.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(redact_text(String::from_utf8_lossy(&output.stderr).trim()))
    }
}

/// A failed `git fetch` as a [`GitError`], as far as its stderr tells (the classification of
/// the CLI backend's clones, credentials redacted).
fn git_cli_failure(shown: &str, stderr: &str) -> GitError {
    cli::failure(shown, None, &[stderr.to_owned()])
}

// ------------------------------------------------------------------------------------------
// Version tags (dependency ranges, reference-advanced.md §2.4)

/// The tags of the repository at `url` (a remote, or a local repository's path) whose names
/// start with `prefix`, each with the commit it points at (annotated tags peeled), sorted by
/// name: `git ls-remote URL 'refs/tags/<prefix>*'`. `url.<base>.insteadOf` applies.
///
/// # Errors
///
/// As [`remote_head`]: repository not found, authentication, network.
pub fn list_tags(
    url: &str,
    prefix: &str,
    options: &GitOptions,
) -> Result<Vec<(String, String)>, GitError> {
    let refs = if options.use_git_cli {
        // ls-remote patterns are globs matched against the end of each ref name.
        cli::ls_remote(url, Some(&format!("{prefix}*")), options)?
    } else {
        ls_remote_libgit2(url, options)?
    };
    // Tag name → (the commit or tag object it names, the commit of a peeled annotated tag).
    let mut tags: std::collections::BTreeMap<String, (Option<String>, Option<String>)> =
        std::collections::BTreeMap::new();
    for (oid, name) in refs {
        let Some(tag) = name.strip_prefix("refs/tags/") else {
            continue;
        };
        match tag.strip_suffix("^{}") {
            Some(peeled) if peeled.starts_with(prefix) => {
                tags.entry(peeled.to_owned()).or_default().1 = Some(oid);
            }
            None if tag.starts_with(prefix) => {
                tags.entry(tag.to_owned()).or_default().0 = Some(oid);
            }
            _ => {}
        }
    }
    Ok(tags
        .into_iter()
        .filter_map(|(name, (direct, peeled))| peeled.or(direct).map(|oid| (name, oid)))
        .collect())
}

// ------------------------------------------------------------------------------------------
// Pushing a reference (`pm tag --push`, reference-advanced.md §4)

/// Whether `remote` (as given to [`push_reference`]) names a repository directly, as `git
/// push` accepts: a `scheme://` URL, an scp-like `host:path`, or a path (it holds a `/`, or is
/// `.`/`..`). Anything else must be a configured remote.
fn names_a_repository(remote: &str) -> bool {
    remote.contains("://")
        || is_scp_like(remote)
        || remote.contains('/')
        || (cfg!(windows) && remote.contains('\\'))
        || remote == "."
        || remote == ".."
}

/// Whether `remote` has `destination` pointing at another object than the local reference
/// `source` (a second connection, made only after a failed push).
fn remote_has_other(
    remote: &mut git2::Remote<'_>,
    repo: &Repository,
    source: &str,
    destination: &str,
    options: &GitOptions,
) -> bool {
    let local = repo.refname_to_id(source).ok();
    let credentials = RefCell::new(Credentials::new(options, repo.config().ok()));
    let Ok(connection) = remote.connect_auth(
        Direction::Push,
        Some(callbacks(&credentials, None)),
        Some(proxy_options()),
    ) else {
        return false;
    };
    let Ok(heads) = connection.list() else {
        return false;
    };
    heads
        .iter()
        .any(|head| head.name() == destination && Some(head.oid()) != local)
}

/// Pushes one reference of the repository whose work tree is `repository` to `remote`, like
/// `git -C <repository> push -- <remote> <refspec>`.
///
/// * `remote`: a configured remote's name (its `pushurl`, else `url`; `insteadOf` and
///   `pushInsteadOf` apply), or a URL or path as `git push` accepts one.
/// * `refspec`: `[+]<src>:<dst>`, e.g. `+refs/tags/p--v1.0.0:refs/tags/p--v1.0.0` (`+`
///   forces the update).
///
/// Credentials as for [`clone`] (ssh-agent, the user's credential helpers, the GitHub token for
/// `https://github.com/…`); with [`GitOptions::use_git_cli`] the `git` executable pushes.
///
/// # Errors
///
/// [`GitError::RemoteNotFound`] when `remote` is neither a configured remote nor a URL or
/// path; [`GitError::PushRejected`] when the remote refused the update (for example a tag it
/// already has, without `+`); otherwise as [`clone`]: repository not found, authentication,
/// network.
pub fn push_reference(
    repository: &Path,
    remote: &str,
    refspec: &str,
    options: &GitOptions,
) -> Result<(), GitError> {
    let shown_repository = repository.display().to_string();
    let repo = Repository::open(repository).map_err(|source| GitError::Other {
        url: shown_repository.clone(),
        source,
    })?;
    let mut git_remote = match repo.find_remote(remote) {
        Ok(found) => found,
        Err(_) if names_a_repository(remote) => {
            repo.remote_anonymous(remote)
                .map_err(|source| GitError::Other {
                    url: redact_url(remote),
                    source,
                })?
        }
        Err(error)
            if error.code() == ErrorCode::NotFound || error.class() == ErrorClass::Config =>
        {
            return Err(GitError::RemoteNotFound {
                repository: repository.to_path_buf(),
                name: remote.to_owned(),
            });
        }
        Err(source) => {
            return Err(GitError::Other {
                url: shown_repository,
                source,
            });
        }
    };
    let actual_url = git_remote
        .pushurl()
        .ok()
        .flatten()
        .or_else(|| git_remote.url().ok())
        .unwrap_or(remote)
        .to_owned();
    let shown = redact_url(&actual_url);
    if options.use_git_cli {
        let mut command = cli::command(options, &actual_url)?;
        command
            .arg("-C")
            .arg(repository)
            .args(["push", "--", remote, refspec]);
        return run_git(command).map_err(|stderr| git_cli_failure(&shown, &stderr));
    }
    let credentials = RefCell::new(Credentials::new(options, repo.config().ok()));
    let rejected: RefCell<Vec<(String, String)>> = RefCell::new(Vec::new());
    let mut callbacks = callbacks(&credentials, None);
    callbacks.push_update_reference(|reference, status| {
        if let Some(reason) = status {
            rejected
                .borrow_mut()
                .push((reference.to_owned(), reason.to_owned()));
        }
        Ok(())
    });
    let mut push_options = PushOptions::new();
    push_options.remote_callbacks(callbacks);
    push_options.proxy_options(proxy_options());
    let result = git_remote.push(&[refspec], Some(&mut push_options));
    drop(push_options);
    if let Err(error) = result {
        // libgit2 refuses a non-forced update of a remote reference with errors about
        // fast-forwards ("object is no commit object" for a tag); say what git says.
        if !refspec.starts_with('+')
            && let Some((source, destination)) = refspec.split_once(':')
            && remote_has_other(&mut git_remote, &repo, source, destination, options)
        {
            return Err(GitError::PushRejected {
                url: shown,
                reference: destination.to_owned(),
                reason: "already exists".to_owned(),
            });
        }
        return Err(map_error(error, &shown, &actual_url, &credentials.borrow()));
    }
    match rejected.into_inner().into_iter().next() {
        Some((reference, reason)) => Err(GitError::PushRejected {
            url: shown,
            reference,
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::test_http::GitHttpServer;
    use super::test_support::{Fixture, git, git_in, home, isolate_libgit2};
    use super::*;

    fn file_url(path: &Path) -> String {
        format!("file://{}", path.display())
    }

    fn clone_to(
        url: &str,
        reference: Option<&str>,
        sparse: &[String],
        options: &GitOptions,
    ) -> (tempfile::TempDir, PathBuf, Result<Cloned, GitError>) {
        isolate_libgit2();
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("clone");
        let request = CloneRequest {
            url,
            reference,
            destination: &destination,
            sparse_paths: sparse,
            unless_at: None,
        };
        let result = clone(&request, options, &mut |_| {});
        (dir, destination, result)
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut files: Vec<String> = walkdir::WalkDir::new(dir)
            .into_iter()
            .filter_entry(|e| e.file_name() != ".git")
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                e.path()
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn clone_unless_at_fetches_only_when_the_remote_moved() {
        let fixture = Fixture::new();
        for use_git_cli in [false, true] {
            let options = GitOptions {
                use_git_cli,
                ..GitOptions::default()
            };
            isolate_libgit2();
            let dir = tempfile::tempdir().unwrap();
            let destination = dir.path().join("clone");
            let url = file_url(&fixture.bare);
            let mut request = CloneRequest {
                url: &url,
                reference: None,
                destination: &destination,
                sparse_paths: &[],
                unless_at: Some(&fixture.main),
            };
            let same = clone(&request, &options, &mut |_| {}).unwrap();
            assert_eq!(same.head, fixture.main, "cli: {use_git_cli}");
            assert!(!same.fetched, "cli: {use_git_cli}");
            assert!(
                !destination.exists(),
                "nothing left behind (cli: {use_git_cli})"
            );

            let other = "0".repeat(40);
            request.unless_at = Some(&other);
            let moved = clone(&request, &options, &mut |_| {}).unwrap();
            assert!(moved.fetched, "cli: {use_git_cli}");
            assert_eq!(moved.head, fixture.main);
            assert!(
                destination
                    .join(".claude-plugin/marketplace.json")
                    .is_file()
            );
        }
    }

    #[test]
    fn clone_file_url_is_a_full_clone_of_the_default_branch() {
        let fixture = Fixture::new();
        let mut updates = 0;
        isolate_libgit2();
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("nested").join("clone");
        let request = CloneRequest {
            url: &file_url(&fixture.bare),
            reference: None,
            destination: &destination,
            sparse_paths: &[],
            unless_at: None,
        };
        let cloned = clone(&request, &GitOptions::default(), &mut |_| updates += 1).unwrap();
        assert_eq!(cloned.head, fixture.main);
        assert!(updates > 0, "progress was reported");
        assert!(
            !destination.join(".git/shallow").exists(),
            "local transport: full clone"
        );
        assert_eq!(git_in(&destination, &["rev-list", "--count", "HEAD"]), "2");
        assert_eq!(
            git_in(&destination, &["symbolic-ref", "HEAD"]),
            "refs/heads/main"
        );
        assert_eq!(
            git_in(
                &destination,
                &["rev-parse", "--abbrev-ref", "main@{upstream}"]
            ),
            "origin/main"
        );
        assert_eq!(
            git_in(&destination, &["symbolic-ref", "refs/remotes/origin/HEAD"]),
            "refs/remotes/origin/main"
        );
        assert_eq!(
            git_in(&destination, &["config", "remote.origin.fetch"]),
            "+refs/heads/main:refs/remotes/origin/main"
        );
        assert_eq!(git_in(&destination, &["status", "--porcelain"]), "");
        assert_eq!(
            files_in(&destination),
            [
                ".claude-plugin/marketplace.json",
                "README.md",
                "plugins/a/a.txt",
                "plugins/b/b.txt",
                "plugins/main.txt",
                "top/deep/x.txt"
            ]
        );
        assert_eq!(
            fs_err::read_to_string(destination.join(".git").join(SPARSE_PATHS_FILE)).unwrap(),
            r#"{"sparsePaths":[]}"#
        );
    }

    #[test]
    fn clone_plain_path() {
        let fixture = Fixture::new();
        let (_dir, destination, result) = clone_to(
            fixture.bare.to_str().unwrap(),
            None,
            &[],
            &GitOptions::default(),
        );
        assert_eq!(result.unwrap().head, fixture.main);
        assert!(!destination.join(".git/shallow").exists());
    }

    #[test]
    fn clone_branch_and_tags() {
        let fixture = Fixture::new();
        let url = file_url(&fixture.bare);
        let options = GitOptions::default();

        let (_d1, branch, result) = clone_to(&url, Some("dev"), &[], &options);
        assert_eq!(result.unwrap().head, fixture.dev);
        assert_eq!(git_in(&branch, &["symbolic-ref", "HEAD"]), "refs/heads/dev");
        assert!(branch.join("dev.txt").is_file());
        assert_eq!(git_in(&branch, &["status", "--porcelain"]), "");

        let (_d2, tag, result) = clone_to(&url, Some("v1"), &[], &options);
        assert_eq!(result.unwrap().head, fixture.first);
        assert_eq!(git_in(&tag, &["rev-parse", "HEAD"]), fixture.first);
        assert!(
            git(&tag, &["symbolic-ref", "-q", "HEAD"]).is_err(),
            "tag: detached"
        );
        assert!(!tag.join("plugins/main.txt").exists());

        let (_d3, light, result) = clone_to(&url, Some("light"), &[], &options);
        assert_eq!(result.unwrap().head, fixture.first);
        assert_eq!(git_in(&light, &["status", "--porcelain"]), "");
    }

    #[test]
    fn clone_missing_repository() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.git");
        for url in [file_url(&missing), missing.display().to_string()] {
            let (_d, destination, result) = clone_to(&url, None, &[], &GitOptions::default());
            let error = result.unwrap_err();
            assert!(
                matches!(error, GitError::RepositoryNotFound { .. }),
                "{url}: {error:?}"
            );
            assert!(
                !destination.exists(),
                "a failed clone leaves nothing behind"
            );
        }
    }

    #[test]
    fn clone_missing_reference() {
        let fixture = Fixture::new();
        let url = file_url(&fixture.bare);
        let (_d, destination, result) = clone_to(&url, Some("nope"), &[], &GitOptions::default());
        let error = result.unwrap_err();
        assert!(
            matches!(&error, GitError::ReferenceNotFound { reference, .. } if reference == "nope"),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("`nope` is neither a branch nor a tag of `{url}`")
        );
        assert!(!destination.exists());
    }

    #[test]
    fn clone_refuses_an_existing_destination() {
        let fixture = Fixture::new();
        isolate_libgit2();
        let dir = tempfile::tempdir().unwrap();
        let request = CloneRequest {
            url: &file_url(&fixture.bare),
            reference: None,
            destination: dir.path(),
            sparse_paths: &[],
            unless_at: None,
        };
        let error = clone(&request, &GitOptions::default(), &mut |_| {}).unwrap_err();
        assert!(matches!(&error, GitError::Io(e) if e.kind() == io::ErrorKind::AlreadyExists));
        assert!(dir.path().exists(), "an existing directory is not removed");
    }

    #[test]
    fn insteadof_applies_to_clone_and_ls_remote() {
        let fixture = Fixture::new();
        // `https://github.com/` is rewritten to `file://<home>/github/` by the test config.
        let owner = tempfile::tempdir_in(home().join("github")).unwrap();
        let owner_name = owner
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        fs_err::rename(&fixture.bare, owner.path().join("repo.git")).unwrap();
        let url = format!("https://github.com/{owner_name}/repo.git");
        let rewritten = rewrite_url(&url);
        assert_eq!(
            rewritten,
            format!("file://{}/github/{owner_name}/repo.git", home().display())
        );
        assert!(is_local_transport(&rewritten));

        let (_d, destination, result) = clone_to(&url, None, &[], &GitOptions::default());
        assert_eq!(result.unwrap().head, fixture.main);
        assert!(
            !destination.join(".git/shallow").exists(),
            "rewritten to file://: full clone"
        );
        assert_eq!(
            git_in(&destination, &["config", "remote.origin.url"]),
            url,
            "recorded as given"
        );

        let scp = format!("git@github.com:{owner_name}/repo.git");
        assert_eq!(
            remote_head(&scp, None, &GitOptions::default()).unwrap(),
            fixture.main
        );
        assert_eq!(
            remote_head(&url, Some("dev"), &GitOptions::default()).unwrap(),
            fixture.dev
        );

        let cli = GitOptions {
            use_git_cli: true,
            ..GitOptions::default()
        };
        let (_d, destination, result) = clone_to(&url, None, &[], &cli);
        assert_eq!(result.unwrap().head, fixture.main);
        assert_eq!(git_in(&destination, &["rev-parse", "HEAD"]), fixture.main);
    }

    #[test]
    fn remote_head_of_head_and_references() {
        let fixture = Fixture::new();
        let url = file_url(&fixture.bare);
        for options in [
            GitOptions::default(),
            GitOptions {
                use_git_cli: true,
                ..GitOptions::default()
            },
        ] {
            isolate_libgit2();
            assert_eq!(remote_head(&url, None, &options).unwrap(), fixture.main);
            assert_eq!(
                remote_head(&url, Some("dev"), &options).unwrap(),
                fixture.dev
            );
            assert_eq!(
                remote_head(&url, Some("v1"), &options).unwrap(),
                fixture.first,
                "peeled"
            );
            assert_eq!(
                remote_head(&url, Some("light"), &options).unwrap(),
                fixture.first
            );
            let error = remote_head(&url, Some("nope"), &options).unwrap_err();
            assert!(
                matches!(error, GitError::ReferenceNotFound { .. }),
                "{error:?}"
            );
            let missing = file_url(&fixture.bare.with_file_name("missing.git"));
            let error = remote_head(&missing, None, &options).unwrap_err();
            assert!(
                matches!(error, GitError::RepositoryNotFound { .. }),
                "{error:?}"
            );
        }
    }

    /// A new commit on `main` of the fixture, pushed to its bare repository: `plugins/a/a.txt`
    /// changed, `plugins/b/b.txt` deleted, `plugins/c/c.txt` added. Returns the commit.
    fn publish_change(fixture: &Fixture) -> String {
        let work = &fixture.work;
        fs_err::write(work.join("plugins/a/a.txt"), "a, changed\n").unwrap();
        fs_err::remove_file(work.join("plugins/b/b.txt")).unwrap();
        fs_err::create_dir_all(work.join("plugins/c")).unwrap();
        fs_err::write(work.join("plugins/c/c.txt"), "c\n").unwrap();
        git_in(work, &["add", "-A"]);
        git_in(work, &["commit", "-q", "-m", "change"]);
        git_in(
            work,
            &["push", "-q", fixture.bare.to_str().unwrap(), "main"],
        );
        git_in(work, &["rev-parse", "HEAD"])
    }

    #[cfg(unix)]
    fn inode(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt;
        fs_err::metadata(path).unwrap().ino()
    }

    #[test]
    #[cfg(unix)]
    fn fetch_into_refreshes_a_clone_in_place() {
        let fixture = Fixture::new();
        let url = file_url(&fixture.bare);
        let options = GitOptions::default();
        let (_d, clone_dir, result) = clone_to(&url, None, &[], &options);
        assert_eq!(result.unwrap().head, fixture.main);

        let current = fetch_into(&url, None, &clone_dir, &options, &mut |_| {}).unwrap();
        assert_eq!(
            current,
            FetchedInto::Current {
                head: fixture.main.clone()
            }
        );

        let new = publish_change(&fixture);
        // Local state a fresh clone would not have.
        fs_err::write(clone_dir.join("README.md"), "edited locally\n").unwrap();
        fs_err::write(clone_dir.join("untracked.txt"), "mine\n").unwrap();
        fs_err::write(clone_dir.join(".git/info/exclude"), "*.log\n").unwrap();
        fs_err::write(clone_dir.join("ignored.log"), "log\n").unwrap();
        let unchanged = clone_dir.join("top/deep/x.txt");
        let unchanged_inode = inode(&unchanged);

        let fetched = fetch_into(&url, None, &clone_dir, &options, &mut |_| {}).unwrap();
        assert_eq!(fetched, FetchedInto::Fetched { head: new.clone() });
        // Fetched, not checked out: HEAD and the work tree are as they were.
        assert_eq!(git_in(&clone_dir, &["rev-parse", "HEAD"]), fixture.main);
        assert_eq!(
            fs_err::read_to_string(clone_dir.join("plugins/a/a.txt")).unwrap(),
            "a\n"
        );
        assert!(clone_dir.join("plugins/b/b.txt").is_file());
        assert_eq!(
            read_file_at(&clone_dir, &new, "plugins/a/a.txt").unwrap(),
            FileAt::File(b"a, changed\n".to_vec())
        );
        assert_eq!(
            read_file_at(&clone_dir, &new, "plugins/b/b.txt").unwrap(),
            FileAt::Missing
        );
        assert_eq!(
            read_file_at(&clone_dir, &new, "plugins").unwrap(),
            FileAt::NotAFile
        );

        check_out_fetched(&clone_dir, &new).unwrap();
        assert_eq!(git_in(&clone_dir, &["rev-parse", "HEAD"]), new);
        assert_eq!(
            git_in(&clone_dir, &["symbolic-ref", "HEAD"]),
            "refs/heads/main"
        );
        assert_eq!(
            git_in(&clone_dir, &["status", "--porcelain", "--ignored"]),
            ""
        );
        let (_f, fresh, result) = clone_to(&url, None, &[], &options);
        assert_eq!(result.unwrap().head, new);
        assert_eq!(files_in(&clone_dir), files_in(&fresh), "as a fresh clone");
        assert_eq!(
            fs_err::read_to_string(clone_dir.join("README.md")).unwrap(),
            "# test\n"
        );
        assert_eq!(
            inode(&unchanged),
            unchanged_inode,
            "an unchanged file is not rewritten"
        );
        assert_eq!(
            fetch_into(&url, None, &clone_dir, &options, &mut |_| {}).unwrap(),
            FetchedInto::Current { head: new }
        );
    }

    #[test]
    fn fetch_into_refuses_clones_it_cannot_refresh() {
        let fixture = Fixture::new();
        let url = file_url(&fixture.bare);
        let options = GitOptions::default();
        let not_in_place = |result: Result<FetchedInto, GitError>| {
            matches!(result, Ok(FetchedInto::NotInPlace(_)))
        };
        let fetch = |url: &str, reference: Option<&str>, dir: &Path, options: &GitOptions| {
            fetch_into(url, reference, dir, options, &mut |_| {})
        };

        let (_d, plain, result) = clone_to(&url, None, &[], &options);
        result.unwrap();
        let cli = GitOptions {
            use_git_cli: true,
            ..GitOptions::default()
        };
        assert_eq!(in_place_origin(&plain, &options).as_deref(), Some(&*url));
        assert_eq!(in_place_origin(&plain, &cli), None);
        assert!(not_in_place(fetch(&url, None, &plain, &cli)), "git CLI");
        let other_url = format!("{url}/");
        assert!(
            not_in_place(fetch(&other_url, None, &plain, &options)),
            "another URL"
        );
        assert!(
            not_in_place(fetch(&url, Some("dev"), &plain, &options)),
            "another branch than the one checked out"
        );
        let missing = plain.with_file_name("missing");
        assert!(
            not_in_place(fetch(&url, None, &missing, &options)),
            "no clone"
        );
        #[cfg(unix)]
        {
            let link = plain.with_file_name("link");
            std::os::unix::fs::symlink(&plain, &link).unwrap();
            assert!(
                not_in_place(fetch(&url, None, &link, &options)),
                "a symbolic link"
            );
        }

        let (_t, tag, result) = clone_to(&url, Some("v1"), &[], &options);
        result.unwrap();
        assert!(
            not_in_place(fetch(&url, Some("v1"), &tag, &options)),
            "detached HEAD"
        );
        assert_eq!(in_place_origin(&tag, &options), None);

        let sparse = vec!["plugins/a".to_owned()];
        let (_s, sparse_clone, result) = clone_to(&url, None, &sparse, &options);
        result.unwrap();
        assert!(
            not_in_place(fetch(&url, None, &sparse_clone, &options)),
            "a sparse clone"
        );
        assert_eq!(in_place_origin(&sparse_clone, &options), None);

        let packs = plain.join(".git/objects/pack");
        fs_err::create_dir_all(&packs).unwrap();
        for index in 0..=MAX_PACKS_FOR_FETCH_INTO {
            fs_err::write(packs.join(format!("pack-{index:040}.pack")), "").unwrap();
        }
        assert!(
            not_in_place(fetch(&url, None, &plain, &options)),
            "too many packs"
        );
    }

    #[test]
    fn fetch_into_over_http_fetches_only_what_the_shallow_clone_lacks() {
        let fixture = Fixture::new();
        let server = GitHttpServer::start(fixture.bare.parent().unwrap()).unwrap();
        let url = format!("{}bare.git", server.url());
        let options = GitOptions::default();
        let (_d, clone_dir, result) = clone_to(&url, None, &[], &options);
        result.unwrap();
        let counts = git_in(&clone_dir, &["count-objects", "-v"]);
        let cloned_objects: usize = counts
            .lines()
            .find_map(|line| line.strip_prefix("in-pack: "))
            .and_then(|count| count.parse().ok())
            .unwrap();

        let new = publish_change(&fixture);
        let mut fetched_objects = 0;
        let fetched = fetch_into(&url, None, &clone_dir, &options, &mut |p| {
            fetched_objects = p.total_objects;
        })
        .unwrap();
        assert_eq!(fetched, FetchedInto::Fetched { head: new.clone() });
        // The new commit, its root tree, `plugins`, `plugins/a`, `plugins/c` and two blobs.
        assert!(
            fetched_objects > 0 && fetched_objects < cloned_objects,
            "fetched {fetched_objects} objects, the clone had {cloned_objects}"
        );
        check_out_fetched(&clone_dir, &new).unwrap();
        let shallow = fs_err::read_to_string(clone_dir.join(".git/shallow")).unwrap();
        assert!(shallow.lines().any(|line| line == new), "{shallow}");
        assert_eq!(git_in(&clone_dir, &["rev-list", "--count", "HEAD"]), "1");
        assert_eq!(git_in(&clone_dir, &["status", "--porcelain"]), "");
        assert_eq!(
            fs_err::read_to_string(clone_dir.join("plugins/c/c.txt")).unwrap(),
            "c\n"
        );
    }

    #[test]
    fn sparse_clone_checks_out_a_cone() {
        let fixture = Fixture::new();
        let url = file_url(&fixture.bare);
        let sparse = vec!["plugins/a".to_owned(), "./top/deep/".to_owned()];
        for options in [
            GitOptions::default(),
            GitOptions {
                use_git_cli: true,
                ..GitOptions::default()
            },
        ] {
            let (_d, destination, result) = clone_to(&url, None, &sparse, &options);
            assert_eq!(result.unwrap().head, fixture.main);
            assert_eq!(
                files_in(&destination),
                [
                    "README.md",
                    "plugins/a/a.txt",
                    "plugins/main.txt",
                    "top/deep/x.txt"
                ],
                "root files, the cones, and files directly in their parents"
            );
            assert_eq!(
                fs_err::read_to_string(destination.join(".git").join(SPARSE_PATHS_FILE)).unwrap(),
                r#"{"sparsePaths":["plugins/a","./top/deep/"]}"#
            );
            assert_eq!(
                git_in(&destination, &["status", "--porcelain"]),
                "",
                "{options:?}"
            );
            let tagged = git_in(&destination, &["ls-files", "-t"]);
            assert!(tagged.contains("S plugins/b/b.txt"), "{tagged}");
            assert!(tagged.contains("H plugins/a/a.txt"), "{tagged}");
            assert_eq!(
                fs_err::read_to_string(destination.join(".git/info/sparse-checkout")).unwrap(),
                "/*\n!/*/\n/plugins/\n!/plugins/*/\n/top/\n!/top/*/\n/plugins/a/\n/top/deep/\n"
            );
        }
    }

    #[test]
    fn cone_rules() {
        let cone = Cone::new(&["a/b".to_owned(), "a/b/c".to_owned(), "d".to_owned()]).unwrap();
        assert!(cone.includes("root.txt"));
        assert!(cone.includes("a/f.txt"));
        assert!(cone.includes("a/b/c/deep.txt"));
        assert!(cone.includes("d/e/f.txt"));
        assert!(!cone.includes("a/c/h.txt"));
        assert!(!cone.includes("e/x.txt"));
        assert_eq!(cone.patterns(), "/*\n!/*/\n/a/\n!/a/*/\n/a/b/\n/d/\n");
        assert!(Cone::new(&[]).is_none());
        assert!(Cone::new(&[".".to_owned()]).is_none());
    }

    #[test]
    fn head_commit_of_work_trees() {
        let fixture = Fixture::new();
        isolate_libgit2();
        assert_eq!(
            head_commit(&fixture.work).as_deref(),
            Some(fixture.main.as_str())
        );
        assert_eq!(
            head_commit(&fixture.work.join("plugins")).as_deref(),
            Some(fixture.main.as_str())
        );
        assert_eq!(
            head_commit(&fixture.bare).as_deref(),
            Some(fixture.main.as_str())
        );
        let outside = tempfile::tempdir().unwrap();
        assert_eq!(head_commit(outside.path()), None);
        git(outside.path(), &["init", "-q"]).unwrap();
        assert_eq!(head_commit(outside.path()), None, "no commit yet");
    }

    #[test]
    fn head_commit_reads_packed_refs_and_detached_heads_from_files() {
        let fixture = Fixture::new();
        isolate_libgit2();
        git(&fixture.work, &["pack-refs", "--all"]).unwrap();
        let git_dir = fixture.work.join(".git");
        assert_eq!(
            read_head_from_files(&git_dir).as_deref(),
            Some(fixture.main.as_str())
        );
        git(&fixture.work, &["checkout", "-q", "--detach"]).unwrap();
        assert_eq!(
            read_head_from_files(&git_dir).as_deref(),
            Some(fixture.main.as_str())
        );
        assert_eq!(
            head_commit(&fixture.work).as_deref(),
            Some(fixture.main.as_str())
        );
    }

    #[test]
    fn rewrite_url_takes_the_longest_prefix() {
        isolate_libgit2();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        fs_err::write(
            &path,
            "[url \"file:///short/\"]\n\tinsteadOf = https://github.com/\n\
             [url \"file:///long/\"]\n\tinsteadOf = https://github.com/acme/\n\
             [url \"http://mirror/\"]\n\tinsteadOf = https://\n\tinsteadOf = git@github.com:\n",
        )
        .unwrap();
        let config = Config::open(&path).unwrap();
        assert_eq!(
            rewrite_url_with(&config, "https://github.com/acme/m.git"),
            "file:///long/m.git"
        );
        assert_eq!(
            rewrite_url_with(&config, "https://github.com/other/m.git"),
            "file:///short/other/m.git"
        );
        assert_eq!(
            rewrite_url_with(&config, "https://gitlab.com/x.git"),
            "http://mirror/gitlab.com/x.git"
        );
        assert_eq!(
            rewrite_url_with(&config, "git@github.com:o/r.git"),
            "http://mirror/o/r.git"
        );
        assert_eq!(
            rewrite_url_with(&config, "ssh://host/x.git"),
            "ssh://host/x.git"
        );
        assert_eq!(
            rewrite_url("https://example.com/x.git"),
            "https://example.com/x.git"
        );
    }

    #[test]
    fn local_transports() {
        assert!(is_local_transport("file:///tmp/x.git"));
        assert!(is_local_transport("FILE:///tmp/x.git"));
        assert!(is_local_transport("/tmp/x.git"));
        assert!(is_local_transport("./x"));
        assert!(is_local_transport("x.git"));
        assert!(is_local_transport("/tmp/a:b"));
        assert!(!is_local_transport("https://github.com/o/r.git"));
        assert!(!is_local_transport("http://127.0.0.1:8080/r.git"));
        assert!(!is_local_transport("ssh://git@host/o/r.git"));
        assert!(!is_local_transport("git://host/r.git"));
        assert!(!is_local_transport("git@github.com:o/r.git"));
        assert!(!is_local_transport("host:r.git"));
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("https://user:secret@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            redact_url("https://tok@host:8443/r?x=a@b"),
            "https://host:8443/r?x=a@b"
        );
        assert_eq!(
            redact_url("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(
            redact_text("fatal: unable to access 'https://u:p@host/r.git/': 403"),
            "fatal: unable to access 'https://host/r.git/': 403"
        );
        let missing = "file:///nonexistent/pm-test/u:p@x";
        assert_eq!(
            redact_url(missing),
            missing,
            "only the authority holds userinfo"
        );
        let (_d, _, result) = clone_to(
            "http://user:hunter2@127.0.0.1:9/r.git",
            None,
            &[],
            &GitOptions::default(),
        );
        let error = result.unwrap_err();
        let chain = format!(
            "{error} {:?}",
            std::error::Error::source(&error).map(ToString::to_string)
        );
        assert!(!chain.contains("hunter2"), "{chain}");
    }

    #[test]
    fn github_token_only_for_github_https() {
        isolate_libgit2();
        let options = GitOptions {
            github_token: Some("t0ken".to_owned()),
            use_git_cli: false,
        };
        let plaintext = CredentialType::USER_PASS_PLAINTEXT;
        assert!(!format!("{options:?}").contains("t0ken"));
        let mut credentials = Credentials::new(&options, None);
        let credential = credentials
            .next("https://github.com/o/r.git", None, plaintext)
            .unwrap();
        assert!(credential.has_username());
        assert!(credentials.offered);
        assert!(
            credentials
                .next("https://github.com/o/r.git", None, plaintext)
                .is_err(),
            "once"
        );
        assert!(credentials.exhausted);
        for url in [
            "http://github.com/o/r.git",
            "https://github.com.evil/o/r.git",
            "https://example.com/r.git",
        ] {
            let mut credentials = Credentials::new(&options, None);
            assert!(credentials.next(url, None, plaintext).is_err(), "{url}");
            assert!(!credentials.offered);
        }
        let defaults = GitOptions::default();
        let mut credentials = Credentials::new(&defaults, None);
        for _ in 0..(MAX_CREDENTIAL_ATTEMPTS + 2) {
            let _ = credentials.next(
                "ssh://git@host/r.git",
                Some("git"),
                CredentialType::USERNAME,
            );
        }
        assert!(credentials.exhausted, "bounded");
    }

    #[test]
    fn cli_clone_branch_tag_and_errors() {
        let fixture = Fixture::new();
        let url = file_url(&fixture.bare);
        let cli = GitOptions {
            use_git_cli: true,
            ..GitOptions::default()
        };
        let (_d, destination, result) = clone_to(&url, None, &[], &cli);
        assert_eq!(result.unwrap().head, fixture.main);
        assert!(
            destination.join(".git/shallow").exists(),
            "git CLI fetches file:// shallowly"
        );
        let (_d, _, result) = clone_to(&url, Some("dev"), &[], &cli);
        assert_eq!(result.unwrap().head, fixture.dev);
        let (_d, _, result) = clone_to(&url, Some("v1"), &[], &cli);
        assert_eq!(result.unwrap().head, fixture.first);
        let (_d, _, result) = clone_to(fixture.bare.to_str().unwrap(), None, &[], &cli);
        assert_eq!(result.unwrap().head, fixture.main);
        let (_d, destination, result) = clone_to(&url, Some("nope"), &[], &cli);
        assert!(
            matches!(result, Err(GitError::ReferenceNotFound { .. })),
            "{result:?}"
        );
        assert!(!destination.exists());
        let missing = file_url(&fixture.bare.with_file_name("missing.git"));
        let (_d, _, result) = clone_to(&missing, None, &[], &cli);
        assert!(
            matches!(result, Err(GitError::RepositoryNotFound { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn cli_token_only_for_github_https_after_rewriting() {
        isolate_libgit2();
        let options = GitOptions {
            github_token: Some("t0ken".to_owned()),
            use_git_cli: true,
        };
        let describe = |url: &str| {
            let command = cli::command(&options, url).unwrap();
            let args: Vec<String> = command
                .get_args()
                .map(|arg| arg.to_string_lossy().into_owned())
                .collect();
            let token = command.get_envs().any(|(key, value)| {
                key == "PM_GIT_GITHUB_TOKEN" && value == Some("t0ken".as_ref())
            });
            let removed = command
                .get_envs()
                .any(|(key, value)| key == "GIT_DIR" && value.is_none());
            (args, token, removed)
        };
        // `https://GitHub.com/` is not matched by the test config's (case-sensitive) rewrite.
        let (args, token, removed) = describe("https://GitHub.com/o/r.git");
        assert!(token && removed);
        assert!(
            args.iter()
                .any(|arg| arg.starts_with("credential.https://github.com.helper=!"))
        );
        assert!(
            !args.iter().any(|arg| arg.contains("t0ken")),
            "never on the command line"
        );
        assert!(args.contains(&"core.hooksPath=/dev/null".to_owned()));
        // Rewritten to a local path by insteadOf: no token.
        for url in [
            "https://github.com/o/r.git",
            "http://GitHub.com/o/r.git",
            "https://example.com/r.git",
        ] {
            let (args, token, _) = describe(url);
            assert!(!token, "{url}");
            assert!(
                !args.iter().any(|arg| arg.starts_with("credential.")),
                "{url}"
            );
        }
    }

    #[test]
    fn sparse_clone_of_a_tag() {
        let fixture = Fixture::new();
        let url = file_url(&fixture.bare);
        let sparse = vec!["plugins/b".to_owned()];
        for options in [
            GitOptions::default(),
            GitOptions {
                use_git_cli: true,
                ..GitOptions::default()
            },
        ] {
            let (_d, destination, result) = clone_to(&url, Some("v1"), &sparse, &options);
            assert_eq!(result.unwrap().head, fixture.first, "{options:?}");
            assert_eq!(files_in(&destination), ["README.md", "plugins/b/b.txt"]);
            assert_eq!(git_in(&destination, &["status", "--porcelain"]), "");
        }
    }

    #[test]
    fn cli_progress_lines() {
        let update = cli::parse_receiving("  45% (9/20), 2.00 KiB | 1.00 MiB/s").unwrap();
        assert_eq!(
            (
                update.received_objects,
                update.total_objects,
                update.received_bytes
            ),
            (9, 20, 2048)
        );
        let update = cli::parse_receiving(" 100% (3/3), done.").unwrap();
        assert_eq!((update.received_objects, update.total_objects), (3, 3));
    }

    #[test]
    fn http_clone_is_shallow() {
        let fixture = Fixture::new();
        let server = GitHttpServer::start(fixture.bare.parent().unwrap()).unwrap();
        let url = format!("{}bare.git", server.url());
        let mut last = None;
        isolate_libgit2();
        let dir = tempfile::tempdir().unwrap();
        let destination = dir.path().join("clone");
        let request = CloneRequest {
            url: &url,
            reference: None,
            destination: &destination,
            sparse_paths: &[],
            unless_at: None,
        };
        let cloned = clone(&request, &GitOptions::default(), &mut |p| last = Some(p)).unwrap();
        assert_eq!(cloned.head, fixture.main);
        assert!(
            destination.join(".git/shallow").is_file(),
            "a shallow clone"
        );
        assert_eq!(git_in(&destination, &["rev-list", "--count", "HEAD"]), "1");
        assert_eq!(git_in(&destination, &["status", "--porcelain"]), "");
        let last = last.unwrap();
        assert!(
            last.total_objects > 0 && last.received_objects == last.total_objects,
            "{last:?}"
        );

        let (_d, tag, result) = clone_to(&url, Some("v1"), &[], &GitOptions::default());
        assert_eq!(result.unwrap().head, fixture.first);
        assert!(tag.join(".git/shallow").is_file());

        assert_eq!(
            remote_head(&url, None, &GitOptions::default()).unwrap(),
            fixture.main
        );
        assert_eq!(
            remote_head(&url, Some("v1"), &GitOptions::default()).unwrap(),
            fixture.first
        );

        let cli = GitOptions {
            use_git_cli: true,
            ..GitOptions::default()
        };
        let (_d, destination, result) = clone_to(&url, Some("dev"), &[], &cli);
        assert_eq!(result.unwrap().head, fixture.dev);
        assert!(destination.join(".git/shallow").is_file());

        let missing = format!("{}missing.git", server.url());
        let (_d, _, result) = clone_to(&missing, None, &[], &GitOptions::default());
        assert!(
            matches!(result, Err(GitError::RepositoryNotFound { .. })),
            "{result:?}"
        );
        let (_d, _, result) = clone_to(&missing, None, &[], &cli);
        assert!(
            matches!(result, Err(GitError::RepositoryNotFound { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn insteadof_to_http_makes_a_shallow_clone() {
        let fixture = Fixture::new();
        let server = GitHttpServer::start(fixture.bare.parent().unwrap()).unwrap();
        // A prefix of its own, so that concurrent tests are not affected.
        let prefix = format!("https://pm-test-{}.invalid/", server.port());
        git(
            home(),
            &[
                "config",
                "--global",
                "--add",
                &format!("url.{}.insteadOf", server.url()),
                &prefix,
            ],
        )
        .unwrap();
        let url = format!("{prefix}bare.git");
        assert_eq!(rewrite_url(&url), format!("{}bare.git", server.url()));
        let (_d, destination, result) = clone_to(&url, None, &[], &GitOptions::default());
        assert_eq!(result.unwrap().head, fixture.main);
        assert!(destination.join(".git/shallow").is_file());
    }

    #[test]
    fn http_authentication() {
        let fixture = Fixture::new();
        let root = fixture.bare.parent().unwrap();
        let options = GitOptions::default();

        // Right credentials from the credential helper (`store`, see test_support).
        let server = GitHttpServer::start_with_basic_auth(root, "user", "pass").unwrap();
        let url = format!("http://localhost:{}/bare.git", server.port());
        test_support::store_credentials(&format!("http://user:pass@localhost:{}", server.port()));
        let (_d, _, result) = clone_to(&url, None, &[], &options);
        assert_eq!(result.unwrap().head, fixture.main);
        assert_eq!(remote_head(&url, None, &options).unwrap(), fixture.main);

        // Wrong credentials: refused.
        let server = GitHttpServer::start_with_basic_auth(root, "user", "pass").unwrap();
        let url = format!("http://localhost:{}/bare.git", server.port());
        test_support::store_credentials(&format!("http://user:wrong@localhost:{}", server.port()));
        let (_d, _, result) = clone_to(&url, None, &[], &options);
        assert!(
            matches!(result, Err(GitError::Authentication { .. })),
            "{result:?}"
        );

        // No credentials at all: indistinguishable from a missing (private) repository.
        let server = GitHttpServer::start_with_basic_auth(root, "user", "pass").unwrap();
        let url = format!("http://localhost:{}/bare.git", server.port());
        let (_d, _, result) = clone_to(&url, None, &[], &options);
        let error = result.unwrap_err();
        assert!(
            matches!(error, GitError::RepositoryNotFound { .. }),
            "{error:?}"
        );
        assert_eq!(
            error.to_string(),
            format!("Repository `{url}` was not found (or needs credentials)")
        );
    }

    #[test]
    fn connection_refused_is_a_network_error() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/r.git");
        let (_d, _, result) = clone_to(&url, None, &[], &GitOptions::default());
        assert!(
            matches!(result, Err(GitError::Network { .. })),
            "{result:?}"
        );
        isolate_libgit2();
        let result = remote_head(&url, None, &GitOptions::default());
        assert!(
            matches!(result, Err(GitError::Network { .. })),
            "{result:?}"
        );
        let cli = GitOptions {
            use_git_cli: true,
            ..GitOptions::default()
        };
        let result = remote_head(&url, None, &cli);
        assert!(
            matches!(result, Err(GitError::Network { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn push_reference_with_both_backends() {
        for use_git_cli in [false, true] {
            let fixture = Fixture::new();
            let options = GitOptions {
                use_git_cli,
                ..GitOptions::default()
            };
            let work = &fixture.work;
            let bare = fixture.bare.to_string_lossy().into_owned();
            let refspec = "refs/tags/rel:refs/tags/rel";
            git_in(work, &["tag", "-a", "-m", "rel", "rel", &fixture.main]);
            git_in(work, &["remote", "add", "up", &bare]);

            // By remote name, then again (nothing to do).
            push_reference(work, "up", refspec, &options).unwrap();
            let pushed = git_in(&fixture.bare, &["rev-parse", "refs/tags/rel"]);
            assert_eq!(pushed, git_in(work, &["rev-parse", "refs/tags/rel"]));
            push_reference(work, "up", refspec, &options).unwrap();

            // Moved locally: refused without `+`, replaced with it (by path this time).
            git_in(
                work,
                &["tag", "-f", "-a", "-m", "rel2", "rel", &fixture.first],
            );
            let refused = push_reference(work, &bare, refspec, &options).unwrap_err();
            if use_git_cli {
                assert!(
                    matches!(&refused, GitError::Cli { stderr, .. } if stderr.contains("already exists")),
                    "{refused:?}"
                );
            } else {
                assert!(
                    matches!(&refused, GitError::PushRejected { reason, .. } if reason == "already exists"),
                    "{refused:?}"
                );
            }
            assert_eq!(
                git_in(&fixture.bare, &["rev-parse", "refs/tags/rel"]),
                pushed
            );
            push_reference(work, &bare, &format!("+{refspec}"), &options).unwrap();
            assert_eq!(
                git_in(&fixture.bare, &["rev-parse", "refs/tags/rel^{commit}"]),
                fixture.first
            );

            let missing = push_reference(work, "nosuch", refspec, &options).unwrap_err();
            assert!(
                matches!(&missing, GitError::RemoteNotFound { name, .. } if name == "nosuch"),
                "{missing:?}"
            );
            let gone = work.parent().unwrap().join("gone.git");
            let error =
                push_reference(work, &gone.to_string_lossy(), refspec, &options).unwrap_err();
            assert!(
                matches!(error, GitError::RepositoryNotFound { .. }),
                "{error:?}"
            );
        }
    }
}

/// Test isolation and git fixtures, shared with other modules' tests.
#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
pub(crate) mod test_support {
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::sync::OnceLock;

    /// The fake `HOME` of every git process and of libgit2 in this test binary.
    ///
    /// Isolation choice: libgit2 reads `$HOME` once, when it initializes, so setting `HOME`
    /// in-process (under a mutex) would be both racy and too late. Instead the first caller
    /// points libgit2's global, XDG, system and program-data search paths at this directory
    /// with `git2::opts::set_search_path`, once for the whole process (`OnceLock`). Child `git`
    /// processes get `HOME`/`XDG_CONFIG_HOME`/`GIT_CONFIG_NOSYSTEM` pointing at the same
    /// place, so both backends read the same `.gitconfig`. Its `insteadOf` rules use prefixes
    /// no other test uses; tests add their own rules with unique prefixes (`git config` writes
    /// atomically). The directory itself only holds configuration: fixtures live in per-test
    /// temporary directories.
    pub(crate) fn home() -> &'static Path {
        static HOME: OnceLock<PathBuf> = OnceLock::new();
        HOME.get_or_init(|| {
            let dir = tempfile::Builder::new()
                .prefix("pm-git-test-home-")
                .tempdir()
                .unwrap()
                .keep();
            for sub in ["github", "xdg/git", "system"] {
                fs_err::create_dir_all(dir.join(sub)).unwrap();
            }
            let github = dir.join("github");
            fs_err::write(
                dir.join(".gitconfig"),
                format!(
                    "[user]\n\tname = pm test\n\temail = pm@example.invalid\n\
                     [init]\n\tdefaultBranch = main\n\
                     [url \"file://{github}/\"]\n\tinsteadOf = https://github.com/\n\tinsteadOf = git@github.com:\n\
                     [credential]\n\thelper = store --file={credentials}\n",
                    github = github.display(),
                    credentials = dir.join("credentials").display(),
                ),
            )
            .unwrap();
            set_search_paths(&dir);
            dir
        })
    }

    #[allow(
        unsafe_code,
        reason = "git2's search-path setter is unsafe; see the safety note"
    )]
    fn set_search_paths(dir: &Path) {
        use git2::ConfigLevel;
        // SAFETY: `set_search_path` mutates libgit2's global options without synchronization.
        // It runs once, inside `OnceLock::get_or_init`, and every test of this crate calls
        // `isolate_libgit2()` (or `home()`) before its first libgit2 call, so no libgit2 call
        // of this test binary runs concurrently with it.
        unsafe {
            git2::opts::set_search_path(ConfigLevel::Global, dir).unwrap();
            git2::opts::set_search_path(ConfigLevel::XDG, dir.join("xdg/git")).unwrap();
            git2::opts::set_search_path(ConfigLevel::System, dir.join("system")).unwrap();
            git2::opts::set_search_path(ConfigLevel::ProgramData, dir.join("system")).unwrap();
        }
    }

    /// Call before the first libgit2 call of any test in this crate.
    pub(crate) fn isolate_libgit2() {
        let _ = home();
    }

    /// Point a `git` child process at the test home.
    pub(crate) fn isolate_command(command: &mut Command) {
        let home = home();
        command
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join("xdg"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_CONFIG_GLOBAL")
            .env_remove("GIT_CONFIG_COUNT");
    }

    /// Add a line (`http://user:pass@host:port`) to the `store` credential helper's file.
    pub(crate) fn store_credentials(line: &str) {
        use std::io::Write;
        let mut file = fs_err::OpenOptions::new()
            .create(true)
            .append(true)
            .open(home().join("credentials"))
            .unwrap();
        file.write_all(format!("{line}\n").as_bytes()).unwrap();
    }

    /// Run `git args` in `dir`; trimmed stdout, or stderr as the error.
    pub(crate) fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
        let mut command = Command::new("git");
        isolate_command(&mut command);
        let output = command.current_dir(dir).args(args).output().unwrap();
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    }

    /// [`git`], panicking on failure.
    pub(crate) fn git_in(dir: &Path, args: &[&str]) -> String {
        git(dir, args).unwrap_or_else(|error| panic!("git {args:?} in {}: {error}", dir.display()))
    }

    /// A work repository and a bare clone of it, in a temporary directory:
    ///
    /// * `first` (tagged `v1`, annotated, and `light`): README.md,
    ///   .claude-plugin/marketplace.json, plugins/a/a.txt, plugins/b/b.txt, top/deep/x.txt;
    /// * `main` = `first` + plugins/main.txt (default branch, HEAD);
    /// * `dev` = `main` + dev.txt (branch `dev`).
    pub(crate) struct Fixture {
        _dir: tempfile::TempDir,
        pub(crate) work: PathBuf,
        pub(crate) bare: PathBuf,
        pub(crate) first: String,
        pub(crate) main: String,
        pub(crate) dev: String,
    }

    impl Fixture {
        pub(crate) fn new() -> Self {
            let dir = tempfile::tempdir().unwrap();
            let work = dir.path().join("work");
            let bare = dir.path().join("bare.git");
            fs_err::create_dir_all(&work).unwrap();
            git_in(&work, &["init", "-q", "-b", "main"]);
            for (path, content) in [
                ("README.md", "# test\n"),
                (".claude-plugin/marketplace.json", "{}\n"),
                ("plugins/a/a.txt", "a\n"),
                ("plugins/b/b.txt", "b\n"),
                ("top/deep/x.txt", "x\n"),
            ] {
                let path = work.join(path);
                fs_err::create_dir_all(path.parent().unwrap()).unwrap();
                fs_err::write(path, content).unwrap();
            }
            git_in(&work, &["add", "-A"]);
            git_in(&work, &["commit", "-q", "-m", "first"]);
            let first = git_in(&work, &["rev-parse", "HEAD"]);
            git_in(&work, &["tag", "-a", "-m", "v1", "v1"]);
            git_in(&work, &["tag", "light"]);
            fs_err::write(work.join("plugins/main.txt"), "main\n").unwrap();
            git_in(&work, &["add", "-A"]);
            git_in(&work, &["commit", "-q", "-m", "second"]);
            let main = git_in(&work, &["rev-parse", "HEAD"]);
            git_in(&work, &["checkout", "-q", "-b", "dev"]);
            fs_err::write(work.join("dev.txt"), "dev\n").unwrap();
            git_in(&work, &["add", "-A"]);
            git_in(&work, &["commit", "-q", "-m", "dev"]);
            let dev = git_in(&work, &["rev-parse", "HEAD"]);
            git_in(&work, &["checkout", "-q", "main"]);
            git_in(dir.path(), &["clone", "-q", "--bare", "work", "bare.git"]);
            Self {
                _dir: dir,
                work,
                bare,
                first,
                main,
                dev,
            }
        }
    }
}

/// The loopback git smart-HTTP server of `pm-test-support`, with `git http-backend` run under
/// the test home of [`test_support`] (its `.gitconfig`, no system configuration).
#[cfg(test)]
pub(crate) mod test_http {
    use pm_test_support::HttpServer;
    use std::io;
    use std::path::Path;
    use std::process::Command;

    fn git_command() -> pm_test_support::GitCommand {
        Box::new(|| {
            let mut command = Command::new("git");
            super::test_support::isolate_command(&mut command);
            command
        })
    }

    /// Starts servers over a directory of bare repositories.
    pub(crate) struct GitHttpServer;

    impl GitHttpServer {
        /// Serves the repositories under `root` (`http://127.0.0.1:PORT/<path below root>`).
        pub(crate) fn start(root: &Path) -> io::Result<HttpServer> {
            super::test_support::isolate_libgit2();
            HttpServer::git(root, git_command())
        }

        /// As [`GitHttpServer::start`], answering 401 unless the request carries these basic
        /// credentials.
        pub(crate) fn start_with_basic_auth(
            root: &Path,
            user: &str,
            password: &str,
        ) -> io::Result<HttpServer> {
            super::test_support::isolate_libgit2();
            HttpServer::git_with_basic_auth(root, git_command(), user, password)
        }
    }
}
