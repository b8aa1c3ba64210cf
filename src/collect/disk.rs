//! Filesystem usage with `statvfs(3)`, and the list of real mounts from `/proc/self/mounts`.
//!
//! `used` is `blocks - bfree` and `free` is `bavail`, as psutil and `df` compute them: the
//! blocks reserved for root are neither used nor free, so `percent` is `used / (used + free)`.

use crate::model::{gib, percent, DiskUsage, MountedDisk};
use crate::read::procfs::read_lossy;

/// Raw byte counts for one filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct FsBytes {
    pub size: u64,
    pub free: u64,
    pub avail: u64,
}

impl FsBytes {
    pub fn usage(&self) -> DiskUsage {
        let used = self.size.saturating_sub(self.free);
        DiskUsage {
            total: gib(self.size),
            used: gib(used),
            free: gib(self.avail),
            percent: percent(used as f64, (used + self.avail) as f64),
        }
    }
}

impl From<crate::read::statfs::Statvfs> for FsBytes {
    /// Sizes are blocks × `f_frsize`, as psutil and `df` compute them.
    fn from(st: crate::read::statfs::Statvfs) -> FsBytes {
        FsBytes {
            size: st.blocks.saturating_mul(st.frsize),
            free: st.bfree.saturating_mul(st.frsize),
            avail: st.bavail.saturating_mul(st.frsize),
        }
    }
}

/// `statvfs` on `path` through `timed` (never blocking the sampler for more than its
/// timeout): `Ok(None)` if it fails (unmounted, permission), `Err` if it is stuck.
pub fn measure(
    timed: &mut crate::read::statfs::Timed,
    key: &str,
    path: std::path::PathBuf,
) -> Result<Option<FsBytes>, Stuck> {
    match timed.measure(key, path) {
        crate::read::statfs::Answer::Ok(st) => Ok(Some(st.into())),
        crate::read::statfs::Answer::Failed => Ok(None),
        crate::read::statfs::Answer::Stuck => Err(Stuck),
    }
}

/// A mount whose `statvfs` did not answer in time (a hung NFS server or FUSE daemon).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stuck;

/// Filesystem types that are not disks: memory, kernel interfaces and container layers.
const PSEUDO: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
    "fuse.lxcfs",
    "fuse.portal",
    "fuse.gvfsd-fuse",
    "nfsd",
    "aufs",
];

/// One line of `/proc/self/mounts`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mount {
    pub device: String,
    pub mountpoint: String,
    pub fstype: String,
}

/// Undoes the octal escapes (`\040` for space) the kernel writes in mount paths.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        if let (b'\\', Some(d)) = (b[i], octal) {
            let v = d.iter().fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
            out.push(v as u8);
            i += 4;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Real filesystems from `/proc/self/mounts`: pseudo types dropped, one entry per device
/// (bind mounts and btrfs subvolumes repeat a device; the first mount wins).
pub fn parse_mounts(text: &str) -> Vec<Mount> {
    let mut out: Vec<Mount> = Vec::new();
    for line in text.lines() {
        let mut f = line.split_whitespace();
        let (Some(dev), Some(mp), Some(fs)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        if PSEUDO.contains(&fs) || !(dev.starts_with('/') || fs == "zfs" || fs.starts_with("nfs")) {
            continue;
        }
        let device = unescape(dev);
        if out.iter().any(|m| m.device == device) {
            continue;
        }
        out.push(Mount {
            device,
            mountpoint: unescape(mp),
            fstype: fs.to_owned(),
        });
    }
    out
}

/// Every real mounted filesystem with its usage (`Err` for a mount that is stuck: shown with
/// `device_error`, measured again each tick without waiting). Read lossily: one mount point whose path is
/// not UTF-8 must not empty the list (it is shown with U+FFFD and measured by its real path
/// only if that is valid text). In a container (`--path.procfs` elsewhere) the host's mounts
/// are those of its pid 1, and they are measured below `--path.rootfs`.
pub fn mounted(
    roots: &super::family::Roots,
    buf: &mut Vec<u8>,
    timed: &mut crate::read::statfs::Timed,
) -> Vec<(Mount, Result<FsBytes, Stuck>)> {
    let mounts = if roots.procfs == std::path::Path::new("/proc") {
        roots.proc("self/mounts")
    } else {
        roots.proc("1/mounts")
    };
    let Ok(text) = read_lossy(mounts, buf) else {
        return Vec::new();
    };
    timed.begin_tick();
    let out = parse_mounts(&text)
        .into_iter()
        .filter_map(|m| {
            let at = roots.mountpoint(&m.mountpoint);
            match measure(timed, &m.mountpoint, at) {
                Ok(Some(b)) => Some((m, Ok(b))),
                Ok(None) => None,
                Err(stuck) => Some((m, Err(stuck))),
            }
        })
        .collect();
    timed.end_tick();
    out
}

/// The wire form of [`mounted`].
pub fn to_wire(disks: &[(Mount, Result<FsBytes, Stuck>)]) -> Vec<MountedDisk> {
    disks
        .iter()
        .map(|(m, b)| MountedDisk {
            device: m.device.clone(),
            mountpoint: m.mountpoint.clone(),
            fstype: m.fstype.clone(),
            usage: b.unwrap_or_default().usage(),
            device_error: b.is_err(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A mount point that is not UTF-8 (read lossily) once emptied the whole list.
    #[test]
    fn a_non_utf8_mount_point_hides_no_other() {
        let raw = b"/dev/vda1 / ext4 rw 0 0\n/dev/sdb1 /mnt/x\xff ext4 rw 0 0\n/dev/sdc1 /data ext4 rw 0 0\n";
        let text = String::from_utf8_lossy(raw);
        let points: Vec<String> = parse_mounts(&text)
            .into_iter()
            .map(|m| m.mountpoint)
            .collect();
        assert_eq!(points, ["/", "/mnt/x\u{fffd}", "/data"]);
    }

    #[test]
    fn keeps_real_filesystems_once() {
        let text = "/dev/vda1 / ext4 rw 0 0\nproc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n\
overlay /var/lib/docker/x overlay rw 0 0\n/dev/vda1 /srv/bind ext4 rw 0 0\n\
/dev/sdb1 /mnt/my\\040disk vfat rw 0 0\nserver:/x /nfs nfs4 rw 0 0\n";
        let m = parse_mounts(text);
        let points: Vec<_> = m.iter().map(|m| m.mountpoint.as_str()).collect();
        assert_eq!(points, ["/", "/mnt/my disk", "/nfs"]);
    }

    /// A `statvfs` that hangs for paths ending in `hang` and answers the rest at once.
    fn slow_stat(path: &std::path::Path) -> Option<crate::read::statfs::Statvfs> {
        if path.ends_with("hang") {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        Some(crate::read::statfs::Statvfs {
            frsize: 4096,
            blocks: 1 << 20,
            ..Default::default()
        })
    }

    /// A hung mount is listed as a device error and costs the tick at most the timeout once.
    #[test]
    fn a_hung_mount_is_a_device_error() {
        let dir = std::env::temp_dir().join(format!("psmonitor-disk-hang-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("proc/1")).unwrap();
        std::fs::write(
            dir.join("proc/1/mounts"),
            "srv:/x /hang nfs4 rw 0 0\n/dev/a /ok ext4 rw 0 0\n",
        )
        .unwrap();
        let roots = crate::collect::family::Roots::under(&dir);
        let mut timed =
            crate::read::statfs::Timed::new(slow_stat, std::time::Duration::from_millis(50));
        let mut buf = Vec::new();
        for _ in 0..3 {
            let got = mounted(&roots, &mut buf, &mut timed);
            let wire = to_wire(&got);
            assert_eq!(wire.len(), 2, "{wire:?}");
            assert!(
                wire[0].device_error && wire[0].usage.total == 0.0,
                "{wire:?}"
            );
            assert!(
                !wire[1].device_error && wire[1].usage.total > 0.0,
                "{wire:?}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn root_usage_is_sane() {
        let b = FsBytes::from(
            crate::read::statfs::statvfs(std::path::Path::new("/")).expect("statvfs /"),
        );
        let u = b.usage();
        assert!(u.total > 0.0 && u.used <= u.total && (0.0..=100.0).contains(&u.percent));
    }

    #[test]
    fn percent_excludes_reserved_blocks() {
        let b = FsBytes {
            size: 100 << 30,
            free: 60 << 30,
            avail: 55 << 30,
        };
        let u = b.usage();
        assert_eq!((u.total, u.used, u.free), (100.0, 40.0, 55.0));
        assert_eq!(u.percent, 42.1);
    }

    #[test]
    fn unescape_handles_truncated_escapes() {
        assert_eq!(unescape("a\\040b"), "a b");
        assert_eq!(unescape("a\\04"), "a\\04");
        assert_eq!(unescape("\\"), "\\");
    }

    /// A device whose name the kernel escapes (a space: `\040`) and that is mounted twice was
    /// listed twice: the check for a repeated device compared the unescaped names kept so far
    /// with the still-escaped name of the new line.
    #[test]
    fn a_repeated_device_with_an_escaped_name_is_listed_once() {
        let text = "/dev/my\\040disk /a ext4 rw 0 0\n/dev/my\\040disk /b ext4 rw 0 0\n";
        let m = parse_mounts(text);
        assert_eq!(m.len(), 1, "{m:?}");
        assert_eq!(m[0].device, "/dev/my disk");
    }

    mod props {
        //! Properties of the `/proc/self/mounts` parser and its octal unescaping.
        use super::super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// Escapes as the kernel does in mount paths (`\040` for space and so on).
        fn escape(s: &str) -> String {
            let mut out = String::new();
            for c in s.chars() {
                match c {
                    ' ' | '\t' | '\n' | '\\' => out.push_str(&format!("\\{:03o}", c as u32)),
                    c => out.push(c),
                }
            }
            out
        }

        proptest! {
            #![proptest_config(crate::testing::cases(128))]

            /// Any text parses without panicking.
            #[test]
            fn any_text_parses(bytes in vec(any::<u8>(), 0..400)) {
                let text = String::from_utf8_lossy(&bytes);
                let _ = parse_mounts(&text);
                let _ = unescape(&text);
            }

            /// Unescaping undoes the kernel's escaping, whatever the path holds.
            #[test]
            fn unescape_undoes_escape(s in any::<String>()) {
                prop_assert_eq!(unescape(&escape(&s)), s);
            }

            /// Backslashes not followed by three octal digits are kept as they are.
            #[test]
            fn other_backslashes_are_kept(s in "[a-z\\\\89]{0,30}") {
                prop_assert_eq!(unescape(&s), s);
            }

            /// Generated mount lines give back device, mount point (spaces and all) and type;
            /// pseudo filesystems are dropped and a device mounted twice is listed once.
            #[test]
            fn generated_mounts_round_trip(
                mounts in vec(
                    (
                        "/dev/[a-z]{2,6}[0-9]",
                        "/[ -~]{0,20}",
                        prop_oneof![Just("ext4"), Just("xfs"), Just("btrfs"), Just("vfat")],
                    ),
                    0..8,
                ),
            ) {
                let mut text = String::from("proc /proc proc rw 0 0\ntmpfs /run tmpfs rw 0 0\n");
                for (dev, mp, fs) in &mounts {
                    text.push_str(&format!("{} {} {fs} rw,relatime 0 0\n", escape(dev), escape(mp)));
                }
                let parsed = parse_mounts(&text);
                let mut want: Vec<Mount> = Vec::new();
                for (dev, mp, fs) in &mounts {
                    if !want.iter().any(|m| &m.device == dev) {
                        want.push(Mount {
                            device: dev.clone(),
                            mountpoint: mp.clone(),
                            fstype: (*fs).to_owned(),
                        });
                    }
                }
                prop_assert_eq!(parsed, want);
            }
        }
    }
}
