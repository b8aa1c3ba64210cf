//! `filesystem`: size, free space and inodes of every mounted filesystem, from the mount
//! table of `<procfs>/1/mounts` (init's view, so a container with the host's PID namespace
//! sees the host's mounts; `<procfs>/mounts` if that is hidden) and `statvfs(3)` on
//! `<rootfs>/<mount point>`, as node_exporter 1.5.0's `filesystem` collector exposes them.
//!
//! Each line of the table is one series, as in node_exporter: bind mounts and tmpfs are kept,
//! only a repeated (device, mount point, type) is dropped. Left out are Debian's 1.5.0
//! defaults (the packaged binary's, which differ from upstream's): mount points matching
//! `^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)` and
//! the pseudo filesystem types below. `readonly` comes from the `ro` mount option; sizes are
//! blocks × `f_bsize` as node_exporter computes them.
//!
//! Pitfalls: the kernel escapes space, tab, newline and backslash in mount points as `\040`,
//! `\011`, `\012`, `\134`. The label undoes only `\040` and `\011`, as node_exporter does, but
//! the path given to `statvfs` undoes all of them. A mount point that is not UTF-8 is shown
//! lossily and still measured (the raw bytes are the path). A `statvfs` on a dead NFS server
//! can block forever, so it goes through [`crate::read::statfs::Timed`]: a stuck mount gets
//! `device_error 1` (node_exporter's "stuck mount") and never stops the sampler.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::{read_capped_bytes, FILE_CAP};
use crate::read::statfs::{Statvfs, Timed};
use std::borrow::Cow;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Registers the `filesystem` family.
pub const REGISTRATION: Registration = Registration {
    name: "filesystem",
    default_enabled: true,
    make: make_family,
};

fn make_family(s: &Settings) -> Box<dyn Family> {
    // --collector.filesystem.mount-timeout, checked at start-up.
    let timed = match s
        .flags
        .value("filesystem.mount-timeout")
        .and_then(super::flags::go_duration)
    {
        Some(timeout) => Timed::new(crate::read::statfs::statvfs, timeout),
        None => Timed::default(),
    };
    let mut f = FilesystemFamily::new(timed);
    f.filters = Filters {
        mount_points: s.flags.filter("filesystem.mount-points").ok().flatten(),
        fs_types: s.flags.filter("filesystem.fs-types").ok().flatten(),
    };
    Box::new(f)
}

/// `--collector.filesystem.mount-points-include/-exclude` and `fs-types-include/-exclude`;
/// without them, Debian's defaults ([`excluded_mount_point`], [`EXCLUDED_TYPES`]).
#[derive(Default)]
struct Filters {
    mount_points: Option<super::flags::Filter>,
    fs_types: Option<super::flags::Filter>,
}

impl Filters {
    fn ignored(&self, mountpoint: &str, fstype: &str) -> bool {
        use super::flags::ignored;
        ignored(&self.mount_points, mountpoint, excluded_mount_point)
            || ignored(&self.fs_types, fstype, |t| EXCLUDED_TYPES.contains(&t))
    }
}

/// Debian's node_exporter 1.5.0 `--collector.filesystem.fs-types-exclude`.
const EXCLUDED_TYPES: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "fusectl",
    "hugetlbfs",
    "iso9660",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "procfs",
    "pstore",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tracefs",
];

/// Debian's node_exporter 1.5.0 `--collector.filesystem.mount-points-exclude`,
/// `^/(dev|proc|run|sys|mnt|media|var/lib/docker/.+|var/lib/containers/storage/.+)($|/)`.
fn excluded_mount_point(mp: &str) -> bool {
    let Some(rest) = mp.strip_prefix('/') else {
        return false;
    };
    let end_or_slash = |s: &str| s.is_empty() || s.starts_with('/');
    if ["dev", "proc", "run", "sys", "mnt", "media"]
        .iter()
        .any(|p| rest.strip_prefix(p).is_some_and(end_or_slash))
    {
        return true;
    }
    ["var/lib/docker/", "var/lib/containers/storage/"]
        .iter()
        .filter_map(|p| rest.strip_prefix(p))
        .any(|tail| {
            // `.+($|/)`: one or more characters but newlines, then the end or a `/`.
            let line = tail.split('\n').next().unwrap_or("");
            !line.is_empty() && (line.len() == tail.len() || line[1..].contains('/'))
        })
}

/// What `statvfs` says of one filesystem, in node_exporter's units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stat {
    /// Bytes in all.
    size: f64,
    /// Free bytes, the root-reserved ones included.
    free: f64,
    /// Free bytes for unprivileged users.
    avail: f64,
    /// Inodes in all.
    files: f64,
    /// Free inodes.
    files_free: f64,
}

impl From<Statvfs> for Stat {
    /// Sizes are blocks × `f_bsize`, as node_exporter computes them.
    fn from(st: Statvfs) -> Stat {
        let bsize = st.bsize as f64;
        Stat {
            size: st.blocks as f64 * bsize,
            free: st.bfree as f64 * bsize,
            avail: st.bavail as f64 * bsize,
            files: st.files as f64,
            files_free: st.ffree as f64,
        }
    }
}

struct FilesystemFamily {
    statfs: Timed,
    filters: Filters,
}

impl FilesystemFamily {
    fn new(statfs: Timed) -> FilesystemFamily {
        FilesystemFamily {
            statfs,
            filters: Filters::default(),
        }
    }
}

/// Undoes the kernel's octal escapes (`\040`) in a mount table field.
fn unescape_all(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                let v = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                out.push(v as u8);
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

/// The mount point label as node_exporter makes it: only `\040` and `\011` undone.
fn label(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field);
    // Most mount points have no escape: no search-and-copy for them (every mount, every tick).
    if !field.contains(&b'\\') {
        return text.into_owned();
    }
    text.replace("\\040", " ").replace("\\011", "\t")
}

/// node_exporter's `rootfsStripPrefix`: a mount point below `--path.rootfs` is shown as seen
/// from there.
fn strip_rootfs<'a>(mp: &'a [u8], rootfs: &[u8]) -> Cow<'a, [u8]> {
    if rootfs == b"/" {
        return Cow::Borrowed(mp);
    }
    match mp.strip_prefix(rootfs) {
        Some([]) => Cow::Owned(b"/".to_vec()),
        Some(rest) => Cow::Borrowed(rest),
        None => Cow::Borrowed(mp),
    }
}

/// One line of the mount table that is measured.
#[derive(Debug, PartialEq)]
struct Mount {
    device: String,
    mountpoint: String,
    fstype: String,
    readonly: bool,
    /// The mount point's path below `rootfs`, fully unescaped.
    path: PathBuf,
}

/// The mount table's lines that node_exporter measures, in order, each (device, mount point,
/// type) once.
fn mounts(table: &[u8], rootfs: &Path, filters: &Filters) -> Vec<Mount> {
    let root = rootfs.as_os_str().as_bytes();
    let mut out: Vec<Mount> = Vec::new();
    for line in table.split(|&b| b == b'\n') {
        let mut fields = line
            .split(|b| b.is_ascii_whitespace())
            .filter(|f| !f.is_empty());
        let (Some(device), Some(mp), Some(fstype), Some(options)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let mountpoint = label(&strip_rootfs(mp, root));
        let fstype = String::from_utf8_lossy(fstype).into_owned();
        if filters.ignored(&mountpoint, &fstype) {
            continue;
        }
        let device = String::from_utf8_lossy(device).into_owned();
        if out
            .iter()
            .any(|m| m.device == device && m.mountpoint == mountpoint && m.fstype == fstype)
        {
            continue;
        }
        let unescaped = unescape_all(mp);
        let relative = strip_rootfs(&unescaped, root);
        let relative = OsStr::from_bytes(&relative);
        out.push(Mount {
            device,
            mountpoint,
            fstype,
            readonly: options.split(|&b| b == b',').any(|o| o == b"ro"),
            path: rootfs.join(
                Path::new(relative)
                    .strip_prefix("/")
                    .unwrap_or(Path::new(relative)),
            ),
        });
    }
    out
}

/// One filesystem's series.
#[derive(Debug)]
struct Row {
    device: String,
    mountpoint: String,
    fstype: String,
    readonly: bool,
    /// `None`: `statvfs` failed or is stuck (`device_error 1`, nothing else).
    stat: Option<Stat>,
}

/// A tick's filesystems.
#[derive(Debug)]
struct Reading(Vec<Row>);

impl Family for FilesystemFamily {
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let table = read_capped_bytes(&roots.proc("1/mounts"), FILE_CAP)
            .or_else(|_| read_capped_bytes(&roots.proc("mounts"), FILE_CAP))
            .unwrap_or_default();
        self.statfs.begin_tick();
        let rows = mounts(&table, &roots.rootfs, &self.filters)
            .into_iter()
            .map(|m| {
                let stat = self
                    .statfs
                    .measure(&m.mountpoint, m.path)
                    .ok()
                    .map(Stat::from);
                Row {
                    device: m.device,
                    mountpoint: m.mountpoint,
                    fstype: m.fstype,
                    readonly: m.readonly,
                    stat,
                }
            })
            .collect();
        self.statfs.end_tick();
        Ok(Arc::new(Reading(rows)))
    }
}

impl Harvest for Reading {
    fn render(&self, out: &mut Encoder) {
        type Pick = fn(&Row) -> Option<f64>;
        let families: [(&str, &str, Pick); 7] = [
            (
                "node_filesystem_avail_bytes",
                "Filesystem space available to non-root users in bytes.",
                |r| r.stat.map(|s| s.avail),
            ),
            (
                "node_filesystem_device_error",
                "Whether an error occurred while getting statistics for the given device.",
                |r| Some(f64::from(u8::from(r.stat.is_none()))),
            ),
            (
                "node_filesystem_files",
                "Filesystem total file nodes.",
                |r| r.stat.map(|s| s.files),
            ),
            (
                "node_filesystem_files_free",
                "Filesystem total free file nodes.",
                |r| r.stat.map(|s| s.files_free),
            ),
            (
                "node_filesystem_free_bytes",
                "Filesystem free space in bytes.",
                |r| r.stat.map(|s| s.free),
            ),
            (
                "node_filesystem_readonly",
                "Filesystem read-only status.",
                |r| r.stat.map(|_| f64::from(u8::from(r.readonly))),
            ),
            (
                "node_filesystem_size_bytes",
                "Filesystem size in bytes.",
                |r| r.stat.map(|s| s.size),
            ),
        ];
        for (name, help, pick) in families {
            let mut f = out.family(name, Kind::Gauge, help);
            for r in &self.0 {
                if let Some(v) = pick(r) {
                    let labels = [
                        ("device", r.device.as_str()),
                        ("fstype", r.fstype.as_str()),
                        ("mountpoint", r.mountpoint.as_str()),
                    ];
                    f.sample(&labels, v);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::{fixture, run, value};
    use crate::read::statfs::statvfs;
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    /// The `(device, fstype, mountpoint)` label sets of the `device_error` series.
    fn series(text: &str) -> Vec<String> {
        text.lines()
            .filter_map(|l| l.strip_prefix("node_filesystem_device_error"))
            .map(|l| l.rsplit_once(' ').map_or(l, |(s, _)| s).to_owned())
            .collect()
    }

    /// The fixture's directory for `mp` measured directly, to compare with the family's.
    fn direct(host: &str, mp: &str) -> Stat {
        Stat::from(statvfs(&fixture(host).mountpoint(mp)).expect("statvfs of a fixture directory"))
    }

    #[test]
    fn excludes_as_debian_node_exporter() {
        for mp in [
            "/dev",
            "/dev/shm",
            "/proc/sys/fs/binfmt_misc",
            "/run",
            "/run/user/1000",
            "/sys",
            "/mnt/usb",
            "/media/alice/Backup SSD",
            "/var/lib/docker/overlay2/x/merged",
            "/var/lib/containers/storage/overlay",
        ] {
            assert!(excluded_mount_point(mp), "{mp}");
        }
        for mp in [
            "/",
            "/devices",
            "/run2",
            "/home",
            "/var/lib/docker",
            "/var/lib/docker/",
            "/boot/efi",
            "/srv/mnt",
            "dev",
        ] {
            assert!(!excluded_mount_point(mp), "{mp}");
        }
    }

    #[test]
    fn unescapes_and_strips() {
        assert_eq!(
            unescape_all(b"/a\\040b\\011c\\134d\\012e\\04"),
            b"/a b\tc\\d\ne\\04"
        );
        assert_eq!(label(b"/a\\040b\\011c\\134d"), "/a b\tc\\134d");
        assert_eq!(strip_rootfs(b"/host/home", b"/host").as_ref(), b"/home");
        assert_eq!(strip_rootfs(b"/host", b"/host").as_ref(), b"/");
        assert_eq!(strip_rootfs(b"/home", b"/").as_ref(), b"/home");
        let m = mounts(
            b"/dev/sda1 /host/srv ext4 ro 0 0\n",
            Path::new("/host"),
            &Filters::default(),
        );
        assert_eq!(m[0].mountpoint, "/srv");
        assert_eq!(m[0].path, Path::new("/host/srv"));
        assert!(m[0].readonly);
    }

    #[test]
    fn vm() {
        let t = run(&REGISTRATION, "vm");
        // Everything else on this machine is a pseudo filesystem or below /dev, /sys, /mnt.
        assert_eq!(
            series(&t),
            ["{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}"]
        );
        let s = direct("vm", "/");
        let l = "{device=\"/dev/vda\",fstype=\"ext4\",mountpoint=\"/\"}";
        assert_eq!(
            value(&t, &format!("node_filesystem_size_bytes{l}")),
            Some(s.size)
        );
        assert_eq!(
            value(&t, &format!("node_filesystem_files{l}")),
            Some(s.files)
        );
        assert_eq!(
            value(&t, &format!("node_filesystem_device_error{l}")),
            Some(0.0)
        );
        assert_eq!(
            value(&t, &format!("node_filesystem_readonly{l}")),
            Some(0.0)
        );
        let free = value(&t, &format!("node_filesystem_free_bytes{l}")).unwrap_or(-1.0);
        let avail = value(&t, &format!("node_filesystem_avail_bytes{l}")).unwrap_or(-1.0);
        assert!(0.0 <= avail && avail <= free && free <= s.size, "{t}");
    }

    #[test]
    fn pi() {
        let t = run(&REGISTRATION, "pi");
        assert_eq!(
            series(&t),
            [
                "{device=\"/dev/mmcblk0p2\",fstype=\"ext4\",mountpoint=\"/\"}",
                "{device=\"/dev/mmcblk0p1\",fstype=\"vfat\",mountpoint=\"/boot/firmware\"}",
            ]
        );
        let s = direct("pi", "/boot/firmware");
        let l = "{device=\"/dev/mmcblk0p1\",fstype=\"vfat\",mountpoint=\"/boot/firmware\"}";
        assert_eq!(
            value(&t, &format!("node_filesystem_size_bytes{l}")),
            Some(s.size)
        );
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 2 * 7);
    }

    #[test]
    fn laptop() {
        let t = run(&REGISTRATION, "laptop");
        // tmpfs /tmp and the bind mount of /home are series of their own.
        assert_eq!(
            series(&t),
            [
                "{device=\"/dev/mapper/vgubuntu-root\",fstype=\"ext4\",mountpoint=\"/\"}",
                "{device=\"/dev/nvme0n1p2\",fstype=\"ext4\",mountpoint=\"/boot\"}",
                "{device=\"/dev/nvme0n1p1\",fstype=\"vfat\",mountpoint=\"/boot/efi\"}",
                "{device=\"/dev/mapper/vgubuntu-home\",fstype=\"ext4\",mountpoint=\"/home\"}",
                "{device=\"tmpfs\",fstype=\"tmpfs\",mountpoint=\"/tmp\"}",
                "{device=\"/dev/mapper/vgubuntu-home\",fstype=\"ext4\",mountpoint=\"/srv/nfs/home\"}",
            ]
        );
        let errors: Vec<&str> = t
            .lines()
            .filter(|l| l.starts_with("node_filesystem_device_error{"))
            .filter(|l| !l.ends_with(" 0"))
            .collect();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(t.lines().filter(|l| !l.starts_with('#')).count(), 6 * 7);
    }

    #[test]
    fn hostile() {
        let t = run(&REGISTRATION, "hostile");
        assert_eq!(
            series(&t),
            [
                "{device=\"/dev/root\",fstype=\"ext4\",mountpoint=\"/\"}",
                "{device=\"/dev/sdb1\",fstype=\"ext4\",mountpoint=\"/srv/my files\"}",
                "{device=\"/dev/sdb2\",fstype=\"ext4\",mountpoint=\"/srv/tab\tand\\\\134back\"}",
                "{device=\"/dev/sdb3\",fstype=\"ext4\",mountpoint=\"/srv/caf\u{fffd}\"}",
                "{device=\"/dev/sdb4\",fstype=\"xfs\",mountpoint=\"/srv/missing\"}",
                "{device=\"/dev/sdc1\",fstype=\"ext4\",mountpoint=\"/devices\"}",
                "{device=\"/dev/sdc3\",fstype=\"ext4\",mountpoint=\"/run2\"}",
                "{device=\"/dev/sdc6\",fstype=\"ext4\",mountpoint=\"/var/lib/docker\"}",
                "{device=\"none\",fstype=\"cgroup3\",mountpoint=\"/srv/cg3\"}",
                "{device=\"/dev/sdd1\",fstype=\"ext4\",mountpoint=\"/srv/ro\"}",
            ]
        );
        let err = |l: &str| value(&t, &format!("node_filesystem_device_error{l}"));
        // Escaped and non-UTF-8 mount points are measured at their real paths.
        assert_eq!(
            err("{device=\"/dev/sdb1\",fstype=\"ext4\",mountpoint=\"/srv/my files\"}"),
            Some(0.0)
        );
        assert_eq!(
            err("{device=\"/dev/sdb2\",fstype=\"ext4\",mountpoint=\"/srv/tab\tand\\\\134back\"}"),
            Some(0.0)
        );
        assert_eq!(
            err("{device=\"/dev/sdb3\",fstype=\"ext4\",mountpoint=\"/srv/caf\u{fffd}\"}"),
            Some(0.0)
        );
        // A mount point that does not exist: an error and nothing else.
        let missing = "{device=\"/dev/sdb4\",fstype=\"xfs\",mountpoint=\"/srv/missing\"}";
        assert_eq!(err(missing), Some(1.0));
        assert_eq!(
            value(&t, &format!("node_filesystem_size_bytes{missing}")),
            None
        );
        let ro = |l: &str| value(&t, &format!("node_filesystem_readonly{l}"));
        assert_eq!(
            ro("{device=\"/dev/sdb1\",fstype=\"ext4\",mountpoint=\"/srv/my files\"}"),
            Some(1.0)
        );
        assert_eq!(
            ro("{device=\"/dev/sdd1\",fstype=\"ext4\",mountpoint=\"/srv/ro\"}"),
            Some(1.0)
        );
        assert_eq!(
            ro("{device=\"/dev/root\",fstype=\"ext4\",mountpoint=\"/\"}"),
            Some(0.0)
        );
    }

    #[test]
    fn falls_back_to_proc_mounts() {
        let dir = std::env::temp_dir().join(format!("psmonitor-fs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc")).expect("temp dir");
        std::fs::create_dir_all(dir.join("root")).expect("temp dir");
        std::fs::write(dir.join("proc/mounts"), "/dev/x / ext4 rw 0 0\n").expect("write");
        let mut fam = FilesystemFamily::new(Timed::default());
        let h = fam.harvest(&Roots::under(&dir)).expect("harvest");
        let mut out = Encoder::default();
        h.render(&mut out);
        let t = out.finish();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            series(&t),
            ["{device=\"/dev/x\",fstype=\"ext4\",mountpoint=\"/\"}"]
        );
    }

    /// A `statvfs` that hangs for paths ending in `hang` and answers the rest at once.
    fn slow_stat(path: &Path) -> Option<Statvfs> {
        if path.ends_with("hang") {
            std::thread::sleep(Duration::from_millis(300));
        }
        Some(Statvfs::default())
    }

    #[test]
    fn a_hanging_statfs_is_a_device_error_and_does_not_block() {
        let dir = std::env::temp_dir().join(format!("psmonitor-fs-hang-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc/1")).expect("temp dir");
        std::fs::write(
            dir.join("proc/1/mounts"),
            "srv:/x /hang nfs4 rw 0 0\n/dev/a /ok ext4 rw 0 0\n",
        )
        .expect("write");
        let roots = Roots::under(&dir);
        let mut fam = FilesystemFamily::new(Timed::new(slow_stat, Duration::from_millis(50)));
        let errors = |fam: &mut FilesystemFamily| {
            let mut out = Encoder::default();
            fam.harvest(&roots).expect("harvest").render(&mut out);
            let t = out.finish();
            let e = |mp: &str| {
                let nfs = if mp == "/hang" {
                    "srv:/x\",fstype=\"nfs4"
                } else {
                    "/dev/a\",fstype=\"ext4"
                };
                value(
                    &t,
                    &format!(
                        "node_filesystem_device_error{{device=\"{nfs}\",mountpoint=\"{mp}\"}}"
                    ),
                )
            };
            (e("/hang"), e("/ok"))
        };
        let start = std::time::Instant::now();
        // First tick: the NFS mount times out, the other one is measured by a new helper.
        assert_eq!(errors(&mut fam), (Some(1.0), Some(0.0)));
        assert!(
            start.elapsed() < Duration::from_millis(250),
            "{:?}",
            start.elapsed()
        );
        // Second tick, at once: still stuck, and not waited for.
        let t = std::time::Instant::now();
        assert_eq!(errors(&mut fam), (Some(1.0), Some(0.0)));
        assert!(t.elapsed() < Duration::from_millis(40), "{:?}", t.elapsed());
        // Once its statvfs has returned, the answer is used and the next one is asked for.
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(errors(&mut fam), (Some(0.0), Some(0.0)));
        assert_eq!(errors(&mut fam), (Some(1.0), Some(0.0)));
        assert!(fam.statfs.live.load(Ordering::SeqCst) <= 2);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
