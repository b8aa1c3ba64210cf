//! The process scan's two primitives, for `collect::processes`: listing a procfs directory's
//! pids with `readdir(3)` ([`Pids`]) and reading a process's file relative to that directory
//! with `openat` ([`read_text`]), so the kernel does not walk `/proc` again per process. The
//! scan is most of a tick's cost; these keep it to open/read/close per file, bounded as
//! [`super::procfs`] bounds its readers (non-blocking, at most `READ_CAP`, regular files only).

use super::procfs::READ_CAP;

/// `read_lossy_direct`'s text, with two costs fewer per process: the text is checked as
/// UTF-8 once (that reader checks it strictly, then converts it lossily all the same, byte by
/// byte: a fifth of the scan's instructions), and the file's type is asked (`fstat`) only when
/// it did not read like a kernel file (nothing read, an error, past [`READ_CAP`]) rather than
/// before every read. So a directory, a FIFO without data or a device (`/dev/zero`) below
/// `--path.procfs` is refused as there; only a FIFO a writer fills would now be read. `rel`
/// (`1234/stat`) is opened relative to `dir`, the procfs directory being listed, so the kernel
/// does not walk `/proc` again for each process.
pub fn read_text<'a>(
    dir: std::os::fd::RawFd,
    rel: &std::ffi::CStr,
    buf: &'a mut Vec<u8>,
) -> Option<std::borrow::Cow<'a, str>> {
    use std::io::Read;
    buf.clear();
    if buf.capacity() > READ_CAP {
        buf.shrink_to(64 * 1024);
    }
    // SAFETY: `rel` is a C string, `dir` an open directory; the descriptor returned is owned
    // by `file` from here on.
    let fd = unsafe {
        libc::openat(
            dir,
            rel.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let mut file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let mut chunk = [0u8; 4096];
    let read = loop {
        if buf.len() > READ_CAP {
            break Ok(true);
        }
        match file.read(&mut chunk) {
            Ok(0) => break Ok(false),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => break Err(e),
        }
    };
    let odd = read
        .as_ref()
        .map_or(true, |&past_cap| past_cap || buf.is_empty());
    if odd && !file.metadata().ok()?.is_file() {
        return None;
    }
    // A read error is a failure; past the cap, what was read is shown (lossily), as there.
    read.ok()?;
    Some(match std::str::from_utf8(buf) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(buf),
    })
}

/// The pids listed in a procfs directory: the entries whose name is a `u32` (as
/// `str::parse` reads it), in `readdir` order. `readdir(3)` directly: `std::fs::read_dir`
/// allocates a name (twice) for each of the hundreds of entries, every scan.
pub struct Pids {
    dir: std::ptr::NonNull<libc::DIR>,
}

impl Pids {
    /// The listed directory's descriptor (for `openat`).
    pub fn fd(&self) -> std::os::fd::RawFd {
        // SAFETY: `dir` is an open stream owned by `self`.
        unsafe { libc::dirfd(self.dir.as_ptr()) }
    }

    pub fn open(path: &str) -> Option<Pids> {
        let path = std::ffi::CString::new(path).ok()?;
        // SAFETY: `path` is a valid C string; the stream is closed in `drop`.
        let dir = unsafe { libc::opendir(path.as_ptr()) };
        std::ptr::NonNull::new(dir).map(|dir| Pids { dir })
    }
}

impl Iterator for Pids {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            // SAFETY: `dir` is an open stream owned by `self`; the entry is read before the
            // next call of `readdir` on it.
            let name = unsafe {
                let entry = libc::readdir64(self.dir.as_ptr());
                if entry.is_null() {
                    return None;
                }
                std::ffi::CStr::from_ptr((*entry).d_name.as_ptr())
            };
            if let Some(pid) = name.to_str().ok().and_then(|s| s.parse::<u32>().ok()) {
                return Some(pid);
            }
        }
    }
}

impl Drop for Pids {
    fn drop(&mut self) {
        // SAFETY: `dir` was opened by `opendir` and is closed once, here.
        unsafe { libc::closedir(self.dir.as_ptr()) };
    }
}
