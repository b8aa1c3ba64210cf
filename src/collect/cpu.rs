//! CPU usage from `/proc/stat` jiffies, frequency from cpufreq or `/proc/cpuinfo`.
//!
//! Usage is always a delta between two samples one sampler interval apart: an instant reading
//! (the original sampled every ~9 ms) flips between 0 and 100 and means nothing.

use super::procfs::read_into;

/// Jiffies per mode for one CPU line of `/proc/stat`, in the kernel's column order:
/// user nice system idle iowait irq softirq steal guest guest_nice.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Times(pub [u64; 10]);

/// Mode names for the columns of [`Times`], as node_exporter labels them.
pub const MODES: [&str; 8] = [
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
];

impl Times {
    /// All time the CPU accounted for. guest and guest_nice are already counted in user and
    /// nice, so they are left out (as psutil does).
    fn total(&self) -> u64 {
        self.0[..8].iter().fold(0u64, |a, &b| a.saturating_add(b))
    }

    fn idle(&self) -> u64 {
        self.0[3].saturating_add(self.0[4])
    }

    /// Busy percent between `prev` and `self`; 0 when no time passed.
    pub fn usage_since(&self, prev: &Times) -> f64 {
        let total = self.total().saturating_sub(prev.total());
        let idle = self.idle().saturating_sub(prev.idle());
        if total == 0 {
            return 0.0;
        }
        (total.saturating_sub(idle)) as f64 / total as f64 * 100.0
    }
}

/// Parses `/proc/stat` into the aggregate line and one entry per CPU.
pub fn parse_stat(text: &str) -> (Times, Vec<Times>) {
    let mut all = Times::default();
    let mut cores = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            continue;
        };
        // "cpu  ..." is the aggregate, "cpuN ..." one CPU; anything else is skipped.
        let (aggregate, numbers) = if rest.starts_with(char::is_whitespace) {
            (true, rest)
        } else {
            match rest.split_once(char::is_whitespace) {
                Some((id, numbers)) if id.parse::<u32>().is_ok() => (false, numbers),
                _ => continue,
            }
        };
        let mut t = Times::default();
        for (slot, v) in t.0.iter_mut().zip(numbers.split_whitespace()) {
            *slot = v.parse().unwrap_or(0);
        }
        if aggregate {
            all = t;
        } else {
            cores.push(t);
        }
    }
    (all, cores)
}

/// Keeps the previous `/proc/stat` reading to turn jiffies into usage.
#[derive(Default)]
pub struct CpuCollector {
    prev: Option<(Times, Vec<Times>)>,
    buf: Vec<u8>,
}

/// One CPU reading: usage over the last interval and the raw counters behind it.
#[derive(Debug, Clone, Default)]
pub struct CpuSample {
    pub usage: f64,
    pub cores: Vec<f64>,
    pub times: Vec<Times>,
}

impl CpuCollector {
    /// Reads `/proc/stat` and reports usage since the previous call.
    pub fn sample(&mut self) -> CpuSample {
        let (all, cores) = match read_into("/proc/stat", &mut self.buf) {
            Ok(text) => parse_stat(text),
            Err(_) => return CpuSample::default(),
        };
        // With no previous reading, compare against boot (all zeros): the first snapshot then
        // shows the average since boot instead of a meaningless 0 or instant value.
        let (pall, pcores) = self.prev.take().unwrap_or_default();
        let zero = Times::default();
        let usage = all.usage_since(&pall);
        let per_core = cores
            .iter()
            .enumerate()
            .map(|(i, c)| c.usage_since(pcores.get(i).unwrap_or(&zero)))
            .collect();
        let sample = CpuSample {
            usage,
            cores: per_core,
            times: cores.clone(),
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
pub fn frequency_mhz(buf: &mut Vec<u8>, cpus: usize) -> Option<f64> {
    let mut sum = 0.0;
    let mut n = 0;
    for i in 0..cpus {
        let path = format!("/sys/devices/system/cpu/cpu{i}/cpufreq/scaling_cur_freq");
        if let Ok(text) = read_into(&path, buf) {
            if let Ok(khz) = text.trim().parse::<f64>() {
                sum += khz / 1000.0;
                n += 1;
            }
        }
    }
    if n == 0 {
        let text = read_into("/proc/cpuinfo", buf).ok()?;
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
        assert_eq!(cores[1].0[2], 25);
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

    mod props {
        //! Properties of the `/proc/stat` parser and the usage arithmetic.
        use super::super::*;
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

            /// Any text, even from arbitrary bytes, parses without panicking.
            #[test]
            fn any_text_parses(bytes in vec(any::<u8>(), 0..400)) {
                let text = String::from_utf8_lossy(&bytes);
                let _ = parse_stat(&text);
                let _ = parse_stat(&format!("cpu {text}\ncpu0 {text}"));
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
                prop_assert_eq!(c, cores);
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
// The `cpu` family (node_exporter's `cpu` collector). STUB: to be written.

/// Registers the `cpu` family.
pub const REGISTRATION: super::family::Registration = super::family::Registration {
    name: "cpu",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &super::family::Settings) -> Box<dyn super::family::Family> {
    Box::new(CpuFamily)
}

struct CpuFamily;

impl super::family::Family for CpuFamily {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn harvest(
        &mut self,
        _: &super::family::Roots,
    ) -> Result<std::sync::Arc<dyn super::family::Harvest>, String> {
        Ok(std::sync::Arc::new(super::family::Empty))
    }
}
