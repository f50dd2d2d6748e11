//! Bounded, link-refusing reads for `pm validate`.
//!
//! Validate reads files that anyone may have written: a manifest can be huge, binary, not UTF-8,
//! or a symbolic link pointing anywhere. Every read here is capped (the cap is named in the
//! finding), never follows a link, and turns every failure into a value the caller reports.

use std::io::Read;
use std::path::Path;

/// Largest `marketplace.json` / `plugin.json` read: 8 MiB (the largest real catalogue seen is
/// under 1 MiB).
pub const MANIFEST_CAP: u64 = 8 << 20;

/// Largest component file read (skills, agents, commands, hooks.json, .mcp.json, .lsp.json,
/// README): 1 MiB, the reference's cap for hooks and MCP files.
pub const COMPONENT_CAP: u64 = 1 << 20;

/// What reading one file gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileRead {
    /// The text. `lossy` is set when the bytes were not valid UTF-8 and were decoded with
    /// U+FFFD replacements; `invalid_at` is then the first bad byte's offset, line and column.
    Text {
        /// The decoded text, without a leading byte-order mark.
        text: String,
        /// Where the first invalid UTF-8 byte is, when there is one.
        invalid_at: Option<InvalidUtf8>,
        /// Whether the file started with a UTF-8 byte-order mark (dropped from `text`).
        bom: bool,
    },
    /// Nothing at this path.
    Missing,
    /// The path is a symbolic link; it was not followed.
    Link,
    /// The path is a directory.
    Directory,
    /// Not a regular file (FIFO, socket, device).
    NotAFile,
    /// Larger than the cap (bytes on disk).
    TooLarge(u64),
    /// Another I/O error, as text.
    Failed(String),
}

/// The first byte of a file that is not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUtf8 {
    /// The byte's value.
    pub byte: u8,
    /// Its 0-based offset in the file.
    pub offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

/// Reads `path` as text, at most `cap` bytes, without following a link at the last component.
pub fn read_text(path: &Path, cap: u64) -> FileRead {
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return FileRead::Missing,
        Err(error) if error.raw_os_error() == Some(20) => return FileRead::Missing, // ENOTDIR
        Err(error) => return FileRead::Failed(error.to_string()),
    };
    let kind = metadata.file_type();
    if kind.is_symlink() {
        return FileRead::Link;
    }
    if kind.is_dir() {
        return FileRead::Directory;
    }
    if !kind.is_file() {
        return FileRead::NotAFile;
    }
    if metadata.len() > cap {
        return FileRead::TooLarge(metadata.len());
    }
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => return FileRead::Failed(error.to_string()),
    };
    let mut bytes = Vec::new();
    // The file may grow between the size check and the read: read one byte past the cap.
    if let Err(error) = file.take(cap + 1).read_to_end(&mut bytes) {
        return FileRead::Failed(error.to_string());
    }
    if bytes.len() as u64 > cap {
        return FileRead::TooLarge(bytes.len() as u64);
    }
    decode(&bytes)
}

/// Decodes bytes as UTF-8 (dropping a byte-order mark), recording where the first invalid
/// byte is.
pub fn decode(bytes: &[u8]) -> FileRead {
    let (text, invalid_at) = match std::str::from_utf8(bytes) {
        Ok(text) => (text.to_owned(), None),
        Err(error) => {
            let offset = error.valid_up_to();
            let before = String::from_utf8_lossy(&bytes[..offset]);
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            let invalid = InvalidUtf8 {
                byte: bytes.get(offset).copied().unwrap_or(0),
                offset,
                line,
                column,
            };
            (String::from_utf8_lossy(bytes).into_owned(), Some(invalid))
        }
    };
    let (text, bom) = match text.strip_prefix('\u{feff}') {
        Some(rest) => (rest.to_owned(), true),
        None => (text, false),
    };
    FileRead::Text {
        text,
        invalid_at,
        bom,
    }
}

/// A size in people's units: `1 MiB`, `8 MiB`, `512 KiB`, `300 bytes`.
pub fn human_size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else if bytes >= 1 << 20 {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    } else if bytes >= 1 << 10 {
        format!("{} KiB", bytes >> 10)
    } else {
        format!("{bytes} bytes")
    }
}

/// Whether `path` exists (a link counts as existing; it is not followed).
pub fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// Whether `path` is a real directory (not a link to one).
pub fn is_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_dir())
}

/// Whether `path` is a real regular file (not a link to one).
pub fn is_file(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file())
}

/// The first component from `root` (exclusive) to `path` (inclusive) that is a symbolic link,
/// when `path` is below `root`. Components that do not exist end the walk.
pub fn first_link_below(root: &Path, path: &Path) -> Option<std::path::PathBuf> {
    let relative = path.strip_prefix(root).ok()?;
    let mut current = root.to_path_buf();
    for component in relative.components() {
        current.push(component);
        match std::fs::symlink_metadata(&current) {
            Ok(metadata) if metadata.file_type().is_symlink() => return Some(current),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_located() {
        let FileRead::Text {
            text, invalid_at, ..
        } = decode(b"{\n  \"a\": \"x\x97y\"\n}")
        else {
            panic!("text expected");
        };
        assert!(text.contains('\u{fffd}'));
        let invalid = invalid_at.expect("invalid byte found");
        assert_eq!(invalid.byte, 0x97);
        assert_eq!((invalid.line, invalid.column), (2, 10));
    }

    #[test]
    fn a_bom_is_dropped() {
        assert_eq!(
            decode("\u{feff}{}".as_bytes()),
            FileRead::Text {
                text: "{}".into(),
                invalid_at: None,
                bom: true
            }
        );
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(1 << 20), "1 MiB");
        assert_eq!(human_size(8 << 20), "8 MiB");
        assert_eq!(human_size(2048), "2 KiB");
        assert_eq!(human_size(12), "12 bytes");
    }
}
