//! Small helpers for reading `/proc` and `/sys` files cheaply.
//!
//! `std::fs::read` calls `statx` and `lseek` to size its buffer; procfs files report size 0,
//! so that work is wasted. Reading into a reused buffer keeps it to open/read/close.

use std::borrow::Cow;
use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Largest file read whole. The biggest a real host has (`mounts` with thousands of mounts) is
/// well under it; `--path.procfs` pointing at `/dev/zero` or a huge file must not grow memory
/// without bound.
pub const READ_CAP: usize = 4 * 1024 * 1024;

/// Reads the whole file at `path` into `buf` (cleared first) and returns it as text. Only
/// regular files, opened non-blocking (a FIFO or a device below `--path.procfs` must not hang
/// or feed the sampler forever), and at most [`READ_CAP`] bytes.
///
/// During a tick the file is read once and shared (see [`super::tick`]).
pub fn read_into(path: impl AsRef<Path>, buf: &mut Vec<u8>) -> io::Result<&str> {
    if let Some(got) = super::tick::file(path.as_ref()) {
        let got = got?;
        if got.truncated {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "file too large"));
        }
        buf.clear();
        buf.extend_from_slice(&got.data);
        return std::str::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e));
    }
    read_into_direct(path, buf)
}

/// [`read_into`] without the tick's cache: for files that one reader reads once a tick and
/// that are many (the process scan's `/proc/PID/stat`), where keeping them would only cost.
pub fn read_into_direct(path: impl AsRef<Path>, buf: &mut Vec<u8>) -> io::Result<&str> {
    buf.clear();
    if buf.capacity() > READ_CAP {
        buf.shrink_to(64 * 1024);
    }
    let mut file = open_regular(path.as_ref())?;
    let mut chunk = [0u8; 4096];
    loop {
        if buf.len() > READ_CAP {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "file too large"));
        }
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    std::str::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Opens the file at `path` for reading as every reader of whole files or lines here does:
/// non-blocking (opening a FIFO planted below `--path.procfs` does not wait for a writer), and
/// only if it is a regular file (a FIFO or a device is `InvalidInput`, "not a regular file").
pub fn open_regular(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// The longest line [`for_each_line`] passes whole; the rest of a longer line is skipped.
pub const MAX_LINE: u64 = 4096;

/// At most this many bytes of one file are streamed by [`for_each_line`] (some 500 000 UDP
/// sockets' lines, an ARP table far past any `gc_thresh3`); a longer file fails the reading.
pub const STREAM_CAP: u64 = 64 << 20;

/// Calls `each` with every line of the file at `path` (without its newline), read through a
/// 64 KiB buffer so that a table of any size (`/proc/net/udp` of a busy DNS server, a large
/// L2 network's `/proc/net/arp`) costs no more memory. A line longer than [`MAX_LINE`] is cut
/// there; bytes are passed as they are (callers decide what to do with non-UTF-8).
///
/// Opened as [`read_into`] opens ([`open_regular`]), and a file longer than [`STREAM_CAP`] is
/// an error (after the lines before it were passed to `each`, which callers drop with the
/// error). Not shared through the tick: each call streams the file afresh.
pub fn for_each_line(path: &Path, each: impl FnMut(&[u8])) -> io::Result<()> {
    for_each_line_capped(path, STREAM_CAP, each)
}

/// [`for_each_line`] with at most `cap` bytes read.
pub fn for_each_line_capped(path: &Path, cap: u64, mut each: impl FnMut(&[u8])) -> io::Result<()> {
    use std::io::BufRead;
    let file = open_regular(path)?;
    // One byte past the cap tells a file of exactly `cap` bytes from a longer one.
    let mut reader = io::BufReader::with_capacity(64 * 1024, file.take(cap.saturating_add(1)));
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        let n = (&mut reader).take(MAX_LINE).read_until(b'\n', &mut line)?;
        if reader.get_ref().limit() == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("longer than {cap} bytes"),
            ));
        }
        if n == 0 {
            return Ok(());
        }
        match line.strip_suffix(b"\n") {
            Some(whole) => each(whole),
            None => {
                each(&line);
                reader.skip_until(b'\n')?;
            }
        }
    }
}

/// Reads the whole file at `path` into `buf` (cleared first) as text, with bytes that are not
/// UTF-8 shown as U+FFFD: a host may hold any bytes in a name (a mount point, a process's
/// `comm`), and one such name must not hide the rest of the file.
pub fn read_lossy(path: impl AsRef<Path>, buf: &mut Vec<u8>) -> io::Result<Cow<'_, str>> {
    lossy(buf, |buf| read_into(&path, buf))
}

/// [`read_lossy`] without the tick's cache (see [`read_into_direct`]).
pub fn read_lossy_direct(path: impl AsRef<Path>, buf: &mut Vec<u8>) -> io::Result<Cow<'_, str>> {
    lossy(buf, |buf| read_into_direct(&path, buf))
}

/// What `read` ([`read_into`] or [`read_into_direct`]) put in `buf`, as text: as it is when
/// the read said it was all UTF-8 (not checked a second time), else (not UTF-8, or cut at
/// [`READ_CAP`]) with bytes that are not UTF-8 shown as U+FFFD. Other errors are passed on.
fn lossy(
    buf: &mut Vec<u8>,
    read: impl FnOnce(&mut Vec<u8>) -> io::Result<&str>,
) -> io::Result<Cow<'_, str>> {
    let valid = match read(buf) {
        Ok(_) => true,
        Err(e) if e.kind() == io::ErrorKind::InvalidData => false,
        Err(e) => return Err(e),
    };
    if valid {
        debug_assert!(std::str::from_utf8(buf).is_ok());
        // SAFETY: `valid` means `read` (`read_into` or `read_into_direct`) returned `buf`, all
        // of it, as the `&str` that `std::str::from_utf8` made of it, and `buf` has not
        // changed since.
        Ok(Cow::Borrowed(unsafe { std::str::from_utf8_unchecked(buf) }))
    } else {
        Ok(String::from_utf8_lossy(buf))
    }
}

/// Reads a small file and returns it trimmed, or `None` if it is missing or unreadable.
pub fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    let mut buf = Vec::with_capacity(256);
    read_into(path, &mut buf).ok().map(|s| s.trim().to_owned())
}

/// The unsigned number a one-line file holds (trimmed), read into `buf`; `None` if the file is
/// missing, unreadable or not such a number.
pub fn read_u64(path: impl AsRef<Path>, buf: &mut Vec<u8>) -> Option<u64> {
    read_into(path, buf).ok()?.trim().parse().ok()
}

/// Reads the file at `path` as [`read_lossy`] does, or `None` when it is not there: a family
/// whose files the host lacks reports nothing instead of failing. Other errors name the path.
pub fn read_present(
    path: impl AsRef<Path>,
    buf: &mut Vec<u8>,
) -> Result<Option<Cow<'_, str>>, String> {
    let path = path.as_ref();
    match read_lossy(path, buf) {
        Ok(text) => Ok(Some(text)),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Whether `e` says the file is not there (no such file, or a path component that is not a
/// directory), as opposed to being there and unreadable.
pub fn is_absent(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ENOTDIR)
}

/// How much of a sysfs attribute node_exporter reads (its `sysReadFile`).
pub const ATTR_CAP: usize = 128;

/// How much of a whole small file (a `name`, a kstat table) is read at most: sysfs attributes
/// are at most a page, but a hostile tree could hold anything.
pub const FILE_CAP: usize = 1 << 20;

/// At most this many entries of one directory are looked at.
const MAX_ENTRIES: usize = 4096;

/// Reads at most `cap` bytes of the file at `path`. Opened non-blocking, so a FIFO planted
/// where an attribute should be cannot hang the sampler; reading a directory fails (`EISDIR`).
pub fn read_capped_bytes(path: &Path, cap: usize) -> io::Result<Vec<u8>> {
    if let Some(got) = super::tick::file(path) {
        let got = got?;
        if !got.truncated || cap <= got.data.len() {
            return Ok(got.data[..cap.min(got.data.len())].to_vec());
        }
    }
    let file: File = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let mut buf = Vec::with_capacity(cap.min(4096));
    file.take(cap as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// [`read_capped_bytes`] as text, with bytes that are not UTF-8 shown as U+FFFD.
pub fn read_capped(path: &Path, cap: usize) -> io::Result<String> {
    let buf = read_capped_bytes(path, cap)?;
    Ok(match String::from_utf8(buf) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

/// The number a small file holds, trimmed, reading at most `cap` bytes as [`read_capped`]
/// does; `None` if it is missing, unreadable or not such a number.
pub fn read_capped_number<T: std::str::FromStr>(path: &Path, cap: usize) -> Option<T> {
    read_capped(path, cap).ok()?.trim().parse().ok()
}

/// The names in `dir`, sorted bytewise as Go's `os.ReadDir` sorts them (at most
/// [`MAX_ENTRIES`]); empty if it cannot be listed.
pub fn sorted_entries(dir: &Path) -> Vec<OsString> {
    if let Some(got) = super::tick::dir(dir) {
        return got.map_or_else(
            |_| Vec::new(),
            |entries| {
                entries
                    .iter()
                    .take(MAX_ENTRIES)
                    .map(|e| e.name.clone())
                    .collect()
            },
        );
    }
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<OsString> = rd
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .take(MAX_ENTRIES)
        .collect();
    crate::sort::sort_by(&mut names, |a, b| a.as_bytes().cmp(b.as_bytes()));
    names
}

/// `path` with its last component's symlink followed (one `readlink`, no open): sysfs reaches
/// one file by several paths (`class/hwmon/hwmon0/device/temp` is
/// `class/thermal/thermal_zone0/temp`; `cpu1/cpufreq` is `cpufreq/policy0`), and readers that
/// walk a class or a CPU's `cpufreq` name it by its real place, so that a tick reads it once
/// ([`super::tick`] keys by path). A relative target is joined lexically (sysfs links point
/// at real directories); anything else (not a link, an absolute target, which would leave
/// `--path.sysfs`) is `path` itself.
pub fn resolved(path: &Path) -> std::path::PathBuf {
    resolved_present(path).unwrap_or_else(|| path.to_owned())
}

/// [`resolved`], or `None` when `readlink` says `path` is not there (`ENOENT`, `ENOTDIR`):
/// then nothing below it is either, and a reader need not try to open what it holds.
pub fn resolved_present(path: &Path) -> Option<std::path::PathBuf> {
    use std::path::Component;
    let target = match fs::read_link(path) {
        Ok(t) => t,
        Err(e) if is_absent(&e) => return None,
        Err(_) => return Some(path.to_owned()),
    };
    let Some(parent) = path.parent() else {
        return Some(path.to_owned());
    };
    if target.is_absolute() {
        return Some(path.to_owned());
    }
    let mut out = parent.to_path_buf();
    for c in target.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return Some(path.to_owned());
                }
            }
            Component::Normal(n) => out.push(n),
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return Some(path.to_owned()),
        }
    }
    Some(out)
}

/// The entries of `dir`, sorted by name, each with its type as `readdir` gives it (no
/// `stat`); listed once a tick (see [`super::tick`]).
pub fn entries(dir: &Path) -> io::Result<std::rc::Rc<[super::tick::Entry]>> {
    match super::tick::dir(dir) {
        Some(got) => got,
        None => super::tick::list(dir),
    }
}

/// The entries of `dir` that `filepath.Glob(dir/<prefix>[0-9]*)` matches, sorted, each with
/// what follows the prefix (node_exporter's `TrimPrefix`).
pub fn numbered_entries(dir: &Path, prefix: &str) -> Vec<(OsString, String)> {
    sorted_entries(dir)
        .into_iter()
        .filter_map(|name| {
            let rest = name.as_bytes().strip_prefix(prefix.as_bytes())?;
            let rest = rest
                .first()
                .is_some_and(u8::is_ascii_digit)
                .then(|| String::from_utf8_lossy(rest).into_owned())?;
            Some((name, rest))
        })
        .collect()
}

/// Parses an integer as Go's `strconv.ParseInt(s, 0, 64)` (node_exporter's parser for sysfs
/// and sockstat values): an optional sign, then `0x`, `0o`, `0b` or a bare leading `0`
/// (octal) choose the base. Out of `i64` range, empty or malformed gives `None`.
pub fn parse_int(s: &str) -> Option<i64> {
    let (negative, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    // The body after one sign is Go's unsigned syntax (a second sign is not a digit).
    let magnitude = parse_uint(body)?;
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Parses an unsigned integer as Go's `strconv.ParseUint(s, 0, 64)` (procfs' value parser
/// for sysfs counters, which some drivers write in hex: `0x1f`): no sign, and `0x`, `0o`,
/// `0b` or a bare leading `0` choose the base.
pub fn parse_uint(s: &str) -> Option<u64> {
    let prefixed = |p: &str, q: &str| s.strip_prefix(p).or_else(|| s.strip_prefix(q));
    let (radix, digits) = if let Some(d) = prefixed("0x", "0X") {
        (16, d)
    } else if let Some(d) = prefixed("0o", "0O") {
        (8, d)
    } else if let Some(d) = prefixed("0b", "0B") {
        (2, d)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Parses a number as Go's `strconv.ParseFloat` does for what sysfs holds (no spaces).
pub fn parse_float(s: &str) -> Option<f64> {
    s.parse().ok()
}

/// Longest name sent, in bytes (cut at a character boundary): process names (a process
/// chooses its own `argv[0]` and `comm`; one of ~100 KB made every snapshot too large for the
/// websocket stream), sensor chips and labels, containers. psutil-era clients never see
/// names this long.
pub const MAX_NAME: usize = 256;

/// `name` cut to at most [`MAX_NAME`] bytes at a character boundary.
pub fn cap_name(name: &str) -> &str {
    let mut end = name.len().min(MAX_NAME);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// `stat` of `path` (links followed): what a view asks of a host path that it does not read
/// (is it a directory, whose is it, when did it change).
pub fn metadata(path: impl AsRef<Path>) -> io::Result<fs::Metadata> {
    fs::metadata(path)
}

/// `lstat` of `path` (a link is not followed).
pub fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<fs::Metadata> {
    fs::symlink_metadata(path)
}

/// Whether `path` is a directory (links followed); `false` if it cannot be looked at.
pub fn is_dir(path: impl AsRef<Path>) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_dir())
}

/// The target of the symbolic link at `path`, as it is written.
pub fn read_link(path: impl AsRef<Path>) -> io::Result<std::path::PathBuf> {
    fs::read_link(path)
}

/// `path` with every link followed, made absolute (`realpath`).
pub fn canonicalize(path: impl AsRef<Path>) -> io::Result<std::path::PathBuf> {
    fs::canonicalize(path)
}

/// One `read(2)` of the file at `path` into `buf`, opened non-blocking (a FIFO planted where
/// a sysfs attribute should be reads as empty instead of hanging): node_exporter's
/// `SysReadFile`, which reads an attribute with one read of a fixed buffer. The bytes read.
pub fn read_once(path: &Path, buf: &mut [u8]) -> io::Result<usize> {
    let mut file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            got => return got,
        }
    }
}

/// How many entries `dir` has (not `.` and `..`), counting at most `cap`; not kept for the
/// tick (`/proc/self/fd` changes as it is read).
pub fn count_entries(dir: &Path, cap: usize) -> io::Result<usize> {
    Ok(fs::read_dir(dir)?.take(cap).count())
}

/// The names of `dir`'s entries (not `.` and `..`) in bytewise order; at most `cap` entries are
/// looked at. Not kept for the tick: for directories that are not the kernel's (the textfile
/// directories), listed once a scrape.
pub fn names(dir: &Path, cap: usize) -> io::Result<Vec<OsString>> {
    let mut names: Vec<OsString> = fs::read_dir(dir)?
        .take(cap)
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    crate::sort::sort_by(&mut names, |a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

/// The names of `dir`'s entries that `readdir` says are directories (links are not), in
/// bytewise order; at most `cap` entries are looked at. Not kept for the tick: for walks
/// (a cgroup tree) whose directories are listed once each.
pub fn subdirectories(dir: &Path, cap: usize) -> io::Result<Vec<OsString>> {
    let mut names: Vec<OsString> = fs::read_dir(dir)?
        .take(cap)
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name())
        .collect();
    crate::sort::sort_by(&mut names, |a, b| a.as_bytes().cmp(b.as_bytes()));
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{planted_tree, Planted};

    #[test]
    fn unsigned_as_go_parse_uint_base_0() {
        assert_eq!(parse_uint("0x1f"), Some(31));
        assert_eq!(parse_uint("0xffffffffffffffff"), Some(u64::MAX));
        assert_eq!(parse_uint("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_uint("010"), Some(8));
        assert_eq!(parse_uint("42"), Some(42));
        for bad in [
            "",
            "-1",
            "+1",
            "0x",
            "0x1g",
            "18446744073709551616",
            "1.5",
            " 1",
        ] {
            assert_eq!(parse_uint(bad), None, "{bad}");
        }
    }

    #[test]
    fn fifos_devices_and_huge_files_are_refused() {
        let dir = planted_tree("readcap", Planted::Fifo, &["fifo"]);
        let mut buf = Vec::new();
        assert!(
            read_into(dir.join("fifo"), &mut buf).is_err(),
            "a FIFO is not waited on"
        );
        assert!(
            read_into("/dev/zero", &mut buf).is_err(),
            "a device is not read"
        );
        let big = dir.join("big");
        std::fs::write(&big, vec![b'a'; READ_CAP + 10]).unwrap();
        assert!(read_into(&big, &mut buf).is_err(), "a huge file is refused");
        std::fs::write(&big, b"ok\n").unwrap();
        assert_eq!(read_into(&big, &mut buf).unwrap(), "ok\n");
        assert!(buf.capacity() <= READ_CAP, "the buffer shrinks back");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Valid text comes back as read (borrowed, not converted again), other bytes as U+FFFD,
    /// in and outside a tick, and a huge file's start lossily as before.
    #[test]
    fn lossy_reads_borrow_valid_text() {
        let dir = std::env::temp_dir().join(format!("psmonitor-lossy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good");
        let bad = dir.join("bad");
        std::fs::write(&good, "mnt /m\u{e9}dia\n").unwrap();
        std::fs::write(&bad, b"a\xffb\n").unwrap();
        let mut buf = Vec::new();
        for in_tick in [false, true] {
            let tick = in_tick.then(super::super::tick::Tick::begin);
            for direct in [false, true] {
                let read = if direct {
                    read_lossy_direct
                } else {
                    read_lossy
                };
                let got = read(&good, &mut buf).unwrap();
                assert!(matches!(got, Cow::Borrowed("mnt /m\u{e9}dia\n")), "{got:?}");
                let got = read(&bad, &mut buf).unwrap();
                assert!(
                    matches!(got, Cow::Owned(ref s) if s == "a\u{fffd}b\n"),
                    "{got:?}"
                );
            }
            let got = read_present(&bad, &mut buf).unwrap().unwrap();
            assert_eq!(got, "a\u{fffd}b\n");
            drop(tick);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// An attribute read once: a FIFO where it should be reads as empty (opened non-blocking,
    /// no writer) instead of hanging; `/dev/zero` fills the buffer once. Listings: only the
    /// subdirectories, in byte order, and counts within their cap.
    #[test]
    fn attributes_and_listings() {
        let dir = planted_tree("readonce", Planted::Fifo, &["fifo"]);
        std::fs::create_dir_all(dir.join("b")).unwrap();
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::write(dir.join("attr"), "up\n").unwrap();
        let mut buf = [0u8; 128];
        assert_eq!(read_once(&dir.join("attr"), &mut buf).unwrap(), 3);
        assert_eq!(read_once(&dir.join("fifo"), &mut buf).unwrap(), 0);
        assert_eq!(read_once(Path::new("/dev/zero"), &mut buf).unwrap(), 128);
        assert_eq!(subdirectories(&dir, 100).unwrap(), ["a", "b"]);
        assert_eq!(count_entries(&dir, 100).unwrap(), 4);
        assert_eq!(count_entries(&dir, 2).unwrap(), 2);
        assert!(is_dir(&dir) && !is_dir(dir.join("attr")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A path `readlink` finds absent is `None` (nothing below it to open); a directory that
    /// is no link is itself; a relative link is followed.
    #[test]
    fn resolved_present_says_absent() {
        let dir = std::env::temp_dir().join(format!("psmonitor-resolved-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("policy0")).unwrap();
        std::os::unix::fs::symlink("policy0", dir.join("cpufreq")).unwrap();
        assert_eq!(resolved_present(&dir.join("missing")), None);
        assert_eq!(resolved(&dir.join("missing")), dir.join("missing"));
        assert_eq!(
            resolved_present(&dir.join("policy0")),
            Some(dir.join("policy0"))
        );
        assert_eq!(
            resolved_present(&dir.join("cpufreq")),
            Some(dir.join("policy0"))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
