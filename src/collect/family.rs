//! What a metric family is: node_exporter's "collector" (`--collector.NAME`).
//!
//! A family reads its files once per tick (its *harvest*) on the sampler thread, and renders
//! what it read into the exposition only when `/metrics` is scraped, so a tick costs the reads
//! and never the formatting. Families read below [`Roots`], never from `/proc` directly, so
//! psmonitor can watch its host from a container (`--path.procfs=/host/proc`) and every family
//! can be tested on a fixture tree (`tests/fixtures/<host>/`).

use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_present;
use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where the host's pseudo-filesystems and root are mounted (node_exporter's `--path.procfs`,
/// `--path.sysfs`, `--path.rootfs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    pub procfs: PathBuf,
    pub sysfs: PathBuf,
    pub rootfs: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            procfs: "/proc".into(),
            sysfs: "/sys".into(),
            rootfs: "/".into(),
        }
    }
}

impl Roots {
    /// All three below one directory: `DIR/proc`, `DIR/sys`, `DIR/root` (fixture trees).
    #[cfg(test)]
    pub fn under(dir: impl Into<PathBuf>) -> Roots {
        let dir = dir.into();
        Roots {
            procfs: dir.join("proc"),
            sysfs: dir.join("sys"),
            rootfs: dir.join("root"),
        }
    }

    /// A path below procfs: `proc("net/dev")`.
    pub fn proc(&self, rel: &str) -> PathBuf {
        self.procfs.join(rel.trim_start_matches('/'))
    }

    /// A path below sysfs: `sys("class/net")`.
    pub fn sys(&self, rel: &str) -> PathBuf {
        self.sysfs.join(rel.trim_start_matches('/'))
    }

    /// A path below the root filesystem: `root("/etc/os-release")`.
    pub fn root(&self, path: &str) -> PathBuf {
        self.rootfs.join(path.trim_start_matches('/'))
    }

    /// A mount point as seen from inside psmonitor: below `rootfs` unless it is `/`.
    pub fn mountpoint(&self, mountpoint: &str) -> PathBuf {
        self.root(mountpoint)
    }
}

/// What families may be told at start-up.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `--collector.textfile.directory`: `*.prom` files whose metrics are passed on.
    pub textfile_directory: Option<PathBuf>,
    /// More `--collector.textfile.directory` values (node_exporter 1.12 takes the flag more
    /// than once, and globs of directories): read after `textfile_directory`.
    pub textfile_directories: Vec<String>,
    /// The collector's containers of the latest tick (the `containers` family renders them).
    pub containers: super::containers::Feed,
    /// node_exporter's filter flags that were given (`--collector.netdev.device-exclude`).
    pub flags: super::flags::Values,
    /// `--path.udev.data`: the udev database; `None` is `<rootfs>/run/udev/data`.
    pub udev_data: Option<PathBuf>,
}

/// One collector: its name and its per-tick reading.
pub trait Family: Send {
    /// node_exporter's name for it, as in `--collector.NAME` and the `collector` label of
    /// `node_scrape_collector_success`.
    fn name(&self) -> &'static str;

    /// Reads this tick's files. A family the host does not have (no such files) returns an
    /// empty harvest, not an error; an error means the family failed this tick
    /// (`node_scrape_collector_success 0`) and says why for the debug log.
    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String>;
}

/// A family's reading of one tick, rendered when `/metrics` is scraped.
pub trait Harvest: Send + Sync + std::fmt::Debug {
    /// Writes this reading's metric families.
    fn render(&self, out: &mut Encoder);

    /// True when the host has nothing of this family (node_exporter's `ErrNoData`, which it
    /// reports as `node_scrape_collector_success 0`).
    fn no_data(&self) -> bool {
        false
    }
}

/// A harvest with nothing in it.
#[derive(Debug)]
pub struct Empty;

impl Harvest for Empty {
    fn render(&self, _: &mut Encoder) {}
}

/// The host has none of this family's files (no bonding masters, no RAPL, no md arrays): as
/// node_exporter, `node_scrape_collector_success` says 0 for it.
#[derive(Debug)]
pub struct NoData;

impl Harvest for NoData {
    fn render(&self, _: &mut Encoder) {}

    fn no_data(&self) -> bool {
        true
    }
}

/// A family that parses one procfs file each tick (`meminfo`, `loadavg`, ...): a host without
/// the file gives an empty harvest, or "no data" where node_exporter says so.
pub struct ProcFile<H> {
    name: &'static str,
    /// Below procfs, as [`Roots::proc`] takes it.
    file: &'static str,
    parse: fn(&str) -> Result<H, String>,
    /// Whether a missing file is node_exporter's "no data" (success 0) rather than empty.
    absent_is_no_data: bool,
    buf: Vec<u8>,
}

impl<H: Harvest + 'static> ProcFile<H> {
    /// The family `name`, reading `file` below procfs with `parse`.
    pub fn new(
        name: &'static str,
        file: &'static str,
        parse: fn(&str) -> Result<H, String>,
    ) -> Self {
        ProcFile {
            name,
            file,
            parse,
            absent_is_no_data: false,
            buf: Vec::new(),
        }
    }

    /// A missing file is node_exporter's "no data" ([`NoData`]), not an empty harvest.
    pub fn absent_is_no_data(self) -> Self {
        ProcFile {
            absent_is_no_data: true,
            ..self
        }
    }
}

impl<H: Harvest + 'static> Family for ProcFile<H> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        match read_present(roots.proc(self.file), &mut self.buf)? {
            None if self.absent_is_no_data => Ok(Arc::new(NoData)),
            None => Ok(Arc::new(Empty)),
            Some(text) => Ok(Arc::new((self.parse)(&text)?)),
        }
    }
}

/// A family that renders its view of a file more than one view reads: `read` is its module in
/// `src/read/` (the file parsed once a tick, for every view), `view` the family's projection.
/// A missing file is an empty harvest, an unreadable one the family's error.
pub struct Shared<T: 'static, H> {
    name: &'static str,
    /// Below procfs, as [`Roots::proc`] takes it.
    file: &'static str,
    read: fn(&std::path::Path) -> std::rc::Rc<crate::read::Reading<T>>,
    view: View<T, H>,
}

/// A [`Shared`] family's projection of its reading.
type View<T, H> = Box<dyn FnMut(&T) -> Result<H, String> + Send>;

impl<T: 'static, H> Shared<T, H> {
    /// The family `name`, showing `view` of `read`'s reading of `file` below procfs.
    pub fn new(
        name: &'static str,
        file: &'static str,
        read: fn(&std::path::Path) -> std::rc::Rc<crate::read::Reading<T>>,
        view: impl FnMut(&T) -> Result<H, String> + Send + 'static,
    ) -> Self {
        Shared {
            name,
            file,
            read,
            view: Box::new(view),
        }
    }
}

impl<T: 'static, H: Harvest + 'static> Family for Shared<T, H> {
    fn name(&self) -> &'static str {
        self.name
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let reading = (self.read)(&roots.proc(self.file));
        match reading.present()? {
            None => Ok(Arc::new(Empty)),
            Some(value) => Ok(Arc::new((self.view)(value)?)),
        }
    }
}

/// One sample of a family whose name is known only once the files are read.
#[derive(Debug)]
struct Row {
    name: Cow<'static, str>,
    kind: Kind,
    help: Cow<'static, str>,
    labels: Vec<(&'static str, String)>,
    value: f64,
}

/// Samples of families named at run time (`node_hwmon_<type>_<element>`, `node_zfs_arc_<kstat>`),
/// kept sorted by name and labels so that each family is written once, under one header.
/// A series repeated with the same labels keeps its first value, as the Prometheus client
/// keeps the first of two colliding metrics.
#[derive(Debug, Default)]
pub struct Samples(Vec<Row>);

impl Samples {
    /// Adds a sample; its labels are written in name order, as the Prometheus client does.
    pub fn push(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        kind: Kind,
        help: impl Into<Cow<'static, str>>,
        mut labels: Vec<(&'static str, String)>,
        value: f64,
    ) {
        crate::sort::sort_by(&mut labels, |a, b| a.0.cmp(b.0));
        self.0.push(Row {
            name: name.into(),
            kind,
            help: help.into(),
            labels,
            value,
        });
    }

    /// Sorts the samples by family and labels and drops repeated series (the first stays).
    pub fn sorted(mut self) -> Samples {
        crate::sort::sort_by(&mut self.0, |a, b| {
            a.name.cmp(&b.name).then_with(|| a.labels.cmp(&b.labels))
        });
        self.0
            .dedup_by(|later, first| later.name == first.name && later.labels == first.labels);
        self
    }
}

impl Harvest for Samples {
    fn render(&self, out: &mut Encoder) {
        let mut i = 0;
        while let Some(first) = self.0.get(i) {
            let mut fam = out.family(&first.name, first.kind, &first.help);
            for row in self.0[i..].iter().take_while(|r| r.name == first.name) {
                let labels: Vec<(&str, &str)> =
                    row.labels.iter().map(|(k, v)| (*k, v.as_str())).collect();
                fam.sample(&labels, row.value);
                i += 1;
            }
        }
    }
}

/// One family's result for one tick.
#[derive(Debug, Clone)]
pub struct Harvested {
    pub name: &'static str,
    pub result: Result<Arc<dyn Harvest>, String>,
    pub took: Duration,
}

/// How a family module registers itself: its name, whether node_exporter enables it by
/// default, and how to make it.
pub struct Registration {
    pub name: &'static str,
    pub default_enabled: bool,
    pub make: fn(&Settings) -> Box<dyn Family>,
}

#[cfg(test)]
pub mod testing {
    //! Running a family on a fixture tree.
    use super::*;

    /// The roots of `tests/fixtures/<host>` (`pi`, `laptop`, `vm`, `hostile`).
    pub fn fixture(host: &str) -> Roots {
        Roots::under(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(host),
        )
    }

    /// A scratch tree in the temporary directory (named by `name` and the process, so tests
    /// running at once keep apart), with a `proc` directory; removed when dropped.
    pub struct Tree(pub std::path::PathBuf);

    impl Tree {
        /// A fresh tree, anything left by an earlier run removed.
        pub fn new(name: &str) -> Tree {
            let dir = std::env::temp_dir().join(format!("psmonitor-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("proc")).unwrap();
            Tree(dir)
        }

        /// Writes `text` at `rel` (`proc/stat`), making its directories.
        pub fn write(&self, rel: &str, text: &str) {
            let path = self.0.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }

        /// The tree's roots.
        pub fn roots(&self) -> Roots {
            Roots::under(&self.0)
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Runs `f` on a thread of its own and returns what it gives; panics if it has not
    /// returned in a minute. A guard against a read that hangs, not a measure of speed.
    pub fn returns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("returned (not hung on a FIFO or an endless file)")
    }

    /// Harvests `family` on the fixture `host` and renders it.
    pub fn render(family: &mut dyn Family, host: &str) -> String {
        let h = family
            .harvest(&fixture(host))
            .unwrap_or_else(|e| panic!("{} on {host}: {e}", family.name()));
        let mut out = Encoder::default();
        h.render(&mut out);
        out.finish()
    }

    /// Makes the family `reg` registers (default settings), harvests it on the fixture `host`
    /// and renders it.
    pub fn run(reg: &Registration, host: &str) -> String {
        render(&mut *(reg.make)(&Settings::default()), host)
    }

    /// The value of the sample written exactly as `series` (`name{a="b"}`) in `text`.
    pub fn value(text: &str, series: &str) -> Option<f64> {
        text.lines().find_map(|l| {
            let rest = l.strip_prefix(series)?.strip_prefix(' ')?;
            rest.parse().ok()
        })
    }

    /// Asserts that every `(series, value)` pair is in `text` with exactly that value.
    pub fn assert_values(text: &str, expected: &[(&str, f64)]) {
        for &(series, v) in expected {
            assert_eq!(value(text, series), Some(v), "{series}");
        }
    }

    /// git keeps no empty directory: one in a fixture tree exists where it was made and is
    /// missing from every clone, so a test that passes here fails in CI. Hold it with `.keep`.
    #[test]
    fn fixture_trees_hold_no_empty_directory() {
        fn walk(dir: &std::path::Path, empty: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            let mut n = 0;
            for e in entries.flatten() {
                n += 1;
                let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
                if is_dir {
                    walk(&e.path(), empty);
                }
            }
            if n == 0 {
                empty.push(dir.display().to_string());
            }
        }
        let mut empty = Vec::new();
        walk(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            &mut empty,
        );
        assert!(empty.is_empty(), "empty, so not in git: {empty:#?}");
    }

    /// Asserts that `series` is in `text` with a value within 1e-12 (relative) of `want`.
    pub fn assert_close(text: &str, series: &str, want: f64) {
        let got = value(text, series).unwrap_or_else(|| panic!("{series} missing in\n{text}"));
        assert!(
            (got - want).abs() <= want.abs() * 1e-12,
            "{series}: {got} != {want}"
        );
    }
}
