//! `archive` plugin sources (`{"source": "archive", "url": "https://…/p.zip", "sha256"?}`;
//! reference-lifecycle.md §5.4, where the reference downloads the URL).
//!
//! 1. The URL (http or https) is downloaded through reqwest (`crate::http`: `HTTPS_PROXY`,
//!    `HTTP_PROXY` and `NO_PROXY` apply), at most [`MAX_ARCHIVE_BYTES`], into
//!    `cache/<marketplace>/<plugin>/.archive-*/` — never the cwd.
//! 2. With `sha256` (pm's addition: 64 hex digits), the download must have that SHA-256.
//! 3. The format is read from the first bytes, not the URL: a `.zip` (`PK\x03\x04`, or the
//!    empty archive's `PK\x05\x06`) or a gzip-compressed tar. Anything else is refused.
//! 4. It is unpacked with the rules of npm tarballs (`crate::npm::Unpacker`): an entry that is
//!    absolute or has a `..` component, a link whose target leaves the archive, a device or
//!    FIFO, more than [`crate::npm::MAX_ENTRIES`] entries or
//!    [`crate::npm::MAX_UNPACKED_BYTES`] of data fails the whole install; files are written only
//!    below real directories created here.
//! 5. The plugin's root is the archive's root, or, when the root holds nothing but one
//!    directory (as GitHub's source archives do: `repo-<sha>/…`), that directory.
//!
//! Nothing from the archive runs: no scripts, no hooks.

use crate::error::{Error, Result};
use crate::marketplaces::CreatedDirs;
use crate::npm::{MAX_ENTRIES, Unpack, Unpacker, entry_path};
use crate::reporter::Reporter;
use crate::sources::{Fetched, Temporary};
use pm_core::id::PluginId;
use pm_core::marketplace::InvalidSourceKind;
use sha2::Digest as _;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The largest archive pm downloads, in bytes.
pub const MAX_ARCHIVE_BYTES: u64 = 256 * 1024 * 1024;

/// The file type bits of a zip entry's Unix mode, and the types pm unpacks.
const UNIX_FILE_TYPE: u32 = 0o170_000;
const UNIX_REGULAR: u32 = 0o100_000;
const UNIX_DIRECTORY: u32 = 0o040_000;
const UNIX_SYMLINK: u32 = 0o120_000;

/// Downloads, checks and unpacks an `archive` source into a temporary directory inside
/// `plugin_cache`.
///
/// Errors: [`Error::EntryInvalid`] for a `url` that is not http(s) or a `sha256` that is not
/// 64 hex digits; [`Error::ArchiveDownload`] when the download fails (`error_network`);
/// [`Error::ArchiveRefused`] for a checksum mismatch, an unknown format or an unsafe entry
/// (`error_validation`).
pub(crate) fn fetch(
    id: &PluginId,
    url: &str,
    sha256: Option<&str>,
    plugin_cache: &Path,
    reporter: &dyn Reporter,
) -> Result<Fetched> {
    let invalid = |reason: String| Error::EntryInvalid {
        id: id.to_string(),
        reason,
        kind: InvalidSourceKind::Malformed,
    };
    let shown = pm_core::source::redact_credentials(url).unwrap_or_else(|| url.to_string());
    let lower = url.trim().to_ascii_lowercase();
    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
        return Err(invalid(format!(
            "source.url: `{shown}` is not an http(s) URL"
        )));
    }
    let expected = match sha256.map(str::trim) {
        None => None,
        Some(text) if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Some(text.to_ascii_lowercase())
        }
        Some(text) => {
            return Err(invalid(format!(
                "source.sha256: `{text}` is not a SHA-256 (64 hex digits)"
            )));
        }
    };
    let refused = |reason: String| Error::ArchiveRefused {
        id: id.to_string(),
        url: shown.clone(),
        reason,
    };

    let created = CreatedDirs::create(plugin_cache)?;
    let temp = tempfile::Builder::new()
        .prefix(".archive-")
        .tempdir_in(plugin_cache)?;
    let download = temp.path().join("download");
    reporter.status(&format!("Downloading `{shown}`"));
    {
        let mut file = fs_err::File::create(&download)?;
        crate::http::download_to(url, &mut file, MAX_ARCHIVE_BYTES).map_err(|error| {
            Error::ArchiveDownload {
                id: id.to_string(),
                url: shown.clone(),
                message: match error {
                    crate::http::DownloadError::TooLarge => {
                        format!("it is larger than {} MiB", MAX_ARCHIVE_BYTES >> 20)
                    }
                    other => other.to_string(),
                },
            }
        })?;
        file.sync_all()?;
    }
    if let Some(expected) = expected {
        let actual = sha256_of(&download)?;
        if actual != expected {
            return Err(refused(format!(
                "its SHA-256 is {actual}, the entry's `sha256` says {expected}"
            )));
        }
    }

    let unpacked = temp.path().join("unpacked");
    fs_err::create_dir(&unpacked)?;
    let result = match Format::of(&download)? {
        Some(Format::Zip) => unpack_zip(&download, &unpacked),
        Some(Format::TarGz) => crate::npm::unpack_tgz(&download, &unpacked, false),
        None => {
            return Err(refused(
                "it is neither a .zip nor a .tar.gz archive".to_string(),
            ));
        }
    };
    match result {
        Ok(()) => {}
        Err(Unpack::Refused(reason)) => return Err(refused(reason)),
        Err(Unpack::Io(error)) => return Err(error.into()),
    }
    fs_err::remove_file(&download)?;
    let plugin_dir = plugin_root(&unpacked)?;
    Ok(Fetched {
        plugin_dir: plugin_dir.clone(),
        boundary: plugin_dir,
        commit: None,
        package_version: None,
        temporary: Temporary::Dir {
            _temp: temp,
            _created: created,
        },
    })
}

/// An archive format pm unpacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Zip,
    TarGz,
}

impl Format {
    /// The format by the file's first bytes; `None` when it is neither.
    fn of(path: &Path) -> io::Result<Option<Format>> {
        let mut magic = [0_u8; 4];
        let mut file = fs_err::File::open(path)?;
        let mut read = 0;
        while read < magic.len() {
            let n = file.read(&mut magic[read..])?;
            if n == 0 {
                break;
            }
            read += n;
        }
        Ok(match &magic[..read] {
            [0x50, 0x4b, 0x03, 0x04] | [0x50, 0x4b, 0x05, 0x06] => Some(Format::Zip),
            [0x1f, 0x8b, ..] => Some(Format::TarGz),
            _ => None,
        })
    }
}

fn sha256_of(path: &Path) -> io::Result<String> {
    let mut file = fs_err::File::open(path)?;
    let mut hasher = sha2::Sha256::new();
    io::copy(&mut file, &mut hasher)?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect())
}

/// The unpacked root, or the one directory it holds when it holds nothing else.
fn plugin_root(unpacked: &Path) -> io::Result<PathBuf> {
    let mut entries = fs_err::read_dir(unpacked)?;
    let (Some(first), None) = (entries.next().transpose()?, entries.next()) else {
        return Ok(unpacked.to_path_buf());
    };
    // `file_type` does not follow links: a lone symbolic link is not a root.
    if first.file_type()?.is_dir() {
        Ok(first.path())
    } else {
        Ok(unpacked.to_path_buf())
    }
}

/// Unpacks the zip `archive` into `destination` with [`Unpacker`]'s rules. Symbolic links are
/// entries whose Unix mode says so; their content is the target.
fn unpack_zip(archive: &Path, destination: &Path) -> std::result::Result<(), Unpack> {
    let file = fs_err::File::open(archive)?;
    let broken =
        |error: zip::result::ZipError| Unpack::Refused(format!("it is not a valid .zip: {error}"));
    let mut zip = zip::ZipArchive::new(io::BufReader::new(file)).map_err(broken)?;
    if zip.len() as u64 > MAX_ENTRIES {
        return Err(Unpack::Refused(format!(
            "it has more than {MAX_ENTRIES} entries"
        )));
    }
    let mut unpacker = Unpacker::new(destination);
    let io_broken = |error: io::Error| Unpack::Refused(format!("it is not a valid .zip: {error}"));
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(broken)?;
        let raw: String = entry.name().map_err(broken)?.into_owned();
        let shown = raw.clone();
        if raw.contains('\\') || raw.contains('\0') {
            return Err(Unpack::Refused(format!(
                "entry `{}` has a backslash or NUL in its name",
                raw.escape_debug()
            )));
        }
        let Some(relative) = entry_path(Path::new(&raw), false)
            .map_err(|why| Unpack::Refused(format!("entry `{shown}` {why}")))?
        else {
            continue;
        };
        let mode = entry.unix_mode();
        let file_type = mode.map_or(0, |mode| mode & UNIX_FILE_TYPE);
        if ![0, UNIX_REGULAR, UNIX_DIRECTORY, UNIX_SYMLINK].contains(&file_type) {
            return Err(Unpack::Refused(format!(
                "entry `{shown}` is a device, FIFO or socket"
            )));
        }
        if file_type == UNIX_SYMLINK {
            let mut target = String::new();
            (&mut entry)
                .take(4096)
                .read_to_string(&mut target)
                .map_err(io_broken)?;
            unpacker.symlink(&relative, &shown, Path::new(&target))?;
        } else if entry.is_dir() {
            unpacker.directory(&relative, &shown)?;
        } else {
            let mode = mode.unwrap_or(0o644);
            unpacker.file(&relative, &shown, &mut entry, mode, &io_broken)?;
        }
    }
    unpacker.check_links()
}
