//! `softnet`: per-CPU packet processing counters from `/proc/net/softnet_stat`, as
//! node_exporter 1.12 has them: `node_softnet_{processed,dropped,times_squeezed,cpu_collision,
//! received_rps,flow_limit_count}_total` and the gauge `node_softnet_backlog_len` (the four
//! last since 1.6).
//!
//! One line per CPU of `%08x` columns: processed, dropped, time_squeeze, five zeros, then
//! cpu_collision (column 9), received_rps (10), flow_limit_count (11), and since Linux 5.10
//! the backlog length (12) and the CPU's number (13; 15 columns since 6.x). node_exporter
//! 1.12 labels a line by that number when the line has it and by its position otherwise (1.5
//! used the position always: the two differ once a CPU is offline, and the number is right).
//! A column a kernel does not print reads 0, as in procfs. A line with fewer than 9 columns
//! or a column that is not 32-bit hex is skipped; later lines keep their positions.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use crate::exposition::{Encoder, Kind};
use crate::read::procfs::read_lossy;
use std::sync::Arc;

/// Registers the `softnet` family.
pub const REGISTRATION: Registration = Registration {
    name: "softnet",
    default_enabled: true,
    make: make_family,
};

fn make_family(_: &Settings) -> Box<dyn Family> {
    Box::new(SoftnetFamily { buf: Vec::new() })
}

/// The fewest columns a line has (Linux 2.6.23).
const MIN_COLUMNS: usize = 9;

/// The metrics: name, help, type, and the column each is read from.
const METRICS: [(&str, &str, Kind, usize); 7] = [
    (
        "node_softnet_processed_total",
        "Number of processed packets",
        Kind::Counter,
        0,
    ),
    (
        "node_softnet_dropped_total",
        "Number of dropped packets",
        Kind::Counter,
        1,
    ),
    (
        "node_softnet_times_squeezed_total",
        "Number of times processing packets ran out of quota",
        Kind::Counter,
        2,
    ),
    (
        "node_softnet_cpu_collision_total",
        "Number of collision occur while obtaining device lock while transmitting",
        Kind::Counter,
        8,
    ),
    (
        "node_softnet_received_rps_total",
        "Number of times cpu woken up received_rps",
        Kind::Counter,
        9,
    ),
    (
        "node_softnet_flow_limit_count_total",
        "Number of times flow limit has been reached",
        Kind::Counter,
        10,
    ),
    (
        "node_softnet_backlog_len",
        "Softnet backlog status",
        Kind::Gauge,
        11,
    ),
];

/// The column of the CPU's number, where the kernel prints it (Linux 5.10+).
const INDEX_COLUMN: usize = 12;

/// One CPU's line: its `cpu` label and the columns of [`METRICS`].
#[derive(Debug)]
struct Cpu {
    label: String,
    columns: [u32; 7],
}

/// One tick's lines.
#[derive(Debug)]
struct SoftnetHarvest {
    cpus: Vec<Cpu>,
}

/// Parses the line at `position`; `None` if the line is short or not hex.
fn parse_line(position: usize, line: &str) -> Option<Cpu> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    if fields.len() < MIN_COLUMNS {
        return None;
    }
    let mut numbers = Vec::with_capacity(fields.len());
    for field in &fields {
        if !field.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        numbers.push(u32::from_str_radix(field, 16).ok()?);
    }
    let column = |i: usize| numbers.get(i).copied().unwrap_or(0);
    let index = numbers
        .get(INDEX_COLUMN)
        .map_or(position as u64, |&n| u64::from(n));
    Some(Cpu {
        label: index.to_string(),
        columns: METRICS.map(|(.., i)| column(i)),
    })
}

struct SoftnetFamily {
    buf: Vec<u8>,
}

impl Family for SoftnetFamily {
    fn name(&self) -> &'static str {
        "softnet"
    }

    fn harvest(&mut self, roots: &Roots) -> Result<Arc<dyn Harvest>, String> {
        let path = roots.proc("net/softnet_stat");
        let cpus = match read_lossy(&path, &mut self.buf) {
            Ok(text) => text
                .lines()
                .enumerate()
                .filter_map(|(position, line)| parse_line(position, line))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        Ok(Arc::new(SoftnetHarvest { cpus }))
    }
}

impl Harvest for SoftnetHarvest {
    fn render(&self, out: &mut Encoder) {
        for (i, (name, help, kind, _)) in METRICS.iter().enumerate() {
            let mut f = out.family(name, *kind, help);
            for cpu in &self.cpus {
                f.sample(&[("cpu", &cpu.label)], cpu.columns[i] as f64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::REGISTRATION;
    use crate::collect::family::testing::{run, value};

    fn get(text: &str, metric: &str, cpu: usize) -> Option<f64> {
        value(
            text,
            &format!("node_softnet_{metric}_total{{cpu=\"{cpu}\"}}"),
        )
    }

    #[test]
    fn vm_two_cpus_of_15_columns() {
        let t = run(&REGISTRATION, "vm");
        assert_eq!(get(&t, "processed", 0), Some(5660091.0));
        assert_eq!(get(&t, "processed", 1), Some(6027824.0));
        assert_eq!(get(&t, "dropped", 1), Some(0.0));
        assert_eq!(get(&t, "times_squeezed", 0), Some(0.0));
        assert_eq!(get(&t, "processed", 2), None);
        assert_eq!(t.matches(" counter\n").count(), 6);
        assert!(t.contains("# TYPE node_softnet_backlog_len gauge\n"));
        // Column 13 is the CPU's number: the second line says 1.
        assert_eq!(get(&t, "received_rps", 1), Some(0.0));
        assert_eq!(value(&t, "node_softnet_backlog_len{cpu=\"1\"}"), Some(0.0));
        assert!(t.contains(
            "# HELP node_softnet_times_squeezed_total Number of times processing packets ran out of quota\n"
        ));
    }

    #[test]
    fn pi_and_laptop_hex_columns() {
        let t = run(&REGISTRATION, "pi");
        assert_eq!(get(&t, "processed", 0), Some(107506.0));
        assert_eq!(get(&t, "times_squeezed", 0), Some(4.0));
        assert_eq!(get(&t, "dropped", 2), Some(2.0));
        assert_eq!(get(&t, "processed", 3), Some(16810.0));
        assert_eq!(get(&t, "times_squeezed", 3), Some(1.0));
        let t = run(&REGISTRATION, "laptop");
        assert_eq!(get(&t, "processed", 7), Some(524295.0));
        assert_eq!(get(&t, "dropped", 7), Some(1.0));
        assert_eq!(get(&t, "times_squeezed", 7), Some(21.0));
        assert_eq!(t.matches("node_softnet_processed_total{").count(), 8);
    }

    #[test]
    fn a_line_with_the_cpu_number_is_labelled_by_it() {
        // CPU 3 on the second line (CPUs 1 and 2 offline): columns 9 to 12 are read.
        let line = "00000010 00000000 00000001 00000000 00000000 00000000 00000000 00000000 \
                    00000005 00000006 00000007 00000008 00000003 00000000 00000000";
        let cpu = super::parse_line(1, line).unwrap();
        assert_eq!(cpu.label, "3");
        assert_eq!(cpu.columns, [16, 0, 1, 5, 6, 7, 8]);
        let old =
            "00000010 00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000005";
        assert_eq!(super::parse_line(1, old).unwrap().label, "1");
    }

    #[test]
    fn hostile_lines_keep_their_positions() {
        let t = run(&REGISTRATION, "hostile");
        assert_eq!(get(&t, "processed", 0), Some(10.0));
        assert_eq!(get(&t, "dropped", 0), Some(1.0));
        assert_eq!(get(&t, "times_squeezed", 0), Some(2.0));
        // Short, not hex, wider than 32 bits: skipped; the fifth line is still cpu 4.
        for cpu in 1..4 {
            assert_eq!(get(&t, "processed", cpu), None, "{cpu}");
        }
        assert_eq!(get(&t, "processed", 4), Some(u32::MAX as f64));
        // A 9-column line has no collision, RPS or flow-limit columns: 0, as procfs reads it.
        assert_eq!(get(&t, "cpu_collision", 0), Some(0.0));
        assert_eq!(get(&t, "flow_limit_count", 0), Some(0.0));
        assert_eq!(get(&t, "times_squeezed", 4), Some(4.0));
        assert_eq!(t.matches("node_softnet_processed_total{").count(), 2);
    }
}
