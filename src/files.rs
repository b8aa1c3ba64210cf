//! Bounded reads of the operator's files (the token, the web config, certificates and keys),
//! at start and on every SIGHUP.
//!
//! The signal thread reads them, so a read must never block or grow without bound: a token
//! file replaced by a FIFO hung that thread (SIGTERM then no longer stopped the server), and
//! one replaced by a link to `/dev/zero` grew memory by hundreds of MB a second. So a file is
//! opened non-blocking, must be a regular file (checked on the opened descriptor, so a swap
//! after the check cannot slip by), and is read up to a cap.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// Largest token file read.
pub const TOKEN_CAP: usize = 4096;
/// Largest web config, certificate chain or key file read.
pub const CONFIG_CAP: usize = 1024 * 1024;

/// The bytes of the regular file at `path`, at most `cap` of them. Errors are one line for the
/// operator, naming the file as `what` (`the token file`) and its path.
pub fn read_regular(path: &Path, cap: usize, what: &str) -> Result<Vec<u8>, String> {
    let fail = |why: String| format!("cannot read {what} '{}': {why}", path.display());
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| fail(e.to_string()))?;
    let meta = file.metadata().map_err(|e| fail(e.to_string()))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let is = if kind.is_dir() {
            "a directory"
        } else if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() || kind.is_block_device() {
            "a device"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(fail(format!("it is {is}, not a regular file")));
    }
    if meta.len() > cap as u64 {
        return Err(fail(format!("larger than {cap} bytes")));
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    file.take(cap as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(|e| fail(e.to_string()))?;
    if buf.len() > cap {
        return Err(fail(format!("larger than {cap} bytes")));
    }
    Ok(buf)
}

/// [`read_regular`] as UTF-8 text.
pub fn read_text(path: &Path, cap: usize, what: &str) -> Result<String, String> {
    String::from_utf8(read_regular(path, cap, what)?).map_err(|_| {
        format!(
            "cannot read {what} '{}': it is not UTF-8 text",
            path.display()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{plant, Planted};

    #[test]
    fn only_small_regular_files_are_read() {
        let dir = std::env::temp_dir().join(format!("psm-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let small = dir.join("small");
        std::fs::write(&small, "abc\n").unwrap();
        assert_eq!(read_text(&small, 10, "x").unwrap(), "abc\n");
        let err = read_text(&small, 3, "the token file").unwrap_err();
        assert!(
            err.contains("larger than 3 bytes") && err.contains("the token file"),
            "{err}"
        );
        let fifo = dir.join("fifo");
        plant(&fifo, Planted::Fifo);
        assert!(read_text(&fifo, 10, "x").unwrap_err().contains("a FIFO"));
        let zero = dir.join("zero");
        plant(&zero, Planted::DevZero);
        assert!(read_text(&zero, 10, "x").unwrap_err().contains("a device"));
        assert!(read_text(&dir, 10, "x")
            .unwrap_err()
            .contains("a directory"));
        assert!(read_text(&dir.join("none"), 10, "x").is_err());
        std::fs::write(&small, b"\xff").unwrap();
        assert!(read_text(&small, 10, "x").unwrap_err().contains("UTF-8"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
