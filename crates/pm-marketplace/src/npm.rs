//! `npm` plugin sources (`{"source": "npm", "package": "@a/b", "version"?, "registry"?}`;
//! reference-lifecycle.md §5.4).
//!
//! pm talks to the registry's HTTP API itself (no `npm` executable, no lifecycle scripts):
//!
//! 1. `GET <registry>/<package>` (a scoped name's `/` sent as `%2f`), the abbreviated metadata
//!    when the registry has it;
//! 2. the version: `version` as written when the registry has it, else a dist-tag of that name,
//!    else the highest version an npm range (`^1.2`, `~1`, `>=1 <2`, `1.x`, `1 - 2`, `a || b`)
//!    accepts; without `version`, `dist-tags.latest`;
//! 3. `dist.tarball` is downloaded into `cache/<marketplace>/<plugin>/.npm-*/` and checked
//!    against `dist.integrity` (the strongest of SHA-512, SHA-384, SHA-256); a SHA-1 (`shasum`)
//!    is accepted only when nothing stronger is listed, with a warning; no checksum at all is
//!    refused;
//! 4. the tarball is unpacked next to it, its first path component (`package/`) stripped. An
//!    entry that is absolute or has a `..` component, a link whose target leaves the package, a
//!    device or FIFO, more than [`MAX_ENTRIES`] entries or [`MAX_UNPACKED_BYTES`] of data fails
//!    the whole install: nothing reaches the cache. Files are written only below real
//!    directories created here (never through a link); hard links become copies.
//!
//! The registry's answers go through reqwest (`crate::http`), which honours `HTTPS_PROXY`,
//! `HTTP_PROXY` and `NO_PROXY`. Registry credentials (`.npmrc`) are not read.

use crate::error::{Error, Result};
use crate::marketplaces::CreatedDirs;
use crate::reporter::Reporter;
use crate::sources::{Fetched, Temporary};
use pm_core::id::PluginId;
use pm_core::marketplace::InvalidSourceKind;
use serde_json::Value;
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};

/// The registry used when the entry names none.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org";
/// Largest package metadata document accepted.
const MAX_PACKUMENT_BYTES: u64 = 64 * 1024 * 1024;
/// Largest tarball accepted.
const MAX_TARBALL_BYTES: u64 = 256 * 1024 * 1024;
/// Largest total size of the files in a tarball.
pub const MAX_UNPACKED_BYTES: u64 = 512 * 1024 * 1024;
/// Most entries a tarball may have.
pub const MAX_ENTRIES: u64 = 100_000;
/// What the tarball may decompress to in all (file data plus headers and padding).
const MAX_DECOMPRESSED_BYTES: u64 = MAX_UNPACKED_BYTES + 128 * 1024 * 1024;
/// The abbreviated metadata format, then full JSON.
const ACCEPT: &str = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

/// Resolves `package` (`version`: exact, range or dist-tag; `None` for `latest`) in `registry`
/// (default [`DEFAULT_REGISTRY`]), downloads and verifies its tarball and unpacks it into a
/// temporary directory inside `plugin_cache`.
pub(crate) fn fetch(
    id: &PluginId,
    package: &str,
    wanted: Option<&str>,
    registry: Option<&str>,
    plugin_cache: &Path,
    reporter: &dyn Reporter,
) -> Result<Fetched> {
    let invalid = |reason: String| Error::EntryInvalid {
        id: id.to_string(),
        reason,
        kind: InvalidSourceKind::Malformed,
    };
    if !is_valid_package_name(package) {
        return Err(invalid(format!(
            "source.package: `{package}` is not an npm package name"
        )));
    }
    let registry = registry
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or(DEFAULT_REGISTRY)
        .trim_end_matches('/');
    if !is_http_url(registry) {
        return Err(invalid(format!(
            "source.registry: `{}` is not an http(s) URL",
            shown_url(registry)
        )));
    }
    let wanted = wanted.map(str::trim).filter(|w| !w.is_empty());
    let spec = format!("{package}@{}", wanted.unwrap_or("latest"));
    let shown_registry = shown_url(registry);
    let registry_error = |message: String| Error::NpmRegistry {
        spec: spec.clone(),
        registry: shown_registry.clone(),
        message,
    };

    // 1. The package's metadata.
    let url = format!("{registry}/{}", package.replace('/', "%2f"));
    reporter.status(&format!("Resolving `{spec}` from `{shown_registry}`"));
    let packument = crate::http::get_json(&url, ACCEPT, MAX_PACKUMENT_BYTES).map_err(|error| {
        registry_error(match error {
            crate::http::DownloadError::Status { status: 404 } => {
                format!("HTTP 404: the registry has no package `{package}`")
            }
            crate::http::DownloadError::TooLarge => format!(
                "its metadata is larger than {} MiB",
                MAX_PACKUMENT_BYTES >> 20
            ),
            other => other.to_string(),
        })
    })?;

    // 2. The version.
    let Some(version) = select_version(&packument, wanted) else {
        return Err(Error::NpmVersionNotFound {
            package: package.to_string(),
            wanted: wanted.unwrap_or("latest").to_string(),
            registry: shown_registry,
            available: published_versions(&packument),
        });
    };
    let spec = format!("{package}@{version}");
    let dist = &packument["versions"][&version]["dist"];
    let tarball = dist["tarball"].as_str().unwrap_or_default();
    if !is_http_url(tarball) {
        return Err(registry_error(format!(
            "version {version} has no http(s) `dist.tarball`"
        )));
    }
    let expected = Expected::from_dist(dist).map_err(|reason| Error::NpmIntegrity {
        spec: spec.clone(),
        reason,
    })?;
    if expected.is_weak() {
        reporter.warn(&format!(
            "the registry lists only a SHA-1 checksum for `{spec}`; it is checked, but SHA-1 is weak"
        ));
    }

    // 3. The tarball, inside the plugin's cache directory.
    let created = CreatedDirs::create(plugin_cache)?;
    let temp = tempfile::Builder::new()
        .prefix(".npm-")
        .tempdir_in(plugin_cache)?;
    let archive = temp.path().join("package.tgz");
    reporter.status(&format!("Downloading `{}`", shown_url(tarball)));
    {
        let mut file = fs_err::File::create(&archive)?;
        crate::http::download_to(tarball, &mut file, MAX_TARBALL_BYTES).map_err(|error| {
            Error::NpmDownload {
                spec: spec.clone(),
                url: shown_url(tarball),
                message: match error {
                    crate::http::DownloadError::TooLarge => {
                        format!("it is larger than {} MiB", MAX_TARBALL_BYTES >> 20)
                    }
                    other => other.to_string(),
                },
            }
        })?;
        file.sync_all()?;
    }
    expected
        .verify(&archive)?
        .map_err(|reason| Error::NpmIntegrity {
            spec: spec.clone(),
            reason,
        })?;

    // 4. Its files.
    let package_dir = temp.path().join("package");
    fs_err::create_dir(&package_dir)?;
    match unpack(&archive, &package_dir) {
        Ok(()) => {}
        Err(Unpack::Refused(reason)) => return Err(Error::NpmUnsafeArchive { spec, reason }),
        Err(Unpack::Io(error)) => return Err(error.into()),
    }
    fs_err::remove_file(&archive)?;
    Ok(Fetched {
        plugin_dir: package_dir.clone(),
        boundary: package_dir,
        commit: None,
        package_version: Some(version),
        temporary: Temporary::Dir {
            _temp: temp,
            _created: created,
        },
    })
}

/// Whether `name` is an npm package name: `name` or `@scope/name`, each part made of
/// URL-safe characters and not starting with `.` or `_`.
pub fn is_valid_package_name(name: &str) -> bool {
    let part = |p: &str| {
        !p.is_empty()
            && p.len() <= 214
            && !p.starts_with(['.', '_'])
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
    };
    match name.strip_prefix('@') {
        Some(scoped) => scoped
            .split_once('/')
            .is_some_and(|(scope, bare)| part(scope) && part(bare)),
        None => part(name),
    }
}

fn is_http_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")) && url.len() > "http://".len()
}

/// `url` with any password replaced, for messages.
fn shown_url(url: &str) -> String {
    pm_core::source::redact_credentials(url).unwrap_or_else(|| url.to_string())
}

/// Every published version, oldest first (semver order; unparsable ones left out).
fn published_versions(packument: &Value) -> Vec<String> {
    let mut versions: Vec<semver::Version> = packument["versions"]
        .as_object()
        .map(|versions| {
            versions
                .keys()
                .filter_map(|v| semver::Version::parse(v).ok())
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.iter().map(ToString::to_string).collect()
}

/// The version `wanted` names in `packument` (see the module documentation).
pub fn select_version(packument: &Value, wanted: Option<&str>) -> Option<String> {
    let versions = packument.get("versions")?.as_object()?;
    let tag = |name: &str| {
        packument
            .get("dist-tags")
            .and_then(|tags| tags.get(name))
            .and_then(Value::as_str)
            .filter(|version| versions.contains_key(*version))
            .map(str::to_string)
    };
    let Some(wanted) = wanted.map(str::trim).filter(|w| !w.is_empty()) else {
        return tag("latest");
    };
    if versions.contains_key(wanted) {
        return Some(wanted.to_string());
    }
    if let Some(version) = tag(wanted) {
        return Some(version);
    }
    let range = NpmRange::parse(wanted)?;
    versions
        .keys()
        .filter_map(|key| semver::Version::parse(key).ok().map(|v| (v, key)))
        .filter(|(version, _)| range.matches(version))
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, key)| key.clone())
}

/// An npm version range, as alternatives (`||`) of `semver` requirements.
#[derive(Debug)]
pub struct NpmRange(Vec<semver::VersionReq>);

impl NpmRange {
    /// Translates npm's range syntax into `semver` requirements: a bare full version is exact
    /// (`1.2.3` → `=1.2.3`), a bare partial one a wildcard (`1.2` → `1.2.*`), comparators are
    /// separated by spaces (`>=1 <2`), `a - b` is inclusive, `x` is `*`. `None` when a part
    /// cannot be read.
    pub fn parse(text: &str) -> Option<Self> {
        text.split("||")
            .map(|alternative| {
                let requirement = translate_alternative(alternative.trim())?;
                semver::VersionReq::parse(&requirement).ok()
            })
            .collect::<Option<Vec<_>>>()
            .map(Self)
    }

    /// Whether `version` satisfies one of the alternatives.
    pub fn matches(&self, version: &semver::Version) -> bool {
        self.0
            .iter()
            .any(|requirement| requirement.matches(version))
    }
}

fn translate_alternative(text: &str) -> Option<String> {
    if text.is_empty() || matches!(text, "*" | "x" | "X") {
        return Some("*".to_string());
    }
    if let Some((low, high)) = text.split_once(" - ") {
        let low = version_parts(low.trim())?;
        let high = version_parts(high.trim())?;
        let mut low_full = low.clone();
        low_full.resize(3, "0".to_string());
        let upper = match high.len() {
            3 => format!("<={}", high.join(".")),
            _ => {
                // `1 - 2.3` accepts every 2.3.x: below 2.4.0.
                let mut bumped: Vec<u64> =
                    high.iter().map(|p| p.parse().ok()).collect::<Option<_>>()?;
                *bumped.last_mut()? += 1;
                bumped.resize(3, 0);
                format!("<{}.{}.{}", bumped[0], bumped[1], bumped[2])
            }
        };
        return Some(format!(">={}, {upper}", low_full.join(".")));
    }
    // Operators written apart from their version (`>= 1.2`) are joined to it.
    let mut comparators: Vec<String> = Vec::new();
    let mut pending = String::new();
    for token in text.split_whitespace() {
        if token
            .chars()
            .all(|c| matches!(c, '<' | '>' | '=' | '~' | '^'))
        {
            pending.push_str(token);
            continue;
        }
        comparators.push(translate_comparator(&format!("{pending}{token}"))?);
        pending.clear();
    }
    if !pending.is_empty() || comparators.is_empty() {
        return None;
    }
    Some(comparators.join(", "))
}

/// One comparator: operator, then a version with up to three parts (`x`/`*` wildcards).
fn translate_comparator(token: &str) -> Option<String> {
    let split = token
        .find(|c: char| !matches!(c, '<' | '>' | '=' | '~' | '^'))
        .unwrap_or(token.len());
    let (operator, version) = token.split_at(split);
    let version = version.strip_prefix(['v', 'V']).unwrap_or(version);
    let (core, rest) = match version.find(['-', '+']) {
        Some(at) => version.split_at(at),
        None => (version, ""),
    };
    let parts = version_parts(core)?;
    let operator = if operator == "~>" { "~" } else { operator };
    if operator.is_empty() || operator == "=" {
        return Some(if parts.len() == 3 {
            format!("={}{rest}", parts.join("."))
        } else {
            format!("{}.*", parts.join("."))
        });
    }
    if !matches!(operator, "<" | "<=" | ">" | ">=" | "~" | "^") {
        return None;
    }
    if parts.is_empty() {
        // `>=*`, `^x`: anything.
        return Some("*".to_string());
    }
    Some(format!("{operator}{}{rest}", parts.join(".")))
}

/// The numeric parts of `1.2.3` / `1.2` / `1.x` (wildcards end the list); `None` when not a
/// version.
fn version_parts(core: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    for part in core.split('.') {
        if matches!(part, "x" | "X" | "*") {
            break;
        }
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) || parts.len() == 3 {
            return None;
        }
        parts.push(part.to_string());
    }
    Some(parts)
}

// ---- integrity -------------------------------------------------------------------------------

/// The checksum a tarball must have.
#[derive(Debug)]
enum Expected {
    /// SRI digests of the strongest algorithm listed (any one matching is enough, as in npm).
    Sha512(Vec<Vec<u8>>),
    Sha384(Vec<Vec<u8>>),
    Sha256(Vec<Vec<u8>>),
    /// SHA-1 only (`shasum`, or a `sha1-` SRI entry).
    Sha1(Vec<Vec<u8>>),
}

impl Expected {
    /// From a version's `dist`: `integrity` (space-separated `alg-base64` entries), else
    /// `shasum` (hex SHA-1).
    fn from_dist(dist: &Value) -> std::result::Result<Self, String> {
        use base64::Engine as _;
        let mut by_algorithm: [Vec<Vec<u8>>; 4] = Default::default();
        if let Some(integrity) = dist["integrity"].as_str() {
            for item in integrity.split_whitespace() {
                let item = item.split('?').next().unwrap_or(item);
                let Some((algorithm, digest)) = item.split_once('-') else {
                    continue;
                };
                let slot = match algorithm.to_ascii_lowercase().as_str() {
                    "sha512" => 0,
                    "sha384" => 1,
                    "sha256" => 2,
                    "sha1" => 3,
                    _ => continue,
                };
                let digest = base64::engine::general_purpose::STANDARD
                    .decode(digest)
                    .map_err(|_| format!("`dist.integrity` entry `{item}` is not base64"))?;
                by_algorithm[slot].push(digest);
            }
        }
        if let Some(shasum) = dist["shasum"].as_str()
            && let Some(digest) = decode_hex(shasum.trim())
        {
            by_algorithm[3].push(digest);
        }
        let [sha512, sha384, sha256, sha1] = by_algorithm;
        if !sha512.is_empty() {
            Ok(Self::Sha512(sha512))
        } else if !sha384.is_empty() {
            Ok(Self::Sha384(sha384))
        } else if !sha256.is_empty() {
            Ok(Self::Sha256(sha256))
        } else if !sha1.is_empty() {
            Ok(Self::Sha1(sha1))
        } else {
            Err("the registry lists no checksum (`dist.integrity` or `dist.shasum`) for it".into())
        }
    }

    fn is_weak(&self) -> bool {
        matches!(self, Self::Sha1(_))
    }

    /// Hashes `file`; `Ok(Err(reason))` when it does not match.
    fn verify(&self, file: &Path) -> io::Result<std::result::Result<(), String>> {
        fn digest<D: sha2::Digest>(file: &Path) -> io::Result<Vec<u8>> {
            let mut hasher = D::new();
            let mut reader = fs_err::File::open(file)?;
            let mut buffer = vec![0_u8; 64 * 1024];
            loop {
                let read = reader.read(&mut buffer)?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
            }
            Ok(hasher.finalize().to_vec())
        }
        let (name, expected, actual) = match self {
            Self::Sha512(expected) => ("sha512", expected, digest::<sha2::Sha512>(file)?),
            Self::Sha384(expected) => ("sha384", expected, digest::<sha2::Sha384>(file)?),
            Self::Sha256(expected) => ("sha256", expected, digest::<sha2::Sha256>(file)?),
            Self::Sha1(expected) => ("sha1", expected, digest::<sha1::Sha1>(file)?),
        };
        if expected.contains(&actual) {
            Ok(Ok(()))
        } else {
            use base64::Engine as _;
            Ok(Err(format!(
                "its {name} is `{}`, the registry lists `{}`",
                base64::engine::general_purpose::STANDARD.encode(&actual),
                expected
                    .iter()
                    .map(|d| base64::engine::general_purpose::STANDARD.encode(d))
                    .collect::<Vec<_>>()
                    .join(" ")
            )))
        }
    }
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.is_empty() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

// ---- unpacking -------------------------------------------------------------------------------

/// Why [`unpack`] stopped.
#[derive(Debug)]
pub enum Unpack {
    /// The archive holds something pm does not unpack (the reason says what and where).
    Refused(String),
    /// Writing failed.
    Io(io::Error),
}

impl From<io::Error> for Unpack {
    fn from(error: io::Error) -> Self {
        Unpack::Io(error)
    }
}

/// A reader that fails once more than `remaining` bytes were read through it.
struct Capped<R> {
    inner: R,
    remaining: u64,
}

/// The error [`Capped`] fails with.
const CAP_MESSAGE: &str = "pm-npm-decompressed-size-cap";

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.remaining = self
            .remaining
            .checked_sub(read as u64)
            .ok_or_else(|| io::Error::other(CAP_MESSAGE))?;
        Ok(read)
    }
}

/// Unpacks the gzip-compressed tar `archive` into `destination` (an existing empty directory),
/// without the first path component of each entry, refusing anything unsafe (see the module
/// documentation). On error, `destination` holds a partial result the caller discards.
pub fn unpack(archive: &Path, destination: &Path) -> std::result::Result<(), Unpack> {
    unpack_tgz(archive, destination, true)
}

/// [`unpack`], keeping every path component unless `strip_first` (an `archive` source's
/// `.tar.gz` keeps them: see `crate::archive`).
pub(crate) fn unpack_tgz(
    archive: &Path,
    destination: &Path,
    strip_first: bool,
) -> std::result::Result<(), Unpack> {
    let file = fs_err::File::open(archive)?;
    let decoder = flate2::read::GzDecoder::new(io::BufReader::new(file));
    let capped = Capped {
        inner: decoder,
        remaining: MAX_DECOMPRESSED_BYTES,
    };
    let mut tar = tar::Archive::new(capped);
    let broken = |error: io::Error| {
        if error.to_string().contains(CAP_MESSAGE) {
            Unpack::Refused(format!(
                "it decompresses to more than {} MiB",
                MAX_DECOMPRESSED_BYTES >> 20
            ))
        } else {
            Unpack::Refused(format!("it is not a valid .tgz archive: {error}"))
        }
    };
    let mut unpacker = Unpacker::new(destination);
    unpacker.strip_first = strip_first;
    let mut count: u64 = 0;
    for entry in tar.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        count += 1;
        if count > MAX_ENTRIES {
            return Err(Unpack::Refused(format!(
                "it has more than {MAX_ENTRIES} entries"
            )));
        }
        let raw = entry.path().map_err(broken)?.into_owned();
        let shown = raw.display().to_string();
        let Some(relative) = entry_path(&raw, strip_first)
            .map_err(|why| Unpack::Refused(format!("entry `{shown}` {why}")))?
        else {
            continue;
        };
        let kind = entry.header().entry_type();
        let mode = entry.header().mode().unwrap_or(0o644);
        use tar::EntryType;
        match kind {
            EntryType::Regular | EntryType::Continuous => {
                unpacker.file(&relative, &shown, &mut entry, mode, &broken)?;
            }
            EntryType::Directory => {
                unpacker.directory(&relative, &shown)?;
            }
            EntryType::Symlink => {
                let target = entry
                    .link_name()
                    .map_err(broken)?
                    .ok_or_else(|| Unpack::Refused(format!("link `{shown}` has no target")))?
                    .into_owned();
                unpacker.symlink(&relative, &shown, &target)?;
            }
            EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(broken)?
                    .ok_or_else(|| Unpack::Refused(format!("link `{shown}` has no target")))?
                    .into_owned();
                unpacker.hard_link(&relative, &shown, &target)?;
            }
            EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink => {}
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                return Err(Unpack::Refused(format!(
                    "entry `{shown}` is a device or FIFO"
                )));
            }
            other => {
                return Err(Unpack::Refused(format!(
                    "entry `{shown}` has an unsupported type ({other:?})"
                )));
            }
        }
    }
    unpacker.check_links()
}

/// An entry's path without its first component (`package/`); `Ok(None)` for the first
/// component itself. Absolute paths and `..` are refused.
#[cfg(test)]
fn strip_first_component(path: &Path) -> std::result::Result<Option<PathBuf>, &'static str> {
    entry_path(path, true)
}

/// An entry's path relative to the unpack root, without its first component when
/// `strip_first`; `Ok(None)` for an entry that is the root itself. Absolute paths and `..` are
/// refused.
pub(crate) fn entry_path(
    path: &Path,
    strip_first: bool,
) -> std::result::Result<Option<PathBuf>, &'static str> {
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => return Err("is an absolute path"),
            Component::ParentDir => return Err("has a `..` component"),
            Component::CurDir => {}
            Component::Normal(part) => parts.push(part),
        }
    }
    let skip = usize::from(strip_first);
    if parts.len() <= skip {
        return Ok(None);
    }
    Ok(Some(parts[skip..].iter().collect()))
}

/// The state of one unpacking: files are written only below real directories it created,
/// links may not leave the root, and the total size is capped ([`MAX_UNPACKED_BYTES`]).
/// Shared by npm tarballs and `archive` sources.
pub(crate) struct Unpacker<'a> {
    root: &'a Path,
    /// File bytes written so far.
    bytes: u64,
    /// Symbolic links created, checked again at the end.
    links: Vec<PathBuf>,
    /// Whether entry paths (and hard link targets) lose their first component.
    strip_first: bool,
}

impl<'a> Unpacker<'a> {
    /// An unpacker writing below `root` (an existing directory).
    pub(crate) fn new(root: &'a Path) -> Self {
        Unpacker {
            root,
            bytes: 0,
            links: Vec::new(),
            strip_first: true,
        }
    }
}

impl Unpacker<'_> {
    /// Creates the directories leading to `relative` (not `relative` itself), each a real
    /// directory: a link or file in the way is refused, so nothing is written through a link.
    fn parent_of(&self, relative: &Path, shown: &str) -> std::result::Result<PathBuf, Unpack> {
        let mut dir = self.root.to_path_buf();
        let parents: Vec<_> = relative
            .parent()
            .map(|p| p.components().collect())
            .unwrap_or_default();
        for component in parents {
            dir.push(component);
            match fs_err::symlink_metadata(&dir) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(Unpack::Refused(format!(
                        "entry `{shown}` would be written through a link or file"
                    )));
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => {
                    fs_err::create_dir(&dir)?;
                }
                Err(error) => return Err(error.into()),
            }
        }
        Ok(dir)
    }

    /// Makes room for a new entry at `path`: removes an earlier file or link of the same name
    /// (a later tar entry replaces an earlier one); a directory there is refused.
    fn replace(path: &Path, shown: &str) -> std::result::Result<(), Unpack> {
        match fs_err::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() => Err(Unpack::Refused(format!(
                "entry `{shown}` replaces a directory"
            ))),
            Ok(_) => Ok(fs_err::remove_file(path)?),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(error) => Err(error.into()),
        }
    }

    fn add_bytes(&mut self, bytes: u64) -> std::result::Result<(), Unpack> {
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > MAX_UNPACKED_BYTES {
            return Err(Unpack::Refused(format!(
                "its files are larger than {} MiB in all",
                MAX_UNPACKED_BYTES >> 20
            )));
        }
        Ok(())
    }

    pub(crate) fn file(
        &mut self,
        relative: &Path,
        shown: &str,
        data: &mut dyn Read,
        mode: u32,
        broken: &dyn Fn(io::Error) -> Unpack,
    ) -> std::result::Result<(), Unpack> {
        let parent = self.parent_of(relative, shown)?;
        let path = parent.join(relative.file_name().unwrap_or_default());
        Self::replace(&path, shown)?;
        let mut file = create_new_file(&path, mode)?;
        let mut buffer = vec![0_u8; 64 * 1024];
        loop {
            let read = data.read(&mut buffer).map_err(broken)?;
            if read == 0 {
                break;
            }
            self.add_bytes(read as u64)?;
            io::Write::write_all(&mut file, &buffer[..read])?;
        }
        Ok(())
    }

    pub(crate) fn directory(
        &mut self,
        relative: &Path,
        shown: &str,
    ) -> std::result::Result<(), Unpack> {
        self.parent_of(&relative.join("x"), shown).map(|_| ())
    }

    pub(crate) fn symlink(
        &mut self,
        relative: &Path,
        shown: &str,
        target: &Path,
    ) -> std::result::Result<(), Unpack> {
        let refuse =
            |why: &str| Unpack::Refused(format!("link `{shown}` -> `{}` {why}", target.display()));
        // Lexically, from the link's directory: never above the package root.
        let mut depth: usize = relative.components().count().saturating_sub(1);
        for component in target.components() {
            match component {
                Component::Prefix(_) | Component::RootDir => {
                    return Err(refuse("is absolute"));
                }
                Component::ParentDir => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| refuse("points outside the package"))?;
                }
                Component::CurDir => {}
                Component::Normal(_) => depth += 1,
            }
        }
        let parent = self.parent_of(relative, shown)?;
        let path = parent.join(relative.file_name().unwrap_or_default());
        Self::replace(&path, shown)?;
        create_symlink(target, &path).map_err(|error| match error.kind() {
            io::ErrorKind::Unsupported => refuse("cannot be created on this system"),
            _ => Unpack::Io(error),
        })?;
        self.links.push(path);
        Ok(())
    }

    /// A hard link to an earlier entry becomes a copy of that (regular) file.
    fn hard_link(
        &mut self,
        relative: &Path,
        shown: &str,
        target: &Path,
    ) -> std::result::Result<(), Unpack> {
        let refuse = |why: &str| {
            Unpack::Refused(format!(
                "hard link `{shown}` -> `{}` {why}",
                target.display()
            ))
        };
        let target_relative = entry_path(target, self.strip_first)
            .map_err(refuse)?
            .ok_or_else(|| refuse("points outside the package"))?;
        // Every step to the target must be a real directory, the target a regular file.
        let mut source = self.root.to_path_buf();
        let steps: Vec<_> = target_relative.components().collect();
        for (index, component) in steps.iter().enumerate() {
            source.push(component);
            let meta = fs_err::symlink_metadata(&source)
                .map_err(|_| refuse("points to no earlier file of the package"))?;
            let last = index + 1 == steps.len();
            if (last && !meta.is_file()) || (!last && !meta.is_dir()) {
                return Err(refuse("does not point to a regular file of the package"));
            }
        }
        let len = fs_err::metadata(&source)?.len();
        self.add_bytes(len)?;
        let parent = self.parent_of(relative, shown)?;
        let path = parent.join(relative.file_name().unwrap_or_default());
        if path == source {
            return Ok(());
        }
        Self::replace(&path, shown)?;
        let mode = file_mode(&fs_err::metadata(&source)?);
        let mut from = fs_err::File::open(&source)?;
        let mut to = create_new_file(&path, mode)?;
        io::copy(&mut from, &mut to)?;
        Ok(())
    }

    /// Every link that resolves must resolve inside the package (a chain of links, each
    /// lexically inside, can still lead out).
    pub(crate) fn check_links(&self) -> std::result::Result<(), Unpack> {
        let root = fs_err::canonicalize(self.root)?;
        for link in &self.links {
            if let Ok(resolved) = std::fs::canonicalize(link)
                && !resolved.starts_with(&root)
            {
                let shown = link.strip_prefix(self.root).unwrap_or(link);
                return Err(Unpack::Refused(format!(
                    "link `{}` resolves outside the package",
                    shown.display()
                )));
            }
        }
        Ok(())
    }
}

/// npm's file modes: `0755` when the archive marks the file executable, else `0644`.
#[cfg(unix)]
fn create_new_file(path: &Path, mode: u32) -> io::Result<fs_err::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))?;
    Ok(fs_err::File::from_parts(file, path))
}

#[cfg(not(unix))]
fn create_new_file(path: &Path, _mode: u32) -> io::Result<fs_err::File> {
    fs_err::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    meta.permissions().mode()
}

#[cfg(not(unix))]
fn file_mode(_meta: &std::fs::Metadata) -> u32 {
    0o644
}

#[cfg(unix)]
fn create_symlink(target: &Path, link: &Path) -> io::Result<()> {
    fs_err::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn create_symlink(_target: &Path, _link: &Path) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "symbolic links are not unpacked on this platform",
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use serde_json::json;

    fn packument() -> Value {
        json!({
            "name": "p",
            "dist-tags": {"latest": "1.2.0", "next": "2.0.0-beta.1"},
            "versions": {
                "0.9.0": {}, "1.0.0": {}, "1.1.5": {}, "1.2.0": {}, "1.3.0": {},
                "2.0.0-beta.1": {}, "2.1.0": {}
            }
        })
    }

    #[track_caller]
    fn pick(wanted: Option<&str>) -> Option<String> {
        select_version(&packument(), wanted)
    }

    #[test]
    fn versions_are_picked_as_npm_picks_them() {
        assert_eq!(pick(None).as_deref(), Some("1.2.0"));
        assert_eq!(pick(Some("1.1.5")).as_deref(), Some("1.1.5"));
        assert_eq!(pick(Some("next")).as_deref(), Some("2.0.0-beta.1"));
        assert_eq!(pick(Some("^1.0.0")).as_deref(), Some("1.3.0"));
        assert_eq!(pick(Some("~1.1.0")).as_deref(), Some("1.1.5"));
        assert_eq!(pick(Some("1.1")).as_deref(), Some("1.1.5"));
        assert_eq!(pick(Some("1.x")).as_deref(), Some("1.3.0"));
        assert_eq!(pick(Some(">=1.0.0 <1.2.0")).as_deref(), Some("1.1.5"));
        assert_eq!(pick(Some(">= 1.0.0 < 1.2.0")).as_deref(), Some("1.1.5"));
        assert_eq!(pick(Some("1.0.0 - 1.2")).as_deref(), Some("1.2.0"));
        assert_eq!(pick(Some("^0.9 || ^2")).as_deref(), Some("2.1.0"));
        assert_eq!(pick(Some("*")).as_deref(), Some("2.1.0"));
        assert_eq!(pick(Some("=v1.0.0")).as_deref(), Some("1.0.0"));
        // An exact version that was never published matches nothing (not `^1.0.1`).
        assert_eq!(pick(Some("1.0.1")), None);
        assert_eq!(pick(Some("^3")), None);
        assert_eq!(pick(Some("not a range")), None);
    }

    #[test]
    fn package_names() {
        for good in ["p", "@acme/claude-plugin-x", "a.b_c~d", "Legacy"] {
            assert!(is_valid_package_name(good), "{good}");
        }
        for bad in [
            "", "@acme", "@acme/", "a/b", "../x", ".x", "_x", "a b", "@a/b/c", "a%2fb",
        ] {
            assert!(!is_valid_package_name(bad), "{bad}");
        }
    }

    #[test]
    fn checksums_prefer_the_strongest() {
        let dist = json!({"integrity": "sha1-AAAA sha512-AAAA", "shasum": "00ff"});
        assert!(matches!(
            Expected::from_dist(&dist),
            Ok(Expected::Sha512(_))
        ));
        let dist = json!({"shasum": "00ff"});
        assert!(Expected::from_dist(&dist).unwrap().is_weak());
        assert!(Expected::from_dist(&json!({})).is_err());
    }

    #[test]
    fn entry_paths_lose_their_first_component() {
        assert_eq!(
            strip_first_component(Path::new("package/a/b.txt")),
            Ok(Some(PathBuf::from("a/b.txt")))
        );
        assert_eq!(strip_first_component(Path::new("package/")), Ok(None));
        assert!(strip_first_component(Path::new("/etc/passwd")).is_err());
        assert!(strip_first_component(Path::new("package/../evil")).is_err());
    }
}
