//! Host identity: distro, kernel, hostname, uptime, load, and the user the server runs as.
//!
//! Every file is read through `read::procfs` (regular files only, non-blocking, at most
//! `READ_CAP` bytes): `os-release` and `cpuinfo` below a hostile `--path.rootfs` or
//! `--path.procfs` can be a FIFO, a link to `/dev/zero` or a huge file.

use crate::read::procfs::{read_into, read_lossy, read_trimmed};

/// The text of the file at `path` (bytes that are not UTF-8 as U+FFFD; of a file past
/// `READ_CAP`, its start), or `None` if it is missing or not a regular file.
fn text(path: std::path::PathBuf) -> Option<String> {
    let mut buf = Vec::new();
    read_lossy(path, &mut buf).ok().map(|t| t.into_owned())
}

/// `PRETTY_NAME` from os-release (`/etc/os-release`, else `/usr/lib/os-release`).
pub fn distro(roots: &super::family::Roots) -> String {
    ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .filter_map(|p| text(roots.root(p)))
        .find_map(|text| {
            text.lines().find_map(|l| {
                let v = l.strip_prefix("PRETTY_NAME=")?;
                Some(v.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
            })
        })
        .unwrap_or_else(|| "Linux".to_owned())
}

/// The distribution as Glances 4.5 names it (`linux_distro`): `NAME` and `VERSION_ID` of
/// `/etc/os-release` (`Debian GNU/Linux 12`), empty without the file.
pub fn glances_distro(roots: &super::family::Roots) -> String {
    let Some(text) = text(roots.root("/etc/os-release")) else {
        return String::new();
    };
    let value = |key: &str| {
        text.lines().rev().find(|l| l.starts_with(key)).map(|l| {
            let v = l.trim().split('=').nth(1).unwrap_or("");
            let v = v.strip_prefix('"').unwrap_or(v);
            v.strip_suffix('"').unwrap_or(v).to_owned()
        })
    };
    let mut name = value("NAME").unwrap_or_default();
    if let Some(version) = value("VERSION_ID") {
        name.push(' ');
        name.push_str(&version);
    }
    name
}

/// The CPU model from `/proc/cpuinfo` (`model name` on x86, `Model` on a Raspberry Pi), as
/// Glances' quicklook names it; read once, at start.
pub fn cpu_name(roots: &super::family::Roots) -> String {
    let text = text(roots.proc("cpuinfo")).unwrap_or_default();
    ["model name", "Model", "Hardware", "cpu model"]
        .iter()
        .find_map(|key| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_owned())
            })
        })
        .unwrap_or_else(|| "CPU".to_owned())
}

/// The kernel release, as `uname -r` prints it.
pub fn kernel(roots: &super::family::Roots) -> String {
    read_trimmed(roots.proc("sys/kernel/osrelease")).unwrap_or_default()
}

/// The host name (it can change at run time, so it is read each tick: one tiny read).
pub fn hostname(roots: &super::family::Roots, buf: &mut Vec<u8>) -> String {
    read_into(roots.proc("sys/kernel/hostname"), buf)
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}

/// Seconds since boot from `/proc/uptime`.
pub fn uptime_secs(roots: &super::family::Roots, buf: &mut Vec<u8>) -> f64 {
    read_into(roots.proc("uptime"), buf)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// Load averages from `/proc/loadavg` (0 for a field that is missing or no number).
pub fn load(roots: &super::family::Roots) -> [f64; 3] {
    let reading = crate::read::loadavg::read(&roots.proc("loadavg"));
    reading
        .exact()
        .map_or([0.0; 3], |l| l.loads.map(|v| v.unwrap_or(0.0)))
}

/// Formats seconds like the original: `2 days, 16 hrs, 27 mins, 30 secs`, zero parts left out.
pub fn format_uptime(total: u64) -> String {
    let parts = [
        (total / 86_400, "day", "days"),
        (total % 86_400 / 3_600, "hr", "hrs"),
        (total % 3_600 / 60, "min", "mins"),
        (total % 60, "sec", "secs"),
    ];
    let out: Vec<String> = parts
        .iter()
        .filter(|(n, ..)| *n > 0)
        .map(|(n, one, many)| format!("{n} {}", if *n == 1 { one } else { many }))
        .collect();
    if out.is_empty() {
        "0 secs".to_owned()
    } else {
        out.join(", ")
    }
}

/// The name of the user the server runs as (real uid), or the uid if it has no name.
pub fn current_user(users: &mut super::users::Users) -> String {
    // SAFETY: getuid cannot fail and has no preconditions.
    let uid = unsafe { libc::getuid() };
    users.name(uid).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_reads_like_the_original() {
        assert_eq!(
            format_uptime(2 * 86_400 + 16 * 3_600 + 27 * 60 + 30),
            "2 days, 16 hrs, 27 mins, 30 secs"
        );
        assert_eq!(
            format_uptime(86_400 + 3_600 + 60 + 1),
            "1 day, 1 hr, 1 min, 1 sec"
        );
        assert_eq!(format_uptime(3_600 + 5), "1 hr, 5 secs");
        assert_eq!(format_uptime(0), "0 secs");
    }

    #[test]
    fn reads_this_host() {
        let mut buf = Vec::new();
        let roots = Default::default();
        assert!(uptime_secs(&roots, &mut buf) > 0.0);
        assert!(!kernel(&roots).is_empty());
        assert!(!distro(&roots).is_empty());
        assert!(load(&roots).iter().all(|l| *l >= 0.0));
    }

    /// A FIFO or a link to `/dev/zero` where `os-release` and `cpuinfo` should be: the
    /// defaults, at once, without waiting on the FIFO or reading without end (an uncapped read
    /// of `/dev/zero` grows memory until the kernel kills us); of a file past `READ_CAP` only
    /// the start is read.
    #[test]
    fn hostile_identity_files_give_the_defaults() {
        use crate::collect::family::{testing::returns, Roots};
        use crate::testing::{planted_tree, Planted};
        let files = [
            "root/etc/os-release",
            "root/usr/lib/os-release",
            "proc/cpuinfo",
        ];
        for planted in [Planted::Fifo, Planted::DevZero] {
            let dir = planted_tree("platform", planted, &files);
            let roots = Roots::under(&dir);
            let got = returns({
                let roots = roots.clone();
                move || (distro(&roots), glances_distro(&roots), cpu_name(&roots))
            });
            assert_eq!(
                got,
                ("Linux".into(), String::new(), "CPU".into()),
                "{planted:?}"
            );
            std::fs::remove_dir_all(&dir).unwrap();
        }
        let dir = planted_tree("platform-big", Planted::Fifo, &[]);
        let roots = Roots::under(&dir);
        let big = format!(
            "PRETTY_NAME=\"Big\"\n{}",
            "#".repeat(crate::read::procfs::READ_CAP + 1)
        );
        std::fs::create_dir_all(dir.join("root/usr/lib")).unwrap();
        std::fs::create_dir_all(dir.join("root/etc")).unwrap();
        std::fs::write(dir.join("root/etc/os-release"), &big).unwrap();
        std::fs::write(
            dir.join("root/usr/lib/os-release"),
            b"PRETTY_NAME=\"Small \xff\"\n",
        )
        .unwrap();
        // Of a file past the cap its start is read (as `read_lossy` reads), no more.
        assert_eq!(distro(&roots), "Big");
        std::fs::remove_file(dir.join("root/etc/os-release")).unwrap();
        assert_eq!(
            distro(&roots),
            "Small \u{fffd}",
            "bytes not UTF-8 hide nothing"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    mod props {
        //! Properties of the uptime text.
        use super::super::*;
        use proptest::prelude::*;

        /// Reads `2 days, 16 hrs, 27 mins, 30 secs` back into seconds.
        fn seconds_of(text: &str) -> u64 {
            text.split(", ")
                .map(|part| {
                    let (n, unit) = part.split_once(' ').expect("a number and a unit");
                    let n: u64 = n.parse().expect("a number");
                    n * match unit {
                        "day" | "days" => 86_400,
                        "hr" | "hrs" => 3_600,
                        "min" | "mins" => 60,
                        "sec" | "secs" => 1,
                        other => panic!("unit {other}"),
                    }
                })
                .sum()
        }

        proptest! {
            #![proptest_config(crate::testing::cases(256))]

            /// The text reads back as the same number of seconds, singular units for 1 only.
            #[test]
            fn uptime_text_round_trips(secs in prop_oneof![0u64..200_000, 0u64..1 << 40]) {
                let text = format_uptime(secs);
                prop_assert_eq!(seconds_of(&text), secs);
                for part in text.split(", ") {
                    let (n, unit) = part.split_once(' ').unwrap();
                    prop_assert_eq!(n == "1", !unit.ends_with('s'), "{}", part);
                }
            }

            /// No input panics, not even the largest.
            #[test]
            fn any_number_formats(secs in any::<u64>()) {
                prop_assert!(!format_uptime(secs).is_empty());
            }
        }
    }
}
