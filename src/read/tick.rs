//! One reading per source per tick: while a [`Tick`] is open on the sampler thread, every file,
//! directory listing and `statvfs` that the readers of this module's siblings ask for is done
//! at most once, kept for the rest of the tick, and handed to every view that asks again.
//!
//! psmonitor shows a host three ways (its JSON model, the `/metrics` families, the Glances API
//! mapped from the JSON model), and the JSON side and the families read the same kernel files
//! (`/proc/stat` for the CPU model and the `cpu` and `stat` families, `/proc/meminfo`,
//! `/proc/net/dev`, `/proc/diskstats`, `/proc/loadavg`, `/proc/pressure/*`, `class/net`'s
//! attributes, the mounts' `statvfs`...). Rather than thread a readings object through every
//! reader (and every family's signature), the readers' own helpers in [`super::procfs`] and
//! [`super::statfs`] look here first: the first read of a path in a tick opens it, the others
//! get the same bytes. So no file is opened twice a tick, whatever is served, and every view
//! of a tick sees the same reading (a counter never differs between `/system` and `/metrics`).
//! A file that several views read is also parsed once a tick: [`parsed`] keeps its typed
//! reading (`super::shared`, one module per such file in `src/read/`) for the tick, so the
//! views project one parse instead of each parsing the bytes.
//!
//! Only regular files are kept (a FIFO or device planted below `--path.procfs` is read the
//! way its reader always did, uncached), and only up to [`KEEP_MAX`] (a bigger one is read
//! whole, at most [`super::procfs::READ_CAP`], and not kept); a listing keeps at most
//! [`MAX_ENTRIES`] names. Files
//! that one reader reads once anyway and that are many (the process scan's `/proc/PID/*`)
//! bypass the cache (`read_lossy_direct`), so it costs nothing there. Outside a tick (start-up,
//! tests of one reader) nothing is kept. The cache lives in a thread-local, so it is the
//! sampler thread's alone; it is emptied when the tick ends (the [`Tick`] is dropped).

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{FileType, OpenOptions};
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::rc::Rc;

/// A file as the tick read it: its first [`super::procfs::READ_CAP`] bytes and whether there
/// were more.
#[derive(Debug, Clone)]
pub struct Bytes {
    pub data: Rc<[u8]>,
    /// The file is longer than `data`.
    pub truncated: bool,
}

/// One directory entry: its name and type (from `readdir`, no `stat`).
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: OsString,
    pub file_type: Option<FileType>,
}

/// An error kept for the rest of the tick (`io::Error` cannot be cloned).
#[derive(Debug, Clone, Copy)]
struct Failure {
    kind: io::ErrorKind,
    code: Option<i32>,
}

impl Failure {
    fn of(e: &io::Error) -> Failure {
        Failure {
            kind: e.kind(),
            code: e.raw_os_error(),
        }
    }

    fn error(self) -> io::Error {
        match self.code {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(self.kind, "read failed earlier this tick"),
        }
    }
}

#[derive(Debug, Clone)]
enum File {
    Read(Bytes),
    Failed(Failure),
    /// Not a regular file: its readers read it themselves.
    Special,
}

/// Paths by their bytes, hashed eight bytes at a time ([`Words`]): `Path`'s own `Hash` walks its
/// components and SipHash guards against collisions chosen by a client, neither of which a tick
/// needs (its keys are the host's paths, looked up once or twice each). A byte at a time (FNV)
/// was a twentieth of the sampler's instructions, for some 300 lookups a tick.
type Map<V> = HashMap<Box<[u8]>, V, BuildHasherDefault<Words>>;

/// FxHash (rustc's hasher) over 8-byte words: each is mixed in with a rotate, a xor and a
/// multiply; the last, short word is padded with zeros (a path holds no NUL byte, and the
/// length is hashed first).
#[derive(Default)]
struct Words(u64);

impl Words {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl Hasher for Words {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            self.add(u64::from_le_bytes(b));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
}

/// The key of `path`.
fn key(path: &Path) -> &[u8] {
    path.as_os_str().as_bytes()
}

/// What a tick has read so far.
#[derive(Debug, Default)]
struct Kept {
    files: Map<File>,
    dirs: Map<Result<Rc<[Entry]>, Failure>>,
    statfs: Map<super::statfs::Answer>,
    /// Typed readings ([`parsed`]), by path and type.
    parsed: Map<Vec<(std::any::TypeId, Rc<dyn std::any::Any>)>>,
    stats: Stats,
}

/// What one tick read, for the debug log and the tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Files opened (each once).
    pub files: usize,
    /// Directories listed (each once).
    pub dirs: usize,
    /// `statvfs` calls (each path once).
    pub statfs: usize,
    /// Reads answered from what the tick had already read.
    pub shared: usize,
}

thread_local! {
    static KEPT: RefCell<Option<Kept>> = const { RefCell::new(None) };
    /// Where files are read before they are kept: one buffer for the thread's ticks.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// An open tick on this thread: until it is dropped (or [`Tick::end`]), each source is read at
/// most once. Ticks do not nest: opening one while another is open starts afresh.
#[derive(Debug)]
pub struct Tick(());

impl Tick {
    /// Opens a tick on this thread.
    pub fn begin() -> Tick {
        KEPT.with(|k| *k.borrow_mut() = Some(Kept::default()));
        Tick(())
    }

    /// Ends the tick, forgetting what it read, and says how much that was.
    pub fn end(self) -> Stats {
        let stats = KEPT.with(|k| k.borrow().as_ref().map(|k| k.stats).unwrap_or_default());
        drop(self);
        stats
    }
}

impl Drop for Tick {
    fn drop(&mut self) {
        KEPT.with(|k| *k.borrow_mut() = None);
    }
}

/// Runs `f` on this thread's open tick; `None` when there is none.
fn with_kept<T>(f: impl FnOnce(&mut Kept) -> T) -> Option<T> {
    KEPT.with(|k| k.try_borrow_mut().ok()?.as_mut().map(f))
}

/// This tick's reading of the file at `path`: `None` when no tick is open or the file is not
/// a regular file (the caller reads it as it would without a tick).
pub fn file(path: &Path) -> Option<io::Result<Bytes>> {
    let got = with_kept(|k| {
        if let Some(f) = k.files.get(key(path)) {
            k.stats.shared += 1;
            return f.clone();
        }
        let f = SCRATCH.with(|b| match b.try_borrow_mut() {
            Ok(mut b) => read_file(path, &mut b),
            Err(_) => read_file(path, &mut Vec::new()),
        });
        k.stats.files += 1;
        // A big file is nobody's shared source (those are small kernel tables): it is not
        // kept, so a tick never holds more than a few of them.
        if !matches!(&f, File::Read(b) if b.data.len() > KEEP_MAX) {
            k.files.insert(key(path).into(), f.clone());
        }
        f
    })?;
    match got {
        File::Read(b) => Some(Ok(b)),
        File::Failed(e) => Some(Err(e.error())),
        File::Special => None,
    }
}

/// This tick's typed reading of `path` (see `super::shared`): made by `make` the first time a
/// tick asks for it, then handed to every view that asks again; made afresh when no tick is open.
pub fn parsed<T: 'static>(path: &Path, make: impl FnOnce() -> T) -> Rc<T> {
    let id = std::any::TypeId::of::<T>();
    let kept = with_kept(|k| {
        let got = k.parsed.get(key(path))?.iter().find(|(t, _)| *t == id)?;
        Rc::clone(&got.1).downcast::<T>().ok()
    })
    .flatten();
    if let Some(got) = kept {
        return got;
    }
    // Made outside the borrow: `make` reads through this tick.
    let made = Rc::new(make());
    with_kept(|k| {
        let any: Rc<dyn std::any::Any> = made.clone();
        k.parsed
            .entry(key(path).into())
            .or_default()
            .push((id, any));
    });
    made
}

/// Files longer than this are read but not kept for the tick.
const KEEP_MAX: usize = 1 << 20;

/// How much one `read(2)` asks for. procfs regenerates a seq_file from its position on each
/// read (`/proc/net/udp` walks its socket table again), so a file is best read in one go, as
/// a bare reader with a 64 KiB buffer reads it.
const CHUNK: usize = 64 * 1024;

/// The first request for a [`small_file`]: a page.
const SMALL: usize = 4096;

/// Whether `path` is a sysctl or sysfs attribute (a `sys` directory in it: `/proc/sys/...`,
/// `/sys/...`), at most a page as a rule. For `/proc/sys` the kernel allocates and zeroes a
/// buffer of the request's size on every read(2) (`proc_sys_call_handler`), the last one that
/// finds the end included, so those are asked for a page at a time, not [`CHUNK`].
fn small_file(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str()
        .as_bytes()
        .windows(5)
        .any(|w| w == b"/sys/")
}

/// Opens and reads `path` once: non-blocking, regular files only, at most `READ_CAP` bytes,
/// [`CHUNK`] at a time (procfs files say they are empty, so a buffer grown from their size
/// would read them a few bytes at a time), through `scratch`.
fn read_file(path: &Path, scratch: &mut Vec<u8>) -> File {
    use std::os::fd::AsRawFd;
    let cap = super::procfs::READ_CAP;
    let file = match OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
    {
        Ok(f) => f,
        Err(e) => return File::Failed(Failure::of(&e)),
    };
    scratch.clear();
    if scratch.capacity() > 2 * CHUNK {
        scratch.shrink_to(CHUNK);
    }
    // What one read(2) asks for: all the buffer has, or for a sysctl-like file a page, twice
    // as much again only after a read filled its request.
    let mut want = if small_file(path) { SMALL } else { usize::MAX };
    let read = loop {
        if scratch.len() > cap {
            break Ok(true);
        }
        scratch.reserve(CHUNK);
        let spare = scratch.spare_capacity_mut();
        let ask = spare.len().min(want);
        // SAFETY: `spare` is writable memory of at least `ask` bytes owned by `scratch`, and
        // `file` an open descriptor; read(2) writes at most that many bytes.
        let n = unsafe { libc::read(file.as_raw_fd(), spare.as_mut_ptr().cast(), ask) };
        match n {
            0 => break Ok(false),
            n if n > 0 => {
                if n as usize == ask {
                    want = want.saturating_mul(2);
                }
                // SAFETY: read(2) initialised the first `n` bytes of the spare capacity.
                unsafe { scratch.set_len(scratch.len() + n as usize) }
            }
            _ => match io::Error::last_os_error() {
                e if e.kind() == io::ErrorKind::Interrupted => continue,
                e => break Err(e),
            },
        }
    };
    // Only what did not read like a kernel file (nothing, an error, no end) costs an `fstat`:
    // a directory fails as reading it does (a sensor walk meets `power/`); a FIFO or device
    // is not kept (its reader reads it as it always did, and says what it says of one).
    // A read that failed for any reason but `EAGAIN` (the mark of a FIFO or device with
    // nothing to say yet) needs no `fstat`: a directory fails with `EISDIR` as `fstat` would
    // have it, a sysfs attribute with no value (`speed` of `lo`: `EINVAL`) with its own error.
    let odd = match &read {
        Ok(t) => *t || scratch.is_empty(),
        Err(e) => e.raw_os_error() == Some(libc::EAGAIN),
    };
    if odd {
        match file.metadata() {
            Ok(m) if m.is_file() => {}
            Ok(m) if m.is_dir() => {
                return File::Failed(Failure::of(&io::Error::from_raw_os_error(libc::EISDIR)))
            }
            _ => return File::Special,
        }
    }
    let truncated = match read {
        Ok(t) => t,
        Err(e) => return File::Failed(Failure::of(&e)),
    };
    File::Read(Bytes {
        data: scratch[..scratch.len().min(cap)].into(),
        truncated,
    })
}

/// This tick's listing of the directory `path`, sorted by name: `None` when no tick is open.
pub fn dir(path: &Path) -> Option<io::Result<Rc<[Entry]>>> {
    let kept = with_kept(|k| {
        let d = k.dirs.get(key(path)).cloned();
        if d.is_some() {
            k.stats.shared += 1;
        }
        d
    })?;
    let got = kept.unwrap_or_else(|| {
        let d = list_kept(path);
        with_kept(|k| {
            k.stats.dirs += 1;
            k.dirs.insert(key(path).into(), d.clone());
        });
        d
    });
    Some(got.map_err(Failure::error))
}

/// At most this many entries of a directory are kept (a hostile tree could hold millions).
const MAX_ENTRIES: usize = 65_536;

/// Lists `path` (sorted), without the tick.
pub fn list(path: &Path) -> io::Result<Rc<[Entry]>> {
    list_kept(path).map_err(Failure::error)
}

fn list_kept(path: &Path) -> Result<Rc<[Entry]>, Failure> {
    let rd = std::fs::read_dir(path).map_err(|e| Failure::of(&e))?;
    let mut entries: Vec<Entry> = rd
        .filter_map(|e| {
            let e = e.ok()?;
            Some(Entry {
                name: e.file_name(),
                file_type: e.file_type().ok(),
            })
        })
        .take(MAX_ENTRIES)
        .collect();
    crate::sort::sort_by(&mut entries, |a, b| {
        a.name.as_bytes().cmp(b.name.as_bytes())
    });
    Ok(entries.into())
}

/// This tick's `statvfs` answer for `path`, if it has one already.
pub fn statfs_kept(path: &Path) -> Option<super::statfs::Answer> {
    with_kept(|k| {
        let a = k.statfs.get(key(path)).copied();
        if a.is_some() {
            k.stats.shared += 1;
        }
        a
    })?
}

/// Keeps this tick's `statvfs` answer for `path` (nothing without an open tick).
pub fn keep_statfs(path: &Path, answer: super::statfs::Answer) {
    with_kept(|k| {
        k.stats.statfs += 1;
        k.statfs.insert(key(path).into(), answer);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("psmonitor-reads-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// Within a tick a file is read once, whatever helper asks, and every reader sees the
    /// bytes of that one read; after the tick it is read afresh.
    #[test]
    fn a_file_is_read_once_a_tick() {
        let d = temp("once");
        let f = d.join("stat");
        std::fs::write(&f, "cpu 1 2 3\n").unwrap();
        let tick = Tick::begin();
        let mut buf = Vec::new();
        assert_eq!(
            super::super::procfs::read_into(&f, &mut buf).unwrap(),
            "cpu 1 2 3\n"
        );
        std::fs::write(&f, "cpu 4 5 6\n").unwrap();
        assert_eq!(
            super::super::procfs::read_lossy(&f, &mut buf).unwrap(),
            "cpu 1 2 3\n"
        );
        assert_eq!(
            super::super::procfs::read_capped(&f, 5).unwrap(),
            "cpu 1",
            "a capped read is the start of the same reading"
        );
        let missing = d.join("missing");
        assert!(super::super::procfs::read_into(&missing, &mut buf).is_err());
        let e = super::super::procfs::read_present(&missing, &mut buf).unwrap();
        assert!(e.is_none(), "a missing file stays missing");
        assert_eq!(super::super::procfs::sorted_entries(&d).len(), 1);
        assert_eq!(super::super::procfs::entries(&d).unwrap().len(), 1);
        let stats = tick.end();
        assert_eq!(
            stats,
            Stats {
                files: 2,
                dirs: 1,
                statfs: 0,
                shared: 4
            }
        );
        assert_eq!(
            super::super::procfs::read_into(&f, &mut buf).unwrap(),
            "cpu 4 5 6\n"
        );
        let _ = std::fs::remove_dir_all(&d);
    }

    /// A file over [`KEEP_MAX`] is read whole but not kept: a tick holds no big file.
    #[test]
    fn a_big_file_is_not_kept() {
        let d = temp("big");
        let f = d.join("big.prom");
        std::fs::write(&f, vec![b'#'; KEEP_MAX + 1]).unwrap();
        let tick = Tick::begin();
        let mut buf = Vec::new();
        for _ in 0..2 {
            assert_eq!(
                super::super::procfs::read_into(&f, &mut buf).unwrap().len(),
                KEEP_MAX + 1
            );
        }
        assert_eq!(tick.end().files, 2, "read again, not kept");
        let _ = std::fs::remove_dir_all(&d);
    }

    /// A file below a `sys` directory is read a page first, then in growing requests: whole
    /// whatever its size, as any other file.
    #[test]
    fn a_sysctl_like_file_is_read_whole() {
        let d = temp("sys");
        let dir = d.join("sys").join("kernel");
        std::fs::create_dir_all(&dir).unwrap();
        assert!(small_file(&dir.join("x")));
        assert!(!small_file(Path::new("/proc/stat")));
        for len in [0, 1, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL, 5 * CHUNK + 7] {
            let f = dir.join(format!("f{len}"));
            let text: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            std::fs::write(&f, &text).unwrap();
            match read_file(&f, &mut Vec::new()) {
                File::Read(b) => {
                    assert_eq!(&b.data[..], &text[..], "{len} bytes");
                    assert!(!b.truncated);
                }
                _ => panic!("{len} bytes: not read"),
            }
        }
        let _ = std::fs::remove_dir_all(&d);
    }

    /// Outside a tick nothing is kept.
    #[test]
    fn nothing_is_kept_without_a_tick() {
        assert!(file(Path::new("/proc/self/stat")).is_none());
        assert!(dir(Path::new("/proc/self")).is_none());
        keep_statfs(Path::new("/"), super::super::statfs::Answer::Failed);
        assert!(statfs_kept(Path::new("/")).is_none());
    }
}
