//! Symlink-aware copy of a plugin directory into the cache.
//!
//! Implements reference-advanced.md §6 ("Copy into the cache") with pm's tightening from
//! DEVIATIONS.md item 13 and the symlink policy of style-anchors.md §(b)5 items 8–9:
//!
//! * the tree is walked without following links; the plugin's top-level `.git` is left out;
//! * a link that resolves inside the plugin is recreated as a **relative** link;
//! * a link that resolves elsewhere inside the marketplace is **dereferenced** (copied as real
//!   content);
//! * a link that leaves the marketplace is **skipped** and reported, never followed;
//! * a plugin root that is itself a link leaving the marketplace is refused.
//!
//! Every link written into the destination has the shape `(..)*` followed by plain names, where
//! the `..` steps climb only through directories this module created. Such a link cannot
//! resolve outside the destination, whatever the source tree looks like.

use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

use walkdir::WalkDir;

/// How many symbolic links [`resolve_lenient`] follows before giving up, as Linux's `MAXSYMLINKS`.
const MAX_LINK_HOPS: u32 = 40;

/// How many dereferenced directories may be nested inside one another before the copy stops
/// with [`CopyError::SymlinkLoop`]. Real loops are skipped long before this; the limit bounds
/// chains of distinct directories that link onward to each other.
const MAX_DEREFERENCE_DEPTH: usize = 32;

/// What one copy did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CopyReport {
    /// Regular files written, including files copied in place of a dereferenced link.
    pub files: u64,
    /// Directories created below the destination (the destination itself is not counted),
    /// including directories copied in place of a dereferenced link.
    pub directories: u64,
    /// Symbolic links recreated in the destination.
    pub symlinks: u64,
    /// Bytes of regular-file content copied.
    pub bytes: u64,
    /// Links that were left out; the caller should warn about each.
    pub skipped_links: Vec<SkippedLink>,
}

/// A symbolic link that was left out of the copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLink {
    /// Path of the link relative to the plugin root (as it would have appeared in the copy).
    pub path: PathBuf,
    /// The link's target as read.
    pub target: PathBuf,
    /// Why the link was left out.
    pub reason: SkipReason,
}

/// Why a symbolic link was left out of the copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// The target lies outside the marketplace (relative `../..` or absolute), existing or not.
    OutsideMarketplace,
    /// The target lies inside the marketplace but outside the plugin, and does not exist, so
    /// there is nothing to copy in its place.
    Dangling,
    /// The target is a directory that contains the link itself, or one already being copied
    /// through another link; following it would never end.
    Loop,
}

/// Errors of [`copy_plugin_tree`] and [`remove_tree`].
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The plugin root, after resolving symbolic links, is not inside the marketplace
    /// (DEVIATIONS.md 13; the reference follows such a link).
    #[error(
        "Plugin directory `{}` resolves to `{}`, which is outside its marketplace `{}`",
        root.display(),
        resolved.display(),
        boundary.display()
    )]
    PluginRootEscapes {
        /// The plugin root as given.
        root: PathBuf,
        /// Where it resolves to.
        resolved: PathBuf,
        /// The canonical marketplace root it had to stay inside.
        boundary: PathBuf,
    },
    /// The plugin root exists but is not a directory.
    #[error("Plugin path `{}` is not a directory", .0.display())]
    NotADirectory(PathBuf),
    /// The copy destination already exists.
    #[error("Destination `{}` already exists", .0.display())]
    DestinationExists(PathBuf),
    /// The copy destination lies inside the plugin directory being copied.
    #[error(
        "Destination `{}` is inside the plugin directory `{}` being copied",
        destination.display(),
        plugin_root.display()
    )]
    DestinationInsideSource {
        /// The destination as given.
        destination: PathBuf,
        /// The canonical plugin root.
        plugin_root: PathBuf,
    },
    /// Dereferenced directory links were nested too deeply.
    #[error(
        "Symbolic links to directories are nested more than {MAX_DEREFERENCE_DEPTH} deep at `{}`",
        path.display()
    )]
    SymlinkLoop {
        /// The link at which the limit was hit.
        path: PathBuf,
    },
    /// [`remove_tree`] was asked to remove something that is not strictly inside its allowed root.
    #[error("Refusing to remove `{}`: it is not inside `{}`", path.display(), allowed_root.display())]
    OutsideAllowedRoot {
        /// The path that was to be removed.
        path: PathBuf,
        /// The root it had to be inside.
        allowed_root: PathBuf,
    },
    /// A directory entry could not be read during the walk.
    #[error("Could not read `{}`", path.display())]
    ReadDir {
        /// The entry or directory that could not be read.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A file system operation failed; the `fs_err` error names the path.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl From<walkdir::Error> for CopyError {
    fn from(err: walkdir::Error) -> Self {
        let path = err.path().map(Path::to_path_buf).unwrap_or_default();
        let message = err.to_string();
        let source = err
            .into_io_error()
            .unwrap_or_else(|| io::Error::other(message));
        Self::ReadDir { path, source }
    }
}

/// Copies `plugin_root` (a directory inside `marketplace_root`) to `destination`, which must not
/// exist (its parent must). Implements reference-advanced.md §6 with DEVIATIONS.md 13.
///
/// Both roots are canonicalised first, so `plugin_root` may itself be a symbolic link as long as
/// it resolves inside the marketplace; the copy is then taken from the resolved directory.
///
/// * The top-level `.git` of the plugin (file or directory) is left out; anything else is copied,
///   including nested `.git` directories, `.gitignore`, `.DS_Store` and `node_modules`.
/// * Regular files are streamed byte for byte and keep their permission bits (set-id and sticky
///   bits are dropped). Directories keep their mode, plus owner `rwx` so pm can later update and
///   remove the copy. Empty directories are kept.
/// * A symbolic link that resolves inside the plugin is recreated as a relative link. A relative
///   target made only of plain names is kept as written; any other target (absolute, or with `..`)
///   is rewritten to the relative path of where it resolves, e.g. `link-abs-inside -> real.txt`.
///   Dangling links are resolved lexically from the first missing component on.
/// * A link that resolves elsewhere inside the marketplace is dereferenced: a file is copied as a
///   real file, a directory recursively as real content under the same rules. A directory link
///   that would loop (its target contains the link, or is already being copied through another
///   link) is skipped and reported with [`SkipReason::Loop`]; a dangling one with
///   [`SkipReason::Dangling`].
/// * A link that resolves outside the marketplace is never followed; it is skipped and reported
///   with [`SkipReason::OutsideMarketplace`].
/// * Sockets, FIFOs and device files are skipped without a report.
///
/// Nothing is written outside `destination`. On error, the partially written destination is
/// removed (best effort).
///
/// # Errors
///
/// [`CopyError::PluginRootEscapes`] when the plugin root resolves outside the marketplace,
/// [`CopyError::NotADirectory`] when it is not a directory, [`CopyError::DestinationExists`] and
/// [`CopyError::DestinationInsideSource`] for a bad destination, [`CopyError::SymlinkLoop`] when
/// dereferenced directory links nest more than 32 deep, and [`CopyError::Io`] /
/// [`CopyError::ReadDir`] for file system failures.
pub fn copy_plugin_tree(
    plugin_root: &Path,
    marketplace_root: &Path,
    destination: &Path,
) -> Result<CopyReport, CopyError> {
    let marketplace = fs_err::canonicalize(marketplace_root)?;
    let plugin = fs_err::canonicalize(plugin_root)?;
    if !plugin.starts_with(&marketplace) {
        return Err(CopyError::PluginRootEscapes {
            root: plugin_root.to_path_buf(),
            resolved: plugin,
            boundary: marketplace,
        });
    }
    let plugin_meta = fs_err::metadata(&plugin)?;
    if !plugin_meta.is_dir() {
        return Err(CopyError::NotADirectory(plugin_root.to_path_buf()));
    }

    match fs_err::symlink_metadata(destination) {
        Ok(_) => return Err(CopyError::DestinationExists(destination.to_path_buf())),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err.into()),
    }
    let Some(name) = destination.file_name() else {
        // `/`, `..` and the like: all of them exist.
        return Err(CopyError::DestinationExists(destination.to_path_buf()));
    };
    let destination_real = fs_err::canonicalize(non_empty_parent(destination))?.join(name);
    if destination_real.starts_with(&plugin) {
        return Err(CopyError::DestinationInsideSource {
            destination: destination.to_path_buf(),
            plugin_root: plugin,
        });
    }

    fs_err::create_dir(destination)?;
    let mut copier = Copier {
        plugin: plugin.clone(),
        marketplace,
        destination,
        destination_real,
        report: CopyReport::default(),
    };
    let result = set_dir_mode(destination, &plugin_meta).and_then(|()| {
        let mut chain = vec![plugin.clone()];
        copier.copy_dir(&plugin, Path::new(""), &mut chain, true)
    });
    match result {
        Ok(()) => Ok(copier.report),
        Err(err) => {
            // Best effort: leave nothing half-copied behind.
            let _ = fs_err::remove_dir_all(destination);
            Err(err)
        }
    }
}

/// Removes `path` (a file, a directory tree, or a symbolic link) after checking that it lies
/// strictly inside `allowed_root`. Style-anchors §(b)5 item 9: removal never follows links.
///
/// The check canonicalises `allowed_root` and the parent of `path`, then compares lexically, so
/// `path` itself may be a link: a link is removed as a link, never its target. A directory is
/// removed with `remove_dir_all`, which does not follow links inside it. A `path` that does not
/// exist (but would be inside `allowed_root`) is not an error.
///
/// # Errors
///
/// [`CopyError::OutsideAllowedRoot`] when `path` is `allowed_root` itself or not inside it (or
/// ends in `..`), [`CopyError::Io`] when a root cannot be canonicalised or the removal fails.
pub fn remove_tree(path: &Path, allowed_root: &Path) -> Result<(), CopyError> {
    let refuse = || CopyError::OutsideAllowedRoot {
        path: path.to_path_buf(),
        allowed_root: allowed_root.to_path_buf(),
    };
    let Some(Component::Normal(name)) = path.components().next_back() else {
        return Err(refuse());
    };
    let root = fs_err::canonicalize(allowed_root)?;
    let parent = fs_err::canonicalize(non_empty_parent(path))?;
    let target = parent.join(name);
    if target == root || !target.starts_with(&root) {
        return Err(refuse());
    }
    let meta = match fs_err::symlink_metadata(&target) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err.into()),
    };
    let file_type = meta.file_type();
    if file_type.is_symlink() {
        remove_link(&target)?;
    } else if file_type.is_dir() {
        fs_err::remove_dir_all(&target)?;
    } else {
        fs_err::remove_file(&target)?;
    }
    Ok(())
}

#[cfg(unix)]
fn remove_link(link: &Path) -> io::Result<()> {
    fs_err::remove_file(link)
}

#[cfg(not(unix))]
fn remove_link(link: &Path) -> io::Result<()> {
    // Windows directory links are removed with `RemoveDirectory`, file links with `DeleteFile`.
    fs_err::remove_file(link).or_else(|_| fs_err::remove_dir(link))
}

/// The parent of `path`, with `.` for a bare relative name.
fn non_empty_parent(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// What to do with one symbolic link.
enum LinkAction {
    /// Recreate it with this (relative) target.
    Keep(PathBuf),
    /// Copy what it points to (a file or directory at this canonical path).
    Dereference(PathBuf),
    /// Leave it out and report it.
    Skip(SkipReason),
    /// Leave it out silently (it points at a socket, FIFO or device).
    Ignore,
}

struct Copier<'a> {
    /// Canonical plugin root.
    plugin: PathBuf,
    /// Canonical marketplace root.
    marketplace: PathBuf,
    /// The destination as given; every write goes below it.
    destination: &'a Path,
    /// The destination with a canonical parent, to keep it out of walks when it sits inside the
    /// marketplace.
    destination_real: PathBuf,
    report: CopyReport,
}

impl Copier<'_> {
    /// Copies the contents of the real directory `source` to `destination/dest_rel` (which
    /// exists). `chain` holds the real directories currently being copied, outermost first.
    fn copy_dir(
        &mut self,
        source: &Path,
        dest_rel: &Path,
        chain: &mut Vec<PathBuf>,
        top_level: bool,
    ) -> Result<(), CopyError> {
        let destination_real = self.destination_real.clone();
        let walker = WalkDir::new(source)
            .follow_links(false)
            .min_depth(1)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(move |entry| {
                let top_git = top_level && entry.depth() == 1 && entry.file_name() == ".git";
                !top_git && entry.path() != destination_real
            });
        for entry in walker {
            let entry = entry?;
            let inner = entry
                .path()
                .strip_prefix(source)
                .expect("walkdir yields paths below its root");
            let rel = dest_rel.join(inner);
            let dest = self.destination.join(&rel);
            let file_type = entry.file_type();
            if file_type.is_dir() {
                let meta = entry.metadata()?;
                self.make_dir(&dest, &meta)?;
            } else if file_type.is_file() {
                let meta = entry.metadata()?;
                self.copy_file(entry.path(), &dest, &meta)?;
            } else if file_type.is_symlink() {
                self.copy_link(entry.path(), &rel, &dest, chain)?;
            }
            // Anything else is a socket, FIFO or device: skipped silently.
        }
        Ok(())
    }

    fn make_dir(&mut self, dest: &Path, meta: &std::fs::Metadata) -> Result<(), CopyError> {
        fs_err::create_dir(dest)?;
        set_dir_mode(dest, meta)?;
        self.report.directories += 1;
        Ok(())
    }

    fn copy_file(
        &mut self,
        source: &Path,
        dest: &Path,
        meta: &std::fs::Metadata,
    ) -> Result<(), CopyError> {
        // Streams the content and copies the permission bits.
        let bytes = fs_err::copy(source, dest)?;
        strip_special_bits(dest, meta)?;
        self.report.files += 1;
        self.report.bytes += bytes;
        Ok(())
    }

    /// Handles the link at `link` (a real path), which goes to `destination/rel`.
    fn copy_link(
        &mut self,
        link: &Path,
        rel: &Path,
        dest: &Path,
        chain: &mut Vec<PathBuf>,
    ) -> Result<(), CopyError> {
        let target = fs_err::read_link(link)?;
        let action = self.classify(link, rel, &target, chain)?;
        match action {
            LinkAction::Keep(relative) => {
                create_link(&relative, dest)?;
                self.report.symlinks += 1;
            }
            LinkAction::Dereference(resolved) => {
                let meta = fs_err::metadata(&resolved)?;
                if meta.is_dir() {
                    chain.push(resolved.clone());
                    if chain.len() > MAX_DEREFERENCE_DEPTH + 1 {
                        return Err(CopyError::SymlinkLoop {
                            path: link.to_path_buf(),
                        });
                    }
                    self.make_dir(dest, &meta)?;
                    self.copy_dir(&resolved, rel, chain, false)?;
                    chain.pop();
                } else if meta.is_file() {
                    self.copy_file(&resolved, dest, &meta)?;
                }
                // A link to a socket, FIFO or device: skipped silently.
            }
            LinkAction::Skip(reason) => self.report.skipped_links.push(SkippedLink {
                path: rel.to_path_buf(),
                target,
                reason,
            }),
            LinkAction::Ignore => {}
        }
        Ok(())
    }

    fn classify(
        &self,
        link: &Path,
        rel: &Path,
        target: &Path,
        chain: &[PathBuf],
    ) -> Result<LinkAction, CopyError> {
        let link_dir = link.parent().unwrap_or(link);
        let resolved = resolve_lenient(&link_dir.join(target));

        if let Ok(inside) = resolved.path.strip_prefix(&self.plugin) {
            if !cfg!(unix) {
                // No portable symbolic links: copy what it points to instead.
                return Ok(if resolved.exists {
                    self.dereference(link_dir, resolved.path, chain)?
                } else {
                    LinkAction::Skip(SkipReason::Dangling)
                });
            }
            let text = if is_plain_relative(target) {
                target.to_path_buf()
            } else {
                relative_path(rel.parent().unwrap_or(Path::new("")), inside)
            };
            return Ok(LinkAction::Keep(text));
        }
        if !resolved.path.starts_with(&self.marketplace) {
            return Ok(LinkAction::Skip(SkipReason::OutsideMarketplace));
        }
        if !resolved.exists {
            return Ok(LinkAction::Skip(SkipReason::Dangling));
        }
        self.dereference(link_dir, resolved.path, chain)
    }

    /// Decides how to dereference an existing `real` path inside the marketplace.
    fn dereference(
        &self,
        link_dir: &Path,
        real: PathBuf,
        chain: &[PathBuf],
    ) -> Result<LinkAction, CopyError> {
        let meta = fs_err::metadata(&real)?;
        if meta.is_dir() {
            let is_loop = link_dir.starts_with(&real)
                || chain.iter().any(|dir| dir.starts_with(&real))
                || real.starts_with(&self.destination_real);
            if is_loop {
                return Ok(LinkAction::Skip(SkipReason::Loop));
            }
            Ok(LinkAction::Dereference(real))
        } else if meta.is_file() {
            Ok(LinkAction::Dereference(real))
        } else {
            Ok(LinkAction::Ignore)
        }
    }
}

/// Whether `target` is relative and made only of plain names (and `.`), so it can only go down
/// from the link's directory.
fn is_plain_relative(target: &Path) -> bool {
    !target.as_os_str().is_empty()
        && target
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

/// The path from directory `from` to `to`, both relative to the same root and made of plain
/// names: `..` for each step up to the common prefix, then the rest of `to`.
fn relative_path(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component<'_>> = from.components().collect();
    let to: Vec<Component<'_>> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..from.len() {
        out.push("..");
    }
    for part in &to[common..] {
        out.push(part.as_os_str());
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Where a path leads, as far as the file system can tell.
struct Resolved {
    /// Absolute path with every existing link resolved and no `.`/`..` left.
    path: PathBuf,
    /// Whether the whole path exists.
    exists: bool,
}

/// Like `realpath -m`: resolves `path` (absolute) component by component, following symbolic
/// links as the kernel would, and continues lexically from the first component that does not
/// exist or cannot be examined (or after [`MAX_LINK_HOPS`] links).
fn resolve_lenient(path: &Path) -> Resolved {
    enum Part {
        Root(OsString),
        Up,
        Name(OsString),
    }
    fn push_parts(stack: &mut Vec<Part>, path: &Path) {
        // Stored reversed so the next component is at the end.
        for component in path.components().rev() {
            match component {
                Component::Prefix(_) | Component::RootDir => {
                    stack.push(Part::Root(component.as_os_str().to_os_string()));
                }
                Component::ParentDir => stack.push(Part::Up),
                Component::Normal(name) => stack.push(Part::Name(name.to_os_string())),
                Component::CurDir => {}
            }
        }
    }

    let mut stack = Vec::new();
    push_parts(&mut stack, path);
    let mut current = PathBuf::new();
    let mut exists = true;
    let mut hops = 0;
    while let Some(part) = stack.pop() {
        match part {
            Part::Root(root) => current.push(root),
            Part::Up => {
                current.pop();
            }
            Part::Name(name) => {
                let next = current.join(&name);
                if !exists {
                    current = next;
                    continue;
                }
                match std::fs::symlink_metadata(&next) {
                    Ok(meta) if meta.file_type().is_symlink() && hops < MAX_LINK_HOPS => {
                        hops += 1;
                        if let Ok(target) = std::fs::read_link(&next) {
                            if target.has_root() {
                                current = PathBuf::new();
                            }
                            push_parts(&mut stack, &target);
                        } else {
                            exists = false;
                            current = next;
                        }
                    }
                    Ok(meta) if !meta.file_type().is_symlink() => current = next,
                    // Too many links, or not there (or not readable): lexical from here on.
                    _ => {
                        exists = false;
                        current = next;
                    }
                }
            }
        }
    }
    Resolved {
        path: current,
        exists,
    }
}

#[cfg(unix)]
fn create_link(target: &Path, link: &Path) -> io::Result<()> {
    fs_err::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn create_link(_target: &Path, link: &Path) -> io::Result<()> {
    // `classify` never keeps a link on these platforms.
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("cannot create symbolic link `{}`", link.display()),
    ))
}

#[cfg(unix)]
fn set_dir_mode(dir: &Path, meta: &std::fs::Metadata) -> Result<(), CopyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = (meta.permissions().mode() & 0o777) | 0o700;
    fs_err::set_permissions(dir, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}

#[cfg(not(unix))]
fn set_dir_mode(_dir: &Path, _meta: &std::fs::Metadata) -> Result<(), CopyError> {
    Ok(())
}

#[cfg(unix)]
fn strip_special_bits(file: &Path, meta: &std::fs::Metadata) -> Result<(), CopyError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode();
    if mode & 0o7000 != 0 {
        fs_err::set_permissions(file, std::fs::Permissions::from_mode(mode & 0o777))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn strip_special_bits(_file: &Path, _meta: &std::fs::Metadata) -> Result<(), CopyError> {
    Ok(())
}

#[cfg(all(test, unix))]
#[expect(
    clippy::unwrap_used,
    reason = "a failing fixture step should fail the test loudly"
)]
mod tests {
    use super::*;
    use std::os::unix::fs::{PermissionsExt, symlink};

    /// A marketplace at `<tmp>/market` with a plugin at `<tmp>/market/plugins/p`, a place
    /// outside the marketplace at `<tmp>/outside` and the cache at `<tmp>/cache`.
    struct Fixture {
        _tmp: tempfile::TempDir,
        root: PathBuf,
        market: PathBuf,
        plugin: PathBuf,
        outside: PathBuf,
        cache: PathBuf,
    }

    impl Fixture {
        fn new() -> Self {
            let tmp = tempfile::tempdir().unwrap();
            let root = tmp.path().to_path_buf();
            let market = root.join("market");
            let plugin = market.join("plugins/p");
            let outside = root.join("outside");
            let cache = root.join("cache");
            for dir in [&plugin, &outside, &cache] {
                fs_err::create_dir_all(dir).unwrap();
            }
            Self {
                _tmp: tmp,
                root,
                market,
                plugin,
                outside,
                cache,
            }
        }

        fn dest(&self) -> PathBuf {
            self.cache.join("p")
        }

        fn copy(&self) -> CopyReport {
            copy_plugin_tree(&self.plugin, &self.market, &self.dest()).unwrap()
        }
    }

    fn write(path: &Path, content: &str) {
        if let Some(parent) = path.parent() {
            fs_err::create_dir_all(parent).unwrap();
        }
        fs_err::write(path, content).unwrap();
    }

    fn mode(path: &Path) -> u32 {
        fs_err::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
    }

    fn is_link(path: &Path) -> bool {
        fs_err::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
    }

    fn link_target(path: &Path) -> PathBuf {
        fs_err::read_link(path).unwrap()
    }

    fn skipped(report: &CopyReport) -> Vec<(String, SkipReason)> {
        report
            .skipped_links
            .iter()
            .map(|s| (s.path.display().to_string(), s.reason))
            .collect()
    }

    /// Every link in the copy resolves inside it (or dangles inside it).
    fn assert_links_stay_inside(dest: &Path) {
        let dest = fs_err::canonicalize(dest).unwrap();
        for entry in WalkDir::new(&dest).follow_links(false) {
            let entry = entry.unwrap();
            if entry.file_type().is_symlink() {
                let resolved = resolve_lenient(entry.path());
                assert!(
                    resolved.path.starts_with(&dest),
                    "{} resolves to {}",
                    entry.path().display(),
                    resolved.path.display()
                );
            }
        }
    }

    #[test]
    fn copy_excludes_top_level_git_only() {
        let f = Fixture::new();
        write(&f.plugin.join(".git/HEAD"), "ref");
        write(&f.plugin.join("sub/.git/HEAD"), "nested");
        write(&f.plugin.join(".gitignore"), "x");
        write(&f.plugin.join(".DS_Store"), "ds");
        write(&f.plugin.join("node_modules/m/index.js"), "js");
        let report = f.copy();
        let d = f.dest();
        assert!(!d.join(".git").exists());
        assert_eq!(
            fs_err::read_to_string(d.join("sub/.git/HEAD")).unwrap(),
            "nested"
        );
        assert!(d.join(".gitignore").is_file());
        assert!(d.join(".DS_Store").is_file());
        assert!(d.join("node_modules/m/index.js").is_file());
        assert_eq!(report.files, 4);
        assert_eq!(report.directories, 4); // sub, sub/.git, node_modules, node_modules/m
    }

    #[test]
    fn copy_excludes_top_level_git_file() {
        let f = Fixture::new();
        write(&f.plugin.join(".git"), "gitdir: ../../.git/modules/p");
        write(&f.plugin.join("a.txt"), "a");
        let report = f.copy();
        assert!(fs_err::symlink_metadata(f.dest().join(".git")).is_err());
        assert_eq!(report.files, 1);
    }

    #[test]
    fn copy_of_marketplace_root_includes_marketplace_json() {
        let f = Fixture::new();
        write(&f.market.join(".git/config"), "c");
        write(&f.market.join(".claude-plugin/marketplace.json"), "{}");
        let dest = f.dest();
        copy_plugin_tree(&f.market, &f.market, &dest).unwrap();
        assert_eq!(
            fs_err::read_to_string(dest.join(".claude-plugin/marketplace.json")).unwrap(),
            "{}"
        );
        assert!(dest.join("plugins/p").is_dir());
        assert!(!dest.join(".git").exists());
    }

    #[test]
    fn copy_preserves_file_modes_and_content() {
        let f = Fixture::new();
        write(&f.plugin.join("secret"), "s");
        write(&f.plugin.join("run.sh"), "#!/bin/sh\n");
        fs_err::set_permissions(
            f.plugin.join("secret"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        fs_err::set_permissions(
            f.plugin.join("run.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .unwrap();
        let report = f.copy();
        assert_eq!(mode(&f.dest().join("secret")), 0o600);
        assert_eq!(mode(&f.dest().join("run.sh")), 0o755);
        assert_eq!(
            fs_err::read(f.dest().join("run.sh")).unwrap(),
            b"#!/bin/sh\n"
        );
        assert_eq!(report.bytes, 11);
    }

    #[test]
    fn copy_drops_set_id_bits() {
        let f = Fixture::new();
        write(&f.plugin.join("tool"), "t");
        fs_err::set_permissions(
            f.plugin.join("tool"),
            std::fs::Permissions::from_mode(0o4755),
        )
        .unwrap();
        f.copy();
        assert_eq!(mode(&f.dest().join("tool")), 0o755);
    }

    #[test]
    fn copy_preserves_directory_modes_and_empty_directories() {
        let f = Fixture::new();
        fs_err::create_dir_all(f.plugin.join("empty/deeper")).unwrap();
        fs_err::create_dir(f.plugin.join("private")).unwrap();
        fs_err::set_permissions(
            f.plugin.join("private"),
            std::fs::Permissions::from_mode(0o700),
        )
        .unwrap();
        fs_err::create_dir(f.plugin.join("shared")).unwrap();
        fs_err::set_permissions(
            f.plugin.join("shared"),
            std::fs::Permissions::from_mode(0o775),
        )
        .unwrap();
        let report = f.copy();
        assert!(f.dest().join("empty/deeper").is_dir());
        assert_eq!(mode(&f.dest().join("private")), 0o700);
        assert_eq!(mode(&f.dest().join("shared")), 0o775);
        assert_eq!(report.directories, 4);
        assert_eq!(report.files, 0);
    }

    #[test]
    fn copy_keeps_read_only_directories_removable() {
        let f = Fixture::new();
        write(&f.plugin.join("ro/file"), "x");
        fs_err::set_permissions(f.plugin.join("ro"), std::fs::Permissions::from_mode(0o555))
            .unwrap();
        f.copy();
        assert_eq!(mode(&f.dest().join("ro")), 0o755);
        fs_err::set_permissions(f.plugin.join("ro"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        remove_tree(&f.dest(), &f.cache).unwrap();
        assert!(!f.dest().exists());
    }

    #[test]
    fn copy_keeps_links_inside_plugin_as_relative_links() {
        let f = Fixture::new();
        write(&f.plugin.join("real.txt"), "real");
        write(&f.plugin.join("dir/inner.txt"), "inner");
        symlink("real.txt", f.plugin.join("link-rel")).unwrap();
        symlink(f.plugin.join("real.txt"), f.plugin.join("link-abs-inside")).unwrap();
        symlink("../real.txt", f.plugin.join("dir/up")).unwrap();
        symlink("dir", f.plugin.join("link-dir")).unwrap();
        let report = f.copy();
        let d = f.dest();
        assert_eq!(link_target(&d.join("link-rel")), Path::new("real.txt"));
        assert_eq!(
            link_target(&d.join("link-abs-inside")),
            Path::new("real.txt")
        );
        assert_eq!(link_target(&d.join("dir/up")), Path::new("../real.txt"));
        assert_eq!(link_target(&d.join("link-dir")), Path::new("dir"));
        assert_eq!(
            fs_err::read_to_string(d.join("link-abs-inside")).unwrap(),
            "real"
        );
        assert_eq!(
            fs_err::read_to_string(d.join("link-dir/inner.txt")).unwrap(),
            "inner"
        );
        assert_eq!(report.symlinks, 4);
        assert!(report.skipped_links.is_empty());
        assert_links_stay_inside(&d);
    }

    #[test]
    fn copy_keeps_absolute_link_through_symlinked_path_as_relative() {
        let f = Fixture::new();
        write(&f.plugin.join("real.txt"), "real");
        // An absolute target spelled through a link to the marketplace.
        symlink(&f.market, f.root.join("market-alias")).unwrap();
        symlink(
            f.root.join("market-alias/plugins/p/real.txt"),
            f.plugin.join("l"),
        )
        .unwrap();
        f.copy();
        assert_eq!(link_target(&f.dest().join("l")), Path::new("real.txt"));
    }

    #[test]
    fn copy_keeps_dangling_relative_link_inside_plugin() {
        let f = Fixture::new();
        fs_err::create_dir(f.plugin.join("sub")).unwrap();
        symlink("missing.txt", f.plugin.join("dangling")).unwrap();
        symlink("../missing.txt", f.plugin.join("sub/dangling-up")).unwrap();
        let report = f.copy();
        assert_eq!(
            link_target(&f.dest().join("dangling")),
            Path::new("missing.txt")
        );
        assert_eq!(
            link_target(&f.dest().join("sub/dangling-up")),
            Path::new("../missing.txt")
        );
        assert_eq!(report.symlinks, 2);
        assert!(report.skipped_links.is_empty());
    }

    #[test]
    fn copy_dereferences_links_elsewhere_in_marketplace() {
        let f = Fixture::new();
        write(&f.market.join("shared/common.md"), "common");
        write(&f.market.join("shared/lib/util.js"), "util");
        fs_err::create_dir(f.market.join("shared/empty")).unwrap();
        // Inside the dereferenced directory, the same rules apply.
        symlink("common.md", f.market.join("shared/again")).unwrap();
        symlink("/etc/hostname", f.market.join("shared/escape")).unwrap();
        symlink("../../shared/common.md", f.plugin.join("doc.md")).unwrap();
        symlink("../../shared", f.plugin.join("shared")).unwrap();
        let report = f.copy();
        let d = f.dest();
        assert!(!is_link(&d.join("doc.md")));
        assert_eq!(fs_err::read_to_string(d.join("doc.md")).unwrap(), "common");
        assert!(!is_link(&d.join("shared")));
        assert!(d.join("shared").is_dir());
        assert_eq!(
            fs_err::read_to_string(d.join("shared/lib/util.js")).unwrap(),
            "util"
        );
        assert!(d.join("shared/empty").is_dir());
        // `again` resolves to shared/common.md, outside the plugin: dereferenced too.
        assert!(!is_link(&d.join("shared/again")));
        assert_eq!(
            fs_err::read_to_string(d.join("shared/again")).unwrap(),
            "common"
        );
        assert!(fs_err::symlink_metadata(d.join("shared/escape")).is_err());
        assert_eq!(
            skipped(&report),
            [("shared/escape".to_owned(), SkipReason::OutsideMarketplace)]
        );
        assert_eq!(report.symlinks, 0);
        assert_eq!(report.files, 4);
        assert_eq!(report.directories, 3); // shared, shared/lib, shared/empty
    }

    #[test]
    fn copy_links_back_into_plugin_from_dereferenced_directory() {
        let f = Fixture::new();
        write(&f.plugin.join("x.txt"), "x");
        fs_err::create_dir_all(f.market.join("a/b")).unwrap();
        symlink("../../plugins/p/x.txt", f.market.join("a/b/back")).unwrap();
        symlink("../../a/b", f.plugin.join("d")).unwrap();
        // Resolves into the plugin only through the dereferenced `d`; written verbatim it
        // would climb out of the copy.
        symlink("d/../../plugins/p/x.txt", f.plugin.join("k")).unwrap();
        let report = f.copy();
        let d = f.dest();
        assert_eq!(link_target(&d.join("d/back")), Path::new("../x.txt"));
        assert_eq!(link_target(&d.join("k")), Path::new("x.txt"));
        assert_eq!(fs_err::read_to_string(d.join("d/back")).unwrap(), "x");
        assert_eq!(report.symlinks, 2);
        assert_links_stay_inside(&d);
    }

    #[test]
    fn copy_never_writes_links_that_climb_out_of_the_copy() {
        let f = Fixture::new();
        write(&f.plugin.join("x"), "x");
        symlink(".", f.plugin.join("self")).unwrap();
        // Lexically `p/x`; through the link `self/..` is the plugin's parent.
        symlink("self/../x", f.plugin.join("k")).unwrap();
        symlink("self/../p/x", f.plugin.join("k2")).unwrap();
        let report = f.copy();
        let d = f.dest();
        assert_eq!(link_target(&d.join("self")), Path::new("."));
        // `k` resolves to market/plugins/x: inside the marketplace, missing.
        assert!(fs_err::symlink_metadata(d.join("k")).is_err());
        assert_eq!(link_target(&d.join("k2")), Path::new("x"));
        assert_eq!(skipped(&report), [("k".to_owned(), SkipReason::Dangling)]);
        assert_links_stay_inside(&d);
    }

    #[test]
    fn copy_skips_directory_link_loops() {
        let f = Fixture::new();
        write(&f.market.join("loop/file"), "f");
        symlink("..", f.market.join("loop/parent")).unwrap(); // -> market, contains the plugin
        symlink("../../loop", f.plugin.join("l")).unwrap();
        symlink("..", f.plugin.join("up")).unwrap(); // -> market/plugins, contains the link
        let report = f.copy();
        let d = f.dest();
        assert_eq!(fs_err::read_to_string(d.join("l/file")).unwrap(), "f");
        assert!(fs_err::symlink_metadata(d.join("l/parent")).is_err());
        assert!(fs_err::symlink_metadata(d.join("up")).is_err());
        assert_eq!(
            skipped(&report),
            [
                ("l/parent".to_owned(), SkipReason::Loop),
                ("up".to_owned(), SkipReason::Loop)
            ]
        );
    }

    #[test]
    fn copy_stops_at_too_deep_dereference_chains_and_cleans_up() {
        let f = Fixture::new();
        let n = MAX_DEREFERENCE_DEPTH + 2;
        for i in 0..n {
            fs_err::create_dir(f.market.join(format!("d{i}"))).unwrap();
            if i + 1 < n {
                symlink(
                    format!("../d{}", i + 1),
                    f.market.join(format!("d{i}/next")),
                )
                .unwrap();
            }
        }
        symlink("../../d0", f.plugin.join("start")).unwrap();
        let err = copy_plugin_tree(&f.plugin, &f.market, &f.dest()).unwrap_err();
        assert!(matches!(err, CopyError::SymlinkLoop { .. }), "{err:?}");
        assert!(!f.dest().exists());
    }

    #[test]
    fn copy_skips_links_outside_marketplace() {
        let f = Fixture::new();
        write(&f.outside.join("secret"), "s");
        fs_err::create_dir(f.plugin.join("sub")).unwrap();
        symlink("../../../outside/secret", f.plugin.join("rel-out")).unwrap();
        symlink(f.outside.join("secret"), f.plugin.join("abs-out")).unwrap();
        symlink("/etc/hostname", f.plugin.join("sub/etc")).unwrap();
        symlink("../../../outside/missing", f.plugin.join("dangling-out")).unwrap();
        symlink(&f.outside, f.plugin.join("dir-out")).unwrap();
        let report = f.copy();
        let d = f.dest();
        for name in ["rel-out", "abs-out", "sub/etc", "dangling-out", "dir-out"] {
            assert!(fs_err::symlink_metadata(d.join(name)).is_err(), "{name}");
        }
        let got = skipped(&report);
        let expected: Vec<_> = ["abs-out", "dangling-out", "dir-out", "rel-out", "sub/etc"]
            .into_iter()
            .map(|p| (p.to_owned(), SkipReason::OutsideMarketplace))
            .collect();
        assert_eq!(got, expected);
        let etc = report
            .skipped_links
            .iter()
            .find(|s| s.path == Path::new("sub/etc"))
            .unwrap();
        assert_eq!(etc.target, Path::new("/etc/hostname"));
        assert_eq!(report.files, 0);
        assert_eq!(report.symlinks, 0);
    }

    #[test]
    fn copy_refuses_plugin_root_linking_outside_marketplace() {
        let f = Fixture::new();
        write(&f.outside.join("plugin.json"), "{}");
        let link = f.market.join("plugins/evil");
        symlink(&f.outside, &link).unwrap();
        let err = copy_plugin_tree(&link, &f.market, &f.dest()).unwrap_err();
        match err {
            CopyError::PluginRootEscapes {
                root,
                resolved,
                boundary,
            } => {
                assert_eq!(root, link);
                assert_eq!(resolved, fs_err::canonicalize(&f.outside).unwrap());
                assert_eq!(boundary, fs_err::canonicalize(&f.market).unwrap());
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!f.dest().exists());
    }

    #[test]
    fn copy_follows_plugin_root_linking_inside_marketplace() {
        let f = Fixture::new();
        write(&f.plugin.join("real.txt"), "real");
        symlink(f.plugin.join("real.txt"), f.plugin.join("abs")).unwrap();
        let link = f.market.join("plugins/alias");
        symlink("p", &link).unwrap();
        let dest = f.dest();
        let report = copy_plugin_tree(&link, &f.market, &dest).unwrap();
        assert!(!is_link(&dest));
        assert_eq!(
            fs_err::read_to_string(dest.join("real.txt")).unwrap(),
            "real"
        );
        assert_eq!(link_target(&dest.join("abs")), Path::new("real.txt"));
        assert_eq!(report.files, 1);
    }

    #[test]
    fn copy_compares_canonical_roots() {
        let f = Fixture::new();
        write(&f.plugin.join("a"), "a");
        let alias = f.root.join("alias");
        symlink(&f.root, &alias).unwrap();
        // Marketplace spelled through a link, plugin spelled directly, and vice versa.
        copy_plugin_tree(&f.plugin, &alias.join("market"), &f.cache.join("one")).unwrap();
        copy_plugin_tree(
            &alias.join("market/plugins/p"),
            &f.market,
            &f.cache.join("two"),
        )
        .unwrap();
        assert!(f.cache.join("one/a").is_file());
        assert!(f.cache.join("two/a").is_file());
    }

    #[test]
    fn copy_skips_special_files_silently() {
        let f = Fixture::new();
        write(&f.plugin.join("a"), "a");
        let _listener = std::os::unix::net::UnixListener::bind(f.plugin.join("sock")).unwrap();
        symlink("sock", f.plugin.join("to-sock")).unwrap();
        let report = f.copy();
        assert!(fs_err::symlink_metadata(f.dest().join("sock")).is_err());
        assert_eq!(report.files, 1);
        assert!(report.skipped_links.is_empty());
        // A link to a socket inside the plugin is still a link inside the plugin.
        assert_eq!(report.symlinks, 1);
    }

    #[test]
    fn copy_streams_large_files_byte_identical() {
        let f = Fixture::new();
        let data: Vec<u8> = (0..6 * 1024 * 1024u32)
            .map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[2])
            .collect();
        fs_err::write(f.plugin.join("big.bin"), &data).unwrap();
        let report = f.copy();
        assert_eq!(fs_err::read(f.dest().join("big.bin")).unwrap(), data);
        assert_eq!(report.bytes, data.len() as u64);
    }

    #[test]
    fn copy_refuses_existing_destination() {
        let f = Fixture::new();
        fs_err::create_dir(f.dest()).unwrap();
        let err = copy_plugin_tree(&f.plugin, &f.market, &f.dest()).unwrap_err();
        assert!(
            matches!(err, CopyError::DestinationExists(ref p) if *p == f.dest()),
            "{err:?}"
        );
        // A dangling link counts as existing too.
        let dangling = f.cache.join("dangling");
        symlink("nowhere", &dangling).unwrap();
        let err = copy_plugin_tree(&f.plugin, &f.market, &dangling).unwrap_err();
        assert!(matches!(err, CopyError::DestinationExists(_)), "{err:?}");
    }

    #[test]
    fn copy_refuses_destination_inside_plugin_and_missing_parent() {
        let f = Fixture::new();
        let err = copy_plugin_tree(&f.plugin, &f.market, &f.plugin.join("copy")).unwrap_err();
        assert!(
            matches!(err, CopyError::DestinationInsideSource { .. }),
            "{err:?}"
        );
        let err =
            copy_plugin_tree(&f.plugin, &f.market, &f.cache.join("no/such/parent")).unwrap_err();
        assert!(matches!(err, CopyError::Io(_)), "{err:?}");
    }

    #[test]
    fn copy_leaves_destination_out_of_dereferenced_walks() {
        let f = Fixture::new();
        write(&f.market.join("shared/a"), "a");
        symlink("../../shared", f.plugin.join("shared")).unwrap();
        let dest = f.market.join("shared/cache-copy");
        let report = copy_plugin_tree(&f.plugin, &f.market, &dest).unwrap();
        assert!(dest.join("shared/a").is_file());
        assert!(!dest.join("shared/cache-copy").exists());
        assert_eq!(report.files, 1);
    }

    #[test]
    fn copy_errors_name_the_path() {
        let f = Fixture::new();
        let err = copy_plugin_tree(&f.root.join("nope"), &f.market, &f.dest()).unwrap_err();
        assert!(err.to_string().contains("nope"), "{err}");
        write(&f.root.join("file"), "x");
        let err = copy_plugin_tree(&f.root.join("file"), &f.root, &f.dest()).unwrap_err();
        assert!(matches!(err, CopyError::NotADirectory(_)), "{err:?}");
    }

    #[test]
    fn remove_tree_refuses_paths_outside_root() {
        let f = Fixture::new();
        write(&f.outside.join("keep"), "k");
        for path in [
            f.outside.clone(),
            f.cache.clone(),
            f.cache.join(".."),
            f.cache.join("../outside"),
            f.root.clone(),
        ] {
            let err = remove_tree(&path, &f.cache).unwrap_err();
            assert!(
                matches!(err, CopyError::OutsideAllowedRoot { .. }),
                "{path:?}: {err:?}"
            );
        }
        // A link inside the root whose parent part leaves it.
        symlink(&f.outside, f.cache.join("out")).unwrap();
        let err = remove_tree(&f.cache.join("out/keep"), &f.cache).unwrap_err();
        assert!(
            matches!(err, CopyError::OutsideAllowedRoot { .. }),
            "{err:?}"
        );
        assert!(f.outside.join("keep").is_file());
    }

    #[test]
    fn remove_tree_removes_links_without_following_them() {
        let f = Fixture::new();
        write(&f.outside.join("keep"), "k");
        symlink(&f.outside, f.cache.join("dir-link")).unwrap();
        remove_tree(&f.cache.join("dir-link"), &f.cache).unwrap();
        assert!(fs_err::symlink_metadata(f.cache.join("dir-link")).is_err());
        assert!(f.outside.join("keep").is_file());
        // Missing paths inside the root are fine.
        remove_tree(&f.cache.join("dir-link"), &f.cache).unwrap();
    }

    #[test]
    fn remove_tree_removes_directories_but_not_what_links_inside_point_to() {
        let f = Fixture::new();
        write(&f.outside.join("keep"), "k");
        write(&f.cache.join("p/1.0.0/file"), "f");
        symlink(&f.outside, f.cache.join("p/1.0.0/out")).unwrap();
        // Spelled through a link to the cache root.
        let alias = f.root.join("cache-alias");
        symlink(&f.cache, &alias).unwrap();
        remove_tree(&alias.join("p"), &f.cache).unwrap();
        assert!(!f.cache.join("p").exists());
        assert!(f.outside.join("keep").is_file());
        assert!(f.cache.is_dir());
        write(&f.cache.join("plain"), "x");
        remove_tree(&f.cache.join("plain"), &f.cache).unwrap();
        assert!(!f.cache.join("plain").exists());
    }

    #[test]
    fn relative_path_climbs_then_descends() {
        assert_eq!(
            relative_path(Path::new(""), Path::new("a/b")),
            Path::new("a/b")
        );
        assert_eq!(
            relative_path(Path::new("a/c"), Path::new("a/b")),
            Path::new("../b")
        );
        assert_eq!(
            relative_path(Path::new("x/y"), Path::new("")),
            Path::new("../..")
        );
        assert_eq!(relative_path(Path::new(""), Path::new("")), Path::new("."));
    }

    #[test]
    fn resolve_lenient_follows_links_and_continues_lexically() {
        let f = Fixture::new();
        let root = fs_err::canonicalize(&f.root).unwrap();
        symlink("market/plugins", f.root.join("pl")).unwrap();
        let r = resolve_lenient(&f.root.join("pl/p"));
        assert!(r.exists);
        assert_eq!(r.path, root.join("market/plugins/p"));
        let r = resolve_lenient(&f.root.join("pl/../missing/../x"));
        assert!(!r.exists);
        assert_eq!(r.path, root.join("market/x"));
        symlink("b", f.root.join("a")).unwrap();
        symlink("a", f.root.join("b")).unwrap();
        assert!(!resolve_lenient(&f.root.join("a")).exists);
    }
}
