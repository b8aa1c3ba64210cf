//! `softnet`: per-CPU packet processing counters from `/proc/net/softnet_stat`
//! (`node_softnet_{processed,dropped,times_squeezed}_total`), as node_exporter 1.5.0 has them.
//!
//! One line per CPU of `%08x` columns: processed, dropped, time_squeeze, then columns that
//! vary with the kernel (9 columns since 2.6.23, 13 since 5.14, 15 since 6.x). node_exporter
//! 1.5.0 labels each line by its position (`cpu="0"` for the first), not by the CPU number
//! newer kernels print in column 13: the two differ when a CPU is offline, and dashboards
//! built on 1.5.0 see the position. A line with fewer than 9 columns or a column that is not
//! 32-bit hex is skipped; later lines keep their positions.

use super::family::{Family, Harvest, Registration, Roots, Settings};
use super::procfs::read_lossy;
use crate::metrics::{Encoder, Kind};
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

/// The metrics, for the first three columns.
const METRICS: [(&str, &str); 3] = [
    (
        "node_softnet_processed_total",
        "Number of processed packets",
    ),
    ("node_softnet_dropped_total", "Number of dropped packets"),
    (
        "node_softnet_times_squeezed_total",
        "Number of times processing packets ran out of quota",
    ),
];

/// One CPU's line: its position and its first three columns.
#[derive(Debug)]
struct Cpu {
    index: usize,
    columns: [u32; 3],
}

/// One tick's lines.
#[derive(Debug)]
struct SoftnetHarvest {
    cpus: Vec<Cpu>,
}

/// Parses one line's first three columns; `None` if the line is short or not hex.
fn parse_line(line: &str) -> Option<[u32; 3]> {
    let fields: Vec<&str> = line.split_ascii_whitespace().collect();
    if fields.len() < MIN_COLUMNS {
        return None;
    }
    let mut columns = [0u32; 3];
    for (slot, field) in columns.iter_mut().zip(&fields) {
        if !field.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        *slot = u32::from_str_radix(field, 16).ok()?;
    }
    Some(columns)
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
                .filter_map(|(index, line)| {
                    Some(Cpu {
                        index,
                        columns: parse_line(line)?,
                    })
                })
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        Ok(Arc::new(SoftnetHarvest { cpus }))
    }
}

impl Harvest for SoftnetHarvest {
    fn render(&self, out: &mut Encoder) {
        for (i, (name, help)) in METRICS.iter().enumerate() {
            let mut f = out.family(name, Kind::Counter, help);
            for cpu in &self.cpus {
                f.sample(&[("cpu", &cpu.index.to_string())], cpu.columns[i] as f64);
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
        assert_eq!(t.matches(" counter\n").count(), 3);
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
        assert_eq!(get(&t, "times_squeezed", 4), Some(4.0));
        assert_eq!(t.matches("node_softnet_processed_total{").count(), 2);
    }
}
