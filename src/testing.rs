//! Shared helpers for the unit tests: the property tests' settings, and hostile trees (FIFOs,
//! links to `/dev/zero`) for the readers in `read` and the families in `collect` alike (both
//! may import this module; `read` may not import `collect`).

use proptest::prelude::ProptestConfig;
use std::path::{Path, PathBuf};

/// `n` generated cases per property, and no regression files written into the source tree:
/// the properties are cheap enough to run in full on every `cargo test`.
pub fn cases(n: u32) -> ProptestConfig {
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// What a hostile tree puts where a file should be.
#[derive(Debug, Clone, Copy)]
pub enum Planted {
    /// A FIFO no one writes to: opening it for reading blocks, unless non-blocking.
    Fifo,
    /// A symbolic link to `/dev/zero`: endless bytes, none of them a newline.
    DevZero,
}

/// Puts `planted` at `path`, making its parent directories.
pub fn plant(path: &Path, planted: Planted) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    match planted {
        Planted::Fifo => {
            use std::os::unix::ffi::OsStrExt;
            let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
            // SAFETY: mkfifo on a NUL-terminated path in our own tree.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }
        Planted::DevZero => std::os::unix::fs::symlink("/dev/zero", path).unwrap(),
    }
}

/// A fresh tree in the temporary directory (named by `name`, `planted` and the process, so
/// tests running at once keep apart), with `planted` at each of `paths` (relative to it:
/// `proc/net/arp`); its directory, which the caller removes.
pub fn planted_tree(name: &str, planted: Planted, paths: &[&str]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "psmonitor-{name}-{planted:?}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for rel in paths {
        plant(&dir.join(rel), planted);
    }
    dir
}
