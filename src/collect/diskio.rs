//! `diskio` in `/system`: per block device, bytes and operations per second and how busy it was
//! over the last interval, from `/proc/diskstats`.
//!
//! Devices are those node_exporter's `diskstats` shows (its default excludes: partitions of
//! `sd`/`vd`/`nvme` disks, `loop`, `ram`, `fd`), so the JSON and `/metrics` agree. Counters are
//! cumulative since boot in the kernel; a device that appears (hotplug) shows rates from its
//! second tick, and one whose counters go backwards or leap (a reset, [`super::counter`]) shows 0 for that
//! tick.

use super::counter;
use super::family::Roots;
use crate::model::{round, DiskIo};
use std::collections::HashMap;
use std::time::Instant;

/// Bytes of one sector in `/proc/diskstats`, whatever the device's real sector size.
const SECTOR: f64 = 512.0;

/// The counters a rate is made of: sectors read and written, reads, writes, ms doing I/O.
type Counters = [u64; 5];

/// Keeps the previous tick's counters per device.
#[derive(Default)]
pub struct DiskIoCollector {
    prev: HashMap<String, Counters>,
    last: super::Since,
}

impl DiskIoCollector {
    /// This tick's devices with their rates since the previous call.
    pub fn sample(&mut self, roots: &Roots) -> Vec<DiskIo> {
        let secs = self.last.tick(Instant::now());
        let reading = crate::read::diskstats::read(&roots.proc("diskstats"));
        let Ok(Some(lines)) = reading.present() else {
            self.prev.clear();
            return Vec::new();
        };
        let mut seen = HashMap::with_capacity(self.prev.len());
        let mut out = Vec::new();
        for line in &lines.0 {
            let (name, s) = (line.name.as_str(), &line.stats);
            if super::diskstats::ignored(name) {
                continue;
            }
            let now: Counters = [s[2], s[6], s[0], s[4], s[9]];
            // Sectors are capped as bytes, operations and busy ms as operations.
            let cap = |i: usize| match i {
                0 | 1 => counter::MAX_BYTES_PER_SEC / SECTOR,
                _ => counter::MAX_OPS_PER_SEC,
            };
            let rate = |i: usize, scale: f64| match self.prev.get(name) {
                Some(before) => counter::rate(before[i], now[i], secs, cap(i)) * scale,
                None => 0.0,
            };
            out.push(DiskIo {
                name: name.to_owned(),
                read_bytes_per_s: round(rate(0, SECTOR), 1),
                write_bytes_per_s: round(rate(1, SECTOR), 1),
                reads_per_s: round(rate(2, 1.0), 2),
                writes_per_s: round(rate(3, 1.0), 2),
                // ms of I/O per second of wall time, as a percentage (iostat's %util).
                busy_percent: round((rate(4, 1.0) / 10.0).min(100.0), 1),
                read_bytes: now[0].saturating_mul(512),
                write_bytes: now[1].saturating_mul(512),
            });
            seen.insert(name.to_owned(), now);
        }
        self.prev = seen;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_over_the_interval_and_node_exporters_devices() {
        let dir = std::env::temp_dir().join(format!("psmonitor-diskio-{}", std::process::id()));
        let proc = dir.join("proc");
        std::fs::create_dir_all(&proc).unwrap();
        let roots = Roots {
            procfs: proc.clone(),
            ..Roots::default()
        };
        let write = |reads: u64, sectors: u64, io_ms: u64| {
            let line = |name: &str| {
                format!("   8       0 {name} {reads} 0 {sectors} 10 {reads} 0 {sectors} 10 0 {io_ms} 20\n")
            };
            let text = format!("{}{}{}", line("sda"), line("sda1"), line("loop0"));
            std::fs::write(proc.join("diskstats"), text).unwrap();
        };
        let mut c = DiskIoCollector::default();
        write(100, 2000, 1000);
        let first = c.sample(&roots);
        assert_eq!(first.len(), 1, "partitions and loop devices are left out");
        assert_eq!(first[0].reads_per_s, 0.0, "no rate on the first tick");
        assert_eq!(first[0].read_bytes, 2000 * 512);
        std::thread::sleep(std::time::Duration::from_millis(200));
        write(150, 4000, 1100);
        let second = c.sample(&roots);
        let d = &second[0];
        assert!(d.reads_per_s > 100.0 && d.reads_per_s < 260.0, "{d:?}");
        assert!(
            d.read_bytes_per_s > 2000.0 * 512.0 && d.write_bytes_per_s > 0.0,
            "{d:?}"
        );
        assert!(d.busy_percent > 0.0 && d.busy_percent <= 100.0, "{d:?}");
        // Counters that go backwards (a reset) give 0, never a negative or huge rate.
        write(10, 10, 10);
        assert_eq!(c.sample(&roots)[0].reads_per_s, 0.0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
