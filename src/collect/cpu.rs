//! CPU usage from `/proc/stat` jiffies, frequency from cpufreq or `/proc/cpuinfo`.
//!
//! Usage is always a delta between two samples one sampler interval apart: an instant reading
//! (the original sampled every ~9 ms) flips between 0 and 100 and means nothing.

use crate::read::procfs::{read_into, read_u64};

/// Jiffies per mode for one CPU line of `/proc/stat`, in the kernel's column order:
/// user nice system idle iowait irq softirq steal guest guest_nice.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Times(pub [u64; 10]);

/// Mode names for the columns of [`Times`], as node_exporter labels them.
pub const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

impl Times {
    /// Jiffies per mode between `prev` and `self` (guest and guest_nice are already inside
    /// user and nice, so they are left out, as psutil does). A column that stepped back (iowait does,
    /// and a CPU that went offline and came back starts over) counts as 0, so the shares of
    /// one interval always add up to 100 and none exceeds it.
    fn deltas(&self, prev: &Times) -> [u64; 8] {
        let mut d = [0; 8];
        for (i, slot) in d.iter_mut().enumerate() {
            *slot = self.0[i].saturating_sub(prev.0[i]);
        }
        d
    }

    /// Busy percent between `prev` and `self`; 0 when no time passed.
    pub fn usage_since(&self, prev: &Times) -> f64 {
        let d = self.deltas(prev);
        let total = d.iter().fold(0u64, |a, &b| a.saturating_add(b));
        let idle = d[3].saturating_add(d[4]);
        if total == 0 {
            return 0.0;
        }
        (total.saturating_sub(idle)) as f64 / total as f64 * 100.0
    }

    /// Percent of the time between `prev` and `self` spent in each of [`MODES`] (Glances'
    /// `user`, `system`, `idle`, ... shares); all 0 when no time passed.
    pub fn shares_since(&self, prev: &Times) -> [f64; 8] {
        let d = self.deltas(prev);
        let total = d.iter().fold(0u64, |a, &b| a.saturating_add(b));
        let mut out = [0.0; 8];
        if total > 0 {
            for (slot, v) in out.iter_mut().zip(d) {
                *slot = v as f64 / total as f64 * 100.0;
            }
        }
        out
    }
}

/// The JSON model's view of `/proc/stat`: the aggregate line and one entry per online CPU, by
/// CPU number (an offline CPU has no line, so position is not a CPU's name). A field that is
/// not a number counts as 0; a line that starts with whitespace or has no numbers is none.
pub fn times(stat: &crate::read::stat::Stat) -> (Times, Vec<(u32, Times)>) {
    let all = stat
        .total
        .filter(|l| !l.indented)
        .map_or(Times::default(), |l| Times(l.times));
    let cores = stat
        .cpus
        .iter()
        .filter(|l| !l.indented && l.fields > 0)
        .map(|l| (l.cpu, Times(l.times)))
        .collect();
    (all, cores)
}

/// Keeps the previous `/proc/stat` reading to turn jiffies into usage.
#[derive(Default)]
pub struct CpuCollector {
    prev: Option<(Times, Vec<(u32, Times)>)>,
}

/// One CPU reading: usage over the last interval, in all and per online CPU.
#[derive(Debug, Clone, Default)]
pub struct CpuSample {
    pub usage: f64,
    pub cores: Vec<f64>,
    /// The CPU number of each entry of `cores` (`cpuN` of `/proc/stat`).
    pub numbers: Vec<u32>,
    /// Percent of the interval per mode ([`MODES`] order), in all and per CPU (for the
    /// Glances API's `cpu` and `percpu`).
    pub modes: [f64; 8],
    pub core_modes: Vec<[f64; 8]>,
}

impl CpuCollector {
    /// Reads `/proc/stat` (below `roots`) and reports usage since the previous call. Each
    /// CPU is compared with its own previous line, by number; one that was offline is
    /// compared with boot, like the first reading.
    pub fn sample(&mut self, roots: &super::family::Roots) -> CpuSample {
        let stat = crate::read::stat::read(&roots.proc("stat"));
        let Some(stat) = stat.exact() else {
            return CpuSample::default();
        };
        let (all, cores) = times(stat);
        // With no previous reading, compare against boot (all zeros): the first snapshot then
        // shows the average since boot instead of a meaningless 0 or instant value.
        let (pall, pcores) = self.prev.take().unwrap_or_default();
        let zero = Times::default();
        let before = |n: u32| {
            pcores
                .iter()
                .find(|(m, _)| *m == n)
                .map_or(&zero, |(_, t)| t)
        };
        let sample = CpuSample {
            usage: all.usage_since(&pall),
            cores: cores
                .iter()
                .map(|(n, c)| c.usage_since(before(*n)))
                .collect(),
            numbers: cores.iter().map(|(n, _)| *n).collect(),
            modes: all.shares_since(&pall),
            core_modes: cores
                .iter()
                .map(|(n, c)| c.shares_since(before(*n)))
                .collect(),
        };
        self.prev = Some((all, cores));
        sample
    }
}

/// Mean current frequency in MHz over all CPUs, or `None` where the host does not say.
///
/// cpufreq's `scaling_cur_freq` is live; VMs often lack cpufreq, and then `/proc/cpuinfo`'s
/// `cpu MHz` (fixed at boot on most hypervisors) is all there is. ARM boards without cpufreq
/// have neither.
pub fn frequency_mhz(roots: &super::family::Roots, buf: &mut Vec<u8>, cpus: usize) -> Option<f64> {
    let mut sum = 0.0;
    let mut n = 0;
    for i in 0..cpus {
        // By its policy's directory, which the CPUs of one policy (and the cpufreq family)
        // share, so it is read once a tick.
        let freq = roots.sys(&format!("devices/system/cpu/cpu{i}/cpufreq"));
        // No `cpufreq` (a VM): nothing to open below it.
        let Some(dir) = crate::read::procfs::resolved_present(&freq) else {
            continue;
        };
        let path = dir.join("scaling_cur_freq");
        if let Ok(text) = read_into(&path, buf) {
            if let Ok(khz) = text.trim().parse::<f64>() {
                sum += khz / 1000.0;
                n += 1;
            }
        }
    }
    if n == 0 {
        let text = read_into(roots.proc("cpuinfo"), buf).ok()?;
        for line in text.lines() {
            if let Some((k, v)) = line.split_once(':') {
                if k.trim() == "cpu MHz" {
                    if let Ok(mhz) = v.trim().parse::<f64>() {
                        sum += mhz;
                        n += 1;
                    }
                }
            }
        }
    }
    (n > 0).then(|| sum / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collect::family::testing::Tree;

    /// The JSON model's view of a `/proc/stat` text.
    pub(super) fn parse_stat(text: &str) -> (Times, Vec<(u32, Times)>) {
        times(&crate::read::stat::parse(text))
    }

    /// The `cpu` family's view of a `/proc/stat` text.
    fn parse_cpu_lines(text: &str) -> Vec<(u32, [u64; COLUMNS])> {
        cpu_lines(&crate::read::stat::parse(text))
    }

    #[test]
    fn shares_split_the_interval_by_mode() {
        let now = Times([50, 0, 25, 25, 0, 0, 0, 0, 7, 0]);
        let shares = now.shares_since(&Times::default());
        assert_eq!(shares, [50.0, 0.0, 25.0, 25.0, 0.0, 0.0, 0.0, 0.0]);
        assert_eq!(now.shares_since(&now), [0.0; 8]);
    }

    const STAT: &str = "cpu  100 0 50 800 50 0 0 0 0 0\n\
cpu0 50 0 25 400 25 0 0 0 0 0\n\
cpu1 50 0 25 400 25 0 0 0 0 0\n\
intr 12345\nctxt 99\n";

    #[test]
    fn parses_aggregate_and_cores() {
        let (all, cores) = parse_stat(STAT);
        assert_eq!(all.0[0], 100);
        assert_eq!(all.0[3], 800);
        assert_eq!(cores.len(), 2);
        assert_eq!(cores[1].0, 1);
        assert_eq!(cores[1].1 .0[2], 25);
    }

    #[test]
    fn usage_is_busy_share_of_delta() {
        let a = Times([100, 0, 50, 800, 50, 0, 0, 0, 0, 0]);
        let b = Times([150, 0, 100, 850, 50, 0, 0, 0, 0, 0]);
        // 150 jiffies passed, 100 busy.
        assert!((b.usage_since(&a) - 66.666).abs() < 0.01);
        assert_eq!(a.usage_since(&a), 0.0);
        // A counter going backwards (hotplug) must not underflow.
        assert_eq!(a.usage_since(&b), 0.0);
    }

    #[test]
    fn garbage_does_not_panic() {
        let (all, cores) = parse_stat("cpu\ncpuX 1 2\ncpu0 a b c\n\0\u{fffd}");
        assert_eq!(all, Times::default());
        assert_eq!(cores.len(), 1);
    }

    /// The JSON's frequency: the mean of cpufreq's kHz in MHz; without cpufreq, the mean of
    /// cpuinfo's `cpu MHz`; with neither, none.
    #[test]
    fn frequency_is_the_mean_in_mhz() {
        use crate::collect::family::testing::fixture;
        let mut buf = Vec::new();
        // 1400000 2100000 3400012 800000 1200000 2100000 400000 3912345 kHz.
        let laptop = frequency_mhz(&fixture("laptop"), &mut buf, 8).unwrap();
        assert!(
            (laptop - 15_312_357.0 / 8.0 / 1000.0).abs() < 1e-9,
            "{laptop}"
        );
        assert_eq!(frequency_mhz(&fixture("pi"), &mut buf, 4), Some(1500.0));
        // Only the CPUs asked for.
        assert_eq!(frequency_mhz(&fixture("laptop"), &mut buf, 1), Some(1400.0));
        // `fast` is no number, and there is no cpuinfo to fall back on.
        assert_eq!(frequency_mhz(&fixture("hostile"), &mut buf, 1), None);
        let vm = Tree::new("cpu-freq");
        vm.write(
            "proc/cpuinfo",
            "processor\t: 0\ncpu MHz\t\t: 2400.000\ncpu MHz2\t: 9\nmodel name\t: cpu MHz 7\n\n\
             processor\t: 1\ncpu MHz\t\t: 1600.5\ncpu MHz\t\t: n/a\n",
        );
        assert_eq!(frequency_mhz(&vm.roots(), &mut buf, 2), Some(2000.25));
        // cpufreq, where there is some, wins over cpuinfo.
        vm.write(
            "sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq",
            "800000\n",
        );
        assert_eq!(frequency_mhz(&vm.roots(), &mut buf, 2), Some(800.0));
        vm.write("proc/cpuinfo", "processor\t: 0\n");
        std::fs::remove_file(vm.0.join("sys/devices/system/cpu/cpu1/cpufreq/scaling_cur_freq"))
            .unwrap();
        assert_eq!(frequency_mhz(&vm.roots(), &mut buf, 2), None);
    }

    /// Each CPU is compared with its own previous line, by number; one that comes online
    /// later is compared with boot.
    #[test]
    fn the_collector_compares_each_cpu_with_its_own_past() {
        let tree = Tree::new("cpu-sample");
        tree.write(
            "proc/stat",
            "cpu  150 0 0 150 0 0 0 0 0 0\ncpu0 100 0 0 100 0 0 0 0 0 0\ncpu1 50 0 0 50 0 0 0 0 0 0\n",
        );
        let mut c = CpuCollector::default();
        let first = c.sample(&tree.roots());
        // Since boot: half busy everywhere.
        assert_eq!(
            (first.usage, first.cores.clone(), first.numbers.clone()),
            (50.0, vec![50.0, 50.0], vec![0, 1])
        );
        assert_eq!(first.modes[0], 50.0);
        // cpu0 all busy, cpu1 all idle, cpu2 new (busy a quarter since boot).
        tree.write(
            "proc/stat",
            "cpu  250 0 0 350 0 0 0 0 0 0\ncpu0 200 0 0 100 0 0 0 0 0 0\ncpu1 50 0 0 150 0 0 0 0 0 0\ncpu2 25 0 0 75 0 0 0 0 0 0\n",
        );
        let second = c.sample(&tree.roots());
        assert_eq!(second.numbers, vec![0, 1, 2]);
        assert_eq!(second.cores, vec![100.0, 0.0, 25.0]);
        assert!(
            (second.usage - 100.0 / 3.0).abs() < 1e-9,
            "{}",
            second.usage
        );
        assert_eq!(second.core_modes[1][3], 100.0);
        // Unreadable: nothing, not the last reading.
        std::fs::remove_file(tree.0.join("proc/stat")).unwrap();
        assert!(c.sample(&tree.roots()).cores.is_empty());
    }

    /// Boundaries of the CPU-number and CPU-list rules.
    #[test]
    fn cpu_words_and_lists_at_their_edges() {
        assert_eq!(cpu_number("cpu12"), Some(12));
        for word in ["cpu", "cpu+5", "cpu-1", "cpuX", "cpu 1", "cpu1a"] {
            assert_eq!(cpu_number(word), None, "{word}");
        }
        // A line with a CPU number and no numbers is no row.
        assert!(parse_cpu_lines("cpu5\ncpu6   \n").is_empty());
        assert_eq!(parse_cpu_lines("cpu5 7\n").len(), 1);
        // The range cap: 65 537 CPUs at most in one range, wherever it starts.
        assert_eq!(parse_cpu_list("0-65536").map(|v| v.len()), Some(65_537));
        assert_eq!(parse_cpu_list("0-65537"), None);
        assert_eq!(parse_cpu_list("70000-70001"), Some(vec![70_000, 70_001]));
        assert_eq!(parse_cpu_list("3-2"), None);
    }

    mod props {
        //! Properties of the `/proc/stat` parser and the usage arithmetic.
        use super::super::*;
        use super::parse_stat;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// Jiffy counters as a kernel could report them: up to 2^56 each, centuries of
        /// ticks at any clock rate, and far from overflowing when eight are summed.
        fn times() -> impl Strategy<Value = Times> {
            proptest::array::uniform10(0u64..1 << 56).prop_map(Times)
        }

        fn line(name: &str, t: &Times) -> String {
            let v: Vec<String> = t.0.iter().map(u64::to_string).collect();
            format!("{name} {}", v.join(" "))
        }

        proptest! {
            #![proptest_config(crate::testing::cases(128))]

            /// Any text, even from arbitrary bytes, parses: no more CPUs than `cpu` lines, and
            /// an aggregate line after it is the aggregate (the last one wins), the CPUs kept.
            #[test]
            fn any_text_parses(bytes in vec(any::<u8>(), 0..400), all in times()) {
                let text = String::from_utf8_lossy(&bytes);
                let (_, cores) = parse_stat(&text);
                prop_assert!(cores.len() <= text.lines().filter(|l| l.starts_with("cpu")).count());
                let _ = parse_stat(&format!("cpu {text}\ncpu0 {text}"));
                let later = parse_stat(&format!("{text}\n{}\n", line("cpu ", &all)));
                prop_assert_eq!(later.0, all);
                prop_assert_eq!(later.1, cores);
            }

            /// A generated `/proc/stat` parses back into the same counters, the other lines
            /// (`intr`, `ctxt`, `cpufreq`-like names) ignored.
            #[test]
            fn generated_stat_round_trips(all in times(), cores in vec(times(), 0..16)) {
                let mut text = format!("{}\n", line("cpu ", &all));
                for (i, c) in cores.iter().enumerate() {
                    text.push_str(&line(&format!("cpu{i}"), c));
                    text.push('\n');
                }
                text.push_str("cpufreq 1 2 3\ncpuX 4 5\nintr 12345 0 0\nctxt 99\nbtime 1700000000\n");
                let (a, c) = parse_stat(&text);
                prop_assert_eq!(a, all);
                let numbered: Vec<(u32, Times)> = (0..).zip(cores).collect();
                prop_assert_eq!(c, numbered);
            }

            /// Usage between any two readings is a percentage, 0 when nothing moved, and
            /// never NaN, even when counters go backwards (CPU hotplug, a reset).
            #[test]
            fn usage_is_a_percentage(a in times(), b in times()) {
                let u = b.usage_since(&a);
                prop_assert!((0.0..=100.0).contains(&u), "{}", u);
                prop_assert_eq!(a.usage_since(&a), 0.0);
            }

            /// Usage is the busy share of the jiffies that passed.
            #[test]
            fn usage_is_the_busy_share(
                a in times(),
                busy in 0u64..1_000_000,
                idle in 0u64..1_000_000,
            ) {
                let mut b = a;
                b.0[0] += busy;
                b.0[3] += idle;
                let u = b.usage_since(&a);
                if busy + idle == 0 {
                    prop_assert_eq!(u, 0.0);
                } else {
                    let want = busy as f64 / (busy + idle) as f64 * 100.0;
                    prop_assert!((u - want).abs() < 1e-9, "{} vs {}", u, want);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The `cpu` family (node_exporter's `cpu` collector, as 1.5.0 runs it by default): seconds per
// CPU and mode and guest seconds from `/proc/stat`, isolated CPUs, and thermal throttle counts
// where the host has them. `node_cpu_info` (and the flag and bug series) are behind
// node_exporter's `--collector.cpu.info`, off by default (see `cpuinfo`); the guest seconds
// behind `--collector.cpu.guest`, on by default.
//
// Pitfalls: guest time is already inside user and nice (so `node_cpu_guest_seconds_total` must
// not be added to them); the kernel's per-CPU counters can step backwards a little (iowait
// notably, and on some hypervisors idle), which would make `rate()` see a counter reset, so a
// value that goes back keeps the previous one, and only an idle jump of 3 s or more, which
// means a CPU was unplugged and came back, starts that CPU over (node_exporter's rules). A CPU
// that goes offline loses its series (node_exporter would keep its last values). Throttle
// counts are per core and per package, and each thread of a core repeats them: read once each.

/// Registers the `cpu` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "cpu",
    default_enabled: true,
    make: make_family,
};

fn make_family(settings: &super::family::Settings) -> Box<dyn super::family::Family> {
    let flags = &settings.flags;
    // An empty pattern is unset, as node_exporter's `*flagsInclude != ""`.
    let include = |name: &str| flags.include(name);
    let (flags_include, bugs_include) = (
        include("cpu.info.flags-include"),
        include("cpu.info.bugs-include"),
    );
    // Either pattern turns the info series on, as node_exporter says at start-up.
    let info = (flags.switch("cpu.info") || flags_include.is_some() || bugs_include.is_some())
        .then_some(InfoOptions {
            flags_include,
            bugs_include,
        });
    Box::new(CpuFamily {
        info,
        guest: flags.switch_or("cpu.guest", true),
        ..CpuFamily::new()
    })
}

/// `--collector.cpu.info` and its patterns.
struct InfoOptions {
    flags_include: Option<regex_lite::Regex>,
    bugs_include: Option<regex_lite::Regex>,
}

use crate::read::stat::COLUMNS;

/// Seconds per column of one CPU line (user nice system idle iowait irq softirq steal guest
/// guest_nice).
pub type Seconds = [f64; COLUMNS];

/// An idle counter that falls back this far (seconds) means the CPU was unplugged and came
/// back: its counters start over (node_exporter's `jumpBackSeconds`).
const JUMP_BACK_SECONDS: f64 = 3.0;

pub use crate::read::stat::cpu_number;

/// The numbers of the `cpuN` entries of sysfs `devices/system/cpu` at `dir`, sorted; empty if
/// it cannot be listed.
pub fn sysfs_cpus(dir: &std::path::Path) -> Vec<u32> {
    let Ok(entries) = crate::read::procfs::entries(dir) else {
        return Vec::new();
    };
    let mut cpus: Vec<u32> = entries
        .iter()
        .filter_map(|e| cpu_number(e.name.to_str()?))
        .collect();
    crate::sort::sort(&mut cpus);
    cpus
}

/// The `cpu` family's view of `/proc/stat`: the `cpuN` lines' CPU number and jiffies per
/// column (columns the kernel does not write are 0). The aggregate `cpu` line is left out, and
/// so is a line with a field that is not a number, rather than reporting half of it.
pub fn cpu_lines(stat: &crate::read::stat::Stat) -> Vec<(u32, [u64; COLUMNS])> {
    stat.cpus
        .iter()
        .filter(|l| l.complete && l.fields > 0)
        .map(|l| (l.cpu, l.times))
        .collect()
}

/// Parses a sysfs CPU list (`0-3,8,10-11`); `None` if it is malformed.
pub fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in text.trim().split(',').filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((lo, hi)) => (lo.parse::<u32>().ok()?, hi.parse::<u32>().ok()?),
            None => {
                let n = part.parse::<u32>().ok()?;
                (n, n)
            }
        };
        // A range this long is not a CPU list (the kernel caps CPUs far below it).
        if hi < lo || hi - lo > 65_536 {
            return None;
        }
        out.extend(lo..=hi);
    }
    crate::sort::sort(&mut out);
    out.dedup();
    Some(out)
}

/// Where one CPU sits, read once per CPU number.
#[derive(Debug, Clone, Copy)]
struct Topology {
    package: u64,
    core: u64,
    /// Whether it has `thermal_throttle/` (Intel, and some AMD, with the therm_throt driver).
    throttle: bool,
}

struct CpuFamily {
    buf: Vec<u8>,
    /// Jiffies per second (USER_HZ).
    hz: f64,
    /// The last seconds reported per CPU: a counter that goes backwards keeps its old value,
    /// as node_exporter does, so rates never go negative.
    seen: std::collections::BTreeMap<u32, Seconds>,
    /// `isolated`, read on the first tick (it is fixed at boot).
    isolated: Option<Vec<u32>>,
    /// Topology per CPU number; `None` for a CPU without topology files.
    topology: std::collections::HashMap<u32, Option<Topology>>,
    /// `--collector.cpu.info`: `/proc/cpuinfo` is read each tick (its MHz change).
    info: Option<InfoOptions>,
    /// `--collector.cpu.guest` (on by default).
    guest: bool,
}

impl CpuFamily {
    fn new() -> CpuFamily {
        // SAFETY: sysconf has no preconditions.
        let hz = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
            n if n > 0 => n as f64,
            _ => 100.0,
        };
        CpuFamily {
            buf: Vec::with_capacity(4096),
            hz,
            seen: Default::default(),
            isolated: None,
            topology: Default::default(),
            info: None,
            guest: true,
        }
    }

    /// Folds a new reading into [`Self::seen`] (node_exporter's `updateCPUStats`), dropping
    /// CPUs that went offline.
    fn update(&mut self, lines: &[(u32, [u64; COLUMNS])]) {
        let mut next = std::collections::BTreeMap::new();
        for (id, jiffies) in lines {
            let new: Seconds = jiffies.map(|j| j as f64 / self.hz);
            let mut kept = self.seen.get(id).copied().unwrap_or_default();
            if kept[3] - new[3] >= JUMP_BACK_SECONDS {
                kept = Seconds::default();
            }
            for (k, n) in kept.iter_mut().zip(new) {
                if n >= *k {
                    *k = n;
                }
            }
            next.insert(*id, kept);
        }
        self.seen = next;
    }

    /// Package and core throttle counts (as [`CpuHarvest`] holds them), each package and
    /// core read once.
    fn throttles(&mut self, roots: &super::family::Roots) -> (Vec<PackageCount>, Vec<CoreCount>) {
        let mut packages = std::collections::BTreeMap::new();
        let mut cores = std::collections::BTreeMap::new();
        let dir = roots.sys("devices/system/cpu");
        for id in sysfs_cpus(&dir) {
            let cpu = dir.join(format!("cpu{id}"));
            let topo = match self.topology.get(&id) {
                Some(t) => *t,
                None => {
                    let package = read_u64(cpu.join("topology/physical_package_id"), &mut self.buf);
                    let core = read_u64(cpu.join("topology/core_id"), &mut self.buf);
                    let t = package.zip(core).map(|(package, core)| Topology {
                        package,
                        core,
                        throttle: cpu.join("thermal_throttle").is_dir(),
                    });
                    self.topology.insert(id, t);
                    t
                }
            };
            let Some(t) = topo.filter(|t| t.throttle) else {
                continue;
            };
            let throttle = cpu.join("thermal_throttle");
            if let std::collections::btree_map::Entry::Vacant(e) = cores.entry((t.package, t.core))
            {
                if let Some(n) = read_u64(throttle.join("core_throttle_count"), &mut self.buf) {
                    e.insert(n);
                }
            }
            if let std::collections::btree_map::Entry::Vacant(e) = packages.entry(t.package) {
                if let Some(n) = read_u64(throttle.join("package_throttle_count"), &mut self.buf) {
                    e.insert(n);
                }
            }
        }
        (
            packages.into_iter().collect(),
            cores.into_iter().map(|((p, c), n)| (p, c, n)).collect(),
        )
    }
}

/// A package's throttle count: package id, count.
pub type PackageCount = (u64, u64);

/// A core's throttle count: package id, core id, count.
pub type CoreCount = (u64, u64, u64);

/// One tick of the `cpu` family.
#[derive(Debug, Default)]
pub struct CpuHarvest {
    /// Seconds per CPU, by CPU number.
    pub seconds: Vec<(u32, Seconds)>,
    pub isolated: Vec<u32>,
    pub package_throttles: Vec<PackageCount>,
    pub core_throttles: Vec<CoreCount>,
    /// `--collector.cpu.guest`.
    pub guest: bool,
    /// `--collector.cpu.info`: every CPU's `/proc/cpuinfo` block.
    pub info: Vec<super::cpuinfo::CpuInfo>,
    /// The first CPU's flags and bugs the include patterns match.
    pub flags: Vec<String>,
    pub bugs: Vec<String>,
}

impl super::family::Family for CpuFamily {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn harvest(
        &mut self,
        roots: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        let stat = crate::read::stat::read(&roots.proc("stat"));
        let lines = match stat.present()? {
            None => return Ok(std::sync::Arc::new(super::family::Empty)),
            Some(stat) => cpu_lines(stat),
        };
        self.update(&lines);
        if self.isolated.is_none() {
            let path = roots.sys("devices/system/cpu/isolated");
            self.isolated = Some(
                read_into(path, &mut self.buf)
                    .ok()
                    .and_then(parse_cpu_list)
                    .unwrap_or_default(),
            );
        }
        let (package_throttles, core_throttles) = self.throttles(roots);
        let (mut info, mut flags, mut bugs) = (Vec::new(), Vec::new(), Vec::new());
        if let Some(opts) = &self.info {
            if let Ok(text) = crate::read::procfs::read_lossy(roots.proc("cpuinfo"), &mut self.buf)
            {
                info = super::cpuinfo::parse(&text).unwrap_or_default();
            }
            let matching = |words: &[String], re: &Option<regex_lite::Regex>| -> Vec<String> {
                re.as_ref().map_or(Vec::new(), |re| {
                    words.iter().filter(|w| re.is_match(w)).cloned().collect()
                })
            };
            if let Some(first) = info.first() {
                flags = matching(&first.flags, &opts.flags_include);
                bugs = matching(&first.bugs, &opts.bugs_include);
            }
        }
        Ok(std::sync::Arc::new(CpuHarvest {
            seconds: self.seen.iter().map(|(id, s)| (*id, *s)).collect(),
            isolated: self.isolated.clone().unwrap_or_default(),
            package_throttles,
            core_throttles,
            guest: self.guest,
            info,
            flags,
            bugs,
        }))
    }
}

impl super::family::Harvest for CpuHarvest {
    fn render(&self, out: &mut crate::exposition::Encoder) {
        use crate::exposition::Kind;
        let ids: Vec<String> = self.seconds.iter().map(|(id, _)| id.to_string()).collect();
        let mut f = out.family(
            "node_cpu_seconds_total",
            Kind::Counter,
            "Seconds the CPUs spent in each mode.",
        );
        for ((_, s), cpu) in self.seconds.iter().zip(&ids) {
            for (mode, v) in MODES.iter().zip(s) {
                f.sample(&[("cpu", cpu), ("mode", mode)], *v);
            }
        }
        if self.guest {
            let mut f = out.family(
                "node_cpu_guest_seconds_total",
                Kind::Counter,
                "Seconds the CPUs spent in guests (VMs) for each mode.",
            );
            for ((_, s), cpu) in self.seconds.iter().zip(&ids) {
                f.sample(&[("cpu", cpu), ("mode", "user")], s[8]);
                f.sample(&[("cpu", cpu), ("mode", "nice")], s[9]);
            }
        }
        self.render_info(out);
        let mut f = out.family(
            "node_cpu_isolated",
            Kind::Gauge,
            "Whether each core is isolated, information from /sys/devices/system/cpu/isolated.",
        );
        for id in &self.isolated {
            f.sample(&[("cpu", &id.to_string())], 1.0);
        }
        let mut f = out.family(
            "node_cpu_package_throttles_total",
            Kind::Counter,
            "Number of times this CPU package has been throttled.",
        );
        for (package, n) in &self.package_throttles {
            f.sample(&[("package", &package.to_string())], *n as f64);
        }
        let mut f = out.family(
            "node_cpu_core_throttles_total",
            Kind::Counter,
            "Number of times this CPU core has been throttled.",
        );
        for (package, core, n) in &self.core_throttles {
            f.sample(
                &[
                    ("package", &package.to_string()),
                    ("core", &core.to_string()),
                ],
                *n as f64,
            );
        }
    }
}

impl CpuHarvest {
    /// `node_cpu_info`, `node_cpu_flag_info` and `node_cpu_bug_info` (`--collector.cpu.info`).
    fn render_info(&self, out: &mut crate::exposition::Encoder) {
        use crate::exposition::Kind;
        if !self.info.is_empty() {
            let mut f = out.family(
                "node_cpu_info",
                Kind::Gauge,
                "CPU information from /proc/cpuinfo.",
            );
            for c in &self.info {
                f.sample(
                    &[
                        ("cachesize", &c.cache_size),
                        ("core", &c.core_id),
                        ("cpu", &c.processor.to_string()),
                        ("family", &c.family),
                        ("microcode", &c.microcode),
                        ("model", &c.model),
                        ("model_name", &c.model_name),
                        ("package", &c.physical_id),
                        ("stepping", &c.stepping),
                        ("vendor", &c.vendor),
                    ],
                    1.0,
                );
            }
        }
        for (name, label, help, words) in [
            (
                "node_cpu_flag_info",
                "flag",
                "The `flags` field of CPU information from /proc/cpuinfo taken from the first core.",
                &self.flags,
            ),
            (
                "node_cpu_bug_info",
                "bug",
                "The `bugs` field of CPU information from /proc/cpuinfo taken from the first core.",
                &self.bugs,
            ),
        ] {
            if words.is_empty() {
                continue;
            }
            let mut f = out.family(name, Kind::Gauge, help);
            for w in words {
                f.sample(&[(label, w)], 1.0);
            }
        }
    }
}

#[cfg(test)]
mod family_tests {
    use super::*;

    /// The `cpu` family's view of a `/proc/stat` text.
    fn parse_cpu_lines(text: &str) -> Vec<(u32, [u64; COLUMNS])> {
        cpu_lines(&crate::read::stat::parse(text))
    }
    use crate::collect::family::testing::{render, value};
    use crate::collect::family::Family;
    use proptest::prelude::*;

    fn family_with_hz(hz: f64) -> CpuFamily {
        CpuFamily {
            hz,
            ..CpuFamily::new()
        }
    }

    #[test]
    fn vm_fixture() {
        let text = render(&mut family_with_hz(100.0), "vm");
        assert_eq!(
            value(&text, r#"node_cpu_seconds_total{cpu="0",mode="user"}"#),
            Some(408.08)
        );
        assert_eq!(
            value(&text, r#"node_cpu_seconds_total{cpu="1",mode="idle"}"#),
            Some(2695.4)
        );
        assert_eq!(
            value(
                &text,
                r#"node_cpu_guest_seconds_total{cpu="1",mode="nice"}"#
            ),
            Some(0.0)
        );
        // 2 CPUs x 8 modes, and no aggregate line.
        assert_eq!(text.matches("node_cpu_seconds_total{").count(), 16);
        assert_eq!(text.matches("node_cpu_guest_seconds_total{").count(), 4);
        // No thermal_throttle, nothing isolated, and no node_cpu_info (not a default).
        assert!(!text.contains("throttles"));
        assert!(!text.contains("node_cpu_isolated"));
        assert!(!text.contains("node_cpu_info"));
    }

    #[test]
    fn cpu_info_flags_bugs_and_no_guest() {
        // /proc/cpuinfo is parsed as the build's architecture writes it (scripts/test-arm runs
        // this on arm64): the laptop's x86 file here, the Pi's there.
        let arm = cfg!(any(target_arch = "arm", target_arch = "aarch64"));
        let (host, cpus, info, flags) = if arm {
            (
                "pi",
                2,
                r#"node_cpu_info{cachesize="",core="",cpu="1",family="",microcode="",model="",model_name="ARMv7 Processor rev 4 (v7l)",package="",stepping="",vendor=""}"#,
                vec!["neon"],
            )
        } else {
            (
                "laptop",
                4,
                r#"node_cpu_info{cachesize="8192 KB",core="1",cpu="3",family="6",microcode="0xf8",model="142",model_name="Intel(R) Core(TM) i7-8665U CPU @ 1.90GHz",package="0",stepping="12",vendor="GenuineIntel"}"#,
                vec!["avx", "avx2"],
            )
        };
        let mut values = crate::collect::flags::Values::default();
        values
            .take("cpu.info.flags-include", "^(avx|neon)")
            .unwrap();
        values.take("cpu.guest", "false").unwrap();
        let settings = crate::collect::family::Settings {
            flags: values,
            ..Default::default()
        };
        let text = crate::collect::family::testing::render(&mut *make_family(&settings), host);
        assert_eq!(text.matches("node_cpu_info{").count(), cpus, "{text}");
        assert_eq!(value(&text, info), Some(1.0), "{text}");
        for f in &flags {
            assert_eq!(
                value(&text, &format!(r#"node_cpu_flag_info{{flag="{f}"}}"#)),
                Some(1.0)
            );
        }
        assert_eq!(text.matches("node_cpu_flag_info{").count(), flags.len());
        assert!(
            !text.contains("node_cpu_bug_info"),
            "no bugs-include, no bug series"
        );
        assert!(!text.contains("node_cpu_guest_seconds_total"));
        // By default: no info, guest seconds.
        let text = crate::collect::family::testing::run(&REGISTRATION, host);
        assert!(!text.contains("node_cpu_info") && text.contains("node_cpu_guest_seconds_total{"));
    }

    #[test]
    fn laptop_fixture_has_guests_throttles_and_isolated() {
        let text = render(&mut family_with_hz(100.0), "laptop");
        assert_eq!(
            value(
                &text,
                r#"node_cpu_guest_seconds_total{cpu="2",mode="user"}"#
            ),
            Some(12.34)
        );
        assert_eq!(
            value(&text, r#"node_cpu_package_throttles_total{package="0"}"#),
            Some(1752.0)
        );
        // cpu0 and cpu4 are the threads of core 0: one series per core.
        assert_eq!(
            value(
                &text,
                r#"node_cpu_core_throttles_total{package="0",core="0"}"#
            ),
            Some(31.0)
        );
        assert_eq!(
            value(
                &text,
                r#"node_cpu_core_throttles_total{package="0",core="1"}"#
            ),
            Some(7.0)
        );
        assert_eq!(text.matches("node_cpu_core_throttles_total{").count(), 4);
        assert_eq!(text.matches("node_cpu_package_throttles_total{").count(), 1);
        assert_eq!(value(&text, r#"node_cpu_isolated{cpu="6"}"#), Some(1.0));
        assert_eq!(value(&text, r#"node_cpu_isolated{cpu="7"}"#), Some(1.0));
        assert_eq!(text.matches("node_cpu_isolated{").count(), 2);
        assert_eq!(text.matches("mode=\"idle\"").count(), 8);
        assert!(text.contains("# TYPE node_cpu_core_throttles_total counter\n"));
        assert!(text.contains("# TYPE node_cpu_isolated gauge\n"));
    }

    /// Every mode of every CPU has its own column's value (a swap of two modes, `irq` and
    /// `softirq` say, changes no label set): known answers from the laptop's `/proc/stat`,
    /// whose columns differ, at 100 jiffies per second.
    #[test]
    fn every_mode_has_its_columns_value() {
        use crate::collect::family::testing::assert_close;
        let text = render(&mut family_with_hz(100.0), "laptop");
        // cpu0 118237 902 40212 1650237 3311 9211 2841 0 0 0
        // cpu2 120004 1001 41233 1648831 3105 2822 998 0 1234 56
        for (cpu, want) in [
            (
                "0",
                [
                    1182.37, 9.02, 402.12, 16502.37, 33.11, 92.11, 28.41, 0.0, 0.0, 0.0,
                ],
            ),
            (
                "2",
                [
                    1200.04, 10.01, 412.33, 16488.31, 31.05, 28.22, 9.98, 0.0, 12.34, 0.56,
                ],
            ),
        ] {
            let modes = [
                "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
            ];
            for (mode, v) in modes.iter().zip(want) {
                let series = format!(r#"node_cpu_seconds_total{{cpu="{cpu}",mode="{mode}"}}"#);
                assert_close(&text, &series, v);
            }
            for (mode, v) in [("user", want[8]), ("nice", want[9])] {
                let series =
                    format!(r#"node_cpu_guest_seconds_total{{cpu="{cpu}",mode="{mode}"}}"#);
                assert_close(&text, &series, v);
            }
        }
        // And on every CPU, each mode is the column of its name in the fixture.
        let stat = std::fs::read_to_string(
            crate::collect::family::testing::fixture("laptop").proc("stat"),
        )
        .unwrap();
        let columns = [
            "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
        ];
        for line in stat
            .lines()
            .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
        {
            let mut f = line.split_whitespace();
            let cpu = &f.next().unwrap()[3..];
            for (mode, j) in columns.iter().zip(f) {
                let series = format!(r#"node_cpu_seconds_total{{cpu="{cpu}",mode="{mode}"}}"#);
                assert_close(&text, &series, j.parse::<f64>().unwrap() / 100.0);
            }
        }
    }

    #[test]
    fn pi_fixture_has_four_cpus() {
        let text = render(&mut family_with_hz(100.0), "pi");
        assert_eq!(text.matches("mode=\"idle\"").count(), 4);
        assert!(text.contains(r#"node_cpu_seconds_total{cpu="3",mode="steal"} 0"#));
    }

    #[test]
    fn hostile_fixture_keeps_the_good_lines() {
        let text = render(&mut family_with_hz(100.0), "hostile");
        // cpu0 is fine; cpu1 has text in it; "cpuX" and "cpu-1" are not CPUs; cpu7 is short.
        assert!(text.contains(r#"node_cpu_seconds_total{cpu="0",mode="user"} 1"#));
        assert!(!text.contains(r#"cpu="1""#));
        assert!(!text.contains("cpuX"));
        assert_eq!(
            value(&text, r#"node_cpu_seconds_total{cpu="7",mode="system"}"#),
            Some(0.03)
        );
        assert_eq!(
            value(&text, r#"node_cpu_seconds_total{cpu="7",mode="steal"}"#),
            Some(0.0)
        );
        // Topology: cpu1's core_id is text, cpu3's core count is negative, "cpufoo" is not a
        // CPU: only cpu3's package count is left; the malformed isolated list is nothing.
        assert_eq!(
            value(&text, r#"node_cpu_package_throttles_total{package="0"}"#),
            Some(5.0)
        );
        assert!(!text.contains("node_cpu_core_throttles_total{"));
        assert!(!text.contains("node_cpu_isolated{"));
    }

    #[test]
    fn counters_never_go_backwards_unless_idle_jumps() {
        let mut f = family_with_hz(100.0);
        f.update(&[(0, [100, 0, 0, 1000, 0, 0, 0, 0, 0, 0])]);
        // user falls back a little: the old value is kept.
        f.update(&[(0, [90, 0, 0, 1100, 0, 0, 0, 0, 0, 0])]);
        assert_eq!(f.seen[&0][0], 1.0);
        assert_eq!(f.seen[&0][3], 11.0);
        // idle falls back by less than 3 s: kept.
        f.update(&[(0, [120, 0, 0, 1000, 0, 0, 0, 0, 0, 0])]);
        assert_eq!(f.seen[&0][3], 11.0);
        assert_eq!(f.seen[&0][0], 1.2);
        // idle falls back by 3 s or more (hotplug): everything starts over.
        f.update(&[(0, [5, 0, 0, 700, 0, 0, 0, 0, 0, 0])]);
        assert_eq!(f.seen[&0][0], 0.05);
        assert_eq!(f.seen[&0][3], 7.0);
        // A CPU that went offline is dropped.
        f.update(&[(1, [5, 0, 0, 700, 0, 0, 0, 0, 0, 0])]);
        assert!(!f.seen.contains_key(&0));
    }

    #[test]
    fn missing_proc_is_empty() {
        let mut out = crate::exposition::Encoder::default();
        CpuFamily::new()
            .harvest(&crate::collect::family::Roots::under(
                "/nonexistent/psmonitor",
            ))
            .unwrap()
            .render(&mut out);
        assert_eq!(out.finish(), "");
    }

    #[test]
    fn real_host_matches_the_json_collector_layout() {
        // The host's own /proc: one series per online CPU and mode.
        let mut f = CpuFamily::new();
        let h = f
            .harvest(&crate::collect::family::Roots::default())
            .unwrap();
        let mut out = crate::exposition::Encoder::default();
        h.render(&mut out);
        let text = out.finish();
        let cpus = std::fs::read_to_string("/proc/stat")
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("cpu") && !l.starts_with("cpu "))
            .count();
        assert_eq!(text.matches("mode=\"idle\"").count(), cpus);
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list(""), Some(vec![]));
        assert_eq!(parse_cpu_list("\n"), Some(vec![]));
        assert_eq!(parse_cpu_list("3\n"), Some(vec![3]));
        assert_eq!(parse_cpu_list("0-2,5,7-8"), Some(vec![0, 1, 2, 5, 7, 8]));
        assert_eq!(parse_cpu_list("2-1"), None);
        assert_eq!(parse_cpu_list("a"), None);
        assert_eq!(parse_cpu_list("0-4294967295"), None);
    }

    proptest! {
        #![proptest_config(crate::testing::cases(256))]

        /// Any text parses: no more rows than lines, and a CPU list, when it is one, is
        /// sorted without repeats.
        #[test]
        fn any_text_parses(text in any::<String>()) {
            prop_assert!(parse_cpu_lines(&text).len() <= text.lines().count());
            if let Some(cpus) = parse_cpu_list(&text) {
                prop_assert!(cpus.windows(2).all(|w| w[0] < w[1]), "{:?}", cpus);
            }
        }

        /// Any set of CPUs, written as the kernel writes it (ranges and single numbers, in
        /// order), parses back to the same set.
        #[test]
        fn cpu_lists_round_trip(cpus in proptest::collection::btree_set(0u32..4096, 0..64)) {
            let cpus: Vec<u32> = cpus.into_iter().collect();
            let mut parts: Vec<String> = Vec::new();
            let mut i = 0;
            while i < cpus.len() {
                let mut j = i;
                while j + 1 < cpus.len() && cpus[j + 1] == cpus[j] + 1 {
                    j += 1;
                }
                parts.push(if j == i { cpus[i].to_string() } else { format!("{}-{}", cpus[i], cpus[j]) });
                i = j + 1;
            }
            prop_assert_eq!(parse_cpu_list(&format!("{}\n", parts.join(","))), Some(cpus));
        }

        /// Generated CPU lines come back with their numbers, in file order.
        #[test]
        fn generated_lines(rows in proptest::collection::vec(
            (0u32..4096, proptest::collection::vec(any::<u64>(), 1..=10)), 0..8)) {
            let mut text = String::from("cpu  1 2 3 4 5 6 7 8 9 10\n");
            for (id, v) in &rows {
                let cols: Vec<String> = v.iter().map(u64::to_string).collect();
                text.push_str(&format!("cpu{id} {}\n", cols.join(" ")));
            }
            text.push_str("intr 5 6 7\n");
            let got = parse_cpu_lines(&text);
            prop_assert_eq!(got.len(), rows.len());
            for ((id, v), (gid, g)) in rows.iter().zip(&got) {
                prop_assert_eq!(id, gid);
                prop_assert_eq!(&g[..v.len()], &v[..]);
                prop_assert!(g[v.len()..].iter().all(|x| *x == 0));
            }
        }
    }
}
