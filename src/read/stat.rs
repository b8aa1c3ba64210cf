//! `/proc/stat`, parsed once a tick for every view: the JSON model's CPU usage
//! (`collect::cpu::CpuCollector`), the `cpu` family (seconds per CPU and mode) and the `stat`
//! family (interrupts, context switches, forks, boot time, processes, softirqs).

use std::path::Path;
use std::rc::Rc;

/// Columns of a `cpu` line, in the kernel's order: user nice system idle iowait irq softirq
/// steal guest guest_nice.
pub const COLUMNS: usize = 10;

/// One `cpu` or `cpuN` line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuLine {
    /// `N` of `cpuN` (0 for the aggregate line).
    pub cpu: u32,
    /// Jiffies per column; a column the kernel did not write, or wrote garbage in, is 0.
    pub times: [u64; COLUMNS],
    /// How many of the first [`COLUMNS`] fields the line had.
    pub fields: usize,
    /// Every one of those fields was a number.
    pub complete: bool,
    /// The line starts with whitespace (the kernel never writes one).
    pub indented: bool,
}

/// One reading of `/proc/stat`. A line the kernel did not write (or wrote garbage on) is
/// `None`; a key written twice keeps the last line's reading.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stat {
    /// The aggregate `cpu` line (the last, should there be more).
    pub total: Option<CpuLine>,
    /// The `cpuN` lines (digits only after `cpu`), in the file's order: one per online CPU,
    /// so a CPU is named by its number, never its position.
    pub cpus: Vec<CpuLine>,
    /// `intr`: the first number, the total of all interrupts.
    pub intr: Option<u64>,
    pub ctxt: Option<u64>,
    /// `processes`: forks since boot.
    pub processes: Option<u64>,
    /// `btime`: boot time, seconds since the epoch.
    pub btime: Option<u64>,
    pub procs_running: Option<u64>,
    pub procs_blocked: Option<u64>,
    /// `softirq`: the count of each of the ten vectors, when the line has all ten after its
    /// total.
    pub softirq: Option<[u64; 10]>,
}

/// This tick's reading of the `/proc/stat` at `path` (parsed once a tick).
pub fn read(path: &Path) -> Rc<super::Reading<Stat>> {
    super::shared(path, parse)
}

/// The CPU number of a `cpuN` word (`/proc/stat` and `/proc/schedstat` lines, sysfs
/// `devices/system/cpu` entries); `None` for `cpu`, `cpufreq` or `cpuX`.
pub fn cpu_number(word: &str) -> Option<u32> {
    word.strip_prefix("cpu")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<u32>().ok())
}

/// The most `cpuN` lines read: the kernel's largest `NR_CPUS`, as `collect::cpuinfo`'s
/// `MAX_CPUS`. A hostile file under the 4 MiB read cap could name some 300,000 CPUs (and the
/// `cpu` family a series per CPU and mode); the lines past it are passed over (said at debug).
pub const MAX_CPUS: usize = 8192;

/// Parses `/proc/stat`.
pub fn parse(text: &str) -> Stat {
    let mut s = Stat::default();
    let mut passed_over = 0usize;
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some(word) = fields.next() else {
            continue;
        };
        let slot = match word {
            "softirq" => {
                // The total, then the vectors; the total is not kept.
                let v: Vec<u64> = fields
                    .skip(1)
                    .take(10)
                    .map_while(|v| v.parse().ok())
                    .collect();
                s.softirq = v.try_into().ok();
                continue;
            }
            "intr" => &mut s.intr,
            "ctxt" => &mut s.ctxt,
            "processes" => &mut s.processes,
            "btime" => &mut s.btime,
            "procs_running" => &mut s.procs_running,
            "procs_blocked" => &mut s.procs_blocked,
            _ => {
                let cpu = match word {
                    "cpu" => None,
                    _ => match cpu_number(word) {
                        Some(n) => Some(n),
                        None => continue,
                    },
                };
                if cpu.is_some() && s.cpus.len() >= MAX_CPUS {
                    passed_over += 1;
                    continue;
                }
                let mut l = CpuLine {
                    cpu: cpu.unwrap_or(0),
                    complete: true,
                    indented: line.starts_with(char::is_whitespace),
                    ..CpuLine::default()
                };
                for (slot, v) in l.times.iter_mut().zip(fields) {
                    match v.parse() {
                        Ok(v) => *slot = v,
                        Err(_) => l.complete = false,
                    }
                    l.fields += 1;
                }
                match cpu {
                    None => s.total = Some(l),
                    Some(_) => s.cpus.push(l),
                }
                continue;
            }
        };
        *slot = fields.next().and_then(|v| v.parse::<u64>().ok());
    }
    if passed_over > 0 {
        log::debug!("/proc/stat names more than {MAX_CPUS} CPUs: {passed_over} more passed over");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_keys() {
        let s = parse(
            "cpu  1 2 3 4 5 6 7 8 9 10\ncpu0 1 x 3\n cpu1 4\ncpuX 1\ncpu+2 1\nintr 7 1 2\n\
             ctxt 9\nctxt x\nbtime 17\nsoftirq 55 1 2 3 4 5 6 7 8 9 10\n",
        );
        assert_eq!(s.total.unwrap().times, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(s.cpus.len(), 2);
        assert_eq!(
            (s.cpus[0].cpu, s.cpus[0].fields, s.cpus[0].complete),
            (0, 3, false)
        );
        assert_eq!(s.cpus[0].times[..3], [1, 0, 3]);
        assert!(s.cpus[1].indented && s.cpus[1].complete);
        assert_eq!((s.intr, s.ctxt, s.btime), (Some(7), None, Some(17)));
        assert_eq!(s.softirq, Some([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    }

    /// A file naming more than [`MAX_CPUS`] CPUs keeps the first [`MAX_CPUS`] and the lines
    /// after them (the aggregate, the counters), not the rest of the CPUs.
    #[test]
    fn cpus_are_capped() {
        let mut text = String::from("cpu  1 2 3 4\n");
        for n in 0..MAX_CPUS + 5 {
            text.push_str(&format!("cpu{n} {n} 1 2 3\n"));
        }
        text.push_str("cpu 5 6 7 8\nctxt 42\n");
        let s = parse(&text);
        assert_eq!(s.cpus.len(), MAX_CPUS);
        assert_eq!(s.cpus.last().unwrap().cpu as usize, MAX_CPUS - 1);
        assert_eq!(s.total.unwrap().times[..4], [5, 6, 7, 8]);
        assert_eq!(s.ctxt, Some(42));
    }
}
