//! The process table from `/proc/PID/stat`, with per-process CPU from jiffy deltas.
//!
//! One `stat` read per process: the spike measured sysinfo's scan at ~3.6x this floor (it also
//! reads `status`, lists `task/` and opens each pid three ways), and the scan is most of what
//! the sampler costs. The owner's uid (a `stat(2)` of the pid's directory) is cached per
//! process instance (pid and start time, so a reused pid is looked up again) and checked
//! again every [`UID_RECHECK`] scans, as a daemon may drop privileges after it starts.
//! Reading `/proc` lists thread-group leaders only, so threads are never counted as processes.

use super::users::Users;
use crate::model::{mib, round, Process};
use crate::read::pids::{read_text, Pids};
use crate::read::procfs::{cap_name, read_lossy_direct};
use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One process as read from `/proc/PID/stat`.
#[derive(Debug, Clone, PartialEq)]
pub struct Stat {
    pub pid: u32,
    pub comm: String,
    /// utime + stime, in clock ticks.
    pub ticks: u64,
    pub rss_pages: u64,
    /// Start time after boot, in clock ticks: with the pid, it names one process instance.
    pub start: u64,
    /// The state letter (`R` running, `S` sleeping, `D`, `Z`, ...).
    pub state: char,
    pub threads: u64,
    /// Virtual memory size in bytes, and the nice value.
    pub vsize: u64,
    pub nice: i64,
}

/// Scans after which a cached uid is looked up again.
pub const UID_RECHECK: u32 = 60;

/// Parses `/proc/PID/stat`. `comm` may hold spaces and parentheses, so the fields are split
/// after the *last* `)`.
pub fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = text[..open].trim().parse().ok()?;
    let comm = cap_name(&text[open + 1..close]).to_owned();
    // Fields after ")" start at field 3 (state, word 0); utime is 14 (word 11), stime 15,
    // nice 19, num_threads 20, starttime 22, vsize 23, rss 24 (word 21).
    let w = super::words::first::<22>(&text[close + 1..])?;
    let state = w[0].chars().next()?;
    let number = |i: usize| -> Option<u64> { w[i].parse().ok() };
    let utime = number(11)?;
    let stime = number(12)?;
    let nice = w[16].parse().ok()?;
    let threads = number(17)?;
    let start = number(19)?;
    let vsize = number(20)?;
    let rss_pages = number(21)?;
    Some(Stat {
        pid,
        comm,
        ticks: utime.saturating_add(stime),
        rss_pages,
        start,
        state,
        threads,
        vsize,
        nice,
    })
}

/// A process group: every process sharing a name, as the original's table shows them.
#[derive(Debug, Clone)]
pub struct Group {
    pub pid: u32,
    pub name: String,
    pub users: Vec<String>,
    pub rss: u64,
    /// Percent of one core over the last interval.
    pub cpu: f64,
    /// `R` when any member runs, else the state of the first one seen (Glances' `status`).
    pub status: char,
}

impl Group {
    pub fn to_wire(&self) -> Process {
        Process {
            pid: self.pid,
            name: self.name.clone(),
            username: self.users.join(", "),
            mem: mib(self.rss),
            cpu: round(self.cpu, 1),
        }
    }
}

/// A map keyed by pids (and start times): numbers the kernel hands out, which no process
/// chooses, so they are hashed with one multiply each ([`PidHasher`]) rather than SipHash,
/// which was a tenth of the scan's instructions.
type PidMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<PidHasher>>;

/// FxHash (rustc's hasher): each word is mixed in with a rotate, a xor and a multiply.
#[derive(Default)]
struct PidHasher(u64);

impl PidHasher {
    fn add(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl std::hash::Hasher for PidHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.add(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }
}

/// Keeps the previous tick's CPU ticks per process to compute per-process CPU.
pub struct ProcessCollector {
    /// CPU ticks per process instance: (pid, start time), so a reused pid starts over.
    prev: PidMap<(u32, u64), u64>,
    page_size: u64,
    ticks_per_sec: f64,
    buf: Vec<u8>,
    path: String,
    /// The procfs root as text, to build `<proc>/<pid>/stat` paths without allocating.
    proc: String,
    /// `<pid>/stat` and a NUL: the path opened below the procfs directory.
    rel: Vec<u8>,
    /// Owner per pid: (start time, uid, scans since looked up).
    uids: PidMap<u32, (u64, u32, u32)>,
    /// Groups in the last scan, to size the next one's table.
    groups_seen: usize,
}

/// One process, as Glances' `processlist` lists it.
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    pub name: String,
    pub username: String,
    /// Resident and virtual memory, bytes.
    pub rss: u64,
    pub vms: u64,
    /// Percent of one core over the last interval.
    pub cpu: f64,
    pub status: char,
    pub threads: u64,
    pub nice: i64,
}

/// The result of one scan.
#[derive(Debug, Clone, Default)]
pub struct ProcessSample {
    /// All groups, sorted by resident memory, largest first.
    pub groups: Vec<Group>,
    /// Every process, in scan order.
    pub procs: Vec<Proc>,
    /// Number of processes seen.
    pub count: usize,
    /// Of those, running (`R`) and sleeping (`S`); and threads in all (Glances' processcount).
    pub running: usize,
    pub sleeping: usize,
    pub threads: u64,
}

impl ProcessSample {
    /// The top `n` groups by memory (`by_cpu == false`) or by CPU.
    pub fn top(&self, n: usize, by_cpu: bool) -> Vec<Process> {
        self.ranked(by_cpu)
            .into_iter()
            .take(n)
            .map(Group::to_wire)
            .collect()
    }

    /// The top `n` groups by memory and the top `n` by CPU, each group once, by memory: the
    /// dashboard's table can then sort by either without missing a busy small process.
    pub fn busiest(&self, n: usize) -> Vec<Process> {
        let mut out: Vec<&Group> = self.groups.iter().take(n).collect();
        for g in self.ranked(true).into_iter().take(n) {
            if !out.iter().any(|o| o.pid == g.pid) {
                out.push(g);
            }
        }
        crate::sort::sort_by_key(&mut out, |g| std::cmp::Reverse(g.rss));
        out.into_iter().map(Group::to_wire).collect()
    }

    /// Every group by memory (as kept), or by CPU with memory breaking ties.
    pub fn ranked(&self, by_cpu: bool) -> Vec<&Group> {
        let mut refs: Vec<&Group> = self.groups.iter().collect();
        if by_cpu {
            crate::sort::sort_by(&mut refs, |a, b| {
                b.cpu.total_cmp(&a.cpu).then(b.rss.cmp(&a.rss))
            });
        }
        refs
    }
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new(&super::family::Roots::default())
    }
}

impl ProcessCollector {
    /// A scanner of `roots.procfs`.
    pub fn new(roots: &super::family::Roots) -> Self {
        // SAFETY: sysconf has no preconditions; it only reads configuration values.
        let (page, hz) = unsafe {
            (
                libc::sysconf(libc::_SC_PAGESIZE),
                libc::sysconf(libc::_SC_CLK_TCK),
            )
        };
        ProcessCollector {
            prev: PidMap::default(),
            page_size: if page > 0 { page as u64 } else { 4096 },
            ticks_per_sec: if hz > 0 { hz as f64 } else { 100.0 },
            buf: Vec::with_capacity(1024),
            path: String::with_capacity(32),
            rel: Vec::with_capacity(24),
            proc: roots
                .procfs
                .to_string_lossy()
                .trim_end_matches('/')
                .to_owned(),
            uids: PidMap::default(),
            groups_seen: 0,
        }
    }

    /// Scans `/proc`. `elapsed` is the time since the previous scan, for CPU percent.
    /// Processes that exit mid-scan are skipped: that race is normal, not an error.
    pub fn sample(&mut self, users: &mut Users, elapsed_secs: f64) -> ProcessSample {
        let Some(mut dir) = Pids::open(&self.proc) else {
            return ProcessSample::default();
        };
        let mut seen: PidMap<(u32, u64), u64> =
            PidMap::with_capacity_and_hasher(self.prev.len() + 16, Default::default());
        // Keyed by names processes choose: the standard (keyed) hasher.
        let mut groups: HashMap<String, Group> = HashMap::with_capacity(self.groups_seen + 16);
        let mut procs = Vec::with_capacity(self.prev.len() + 16);
        let (mut running, mut sleeping, mut threads) = (0, 0, 0);
        while let Some(pid) = dir.next() {
            self.path.clear();
            self.path.push_str(&self.proc);
            self.path.push('/');
            push_decimal(&mut self.path, pid);
            self.path.push_str("/stat");
            // `PID/stat` and its NUL, for `openat` below the listed directory.
            self.rel.clear();
            self.rel
                .extend_from_slice(&self.path.as_bytes()[self.proc.len() + 1..]);
            self.rel.push(0);
            let Ok(rel) = std::ffi::CStr::from_bytes_with_nul(&self.rel) else {
                continue;
            };
            // Lossy: a process may name itself with any bytes (`comm` of `x\xff`); it must
            // still be seen and counted, not skipped.
            let Some(stat) = read_text(dir.fd(), rel, &mut self.buf).and_then(|t| parse_stat(&t))
            else {
                continue;
            };
            let uid = match self.uids.get_mut(&pid) {
                Some((start, uid, age)) if *start == stat.start && *age < UID_RECHECK => {
                    *age += 1;
                    *uid
                }
                _ => match crate::read::procfs::metadata(&self.path[..self.path.len() - 5]) {
                    Ok(m) => {
                        self.uids.insert(pid, (stat.start, m.uid(), 0));
                        m.uid()
                    }
                    Err(_) => continue,
                },
            };
            let cpu = match self.prev.get(&(pid, stat.start)) {
                Some(&before) if elapsed_secs > 0.0 => {
                    stat.ticks.saturating_sub(before) as f64 / self.ticks_per_sec / elapsed_secs
                        * 100.0
                }
                _ => 0.0,
            };
            seen.insert((pid, stat.start), stat.ticks);
            // Kernel threads (no memory of their own) have an empty cmdline: do not read it.
            let comm = if stat.comm.len() >= 15 && stat.rss_pages > 0 {
                full_name(&self.proc, pid, &stat.comm, &mut self.buf).unwrap_or(stat.comm)
            } else {
                stat.comm
            };
            let user = users.name(uid);
            let rss = stat.rss_pages * self.page_size;
            procs.push(Proc {
                pid,
                name: comm.clone(),
                username: user.to_owned(),
                rss,
                vms: stat.vsize,
                cpu,
                status: stat.state,
                threads: stat.threads,
                nice: stat.nice,
            });
            let g = groups.entry(comm).or_insert_with_key(|name| Group {
                pid,
                name: name.clone(),
                users: Vec::new(),
                rss: 0,
                cpu: 0.0,
                status: stat.state,
            });
            if stat.state == 'R' {
                g.status = 'R';
            }
            running += usize::from(stat.state == 'R');
            sleeping += usize::from(stat.state == 'S');
            threads += stat.threads;
            g.pid = g.pid.min(pid);
            g.rss += rss;
            g.cpu += cpu;
            if !g.users.iter().any(|u| u == user) {
                g.users.push(user.to_owned());
            }
        }
        let count = seen.len();
        self.uids
            .retain(|pid, (start, _, _)| seen.contains_key(&(*pid, *start)));
        self.prev = seen;
        self.groups_seen = groups.len();
        let mut groups: Vec<Group> = groups.into_values().collect();
        crate::sort::sort_by(&mut groups, |a, b| {
            b.rss.cmp(&a.rss).then(a.pid.cmp(&b.pid))
        });
        for g in &mut groups {
            crate::sort::sort(&mut g.users);
        }
        ProcessSample {
            groups,
            procs,
            count,
            running,
            sleeping,
            threads,
        }
    }
}

/// The process scan under a CPU budget. On a host with thousands of processes (or a slow
/// board) one scan can cost more than the sampler may spend; then the list is refreshed only
/// every few ticks (said in `/system` and `/health` as `processes_every_s`), and every other
/// family still runs each tick. Per-process CPU is measured over the time between scans.
pub struct Budgeted {
    scanner: ProcessCollector,
    budget: Duration,
    /// Scan every this many ticks.
    every: u32,
    /// Ticks since the last scan.
    since: u32,
    last: Option<(Arc<ProcessSample>, Instant)>,
    /// CPU time spent scanning, and scans, since start (`/metrics`).
    pub spent: Duration,
    pub scans: u64,
}

impl Budgeted {
    /// A scanner that may spend `budget` of CPU time per tick.
    pub fn new(scanner: ProcessCollector, budget: Duration) -> Budgeted {
        Budgeted {
            scanner,
            budget,
            every: 1,
            since: 0,
            last: None,
            spent: Duration::ZERO,
            scans: 0,
        }
    }

    /// This tick's process list (fresh, or the last one while over budget), and how many
    /// ticks apart the list is refreshed.
    pub fn sample(&mut self, users: &mut Users) -> (Arc<ProcessSample>, u32) {
        self.since += 1;
        if let Some((sample, _)) = &self.last {
            if self.since < self.every {
                return (Arc::clone(sample), self.every);
            }
        }
        let now = Instant::now();
        let elapsed = self
            .last
            .as_ref()
            .map_or(0.0, |(_, at)| now.duration_since(*at).as_secs_f64());
        let cpu0 = thread_cpu();
        let sample = Arc::new(self.scanner.sample(users, elapsed));
        let cost = thread_cpu().saturating_sub(cpu0);
        self.spent += cost;
        self.scans += 1;
        let every = (cost.as_secs_f64() / self.budget.as_secs_f64().max(1e-6)).ceil();
        let every = (every as u32).clamp(1, 60);
        if (every > 1) != (self.every > 1) {
            if every > 1 {
                log::info!(
                    "the process scan costs {:.1} ms of CPU, over its {:.1} ms budget: refreshing the process list every {every} ticks",
                    cost.as_secs_f64() * 1e3,
                    self.budget.as_secs_f64() * 1e3
                );
            } else {
                log::info!(
                    "the process scan is within its CPU budget again: refreshing every tick"
                );
            }
        }
        self.every = every;
        self.since = 0;
        self.last = Some((Arc::clone(&sample), now));
        (sample, self.every)
    }
}

/// `n` in decimal, appended to `out` (what `write!(out, "{n}")` writes, without formatting
/// machinery: this builds a path per process per scan).
fn push_decimal(out: &mut String, mut n: u32) {
    let mut digits = [0u8; 10];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&digits[i..]).unwrap_or_default());
}

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(
        ts.tv_sec.max(0) as u64,
        ts.tv_nsec.clamp(0, 999_999_999) as u32,
    )
}

/// The kernel truncates `comm` to 15 bytes; like psutil, take the full name from `cmdline`
/// when its first word's basename starts with the truncated one, capped at
/// [`crate::read::procfs::MAX_NAME`].
fn full_name(proc: &str, pid: u32, comm: &str, buf: &mut Vec<u8>) -> Option<String> {
    let text = read_lossy_direct(format!("{proc}/{pid}/cmdline"), buf).ok()?;
    let first = text.split('\0').next()?;
    let base = first.rsplit('/').next()?;
    (base.len() > comm.len() && base.starts_with(comm)).then(|| cap_name(base).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::procfs::MAX_NAME;

    #[test]
    fn parses_comm_with_spaces_and_parens() {
        let line = "1234 (my (weird) proc) S 1 1234 1234 0 -1 4194560 100 0 0 0 \
                    7 3 0 0 20 0 1 0 100 1000000 250 18446744073709551615";
        let s = parse_stat(line).unwrap();
        assert_eq!(s.pid, 1234);
        assert_eq!(s.comm, "my (weird) proc");
        assert_eq!(s.ticks, 10);
        assert_eq!(s.rss_pages, 250);
        assert_eq!((s.state, s.threads, s.start), ('S', 1, 100));
    }

    #[test]
    fn names_are_capped_at_a_character_boundary() {
        assert_eq!(cap_name("short"), "short");
        let long = "é".repeat(MAX_NAME);
        let capped = cap_name(&long);
        assert!(capped.len() <= MAX_NAME && capped.len() >= MAX_NAME - 1);
        assert!(capped.chars().all(|c| c == 'é'));
    }

    #[test]
    fn busiest_is_the_union_of_both_tops_by_memory() {
        let group = |pid: u32, rss: u64, cpu: f64| Group {
            pid,
            name: format!("p{pid}"),
            users: vec!["root".into()],
            rss,
            cpu,
            status: 'S',
        };
        // Sorted by memory as kept: 1 and 2 are the big ones, 4 and 3 the busy ones.
        let s = ProcessSample {
            groups: vec![
                group(1, 900, 0.0),
                group(2, 800, 5.0),
                group(3, 100, 20.0),
                group(4, 50, 90.0),
            ],
            ..Default::default()
        };
        let pids: Vec<u32> = s.busiest(2).iter().map(|p| p.pid).collect();
        assert_eq!(pids, [1, 2, 3, 4]);
        let pids: Vec<u32> = s.busiest(1).iter().map(|p| p.pid).collect();
        assert_eq!(pids, [1, 4]);
        assert_eq!(s.busiest(10).len(), 4, "each group once");
    }

    #[test]
    fn pids_and_paths_as_read_dir_and_format_make_them() {
        for n in [0, 7, 10, 99, 4_194_304, u32::MAX] {
            let mut out = String::from("/proc/");
            push_decimal(&mut out, n);
            assert_eq!(out, format!("/proc/{n}"));
        }
        let dir = std::env::temp_dir().join(format!("psmonitor-pids-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for name in [
            "1",
            "0012",
            "+5",
            "abc",
            "4294967296",
            "4294967295",
            "-3",
            "12x",
            "self",
        ] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
        }
        std::fs::write(dir.join("77"), "").unwrap();
        let mut want: Vec<u32> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect();
        let mut got: Vec<u32> = Pids::open(dir.to_str().unwrap()).unwrap().collect();
        let _ = std::fs::remove_dir_all(&dir);
        crate::sort::sort(&mut want);
        crate::sort::sort(&mut got);
        assert_eq!(got, want);
        assert_eq!(got, [1, 5, 12, 77, u32::MAX]);
        assert!(Pids::open("/nonexistent-psmonitor").is_none());
    }

    /// What the scan reads of a `stat` is what `read_lossy_direct` reads, whatever the file
    /// is: text, bytes that are not UTF-8, empty, a directory, a FIFO, a device, missing.
    #[test]
    fn stat_files_read_as_read_lossy_direct_reads_them() {
        use crate::testing::{plant, Planted};
        let dir = std::env::temp_dir().join(format!("psmonitor-readtext-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a-dir")).unwrap();
        std::fs::write(dir.join("text"), "1 (x) S 1\n").unwrap();
        std::fs::write(dir.join("bytes"), b"1 (x\xff) S 1\n").unwrap();
        std::fs::write(dir.join("empty"), "").unwrap();
        std::os::unix::fs::symlink("/dev/null", dir.join("null")).unwrap();
        plant(&dir.join("zero"), Planted::DevZero);
        plant(&dir.join("fifo"), Planted::Fifo);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for name in [
            "text", "bytes", "empty", "a-dir", "null", "zero", "fifo", "missing",
        ] {
            let path = dir.join(name);
            let path = path.to_str().unwrap();
            let want = read_lossy_direct(path, &mut a).ok().map(|t| t.into_owned());
            let listed = Pids::open(dir.to_str().unwrap()).unwrap();
            let rel = std::ffi::CString::new(name).unwrap();
            let got = read_text(listed.fd(), &rel, &mut b).map(|t| t.into_owned());
            assert_eq!(got, want, "{name}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The parser as it was before it took its 22 words at once (split_whitespace, nth).
    fn parse_stat_by_nth(text: &str) -> Option<Stat> {
        let open = text.find('(')?;
        let close = text.rfind(')')?;
        if close < open {
            return None;
        }
        let pid = text[..open].trim().parse().ok()?;
        let comm = cap_name(&text[open + 1..close]).to_owned();
        let mut rest = text[close + 1..].split_whitespace();
        let state = rest.next()?.chars().next()?;
        let mut next = |skip: usize| -> Option<u64> { rest.nth(skip)?.parse().ok() };
        let utime = next(10)?;
        let stime = next(0)?;
        let nice = rest.nth(3)?.parse().ok()?;
        let mut next = |skip: usize| -> Option<u64> { rest.nth(skip)?.parse().ok() };
        let (threads, start, vsize, rss_pages) = (next(0)?, next(1)?, next(0)?, next(0)?);
        Some(Stat {
            pid,
            comm,
            ticks: utime.saturating_add(stime),
            rss_pages,
            start,
            state,
            threads,
            vsize,
            nice,
        })
    }

    proptest::proptest! {
        #[test]
        fn parse_stat_reads_as_before(
            mut fields in proptest::collection::vec("[0-9]{1,3}", 19..26),
            bad in 0usize..40,
            odd in "x|é|-3|\\+7|18446744073709551616",
            seps in proptest::collection::vec(" | |  |\\t|\\u{a0}|\\u{85}|\\n", 26),
        ) {
            if let Some(f) = fields.get_mut(bad) {
                *f = odd;
            }
            let mut line = String::from("42 (a b) S");
            for (f, sep) in fields.iter().zip(&seps) {
                line.push_str(sep);
                line.push_str(f);
            }
            proptest::prop_assert_eq!(parse_stat(&line), parse_stat_by_nth(&line));
        }
    }

    #[test]
    fn rejects_truncated_lines() {
        assert!(parse_stat("").is_none());
        assert!(parse_stat("12 (x) S 1 2").is_none());
        assert!(parse_stat(")(").is_none());
    }

    /// The hostile tree: a `comm` that is not UTF-8 (a process must not hide by naming itself
    /// so), one that mimics more fields, a 100 KB `argv[0]`, a pid that vanished mid-scan
    /// and a truncated `stat`.
    #[test]
    fn hostile_processes_are_seen_and_counted() {
        let roots = crate::collect::family::testing::fixture("hostile");
        let mut users = Users::load(&roots);
        let mut c = ProcessCollector::new(&roots);
        let s = c.sample(&mut users, 1.0);
        assert_eq!(s.count, 4, "every readable process is counted");
        let names: Vec<&str> = s.groups.iter().map(|g| g.name.as_str()).collect();
        assert!(names.contains(&"x\u{fffd}"), "{names:?}");
        assert!(names.contains(&"a) R 1 2 (b"), "{names:?}");
        assert!(names.contains(&"miner"), "{names:?}");
        let long = names
            .iter()
            .find(|n| n.starts_with("longnamedperlxx"))
            .unwrap();
        assert_eq!(long.len(), MAX_NAME);
        // The largest process (by resident memory) is the one with the non-UTF-8 name.
        assert_eq!(s.groups[0].name, "x\u{fffd}");
    }

    /// Processes sharing a name are one group: resident memory and CPU are the sums of its
    /// members', the pid is the lowest, the status `R` when any member runs, the users each
    /// once. Known answers on a generated tree, scanned twice one second apart.
    #[test]
    fn groups_sum_memory_and_cpu_of_their_members() {
        let dir = std::env::temp_dir().join(format!("psmonitor-groups-{}", std::process::id()));
        let roots = crate::collect::family::Roots::under(&dir);
        // (pid, name, state, utime+stime in the first and second scan, rss pages)
        let procs: [(u32, &str, char, u64, u64, u64); 4] = [
            (30, "worker", 'S', 100, 150, 10),
            (12, "worker", 'R', 0, 20, 1),
            (41, "worker", 'S', 7, 7, 100),
            (5, "init", 'S', 3, 4, 50),
        ];
        let write = |second: bool| {
            for (pid, name, state, t0, t1, rss) in procs {
                let d = dir.join(format!("proc/{pid}"));
                std::fs::create_dir_all(&d).unwrap();
                let ticks = if second { t1 } else { t0 };
                // utime (14) carries the ticks, stime (15) 0; 3 threads; start 1000.
                let line = format!(
                    "{pid} ({name}) {state} 1 1 1 0 -1 0 0 0 0 0 {ticks} 0 0 0 20 0 3 0 1000 1 {rss} 0\n"
                );
                std::fs::write(d.join("stat"), line).unwrap();
            }
        };
        let mut users = Users::load(&roots);
        let mut c = ProcessCollector::new(&roots);
        c.ticks_per_sec = 100.0;
        write(false);
        c.sample(&mut users, 1.0);
        write(true);
        let s = c.sample(&mut users, 1.0);
        let _ = std::fs::remove_dir_all(&dir);
        let page = c.page_size;
        assert_eq!((s.count, s.running, s.sleeping, s.threads), (4, 1, 3, 12));
        assert_eq!(s.groups.len(), 2);
        let w = &s.groups[0];
        assert_eq!((w.name.as_str(), w.pid, w.status), ("worker", 12, 'R'));
        assert_eq!(w.rss, 111 * page);
        // 50 + 20 + 0 ticks in one second at 100 ticks/s: 70 % of one core.
        assert!((w.cpu - 70.0).abs() < 1e-9, "{}", w.cpu);
        assert_eq!(w.users.len(), 1);
        let i = &s.groups[1];
        assert_eq!(
            (i.name.as_str(), i.pid, i.rss, i.status),
            ("init", 5, 50 * page, 'S')
        );
        assert!((i.cpu - 1.0).abs() < 1e-9, "{}", i.cpu);
        let wire = w.to_wire();
        assert_eq!((wire.pid, wire.cpu), (12, 70.0));
        assert_eq!(wire.mem, crate::model::mib(111 * page));
        // By CPU the same two groups, busiest first.
        assert_eq!(s.top(1, true)[0].name, "worker");
    }

    /// Boundaries of the scan: a `)` before the `(` is no stat line; CPU is per second of the
    /// time actually elapsed, none when no time passed (not NaN); a group runs only when a
    /// member runs; the full name comes from `cmdline` only for a 15-byte `comm` of a process
    /// with memory, and only when the command's basename is longer and starts with it.
    #[test]
    fn scan_boundaries() {
        assert!(parse_stat("1 ) S (x 2 3").is_none());
        let dir = std::env::temp_dir().join(format!("psmonitor-scan-edges-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let roots = crate::collect::family::Roots::under(&dir);
        let proc_ = |pid: u32, name: &str, state: char, ticks: u64, rss: u64, cmdline: &str| {
            let d = dir.join(format!("proc/{pid}"));
            std::fs::create_dir_all(&d).unwrap();
            let line = format!(
                "{pid} ({name}) {state} 1 1 1 0 -1 0 0 0 0 0 {ticks} 0 0 0 20 0 1 0 1000 1 {rss} 0\n"
            );
            std::fs::write(d.join("stat"), line).unwrap();
            std::fs::write(d.join("cmdline"), cmdline).unwrap();
        };
        let write = |ticks: u64| {
            proc_(10, "sleeper", 'S', ticks, 5, "sleeper\0");
            // 15 bytes: the kernel's cut.
            proc_(
                11,
                "abcdefghijklmno",
                'S',
                0,
                5,
                "/usr/bin/abcdefghijklmnopq\0--flag\0",
            );
            proc_(12, "pqrstuvwxyzabcd", 'S', 0, 5, "/bin/pqrstuvwxyzabcd\0");
            proc_(
                13,
                "efghijklmnopqrs",
                'S',
                0,
                5,
                "/bin/zzzzzzzzzzzzzzzzzzzzz\0",
            );
            proc_(
                14,
                "kthreadkthreadk",
                'S',
                0,
                0,
                "/bin/kthreadkthreadkthread\0",
            );
        };
        let mut users = Users::load(&roots);
        let mut c = ProcessCollector::new(&roots);
        c.ticks_per_sec = 100.0;
        write(0);
        c.sample(&mut users, 1.0);
        write(100);
        let s = c.sample(&mut users, 2.0);
        let group = |s: &ProcessSample, pid: u32| -> (String, f64, char) {
            let g = s.groups.iter().find(|g| g.pid == pid).expect("a group");
            (g.name.clone(), g.cpu, g.status)
        };
        // 100 ticks at 100 a second over two seconds: half a core.
        assert_eq!(group(&s, 10), ("sleeper".to_owned(), 50.0, 'S'));
        assert_eq!(group(&s, 11).0, "abcdefghijklmnopq");
        assert_eq!(group(&s, 12).0, "pqrstuvwxyzabcd");
        assert_eq!(group(&s, 13).0, "efghijklmnopqrs");
        assert_eq!(group(&s, 14).0, "kthreadkthreadk");
        write(200);
        let s = c.sample(&mut users, 0.0);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(group(&s, 10).1, 0.0);
    }

    /// A process's uid is cached: looked up again only after [`UID_RECHECK`] scans, or at once
    /// when its pid is reused (another start time). The owner of its `/proc` directory is
    /// changed under the scanner (chown as root; otherwise the directory is swapped for a
    /// link to `/proc/1`, another user's, with the same start time).
    #[test]
    fn uids_are_cached_for_a_while_and_rechecked() {
        let dir = std::env::temp_dir().join(format!("psmonitor-uids-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let d = dir.join("proc/77");
        std::fs::create_dir_all(&d).unwrap();
        // SAFETY: geteuid has no preconditions.
        let root = unsafe { libc::geteuid() } == 0;
        // The start time of /proc/1, so that the link can stand for the same process.
        let init = std::fs::read_to_string("/proc/1/stat").unwrap();
        let start = parse_stat(&init).unwrap().start;
        let stat =
            |start: u64| format!("77 (u) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {start} 1 5 0\n");
        std::fs::write(d.join("stat"), stat(start)).unwrap();
        let roots = crate::collect::family::Roots::under(&dir);
        let mut users = Users::load(&roots);
        let mut c = ProcessCollector::new(&roots);
        let mut user = || c.sample(&mut users, 1.0).procs[0].username.clone();
        let first = user();
        if root {
            std::os::unix::fs::chown(&d, Some(4242), None).unwrap();
        } else {
            std::fs::remove_dir_all(&d).unwrap();
            std::os::unix::fs::symlink("/proc/1", &d).unwrap();
        }
        let owner = std::fs::metadata(&d).unwrap().uid().to_string();
        assert_ne!(first, owner, "the owner changed");
        for scan in 1..=UID_RECHECK {
            assert_eq!(
                user(),
                first,
                "scan {scan} after the change: the cached uid"
            );
        }
        assert_eq!(user(), owner, "looked up again after {UID_RECHECK} scans");
        // The pid reused by another process (another start time), owned by the first user:
        // looked up at once.
        if root {
            std::os::unix::fs::chown(&d, Some(first.parse().unwrap()), None).unwrap();
        } else {
            std::fs::remove_file(&d).unwrap();
            std::fs::create_dir_all(&d).unwrap();
        }
        std::fs::write(d.join("stat"), stat(start + 1)).unwrap();
        assert_eq!(user(), first, "a reused pid's uid");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Over budget, the list is reused between scans; back under it, every tick scans.
    #[test]
    fn an_expensive_scan_refreshes_less_often() {
        let roots = crate::collect::family::testing::fixture("hostile");
        let mut users = Users::load(&roots);
        let mut b = Budgeted::new(ProcessCollector::new(&roots), Duration::from_nanos(1));
        let (first, every) = b.sample(&mut users);
        assert!(every > 1, "a 1 ns budget is always exceeded");
        let (second, _) = b.sample(&mut users);
        assert!(Arc::ptr_eq(&first, &second), "the list is reused");
        // One scan so far, and its CPU counted (/metrics).
        assert_eq!(b.scans, 1);
        assert!(b.spent > Duration::ZERO);
        let mut ok = Budgeted::new(ProcessCollector::new(&roots), Duration::from_secs(10));
        let (a, every) = ok.sample(&mut users);
        let (b2, _) = ok.sample(&mut users);
        assert_eq!(every, 1);
        assert!(!Arc::ptr_eq(&a, &b2), "within budget every tick scans");
        assert_eq!(ok.scans, 2);
    }

    #[test]
    fn scans_this_host() {
        let mut users = Users::load(&Default::default());
        let mut c = ProcessCollector::default();
        let s = c.sample(&mut users, 1.0);
        assert!(s.count > 1);
        let me = std::process::id();
        assert!(s.groups.iter().any(|g| g.pid <= me && g.rss > 0));
        let top = s.top(10, false);
        assert!(!top.is_empty() && top.len() <= 10);
        assert!(top.windows(2).all(|w| w[0].mem >= w[1].mem));
    }

    mod props {
        //! Properties of the `/proc/PID/stat` parser.
        use super::super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(crate::testing::cases(256))]

            /// Any text parses (to `None` or a value) without panicking.
            #[test]
            fn any_text_parses(bytes in vec(any::<u8>(), 0..300)) {
                let text = String::from_utf8_lossy(&bytes);
                for line in [text.to_string(), format!("1 ({text}) S {text}")] {
                    if let Some(s) = parse_stat(&line) {
                        // The name is what stands between the first `(` and the last `)`,
                        // capped; the pid is what stands before it.
                        let (open, close) = (line.find('(').unwrap(), line.rfind(')').unwrap());
                        prop_assert!(s.comm.len() <= crate::read::procfs::MAX_NAME);
                        prop_assert!(line[open + 1..close].starts_with(&s.comm));
                        prop_assert_eq!(line[..open].trim().parse::<u32>().ok(), Some(s.pid));
                        prop_assert!(!s.state.is_whitespace());
                    }
                }
            }

            /// A process names itself (`comm`) as it likes: spaces, parentheses, even a fake
            /// tail of fields. The fields are still read from after the real closing `)`.
            #[test]
            fn any_comm_round_trips(
                pid in 1u32..=4_194_304,
                comm in prop_oneof![
                    any::<String>(),
                    "[ a-z()]{0,16}",
                    Just(") R 1 2 3 4 5 6 7 8 9 10 11 999999 999999".to_owned()),
                ],
                state in "[RSDZTtWXxKWPI]",
                before in proptest::array::uniform10(0u64..1 << 32),
                utime in 0u64..1 << 60,
                stime in 0u64..1 << 60,
                middle in proptest::array::uniform8(0u64..1 << 32),
                rss in 0u64..1 << 40,
                after in vec(0u64..1 << 32, 0..28),
            ) {
                let nums = |v: &[u64]| v.iter().map(u64::to_string).collect::<Vec<_>>().join(" ");
                let line = format!(
                    "{pid} ({comm}) {state} {} {utime} {stime} {} {rss} {}\n",
                    nums(&before), nums(&middle), nums(&after)
                );
                let s = parse_stat(&line).expect("a well-formed line parses");
                prop_assert_eq!(s.pid, pid);
                prop_assert_eq!(s.comm, comm);
                prop_assert_eq!(s.ticks, utime + stime);
                prop_assert_eq!(s.rss_pages, rss);
                // Field 20, num_threads, is the fifth of fields 16 to 23.
                prop_assert_eq!(s.threads, middle[4]);
            }

            /// A line cut short anywhere before the rss field is refused, not misread.
            #[test]
            fn truncated_lines_are_refused(keep in 0usize..25) {
                // Words: "42", "(a", "b)", then word i is field i: state 3 ... rss 24.
                let full = "42 (a b) S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22";
                let words: Vec<&str> = full.split(' ').collect();
                let short = words[..keep].join(" ");
                prop_assert!(parse_stat(&short).is_none(), "{}", short);
                prop_assert_eq!(parse_stat(full).map(|s| s.rss_pages), Some(21));
            }
        }
    }
}
