//! Reading the host: the only code that touches its files, sockets and filesystems
//! (`collect::tests::views_touch_the_host_only_through_read` keeps `src/collect/` off them).
//!
//! - [`procfs`]: whole-file readers (regular files only, non-blocking, capped), the bounded
//!   line streamer for big tables (`for_each_line`: `/proc/net/udp`, `/proc/net/arp`),
//!   attribute, directory and link readers, and the `stat`s the views ask of host paths; with
//!   [`statfs`] (`statvfs` with a time limit) and [`tick`], which makes every one of their
//!   reads in a tick happen once and be shared (see its docs);
//! - [`neighbours`]: the kernel's IPv4 neighbour table over an rtnetlink socket (the `arp`
//!   family's default); [`btrfs`]: the btrfs ioctls on a mounted filesystem (its devices);
//!   [`pids`]: the process scan's `readdir` of procfs and `openat` of each `PID/stat`;
//! - one module per file that more than one view reads, which parses it once a tick into a
//!   typed reading ([`shared`]): [`stat`] (`/proc/stat`: the CPU model, the `cpu` and `stat`
//!   families), [`meminfo`] (memory and swap, the `meminfo` family), [`netdev`]
//!   (`/proc/net/dev`: interfaces and rates, the `netdev` family), [`diskstats`] (`diskio`, the
//!   `diskstats` family), [`loadavg`] (`load`, the `loadavg` family) and [`pressure`] (PSI:
//!   `pressure` in the JSON, the `pressure` family). The views (`src/collect/`: the JSON model,
//!   the families, and through the snapshot the Glances API) project these readings and never
//!   parse those files themselves.
//!
//! A file only one family reads (`btrfs`, `nfs`, ...) is parsed by that family, read through
//! [`procfs`] (so it is still opened at most once a tick). Nothing here imports `collect`,
//! `metrics` or `config` (`collect::tests::imports_run_one_way`).

pub mod btrfs;
pub mod diskstats;
pub mod ifaddrs;
pub mod loadavg;
pub mod meminfo;
pub mod neighbours;
pub mod netdev;
pub mod pids;
pub mod pressure;
pub mod procfs;
pub mod stat;
pub mod statfs;
pub mod tick;

use std::path::Path;
use std::rc::Rc;

/// One tick's reading of a shared file, parsed once into `T`.
#[derive(Debug)]
pub enum Reading<T> {
    /// The file is not there (no such file, or a path component that is not a directory).
    Absent,
    /// It is there and could not be read: `path: error`.
    Failed(String),
    /// Read and parsed. `exact` is false when the file held bytes that are not UTF-8 (they were
    /// read as U+FFFD) or was longer than [`procfs::READ_CAP`] (its start was parsed).
    Read { value: T, exact: bool },
}

impl<T> Reading<T> {
    /// The reading of a file that was there and read exactly (all UTF-8, not cut), as
    /// [`procfs::read_into`] reads it: what the JSON model shows, or nothing.
    pub fn exact(&self) -> Option<&T> {
        match self {
            Reading::Read { value, exact: true } => Some(value),
            _ => None,
        }
    }

    /// The reading as [`procfs::read_present`] reads a family's file: `None` when the file is
    /// not there, an error (naming the path) when it could not be read, its parse otherwise.
    pub fn present(&self) -> Result<Option<&T>, String> {
        match self {
            Reading::Absent => Ok(None),
            Reading::Failed(e) => Err(e.clone()),
            Reading::Read { value, .. } => Ok(Some(value)),
        }
    }
}

/// This tick's reading of the file at `path`, parsed by `parse` once a tick whichever view
/// asks (outside a tick, read and parsed on each call).
pub fn shared<T: 'static>(path: &Path, parse: fn(&str) -> T) -> Rc<Reading<T>> {
    tick::parsed(path, || read_parsed(path, parse))
}

fn read_parsed<T>(path: &Path, parse: fn(&str) -> T) -> Reading<T> {
    let lossy = |bytes: &[u8]| parse(&String::from_utf8_lossy(bytes));
    // The tick's bytes, when it has them, parsed where they lie.
    if let Some(got) = tick::file(path) {
        return match got {
            Ok(b) => match std::str::from_utf8(&b.data) {
                Ok(text) if !b.truncated => Reading::Read {
                    value: parse(text),
                    exact: true,
                },
                _ => Reading::Read {
                    value: lossy(&b.data),
                    exact: false,
                },
            },
            Err(e) if procfs::is_absent(&e) => Reading::Absent,
            Err(e) => Reading::Failed(format!("{}: {e}", path.display())),
        };
    }
    let mut buf = Vec::new();
    match procfs::read_into(path, &mut buf) {
        Ok(text) => Reading::Read {
            value: parse(text),
            exact: true,
        },
        Err(e) if procfs::is_absent(&e) => Reading::Absent,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => Reading::Read {
            value: lossy(&buf),
            exact: false,
        },
        Err(e) => Reading::Failed(format!("{}: {e}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    thread_local! {
        static PARSES: Cell<usize> = const { Cell::new(0) };
    }

    fn counted(text: &str) -> String {
        PARSES.with(|p| p.set(p.get() + 1));
        text.to_owned()
    }

    /// Within a tick a shared file is parsed once, whichever view asks, and every view gets
    /// that one reading; after the tick it is read and parsed afresh; what a view sees of a
    /// missing, unreadable or not-UTF-8 file is what `procfs` says of it.
    #[test]
    fn a_shared_file_is_parsed_once_a_tick() {
        let d = std::env::temp_dir().join(format!("psmonitor-shared-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let f = d.join("stat");
        std::fs::write(&f, "one").unwrap();
        let tick = tick::Tick::begin();
        let a = shared(&f, counted);
        std::fs::write(&f, "two").unwrap();
        let b = shared(&f, counted);
        assert!(Rc::ptr_eq(&a, &b));
        assert_eq!(a.exact().map(String::as_str), Some("one"));
        assert_eq!(PARSES.with(Cell::get), 1);
        drop(tick);
        assert_eq!(shared(&f, counted).exact().map(String::as_str), Some("two"));
        assert_eq!(PARSES.with(Cell::get), 2);

        std::fs::write(&f, b"ok \xff").unwrap();
        let lossy = shared(&f, counted);
        assert_eq!(lossy.exact(), None, "the JSON model reads UTF-8 only");
        assert_eq!(
            lossy.present().unwrap().map(String::as_str),
            Some("ok \u{fffd}")
        );
        let missing = shared(&d.join("missing"), counted);
        assert!(matches!(*missing, Reading::Absent));
        assert_eq!(missing.present(), Ok(None));
        let dir = shared(&d, counted);
        assert!(dir.present().is_err(), "a directory is no file");
        let _ = std::fs::remove_dir_all(&d);
    }
}
